/*
 * loadgen.h - what the load generators (sealpost-bench, -torture,
 * -attack) share: device identities, their TLS context, operator codes.
 * Start-up helpers: each exits the program with a message on failure.
 */
#ifndef SEALPOST_LOADGEN_H
#define SEALPOST_LOADGEN_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "session.h"

/* Print "PROG: message" and exit 1. */
void	lg_die(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/* Seconds on the monotonic clock. */
double	lg_now(void);

/* A device's TLS 1.3 context: verify the relay against ca, client ALPN. */
SSL_CTX	*lg_client_ctx(const char *ca);

/* Fresh keys for LOCAL<i>@DOMAIN (dev stays 0 until enrolled). */
void	lg_identity(struct sp_identity *id, const char *local, size_t i,
	    const char *domain);

/* The first n non-empty lines of path, NULL-terminated; free with
 * lg_free_codes. */
char	**lg_read_codes(const char *path, size_t n);
void	lg_free_codes(char **codes);

/* qsort comparison of doubles, for percentiles. */
int	lg_cmp_double(const void *x, const void *y);

#endif /* SEALPOST_LOADGEN_H */
