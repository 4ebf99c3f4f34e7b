/*
 * auth.h - the signatures a device makes over a relay's challenge.
 *
 * A relay opens every client session with a challenge: a fresh random
 * nonce and its own domain.  The device answers by signing, with its
 * Ed25519 key, one of these transcripts (u8 len = one length byte):
 *
 *   enrol: "sealpost-enrol-v0" || nonce || u8 len || domain
 *          || u8 len || addr || spk || bpk
 *   auth:  "sealpost-auth-v0" || nonce || u8 len || domain
 *          || u8 len || addr || be32 dev
 *
 * The signature is plain Ed25519 (crypto_sign_detached) of the
 * transcript.  Binding the domain stops a signature made for one relay
 * being replayed to another; the nonce stops replay to the same one.
 */
#ifndef SP_AUTH_H
#define SP_AUTH_H

#include <stdint.h>

#include "wire.h"

/* Sign / verify the enrolment transcript. Return SP_OK or SP_E_VALUE
 * (sign: over-long domain or address) / SP_E_CRYPTO (verify). */
int sp_auth_enrol_sign(uint8_t sig[SP_SIG_LEN],
    const uint8_t nonce[SP_NONCE_LEN], const char *domain, const char *addr,
    const uint8_t spk[SP_SIGN_PK_LEN], const uint8_t bpk[SP_BOX_PK_LEN],
    const uint8_t ssk[SP_SIGN_SK_LEN]);
int sp_auth_enrol_verify(const uint8_t sig[SP_SIG_LEN],
    const uint8_t nonce[SP_NONCE_LEN], const char *domain, const char *addr,
    const uint8_t spk[SP_SIGN_PK_LEN], const uint8_t bpk[SP_BOX_PK_LEN])
    __attribute__((warn_unused_result));

/* Sign / verify the session authentication transcript. */
int sp_auth_sign(uint8_t sig[SP_SIG_LEN], const uint8_t nonce[SP_NONCE_LEN],
    const char *domain, const char *addr, uint32_t dev,
    const uint8_t ssk[SP_SIGN_SK_LEN]);
int sp_auth_verify(const uint8_t sig[SP_SIG_LEN],
    const uint8_t nonce[SP_NONCE_LEN], const char *domain, const char *addr,
    uint32_t dev, const uint8_t spk[SP_SIGN_PK_LEN])
    __attribute__((warn_unused_result));

#endif /* SP_AUTH_H */
