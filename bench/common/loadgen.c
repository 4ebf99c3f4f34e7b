/*
 * loadgen.c - helpers shared by the load generators.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "address.h"
#include "loadgen.h"

extern char *program_invocation_short_name;

void
lg_die(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "%s: ", program_invocation_short_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

double
lg_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

SSL_CTX *
lg_client_ctx(const char *ca)
{
	static const unsigned char alpn[] = "\x11" SP_ALPN_CLIENT;
	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		lg_die("SSL_CTX_new failed");
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
		lg_die("cannot load CA file %s", ca);
	SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1);
	return ctx;
}

void
lg_identity(struct sp_identity *id, const char *local, size_t i,
    const char *domain)
{
	char	raw[SP_ADDR_MAX + 1];

	memset(id, 0, sizeof(*id));
	snprintf(raw, sizeof(raw), "%s%zu@%s", local, i, domain);
	if (sp_addr_canon(raw, strlen(raw), id->addr, NULL) != SP_OK)
		lg_die("%s: not a valid address", raw);
	crypto_sign_keypair(id->spk, id->ssk);
	crypto_box_keypair(id->bpk, id->bsk);
}

char **
lg_read_codes(const char *path, size_t n)
{
	char	**codes, line[256];
	size_t	  i = 0;
	FILE	 *f;

	if ((f = fopen(path, "r")) == NULL)
		lg_die("%s: %s", path, strerror(errno));
	if ((codes = calloc(n + 1, sizeof(*codes))) == NULL)
		lg_die("out of memory");
	while (i < n && fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] != '\0' && (codes[i++] = strdup(line)) == NULL)
			lg_die("out of memory");
	}
	fclose(f);
	if (i < n)
		lg_die("%s: %zu codes, %zu needed", path, i, n);
	return codes;
}

void
lg_free_codes(char **codes)
{
	size_t	i;

	if (codes == NULL)
		return;
	for (i = 0; codes[i] != NULL; i++) {
		sodium_memzero(codes[i], strlen(codes[i]));
		free(codes[i]);
	}
	free(codes);
}

int
lg_cmp_double(const void *x, const void *y)
{
	double	a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}
