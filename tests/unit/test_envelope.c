/*
 * test_envelope.c - envelope codec, seal and open, with real libsodium.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>
#include <sodium.h>

#include "buf.h"
#include "envelope.h"
#include "wire.h"

#define T0	1700000000ULL

static struct sp_sender	sender;
static uint8_t		rpk[SP_BOX_PK_LEN], rsk[SP_BOX_SK_LEN];
static uint8_t		opk[SP_BOX_PK_LEN], osk[SP_BOX_SK_LEN];

static int
setup(void **state)
{
	if (sodium_init() < 0)
		return -1;
	memset(&sender, 0, sizeof(sender));
	strcpy(sender.addr, "alice@acme.test");
	sender.dev = 3;
	crypto_sign_keypair(sender.spk, sender.ssk);
	crypto_box_keypair(rpk, rsk);
	crypto_box_keypair(opk, osk);
	return 0;
}

static void
make_env(struct sp_envelope *env)
{
	memset(env, 0, sizeof(*env));
	memset(env->id, 0xa5, SP_ID_LEN);
	strcpy(env->to, "bob@partner.test");
	env->dev = 7;
	strcpy(env->org, "acme.test");
	env->ts = T0;
	env->exp = T0 + 3600;
}

static void
make_content(struct sp_content *c, const uint8_t *body, size_t len)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->type, "text/plain; charset=utf-8");
	c->body = body;
	c->body_len = len;
}

/* Seal body into out; returns the status. */
static int
seal(struct sp_buf *out, const uint8_t *body, size_t len)
{
	struct sp_envelope	env;
	struct sp_content	c;

	make_env(&env);
	make_content(&c, body, len);
	return sp_env_seal(&env, &c, &sender, rpk, out);
}

static void
test_bucket_for(void **state)
{
	assert_int_equal(sp_bucket_for(0), 256);
	assert_int_equal(sp_bucket_for(255), 256);
	assert_int_equal(sp_bucket_for(256), 1024);
	assert_int_equal(sp_bucket_for(1023), 1024);
	assert_int_equal(sp_bucket_for(SP_PLAINTEXT_MAX - 1),
	    SP_PLAINTEXT_MAX);
	assert_int_equal(sp_bucket_for(SP_PLAINTEXT_MAX), 0);
	assert_int_equal(sp_bucket_for(SIZE_MAX), 0);
}

static void
test_roundtrip(void **state)
{
	struct sp_buf		 out = SP_BUF_INIT, plain = SP_BUF_INIT;
	struct sp_buf		 again = SP_BUF_INIT;
	struct sp_envelope	 env, dec;
	struct sp_content	 c, got;
	const char		*text = "hello, partner";

	make_env(&env);
	make_content(&c, (const uint8_t *)text, strlen(text));
	strcpy(c.name, "report 2024.txt");
	assert_int_equal(sp_env_seal(&env, &c, &sender, rpk, &out), SP_OK);
	assert_ptr_not_equal(env.box, NULL);
	assert_true(env.box >= out.data &&
	    env.box + env.box_len == out.data + out.len);
	assert_int_equal(env.box_len, 256 + SP_SEAL_OVERHEAD);

	assert_int_equal(sp_env_decode(&dec, out.data, out.len), SP_OK);
	assert_memory_equal(dec.id, env.id, SP_ID_LEN);
	assert_string_equal(dec.to, "bob@partner.test");
	assert_int_equal(dec.dev, 7);
	assert_string_equal(dec.org, "acme.test");
	assert_int_equal(dec.ts, T0);
	assert_int_equal(dec.exp, T0 + 3600);
	assert_ptr_equal(dec.box, env.box);
	assert_int_equal(dec.box_len, env.box_len);

	/* The encoding is canonical: decode then encode gives it back. */
	assert_int_equal(sp_env_encode(&dec, &again), SP_OK);
	assert_int_equal(again.len, out.len);
	assert_memory_equal(again.data, out.data, out.len);

	assert_int_equal(sp_env_open(&dec, rpk, rsk, &got, &plain), SP_OK);
	assert_string_equal(got.from, "alice@acme.test");
	assert_int_equal(got.fdev, 3);
	assert_memory_equal(got.spk, sender.spk, SP_SIGN_PK_LEN);
	assert_string_equal(got.type, c.type);
	assert_string_equal(got.name, "report 2024.txt");
	assert_int_equal(got.body_len, strlen(text));
	assert_memory_equal(got.body, text, strlen(text));
	assert_true(got.body >= plain.data &&
	    got.body + got.body_len <= plain.data + plain.len);

	sp_buf_free(&out);
	sp_buf_free(&again);
	sp_buf_free(&plain);
}

static void
test_empty_body(void **state)
{
	struct sp_buf		out = SP_BUF_INIT, plain = SP_BUF_INIT;
	struct sp_envelope	dec;
	struct sp_content	got;

	assert_int_equal(seal(&out, NULL, 0), SP_OK);
	assert_int_equal(sp_env_decode(&dec, out.data, out.len), SP_OK);
	assert_int_equal(sp_env_open(&dec, rpk, rsk, &got, &plain), SP_OK);
	assert_int_equal(got.body_len, 0);
	sp_buf_free(&out);
	sp_buf_free(&plain);
}

/*
 * The seal is crypto_box_seal: libsodium's own opener accepts it, the
 * ephemeral key is the first 32 bytes, and a fixed esk gives fixed bytes.
 */
static void
test_is_crypto_box_seal(void **state)
{
	struct sp_buf		 a = SP_BUF_INIT, b = SP_BUF_INIT;
	struct sp_envelope	 env, dec;
	struct sp_content	 c;
	uint8_t			 esk[SP_BOX_SK_LEN], epk[SP_BOX_PK_LEN];
	uint8_t			 nonce[crypto_box_NONCEBYTES];
	uint8_t			*m1, *m2;
	size_t			 mlen, unpadded;
	const char		*text = "the same bytes twice";

	memset(esk, 0x42, sizeof(esk));
	crypto_scalarmult_base(epk, esk);
	make_env(&env);
	make_content(&c, (const uint8_t *)text, strlen(text));
	assert_int_equal(sp_env_seal_with_ephemeral(&env, &c, &sender, rpk,
	    esk, &a), SP_OK);
	make_env(&env);
	assert_int_equal(sp_env_seal_with_ephemeral(&env, &c, &sender, rpk,
	    esk, &b), SP_OK);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);

	assert_int_equal(sp_env_decode(&dec, a.data, a.len), SP_OK);
	assert_memory_equal(dec.box, epk, SP_BOX_PK_LEN);
	mlen = dec.box_len - SP_SEAL_OVERHEAD;
	m1 = malloc(mlen);
	m2 = malloc(mlen);
	assert_int_equal(crypto_box_seal_open(m1, dec.box, dec.box_len,
	    rpk, rsk), 0);

	/* And by hand: nonce = BLAKE2b-192(epk || rpk). */
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, sizeof(nonce));
	crypto_generichash_update(&st, epk, sizeof(epk));
	crypto_generichash_update(&st, rpk, SP_BOX_PK_LEN);
	crypto_generichash_final(&st, nonce, sizeof(nonce));
	assert_int_equal(crypto_box_open_easy(m2, dec.box + SP_BOX_PK_LEN,
	    dec.box_len - SP_BOX_PK_LEN, nonce, epk, rsk), 0);
	assert_memory_equal(m1, m2, mlen);

	/* Padded with sodium_pad to the 256 bucket. */
	assert_int_equal(mlen, 256);
	assert_int_equal(sodium_unpad(&unpadded, m1, mlen, mlen), 0);
	assert_true(unpadded < 256);
	assert_int_equal(m1[unpadded], 0x80);

	/* A random ephemeral key differs each time and still opens. */
	sp_buf_reset(&b);
	assert_int_equal(seal(&b, (const uint8_t *)text, strlen(text)),
	    SP_OK);
	assert_int_equal(sp_env_decode(&dec, b.data, b.len), SP_OK);
	assert_memory_not_equal(dec.box, epk, SP_BOX_PK_LEN);
	assert_int_equal(crypto_box_seal_open(m1, dec.box, dec.box_len,
	    rpk, rsk), 0);

	free(m1);
	free(m2);
	sp_buf_free(&a);
	sp_buf_free(&b);
}

/* Encoded length of the inner map for a body of len bytes, found by
 * opening one small seal and adjusting the bin header width. */
static size_t
inner_len(size_t len)
{
	static size_t		base;
	struct sp_buf		out = SP_BUF_INIT, plain = SP_BUF_INIT;
	struct sp_envelope	dec;
	struct sp_content	got;
	uint8_t			b[10] = { 0 };

	if (base == 0) {
		assert_int_equal(seal(&out, b, sizeof(b)), SP_OK);
		assert_int_equal(sp_env_decode(&dec, out.data, out.len),
		    SP_OK);
		assert_int_equal(sp_env_open(&dec, rpk, rsk, &got, &plain),
		    SP_OK);
		/* plain.len is the unpadded inner map; bin8 header. */
		base = plain.len - sizeof(b) - 2;
		sp_buf_free(&out);
		sp_buf_free(&plain);
	}
	return base + len + (len < 256 ? 2 : len < 65536 ? 3 : 5);
}

/* Seal a body of len bytes; check the bucket and the round trip. */
static void
check_size(size_t len, size_t want_bucket)
{
	struct sp_buf		 out = SP_BUF_INIT, plain = SP_BUF_INIT;
	struct sp_envelope	 dec;
	struct sp_content	 got;
	uint8_t			*body;

	body = malloc(len + 1);
	assert_non_null(body);
	randombytes_buf(body, len + 1);
	if (want_bucket == 0) {
		assert_int_equal(seal(&out, body, len), SP_E_TOO_LARGE);
		assert_int_equal(out.len, 0);
		free(body);
		return;
	}
	assert_int_equal(seal(&out, body, len), SP_OK);
	assert_int_equal(sp_env_decode(&dec, out.data, out.len), SP_OK);
	assert_int_equal(dec.box_len, want_bucket + SP_SEAL_OVERHEAD);
	assert_int_equal(sp_env_open(&dec, rpk, rsk, &got, &plain), SP_OK);
	assert_int_equal(plain.len, inner_len(len));
	assert_int_equal(got.body_len, len);
	assert_memory_equal(got.body, body, len);
	free(body);
	sp_buf_free(&out);
	sp_buf_free(&plain);
}

/* Largest body whose inner map is exactly n bytes, or (size_t)-1. */
static size_t
body_for_inner(size_t n)
{
	size_t	len, hdr;

	for (hdr = 2; hdr <= 5; hdr++) {
		if (n < inner_len(0) - 2 + hdr)
			continue;
		len = n - (inner_len(0) - 2) - hdr;
		if (inner_len(len) == n)
			return len;
	}
	return (size_t)-1;
}

static void
test_bucket_edges(void **state)
{
	size_t	i, b, len, next;

	for (i = 0; i < SP_BUCKET_COUNT; i++) {
		b = sp_buckets[i];
		next = i + 1 < SP_BUCKET_COUNT ? sp_buckets[i + 1] : 0;

		/* bucket - 1 bytes of inner map: the marker still fits. */
		len = body_for_inner(b - 1);
		assert_true(len != (size_t)-1);
		check_size(len, b);

		/* Exactly bucket bytes: the marker needs the next one. */
		len = body_for_inner(b);
		assert_true(len != (size_t)-1);
		check_size(len, next);
	}
}

static void
test_too_large(void **state)
{
	struct sp_buf	out = SP_BUF_INIT;
	uint8_t		*body;

	body = calloc(1, SP_PLAINTEXT_MAX + 1);
	assert_non_null(body);
	assert_int_equal(seal(&out, body, SP_PLAINTEXT_MAX + 1),
	    SP_E_TOO_LARGE);
	assert_int_equal(seal(&out, body, SP_PLAINTEXT_MAX),
	    SP_E_TOO_LARGE);
	assert_int_equal(out.len, 0);
	free(body);
	sp_buf_free(&out);
}

static void
test_bad_content(void **state)
{
	struct sp_buf		out = SP_BUF_INIT;
	struct sp_envelope	env;
	struct sp_content	c;
	struct sp_sender	s = sender;
	uint8_t			b[4] = { 1, 2, 3, 4 };

	make_env(&env);
	make_content(&c, b, sizeof(b));
	c.type[0] = '\0';
	assert_int_equal(sp_env_seal(&env, &c, &s, rpk, &out), SP_E_VALUE);
	make_content(&c, b, sizeof(b));
	strcpy(c.type, "text\n");
	assert_int_equal(sp_env_seal(&env, &c, &s, rpk, &out), SP_E_VALUE);
	make_content(&c, b, sizeof(b));
	strcpy(c.name, "../etc/passwd");
	assert_int_equal(sp_env_seal(&env, &c, &s, rpk, &out), SP_E_VALUE);
	make_content(&c, b, sizeof(b));
	strcpy(c.name, "tab\there");
	assert_int_equal(sp_env_seal(&env, &c, &s, rpk, &out), SP_E_VALUE);
	make_content(&c, NULL, 3);
	assert_int_equal(sp_env_seal(&env, &c, &s, rpk, &out), SP_E_VALUE);

	make_content(&c, b, sizeof(b));
	strcpy(s.addr, "Alice@acme.test");
	assert_int_equal(sp_env_seal(&env, &c, &s, rpk, &out), SP_E_VALUE);
	s = sender;
	strcpy(env.to, "bob@partner");
	assert_int_equal(sp_env_seal(&env, &c, &s, rpk, &out), SP_E_VALUE);
	make_env(&env);
	env.exp = env.ts + SP_LIFETIME_MIN - 1;
	assert_int_equal(sp_env_seal(&env, &c, &s, rpk, &out), SP_E_VALUE);
	assert_int_equal(out.len, 0);

	/* UTF-8 in a file name is fine. */
	make_env(&env);
	strcpy(c.name, "caf\xc3\xa9.txt");
	assert_int_equal(sp_env_seal(&env, &c, &s, rpk, &out), SP_OK);
	sp_buf_free(&out);
}

/* Seal, decode, let tamper() change the decoded header or box, and
 * expect sp_env_open to refuse with SP_E_CRYPTO. */
static void
open_tampered(void (*tamper)(struct sp_envelope *, uint8_t *))
{
	struct sp_buf		out = SP_BUF_INIT, plain = SP_BUF_INIT;
	struct sp_envelope	dec;
	struct sp_content	got;
	uint8_t			body[100];

	randombytes_buf(body, sizeof(body));
	assert_int_equal(seal(&out, body, sizeof(body)), SP_OK);
	assert_int_equal(sp_env_decode(&dec, out.data, out.len), SP_OK);
	tamper(&dec, out.data + (dec.box - out.data));
	assert_int_equal(sp_env_open(&dec, rpk, rsk, &got, &plain),
	    SP_E_CRYPTO);
	assert_int_equal(plain.len, 0);
	assert_null(got.body);
	assert_int_equal(got.from[0], '\0');
	sp_buf_free(&out);
	sp_buf_free(&plain);
}

static void t_box_epk(struct sp_envelope *e, uint8_t *box) { box[0] ^= 1; }
static void t_box_mac(struct sp_envelope *e, uint8_t *box) { box[40] ^= 1; }
static void t_box_end(struct sp_envelope *e, uint8_t *box)
{
	box[e->box_len - 1] ^= 0x80;
}
static void t_id(struct sp_envelope *e, uint8_t *box) { e->id[15] ^= 1; }
static void t_to(struct sp_envelope *e, uint8_t *box)
{
	strcpy(e->to, "eve@partner.test");
}
static void t_dev(struct sp_envelope *e, uint8_t *box) { e->dev = 8; }
static void t_org(struct sp_envelope *e, uint8_t *box)
{
	strcpy(e->org, "evil.test");
}
static void t_ts(struct sp_envelope *e, uint8_t *box) { e->ts--; }
static void t_exp(struct sp_envelope *e, uint8_t *box) { e->exp++; }

static void
test_tampered(void **state)
{
	open_tampered(t_box_epk);
	open_tampered(t_box_mac);
	open_tampered(t_box_end);
	open_tampered(t_id);
	open_tampered(t_to);
	open_tampered(t_dev);
	open_tampered(t_org);
	open_tampered(t_ts);
	open_tampered(t_exp);
}

/* A relay that rewrites the header and re-encodes it: the envelope
 * still decodes, but the seal no longer verifies. */
static void
test_moved_seal(void **state)
{
	struct sp_buf		out = SP_BUF_INIT, moved = SP_BUF_INIT;
	struct sp_buf		plain = SP_BUF_INIT;
	struct sp_envelope	dec, dec2;
	struct sp_content	got;

	assert_int_equal(seal(&out, (const uint8_t *)"x", 1), SP_OK);
	assert_int_equal(sp_env_decode(&dec, out.data, out.len), SP_OK);
	strcpy(dec.to, "carol@partner.test");
	assert_int_equal(sp_env_encode(&dec, &moved), SP_OK);
	assert_int_equal(sp_env_decode(&dec2, moved.data, moved.len), SP_OK);
	assert_int_equal(sp_env_open(&dec2, rpk, rsk, &got, &plain),
	    SP_E_CRYPTO);
	sp_buf_free(&out);
	sp_buf_free(&moved);
	sp_buf_free(&plain);
}

static void
test_wrong_key(void **state)
{
	struct sp_buf		out = SP_BUF_INIT, plain = SP_BUF_INIT;
	struct sp_envelope	dec;
	struct sp_content	got;

	assert_int_equal(seal(&out, (const uint8_t *)"secret", 6), SP_OK);
	assert_int_equal(sp_env_decode(&dec, out.data, out.len), SP_OK);
	assert_int_equal(sp_env_open(&dec, opk, osk, &got, &plain),
	    SP_E_CRYPTO);
	/* Right secret key, wrong public key: the nonce differs. */
	assert_int_equal(sp_env_open(&dec, opk, rsk, &got, &plain),
	    SP_E_CRYPTO);
	assert_int_equal(plain.len, 0);
	sp_buf_free(&out);
	sp_buf_free(&plain);
}

/*
 * Hand-built headers for the decoder.  Each variant changes one thing
 * from a valid envelope.
 */
struct variant {
	int		 skip;		/* key index left out, or -1 */
	const char	*extra;		/* an extra key */
	int		 dup;		/* repeat "dev" */
	uint64_t	 v;
	const char	*to;
	uint64_t	 lifetime;
	size_t		 box_len;
	int		 id_len;
	int		 dev_as_str;
	int		 negative_ts;
	int		 trailing;
	int		 not_map;
};

static void
variant_init(struct variant *w)
{
	memset(w, 0, sizeof(*w));
	w->skip = -1;
	w->to = "bob@partner.test";
	w->lifetime = 3600;
	w->box_len = 1024 + SP_SEAL_OVERHEAD;
	w->id_len = SP_ID_LEN;
}

static void
pk_str(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str_with_body(pk, s, strlen(s));
}

static void
build(struct sp_buf *out, const struct variant *w)
{
	msgpack_packer	 pk;
	uint8_t		 id[32];
	uint8_t		*box;
	int		 n = 8;

	memset(id, 7, sizeof(id));
	box = calloc(1, w->box_len + 1);
	assert_non_null(box);
	sp_buf_reset(out);
	msgpack_packer_init(&pk, out, sp_buf_msgpack_write);
	if (w->not_map) {
		msgpack_pack_array(&pk, 1);
		msgpack_pack_uint8(&pk, 0);
		free(box);
		return;
	}
	n -= w->skip >= 0;
	n += w->extra != NULL;
	n += w->dup;
	msgpack_pack_map(&pk, n);
	if (w->skip != 0) {
		pk_str(&pk, "v");
		msgpack_pack_uint64(&pk, w->v);
	}
	if (w->skip != 1) {
		pk_str(&pk, "id");
		msgpack_pack_bin_with_body(&pk, id, w->id_len);
	}
	if (w->skip != 2) {
		pk_str(&pk, "to");
		pk_str(&pk, w->to);
	}
	if (w->skip != 3) {
		pk_str(&pk, "dev");
		if (w->dev_as_str)
			pk_str(&pk, "7");
		else
			msgpack_pack_uint32(&pk, 7);
	}
	if (w->dup) {
		pk_str(&pk, "dev");
		msgpack_pack_uint32(&pk, 7);
	}
	if (w->skip != 4) {
		pk_str(&pk, "org");
		pk_str(&pk, "acme.test");
	}
	if (w->skip != 5) {
		pk_str(&pk, "ts");
		if (w->negative_ts)
			msgpack_pack_int64(&pk, -1);
		else
			msgpack_pack_uint64(&pk, T0);
	}
	if (w->skip != 6) {
		pk_str(&pk, "exp");
		msgpack_pack_uint64(&pk, T0 + w->lifetime);
	}
	if (w->skip != 7) {
		pk_str(&pk, "box");
		msgpack_pack_bin_with_body(&pk, box, w->box_len);
	}
	if (w->extra != NULL) {
		pk_str(&pk, w->extra);
		msgpack_pack_uint8(&pk, 1);
	}
	if (w->trailing)
		msgpack_pack_nil(&pk);
	free(box);
}

static int
decode_variant(const struct variant *w)
{
	struct sp_buf		out = SP_BUF_INIT;
	struct sp_envelope	env;
	int			rc;

	build(&out, w);
	rc = sp_env_decode(&env, out.data, out.len);
	if (rc != SP_OK) {
		assert_null(env.box);
		assert_int_equal(env.to[0], '\0');
	}
	sp_buf_free(&out);
	return rc;
}

static void
test_decode_refusals(void **state)
{
	struct variant	w;
	int		i;

	variant_init(&w);
	assert_int_equal(decode_variant(&w), SP_OK);

	for (i = 0; i < 8; i++) {
		variant_init(&w);
		w.skip = i;
		assert_int_equal(decode_variant(&w), SP_E_MISSING);
	}
	variant_init(&w);
	w.extra = "cc";
	assert_int_equal(decode_variant(&w), SP_E_UNKNOWN);
	variant_init(&w);
	w.skip = 3;
	w.extra = "devs";
	assert_int_equal(decode_variant(&w), SP_E_UNKNOWN);
	variant_init(&w);
	w.skip = 4;
	w.dup = 1;
	assert_int_equal(decode_variant(&w), SP_E_UNKNOWN);

	variant_init(&w);
	w.v = 1;
	assert_int_equal(decode_variant(&w), SP_E_VALUE);

	variant_init(&w);
	w.lifetime = SP_LIFETIME_MIN - 1;
	assert_int_equal(decode_variant(&w), SP_E_VALUE);
	variant_init(&w);
	w.lifetime = SP_LIFETIME_MIN;
	assert_int_equal(decode_variant(&w), SP_OK);
	variant_init(&w);
	w.lifetime = SP_LIFETIME_MAX;
	assert_int_equal(decode_variant(&w), SP_OK);
	variant_init(&w);
	w.lifetime = SP_LIFETIME_MAX + 1;
	assert_int_equal(decode_variant(&w), SP_E_VALUE);

	variant_init(&w);
	w.box_len = 1000 + SP_SEAL_OVERHEAD;
	assert_int_equal(decode_variant(&w), SP_E_VALUE);
	variant_init(&w);
	w.box_len = 1024;
	assert_int_equal(decode_variant(&w), SP_E_VALUE);
	variant_init(&w);
	w.box_len = SP_SEAL_OVERHEAD;
	assert_int_equal(decode_variant(&w), SP_E_VALUE);

	variant_init(&w);
	w.trailing = 1;
	assert_int_equal(decode_variant(&w), SP_E_MALFORMED);

	variant_init(&w);
	w.to = "Bob@partner.test";
	assert_int_equal(decode_variant(&w), SP_E_ADDRESS);
	variant_init(&w);
	w.to = "bob@partner";
	assert_int_equal(decode_variant(&w), SP_E_ADDRESS);
	variant_init(&w);
	w.to = "bob@partner.test.";
	assert_int_equal(decode_variant(&w), SP_E_ADDRESS);

	variant_init(&w);
	w.id_len = 15;
	assert_int_equal(decode_variant(&w), SP_E_VALUE);
	variant_init(&w);
	w.dev_as_str = 1;
	assert_int_equal(decode_variant(&w), SP_E_TYPE);
	variant_init(&w);
	w.negative_ts = 1;
	assert_int_equal(decode_variant(&w), SP_E_TYPE);
	variant_init(&w);
	w.not_map = 1;
	assert_int_equal(decode_variant(&w), SP_E_TYPE);
}

static void
test_decode_garbage(void **state)
{
	struct sp_envelope	env;
	struct sp_buf		out = SP_BUF_INIT;
	struct variant		w;
	static const uint8_t	junk[] = { 0xc1 };
	size_t			i;

	assert_int_not_equal(sp_env_decode(&env, junk, sizeof(junk)), SP_OK);
	assert_int_not_equal(sp_env_decode(&env, junk, 0), SP_OK);

	/* Every truncation of a valid envelope is refused. */
	variant_init(&w);
	build(&out, &w);
	for (i = 0; i < out.len; i++)
		assert_int_not_equal(sp_env_decode(&env, out.data, i), SP_OK);
	sp_buf_free(&out);
}

static void
test_check_time(void **state)
{
	struct sp_envelope	env;

	make_env(&env);
	assert_int_equal(sp_env_check_time(&env, T0), SP_OK);
	assert_int_equal(sp_env_check_time(&env, T0 + 3599), SP_OK);
	assert_int_equal(sp_env_check_time(&env, T0 + 3600), SP_E_VALUE);
	assert_int_equal(sp_env_check_time(&env, T0 + 99999), SP_E_VALUE);
	assert_int_equal(sp_env_check_time(&env, T0 - SP_CLOCK_SKEW),
	    SP_OK);
	assert_int_equal(sp_env_check_time(&env, T0 - SP_CLOCK_SKEW - 1),
	    SP_E_VALUE);
	assert_int_equal(sp_env_check_time(&env, 0), SP_E_VALUE);
	env.exp = UINT64_MAX;
	env.ts = UINT64_MAX - 3600;
	assert_int_equal(sp_env_check_time(&env, UINT64_MAX - 3600), SP_OK);
}

/*
 * A sender that breaks the inner rules but signs and seals correctly:
 * build the inner map by hand, pad it, crypto_box_seal it.
 */
static int
open_handmade(const char *from, const char *name, size_t pad_to,
    int extra_key)
{
	struct sp_buf		 inner = SP_BUF_INIT, out = SP_BUF_INIT;
	struct sp_buf		 plain = SP_BUF_INIT;
	struct sp_envelope	 env, dec;
	struct sp_content	 got;
	msgpack_packer		 pk;
	uint8_t			 sig[SP_SIG_LEN] = { 0 }, *box;
	size_t			 padded;
	int			 rc;

	msgpack_packer_init(&pk, &inner, sp_buf_msgpack_write);
	msgpack_pack_map(&pk, 7 + extra_key);
	pk_str(&pk, "from");
	pk_str(&pk, from);
	pk_str(&pk, "fdev");
	msgpack_pack_uint32(&pk, 3);
	pk_str(&pk, "spk");
	msgpack_pack_bin_with_body(&pk, sender.spk, SP_SIGN_PK_LEN);
	pk_str(&pk, "type");
	pk_str(&pk, "text/plain");
	pk_str(&pk, "name");
	pk_str(&pk, name);
	pk_str(&pk, "body");
	msgpack_pack_bin_with_body(&pk, "hi", 2);
	pk_str(&pk, "sig");
	msgpack_pack_bin_with_body(&pk, sig, sizeof(sig));
	if (extra_key) {
		pk_str(&pk, "cc");
		pk_str(&pk, "x");
	}
	assert_int_equal(sp_buf_reserve(&inner, pad_to), SP_OK);
	assert_int_equal(sodium_pad(&padded, inner.data, inner.len, pad_to,
	    pad_to), 0);

	box = malloc(padded + SP_SEAL_OVERHEAD);
	assert_int_equal(crypto_box_seal(box, inner.data, padded, rpk), 0);
	make_env(&env);
	env.box = box;
	env.box_len = padded + SP_SEAL_OVERHEAD;
	assert_int_equal(sp_env_encode(&env, &out), SP_OK);
	assert_int_equal(sp_env_decode(&dec, out.data, out.len), SP_OK);
	rc = sp_env_open(&dec, rpk, rsk, &got, &plain);
	assert_int_equal(plain.len, 0);
	free(box);
	sp_buf_free(&inner);
	sp_buf_free(&out);
	sp_buf_free(&plain);
	return rc;
}

static void
test_open_refusals(void **state)
{
	/* All well-formed: only the (zero) signature is wrong. */
	assert_int_equal(open_handmade("alice@acme.test", "", 256, 0),
	    SP_E_CRYPTO);
	assert_int_equal(open_handmade("ALICE@acme.test", "", 256, 0),
	    SP_E_ADDRESS);
	assert_int_equal(open_handmade("alice@acme.test", "a/b", 256, 0),
	    SP_E_VALUE);
	assert_int_equal(open_handmade("alice@acme.test", "", 256, 1),
	    SP_E_UNKNOWN);
	/* Padded past the smallest bucket. */
	assert_int_equal(open_handmade("alice@acme.test", "", 1024, 0),
	    SP_E_MALFORMED);
}

static void
test_encode_refusals(void **state)
{
	struct sp_buf		out = SP_BUF_INIT;
	struct sp_envelope	env;
	uint8_t			box[256 + SP_SEAL_OVERHEAD] = { 0 };

	make_env(&env);
	env.box = box;
	env.box_len = sizeof(box);
	assert_int_equal(sp_env_encode(&env, &out), SP_OK);
	sp_buf_reset(&out);
	env.box_len = sizeof(box) - 1;
	assert_int_equal(sp_env_encode(&env, &out), SP_E_VALUE);
	env.box_len = sizeof(box);
	strcpy(env.org, "ACME.test");
	assert_int_equal(sp_env_encode(&env, &out), SP_E_ADDRESS);
	assert_int_equal(out.len, 0);
	sp_buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_for),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_empty_body),
		cmocka_unit_test(test_is_crypto_box_seal),
		cmocka_unit_test(test_bucket_edges),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_bad_content),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_moved_seal),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_decode_refusals),
		cmocka_unit_test(test_decode_garbage),
		cmocka_unit_test(test_check_time),
		cmocka_unit_test(test_open_refusals),
		cmocka_unit_test(test_encode_refusals),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
