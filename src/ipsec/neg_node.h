/*
 * neg_node.h - all the SA negotiations of one node: the ones it starts
 * (one initiator per peer at a time) and the ones peers start (through a
 * neg_responder), one entry point for every negotiation datagram, one timer
 * walk, and the ESP SAs they installed, found by peer (to seal) or by SPI
 * (to open).
 *
 * Two nodes that start towards each other at the same time each end up
 * with two SA pairs, one per direction of initiation; both inbound SAs are
 * installed, so whichever outbound SA a side seals with, the other side
 * opens it (lookup by SPI). neg_node_sa_to() seals with the pair
 * established last, so a peer that restarted and started again is reached
 * through its new pair, not the stale one this node may have initiated
 * before. Sans-I/O like the rest of src/ipsec.
 */
#ifndef DRT_IPSEC_NEG_NODE_H
#define DRT_IPSEC_NEG_NODE_H

#include "ipsec/neg_responder.h"

struct neg_node;

/* SA lifetimes (0: no limit). Bytes are the protected payload through the
 * pair, both directions. When the pair a node seals with towards a peer
 * passes a soft limit, the node starts a new negotiation with that peer
 * (a rekey: the whole key-manager cycle again) and keeps sealing with the
 * old pair until the new one is established; every pair is freed with its
 * SAs at a hard limit, so packets sealed with it are no longer opened.
 * With any limit set, a pair that a newer one with the same peer
 * superseded is freed retire_ms after that one was established (packets
 * sealed with it have arrived by then; no deletion notice is sent). */
struct neg_lifetime {
    uint64_t soft_ms, hard_ms;
    uint64_t soft_bytes, hard_bytes;
    uint64_t retire_ms; /* 0: NEG_DEFAULT_RETIRE_MS */
};

#define NEG_DEFAULT_RETIRE_MS 10000u

struct neg_node_stats {
    uint64_t rekeys;  /* negotiations started because a soft limit passed */
    uint64_t expired; /* SA pairs ended at a hard limit or superseded (peer told) */
    uint64_t deleted; /* SA pairs a peer's DELETE ended */
    struct neg_auth_counts auth; /* negotiations that failed authentication */
    uint64_t answers_discarded; /* key-manager answers nobody waited for (late) */
};

/* cfg->base.remote is ignored (per peer). NULL on a bad config. */
struct neg_node *neg_node_create(const struct neg_responder_config *cfg, uint64_t now);
void neg_node_free(struct neg_node *node);

/* Starts a negotiation towards peer unless one this node started is in
 * progress or established (a failed or deleted one is replaced). false:
 * nothing started (out empty). */
bool neg_node_initiate(struct neg_node *node, uint64_t now, const struct neg_peer *peer,
                       struct neg_out *out);

/* Any negotiation datagram from `from`; out is the answer to send back to
 * `from`. Returns the negotiation it went to, or NULL when dropped. */
struct neg *neg_node_receive(struct neg_node *node, uint64_t now, const struct neg_peer *from,
                             const uint8_t *dgram, size_t len, struct neg_out *out);

/* A key manager's answer (neg_keymgr.h) for whichever of the node's
 * negotiations waits for it; out goes to the returned negotiation's peer
 * (neg_remote). NULL when nobody took it: it came after its deadline, or
 * its negotiation is gone; it is counted and cleansed. */
struct neg *neg_node_take_answer(struct neg_node *node, uint64_t now, struct neg_km_answer *a,
                                 struct neg_out *out);

/* Retransmissions due by now, one call of send per datagram, and the
 * responder's housekeeping. Failed initiations are forgotten here, and
 * pairs a peer's DELETE ended; pairs past a hard lifetime or superseded
 * are ended and their peers told (a DELETE each through send); rekeys
 * past a soft lifetime are started (their INIT_REQs go through send). */
void neg_node_tick(struct neg_node *node, uint64_t now,
                   void (*send)(void *ctx, const struct neg_peer *to, const struct neg_out *o),
                   void *ctx);
/* The earliest time neg_node_tick has work (a retransmission, a
 * key-manager deadline); UINT64_MAX for none. */
uint64_t neg_node_next_timeout(const struct neg_node *node);

/* Ends every established pair, telling each peer (a DELETE through send),
 * before the node goes away: peers then stop sealing to SAs nobody holds
 * and negotiate afresh when they next have something to send. */
void neg_node_close(struct neg_node *node,
                    void (*send)(void *ctx, const struct neg_peer *to, const struct neg_out *o),
                    void *ctx);

/* The outbound SA to seal with towards peer, or NULL: of the established
 * pairs with that peer (initiated by either side), the one established
 * last. */
struct esp_sa *neg_node_sa_to(struct neg_node *node, const struct neg_peer *peer);
/* The inbound SA for an ESP packet's SPI, or NULL. */
struct esp_sa *neg_node_sa_by_spi(struct neg_node *node, uint32_t spi);

/* Replaces the lifetimes (the default: none). */
void neg_node_set_lifetime(struct neg_node *node, const struct neg_lifetime *lt);
struct neg_node_stats neg_node_stats(const struct neg_node *node);

/* The node's initiated negotiation towards peer, or NULL. */
struct neg *neg_node_initiated(struct neg_node *node, const struct neg_peer *peer);
struct neg_responder *neg_node_responder(struct neg_node *node);

#endif
