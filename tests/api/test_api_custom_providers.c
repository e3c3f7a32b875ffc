/*
 * test_api_custom_providers.c - DrtOpen and friends with providers written
 * against the vtables, as a third party would: a bootstrap provider that
 * answers from its own thread, one that fails fatally, providers that
 * refuse a second DRT, a security provider that refuses a key; and the
 * Windows SDK sample's call sequence (drt-api §9) step by step.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>

#include <drt.h>

#include "api/loopback_node.h"

/* --- a custom bootstrap provider ------------------------------------------ */

struct custom_boot {
    DRT_BOOTSTRAP_PROVIDER vt;
    int attached;
    int registered;
    bool fatal;            /* InitResolve fails fatally */
    bool answer_on_thread; /* IssueResolve answers from a thread of its own */
    SOCKADDR_STORAGE seed;
    ULONG nseeds;
    pthread_t thread;
    bool thread_started;
    PVOID cb_ctx;
    DRT_BOOTSTRAP_RESOLVE_CALLBACK cb;
};

static HRESULT cb_attach(const PVOID ctx)
{
    struct custom_boot *b = ctx;
    if (b->attached)
        return DRT_E_BOOTSTRAPPROVIDER_IN_USE;
    b->attached++;
    return S_OK;
}

static VOID cb_detach(const PVOID ctx)
{
    ((struct custom_boot *)ctx)->attached--;
}

static HRESULT cb_init(const PVOID ctx, BOOL split, ULONG timeout, ULONG max,
                       DRT_BOOTSTRAP_RESOLVE_CONTEXT *rc, BOOL *fatal)
{
    struct custom_boot *b = ctx;
    if (b->fatal) {
        *fatal = TRUE;
        return HRESULT_FROM_WIN32(5L);
    }
    *rc = b;
    return S_OK;
}

static void answer(struct custom_boot *b)
{
    SOCKET_ADDRESS sa = {(LPSOCKADDR)&b->seed, sizeof(b->seed)};
    SOCKET_ADDRESS_LIST list = {(INT)b->nseeds, {sa}};
    if (b->nseeds)
        b->cb(S_OK, b->cb_ctx, &list, FALSE);
    b->cb(DRT_E_NO_MORE, b->cb_ctx, NULL, FALSE);
}

static void *answer_thread(void *arg)
{
    answer(arg);
    return NULL;
}

static HRESULT cb_issue(const PVOID ctx, const PVOID cbctx, DRT_BOOTSTRAP_RESOLVE_CALLBACK cb,
                        DRT_BOOTSTRAP_RESOLVE_CONTEXT rc, BOOL *fatal)
{
    struct custom_boot *b = ctx;
    b->cb = cb;
    b->cb_ctx = cbctx;
    if (!b->answer_on_thread) {
        answer(b);
        return S_OK;
    }
    b->thread_started = pthread_create(&b->thread, NULL, answer_thread, b) == 0;
    return b->thread_started ? S_OK : E_FAIL;
}

static VOID cb_end(const PVOID ctx, DRT_BOOTSTRAP_RESOLVE_CONTEXT rc)
{
    struct custom_boot *b = ctx;
    if (b->thread_started) {
        pthread_join(b->thread, NULL);
        b->thread_started = false;
    }
}

static HRESULT cb_register(const PVOID ctx, const SOCKET_ADDRESS_LIST *l)
{
    ((struct custom_boot *)ctx)->registered++;
    return S_OK;
}

static VOID cb_unregister(const PVOID ctx)
{
    ((struct custom_boot *)ctx)->registered--;
}

static void boot_init(struct custom_boot *b)
{
    memset(b, 0, sizeof(*b));
    b->vt = (DRT_BOOTSTRAP_PROVIDER){b,          cb_attach, cb_detach,     cb_init,
                                     cb_issue,   cb_end,    cb_register,   cb_unregister};
}

/* --- a custom security provider: the null one, refusing one key ---------- */

struct custom_sec {
    DRT_SECURITY_PROVIDER *inner; /* the library's null provider does the rest */
    DRT_SECURITY_PROVIDER vt;
    int attached;
    int keys; /* registered minus unregistered */
    BYTE refused[32];
};

static HRESULT sec_attach(const PVOID ctx)
{
    struct custom_sec *s = ctx;
    if (s->attached)
        return DRT_E_SECURITYPROVIDER_IN_USE;
    s->attached++;
    return S_OK;
}

static VOID sec_detach(const PVOID ctx)
{
    ((struct custom_sec *)ctx)->attached--;
}

static HRESULT sec_register(const PVOID ctx, const DRT_REGISTRATION *r, PVOID kc)
{
    struct custom_sec *s = ctx;
    if (memcmp(r->key.pb, s->refused, 32) == 0)
        return DRT_E_INVALID_KEY;
    s->keys++;
    return S_OK;
}

static HRESULT sec_unregister(const PVOID ctx, const DRT_DATA *k, PVOID kc)
{
    ((struct custom_sec *)ctx)->keys--;
    return S_OK;
}

/* Proofs go through the inner (null) provider, but the payload travels
 * "protected" (XOR 0x5A), so only a node that unpacks it through this
 * provider gets the application's bytes back. */
static int packs, validations;

static HRESULT sec_pack(const PVOID ctx, PVOID kc, BYTE major, BYTE minor, DWORD flags,
                        const DRT_DATA *key, const DRT_DATA *payload,
                        const SOCKET_ADDRESS_LIST *addrs, const DRT_DATA *nonce, DRT_DATA *cpa,
                        DRT_DATA *classifier, DRT_DATA *secured, DRT_DATA *chain)
{
    struct custom_sec *s = ctx;
    HRESULT hr = s->inner->SecureAndPackPayload(s->inner->pvContext, kc, major, minor, flags, key,
                                                payload, addrs, nonce, cpa, classifier, secured,
                                                chain);
    for (ULONG i = 0; SUCCEEDED(hr) && i < secured->cb; i++)
        secured->pb[i] ^= 0x5A;
    packs++;
    return hr;
}

static HRESULT sec_validate(const PVOID ctx, DRT_DATA *cpa, DRT_DATA *chain, DRT_DATA *cls,
                            DRT_DATA *nonce, DRT_DATA *secured, BYTE *major, BYTE *minor,
                            DRT_DATA *key, DRT_DATA *payload, CERT_PUBLIC_KEY_INFO **pk,
                            SOCKET_ADDRESS_LIST **al, DWORD *flags)
{
    struct custom_sec *s = ctx;
    HRESULT hr = s->inner->ValidateAndUnpackPayload(s->inner->pvContext, cpa, chain, cls, nonce,
                                                    secured, major, minor, key, payload, pk, al,
                                                    flags);
    for (ULONG i = 0; SUCCEEDED(hr) && i < payload->cb; i++)
        payload->pb[i] ^= 0x5A;
    validations++;
    return hr;
}

static void sec_free(const PVOID ctx, PVOID p)
{
    struct custom_sec *s = ctx;
    s->inner->FreeData(s->inner->pvContext, p);
}

static void sec_init(struct custom_sec *s)
{
    memset(s, 0, sizeof(*s));
    assert_int_equal(DrtCreateNullSecurityProvider(&s->inner), S_OK);
    s->vt = *s->inner;
    s->vt.pvContext = s;
    s->vt.Attach = sec_attach;
    s->vt.Detach = sec_detach;
    s->vt.RegisterKey = sec_register;
    s->vt.UnregisterKey = sec_unregister;
    s->vt.SecureAndPackPayload = sec_pack;
    s->vt.ValidateAndUnpackPayload = sec_validate;
    s->vt.FreeData = sec_free;
    memset(s->refused, 0xEE, 32);
}

/* --- helpers --------------------------------------------------------------- */

static DRT_STATUS wait_status(HDRT drt, HANDLE ev, DRT_STATUS want, HRESULT *hr_out)
{
    DRT_STATUS last = (DRT_STATUS)-1;
    for (unsigned step = 0; step < 200 && last != want; step++) {
        ULONG len = 0;
        if (DrtGetEventDataSize(drt, &len) != S_OK) {
            DrtEventWait(ev, 50);
            continue;
        }
        DRT_EVENT_DATA *e = malloc(len);
        assert_non_null(e);
        assert_int_equal(DrtGetEventData(drt, len, e), S_OK);
        if (e->type == DRT_EVENT_STATUS_CHANGED) {
            last = e->statusChange.status;
            if (hr_out)
                *hr_out = e->hr;
        }
        free(e);
    }
    return last;
}

/* --- tests ----------------------------------------------------------------- */

static void test_providers_that_serve_one_drt(void **state)
{
    (void)state;
    struct custom_boot boot;
    struct custom_sec sec;
    boot_init(&boot);
    sec_init(&sec);
    HDRT_TRANSPORT t1, t2;
    USHORT p1 = 0, p2 = 0;
    assert_int_equal(DrtCreateIpv6UdpTransport(DRT_GLOBAL_SCOPE, 0, 300, &p1, &t1), S_OK);
    assert_int_equal(DrtCreateIpv6UdpTransport(DRT_GLOBAL_SCOPE, 0, 300, &p2, &t2), S_OK);
    DRT_SETTINGS s1 = lb_settings(t1, &sec.vt, &boot.vt, DRT_SECURE_RESOLVE, L"Local_DRT");
    HDRT d1, d2;
    assert_int_equal(DrtOpen(&s1, NULL, NULL, &d1), DRT_S_RETRY);
    assert_int_equal(boot.attached, 1);
    assert_int_equal(sec.attached, 1);
    /* The same providers for a second DRT: each refuses, nothing leaks. */
    DRT_SETTINGS s2 = lb_settings(t2, &sec.vt, &boot.vt, DRT_SECURE_RESOLVE, L"Local_DRT");
    assert_int_equal(DrtOpen(&s2, NULL, NULL, &d2), DRT_E_SECURITYPROVIDER_IN_USE);
    assert_null(d2);
    struct custom_sec other;
    sec_init(&other);
    s2.pSecurityProvider = &other.vt;
    assert_int_equal(DrtOpen(&s2, NULL, NULL, &d2), DRT_E_BOOTSTRAPPROVIDER_IN_USE);
    assert_int_equal(other.attached, 0); /* detached again */

    /* The security provider vets keys. */
    HDRT_REGISTRATION_CONTEXT r;
    BYTE data[4] = {1, 2, 3, 4};
    DRT_REGISTRATION reg = {{32, sec.refused}, {4, data}};
    assert_int_equal(DrtRegisterKey(d1, &reg, NULL, &r), DRT_E_INVALID_KEY);
    assert_null(r);
    BYTE good[32] = {7};
    reg.key.pb = good;
    assert_int_equal(DrtRegisterKey(d1, &reg, NULL, &r), S_OK);
    assert_int_equal(sec.keys, 1);
    DrtClose(d1); /* unregisters the key through the provider, detaches both */
    assert_int_equal(sec.keys, 0);
    assert_int_equal(sec.attached, 0);
    assert_int_equal(boot.attached, 0);
    assert_int_equal(DrtDeleteIpv6UdpTransport(t1), S_OK);
    assert_int_equal(DrtDeleteIpv6UdpTransport(t2), S_OK);
    DrtDeleteNullSecurityProvider(sec.inner);
    DrtDeleteNullSecurityProvider(other.inner);
}

/* Every result of the search for A's key carries A's data. */
static void from_a(const DRT_SEARCH_RESULT *r, void *ctx)
{
    static const BYTE data[] = "from-a";
    assert_int_equal(r->registration.appData.cb, sizeof(data));
    assert_memory_equal(r->registration.appData.pb, data, sizeof(data));
    (*(unsigned *)ctx)++;
}

static void test_resolver_answering_from_its_own_thread(void **state)
{
    (void)state;
    setenv("DRT_ADVERTISE_ADDRESS", "::1", 1);
    /* Node A: the first node. Node B: bootstraps from A through a custom
     * provider whose answer comes from another thread. */
    struct custom_boot ba, bb;
    boot_init(&ba);
    boot_init(&bb);
    bb.answer_on_thread = true;
    struct custom_sec csa, csb;
    sec_init(&csa);
    sec_init(&csb);
    DRT_SECURITY_PROVIDER *sa = &csa.vt, *sb = &csb.vt;
    HDRT_TRANSPORT ta, tb;
    USHORT pa = 0, pb = 0;
    assert_int_equal(DrtCreateIpv6UdpTransport(DRT_GLOBAL_SCOPE, 0, 300, &pa, &ta), S_OK);
    assert_int_equal(DrtCreateIpv6UdpTransport(DRT_GLOBAL_SCOPE, 0, 300, &pb, &tb), S_OK);
    lb_loopback_addr(&bb.seed, pa);
    bb.nseeds = 1;
    HANDLE ea = DrtEventCreate(FALSE, FALSE), eb = DrtEventCreate(FALSE, FALSE);
    DRT_SETTINGS s = lb_settings(ta, sa, &ba.vt, DRT_SECURE_RESOLVE, L"Local_DRT");
    HDRT a, b;
    assert_int_equal(DrtOpen(&s, ea, NULL, &a), DRT_S_RETRY);
    BYTE ka[32] = {0xA1}, data[] = "from-a";
    DRT_REGISTRATION reg = {{32, ka}, {sizeof(data), data}};
    HDRT_REGISTRATION_CONTEXT ra;
    assert_int_equal(DrtRegisterKey(a, &reg, NULL, &ra), S_OK);
    s = lb_settings(tb, sb, &bb.vt, DRT_SECURE_RESOLVE, L"Local_DRT");
    assert_int_equal(DrtOpen(&s, eb, NULL, &b), S_OK);
    assert_int_equal(wait_status(b, eb, DRT_ACTIVE, NULL), DRT_ACTIVE);
    assert_true(ba.registered >= 1); /* DrtOpen handed A's endpoints to its provider */

    /* B finds A's key: A proved it through its provider's SecureAndPack,
     * B checked and unpacked it through ValidateAndUnpack (the XOR). */
    int packs_before = packs, validations_before = validations;
    unsigned got = 0;
    lb_search_each(b, ka, NULL, 5000, 200, from_a, &got);
    assert_true(got > 0);
    assert_true(packs > packs_before);
    assert_true(validations > validations_before);
    DrtClose(b);
    DrtClose(a);
    assert_int_equal(ba.registered, 0);
    assert_int_equal(DrtDeleteIpv6UdpTransport(ta), S_OK);
    assert_int_equal(DrtDeleteIpv6UdpTransport(tb), S_OK);
    DrtDeleteNullSecurityProvider(csa.inner);
    DrtDeleteNullSecurityProvider(csb.inner);
    DrtEventClose(ea);
    DrtEventClose(eb);
    unsetenv("DRT_ADVERTISE_ADDRESS");
}

static void test_fatal_bootstrap_error_faults_the_drt(void **state)
{
    (void)state;
    struct custom_boot boot;
    boot_init(&boot);
    boot.fatal = true;
    DRT_SECURITY_PROVIDER *sp;
    assert_int_equal(DrtCreateNullSecurityProvider(&sp), S_OK);
    HDRT_TRANSPORT t;
    USHORT port = 0;
    assert_int_equal(DrtCreateIpv6UdpTransport(DRT_GLOBAL_SCOPE, 0, 300, &port, &t), S_OK);
    HANDLE ev = DrtEventCreate(FALSE, FALSE);
    DRT_SETTINGS s = lb_settings(t, sp, &boot.vt, DRT_SECURE_RESOLVE, L"Local_DRT");
    HDRT d;
    assert_int_equal(DrtOpen(&s, ev, NULL, &d), DRT_S_RETRY);
    HRESULT hr = S_OK;
    assert_int_equal(wait_status(d, ev, DRT_FAULTED, &hr), DRT_FAULTED);
    assert_true(FAILED(hr));
    BYTE key[32] = {1}, data[1] = {1};
    DRT_REGISTRATION reg = {{32, key}, {1, data}};
    HDRT_REGISTRATION_CONTEXT r;
    assert_int_equal(DrtRegisterKey(d, &reg, NULL, &r), DRT_E_FAULTED);
    DRT_DATA k = {32, key};
    HDRT_SEARCH_CONTEXT sc;
    assert_int_equal(DrtStartSearch(d, &k, NULL, 1000, ev, NULL, &sc), DRT_E_FAULTED);
    DrtClose(d); /* required in FAULTED, and works */
    assert_int_equal(DrtDeleteIpv6UdpTransport(t), S_OK);
    DrtDeleteNullSecurityProvider(sp);
    DrtEventClose(ev);
}

/* The Windows SDK DRT sample's call sequence (drt-api §9), with the null
 * provider standing in for the derived-key one and a DNS resolver naming
 * the first node. */
static void test_sdk_sample_call_sequence(void **state)
{
    (void)state;
    setenv("DRT_ADVERTISE_ADDRESS", "::1", 1);
    HDRT_TRANSPORT t[2];
    USHORT port[2] = {0, 0};
    DRT_SECURITY_PROVIDER *sp[2];
    DRT_BOOTSTRAP_PROVIDER *bp[2];
    HANDLE ev[2];
    HDRT drt[2];
    HDRT_REGISTRATION_CONTEXT reg[2];
    BYTE key[2][32];
    for (int i = 0; i < 2; i++) {
        /* 1. transport */
        assert_int_equal(DrtCreateIpv6UdpTransport(DRT_GLOBAL_SCOPE, 0, 300, &port[i], &t[i]),
                         S_OK);
        /* 2. security provider */
        assert_int_equal(DrtCreateNullSecurityProvider(&sp[i]), S_OK);
        /* 3. bootstrap: node 1 finds node 0 by name and port */
        wchar_t host[64];
        swprintf(host, 64, L"[::1]:%u", i == 0 ? 9 : port[0]);
        assert_int_equal(DrtCreateDnsBootstrapResolver(port[0], host, &bp[i]), S_OK);
        /* 4. settings as in the sample (confidential payload mode) and open */
        ev[i] = DrtEventCreate(FALSE, FALSE);
        DRT_SETTINGS s = lb_settings(t[i], sp[i], bp[i], DRT_SECURE_CONFIDENTIALPAYLOAD, L"Local_DRT");
        HRESULT hr = DrtOpen(&s, ev[i], NULL, &drt[i]);
        assert_true(SUCCEEDED(hr));
        /* 5. register */
        memset(key[i], 0x30 + i, 32);
        BYTE data[] = "sample";
        DRT_REGISTRATION r = {{32, key[i]}, {sizeof(data), data}};
        assert_int_equal(DrtRegisterKey(drt[i], &r, NULL, &reg[i]), S_OK);
    }
    assert_int_equal(wait_status(drt[1], ev[1], DRT_ACTIVE, NULL), DRT_ACTIVE);
    /* 6. search from node 1 for node 0's key, the sample's result loop */
    HANDLE sev = DrtEventCreate(TRUE, FALSE);
    DRT_DATA target = {32, key[0]};
    DRT_SEARCH_INFO info = {.dwSize = sizeof(info), .cMaxEndpoints = 1,
                            .pMinimumKey = &target, .pMaximumKey = &target};
    HDRT_SEARCH_CONTEXT sc;
    assert_int_equal(DrtStartSearch(drt[1], &target, &info, 5000, sev, NULL, &sc), S_OK);
    unsigned found = 0;
    HRESULT hr = DRT_E_SEARCH_IN_PROGRESS;
    for (unsigned step = 0; step < 200 && hr != DRT_E_NO_MORE; step++) {
        DrtEventWait(sev, 50);
        ULONG size;
        hr = DrtGetSearchResultSize(sc, &size);
        if (hr != S_OK)
            continue;
        DRT_SEARCH_RESULT *res = malloc(size);
        assert_non_null(res);
        assert_int_equal(DrtGetSearchResult(sc, size, res), S_OK);
        assert_int_equal(res->type, DRT_MATCH_EXACT);
        assert_memory_equal(res->registration.key.pb, key[0], 32);
        assert_string_equal((const char *)res->registration.appData.pb, "sample");
        found++;
        free(res);
    }
    assert_int_equal(found, 1);
    assert_int_equal(hr, DRT_E_NO_MORE);
    assert_int_equal(DrtEndSearch(sc), S_OK);
    DrtEventClose(sev);
    /* 7. teardown in the sample's order */
    for (int i = 1; i >= 0; i--) {
        DrtUnregisterKey(reg[i]);
        DrtClose(drt[i]);
        DrtDeleteDnsBootstrapResolver(bp[i]);
        DrtDeleteNullSecurityProvider(sp[i]);
        assert_int_equal(DrtDeleteIpv6UdpTransport(t[i]), S_OK);
        DrtEventClose(ev[i]);
    }
    unsetenv("DRT_ADVERTISE_ADDRESS");
}

/* A node whose address is on no interface notices within one check period
 * (5 s) that it has no usable network: NO_NETWORK, and registration is still
 * accepted (published once the network returns). */
static void test_address_gone_means_no_network(void **state)
{
    (void)state;
    setenv("DRT_ADVERTISE_ADDRESS", "2001:db8::7", 1);
    struct custom_boot boot;
    boot_init(&boot);
    DRT_SECURITY_PROVIDER *sp;
    assert_int_equal(DrtCreateNullSecurityProvider(&sp), S_OK);
    HDRT_TRANSPORT t;
    USHORT port = 0;
    assert_int_equal(DrtCreateIpv6UdpTransport(DRT_GLOBAL_SCOPE, 0, 300, &port, &t), S_OK);
    HANDLE ev = DrtEventCreate(FALSE, FALSE);
    DRT_SETTINGS s = lb_settings(t, sp, &boot.vt, DRT_SECURE_RESOLVE, L"Local_DRT");
    HDRT d;
    assert_int_equal(DrtOpen(&s, ev, NULL, &d), DRT_S_RETRY);
    assert_int_equal(wait_status(d, ev, DRT_NO_NETWORK, NULL), DRT_NO_NETWORK);
    BYTE key[32] = {9}, data[1] = {1};
    DRT_REGISTRATION reg = {{32, key}, {1, data}};
    HDRT_REGISTRATION_CONTEXT r;
    assert_int_equal(DrtRegisterKey(d, &reg, NULL, &r), S_OK);
    DrtClose(d);
    assert_int_equal(DrtDeleteIpv6UdpTransport(t), S_OK);
    DrtDeleteNullSecurityProvider(sp);
    DrtEventClose(ev);
    unsetenv("DRT_ADVERTISE_ADDRESS");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_providers_that_serve_one_drt),
        cmocka_unit_test(test_resolver_answering_from_its_own_thread),
        cmocka_unit_test(test_fatal_bootstrap_error_faults_the_drt),
        cmocka_unit_test(test_sdk_sample_call_sequence),
        cmocka_unit_test(test_address_gone_means_no_network),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
