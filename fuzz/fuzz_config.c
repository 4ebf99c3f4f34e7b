/*
 * fuzz_config.c - the relay's configuration parser.
 *
 * Input: the text of a relay.conf.  Each process works in a directory
 * of its own, /tmp/sealpost-fuzz-PID/, holding the config file and the
 * files a valid config names: relay.crt, relay.key (mode 0600) and
 * peer.crt, all empty since config_load only checks that they are
 * there.  /tmp/sealpost-fuzz-tls.crt and .key are made as well, for
 * configs written with absolute paths.  An @include of a path with a
 * '/' in it is skipped: it could name a device that never ends.
 *
 * Properties (config.h):
 *  - any text gives 0 or -1, never a crash or a leak;
 *  - an accepted config holds what config.h promises: a canonical
 *    domain, absolute paths, every number within its bounds, no root
 *    account to run as, a key file that group and others cannot read
 *    or write, peers with canonical, distinct domains other than ours,
 *    each found by config_peer_find;
 *  - loading an accepted file again gives the same result.
 */
#define _GNU_SOURCE		/* memmem */

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "address.h"
#include "config.h"
#include "fuzz.h"
#include "log.h"

#define TLS_CRT		"/tmp/sealpost-fuzz-tls.crt"
#define TLS_KEY		"/tmp/sealpost-fuzz-tls.key"

static char dir[64], path[96];
static FILE *devnull;
static struct config cfg, cfg2;

/* An empty file with this mode, whatever was there before. */
static int
make_file(const char *p, mode_t mode)
{
	int fd;

	if ((fd = open(p, O_WRONLY | O_CREAT, mode)) == -1)
		return -1;
	if (fchmod(fd, mode) == -1) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static void
remove_dir(const char *d)
{
	static const char *const files[] = {
		"relay.conf", "relay.crt", "relay.key", "peer.crt"
	};
	char p[128];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", d, files[i]);
		unlink(p);
	}
	rmdir(d);
}

static void
cleanup(void)
{
	remove_dir(dir);
}

/* A process that crashed or was killed left its directory behind. */
static void
remove_stale(void)
{
	struct dirent *de;
	char p[sizeof(de->d_name) + 8], *end;
	long pid;
	DIR *d;

	if ((d = opendir("/tmp")) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "sealpost-fuzz-", 14) != 0)
			continue;
		pid = strtol(de->d_name + 14, &end, 10);
		if (*end != '\0' || pid <= 0 || kill(pid, 0) == 0 ||
		    errno != ESRCH)
			continue;
		snprintf(p, sizeof(p), "/tmp/%s", de->d_name);
		remove_dir(p);
	}
	closedir(d);
}

static int
setup(void)
{
	char p[128];

	remove_stale();
	snprintf(dir, sizeof(dir), "/tmp/sealpost-fuzz-%d", (int)getpid());
	snprintf(path, sizeof(path), "%s/relay.conf", dir);
	if (mkdir(dir, 0700) == -1 && access(dir, W_OK) == -1)
		return -1;
	atexit(cleanup);
	snprintf(p, sizeof(p), "%s/relay.crt", dir);
	if (make_file(p, 0644) == -1)
		return -1;
	snprintf(p, sizeof(p), "%s/peer.crt", dir);
	if (make_file(p, 0644) == -1)
		return -1;
	snprintf(p, sizeof(p), "%s/relay.key", dir);
	if (make_file(p, 0600) == -1)
		return -1;
	/* Shared by every process; another user's copy may stay. */
	(void)make_file(TLS_CRT, 0644);
	(void)make_file(TLS_KEY, 0600);

	/* config_load reports on stderr: keep the fuzzer's log quiet but
	 * leave descriptor 2 alone for the sanitizers and fuzz_fail. */
	if ((devnull = fopen("/dev/null", "w")) == NULL)
		return -1;
	return 0;
}

/* Whether an @include in the text names a path with a '/'. */
static int
includes_path(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size, *q;

	while ((p = memmem(p, end - p, "@include", 8)) != NULL) {
		p += 8;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end || *p != '"')
			continue;
		for (q = p + 1; q < end && *q != '"' && *q != '\n'; q++)
			if (*q == '/' || *q == '\\')
				return 1;
	}
	return 0;
}

static int
absolute(const char *p)
{
	return p[0] == '/';
}

static void
check_config(const struct config *c)
{
	const struct config_peer *p;
	struct stat sb;
	size_t i, j;

	FUZZ_ASSERT(strcmp(c->path, path) == 0);
	FUZZ_ASSERT(c->domain[0] != '\0' && sp_domain_is_canonical(c->domain));
	FUZZ_ASSERT(absolute(c->state_dir));
	/* The account: names that exist, neither of them root's. */
	if (c->user[0] != '\0')
		FUZZ_ASSERT(c->uid != 0 && c->gid != 0);
	else
		FUZZ_ASSERT(c->group[0] == '\0');
	FUZZ_ASSERT(absolute(c->tls_cert) && absolute(c->tls_key));
	FUZZ_ASSERT(stat(c->tls_key, &sb) == 0 && S_ISREG(sb.st_mode));
	FUZZ_ASSERT((sb.st_mode & (S_IRGRP | S_IROTH | S_IWGRP |
	    S_IWOTH)) == 0);
	FUZZ_ASSERT(c->map_size >= (size_t)1 << 20);
	FUZZ_ASSERT(c->map_size <= (size_t)1 << 40);
	FUZZ_ASSERT(c->map_size % ((size_t)1 << 20) == 0);
	FUZZ_ASSERT(c->log_level >= LOG_LEVEL_ERROR &&
	    c->log_level <= LOG_LEVEL_DEBUG);
	FUZZ_ASSERT(c->client.host[0] != '\0' && c->client.port >= 1);
	FUZZ_ASSERT(c->client_idle_timeout >= 1 &&
	    c->client_idle_timeout <= 86400);
	FUZZ_ASSERT(c->client_max_connections >= 1 &&
	    c->client_max_connections <= 1000000);
	FUZZ_ASSERT(c->client_max_per_address >= 1 &&
	    c->client_max_per_address <= 1000000);
	FUZZ_ASSERT(c->client_accept_rate >= 1 &&
	    c->client_accept_rate <= 1000000);
	FUZZ_ASSERT(c->client_accept_burst >= 1 &&
	    c->client_accept_burst <= 1000000);
	FUZZ_ASSERT(c->client_handshake_timeout >= 1 &&
	    c->client_handshake_timeout <= 300);
	FUZZ_ASSERT(c->client_auth_timeout >= 1 &&
	    c->client_auth_timeout <= 3600);
	FUZZ_ASSERT(c->client_frame_timeout >= 1 &&
	    c->client_frame_timeout <= 3600);
	FUZZ_ASSERT(c->client_msg_rate <= 1000000);
	FUZZ_ASSERT(c->client_msg_burst >= 1 &&
	    c->client_msg_burst <= 1000000);
	FUZZ_ASSERT(c->federation.host[0] != '\0' && c->federation.port >= 1);
	FUZZ_ASSERT(c->retry_min >= 1 && c->retry_min <= c->retry_max &&
	    c->retry_max <= 86400);
	FUZZ_ASSERT(c->connect_timeout >= 1 && c->connect_timeout <= 3600);
	FUZZ_ASSERT(c->max_lifetime >= SP_LIFETIME_MIN &&
	    c->max_lifetime <= SP_LIFETIME_MAX);
	FUZZ_ASSERT(c->code_ttl >= 60 && c->code_ttl <= SP_LIFETIME_MAX);

	FUZZ_ASSERT(c->npeers <= CONFIG_MAX_PEERS);
	for (i = 0; i < c->npeers; i++) {
		p = &c->peers[i];
		FUZZ_ASSERT(sp_domain_is_canonical(p->domain));
		FUZZ_ASSERT(strcmp(p->domain, c->domain) != 0);
		for (j = 0; j < i; j++)
			FUZZ_ASSERT(strcmp(p->domain,
			    c->peers[j].domain) != 0);
		FUZZ_ASSERT(p->host[0] != '\0' && p->port >= 1);
		FUZZ_ASSERT(absolute(p->ca) && access(p->ca, R_OK) == 0);
		FUZZ_ASSERT(config_peer_find(c, p->domain) == p);
	}
	FUZZ_ASSERT(config_peer_find(c, c->domain) == NULL);
}

/* Text fields are compared as strings: what follows their NUL is not
 * part of the contract. */
static int
same_config(const struct config *a, const struct config *b)
{
	size_t i;

	if (strcmp(a->path, b->path) != 0 ||
	    strcmp(a->domain, b->domain) != 0 ||
	    strcmp(a->state_dir, b->state_dir) != 0 ||
	    a->map_size != b->map_size || a->log_level != b->log_level ||
	    strcmp(a->tls_cert, b->tls_cert) != 0 ||
	    strcmp(a->tls_key, b->tls_key) != 0 ||
	    strcmp(a->client.host, b->client.host) != 0 ||
	    a->client.port != b->client.port ||
	    a->client_idle_timeout != b->client_idle_timeout ||
	    a->client_max_connections != b->client_max_connections ||
	    a->client_max_per_address != b->client_max_per_address ||
	    a->client_accept_rate != b->client_accept_rate ||
	    a->client_accept_burst != b->client_accept_burst ||
	    a->client_handshake_timeout != b->client_handshake_timeout ||
	    a->client_auth_timeout != b->client_auth_timeout ||
	    a->client_frame_timeout != b->client_frame_timeout ||
	    a->client_msg_rate != b->client_msg_rate ||
	    a->client_msg_burst != b->client_msg_burst ||
	    strcmp(a->user, b->user) != 0 ||
	    strcmp(a->group, b->group) != 0 ||
	    a->uid != b->uid || a->gid != b->gid ||
	    strcmp(a->federation.host, b->federation.host) != 0 ||
	    a->federation.port != b->federation.port ||
	    a->retry_min != b->retry_min || a->retry_max != b->retry_max ||
	    a->connect_timeout != b->connect_timeout ||
	    a->max_lifetime != b->max_lifetime ||
	    a->code_ttl != b->code_ttl || a->npeers != b->npeers)
		return 0;
	for (i = 0; i < a->npeers; i++)
		if (strcmp(a->peers[i].domain, b->peers[i].domain) != 0 ||
		    strcmp(a->peers[i].host, b->peers[i].host) != 0 ||
		    a->peers[i].port != b->peers[i].port ||
		    strcmp(a->peers[i].ca, b->peers[i].ca) != 0)
			return 0;
	return 1;
}

static int
load(struct config *c)
{
	FILE *err = stderr;
	int rc;

	stderr = devnull;
	rc = config_load(c, path);
	stderr = err;
	FUZZ_ASSERT(rc == 0 || rc == -1);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	int fd;

	if (!ready) {
		if (setup() == -1)
			return 0;
		ready = 1;
	}
	if (includes_path(data, size))
		return 0;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd == -1)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	close(fd);

	if (load(&cfg) == 0) {
		check_config(&cfg);
		FUZZ_ASSERT(load(&cfg2) == 0);
		FUZZ_ASSERT(same_config(&cfg, &cfg2));
	}
	return 0;
}
