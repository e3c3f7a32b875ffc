/* test_sim_partition.c - partitions cut traffic between groups, heal restores it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "sim/sim.h"
#include "sim/sim_test.h"
#include "sim/sim_toy.h"

enum { N = 6 };

/* Everyone sends one datagram to everyone else (self excluded). */
static void all_to_all(struct sim *sim, struct toy *t)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            if (i != j)
                toy_send_tag(sim, &t[i], &t[j], (uint32_t)(i * N + j));
}

SIM_TEST(test_partition_drops_between_groups_and_heal_restores)
{
    struct sim *sim = toy_sim_fixed(seed);
    struct toy t[N];
    for (uint32_t i = 0; i < N; i++)
        assert_int_equal(toy_add(sim, &t[i], i), SIM_OK);
    /* Three groups of two: {0,1} {2,3} {4,5}. */
    for (uint32_t i = 0; i < N; i++)
        assert_int_equal(sim_partition_set(sim, t[i].id, i / 2), SIM_OK);
    assert_int_equal(sim_partition_get(sim, t[5].id), 2);
    all_to_all(sim, t);
    assert_int_equal(sim_run_until_idle(sim), SIM_OK);
    for (int i = 0; i < N; i++) {
        assert_int_equal(t[i].received, 1);
        /* The one datagram came from the partner in the same group. */
        assert_true(drt_endpoint_equal(&t[i].last_from, &t[i ^ 1].ep));
    }
    const struct sim_stats *s = sim_stats(sim);
    assert_true(s->dropped_partition.datagrams == N * (N - 1) - N);
    assert_true(sim_node_stats(sim, t[0].id)->dropped_partition.datagrams == N - 2);

    sim_partition_heal(sim);
    assert_int_equal(sim_partition_get(sim, t[5].id), 0);
    all_to_all(sim, t);
    assert_int_equal(sim_run_until_idle(sim), SIM_OK);
    for (int i = 0; i < N; i++)
        assert_int_equal(t[i].received, 1 + (N - 1));
    sim_destroy(sim);
}

SIM_TEST(test_partition_raised_in_flight_cuts_the_datagram)
{
    struct sim *sim = toy_sim_fixed(seed);
    struct toy a, b;
    toy_add(sim, &a, 1);
    toy_add(sim, &b, 2);
    toy_send_tag(sim, &a, &b, 1);
    assert_int_equal(sim_run_until(sim, 500), SIM_OK);
    sim_partition_set(sim, b.id, 7);
    assert_int_equal(sim_run_until_idle(sim), SIM_OK);
    assert_int_equal(b.received, 0);
    assert_true(sim_stats(sim)->dropped_partition.datagrams == 1);
    /* Healed while in flight: it gets through. */
    sim_partition_set(sim, b.id, 7);
    sim_partition_set(sim, a.id, 8);
    toy_send_tag(sim, &a, &b, 2);
    sim_partition_heal(sim);
    toy_send_tag(sim, &a, &b, 3);
    assert_int_equal(sim_run_until_idle(sim), SIM_OK);
    assert_int_equal(b.received, 1);
    assert_int_equal(b.log_tag[0], 3);
    sim_destroy(sim);
}

SIM_TEST(test_injected_traffic_belongs_to_group_zero)
{
    struct sim *sim = toy_sim_fixed(seed);
    struct toy a;
    toy_add(sim, &a, 1);
    struct drt_endpoint outsider = sim_test_endpoint(99);
    uint32_t tag = 42;
    assert_int_equal(sim_send(sim, &outsider, &a.ep, &tag, sizeof(tag)), SIM_OK);
    assert_int_equal(sim_run_until_idle(sim), SIM_OK);
    assert_int_equal(a.received, 1);
    assert_true(drt_endpoint_equal(&a.last_from, &outsider));
    sim_partition_set(sim, a.id, 1);
    assert_int_equal(sim_send(sim, &outsider, &a.ep, &tag, sizeof(tag)), SIM_OK);
    assert_int_equal(sim_run_until_idle(sim), SIM_OK);
    assert_int_equal(a.received, 1);
    assert_int_equal(sim_partition_set(sim, 1234, 1), SIM_E_INVALID);
    sim_destroy(sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SIM_UNIT_TEST(test_partition_drops_between_groups_and_heal_restores),
        SIM_UNIT_TEST(test_partition_raised_in_flight_cuts_the_datagram),
        SIM_UNIT_TEST(test_injected_traffic_belongs_to_group_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
