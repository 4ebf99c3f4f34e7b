/*
 * test_session.c - the device session driven by a small scripted relay
 * that speaks through plain buffers with sp_msg_encode / sp_msg_decode.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "auth.h"
#include "buf.h"
#include "frame.h"
#include "msg.h"
#include "session.h"
#include "wire.h"

#define DOMAIN	"acme.test"

/* The relay's end: what it sends and what it has read. */
struct relay {
	uint8_t		nonce[SP_NONCE_LEN];
	struct sp_buf	out;		/* relay -> device */
	struct sp_buf	in;		/* device -> relay */
	size_t		in_off;
};

static void
relay_init(struct relay *r)
{
	memset(r, 0, sizeof(*r));
	randombytes_buf(r->nonce, sizeof(r->nonce));
}

static void
relay_free(struct relay *r)
{
	sp_buf_free(&r->out);
	sp_buf_free(&r->in);
}

static void
relay_send(struct relay *r, const struct sp_msg *m)
{
	assert_int_equal(sp_msg_encode(m, &r->out), SP_OK);
}

static void
relay_challenge(struct relay *r, const char *domain)
{
	struct sp_msg	m;

	memset(&m, 0, sizeof(m));
	m.type = SP_MSG_CHALLENGE;
	memcpy(m.nonce, r->nonce, SP_NONCE_LEN);
	strcpy(m.domain, domain);
	relay_send(r, &m);
}

static void
relay_reply(struct relay *r, enum sp_msg_type type, uint32_t rid)
{
	struct sp_msg	m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.rid = rid;
	relay_send(r, &m);
}

static void
relay_error(struct relay *r, uint32_t rid, enum sp_wire_error err,
    const char *text)
{
	struct sp_msg	m;

	sp_msg_error(&m, rid, err, text);
	relay_send(r, &m);
}

/* Hand everything the relay wrote to the session, chunk bytes at a
 * time; returns the first failure or SP_OK. */
static int
relay_flush(struct relay *r, struct sp_session *s, size_t chunk)
{
	size_t	off, n;
	int	rc = SP_OK;

	for (off = 0; off < r->out.len && rc == SP_OK; off += n) {
		n = r->out.len - off < chunk ? r->out.len - off : chunk;
		rc = sp_session_input(s, r->out.data + off, n);
	}
	sp_buf_reset(&r->out);
	return rc;
}

/* Next message the device sent, or 0 when there is none.  m->env
 * points into r->in until the next call. */
static int
relay_next(struct relay *r, struct sp_session *s, struct sp_msg *m)
{
	const uint8_t	*data, *body;
	size_t		 len, blen;
	int		 rc;

	sp_session_output(s, &data, &len);
	if (len > 0) {
		assert_int_equal(sp_buf_append(&r->in, data, len), SP_OK);
		sp_session_consume(s, len);
	}
	rc = sp_frame_peek(r->in.data + r->in_off, r->in.len - r->in_off,
	    SP_FRAME_MAX, &body, &blen);
	assert_true(rc >= 0);
	if (rc == 0)
		return 0;
	r->in_off += SP_FRAME_HEADER + blen;
	assert_int_equal(sp_msg_decode(m, body, blen), SP_OK);
	return 1;
}

static size_t
pending(struct sp_session *s)
{
	const uint8_t	*data;
	size_t		 len;

	sp_session_output(s, &data, &len);
	return len;
}

static void
make_identity(struct sp_identity *id, const char *addr, uint32_t dev)
{
	memset(id, 0, sizeof(*id));
	strcpy(id->addr, addr);
	id->dev = dev;
	crypto_sign_keypair(id->spk, id->ssk);
	crypto_box_keypair(id->bpk, id->bsk);
}

static void
expect_event(struct sp_session *s, struct sp_event *ev,
    enum sp_event_type type, uint32_t rid)
{
	assert_int_equal(sp_session_event(s, ev), 1);
	assert_int_equal(ev->type, type);
	assert_int_equal(ev->rid, rid);
}

static void
expect_no_event(struct sp_session *s)
{
	struct sp_event	ev;

	assert_int_equal(sp_session_event(s, &ev), 0);
	assert_int_equal(ev.type, SP_EV_NONE);
}

/* Run challenge -> auth -> ok; the auth request gets rid auth_rid. */
static void
authenticate(struct relay *r, struct sp_session *s,
    const struct sp_identity *id, uint32_t auth_rid, size_t chunk)
{
	struct sp_msg	m;
	struct sp_event	ev;

	relay_challenge(r, DOMAIN);
	assert_int_equal(relay_flush(r, s, chunk), SP_OK);
	assert_int_equal(sp_session_state(s), SP_SESSION_AUTHENTICATING);
	assert_string_equal(sp_session_relay_domain(s), DOMAIN);

	assert_int_equal(relay_next(r, s, &m), 1);
	assert_int_equal(m.type, SP_MSG_AUTH);
	assert_int_equal(m.rid, auth_rid);
	assert_string_equal(m.addr, id->addr);
	assert_int_equal(m.dev, id->dev);
	assert_int_equal(sp_auth_verify(m.sig, r->nonce, DOMAIN, id->addr,
	    id->dev, id->spk), SP_OK);
	assert_int_equal(sp_auth_verify(m.sig, r->nonce, "other.test",
	    id->addr, id->dev, id->spk), SP_E_CRYPTO);
	assert_int_equal(relay_next(r, s, &m), 0);

	relay_reply(r, SP_MSG_OK, auth_rid);
	assert_int_equal(relay_flush(r, s, chunk), SP_OK);
	expect_event(s, &ev, SP_EV_READY, auth_rid);
	assert_int_equal(ev.dev, id->dev);
	assert_int_equal(sp_session_state(s), SP_SESSION_READY);
}

static void
test_auth(void **state)
{
	struct sp_identity	 id;
	struct sp_session	*s;
	struct relay		 r;
	struct sp_msg		 m;
	struct sp_event		 ev;
	int64_t			 rid;

	make_identity(&id, "alice@acme.test", 4);
	relay_init(&r);
	assert_non_null(s = sp_session_new(&id, NULL, DOMAIN));
	assert_int_equal(sp_session_state(s), SP_SESSION_WAIT_CHALLENGE);
	assert_string_equal(sp_session_relay_domain(s), "");
	assert_int_equal(pending(s), 0);
	expect_no_event(s);

	authenticate(&r, s, &id, 1, 4096);
	expect_no_event(s);

	rid = sp_session_ping(s);
	assert_int_equal(rid, 2);
	assert_int_equal(relay_next(&r, s, &m), 1);
	assert_int_equal(m.type, SP_MSG_PING);
	assert_int_equal(m.rid, 2);
	relay_reply(&r, SP_MSG_OK, 2);
	assert_int_equal(relay_flush(&r, s, 4096), SP_OK);
	expect_event(s, &ev, SP_EV_OK, 2);
	expect_no_event(s);

	sp_session_free(s);
	relay_free(&r);
}

static void
test_enrol(void **state)
{
	struct sp_identity	 id;
	struct sp_session	*s;
	struct relay		 r;
	struct sp_msg		 m;
	struct sp_event		 ev;

	make_identity(&id, "bob@acme.test", 77);
	relay_init(&r);
	assert_non_null(s = sp_session_new(&id, "K7Q2-XR4M-9PLC", NULL));

	relay_challenge(&r, DOMAIN);
	assert_int_equal(relay_flush(&r, s, 4096), SP_OK);
	assert_int_equal(relay_next(&r, s, &m), 1);
	assert_int_equal(m.type, SP_MSG_ENROL);
	assert_int_equal(m.rid, 1);
	assert_string_equal(m.addr, "bob@acme.test");
	assert_string_equal(m.code, "K7Q2-XR4M-9PLC");
	assert_memory_equal(m.spk, id.spk, SP_SIGN_PK_LEN);
	assert_memory_equal(m.bpk, id.bpk, SP_BOX_PK_LEN);
	assert_int_equal(sp_auth_enrol_verify(m.sig, r.nonce, DOMAIN,
	    id.addr, id.spk, id.bpk), SP_OK);

	memset(&m, 0, sizeof(m));
	m.type = SP_MSG_ENROLLED;
	m.rid = 1;
	m.dev = 12;
	relay_send(&r, &m);
	assert_int_equal(relay_flush(&r, s, 4096), SP_OK);
	expect_event(s, &ev, SP_EV_READY, 1);
	assert_int_equal(ev.dev, 12);
	assert_int_equal(sp_session_state(s), SP_SESSION_READY);
	assert_int_equal(sp_session_ping(s), 2);

	sp_session_free(s);
	relay_free(&r);
}

static void
test_enrol_refused(void **state)
{
	struct sp_identity	 id;
	struct sp_session	*s;
	struct relay		 r;
	struct sp_msg		 m;
	struct sp_event		 ev;

	make_identity(&id, "bob@acme.test", 0);
	relay_init(&r);
	assert_non_null(s = sp_session_new(&id, "used-code", DOMAIN));
	assert_int_equal(sp_session_fetch(s), 1);
	relay_challenge(&r, DOMAIN);
	assert_int_equal(relay_flush(&r, s, 4096), SP_OK);
	assert_int_equal(relay_next(&r, s, &m), 1);
	assert_int_equal(m.rid, 2);

	relay_error(&r, 2, SP_WERR_BAD_CODE, "enrolment code unknown");
	assert_true(relay_flush(&r, s, 4096) < 0);
	expect_event(s, &ev, SP_EV_FAILED, 0);
	assert_int_equal(ev.err, SP_WERR_BAD_CODE);
	assert_non_null(strstr(ev.text, "enrolment code unknown"));
	assert_int_equal(sp_session_state(s), SP_SESSION_FAILED);
	/* The held fetch is never sent. */
	assert_int_equal(pending(s), 0);
	assert_int_equal(sp_session_ping(s), SP_E_STATE);
	expect_no_event(s);

	sp_session_free(s);
	relay_free(&r);
}

static void
test_auth_refused(void **state)
{
	struct sp_identity	 id;
	struct sp_session	*s;
	struct relay		 r;
	struct sp_msg		 m;
	struct sp_event		 ev;
	uint8_t			 byte = 0;

	make_identity(&id, "alice@acme.test", 4);
	relay_init(&r);
	assert_non_null(s = sp_session_new(&id, NULL, NULL));
	relay_challenge(&r, "any.test");
	assert_int_equal(relay_flush(&r, s, 4096), SP_OK);
	assert_int_equal(relay_next(&r, s, &m), 1);
	assert_int_equal(sp_auth_verify(m.sig, r.nonce, "any.test",
	    id.addr, id.dev, id.spk), SP_OK);

	relay_error(&r, 1, SP_WERR_AUTH_FAILED, "signature does not verify");
	assert_true(relay_flush(&r, s, 4096) < 0);
	expect_event(s, &ev, SP_EV_FAILED, 0);
	assert_int_equal(ev.err, SP_WERR_AUTH_FAILED);
	assert_non_null(ev.text);
	assert_int_equal(sp_session_input(s, &byte, 1), SP_E_STATE);
	expect_no_event(s);

	sp_session_free(s);
	relay_free(&r);
}

static const uint8_t env_a[] = "first envelope bytes";
static const uint8_t env_b[] = "second envelope bytes";

static void
test_queued_then_replies(void **state)
{
	struct sp_identity	 id;
	struct sp_session	*s;
	struct relay		 r;
	struct sp_msg		 m;
	struct sp_event		 ev;
	uint8_t			 big[5000];

	make_identity(&id, "alice@acme.test", 4);
	relay_init(&r);
	assert_non_null(s = sp_session_new(&id, NULL, DOMAIN));

	/* Made before the challenge: held, not sent. */
	assert_int_equal(sp_session_send(s, env_a, sizeof(env_a)), 1);
	assert_int_equal(sp_session_fetch(s), 2);
	assert_int_equal(sp_session_lookup(s, "carol@partner.test"), 3);
	assert_int_equal(sp_session_ack(s, 1ULL << 40), 4);
	assert_int_equal(pending(s), 0);

	relay_challenge(&r, DOMAIN);
	assert_int_equal(relay_flush(&r, s, 4096), SP_OK);
	/* Made while authenticating: held too. */
	assert_int_equal(sp_session_send(s, env_b, sizeof(env_b)), 6);
	assert_int_equal(relay_next(&r, s, &m), 1);
	assert_int_equal(m.type, SP_MSG_AUTH);
	assert_int_equal(m.rid, 5);
	assert_int_equal(relay_next(&r, s, &m), 0);

	relay_reply(&r, SP_MSG_OK, 5);
	assert_int_equal(relay_flush(&r, s, 4096), SP_OK);
	expect_event(s, &ev, SP_EV_READY, 5);

	/* Released in the order they were made. */
	assert_int_equal(relay_next(&r, s, &m), 1);
	assert_int_equal(m.type, SP_MSG_SEND);
	assert_int_equal(m.rid, 1);
	assert_int_equal(m.env_len, sizeof(env_a));
	assert_memory_equal(m.env, env_a, sizeof(env_a));
	assert_int_equal(relay_next(&r, s, &m), 1);
	assert_int_equal(m.type, SP_MSG_FETCH);
	assert_int_equal(m.rid, 2);
	assert_int_equal(relay_next(&r, s, &m), 1);
	assert_int_equal(m.type, SP_MSG_LOOKUP);
	assert_int_equal(m.rid, 3);
	assert_string_equal(m.addr, "carol@partner.test");
	assert_int_equal(relay_next(&r, s, &m), 1);
	assert_int_equal(m.type, SP_MSG_ACK);
	assert_int_equal(m.rid, 4);
	assert_int_equal(m.seq, 1ULL << 40);
	assert_int_equal(relay_next(&r, s, &m), 1);
	assert_int_equal(m.type, SP_MSG_SEND);
	assert_int_equal(m.rid, 6);
	assert_memory_equal(m.env, env_b, sizeof(env_b));
	assert_int_equal(relay_next(&r, s, &m), 0);

	/* In READY a request goes out at once. */
	assert_int_equal(sp_session_ping(s), 7);
	assert_int_equal(relay_next(&r, s, &m), 1);
	assert_int_equal(m.type, SP_MSG_PING);
	assert_int_equal(m.rid, 7);

	/* Every reply type, fed one byte at a time. */
	memset(&m, 0, sizeof(m));
	m.type = SP_MSG_ACCEPTED;
	m.rid = 1;
	memset(m.id, 0x11, SP_ID_LEN);
	relay_send(&r, &m);
	memset(&m, 0, sizeof(m));
	m.type = SP_MSG_DELIVER;
	m.seq = 9;
	randombytes_buf(big, sizeof(big));
	m.env = big;
	m.env_len = sizeof(big);
	relay_send(&r, &m);
	memset(&m, 0, sizeof(m));
	m.type = SP_MSG_FETCHED;
	m.rid = 2;
	m.n = 1;
	relay_send(&r, &m);
	memset(&m, 0, sizeof(m));
	m.type = SP_MSG_KEYS;
	m.rid = 3;
	strcpy(m.addr, "carol@partner.test");
	m.ndevs = 2;
	m.devs[0].dev = 1;
	memset(m.devs[0].spk, 1, SP_SIGN_PK_LEN);
	memset(m.devs[0].bpk, 2, SP_BOX_PK_LEN);
	m.devs[1].dev = 2;
	memset(m.devs[1].spk, 3, SP_SIGN_PK_LEN);
	memset(m.devs[1].bpk, 4, SP_BOX_PK_LEN);
	relay_send(&r, &m);
	relay_reply(&r, SP_MSG_OK, 4);
	relay_error(&r, 6, SP_WERR_NO_SUCH_USER, "no such device");
	relay_reply(&r, SP_MSG_OK, 7);
	assert_int_equal(relay_flush(&r, s, 1), SP_OK);

	expect_event(s, &ev, SP_EV_ACCEPTED, 1);
	assert_int_equal(ev.id[0], 0x11);
	assert_int_equal(ev.id[15], 0x11);
	expect_event(s, &ev, SP_EV_DELIVER, 0);
	assert_int_equal(ev.seq, 9);
	assert_int_equal(ev.env_len, sizeof(big));
	assert_memory_equal(ev.env, big, sizeof(big));
	expect_event(s, &ev, SP_EV_FETCHED, 2);
	assert_int_equal(ev.n, 1);
	expect_event(s, &ev, SP_EV_KEYS, 3);
	assert_string_equal(ev.addr, "carol@partner.test");
	assert_int_equal(ev.ndevs, 2);
	assert_int_equal(ev.devs[1].dev, 2);
	assert_int_equal(ev.devs[1].bpk[31], 4);
	expect_event(s, &ev, SP_EV_OK, 4);
	expect_event(s, &ev, SP_EV_ERROR, 6);
	assert_int_equal(ev.err, SP_WERR_NO_SUCH_USER);
	assert_string_equal(ev.text, "no such device");
	expect_event(s, &ev, SP_EV_OK, 7);
	expect_no_event(s);
	assert_int_equal(sp_session_state(s), SP_SESSION_READY);

	sp_session_free(s);
	relay_free(&r);
}

/* The whole handshake and a delivery, one byte of input at a time, and
 * the output taken out in odd-sized pieces. */
static void
test_byte_at_a_time(void **state)
{
	struct sp_identity	 id;
	struct sp_session	*s;
	struct relay		 r;
	struct sp_msg		 m;
	struct sp_event		 ev;
	const uint8_t		*data;
	size_t			 len, total;
	uint8_t			 env[300];

	make_identity(&id, "alice@acme.test", 9);
	relay_init(&r);
	assert_non_null(s = sp_session_new(&id, NULL, DOMAIN));
	authenticate(&r, s, &id, 1, 1);

	memset(&m, 0, sizeof(m));
	m.type = SP_MSG_DELIVER;
	m.seq = 1;
	memset(env, 0x5a, sizeof(env));
	m.env = env;
	m.env_len = sizeof(env);
	relay_send(&r, &m);
	assert_int_equal(relay_flush(&r, s, 1), SP_OK);
	expect_event(s, &ev, SP_EV_DELIVER, 0);
	assert_memory_equal(ev.env, env, sizeof(env));

	/* Partial writes: consume three bytes at a time. */
	assert_int_equal(sp_session_ack(s, 1), 2);
	assert_int_equal(sp_session_ping(s), 3);
	sp_session_output(s, &data, &total);
	for (len = total; len > 0; len = pending(s)) {
		assert_int_equal(sp_buf_append(&r.in, data, len < 3 ? len :
		    3), SP_OK);
		sp_session_consume(s, 3);
		sp_session_output(s, &data, &len);
	}
	sp_session_consume(s, 100);
	assert_int_equal(pending(s), 0);
	assert_int_equal(relay_next(&r, s, &m), 1);
	assert_int_equal(m.type, SP_MSG_ACK);
	assert_int_equal(m.seq, 1);
	assert_int_equal(relay_next(&r, s, &m), 1);
	assert_int_equal(m.type, SP_MSG_PING);
	assert_int_equal(relay_next(&r, s, &m), 0);

	sp_session_free(s);
	relay_free(&r);
}

/* Several large frames in one input call: more than one frame's worth
 * of bytes at once. */
static void
test_big_input(void **state)
{
	struct sp_identity	 id;
	struct sp_session	*s;
	struct relay		 r;
	struct sp_msg		 m;
	struct sp_event		 ev;
	uint8_t			*env;
	size_t			 envlen = 700 * 1024;
	int			 i;

	make_identity(&id, "alice@acme.test", 9);
	relay_init(&r);
	assert_non_null(s = sp_session_new(&id, NULL, DOMAIN));
	authenticate(&r, s, &id, 1, 65536);

	env = malloc(envlen);
	assert_non_null(env);
	for (i = 0; i < 3; i++) {
		memset(env, 'a' + i, envlen);
		memset(&m, 0, sizeof(m));
		m.type = SP_MSG_DELIVER;
		m.seq = i + 1;
		m.env = env;
		m.env_len = envlen;
		relay_send(&r, &m);
	}
	assert_int_equal(relay_flush(&r, s, r.out.len), SP_OK);
	for (i = 0; i < 3; i++) {
		expect_event(s, &ev, SP_EV_DELIVER, 0);
		assert_int_equal(ev.seq, i + 1);
		assert_int_equal(ev.env_len, envlen);
		assert_int_equal(ev.env[0], 'a' + i);
		assert_int_equal(ev.env[envlen - 1], 'a' + i);
	}
	expect_no_event(s);
	free(env);
	sp_session_free(s);
	relay_free(&r);
}

/* Set up a READY session, feed it bytes, expect it to fail. */
static void
expect_failure(const uint8_t *bytes, size_t len, int ready,
    const char *why)
{
	struct sp_identity	 id;
	struct sp_session	*s;
	struct relay		 r;
	struct sp_event		 ev;

	make_identity(&id, "alice@acme.test", 4);
	relay_init(&r);
	assert_non_null(s = sp_session_new(&id, NULL, DOMAIN));
	if (ready) {
		authenticate(&r, s, &id, 1, 4096);
		assert_int_equal(sp_session_ping(s), 2);
	}
	assert_true(sp_session_input(s, bytes, len) < 0);
	assert_int_equal(sp_session_state(s), SP_SESSION_FAILED);
	expect_event(s, &ev, SP_EV_FAILED, 0);
	assert_int_equal(ev.err, 0);
	assert_non_null(ev.text);
	assert_non_null(strstr(ev.text, why));
	expect_no_event(s);
	assert_int_equal(pending(s), 0);
	assert_int_equal(sp_session_ping(s), SP_E_STATE);
	assert_int_equal(sp_session_input(s, bytes, len), SP_E_STATE);
	expect_no_event(s);
	sp_session_free(s);
	relay_free(&r);
}

static void
test_bad_frames(void **state)
{
	static const uint8_t	zero[] = { 0, 0, 0, 0 };
	static const uint8_t	huge[] = { 0, 0x10, 0, 1 };
	static const uint8_t	junk[] = { 0, 0, 0, 2, 0xc1, 0xc1 };
	static const uint8_t	arr[] = { 0, 0, 0, 1, 0x90 };
	static const uint8_t	unknown_t[] = { 0, 0, 0, 6, 0x81, 0xa1,
				    't', 0xa2, 'h', 'i' };
	struct sp_buf		b = SP_BUF_INIT;
	struct sp_msg		m;

	expect_failure(zero, sizeof(zero), 1, "frame");
	expect_failure(huge, sizeof(huge), 1, "frame");
	expect_failure(huge, sizeof(huge), 0, "frame");
	expect_failure(junk, sizeof(junk), 1, "message");
	expect_failure(arr, sizeof(arr), 0, "message");
	expect_failure(unknown_t, sizeof(unknown_t), 1, "message");

	/* Well-formed but out of turn. */
	memset(&m, 0, sizeof(m));
	m.type = SP_MSG_OK;
	m.rid = 1;
	assert_int_equal(sp_msg_encode(&m, &b), SP_OK);
	expect_failure(b.data, b.len, 0, "unexpected");
	sp_buf_reset(&b);
	m.rid = 99;
	assert_int_equal(sp_msg_encode(&m, &b), SP_OK);
	expect_failure(b.data, b.len, 1, "unknown request");
	sp_buf_reset(&b);
	memset(&m, 0, sizeof(m));
	m.type = SP_MSG_CHALLENGE;
	strcpy(m.domain, DOMAIN);
	assert_int_equal(sp_msg_encode(&m, &b), SP_OK);
	expect_failure(b.data, b.len, 1, "unexpected");
	sp_buf_free(&b);
}

static void
test_fatal_error_reply(void **state)
{
	struct sp_identity	 id;
	struct sp_session	*s;
	struct relay		 r;
	struct sp_event		 ev;

	make_identity(&id, "alice@acme.test", 4);
	relay_init(&r);
	assert_non_null(s = sp_session_new(&id, NULL, DOMAIN));
	authenticate(&r, s, &id, 1, 4096);
	assert_int_equal(sp_session_ping(s), 2);
	relay_error(&r, 2, SP_WERR_BAD_MESSAGE, "bad field");
	assert_true(relay_flush(&r, s, 4096) < 0);
	expect_event(s, &ev, SP_EV_FAILED, 0);
	assert_int_equal(ev.err, SP_WERR_BAD_MESSAGE);
	sp_session_free(s);
	relay_free(&r);
}

static void
test_domain_mismatch(void **state)
{
	struct sp_identity	 id;
	struct sp_session	*s;
	struct relay		 r;
	struct sp_event		 ev;

	make_identity(&id, "alice@acme.test", 4);
	relay_init(&r);
	assert_non_null(s = sp_session_new(&id, NULL, DOMAIN));
	relay_challenge(&r, "evil.test");
	assert_true(relay_flush(&r, s, 4096) < 0);
	assert_int_equal(sp_session_state(s), SP_SESSION_FAILED);
	/* Nothing was signed for the wrong relay. */
	assert_int_equal(pending(s), 0);
	expect_event(s, &ev, SP_EV_FAILED, 0);
	assert_int_equal(ev.err, 0);
	assert_non_null(strstr(ev.text, "evil.test"));
	sp_session_free(s);
	relay_free(&r);
}

/* The expected domain is compared in canonical form. */
static void
test_domain_case(void **state)
{
	struct sp_identity	 id;
	struct sp_session	*s;
	struct relay		 r;

	make_identity(&id, "alice@acme.test", 4);
	relay_init(&r);
	assert_non_null(s = sp_session_new(&id, NULL, "ACME.Test"));
	authenticate(&r, s, &id, 1, 4096);
	sp_session_free(s);
	relay_free(&r);
}

static void
test_bad_arguments(void **state)
{
	struct sp_identity	 id;
	struct sp_session	*s;
	char			 longaddr[400];

	make_identity(&id, "alice@acme.test", 4);
	assert_non_null(s = sp_session_new(&id, NULL, NULL));
	assert_int_equal(sp_session_send(s, NULL, 3), SP_E_VALUE);
	assert_int_equal(sp_session_send(s, env_a, 0), SP_E_VALUE);
	assert_int_equal(sp_session_lookup(s, NULL), SP_E_VALUE);
	assert_int_equal(sp_session_lookup(s, "Carol@x.test"), SP_E_VALUE);
	memset(longaddr, 'a', sizeof(longaddr) - 1);
	longaddr[sizeof(longaddr) - 1] = '\0';
	assert_int_equal(sp_session_lookup(s, longaddr), SP_E_VALUE);
	/* Refusals use up no request id. */
	assert_int_equal(sp_session_ping(s), 1);
	sp_session_free(s);
	sp_session_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_enrol),
		cmocka_unit_test(test_enrol_refused),
		cmocka_unit_test(test_auth_refused),
		cmocka_unit_test(test_queued_then_replies),
		cmocka_unit_test(test_byte_at_a_time),
		cmocka_unit_test(test_big_input),
		cmocka_unit_test(test_bad_frames),
		cmocka_unit_test(test_fatal_error_reply),
		cmocka_unit_test(test_domain_mismatch),
		cmocka_unit_test(test_domain_case),
		cmocka_unit_test(test_bad_arguments),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
