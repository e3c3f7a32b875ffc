/*
 * test_key_lifetime.c - a key registered with the derived-key provider
 * lives as long as its certificates, its chain's included (docs/SECURITY.md,
 * "Key lifetime"): at the first notAfter the node raises
 * DRT_EVENT_REGISTRATION_STATE_CHANGED with
 * DRT_REGISTRATION_STATE_UNRESOLVEABLE for it and stops publishing it,
 * another node's search no longer finds it, no revocation is flooded, the
 * handle stays valid until DrtUnregisterKey, and the key can be registered
 * again with a renewed certificate. A certificate already out of date is
 * refused with DRT_E_INVALID_CERT_CHAIN.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <drt.h>

#include "api/api_internal.h"
#include "api/loopback_node.h"
#include "sec/cert_fixture.h"

/* How long the short-lived certificate outlives its registration. */
#define SHORT_LIFE_S 5

static void key_of(PCCERT_CONTEXT c, BYTE key[32])
{
    DRT_DATA k = {32, key};
    assert_int_equal(DrtCreateDerivedKey(c, &k), S_OK);
}

/* "YYYYMMDDHHMMSSZ" for t, as certificates write their dates. */
static void asn1_date(time_t t, char out[16])
{
    struct tm tm;
    assert_non_null(gmtime_r(&t, &tm));
    assert_int_equal(strftime(out, 16, "%Y%m%d%H%M%SZ", &tm), 15);
}

/* A node certificate for key, issued by the fixture's root, valid from
 * yesterday until not_after exactly. */
static X509 *cert_until(EVP_PKEY *key, time_t not_after)
{
    static long serial = 5000;
    char until[16];
    asn1_date(not_after, until);
    struct fx_spec s = {"short-lived node", serial++, false, -1, 0, NULL, until};
    return fx_issue(&s, key, fx_pki()->root, fx_pki()->root_key);
}

/* --- the provider ------------------------------------------------------- */

static void test_provider_signs_nothing_with_an_expired_certificate(void **state)
{
    const struct fx_pki *pki = fx_pki();
    DRT_SECURITY_PROVIDER *p = NULL;
    assert_int_equal(DrtCreateDerivedKeySecurityProvider(&pki->root_ctx, NULL, &p), S_OK);
    struct fx_node expired;
    fx_node_init(&expired, FX_ED25519, pki->root, pki->root_key, NULL, -30, -1);
    BYTE key[32], nonce[16] = {1};
    key_of(&expired.ctx, key);
    DRT_DATA k = {32, key}, n = {16, nonce}, cpa = {0, NULL}, cls = {0, NULL}, sec = {0, NULL},
             chain = {0, NULL};
    assert_int_equal(p->SecureAndPackPayload(p->pvContext, (PVOID)&expired.ctx, 6, 0x65,
                                             DRT_PAYLOAD_REVOKED, &k, NULL, NULL, &n, &cpa, &cls,
                                             &sec, &chain),
                     DRT_E_INVALID_CERT_CHAIN);
    assert_null(cpa.pb);
    assert_null(chain.pb);
    fx_node_free(&expired);
    DrtDeleteDerivedKeySecurityProvider(p);
}

static void test_register_refuses_an_out_of_date_certificate_in_the_chain(void **state)
{
    /* The path to the root is valid, but pChain also holds an expired CA
     * certificate: the records would carry it, so the key is refused
     * rather than published with a proof that ends at once. */
    const struct fx_pki *pki = fx_pki();
    DRT_SECURITY_PROVIDER *p = NULL;
    assert_int_equal(DrtCreateDerivedKeySecurityProvider(&pki->root_ctx, NULL, &p), S_OK);
    EVP_PKEY *old_key = fx_key(FX_EC_P256);
    struct fx_spec s = {"old ca", 4242, true, -60, -1, NULL, NULL};
    X509 *old_ca = fx_issue(&s, old_key, pki->root, pki->root_key);
    struct fx_node n;
    fx_node_init(&n, FX_EC_P256, pki->root, pki->root_key, old_ca, -1, 30);
    BYTE key[32], data[1] = {1};
    key_of(&n.ctx, key);
    DRT_REGISTRATION reg = {{32, key}, {1, data}};
    assert_int_equal(p->RegisterKey(p->pvContext, &reg, (PVOID)&n.ctx), DRT_E_INVALID_CERT_CHAIN);
    fx_node_free(&n);
    X509_free(old_ca);
    EVP_PKEY_free(old_key);
    DrtDeleteDerivedKeySecurityProvider(p);
}

/* --- real nodes on ::1 ---------------------------------------------------- */

static int open_context; /* DrtOpen's pvContext, returned in every event */

static void open_node(struct lb_node *n, USHORT seed_port)
{
    memset(n, 0, sizeof(*n));
    struct lb_spec spec = {.root = &fx_pki()->root_ctx, .dns = true, .mode = DRT_SECURE_RESOLVE,
                           .prefix = L"Lifetime_DRT", .context = &open_context};
    assert_true(SUCCEEDED(lb_open_spec(n, seed_port, &spec)));
}

/* The next event of the DRT, waiting up to timeout_ms; NULL when none. */
static DRT_EVENT_DATA *next_event(struct lb_node *n, unsigned timeout_ms)
{
    for (unsigned waited = 0;; waited += 50) {
        ULONG len = 0;
        if (DrtGetEventDataSize(n->drt, &len) == S_OK) {
            DRT_EVENT_DATA *e = malloc(len);
            assert_non_null(e);
            assert_int_equal(DrtGetEventData(n->drt, len, e), S_OK);
            return e;
        }
        if (waited >= timeout_ms)
            return NULL;
        DrtEventWait(n->event, 50);
    }
}

static bool wait_active(struct lb_node *n)
{
    DRT_EVENT_DATA *e;
    while ((e = next_event(n, 10000)) != NULL) {
        bool active = e->type == DRT_EVENT_STATUS_CHANGED && e->statusChange.status == DRT_ACTIVE;
        free(e);
        if (active)
            return true;
    }
    return false;
}

/* Waits up to 5 s for `key` to enter a leaf set of n, dropping other
 * events. */
static bool wait_leafset_added(struct lb_node *n, const BYTE key[32])
{
    DRT_EVENT_DATA *e;
    while ((e = next_event(n, 5000)) != NULL) {
        bool added = e->type == DRT_EVENT_LEAFSET_KEY_CHANGED &&
                     e->leafsetKeyChange.change == DRT_LEAFSET_KEY_ADDED &&
                     memcmp(e->leafsetKeyChange.remoteKey.pb, key, 32) == 0;
        free(e);
        if (added)
            return true;
    }
    return false;
}

/* Registration-state events seen while waiting up to timeout_ms for the
 * first one; the others (leaf-set changes) are dropped. */
static DRT_EVENT_DATA *wait_registration_event(struct lb_node *n, unsigned timeout_ms)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        long spent = (long)(t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        if (spent >= (long)timeout_ms)
            return NULL;
        DRT_EVENT_DATA *e = next_event(n, (unsigned)(timeout_ms - (unsigned long)spent));
        if (!e)
            return NULL;
        if (e->type == DRT_EVENT_REGISTRATION_STATE_CHANGED)
            return e;
        free(e);
    }
}

/* Waits up to timeout_ms for the registration event of key: it comes
 * once its certificate ended (at until), UNRESOLVEABLE, in the context n
 * was opened with. Returns the event's code. */
static HRESULT assert_key_ends(struct lb_node *n, const BYTE key[32], time_t until,
                               unsigned timeout_ms)
{
    DRT_EVENT_DATA *e = wait_registration_event(n, timeout_ms);
    assert_non_null(e);
    assert_true(time(NULL) >= until);
    assert_int_equal(e->type, DRT_EVENT_REGISTRATION_STATE_CHANGED);
    assert_ptr_equal(e->pvContext, &open_context);
    assert_int_equal(e->registrationStateChange.state, DRT_REGISTRATION_STATE_UNRESOLVEABLE);
    assert_int_equal(e->registrationStateChange.localKey.cb, 32);
    assert_memory_equal(e->registrationStateChange.localKey.pb, key, 32);
    HRESULT hr = e->hr;
    free(e);
    return hr;
}

static HRESULT register_key(struct lb_node *n, const BYTE key[32], const char *data,
                            PCCERT_CONTEXT ctx, HDRT_REGISTRATION_CONTEXT *out)
{
    DRT_REGISTRATION reg = {{32, (BYTE *)key}, {(ULONG)strlen(data) + 1, (BYTE *)data}};
    return DrtRegisterKey(n->drt, &reg, (PVOID)ctx, out);
}

static void test_registering_an_out_of_date_certificate_is_refused(void **state)
{
    const struct fx_pki *pki = fx_pki();
    setenv("DRT_ADVERTISE_ADDRESS", "::1", 1);
    struct lb_node a;
    open_node(&a, 0);
    struct fx_node expired, early;
    fx_node_init(&expired, FX_EC_P256, pki->root, pki->root_key, NULL, -30, -1);
    fx_node_init(&early, FX_ED25519, pki->root, pki->root_key, NULL, 1, 30);
    BYTE key[32];
    HDRT_REGISTRATION_CONTEXT r = (HDRT_REGISTRATION_CONTEXT)1;
    key_of(&expired.ctx, key);
    assert_int_equal(register_key(&a, key, "old", &expired.ctx, &r), DRT_E_INVALID_CERT_CHAIN);
    assert_null(r);
    key_of(&early.ctx, key);
    assert_int_equal(register_key(&a, key, "early", &early.ctx, &r), DRT_E_INVALID_CERT_CHAIN);
    assert_null(r);
    /* A certificate that ends two or three seconds from now is still
     * accepted, and the event follows the registration as soon. */
    EVP_PKEY *k = fx_key(FX_EC_P256);
    time_t until = time(NULL) + 3;
    X509 *c = cert_until(k, until);
    CERT_CONTEXT ctx = {c, k, NULL};
    key_of(&ctx, key);
    assert_int_equal(register_key(&a, key, "brief", &ctx, &r), S_OK);
    assert_key_ends(&a, key, until, 5000);
    DrtUnregisterKey(r);
    lb_close(&a);
    X509_free(c);
    EVP_PKEY_free(k);
    fx_node_free(&expired);
    fx_node_free(&early);
    unsetenv("DRT_ADVERTISE_ADDRESS");
}

static void test_key_ends_with_the_first_certificate_of_its_chain(void **state)
{
    /* The node certificate lasts a month, but the intermediate that issued
     * it ends in two or three seconds: every resolver refuses the chain from
     * then on, so that is when the key ends. */
    const struct fx_pki *pki = fx_pki();
    setenv("DRT_ADVERTISE_ADDRESS", "::1", 1);
    struct lb_node a;
    open_node(&a, 0);
    EVP_PKEY *ca_key = fx_key(FX_EC_P256);
    time_t until = time(NULL) + 3;
    char ca_until[16];
    asn1_date(until, ca_until);
    struct fx_spec ca_spec = {"brief ca", 4343, true, -1, 0, NULL, ca_until};
    X509 *ca = fx_issue(&ca_spec, ca_key, pki->root, pki->root_key);
    struct fx_node n;
    fx_node_init(&n, FX_ED25519, ca, ca_key, ca, -1, 30);
    BYTE key[32];
    key_of(&n.ctx, key);
    HDRT_REGISTRATION_CONTEXT r;
    assert_int_equal(register_key(&a, key, "chained", &n.ctx, &r), S_OK);
    assert_key_ends(&a, key, until, 6000);
    DrtUnregisterKey(r);
    lb_close(&a);
    fx_node_free(&n);
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    unsetenv("DRT_ADVERTISE_ADDRESS");
}

static void test_expired_key_is_withdrawn_reported_and_renewable(void **state)
{
    setenv("DRT_ADVERTISE_ADDRESS", "::1", 1);
    const struct fx_pki *pki = fx_pki();
    struct lb_node a, b;
    /* A holds a key of its own, so that B can verify it and get in. */
    struct fx_node a_cert;
    fx_node_init(&a_cert, FX_EC_P256, pki->root, pki->root_key, NULL, -1, 30);
    BYTE a_key[32];
    key_of(&a_cert.ctx, a_key);
    HDRT_REGISTRATION_CONTEXT a_reg;
    open_node(&a, 0);
    assert_int_equal(register_key(&a, a_key, "a", &a_cert.ctx, &a_reg), S_OK);
    open_node(&b, a.port);
    assert_true(wait_active(&b));

    /* B publishes two keys: one whose certificate lasts a month, one whose
     * certificate ends SHORT_LIFE_S seconds from now. */
    struct fx_node lasting;
    fx_node_init(&lasting, FX_ED25519, pki->root, pki->root_key, NULL, -1, 30);
    BYTE long_key[32], short_key[32];
    key_of(&lasting.ctx, long_key);
    HDRT_REGISTRATION_CONTEXT long_reg, short_reg;
    assert_int_equal(register_key(&b, long_key, "lasting", &lasting.ctx, &long_reg), S_OK);
    EVP_PKEY *pkey = fx_key(FX_EC_P256);
    time_t until = time(NULL) + SHORT_LIFE_S;
    X509 *short_cert = cert_until(pkey, until);
    CERT_CONTEXT short_ctx = {short_cert, pkey, NULL};
    key_of(&short_ctx, short_key);
    assert_int_equal(register_key(&b, short_key, "short", &short_ctx, &short_reg), S_OK);

    /* Published: it reaches A's leaf set (the cloud is A and B). */
    assert_true(wait_leafset_added(&a, short_key));
    HRESULT end;
    assert_int_equal(lb_search_count(a.drt, short_key, "short", &end), 1);
    assert_true(time(NULL) < until); /* else the test machine was too slow to tell */

    /* The event: for the short key, once its certificate has ended. */
    assert_int_equal(assert_key_ends(&b, short_key, until, (SHORT_LIFE_S + 6) * 1000),
                     DRT_E_INVALID_CERT_CHAIN);

    /* A no longer finds it; the other key of B is untouched. */
    assert_int_equal(lb_search_count(a.drt, short_key, "short", &end), 0);
    assert_int_equal(end, DRT_E_NO_MORE);
    assert_int_equal(lb_search_count(a.drt, long_key, "lasting", &end), 1);
    /* No revocation went out: it would have been signed with the expired
     * certificate, which A (B's only neighbour) would have refused. */
    struct instance_stats st;
    instance_get_stats(handle_table_get(a.drt, HANDLE_TYPE_INSTANCE), &st);
    assert_int_equal(st.engine.revocations_rejected, 0);
    assert_int_equal(st.engine.revocations_accepted, 0);

    /* The handle is still the application's: updating says why it cannot,
     * unregistering releases it as documented, and then it is gone. */
    DRT_DATA data = {4, (BYTE *)"new"};
    assert_int_equal(DrtUpdateKey(short_reg, &data), DRT_E_INVALID_CERT_CHAIN);
    DrtUnregisterKey(short_reg);
    assert_int_equal(DrtUpdateKey(short_reg, &data), E_HANDLE);
    DrtUnregisterKey(short_reg); /* a second time: ignored */

    /* Renewed (same key pair, so the same key): registered and found again. */
    X509 *renewed = cert_until(pkey, time(NULL) + 86400);
    CERT_CONTEXT renewed_ctx = {renewed, pkey, NULL};
    BYTE renewed_key[32];
    key_of(&renewed_ctx, renewed_key);
    assert_memory_equal(renewed_key, short_key, 32);
    assert_int_equal(register_key(&b, short_key, "renewed", &renewed_ctx, &short_reg), S_OK);
    /* A may or may not still hold the old entry; either way the new
     * publication reaches it within a few searches' time. */
    unsigned found = 0;
    for (int attempt = 0; attempt < 10 && !found; attempt++) {
        found = lb_search_count(a.drt, short_key, "renewed", &end);
        if (!found)
            DrtEventWait(a.event, 300);
    }
    assert_int_equal(found, 1);

    DrtUnregisterKey(short_reg);
    DrtUnregisterKey(long_reg);
    DrtUnregisterKey(a_reg);
    lb_close(&b);
    lb_close(&a);
    fx_node_free(&a_cert);
    X509_free(renewed);
    X509_free(short_cert);
    EVP_PKEY_free(pkey);
    fx_node_free(&lasting);
    unsetenv("DRT_ADVERTISE_ADDRESS");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_provider_signs_nothing_with_an_expired_certificate),
        cmocka_unit_test(test_register_refuses_an_out_of_date_certificate_in_the_chain),
        cmocka_unit_test(test_registering_an_out_of_date_certificate_is_refused),
        cmocka_unit_test(test_key_ends_with_the_first_certificate_of_its_chain),
        cmocka_unit_test(test_expired_key_is_withdrawn_reported_and_renewable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
