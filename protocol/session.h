/*
 * session.h - the device side of a client session, as a state machine
 * over bytes.
 *
 * No sockets and no clock inside: the caller moves bytes between the
 * TLS connection and sp_session_input / sp_session_output, and reads
 * what happened with sp_session_event.  Tests and fuzzers drive it with
 * plain buffers; the command-line client and the benchmark drive it
 * with TLS connections.
 *
 * States:  WAIT_CHALLENGE --challenge--> AUTHENTICATING --ok/enrolled-->
 *          READY; any fatal error or peer error with a fatal code -> FAILED.
 * Requests (send, fetch, ack, lookup, ping) may be queued in any state
 * before FAILED; their frames are released to the output only in READY,
 * in the order they were made.
 */
#ifndef SP_SESSION_H
#define SP_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "wire.h"

enum sp_session_state {
	SP_SESSION_WAIT_CHALLENGE,
	SP_SESSION_AUTHENTICATING,
	SP_SESSION_READY,
	SP_SESSION_FAILED,
};

/* A device's complete identity, secret keys included. */
struct sp_identity {
	char		addr[SP_ADDR_MAX + 1];
	uint32_t	dev;		/* 0 until enrolled */
	uint8_t		spk[SP_SIGN_PK_LEN];
	uint8_t		ssk[SP_SIGN_SK_LEN];
	uint8_t		bpk[SP_BOX_PK_LEN];
	uint8_t		bsk[SP_BOX_SK_LEN];
};

enum sp_event_type {
	SP_EV_NONE = 0,
	SP_EV_READY,		/* authenticated; dev set (new one if enrolled) */
	SP_EV_ACCEPTED,		/* rid, id: a send is durable at the relay */
	SP_EV_DELIVER,		/* seq, env, env_len: ack with the seq */
	SP_EV_FETCHED,		/* rid, n: everything queued was pushed */
	SP_EV_KEYS,		/* rid, addr, ndevs, devs */
	SP_EV_OK,		/* rid: ack or ping answered */
	SP_EV_ERROR,		/* rid, err, text: a request was refused */
	SP_EV_FAILED,		/* session is dead: err, text say why */
};

/* An event; every pointer is valid until the next call on the session. */
struct sp_event {
	enum sp_event_type type;
	uint32_t	 rid;
	uint32_t	 dev;
	uint8_t		 id[SP_ID_LEN];
	uint64_t	 seq;
	const uint8_t	*env;
	size_t		 env_len;
	uint32_t	 n;
	const char	*addr;
	size_t		 ndevs;
	const struct sp_device_keys *devs;
	uint32_t	 err;		/* enum sp_wire_error, 0 if local */
	const char	*text;
};

struct sp_session;

/*
 * New session for id.  With enrol_code not NULL the session enrols the
 * device (id->dev is ignored, the new one comes with SP_EV_READY);
 * otherwise it authenticates as id->addr / id->dev.  relay_domain, when
 * not NULL, must match the domain in the relay's challenge.  The identity
 * is copied.  Returns NULL when out of memory.
 */
struct sp_session *sp_session_new(const struct sp_identity *id,
    const char *enrol_code, const char *relay_domain);

/* Wipe the copied secret keys and free everything. */
void sp_session_free(struct sp_session *s);

enum sp_session_state sp_session_state(const struct sp_session *s);

/*
 * Feed len bytes received from the relay.  Returns SP_OK, or a negative
 * sp_status when the stream is broken (the session is then FAILED and an
 * SP_EV_FAILED event is queued).
 */
int sp_session_input(struct sp_session *s, const uint8_t *data, size_t len);

/*
 * Bytes waiting to be sent: *data and *len describe them; after writing
 * some, call sp_session_consume with the count written.
 */
void sp_session_output(struct sp_session *s, const uint8_t **data,
    size_t *len);
void sp_session_consume(struct sp_session *s, size_t n);

/* Next event into ev; returns 1 if there was one, 0 if none. */
int sp_session_event(struct sp_session *s, struct sp_event *ev);

/*
 * Requests.  Each returns the request id (> 0) that the answering event
 * carries, or a negative sp_status (SP_E_STATE once FAILED, SP_E_VALUE
 * for a bad argument, SP_E_NOMEM).
 */
int64_t sp_session_send(struct sp_session *s, const uint8_t *env,
    size_t env_len);
int64_t sp_session_fetch(struct sp_session *s);
int64_t sp_session_ack(struct sp_session *s, uint64_t seq);
int64_t sp_session_lookup(struct sp_session *s, const char *addr);
int64_t sp_session_ping(struct sp_session *s);

/* The relay's domain from its challenge, "" before it came. */
const char *sp_session_relay_domain(const struct sp_session *s);

#endif /* SP_SESSION_H */
