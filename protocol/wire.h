/*
 * wire.h - constants of Sealpost protocol version 0 shared by every module.
 *
 * Everything here is part of the wire contract written down in
 * spec/README.md; changing a value changes the protocol.
 */
#ifndef SP_WIRE_H
#define SP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define SP_PROTOCOL_VERSION	0

/* ALPN identifiers: one per listener, so a client can never talk
 * federation and a relay can never be mistaken for a device. */
#define SP_ALPN_CLIENT		"sealpost-client/0"
#define SP_ALPN_FEDERATION	"sealpost-fed/0"

/* Default ports of the two listeners. */
#define SP_PORT_CLIENT		7400
#define SP_PORT_FEDERATION	7401

/*
 * Framing: a 4-byte big-endian length, then that many bytes holding
 * exactly one msgpack value (a map).  A length of 0 or above
 * SP_FRAME_MAX is a protocol error that closes the connection.
 */
#define SP_FRAME_HEADER		4
#define SP_FRAME_MAX		(1024 * 1024)

/* Bounds every decoder enforces before msgpack-c sees the bytes. */
#define SP_MSGPACK_MAX_DEPTH	4	/* nested maps/arrays */
#define SP_MSGPACK_MAX_MAP	16	/* entries in one map */
#define SP_MSGPACK_MAX_ARRAY	32	/* elements in one array */

/* Addresses (see address.h). */
#define SP_LOCAL_MAX		64
#define SP_DOMAIN_MAX		253
/* A whole address, as for mail: short enough for one length byte. */
#define SP_ADDR_MAX		254

/* Key sizes (libsodium's, restated so the protocol does not move if a
 * library constant ever did). */
#define SP_ID_LEN		16	/* envelope id */
#define SP_NONCE_LEN		32	/* authentication challenge */
#define SP_SIGN_PK_LEN		32	/* Ed25519 public key */
#define SP_SIGN_SK_LEN		64	/* Ed25519 secret key (libsodium) */
#define SP_SIG_LEN		64	/* Ed25519 signature */
#define SP_BOX_PK_LEN		32	/* X25519 public key */
#define SP_BOX_SK_LEN		32	/* X25519 secret key */
#define SP_SEAL_OVERHEAD	48	/* ephemeral key + Poly1305 tag */

/* Longest text fields on the wire. */
#define SP_ERRMSG_MAX		200	/* error message text */
#define SP_CODE_MAX		64	/* enrolment code */
#define SP_CTYPE_MAX		64	/* content type inside a seal */
#define SP_NAME_MAX		255	/* file name inside a seal */
#define SP_DEVICES_MAX		SP_MSGPACK_MAX_ARRAY /* devices per user */

/*
 * Padding buckets: the sealed plaintext is padded up to the smallest
 * bucket that holds it, so a relay learns only the bucket.
 */
#define SP_BUCKET_COUNT		7
extern const uint32_t sp_buckets[SP_BUCKET_COUNT];
#define SP_PLAINTEXT_MAX	(512 * 1024)	/* largest bucket */

/* Envelope lifetime: at least a minute, at most 30 days. */
#define SP_LIFETIME_MIN		60
#define SP_LIFETIME_MAX		(30 * 24 * 3600)
#define SP_LIFETIME_DEFAULT	(7 * 24 * 3600)
/* Clock skew a relay tolerates on an envelope's creation time. */
#define SP_CLOCK_SKEW		300

/*
 * Error codes carried in the "code" field of an error message.
 * Fatal ones (marked) are followed by the relay closing the connection.
 */
enum sp_wire_error {
	SP_WERR_BAD_FRAME	= 1,	/* fatal: bad length or msgpack */
	SP_WERR_BAD_MESSAGE	= 2,	/* fatal: unknown type, bad field */
	SP_WERR_AUTH_FAILED	= 3,	/* fatal: signature or device wrong */
	SP_WERR_BAD_ADDRESS	= 4,	/* address not in canonical form */
	SP_WERR_NO_SUCH_USER	= 5,	/* recipient or device unknown */
	SP_WERR_BAD_CODE	= 6,	/* enrolment code wrong or used */
	SP_WERR_BAD_ENVELOPE	= 7,	/* header invalid or padding wrong */
	SP_WERR_NOT_ALLOWED	= 8,	/* origin, domain or peer refused */
	SP_WERR_TRY_LATER	= 9,	/* store full or busy; retry */
	SP_WERR_TOO_LARGE	= 10,	/* envelope larger than allowed */
	SP_WERR_PEER_UNREACHABLE = 11,	/* lookup: peer relay not reached */
	SP_WERR_EXPIRED		= 12,	/* envelope already expired */
	SP_WERR_STATE		= 13,	/* message not allowed now */
	SP_WERR_INTERNAL	= 14,	/* relay bug; logged there */
};

/* Name of a wire error code, "unknown" for others. Never NULL. */
const char *sp_wire_error_name(unsigned code);

/*
 * Status codes returned by libsealpost functions: 0 on success, one of
 * these (negative) otherwise.
 */
enum sp_status {
	SP_OK		= 0,
	SP_E_TOO_LARGE	= -1,	/* over a size bound */
	SP_E_MALFORMED	= -2,	/* not one valid msgpack value, or trailing */
	SP_E_TYPE	= -3,	/* a field has the wrong msgpack type */
	SP_E_MISSING	= -4,	/* a required field is absent */
	SP_E_UNKNOWN	= -5,	/* unknown message type or key, duplicate key */
	SP_E_LIMIT	= -6,	/* depth or element count over its bound */
	SP_E_ADDRESS	= -7,	/* address not acceptable */
	SP_E_CRYPTO	= -8,	/* seal did not open or signature bad */
	SP_E_NOMEM	= -9,
	SP_E_VALUE	= -10,	/* a value out of its allowed range */
	SP_E_STATE	= -11,	/* call not allowed in the session's state */
};

/* Short description of an sp_status value. Never NULL. */
const char *sp_strerror(int status);

#endif /* SP_WIRE_H */
