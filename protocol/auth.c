/*
 * auth.c - the signatures a device makes over a relay's challenge.
 */
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "auth.h"
#include "wire.h"

#define ENROL_LABEL	"sealpost-enrol-v0"
#define AUTH_LABEL	"sealpost-auth-v0"

/* Longest transcript: the enrol label, the nonce, two strings behind
 * one-byte lengths and two public keys. */
#define TRANSCRIPT_MAX	(sizeof(ENROL_LABEL) - 1 + SP_NONCE_LEN + \
			 2 * (1 + 255) + SP_SIGN_PK_LEN + SP_BOX_PK_LEN)

struct transcript {
	uint8_t	 buf[TRANSCRIPT_MAX];
	size_t	 len;
};

static void
put(struct transcript *t, const void *p, size_t n)
{
	memcpy(t->buf + t->len, p, n);
	t->len += n;
}

/*
 * Append a string behind its one-byte length.  Refuses what a length
 * byte cannot hold, and anything longer than the protocol allows.
 */
static int
put_str(struct transcript *t, const char *s, size_t max)
{
	size_t	 n;
	uint8_t	 n8;

	if (s == NULL)
		return -1;
	n = strnlen(s, max + 1);
	if (n > max || n > UINT8_MAX)
		return -1;

	n8 = n;
	put(t, &n8, 1);
	put(t, s, n);
	return 0;
}

/* Label, nonce, domain and address: the part both transcripts share. */
static int
put_head(struct transcript *t, const char *label,
    const uint8_t nonce[SP_NONCE_LEN], const char *domain, const char *addr)
{
	t->len = 0;
	put(t, label, strlen(label));
	put(t, nonce, SP_NONCE_LEN);
	if (put_str(t, domain, SP_DOMAIN_MAX) == -1 ||
	    put_str(t, addr, SP_ADDR_MAX) == -1)
		return -1;
	return 0;
}

static int
enrol_transcript(struct transcript *t, const uint8_t nonce[SP_NONCE_LEN],
    const char *domain, const char *addr, const uint8_t spk[SP_SIGN_PK_LEN],
    const uint8_t bpk[SP_BOX_PK_LEN])
{
	if (put_head(t, ENROL_LABEL, nonce, domain, addr) == -1)
		return -1;
	put(t, spk, SP_SIGN_PK_LEN);
	put(t, bpk, SP_BOX_PK_LEN);
	return 0;
}

static int
auth_transcript(struct transcript *t, const uint8_t nonce[SP_NONCE_LEN],
    const char *domain, const char *addr, uint32_t dev)
{
	uint8_t	 be[4];

	if (put_head(t, AUTH_LABEL, nonce, domain, addr) == -1)
		return -1;
	be[0] = dev >> 24;
	be[1] = dev >> 16;
	be[2] = dev >> 8;
	be[3] = dev;
	put(t, be, sizeof(be));
	return 0;
}

static int
sign(uint8_t sig[SP_SIG_LEN], const struct transcript *t,
    const uint8_t ssk[SP_SIGN_SK_LEN])
{
	if (crypto_sign_detached(sig, NULL, t->buf, t->len, ssk) != 0) {
		memset(sig, 0, SP_SIG_LEN);
		return SP_E_CRYPTO;
	}
	return SP_OK;
}

static int
verify(const uint8_t sig[SP_SIG_LEN], const struct transcript *t,
    const uint8_t spk[SP_SIGN_PK_LEN])
{
	if (crypto_sign_verify_detached(sig, t->buf, t->len, spk) != 0)
		return SP_E_CRYPTO;
	return SP_OK;
}

int
sp_auth_enrol_sign(uint8_t sig[SP_SIG_LEN],
    const uint8_t nonce[SP_NONCE_LEN], const char *domain, const char *addr,
    const uint8_t spk[SP_SIGN_PK_LEN], const uint8_t bpk[SP_BOX_PK_LEN],
    const uint8_t ssk[SP_SIGN_SK_LEN])
{
	struct transcript t;

	memset(sig, 0, SP_SIG_LEN);
	if (enrol_transcript(&t, nonce, domain, addr, spk, bpk) == -1)
		return SP_E_VALUE;
	return sign(sig, &t, ssk);
}

int
sp_auth_enrol_verify(const uint8_t sig[SP_SIG_LEN],
    const uint8_t nonce[SP_NONCE_LEN], const char *domain, const char *addr,
    const uint8_t spk[SP_SIGN_PK_LEN], const uint8_t bpk[SP_BOX_PK_LEN])
{
	struct transcript t;

	/* A transcript that could not have been signed fails like a bad
	 * signature. */
	if (enrol_transcript(&t, nonce, domain, addr, spk, bpk) == -1)
		return SP_E_CRYPTO;
	return verify(sig, &t, spk);
}

int
sp_auth_sign(uint8_t sig[SP_SIG_LEN], const uint8_t nonce[SP_NONCE_LEN],
    const char *domain, const char *addr, uint32_t dev,
    const uint8_t ssk[SP_SIGN_SK_LEN])
{
	struct transcript t;

	memset(sig, 0, SP_SIG_LEN);
	if (auth_transcript(&t, nonce, domain, addr, dev) == -1)
		return SP_E_VALUE;
	return sign(sig, &t, ssk);
}

int
sp_auth_verify(const uint8_t sig[SP_SIG_LEN],
    const uint8_t nonce[SP_NONCE_LEN], const char *domain, const char *addr,
    uint32_t dev, const uint8_t spk[SP_SIGN_PK_LEN])
{
	struct transcript t;

	if (auth_transcript(&t, nonce, domain, addr, dev) == -1)
		return SP_E_CRYPTO;
	return verify(sig, &t, spk);
}
