/* test_sim_order.c - event order, the clock, and bit-for-bit reproducible runs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "sim/sim.h"
#include "sim/sim_test.h"
#include "sim/sim_toy.h"

struct call_log {
    int order[16];
    uint64_t at[16];
    int n;
};

struct call_arg {
    struct call_log *log;
    int tag;
};

static void record_call(struct sim *sim, void *arg, uint64_t now_us)
{
    struct call_arg *a = arg;
    a->log->at[a->log->n] = now_us;
    a->log->order[a->log->n++] = a->tag;
}

SIM_TEST(test_equal_time_events_run_in_insertion_order)
{
    struct sim *sim = toy_sim_fixed(seed);
    struct call_log log = {0};
    struct call_arg args[8];
    /* Interleave two instants so order cannot come from the time alone. */
    for (int i = 0; i < 8; i++) {
        args[i] = (struct call_arg){&log, i};
        assert_int_equal(sim_at(sim, (i % 2) ? 500 : 300, record_call, &args[i]), SIM_OK);
    }
    assert_int_equal(sim_run_until(sim, 1000), SIM_OK);
    int want[8] = {0, 2, 4, 6, 1, 3, 5, 7};
    for (int i = 0; i < 8; i++) {
        assert_int_equal(log.order[i], want[i]);
        assert_true(log.at[i] == (i < 4 ? 300u : 500u));
    }
    sim_destroy(sim);
}

SIM_TEST(test_datagrams_sent_at_one_instant_arrive_in_send_order)
{
    struct sim *sim = toy_sim_fixed(seed);
    struct toy a, b, c;
    assert_int_equal(toy_add(sim, &a, 1), SIM_OK);
    assert_int_equal(toy_add(sim, &b, 2), SIM_OK);
    assert_int_equal(toy_add(sim, &c, 3), SIM_OK);
    for (uint32_t i = 0; i < 10; i++)
        toy_send_tag(sim, (i % 2) ? &a : &b, &c, i);
    assert_int_equal(sim_run_until_idle(sim), SIM_OK);
    assert_int_equal(c.nlog, 10);
    for (uint32_t i = 0; i < 10; i++) {
        assert_int_equal(c.log_tag[i], i);
        assert_true(c.log_us[i] == 1000);
    }
    sim_destroy(sim);
}

SIM_TEST(test_run_until_stops_at_the_horizon_and_sets_the_clock)
{
    struct sim *sim = toy_sim_fixed(seed);
    struct call_log log = {0};
    struct call_arg a0 = {&log, 0}, a1 = {&log, 1};
    sim_at(sim, 100, record_call, &a0);
    sim_at(sim, 200, record_call, &a1);
    assert_int_equal(sim_run_until(sim, 150), SIM_OK);
    assert_true(sim_now(sim) == 150);
    assert_int_equal(log.n, 1);
    assert_int_equal(sim_pending(sim), 1);
    /* Inclusive horizon: an event due exactly at t runs. */
    assert_int_equal(sim_run_until(sim, 200), SIM_OK);
    assert_int_equal(log.n, 2);
    /* The clock never goes back. */
    assert_int_equal(sim_run_until(sim, 50), SIM_OK);
    assert_true(sim_now(sim) == 200);
    assert_int_equal(sim_run_for(sim, 1000), SIM_OK);
    assert_true(sim_now(sim) == 1200);
    /* Scheduling in the past means now. */
    struct call_arg a2 = {&log, 2};
    sim_at(sim, 5, record_call, &a2);
    assert_int_equal(sim_step(sim), 1);
    assert_true(log.at[2] == 1200);
    assert_int_equal(sim_step(sim), 0);
    sim_destroy(sim);
}

SIM_TEST(test_step_runs_exactly_one_event)
{
    struct sim *sim = toy_sim_fixed(seed);
    struct toy a, b;
    toy_add(sim, &a, 1);
    toy_add(sim, &b, 2);
    toy_send_tag(sim, &a, &b, 1);
    sim_node_set_deadline(sim, a.id, 400);
    assert_int_equal(sim_step(sim), 1);
    assert_true(a.timers == 1 && b.received == 0);
    assert_true(sim_now(sim) == 400);
    assert_int_equal(sim_step(sim), 1);
    assert_true(b.received == 1 && sim_now(sim) == 1000);
    assert_int_equal(sim_step(sim), 0);
    assert_true(sim_stats(sim)->events == 2);
    sim_destroy(sim);
}

/* ---- a busy, lossy, jittery scenario whose trace is hashed ------------- */

enum { SCEN_NODES = 200 };

struct chatty {
    struct toy t;
    struct sim *sim;
    uint64_t sent;
};

static struct chatty *scen_nodes;

static void chatty_timer(void *ctx, struct sim *sim, uint64_t now_us)
{
    struct chatty *c = ctx;
    /* Talk to a random peer, then sleep a random while: all of it from
     * the simulator's seeded stream. */
    uint32_t peer = (uint32_t)sim_rand_below(sim, SCEN_NODES);
    uint8_t msg[32];
    uint64_t r = sim_rand_u64(sim);
    memcpy(msg, &r, sizeof(r));
    memset(msg + 8, (int)c->sent, sizeof(msg) - 8);
    sim_send(sim, &c->t.ep, &scen_nodes[peer].t.ep, msg, 8 + sim_rand_below(sim, 24));
    c->sent++;
    sim_node_set_deadline(sim, c->t.id, now_us + 1000 + sim_rand_below(sim, 50000));
}

static const struct sim_node_ops chatty_ops = {toy_on_datagram, chatty_timer, NULL, NULL};

static uint64_t run_scenario(uint64_t seed, struct sim_stats *stats_out)
{
    struct sim_config cfg;
    sim_config_default(&cfg);
    cfg.seed = seed;
    cfg.link.tail_mean_us = 5000;
    cfg.link.loss = 0.05;
    cfg.link.dup = 0.02;
    cfg.link.reorder_prob = 0.1;
    cfg.link.reorder_us = 30000;
    struct sim *sim = sim_create(&cfg);
    assert_non_null(sim);
    uint64_t hash = 0xcbf29ce484222325ull;
    sim_set_trace(sim, sim_test_trace_hash, &hash);
    scen_nodes = calloc(SCEN_NODES, sizeof(*scen_nodes));
    for (uint32_t i = 0; i < SCEN_NODES; i++) {
        struct chatty *c = &scen_nodes[i];
        c->t.ep = sim_test_endpoint(i);
        c->t.echo = (i % 3) == 0;
        assert_int_equal(sim_node_add(sim, &c->t.ep, &chatty_ops, c, &c->t.id), SIM_OK);
        sim_node_set_deadline(sim, c->t.id, sim_rand_below(sim, 10000));
    }
    /* Churn and a partition in the middle, so those paths are hashed too. */
    sim_node_crash_at(sim, 5, 400000);
    sim_node_leave_at(sim, 6, 500000);
    assert_int_equal(sim_run_until(sim, 600000), SIM_OK);
    for (uint32_t i = 0; i < SCEN_NODES / 2; i++)
        sim_partition_set(sim, i, 1);
    assert_int_equal(sim_run_for(sim, 300000), SIM_OK);
    sim_partition_heal(sim);
    assert_int_equal(sim_run_for(sim, 300000), SIM_OK);
    *stats_out = *sim_stats(sim);
    sim_destroy(sim);
    free(scen_nodes);
    return hash;
}

SIM_TEST(test_same_seed_gives_an_identical_trace)
{
    struct sim_stats s1, s2;
    uint64_t h1 = run_scenario(seed, &s1);
    uint64_t h2 = run_scenario(seed, &s2);
    assert_true(h1 == h2);
    assert_memory_equal(&s1, &s2, sizeof(s1));
    /* The scenario really exercised the model. */
    assert_true(s1.events > 10000);
    assert_true(s1.lost.datagrams > 0 && s1.duplicated.datagrams > 0);
    assert_true(s1.dropped_partition.datagrams > 0 && s1.dropped_crash.datagrams > 0);
}

SIM_TEST(test_different_seeds_give_different_traces)
{
    struct sim_stats s1, s2;
    uint64_t h1 = run_scenario(seed, &s1);
    uint64_t h2 = run_scenario(seed + 1, &s2);
    assert_true(h1 != h2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SIM_UNIT_TEST(test_equal_time_events_run_in_insertion_order),
        SIM_UNIT_TEST(test_datagrams_sent_at_one_instant_arrive_in_send_order),
        SIM_UNIT_TEST(test_run_until_stops_at_the_horizon_and_sets_the_clock),
        SIM_UNIT_TEST(test_step_runs_exactly_one_event),
        SIM_UNIT_TEST(test_same_seed_gives_an_identical_trace),
        SIM_UNIT_TEST(test_different_seeds_give_different_traces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
