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
    /* Initiated pairs a rekey retired: they still open what arrives, and
     * seal until the new pair is established; freed like any other pair. */
    struct neg **old;
    size_t nold, oldcap;
    uint64_t order; /* establishments so far (neg_config.order) */
    uint64_t call_ids; /* key-manager calls so far (neg_config.call_ids) */
    struct neg_lifetime lt;
    struct neg_node_stats st;
    struct neg_auth_counts auth; /* neg_config.auth of every negotiation */
};

/* Rekeys started per tick at most; the rest wait for the next tick. */
#define REKEYS_PER_TICK 16

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
    for (size_t i = 0; i < node->nold; i++)
        if (neg_child_spi_in(node->old[i]) == spi)
            return true;
    for (size_t i = 0; node->resp && i < neg_responder_count(node->resp); i++)
        if (neg_child_spi_in(neg_responder_at(node->resp, i)) == spi)
            return true;
    return false;
}

struct neg_node *neg_node_create(const struct neg_responder_config *cfg, uint64_t now)
{
    if (!cfg || !neg_auth_config_ok(&cfg->base))
        return NULL;
    struct neg_node *node = calloc(1, sizeof(*node));
    if (!node)
        return NULL;
    node->cfg = *cfg;
    if (cfg->base.psk) {
        memcpy(node->psk, cfg->base.psk, cfg->base.psk_len);
        node->cfg.base.psk = node->psk;
    }
    node->cfg.base.spi_in_use = node_spi_in_use;
    node->cfg.base.spi_ctx = node;
    node->cfg.base.order = &node->order;
    node->cfg.base.auth = &node->auth;
    node->cfg.base.call_ids = &node->call_ids;
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
    for (size_t i = 0; i < node->nold; i++)
        neg_free(node->old[i]);
    free(node->old);
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
        enum neg_state st = neg_state(node->ini[i]);
        if (st != NEG_S_FAILED && st != NEG_S_DELETED)
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
    for (size_t i = 0; i < node->nold; i++) { /* a DELETE for a retired pair */
        struct neg *n = node->old[i];
        if (neg_spi_i(n) == h.spi_i)
            return neg_receive(n, now, d, len, out) ? n : NULL;
    }
    return NULL;
}

struct neg *neg_node_take_answer(struct neg_node *node, uint64_t now, struct neg_km_answer *a,
                                 struct neg_out *out)
{
    out->len = 0;
    struct neg *n = NULL;
    for (size_t i = 0; a->id && i < node->count && !n; i++)
        if (neg_waiting_call(node->ini[i]) == a->id)
            n = neg_take_answer(node->ini[i], now, a, out) ? node->ini[i] : NULL;
    if (!n && a->id)
        n = neg_responder_take_answer(node->resp, now, a, out);
    if (!n)
        node->st.answers_discarded++;
    neg_km_answer_clear(a);
    return n;
}

static bool past(const struct neg *n, uint64_t now, uint64_t ms, uint64_t bytes)
{
    if (neg_state(n) != NEG_S_ESTABLISHED)
        return false;
    if (ms && now - neg_established_at(n) >= ms)
        return true;
    const struct esp_sa *in = neg_sa_inbound((struct neg *)n);
    const struct esp_sa *out = neg_sa_outbound((struct neg *)n);
    return bytes && in && out && in->bytes + out->bytes >= bytes;
}

static bool newer_since(const struct neg *n, const struct neg *m, uint64_t now, uint64_t ms)
{
    return n != m && neg_state(n) == NEG_S_ESTABLISHED && same_peer(neg_remote(n), neg_remote(m)) &&
           neg_established_order(n) > neg_established_order(m) &&
           now - neg_established_at(n) >= ms;
}

/* Has a newer pair with the same peer been established for retire_ms, and
 * has the peer sent nothing on this one for as long? (After simultaneous
 * initiations the two sides may seal with different pairs: the quiet
 * inbound SA shows the peer moved on too.) */
static bool superseded(struct neg_node *node, struct neg *m, uint64_t now)
{
    if (neg_state(m) != NEG_S_ESTABLISHED)
        return false;
    uint64_t ms = node->lt.retire_ms ? node->lt.retire_ms : NEG_DEFAULT_RETIRE_MS;
    if (neg_inbound_quiet_ms(m, now) < ms)
        return false;
    for (size_t i = 0; i < node->count; i++)
        if (newer_since(node->ini[i], m, now, ms))
            return true;
    for (size_t i = 0; i < neg_responder_count(node->resp); i++)
        if (newer_since(neg_responder_at(node->resp, i), m, now, ms))
            return true;
    /* A retired pair is never the newest one: its rekey is in ini (unless
     * that rekey failed to start, and then nothing here goes early). */
    return false;
}

static bool ends(struct neg_node *node, struct neg *n, uint64_t now)
{
    const struct neg_lifetime *lt = &node->lt;
    return past(n, now, lt->hard_ms, lt->hard_bytes) || superseded(node, n, now);
}

typedef void (*neg_send_fn)(void *ctx, const struct neg_peer *to, const struct neg_out *o);

/* Ends an established pair and tells the peer (DELETE). */
static void delete_pair(struct neg *n, neg_send_fn send, void *ctx)
{
    struct neg_out o;
    if (neg_delete(n, &o) && o.len && send)
        send(ctx, neg_remote(n), &o);
}

/* Should the pair go now: ended by a DELETE, or (with lifetimes) at a
 * hard limit or superseded? The latter are deleted here, peer told. */
static bool goes(struct neg_node *node, struct neg *n, uint64_t now, bool lifetimes,
                 neg_send_fn send, void *ctx)
{
    if (neg_state(n) == NEG_S_DELETED) {
        node->st.deleted++;
        return true;
    }
    if (!lifetimes || !ends(node, n, now))
        return false;
    delete_pair(n, send, ctx);
    node->st.expired++;
    return true;
}

/* Frees the pairs a DELETE ended, at a hard limit, or superseded. */
static void expire_pairs(struct neg_node *node, uint64_t now, neg_send_fn send, void *ctx)
{
    const struct neg_lifetime *lt = &node->lt;
    bool lifetimes = lt->soft_ms || lt->hard_ms || lt->soft_bytes || lt->hard_bytes;
    size_t i = node->nold;
    while (i-- > 0)
        if (goes(node, node->old[i], now, lifetimes, send, ctx)) {
            neg_free(node->old[i]);
            node->old[i] = node->old[--node->nold];
        }
    i = node->count;
    while (i-- > 0)
        if (goes(node, node->ini[i], now, lifetimes, send, ctx))
            remove_at(node, i);
    i = neg_responder_count(node->resp);
    while (i-- > 0)
        if (goes(node, neg_responder_at(node->resp, i), now, lifetimes, send, ctx))
            neg_responder_drop_at(node->resp, i);
}

/* Is n the pair the node seals with towards its peer, and past soft? Only
 * the side that initiated a pair rekeys it, so that the two sides do not
 * both start one at about the same time. */
static bool rekey_due(struct neg_node *node, struct neg *n, uint64_t now)
{
    return past(n, now, node->lt.soft_ms, node->lt.soft_bytes) &&
           neg_node_sa_to(node, neg_remote(n)) == neg_sa_outbound(n);
}

/* The initiated pair towards peer leaves ini for old (inbound only), so
 * that a new initiation can take its place. */
static bool retire_initiated(struct neg_node *node, const struct neg_peer *peer)
{
    ptrdiff_t i = initiated_index(node, peer);
    if (i < 0)
        return true;
    if (neg_state(node->ini[i]) != NEG_S_ESTABLISHED)
        return false; /* a negotiation is under way already */
    if (node->nold == node->oldcap) {
        size_t cap = node->oldcap ? 2 * node->oldcap : 8;
        struct neg **v = realloc(node->old, cap * sizeof(*v));
        if (!v)
            return false;
        node->old = v;
        node->oldcap = cap;
    }
    node->old[node->nold++] = node->ini[i];
    node->ini[i] = node->ini[--node->count];
    return true;
}

static void start_rekeys(struct neg_node *node, uint64_t now,
                         void (*send)(void *ctx, const struct neg_peer *to,
                                      const struct neg_out *o),
                         void *ctx)
{
    struct neg_peer due[REKEYS_PER_TICK];
    size_t ndue = 0;
    for (size_t i = 0; i < node->count && ndue < REKEYS_PER_TICK; i++)
        if (rekey_due(node, node->ini[i], now))
            due[ndue++] = *neg_remote(node->ini[i]);
    for (size_t k = 0; k < ndue; k++) {
        struct neg_out o;
        if (!retire_initiated(node, &due[k]) || !neg_node_initiate(node, now, &due[k], &o))
            continue;
        node->st.rekeys++;
        if (send)
            send(ctx, &due[k], &o);
    }
}

void neg_node_close(struct neg_node *node, neg_send_fn send, void *ctx)
{
    for (size_t i = 0; i < node->count; i++)
        delete_pair(node->ini[i], send, ctx);
    for (size_t i = 0; i < node->nold; i++)
        delete_pair(node->old[i], send, ctx);
    for (size_t i = 0; i < neg_responder_count(node->resp); i++)
        delete_pair(neg_responder_at(node->resp, i), send, ctx);
}

void neg_node_set_lifetime(struct neg_node *node, const struct neg_lifetime *lt)
{
    node->lt = *lt;
    /* With lifetimes, a pair that a peer's rekey supersedes is freed by
     * them, after the packets sealed with it have arrived. */
    neg_responder_keep_replaced(node->resp, lt->soft_ms || lt->hard_ms || lt->soft_bytes ||
                                                lt->hard_bytes);
}

struct neg_node_stats neg_node_stats(const struct neg_node *node)
{
    struct neg_node_stats st = node->st;
    st.auth = node->auth;
    return st;
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
    /* a responder's key-manager deadline (its failure goes to the peer) */
    for (i = 0; i < neg_responder_count(node->resp); i++) {
        struct neg *n = neg_responder_at(node->resp, i);
        struct neg_out o;
        neg_tick(n, now, &o);
        if (o.len && send)
            send(ctx, neg_remote(n), &o);
    }
    neg_responder_tick(node->resp, now);
    expire_pairs(node, now, send, ctx);
    start_rekeys(node, now, send, ctx);
}

uint64_t neg_node_next_timeout(const struct neg_node *node)
{
    uint64_t t = UINT64_MAX;
    for (size_t i = 0; i < node->count; i++) {
        uint64_t x = neg_next_timeout(node->ini[i]);
        if (x < t)
            t = x;
    }
    for (size_t i = 0; i < neg_responder_count(node->resp); i++) {
        uint64_t x = neg_next_timeout(neg_responder_at(node->resp, i));
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
    /* A retired pair still seals until its rekey is established. */
    for (size_t i = 0; i < node->nold; i++) {
        struct neg *m = node->old[i];
        if (same_peer(neg_remote(m), peer) && neg_sa_outbound(m) &&
            (!best || neg_established_order(m) > neg_established_order(best)))
            best = m;
    }
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
    for (size_t i = 0; i < node->nold; i++) {
        struct esp_sa *sa = neg_sa_inbound(node->old[i]);
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
