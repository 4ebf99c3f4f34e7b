/*
 * client.c - a device's session on the client listener.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../protocol/address.h"
#include "../protocol/auth.h"
#include "../protocol/envelope.h"
#include "../protocol/msg.h"
#include "../protocol/wire.h"
#include "client.h"
#include "conn.h"
#include "fedout.h"
#include "log.h"
#include "relay_int.h"
#include "store.h"

/* Deliveries a device may have unacknowledged at once. */
#define CLIENT_WINDOW		64

/* Wrong enrolment codes before the session is closed. */
#define CLIENT_MAX_BAD_CODES	3

/* Why a session that never authenticated is closed. */
#define CLIENT_AUTH_TIMEOUT	"authentication timeout"

enum client_state {
	CLIENT_HANDSHAKE,	/* TLS not done yet */
	CLIENT_CHALLENGED,	/* challenge sent, waiting for enrol/auth */
	CLIENT_ENROLLING,	/* code spent, waiting for the commit */
	CLIENT_READY,		/* authenticated as addr/dev */
};

struct client {
	TAILQ_ENTRY(client)	 entry;		/* r->clients */
	TAILQ_ENTRY(client)	 dev_entry;	/* r->bydev[] */
	struct relay		*r;
	struct conn		*conn;
	enum client_state	 state;
	char			 name[64];

	uint8_t			 nonce[SP_NONCE_LEN];
	char			 addr[SP_ADDR_MAX + 1];
	uint32_t		 dev;
	int			 in_table;
	int			 bad_codes;
	unsigned		 preauth;	/* messages before auth */
	size_t			 nlookups;	/* forwarded, unanswered */

	/* Mailbox push (after fetch). */
	int			 fetching;
	int			 fetched_sent;
	uint32_t		 fetch_rid;
	uint64_t		 last_seq;	/* highest pushed */
	unsigned		 inflight;	/* pushed, not acked */
	uint32_t		 pushed;	/* before the first "fetched" */
};

static void	client_ready(void *);
static void	client_msg(void *, struct sp_msg *);
static void	client_committed(void *, const struct conn_later *, int);
static void	client_drained(void *);
static void	client_closed(void *, const char *);

static const struct conn_ops client_ops = {
	.ready = client_ready,
	.msg = client_msg,
	.committed = client_committed,
	.drained = client_drained,
	.closed = client_closed,
};

static void	client_enrol(struct client *, const struct sp_msg *);
static void	client_auth(struct client *, const struct sp_msg *);
static void	client_send(struct client *, const struct sp_msg *);
static void	client_fetch(struct client *, const struct sp_msg *);
static void	client_ack(struct client *, const struct sp_msg *);
static void	client_lookup(struct client *, const struct sp_msg *);
static void	client_push(struct client *);
static void	client_attach(struct client *);
static void	client_reply(struct client *, enum sp_msg_type, uint32_t);

int
client_accept(struct relay *r, evutil_socket_t fd, const char *name)
{
	struct client	*cl;

	if ((cl = calloc(1, sizeof(*cl))) == NULL) {
		evutil_closesocket(fd);
		log_warn("client", "%s: refused: out of memory", name);
		return -1;
	}
	cl->r = r;
	cl->state = CLIENT_HANDSHAKE;
	snprintf(cl->name, sizeof(cl->name), "%s", name);

	cl->conn = conn_accept(r, fd, r->client_ctx, SP_ALPN_CLIENT, NULL,
	    &client_ops, cl, "client", name);
	if (cl->conn == NULL) {
		log_warn("client", "%s: refused: out of memory", name);
		free(cl);
		return -1;
	}

	/* Until it has authenticated, a device is anyone: it gets room
	 * for the few small messages that takes, nothing more. */
	conn_set_max_frame(cl->conn, RELAY_PREAUTH_FRAME);
	TAILQ_INSERT_TAIL(&r->clients, cl, entry);
	r->nclients++;
	return 0;
}

void
client_free(struct client *cl)
{
	struct relay	*r = cl->r;
	size_t		 i;

	if (cl->in_table)
		TAILQ_REMOVE(&r->bydev[cl->dev % RELAY_DEV_BUCKETS], cl,
		    dev_entry);
	if (cl->nlookups > 0)
		for (i = 0; i < r->cfg->npeers; i++)
			fedout_forget(r->fedouts[i], cl);
	TAILQ_REMOVE(&r->clients, cl, entry);
	r->nclients--;

	conn_free(cl->conn);
	sodium_memzero(cl->nonce, sizeof(cl->nonce));
	free(cl);
}

void
client_poke_dev(struct relay *r, uint32_t dev)
{
	struct client	*cl;

	TAILQ_FOREACH(cl, &r->bydev[dev % RELAY_DEV_BUCKETS], dev_entry)
		if (cl->dev == dev)
			client_push(cl);
}

/* Authenticated: enter the device table so new mail finds us. */
static void
client_attach(struct client *cl)
{
	const struct config	*cfg = cl->r->cfg;

	conn_set_deadline(cl->conn, 0, NULL);
	conn_set_max_frame(cl->conn, SP_FRAME_MAX);
	conn_set_rate(cl->conn, cfg->client_msg_rate, cfg->client_msg_burst);
	cl->state = CLIENT_READY;
	TAILQ_INSERT_TAIL(&cl->r->bydev[cl->dev % RELAY_DEV_BUCKETS], cl,
	    dev_entry);
	cl->in_table = 1;
}

static void
client_reply(struct client *cl, enum sp_msg_type type, uint32_t rid)
{
	struct sp_msg	m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.rid = rid;
	conn_send(cl->conn, &m);
}

static void
client_ready(void *arg)
{
	struct client	*cl = arg;
	struct sp_msg	 m;

	conn_set_idle(cl->conn, cl->r->cfg->client_idle_timeout);
	if (conn_set_deadline(cl->conn,
	    relay_jitter(cl->r->cfg->client_auth_timeout),
	    CLIENT_AUTH_TIMEOUT) == -1) {
		conn_close(cl->conn, "out of memory");
		return;
	}

	memset(&m, 0, sizeof(m));
	m.type = SP_MSG_CHALLENGE;
	randombytes_buf(cl->nonce, sizeof(cl->nonce));
	memcpy(m.nonce, cl->nonce, sizeof(m.nonce));
	snprintf(m.domain, sizeof(m.domain), "%s", cl->r->cfg->domain);
	cl->state = CLIENT_CHALLENGED;
	conn_send(cl->conn, &m);
}

static void
client_msg(void *arg, struct sp_msg *m)
{
	struct client	*cl = arg;

	/* Whoever has not authenticated has no business sending much. */
	if (cl->state != CLIENT_READY &&
	    ++cl->preauth > RELAY_PREAUTH_MSGS) {
		cl->r->stats.preauth++;
		conn_send_error(cl->conn, m->rid, SP_WERR_STATE,
		    "too many messages before authentication");
		conn_finish(cl->conn, "too many messages before "
		    "authentication");
		return;
	}

	if (m->type == SP_MSG_PING) {
		client_reply(cl, SP_MSG_OK, m->rid);
		return;
	}

	if (cl->state != CLIENT_READY) {
		switch (m->type) {
		case SP_MSG_ENROL:
		case SP_MSG_AUTH:
			if (cl->state != CLIENT_CHALLENGED)
				break;
			if (m->type == SP_MSG_ENROL)
				client_enrol(cl, m);
			else
				client_auth(cl, m);
			return;
		default:
			break;
		}
		conn_send_error(cl->conn, m->rid, SP_WERR_STATE,
		    "authenticate first");
		return;
	}

	switch (m->type) {
	case SP_MSG_SEND:
		client_send(cl, m);
		break;
	case SP_MSG_FETCH:
		client_fetch(cl, m);
		break;
	case SP_MSG_ACK:
		client_ack(cl, m);
		break;
	case SP_MSG_LOOKUP:
		client_lookup(cl, m);
		break;
	case SP_MSG_ENROL:
	case SP_MSG_AUTH:
		conn_send_error(cl->conn, m->rid, SP_WERR_STATE,
		    "already authenticated");
		break;
	default:
		if (relay_log_ok(cl->r))
			log_warn("client", "%s: refused: unexpected %s; "
			    "closing", cl->name, sp_msg_type_name(m->type));
		conn_send_error(cl->conn, m->rid, SP_WERR_BAD_MESSAGE,
		    "unexpected message type");
		conn_finish(cl->conn, "unexpected message");
		break;
	}
}

static void
client_enrol(struct client *cl, const struct sp_msg *m)
{
	struct relay	*r = cl->r;
	uint32_t	 dev;
	struct conn_later l;
	int		 rc;

	if (strcmp(sp_addr_domain(m->addr), r->cfg->domain) != 0) {
		if (relay_log_ok(r))
			log_warn("client", "%s: enrol refused addr=%s: not "
			    "our domain", cl->name, m->addr);
		conn_send_error(cl->conn, m->rid, SP_WERR_NOT_ALLOWED,
		    "address not of this relay's domain");
		return;
	}
	if (sp_auth_enrol_verify(m->sig, cl->nonce, r->cfg->domain, m->addr,
	    m->spk, m->bpk) != SP_OK) {
		if (relay_log_ok(r))
			log_warn("client", "%s: enrol refused addr=%s: bad "
			    "signature", cl->name, m->addr);
		conn_send_error(cl->conn, m->rid, SP_WERR_AUTH_FAILED,
		    "signature does not verify");
		conn_finish(cl->conn, "enrolment signature bad");
		return;
	}

	rc = store_code_redeem(r->st, m->addr, m->code, relay_now(), m->spk,
	    m->bpk, &dev);
	if (rc == STORE_NOTFOUND) {
		if (relay_log_ok(r))
			log_warn("client", "%s: enrol refused addr=%s: bad "
			    "code", cl->name, m->addr);
		conn_send_error(cl->conn, m->rid, SP_WERR_BAD_CODE,
		    "code unknown, used or expired");
		if (++cl->bad_codes >= CLIENT_MAX_BAD_CODES)
			conn_finish(cl->conn, "too many bad codes");
		return;
	}
	if (rc == STORE_LIMIT) {
		log_warn("client", "%s: enrol refused addr=%s: device limit "
		    "reached", cl->name, m->addr);
		conn_send_error(cl->conn, m->rid, SP_WERR_NOT_ALLOWED,
		    "device limit reached");
		return;
	}
	if (rc != STORE_OK) {
		log_warn("client", "%s: enrol addr=%s: store: %s", cl->name,
		    m->addr, store_strerror(r->st));
		conn_send_error(cl->conn, m->rid, SP_WERR_TRY_LATER,
		    "store unavailable, try later");
		return;
	}

	/* The device exists once the batch commits; only then may the
	 * session use it. */
	snprintf(cl->addr, sizeof(cl->addr), "%s", m->addr);
	cl->dev = dev;
	cl->state = CLIENT_ENROLLING;
	memset(&l, 0, sizeof(l));
	l.type = SP_MSG_ENROLLED;
	l.rid = m->rid;
	l.dev = dev;
	conn_after_commit(cl->conn, &l);
}

static void
client_auth(struct client *cl, const struct sp_msg *m)
{
	struct relay		*r = cl->r;
	struct store_device	 d;
	const char		*why = NULL;
	int			 rc;

	if (strcmp(sp_addr_domain(m->addr), r->cfg->domain) != 0)
		why = "not our domain";
	else if ((rc = store_device_get(r->st, m->addr, m->dev, &d)) ==
	    STORE_NOTFOUND)
		why = "no such device";
	else if (rc != STORE_OK) {
		log_warn("client", "%s: auth addr=%s: store: %s", cl->name,
		    m->addr, store_strerror(r->st));
		conn_send_error(cl->conn, m->rid, SP_WERR_TRY_LATER,
		    "store unavailable, try later");
		return;
	} else if (sp_auth_verify(m->sig, cl->nonce, r->cfg->domain,
	    m->addr, m->dev, d.spk) != SP_OK)
		why = "bad signature";

	if (why != NULL) {
		if (relay_log_ok(r))
			log_warn("client", "%s: auth failed addr=%s dev=%u: "
			    "%s", cl->name, m->addr, m->dev, why);
		conn_send_error(cl->conn, m->rid, SP_WERR_AUTH_FAILED,
		    "authentication failed");
		conn_finish(cl->conn, "authentication failed");
		return;
	}

	snprintf(cl->addr, sizeof(cl->addr), "%s", m->addr);
	cl->dev = m->dev;
	client_attach(cl);
	log_debug("client", "%s: authenticated addr=%s dev=%u", cl->name,
	    cl->addr, cl->dev);
	client_reply(cl, SP_MSG_OK, m->rid);
}

/* Refuse a send with err and a reason for the device. */
static void
client_send_refuse(struct client *cl, const struct sp_msg *m,
    enum sp_wire_error err, const char *text)
{
	log_debug("client", "%s: send refused addr=%s: %s: %s", cl->name,
	    cl->addr, sp_wire_error_name(err), text);
	conn_send_error(cl->conn, m->rid, err, text);
}

static void
client_send(struct client *cl, const struct sp_msg *m)
{
	struct relay		*r = cl->r;
	struct sp_envelope	 env;
	struct store_device	 d;
	struct fedout		*fo;
	struct conn_later	 l;
	const char		*dom;
	char			 text[SP_ERRMSG_MAX + SP_DOMAIN_MAX];
	uint64_t		 now = relay_now(), seq;
	int			 rc;

	if ((rc = sp_env_decode(&env, m->env, m->env_len)) != SP_OK) {
		client_send_refuse(cl, m, rc == SP_E_TOO_LARGE ?
		    SP_WERR_TOO_LARGE : SP_WERR_BAD_ENVELOPE, sp_strerror(rc));
		return;
	}
	if (strcmp(env.org, r->cfg->domain) != 0) {
		snprintf(text, sizeof(text), "origin must be %s",
		    r->cfg->domain);
		client_send_refuse(cl, m, SP_WERR_NOT_ALLOWED, text);
		return;
	}
	if (sp_env_check_time(&env, now) != SP_OK) {
		if (env.exp <= now)
			client_send_refuse(cl, m, SP_WERR_EXPIRED,
			    "envelope expired");
		else
			client_send_refuse(cl, m, SP_WERR_BAD_ENVELOPE,
			    "envelope created in the future");
		return;
	}
	if (env.exp - env.ts > r->cfg->max_lifetime) {
		snprintf(text, sizeof(text), "lifetime over %u seconds",
		    r->cfg->max_lifetime);
		client_send_refuse(cl, m, SP_WERR_NOT_ALLOWED, text);
		return;
	}

	dom = sp_addr_domain(env.to);
	fo = NULL;
	if (strcmp(dom, r->cfg->domain) == 0) {
		rc = store_device_get(r->st, env.to, env.dev, &d);
		if (rc == STORE_NOTFOUND) {
			client_send_refuse(cl, m, SP_WERR_NO_SUCH_USER,
			    "no such recipient device");
			return;
		}
		if (rc == STORE_OK)
			rc = store_mailbox_put(r->st, env.dev, env.id,
			    env.exp, m->env, m->env_len, &seq);
	} else if ((fo = relay_fedout(r, dom)) != NULL)
		rc = store_outbound_put(r->st, dom, env.id, env.exp, m->env,
		    m->env_len, &seq);
	else {
		snprintf(text, sizeof(text), "no federation with %s", dom);
		client_send_refuse(cl, m, SP_WERR_NOT_ALLOWED, text);
		return;
	}

	if (rc != STORE_OK && rc != STORE_DUP) {
		log_warn("client", "%s: send addr=%s: store: %s", cl->name,
		    cl->addr, store_strerror(r->st));
		conn_send_error(cl->conn, m->rid, SP_WERR_TRY_LATER,
		    "store unavailable, try later");
		return;
	}
	if (rc == STORE_OK) {
		if (fo != NULL)
			relay_touch_peer(r, fo);
		else
			relay_touch_dev(r, env.dev);
	}

	/* A duplicate is accepted too: its first copy may sit in this
	 * very batch, so it also waits for the commit. */
	memset(&l, 0, sizeof(l));
	l.type = SP_MSG_ACCEPTED;
	l.rid = m->rid;
	memcpy(l.id, env.id, sizeof(l.id));
	conn_after_commit(cl->conn, &l);
}

static void
client_fetch(struct client *cl, const struct sp_msg *m)
{
	if (cl->fetching) {
		conn_send_error(cl->conn, m->rid, SP_WERR_STATE,
		    "already fetching");
		return;
	}
	cl->fetching = 1;
	cl->fetch_rid = m->rid;
	cl->last_seq = 0;
	cl->pushed = 0;
	client_push(cl);
}

static void
client_ack(struct client *cl, const struct sp_msg *m)
{
	struct conn_later	l;
	int			rc;

	rc = store_mailbox_del(cl->r->st, cl->dev, m->seq);
	if (rc != STORE_OK && rc != STORE_NOTFOUND) {
		log_warn("client", "%s: ack addr=%s: store: %s", cl->name,
		    cl->addr, store_strerror(cl->r->st));
		conn_send_error(cl->conn, m->rid, SP_WERR_TRY_LATER,
		    "store unavailable, try later");
		return;
	}

	/* The window counts acks, not seqs; a device acking nonsense
	 * only shrinks its own window. */
	if (cl->fetching && m->seq <= cl->last_seq && cl->inflight > 0)
		cl->inflight--;

	memset(&l, 0, sizeof(l));
	l.type = SP_MSG_OK;
	l.rid = m->rid;
	conn_after_commit(cl->conn, &l);
	client_push(cl);
}

/* A forwarded lookup came back (or failed). */
static void
client_lookup_done(void *arg, uint32_t rid, const struct sp_msg *m)
{
	struct client	*cl = arg;
	struct sp_msg	 reply;

	cl->nlookups--;
	reply = *m;
	reply.rid = rid;
	conn_send(cl->conn, &reply);
}

static void
client_lookup(struct client *cl, const struct sp_msg *m)
{
	struct relay		*r = cl->r;
	struct fedout		*fo;
	const char		*dom = sp_addr_domain(m->addr);
	char			 text[SP_ERRMSG_MAX + SP_DOMAIN_MAX];

	if (strcmp(dom, r->cfg->domain) != 0) {
		if ((fo = relay_fedout(r, dom)) == NULL) {
			snprintf(text, sizeof(text), "no federation with %s",
			    dom);
			conn_send_error(cl->conn, m->rid, SP_WERR_NOT_ALLOWED,
			    text);
			return;
		}
		/* Counted first: the answer may come before the call
		 * returns. */
		cl->nlookups++;
		if (fedout_lookup(fo, cl, m->rid, m->addr,
		    client_lookup_done) == -1) {
			cl->nlookups--;
			conn_send_error(cl->conn, m->rid, SP_WERR_TRY_LATER,
			    "out of memory");
		}
		return;
	}

	relay_answer_keys(r, cl->conn, m->rid, m->addr);
}

struct push_ctx {
	struct client	*cl;
	size_t		 n;
};

static int
client_push_one(void *arg, uint64_t seq, const uint8_t *env, size_t len)
{
	struct push_ctx	*p = arg;
	struct client	*cl = p->cl;
	struct sp_msg	 m;

	memset(&m, 0, sizeof(m));
	m.type = SP_MSG_DELIVER;
	m.seq = seq;
	m.env = env;
	m.env_len = len;
	if (conn_send(cl->conn, &m) == -1)
		return 1;

	cl->last_seq = seq;
	cl->inflight++;
	if (!cl->fetched_sent)
		cl->pushed++;
	p->n++;
	return 0;
}

static int
client_count_one(void *arg, uint64_t seq, const uint8_t *env, size_t len)
{
	(*(size_t *)arg)++;
	return 1;
}

/*
 * Push committed mail after last_seq while the window and the output
 * have room.  The first time the mailbox is found drained, tell the
 * device with "fetched".
 */
static void
client_push(struct client *cl)
{
	struct relay	*r = cl->r;
	struct push_ctx	 p;
	struct sp_msg	 m;
	size_t		 want, more;
	int		 rc;

	if (!cl->fetching || !conn_alive(cl->conn))
		return;

	while (cl->inflight < CLIENT_WINDOW &&
	    conn_outlen(cl->conn) < RELAY_OUT_HIGH) {
		want = CLIENT_WINDOW - cl->inflight;
		p.cl = cl;
		p.n = 0;
		rc = store_mailbox_scan(r->st, cl->dev, cl->last_seq, want,
		    client_push_one, &p);
		if (rc != STORE_OK) {
			log_warn("client", "%s: mailbox dev=%u: store: %s",
			    cl->name, cl->dev, store_strerror(r->st));
			return;
		}
		if (p.n < want)
			break;
	}
	if (cl->fetched_sent)
		return;

	/* With the window full, look whether anything is left at all,
	 * so that "fetched" does not wait for acks. */
	more = 0;
	if (cl->inflight >= CLIENT_WINDOW || conn_outlen(cl->conn) >=
	    RELAY_OUT_HIGH) {
		rc = store_mailbox_scan(r->st, cl->dev, cl->last_seq, 1,
		    client_count_one, &more);
		if (rc != STORE_OK || more > 0)
			return;
	}

	memset(&m, 0, sizeof(m));
	m.type = SP_MSG_FETCHED;
	m.rid = cl->fetch_rid;
	m.n = cl->pushed;
	cl->fetched_sent = 1;
	conn_send(cl->conn, &m);
}

static void
client_committed(void *arg, const struct conn_later *l, int status)
{
	struct client	*cl = arg;
	struct sp_msg	 m;

	if (status != STORE_OK) {
		if (l->type == SP_MSG_ENROLLED)
			cl->state = CLIENT_CHALLENGED;
		conn_send_error(cl->conn, l->rid, SP_WERR_TRY_LATER,
		    "store unavailable, try later");
		return;
	}

	if (l->type == SP_MSG_ENROLLED) {
		client_attach(cl);
		log_info("client", "%s: enrolled addr=%s dev=%u", cl->name,
		    cl->addr, cl->dev);
	}

	memset(&m, 0, sizeof(m));
	m.type = l->type;
	m.rid = l->rid;
	m.dev = l->dev;
	memcpy(m.id, l->id, sizeof(m.id));
	conn_send(cl->conn, &m);
}

static void
client_drained(void *arg)
{
	struct client	*cl = arg;

	if (cl->fetching && cl->inflight < CLIENT_WINDOW)
		client_push(cl);
}

static void
client_closed(void *arg, const char *why)
{
	struct client	*cl = arg;

	if (strcmp(why, CLIENT_AUTH_TIMEOUT) == 0)
		cl->r->stats.auth_timeout++;

	/* Failed handshakes are worth a line, as long as a flood of
	 * them does not turn into a flood of lines. */
	if (cl->state == CLIENT_HANDSHAKE &&
	    strcmp(why, "closed by peer during handshake") != 0 &&
	    strcmp(why, CONN_WHY_HANDSHAKE) != 0) {
		if (relay_log_ok(cl->r))
			log_warn("client", "%s: %s", cl->name, why);
	} else
		log_debug("client", "%s: closed addr=%s: %s", cl->name,
		    cl->state == CLIENT_READY ? cl->addr : "-", why);
	client_free(cl);
}
