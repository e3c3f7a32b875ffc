/*
 * engine_cache.c - the route cache (core/route_cache.h) as the engine uses
 * it, and the leaf-set reactions: events to the application, and the
 * FLOODs that spread a new neighbour through the neighbourhood
 * ([MC-DRT] 3.2.6: a new leaf-set entry is passed on to the other
 * neighbours; the newcomer is told about us).
 */
#include <stdlib.h>
#include <string.h>

#include "core/engine_internal.h"
#include "core/route_cache.h"

static void fill_random(void *ctx, void *buf, size_t len)
{
    engine_random_bytes(ctx, buf, len);
}

/* Called by the cache while it changes: only record, never call back. */
static void on_leafset(void *ctx, const drt_key *local, enum leafset_change_type change,
                       const struct route_cache_entry *entry)
{
    struct drt_engine *e = ctx;
    if (e->nleaf_changes == e->leaf_changes_cap) {
        size_t cap = e->leaf_changes_cap ? 2 * e->leaf_changes_cap : 4;
        struct leaf_change *grown = cap > ENGINE_MAX_LEAF_CHANGES
                                        ? NULL
                                        : realloc(e->leaf_changes, cap * sizeof(*grown));
        if (!grown) {
            e->leaf_changes_lost++;
            return;
        }
        e->leaf_changes = grown;
        e->leaf_changes_cap = cap;
    }
    struct leaf_change *c = &e->leaf_changes[e->nleaf_changes++];
    memcpy(c->local, local->b, 32);
    c->added = change == LEAFSET_KEY_ADDED;
    memcpy(c->peer.key, entry->key.b, 32);
    c->peer.ep = entry->ep;
}

bool engine_cache_create(struct drt_engine *e)
{
    struct route_cache_config cfg;
    route_cache_config_default(&cfg);
    cfg.max_local_keys = e->cfg.max_keys;
    uint32_t floor = LEAFSET_CAPACITY * cfg.max_local_keys + 16;
    cfg.max_entries = e->cfg.max_cache_entries < floor ? floor : e->cfg.max_cache_entries;
    cfg.max_pending = cfg.max_entries / 8 ? cfg.max_entries / 8 : 1;
    cfg.random = fill_random;
    cfg.random_ctx = e;
    cfg.on_leafset = on_leafset;
    cfg.leafset_ctx = e;
    e->cache = route_cache_create(&cfg);
    return e->cache != NULL;
}

void engine_cache_destroy(struct drt_engine *e)
{
    route_cache_destroy(e->cache);
    e->cache = NULL;
    free(e->leaf_changes);
    e->leaf_changes = NULL;
    e->nleaf_changes = e->leaf_changes_cap = 0;
}

static void to_entry(const struct engine_peer *p, bool verified, struct route_cache_entry *out)
{
    memset(out, 0, sizeof(*out));
    memcpy(out->key.b, p->key, 32);
    out->ep = p->ep;
    out->flags = verified ? ROUTE_CACHE_VERIFIED : 0;
}

static void to_peer(const struct route_cache_entry *in, struct engine_peer *out)
{
    memcpy(out->key, in->key.b, 32);
    out->ep = in->ep;
}

void engine_cache_offer(struct drt_engine *e, const struct engine_peer *p, bool verified)
{
    if (drt_endpoint_equal(&p->ep, &e->cfg.self) || p->ep.port < WIRE_MIN_PORT)
        return;
    struct route_cache_entry re;
    to_entry(p, verified, &re);
    route_cache_offer(e->cache, &re, e->now);
}

void engine_cache_verified(struct drt_engine *e, const struct engine_peer *p)
{
    if (drt_endpoint_equal(&p->ep, &e->cfg.self))
        return;
    const struct route_cache_entry *known = route_cache_find(e->cache, (const drt_key *)p->key);
    if (known && drt_endpoint_equal(&known->ep, &p->ep))
        route_cache_mark_verified(e->cache, (const drt_key *)p->key, e->srtt_ms, e->now);
    else
        engine_cache_offer(e, p, true);
    route_cache_observe(e->cache, &p->ep, 0, e->now);
}

void engine_cache_forget_key(struct drt_engine *e, const uint8_t key[32])
{
    route_cache_remove_key(e->cache, (const drt_key *)key);
}

void engine_cache_forget_endpoint(struct drt_engine *e, const struct drt_endpoint *ep)
{
    route_cache_remove_endpoint(e->cache, ep);
}

/* The route cache answers in route_cache_entry; the engine wants peers.
 * Every query below goes through here with at most ROUTE_CACHE_QUERY_MAX. */
static size_t to_peers(const struct route_cache_entry *in, size_t got, struct engine_peer *out)
{
    for (size_t i = 0; i < got; i++)
        to_peer(&in[i], &out[i]);
    return got;
}

static size_t query_cap(size_t n)
{
    return n > ROUTE_CACHE_QUERY_MAX ? ROUTE_CACHE_QUERY_MAX : n;
}

size_t engine_cache_closest(struct drt_engine *e, const uint8_t target[32], struct engine_peer *out,
                            size_t n)
{
    struct route_cache_entry tmp[ROUTE_CACHE_QUERY_MAX];
    return to_peers(tmp,
                    route_cache_next_hops(e->cache, (const drt_key *)target, 0, NULL, NULL, tmp,
                                          query_cap(n)),
                    out);
}

struct exclusion {
    const struct wire_endpoints *path;
    const struct drt_endpoint *from;
};

static bool excluded(void *ctx, const struct route_cache_entry *re)
{
    const struct exclusion *x = ctx;
    if (x->from && drt_endpoint_equal(&re->ep, x->from))
        return true;
    for (size_t i = 0; x->path && i < x->path->count; i++)
        if (x->path->e[i].port == re->ep.port && memcmp(x->path->e[i].addr, re->ep.addr, 16) == 0)
            return true;
    return false;
}

bool engine_cache_best_unvisited(struct drt_engine *e, const uint8_t target[32],
                                 const struct wire_endpoints *path,
                                 const struct drt_endpoint *from, const uint8_t *beat,
                                 struct engine_peer *out)
{
    struct exclusion x = {path, from};
    struct route_cache_entry re[ENGINE_REFERRAL_CHOICES];
    const drt_key *t = (const drt_key *)target;
    size_t n = route_cache_next_hops(e->cache, t, 0, excluded, &x, re, ENGINE_REFERRAL_CHOICES);
    if (n == 0)
        return false;
    uint64_t fresh = 2 * (uint64_t)e->cfg.maintenance_ms;
    size_t pick = 0;
    for (size_t i = 0; i < n; i++) {
        if (beat && key256_closer(t, &re[i].key, (const drt_key *)beat) >= 0)
            break; /* nearest first: no later one beats it either */
        if (e->now <= re[i].last_seen_ms || e->now - re[i].last_seen_ms <= fresh) {
            pick = i;
            break;
        }
    }
    to_peer(&re[pick], out);
    return true;
}

size_t engine_cache_spread(struct drt_engine *e, struct engine_peer *out, size_t n)
{
    struct route_cache_entry tmp[ROUTE_CACHE_QUERY_MAX];
    return to_peers(tmp, route_cache_pick_spread(e->cache, tmp, query_cap(n)), out);
}

size_t engine_cache_unverified(struct drt_engine *e, struct engine_peer *out, size_t n)
{
    struct route_cache_entry tmp[ROUTE_CACHE_QUERY_MAX];
    return to_peers(tmp, route_cache_pending(e->cache, tmp, query_cap(n)), out);
}

bool engine_cache_has_verified(struct drt_engine *e)
{
    return route_cache_verified_count(e->cache) > 0;
}

bool engine_cache_find(struct drt_engine *e, const uint8_t key[32], struct engine_peer *out)
{
    const struct route_cache_entry *re = route_cache_find(e->cache, (const drt_key *)key);
    if (!re || !(re->flags & ROUTE_CACHE_VERIFIED))
        return false;
    to_peer(re, out);
    return true;
}

bool engine_cache_is_verified(struct drt_engine *e, const uint8_t key[32],
                              const struct drt_endpoint *ep)
{
    const struct route_cache_entry *re = route_cache_find(e->cache, (const drt_key *)key);
    return re && (re->flags & ROUTE_CACHE_VERIFIED) && drt_endpoint_equal(&re->ep, ep);
}

bool engine_cache_would_be_leaf(struct drt_engine *e, const uint8_t key[32])
{
    return route_cache_would_enter_leafset(e->cache, (const drt_key *)key);
}

size_t engine_cache_leaf(struct drt_engine *e, const struct local_key *k, struct engine_peer *out,
                         size_t n)
{
    const struct leafset *ls = route_cache_leafset(e->cache, (const drt_key *)k->key);
    if (!ls)
        return 0;
    size_t got = 0;
    for (unsigned i = 0; i < leafset_pred_count(ls) && got < n; i++) {
        const struct leafset_entry *le = leafset_pred(ls, i);
        memcpy(out[got].key, le->key.b, 32);
        out[got++].ep = le->ep;
    }
    for (unsigned i = 0; i < leafset_succ_count(ls) && got < n; i++) {
        const struct leafset_entry *le = leafset_succ(ls, i);
        memcpy(out[got].key, le->key.b, 32);
        out[got++].ep = le->ep;
    }
    return got;
}

void engine_cache_add_local(struct drt_engine *e, struct local_key *k)
{
    route_cache_add_local_key(e->cache, (const drt_key *)k->key, e->now);
}

void engine_cache_remove_local(struct drt_engine *e, const uint8_t key[32])
{
    route_cache_remove_local_key(e->cache, (const drt_key *)key, e->now);
    /* Changes recorded for that key mean nothing now. */
    size_t j = 0;
    for (size_t i = 0; i < e->nleaf_changes; i++)
        if (memcmp(e->leaf_changes[i].local, key, 32) != 0)
            e->leaf_changes[j++] = e->leaf_changes[i];
    e->nleaf_changes = j;
}

size_t engine_cache_count(const struct drt_engine *e)
{
    return route_cache_count(e->cache);
}

size_t engine_cache_memory(const struct drt_engine *e)
{
    return route_cache_memory(e->cache);
}

/* (destination, key) pairs already flooded in this leaf-set sync: a node
 * with several keys sees one newcomer enter several of its leaf sets, and
 * the leaf sets of its keys share members; each pair goes out once. */
struct flood_once {
    struct {
        struct drt_endpoint to;
        uint8_t key[32];
    } sent[128];
    size_t n;
};

static void flood_entry_once(struct drt_engine *e, struct flood_once *once,
                             const struct drt_endpoint *to, const struct wire_route_entry *re)
{
    for (size_t i = 0; i < once->n; i++)
        if (drt_endpoint_equal(&once->sent[i].to, to) &&
            memcmp(once->sent[i].key, re->key, 32) == 0)
            return;
    if (once->n < sizeof(once->sent) / sizeof(once->sent[0])) {
        once->sent[once->n].to = *to;
        memcpy(once->sent[once->n].key, re->key, 32);
        once->n++;
    }
    engine_send_flood(e, to, NULL, re, NULL, NULL);
}

/* Where `key` sits in a leaf set: 1 + its index on the side that holds it
 * (nearest = 1), or 0 when on neither. */
static unsigned side_position(const struct leafset *ls, const uint8_t key[32], bool *succ_side)
{
    for (unsigned i = 0; i < leafset_succ_count(ls); i++)
        if (memcmp(leafset_succ(ls, i)->key.b, key, 32) == 0) {
            *succ_side = true;
            return i + 1;
        }
    for (unsigned i = 0; i < leafset_pred_count(ls); i++)
        if (memcmp(leafset_pred(ls, i)->key.b, key, 32) == 0) {
            *succ_side = false;
            return i + 1;
        }
    return 0;
}

static void spread_to_side(struct drt_engine *e, struct flood_once *once, const struct leafset *ls,
                           bool succ_side, unsigned upto, const struct drt_endpoint *skip,
                           const struct wire_route_entry *re)
{
    unsigned n = succ_side ? leafset_succ_count(ls) : leafset_pred_count(ls);
    for (unsigned i = 0; i < n && i < upto; i++) {
        const struct leafset_entry *le = succ_side ? leafset_succ(ls, i) : leafset_pred(ls, i);
        if (!drt_endpoint_equal(&le->ep, skip))
            flood_entry_once(e, once, &le->ep, re);
    }
}

/* Who passes a newcomer on to whom (PROTOCOL.md choice 14). The nodes
 * that must learn of a newcomer are the LEAFSET_SIDE nearest on each side
 * of it. Its nearest neighbour on one side holds all the others of that
 * side in its own leaf set (they are its other side) and tells them; the
 * nodes beyond the newcomer, within reach of the node next to it, hear of
 * it from that node as well. The second nearest tells its newcomer's side
 * too, a second chance while the nearest is gone or has not yet heard:
 * without it, lookups under fast churn failed more often. Farther nodes
 * pass nothing on: all they could tell had been told. */
#define SPREAD_BOTH_SIDES_UPTO 1u
#define SPREAD_ITS_SIDE_UPTO 2u

/* A new neighbour of `local`: tell it about us, and, when we are next to
 * it, tell the neighbours who must know it (above). */
static void spread_new_neighbour(struct drt_engine *e, struct flood_once *once,
                                 const struct local_key *k, const struct engine_peer *added)
{
    struct wire_route_entry re;
    engine_route_entry(e, added->key, &re);
    memcpy(re.addrs[0], added->ep.addr, 16);
    re.port = added->ep.port;
    const struct leafset *ls = route_cache_leafset(e->cache, (const drt_key *)k->key);
    bool succ_side = false;
    unsigned pos = ls ? side_position(ls, added->key, &succ_side) : 0;
    if (pos && pos <= SPREAD_ITS_SIDE_UPTO)
        spread_to_side(e, once, ls, succ_side, LEAFSET_SIDE, &added->ep, &re);
    if (pos && pos <= SPREAD_BOTH_SIDES_UPTO)
        spread_to_side(e, once, ls, !succ_side, LEAFSET_SIDE - pos, &added->ep, &re);
    struct wire_route_entry mine;
    engine_route_entry(e, k->key, &mine);
    flood_entry_once(e, once, &added->ep, &mine);
}

void engine_leafset_sync(struct drt_engine *e)
{
    /* Handling a change can cause more (a FLOOD sent changes nothing
     * locally, but be safe): take the batch, then handle it. */
    struct flood_once once = {.n = 0};
    while (e->nleaf_changes) {
        struct leaf_change batch[ENGINE_MAX_LEAF_CHANGES];
        size_t n = e->nleaf_changes;
        memcpy(batch, e->leaf_changes, n * sizeof(batch[0]));
        e->nleaf_changes = 0;
        for (size_t i = 0; i < n; i++) {
            struct local_key *k = engine_local_key(e, batch[i].local);
            if (!k)
                continue;
            struct drt_engine_event ev = {.type = ENGINE_EV_LEAFSET};
            ev.u.leafset.change = batch[i].added ? DRT_LEAFSET_KEY_ADDED : DRT_LEAFSET_KEY_DELETED;
            memcpy(ev.u.leafset.local_key, batch[i].local, 32);
            memcpy(ev.u.leafset.remote_key, batch[i].peer.key, 32);
            ev.u.leafset.remote = batch[i].peer.ep;
            engine_emit(e, &ev, NULL, 0);
            if (batch[i].added && e->status == ENGINE_ACTIVE)
                spread_new_neighbour(e, &once, k, &batch[i].peer);
            else if (!batch[i].added)
                k->leaf_lost = true;
        }
    }
}
