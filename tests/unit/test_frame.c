/*
 * test_frame.c - framing and the bounded msgpack pre-check.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "frame.h"
#include "wire.h"

#define CHECK(buf, len) \
	sp_msgpack_check((buf), (len), SP_MSGPACK_MAX_DEPTH, \
	    SP_MSGPACK_MAX_MAP, SP_MSGPACK_MAX_ARRAY)

static void
test_peek_partial_header(void **state)
{
	const uint8_t	 hdr[4] = { 0, 0, 0, 1 };
	const uint8_t	*body = NULL;
	size_t		 n, body_len = 0;

	for (n = 0; n < SP_FRAME_HEADER; n++)
		assert_int_equal(sp_frame_peek(hdr, n, 0, &body, &body_len),
		    0);
	assert_null(body);
}

static void
test_peek_partial_body(void **state)
{
	const uint8_t	 buf[6] = { 0, 0, 0, 3, 0x01, 0x02 };
	const uint8_t	*body;
	size_t		 body_len;

	assert_int_equal(sp_frame_peek(buf, 4, 0, &body, &body_len), 0);
	assert_int_equal(sp_frame_peek(buf, 6, 0, &body, &body_len), 0);
}

static void
test_peek_whole(void **state)
{
	const uint8_t	 buf[9] = { 0, 0, 0, 3, 0x01, 0x02, 0x03, 0xaa,
	    0xbb };
	const uint8_t	*body = NULL;
	size_t		 body_len = 0;

	/* Exactly one frame, then one frame followed by more bytes. */
	assert_int_equal(sp_frame_peek(buf, 7, 0, &body, &body_len), 1);
	assert_ptr_equal(body, buf + 4);
	assert_int_equal(body_len, 3);
	assert_int_equal(sp_frame_peek(buf, 9, 0, &body, &body_len), 1);
	assert_int_equal(body_len, 3);
}

static void
test_peek_zero_length(void **state)
{
	const uint8_t	 buf[5] = { 0, 0, 0, 0, 0x80 };
	const uint8_t	*body;
	size_t		 body_len;

	assert_int_equal(sp_frame_peek(buf, 4, 0, &body, &body_len),
	    SP_E_MALFORMED);
	assert_int_equal(sp_frame_peek(buf, 5, 0, &body, &body_len),
	    SP_E_MALFORMED);
}

static void
test_peek_too_large(void **state)
{
	uint8_t		 hdr[SP_FRAME_HEADER];
	const uint8_t	*body;
	size_t		 body_len;

	/* Refused on the header alone, before any body byte. */
	sp_frame_header(hdr, SP_FRAME_MAX + 1);
	assert_int_equal(sp_frame_peek(hdr, 4, 0, &body, &body_len),
	    SP_E_TOO_LARGE);
	assert_int_equal(sp_frame_peek(hdr, 4, SP_FRAME_MAX * 2, &body,
	    &body_len), SP_E_TOO_LARGE);

	sp_frame_header(hdr, 0xffffffff);
	assert_int_equal(sp_frame_peek(hdr, 4, 0, &body, &body_len),
	    SP_E_TOO_LARGE);

	/* The largest frame is fine, and only waits for its body. */
	sp_frame_header(hdr, SP_FRAME_MAX);
	assert_int_equal(sp_frame_peek(hdr, 4, 0, &body, &body_len), 0);

	/* A caller's own, smaller bound. */
	sp_frame_header(hdr, 101);
	assert_int_equal(sp_frame_peek(hdr, 4, 100, &body, &body_len),
	    SP_E_TOO_LARGE);
	sp_frame_header(hdr, 100);
	assert_int_equal(sp_frame_peek(hdr, 4, 100, &body, &body_len), 0);
}

static void
test_header(void **state)
{
	uint8_t	 hdr[SP_FRAME_HEADER];

	sp_frame_header(hdr, 0x01020304);
	assert_int_equal(hdr[0], 1);
	assert_int_equal(hdr[1], 2);
	assert_int_equal(hdr[2], 3);
	assert_int_equal(hdr[3], 4);
}

static void
test_check_scalars(void **state)
{
	static const struct {
		uint8_t	 b[10];
		size_t	 len;
	} ok[] = {
		{ { 0x00 }, 1 },			/* fixint */
		{ { 0x7f }, 1 },
		{ { 0xe0 }, 1 },			/* negative fixint */
		{ { 0xc0 }, 1 },			/* nil */
		{ { 0xc2 }, 1 },
		{ { 0xc3 }, 1 },
		{ { 0xcc, 0xff }, 2 },
		{ { 0xcd, 0xff, 0xff }, 3 },
		{ { 0xce, 1, 2, 3, 4 }, 5 },
		{ { 0xcf, 1, 2, 3, 4, 5, 6, 7, 8 }, 9 },
		{ { 0xd0, 0x80 }, 2 },
		{ { 0xd1, 1, 2 }, 3 },
		{ { 0xd2, 1, 2, 3, 4 }, 5 },
		{ { 0xd3, 1, 2, 3, 4, 5, 6, 7, 8 }, 9 },
		{ { 0xa0 }, 1 },			/* empty fixstr */
		{ { 0xa2, 'h', 'i' }, 3 },
		{ { 0xd9, 2, 'h', 'i' }, 4 },
		{ { 0xda, 0, 2, 'h', 'i' }, 5 },
		{ { 0xdb, 0, 0, 0, 2, 'h', 'i' }, 7 },
		{ { 0xc4, 1, 0xff }, 3 },
		{ { 0xc5, 0, 1, 0xff }, 4 },
		{ { 0xc6, 0, 0, 0, 1, 0xff }, 6 },
		{ { 0x80 }, 1 },			/* empty map */
		{ { 0x90 }, 1 },			/* empty array */
		{ { 0xdc, 0, 0 }, 3 },
		{ { 0xde, 0, 1, 0x01, 0x02 }, 5 },
		{ { 0xdf, 0, 0, 0, 1, 0x01, 0x02 }, 7 },
		{ { 0xdd, 0, 0, 0, 2, 0x01, 0x02 }, 7 },
	};
	size_t	 i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_int_equal(CHECK(ok[i].b, ok[i].len), SP_OK);
}

static void
test_check_types_refused(void **state)
{
	static const struct {
		uint8_t	 b[10];
		size_t	 len;
	} bad[] = {
		{ { 0xca, 0, 0, 0, 0 }, 5 },		/* float 32 */
		{ { 0xcb, 0, 0, 0, 0, 0, 0, 0, 0 }, 9 },/* float 64 */
		{ { 0xd4, 1, 0 }, 3 },			/* fixext 1 */
		{ { 0xd5, 1, 0, 0 }, 4 },
		{ { 0xd6, 1, 0, 0, 0, 0 }, 6 },
		{ { 0xd7, 1, 0, 0, 0, 0, 0, 0, 0, 0 }, 10 },
		{ { 0xd8, 1 }, 2 },			/* fixext 16 */
		{ { 0xc7, 1, 1, 0 }, 4 },		/* ext 8 */
		{ { 0xc8, 0, 1, 1, 0 }, 5 },
		{ { 0xc9, 0, 0, 0, 1, 1, 0 }, 7 },
		{ { 0x81, 0xa1, 'x', 0xca, 0, 0, 0, 0 }, 8 },
	};
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(CHECK(bad[i].b, bad[i].len), SP_E_TYPE);
}

static void
test_check_malformed(void **state)
{
	static const struct {
		uint8_t	 b[10];
		size_t	 len;
	} bad[] = {
		{ { 0xc1 }, 1 },			/* never used */
		{ { 0x01, 0x02 }, 2 },			/* two values */
		{ { 0x80, 0x00 }, 2 },			/* trailing byte */
		{ { 0xcc }, 1 },			/* truncated ints */
		{ { 0xcd, 1 }, 2 },
		{ { 0xce, 1, 2, 3 }, 4 },
		{ { 0xcf, 1, 2, 3, 4, 5, 6, 7 }, 8 },
		{ { 0xd3, 1 }, 2 },
		{ { 0xa3, 'a', 'b' }, 3 },		/* str past the end */
		{ { 0xd9 }, 1 },			/* length cut off */
		{ { 0xd9, 5, 'a' }, 3 },
		{ { 0xda, 0xff, 0xff, 'a' }, 4 },
		{ { 0xdb, 0xff, 0xff, 0xff, 0xff, 'a' }, 6 },
		{ { 0xc4, 2, 0 }, 3 },			/* bin past the end */
		{ { 0xc5, 0 }, 2 },
		{ { 0xc6, 0x80, 0, 0, 0, 0 }, 6 },
		{ { 0x82, 0x01, 0x02 }, 3 },		/* map short */
		{ { 0x81, 0x01 }, 2 },			/* key, no value */
		{ { 0x93, 0x01 }, 2 },			/* array short */
		{ { 0xdc, 0 }, 2 },			/* count cut off */
		{ { 0xdf, 0, 0 }, 3 },
	};
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(CHECK(bad[i].b, bad[i].len), SP_E_MALFORMED);

	assert_int_equal(CHECK((const uint8_t *)"", 0), SP_E_MALFORMED);
	assert_int_equal(CHECK(NULL, 0), SP_E_MALFORMED);
}

static void
test_check_depth(void **state)
{
	const uint8_t	 four[] = { 0x91, 0x91, 0x91, 0x91, 0x01 };
	const uint8_t	 five[] = { 0x91, 0x91, 0x91, 0x91, 0x91, 0x01 };
	const uint8_t	 maps[] = { 0x81, 0x01, 0x81, 0x01, 0x81, 0x01,
	    0x81, 0x01, 0x81, 0x01, 0x01 };
	const uint8_t	 scalar = 0x05;
	uint8_t		*deep;
	size_t		 n = 100000;

	assert_int_equal(CHECK(four, sizeof(four)), SP_OK);
	assert_int_equal(CHECK(five, sizeof(five)), SP_E_LIMIT);
	assert_int_equal(CHECK(maps, sizeof(maps)), SP_E_LIMIT);
	assert_int_equal(CHECK(maps + 2, sizeof(maps) - 2), SP_OK);

	/* Depth 0 allows a scalar only. */
	assert_int_equal(sp_msgpack_check(&scalar, 1, 0, 16, 16), SP_OK);
	assert_int_equal(sp_msgpack_check(four, sizeof(four), 0, 16, 16),
	    SP_E_LIMIT);

	/* A careless bound must not let hostile nesting run the stack
	 * out. */
	assert_non_null(deep = malloc(n));
	memset(deep, 0x91, n - 1);
	deep[n - 1] = 0x01;
	assert_int_equal(sp_msgpack_check(deep, n, 1 << 30, 16, 16),
	    SP_E_LIMIT);
	free(deep);
}

static void
test_check_counts(void **state)
{
	uint8_t	 buf[64];
	size_t	 i;

	/* fixmap of 15 and map16 of 16 entries pass, 17 does not. */
	buf[0] = 0x8f;
	for (i = 0; i < 30; i++)
		buf[1 + i] = 0x01;
	assert_int_equal(CHECK(buf, 31), SP_OK);

	buf[0] = 0xde;
	buf[1] = 0;
	buf[2] = 16;
	for (i = 0; i < 34; i++)
		buf[3 + i] = 0x01;
	assert_int_equal(CHECK(buf, 35), SP_OK);
	buf[2] = 17;
	assert_int_equal(CHECK(buf, 37), SP_E_LIMIT);

	/* Arrays: 32 pass, 33 do not. */
	buf[0] = 0xdc;
	buf[1] = 0;
	buf[2] = 32;
	for (i = 0; i < 33; i++)
		buf[3 + i] = 0x01;
	assert_int_equal(CHECK(buf, 35), SP_OK);
	buf[2] = 33;
	assert_int_equal(CHECK(buf, 36), SP_E_LIMIT);
}

static void
test_check_huge_counts(void **state)
{
	const uint8_t	 map32[] = { 0xdf, 0xff, 0xff, 0xff, 0xff, 0x01 };
	const uint8_t	 arr32[] = { 0xdd, 0xee, 0x6b, 0x28, 0x00, 0x01 };
	const uint8_t	 map16[] = { 0xde, 0xff, 0xff };
	const uint8_t	 nested[] = { 0x91, 0xdf, 0xff, 0xff, 0xff, 0xff };

	assert_int_equal(CHECK(map32, sizeof(map32)), SP_E_LIMIT);
	assert_int_equal(CHECK(arr32, sizeof(arr32)), SP_E_LIMIT);
	assert_int_equal(CHECK(map16, sizeof(map16)), SP_E_LIMIT);
	assert_int_equal(CHECK(nested, sizeof(nested)), SP_E_LIMIT);

	/* Without a count bound, the buffer's size still refuses them. */
	assert_int_equal(sp_msgpack_check(map32, sizeof(map32), 4,
	    SIZE_MAX, SIZE_MAX), SP_E_MALFORMED);
	assert_int_equal(sp_msgpack_check(arr32, sizeof(arr32), 4,
	    SIZE_MAX, SIZE_MAX), SP_E_MALFORMED);
}

/*
 * Random and mutated inputs: the check must never read outside the
 * buffer (ASan watches), and whatever it passes msgpack-c must unpack
 * as exactly one value.
 */
static void
test_check_random(void **state)
{
	static const uint8_t seed[] = { 0x83, 0xa1, 't', 0xa4, 'p', 'i',
	    'n', 'g', 0xa3, 'r', 'i', 'd', 0xcd, 0x01, 0x00, 0xa1, 'x',
	    0x92, 0xc4, 0x02, 0xaa, 0xbb, 0x81, 0xa1, 'k', 0xc3 };
	msgpack_unpacked u;
	uint32_t	 x = 0x12345678;
	uint8_t		*buf;
	size_t		 len, off, i, j, passed = 0;

	assert_int_equal(CHECK(seed, sizeof(seed)), SP_OK);

	for (i = 0; i < 40000; i++) {
		len = 1 + i % 40;
		assert_non_null(buf = malloc(len));
		for (j = 0; j < len; j++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			/* Half the cases: the seed with a few bytes
			 * changed, so that deep paths are reached. */
			if (i % 2 == 0 && j < sizeof(seed) && x % 5 != 0)
				buf[j] = seed[j];
			else
				buf[j] = x >> 8;
		}
		if (CHECK(buf, len) == SP_OK) {
			passed++;
			off = 0;
			msgpack_unpacked_init(&u);
			assert_int_equal(msgpack_unpack_next(&u,
			    (const char *)buf, len, &off),
			    MSGPACK_UNPACK_SUCCESS);
			assert_int_equal(off, len);
			msgpack_unpacked_destroy(&u);
		}
		free(buf);
	}
	assert_true(passed > 100);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peek_partial_header),
		cmocka_unit_test(test_peek_partial_body),
		cmocka_unit_test(test_peek_whole),
		cmocka_unit_test(test_peek_zero_length),
		cmocka_unit_test(test_peek_too_large),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_check_scalars),
		cmocka_unit_test(test_check_types_refused),
		cmocka_unit_test(test_check_malformed),
		cmocka_unit_test(test_check_depth),
		cmocka_unit_test(test_check_counts),
		cmocka_unit_test(test_check_huge_counts),
		cmocka_unit_test(test_check_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
