/* loopback_node.c - real nodes on ::1 for tests (loopback_node.h). */
#include "api/loopback_node.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "api/api_internal.h"
#include "api/handle_table.h"

static ULONG soft_s, hard_s;
static USHORT next_port;
static PCCERT_CONTEXT next_cred;
static ULONG next_nroots;
static const PCCERT_CONTEXT *next_roots;

void lb_set_port(USHORT port)
{
    next_port = port;
}

void lb_set_lifetime(ULONG soft_seconds, ULONG hard_seconds)
{
    soft_s = soft_seconds;
    hard_s = hard_seconds;
}

void lb_open(struct lb_node *n, const struct lb_node *seed)
{
    lb_open_limits(n, seed, NULL);
}

void lb_open_protected(struct lb_node *n, const struct lb_node *seed, DRT_PROTECTION_MODE mode,
                       const char *psk)
{
    lb_open_with(n, seed, mode, psk, NULL);
}

void lb_set_credential(PCCERT_CONTEXT local, ULONG nroots, const PCCERT_CONTEXT *roots)
{
    next_cred = local;
    next_nroots = nroots;
    next_roots = roots;
}

void lb_open_limits(struct lb_node *n, const struct lb_node *seed, const DRT_LIMITS *limits)
{
    lb_open_with(n, seed, DRT_PROTECTION_OFF, NULL, limits);
}

static void create_transport(struct lb_node *n)
{
    assert_int_equal(DrtCreateIpv6UdpTransport(DRT_GLOBAL_SCOPE, 0, 300, &n->port, &n->transport),
                     S_OK);
}

static void release(struct lb_node *n)
{
    if (n->dns)
        DrtDeleteDnsBootstrapResolver(n->bootstrap);
    else
        DrtDeleteStaticBootstrapResolver(n->bootstrap);
    if (n->derived)
        DrtDeleteDerivedKeySecurityProvider(n->security);
    else
        DrtDeleteNullSecurityProvider(n->security);
    assert_int_equal(DrtDeleteIpv6UdpTransport(n->transport), S_OK);
    DrtEventClose(n->event);
}

/* Everything after the transport (which callers may have protected or
 * limited): provider, bootstrap, event, DrtOpen. */
static HRESULT open_around_transport(struct lb_node *n, USHORT seed_port,
                                     const struct lb_spec *spec)
{
    n->status = (DRT_STATUS)-1;
    n->derived = spec->root != NULL;
    if (n->derived)
        assert_int_equal(
            DrtCreateDerivedKeySecurityProvider(spec->root, spec->local, &n->security), S_OK);
    else
        assert_int_equal(DrtCreateNullSecurityProvider(&n->security), S_OK);
    n->dns = spec->dns;
    if (n->dns) {
        /* Port 9 (discard) names nobody: the first node of a cloud. */
        USHORT port = seed_port ? seed_port : 9;
        wchar_t host[64];
        swprintf(host, 64, L"[::1]:%u", port);
        assert_int_equal(DrtCreateDnsBootstrapResolver(port, host, &n->bootstrap), S_OK);
    } else if (spec->seeds) {
        assert_int_equal(
            DrtCreateStaticBootstrapResolver(spec->seeds, spec->nseeds, &n->bootstrap), S_OK);
    } else {
        SOCKADDR_STORAGE addr;
        lb_loopback_addr(&addr, seed_port);
        assert_int_equal(
            DrtCreateStaticBootstrapResolver(&addr, seed_port ? 1 : 0, &n->bootstrap), S_OK);
    }
    n->event = DrtEventCreate(FALSE, FALSE);
    assert_non_null(n->event);
    DRT_SETTINGS s = lb_settings(n->transport, n->security, n->bootstrap, spec->mode,
                                 spec->prefix ? spec->prefix : L"Test");
    HRESULT hr = DrtOpen(&s, n->event, spec->context, &n->drt);
    if (FAILED(hr))
        release(n);
    return hr;
}

HRESULT lb_open_spec(struct lb_node *n, USHORT seed_port, const struct lb_spec *spec)
{
    create_transport(n);
    return open_around_transport(n, seed_port, spec);
}

void lb_open_with(struct lb_node *n, const struct lb_node *seed, DRT_PROTECTION_MODE mode,
                  const char *psk, const DRT_LIMITS *limits)
{
    memset(n, 0, sizeof(*n));
    n->port = next_port;
    next_port = 0;
    setenv("DRT_ADVERTISE_ADDRESS", "::1", 1);
    create_transport(n);
    if (mode != DRT_PROTECTION_OFF && next_cred) {
        assert_int_equal(DrtSetTransportProtectionCredential(n->transport, mode, next_cred,
                                                             next_nroots, next_roots),
                         S_OK);
        next_cred = NULL;
    } else if (mode != DRT_PROTECTION_OFF) {
        assert_int_equal(
            DrtSetTransportProtection(n->transport, mode, (const BYTE *)psk, (ULONG)strlen(psk)),
            S_OK);
    }
    if (mode != DRT_PROTECTION_OFF && (soft_s || hard_s))
        assert_int_equal(DrtSetTransportProtectionLifetime(n->transport, soft_s, hard_s, 0, 0),
                         S_OK);
    if (limits)
        assert_int_equal(DrtSetTransportLimits(n->transport, limits), S_OK);
    struct lb_spec spec = {.mode = DRT_SECURE_RESOLVE};
    HRESULT hr = open_around_transport(n, seed ? seed->port : 0, &spec);
    assert_int_equal(hr, seed ? S_OK : DRT_S_RETRY);
}

void lb_register(struct lb_node *n, const BYTE key[32], const char *data,
                 HDRT_REGISTRATION_CONTEXT *reg)
{
    DRT_REGISTRATION r = {{32, (BYTE *)key}, {(ULONG)strlen(data), (BYTE *)data}};
    assert_int_equal(DrtRegisterKey(n->drt, &r, NULL, reg), S_OK);
}

unsigned lb_drain(struct lb_node *n)
{
    return lb_drain_each(n, NULL, NULL);
}

unsigned lb_drain_each(struct lb_node *n, lb_event_fn *each, void *ctx)
{
    unsigned got = 0;
    for (; got < 100000; got++) {
        ULONG len = 0;
        if (DrtGetEventDataSize(n->drt, &len) != S_OK)
            break;
        DRT_EVENT_DATA *ev = malloc(len);
        assert_non_null(ev);
        assert_int_equal(DrtGetEventData(n->drt, len, ev), S_OK);
        if (ev->type == DRT_EVENT_STATUS_CHANGED)
            n->status = ev->statusChange.status;
        if (each)
            each(ev, ctx);
        free(ev);
    }
    n->events += got;
    return got;
}

bool lb_wait_active(struct lb_node *n, unsigned ms)
{
    for (unsigned waited = 0; waited <= ms; waited += 50) {
        lb_drain(n);
        if (n->status == DRT_ACTIVE)
            return true;
        DrtEventWait(n->event, 50);
    }
    return false;
}

void lb_close(struct lb_node *n)
{
    DrtClose(n->drt);
    release(n);
}

struct drt_instance *lb_instance(const struct lb_node *n)
{
    struct drt_instance *inst = handle_table_get(n->drt, HANDLE_TYPE_INSTANCE);
    assert_non_null(inst);
    return inst;
}

HRESULT lb_search_each(HDRT drt, const BYTE key[32], const DRT_SEARCH_INFO *info,
                       ULONG timeout_ms, unsigned steps, lb_result_fn *each, void *ctx)
{
    HANDLE ev = DrtEventCreate(TRUE, FALSE);
    DRT_DATA k = {32, (BYTE *)key};
    HDRT_SEARCH_CONTEXT s;
    assert_int_equal(DrtStartSearch(drt, &k, info, timeout_ms, ev, NULL, &s), S_OK);
    HRESULT hr = DRT_E_SEARCH_IN_PROGRESS;
    for (unsigned step = 0; step < steps; step++) {
        DrtEventWait(ev, 50);
        ULONG size = 0;
        hr = DrtGetSearchResultSize(s, &size);
        if (hr == DRT_E_SEARCH_IN_PROGRESS)
            continue;
        if (hr != S_OK)
            break; /* NO_MORE, TIMEOUT: nothing more comes */
        DRT_SEARCH_RESULT *r = malloc(size);
        assert_non_null(r);
        assert_int_equal(DrtGetSearchResult(s, size, r), S_OK);
        each(r, ctx);
        free(r);
    }
    assert_int_equal(DrtEndSearch(s), S_OK);
    DrtEventClose(ev);
    return hr;
}

struct wanted {
    const char *data;
    size_t len; /* of data, with or without its NUL */
    unsigned found;
};

static void count_exact(const DRT_SEARCH_RESULT *r, void *ctx)
{
    struct wanted *w = ctx;
    if (r->type == DRT_MATCH_EXACT && r->registration.appData.cb == w->len &&
        memcmp(r->registration.appData.pb, w->data, w->len) == 0)
        w->found++;
}

bool lb_search_finds(struct lb_node *n, const BYTE key[32], const char *data)
{
    DRT_SEARCH_INFO info = {.dwSize = sizeof(info), .fIterative = FALSE,
                            .fAllowCurrentInstanceMatch = TRUE, .fAnyMatchInRange = FALSE,
                            .cMaxEndpoints = 1, .pMaximumKey = NULL, .pMinimumKey = NULL};
    struct wanted w = {data, strlen(data), 0};
    lb_search_each(n->drt, key, &info, 5000, 200, count_exact, &w);
    return w.found > 0;
}

unsigned lb_search_count(HDRT drt, const BYTE key[32], const char *data, HRESULT *end)
{
    struct wanted w = {data, strlen(data) + 1, 0};
    HRESULT hr = lb_search_each(drt, key, NULL, 5000, 200, count_exact, &w);
    if (end)
        *end = hr;
    return w.found;
}
