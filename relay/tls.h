/*
 * tls.h - the relay's TLS contexts.
 *
 * Three kinds of context, all TLS 1.3 only:
 *   - the client listener's: our chain and key, ALPN "sealpost-client/0";
 *   - the federation listener's: the same with ALPN "sealpost-fed/0" and a
 *     client certificate required, verified against the one peer the
 *     certificate names (see tls_trust below);
 *   - one outbound context per peer: our chain as client certificate,
 *     the server verified against that peer's CA file alone.
 * These functions never log and never exit: they return NULL or -1 and
 * leave a reason in the caller's err buffer.
 */
#ifndef SEALPOST_TLS_H
#define SEALPOST_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "config.h"

/* The trust anchors of every configured peer, one store per peer. */
struct tls_trust;

/*
 * What the federation listener learnt about one connection's client
 * certificate.  The connection owns it and attaches it with
 * tls_verdict_attach before the handshake starts.
 */
struct tls_verdict {
	int	peer;		/* index in cfg->peers, -1 until verified */
	int	refused;	/* 1 when our verification refused it */
	char	why[256];	/* reason for the refusal */
};

/*
 * Load every peer's CA file of cfg into a store of its own.  cfg must
 * outlive the result.  Returns NULL with a reason in err.
 */
struct tls_trust *tls_trust_new(const struct config *cfg, char *err,
    size_t errlen);
void tls_trust_free(struct tls_trust *t);

/*
 * Check our own certificate and key: they load and match, the leaf names
 * domain exactly, allows serverAuth and clientAuth, and is valid now.
 * 0, or -1 with a reason in err.
 */
int tls_check_identity(const char *cert, const char *key,
    const char *domain, char *err, size_t errlen);

/* Server context for the client listener.  NULL with a reason in err. */
SSL_CTX *tls_client_listener_ctx(const char *cert, const char *key,
    char *err, size_t errlen);

/*
 * Server context for the federation listener.  A client certificate is
 * required; the handshake succeeds only when the leaf names a peer of
 * trust (X509_check_host) and chains, for that domain and the TLS client
 * purpose, to that peer's CA alone.  trust must outlive the context.
 * NULL with a reason in err.
 */
SSL_CTX *tls_fed_listener_ctx(const char *cert, const char *key,
    struct tls_trust *trust, char *err, size_t errlen);

/*
 * Client context for connecting to peer: our chain as client
 * certificate, the server checked against peer->ca only.  The host name
 * is checked per connection (tls_fed_client_ssl).  NULL with a reason.
 */
SSL_CTX *tls_fed_client_ctx(const char *cert, const char *key,
    const struct config_peer *peer, char *err, size_t errlen);

/*
 * A new SSL for one outbound connection to peer: server name indication
 * and the expected host are the peer's domain.  NULL with a reason.
 */
SSL *tls_fed_client_ssl(SSL_CTX *ctx, const struct config_peer *peer,
    char *err, size_t errlen);

/* Attach v to ssl before its handshake (federation listener only).
 * Returns 0 or -1. */
int tls_verdict_attach(SSL *ssl, struct tls_verdict *v);

/* True when the handshake on ssl selected ALPN protocol proto. */
int tls_alpn_is(SSL *ssl, const char *proto);

/* Text of one OpenSSL error code e (as libevent collects them) into
 * out.  Returns out. */
const char *tls_error_text(char *out, size_t outlen, unsigned long e);

#endif /* SEALPOST_TLS_H */
