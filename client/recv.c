/*
 * recv.c - the recv command: fetch, open, verify, print, acknowledge.
 *
 * Messages are printed in the order the relay delivered them.  A
 * message waits in the queue until its sender's devices are known
 * (one lookup per sender and run); only then is it printed, and only
 * once the output is flushed and its id recorded as seen is it
 * acknowledged, so a crash before that point leaves it in the mailbox,
 * and a crash after it (before the relay committed the ack) brings it
 * back only to be acknowledged again, not shown.
 *
 * Everything a sender chose reaches the terminal escaped or indented
 * (print_human), so no message can pass for another's header.
 */
#include <sys/queue.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "address.h"
#include "client.h"
#include "envelope.h"
#include "net.h"
#include "seen.h"

#define RECV_SAVE_TRIES	1000	/* name-1 ... before giving up */
#define RECV_RECONNECT_MIN_MS	1000	/* session age to come back from */
#define RECV_WAIT_MAX		(86400 * 365)	/* --wait, seconds */

static const char recv_help[] =
"usage: sealpost [-i IDENTITY] recv [--wait SECONDS] [--count N] [--json]\n"
"                [--save-dir DIR]\n"
"\n"
"Fetch the messages waiting for this device, open them, check the sender's\n"
"key through the key directory, print them and acknowledge them (which\n"
"deletes them at the relay).  Takes everything queued, then keeps waiting\n"
"for new messages until SECONDS have passed since the start; with --count,\n"
"stops as soon as N messages came.  When none came it says \"no messages\"\n"
"on standard error.  A message shown before (its id is kept in the file\n"
"IDENTITY.seen) is acknowledged again but not shown twice.\n"
"\n"
"Human form, per message: a header line\n"
"    from=ADDR id=ID time=ISO8601 type=TYPE verified=yes|no\n"
"then the text with every line indented by two spaces.  Files (and text\n"
"that is not clean UTF-8) are saved instead, and a line \"saved PATH\"\n"
"follows the header.  In TYPE and PATH, bytes a terminal could act on\n"
"(and \\) are written as \\xHH.\n"
"\n"
"JSON form (--json), per message one object on one line, in ASCII:\n"
"    id        the envelope id, 32 hex digits\n"
"    from      the sender's address\n"
"    fdev      the sender's device id\n"
"    time      when it was sent, ISO 8601 UTC\n"
"    type      the content type\n"
"    name      the file name the sender gave, \"\" for a text\n"
"    text      the text, when it was printed\n"
"    file      instead of text: the path it was saved under\n"
"    verified  true when the key directory lists the sender's key\n"
"\n"
"  -w, --wait SECONDS   how long to wait in all (default 0: take what is\n"
"                       queued and stop)\n"
"  -n, --count N        stop after N messages; exit 4 if fewer came\n"
"                       (0, the default: no limit)\n"
"  -j, --json           the JSON form\n"
"  -d, --save-dir DIR   where files are saved (default: current directory)\n"
"  -i, --identity FILE  the identity file\n"
"  -h, --help           show this help\n";

struct sender {
	SLIST_ENTRY(sender)	 entry;
	char			 addr[SP_ADDR_MAX + 1];
	int64_t			 rid;	/* lookup in flight; 0 answered */
	size_t			 ndevs;
	struct sp_device_keys	 devs[SP_DEVICES_MAX];
};

struct message {
	TAILQ_ENTRY(message)	 entry;
	uint64_t		 seq;
	uint8_t			*raw;	/* the envelope; env.box in here */
	struct sp_envelope	 env;
	struct sp_content	 c;
	struct sp_buf		 plain;	/* c.body points in here */
	struct sender		*from;
};

struct recv {
	struct identity		 id;
	struct conn		 conn;
	uint64_t		 count;		/* 0: no limit */
	int64_t			 wait_until;	/* net_now_ms */
	struct seen		*seen;		/* NULL: none this run */
	int			 json;
	const char		*save_dir;
	int			 dirfd;

	TAILQ_HEAD(, message)	 queue;		/* waiting for a lookup */
	SLIST_HEAD(, sender)	 senders;
	int64_t			 fetch_rid;
	int			 fetched;
	uint64_t		 taken;		/* deliveries accepted */
	uint64_t		 done;		/* printed or discarded */
	uint64_t		 repeats;	/* shown before */
	uint64_t		 failed;
	uint64_t		 acks;		/* acks awaiting "ok" */
	int			 refused;
	int			 stopping;	/* take nothing new */
	int64_t			 connected;	/* when, net_now_ms */
};

/*
 * Would another delivery be taken?  Everything that was queued, and new
 * arrivals until the wait is over, up to --count.
 */
static int
recv_wants(const struct recv *r)
{
	if (r->stopping)
		return 0;
	if (r->count)
		return r->taken < r->count;
	return !r->fetched || net_now_ms() < r->wait_until;
}

/* Without --count only the end of the wait ends the run. */
static int
recv_finished(const struct recv *r)
{
	return r->count && r->done >= r->count;
}

/* Is the relay due to answer something we asked? */
static int
recv_expecting(const struct recv *r)
{
	return !r->fetched || !TAILQ_EMPTY(&r->queue);
}

static void
message_free(struct message *m)
{
	sp_buf_free(&m->plain);
	free(m->raw);
	sodium_memzero(m, sizeof(*m));
	free(m);
}

static int
recv_ack(struct recv *r, uint64_t seq)
{
	int64_t	 rid;

	if ((rid = sp_session_ack(r->conn.s, seq)) < 0) {
		client_warnx("cannot acknowledge: %s", sp_strerror((int)rid));
		return -EXIT_LOCAL;
	}
	r->acks++;
	return 0;
}

/*
 * A delivery that can never be read: say so and acknowledge it anyway,
 * since keeping it would block the mailbox for good.
 */
static int
recv_discard(struct recv *r, struct message *m, const char *why)
{
	char		 hex[SP_ID_LEN * 2 + 1] = "?";
	uint64_t	 seq = m->seq;

	if (!sodium_is_zero(m->env.id, SP_ID_LEN))
		sodium_bin2hex(hex, sizeof(hex), m->env.id, SP_ID_LEN);
	client_warnx("warning: message seq=%llu id=%s discarded: %s",
	    (unsigned long long)seq, hex, why);
	r->failed++;
	r->done++;
	message_free(m);
	return recv_ack(r, seq);
}

/* Shown already (its ack was lost) or about to be: acknowledge it, as
 * the relay still holds it, but show it only once. */
static int
recv_repeat(struct recv *r, const struct message *m)
{
	const struct message	*q;

	if (r->seen != NULL && seen_has(r->seen, m->env.id))
		return 1;
	TAILQ_FOREACH(q, &r->queue, entry)
		if (memcmp(q->env.id, m->env.id, SP_ID_LEN) == 0)
			return 1;
	return 0;
}

/* Remember that m was shown; a store that fails costs only the
 * protection against repeats, so it is reported once and no more. */
static void
recv_remember(struct recv *r, const struct message *m)
{
	char	 err[PATH_MAX + 128];

	if (r->seen == NULL)
		return;
	if (seen_add(r->seen, m->env.id, m->env.exp, (uint64_t)time(NULL),
	    err, sizeof(err)) == -1) {
		client_warnx("warning: %s; a message whose acknowledgement "
		    "is lost may be shown again", err);
		seen_close(r->seen);
		r->seen = NULL;
	}
}

static struct sender *
sender_get(struct recv *r, const char *addr)
{
	struct sender	*s;

	SLIST_FOREACH(s, &r->senders, entry)
		if (strcmp(s->addr, addr) == 0)
			return s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	strcpy(s->addr, addr);
	if ((s->rid = sp_session_lookup(r->conn.s, addr)) < 0)
		s->rid = 0;	/* unverifiable, but still readable */
	SLIST_INSERT_HEAD(&r->senders, s, entry);
	return s;
}

/* The seal's key must be the one the directory lists for its sender's
 * device, and the sender must belong to the handing-over organisation. */
static int
message_verified(const struct message *m)
{
	const struct sender	*s = m->from;
	size_t			 i;

	if (strcmp(sp_addr_domain(m->c.from), m->env.org) != 0)
		return 0;
	for (i = 0; i < s->ndevs; i++)
		if (s->devs[i].dev == m->c.fdev &&
		    sodium_memcmp(s->devs[i].spk, m->c.spk,
		    SP_SIGN_PK_LEN) == 0)
			return 1;
	return 0;
}

/* Valid UTF-8 (no overlong forms, surrogates or values past U+10FFFF)
 * without control characters other than newline and tab. */
static int
clean_text(const uint8_t *p, size_t len)
{
	size_t		 i = 0, n, k;
	uint32_t	 cp;

	while (i < len) {
		if (p[i] < 0x80) {
			if ((p[i] < 0x20 && p[i] != '\n' && p[i] != '\t') ||
			    p[i] == 0x7f)
				return 0;
			i++;
			continue;
		}
		if (p[i] >= 0xc2 && p[i] <= 0xdf) {
			n = 1;
			cp = p[i] & 0x1f;
		} else if ((p[i] & 0xf0) == 0xe0) {
			n = 2;
			cp = p[i] & 0x0f;
		} else if (p[i] >= 0xf0 && p[i] <= 0xf4) {
			n = 3;
			cp = p[i] & 0x07;
		} else
			return 0;
		if (len - i <= n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff ||
		    (cp >= 0x80 && cp <= 0x9f))
			return 0;
		i += n + 1;
	}
	return 1;
}

static int
name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("._-+", c) != NULL);
}

/* A harmless local file name: no path, no hidden file, plain bytes,
 * and no leading '-' that a later command line would take for an
 * option. */
static void
safe_name(const struct message *m, char *out, size_t outlen)
{
	const char	*s = m->c.name;
	char		 hex[SP_ID_LEN * 2 + 1];
	size_t		 i = 0;

	while (*s == '.')
		s++;
	if (*s == '-')
		out[i++] = '_';
	for (; *s != '\0' && i + 1 < outlen && i < 200; s++)
		out[i++] = name_char(*s) ? *s : '_';
	out[i] = '\0';
	if (i == 0) {
		sodium_bin2hex(hex, sizeof(hex), m->env.id, SP_ID_LEN);
		snprintf(out, outlen, "message-%s", hex);
	}
}

/* Create a new file for name in the save directory: never overwrite,
 * "report.pdf" becomes "report-1.pdf" and so on. */
static int
save_open(struct recv *r, const char *name, char *path, size_t pathlen)
{
	char		 try[300];
	const char	*dot;
	int		 fd, i, stem;

	dot = strrchr(name, '.');
	stem = dot != NULL && dot != name ? (int)(dot - name) :
	    (int)strlen(name);
	for (i = 0; i < RECV_SAVE_TRIES; i++) {
		if (i == 0)
			snprintf(try, sizeof(try), "%s", name);
		else
			snprintf(try, sizeof(try), "%.*s-%d%s", stem, name,
			    i, name + stem);
		/* 0600: what arrives sealed stays private on disk too. */
		fd = openat(r->dirfd, try, O_WRONLY | O_CREAT | O_EXCL |
		    O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd != -1) {
			snprintf(path, pathlen, "%s/%s", r->save_dir, try);
			return fd;
		}
		if (errno != EEXIST)
			break;
	}
	client_warnx("%s/%s: cannot create: %s", r->save_dir, name,
	    i == RECV_SAVE_TRIES ? "too many files of that name" :
	    strerror(errno));
	return -1;
}

static int
save_file(struct recv *r, const struct message *m, char *path,
    size_t pathlen)
{
	char		 name[256];
	const uint8_t	*p = m->c.body;
	size_t		 left = m->c.body_len;
	ssize_t		 n;
	int		 fd;

	safe_name(m, name, sizeof(name));
	if ((fd = save_open(r, name, path, pathlen)) == -1)
		return -1;
	while (left > 0) {
		if ((n = write(fd, p, left)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		p += n;
		left -= (size_t)n;
	}
	/* Durable before the ack deletes the relay's copy. */
	if (left > 0 || fsync(fd) == -1) {
		client_warnx("%s: %s", path, strerror(errno));
		close(fd);
		unlinkat(r->dirfd, strrchr(path, '/') + 1, 0);
		return -1;
	}
	close(fd);
	return 0;
}

static int
print_json(const struct message *m, const char *id, const char *when,
    int verified, const char *file)
{
	json_t	*o;
	char	*line;
	int	 rc = -1;

	o = json_object();
	json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "from", json_string(m->c.from));
	json_object_set_new(o, "fdev", json_integer(m->c.fdev));
	json_object_set_new(o, "time", json_string(when));
	json_object_set_new(o, "type", json_string(m->c.type));
	json_object_set_new(o, "name", json_string(m->c.name));
	if (file != NULL)
		json_object_set_new(o, "file", json_string(file));
	else
		json_object_set_new(o, "text", json_stringn((const char *)
		    m->c.body, m->c.body_len));
	json_object_set_new(o, "verified", json_boolean(verified));

	/* ASCII only: a name's bidirectional or C1 controls reach the
	 * terminal as \u escapes, not as themselves. */
	if ((line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER |
	    JSON_ENSURE_ASCII)) != NULL) {
		rc = printf("%s\n", line) < 0 ? -1 : 0;
		sodium_memzero(line, strlen(line));
		free(line);
	}
	json_decref(o);
	return rc;
}

/*
 * Print s with every byte below lo, DEL, every byte above 0x7e when hi
 * is set, and the backslash as \xHH: nothing in it can then end the
 * line, move the cursor or, with lo 0x21, end the field.
 */
static int
print_escaped(const char *s, int lo, int hi)
{
	unsigned char	 c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (c < lo || c == 0x7f || (hi && c > 0x7e) || c == '\\') {
			if (printf("\\x%02x", c) < 0)
				return -1;
		} else if (putchar(c) == EOF)
			return -1;
	}
	return 0;
}

/* The text, every line indented by two spaces so that none can pass for
 * a header.  clean_text() let no control character through but tab and
 * newline; a final newline ends the last line. */
static int
print_body(const uint8_t *b, size_t len)
{
	const uint8_t	*nl;
	size_t		 n;

	while (len > 0) {
		nl = memchr(b, '\n', len);
		n = nl != NULL ? (size_t)(nl - b) : len;
		if (fputs("  ", stdout) == EOF ||
		    fwrite(b, 1, n, stdout) != n || putchar('\n') == EOF)
			return -1;
		if (nl == NULL)
			break;
		b += n + 1;
		len -= n + 1;
	}
	return 0;
}

static int
print_human(const struct message *m, const char *id, const char *when,
    int verified, const char *file)
{
	/* The address is canonical (letters, digits, . _ - @) and the
	 * id and time are ours; only the type needs escaping. */
	if (printf("from=%s id=%s time=%s type=", m->c.from, id, when) < 0 ||
	    print_escaped(m->c.type, 0x21, 1) == -1 ||
	    printf(" verified=%s\n", verified ? "yes" : "no") < 0)
		return -1;
	if (file != NULL)
		return fputs("saved ", stdout) == EOF ||
		    print_escaped(file, 0x20, 0) == -1 ||
		    putchar('\n') == EOF ? -1 : 0;
	return print_body(m->c.body, m->c.body_len);
}

/* Print (or save) one opened message, then acknowledge it. */
static int
message_output(struct recv *r, struct message *m)
{
	char		 id[SP_ID_LEN * 2 + 1], when[32], path[PATH_MAX];
	const char	*file = NULL;
	struct tm	 tm;
	time_t		 t = (time_t)m->env.ts;
	int		 verified, rc;

	sodium_bin2hex(id, sizeof(id), m->env.id, SP_ID_LEN);
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		strcpy(when, "?");
	verified = message_verified(m);

	if (strncmp(m->c.type, "text/", 5) != 0 || m->c.name[0] != '\0' ||
	    !clean_text(m->c.body, m->c.body_len)) {
		if (save_file(r, m, path, sizeof(path)) == -1)
			return -EXIT_LOCAL;
		file = path;
	}

	rc = r->json ? print_json(m, id, when, verified, file) :
	    print_human(m, id, when, verified, file);
	if (rc == -1 || fflush(stdout) == EOF || ferror(stdout)) {
		client_warnx("stdout: %s", strerror(errno));
		return -EXIT_LOCAL;
	}
	recv_remember(r, m);
	r->done++;
	return recv_ack(r, m->seq);
}

/* Output every message at the head of the queue whose sender is known. */
static int
recv_flush(struct recv *r)
{
	struct message	*m;
	int		 rc;

	while ((m = TAILQ_FIRST(&r->queue)) != NULL && m->from->rid == 0) {
		TAILQ_REMOVE(&r->queue, m, entry);
		rc = message_output(r, m);
		message_free(m);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int
recv_deliver(struct recv *r, const struct sp_event *ev)
{
	struct message	*m;
	int		 rc;

	if (!recv_wants(r))
		return 0;	/* stays in the mailbox for next time */
	r->taken++;

	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->raw = malloc(ev->env_len)) == NULL) {
		free(m);
		client_warnx("out of memory");
		return -EXIT_LOCAL;
	}
	m->seq = ev->seq;
	memcpy(m->raw, ev->env, ev->env_len);

	if ((rc = sp_env_decode(&m->env, m->raw, ev->env_len)) != SP_OK) {
		memset(&m->env, 0, sizeof(m->env));
		return recv_discard(r, m, sp_strerror(rc));
	}
	if (strcmp(m->env.to, r->id.keys.addr) != 0 ||
	    m->env.dev != r->id.keys.dev)
		return recv_discard(r, m, "not addressed to this device");
	if ((rc = sp_env_open(&m->env, r->id.keys.bpk, r->id.keys.bsk, &m->c,
	    &m->plain)) != SP_OK)
		return recv_discard(r, m, sp_strerror(rc));
	if (recv_repeat(r, m)) {
		/* Not a new message: room for one more under --count. */
		r->taken--;
		r->repeats++;
		message_free(m);
		return recv_ack(r, ev->seq);
	}

	if ((m->from = sender_get(r, m->c.from)) == NULL) {
		message_free(m);
		client_warnx("out of memory");
		return -EXIT_LOCAL;
	}
	TAILQ_INSERT_TAIL(&r->queue, m, entry);
	return recv_flush(r);
}

static int
recv_keys(struct recv *r, const struct sp_event *ev)
{
	struct sender	*s;

	SLIST_FOREACH(s, &r->senders, entry) {
		if (s->rid != ev->rid)
			continue;
		s->rid = 0;
		if (ev->type == SP_EV_KEYS) {
			s->ndevs = ev->ndevs;
			memcpy(s->devs, ev->devs,
			    ev->ndevs * sizeof(*ev->devs));
		} else
			client_warnx("warning: cannot look up %s: %s: %s",
			    s->addr, sp_wire_error_name(ev->err),
			    ev->text != NULL ? ev->text : "");
		return recv_flush(r);
	}
	return 1;	/* not a lookup of ours */
}

static int
recv_event(struct recv *r, const struct sp_event *ev)
{
	int	 rc;

	switch (ev->type) {
	case SP_EV_DELIVER:
		return recv_deliver(r, ev);
	case SP_EV_FETCHED:
		r->fetched = 1;
		return 0;
	case SP_EV_KEYS:
		rc = recv_keys(r, ev);
		return rc < 0 ? rc : 0;
	case SP_EV_OK:
		if (r->acks > 0)
			r->acks--;
		return 0;
	case SP_EV_ERROR:
		if ((rc = recv_keys(r, ev)) <= 0)
			return rc;
		if (ev->rid == r->fetch_rid)
			return -conn_refused(ev);
		/* A refused ack: the message comes again next time. */
		conn_refused(ev);
		r->refused = 1;
		if (r->acks > 0)
			r->acks--;
		return 0;
	default:
		return 0;
	}
}

static int
recv_fetch(struct recv *r)
{
	r->fetched = 0;
	r->connected = net_now_ms();
	if ((r->fetch_rid = sp_session_fetch(r->conn.s)) < 0) {
		client_warnx("cannot fetch: %s",
		    sp_strerror((int)r->fetch_rid));
		return EXIT_LOCAL;
	}
	return EXIT_OK;
}

/*
 * The relay closed the session while we only waited for new mail, as
 * a relay does with sessions silent for longer than its idle timeout:
 * come back and fetch again.  Nothing is lost or repeated, since no
 * message or ack was in flight.  A relay that closes at once is not
 * retried.
 */
static int
recv_reconnect(struct recv *r)
{
	int	 rc;

	if (net_now_ms() - r->connected < RECV_RECONNECT_MIN_MS) {
		client_warnx("%s", r->conn.lost);
		return EXIT_NET;
	}
	conn_close(&r->conn);
	if ((rc = conn_open(&r->conn, &r->id, NULL)) != EXIT_OK)
		return rc;
	return recv_fetch(r);
}

/* Fetch and handle events until done, then wait for the acks' "ok". */
static int
recv_run(struct recv *r)
{
	struct sp_event	 ev;
	int64_t		 deadline;
	int		 expecting, rc;

	if ((rc = recv_fetch(r)) != EXIT_OK)
		return rc;

	for (;;) {
		if (recv_finished(r))
			r->stopping = 1;
		if (r->stopping && r->acks == 0)
			return EXIT_OK;

		/* --wait bounds only the wait for new arrivals; answers
		 * to our own requests get the usual time. */
		expecting = r->stopping || recv_expecting(r);
		deadline = expecting ? net_now_ms() + CLIENT_IO_TIMEOUT_MS :
		    r->wait_until;
		r->conn.quiet = !expecting && r->acks == 0;
		rc = conn_wait(&r->conn, &ev, deadline);
		if (rc == -EXIT_NET && r->conn.quiet) {
			if ((rc = recv_reconnect(r)) != EXIT_OK)
				return rc;
			continue;
		}
		if (rc < 0)
			return -rc;
		if (rc == 0 && expecting) {
			client_warnx("%s: no answer from the relay",
			    r->conn.where);
			return EXIT_NET;
		}
		if (rc == 0)
			r->stopping = 1;
		else if ((rc = recv_event(r, &ev)) < 0)
			return -rc;
	}
}

static int
recv_exit(const struct recv *r, int rc)
{
	if (r->repeats == 1)
		client_warnx("a message shown before came again: "
		    "acknowledged, not shown");
	else if (r->repeats > 1)
		client_warnx("%llu messages shown before came again: "
		    "acknowledged, not shown", (unsigned long long)r->repeats);
	if (rc != EXIT_OK)
		return rc;
	if (r->refused)
		return EXIT_REFUSED;
	if (r->failed)
		return EXIT_LOCAL;
	if (r->count && r->done < r->count) {
		client_warnx("%llu of %llu messages came",
		    (unsigned long long)r->done,
		    (unsigned long long)r->count);
		return EXIT_SHORT;
	}
	/* On stderr: stdout holds messages and nothing else. */
	if (r->done == 0)
		client_warnx("no messages");
	return EXIT_OK;
}

/* The store of ids shown before; without it recv still works. */
static void
recv_open_seen(struct recv *r)
{
	char	 err[PATH_MAX + 128];

	if (seen_open(&r->seen, r->id.path, (uint64_t)time(NULL), err,
	    sizeof(err)) == -1)
		client_warnx("warning: %s; a message whose acknowledgement "
		    "is lost may be shown again", err);
}

static void
recv_free(struct recv *r)
{
	struct message	*m;
	struct sender	*s;

	while ((m = TAILQ_FIRST(&r->queue)) != NULL) {
		TAILQ_REMOVE(&r->queue, m, entry);
		message_free(m);
	}
	while ((s = SLIST_FIRST(&r->senders)) != NULL) {
		SLIST_REMOVE_HEAD(&r->senders, entry);
		free(s);
	}
	if (r->dirfd != -1)
		close(r->dirfd);
	seen_close(r->seen);
	conn_close(&r->conn);
	identity_wipe(&r->id);
}

int
cmd_recv(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "wait",	required_argument,	NULL, 'w' },
		{ "count",	required_argument,	NULL, 'n' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "save-dir",	required_argument,	NULL, 'd' },
		{ "identity",	required_argument,	NULL, 'i' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	struct recv	 r;
	uint64_t	 wait = 0;
	int64_t		 start;
	int		 ch, rc;

	memset(&r, 0, sizeof(r));
	r.save_dir = ".";
	r.dirfd = -1;
	TAILQ_INIT(&r.queue);
	SLIST_INIT(&r.senders);
	start = net_now_ms();

	while ((ch = getopt_long(argc, argv, ":w:n:jd:i:h", opts,
	    NULL)) != -1) {
		switch (ch) {
		case 'w':
			if (cmd_number(optarg, 0, RECV_WAIT_MAX, &wait) == -1)
				return cmd_misuse(recv_help, "--wait: %s: not "
				    "0 to %d seconds", optarg, RECV_WAIT_MAX);
			break;
		case 'n':
			if (cmd_number(optarg, 0, UINT32_MAX, &r.count) == -1)
				return cmd_misuse(recv_help, "--count: %s: not "
				    "0 to %u", optarg, UINT32_MAX);
			break;
		case 'j':
			r.json = 1;
			break;
		case 'd':
			r.save_dir = optarg;
			break;
		case 'i':
			client_identity_opt = optarg;
			break;
		case 'h':
			return cmd_usage(recv_help, 1);
		default:
			return cmd_badopt(recv_help, ch, argv);
		}
	}
	if (optind != argc)
		return cmd_misuse(recv_help, "recv takes no argument (got %s)",
		    argv[optind]);
	r.wait_until = start + (int64_t)wait * 1000;

	if ((r.dirfd = open(r.save_dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1) {
		client_warnx("%s: %s", r.save_dir, strerror(errno));
		return EXIT_LOCAL;
	}
	if ((rc = cmd_connect(&r.id, &r.conn)) == EXIT_OK) {
		recv_open_seen(&r);
		rc = recv_run(&r);
	}
	rc = recv_exit(&r, rc);
	recv_free(&r);
	return rc;
}
