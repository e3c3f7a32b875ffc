/*
 * engine.h - the keying engine object: sessions and their transactions.
 *
 * Sans-I/O: an engine is an explicit object; it never reads a clock, takes
 * a lock, starts a thread or touches a socket, and it gets its randomness
 * from the callback in its config. The process-wide instance, its mutex and
 * the Fwpm* entry points live in src/api/ (fwpm_engine.h).
 *
 * Every function validates its arguments in the order docs/KEYING.md gives
 * (pure argument checks first, then engine state) and returns the DWORD the
 * public API returns. Handles are opaque values the engine assigns from one
 * counter for sessions and key managers alike; they are looked up, never
 * dereferenced, so a stale or foreign handle is simply not found.
 */
#ifndef DRT_IPSEC_ENGINE_H
#define DRT_IPSEC_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <fwpmu.h>

/* Who is calling: the POSIX identity the access checks use. A session
 * keeps the identity that opened it, as a Windows session keeps its token. */
struct ipsec_caller {
    uint32_t uid;
    uint32_t gid;
    /* 0: a caller in this process. Otherwise the id of the key-manager
     * socket connection it came in on (docs/KEYING.md §10): its callbacks
     * run in that process, and its executable was judged when it connected
     * (image_writable: anybody may overwrite it). */
    uint64_t remote;
    bool image_writable;
};

/* Fills buf with len random bytes; returns 0 on success. */
typedef int (*ipsec_random_fn)(void *ctx, void *buf, size_t len);

/* The stand-in for Windows' image-integrity check: returns false when the
 * code behind the callbacks must not receive keys (-> SEC_E_CANNOT_INSTALL). */
typedef bool (*ipsec_integrity_fn)(void *ctx, const struct ipsec_caller *caller,
                                   const IPSEC_KEY_MANAGER_CALLBACKS0 *callbacks);

/* Caps that bound the engine's memory; 0 in the config selects these. */
#define IPSEC_DEFAULT_MAX_SESSIONS      256u
#define IPSEC_DEFAULT_MAX_KEY_MANAGERS  1024u
#define IPSEC_DEFAULT_MAX_DISPLAY_CHARS 1024u

/* FWPM_SESSION0.txnWaitTimeoutInMSec = 0 means this (Object Management). */
#define IPSEC_DEFAULT_TXN_WAIT_MS 15000u

struct ipsec_engine_config {
    ipsec_random_fn random; /* required */
    void *random_ctx;
    ipsec_integrity_fn integrity; /* optional: NULL accepts every image */
    void *integrity_ctx;
    struct ipsec_caller owner; /* owner of the default security descriptor */
    uint32_t max_sessions;
    uint32_t max_key_managers;  /* registrations over all sessions */
    uint32_t max_display_chars; /* per displayData string, excluding the NUL */
};

struct ipsec_engine;

/* ERROR_SUCCESS, ERROR_INVALID_PARAMETER (no config or no random callback)
 * or ERROR_NOT_ENOUGH_MEMORY. */
DWORD ipsec_engine_create(const struct ipsec_engine_config *cfg, struct ipsec_engine **out);
/* Frees the engine and everything in it, pinned registrations included. */
void ipsec_engine_destroy(struct ipsec_engine *e);

size_t ipsec_engine_session_count(const struct ipsec_engine *e);

/* FwpmEngineOpen0 after its transport arguments (serverName, authnService,
 * authIdentity) were checked by the caller. session may be NULL. */
DWORD ipsec_session_open(struct ipsec_engine *e, const struct ipsec_caller *caller,
                         const FWPM_SESSION0 *session, HANDLE *handle);
/* Aborts the session's transaction and removes its key managers. */
DWORD ipsec_session_close(struct ipsec_engine *e, HANDLE session);
/* The session's record (key, flags, ...) filled into *out, or NULL if the
 * handle is not open. The strings point into the engine: copy them before
 * the session can close. */
const FWPM_SESSION0 *ipsec_session_info(const struct ipsec_engine *e, HANDLE session,
                                        FWPM_SESSION0 *out);

/* One explicit transaction per session. Read/write transactions are also
 * exclusive engine-wide (one writer): while another session holds one,
 * Begin returns FWP_E_TIMEOUT at once, and the caller that owns a clock
 * (src/api) waits for ipsec_txn_writer_free() up to the session's
 * txnWaitTimeoutInMSec before giving that answer to its own caller. */
DWORD ipsec_txn_begin(struct ipsec_engine *e, HANDLE session, UINT32 flags);
DWORD ipsec_txn_commit(struct ipsec_engine *e, HANDLE session);
DWORD ipsec_txn_abort(struct ipsec_engine *e, HANDLE session);
bool ipsec_txn_writer_free(const struct ipsec_engine *e);

#endif
