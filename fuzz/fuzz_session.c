/*
 * fuzz_session.c - the device session fed arbitrary relay bytes.
 *
 * Input: one option byte, then the bytes a relay sends.  Option bits:
 *   0      enrol with a code instead of authenticating as device 1
 *   1      expect the relay domain "acme.test"
 *   2..7   k: feed the stream k bytes at a time (0: all at once)
 * The device asks for fetch and lookup before the relay has spoken,
 * pings and sends once it is READY, and acks every delivery.
 *
 * Properties (session.h):
 *  - sp_session_input fails exactly when the session is FAILED; the
 *    state only moves forward; FAILED comes with one SP_EV_FAILED
 *    event, the last one, and nothing is sent after it;
 *  - READY comes at most once and before any reply; every reply event
 *    answers a request the device made, and what it points to is
 *    readable and within the protocol's bounds;
 *  - everything the device sends is a whole frame the relay's decoder
 *    accepts: first the enrol/auth answer, signed over the challenge
 *    it answers, then only requests, each rid once, in order.
 */
#include <string.h>

#include <sodium.h>

#include "address.h"
#include "auth.h"
#include "frame.h"
#include "fuzz.h"
#include "session.h"

#define CODE		"ABCDE-FGHIJ-KLMNO-PQRST"
#define MAX_RID		4096

struct run {
	struct sp_session	*s;
	int			 enrol;
	enum sp_session_state	 state;
	int			 ready, failed;	/* events seen */
	uint32_t		 auth_rid;
	uint8_t			 issued[MAX_RID];  /* 1 made, 2 sent */
	uint32_t		 last_sent;
	int			 have_challenge;
	struct sp_msg		 challenge;	/* the first frame */
	struct sp_buf		 out;		/* everything sent */
	size_t			 out_done;	/* bytes checked */
	int			 answered;	/* auth frame seen */
};

static struct sp_identity id;
static struct sp_msg msg;

static void
setup(void)
{
	uint8_t seed[32] = { 5 };

	strcpy(id.addr, "alice@acme.test");
	id.dev = 1;
	crypto_sign_seed_keypair(id.spk, id.ssk, seed);
	seed[0] = 6;
	crypto_box_seed_keypair(id.bpk, id.bsk, seed);
}

static void
issued(struct run *r, int64_t rid)
{
	if (r->state == SP_SESSION_FAILED) {
		FUZZ_ASSERT(rid == SP_E_STATE);
		return;
	}
	FUZZ_ASSERT(rid > 0 && rid < MAX_RID);
	FUZZ_ASSERT(r->issued[rid] == 0);
	r->issued[rid] = 1;
}

/* The frame answering the challenge: its signature must verify. */
static void
check_answer(struct run *r, const struct sp_msg *m)
{
	const struct sp_msg *ch = &r->challenge;

	FUZZ_ASSERT(r->have_challenge);
	FUZZ_ASSERT(strcmp(m->addr, id.addr) == 0);
	if (r->enrol) {
		FUZZ_ASSERT(m->type == SP_MSG_ENROL);
		FUZZ_ASSERT(strcmp(m->code, CODE) == 0);
		FUZZ_ASSERT(memcmp(m->spk, id.spk, SP_SIGN_PK_LEN) == 0);
		FUZZ_ASSERT(memcmp(m->bpk, id.bpk, SP_BOX_PK_LEN) == 0);
		FUZZ_ASSERT(sp_auth_enrol_verify(m->sig, ch->nonce,
		    ch->domain, m->addr, id.spk, id.bpk) == SP_OK);
	} else {
		FUZZ_ASSERT(m->type == SP_MSG_AUTH && m->dev == id.dev);
		FUZZ_ASSERT(sp_auth_verify(m->sig, ch->nonce, ch->domain,
		    m->addr, m->dev, id.spk) == SP_OK);
	}
	FUZZ_ASSERT(m->rid > 0 && m->rid < MAX_RID);
	FUZZ_ASSERT(r->issued[m->rid] == 0);
	r->issued[m->rid] = 2;
	r->auth_rid = m->rid;
}

/* Take what the session has to send and check every whole frame. */
static void
check_output(struct run *r)
{
	const uint8_t *p, *body;
	size_t len, blen;
	int rc = 0;

	sp_session_output(r->s, &p, &len);
	if (r->state == SP_SESSION_FAILED)
		FUZZ_ASSERT(len == 0);
	FUZZ_ASSERT(sp_buf_append(&r->out, p, len) == SP_OK);
	sp_session_consume(r->s, len);

	while (r->out_done < r->out.len &&
	    (rc = sp_frame_peek(r->out.data + r->out_done,
	    r->out.len - r->out_done, SP_FRAME_MAX, &body, &blen)) == 1) {
		r->out_done += SP_FRAME_HEADER + blen;
		FUZZ_ASSERT(sp_msg_decode(&msg, body, blen) == SP_OK);
		if (!r->answered) {
			check_answer(r, &msg);
			r->answered = 1;
			continue;
		}
		FUZZ_ASSERT(msg.type == SP_MSG_SEND ||
		    msg.type == SP_MSG_FETCH || msg.type == SP_MSG_ACK ||
		    msg.type == SP_MSG_LOOKUP || msg.type == SP_MSG_PING);
		FUZZ_ASSERT(msg.rid > r->last_sent && msg.rid < MAX_RID);
		FUZZ_ASSERT(r->issued[msg.rid] == 1);
		r->issued[msg.rid] = 2;
		r->last_sent = msg.rid;
	}
	FUZZ_ASSERT(rc >= 0);
}

static void
check_event(struct run *r, const struct sp_event *ev)
{
	size_t i;

	FUZZ_ASSERT(!r->failed);
	switch (ev->type) {
	case SP_EV_FAILED:
		r->failed = 1;
		FUZZ_ASSERT(ev->text != NULL);
		fuzz_touch(ev->text, strlen(ev->text));
		return;
	case SP_EV_READY:
		FUZZ_ASSERT(!r->ready);
		r->ready = 1;
		if (r->enrol)
			FUZZ_ASSERT(ev->dev != 0);
		else
			FUZZ_ASSERT(ev->dev == id.dev);
		return;
	case SP_EV_DELIVER:
		FUZZ_ASSERT(r->ready);
		FUZZ_ASSERT(ev->env != NULL && ev->env_len <= SP_FRAME_MAX);
		fuzz_touch(ev->env, ev->env_len);
		if (r->state != SP_SESSION_FAILED)
			issued(r, sp_session_ack(r->s, ev->seq));
		return;
	case SP_EV_ACCEPTED:
	case SP_EV_FETCHED:
	case SP_EV_OK:
		break;
	case SP_EV_KEYS:
		FUZZ_ASSERT(ev->addr != NULL && sp_addr_is_canonical(ev->addr));
		FUZZ_ASSERT(ev->ndevs <= SP_DEVICES_MAX);
		for (i = 0; i < ev->ndevs; i++)
			fuzz_touch(&ev->devs[i], sizeof(ev->devs[i]));
		break;
	case SP_EV_ERROR:
		FUZZ_ASSERT(ev->text != NULL);
		fuzz_touch(ev->text, strlen(ev->text));
		break;
	default:
		fuzz_fail(__FILE__, __LINE__, "unknown event type");
	}

	/* A reply: after READY, to a request that was made. */
	FUZZ_ASSERT(r->ready);
	FUZZ_ASSERT(ev->rid > 0 && ev->rid < MAX_RID);
	FUZZ_ASSERT(ev->rid != r->auth_rid && r->issued[ev->rid] != 0);
}

/* The first frame of the stream, when it is a challenge: what the
 * device's answer must be signed over. */
static void
find_challenge(struct run *r, const uint8_t *data, size_t size)
{
	const uint8_t *body;
	size_t blen;

	if (sp_frame_peek(data, size, SP_FRAME_MAX, &body, &blen) == 1 &&
	    sp_msg_decode(&r->challenge, body, blen) == SP_OK &&
	    r->challenge.type == SP_MSG_CHALLENGE)
		r->have_challenge = 1;
}

static void
step(struct run *r, const uint8_t *data, size_t n)
{
	enum sp_session_state before = r->state;
	struct sp_event ev;
	const char *dom;
	int rc;

	rc = sp_session_input(r->s, data, n);
	r->state = sp_session_state(r->s);
	FUZZ_ASSERT(r->state >= before);
	FUZZ_ASSERT((rc != SP_OK) == (r->state == SP_SESSION_FAILED));
	if (rc != SP_OK)
		FUZZ_ASSERT(rc < 0);

	while (sp_session_event(r->s, &ev)) {
		check_event(r, &ev);
		r->state = sp_session_state(r->s);
	}
	FUZZ_ASSERT(r->failed == (r->state == SP_SESSION_FAILED));
	FUZZ_ASSERT(r->ready == (r->state == SP_SESSION_READY ||
	    (r->state == SP_SESSION_FAILED && r->ready)));

	/* Once READY, the device has more to say. */
	if (r->state == SP_SESSION_READY && before != SP_SESSION_READY) {
		static const uint8_t env[] = { 0x80 };

		issued(r, sp_session_ping(r->s));
		issued(r, sp_session_send(r->s, env, sizeof(env)));
	}
	check_output(r);

	dom = sp_session_relay_domain(r->s);
	FUZZ_ASSERT(dom != NULL);
	if (dom[0] != '\0')
		FUZZ_ASSERT(sp_domain_is_canonical(dom));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	static struct run r;
	size_t at = 0, k, n;
	uint8_t opt;

	if (!ready) {
		if (sodium_init() < 0)
			return 0;
		setup();
		ready = 1;
	}
	if (size == 0)
		return 0;
	opt = data[0];
	data++;
	size--;

	memset(&r, 0, sizeof(r));
	r.enrol = opt & 1;
	r.s = sp_session_new(&id, r.enrol ? CODE : NULL,
	    opt & 2 ? "acme.test" : NULL);
	if (r.s == NULL)
		return 0;
	r.state = sp_session_state(r.s);
	FUZZ_ASSERT(r.state == SP_SESSION_WAIT_CHALLENGE);
	FUZZ_ASSERT(sp_session_relay_domain(r.s)[0] == '\0');
	find_challenge(&r, data, size);

	issued(&r, sp_session_fetch(r.s));
	issued(&r, sp_session_lookup(r.s, "bob@partner.test"));
	FUZZ_ASSERT(sp_session_lookup(r.s, "Not An Address") == SP_E_VALUE);
	check_output(&r);
	FUZZ_ASSERT(r.out.len == 0);

	k = opt >> 2;
	while (at < size) {
		n = k == 0 || k > size - at ? size - at : k;
		step(&r, data + at, n);
		at += n;
		if (r.state == SP_SESSION_FAILED) {
			FUZZ_ASSERT(sp_session_input(r.s, data, size) ==
			    SP_E_STATE);
			FUZZ_ASSERT(sp_session_ping(r.s) == SP_E_STATE);
			break;
		}
	}
	FUZZ_ASSERT(r.out_done == r.out.len);

	sp_session_free(r.s);
	sp_buf_free(&r.out);
	return 0;
}
