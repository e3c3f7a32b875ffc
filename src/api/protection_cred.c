/*
 * protection_cred.c - the credential of a transport's SA negotiations
 * (protection_cred.h): signing with the local key, verifying a peer's
 * chain against every trusted root (once per chain, through the cache the
 * derived-key provider uses too) and its signature with the leaf's key.
 */
#include "api/protection_cred.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "api/cred_cache.h"
#include "api/security_derived.h"
#include "sec/sec_chain.h"
#include "sec/sec_sign.h"

struct protection_cred {
    struct neg_cred neg; /* first member: the neg_cred is the object */
    uint8_t *chain;
    EVP_PKEY *key; /* our reference */
    size_t nroots;
    X509 *roots[DRT_PROTECTION_MAX_ROOTS];        /* our references */
    X509_STORE *stores[DRT_PROTECTION_MAX_ROOTS]; /* one root each */
    struct cred_cache cache;
};

/* Verifies leaf through rest to one of the roots: S_OK and the earliest
 * notAfter of that chain and root, or DRT_E_INVALID_CERT_CHAIN. Each root
 * has its own store, so the root a chain ends at is known. */
static HRESULT verify_to_roots(const struct protection_cred *c, X509 *leaf,
                               STACK_OF(X509) *rest, int64_t *not_after)
{
    CERT_CONTEXT cc = {leaf, NULL, rest};
    for (size_t i = 0; i < c->nroots; i++)
        if (SUCCEEDED(sec_chain_verify(c->stores[i], leaf, rest)) &&
            derived_not_after(c->roots[i], &cc, not_after))
            return S_OK;
    ERR_clear_error();
    return DRT_E_INVALID_CERT_CHAIN;
}

static HRESULT chain_verify(void *ctx, const uint8_t *chain, size_t len, struct cred_verified *out)
{
    X509 *leaf = NULL;
    STACK_OF(X509) *rest = NULL;
    HRESULT hr = sec_chain_decode(chain, len, &leaf, &rest);
    if (SUCCEEDED(hr))
        hr = verify_to_roots(ctx, leaf, rest, &out->not_after);
    else if (hr != E_OUTOFMEMORY)
        hr = DRT_E_INVALID_CERT_CHAIN; /* garbage is an unverifiable chain to the peer */
    if (SUCCEEDED(hr) && FAILED(sec_derive_key(leaf, out->key_id)))
        hr = DRT_E_INVALID_CERT_CHAIN;
    if (SUCCEEDED(hr) && !(out->pub = X509_get_pubkey(leaf)))
        hr = E_OUTOFMEMORY;
    X509_free(leaf);
    sk_X509_pop_free(rest, X509_free);
    ERR_clear_error();
    return hr;
}

static size_t cred_sign(void *ctx, const uint8_t *msg, size_t len, uint8_t *sig)
{
    const struct protection_cred *c = ctx;
    uint8_t *s = NULL;
    size_t n = 0;
    if (FAILED(sec_sign(c->key, msg, len, &s, &n)) || n > NEG_CRED_AUTH_MAX)
        n = 0;
    if (n)
        memcpy(sig, s, n);
    OPENSSL_free(s);
    ERR_clear_error();
    return n;
}

/* The chain's code as the negotiation reports it (HRESULTs are DWORDs on
 * the wire); a signature that does not verify is ERROR_ACCESS_DENIED, as
 * a wrong pre-shared key's AUTH is. */
static DWORD cred_verify(void *ctx, const uint8_t *chain, size_t chain_len, const uint8_t *msg,
                         size_t len, const uint8_t *sig, size_t sig_len)
{
    struct protection_cred *c = ctx;
    EVP_PKEY *pub = NULL;
    uint8_t key_id[SEC_KEY_LEN];
    HRESULT hr = cred_cache_lookup(&c->cache, chain, chain_len, chain_verify, c, &pub, key_id);
    if (FAILED(hr))
        return (DWORD)hr;
    bool ok = sec_verify(pub, sec_alg_of(pub), msg, len, sig, sig_len);
    EVP_PKEY_free(pub);
    ERR_clear_error();
    return ok ? ERROR_SUCCESS : ERROR_ACCESS_DENIED;
}

static void cred_free(struct protection_cred *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nroots; i++) {
        X509_STORE_free(c->stores[i]);
        X509_free(c->roots[i]);
    }
    EVP_PKEY_free(c->key);
    free(c->chain);
    cred_cache_free(&c->cache);
    free(c);
}

void protection_cred_release(const struct neg_cred *nc)
{
    cred_free((struct protection_cred *)nc);
}

const struct neg_cred *protection_cred_neg(const struct protection_cred *c)
{
    return &c->neg;
}

void protection_cred_stats(const struct neg_cred *nc, uint64_t *verified, uint64_t *hits)
{
    cred_cache_stats(&((struct protection_cred *)nc)->cache, verified, hits);
}

/* Our chain as it travels; DRT_E_INSUFFICIENT_BUFFER when it and the
 * largest signature of the key would not fit in an AUTH field. */
static HRESULT encode_chain(struct protection_cred *c, PCCERT_CONTEXT local)
{
    uint8_t *buf = malloc(SEC_CHAIN_MAX_LEN);
    if (!buf)
        return E_OUTOFMEMORY;
    struct sec_writer w;
    sec_writer_init(&w, buf, SEC_CHAIN_MAX_LEN);
    HRESULT hr = sec_chain_encode(local->pCert, local->pChain, NULL, &w);
    if (FAILED(hr)) {
        free(buf);
        return DRT_E_INSUFFICIENT_BUFFER; /* more or larger certificates than a chain holds */
    }
    size_t sig_max = (size_t)EVP_PKEY_get_size(c->key);
    if (4 + w.pos + sig_max > NEG_CRED_AUTH_MAX) {
        free(buf);
        return DRT_E_INSUFFICIENT_BUFFER;
    }
    c->chain = buf;
    c->neg.chain = buf;
    c->neg.chain_len = w.pos;
    return S_OK;
}

HRESULT protection_cred_create(PCCERT_CONTEXT local, ULONG nroots, const PCCERT_CONTEXT *roots,
                               struct protection_cred **out)
{
    *out = NULL;
    struct protection_cred *c = calloc(1, sizeof(*c));
    if (!c)
        return E_OUTOFMEMORY;
    cred_cache_init(&c->cache);
    HRESULT hr = S_OK;
    for (ULONG i = 0; i < nroots && SUCCEEDED(hr); i++) {
        /* A root without a usable public key can anchor nothing. */
        X509_STORE *s = sec_store_new(roots[i]->pCert);
        if (!s || X509_up_ref(roots[i]->pCert) != 1) {
            X509_STORE_free(s);
            hr = DRT_E_INVALID_CERT_CHAIN;
            break;
        }
        c->stores[i] = s;
        c->roots[i] = roots[i]->pCert;
        c->nroots++;
    }
    int64_t until;
    if (SUCCEEDED(hr))
        hr = verify_to_roots(c, local->pCert, local->pChain, &until);
    if (SUCCEEDED(hr) && !derived_can_sign(local))
        hr = DRT_E_CAPABILITY_MISMATCH;
    if (SUCCEEDED(hr) && EVP_PKEY_up_ref(local->pPrivateKey) == 1)
        c->key = local->pPrivateKey;
    else if (SUCCEEDED(hr))
        hr = E_OUTOFMEMORY;
    if (SUCCEEDED(hr))
        hr = encode_chain(c, local);
    ERR_clear_error();
    if (FAILED(hr)) {
        cred_free(c);
        return hr;
    }
    c->neg.sign = cred_sign;
    c->neg.verify = cred_verify;
    c->neg.ctx = c;
    *out = c;
    return S_OK;
}
