/*
 * attack.c - sealpost-attack: the honest traffic of tools/attack.
 *
 * Enrols P sending devices at relay A and P receiving devices at relay
 * B (operator-issued codes, as sealpost-bench), then each sender hands
 * one envelope at a time (window 1) to its partner at B, at a steady
 * rate, while the receivers fetch and ack.  Latency is from the send to
 * the delivery at B's device, so it covers device -> A (commit) ->
 * federation -> B (commit) -> device.  Besides, a fresh connection to A
 * is opened every so often and timed up to A's challenge: what a device
 * that comes online during an attack sees.
 *
 * Measurement windows are set from stdin, one command a line:
 *   mark LABEL   end the current window (printing it) and start LABEL
 *   quit         end the current window (printing it) and exit
 * Each window prints one line of key=value figures on stdout.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "address.h"
#include "envelope.h"
#include "frame.h"
#include "msg.h"
#include "session.h"

#include "common/loadgen.h"

/* Seconds before a connection probe counts as failed. */
#define PROBE_TIMEOUT	5.0

/* Seconds before a session that failed is made again. */
#define REDIAL		1.0

struct side {
	const char	*host;
	int		 port;
	const char	*ca;
	const char	*domain;
	SSL_CTX		*ctx;
};

/* Latencies of one window. */
struct samples {
	double		*v;
	size_t		 n, cap;
};

struct dev {
	struct hon	*h;
	struct side	*side;
	struct sp_session *s;
	struct bufferevent *bev;
	struct event	*tick;		/* sender: next send */
	struct event	*redial;	/* a new session after a loss */
	struct sp_identity id;
	const char	*code;		/* enrolment, first session only */
	size_t		 ix;		/* pair number */
	int		 sender;
	int		 ready;
	int		 inflight;	/* sender: 0 or 1 */
	int		 owed;		/* sender: a tick came while busy */
};

/* One timed connection to A, up to its challenge. */
struct probe {
	struct hon	*h;
	struct bufferevent *bev;
	struct event	*timeout;
	double		 t0;
};

struct window {
	char		 label[64];
	double		 t0;
	size_t		 sent, delivered, errors, redials;
	size_t		 probes, probe_fail;
	struct samples	 lat, conn;
};

struct hon {
	struct event_base *base;
	struct side	 a, b;
	size_t		 pairs, body;
	double		 rate;		/* envelopes/s per sender */
	double		 probe_every;	/* seconds; 0: none */
	uint64_t	 lifetime;
	struct dev	*senders, *receivers;
	size_t		 ready;
	int		 phase;		/* 0 enrol, 1 run */
	int		 failed;

	/* Send time of every envelope, by the index in its id. */
	double		*t_send;
	size_t		 nsent, cap_sent;
	uint8_t		*body_bytes;

	struct window	 w;
	struct event	*stdin_ev, *probe_tick;
	struct evbuffer	*cmd;
};

static void	dev_read(struct bufferevent *, void *);
static void	dev_event(struct bufferevent *, short, void *);
static void	dev_dial(struct dev *);
static void	sender_send(struct dev *);

static void
die(const char *what)
{
	fprintf(stderr, "sealpost-attack: %s\n", what);
	exit(1);
}

static void
samples_add(struct samples *s, double v)
{
	double	*p;

	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 1024;
		if ((p = realloc(s->v, s->cap * sizeof(*p))) == NULL)
			die("out of memory");
		s->v = p;
	}
	s->v[s->n++] = v;
}

/* Percentile q (0..1) of s in milliseconds, -1 when empty. */
static double
samples_pct(struct samples *s, double q)
{
	size_t	i;

	if (s->n == 0)
		return -1;
	qsort(s->v, s->n, sizeof(double), lg_cmp_double);
	i = (size_t)(q * (double)s->n);
	if (i >= s->n)
		i = s->n - 1;
	return s->v[i] * 1e3;
}

/* A TLS bufferevent connecting to side, or NULL. */
static struct bufferevent *
side_connect(struct hon *h, struct side *side, bufferevent_data_cb rd,
    bufferevent_event_cb ev, void *arg)
{
	struct bufferevent	*bev;
	struct sockaddr_in	 sin;
	SSL			*ssl;

	if ((ssl = SSL_new(side->ctx)) == NULL)
		return NULL;
	SSL_set_tlsext_host_name(ssl, side->domain);
	SSL_set1_host(ssl, side->domain);
	bev = bufferevent_openssl_socket_new(h->base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_setcb(bev, rd, NULL, ev, arg);
	bufferevent_enable(bev, EV_READ | EV_WRITE);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)side->port);
	if (inet_pton(AF_INET, side->host, &sin.sin_addr) != 1)
		die("hosts must be IPv4 addresses");
	if (bufferevent_socket_connect(bev, (struct sockaddr *)&sin,
	    sizeof(sin)) < 0) {
		bufferevent_free(bev);
		return NULL;
	}
	return bev;
}

static void
dev_flush(struct dev *d)
{
	const uint8_t	*p;
	size_t		 len;

	if (d->bev == NULL)
		return;
	sp_session_output(d->s, &p, &len);
	if (len == 0)
		return;
	bufferevent_write(d->bev, p, len);
	sp_session_consume(d->s, len);
}

/* The session is gone: count it, and make a new one in a while. */
static void
dev_lost(struct dev *d, const char *why)
{
	struct hon	*h = d->h;
	struct timeval	 tv = { (time_t)REDIAL, 0 };

	if (h->phase == 0) {
		fprintf(stderr, "sealpost-attack: enrolment: %s\n", why);
		h->failed = 1;
		event_base_loopexit(h->base, NULL);
		return;
	}
	fprintf(stderr, "sealpost-attack: %s%zu: %s; redialling\n",
	    d->sender ? "sender" : "receiver", d->ix, why);
	h->w.redials++;
	if (d->bev != NULL)
		bufferevent_free(d->bev);
	d->bev = NULL;
	sp_session_free(d->s);
	d->s = NULL;
	d->ready = 0;
	d->inflight = 0;
	evtimer_add(d->redial, &tv);
}

static void
dev_handle(struct dev *d, const struct sp_event *ev)
{
	struct hon	*h = d->h;
	struct sp_envelope e;
	uint64_t	 ix = 0;
	int		 i;

	switch (ev->type) {
	case SP_EV_READY:
		d->ready = 1;
		d->id.dev = ev->dev;
		d->code = NULL;
		if (h->phase == 0) {
			if (++h->ready == 2 * h->pairs)
				event_base_loopexit(h->base, NULL);
			break;
		}
		if (!d->sender && sp_session_fetch(d->s) < 0)
			die("cannot fetch");
		break;
	case SP_EV_ACCEPTED:
		d->inflight = 0;
		if (d->owed) {
			d->owed = 0;
			sender_send(d);
		}
		break;
	case SP_EV_DELIVER:
		if (sp_env_decode(&e, ev->env, ev->env_len) == SP_OK) {
			for (i = 8; i < 16; i++)
				ix = ix << 8 | e.id[i];
			if (ix < h->nsent && h->t_send[ix] > 0) {
				samples_add(&h->w.lat,
				    lg_now() - h->t_send[ix]);
				h->t_send[ix] = 0;
				h->w.delivered++;
			}
		}
		if (sp_session_ack(d->s, ev->seq) < 0)
			die("cannot ack");
		break;
	case SP_EV_ERROR:
		fprintf(stderr, "sealpost-attack: relay refused: %s: %s\n",
		    sp_wire_error_name(ev->err), ev->text ? ev->text : "");
		h->w.errors++;
		d->inflight = 0;
		break;
	case SP_EV_FAILED:
		h->w.errors++;
		dev_lost(d, ev->text ? ev->text : "session failed");
		break;
	default:
		break;
	}
}

static void
dev_read(struct bufferevent *bev, void *arg)
{
	struct dev	*d = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	struct sp_event	 ev;
	uint8_t		 chunk[16384];
	int		 n;

	while (d->s != NULL && evbuffer_get_length(in) > 0) {
		n = evbuffer_remove(in, chunk, sizeof(chunk));
		if (n <= 0)
			break;
		sp_session_input(d->s, chunk, (size_t)n);
		while (d->s != NULL && sp_session_event(d->s, &ev))
			dev_handle(d, &ev);
	}
	if (d->s != NULL)
		dev_flush(d);
}

static void
dev_event(struct bufferevent *bev, short what, void *arg)
{
	struct dev	*d = arg;
	unsigned long	 e;
	int		 one = 1;

	if (what & BEV_EVENT_CONNECTED) {
		setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY,
		    &one, sizeof(one));
		return;
	}
	while ((e = bufferevent_get_openssl_error(bev)) != 0)
		fprintf(stderr, "sealpost-attack: tls: %s\n",
		    ERR_error_string(e, NULL));
	dev_lost(d, "connection closed");
}

static void
dev_dial(struct dev *d)
{
	d->s = sp_session_new(&d->id, d->code, d->side->domain);
	if (d->s == NULL)
		die("out of memory");
	d->bev = side_connect(d->h, d->side, dev_read, dev_event, d);
	if (d->bev == NULL) {
		dev_lost(d, "cannot connect");
		return;
	}
	dev_flush(d);
}

/* Seal a fresh envelope for d's partner and send it. */
static void
sender_send(struct dev *d)
{
	struct hon		*h = d->h;
	struct dev		*r = &h->receivers[d->ix];
	struct sp_envelope	 e;
	struct sp_content	 c;
	struct sp_sender	 snd;
	struct sp_buf		 out = SP_BUF_INIT;
	uint64_t		 t = (uint64_t)time(NULL), ix = h->nsent;
	double			*p;
	int			 k;

	if (!d->ready || d->inflight)
		return;
	if (h->nsent == h->cap_sent) {
		h->cap_sent = h->cap_sent ? h->cap_sent * 2 : 4096;
		p = realloc(h->t_send, h->cap_sent * sizeof(*p));
		if (p == NULL)
			die("out of memory");
		h->t_send = p;
	}

	memset(&e, 0, sizeof(e));
	randombytes_buf(e.id, 8);
	for (k = 0; k < 8; k++)
		e.id[8 + k] = (uint8_t)(ix >> (56 - 8 * k));
	snprintf(e.to, sizeof(e.to), "%s", r->id.addr);
	e.dev = r->id.dev;
	snprintf(e.org, sizeof(e.org), "%s", h->a.domain);
	e.ts = t;
	e.exp = t + h->lifetime;
	memset(&c, 0, sizeof(c));
	snprintf(c.type, sizeof(c.type), "text/plain");
	c.body = h->body_bytes;
	c.body_len = h->body;
	memset(&snd, 0, sizeof(snd));
	snprintf(snd.addr, sizeof(snd.addr), "%s", d->id.addr);
	snd.dev = d->id.dev;
	memcpy(snd.spk, d->id.spk, sizeof(snd.spk));
	memcpy(snd.ssk, d->id.ssk, sizeof(snd.ssk));
	if (sp_env_seal(&e, &c, &snd, r->id.bpk, &out) != SP_OK)
		die("sealing failed");
	sodium_memzero(&snd, sizeof(snd));

	/* The clock starts once the envelope is ready to go. */
	h->t_send[h->nsent++] = lg_now();
	if (sp_session_send(d->s, out.data, out.len) < 0)
		die("cannot queue a send");
	sp_buf_free(&out);
	d->inflight = 1;
	h->w.sent++;
	dev_flush(d);
}

static void
dev_redial(evutil_socket_t fd, short ev, void *arg)
{
	dev_dial(arg);
}

static void
dev_tick(evutil_socket_t fd, short ev, void *arg)
{
	struct dev	*d = arg;

	if (d->inflight || !d->ready)
		d->owed = 1;
	else
		sender_send(d);
}

/* --- connection probes ---------------------------------------------- */

static void
probe_end(struct probe *p, int ok)
{
	struct hon	*h = p->h;

	h->w.probes++;
	if (ok)
		samples_add(&h->w.conn, lg_now() - p->t0);
	else
		h->w.probe_fail++;
	bufferevent_free(p->bev);
	event_free(p->timeout);
	free(p);
}

static void
probe_read(struct bufferevent *bev, void *arg)
{
	struct probe	*p = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	uint8_t		*hdr;
	uint32_t	 n;

	/* The challenge is the relay's first frame: done once whole. */
	if (evbuffer_get_length(in) < 4)
		return;
	hdr = evbuffer_pullup(in, 4);
	n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];
	if (evbuffer_get_length(in) >= 4 + (size_t)n)
		probe_end(p, 1);
}

static void
probe_event(struct bufferevent *bev, short what, void *arg)
{
	if (what & BEV_EVENT_CONNECTED)
		return;
	probe_end(arg, 0);
}

static void
probe_expire(evutil_socket_t fd, short ev, void *arg)
{
	probe_end(arg, 0);
}

static void
probe_start(evutil_socket_t fd, short ev, void *arg)
{
	struct hon	*h = arg;
	struct probe	*p;
	struct timeval	 tv = { (time_t)PROBE_TIMEOUT, 0 };

	if ((p = calloc(1, sizeof(*p))) == NULL)
		die("out of memory");
	p->h = h;
	p->t0 = lg_now();
	p->timeout = evtimer_new(h->base, probe_expire, p);
	p->bev = side_connect(h, &h->a, probe_read, probe_event, p);
	if (p->timeout == NULL)
		die("out of memory");
	if (p->bev == NULL) {
		h->w.probes++;
		h->w.probe_fail++;
		event_free(p->timeout);
		free(p);
		return;
	}
	evtimer_add(p->timeout, &tv);
}

/* --- windows and commands ------------------------------------------- */

static void
window_print(struct hon *h)
{
	struct window	*w = &h->w;

	printf("window %s secs=%.1f sent=%zu delivered=%zu p50_ms=%.2f "
	    "p99_ms=%.2f max_ms=%.2f errors=%zu redials=%zu probes=%zu "
	    "probe_fail=%zu connect_p50_ms=%.2f connect_p99_ms=%.2f\n",
	    w->label, lg_now() - w->t0, w->sent, w->delivered,
	    samples_pct(&w->lat, 0.50), samples_pct(&w->lat, 0.99),
	    samples_pct(&w->lat, 1.0), w->errors, w->redials, w->probes,
	    w->probe_fail, samples_pct(&w->conn, 0.50),
	    samples_pct(&w->conn, 0.99));
	fflush(stdout);
}

static void
window_start(struct hon *h, const char *label)
{
	struct samples	lat = h->w.lat, conn = h->w.conn;

	lat.n = conn.n = 0;
	memset(&h->w, 0, sizeof(h->w));
	h->w.lat = lat;
	h->w.conn = conn;
	snprintf(h->w.label, sizeof(h->w.label), "%s", label);
	h->w.t0 = lg_now();
}

static void
stdin_read(evutil_socket_t fd, short ev, void *arg)
{
	struct hon	*h = arg;
	char		*line;
	size_t		 len;
	int		 n;

	n = evbuffer_read(h->cmd, fd, 4096);
	while ((line = evbuffer_readln(h->cmd, &len,
	    EVBUFFER_EOL_LF)) != NULL) {
		if (strncmp(line, "mark ", 5) == 0) {
			window_print(h);
			window_start(h, line + 5);
		} else if (strcmp(line, "quit") == 0) {
			window_print(h);
			free(line);
			event_base_loopexit(h->base, NULL);
			return;
		}
		free(line);
	}
	if (n <= 0) {
		window_print(h);
		event_base_loopexit(h->base, NULL);
	}
}

/* --- hostile connections: sealpost-attack hit MODE ... ---------------- */

/*
 * Each worker holds one connection slot: it dials (paced by one token
 * bucket for the whole process, so the attacker's CPU stays moderate),
 * does what its mode says, and when the relay closes or refuses the
 * connection, dials again.  "accepted": the relay let it in (TLS done;
 * without TLS, still open after a second or answered); "refused": reset
 * or closed before that.
 */

enum hit_mode {
	HIT_SLOWLORIS,	/* TLS, then a frame one byte a second */
	HIT_STALL,	/* TCP only, never a byte */
	HIT_HALFOPEN,	/* a ClientHello, the answer read, then silence */
	HIT_IDLE,	/* TLS done, then silence */
	HIT_FLOOD,	/* new connections: a ClientHello, then gone */
	HIT_GARBAGE,	/* TLS then pings and a broken frame; or no TLS */
	HIT_HUGE,	/* TLS, then a length prefix over any bound */
	HIT_NMODES
};

static const char *hit_names[HIT_NMODES] = {
	"slowloris", "stall", "halfopen", "idle", "flood", "garbage", "huge"
};

enum hit_timer {
	HT_NONE,
	HT_BACKOFF,	/* wait, then queue for a dial */
	HT_TRICKLE,	/* next slowloris byte */
	HT_CHECK,	/* still open a second after connecting */
};

struct hit_target {
	struct sockaddr_in	 sin;
	int			 fed;
};

struct hitter;

struct worker {
	struct hitter		*ht;
	struct bufferevent	*bev;
	struct event		*tmr;
	enum hit_timer		 tmr_is;
	struct sockaddr_in	 src;
	struct hit_target	*target;
	struct worker		*next;		/* dial queue */
	int			 tls;
	int			 accepted;
	int			 queued;
	double			 t0;
	size_t			 sent;
};

struct hitter {
	struct event_base	*base;
	enum hit_mode		 mode;
	const char		*domain;
	SSL_CTX			*ctx[2];	/* client, federation ALPN */
	uint8_t			 hello[2][2048];
	size_t			 hello_len[2];
	struct hit_target	 targets[8];
	size_t			 ntargets;
	struct worker		*w;
	size_t			 nw;
	struct worker		*qhead, *qtail;
	struct event		*tick;
	double			 rate, tokens, stamp;

	uint64_t		 attempted, accepted, refused, closed, errors;
	size_t			 open, open_max;
	struct samples		 holds;
	uint8_t			 slow[4 + 4000];
	uint8_t			 junk[4096];
	struct sp_buf		 pings;
};

static void	hit_dial(struct worker *);
static void	hit_end(struct worker *, int);

static SSL_CTX *
hit_ctx(const char *alpn_wire, size_t alpn_len)
{
	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		die("SSL_CTX_new failed");
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);

	/* An attacker does not care who answers. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_alpn_protos(ctx, (const unsigned char *)alpn_wire,
	    (unsigned)alpn_len);
	return ctx;
}

/* One ClientHello, sent as is by halfopen and flood connections: the
 * relay still does its whole share of the handshake for each. */
static size_t
hit_hello(SSL_CTX *ctx, const char *domain, uint8_t *out, size_t max)
{
	SSL	*ssl;
	BIO	*rb, *wb;
	char	*p;
	long	 n;

	if ((ssl = SSL_new(ctx)) == NULL ||
	    (rb = BIO_new(BIO_s_mem())) == NULL ||
	    (wb = BIO_new(BIO_s_mem())) == NULL)
		die("cannot make a ClientHello");
	SSL_set_bio(ssl, rb, wb);
	SSL_set_connect_state(ssl);
	SSL_set_tlsext_host_name(ssl, domain);
	SSL_do_handshake(ssl);
	n = BIO_get_mem_data(wb, &p);
	if (n <= 0 || (size_t)n > max)
		die("cannot make a ClientHello");
	memcpy(out, p, (size_t)n);
	SSL_free(ssl);
	ERR_clear_error();
	return (size_t)n;
}

static void
hit_arm(struct worker *w, enum hit_timer what, double seconds)
{
	struct timeval	tv;

	w->tmr_is = what;
	if (what == HT_NONE) {
		evtimer_del(w->tmr);
		return;
	}
	tv.tv_sec = (time_t)seconds;
	tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
	evtimer_add(w->tmr, &tv);
}

static void
hit_queue(struct worker *w)
{
	struct hitter	*ht = w->ht;

	if (w->queued)
		return;
	w->queued = 1;
	w->next = NULL;
	if (ht->qtail != NULL)
		ht->qtail->next = w;
	else
		ht->qhead = w;
	ht->qtail = w;
}

/* Dial queued workers as the bucket allows. */
static void
hit_tick(evutil_socket_t fd, short ev, void *arg)
{
	struct hitter	*ht = arg;
	struct worker	*w;
	double		 now = lg_now();

	ht->tokens += (now - ht->stamp) * ht->rate;
	if (ht->tokens > ht->rate / 10 + 1)
		ht->tokens = ht->rate / 10 + 1;
	ht->stamp = now;
	while (ht->tokens >= 1 && (w = ht->qhead) != NULL) {
		ht->qhead = w->next;
		if (ht->qhead == NULL)
			ht->qtail = NULL;
		w->queued = 0;
		ht->tokens -= 1;
		hit_dial(w);
	}
}

static void
hit_accepted(struct worker *w)
{
	struct hitter	*ht = w->ht;
	struct sp_buf	*b = &ht->pings;
	uint8_t		 hdr[4];

	w->accepted = 1;
	w->t0 = lg_now();
	ht->accepted++;
	if (++ht->open > ht->open_max)
		ht->open_max = ht->open;

	switch (ht->mode) {
	case HIT_SLOWLORIS:
		w->sent = 0;
		hit_arm(w, HT_TRICKLE, 1.0);
		break;
	case HIT_GARBAGE:
		if (w->tls)
			bufferevent_write(w->bev, b->data, b->len);
		break;
	case HIT_HUGE:
		if (randombytes_uniform(2))
			memset(hdr, 0xff, sizeof(hdr));
		else
			sp_frame_header(hdr, 1 << 20);
		bufferevent_write(w->bev, hdr, sizeof(hdr));
		bufferevent_write(w->bev, ht->junk, 1024);
		break;
	default:
		break;
	}
}

/* The connection is over: closed by the relay once it had let it in,
 * or refused; dial again, refused ones after a pause. */
static void
hit_end(struct worker *w, int by_us)
{
	struct hitter	*ht = w->ht;

	if (w->bev != NULL)
		bufferevent_free(w->bev);
	w->bev = NULL;
	if (w->accepted) {
		ht->open--;
		if (!by_us) {
			ht->closed++;
			samples_add(&ht->holds, lg_now() - w->t0);
		}
		w->accepted = 0;
		hit_arm(w, HT_NONE, 0);
		hit_queue(w);
		return;
	}
	ht->refused++;
	hit_arm(w, HT_BACKOFF, ht->mode == HIT_FLOOD ? 0.01 :
	    0.1 + randombytes_uniform(400) / 1000.0);
}

static void
hit_timer(evutil_socket_t fd, short ev, void *arg)
{
	struct worker	*w = arg;
	struct hitter	*ht = w->ht;
	enum hit_timer	 what = w->tmr_is;

	w->tmr_is = HT_NONE;
	switch (what) {
	case HT_BACKOFF:
		hit_queue(w);
		break;
	case HT_TRICKLE:
		if (w->bev == NULL || w->sent >= sizeof(ht->slow))
			break;
		bufferevent_write(w->bev, ht->slow + w->sent++, 1);
		hit_arm(w, HT_TRICKLE, 1.0);
		break;
	case HT_CHECK:
		if (w->bev != NULL && !w->accepted)
			hit_accepted(w);
		break;
	case HT_NONE:
		break;
	}
}

static void
hit_read(struct bufferevent *bev, void *arg)
{
	struct worker	*w = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);

	evbuffer_drain(in, evbuffer_get_length(in));
	if (w->tls || w->accepted)
		return;

	/* Without TLS: the relay answered the ClientHello. */
	if (w->ht->mode == HIT_HALFOPEN || w->ht->mode == HIT_FLOOD) {
		hit_accepted(w);
		if (w->ht->mode == HIT_FLOOD)
			hit_end(w, 1);
	}
}

static void
hit_event(struct bufferevent *bev, short what, void *arg)
{
	struct worker	*w = arg;
	struct hitter	*ht = w->ht;

	if (!(what & BEV_EVENT_CONNECTED)) {
		while (bufferevent_get_openssl_error(bev) != 0)
			;
		ERR_clear_error();
		hit_end(w, 0);
		return;
	}
	if (w->tls) {
		hit_accepted(w);
		return;
	}
	switch (ht->mode) {
	case HIT_HALFOPEN:
	case HIT_FLOOD:
		bufferevent_write(bev, ht->hello[w->target->fed],
		    ht->hello_len[w->target->fed]);
		break;
	case HIT_GARBAGE:
		bufferevent_write(bev, ht->junk, 512);
		/* FALLTHROUGH */
	default:
		hit_arm(w, HT_CHECK, 1.0);
		break;
	}
}

static void
hit_dial(struct worker *w)
{
	struct hitter	*ht = w->ht;
	evutil_socket_t	 fd;
	SSL		*ssl;

	ht->attempted++;
	w->accepted = 0;
	switch (ht->mode) {
	case HIT_SLOWLORIS:
	case HIT_IDLE:
	case HIT_HUGE:
		w->tls = 1;
		break;
	case HIT_GARBAGE:
		w->tls = randombytes_uniform(2);
		break;
	default:
		w->tls = 0;
		break;
	}

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd == -1 || evutil_make_socket_nonblocking(fd) == -1 ||
	    bind(fd, (struct sockaddr *)&w->src, sizeof(w->src)) == -1) {
		if (fd != -1)
			close(fd);
		ht->errors++;
		ht->attempted--;
		hit_arm(w, HT_BACKOFF, 0.5);
		return;
	}
	if (w->tls) {
		if ((ssl = SSL_new(ht->ctx[w->target->fed])) == NULL)
			die("SSL_new failed");
		SSL_set_tlsext_host_name(ssl, ht->domain);
		w->bev = bufferevent_openssl_socket_new(ht->base, fd, ssl,
		    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	} else
		w->bev = bufferevent_socket_new(ht->base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
	if (w->bev == NULL)
		die("out of memory");
	bufferevent_setcb(w->bev, hit_read, NULL, hit_event, w);
	bufferevent_enable(w->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(w->bev,
	    (struct sockaddr *)&w->target->sin, sizeof(w->target->sin)) < 0)
		hit_end(w, 0);
}

static void
hit_report(evutil_socket_t fd, short ev, void *arg)
{
	struct hitter	*ht = arg;
	struct rusage	 ru;
	double		 p50 = samples_pct(&ht->holds, 0.5) / 1e3;
	double		 max = samples_pct(&ht->holds, 1.0) / 1e3;

	getrusage(RUSAGE_SELF, &ru);
	printf("{\"mode\": \"%s\", \"attempted\": %" PRIu64 ", \"accepted\": "
	    "%" PRIu64 ", \"refused\": %" PRIu64 ", \"closed_by_relay\": "
	    "%" PRIu64 ", \"errors\": %" PRIu64 ", \"open\": %zu, "
	    "\"open_max\": %zu, \"cpu_s\": %.2f, \"hold_p50_s\": %s%.1f, "
	    "\"hold_max_s\": %s%.1f}\n", hit_names[ht->mode], ht->attempted,
	    ht->accepted, ht->refused, ht->closed, ht->errors, ht->open,
	    ht->open_max, ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
	    p50 < 0 ? "-" : "", p50 < 0 ? 1.0 : p50,
	    max < 0 ? "-" : "", max < 0 ? 1.0 : max);
	fflush(stdout);
	_exit(0);
}

static void
hit_usage(void)
{
	fprintf(stderr,
"usage: sealpost-attack hit MODE --target IP:PORT[:fed]... --domain D\n"
"           [--src-prefix A.B.C] [--addrs N] [--per-addr N] [--rate R]\n"
"MODE: slowloris stall halfopen idle flood garbage huge.  Workers connect\n"
"from A.B.C.1 .. A.B.C.N, PER_ADDR each, at most R attempts a second in\n"
"all, until SIGTERM; then one JSON line of counters.\n");
	exit(1);
}

static int
hit_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "target", required_argument, NULL, 1 },
		{ "domain", required_argument, NULL, 2 },
		{ "src-prefix", required_argument, NULL, 3 },
		{ "addrs", required_argument, NULL, 4 },
		{ "per-addr", required_argument, NULL, 5 },
		{ "rate", required_argument, NULL, 6 },
		{ NULL, 0, NULL, 0 }
	};
	static const char alpn_c[] = "\x11" SP_ALPN_CLIENT;
	static const char alpn_f[] = "\x0e" SP_ALPN_FEDERATION;
	struct hitter	 ht;
	struct event	*sig;
	struct rlimit	 rl;
	struct timeval	 tick = { 0, 5000 };
	const char	*prefix = "127.0.10";
	char		 ip[64], *colon;
	size_t		 addrs = 1, per = 100, i, k;
	int		 ch, m;

	memset(&ht, 0, sizeof(ht));
	ht.rate = 200;
	if (argc < 2)
		hit_usage();
	for (m = 0; m < HIT_NMODES; m++)
		if (strcmp(argv[1], hit_names[m]) == 0)
			break;
	if (m == HIT_NMODES)
		hit_usage();
	ht.mode = (enum hit_mode)m;
	argc--;
	argv++;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 1:
			if (ht.ntargets == sizeof(ht.targets) /
			    sizeof(ht.targets[0]))
				hit_usage();
			snprintf(ip, sizeof(ip), "%s", optarg);
			if ((colon = strchr(ip, ':')) == NULL)
				hit_usage();
			*colon++ = '\0';
			ht.targets[ht.ntargets].sin.sin_family = AF_INET;
			ht.targets[ht.ntargets].sin.sin_port =
			    htons((uint16_t)atoi(colon));
			ht.targets[ht.ntargets].fed =
			    strstr(colon, ":fed") != NULL;
			if (inet_pton(AF_INET, ip,
			    &ht.targets[ht.ntargets].sin.sin_addr) != 1)
				hit_usage();
			ht.ntargets++;
			break;
		case 2: ht.domain = optarg; break;
		case 3: prefix = optarg; break;
		case 4: addrs = strtoul(optarg, NULL, 10); break;
		case 5: per = strtoul(optarg, NULL, 10); break;
		case 6: ht.rate = atof(optarg); break;
		default: hit_usage();
		}
	}
	if (ht.ntargets == 0 || ht.domain == NULL || addrs == 0 ||
	    addrs > 250 || per == 0 || ht.rate <= 0)
		hit_usage();
	if (sodium_init() < 0)
		die("sodium_init failed");

	/* Every worker is a descriptor. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);

	ht.ctx[0] = hit_ctx(alpn_c, sizeof(alpn_c) - 1);
	ht.ctx[1] = hit_ctx(alpn_f, sizeof(alpn_f) - 1);
	for (k = 0; k < 2; k++)
		ht.hello_len[k] = hit_hello(ht.ctx[k], ht.domain, ht.hello[k],
		    sizeof(ht.hello[k]));
	sp_frame_header(ht.slow, 4000);
	randombytes_buf(ht.slow + 4, sizeof(ht.slow) - 4);
	randombytes_buf(ht.junk, sizeof(ht.junk));
	for (k = 0; k < 32; k++) {
		struct sp_msg	pm;

		memset(&pm, 0, sizeof(pm));
		pm.type = SP_MSG_PING;
		pm.rid = (uint32_t)k + 1;
		if (sp_msg_encode(&pm, &ht.pings) != SP_OK)
			die("cannot encode a ping");
	}
	sp_frame_header(ht.junk, 64);
	sp_buf_append(&ht.pings, ht.junk, 4 + 64);
	randombytes_buf(ht.junk, sizeof(ht.junk));

	if ((ht.base = event_base_new()) == NULL)
		die("event_base_new failed");
	ht.nw = addrs * per;
	if ((ht.w = calloc(ht.nw, sizeof(*ht.w))) == NULL)
		die("out of memory");
	for (i = 0; i < ht.nw; i++) {
		struct worker	*w = &ht.w[i];

		w->ht = &ht;
		w->target = &ht.targets[i % ht.ntargets];
		w->src.sin_family = AF_INET;
		snprintf(ip, sizeof(ip), "%s.%zu", prefix, 1 + i / per);
		if (inet_pton(AF_INET, ip, &w->src.sin_addr) != 1)
			hit_usage();
		if ((w->tmr = evtimer_new(ht.base, hit_timer, w)) == NULL)
			die("out of memory");
		hit_queue(w);
	}
	ht.stamp = lg_now();
	ht.tick = event_new(ht.base, -1, EV_PERSIST, hit_tick, &ht);
	sig = evsignal_new(ht.base, SIGTERM, hit_report, &ht);
	if (ht.tick == NULL || sig == NULL)
		die("out of memory");
	evtimer_add(ht.tick, &tick);
	evsignal_add(sig, NULL);
	event_base_dispatch(ht.base);
	return 0;
}

/* --- set-up ----------------------------------------------------------- */

static void
usage(void)
{
	fprintf(stderr,
"usage: sealpost-attack --a-port P --a-ca FILE --a-domain D --a-codes FILE\n"
"           --b-port P --b-ca FILE --b-domain D --b-codes FILE\n"
"           [--a-host IP] [--b-host IP] [-p PAIRS] [-r RATE] [-s BYTES]\n"
"           [--probe-every SECONDS]\n"
"Each of PAIRS senders sends RATE envelopes a second, one at a time.\n"
"Reads 'mark LABEL' and 'quit' lines on stdin; prints one line per\n"
"window.\n");
	exit(1);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "a-host", required_argument, NULL, 1 },
		{ "a-port", required_argument, NULL, 2 },
		{ "a-ca", required_argument, NULL, 3 },
		{ "a-domain", required_argument, NULL, 4 },
		{ "a-codes", required_argument, NULL, 5 },
		{ "b-host", required_argument, NULL, 6 },
		{ "b-port", required_argument, NULL, 7 },
		{ "b-ca", required_argument, NULL, 8 },
		{ "b-domain", required_argument, NULL, 9 },
		{ "b-codes", required_argument, NULL, 10 },
		{ "probe-every", required_argument, NULL, 11 },
		{ "pairs", required_argument, NULL, 'p' },
		{ "rate", required_argument, NULL, 'r' },
		{ "size", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct hon	 h;
	const char	*codes_a = NULL, *codes_b = NULL;
	char		**ca, **cb;
	struct timeval	 tv;
	size_t		 i;
	int		 ch;

	if (argc > 1 && strcmp(argv[1], "hit") == 0)
		return hit_main(argc - 1, argv + 1);

	memset(&h, 0, sizeof(h));
	h.a.host = h.b.host = "127.0.0.1";
	h.pairs = 4;
	h.rate = 20;
	h.body = 256;
	h.lifetime = 3600;
	h.probe_every = 0.5;
	while ((ch = getopt_long(argc, argv, "p:r:s:h", opts, NULL)) != -1) {
		switch (ch) {
		case 1: h.a.host = optarg; break;
		case 2: h.a.port = atoi(optarg); break;
		case 3: h.a.ca = optarg; break;
		case 4: h.a.domain = optarg; break;
		case 5: codes_a = optarg; break;
		case 6: h.b.host = optarg; break;
		case 7: h.b.port = atoi(optarg); break;
		case 8: h.b.ca = optarg; break;
		case 9: h.b.domain = optarg; break;
		case 10: codes_b = optarg; break;
		case 11: h.probe_every = atof(optarg); break;
		case 'p': h.pairs = strtoul(optarg, NULL, 10); break;
		case 'r': h.rate = atof(optarg); break;
		case 's': h.body = strtoul(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (!h.a.port || !h.b.port || !h.a.ca || !h.b.ca || !h.a.domain ||
	    !h.b.domain || !codes_a || !codes_b || h.pairs == 0 ||
	    h.rate <= 0 || h.rate > 1000 || h.probe_every < 0)
		usage();
	if (sodium_init() < 0)
		die("sodium_init failed");

	ca = lg_read_codes(codes_a, h.pairs);
	cb = lg_read_codes(codes_b, h.pairs);
	h.a.ctx = lg_client_ctx(h.a.ca);
	h.b.ctx = lg_client_ctx(h.b.ca);
	h.base = event_base_new();
	h.senders = calloc(h.pairs, sizeof(struct dev));
	h.receivers = calloc(h.pairs, sizeof(struct dev));
	h.body_bytes = malloc(h.body ? h.body : 1);
	h.cmd = evbuffer_new();
	if (!h.base || !h.senders || !h.receivers || !h.body_bytes ||
	    !h.cmd)
		die("out of memory");
	randombytes_buf(h.body_bytes, h.body);

	/* Enrol every device; the loop exits when all are ready. */
	for (i = 0; i < h.pairs; i++) {
		struct dev *s = &h.senders[i], *r = &h.receivers[i];

		s->h = r->h = &h;
		s->ix = r->ix = i;
		s->side = &h.a;
		r->side = &h.b;
		s->sender = 1;
		s->code = ca[i];
		r->code = cb[i];
		s->tick = event_new(h.base, -1, EV_PERSIST, dev_tick, s);
		s->redial = evtimer_new(h.base, dev_redial, s);
		r->redial = evtimer_new(h.base, dev_redial, r);
		if (s->tick == NULL || s->redial == NULL || r->redial == NULL)
			die("out of memory");
		lg_identity(&s->id, "sender", i, h.a.domain);
		lg_identity(&r->id, "receiver", i, h.b.domain);
		dev_dial(s);
		dev_dial(r);
	}
	event_base_dispatch(h.base);
	if (h.failed || h.ready != 2 * h.pairs)
		die("enrolment failed");

	/* Run: receivers fetch, senders tick, probes go, stdin steers. */
	h.phase = 1;
	window_start(&h, "start");
	for (i = 0; i < h.pairs; i++) {
		if (sp_session_fetch(h.receivers[i].s) < 0)
			die("cannot fetch");
		dev_flush(&h.receivers[i]);
	}
	for (i = 0; i < h.pairs; i++) {
		struct dev	*s = &h.senders[i];
		double		 gap = 1.0 / h.rate;

		/* Spread the senders over the period. */
		tv.tv_sec = (time_t)gap;
		tv.tv_usec = (suseconds_t)((gap - tv.tv_sec) * 1e6);
		usleep((useconds_t)(gap * 1e6 / h.pairs));
		evtimer_add(s->tick, &tv);
	}
	if (h.probe_every > 0) {
		tv.tv_sec = (time_t)h.probe_every;
		tv.tv_usec = (suseconds_t)((h.probe_every - tv.tv_sec) * 1e6);
		h.probe_tick = event_new(h.base, -1, EV_PERSIST, probe_start,
		    &h);
		if (h.probe_tick == NULL)
			die("out of memory");
		evtimer_add(h.probe_tick, &tv);
	}
	h.stdin_ev = event_new(h.base, 0, EV_READ | EV_PERSIST, stdin_read,
	    &h);
	if (h.stdin_ev == NULL)
		die("out of memory");
	event_add(h.stdin_ev, NULL);
	printf("ready pairs=%zu rate=%.1f body=%zu probe_every=%.2f\n",
	    h.pairs, h.rate, h.body, h.probe_every);
	fflush(stdout);
	event_base_dispatch(h.base);
	return 0;
}
