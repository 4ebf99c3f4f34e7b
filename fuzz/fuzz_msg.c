/*
 * fuzz_msg.c - every message decoder, and the encoder fed raw structs.
 *
 * Input: one frame body (msgpack, without the length header).
 *
 * Properties:
 *  - a refused body leaves the message zeroed but for type and rid,
 *    and the status is one msg.h lists;
 *  - whatever decodes re-encodes, the encoding decodes to the same
 *    message and re-encodes to the same bytes (the encoder is
 *    canonical and accepts everything the decoder does);
 *  - the encoder, handed a struct filled with the input's bytes,
 *    either refuses it or writes a frame the decoder accepts: it never
 *    sends what a peer must refuse;
 *  - an error built by sp_msg_error from any text always encodes.
 */
#include <string.h>

#include "fuzz.h"
#include "msg.h"

static struct sp_msg m, m2, raw;

static int
decode_status_ok(int rc)
{
	return rc == SP_OK || rc == SP_E_MALFORMED || rc == SP_E_LIMIT ||
	    rc == SP_E_TYPE || rc == SP_E_MISSING || rc == SP_E_UNKNOWN ||
	    rc == SP_E_ADDRESS || rc == SP_E_VALUE || rc == SP_E_TOO_LARGE ||
	    rc == SP_E_NOMEM;
}

/* Two decoded messages are the same, env compared by content. */
static int
same_msg(const struct sp_msg *a, const struct sp_msg *b)
{
	struct sp_msg x = *a, y = *b;

	if (a->env_len != b->env_len || (a->env_len > 0 &&
	    memcmp(a->env, b->env, a->env_len) != 0))
		return 0;
	x.env = y.env = NULL;
	return memcmp(&x, &y, sizeof(x)) == 0;
}

/* Decode the frame in buf, which sp_msg_encode made, into out. */
static void
decode_frame(struct sp_msg *out, const struct sp_buf *buf)
{
	FUZZ_ASSERT(buf->len > SP_FRAME_HEADER);
	FUZZ_ASSERT(buf->len - SP_FRAME_HEADER ==
	    ((uint32_t)buf->data[0] << 24 | (uint32_t)buf->data[1] << 16 |
	    (uint32_t)buf->data[2] << 8 | buf->data[3]));
	FUZZ_ASSERT(sp_msg_decode(out, buf->data + SP_FRAME_HEADER,
	    buf->len - SP_FRAME_HEADER) == SP_OK);
}

static void
roundtrip(const uint8_t *data, size_t size)
{
	struct sp_buf a = SP_BUF_INIT, b = SP_BUF_INIT;
	struct sp_msg zero;
	int rc;

	rc = sp_msg_decode(&m, data, size);
	FUZZ_ASSERT(decode_status_ok(rc));
	if (rc != SP_OK) {
		memset(&zero, 0, sizeof(zero));
		zero.type = m.type;
		zero.rid = m.rid;
		FUZZ_ASSERT(memcmp(&zero, &m, sizeof(m)) == 0);
		return;
	}
	FUZZ_ASSERT(m.type > SP_MSG_NONE && m.type < SP_MSG_TYPE_COUNT);
	FUZZ_ASSERT(m.ndevs <= SP_DEVICES_MAX);
	if (m.env_len > 0)
		FUZZ_ASSERT(m.env >= data && m.env + m.env_len <= data + size);

	FUZZ_ASSERT(sp_msg_encode(&m, &a) == SP_OK);
	decode_frame(&m2, &a);
	FUZZ_ASSERT(same_msg(&m, &m2));
	FUZZ_ASSERT(sp_msg_encode(&m2, &b) == SP_OK);
	FUZZ_ASSERT(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	sp_buf_free(&a);
	sp_buf_free(&b);
}

/* The encoder on a struct it never made itself. */
static void
encode_raw(const uint8_t *data, size_t size)
{
	struct sp_buf a = SP_BUF_INIT, b = SP_BUF_INIT;
	size_t n = size < sizeof(raw) ? size : sizeof(raw);
	int rc;

	memset(&raw, 0, sizeof(raw));
	memcpy(&raw, data, n);
	raw.type = size > 0 ? data[0] % (SP_MSG_TYPE_COUNT + 1) : 0;
	raw.env = data;
	raw.env_len = size;
	/* Keep ndevs mostly in range so the fields behind it count. */
	if (size > 1 && data[1] != 0xff)
		raw.ndevs %= SP_DEVICES_MAX + 1;

	rc = sp_msg_encode(&raw, &a);
	FUZZ_ASSERT(rc == SP_OK || rc == SP_E_VALUE ||
	    rc == SP_E_TOO_LARGE || rc == SP_E_NOMEM);
	if (rc != SP_OK) {
		FUZZ_ASSERT(a.len == 0);
		goto done;
	}
	FUZZ_ASSERT(raw.type > SP_MSG_NONE && raw.type < SP_MSG_TYPE_COUNT);
	decode_frame(&m2, &a);
	FUZZ_ASSERT(m2.type == raw.type);
	FUZZ_ASSERT(sp_msg_encode(&m2, &b) == SP_OK);
	FUZZ_ASSERT(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
done:
	sp_buf_free(&a);
	sp_buf_free(&b);
}

static void
error_reply(const uint8_t *data, size_t size)
{
	struct sp_buf a = SP_BUF_INIT;
	char text[512];
	size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1, i;

	memcpy(text, data, n);
	text[n] = '\0';
	sp_msg_error(&m, 7, SP_WERR_BAD_MESSAGE, text);
	FUZZ_ASSERT(strlen(m.msg) <= SP_ERRMSG_MAX);
	for (i = 0; m.msg[i] != '\0'; i++)
		FUZZ_ASSERT(m.msg[i] >= 0x20 && m.msg[i] <= 0x7e);
	FUZZ_ASSERT(sp_msg_encode(&m, &a) == SP_OK);
	decode_frame(&m2, &a);
	FUZZ_ASSERT(same_msg(&m, &m2));
	sp_buf_free(&a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	roundtrip(data, size);
	encode_raw(data, size);
	error_reply(data, size);
	FUZZ_ASSERT(sp_msg_type_name(size > 0 ? data[0] : 0) != NULL);
	return 0;
}
