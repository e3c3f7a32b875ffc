/*
 * sec_keytoken.c - content keys, keytokens and sealed buffers on OpenSSL 3
 * (sec_keytoken.h). Every secret on the stack is cleansed before return.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "sec/sec_buf.h"
#include "sec/sec_keytoken.h"
#include "sec/sec_sign.h"

/* CNG's KEY_DATA_BLOB header, as the spec's Field1 gives it. */
static const uint8_t kdbm[12] = {0x4b, 0x44, 0x42, 0x4d, 0x01, 0x00, 0x00, 0x00,
                                 0x20, 0x00, 0x00, 0x00};

enum sec_wrap sec_wrap_of(const EVP_PKEY *key)
{
    switch (sec_alg_of(key)) {
    case SEC_ALG_ECDSA_P256_SHA256:
        return SEC_WRAP_ECDH_P256;
    case SEC_ALG_RSA_PSS_SHA256:
        return SEC_WRAP_RSA_OAEP;
    default:
        return SEC_WRAP_NONE;
    }
}

void sec_keytoken_inner(const struct sec_content_key *ck, uint8_t out[SEC_KEYTOKEN_INNER_LEN])
{
    memset(out, 0, SEC_KEYTOKEN_INNER_LEN);
    /* The IV length is little-endian like the KEY_DATA_BLOB header beside
     * it (docs/PROTOCOL.md, "Keytoken"). */
    out[0] = SEC_GCM_IV_LEN;
    memcpy(out + 8, ck->iv, SEC_GCM_IV_LEN);
    memcpy(out + 20, kdbm, sizeof(kdbm));
    memcpy(out + 32, ck->key, SEC_CONTENT_KEY_LEN);
}

HRESULT sec_keytoken_inner_parse(const uint8_t *p, size_t len, struct sec_content_key *ck)
{
    static const uint8_t zero[6];
    if (len != SEC_KEYTOKEN_INNER_LEN || p[0] != SEC_GCM_IV_LEN || p[1] != 0 ||
        memcmp(p + 2, zero, 6) != 0 || memcmp(p + 20, kdbm, sizeof(kdbm)) != 0)
        return DRT_E_INVALID_MESSAGE;
    memcpy(ck->iv, p + 8, SEC_GCM_IV_LEN);
    memcpy(ck->key, p + 32, SEC_CONTENT_KEY_LEN);
    return S_OK;
}

static bool key_id_of(EVP_PKEY *key, uint8_t id[32])
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(key, &der);
    bool ok = n > 0 && EVP_Digest(der, (size_t)n, id, NULL, EVP_sha256(), NULL) == 1;
    OPENSSL_free(der);
    return ok;
}

/* One AES-256-GCM operation; the tag follows the ciphertext. */
static bool gcm(bool seal, const uint8_t key[32], const uint8_t iv[SEC_GCM_IV_LEN],
                const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len, uint8_t *out)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (!c)
        return false;
    int n = 0;
    size_t body = seal ? len : len - SEC_GCM_TAG_LEN;
    bool ok = EVP_CipherInit_ex2(c, EVP_aes_256_gcm(), key, iv, seal ? 1 : 0, NULL) == 1 &&
              (aad_len == 0 || EVP_CipherUpdate(c, NULL, &n, aad, (int)aad_len) == 1) &&
              (body == 0 || EVP_CipherUpdate(c, out, &n, in, (int)body) == 1);
    if (ok && !seal)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, SEC_GCM_TAG_LEN,
                                 (void *)(in + body)) == 1;
    ok = ok && EVP_CipherFinal_ex(c, out + body, &n) == 1;
    if (ok && seal)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, SEC_GCM_TAG_LEN, out + body) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok;
}

/* Key and IV that wrap the inner form: HKDF over the ECDH secret of priv
 * and peer, bound to the ephemeral point and the recipient. */
static bool ecdh_kek(EVP_PKEY *priv, EVP_PKEY *peer, const uint8_t point[SEC_EC_POINT_LEN],
                     const uint8_t key_id[32], uint8_t kek[32 + SEC_GCM_IV_LEN])
{
    uint8_t secret[32];
    size_t slen = sizeof(secret);
    EVP_PKEY_CTX *dc = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
    bool ok = dc && EVP_PKEY_derive_init(dc) == 1 && EVP_PKEY_derive_set_peer(dc, peer) == 1 &&
              EVP_PKEY_derive(dc, secret, &slen) == 1 && slen == sizeof(secret);
    EVP_PKEY_CTX_free(dc);
    uint8_t info[sizeof(SEC_KEYTOKEN_LABEL) - 1 + SEC_EC_POINT_LEN + 32];
    memcpy(info, SEC_KEYTOKEN_LABEL, sizeof(SEC_KEYTOKEN_LABEL) - 1);
    memcpy(info + sizeof(SEC_KEYTOKEN_LABEL) - 1, point, SEC_EC_POINT_LEN);
    memcpy(info + sizeof(SEC_KEYTOKEN_LABEL) - 1 + SEC_EC_POINT_LEN, key_id, 32);
    EVP_KDF *kdf = ok ? EVP_KDF_fetch(NULL, "HKDF", NULL) : NULL;
    EVP_KDF_CTX *kc = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    if (kc) {
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, secret, slen),
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, sizeof(info)),
            OSSL_PARAM_construct_end(),
        };
        ok = EVP_KDF_derive(kc, kek, 32 + SEC_GCM_IV_LEN, params) == 1;
    } else {
        ok = false;
    }
    EVP_KDF_CTX_free(kc);
    EVP_KDF_free(kdf);
    OPENSSL_cleanse(secret, sizeof(secret));
    return ok;
}

static void put_header(uint8_t *out, enum sec_wrap wrap, const uint8_t key_id[32], size_t w)
{
    out[0] = SEC_KEYTOKEN_VERSION;
    out[1] = (uint8_t)wrap;
    memcpy(out + 2, key_id, 32);
    out[34] = (uint8_t)(w >> 8);
    out[35] = (uint8_t)w;
}

static HRESULT wrap_ecdh(EVP_PKEY *recipient, const uint8_t inner[SEC_KEYTOKEN_INNER_LEN],
                         const uint8_t key_id[32], EVP_PKEY *ephemeral, uint8_t *out)
{
    EVP_PKEY *eph = ephemeral ? ephemeral : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    uint8_t *point = out + SEC_KEYTOKEN_HEADER_LEN, kek[32 + SEC_GCM_IV_LEN];
    bool ok = eph && EVP_PKEY_get_octet_string_param(eph, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                                      point, SEC_EC_POINT_LEN, NULL) == 1 &&
              point[0] == 0x04 && ecdh_kek(eph, recipient, point, key_id, kek) &&
              gcm(true, kek, kek + 32, out, SEC_KEYTOKEN_HEADER_LEN, inner,
                  SEC_KEYTOKEN_INNER_LEN, point + SEC_EC_POINT_LEN);
    OPENSSL_cleanse(kek, sizeof(kek));
    if (eph != ephemeral)
        EVP_PKEY_free(eph);
    return ok ? S_OK : E_FAIL;
}

static bool set_oaep(EVP_PKEY_CTX *c)
{
    return EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) > 0 &&
           EVP_PKEY_CTX_set_rsa_oaep_md_name(c, "SHA256", NULL) > 0 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md_name(c, "SHA256", NULL) > 0;
}

HRESULT sec_keytoken_wrap(EVP_PKEY *recipient, const struct sec_content_key *ck,
                          EVP_PKEY *ephemeral, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    enum sec_wrap wrap = sec_wrap_of(recipient);
    uint8_t key_id[32], inner[SEC_KEYTOKEN_INNER_LEN];
    if (wrap == SEC_WRAP_NONE)
        return DRT_E_CAPABILITY_MISMATCH;
    if (!key_id_of(recipient, key_id))
        return E_FAIL;
    size_t w = wrap == SEC_WRAP_ECDH_P256
                   ? SEC_EC_POINT_LEN + SEC_KEYTOKEN_INNER_LEN + SEC_GCM_TAG_LEN
                   : (size_t)EVP_PKEY_get_size(recipient);
    if (w == 0 || w > SEC_KEYTOKEN_MAX_LEN - SEC_KEYTOKEN_HEADER_LEN)
        return DRT_E_CAPABILITY_MISMATCH;
    uint8_t *buf = malloc(SEC_KEYTOKEN_HEADER_LEN + w);
    if (!buf)
        return E_OUTOFMEMORY;
    put_header(buf, wrap, key_id, w);
    sec_keytoken_inner(ck, inner);
    HRESULT hr;
    if (wrap == SEC_WRAP_ECDH_P256) {
        hr = wrap_ecdh(recipient, inner, key_id, ephemeral, buf);
    } else {
        EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, recipient, NULL);
        size_t n = w;
        hr = c && EVP_PKEY_encrypt_init(c) == 1 && set_oaep(c) &&
                     EVP_PKEY_encrypt(c, buf + SEC_KEYTOKEN_HEADER_LEN, &n, inner,
                                      sizeof(inner)) == 1 && n == w
                 ? S_OK
                 : E_FAIL;
        EVP_PKEY_CTX_free(c);
    }
    OPENSSL_cleanse(inner, sizeof(inner));
    if (FAILED(hr)) {
        free(buf);
        return hr;
    }
    *out = buf;
    *out_len = SEC_KEYTOKEN_HEADER_LEN + w;
    return S_OK;
}

static bool unwrap_ecdh(EVP_PKEY *priv, const uint8_t *p, size_t w, const uint8_t key_id[32],
                        uint8_t inner[SEC_KEYTOKEN_INNER_LEN])
{
    const uint8_t *point = p + SEC_KEYTOKEN_HEADER_LEN;
    if (w != SEC_EC_POINT_LEN + SEC_KEYTOKEN_INNER_LEN + SEC_GCM_TAG_LEN || point[0] != 0x04)
        return false;
    /* The point is decoded on the recipient's curve, which checks that it
     * lies on it. */
    EVP_PKEY *peer = EVP_PKEY_new();
    uint8_t kek[32 + SEC_GCM_IV_LEN];
    bool ok = peer && EVP_PKEY_copy_parameters(peer, priv) == 1 &&
              EVP_PKEY_set1_encoded_public_key(peer, point, SEC_EC_POINT_LEN) == 1 &&
              ecdh_kek(priv, peer, point, key_id, kek) &&
              gcm(false, kek, kek + 32, p, SEC_KEYTOKEN_HEADER_LEN, point + SEC_EC_POINT_LEN,
                  SEC_KEYTOKEN_INNER_LEN + SEC_GCM_TAG_LEN, inner);
    OPENSSL_cleanse(kek, sizeof(kek));
    EVP_PKEY_free(peer);
    return ok;
}

static bool unwrap_rsa(EVP_PKEY *priv, const uint8_t *p, size_t w,
                       uint8_t inner[SEC_KEYTOKEN_INNER_LEN])
{
    if (w != (size_t)EVP_PKEY_get_size(priv))
        return false;
    uint8_t buf[SEC_KEYTOKEN_MAX_LEN];
    size_t n = sizeof(buf);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
    bool ok = c && EVP_PKEY_decrypt_init(c) == 1 && set_oaep(c) &&
              EVP_PKEY_decrypt(c, buf, &n, p + SEC_KEYTOKEN_HEADER_LEN, w) == 1 &&
              n == SEC_KEYTOKEN_INNER_LEN;
    EVP_PKEY_CTX_free(c);
    if (ok)
        memcpy(inner, buf, SEC_KEYTOKEN_INNER_LEN);
    OPENSSL_cleanse(buf, sizeof(buf));
    return ok;
}

HRESULT sec_keytoken_unwrap(EVP_PKEY *priv, const uint8_t *p, size_t len,
                            struct sec_content_key *ck)
{
    enum sec_wrap wrap = sec_wrap_of(priv);
    uint8_t key_id[32], inner[SEC_KEYTOKEN_INNER_LEN];
    if (!p || len < SEC_KEYTOKEN_HEADER_LEN || len > SEC_KEYTOKEN_MAX_LEN ||
        p[0] != SEC_KEYTOKEN_VERSION || wrap == SEC_WRAP_NONE || p[1] != (uint8_t)wrap ||
        ((size_t)p[34] << 8 | p[35]) != len - SEC_KEYTOKEN_HEADER_LEN || !key_id_of(priv, key_id) ||
        memcmp(p + 2, key_id, 32) != 0)
        return DRT_E_INVALID_MESSAGE;
    size_t w = len - SEC_KEYTOKEN_HEADER_LEN;
    bool ok = wrap == SEC_WRAP_ECDH_P256 ? unwrap_ecdh(priv, p, w, key_id, inner)
                                         : unwrap_rsa(priv, p, w, inner);
    HRESULT hr = ok ? sec_keytoken_inner_parse(inner, sizeof(inner), ck) : DRT_E_INVALID_MESSAGE;
    OPENSSL_cleanse(inner, sizeof(inner));
    /* A failed decryption queues OpenSSL errors; a stranger's garbage must
     * not leave them for the next, unrelated caller to find. */
    if (!ok)
        ERR_clear_error();
    return hr;
}

static void nonce_for(const struct sec_content_key *ck, uint32_t index,
                      uint8_t nonce[SEC_GCM_IV_LEN])
{
    memcpy(nonce, ck->iv, SEC_GCM_IV_LEN);
    nonce[8] ^= (uint8_t)(index >> 24);
    nonce[9] ^= (uint8_t)(index >> 16);
    nonce[10] ^= (uint8_t)(index >> 8);
    nonce[11] ^= (uint8_t)index;
}

HRESULT sec_payload_seal(const struct sec_content_key *ck, uint32_t index, const uint8_t *in,
                         size_t len, uint8_t *out)
{
    uint8_t nonce[SEC_GCM_IV_LEN];
    nonce_for(ck, index, nonce);
    if (len > INT32_MAX)
        return E_INVALIDARG;
    return gcm(true, ck->key, nonce, NULL, 0, in, len, out) ? S_OK : E_FAIL;
}

HRESULT sec_payload_open(const struct sec_content_key *ck, uint32_t index, const uint8_t *in,
                         size_t len, uint8_t *out)
{
    uint8_t nonce[SEC_GCM_IV_LEN];
    nonce_for(ck, index, nonce);
    if (!in || len < SEC_GCM_TAG_LEN || len > INT32_MAX)
        return DRT_E_INVALID_MESSAGE;
    return gcm(false, ck->key, nonce, NULL, 0, in, len, out) ? S_OK : DRT_E_INVALID_MESSAGE;
}
