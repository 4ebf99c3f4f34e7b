/*
 * envelope.h - the envelope a relay stores and forwards, and its seal.
 *
 * The envelope is a msgpack map, canonically encoded in this key order:
 *   v    uint   protocol version, 0
 *   id   bin16  random id chosen by the sender
 *   to   str    recipient's canonical address
 *   dev  uint   recipient's device id at its home relay (32-bit)
 *   org  str    canonical domain of the organisation it comes from
 *   ts   uint   creation time, Unix seconds
 *   exp  uint   expiry time, Unix seconds; SP_LIFETIME_MIN <= exp - ts <=
 *               SP_LIFETIME_MAX
 *   box  bin    the seal: bucket + SP_SEAL_OVERHEAD bytes, where bucket is
 *               one of sp_buckets
 * That is everything a relay sees.
 *
 * The seal.  The sender builds the inner map, canonically encoded:
 *   from str    sender's canonical address
 *   fdev uint   sender's device id
 *   spk  bin32  sender device's Ed25519 public key
 *   type str    content type, 1..SP_CTYPE_MAX printable ASCII
 *   name str    file name or "", at most SP_NAME_MAX bytes, no '/' or
 *               control characters
 *   body bin    the content
 *   sig  bin64  Ed25519 signature (below)
 * pads it with sodium_pad (0x80 then zeros) to the smallest bucket that
 * holds it plus one byte, and seals the result to the recipient device's
 * X25519 key exactly as crypto_box_seal does: an ephemeral X25519 key
 * pair (epk, esk), nonce = BLAKE2b-192(epk || recipient_pk),
 * box = epk || crypto_box_easy(padded, nonce, recipient_pk, esk).
 *
 * The signature covers the header as well, so a relay cannot move a
 * seal into another envelope:
 *   sig = Ed25519(sender_sk, BLAKE2b-512(transcript)), transcript =
 *   "sealpost-seal-v0" || id || u8 len || to || be32 dev || u8 len || org
 *   || be64 ts || be64 exp || u8 len || from || be32 fdev || spk
 *   || u8 len || type || be16 len || name || be32 len || body
 */
#ifndef SP_ENVELOPE_H
#define SP_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "wire.h"

/* What a relay sees of an envelope. */
struct sp_envelope {
	uint8_t		 id[SP_ID_LEN];
	char		 to[SP_ADDR_MAX + 1];
	uint32_t	 dev;
	char		 org[SP_DOMAIN_MAX + 1];
	uint64_t	 ts;
	uint64_t	 exp;
	const uint8_t	*box;		/* points into the decoded bytes */
	size_t		 box_len;
};

/* What the recipient's device finds inside the seal. */
struct sp_content {
	char		 from[SP_ADDR_MAX + 1];
	uint32_t	 fdev;
	uint8_t		 spk[SP_SIGN_PK_LEN];
	char		 type[SP_CTYPE_MAX + 1];
	char		 name[SP_NAME_MAX + 1];
	const uint8_t	*body;		/* points into caller's plaintext */
	size_t		 body_len;
};

/* The sending device's own identity, for sealing. */
struct sp_sender {
	char		 addr[SP_ADDR_MAX + 1];
	uint32_t	 dev;
	uint8_t		 spk[SP_SIGN_PK_LEN];
	uint8_t		 ssk[SP_SIGN_SK_LEN];
};

/* Smallest bucket that holds n plaintext bytes plus the padding marker,
 * or 0 when n is too large. */
size_t sp_bucket_for(size_t n);

/*
 * Decode and check an envelope: every key present with its type,
 * canonical to and org, v == 0, lifetime within bounds, box length equal
 * to a bucket plus SP_SEAL_OVERHEAD.  It does not compare times with the
 * clock; see sp_env_check_time.  env->box points into buf.
 * Returns SP_OK or a negative sp_status.
 */
int sp_env_decode(struct sp_envelope *env, const uint8_t *buf, size_t len);

/* Append the canonical encoding of env to out. */
int sp_env_encode(const struct sp_envelope *env, struct sp_buf *out);

/*
 * Compare the envelope's times with now: SP_OK, or SP_E_VALUE when it
 * was created more than SP_CLOCK_SKEW in the future or has expired.
 */
int sp_env_check_time(const struct sp_envelope *env, uint64_t now);

/*
 * Seal content c from sender s into a complete encoded envelope.
 * The caller fills env's id, to, dev, org, ts and exp (box is set
 * here); rbpk is the recipient device's X25519 public key.  The encoded
 * envelope is appended to out.  c->from, c->fdev and c->spk are taken
 * from s.  Returns SP_OK, SP_E_TOO_LARGE, SP_E_VALUE or SP_E_NOMEM.
 */
int sp_env_seal(struct sp_envelope *env, const struct sp_content *c,
    const struct sp_sender *s, const uint8_t rbpk[SP_BOX_PK_LEN],
    struct sp_buf *out) __attribute__((warn_unused_result));

/* As sp_env_seal with a chosen ephemeral secret key: for test vectors
 * only, since reusing esk breaks the seal's secrecy. */
int sp_env_seal_with_ephemeral(struct sp_envelope *env,
    const struct sp_content *c, const struct sp_sender *s,
    const uint8_t rbpk[SP_BOX_PK_LEN], const uint8_t esk[SP_BOX_SK_LEN],
    struct sp_buf *out) __attribute__((warn_unused_result));

/*
 * Open the seal of a decoded envelope with the recipient device's keys,
 * verify the sender's signature over the transcript and fill c.  The
 * plaintext is written to plain (caller-owned, cleared with sp_buf_free);
 * c->body points into it.  Returns SP_OK, SP_E_CRYPTO (did not open or
 * signature bad), or a decoding error for the inner map.
 * Checking that c->spk really belongs to c->from is the caller's job
 * (key directory).
 */
int sp_env_open(const struct sp_envelope *env,
    const uint8_t rbpk[SP_BOX_PK_LEN], const uint8_t rbsk[SP_BOX_SK_LEN],
    struct sp_content *c, struct sp_buf *plain)
    __attribute__((warn_unused_result));

#endif /* SP_ENVELOPE_H */
