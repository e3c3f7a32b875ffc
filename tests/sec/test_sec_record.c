/*
 * test_sec_record.c - the signed record (sec/sec_record.h,
 * docs/SECURITY.md): round trips with each key type; strict parsing
 * (truncation, trailing bytes, unknown version, algorithm, flags, counts);
 * forged, replayed, altered, wrongly-keyed records and chains from another
 * root refused; and the Ed25519 test vector of docs/SECURITY.md.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sec/cert_fixture.h"
#include "sec/doc_vector.h"
#include "sec/sec_record.h"

static const uint8_t nonce[16] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                  0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
static const uint8_t payload[] = {'h', 'e', 'l', 'l', 'o'};

/* The statement a node at [::1]:3540 makes for its derived key. */
static void statement(struct sec_record *rec, X509 *cert)
{
    memset(rec, 0, sizeof(*rec));
    rec->protocol_major = 6;
    rec->protocol_minor = 0x65;
    assert_int_equal(sec_derive_key(cert, rec->key), S_OK);
    memcpy(rec->nonce, nonce, 16);
    assert_int_equal(sec_payload_hash(payload, sizeof(payload), rec->payload_hash), S_OK);
    rec->naddrs = 1;
    rec->addrs[0].family = SEC_ADDR_FAMILY_IPV6;
    rec->addrs[0].port = 3540;
    rec->addrs[0].addr[15] = 1;
}

static uint8_t *sign_node(const struct fx_node *n, const struct sec_record *rec, size_t *len)
{
    uint8_t *out = NULL;
    assert_int_equal(sec_record_sign(rec, n->cert, n->chain, fx_pki()->root, n->key, &out, len),
                     S_OK);
    assert_non_null(out);
    return out;
}

static HRESULT verify(X509_STORE *store, const uint8_t *p, size_t len, const uint8_t *want_nonce)
{
    struct sec_record rec;
    return sec_record_verify(store, p, len, want_nonce, payload, sizeof(payload), &rec, NULL);
}

static X509_STORE *store_of(X509 *root)
{
    X509_STORE *s = sec_store_new(root);
    assert_non_null(s);
    return s;
}

static void test_round_trip_with_each_key_type(void **state)
{
    const struct fx_pki *pki = fx_pki();
    X509_STORE *store = store_of(pki->root);
    enum fx_keytype types[] = {FX_EC_P256, FX_ED25519, FX_RSA2048};
    for (size_t i = 0; i < 3; i++) {
        struct fx_node n;
        /* one directly under the root, the others through the intermediate */
        if (i == 0)
            fx_node_init(&n, types[i], pki->root, pki->root_key, NULL, -1, 30);
        else
            fx_node_init(&n, types[i], pki->inter, pki->inter_key, pki->inter, -1, 30);
        struct sec_record rec, got;
        statement(&rec, n.cert);
        rec.flags = DRT_PAYLOAD_REVOKED;
        size_t len;
        uint8_t *p = sign_node(&n, &rec, &len);
        X509 *leaf = NULL;
        assert_int_equal(sec_record_verify(store, p, len, nonce, payload, sizeof(payload), &got,
                                           &leaf),
                         S_OK);
        assert_memory_equal(&got, &rec, sizeof(rec));
        assert_int_equal(X509_cmp(leaf, n.cert), 0);
        X509_free(leaf);
        struct sec_parsed_record pr;
        assert_int_equal(sec_record_parse(p, len, &pr), S_OK);
        assert_int_equal(pr.alg, sec_alg_of(n.key));
        assert_int_equal(pr.signed_len + 2 + pr.sig_len, len);
        free(p);
        fx_node_free(&n);
    }
    X509_STORE_free(store);
}

static void test_no_payload_and_no_addresses(void **state)
{
    const struct fx_pki *pki = fx_pki();
    X509_STORE *store = store_of(pki->root);
    struct fx_node n;
    fx_node_init(&n, FX_EC_P256, pki->root, pki->root_key, NULL, -1, 30);
    struct sec_record rec, got;
    statement(&rec, n.cert);
    rec.naddrs = 0;
    assert_int_equal(sec_payload_hash(NULL, 0, rec.payload_hash), S_OK);
    size_t len;
    uint8_t *p = sign_node(&n, &rec, &len);
    static const uint8_t empty[1];
    assert_int_equal(sec_record_verify(store, p, len, nonce, empty, 0, &got, NULL), S_OK);
    assert_int_equal(got.naddrs, 0);
    /* the payload the hash names is none: any payload is refused */
    assert_int_equal(verify(store, p, len, nonce), DRT_E_INVALID_MESSAGE);
    free(p);
    fx_node_free(&n);
    X509_STORE_free(store);
}

static void test_truncated_or_extended_record_is_refused(void **state)
{
    const struct fx_pki *pki = fx_pki();
    X509_STORE *store = store_of(pki->root);
    struct fx_node n;
    fx_node_init(&n, FX_ED25519, pki->root, pki->root_key, NULL, -1, 30);
    struct sec_record rec;
    statement(&rec, n.cert);
    size_t len;
    uint8_t *p = sign_node(&n, &rec, &len);
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(verify(store, p, cut, nonce), DRT_E_INVALID_MESSAGE);
    uint8_t *longer = malloc(len + 1);
    assert_non_null(longer);
    memcpy(longer, p, len);
    longer[len] = 0;
    assert_int_equal(verify(store, longer, len + 1, nonce), DRT_E_INVALID_MESSAGE);
    assert_int_equal(verify(store, NULL, 0, nonce), DRT_E_INVALID_MESSAGE);
    assert_int_equal(verify(store, p, len, nonce), S_OK);
    free(longer);
    free(p);
    fx_node_free(&n);
    X509_STORE_free(store);
}

static void test_every_altered_byte_is_refused(void **state)
{
    const struct fx_pki *pki = fx_pki();
    X509_STORE *store = store_of(pki->root);
    struct fx_node n;
    fx_node_init(&n, FX_EC_P256, pki->root, pki->root_key, NULL, -1, 30);
    struct sec_record rec;
    statement(&rec, n.cert);
    size_t len;
    uint8_t *p = sign_node(&n, &rec, &len);
    for (size_t i = 0; i < len; i++) {
        p[i] ^= 0x01;
        assert_true(FAILED(verify(store, p, len, nonce)));
        p[i] ^= 0x01;
    }
    assert_int_equal(verify(store, p, len, nonce), S_OK);
    free(p);
    fx_node_free(&n);
    X509_STORE_free(store);
}

static void test_parser_refuses_unknown_values(void **state)
{
    const struct fx_pki *pki = fx_pki();
    struct fx_node n;
    fx_node_init(&n, FX_ED25519, pki->root, pki->root_key, NULL, -1, 30);
    struct sec_record rec;
    statement(&rec, n.cert);
    size_t len;
    uint8_t *p = sign_node(&n, &rec, &len);
    struct sec_parsed_record pr;
    assert_int_equal(sec_record_parse(p, len, &pr), S_OK);
    struct {
        size_t at;
        uint8_t value;
    } bad[] = {
        {0, 0},    {0, 2},                       /* format version */
        {3, 0},    {3, 4},                       /* signature algorithm */
        {4, 0x80}, {7, 0x02},                    /* flags other than REVOKED */
        {88, 21},                                /* address count over 20 */
        {89, 5},   {89, 0},                      /* address family */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t keep = p[bad[i].at];
        p[bad[i].at] = bad[i].value;
        assert_int_equal(sec_record_parse(p, len, &pr), DRT_E_INVALID_MESSAGE);
        p[bad[i].at] = keep;
    }
    /* chain length and signature length of zero */
    size_t chain_at = SEC_RECORD_FIXED_LEN + 19;
    assert_int_equal(sec_record_parse(p, len, &pr), S_OK);
    uint8_t c0 = p[chain_at], c1 = p[chain_at + 1];
    p[chain_at] = p[chain_at + 1] = 0;
    assert_int_equal(sec_record_parse(p, len, &pr), DRT_E_INVALID_MESSAGE);
    p[chain_at] = c0;
    p[chain_at + 1] = c1;
    assert_int_equal(sec_record_parse(p, len, &pr), S_OK);
    size_t sig_at = pr.signed_len;
    p[sig_at] = p[sig_at + 1] = 0;
    assert_int_equal(sec_record_parse(p, len, &pr), DRT_E_INVALID_MESSAGE);
    free(p);
    fx_node_free(&n);
}

static void test_signer_refuses_what_it_cannot_encode(void **state)
{
    const struct fx_pki *pki = fx_pki();
    struct fx_node n;
    fx_node_init(&n, FX_EC_P256, pki->root, pki->root_key, NULL, -1, 30);
    struct sec_record rec;
    uint8_t *out = NULL;
    size_t len = 0;
    statement(&rec, n.cert);
    rec.flags = 2;
    assert_int_equal(sec_record_sign(&rec, n.cert, NULL, NULL, n.key, &out, &len), E_INVALIDARG);
    statement(&rec, n.cert);
    rec.naddrs = SEC_RECORD_MAX_ADDRS + 1;
    assert_int_equal(sec_record_sign(&rec, n.cert, NULL, NULL, n.key, &out, &len), E_INVALIDARG);
    statement(&rec, n.cert);
    rec.addrs[0].family = 5;
    assert_int_equal(sec_record_sign(&rec, n.cert, NULL, NULL, n.key, &out, &len), E_INVALIDARG);
    statement(&rec, n.cert);
    EVP_PKEY *p384 = fx_key(FX_EC_P384);
    assert_int_equal(sec_record_sign(&rec, n.cert, NULL, NULL, p384, &out, &len),
                     DRT_E_CAPABILITY_MISMATCH);
    assert_null(out);
    assert_int_equal(len, 0);
    EVP_PKEY_free(p384);
    fx_node_free(&n);
}

static void test_replayed_record_is_refused(void **state)
{
    const struct fx_pki *pki = fx_pki();
    X509_STORE *store = store_of(pki->root);
    struct fx_node n;
    fx_node_init(&n, FX_EC_P256, pki->root, pki->root_key, NULL, -1, 30);
    struct sec_record rec;
    statement(&rec, n.cert);
    size_t len;
    uint8_t *p = sign_node(&n, &rec, &len);
    uint8_t fresh[16];
    memcpy(fresh, nonce, 16);
    fresh[15] ^= 0x80;
    assert_int_equal(verify(store, p, len, fresh), DRT_E_INVALID_MESSAGE);
    assert_int_equal(verify(store, p, len, NULL), DRT_E_INVALID_MESSAGE);
    free(p);
    fx_node_free(&n);
    X509_STORE_free(store);
}

static void test_altered_payload_is_refused(void **state)
{
    const struct fx_pki *pki = fx_pki();
    X509_STORE *store = store_of(pki->root);
    struct fx_node n;
    fx_node_init(&n, FX_ED25519, pki->root, pki->root_key, NULL, -1, 30);
    struct sec_record rec, got;
    statement(&rec, n.cert);
    size_t len;
    uint8_t *p = sign_node(&n, &rec, &len);
    uint8_t other[] = {'h', 'e', 'l', 'l', 'O'};
    assert_int_equal(sec_record_verify(store, p, len, nonce, other, sizeof(other), &got, NULL),
                     DRT_E_INVALID_MESSAGE);
    static const uint8_t empty[1];
    assert_int_equal(sec_record_verify(store, p, len, nonce, empty, 0, &got, NULL),
                     DRT_E_INVALID_MESSAGE);
    /* A payload not received is not checked (nor handed out). */
    assert_int_equal(sec_record_verify(store, p, len, nonce, NULL, 0, &got, NULL), S_OK);
    free(p);
    fx_node_free(&n);
    X509_STORE_free(store);
}

/* An attacker with a valid certificate of its own. */
static void test_forged_and_wrongly_keyed_records_are_refused(void **state)
{
    const struct fx_pki *pki = fx_pki();
    X509_STORE *store = store_of(pki->root);
    struct fx_node victim, attacker;
    fx_node_init(&victim, FX_EC_P256, pki->root, pki->root_key, NULL, -1, 30);
    fx_node_init(&attacker, FX_EC_P256, pki->root, pki->root_key, NULL, -1, 30);
    struct sec_record rec;
    statement(&rec, victim.cert);
    uint8_t *p = NULL;
    size_t len = 0;
    /* the victim's certificate, the attacker's signature */
    assert_int_equal(
        sec_record_sign(&rec, victim.cert, NULL, pki->root, attacker.key, &p, &len), S_OK);
    assert_int_equal(verify(store, p, len, nonce), DRT_E_INVALID_MESSAGE);
    free(p);
    /* the victim's key, the attacker's own certificate and signature */
    assert_int_equal(
        sec_record_sign(&rec, attacker.cert, NULL, pki->root, attacker.key, &p, &len), S_OK);
    assert_int_equal(verify(store, p, len, nonce), DRT_E_INVALID_MESSAGE);
    free(p);
    fx_node_free(&victim);
    fx_node_free(&attacker);
    X509_STORE_free(store);
}

static void test_chain_not_reaching_the_root_is_refused(void **state)
{
    const struct fx_pki *pki = fx_pki();
    X509_STORE *store = store_of(pki->root);
    struct fx_node other, expired, early, orphan;
    fx_node_init(&other, FX_EC_P256, pki->other_root, pki->other_key, NULL, -1, 30);
    fx_node_init(&expired, FX_ED25519, pki->root, pki->root_key, NULL, -30, -1);
    fx_node_init(&early, FX_RSA2048, pki->root, pki->root_key, NULL, 2, 30);
    fx_node_init(&orphan, FX_EC_P256, pki->inter, pki->inter_key, NULL, -1, 30);
    const struct fx_node *nodes[] = {&other, &expired, &early, &orphan};
    for (size_t i = 0; i < 4; i++) {
        struct sec_record rec;
        statement(&rec, nodes[i]->cert);
        size_t len;
        uint8_t *p = sign_node(nodes[i], &rec, &len);
        assert_int_equal(verify(store, p, len, nonce), DRT_E_INVALID_CERT_CHAIN);
        free(p);
    }
    X509_STORE *other_store = store_of(pki->other_root);
    struct sec_record rec;
    statement(&rec, other.cert);
    size_t len;
    uint8_t *p = sign_node(&other, &rec, &len);
    assert_int_equal(verify(other_store, p, len, nonce), S_OK);
    free(p);
    X509_STORE_free(other_store);
    fx_node_free(&other);
    fx_node_free(&expired);
    fx_node_free(&early);
    fx_node_free(&orphan);
    X509_STORE_free(store);
}

/* --- the test vector of docs/SECURITY.md ----------------------------------- */

/* Everything fixed (fx_vector_pki): the certificates and the record are
 * the same bytes every time. */
static uint8_t *vector_record(size_t *len)
{
    struct fx_vector_pki v;
    fx_vector_pki_init(&v);
    struct sec_record rec;
    statement(&rec, v.node);
    uint8_t *p = NULL;
    assert_int_equal(sec_record_sign(&rec, v.node, NULL, v.root, v.node_key, &p, len), S_OK);
    /* and it verifies against that root */
    X509_STORE *store = store_of(v.root);
    assert_int_equal(verify(store, p, *len, nonce), S_OK);
    X509_STORE_free(store);
    fx_vector_pki_free(&v);
    return p;
}

static void test_security_md_vector_matches(void **state)
{
    size_t len;
    uint8_t *p = vector_record(&len);
    uint8_t *again;
    size_t again_len;
    again = vector_record(&again_len);
    assert_int_equal(again_len, len);
    assert_memory_equal(again, p, len);
    free(again);
    doc_vector_check(DRT_SOURCE_DIR "/docs/SECURITY.md", "record_ed25519", p, len);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_with_each_key_type),
        cmocka_unit_test(test_no_payload_and_no_addresses),
        cmocka_unit_test(test_truncated_or_extended_record_is_refused),
        cmocka_unit_test(test_every_altered_byte_is_refused),
        cmocka_unit_test(test_parser_refuses_unknown_values),
        cmocka_unit_test(test_signer_refuses_what_it_cannot_encode),
        cmocka_unit_test(test_replayed_record_is_refused),
        cmocka_unit_test(test_altered_payload_is_refused),
        cmocka_unit_test(test_forged_and_wrongly_keyed_records_are_refused),
        cmocka_unit_test(test_chain_not_reaching_the_root_is_refused),
        cmocka_unit_test(test_security_md_vector_matches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
