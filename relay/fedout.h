/*
 * fedout.h - the outbound connector of one federation peer.
 *
 * States: IDLE (no connection) -> CONNECTING (TCP and TLS) -> READY
 * (streaming queued envelopes and forwarding lookups) -> back to IDLE
 * when the queue is drained and the connection idles out, or BACKOFF
 * (waiting to retry after a failure) -> CONNECTING.
 */
#ifndef SEALPOST_FEDOUT_H
#define SEALPOST_FEDOUT_H

#include <stdint.h>

#include "../protocol/msg.h"

struct relay;
struct config_peer;
struct fedout;

/*
 * Answer to a forwarded lookup: the peer's keys or error message, or
 * an error made up here (peer unreachable).  m is valid during the call.
 */
typedef void fedout_lookup_cb(void *owner, uint32_t rid,
    const struct sp_msg *m);

/* A connector for peer (which must outlive it).  NULL after logging. */
struct fedout	*fedout_new(struct relay *r, const struct config_peer *peer);

/* Close the connection, drop pending lookups, free. */
void		 fedout_free(struct fedout *fo);

/* The peer's outbound queue may have grown: connect or go on
 * draining. */
void		 fedout_kick(struct fedout *fo);

/*
 * Ask the peer for addr's keys on behalf of owner's request rid; cb
 * gets the answer exactly once, unless fedout_forget(owner) comes first.
 * Returns 0, or -1 when out of memory.
 */
int		 fedout_lookup(struct fedout *fo, void *owner, uint32_t rid,
		    const char *addr, fedout_lookup_cb *cb);

/* owner is going away: drop its pending lookups without answer. */
void		 fedout_forget(struct fedout *fo, void *owner);

#endif /* SEALPOST_FEDOUT_H */
