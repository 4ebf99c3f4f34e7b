/*
 * conn.h - one framed TLS connection over a libevent bufferevent.
 *
 * A connection reads frames, decodes each into a struct sp_msg and hands
 * it to its owner (a client, fedin or fedout session); the owner answers
 * with conn_send.  A frame or message that cannot be decoded is answered
 * with an error and the connection closes once that is flushed.
 *
 * Closing is always deferred: conn_close marks the connection dead and
 * the owner's closed() callback runs from a fresh event-loop callback,
 * never from inside one of the owner's own calls.  The owner then frees
 * the connection with conn_free (and usually itself).
 *
 * Replies that must wait for the store's group commit are queued with
 * conn_after_commit; they go out, in order, when the batch commits, or
 * become "try later" errors when it fails.
 *
 * What a peer may cost is bounded here: the TLS handshake must finish
 * within a deadline however slowly its bytes trickle in, and so must
 * every frame once its first byte has come (client.handshake_timeout,
 * client.frame_timeout); a declared length over the connection's frame
 * limit is refused before anything is buffered; at most
 * RELAY_TURN_FRAMES frames are handled per event-loop turn, and an
 * optional token bucket bounds messages per second.  Frames held back
 * stay in the socket (reading stops), so a fast sender is slowed by
 * TCP, never dropped, and never starves the other connections.
 */
#ifndef SEALPOST_CONN_H
#define SEALPOST_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <event2/util.h>
#include <openssl/ssl.h>

#include "../protocol/msg.h"

struct relay;
struct conn;
struct tls_verdict;

/* What closed() says when a deadline of this module passed. */
#define CONN_WHY_HANDSHAKE	"handshake timeout"
#define CONN_WHY_FRAME		"frame timeout"

/* A reply held back until the batch it depends on has committed. */
struct conn_later {
	enum sp_msg_type type;		/* enrolled, ok or accepted */
	uint32_t	 rid;
	uint32_t	 dev;		/* enrolled */
	uint8_t		 id[SP_ID_LEN];	/* accepted */
};

struct conn_ops {
	/* The TLS handshake finished with the expected ALPN protocol. */
	void	(*ready)(void *owner);

	/* One decoded message; m and what it points to are valid during
	 * the call only. */
	void	(*msg)(void *owner, struct sp_msg *m);

	/*
	 * Optional: a held-back reply's batch finished with status
	 * (STORE_OK or negative).  Without it, the reply is sent on
	 * success and "try later" on failure.
	 */
	void	(*committed)(void *owner, const struct conn_later *l,
		    int status);

	/* Optional: the output fell below RELAY_OUT_LOW. */
	void	(*drained)(void *owner);

	/* The connection is dead; why says why in a few words.  The
	 * owner must conn_free it. */
	void	(*closed)(void *owner, const char *why);
};

/*
 * Wrap an accepted socket fd in a TLS server connection with ctx.  The
 * handshake must finish within client.handshake_timeout seconds (less
 * a little jitter) and select ALPN alpn; it starts once the first bytes
 * have come, at most RELAY_TURN_HANDSHAKES of them per event-loop
 * turn.  With v not NULL, the federation listener's verdict
 * on the client certificate lands there.  name (copied) labels log
 * lines, subsys is the logging subsystem (static).  The connection
 * takes over the per-address slot relay.c admitted it with
 * (relay_addr_take) and gives it back when freed.  Returns NULL (fd
 * closed, slot given back) when out of memory.
 */
struct conn	*conn_accept(struct relay *r, evutil_socket_t fd, SSL_CTX *ctx,
		    const char *alpn, struct tls_verdict *v,
		    const struct conn_ops *ops, void *owner,
		    const char *subsys, const char *name);

/*
 * Connect to host:port and run a TLS client handshake with ssl (which
 * the connection takes over, also on failure), both within timeout
 * seconds.  Returns NULL with a reason in err when it cannot even start;
 * later failures come through closed().
 */
struct conn	*conn_connect(struct relay *r, SSL *ssl, const char *host,
		    uint16_t port, unsigned timeout, const char *alpn,
		    const struct conn_ops *ops, void *owner,
		    const char *subsys, const char *name, char *err,
		    size_t errlen);

/* Read timeout once the handshake is done (0: none). */
void		conn_set_idle(struct conn *c, unsigned seconds);

/*
 * Largest frame body the peer may send from now on (at most
 * SP_FRAME_MAX, the default).  A longer declared length is refused as
 * soon as its header is read.
 */
void		conn_set_max_frame(struct conn *c, size_t max);

/*
 * Take at most rate messages per second from the peer, burst at once
 * (rate 0: no limit, the default).  Messages over it wait, unread, in
 * the socket.
 */
void		conn_set_rate(struct conn *c, unsigned rate, unsigned burst);

/*
 * Close the connection seconds from now, saying why (a static string),
 * unless called again first; seconds 0 cancels.  Returns 0, or -1 when
 * out of memory (nothing set).
 */
int		conn_set_deadline(struct conn *c, double seconds,
		    const char *why);

/* Encode m into the output.  Returns 0, or -1 (logged) when it cannot
 * be encoded. */
int		conn_send(struct conn *c, const struct sp_msg *m);

/* Send an error reply. Returns as conn_send. */
int		conn_send_error(struct conn *c, uint32_t rid,
		    enum sp_wire_error err, const char *text);

/*
 * Send l's reply once the open store batch commits (at once when no
 * batch is open, as everything written is then committed already).
 */
void		conn_after_commit(struct conn *c, const struct conn_later *l);

/* Stop reading and close once the output is flushed; why is what
 * closed() will say. */
void		conn_finish(struct conn *c, const char *why);

/* Close now; closed() follows from the event loop. */
void		conn_close(struct conn *c, const char *why);

/* Free the connection; pending replies are dropped.  NULL is fine. */
void		conn_free(struct conn *c);

/* True while the connection takes messages and replies. */
int		conn_alive(const struct conn *c);

/* Bytes waiting in the output. */
size_t		conn_outlen(const struct conn *c);

/* The label given at creation. */
const char	*conn_name(const struct conn *c);

/* The verdict given to conn_accept, NULL if none. */
struct tls_verdict *conn_verdict(const struct conn *c);

#endif /* SEALPOST_CONN_H */
