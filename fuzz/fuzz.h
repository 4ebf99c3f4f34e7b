/*
 * fuzz.h - the entry point every fuzz target defines, and what the
 * targets share: property checks and the fixed keys of the seal tests.
 *
 * Built with clang -fsanitize=fuzzer, libFuzzer calls the entry point;
 * built otherwise, driver.c calls it on seed files and on mutations of
 * them, so the test suite replays the corpus without clang.  A target
 * states its properties with FUZZ_ASSERT: a property that does not hold
 * aborts, and both libFuzzer and the driver keep the input that did it.
 */
#ifndef SEALPOST_FUZZ_H
#define SEALPOST_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "envelope.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stop the run: a property the target checks does not hold. */
#define FUZZ_ASSERT(cond) do {						\
	if (!(cond))							\
		fuzz_fail(__FILE__, __LINE__, #cond);			\
} while (0)

void fuzz_fail(const char *file, int line, const char *what)
    __attribute__((noreturn));

/*
 * Read every byte of p[0..n) so that the sanitizers check the whole
 * range is valid memory; returns a value the compiler cannot drop.
 */
unsigned fuzz_touch(const void *p, size_t n);

/*
 * The keys seeds are sealed with (fuzz/mkcorpus.py makes the same):
 * the recipient device's X25519 pair from crypto_box_seed_keypair with
 * the seed {1, 0, ...}, the sender's Ed25519 pair from
 * crypto_sign_seed_keypair with {2, 0, ...}.  Filled by fuzz_keys_init,
 * which returns 0, or -1 when libsodium cannot start.
 */
struct fuzz_keys {
	uint8_t	rpk[SP_BOX_PK_LEN];
	uint8_t	rsk[SP_BOX_SK_LEN];
	uint8_t	spk[SP_SIGN_PK_LEN];
	uint8_t	ssk[SP_SIGN_SK_LEN];
};
extern struct fuzz_keys fuzz_keys;
int fuzz_keys_init(void);

/* Assert what envelope.h promises of content sp_env_open returned,
 * with its body inside plain. */
void fuzz_check_content(const struct sp_content *c,
    const struct sp_buf *plain);

/* Assert that c, when it comes from the known sender, sealed again into
 * header e opens to the same content. */
void fuzz_check_reseal(const struct sp_envelope *e,
    const struct sp_content *c);

/* Whether n is one of sp_buckets. */
int fuzz_is_bucket(size_t n);

#endif /* SEALPOST_FUZZ_H */
