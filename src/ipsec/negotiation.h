/*
 * negotiation.h - the SA negotiation between two nodes, one state machine
 * per peer pair: an IKEv2-like exchange (ephemeral X25519, nonces,
 * authentication by a pre-shared key or the node's certificate,
 * HKDF-SHA-256, AES-256-GCM protection
 * after the first exchange) that ends with an ESP SA pair installed on
 * both sides, its keys either derived from the exchange or dictated by a
 * key manager, and every registered key manager notified.
 *
 * Sans-I/O: datagrams in, datagrams out, `now` (milliseconds, any
 * monotonic origin) passed in, randomness from the config's callback; no
 * sockets, clocks, threads or globals. Byte layout and rules:
 * docs/KEYING.md §7 ("The SA negotiation, byte by byte").
 *
 *   initiator                                   responder
 *   INIT_REQ  (SPIi, [cookie], KEi, Ni)   -->
 *                                         <--   COOKIE (only when too many half-open)
 *                                         <--   INIT_RESP (SPIr, KEr, Nr)
 *   AUTH_REQ  {AUTHi, SPI, will, weight}  -->   (protected from here on)
 *                                         <--   AUTH_RESP {status, AUTHr, SPI, will, weight,
 *                                                          [keys if the responder dictated]}
 *   KEYS {status, keys}  (only if the initiator dictated)  -->
 *                                         <--   KEYS_ACK {status}
 *
 * Key-manager callbacks never run inside these calls when cfg.km.ask is
 * set: the negotiation hands the call over, waits (CHECKING, DICTATING)
 * and takes the answer with neg_take_answer, or fails at the call's
 * deadline in neg_tick. Without ask they run inline.
 *
 * Only the initiator retransmits (exponential backoff, then gives up);
 * the responder answers a byte-identical repeat of the last request with
 * its cached answer, and drops everything else that is not the next
 * request. Half-open limits and cookies live in neg_responder.h.
 */
#ifndef DRT_IPSEC_NEGOTIATION_H
#define DRT_IPSEC_NEGOTIATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipsec/esp.h"
#include "ipsec/neg_keymgr.h"
#include "ipsec/neg_wire.h"

#define NEG_PSK_MAX 128u
#define NEG_DEFAULT_RTO_MS 500u        /* first retransmission after this */
#define NEG_DEFAULT_MAX_RETRANSMITS 5u /* then give up: 0.5+1+2+4+8+16 s */
#define NEG_MAX_RETRANSMITS 16u        /* larger config values are clamped */

struct neg_peer {
    FWP_IP_VERSION ip_version; /* V4: the address in addr[0..3] */
    uint8_t addr[16];
    uint16_t port;
};

/*
 * Authentication by the node's credential (docs/KEYING.md §7.3) instead of
 * the mesh's pre-shared key: each side sends its certificate chain and
 * signs the exchange's transcript with the chain's private key, and checks
 * the peer's chain and signature. The negotiation treats the chain as
 * opaque bytes; what a chain is, the trusted roots and the key live behind
 * the two callbacks (src/api/protection_cred.c), so this stays sans-I/O.
 */
struct neg_cred {
    const uint8_t *chain; /* as it travels, 1..NEG_CRED_AUTH_MAX - 4 - signature bytes */
    size_t chain_len;
    /* Signs msg with the chain's private key into sig (room for
     * NEG_CRED_AUTH_MAX bytes): the signature's length, 0 on failure. */
    size_t (*sign)(void *ctx, const uint8_t *msg, size_t len, uint8_t *sig);
    /* ERROR_SUCCESS when chain verifies against the trusted roots and sig
     * is its leaf key's signature of msg; otherwise the code that says why
     * (it fails the negotiation and is sent to the peer as the status). */
    DWORD (*verify)(void *ctx, const uint8_t *chain, size_t chain_len, const uint8_t *msg,
                    size_t len, const uint8_t *sig, size_t sig_len);
    void *ctx;
};

/* Authentication failures of a node's negotiations (neg_config.auth). */
struct neg_auth_counts {
    uint64_t failed;  /* the peer's AUTH did not verify here */
    uint64_t refused; /* the peer refused ours */
    DWORD last_code;  /* the code of the latest of either */
};

struct neg_config {
    /* Exactly one of the two: the mesh pre-shared key (copied;
     * 1..NEG_PSK_MAX bytes), or a credential (not copied: it must outlive
     * every negotiation that uses it). */
    const uint8_t *psk;
    size_t psk_len;
    const struct neg_cred *cred;
    ipsec_random_fn random; /* required: SPIs, X25519 keys, nonces */
    void *random_ctx;
    struct neg_keymgr_env km; /* key managers; km.engine NULL for none */
    struct neg_peer local;
    struct neg_peer remote;
    uint32_t rto_ms;          /* 0: NEG_DEFAULT_RTO_MS */
    uint32_t max_retransmits; /* 0: NEG_DEFAULT_MAX_RETRANSMITS */
    uint32_t replay_window;   /* of the ESP SAs; 0: esp.h's default */
    /* Optional: true when spi is already an inbound SPI of this node (its
     * other SAs and negotiations); the negotiation then draws another. */
    bool (*spi_in_use)(void *ctx, uint32_t spi);
    void *spi_ctx;
    /* Optional: a counter shared by a node's negotiations; each takes the
     * next value when it is established (neg_established_order). */
    uint64_t *order;
    /* Optional: the node's authentication failures, counted here. */
    struct neg_auth_counts *auth;
    /* Optional: a counter shared by a node's negotiations for the ids of
     * their key-manager calls, so that an answer names one negotiation. */
    uint64_t *call_ids;
};

/* Is the authentication part of cfg valid: exactly one of a PSK of
 * 1..NEG_PSK_MAX bytes and a credential with its chain and callbacks? */
bool neg_auth_config_ok(const struct neg_config *cfg);

enum neg_state {
    NEG_S_IDLE = 0,
    NEG_S_INIT_SENT,   /* initiator: INIT_REQ out */
    NEG_S_AUTH_SENT,   /* initiator: AUTH_REQ out */
    NEG_S_KEYS_SENT,   /* initiator: dictated keys out, waiting for KEYS_ACK */
    NEG_S_INIT_DONE,   /* responder: INIT_RESP out, waiting for AUTH_REQ */
    NEG_S_WAIT_KEYS,   /* responder: the initiator dictates */
    NEG_S_CHECKING,    /* either: waiting for our keyDictationCheck (initiator: INIT_RESP
                          taken; responder: AUTH_REQ verified) */
    NEG_S_DICTATING,   /* either: our dictator won and its keyDictation runs */
    NEG_S_ESTABLISHED, /* both ESP SAs installed */
    NEG_S_FAILED,
    NEG_S_DELETED, /* was ESTABLISHED; the peer's DELETE (or ours) freed its SAs */
};

enum neg_error {
    NEG_ERR_NONE = 0,
    NEG_ERR_AUTH,            /* the peer's AUTH did not verify (wrong PSK, bad credential) */
    NEG_ERR_PEER_AUTH,       /* the peer refused our AUTH (wrong PSK, bad credential) */
    NEG_ERR_TIMEOUT,         /* no answer after every retransmission */
    NEG_ERR_DICTATION,       /* our dictator failed: neg_error_code() says how */
    NEG_ERR_PEER_DICTATION,  /* the peer's dictator failed: its code */
    NEG_ERR_PROTOCOL,        /* the peer broke the exchange (e.g. keys when none were due) */
    NEG_ERR_CRYPTO,          /* OpenSSL or the random source failed, or a bad X25519 key */
    NEG_ERR_PEER_INTERNAL,   /* the peer's OpenSSL or random source failed */
};

/* What one input produced: at most one datagram to send back. */
struct neg_out {
    uint8_t buf[NEG_MAX_DATAGRAM];
    size_t len; /* 0: nothing to send */
};

struct neg;

/* NULL on a bad config (no random, neither or both of a valid PSK and a
 * credential) or no memory. */
struct neg *neg_create(const struct neg_config *cfg);
/* Cleanses every key and frees the SAs. */
void neg_free(struct neg *n);

/* Initiator: the first INIT_REQ. false if not IDLE or randomness failed. */
bool neg_start(struct neg *n, uint64_t now, struct neg_out *out);
/* Responder: takes the role from a parsed, cookie-checked INIT_REQ
 * (neg_responder.c calls this) and answers it. */
bool neg_accept(struct neg *n, uint64_t now, const uint8_t *dgram, size_t len,
                struct neg_out *out);

/* Any datagram for this negotiation. Returns false when it was dropped
 * (malformed, not for this state, a replay, failed authentication of the
 * message); out may hold an answer either way only when true. */
bool neg_receive(struct neg *n, uint64_t now, const uint8_t *dgram, size_t len,
                 struct neg_out *out);
/* An ESTABLISHED negotiation ends: its SAs are freed, and out holds the
 * DELETE that tells the peer (sent once, unanswered). false (out empty)
 * when it was not ESTABLISHED. */
bool neg_delete(struct neg *n, struct neg_out *out);
/* The answer to the key-manager call the negotiation waits for (CHECKING
 * or DICTATING), taken before the call's deadline: the exchange goes on
 * and out may hold the next datagram. Any other answer (another call's, a
 * call abandoned at its deadline, one arriving at or after the deadline)
 * changes nothing and returns false. The answer is cleansed either way.
 * Never call it from inside cfg.km.ask. */
bool neg_take_answer(struct neg *n, uint64_t now, struct neg_km_answer *a, struct neg_out *out);
/* The id of the call it waits for, 0 when none. */
uint64_t neg_waiting_call(const struct neg *n);
/* Timers: retransmission and giving up; a key-manager call's deadline
 * (the negotiation fails with FWP_E_TIMEOUT, telling the peer when it has
 * something to tell it: docs/KEYING.md §7.4). */
void neg_tick(struct neg *n, uint64_t now, struct neg_out *out);
/* When neg_tick next has work; UINT64_MAX for never. */
uint64_t neg_next_timeout(const struct neg *n);

enum neg_state neg_state(const struct neg *n);
bool neg_is_initiator(const struct neg *n);
enum neg_error neg_error(const struct neg *n);
DWORD neg_error_code(const struct neg *n); /* the FWP/Win32 code behind the error */
const char *neg_error_name(enum neg_error e);
uint64_t neg_spi_i(const struct neg *n);
uint64_t neg_spi_r(const struct neg *n);
uint64_t neg_started(const struct neg *n);
const struct neg_peer *neg_remote(const struct neg *n);
/* Datagrams dropped so far, and retransmissions sent. */
uint64_t neg_dropped(const struct neg *n);
uint64_t neg_retransmits(const struct neg *n);
/* Its place among the node's establishments (cfg.order), 0 if none. */
uint64_t neg_established_order(const struct neg *n);
/* When it was established (the `now` of that datagram); 0 before. */
uint64_t neg_established_at(const struct neg *n);
/* How long its inbound SA has opened nothing, as seen by the calls of
 * this function: the first call (or one after a packet) starts the count
 * at now. 0 before ESTABLISHED. */
uint64_t neg_inbound_quiet_ms(struct neg *n, uint64_t now);
/* The inbound ESP SPI this side picked (0 before it picked one). */
uint32_t neg_child_spi_in(const struct neg *n);
/* Who dictated the child SA's keys (valid once ESTABLISHED). */
enum neg_winner neg_winner(const struct neg *n);
/* The installed SAs, NULL before ESTABLISHED. */
struct esp_sa *neg_sa_inbound(struct neg *n);
struct esp_sa *neg_sa_outbound(struct neg *n);

#endif
