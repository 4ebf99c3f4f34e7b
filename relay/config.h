/*
 * config.h - the relay's configuration file (libconfig syntax).
 *
 * config_load reads and checks the whole file, reporting every problem
 * as "file:line: message" on stderr, then fails once.  Relative paths
 * are resolved against the config file's directory.  Defaults are those
 * documented in README.md ("Configuration reference").
 */
#ifndef SEALPOST_CONFIG_H
#define SEALPOST_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "../protocol/wire.h"

#define CONFIG_PATH_DEFAULT	"/etc/sealpost/relay.conf"
#define CONFIG_MAX_PEERS	256

struct config_listener {
	char		host[256];	/* address to bind */
	uint16_t	port;
};

struct config_peer {
	char		domain[SP_DOMAIN_MAX + 1];	/* canonical */
	char		host[256];			/* where it listens */
	uint16_t	port;
	char		ca[4096];	/* CA file its certificate chains to */
};

struct config {
	char		path[4096];	/* the file it was read from */
	char		domain[SP_DOMAIN_MAX + 1];	/* our organisation */
	char		state_dir[4096];
	size_t		map_size;	/* bytes */
	int		log_level;	/* enum log_level */

	char		tls_cert[4096];	/* our chain, leaf first */
	char		tls_key[4096];

	struct config_listener client;
	unsigned	client_idle_timeout;	/* seconds */
	unsigned	client_max_connections;

	struct config_listener federation;
	unsigned	retry_min;		/* seconds */
	unsigned	retry_max;		/* seconds */
	unsigned	connect_timeout;	/* seconds */

	unsigned	max_lifetime;		/* seconds */
	unsigned	code_ttl;		/* seconds */

	size_t		 npeers;
	struct config_peer peers[CONFIG_MAX_PEERS];
};

/*
 * Read path into cfg (which this zeroes and fills with defaults first).
 * Returns 0, or -1 after printing each problem as "file:line: message"
 * (or "file: message" when no line applies) on stderr.  Files named in
 * the config must exist and be readable; the key file must not be
 * readable by group or others.
 */
int config_load(struct config *cfg, const char *path);

/* The peer with this canonical domain, or NULL. */
const struct config_peer *config_peer_find(const struct config *cfg,
    const char *domain);

#endif /* SEALPOST_CONFIG_H */
