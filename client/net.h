/*
 * net.h - one TLS 1.3 connection from the client to its relay.
 *
 * The connection verifies the relay's certificate against one CA file
 * and the organisation's domain (SAN DNS), sends that domain as SNI and
 * insists on the client ALPN.  The socket is non-blocking underneath;
 * every call waits with poll(2) for at most its timeout, so the caller
 * keeps control of time.  These functions never print: they fill the
 * caller's err buffer.
 */
#ifndef SEALPOST_NET_H
#define SEALPOST_NET_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

struct net;

/*
 * Connect to host:port and complete the TLS handshake within timeout_ms.
 * domain is the name the relay's certificate must carry.  Returns 0 and
 * sets *out; -1 with a reason in err when the relay cannot be reached or
 * the handshake fails; -2 with a reason in err for a local problem
 * before any connection (ca holds no certificate, out of memory).
 */
int net_connect(struct net **out, const char *host, uint16_t port,
    const char *ca, const char *domain, int timeout_ms, char *err,
    size_t errlen);

/*
 * Write all len bytes within timeout_ms.  Returns 0, or -1 with a
 * reason in err (timeout, reset, TLS error).
 */
int net_write(struct net *n, const uint8_t *p, size_t len, int timeout_ms,
    char *err, size_t errlen);

/*
 * Read what is available, waiting up to timeout_ms for the first byte.
 * Returns the count (> 0), 0 when nothing came in time, or -1 with a
 * reason in err (the relay closed the connection, reset, TLS error).
 */
ssize_t net_read(struct net *n, uint8_t *p, size_t cap, int timeout_ms,
    char *err, size_t errlen);

/* Send close_notify if possible, close and free. NULL is allowed. */
void net_close(struct net *n);

/* Milliseconds on a monotonic clock, for deadlines. */
int64_t net_now_ms(void);

#endif /* SEALPOST_NET_H */
