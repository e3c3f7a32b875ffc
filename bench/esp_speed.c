/*
 * esp_speed.c - throughput of libdrt's ESP data path (src/ipsec/esp.h,
 * AES-256-GCM per RFC 4106) on one thread (issue 7, part 4).
 *
 * For each payload size it measures, each for about --seconds of CPU time:
 *   seal       esp_seal of one payload after another (outbound SA)
 *   open       esp_open of packets sealed beforehand (inbound SA, in order,
 *              so the anti-replay window moves as in real traffic); the
 *              sealing is not timed
 *   seal+open  esp_seal then esp_open of the same packet, timed together:
 *              what one protected datagram costs its two ends on one core
 *   evp        the GCM work alone with OpenSSL's EVP API as an application
 *              that keeps its key schedule would do it per packet: new IV,
 *              the 8-byte AAD, the payload, the tag (encrypt), and the same
 *              decrypting and checking the tag (decrypt); no ESP framing
 *   evp_rekey  the same encryption, but setting cipher, IV length and key
 *              again for every packet, as src/ipsec/esp.c does
 * Time is the thread's CPU time (CLOCK_THREAD_CPUTIME_ID), the divisor
 * `openssl speed` uses by default (user CPU time). Bytes are payload bytes.
 * Prints one JSON object.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "ipsec/esp.h"

#define BATCH 256u
#define MAX_PAYLOAD 2048u

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "esp_speed: %s: %s\n", what, esp_result_name(rc));
    exit(1);
}

static uint32_t next_spi = 0x1000;

static void sa_pair(struct esp_sa *out, struct esp_sa *in)
{
    uint8_t km[ESP_KEYMAT_SIZE];
    for (size_t i = 0; i < sizeof(km); i++)
        km[i] = (uint8_t)(i * 7 + next_spi);
    uint32_t spi = next_spi++;
    int rc = esp_sa_init(out, false, spi, km, true, 0);
    if (rc != ESP_OK)
        die("esp_sa_init out", rc);
    rc = esp_sa_init(in, true, spi, km, true, 0);
    if (rc != ESP_OK)
        die("esp_sa_init in", rc);
}

struct rate {
    double packets, seconds;
};

static struct rate run_seal(size_t len, double secs)
{
    struct esp_sa o, i;
    sa_pair(&o, &i);
    static uint8_t payload[MAX_PAYLOAD], pkt[MAX_PAYLOAD + ESP_OVERHEAD];
    memset(payload, 0xa5, len);
    double t0 = cpu_s(), t = t0;
    uint64_t n = 0;
    while (t - t0 < secs) {
        for (unsigned b = 0; b < BATCH; b++) {
            size_t plen;
            int rc = esp_seal(&o, 59, payload, len, pkt, sizeof(pkt), &plen);
            if (rc != ESP_OK)
                die("esp_seal", rc);
        }
        n += BATCH;
        t = cpu_s();
    }
    esp_sa_free(&o);
    esp_sa_free(&i);
    return (struct rate){(double)n, t - t0};
}

static struct rate run_open(size_t len, double secs)
{
    struct esp_sa o, i;
    sa_pair(&o, &i);
    static uint8_t payload[MAX_PAYLOAD], out[MAX_PAYLOAD];
    static uint8_t pkts[BATCH][MAX_PAYLOAD + ESP_OVERHEAD];
    static size_t plens[BATCH];
    memset(payload, 0x5a, len);
    double spent = 0;
    uint64_t n = 0;
    while (spent < secs) {
        for (unsigned b = 0; b < BATCH; b++) {
            int rc = esp_seal(&o, 59, payload, len, pkts[b], sizeof(pkts[b]), &plens[b]);
            if (rc != ESP_OK)
                die("esp_seal", rc);
        }
        double t0 = cpu_s();
        for (unsigned b = 0; b < BATCH; b++) {
            size_t olen;
            uint8_t nh;
            int rc = esp_open(&i, pkts[b], plens[b], out, sizeof(out), &olen, &nh);
            if (rc != ESP_OK || olen != len)
                die("esp_open", rc);
        }
        spent += cpu_s() - t0;
        n += BATCH;
    }
    esp_sa_free(&o);
    esp_sa_free(&i);
    return (struct rate){(double)n, spent};
}

static struct rate run_seal_open(size_t len, double secs)
{
    struct esp_sa o, i;
    sa_pair(&o, &i);
    static uint8_t payload[MAX_PAYLOAD], out[MAX_PAYLOAD], pkt[MAX_PAYLOAD + ESP_OVERHEAD];
    memset(payload, 0x3c, len);
    double t0 = cpu_s(), t = t0;
    uint64_t n = 0;
    while (t - t0 < secs) {
        for (unsigned b = 0; b < BATCH; b++) {
            size_t plen, olen;
            uint8_t nh;
            int rc = esp_seal(&o, 59, payload, len, pkt, sizeof(pkt), &plen);
            if (rc != ESP_OK)
                die("esp_seal", rc);
            rc = esp_open(&i, pkt, plen, out, sizeof(out), &olen, &nh);
            if (rc != ESP_OK || olen != len)
                die("esp_open", rc);
        }
        n += BATCH;
        t = cpu_s();
    }
    esp_sa_free(&o);
    esp_sa_free(&i);
    return (struct rate){(double)n, t - t0};
}

/* Per-packet GCM with the key schedule kept: the floor under esp_seal/open.
 * With rekey, each packet sets the cipher and key again as esp.c's gcm()
 * does, which tells how much of the gap is that set-up. */
static struct rate run_evp(size_t len, double secs, int enc, bool rekey)
{
    static const uint8_t key[32] = {1, 2, 3};
    static uint8_t in[MAX_PAYLOAD], out[MAX_PAYLOAD + 16], ct[MAX_PAYLOAD], tag[16];
    uint8_t iv[12] = {9}, aad[8] = {0, 0, 0x10, 0};
    memset(in, 0x77, len);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n1 = 0;
    /* A ciphertext and tag to decrypt: the same IV each time (a benchmark,
     * not a protocol). */
    if (!c || EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv) != 1 ||
        EVP_EncryptUpdate(c, NULL, &n1, aad, 8) != 1 ||
        EVP_EncryptUpdate(c, ct, &n1, in, (int)len) != 1 ||
        EVP_EncryptFinal_ex(c, ct + len, &n1) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1) {
        fprintf(stderr, "esp_speed: EVP setup failed\n");
        exit(1);
    }
    EVP_CIPHER_CTX_free(c);
    c = EVP_CIPHER_CTX_new();
    if (!c || EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, NULL, enc) != 1) {
        fprintf(stderr, "esp_speed: EVP init failed\n");
        exit(1);
    }
    double t0 = cpu_s(), t = t0;
    uint64_t n = 0;
    while (t - t0 < secs) {
        for (unsigned b = 0; b < BATCH; b++) {
            int k = 0;
            bool ok = true;
            if (rekey)
                ok = EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
                     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1;
            ok = ok && EVP_CipherInit_ex(c, NULL, NULL, rekey ? key : NULL, iv, enc) == 1 &&
                      EVP_CipherUpdate(c, NULL, &k, aad, 8) == 1 &&
                      EVP_CipherUpdate(c, out, &k, enc ? in : ct, (int)len) == 1;
            if (ok && !enc)
                ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1;
            ok = ok && EVP_CipherFinal_ex(c, out + len, &k) == 1;
            if (ok && enc)
                ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + len) == 1;
            if (!ok) {
                fprintf(stderr, "esp_speed: EVP %s failed\n", enc ? "encrypt" : "decrypt");
                exit(1);
            }
        }
        n += BATCH;
        t = cpu_s();
    }
    EVP_CIPHER_CTX_free(c);
    return (struct rate){(double)n, t - t0};
}

static void print_rate(const char *name, struct rate r, size_t len, bool last)
{
    double pps = r.seconds > 0 ? r.packets / r.seconds : 0;
    printf("\"%s_packets_per_s\":%.0f,\"%s_bytes_per_s\":%.0f%s", name, pps, name,
           pps * (double)len, last ? "" : ",");
}

int main(int argc, char **argv)
{
    double secs = 1.0;
    size_t sizes[16] = {64, 512, 1400};
    size_t nsizes = 3;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--seconds") == 0) {
            secs = strtod(argv[i + 1], NULL);
        } else if (strcmp(argv[i], "--sizes") == 0) {
            nsizes = 0;
            for (char *p = argv[i + 1]; *p && nsizes < 16;) {
                char *end;
                unsigned long v = strtoul(p, &end, 10);
                if (end == p || v == 0 || v > MAX_PAYLOAD) {
                    fprintf(stderr, "esp_speed: bad --sizes\n");
                    return 2;
                }
                sizes[nsizes++] = v;
                p = *end == ',' ? end + 1 : end;
            }
        } else {
            fprintf(stderr, "usage: esp_speed [--seconds S] [--sizes 64,512,1400]\n");
            return 2;
        }
    }
    if (secs <= 0 || nsizes == 0) {
        fprintf(stderr, "esp_speed: bad arguments\n");
        return 2;
    }
    printf("{\"seconds_per_measurement\":%g,\"clock\":\"thread CPU time\",\"esn\":true,"
           "\"runs\":[", secs);
    for (size_t k = 0; k < nsizes; k++) {
        size_t len = sizes[k];
        struct rate seal = run_seal(len, secs), open = run_open(len, secs),
                    both = run_seal_open(len, secs), enc = run_evp(len, secs, 1, false),
                    dec = run_evp(len, secs, 0, false), renc = run_evp(len, secs, 1, true);
        printf("%s{\"payload\":%zu,\"packet\":%zu,", k ? "," : "", len,
               ESP_HEADER_SIZE + len + ((4 - ((len + 2) & 3)) & 3) + 2 + ESP_ICV_SIZE);
        print_rate("seal", seal, len, false);
        print_rate("open", open, len, false);
        print_rate("seal_open", both, len, false);
        print_rate("evp_encrypt", enc, len, false);
        print_rate("evp_decrypt", dec, len, false);
        print_rate("evp_rekey_encrypt", renc, len, true);
        printf("}");
        fflush(stdout);
    }
    printf("]}\n");
    return 0;
}
