/*
 * driver.c - replay a fuzz target without libFuzzer.
 *
 *   fuzz_X [-v] [-r RUNS] [-s SEED] FILE|DIR...
 *
 * Runs the target on every file given (and every file in a folder), then
 * RUNS more times on mutations of them: flipped, inserted, deleted and
 * duplicated bytes, truncations and splices, the same kinds of change a
 * coverage-guided fuzzer starts from.  Exits 0 when nothing aborted;
 * -v names each seed file as it runs.
 * When the target dies, the input it was given is written to
 * ./fuzz-crash-NAME (NAME: this program's) before the process goes, so
 * that it can be replayed alone, minimised, and kept as a seed.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

#define INPUT_MAX	(64 * 1024)
#define MAX_SEEDS	4096

struct seed {
	uint8_t	*data;
	size_t	 len;
	char	*path;
};

static struct seed seeds[MAX_SEEDS];
static size_t nseeds;
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

/* The input under test, for the death handlers: a seed file's path,
 * or NULL for a mutation. */
static const uint8_t *cur;
static size_t cur_len;
static const char *cur_seed;
static char crash_path[512];

/* Called by the sanitizers' runtime, when there is one, as it dies. */
void __sanitizer_set_death_callback(void (*)(void)) __attribute__((weak));

/* Only async-signal-safe calls: this runs from a dying process. */
static void
save_input(void)
{
	static const char msg[] = "driver: input written to ";
	static const char seed[] = "driver: it is the seed ";
	size_t off = 0;
	ssize_t n;
	int fd;

	if (cur == NULL)
		return;
	fd = open(crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd == -1)
		return;
	while (off < cur_len && (n = write(fd, cur + off,
	    cur_len - off)) > 0)
		off += n;
	close(fd);
	(void)!write(2, msg, sizeof(msg) - 1);
	(void)!write(2, crash_path, strlen(crash_path));
	(void)!write(2, "\n", 1);
	if (cur_seed != NULL) {
		(void)!write(2, seed, sizeof(seed) - 1);
		(void)!write(2, cur_seed, strlen(cur_seed));
		(void)!write(2, "\n", 1);
	}
	cur = NULL;
}

/* The code under test called exit(): as bad as a crash. */
static void
on_exit_call(void)
{
	static const char msg[] = "driver: the target exited during a run\n";

	if (cur == NULL)
		return;
	(void)!write(2, msg, sizeof(msg) - 1);
	save_input();
	_exit(3);
}

static void
on_signal(int sig)
{
	save_input();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
catch_deaths(const char *argv0)
{
	static const int sigs[] = { SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL };
	const char *name = strrchr(argv0, '/');
	struct sigaction sa;
	size_t i;

	snprintf(crash_path, sizeof(crash_path), "fuzz-crash-%s",
	    name != NULL ? name + 1 : argv0);
	if (__sanitizer_set_death_callback != NULL)
		__sanitizer_set_death_callback(save_input);
	atexit(on_exit_call);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		/* The sanitizers report memory faults better than this
		 * does; their death callback saves the input then. */
		if (sigs[i] != SIGABRT && __sanitizer_set_death_callback)
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
}

static void
run(const uint8_t *data, size_t len, const char *seed)
{
	cur = data;
	cur_len = len;
	cur_seed = seed;
	LLVMFuzzerTestOneInput(data, len);
	cur = NULL;
}

/* xorshift64*: reproducible from -s, good enough to pick mutations. */
static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static int
load_file(const char *path)
{
	uint8_t *buf;
	size_t len;
	FILE *f;

	if (nseeds == MAX_SEEDS)
		return 0;
	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	buf = malloc(INPUT_MAX);
	if (buf == NULL) {
		fclose(f);
		return -1;
	}
	len = fread(buf, 1, INPUT_MAX, f);
	fclose(f);
	seeds[nseeds].data = buf;
	seeds[nseeds].len = len;
	seeds[nseeds].path = strdup(path);
	nseeds++;
	return 0;
}

static int
skip_dot(const struct dirent *de)
{
	return de->d_name[0] != '.';
}

/* A file, or every file of a folder in name order, so that a run with
 * the same -s picks the same mutations on any machine. */
static int
load_path(const char *path)
{
	struct dirent **list;
	struct stat sb;
	char sub[4096];
	int i, n, rc = 0;

	if (stat(path, &sb) == -1) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode))
		return load_file(path);
	if ((n = scandir(path, &list, skip_dot, alphasort)) == -1) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		snprintf(sub, sizeof(sub), "%s%s%s", path,
		    path[strlen(path) - 1] == '/' ? "" : "/", list[i]->d_name);
		if (load_file(sub) == -1)
			rc = -1;
		free(list[i]);
	}
	free(list);
	return rc;
}

/* Make one mutant of a random seed in out; returns its length. */
static size_t
mutate(uint8_t *out)
{
	const struct seed *s = &seeds[rng() % nseeds];
	size_t len = s->len, i, n, at;

	memcpy(out, s->data, len);
	n = 1 + rng() % 4;
	for (i = 0; i < n; i++) {
		at = len ? rng() % len : 0;
		switch (rng() % 7) {
		case 0:		/* flip a bit */
			if (len)
				out[at] ^= (uint8_t)(1u << (rng() % 8));
			break;
		case 1:		/* set an interesting byte */
			if (len) {
				static const uint8_t v[] = { 0x00, 0xff,
				    0x7f, 0x80, 0xc0, 0xc1, 0xd9, 0xdb, 0xdc,
				    0xdd, 0xde, 0xdf, 0xc4, 0xc6, 0xcf };

				out[at] = v[rng() % sizeof(v)];
			}
			break;
		case 2:		/* insert a byte */
			if (len < INPUT_MAX) {
				memmove(out + at + 1, out + at, len - at);
				out[at] = (uint8_t)rng();
				len++;
			}
			break;
		case 3:		/* delete a byte */
			if (len) {
				memmove(out + at, out + at + 1, len - at - 1);
				len--;
			}
			break;
		case 4:		/* truncate */
			len = at;
			break;
		case 5:		/* duplicate a run */
			if (len && len * 2 <= INPUT_MAX) {
				size_t k = 1 + rng() % (len - at);

				memmove(out + at + k, out + at, len - at);
				len += k;
			}
			break;
		default: {	/* splice in the tail of another seed */
			const struct seed *o = &seeds[rng() % nseeds];
			size_t from = o->len ? rng() % o->len : 0;
			size_t k = o->len - from;

			if (at + k > INPUT_MAX)
				k = INPUT_MAX - at;
			memcpy(out + at, o->data + from, k);
			len = at + k;
			break;
		}
		}
	}
	return len;
}

int
main(int argc, char **argv)
{
	unsigned long runs = 0, i;
	uint8_t *buf;
	int ch, verbose = 0;

	while ((ch = getopt(argc, argv, "r:s:v")) != -1) {
		switch (ch) {
		case 'v':
			verbose = 1;
			break;
		case 'r':
			runs = strtoul(optarg, NULL, 10);
			break;
		case 's':
			rng_state ^= strtoull(optarg, NULL, 10) * 2 + 1;
			break;
		default:
			fprintf(stderr,
			    "usage: %s [-v] [-r RUNS] [-s SEED] FILE|DIR...\n",
			    argv[0]);
			return 2;
		}
	}
	for (; optind < argc; optind++)
		if (load_path(argv[optind]) == -1)
			return 2;
	if (nseeds == 0) {
		fprintf(stderr, "%s: no seed inputs\n", argv[0]);
		return 2;
	}

	catch_deaths(argv[0]);
	for (i = 0; i < nseeds; i++) {
		if (verbose)
			fprintf(stderr, "%s\n", seeds[i].path);
		run(seeds[i].data, seeds[i].len, seeds[i].path);
	}
	if ((buf = malloc(INPUT_MAX)) == NULL)
		return 2;
	for (i = 0; i < runs; i++) {
		size_t len = mutate(buf);

		run(buf, len, NULL);
	}
	free(buf);
	printf("%s: %zu seeds, %lu mutations, no failure\n", argv[0],
	    nseeds, runs);
	return 0;
}
