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

/* cfg->base.remote is ignored (per peer). NULL on a bad config. */
struct neg_node *neg_node_create(const struct neg_responder_config *cfg, uint64_t now);
void neg_node_free(struct neg_node *node);

/* Starts a negotiation towards peer unless one this node started is in
 * progress or established. false: nothing started (out empty). */
bool neg_node_initiate(struct neg_node *node, uint64_t now, const struct neg_peer *peer,
                       struct neg_out *out);

/* Any negotiation datagram from `from`; out is the answer to send back to
 * `from`. Returns the negotiation it went to, or NULL when dropped. */
struct neg *neg_node_receive(struct neg_node *node, uint64_t now, const struct neg_peer *from,
                             const uint8_t *dgram, size_t len, struct neg_out *out);

/* Retransmissions due by now, one call of send per datagram, and the
 * responder's housekeeping. Failed initiations are forgotten here. */
void neg_node_tick(struct neg_node *node, uint64_t now,
                   void (*send)(void *ctx, const struct neg_peer *to, const struct neg_out *o),
                   void *ctx);
/* The earliest time neg_node_tick has retransmission work; UINT64_MAX for none. */
uint64_t neg_node_next_timeout(const struct neg_node *node);

/* The outbound SA to seal with towards peer, or NULL: of the established
 * pairs with that peer (initiated by either side), the one established
 * last. */
struct esp_sa *neg_node_sa_to(struct neg_node *node, const struct neg_peer *peer);
/* The inbound SA for an ESP packet's SPI, or NULL. */
struct esp_sa *neg_node_sa_by_spi(struct neg_node *node, uint32_t spi);

/* The node's initiated negotiation towards peer, or NULL. */
struct neg *neg_node_initiated(struct neg_node *node, const struct neg_peer *peer);
struct neg_responder *neg_node_responder(struct neg_node *node);

#endif
