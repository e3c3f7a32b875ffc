/*
 * security_derived.c - DrtCreateDerivedKeySecurityProvider,
 * DrtDeleteDerivedKeySecurityProvider and DrtCreateDerivedKey (reference
 * §5.1, §6.1, §7.6; docs/SECURITY.md).
 *
 * A key is the SHA-256 of a certificate's SubjectPublicKeyInfo
 * (sec/sec_derive.h). Only the holder of that certificate's private key can
 * publish it: every answer for the key is a signed record
 * (sec/sec_record.h) that carries the certificate chain and the requester's
 * nonce, and every resolver checks the chain against the root given here,
 * the signature, the derivation and the nonce.
 *
 * The callbacks of the membership and confidential-payload modes
 * (credentials, request signatures, keytokens) are in
 * security_derived_member.c.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>

#include "api/security_derived.h"
#include "sec/sec_chain.h"
#include "sec/sec_derive.h"
#include "sec/sec_record.h"
#include "sec/sec_sign.h"
#include "util/export.h"

static const DRT_DATA empty_data = {0, NULL};

static HRESULT data_dup(const BYTE *pb, size_t cb, DRT_DATA *out)
{
    *out = empty_data;
    if (cb == 0)
        return S_OK;
    BYTE *copy = malloc(cb);
    if (!copy)
        return E_OUTOFMEMORY;
    memcpy(copy, pb, cb);
    *out = (DRT_DATA){(ULONG)cb, copy};
    return S_OK;
}

static void data_release(DRT_DATA *d)
{
    if (d) {
        free(d->pb);
        *d = empty_data;
    }
}

/* The nonce a record carries: the DRT's 16 bytes, or zeros when there is
 * none (a revocation answers no request). */
static bool nonce_of(const DRT_DATA *pNonce, uint8_t nonce[SEC_NONCE_LEN])
{
    memset(nonce, 0, SEC_NONCE_LEN);
    if (!pNonce || pNonce->cb == 0)
        return true;
    if (pNonce->cb != SEC_NONCE_LEN || !pNonce->pb)
        return false;
    memcpy(nonce, pNonce->pb, SEC_NONCE_LEN);
    return true;
}

/* A private key that can sign for cert: a trial signature must verify
 * with the certificate's public key, which also catches a key that
 * belongs to another certificate or holds only a public part. */
bool derived_can_sign(PCCERT_CONTEXT cert)
{
    static const uint8_t probe[] = "libdrt capability probe";
    EVP_PKEY *pub = X509_get0_pubkey(cert->pCert);
    enum sec_alg alg = sec_alg_of(pub);
    if (!cert->pPrivateKey || alg == SEC_ALG_NONE || sec_alg_of(cert->pPrivateKey) != alg)
        return false;
    uint8_t *sig = NULL;
    size_t n = 0;
    bool ok = SUCCEEDED(sec_sign(cert->pPrivateKey, probe, sizeof(probe), &sig, &n)) &&
              sec_verify(pub, alg, probe, sizeof(probe), sig, n);
    OPENSSL_free(sig);
    ERR_clear_error();
    return ok;
}

/* Whether cert proves key: DRT_E_INVALID_KEY when it does not. */
static HRESULT key_of_cert(PCCERT_CONTEXT cert, const DRT_DATA *key)
{
    uint8_t derived[SEC_KEY_LEN];
    if (!cert || !cert->pCert || !key || key->cb != SEC_KEY_LEN || !key->pb ||
        FAILED(sec_derive_key(cert->pCert, derived)) ||
        memcmp(derived, key->pb, SEC_KEY_LEN) != 0)
        return DRT_E_INVALID_KEY;
    return S_OK;
}

static HRESULT derived_attach(const PVOID pvContext)
{
    struct derived_provider *p = pvContext;
    return atomic_exchange(&p->attached, true) ? DRT_E_SECURITYPROVIDER_IN_USE : S_OK;
}

static VOID derived_detach(const PVOID pvContext)
{
    struct derived_provider *p = pvContext;
    atomic_store(&p->attached, false);
}

/* pvKeyContext is the PCCERT_CONTEXT the key was derived from. The checks
 * run in the order of the documented codes' causes: the key, then the
 * chain, then the ability to sign. */
static HRESULT derived_register_key(const PVOID pvContext, const DRT_REGISTRATION *pRegistration,
                                    PVOID pvKeyContext)
{
    struct derived_provider *p = pvContext;
    PCCERT_CONTEXT cert = pvKeyContext;
    if (!pRegistration)
        return E_INVALIDARG;
    HRESULT hr = key_of_cert(cert, &pRegistration->key);
    if (FAILED(hr))
        return hr;
    hr = sec_chain_verify(p->store, cert->pCert, cert->pChain);
    if (FAILED(hr))
        return hr;
    /* Every certificate the records carry must be in date too, not only
     * those on the verified path: signing refuses otherwise (below). */
    if (!derived_dates_valid(p->root, cert, time(NULL)))
        return DRT_E_INVALID_CERT_CHAIN;
    return derived_can_sign(cert) ? S_OK : DRT_E_CAPABILITY_MISMATCH;
}

static HRESULT derived_unregister_key(const PVOID pvContext, const DRT_DATA *pKey,
                                      PVOID pvKeyContext)
{
    return S_OK;
}

static void clear_pack_outs(DRT_DATA *a, DRT_DATA *b, DRT_DATA *c, DRT_DATA *d)
{
    DRT_DATA *outs[] = {a, b, c, d};
    for (size_t i = 0; i < 4; i++)
        if (outs[i])
            *outs[i] = empty_data;
}

/* The chain as it travels in pCertChain: the same bytes as inside the
 * record (sec_chain.h). */
HRESULT derived_chain_out(const struct derived_provider *p, PCCERT_CONTEXT cert, DRT_DATA *out)
{
    struct sec_writer w;
    sec_writer_init(&w, NULL, 0);
    HRESULT hr = sec_chain_encode(cert->pCert, cert->pChain, p->root, &w);
    if (FAILED(hr))
        return hr;
    BYTE *buf = malloc(w.pos);
    if (!buf)
        return E_OUTOFMEMORY;
    size_t len = w.pos;
    sec_writer_init(&w, buf, len);
    hr = sec_chain_encode(cert->pCert, cert->pChain, p->root, &w);
    if (FAILED(hr) || w.pos != len) {
        free(buf);
        return FAILED(hr) ? hr : E_FAIL;
    }
    *out = (DRT_DATA){(ULONG)len, buf};
    return S_OK;
}

static HRESULT derived_secure_and_pack(const PVOID pvContext, PVOID pvKeyContext,
                                       BYTE bProtocolMajor, BYTE bProtocolMinor, DWORD dwFlags,
                                       const DRT_DATA *pKey, const DRT_DATA *pPayload,
                                       const SOCKET_ADDRESS_LIST *pAddressList,
                                       const DRT_DATA *pNonce, DRT_DATA *pSecuredAddressPayload,
                                       DRT_DATA *pClassifier, DRT_DATA *pSecuredPayload,
                                       DRT_DATA *pCertChain)
{
    struct derived_provider *p = pvContext;
    PCCERT_CONTEXT cert = pvKeyContext;
    clear_pack_outs(pSecuredAddressPayload, pClassifier, pSecuredPayload, pCertChain);

    struct sec_record rec;
    memset(&rec, 0, sizeof(rec));
    if (!pSecuredAddressPayload || !pKey || !nonce_of(pNonce, rec.nonce) ||
        (dwFlags & ~(DWORD)DRT_PAYLOAD_REVOKED) ||
        (pPayload && pPayload->cb > 0 && !pPayload->pb))
        return E_INVALIDARG;
    /* Never sign for a key this certificate does not prove: the record
     * would be refused anyway, and a signature is a statement. */
    HRESULT hr = key_of_cert(cert, pKey);
    if (FAILED(hr))
        return hr;
    /* Nor with a certificate out of date: every resolver would refuse the
     * record. This is also why an expired key's withdrawal sends no
     * revocation (docs/SECURITY.md, "Key lifetime"). */
    if (!derived_dates_valid(p->root, cert, time(NULL)))
        return DRT_E_INVALID_CERT_CHAIN;
    const BYTE *payload = pPayload ? pPayload->pb : NULL;
    size_t payload_len = pPayload ? pPayload->cb : 0;
    rec.protocol_major = bProtocolMajor;
    rec.protocol_minor = bProtocolMinor;
    rec.flags = dwFlags;
    memcpy(rec.key, pKey->pb, SEC_KEY_LEN);
    hr = derived_addresses_in(pAddressList, &rec);
    if (SUCCEEDED(hr))
        hr = sec_payload_hash(payload, payload_len, rec.payload_hash);
    uint8_t *record = NULL;
    size_t record_len = 0;
    if (SUCCEEDED(hr))
        hr = sec_record_sign(&rec, cert->pCert, cert->pChain, p->root, cert->pPrivateKey,
                             &record, &record_len);
    ERR_clear_error();
    if (FAILED(hr))
        return hr;
    *pSecuredAddressPayload = (DRT_DATA){(ULONG)record_len, record};
    /* In DRT_SECURE_RESOLVE the payload travels in clear; the record's hash
     * binds it to the signature. */
    if (pSecuredPayload)
        hr = data_dup(payload, payload_len, pSecuredPayload);
    if (SUCCEEDED(hr) && pCertChain)
        hr = derived_chain_out(p, cert, pCertChain);
    if (FAILED(hr)) {
        data_release(pSecuredAddressPayload);
        data_release(pSecuredPayload);
        data_release(pCertChain);
    }
    return hr;
}

/* A chain given beside the record must be the one inside it: two chains
 * would be two answers to "who signed this". */
static bool chain_matches(const DRT_DATA *pCertChain, const DRT_DATA *record)
{
    if (!pCertChain || pCertChain->cb == 0)
        return true;
    struct sec_parsed_record pr;
    return pCertChain->pb && SUCCEEDED(sec_record_parse(record->pb, record->cb, &pr)) &&
           pr.chain_len == pCertChain->cb &&
           memcmp(pr.chain, pCertChain->pb, pr.chain_len) == 0;
}

static HRESULT unpack_outs(const struct sec_record *rec, X509 *leaf, const DRT_DATA *secured,
                           DRT_DATA *pKey, DRT_DATA *pPayload,
                           CERT_PUBLIC_KEY_INFO **ppPublicKey,
                           SOCKET_ADDRESS_LIST **ppAddressList)
{
    HRESULT hr = data_dup(rec->key, SEC_KEY_LEN, pKey);
    if (SUCCEEDED(hr) && pPayload && secured)
        hr = data_dup(secured->pb, secured->cb, pPayload);
    if (SUCCEEDED(hr) && ppPublicKey)
        hr = derived_public_key_out(leaf, ppPublicKey);
    if (SUCCEEDED(hr) && ppAddressList)
        hr = derived_addresses_out(rec, ppAddressList);
    return hr;
}

static HRESULT derived_validate_and_unpack(
    const PVOID pvContext, DRT_DATA *pSecuredAddressPayload, DRT_DATA *pCertChain,
    DRT_DATA *pClassifier, DRT_DATA *pNonce, DRT_DATA *pSecuredPayload, BYTE *pbProtocolMajor,
    BYTE *pbProtocolMinor, DRT_DATA *pKey, DRT_DATA *pPayload,
    CERT_PUBLIC_KEY_INFO **ppPublicKey, SOCKET_ADDRESS_LIST **ppAddressList, DWORD *pdwFlags)
{
    struct derived_provider *p = pvContext;
    /* Outs are defined on every path, so a failure leaves nothing to free. */
    if (pKey)
        *pKey = empty_data;
    if (pPayload)
        *pPayload = empty_data;
    if (ppPublicKey)
        *ppPublicKey = NULL;
    if (ppAddressList)
        *ppAddressList = NULL;
    if (pdwFlags)
        *pdwFlags = 0;
    if (pbProtocolMajor)
        *pbProtocolMajor = 0;
    if (pbProtocolMinor)
        *pbProtocolMinor = 0;
    if (!pSecuredAddressPayload || !pKey)
        return E_INVALIDARG;

    uint8_t nonce[SEC_NONCE_LEN];
    const DRT_DATA *cpa = pSecuredAddressPayload;
    if (!cpa->pb || cpa->cb == 0 || !nonce_of(pNonce, nonce) ||
        (pSecuredPayload && pSecuredPayload->cb > 0 && !pSecuredPayload->pb) ||
        !chain_matches(pCertChain, cpa))
        return DRT_E_INVALID_MESSAGE;
    /* No secured payload: the requester did not ask for it (INQUIRE
     * without X), so there is nothing to check and nothing to hand out
     * (docs/SECURITY.md, "Payload"). */
    static const BYTE none[1];
    const BYTE *payload = NULL;
    if (pSecuredPayload)
        payload = pSecuredPayload->cb ? pSecuredPayload->pb : none;
    struct sec_record rec;
    X509 *leaf = NULL;
    HRESULT hr = sec_record_verify(p->store, cpa->pb, cpa->cb, nonce, payload,
                                   pSecuredPayload ? pSecuredPayload->cb : 0, &rec, &leaf);
    ERR_clear_error();
    /* The interface has one code for a bad proof, whatever part failed. */
    if (FAILED(hr))
        return hr == E_OUTOFMEMORY ? hr : DRT_E_INVALID_MESSAGE;
    hr = unpack_outs(&rec, leaf, pSecuredPayload, pKey, pPayload, ppPublicKey, ppAddressList);
    X509_free(leaf);
    if (FAILED(hr)) {
        data_release(pKey);
        data_release(pPayload);
        free(ppPublicKey ? *ppPublicKey : NULL);
        free(ppAddressList ? *ppAddressList : NULL);
        if (ppPublicKey)
            *ppPublicKey = NULL;
        if (ppAddressList)
            *ppAddressList = NULL;
        return hr;
    }
    if (pbProtocolMajor)
        *pbProtocolMajor = rec.protocol_major;
    if (pbProtocolMinor)
        *pbProtocolMinor = rec.protocol_minor;
    if (pdwFlags)
        *pdwFlags = rec.flags;
    return S_OK;
}

static void derived_free_data(const PVOID pvContext, PVOID pv)
{
    free(pv);
}

/* --- the public functions ------------------------------------------------- */

static void provider_free(struct derived_provider *p)
{
    cred_cache_free(&p->creds);
    X509_STORE_free(p->store);
    X509_free(p->root);
    free(p);
}

DRT_EXPORT HRESULT WINAPI DrtCreateDerivedKeySecurityProvider(
    PCCERT_CONTEXT pRootCert, PCCERT_CONTEXT pLocalCert,
    DRT_SECURITY_PROVIDER **ppSecurityProvider)
{
    if (!ppSecurityProvider)
        return E_INVALIDARG;
    *ppSecurityProvider = NULL;
    if (!pRootCert || !pRootCert->pCert)
        return E_INVALIDARG;
    if (pLocalCert && !pLocalCert->pCert)
        return E_INVALIDARG;
    struct derived_provider *p = calloc(1, sizeof(*p));
    if (!p)
        return E_OUTOFMEMORY;
    cred_cache_init(&p->creds);
    /* A root without a usable public key can anchor nothing. */
    p->store = sec_store_new(pRootCert->pCert);
    if (!p->store || X509_up_ref(pRootCert->pCert) != 1) {
        provider_free(p);
        ERR_clear_error();
        return DRT_E_INVALID_CERT_CHAIN;
    }
    p->root = pRootCert->pCert;
    if (pLocalCert) {
        HRESULT hr = sec_chain_verify(p->store, pLocalCert->pCert, pLocalCert->pChain);
        if (SUCCEEDED(hr) && sec_alg_of(X509_get0_pubkey(pLocalCert->pCert)) == SEC_ALG_NONE)
            hr = DRT_E_CAPABILITY_MISMATCH;
        ERR_clear_error();
        if (FAILED(hr)) {
            provider_free(p);
            return hr;
        }
    }
    p->local = pLocalCert;
    p->provider = (DRT_SECURITY_PROVIDER){
        .pvContext = p,
        .Attach = derived_attach,
        .Detach = derived_detach,
        .RegisterKey = derived_register_key,
        .UnregisterKey = derived_unregister_key,
        .ValidateAndUnpackPayload = derived_validate_and_unpack,
        .SecureAndPackPayload = derived_secure_and_pack,
        .FreeData = derived_free_data,
    };
    derived_member_callbacks(&p->provider);
    atomic_init(&p->attached, false);
    *ppSecurityProvider = &p->provider;
    return S_OK;
}

DRT_EXPORT void WINAPI DrtDeleteDerivedKeySecurityProvider(DRT_SECURITY_PROVIDER *pSecurityProvider)
{
    /* Only our own objects point pvContext back at themselves. */
    if (!pSecurityProvider || pSecurityProvider->pvContext != (PVOID)pSecurityProvider ||
        pSecurityProvider->Attach != derived_attach)
        return;
    provider_free((struct derived_provider *)pSecurityProvider);
}

bool derived_key_lifetime(const DRT_SECURITY_PROVIDER *sp, PVOID key_context,
                          int64_t *not_after)
{
    if (!sp || sp->pvContext != (PVOID)sp || sp->Attach != derived_attach)
        return false;
    const struct derived_provider *p = (const struct derived_provider *)sp;
    return derived_not_after(p->root, key_context, not_after);
}

DRT_EXPORT HRESULT WINAPI DrtCreateDerivedKey(PCCERT_CONTEXT pLocalCert, DRT_DATA *pKey)
{
    if (!pLocalCert || !pLocalCert->pCert || !pKey || !pKey->pb || pKey->cb != SEC_KEY_LEN)
        return E_INVALIDARG;
    /* A key nobody could sign for would be a key nobody could publish. */
    if (sec_alg_of(X509_get0_pubkey(pLocalCert->pCert)) == SEC_ALG_NONE) {
        ERR_clear_error();
        return DRT_E_CAPABILITY_MISMATCH;
    }
    uint8_t key[SEC_KEY_LEN];
    HRESULT hr = sec_derive_key(pLocalCert->pCert, key);
    if (SUCCEEDED(hr))
        memcpy(pKey->pb, key, SEC_KEY_LEN);
    return hr;
}
