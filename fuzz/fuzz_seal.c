/*
 * fuzz_seal.c - what a device finds inside a seal: padding removal and
 * the strict decoder of the inner map.
 *
 * Input: the plaintext a sender seals, normally the inner map of
 * envelope.h without its padding.  The target pads it to the smallest
 * bucket (an input whose length already is a bucket goes in as it is,
 * so that bad padding is reachable too), seals it to the fixed device
 * key of fuzz.h under a fixed header, and opens it.  A malicious sender
 * controls exactly these bytes; only a device ever parses them.
 *
 * Properties: opening fails with a status envelope.h lists or yields
 * content that satisfies the seal's rules; content signed by the known
 * sender, sealed again, opens to the same content.
 */
#include <string.h>

#include <sodium.h>

#include "envelope.h"
#include "fuzz.h"

static struct sp_envelope hdr;
static uint8_t epk[SP_BOX_PK_LEN], nonce[crypto_box_NONCEBYTES];
static uint8_t key[crypto_box_BEFORENMBYTES];
static uint8_t padded[16384], box[16384 + SP_SEAL_OVERHEAD];

/* The fixed header and the sealing state, which is the same for every
 * input: only the box's contents change. */
static int
setup(void)
{
	static const uint8_t esk[SP_BOX_SK_LEN] = { 4 };
	crypto_generichash_state st;

	if (fuzz_keys_init() == -1)
		return -1;
	memset(hdr.id, 0x11, sizeof(hdr.id));
	strcpy(hdr.to, "bob@partner.test");
	hdr.dev = 7;
	strcpy(hdr.org, "acme.test");
	hdr.ts = 1735689600;
	hdr.exp = hdr.ts + SP_LIFETIME_DEFAULT;

	/* As crypto_box_seal: nonce = BLAKE2b-192(epk || pk). */
	if (crypto_scalarmult_base(epk, esk) != 0 ||
	    crypto_box_beforenm(key, fuzz_keys.rpk, esk) != 0)
		return -1;
	crypto_generichash_init(&st, NULL, 0, sizeof(nonce));
	crypto_generichash_update(&st, epk, sizeof(epk));
	crypto_generichash_update(&st, fuzz_keys.rpk, SP_BOX_PK_LEN);
	crypto_generichash_final(&st, nonce, sizeof(nonce));
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct sp_envelope e;
	struct sp_content c;
	struct sp_buf plain = SP_BUF_INIT;
	size_t bucket;
	int rc;

	if (!ready) {
		if (setup() == -1)
			return 0;
		ready = 1;
	}

	if (fuzz_is_bucket(size))
		bucket = size;
	else if ((bucket = sp_bucket_for(size)) == 0)
		return 0;
	if (bucket > sizeof(padded))
		return 0;
	memcpy(padded, data, size);
	if (size < bucket) {
		padded[size] = 0x80;
		memset(padded + size + 1, 0, bucket - size - 1);
	}
	memcpy(box, epk, sizeof(epk));
	crypto_box_easy_afternm(box + sizeof(epk), padded, bucket, nonce,
	    key);

	e = hdr;
	e.box = box;
	e.box_len = bucket + SP_SEAL_OVERHEAD;
	rc = sp_env_open(&e, fuzz_keys.rpk, fuzz_keys.rsk, &c, &plain);
	FUZZ_ASSERT(rc == SP_OK || rc == SP_E_CRYPTO ||
	    rc == SP_E_MALFORMED || rc == SP_E_LIMIT || rc == SP_E_TYPE ||
	    rc == SP_E_MISSING || rc == SP_E_UNKNOWN ||
	    rc == SP_E_ADDRESS || rc == SP_E_VALUE || rc == SP_E_NOMEM);
	if (rc == SP_OK) {
		fuzz_check_content(&c, &plain);
		fuzz_check_reseal(&e, &c);
	}
	sp_buf_free(&plain);
	return 0;
}
