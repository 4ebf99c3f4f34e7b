/*
 * msg.h - every protocol message, with a strict encoder and decoder.
 *
 * On the wire each message is a msgpack map with short string keys.
 * "t" (string) names the type; the other keys depend on the type and are
 * all required.  The decoder refuses unknown or duplicate keys, wrong
 * types, values out of range and trailing bytes.  The encoder writes "t"
 * first and the other keys in the order listed below, so encodings are
 * canonical and test vectors are byte-exact.
 *
 *   type       keys after "t"                      direction
 *   challenge  nonce(bin32) domain(str)            relay -> device
 *   enrol      rid addr code spk(bin32) bpk(bin32) sig(bin64)
 *                                                  device -> relay
 *   enrolled   rid dev                             relay -> device
 *   auth       rid addr dev sig(bin64)             device -> relay
 *   ok         rid                                 relay -> any
 *   error      rid err(uint) msg(str)              relay -> any
 *   send       rid env(bin)                        device -> relay
 *   accepted   rid id(bin16)                       relay -> any
 *   fetch      rid                                 device -> relay
 *   deliver    seq env(bin)                        relay -> device
 *   fetched    rid n                               relay -> device
 *   ack        rid seq                             device -> relay
 *   lookup     rid addr                            device/relay -> relay
 *   keys       rid addr devs(array of map dev spk bpk)
 *                                                  relay -> any
 *   relay      rid env(bin)                        relay -> relay
 *   ping       rid                                 any -> relay
 *
 * rid, dev, err and n are unsigned 32-bit; seq is unsigned 64-bit;
 * addr is a canonical address and domain a canonical domain (address.h);
 * code holds 1..SP_CODE_MAX characters from 0x21..0x7e (no space);
 * msg holds at most SP_ERRMSG_MAX bytes of printable ASCII; env is at
 * most SP_FRAME_MAX bytes and is decoded separately (envelope.h).
 */
#ifndef SP_MSG_H
#define SP_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "wire.h"

enum sp_msg_type {
	SP_MSG_NONE = 0,
	SP_MSG_CHALLENGE,
	SP_MSG_ENROL,
	SP_MSG_ENROLLED,
	SP_MSG_AUTH,
	SP_MSG_OK,
	SP_MSG_ERROR,
	SP_MSG_SEND,
	SP_MSG_ACCEPTED,
	SP_MSG_FETCH,
	SP_MSG_DELIVER,
	SP_MSG_FETCHED,
	SP_MSG_ACK,
	SP_MSG_LOOKUP,
	SP_MSG_KEYS,
	SP_MSG_RELAY,
	SP_MSG_PING,
	SP_MSG_TYPE_COUNT
};

/* One device's public keys, as published in the key directory. */
struct sp_device_keys {
	uint32_t	dev;
	uint8_t		spk[SP_SIGN_PK_LEN];
	uint8_t		bpk[SP_BOX_PK_LEN];
};

/*
 * A decoded or to-be-encoded message.  Only the fields of its type are
 * meaningful; the decoder zeroes the others.
 */
struct sp_msg {
	enum sp_msg_type type;
	uint32_t	rid;			/* request id, echoed back */

	uint8_t		nonce[SP_NONCE_LEN];	/* challenge */
	char		domain[SP_DOMAIN_MAX + 1]; /* challenge */

	char		addr[SP_ADDR_MAX + 1];	/* enrol auth lookup keys */
	char		code[SP_CODE_MAX + 1];	/* enrol */
	uint8_t		spk[SP_SIGN_PK_LEN];	/* enrol */
	uint8_t		bpk[SP_BOX_PK_LEN];	/* enrol */
	uint8_t		sig[SP_SIG_LEN];	/* enrol auth */
	uint32_t	dev;			/* enrolled auth */

	uint32_t	err;			/* error: enum sp_wire_error */
	char		msg[SP_ERRMSG_MAX + 1];	/* error */

	/* send relay deliver: points into the buffer given to
	 * sp_msg_decode and is valid as long as that buffer is. */
	const uint8_t	*env;
	size_t		 env_len;

	uint8_t		id[SP_ID_LEN];		/* accepted */
	uint64_t	seq;			/* deliver ack */
	uint32_t	n;			/* fetched */

	size_t		ndevs;			/* keys */
	struct sp_device_keys devs[SP_DEVICES_MAX];
};

/*
 * Decode one frame body (without the length header) into m.
 * Returns SP_OK, or SP_E_MALFORMED, SP_E_LIMIT, SP_E_TYPE, SP_E_MISSING,
 * SP_E_UNKNOWN, SP_E_ADDRESS, SP_E_VALUE or SP_E_TOO_LARGE; on error m
 * is zeroed but for m->type and m->rid, which hold what was read of them
 * (so a relay can answer a refused request with its rid).
 */
int sp_msg_decode(struct sp_msg *m, const uint8_t *body, size_t len);

/*
 * Append one whole frame (length header and body) holding m to out.
 * Returns SP_OK, SP_E_NOMEM, SP_E_VALUE (a field the decoder would
 * refuse, such as a non-canonical address) or SP_E_TOO_LARGE.
 */
int sp_msg_encode(const struct sp_msg *m, struct sp_buf *out);

/* Wire name of a message type ("challenge", ...), "?" if none. */
const char *sp_msg_type_name(enum sp_msg_type type);

/* Fill m as an error reply: type, rid, err and a message text that is
 * truncated to SP_ERRMSG_MAX and stripped of non-printable bytes. */
void sp_msg_error(struct sp_msg *m, uint32_t rid, enum sp_wire_error err,
    const char *text);

#endif /* SP_MSG_H */
