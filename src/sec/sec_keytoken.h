/*
 * sec_keytoken.h - DRT_SECURE_CONFIDENTIALPAYLOAD: the content key that
 * encrypts a payload for one recipient, and the keytoken that carries it
 * to that recipient only (docs/SECURITY.md, "Confidential payload";
 * byte layouts and test vector in docs/PROTOCOL.md, "Keytoken").
 *
 * The keytoken's inner form is [MC-DRT] §2.2.3.1.2.1's: IV length, 6
 * zero bytes, IV, the 12-byte KEY_DATA_BLOB header 4b44424d 01000000
 * 20000000, the AES-256 key. The spec leaves how it is protected for the
 * recipient to the provider; ours wraps it to the public key of the
 * recipient's certificate:
 *   u8  version (1)   u8 wrap (1 = ECDH P-256, 3 = RSA-OAEP)
 *   32  recipient's key id (SHA-256 of its SubjectPublicKeyInfo)
 *   u16 wrapped length W, W wrapped bytes:
 *     wrap 1: ephemeral P-256 point (65, uncompressed) || AES-256-GCM of
 *             the inner form (64) || tag (16); key and IV from
 *             HKDF-SHA256(ECDH secret, no salt, SEC_KEYTOKEN_LABEL ||
 *             point || key id), the 36 header bytes as associated data
 *     wrap 3: RSA-OAEP (SHA-256, MGF1-SHA-256, no label) of the inner form
 * Buffers are sealed with AES-256-GCM under the content key, nonce = IV
 * with the buffer's index XORed into its last 4 bytes (no nonce is used
 * twice under one key), the 16-byte tag appended. Ed25519 keys cannot
 * receive: DRT_E_CAPABILITY_MISMATCH.
 */
#ifndef DRT_SEC_KEYTOKEN_H
#define DRT_SEC_KEYTOKEN_H

#include <stddef.h>
#include <stdint.h>

#include <drt.h>

#define SEC_KEYTOKEN_VERSION 1
#define SEC_KEYTOKEN_LABEL "libdrt keytoken v1"
#define SEC_KEYTOKEN_INNER_LEN 64
#define SEC_KEYTOKEN_HEADER_LEN 36
#define SEC_KEYTOKEN_MAX_LEN (SEC_KEYTOKEN_HEADER_LEN + 1024)
#define SEC_GCM_IV_LEN 12
#define SEC_GCM_TAG_LEN 16
#define SEC_CONTENT_KEY_LEN 32
#define SEC_EC_POINT_LEN 65

enum sec_wrap { SEC_WRAP_NONE = 0, SEC_WRAP_ECDH_P256 = 1, SEC_WRAP_RSA_OAEP = 3 };

struct sec_content_key {
    uint8_t key[SEC_CONTENT_KEY_LEN];
    uint8_t iv[SEC_GCM_IV_LEN];
};

/* How a key of this type receives a keytoken, or SEC_WRAP_NONE. */
enum sec_wrap sec_wrap_of(const EVP_PKEY *key);

/* The inner form, and its strict parse (DRT_E_INVALID_MESSAGE). */
void sec_keytoken_inner(const struct sec_content_key *ck, uint8_t out[SEC_KEYTOKEN_INNER_LEN]);
HRESULT sec_keytoken_inner_parse(const uint8_t *p, size_t len, struct sec_content_key *ck);

/* Wraps ck for the holder of recipient's private key. ephemeral (EC
 * recipients only; NULL: a fresh key) fixes the ECDH key for test
 * vectors. *out is malloc'ed. DRT_E_CAPABILITY_MISMATCH for a key type
 * that cannot receive, E_OUTOFMEMORY, E_FAIL. */
HRESULT sec_keytoken_wrap(EVP_PKEY *recipient, const struct sec_content_key *ck,
                          EVP_PKEY *ephemeral, uint8_t **out, size_t *out_len);

/* Opens a keytoken with our private key: every length checked, the key id
 * must be ours, the wrap must be our key type's. DRT_E_INVALID_MESSAGE. */
HRESULT sec_keytoken_unwrap(EVP_PKEY *priv, const uint8_t *p, size_t len,
                            struct sec_content_key *ck);

/* Buffer `index` of a message, sealed (out: len + SEC_GCM_TAG_LEN bytes)
 * or opened (out: len - SEC_GCM_TAG_LEN bytes; DRT_E_INVALID_MESSAGE when
 * the tag fails or len is shorter than a tag). */
HRESULT sec_payload_seal(const struct sec_content_key *ck, uint32_t index, const uint8_t *in,
                         size_t len, uint8_t *out);
HRESULT sec_payload_open(const struct sec_content_key *ck, uint32_t index, const uint8_t *in,
                         size_t len, uint8_t *out);

#endif
