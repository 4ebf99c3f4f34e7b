/*
 * msg.c - strict msgpack codec of every protocol message.
 *
 * Both directions are driven by two tables: one describing each field
 * (its key, its kind and where it lives in the struct) and one listing
 * the fields of each message type in their canonical order.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <msgpack.h>

#include "address.h"
#include "buf.h"
#include "frame.h"
#include "msg.h"
#include "wire.h"

enum kind {
	K_U32,		/* positive integer below 2^32 */
	K_U64,		/* positive integer */
	K_BIN,		/* bin of exactly len bytes */
	K_ENV,		/* bin of any length, referenced in place */
	K_ADDR,		/* str, canonical address */
	K_DOMAIN,	/* str, canonical domain */
	K_CODE,		/* str, 1..SP_CODE_MAX bytes 0x21-0x7e */
	K_TEXT,		/* str, 0..SP_ERRMSG_MAX bytes 0x20-0x7e */
	K_DEVS,		/* array of device key maps */
};

enum field_id {
	F_END = 0,
	F_RID, F_NONCE, F_DOMAIN, F_ADDR, F_CODE, F_SPK, F_BPK, F_SIG,
	F_DEV, F_ERR, F_MSG, F_ENV, F_ID, F_SEQ, F_N, F_DEVS,
	/* Inside each element of "devs", relative to sp_device_keys. */
	F_KDEV, F_KSPK, F_KBPK,
};

struct field {
	const char	*key;
	enum kind	 kind;
	size_t		 off;	/* offset in its struct */
	size_t		 len;	/* bin: exact length; str: buffer size */
};

#define M(member)	offsetof(struct sp_msg, member)
#define MS(member)	sizeof(((struct sp_msg *)0)->member)
#define D(member)	offsetof(struct sp_device_keys, member)

static const struct field fields[] = {
	[F_RID]		= { "rid",	K_U32,	  M(rid),    0 },
	[F_NONCE]	= { "nonce",	K_BIN,	  M(nonce),  SP_NONCE_LEN },
	[F_DOMAIN]	= { "domain",	K_DOMAIN, M(domain), MS(domain) },
	[F_ADDR]	= { "addr",	K_ADDR,	  M(addr),   MS(addr) },
	[F_CODE]	= { "code",	K_CODE,	  M(code),   MS(code) },
	[F_SPK]		= { "spk",	K_BIN,	  M(spk),    SP_SIGN_PK_LEN },
	[F_BPK]		= { "bpk",	K_BIN,	  M(bpk),    SP_BOX_PK_LEN },
	[F_SIG]		= { "sig",	K_BIN,	  M(sig),    SP_SIG_LEN },
	[F_DEV]		= { "dev",	K_U32,	  M(dev),    0 },
	[F_ERR]		= { "err",	K_U32,	  M(err),    0 },
	[F_MSG]		= { "msg",	K_TEXT,	  M(msg),    MS(msg) },
	[F_ENV]		= { "env",	K_ENV,	  M(env),    0 },
	[F_ID]		= { "id",	K_BIN,	  M(id),     SP_ID_LEN },
	[F_SEQ]		= { "seq",	K_U64,	  M(seq),    0 },
	[F_N]		= { "n",	K_U32,	  M(n),      0 },
	[F_DEVS]	= { "devs",	K_DEVS,	  M(devs),   0 },
	[F_KDEV]	= { "dev",	K_U32,	  D(dev),    0 },
	[F_KSPK]	= { "spk",	K_BIN,	  D(spk),    SP_SIGN_PK_LEN },
	[F_KBPK]	= { "bpk",	K_BIN,	  D(bpk),    SP_BOX_PK_LEN },
};

#define KEYS_MAX	6

struct msg_type {
	const char	*name;
	uint8_t		 keys[KEYS_MAX + 1];	/* F_END terminated */
};

static const struct msg_type types[SP_MSG_TYPE_COUNT] = {
	[SP_MSG_NONE]	   = { "?",	    { F_END } },
	[SP_MSG_CHALLENGE] = { "challenge", { F_NONCE, F_DOMAIN } },
	[SP_MSG_ENROL]	   = { "enrol",
	    { F_RID, F_ADDR, F_CODE, F_SPK, F_BPK, F_SIG } },
	[SP_MSG_ENROLLED]  = { "enrolled",  { F_RID, F_DEV } },
	[SP_MSG_AUTH]	   = { "auth",	    { F_RID, F_ADDR, F_DEV, F_SIG } },
	[SP_MSG_OK]	   = { "ok",	    { F_RID } },
	[SP_MSG_ERROR]	   = { "error",	    { F_RID, F_ERR, F_MSG } },
	[SP_MSG_SEND]	   = { "send",	    { F_RID, F_ENV } },
	[SP_MSG_ACCEPTED]  = { "accepted",  { F_RID, F_ID } },
	[SP_MSG_FETCH]	   = { "fetch",	    { F_RID } },
	[SP_MSG_DELIVER]   = { "deliver",   { F_SEQ, F_ENV } },
	[SP_MSG_FETCHED]   = { "fetched",   { F_RID, F_N } },
	[SP_MSG_ACK]	   = { "ack",	    { F_RID, F_SEQ } },
	[SP_MSG_LOOKUP]	   = { "lookup",    { F_RID, F_ADDR } },
	[SP_MSG_KEYS]	   = { "keys",	    { F_RID, F_ADDR, F_DEVS } },
	[SP_MSG_RELAY]	   = { "relay",	    { F_RID, F_ENV } },
	[SP_MSG_PING]	   = { "ping",	    { F_RID } },
};

static const uint8_t dev_keys[] = { F_KDEV, F_KSPK, F_KBPK, F_END };

static int decode_map(const msgpack_object_map *, const uint8_t *,
    struct sp_msg *, void *);
static int encode_map(msgpack_packer *, const uint8_t *, const char *,
    const struct sp_msg *, const void *);

const char *
sp_msg_type_name(enum sp_msg_type type)
{
	if (type <= SP_MSG_NONE || type >= SP_MSG_TYPE_COUNT)
		return "?";
	return types[type].name;
}

static int
key_is(const msgpack_object *o, const char *key)
{
	return o->type == MSGPACK_OBJECT_STR &&
	    o->via.str.size == strlen(key) &&
	    memcmp(o->via.str.ptr, key, o->via.str.size) == 0;
}

static size_t
nkeys(const uint8_t *keys)
{
	size_t	 n = 0;

	while (keys[n] != F_END)
		n++;
	return n;
}

static int
printable(const char *s, size_t n, char lo)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (s[i] < lo || s[i] > 0x7e)
			return 0;
	return 1;
}

/*
 * Check a text field of n bytes (not necessarily NUL-terminated) the
 * same way for both directions.  Returns SP_OK, SP_E_ADDRESS or
 * SP_E_VALUE.
 */
static int
text_check(enum kind kind, const char *s, size_t n, size_t cap)
{
	char	 tmp[SP_ADDR_MAX + 1];

	if (n >= cap || memchr(s, '\0', n) != NULL)
		return kind == K_ADDR || kind == K_DOMAIN ? SP_E_ADDRESS :
		    SP_E_VALUE;

	switch (kind) {
	case K_ADDR:
	case K_DOMAIN:
		memcpy(tmp, s, n);
		tmp[n] = '\0';
		if (kind == K_ADDR ? sp_addr_is_canonical(tmp) :
		    sp_domain_is_canonical(tmp))
			return SP_OK;
		return SP_E_ADDRESS;
	case K_CODE:
		return n > 0 && printable(s, n, 0x21) ? SP_OK : SP_E_VALUE;
	case K_TEXT:
		return printable(s, n, 0x20) ? SP_OK : SP_E_VALUE;
	default:
		return SP_E_VALUE;
	}
}

static int
decode_devs(const msgpack_object *o, struct sp_msg *m)
{
	const msgpack_object_array *a = &o->via.array;
	uint32_t i;
	int	 rc;

	if (o->type != MSGPACK_OBJECT_ARRAY)
		return SP_E_TYPE;
	if (a->size > SP_DEVICES_MAX)
		return SP_E_LIMIT;

	for (i = 0; i < a->size; i++) {
		if (a->ptr[i].type != MSGPACK_OBJECT_MAP)
			return SP_E_TYPE;
		rc = decode_map(&a->ptr[i].via.map, dev_keys, m, &m->devs[i]);
		if (rc != SP_OK)
			return rc;
	}
	m->ndevs = a->size;
	return SP_OK;
}

static int
decode_field(const struct field *f, const msgpack_object *o,
    struct sp_msg *m, void *base)
{
	uint8_t	*dst = (uint8_t *)base + f->off;
	uint32_t v32;
	int	 rc;

	switch (f->kind) {
	case K_U32:
	case K_U64:
		if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			return SP_E_TYPE;
		if (f->kind == K_U64) {
			memcpy(dst, &o->via.u64, sizeof(uint64_t));
			return SP_OK;
		}
		if (o->via.u64 > UINT32_MAX)
			return SP_E_VALUE;
		v32 = o->via.u64;
		memcpy(dst, &v32, sizeof(v32));
		return SP_OK;
	case K_BIN:
		if (o->type != MSGPACK_OBJECT_BIN)
			return SP_E_TYPE;
		if (o->via.bin.size != f->len)
			return SP_E_VALUE;
		memcpy(dst, o->via.bin.ptr, f->len);
		return SP_OK;
	case K_ENV:
		if (o->type != MSGPACK_OBJECT_BIN)
			return SP_E_TYPE;
		if (o->via.bin.size > SP_FRAME_MAX)
			return SP_E_TOO_LARGE;
		/* msgpack_unpack_next leaves bin objects pointing into
		 * the input, which is the caller's body. */
		m->env = (const uint8_t *)o->via.bin.ptr;
		m->env_len = o->via.bin.size;
		return SP_OK;
	case K_DEVS:
		return decode_devs(o, m);
	default:
		break;
	}

	if (o->type != MSGPACK_OBJECT_STR)
		return SP_E_TYPE;
	rc = text_check(f->kind, o->via.str.ptr, o->via.str.size, f->len);
	if (rc != SP_OK)
		return rc;
	memcpy(dst, o->via.str.ptr, o->via.str.size);
	dst[o->via.str.size] = '\0';
	return SP_OK;
}

/*
 * Decode the fields listed in keys from map into base.  Every listed
 * key is required and no other may appear, except "t" at the top level
 * (base == m), which the caller has read already.
 */
static int
decode_map(const msgpack_object_map *map, const uint8_t *keys,
    struct sp_msg *m, void *base)
{
	const msgpack_object_kv *kv;
	unsigned seen = 0;
	size_t	 i, k, n = nkeys(keys);
	int	 rc;

	for (i = 0; i < map->size; i++) {
		kv = &map->ptr[i];
		if (kv->key.type != MSGPACK_OBJECT_STR)
			return SP_E_TYPE;
		if (base == m && key_is(&kv->key, "t"))
			continue;

		for (k = 0; k < n; k++)
			if (key_is(&kv->key, fields[keys[k]].key))
				break;
		if (k == n || (seen & 1U << k))
			return SP_E_UNKNOWN;
		seen |= 1U << k;

		rc = decode_field(&fields[keys[k]], &kv->val, m, base);
		if (rc != SP_OK)
			return rc;
	}

	if (seen != (1U << n) - 1)
		return SP_E_MISSING;
	return SP_OK;
}

/* Find the one "t" key of the top-level map and look its type up. */
static int
decode_type(const msgpack_object_map *map, enum sp_msg_type *type)
{
	const msgpack_object *t = NULL;
	size_t	 i;
	int	 ty;

	for (i = 0; i < map->size; i++) {
		if (!key_is(&map->ptr[i].key, "t"))
			continue;
		if (t != NULL)
			return SP_E_UNKNOWN;
		t = &map->ptr[i].val;
	}
	if (t == NULL)
		return SP_E_MISSING;
	if (t->type != MSGPACK_OBJECT_STR)
		return SP_E_TYPE;

	for (ty = SP_MSG_NONE + 1; ty < SP_MSG_TYPE_COUNT; ty++)
		if (key_is(t, types[ty].name)) {
			*type = ty;
			return SP_OK;
		}
	return SP_E_UNKNOWN;
}

/*
 * Pick up the request id before anything else is judged, so that a
 * refusal can still be matched to its request.
 */
static void
peek_rid(const msgpack_object_map *map, struct sp_msg *m)
{
	size_t	 i;

	if (types[m->type].keys[0] != F_RID)
		return;
	for (i = 0; i < map->size; i++)
		if (key_is(&map->ptr[i].key, "rid") &&
		    map->ptr[i].val.type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
		    map->ptr[i].val.via.u64 <= UINT32_MAX)
			m->rid = map->ptr[i].val.via.u64;
}

int
sp_msg_decode(struct sp_msg *m, const uint8_t *body, size_t len)
{
	msgpack_unpacked	 u;
	msgpack_unpack_return	 ur;
	enum sp_msg_type	 type;
	uint32_t		 rid;
	size_t			 off = 0;
	int			 rc;

	memset(m, 0, sizeof(*m));
	if (len > SP_FRAME_MAX)
		return SP_E_TOO_LARGE;
	rc = sp_msgpack_check(body, len, SP_MSGPACK_MAX_DEPTH,
	    SP_MSGPACK_MAX_MAP, SP_MSGPACK_MAX_ARRAY);
	if (rc != SP_OK)
		return rc;

	msgpack_unpacked_init(&u);
	ur = msgpack_unpack_next(&u, (const char *)body, len, &off);
	if (ur != MSGPACK_UNPACK_SUCCESS || off != len) {
		rc = ur == MSGPACK_UNPACK_NOMEM_ERROR ? SP_E_NOMEM :
		    SP_E_MALFORMED;
		goto done;
	}
	if (u.data.type != MSGPACK_OBJECT_MAP) {
		rc = SP_E_TYPE;
		goto done;
	}

	if ((rc = decode_type(&u.data.via.map, &m->type)) != SP_OK)
		goto done;
	peek_rid(&u.data.via.map, m);
	rc = decode_map(&u.data.via.map, types[m->type].keys, m, m);

done:
	msgpack_unpacked_destroy(&u);
	if (rc != SP_OK) {
		type = m->type;
		rid = m->rid;
		memset(m, 0, sizeof(*m));
		m->type = type;
		m->rid = rid;
	}
	return rc;
}

static int
pack_str(msgpack_packer *pk, const char *s, size_t n)
{
	if (msgpack_pack_str(pk, n) != 0 ||
	    msgpack_pack_str_body(pk, s, n) != 0)
		return SP_E_NOMEM;
	return SP_OK;
}

static int
pack_bin(msgpack_packer *pk, const void *p, size_t n)
{
	if (msgpack_pack_bin(pk, n) != 0 ||
	    (n > 0 && msgpack_pack_bin_body(pk, p, n) != 0))
		return SP_E_NOMEM;
	return SP_OK;
}

static int
encode_devs(msgpack_packer *pk, const struct sp_msg *m)
{
	size_t	 i;
	int	 rc;

	if (m->ndevs > SP_DEVICES_MAX)
		return SP_E_VALUE;
	if (msgpack_pack_array(pk, m->ndevs) != 0)
		return SP_E_NOMEM;

	for (i = 0; i < m->ndevs; i++) {
		rc = encode_map(pk, dev_keys, NULL, m, &m->devs[i]);
		if (rc != SP_OK)
			return rc;
	}
	return SP_OK;
}

static int
encode_field(msgpack_packer *pk, const struct field *f,
    const struct sp_msg *m, const void *base)
{
	const uint8_t	*src = (const uint8_t *)base + f->off;
	uint64_t	 v64;
	uint32_t	 v32;
	size_t		 n;

	switch (f->kind) {
	case K_U32:
		memcpy(&v32, src, sizeof(v32));
		return msgpack_pack_uint32(pk, v32) ? SP_E_NOMEM : SP_OK;
	case K_U64:
		memcpy(&v64, src, sizeof(v64));
		return msgpack_pack_uint64(pk, v64) ? SP_E_NOMEM : SP_OK;
	case K_BIN:
		return pack_bin(pk, src, f->len);
	case K_ENV:
		if (m->env_len > SP_FRAME_MAX)
			return SP_E_TOO_LARGE;
		if (m->env == NULL && m->env_len > 0)
			return SP_E_VALUE;
		return pack_bin(pk, m->env, m->env_len);
	case K_DEVS:
		return encode_devs(pk, m);
	default:
		break;
	}

	n = strnlen((const char *)src, f->len);
	if (text_check(f->kind, (const char *)src, n, f->len) != SP_OK)
		return SP_E_VALUE;
	return pack_str(pk, (const char *)src, n);
}

/*
 * Encode the fields listed in keys from base as one map; at the top
 * level, tname is the message type, written first under "t".
 */
static int
encode_map(msgpack_packer *pk, const uint8_t *keys, const char *tname,
    const struct sp_msg *m, const void *base)
{
	const struct field *f;
	size_t	 k, n = nkeys(keys);
	int	 rc;

	if (msgpack_pack_map(pk, n + (tname != NULL)) != 0)
		return SP_E_NOMEM;
	if (tname != NULL && ((rc = pack_str(pk, "t", 1)) != SP_OK ||
	    (rc = pack_str(pk, tname, strlen(tname))) != SP_OK))
		return rc;

	for (k = 0; k < n; k++) {
		f = &fields[keys[k]];
		if ((rc = pack_str(pk, f->key, strlen(f->key))) != SP_OK)
			return rc;
		if ((rc = encode_field(pk, f, m, base)) != SP_OK)
			return rc;
	}
	return SP_OK;
}

int
sp_msg_encode(const struct sp_msg *m, struct sp_buf *out)
{
	msgpack_packer	 pk;
	size_t		 start = out->len, body_len;
	uint8_t		 hdr[SP_FRAME_HEADER] = { 0 };
	int		 rc;

	if (m->type <= SP_MSG_NONE || m->type >= SP_MSG_TYPE_COUNT)
		return SP_E_VALUE;

	/* The header goes in first as a placeholder, filled in once the
	 * body's length is known. */
	if ((rc = sp_buf_append(out, hdr, sizeof(hdr))) != SP_OK)
		return rc;
	msgpack_packer_init(&pk, out, sp_buf_msgpack_write);

	rc = encode_map(&pk, types[m->type].keys, types[m->type].name, m, m);
	if (rc != SP_OK)
		goto fail;

	body_len = out->len - start - SP_FRAME_HEADER;
	if (body_len > SP_FRAME_MAX) {
		rc = SP_E_TOO_LARGE;
		goto fail;
	}
	sp_frame_header(out->data + start, body_len);
	return SP_OK;

fail:
	out->len = start;
	return rc;
}

void
sp_msg_error(struct sp_msg *m, uint32_t rid, enum sp_wire_error err,
    const char *text)
{
	size_t	 i, n = 0;

	memset(m, 0, sizeof(*m));
	m->type = SP_MSG_ERROR;
	m->rid = rid;
	m->err = err;

	for (i = 0; text != NULL && text[i] != '\0' && n < SP_ERRMSG_MAX; i++)
		if (text[i] >= 0x20 && text[i] <= 0x7e)
			m->msg[n++] = text[i];
	m->msg[n] = '\0';
}
