/*
 * neg_wire.h - the byte layout of SA-negotiation datagrams (docs/KEYING.md
 * "The SA negotiation, byte by byte"). Parsing is strict: a datagram whose
 * version, type, flags, reserved byte, length or body size is not exactly
 * what its type allows is refused whole, before anything else looks at it.
 *
 * Header (28 bytes, big-endian):
 *   0 version (1) = 1 | 1 type (1) | 2 flags (1) | 3 reserved (1) = 0 |
 *   4 SPIi (8) | 12 SPIr (8) | 20 message id (4) | 24 length (4)
 * flags: NEG_FLAG_INITIATOR on what the initiator sends, NEG_FLAG_RESPONSE
 * on responses (and on a DELETE from the responder); no other bit. length
 * is the whole datagram.
 * Protected types (AUTH_*, KEYS*) carry IV (8) | ciphertext | tag (16)
 * after the header, with the header as AAD.
 */
#ifndef DRT_IPSEC_NEG_WIRE_H
#define DRT_IPSEC_NEG_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NEG_VERSION      1u
#define NEG_HEADER_SIZE  28u
#define NEG_NONCE_SIZE   32u
#define NEG_KE_SIZE      32u
#define NEG_COOKIE_SIZE  32u
#define NEG_AUTH_SIZE    32u
#define NEG_IV_SIZE      8u
#define NEG_KEYMAT_PAIR  72u /* i->r then r->i, ESP_KEYMAT_SIZE each */
/* With the 4-byte marker in front on the DRT's port (udp_encap.h), 1,232
 * bytes of UDP payload: an IPv6 packet of the minimum MTU (1,280 bytes),
 * never fragmented. Only the sealed AUTH messages of credential
 * authentication come near it; every other message is under 256 bytes. */
#define NEG_MAX_DATAGRAM 1228u

#define NEG_FLAG_INITIATOR 0x01u
#define NEG_FLAG_RESPONSE  0x02u

enum neg_type {
    NEG_T_INIT_REQ = 1,  /* clear: [cookie_len cookie] KEi Ni */
    NEG_T_INIT_RESP = 2, /* clear: KEr Nr */
    NEG_T_COOKIE = 3,    /* clear: cookie (responder demands it) */
    NEG_T_AUTH_REQ = 4,  /* protected: AUTHi SPI will weight */
    NEG_T_AUTH_RESP = 5, /* protected: status reason | status AUTHr SPI will weight nkeys [keys] */
    NEG_T_KEYS = 6,      /* protected: status nkeys [keys] (initiator dictated) */
    NEG_T_KEYS_ACK = 7,  /* protected: status */
    NEG_T_DELETE = 8,    /* protected, either side, unanswered: the sender's inbound child SPI */
};

/* The message id of a DELETE: never one of the exchange's, and a side
 * sends at most one DELETE per negotiation, so its GCM nonce is unique. */
#define NEG_DELETE_MID 0xFFFFFFFFu

/* Plaintext body sizes of the protected messages. */
#define NEG_AUTH_REQ_BODY   (NEG_AUTH_SIZE + 4u + 1u + 4u)             /* 41 */
#define NEG_AUTH_RESP_FAIL  5u                                          /* status, reason */
#define NEG_AUTH_RESP_BODY  (4u + NEG_AUTH_SIZE + 4u + 1u + 4u + 1u)    /* 46, +72 with keys */
#define NEG_KEYS_BODY       (4u + 1u)                                   /* 5, +72 with keys */
#define NEG_KEYS_ACK_BODY   4u
#define NEG_DELETE_BODY     4u

/* Credential authentication (docs/KEYING.md §7.3) puts a variable AUTH
 * field where the PSK's 32 bytes go: chain length (2) | chain | signature
 * length (2) | signature. Its largest size is what the largest message,
 * an AUTH_RESP with keys, leaves of a datagram. */
#define NEG_CRED_AUTH_MIN 6u /* both lengths, one byte of each */
#define NEG_CRED_AUTH_MAX                                                              \
    (NEG_MAX_DATAGRAM - NEG_HEADER_SIZE - NEG_IV_SIZE - 16u /* tag */ -                  \
     (NEG_AUTH_RESP_BODY - NEG_AUTH_SIZE) - NEG_KEYMAT_PAIR) /* 1,090 */

/* Why an AUTH_RESP refuses (its last byte); the status says the code. */
enum neg_reason {
    NEG_REASON_AUTH = 1,      /* AUTHi did not verify */
    NEG_REASON_DICTATION = 2, /* the responder's key manager failed */
    NEG_REASON_PROTOCOL = 3,  /* a field of the AUTH_REQ was out of range */
    NEG_REASON_INTERNAL = 4,  /* the responder's random source or crypto failed */
};

struct neg_header {
    uint8_t type;
    uint8_t flags;
    uint64_t spi_i;
    uint64_t spi_r;
    uint32_t mid;
    uint32_t length;
};

void neg_put16(uint8_t *p, uint16_t v);
uint16_t neg_get16(const uint8_t *p);
void neg_put32(uint8_t *p, uint32_t v);
void neg_put64(uint8_t *p, uint64_t v);
uint32_t neg_get32(const uint8_t *p);
uint64_t neg_get64(const uint8_t *p);

void neg_header_write(uint8_t *p, const struct neg_header *h);

/* Checks everything the header alone can say: version, known type, the
 * one flag combination the type allows, reserved 0, length equal to len,
 * and the body size the type allows (for protected types: the size of the
 * sealed body). false: drop the datagram. */
bool neg_header_parse(const uint8_t *dgram, size_t len, struct neg_header *h);

/* Is a protected body of this plaintext size valid for the type? */
bool neg_body_size_ok(uint8_t type, size_t plain_len);

#endif
