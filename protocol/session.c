/*
 * session.c - the device side of a client session over plain bytes.
 *
 * Bytes from the relay gather in an input buffer until a whole frame is
 * there; each frame is decoded at once and turned into output (the
 * answer to a challenge) or into an event on a queue.  Every queued
 * event owns copies of what it points to, so the input buffer can be
 * compacted while events wait, and an event handed to the caller stays
 * valid until the next one is taken.
 *
 * Whenever the session turns FAILED, sp_session_input returns a
 * negative status: the peer's bytes were unusable, the relay refused
 * the session, or it said something out of turn.  Nothing is sent after
 * that.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "address.h"
#include "auth.h"
#include "buf.h"
#include "frame.h"
#include "msg.h"
#include "session.h"
#include "wire.h"

/* Room for a relay's error text or a local reason naming two domains. */
#define EVENT_TEXT_MAX	(2 * SP_DOMAIN_MAX + 64)

struct sess_event {
	struct sess_event	*next;
	struct sp_event		 ev;
	uint8_t			*env;
	char			 addr[SP_ADDR_MAX + 1];
	char			 text[EVENT_TEXT_MAX + 1];
	struct sp_device_keys	 devs[SP_DEVICES_MAX];
};

struct sp_session {
	enum sp_session_state	 state;
	struct sp_identity	 id;
	int			 enrol;
	/* One byte over the bound so that sp_msg_encode refuses a code
	 * that was too long instead of it being cut silently. */
	char			 code[SP_CODE_MAX + 2];
	char			 expect[SP_DOMAIN_MAX + 2];
	char			 domain[SP_DOMAIN_MAX + 1];

	uint32_t		 next_rid;
	uint32_t		 auth_rid;

	struct sp_buf		 in;
	struct sp_buf		 out;
	size_t			 out_off;
	struct sp_buf		 held;	/* frames made before READY */

	struct sp_msg		 msg;	/* the last decoded frame */

	struct sess_event	*head;
	struct sess_event	*tail;
	struct sess_event	*cur;	/* handed to the caller */
	/* The one FAILED event lives here so that failing never needs
	 * memory. */
	struct sess_event	 failev;
};

static void
copy_bounded(char *dst, size_t size, const char *src)
{
	size_t	n;

	n = strnlen(src, size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

struct sp_session *
sp_session_new(const struct sp_identity *id, const char *enrol_code,
    const char *relay_domain)
{
	struct sp_session	*s;

	if (sodium_init() < 0)
		return NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;

	s->state = SP_SESSION_WAIT_CHALLENGE;
	s->id = *id;
	s->id.addr[SP_ADDR_MAX] = '\0';
	if (enrol_code != NULL) {
		s->enrol = 1;
		s->id.dev = 0;
		copy_bounded(s->code, sizeof(s->code), enrol_code);
	}
	/* Compare canonical forms; a domain that has none is kept as
	 * given and will simply not match. */
	if (relay_domain != NULL &&
	    sp_domain_canon(relay_domain, strlen(relay_domain), s->expect,
	    NULL) != SP_OK)
		copy_bounded(s->expect, sizeof(s->expect), relay_domain);
	s->next_rid = 1;
	return s;
}

static void
event_free(struct sp_session *s, struct sess_event *e)
{
	if (e == NULL || e == &s->failev)
		return;
	free(e->env);
	free(e);
}

void
sp_session_free(struct sp_session *s)
{
	struct sess_event	*e, *next;

	if (s == NULL)
		return;
	for (e = s->head; e != NULL; e = next) {
		next = e->next;
		event_free(s, e);
	}
	event_free(s, s->cur);
	sp_buf_free(&s->in);
	sp_buf_free(&s->out);
	sp_buf_free(&s->held);
	sodium_memzero(s, sizeof(*s));
	free(s);
}

enum sp_session_state
sp_session_state(const struct sp_session *s)
{
	return s->state;
}

const char *
sp_session_relay_domain(const struct sp_session *s)
{
	return s->domain;
}

static void
event_push(struct sp_session *s, struct sess_event *e)
{
	e->next = NULL;
	if (s->tail != NULL)
		s->tail->next = e;
	else
		s->head = e;
	s->tail = e;
}

static struct sess_event *
event_new(enum sp_event_type type, uint32_t rid)
{
	struct sess_event	*e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->ev.type = type;
	e->ev.rid = rid;
	return e;
}

/*
 * Turn the session FAILED with a reason: err is the relay's wire error,
 * or 0 for a failure found here.  Pending output and held requests are
 * dropped.  Returns status, for the caller to pass on.
 */
static int __attribute__((format(printf, 4, 5)))
fail(struct sp_session *s, int status, uint32_t err, const char *fmt, ...)
{
	struct sess_event	*e = &s->failev;
	va_list			 ap;

	if (s->state == SP_SESSION_FAILED)
		return status;
	s->state = SP_SESSION_FAILED;

	memset(e, 0, sizeof(*e));
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
	e->ev.type = SP_EV_FAILED;
	e->ev.err = err;
	e->ev.text = e->text;
	event_push(s, e);

	sp_buf_reset(&s->out);
	s->out_off = 0;
	sp_buf_free(&s->held);
	return status;
}

static int
nomem(struct sp_session *s)
{
	return fail(s, SP_E_NOMEM, 0, "out of memory");
}

static int
unexpected(struct sp_session *s, const struct sp_msg *m)
{
	return fail(s, SP_E_STATE, 0, "unexpected %s message from relay",
	    sp_msg_type_name(m->type));
}

/* A reply must answer a request this session made. */
static int
rid_known(const struct sp_session *s, uint32_t rid)
{
	return rid > 0 && rid < s->next_rid && rid != s->auth_rid;
}

static int
on_challenge(struct sp_session *s, const struct sp_msg *m)
{
	struct sp_msg	a;
	int		rc;

	if (s->expect[0] != '\0' && strcmp(s->expect, m->domain) != 0)
		return fail(s, SP_E_VALUE, 0,
		    "relay domain %s is not the expected %s", m->domain,
		    s->expect);
	copy_bounded(s->domain, sizeof(s->domain), m->domain);

	memset(&a, 0, sizeof(a));
	a.rid = s->auth_rid = s->next_rid++;
	copy_bounded(a.addr, sizeof(a.addr), s->id.addr);
	if (s->enrol) {
		a.type = SP_MSG_ENROL;
		copy_bounded(a.code, sizeof(a.code), s->code);
		memcpy(a.spk, s->id.spk, sizeof(a.spk));
		memcpy(a.bpk, s->id.bpk, sizeof(a.bpk));
		rc = sp_auth_enrol_sign(a.sig, m->nonce, s->domain,
		    s->id.addr, s->id.spk, s->id.bpk, s->id.ssk);
	} else {
		a.type = SP_MSG_AUTH;
		a.dev = s->id.dev;
		rc = sp_auth_sign(a.sig, m->nonce, s->domain, s->id.addr,
		    s->id.dev, s->id.ssk);
	}
	if (rc == SP_OK)
		rc = sp_msg_encode(&a, &s->out);
	sodium_memzero(&a, sizeof(a));
	if (rc != SP_OK)
		return fail(s, rc, 0, "cannot answer the challenge: %s",
		    sp_strerror(rc));

	s->state = SP_SESSION_AUTHENTICATING;
	return SP_OK;
}

/* enrolled or ok for the authentication request. */
static int
on_authenticated(struct sp_session *s, const struct sp_msg *m)
{
	struct sess_event	*e;

	if (m->rid != s->auth_rid)
		return unexpected(s, m);
	if (s->enrol) {
		if (m->dev == 0)
			return fail(s, SP_E_VALUE, 0,
			    "relay assigned device id 0");
		s->id.dev = m->dev;
	}

	if ((e = event_new(SP_EV_READY, m->rid)) == NULL)
		return nomem(s);
	e->ev.dev = s->id.dev;
	event_push(s, e);
	s->state = SP_SESSION_READY;

	/* Release what was asked for meanwhile, in order. */
	if (s->held.len > 0) {
		if (sp_buf_append(&s->out, s->held.data,
		    s->held.len) != SP_OK)
			return nomem(s);
		sp_buf_free(&s->held);
	}
	return SP_OK;
}

static int
on_error(struct sp_session *s, const struct sp_msg *m)
{
	struct sess_event	*e;
	const char		*text;

	text = m->msg[0] != '\0' ? m->msg : sp_wire_error_name(m->err);

	/* Fatal codes close the connection; a refused authentication or
	 * an error not tied to a request leaves nothing to go on with. */
	if (m->err == SP_WERR_BAD_FRAME || m->err == SP_WERR_BAD_MESSAGE ||
	    m->err == SP_WERR_AUTH_FAILED ||
	    s->state != SP_SESSION_READY || m->rid == s->auth_rid ||
	    !rid_known(s, m->rid))
		return fail(s, SP_E_STATE, m->err, "relay: %s: %s",
		    sp_wire_error_name(m->err), text);

	if ((e = event_new(SP_EV_ERROR, m->rid)) == NULL)
		return nomem(s);
	e->ev.err = m->err;
	copy_bounded(e->text, sizeof(e->text), text);
	e->ev.text = e->text;
	event_push(s, e);
	return SP_OK;
}

static int
on_reply(struct sp_session *s, const struct sp_msg *m)
{
	struct sess_event	*e;
	enum sp_event_type	 type;

	switch (m->type) {
	case SP_MSG_DELIVER:
		type = SP_EV_DELIVER;
		break;
	case SP_MSG_ACCEPTED:
		type = SP_EV_ACCEPTED;
		break;
	case SP_MSG_FETCHED:
		type = SP_EV_FETCHED;
		break;
	case SP_MSG_KEYS:
		type = SP_EV_KEYS;
		break;
	case SP_MSG_OK:
		type = SP_EV_OK;
		break;
	default:
		return unexpected(s, m);
	}
	if (type != SP_EV_DELIVER && !rid_known(s, m->rid))
		return fail(s, SP_E_STATE, 0,
		    "%s from relay answers unknown request %u",
		    sp_msg_type_name(m->type), (unsigned)m->rid);

	if ((e = event_new(type, m->rid)) == NULL)
		return nomem(s);
	switch (type) {
	case SP_EV_DELIVER:
		e->ev.rid = 0;
		e->ev.seq = m->seq;
		if ((e->env = malloc(m->env_len ? m->env_len : 1)) == NULL) {
			event_free(s, e);
			return nomem(s);
		}
		if (m->env_len > 0)
			memcpy(e->env, m->env, m->env_len);
		e->ev.env = e->env;
		e->ev.env_len = m->env_len;
		break;
	case SP_EV_ACCEPTED:
		memcpy(e->ev.id, m->id, SP_ID_LEN);
		break;
	case SP_EV_FETCHED:
		e->ev.n = m->n;
		break;
	case SP_EV_KEYS:
		copy_bounded(e->addr, sizeof(e->addr), m->addr);
		e->ev.addr = e->addr;
		e->ev.ndevs = m->ndevs;
		memcpy(e->devs, m->devs, m->ndevs * sizeof(m->devs[0]));
		e->ev.devs = e->devs;
		break;
	default:
		break;
	}
	event_push(s, e);
	return SP_OK;
}

static int
handle_frame(struct sp_session *s, const uint8_t *body, size_t len)
{
	struct sp_msg	*m = &s->msg;
	int		 rc;

	if ((rc = sp_msg_decode(m, body, len)) != SP_OK)
		return fail(s, rc, 0, "bad %s message from relay: %s",
		    sp_msg_type_name(m->type), sp_strerror(rc));
	if (m->type == SP_MSG_ERROR)
		return on_error(s, m);

	switch (s->state) {
	case SP_SESSION_WAIT_CHALLENGE:
		if (m->type == SP_MSG_CHALLENGE)
			return on_challenge(s, m);
		break;
	case SP_SESSION_AUTHENTICATING:
		if ((s->enrol && m->type == SP_MSG_ENROLLED) ||
		    (!s->enrol && m->type == SP_MSG_OK))
			return on_authenticated(s, m);
		break;
	case SP_SESSION_READY:
		return on_reply(s, m);
	case SP_SESSION_FAILED:
		return SP_E_STATE;
	}
	return unexpected(s, m);
}

/* Handle every whole frame in the input buffer, keep the rest. */
static int
drain(struct sp_session *s)
{
	const uint8_t	*body;
	size_t		 off = 0, blen;
	int		 r;

	while (s->state != SP_SESSION_FAILED) {
		r = sp_frame_peek(s->in.data + off, s->in.len - off,
		    SP_FRAME_MAX, &body, &blen);
		if (r == 0)
			break;
		if (r < 0) {
			fail(s, r, 0,
			    "bad frame from relay: %s", sp_strerror(r));
			goto failed;
		}
		off += SP_FRAME_HEADER + blen;
		if ((r = handle_frame(s, body, blen)) != SP_OK)
			goto failed;
	}

	if (off > 0) {
		memmove(s->in.data, s->in.data + off, s->in.len - off);
		s->in.len -= off;
	}
	return SP_OK;
failed:
	sp_buf_free(&s->in);
	return r;
}

int
sp_session_input(struct sp_session *s, const uint8_t *data, size_t len)
{
	size_t	room, n;
	int	rc;

	if (s->state == SP_SESSION_FAILED)
		return SP_E_STATE;

	/* Feed in slices so the buffer never holds more than one frame
	 * beyond what has been handled. */
	while (len > 0) {
		room = SP_FRAME_HEADER + SP_FRAME_MAX - s->in.len;
		n = len < room ? len : room;
		if (sp_buf_append(&s->in, data, n) != SP_OK)
			return nomem(s);
		data += n;
		len -= n;
		if ((rc = drain(s)) != SP_OK)
			return rc;
	}
	return SP_OK;
}

void
sp_session_output(struct sp_session *s, const uint8_t **data, size_t *len)
{
	static const uint8_t	 none[1];

	*data = s->out.len > s->out_off ? s->out.data + s->out_off : none;
	*len = s->out.len - s->out_off;
}

void
sp_session_consume(struct sp_session *s, size_t n)
{
	size_t	avail = s->out.len - s->out_off;

	s->out_off += n < avail ? n : avail;
	if (s->out_off == s->out.len) {
		sp_buf_reset(&s->out);
		s->out_off = 0;
	} else if (s->out_off >= 65536 && s->out_off >= s->out.len / 2) {
		/* Slide the rest down now and then, not on every write. */
		memmove(s->out.data, s->out.data + s->out_off,
		    s->out.len - s->out_off);
		s->out.len -= s->out_off;
		s->out_off = 0;
	}
}

int
sp_session_event(struct sp_session *s, struct sp_event *ev)
{
	struct sess_event	*e;

	event_free(s, s->cur);
	s->cur = NULL;

	memset(ev, 0, sizeof(*ev));
	if ((e = s->head) == NULL)
		return 0;
	if ((s->head = e->next) == NULL)
		s->tail = NULL;
	s->cur = e;
	*ev = e->ev;
	return 1;
}

/* Encode request m with the next rid: to the output when READY, to the
 * held frames before. */
static int64_t
request(struct sp_session *s, struct sp_msg *m)
{
	struct sp_buf	*to;
	size_t		 start;
	int		 rc;

	if (s->state == SP_SESSION_FAILED || s->next_rid == UINT32_MAX)
		return SP_E_STATE;

	to = s->state == SP_SESSION_READY ? &s->out : &s->held;
	start = to->len;
	m->rid = s->next_rid;
	if ((rc = sp_msg_encode(m, to)) != SP_OK) {
		to->len = start;
		return rc;
	}
	return s->next_rid++;
}

int64_t
sp_session_send(struct sp_session *s, const uint8_t *env, size_t env_len)
{
	struct sp_msg	m;

	if (env == NULL || env_len == 0)
		return SP_E_VALUE;
	if (env_len > SP_FRAME_MAX)
		return SP_E_TOO_LARGE;
	memset(&m, 0, sizeof(m));
	m.type = SP_MSG_SEND;
	m.env = env;
	m.env_len = env_len;
	return request(s, &m);
}

int64_t
sp_session_fetch(struct sp_session *s)
{
	struct sp_msg	m;

	memset(&m, 0, sizeof(m));
	m.type = SP_MSG_FETCH;
	return request(s, &m);
}

int64_t
sp_session_ack(struct sp_session *s, uint64_t seq)
{
	struct sp_msg	m;

	memset(&m, 0, sizeof(m));
	m.type = SP_MSG_ACK;
	m.seq = seq;
	return request(s, &m);
}

int64_t
sp_session_lookup(struct sp_session *s, const char *addr)
{
	struct sp_msg	m;

	if (addr == NULL || strnlen(addr, SP_ADDR_MAX + 1) > SP_ADDR_MAX ||
	    !sp_addr_is_canonical(addr))
		return SP_E_VALUE;
	memset(&m, 0, sizeof(m));
	m.type = SP_MSG_LOOKUP;
	copy_bounded(m.addr, sizeof(m.addr), addr);
	return request(s, &m);
}

int64_t
sp_session_ping(struct sp_session *s)
{
	struct sp_msg	m;

	memset(&m, 0, sizeof(m));
	m.type = SP_MSG_PING;
	return request(s, &m);
}
