/*
 * fedout.c - the outbound connector of one federation peer.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sodium.h>

#include "../protocol/envelope.h"
#include "../protocol/msg.h"
#include "../protocol/wire.h"
#include "config.h"
#include "conn.h"
#include "fedout.h"
#include "log.h"
#include "relay_int.h"
#include "store.h"
#include "tls.h"

/* Envelopes handed over and not yet answered. */
#define FEDOUT_WINDOW	256

/* Shortest wait before a retry, whatever the jitter drew (ms). */
#define FEDOUT_RETRY_FLOOR_MS	100

/* Keys learnt from the peer, kept to answer lookups while it is away:
 * how many addresses, and for how long.  XXX: held in memory only, so
 * after a restart nobody can send to a peer that is down until it is
 * back and answers a lookup. */
#define FEDOUT_CACHE_MAX	1024
#define FEDOUT_CACHE_TTL	(7 * 24 * 3600)

enum fedout_state {
	FEDOUT_IDLE,
	FEDOUT_CONNECTING,
	FEDOUT_READY,
	FEDOUT_BACKOFF,
};

static const char *fedout_state_names[] = {
	"idle", "connecting", "ready", "backoff",
};

struct inflight {
	uint32_t	rid;
	uint64_t	seq;
	uint8_t		id[SP_ID_LEN];
	char		to[SP_ADDR_MAX + 1];
	uint32_t	dev;
	uint64_t	ts;
	double		sent;		/* when the relay frame went out */
};

struct lookup {
	TAILQ_ENTRY(lookup)	 entry;
	struct fedout		*fo;
	void			*owner;
	uint32_t		 crid;		/* the owner's request id */
	uint32_t		 prid;		/* ours, towards the peer */
	int			 sent;
	char			 addr[SP_ADDR_MAX + 1];
	struct event		*timer;
	fedout_lookup_cb	*cb;
};
TAILQ_HEAD(lookup_list, lookup);

/* One address's keys as the peer last gave them. */
struct cached {
	TAILQ_ENTRY(cached)	 entry;		/* most recent first */
	char			 addr[SP_ADDR_MAX + 1];
	uint64_t		 when;
	size_t			 ndevs;
	struct sp_device_keys	 devs[];
};
TAILQ_HEAD(cache_list, cached);

struct fedout {
	struct relay		*r;
	const struct config_peer *peer;
	SSL_CTX			*ctx;
	enum fedout_state	 state;
	struct conn		*conn;
	struct event		*timer;		/* backoff */
	unsigned		 backoff_ms;	/* current cap */

	struct inflight		 win[FEDOUT_WINDOW];
	size_t			 nwin;
	uint64_t		 last_seq;	/* highest handed over */
	uint32_t		 next_rid;

	struct lookup_list	 lookups;
	struct cache_list	 cache;
	size_t			 ncache;
	int			 failing;	/* closing on an error */
	char			 why[300];
};

static void	fedout_ready(void *);
static void	fedout_msg(void *, struct sp_msg *);
static void	fedout_drained(void *);
static void	fedout_closed(void *, const char *);

static const struct conn_ops fedout_ops = {
	.ready = fedout_ready,
	.msg = fedout_msg,
	.drained = fedout_drained,
	.closed = fedout_closed,
};

static void	fedout_connect(struct fedout *);
static void	fedout_pump(struct fedout *);
static void	fedout_fail(struct fedout *, const char *);
static void	fedout_set_state(struct fedout *, enum fedout_state);
static void	fedout_retry(evutil_socket_t, short, void *);
static void	fedout_lookup_timeout(evutil_socket_t, short, void *);
static void	fedout_lookup_answer(struct lookup *, const struct sp_msg *);
static void	fedout_lookup_send(struct fedout *, struct lookup *);
static void	fedout_lookups_fail(struct fedout *);
static void	fedout_lookup_unreachable(struct fedout *, const char *,
		    uint32_t, const char *, struct sp_msg *);
static void	fedout_cache_put(struct fedout *, const struct sp_msg *);
static void	fedout_cache_del(struct fedout *, const char *);

struct fedout *
fedout_new(struct relay *r, const struct config_peer *peer)
{
	struct fedout	*fo;
	char		 err[512];

	if ((fo = calloc(1, sizeof(*fo))) == NULL) {
		log_error("fedout", "%s: out of memory", peer->domain);
		return NULL;
	}
	fo->r = r;
	fo->peer = peer;
	fo->state = FEDOUT_IDLE;
	fo->backoff_ms = r->cfg->retry_min * 1000;
	TAILQ_INIT(&fo->lookups);
	TAILQ_INIT(&fo->cache);

	fo->ctx = tls_fed_client_ctx(r->cfg->tls_cert, r->cfg->tls_key, peer,
	    err, sizeof(err));
	if (fo->ctx == NULL) {
		log_error("fedout", "%s: tls: %s", peer->domain, err);
		free(fo);
		return NULL;
	}
	if ((fo->timer = evtimer_new(r->base, fedout_retry, fo)) == NULL) {
		log_error("fedout", "%s: out of memory", peer->domain);
		SSL_CTX_free(fo->ctx);
		free(fo);
		return NULL;
	}
	return fo;
}

void
fedout_free(struct fedout *fo)
{
	struct lookup	*lk;
	struct cached	*ce;

	if (fo == NULL)
		return;
	while ((lk = TAILQ_FIRST(&fo->lookups)) != NULL) {
		TAILQ_REMOVE(&fo->lookups, lk, entry);
		event_free(lk->timer);
		free(lk);
	}
	while ((ce = TAILQ_FIRST(&fo->cache)) != NULL) {
		TAILQ_REMOVE(&fo->cache, ce, entry);
		free(ce);
	}
	conn_free(fo->conn);
	event_free(fo->timer);
	SSL_CTX_free(fo->ctx);
	free(fo);
}

static void
fedout_set_state(struct fedout *fo, enum fedout_state state)
{
	if (fo->state == state)
		return;
	log_debug("fedout", "%s: %s -> %s", fo->peer->domain,
	    fedout_state_names[fo->state], fedout_state_names[state]);
	fo->state = state;
}

void
fedout_kick(struct fedout *fo)
{
	switch (fo->state) {
	case FEDOUT_IDLE:
		fedout_connect(fo);
		break;
	case FEDOUT_READY:
		fedout_pump(fo);
		break;
	case FEDOUT_CONNECTING:
	case FEDOUT_BACKOFF:
		/* The handshake or the retry timer takes it from here. */
		break;
	}
}

static void
fedout_connect(struct fedout *fo)
{
	const struct config_peer *p = fo->peer;
	SSL	*ssl;
	char	 err[512];

	fo->failing = 0;
	fo->nwin = 0;
	fo->last_seq = 0;
	fedout_set_state(fo, FEDOUT_CONNECTING);

	if ((ssl = tls_fed_client_ssl(fo->ctx, p, err, sizeof(err))) == NULL ||
	    (fo->conn = conn_connect(fo->r, ssl, p->host, p->port,
	    fo->r->cfg->connect_timeout, SP_ALPN_FEDERATION, &fedout_ops, fo,
	    "fedout", p->domain, err, sizeof(err))) == NULL) {
		/* No connection to wait for: go to back-off directly. */
		fo->failing = 1;
		fedout_closed(fo, err);
		return;
	}
	log_debug("fedout", "%s: connecting to %s:%u", p->domain, p->host,
	    p->port);
}

static void
fedout_ready(void *arg)
{
	struct fedout	*fo = arg;
	struct lookup	*lk;

	fedout_set_state(fo, FEDOUT_READY);
	fo->backoff_ms = fo->r->cfg->retry_min * 1000;
	conn_set_idle(fo->conn, fo->r->cfg->client_idle_timeout);
	log_info("fedout", "%s: connected to %s:%u", fo->peer->domain,
	    fo->peer->host, fo->peer->port);

	TAILQ_FOREACH(lk, &fo->lookups, entry)
		if (!lk->sent)
			fedout_lookup_send(fo, lk);
	fedout_pump(fo);
}

/*
 * Log one hand-over line: age is whole seconds since the envelope's
 * creation time (which has one-second resolution), rtt the time from our
 * relay frame to the peer's answer (0 when none was sent).
 */
static void
fedout_log(struct fedout *fo, const struct inflight *in, const char *result,
    const char *err)
{
	char		hex[SP_ID_LEN * 2 + 1];
	uint64_t	now = relay_now();
	double		rtt = in->sent > 0 ? relay_now_real() - in->sent : 0;

	log_at(err != NULL ? LOG_LEVEL_WARN : LOG_LEVEL_INFO, "deliver",
	    "id=%s to=%s dev=%u via=%s result=%s%s%s age=%llus rtt=%.3fs",
	    log_hex(hex, in->id, sizeof(in->id)), in->to, in->dev,
	    fo->peer->domain, result, err != NULL ? " err=" : "",
	    err != NULL ? err : "",
	    (unsigned long long)(now > in->ts ? now - in->ts : 0), rtt);
}

/* One queued envelope: hand it over, or drop it if it has expired. */
static int
fedout_one(void *arg, uint64_t seq, const uint8_t *env, size_t len)
{
	struct fedout		*fo = arg;
	struct sp_envelope	 e;
	struct inflight		*in;
	struct sp_msg		 m;
	uint64_t		 now = relay_now();
	int			 rc;

	fo->last_seq = seq;
	if ((rc = sp_env_decode(&e, env, len)) != SP_OK) {
		log_error("fedout", "%s: queued seq=%llu unreadable (%s); "
		    "dropped", fo->peer->domain, (unsigned long long)seq,
		    sp_strerror(rc));
		store_outbound_del(fo->r->st, fo->peer->domain, seq);
		return 0;
	}

	in = &fo->win[fo->nwin];
	memcpy(in->id, e.id, sizeof(in->id));
	snprintf(in->to, sizeof(in->to), "%s", e.to);
	in->dev = e.dev;
	in->ts = e.ts;
	in->seq = seq;
	in->sent = 0;

	if (e.exp <= now) {
		store_outbound_del(fo->r->st, fo->peer->domain, seq);
		fedout_log(fo, in, "expired", NULL);
		return 0;
	}

	if (++fo->next_rid == 0)
		fo->next_rid = 1;
	in->rid = fo->next_rid;
	memset(&m, 0, sizeof(m));
	m.type = SP_MSG_RELAY;
	m.rid = in->rid;
	m.env = env;
	m.env_len = len;
	if (conn_send(fo->conn, &m) == -1)
		return 1;
	in->sent = relay_now_real();
	fo->nwin++;

	return fo->nwin >= FEDOUT_WINDOW ||
	    conn_outlen(fo->conn) >= RELAY_OUT_HIGH;
}

/* Hand over queued envelopes while the window and output have room. */
static void
fedout_pump(struct fedout *fo)
{
	uint64_t	before;
	int		rc;

	while (fo->state == FEDOUT_READY && conn_alive(fo->conn) &&
	    fo->nwin < FEDOUT_WINDOW &&
	    conn_outlen(fo->conn) < RELAY_OUT_HIGH) {
		before = fo->last_seq;
		rc = store_outbound_scan(fo->r->st, fo->peer->domain,
		    fo->last_seq, FEDOUT_WINDOW - fo->nwin, fedout_one, fo);
		if (rc != STORE_OK) {
			log_warn("fedout", "%s: queue: %s", fo->peer->domain,
			    store_strerror(fo->r->st));
			return;
		}
		if (fo->last_seq == before)
			break;		/* drained */
	}
}

static int
fedout_permanent(uint32_t err)
{
	switch (err) {
	case SP_WERR_NOT_ALLOWED:
	case SP_WERR_NO_SUCH_USER:
	case SP_WERR_BAD_ENVELOPE:
	case SP_WERR_EXPIRED:
	case SP_WERR_TOO_LARGE:
	case SP_WERR_BAD_ADDRESS:
		return 1;
	default:
		return 0;
	}
}

/* A reply to one of our relay frames. */
static void
fedout_reply(struct fedout *fo, size_t i, const struct sp_msg *m)
{
	struct inflight	 in = fo->win[i];
	char		 why[128];

	/* The window is a set, not a queue: fill the hole from the end. */
	fo->win[i] = fo->win[--fo->nwin];

	if (m->type == SP_MSG_ACCEPTED) {
		if (memcmp(m->id, in.id, sizeof(in.id)) != 0) {
			fedout_fail(fo, "accepted names another envelope");
			return;
		}
		store_outbound_del(fo->r->st, fo->peer->domain, in.seq);
		fedout_log(fo, &in, "accepted", NULL);
		fedout_pump(fo);
		return;
	}

	if (fedout_permanent(m->err)) {
		store_outbound_del(fo->r->st, fo->peer->domain, in.seq);
		fedout_log(fo, &in, "refused", sp_wire_error_name(m->err));
		fedout_pump(fo);
		return;
	}

	/* Try later, or something the peer should not have said: keep
	 * the envelope and come back after a pause. */
	snprintf(why, sizeof(why), "peer answered %s",
	    sp_wire_error_name(m->err));
	fedout_fail(fo, why);
}

static void
fedout_msg(void *arg, struct sp_msg *m)
{
	struct fedout	*fo = arg;
	struct lookup	*lk;
	size_t		 i;

	if (m->type == SP_MSG_ACCEPTED || m->type == SP_MSG_ERROR)
		for (i = 0; i < fo->nwin; i++)
			if (fo->win[i].rid == m->rid) {
				fedout_reply(fo, i, m);
				return;
			}

	if (m->type == SP_MSG_KEYS || m->type == SP_MSG_ERROR) {
		TAILQ_FOREACH(lk, &fo->lookups, entry)
			if (lk->sent && lk->prid == m->rid)
				break;
		if (lk != NULL) {
			if (m->type == SP_MSG_KEYS &&
			    strcmp(m->addr, lk->addr) != 0) {
				fedout_fail(fo, "keys for another address");
				return;
			}
			if (m->type == SP_MSG_KEYS)
				fedout_cache_put(fo, m);
			else if (m->err == SP_WERR_NO_SUCH_USER)
				fedout_cache_del(fo, lk->addr);
			fedout_lookup_answer(lk, m);
			return;
		}
	}

	/* A late answer to a lookup that timed out is harmless. */
	if ((m->type == SP_MSG_KEYS || m->type == SP_MSG_ERROR) &&
	    m->rid != 0 && m->rid <= fo->next_rid) {
		log_debug("fedout", "%s: late reply rid=%u ignored",
		    fo->peer->domain, m->rid);
		return;
	}

	if (m->type == SP_MSG_ERROR) {
		char	text[SP_ERRMSG_MAX * 4 + 1], why[1024];

		log_escape(text, sizeof(text), m->msg, strlen(m->msg));
		snprintf(why, sizeof(why), "peer error %s: %s",
		    sp_wire_error_name(m->err), text);
		fedout_fail(fo, why);
		return;
	}
	fedout_fail(fo, m->type == SP_MSG_NONE ? "unexpected message" :
	    sp_msg_type_name(m->type));
}

static void
fedout_drained(void *arg)
{
	fedout_pump(arg);
}

/* Give up on this connection; closed() decides about the retry. */
static void
fedout_fail(struct fedout *fo, const char *why)
{
	if (fo->failing || fo->conn == NULL)
		return;
	fo->failing = 1;
	if (snprintf(fo->why, sizeof(fo->why), "%s", why) >=
	    (int)sizeof(fo->why))
		log_debug("fedout", "%s: reason shortened", fo->peer->domain);
	conn_close(fo->conn, fo->why);
}

static void
fedout_closed(void *arg, const char *why)
{
	struct fedout	*fo = arg;
	struct lookup	*lk;
	struct timeval	 tv;
	unsigned	 ms;
	int		 busy;
	char		 reason[300];

	snprintf(reason, sizeof(reason), "%s", why);
	conn_free(fo->conn);
	fo->conn = NULL;

	busy = fo->nwin > 0;
	TAILQ_FOREACH(lk, &fo->lookups, entry)
		if (lk->sent)
			busy = 1;

	/* An idle connection that times out (or that the peer closes)
	 * has done its job; nothing to retry. */
	if (!fo->failing && !busy && fo->state == FEDOUT_READY) {
		log_info("fedout", "%s: disconnected: %s", fo->peer->domain,
		    reason);
		fo->nwin = 0;
		fedout_set_state(fo, FEDOUT_IDLE);
		return;
	}

	fo->nwin = 0;
	fedout_lookups_fail(fo);

	/* Full jitter: anywhere up to the current cap, which doubles. */
	ms = randombytes_uniform(fo->backoff_ms + 1);
	if (ms < FEDOUT_RETRY_FLOOR_MS)
		ms = FEDOUT_RETRY_FLOOR_MS;
	if (fo->backoff_ms < fo->r->cfg->retry_max * 1000u / 2)
		fo->backoff_ms *= 2;
	else
		fo->backoff_ms = fo->r->cfg->retry_max * 1000u;

	log_warn("fedout", "%s: %s; retry in %.1fs", fo->peer->domain,
	    reason, ms / 1000.0);
	fedout_set_state(fo, FEDOUT_BACKOFF);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(fo->timer, &tv);
}

static void
fedout_retry(evutil_socket_t fd, short ev, void *arg)
{
	struct fedout	*fo = arg;
	size_t		 n = 0;

	fedout_set_state(fo, FEDOUT_IDLE);
	if (store_outbound_count(fo->r->st, fo->peer->domain, &n) !=
	    STORE_OK || n > 0 || !TAILQ_EMPTY(&fo->lookups))
		fedout_connect(fo);
}

int
fedout_lookup(struct fedout *fo, void *owner, uint32_t rid,
    const char *addr, fedout_lookup_cb *cb)
{
	struct lookup	*lk;
	struct timeval	 tv = { fo->r->cfg->connect_timeout, 0 };
	struct sp_msg	 m;

	/* While backing off the peer is known to be away: say so now
	 * rather than after a timeout. */
	if (fo->state == FEDOUT_BACKOFF) {
		fedout_lookup_unreachable(fo, addr, rid,
		    "peer relay not reachable", &m);
		cb(owner, rid, &m);
		return 0;
	}

	if ((lk = calloc(1, sizeof(*lk))) == NULL)
		return -1;
	if ((lk->timer = evtimer_new(fo->r->base, fedout_lookup_timeout,
	    lk)) == NULL) {
		free(lk);
		return -1;
	}
	lk->fo = fo;
	lk->owner = owner;
	lk->crid = rid;
	lk->cb = cb;
	snprintf(lk->addr, sizeof(lk->addr), "%s", addr);
	TAILQ_INSERT_TAIL(&fo->lookups, lk, entry);
	evtimer_add(lk->timer, &tv);

	if (fo->state == FEDOUT_READY)
		fedout_lookup_send(fo, lk);
	else if (fo->state == FEDOUT_IDLE)
		fedout_connect(fo);
	return 0;
}

static void
fedout_lookup_send(struct fedout *fo, struct lookup *lk)
{
	struct sp_msg	m;

	if (++fo->next_rid == 0)
		fo->next_rid = 1;
	lk->prid = fo->next_rid;
	lk->sent = 1;

	memset(&m, 0, sizeof(m));
	m.type = SP_MSG_LOOKUP;
	m.rid = lk->prid;
	snprintf(m.addr, sizeof(m.addr), "%s", lk->addr);
	conn_send(fo->conn, &m);
}

/* Answer lk with m (rid rewritten by the owner) and drop it. */
static void
fedout_lookup_answer(struct lookup *lk, const struct sp_msg *m)
{
	TAILQ_REMOVE(&lk->fo->lookups, lk, entry);
	event_free(lk->timer);
	lk->cb(lk->owner, lk->crid, m);
	free(lk);
}

static void
fedout_lookup_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct lookup	*lk = arg;
	struct sp_msg	 m;

	fedout_lookup_unreachable(lk->fo, lk->addr, lk->crid,
	    "peer relay did not answer in time", &m);
	fedout_lookup_answer(lk, &m);
}

static void
fedout_lookups_fail(struct fedout *fo)
{
	struct lookup	*lk;
	struct sp_msg	 m;

	while ((lk = TAILQ_FIRST(&fo->lookups)) != NULL) {
		fedout_lookup_unreachable(fo, lk->addr, lk->crid,
		    "peer relay not reachable", &m);
		fedout_lookup_answer(lk, &m);
	}
}

/*
 * The peer cannot answer for addr: fill m with the keys it gave last
 * time, if recent enough, so that devices can still send (the envelopes
 * wait in the queue), else with a peer_unreachable error saying text.
 */
static void
fedout_lookup_unreachable(struct fedout *fo, const char *addr,
    uint32_t rid, const char *text, struct sp_msg *m)
{
	struct cached	*ce;
	uint64_t	 now = relay_now();

	TAILQ_FOREACH(ce, &fo->cache, entry)
		if (strcmp(ce->addr, addr) == 0)
			break;
	if (ce == NULL || ce->when + FEDOUT_CACHE_TTL < now) {
		sp_msg_error(m, rid, SP_WERR_PEER_UNREACHABLE, text);
		return;
	}

	log_debug("fedout", "%s: lookup addr=%s answered from cache (%s)",
	    fo->peer->domain, addr, text);
	memset(m, 0, sizeof(*m));
	m->type = SP_MSG_KEYS;
	m->rid = rid;
	snprintf(m->addr, sizeof(m->addr), "%s", addr);
	m->ndevs = ce->ndevs;
	memcpy(m->devs, ce->devs, ce->ndevs * sizeof(ce->devs[0]));
}

/* Remember the keys in m (a keys reply), most recent first. */
static void
fedout_cache_put(struct fedout *fo, const struct sp_msg *m)
{
	struct cached	*ce;

	fedout_cache_del(fo, m->addr);
	if (m->ndevs > SP_DEVICES_MAX)
		return;
	ce = malloc(sizeof(*ce) + m->ndevs * sizeof(ce->devs[0]));
	if (ce == NULL)
		return;		/* only a cache */
	snprintf(ce->addr, sizeof(ce->addr), "%s", m->addr);
	ce->when = relay_now();
	ce->ndevs = m->ndevs;
	memcpy(ce->devs, m->devs, m->ndevs * sizeof(ce->devs[0]));
	TAILQ_INSERT_HEAD(&fo->cache, ce, entry);

	if (++fo->ncache > FEDOUT_CACHE_MAX) {
		ce = TAILQ_LAST(&fo->cache, cache_list);
		TAILQ_REMOVE(&fo->cache, ce, entry);
		free(ce);
		fo->ncache--;
	}
}

static void
fedout_cache_del(struct fedout *fo, const char *addr)
{
	struct cached	*ce;

	TAILQ_FOREACH(ce, &fo->cache, entry)
		if (strcmp(ce->addr, addr) == 0) {
			TAILQ_REMOVE(&fo->cache, ce, entry);
			free(ce);
			fo->ncache--;
			return;
		}
}

void
fedout_forget(struct fedout *fo, void *owner)
{
	struct lookup	*lk, *next;

	for (lk = TAILQ_FIRST(&fo->lookups); lk != NULL; lk = next) {
		next = TAILQ_NEXT(lk, entry);
		if (lk->owner != owner)
			continue;
		TAILQ_REMOVE(&fo->lookups, lk, entry);
		event_free(lk->timer);
		free(lk);
	}
}
