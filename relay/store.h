/*
 * store.h - the relay's durable state in one LMDB environment.
 *
 * Named databases:
 *   meta      counters: next sequence number, next device id
 *   users     canonical address -> user record
 *   devices   address NUL be32 dev -> device record (keys, time)
 *   codes     BLAKE2b-256 of an enrolment code -> address, expiry
 *   mailbox   be32 dev || be64 seq -> envelope bytes
 *   outbound  peer domain NUL be64 seq -> envelope bytes
 *   seen      envelope id -> be64 expiry (the duplicate index)
 *   expiry    be64 exp || id -> where the envelope waits (the sweep list)
 * Queue keys end with a sequence number that only grows (one counter
 * for all queues, first value 1), so puts and deletes within a queue walk
 * the B-tree in order; the random id lives only in "seen".  Counters are
 * read and written inside the batch, so another process (the operator's
 * "user add") may use the same environment while the relay runs.
 *
 * Writes gather in one batch: the first write opens a write transaction
 * and calls the wakeup hook, and everything written until store_commit()
 * shares that transaction and its fsync.  Nothing written is visible to
 * readers, and nothing may be acknowledged, before the commit callbacks
 * report success.  Reads use their own read-only transactions and see
 * only committed state.
 *
 * Every function returns one of enum store_status.  An envelope put
 * that finds the map full refuses only that envelope (STORE_FULL) and
 * leaves the batch open.  Any other write that fails
 * aborts the whole batch: its callbacks run with the failure before that
 * write returns (so a caller may see its own callback run from inside
 * its put), and the callers answer "try later"; the next write opens a
 * fresh batch.  DUP, NOTFOUND, EXISTS and LIMIT leave the batch open and
 * untouched.  A bad argument (an empty or over-long address or peer)
 * returns STORE_ERR without touching the batch.  The store never logs;
 * it fills the error text that store_strerror returns, which never holds
 * envelope bytes or enrolment codes.
 */
#ifndef SEALPOST_STORE_H
#define SEALPOST_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "../protocol/wire.h"

enum store_status {
	STORE_OK	= 0,
	STORE_DUP	= 1,	/* envelope id already taken: nothing written */
	STORE_NOTFOUND	= 2,
	STORE_EXISTS	= 3,	/* user already exists */
	STORE_LIMIT	= 4,	/* user has SP_DEVICES_MAX devices already */
	STORE_ERR	= -1,	/* I/O or LMDB error; see store_strerror */
	STORE_FULL	= -2,	/* map or disk full: temporary */
};

struct store;

struct store_device {
	uint32_t	dev;
	uint8_t		spk[SP_SIGN_PK_LEN];
	uint8_t		bpk[SP_BOX_PK_LEN];
	uint64_t	created;
};

/* Called with the batch's result: STORE_OK or a negative status. */
typedef void store_done_cb(int status, void *arg);

/* Called for each queued envelope by the scan functions; the bytes are
 * valid only during the call.  Return 0 to go on, 1 to stop. */
typedef int store_item_cb(void *arg, uint64_t seq, const uint8_t *env,
    size_t len);

/*
 * Open (creating if needed) the environment in directory dir, which
 * must exist, with a map of map_size bytes.  Returns STORE_OK and sets
 * *out, or STORE_ERR with a reason in err.  Open a directory at most
 * once per process (LMDB's locks are per process); other processes may
 * open it at the same time.
 */
int store_open(struct store **out, const char *dir, size_t map_size,
    char *err, size_t errlen);

/* Abort any open batch (its callbacks, and registrations waiting for
 * the next batch, get STORE_ERR) and close.  Those callbacks can no
 * longer write or register.  Never call it from a store callback. */
void store_close(struct store *st);

/* Text of the last error on st. Never NULL. */
const char *store_strerror(const struct store *st);

/* Hook called once each time a batch opens, so the owner can arrange
 * a store_commit() at the end of the current event-loop turn. */
void store_set_wakeup(struct store *st, void (*fn)(void *), void *arg);

/*
 * Run cb(status, arg) once the current batch commits or fails.  owner
 * groups registrations so store_forget can drop them.  Without an open
 * batch, cb runs at the next store_commit (with STORE_OK if nothing
 * was written by then).  Callbacks run from store_commit, store_close
 * or a failing write, in registration order, and may write, register
 * (for the next batch) and call store_forget.  Returns STORE_OK or
 * STORE_ERR (out of memory, or the store is closing).
 */
int store_on_commit(struct store *st, void *owner, store_done_cb *cb,
    void *arg);

/* Drop every registration of owner (it is going away); safe to call
 * from inside a callback, including one of the same batch. */
void store_forget(struct store *st, void *owner);

/* Commit (and fsync) the open batch, if any, then run its callbacks.
 * Returns the status the callbacks got (STORE_OK when there was
 * nothing to do), STORE_FULL when the map or disk is full. */
int store_commit(struct store *st);

/* True while a batch is open. */
int store_batch_open(const struct store *st);

/* Called for each user by store_users_scan with its address (valid
 * only during the call) and its number of devices.  Return 0 to go on,
 * 1 to stop. */
typedef int store_user_cb(void *arg, const char *addr, size_t ndevs);

/* --- users, devices, enrolment codes (batched writes) --- */

/* Add a user: OK or EXISTS.  The creation time it records is the
 * wall clock (time(NULL)), not a caller's "now" as elsewhere here. */
int store_user_add(struct store *st, const char *addr);
int store_user_exists(struct store *st, const char *addr); /* OK, NOTFOUND */

/*
 * Call cb for each committed user, in address order (byte order of the
 * canonical address), until it returns non-zero.  Returns OK (also
 * when cb stopped the walk) or ERR.  The walk holds one read
 * transaction throughout, which keeps the pages it sees from being
 * reused, so callbacks should be quick.
 */
int store_users_scan(struct store *st, store_user_cb *cb, void *arg);

/*
 * Issue a one-time enrolment code for an existing user (committed or
 * added in this batch), valid while now < expires (Unix seconds).  The
 * code, 100 random bits as "XXXXX-XXXXX-XXXXX-XXXXX" in Crockford's
 * base32, NUL-terminated, is written to code; only its hash is stored.
 * Redeeming ignores case, dashes and spaces and reads O as 0, I and L
 * as 1.  Returns OK, NOTFOUND (no such user; code is "") or an error.
 */
int store_code_issue(struct store *st, const char *addr, uint64_t expires,
    char code[SP_CODE_MAX + 1]);

/*
 * Spend a code: when it exists, names addr and has not expired at now,
 * it is deleted and the device added, all in the current batch.  *dev
 * gets the new device id (ids are unique across users, first 1).  An
 * expired code is deleted too; another user's code is left alone.
 * Returns OK, NOTFOUND (no, used, expired or another user's code),
 * LIMIT (addr has SP_DEVICES_MAX devices, counting those added in this
 * batch, which is all a "keys" answer can list; the code is not spent)
 * or an error.
 */
int store_code_redeem(struct store *st, const char *addr, const char *code,
    uint64_t now, const uint8_t spk[SP_SIGN_PK_LEN],
    const uint8_t bpk[SP_BOX_PK_LEN], uint32_t *dev);

/* Committed device record of addr's device dev: OK or NOTFOUND. */
int store_device_get(struct store *st, const char *addr, uint32_t dev,
    struct store_device *out);

/* Up to max devices of addr into out, *n set: OK (n may be 0). */
int store_devices_list(struct store *st, const char *addr,
    struct store_device *out, size_t max, size_t *n);

/* Remove a device and its mailbox (operator action): OK or NOTFOUND.
 * The envelopes' ids stay in the duplicate index until they expire. */
int store_device_remove(struct store *st, const char *addr, uint32_t dev);

/*
 * Remove a user with every device, mailbox and unspent enrolment code
 * (operator action), in the current batch: OK or NOTFOUND.  Envelope
 * ids stay in the duplicate index until they expire.
 */
int store_user_remove(struct store *st, const char *addr);

/* --- envelopes (batched writes) --- */

/*
 * Put an envelope into device dev's mailbox, or into peer's outbound
 * queue.  When id was taken before (committed or in this batch) nothing
 * is written and STORE_DUP returned; the batch stays open, so a reply
 * that waits for its commit also covers an earlier put of the same id in
 * this batch.  *seq gets the queue position (0 unless OK).
 */
int store_mailbox_put(struct store *st, uint32_t dev,
    const uint8_t id[SP_ID_LEN], uint64_t exp, const uint8_t *env,
    size_t len, uint64_t *seq);
int store_outbound_put(struct store *st, const char *peer,
    const uint8_t id[SP_ID_LEN], uint64_t exp, const uint8_t *env,
    size_t len, uint64_t *seq);

/* Delete after delivery (device ack, or peer's accepted). OK or
 * NOTFOUND; the id stays in the duplicate index until it expires. */
int store_mailbox_del(struct store *st, uint32_t dev, uint64_t seq);
int store_outbound_del(struct store *st, const char *peer, uint64_t seq);

/* Committed entries with seq > after, oldest first, at most max. */
int store_mailbox_scan(struct store *st, uint32_t dev, uint64_t after,
    size_t max, store_item_cb *cb, void *arg);
int store_outbound_scan(struct store *st, const char *peer, uint64_t after,
    size_t max, store_item_cb *cb, void *arg);

/* Number of committed entries waiting for peer / in dev's mailbox.
 * Walks the queue: O(n) in its length. */
int store_outbound_count(struct store *st, const char *peer, size_t *n);
int store_mailbox_count(struct store *st, uint32_t dev, size_t *n);

/*
 * Sweep up to max entries with exp <= now: undelivered envelopes are
 * deleted from their queue and counted in *dropped, expired ids leave
 * the duplicate index.  What is left of max then goes to a walk over
 * the enrolment codes, each code looked at counting one, that deletes
 * the expired ones (a code nobody tries would otherwise stay for
 * ever); the walk goes on where it stopped at the next call, and
 * starts over once it reached the end.  Batched.  *more is set when
 * the sweep stopped at max with expired envelopes or unvisited codes
 * left.
 */
int store_expire(struct store *st, uint64_t now, size_t max,
    size_t *dropped, int *more);

#endif /* SEALPOST_STORE_H */
