/*
 * torture.c - sealpost-torture: kill two federated relays with SIGKILL
 * at random moments under load, and check that every envelope a relay
 * accepted reaches its mailbox exactly once.
 *
 * The program starts both relays itself (fork and exec of --relay with
 * each side's config), so the driver that kills them and the devices
 * that must survive the kills share one event loop and one clock:
 *
 *   enrol   every device enrols once with an operator's code; the
 *           identities stay in memory from then on.
 *   run     senders at A seal fresh envelopes at --rate, each keeping
 *           at most --window of them not yet accepted, and all of them
 *           pausing while --backlog envelopes are not yet delivered (a
 *           relay accepts faster than it hands over, and a queue that
 *           only grows would test the drain, not the crashes); most go
 *           to receivers at B, one in LOCAL_EVERY to receivers at A.
 *           Meanwhile a relay drawn at random is killed every
 *           --min-gap..--max-gap ms and started again.  Devices
 *           reconnect with backoff, authenticate again, resend every
 *           envelope not yet accepted byte for byte (same id), and
 *           receivers fetch and ack again.
 *   drain   no more kills and no new envelopes: wait until every
 *           envelope is accepted and every accepted one delivered (or
 *           nothing has moved for --drain seconds), then --quiet
 *           seconds more so that late copies (a hand-over repeated
 *           after a crash) can show.
 *
 * What is counted, per envelope id:
 *   acknowledged  a relay answered "accepted" to the sending device;
 *   lost          acknowledged, never delivered;
 *   duplicated    delivered under two different seq values: two
 *                 mailbox entries for one id, which the duplicate index
 *                 exists to prevent;
 *   redelivered   (counted per push) the same (id, seq) pushed again.
 *                 That is the protocol working, not a copy: an ack
 *                 deletes the entry only once the relay commits it, so
 *                 an entry whose ack died with the relay is pushed
 *                 again under its old seq, and the device knows it by
 *                 that seq.
 * A re-push of an entry whose ack the relay had confirmed ("ok") would
 * mean a committed delete came undone; that, an envelope refused,
 * altered or delivered to another device, and a relay that exits on
 * its own or not cleanly on SIGTERM fail the run as well.
 */
#define _GNU_SOURCE		/* close_range(2) */

#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
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
#include "session.h"

#include "common/loadgen.h"

#define TICK_MS		10	/* load generator and drain check */
#define RETRY_MIN_MS	20	/* device reconnect backoff bounds */
#define RETRY_MAX_MS	500
#define HANDSHAKE_S	5	/* connect, TLS and authentication */
#define RESTART_MAX_MS	200	/* pause between a kill and the restart */
#define EXIT_PAUSE_MS	500	/* before restarting a relay that died */
#define EXITS_MAX	5	/* relays dying alone before giving up */
#define STOP_S		10	/* SIGTERM to exit, at the end */
#define ENROL_S		30	/* every device enrolled within */
#define LOCAL_EVERY	4	/* with --local, one envelope in 4 stays */
#define SHOW_MAX	5	/* ids printed per kind of failure */

/* What happened to one envelope. */
#define REC_SENT	0x01	/* handed to a session at least once */
#define REC_ACCEPTED	0x02	/* a relay answered "accepted" */
#define REC_REFUSED	0x04	/* refused for good, not "try later" */
#define REC_DUP		0x08	/* delivered under a second seq */
#define REC_ACKED	0x10	/* the relay confirmed the ack of seq */

struct rec {
	uint8_t		 rnd[8];	/* first half of the id */
	uint8_t		 hash[16];	/* BLAKE2b of the bytes sent */
	uint64_t	 seq;		/* first mailbox seq, 0 if none */
	struct sp_buf	 env;		/* the bytes, until accepted */
	uint32_t	 to;		/* index of the receiving device */
	uint8_t		 flags;
};

struct torture;

/* One relay: how to reach it, how to run it. */
struct side {
	struct torture	*t;
	const char	*name;		/* "A" or "B" in messages */
	const char	*host, *ca, *domain, *conf, *log, *codes;
	int		 port;
	SSL_CTX		*ctx;
	pid_t		 pid;		/* 0 while down */
	int		 killed;	/* down because we killed it */
	struct event	*restart;
};

/* A sender's envelope not yet accepted. */
struct slot {
	size_t		 ix;		/* SIZE_MAX: slot free */
	uint32_t	 rid;		/* 0: not sent on this session */
};

/* A receiver's ack not yet confirmed. */
struct ackwait {
	uint32_t	 rid;
	size_t		 ix;
	uint64_t	 seq;
};

struct dev {
	struct torture	*t;
	struct side	*side;
	struct sp_identity id;
	const char	*code;		/* until enrolled, then NULL */
	struct sp_session *s;
	struct bufferevent *bev;
	struct event	*retry;
	unsigned	 backoff_ms;
	int		 ready;
	int		 broken;	/* drop once the callback is done */
	int		 sender;
	size_t		 rix;		/* receivers: index in t->rcv */

	struct slot	*slots;		/* senders: --window of them */
	size_t		 nused;

	struct ackwait	*acks;		/* receivers */
	size_t		 nacks, acks_cap;
};

enum phase { PH_ENROL, PH_RUN, PH_DRAIN, PH_QUIET, PH_DONE };

struct torture {
	struct event_base *base;
	const char	*relay;
	struct side	 a, b;

	/* Devices: senders at A; receivers 0..pairs-1 at B, then the
	 * local ones at A. */
	struct dev	*snd, *rcv;
	size_t		 pairs, nlocal, nrcv;
	size_t		 window, body_len, backlog;
	double		 rate;
	uint64_t	 lifetime;
	uint8_t		*body;
	char		**codes_a, **codes_b;	/* enrolment codes */

	unsigned	 max_cycles, min_gap, max_gap;
	double		 seconds, drain_s, quiet_s;

	struct rec	*recs;
	size_t		 nrec, cap;

	enum phase	 phase;
	double		 t_start, t_phase, t_tick, t_end, budget;
	double		 t_moved;	/* last progress while draining */
	size_t		 progress;	/* acknowledged + delivered then */
	size_t		 rr, nready;
	unsigned	 cycles, exits;
	int		 interrupted, enrol_failed, stop_failed, drained;
	struct event	*tick, *killer, *enrol_timer;
	struct event	*sigchld, *sigint, *sigterm;

	/* Counters, per envelope unless said otherwise. */
	size_t		 outstanding;	/* created, not accepted/refused */
	size_t		 acknowledged, delivered, acked_delivered;
	size_t		 duplicated, redelivered, resurrected;
	size_t		 refused, misrouted, corrupt, unknown, strange;
	size_t		 drops, try_later, ack_errors;
};

static struct torture *the;	/* for die(), which must stop relays */

static void	relays_kill(struct torture *);
static void	dev_connect(struct dev *);
static void	dev_drop(struct dev *);
static void	begin_drain(struct torture *);
static void	finish(struct torture *);

static void __attribute__((format(printf, 1, 2), noreturn))
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sealpost-torture: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	if (the != NULL)
		relays_kill(the);
	exit(1);
}

static void __attribute__((format(printf, 1, 2)))
note(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sealpost-torture: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

static struct timeval
ms_tv(unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	return tv;
}

/* Uniform in [lo, hi]. */
static unsigned
draw(unsigned lo, unsigned hi)
{
	return lo + randombytes_uniform(hi - lo + 1);
}

static const char *
hex_id(char out[SP_ID_LEN * 2 + 1], const uint8_t *id)
{
	size_t i;

	for (i = 0; i < SP_ID_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", id[i]);
	return out;
}

/* --- relays -------------------------------------------------------- */

/* Fork and exec the relay of side s, its output appended to its log. */
static void
relay_start(struct side *s)
{
	struct torture *t = s->t;
	pid_t parent = getpid(), pid;
	int fd;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1) {
		note("relay %s: fork: %s", s->name, strerror(errno));
		return;
	}
	if (pid == 0) {
		/* Never outlive the driver, whatever kills it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		if (s->log != NULL) {
			fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
			if (fd == -1)
				_exit(126);
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			dprintf(STDERR_FILENO, "=== torture: start after "
			    "%u kills\n", t->cycles);
		}
		/* Our sockets to the other relay must not live on in
		 * this one, or closing them would not reach the peer. */
		close_range(3, ~0U, 0);
		execl(t->relay, t->relay, "-c", s->conf, (char *)NULL);
		_exit(127);
	}
	s->pid = pid;
	s->killed = 0;
}

/* SIGKILL and reap; returns the wait status, or -1. */
static int
relay_kill(struct side *s)
{
	int st = -1;

	if (s->pid == 0)
		return -1;
	kill(s->pid, SIGKILL);
	while (waitpid(s->pid, &st, 0) == -1 && errno == EINTR)
		;
	s->pid = 0;
	return st;
}

static void
relays_kill(struct torture *t)
{
	relay_kill(&t->a);
	relay_kill(&t->b);
}

/*
 * SIGTERM must stop a relay with status 0 within STOP_S seconds.
 * Returns 0 if it did (or was not running), -1 otherwise.
 */
static int
relay_stop(struct side *s)
{
	double deadline = lg_now() + STOP_S;
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	pid_t r;
	int st;

	if (s->pid == 0)
		return 0;
	kill(s->pid, SIGTERM);
	while ((r = waitpid(s->pid, &st, WNOHANG)) == 0 &&
	    lg_now() < deadline)
		nanosleep(&pause, NULL);
	if (r == 0) {
		note("relay %s still running %ds after SIGTERM", s->name,
		    STOP_S);
		relay_kill(s);
		return -1;
	}
	s->pid = 0;
	if (r == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		note("relay %s did not exit with status 0 on SIGTERM",
		    s->name);
		return -1;
	}
	return 0;
}

/* A relay ended without being told to: a bug worth a restart. */
static void
relay_died(struct side *s, int st)
{
	struct torture *t = s->t;
	struct timeval tv = ms_tv(EXIT_PAUSE_MS);

	s->pid = 0;
	t->exits++;
	if (WIFSIGNALED(st))
		note("relay %s died of signal %d on its own (see %s)",
		    s->name, WTERMSIG(st), s->log ? s->log : "its output");
	else
		note("relay %s exited with status %d on its own (see %s)",
		    s->name, WEXITSTATUS(st), s->log ? s->log : "its output");
	if (t->exits > EXITS_MAX) {
		note("relays exited %u times on their own; giving up",
		    t->exits);
		finish(t);
		return;
	}
	evtimer_add(s->restart, &tv);
}

static void
on_sigchld(evutil_socket_t sig, short what, void *arg)
{
	struct torture *t = arg;
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (pid == t->a.pid)
			relay_died(&t->a, st);
		else if (pid == t->b.pid)
			relay_died(&t->b, st);
	}
}

static void
on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	struct torture *t = arg;

	note("interrupted");
	t->interrupted = 1;
	finish(t);
}

/* The kill driver: one cycle is kill, pause, restart, gap. */
static void
killer_fire(evutil_socket_t fd, short what, void *arg)
{
	struct torture *t = arg;
	struct side *s;
	struct timeval tv;
	int st;

	if (t->seconds > 0 && lg_now() - t->t_start >= t->seconds) {
		begin_drain(t);
		return;
	}
	s = randombytes_uniform(2) ? &t->a : &t->b;
	if (s->pid == 0) {
		/* Down on its own; its restart is on the way. */
		tv = ms_tv(draw(t->min_gap, t->max_gap));
		evtimer_add(t->killer, &tv);
		return;
	}
	/* It may have ended on its own just before: say so. */
	st = relay_kill(s);
	if (st != -1 && !(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)) {
		t->exits++;
		note("relay %s had ended on its own (wait status %d)",
		    s->name, st);
	}
	s->killed = 1;
	t->cycles++;
	if (t->cycles % 10 == 0)
		note("%u kills: acknowledged=%zu delivered=%zu "
		    "outstanding=%zu", t->cycles, t->acknowledged,
		    t->delivered, t->outstanding);
	tv = ms_tv(draw(0, RESTART_MAX_MS));
	evtimer_add(s->restart, &tv);
}

static void
restart_fire(evutil_socket_t fd, short what, void *arg)
{
	struct side *s = arg;
	struct torture *t = s->t;
	int ours = s->killed;
	struct timeval tv;

	if (t->phase == PH_DONE)
		return;
	relay_start(s);
	if (!ours || t->phase != PH_RUN)
		return;
	if (t->max_cycles > 0 && t->cycles >= t->max_cycles) {
		begin_drain(t);
		return;
	}
	tv = ms_tv(draw(t->min_gap, t->max_gap));
	evtimer_add(t->killer, &tv);
}

/* --- envelopes ------------------------------------------------------ */

/* Index of the envelope with this id, SIZE_MAX if we never made it. */
static size_t
rec_find(const struct torture *t, const uint8_t id[SP_ID_LEN])
{
	uint64_t ix = 0;
	int i;

	for (i = 8; i < 16; i++)
		ix = ix << 8 | id[i];
	if (ix >= t->nrec || memcmp(t->recs[ix].rnd, id, 8) != 0)
		return SIZE_MAX;
	return (size_t)ix;
}

static void
rec_id(const struct torture *t, size_t ix, uint8_t id[SP_ID_LEN])
{
	int i;

	memcpy(id, t->recs[ix].rnd, 8);
	for (i = 0; i < 8; i++)
		id[8 + i] = (uint8_t)((uint64_t)ix >> (56 - 8 * i));
}

/*
 * Seal a new envelope from sender d and return its index.  The id is
 * 8 random bytes and the index, so that a delivery leads back to its
 * record and a forged or mangled id does not.
 */
static size_t
rec_new(struct torture *t, struct dev *d)
{
	struct sp_envelope e;
	struct sp_content c;
	struct sp_sender snd;
	struct rec *r;
	struct dev *to;
	uint64_t now = (uint64_t)time(NULL);
	size_t ix, cap;

	if (t->nrec == t->cap) {
		cap = t->cap ? t->cap * 2 : 4096;
		if ((r = reallocarray(t->recs, cap, sizeof(*r))) == NULL)
			die("out of memory");
		t->recs = r;
		t->cap = cap;
	}
	ix = t->nrec++;
	r = &t->recs[ix];
	memset(r, 0, sizeof(*r));
	randombytes_buf(r->rnd, sizeof(r->rnd));

	r->to = (uint32_t)(d - t->snd);
	if (t->nlocal > 0 && ix % LOCAL_EVERY == LOCAL_EVERY - 1)
		r->to = (uint32_t)(t->pairs + ix / LOCAL_EVERY % t->nlocal);
	to = &t->rcv[r->to];

	memset(&e, 0, sizeof(e));
	rec_id(t, ix, e.id);
	snprintf(e.to, sizeof(e.to), "%s", to->id.addr);
	e.dev = to->id.dev;
	snprintf(e.org, sizeof(e.org), "%s", t->a.domain);
	e.ts = now;
	e.exp = now + t->lifetime;

	memset(&c, 0, sizeof(c));
	snprintf(c.type, sizeof(c.type), "text/plain");
	c.body = t->body;
	c.body_len = t->body_len;
	memset(&snd, 0, sizeof(snd));
	snprintf(snd.addr, sizeof(snd.addr), "%s", d->id.addr);
	snd.dev = d->id.dev;
	memcpy(snd.spk, d->id.spk, sizeof(snd.spk));
	memcpy(snd.ssk, d->id.ssk, sizeof(snd.ssk));
	if (sp_env_seal(&e, &c, &snd, to->id.bpk, &r->env) != SP_OK)
		die("sealing failed");
	sodium_memzero(&snd, sizeof(snd));
	crypto_generichash(r->hash, sizeof(r->hash), r->env.data, r->env.len,
	    NULL, 0);
	t->outstanding++;
	return ix;
}

/* --- devices --------------------------------------------------------- */

static void
dev_flush(struct dev *d)
{
	const uint8_t *p;
	size_t len;

	if (d->s == NULL || d->bev == NULL)
		return;
	sp_session_output(d->s, &p, &len);
	if (len == 0)
		return;
	if (bufferevent_write(d->bev, p, len) == -1) {
		d->broken = 1;
		return;
	}
	sp_session_consume(d->s, len);
}

/* Send every envelope of the window that this session has not. */
static void
sender_pump(struct dev *d)
{
	struct torture *t = d->t;
	struct slot *sl;
	struct rec *r;
	int64_t rid;
	size_t i;

	if (!d->ready || d->broken)
		return;
	for (i = 0; i < t->window; i++) {
		sl = &d->slots[i];
		if (sl->ix == SIZE_MAX || sl->rid != 0)
			continue;
		r = &t->recs[sl->ix];
		if ((rid = sp_session_send(d->s, r->env.data,
		    r->env.len)) < 0) {
			d->broken = 1;
			return;
		}
		sl->rid = (uint32_t)rid;
		r->flags |= REC_SENT;
	}
	dev_flush(d);
}

/* Put a new envelope into a free slot of d's window. */
static void
sender_add(struct dev *d)
{
	struct torture *t = d->t;
	size_t i;

	for (i = 0; i < t->window; i++)
		if (d->slots[i].ix == SIZE_MAX)
			break;
	if (i == t->window)
		return;
	d->slots[i].ix = rec_new(t, d);
	d->slots[i].rid = 0;
	d->nused++;
}

static struct slot *
slot_by_rid(struct dev *d, uint32_t rid)
{
	size_t i;

	for (i = 0; i < d->t->window; i++)
		if (d->slots[i].ix != SIZE_MAX && d->slots[i].rid == rid)
			return &d->slots[i];
	return NULL;
}

static void
slot_free(struct dev *d, struct slot *sl)
{
	sp_buf_free(&d->t->recs[sl->ix].env);
	sl->ix = SIZE_MAX;
	sl->rid = 0;
	d->nused--;
	d->t->outstanding--;
}

static void
sender_accepted(struct dev *d, const struct sp_event *ev)
{
	struct torture *t = d->t;
	struct slot *sl = slot_by_rid(d, ev->rid);
	struct rec *r;
	char hex[SP_ID_LEN * 2 + 1];

	if (sl == NULL || rec_find(t, ev->id) != sl->ix) {
		if (t->strange++ < SHOW_MAX)
			note("accepted id=%s answers no envelope sent",
			    hex_id(hex, ev->id));
		return;
	}
	r = &t->recs[sl->ix];
	r->flags |= REC_ACCEPTED;
	t->acknowledged++;
	if (r->seq != 0)
		t->acked_delivered++;
	slot_free(d, sl);
}

static void
sender_error(struct dev *d, const struct sp_event *ev)
{
	struct torture *t = d->t;
	struct slot *sl = slot_by_rid(d, ev->rid);
	uint8_t id[SP_ID_LEN];
	char hex[SP_ID_LEN * 2 + 1];

	if (sl == NULL) {
		note("%s: error %s for no request of ours", d->id.addr,
		    sp_wire_error_name(ev->err));
		d->broken = 1;
		return;
	}

	/* Try later: the slot is sent again at the next tick. */
	if (ev->err == SP_WERR_TRY_LATER) {
		t->try_later++;
		sl->rid = 0;
		return;
	}
	rec_id(t, sl->ix, id);
	if (t->refused++ < SHOW_MAX)
		note("send refused id=%s: %s: %s", hex_id(hex, id),
		    sp_wire_error_name(ev->err), ev->text ? ev->text : "");
	t->recs[sl->ix].flags |= REC_REFUSED;
	slot_free(d, sl);
}

static void
receiver_deliver(struct dev *d, const struct sp_event *ev)
{
	struct torture *t = d->t;
	struct sp_envelope e;
	struct ackwait *a;
	struct rec *r;
	uint8_t h[16];
	char hex[SP_ID_LEN * 2 + 1];
	size_t ix, cap;
	int64_t rid;

	if (sp_env_decode(&e, ev->env, ev->env_len) != SP_OK ||
	    (ix = rec_find(t, e.id)) == SIZE_MAX) {
		if (t->unknown++ < SHOW_MAX)
			note("%s: delivery seq=%" PRIu64 " of no envelope "
			    "of ours", d->id.addr, ev->seq);
		ix = SIZE_MAX;
		goto ack;
	}
	r = &t->recs[ix];
	crypto_generichash(h, sizeof(h), ev->env, ev->env_len, NULL, 0);
	if (memcmp(h, r->hash, sizeof(h)) != 0 && t->corrupt++ < SHOW_MAX)
		note("id=%s arrived altered", hex_id(hex, e.id));
	if (r->to != d->rix && t->misrouted++ < SHOW_MAX)
		note("id=%s delivered to %s, not its recipient",
		    hex_id(hex, e.id), d->id.addr);

	if (r->seq == 0) {
		r->seq = ev->seq;
		t->delivered++;
		if (r->flags & REC_ACCEPTED)
			t->acked_delivered++;
	} else if (r->seq == ev->seq) {
		t->redelivered++;
		if ((r->flags & REC_ACKED) && t->resurrected++ < SHOW_MAX)
			note("id=%s seq=%" PRIu64 " pushed again after the "
			    "relay confirmed its ack", hex_id(hex, e.id),
			    ev->seq);
	} else if (!(r->flags & REC_DUP)) {
		r->flags |= REC_DUP;
		if (t->duplicated++ < SHOW_MAX)
			note("id=%s delivered twice: seq=%" PRIu64 " and "
			    "seq=%" PRIu64, hex_id(hex, e.id), r->seq,
			    ev->seq);
	}

 ack:
	if ((rid = sp_session_ack(d->s, ev->seq)) < 0) {
		d->broken = 1;
		return;
	}
	if (d->nacks == d->acks_cap) {
		cap = d->acks_cap ? d->acks_cap * 2 : 128;
		if ((a = reallocarray(d->acks, cap, sizeof(*a))) == NULL)
			die("out of memory");
		d->acks = a;
		d->acks_cap = cap;
	}
	a = &d->acks[d->nacks++];
	a->rid = (uint32_t)rid;
	a->ix = ix;
	a->seq = ev->seq;
}

/* An "ok": the relay committed the delete of an acked entry. */
static void
receiver_ok(struct dev *d, const struct sp_event *ev)
{
	struct torture *t = d->t;
	size_t i;

	for (i = 0; i < d->nacks; i++)
		if (d->acks[i].rid == ev->rid)
			break;
	if (i == d->nacks)
		return;
	if (d->acks[i].ix != SIZE_MAX &&
	    t->recs[d->acks[i].ix].seq == d->acks[i].seq)
		t->recs[d->acks[i].ix].flags |= REC_ACKED;
	d->acks[i] = d->acks[--d->nacks];
}

static void
receiver_error(struct dev *d, const struct sp_event *ev)
{
	size_t i;

	for (i = 0; i < d->nacks; i++)
		if (d->acks[i].rid == ev->rid)
			break;
	if (i == d->nacks) {
		note("%s: error %s for no request of ours", d->id.addr,
		    sp_wire_error_name(ev->err));
		d->broken = 1;
		return;
	}

	/* The entry stays queued and comes again with the next fetch. */
	d->t->ack_errors++;
	d->acks[i] = d->acks[--d->nacks];
}

static void
start_run(struct torture *t)
{
	struct timeval tv;

	evtimer_del(t->enrol_timer);
	t->phase = PH_RUN;
	t->t_start = t->t_tick = lg_now();
	note("%zu devices enrolled; running", 2 * t->pairs + t->nlocal);

	tv = ms_tv(TICK_MS);
	event_add(t->tick, &tv);
	tv = ms_tv(draw(t->min_gap, t->max_gap));
	evtimer_add(t->killer, &tv);
}

static void
dev_ready(struct dev *d, const struct sp_event *ev)
{
	struct torture *t = d->t;

	d->ready = 1;
	d->backoff_ms = RETRY_MIN_MS;
	bufferevent_set_timeouts(d->bev, NULL, NULL);
	if (!d->sender && sp_session_fetch(d->s) < 0)
		d->broken = 1;
	if (d->code != NULL) {
		d->id.dev = ev->dev;
		d->code = NULL;
		if (++t->nready == 2 * t->pairs + t->nlocal)
			start_run(t);
	}
	if (d->sender)
		sender_pump(d);
}

static void
dev_handle(struct dev *d, const struct sp_event *ev)
{
	switch (ev->type) {
	case SP_EV_READY:
		dev_ready(d, ev);
		break;
	case SP_EV_ACCEPTED:
		sender_accepted(d, ev);
		break;
	case SP_EV_DELIVER:
		receiver_deliver(d, ev);
		break;
	case SP_EV_OK:
		receiver_ok(d, ev);
		break;
	case SP_EV_ERROR:
		if (d->sender)
			sender_error(d, ev);
		else
			receiver_error(d, ev);
		break;
	case SP_EV_FAILED:
		/* A refused enrolment will not get better by retrying. */
		if (d->code != NULL && ev->err != 0) {
			note("enrolment of %s refused: %s", d->id.addr,
			    ev->text ? ev->text : "");
			d->t->enrol_failed = 1;
			finish(d->t);
		}
		d->broken = 1;
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
	uint8_t chunk[16384];
	struct sp_event ev;
	int n;

	while (!d->broken &&
	    (n = evbuffer_remove(in, chunk, sizeof(chunk))) > 0) {
		sp_session_input(d->s, chunk, (size_t)n);
		while (!d->broken && sp_session_event(d->s, &ev))
			dev_handle(d, &ev);
	}
	dev_flush(d);
	if (d->broken)
		dev_drop(d);
}

static void
dev_event(struct bufferevent *bev, short what, void *arg)
{
	struct dev *d = arg;
	int one = 1;

	if (what & BEV_EVENT_CONNECTED) {
		setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY,
		    &one, sizeof(one));
		return;
	}

	/* Relays die here on purpose: a closed connection is routine. */
	while (bufferevent_get_openssl_error(bev) != 0)
		;
	dev_drop(d);
}

static void
dev_retry(evutil_socket_t fd, short what, void *arg)
{
	dev_connect(arg);
}

/* Forget the connection; come back after a jittered, growing pause. */
static void
dev_drop(struct dev *d)
{
	struct torture *t = d->t;
	struct timeval tv;
	size_t i;

	if (d->bev != NULL)
		bufferevent_free(d->bev);
	d->bev = NULL;
	if (d->s != NULL)
		sp_session_free(d->s);
	d->s = NULL;
	d->ready = d->broken = 0;

	/* Whatever the dead session had sent goes again, same bytes. */
	if (d->sender)
		for (i = 0; i < t->window; i++)
			d->slots[i].rid = 0;
	d->nacks = 0;

	if (t->phase == PH_DONE)
		return;
	if (t->phase != PH_ENROL)
		t->drops++;
	tv = ms_tv(draw(d->backoff_ms / 2, d->backoff_ms));
	d->backoff_ms = d->backoff_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS :
	    d->backoff_ms * 2;
	evtimer_add(d->retry, &tv);
}

static void
dev_connect(struct dev *d)
{
	struct side *side = d->side;
	struct sockaddr_in sin;
	struct timeval tv = { HANDSHAKE_S, 0 };
	SSL *ssl;

	if ((d->s = sp_session_new(&d->id, d->code, side->domain)) == NULL)
		die("out of memory");
	if ((ssl = SSL_new(side->ctx)) == NULL)
		die("SSL_new failed");
	SSL_set_tlsext_host_name(ssl, side->domain);
	SSL_set1_host(ssl, side->domain);
	d->bev = bufferevent_openssl_socket_new(d->t->base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (d->bev == NULL)
		die("bufferevent_openssl_socket_new failed");
	bufferevent_setcb(d->bev, dev_read, NULL, dev_event, d);
	bufferevent_enable(d->bev, EV_READ | EV_WRITE);

	/* Until authenticated, a relay that hangs costs a reconnect, not
	 * the run; afterwards it may stay quiet as long as it likes. */
	bufferevent_set_timeouts(d->bev, &tv, &tv);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)side->port);
	if (inet_pton(AF_INET, side->host, &sin.sin_addr) != 1)
		die("%s: not an IPv4 address", side->host);
	if (bufferevent_socket_connect(d->bev, (struct sockaddr *)&sin,
	    sizeof(sin)) < 0) {
		dev_drop(d);
		return;
	}
	dev_flush(d);
}

/* --- load and phases -------------------------------------------------- */

/* Every envelope accepted, every accepted one delivered. */
static int
all_delivered(const struct torture *t)
{
	return t->outstanding == 0 && t->acked_delivered == t->acknowledged;
}

static void
begin_drain(struct torture *t)
{
	evtimer_del(t->killer);
	t->phase = PH_DRAIN;
	t->t_phase = t->t_moved = lg_now();
	note("%u kills done; draining %zu envelopes", t->cycles,
	    t->nrec - t->delivered - t->refused);
}

static void
finish(struct torture *t)
{
	t->phase = PH_DONE;
	t->t_end = lg_now();
	event_base_loopexit(t->base, NULL);
}

/* Generate new envelopes within the rate, round robin over senders. */
static void
generate(struct torture *t, double now)
{
	size_t idle = 0;
	struct dev *d;

	if (t->nrec - t->delivered - t->refused >= t->backlog) {
		t->budget = 0;
		t->t_tick = now;
		return;
	}
	if (t->rate > 0) {
		t->budget += t->rate * (now - t->t_tick);
		if (t->budget > t->rate / 10)
			t->budget = t->rate / 10;
	} else
		t->budget = (double)t->pairs * t->window;
	t->t_tick = now;

	while (t->budget >= 1 && idle < t->pairs &&
	    t->nrec - t->delivered - t->refused < t->backlog) {
		d = &t->snd[t->rr];
		t->rr = (t->rr + 1) % t->pairs;
		if (d->nused == t->window) {
			idle++;
			continue;
		}
		sender_add(d);
		t->budget -= 1;
		idle = 0;
	}
}

static void
tick(evutil_socket_t fd, short what, void *arg)
{
	struct torture *t = arg;
	double now = lg_now();
	size_t i;

	if (t->phase == PH_RUN)
		generate(t, now);
	for (i = 0; i < t->pairs; i++) {
		sender_pump(&t->snd[i]);
		if (t->snd[i].broken)
			dev_drop(&t->snd[i]);
	}

	switch (t->phase) {
	case PH_DRAIN:
		if (all_delivered(t)) {
			t->drained = 1;
			t->phase = PH_QUIET;
			t->t_phase = now;
			note("drained in %.1fs; %.0fs more for late copies",
			    now - t->t_start, t->quiet_s);
			break;
		}
		if (t->acknowledged + t->delivered != t->progress) {
			t->progress = t->acknowledged + t->delivered;
			t->t_moved = now;
		} else if (now - t->t_moved >= t->drain_s) {
			note("nothing moved for %.0fs; %zu envelopes not "
			    "delivered", t->drain_s,
			    t->nrec - t->delivered - t->refused);
			finish(t);
		}
		break;
	case PH_QUIET:
		if (now - t->t_phase >= t->quiet_s)
			finish(t);
		break;
	default:
		break;
	}
}

static void
enrol_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct torture *t = arg;

	note("devices not enrolled after %ds", ENROL_S);
	t->enrol_failed = 1;
	finish(t);
}

/* --- set-up and report ------------------------------------------------ */

static void
dev_init(struct torture *t, struct dev *d, struct side *side,
    const char *local, size_t i, const char *code)
{
	size_t k;

	d->t = t;
	d->side = side;
	d->code = code;
	d->backoff_ms = RETRY_MIN_MS;
	lg_identity(&d->id, local, i, side->domain);
	if ((d->retry = evtimer_new(t->base, dev_retry, d)) == NULL)
		die("out of memory");
	if (!d->sender)
		return;
	if ((d->slots = calloc(t->window, sizeof(*d->slots))) == NULL)
		die("out of memory");
	for (k = 0; k < t->window; k++)
		d->slots[k].ix = SIZE_MAX;
}

static void
dev_free(struct dev *d)
{
	if (d->bev != NULL)
		bufferevent_free(d->bev);
	if (d->s != NULL)
		sp_session_free(d->s);
	if (d->retry != NULL)
		event_free(d->retry);
	free(d->slots);
	free(d->acks);
	sodium_memzero(&d->id, sizeof(d->id));
}

/* Print up to SHOW_MAX ids with flags matching want under a title. */
static void
show_ids(const struct torture *t, const char *title, uint8_t mask,
    uint8_t want, int undelivered)
{
	uint8_t id[SP_ID_LEN];
	char hex[SP_ID_LEN * 2 + 1];
	size_t i, n = 0;

	for (i = 0; i < t->nrec && n < SHOW_MAX; i++) {
		if ((t->recs[i].flags & mask) != want ||
		    (undelivered && t->recs[i].seq != 0))
			continue;
		rec_id(t, i, id);
		note("%s id=%s to=%s", title, hex_id(hex, id),
		    t->rcv[t->recs[i].to].id.addr);
		n++;
	}
}

/* Print the result line; returns the exit status. */
static int
report(struct torture *t)
{
	size_t i, lost = 0, unacked = 0;
	int ok;

	for (i = 0; i < t->nrec; i++) {
		const struct rec *r = &t->recs[i];

		if ((r->flags & REC_ACCEPTED) && r->seq == 0)
			lost++;
		if ((r->flags & (REC_SENT | REC_ACCEPTED)) == REC_SENT)
			unacked++;
	}

	printf("torture cycles=%u acknowledged=%zu delivered=%zu lost=%zu "
	    "duplicated=%zu redelivered=%zu unacknowledged_sent=%zu "
	    "elapsed_s=%.1f\n", t->cycles, t->acknowledged, t->delivered,
	    lost, t->duplicated, t->redelivered, unacked,
	    t->t_end - t->t_start);
	fflush(stdout);
	note("created=%zu reconnects=%zu try_later=%zu ack_errors=%zu; "
	    "duplicated counts ids delivered under two seqs, redelivered "
	    "counts pushes of a seq already seen (an ack lost in a crash)",
	    t->nrec, t->drops, t->try_later, t->ack_errors);

	if (lost > 0)
		show_ids(t, "lost", REC_ACCEPTED, REC_ACCEPTED, 1);
	if (unacked > 0)
		show_ids(t, "never accepted", REC_SENT | REC_ACCEPTED,
		    REC_SENT, 0);

	ok = lost == 0 && t->duplicated == 0 &&
	    t->acked_delivered == t->acknowledged && t->acknowledged > 0;
	if (t->acknowledged == 0)
		note("FAIL: nothing was acknowledged");
	if (t->resurrected > 0)
		note("FAIL: %zu entries pushed again after their ack was "
		    "confirmed", t->resurrected);
	if (t->refused + t->misrouted + t->corrupt + t->unknown +
	    t->strange > 0)
		note("FAIL: refused=%zu misrouted=%zu altered=%zu "
		    "unknown=%zu stray_accepts=%zu", t->refused, t->misrouted,
		    t->corrupt, t->unknown, t->strange);
	if (t->exits > 0)
		note("FAIL: relays exited %u times on their own", t->exits);
	if (t->stop_failed)
		note("FAIL: a relay did not stop cleanly on SIGTERM");
	if (t->interrupted || t->enrol_failed)
		note("FAIL: the run did not complete");
	if (!t->drained && lost > 0)
		note("not drained: lost counts envelopes that may still have "
		    "been on their way");
	if (t->resurrected + t->refused + t->misrouted + t->corrupt +
	    t->unknown + t->strange + t->exits > 0 || t->stop_failed ||
	    t->interrupted || t->enrol_failed)
		ok = 0;
	return ok ? 0 : 1;
}

static void
usage(void)
{
	fprintf(stderr,
"usage: sealpost-torture --relay BIN\n"
"           --a-conf FILE --a-port P --a-ca FILE --a-domain D --a-codes FILE\n"
"           --b-conf FILE --b-port P --b-ca FILE --b-domain D --b-codes FILE\n"
"           [--a-host IP] [--b-host IP] [--a-log FILE] [--b-log FILE]\n"
"           [-c CYCLES] [-t SECONDS] [-p PAIRS] [-l LOCAL] [-w WINDOW]\n"
"           [-r RATE] [-s BODY_BYTES] [--min-gap MS] [--max-gap MS]\n"
"           [--backlog N] [--drain SECONDS] [--quiet SECONDS]\n"
"Starts both relays (BIN -c FILE), enrols PAIRS senders at A\n"
"(sender0@A..), PAIRS receivers at B (receiver0@B..) and LOCAL\n"
"receivers at A (local0@A..), sends RATE envelopes/s (0: as fast as\n"
"the relays take them, at most N undelivered) while killing a random\n"
"relay CYCLES times (0: no limit) or for SECONDS (0: no limit), then\n"
"drains (giving up after SECONDS without progress) and checks.\n"
"The A codes file holds PAIRS codes for the senders, then LOCAL for\n"
"the local receivers; the B file PAIRS codes.  Exit 0 only if nothing\n"
"accepted was lost and nothing reached a mailbox twice.\n");
	exit(1);
}

enum {
	OPT_RELAY = 256,
	OPT_A_HOST, OPT_A_PORT, OPT_A_CA, OPT_A_DOMAIN, OPT_A_CODES,
	OPT_A_CONF, OPT_A_LOG,
	OPT_B_HOST, OPT_B_PORT, OPT_B_CA, OPT_B_DOMAIN, OPT_B_CODES,
	OPT_B_CONF, OPT_B_LOG,
	OPT_MIN_GAP, OPT_MAX_GAP, OPT_DRAIN, OPT_QUIET, OPT_BACKLOG,
};

static void
parse_args(struct torture *t, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "relay", required_argument, NULL, OPT_RELAY },
		{ "a-host", required_argument, NULL, OPT_A_HOST },
		{ "a-port", required_argument, NULL, OPT_A_PORT },
		{ "a-ca", required_argument, NULL, OPT_A_CA },
		{ "a-domain", required_argument, NULL, OPT_A_DOMAIN },
		{ "a-codes", required_argument, NULL, OPT_A_CODES },
		{ "a-conf", required_argument, NULL, OPT_A_CONF },
		{ "a-log", required_argument, NULL, OPT_A_LOG },
		{ "b-host", required_argument, NULL, OPT_B_HOST },
		{ "b-port", required_argument, NULL, OPT_B_PORT },
		{ "b-ca", required_argument, NULL, OPT_B_CA },
		{ "b-domain", required_argument, NULL, OPT_B_DOMAIN },
		{ "b-codes", required_argument, NULL, OPT_B_CODES },
		{ "b-conf", required_argument, NULL, OPT_B_CONF },
		{ "b-log", required_argument, NULL, OPT_B_LOG },
		{ "cycles", required_argument, NULL, 'c' },
		{ "seconds", required_argument, NULL, 't' },
		{ "pairs", required_argument, NULL, 'p' },
		{ "local", required_argument, NULL, 'l' },
		{ "window", required_argument, NULL, 'w' },
		{ "rate", required_argument, NULL, 'r' },
		{ "size", required_argument, NULL, 's' },
		{ "min-gap", required_argument, NULL, OPT_MIN_GAP },
		{ "max-gap", required_argument, NULL, OPT_MAX_GAP },
		{ "drain", required_argument, NULL, OPT_DRAIN },
		{ "backlog", required_argument, NULL, OPT_BACKLOG },
		{ "quiet", required_argument, NULL, OPT_QUIET },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "c:t:p:l:w:r:s:h", opts,
	    NULL)) != -1) {
		switch (ch) {
		case OPT_RELAY: t->relay = optarg; break;
		case OPT_A_HOST: t->a.host = optarg; break;
		case OPT_A_PORT: t->a.port = atoi(optarg); break;
		case OPT_A_CA: t->a.ca = optarg; break;
		case OPT_A_DOMAIN: t->a.domain = optarg; break;
		case OPT_A_CODES: t->a.codes = optarg; break;
		case OPT_A_CONF: t->a.conf = optarg; break;
		case OPT_A_LOG: t->a.log = optarg; break;
		case OPT_B_HOST: t->b.host = optarg; break;
		case OPT_B_PORT: t->b.port = atoi(optarg); break;
		case OPT_B_CA: t->b.ca = optarg; break;
		case OPT_B_DOMAIN: t->b.domain = optarg; break;
		case OPT_B_CODES: t->b.codes = optarg; break;
		case OPT_B_CONF: t->b.conf = optarg; break;
		case OPT_B_LOG: t->b.log = optarg; break;
		case 'c': t->max_cycles = strtoul(optarg, NULL, 10); break;
		case 't': t->seconds = atof(optarg); break;
		case 'p': t->pairs = strtoul(optarg, NULL, 10); break;
		case 'l': t->nlocal = strtoul(optarg, NULL, 10); break;
		case 'w': t->window = strtoul(optarg, NULL, 10); break;
		case 'r': t->rate = atof(optarg); break;
		case 's': t->body_len = strtoul(optarg, NULL, 10); break;
		case OPT_MIN_GAP: t->min_gap = strtoul(optarg, NULL, 10); break;
		case OPT_MAX_GAP: t->max_gap = strtoul(optarg, NULL, 10); break;
		case OPT_DRAIN: t->drain_s = atof(optarg); break;
		case OPT_QUIET: t->quiet_s = atof(optarg); break;
		case OPT_BACKLOG:
			t->backlog = strtoul(optarg, NULL, 10);
			break;
		default: usage();
		}
	}
	if (optind != argc || !t->relay || !t->a.conf || !t->b.conf ||
	    !t->a.port || !t->b.port || !t->a.ca || !t->b.ca ||
	    !t->a.domain || !t->b.domain || !t->a.codes || !t->b.codes ||
	    t->pairs == 0 || t->window == 0 || t->rate < 0 ||
	    t->backlog == 0 || t->drain_s <= 0 ||
	    t->body_len == 0 || t->body_len > SP_PLAINTEXT_MAX / 2 ||
	    t->min_gap > t->max_gap || (t->max_cycles == 0 &&
	    t->seconds <= 0))
		usage();
}

static void
setup(struct torture *t)
{
	size_t i;

	if ((t->base = event_base_new()) == NULL)
		die("event_base_new failed");
	t->a.ctx = lg_client_ctx(t->a.ca);
	t->b.ctx = lg_client_ctx(t->b.ca);
	if ((t->a.restart = evtimer_new(t->base, restart_fire,
	    &t->a)) == NULL || (t->b.restart = evtimer_new(t->base,
	    restart_fire, &t->b)) == NULL ||
	    (t->tick = event_new(t->base, -1, EV_PERSIST, tick, t)) == NULL ||
	    (t->killer = evtimer_new(t->base, killer_fire, t)) == NULL ||
	    (t->enrol_timer = evtimer_new(t->base, enrol_timeout,
	    t)) == NULL ||
	    (t->sigchld = evsignal_new(t->base, SIGCHLD, on_sigchld,
	    t)) == NULL ||
	    (t->sigint = evsignal_new(t->base, SIGINT, on_stop_signal,
	    t)) == NULL ||
	    (t->sigterm = evsignal_new(t->base, SIGTERM, on_stop_signal,
	    t)) == NULL)
		die("out of memory");
	event_add(t->sigchld, NULL);
	event_add(t->sigint, NULL);
	event_add(t->sigterm, NULL);

	if ((t->body = malloc(t->body_len)) == NULL)
		die("out of memory");
	for (i = 0; i < t->body_len; i++)
		t->body[i] = (uint8_t)('a' + i % 26);

	t->codes_a = lg_read_codes(t->a.codes, t->pairs + t->nlocal);
	t->codes_b = lg_read_codes(t->b.codes, t->pairs);
	t->nrcv = t->pairs + t->nlocal;
	if ((t->snd = calloc(t->pairs, sizeof(*t->snd))) == NULL ||
	    (t->rcv = calloc(t->nrcv, sizeof(*t->rcv))) == NULL)
		die("out of memory");
	for (i = 0; i < t->pairs; i++) {
		t->snd[i].sender = 1;
		dev_init(t, &t->snd[i], &t->a, "sender", i, t->codes_a[i]);
		dev_init(t, &t->rcv[i], &t->b, "receiver", i,
		    t->codes_b[i]);
		t->rcv[i].rix = i;
	}
	for (i = 0; i < t->nlocal; i++) {
		dev_init(t, &t->rcv[t->pairs + i], &t->a, "local", i,
		    t->codes_a[t->pairs + i]);
		t->rcv[t->pairs + i].rix = t->pairs + i;
	}
}

static void
teardown(struct torture *t)
{
	size_t i;

	for (i = 0; i < t->pairs; i++)
		dev_free(&t->snd[i]);
	for (i = 0; i < t->nrcv; i++)
		dev_free(&t->rcv[i]);
	free(t->snd);
	free(t->rcv);
	lg_free_codes(t->codes_a);
	lg_free_codes(t->codes_b);
	for (i = 0; i < t->nrec; i++)
		sp_buf_free(&t->recs[i].env);
	free(t->recs);
	free(t->body);
	event_free(t->a.restart);
	event_free(t->b.restart);
	event_free(t->tick);
	event_free(t->killer);
	event_free(t->enrol_timer);
	event_free(t->sigchld);
	event_free(t->sigint);
	event_free(t->sigterm);
	SSL_CTX_free(t->a.ctx);
	SSL_CTX_free(t->b.ctx);
	event_base_free(t->base);
}

int
main(int argc, char **argv)
{
	static struct torture t;
	struct timeval tv = { ENROL_S, 0 };
	size_t i;
	int rc;

	t.a.t = t.b.t = &t;
	t.a.name = "A";
	t.b.name = "B";
	t.a.host = t.b.host = "127.0.0.1";
	t.pairs = 4;
	t.nlocal = 1;
	t.window = 64;
	t.body_len = 200;
	t.rate = 0;
	t.lifetime = 3600;
	t.max_cycles = 100;
	t.min_gap = 200;
	t.max_gap = 2000;
	t.drain_s = 30;
	t.backlog = 10000;
	t.quiet_s = 3;
	parse_args(&t, argc, argv);
	if (sodium_init() < 0)
		die("sodium_init failed");
	signal(SIGPIPE, SIG_IGN);

	setup(&t);
	the = &t;
	relay_start(&t.a);
	relay_start(&t.b);

	/* Enrol everything while nothing is killed; the run starts once
	 * the last device is ready (start_run). */
	for (i = 0; i < t.pairs; i++)
		dev_connect(&t.snd[i]);
	for (i = 0; i < t.nrcv; i++)
		dev_connect(&t.rcv[i]);
	evtimer_add(t.enrol_timer, &tv);
	event_base_dispatch(t.base);

	if (relay_stop(&t.a) == -1)
		t.stop_failed = 1;
	if (relay_stop(&t.b) == -1)
		t.stop_failed = 1;
	the = NULL;
	if (t.phase == PH_ENROL || t.t_start == 0)
		t.t_start = t.t_end;
	rc = report(&t);
	teardown(&t);
	return rc;
}
