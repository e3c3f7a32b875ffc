/*
 * test_ratelimit.c - the request buckets (core/ratelimit.h): a bucket
 * starts full, empties after its burst and refills at its rate; each
 * source has its own; the table stays within its slots, giving up the
 * least recently seen source; proven sources are told apart and kept.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/ratelimit.h"

static struct drt_endpoint source(uint32_t n)
{
    struct drt_endpoint ep;
    memset(&ep, 0, sizeof(ep));
    ep.addr[0] = 0xfd;
    memcpy(ep.addr + 12, &n, 4);
    ep.port = (uint16_t)(4000 + n % 1000);
    return ep;
}

static unsigned take_all(struct token_bucket *b, uint32_t rate, uint32_t burst, uint64_t now)
{
    unsigned n = 0;
    while (n < 100000 && token_bucket_take(b, rate, burst, now))
        n++;
    return n;
}

static void test_bucket_starts_full_and_refills_at_its_rate(void **state)
{
    (void)state;
    struct token_bucket b;
    memset(&b, 0, sizeof(b));
    assert_int_equal(take_all(&b, 10, 5, 1000), 5);
    /* 10 a second: one token every 100 ms, none before. */
    assert_false(token_bucket_take(&b, 10, 5, 1099));
    assert_true(token_bucket_take(&b, 10, 5, 1100));
    assert_false(token_bucket_take(&b, 10, 5, 1100));
    assert_int_equal(take_all(&b, 10, 5, 1400), 3);
    /* A long idle time refills up to the burst, never beyond. */
    assert_int_equal(take_all(&b, 10, 5, UINT64_MAX / 2), 5);
}

static void test_bucket_ignores_a_clock_going_back(void **state)
{
    (void)state;
    struct token_bucket b;
    memset(&b, 0, sizeof(b));
    assert_int_equal(take_all(&b, 1000, 2, 50000), 2);
    assert_int_equal(take_all(&b, 1000, 2, 10), 0);
    /* Measured from the new reading on. */
    assert_int_equal(take_all(&b, 1000, 2, 11), 1);
}

static void test_create_rejects_bad_config(void **state)
{
    (void)state;
    struct ratelimit_config c = {4, 10, 5, 1};
    assert_null(ratelimit_create(NULL));
    c.slots = 0;
    assert_null(ratelimit_create(&c));
    c.slots = 4;
    c.rate_per_s = 0;
    assert_null(ratelimit_create(&c));
    c.rate_per_s = 10;
    c.burst = 0;
    assert_null(ratelimit_create(&c));
    c.burst = 5;
    struct ratelimit *rl = ratelimit_create(&c);
    assert_non_null(rl);
    assert_true(ratelimit_memory(rl) > 0);
    ratelimit_destroy(rl);
    ratelimit_destroy(NULL);
}

static unsigned admitted(struct ratelimit *rl, const struct drt_endpoint *ep, unsigned tries,
                         uint64_t now)
{
    unsigned n = 0;
    for (unsigned i = 0; i < tries; i++)
        n += ratelimit_check(rl, ep, now) != RATELIMIT_DENY;
    return n;
}

static void test_each_source_has_its_own_bucket(void **state)
{
    (void)state;
    struct ratelimit_config c = {16, 10, 5, 7};
    struct ratelimit *rl = ratelimit_create(&c);
    struct drt_endpoint a = source(1), b = source(2);
    assert_int_equal(admitted(rl, &a, 50, 1000), 5);
    assert_int_equal(admitted(rl, &b, 50, 1000), 5);
    /* Same address, another port: another source. */
    struct drt_endpoint a2 = a;
    a2.port++;
    assert_int_equal(admitted(rl, &a2, 50, 1000), 5);
    assert_int_equal(admitted(rl, &a, 50, 2000), 5);
    assert_int_equal(ratelimit_sources(rl), 3);
    ratelimit_destroy(rl);
}

static void test_full_table_gives_up_the_least_recently_seen_source(void **state)
{
    (void)state;
    struct ratelimit_config c = {4, 1, 3, 9};
    struct ratelimit *rl = ratelimit_create(&c);
    struct drt_endpoint s[6];
    for (uint32_t i = 0; i < 6; i++)
        s[i] = source(i);
    /* Sources 0..3 fill the table and empty their buckets. */
    for (int i = 0; i < 4; i++)
        assert_int_equal(admitted(rl, &s[i], 10, 1000), 3);
    /* 0 is seen again, so 1 is now the least recent: source 4 takes its
     * slot, and 1 comes back as a stranger with a full bucket (taking
     * 2's slot). */
    assert_int_equal(admitted(rl, &s[0], 1, 1000), 0);
    assert_int_equal(admitted(rl, &s[4], 1, 1000), 1);
    assert_int_equal(ratelimit_evictions(rl), 1);
    assert_int_equal(admitted(rl, &s[1], 10, 1000), 3);
    assert_int_equal(ratelimit_evictions(rl), 2);
    /* 0 and 3 kept their empty buckets. */
    assert_int_equal(admitted(rl, &s[0], 1, 1000), 0);
    assert_int_equal(admitted(rl, &s[3], 1, 1000), 0);
    assert_int_equal(ratelimit_sources(rl), 4);
    ratelimit_destroy(rl);
}

static void test_flood_of_strangers_stays_within_the_table(void **state)
{
    (void)state;
    struct ratelimit_config c = {64, 1, 1, 3};
    struct ratelimit *rl = ratelimit_create(&c);
    size_t mem = ratelimit_memory(rl), at_cap = 0;
    for (uint32_t i = 0; i < 100000; i++) {
        struct drt_endpoint ep = source(i);
        assert_int_equal(ratelimit_check(rl, &ep, 1000), RATELIMIT_ALLOW);
        if (i == 63)
            at_cap = ratelimit_memory(rl);
    }
    assert_int_equal(ratelimit_sources(rl), 64);
    assert_int_equal(ratelimit_evictions(rl), 100000 - 64);
    /* It grew while sources came, up to its slots, and no further. */
    assert_true(mem < at_cap);
    assert_int_equal(ratelimit_memory(rl), at_cap);
    ratelimit_destroy(rl);
}

/* The table grows as sources come (16, 32, ... up to its slots): every
 * source keeps its own bucket through each growth, and a source met again
 * after it is found in the rebuilt chains rather than taken for new. */
static void test_table_grows_with_its_sources_and_keeps_them(void **state)
{
    (void)state;
    struct ratelimit_config c = {100, 1, 2, 11};
    struct ratelimit *rl = ratelimit_create(&c);
    size_t small = ratelimit_memory(rl);
    for (uint32_t i = 0; i < 100; i++) {
        struct drt_endpoint ep = source(i);
        assert_int_equal(admitted(rl, &ep, 5, 1000), 2);
    }
    assert_int_equal(ratelimit_sources(rl), 100);
    assert_int_equal(ratelimit_evictions(rl), 0);
    assert_true(ratelimit_memory(rl) > small);
    /* Every bucket is still empty: nobody was forgotten in the moves. */
    for (uint32_t i = 0; i < 100; i++) {
        struct drt_endpoint ep = source(i);
        assert_int_equal(admitted(rl, &ep, 1, 1000), 0);
    }
    assert_int_equal(ratelimit_sources(rl), 100);
    ratelimit_destroy(rl);
}

static void test_proven_source_is_told_apart_and_kept_through_a_flood(void **state)
{
    (void)state;
    struct ratelimit_config c = {8, 1, 2, 5};
    struct ratelimit *rl = ratelimit_create(&c);
    struct drt_endpoint peer = source(1000000);
    assert_int_equal(ratelimit_check(rl, &peer, 1000), RATELIMIT_ALLOW);
    ratelimit_mark_proven(rl, &peer);
    assert_int_equal(ratelimit_check(rl, &peer, 1000), RATELIMIT_ALLOW_PROVEN);
    assert_int_equal(ratelimit_check(rl, &peer, 1000), RATELIMIT_DENY);
    /* Far more strangers than slots: the peer keeps its slot (and its
     * empty bucket) and its proof. */
    for (uint32_t i = 0; i < 1000; i++) {
        struct drt_endpoint ep = source(i);
        assert_int_equal(ratelimit_check(rl, &ep, 1000), RATELIMIT_ALLOW);
    }
    assert_int_equal(ratelimit_check(rl, &peer, 1000), RATELIMIT_DENY);
    assert_int_equal(ratelimit_check(rl, &peer, 2000), RATELIMIT_ALLOW_PROVEN);
    /* A source first heard of through its answer is tracked as proven. */
    struct drt_endpoint other = source(2000000);
    ratelimit_mark_proven(rl, &other);
    assert_int_equal(ratelimit_check(rl, &other, 2000), RATELIMIT_ALLOW_PROVEN);
    ratelimit_destroy(rl);
}

static void test_table_of_proven_sources_still_takes_strangers(void **state)
{
    (void)state;
    struct ratelimit_config c = {2, 1, 1, 5};
    struct ratelimit *rl = ratelimit_create(&c);
    struct drt_endpoint a = source(1), b = source(2), x = source(3);
    ratelimit_mark_proven(rl, &a);
    ratelimit_mark_proven(rl, &b);
    assert_int_equal(ratelimit_check(rl, &x, 1000), RATELIMIT_ALLOW);
    assert_int_equal(ratelimit_sources(rl), 2);
    assert_int_equal(ratelimit_evictions(rl), 1);
    ratelimit_destroy(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket_starts_full_and_refills_at_its_rate),
        cmocka_unit_test(test_bucket_ignores_a_clock_going_back),
        cmocka_unit_test(test_create_rejects_bad_config),
        cmocka_unit_test(test_each_source_has_its_own_bucket),
        cmocka_unit_test(test_full_table_gives_up_the_least_recently_seen_source),
        cmocka_unit_test(test_flood_of_strangers_stays_within_the_table),
        cmocka_unit_test(test_table_grows_with_its_sources_and_keeps_them),
        cmocka_unit_test(test_proven_source_is_told_apart_and_kept_through_a_flood),
        cmocka_unit_test(test_table_of_proven_sources_still_takes_strangers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
