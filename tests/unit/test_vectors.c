/*
 * test_vectors.c - the library against the published test vectors.
 *
 * The JSON files in spec/vectors/ come from spec/tools/genvectors.py,
 * a separate implementation written from the specification.  Every
 * vector is checked; a mismatch is printed with the vector's name and
 * the test fails at the end of its group, so one run lists every
 * disagreement.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "address.h"
#include "auth.h"
#include "buf.h"
#include "envelope.h"
#include "frame.h"
#include "msg.h"
#include "wire.h"

#define VECTOR_DIR	SEALPOST_SOURCE_DIR "/spec/vectors/"

static int	 failures;

#define FAIL(name, ...) do {						\
	fprintf(stderr, "vector \"%s\": ", (name));			\
	fprintf(stderr, __VA_ARGS__);					\
	fputc('\n', stderr);						\
	failures++;							\
} while (0)

/* Allocations of one vector, released together after it. */
#define NKEEP	16
static void	*keep[NKEEP];
static size_t	 nkeep;

static void
keep_free(void)
{
	while (nkeep > 0)
		free(keep[--nkeep]);
}

static json_t *
load(const char *file)
{
	json_error_t	 err;
	json_t		*j;

	j = json_load_file(file, 0, &err);
	if (j == NULL)
		fail_msg("%s:%d: %s", file, err.line, err.text);
	return j;
}

static json_t *
section(json_t *root, const char *key)
{
	json_t	*a;

	a = json_object_get(root, key);
	assert_non_null(a);
	assert_true(json_is_array(a));
	assert_true(json_array_size(a) > 0);
	return a;
}

static const char *
str(json_t *o, const char *key)
{
	json_t	*v;

	v = json_object_get(o, key);
	assert_non_null(v);
	assert_true(json_is_string(v));
	return json_string_value(v);
}

/* An unsigned integer: a JSON number, or a decimal string from 2^63. */
static uint64_t
juint(json_t *o, const char *key)
{
	json_t	*v;

	v = json_object_get(o, key);
	assert_non_null(v);
	if (json_is_string(v))
		return strtoull(json_string_value(v), NULL, 10);
	assert_true(json_is_integer(v));
	assert_true(json_integer_value(v) >= 0);
	return (uint64_t)json_integer_value(v);
}

/* Hex string -> freshly allocated bytes (kept until keep_free). */
static uint8_t *
hex(json_t *o, const char *key, size_t *len)
{
	const char	*s;
	uint8_t		*p;
	size_t		 n, got;

	s = str(o, key);
	n = strlen(s) / 2;
	p = malloc(n + 1);
	assert_non_null(p);
	assert_int_equal(sodium_hex2bin(p, n + 1, s, strlen(s), NULL, &got,
	    NULL), 0);
	assert_int_equal(got, n);
	assert_true(nkeep < NKEEP);
	keep[nkeep++] = p;
	*len = n;
	return p;
}

static void
hex_fixed(json_t *o, const char *key, uint8_t *out, size_t want)
{
	uint8_t	*p;
	size_t	 n;

	p = hex(o, key, &n);
	assert_int_equal(n, want);
	memcpy(out, p, n);
	free(keep[--nkeep]);
}

static void
str_copy(json_t *o, const char *key, char *out, size_t size)
{
	const char	*s;

	s = str(o, key);
	assert_true(strlen(s) < size);
	strcpy(out, s);
}

static const struct {
	const char	*name;
	int		 status;
} statuses[] = {
	{ "SP_OK", SP_OK },
	{ "SP_E_TOO_LARGE", SP_E_TOO_LARGE },
	{ "SP_E_MALFORMED", SP_E_MALFORMED },
	{ "SP_E_TYPE", SP_E_TYPE },
	{ "SP_E_MISSING", SP_E_MISSING },
	{ "SP_E_UNKNOWN", SP_E_UNKNOWN },
	{ "SP_E_LIMIT", SP_E_LIMIT },
	{ "SP_E_ADDRESS", SP_E_ADDRESS },
	{ "SP_E_CRYPTO", SP_E_CRYPTO },
	{ "SP_E_NOMEM", SP_E_NOMEM },
	{ "SP_E_VALUE", SP_E_VALUE },
	{ "SP_E_STATE", SP_E_STATE },
};

static int
status(json_t *o, const char *key)
{
	const char	*s;
	size_t		 i;

	s = str(o, key);
	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (strcmp(statuses[i].name, s) == 0)
			return statuses[i].status;
	fail_msg("unknown status name %s", s);
	return 1;
}

static const char *
status_name(int rc)
{
	size_t	 i;

	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (statuses[i].status == rc)
			return statuses[i].name;
	return "(not a status)";
}

static void
first_diff(const char *name, const char *what, const uint8_t *got,
    size_t glen, const uint8_t *want, size_t wlen)
{
	size_t	 i;

	for (i = 0; i < glen && i < wlen && got[i] == want[i]; i++)
		;
	FAIL(name, "%s differ: %zu bytes, expected %zu; first difference"
	    " at offset %zu (0x%02x, expected 0x%02x)", what, glen, wlen, i,
	    i < glen ? got[i] : 0, i < wlen ? want[i] : 0);
}

static int
same(const char *name, const char *what, const uint8_t *got, size_t glen,
    const uint8_t *want, size_t wlen)
{
	if (glen == wlen && (wlen == 0 || memcmp(got, want, wlen) == 0))
		return 1;
	first_diff(name, what, got, glen, want, wlen);
	return 0;
}

/* --- messages --- */

static enum sp_msg_type
msg_type(const char *t)
{
	int	 i;

	for (i = SP_MSG_NONE + 1; i < SP_MSG_TYPE_COUNT; i++)
		if (strcmp(sp_msg_type_name(i), t) == 0)
			return i;
	fail_msg("unknown message type %s", t);
	return SP_MSG_NONE;
}

static void
msg_from_json(struct sp_msg *m, json_t *j)
{
	const char	*key;
	json_t		*val, *d;
	size_t		 i;

	memset(m, 0, sizeof(*m));
	m->type = msg_type(str(j, "t"));
	json_object_foreach(j, key, val) {
		if (strcmp(key, "t") == 0)
			continue;
		else if (strcmp(key, "rid") == 0)
			m->rid = juint(j, key);
		else if (strcmp(key, "nonce") == 0)
			hex_fixed(j, key, m->nonce, SP_NONCE_LEN);
		else if (strcmp(key, "domain") == 0)
			str_copy(j, key, m->domain, sizeof(m->domain));
		else if (strcmp(key, "addr") == 0)
			str_copy(j, key, m->addr, sizeof(m->addr));
		else if (strcmp(key, "code") == 0)
			str_copy(j, key, m->code, sizeof(m->code));
		else if (strcmp(key, "spk") == 0)
			hex_fixed(j, key, m->spk, SP_SIGN_PK_LEN);
		else if (strcmp(key, "bpk") == 0)
			hex_fixed(j, key, m->bpk, SP_BOX_PK_LEN);
		else if (strcmp(key, "sig") == 0)
			hex_fixed(j, key, m->sig, SP_SIG_LEN);
		else if (strcmp(key, "dev") == 0)
			m->dev = juint(j, key);
		else if (strcmp(key, "err") == 0)
			m->err = juint(j, key);
		else if (strcmp(key, "msg") == 0)
			str_copy(j, key, m->msg, sizeof(m->msg));
		else if (strcmp(key, "env") == 0)
			m->env = hex(j, key, &m->env_len);
		else if (strcmp(key, "id") == 0)
			hex_fixed(j, key, m->id, SP_ID_LEN);
		else if (strcmp(key, "seq") == 0)
			m->seq = juint(j, key);
		else if (strcmp(key, "n") == 0)
			m->n = juint(j, key);
		else if (strcmp(key, "devs") == 0) {
			assert_true(json_array_size(val) <= SP_DEVICES_MAX);
			m->ndevs = json_array_size(val);
			json_array_foreach(val, i, d) {
				m->devs[i].dev = juint(d, "dev");
				hex_fixed(d, "spk", m->devs[i].spk,
				    SP_SIGN_PK_LEN);
				hex_fixed(d, "bpk", m->devs[i].bpk,
				    SP_BOX_PK_LEN);
			}
		} else
			fail_msg("unknown field %s", key);
	}
}

/* Every field, so that the decoder's zeroing of unused ones counts. */
static void
msg_compare(const char *name, const struct sp_msg *got,
    const struct sp_msg *want)
{
#define CMP(f) do {							\
	if (memcmp(&got->f, &want->f, sizeof(got->f)) != 0)		\
		FAIL(name, "decoded field %s differs", #f);		\
} while (0)
	CMP(type);
	CMP(rid);
	CMP(nonce);
	CMP(dev);
	CMP(err);
	CMP(id);
	CMP(seq);
	CMP(n);
	CMP(ndevs);
	CMP(spk);
	CMP(bpk);
	CMP(sig);
#undef CMP
#define CMPS(f) do {							\
	if (strcmp(got->f, want->f) != 0)				\
		FAIL(name, "decoded %s \"%s\", expected \"%s\"", #f,	\
		    got->f, want->f);					\
} while (0)
	CMPS(domain);
	CMPS(addr);
	CMPS(code);
	CMPS(msg);
#undef CMPS
	if (got->ndevs == want->ndevs && got->ndevs <= SP_DEVICES_MAX &&
	    memcmp(got->devs, want->devs,
	    got->ndevs * sizeof(got->devs[0])) != 0)
		FAIL(name, "decoded devs differ");
	if (got->env_len != want->env_len || (want->env_len > 0 &&
	    (got->env == NULL ||
	    memcmp(got->env, want->env, want->env_len) != 0)))
		FAIL(name, "decoded env differs");
}

static void
frames_valid(void **state)
{
	json_t		*root, *a, *v;
	struct sp_msg	 want, got;
	struct sp_buf	 out = SP_BUF_INIT;
	const uint8_t	*body;
	uint8_t		*frame;
	size_t		 i, flen, blen;
	const char	*name;
	int		 rc;

	root = load(VECTOR_DIR "frames.json");
	a = section(root, "valid");
	failures = 0;
	json_array_foreach(a, i, v) {
		name = str(v, "name");
		msg_from_json(&want, json_object_get(v, "msg"));
		frame = hex(v, "frame", &flen);

		sp_buf_reset(&out);
		if ((rc = sp_msg_encode(&want, &out)) != SP_OK)
			FAIL(name, "sp_msg_encode: %s", status_name(rc));
		else
			same(name, "encoded frame", out.data, out.len, frame,
			    flen);

		rc = sp_frame_peek(frame, flen, SP_FRAME_MAX, &body, &blen);
		if (rc != 1 || body != frame + SP_FRAME_HEADER ||
		    blen != flen - SP_FRAME_HEADER)
			FAIL(name, "sp_frame_peek returned %d", rc);

		rc = sp_msg_decode(&got, frame + SP_FRAME_HEADER,
		    flen - SP_FRAME_HEADER);
		if (rc != SP_OK)
			FAIL(name, "sp_msg_decode: %s", status_name(rc));
		else
			msg_compare(name, &got, &want);
		keep_free();
	}
	sp_buf_free(&out);
	json_decref(root);
	assert_int_equal(failures, 0);
}

static void
frames_noncanonical(void **state)
{
	json_t		*root, *a, *v;
	struct sp_msg	 want, got;
	struct sp_buf	 out = SP_BUF_INIT;
	uint8_t		*body, *frame;
	size_t		 i, len, flen;
	const char	*name;
	int		 rc;

	root = load(VECTOR_DIR "frames.json");
	a = section(root, "noncanonical");
	failures = 0;
	json_array_foreach(a, i, v) {
		name = str(v, "name");
		msg_from_json(&want, json_object_get(v, "msg"));
		body = hex(v, "body", &len);
		frame = hex(v, "frame", &flen);

		if ((rc = sp_msg_decode(&got, body, len)) != SP_OK)
			FAIL(name, "sp_msg_decode: %s", status_name(rc));
		else {
			msg_compare(name, &got, &want);
			sp_buf_reset(&out);
			if ((rc = sp_msg_encode(&got, &out)) != SP_OK)
				FAIL(name, "re-encode: %s", status_name(rc));
			else
				same(name, "re-encoded frame", out.data,
				    out.len, frame, flen);
		}
		keep_free();
	}
	sp_buf_free(&out);
	json_decref(root);
	assert_int_equal(failures, 0);
}

static void
frames_invalid(void **state)
{
	json_t		*root, *a, *v;
	struct sp_msg	 got;
	uint8_t		*body;
	size_t		 i, len;
	const char	*name;
	int		 rc, want;

	root = load(VECTOR_DIR "frames.json");
	a = section(root, "invalid");
	failures = 0;
	json_array_foreach(a, i, v) {
		name = str(v, "name");
		body = hex(v, "body", &len);
		want = status(v, "status");
		rc = sp_msg_decode(&got, body, len);
		if (rc != want)
			FAIL(name, "sp_msg_decode: %s, expected %s",
			    status_name(rc), status_name(want));
		keep_free();
	}
	json_decref(root);
	assert_int_equal(failures, 0);
}

static void
frames_encode_refused(void **state)
{
	json_t		*root, *a, *v;
	struct sp_msg	 m;
	struct sp_buf	 out = SP_BUF_INIT;
	size_t		 i;
	const char	*name;
	int		 rc, want;

	root = load(VECTOR_DIR "frames.json");
	a = section(root, "encode_refused");
	failures = 0;
	json_array_foreach(a, i, v) {
		name = str(v, "name");
		msg_from_json(&m, json_object_get(v, "msg"));
		want = status(v, "status");
		sp_buf_reset(&out);
		if ((rc = sp_msg_encode(&m, &out)) != want)
			FAIL(name, "sp_msg_encode: %s, expected %s",
			    status_name(rc), status_name(want));
		keep_free();
	}
	sp_buf_free(&out);
	json_decref(root);
	assert_int_equal(failures, 0);
}

static void
frames_peek(void **state)
{
	json_t		*root, *a, *v, *res;
	const uint8_t	*body;
	uint8_t		*bytes;
	size_t		 i, len, blen;
	const char	*name;
	int		 rc, want;

	root = load(VECTOR_DIR "frames.json");
	a = section(root, "peek");
	failures = 0;
	json_array_foreach(a, i, v) {
		name = str(v, "name");
		bytes = hex(v, "bytes", &len);
		res = json_object_get(v, "result");
		want = json_is_string(res) ? status(v, "result") :
		    (int)json_integer_value(res);
		body = NULL;
		blen = 0;
		rc = sp_frame_peek(bytes, len, juint(v, "max"), &body, &blen);
		if (rc != want)
			FAIL(name, "sp_frame_peek: %d (%s), expected %d", rc,
			    status_name(rc), want);
		else if (rc == 1 && (blen != juint(v, "body_len") ||
		    body != bytes + SP_FRAME_HEADER))
			FAIL(name, "sp_frame_peek: body_len %zu", blen);
		keep_free();
	}
	json_decref(root);
	assert_int_equal(failures, 0);
}

/* --- envelopes --- */

static void
env_from_json(struct sp_envelope *e, json_t *j)
{
	memset(e, 0, sizeof(*e));
	hex_fixed(j, "id", e->id, SP_ID_LEN);
	str_copy(j, "to", e->to, sizeof(e->to));
	e->dev = juint(j, "dev");
	str_copy(j, "org", e->org, sizeof(e->org));
	e->ts = juint(j, "ts");
	e->exp = juint(j, "exp");
	if (json_object_get(j, "box") != NULL)
		e->box = hex(j, "box", &e->box_len);
}

static void
env_compare(const char *name, const struct sp_envelope *got,
    const struct sp_envelope *want)
{
	if (memcmp(got->id, want->id, SP_ID_LEN) != 0)
		FAIL(name, "decoded id differs");
	if (strcmp(got->to, want->to) != 0)
		FAIL(name, "decoded to \"%s\"", got->to);
	if (got->dev != want->dev)
		FAIL(name, "decoded dev %u", got->dev);
	if (strcmp(got->org, want->org) != 0)
		FAIL(name, "decoded org \"%s\"", got->org);
	if (got->ts != want->ts || got->exp != want->exp)
		FAIL(name, "decoded ts/exp differ");
	if (want->box != NULL)
		same(name, "decoded box", got->box, got->box_len, want->box,
		    want->box_len);
}

static void
envelopes_valid(void **state)
{
	json_t			*root, *a, *v;
	struct sp_envelope	 want, got;
	struct sp_buf		 out = SP_BUF_INIT;
	uint8_t			*bytes;
	size_t			 i, len;
	const char		*name;
	int			 rc;

	root = load(VECTOR_DIR "envelopes.json");
	a = section(root, "valid");
	failures = 0;
	json_array_foreach(a, i, v) {
		name = str(v, "name");
		env_from_json(&want, json_object_get(v, "env"));
		bytes = hex(v, "bytes", &len);

		sp_buf_reset(&out);
		if ((rc = sp_env_encode(&want, &out)) != SP_OK)
			FAIL(name, "sp_env_encode: %s", status_name(rc));
		else
			same(name, "encoded envelope", out.data, out.len,
			    bytes, len);

		if ((rc = sp_env_decode(&got, bytes, len)) != SP_OK)
			FAIL(name, "sp_env_decode: %s", status_name(rc));
		else {
			env_compare(name, &got, &want);
			if (got.box < bytes || got.box + got.box_len >
			    bytes + len)
				FAIL(name, "box does not point into the input");
		}
		keep_free();
	}
	sp_buf_free(&out);
	json_decref(root);
	assert_int_equal(failures, 0);
}

static void
envelopes_invalid(void **state)
{
	json_t			*root, *a, *v;
	struct sp_envelope	 got;
	uint8_t			*bytes;
	size_t			 i, len;
	const char		*name;
	int			 rc, want;

	root = load(VECTOR_DIR "envelopes.json");
	a = section(root, "invalid");
	failures = 0;
	json_array_foreach(a, i, v) {
		name = str(v, "name");
		bytes = hex(v, "bytes", &len);
		want = status(v, "status");
		if ((rc = sp_env_decode(&got, bytes, len)) != want)
			FAIL(name, "sp_env_decode: %s, expected %s",
			    status_name(rc), status_name(want));
		keep_free();
	}
	json_decref(root);
	assert_int_equal(failures, 0);
}

static void
envelopes_time_and_buckets(void **state)
{
	json_t			*root, *a, *v;
	struct sp_envelope	 e;
	size_t			 i, got;
	const char		*name;
	int			 rc, want;

	root = load(VECTOR_DIR "envelopes.json");
	failures = 0;
	a = section(root, "check_time");
	json_array_foreach(a, i, v) {
		name = str(v, "name");
		env_from_json(&e, json_object_get(v, "env"));
		want = status(v, "status");
		if ((rc = sp_env_check_time(&e, juint(v, "now"))) != want)
			FAIL(name, "sp_env_check_time: %s, expected %s",
			    status_name(rc), status_name(want));
		keep_free();
	}
	a = section(root, "bucket_for");
	json_array_foreach(a, i, v) {
		got = sp_bucket_for(juint(v, "n"));
		if (got != juint(v, "bucket"))
			FAIL("bucket_for", "n %llu: %zu, expected %llu",
			    (unsigned long long)juint(v, "n"), got,
			    (unsigned long long)juint(v, "bucket"));
	}
	json_decref(root);
	assert_int_equal(failures, 0);
}

/* --- addresses --- */

static void
canon_vectors(const char *key, int domain)
{
	json_t		*root, *a, *v, *c;
	char		 out[SP_ADDR_MAX + 1], name[64];
	const char	*why, *want;
	uint8_t		*in;
	size_t		 i, len;
	int		 rc, is;

	root = load(VECTOR_DIR "addresses.json");
	a = section(root, key);
	json_array_foreach(a, i, v) {
		in = hex(v, "input_hex", &len);
		snprintf(name, sizeof(name), "%s[%zu] %.30s", key, i,
		    json_object_get(v, "input") ? str(v, "input") : "");
		c = json_object_get(v, "canonical");
		want = json_is_string(c) ? json_string_value(c) : NULL;

		memset(out, 0, sizeof(out));
		why = NULL;
		rc = domain ? sp_domain_canon((const char *)in, len, out, &why)
		    : sp_addr_canon((const char *)in, len, out, &why);
		if (want == NULL && rc != SP_E_ADDRESS)
			FAIL(name, "accepted as \"%s\" (%s)", out,
			    status_name(rc));
		else if (want == NULL && why == NULL)
			FAIL(name, "refused without a reason");
		else if (want != NULL && rc != SP_OK)
			FAIL(name, "refused (%s): %s", status_name(rc),
			    why ? why : "");
		else if (want != NULL && strcmp(out, want) != 0)
			FAIL(name, "canonical \"%s\", expected \"%s\"", out,
			    want);

		/* The predicates, for inputs that are C strings. */
		if (memchr(in, '\0', len) == NULL) {
			char	*s = strndup((const char *)in, len);

			assert_non_null(s);
			is = domain ? sp_domain_is_canonical(s) :
			    sp_addr_is_canonical(s);
			if (!is != !(want != NULL && strcmp(s, want) == 0))
				FAIL(name, "is_canonical says %d", is);
			free(s);
		}
		if (!domain && want != NULL &&
		    strcmp(sp_addr_domain(want), strchr(want, '@') + 1) != 0)
			FAIL(name, "sp_addr_domain wrong");
		keep_free();
	}
	json_decref(root);
}

static void
addresses(void **state)
{
	failures = 0;
	canon_vectors("addresses", 0);
	canon_vectors("domains", 1);
	assert_int_equal(failures, 0);
}

/* --- enrolment and authentication signatures --- */

static void
check_keys(json_t *v)
{
	uint8_t	 seed[32], pk[SP_SIGN_PK_LEN], sk[SP_SIGN_SK_LEN];
	uint8_t	 spk[SP_SIGN_PK_LEN], ssk[SP_SIGN_SK_LEN];

	if (json_object_get(v, "sign_seed") == NULL)
		return;
	hex_fixed(v, "sign_seed", seed, sizeof(seed));
	hex_fixed(v, "spk", spk, sizeof(spk));
	hex_fixed(v, "ssk", ssk, sizeof(ssk));
	crypto_sign_seed_keypair(pk, sk, seed);
	assert_memory_equal(pk, spk, sizeof(pk));
	assert_memory_equal(sk, ssk, sizeof(sk));
}

static void
auth_vectors(void **state)
{
	json_t		*root, *a, *v;
	uint8_t		 nonce[SP_NONCE_LEN], spk[SP_SIGN_PK_LEN];
	uint8_t		 ssk[SP_SIGN_SK_LEN], bpk[SP_BOX_PK_LEN];
	uint8_t		 sig[SP_SIG_LEN], want[SP_SIG_LEN];
	size_t		 i;
	const char	*name, *kind;
	int		 rc, st;

	root = load(VECTOR_DIR "auth.json");
	failures = 0;

	a = section(root, "enrol");
	json_array_foreach(a, i, v) {
		name = str(v, "name");
		check_keys(v);
		hex_fixed(v, "nonce", nonce, sizeof(nonce));
		hex_fixed(v, "spk", spk, sizeof(spk));
		hex_fixed(v, "ssk", ssk, sizeof(ssk));
		hex_fixed(v, "bpk", bpk, sizeof(bpk));
		hex_fixed(v, "sig", want, sizeof(want));
		rc = sp_auth_enrol_sign(sig, nonce, str(v, "domain"),
		    str(v, "addr"), spk, bpk, ssk);
		if (rc != SP_OK)
			FAIL(name, "sp_auth_enrol_sign: %s", status_name(rc));
		else
			same(name, "enrol signature", sig, sizeof(sig), want,
			    sizeof(want));
		if ((rc = sp_auth_enrol_verify(want, nonce, str(v, "domain"),
		    str(v, "addr"), spk, bpk)) != SP_OK)
			FAIL(name, "sp_auth_enrol_verify: %s",
			    status_name(rc));
		keep_free();
	}

	a = section(root, "auth");
	json_array_foreach(a, i, v) {
		name = str(v, "name");
		check_keys(v);
		hex_fixed(v, "nonce", nonce, sizeof(nonce));
		hex_fixed(v, "spk", spk, sizeof(spk));
		hex_fixed(v, "ssk", ssk, sizeof(ssk));
		hex_fixed(v, "sig", want, sizeof(want));
		rc = sp_auth_sign(sig, nonce, str(v, "domain"),
		    str(v, "addr"), juint(v, "dev"), ssk);
		if (rc != SP_OK)
			FAIL(name, "sp_auth_sign: %s", status_name(rc));
		else
			same(name, "auth signature", sig, sizeof(sig), want,
			    sizeof(want));
		if ((rc = sp_auth_verify(want, nonce, str(v, "domain"),
		    str(v, "addr"), juint(v, "dev"), spk)) != SP_OK)
			FAIL(name, "sp_auth_verify: %s", status_name(rc));
		keep_free();
	}

	a = section(root, "verify_fail");
	json_array_foreach(a, i, v) {
		name = str(v, "name");
		kind = str(v, "kind");
		st = status(v, "status");
		hex_fixed(v, "nonce", nonce, sizeof(nonce));
		hex_fixed(v, "spk", spk, sizeof(spk));
		hex_fixed(v, "sig", sig, sizeof(sig));
		if (strcmp(kind, "enrol") == 0) {
			hex_fixed(v, "bpk", bpk, sizeof(bpk));
			rc = sp_auth_enrol_verify(sig, nonce, str(v, "domain"),
			    str(v, "addr"), spk, bpk);
		} else
			rc = sp_auth_verify(sig, nonce, str(v, "domain"),
			    str(v, "addr"), juint(v, "dev"), spk);
		if (rc != st)
			FAIL(name, "verify: %s, expected %s", status_name(rc),
			    status_name(st));
		keep_free();
	}

	a = section(root, "sign_refused");
	json_array_foreach(a, i, v) {
		name = str(v, "name");
		kind = str(v, "kind");
		st = status(v, "status");
		hex_fixed(v, "nonce", nonce, sizeof(nonce));
		hex_fixed(v, "spk", spk, sizeof(spk));
		hex_fixed(v, "ssk", ssk, sizeof(ssk));
		hex_fixed(v, "bpk", bpk, sizeof(bpk));
		if (strcmp(kind, "enrol") == 0)
			rc = sp_auth_enrol_sign(sig, nonce, str(v, "domain"),
			    str(v, "addr"), spk, bpk, ssk);
		else
			rc = sp_auth_sign(sig, nonce, str(v, "domain"),
			    str(v, "addr"), juint(v, "dev"), ssk);
		if (rc != st)
			FAIL(name, "sign: %s, expected %s", status_name(rc),
			    status_name(st));
		keep_free();
	}

	json_decref(root);
	assert_int_equal(failures, 0);
}

/* --- the seal --- */

static void
sender_from_json(struct sp_sender *s, json_t *j)
{
	memset(s, 0, sizeof(*s));
	str_copy(j, "addr", s->addr, sizeof(s->addr));
	s->dev = juint(j, "dev");
	hex_fixed(j, "spk", s->spk, sizeof(s->spk));
	hex_fixed(j, "ssk", s->ssk, sizeof(s->ssk));
}

static void
content_from_json(struct sp_content *c, json_t *j)
{
	memset(c, 0, sizeof(*c));
	str_copy(j, "type", c->type, sizeof(c->type));
	str_copy(j, "name", c->name, sizeof(c->name));
	if (json_object_get(j, "body_len") != NULL) {
		c->body_len = juint(j, "body_len");
		c->body = calloc(1, c->body_len);
		assert_non_null(c->body);
		assert_true(nkeep < NKEEP);
		keep[nkeep++] = (void *)c->body;
	} else
		c->body = hex(j, "body", &c->body_len);
}

static void
content_compare(const char *name, const struct sp_content *got,
    const struct sp_sender *s, const struct sp_content *want)
{
	if (strcmp(got->from, s->addr) != 0)
		FAIL(name, "opened from \"%s\"", got->from);
	if (got->fdev != s->dev)
		FAIL(name, "opened fdev %u", got->fdev);
	if (memcmp(got->spk, s->spk, SP_SIGN_PK_LEN) != 0)
		FAIL(name, "opened spk differs");
	if (strcmp(got->type, want->type) != 0)
		FAIL(name, "opened type \"%s\"", got->type);
	if (strcmp(got->name, want->name) != 0)
		FAIL(name, "opened name \"%s\"", got->name);
	same(name, "opened body", got->body, got->body_len, want->body,
	    want->body_len);
}

static void
seal_cases(void **state)
{
	json_t			*root, *a, *v, *r;
	struct sp_envelope	 env, dec;
	struct sp_content	 c, got;
	struct sp_sender	 s;
	struct sp_buf		 out = SP_BUF_INIT, plain = SP_BUF_INIT;
	uint8_t			 rbpk[SP_BOX_PK_LEN], rbsk[SP_BOX_SK_LEN];
	uint8_t			 esk[SP_BOX_SK_LEN], pk[SP_BOX_PK_LEN];
	uint8_t			*want, *box;
	size_t			 i, wlen, blen, ilen;
	const char		*name;
	int			 rc;

	root = load(VECTOR_DIR "seal.json");
	a = section(root, "cases");
	failures = 0;
	json_array_foreach(a, i, v) {
		name = str(v, "name");
		env_from_json(&env, json_object_get(v, "env"));
		content_from_json(&c, json_object_get(v, "content"));
		sender_from_json(&s, json_object_get(v, "sender"));
		check_keys(json_object_get(v, "sender"));
		r = json_object_get(v, "recipient");
		hex_fixed(r, "bpk", rbpk, sizeof(rbpk));
		hex_fixed(r, "bsk", rbsk, sizeof(rbsk));
		crypto_scalarmult_base(pk, rbsk);
		assert_memory_equal(pk, rbpk, sizeof(pk));
		hex_fixed(v, "esk", esk, sizeof(esk));
		want = hex(v, "envelope", &wlen);
		box = hex(v, "box", &blen);
		(void)hex(v, "inner", &ilen);

		if (sp_bucket_for(ilen) != juint(v, "bucket"))
			FAIL(name, "sp_bucket_for(%zu) = %zu", ilen,
			    sp_bucket_for(ilen));

		/* Byte-exact with the chosen ephemeral key. */
		sp_buf_reset(&out);
		rc = sp_env_seal_with_ephemeral(&env, &c, &s, rbpk, esk, &out);
		if (rc != SP_OK)
			FAIL(name, "sp_env_seal_with_ephemeral: %s",
			    status_name(rc));
		else
			same(name, "sealed envelope", out.data, out.len, want,
			    wlen);

		/* The vector's own envelope opens to the content. */
		if ((rc = sp_env_decode(&dec, want, wlen)) != SP_OK)
			FAIL(name, "sp_env_decode: %s", status_name(rc));
		else {
			same(name, "box", dec.box, dec.box_len, box, blen);
			rc = sp_env_open(&dec, rbpk, rbsk, &got, &plain);
			if (rc != SP_OK)
				FAIL(name, "sp_env_open: %s", status_name(rc));
			else
				content_compare(name, &got, &s, &c);
		}
		sp_buf_free(&plain);

		/* A fresh seal opens too. */
		sp_buf_reset(&out);
		if ((rc = sp_env_seal(&env, &c, &s, rbpk, &out)) != SP_OK)
			FAIL(name, "sp_env_seal: %s", status_name(rc));
		else if (out.len != wlen)
			FAIL(name, "sp_env_seal length %zu", out.len);
		else if ((rc = sp_env_decode(&dec, out.data, out.len)) !=
		    SP_OK)
			FAIL(name, "decode fresh seal: %s", status_name(rc));
		else if ((rc = sp_env_open(&dec, rbpk, rbsk, &got, &plain)) !=
		    SP_OK)
			FAIL(name, "open fresh seal: %s", status_name(rc));
		else
			content_compare(name, &got, &s, &c);
		sp_buf_free(&plain);
		keep_free();
	}
	sp_buf_free(&out);
	json_decref(root);
	assert_int_equal(failures, 0);
}

static void
seal_failures(void **state)
{
	json_t			*root, *a, *v, *r;
	struct sp_envelope	 env;
	struct sp_content	 c;
	struct sp_sender	 s;
	struct sp_buf		 out = SP_BUF_INIT, plain = SP_BUF_INIT;
	uint8_t			 rbpk[SP_BOX_PK_LEN], rbsk[SP_BOX_SK_LEN];
	uint8_t			 esk[SP_BOX_SK_LEN];
	uint8_t			*bytes;
	size_t			 i, len;
	const char		*name;
	int			 rc, want;

	root = load(VECTOR_DIR "seal.json");
	failures = 0;

	a = section(root, "open_fail");
	json_array_foreach(a, i, v) {
		name = str(v, "name");
		bytes = hex(v, "envelope", &len);
		want = status(v, "status");
		r = json_object_get(v, "recipient");
		hex_fixed(r, "bpk", rbpk, sizeof(rbpk));
		hex_fixed(r, "bsk", rbsk, sizeof(rbsk));
		if ((rc = sp_env_decode(&env, bytes, len)) != SP_OK)
			FAIL(name, "sp_env_decode: %s", status_name(rc));
		else if ((rc = sp_env_open(&env, rbpk, rbsk, &c, &plain)) !=
		    want)
			FAIL(name, "sp_env_open: %s, expected %s",
			    status_name(rc), status_name(want));
		sp_buf_free(&plain);
		keep_free();
	}

	a = section(root, "seal_refused");
	json_array_foreach(a, i, v) {
		name = str(v, "name");
		want = status(v, "status");

		/* struct sp_content cannot even hold an over-long type. */
		if (strlen(str(json_object_get(v, "content"), "type")) >
		    SP_CTYPE_MAX)
			continue;
		env_from_json(&env, json_object_get(v, "env"));
		content_from_json(&c, json_object_get(v, "content"));
		sender_from_json(&s, json_object_get(v, "sender"));
		hex_fixed(json_object_get(v, "recipient"), "bpk", rbpk,
		    sizeof(rbpk));
		hex_fixed(v, "esk", esk, sizeof(esk));
		sp_buf_reset(&out);
		rc = sp_env_seal_with_ephemeral(&env, &c, &s, rbpk, esk, &out);
		if (rc != want)
			FAIL(name, "sp_env_seal_with_ephemeral: %s, expected"
			    " %s", status_name(rc), status_name(want));
		keep_free();
	}

	sp_buf_free(&out);
	json_decref(root);
	assert_int_equal(failures, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(frames_valid),
		cmocka_unit_test(frames_noncanonical),
		cmocka_unit_test(frames_invalid),
		cmocka_unit_test(frames_encode_refused),
		cmocka_unit_test(frames_peek),
		cmocka_unit_test(envelopes_valid),
		cmocka_unit_test(envelopes_invalid),
		cmocka_unit_test(envelopes_time_and_buckets),
		cmocka_unit_test(addresses),
		cmocka_unit_test(auth_vectors),
		cmocka_unit_test(seal_cases),
		cmocka_unit_test(seal_failures),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
