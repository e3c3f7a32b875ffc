/* test_sim_seed.c - the seed helper: fixed defaults, DRT_SIM_SEED overrides. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "sim/sim_test.h"

static void test_default_seed_is_fixed_per_test_name(void **state)
{
    unsetenv("DRT_SIM_SEED");
    assert_true(sim_test_seed_for("a") == sim_test_seed_for("a"));
    assert_true(sim_test_seed_for("a") != sim_test_seed_for("b"));
    /* FNV-1a of "a": pinned so CI seeds never move silently. */
    assert_true(sim_test_seed_for("a") == 0xaf63dc4c8601ec8cull);
}

static void test_environment_seed_overrides_in_decimal_or_hex(void **state)
{
    setenv("DRT_SIM_SEED", "12345", 1);
    assert_true(sim_test_seed_for("a") == 12345);
    assert_true(sim_test_seed_for("b") == 12345);
    setenv("DRT_SIM_SEED", "0xdeadbeef", 1);
    assert_true(sim_test_seed_for("a") == 0xdeadbeef);
    setenv("DRT_SIM_SEED", "18446744073709551615", 1);
    assert_true(sim_test_seed_for("a") == UINT64_MAX);
    unsetenv("DRT_SIM_SEED");
}

static void test_malformed_environment_seed_falls_back_to_the_default(void **state)
{
    uint64_t def = sim_test_seed_for("a");
    setenv("DRT_SIM_SEED", "12x", 1);
    assert_true(sim_test_seed_for("a") == def);
    setenv("DRT_SIM_SEED", "", 1);
    assert_true(sim_test_seed_for("a") == def);
    unsetenv("DRT_SIM_SEED");
}

/* The body of a SIM_TEST gets the seed the helper recorded. */
static uint64_t seen;

SIM_TEST(test_body_receives_the_recorded_seed)
{
    seen = seed;
    assert_true(seed == sim_test_record()->seed);
    assert_false(sim_test_record()->finished);
}

static void test_finished_flag_is_set_after_a_passing_body(void **state)
{
    test_body_receives_the_recorded_seed(state);
    assert_true(sim_test_record()->finished);
    assert_true(seen == sim_test_seed_for("test_body_receives_the_recorded_seed"));
}

int main(void)
{
    /* The environment tests change DRT_SIM_SEED; restore the caller's. */
    const char *env = getenv("DRT_SIM_SEED");
    char saved[64] = "";
    if (env)
        snprintf(saved, sizeof(saved), "%s", env);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_seed_is_fixed_per_test_name),
        cmocka_unit_test(test_environment_seed_overrides_in_decimal_or_hex),
        cmocka_unit_test(test_malformed_environment_seed_falls_back_to_the_default),
        cmocka_unit_test(test_finished_flag_is_set_after_a_passing_body),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    if (env)
        setenv("DRT_SIM_SEED", saved, 1);
    return failed;
}
