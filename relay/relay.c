/*
 * relay.c - the running relay: listeners, sessions, federation.
 */
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h>		/* malloc_trim */
#endif

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <sodium.h>

#include "../protocol/buf.h"
#include "client.h"
#include "config.h"
#include "conn.h"
#include "fedin.h"
#include "fedout.h"
#include "log.h"
#include "relay.h"
#include "relay_int.h"
#include "store.h"
#include "tls.h"

/* How long the listeners pause after accept(2) failed (EMFILE...). */
#define RELAY_ACCEPT_PAUSE	1

/* Connections queued by the kernel before we accept them: a burst of
 * hostile connects must not crowd out the devices' own. */
#define RELAY_BACKLOG		1024

/* Descriptors kept back from sessions: store, listeners, log, peers'
 * connections, a file or two. */
#define RELAY_FD_RESERVE	64

/* Seconds between sweeps of the address table and summary lines. */
#define RELAY_SWEEP		10

/* Lines about single connections: so many per second, so many at once. */
#define RELAY_LOG_RATE		10
#define RELAY_LOG_BURST		50

/* What the address table keys on: family, then the address (IPv6: the
 * /64 a single host is usually given). */
#define RELAY_ADDR_KEY		9
#define RELAY_ADDR_BUCKETS	256

struct relay_addr {
	struct relay_addr	*next;		/* hash chain */
	uint64_t		 hash;
	uint8_t			 key[RELAY_ADDR_KEY];
	int			 warned;	/* said so this sweep period */
	size_t			 nconns;	/* open connections */
	double			 tokens;	/* new connections allowed */
	double			 stamp;		/* when tokens was right */
};

static struct evconnlistener *relay_listen(struct relay *,
		    const struct config_listener *, evconnlistener_cb);
static void	relay_nofile(struct relay *);
static int	relay_admit(struct relay *, const struct sockaddr *,
		    size_t, const char *, const char *);
static void	relay_refuse(evutil_socket_t);
static void	relay_sweep(evutil_socket_t, short, void *);
static void	relay_addr_free_all(struct relay *);
static void	relay_accept_client(struct evconnlistener *,
		    evutil_socket_t, struct sockaddr *, int, void *);
static void	relay_accept_fed(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	relay_accept_error(struct evconnlistener *, void *);
static void	relay_accept_resume(evutil_socket_t, short, void *);
static void	relay_committed(int, void *);
static const char *relay_sockname(char *, size_t, const struct sockaddr *);

struct relay *
relay_new(struct event_base *base, const struct config *cfg,
    struct store *st)
{
	struct relay	*r;
	struct timeval	 sweep = { RELAY_SWEEP, 0 };
	size_t		 i, n;
	char		 err[512];

	/* A peer that resets the connection must not kill the daemon
	 * through a write. */
	signal(SIGPIPE, SIG_IGN);

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_error("relay", "out of memory");
		return NULL;
	}
	r->base = base;
	r->cfg = cfg;
	r->st = st;
	TAILQ_INIT(&r->clients);
	TAILQ_INIT(&r->fedins);
	TAILQ_INIT(&r->hs_wait);
	for (i = 0; i < RELAY_DEV_BUCKETS; i++)
		TAILQ_INIT(&r->bydev[i]);

	if ((r->scratch = calloc(1, sizeof(*r->scratch))) == NULL ||
	    (r->fedouts = calloc(cfg->npeers + 1, sizeof(*r->fedouts))) ==
	    NULL || (r->peer_touched = calloc(cfg->npeers + 1, 1)) == NULL ||
	    (r->lst_retry = evtimer_new(base, relay_accept_resume, r)) ==
	    NULL || (r->addrs = calloc(RELAY_ADDR_BUCKETS,
	    sizeof(*r->addrs))) == NULL ||
	    (r->sweep = event_new(base, -1, EV_PERSIST, relay_sweep, r)) ==
	    NULL) {
		log_error("relay", "out of memory");
		goto fail;
	}
	r->addr_buckets = RELAY_ADDR_BUCKETS;
	randombytes_buf(r->addr_key, sizeof(r->addr_key));
	r->log_tokens = RELAY_LOG_BURST;
	r->log_stamp = relay_mono();
	relay_nofile(r);
	event_add(r->sweep, &sweep);

	if (tls_check_identity(cfg->tls_cert, cfg->tls_key, cfg->domain,
	    err, sizeof(err)) == -1 ||
	    (r->trust = tls_trust_new(cfg, err, sizeof(err))) == NULL ||
	    (r->client_ctx = tls_client_listener_ctx(cfg->tls_cert,
	    cfg->tls_key, err, sizeof(err))) == NULL ||
	    (r->fed_ctx = tls_fed_listener_ctx(cfg->tls_cert, cfg->tls_key,
	    r->trust, err, sizeof(err))) == NULL) {
		log_error("relay", "tls: %s", err);
		goto fail;
	}

	if ((r->client_lst = relay_listen(r, &cfg->client,
	    relay_accept_client)) == NULL ||
	    (r->fed_lst = relay_listen(r, &cfg->federation,
	    relay_accept_fed)) == NULL)
		goto fail;

	for (i = 0; i < cfg->npeers; i++)
		if ((r->fedouts[i] = fedout_new(r, &cfg->peers[i])) == NULL)
			goto fail;

	/* Whatever was queued before a restart goes out now. */
	for (i = 0; i < cfg->npeers; i++) {
		n = 0;
		if (store_outbound_count(st, cfg->peers[i].domain, &n) !=
		    STORE_OK)
			log_warn("relay", "queue of %s: %s",
			    cfg->peers[i].domain, store_strerror(st));
		if (n > 0) {
			log_info("relay", "%zu envelope%s queued for %s", n,
			    n == 1 ? "" : "s", cfg->peers[i].domain);
			fedout_kick(r->fedouts[i]);
		}
	}

	log_info("relay", "limits max_connections=%u max_per_address=%u "
	    "accept_rate=%u accept_burst=%u handshake_timeout=%u "
	    "auth_timeout=%u frame_timeout=%u idle_timeout=%u msg_rate=%u "
	    "msg_burst=%u", cfg->client_max_connections,
	    cfg->client_max_per_address, cfg->client_accept_rate,
	    cfg->client_accept_burst, cfg->client_handshake_timeout,
	    cfg->client_auth_timeout, cfg->client_frame_timeout,
	    cfg->client_idle_timeout, cfg->client_msg_rate,
	    cfg->client_msg_burst);
	log_info("relay", "ready domain=%s client=%s:%u federation=%s:%u "
	    "peers=%zu", cfg->domain, cfg->client.host, cfg->client.port,
	    cfg->federation.host, cfg->federation.port, cfg->npeers);
	return r;

 fail:
	relay_free(r);
	return NULL;
}

void
relay_free(struct relay *r)
{
	size_t	i;

	if (r == NULL)
		return;

	/* Stop accepting first, then end every session. */
	if (r->client_lst != NULL)
		evconnlistener_free(r->client_lst);
	if (r->fed_lst != NULL)
		evconnlistener_free(r->fed_lst);
	while (!TAILQ_EMPTY(&r->clients))
		client_free(TAILQ_FIRST(&r->clients));
	while (!TAILQ_EMPTY(&r->fedins))
		fedin_free(TAILQ_FIRST(&r->fedins));
	if (r->fedouts != NULL)
		for (i = 0; i < r->cfg->npeers; i++)
			fedout_free(r->fedouts[i]);

	/* Nobody is left to answer; what was written still becomes
	 * durable (a sender that got no answer retries, and the
	 * duplicate index keeps that harmless). */
	store_forget(r->st, r);
	store_commit(r->st);

	if (r->lst_retry != NULL)
		event_free(r->lst_retry);
	if (r->sweep != NULL)
		event_free(r->sweep);
	if (r->hs_turn != NULL)
		event_free(r->hs_turn);
	relay_addr_free_all(r);
	SSL_CTX_free(r->client_ctx);
	SSL_CTX_free(r->fed_ctx);
	tls_trust_free(r->trust);
	if (r->scratch != NULL)
		sp_buf_free(r->scratch);
	free(r->scratch);
	free(r->fedouts);
	free(r->peer_touched);
	free(r->touched);
	free(r);
}

uint64_t
relay_now(void)
{
	return (uint64_t)time(NULL);
}

double
relay_now_real(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double
relay_mono(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double
relay_jitter(unsigned seconds)
{
	return seconds - seconds / 8.0 * randombytes_uniform(1000) / 1000;
}

int
relay_log_ok(struct relay *r)
{
	double	now = relay_mono();

	r->log_tokens += (now - r->log_stamp) * RELAY_LOG_RATE;
	if (r->log_tokens > RELAY_LOG_BURST)
		r->log_tokens = RELAY_LOG_BURST;
	r->log_stamp = now;
	if (r->log_tokens < 1) {
		r->stats.held_back++;
		return 0;
	}
	r->log_tokens -= 1;
	return 1;
}

/*
 * Raise the soft limit on open files as far as the hard one allows:
 * every connection is a descriptor, and running out makes accept(2)
 * fail for everyone.  What is left after a reserve bounds the sessions.
 */
static void
relay_nofile(struct relay *r)
{
	struct rlimit	rl;
	rlim_t		was, want;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warn("relay", "getrlimit: %s", strerror(errno));
		r->fd_budget = SIZE_MAX;
		return;
	}
	was = rl.rlim_cur;

	/* "Unlimited" is not a value the kernel takes for this one. */
	want = rl.rlim_max;
	if (want == RLIM_INFINITY || want > 1048576)
		want = 1048576;
	if (want > rl.rlim_cur) {
		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
			log_warn("relay", "cannot raise the open files limit "
			    "to %llu: %s", (unsigned long long)want,
			    strerror(errno));
			rl.rlim_cur = was;
		}
	}
	log_info("relay", "open files limit=%llu was=%llu hard=%llu",
	    (unsigned long long)rl.rlim_cur, (unsigned long long)was,
	    (unsigned long long)rl.rlim_max);

	r->fd_budget = rl.rlim_cur > RELAY_FD_RESERVE + r->cfg->npeers ?
	    rl.rlim_cur - RELAY_FD_RESERVE - r->cfg->npeers : 1;
	if (r->fd_budget < r->cfg->client_max_connections)
		log_warn("relay", "the open files limit allows about %zu "
		    "connections, below client.max_connections=%u: raise "
		    "the hard limit (systemd: LimitNOFILE=)", r->fd_budget,
		    r->cfg->client_max_connections);
}

/* Table key and hash of a peer's address: 0, or -1 if it is no IP
 * address (the listeners take nothing else). */
static int
relay_addr_key(struct relay *r, const struct sockaddr *sa,
    uint8_t key[RELAY_ADDR_KEY], uint64_t *hash)
{
	const struct sockaddr_in6	*s6;
	const uint8_t			*a6;
	static const uint8_t		 mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	unsigned char			 h[crypto_shorthash_BYTES];

	memset(key, 0, RELAY_ADDR_KEY);
	if (sa->sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1,
		    &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		s6 = (const struct sockaddr_in6 *)sa;
		a6 = s6->sin6_addr.s6_addr;
		if (memcmp(a6, mapped, sizeof(mapped)) == 0) {
			key[0] = 4;
			memcpy(key + 1, a6 + 12, 4);
		} else {
			key[0] = 6;
			memcpy(key + 1, a6, 8);
		}
	} else
		return -1;

	crypto_shorthash(h, key, RELAY_ADDR_KEY, r->addr_key);
	memcpy(hash, h, sizeof(*hash));
	return 0;
}

/* Double the table once chains grow long; on failure keep the old. */
static void
relay_addr_grow(struct relay *r)
{
	struct relay_addr	**t, *a, *next;
	size_t			  i, n = r->addr_buckets * 2;

	if ((t = calloc(n, sizeof(*t))) == NULL)
		return;
	for (i = 0; i < r->addr_buckets; i++)
		for (a = r->addrs[i]; a != NULL; a = next) {
			next = a->next;
			a->next = t[a->hash & (n - 1)];
			t[a->hash & (n - 1)] = a;
		}
	free(r->addrs);
	r->addrs = t;
	r->addr_buckets = n;
}

/* The entry of sa's address, made if new; NULL if out of memory. */
static struct relay_addr *
relay_addr_get(struct relay *r, const struct sockaddr *sa)
{
	struct relay_addr	*a;
	uint8_t			 key[RELAY_ADDR_KEY];
	uint64_t		 hash;
	size_t			 b;

	if (relay_addr_key(r, sa, key, &hash) == -1)
		return NULL;
	b = hash & (r->addr_buckets - 1);
	for (a = r->addrs[b]; a != NULL; a = a->next)
		if (a->hash == hash && memcmp(a->key, key, sizeof(key)) == 0)
			return a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->hash = hash;
	memcpy(a->key, key, sizeof(key));
	a->tokens = r->cfg->client_accept_burst;
	a->stamp = relay_mono();
	a->next = r->addrs[b];
	r->addrs[b] = a;
	if (++r->naddrs > 2 * r->addr_buckets)
		relay_addr_grow(r);
	return a;
}

struct relay_addr *
relay_addr_take(struct relay *r)
{
	struct relay_addr	*a = r->admitted;

	r->admitted = NULL;
	return a;
}

void
relay_addr_release(struct relay *r, struct relay_addr *a)
{
	/* The entry itself stays until the sweep finds it idle, so that
	 * closing and reconnecting does not refill the bucket. */
	if (a->nconns > 0)
		a->nconns--;
}

static void
relay_addr_free_all(struct relay *r)
{
	struct relay_addr	*a, *next;
	size_t			 i;

	if (r->addrs == NULL)
		return;
	for (i = 0; i < r->addr_buckets; i++)
		for (a = r->addrs[i]; a != NULL; a = next) {
			next = a->next;
			free(a);
		}
	free(r->addrs);
	r->addrs = NULL;
}

/*
 * May a new connection from sa (one of nopen on its listener) come in?
 * 1 with its per-address slot in r->admitted, or 0, counted and (within
 * the log budget) said, when a limit refuses it.
 */
static int
relay_admit(struct relay *r, const struct sockaddr *sa, size_t nopen,
    const char *subsys, const char *name)
{
	const struct config	*cfg = r->cfg;
	struct relay_addr	*a;
	double			 now;

	if (nopen >= cfg->client_max_connections ||
	    r->nclients + r->nfedins >= r->fd_budget) {
		r->stats.refused_global++;
		if (relay_log_ok(r))
			log_warn(subsys, "%s: refused: %zu connections "
			    "already", name, nopen);
		return 0;
	}

	if ((a = relay_addr_get(r, sa)) == NULL) {
		r->stats.refused_global++;
		if (relay_log_ok(r))
			log_warn(subsys, "%s: refused: cannot count its "
			    "address (out of memory)", name);
		return 0;
	}
	if (a->nconns >= cfg->client_max_per_address) {
		r->stats.refused_per_addr++;
		if (!a->warned && relay_log_ok(r))
			log_warn(subsys, "%s: refused: %zu connections from "
			    "this address already (max_per_address)", name,
			    a->nconns);
		a->warned = 1;
		return 0;
	}

	now = relay_mono();
	if (now > a->stamp)
		a->tokens += (now - a->stamp) * cfg->client_accept_rate;
	if (a->tokens > cfg->client_accept_burst)
		a->tokens = cfg->client_accept_burst;
	a->stamp = now;
	if (a->tokens < 1) {
		r->stats.refused_rate++;
		if (!a->warned && relay_log_ok(r))
			log_warn(subsys, "%s: refused: more than %u new "
			    "connections a second from this address "
			    "(accept_rate)", name, cfg->client_accept_rate);
		a->warned = 1;
		return 0;
	}
	a->tokens -= 1;
	a->nconns++;
	r->admitted = a;
	if (r->nclients + r->nfedins + 1 > r->open_peak)
		r->open_peak = r->nclients + r->nfedins + 1;
	return 1;
}

/* Drop a refused connection with a reset: it costs no TIME_WAIT slot,
 * and the peer learns at once. */
static void
relay_refuse(evutil_socket_t fd)
{
	struct linger	l = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	evutil_closesocket(fd);
}

/*
 * Every RELAY_SWEEP seconds: forget addresses that have no connection
 * and a full bucket (they would be made afresh just the same), and say
 * in one line what the limits did meanwhile.
 */
static void
relay_sweep(evutil_socket_t fd, short ev, void *arg)
{
	struct relay		*r = arg;
	struct relay_stats	*s = &r->stats;
	struct relay_addr	**pp, *a;
	double			 now = relay_mono(), tokens;
	size_t			 i, open = r->nclients + r->nfedins;
	uint64_t		 refused;

	for (i = 0; i < r->addr_buckets; i++) {
		pp = &r->addrs[i];
		while ((a = *pp) != NULL) {
			a->warned = 0;
			tokens = a->tokens + (now - a->stamp) *
			    r->cfg->client_accept_rate;
			if (a->nconns == 0 &&
			    tokens >= r->cfg->client_accept_burst) {
				*pp = a->next;
				free(a);
				r->naddrs--;
			} else
				pp = &a->next;
		}
	}

#ifdef __GLIBC__
	/* A crowd of connections has gone: hand back the memory it held
	 * rather than keep the peak for good. */
	if (r->open_peak >= 2 * open + 64)
		malloc_trim(0);
#endif
	r->open_peak = open;

	refused = s->refused_per_addr + s->refused_rate + s->refused_global;
	if (refused + s->handshake_timeout + s->auth_timeout +
	    s->frame_timeout + s->preauth + s->held_back > 0)
		log_at(refused > 0 ? LOG_LEVEL_WARN : LOG_LEVEL_INFO, "relay",
		    "last %ds: refused max_per_address=%llu accept_rate=%llu "
		    "max_connections=%llu closed handshake_timeout=%llu "
		    "auth_timeout=%llu frame_timeout=%llu preauth=%llu "
		    "open=%zu addresses=%zu log_lines_held_back=%llu",
		    RELAY_SWEEP, (unsigned long long)s->refused_per_addr,
		    (unsigned long long)s->refused_rate,
		    (unsigned long long)s->refused_global,
		    (unsigned long long)s->handshake_timeout,
		    (unsigned long long)s->auth_timeout,
		    (unsigned long long)s->frame_timeout,
		    (unsigned long long)s->preauth, open, r->naddrs,
		    (unsigned long long)s->held_back);
	memset(s, 0, sizeof(*s));
}

struct fedout *
relay_fedout(struct relay *r, const char *domain)
{
	size_t	i;

	for (i = 0; i < r->cfg->npeers; i++)
		if (strcmp(r->cfg->peers[i].domain, domain) == 0)
			return r->fedouts[i];
	return NULL;
}

/* Make sure relay_committed runs after the open batch. */
static void
relay_touch_wait(struct relay *r)
{
	if (r->touch_wait)
		return;
	if (store_on_commit(r->st, r, relay_committed, r) != STORE_OK) {
		log_warn("relay", "cannot watch the commit: %s",
		    store_strerror(r->st));
		return;
	}
	r->touch_wait = 1;
}

void
relay_touch_dev(struct relay *r, uint32_t dev)
{
	uint32_t	*p;
	size_t		 cap;

	/* Mail in a row for one device is common; keep one entry. */
	if (r->ntouched > 0 && r->touched[r->ntouched - 1] == dev) {
		relay_touch_wait(r);
		return;
	}
	if (r->ntouched == r->touched_cap) {
		cap = r->touched_cap ? r->touched_cap * 2 : 64;
		if ((p = reallocarray(r->touched, cap, sizeof(*p))) == NULL) {
			log_warn("relay", "out of memory");
			return;
		}
		r->touched = p;
		r->touched_cap = cap;
	}
	r->touched[r->ntouched++] = dev;
	relay_touch_wait(r);
}

void
relay_touch_peer(struct relay *r, struct fedout *fo)
{
	size_t	i;

	for (i = 0; i < r->cfg->npeers; i++)
		if (r->fedouts[i] == fo)
			r->peer_touched[i] = 1;
	relay_touch_wait(r);
}

static int
relay_cmp_dev(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The batch is durable: tell the mailboxes and peers it wrote to. */
static void
relay_committed(int status, void *arg)
{
	struct relay	*r = arg;
	size_t		 i, n = r->ntouched;

	r->touch_wait = 0;
	r->ntouched = 0;
	if (status != STORE_OK) {
		memset(r->peer_touched, 0, r->cfg->npeers);
		return;
	}

	if (n > 1)
		qsort(r->touched, n, sizeof(*r->touched), relay_cmp_dev);
	for (i = 0; i < n; i++)
		if (i == 0 || r->touched[i] != r->touched[i - 1])
			client_poke_dev(r, r->touched[i]);

	for (i = 0; i < r->cfg->npeers; i++)
		if (r->peer_touched[i]) {
			r->peer_touched[i] = 0;
			fedout_kick(r->fedouts[i]);
		}
}

static struct evconnlistener *
relay_listen(struct relay *r, const struct config_listener *l,
    evconnlistener_cb cb)
{
	struct evconnlistener	*lst;
	struct addrinfo		 hints, *res;
	char			 port[8];
	int			 rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", l->port);
	if ((rc = getaddrinfo(l->host[0] ? l->host : NULL, port, &hints,
	    &res)) != 0) {
		log_error("relay", "listen %s:%u: %s", l->host, l->port,
		    gai_strerror(rc));
		return NULL;
	}

	lst = evconnlistener_new_bind(r->base, cb, r,
	    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
	    RELAY_BACKLOG, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	if (lst == NULL) {
		log_error("relay", "listen %s:%u: %s", l->host, l->port,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		return NULL;
	}
	evconnlistener_set_error_cb(lst, relay_accept_error);
	return lst;
}

static const char *
relay_sockname(char *out, size_t outlen, const struct sockaddr *sa)
{
	char	host[NI_MAXHOST], serv[NI_MAXSERV];
	int	n;

	if (getnameinfo(sa, sa->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in),
	    host, sizeof(host), serv, sizeof(serv),
	    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		n = snprintf(out, outlen, "?");
	else if (sa->sa_family == AF_INET6)
		n = snprintf(out, outlen, "[%s]:%s", host, serv);
	else
		n = snprintf(out, outlen, "%s:%s", host, serv);

	/* Numeric forms always fit; say so plainly if one ever did not. */
	if (n < 0 || (size_t)n >= outlen)
		snprintf(out, outlen, "?");
	return out;
}

static void
relay_accept_client(struct evconnlistener *lst, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct relay	*r = arg;
	char		 name[64];

	relay_sockname(name, sizeof(name), sa);
	if (!relay_admit(r, sa, r->nclients, "client", name)) {
		relay_refuse(fd);
		return;
	}
	client_accept(r, fd, name);

	/* Not taken when the session could not even be made. */
	if (r->admitted != NULL)
		relay_addr_release(r, relay_addr_take(r));
}

static void
relay_accept_fed(struct evconnlistener *lst, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct relay	*r = arg;
	char		 name[64];

	relay_sockname(name, sizeof(name), sa);
	if (!relay_admit(r, sa, r->nfedins, "fedin", name)) {
		relay_refuse(fd);
		return;
	}
	fedin_accept(r, fd, name);
	if (r->admitted != NULL)
		relay_addr_release(r, relay_addr_take(r));
}

/*
 * accept(2) failed, most likely for want of descriptors.  The pending
 * connection keeps the socket readable, so pause instead of spinning.
 */
static void
relay_accept_error(struct evconnlistener *lst, void *arg)
{
	struct relay	*r = arg;
	struct timeval	 tv = { RELAY_ACCEPT_PAUSE, 0 };

	log_warn("relay", "accept: %s; pausing listeners for %ds",
	    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()),
	    RELAY_ACCEPT_PAUSE);
	evconnlistener_disable(r->client_lst);
	evconnlistener_disable(r->fed_lst);
	evtimer_add(r->lst_retry, &tv);
}

static void
relay_accept_resume(evutil_socket_t fd, short ev, void *arg)
{
	struct relay	*r = arg;

	evconnlistener_enable(r->client_lst);
	evconnlistener_enable(r->fed_lst);
}

void
relay_answer_keys(struct relay *r, struct conn *c, uint32_t rid,
    const char *addr)
{
	struct store_device	 devs[SP_DEVICES_MAX];
	struct sp_msg		 reply;
	size_t			 i, n = 0;
	int			 rc;

	rc = store_user_exists(r->st, addr);
	if (rc == STORE_OK)
		rc = store_devices_list(r->st, addr, devs, SP_DEVICES_MAX,
		    &n);
	if (rc == STORE_NOTFOUND) {
		conn_send_error(c, rid, SP_WERR_NO_SUCH_USER, "no such user");
		return;
	}
	if (rc != STORE_OK) {
		conn_send_error(c, rid, SP_WERR_TRY_LATER,
		    "store unavailable, try later");
		return;
	}

	memset(&reply, 0, sizeof(reply));
	reply.type = SP_MSG_KEYS;
	reply.rid = rid;
	snprintf(reply.addr, sizeof(reply.addr), "%s", addr);
	reply.ndevs = n;
	for (i = 0; i < n; i++) {
		reply.devs[i].dev = devs[i].dev;
		memcpy(reply.devs[i].spk, devs[i].spk, SP_SIGN_PK_LEN);
		memcpy(reply.devs[i].bpk, devs[i].bpk, SP_BOX_PK_LEN);
	}
	conn_send(c, &reply);
}
