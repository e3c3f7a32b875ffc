/* test_route_cache.c - the node's shared route cache: verification gate,
 * bucket replacement policy, caps, leaf sets kept exact and reported,
 * queries against brute force, local keys coming and going, and greedy
 * routing over 1000 caches in O(log N) hops. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/route_cache.h"

/* --- helpers ------------------------------------------------------------ */

static uint64_t rng_next(uint64_t *s)
{
    /* splitmix64: small and fixed-seed, so every run is the same */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static drt_key random_key(uint64_t *s)
{
    drt_key k;
    for (int i = 0; i < DRT_KEY_BYTES; i += 8) {
        uint64_t v = rng_next(s);
        memcpy(&k.b[i], &v, 8);
    }
    return k;
}

static void test_random(void *ctx, void *buf, size_t len)
{
    uint64_t *s = ctx;
    uint8_t *p = buf;
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)rng_next(s);
}

/* A key from its top two bytes and a low part: the top bytes pick the
 * prefix-table bucket, the low part tells keys of one bucket apart. */
static drt_key KEY(uint8_t b31, uint8_t b30, uint64_t low)
{
    drt_key k;
    key256_from_u64(&k, low);
    k.b[31] = b31;
    k.b[30] = b30;
    return k;
}

/* local + n * 2^244: neighbours one top-digit step apart, each in its own
 * bucket of the local key's table (see test_leaf_gap_is_refilled...). */
static drt_key NB(const drt_key *local, int n)
{
    drt_key step = key256_zero, r;
    step.b[30] = 0x10;
    r = *local;
    for (int i = 0; i < (n < 0 ? -n : n); i++) {
        if (n < 0)
            key256_sub(&r, &r, &step);
        else
            key256_add(&r, &r, &step);
    }
    return r;
}

static struct drt_endpoint EP(uint32_t node)
{
    struct drt_endpoint ep;
    memset(&ep, 0, sizeof(ep));
    ep.addr[10] = 0xFF;
    ep.addr[11] = 0xFF;
    memcpy(&ep.addr[12], &node, 4);
    ep.port = 3540;
    return ep;
}

static uint32_t node_of(const struct drt_endpoint *ep)
{
    uint32_t n;
    memcpy(&n, &ep->addr[12], 4);
    return n;
}

static struct route_cache_entry ENT(drt_key key, uint32_t node, bool verified, uint32_t rtt)
{
    struct route_cache_entry e;
    memset(&e, 0, sizeof(e));
    e.key = key;
    e.ep = EP(node);
    e.flags = verified ? ROUTE_CACHE_VERIFIED : 0;
    e.rtt_ms = rtt;
    return e;
}

static enum route_cache_result offer(struct route_cache *rc, drt_key key, uint32_t node,
                                     bool verified, uint32_t rtt, uint64_t now)
{
    struct route_cache_entry e = ENT(key, node, verified, rtt);
    return route_cache_offer(rc, &e, now);
}

static void assert_key(const drt_key *a, const drt_key *b)
{
    assert_memory_equal(a->b, b->b, DRT_KEY_BYTES);
}

/* Leaf-set events replayed into per-local-key membership lists. */
#define MAX_LOCALS 4
struct recorder {
    unsigned nlocal;
    drt_key local[MAX_LOCALS];
    unsigned n[MAX_LOCALS];
    drt_key member[MAX_LOCALS][LEAFSET_CAPACITY];
    unsigned added, deleted;
};

static int rec_find(const struct recorder *r, unsigned l, const drt_key *k)
{
    for (unsigned i = 0; i < r->n[l]; i++)
        if (key256_equal(&r->member[l][i], k))
            return (int)i;
    return -1;
}

static void on_leafset(void *ctx, const drt_key *local, enum leafset_change_type t,
                       const struct route_cache_entry *e)
{
    struct recorder *r = ctx;
    unsigned l = 0;
    while (l < r->nlocal && !key256_equal(&r->local[l], local))
        l++;
    if (l == r->nlocal) {
        assert_true(r->nlocal < MAX_LOCALS);
        r->local[r->nlocal] = *local;
        r->n[r->nlocal++] = 0;
    }
    int i = rec_find(r, l, &e->key);
    if (t == LEAFSET_KEY_ADDED) {
        assert_int_equal(i, -1);
        assert_true(r->n[l] < LEAFSET_CAPACITY);
        r->member[l][r->n[l]++] = e->key;
        r->added++;
    } else {
        assert_true(i >= 0);
        r->member[l][i] = r->member[l][--r->n[l]];
        r->deleted++;
    }
}

static void rec_forget(struct recorder *r, const drt_key *local)
{
    for (unsigned l = 0; l < r->nlocal; l++)
        if (key256_equal(&r->local[l], local))
            r->n[l] = 0;
}

static struct route_cache *make_cache(uint32_t max_entries, uint32_t max_local, uint64_t *seed,
                                      struct recorder *rec)
{
    struct route_cache_config cfg;
    route_cache_config_default(&cfg);
    if (max_entries)
        cfg.max_entries = max_entries;
    cfg.max_local_keys = max_local;
    cfg.max_pending = cfg.max_pending > cfg.max_entries / 2 ? cfg.max_entries / 2 : cfg.max_pending;
    cfg.random = test_random;
    cfg.random_ctx = seed;
    cfg.on_leafset = rec ? on_leafset : NULL;
    cfg.leafset_ctx = rec;
    struct route_cache *rc = route_cache_create(&cfg);
    assert_non_null(rc);
    return rc;
}

/* The leaf set of local must be the brute-force nearest verified entries
 * of the cache on each side, every member must be a verified cache entry,
 * and the replayed events must give the same membership. */
static void check_leafset(const struct route_cache *rc, const drt_key *local,
                          const struct recorder *rec)
{
    const struct leafset *ls = route_cache_leafset(rc, local);
    assert_non_null(ls);
    size_t n = route_cache_count(rc);
    for (int side = 0; side < 2; side++) {
        bool *used = calloc(n ? n : 1, sizeof(bool));
        assert_non_null(used);
        for (unsigned rank = 0; rank < LEAFSET_SIDE; rank++) {
            size_t best = n;
            drt_key bd;
            for (size_t i = 0; i < n; i++) {
                const struct route_cache_entry *e = route_cache_at(rc, i);
                if (used[i] || !(e->flags & ROUTE_CACHE_VERIFIED) || key256_equal(&e->key, local))
                    continue;
                drt_key d;
                if (side == 0)
                    key256_cw_distance(&d, &e->key, local);
                else
                    key256_cw_distance(&d, local, &e->key);
                if (best == n || key256_cmp(&d, &bd) < 0) {
                    best = i;
                    bd = d;
                }
            }
            const struct leafset_entry *m =
                side == 0 ? leafset_pred(ls, rank) : leafset_succ(ls, rank);
            if (best == n) {
                assert_null(m);
                continue;
            }
            used[best] = true;
            assert_non_null(m);
            assert_key(&m->key, &route_cache_at(rc, best)->key);
            assert_true(drt_endpoint_equal(&m->ep, &route_cache_at(rc, best)->ep));
        }
        free(used);
    }
    if (rec != NULL) {
        unsigned l = 0;
        while (l < rec->nlocal && !key256_equal(&rec->local[l], local))
            l++;
        unsigned members = l < rec->nlocal ? rec->n[l] : 0;
        assert_int_equal(members, leafset_count(ls));
        for (unsigned i = 0; i < members; i++)
            assert_true(leafset_contains(ls, &rec->member[l][i]));
    }
}

/* A local key with a full leaf set of NB(+-1..5): the tests of the table
 * policy then work on buckets far from it. */
static drt_key fill_leafset(struct route_cache *rc, uint64_t now)
{
    drt_key local = KEY(0x80, 0x80, 0);
    assert_true(route_cache_add_local_key(rc, &local, now));
    for (int n = 1; n <= 5; n++) {
        assert_int_equal(offer(rc, NB(&local, n), 100 + (uint32_t)n, true, 0, now),
                         ROUTE_CACHE_INSERTED);
        assert_int_equal(offer(rc, NB(&local, -n), 200 + (uint32_t)n, true, 0, now),
                         ROUTE_CACHE_INSERTED);
    }
    assert_int_equal(leafset_count(route_cache_leafset(rc, &local)), 10);
    return local;
}

/* --- life cycle and config ------------------------------------------------ */

static void test_create_refuses_configs_out_of_bounds(void **state)
{
    (void)state;
    uint64_t seed = 1;
    struct route_cache_config cfg;
    route_cache_config_default(&cfg);
    assert_int_equal(cfg.max_entries, ROUTE_CACHE_DEFAULT_MAX_ENTRIES);
    assert_null(route_cache_create(&cfg)); /* no random callback */
    assert_null(route_cache_create(NULL));
    cfg.random = test_random;
    cfg.random_ctx = &seed;

    struct route_cache_config bad = cfg;
    bad.max_entries = LEAFSET_CAPACITY * cfg.max_local_keys + 15;
    assert_null(route_cache_create(&bad));
    bad = cfg;
    bad.max_entries = ROUTE_CACHE_MAX_ENTRIES_LIMIT + 1;
    assert_null(route_cache_create(&bad));
    bad = cfg;
    bad.max_pending = cfg.max_entries / 2 + 1;
    assert_null(route_cache_create(&bad));
    bad = cfg;
    bad.max_pending = 0;
    assert_null(route_cache_create(&bad));
    bad = cfg;
    bad.max_local_keys = 0;
    assert_null(route_cache_create(&bad));
    bad = cfg;
    bad.fresh_ms = 0;
    assert_null(route_cache_create(&bad));

    struct route_cache *rc = route_cache_create(&cfg);
    assert_non_null(rc);
    assert_int_equal(route_cache_count(rc), 0);
    assert_int_equal(route_cache_local_count(rc), 0);
    assert_false(key256_is_zero(route_cache_self_id(rc)));
    route_cache_destroy(rc);
    route_cache_destroy(NULL);
}

static void test_pool_grows_on_demand_up_to_the_cap(void **state)
{
    (void)state;
    uint64_t seed = 18, s = 31337;
    struct route_cache *rc = make_cache(300, 8, &seed, NULL);
    size_t empty = route_cache_memory(rc);
    assert_true(empty < 32 * 1024); /* no slot array sized for the cap yet */

    /* Eight local keys: enough tables to want more than the cap. */
    for (int i = 0; i < 8; i++) {
        drt_key k = random_key(&s);
        assert_true(route_cache_add_local_key(rc, &k, 0));
    }
    drt_key keys[3000];
    for (int i = 0; i < 3000; i++) {
        keys[i] = random_key(&s);
        offer(rc, keys[i], (uint32_t)i, true, 0, 0);
        assert_true(route_cache_count(rc) <= 300);
    }
    assert_int_equal(route_cache_count(rc), 300);
    assert_true(route_cache_check(rc));
    assert_true(route_cache_memory(rc) > empty);
    size_t found = 0;
    for (int i = 0; i < 3000; i++) {
        const struct route_cache_entry *e = route_cache_find(rc, &keys[i]);
        if (e != NULL) {
            assert_int_equal(node_of(&e->ep), i);
            found++;
        }
    }
    assert_int_equal(found, 300);
    route_cache_destroy(rc);
}

/* --- offers and verification ---------------------------------------------- */

static void test_verified_offer_is_inserted_then_refreshed(void **state)
{
    (void)state;
    uint64_t seed = 2;
    struct route_cache *rc = make_cache(0, 4, &seed, NULL);
    drt_key k = KEY(0x12, 0x34, 5);

    assert_int_equal(offer(rc, k, 1, true, 80, 1000), ROUTE_CACHE_INSERTED);
    const struct route_cache_entry *e = route_cache_find(rc, &k);
    assert_non_null(e);
    assert_true(e->flags & ROUTE_CACHE_VERIFIED);
    assert_int_equal(e->last_seen_ms, 1000);
    assert_int_equal(e->rtt_ms, 80);

    /* Same endpoint: the RTT sample is folded in with weight 1/8. */
    assert_int_equal(offer(rc, k, 1, true, 160, 2000), ROUTE_CACHE_UPDATED);
    e = route_cache_find(rc, &k);
    assert_int_equal(e->rtt_ms, 90);
    assert_int_equal(e->last_seen_ms, 2000);

    /* A verified move to another endpoint is taken, the old RTT dropped. */
    assert_int_equal(offer(rc, k, 2, true, 0, 3000), ROUTE_CACHE_UPDATED);
    e = route_cache_find(rc, &k);
    assert_int_equal(node_of(&e->ep), 2);
    assert_int_equal(e->rtt_ms, 0);

    route_cache_observe(rc, &e->ep, 40, 4000);
    e = route_cache_find(rc, &k);
    assert_int_equal(e->rtt_ms, 40);
    assert_int_equal(e->last_seen_ms, 4000);
    assert_int_equal(route_cache_count(rc), 1);
    route_cache_destroy(rc);
}

static void test_pending_entry_is_held_aside_until_verified(void **state)
{
    (void)state;
    uint64_t seed = 3;
    struct recorder rec = {0};
    struct route_cache *rc = make_cache(0, 4, &seed, &rec);
    drt_key local = KEY(0x40, 0, 0);
    assert_true(route_cache_add_local_key(rc, &local, 0));
    drt_key k = KEY(0x41, 0, 1), target = KEY(0x41, 0, 0);
    struct route_cache_entry out[4];

    assert_int_equal(offer(rc, k, 7, false, 0, 100), ROUTE_CACHE_PENDING);
    assert_int_equal(route_cache_count(rc), 1);
    assert_int_equal(route_cache_verified_count(rc), 0);
    assert_int_equal(rec.added, 0); /* unverified keys never reach a leaf set */
    assert_int_equal(leafset_count(route_cache_leafset(rc, &local)), 0);
    assert_true(route_cache_would_enter_leafset(rc, &k));
    assert_int_equal(route_cache_next_hops(rc, &target, 0, NULL, NULL, out, 4), 0);
    assert_int_equal(route_cache_next_hops(rc, &target, ROUTE_CACHE_Q_PENDING, NULL, NULL, out, 4),
                     1);
    assert_int_equal(route_cache_pending(rc, out, 4), 1);
    assert_key(&out[0].key, &k);

    assert_int_equal(route_cache_mark_verified(rc, &k, 30, 200), ROUTE_CACHE_INSERTED);
    assert_int_equal(rec.added, 1);
    assert_int_equal(route_cache_next_hops(rc, &target, 0, NULL, NULL, out, 4), 1);
    assert_int_equal(out[0].rtt_ms, 30);
    assert_int_equal(out[0].last_seen_ms, 200);
    assert_int_equal(route_cache_pending(rc, out, 4), 0);
    assert_int_equal(route_cache_mark_verified(rc, &k, 0, 300), ROUTE_CACHE_UPDATED);
    drt_key unknown = KEY(1, 2, 3);
    assert_int_equal(route_cache_mark_verified(rc, &unknown, 0, 300), ROUTE_CACHE_NOT_FOUND);
    check_leafset(rc, &local, &rec);
    assert_true(route_cache_check(rc));
    route_cache_destroy(rc);
}

static void test_hearsay_never_overrides_a_verified_entry(void **state)
{
    (void)state;
    uint64_t seed = 4;
    struct route_cache *rc = make_cache(0, 4, &seed, NULL);
    drt_key k = KEY(0x22, 0, 9);

    offer(rc, k, 1, true, 50, 1000);
    assert_int_equal(offer(rc, k, 666, false, 0, 2000), ROUTE_CACHE_REJECTED);
    assert_int_equal(node_of(&route_cache_find(rc, &k)->ep), 1);
    assert_int_equal(offer(rc, k, 1, false, 0, 2000), ROUTE_CACHE_UPDATED);
    /* Hearsay does not count as being seen. */
    assert_int_equal(route_cache_find(rc, &k)->last_seen_ms, 1000);
    assert_true(route_cache_find(rc, &k)->flags & ROUTE_CACHE_VERIFIED);
    route_cache_destroy(rc);
}

static void test_pending_cap_drops_the_oldest_and_expiry_drops_overdue(void **state)
{
    (void)state;
    uint64_t seed = 5;
    struct route_cache_config cfg;
    route_cache_config_default(&cfg);
    cfg.max_pending = 4;
    cfg.random = test_random;
    cfg.random_ctx = &seed;
    struct route_cache *rc = route_cache_create(&cfg);
    assert_non_null(rc);
    struct route_cache_entry out[8];

    for (uint32_t i = 0; i < 6; i++)
        assert_int_equal(offer(rc, KEY((uint8_t)(0x10 * i + 1), 0, i), i, false, 0, 100 + i),
                         ROUTE_CACHE_PENDING);
    assert_int_equal(route_cache_count(rc), 4);
    assert_int_equal(route_cache_pending(rc, out, 8), 4);
    for (uint32_t i = 0; i < 4; i++)
        assert_int_equal(out[i].last_seen_ms, 102 + i); /* oldest first; 100, 101 gone */
    assert_int_equal(route_cache_pending(rc, out, 2), 2);
    assert_int_equal(out[1].last_seen_ms, 103);

    assert_int_equal(route_cache_expire_pending(rc, 104), 2);
    assert_int_equal(route_cache_count(rc), 2);
    struct drt_endpoint ep = EP(5);
    assert_int_equal(route_cache_mark_endpoint_verified(rc, &ep, 10, 500), 1);
    assert_int_equal(route_cache_verified_count(rc), 1);
    route_cache_destroy(rc);
}

/* --- bucket policy ------------------------------------------------------------ */

static void test_full_bucket_keeps_incumbents_unless_newcomer_is_better(void **state)
{
    (void)state;
    uint64_t seed = 6;
    struct route_cache *rc = make_cache(0, 4, &seed, NULL);
    uint64_t now = 1000000;
    fill_leafset(rc, now);

    /* Level 0, digit 2 of the 0x8080.. key: three cells. */
    assert_int_equal(offer(rc, KEY(0x20, 0, 1), 1, true, 100, now), ROUTE_CACHE_INSERTED);
    assert_int_equal(offer(rc, KEY(0x21, 0, 2), 2, true, 100, now), ROUTE_CACHE_INSERTED);
    assert_int_equal(offer(rc, KEY(0x22, 0, 3), 3, true, 0, now), ROUTE_CACHE_INSERTED);
    size_t before = route_cache_count(rc);

    /* Equal in every respect: the incumbents stay. */
    assert_int_equal(offer(rc, KEY(0x23, 0, 4), 4, true, 0, now), ROUTE_CACHE_REJECTED);
    /* A measured RTT beats the unmeasured incumbent. */
    assert_int_equal(offer(rc, KEY(0x24, 0, 5), 5, true, 90, now), ROUTE_CACHE_REPLACED);
    drt_key gone = KEY(0x22, 0, 3);
    assert_null(route_cache_find(rc, &gone));
    /* 80 is not below 3/4 of 100 (nor of 90): jitter does not churn. */
    assert_int_equal(offer(rc, KEY(0x25, 0, 6), 6, true, 80, now), ROUTE_CACHE_REJECTED);
    /* 60 is. */
    assert_int_equal(offer(rc, KEY(0x26, 0, 7), 7, true, 60, now), ROUTE_CACHE_REPLACED);
    assert_int_equal(route_cache_count(rc), before);

    /* Later, when the bucket has gone stale, a fresh node wins. */
    uint64_t later = now + ROUTE_CACHE_DEFAULT_FRESH_MS + 1;
    assert_int_equal(offer(rc, KEY(0x27, 0, 8), 8, true, 500, later), ROUTE_CACHE_REPLACED);
    route_cache_destroy(rc);
}

static void test_pending_offer_nobody_would_keep_is_refused(void **state)
{
    (void)state;
    uint64_t seed = 7;
    struct route_cache *rc = make_cache(0, 4, &seed, NULL);
    uint64_t now = 5000;
    fill_leafset(rc, now);
    for (uint32_t i = 0; i < ROUTE_CACHE_BUCKET_SIZE; i++)
        offer(rc, KEY(0x30, (uint8_t)i, i), 10 + i, true, 0, now);
    assert_int_equal(offer(rc, KEY(0x31, 0, 0), 20, false, 0, now), ROUTE_CACHE_REJECTED);
    assert_int_equal(offer(rc, KEY(0x31, 0, 0), 20, true, 0, now), ROUTE_CACHE_REJECTED);
    route_cache_destroy(rc);
}

/* --- caps and leaf sets --------------------------------------------------------- */

static void test_full_pool_evicts_table_entries_never_leaf_set_entries(void **state)
{
    (void)state;
    uint64_t seed = 8;
    struct recorder rec = {0};
    const uint32_t cap = LEAFSET_CAPACITY + 16; /* the smallest pool for one key */
    struct route_cache *rc = make_cache(cap, 1, &seed, &rec);
    uint64_t now = 1000;
    drt_key local = fill_leafset(rc, now);

    /* Fill the rest of the pool with table entries, one per bucket. */
    for (uint32_t d = 0; route_cache_count(rc) < cap; d++) {
        assert_true(d < 64);
        offer(rc, KEY((uint8_t)(0x10 * (d % 16) + d / 16), 0x55, d), 300 + d, true, 0, now);
    }
    assert_int_equal(route_cache_count(rc), cap);

    /* A table entry no better than any other cannot get in... */
    assert_int_equal(offer(rc, KEY(0xC5, 0x55, 1), 900, true, 0, now), ROUTE_CACHE_REJECTED);
    assert_int_equal(route_cache_count(rc), cap);
    /* ...nor can a pending one, which would have to push out a verified one. */
    assert_int_equal(offer(rc, KEY(0xC6, 0x55, 1), 901, false, 0, now), ROUTE_CACHE_REJECTED);

    /* A nearer neighbour goes in, the fifth successor leaves the leaf set
     * (reported), some table entry makes room, and the pool stays at its cap. */
    drt_key nearer = NB(&local, 1);
    nearer.b[0] = 1; /* just above the first successor */
    unsigned deleted = rec.deleted;
    assert_int_equal(offer(rc, nearer, 902, true, 0, now), ROUTE_CACHE_REPLACED);
    assert_int_equal(rec.deleted, deleted + 1);
    assert_int_equal(route_cache_count(rc), cap);
    assert_true(leafset_contains(route_cache_leafset(rc, &local), &nearer));
    check_leafset(rc, &local, &rec);

    /* Once the table entries have gone stale, a fresh one takes the place
     * of one of them even with the pool full. */
    uint64_t later = now + ROUTE_CACHE_DEFAULT_FRESH_MS + 1;
    assert_int_equal(offer(rc, KEY(0xC7, 0x55, 2), 903, true, 0, later), ROUTE_CACHE_REPLACED);
    assert_int_equal(route_cache_count(rc), cap);
    check_leafset(rc, &local, &rec);
    assert_true(route_cache_check(rc));
    route_cache_destroy(rc);
}

static void test_leaf_gap_is_refilled_from_the_pool_and_reported(void **state)
{
    (void)state;
    uint64_t seed = 9;
    struct recorder rec = {0};
    struct route_cache *rc = make_cache(0, 4, &seed, &rec);
    drt_key local = fill_leafset(rc, 0);
    drt_key sixth = NB(&local, 6), first = NB(&local, 1);

    /* The sixth successor is no member but its table bucket keeps it. */
    assert_int_equal(offer(rc, sixth, 106, true, 0, 0), ROUTE_CACHE_INSERTED);
    assert_false(leafset_contains(route_cache_leafset(rc, &local), &sixth));
    assert_int_equal(rec.added, 10);

    assert_true(route_cache_remove_key(rc, &first));
    assert_false(route_cache_remove_key(rc, &first));
    assert_null(route_cache_find(rc, &first));
    assert_int_equal(rec.deleted, 1);
    assert_int_equal(rec.added, 11);
    assert_true(leafset_contains(route_cache_leafset(rc, &local), &sixth));
    check_leafset(rc, &local, &rec);

    /* The node behind the fifth predecessor goes away with all its keys. */
    drt_key fifth_pred = NB(&local, -5), extra = KEY(0x11, 0x11, 1);
    offer(rc, extra, 205, true, 0, 0);
    struct drt_endpoint ep = EP(205);
    assert_int_equal(route_cache_remove_endpoint(rc, &ep), 2);
    assert_null(route_cache_find(rc, &fifth_pred));
    assert_null(route_cache_find(rc, &extra));
    /* Nine keys left: the fifth predecessor is now the sixth successor,
     * reached by walking down through 0 and the top of the ring. */
    assert_int_equal(leafset_pred_count(route_cache_leafset(rc, &local)), 5);
    assert_key(&leafset_pred(route_cache_leafset(rc, &local), 4)->key, &sixth);
    check_leafset(rc, &local, &rec);
    assert_true(route_cache_check(rc));
    route_cache_destroy(rc);
}

static void test_leafset_wraps_through_zero(void **state)
{
    (void)state;
    uint64_t seed = 10;
    struct recorder rec = {0};
    struct route_cache *rc = make_cache(0, 4, &seed, &rec);
    drt_key local = key256_max;
    assert_true(route_cache_add_local_key(rc, &local, 0));
    drt_key zero = key256_zero, one, below;
    key256_from_u64(&one, 1);
    key256_sub_u64(&below, &key256_max, 7);
    offer(rc, zero, 1, true, 0, 0);
    offer(rc, one, 2, true, 0, 0);
    offer(rc, below, 3, true, 0, 0);

    const struct leafset *ls = route_cache_leafset(rc, &local);
    assert_key(&leafset_succ(ls, 0)->key, &zero);
    assert_key(&leafset_succ(ls, 1)->key, &one);
    assert_key(&leafset_pred(ls, 0)->key, &below);
    check_leafset(rc, &local, &rec);

    /* Nearest to 2^256 - 2: the local key, then 0 (two away, across the
     * wrap), then 2^256 - 8. */
    struct route_cache_entry out[4];
    drt_key target;
    key256_sub_u64(&target, &key256_max, 1);
    assert_int_equal(route_cache_closest_to(rc, &target, out, 4), 4);
    assert_key(&out[0].key, &local);
    assert_true(out[0].flags & ROUTE_CACHE_LOCAL);
    assert_key(&out[1].key, &zero);
    assert_key(&out[2].key, &one);
    assert_key(&out[3].key, &below);
    route_cache_destroy(rc);
}

/* --- local keys come and go ----------------------------------------------------- */

static void test_local_keys_reorganise_the_tables(void **state)
{
    (void)state;
    uint64_t seed = 11;
    struct recorder rec = {0};
    struct route_cache *rc = make_cache(0, 2, &seed, &rec);
    drt_key self = *route_cache_self_id(rc);
    uint64_t s = 99;

    /* A resolve-only node: a table around its self id, no leaf set. */
    for (uint32_t i = 0; i < 300; i++)
        offer(rc, random_key(&s), i, true, 0, 0);
    size_t held = route_cache_count(rc);
    assert_true(held > 30 && held < 300);
    assert_int_equal(rec.added, 0);

    drt_key a = random_key(&s), b = random_key(&s), c = random_key(&s);
    assert_true(route_cache_add_local_key(rc, &a, 0));
    assert_false(route_cache_add_local_key(rc, &a, 0)); /* already local */
    assert_true(route_cache_is_local(rc, &a));
    assert_int_equal(rec.added, 10); /* its leaf set, filled from the cache */
    check_leafset(rc, &a, &rec);
    assert_true(route_cache_add_local_key(rc, &b, 0));
    assert_false(route_cache_add_local_key(rc, &c, 0)); /* max_local_keys */
    check_leafset(rc, &b, &rec);
    assert_int_equal(route_cache_local_count(rc), 2);

    assert_true(route_cache_remove_local_key(rc, &a, 0));
    assert_false(route_cache_remove_local_key(rc, &a, 0));
    rec_forget(&rec, &a);
    assert_null(route_cache_leafset(rc, &a));
    check_leafset(rc, &b, &rec);
    assert_true(route_cache_remove_local_key(rc, &b, 0));
    assert_int_equal(route_cache_local_count(rc), 0);
    /* Back to the self id, which never changes, and a table that still
     * routes. */
    assert_key(route_cache_self_id(rc), &self);
    assert_true(route_cache_count(rc) > 30);
    struct route_cache_entry out[1];
    drt_key t = random_key(&s);
    assert_int_equal(route_cache_next_hops(rc, &t, 0, NULL, NULL, out, 1), 1);
    route_cache_destroy(rc);
}

/* --- queries against brute force -------------------------------------------- */

struct odd_ctx {
    unsigned calls;
};

static bool exclude_odd_nodes(void *ctx, const struct route_cache_entry *e)
{
    ((struct odd_ctx *)ctx)->calls++;
    return node_of(&e->ep) % 2 == 1;
}

static int sort_target_cmp(const drt_key *t, const struct route_cache_entry *a,
                           const struct route_cache_entry *b)
{
    return key256_closer(t, &a->key, &b->key);
}

static void test_next_hops_match_a_brute_force_sort(void **state)
{
    (void)state;
    uint64_t seed = 12, s = 1234;
    struct route_cache *rc = make_cache(0, 4, &seed, NULL);
    drt_key local = random_key(&s);
    route_cache_add_local_key(rc, &local, 0);
    for (uint32_t i = 0; i < 2000; i++)
        offer(rc, random_key(&s), i, true, 0, 0);
    for (uint32_t i = 0; i < 40; i++)
        offer(rc, random_key(&s), 5000 + i, false, 0, 0);
    size_t n = route_cache_count(rc);
    assert_true(n <= ROUTE_CACHE_DEFAULT_MAX_ENTRIES);
    struct route_cache_entry *all = calloc(n, sizeof(*all));
    assert_non_null(all);

    for (int round = 0; round < 200; round++) {
        drt_key t = random_key(&s);
        bool with_exclude = round % 3 == 0, with_pending = round % 4 == 1;
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            const struct route_cache_entry *e = route_cache_at(rc, i);
            if (!(e->flags & ROUTE_CACHE_VERIFIED) && !with_pending)
                continue;
            if (with_exclude && node_of(&e->ep) % 2 == 1)
                continue;
            /* insertion sort by closeness: n is small */
            size_t pos = m;
            while (pos > 0 && sort_target_cmp(&t, e, &all[pos - 1]) < 0) {
                all[pos] = all[pos - 1];
                pos--;
            }
            all[pos] = *e;
            m++;
        }
        struct route_cache_entry out[8];
        struct odd_ctx ctx = {0};
        size_t got = route_cache_next_hops(rc, &t, with_pending ? ROUTE_CACHE_Q_PENDING : 0,
                                           with_exclude ? exclude_odd_nodes : NULL, &ctx, out, 8);
        assert_int_equal(got, m < 8 ? m : 8);
        for (size_t i = 0; i < got; i++) {
            assert_key(&out[i].key, &all[i].key);
            assert_false(out[i].flags & ROUTE_CACHE_LOCAL);
        }
        if (with_exclude)
            assert_true(ctx.calls > 0);
    }
    free(all);
    route_cache_destroy(rc);
}

static void test_equidistant_keys_go_to_the_smaller_one(void **state)
{
    (void)state;
    uint64_t seed = 13;
    struct route_cache *rc = make_cache(0, 4, &seed, NULL);
    offer(rc, KEY(0x50, 0, 90), 1, true, 0, 0);
    offer(rc, KEY(0x50, 0, 110), 2, true, 0, 0);
    drt_key t = KEY(0x50, 0, 100), lo = KEY(0x50, 0, 90);
    struct route_cache_entry out[2];
    assert_int_equal(route_cache_next_hops(rc, &t, 0, NULL, NULL, out, 2), 2);
    assert_key(&out[0].key, &lo);
    assert_int_equal(route_cache_next_hops(rc, &t, 0, NULL, NULL, out, 0), 0);
    route_cache_destroy(rc);
}

static void test_entries_in_range_are_sorted_and_capped(void **state)
{
    (void)state;
    uint64_t seed = 14, s = 77;
    struct route_cache *rc = make_cache(0, 4, &seed, NULL);
    drt_key local = KEY(0x60, 0, 50);
    route_cache_add_local_key(rc, &local, 0);
    for (uint32_t i = 0; i < 400; i++)
        offer(rc, random_key(&s), i, true, 0, 0);
    offer(rc, KEY(0x60, 0, 10), 1000, true, 0, 0);
    offer(rc, KEY(0x60, 0, 90), 1001, true, 0, 0);
    offer(rc, KEY(0x60, 0, 20), 1002, false, 0, 0);

    drt_key min = KEY(0x60, 0, 0), max = KEY(0x60, 0, 100);
    struct route_cache_entry out[8];
    assert_int_equal(route_cache_entries_in_range(rc, &min, &max, 0, out, 8), 2);
    assert_int_equal(route_cache_entries_in_range(rc, &min, &max, ROUTE_CACHE_Q_LOCAL |
                                                                      ROUTE_CACHE_Q_PENDING,
                                                  out, 8),
                     4);
    drt_key k10 = KEY(0x60, 0, 10), k20 = KEY(0x60, 0, 20), k90 = KEY(0x60, 0, 90);
    assert_key(&out[0].key, &k10);
    assert_key(&out[1].key, &k20);
    assert_key(&out[2].key, &local);
    assert_true(out[2].flags & ROUTE_CACHE_LOCAL);
    assert_key(&out[3].key, &k90);
    /* Capped: the lowest ones, and the total still counted. */
    assert_int_equal(route_cache_entries_in_range(rc, &min, &max, ROUTE_CACHE_Q_LOCAL, out, 1), 3);
    assert_key(&out[0].key, &k10);

    /* The whole ring, sorted. */
    size_t total = route_cache_entries_in_range(rc, &key256_zero, &key256_max, 0, NULL, 0);
    assert_int_equal(total, route_cache_verified_count(rc));
    struct route_cache_entry *every = calloc(total, sizeof(*every));
    assert_non_null(every);
    assert_int_equal(route_cache_entries_in_range(rc, &key256_zero, &key256_max, 0, every, total),
                     total);
    for (size_t i = 1; i < total; i++)
        assert_true(key256_cmp(&every[i - 1].key, &every[i].key) < 0);
    free(every);
    route_cache_destroy(rc);
}

static void test_pick_spread_is_distinct_and_spread(void **state)
{
    (void)state;
    uint64_t seed = 15, s = 4242;
    struct route_cache *rc = make_cache(0, 4, &seed, NULL);
    struct route_cache_entry out[ROUTE_CACHE_QUERY_MAX];

    assert_int_equal(route_cache_pick_spread(rc, out, 8), 0);
    offer(rc, KEY(1, 0, 0), 1, true, 0, 0);
    offer(rc, KEY(2, 0, 0), 2, false, 0, 0);
    assert_int_equal(route_cache_pick_spread(rc, out, 8), 1); /* verified only */

    for (uint32_t i = 0; i < 1000; i++)
        offer(rc, random_key(&s), 10 + i, true, 0, 0);
    for (int round = 0; round < 20; round++) {
        assert_int_equal(route_cache_pick_spread(rc, out, 8), 8);
        for (int i = 0; i < 8; i++)
            for (int j = i + 1; j < 8; j++)
                assert_false(key256_equal(&out[i].key, &out[j].key));
        /* Sorted picks: no gap wider than 3/8 of the ring (1/8 expected). */
        for (int i = 1; i < 8; i++)
            for (int j = i; j > 0 && key256_cmp(&out[j].key, &out[j - 1].key) < 0; j--) {
                struct route_cache_entry t = out[j];
                out[j] = out[j - 1];
                out[j - 1] = t;
            }
        drt_key limit = key256_zero;
        limit.b[31] = 0x60; /* 3/8 of 2^256 */
        for (int i = 0; i < 8; i++) {
            drt_key gap;
            key256_cw_distance(&gap, &out[i].key, &out[(i + 1) % 8].key);
            assert_true(key256_cmp(&gap, &limit) < 0);
        }
    }
    size_t v = route_cache_verified_count(rc);
    assert_int_equal(route_cache_pick_spread(rc, out, 1000),
                     v < ROUTE_CACHE_QUERY_MAX ? v : ROUTE_CACHE_QUERY_MAX);
    route_cache_destroy(rc);
}

/* --- invariants under random churn ------------------------------------------- */

static void test_random_churn_keeps_caps_and_exact_leaf_sets(void **state)
{
    (void)state;
    uint64_t seed = 16, s = 0xC0FFEE;
    struct recorder rec = {0};
    const uint32_t cap = 3 * LEAFSET_CAPACITY + 16;
    struct route_cache_config cfg;
    route_cache_config_default(&cfg);
    cfg.max_entries = cap;
    cfg.max_pending = 8;
    cfg.max_local_keys = 3;
    cfg.random = test_random;
    cfg.random_ctx = &seed;
    cfg.on_leafset = on_leafset;
    cfg.leafset_ctx = &rec;
    struct route_cache *rc = route_cache_create(&cfg);
    assert_non_null(rc);

    /* Keys crowd around three local keys so leaf sets keep changing. */
    drt_key locals[3];
    bool is_local[3] = {false, false, false};
    for (int i = 0; i < 3; i++)
        locals[i] = random_key(&s);
    drt_key pool[300];
    for (int i = 0; i < 300; i++) {
        pool[i] = random_key(&s);
        if (i % 2 == 0)
            memcpy(&pool[i].b[26], &locals[i % 3].b[26], 6);
    }

    uint64_t now = 0;
    unsigned seen[ROUTE_CACHE_NOT_FOUND + 1] = {0}, at_cap = 0;
    for (int step = 0; step < 4000; step++) {
        now += rng_next(&s) % 2000;
        uint64_t r = rng_next(&s) % 100;
        int k = (int)(rng_next(&s) % 300);
        uint32_t node = (uint32_t)(rng_next(&s) % 200);
        if (r < 50) {
            seen[offer(rc, pool[k], node, true, (uint32_t)(rng_next(&s) % 300), now)]++;
        } else if (r < 70) {
            seen[offer(rc, pool[k], node, false, 0, now)]++;
        } else if (r < 78) {
            seen[route_cache_mark_verified(rc, &pool[k], 20, now)]++;
        } else if (r < 86) {
            route_cache_remove_key(rc, &pool[k]);
        } else if (r < 88) {
            struct drt_endpoint ep = EP(node);
            route_cache_remove_endpoint(rc, &ep);
        } else if (r < 90) {
            route_cache_expire_pending(rc, now - 3000);
        } else if (r < 95) {
            int l = k % 3;
            if (is_local[l]) {
                assert_true(route_cache_remove_local_key(rc, &locals[l], now));
                rec_forget(&rec, &locals[l]);
            } else {
                assert_true(route_cache_add_local_key(rc, &locals[l], now));
            }
            is_local[l] = !is_local[l];
        } else {
            struct drt_endpoint ep = EP(node);
            route_cache_observe(rc, &ep, 15, now);
        }

        assert_true(route_cache_check(rc));
        assert_true(route_cache_count(rc) <= cap);
        at_cap += route_cache_count(rc) == cap;
        assert_true(route_cache_count(rc) - route_cache_verified_count(rc) <= 8);
        for (int l = 0; l < 3; l++)
            if (is_local[l])
                check_leafset(rc, &locals[l], &rec);
        /* Every entry can be found by its key. */
        for (size_t i = 0; i < route_cache_count(rc); i++)
            assert_ptr_equal(route_cache_find(rc, &route_cache_at(rc, i)->key),
                             route_cache_at(rc, i));
    }
    assert_true(rec.added > 50 && rec.deleted > 50);
    /* The walk went through every outcome and spent time at the cap. */
    for (int i = 0; i <= ROUTE_CACHE_NOT_FOUND; i++)
        assert_true(seen[i] > 0);
    assert_true(at_cap > 100);
    route_cache_destroy(rc);
}

/* --- routing: O(log N) hops over 1000 caches ------------------------------- */

#define NODES 1000
#define LOOKUPS 2000

static void test_greedy_routing_over_1000_nodes_takes_log16_hops(void **state)
{
    (void)state;
    uint64_t seed = 17, s = 0x5EED;
    drt_key *keys = calloc(NODES, sizeof(*keys));
    struct route_cache **rc = calloc(NODES, sizeof(*rc));
    uint32_t *order = calloc(NODES, sizeof(*order));
    assert_true(keys && rc && order);

    for (uint32_t i = 0; i < NODES; i++)
        keys[i] = random_key(&s);
    size_t entries = 0;
    for (uint32_t i = 0; i < NODES; i++) {
        rc[i] = make_cache(256, 4, &seed, NULL);
        assert_true(route_cache_add_local_key(rc[i], &keys[i], 0));
        for (uint32_t j = 0; j < NODES; j++)
            order[j] = j;
        for (uint32_t j = NODES - 1; j > 0; j--) {
            uint32_t x = (uint32_t)(rng_next(&s) % (j + 1)), t = order[j];
            order[j] = order[x];
            order[x] = t;
        }
        for (uint32_t j = 0; j < NODES; j++)
            if (order[j] != i)
                offer(rc[i], keys[order[j]], order[j], true, 0, 0);
        assert_true(route_cache_count(rc[i]) <= 256);
        if (i % 100 == 0)
            assert_true(route_cache_check(rc[i]));
        entries += route_cache_count(rc[i]);
    }

    unsigned total_hops = 0, max_hops = 0;
    for (int l = 0; l < LOOKUPS; l++) {
        uint32_t cur = (uint32_t)(rng_next(&s) % NODES);
        drt_key target = random_key(&s);
        if (l % 4 == 0)
            target = keys[rng_next(&s) % NODES]; /* exact lookups too */
        unsigned hops = 0;
        for (;;) {
            struct route_cache_entry best;
            assert_int_equal(route_cache_closest_to(rc[cur], &target, &best, 1), 1);
            if (best.flags & ROUTE_CACHE_LOCAL)
                break;
            cur = node_of(&best.ep);
            hops++;
            assert_true(hops <= 64);
        }
        uint32_t truth = 0;
        for (uint32_t i = 1; i < NODES; i++)
            if (key256_closer(&target, &keys[i], &keys[truth]) < 0)
                truth = i;
        assert_int_equal(cur, truth);
        total_hops += hops;
        if (hops > max_hops)
            max_hops = hops;
    }
    double mean = (double)total_hops / LOOKUPS;
    print_message("routing %d nodes: mean %.2f hops, max %u, %.1f entries per cache\n", NODES,
                  mean, max_hops, (double)entries / NODES);
    assert_true(mean <= 4.0);
    assert_true(max_hops <= 8);

    for (uint32_t i = 0; i < NODES; i++)
        route_cache_destroy(rc[i]);
    free(order);
    free(rc);
    free(keys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_refuses_configs_out_of_bounds),
        cmocka_unit_test(test_pool_grows_on_demand_up_to_the_cap),
        cmocka_unit_test(test_verified_offer_is_inserted_then_refreshed),
        cmocka_unit_test(test_pending_entry_is_held_aside_until_verified),
        cmocka_unit_test(test_hearsay_never_overrides_a_verified_entry),
        cmocka_unit_test(test_pending_cap_drops_the_oldest_and_expiry_drops_overdue),
        cmocka_unit_test(test_full_bucket_keeps_incumbents_unless_newcomer_is_better),
        cmocka_unit_test(test_pending_offer_nobody_would_keep_is_refused),
        cmocka_unit_test(test_full_pool_evicts_table_entries_never_leaf_set_entries),
        cmocka_unit_test(test_leaf_gap_is_refilled_from_the_pool_and_reported),
        cmocka_unit_test(test_leafset_wraps_through_zero),
        cmocka_unit_test(test_local_keys_reorganise_the_tables),
        cmocka_unit_test(test_next_hops_match_a_brute_force_sort),
        cmocka_unit_test(test_equidistant_keys_go_to_the_smaller_one),
        cmocka_unit_test(test_entries_in_range_are_sorted_and_capped),
        cmocka_unit_test(test_pick_spread_is_distinct_and_spread),
        cmocka_unit_test(test_random_churn_keeps_caps_and_exact_leaf_sets),
        cmocka_unit_test(test_greedy_routing_over_1000_nodes_takes_log16_hops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
