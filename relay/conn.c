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

struct conn {
	struct relay		*r;
	struct bufferevent	*bev;
	struct event		*reaper;	/* runs closed() */
	const struct conn_ops	*ops;
	void			*owner;
	const char		*subsys;
	const char		*alpn;
	struct tls_verdict	*verdict;

	int			 handshaken;
	int			 paused;	/* reads off: output too full */
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
	if (c->reaper == NULL) {
		free(c);
		return NULL;
	}
	c->r = r;
	c->ops = ops;
	c->owner = owner;
	c->subsys = subsys;
	c->alpn = alpn;
	TAILQ_INIT(&c->later);
	snprintf(c->name, sizeof(c->name), "%s", name);
	return c;
}

/* Common set-up of a fresh bufferevent. */
static void
conn_setup(struct conn *c, unsigned timeout)
{
	struct timeval	tv = { timeout, 0 };

	bufferevent_setcb(c->bev, conn_readcb, conn_writecb, conn_eventcb, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, RELAY_OUT_LOW, 0);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

struct conn *
conn_accept(struct relay *r, evutil_socket_t fd, SSL_CTX *ctx,
    const char *alpn, struct tls_verdict *v, const struct conn_ops *ops,
    void *owner, const char *subsys, const char *name)
{
	struct conn	*c;
	SSL		*ssl;

	if ((c = conn_new(r, ops, owner, subsys, name, alpn)) == NULL) {
		evutil_closesocket(fd);
		return NULL;
	}
	if ((ssl = SSL_new(ctx)) == NULL ||
	    (v != NULL && tls_verdict_attach(ssl, v) == -1)) {
		SSL_free(ssl);
		ERR_clear_error();
		evutil_closesocket(fd);
		event_free(c->reaper);
		free(c);
		return NULL;
	}
	c->verdict = v;

	c->bev = bufferevent_openssl_socket_new(r->base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		SSL_free(ssl);
		evutil_closesocket(fd);
		event_free(c->reaper);
		free(c);
		return NULL;
	}
	conn_setup(c, RELAY_HANDSHAKE_TIMEOUT);
	return c;
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
		event_free(c->reaper);
		free(c);
		snprintf(err, errlen, "cannot create a TLS bufferevent");
		return NULL;
	}
	conn_setup(c, timeout);

	/*
	 * Peers are configured by address or by a name the resolver
	 * answers from /etc/hosts; without an evdns base the lookup
	 * blocks.  A failure after this point arrives as an event and
	 * from there as closed().
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
		bufferevent_disable(c->bev, EV_READ);
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
	bufferevent_disable(c->bev, EV_READ);

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
	event_free(c->reaper);
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
 * Hand every complete frame in the input to the owner, until the input
 * runs dry or the connection stops taking messages.
 */
static void
conn_process(struct conn *c)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	const uint8_t	*p, *body;
	size_t		 have, blen;
	uint32_t	 n;
	struct sp_msg	 m;
	int		 rc;

	/* The owner may send, and so pause us, from inside msg(). */
	if (c->in_process)
		return;
	c->in_process = 1;

	while (!c->dead && !c->finishing && !c->paused && c->handshaken) {
		have = evbuffer_get_length(in);
		if (have < SP_FRAME_HEADER)
			break;

		/* The header alone says whether the frame is acceptable
		 * and how much to wait for. */
		p = evbuffer_pullup(in, SP_FRAME_HEADER);
		rc = sp_frame_peek(p, SP_FRAME_HEADER, SP_FRAME_MAX, &body,
		    &blen);
		if (rc < 0) {
			conn_refuse(c, rc, NULL);
			break;
		}
		n = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		    (uint32_t)p[2] << 8 | p[3];
		if (have - SP_FRAME_HEADER < n)
			break;

		p = evbuffer_pullup(in, SP_FRAME_HEADER + n);
		if (p == NULL) {
			conn_close(c, "out of memory");
			break;
		}
		if (sp_frame_peek(p, SP_FRAME_HEADER + n, SP_FRAME_MAX,
		    &body, &blen) != 1)
			break;

		rc = sp_msg_decode(&m, body, blen);
		if (rc == SP_E_ADDRESS && m.type != SP_MSG_NONE) {
			/* A well-formed request naming a bad address is
			 * the sender's mistake, not a broken stream. */
			log_info(c->subsys, "%s: refused %s: address not "
			    "canonical", c->name, sp_msg_type_name(m.type));
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

	log_warn(c->subsys, "%s: refused: %s (%s%s%s); closing", c->name,
	    sp_wire_error_name(err), sp_strerror(rc),
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
		bufferevent_enable(bev, EV_READ);

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
	char		 buf[512];
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
		    "idle timeout" : "handshake timeout");
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
