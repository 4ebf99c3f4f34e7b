/*
 * test_auth.c - challenge signatures for enrolment and authentication.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "auth.h"
#include "wire.h"

/*
 * Fixed inputs: key seed 01..20, nonce of 0xaa, box key of 0x42.  The
 * signatures below were computed independently (PyNaCl) from the
 * transcripts in auth.h, so they pin the byte layout down.
 */
static const char *const auth_sig_hex =
    "00fcf30d3a479f1ac64dc758578986c11bb3e608ff5f2e8431448f73e0889ed8"
    "472831248734c9317aa9117299492f2f3a0814ee560b4752b536622b8b6faf0a";
static const char *const enrol_sig_hex =
    "5473a1e4df8dc3341da53afebc90017b4ac97c1031752bab0ef2a79f901ac6f4"
    "f2080ac4d8cfac60a354f8b78ed71ad68bbd5a39d320ae44bbc3c6e0b5e28c01";
static const char *const spk_hex =
    "79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664";

struct keys {
	uint8_t	 spk[SP_SIGN_PK_LEN];
	uint8_t	 ssk[SP_SIGN_SK_LEN];
	uint8_t	 bpk[SP_BOX_PK_LEN];
	uint8_t	 nonce[SP_NONCE_LEN];
};

static void
fixed_keys(struct keys *k)
{
	uint8_t	 seed[crypto_sign_SEEDBYTES];
	size_t	 i;

	for (i = 0; i < sizeof(seed); i++)
		seed[i] = i + 1;
	assert_int_equal(crypto_sign_seed_keypair(k->spk, k->ssk, seed), 0);
	memset(k->bpk, 0x42, sizeof(k->bpk));
	memset(k->nonce, 0xaa, sizeof(k->nonce));
}

static void
unhex(uint8_t *out, size_t len, const char *hex)
{
	size_t	 n = 0;

	assert_int_equal(sodium_hex2bin(out, len, hex, strlen(hex), NULL,
	    &n, NULL), 0);
	assert_int_equal(n, len);
}

static int
setup(void **state)
{
	return sodium_init() < 0 ? -1 : 0;
}

static void
test_auth_vector(void **state)
{
	struct keys	 k;
	uint8_t		 sig[SP_SIG_LEN], want[SP_SIG_LEN];
	uint8_t		 spk[SP_SIGN_PK_LEN];

	fixed_keys(&k);
	unhex(spk, sizeof(spk), spk_hex);
	assert_memory_equal(k.spk, spk, sizeof(spk));

	unhex(want, sizeof(want), auth_sig_hex);
	assert_int_equal(sp_auth_sign(sig, k.nonce, "acme.test",
	    "alice@acme.test", 7, k.ssk), SP_OK);
	assert_memory_equal(sig, want, sizeof(want));
	assert_int_equal(sp_auth_verify(want, k.nonce, "acme.test",
	    "alice@acme.test", 7, k.spk), SP_OK);

	unhex(want, sizeof(want), enrol_sig_hex);
	assert_int_equal(sp_auth_enrol_sign(sig, k.nonce, "acme.test",
	    "alice@acme.test", k.spk, k.bpk, k.ssk), SP_OK);
	assert_memory_equal(sig, want, sizeof(want));
	assert_int_equal(sp_auth_enrol_verify(want, k.nonce, "acme.test",
	    "alice@acme.test", k.spk, k.bpk), SP_OK);
}

static void
test_auth_refused(void **state)
{
	struct keys	 k;
	uint8_t		 sig[SP_SIG_LEN], nonce[SP_NONCE_LEN];
	uint8_t		 opk[SP_SIGN_PK_LEN], osk[SP_SIGN_SK_LEN];

	fixed_keys(&k);
	crypto_sign_keypair(opk, osk);
	assert_int_equal(sp_auth_sign(sig, k.nonce, "acme.test",
	    "alice@acme.test", 7, k.ssk), SP_OK);

	memcpy(nonce, k.nonce, sizeof(nonce));
	nonce[31] ^= 1;
	assert_int_equal(sp_auth_verify(sig, nonce, "acme.test",
	    "alice@acme.test", 7, k.spk), SP_E_CRYPTO);
	assert_int_equal(sp_auth_verify(sig, k.nonce, "partner.test",
	    "alice@acme.test", 7, k.spk), SP_E_CRYPTO);
	assert_int_equal(sp_auth_verify(sig, k.nonce, "acme.test",
	    "bob@acme.test", 7, k.spk), SP_E_CRYPTO);
	assert_int_equal(sp_auth_verify(sig, k.nonce, "acme.test",
	    "alice@acme.test", 8, k.spk), SP_E_CRYPTO);
	assert_int_equal(sp_auth_verify(sig, k.nonce, "acme.test",
	    "alice@acme.test", 7 | 1U << 24, k.spk), SP_E_CRYPTO);
	assert_int_equal(sp_auth_verify(sig, k.nonce, "acme.test",
	    "alice@acme.test", 7, opk), SP_E_CRYPTO);

	/* Moving a byte between domain and address changes the
	 * transcript: the length bytes keep the fields apart. */
	assert_int_equal(sp_auth_verify(sig, k.nonce, "acme.tes",
	    "talice@acme.test", 7, k.spk), SP_E_CRYPTO);

	sig[0] ^= 0x80;
	assert_int_equal(sp_auth_verify(sig, k.nonce, "acme.test",
	    "alice@acme.test", 7, k.spk), SP_E_CRYPTO);
}

static void
test_enrol_refused(void **state)
{
	struct keys	 k;
	uint8_t		 sig[SP_SIG_LEN], nonce[SP_NONCE_LEN];
	uint8_t		 bpk[SP_BOX_PK_LEN], opk[SP_SIGN_PK_LEN];
	uint8_t		 osk[SP_SIGN_SK_LEN];

	fixed_keys(&k);
	crypto_sign_keypair(opk, osk);
	assert_int_equal(sp_auth_enrol_sign(sig, k.nonce, "acme.test",
	    "alice@acme.test", k.spk, k.bpk, k.ssk), SP_OK);

	memcpy(nonce, k.nonce, sizeof(nonce));
	nonce[0] ^= 1;
	assert_int_equal(sp_auth_enrol_verify(sig, nonce, "acme.test",
	    "alice@acme.test", k.spk, k.bpk), SP_E_CRYPTO);
	assert_int_equal(sp_auth_enrol_verify(sig, k.nonce, "acme.example",
	    "alice@acme.test", k.spk, k.bpk), SP_E_CRYPTO);
	assert_int_equal(sp_auth_enrol_verify(sig, k.nonce, "acme.test",
	    "alicf@acme.test", k.spk, k.bpk), SP_E_CRYPTO);

	memcpy(bpk, k.bpk, sizeof(bpk));
	bpk[5] ^= 1;
	assert_int_equal(sp_auth_enrol_verify(sig, k.nonce, "acme.test",
	    "alice@acme.test", k.spk, bpk), SP_E_CRYPTO);

	/* Somebody else's key cannot claim this signature. */
	assert_int_equal(sp_auth_enrol_verify(sig, k.nonce, "acme.test",
	    "alice@acme.test", opk, k.bpk), SP_E_CRYPTO);

	/* Nor can an auth signature pass as an enrolment one. */
	assert_int_equal(sp_auth_sign(sig, k.nonce, "acme.test",
	    "alice@acme.test", 7, k.ssk), SP_OK);
	assert_int_equal(sp_auth_enrol_verify(sig, k.nonce, "acme.test",
	    "alice@acme.test", k.spk, k.bpk), SP_E_CRYPTO);
}

static void
test_lengths(void **state)
{
	struct keys	 k;
	uint8_t		 sig[SP_SIG_LEN];
	char		 dom[SP_DOMAIN_MAX + 2], addr[300];

	fixed_keys(&k);

	/* The longest domain signs and verifies; one more does not. */
	memset(dom, 'd', SP_DOMAIN_MAX);
	dom[SP_DOMAIN_MAX] = '\0';
	assert_int_equal(sp_auth_sign(sig, k.nonce, dom, "a@b.c", 1, k.ssk),
	    SP_OK);
	assert_int_equal(sp_auth_verify(sig, k.nonce, dom, "a@b.c", 1,
	    k.spk), SP_OK);
	dom[SP_DOMAIN_MAX] = 'd';
	dom[SP_DOMAIN_MAX + 1] = '\0';
	assert_int_equal(sp_auth_sign(sig, k.nonce, dom, "a@b.c", 1, k.ssk),
	    SP_E_VALUE);
	assert_int_equal(sp_auth_verify(sig, k.nonce, dom, "a@b.c", 1,
	    k.spk), SP_E_CRYPTO);
	assert_int_equal(sp_auth_enrol_sign(sig, k.nonce, dom, "a@b.c",
	    k.spk, k.bpk, k.ssk), SP_E_VALUE);

	/* The longest address fits its one length byte; longer ones are
	 * refused. */
	memset(addr, 'a', SP_ADDR_MAX);
	addr[SP_ADDR_MAX] = '\0';
	assert_int_equal(sp_auth_enrol_sign(sig, k.nonce, "acme.test", addr,
	    k.spk, k.bpk, k.ssk), SP_OK);
	assert_int_equal(sp_auth_enrol_verify(sig, k.nonce, "acme.test",
	    addr, k.spk, k.bpk), SP_OK);
	addr[SP_ADDR_MAX] = 'a';
	addr[SP_ADDR_MAX + 1] = '\0';
	assert_int_equal(sp_auth_enrol_sign(sig, k.nonce, "acme.test", addr,
	    k.spk, k.bpk, k.ssk), SP_E_VALUE);
	assert_int_equal(sp_auth_sign(sig, k.nonce, "acme.test", addr, 1,
	    k.ssk), SP_E_VALUE);
	assert_int_equal(sp_auth_verify(sig, k.nonce, "acme.test", addr, 1,
	    k.spk), SP_E_CRYPTO);
	memset(addr, 'a', 256);
	addr[256] = '\0';
	assert_int_equal(sp_auth_sign(sig, k.nonce, "acme.test", addr, 1,
	    k.ssk), SP_E_VALUE);

	assert_int_equal(sp_auth_sign(sig, k.nonce, NULL, "a@b.c", 1,
	    k.ssk), SP_E_VALUE);
	assert_int_equal(sp_auth_verify(sig, k.nonce, "acme.test", NULL, 1,
	    k.spk), SP_E_CRYPTO);
}

static void
test_random_keys(void **state)
{
	uint8_t	 spk[SP_SIGN_PK_LEN], ssk[SP_SIGN_SK_LEN];
	uint8_t	 bpk[SP_BOX_PK_LEN], nonce[SP_NONCE_LEN], sig[SP_SIG_LEN];
	int	 i;

	for (i = 0; i < 8; i++) {
		crypto_sign_keypair(spk, ssk);
		randombytes_buf(bpk, sizeof(bpk));
		randombytes_buf(nonce, sizeof(nonce));
		assert_int_equal(sp_auth_enrol_sign(sig, nonce, "a.test",
		    "u@a.test", spk, bpk, ssk), SP_OK);
		assert_int_equal(sp_auth_enrol_verify(sig, nonce, "a.test",
		    "u@a.test", spk, bpk), SP_OK);
		assert_int_equal(sp_auth_sign(sig, nonce, "a.test",
		    "u@a.test", i, ssk), SP_OK);
		assert_int_equal(sp_auth_verify(sig, nonce, "a.test",
		    "u@a.test", i, spk), SP_OK);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth_vector),
		cmocka_unit_test(test_auth_refused),
		cmocka_unit_test(test_enrol_refused),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_random_keys),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
