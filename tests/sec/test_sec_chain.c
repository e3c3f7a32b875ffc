/*
 * test_sec_chain.c - chains in records (sec/sec_chain.h): encoding leaf
 * first without the root, strict decoding, and verification to the one
 * configured root with validity dates and CA flags.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sec/cert_fixture.h"
#include "sec/sec_chain.h"

static uint8_t *encode(X509 *leaf, STACK_OF(X509) *rest, X509 *root, size_t *len)
{
    struct sec_writer w;
    sec_writer_init(&w, NULL, 0);
    assert_int_equal(sec_chain_encode(leaf, rest, root, &w), S_OK);
    uint8_t *buf = malloc(w.pos);
    assert_non_null(buf);
    *len = w.pos;
    sec_writer_init(&w, buf, *len);
    assert_int_equal(sec_chain_encode(leaf, rest, root, &w), S_OK);
    assert_int_equal(w.pos, *len);
    return buf;
}

static HRESULT verify_node(X509_STORE *store, const struct fx_node *n)
{
    return sec_chain_verify(store, n->cert, n->chain);
}

static void test_chain_round_trip_leaf_first_without_root(void **state)
{
    const struct fx_pki *pki = fx_pki();
    struct fx_node n;
    fx_node_init(&n, FX_EC_P256, pki->inter, pki->inter_key, pki->inter, -1, 30);
    /* The root in the caller's chain is not sent. */
    assert_int_equal(X509_up_ref(pki->root), 1);
    assert_true(sk_X509_push(n.chain, pki->root) > 0);
    size_t len;
    uint8_t *buf = encode(n.cert, n.chain, pki->root, &len);
    assert_int_equal(buf[0], 2);
    X509 *leaf;
    STACK_OF(X509) *rest;
    assert_int_equal(sec_chain_decode(buf, len, &leaf, &rest), S_OK);
    assert_int_equal(X509_cmp(leaf, n.cert), 0);
    assert_int_equal(sk_X509_num(rest), 1);
    assert_int_equal(X509_cmp(sk_X509_value(rest, 0), pki->inter), 0);
    X509_STORE *store = sec_store_new(pki->root);
    assert_non_null(store);
    assert_int_equal(sec_chain_verify(store, leaf, rest), S_OK);
    X509_STORE_free(store);
    X509_free(leaf);
    sk_X509_pop_free(rest, X509_free);
    free(buf);
    fx_node_free(&n);
}

static void test_decoding_is_strict(void **state)
{
    const struct fx_pki *pki = fx_pki();
    size_t len;
    uint8_t *good = encode(pki->inter, NULL, NULL, &len);
    X509 *leaf;
    STACK_OF(X509) *rest;
    /* every truncation */
    for (size_t cut = 0; cut < len; cut++) {
        assert_int_equal(sec_chain_decode(good, cut, &leaf, &rest), DRT_E_INVALID_MESSAGE);
        assert_null(leaf);
        assert_null(rest);
    }
    uint8_t *buf = malloc(len + 1);
    assert_non_null(buf);
    /* a trailing byte */
    memcpy(buf, good, len);
    buf[len] = 0;
    assert_int_equal(sec_chain_decode(buf, len + 1, &leaf, &rest), DRT_E_INVALID_MESSAGE);
    /* a certificate length one short of its DER, or past it */
    memcpy(buf, good, len);
    buf[2]--;
    assert_int_equal(sec_chain_decode(buf, len, &leaf, &rest), DRT_E_INVALID_MESSAGE);
    /* count 0 and count over the cap */
    memcpy(buf, good, len);
    buf[0] = 0;
    assert_int_equal(sec_chain_decode(buf, len, &leaf, &rest), DRT_E_INVALID_MESSAGE);
    buf[0] = SEC_CHAIN_MAX_CERTS + 1;
    assert_int_equal(sec_chain_decode(buf, len, &leaf, &rest), DRT_E_INVALID_MESSAGE);
    /* DER that is not a certificate */
    memcpy(buf, good, len);
    memset(buf + 3, 0x30, len - 3);
    assert_int_equal(sec_chain_decode(buf, len, &leaf, &rest), DRT_E_INVALID_MESSAGE);
    assert_int_equal(sec_chain_decode(good, len, &leaf, &rest), S_OK);
    X509_free(leaf);
    sk_X509_pop_free(rest, X509_free);
    free(buf);
    free(good);
}

static void test_verification_to_the_configured_root(void **state)
{
    const struct fx_pki *pki = fx_pki();
    X509_STORE *store = sec_store_new(pki->root);
    assert_non_null(store);
    struct fx_node direct, via, no_inter, other, expired, early;
    fx_node_init(&direct, FX_ED25519, pki->root, pki->root_key, NULL, -1, 30);
    fx_node_init(&via, FX_RSA2048, pki->inter, pki->inter_key, pki->inter, -1, 30);
    fx_node_init(&no_inter, FX_EC_P256, pki->inter, pki->inter_key, NULL, -1, 30);
    fx_node_init(&other, FX_EC_P256, pki->other_root, pki->other_key, NULL, -1, 30);
    fx_node_init(&expired, FX_EC_P256, pki->root, pki->root_key, NULL, -30, -1);
    fx_node_init(&early, FX_EC_P256, pki->root, pki->root_key, NULL, 1, 30);
    assert_int_equal(verify_node(store, &direct), S_OK);
    assert_int_equal(verify_node(store, &via), S_OK);
    assert_int_equal(verify_node(store, &no_inter), DRT_E_INVALID_CERT_CHAIN);
    assert_int_equal(verify_node(store, &other), DRT_E_INVALID_CERT_CHAIN);
    assert_int_equal(verify_node(store, &expired), DRT_E_INVALID_CERT_CHAIN);
    assert_int_equal(verify_node(store, &early), DRT_E_INVALID_CERT_CHAIN);
    /* A node certificate cannot issue another: CA:FALSE. */
    struct fx_node grandchild;
    fx_node_init(&grandchild, FX_EC_P256, direct.cert, direct.key, direct.cert, -1, 30);
    assert_int_equal(verify_node(store, &grandchild), DRT_E_INVALID_CERT_CHAIN);
    /* The other root's own store accepts its node and not ours. */
    X509_STORE *store2 = sec_store_new(pki->other_root);
    assert_non_null(store2);
    assert_int_equal(verify_node(store2, &other), S_OK);
    assert_int_equal(verify_node(store2, &direct), DRT_E_INVALID_CERT_CHAIN);
    assert_int_equal(sec_chain_verify(NULL, direct.cert, NULL), DRT_E_INVALID_CERT_CHAIN);
    fx_node_free(&grandchild);
    fx_node_free(&direct);
    fx_node_free(&via);
    fx_node_free(&no_inter);
    fx_node_free(&other);
    fx_node_free(&expired);
    fx_node_free(&early);
    X509_STORE_free(store);
    X509_STORE_free(store2);
}

static void test_expired_intermediate_breaks_the_chain(void **state)
{
    const struct fx_pki *pki = fx_pki();
    EVP_PKEY *k = fx_key(FX_EC_P256);
    struct fx_spec s = {"old intermediate", 55, true, -60, -2, NULL, NULL};
    X509 *old = fx_issue(&s, k, pki->root, pki->root_key);
    struct fx_node n;
    fx_node_init(&n, FX_EC_P256, old, k, old, -1, 30);
    X509_STORE *store = sec_store_new(pki->root);
    assert_int_equal(verify_node(store, &n), DRT_E_INVALID_CERT_CHAIN);
    X509_STORE_free(store);
    fx_node_free(&n);
    X509_free(old);
    EVP_PKEY_free(k);
}

static void test_too_many_certificates_are_not_encoded(void **state)
{
    const struct fx_pki *pki = fx_pki();
    STACK_OF(X509) *many = sk_X509_new_null();
    assert_non_null(many);
    X509 *cas[SEC_CHAIN_MAX_CERTS];
    for (size_t i = 0; i < SEC_CHAIN_MAX_CERTS; i++) {
        cas[i] = fx_ca("ca", pki->inter_key, pki->root, pki->root_key);
        assert_true(sk_X509_push(many, cas[i]) > 0);
    }
    struct sec_writer w;
    sec_writer_init(&w, NULL, 0);
    assert_int_equal(sec_chain_encode(pki->inter, many, pki->root, &w), E_INVALIDARG);
    sk_X509_pop_free(many, X509_free);
    assert_null(sec_store_new(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_round_trip_leaf_first_without_root),
        cmocka_unit_test(test_decoding_is_strict),
        cmocka_unit_test(test_verification_to_the_configured_root),
        cmocka_unit_test(test_expired_intermediate_breaks_the_chain),
        cmocka_unit_test(test_too_many_certificates_are_not_encoded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
