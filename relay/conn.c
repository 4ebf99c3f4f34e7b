/*
 * conn.c - one framed TLS connection over a libevent bufferevent.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "../protocol/buf.h"
#include "../protocol/frame.h"
#include "../protocol/msg.h"
#include "../protocol/wire.h"
#include "conn.h"
#include "log.h"
#include "relay_int.h"
#include "store.h"
#include "tls.h"

struct later {
	TAILQ_ENTRY(later)	 entry;
	struct conn_later	 l;
};
TAILQ_HEAD(later_list, later);

/* What the connection's one timer is counting down to. */
enum conn_timer {
	CONN_T_NONE,
	CONN_T_HANDSHAKE,	/* close: the handshake took too long */
	CONN_T_FRAME,		/* close: a frame took too long */
	CONN_T_RESUME,		/* take the frames held back */
};

struct conn {
	struct relay		*r;
	struct bufferevent	*bev;
	struct event		*reaper;	/* runs closed() */
	struct event		*timer;		/* see enum conn_timer */
	struct event		*deadline;	/* the owner's, on demand */
	struct event		*first;		/* accepted: the first byte */
	SSL_CTX			*ctx;		/* accepted: for TLS */
	evutil_socket_t		 fd;		/* accepted: until then */
	TAILQ_ENTRY(conn)	 hs_entry;	/* r->hs_wait */
	int			 hs_waiting;
	struct relay_addr	*addr;		/* per-address slot or NULL */
	const struct conn_ops	*ops;
	void			*owner;
	const char		*subsys;
	const char		*alpn;
	struct tls_verdict	*verdict;
	const char		*deadline_why;
	enum conn_timer		 timer_is;

	size_t			 max_frame;	/* body bytes */

	/* Message token bucket; rate 0 means none. */
	double			 rate, burst, tokens, stamp;

	int			 handshaken;
	int			 paused;	/* reads off: output too full */
	int			 held;		/* reads off: frames wait */
	int			 reading;	/* EV_READ enabled */
	int			 finishing;	/* close once flushed */
	int			 dead;
	int			 broken;	/* TLS error or EOF seen */
	int			 in_process;

	struct later_list	 later;
	int			 waiting;	/* on_commit registered */

	char			 name[300];
	char			 why[300];
};

static struct conn	*conn_new(struct relay *, const struct conn_ops *,
			    void *, const char *, const char *,
			    const char *);
static void	conn_readcb(struct bufferevent *, void *);
static void	conn_writecb(struct bufferevent *, void *);
static void	conn_eventcb(struct bufferevent *, short, void *);
static void	conn_reap(evutil_socket_t, short, void *);
static void	conn_first(evutil_socket_t, short, void *);
static void	conn_hs_turn(evutil_socket_t, short, void *);
static void	conn_start_tls(struct conn *);
static void	conn_timer(evutil_socket_t, short, void *);
static void	conn_deadline(evutil_socket_t, short, void *);
static void	conn_arm(struct conn *, enum conn_timer, double);
static void	conn_reads(struct conn *);
static double	conn_token(struct conn *);
static void	conn_process(struct conn *);
static void	conn_committed(int, void *);
static void	conn_later_run(struct conn *, const struct conn_later *, int);
static void	conn_refuse(struct conn *, int, const struct sp_msg *);

static struct conn *
conn_new(struct relay *r, const struct conn_ops *ops, void *owner,
    const char *subsys, const char *name, const char *alpn)
{
	struct conn	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->reaper = event_new(r->base, -1, 0, conn_reap, c);
	c->timer = evtimer_new(r->base, conn_timer, c);
	if (c->reaper == NULL || c->timer == NULL) {
		if (c->reaper != NULL)
			event_free(c->reaper);
		if (c->timer != NULL)
			event_free(c->timer);
		free(c);
		return NULL;
	}
	c->r = r;
	c->ops = ops;
	c->owner = owner;
	c->subsys = subsys;
	c->alpn = alpn;
	c->max_frame = SP_FRAME_MAX;
	c->fd = -1;
	TAILQ_INIT(&c->later);
	snprintf(c->name, sizeof(c->name), "%s", name);
	return c;
}

/* Free a connection that never got a bufferevent. */
static void
conn_discard(struct conn *c)
{
	if (c->addr != NULL)
		relay_addr_release(c->r, c->addr);
	event_free(c->reaper);
	event_free(c->timer);
	free(c);
}

/* Common set-up of a fresh bufferevent. */
static void
conn_setup(struct conn *c, unsigned timeout)
{
	struct timeval	tv = { timeout, 0 };

	bufferevent_setcb(c->bev, conn_readcb, conn_writecb, conn_eventcb, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, RELAY_OUT_LOW, 0);
	bufferevent_setwatermark(c->bev, EV_READ, 0,
	    SP_FRAME_HEADER + c->max_frame);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->reading = 1;
}

struct conn *
conn_accept(struct relay *r, evutil_socket_t fd, SSL_CTX *ctx,
    const char *alpn, struct tls_verdict *v, const struct conn_ops *ops,
    void *owner, const char *subsys, const char *name)
{
	struct conn		*c;
	struct relay_addr	*slot;

	slot = relay_addr_take(r);
	if ((c = conn_new(r, ops, owner, subsys, name, alpn)) == NULL) {
		if (slot != NULL)
			relay_addr_release(r, slot);
		evutil_closesocket(fd);
		return NULL;
	}
	c->addr = slot;
	c->ctx = ctx;
	c->verdict = v;
	c->fd = fd;

	/*
	 * TLS state is made when the first byte comes: a handshake in
	 * progress holds some 40 KiB, a socket nobody talks on holds
	 * next to nothing.  The handshake deadline runs from now.
	 */
	if ((c->first = event_new(r->base, fd, EV_READ, conn_first, c)) ==
	    NULL || event_add(c->first, NULL) == -1) {
		if (c->first != NULL)
			event_free(c->first);
		evutil_closesocket(fd);
		conn_discard(c);
		return NULL;
	}
	conn_arm(c, CONN_T_HANDSHAKE,
	    relay_jitter(r->cfg->client_handshake_timeout));
	return c;
}

/* The first bytes of an accepted connection: TLS at its turn. */
static void
conn_first(evutil_socket_t fd, short ev, void *arg)
{
	struct conn	*c = arg;
	struct relay	*r = c->r;
	struct timeval	 now = { 0, 0 };

	event_free(c->first);
	c->first = NULL;
	if (r->hs_turn == NULL &&
	    (r->hs_turn = evtimer_new(r->base, conn_hs_turn, r)) == NULL) {
		conn_close(c, "out of memory");
		return;
	}
	TAILQ_INSERT_TAIL(&r->hs_wait, c, hs_entry);
	c->hs_waiting = 1;
	if (!evtimer_pending(r->hs_turn, NULL))
		evtimer_add(r->hs_turn, &now);
}

/*
 * Start the handshakes of a few waiting connections, and come back in
 * the next turn for more: what was waiting before them is done first.
 */
static void
conn_hs_turn(evutil_socket_t fd, short ev, void *arg)
{
	struct relay	*r = arg;
	struct conn	*c;
	struct timeval	 now = { 0, 0 };
	int		 n;

	for (n = 0; n < RELAY_TURN_HANDSHAKES; n++) {
		if ((c = TAILQ_FIRST(&r->hs_wait)) == NULL)
			return;
		TAILQ_REMOVE(&r->hs_wait, c, hs_entry);
		c->hs_waiting = 0;
		conn_start_tls(c);
	}
	if (!TAILQ_EMPTY(&r->hs_wait))
		evtimer_add(r->hs_turn, &now);
}

static void
conn_start_tls(struct conn *c)
{
	SSL		*ssl;

	if ((ssl = SSL_new(c->ctx)) == NULL ||
	    (c->verdict != NULL &&
	    tls_verdict_attach(ssl, c->verdict) == -1)) {
		SSL_free(ssl);
		ERR_clear_error();
		conn_close(c, "out of memory");
		return;
	}
	c->bev = bufferevent_openssl_socket_new(c->r->base, c->fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		SSL_free(ssl);
		conn_close(c, "out of memory");
		return;
	}
	c->fd = -1;
	conn_setup(c, c->r->cfg->client_handshake_timeout);
}

struct conn *
conn_connect(struct relay *r, SSL *ssl, const char *host, uint16_t port,
    unsigned timeout, const char *alpn, const struct conn_ops *ops,
    void *owner, const char *subsys, const char *name, char *err,
    size_t errlen)
{
	struct conn	*c;

	if ((c = conn_new(r, ops, owner, subsys, name, alpn)) == NULL) {
		SSL_free(ssl);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->bev = bufferevent_openssl_socket_new(r->base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		SSL_free(ssl);
		conn_discard(c);
		snprintf(err, errlen, "cannot create a TLS bufferevent");
		return NULL;
	}
	conn_setup(c, timeout);

	/* The whole of connect and handshake, however slowly it goes. */
	conn_arm(c, CONN_T_HANDSHAKE, timeout);

	/*
	 * Peers are configured by address or by a name the resolver
	 * answers from /etc/hosts.  XXX: without an evdns base a name
	 * that needs DNS is resolved here, blocking every session for
	 * as long as the resolver takes.  A failure after this point
	 * arrives as an event and from there as closed().
	 */
	if (bufferevent_socket_connect_hostname(c->bev, NULL, AF_UNSPEC,
	    host, port) == -1 && !c->dead)
		conn_close(c, "connect failed");
	return c;
}

void
conn_set_idle(struct conn *c, unsigned seconds)
{
	struct timeval	tv = { seconds, 0 };

	if (c->bev == NULL)
		return;
	if (seconds == 0)
		bufferevent_set_timeouts(c->bev, NULL, NULL);
	else
		bufferevent_set_timeouts(c->bev, &tv, &tv);
}

void
conn_set_max_frame(struct conn *c, size_t max)
{
	if (max == 0 || max > SP_FRAME_MAX)
		max = SP_FRAME_MAX;
	c->max_frame = max;

	/* Never buffer more than one whole frame of input. */
	if (c->bev != NULL)
		bufferevent_setwatermark(c->bev, EV_READ, 0,
		    SP_FRAME_HEADER + max);
}

void
conn_set_rate(struct conn *c, unsigned rate, unsigned burst)
{
	c->rate = rate;
	c->burst = burst > 0 ? burst : 1;
	c->tokens = c->burst;
	c->stamp = relay_mono();
}

int
conn_set_deadline(struct conn *c, double seconds, const char *why)
{
	struct timeval	tv;

	if (seconds <= 0) {
		if (c->deadline != NULL)
			event_del(c->deadline);
		return 0;
	}
	if (c->deadline == NULL &&
	    (c->deadline = evtimer_new(c->r->base, conn_deadline, c)) ==
	    NULL)
		return -1;
	c->deadline_why = why;
	tv.tv_sec = (time_t)seconds;
	tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
	evtimer_add(c->deadline, &tv);
	return 0;
}

static void
conn_deadline(evutil_socket_t fd, short ev, void *arg)
{
	struct conn	*c = arg;

	conn_close(c, c->deadline_why);
}

/* Point the timer at job, seconds from now (CONN_T_NONE: stop it). */
static void
conn_arm(struct conn *c, enum conn_timer job, double seconds)
{
	struct timeval	tv;

	c->timer_is = job;
	if (job == CONN_T_NONE) {
		event_del(c->timer);
		return;
	}
	tv.tv_sec = (time_t)seconds;
	tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
	evtimer_add(c->timer, &tv);
}

static void
conn_timer(evutil_socket_t fd, short ev, void *arg)
{
	struct conn	*c = arg;
	enum conn_timer	 job = c->timer_is;

	c->timer_is = CONN_T_NONE;
	switch (job) {
	case CONN_T_HANDSHAKE:
		c->r->stats.handshake_timeout++;
		conn_close(c, CONN_WHY_HANDSHAKE);
		break;
	case CONN_T_FRAME:
		c->r->stats.frame_timeout++;
		conn_close(c, CONN_WHY_FRAME);
		break;
	case CONN_T_RESUME:
		c->held = 0;
		conn_reads(c);
		conn_process(c);
		break;
	case CONN_T_NONE:
		break;
	}
}

/* Read while nothing says otherwise; touch libevent only on a change,
 * since enabling again would also restart the idle timeout. */
static void
conn_reads(struct conn *c)
{
	int	want = !c->paused && !c->held && !c->finishing;

	if (c->dead || c->bev == NULL || want == c->reading)
		return;
	c->reading = want;
	if (want)
		bufferevent_enable(c->bev, EV_READ);
	else
		bufferevent_disable(c->bev, EV_READ);
}

/*
 * Take one message token: 0 when there was one, else the seconds until
 * there will be.
 */
static double
conn_token(struct conn *c)
{
	double	now;

	if (c->rate <= 0)
		return 0;
	now = relay_mono();
	if (now > c->stamp)
		c->tokens += (now - c->stamp) * c->rate;
	if (c->tokens > c->burst)
		c->tokens = c->burst;
	c->stamp = now;
	if (c->tokens < 1)
		return (1 - c->tokens) / c->rate;
	c->tokens -= 1;
	return 0;
}

int
conn_send(struct conn *c, const struct sp_msg *m)
{
	struct evbuffer	*out;
	struct sp_buf	*b = c->r->scratch;
	int		 rc;

	if (c->dead || c->bev == NULL)
		return -1;

	sp_buf_reset(b);
	if ((rc = sp_msg_encode(m, b)) != SP_OK) {
		log_error(c->subsys, "%s: cannot encode %s: %s", c->name,
		    sp_msg_type_name(m->type), sp_strerror(rc));
		return -1;
	}
	out = bufferevent_get_output(c->bev);
	if (evbuffer_add(out, b->data, b->len) == -1) {
		log_error(c->subsys, "%s: out of memory", c->name);
		conn_close(c, "out of memory");
		return -1;
	}

	/* Whoever fills our output faster than it reads stops being
	 * read until it has caught up (resumed in conn_writecb). */
	if (!c->paused && evbuffer_get_length(out) > RELAY_OUT_HIGH) {
		c->paused = 1;
		conn_reads(c);
	}
	return 0;
}

int
conn_send_error(struct conn *c, uint32_t rid, enum sp_wire_error err,
    const char *text)
{
	struct sp_msg	m;

	sp_msg_error(&m, rid, err, text);
	return conn_send(c, &m);
}

void
conn_after_commit(struct conn *c, const struct conn_later *l)
{
	struct later	*it;

	if (!store_batch_open(c->r->st)) {
		conn_later_run(c, l, STORE_OK);
		return;
	}
	if ((it = malloc(sizeof(*it))) == NULL) {
		conn_later_run(c, l, STORE_ERR);
		return;
	}
	it->l = *l;

	if (!c->waiting) {
		if (store_on_commit(c->r->st, c, conn_committed, c) !=
		    STORE_OK) {
			free(it);
			conn_later_run(c, l, STORE_ERR);
			return;
		}
		c->waiting = 1;
	}
	TAILQ_INSERT_TAIL(&c->later, it, entry);
}

/* The batch our held-back replies depend on is through. */
static void
conn_committed(int status, void *arg)
{
	struct conn		*c = arg;
	struct later_list	 done;
	struct later		*it;

	/* Replies queued from here on wait for a batch of their own. */
	c->waiting = 0;
	TAILQ_INIT(&done);
	TAILQ_CONCAT(&done, &c->later, entry);

	while ((it = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, it, entry);
		if (!c->dead)
			conn_later_run(c, &it->l, status);
		free(it);
	}
}

static void
conn_later_run(struct conn *c, const struct conn_later *l, int status)
{
	struct sp_msg	m;

	if (c->ops->committed != NULL) {
		c->ops->committed(c->owner, l, status);
		return;
	}
	if (status != STORE_OK) {
		conn_send_error(c, l->rid, SP_WERR_TRY_LATER,
		    "store unavailable, try later");
		return;
	}

	memset(&m, 0, sizeof(m));
	m.type = l->type;
	m.rid = l->rid;
	m.dev = l->dev;
	memcpy(m.id, l->id, sizeof(m.id));
	conn_send(c, &m);
}

void
conn_finish(struct conn *c, const char *why)
{
	if (c->dead || c->finishing)
		return;
	c->finishing = 1;
	snprintf(c->why, sizeof(c->why), "%s", why);
	if (c->bev == NULL) {
		conn_close(c, c->why);
		return;
	}
	conn_arm(c, CONN_T_NONE, 0);
	conn_reads(c);

	/* Be told when the output is empty, not merely low. */
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		conn_close(c, c->why);
}

void
conn_close(struct conn *c, const char *why)
{
	if (c->dead)
		return;
	c->dead = 1;
	if (why != c->why)
		snprintf(c->why, sizeof(c->why), "%s", why);
	if (c->bev != NULL)
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	if (c->first != NULL)
		event_del(c->first);
	if (c->hs_waiting) {
		TAILQ_REMOVE(&c->r->hs_wait, c, hs_entry);
		c->hs_waiting = 0;
	}
	conn_arm(c, CONN_T_NONE, 0);
	if (c->deadline != NULL)
		event_del(c->deadline);
	event_active(c->reaper, EV_TIMEOUT, 1);
}

static void
conn_reap(evutil_socket_t fd, short ev, void *arg)
{
	struct conn	*c = arg;

	c->ops->closed(c->owner, c->why);
}

void
conn_free(struct conn *c)
{
	struct later	*it;
	SSL		*ssl;

	if (c == NULL)
		return;
	store_forget(c->r->st, c);
	while ((it = TAILQ_FIRST(&c->later)) != NULL) {
		TAILQ_REMOVE(&c->later, it, entry);
		free(it);
	}

	if (c->bev != NULL) {
		/* A close_notify, best effort, when we close a healthy
		 * session; never after a TLS error. */
		ssl = bufferevent_openssl_get_ssl(c->bev);
		if (c->handshaken && !c->broken && ssl != NULL)
			SSL_shutdown(ssl);
		ERR_clear_error();
		bufferevent_free(c->bev);
	}
	if (c->first != NULL)
		event_free(c->first);
	if (c->hs_waiting)
		TAILQ_REMOVE(&c->r->hs_wait, c, hs_entry);
	if (c->fd != -1)
		evutil_closesocket(c->fd);
	if (c->deadline != NULL)
		event_free(c->deadline);
	if (c->addr != NULL)
		relay_addr_release(c->r, c->addr);
	event_free(c->reaper);
	event_free(c->timer);
	free(c);
}

int
conn_alive(const struct conn *c)
{
	return c != NULL && !c->dead && !c->finishing;
}

size_t
conn_outlen(const struct conn *c)
{
	if (c->bev == NULL)
		return 0;
	return evbuffer_get_length(bufferevent_get_output(c->bev));
}

const char *
conn_name(const struct conn *c)
{
	return c->name;
}

struct tls_verdict *
conn_verdict(const struct conn *c)
{
	return c->verdict;
}

static void
conn_readcb(struct bufferevent *bev, void *arg)
{
	conn_process(arg);
}

/*
 * Hand complete frames in the input to the owner until the input runs
 * dry, the connection stops taking messages, this turn's share is used
 * up or the message bucket is empty; then set the timer for what comes
 * next.
 */
static void
conn_process(struct conn *c)
{
	struct evbuffer	*in;
	const uint8_t	*p, *body;
	size_t		 have, blen, done = 0;
	uint32_t	 n;
	struct sp_msg	 m;
	double		 wait = -1;
	int		 rc;

	/* The owner may send, and so pause us, from inside msg(). */
	if (c->in_process || c->dead || !c->handshaken)
		return;
	c->in_process = 1;
	in = bufferevent_get_input(c->bev);

	while (!c->dead && !c->finishing && !c->paused) {
		have = evbuffer_get_length(in);
		if (have < SP_FRAME_HEADER)
			break;

		/* The header alone says whether the frame is acceptable
		 * and how much to wait for. */
		p = evbuffer_pullup(in, SP_FRAME_HEADER);
		rc = sp_frame_peek(p, SP_FRAME_HEADER, c->max_frame, &body,
		    &blen);
		if (rc < 0) {
			conn_refuse(c, rc, NULL);
			break;
		}
		n = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		    (uint32_t)p[2] << 8 | p[3];
		if (have - SP_FRAME_HEADER < n)
			break;

		/* A whole frame: others' turn first, or no token left? */
		if (done == RELAY_TURN_FRAMES) {
			wait = 0;
			break;
		}
		if ((wait = conn_token(c)) > 0)
			break;
		wait = -1;

		p = evbuffer_pullup(in, SP_FRAME_HEADER + n);
		if (p == NULL) {
			conn_close(c, "out of memory");
			break;
		}
		if (sp_frame_peek(p, SP_FRAME_HEADER + n, c->max_frame,
		    &body, &blen) != 1)
			break;
		done++;

		rc = sp_msg_decode(&m, body, blen);
		if (rc == SP_E_ADDRESS && m.type != SP_MSG_NONE) {
			/* A well-formed request naming a bad address is
			 * the sender's mistake, not a broken stream. */
			if (relay_log_ok(c->r))
				log_info(c->subsys, "%s: refused %s: address "
				    "not canonical", c->name,
				    sp_msg_type_name(m.type));
			conn_send_error(c, m.rid, SP_WERR_BAD_ADDRESS,
			    "address not in canonical form");
			evbuffer_drain(in, SP_FRAME_HEADER + n);
			continue;
		}
		if (rc != SP_OK) {
			conn_refuse(c, rc, &m);
			break;
		}
		c->ops->msg(c->owner, &m);
		evbuffer_drain(in, SP_FRAME_HEADER + n);
	}
	c->in_process = 0;

	if (c->dead || c->finishing)
		return;

	/* Whole frames wait for their turn or a token: read no more
	 * until they are taken, so the peer feels it through TCP. */
	c->held = wait >= 0 && !c->paused;
	conn_reads(c);
	if (c->paused) {
		/* Our output is full: the peer is not reading, and the
		 * write timeout watches that.  Resumed in conn_writecb. */
		conn_arm(c, CONN_T_NONE, 0);
		return;
	}
	if (c->held) {
		conn_arm(c, CONN_T_RESUME, wait);
		return;
	}
	if (evbuffer_get_length(in) == 0) {
		conn_arm(c, CONN_T_NONE, 0);
		return;
	}

	/* Part of a frame is here: the rest must follow in time.  The
	 * clock starts with its first byte, which came at the latest
	 * when the frame before it was complete. */
	if (done > 0 || c->timer_is != CONN_T_FRAME)
		conn_arm(c, CONN_T_FRAME,
		    relay_jitter(c->r->cfg->client_frame_timeout));
}

/* Answer an undecodable frame or message, then close. */
static void
conn_refuse(struct conn *c, int rc, const struct sp_msg *m)
{
	enum sp_wire_error	 err;
	uint32_t		 rid = 0;

	switch (rc) {
	case SP_E_TOO_LARGE:
	case SP_E_MALFORMED:
	case SP_E_LIMIT:
		err = SP_WERR_BAD_FRAME;
		break;
	default:
		err = SP_WERR_BAD_MESSAGE;
		break;
	}
	if (m != NULL)
		rid = m->rid;

	if (relay_log_ok(c->r))
		log_warn(c->subsys, "%s: refused: %s (%s%s%s); closing",
		    c->name, sp_wire_error_name(err), sp_strerror(rc),
		    m != NULL && m->type != SP_MSG_NONE ? ", type " : "",
		    m != NULL && m->type != SP_MSG_NONE ?
		    sp_msg_type_name(m->type) : "");
	conn_send_error(c, rid, err, sp_strerror(rc));
	conn_finish(c, sp_wire_error_name(err));
}

static void
conn_writecb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	size_t		 len;

	if (c->dead)
		return;
	len = evbuffer_get_length(bufferevent_get_output(bev));
	if (c->finishing) {
		if (len == 0)
			conn_close(c, c->why);
		return;
	}

	if (c->paused && len <= RELAY_OUT_LOW) {
		c->paused = 0;
		conn_reads(c);

		/* Frames that arrived while paused raise no new read
		 * event: take them now. */
		conn_process(c);
	}
	if (!c->dead && len <= RELAY_OUT_LOW && c->ops->drained != NULL)
		c->ops->drained(c->owner);
}

static void
conn_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;
	SSL		*ssl;
	unsigned long	 e, first = 0;
	char		 buf[sizeof(c->why)];
	evutil_socket_t	 fd;
	int		 serr, one = 1;

	if (c->dead)
		return;

	if (what & BEV_EVENT_CONNECTED) {
		ssl = bufferevent_openssl_get_ssl(bev);
		if (!tls_alpn_is(ssl, c->alpn)) {
			conn_close(c, "refused: no ALPN protocol agreed");
			return;
		}
		c->handshaken = 1;
		conn_arm(c, CONN_T_NONE, 0);

		/* Replies are small and pipelined: do not let Nagle hold
		 * them back behind a delayed ack. */
		fd = bufferevent_getfd(bev);
		if (fd != -1)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			    sizeof(one));
		c->ops->ready(c->owner);
		if (!c->dead)
			conn_process(c);
		return;
	}

	serr = EVUTIL_SOCKET_ERROR();
	c->broken = 1;
	/* libevent files a failed system call as the bare SSL_get_error
	 * code, without a library; errno tells more then. */
	while ((e = bufferevent_get_openssl_error(bev)) != 0)
		if (first == 0 && ERR_GET_LIB(e) != 0)
			first = e;
	ERR_clear_error();

	if (c->verdict != NULL && c->verdict->refused)
		snprintf(buf, sizeof(buf), "refused: %s", c->verdict->why);
	else if (what & BEV_EVENT_TIMEOUT)
		snprintf(buf, sizeof(buf), "%s", c->handshaken ?
		    "idle timeout" : CONN_WHY_HANDSHAKE);
	else if (what & BEV_EVENT_EOF)
		snprintf(buf, sizeof(buf), "%s", c->handshaken ?
		    "closed by peer" : "closed by peer during handshake");
	else if (first != 0) {
		char	tmp[200];
		long	vr;

		/* Say why a certificate was not good enough. */
		ssl = bufferevent_openssl_get_ssl(bev);
		vr = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
		snprintf(buf, sizeof(buf), "%s: %s%s%s%s", c->handshaken ?
		    "tls error" : "handshake failed",
		    tls_error_text(tmp, sizeof(tmp), first),
		    vr != X509_V_OK ? " (" : "",
		    vr != X509_V_OK ? X509_verify_cert_error_string(vr) : "",
		    vr != X509_V_OK ? ")" : "");
	} else if (bufferevent_socket_get_dns_error(bev) != 0)
		snprintf(buf, sizeof(buf), "cannot resolve: %s",
		    evutil_gai_strerror(
		    bufferevent_socket_get_dns_error(bev)));
	else if (serr != 0)
		snprintf(buf, sizeof(buf), "connection failed: %s",
		    evutil_socket_error_to_string(serr));
	else
		snprintf(buf, sizeof(buf), "connection error");
	conn_close(c, buf);
}
