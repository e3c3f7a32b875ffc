/* test_engine_referral.c - which next hop a LOOKUP answer names
 * (docs/PROTOCOL.md, choice 12): among the closest unvisited peers, the
 * closest one heard from within two maintenance periods, else the closest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/engine_internal.h"

#define MAINTENANCE_MS 15000u
#define FRESH_MS (2 * MAINTENANCE_MS)

static uint64_t counter_random(void *ctx)
{
    uint64_t *s = ctx;
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    return z ^ (z >> 31);
}

static uint64_t rng_state = 3;

/* The target is 0x80 00..; peers sit above it at growing distances. */
static const uint8_t target[32] = {0x80};

static struct engine_peer peer_at(uint8_t dist, uint8_t host)
{
    struct engine_peer p;
    memset(&p, 0, sizeof(p));
    p.key[0] = 0x80;
    p.key[1] = dist;
    p.ep.addr[0] = 0xfd;
    p.ep.addr[15] = host;
    p.ep.port = 3540;
    return p;
}

struct fixture {
    struct drt_engine *e;
    struct engine_peer near, middle, far;
};

/* An engine far from the target that heard from `near` at t = 1000 and
 * from `middle` and `far` later, at `later`. */
static void setup(struct fixture *f, uint64_t later)
{
    struct drt_engine_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.version_major = 1;
    cfg.self.addr[15] = 1;
    cfg.self.port = 3540;
    cfg.random = counter_random;
    cfg.random_ctx = &rng_state;
    cfg.maintenance_ms = MAINTENANCE_MS;
    f->e = drt_engine_create(&cfg, 1000);
    assert_non_null(f->e);
    f->near = peer_at(1, 10);
    f->middle = peer_at(2, 11);
    f->far = peer_at(3, 12);
    engine_cache_verified(f->e, &f->near);
    f->e->now = later;
    engine_cache_verified(f->e, &f->middle);
    engine_cache_verified(f->e, &f->far);
}

static struct engine_peer referral(struct fixture *f, const uint8_t *beat)
{
    struct engine_peer out;
    memset(&out, 0, sizeof(out));
    assert_true(engine_cache_best_unvisited(f->e, target, NULL, NULL, beat, &out));
    return out;
}

static void test_the_closest_fresh_peer_is_named_before_a_stale_closer_one(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, 1000 + FRESH_MS + 1);
    struct engine_peer got = referral(&f, NULL);
    assert_memory_equal(got.key, f.middle.key, 32);
    drt_engine_destroy(f.e);
}

static void test_all_fresh_or_all_stale_the_closest_is_named(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, 1000 + FRESH_MS); /* near is still fresh, at the limit */
    assert_memory_equal(referral(&f, NULL).key, f.near.key, 32);
    f.e->now += 2 * FRESH_MS;   /* now every entry is stale */
    assert_memory_equal(referral(&f, NULL).key, f.near.key, 32);
    drt_engine_destroy(f.e);
}

/* Without the A flag an answer must beat the answerer's own key: a fresh
 * peer that does not is no choice, and the stale closest one is named. */
static void test_a_fresh_peer_that_does_not_beat_the_answerer_is_skipped(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, 1000 + FRESH_MS + 1);
    struct engine_peer between = peer_at(2, 0); /* beat: 0x80 02..: middle ties, far loses */
    between.key[31] = 0;
    assert_memory_equal(referral(&f, between.key).key, f.near.key, 32);
    /* A beat that middle passes leaves it the choice. */
    struct engine_peer beyond = peer_at(3, 0);
    assert_memory_equal(referral(&f, beyond.key).key, f.middle.key, 32);
    drt_engine_destroy(f.e);
}

static void test_visited_peers_are_never_named(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, 1000 + FRESH_MS + 1);
    struct wire_endpoints path;
    memset(&path, 0, sizeof(path));
    path.count = 1;
    memcpy(path.e[0].addr, f.middle.ep.addr, 16);
    path.e[0].port = f.middle.ep.port;
    struct engine_peer out;
    assert_true(engine_cache_best_unvisited(f.e, target, &path, NULL, NULL, &out));
    assert_memory_equal(out.key, f.far.key, 32); /* the fresh one left */
    assert_true(engine_cache_best_unvisited(f.e, target, &path, &f.far.ep, NULL, &out));
    assert_memory_equal(out.key, f.near.key, 32); /* none fresh left: the closest */
    drt_engine_destroy(f.e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_closest_fresh_peer_is_named_before_a_stale_closer_one),
        cmocka_unit_test(test_all_fresh_or_all_stale_the_closest_is_named),
        cmocka_unit_test(test_a_fresh_peer_that_does_not_beat_the_answerer_is_skipped),
        cmocka_unit_test(test_visited_peers_are_never_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
