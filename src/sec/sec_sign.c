/*
 * sec_sign.c - record signatures through EVP_DigestSign / EVP_DigestVerify
 * (sec_sign.h).
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "sec/sec_sign.h"

/* RFC 8017 recommends the salt as long as the digest; fixing it lets the
 * verifier refuse every other length instead of accepting any. */
#define SEC_PSS_SALT 32

static bool is_p256(const EVP_PKEY *key)
{
    char group[64];
    size_t n = 0;
    if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                        &n))
        return false;
    return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0;
}

enum sec_alg sec_alg_of(const EVP_PKEY *key)
{
    if (!key)
        return SEC_ALG_NONE;
    if (EVP_PKEY_is_a(key, "ED25519"))
        return SEC_ALG_ED25519;
    if (EVP_PKEY_is_a(key, "EC"))
        return is_p256(key) ? SEC_ALG_ECDSA_P256_SHA256 : SEC_ALG_NONE;
    /* RSA-PSS keys (id-RSASSA-PSS) carry their own parameter restrictions;
     * only plain rsaEncryption keys are accepted, so ours always apply. */
    if (EVP_PKEY_is_a(key, "RSA"))
        return EVP_PKEY_get_bits(key) >= SEC_RSA_MIN_BITS ? SEC_ALG_RSA_PSS_SHA256 : SEC_ALG_NONE;
    return SEC_ALG_NONE;
}

/* The digest for EVP_DigestSignInit: Ed25519 hashes internally and takes
 * none. */
static const char *digest_of(enum sec_alg alg)
{
    return alg == SEC_ALG_ED25519 ? NULL : "SHA256";
}

static bool set_pss(EVP_PKEY_CTX *pctx)
{
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, SEC_PSS_SALT) > 0 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, "SHA256", NULL) > 0;
}

HRESULT sec_sign(EVP_PKEY *priv, const uint8_t *msg, size_t len, uint8_t **sig, size_t *sig_len)
{
    *sig = NULL;
    *sig_len = 0;
    enum sec_alg alg = sec_alg_of(priv);
    if (alg == SEC_ALG_NONE)
        return DRT_E_CAPABILITY_MISMATCH;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md)
        return E_OUTOFMEMORY;
    HRESULT hr = DRT_E_CAPABILITY_MISMATCH;
    EVP_PKEY_CTX *pctx = NULL;
    size_t n = 0;
    if (EVP_DigestSignInit_ex(md, &pctx, digest_of(alg), NULL, NULL, priv, NULL) != 1)
        goto out;
    if (alg == SEC_ALG_RSA_PSS_SHA256 && !set_pss(pctx))
        goto out;
    /* Asking for the size first works for every key type, Ed25519's
     * one-shot signing included. */
    if (EVP_DigestSign(md, NULL, &n, msg, len) != 1 || n == 0 || n > SEC_SIG_MAX)
        goto out;
    uint8_t *buf = OPENSSL_malloc(n);
    if (!buf) {
        hr = E_OUTOFMEMORY;
        goto out;
    }
    if (EVP_DigestSign(md, buf, &n, msg, len) != 1) {
        OPENSSL_free(buf);
        goto out;
    }
    *sig = buf;
    *sig_len = n;
    hr = S_OK;
out:
    EVP_MD_CTX_free(md);
    return hr;
}

bool sec_verify(EVP_PKEY *pub, enum sec_alg alg, const uint8_t *msg, size_t len,
                const uint8_t *sig, size_t sig_len)
{
    if (alg == SEC_ALG_NONE || sec_alg_of(pub) != alg || !sig || sig_len == 0 ||
        sig_len > SEC_SIG_MAX)
        return false;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md)
        return false;
    EVP_PKEY_CTX *pctx = NULL;
    bool ok = EVP_DigestVerifyInit_ex(md, &pctx, digest_of(alg), NULL, NULL, pub, NULL) == 1 &&
              (alg != SEC_ALG_RSA_PSS_SHA256 || set_pss(pctx)) &&
              EVP_DigestVerify(md, sig, sig_len, msg, len) == 1;
    EVP_MD_CTX_free(md);
    return ok;
}
