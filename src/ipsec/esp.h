/*
 * esp.h - the ESP data path between DRT nodes: RFC 4303 framing with
 * AES-256-GCM as in RFC 4106 (16-byte ICV, 4-byte salt, 8-byte explicit IV),
 * 64-bit extended sequence numbers, and the anti-replay window of
 * replay_window.h. Sans-I/O: an esp_sa seals and opens byte buffers; who
 * sends them over UDP (RFC 3948 style, next to DRT messages) is the node's
 * business.
 *
 * Wire format of one packet:
 *   SPI (4, big-endian) | Seq low (4) | IV (8) | ciphertext | ICV (16)
 * where the ciphertext covers payload | padding 1,2,3.. | pad length (1) |
 * next header (1), padded so that it ends on a 4-byte boundary. The IV is
 * the 64-bit sequence number (unique per key by construction), the GCM
 * nonce is salt | IV, the AAD is SPI | Seq low, or SPI | Seq high | Seq low
 * with ESN (RFC 4106 §5).
 */
#ifndef DRT_IPSEC_ESP_H
#define DRT_IPSEC_ESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipsec/replay_window.h"

#define ESP_KEYMAT_SIZE 36u /* AES-256 key (32) + salt (4) */
#define ESP_HEADER_SIZE 16u /* SPI, Seq, IV */
#define ESP_ICV_SIZE 16u
#define ESP_MAX_PAD 255u
/* Bytes a sealed packet adds to its payload, at most. */
#define ESP_OVERHEAD (ESP_HEADER_SIZE + 3u + 2u + ESP_ICV_SIZE)

enum esp_result {
    ESP_OK = 0,
    ESP_E_ARG = -1,        /* bad argument or SA */
    ESP_E_BUFFER = -2,     /* output buffer too small */
    ESP_E_EXHAUSTED = -3,  /* the sequence number would cycle: rekey */
    ESP_E_SPI = -4,        /* not this SA's SPI */
    ESP_E_REPLAY = -5,     /* duplicate or too old (before the ICV check) */
    ESP_E_AUTH = -6,       /* ICV mismatch: forged or corrupted */
    ESP_E_FORMAT = -7,     /* too short, or bad padding after decryption */
    ESP_E_CRYPTO = -8,     /* the crypto library failed */
};

struct esp_sa {
    uint32_t spi;
    uint8_t key[32];
    uint8_t salt[4];
    bool esn;
    bool inbound;
    uint64_t seq;              /* outbound: last sequence number sent */
    struct replay_window rw;   /* inbound */
    void *ctx;                 /* EVP_CIPHER_CTX */
    uint64_t packets, bytes;   /* protected payload processed */
    uint64_t replayed, forged; /* inbound drops */
};

/* keymat: ESP_KEYMAT_SIZE bytes (key then salt). SPI 0 and 1..255 are
 * refused (RFC 4303 §2.1). window: 0 = default. */
int esp_sa_init(struct esp_sa *sa, bool inbound, uint32_t spi, const uint8_t *keymat, bool esn,
                uint32_t window);
/* Zeroises the key material and frees the SA's resources. */
void esp_sa_free(struct esp_sa *sa);

int esp_seal(struct esp_sa *sa, uint8_t next_header, const uint8_t *payload, size_t len,
             uint8_t *out, size_t cap, size_t *out_len);
/* On ESP_OK the payload (out_len bytes) is in out and *next_header set. */
int esp_open(struct esp_sa *sa, const uint8_t *pkt, size_t len, uint8_t *out, size_t cap,
             size_t *out_len, uint8_t *next_header);

/* The SPI of a packet (its first 4 bytes), for SA lookup; 0 if too short. */
uint32_t esp_packet_spi(const uint8_t *pkt, size_t len);

const char *esp_result_name(int rc);

#endif
