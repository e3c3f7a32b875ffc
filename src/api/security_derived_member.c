/*
 * security_derived_member.c - the derived-key provider's callbacks for
 * DRT_SECURE_MEMBERSHIP and DRT_SECURE_CONFIDENTIALPAYLOAD
 * (docs/SECURITY.md, "Membership" and "Confidential payload").
 *
 * A node's credential is its certificate chain in the record's encoding
 * (sec_chain.h), the local certificate given to
 * DrtCreateDerivedKeySecurityProvider; its key identifier is that
 * certificate's derived key. SignData signs with the local key
 * (sec_message.h); VerifyData and ValidateRemoteCredential check a peer's
 * chain against the root, once per chain thanks to the cache below.
 * EncryptData seals buffers under a fresh AES-256-GCM content key and wraps
 * that key for the peer's certificate (sec_keytoken.h); DecryptData
 * unwraps it with the local (or the key context's) private key.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "api/security_derived.h"
#include "sec/sec_keytoken.h"
#include "sec/sec_message.h"

static const DRT_DATA empty_data = {0, NULL};

static HRESULT derived_sign(const PVOID pvContext, DWORD dwBuffers, DRT_DATA *pDataBuffers,
                            DRT_DATA *pKeyIdentifier, DRT_DATA *pSignature);

/* Verifies a credential's chain against the provider's root
 * (cred_verify_fn). */
static HRESULT cred_verify(void *ctx, const uint8_t *chain, size_t len, struct cred_verified *out)
{
    struct derived_provider *p = ctx;
    X509 *leaf = NULL;
    STACK_OF(X509) *rest = NULL;
    HRESULT hr = sec_chain_decode(chain, len, &leaf, &rest);
    if (SUCCEEDED(hr))
        hr = sec_chain_verify(p->store, leaf, rest);
    CERT_CONTEXT cc = {leaf, NULL, rest};
    if (SUCCEEDED(hr) && (!derived_not_after(p->root, &cc, &out->not_after) ||
                          FAILED(sec_derive_key(leaf, out->key_id))))
        hr = DRT_E_INVALID_CERT_CHAIN;
    if (SUCCEEDED(hr)) {
        out->pub = X509_get_pubkey(leaf);
        if (!out->pub)
            hr = E_OUTOFMEMORY;
    }
    X509_free(leaf);
    sk_X509_pop_free(rest, X509_free);
    ERR_clear_error();
    return hr;
}

/* The verified leaf key and key id of a remote credential. */
static HRESULT cred_lookup(struct derived_provider *p, const DRT_DATA *cred, EVP_PKEY **pub,
                           uint8_t key_id[SEC_KEY_LEN])
{
    if (!cred) {
        *pub = NULL;
        return DRT_E_INVALID_CERT_CHAIN;
    }
    return cred_cache_lookup(&p->creds, cred->pb, cred->cb, cred_verify, p, pub, key_id);
}

bool derived_cred_stats(const DRT_SECURITY_PROVIDER *sp, uint64_t *verified, uint64_t *hits)
{
    if (!sp || sp->pvContext != (PVOID)sp || sp->SignData != derived_sign)
        return false;
    struct derived_provider *p = (struct derived_provider *)sp;
    cred_cache_stats(&p->creds, verified, hits);
    return true;
}

/* OPENSSL_malloc'ed bytes as a malloc'ed DRT_DATA (FreeData is free()). */
static HRESULT take(uint8_t *ossl, size_t len, DRT_DATA *out)
{
    BYTE *copy = len ? malloc(len) : NULL;
    if (len && !copy) {
        OPENSSL_free(ossl);
        return E_OUTOFMEMORY;
    }
    if (len)
        memcpy(copy, ossl, len);
    OPENSSL_free(ossl);
    *out = (DRT_DATA){(ULONG)len, copy};
    return S_OK;
}

/* The local certificate, usable for the membership modes: it must chain to
 * the root (checked at creation) and have a private key that signs for
 * it. */
static PCCERT_CONTEXT local_of(struct derived_provider *p)
{
    return p->local && derived_can_sign(p->local) ? p->local : NULL;
}

static HRESULT derived_get_credential(const PVOID pvContext, DRT_DATA *pSelfCredential)
{
    struct derived_provider *p = pvContext;
    if (!pSelfCredential)
        return E_INVALIDARG;
    *pSelfCredential = empty_data;
    PCCERT_CONTEXT local = local_of(p);
    if (!local)
        return DRT_E_CAPABILITY_MISMATCH;
    return derived_chain_out(p, local, pSelfCredential);
}

static HRESULT derived_validate_credential(const PVOID pvContext, DRT_DATA *pRemoteCredential)
{
    EVP_PKEY *pub = NULL;
    uint8_t key_id[SEC_KEY_LEN];
    HRESULT hr = cred_lookup(pvContext, pRemoteCredential, &pub, key_id);
    EVP_PKEY_free(pub);
    return hr;
}

static HRESULT derived_sign(const PVOID pvContext, DWORD dwBuffers, DRT_DATA *pDataBuffers,
                            DRT_DATA *pKeyIdentifier, DRT_DATA *pSignature)
{
    struct derived_provider *p = pvContext;
    if (!pKeyIdentifier || !pSignature || (dwBuffers && !pDataBuffers))
        return E_INVALIDARG;
    *pKeyIdentifier = empty_data;
    *pSignature = empty_data;
    PCCERT_CONTEXT local = local_of(p);
    if (!local)
        return DRT_E_CAPABILITY_MISMATCH;
    uint8_t *sig = NULL;
    size_t sig_len = 0;
    BYTE *id = malloc(SEC_KEY_LEN);
    HRESULT hr = id ? sec_derive_key(local->pCert, id) : E_OUTOFMEMORY;
    if (SUCCEEDED(hr))
        hr = sec_message_sign(local->pPrivateKey, pDataBuffers, dwBuffers, &sig, &sig_len);
    if (SUCCEEDED(hr))
        hr = take(sig, sig_len, pSignature);
    ERR_clear_error();
    if (FAILED(hr)) {
        free(id);
        return hr;
    }
    *pKeyIdentifier = (DRT_DATA){SEC_KEY_LEN, id};
    return S_OK;
}

/* The key identifier names the certificate that signed: the derived key of
 * the credential's leaf. */
static HRESULT derived_verify(const PVOID pvContext, DWORD dwBuffers, DRT_DATA *pDataBuffers,
                              DRT_DATA *pRemoteCredentials, DRT_DATA *pKeyIdentifier,
                              DRT_DATA *pSignature)
{
    if ((dwBuffers && !pDataBuffers) || !pKeyIdentifier || !pSignature || !pSignature->pb)
        return DRT_E_INVALID_MESSAGE;
    EVP_PKEY *pub = NULL;
    uint8_t key_id[SEC_KEY_LEN];
    HRESULT hr = cred_lookup(pvContext, pRemoteCredentials, &pub, key_id);
    if (SUCCEEDED(hr) &&
        (pKeyIdentifier->cb != SEC_KEY_LEN || !pKeyIdentifier->pb ||
         memcmp(pKeyIdentifier->pb, key_id, SEC_KEY_LEN) != 0 ||
         !sec_message_verify(pub, pDataBuffers, dwBuffers, pSignature->pb, pSignature->cb)))
        hr = DRT_E_INVALID_MESSAGE;
    EVP_PKEY_free(pub);
    ERR_clear_error();
    return hr;
}

static HRESULT derived_encrypt(const PVOID pvContext, const DRT_DATA *pRemoteCredential,
                               DWORD dwBuffers, DRT_DATA *pDataBuffers,
                               DRT_DATA *pEncryptedBuffers, DRT_DATA *pKeyToken)
{
    if (!pKeyToken || (dwBuffers && (!pDataBuffers || !pEncryptedBuffers)))
        return E_INVALIDARG;
    *pKeyToken = empty_data;
    for (DWORD i = 0; i < dwBuffers; i++) {
        pEncryptedBuffers[i] = empty_data;
        if ((pDataBuffers[i].cb && !pDataBuffers[i].pb) ||
            pDataBuffers[i].cb > SEC_MESSAGE_MAX)
            return E_INVALIDARG;
    }
    EVP_PKEY *pub = NULL;
    uint8_t key_id[SEC_KEY_LEN];
    HRESULT hr = cred_lookup(pvContext, pRemoteCredential, &pub, key_id);
    if (FAILED(hr))
        return hr;
    struct sec_content_key ck;
    uint8_t *token = NULL;
    size_t token_len = 0;
    hr = RAND_bytes((unsigned char *)&ck, sizeof(ck)) == 1 ? S_OK : E_FAIL;
    if (SUCCEEDED(hr))
        hr = sec_keytoken_wrap(pub, &ck, NULL, &token, &token_len);
    EVP_PKEY_free(pub);
    for (DWORD i = 0; SUCCEEDED(hr) && i < dwBuffers; i++) {
        size_t n = pDataBuffers[i].cb + SEC_GCM_TAG_LEN;
        BYTE *out = malloc(n);
        hr = out ? sec_payload_seal(&ck, i, pDataBuffers[i].pb, pDataBuffers[i].cb, out)
                 : E_OUTOFMEMORY;
        if (SUCCEEDED(hr))
            pEncryptedBuffers[i] = (DRT_DATA){(ULONG)n, out};
        else
            free(out);
    }
    OPENSSL_cleanse(&ck, sizeof(ck));
    ERR_clear_error();
    if (FAILED(hr)) {
        for (DWORD i = 0; i < dwBuffers; i++) {
            free(pEncryptedBuffers[i].pb);
            pEncryptedBuffers[i] = empty_data;
        }
        free(token);
        return hr;
    }
    *pKeyToken = (DRT_DATA){(ULONG)token_len, token};
    return S_OK;
}

/* Each buffer is opened in place: its cb shrinks by the tag. pvKeyContext
 * is the registration's certificate when the message is for a local key,
 * NULL for the node itself (a searcher's answers). */
static HRESULT derived_decrypt(const PVOID pvContext, DRT_DATA *pKeyToken,
                               const PVOID pvKeyContext, DWORD dwBuffers, DRT_DATA *pData)
{
    struct derived_provider *p = pvContext;
    PCCERT_CONTEXT cert = pvKeyContext ? (PCCERT_CONTEXT)pvKeyContext : p->local;
    if (!pKeyToken || !pKeyToken->pb || (dwBuffers && !pData))
        return DRT_E_INVALID_MESSAGE;
    if (!cert || !cert->pPrivateKey)
        return DRT_E_CAPABILITY_MISMATCH;
    struct sec_content_key ck;
    HRESULT hr = sec_keytoken_unwrap(cert->pPrivateKey, pKeyToken->pb, pKeyToken->cb, &ck);
    for (DWORD i = 0; SUCCEEDED(hr) && i < dwBuffers; i++) {
        if (!pData[i].pb || pData[i].cb < SEC_GCM_TAG_LEN) {
            hr = DRT_E_INVALID_MESSAGE;
            break;
        }
        hr = sec_payload_open(&ck, i, pData[i].pb, pData[i].cb, pData[i].pb);
        if (SUCCEEDED(hr))
            pData[i].cb -= SEC_GCM_TAG_LEN;
    }
    OPENSSL_cleanse(&ck, sizeof(ck));
    ERR_clear_error();
    return hr;
}

void derived_member_callbacks(DRT_SECURITY_PROVIDER *sp)
{
    sp->EncryptData = derived_encrypt;
    sp->DecryptData = derived_decrypt;
    sp->GetSerializedCredential = derived_get_credential;
    sp->ValidateRemoteCredential = derived_validate_credential;
    sp->SignData = derived_sign;
    sp->VerifyData = derived_verify;
}
