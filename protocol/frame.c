/*
 * frame.c - length-prefixed framing and the bounded msgpack pre-check.
 */
#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "wire.h"

/*
 * The walker recurses once per nesting level.  Whatever a caller asks
 * for, it never goes deeper than this, so hostile input cannot run the
 * stack out even with a careless max_depth.
 */
#define CHECK_DEPTH_CAP	64

struct cursor {
	const uint8_t	*p;
	size_t		 left;
	int		 max_depth;
	size_t		 max_map;
	size_t		 max_array;
};

int
sp_frame_peek(const uint8_t *buf, size_t len, size_t max,
    const uint8_t **body, size_t *body_len)
{
	uint32_t	 n;

	/* max 0 means the protocol's own bound. */
	if (max == 0 || max > SP_FRAME_MAX)
		max = SP_FRAME_MAX;

	if (len < SP_FRAME_HEADER)
		return 0;

	n = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
	    (uint32_t)buf[2] << 8 | (uint32_t)buf[3];
	if (n == 0)
		return SP_E_MALFORMED;
	if (n > max)
		return SP_E_TOO_LARGE;

	/* Decided on the header alone: a too-large frame is refused
	 * before its body arrives. */
	if (len - SP_FRAME_HEADER < n)
		return 0;

	*body = buf + SP_FRAME_HEADER;
	*body_len = n;
	return 1;
}

void
sp_frame_header(uint8_t hdr[SP_FRAME_HEADER], uint32_t body_len)
{
	hdr[0] = body_len >> 24;
	hdr[1] = body_len >> 16;
	hdr[2] = body_len >> 8;
	hdr[3] = body_len;
}

/* Consume n bytes; refuse if the buffer ends first. */
static int
skip(struct cursor *c, uint64_t n)
{
	if (n > c->left)
		return SP_E_MALFORMED;
	c->p += n;
	c->left -= n;
	return SP_OK;
}

/* Read an nbytes-wide big-endian unsigned integer. */
static int
read_be(struct cursor *c, int nbytes, uint64_t *v)
{
	int	 i;

	if ((size_t)nbytes > c->left)
		return SP_E_MALFORMED;

	*v = 0;
	for (i = 0; i < nbytes; i++)
		*v = *v << 8 | c->p[i];
	c->p += nbytes;
	c->left -= nbytes;
	return SP_OK;
}

/* Read a length field of nbytes, then skip that many payload bytes. */
static int
skip_sized(struct cursor *c, int nbytes)
{
	uint64_t n;
	int	 rc;

	if ((rc = read_be(c, nbytes, &n)) != SP_OK)
		return rc;
	return skip(c, n);
}

static int check_value(struct cursor *, int);

/*
 * Check a container of count elements (a map counts its keys and its
 * values) whose header has been read, at nesting level depth + 1.
 */
static int
check_items(struct cursor *c, int depth, uint64_t count, int is_map)
{
	uint64_t i, values;
	int	 rc;

	if (depth + 1 > c->max_depth)
		return SP_E_LIMIT;
	if (count > (is_map ? c->max_map : c->max_array))
		return SP_E_LIMIT;

	/* Each value takes at least one byte: fail early on a count
	 * the rest of the buffer cannot possibly hold. */
	values = is_map ? count * 2 : count;
	if (values > c->left)
		return SP_E_MALFORMED;

	for (i = 0; i < values; i++)
		if ((rc = check_value(c, depth + 1)) != SP_OK)
			return rc;
	return SP_OK;
}

static int
check_value(struct cursor *c, int depth)
{
	uint64_t n;
	uint8_t	 b;
	int	 rc;

	if (c->left == 0)
		return SP_E_MALFORMED;
	b = *c->p++;
	c->left--;

	if (b <= 0x7f || b >= 0xe0)		/* fixint, negative fixint */
		return SP_OK;
	if (b <= 0x8f)				/* fixmap */
		return check_items(c, depth, b & 0x0f, 1);
	if (b <= 0x9f)				/* fixarray */
		return check_items(c, depth, b & 0x0f, 0);
	if (b <= 0xbf)				/* fixstr */
		return skip(c, b & 0x1f);

	switch (b) {
	case 0xc0:				/* nil */
	case 0xc2:				/* false */
	case 0xc3:				/* true */
		return SP_OK;
	case 0xc4:				/* bin 8 */
	case 0xd9:				/* str 8 */
		return skip_sized(c, 1);
	case 0xc5:				/* bin 16 */
	case 0xda:				/* str 16 */
		return skip_sized(c, 2);
	case 0xc6:				/* bin 32 */
	case 0xdb:				/* str 32 */
		return skip_sized(c, 4);
	case 0xc7: case 0xc8: case 0xc9:	/* ext 8/16/32 */
	case 0xd4: case 0xd5: case 0xd6:	/* fixext */
	case 0xd7: case 0xd8:
	case 0xca: case 0xcb:			/* float 32/64 */
		return SP_E_TYPE;
	case 0xcc: case 0xd0:			/* uint 8, int 8 */
		return skip(c, 1);
	case 0xcd: case 0xd1:			/* uint 16, int 16 */
		return skip(c, 2);
	case 0xce: case 0xd2:			/* uint 32, int 32 */
		return skip(c, 4);
	case 0xcf: case 0xd3:			/* uint 64, int 64 */
		return skip(c, 8);
	case 0xdc:				/* array 16 */
	case 0xde:				/* map 16 */
		if ((rc = read_be(c, 2, &n)) != SP_OK)
			return rc;
		return check_items(c, depth, n, b == 0xde);
	case 0xdd:				/* array 32 */
	case 0xdf:				/* map 32 */
		if ((rc = read_be(c, 4, &n)) != SP_OK)
			return rc;
		return check_items(c, depth, n, b == 0xdf);
	}

	/* 0xc1 is reserved: never valid msgpack. */
	return SP_E_MALFORMED;
}

int
sp_msgpack_check(const uint8_t *buf, size_t len, int max_depth,
    size_t max_map, size_t max_array)
{
	struct cursor	 c;
	int		 rc;

	if (buf == NULL || len == 0)
		return SP_E_MALFORMED;

	c.p = buf;
	c.left = len;
	c.max_depth = max_depth < CHECK_DEPTH_CAP ? max_depth :
	    CHECK_DEPTH_CAP;
	c.max_map = max_map;
	c.max_array = max_array;

	if ((rc = check_value(&c, 0)) != SP_OK)
		return rc;
	if (c.left != 0)
		return SP_E_MALFORMED;
	return SP_OK;
}
