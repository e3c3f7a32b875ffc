/*
 * sec_sign.h - which certificate keys can sign a record, and the signing
 * and checking itself (docs/SECURITY.md, "Signature algorithms").
 *
 * The algorithm follows from the key type, and the record names it, so a
 * verifier refuses a signature made with any other algorithm than the one
 * the leaf's key type allows (no algorithm confusion):
 *   EC P-256     -> ECDSA with SHA-256, DER-encoded (r, s)
 *   Ed25519      -> Ed25519 (pure, over the whole message)
 *   RSA >= 2048  -> RSASSA-PSS, SHA-256, MGF1-SHA-256, 32-byte salt
 */
#ifndef DRT_SEC_SIGN_H
#define DRT_SEC_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <drt.h>

enum sec_alg {
    SEC_ALG_NONE = 0,
    SEC_ALG_ECDSA_P256_SHA256 = 1,
    SEC_ALG_ED25519 = 2,
    SEC_ALG_RSA_PSS_SHA256 = 3,
};

#define SEC_RSA_MIN_BITS 2048
#define SEC_SIG_MAX 1024 /* RSA-8192; bounds what a verifier accepts */

/* The algorithm a key of this type signs with, or SEC_ALG_NONE when the
 * type, curve or size is not one we accept. */
enum sec_alg sec_alg_of(const EVP_PKEY *key);

/* Signs msg with priv. *sig is OPENSSL_malloc'ed. DRT_E_CAPABILITY_MISMATCH
 * when the key cannot sign (unsupported type, public part only, provider
 * refusal), E_OUTOFMEMORY when allocation fails. */
HRESULT sec_sign(EVP_PKEY *priv, const uint8_t *msg, size_t len, uint8_t **sig, size_t *sig_len);

/* True only when sig is alg's signature of msg under pub and alg is the one
 * pub's type signs with. */
bool sec_verify(EVP_PKEY *pub, enum sec_alg alg, const uint8_t *msg, size_t len,
                const uint8_t *sig, size_t sig_len);

#endif
