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
struct fedin;
struct fedout;
struct tls_trust;

TAILQ_HEAD(client_list, client);
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

/* Seconds a TLS handshake may take on an accepted connection. */
#define RELAY_HANDSHAKE_TIMEOUT	10

/* Output above which a connection stops being read (and pushed to);
 * it resumes below half of it. */
#define RELAY_OUT_HIGH		(1024 * 1024)
#define RELAY_OUT_LOW		(RELAY_OUT_HIGH / 2)

/* Unix time now, and with sub-second precision. */
uint64_t	relay_now(void);
double		relay_now_real(void);

/*
 * After the open batch commits, push new mail to the sessions of device
 * dev.  Call right after a successful store_mailbox_put.
 */
void		relay_touch_dev(struct relay *r, uint32_t dev);

/* After the open batch commits, have fo drain its queue. */
void		relay_touch_peer(struct relay *r, struct fedout *fo);

/* The connector of peer domain, or NULL if it is not a peer. */
struct fedout	*relay_fedout(struct relay *r, const char *domain);

#endif /* SEALPOST_RELAY_INT_H */
