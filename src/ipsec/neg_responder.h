/*
 * neg_responder.h - a node's front door for SA negotiations it did not
 * start: finds the negotiation a datagram belongs to, starts one for a new
 * INIT_REQ, and bounds the half-open ones (INIT_RESP sent, not yet
 * ESTABLISHED or FAILED).
 *
 * Cookies (IKEv2 style, RFC 7296 §2.6): while max_half_open negotiations
 * are half-open, an INIT_REQ without a valid cookie gets a COOKIE answer
 * and creates no state; the cookie is HMAC-SHA-256(secret, address | port |
 * SPIi), and the secret rotates every cookie_rotate_ms (the previous one
 * stays valid for one more period). Even with a valid cookie no more than
 * 2 * max_half_open are half-open at once, and never more than max_negs
 * negotiations exist; past that, INIT_REQs are dropped. Half-open and
 * failed negotiations are forgotten after half_open_timeout_ms. When a
 * negotiation from a peer (address and port) is established, the ones
 * established before from that peer are freed with their SAs: the peer
 * only starts again when it lost or gave up its side (as IKEv2's
 * INITIAL_CONTACT would say), so their SAs are stale; look SAs up per
 * packet rather than keep pointers to them.
 *
 * Sans-I/O like negotiation.h: `now` in milliseconds, datagrams in and out.
 */
#ifndef DRT_IPSEC_NEG_RESPONDER_H
#define DRT_IPSEC_NEG_RESPONDER_H

#include "ipsec/negotiation.h"

#define NEG_DEFAULT_MAX_HALF_OPEN     64u
#define NEG_DEFAULT_MAX_NEGS          1024u
#define NEG_DEFAULT_HALF_OPEN_TIMEOUT 30000u
#define NEG_DEFAULT_COOKIE_ROTATE     60000u

struct neg_responder_config {
    struct neg_config base; /* psk, random, key managers, local address; remote is per datagram */
    uint32_t max_half_open;
    uint32_t max_negs;
    uint32_t half_open_timeout_ms;
    uint32_t cookie_rotate_ms;
};

struct neg_responder_stats {
    uint64_t cookies_sent;   /* COOKIE answers */
    uint64_t bad_cookies;    /* INIT_REQs whose cookie did not verify */
    uint64_t dropped_full;   /* INIT_REQs dropped at the caps */
    uint64_t dropped;        /* malformed or unknown datagrams */
    uint64_t expired;        /* half-open or failed negotiations forgotten */
    uint64_t replaced;       /* established ones replaced by a newer one from the same peer */
};

struct neg_responder;

struct neg_responder *neg_responder_create(const struct neg_responder_config *cfg,
                                           uint64_t now);
void neg_responder_free(struct neg_responder *r);

/* A datagram from `from`. Returns the negotiation it went to (NULL when
 * it was dropped or answered statelessly with a COOKIE); out holds the
 * answer to send back to `from`, if any. */
struct neg *neg_responder_receive(struct neg_responder *r, uint64_t now,
                                  const struct neg_peer *from, const uint8_t *dgram, size_t len,
                                  struct neg_out *out);
/* A key manager's answer (neg_take_answer) for the negotiation waiting
 * for it; returns that negotiation, or NULL when none took it (the answer
 * is cleansed either way). */
struct neg *neg_responder_take_answer(struct neg_responder *r, uint64_t now,
                                      struct neg_km_answer *a, struct neg_out *out);
/* Rotates the cookie secret and forgets stale negotiations. */
void neg_responder_tick(struct neg_responder *r, uint64_t now);

size_t neg_responder_count(const struct neg_responder *r);
size_t neg_responder_half_open(const struct neg_responder *r);
/* The negotiation at index i (0 .. count-1), for callers that walk them. */
struct neg *neg_responder_at(struct neg_responder *r, size_t i);
/* keep true: a newly established negotiation from a peer leaves the older
 * ones in place (a rekey, when a hard lifetime frees them later: packets
 * sealed with them may still be in flight); false (the default): they are
 * freed at once as stale. */
void neg_responder_keep_replaced(struct neg_responder *r, bool keep);
/* Frees the negotiation at index i with its SAs (a lifetime ended); the
 * last one takes its index. */
void neg_responder_drop_at(struct neg_responder *r, size_t i);
struct neg_responder_stats neg_responder_stats(const struct neg_responder *r);

#endif
