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

#include <sys/types.h>

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

	/*
	 * The account the daemon runs as once its listeners, keys and
	 * store are open (user "" = it keeps the one it started as; it
	 * must then start as root, or as that user already).  The names
	 * exist when loaded; neither is root's.  group "" = the user's
	 * primary group.  Supplementary groups are dropped.
	 */
	char		user[256];
	char		group[256];
	uid_t		uid;		/* of user, when set */
	gid_t		gid;		/* of group, or user's primary one */

	char		tls_cert[4096];	/* required: our chain, leaf first */
	char		tls_key[4096];	/* required, mode 0600 or stricter */

	struct config_listener client;		/* 0.0.0.0 port 7400 */
	unsigned	client_idle_timeout;	/* seconds, 1..86400; 300 */
	unsigned	client_max_connections;	/* 1..1000000; 10000 */

	/*
	 * What one peer may cost.  An address is an IPv4 address or an
	 * IPv6 /64; the per-address limits and the handshake and frame
	 * timeouts apply to both listeners, the authentication timeout and
	 * the message rate to device sessions only.
	 */
	unsigned	client_max_per_address;	/* open connections from
						 * one address, 1..1000000;
						 * 256 */
	unsigned	client_accept_rate;	/* new connections per second
						 * from one address,
						 * 1..1000000; 20 */
	unsigned	client_accept_burst;	/* ... of which at once,
						 * 1..1000000; 100 */
	unsigned	client_handshake_timeout; /* seconds from accept to
						 * TLS done, 1..300; 10 */
	unsigned	client_auth_timeout;	/* seconds from TLS done to
						 * enrolled or authenticated,
						 * 1..3600; 30 */
	unsigned	client_frame_timeout;	/* seconds from a frame's
						 * first byte to its last,
						 * 1..3600; 60 */
	unsigned	client_msg_rate;	/* messages per second of one
						 * device session, 0 (no
						 * limit)..1000000; 1000 */
	unsigned	client_msg_burst;	/* ... of which at once,
						 * 1..1000000; 2000 */

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
 * be readable regular files; the key file must be neither readable
 * nor writable by group and others, and belong to root, to the user
 * running this, or to 'user' (anyone else could swap it).  Nothing is opened for good: no
 * socket, no certificate parsing (TLS set-up does that).
 */
int config_load(struct config *cfg, const char *path);

/* The peer with this canonical domain, or NULL. */
const struct config_peer *config_peer_find(const struct config *cfg,
    const char *domain);

#endif /* SEALPOST_CONFIG_H */
