/*
 * drt_open.c - DrtOpen, DrtClose, the instance event queue getters and the
 * instance name. Validation order: docs/API.md.
 */
#include <string.h>
#include <wchar.h>

#include "api/api_internal.h"
#include "util/export.h"

static bool bootstrap_provider_complete(const DRT_BOOTSTRAP_PROVIDER *p)
{
    return p->Attach && p->Detach && p->InitResolve && p->IssueResolve && p->EndResolve &&
           p->Register && p->Unregister;
}

/* Every mode uses the key and payload callbacks; MEMBERSHIP adds node
 * credentials and signatures, CONFIDENTIALPAYLOAD adds encryption. A
 * provider only has to fill in what its mode calls. */
static bool security_provider_complete(const DRT_SECURITY_PROVIDER *p, DRT_SECURITY_MODE mode)
{
    if (!(p->Attach && p->Detach && p->RegisterKey && p->UnregisterKey &&
          p->ValidateAndUnpackPayload && p->SecureAndPackPayload && p->FreeData))
        return false;
    if (mode >= DRT_SECURE_MEMBERSHIP &&
        !(p->GetSerializedCredential && p->ValidateRemoteCredential && p->SignData &&
          p->VerifyData))
        return false;
    if (mode == DRT_SECURE_CONFIDENTIALPAYLOAD && !(p->EncryptData && p->DecryptData))
        return false;
    return true;
}

static bool security_mode_valid(DRT_SECURITY_MODE mode)
{
    return mode == DRT_SECURE_RESOLVE || mode == DRT_SECURE_MEMBERSHIP ||
           mode == DRT_SECURE_CONFIDENTIALPAYLOAD;
}

/* Checks everything DrtOpen can check without touching the providers. */
static HRESULT validate_settings(const DRT_SETTINGS *s)
{
    if (!s || s->dwSize != sizeof(DRT_SETTINGS))
        return DRT_E_INVALID_SETTINGS;
    if (s->cbKey != 32)
        return DRT_E_INVALID_KEY_SIZE;
    if (s->ulMaxRoutingAddresses < DRT_MIN_ROUTING_ADDRESSES ||
        s->ulMaxRoutingAddresses > DRT_MAX_ROUTING_ADDRESSES)
        return DRT_E_INVALID_MAX_ADDRESSES;
    if (!s->hTransport)
        return DRT_E_INVALID_TRANSPORT_PROVIDER;
    if (!security_mode_valid(s->eSecurityMode))
        return DRT_E_INVALID_SECURITY_MODE;
    if (!s->pSecurityProvider || !security_provider_complete(s->pSecurityProvider, s->eSecurityMode))
        return DRT_E_INVALID_SECURITY_PROVIDER;
    if (!s->pBootstrapProvider || !bootstrap_provider_complete(s->pBootstrapProvider))
        return DRT_E_INVALID_BOOTSTRAP_PROVIDER;
    if (s->pwzDrtInstancePrefix &&
        wcsnlen(s->pwzDrtInstancePrefix, DRT_MAX_INSTANCE_PREFIX_LEN + 1) >
            DRT_MAX_INSTANCE_PREFIX_LEN)
        return DRT_E_INVALID_INSTANCE_PREFIX;
    return S_OK;
}

DRT_EXPORT HRESULT WINAPI DrtOpen(const DRT_SETTINGS *pSettings, HANDLE hEvent,
                                  const PVOID pvContext, HDRT *phDrt)
{
    if (!phDrt)
        return E_INVALIDARG;
    *phDrt = NULL;
    HRESULT hr = validate_settings(pSettings);
    if (FAILED(hr))
        return hr;
    struct drt_transport *t;
    hr = transport_check_bindable(pSettings->hTransport, &t);
    if (FAILED(hr))
        return hr;
    /* Attaching the providers and bootstrapping arrive with the node. */
    return E_NOTIMPL;
}

DRT_EXPORT VOID WINAPI DrtClose(HDRT hDrt)
{
    instance_destroy(handle_table_get(hDrt, HANDLE_TYPE_INSTANCE));
}

DRT_EXPORT HRESULT WINAPI DrtGetEventDataSize(HDRT hDrt, ULONG *pulEventDataLen)
{
    if (!pulEventDataLen)
        return E_INVALIDARG;
    if (!handle_table_get(hDrt, HANDLE_TYPE_INSTANCE))
        return E_HANDLE;
    return E_NOTIMPL;
}

DRT_EXPORT HRESULT WINAPI DrtGetEventData(HDRT hDrt, ULONG ulEventDataLen,
                                          DRT_EVENT_DATA *pEventData)
{
    if (!handle_table_get(hDrt, HANDLE_TYPE_INSTANCE))
        return E_HANDLE;
    if (!pEventData)
        return E_INVALIDARG;
    return E_NOTIMPL;
}

DRT_EXPORT HRESULT WINAPI DrtGetInstanceNameSize(HDRT hDrt, ULONG *pulcbInstanceNameSize)
{
    if (!pulcbInstanceNameSize)
        return E_INVALIDARG;
    struct drt_instance *inst = handle_table_get(hDrt, HANDLE_TYPE_INSTANCE);
    if (!inst)
        return E_HANDLE;
    *pulcbInstanceNameSize = (ULONG)((wcslen(inst->name) + 1) * sizeof(wchar_t));
    return S_OK;
}

DRT_EXPORT HRESULT WINAPI DrtGetInstanceName(HDRT hDrt, ULONG ulcbInstanceNameSize,
                                             PWSTR pwzDrtInstanceName)
{
    if (!pwzDrtInstanceName)
        return E_INVALIDARG;
    struct drt_instance *inst = handle_table_get(hDrt, HANDLE_TYPE_INSTANCE);
    if (!inst)
        return E_HANDLE;
    size_t need = (wcslen(inst->name) + 1) * sizeof(wchar_t);
    if (ulcbInstanceNameSize < need)
        return DRT_E_INSUFFICIENT_BUFFER;
    memcpy(pwzDrtInstanceName, inst->name, need);
    return S_OK;
}
