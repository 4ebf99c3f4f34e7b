/*
 * bench.c - sealpost-bench: load through two federated relays.
 *
 * Enrols P sending devices at relay A and P receiving devices at relay B
 * (with operator-issued codes), seals N envelopes of a fixed body size in
 * advance, then lets every sender keep a window of envelopes in flight
 * to its partner device at B while the receivers fetch and ack.  Each
 * envelope therefore crosses device -> A (durable commit) -> federation
 * -> B (durable commit) -> device.  Sealing happens before the clock
 * starts, and receivers do not open the seals, so the figures measure
 * the relays, not the devices' cryptography.
 *
 * Prints envelopes/s and latency percentiles from send to delivery.
 */
#include <sys/resource.h>
#include <sys/time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "address.h"
#include "envelope.h"
#include "session.h"

#include "common/loadgen.h"

struct side {
	const char	*host;
	int		 port;
	const char	*ca;
	const char	*domain;
	SSL_CTX		*ctx;
};

struct dev {
	struct bench	*b;
	struct side	*side;
	struct sp_session *s;
	struct bufferevent *bev;
	struct sp_identity id;
	int		 sender;	/* else receiver */
	int		 ready;
	size_t		 next;		/* sender: next envelope to send */
	size_t		 end;		/* sender: one past its last */
	size_t		 inflight;
};

struct bench {
	struct event_base *base;
	struct side	 a, b;
	size_t		 pairs, n, window, body;
	uint64_t	 lifetime;
	struct dev	*senders, *receivers;
	struct sp_buf	*sealed;	/* one encoded envelope each */
	double		*t_send, *t_recv;
	size_t		 received, accepted, ready, failed;
	double		 t_start, t_end;
	int		 phase;		/* 0 enrol, 1 run */
	char		**codes_a, **codes_b;
};

static void
die(const char *what)
{
	fprintf(stderr, "sealpost-bench: %s\n", what);
	exit(1);
}

static void dev_event(struct bufferevent *, short, void *);
static void dev_read(struct bufferevent *, void *);

static void
dev_flush(struct dev *d)
{
	const uint8_t *p;
	size_t len;

	sp_session_output(d->s, &p, &len);
	if (len == 0)
		return;
	bufferevent_write(d->bev, p, len);
	sp_session_consume(d->s, len);
}

/* Keep the sender's window full. */
static void
sender_pump(struct dev *d)
{
	struct bench *b = d->b;

	while (d->next < d->end && d->inflight < b->window) {
		struct sp_buf *e = &b->sealed[d->next];

		b->t_send[d->next] = lg_now();
		if (sp_session_send(d->s, e->data, e->len) < 0)
			die("cannot queue a send");
		d->next++;
		d->inflight++;
	}
	dev_flush(d);
}

static void
start_run(struct bench *b)
{
	size_t i;

	b->phase = 1;
	b->t_start = lg_now();
	for (i = 0; i < b->pairs; i++) {
		if (sp_session_fetch(b->receivers[i].s) < 0)
			die("cannot fetch");
		dev_flush(&b->receivers[i]);
	}
	for (i = 0; i < b->pairs; i++)
		sender_pump(&b->senders[i]);
}

static size_t
index_of(const uint8_t *env, size_t len)
{
	struct sp_envelope e;
	uint64_t ix = 0;
	int i;

	if (sp_env_decode(&e, env, len) != SP_OK)
		return SIZE_MAX;
	for (i = 8; i < 16; i++)
		ix = ix << 8 | e.id[i];
	return (size_t)ix;
}

static void
dev_handle(struct dev *d, const struct sp_event *ev)
{
	struct bench *b = d->b;
	size_t ix;

	switch (ev->type) {
	case SP_EV_READY:
		d->ready = 1;
		d->id.dev = ev->dev;
		if (++b->ready == 2 * b->pairs)
			event_base_loopexit(b->base, NULL);
		break;
	case SP_EV_ACCEPTED:
		d->inflight--;
		b->accepted++;
		sender_pump(d);
		break;
	case SP_EV_DELIVER:
		ix = index_of(ev->env, ev->env_len);
		if (ix < b->n && b->t_recv[ix] == 0) {
			b->t_recv[ix] = lg_now();
			b->received++;
		}
		if (sp_session_ack(d->s, ev->seq) < 0)
			die("cannot ack");
		if (b->received == b->n) {
			b->t_end = lg_now();
			event_base_loopexit(b->base, NULL);
		}
		break;
	case SP_EV_ERROR:
		fprintf(stderr, "sealpost-bench: relay refused: %s: %s\n",
		    sp_wire_error_name(ev->err), ev->text ? ev->text : "");
		b->failed++;
		event_base_loopexit(b->base, NULL);
		break;
	case SP_EV_FAILED:
		fprintf(stderr, "sealpost-bench: session failed: %s\n",
		    ev->text ? ev->text : "");
		b->failed++;
		event_base_loopexit(b->base, NULL);
		break;
	default:
		break;
	}
}

static void
dev_read(struct bufferevent *bev, void *arg)
{
	struct dev *d = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct sp_event ev;
	size_t len;

	while ((len = evbuffer_get_length(in)) > 0) {
		uint8_t chunk[16384];
		int n;

		n = evbuffer_remove(in, chunk, sizeof(chunk));
		if (n <= 0)
			break;
		sp_session_input(d->s, chunk, (size_t)n);
		while (sp_session_event(d->s, &ev))
			dev_handle(d, &ev);
	}
	dev_flush(d);
}

static void
dev_event(struct bufferevent *bev, short what, void *arg)
{
	struct dev *d = arg;
	unsigned long e;

	if (what & BEV_EVENT_CONNECTED) {
		int one = 1;

		setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY,
		    &one, sizeof(one));
		return;
	}
	while ((e = bufferevent_get_openssl_error(bev)) != 0)
		fprintf(stderr, "sealpost-bench: tls: %s\n",
		    ERR_error_string(e, NULL));
	fprintf(stderr, "sealpost-bench: connection to %s closed\n",
	    d->side->domain);
	d->b->failed++;
	event_base_loopexit(d->b->base, NULL);
}

static void
dev_connect(struct dev *d, const char *code)
{
	struct sockaddr_in sin;
	SSL *ssl;

	d->s = sp_session_new(&d->id, code, d->side->domain);
	if (d->s == NULL)
		die("out of memory");
	ssl = SSL_new(d->side->ctx);
	if (ssl == NULL)
		die("SSL_new failed");
	SSL_set_tlsext_host_name(ssl, d->side->domain);
	SSL_set1_host(ssl, d->side->domain);
	d->bev = bufferevent_openssl_socket_new(d->b->base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE);
	if (d->bev == NULL)
		die("bufferevent_openssl_socket_new failed");
	bufferevent_setcb(d->bev, dev_read, NULL, dev_event, d);
	bufferevent_enable(d->bev, EV_READ | EV_WRITE);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)d->side->port);
	if (inet_pton(AF_INET, d->side->host, &sin.sin_addr) != 1)
		die("--a-host/--b-host must be an IPv4 address");
	if (bufferevent_socket_connect(d->bev, (struct sockaddr *)&sin,
	    sizeof(sin)) < 0)
		die("connect failed");
	dev_flush(d);
}

/* Seal every envelope before the clock starts. */
static void
seal_all(struct bench *b)
{
	struct sp_content c;
	struct sp_sender snd;
	uint8_t *body;
	uint64_t t = (uint64_t)time(NULL);
	size_t i;
	int k;

	body = malloc(b->body);
	if (body == NULL)
		die("out of memory");
	randombytes_buf(body, b->body);
	for (i = 0; i < b->n; i++) {
		size_t p = i * b->pairs / b->n;
		struct dev *s, *r;
		struct sp_envelope e;

		/* Sender p owns the range [p*n/pairs, (p+1)*n/pairs). */
		while (p + 1 < b->pairs && i >= b->n * (p + 1) / b->pairs)
			p++;
		while (p > 0 && i < b->n * p / b->pairs)
			p--;
		s = &b->senders[p];
		r = &b->receivers[p];

		memset(&e, 0, sizeof(e));
		randombytes_buf(e.id, 8);
		for (k = 0; k < 8; k++)
			e.id[8 + k] = (uint8_t)(i >> (56 - 8 * k));
		snprintf(e.to, sizeof(e.to), "%s", r->id.addr);
		e.dev = r->id.dev;
		snprintf(e.org, sizeof(e.org), "%s", b->a.domain);
		e.ts = t;
		e.exp = t + b->lifetime;

		memset(&c, 0, sizeof(c));
		snprintf(c.type, sizeof(c.type), "text/plain");
		c.body = body;
		c.body_len = b->body;
		memset(&snd, 0, sizeof(snd));
		snprintf(snd.addr, sizeof(snd.addr), "%s", s->id.addr);
		snd.dev = s->id.dev;
		memcpy(snd.spk, s->id.spk, sizeof(snd.spk));
		memcpy(snd.ssk, s->id.ssk, sizeof(snd.ssk));
		if (sp_env_seal(&e, &c, &snd, r->id.bpk, &b->sealed[i]) !=
		    SP_OK)
			die("sealing failed");
	}
	sodium_memzero(&snd, sizeof(snd));
	free(body);
}

static void
usage(void)
{
	fprintf(stderr,
"usage: sealpost-bench --a-port P --a-ca FILE --a-domain D --a-codes FILE\n"
"           --b-port P --b-ca FILE --b-domain D --b-codes FILE\n"
"           [--a-host IP] [--b-host IP] [-n N] [-p PAIRS] [-w WINDOW]\n"
"           [-s BODY_BYTES]\n"
"Codes files hold one enrolment code per line, for users sender0..\n"
"at A and receiver0.. at B (created with sealpost-relay user add).\n");
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
		{ "count", required_argument, NULL, 'n' },
		{ "pairs", required_argument, NULL, 'p' },
		{ "window", required_argument, NULL, 'w' },
		{ "size", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct bench b;
	const char *codes_a = NULL, *codes_b = NULL;
	struct rusage ru0, ru1;
	double *lat, elapsed, cpu;
	size_t i, nl = 0;
	int ch;

	memset(&b, 0, sizeof(b));
	b.a.host = b.b.host = "127.0.0.1";
	b.n = 20000;
	b.pairs = 4;
	b.window = 64;
	b.body = 256;
	b.lifetime = 3600;
	while ((ch = getopt_long(argc, argv, "n:p:w:s:h", opts, NULL)) != -1) {
		switch (ch) {
		case 1: b.a.host = optarg; break;
		case 2: b.a.port = atoi(optarg); break;
		case 3: b.a.ca = optarg; break;
		case 4: b.a.domain = optarg; break;
		case 5: codes_a = optarg; break;
		case 6: b.b.host = optarg; break;
		case 7: b.b.port = atoi(optarg); break;
		case 8: b.b.ca = optarg; break;
		case 9: b.b.domain = optarg; break;
		case 10: codes_b = optarg; break;
		case 'n': b.n = strtoul(optarg, NULL, 10); break;
		case 'p': b.pairs = strtoul(optarg, NULL, 10); break;
		case 'w': b.window = strtoul(optarg, NULL, 10); break;
		case 's': b.body = strtoul(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (!b.a.port || !b.b.port || !b.a.ca || !b.b.ca || !b.a.domain ||
	    !b.b.domain || !codes_a || !codes_b || b.n == 0 ||
	    b.pairs == 0 || b.window == 0)
		usage();
	if (sodium_init() < 0)
		die("sodium_init failed");

	b.codes_a = lg_read_codes(codes_a, b.pairs);
	b.codes_b = lg_read_codes(codes_b, b.pairs);
	b.a.ctx = lg_client_ctx(b.a.ca);
	b.b.ctx = lg_client_ctx(b.b.ca);
	b.base = event_base_new();
	b.senders = calloc(b.pairs, sizeof(struct dev));
	b.receivers = calloc(b.pairs, sizeof(struct dev));
	b.sealed = calloc(b.n, sizeof(struct sp_buf));
	b.t_send = calloc(b.n, sizeof(double));
	b.t_recv = calloc(b.n, sizeof(double));
	if (!b.base || !b.senders || !b.receivers || !b.sealed ||
	    !b.t_send || !b.t_recv)
		die("out of memory");

	/* Enrol every device; the loop exits when all are ready. */
	for (i = 0; i < b.pairs; i++) {
		struct dev *s = &b.senders[i], *r = &b.receivers[i];

		s->b = r->b = &b;
		s->side = &b.a;
		r->side = &b.b;
		s->sender = 1;
		lg_identity(&s->id, "sender", i, b.a.domain);
		lg_identity(&r->id, "receiver", i, b.b.domain);
		dev_connect(s, b.codes_a[i]);
		dev_connect(r, b.codes_b[i]);
	}
	event_base_dispatch(b.base);
	if (b.failed || b.ready != 2 * b.pairs)
		die("enrolment failed");

	fprintf(stderr, "sealpost-bench: sealing %zu envelopes of %zu bytes\n",
	    b.n, b.body);
	seal_all(&b);
	for (i = 0; i < b.pairs; i++) {
		b.senders[i].next = b.n * i / b.pairs;
		b.senders[i].end = b.n * (i + 1) / b.pairs;
	}
	getrusage(RUSAGE_SELF, &ru0);
	start_run(&b);
	event_base_dispatch(b.base);
	getrusage(RUSAGE_SELF, &ru1);
	if (b.received != b.n)
		die("run stopped before every envelope arrived");

	lat = calloc(b.n, sizeof(double));
	if (lat == NULL)
		die("out of memory");
	for (i = 0; i < b.n; i++)
		if (b.t_recv[i] > 0)
			lat[nl++] = (b.t_recv[i] - b.t_send[i]) * 1e3;
	qsort(lat, nl, sizeof(double), lg_cmp_double);
	elapsed = b.t_end - b.t_start;
	cpu = (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
	    (ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
	    (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6 +
	    (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
	printf("sealpost_federated envelopes=%zu pairs=%zu window=%zu "
	    "body=%zu elapsed_s=%.2f envelopes_per_s=%.0f p50_ms=%.2f "
	    "p99_ms=%.2f lost=%zu load_generator_cpu_s=%.2f\n", b.n, b.pairs,
	    b.window, b.body, elapsed, b.n / elapsed, lat[nl / 2],
	    lat[nl * 99 / 100], b.n - b.received, cpu);
	return 0;
}
