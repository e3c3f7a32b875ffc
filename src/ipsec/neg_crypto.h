/*
 * neg_crypto.h - the primitives of the SA negotiation, all from OpenSSL 3
 * libcrypto: X25519 (EVP_PKEY), HKDF-SHA-256 (EVP_KDF), HMAC-SHA-256
 * (EVP_MAC) and AES-256-GCM (EVP_CIPHER). Nothing here keeps state between
 * calls; every secret a function makes is cleansed before it returns.
 */
#ifndef DRT_IPSEC_NEG_CRYPTO_H
#define DRT_IPSEC_NEG_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NEG_X25519_SIZE 32u
#define NEG_HASH_SIZE   32u
#define NEG_GCM_TAG     16u

/* The public key of the X25519 private key priv (32 random bytes). */
bool neg_x25519_public(const uint8_t priv[NEG_X25519_SIZE], uint8_t pub[NEG_X25519_SIZE]);
/* The shared secret; false when OpenSSL refuses (e.g. a low-order point
 * that gives the all-zero secret). */
bool neg_x25519_shared(const uint8_t priv[NEG_X25519_SIZE], const uint8_t peer[NEG_X25519_SIZE],
                       uint8_t shared[NEG_X25519_SIZE]);

/* HKDF-SHA-256 (RFC 5869), extract then expand. */
bool neg_hkdf(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
              const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len);
/* HKDF-Expand only, with prk as the pseudo-random key. */
bool neg_hkdf_expand(const uint8_t *prk, size_t prk_len, const uint8_t *info, size_t info_len,
                     uint8_t *out, size_t out_len);

/* HMAC-SHA-256 over the concatenation of up to 4 parts (NULL parts skipped). */
bool neg_hmac(const uint8_t *key, size_t key_len, const uint8_t *const parts[],
              const size_t lens[], size_t nparts, uint8_t out[NEG_HASH_SIZE]);

/* AES-256-GCM with a 12-byte nonce; the tag (16 bytes) follows the
 * ciphertext in out. open returns false on any tag mismatch. */
bool neg_gcm_seal(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad,
                  size_t aad_len, const uint8_t *pt, size_t len, uint8_t *out);
bool neg_gcm_open(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad,
                  size_t aad_len, const uint8_t *ct, size_t len_with_tag, uint8_t *out);

/* Constant-time comparison. */
bool neg_equal(const uint8_t *a, const uint8_t *b, size_t len);

#endif
