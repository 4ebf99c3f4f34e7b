/*
 * tls.c - the relay's TLS contexts and peer certificate verification.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../protocol/wire.h"
#include "config.h"
#include "tls.h"

struct tls_trust {
	const struct config	*cfg;
	size_t			 n;
	X509_STORE		**stores;	/* one per cfg->peers[i] */
};

/* Index of our struct tls_verdict in an SSL's ex_data. */
static int	tls_verdict_idx = -1;

static void	tls_err(char *err, size_t errlen, const char *what);
static SSL_CTX	*tls_ctx_new(const SSL_METHOD *method, const char *cert,
		    const char *key, char *err, size_t errlen);
static int	tls_alpn_select(SSL *, const unsigned char **,
		    unsigned char *, const unsigned char *, unsigned int,
		    void *);
static int	tls_fed_verify(X509_STORE_CTX *, void *);
static int	tls_verify_for_peer(X509_STORE *, const char *, X509 *,
		    STACK_OF(X509) *, int *);

/* Fill err with what and the oldest queued OpenSSL error, then clear
 * the queue so that it does not leak into another connection's log. */
static void
tls_err(char *err, size_t errlen, const char *what)
{
	unsigned long	 e;
	char		 buf[256];

	e = ERR_peek_error();
	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(err, errlen, "%s: %s", what, buf);
	} else
		snprintf(err, errlen, "%s", what);
	ERR_clear_error();
}

struct tls_trust *
tls_trust_new(const struct config *cfg, char *err, size_t errlen)
{
	struct tls_trust	*t;
	size_t			 i;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->cfg = cfg;
	t->n = cfg->npeers;
	if (t->n > 0 &&
	    (t->stores = calloc(t->n, sizeof(*t->stores))) == NULL) {
		free(t);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}

	for (i = 0; i < t->n; i++) {
		if ((t->stores[i] = X509_STORE_new()) == NULL ||
		    X509_STORE_load_file(t->stores[i],
		    cfg->peers[i].ca) != 1) {
			char what[8400];

			snprintf(what, sizeof(what), "peer %s: ca %s",
			    cfg->peers[i].domain, cfg->peers[i].ca);
			tls_err(err, errlen, what);
			tls_trust_free(t);
			return NULL;
		}
	}
	return t;
}

void
tls_trust_free(struct tls_trust *t)
{
	size_t	i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		X509_STORE_free(t->stores[i]);
	free(t->stores);
	free(t);
}

/* A context with our chain and key, TLS 1.3 only. */
static SSL_CTX *
tls_ctx_new(const SSL_METHOD *method, const char *cert, const char *key,
    char *err, size_t errlen)
{
	SSL_CTX	*ctx;

	if (tls_verdict_idx == -1) {
		tls_verdict_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL,
		    NULL);
		if (tls_verdict_idx == -1) {
			tls_err(err, errlen, "SSL_get_ex_new_index");
			return NULL;
		}
	}

	if ((ctx = SSL_CTX_new(method)) == NULL) {
		tls_err(err, errlen, "SSL_CTX_new");
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1) {
		tls_err(err, errlen, "cannot require TLS 1.3");
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		tls_err(err, errlen, "certificate chain");
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		tls_err(err, errlen, "private key");
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_err(err, errlen, "key does not match the certificate");
		goto fail;
	}

	/* Tens of thousands of idle sessions: give their buffers back. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);

	/* Nobody resumes a session with us, nor we with anyone: a cache
	 * would only be filled, and walked to be pruned, by floods of
	 * handshakes. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);

	/*
	 * A peer that goes away without close_notify is an end of file,
	 * not a TLS error: frames carry their own length, so truncation
	 * is seen anyway.  (libevent's own dirty-shutdown switch would
	 * also turn a refused connect into an EOF.)
	 */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	return ctx;

 fail:
	SSL_CTX_free(ctx);
	return NULL;
}

int
tls_check_identity(const char *cert, const char *key, const char *domain,
    char *err, size_t errlen)
{
	SSL_CTX	*ctx;
	X509	*leaf;
	int	 rc = -1;

	if ((ctx = tls_ctx_new(TLS_method(), cert, key, err, errlen)) == NULL)
		return -1;
	if ((leaf = SSL_CTX_get0_certificate(ctx)) == NULL) {
		snprintf(err, errlen, "%s: no certificate", cert);
		goto done;
	}

	/* Devices check that the relay's certificate names the domain,
	 * partners check it both ways: a wrong one would fail every
	 * connection with a message far from its cause. */
	if (X509_check_host(leaf, domain, 0, X509_CHECK_FLAG_NO_WILDCARDS,
	    NULL) != 1) {
		snprintf(err, errlen, "%s does not name %s (subjectAltName "
		    "DNS:%s needed)", cert, domain, domain);
		goto done;
	}
	if (X509_check_purpose(leaf, X509_PURPOSE_SSL_SERVER, 0) != 1 ||
	    X509_check_purpose(leaf, X509_PURPOSE_SSL_CLIENT, 0) != 1) {
		snprintf(err, errlen, "%s must allow both serverAuth and "
		    "clientAuth (extendedKeyUsage)", cert);
		goto done;
	}
	if (X509_cmp_current_time(X509_get0_notBefore(leaf)) > 0) {
		snprintf(err, errlen, "%s is not valid yet", cert);
		goto done;
	}
	if (X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0) {
		snprintf(err, errlen, "%s has expired", cert);
		goto done;
	}
	rc = 0;

 done:
	SSL_CTX_free(ctx);
	return rc;
}

/* Accept only the one protocol our listener speaks (arg). */
static int
tls_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	const char	*want = arg;
	size_t		 wlen = strlen(want);
	unsigned int	 i, n;

	for (i = 0; i < inlen; i += n + 1) {
		n = in[i];
		if (i + 1 + n > inlen)
			break;
		if (n == wlen && memcmp(in + i + 1, want, n) == 0) {
			*out = in + i + 1;
			*outlen = n;
			return SSL_TLSEXT_ERR_OK;
		}
	}
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

SSL_CTX *
tls_client_listener_ctx(const char *cert, const char *key, char *err,
    size_t errlen)
{
	SSL_CTX	*ctx;

	ctx = tls_ctx_new(TLS_server_method(), cert, key, err, errlen);
	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_alpn_select_cb(ctx, tls_alpn_select,
	    (void *)SP_ALPN_CLIENT);

	/* Devices do not resume sessions: tickets would be work and
	 * bytes on every handshake, a flood of them included, for
	 * nothing. */
	SSL_CTX_set_num_tickets(ctx, 0);
	return ctx;
}

SSL_CTX *
tls_fed_listener_ctx(const char *cert, const char *key,
    struct tls_trust *trust, char *err, size_t errlen)
{
	SSL_CTX	*ctx;

	ctx = tls_ctx_new(TLS_server_method(), cert, key, err, errlen);
	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_alpn_select_cb(ctx, tls_alpn_select,
	    (void *)SP_ALPN_FEDERATION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_cert_verify_callback(ctx, tls_fed_verify, trust);

	/* Peers keep one long connection; tickets would go unused. */
	SSL_CTX_set_num_tickets(ctx, 0);
	return ctx;
}

/*
 * Verify leaf + untrusted chain against store alone, for host and the
 * TLS client purpose.  Returns 1 when it verifies, else 0 with the X509
 * error in *verr.
 */
static int
tls_verify_for_peer(X509_STORE *store, const char *host, X509 *leaf,
    STACK_OF(X509) *chain, int *verr)
{
	X509_STORE_CTX		*vctx;
	X509_VERIFY_PARAM	*param;
	int			 ok = 0;

	*verr = X509_V_ERR_UNSPECIFIED;
	if ((vctx = X509_STORE_CTX_new()) == NULL)
		return 0;
	if (X509_STORE_CTX_init(vctx, store, leaf, chain) != 1)
		goto done;

	/* A relay's certificate names its domain itself, never by a
	 * wildcard. */
	param = X509_STORE_CTX_get0_param(vctx);
	X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_WILDCARDS);
	if (X509_VERIFY_PARAM_set1_host(param, host, 0) != 1 ||
	    X509_STORE_CTX_set_purpose(vctx, X509_PURPOSE_SSL_CLIENT) != 1)
		goto done;

	ok = X509_verify_cert(vctx) == 1;
	*verr = X509_STORE_CTX_get_error(vctx);
 done:
	X509_STORE_CTX_free(vctx);
	return ok;
}

/*
 * The federation listener's certificate check, instead of OpenSSL's:
 * the certificate must name a configured peer and chain to that peer's
 * own CA.  A CA trusted for one partner can therefore never vouch for
 * another.  The outcome goes into the connection's tls_verdict.
 */
static int
tls_fed_verify(X509_STORE_CTX *ctx, void *arg)
{
	struct tls_trust	*t = arg;
	struct tls_verdict	*v = NULL;
	SSL			*ssl;
	X509			*leaf;
	STACK_OF(X509)		*chain;
	size_t			 i;
	int			 named = 0, verr = X509_V_ERR_UNSPECIFIED;
	unsigned int		 flags = X509_CHECK_FLAG_NO_WILDCARDS;

	ssl = X509_STORE_CTX_get_ex_data(ctx,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	if (ssl != NULL)
		v = SSL_get_ex_data(ssl, tls_verdict_idx);
	leaf = X509_STORE_CTX_get0_cert(ctx);
	chain = X509_STORE_CTX_get0_untrusted(ctx);
	if (v == NULL || leaf == NULL) {
		X509_STORE_CTX_set_error(ctx, X509_V_ERR_UNSPECIFIED);
		return 0;
	}

	for (i = 0; i < t->n; i++) {
		const char *domain = t->cfg->peers[i].domain;

		if (X509_check_host(leaf, domain, 0, flags, NULL) != 1)
			continue;
		named = 1;
		if (tls_verify_for_peer(t->stores[i], domain, leaf, chain,
		    &verr)) {
			v->peer = (int)i;
			X509_STORE_CTX_set_error(ctx, X509_V_OK);
			return 1;
		}
	}

	v->refused = 1;
	if (!named) {
		snprintf(v->why, sizeof(v->why),
		    "certificate names no configured peer");
		X509_STORE_CTX_set_error(ctx,
		    X509_V_ERR_HOSTNAME_MISMATCH);
	} else {
		snprintf(v->why, sizeof(v->why),
		    "certificate not valid for the peer it names: %s",
		    X509_verify_cert_error_string(verr));
		X509_STORE_CTX_set_error(ctx, verr);
	}
	return 0;
}

SSL_CTX *
tls_fed_client_ctx(const char *cert, const char *key,
    const struct config_peer *peer, char *err, size_t errlen)
{
	static const unsigned char alpn[] = "\x0e" SP_ALPN_FEDERATION;
	SSL_CTX	*ctx;

	ctx = tls_ctx_new(TLS_client_method(), cert, key, err, errlen);
	if (ctx == NULL)
		return NULL;

	/* Only this peer's CA, none of the system's. */
	if (SSL_CTX_load_verify_file(ctx, peer->ca) != 1) {
		tls_err(err, errlen, "peer ca");
		goto fail;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER) != 1) {
		tls_err(err, errlen, "SSL_CTX_set_purpose");
		goto fail;
	}

	/* Note the inverted return value of this one. */
	if (SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1) != 0) {
		tls_err(err, errlen, "SSL_CTX_set_alpn_protos");
		goto fail;
	}
	return ctx;

 fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL *
tls_fed_client_ssl(SSL_CTX *ctx, const struct config_peer *peer, char *err,
    size_t errlen)
{
	SSL	*ssl;

	if ((ssl = SSL_new(ctx)) == NULL) {
		tls_err(err, errlen, "SSL_new");
		return NULL;
	}
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_WILDCARDS);
	if (SSL_set1_host(ssl, peer->domain) != 1 ||
	    SSL_set_tlsext_host_name(ssl, peer->domain) != 1) {
		tls_err(err, errlen, "peer host name");
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

int
tls_verdict_attach(SSL *ssl, struct tls_verdict *v)
{
	v->peer = -1;
	v->refused = 0;
	v->why[0] = '\0';
	return SSL_set_ex_data(ssl, tls_verdict_idx, v) == 1 ? 0 : -1;
}

int
tls_alpn_is(SSL *ssl, const char *proto)
{
	const unsigned char	*p;
	unsigned int		 n;

	SSL_get0_alpn_selected(ssl, &p, &n);
	return p != NULL && n == strlen(proto) && memcmp(p, proto, n) == 0;
}

const char *
tls_error_text(char *out, size_t outlen, unsigned long e)
{
	ERR_error_string_n(e, out, outlen);
	return out;
}
