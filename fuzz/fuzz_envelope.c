/*
 * fuzz_envelope.c - envelope decoding, time checks and seal opening.
 *
 * Input: an encoded envelope, as a relay receives it in "send", "relay"
 * or "deliver".  Boxes are opened with the fixed device keys of fuzz.h,
 * which fuzz/mkcorpus.py seals seeds to, so the fuzzer starts from
 * envelopes that really open.
 *
 * Properties:
 *  - a decoded envelope satisfies every rule envelope.h states for the
 *    header, and its box lies inside the input;
 *  - it re-encodes to a decodable envelope with the same fields, and
 *    that encoding is stable;
 *  - sp_env_check_time agrees with the rule in envelope.h;
 *  - opening fails with a status envelope.h lists, or yields content
 *    that satisfies the seal's rules; content from the known sender,
 *    sealed again, opens to the same content.
 */
#include <string.h>

#include "address.h"
#include "envelope.h"
#include "fuzz.h"

static void
check_header(const struct sp_envelope *e)
{
	FUZZ_ASSERT(sp_addr_is_canonical(e->to));
	FUZZ_ASSERT(sp_domain_is_canonical(e->org));
	FUZZ_ASSERT(e->exp >= e->ts);
	FUZZ_ASSERT(e->exp - e->ts >= SP_LIFETIME_MIN);
	FUZZ_ASSERT(e->exp - e->ts <= SP_LIFETIME_MAX);
	FUZZ_ASSERT(e->box != NULL && e->box_len > SP_SEAL_OVERHEAD);
	FUZZ_ASSERT(fuzz_is_bucket(e->box_len - SP_SEAL_OVERHEAD));
}

static int
same_header(const struct sp_envelope *a, const struct sp_envelope *b)
{
	return memcmp(a->id, b->id, SP_ID_LEN) == 0 &&
	    strcmp(a->to, b->to) == 0 && a->dev == b->dev &&
	    strcmp(a->org, b->org) == 0 && a->ts == b->ts &&
	    a->exp == b->exp && a->box_len == b->box_len &&
	    memcmp(a->box, b->box, a->box_len) == 0;
}

/* envelope.h: refused when created more than SP_CLOCK_SKEW in the
 * future, or expired (now at or past exp). */
static void
check_time(const struct sp_envelope *e, uint64_t now)
{
	int want = SP_OK;

	if (e->ts > now && e->ts - now > SP_CLOCK_SKEW)
		want = SP_E_VALUE;
	if (e->exp <= now)
		want = SP_E_VALUE;
	FUZZ_ASSERT(sp_env_check_time(e, now) == want);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct sp_envelope e, e2;
	struct sp_content c;
	struct sp_buf a = SP_BUF_INIT, b = SP_BUF_INIT, plain = SP_BUF_INIT;
	int rc;

	if (!ready) {
		if (fuzz_keys_init() == -1)
			return 0;
		ready = 1;
	}
	if (sp_env_decode(&e, data, size) != SP_OK)
		return 0;
	check_header(&e);
	FUZZ_ASSERT(e.box >= data && e.box + e.box_len <= data + size);

	FUZZ_ASSERT(sp_env_encode(&e, &a) == SP_OK);
	FUZZ_ASSERT(sp_env_decode(&e2, a.data, a.len) == SP_OK);
	FUZZ_ASSERT(same_header(&e, &e2));
	FUZZ_ASSERT(sp_env_encode(&e2, &b) == SP_OK);
	FUZZ_ASSERT(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);

	check_time(&e, e.ts);
	check_time(&e, e.exp);
	check_time(&e, e.exp - 1);
	check_time(&e, e.ts - SP_CLOCK_SKEW);
	check_time(&e, e.ts - SP_CLOCK_SKEW - 1);
	check_time(&e, e.exp + 1);

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
	sp_buf_free(&a);
	sp_buf_free(&b);
	return 0;
}
