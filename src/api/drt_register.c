/*
 * drt_register.c - DrtRegisterKey, DrtUpdateKey, DrtUnregisterKey.
 * Validation order: docs/API.md.
 */
#include "api/api_internal.h"
#include "util/export.h"

/* appData must hold 1..DRT_MAX_PAYLOAD_SIZE bytes behind a non-NULL pointer
 * (the documented "less than 1" bound read as: empty payloads are refused). */
static bool app_data_valid(const DRT_DATA *d)
{
    return d->cb >= 1 && d->cb <= DRT_MAX_PAYLOAD_SIZE && d->pb != NULL;
}

DRT_EXPORT HRESULT WINAPI DrtRegisterKey(HDRT hDrt, DRT_REGISTRATION *pRegistration,
                                         PVOID pvKeyContext,
                                         HDRT_REGISTRATION_CONTEXT *phKeyRegistration)
{
    if (!pRegistration || !phKeyRegistration)
        return E_INVALIDARG;
    *phKeyRegistration = NULL;
    if (!pRegistration->key.pb || !app_data_valid(&pRegistration->appData))
        return E_INVALIDARG;
    struct drt_instance *inst = handle_table_get(hDrt, HANDLE_TYPE_INSTANCE);
    if (!inst)
        return E_HANDLE;
    if (pRegistration->key.cb != 32)
        return DRT_E_INVALID_KEY_SIZE;
    if (inst->status == DRT_FAULTED)
        return DRT_E_FAULTED;
    /* Security-provider approval and publication arrive with the engine. */
    return E_NOTIMPL;
}

DRT_EXPORT HRESULT WINAPI DrtUpdateKey(HDRT_REGISTRATION_CONTEXT hKeyRegistration,
                                       DRT_DATA *pAppData)
{
    if (!pAppData || !app_data_valid(pAppData))
        return E_INVALIDARG;
    if (!handle_table_get(hKeyRegistration, HANDLE_TYPE_REGISTRATION))
        return E_HANDLE;
    return E_NOTIMPL;
}

DRT_EXPORT VOID WINAPI DrtUnregisterKey(HDRT_REGISTRATION_CONTEXT hKeyRegistration)
{
    registration_destroy(handle_table_get(hKeyRegistration, HANDLE_TYPE_REGISTRATION));
}
