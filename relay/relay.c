/*
 * relay.c - the running relay: listeners, sessions, federation.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "../protocol/buf.h"
#include "client.h"
#include "config.h"
#include "fedin.h"
#include "fedout.h"
#include "log.h"
#include "relay.h"
#include "relay_int.h"
#include "store.h"
#include "tls.h"

/* How long the listeners pause after accept(2) failed (EMFILE...). */
#define RELAY_ACCEPT_PAUSE	1

static struct evconnlistener *relay_listen(struct relay *,
		    const struct config_listener *, evconnlistener_cb);
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
	for (i = 0; i < RELAY_DEV_BUCKETS; i++)
		TAILQ_INIT(&r->bydev[i]);

	if ((r->scratch = calloc(1, sizeof(*r->scratch))) == NULL ||
	    (r->fedouts = calloc(cfg->npeers + 1, sizeof(*r->fedouts))) ==
	    NULL || (r->peer_touched = calloc(cfg->npeers + 1, 1)) == NULL ||
	    (r->lst_retry = evtimer_new(base, relay_accept_resume, r)) ==
	    NULL) {
		log_error("relay", "out of memory");
		goto fail;
	}

	if ((r->trust = tls_trust_new(cfg, err, sizeof(err))) == NULL ||
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
	    -1, res->ai_addr, res->ai_addrlen);
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
	if (r->nclients >= r->cfg->client_max_connections) {
		log_warn("client", "%s: refused: %zu connections already",
		    name, r->nclients);
		evutil_closesocket(fd);
		return;
	}
	client_accept(r, fd, name);
}

static void
relay_accept_fed(struct evconnlistener *lst, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct relay	*r = arg;
	char		 name[64];

	relay_sockname(name, sizeof(name), sa);
	if (r->nfedins >= r->cfg->client_max_connections) {
		log_warn("fedin", "%s: refused: %zu connections already",
		    name, r->nfedins);
		evutil_closesocket(fd);
		return;
	}
	fedin_accept(r, fd, name);
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
