/* test_sim_prng.c - the simulator's random numbers: reproducible and well spread. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "sim/prng.h"
#include "sim/sim_test.h"

static double absd(double x)
{
    return x < 0 ? -x : x;
}

SIM_TEST(test_same_seed_gives_the_same_stream)
{
    struct sim_prng a, b;
    sim_prng_seed(&a, seed);
    sim_prng_seed(&b, seed);
    for (int i = 0; i < 1000; i++)
        assert_true(sim_prng_u64(&a) == sim_prng_u64(&b));
}

SIM_TEST(test_different_seeds_give_different_streams)
{
    struct sim_prng a, b;
    sim_prng_seed(&a, seed);
    sim_prng_seed(&b, seed + 1);
    int same = 0;
    for (int i = 0; i < 1000; i++)
        same += sim_prng_u64(&a) == sim_prng_u64(&b);
    assert_int_equal(same, 0);
}

/* Pins the algorithm: a silent change to the generator would change every
 * recorded seed's meaning, which must not happen unnoticed. */
static void test_xoshiro_stream_is_pinned(void **state)
{
    struct sim_prng p = {{1, 2, 3, 4}};
    /* Reference outputs of xoshiro256** from the state {1, 2, 3, 4}. */
    assert_true(sim_prng_u64(&p) == 11520ull);
    assert_true(sim_prng_u64(&p) == 0ull);
    assert_true(sim_prng_u64(&p) == 1509978240ull);
    assert_true(sim_prng_u64(&p) == 1215971899390074240ull);
    uint64_t s = 0;
    assert_true(sim_splitmix64(&s) == 0xE220A8397B1DCDAFull);
}

static void test_zero_seed_is_valid(void **state)
{
    struct sim_prng p;
    sim_prng_seed(&p, 0);
    assert_false(p.s[0] == 0 && p.s[1] == 0 && p.s[2] == 0 && p.s[3] == 0);
    assert_true(sim_prng_u64(&p) != sim_prng_u64(&p));
}

SIM_TEST(test_double_is_in_unit_interval_with_mean_one_half)
{
    struct sim_prng p;
    sim_prng_seed(&p, seed);
    double sum = 0;
    enum { N = 200000 };
    for (int i = 0; i < N; i++) {
        double d = sim_prng_double(&p);
        assert_true(d >= 0.0 && d < 1.0);
        sum += d;
    }
    /* Standard error of the mean: sqrt(1/12/N) ~ 0.00065; allow 6 of them. */
    assert_true(absd(sum / N - 0.5) < 0.004);
}

SIM_TEST(test_below_is_in_range_and_uniform)
{
    struct sim_prng p;
    sim_prng_seed(&p, seed);
    enum { BINS = 10, N = 100000 };
    unsigned hist[BINS] = {0};
    for (int i = 0; i < N; i++) {
        uint64_t v = sim_prng_below(&p, BINS);
        assert_true(v < BINS);
        hist[v]++;
    }
    /* Chi-square with 9 degrees of freedom: 27.9 is the 0.1% critical value. */
    double chi = 0;
    for (int i = 0; i < BINS; i++) {
        double d = hist[i] - (double)N / BINS;
        chi += d * d / ((double)N / BINS);
    }
    assert_true(chi < 27.9);
    assert_true(sim_prng_below(&p, 0) == 0);
    assert_true(sim_prng_below(&p, 1) == 0);
    /* A bound just above 2^63 rejects almost half the draws: still fine. */
    for (int i = 0; i < 100; i++)
        assert_true(sim_prng_below(&p, (1ull << 63) + 1) <= (1ull << 63));
}

static void test_ln_matches_known_values(void **state)
{
    struct {
        double x, ln;
    } v[] = {
        {1.0, 0.0},
        {2.0, 0.69314718055994530942},
        {0.5, -0.69314718055994530942},
        {10.0, 2.30258509299404568402},
        {2.718281828459045, 1.0},
        {1e-300, -690.77552789821370521},
        {1.4142135623730951, 0.34657359027997265471},
        {1.5, 0.40546510810816438198},
        {0x1.0p-1074, -744.44007192138126231}, /* smallest subnormal */
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        double got = sim_ln(v[i].x);
        double tol = 4e-16 * (absd(v[i].ln) > 1 ? absd(v[i].ln) : 1);
        if (absd(got - v[i].ln) > tol)
            fail_msg("ln(%.17g) = %.17g, want %.17g", v[i].x, got, v[i].ln);
    }
}

SIM_TEST(test_exponential_has_the_requested_mean)
{
    struct sim_prng p;
    sim_prng_seed(&p, seed);
    enum { N = 200000 };
    double sum = 0;
    for (int i = 0; i < N; i++) {
        double e = sim_prng_exponential(&p, 1000.0);
        assert_true(e >= 0.0);
        sum += e;
    }
    /* Standard error: 1000 / sqrt(N) ~ 2.2; allow 6 of them. */
    assert_true(absd(sum / N - 1000.0) < 14.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SIM_UNIT_TEST(test_same_seed_gives_the_same_stream),
        SIM_UNIT_TEST(test_different_seeds_give_different_streams),
        cmocka_unit_test(test_xoshiro_stream_is_pinned),
        cmocka_unit_test(test_zero_seed_is_valid),
        SIM_UNIT_TEST(test_double_is_in_unit_interval_with_mean_one_half),
        SIM_UNIT_TEST(test_below_is_in_range_and_uniform),
        cmocka_unit_test(test_ln_matches_known_values),
        SIM_UNIT_TEST(test_exponential_has_the_requested_mean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
