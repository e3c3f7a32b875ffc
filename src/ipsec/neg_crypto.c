/* neg_crypto.c - OpenSSL wrappers for the SA negotiation (neg_crypto.h). */
#include "ipsec/neg_crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <string.h>

bool neg_x25519_public(const uint8_t priv[NEG_X25519_SIZE], uint8_t pub[NEG_X25519_SIZE])
{
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, NEG_X25519_SIZE);
    size_t n = NEG_X25519_SIZE;
    bool ok = k && EVP_PKEY_get_raw_public_key(k, pub, &n) == 1 && n == NEG_X25519_SIZE;
    EVP_PKEY_free(k);
    return ok;
}

bool neg_x25519_shared(const uint8_t priv[NEG_X25519_SIZE], const uint8_t peer[NEG_X25519_SIZE],
                       uint8_t shared[NEG_X25519_SIZE])
{
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, NEG_X25519_SIZE);
    EVP_PKEY *p = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer, NEG_X25519_SIZE);
    EVP_PKEY_CTX *c = k ? EVP_PKEY_CTX_new(k, NULL) : NULL;
    size_t n = NEG_X25519_SIZE;
    bool ok = k && p && c && EVP_PKEY_derive_init(c) == 1 && EVP_PKEY_derive_set_peer(c, p) == 1 &&
              EVP_PKEY_derive(c, shared, &n) == 1 && n == NEG_X25519_SIZE;
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(p);
    EVP_PKEY_free(k);
    if (ok) {
        uint8_t acc = 0;
        for (size_t i = 0; i < NEG_X25519_SIZE; i++)
            acc |= shared[i];
        ok = acc != 0; /* RFC 7748 §6.1: refuse the all-zero output */
    }
    if (!ok)
        OPENSSL_cleanse(shared, NEG_X25519_SIZE);
    return ok;
}

static bool hkdf_run(int mode, const uint8_t *salt, size_t salt_len, const uint8_t *key,
                     size_t key_len, const uint8_t *info, size_t info_len, uint8_t *out,
                     size_t out_len)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *c = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_KDF_free(kdf);
    if (!c)
        return false;
    OSSL_PARAM params[6];
    size_t i = 0;
    params[i++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    params[i++] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
    params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, key_len);
    if (salt)
        params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt,
                                                        salt_len);
    if (info)
        params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info,
                                                        info_len);
    params[i] = OSSL_PARAM_construct_end();
    bool ok = EVP_KDF_derive(c, out, out_len, params) == 1;
    EVP_KDF_CTX_free(c);
    return ok;
}

bool neg_hkdf(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
              const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
    return hkdf_run(EVP_KDF_HKDF_MODE_EXTRACT_AND_EXPAND, salt, salt_len, ikm, ikm_len, info,
                    info_len, out, out_len);
}

bool neg_hkdf_expand(const uint8_t *prk, size_t prk_len, const uint8_t *info, size_t info_len,
                     uint8_t *out, size_t out_len)
{
    return hkdf_run(EVP_KDF_HKDF_MODE_EXPAND_ONLY, NULL, 0, prk, prk_len, info, info_len, out,
                    out_len);
}

bool neg_hmac(const uint8_t *key, size_t key_len, const uint8_t *const parts[],
              const size_t lens[], size_t nparts, uint8_t out[NEG_HASH_SIZE])
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *c = mac ? EVP_MAC_CTX_new(mac) : NULL;
    EVP_MAC_free(mac);
    if (!c)
        return false;
    OSSL_PARAM params[2] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    size_t n = 0;
    bool ok = EVP_MAC_init(c, key, key_len, params) == 1;
    for (size_t i = 0; ok && i < nparts; i++)
        if (parts[i] && lens[i])
            ok = EVP_MAC_update(c, parts[i], lens[i]) == 1;
    ok = ok && EVP_MAC_final(c, out, &n, NEG_HASH_SIZE) == 1 && n == NEG_HASH_SIZE;
    EVP_MAC_CTX_free(c);
    return ok;
}

static bool gcm_run(bool seal, const uint8_t key[32], const uint8_t nonce[12],
                    const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
                    uint8_t *out, uint8_t tag[NEG_GCM_TAG])
{
    if (len > INT32_MAX || aad_len > INT32_MAX)
        return false;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (!c)
        return false;
    int n = 0;
    bool ok = (seal ? EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce)
                    : EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce)) == 1;
    /* the default GCM IV length is 12 */
    if (ok && aad_len)
        ok = (seal ? EVP_EncryptUpdate(c, NULL, &n, aad, (int)aad_len)
                   : EVP_DecryptUpdate(c, NULL, &n, aad, (int)aad_len)) == 1;
    if (ok && len)
        ok = (seal ? EVP_EncryptUpdate(c, out, &n, in, (int)len)
                   : EVP_DecryptUpdate(c, out, &n, in, (int)len)) == 1;
    if (ok && seal)
        ok = EVP_EncryptFinal_ex(c, out + n, &n) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, NEG_GCM_TAG, tag) == 1;
    if (ok && !seal)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, NEG_GCM_TAG, tag) == 1 &&
             EVP_DecryptFinal_ex(c, out + n, &n) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok;
}

bool neg_gcm_seal(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad,
                  size_t aad_len, const uint8_t *pt, size_t len, uint8_t *out)
{
    return gcm_run(true, key, nonce, aad, aad_len, pt, len, out, out + len);
}

bool neg_gcm_open(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad,
                  size_t aad_len, const uint8_t *ct, size_t len_with_tag, uint8_t *out)
{
    if (len_with_tag < NEG_GCM_TAG)
        return false;
    size_t len = len_with_tag - NEG_GCM_TAG;
    uint8_t tag[NEG_GCM_TAG];
    memcpy(tag, ct + len, NEG_GCM_TAG);
    bool ok = gcm_run(false, key, nonce, aad, aad_len, ct, len, out, tag);
    if (!ok)
        OPENSSL_cleanse(out, len);
    return ok;
}

bool neg_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}
