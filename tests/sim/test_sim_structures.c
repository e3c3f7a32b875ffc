/* test_sim_structures.c - the event heap and the endpoint table under load. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "sim/event_heap.h"
#include "sim/node_table.h"
#include "sim/prng.h"
#include "sim/sim_test.h"

static bool entry_before(const struct sim_heap_entry *a, const struct sim_heap_entry *b)
{
    return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

SIM_TEST(test_heap_pops_in_time_then_sequence_order)
{
    struct sim_prng p;
    sim_prng_seed(&p, seed);
    struct sim_heap h;
    sim_heap_init(&h);
    enum { N = 20000 };
    /* Few distinct times, so many ties must be broken by the sequence. */
    for (uint32_t i = 0; i < N; i++)
        assert_true(sim_heap_push(&h, sim_prng_below(&p, 50), i, i));
    struct sim_heap_entry prev, e;
    assert_true(sim_heap_pop(&h, &prev));
    for (uint32_t i = 1; i < N; i++) {
        assert_true(sim_heap_pop(&h, &e));
        assert_true(entry_before(&prev, &e));
        assert_false(sim_heap_contains(&h, e.ref));
        prev = e;
    }
    assert_false(sim_heap_pop(&h, &e));
    sim_heap_free(&h);
}

SIM_TEST(test_heap_update_and_remove_keep_the_order)
{
    struct sim_prng p;
    sim_prng_seed(&p, seed);
    struct sim_heap h;
    sim_heap_init(&h);
    enum { N = 5000 };
    static uint64_t key[N];
    static bool queued[N];
    uint64_t seq = 0;
    for (uint32_t i = 0; i < N; i++) {
        key[i] = sim_prng_below(&p, 1000000);
        queued[i] = true;
        assert_true(sim_heap_push(&h, key[i], ++seq, i));
    }
    /* Move, remove and re-add at random, as node timers do. */
    for (int round = 0; round < 20000; round++) {
        uint32_t r = (uint32_t)sim_prng_below(&p, N);
        switch (sim_prng_below(&p, 3)) {
        case 0:
            key[r] = sim_prng_below(&p, 1000000);
            assert_int_equal(sim_heap_update(&h, r, key[r], ++seq), queued[r]);
            break;
        case 1:
            assert_int_equal(sim_heap_remove(&h, r), queued[r]);
            queued[r] = false;
            break;
        default:
            if (!queued[r]) {
                key[r] = sim_prng_below(&p, 1000000);
                assert_true(sim_heap_push(&h, key[r], ++seq, r));
                queued[r] = true;
            }
        }
    }
    size_t expect = 0;
    for (uint32_t i = 0; i < N; i++)
        expect += queued[i];
    assert_int_equal(sim_heap_size(&h), expect);
    struct sim_heap_entry prev = {0, 0, 0}, e;
    while (sim_heap_pop(&h, &e)) {
        assert_true(queued[e.ref]);
        assert_true(e.time == key[e.ref]);
        assert_true(prev.time <= e.time);
        queued[e.ref] = false;
        prev = e;
    }
    for (uint32_t i = 0; i < N; i++)
        assert_false(queued[i]);
    sim_heap_free(&h);
}

SIM_TEST(test_node_table_matches_a_reference_under_churn)
{
    struct sim_prng p;
    sim_prng_seed(&p, seed);
    struct sim_node_table t;
    sim_node_table_init(&t);
    enum { N = 4000 };
    static uint32_t ref[N]; /* id stored for endpoint i, or NONE */
    for (uint32_t i = 0; i < N; i++)
        ref[i] = SIM_NODE_TABLE_NONE;
    for (int round = 0; round < 60000; round++) {
        uint32_t i = (uint32_t)sim_prng_below(&p, N);
        struct drt_endpoint ep = sim_test_endpoint(i);
        if (ref[i] == SIM_NODE_TABLE_NONE) {
            assert_true(sim_node_table_insert(&t, &ep, (uint32_t)round));
            ref[i] = (uint32_t)round;
        } else if (sim_prng_below(&p, 2)) {
            assert_true(sim_node_table_erase(&t, &ep));
            ref[i] = SIM_NODE_TABLE_NONE;
        }
        /* Probe a few others each round: backward-shift bugs show up as
         * members that become unreachable after someone else's erase. */
        for (int k = 0; k < 4; k++) {
            uint32_t j = (uint32_t)sim_prng_below(&p, N);
            struct drt_endpoint q = sim_test_endpoint(j);
            assert_int_equal(sim_node_table_find(&t, &q), ref[j]);
        }
    }
    size_t live = 0;
    for (uint32_t i = 0; i < N; i++) {
        struct drt_endpoint ep = sim_test_endpoint(i);
        assert_int_equal(sim_node_table_find(&t, &ep), ref[i]);
        live += ref[i] != SIM_NODE_TABLE_NONE;
    }
    assert_int_equal(t.count, live);
    struct drt_endpoint absent = sim_test_endpoint(N + 7);
    assert_false(sim_node_table_erase(&t, &absent));
    sim_node_table_free(&t);
}

static void test_endpoints_differing_only_in_port_are_distinct(void **state)
{
    struct sim_node_table t;
    sim_node_table_init(&t);
    struct drt_endpoint a = sim_test_endpoint(1), b = a;
    b.port++;
    assert_true(sim_node_table_insert(&t, &a, 10));
    assert_int_equal(sim_node_table_find(&t, &b), SIM_NODE_TABLE_NONE);
    assert_true(sim_node_table_insert(&t, &b, 11));
    assert_int_equal(sim_node_table_find(&t, &a), 10);
    assert_int_equal(sim_node_table_find(&t, &b), 11);
    assert_true(sim_endpoint_hash(&a) != sim_endpoint_hash(&b));
    sim_node_table_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SIM_UNIT_TEST(test_heap_pops_in_time_then_sequence_order),
        SIM_UNIT_TEST(test_heap_update_and_remove_keep_the_order),
        SIM_UNIT_TEST(test_node_table_matches_a_reference_under_churn),
        cmocka_unit_test(test_endpoints_differing_only_in_port_are_distinct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
