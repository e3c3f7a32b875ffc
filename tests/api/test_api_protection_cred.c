/*
 * test_api_protection_cred.c - SA negotiations authenticated by node
 * certificates on real transports on ::1 (DrtSetTransportProtectionCredential):
 * nodes with certificates of one root find each other's keys inside ESP;
 * a node with a certificate of another root, or one that expired after it
 * was set, a node with the mesh's PSK instead, never gets an SA, and the
 * honest node counts and names the refusal; the setter's codes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <drt.h>

#include "api/loopback_node.h"
#include "sec/cert_fixture.h"

#define WAIT_STEP_MS 50u
#define WAIT_STEPS 200u /* every wait below is bounded by 10 s */

static DRT_PROTECTION_STATS stats_of(const struct lb_node *n)
{
    DRT_PROTECTION_STATS s;
    assert_int_equal(DrtGetTransportProtectionStats(n->transport, &s), S_OK);
    return s;
}

static void key_for(int i, BYTE key[32])
{
    for (int b = 0; b < 32; b++)
        key[b] = (BYTE)(i * 29 + b * 7 + 1);
}

static void open_cred(struct lb_node *n, const struct lb_node *seed, PCCERT_CONTEXT local)
{
    static PCCERT_CONTEXT roots[1];
    roots[0] = &fx_pki()->root_ctx;
    lb_set_credential(local, 1, roots);
    lb_open_protected(n, seed, DRT_PROTECTION_REQUIRE, NULL);
}

/* Two nodes with certificates of the mesh's root: every DRT message of
 * their searches travels inside ESP. */
static void test_two_certified_nodes_search_inside_esp(void **state)
{
    (void)state;
    const struct fx_pki *pki = fx_pki();
    struct fx_node ca, cb;
    fx_node_init(&ca, FX_EC_P256, pki->root, pki->root_key, NULL, -1, 30);
    fx_node_init(&cb, FX_ED25519, pki->inter, pki->inter_key, pki->inter, -1, 30);
    struct lb_node a, b;
    HDRT_REGISTRATION_CONTEXT ra, rb;
    BYTE ka[32], kb[32];
    key_for(1, ka);
    key_for(2, kb);
    open_cred(&a, NULL, &ca.ctx);
    open_cred(&b, &a, &cb.ctx);
    lb_register(&a, ka, "node-a", &ra);
    lb_register(&b, kb, "node-b", &rb);
    assert_true(lb_wait_active(&a, WAIT_STEPS * WAIT_STEP_MS));
    assert_true(lb_wait_active(&b, WAIT_STEPS * WAIT_STEP_MS));
    bool ab = false, ba = false;
    for (int attempt = 0; attempt < 5 && !(ab && ba); attempt++) {
        ab = ab || lb_search_finds(&a, kb, "node-b");
        ba = ba || lb_search_finds(&b, ka, "node-a");
    }
    assert_true(ab);
    assert_true(ba);
    const struct lb_node *both[2] = {&a, &b};
    for (int i = 0; i < 2; i++) {
        DRT_PROTECTION_STATS s = stats_of(both[i]);
        assert_int_equal(s.plainSent + s.plainReceived, 0);
        assert_true(s.espSent > 0 && s.espReceived > 0);
        assert_true(s.sasEstablished > 0);
        assert_int_equal(s.espDropped, 0);
        assert_int_equal(s.authFailed + s.authRefusedByPeer, 0);
        assert_int_equal(s.lastAuthError, S_OK);
        /* the peer's chain was checked once per negotiation at most, and
         * at least once */
        assert_true(s.chainsVerified >= 1);
        assert_true(s.chainsVerified <= s.sasEstablished);
    }
    DrtUnregisterKey(rb);
    DrtUnregisterKey(ra);
    lb_close(&b);
    lb_close(&a);
    fx_node_free(&ca);
    fx_node_free(&cb);
}

/* The node `bad` (opened by the caller with its own credential or PSK)
 * never joins the honest certified node: no SA on either side, and the
 * honest node counts a refused AUTH with `code`. */
static void assert_kept_out(struct lb_node *good, struct lb_node *bad, HRESULT code)
{
    assert_false(lb_wait_active(bad, 3000));
    DRT_PROTECTION_STATS sg = stats_of(good), sb = stats_of(bad);
    assert_int_equal(sg.sasEstablished, 0);
    assert_int_equal(sb.sasEstablished, 0);
    assert_int_equal(sg.plainSent + sb.plainSent, 0);
    assert_int_equal(sg.espReceived + sb.espReceived, 0);
    assert_true(sg.authFailed > 0);
    assert_int_equal(sg.lastAuthError, code);
    /* the bad node heard why (its initiations were refused) */
    assert_true(sb.authRefusedByPeer > 0);
    assert_int_equal(sb.lastAuthError, code);
}

static void test_node_of_another_root_is_refused(void **state)
{
    (void)state;
    const struct fx_pki *pki = fx_pki();
    struct fx_node cg, co;
    fx_node_init(&cg, FX_EC_P256, pki->root, pki->root_key, NULL, -1, 30);
    fx_node_init(&co, FX_EC_P256, pki->other_root, pki->other_key, NULL, -1, 30);
    struct lb_node good, bad;
    open_cred(&good, NULL, &cg.ctx);
    /* the stranger trusts both roots, so only the honest side refuses */
    PCCERT_CONTEXT roots[2] = {&pki->root_ctx, &pki->other_ctx};
    lb_set_credential(&co.ctx, 2, roots);
    lb_open_protected(&bad, &good, DRT_PROTECTION_REQUIRE, NULL);
    assert_kept_out(&good, &bad, DRT_E_INVALID_CERT_CHAIN);
    lb_close(&bad);
    lb_close(&good);
    fx_node_free(&cg);
    fx_node_free(&co);
}

/* "YYYYMMDDHHMMSSZ" for t. */
static void asn1_date(time_t t, char out[16])
{
    struct tm tm;
    assert_non_null(gmtime_r(&t, &tm));
    assert_int_equal(strftime(out, 16, "%Y%m%d%H%M%SZ", &tm), 15);
}

/* A certificate that was valid when its node started and has expired
 * since: a peer checks the dates at every negotiation and refuses it, and
 * the setter refuses it from then on. */
static void test_node_whose_certificate_expired_is_refused(void **state)
{
    (void)state;
    const struct fx_pki *pki = fx_pki();
    struct fx_node cg, ce;
    fx_node_init(&cg, FX_EC_P256, pki->root, pki->root_key, NULL, -1, 30);
    fx_node_init(&ce, FX_EC_P256, pki->root, pki->root_key, NULL, -1, 30);
    char until[16];
    asn1_date(time(NULL) + 2, until);
    struct fx_spec spec = {"expiring node", 7001, false, -1, 0, NULL, until};
    X509_free(ce.cert);
    ce.cert = fx_issue(&spec, ce.key, pki->root, pki->root_key);
    ce.ctx.pCert = ce.cert;
    struct lb_node expiring, good;
    open_cred(&expiring, NULL, &ce.ctx);
    sleep(3);
    open_cred(&good, &expiring, &cg.ctx);
    assert_false(lb_wait_active(&good, 3000));
    DRT_PROTECTION_STATS sg = stats_of(&good), se = stats_of(&expiring);
    assert_int_equal(sg.sasEstablished, 0);
    assert_true(sg.authFailed > 0);
    assert_int_equal(sg.lastAuthError, DRT_E_INVALID_CERT_CHAIN);
    assert_int_equal(sg.espSent + sg.plainSent + se.espReceived, 0);
    HDRT_TRANSPORT t;
    USHORT port = 0;
    PCCERT_CONTEXT roots[1] = {&pki->root_ctx};
    assert_int_equal(DrtCreateIpv6UdpTransport(DRT_GLOBAL_SCOPE, 0, 300, &port, &t), S_OK);
    assert_int_equal(DrtSetTransportProtectionCredential(t, DRT_PROTECTION_REQUIRE, &ce.ctx, 1,
                                                         roots),
                     DRT_E_INVALID_CERT_CHAIN);
    assert_int_equal(DrtDeleteIpv6UdpTransport(t), S_OK);
    lb_close(&good);
    lb_close(&expiring);
    fx_node_free(&cg);
    fx_node_free(&ce);
}

/* A node with the mesh's PSK is no member of a certificate mesh. */
static void test_psk_node_is_refused_by_certified_node(void **state)
{
    (void)state;
    struct fx_node cg;
    fx_node_init(&cg, FX_EC_P256, fx_pki()->root, fx_pki()->root_key, NULL, -1, 30);
    struct lb_node good, bad;
    open_cred(&good, NULL, &cg.ctx);
    lb_open_protected(&bad, &good, DRT_PROTECTION_REQUIRE, "a mesh key");
    assert_kept_out(&good, &bad, E_ACCESSDENIED);
    lb_close(&bad);
    lb_close(&good);
    fx_node_free(&cg);
}

static void test_set_credential_codes(void **state)
{
    (void)state;
    const struct fx_pki *pki = fx_pki();
    struct fx_node good, weak, stranger, long_chain;
    fx_node_init(&good, FX_EC_P256, pki->root, pki->root_key, NULL, -1, 30);
    fx_node_init(&weak, FX_RSA1024, pki->root, pki->root_key, NULL, -1, 30);
    fx_node_init(&stranger, FX_EC_P256, pki->other_root, pki->other_key, NULL, -1, 30);
    fx_node_init(&long_chain, FX_EC_P256, pki->inter, pki->inter_key, pki->inter, -1, 30);
    /* the intermediate three times: still a valid path, too long to send */
    for (int k = 0; k < 2; k++) {
        X509_up_ref(pki->inter);
        sk_X509_push(long_chain.chain, pki->inter);
    }
    PCCERT_CONTEXT root[1] = {&pki->root_ctx};
    PCCERT_CONTEXT nine[9], with_null[2] = {&pki->root_ctx, NULL};
    for (int k = 0; k < 9; k++)
        nine[k] = &pki->root_ctx;
    CERT_CONTEXT no_key = good.ctx, no_cert = good.ctx, bare_root = {NULL, NULL, NULL};
    no_key.pPrivateKey = NULL;
    no_cert.pCert = NULL;
    PCCERT_CONTEXT bad_root[1] = {&bare_root};
    HDRT_TRANSPORT t;
    USHORT port = 0;
    assert_int_equal(DrtCreateIpv6UdpTransport(DRT_GLOBAL_SCOPE, 0, 300, &port, &t), S_OK);
    const DRT_PROTECTION_MODE REQ = DRT_PROTECTION_REQUIRE;
    assert_int_equal(DrtSetTransportProtectionCredential(NULL, REQ, &good.ctx, 1, root),
                     DRT_E_INVALID_TRANSPORT_PROVIDER);
    assert_int_equal(DrtSetTransportProtectionCredential(t, DRT_PROTECTION_OFF, NULL, 0, NULL),
                     S_OK);
    assert_int_equal(DrtSetTransportProtectionCredential(t, DRT_PROTECTION_OFF, &good.ctx, 0, NULL),
                     E_INVALIDARG);
    assert_int_equal(DrtSetTransportProtectionCredential(t, DRT_PROTECTION_OFF, NULL, 1, root),
                     E_INVALIDARG);
    assert_int_equal(DrtSetTransportProtectionCredential(t, (DRT_PROTECTION_MODE)7, &good.ctx, 1,
                                                         root),
                     E_INVALIDARG);
    assert_int_equal(DrtSetTransportProtectionCredential(t, REQ, NULL, 1, root), E_INVALIDARG);
    assert_int_equal(DrtSetTransportProtectionCredential(t, REQ, &no_cert, 1, root), E_INVALIDARG);
    assert_int_equal(DrtSetTransportProtectionCredential(t, REQ, &no_key, 1, root), E_INVALIDARG);
    assert_int_equal(DrtSetTransportProtectionCredential(t, REQ, &good.ctx, 0, root), E_INVALIDARG);
    assert_int_equal(DrtSetTransportProtectionCredential(t, REQ, &good.ctx, 9, nine), E_INVALIDARG);
    assert_int_equal(DrtSetTransportProtectionCredential(t, REQ, &good.ctx, 1, NULL), E_INVALIDARG);
    assert_int_equal(DrtSetTransportProtectionCredential(t, REQ, &good.ctx, 2, with_null),
                     E_INVALIDARG);
    assert_int_equal(DrtSetTransportProtectionCredential(t, REQ, &good.ctx, 1, bad_root),
                     E_INVALIDARG);
    assert_int_equal(DrtSetTransportProtectionCredential(t, REQ, &stranger.ctx, 1, root),
                     DRT_E_INVALID_CERT_CHAIN);
    assert_int_equal(DrtSetTransportProtectionCredential(t, REQ, &weak.ctx, 1, root),
                     DRT_E_CAPABILITY_MISMATCH);
    assert_int_equal(DrtSetTransportProtectionCredential(t, REQ, &long_chain.ctx, 1, root),
                     DRT_E_INSUFFICIENT_BUFFER);
    /* the same chain once: fits */
    assert_int_equal(DrtSetTransportProtectionCredential(t, DRT_PROTECTION_REQUEST, &good.ctx, 8,
                                                         nine),
                     S_OK);
    assert_int_equal(DrtSetTransportProtectionCredential(t, REQ, &good.ctx, 1, root),
                     DRT_E_TRANSPORTPROVIDER_IN_USE);
    assert_int_equal(DrtSetTransportProtection(t, REQ, (const BYTE *)"k", 1),
                     DRT_E_TRANSPORTPROVIDER_IN_USE);
    assert_int_equal(DrtDeleteIpv6UdpTransport(t), S_OK);
    /* and after a PSK, no credential */
    assert_int_equal(DrtCreateIpv6UdpTransport(DRT_GLOBAL_SCOPE, 0, 300, &port, &t), S_OK);
    assert_int_equal(DrtSetTransportProtection(t, REQ, (const BYTE *)"k", 1), S_OK);
    assert_int_equal(DrtSetTransportProtectionCredential(t, REQ, &good.ctx, 1, root),
                     DRT_E_TRANSPORTPROVIDER_IN_USE);
    assert_int_equal(DrtDeleteIpv6UdpTransport(t), S_OK);
    fx_node_free(&good);
    fx_node_free(&weak);
    fx_node_free(&stranger);
    fx_node_free(&long_chain);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_certified_nodes_search_inside_esp),
        cmocka_unit_test(test_node_of_another_root_is_refused),
        cmocka_unit_test(test_node_whose_certificate_expired_is_refused),
        cmocka_unit_test(test_psk_node_is_refused_by_certified_node),
        cmocka_unit_test(test_set_credential_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
