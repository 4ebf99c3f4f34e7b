/*
 * fedin.h - a peer relay's session on the federation listener.
 *
 * The peer is known from its certificate (checked during the handshake,
 * see tls.h).  It hands over envelopes with `relay` and asks for keys
 * with `lookup`; nothing else is accepted.
 */
#ifndef SEALPOST_FEDIN_H
#define SEALPOST_FEDIN_H

#include <event2/util.h>

struct relay;
struct fedin;

/* Start a session on accepted socket fd from name.  Returns 0, or -1
 * (fd closed, logged) when out of memory. */
int	fedin_accept(struct relay *r, evutil_socket_t fd, const char *name);

/* End the session at once (relay shutdown). */
void	fedin_free(struct fedin *fi);

#endif /* SEALPOST_FEDIN_H */
