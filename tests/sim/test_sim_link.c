/* test_sim_link.c - the link model: delay bounds and shape, loss, duplication,
 * reordering, per-pair overrides. Rates are checked over 100,000 datagrams
 * against bounds of six standard errors, so a correct model fails about
 * once in a few hundred million runs (and the seed is fixed anyway). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "sim/sim.h"
#include "sim/sim_test.h"
#include "sim/sim_toy.h"

/* A receiver that measures each datagram's delay and arrival order from
 * the (send time, sequence number) the sender put in the payload. */
struct probe {
    struct toy t;
    uint64_t n, min_delay, max_delay, sum_delay, over;
    uint64_t over_threshold;
    uint64_t last_seq, inversions;
};

struct stamp {
    uint64_t sent_us;
    uint64_t seq;
};

static void probe_datagram(void *ctx, struct sim *sim, const struct drt_endpoint *from,
                           const struct drt_endpoint *to, const uint8_t *buf, size_t len,
                           uint64_t now_us)
{
    struct probe *p = ctx;
    struct stamp s;
    assert_int_equal(len, sizeof(s));
    memcpy(&s, buf, sizeof(s));
    uint64_t d = now_us - s.sent_us;
    if (p->n == 0 || d < p->min_delay)
        p->min_delay = d;
    if (d > p->max_delay)
        p->max_delay = d;
    p->sum_delay += d;
    p->over += d > p->over_threshold;
    p->inversions += p->n > 0 && s.seq < p->last_seq;
    p->last_seq = s.seq;
    p->n++;
}

static const struct sim_node_ops probe_ops = {probe_datagram, toy_on_timer, NULL, NULL};

struct bench {
    struct sim *sim;
    struct toy src;
    struct probe dst;
};

static void bench_open(struct bench *b, uint64_t seed, const struct sim_link *link)
{
    struct sim_config cfg;
    sim_config_default(&cfg);
    cfg.seed = seed;
    cfg.link = *link;
    b->sim = sim_create(&cfg);
    assert_non_null(b->sim);
    assert_int_equal(toy_add(b->sim, &b->src, 1), SIM_OK);
    memset(&b->dst, 0, sizeof(b->dst));
    b->dst.t.ep = sim_test_endpoint(2);
    b->dst.over_threshold = UINT64_MAX;
    assert_int_equal(sim_node_add(b->sim, &b->dst.t.ep, &probe_ops, &b->dst, &b->dst.t.id), SIM_OK);
}

/* Sends n stamped datagrams, one every gap_us, then lets them all land. */
static void bench_stream(struct bench *b, uint64_t n, uint64_t gap_us)
{
    for (uint64_t i = 0; i < n; i++) {
        struct stamp s = {sim_now(b->sim), i};
        assert_int_equal(sim_send(b->sim, &b->src.ep, &b->dst.t.ep, &s, sizeof(s)), SIM_OK);
        if (gap_us)
            assert_int_equal(sim_run_for(b->sim, gap_us), SIM_OK);
    }
    assert_int_equal(sim_run_until_idle(b->sim), SIM_OK);
}

static double absd(double x)
{
    return x < 0 ? -x : x;
}

SIM_TEST(test_uniform_jitter_stays_within_base_and_base_plus_jitter)
{
    struct bench b;
    bench_open(&b, seed, &(struct sim_link){.base_us = 10000, .jitter_us = 2000});
    bench_stream(&b, 100000, 0);
    assert_int_equal(b.dst.n, 100000);
    assert_true(b.dst.min_delay >= 10000 && b.dst.max_delay <= 12000);
    /* Both ends of the range are reached, and the mean sits in the middle
     * (standard error 577/sqrt(1e5) ~ 1.8 us). */
    assert_true(b.dst.min_delay < 10010 && b.dst.max_delay > 11990);
    assert_true(absd((double)b.dst.sum_delay / b.dst.n - 11000.0) < 12.0);
    sim_destroy(b.sim);
}

SIM_TEST(test_exponential_tail_has_its_mean_and_a_hard_cap)
{
    struct bench b;
    bench_open(&b, seed, &(struct sim_link){.base_us = 1000, .tail_mean_us = 5000});
    b.dst.over_threshold = 1000 + 3 * 5000;
    bench_stream(&b, 100000, 0);
    assert_true(b.dst.min_delay >= 1000);
    assert_true(b.dst.max_delay <= 1000 + 16 * 5000);
    /* Mean 5000 above base; standard error 5000/sqrt(1e5) ~ 16 us. */
    assert_true(absd((double)b.dst.sum_delay / b.dst.n - 6000.0) < 100.0);
    /* A heavy tail: P(X > 3 means) = e^-3 ~ 4.98%; sd of the count ~ 69. */
    assert_true(b.dst.over > 4980 - 420 && b.dst.over < 4980 + 420);
    sim_destroy(b.sim);
}

SIM_TEST(test_base_latency_grows_with_distance_on_the_plane)
{
    struct bench b;
    bench_open(&b, seed, &(struct sim_link){.base_us = 5000, .plane_us = 40000});
    assert_int_equal(sim_node_set_position(b.sim, b.src.id, 0.0, 0.0), SIM_OK);
    assert_int_equal(sim_node_set_position(b.sim, b.dst.t.id, 0.6, 0.8), SIM_OK);
    bench_stream(&b, 10, 0);
    /* Distance 1.0 exactly: no randomness is configured, so no spread. */
    assert_true(b.dst.min_delay == 45000 && b.dst.max_delay == 45000);
    assert_int_equal(sim_node_set_position(b.sim, b.dst.t.id, 0.0, 0.0), SIM_OK);
    b.dst.n = 0;
    b.dst.max_delay = 0;
    bench_stream(&b, 10, 0);
    assert_true(b.dst.min_delay == 5000 && b.dst.max_delay == 5000);
    assert_int_equal(sim_node_set_position(b.sim, b.dst.t.id, 1.5, 0.0), SIM_E_INVALID);
    sim_destroy(b.sim);
}

SIM_TEST(test_default_placement_spreads_pairs_between_the_bounds)
{
    struct sim_config cfg;
    sim_config_default(&cfg);
    cfg.seed = seed;
    cfg.link = (struct sim_link){.base_us = 1000, .plane_us = 100000};
    struct sim *sim = sim_create(&cfg);
    enum { N = 200 };
    static struct toy t[N];
    for (uint32_t i = 0; i < N; i++)
        assert_int_equal(toy_add(sim, &t[i], i), SIM_OK);
    /* One datagram at a time, so each delay is the clock's advance. */
    uint64_t lo = UINT64_MAX, hi = 0;
    for (uint32_t i = 1; i < N; i++) {
        uint64_t before = sim_now(sim);
        toy_send_tag(sim, &t[i], &t[(i + 1) % N], i);
        assert_int_equal(sim_run_until_idle(sim), SIM_OK);
        uint64_t d = sim_now(sim) - before;
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
        assert_true(t[(i + 1) % N].received >= 1);
        assert_true(d >= 1000 && d <= 1000 + 141422);
    }
    /* 200 random placements: some pairs near, some far apart. */
    assert_true(lo < 1000 + 20000 && hi > 1000 + 70000);
    sim_destroy(sim);
}

SIM_TEST(test_loss_and_duplication_rates_match_the_configuration)
{
    struct bench b;
    bench_open(&b, seed, &(struct sim_link){.base_us = 1000, .jitter_us = 500, .loss = 0.1, .dup = 0.05});
    enum { N = 100000 };
    bench_stream(&b, N, 0);
    const struct sim_stats *s = sim_stats(b.sim);
    assert_true(s->sent.datagrams == N);
    assert_true(s->sent.bytes == N * sizeof(struct stamp));
    /* Loss: sd = sqrt(N p (1-p)) ~ 95. */
    assert_true(s->lost.datagrams > 10000 - 570 && s->lost.datagrams < 10000 + 570);
    /* Duplication among the 90,000 survivors: sd ~ 65. */
    double dup_expect = 0.05 * (double)(N - s->lost.datagrams);
    assert_true(absd((double)s->duplicated.datagrams - dup_expect) < 390);
    /* Every copy is accounted for. */
    assert_true(s->delivered.datagrams == N - s->lost.datagrams + s->duplicated.datagrams);
    assert_true(b.dst.n == s->delivered.datagrams);
    assert_true(sim_in_flight(b.sim) == 0);
    /* The sender is charged with losses, the receiver with deliveries. */
    assert_true(sim_node_stats(b.sim, b.src.id)->lost.datagrams == s->lost.datagrams);
    assert_true(sim_node_stats(b.sim, b.dst.t.id)->delivered.datagrams == s->delivered.datagrams);
    sim_destroy(b.sim);
}

SIM_TEST(test_reordering_delays_some_datagrams_past_later_ones)
{
    struct bench b;
    bench_open(&b, seed, &(struct sim_link){.base_us = 1000});
    bench_stream(&b, 2000, 100);
    assert_int_equal(b.dst.inversions, 0);
    sim_destroy(b.sim);

    bench_open(&b, seed, &(struct sim_link){.base_us = 1000, .reorder_prob = 0.2, .reorder_us = 5000});
    bench_stream(&b, 2000, 100);
    assert_int_equal(b.dst.n, 2000);
    /* About 400 late datagrams, most of which land after a successor. */
    assert_true(b.dst.inversions > 200 && b.dst.inversions < 600);
    assert_true(b.dst.max_delay <= 6000);
    sim_destroy(b.sim);
}

SIM_TEST(test_pair_override_applies_both_ways_and_can_be_removed)
{
    struct sim *sim = toy_sim_fixed(seed);
    struct toy a, b, c;
    toy_add(sim, &a, 1);
    toy_add(sim, &b, 2);
    toy_add(sim, &c, 3);
    struct sim_link cut = {.base_us = 1000, .loss = 1.0};
    assert_int_equal(sim_link_set_pair(sim, &b.ep, &a.ep, &cut), SIM_OK);
    struct sim_link slow = {.base_us = 70000};
    assert_int_equal(sim_link_set_pair(sim, &a.ep, &c.ep, &slow), SIM_OK);
    for (int i = 0; i < 100; i++) {
        toy_send_tag(sim, &a, &b, 1);
        toy_send_tag(sim, &b, &a, 2);
    }
    toy_send_tag(sim, &c, &a, 3);
    toy_send_tag(sim, &b, &c, 4);
    assert_int_equal(sim_run_until_idle(sim), SIM_OK);
    assert_true(a.received == 1 && b.received == 0);
    assert_true(a.last_rx_us == 70000);
    assert_true(c.received == 1 && c.last_rx_us == 1000);
    assert_true(sim_stats(sim)->lost.datagrams == 200);

    assert_int_equal(sim_link_set_pair(sim, &a.ep, &b.ep, NULL), SIM_OK);
    uint64_t t0 = sim_now(sim);
    toy_send_tag(sim, &a, &b, 5);
    assert_int_equal(sim_run_until_idle(sim), SIM_OK);
    assert_true(b.received == 1 && b.last_rx_us == t0 + 1000);
    sim_destroy(sim);
}

static void test_invalid_probabilities_are_refused(void **state)
{
    struct sim_config cfg;
    sim_config_default(&cfg);
    cfg.link.loss = 1.5;
    assert_null(sim_create(&cfg));
    sim_config_default(&cfg);
    struct sim *sim = sim_create(&cfg);
    assert_non_null(sim);
    struct sim_link l = {.dup = -0.1};
    assert_int_equal(sim_link_set_default(sim, &l), SIM_E_INVALID);
    l = (struct sim_link){.reorder_prob = NAN};
    assert_int_equal(sim_link_set_default(sim, &l), SIM_E_INVALID);
    struct drt_endpoint x = sim_test_endpoint(1), y = sim_test_endpoint(2);
    l = (struct sim_link){.loss = 2};
    assert_int_equal(sim_link_set_pair(sim, &x, &y, &l), SIM_E_INVALID);
    l = (struct sim_link){.base_us = 5, .loss = 0.25};
    assert_int_equal(sim_link_set_default(sim, &l), SIM_OK);
    assert_true(sim_link_default(sim)->base_us == 5);
    uint8_t big[SIM_MAX_DATAGRAM + 1] = {0};
    assert_int_equal(sim_send(sim, &x, &y, big, sizeof(big)), SIM_E_INVALID);
    assert_int_equal(sim_send(sim, &x, &y, NULL, 3), SIM_E_INVALID);
    assert_int_equal(sim_send(sim, &x, &y, NULL, 0), SIM_OK);
    sim_destroy(sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SIM_UNIT_TEST(test_uniform_jitter_stays_within_base_and_base_plus_jitter),
        SIM_UNIT_TEST(test_exponential_tail_has_its_mean_and_a_hard_cap),
        SIM_UNIT_TEST(test_base_latency_grows_with_distance_on_the_plane),
        SIM_UNIT_TEST(test_default_placement_spreads_pairs_between_the_bounds),
        SIM_UNIT_TEST(test_loss_and_duplication_rates_match_the_configuration),
        SIM_UNIT_TEST(test_reordering_delays_some_datagrams_past_later_ones),
        SIM_UNIT_TEST(test_pair_override_applies_both_ways_and_can_be_removed),
        cmocka_unit_test(test_invalid_probabilities_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
