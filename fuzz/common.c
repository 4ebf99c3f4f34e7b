/*
 * common.c - what the fuzz targets share: how a broken property is
 * reported (loudly, then abort, so both libFuzzer and the replay
 * driver keep the input) and the checks of opened seals.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "address.h"
#include "fuzz.h"

struct fuzz_keys fuzz_keys;

void
fuzz_fail(const char *file, int line, const char *what)
{
	/* Straight to the descriptor: a target may point the stderr
	 * stream elsewhere to silence the code under test. */
	dprintf(2, "%s:%d: property failed: %s\n", file, line, what);
	abort();
}

unsigned
fuzz_touch(const void *p, size_t n)
{
	const volatile unsigned char *b = p;
	unsigned sum = 0;
	size_t i;

	for (i = 0; i < n; i++)
		sum += b[i];
	return sum;
}

int
fuzz_keys_init(void)
{
	uint8_t seed[32] = { 1 };

	if (sodium_init() < 0)
		return -1;
	crypto_box_seed_keypair(fuzz_keys.rpk, fuzz_keys.rsk, seed);
	seed[0] = 2;
	crypto_sign_seed_keypair(fuzz_keys.spk, fuzz_keys.ssk, seed);
	return 0;
}

int
fuzz_is_bucket(size_t n)
{
	size_t i;

	for (i = 0; i < SP_BUCKET_COUNT; i++)
		if (n == sp_buckets[i])
			return 1;
	return 0;
}

void
fuzz_check_content(const struct sp_content *c, const struct sp_buf *plain)
{
	size_t i, n;

	FUZZ_ASSERT(sp_addr_is_canonical(c->from));
	n = strlen(c->type);
	FUZZ_ASSERT(n >= 1 && n <= SP_CTYPE_MAX);
	for (i = 0; i < n; i++)
		FUZZ_ASSERT(c->type[i] >= 0x20 && c->type[i] <= 0x7e);
	n = strlen(c->name);
	FUZZ_ASSERT(n <= SP_NAME_MAX);
	for (i = 0; i < n; i++)
		FUZZ_ASSERT((unsigned char)c->name[i] >= 0x20 &&
		    c->name[i] != 0x7f && c->name[i] != '/');
	FUZZ_ASSERT(c->body != NULL || c->body_len == 0);
	FUZZ_ASSERT(c->body_len <= SP_PLAINTEXT_MAX);
	if (c->body_len > 0)
		FUZZ_ASSERT(c->body >= plain->data &&
		    c->body + c->body_len <= plain->data + plain->len);
}

void
fuzz_check_reseal(const struct sp_envelope *e, const struct sp_content *c)
{
	static const uint8_t esk[SP_BOX_SK_LEN] = { 3 };
	struct sp_envelope e2 = *e, e3;
	struct sp_content c2;
	struct sp_sender s;
	struct sp_buf out = SP_BUF_INIT, plain = SP_BUF_INIT;

	if (memcmp(c->spk, fuzz_keys.spk, SP_SIGN_PK_LEN) != 0)
		return;
	memset(&s, 0, sizeof(s));
	strcpy(s.addr, c->from);
	s.dev = c->fdev;
	memcpy(s.spk, fuzz_keys.spk, sizeof(s.spk));
	memcpy(s.ssk, fuzz_keys.ssk, sizeof(s.ssk));

	FUZZ_ASSERT(sp_env_seal_with_ephemeral(&e2, c, &s, fuzz_keys.rpk,
	    esk, &out) == SP_OK);
	FUZZ_ASSERT(sp_env_decode(&e3, out.data, out.len) == SP_OK);
	FUZZ_ASSERT(sp_env_open(&e3, fuzz_keys.rpk, fuzz_keys.rsk, &c2,
	    &plain) == SP_OK);
	FUZZ_ASSERT(strcmp(c->from, c2.from) == 0 && c->fdev == c2.fdev);
	FUZZ_ASSERT(strcmp(c->type, c2.type) == 0);
	FUZZ_ASSERT(strcmp(c->name, c2.name) == 0);
	FUZZ_ASSERT(c->body_len == c2.body_len);
	FUZZ_ASSERT(c->body_len == 0 ||
	    memcmp(c->body, c2.body, c->body_len) == 0);
	sodium_memzero(&s, sizeof(s));
	sp_buf_free(&plain);
	sp_buf_free(&out);
}
