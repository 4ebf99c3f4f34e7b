/*
 * frame.h - length-prefixed framing and the bounded msgpack pre-check.
 *
 * A frame is a 4-byte big-endian length followed by that many bytes of
 * one msgpack value.  These functions work on plain byte buffers so that
 * the relay, the client session and the fuzzers share one implementation.
 */
#ifndef SP_FRAME_H
#define SP_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/*
 * Look at the start of buf for a complete frame.
 * Returns 1 and sets *body and *body_len when a whole frame is there
 * (the frame occupies SP_FRAME_HEADER + *body_len bytes), 0 when more
 * bytes are needed, SP_E_TOO_LARGE when the declared length exceeds max
 * (or SP_FRAME_MAX), SP_E_MALFORMED when the declared length is 0.
 * A negative return means the stream cannot be resynchronised.
 */
int sp_frame_peek(const uint8_t *buf, size_t len, size_t max,
    const uint8_t **body, size_t *body_len);

/* Write the 4-byte header for a body of body_len bytes into hdr. */
void sp_frame_header(uint8_t hdr[SP_FRAME_HEADER], uint32_t body_len);

/*
 * Walk buf as msgpack without allocating and check that it is exactly
 * one value, nothing left over, nesting no deeper than max_depth, no map
 * with more than max_map entries nor array with more than max_array
 * elements, every declared length within the buffer, no ext types and
 * no float types.  Run before msgpack-c so that a header declaring a huge
 * count cannot make the unpacker allocate for it.
 * Returns SP_OK, SP_E_MALFORMED, SP_E_LIMIT or SP_E_TYPE.
 */
int sp_msgpack_check(const uint8_t *buf, size_t len, int max_depth,
    size_t max_map, size_t max_array);

#endif /* SP_FRAME_H */
