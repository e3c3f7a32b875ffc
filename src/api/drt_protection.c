/*
 * drt_protection.c - DrtSetTransportProtection(Credential) /
 * DrtGetTransportProtectionStats: SA protection of a transport's socket
 * (src/io/io_ipsec.c), authenticated by the mesh's pre-shared key or the
 * node's certificate (protection_cred.c), with the process's key managers
 * (the engine behind fwpmu.h) taking part in every negotiation. Codes:
 * docs/API.md.
 */
#include <openssl/rand.h>
#include <stdint.h>
#include <string.h>

#include "api/api_internal.h"
#include "api/fwpm_engine.h"
#include "api/keying_server.h"
#include "api/protection_cred.h"
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

/* Protects t's socket with the PSK or the credential (which the socket
 * owns once this succeeds). */
static HRESULT protect(struct drt_transport *t, DRT_PROTECTION_MODE mode, const BYTE *psk,
                       ULONG psk_len, const struct neg_cred *cred)
{
    DWORD rc = ERROR_SUCCESS;
    struct ipsec_engine *engine = fwpm_lock(&rc);
    if (!engine)
        return E_OUTOFMEMORY;
    fwpm_unlock();
    struct protect_job j = {
        .t = t,
        .cfg = {.mode = mode == DRT_PROTECTION_REQUIRE ? IO_IPSEC_REQUIRE : IO_IPSEC_REQUEST,
                .psk = psk,
                .psk_len = psk_len,
                .cred = cred,
                .cred_release = protection_cred_release,
                .km = {.engine = engine,
                       .lock = km_lock,
                       .unlock = km_unlock,
                       .clock_ms = km_clock,
                       .random = km_random,
                       .remote = &keying_server_remote_ops}},
    };
    io_call(protect_on_loop, &j);
    return j.hr;
}

static bool mode_protects(DRT_PROTECTION_MODE mode)
{
    return mode == DRT_PROTECTION_REQUEST || mode == DRT_PROTECTION_REQUIRE;
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
    if (!mode_protects(mode) || !pbPreSharedKey || cbPreSharedKey == 0 ||
        cbPreSharedKey > DRT_PROTECTION_MAX_KEY)
        return E_INVALIDARG;
    return protect(t, mode, pbPreSharedKey, cbPreSharedKey, NULL);
}

static bool roots_ok(ULONG n, const PCCERT_CONTEXT *roots)
{
    if (n == 0 || n > DRT_PROTECTION_MAX_ROOTS || !roots)
        return false;
    for (ULONG i = 0; i < n; i++)
        if (!roots[i] || !roots[i]->pCert)
            return false;
    return true;
}

DRT_EXPORT HRESULT WINAPI DrtSetTransportProtectionCredential(HDRT_TRANSPORT hTransport,
                                                              DRT_PROTECTION_MODE mode,
                                                              PCCERT_CONTEXT pLocalCert,
                                                              ULONG cRootCerts,
                                                              const PCCERT_CONTEXT *ppRootCerts)
{
    struct drt_transport *t;
    HRESULT hr = transport_check_bindable(hTransport, &t);
    if (FAILED(hr))
        return hr;
    if (mode == DRT_PROTECTION_OFF)
        return pLocalCert || cRootCerts || ppRootCerts ? E_INVALIDARG : S_OK;
    if (!mode_protects(mode) || !pLocalCert || !pLocalCert->pCert || !pLocalCert->pPrivateKey ||
        !roots_ok(cRootCerts, ppRootCerts))
        return E_INVALIDARG;
    struct protection_cred *cred;
    hr = protection_cred_create(pLocalCert, cRootCerts, ppRootCerts, &cred);
    if (FAILED(hr))
        return hr;
    const struct neg_cred *nc = protection_cred_neg(cred);
    hr = protect(t, mode, NULL, 0, nc);
    if (FAILED(hr))
        protection_cred_release(nc);
    return hr;
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
    uint64_t verified, hits;
};

static void stats_on_loop(void *arg)
{
    struct stats_job *j = arg;
    struct io_ipsec *ip = j->t->sock->ipsec;
    if (!ip)
        return;
    j->s = io_ipsec_stats(ip);
    if (io_ipsec_cred(ip))
        protection_cred_stats(io_ipsec_cred(ip), &j->verified, &j->hits);
}

/* The negotiation's codes are Win32 codes or HRESULTs (the credential's). */
static HRESULT auth_hresult(uint32_t code)
{
    if (code == ERROR_SUCCESS)
        return S_OK;
    return (code & 0x80000000u) ? (HRESULT)code : HRESULT_FROM_WIN32(code);
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
        .authFailed = j.s.auth_failed,
        .authRefusedByPeer = j.s.auth_refused,
        .lastAuthError = auth_hresult(j.s.last_auth_code),
        .chainsVerified = j.verified,
        .chainCacheHits = j.hits,
        .lateKeyManagerAnswers = j.s.km_late,
    };
    return S_OK;
}
