/*
 * drt_open.c - DrtOpen, DrtClose, the instance event queue getters and the
 * instance name. Validation order: docs/API.md.
 */
#include <stdlib.h>
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
    /* Attach the providers; a provider that serves one DRT at a time says
     * so here (DRT_E_*PROVIDER_IN_USE), and nothing is left attached. */
    DRT_SECURITY_PROVIDER *sp = pSettings->pSecurityProvider;
    DRT_BOOTSTRAP_PROVIDER *bp = pSettings->pBootstrapProvider;
    hr = sp->Attach(sp->pvContext);
    if (FAILED(hr))
        return hr;
    hr = bp->Attach(bp->pvContext);
    if (FAILED(hr)) {
        sp->Detach(sp->pvContext);
        return hr;
    }
    struct drt_instance *inst;
    hr = instance_create(pSettings, hEvent, pvContext, &inst);
    if (FAILED(hr)) {
        bp->Detach(bp->pvContext);
        sp->Detach(sp->pvContext);
        return hr;
    }
    ULONG found = instance_bootstrap(inst);
    *phDrt = inst->handle;
    /* Nobody to bootstrap from: this may be the cloud's first node, or the
     * others are not up yet; the DRT keeps trying (ALONE). */
    return found ? S_OK : DRT_S_RETRY;
}

DRT_EXPORT VOID WINAPI DrtClose(HDRT hDrt)
{
    struct drt_instance *inst = handle_table_get(hDrt, HANDLE_TYPE_INSTANCE);
    if (!inst)
        return;
    DRT_SECURITY_PROVIDER *sp = inst->security;
    DRT_BOOTSTRAP_PROVIDER *bp = inst->bootstrap;
    /* Registration handles die with their DRT: each is unregistered as by
     * DrtUnregisterKey, so the engine revokes the key while its key context
     * (the certificate that signs the revocation) is still known, then the
     * provider lets go of it; then the providers are released. */
    for (;;) {
        pthread_mutex_lock(&inst->lock);
        size_t before = inst->nregs;
        struct drt_registration *reg = before ? inst->regs[0] : NULL;
        pthread_mutex_unlock(&inst->lock);
        if (!reg)
            break;
        DrtUnregisterKey(reg->handle);
        pthread_mutex_lock(&inst->lock);
        bool gone = inst->nregs < before;
        pthread_mutex_unlock(&inst->lock);
        if (!gone) { /* not reachable through its handle: the old way */
            DRT_DATA key = {32, reg->key};
            sp->UnregisterKey(sp->pvContext, &key, reg->key_context);
            registration_destroy(reg);
        }
    }
    instance_destroy(inst);
    if (bp) {
        bp->Unregister(bp->pvContext);
        bp->Detach(bp->pvContext);
    }
    if (sp)
        sp->Detach(sp->pvContext);
}

/* Bytes DrtGetEventData needs for ev: the structure, then the keys or the
 * bootstrap addresses its pointers refer to. */
static ULONG event_size(const struct api_event *ev)
{
    switch (ev->type) {
    case DRT_EVENT_LEAFSET_KEY_CHANGED:
        return (ULONG)(sizeof(DRT_EVENT_DATA) + 64);
    case DRT_EVENT_REGISTRATION_STATE_CHANGED:
        return (ULONG)(sizeof(DRT_EVENT_DATA) + 32);
    default:
        return (ULONG)(sizeof(DRT_EVENT_DATA) + ev->naddrs * sizeof(SOCKADDR_STORAGE));
    }
}

DRT_EXPORT HRESULT WINAPI DrtGetEventDataSize(HDRT hDrt, ULONG *pulEventDataLen)
{
    if (!pulEventDataLen)
        return E_INVALIDARG;
    struct drt_instance *inst = handle_table_get(hDrt, HANDLE_TYPE_INSTANCE);
    if (!inst)
        return E_HANDLE;
    pthread_mutex_lock(&inst->lock);
    HRESULT hr = inst->ev_head ? S_OK : DRT_E_NO_MORE;
    *pulEventDataLen = inst->ev_head ? event_size(inst->ev_head) : 0;
    pthread_mutex_unlock(&inst->lock);
    return hr;
}

DRT_EXPORT HRESULT WINAPI DrtGetEventData(HDRT hDrt, ULONG ulEventDataLen,
                                          DRT_EVENT_DATA *pEventData)
{
    struct drt_instance *inst = handle_table_get(hDrt, HANDLE_TYPE_INSTANCE);
    if (!inst)
        return E_HANDLE;
    if (!pEventData)
        return E_INVALIDARG;
    pthread_mutex_lock(&inst->lock);
    struct api_event *ev = inst->ev_head;
    if (!ev) {
        pthread_mutex_unlock(&inst->lock);
        return DRT_E_NO_MORE;
    }
    if (ulEventDataLen < event_size(ev)) {
        pthread_mutex_unlock(&inst->lock);
        return DRT_E_INSUFFICIENT_BUFFER;
    }
    inst->ev_head = ev->next;
    if (!inst->ev_head)
        inst->ev_tail = NULL;
    inst->nevents--;
    pthread_mutex_unlock(&inst->lock);

    /* The structure, then its variable parts right behind it. */
    memset(pEventData, 0, sizeof(*pEventData));
    BYTE *tail = (BYTE *)(pEventData + 1);
    pEventData->type = ev->type;
    pEventData->hr = ev->hr;
    pEventData->pvContext = inst->context;
    switch (ev->type) {
    case DRT_EVENT_LEAFSET_KEY_CHANGED:
        pEventData->leafsetKeyChange.change = ev->change;
        memcpy(tail, ev->local_key, 32);
        memcpy(tail + 32, ev->remote_key, 32);
        pEventData->leafsetKeyChange.localKey = (DRT_DATA){32, tail};
        pEventData->leafsetKeyChange.remoteKey = (DRT_DATA){32, tail + 32};
        break;
    case DRT_EVENT_REGISTRATION_STATE_CHANGED:
        pEventData->registrationStateChange.state = ev->reg_state;
        memcpy(tail, ev->local_key, 32);
        pEventData->registrationStateChange.localKey = (DRT_DATA){32, tail};
        break;
    default:
        pEventData->statusChange.status = ev->status;
        pEventData->statusChange.bootstrapAddresses.cntAddress = ev->naddrs;
        if (ev->naddrs) {
            memcpy(tail, ev->addrs, ev->naddrs * sizeof(SOCKADDR_STORAGE));
            pEventData->statusChange.bootstrapAddresses.pAddresses = (PSOCKADDR_STORAGE)tail;
        }
        break;
    }
    free(ev);
    return S_OK;
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
