/*
 * net.c - the client's TLS 1.3 connection to its relay.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "net.h"
#include "wire.h"

struct net {
	int		 fd;
	SSL_CTX		*ctx;
	SSL		*ssl;
};

int64_t
net_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Drain OpenSSL's error queue into err, most specific reason first. */
static void
tls_error(char *err, size_t errlen, const char *what)
{
	char		 buf[256];
	unsigned long	 e;

	if ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(err, errlen, "%s: %s", what, buf);
	} else if (errno != 0)
		snprintf(err, errlen, "%s: %s", what, strerror(errno));
	else
		snprintf(err, errlen, "%s: connection closed by the relay",
		    what);
	ERR_clear_error();
}

/* Wait until fd is ready for events: 1, 0 at the deadline, -1 error. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd	 pfd;
	int64_t		 left;
	int		 r;

	for (;;) {
		if ((left = deadline - net_now_ms()) <= 0)
			return 0;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return 1;
		if (r == -1 && errno != EINTR)
			return -1;
	}
}

static int
tcp_try(const struct addrinfo *ai, int64_t deadline)
{
	socklen_t	 len;
	int		 fd, e = 0;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd == -1)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS)
		goto fail;

	switch (wait_fd(fd, POLLOUT, deadline)) {
	case 0:
		errno = ETIMEDOUT;
		goto fail;
	case -1:
		goto fail;
	}
	len = sizeof(e);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1)
		goto fail;
	if (e == 0)
		return fd;
	errno = e;

fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

static int
tcp_connect(const char *host, uint16_t port, int64_t deadline, char *err,
    size_t errlen)
{
	struct addrinfo	 hints, *res, *ai;
	char		 serv[8];
	int		 fd = -1, r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(serv, sizeof(serv), "%u", port);
	if ((r = getaddrinfo(host, serv, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(r));
		return -1;
	}

	errno = 0;
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next)
		fd = tcp_try(ai, deadline);
	if (fd == -1)
		snprintf(err, errlen, "connect to %s port %u: %s", host, port,
		    strerror(errno));
	freeaddrinfo(res);
	return fd;
}

static SSL_CTX *
tls_context(const char *ca, char *err, size_t errlen)
{
	static const unsigned char alpn[] = "\x11" SP_ALPN_CLIENT;
	SSL_CTX		*ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		tls_error(err, errlen, "TLS context");
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1) != 0) {
		tls_error(err, errlen, "TLS context");
		goto fail;
	}

	/* Trust only the organisation's own CA, never the system store. */
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		if (access(ca, R_OK) == -1)
			snprintf(err, errlen, "%s: %s", ca, strerror(errno));
		else
			snprintf(err, errlen, "%s: not a PEM CA certificate",
			    ca);
		ERR_clear_error();
		goto fail;
	}
	return ctx;

fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* Drive SSL_connect to completion or the deadline. */
static int
tls_handshake(struct net *n, int64_t deadline, char *err, size_t errlen)
{
	long	 vr;
	int	 r;

	for (;;) {
		ERR_clear_error();
		errno = 0;
		if ((r = SSL_connect(n->ssl)) == 1)
			return 0;
		switch (SSL_get_error(n->ssl, r)) {
		case SSL_ERROR_WANT_READ:
			r = wait_fd(n->fd, POLLIN, deadline);
			break;
		case SSL_ERROR_WANT_WRITE:
			r = wait_fd(n->fd, POLLOUT, deadline);
			break;
		default:
			vr = SSL_get_verify_result(n->ssl);
			if (vr != X509_V_OK)
				snprintf(err, errlen, "relay certificate not "
				    "accepted: %s",
				    X509_verify_cert_error_string(vr));
			else
				tls_error(err, errlen, "TLS handshake");
			return -1;
		}
		if (r == 0) {
			snprintf(err, errlen, "TLS handshake timed out");
			return -1;
		}
		if (r == -1) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return -1;
		}
	}
}

int
net_connect(struct net **out, const char *host, uint16_t port,
    const char *ca, const char *domain, int timeout_ms, char *err,
    size_t errlen)
{
	const unsigned char	*sel;
	unsigned int		 sel_len;
	struct net		*n;
	int64_t			 deadline;

	deadline = net_now_ms() + timeout_ms;
	if ((n = calloc(1, sizeof(*n))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -2;
	}
	n->fd = -1;
	if ((n->ctx = tls_context(ca, err, errlen)) == NULL) {
		net_close(n);
		return -2;
	}
	if ((n->fd = tcp_connect(host, port, deadline, err, errlen)) == -1)
		goto fail;

	/* The certificate must name the organisation, not the host we
	 * happened to dial (often a bare IP address). */
	if ((n->ssl = SSL_new(n->ctx)) == NULL ||
	    SSL_set_fd(n->ssl, n->fd) != 1 ||
	    SSL_set_tlsext_host_name(n->ssl, domain) != 1 ||
	    SSL_set1_host(n->ssl, domain) != 1) {
		tls_error(err, errlen, "TLS setup");
		goto fail;
	}
	SSL_set_hostflags(n->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (tls_handshake(n, deadline, err, errlen) == -1)
		goto fail;

	SSL_get0_alpn_selected(n->ssl, &sel, &sel_len);
	if (sel_len != strlen(SP_ALPN_CLIENT) ||
	    memcmp(sel, SP_ALPN_CLIENT, sel_len) != 0) {
		snprintf(err, errlen, "relay did not agree to ALPN %s",
		    SP_ALPN_CLIENT);
		goto fail;
	}
	*out = n;
	return 0;

fail:
	net_close(n);
	return -1;
}

int
net_write(struct net *n, const uint8_t *p, size_t len, int timeout_ms,
    char *err, size_t errlen)
{
	int64_t	 deadline;
	int	 r, chunk;

	deadline = net_now_ms() + timeout_ms;
	while (len > 0) {
		chunk = len > 65536 ? 65536 : (int)len;
		ERR_clear_error();
		errno = 0;
		if ((r = SSL_write(n->ssl, p, chunk)) > 0) {
			p += r;
			len -= r;
			continue;
		}
		switch (SSL_get_error(n->ssl, r)) {
		case SSL_ERROR_WANT_READ:
			r = wait_fd(n->fd, POLLIN, deadline);
			break;
		case SSL_ERROR_WANT_WRITE:
			r = wait_fd(n->fd, POLLOUT, deadline);
			break;
		default:
			tls_error(err, errlen, "write");
			return -1;
		}
		if (r != 1) {
			snprintf(err, errlen, "write: %s", r == 0 ?
			    "timed out" : strerror(errno));
			return -1;
		}
	}
	return 0;
}

ssize_t
net_read(struct net *n, uint8_t *p, size_t cap, int timeout_ms, char *err,
    size_t errlen)
{
	int64_t	 deadline;
	int	 r;

	deadline = net_now_ms() + timeout_ms;
	if (cap > 65536)
		cap = 65536;
	for (;;) {
		ERR_clear_error();
		errno = 0;
		if ((r = SSL_read(n->ssl, p, (int)cap)) > 0)
			return r;
		switch (SSL_get_error(n->ssl, r)) {
		case SSL_ERROR_WANT_READ:
			r = wait_fd(n->fd, POLLIN, deadline);
			break;
		case SSL_ERROR_WANT_WRITE:
			r = wait_fd(n->fd, POLLOUT, deadline);
			break;
		case SSL_ERROR_ZERO_RETURN:
			snprintf(err, errlen, "connection closed by the relay");
			return -1;
		default:
			tls_error(err, errlen, "read");
			return -1;
		}
		if (r == 0)
			return 0;
		if (r == -1) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return -1;
		}
	}
}

void
net_close(struct net *n)
{
	if (n == NULL)
		return;
	if (n->ssl != NULL) {
		/* One try: a relay that does not read is no reason to
		 * hang on the way out. */
		ERR_clear_error();
		if (SSL_is_init_finished(n->ssl))
			SSL_shutdown(n->ssl);
		SSL_free(n->ssl);
	}
	if (n->fd != -1)
		close(n->fd);
	SSL_CTX_free(n->ctx);
	ERR_clear_error();
	free(n);
}
