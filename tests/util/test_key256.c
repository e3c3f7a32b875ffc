/* test_key256.c - the 256-bit key ring: order, wrap, distances, prefixes, hex. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "util/key256.h"

static drt_key hex(const char *s)
{
    drt_key k;
    assert_true(key256_from_hex(&k, s));
    return k;
}

/* A key with only bit i set, i counted from the most significant bit. */
static drt_key single_bit(unsigned i)
{
    drt_key k = key256_zero;
    k.b[31 - i / 8] = (uint8_t)(0x80 >> (i % 8));
    return k;
}

static void test_byte_31_is_the_most_significant(void **state)
{
    drt_key a = key256_zero, b = key256_zero;
    a.b[31] = 1;
    memset(b.b, 0xFF, 31);
    assert_int_equal(key256_cmp(&a, &b), 1);
    assert_int_equal(key256_cmp(&b, &a), -1);
    assert_int_equal(key256_cmp(&a, &a), 0);
}

static void test_from_u64_puts_the_low_byte_first(void **state)
{
    drt_key k;
    key256_from_u64(&k, 0x0102030405060708ull);
    assert_int_equal(k.b[0], 0x08);
    assert_int_equal(k.b[7], 0x01);
    assert_int_equal(k.b[8], 0);
    char s[65];
    key256_to_hex(&k, s);
    assert_string_equal(s + 48, "0102030405060708");
}

static void test_zero_minus_one_wraps_to_max(void **state)
{
    drt_key r;
    key256_sub_u64(&r, &key256_zero, 1);
    assert_true(key256_equal(&r, &key256_max));
}

static void test_max_plus_one_wraps_to_zero(void **state)
{
    drt_key r;
    key256_add_u64(&r, &key256_max, 1);
    assert_true(key256_is_zero(&r));
}

static void test_zero_and_max_are_neighbours(void **state)
{
    drt_key d, one;
    key256_from_u64(&one, 1);
    key256_ring_distance(&d, &key256_zero, &key256_max);
    assert_true(key256_equal(&d, &one));
    key256_ring_distance(&d, &key256_max, &key256_zero);
    assert_true(key256_equal(&d, &one));
    key256_cw_distance(&d, &key256_max, &key256_zero);
    assert_true(key256_equal(&d, &one));
    /* Without wrap they are as far apart as keys can be. */
    key256_abs_distance(&d, &key256_zero, &key256_max);
    assert_true(key256_equal(&d, &key256_max));
}

static void test_carry_crosses_every_byte(void **state)
{
    for (int i = 0; i < 31; i++) {
        drt_key a = key256_zero, r;
        memset(a.b, 0xFF, (size_t)i + 1); /* 2^(8(i+1)) - 1 */
        key256_add_u64(&r, &a, 1);
        drt_key expect = key256_zero;
        expect.b[i + 1] = 1;
        assert_true(key256_equal(&r, &expect));
        key256_sub_u64(&r, &r, 1);
        assert_true(key256_equal(&r, &a));
    }
}

static void test_closer_prefers_the_smaller_ring_distance_across_zero(void **state)
{
    drt_key target = hex("2"), near_wrap = key256_max, far;
    key256_from_u64(&far, 100);
    /* max is 3 away from 2 going up through 0; 100 is 98 away. */
    assert_true(key256_closer(&target, &near_wrap, &far) < 0);
    assert_true(key256_closer(&target, &far, &near_wrap) > 0);
    assert_int_equal(key256_closer(&target, &far, &far), 0);
}

static void test_closer_breaks_ties_toward_the_smaller_key(void **state)
{
    drt_key target = hex("10"), below = hex("0e"), above = hex("12");
    assert_true(key256_closer(&target, &below, &above) < 0);
    assert_true(key256_closer(&target, &above, &below) > 0);
}

static void test_in_range_is_inclusive_and_never_wraps(void **state)
{
    drt_key min = hex("10"), max = hex("20"), k;
    assert_true(key256_in_range(&min, &min, &max));
    assert_true(key256_in_range(&max, &min, &max));
    k = hex("21");
    assert_false(key256_in_range(&k, &min, &max));
    k = hex("0f");
    assert_false(key256_in_range(&k, &min, &max));
    k = hex("05");
    assert_false(key256_in_range(&k, &max, &min));
}

static void test_common_prefix_counts_from_the_top_bit(void **state)
{
    assert_int_equal(key256_common_prefix_bits(&key256_zero, &key256_zero), 256);
    assert_int_equal(key256_common_prefix_bits(&key256_zero, &key256_max), 0);
    for (unsigned i = 0; i < 256; i++) {
        drt_key k = single_bit(i);
        assert_int_equal(key256_common_prefix_bits(&key256_zero, &k), i);
        assert_int_equal(key256_bit(&k, i), 1);
        if (i > 0)
            assert_int_equal(key256_bit(&k, i - 1), 0);
    }
}

static void test_digits_read_from_the_most_significant_end(void **state)
{
    drt_key k = hex("f123456789abcdef000000000000000000000000000000000000000000000000");
    assert_int_equal(key256_digit(&k, 0, 4), 0xF);
    assert_int_equal(key256_digit(&k, 1, 4), 0x1);
    assert_int_equal(key256_digit(&k, 15, 4), 0xF);
    assert_int_equal(key256_digit(&k, 63, 4), 0);
    assert_int_equal(key256_digit(&k, 0, 8), 0xF1);
    assert_int_equal(key256_digit(&k, 0, 1), 1);
}

static void test_shift_right_moves_bits_toward_byte_0(void **state)
{
    drt_key r, one;
    key256_from_u64(&one, 1);
    key256_shr(&r, &key256_max, 255);
    assert_true(key256_equal(&r, &one));
    key256_shr(&r, &key256_max, 256);
    assert_true(key256_is_zero(&r));
    drt_key k = hex("100");
    key256_shr(&r, &k, 4);
    assert_true(key256_equal(&r, &(drt_key){{0x10}}));
    key256_shr(&r, &k, 0);
    assert_true(key256_equal(&r, &k));
}

static void test_midpoint_goes_clockwise_through_zero(void **state)
{
    drt_key r, a, b;
    a = hex("10");
    b = hex("20");
    key256_midpoint(&r, &a, &b);
    assert_true(key256_equal(&r, &(drt_key){{0x18}}));
    key256_sub_u64(&a, &key256_zero, 4); /* max - 3 */
    b = hex("4");
    key256_midpoint(&r, &a, &b);
    assert_true(key256_is_zero(&r));
}

static void test_hex_round_trips_and_rejects_bad_input(void **state)
{
    char s[65];
    drt_key k = key256_zero;
    for (int i = 0; i < 32; i++)
        k.b[i] = (uint8_t)(i * 7 + 1);
    key256_to_hex(&k, s);
    assert_int_equal(strlen(s), 64);
    drt_key back = hex(s);
    assert_true(key256_equal(&k, &back));
    assert_string_equal(s, "dad3ccc5beb7b0a9a29b948d867f78716a635c554e474039322b241d160f0801");
    back = hex("0xDAD3ccc5beb7b0a9a29b948d867f78716A635C554E474039322b241d160f0801");
    assert_true(key256_equal(&k, &back));

    drt_key untouched = k;
    assert_false(key256_from_hex(&k, NULL));
    assert_false(key256_from_hex(&k, ""));
    assert_false(key256_from_hex(&k, "0x"));
    assert_false(key256_from_hex(&k, "12g4"));
    assert_false(key256_from_hex(&k, "-1"));
    char too_long[70];
    memset(too_long, '1', 65);
    too_long[65] = 0;
    assert_false(key256_from_hex(&k, too_long));
    assert_true(key256_equal(&k, &untouched));
    assert_true(key256_from_hex(&k, "1"));
    assert_true(key256_equal(&k, &(drt_key){{1}}));
}

/* xorshift64*: a small deterministic generator for property tests. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static drt_key random_key(void)
{
    drt_key k;
    for (int i = 0; i < 32; i += 8) {
        uint64_t v = rng();
        memcpy(&k.b[i], &v, 8);
    }
    /* Sometimes make it sparse so carries and equal bytes get exercised. */
    if (rng() % 4 == 0)
        memset(k.b, rng() % 2 ? 0xFF : 0x00, 1 + rng() % 31);
    return k;
}

static void test_arithmetic_properties_hold_for_random_keys(void **state)
{
    for (int i = 0; i < 20000; i++) {
        drt_key a = random_key(), b = random_key(), t = random_key(), r, s;
        key256_add(&r, &a, &b);
        key256_sub(&r, &r, &b);
        assert_true(key256_equal(&r, &a));
        /* cw(a,b) + cw(b,a) == 0 mod 2^256 */
        key256_cw_distance(&r, &a, &b);
        key256_cw_distance(&s, &b, &a);
        key256_add(&r, &r, &s);
        assert_true(key256_is_zero(&r));
        /* ring distance is symmetric and never above half the ring */
        key256_ring_distance(&r, &a, &b);
        key256_ring_distance(&s, &b, &a);
        assert_true(key256_equal(&r, &s));
        assert_true(r.b[31] <= 0x80);
        /* closer() agrees with comparing distances */
        drt_key da, db;
        key256_ring_distance(&da, &t, &a);
        key256_ring_distance(&db, &t, &b);
        int c = key256_cmp(&da, &db);
        int closer = key256_closer(&t, &a, &b);
        if (c != 0)
            assert_true((c < 0) == (closer < 0));
        /* comparison is antisymmetric */
        assert_int_equal(key256_cmp(&a, &b), -key256_cmp(&b, &a));
        /* prefix bits are symmetric and consistent with cmp on the next bit */
        unsigned p = key256_common_prefix_bits(&a, &b);
        assert_int_equal(p, key256_common_prefix_bits(&b, &a));
        if (p < 256)
            assert_int_equal(key256_bit(&a, p) > key256_bit(&b, p), key256_cmp(&a, &b) > 0);
        /* hex round trip */
        char h[65];
        key256_to_hex(&a, h);
        assert_true(key256_from_hex(&r, h));
        assert_true(key256_equal(&r, &a));
    }
}

/* A byte-at-a-time model of the ring arithmetic, the way it is defined
 * (little-endian 256-bit integers modulo 2^256), to check the library's
 * limb-wise code digit for digit, carries across limb borders included. */
static void model_sub(drt_key *r, const drt_key *a, const drt_key *b)
{
    int borrow = 0;
    for (int i = 0; i < 32; i++) {
        int d = (int)a->b[i] - b->b[i] - borrow;
        borrow = d < 0;
        r->b[i] = (uint8_t)(d + 256 * borrow);
    }
}

static int model_cmp(const drt_key *a, const drt_key *b)
{
    for (int i = 31; i >= 0; i--)
        if (a->b[i] != b->b[i])
            return a->b[i] < b->b[i] ? -1 : 1;
    return 0;
}

static void test_arithmetic_matches_a_byte_wise_model(void **state)
{
    (void)state;
    drt_key half = key256_zero;
    half.b[31] = 0x80;
    for (int i = 0; i < 20000; i++) {
        drt_key a = random_key(), b = random_key(), r, m, back;
        if (i % 7 == 0) /* exactly half the ring apart: the tie keeps the clockwise way */
            key256_add(&b, &a, &half);
        key256_sub(&r, &a, &b);
        model_sub(&m, &a, &b);
        assert_memory_equal(r.b, m.b, 32);
        key256_add(&r, &m, &b); /* (a - b) + b == a */
        assert_memory_equal(r.b, a.b, 32);
        int c = key256_cmp(&a, &b);
        assert_int_equal(c, model_cmp(&a, &b));
        /* ring distance: the smaller of the two ways, clockwise on a tie */
        key256_ring_distance(&r, &a, &b);
        model_sub(&m, &b, &a);
        model_sub(&back, &a, &b);
        assert_memory_equal(r.b, model_cmp(&m, &back) <= 0 ? m.b : back.b, 32);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_byte_31_is_the_most_significant),
        cmocka_unit_test(test_from_u64_puts_the_low_byte_first),
        cmocka_unit_test(test_zero_minus_one_wraps_to_max),
        cmocka_unit_test(test_max_plus_one_wraps_to_zero),
        cmocka_unit_test(test_zero_and_max_are_neighbours),
        cmocka_unit_test(test_carry_crosses_every_byte),
        cmocka_unit_test(test_arithmetic_matches_a_byte_wise_model),
        cmocka_unit_test(test_closer_prefers_the_smaller_ring_distance_across_zero),
        cmocka_unit_test(test_closer_breaks_ties_toward_the_smaller_key),
        cmocka_unit_test(test_in_range_is_inclusive_and_never_wraps),
        cmocka_unit_test(test_common_prefix_counts_from_the_top_bit),
        cmocka_unit_test(test_digits_read_from_the_most_significant_end),
        cmocka_unit_test(test_shift_right_moves_bits_toward_byte_0),
        cmocka_unit_test(test_midpoint_goes_clockwise_through_zero),
        cmocka_unit_test(test_hex_round_trips_and_rejects_bad_input),
        cmocka_unit_test(test_arithmetic_properties_hold_for_random_keys),
    };
    return cmocka_run_group_tests_name("key256", tests, NULL, NULL);
}
