/* neg_node.c - a node's negotiations in both roles (neg_node.h). */
#include "ipsec/neg_node.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

struct neg_node {
    struct neg_responder_config cfg;
    uint8_t psk[NEG_PSK_MAX];
    struct neg_responder *resp;
    struct neg **ini; /* initiated, one per peer */
    size_t count, cap;
    uint64_t order; /* establishments so far (neg_config.order) */
};

static bool same_peer(const struct neg_peer *a, const struct neg_peer *b)
{
    return a->ip_version == b->ip_version && a->port == b->port &&
           memcmp(a->addr, b->addr, 16) == 0;
}

/* Is spi the inbound SPI of any negotiation of the node, in either role
 * (picked, installed or not)? */
static bool node_spi_in_use(void *ctx, uint32_t spi)
{
    const struct neg_node *node = ctx;
    for (size_t i = 0; i < node->count; i++)
        if (neg_child_spi_in(node->ini[i]) == spi)
            return true;
    for (size_t i = 0; node->resp && i < neg_responder_count(node->resp); i++)
        if (neg_child_spi_in(neg_responder_at(node->resp, i)) == spi)
            return true;
    return false;
}

struct neg_node *neg_node_create(const struct neg_responder_config *cfg, uint64_t now)
{
    if (!cfg || !cfg->base.psk || cfg->base.psk_len == 0 || cfg->base.psk_len > NEG_PSK_MAX)
        return NULL;
    struct neg_node *node = calloc(1, sizeof(*node));
    if (!node)
        return NULL;
    node->cfg = *cfg;
    memcpy(node->psk, cfg->base.psk, cfg->base.psk_len);
    node->cfg.base.psk = node->psk;
    node->cfg.base.spi_in_use = node_spi_in_use;
    node->cfg.base.spi_ctx = node;
    node->cfg.base.order = &node->order;
    if (!node->cfg.max_negs)
        node->cfg.max_negs = NEG_DEFAULT_MAX_NEGS;
    node->resp = neg_responder_create(&node->cfg, now);
    if (!node->resp) {
        free(node);
        return NULL;
    }
    return node;
}

void neg_node_free(struct neg_node *node)
{
    if (!node)
        return;
    for (size_t i = 0; i < node->count; i++)
        neg_free(node->ini[i]);
    free(node->ini);
    neg_responder_free(node->resp);
    OPENSSL_cleanse(node, sizeof(*node));
    free(node);
}

static ptrdiff_t initiated_index(const struct neg_node *node, const struct neg_peer *peer)
{
    for (size_t i = 0; i < node->count; i++)
        if (same_peer(neg_remote(node->ini[i]), peer))
            return (ptrdiff_t)i;
    return -1;
}

struct neg *neg_node_initiated(struct neg_node *node, const struct neg_peer *peer)
{
    ptrdiff_t i = initiated_index(node, peer);
    return i < 0 ? NULL : node->ini[i];
}

struct neg_responder *neg_node_responder(struct neg_node *node)
{
    return node->resp;
}

static void remove_at(struct neg_node *node, size_t i)
{
    neg_free(node->ini[i]);
    node->ini[i] = node->ini[--node->count];
}

bool neg_node_initiate(struct neg_node *node, uint64_t now, const struct neg_peer *peer,
                       struct neg_out *out)
{
    out->len = 0;
    ptrdiff_t i = initiated_index(node, peer);
    if (i >= 0) {
        if (neg_state(node->ini[i]) != NEG_S_FAILED)
            return false;
        remove_at(node, (size_t)i);
    }
    if (node->count >= node->cfg.max_negs)
        return false;
    if (node->count == node->cap) {
        size_t cap = node->cap ? 2 * node->cap : 8;
        struct neg **v = realloc(node->ini, cap * sizeof(*v));
        if (!v)
            return false;
        node->ini = v;
        node->cap = cap;
    }
    struct neg_config c = node->cfg.base;
    c.remote = *peer;
    struct neg *n = neg_create(&c);
    if (!n)
        return false;
    if (!neg_start(n, now, out)) {
        neg_free(n);
        return false;
    }
    node->ini[node->count++] = n;
    return true;
}

struct neg *neg_node_receive(struct neg_node *node, uint64_t now, const struct neg_peer *from,
                             const uint8_t *d, size_t len, struct neg_out *out)
{
    out->len = 0;
    struct neg_header h;
    if (!neg_header_parse(d, len, &h))
        return NULL;
    if (h.flags & NEG_FLAG_INITIATOR)
        return neg_responder_receive(node->resp, now, from, d, len, out);
    for (size_t i = 0; i < node->count; i++) {
        struct neg *n = node->ini[i];
        if (neg_spi_i(n) == h.spi_i)
            return neg_receive(n, now, d, len, out) ? n : NULL;
    }
    return NULL;
}

void neg_node_tick(struct neg_node *node, uint64_t now,
                   void (*send)(void *ctx, const struct neg_peer *to, const struct neg_out *o),
                   void *ctx)
{
    size_t i = node->count;
    while (i-- > 0) {
        struct neg *n = node->ini[i];
        struct neg_out o;
        neg_tick(n, now, &o);
        if (o.len && send)
            send(ctx, neg_remote(n), &o);
        if (neg_state(n) == NEG_S_FAILED)
            remove_at(node, i);
    }
    neg_responder_tick(node->resp, now);
}

uint64_t neg_node_next_timeout(const struct neg_node *node)
{
    uint64_t t = UINT64_MAX;
    for (size_t i = 0; i < node->count; i++) {
        uint64_t x = neg_next_timeout(node->ini[i]);
        if (x < t)
            t = x;
    }
    return t;
}

struct esp_sa *neg_node_sa_to(struct neg_node *node, const struct neg_peer *peer)
{
    struct neg *best = neg_node_initiated(node, peer);
    if (best && !neg_sa_outbound(best))
        best = NULL;
    for (size_t i = 0; i < neg_responder_count(node->resp); i++) {
        struct neg *m = neg_responder_at(node->resp, i);
        if (same_peer(neg_remote(m), peer) && neg_sa_outbound(m) &&
            (!best || neg_established_order(m) > neg_established_order(best)))
            best = m;
    }
    return best ? neg_sa_outbound(best) : NULL;
}

struct esp_sa *neg_node_sa_by_spi(struct neg_node *node, uint32_t spi)
{
    for (size_t i = 0; i < node->count; i++) {
        struct esp_sa *sa = neg_sa_inbound(node->ini[i]);
        if (sa && sa->spi == spi)
            return sa;
    }
    for (size_t i = 0; i < neg_responder_count(node->resp); i++) {
        struct esp_sa *sa = neg_sa_inbound(neg_responder_at(node->resp, i));
        if (sa && sa->spi == spi)
            return sa;
    }
    return NULL;
}
