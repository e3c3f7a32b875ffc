/*
 * security_null.c - DrtCreateNullSecurityProvider: keys are not
 * authenticated (reference §5.1, "null" behaviour; docs/API.md).
 *
 * The secured address payload is the engine's null CPA (docs/PROTOCOL.md,
 * "The null security provider's CPA"): 00 | key (32) | nonce (16). It
 * proves only that the answering node saw our nonce. Every buffer handed
 * out is one malloc block, released through FreeData.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <drt.h>

#include "util/export.h"

#define NULL_CPA_KEY 32
#define NULL_CPA_NONCE 16
#define NULL_CPA_LEN (1 + NULL_CPA_KEY + NULL_CPA_NONCE)

struct null_provider {
    /* First member: the pointer handed to the application is the object. */
    DRT_SECURITY_PROVIDER provider;
    atomic_bool attached;
};

static const DRT_DATA empty_data = {0, NULL};

/* Copies `len` bytes into a fresh block; an empty input yields {0, NULL}. */
static HRESULT data_dup(const BYTE *pb, ULONG cb, DRT_DATA *out)
{
    *out = empty_data;
    if (cb == 0)
        return S_OK;
    BYTE *copy = malloc(cb);
    if (!copy)
        return E_OUTOFMEMORY;
    memcpy(copy, pb, cb);
    *out = (DRT_DATA){cb, copy};
    return S_OK;
}

static void data_release(DRT_DATA *d)
{
    if (d) {
        free(d->pb);
        *d = empty_data;
    }
}

/* The nonce the CPA carries: the DRT's 16 bytes, or zeros when it has none
 * (revocations carry no nonce). Other sizes are not a null CPA nonce. */
static bool nonce_of(const DRT_DATA *pNonce, BYTE nonce[NULL_CPA_NONCE])
{
    memset(nonce, 0, NULL_CPA_NONCE);
    if (!pNonce || pNonce->cb == 0)
        return true;
    if (pNonce->cb != NULL_CPA_NONCE || !pNonce->pb)
        return false;
    memcpy(nonce, pNonce->pb, NULL_CPA_NONCE);
    return true;
}

static HRESULT null_attach(const PVOID pvContext)
{
    struct null_provider *p = pvContext;
    return atomic_exchange(&p->attached, true) ? DRT_E_SECURITYPROVIDER_IN_USE : S_OK;
}

static VOID null_detach(const PVOID pvContext)
{
    struct null_provider *p = pvContext;
    atomic_store(&p->attached, false);
}

static HRESULT null_register_key(const PVOID pvContext, const DRT_REGISTRATION *pRegistration,
                                 PVOID pvKeyContext)
{
    return S_OK;
}

static HRESULT null_unregister_key(const PVOID pvContext, const DRT_DATA *pKey, PVOID pvKeyContext)
{
    return S_OK;
}

static HRESULT null_secure_and_pack(const PVOID pvContext, PVOID pvKeyContext,
                                    BYTE bProtocolMajor, BYTE bProtocolMinor, DWORD dwFlags,
                                    const DRT_DATA *pKey, const DRT_DATA *pPayload,
                                    const SOCKET_ADDRESS_LIST *pAddressList,
                                    const DRT_DATA *pNonce, DRT_DATA *pSecuredAddressPayload,
                                    DRT_DATA *pClassifier, DRT_DATA *pSecuredPayload,
                                    DRT_DATA *pCertChain)
{
    if (pSecuredAddressPayload)
        *pSecuredAddressPayload = empty_data;
    if (pClassifier)
        *pClassifier = empty_data;
    if (pSecuredPayload)
        *pSecuredPayload = empty_data;
    if (pCertChain)
        *pCertChain = empty_data;

    BYTE nonce[NULL_CPA_NONCE];
    if (!pSecuredAddressPayload || !pKey || pKey->cb != NULL_CPA_KEY || !pKey->pb ||
        !nonce_of(pNonce, nonce))
        return E_INVALIDARG;
    if (pPayload && pPayload->cb > 0 && !pPayload->pb)
        return E_INVALIDARG;

    BYTE *cpa = malloc(NULL_CPA_LEN);
    if (!cpa)
        return E_OUTOFMEMORY;
    cpa[0] = 0;
    memcpy(cpa + 1, pKey->pb, NULL_CPA_KEY);
    memcpy(cpa + 1 + NULL_CPA_KEY, nonce, NULL_CPA_NONCE);

    /* The payload travels as is: the null provider neither signs nor
     * encrypts it. */
    if (pSecuredPayload && pPayload && data_dup(pPayload->pb, pPayload->cb, pSecuredPayload) != S_OK) {
        free(cpa);
        return E_OUTOFMEMORY;
    }
    *pSecuredAddressPayload = (DRT_DATA){NULL_CPA_LEN, cpa};
    return S_OK;
}

static HRESULT null_validate_and_unpack(const PVOID pvContext, DRT_DATA *pSecuredAddressPayload,
                                        DRT_DATA *pCertChain, DRT_DATA *pClassifier,
                                        DRT_DATA *pNonce, DRT_DATA *pSecuredPayload,
                                        BYTE *pbProtocolMajor, BYTE *pbProtocolMinor,
                                        DRT_DATA *pKey, DRT_DATA *pPayload,
                                        CERT_PUBLIC_KEY_INFO **ppPublicKey,
                                        SOCKET_ADDRESS_LIST **ppAddressList, DWORD *pdwFlags)
{
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
    /* The null CPA carries no protocol version. */
    if (pbProtocolMajor)
        *pbProtocolMajor = 0;
    if (pbProtocolMinor)
        *pbProtocolMinor = 0;
    if (!pSecuredAddressPayload || !pKey)
        return E_INVALIDARG;

    const DRT_DATA *cpa = pSecuredAddressPayload;
    BYTE nonce[NULL_CPA_NONCE];
    if (cpa->cb != NULL_CPA_LEN || !cpa->pb || cpa->pb[0] != 0 || !nonce_of(pNonce, nonce) ||
        memcmp(cpa->pb + 1 + NULL_CPA_KEY, nonce, NULL_CPA_NONCE) != 0)
        return DRT_E_INVALID_MESSAGE;
    if (pSecuredPayload && pSecuredPayload->cb > 0 && !pSecuredPayload->pb)
        return DRT_E_INVALID_MESSAGE;

    if (data_dup(cpa->pb + 1, NULL_CPA_KEY, pKey) != S_OK)
        return E_OUTOFMEMORY;
    /* The null CPA has no flags field: the zero nonce marks a revocation
     * (docs/PROTOCOL.md), which answers no request. An answer carries the
     * requester's random nonce. */
    static const BYTE no_nonce[NULL_CPA_NONCE];
    if (pdwFlags && memcmp(nonce, no_nonce, NULL_CPA_NONCE) == 0)
        *pdwFlags = DRT_PAYLOAD_REVOKED;
    if (pPayload && pSecuredPayload &&
        data_dup(pSecuredPayload->pb, pSecuredPayload->cb, pPayload) != S_OK) {
        data_release(pKey);
        return E_OUTOFMEMORY;
    }
    return S_OK;
}

static void null_free_data(const PVOID pvContext, PVOID pv)
{
    free(pv);
}

static HRESULT null_encrypt(const PVOID pvContext, const DRT_DATA *pRemoteCredential,
                            DWORD dwBuffers, DRT_DATA *pDataBuffers, DRT_DATA *pEncryptedBuffers,
                            DRT_DATA *pKeyToken)
{
    if (!pKeyToken || (dwBuffers > 0 && (!pDataBuffers || !pEncryptedBuffers)))
        return E_INVALIDARG;
    *pKeyToken = empty_data;
    for (DWORD i = 0; i < dwBuffers; i++)
        pEncryptedBuffers[i] = empty_data;
    for (DWORD i = 0; i < dwBuffers; i++) {
        HRESULT hr = E_INVALIDARG;
        if (pDataBuffers[i].cb == 0 || pDataBuffers[i].pb)
            hr = data_dup(pDataBuffers[i].pb, pDataBuffers[i].cb, &pEncryptedBuffers[i]);
        if (hr != S_OK) {
            for (DWORD j = 0; j < i; j++)
                data_release(&pEncryptedBuffers[j]);
            return hr;
        }
    }
    return S_OK;
}

static HRESULT null_decrypt(const PVOID pvContext, DRT_DATA *pKeyToken, const PVOID pvKeyContext,
                            DWORD dwBuffers, DRT_DATA *pData)
{
    /* Encrypt only copied, so the buffers already hold the plaintext. */
    return S_OK;
}

static HRESULT null_get_credential(const PVOID pvContext, DRT_DATA *pSelfCredential)
{
    if (!pSelfCredential)
        return E_INVALIDARG;
    *pSelfCredential = empty_data;
    return S_OK;
}

static HRESULT null_validate_credential(const PVOID pvContext, DRT_DATA *pRemoteCredential)
{
    return S_OK;
}

static HRESULT null_sign(const PVOID pvContext, DWORD dwBuffers, DRT_DATA *pDataBuffers,
                         DRT_DATA *pKeyIdentifier, DRT_DATA *pSignature)
{
    if (pKeyIdentifier)
        *pKeyIdentifier = empty_data;
    if (!pSignature)
        return E_INVALIDARG;
    *pSignature = empty_data;
    return S_OK;
}

static HRESULT null_verify(const PVOID pvContext, DWORD dwBuffers, DRT_DATA *pDataBuffers,
                           DRT_DATA *pRemoteCredentials, DRT_DATA *pKeyIdentifier,
                           DRT_DATA *pSignature)
{
    /* A signature we could not have produced means the peer uses another
     * provider: reject rather than pretend to have checked it. */
    if (!pSignature || pSignature->cb == 0)
        return S_OK;
    return DRT_E_INVALID_MESSAGE;
}

DRT_EXPORT HRESULT WINAPI DrtCreateNullSecurityProvider(DRT_SECURITY_PROVIDER **ppSecurityProvider)
{
    if (!ppSecurityProvider)
        return E_INVALIDARG;
    *ppSecurityProvider = NULL;
    struct null_provider *p = malloc(sizeof(*p));
    if (!p)
        return E_OUTOFMEMORY;
    p->provider = (DRT_SECURITY_PROVIDER){
        .pvContext = p,
        .Attach = null_attach,
        .Detach = null_detach,
        .RegisterKey = null_register_key,
        .UnregisterKey = null_unregister_key,
        .ValidateAndUnpackPayload = null_validate_and_unpack,
        .SecureAndPackPayload = null_secure_and_pack,
        .FreeData = null_free_data,
        .EncryptData = null_encrypt,
        .DecryptData = null_decrypt,
        .GetSerializedCredential = null_get_credential,
        .ValidateRemoteCredential = null_validate_credential,
        .SignData = null_sign,
        .VerifyData = null_verify,
    };
    atomic_init(&p->attached, false);
    *ppSecurityProvider = &p->provider;
    return S_OK;
}

DRT_EXPORT void WINAPI DrtDeleteNullSecurityProvider(DRT_SECURITY_PROVIDER *pSecurityProvider)
{
    /* Only our own objects point pvContext back at themselves. */
    if (!pSecurityProvider || pSecurityProvider->pvContext != (PVOID)pSecurityProvider ||
        pSecurityProvider->Attach != null_attach)
        return;
    free(pSecurityProvider);
}
