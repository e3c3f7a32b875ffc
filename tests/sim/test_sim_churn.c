/* test_sim_churn.c - nodes join, leave and crash; traffic to nobody is counted. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "sim/sim.h"
#include "sim/sim_test.h"
#include "sim/sim_toy.h"

static uint64_t accounted(const struct sim_stats *s, uint64_t in_flight)
{
    return s->delivered.datagrams + s->lost.datagrams + s->dropped_partition.datagrams +
           s->dropped_unknown.datagrams + s->dropped_crash.datagrams + in_flight;
}

SIM_TEST(test_crash_drops_pending_timer_and_datagrams_in_flight)
{
    struct sim *sim = toy_sim_fixed(seed);
    struct toy a, b;
    toy_add(sim, &a, 1);
    toy_add(sim, &b, 2);
    for (uint32_t i = 0; i < 3; i++)
        toy_send_tag(sim, &a, &b, i);
    assert_int_equal(sim_node_set_deadline(sim, b.id, 500), SIM_OK);
    assert_true(sim_in_flight(sim) == 3);
    assert_int_equal(sim_node_crash_at(sim, b.id, 200), SIM_OK);
    assert_int_equal(sim_run_until(sim, 200), SIM_OK);

    assert_int_equal(b.crashes, 1);
    assert_false(sim_node_alive(sim, b.id));
    assert_int_equal(sim_node_find(sim, &b.ep), SIM_NODE_NONE);
    assert_int_equal(sim_node_count(sim), 1);
    assert_true(sim_node_deadline(sim, b.id) == SIM_TIME_NEVER);
    const struct sim_stats *s = sim_stats(sim);
    assert_true(s->dropped_crash.datagrams == 3 && s->dropped_crash.bytes == 12);
    assert_true(sim_node_stats(sim, b.id)->dropped_crash.datagrams == 3);
    assert_true(sim_in_flight(sim) == 0);

    assert_int_equal(sim_run_until_idle(sim), SIM_OK);
    assert_int_equal(b.received, 0);
    assert_int_equal(b.timers, 0);
    assert_int_equal(sim_pending(sim), 0);
    /* Written off once, not again when the stale copies surface. */
    assert_true(s->dropped_crash.datagrams == 3);
    assert_true(accounted(s, 0) == s->sent.datagrams + s->duplicated.datagrams);
    /* Calls on a removed node are refused or harmless. */
    assert_int_equal(sim_node_set_deadline(sim, b.id, 900), SIM_E_INVALID);
    assert_int_equal(sim_node_crash(sim, b.id), SIM_OK);
    assert_int_equal(b.crashes, 1);
    assert_int_equal(sim_node_crash(sim, 77), SIM_E_INVALID);
    sim_destroy(sim);
}

SIM_TEST(test_traffic_to_an_unknown_endpoint_is_dropped_and_counted)
{
    struct sim *sim = toy_sim_fixed(seed);
    struct toy a, b;
    toy_add(sim, &a, 1);
    toy_add(sim, &b, 2);
    struct drt_endpoint nobody = sim_test_endpoint(3);
    for (int i = 0; i < 5; i++)
        assert_int_equal(sim_send(sim, &a.ep, &nobody, "hello", 5), SIM_OK);
    sim_node_crash(sim, b.id);
    toy_send_tag(sim, &a, &b, 9);
    assert_int_equal(sim_run_until_idle(sim), SIM_OK);
    const struct sim_stats *s = sim_stats(sim);
    assert_true(s->dropped_unknown.datagrams == 6);
    assert_true(s->dropped_unknown.bytes == 5 * 5 + 4);
    assert_true(sim_node_stats(sim, a.id)->dropped_unknown.datagrams == 6);
    assert_true(sim_node_stats(sim, a.id)->sent.datagrams == 6);
    sim_destroy(sim);
}

SIM_TEST(test_restarted_endpoint_never_sees_its_predecessors_traffic)
{
    struct sim *sim = toy_sim_fixed(seed);
    struct toy a, b, b2;
    toy_add(sim, &a, 1);
    toy_add(sim, &b, 2);
    toy_send_tag(sim, &a, &b, 1);
    sim_run_until(sim, 100);
    sim_node_crash(sim, b.id);
    assert_int_equal(toy_add(sim, &b2, 2), SIM_OK);
    assert_true(b2.id != b.id);
    assert_int_equal(sim_node_find(sim, &b2.ep), b2.id);
    toy_send_tag(sim, &a, &b2, 2);
    assert_int_equal(sim_run_until_idle(sim), SIM_OK);
    assert_int_equal(b.received, 0);
    assert_int_equal(b2.received, 1);
    assert_int_equal(b2.log_tag[0], 2);
    sim_destroy(sim);
}

SIM_TEST(test_graceful_leave_calls_back_first_then_removes)
{
    struct sim *sim = toy_sim_fixed(seed);
    struct toy a, b;
    toy_add(sim, &a, 1);
    toy_add(sim, &b, 2);
    b.goodbye_to = &a.ep;
    sim_node_set_deadline(sim, b.id, 5000);
    toy_send_tag(sim, &a, &b, 1);
    assert_int_equal(sim_node_leave_at(sim, b.id, 300), SIM_OK);
    assert_int_equal(sim_run_until_idle(sim), SIM_OK);
    assert_int_equal(b.leaves, 1);
    assert_int_equal(b.crashes, 0);
    assert_int_equal(b.received, 0);
    assert_int_equal(b.timers, 0);
    /* The goodbye sent from on_leave made it out. */
    assert_int_equal(a.received, 1);
    assert_int_equal(a.last_len, 4);
    assert_true(a.last_rx_us == 300 + 1000);
    assert_true(drt_endpoint_equal(&a.last_from, &b.ep));
    assert_false(sim_node_alive(sim, b.id));
    assert_int_equal(sim_node_leave(sim, b.id), SIM_OK);
    assert_int_equal(b.leaves, 1);
    sim_destroy(sim);
}

struct joiner {
    struct toy t;
    uint32_t index;
};

static void join_now(struct sim *sim, void *arg, uint64_t now_us)
{
    struct joiner *j = arg;
    assert_int_equal(toy_add(sim, &j->t, j->index), SIM_OK);
}

SIM_TEST(test_node_added_at_a_later_time_receives_only_from_then)
{
    struct sim *sim = toy_sim_fixed(seed);
    struct toy a;
    toy_add(sim, &a, 1);
    struct joiner j = {.index = 2};
    struct drt_endpoint later = sim_test_endpoint(2);
    assert_int_equal(sim_at(sim, 10000, join_now, &j), SIM_OK);
    sim_send(sim, &a.ep, &later, "early", 5);
    assert_int_equal(sim_run_until(sim, 10000), SIM_OK);
    assert_int_equal(sim_node_count(sim), 2);
    sim_send(sim, &a.ep, &later, "late!", 5);
    assert_int_equal(sim_run_until_idle(sim), SIM_OK);
    assert_int_equal(j.t.received, 1);
    assert_true(j.t.last_rx_us == 11000);
    assert_true(sim_stats(sim)->dropped_unknown.datagrams == 1);
    sim_destroy(sim);
}

/* A node that crashes itself when it hears anything. */
static void crash_self(void *ctx, struct sim *sim, const struct drt_endpoint *from,
                       const struct drt_endpoint *to, const uint8_t *buf, size_t len,
                       uint64_t now_us)
{
    struct toy *t = ctx;
    t->received++;
    sim_send(sim, &t->ep, from, "last", 4);
    sim_node_crash(sim, t->id);
}

static const struct sim_node_ops crash_self_ops = {crash_self, toy_on_timer, toy_on_crash, NULL};

SIM_TEST(test_node_may_crash_itself_from_its_own_callback)
{
    struct sim *sim = toy_sim_fixed(seed);
    struct toy a, b;
    toy_add(sim, &a, 1);
    memset(&b, 0, sizeof(b));
    b.ep = sim_test_endpoint(2);
    assert_int_equal(sim_node_add(sim, &b.ep, &crash_self_ops, &b, &b.id), SIM_OK);
    toy_send_tag(sim, &a, &b, 1);
    toy_send_tag(sim, &a, &b, 2);
    assert_int_equal(sim_run_until_idle(sim), SIM_OK);
    assert_int_equal(b.received, 1);
    assert_int_equal(b.crashes, 1);
    assert_int_equal(a.received, 1);
    assert_true(sim_stats(sim)->dropped_crash.datagrams == 1);
    sim_destroy(sim);
}

static void test_adding_a_taken_endpoint_or_bad_ops_is_refused(void **state)
{
    struct sim *sim = toy_sim_fixed(1);
    struct toy a, a2;
    assert_int_equal(toy_add(sim, &a, 1), SIM_OK);
    assert_int_equal(toy_add(sim, &a2, 1), SIM_E_EXISTS);
    struct sim_node_ops no_timer = {toy_on_datagram, NULL, NULL, NULL};
    struct drt_endpoint ep = sim_test_endpoint(5);
    assert_int_equal(sim_node_add(sim, &ep, &no_timer, NULL, NULL), SIM_E_INVALID);
    assert_int_equal(sim_node_add(sim, &ep, &toy_ops, NULL, NULL), SIM_OK);
    assert_ptr_equal(sim_node_ctx(sim, a.id), &a);
    assert_true(drt_endpoint_equal(sim_node_endpoint(sim, a.id), &a.ep));
    assert_null(sim_node_endpoint(sim, 99));
    assert_null(sim_node_stats(sim, 99));
    sim_destroy(sim);
}

/* Random churn with a lossy, duplicating network: every datagram sent must
 * end up in exactly one bucket. */
SIM_TEST(test_every_datagram_is_accounted_for_under_churn)
{
    struct sim_config cfg;
    sim_config_default(&cfg);
    cfg.seed = seed;
    cfg.link.loss = 0.03;
    cfg.link.dup = 0.03;
    cfg.link.tail_mean_us = 20000;
    struct sim *sim = sim_create(&cfg);
    enum { N = 100 };
    static struct toy t[N];
    for (uint32_t i = 0; i < N; i++) {
        toy_add(sim, &t[i], i);
        t[i].echo = true;
    }
    for (int round = 0; round < 50; round++) {
        for (int k = 0; k < 40; k++) {
            uint32_t x = (uint32_t)sim_rand_below(sim, N), y = (uint32_t)sim_rand_below(sim, N);
            toy_send_tag(sim, &t[x], &t[y], (uint32_t)round);
        }
        uint32_t victim = (uint32_t)sim_rand_below(sim, N);
        if (sim_node_alive(sim, t[victim].id)) {
            if (round % 2)
                sim_node_crash(sim, t[victim].id);
            else
                sim_node_leave(sim, t[victim].id);
        } else {
            toy_add(sim, &t[victim], victim);
            t[victim].echo = true;
        }
        sim_partition_set(sim, t[(uint32_t)sim_rand_below(sim, N)].id, (uint32_t)round % 3);
        /* Echoes keep traffic going; stop each round on a time horizon. */
        sim_run_for(sim, 30000);
        const struct sim_stats *s = sim_stats(sim);
        assert_true(accounted(s, sim_in_flight(sim)) == s->sent.datagrams + s->duplicated.datagrams);
    }
    sim_destroy(sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SIM_UNIT_TEST(test_crash_drops_pending_timer_and_datagrams_in_flight),
        SIM_UNIT_TEST(test_traffic_to_an_unknown_endpoint_is_dropped_and_counted),
        SIM_UNIT_TEST(test_restarted_endpoint_never_sees_its_predecessors_traffic),
        SIM_UNIT_TEST(test_graceful_leave_calls_back_first_then_removes),
        SIM_UNIT_TEST(test_node_added_at_a_later_time_receives_only_from_then),
        SIM_UNIT_TEST(test_node_may_crash_itself_from_its_own_callback),
        cmocka_unit_test(test_adding_a_taken_endpoint_or_bad_ops_is_refused),
        SIM_UNIT_TEST(test_every_datagram_is_accounted_for_under_churn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
