/*
 * test_sec_derive.c - a derived key is SHA-256 over the certificate's DER
 * SubjectPublicKeyInfo, digest bytes in order (sec/sec_derive.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sec/cert_fixture.h"
#include "sec/sec_derive.h"

/* RFC 8032 §7.1 test 1: the key pair, and SHA-256 of its SPKI
 * (302a300506032b6570032100 || public key), computed outside libdrt. */
static const uint8_t rfc8032_seed[32] = {
    0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
    0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};
static const uint8_t rfc8032_key[32] = {
    0x06, 0xe3, 0xfd, 0x8f, 0xda, 0x29, 0xbb, 0x60, 0xab, 0x59, 0x55, 0x7d, 0xe6, 0x1e, 0xdb, 0x0a,
    0xec, 0xdb, 0x23, 0x11, 0x34, 0xbe, 0x30, 0xe7, 0x5b, 0x45, 0x5f, 0x8e, 0x1b, 0x79, 0x2f, 0xa9};

static void test_known_answer_for_the_rfc8032_ed25519_key(void **state)
{
    EVP_PKEY *k = fx_ed25519_from_seed(rfc8032_seed);
    struct fx_spec s = {"kat", 1, false, -1, 30, NULL, NULL};
    X509 *cert = fx_issue(&s, k, NULL, NULL);
    uint8_t key[32];
    assert_int_equal(sec_derive_key(cert, key), S_OK);
    assert_memory_equal(key, rfc8032_key, 32);
    X509_free(cert);
    EVP_PKEY_free(k);
}

static void test_key_is_sha256_of_der_spki_for_every_type(void **state)
{
    const struct fx_pki *pki = fx_pki();
    enum fx_keytype types[] = {FX_EC_P256, FX_ED25519, FX_RSA2048};
    for (size_t i = 0; i < 3; i++) {
        struct fx_node n;
        fx_node_init(&n, types[i], pki->root, pki->root_key, NULL, -1, 30);
        uint8_t got[32], want[32];
        fx_expected_key(n.cert, want);
        assert_int_equal(sec_derive_key(n.cert, got), S_OK);
        assert_memory_equal(got, want, 32);
        fx_node_free(&n);
    }
}

static void test_only_the_public_key_counts(void **state)
{
    const struct fx_pki *pki = fx_pki();
    EVP_PKEY *k = fx_key(FX_EC_P256);
    struct fx_spec a = {"first", 7, false, -1, 30, NULL, NULL};
    struct fx_spec b = {"second name", 8, false, -10, 300, NULL, NULL};
    X509 *c1 = fx_issue(&a, k, pki->root, pki->root_key);
    X509 *c2 = fx_issue(&b, k, pki->inter, pki->inter_key);
    uint8_t k1[32], k2[32], k3[32];
    assert_int_equal(sec_derive_key(c1, k1), S_OK);
    assert_int_equal(sec_derive_key(c2, k2), S_OK);
    assert_memory_equal(k1, k2, 32);
    assert_int_equal(sec_derive_key(pki->root, k3), S_OK);
    assert_memory_not_equal(k1, k3, 32);
    X509_free(c1);
    X509_free(c2);
    EVP_PKEY_free(k);
}

static void test_certificate_without_public_key_is_refused(void **state)
{
    X509 *empty = X509_new();
    assert_non_null(empty);
    uint8_t key[32];
    memset(key, 0xAA, 32);
    assert_int_equal(sec_derive_key(empty, key), DRT_E_CAPABILITY_MISMATCH);
    uint8_t zero[32] = {0};
    assert_memory_equal(key, zero, 32);
    assert_int_equal(sec_derive_key(NULL, key), DRT_E_CAPABILITY_MISMATCH);
    X509_free(empty);
}

/* Decodes der with the Ed25519 SPKI's BIT STRING claiming 7 unused bits
 * and the key's last byte set to last, and derives its key. */
static void derive_spelled(unsigned char *der, int n, uint8_t *unused, uint8_t last,
                           uint8_t key[32])
{
    unused[0] = 7;
    unused[32] = last;
    const unsigned char *p = der;
    X509 *cert = d2i_X509(NULL, &p, n);
    assert_non_null(cert);
    assert_int_equal(sec_derive_key(cert, key), S_OK);
    X509_free(cert);
}

/* An SPKI whose BIT STRING claims 7 unused bits is not DER, but OpenSSL
 * decodes it, dropping those bits: spellings that differ only there are one
 * public key. Hashing the bytes as received gave that key pair several DRT
 * keys (found by fuzz_cert_chain); the key counts, not its spelling. */
static void test_spellings_of_one_key_derive_one_key(void **state)
{
    EVP_PKEY *k = fx_ed25519_from_seed(rfc8032_seed);
    struct fx_spec s = {"spelling", 1, false, -1, 30, NULL, NULL};
    X509 *cert = fx_issue(&s, k, NULL, NULL);
    unsigned char *der = NULL;
    int n = i2d_X509(cert, &der);
    assert_true(n > 0);
    uint8_t spki[44] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
    uint8_t *at = NULL;
    for (int i = 0; i + 44 <= n && !at; i++)
        if (memcmp(der + i, spki, 12) == 0)
            at = der + i;
    assert_non_null(at);
    memcpy(spki, at, 44);
    uint8_t last = spki[43] & 0x80;
    uint8_t a[32], b[32], want[32];
    derive_spelled(der, n, at + 11, last, a);
    derive_spelled(der, n, at + 11, last | 0x7f, b);
    assert_memory_equal(a, b, 32);
    /* Both are the key of the canonical spelling, hashed here. */
    spki[43] = last;
    unsigned int len = 0;
    assert_true(EVP_Digest(spki, sizeof(spki), want, &len, EVP_sha256(), NULL));
    assert_memory_equal(a, want, 32);
    OPENSSL_free(der);
    X509_free(cert);
    EVP_PKEY_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answer_for_the_rfc8032_ed25519_key),
        cmocka_unit_test(test_key_is_sha256_of_der_spki_for_every_type),
        cmocka_unit_test(test_only_the_public_key_counts),
        cmocka_unit_test(test_certificate_without_public_key_is_refused),
        cmocka_unit_test(test_spellings_of_one_key_derive_one_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
