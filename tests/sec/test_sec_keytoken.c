/*
 * test_sec_keytoken.c - content keys, keytokens and sealed buffers of
 * DRT_SECURE_CONFIDENTIALPAYLOAD (sec_keytoken.h): round trips for EC
 * P-256 and RSA recipients, refusals (Ed25519, another recipient, every
 * altered bit, every truncation, a wrong index, no OpenSSL error left
 * behind by one), and the byte vectors of docs/PROTOCOL.md ("Keytoken"),
 * computed from fixed keys.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "sec/cert_fixture.h"
#include "sec/doc_vector.h"
#include "sec/sec_keytoken.h"

#define PROTOCOL_MD DRT_SOURCE_DIR "/docs/PROTOCOL.md"

/* The vectors' content key: key 00..1f, IV a0..ab. */
static struct sec_content_key vector_ck(void)
{
    struct sec_content_key ck;
    for (int i = 0; i < 32; i++)
        ck.key[i] = (uint8_t)i;
    for (int i = 0; i < 12; i++)
        ck.iv[i] = (uint8_t)(0xa0 + i);
    return ck;
}

static EVP_PKEY *ec_from_der(const char *hex)
{
    uint8_t der[256];
    size_t n = strlen(hex) / 2;
    assert_true(n <= sizeof(der));
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        der[i] = (uint8_t)v;
    }
    const unsigned char *p = der;
    EVP_PKEY *k = d2i_PrivateKey(EVP_PKEY_EC, NULL, &p, (long)n);
    assert_non_null(k);
    return k;
}

/* The recipient and ephemeral keys of the vector (SEC1 DER; their private
 * scalars are in docs/PROTOCOL.md). */
static EVP_PKEY *vector_recipient(void)
{
    return ec_from_der(
        "30770201010420793ab7373f1e6a944de26affa7047e28564e21ecb2f3c4480b363506fe845ffda00a0608"
        "2a8648ce3d030107a14403420004cd9101828873e46d940f928ff125424d0dd77f502f9bde20059111b7f4"
        "f4ff1b8b601b7b6021dd1b08cc0960045edeadb3554e09346498814871dc856b7ff338");
}

static EVP_PKEY *vector_ephemeral(void)
{
    return ec_from_der(
        "3077020101042005111c19258494a62cd58fc162c6f95bf45154708bf6d0206c8307cd35f20034a00a0608"
        "2a8648ce3d030107a14403420004bed55147cb9b62accc7de9a634e5674c835b52767f59234241e59f27ba"
        "01ba29fb156c1ad144191e267b2322acba6c320c25cb128ad23779c00fd53eb854e510");
}

static void test_round_trip_for_ec_and_rsa_recipients(void **state)
{
    enum fx_keytype types[] = {FX_EC_P256, FX_RSA2048};
    for (size_t t = 0; t < 2; t++) {
        EVP_PKEY *key = fx_key(types[t]);
        struct sec_content_key ck = vector_ck(), got;
        uint8_t *tok = NULL;
        size_t len = 0;
        assert_int_equal(sec_keytoken_wrap(key, &ck, NULL, &tok, &len), S_OK);
        assert_int_equal(tok[0], SEC_KEYTOKEN_VERSION);
        assert_int_equal(tok[1], t == 0 ? SEC_WRAP_ECDH_P256 : SEC_WRAP_RSA_OAEP);
        assert_int_equal(sec_keytoken_unwrap(key, tok, len, &got), S_OK);
        assert_memory_equal(&got, &ck, sizeof(ck));
        /* A fresh ephemeral key (or OAEP's randomness) every time. */
        uint8_t *tok2 = NULL;
        size_t len2 = 0;
        assert_int_equal(sec_keytoken_wrap(key, &ck, NULL, &tok2, &len2), S_OK);
        assert_int_equal(len2, len);
        assert_memory_not_equal(tok2, tok, len);
        free(tok2);
        free(tok);
        EVP_PKEY_free(key);
    }
}

static void test_ed25519_cannot_receive(void **state)
{
    EVP_PKEY *key = fx_key(FX_ED25519);
    struct sec_content_key ck = vector_ck();
    uint8_t *tok = NULL;
    size_t len = 0;
    assert_int_equal(sec_keytoken_wrap(key, &ck, NULL, &tok, &len), DRT_E_CAPABILITY_MISMATCH);
    assert_null(tok);
    EVP_PKEY_free(key);
}

/* Only the recipient opens it; any other key, of its type or another, is
 * refused (the key id says whose it is). */
static void test_only_the_recipient_opens_it(void **state)
{
    EVP_PKEY *to = fx_key(FX_EC_P256), *other = fx_key(FX_EC_P256), *rsa = fx_key(FX_RSA2048);
    struct sec_content_key ck = vector_ck(), got;
    uint8_t *tok = NULL;
    size_t len = 0;
    assert_int_equal(sec_keytoken_wrap(to, &ck, NULL, &tok, &len), S_OK);
    assert_int_equal(sec_keytoken_unwrap(other, tok, len, &got), DRT_E_INVALID_MESSAGE);
    assert_int_equal(sec_keytoken_unwrap(rsa, tok, len, &got), DRT_E_INVALID_MESSAGE);
    /* Even with the key id rewritten to the other key's, the wrap fails. */
    uint8_t *forged = NULL;
    size_t flen = 0;
    assert_int_equal(sec_keytoken_wrap(other, &ck, NULL, &forged, &flen), S_OK);
    memcpy(tok + 2, forged + 2, 32);
    assert_int_equal(sec_keytoken_unwrap(other, tok, len, &got), DRT_E_INVALID_MESSAGE);
    free(forged);
    free(tok);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(other);
    EVP_PKEY_free(to);
}

static void test_every_altered_bit_and_truncation_is_refused(void **state)
{
    EVP_PKEY *to = vector_recipient(), *eph = vector_ephemeral();
    struct sec_content_key ck = vector_ck(), got;
    uint8_t *tok = NULL;
    size_t len = 0;
    assert_int_equal(sec_keytoken_wrap(to, &ck, eph, &tok, &len), S_OK);
    for (size_t i = 0; i < len * 8; i++) {
        tok[i / 8] ^= (uint8_t)(1u << (i % 8));
        assert_int_equal(sec_keytoken_unwrap(to, tok, len, &got), DRT_E_INVALID_MESSAGE);
        tok[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    for (size_t n = 0; n < len; n++)
        assert_int_equal(sec_keytoken_unwrap(to, tok, n, &got), DRT_E_INVALID_MESSAGE);
    uint8_t longer[512];
    memcpy(longer, tok, len);
    longer[len] = 0;
    assert_int_equal(sec_keytoken_unwrap(to, longer, len + 1, &got), DRT_E_INVALID_MESSAGE);
    assert_int_equal(sec_keytoken_unwrap(to, tok, len, &got), S_OK);
    free(tok);
    EVP_PKEY_free(eph);
    EVP_PKEY_free(to);
}

/* A keytoken that does not open leaves OpenSSL's error queue as it found
 * it: its decryption's errors must not reach the next, unrelated caller on
 * the thread (found by fuzzing: RSA-OAEP and AES-GCM refusals left theirs). */
static void test_a_refused_keytoken_leaves_no_openssl_error(void **state)
{
    (void)state;
    enum fx_keytype types[] = {FX_EC_P256, FX_RSA2048};
    for (size_t t = 0; t < 2; t++) {
        EVP_PKEY *to = fx_key(types[t]);
        struct sec_content_key ck = vector_ck(), got;
        uint8_t *tok = NULL;
        size_t len = 0;
        assert_int_equal(sec_keytoken_wrap(to, &ck, NULL, &tok, &len), S_OK);
        for (size_t i = SEC_KEYTOKEN_HEADER_LEN; i < len; i++) {
            tok[i] ^= 0x01;
            ERR_clear_error();
            assert_int_equal(sec_keytoken_unwrap(to, tok, len, &got), DRT_E_INVALID_MESSAGE);
            assert_int_equal(ERR_peek_error(), 0);
            tok[i] ^= 0x01;
        }
        free(tok);
        EVP_PKEY_free(to);
    }
}

static void test_inner_form_is_parsed_strictly(void **state)
{
    struct sec_content_key ck = vector_ck(), got;
    uint8_t inner[SEC_KEYTOKEN_INNER_LEN];
    sec_keytoken_inner(&ck, inner);
    assert_int_equal(sec_keytoken_inner_parse(inner, sizeof(inner), &got), S_OK);
    assert_memory_equal(&got, &ck, sizeof(ck));
    /* IV length, padding and the KEY_DATA_BLOB header are fixed. */
    for (size_t i = 0; i < 32; i++) {
        if (i >= 8 && i < 20)
            continue; /* the IV itself */
        inner[i] ^= 0x01;
        assert_int_equal(sec_keytoken_inner_parse(inner, sizeof(inner), &got),
                         DRT_E_INVALID_MESSAGE);
        inner[i] ^= 0x01;
    }
    assert_int_equal(sec_keytoken_inner_parse(inner, sizeof(inner) - 1, &got),
                     DRT_E_INVALID_MESSAGE);
}

static void test_sealed_buffers_open_only_as_sealed(void **state)
{
    struct sec_content_key ck = vector_ck();
    const uint8_t msg[] = "application data";
    uint8_t sealed[sizeof(msg) + SEC_GCM_TAG_LEN], opened[sizeof(msg)];
    assert_int_equal(sec_payload_seal(&ck, 0, msg, sizeof(msg), sealed), S_OK);
    assert_int_equal(sec_payload_open(&ck, 0, sealed, sizeof(sealed), opened), S_OK);
    assert_memory_equal(opened, msg, sizeof(msg));
    /* Another index (another buffer of the message) has another nonce. */
    assert_int_equal(sec_payload_open(&ck, 1, sealed, sizeof(sealed), opened),
                     DRT_E_INVALID_MESSAGE);
    for (size_t i = 0; i < sizeof(sealed) * 8; i++) {
        sealed[i / 8] ^= (uint8_t)(1u << (i % 8));
        assert_int_equal(sec_payload_open(&ck, 0, sealed, sizeof(sealed), opened),
                         DRT_E_INVALID_MESSAGE);
        sealed[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    assert_int_equal(sec_payload_open(&ck, 0, sealed, SEC_GCM_TAG_LEN - 1, opened),
                     DRT_E_INVALID_MESSAGE);
}

/* --- the vectors of docs/PROTOCOL.md ---------------------------------------- */

static void test_protocol_md_keytoken_vectors_match(void **state)
{
    struct sec_content_key ck = vector_ck(), got;
    uint8_t inner[SEC_KEYTOKEN_INNER_LEN];
    sec_keytoken_inner(&ck, inner);
    doc_vector_check(PROTOCOL_MD, "keytoken_inner", inner, sizeof(inner));

    EVP_PKEY *to = vector_recipient(), *eph = vector_ephemeral();
    uint8_t *tok = NULL;
    size_t len = 0;
    assert_int_equal(sec_keytoken_wrap(to, &ck, eph, &tok, &len), S_OK);
    assert_int_equal(sec_keytoken_unwrap(to, tok, len, &got), S_OK);
    assert_memory_equal(&got, &ck, sizeof(ck));
    doc_vector_check(PROTOCOL_MD, "keytoken_ecdh", tok, len);

    static const uint8_t hello[] = "hello";
    uint8_t sealed[5 + SEC_GCM_TAG_LEN];
    assert_int_equal(sec_payload_seal(&ck, 0, hello, 5, sealed), S_OK);
    doc_vector_check(PROTOCOL_MD, "sealed_payload", sealed, sizeof(sealed));
    free(tok);
    EVP_PKEY_free(eph);
    EVP_PKEY_free(to);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_for_ec_and_rsa_recipients),
        cmocka_unit_test(test_ed25519_cannot_receive),
        cmocka_unit_test(test_only_the_recipient_opens_it),
        cmocka_unit_test(test_every_altered_bit_and_truncation_is_refused),
        cmocka_unit_test(test_a_refused_keytoken_leaves_no_openssl_error),
        cmocka_unit_test(test_inner_form_is_parsed_strictly),
        cmocka_unit_test(test_sealed_buffers_open_only_as_sealed),
        cmocka_unit_test(test_protocol_md_keytoken_vectors_match),
    };
    return cmocka_run_group_tests_name("sec_keytoken", tests, NULL, NULL);
}
