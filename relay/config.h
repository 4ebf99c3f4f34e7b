/*
 * config.h - the relay's configuration file (libconfig syntax).
 *
 * config_load reads and checks the whole file, reporting every problem
 * as "file:line: message" on stderr, then fails once.  A setting it does
 * not know, at any level, is an error, so a typo never passes silently.
 * Relative paths are resolved against the directory of the config file
 * (made absolute), also inside @include'd files.  Defaults and bounds
 * are noted on each field below; README.md ("Configuration reference")
 * documents them for operators.
 */
#ifndef SEALPOST_CONFIG_H
#define SEALPOST_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "../protocol/wire.h"

#define CONFIG_PATH_DEFAULT	"/etc/sealpost/relay.conf"
#define CONFIG_MAX_PEERS	256

struct config_listener {
	char		host[256];	/* address to bind, "0.0.0.0" */
	uint16_t	port;		/* 1..65535 */
};

struct config_peer {
	char		domain[SP_DOMAIN_MAX + 1];	/* canonical; not
							 * ours, unique */
	char		host[256];			/* where it listens */
	uint16_t	port;				/* 7401 */
	char		ca[4096];	/* CA file its certificate chains to
					 * (absolute, readable when loaded) */
};

/* Paths are absolute once loaded; text fields are NUL-terminated. */
struct config {
	char		path[4096];	/* the file, as given to config_load */
	char		domain[SP_DOMAIN_MAX + 1];	/* ours; required,
							 * canonical */
	char		state_dir[4096];	/* "/var/lib/sealpost" */
	size_t		map_size;	/* bytes; set in MiB, 1..1048576,
					 * default 1024 */
	int		log_level;	/* enum log_level; "info" */

	char		tls_cert[4096];	/* required: our chain, leaf first */
	char		tls_key[4096];	/* required, mode 0600 or stricter */

	struct config_listener client;		/* 0.0.0.0 port 7400 */
	unsigned	client_idle_timeout;	/* seconds, 1..86400; 300 */
	unsigned	client_max_connections;	/* 1..1000000; 10000 */

	struct config_listener federation;	/* 0.0.0.0 port 7401 */
	unsigned	retry_min;		/* seconds, 1..86400; 1 */
	unsigned	retry_max;		/* >= retry_min, ..86400; 300 */
	unsigned	connect_timeout;	/* seconds, 1..3600; 10 */

	unsigned	max_lifetime;		/* seconds, SP_LIFETIME_MIN..
						 * SP_LIFETIME_MAX (default) */
	unsigned	code_ttl;		/* seconds, 60..SP_LIFETIME_MAX;
						 * 86400 */

	size_t		 npeers;
	struct config_peer peers[CONFIG_MAX_PEERS];
};

/*
 * Read path into cfg (which this zeroes and fills with defaults first).
 * Returns 0, or -1 after printing each problem as "file:line: message"
 * (or "file: message" when no line applies) on stderr; cfg is then
 * partly filled and must not be used.  Files named in the config must
 * be readable regular files; the key file must give group and others
 * no access.  Nothing is opened for good: no socket, no certificate
 * parsing (TLS set-up does that).
 */
int config_load(struct config *cfg, const char *path);

/* The peer with this canonical domain, or NULL. */
const struct config_peer *config_peer_find(const struct config *cfg,
    const char *domain);

#endif /* SEALPOST_CONFIG_H */
