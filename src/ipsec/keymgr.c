/*
 * keymgr.c - the key-manager registry (see keymgr.h): registration,
 * unregistration, enumeration and pins. Validation order: docs/KEYING.md.
 */
#include "ipsec/keymgr.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "ipsec/engine_internal.h"

void ipsec_keymgr_free(struct ipsec_keymgr *km)
{
    if (!km)
        return;
    free(km->name);
    free(km->description);
    free(km);
}

/* Index of the registration with handle h (retired ones included), or -1. */
static ptrdiff_t keymgr_index(const struct ipsec_engine *e, uintptr_t h)
{
    for (size_t i = 0; i < e->keymgrs.count; i++)
        if (((struct ipsec_keymgr *)e->keymgrs.items[i])->handle == h)
            return (ptrdiff_t)i;
    return -1;
}

static struct ipsec_keymgr *live_at(const struct ipsec_engine *e, size_t i)
{
    struct ipsec_keymgr *km = e->keymgrs.items[i];
    return km->retired ? NULL : km;
}

static const struct ipsec_keymgr *find_dictator(const struct ipsec_engine *e)
{
    for (size_t i = 0; i < e->keymgrs.count; i++) {
        const struct ipsec_keymgr *km = live_at(e, i);
        if (km && (km->flags & IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY))
            return km;
    }
    return NULL;
}

static bool key_registered(const struct ipsec_engine *e, const GUID *key)
{
    for (size_t i = 0; i < e->keymgrs.count; i++) {
        const struct ipsec_keymgr *km = live_at(e, i);
        if (km && ipsec_guid_equal(&km->key, key))
            return true;
    }
    return false;
}

/* Removes the registration at index i from the registry: freed at once,
 * or retired while callbacks still hold pins on it. */
static void retire_at(struct ipsec_engine *e, size_t i)
{
    struct ipsec_keymgr *km = e->keymgrs.items[i];
    e->live_keymgrs--;
    if (km->pins) {
        km->retired = true;
        return;
    }
    ipsec_vec_remove_at(&e->keymgrs, i);
    ipsec_keymgr_free(km);
}

void ipsec_keymgr_drop_session(struct ipsec_engine *e, uintptr_t session)
{
    size_t i = e->keymgrs.count;
    while (i-- > 0) {
        struct ipsec_keymgr *km = e->keymgrs.items[i];
        if (!km->retired && km->session == session)
            retire_at(e, i);
    }
}

DWORD ipsec_keymgr_check_args(const IPSEC_KEY_MANAGER0 *km, const IPSEC_KEY_MANAGER_CALLBACKS0 *cb,
                              uint32_t max_display_chars)
{
    if (!cb->keyNotify)
        return FWP_E_NULL_POINTER;
    if (km->flags & ~(UINT32)IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY)
        return FWP_E_INVALID_FLAGS;
    bool dictator = (km->flags & IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY) != 0;
    if (dictator && (!cb->keyDictationCheck || !cb->keyDictation))
        return FWP_E_NULL_POINTER;
    /* Windows' client stub fails this with STATUS_NOT_SUPPORTED; its Win32
     * form is what a DWORD-returning API can carry (reference §11.12). */
    if (!dictator && (cb->keyDictationCheck || cb->keyDictation))
        return ERROR_NOT_SUPPORTED;
    if (km->keyDictationTimeoutHint > IPSEC_KEYMGR_MAX_TIMEOUT_S)
        return FWP_E_INVALID_INTERVAL;
    if (ipsec_string_too_long(km->displayData.name, max_display_chars) ||
        ipsec_string_too_long(km->displayData.description, max_display_chars))
        return FWP_E_INVALID_PARAMETER;
    return ERROR_SUCCESS;
}

/* The checks that need no engine state, in the documented order. */
static DWORD check_add_args(const struct ipsec_engine *e, HANDLE session,
                            const IPSEC_KEY_MANAGER0 *km, const IPSEC_KEY_MANAGER_CALLBACKS0 *cb,
                            HANDLE *out)
{
    if (!session || !km || !cb || !out)
        return FWP_E_NULL_POINTER;
    *out = NULL;
    return ipsec_keymgr_check_args(km, cb, e->cfg.max_display_chars);
}

/* A random key no live registration uses. */
static DWORD fresh_keymgr_key(struct ipsec_engine *e, GUID *key)
{
    for (int attempt = 0; attempt < 4; attempt++) {
        if (!ipsec_engine_random_guid(e, key))
            return ERROR_INTERNAL_ERROR;
        if (!key_registered(e, key))
            return ERROR_SUCCESS;
    }
    return ERROR_INTERNAL_ERROR;
}

static DWORD check_add_state(struct ipsec_engine *e, const struct ipsec_session *s,
                             const IPSEC_KEY_MANAGER0 *km, const IPSEC_KEY_MANAGER_CALLBACKS0 *cb)
{
    if (s->txn.open)
        return FWP_E_TXN_IN_PROGRESS;
    struct ipsec_secdesc_view v = ipsec_engine_view(e, s);
    if (!ipsec_secdesc_access(&v, &s->caller, IPSEC_KEYMGR_RIGHT_REGISTER))
        return ERROR_ACCESS_DENIED;
    if (e->cfg.integrity && !e->cfg.integrity(e->cfg.integrity_ctx, &s->caller, cb))
        return SEC_E_CANNOT_INSTALL;
    if (!ipsec_guid_is_zero(&km->keyManagerKey) && key_registered(e, &km->keyManagerKey))
        return FWP_E_ALREADY_EXISTS;
    /* The documented code, not FWP_E_KEY_DICTATOR_ALREADY_REGISTERED: see
     * docs/KEYING.md (reference §11.1). */
    if ((km->flags & IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY) && find_dictator(e))
        return FWP_E_ALREADY_EXISTS;
    if (e->live_keymgrs >= e->cfg.max_key_managers)
        return ERROR_NOT_ENOUGH_QUOTA;
    return ERROR_SUCCESS;
}

DWORD ipsec_keymgr_add(struct ipsec_engine *e, HANDLE session, const IPSEC_KEY_MANAGER0 *keyManager,
                       const IPSEC_KEY_MANAGER_CALLBACKS0 *callbacks, HANDLE *keyMgmtHandle)
{
    DWORD rc = check_add_args(e, session, keyManager, callbacks, keyMgmtHandle);
    if (rc != ERROR_SUCCESS)
        return rc;
    struct ipsec_session *s = ipsec_session_find(e, session);
    if (!s)
        return ERROR_INVALID_HANDLE;
    rc = check_add_state(e, s, keyManager, callbacks);
    if (rc != ERROR_SUCCESS)
        return rc;

    struct ipsec_keymgr *km = calloc(1, sizeof(*km));
    if (!km)
        return ERROR_NOT_ENOUGH_MEMORY;
    bool ok_name, ok_desc;
    km->name = ipsec_wcsdup(keyManager->displayData.name, &ok_name);
    km->description = ipsec_wcsdup(keyManager->displayData.description, &ok_desc);
    if (!ok_name || !ok_desc) {
        ipsec_keymgr_free(km);
        return ERROR_NOT_ENOUGH_MEMORY;
    }
    km->key = keyManager->keyManagerKey;
    if (ipsec_guid_is_zero(&km->key)) {
        rc = fresh_keymgr_key(e, &km->key);
        if (rc != ERROR_SUCCESS) {
            ipsec_keymgr_free(km);
            return rc;
        }
    }
    km->session = s->handle;
    km->remote = s->caller.remote;
    km->flags = keyManager->flags;
    km->timeout_s = keyManager->keyDictationTimeoutHint ? keyManager->keyDictationTimeoutHint
                                                        : IPSEC_KEYMGR_DEFAULT_TIMEOUT_S;
    km->callbacks = *callbacks;
    km->handle = ipsec_engine_new_handle(e);
    if (!ipsec_vec_push(&e->keymgrs, km)) {
        ipsec_keymgr_free(km);
        return ERROR_NOT_ENOUGH_MEMORY;
    }
    e->live_keymgrs++;
    *keyMgmtHandle = (HANDLE)km->handle;
    return ERROR_SUCCESS;
}

DWORD ipsec_keymgr_remove(struct ipsec_engine *e, HANDLE session, HANDLE keyMgmtHandle)
{
    if (!session || !keyMgmtHandle)
        return FWP_E_NULL_POINTER;
    struct ipsec_session *s = ipsec_session_find(e, session);
    if (!s)
        return ERROR_INVALID_HANDLE;
    /* Registration is not transactional (AddAndRegister0 is refused in a
     * transaction), so neither is its undoing (reference §11.9). */
    if (s->txn.open)
        return FWP_E_TXN_IN_PROGRESS;
    ptrdiff_t i = keymgr_index(e, (uintptr_t)keyMgmtHandle);
    if (i < 0 || !live_at(e, (size_t)i))
        return FWP_E_NOT_FOUND;
    if (((struct ipsec_keymgr *)e->keymgrs.items[i])->session != s->handle)
        return FWP_E_WRONG_SESSION;
    retire_at(e, (size_t)i);
    return ERROR_SUCCESS;
}

bool ipsec_keymgr_draining(const struct ipsec_engine *e, HANDLE keyMgmtHandle)
{
    ptrdiff_t i = keymgr_index(e, (uintptr_t)keyMgmtHandle);
    return i >= 0 && ((struct ipsec_keymgr *)e->keymgrs.items[i])->retired;
}

bool ipsec_keymgr_session_draining(const struct ipsec_engine *e, HANDLE session)
{
    for (size_t i = 0; i < e->keymgrs.count; i++) {
        const struct ipsec_keymgr *km = e->keymgrs.items[i];
        if (km->retired && km->session == (uintptr_t)session)
            return true;
    }
    return false;
}

size_t ipsec_keymgr_count(const struct ipsec_engine *e)
{
    return e->live_keymgrs;
}

static size_t align_up(size_t n, size_t a)
{
    return (n + a - 1) / a * a;
}

static size_t wcs_bytes(const wchar_t *s)
{
    return s ? (wcslen(s) + 1) * sizeof(wchar_t) : 0;
}

/* Copies s to *cursor inside the block and advances it; NULL stays NULL. */
static wchar_t *place_string(uint8_t **cursor, const wchar_t *s)
{
    if (!s)
        return NULL;
    size_t n = wcs_bytes(s);
    wchar_t *d = (wchar_t *)(void *)*cursor;
    memcpy(d, s, n);
    *cursor += n;
    return d;
}

DWORD ipsec_keymgr_pack_list(const IPSEC_KEY_MANAGER0 *items, size_t n,
                             IPSEC_KEY_MANAGER0 ***entries)
{
    *entries = NULL;
    if (n == 0)
        return ERROR_SUCCESS;
    /* One block: the pointer array, the entries, then every string, so one
     * FwpmFreeMemory0 releases all of it. */
    size_t off_entries = align_up(n * sizeof(IPSEC_KEY_MANAGER0 *), alignof(IPSEC_KEY_MANAGER0));
    size_t off_strings = align_up(off_entries + n * sizeof(IPSEC_KEY_MANAGER0), alignof(wchar_t));
    size_t total = off_strings;
    for (size_t i = 0; i < n; i++)
        total += wcs_bytes(items[i].displayData.name) + wcs_bytes(items[i].displayData.description);
    uint8_t *block = calloc(1, total);
    if (!block)
        return ERROR_NOT_ENOUGH_MEMORY;
    IPSEC_KEY_MANAGER0 **ptrs = (IPSEC_KEY_MANAGER0 **)(void *)block;
    IPSEC_KEY_MANAGER0 *out = (IPSEC_KEY_MANAGER0 *)(void *)(block + off_entries);
    uint8_t *cursor = block + off_strings;
    for (size_t k = 0; k < n; k++) {
        out[k] = items[k];
        out[k].displayData.name = place_string(&cursor, items[k].displayData.name);
        out[k].displayData.description = place_string(&cursor, items[k].displayData.description);
        ptrs[k] = &out[k];
    }
    *entries = ptrs;
    return ERROR_SUCCESS;
}

DWORD ipsec_keymgr_list(struct ipsec_engine *e, HANDLE session, IPSEC_KEY_MANAGER0 ***entries,
                        UINT32 *numEntries)
{
    if (!session || !entries || !numEntries)
        return FWP_E_NULL_POINTER;
    *entries = NULL;
    *numEntries = 0;
    struct ipsec_session *s = ipsec_session_find(e, session);
    if (!s)
        return ERROR_INVALID_HANDLE;
    struct ipsec_secdesc_view v = ipsec_engine_view(e, s);
    if (!ipsec_secdesc_access(&v, &s->caller, IPSEC_KEYMGR_RIGHT_ENUM))
        return ERROR_ACCESS_DENIED;
    size_t n = e->live_keymgrs;
    if (n == 0)
        return ERROR_SUCCESS;
    IPSEC_KEY_MANAGER0 *items = calloc(n, sizeof(*items));
    if (!items)
        return ERROR_NOT_ENOUGH_MEMORY;
    size_t k = 0;
    for (size_t i = 0; i < e->keymgrs.count; i++) {
        const struct ipsec_keymgr *km = live_at(e, i);
        if (!km)
            continue;
        items[k].keyManagerKey = km->key;
        items[k].displayData.name = km->name;
        items[k].displayData.description = km->description;
        items[k].flags = km->flags;
        items[k].keyDictationTimeoutHint = km->timeout_s;
        k++;
    }
    DWORD rc = ipsec_keymgr_pack_list(items, k, entries);
    free(items);
    if (rc == ERROR_SUCCESS)
        *numEntries = (UINT32)k;
    return rc;
}

static struct ipsec_keymgr_pin pin_of(struct ipsec_keymgr *km)
{
    km->pins++;
    return (struct ipsec_keymgr_pin){
        .registration = (HANDLE)km->handle,
        .key = km->key,
        .flags = km->flags,
        .timeout_s = km->timeout_s,
        .callbacks = km->callbacks,
        .remote = km->remote,
    };
}

DWORD ipsec_keymgr_pin_dictator(struct ipsec_engine *e, struct ipsec_keymgr_pin *out)
{
    for (size_t i = 0; i < e->keymgrs.count; i++) {
        struct ipsec_keymgr *km = live_at(e, i);
        if (km && (km->flags & IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY)) {
            *out = pin_of(km);
            return ERROR_SUCCESS;
        }
    }
    return FWP_E_NOT_FOUND;
}

DWORD ipsec_keymgr_pin_all(struct ipsec_engine *e, struct ipsec_keymgr_pin **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (e->live_keymgrs == 0)
        return ERROR_SUCCESS;
    struct ipsec_keymgr_pin *pins = calloc(e->live_keymgrs, sizeof(*pins));
    if (!pins)
        return ERROR_NOT_ENOUGH_MEMORY;
    size_t k = 0;
    for (size_t i = 0; i < e->keymgrs.count && k < e->live_keymgrs; i++) {
        struct ipsec_keymgr *km = live_at(e, i);
        if (km)
            pins[k++] = pin_of(km);
    }
    *out = pins;
    *n = k;
    return ERROR_SUCCESS;
}

bool ipsec_keymgr_unpin(struct ipsec_engine *e, const struct ipsec_keymgr_pin *pin)
{
    ptrdiff_t i = keymgr_index(e, (uintptr_t)pin->registration);
    if (i < 0)
        return false;
    struct ipsec_keymgr *km = e->keymgrs.items[i];
    if (km->pins == 0)
        return false;
    km->pins--;
    if (!km->retired || km->pins != 0)
        return false;
    ipsec_vec_remove_at(&e->keymgrs, (size_t)i);
    ipsec_keymgr_free(km);
    return true;
}
