/*
 * test_pending.c - the table of requests in flight: its cap, and that a
 * table a burst made large gives the room back once the burst is over
 * while keeping every request still in flight.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/pending.h"

static struct pending request(uint32_t id)
{
    static uint8_t dgram[40];
    struct pending p;
    memset(&p, 0, sizeof(p));
    p.msg_id = id;
    p.peer.port = (uint16_t)(4000 + id);
    p.dgram = dgram;
    p.len = sizeof(dgram);
    return p;
}

static void test_cap_refuses_what_is_over_it(void **state)
{
    (void)state;
    struct pending_table t;
    pending_init(&t, 3);
    for (uint32_t id = 1; id <= 3; id++) {
        struct pending p = request(id);
        assert_non_null(pending_add(&t, &p));
    }
    struct pending p = request(4);
    assert_null(pending_add(&t, &p));
    assert_int_equal(t.count, 3);
    pending_free(&t);
}

static void test_trim_gives_back_a_burst_and_keeps_what_is_in_flight(void **state)
{
    (void)state;
    struct pending_table t;
    pending_init(&t, 512);
    for (uint32_t id = 1; id <= 200; id++) {
        struct pending p = request(id);
        assert_non_null(pending_add(&t, &p));
    }
    assert_true(t.cap >= 200);
    pending_trim(&t); /* all in use: nothing to give back */
    assert_true(t.cap >= 200);
    /* The burst is answered but for five. */
    for (uint32_t id = 1; id <= 200; id++) {
        if (id % 40 == 0)
            continue;
        struct drt_endpoint from = {.port = (uint16_t)(4000 + id)};
        struct pending *p = pending_match(&t, id, &from);
        assert_non_null(p);
        pending_remove(&t, p);
    }
    assert_int_equal(t.count, 5);
    pending_trim(&t);
    assert_int_equal(t.cap, 16);
    for (uint32_t id = 40; id <= 200; id += 40) {
        struct drt_endpoint from = {.port = (uint16_t)(4000 + id)};
        struct pending *p = pending_match(&t, id, &from);
        assert_non_null(p);
        assert_int_equal(p->len, 40);
    }
    /* And it grows again when needed. */
    for (uint32_t id = 1000; id < 1100; id++) {
        struct pending p = request(id);
        assert_non_null(pending_add(&t, &p));
    }
    assert_int_equal(t.count, 105);
    pending_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cap_refuses_what_is_over_it),
        cmocka_unit_test(test_trim_gives_back_a_burst_and_keeps_what_is_in_flight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
