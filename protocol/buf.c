/*
 * buf.c - the growable byte buffer encoders append to.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "wire.h"

#define BUF_MIN_CAP	256

int
sp_buf_reserve(struct sp_buf *b, size_t n)
{
	uint8_t	*p;
	size_t	 cap;

	if (n <= b->cap - b->len)
		return SP_OK;
	if (n > SIZE_MAX / 2 - b->len)
		return SP_E_NOMEM;

	cap = b->cap ? b->cap : BUF_MIN_CAP;
	while (cap - b->len < n)
		cap *= 2;

	/*
	 * Grow by copying rather than realloc: the old block may hold
	 * sealed or secret bytes and must be wiped before it goes back
	 * to the allocator.
	 */
	if ((p = malloc(cap)) == NULL)
		return SP_E_NOMEM;
	if (b->data != NULL) {
		memcpy(p, b->data, b->len);
		sodium_memzero(b->data, b->cap);
		free(b->data);
	}
	b->data = p;
	b->cap = cap;
	return SP_OK;
}

int
sp_buf_append(struct sp_buf *b, const void *p, size_t n)
{
	int	 rc;

	if (n == 0)
		return SP_OK;
	if ((rc = sp_buf_reserve(b, n)) != SP_OK)
		return rc;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return SP_OK;
}

void
sp_buf_reset(struct sp_buf *b)
{
	b->len = 0;
}

void
sp_buf_free(struct sp_buf *b)
{
	if (b->data != NULL) {
		sodium_memzero(b->data, b->cap);
		free(b->data);
	}
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

int
sp_buf_msgpack_write(void *data, const char *p, size_t n)
{
	return sp_buf_append(data, p, n) == SP_OK ? 0 : -1;
}
