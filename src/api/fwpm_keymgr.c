/*
 * fwpm_keymgr.c - the five IPsecKeyManager* entry points: each takes the
 * engine lock and hands its arguments, unchanged, to the registry
 * (src/ipsec/keymgr.h), which validates them before touching any state.
 */
#include "api/fwpm_engine.h"
#include "api/keying_client.h"
#include "ipsec/keymgr.h"
#include "util/export.h"

DRT_EXPORT DWORD WINAPI IPsecKeyManagerAddAndRegister0(
    HANDLE engineHandle, const IPSEC_KEY_MANAGER0 *keyManager,
    const IPSEC_KEY_MANAGER_CALLBACKS0 *keyManagerCallbacks, HANDLE *keyMgmtHandle)
{
    if (keying_client_is_remote(engineHandle))
        return keying_client_km_add(engineHandle, keyManager, keyManagerCallbacks, keyMgmtHandle);
    DWORD rc;
    struct ipsec_engine *e = fwpm_lock(&rc);
    if (!e)
        return rc;
    rc = ipsec_keymgr_add(e, engineHandle, keyManager, keyManagerCallbacks, keyMgmtHandle);
    fwpm_unlock();
    return rc;
}

/* The registration leaves the registry at once; while one of its calls is
 * still queued or running (on a key-manager worker, on a pinned copy)
 * this waits for it to end, as Windows does. From inside a callback (a
 * worker) it does not wait: the callback's own pin is released only once
 * it returns. Nor on the loop thread, which must never wait for a key
 * manager. */
DRT_EXPORT DWORD WINAPI IPsecKeyManagerUnregisterAndDelete0(HANDLE engineHandle,
                                                             HANDLE keyMgmtHandle)
{
    if (keying_client_is_remote(engineHandle))
        return keying_client_km_remove(engineHandle, keyMgmtHandle);
    DWORD rc;
    struct ipsec_engine *e = fwpm_lock(&rc);
    if (!e)
        return rc;
    rc = ipsec_keymgr_remove(e, engineHandle, keyMgmtHandle);
    while (rc == ERROR_SUCCESS && fwpm_may_wait_for_callbacks() &&
           ipsec_keymgr_draining(e, keyMgmtHandle))
        fwpm_wait_pins();
    fwpm_unlock();
    return rc;
}

DRT_EXPORT DWORD WINAPI IPsecKeyManagersGet0(HANDLE engineHandle, IPSEC_KEY_MANAGER0 ***entries,
                                             UINT32 *numEntries)
{
    if (keying_client_is_remote(engineHandle))
        return keying_client_km_list(engineHandle, entries, numEntries);
    DWORD rc;
    struct ipsec_engine *e = fwpm_lock(&rc);
    if (!e)
        return rc;
    rc = ipsec_keymgr_list(e, engineHandle, entries, numEntries);
    fwpm_unlock();
    return rc;
}

DRT_EXPORT DWORD WINAPI IPsecKeyManagerGetSecurityInfoByKey0(
    HANDLE engineHandle, const void *reserved, SECURITY_INFORMATION securityInfo,
    PSID *sidOwner, PSID *sidGroup, PACL *dacl, PACL *sacl,
    PSECURITY_DESCRIPTOR *securityDescriptor)
{
    if (keying_client_is_remote(engineHandle))
        return keying_client_sec_get(engineHandle, reserved, securityInfo, sidOwner, sidGroup,
                                     dacl, sacl, securityDescriptor);
    DWORD rc;
    struct ipsec_engine *e = fwpm_lock(&rc);
    if (!e)
        return rc;
    rc = ipsec_keymgr_get_security(e, engineHandle, reserved, securityInfo, sidOwner, sidGroup,
                                   dacl, sacl, securityDescriptor);
    fwpm_unlock();
    return rc;
}

DRT_EXPORT DWORD WINAPI IPsecKeyManagerSetSecurityInfoByKey0(
    HANDLE engineHandle, const void *reserved, SECURITY_INFORMATION securityInfo,
    const SID *sidOwner, const SID *sidGroup, const ACL *dacl, const ACL *sacl)
{
    if (keying_client_is_remote(engineHandle))
        return keying_client_sec_set(engineHandle, reserved, securityInfo, sidOwner, sidGroup,
                                     dacl, sacl);
    DWORD rc;
    struct ipsec_engine *e = fwpm_lock(&rc);
    if (!e)
        return rc;
    rc = ipsec_keymgr_set_security(e, engineHandle, reserved, securityInfo, sidOwner, sidGroup,
                                   dacl, sacl);
    fwpm_unlock();
    return rc;
}
