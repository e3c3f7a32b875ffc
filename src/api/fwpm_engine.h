/*
 * fwpm_engine.h - the one process-wide keying engine behind the Fwpm* and
 * IPsecKeyManager* entry points, and the mutex that serialises them.
 *
 * The engine (src/ipsec) is sans-I/O; this layer supplies what it must not
 * own: the lock, the clock for transaction waits, OpenSSL randomness and
 * the caller's POSIX identity.
 */
#ifndef DRT_API_FWPM_ENGINE_H
#define DRT_API_FWPM_ENGINE_H

#include "ipsec/engine.h"

/* Takes the lock and returns the engine, creating it on first use. On
 * failure returns NULL with the lock released and *rc set. */
struct ipsec_engine *fwpm_lock(DWORD *rc);
void fwpm_unlock(void);

/* Under the lock: the SA negotiation released pins (its key-manager env's
 * unlock calls this); wakes the unregistrations waiting in fwpm_wait_pins. */
void fwpm_pins_released(void);
/* Under the lock: waits for the next fwpm_pins_released. */
void fwpm_wait_pins(void);
/* false on the loop thread and inside a key-manager callback (a worker of
 * io_km.h): waiting for callbacks there could wait for the caller itself. */
bool fwpm_may_wait_for_callbacks(void);

/* Under the lock: a read/write transaction ended (commit, abort, close);
 * wakes the sessions waiting in FwpmTransactionBegin0. */
void fwpm_writer_released(void);

/* Under the lock: waits until a writer is released or deadline_ms (on
 * fwpm_now_ms()'s clock) passes; returns false on timeout. */
bool fwpm_wait_writer(uint64_t deadline_ms);
uint64_t fwpm_now_ms(void);

/* FwpmEngineOpen0 on this process's engine for caller (this process's
 * user, or a key-manager socket's peer). */
DWORD fwpm_open_as(const struct ipsec_caller *caller, const FWPM_SESSION0 *session,
                   HANDLE *engineHandle);
/* FwpmEngineClose0 on this process's engine; wait: for the callbacks of
 * its registrations in flight (a key-manager socket's session does not:
 * its client waits for its own callbacks, one of which may be the caller). */
DWORD fwpm_close(HANDLE engineHandle, bool wait);

/* Replaces the image-integrity check (NULL restores the default, which
 * refuses an executable that anybody may overwrite). For tests. */
void fwpm_set_integrity_check(ipsec_integrity_fn fn, void *ctx);

#endif
