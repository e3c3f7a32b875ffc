/*
 * sec_chain.c - certificate chains in records and their verification with
 * X509_verify_cert (sec_chain.h).
 */
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "sec/sec_chain.h"

X509_STORE *sec_store_new(X509 *root)
{
    if (!root || !X509_get0_pubkey(root)) {
        ERR_clear_error();
        return NULL;
    }
    X509_STORE *store = X509_STORE_new();
    if (!store)
        return NULL;
    /* The configured root is the anchor whether or not it is self-signed
     * (an organisation may root its mesh at an intermediate); the store
     * holds nothing else, so no other anchor can be reached. */
    if (X509_STORE_add_cert(store, root) != 1 ||
        X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN) != 1 ||
        X509_STORE_set_purpose(store, X509_PURPOSE_ANY) != 1) {
        X509_STORE_free(store);
        ERR_clear_error();
        return NULL;
    }
    return store;
}

static bool put_cert(struct sec_writer *w, X509 *cert)
{
    unsigned char *der = NULL;
    int n = i2d_X509(cert, &der);
    if (n <= 0 || n > SEC_CERT_MAX_DER) {
        OPENSSL_free(der);
        ERR_clear_error();
        return false;
    }
    sec_put_u16(w, (uint16_t)n);
    sec_put_bytes(w, der, (size_t)n);
    OPENSSL_free(der);
    return true;
}

HRESULT sec_chain_encode(X509 *leaf, STACK_OF(X509) *intermediates, X509 *root,
                         struct sec_writer *w)
{
    if (!leaf)
        return E_INVALIDARG;
    X509 *certs[SEC_CHAIN_MAX_CERTS];
    size_t n = 0;
    certs[n++] = leaf;
    for (int i = 0; intermediates && i < sk_X509_num(intermediates); i++) {
        X509 *c = sk_X509_value(intermediates, i);
        if (!c || (root && X509_cmp(c, root) == 0) || X509_cmp(c, leaf) == 0)
            continue;
        if (n == SEC_CHAIN_MAX_CERTS)
            return E_INVALIDARG;
        certs[n++] = c;
    }
    sec_put_u8(w, (uint8_t)n);
    for (size_t i = 0; i < n; i++)
        if (!put_cert(w, certs[i]))
            return E_INVALIDARG;
    return w->ok ? S_OK : E_INVALIDARG;
}

/* One certificate of exactly len DER bytes, or NULL. */
static X509 *parse_cert(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    X509 *c = d2i_X509(NULL, &p, (long)len);
    if (c && p != der + len) {
        X509_free(c);
        c = NULL;
    }
    if (!c)
        ERR_clear_error();
    return c;
}

HRESULT sec_chain_decode(const uint8_t *p, size_t len, X509 **leaf, STACK_OF(X509) **rest)
{
    *leaf = NULL;
    *rest = NULL;
    if (len > SEC_CHAIN_MAX_LEN)
        return DRT_E_INVALID_MESSAGE;
    struct sec_reader r;
    sec_reader_init(&r, p, len);
    uint8_t count = sec_get_u8(&r);
    if (!r.ok || count == 0 || count > SEC_CHAIN_MAX_CERTS)
        return DRT_E_INVALID_MESSAGE;
    STACK_OF(X509) *others = sk_X509_new_null();
    if (!others)
        return E_OUTOFMEMORY;
    X509 *first = NULL;
    for (uint8_t i = 0; i < count; i++) {
        uint16_t n = sec_get_u16(&r);
        const uint8_t *der = (n >= 1 && n <= SEC_CERT_MAX_DER) ? sec_get_bytes(&r, n) : NULL;
        X509 *c = der ? parse_cert(der, n) : NULL;
        if (!c)
            goto bad;
        if (i == 0)
            first = c;
        else if (!sk_X509_push(others, c)) {
            X509_free(c);
            goto bad;
        }
    }
    if (!sec_reader_done(&r))
        goto bad;
    *leaf = first;
    *rest = others;
    return S_OK;
bad:
    X509_free(first);
    sk_X509_pop_free(others, X509_free);
    return DRT_E_INVALID_MESSAGE;
}

HRESULT sec_chain_verify(X509_STORE *store, X509 *leaf, STACK_OF(X509) *untrusted)
{
    if (!store || !leaf)
        return DRT_E_INVALID_CERT_CHAIN;
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (!ctx)
        return E_OUTOFMEMORY;
    bool ok = X509_STORE_CTX_init(ctx, store, leaf, untrusted) == 1 &&
              X509_verify_cert(ctx) == 1;
    X509_STORE_CTX_free(ctx);
    if (!ok)
        ERR_clear_error();
    return ok ? S_OK : DRT_E_INVALID_CERT_CHAIN;
}
