/*
 * buf.h - a growable byte buffer that encoders append to.
 */
#ifndef SP_BUF_H
#define SP_BUF_H

#include <stddef.h>
#include <stdint.h>

struct sp_buf {
	uint8_t	*data;
	size_t	 len;
	size_t	 cap;
};

#define SP_BUF_INIT { NULL, 0, 0 }

/* Make room for n more bytes. Returns SP_OK or SP_E_NOMEM. */
int	sp_buf_reserve(struct sp_buf *b, size_t n);

/* Append n bytes. Returns SP_OK or SP_E_NOMEM. */
int	sp_buf_append(struct sp_buf *b, const void *p, size_t n);

/* Forget the contents, keep the memory. */
void	sp_buf_reset(struct sp_buf *b);

/* Wipe and free the memory; b is empty and reusable afterwards. */
void	sp_buf_free(struct sp_buf *b);

/* Callback with msgpack-c's msgpack_packer_write signature; data is a
 * struct sp_buf *. Returns 0 or -1. */
int	sp_buf_msgpack_write(void *data, const char *p, size_t n);

#endif /* SP_BUF_H */
