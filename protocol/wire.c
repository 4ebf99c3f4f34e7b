/*
 * wire.c - tables behind the protocol constants of wire.h.
 */
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

const uint32_t sp_buckets[SP_BUCKET_COUNT] = {
	256, 1024, 4096, 16384, 65536, 262144, 524288
};

/* Indexed by enum sp_wire_error; these names are what the client
 * prints and what the spec lists, so they are part of the protocol. */
static const char *const wire_error_names[] = {
	[SP_WERR_BAD_FRAME]		= "bad_frame",
	[SP_WERR_BAD_MESSAGE]		= "bad_message",
	[SP_WERR_AUTH_FAILED]		= "auth_failed",
	[SP_WERR_BAD_ADDRESS]		= "bad_address",
	[SP_WERR_NO_SUCH_USER]		= "no_such_user",
	[SP_WERR_BAD_CODE]		= "bad_code",
	[SP_WERR_BAD_ENVELOPE]		= "bad_envelope",
	[SP_WERR_NOT_ALLOWED]		= "not_allowed",
	[SP_WERR_TRY_LATER]		= "try_later",
	[SP_WERR_TOO_LARGE]		= "too_large",
	[SP_WERR_PEER_UNREACHABLE]	= "peer_unreachable",
	[SP_WERR_EXPIRED]		= "expired",
	[SP_WERR_STATE]			= "state",
	[SP_WERR_INTERNAL]		= "internal",
};

#define NWIRE_ERRORS \
	(sizeof(wire_error_names) / sizeof(wire_error_names[0]))

const char *
sp_wire_error_name(unsigned code)
{
	if (code >= NWIRE_ERRORS || wire_error_names[code] == NULL)
		return "unknown";
	return wire_error_names[code];
}

const char *
sp_strerror(int status)
{
	switch (status) {
	case SP_OK:
		return "success";
	case SP_E_TOO_LARGE:
		return "over a size bound";
	case SP_E_MALFORMED:
		return "malformed msgpack";
	case SP_E_TYPE:
		return "field of the wrong type";
	case SP_E_MISSING:
		return "required field missing";
	case SP_E_UNKNOWN:
		return "unknown type or key, or duplicate key";
	case SP_E_LIMIT:
		return "nesting or element count over its bound";
	case SP_E_ADDRESS:
		return "address not acceptable";
	case SP_E_CRYPTO:
		return "seal or signature did not verify";
	case SP_E_NOMEM:
		return "out of memory";
	case SP_E_VALUE:
		return "value out of range";
	case SP_E_STATE:
		return "not allowed in this state";
	}
	return "unknown status";
}
