/* esp.c - ESP with AES-256-GCM (esp.h). OpenSSL does the cipher; this file
 * only frames, pads, numbers and checks. */
#include "ipsec/esp.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

int esp_sa_init(struct esp_sa *sa, bool inbound, uint32_t spi, const uint8_t *keymat, bool esn,
                uint32_t window)
{
    memset(sa, 0, sizeof(sa[0]));
    if (!keymat || spi < 256)
        return ESP_E_ARG;
    if (inbound && !replay_init(&sa->rw, window))
        return ESP_E_ARG;
    sa->ctx = EVP_CIPHER_CTX_new();
    if (!sa->ctx) {
        replay_free(&sa->rw);
        return ESP_E_CRYPTO;
    }
    sa->spi = spi;
    memcpy(sa->key, keymat, 32);
    memcpy(sa->salt, keymat + 32, 4);
    sa->esn = esn;
    sa->inbound = inbound;
    /* The key schedule once per SA; each packet then sets only its nonce
     * (keying the context per packet halved throughput, bench/esp_speed.c). */
    int enc = inbound ? 0 : 1;
    if (EVP_CipherInit_ex(sa->ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
        EVP_CIPHER_CTX_ctrl(sa->ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) != 1 ||
        EVP_CipherInit_ex(sa->ctx, NULL, NULL, sa->key, NULL, enc) != 1) {
        esp_sa_free(sa);
        return ESP_E_CRYPTO;
    }
    return ESP_OK;
}

void esp_sa_free(struct esp_sa *sa)
{
    EVP_CIPHER_CTX_free(sa->ctx);
    replay_free(&sa->rw);
    OPENSSL_cleanse(sa, sizeof(*sa));
}

uint32_t esp_packet_spi(const uint8_t *pkt, size_t len)
{
    return pkt && len >= 4 ? get32(pkt) : 0;
}

/* AAD per RFC 4106 §5: SPI | Seq, with the high half in the middle for ESN. */
static size_t make_aad(const struct esp_sa *sa, uint64_t seq, uint8_t aad[12])
{
    put32(aad, sa->spi);
    if (!sa->esn) {
        put32(aad + 4, (uint32_t)seq);
        return 8;
    }
    put32(aad + 4, (uint32_t)(seq >> 32));
    put32(aad + 8, (uint32_t)seq);
    return 12;
}

/* One GCM pass: encrypt (enc) or decrypt-and-verify. tag is written or
 * checked. Returns false on any library failure or a tag mismatch. */
static bool gcm(struct esp_sa *sa, bool enc, const uint8_t iv[8], const uint8_t *aad,
                size_t aad_len, const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[16])
{
    EVP_CIPHER_CTX *c = sa->ctx;
    uint8_t nonce[12];
    memcpy(nonce, sa->salt, 4);
    memcpy(nonce + 4, iv, 8);
    int n = 0;
    if (EVP_CipherInit_ex(c, NULL, NULL, NULL, nonce, enc) != 1 ||
        EVP_CipherUpdate(c, NULL, &n, aad, (int)aad_len) != 1)
        return false;
    if (len && EVP_CipherUpdate(c, out, &n, in, (int)len) != 1)
        return false;
    if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1)
        return false;
    if (EVP_CipherFinal_ex(c, out + len, &n) != 1)
        return false;
    return !enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
}

int esp_seal(struct esp_sa *sa, uint8_t next_header, const uint8_t *payload, size_t len,
             uint8_t *out, size_t cap, size_t *out_len)
{
    if (out_len)
        *out_len = 0;
    if (!sa || sa->inbound || !sa->ctx || (len && !payload) || !out || !out_len ||
        len > 65535)
        return ESP_E_ARG;
    uint64_t limit = sa->esn ? UINT64_MAX : UINT32_MAX;
    if (sa->seq >= limit)
        return ESP_E_EXHAUSTED;
    /* payload | pad | pad length | next header ends on a 4-byte boundary. */
    size_t pad = (4 - ((len + 2) & 3)) & 3;
    size_t plain = len + pad + 2;
    size_t total = ESP_HEADER_SIZE + plain + ESP_ICV_SIZE;
    if (cap < total)
        return ESP_E_BUFFER;
    uint64_t seq = sa->seq + 1;
    put32(out, sa->spi);
    put32(out + 4, (uint32_t)seq);
    for (int i = 0; i < 8; i++)
        out[8 + i] = (uint8_t)(seq >> (56 - 8 * i));
    /* Assemble the plaintext in place, then encrypt it in place. */
    uint8_t *body = out + ESP_HEADER_SIZE;
    if (len)
        memmove(body, payload, len);
    for (size_t i = 0; i < pad; i++)
        body[len + i] = (uint8_t)(i + 1);
    body[len + pad] = (uint8_t)pad;
    body[len + pad + 1] = next_header;
    uint8_t aad[12];
    size_t aad_len = make_aad(sa, seq, aad);
    if (!gcm(sa, true, out + 8, aad, aad_len, body, plain, body, body + plain))
        return ESP_E_CRYPTO;
    sa->seq = seq;
    sa->packets++;
    sa->bytes += len;
    *out_len = total;
    return ESP_OK;
}

int esp_open(struct esp_sa *sa, const uint8_t *pkt, size_t len, uint8_t *out, size_t cap,
             size_t *out_len, uint8_t *next_header)
{
    if (out_len)
        *out_len = 0;
    if (!sa || !sa->inbound || !sa->ctx || !pkt || !out || !out_len || !next_header)
        return ESP_E_ARG;
    if (len < ESP_HEADER_SIZE + 4 + ESP_ICV_SIZE || (len - ESP_HEADER_SIZE - ESP_ICV_SIZE) % 4)
        return ESP_E_FORMAT;
    if (get32(pkt) != sa->spi)
        return ESP_E_SPI;
    uint64_t seq = sa->esn ? replay_infer(&sa->rw, get32(pkt + 4)) : get32(pkt + 4);
    /* The cheap check first; the window moves only after the ICV holds. */
    if (replay_check(&sa->rw, seq) != REPLAY_OK) {
        sa->replayed++;
        return ESP_E_REPLAY;
    }
    size_t plain = len - ESP_HEADER_SIZE - ESP_ICV_SIZE;
    if (cap < plain)
        return ESP_E_BUFFER;
    uint8_t aad[12], tag[16];
    size_t aad_len = make_aad(sa, seq, aad);
    memcpy(tag, pkt + len - ESP_ICV_SIZE, 16);
    if (!gcm(sa, false, pkt + 8, aad, aad_len, pkt + ESP_HEADER_SIZE, plain, out, tag)) {
        OPENSSL_cleanse(out, plain);
        sa->forged++;
        return ESP_E_AUTH;
    }
    size_t pad = out[plain - 2];
    if (pad + 2 > plain) {
        OPENSSL_cleanse(out, plain);
        return ESP_E_FORMAT;
    }
    /* RFC 4303 §2.4: the default padding is 1, 2, 3, ...; check it. */
    for (size_t i = 0; i < pad; i++)
        if (out[plain - 2 - pad + i] != (uint8_t)(i + 1)) {
            OPENSSL_cleanse(out, plain);
            return ESP_E_FORMAT;
        }
    replay_accept(&sa->rw, seq);
    *next_header = out[plain - 1];
    *out_len = plain - 2 - pad;
    sa->packets++;
    sa->bytes += *out_len;
    return ESP_OK;
}

const char *esp_result_name(int rc)
{
    switch (rc) {
    case ESP_OK:
        return "OK";
    case ESP_E_ARG:
        return "ARG";
    case ESP_E_BUFFER:
        return "BUFFER";
    case ESP_E_EXHAUSTED:
        return "EXHAUSTED";
    case ESP_E_SPI:
        return "SPI";
    case ESP_E_REPLAY:
        return "REPLAY";
    case ESP_E_AUTH:
        return "AUTH";
    case ESP_E_FORMAT:
        return "FORMAT";
    case ESP_E_CRYPTO:
        return "CRYPTO";
    }
    return "?";
}
