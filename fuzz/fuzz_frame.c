/*
 * fuzz_frame.c - the framing layer and the msgpack pre-check.
 *
 * Input: bytes as they arrive from a peer, a stream of frames.
 *
 * Properties:
 *  - sp_frame_peek gives exactly what frame.h promises for the header
 *    in front of it (checked against a model of the contract), for the
 *    protocol's bound and for a smaller one, and never reports a body
 *    that runs past the buffer;
 *  - sp_msgpack_check never reads outside its buffer, and whatever it
 *    passes msgpack-c unpacks whole, with no float or ext value and
 *    within the nesting and count limits it was given.
 */
#include <string.h>

#include <msgpack.h>

#include "frame.h"
#include "fuzz.h"

/* Generous bounds; msgpack-c itself nests at most 32 deep. */
#define WIDE_DEPTH	32
#define WIDE_COUNT	(1u << 20)

/* What frame.h says sp_frame_peek returns for this buffer. */
static int
peek_model(const uint8_t *buf, size_t len, size_t max)
{
	uint32_t n;

	if (len < SP_FRAME_HEADER)
		return 0;
	n = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
	    (uint32_t)buf[2] << 8 | buf[3];
	if (n == 0)
		return SP_E_MALFORMED;
	if (n > max || n > SP_FRAME_MAX)
		return SP_E_TOO_LARGE;
	return len - SP_FRAME_HEADER >= n ? 1 : 0;
}

static void
check_peek(const uint8_t *buf, size_t len, size_t max)
{
	const uint8_t *body = NULL;
	size_t blen = 0;
	int rc;

	rc = sp_frame_peek(buf, len, max, &body, &blen);
	FUZZ_ASSERT(rc == peek_model(buf, len, max));
	if (rc != 1)
		return;
	FUZZ_ASSERT(body == buf + SP_FRAME_HEADER);
	FUZZ_ASSERT(blen > 0 && blen <= max && blen <= SP_FRAME_MAX);
	FUZZ_ASSERT(SP_FRAME_HEADER + blen <= len);
}

/*
 * Walk what msgpack-c made of a value that passed the check; returns
 * its nesting depth (a scalar is 0, a container one more than its
 * deepest element).
 */
static int
walk(const msgpack_object *o, size_t max_map, size_t max_array)
{
	uint32_t i;
	int d, deepest = 0;

	switch (o->type) {
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
	case MSGPACK_OBJECT_EXT:
		fuzz_fail(__FILE__, __LINE__, "float or ext passed the check");
	case MSGPACK_OBJECT_STR:
		fuzz_touch(o->via.str.ptr, o->via.str.size);
		return 0;
	case MSGPACK_OBJECT_BIN:
		fuzz_touch(o->via.bin.ptr, o->via.bin.size);
		return 0;
	case MSGPACK_OBJECT_ARRAY:
		FUZZ_ASSERT(o->via.array.size <= max_array);
		for (i = 0; i < o->via.array.size; i++) {
			d = walk(&o->via.array.ptr[i], max_map, max_array);
			if (d > deepest)
				deepest = d;
		}
		return deepest + 1;
	case MSGPACK_OBJECT_MAP:
		FUZZ_ASSERT(o->via.map.size <= max_map);
		for (i = 0; i < o->via.map.size; i++) {
			d = walk(&o->via.map.ptr[i].key, max_map, max_array);
			if (d > deepest)
				deepest = d;
			d = walk(&o->via.map.ptr[i].val, max_map, max_array);
			if (d > deepest)
				deepest = d;
		}
		return deepest + 1;
	default:
		return 0;
	}
}

/* Run the check with the given limits; when it passes, msgpack-c must
 * agree that the buffer is one value within them. */
static int
check_msgpack(const uint8_t *buf, size_t len, int max_depth,
    size_t max_map, size_t max_array)
{
	msgpack_unpacked u;
	msgpack_unpack_return ur;
	size_t off = 0;
	int rc;

	rc = sp_msgpack_check(buf, len, max_depth, max_map, max_array);
	FUZZ_ASSERT(rc == SP_OK || rc == SP_E_MALFORMED ||
	    rc == SP_E_LIMIT || rc == SP_E_TYPE);
	if (rc != SP_OK)
		return rc;

	msgpack_unpacked_init(&u);
	ur = msgpack_unpack_next(&u, (const char *)buf, len, &off);
	FUZZ_ASSERT(ur == MSGPACK_UNPACK_SUCCESS);
	FUZZ_ASSERT(off == len);
	FUZZ_ASSERT(walk(&u.data, max_map, max_array) <= max_depth);
	msgpack_unpacked_destroy(&u);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *body;
	size_t at = 0, blen, small;
	int rc, wide;

	/* A bound below the protocol's, picked by the input itself. */
	small = size > 0 ? 1 + (size_t)data[size - 1] * 16 : 1;
	check_peek(data, size, SP_FRAME_MAX);
	check_peek(data, size, small);

	/* Consume the stream frame by frame, as a connection does. */
	while ((rc = sp_frame_peek(data + at, size - at, SP_FRAME_MAX,
	    &body, &blen)) == 1) {
		wide = check_msgpack(body, blen, WIDE_DEPTH, WIDE_COUNT,
		    WIDE_COUNT);
		rc = check_msgpack(body, blen, SP_MSGPACK_MAX_DEPTH,
		    SP_MSGPACK_MAX_MAP, SP_MSGPACK_MAX_ARRAY);
		/* Tighter limits can only refuse more. */
		if (rc == SP_OK)
			FUZZ_ASSERT(wide == SP_OK);
		at += SP_FRAME_HEADER + blen;
	}
	FUZZ_ASSERT(at <= size);

	/* The whole input as one value, with extreme limits; past
	 * msgpack-c's depth only the walker's own cap holds. */
	check_msgpack(data, size, WIDE_DEPTH, WIDE_COUNT, WIDE_COUNT);
	rc = sp_msgpack_check(data, size, 1 << 20, WIDE_COUNT, WIDE_COUNT);
	FUZZ_ASSERT(rc == SP_OK || rc == SP_E_MALFORMED ||
	    rc == SP_E_LIMIT || rc == SP_E_TYPE);
	check_msgpack(data, size, 1, 1, 1);
	check_msgpack(data, size, 0, 0, 0);
	return 0;
}
