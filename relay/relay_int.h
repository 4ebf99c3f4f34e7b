/*
 * relay_int.h - what the relay's network modules share: struct relay
 * and the hooks the sessions call into it.  Not for main.c.
 */
#ifndef SEALPOST_RELAY_INT_H
#define SEALPOST_RELAY_INT_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "config.h"
#include "store.h"

struct client;
struct conn;
struct fedin;
struct fedout;
struct relay_addr;
struct tls_trust;

TAILQ_HEAD(client_list, client);
TAILQ_HEAD(conn_list, conn);
TAILQ_HEAD(fedin_list, fedin);

/* Buckets of the device -> connected sessions table. */
#define RELAY_DEV_BUCKETS	1024

struct relay {
	struct event_base	*base;
	const struct config	*cfg;
	struct store		*st;

	SSL_CTX			*client_ctx;
	SSL_CTX			*fed_ctx;
	struct tls_trust	*trust;

	struct evconnlistener	*client_lst;
	struct evconnlistener	*fed_lst;
	struct event		*lst_retry;	/* re-enable after EMFILE */

	/*
	 * Peers by address: open connections and the token bucket of new
	 * ones.  Chained hash with a secret key, so nobody can choose
	 * addresses that collide; entries go once idle and refilled.
	 */
	struct relay_addr	**addrs;
	size_t			 naddrs, addr_buckets;
	unsigned char		 addr_key[16];
	struct relay_addr	*admitted;	/* slot for conn_accept */
	struct event		*sweep;		/* idle entries, summary */
	size_t			 fd_budget;	/* sessions fds allow */
	size_t			 open_peak;	/* since the last sweep */

	/* Accepted connections whose TLS handshake waits for its turn
	 * (conn.c's; relay_free frees the event). */
	struct conn_list	 hs_wait;
	struct event		*hs_turn;

	/* What the limits did since the last summary line. */
	struct relay_stats {
		uint64_t	refused_per_addr;
		uint64_t	refused_rate;
		uint64_t	refused_global;
		uint64_t	handshake_timeout;
		uint64_t	auth_timeout;
		uint64_t	frame_timeout;
		uint64_t	preauth;	/* too much before auth */
		uint64_t	held_back;	/* log lines not written */
	}			 stats;
	double			 log_tokens, log_stamp;

	struct client_list	 clients;
	size_t			 nclients;
	struct fedin_list	 fedins;
	size_t			 nfedins;

	/* Authenticated client sessions, hashed by device id. */
	struct client_list	 bydev[RELAY_DEV_BUCKETS];

	struct fedout		**fedouts;	/* one per cfg->peers[i] */

	/* Mailboxes and peers written in the open batch, to poke once it
	 * has committed. */
	uint32_t		*touched;
	size_t			 ntouched, touched_cap;
	char			*peer_touched;	/* per cfg->peers[i] */
	int			 touch_wait;	/* commit callback registered */

	struct sp_buf		*scratch;	/* encoder output, reused */
};

/* Largest frame a device may send before it has authenticated: the
 * enrol and auth messages need a few hundred bytes. */
#define RELAY_PREAUTH_FRAME	4096

/* Messages a device may send before it has authenticated. */
#define RELAY_PREAUTH_MSGS	16

/* Frames one connection may have handled per event-loop turn before
 * the others get theirs. */
#define RELAY_TURN_FRAMES	64

/* TLS handshakes started per event-loop turn: a burst of new
 * connections is worked off in slices, between which the sessions
 * already there get their turn. */
#define RELAY_TURN_HANDSHAKES	8

/* Output above which a connection stops being read (and pushed to);
 * it resumes below half of it. */
#define RELAY_OUT_HIGH		(1024 * 1024)
#define RELAY_OUT_LOW		(RELAY_OUT_HIGH / 2)

/* Unix time now, and with sub-second precision. */
uint64_t	relay_now(void);
double		relay_now_real(void);

/* Seconds on a clock that never jumps (for rates and deadlines). */
double		relay_mono(void);

/*
 * seconds, less a random part of up to an eighth: deadlines of
 * connections made in one burst then do not all pass in one turn.
 */
double		relay_jitter(unsigned seconds);

/*
 * True when one more line about a single connection may be logged now.
 * A flood of hostile connections would otherwise become a flood of log
 * lines; those held back are counted in the periodic summary line.
 */
int		relay_log_ok(struct relay *r);

/*
 * After the open batch commits, push new mail to the sessions of device
 * dev.  Call right after a successful store_mailbox_put.
 */
void		relay_touch_dev(struct relay *r, uint32_t dev);

/*
 * The per-address slot that relay.c took for the connection being
 * accepted: conn_accept takes it over (r->admitted becomes NULL) and
 * hands it back with relay_addr_release when the connection is freed.
 * NULL when nothing is being accepted.
 */
struct relay_addr *relay_addr_take(struct relay *r);
void		relay_addr_release(struct relay *r, struct relay_addr *a);

/* After the open batch commits, have fo drain its queue. */
void		relay_touch_peer(struct relay *r, struct fedout *fo);

/*
 * Answer a lookup of addr, an address of our own domain, on c from the
 * key directory: "keys" with its devices, or an error (no_such_user,
 * try_later).
 */
struct conn;
void		relay_answer_keys(struct relay *r, struct conn *c,
		    uint32_t rid, const char *addr);

/* The connector of peer domain, or NULL if it is not a peer. */
struct fedout	*relay_fedout(struct relay *r, const char *domain);

#endif /* SEALPOST_RELAY_INT_H */
