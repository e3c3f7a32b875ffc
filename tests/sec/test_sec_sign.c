/*
 * test_sec_sign.c - which keys sign records and how (sec/sec_sign.h):
 * ECDSA P-256/SHA-256, Ed25519, RSA-PSS/SHA-256 round trips; other curves,
 * small RSA and non-signing keys refused; a signature checks only with its
 * own key, message and algorithm.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sec/cert_fixture.h"
#include "sec/sec_sign.h"

static const uint8_t msg[] = "a record to sign";

static void test_algorithm_follows_the_key_type(void **state)
{
    struct {
        enum fx_keytype type;
        enum sec_alg alg;
    } cases[] = {{FX_EC_P256, SEC_ALG_ECDSA_P256_SHA256}, {FX_ED25519, SEC_ALG_ED25519},
                 {FX_RSA2048, SEC_ALG_RSA_PSS_SHA256},    {FX_EC_P384, SEC_ALG_NONE},
                 {FX_RSA1024, SEC_ALG_NONE},              {FX_X25519, SEC_ALG_NONE}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        EVP_PKEY *k = fx_key(cases[i].type);
        assert_int_equal(sec_alg_of(k), cases[i].alg);
        uint8_t *sig = NULL;
        size_t n = 0;
        HRESULT hr = sec_sign(k, msg, sizeof(msg), &sig, &n);
        assert_int_equal(hr, cases[i].alg == SEC_ALG_NONE ? DRT_E_CAPABILITY_MISMATCH : S_OK);
        OPENSSL_free(sig);
        EVP_PKEY_free(k);
    }
    assert_int_equal(sec_alg_of(NULL), SEC_ALG_NONE);
}

static void test_sign_verify_round_trip_for_each_algorithm(void **state)
{
    enum fx_keytype types[] = {FX_EC_P256, FX_ED25519, FX_RSA2048};
    for (size_t i = 0; i < 3; i++) {
        EVP_PKEY *k = fx_key(types[i]), *other = fx_key(types[i]);
        enum sec_alg alg = sec_alg_of(k);
        uint8_t *sig = NULL;
        size_t n = 0;
        assert_int_equal(sec_sign(k, msg, sizeof(msg), &sig, &n), S_OK);
        assert_true(sec_verify(k, alg, msg, sizeof(msg), sig, n));
        /* another message, another key, another algorithm, a flipped bit */
        assert_false(sec_verify(k, alg, msg, sizeof(msg) - 1, sig, n));
        assert_false(sec_verify(other, alg, msg, sizeof(msg), sig, n));
        for (enum sec_alg a = SEC_ALG_NONE; a <= SEC_ALG_RSA_PSS_SHA256; a++)
            if (a != alg)
                assert_false(sec_verify(k, a, msg, sizeof(msg), sig, n));
        sig[n / 2] ^= 0x01;
        assert_false(sec_verify(k, alg, msg, sizeof(msg), sig, n));
        assert_false(sec_verify(k, alg, msg, sizeof(msg), sig, 0));
        OPENSSL_free(sig);
        EVP_PKEY_free(k);
        EVP_PKEY_free(other);
    }
}

static void test_ed25519_signatures_are_deterministic(void **state)
{
    uint8_t seed[32] = {1, 2, 3};
    EVP_PKEY *k = fx_ed25519_from_seed(seed);
    uint8_t *s1 = NULL, *s2 = NULL;
    size_t n1 = 0, n2 = 0;
    assert_int_equal(sec_sign(k, msg, sizeof(msg), &s1, &n1), S_OK);
    assert_int_equal(sec_sign(k, msg, sizeof(msg), &s2, &n2), S_OK);
    assert_int_equal(n1, 64);
    assert_int_equal(n2, 64);
    assert_memory_equal(s1, s2, 64);
    OPENSSL_free(s1);
    OPENSSL_free(s2);
    EVP_PKEY_free(k);
}

static void test_public_key_alone_cannot_sign(void **state)
{
    EVP_PKEY *k = fx_key(FX_EC_P256);
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(k, &der);
    assert_true(n > 0);
    const unsigned char *p = der;
    EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, n);
    assert_non_null(pub);
    uint8_t *sig = NULL;
    size_t len = 0;
    assert_int_equal(sec_sign(pub, msg, sizeof(msg), &sig, &len), DRT_E_CAPABILITY_MISMATCH);
    assert_null(sig);
    OPENSSL_free(der);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_algorithm_follows_the_key_type),
        cmocka_unit_test(test_sign_verify_round_trip_for_each_algorithm),
        cmocka_unit_test(test_ed25519_signatures_are_deterministic),
        cmocka_unit_test(test_public_key_alone_cannot_sign),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
