/*
 * sec_record.c - encoding, signing, parsing and checking of signed records
 * (sec_record.h, docs/SECURITY.md).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "sec/sec_buf.h"
#include "sec/sec_record.h"

#define LABEL_LEN (sizeof(SEC_RECORD_LABEL) - 1)

HRESULT sec_payload_hash(const uint8_t *payload, size_t len, uint8_t out[SEC_HASH_LEN])
{
    static const uint8_t none[1];
    unsigned int n = 0;
    if (!EVP_Digest(len ? payload : none, len, out, &n, EVP_sha256(), NULL) ||
        n != SEC_HASH_LEN) {
        ERR_clear_error();
        return E_FAIL;
    }
    return S_OK;
}

static size_t addr_len(uint8_t family)
{
    return family == SEC_ADDR_FAMILY_IPV4 ? 4 : family == SEC_ADDR_FAMILY_IPV6 ? 16 : 0;
}

/* Everything the signature covers, after the label. */
static HRESULT put_body(struct sec_writer *w, const struct sec_record *rec, enum sec_alg alg,
                        X509 *leaf, STACK_OF(X509) *intermediates, X509 *root)
{
    sec_put_u8(w, SEC_RECORD_VERSION);
    sec_put_u8(w, rec->protocol_major);
    sec_put_u8(w, rec->protocol_minor);
    sec_put_u8(w, (uint8_t)alg);
    sec_put_u32(w, rec->flags);
    sec_put_bytes(w, rec->key, SEC_KEY_LEN);
    sec_put_bytes(w, rec->nonce, SEC_NONCE_LEN);
    sec_put_bytes(w, rec->payload_hash, SEC_HASH_LEN);
    sec_put_u8(w, (uint8_t)rec->naddrs);
    for (size_t i = 0; i < rec->naddrs; i++) {
        sec_put_u8(w, rec->addrs[i].family);
        sec_put_u16(w, rec->addrs[i].port);
        sec_put_bytes(w, rec->addrs[i].addr, addr_len(rec->addrs[i].family));
    }
    /* The chain's length is only known once written: reserve, then patch. */
    size_t at = w->pos;
    sec_put_u16(w, 0);
    HRESULT hr = sec_chain_encode(leaf, intermediates, root, w);
    if (FAILED(hr))
        return hr;
    size_t chain_len = w->pos - at - 2;
    if (chain_len > SEC_CHAIN_MAX_LEN)
        return E_INVALIDARG;
    if (w->p && w->ok) {
        w->p[at] = (uint8_t)(chain_len >> 8);
        w->p[at + 1] = (uint8_t)chain_len;
    }
    return w->ok ? S_OK : E_INVALIDARG;
}

static bool statement_valid(const struct sec_record *rec)
{
    if ((rec->flags & ~(uint32_t)DRT_PAYLOAD_REVOKED) || rec->naddrs > SEC_RECORD_MAX_ADDRS)
        return false;
    for (size_t i = 0; i < rec->naddrs; i++)
        if (!addr_len(rec->addrs[i].family))
            return false;
    return true;
}

HRESULT sec_record_sign(const struct sec_record *rec, X509 *leaf, STACK_OF(X509) *intermediates,
                        X509 *root, EVP_PKEY *priv, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (!rec || !leaf || !statement_valid(rec))
        return E_INVALIDARG;
    enum sec_alg alg = sec_alg_of(priv);
    if (alg == SEC_ALG_NONE)
        return DRT_E_CAPABILITY_MISMATCH;

    struct sec_writer w;
    sec_writer_init(&w, NULL, 0);
    HRESULT hr = put_body(&w, rec, alg, leaf, intermediates, root);
    if (FAILED(hr))
        return hr;
    size_t body_len = w.pos;
    uint8_t *msg = malloc(LABEL_LEN + body_len);
    if (!msg)
        return E_OUTOFMEMORY;
    memcpy(msg, SEC_RECORD_LABEL, LABEL_LEN);
    sec_writer_init(&w, msg + LABEL_LEN, body_len);
    hr = put_body(&w, rec, alg, leaf, intermediates, root);
    if (SUCCEEDED(hr) && w.pos != body_len)
        hr = E_INVALIDARG;
    uint8_t *sig = NULL;
    size_t sig_len = 0;
    if (SUCCEEDED(hr))
        hr = sec_sign(priv, msg, LABEL_LEN + body_len, &sig, &sig_len);
    uint8_t *record = SUCCEEDED(hr) ? malloc(body_len + 2 + sig_len) : NULL;
    if (SUCCEEDED(hr) && !record)
        hr = E_OUTOFMEMORY;
    if (SUCCEEDED(hr)) {
        memcpy(record, msg + LABEL_LEN, body_len);
        sec_writer_init(&w, record + body_len, 2 + sig_len);
        sec_put_u16(&w, (uint16_t)sig_len);
        sec_put_bytes(&w, sig, sig_len);
        *out = record;
        *out_len = body_len + 2 + sig_len;
    }
    OPENSSL_free(sig);
    free(msg);
    return hr;
}

HRESULT sec_record_parse(const uint8_t *p, size_t len, struct sec_parsed_record *out)
{
    memset(out, 0, sizeof(*out));
    struct sec_reader r;
    sec_reader_init(&r, p, len);
    struct sec_record *rec = &out->rec;
    bool ok = sec_get_u8(&r) == SEC_RECORD_VERSION;
    rec->protocol_major = sec_get_u8(&r);
    rec->protocol_minor = sec_get_u8(&r);
    uint8_t alg = sec_get_u8(&r);
    ok = ok && (alg == SEC_ALG_ECDSA_P256_SHA256 || alg == SEC_ALG_ED25519 ||
                alg == SEC_ALG_RSA_PSS_SHA256);
    out->alg = (enum sec_alg)alg;
    rec->flags = sec_get_u32(&r);
    const uint8_t *key = sec_get_bytes(&r, SEC_KEY_LEN);
    const uint8_t *nonce = sec_get_bytes(&r, SEC_NONCE_LEN);
    const uint8_t *hash = sec_get_bytes(&r, SEC_HASH_LEN);
    rec->naddrs = sec_get_u8(&r);
    ok = ok && r.ok && rec->naddrs <= SEC_RECORD_MAX_ADDRS;
    for (size_t i = 0; ok && i < rec->naddrs; i++) {
        struct sec_address *a = &rec->addrs[i];
        a->family = sec_get_u8(&r);
        a->port = sec_get_u16(&r);
        size_t n = addr_len(a->family);
        const uint8_t *b = n ? sec_get_bytes(&r, n) : NULL;
        ok = b != NULL;
        if (ok)
            memcpy(a->addr, b, n);
    }
    out->chain_len = sec_get_u16(&r);
    ok = ok && out->chain_len >= 1 && out->chain_len <= SEC_CHAIN_MAX_LEN;
    out->chain = ok ? sec_get_bytes(&r, out->chain_len) : NULL;
    out->signed_len = r.pos;
    out->sig_len = sec_get_u16(&r);
    ok = ok && out->sig_len >= 1 && out->sig_len <= SEC_SIG_MAX;
    out->sig = ok ? sec_get_bytes(&r, out->sig_len) : NULL;
    if (!ok || !out->chain || !out->sig || !sec_reader_done(&r) || !statement_valid(rec)) {
        memset(out, 0, sizeof(*out));
        return DRT_E_INVALID_MESSAGE;
    }
    memcpy(rec->key, key, SEC_KEY_LEN);
    memcpy(rec->nonce, nonce, SEC_NONCE_LEN);
    memcpy(rec->payload_hash, hash, SEC_HASH_LEN);
    return S_OK;
}

static bool signature_valid(const uint8_t *p, const struct sec_parsed_record *pr, X509 *leaf)
{
    uint8_t *msg = malloc(LABEL_LEN + pr->signed_len);
    if (!msg)
        return false;
    memcpy(msg, SEC_RECORD_LABEL, LABEL_LEN);
    memcpy(msg + LABEL_LEN, p, pr->signed_len);
    bool ok = sec_verify(X509_get0_pubkey(leaf), pr->alg, msg, LABEL_LEN + pr->signed_len,
                         pr->sig, pr->sig_len);
    free(msg);
    ERR_clear_error();
    return ok;
}

/* The checks, cheapest first, so that garbage costs no public-key work. */
static HRESULT check(X509_STORE *store, const uint8_t *p, const struct sec_parsed_record *pr,
                     const uint8_t nonce[SEC_NONCE_LEN], const uint8_t *payload,
                     size_t payload_len, X509 *leaf, STACK_OF(X509) *rest)
{
    static const uint8_t no_nonce[SEC_NONCE_LEN];
    uint8_t hash[SEC_HASH_LEN], derived[SEC_KEY_LEN];
    if (memcmp(pr->rec.nonce, nonce ? nonce : no_nonce, SEC_NONCE_LEN) != 0)
        return DRT_E_INVALID_MESSAGE;
    if (payload && (FAILED(sec_payload_hash(payload, payload_len, hash)) ||
                    memcmp(hash, pr->rec.payload_hash, SEC_HASH_LEN) != 0))
        return DRT_E_INVALID_MESSAGE;
    if (FAILED(sec_derive_key(leaf, derived)) || memcmp(derived, pr->rec.key, SEC_KEY_LEN) != 0)
        return DRT_E_INVALID_MESSAGE;
    if (!signature_valid(p, pr, leaf))
        return DRT_E_INVALID_MESSAGE;
    return sec_chain_verify(store, leaf, rest);
}

HRESULT sec_record_verify(X509_STORE *store, const uint8_t *p, size_t len,
                          const uint8_t nonce[SEC_NONCE_LEN], const uint8_t *payload,
                          size_t payload_len, struct sec_record *rec, X509 **leaf)
{
    memset(rec, 0, sizeof(*rec));
    if (leaf)
        *leaf = NULL;
    if (payload_len && !payload)
        return E_INVALIDARG;
    struct sec_parsed_record pr;
    HRESULT hr = sec_record_parse(p, len, &pr);
    if (FAILED(hr))
        return hr;
    X509 *signer = NULL;
    STACK_OF(X509) *rest = NULL;
    hr = sec_chain_decode(pr.chain, pr.chain_len, &signer, &rest);
    if (SUCCEEDED(hr))
        hr = check(store, p, &pr, nonce, payload, payload_len, signer, rest);
    sk_X509_pop_free(rest, X509_free);
    if (FAILED(hr)) {
        X509_free(signer);
        return hr;
    }
    *rec = pr.rec;
    if (leaf)
        *leaf = signer;
    else
        X509_free(signer);
    return S_OK;
}
