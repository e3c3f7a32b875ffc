/* test_sim_pingpong.c - 1,000 toy nodes ping random peers for a minute of
 * virtual time (and 10,000 for a few seconds): every ping is answered, the
 * books balance, and the run reports the simulator's throughput. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <time.h>

#include "sim/sim.h"
#include "sim/sim_test.h"

enum { MAX_NODES = 10000, PING = 1, PONG = 2 };

static uint32_t nnodes;
static uint64_t stop_pinging_us;

struct msg {
    uint32_t type;
    uint32_t seq;
    uint64_t sent_us;
};

struct pinger {
    sim_node_id id;
    struct drt_endpoint ep;
    uint32_t next_seq;
    uint64_t pings_sent, pongs_received, pings_answered;
    uint64_t rtt_sum, rtt_max;
};

static struct pinger nodes[MAX_NODES];

static void ping_someone(struct sim *sim, struct pinger *p, uint64_t now_us)
{
    uint32_t peer = (uint32_t)sim_rand_below(sim, nnodes - 1);
    if (peer >= (uint32_t)(p - nodes))
        peer++; /* anyone but ourselves */
    struct msg m = {PING, p->next_seq++, now_us};
    assert_int_equal(sim_send(sim, &p->ep, &nodes[peer].ep, &m, sizeof(m)), SIM_OK);
    p->pings_sent++;
}

static void on_datagram(void *ctx, struct sim *sim, const struct drt_endpoint *from,
                        const struct drt_endpoint *to, const uint8_t *buf, size_t len,
                        uint64_t now_us)
{
    struct pinger *p = ctx;
    struct msg m;
    assert_int_equal(len, sizeof(m));
    memcpy(&m, buf, sizeof(m));
    if (m.type == PING) {
        m.type = PONG;
        sim_send(sim, &p->ep, from, &m, sizeof(m));
        p->pings_answered++;
        return;
    }
    assert_int_equal(m.type, PONG);
    assert_int_equal(m.seq, p->next_seq - 1); /* one ping outstanding at a time */
    uint64_t rtt = now_us - m.sent_us;
    p->rtt_sum += rtt;
    if (rtt > p->rtt_max)
        p->rtt_max = rtt;
    p->pongs_received++;
    /* Think a little, then ping again. */
    sim_node_set_deadline(sim, p->id, now_us + sim_rand_below(sim, 5000));
}

static void on_timer(void *ctx, struct sim *sim, uint64_t now_us)
{
    if (now_us < stop_pinging_us)
        ping_someone(sim, ctx, now_us);
}

static const struct sim_node_ops pinger_ops = {on_datagram, on_timer, NULL, NULL};

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void run_pingpong(uint64_t seed, uint32_t n, uint64_t duration_us, uint64_t min_pings)
{
    nnodes = n;
    stop_pinging_us = duration_us;
    struct sim_config cfg;
    sim_config_default(&cfg); /* 10 ms + up to ~57 ms across the plane, 2 ms jitter */
    cfg.seed = seed;
    struct sim *sim = sim_create(&cfg);
    assert_non_null(sim);
    memset(nodes, 0, sizeof(nodes));
    for (uint32_t i = 0; i < nnodes; i++) {
        nodes[i].ep = sim_test_endpoint(i);
        assert_int_equal(sim_node_add(sim, &nodes[i].ep, &pinger_ops, &nodes[i], &nodes[i].id),
                         SIM_OK);
        sim_node_set_deadline(sim, nodes[i].id, sim_rand_below(sim, 10000));
    }

    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(sim_run_until(sim, stop_pinging_us), SIM_OK);
    /* No new pings after the stop: what is in flight drains. */
    assert_int_equal(sim_run_until_idle(sim), SIM_OK);
    double wall = seconds_since(&t0);

    const struct sim_stats *s = sim_stats(sim);
    uint64_t pings = 0, pongs = 0, answered = 0, rtt_sum = 0, rtt_max = 0;
    for (uint32_t i = 0; i < nnodes; i++) {
        assert_true(nodes[i].pings_sent == nodes[i].pongs_received);
        assert_true(nodes[i].pings_sent >= min_pings);
        pings += nodes[i].pings_sent;
        pongs += nodes[i].pongs_received;
        answered += nodes[i].pings_answered;
        rtt_sum += nodes[i].rtt_sum;
        rtt_max = nodes[i].rtt_max > rtt_max ? nodes[i].rtt_max : rtt_max;
    }
    assert_true(pings == pongs && pings == answered);
    assert_true(s->sent.datagrams == 2 * pings);
    assert_true(s->delivered.datagrams == 2 * pings);
    assert_true(s->lost.datagrams == 0 && s->dropped_unknown.datagrams == 0);
    assert_true(sim_in_flight(sim) == 0 && sim_pending(sim) == 0);
    /* A round trip is two one-way delays of 10 ms .. 10 + 57 + 2 ms. */
    assert_true(rtt_max <= 2 * (10000 + 56569 + 2000));
    assert_true(rtt_sum / pings >= 2 * 10000);

    print_message("  pingpong: %u nodes, %llu pings, %llu events in %.3f s wall = %.0f events/s, "
                  "mean rtt %.1f ms\n",
                  nnodes, (unsigned long long)pings, (unsigned long long)s->events, wall,
                  (double)s->events / wall, (double)rtt_sum / (double)pings / 1000.0);
    sim_destroy(sim);
}

SIM_TEST(test_thousand_nodes_ping_pong_and_every_ping_is_answered)
{
    run_pingpong(seed, 1000, 60ull * 1000 * 1000, 100);
}

SIM_TEST(test_ten_thousand_nodes_ping_pong)
{
    run_pingpong(seed, 10000, 6ull * 1000 * 1000, 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SIM_UNIT_TEST(test_thousand_nodes_ping_pong_and_every_ping_is_answered),
        SIM_UNIT_TEST(test_ten_thousand_nodes_ping_pong),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
