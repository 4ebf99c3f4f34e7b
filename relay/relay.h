/*
 * relay.h - the running relay: listeners, sessions, federation.
 *
 * main.c reads the config, opens the store and hands both to
 * relay_new(); everything network-facing lives behind this interface.
 */
#ifndef SEALPOST_RELAY_H
#define SEALPOST_RELAY_H

#include <event2/event.h>

#include "config.h"
#include "store.h"

struct relay;

/*
 * Set up TLS contexts, bind both listeners and prepare one outbound
 * connector per peer (which start draining queued envelopes at once).
 * cfg and st must outlive the relay.  Returns NULL after logging why
 * (at start-up, so the caller may exit).
 */
struct relay *relay_new(struct event_base *base, const struct config *cfg,
    struct store *st);

/* Stop accepting, close every session, commit what is pending and
 * free everything.  The event loop may then exit. */
void relay_free(struct relay *r);

#endif /* SEALPOST_RELAY_H */
