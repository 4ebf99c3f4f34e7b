/*
 * seen.c - the store of envelope ids already shown (see seen.h).
 */
#define _GNU_SOURCE		/* mkostemp(3) */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "seen.h"

/* Appends between two rewrites: the file stays under twice SEEN_MAX
 * lines, and is rewritten once every SEEN_MAX messages at most. */
#define SEEN_CAP	(SEEN_MAX * 2)

/* "HEX EXP\n" with the longest exp, and its NUL. */
#define SEEN_LINE	(SP_ID_LEN * 2 + 1 + 20 + 1 + 1)

struct seen_entry {
	uint8_t		 id[SP_ID_LEN];
	uint64_t	 exp;
};

struct seen {
	char			 path[PATH_MAX];
	int			 fd;	/* appends; -1 until the first */
	size_t			 n;	/* oldest first */
	struct seen_entry	 ent[SEEN_CAP];
};

static int
seen_expired(uint64_t exp, uint64_t now)
{
	return now >= SP_CLOCK_SKEW && exp <= now - SP_CLOCK_SKEW;
}

static int
seen_format(char *buf, size_t len, const struct seen_entry *e)
{
	char	 hex[SP_ID_LEN * 2 + 1];

	sodium_bin2hex(hex, sizeof(hex), e->id, SP_ID_LEN);
	return snprintf(buf, len, "%s %llu\n", hex,
	    (unsigned long long)e->exp);
}

/* One whole line into e: 0, or -1 when it is not "HEX EXP\n". */
static int
seen_parse(const char *line, struct seen_entry *e)
{
	unsigned long long	 v;
	const char		*end;
	char			*stop;
	size_t			 n;

	if (sodium_hex2bin(e->id, SP_ID_LEN, line, SP_ID_LEN * 2, NULL, &n,
	    &end) != 0 || n != SP_ID_LEN || end[0] != ' ' ||
	    end[1] < '0' || end[1] > '9')
		return -1;
	errno = 0;
	v = strtoull(end + 1, &stop, 10);
	if (errno != 0 || strcmp(stop, "\n") != 0)
		return -1;
	e->exp = v;
	return 0;
}

/* Keep the newest SEEN_MAX entries that have not expired. */
static void
seen_prune(struct seen *s, uint64_t now)
{
	size_t	 i, k = 0, live = 0, skip;

	for (i = 0; i < s->n; i++)
		if (!seen_expired(s->ent[i].exp, now))
			live++;
	skip = live > SEEN_MAX ? live - SEEN_MAX : 0;
	for (i = 0; i < s->n; i++) {
		if (seen_expired(s->ent[i].exp, now))
			continue;
		if (skip > 0) {
			skip--;
			continue;
		}
		s->ent[k++] = s->ent[i];
	}
	s->n = k;
}

/* A new name in a directory lasts only once the directory is synced. */
static void
seen_sync_dir(const char *path)
{
	char	 dir[PATH_MAX];
	int	 fd;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((fd = open(dirname(dir), O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return;
	(void)fsync(fd);
	close(fd);
}

/* Write every entry to a new file and rename it over the old one. */
static int
seen_rewrite(struct seen *s, char *err, size_t errlen)
{
	char	 tmp[PATH_MAX + 8], line[SEEN_LINE];
	FILE	*fp;
	size_t	 i;
	int	 fd, n;

	n = snprintf(tmp, sizeof(tmp), "%s.XXXXXX", s->path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", s->path);
		return -1;
	}
	/* mkostemp makes it 0600. */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	if ((fp = fdopen(fd, "w")) == NULL) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	for (i = 0; i < s->n; i++) {
		seen_format(line, sizeof(line), &s->ent[i]);
		fputs(line, fp);
	}
	if (fflush(fp) == EOF || ferror(fp) || fsync(fd) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		fclose(fp);
		unlink(tmp);
		return -1;
	}
	fclose(fp);
	if (rename(tmp, s->path) == -1) {
		snprintf(err, errlen, "%s: %s", s->path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	seen_sync_dir(s->path);

	/* Appends go to the new file from now on. */
	if (s->fd != -1)
		close(s->fd);
	s->fd = -1;
	return 0;
}

/* Read the file into s.  Returns 1 when it needs a rewrite, 0 when not,
 * -1 on a read error. */
static int
seen_read(struct seen *s, FILE *fp, uint64_t now)
{
	char	 line[SEEN_LINE];
	size_t	 lines = 0;
	int	 c, dirty = 0;

	while (fgets(line, sizeof(line), fp) != NULL) {
		lines++;
		if (strchr(line, '\n') == NULL) {
			/* Too long or cut short: skip the rest. */
			while ((c = getc(fp)) != EOF && c != '\n')
				;
			dirty = 1;
			continue;
		}
		if (s->n == SEEN_CAP)
			seen_prune(s, now);
		if (seen_parse(line, &s->ent[s->n]) == 0)
			s->n++;
	}
	if (ferror(fp))
		return -1;

	seen_prune(s, now);
	return dirty || s->n != lines;
}

int
seen_open(struct seen **out, const char *identity_path, uint64_t now,
    char *err, size_t errlen)
{
	struct seen	*s;
	FILE		*fp;
	int		 n, r;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->fd = -1;
	n = snprintf(s->path, sizeof(s->path), "%s.seen", identity_path);
	if (n < 0 || (size_t)n >= sizeof(s->path)) {
		snprintf(err, errlen, "%s.seen: path too long", identity_path);
		free(s);
		return -1;
	}

	if ((fp = fopen(s->path, "re")) == NULL) {
		if (errno == ENOENT) {
			*out = s;
			return 0;
		}
		snprintf(err, errlen, "%s: %s", s->path, strerror(errno));
		free(s);
		return -1;
	}
	r = seen_read(s, fp, now);
	if (r == -1)
		snprintf(err, errlen, "%s: %s", s->path, strerror(errno));
	fclose(fp);
	if (r == 1 && seen_rewrite(s, err, errlen) == -1)
		r = -1;
	if (r == -1) {
		free(s);
		return -1;
	}
	*out = s;
	return 0;
}

int
seen_has(const struct seen *s, const uint8_t id[SP_ID_LEN])
{
	size_t	 i;

	/* Newest first: a repeat is most likely a recent one. */
	for (i = s->n; i > 0; i--)
		if (memcmp(s->ent[i - 1].id, id, SP_ID_LEN) == 0)
			return 1;
	return 0;
}

int
seen_add(struct seen *s, const uint8_t id[SP_ID_LEN], uint64_t exp,
    uint64_t now, char *err, size_t errlen)
{
	struct seen_entry	*e;
	char			 line[SEEN_LINE];
	size_t			 len, off = 0;
	ssize_t			 w;
	int			 rc = 0;

	/* On failure the file just grows past SEEN_CAP lines for now. */
	if (s->n == SEEN_CAP) {
		seen_prune(s, now);
		rc = seen_rewrite(s, err, errlen);
	}
	e = &s->ent[s->n++];
	memcpy(e->id, id, SP_ID_LEN);
	e->exp = exp;
	if (rc == -1)
		return -1;

	if (s->fd == -1) {
		s->fd = open(s->path, O_WRONLY | O_APPEND | O_CREAT |
		    O_CLOEXEC, 0600);
		if (s->fd == -1) {
			snprintf(err, errlen, "%s: %s", s->path,
			    strerror(errno));
			return -1;
		}
		seen_sync_dir(s->path);
	}

	/* One write, so that concurrent appends do not interleave. */
	len = (size_t)seen_format(line, sizeof(line), e);
	while (off < len) {
		if ((w = write(s->fd, line + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "%s: %s", s->path,
			    strerror(errno));
			return -1;
		}
		off += (size_t)w;
	}
	if (fdatasync(s->fd) == -1) {
		snprintf(err, errlen, "%s: %s", s->path, strerror(errno));
		return -1;
	}
	return 0;
}

void
seen_close(struct seen *s)
{
	if (s == NULL)
		return;
	if (s->fd != -1)
		close(s->fd);
	free(s);
}
