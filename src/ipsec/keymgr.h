/*
 * keymgr.h - the key-manager registry of an ipsec_engine: registration,
 * unregistration, enumeration, the security descriptor guarding it, and
 * the pins a later SA negotiation will take on key managers.
 *
 * Rules (docs/KEYING.md): at most one dictating key manager per engine,
 * any number of notify-only ones up to the engine's cap; a registration
 * belongs to the session that made it and dies with it. Access checks use
 * the identity that opened the session.
 */
#ifndef DRT_IPSEC_KEYMGR_H
#define DRT_IPSEC_KEYMGR_H

#include "ipsec/engine.h"

/* keyDictationTimeoutHint: 0 is stored as the default, above max refused. */
#define IPSEC_KEYMGR_DEFAULT_TIMEOUT_S 5u
#define IPSEC_KEYMGR_MAX_TIMEOUT_S     10u

/* The right each call needs on the key-manager descriptor (our answer to
 * reference §11.10; the Windows documentation names none). */
#define IPSEC_KEYMGR_RIGHT_REGISTER FWPM_ACTRL_ADD
#define IPSEC_KEYMGR_RIGHT_ENUM     FWPM_ACTRL_ENUM

/* The pure checks of IPsecKeyManagerAddAndRegister0 after its NULL
 * pointers (steps 2 to 7 of docs/KEYING.md §3), for the engine and for a
 * client that must refuse what it cannot send. */
DWORD ipsec_keymgr_check_args(const IPSEC_KEY_MANAGER0 *km, const IPSEC_KEY_MANAGER_CALLBACKS0 *cb,
                              uint32_t max_display_chars);

/* IPsecKeyManagerAddAndRegister0. */
DWORD ipsec_keymgr_add(struct ipsec_engine *e, HANDLE session,
                       const IPSEC_KEY_MANAGER0 *keyManager,
                       const IPSEC_KEY_MANAGER_CALLBACKS0 *callbacks, HANDLE *keyMgmtHandle);

/* IPsecKeyManagerUnregisterAndDelete0. The registration leaves the
 * registry at once; if callbacks are still in flight it is retired, and
 * ipsec_keymgr_draining() stays true until its last pin is released. */
DWORD ipsec_keymgr_remove(struct ipsec_engine *e, HANDLE session, HANDLE keyMgmtHandle);
bool ipsec_keymgr_draining(const struct ipsec_engine *e, HANDLE keyMgmtHandle);
/* Does a registration of session (open or closed: FwpmEngineClose0 retires
 * them all) still have a pin? */
bool ipsec_keymgr_session_draining(const struct ipsec_engine *e, HANDLE session);

/* IPsecKeyManagersGet0: one malloc'd block (pointer array, entries and
 * strings), freed with one free(). */
DWORD ipsec_keymgr_list(struct ipsec_engine *e, HANDLE session, IPSEC_KEY_MANAGER0 ***entries,
                        UINT32 *numEntries);
/* The block ipsec_keymgr_list returns, built from n entries (their strings
 * copied): ERROR_SUCCESS or ERROR_NOT_ENOUGH_MEMORY; n 0 gives NULL. */
DWORD ipsec_keymgr_pack_list(const IPSEC_KEY_MANAGER0 *items, size_t n,
                             IPSEC_KEY_MANAGER0 ***entries);

/* IPsecKeyManagerGetSecurityInfoByKey0: *securityDescriptor is one malloc'd
 * self-relative descriptor; the part pointers point into it. */
DWORD ipsec_keymgr_get_security(struct ipsec_engine *e, HANDLE session, const void *reserved,
                                SECURITY_INFORMATION securityInfo, PSID *sidOwner,
                                PSID *sidGroup, PACL *dacl, PACL *sacl,
                                PSECURITY_DESCRIPTOR *securityDescriptor);

/* IPsecKeyManagerSetSecurityInfoByKey0. */
DWORD ipsec_keymgr_set_security(struct ipsec_engine *e, HANDLE session, const void *reserved,
                                SECURITY_INFORMATION securityInfo, const SID *sidOwner,
                                const SID *sidGroup, const ACL *dacl, const ACL *sacl);

size_t ipsec_keymgr_count(const struct ipsec_engine *e);

/* ------------------------------------------------------------------------
 * For the SA negotiation (neg_keymgr.c). A pin is a copy of what
 * the negotiation needs, taken under the engine's lock; while pinned, the
 * registration stays allocated even if it is unregistered or its session
 * closes, so its callbacks can run without the lock. Every pin is released
 * with ipsec_keymgr_unpin().
 * ---------------------------------------------------------------------- */

struct ipsec_keymgr_pin {
    HANDLE registration;
    GUID key;
    UINT32 flags;
    UINT8 timeout_s; /* the effective dictation deadline, 1..10 */
    IPSEC_KEY_MANAGER_CALLBACKS0 callbacks;
    uint64_t remote; /* non-zero: the callbacks run in that socket client */
};

/* Pins the dictating key manager: ERROR_SUCCESS or FWP_E_NOT_FOUND. */
DWORD ipsec_keymgr_pin_dictator(struct ipsec_engine *e, struct ipsec_keymgr_pin *out);

/* Pins every live registration, dictator included, in registration order
 * (for keyNotify). *out is malloc'd (free() it after unpinning each pin)
 * and NULL when *n is 0. ERROR_SUCCESS or ERROR_NOT_ENOUGH_MEMORY. */
DWORD ipsec_keymgr_pin_all(struct ipsec_engine *e, struct ipsec_keymgr_pin **out, size_t *n);

/* Releases a pin. Returns true when this released the last pin of a
 * retired registration (someone waiting on ipsec_keymgr_draining() should
 * look again). */
bool ipsec_keymgr_unpin(struct ipsec_engine *e, const struct ipsec_keymgr_pin *pin);

#endif
