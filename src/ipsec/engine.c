/* engine.c - the keying engine object and its sessions (see engine.h). */
#include "ipsec/engine_internal.h"

#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "ipsec/keymgr.h"

bool ipsec_vec_push(struct ipsec_vec *v, void *item)
{
    if (v->count == v->cap) {
        size_t n = v->cap ? v->cap * 2 : 8;
        void **grown = realloc(v->items, n * sizeof(*grown));
        if (!grown)
            return false;
        v->items = grown;
        v->cap = n;
    }
    v->items[v->count++] = item;
    return true;
}

void ipsec_vec_remove_at(struct ipsec_vec *v, size_t i)
{
    memmove(&v->items[i], &v->items[i + 1], (v->count - i - 1) * sizeof(v->items[0]));
    v->count--;
}

void ipsec_vec_free(struct ipsec_vec *v)
{
    free(v->items);
    *v = (struct ipsec_vec){0};
}

bool ipsec_guid_is_zero(const GUID *g)
{
    static const GUID zero;
    return memcmp(g, &zero, sizeof(zero)) == 0;
}

bool ipsec_guid_equal(const GUID *a, const GUID *b)
{
    return a->Data1 == b->Data1 && a->Data2 == b->Data2 && a->Data3 == b->Data3 &&
           memcmp(a->Data4, b->Data4, sizeof(a->Data4)) == 0;
}

bool ipsec_engine_random_guid(struct ipsec_engine *e, GUID *out)
{
    uint8_t b[16];

    if (e->cfg.random(e->cfg.random_ctx, b, sizeof(b)) != 0)
        return false;
    memcpy(&out->Data1, b, 4);
    memcpy(&out->Data2, b + 4, 2);
    memcpy(&out->Data3, b + 6, 2);
    memcpy(out->Data4, b + 8, 8);
    /* RFC 4122 version 4, variant 1: also guarantees a non-zero GUID. */
    out->Data3 = (uint16_t)((out->Data3 & 0x0FFF) | 0x4000);
    out->Data4[0] = (uint8_t)((out->Data4[0] & 0x3F) | 0x80);
    return true;
}

wchar_t *ipsec_wcsdup(const wchar_t *s, bool *ok)
{
    *ok = true;
    if (!s)
        return NULL;
    size_t n = wcslen(s);
    wchar_t *d = malloc((n + 1) * sizeof(*d));
    if (!d) {
        *ok = false;
        return NULL;
    }
    wmemcpy(d, s, n + 1);
    return d;
}

bool ipsec_string_too_long(const wchar_t *s, size_t max)
{
    return s && wcsnlen(s, max + 1) > max;
}

bool ipsec_display_too_long(const struct ipsec_engine *e, const FWPM_DISPLAY_DATA0 *d)
{
    return ipsec_string_too_long(d->name, e->cfg.max_display_chars) ||
           ipsec_string_too_long(d->description, e->cfg.max_display_chars);
}

static bool handle_in_use(const struct ipsec_engine *e, uintptr_t h)
{
    for (size_t i = 0; i < e->sessions.count; i++)
        if (((struct ipsec_session *)e->sessions.items[i])->handle == h)
            return true;
    for (size_t i = 0; i < e->keymgrs.count; i++)
        if (((struct ipsec_keymgr *)e->keymgrs.items[i])->handle == h)
            return true;
    return false;
}

uintptr_t ipsec_engine_new_handle(struct ipsec_engine *e)
{
    /* The counter only repeats after 2^32 (or 2^64) handles; the loop then
     * skips live values, at most one per live object. */
    for (;;) {
        uintptr_t h = e->next_handle++;
        if (h != 0 && !handle_in_use(e, h))
            return h;
    }
}

DWORD ipsec_engine_create(const struct ipsec_engine_config *cfg, struct ipsec_engine **out)
{
    if (!out)
        return ERROR_INVALID_PARAMETER;
    *out = NULL;
    if (!cfg || !cfg->random)
        return ERROR_INVALID_PARAMETER;
    struct ipsec_engine *e = calloc(1, sizeof(*e));
    if (!e)
        return ERROR_NOT_ENOUGH_MEMORY;
    e->cfg = *cfg;
    if (!e->cfg.max_sessions)
        e->cfg.max_sessions = IPSEC_DEFAULT_MAX_SESSIONS;
    if (!e->cfg.max_key_managers)
        e->cfg.max_key_managers = IPSEC_DEFAULT_MAX_KEY_MANAGERS;
    if (!e->cfg.max_display_chars)
        e->cfg.max_display_chars = IPSEC_DEFAULT_MAX_DISPLAY_CHARS;
    e->next_handle = 1;
    DWORD rc = ipsec_secdesc_init_default(&e->sd, &cfg->owner);
    if (rc != ERROR_SUCCESS) {
        free(e);
        return rc;
    }
    *out = e;
    return ERROR_SUCCESS;
}

static void session_free(struct ipsec_session *s)
{
    ipsec_secdesc_delta_free(&s->txn.sd);
    free(s->name);
    free(s->description);
    free(s);
}

void ipsec_engine_destroy(struct ipsec_engine *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->sessions.count; i++)
        session_free(e->sessions.items[i]);
    for (size_t i = 0; i < e->keymgrs.count; i++)
        ipsec_keymgr_free(e->keymgrs.items[i]);
    ipsec_vec_free(&e->sessions);
    ipsec_vec_free(&e->keymgrs);
    ipsec_secdesc_free(&e->sd);
    free(e);
}

size_t ipsec_engine_session_count(const struct ipsec_engine *e)
{
    return e->sessions.count;
}

struct ipsec_session *ipsec_session_find(const struct ipsec_engine *e, HANDLE h)
{
    for (size_t i = 0; i < e->sessions.count; i++) {
        struct ipsec_session *s = e->sessions.items[i];
        if (s->handle == (uintptr_t)h)
            return s;
    }
    return NULL;
}

struct ipsec_secdesc_view ipsec_engine_view(const struct ipsec_engine *e,
                                            const struct ipsec_session *s)
{
    return ipsec_secdesc_view(&e->sd, s && s->txn.open ? &s->txn.sd : NULL);
}

static bool session_key_open(const struct ipsec_engine *e, const GUID *key)
{
    for (size_t i = 0; i < e->sessions.count; i++)
        if (ipsec_guid_equal(&((struct ipsec_session *)e->sessions.items[i])->key, key))
            return true;
    return false;
}

/* A fresh key that no open session uses; ERROR_INTERNAL_ERROR only when the
 * random source fails or keeps repeating itself. */
static DWORD fresh_session_key(struct ipsec_engine *e, GUID *key)
{
    for (int attempt = 0; attempt < 4; attempt++) {
        if (!ipsec_engine_random_guid(e, key))
            return ERROR_INTERNAL_ERROR;
        if (!session_key_open(e, key))
            return ERROR_SUCCESS;
    }
    return ERROR_INTERNAL_ERROR;
}

DWORD ipsec_session_open(struct ipsec_engine *e, const struct ipsec_caller *caller,
                         const FWPM_SESSION0 *session, HANDLE *handle)
{
    static const FWPM_SESSION0 defaults;

    if (!handle)
        return FWP_E_NULL_POINTER;
    *handle = NULL;
    if (!session)
        session = &defaults;
    if (session->flags & ~(UINT32)FWPM_SESSION_FLAG_DYNAMIC)
        return FWP_E_INVALID_FLAGS;
    if (ipsec_display_too_long(e, &session->displayData))
        return FWP_E_INVALID_PARAMETER;
    if (!ipsec_guid_is_zero(&session->sessionKey) && session_key_open(e, &session->sessionKey))
        return FWP_E_ALREADY_EXISTS;
    if (e->sessions.count >= e->cfg.max_sessions)
        return ERROR_NOT_ENOUGH_QUOTA;

    struct ipsec_session *s = calloc(1, sizeof(*s));
    if (!s)
        return ERROR_NOT_ENOUGH_MEMORY;
    bool ok_name, ok_desc;
    s->name = ipsec_wcsdup(session->displayData.name, &ok_name);
    s->description = ipsec_wcsdup(session->displayData.description, &ok_desc);
    if (!ok_name || !ok_desc) {
        session_free(s);
        return ERROR_NOT_ENOUGH_MEMORY;
    }
    s->key = session->sessionKey;
    if (ipsec_guid_is_zero(&s->key)) {
        DWORD rc = fresh_session_key(e, &s->key);
        if (rc != ERROR_SUCCESS) {
            session_free(s);
            return rc;
        }
    }
    s->flags = session->flags;
    s->txn_wait_ms = session->txnWaitTimeoutInMSec ? session->txnWaitTimeoutInMSec
                                                   : IPSEC_DEFAULT_TXN_WAIT_MS;
    s->caller = *caller;
    s->handle = ipsec_engine_new_handle(e);
    if (!ipsec_vec_push(&e->sessions, s)) {
        session_free(s);
        return ERROR_NOT_ENOUGH_MEMORY;
    }
    *handle = (HANDLE)s->handle;
    return ERROR_SUCCESS;
}

const FWPM_SESSION0 *ipsec_session_info(const struct ipsec_engine *e, HANDLE session,
                                        FWPM_SESSION0 *out)
{
    const struct ipsec_session *s = ipsec_session_find(e, session);
    if (!s)
        return NULL;
    *out = (FWPM_SESSION0){
        .sessionKey = s->key,
        .displayData = {s->name, s->description},
        .flags = s->flags,
        .txnWaitTimeoutInMSec = s->txn_wait_ms,
    };
    return out;
}

DWORD ipsec_session_close(struct ipsec_engine *e, HANDLE session)
{
    if (!session)
        return FWP_E_NULL_POINTER;
    for (size_t i = 0; i < e->sessions.count; i++) {
        struct ipsec_session *s = e->sessions.items[i];
        if (s->handle != (uintptr_t)session)
            continue;
        if (s->txn.open)
            ipsec_txn_abort(e, session);
        /* Registrations are subscriptions of the session whatever its
         * dynamic flag: nobody could receive their callbacks any more. */
        ipsec_keymgr_drop_session(e, s->handle);
        ipsec_vec_remove_at(&e->sessions, i);
        session_free(s);
        return ERROR_SUCCESS;
    }
    return ERROR_INVALID_HANDLE;
}
