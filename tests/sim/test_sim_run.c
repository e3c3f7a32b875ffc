/* test_sim_run.c - callbacks that send and re-arm, node timers, and the
 * per-call event limit that keeps a runaway node from hanging a test. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "sim/sim.h"
#include "sim/sim_test.h"
#include "sim/sim_toy.h"

/* A relay forwards what it hears to the next relay, decrementing a hop
 * count carried in the payload, all from inside on_datagram. */
struct relay {
    struct toy t;
    const struct drt_endpoint *next;
};

static void relay_datagram(void *ctx, struct sim *sim, const struct drt_endpoint *from,
                           const struct drt_endpoint *to, const uint8_t *buf, size_t len,
                           uint64_t now_us)
{
    struct relay *r = ctx;
    toy_on_datagram(&r->t, sim, from, to, buf, len, now_us);
    uint32_t hops = toy_tag(buf, len);
    if (hops > 0) {
        hops--;
        assert_int_equal(sim_send(sim, &r->t.ep, r->next, &hops, sizeof(hops)), SIM_OK);
    }
}

static const struct sim_node_ops relay_ops = {relay_datagram, toy_on_timer, NULL, NULL};

SIM_TEST(test_sends_from_inside_callbacks_travel_on)
{
    struct sim *sim = toy_sim_fixed(seed);
    enum { R = 10 };
    struct relay r[R];
    for (uint32_t i = 0; i < R; i++) {
        memset(&r[i], 0, sizeof(r[i]));
        r[i].t.ep = sim_test_endpoint(i);
        assert_int_equal(sim_node_add(sim, &r[i].t.ep, &relay_ops, &r[i], &r[i].t.id), SIM_OK);
    }
    for (uint32_t i = 0; i < R; i++)
        r[i].next = &r[(i + 1) % R].t.ep;
    uint32_t hops = 95;
    sim_send(sim, &r[R - 1].t.ep, &r[0].t.ep, &hops, sizeof(hops));
    assert_int_equal(sim_run_until_idle(sim), SIM_OK);
    /* 96 deliveries round the ring, 1 ms apiece. */
    uint64_t total = 0;
    for (uint32_t i = 0; i < R; i++)
        total += r[i].t.received;
    assert_true(total == 96);
    assert_true(sim_now(sim) == 96 * 1000);
    assert_true(r[5].t.log_tag[0] == 90 && r[5].t.log_us[0] == 6000);
    sim_destroy(sim);
}

SIM_TEST(test_deadline_replaces_the_previous_one)
{
    struct sim *sim = toy_sim_fixed(seed);
    struct toy a;
    toy_add(sim, &a, 1);
    assert_true(sim_node_deadline(sim, a.id) == SIM_TIME_NEVER);
    sim_node_set_deadline(sim, a.id, 5000);
    sim_node_set_deadline(sim, a.id, 2000); /* earlier */
    assert_true(sim_node_deadline(sim, a.id) == 2000);
    assert_int_equal(sim_run_until(sim, 10000), SIM_OK);
    assert_int_equal(a.timers, 1);
    assert_true(a.last_timer_us == 2000);
    assert_true(sim_node_deadline(sim, a.id) == SIM_TIME_NEVER);

    sim_node_set_deadline(sim, a.id, 12000);
    sim_node_set_deadline(sim, a.id, 30000); /* later */
    assert_int_equal(sim_run_until(sim, 20000), SIM_OK);
    assert_int_equal(a.timers, 1);
    assert_int_equal(sim_run_until(sim, 30000), SIM_OK);
    assert_int_equal(a.timers, 2);

    sim_node_set_deadline(sim, a.id, 40000);
    sim_node_set_deadline(sim, a.id, SIM_TIME_NEVER); /* disarmed */
    assert_int_equal(sim_run_until_idle(sim), SIM_OK);
    assert_int_equal(a.timers, 2);
    assert_int_equal(sim_pending(sim), 0);

    /* A deadline in the past fires at once. */
    sim_node_set_deadline(sim, a.id, 10);
    assert_int_equal(sim_step(sim), 1);
    assert_true(a.last_timer_us == 30000);
    sim_destroy(sim);
}

SIM_TEST(test_periodic_timer_rearmed_from_its_callback)
{
    struct sim *sim = toy_sim_fixed(seed);
    struct toy a;
    toy_add(sim, &a, 1);
    a.rearm_us = 250;
    sim_node_set_deadline(sim, a.id, 250);
    assert_int_equal(sim_run_until(sim, 100000), SIM_OK);
    assert_int_equal(a.timers, 400);
    assert_true(sim_stats(sim)->timers == 400);
    assert_true(sim_node_stats(sim, a.id)->timers == 400);
    assert_true(sim_node_stats(sim, a.id)->events == 400);
    /* Re-arming in place leaves one queued timer, never a pile. */
    assert_int_equal(sim_pending(sim), 1);
    sim_destroy(sim);
}

SIM_TEST(test_runaway_node_hits_the_event_limit)
{
    struct sim *sim = toy_sim_fixed(seed);
    struct toy a;
    toy_add(sim, &a, 1);
    a.rearm_at_now = true; /* a bug: wakes itself at the same instant forever */
    sim_set_event_limit(sim, 1000);
    sim_node_set_deadline(sim, a.id, 50);
    assert_int_equal(sim_run_until(sim, 1000000), SIM_E_EVENT_LIMIT);
    assert_int_equal(a.timers, 1000);
    /* The clock stayed at the instant the node is stuck in. */
    assert_true(sim_now(sim) == 50);
    assert_int_equal(sim_run_for(sim, 10), SIM_E_EVENT_LIMIT);
    assert_int_equal(a.timers, 2000);
    assert_int_equal(sim_run_until_idle(sim), SIM_E_EVENT_LIMIT);
    /* Fixed, the run goes on normally. */
    a.rearm_at_now = false;
    assert_int_equal(sim_run_until(sim, 1000000), SIM_OK);
    assert_int_equal(a.timers, 3001);
    assert_true(sim_now(sim) == 1000000);
    assert_string_equal(sim_result_str(SIM_E_EVENT_LIMIT), "event limit reached");
    sim_destroy(sim);
}

/* A node that tries to run the simulator from inside its own callback. */
static int reentry_rc;

static void reenter(void *ctx, struct sim *sim, uint64_t now_us)
{
    reentry_rc = sim_run_for(sim, 1000);
    int step_rc = sim_step(sim);
    assert_int_equal(step_rc, SIM_E_REENTRANT);
}

static void reenter_call(struct sim *sim, void *arg, uint64_t now_us)
{
    assert_int_equal(sim_run_until_idle(sim), SIM_E_REENTRANT);
}

static const struct sim_node_ops reenter_ops = {toy_on_datagram, reenter, NULL, NULL};

SIM_TEST(test_running_from_inside_a_callback_is_refused)
{
    struct sim *sim = toy_sim_fixed(seed);
    struct toy a;
    memset(&a, 0, sizeof(a));
    a.ep = sim_test_endpoint(1);
    sim_node_add(sim, &a.ep, &reenter_ops, &a, &a.id);
    sim_node_set_deadline(sim, a.id, 10);
    sim_at(sim, 20, reenter_call, NULL);
    reentry_rc = SIM_OK;
    assert_int_equal(sim_run_until_idle(sim), SIM_OK);
    assert_int_equal(reentry_rc, SIM_E_REENTRANT);
    assert_true(sim_now(sim) == 20);
    sim_destroy(sim);
}

/* Nodes added from inside a callback can be talked to at once, and the
 * node array may move under the caller without harm. */
static struct toy grown[300];

static void add_many(void *ctx, struct sim *sim, const struct drt_endpoint *from,
                     const struct drt_endpoint *to, const uint8_t *buf, size_t len,
                     uint64_t now_us)
{
    struct toy *t = ctx;
    t->received++;
    for (uint32_t i = 0; i < 300; i++) {
        assert_int_equal(toy_add(sim, &grown[i], 1000 + i), SIM_OK);
        toy_send_tag(sim, t, &grown[i], i);
    }
    /* `to` was copied before the call: still readable after the growth. */
    assert_true(drt_endpoint_equal(to, &t->ep));
}

static const struct sim_node_ops add_many_ops = {add_many, toy_on_timer, NULL, NULL};

SIM_TEST(test_nodes_added_from_a_callback_are_reachable_at_once)
{
    struct sim *sim = toy_sim_fixed(seed);
    struct toy a, b;
    toy_add(sim, &a, 1);
    memset(&b, 0, sizeof(b));
    b.ep = sim_test_endpoint(2);
    sim_node_add(sim, &b.ep, &add_many_ops, &b, &b.id);
    toy_send_tag(sim, &a, &b, 0);
    assert_int_equal(sim_run_until_idle(sim), SIM_OK);
    assert_int_equal(sim_node_count(sim), 302);
    for (uint32_t i = 0; i < 300; i++)
        assert_int_equal(grown[i].received, 1);
    sim_destroy(sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SIM_UNIT_TEST(test_sends_from_inside_callbacks_travel_on),
        SIM_UNIT_TEST(test_deadline_replaces_the_previous_one),
        SIM_UNIT_TEST(test_periodic_timer_rearmed_from_its_callback),
        SIM_UNIT_TEST(test_runaway_node_hits_the_event_limit),
        SIM_UNIT_TEST(test_running_from_inside_a_callback_is_refused),
        SIM_UNIT_TEST(test_nodes_added_from_a_callback_are_reachable_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
