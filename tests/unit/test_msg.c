/*
 * test_msg.c - the strict message codec: round trips of every type and
 * every way a peer's bytes can be refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "buf.h"
#include "frame.h"
#include "msg.h"
#include "wire.h"

static uint8_t		 env_bytes[300];

/* A hand-built message body, for bytes the encoder would never make. */
static struct sp_buf	 raw = SP_BUF_INIT;
static msgpack_packer	 pk;

/* The last round trip's frame, which decoded env fields point into. */
static struct sp_buf	 frame = SP_BUF_INIT;

static void
raw_begin(size_t nkeys)
{
	sp_buf_reset(&raw);
	msgpack_packer_init(&pk, &raw, sp_buf_msgpack_write);
	if (nkeys != (size_t)-1)
		assert_int_equal(msgpack_pack_map(&pk, nkeys), 0);
}

static void
p_str(const char *s)
{
	assert_int_equal(msgpack_pack_str(&pk, strlen(s)), 0);
	assert_int_equal(msgpack_pack_str_body(&pk, s, strlen(s)), 0);
}

static void
p_strn(const char *s, size_t n)
{
	assert_int_equal(msgpack_pack_str(&pk, n), 0);
	assert_int_equal(msgpack_pack_str_body(&pk, s, n), 0);
}

static void
p_bin(size_t n)
{
	static const uint8_t zero[64];

	assert_true(n <= sizeof(zero));
	assert_int_equal(msgpack_pack_bin(&pk, n), 0);
	assert_int_equal(msgpack_pack_bin_body(&pk, zero, n), 0);
}

static void
p_uint(uint64_t v)
{
	assert_int_equal(msgpack_pack_uint64(&pk, v), 0);
}

static void
p_raw(const void *p, size_t n)
{
	assert_int_equal(sp_buf_append(&raw, p, n), SP_OK);
}

static int
raw_decode(struct sp_msg *m)
{
	return sp_msg_decode(m, raw.data, raw.len);
}

static int
teardown(void **state)
{
	sp_buf_free(&raw);
	sp_buf_free(&frame);
	return 0;
}

static void
fill(struct sp_msg *m, enum sp_msg_type type)
{
	size_t	 i;

	memset(m, 0, sizeof(*m));
	m->type = type;
	m->rid = 0x01020304;

	switch (type) {
	case SP_MSG_CHALLENGE:
		m->rid = 0;
		for (i = 0; i < SP_NONCE_LEN; i++)
			m->nonce[i] = i;
		strcpy(m->domain, "acme.test");
		break;
	case SP_MSG_ENROL:
		strcpy(m->addr, "alice@acme.test");
		strcpy(m->code, "ABCD-1234-efgh!~");
		memset(m->spk, 0x11, sizeof(m->spk));
		memset(m->bpk, 0x22, sizeof(m->bpk));
		memset(m->sig, 0x33, sizeof(m->sig));
		break;
	case SP_MSG_ENROLLED:
		m->dev = 7;
		break;
	case SP_MSG_AUTH:
		strcpy(m->addr, "alice@acme.test");
		m->dev = UINT32_MAX;
		memset(m->sig, 0x44, sizeof(m->sig));
		break;
	case SP_MSG_OK:
		m->rid = UINT32_MAX;
		break;
	case SP_MSG_ERROR:
		m->err = SP_WERR_TRY_LATER;
		strcpy(m->msg, "store is full, try again later");
		break;
	case SP_MSG_SEND:
	case SP_MSG_RELAY:
		m->env = env_bytes;
		m->env_len = sizeof(env_bytes);
		break;
	case SP_MSG_ACCEPTED:
		memset(m->id, 0xab, sizeof(m->id));
		break;
	case SP_MSG_DELIVER:
		m->rid = 0;
		m->seq = UINT64_MAX;
		m->env = env_bytes;
		m->env_len = 17;
		break;
	case SP_MSG_FETCHED:
		m->n = 12345;
		break;
	case SP_MSG_ACK:
		m->seq = (uint64_t)1 << 40;
		break;
	case SP_MSG_LOOKUP:
		strcpy(m->addr, "bob@partner.test");
		break;
	case SP_MSG_KEYS:
		strcpy(m->addr, "bob@partner.test");
		m->ndevs = 3;
		for (i = 0; i < m->ndevs; i++) {
			m->devs[i].dev = i + 1;
			memset(m->devs[i].spk, 0x50 + i, SP_SIGN_PK_LEN);
			memset(m->devs[i].bpk, 0x60 + i, SP_BOX_PK_LEN);
		}
		break;
	default:
		break;
	}
}

/*
 * Encode m, check the frame, decode it back into d and check that the
 * body is exactly what d encodes to again.
 */
static void
round_trip(const struct sp_msg *m, struct sp_msg *d)
{
	struct sp_buf	*a = &frame, b = SP_BUF_INIT;
	const uint8_t	*body;
	size_t		 body_len;

	sp_buf_reset(a);
	assert_int_equal(sp_msg_encode(m, a), SP_OK);
	assert_int_equal(sp_frame_peek(a->data, a->len, 0, &body,
	    &body_len), 1);
	assert_int_equal(body_len + SP_FRAME_HEADER, a->len);
	assert_int_equal(sp_msg_decode(d, body, body_len), SP_OK);
	assert_int_equal(d->type, m->type);

	if (d->env != NULL) {
		/* env refers to the body, not to a copy. */
		assert_true(d->env >= body);
		assert_true(d->env + d->env_len <= body + body_len);
	}

	assert_int_equal(sp_msg_encode(d, &b), SP_OK);
	assert_int_equal(a->len, b.len);
	assert_memory_equal(a->data, b.data, a->len);
	sp_buf_free(&b);
}

static void
test_round_trip_all(void **state)
{
	struct sp_msg	*m, *d;
	size_t		 i;
	int		 type;

	for (i = 0; i < sizeof(env_bytes); i++)
		env_bytes[i] = i * 7;
	assert_non_null(m = malloc(sizeof(*m)));
	assert_non_null(d = malloc(sizeof(*d)));

	for (type = SP_MSG_NONE + 1; type < SP_MSG_TYPE_COUNT; type++) {
		fill(m, type);
		memset(d, 0xee, sizeof(*d));
		round_trip(m, d);

		/* Everything came back, and nothing else is set. */
		if (m->env != NULL) {
			assert_int_equal(d->env_len, m->env_len);
			assert_memory_equal(d->env, m->env, m->env_len);
			d->env = m->env;
		}
		if (memcmp(m, d, sizeof(*m)) != 0)
			fail_msg("%s differs after a round trip",
			    sp_msg_type_name(type));
	}
	free(m);
	free(d);
}

static void
test_golden(void **state)
{
	static const uint8_t ping[] = { 0x00, 0x00, 0x00, 0x0d,
	    0x82, 0xa1, 't', 0xa4, 'p', 'i', 'n', 'g',
	    0xa3, 'r', 'i', 'd', 0x07 };
	static const uint8_t ack[] = { 0x00, 0x00, 0x00, 0x1b,
	    0x83, 0xa1, 't', 0xa3, 'a', 'c', 'k',
	    0xa3, 'r', 'i', 'd', 0xcd, 0x01, 0x00,
	    0xa3, 's', 'e', 'q', 0xcf, 0, 0, 0, 1, 0, 0, 0, 0 };
	struct sp_msg	 m;
	struct sp_buf	 b = SP_BUF_INIT;

	memset(&m, 0, sizeof(m));
	m.type = SP_MSG_PING;
	m.rid = 7;
	assert_int_equal(sp_msg_encode(&m, &b), SP_OK);
	assert_int_equal(b.len, sizeof(ping));
	assert_memory_equal(b.data, ping, sizeof(ping));

	/* Appends: the second frame follows the first. */
	m.type = SP_MSG_ACK;
	m.rid = 256;
	m.seq = (uint64_t)1 << 32;
	assert_int_equal(sp_msg_encode(&m, &b), SP_OK);
	assert_int_equal(b.len, sizeof(ping) + sizeof(ack));
	assert_memory_equal(b.data + sizeof(ping), ack, sizeof(ack));
	sp_buf_free(&b);
}

static void
test_keys_devices(void **state)
{
	struct sp_msg	 m, d;
	size_t		 i;

	/* No devices, then the most a user may have. */
	fill(&m, SP_MSG_KEYS);
	m.ndevs = 0;
	round_trip(&m, &d);
	assert_int_equal(d.ndevs, 0);

	m.ndevs = SP_DEVICES_MAX;
	for (i = 0; i < m.ndevs; i++) {
		m.devs[i].dev = 1000 + i;
		memset(m.devs[i].spk, i, SP_SIGN_PK_LEN);
		memset(m.devs[i].bpk, ~i, SP_BOX_PK_LEN);
	}
	round_trip(&m, &d);
	assert_int_equal(d.ndevs, SP_DEVICES_MAX);
	assert_memory_equal(d.devs, m.devs, sizeof(m.devs));

	m.ndevs = SP_DEVICES_MAX + 1;
	assert_int_equal(sp_msg_encode(&m, &raw), SP_E_VALUE);
}

static void
test_empty_env(void **state)
{
	struct sp_msg	 m, d;

	fill(&m, SP_MSG_SEND);
	m.env = NULL;
	m.env_len = 0;
	round_trip(&m, &d);
	assert_int_equal(d.env_len, 0);

	m.env_len = 1;
	assert_int_equal(sp_msg_encode(&m, &raw), SP_E_VALUE);
}

static void
test_oversize(void **state)
{
	struct sp_buf	 b = SP_BUF_INIT;
	struct sp_msg	 m, d;
	uint8_t		*env, *big;
	const uint8_t	*body;
	size_t		 body_len, before;

	/* A send body is 22 bytes of keys and headers, then env. */
	assert_non_null(env = calloc(1, SP_FRAME_MAX + 1));
	fill(&m, SP_MSG_SEND);
	m.rid = 1;
	m.env = env;
	m.env_len = SP_FRAME_MAX - 22;
	assert_int_equal(sp_msg_encode(&m, &b), SP_OK);
	assert_int_equal(b.len, SP_FRAME_HEADER + SP_FRAME_MAX);
	assert_int_equal(sp_frame_peek(b.data, b.len, 0, &body, &body_len),
	    1);
	assert_int_equal(sp_msg_decode(&d, body, body_len), SP_OK);
	assert_int_equal(d.env_len, SP_FRAME_MAX - 22);
	assert_ptr_equal(d.env, body + 22);

	/* The decoder refuses a body over the frame bound outright. */
	assert_non_null(big = malloc(SP_FRAME_MAX + 1));
	memcpy(big, body, SP_FRAME_MAX);
	big[SP_FRAME_MAX] = 0;
	assert_int_equal(sp_msg_decode(&d, big, SP_FRAME_MAX + 1),
	    SP_E_TOO_LARGE);

	/* One byte more, and the encoder leaves out as it was. */
	before = b.len;
	m.env_len++;
	assert_int_equal(sp_msg_encode(&m, &b), SP_E_TOO_LARGE);
	assert_int_equal(b.len, before);
	m.env_len = SP_FRAME_MAX + 1;
	assert_int_equal(sp_msg_encode(&m, &b), SP_E_TOO_LARGE);
	assert_int_equal(b.len, before);
	free(big);
	free(env);
	sp_buf_free(&b);
}

static void
test_refuse_keys(void **state)
{
	struct sp_msg	 m;

	/* Unknown key; the type and rid are still reported. */
	raw_begin(3);
	p_str("t"); p_str("ping");
	p_str("rid"); p_uint(7);
	p_str("x"); p_uint(1);
	assert_int_equal(raw_decode(&m), SP_E_UNKNOWN);
	assert_int_equal(m.type, SP_MSG_PING);
	assert_int_equal(m.rid, 7);

	/* Duplicate key. */
	raw_begin(3);
	p_str("t"); p_str("ping");
	p_str("rid"); p_uint(7);
	p_str("rid"); p_uint(7);
	assert_int_equal(raw_decode(&m), SP_E_UNKNOWN);

	/* Duplicate type. */
	raw_begin(3);
	p_str("t"); p_str("ping");
	p_str("rid"); p_uint(7);
	p_str("t"); p_str("ping");
	assert_int_equal(raw_decode(&m), SP_E_UNKNOWN);

	/* Unknown type. */
	raw_begin(2);
	p_str("t"); p_str("pong");
	p_str("rid"); p_uint(7);
	assert_int_equal(raw_decode(&m), SP_E_UNKNOWN);
	assert_int_equal(m.type, SP_MSG_NONE);

	/* A key of another type of message. */
	raw_begin(3);
	p_str("t"); p_str("ok");
	p_str("rid"); p_uint(7);
	p_str("dev"); p_uint(7);
	assert_int_equal(raw_decode(&m), SP_E_UNKNOWN);

	/* Key case matters. */
	raw_begin(2);
	p_str("t"); p_str("ping");
	p_str("RID"); p_uint(7);
	assert_int_equal(raw_decode(&m), SP_E_UNKNOWN);

	/* A key that is not a string. */
	raw_begin(3);
	p_str("t"); p_str("ping");
	p_str("rid"); p_uint(7);
	p_uint(1); p_uint(2);
	assert_int_equal(raw_decode(&m), SP_E_TYPE);
}

static void
test_refuse_missing(void **state)
{
	struct sp_msg	 m;

	raw_begin(1);
	p_str("t"); p_str("ping");
	assert_int_equal(raw_decode(&m), SP_E_MISSING);
	assert_int_equal(m.type, SP_MSG_PING);

	raw_begin(1);
	p_str("rid"); p_uint(7);
	assert_int_equal(raw_decode(&m), SP_E_MISSING);

	raw_begin(0);
	assert_int_equal(raw_decode(&m), SP_E_MISSING);

	/* An auth without its signature. */
	raw_begin(4);
	p_str("t"); p_str("auth");
	p_str("rid"); p_uint(3);
	p_str("addr"); p_str("alice@acme.test");
	p_str("dev"); p_uint(1);
	assert_int_equal(raw_decode(&m), SP_E_MISSING);
	assert_int_equal(m.rid, 3);
	assert_string_equal(m.addr, "");
	assert_int_equal(m.dev, 0);
}

static void
test_refuse_types(void **state)
{
	struct sp_msg	 m;

	/* The body is not a map. */
	raw_begin(-1);
	msgpack_pack_array(&pk, 1);
	p_str("ping");
	assert_int_equal(raw_decode(&m), SP_E_TYPE);

	/* "t" is not a string. */
	raw_begin(2);
	p_str("t"); p_uint(1);
	p_str("rid"); p_uint(7);
	assert_int_equal(raw_decode(&m), SP_E_TYPE);

	/* A string, a negative number, nil, bool and bin for rid. */
	raw_begin(2);
	p_str("t"); p_str("ping");
	p_str("rid"); p_str("7");
	assert_int_equal(raw_decode(&m), SP_E_TYPE);

	raw_begin(2);
	p_str("t"); p_str("ping");
	p_str("rid"); msgpack_pack_int64(&pk, -1);
	assert_int_equal(raw_decode(&m), SP_E_TYPE);

	raw_begin(2);
	p_str("t"); p_str("ping");
	p_str("rid"); msgpack_pack_nil(&pk);
	assert_int_equal(raw_decode(&m), SP_E_TYPE);

	raw_begin(2);
	p_str("t"); p_str("ping");
	p_str("rid"); msgpack_pack_true(&pk);
	assert_int_equal(raw_decode(&m), SP_E_TYPE);

	raw_begin(2);
	p_str("t"); p_str("ping");
	p_str("rid"); p_bin(1);
	assert_int_equal(raw_decode(&m), SP_E_TYPE);

	/* A float, which the pre-check refuses. */
	raw_begin(2);
	p_str("t"); p_str("ping");
	p_str("rid"); msgpack_pack_double(&pk, 7.0);
	assert_int_equal(raw_decode(&m), SP_E_TYPE);

	/* A string where bin belongs, and the reverse. */
	raw_begin(3);
	p_str("t"); p_str("challenge");
	p_str("nonce"); p_str("0123456789abcdef0123456789abcdef");
	p_str("domain"); p_str("acme.test");
	assert_int_equal(raw_decode(&m), SP_E_TYPE);

	raw_begin(3);
	p_str("t"); p_str("lookup");
	p_str("rid"); p_uint(1);
	p_str("addr"); p_bin(15);
	assert_int_equal(raw_decode(&m), SP_E_TYPE);

	raw_begin(3);
	p_str("t"); p_str("send");
	p_str("rid"); p_uint(1);
	p_str("env"); p_str("sealed");
	assert_int_equal(raw_decode(&m), SP_E_TYPE);

	/* devs is not an array, or holds something else than maps. */
	raw_begin(4);
	p_str("t"); p_str("keys");
	p_str("rid"); p_uint(1);
	p_str("addr"); p_str("bob@acme.test");
	p_str("devs"); p_uint(1);
	assert_int_equal(raw_decode(&m), SP_E_TYPE);

	raw_begin(4);
	p_str("t"); p_str("keys");
	p_str("rid"); p_uint(1);
	p_str("addr"); p_str("bob@acme.test");
	p_str("devs"); msgpack_pack_array(&pk, 1); p_uint(1);
	assert_int_equal(raw_decode(&m), SP_E_TYPE);
}

static void
test_refuse_values(void **state)
{
	struct sp_msg	 m;
	char		 s[SP_ERRMSG_MAX + 2];

	/* rid is 32-bit; seq takes all 64. */
	raw_begin(2);
	p_str("t"); p_str("ping");
	p_str("rid"); p_uint((uint64_t)UINT32_MAX + 1);
	assert_int_equal(raw_decode(&m), SP_E_VALUE);
	assert_int_equal(m.rid, 0);

	raw_begin(3);
	p_str("t"); p_str("ack");
	p_str("rid"); p_uint(UINT32_MAX);
	p_str("seq"); p_uint(UINT64_MAX);
	assert_int_equal(raw_decode(&m), SP_OK);
	assert_int_equal(m.rid, UINT32_MAX);
	assert_true(m.seq == UINT64_MAX);

	/* Fixed-size bins must be exactly their size. */
	raw_begin(3);
	p_str("t"); p_str("accepted");
	p_str("rid"); p_uint(1);
	p_str("id"); p_bin(SP_ID_LEN - 1);
	assert_int_equal(raw_decode(&m), SP_E_VALUE);

	raw_begin(3);
	p_str("t"); p_str("accepted");
	p_str("rid"); p_uint(1);
	p_str("id"); p_bin(SP_ID_LEN + 1);
	assert_int_equal(raw_decode(&m), SP_E_VALUE);

	/* The nonce comes first: a failure later still zeroes it. */
	raw_begin(3);
	p_str("t"); p_str("challenge");
	p_raw("\xa5nonce\xc4\x20" "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", 40);
	p_str("domain"); p_str("acme");
	assert_int_equal(raw_decode(&m), SP_E_ADDRESS);
	assert_int_equal(m.type, SP_MSG_CHALLENGE);
	assert_int_equal(m.nonce[0], 0);

	/* Error text: printable ASCII, at most SP_ERRMSG_MAX bytes. */
	memset(s, 'x', sizeof(s));
	s[SP_ERRMSG_MAX] = '\0';
	raw_begin(4);
	p_str("t"); p_str("error");
	p_str("rid"); p_uint(1);
	p_str("err"); p_uint(SP_WERR_STATE);
	p_str("msg"); p_str(s);
	assert_int_equal(raw_decode(&m), SP_OK);
	assert_int_equal(strlen(m.msg), SP_ERRMSG_MAX);

	s[SP_ERRMSG_MAX] = 'x';
	s[SP_ERRMSG_MAX + 1] = '\0';
	raw_begin(4);
	p_str("t"); p_str("error");
	p_str("rid"); p_uint(1);
	p_str("err"); p_uint(SP_WERR_STATE);
	p_str("msg"); p_str(s);
	assert_int_equal(raw_decode(&m), SP_E_VALUE);

	raw_begin(4);
	p_str("t"); p_str("error");
	p_str("rid"); p_uint(1);
	p_str("err"); p_uint(1);
	p_str("msg"); p_str("line\nbreak");
	assert_int_equal(raw_decode(&m), SP_E_VALUE);

	raw_begin(4);
	p_str("t"); p_str("error");
	p_str("rid"); p_uint(1);
	p_str("err"); p_uint(1);
	p_strn("msg", 3); p_strn("a\0b", 3);
	assert_int_equal(raw_decode(&m), SP_E_VALUE);

	raw_begin(4);
	p_str("t"); p_str("error");
	p_str("rid"); p_uint(1);
	p_str("err"); p_uint(1);
	p_str("msg"); p_str("caf\xc3\xa9");
	assert_int_equal(raw_decode(&m), SP_E_VALUE);

	raw_begin(4);
	p_str("t"); p_str("error");
	p_str("rid"); p_uint(1);
	p_str("err"); p_uint(1);
	p_str("msg"); p_str("");
	assert_int_equal(raw_decode(&m), SP_OK);
}

/* An enrol message whose code is the n bytes at code. */
static int
enrol_with_code(struct sp_msg *m, const char *code, size_t n)
{
	raw_begin(7);
	p_str("t"); p_str("enrol");
	p_str("rid"); p_uint(5);
	p_str("addr"); p_str("alice@acme.test");
	p_str("code"); p_strn(code, n);
	p_str("spk"); p_bin(SP_SIGN_PK_LEN);
	p_str("bpk"); p_bin(SP_BOX_PK_LEN);
	p_str("sig"); p_bin(SP_SIG_LEN);
	return raw_decode(m);
}

static void
test_refuse_code(void **state)
{
	struct sp_msg	 m;
	char		 code[SP_CODE_MAX + 1];

	memset(code, 'K', sizeof(code));
	assert_int_equal(enrol_with_code(&m, code, SP_CODE_MAX), SP_OK);
	assert_int_equal(strlen(m.code), SP_CODE_MAX);
	assert_int_equal(enrol_with_code(&m, code, 1), SP_OK);
	assert_string_equal(m.code, "K");

	assert_int_equal(enrol_with_code(&m, code, SP_CODE_MAX + 1),
	    SP_E_VALUE);
	assert_int_equal(m.rid, 5);
	assert_int_equal(enrol_with_code(&m, code, 0), SP_E_VALUE);
	assert_int_equal(enrol_with_code(&m, "AB CD", 5), SP_E_VALUE);
	assert_int_equal(enrol_with_code(&m, "AB\tCD", 5), SP_E_VALUE);
	assert_int_equal(enrol_with_code(&m, "AB\x7f", 3), SP_E_VALUE);
	assert_int_equal(enrol_with_code(&m, "AB\0CD", 5), SP_E_VALUE);
	assert_int_equal(enrol_with_code(&m, "\xc3\xa9", 2), SP_E_VALUE);
}

static int
lookup_of(struct sp_msg *m, const char *addr, size_t n)
{
	raw_begin(3);
	p_str("t"); p_str("lookup");
	p_str("addr"); p_strn(addr, n);
	p_str("rid"); p_uint(11);
	return raw_decode(m);
}

static void
test_refuse_address(void **state)
{
	struct sp_msg	 m;
	char		 longaddr[400];

	assert_int_equal(lookup_of(&m, "bob@acme.test", 13), SP_OK);
	assert_string_equal(m.addr, "bob@acme.test");

	/* Not canonical is refused, not folded: the rid still comes
	 * back although it follows the address. */
	assert_int_equal(lookup_of(&m, "Bob@acme.test", 13), SP_E_ADDRESS);
	assert_int_equal(m.type, SP_MSG_LOOKUP);
	assert_int_equal(m.rid, 11);
	assert_string_equal(m.addr, "");

	assert_int_equal(lookup_of(&m, "bob@acme", 8), SP_E_ADDRESS);
	assert_int_equal(lookup_of(&m, "bob@acme.test.", 14), SP_E_ADDRESS);
	assert_int_equal(lookup_of(&m, "", 0), SP_E_ADDRESS);
	assert_int_equal(lookup_of(&m, "bob@acme.test\0x", 15),
	    SP_E_ADDRESS);
	assert_int_equal(lookup_of(&m, "bob\0@acme.test", 14),
	    SP_E_ADDRESS);

	/* The whole address holds at most SP_ADDR_MAX characters. */
	memset(longaddr, 'a', 64);
	longaddr[64] = '@';
	memset(longaddr + 65, 'b', 200);
	longaddr[65 + 63] = '.';
	longaddr[65 + 127] = '.';
	assert_int_equal(lookup_of(&m, longaddr, SP_ADDR_MAX), SP_OK);
	assert_int_equal(strlen(m.addr), SP_ADDR_MAX);
	assert_int_equal(lookup_of(&m, longaddr, SP_ADDR_MAX + 1),
	    SP_E_ADDRESS);

	memset(longaddr, 'a', sizeof(longaddr));
	memcpy(longaddr + 300, "@acme.test", 10);
	assert_int_equal(lookup_of(&m, longaddr, 310), SP_E_ADDRESS);
	assert_int_equal(lookup_of(&m, longaddr, sizeof(longaddr)),
	    SP_E_ADDRESS);

	/* The challenge's domain too. */
	raw_begin(3);
	p_str("t"); p_str("challenge");
	p_str("nonce"); p_bin(SP_NONCE_LEN);
	p_str("domain"); p_str("ACME.test");
	assert_int_equal(raw_decode(&m), SP_E_ADDRESS);
}

static void
test_refuse_device_maps(void **state)
{
	struct sp_msg	 m;
	size_t		 i;

	/* A device without its box key. */
	raw_begin(4);
	p_str("t"); p_str("keys");
	p_str("rid"); p_uint(1);
	p_str("addr"); p_str("bob@acme.test");
	p_str("devs"); msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 2);
	p_str("dev"); p_uint(1);
	p_str("spk"); p_bin(SP_SIGN_PK_LEN);
	assert_int_equal(raw_decode(&m), SP_E_MISSING);
	assert_int_equal(m.ndevs, 0);

	/* A device with one key too many. */
	raw_begin(4);
	p_str("t"); p_str("keys");
	p_str("rid"); p_uint(1);
	p_str("addr"); p_str("bob@acme.test");
	p_str("devs"); msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 4);
	p_str("dev"); p_uint(1);
	p_str("spk"); p_bin(SP_SIGN_PK_LEN);
	p_str("bpk"); p_bin(SP_BOX_PK_LEN);
	p_str("t"); p_str("keys");
	assert_int_equal(raw_decode(&m), SP_E_UNKNOWN);

	/* A device key of the wrong size. */
	raw_begin(4);
	p_str("t"); p_str("keys");
	p_str("rid"); p_uint(1);
	p_str("addr"); p_str("bob@acme.test");
	p_str("devs"); msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 3);
	p_str("dev"); p_uint(1);
	p_str("spk"); p_bin(SP_SIGN_PK_LEN);
	p_str("bpk"); p_bin(SP_BOX_PK_LEN + 1);
	assert_int_equal(raw_decode(&m), SP_E_VALUE);

	/* More devices than a user may have. */
	raw_begin(4);
	p_str("t"); p_str("keys");
	p_str("rid"); p_uint(1);
	p_str("addr"); p_str("bob@acme.test");
	p_str("devs"); msgpack_pack_array(&pk, SP_DEVICES_MAX + 1);
	for (i = 0; i < SP_DEVICES_MAX + 1; i++) {
		msgpack_pack_map(&pk, 3);
		p_str("dev"); p_uint(i);
		p_str("spk"); p_bin(SP_SIGN_PK_LEN);
		p_str("bpk"); p_bin(SP_BOX_PK_LEN);
	}
	assert_int_equal(raw_decode(&m), SP_E_LIMIT);
}

static void
test_refuse_structure(void **state)
{
	static const uint8_t map32[] = { 0xdf, 0xff, 0xff, 0xff, 0xff,
	    0xa1, 't' };
	static const uint8_t arr32[] = { 0x84, 0xa1, 't', 0xa4, 'k', 'e',
	    'y', 's', 0xa3, 'r', 'i', 'd', 0x01, 0xa4, 'a', 'd', 'd', 'r',
	    0xa5, 'b', '@', 'a', '.', 'b', 0xa4, 'd', 'e', 'v', 's',
	    0xdd, 0xee, 0x6b, 0x28, 0x00 };
	static const uint8_t longstr[] = { 0x81, 0xa1, 't', 0xdb, 0x00,
	    0x01, 0x00, 0x00, 'p', 'i', 'n', 'g' };
	static const uint8_t ping[] = { 0x82, 0xa1, 't', 0xa4, 'p', 'i',
	    'n', 'g', 0xa3, 'r', 'i', 'd', 0x07, 0x00 };
	struct sp_msg	 m;

	assert_int_equal(sp_msg_decode(&m, map32, sizeof(map32)),
	    SP_E_LIMIT);
	assert_int_equal(sp_msg_decode(&m, arr32, sizeof(arr32)),
	    SP_E_LIMIT);
	assert_int_equal(sp_msg_decode(&m, longstr, sizeof(longstr)),
	    SP_E_MALFORMED);

	/* A trailing byte after a good message. */
	assert_int_equal(sp_msg_decode(&m, ping, sizeof(ping) - 1), SP_OK);
	assert_int_equal(sp_msg_decode(&m, ping, sizeof(ping)),
	    SP_E_MALFORMED);
	assert_int_equal(m.type, SP_MSG_NONE);
	assert_int_equal(sp_msg_decode(&m, ping, sizeof(ping) - 2),
	    SP_E_MALFORMED);
	assert_int_equal(sp_msg_decode(&m, ping, 0), SP_E_MALFORMED);

	/* Nesting one level deeper than allowed. */
	raw_begin(3);
	p_str("t"); p_str("ping");
	p_str("rid"); p_uint(1);
	p_str("x");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_array(&pk, 1);
	p_uint(1);
	assert_int_equal(raw_decode(&m), SP_E_LIMIT);

	/* Too many entries in the top map. */
	raw_begin(SP_MSGPACK_MAX_MAP + 1);
	p_str("t"); p_str("ping");
	p_str("rid"); p_uint(1);
	for (size_t i = 2; i < SP_MSGPACK_MAX_MAP + 1; i++) {
		p_uint(i);
		p_uint(i);
	}
	assert_int_equal(raw_decode(&m), SP_E_LIMIT);

	/* An ext value. */
	raw_begin(2);
	p_str("t"); p_str("ping");
	p_str("rid"); p_raw("\xd4\x01\x07", 3);
	assert_int_equal(raw_decode(&m), SP_E_TYPE);
}

static void
test_encode_refuses(void **state)
{
	struct sp_buf	 b = SP_BUF_INIT;
	struct sp_msg	 m;

	assert_int_equal(sp_buf_append(&b, "keep", 4), SP_OK);

	fill(&m, SP_MSG_LOOKUP);
	strcpy(m.addr, "Bob@partner.test");
	assert_int_equal(sp_msg_encode(&m, &b), SP_E_VALUE);
	strcpy(m.addr, "bob@partner");
	assert_int_equal(sp_msg_encode(&m, &b), SP_E_VALUE);
	m.addr[0] = '\0';
	assert_int_equal(sp_msg_encode(&m, &b), SP_E_VALUE);
	memset(m.addr, 'a', sizeof(m.addr));
	assert_int_equal(sp_msg_encode(&m, &b), SP_E_VALUE);

	fill(&m, SP_MSG_CHALLENGE);
	strcpy(m.domain, "acme.test.");
	assert_int_equal(sp_msg_encode(&m, &b), SP_E_VALUE);

	fill(&m, SP_MSG_ENROL);
	m.code[0] = '\0';
	assert_int_equal(sp_msg_encode(&m, &b), SP_E_VALUE);
	strcpy(m.code, "has space");
	assert_int_equal(sp_msg_encode(&m, &b), SP_E_VALUE);
	memset(m.code, 'x', sizeof(m.code));
	assert_int_equal(sp_msg_encode(&m, &b), SP_E_VALUE);

	fill(&m, SP_MSG_ERROR);
	strcpy(m.msg, "two\nlines");
	assert_int_equal(sp_msg_encode(&m, &b), SP_E_VALUE);
	memset(m.msg, 'x', sizeof(m.msg));
	assert_int_equal(sp_msg_encode(&m, &b), SP_E_VALUE);

	fill(&m, SP_MSG_PING);
	m.type = SP_MSG_NONE;
	assert_int_equal(sp_msg_encode(&m, &b), SP_E_VALUE);
	m.type = SP_MSG_TYPE_COUNT;
	assert_int_equal(sp_msg_encode(&m, &b), SP_E_VALUE);

	/* Nothing was left behind by any refusal. */
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.data, "keep", 4);
	sp_buf_free(&b);
}

static void
test_msg_error(void **state)
{
	struct sp_msg	 m, d;
	char		 text[400];

	sp_msg_error(&m, 42, SP_WERR_NO_SUCH_USER, "no\tsuch \x01user\n");
	assert_int_equal(m.type, SP_MSG_ERROR);
	assert_int_equal(m.rid, 42);
	assert_int_equal(m.err, SP_WERR_NO_SUCH_USER);
	assert_string_equal(m.msg, "nosuch user");
	round_trip(&m, &d);
	assert_string_equal(d.msg, "nosuch user");

	memset(text, 'y', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	sp_msg_error(&m, 1, SP_WERR_INTERNAL, text);
	assert_int_equal(strlen(m.msg), SP_ERRMSG_MAX);
	round_trip(&m, &d);

	sp_msg_error(&m, 1, SP_WERR_INTERNAL, NULL);
	assert_string_equal(m.msg, "");
	round_trip(&m, &d);
}

static void
test_names(void **state)
{
	struct sp_msg	 m, d;
	int		 a, b;

	assert_string_equal(sp_msg_type_name(SP_MSG_NONE), "?");
	assert_string_equal(sp_msg_type_name(SP_MSG_TYPE_COUNT), "?");
	assert_string_equal(sp_msg_type_name(SP_MSG_CHALLENGE), "challenge");
	assert_string_equal(sp_msg_type_name(SP_MSG_PING), "ping");
	for (a = SP_MSG_NONE + 1; a < SP_MSG_TYPE_COUNT; a++)
		for (b = a + 1; b < SP_MSG_TYPE_COUNT; b++)
			assert_string_not_equal(sp_msg_type_name(a),
			    sp_msg_type_name(b));

	/* The decoder finds each type by its wire name. */
	for (a = SP_MSG_NONE + 1; a < SP_MSG_TYPE_COUNT; a++) {
		fill(&m, a);
		round_trip(&m, &d);
		assert_int_equal(d.type, a);
	}

	assert_string_equal(sp_wire_error_name(SP_WERR_BAD_FRAME),
	    "bad_frame");
	assert_string_equal(sp_wire_error_name(SP_WERR_TRY_LATER),
	    "try_later");
	assert_string_equal(sp_wire_error_name(SP_WERR_PEER_UNREACHABLE),
	    "peer_unreachable");
	assert_string_equal(sp_wire_error_name(SP_WERR_INTERNAL),
	    "internal");
	assert_string_equal(sp_wire_error_name(0), "unknown");
	assert_string_equal(sp_wire_error_name(SP_WERR_INTERNAL + 1),
	    "unknown");
	for (a = SP_E_STATE - 1; a <= 1; a++)
		assert_non_null(sp_strerror(a));
	assert_string_not_equal(sp_strerror(SP_E_LIMIT),
	    sp_strerror(SP_E_MALFORMED));

	assert_int_equal(sp_buckets[0], 256);
	assert_int_equal(sp_buckets[SP_BUCKET_COUNT - 1], SP_PLAINTEXT_MAX);
	for (a = 1; a < SP_BUCKET_COUNT; a++)
		assert_true(sp_buckets[a] > sp_buckets[a - 1]);
}

static void
test_buf(void **state)
{
	struct sp_buf	 b = SP_BUF_INIT;
	uint8_t		 chunk[1000];
	size_t		 i;

	for (i = 0; i < sizeof(chunk); i++)
		chunk[i] = i;
	for (i = 0; i < 100; i++)
		assert_int_equal(sp_buf_append(&b, chunk, sizeof(chunk)),
		    SP_OK);
	assert_int_equal(b.len, 100 * sizeof(chunk));
	assert_true(b.cap >= b.len);
	assert_memory_equal(b.data + 99 * sizeof(chunk), chunk,
	    sizeof(chunk));

	sp_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_non_null(b.data);
	assert_int_equal(sp_buf_append(&b, NULL, 0), SP_OK);
	assert_int_equal(sp_buf_reserve(&b, SIZE_MAX), SP_E_NOMEM);
	assert_int_equal(sp_buf_msgpack_write(&b, "ab", 2), 0);
	assert_int_equal(b.len, 2);

	sp_buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_int_equal(sp_buf_append(&b, "x", 1), SP_OK);
	sp_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_all),
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_keys_devices),
		cmocka_unit_test(test_empty_env),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_refuse_keys),
		cmocka_unit_test(test_refuse_missing),
		cmocka_unit_test(test_refuse_types),
		cmocka_unit_test(test_refuse_values),
		cmocka_unit_test(test_refuse_code),
		cmocka_unit_test(test_refuse_address),
		cmocka_unit_test(test_refuse_device_maps),
		cmocka_unit_test(test_refuse_structure),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_msg_error),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_buf),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
