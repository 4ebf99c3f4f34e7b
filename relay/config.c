/*
 * config.c - read and check the relay's configuration file.
 *
 * The file is walked in its own order against a table per group, so a
 * setting this code does not know is an error rather than a silent
 * typo.  Every problem is printed as "file:line: message" and counted;
 * config_load fails once, at the end, when the count is not zero.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libconfig.h>

#include "../protocol/address.h"
#include "config.h"
#include "log.h"

#define MIB			(1024 * 1024)
#define MAP_SIZE_MAX_MIB	(1024 * 1024)	/* 1 TiB */
#define DAY			(24 * 3600)

/* What the walk of one file carries along. */
struct cload {
	struct config	*cfg;
	char		 dir[PATH_MAX];	/* the config file's directory */
	int		 nerr;
	int		 has_domain;

	/* Settings checked against each other once the walk is over. */
	const config_setting_t *tls, *cert, *key;
	const config_setting_t *retry_min, *retry_max;
	const config_setting_t *user, *group;
	const config_setting_t *peer_domain[CONFIG_MAX_PEERS];
};

/* One peer group while it is walked. */
struct cpeer {
	struct config_peer	*peer;
	const config_setting_t	*domain, *host, *ca;
};

typedef void cset_fn(struct cload *, const config_setting_t *,
    const char *, void *);

struct ckey {
	const char	*name;
	cset_fn		*fn;
};

static void	cerr(struct cload *, const config_setting_t *,
		    const char *, ...) __attribute__((format(printf, 3, 4)));
static void	cwalk(struct cload *, const config_setting_t *,
		    const char *, const struct ckey *, size_t, void *);

static void
cerr(struct cload *c, const config_setting_t *s, const char *fmt, ...)
{
	char		 msg[1024];
	const char	*file = NULL;
	va_list		 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	if (s != NULL)
		file = config_setting_source_file(s);
	if (file == NULL)
		file = c->cfg->path;

	if (s != NULL && config_setting_source_line(s) > 0)
		fprintf(stderr, "%s:%u: %s\n", file,
		    config_setting_source_line(s), msg);
	else
		fprintf(stderr, "%s: %s\n", file, msg);
	c->nerr++;
}

static const char *
ctype_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a number with a fraction";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	default:
		return "of no known type";
	}
}

static int
ctype_is(struct cload *c, const config_setting_t *s, const char *name,
    int type)
{
	int	got = config_setting_type(s);

	if (got == type ||
	    (type == CONFIG_TYPE_INT && got == CONFIG_TYPE_INT64))
		return 1;
	cerr(c, s, "'%s' must be %s, not %s", name, ctype_name(type),
	    ctype_name(got));
	return 0;
}

/* An integer setting within [min, max]: 0 and *out set, or -1. */
static int
cget_uint(struct cload *c, const config_setting_t *s, const char *name,
    long long min, long long max, unsigned *out)
{
	long long	v;

	if (!ctype_is(c, s, name, CONFIG_TYPE_INT))
		return -1;
	v = config_setting_get_int64(s);
	if (v < min || v > max) {
		cerr(c, s, "'%s' must be between %lld and %lld, not %lld",
		    name, min, max, v);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

/* A non-empty string that fits outlen bytes: 0 and copied, or -1. */
static int
cget_str(struct cload *c, const config_setting_t *s, const char *name,
    char *out, size_t outlen)
{
	const char	*v;

	if (!ctype_is(c, s, name, CONFIG_TYPE_STRING))
		return -1;
	v = config_setting_get_string(s);
	if (*v == '\0') {
		cerr(c, s, "'%s' is empty", name);
		return -1;
	}
	if (strlen(v) >= outlen) {
		cerr(c, s, "'%s' is longer than %zu characters", name,
		    outlen - 1);
		return -1;
	}
	memcpy(out, v, strlen(v) + 1);
	return 0;
}

/* A path, made absolute against the config file's directory. */
static int
cget_path(struct cload *c, const config_setting_t *s, const char *name,
    char *out, size_t outlen)
{
	char	v[4096];
	int	n;

	if (cget_str(c, s, name, v, sizeof(v)) == -1)
		return -1;
	if (v[0] == '/')
		n = snprintf(out, outlen, "%s", v);
	else
		n = snprintf(out, outlen, "%s/%s", c->dir, v);
	if (n < 0 || (size_t)n >= outlen) {
		cerr(c, s, "'%s' is too long once made absolute", name);
		return -1;
	}
	return 0;
}

/*
 * A file the relay will read later: it must be a readable regular
 * file now, so a typo shows up in -n rather than at the first peer
 * connection.  With secret set, group and others must have no access.
 */
static int
cget_file(struct cload *c, const config_setting_t *s, const char *name,
    char *out, size_t outlen, int secret)
{
	struct stat	sb;
	int		fd;

	if (cget_path(c, s, name, out, outlen) == -1)
		return -1;

	if ((fd = open(out, O_RDONLY | O_CLOEXEC)) == -1) {
		cerr(c, s, "%s file %s: %s", name, out, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1) {
		cerr(c, s, "%s file %s: %s", name, out, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);

	if (!S_ISREG(sb.st_mode)) {
		cerr(c, s, "%s file %s is not a regular file", name, out);
		return -1;
	}
	if (secret && (sb.st_mode & (S_IRGRP | S_IROTH))) {
		cerr(c, s, "key file %s is readable by others (chmod 600)",
		    out);
		return -1;
	}
	if (secret && (sb.st_mode & (S_IWGRP | S_IWOTH))) {
		cerr(c, s, "key file %s is writable by others (chmod 600)",
		    out);
		return -1;
	}
	return 0;
}

/* A domain that must already be in canonical form. */
static int
cget_domain(struct cload *c, const config_setting_t *s, const char *name,
    char out[SP_DOMAIN_MAX + 1])
{
	const char	*v, *why = NULL;
	char		 canon[SP_DOMAIN_MAX + 1];

	if (!ctype_is(c, s, name, CONFIG_TYPE_STRING))
		return -1;
	v = config_setting_get_string(s);

	if (sp_domain_canon(v, strlen(v), canon, &why) != SP_OK) {
		log_escape(canon, sizeof(canon), v, strlen(v));
		cerr(c, s, "'%s': '%s' is not a valid domain: %s", name,
		    canon, why != NULL ? why : "refused");
		return -1;
	}

	/* Addresses compare byte for byte, so only one spelling works. */
	if (strcmp(canon, v) != 0) {
		cerr(c, s, "'%s': '%s' is not in canonical form (write '%s')",
		    name, v, canon);
		return -1;
	}
	memcpy(out, canon, strlen(canon) + 1);
	return 0;
}

static int
cget_listen(struct cload *c, const config_setting_t *s, const char *name,
    char *out, size_t outlen)
{
	char	v[256];
	size_t	i;

	if (cget_str(c, s, name, v, sizeof(v)) == -1)
		return -1;
	for (i = 0; v[i] != '\0'; i++)
		if (v[i] <= ' ' || v[i] > '~') {
			cerr(c, s, "'%s' holds a space or a control "
			    "character", name);
			return -1;
		}
	memcpy(out, v, strlen(v) + 1);
	return 0;
}

/* --- top level --- */

static void
cset_domain(struct cload *c, const config_setting_t *s, const char *name,
    void *arg)
{
	c->has_domain = 1;
	cget_domain(c, s, name, c->cfg->domain);
}

static void
cset_state_dir(struct cload *c, const config_setting_t *s,
    const char *name, void *arg)
{
	cget_path(c, s, name, c->cfg->state_dir, sizeof(c->cfg->state_dir));
}

static void
cset_map_size(struct cload *c, const config_setting_t *s, const char *name,
    void *arg)
{
	unsigned	mib;

	if (cget_uint(c, s, name, 1, MAP_SIZE_MAX_MIB, &mib) == 0)
		c->cfg->map_size = (size_t)mib * MIB;
}

static void
cset_log_level(struct cload *c, const config_setting_t *s,
    const char *name, void *arg)
{
	char	v[16];
	int	level;

	if (!ctype_is(c, s, name, CONFIG_TYPE_STRING))
		return;
	if (strlen(config_setting_get_string(s)) < sizeof(v)) {
		memcpy(v, config_setting_get_string(s),
		    strlen(config_setting_get_string(s)) + 1);
		if ((level = log_level_parse(v)) != -1) {
			c->cfg->log_level = level;
			return;
		}
	}
	cerr(c, s, "'%s' must be one of error, warn, info, debug", name);
}

/* --- the account to run as --- */

static void
cset_user(struct cload *c, const config_setting_t *s, const char *name,
    void *arg)
{
	struct config	*cfg = c->cfg;
	struct passwd	*pw;

	c->user = s;
	if (cget_str(c, s, name, cfg->user, sizeof(cfg->user)) == -1)
		return;

	if ((pw = getpwnam(cfg->user)) == NULL) {
		cerr(c, s, "'%s': no such user '%s'", name, cfg->user);
		return;
	}
	if (pw->pw_uid == 0) {
		cerr(c, s, "'%s': '%s' is root (leave '%s' out to keep "
		    "root)", name, cfg->user, name);
		return;
	}
	cfg->uid = pw->pw_uid;

	/* An explicit group wins, whichever comes first in the file. */
	if (c->group == NULL)
		cfg->gid = pw->pw_gid;
}

static void
cset_group(struct cload *c, const config_setting_t *s, const char *name,
    void *arg)
{
	struct config	*cfg = c->cfg;
	struct group	*gr;

	/* Marked unresolved, so a bad name is not also "root's group". */
	c->group = s;
	cfg->gid = (gid_t)-1;
	if (cget_str(c, s, name, cfg->group, sizeof(cfg->group)) == -1)
		return;

	if ((gr = getgrnam(cfg->group)) == NULL) {
		cerr(c, s, "'%s': no such group '%s'", name, cfg->group);
		return;
	}
	cfg->gid = gr->gr_gid;
}

/* --- tls --- */

static void
cset_tls_cert(struct cload *c, const config_setting_t *s, const char *name,
    void *arg)
{
	c->cert = s;
	cget_file(c, s, name, c->cfg->tls_cert, sizeof(c->cfg->tls_cert), 0);
}

static void
cset_tls_key(struct cload *c, const config_setting_t *s, const char *name,
    void *arg)
{
	c->key = s;
	cget_file(c, s, name, c->cfg->tls_key, sizeof(c->cfg->tls_key), 1);
}

static const struct ckey tls_keys[] = {
	{ "cert",	cset_tls_cert },
	{ "key",	cset_tls_key },
};

static void
cset_tls(struct cload *c, const config_setting_t *s, const char *name,
    void *arg)
{
	c->tls = s;
	cwalk(c, s, name, tls_keys, sizeof(tls_keys) / sizeof(tls_keys[0]),
	    NULL);
}

/* --- client and federation listeners --- */

static void
cset_listen(struct cload *c, const config_setting_t *s, const char *name,
    void *arg)
{
	struct config_listener	*l = arg;

	cget_listen(c, s, name, l->host, sizeof(l->host));
}

static void
cset_port(struct cload *c, const config_setting_t *s, const char *name,
    void *arg)
{
	struct config_listener	*l = arg;
	unsigned		 port;

	if (cget_uint(c, s, name, 1, 65535, &port) == 0)
		l->port = (uint16_t)port;
}

static void
cset_idle_timeout(struct cload *c, const config_setting_t *s,
    const char *name, void *arg)
{
	cget_uint(c, s, name, 1, DAY, &c->cfg->client_idle_timeout);
}

static void
cset_max_connections(struct cload *c, const config_setting_t *s,
    const char *name, void *arg)
{
	cget_uint(c, s, name, 1, 1000000, &c->cfg->client_max_connections);
}

/* --- what one peer may cost (client group, both listeners) --- */

static void
cset_max_per_address(struct cload *c, const config_setting_t *s,
    const char *name, void *arg)
{
	cget_uint(c, s, name, 1, 1000000, &c->cfg->client_max_per_address);
}

static void
cset_accept_rate(struct cload *c, const config_setting_t *s,
    const char *name, void *arg)
{
	cget_uint(c, s, name, 1, 1000000, &c->cfg->client_accept_rate);
}

static void
cset_accept_burst(struct cload *c, const config_setting_t *s,
    const char *name, void *arg)
{
	cget_uint(c, s, name, 1, 1000000, &c->cfg->client_accept_burst);
}

static void
cset_handshake_timeout(struct cload *c, const config_setting_t *s,
    const char *name, void *arg)
{
	cget_uint(c, s, name, 1, 300, &c->cfg->client_handshake_timeout);
}

static void
cset_auth_timeout(struct cload *c, const config_setting_t *s,
    const char *name, void *arg)
{
	cget_uint(c, s, name, 1, 3600, &c->cfg->client_auth_timeout);
}

static void
cset_frame_timeout(struct cload *c, const config_setting_t *s,
    const char *name, void *arg)
{
	cget_uint(c, s, name, 1, 3600, &c->cfg->client_frame_timeout);
}

static void
cset_msg_rate(struct cload *c, const config_setting_t *s,
    const char *name, void *arg)
{
	cget_uint(c, s, name, 0, 1000000, &c->cfg->client_msg_rate);
}

static void
cset_msg_burst(struct cload *c, const config_setting_t *s,
    const char *name, void *arg)
{
	cget_uint(c, s, name, 1, 1000000, &c->cfg->client_msg_burst);
}

static const struct ckey client_keys[] = {
	{ "accept_burst",	cset_accept_burst },
	{ "accept_rate",	cset_accept_rate },
	{ "auth_timeout",	cset_auth_timeout },
	{ "frame_timeout",	cset_frame_timeout },
	{ "handshake_timeout",	cset_handshake_timeout },
	{ "idle_timeout",	cset_idle_timeout },
	{ "listen",		cset_listen },
	{ "max_connections",	cset_max_connections },
	{ "max_per_address",	cset_max_per_address },
	{ "msg_burst",		cset_msg_burst },
	{ "msg_rate",		cset_msg_rate },
	{ "port",		cset_port },
};

static void
cset_client(struct cload *c, const config_setting_t *s, const char *name,
    void *arg)
{
	cwalk(c, s, name, client_keys,
	    sizeof(client_keys) / sizeof(client_keys[0]), &c->cfg->client);
}

static void
cset_retry_min(struct cload *c, const config_setting_t *s,
    const char *name, void *arg)
{
	if (cget_uint(c, s, name, 1, DAY, &c->cfg->retry_min) == 0)
		c->retry_min = s;
}

static void
cset_retry_max(struct cload *c, const config_setting_t *s,
    const char *name, void *arg)
{
	if (cget_uint(c, s, name, 1, DAY, &c->cfg->retry_max) == 0)
		c->retry_max = s;
}

static void
cset_connect_timeout(struct cload *c, const config_setting_t *s,
    const char *name, void *arg)
{
	cget_uint(c, s, name, 1, 3600, &c->cfg->connect_timeout);
}

static const struct ckey federation_keys[] = {
	{ "connect_timeout",	cset_connect_timeout },
	{ "listen",		cset_listen },
	{ "port",		cset_port },
	{ "retry_max",		cset_retry_max },
	{ "retry_min",		cset_retry_min },
};

static void
cset_federation(struct cload *c, const config_setting_t *s,
    const char *name, void *arg)
{
	cwalk(c, s, name, federation_keys,
	    sizeof(federation_keys) / sizeof(federation_keys[0]),
	    &c->cfg->federation);
}

/* --- limits --- */

static void
cset_max_lifetime(struct cload *c, const config_setting_t *s,
    const char *name, void *arg)
{
	cget_uint(c, s, name, SP_LIFETIME_MIN, SP_LIFETIME_MAX,
	    &c->cfg->max_lifetime);
}

static void
cset_code_ttl(struct cload *c, const config_setting_t *s, const char *name,
    void *arg)
{
	cget_uint(c, s, name, 60, SP_LIFETIME_MAX, &c->cfg->code_ttl);
}

static const struct ckey limits_keys[] = {
	{ "code_ttl",		cset_code_ttl },
	{ "max_lifetime",	cset_max_lifetime },
};

static void
cset_limits(struct cload *c, const config_setting_t *s, const char *name,
    void *arg)
{
	cwalk(c, s, name, limits_keys,
	    sizeof(limits_keys) / sizeof(limits_keys[0]), NULL);
}

/* --- peers --- */

static void
cset_peer_domain(struct cload *c, const config_setting_t *s,
    const char *name, void *arg)
{
	struct cpeer	*p = arg;

	if (cget_domain(c, s, name, p->peer->domain) == 0)
		p->domain = s;
}

static void
cset_peer_host(struct cload *c, const config_setting_t *s,
    const char *name, void *arg)
{
	struct cpeer	*p = arg;

	p->host = s;
	cget_listen(c, s, name, p->peer->host, sizeof(p->peer->host));
}

static void
cset_peer_port(struct cload *c, const config_setting_t *s,
    const char *name, void *arg)
{
	struct cpeer	*p = arg;
	unsigned	 port;

	if (cget_uint(c, s, name, 1, 65535, &port) == 0)
		p->peer->port = (uint16_t)port;
}

static void
cset_peer_ca(struct cload *c, const config_setting_t *s, const char *name,
    void *arg)
{
	struct cpeer	*p = arg;

	p->ca = s;
	cget_file(c, s, name, p->peer->ca, sizeof(p->peer->ca), 0);
}

static const struct ckey peer_keys[] = {
	{ "ca",		cset_peer_ca },
	{ "domain",	cset_peer_domain },
	{ "host",	cset_peer_host },
	{ "port",	cset_peer_port },
};

static void
cset_peers(struct cload *c, const config_setting_t *s, const char *name,
    void *arg)
{
	struct cpeer		 p;
	const config_setting_t	*e;
	char			 ename[64];
	int			 i, n;

	if (!ctype_is(c, s, name, CONFIG_TYPE_LIST))
		return;

	n = config_setting_length(s);
	if (n > CONFIG_MAX_PEERS) {
		cerr(c, s, "more than %d peers", CONFIG_MAX_PEERS);
		return;
	}

	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, i);
		snprintf(ename, sizeof(ename), "%s[%d]", name, i);
		if (!ctype_is(c, e, ename, CONFIG_TYPE_GROUP))
			continue;

		memset(&p, 0, sizeof(p));
		p.peer = &c->cfg->peers[c->cfg->npeers];
		p.peer->port = SP_PORT_FEDERATION;
		cwalk(c, e, ename, peer_keys,
		    sizeof(peer_keys) / sizeof(peer_keys[0]), &p);

		if (p.domain == NULL && config_setting_get_member(e,
		    "domain") == NULL)
			cerr(c, e, "missing required setting '%s.domain'",
			    ename);
		if (p.host == NULL)
			cerr(c, e, "missing required setting '%s.host'",
			    ename);
		if (p.ca == NULL)
			cerr(c, e, "missing required setting '%s.ca'", ename);

		/* Cross-checks need our own domain: after the walk. */
		c->peer_domain[c->cfg->npeers++] = p.domain;
	}
}

static const struct ckey root_keys[] = {
	{ "client",	cset_client },
	{ "domain",	cset_domain },
	{ "federation",	cset_federation },
	{ "group",	cset_group },
	{ "limits",	cset_limits },
	{ "log_level",	cset_log_level },
	{ "map_size",	cset_map_size },
	{ "peers",	cset_peers },
	{ "state_dir",	cset_state_dir },
	{ "tls",	cset_tls },
	{ "user",	cset_user },
};

/*
 * Hand each member of group g, in file order, to its entry in keys;
 * a member without one is an error.  prefix names g in messages
 * (NULL at the top).
 */
static void
cwalk(struct cload *c, const config_setting_t *g, const char *prefix,
    const struct ckey *keys, size_t nkeys, void *arg)
{
	const config_setting_t	*m;
	const char		*key;
	char			 name[128];
	size_t			 k;
	int			 i, n;

	if (!ctype_is(c, g, prefix != NULL ? prefix : "the file",
	    CONFIG_TYPE_GROUP))
		return;

	n = config_setting_length(g);
	for (i = 0; i < n; i++) {
		m = config_setting_get_elem(g, i);
		key = config_setting_name(m);
		if (prefix != NULL)
			snprintf(name, sizeof(name), "%s.%s", prefix, key);
		else
			snprintf(name, sizeof(name), "%s", key);

		for (k = 0; k < nkeys; k++)
			if (strcmp(keys[k].name, key) == 0)
				break;
		if (k == nkeys)
			cerr(c, m, "unknown setting '%s'", name);
		else
			keys[k].fn(c, m, name, arg);
	}
}

/*
 * Whoever owns the key file can replace it, and with it who the relay
 * is: only root, the account reading the config, or 'user' may.
 */
static void
ckey_owner(struct cload *c)
{
	struct config	*cfg = c->cfg;
	struct passwd	*pw;
	struct stat	 sb;

	if (stat(cfg->tls_key, &sb) == -1 || !S_ISREG(sb.st_mode))
		return;		/* cget_file said why */
	if (sb.st_uid == 0 || sb.st_uid == geteuid() ||
	    (cfg->user[0] != '\0' && sb.st_uid == cfg->uid))
		return;

	pw = getpwuid(sb.st_uid);
	cerr(c, c->key, "key file %s belongs to %s%s(uid %u), not to root "
	    "or the relay's user (chown)", cfg->tls_key,
	    pw != NULL ? pw->pw_name : "", pw != NULL ? " " : "",
	    (unsigned)sb.st_uid);
}

/* The account settings, once both are known. */
static void
caccount(struct cload *c)
{
	struct config	*cfg = c->cfg;

	if (c->group != NULL && c->user == NULL) {
		cerr(c, c->group, "'group' is set without 'user'");
		return;
	}
	if (c->user == NULL || cfg->user[0] == '\0' || cfg->uid == 0)
		return;		/* unset, or cset_user said why */

	/* Root's group would keep access to whatever root's group may
	 * touch, so it is refused like root itself. */
	if (cfg->gid != 0)
		return;		/* not root's, or cset_group said why */
	if (c->group != NULL)
		cerr(c, c->group, "'group': '%s' is root's group (gid 0)",
		    cfg->group);
	else
		cerr(c, c->user, "'user': the primary group of '%s' is "
		    "root's (gid 0); set 'group'", cfg->user);
}

/* Checks that span several settings, once every one has been read. */
static void
ccross(struct cload *c)
{
	struct config		*cfg = c->cfg;
	const config_setting_t	*s;
	size_t			 i, j;

	if (!c->has_domain)
		cerr(c, NULL, "missing required setting 'domain'");
	if (c->tls == NULL)
		cerr(c, NULL, "missing required group 'tls'");
	else {
		if (c->cert == NULL)
			cerr(c, c->tls, "missing required setting "
			    "'tls.cert'");
		if (c->key == NULL)
			cerr(c, c->tls, "missing required setting "
			    "'tls.key'");
	}

	/* An unknown user would only add a confusing owner complaint. */
	caccount(c);
	if (c->key != NULL && cfg->tls_key[0] != '\0' &&
	    (c->user == NULL || cfg->uid != 0))
		ckey_owner(c);

	/* Both listeners on one port would fail at start-up with an
	 * "address in use" that seems to blame another program. */
	if (cfg->client.port == cfg->federation.port &&
	    (strcmp(cfg->client.host, cfg->federation.host) == 0 ||
	    strcmp(cfg->client.host, "0.0.0.0") == 0 ||
	    strcmp(cfg->federation.host, "0.0.0.0") == 0))
		cerr(c, NULL, "'client.port' and 'federation.port' are both "
		    "%u on the same address", (unsigned)cfg->client.port);

	if (cfg->retry_max < cfg->retry_min) {
		s = c->retry_max != NULL ? c->retry_max : c->retry_min;
		cerr(c, s, "'federation.retry_max' (%u) is below "
		    "'federation.retry_min' (%u)", cfg->retry_max,
		    cfg->retry_min);
	}

	for (i = 0; i < cfg->npeers; i++) {
		if ((s = c->peer_domain[i]) == NULL)
			continue;
		if (cfg->domain[0] != '\0' &&
		    strcmp(cfg->peers[i].domain, cfg->domain) == 0)
			cerr(c, s, "peer '%s' is our own domain",
			    cfg->domain);
		for (j = 0; j < i; j++)
			if (c->peer_domain[j] != NULL &&
			    strcmp(cfg->peers[i].domain,
			    cfg->peers[j].domain) == 0) {
				cerr(c, s, "peer '%s' is listed twice "
				    "(first on line %u)",
				    cfg->peers[i].domain,
				    config_setting_source_line(
				    c->peer_domain[j]));
				break;
			}
	}
}

static void
cdefaults(struct config *cfg)
{
	snprintf(cfg->state_dir, sizeof(cfg->state_dir), "%s",
	    "/var/lib/sealpost");
	cfg->map_size = (size_t)1024 * MIB;
	cfg->log_level = LOG_LEVEL_INFO;

	snprintf(cfg->client.host, sizeof(cfg->client.host), "0.0.0.0");
	cfg->client.port = SP_PORT_CLIENT;
	cfg->client_idle_timeout = 300;
	cfg->client_max_connections = 10000;
	cfg->client_max_per_address = 256;
	cfg->client_accept_rate = 20;
	cfg->client_accept_burst = 100;
	cfg->client_handshake_timeout = 10;
	cfg->client_auth_timeout = 30;
	cfg->client_frame_timeout = 60;
	cfg->client_msg_rate = 1000;
	cfg->client_msg_burst = 2000;

	snprintf(cfg->federation.host, sizeof(cfg->federation.host),
	    "0.0.0.0");
	cfg->federation.port = SP_PORT_FEDERATION;
	cfg->retry_min = 1;
	cfg->retry_max = 300;
	cfg->connect_timeout = 10;

	cfg->max_lifetime = SP_LIFETIME_MAX;
	cfg->code_ttl = DAY;
}

/* The directory of path, absolute, into dir: 0 or -1 with errno. */
static int
cdirname(const char *path, char dir[PATH_MAX])
{
	char		 tmp[PATH_MAX];
	const char	*slash = strrchr(path, '/');
	size_t		 len;

	if (slash == NULL)
		snprintf(tmp, sizeof(tmp), ".");
	else {
		len = slash == path ? 1 : (size_t)(slash - path);
		if (len >= sizeof(tmp)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(tmp, path, len);
		tmp[len] = '\0';
	}

	if (realpath(tmp, dir) == NULL)
		return -1;

	/* "/" would give "//file" below; harmless, but keep it tidy. */
	if (strcmp(dir, "/") == 0)
		dir[0] = '\0';
	return 0;
}

/*
 * libconfig 1.5 reads included files with a flex scanner that calls
 * exit() when a read fails, which is what happens when the file or an
 * @include names a directory (or a FIFO, which would hang instead).  So
 * before libconfig sees anything, check that the file and everything it
 * includes, recursively, are regular files.  Returns 0 or -1 after
 * printing "file:line: message".
 */
#define CONFIG_INCLUDE_DEPTH	8

static int
cincludes_ok(const char *path, const char *dir, int depth)
{
	struct stat	 sb;
	char		 line[4096], sub[PATH_MAX];
	const char	*p, *q;
	FILE		*f;
	int		 lineno = 0, rc = 0;

	if (stat(path, &sb) == -1) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		fprintf(stderr, "%s: not a regular file\n", path);
		return -1;
	}
	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}

	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		p = line + strspn(line, " \t");
		if (strncmp(p, "@include", 8) != 0)
			continue;
		p += 8;
		p += strspn(p, " \t");
		if (*p != '"' || (q = strchr(p + 1, '"')) == NULL ||
		    memchr(p + 1, '\\', q - p - 1) != NULL || q == p + 1) {
			fprintf(stderr, "%s:%d: @include needs a plain, "
			    "non-empty file name in double quotes\n", path,
			    lineno);
			rc = -1;
			break;
		}
		if (depth >= CONFIG_INCLUDE_DEPTH) {
			fprintf(stderr, "%s:%d: @include nested too deeply\n",
			    path, lineno);
			rc = -1;
			break;
		}
		if (snprintf(sub, sizeof(sub), "%s%s%.*s",
		    p[1] == '/' ? "" : dir, p[1] == '/' ? "" : "/",
		    (int)(q - p - 1), p + 1) >= (int)sizeof(sub)) {
			fprintf(stderr, "%s:%d: @include name too long\n",
			    path, lineno);
			rc = -1;
			break;
		}
		if (cincludes_ok(sub, dir, depth + 1) == -1) {
			fprintf(stderr, "%s:%d: in this @include\n", path,
			    lineno);
			rc = -1;
		}
	}
	fclose(f);
	return rc;
}

int
config_load(struct config *cfg, const char *path)
{
	struct cload	 c;
	config_t	 lc;
	int		 rc = -1;

	memset(cfg, 0, sizeof(*cfg));
	memset(&c, 0, sizeof(c));
	c.cfg = cfg;
	cdefaults(cfg);

	if (strlen(path) >= sizeof(cfg->path)) {
		fprintf(stderr, "%.64s...: path too long\n", path);
		return -1;
	}
	memcpy(cfg->path, path, strlen(path) + 1);

	/* Also catches a missing file, with the reason libconfig drops. */
	if (access(path, R_OK) == -1 || cdirname(path, c.dir) == -1) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}

	if (cincludes_ok(path, c.dir, 0) == -1)
		return -1;

	config_init(&lc);
	config_set_include_dir(&lc, c.dir[0] != '\0' ? c.dir : "/");
	if (config_read_file(&lc, path) != CONFIG_TRUE) {
		if (config_error_type(&lc) == CONFIG_ERR_FILE_IO)
			fprintf(stderr, "%s: cannot read the file\n", path);
		else
			fprintf(stderr, "%s:%d: %s\n",
			    config_error_file(&lc) != NULL ?
			    config_error_file(&lc) : path,
			    config_error_line(&lc), config_error_text(&lc));
		goto done;
	}

	cwalk(&c, config_root_setting(&lc), NULL, root_keys,
	    sizeof(root_keys) / sizeof(root_keys[0]), NULL);
	ccross(&c);
	if (c.nerr == 0)
		rc = 0;

 done:
	config_destroy(&lc);
	return rc;
}

const struct config_peer *
config_peer_find(const struct config *cfg, const char *domain)
{
	size_t	i;

	for (i = 0; i < cfg->npeers; i++)
		if (strcmp(cfg->peers[i].domain, domain) == 0)
			return &cfg->peers[i];
	return NULL;
}
