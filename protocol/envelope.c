/*
 * envelope.c - envelope codec, sealing and opening.
 *
 * The header is plain msgpack for relays; the content is signed by the
 * sender over a transcript that binds the header, padded to a bucket and
 * sealed to the recipient device as crypto_box_seal does.  The seal is
 * built here step by step rather than with crypto_box_seal itself, so
 * that test vectors can fix the ephemeral key and the box can be written
 * straight into the output buffer.
 */
#include <stdint.h>
#include <string.h>

#include <msgpack.h>
#include <sodium.h>

#include "address.h"
#include "buf.h"
#include "envelope.h"
#include "frame.h"
#include "wire.h"

#define SEAL_DOMAIN		"sealpost-seal-v0"
#define SEAL_NONCE_LEN		crypto_box_NONCEBYTES
#define HASH_LEN		crypto_generichash_BYTES_MAX

_Static_assert(SP_SEAL_OVERHEAD == crypto_box_SEALBYTES,
    "seal overhead must be crypto_box_seal's");
_Static_assert(SP_BOX_PK_LEN == crypto_box_PUBLICKEYBYTES, "box pk size");
_Static_assert(SP_BOX_SK_LEN == crypto_box_SECRETKEYBYTES, "box sk size");
_Static_assert(SP_SIGN_PK_LEN == crypto_sign_PUBLICKEYBYTES, "sign pk");
_Static_assert(SP_SIGN_SK_LEN == crypto_sign_SECRETKEYBYTES, "sign sk");
_Static_assert(SP_SIG_LEN == crypto_sign_BYTES, "signature size");
_Static_assert(HASH_LEN == 64, "transcript hash is BLAKE2b-512");

/* Keys of the two maps, in canonical order. */
enum { H_V, H_ID, H_TO, H_DEV, H_ORG, H_TS, H_EXP, H_BOX, H_COUNT };
static const char *const header_keys[H_COUNT] = {
	"v", "id", "to", "dev", "org", "ts", "exp", "box"
};

enum { C_FROM, C_FDEV, C_SPK, C_TYPE, C_NAME, C_BODY, C_SIG, C_COUNT };
static const char *const content_keys[C_COUNT] = {
	"from", "fdev", "spk", "type", "name", "body", "sig"
};

/* A non-NULL pointer for empty bodies: msgpack-c hands it to memcpy. */
static const uint8_t empty_body[1];

size_t
sp_bucket_for(size_t n)
{
	size_t	i;

	/* n bytes plus at least one byte of padding marker. */
	for (i = 0; i < SP_BUCKET_COUNT; i++)
		if (n < sp_buckets[i])
			return sp_buckets[i];
	return 0;
}

static int
is_bucket(size_t n)
{
	size_t	i;

	for (i = 0; i < SP_BUCKET_COUNT; i++)
		if (n == sp_buckets[i])
			return 1;
	return 0;
}

/* Content type: 1..SP_CTYPE_MAX printable ASCII bytes. */
static int
ctype_ok(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || len > SP_CTYPE_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	return 1;
}

/* File name: at most SP_NAME_MAX bytes, no '/' and no control bytes;
 * bytes above 0x7f are allowed so UTF-8 names survive. */
static int
name_ok(const char *s, size_t len)
{
	size_t		i;
	unsigned char	ch;

	if (len > SP_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		ch = (unsigned char)s[i];
		if (ch < 0x20 || ch == 0x7f || ch == '/')
			return 0;
	}
	return 1;
}

/* The header checks shared by encoder, decoder and sealer. */
static int
header_check(const struct sp_envelope *env)
{
	if (memchr(env->to, '\0', sizeof(env->to)) == NULL ||
	    !sp_addr_is_canonical(env->to))
		return SP_E_ADDRESS;
	if (memchr(env->org, '\0', sizeof(env->org)) == NULL ||
	    !sp_domain_is_canonical(env->org))
		return SP_E_ADDRESS;
	if (env->exp < env->ts ||
	    env->exp - env->ts < SP_LIFETIME_MIN ||
	    env->exp - env->ts > SP_LIFETIME_MAX)
		return SP_E_VALUE;
	return SP_OK;
}

static int
box_len_ok(size_t len)
{
	return len > SP_SEAL_OVERHEAD && is_bucket(len - SP_SEAL_OVERHEAD);
}

/*
 * Every key but the box, then the box's bin header: the caller appends
 * box_len bytes of box.
 */
static int
header_encode(const struct sp_envelope *env, struct sp_buf *out,
    size_t box_len)
{
	msgpack_packer	pk;
	int		r = 0;

	msgpack_packer_init(&pk, out, sp_buf_msgpack_write);
	r |= msgpack_pack_map(&pk, H_COUNT);
	r |= msgpack_pack_str_with_body(&pk, "v", 1);
	r |= msgpack_pack_uint64(&pk, SP_PROTOCOL_VERSION);
	r |= msgpack_pack_str_with_body(&pk, "id", 2);
	r |= msgpack_pack_bin_with_body(&pk, env->id, SP_ID_LEN);
	r |= msgpack_pack_str_with_body(&pk, "to", 2);
	r |= msgpack_pack_str_with_body(&pk, env->to, strlen(env->to));
	r |= msgpack_pack_str_with_body(&pk, "dev", 3);
	r |= msgpack_pack_uint64(&pk, env->dev);
	r |= msgpack_pack_str_with_body(&pk, "org", 3);
	r |= msgpack_pack_str_with_body(&pk, env->org, strlen(env->org));
	r |= msgpack_pack_str_with_body(&pk, "ts", 2);
	r |= msgpack_pack_uint64(&pk, env->ts);
	r |= msgpack_pack_str_with_body(&pk, "exp", 3);
	r |= msgpack_pack_uint64(&pk, env->exp);
	r |= msgpack_pack_str_with_body(&pk, "box", 3);
	r |= msgpack_pack_bin(&pk, box_len);
	return r == 0 ? SP_OK : SP_E_NOMEM;
}

int
sp_env_encode(const struct sp_envelope *env, struct sp_buf *out)
{
	size_t	start = out->len;
	int	rc;

	/* Never write what sp_env_decode would refuse. */
	if ((rc = header_check(env)) != SP_OK)
		return rc;
	if (env->box == NULL || !box_len_ok(env->box_len))
		return SP_E_VALUE;

	if ((rc = header_encode(env, out, env->box_len)) != SP_OK ||
	    (rc = sp_buf_append(out, env->box, env->box_len)) != SP_OK) {
		out->len = start;
		return rc;
	}
	return SP_OK;
}

/* Index of map key k in keys, or -1. */
static int
key_index(const msgpack_object *k, const char *const *keys, int n)
{
	int	i;

	if (k->type != MSGPACK_OBJECT_STR)
		return -1;
	for (i = 0; i < n; i++)
		if (strlen(keys[i]) == k->via.str.size &&
		    memcmp(keys[i], k->via.str.ptr, k->via.str.size) == 0)
			return i;
	return -1;
}

static int
get_uint(const msgpack_object *o, uint64_t max, uint64_t *v)
{
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return SP_E_TYPE;
	if (o->via.u64 > max)
		return SP_E_VALUE;
	*v = o->via.u64;
	return SP_OK;
}

/* A bin of exactly len bytes, copied to dst. */
static int
get_bin_fixed(const msgpack_object *o, void *dst, size_t len)
{
	if (o->type != MSGPACK_OBJECT_BIN)
		return SP_E_TYPE;
	if (o->via.bin.size != len)
		return SP_E_VALUE;
	memcpy(dst, o->via.bin.ptr, len);
	return SP_OK;
}

/* A str of at most max bytes without NUL, copied and terminated. */
static int
get_str(const msgpack_object *o, char *dst, size_t max, int toolong)
{
	if (o->type != MSGPACK_OBJECT_STR)
		return SP_E_TYPE;
	if (o->via.str.size > max)
		return toolong;
	if (memchr(o->via.str.ptr, '\0', o->via.str.size) != NULL)
		return SP_E_VALUE;
	memcpy(dst, o->via.str.ptr, o->via.str.size);
	dst[o->via.str.size] = '\0';
	return SP_OK;
}

/*
 * Check the bounds with sp_msgpack_check, then unpack buf as one map of
 * exactly nkeys entries.  The caller destroys *u on success.
 */
static int
unpack_map(msgpack_unpacked *u, const uint8_t *buf, size_t len, int nkeys)
{
	size_t	off = 0;
	int	rc;

	rc = sp_msgpack_check(buf, len, SP_MSGPACK_MAX_DEPTH,
	    SP_MSGPACK_MAX_MAP, SP_MSGPACK_MAX_ARRAY);
	if (rc != SP_OK)
		return rc;

	msgpack_unpacked_init(u);
	switch (msgpack_unpack_next(u, (const char *)buf, len, &off)) {
	case MSGPACK_UNPACK_SUCCESS:
		break;
	case MSGPACK_UNPACK_NOMEM_ERROR:
		msgpack_unpacked_destroy(u);
		return SP_E_NOMEM;
	default:
		msgpack_unpacked_destroy(u);
		return SP_E_MALFORMED;
	}

	rc = SP_OK;
	if (off != len)
		rc = SP_E_MALFORMED;
	else if (u->data.type != MSGPACK_OBJECT_MAP)
		rc = SP_E_TYPE;
	else if (u->data.via.map.size < (uint32_t)nkeys)
		rc = SP_E_MISSING;
	else if (u->data.via.map.size > (uint32_t)nkeys)
		rc = SP_E_UNKNOWN;
	if (rc != SP_OK)
		msgpack_unpacked_destroy(u);
	return rc;
}

static int
header_field(struct sp_envelope *env, int idx, const msgpack_object *o)
{
	uint64_t	v;
	int		rc;

	switch (idx) {
	case H_V:
		if ((rc = get_uint(o, UINT64_MAX, &v)) != SP_OK)
			return rc;
		return v == SP_PROTOCOL_VERSION ? SP_OK : SP_E_VALUE;
	case H_ID:
		return get_bin_fixed(o, env->id, SP_ID_LEN);
	case H_TO:
		return get_str(o, env->to, SP_ADDR_MAX, SP_E_ADDRESS);
	case H_DEV:
		if ((rc = get_uint(o, UINT32_MAX, &v)) == SP_OK)
			env->dev = (uint32_t)v;
		return rc;
	case H_ORG:
		return get_str(o, env->org, SP_DOMAIN_MAX, SP_E_ADDRESS);
	case H_TS:
		return get_uint(o, UINT64_MAX, &env->ts);
	case H_EXP:
		return get_uint(o, UINT64_MAX, &env->exp);
	case H_BOX:
		if (o->type != MSGPACK_OBJECT_BIN)
			return SP_E_TYPE;
		if (!box_len_ok(o->via.bin.size))
			return SP_E_VALUE;
		env->box = (const uint8_t *)o->via.bin.ptr;
		env->box_len = o->via.bin.size;
		return SP_OK;
	}
	return SP_E_UNKNOWN;
}

int
sp_env_decode(struct sp_envelope *env, const uint8_t *buf, size_t len)
{
	msgpack_unpacked	 u;
	msgpack_object_kv	*kv;
	unsigned		 seen = 0;
	uint32_t		 i;
	int			 idx, rc;

	memset(env, 0, sizeof(*env));
	if (len > SP_FRAME_MAX)
		return SP_E_TOO_LARGE;
	if ((rc = unpack_map(&u, buf, len, H_COUNT)) != SP_OK)
		return rc;

	kv = u.data.via.map.ptr;
	for (i = 0; i < u.data.via.map.size; i++) {
		idx = key_index(&kv[i].key, header_keys, H_COUNT);
		if (idx < 0 || (seen & (1u << idx))) {
			rc = SP_E_UNKNOWN;
			goto done;
		}
		seen |= 1u << idx;
		if ((rc = header_field(env, idx, &kv[i].val)) != SP_OK)
			goto done;
	}

	/* unpack_map counted the entries, and none repeated. */
	rc = header_check(env);

	/* msgpack-c references bin bodies in the input; make sure. */
	if (rc == SP_OK && (env->box < buf || env->box + env->box_len >
	    buf + len))
		rc = SP_E_MALFORMED;
done:
	msgpack_unpacked_destroy(&u);
	if (rc != SP_OK)
		memset(env, 0, sizeof(*env));
	return rc;
}

int
sp_env_check_time(const struct sp_envelope *env, uint64_t now)
{
	if (env->ts > now && env->ts - now > SP_CLOCK_SKEW)
		return SP_E_VALUE;
	if (env->exp <= now)
		return SP_E_VALUE;
	return SP_OK;
}

static void
hash_be(crypto_generichash_state *st, uint64_t v, size_t n)
{
	uint8_t	b[8];
	size_t	i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	crypto_generichash_update(st, b, n);
}

/* A length-prefixed field: the prefix is n (1, 2 or 4) bytes wide. */
static int
hash_lstr(crypto_generichash_state *st, size_t n, const void *body,
    size_t len)
{
	if ((uint64_t)len >> (8 * n) != 0)
		return -1;
	hash_be(st, len, n);
	crypto_generichash_update(st, body == NULL ? empty_body : body, len);
	return 0;
}

/*
 * BLAKE2b-512 of the seal transcript (envelope.h), streamed so that the
 * body is never copied.  SP_E_VALUE when a field is too long for its
 * length prefix (an address over 255 bytes cannot be signed).
 */
static int
seal_transcript(uint8_t hash[HASH_LEN], const struct sp_envelope *env,
    const char *from, uint32_t fdev, const uint8_t spk[SP_SIGN_PK_LEN],
    const char *type, const char *name, const uint8_t *body,
    size_t body_len)
{
	crypto_generichash_state	st;
	int				bad = 0;

	crypto_generichash_init(&st, NULL, 0, HASH_LEN);
	crypto_generichash_update(&st, (const uint8_t *)SEAL_DOMAIN,
	    strlen(SEAL_DOMAIN));
	crypto_generichash_update(&st, env->id, SP_ID_LEN);
	bad |= hash_lstr(&st, 1, env->to, strlen(env->to));
	hash_be(&st, env->dev, 4);
	bad |= hash_lstr(&st, 1, env->org, strlen(env->org));
	hash_be(&st, env->ts, 8);
	hash_be(&st, env->exp, 8);
	bad |= hash_lstr(&st, 1, from, strlen(from));
	hash_be(&st, fdev, 4);
	crypto_generichash_update(&st, spk, SP_SIGN_PK_LEN);
	bad |= hash_lstr(&st, 1, type, strlen(type));
	bad |= hash_lstr(&st, 2, name, strlen(name));
	bad |= hash_lstr(&st, 4, body, body_len);
	crypto_generichash_final(&st, hash, HASH_LEN);
	sodium_memzero(&st, sizeof(st));
	return bad ? SP_E_VALUE : SP_OK;
}

static int
content_encode(struct sp_buf *out, const struct sp_sender *s,
    const struct sp_content *c, const uint8_t sig[SP_SIG_LEN])
{
	msgpack_packer	pk;
	int		r = 0;

	msgpack_packer_init(&pk, out, sp_buf_msgpack_write);
	r |= msgpack_pack_map(&pk, C_COUNT);
	r |= msgpack_pack_str_with_body(&pk, "from", 4);
	r |= msgpack_pack_str_with_body(&pk, s->addr, strlen(s->addr));
	r |= msgpack_pack_str_with_body(&pk, "fdev", 4);
	r |= msgpack_pack_uint64(&pk, s->dev);
	r |= msgpack_pack_str_with_body(&pk, "spk", 3);
	r |= msgpack_pack_bin_with_body(&pk, s->spk, SP_SIGN_PK_LEN);
	r |= msgpack_pack_str_with_body(&pk, "type", 4);
	r |= msgpack_pack_str_with_body(&pk, c->type, strlen(c->type));
	r |= msgpack_pack_str_with_body(&pk, "name", 4);
	r |= msgpack_pack_str_with_body(&pk, c->name, strlen(c->name));
	r |= msgpack_pack_str_with_body(&pk, "body", 4);
	r |= msgpack_pack_bin_with_body(&pk,
	    c->body_len ? c->body : empty_body, c->body_len);
	r |= msgpack_pack_str_with_body(&pk, "sig", 3);
	r |= msgpack_pack_bin_with_body(&pk, sig, SP_SIG_LEN);
	return r == 0 ? SP_OK : SP_E_NOMEM;
}

/* What the sender and the content must satisfy before anything is
 * signed: the same rules sp_env_open applies on the other side. */
static int
content_check(const struct sp_content *c, const struct sp_sender *s)
{
	size_t	n;

	if (memchr(s->addr, '\0', sizeof(s->addr)) == NULL ||
	    !sp_addr_is_canonical(s->addr))
		return SP_E_VALUE;
	n = strnlen(c->type, sizeof(c->type));
	if (n == sizeof(c->type) || !ctype_ok(c->type, n))
		return SP_E_VALUE;
	n = strnlen(c->name, sizeof(c->name));
	if (n == sizeof(c->name) || !name_ok(c->name, n))
		return SP_E_VALUE;
	if (c->body == NULL && c->body_len != 0)
		return SP_E_VALUE;
	if (c->body_len > SP_PLAINTEXT_MAX)
		return SP_E_TOO_LARGE;
	return SP_OK;
}

/* crypto_box_seal's nonce: BLAKE2b-192(epk || recipient pk). */
static void
seal_nonce(uint8_t nonce[SEAL_NONCE_LEN], const uint8_t epk[SP_BOX_PK_LEN],
    const uint8_t rpk[SP_BOX_PK_LEN])
{
	crypto_generichash_state	st;

	crypto_generichash_init(&st, NULL, 0, SEAL_NONCE_LEN);
	crypto_generichash_update(&st, epk, SP_BOX_PK_LEN);
	crypto_generichash_update(&st, rpk, SP_BOX_PK_LEN);
	crypto_generichash_final(&st, nonce, SEAL_NONCE_LEN);
}

static int
env_seal(struct sp_envelope *env, const struct sp_content *c,
    const struct sp_sender *s, const uint8_t rbpk[SP_BOX_PK_LEN],
    const uint8_t esk[SP_BOX_SK_LEN], struct sp_buf *out)
{
	struct sp_buf	 inner = SP_BUF_INIT;
	uint8_t		 hash[HASH_LEN], sig[SP_SIG_LEN];
	uint8_t		 epk[SP_BOX_PK_LEN], nonce[SEAL_NONCE_LEN];
	uint8_t		*box;
	size_t		 start = out->len, bucket, padded, box_len;
	int		 rc;

	env->box = NULL;
	env->box_len = 0;
	if ((rc = content_check(c, s)) != SP_OK)
		return rc;
	if (header_check(env) != SP_OK)
		return SP_E_VALUE;

	/* Sign first: the signature lives inside the sealed map. */
	rc = seal_transcript(hash, env, s->addr, s->dev, s->spk, c->type,
	    c->name, c->body, c->body_len);
	if (rc != SP_OK)
		goto done;
	if (crypto_sign_detached(sig, NULL, hash, sizeof(hash),
	    s->ssk) != 0) {
		rc = SP_E_VALUE;
		goto done;
	}

	if ((rc = content_encode(&inner, s, c, sig)) != SP_OK)
		goto done;
	if ((bucket = sp_bucket_for(inner.len)) == 0) {
		rc = SP_E_TOO_LARGE;
		goto done;
	}
	if ((rc = sp_buf_reserve(&inner, bucket - inner.len)) != SP_OK)
		goto done;
	if (sodium_pad(&padded, inner.data, inner.len, bucket,
	    bucket) != 0 || padded != bucket) {
		rc = SP_E_VALUE;
		goto done;
	}
	inner.len = padded;

	/* The ephemeral public key and the nonce, as crypto_box_seal. */
	if (crypto_scalarmult_base(epk, esk) != 0) {
		rc = SP_E_VALUE;
		goto done;
	}
	seal_nonce(nonce, epk, rbpk);

	box_len = bucket + SP_SEAL_OVERHEAD;
	if ((rc = header_encode(env, out, box_len)) != SP_OK ||
	    (rc = sp_buf_reserve(out, box_len)) != SP_OK)
		goto done;
	box = out->data + out->len;
	memcpy(box, epk, SP_BOX_PK_LEN);
	if (crypto_box_easy(box + SP_BOX_PK_LEN, inner.data, inner.len,
	    nonce, rbpk, esk) != 0) {
		/* A low-order recipient key gives no shared secret. */
		rc = SP_E_VALUE;
		goto done;
	}
	out->len += box_len;
	env->box = box;
	env->box_len = box_len;
	rc = SP_OK;
done:
	if (rc != SP_OK)
		out->len = start;
	sp_buf_free(&inner);
	sodium_memzero(hash, sizeof(hash));
	sodium_memzero(sig, sizeof(sig));
	return rc;
}

int
sp_env_seal_with_ephemeral(struct sp_envelope *env,
    const struct sp_content *c, const struct sp_sender *s,
    const uint8_t rbpk[SP_BOX_PK_LEN], const uint8_t esk[SP_BOX_SK_LEN],
    struct sp_buf *out)
{
	if (sodium_init() < 0)
		return SP_E_VALUE;
	return env_seal(env, c, s, rbpk, esk, out);
}

int
sp_env_seal(struct sp_envelope *env, const struct sp_content *c,
    const struct sp_sender *s, const uint8_t rbpk[SP_BOX_PK_LEN],
    struct sp_buf *out)
{
	uint8_t	esk[SP_BOX_SK_LEN];
	int	rc;

	if (sodium_init() < 0)
		return SP_E_VALUE;
	randombytes_buf(esk, sizeof(esk));
	rc = env_seal(env, c, s, rbpk, esk, out);
	sodium_memzero(esk, sizeof(esk));
	return rc;
}

static int
content_field(struct sp_content *c, int idx, const msgpack_object *o,
    uint8_t sig[SP_SIG_LEN])
{
	uint64_t	v;
	int		rc;

	switch (idx) {
	case C_FROM:
		if ((rc = get_str(o, c->from, SP_ADDR_MAX,
		    SP_E_ADDRESS)) != SP_OK)
			return rc;
		return sp_addr_is_canonical(c->from) ? SP_OK : SP_E_ADDRESS;
	case C_FDEV:
		if ((rc = get_uint(o, UINT32_MAX, &v)) == SP_OK)
			c->fdev = (uint32_t)v;
		return rc;
	case C_SPK:
		return get_bin_fixed(o, c->spk, SP_SIGN_PK_LEN);
	case C_TYPE:
		if ((rc = get_str(o, c->type, SP_CTYPE_MAX,
		    SP_E_VALUE)) != SP_OK)
			return rc;
		return ctype_ok(c->type, strlen(c->type)) ? SP_OK :
		    SP_E_VALUE;
	case C_NAME:
		if ((rc = get_str(o, c->name, SP_NAME_MAX,
		    SP_E_VALUE)) != SP_OK)
			return rc;
		return name_ok(c->name, strlen(c->name)) ? SP_OK :
		    SP_E_VALUE;
	case C_BODY:
		if (o->type != MSGPACK_OBJECT_BIN)
			return SP_E_TYPE;
		c->body = (const uint8_t *)o->via.bin.ptr;
		c->body_len = o->via.bin.size;
		return SP_OK;
	case C_SIG:
		return get_bin_fixed(o, sig, SP_SIG_LEN);
	}
	return SP_E_UNKNOWN;
}

/* Strict decode of the unpadded inner map; c->body points into buf. */
static int
content_decode(struct sp_content *c, uint8_t sig[SP_SIG_LEN],
    const uint8_t *buf, size_t len)
{
	msgpack_unpacked	 u;
	msgpack_object_kv	*kv;
	unsigned		 seen = 0;
	uint32_t		 i;
	int			 idx, rc;

	if ((rc = unpack_map(&u, buf, len, C_COUNT)) != SP_OK)
		return rc;

	kv = u.data.via.map.ptr;
	for (i = 0; i < u.data.via.map.size; i++) {
		idx = key_index(&kv[i].key, content_keys, C_COUNT);
		if (idx < 0 || (seen & (1u << idx))) {
			rc = SP_E_UNKNOWN;
			goto done;
		}
		seen |= 1u << idx;
		if ((rc = content_field(c, idx, &kv[i].val, sig)) != SP_OK)
			goto done;
	}
	if (c->body == NULL || c->body < buf || c->body + c->body_len >
	    buf + len)
		rc = SP_E_MALFORMED;
done:
	msgpack_unpacked_destroy(&u);
	return rc;
}

int
sp_env_open(const struct sp_envelope *env,
    const uint8_t rbpk[SP_BOX_PK_LEN], const uint8_t rbsk[SP_BOX_SK_LEN],
    struct sp_content *c, struct sp_buf *plain)
{
	uint8_t	hash[HASH_LEN], sig[SP_SIG_LEN];
	size_t	bucket, unpadded;
	int	rc;

	memset(c, 0, sizeof(*c));
	sp_buf_reset(plain);
	memset(sig, 0, sizeof(sig));
	memset(hash, 0, sizeof(hash));
	if (sodium_init() < 0)
		return SP_E_CRYPTO;
	if ((rc = header_check(env)) != SP_OK)
		return rc;
	if (env->box == NULL || !box_len_ok(env->box_len))
		return SP_E_CRYPTO;
	bucket = env->box_len - SP_SEAL_OVERHEAD;

	if ((rc = sp_buf_reserve(plain, bucket)) != SP_OK)
		goto done;
	if (crypto_box_seal_open(plain->data, env->box, env->box_len,
	    rbpk, rbsk) != 0) {
		rc = SP_E_CRYPTO;
		goto done;
	}
	plain->len = bucket;

	/* Padding as the sender must make it: the smallest bucket. */
	if (sodium_unpad(&unpadded, plain->data, bucket, bucket) != 0 ||
	    sp_bucket_for(unpadded) != bucket) {
		rc = SP_E_MALFORMED;
		goto done;
	}
	plain->len = unpadded;

	if ((rc = content_decode(c, sig, plain->data, plain->len)) != SP_OK)
		goto done;

	rc = seal_transcript(hash, env, c->from, c->fdev, c->spk, c->type,
	    c->name, c->body, c->body_len);
	if (rc != SP_OK ||
	    crypto_sign_verify_detached(sig, hash, sizeof(hash),
	    c->spk) != 0) {
		rc = SP_E_CRYPTO;
		goto done;
	}
	rc = SP_OK;
done:
	if (rc != SP_OK) {
		sodium_memzero(c, sizeof(*c));
		c->body = NULL;
		sp_buf_free(plain);
	}
	sodium_memzero(hash, sizeof(hash));
	sodium_memzero(sig, sizeof(sig));
	return rc;
}
