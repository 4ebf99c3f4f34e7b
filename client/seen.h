/*
 * seen.h - the envelope ids this device has already shown.
 *
 * Delivery is at least once: an envelope whose ack never reached the
 * relay's store comes again on the next fetch.  So that it is not shown
 * twice, recv keeps the id of every envelope it has shown in a small
 * file next to the identity file (IDENTITY.seen, mode 0600), one line
 * per id in the order they were shown:
 *
 *   32 hex digits, a space, the envelope's exp in decimal
 *
 * An id is kept until its envelope has expired, plus the clock skew
 * relays allow: relays drop an envelope once it expires, so it cannot
 * come again after that.  At most SEEN_MAX ids are kept; beyond
 * that the oldest go first, as the newest are the ones whose ack may
 * still be in flight.  Lines that do not parse are dropped.
 *
 * Appends are single writes, so two recv runs of one identity at once
 * do not garble the file; but a rewrite by one may drop the other's
 * newest ids, and then a repeat may be shown once more.
 */
#ifndef SEALPOST_SEEN_H
#define SEALPOST_SEEN_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define SEEN_MAX	4096

struct seen;

/*
 * Read the store that belongs to the identity file at identity_path,
 * dropping expired and malformed lines (the file is rewritten when any
 * went).  A missing file is an empty store.  now is the Unix time.
 * Returns 0 with *out set, or -1 with a reason in err (out of memory,
 * the file cannot be read or rewritten).
 */
int seen_open(struct seen **out, const char *identity_path, uint64_t now,
    char *err, size_t errlen);

/* 1 when id is in the store, else 0. */
int seen_has(const struct seen *s, const uint8_t id[SP_ID_LEN]);

/*
 * Remember id until exp: append it to the file and sync it, so that a
 * crash right after does not forget it.  Returns 0, or -1 with a reason
 * in err (the id is then remembered only until seen_close).
 */
int seen_add(struct seen *s, const uint8_t id[SP_ID_LEN], uint64_t exp,
    uint64_t now, char *err, size_t errlen);

/* Close the file and free s.  NULL is allowed. */
void seen_close(struct seen *s);

#endif /* SEALPOST_SEEN_H */
