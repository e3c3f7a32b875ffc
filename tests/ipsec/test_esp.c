/*
 * test_esp.c - the ESP data path: AES-256-GCM known answers (the GCM
 * specification's test cases 13 and 14, through OpenSSL as esp.c uses it),
 * sealing and opening at several sizes, every rejection (SPI, replay,
 * forgery, bad padding, short packets), ESN across the 32-bit wrap, and
 * sequence exhaustion.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>

#include "ipsec/esp.h"

static void unhex(const char *h, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

/* GCM spec test cases 13 and 14: K = 0^256, IV = 0^96, P = empty / 0^128. */
static void test_aes256_gcm_known_answers(void **state)
{
    (void)state;
    uint8_t key[32] = {0}, iv[12] = {0}, zero[16] = {0}, out[16], tag[16], want[16];
    int n;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    assert_non_null(c);
    assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv), 1);
    assert_int_equal(EVP_EncryptFinal_ex(c, out, &n), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag), 1);
    unhex("530f8afbc74536b9a963b4f1c4cb738b", want, 16);
    assert_memory_equal(tag, want, 16);
    assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv), 1);
    assert_int_equal(EVP_EncryptUpdate(c, out, &n, zero, 16), 1);
    assert_int_equal(EVP_EncryptFinal_ex(c, out + n, &n), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag), 1);
    unhex("cea7403d4d606b6e074ec5d3baf39d18", want, 16);
    assert_memory_equal(out, want, 16);
    unhex("d0d1c8a799996bf0265b98b5d48ab919", want, 16);
    assert_memory_equal(tag, want, 16);
    EVP_CIPHER_CTX_free(c);
}

static uint8_t keymat[ESP_KEYMAT_SIZE];

static void pair(struct esp_sa *out, struct esp_sa *in, bool esn)
{
    for (size_t i = 0; i < sizeof(keymat); i++)
        keymat[i] = (uint8_t)(i * 7 + 1);
    assert_int_equal(esp_sa_init(out, false, 0x1000, keymat, esn, 0), ESP_OK);
    assert_int_equal(esp_sa_init(in, true, 0x1000, keymat, esn, 64), ESP_OK);
}

static void test_init_rules(void **state)
{
    (void)state;
    struct esp_sa sa;
    uint8_t km[ESP_KEYMAT_SIZE] = {0};
    assert_int_equal(esp_sa_init(&sa, false, 0, km, false, 0), ESP_E_ARG);   /* SPI 0 */
    assert_int_equal(esp_sa_init(&sa, false, 255, km, false, 0), ESP_E_ARG); /* reserved */
    assert_int_equal(esp_sa_init(&sa, false, 256, NULL, false, 0), ESP_E_ARG);
    assert_int_equal(esp_sa_init(&sa, true, 256, km, false, 7), ESP_E_ARG); /* window */
    assert_int_equal(esp_sa_init(&sa, true, 256, km, false, 0), ESP_OK);
    esp_sa_free(&sa);
}

static void test_round_trip_sizes(void **state)
{
    (void)state;
    struct esp_sa o, i;
    pair(&o, &i, false);
    const size_t sizes[] = {0, 1, 2, 3, 4, 64, 512, 1400};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        uint8_t payload[1400], pkt[1500], back[1500];
        for (size_t b = 0; b < sizes[k]; b++)
            payload[b] = (uint8_t)(b ^ k);
        size_t len, plen;
        uint8_t nh = 0;
        assert_int_equal(esp_seal(&o, 17, payload, sizes[k], pkt, sizeof(pkt), &len), ESP_OK);
        assert_true(len <= sizes[k] + ESP_OVERHEAD);
        assert_int_equal((len - ESP_HEADER_SIZE - ESP_ICV_SIZE) % 4, 0);
        assert_int_equal(esp_packet_spi(pkt, len), 0x1000);
        /* The payload is not visible on the wire. */
        if (sizes[k] >= 16)
            assert_memory_not_equal(pkt + ESP_HEADER_SIZE, payload, 16);
        assert_int_equal(esp_open(&i, pkt, len, back, sizeof(back), &plen, &nh), ESP_OK);
        assert_int_equal(plen, sizes[k]);
        assert_int_equal(nh, 17);
        if (plen)
            assert_memory_equal(back, payload, plen);
    }
    assert_int_equal(o.seq, 8);
    esp_sa_free(&o);
    esp_sa_free(&i);
}

static void test_every_byte_flip_is_caught(void **state)
{
    (void)state;
    struct esp_sa o, i;
    pair(&o, &i, true);
    uint8_t payload[40], pkt[128], back[128];
    memset(payload, 0x42, sizeof(payload));
    size_t len, plen;
    uint8_t nh;
    assert_int_equal(esp_seal(&o, 4, payload, sizeof(payload), pkt, sizeof(pkt), &len), ESP_OK);
    for (size_t b = 0; b < len; b++) {
        uint8_t x[128];
        memcpy(x, pkt, len);
        x[b] ^= 0x01;
        int rc = esp_open(&i, x, len, back, sizeof(back), &plen, &nh);
        /* SPI and sequence bytes fail their own checks; all else the ICV. */
        assert_true(rc == ESP_E_AUTH || rc == ESP_E_SPI || rc == ESP_E_REPLAY);
    }
    assert_true(i.forged > 0);
    /* The genuine packet is still accepted: failures did not move the window. */
    assert_int_equal(esp_open(&i, pkt, len, back, sizeof(back), &plen, &nh), ESP_OK);
    assert_int_equal(esp_open(&i, pkt, len, back, sizeof(back), &plen, &nh), ESP_E_REPLAY);
    esp_sa_free(&o);
    esp_sa_free(&i);
}

static void test_replay_reorder_and_old(void **state)
{
    (void)state;
    struct esp_sa o, i;
    pair(&o, &i, false);
    uint8_t pkts[100][64], back[64];
    size_t lens[100], plen;
    uint8_t nh, p = 0;
    for (int k = 0; k < 100; k++)
        assert_int_equal(esp_seal(&o, 1, &p, 1, pkts[k], 64, &lens[k]), ESP_OK);
    /* Out of order inside the window: fine. */
    assert_int_equal(esp_open(&i, pkts[99], lens[99], back, 64, &plen, &nh), ESP_OK);
    assert_int_equal(esp_open(&i, pkts[60], lens[60], back, 64, &plen, &nh), ESP_OK);
    assert_int_equal(esp_open(&i, pkts[60], lens[60], back, 64, &plen, &nh), ESP_E_REPLAY);
    /* Older than the 64-packet window. */
    assert_int_equal(esp_open(&i, pkts[10], lens[10], back, 64, &plen, &nh), ESP_E_REPLAY);
    assert_int_equal(i.replayed, 2);
    esp_sa_free(&o);
    esp_sa_free(&i);
}

static void test_esn_across_the_wrap(void **state)
{
    (void)state;
    struct esp_sa o, i;
    pair(&o, &i, true);
    /* Jump both ends close to 2^32, as after four billion packets. */
    o.seq = 0xFFFFFFF0u;
    i.rw.top = 0xFFFFFFF0u;
    uint8_t pkt[64], back[64];
    size_t len, plen;
    uint8_t nh, p = 9;
    for (int k = 0; k < 40; k++) {
        assert_int_equal(esp_seal(&o, 1, &p, 1, pkt, sizeof(pkt), &len), ESP_OK);
        assert_int_equal(esp_open(&i, pkt, len, back, sizeof(back), &plen, &nh), ESP_OK);
    }
    assert_true(o.seq > 0xFFFFFFFFu);
    assert_int_equal(i.rw.top, o.seq);
    esp_sa_free(&o);
    esp_sa_free(&i);
}

static void test_exhaustion_without_esn(void **state)
{
    (void)state;
    struct esp_sa o, i;
    pair(&o, &i, false);
    uint8_t pkt[64], p = 1;
    size_t len;
    o.seq = 0xFFFFFFFEu;
    assert_int_equal(esp_seal(&o, 1, &p, 1, pkt, sizeof(pkt), &len), ESP_OK);
    assert_int_equal(esp_seal(&o, 1, &p, 1, pkt, sizeof(pkt), &len), ESP_E_EXHAUSTED);
    esp_sa_free(&o);
    esp_sa_free(&i);
}

static void test_bad_input(void **state)
{
    (void)state;
    struct esp_sa o, i, other;
    pair(&o, &i, false);
    uint8_t pkt[64], back[64], p = 1;
    size_t len, plen;
    uint8_t nh;
    assert_int_equal(esp_seal(&o, 1, &p, 1, pkt, 10, &len), ESP_E_BUFFER);
    assert_int_equal(esp_seal(&i, 1, &p, 1, pkt, sizeof(pkt), &len), ESP_E_ARG); /* inbound */
    assert_int_equal(esp_seal(&o, 1, &p, 1, pkt, sizeof(pkt), &len), ESP_OK);
    assert_int_equal(esp_open(&o, pkt, len, back, 64, &plen, &nh), ESP_E_ARG); /* outbound */
    assert_int_equal(esp_open(&i, pkt, 20, back, 64, &plen, &nh), ESP_E_FORMAT);
    assert_int_equal(esp_open(&i, pkt, len - 1, back, 64, &plen, &nh), ESP_E_FORMAT);
    assert_int_equal(esp_open(&i, pkt, len, back, 2, &plen, &nh), ESP_E_BUFFER);
    assert_int_equal(esp_sa_init(&other, true, 0x2000, keymat, false, 0), ESP_OK);
    assert_int_equal(esp_open(&other, pkt, len, back, 64, &plen, &nh), ESP_E_SPI);
    /* Same SPI, another key: the ICV fails. */
    uint8_t km2[ESP_KEYMAT_SIZE] = {1};
    struct esp_sa wrong;
    assert_int_equal(esp_sa_init(&wrong, true, 0x1000, km2, false, 0), ESP_OK);
    assert_int_equal(esp_open(&wrong, pkt, len, back, 64, &plen, &nh), ESP_E_AUTH);
    assert_string_equal(esp_result_name(ESP_E_AUTH), "AUTH");
    esp_sa_free(&wrong);
    esp_sa_free(&other);
    esp_sa_free(&o);
    esp_sa_free(&i);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aes256_gcm_known_answers),
        cmocka_unit_test(test_init_rules),
        cmocka_unit_test(test_round_trip_sizes),
        cmocka_unit_test(test_every_byte_flip_is_caught),
        cmocka_unit_test(test_replay_reorder_and_old),
        cmocka_unit_test(test_esn_across_the_wrap),
        cmocka_unit_test(test_exhaustion_without_esn),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
