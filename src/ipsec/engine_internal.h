/*
 * engine_internal.h - the objects inside an ipsec_engine, shared by the
 * engine's own files (engine.c, txn.c, keymgr.c, keymgr_security.c).
 */
#ifndef DRT_IPSEC_ENGINE_INTERNAL_H
#define DRT_IPSEC_ENGINE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipsec/engine.h"
#include "ipsec/secdesc.h"

/* An ordered array of pointers; order is registration order, which is the
 * order IPsecKeyManagersGet0 reports. */
struct ipsec_vec {
    void **items;
    size_t count;
    size_t cap;
};

struct ipsec_txn {
    bool open;
    bool read_only;
    /* SetSecurityInfoByKey0 is the only transactional write of this subset
     * (registration calls are refused inside a transaction). */
    struct ipsec_secdesc_delta sd;
};

struct ipsec_session {
    uintptr_t handle;
    GUID key;
    wchar_t *name;
    wchar_t *description;
    UINT32 flags;
    UINT32 txn_wait_ms;
    struct ipsec_caller caller;
    struct ipsec_txn txn;
};

struct ipsec_keymgr {
    uintptr_t handle;
    uintptr_t session;
    GUID key;
    wchar_t *name;
    wchar_t *description;
    UINT32 flags;
    UINT8 timeout_s;
    IPSEC_KEY_MANAGER_CALLBACKS0 callbacks;
    uint64_t remote; /* the owning session's caller.remote */
    unsigned pins; /* callbacks in flight (ipsec_keymgr_pin_*) */
    bool retired;  /* out of the registry, kept only while pinned */
};

struct ipsec_engine {
    struct ipsec_engine_config cfg;
    uintptr_t next_handle;
    uintptr_t writer; /* session holding the read/write transaction, or 0 */
    struct ipsec_vec sessions; /* struct ipsec_session * */
    /* struct ipsec_keymgr *: the registrations, plus retired ones that are
     * still pinned; retiring never allocates, so it cannot fail. */
    struct ipsec_vec keymgrs;
    size_t live_keymgrs; /* those not retired: what the cap counts */
    struct ipsec_secdesc sd;
};

bool ipsec_vec_push(struct ipsec_vec *v, void *item);
void ipsec_vec_remove_at(struct ipsec_vec *v, size_t i);
void ipsec_vec_free(struct ipsec_vec *v);

struct ipsec_session *ipsec_session_find(const struct ipsec_engine *e, HANDLE h);
/* A handle value no live object uses, never 0. */
uintptr_t ipsec_engine_new_handle(struct ipsec_engine *e);
/* A random (version 4) GUID, or false when the random callback failed. */
bool ipsec_engine_random_guid(struct ipsec_engine *e, GUID *out);
bool ipsec_guid_is_zero(const GUID *g);
bool ipsec_guid_equal(const GUID *a, const GUID *b);

/* NULL-tolerant copy; *ok is false on allocation failure. */
wchar_t *ipsec_wcsdup(const wchar_t *s, bool *ok);
/* A displayData string longer than the engine's cap. */
bool ipsec_string_too_long(const wchar_t *s, size_t max);
bool ipsec_display_too_long(const struct ipsec_engine *e, const FWPM_DISPLAY_DATA0 *d);

/* The descriptor as the session sees it (its staged parts on top). */
struct ipsec_secdesc_view ipsec_engine_view(const struct ipsec_engine *e,
                                            const struct ipsec_session *s);

/* Key-manager lifecycle, used by engine.c. */
void ipsec_keymgr_free(struct ipsec_keymgr *km);
void ipsec_keymgr_drop_session(struct ipsec_engine *e, uintptr_t session);

#endif
