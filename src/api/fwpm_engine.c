/*
 * fwpm_engine.c - the process-wide engine instance, its lock, and
 * FwpmEngineOpen0 / FwpmEngineClose0 / FwpmFreeMemory0.
 * Validation order: docs/KEYING.md.
 */
#include "api/fwpm_engine.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "api/keying_client.h"
#include "io/io_km.h"
#include "io/io_loop.h"
#include "ipsec/keymgr.h"
#include "util/export.h"

static pthread_mutex_t engine_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t writer_cv_once = PTHREAD_ONCE_INIT;
static pthread_cond_t writer_cv;
static pthread_cond_t drained_cv; /* a pin was released (fwpm_pins_released) */
static struct ipsec_engine *engine; /* lives until the process exits */
static ipsec_integrity_fn integrity_override;
static void *integrity_override_ctx;

static int openssl_random(void *ctx, void *buf, size_t len)
{
    (void)ctx;
    return len <= INT32_MAX && RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

/* Windows refuses a key manager whose image lacks FORCE_INTEGRITY. Our
 * analogue: the executable that would receive the keys must not be
 * writable by every user (anybody could then plant code in it). */
static bool default_integrity(const struct ipsec_caller *caller)
{
    /* A caller over the key-manager socket: its executable was judged when
     * it connected (io_kmsock.c, the same rule). */
    if (caller->remote)
        return !caller->image_writable;
    struct stat st;
    if (stat("/proc/self/exe", &st) != 0)
        return true; /* no procfs: nothing to check against */
    return (st.st_mode & S_IWOTH) == 0;
}

static bool integrity_check(void *ctx, const struct ipsec_caller *caller,
                            const IPSEC_KEY_MANAGER_CALLBACKS0 *callbacks)
{
    (void)ctx;
    if (integrity_override)
        return integrity_override(integrity_override_ctx, caller, callbacks);
    return default_integrity(caller);
}

static void writer_cv_init(void)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&writer_cv, &a);
    pthread_cond_init(&drained_cv, &a);
    pthread_condattr_destroy(&a);
}

struct ipsec_engine *fwpm_lock(DWORD *rc)
{
    pthread_once(&writer_cv_once, writer_cv_init);
    pthread_mutex_lock(&engine_lock);
    if (!engine) {
        struct ipsec_engine_config cfg = {
            .random = openssl_random,
            .integrity = integrity_check,
            .owner = {.uid = (uint32_t)getuid(), .gid = (uint32_t)getgid()},
        };
        *rc = ipsec_engine_create(&cfg, &engine);
        if (*rc != ERROR_SUCCESS) {
            pthread_mutex_unlock(&engine_lock);
            return NULL;
        }
    }
    return engine;
}

void fwpm_unlock(void)
{
    pthread_mutex_unlock(&engine_lock);
}

void fwpm_pins_released(void)
{
    pthread_cond_broadcast(&drained_cv);
}

bool fwpm_may_wait_for_callbacks(void)
{
    return !io_on_loop_thread() && !io_km_in_callback();
}

void fwpm_wait_pins(void)
{
    pthread_cond_wait(&drained_cv, &engine_lock);
}

void fwpm_writer_released(void)
{
    pthread_cond_broadcast(&writer_cv);
}

uint64_t fwpm_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

bool fwpm_wait_writer(uint64_t deadline_ms)
{
    struct timespec ts = {.tv_sec = (time_t)(deadline_ms / 1000u),
                          .tv_nsec = (long)(deadline_ms % 1000u) * 1000000L};
    return pthread_cond_timedwait(&writer_cv, &engine_lock, &ts) == 0;
}

void fwpm_set_integrity_check(ipsec_integrity_fn fn, void *ctx)
{
    pthread_mutex_lock(&engine_lock);
    integrity_override = fn;
    integrity_override_ctx = ctx;
    pthread_mutex_unlock(&engine_lock);
}

DRT_EXPORT DWORD WINAPI FwpmEngineOpen0(const wchar_t *serverName, UINT32 authnService,
                                        SEC_WINNT_AUTH_IDENTITY_W *authIdentity,
                                        const FWPM_SESSION0 *session, HANDLE *engineHandle)
{
    if (engineHandle)
        *engineHandle = NULL;
    /* Only engines on this machine exist: a serverName that is not the
     * absolute path of a key-manager socket names a remote machine, a
     * call its transport refuses, hence an RPC-band code. */
    if (serverName && serverName[0] != L'/')
        return RPC_E_CALL_REJECTED;
    if (authnService != RPC_C_AUTHN_WINNT && authnService != RPC_C_AUTHN_DEFAULT)
        return ERROR_INVALID_PARAMETER;
    /* A POSIX process cannot take on another user's identity in-process. */
    if (authIdentity)
        return ERROR_NOT_SUPPORTED;
    if (!engineHandle)
        return FWP_E_NULL_POINTER;

    char path[KEYING_CLIENT_MAX_PATH];
    if (keying_client_route(serverName, path))
        return keying_client_open(path, session, engineHandle);
    struct ipsec_caller caller = {.uid = (uint32_t)getuid(), .gid = (uint32_t)getgid()};
    return fwpm_open_as(&caller, session, engineHandle);
}

DWORD fwpm_open_as(const struct ipsec_caller *caller, const FWPM_SESSION0 *session,
                   HANDLE *engineHandle)
{
    DWORD rc;
    struct ipsec_engine *e = fwpm_lock(&rc);
    if (!e)
        return rc;
    rc = ipsec_session_open(e, caller, session, engineHandle);
    fwpm_unlock();
    return rc;
}

DRT_EXPORT DWORD WINAPI FwpmEngineClose0(HANDLE engineHandle)
{
    if (!engineHandle)
        return FWP_E_NULL_POINTER;
    if (keying_client_is_remote(engineHandle))
        return keying_client_close(engineHandle);
    return fwpm_close(engineHandle, true);
}

DWORD fwpm_close(HANDLE engineHandle, bool wait)
{
    DWORD rc;
    struct ipsec_engine *e = fwpm_lock(&rc);
    if (!e)
        return rc;
    bool was_writer = !ipsec_txn_writer_free(e);
    rc = ipsec_session_close(e, engineHandle);
    if (was_writer && ipsec_txn_writer_free(e))
        fwpm_writer_released();
    /* Its registrations left with it; like IPsecKeyManagerUnregisterAndDelete0
     * this returns once their callbacks in flight have ended. */
    while (rc == ERROR_SUCCESS && wait && fwpm_may_wait_for_callbacks() &&
           ipsec_keymgr_session_draining(e, engineHandle))
        fwpm_wait_pins();
    fwpm_unlock();
    return rc;
}

DRT_EXPORT void WINAPI FwpmFreeMemory0(void **p)
{
    if (!p)
        return;
    free(*p);
    *p = NULL;
}
