/*
 * drt_protection.c - DrtSetTransportProtection / DrtGetTransportProtectionStats:
 * SA protection of a transport's socket (src/io/io_ipsec.c), keyed with the
 * mesh's pre-shared key, with the process's key managers (the engine behind
 * fwpmu.h) taking part in every negotiation. Codes: docs/API.md.
 */
#include <openssl/rand.h>
#include <stdint.h>
#include <string.h>

#include "api/api_internal.h"
#include "api/fwpm_engine.h"
#include "io/io_ipsec.h"
#include "io/io_loop.h"
#include "io/io_node.h"
#include "util/export.h"

static void km_lock(void *ctx)
{
    (void)ctx;
    DWORD rc;
    /* The engine exists already (DrtSetTransportProtection created it), so
     * this only takes the mutex. */
    (void)fwpm_lock(&rc);
}

/* The env unlocks after pinning and after unpinning; an unregistration
 * waiting for its callbacks looks again each time. */
static void km_unlock(void *ctx)
{
    (void)ctx;
    fwpm_pins_released();
    fwpm_unlock();
}

static uint64_t km_clock(void *ctx)
{
    (void)ctx;
    return fwpm_now_ms();
}

static int km_random(void *ctx, void *buf, size_t len)
{
    (void)ctx;
    return len <= INT32_MAX && RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

struct protect_job {
    struct drt_transport *t;
    struct io_ipsec_config cfg;
    HRESULT hr;
};

static void protect_on_loop(void *arg)
{
    struct protect_job *j = arg;
    if (j->t->sock->ipsec) {
        j->hr = DRT_E_TRANSPORTPROVIDER_IN_USE;
        return;
    }
    j->t->sock->ipsec = io_ipsec_create(j->t->sock, &j->cfg);
    j->hr = j->t->sock->ipsec ? S_OK : E_OUTOFMEMORY;
}

DRT_EXPORT HRESULT WINAPI DrtSetTransportProtection(HDRT_TRANSPORT hTransport,
                                                    DRT_PROTECTION_MODE mode,
                                                    const BYTE *pbPreSharedKey,
                                                    ULONG cbPreSharedKey)
{
    struct drt_transport *t;
    HRESULT hr = transport_check_bindable(hTransport, &t);
    if (FAILED(hr))
        return hr;
    if (mode == DRT_PROTECTION_OFF)
        return pbPreSharedKey || cbPreSharedKey ? E_INVALIDARG : S_OK;
    if ((mode != DRT_PROTECTION_REQUEST && mode != DRT_PROTECTION_REQUIRE) || !pbPreSharedKey ||
        cbPreSharedKey == 0 || cbPreSharedKey > DRT_PROTECTION_MAX_KEY)
        return E_INVALIDARG;
    DWORD rc = ERROR_SUCCESS;
    struct ipsec_engine *engine = fwpm_lock(&rc);
    if (!engine)
        return E_OUTOFMEMORY;
    fwpm_unlock();
    struct protect_job j = {
        .t = t,
        .cfg = {.mode = mode == DRT_PROTECTION_REQUIRE ? IO_IPSEC_REQUIRE : IO_IPSEC_REQUEST,
                .psk = pbPreSharedKey,
                .psk_len = cbPreSharedKey,
                .km = {.engine = engine,
                       .lock = km_lock,
                       .unlock = km_unlock,
                       .clock_ms = km_clock,
                       .random = km_random}},
    };
    io_call(protect_on_loop, &j);
    return j.hr;
}

struct lifetime_job {
    struct drt_transport *t;
    struct neg_lifetime lt;
    bool set;
};

static void lifetime_on_loop(void *arg)
{
    struct lifetime_job *j = arg;
    j->set = j->t->sock->ipsec != NULL;
    if (j->set)
        io_ipsec_set_lifetime(j->t->sock->ipsec, &j->lt);
}

/* A soft limit must come before its hard limit (0: none of that kind). */
static bool soft_before_hard(ULONG soft, ULONG hard)
{
    return !soft || !hard || soft < hard;
}

DRT_EXPORT HRESULT WINAPI DrtSetTransportProtectionLifetime(HDRT_TRANSPORT hTransport,
                                                            ULONG softSeconds, ULONG hardSeconds,
                                                            ULONG softKilobytes,
                                                            ULONG hardKilobytes)
{
    struct drt_transport *t;
    HRESULT hr = transport_check_bindable(hTransport, &t);
    if (FAILED(hr))
        return hr;
    if (!soft_before_hard(softSeconds, hardSeconds) ||
        !soft_before_hard(softKilobytes, hardKilobytes))
        return E_INVALIDARG;
    struct lifetime_job j = {
        .t = t,
        .lt = {.soft_ms = (uint64_t)softSeconds * 1000u,
               .hard_ms = (uint64_t)hardSeconds * 1000u,
               .soft_bytes = (uint64_t)softKilobytes * 1000u,
               .hard_bytes = (uint64_t)hardKilobytes * 1000u},
    };
    io_call(lifetime_on_loop, &j);
    return j.set ? S_OK : E_INVALIDARG;
}

struct stats_job {
    struct drt_transport *t;
    struct io_ipsec_stats s;
};

static void stats_on_loop(void *arg)
{
    struct stats_job *j = arg;
    if (j->t->sock->ipsec)
        j->s = io_ipsec_stats(j->t->sock->ipsec);
}

DRT_EXPORT HRESULT WINAPI DrtGetTransportProtectionStats(HDRT_TRANSPORT hTransport,
                                                         DRT_PROTECTION_STATS *pStats)
{
    struct drt_transport *t = handle_table_get(hTransport, HANDLE_TYPE_TRANSPORT);
    if (!t)
        return DRT_E_INVALID_TRANSPORT_PROVIDER;
    if (!pStats)
        return E_INVALIDARG;
    struct stats_job j = {.t = t};
    io_call(stats_on_loop, &j);
    *pStats = (DRT_PROTECTION_STATS){
        .espSent = j.s.esp_sent,
        .espReceived = j.s.esp_received,
        .plainSent = j.s.plain_sent,
        .plainReceived = j.s.plain_received,
        .plainRefused = j.s.plain_refused,
        .espDropped = j.s.esp_dropped,
        .negotiationSent = j.s.neg_sent,
        .negotiationReceived = j.s.neg_received,
        .negotiationDropped = j.s.neg_dropped,
        .sasEstablished = j.s.sas_established,
        .negotiationsFailed = j.s.neg_failed,
        .unsent = j.s.unsent,
        .invalid = j.s.invalid,
        .rekeys = j.s.rekeys,
        .sasExpired = j.s.expired,
        .sasDeletedByPeer = j.s.deleted,
        .recoveries = j.s.recoveries,
    };
    return S_OK;
}
