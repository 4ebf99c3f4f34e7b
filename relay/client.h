/*
 * client.h - a device's session on the client listener.
 *
 * The relay opens with a challenge; the device enrols or authenticates,
 * then sends envelopes, fetches its mailbox (pushed to it while it stays
 * connected), acknowledges what it has stored and looks up keys.
 */
#ifndef SEALPOST_CLIENT_H
#define SEALPOST_CLIENT_H

#include <stdint.h>

#include <event2/util.h>

struct relay;
struct client;

/* Start a session on accepted socket fd from peer name.  Returns 0, or
 * -1 (fd closed, logged) when out of memory. */
int	client_accept(struct relay *r, evutil_socket_t fd, const char *name);

/* New mail for device dev was committed: push it to each of its
 * sessions that is fetching (the table is r->bydev). */
void	client_poke_dev(struct relay *r, uint32_t dev);

/* End the session at once (relay shutdown). */
void	client_free(struct client *cl);

#endif /* SEALPOST_CLIENT_H */
