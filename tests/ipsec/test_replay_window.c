/*
 * test_replay_window.c - the anti-replay window and ESN inference of RFC
 * 4303 Appendix A2: in window, duplicate, too old, ahead, the 32-bit wrap,
 * and the window moving only when told.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include "ipsec/replay_window.h"

static void test_sizes(void **state)
{
    (void)state;
    struct replay_window w;
    assert_false(replay_init(&w, 31));
    assert_false(replay_init(&w, REPLAY_MAX_WINDOW + 1));
    assert_true(replay_init(&w, 0));
    assert_int_equal(w.size, REPLAY_DEFAULT_WINDOW);
    replay_free(&w);
    assert_true(replay_init(&w, 100));
    assert_int_equal(w.size, 128); /* rounded up to whole words */
    replay_free(&w);
}

static void test_in_window_duplicate_old_ahead(void **state)
{
    (void)state;
    struct replay_window w;
    assert_true(replay_init(&w, 64));
    assert_int_equal(replay_check(&w, 0), REPLAY_TOO_OLD); /* never valid */
    assert_int_equal(replay_check(&w, 1), REPLAY_OK);
    replay_accept(&w, 1);
    assert_int_equal(replay_check(&w, 1), REPLAY_DUPLICATE);
    /* Ahead: accepted, moves the right edge. */
    replay_accept(&w, 100);
    assert_int_equal(w.top, 100);
    /* Inside the window (37..100), not yet seen: fine once, then duplicate. */
    assert_int_equal(replay_check(&w, 37), REPLAY_OK);
    replay_accept(&w, 37);
    assert_int_equal(replay_check(&w, 37), REPLAY_DUPLICATE);
    /* Left of the window. */
    assert_int_equal(replay_check(&w, 36), REPLAY_TOO_OLD);
    assert_int_equal(replay_check(&w, 1), REPLAY_TOO_OLD);
    /* A check alone never moves the window. */
    assert_int_equal(replay_check(&w, 1000), REPLAY_OK);
    assert_int_equal(w.top, 100);
    /* A slot reused after the window slid past is clear again. */
    replay_accept(&w, 101);
    assert_int_equal(replay_check(&w, 101 - 64 + 1), REPLAY_OK);
    replay_free(&w);
}

static void test_big_jump_clears_the_window(void **state)
{
    (void)state;
    struct replay_window w;
    assert_true(replay_init(&w, 64));
    for (uint64_t s = 1; s <= 64; s++)
        replay_accept(&w, s);
    replay_accept(&w, 1000);
    for (uint64_t s = 1000 - 63; s < 1000; s++)
        assert_int_equal(replay_check(&w, s), REPLAY_OK);
    replay_free(&w);
}

static void test_esn_inference(void **state)
{
    (void)state;
    struct replay_window w;
    assert_true(replay_init(&w, 64));
    /* Case A: window inside block 0. */
    w.top = 1000;
    assert_int_equal(replay_infer(&w, 990), 990);
    assert_int_equal(replay_infer(&w, 2000), 2000);
    /* A low word below the window's bottom belongs to the next block. */
    assert_int_equal(replay_infer(&w, 5), ((uint64_t)1 << 32) | 5);
    /* Case B: the window straddles the 2^32 boundary. */
    w.top = ((uint64_t)1 << 32) | 10;
    assert_int_equal(replay_infer(&w, 3), ((uint64_t)1 << 32) | 3);
    assert_int_equal(replay_infer(&w, 0xFFFFFFF0u), 0xFFFFFFF0u); /* previous block */
    assert_int_equal(replay_infer(&w, 500), ((uint64_t)1 << 32) | 500);
    /* Nothing precedes block 0: a huge low word early on is block 0. */
    w.top = 5;
    assert_int_equal(replay_infer(&w, 0xFFFFFFF0u), 0xFFFFFFF0u);
    replay_free(&w);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(replay_verdict_name(REPLAY_DUPLICATE), "DUPLICATE");
    assert_string_equal(replay_verdict_name((enum replay_verdict)9), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_in_window_duplicate_old_ahead),
        cmocka_unit_test(test_big_jump_clears_the_window),
        cmocka_unit_test(test_esn_inference),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
