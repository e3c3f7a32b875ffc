/* test_leafset.c - the 5 + 5 ring neighbours of a local key: order, wrap at
 * 0 / 2^256-1, tiny rings, push-out, change reports, and a brute-force check
 * of every side against a sorted list under random offers and removals. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/leafset.h"

/* --- helpers ------------------------------------------------------------ */

static drt_key K(uint64_t v)
{
    drt_key k;
    key256_from_u64(&k, v);
    return k;
}

/* 2^256 - v: keys just below the wrap. */
static drt_key KTOP(uint64_t v)
{
    drt_key k;
    key256_sub_u64(&k, &key256_zero, v);
    return k;
}

static struct drt_endpoint EP(uint16_t port)
{
    struct drt_endpoint ep;
    memset(&ep, 0, sizeof(ep));
    ep.addr[15] = 1;
    ep.port = port;
    return ep;
}

static struct leafset_entry E(drt_key key, uint16_t port)
{
    struct leafset_entry e;
    memset(&e, 0, sizeof(e));
    e.key = key;
    e.ep = EP(port);
    e.last_seen_ms = port;
    return e;
}

static enum leafset_result offer(struct leafset *ls, drt_key key, uint16_t port,
                                 struct leafset_changes *ch)
{
    struct leafset_entry e = E(key, port);
    return leafset_offer(ls, &e, ch);
}

static void assert_key(const drt_key *a, const drt_key *b)
{
    assert_memory_equal(a->b, b->b, DRT_KEY_BYTES);
}

static void assert_pred(const struct leafset *ls, unsigned i, drt_key k)
{
    const struct leafset_entry *e = leafset_pred(ls, i);
    assert_non_null(e);
    assert_key(&e->key, &k);
}

static void assert_succ(const struct leafset *ls, unsigned i, drt_key k)
{
    const struct leafset_entry *e = leafset_succ(ls, i);
    assert_non_null(e);
    assert_key(&e->key, &k);
}

static uint64_t rng_next(uint64_t *s)
{
    /* splitmix64: tiny, fixed-seed, good enough to scatter keys */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static drt_key random_key(uint64_t *s)
{
    drt_key k;
    for (int i = 0; i < DRT_KEY_BYTES; i += 8) {
        uint64_t v = rng_next(s);
        memcpy(&k.b[i], &v, 8);
    }
    return k;
}

/* --- basic order ---------------------------------------------------------- */

static void test_empty_set_admits_all_but_local_and_covers_everything(void **state)
{
    (void)state;
    struct leafset ls;
    drt_key local = K(1000), other = K(5);
    leafset_init(&ls, &local);

    assert_int_equal(leafset_count(&ls), 0);
    assert_null(leafset_pred(&ls, 0));
    assert_null(leafset_succ(&ls, 0));
    assert_true(leafset_admits(&ls, &other));
    assert_false(leafset_admits(&ls, &local));
    assert_true(leafset_covers(&ls, &key256_max));
    assert_key(leafset_local(&ls), &local);
}

static void test_local_key_is_never_a_member(void **state)
{
    (void)state;
    struct leafset ls;
    struct leafset_changes ch;
    drt_key local = K(1000);
    leafset_init(&ls, &local);

    assert_int_equal(offer(&ls, local, 1, &ch), LEAFSET_REJECTED);
    assert_int_equal(ch.n, 0);
    assert_int_equal(leafset_count(&ls), 0);
}

static void test_sides_are_in_ring_order_walking_away_from_local(void **state)
{
    (void)state;
    struct leafset ls;
    drt_key local = K(1000);
    leafset_init(&ls, &local);

    /* Offered out of order; 12 keys, 6 each side, so each side is full. */
    const uint64_t keys[] = {990, 1003, 940, 1050, 970, 1001, 999, 1020, 980, 1010, 900, 2000};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        offer(&ls, K(keys[i]), (uint16_t)(i + 1), NULL);

    assert_int_equal(leafset_pred_count(&ls), 5);
    assert_int_equal(leafset_succ_count(&ls), 5);
    assert_int_equal(leafset_count(&ls), 10);
    assert_pred(&ls, 0, K(999));
    assert_pred(&ls, 1, K(990));
    assert_pred(&ls, 2, K(980));
    assert_pred(&ls, 3, K(970));
    assert_pred(&ls, 4, K(940));
    assert_null(leafset_pred(&ls, 5));
    assert_succ(&ls, 0, K(1001));
    assert_succ(&ls, 1, K(1003));
    assert_succ(&ls, 2, K(1010));
    assert_succ(&ls, 3, K(1020));
    assert_succ(&ls, 4, K(1050));
    assert_null(leafset_succ(&ls, 5));
    /* 900 and 2000 were pushed out or never admitted. */
    drt_key k900 = K(900), k2000 = K(2000);
    assert_false(leafset_contains(&ls, &k900));
    assert_false(leafset_contains(&ls, &k2000));
}

/* --- wrap at 0 / 2^256-1 --------------------------------------------------- */

static void test_predecessors_of_a_low_key_wrap_through_the_top(void **state)
{
    (void)state;
    struct leafset ls;
    drt_key local = K(2);
    leafset_init(&ls, &local);

    offer(&ls, K(1), 1, NULL);
    offer(&ls, K(0), 2, NULL);
    offer(&ls, key256_max, 3, NULL);
    offer(&ls, KTOP(2), 4, NULL);
    offer(&ls, KTOP(3), 5, NULL);
    offer(&ls, KTOP(100), 6, NULL); /* 6th below: pushed out */
    for (uint64_t v = 3; v < 9; v++)
        offer(&ls, K(v), (uint16_t)(10 + v), NULL);

    assert_pred(&ls, 0, K(1));
    assert_pred(&ls, 1, K(0));
    assert_pred(&ls, 2, key256_max);
    assert_pred(&ls, 3, KTOP(2));
    assert_pred(&ls, 4, KTOP(3));
    assert_succ(&ls, 0, K(3));
    assert_succ(&ls, 4, K(7));
    drt_key far = KTOP(100);
    assert_false(leafset_contains(&ls, &far));
}

static void test_successors_of_a_top_key_wrap_through_zero(void **state)
{
    (void)state;
    struct leafset ls;
    drt_key local = key256_max;
    leafset_init(&ls, &local);

    offer(&ls, K(5), 1, NULL);
    offer(&ls, K(0), 2, NULL);
    offer(&ls, KTOP(2), 3, NULL);
    offer(&ls, K(1), 4, NULL);

    assert_succ(&ls, 0, K(0));
    assert_succ(&ls, 1, K(1));
    assert_succ(&ls, 2, K(5));
    assert_succ(&ls, 3, KTOP(2)); /* all the way round */
    assert_pred(&ls, 0, KTOP(2));
    assert_pred(&ls, 1, K(5));
}

/* --- tiny rings: one key on both sides ----------------------------------- */

static void test_in_a_three_node_ring_each_other_key_is_on_both_sides(void **state)
{
    (void)state;
    struct leafset ls;
    struct leafset_changes ch;
    drt_key local = K(100);
    leafset_init(&ls, &local);

    assert_int_equal(offer(&ls, K(200), 1, &ch), LEAFSET_INSERTED);
    assert_int_equal(ch.n, 1);
    assert_int_equal(ch.c[0].type, LEAFSET_KEY_ADDED);
    assert_int_equal(offer(&ls, K(50), 2, &ch), LEAFSET_INSERTED);

    assert_int_equal(leafset_pred_count(&ls), 2);
    assert_int_equal(leafset_succ_count(&ls), 2);
    assert_int_equal(leafset_count(&ls), 2);
    assert_pred(&ls, 0, K(50));
    assert_pred(&ls, 1, K(200)); /* below 100 by wrapping the ring */
    assert_succ(&ls, 0, K(200));
    assert_succ(&ls, 1, K(50));

    drt_key k200 = K(200);
    assert_true(leafset_remove(&ls, &k200, &ch));
    assert_int_equal(ch.n, 1); /* one DELETED though it left both sides */
    assert_int_equal(ch.c[0].type, LEAFSET_KEY_DELETED);
    assert_key(&ch.c[0].entry.key, &k200);
    assert_int_equal(leafset_count(&ls), 1);
    assert_false(leafset_remove(&ls, &k200, &ch));
    assert_int_equal(ch.n, 0);
}

static void test_key_pushed_off_one_side_but_kept_by_the_other_is_not_deleted(void **state)
{
    (void)state;
    struct leafset ls;
    struct leafset_changes ch;
    drt_key local = K(1000);
    leafset_init(&ls, &local);

    /* Seven keys in all: each side holds five, so overlap is three. */
    const uint64_t keys[] = {1001, 1002, 1003, 999, 998, 997};
    for (size_t i = 0; i < 6; i++)
        offer(&ls, K(keys[i]), 1, NULL);
    assert_int_equal(leafset_count(&ls), 6);
    /* succ: 1001 1002 1003 997 998; pred: 999 998 997 1003 1002 */

    /* 996: fourth below (pushes 1002 off pred, but 1002 stays a successor),
     * and fourth above by wrapping (pushes 998 off succ, still a predecessor). */
    assert_int_equal(offer(&ls, K(996), 2, &ch), LEAFSET_INSERTED);
    assert_int_equal(ch.n, 1);
    assert_int_equal(ch.c[0].type, LEAFSET_KEY_ADDED);
    assert_int_equal(leafset_count(&ls), 7);
}

static void test_key_pushed_off_its_only_side_is_deleted(void **state)
{
    (void)state;
    struct leafset ls;
    struct leafset_changes ch;
    drt_key local = K(1000);
    leafset_init(&ls, &local);

    /* 1001..1005 fill succ; a far key F is nearer below (by wrapping) than
     * 1005 is, so pred is F 1005 1004 1003 1002 and F is on pred only. */
    for (uint64_t v = 1001; v <= 1005; v++)
        offer(&ls, K(v), 1, NULL);
    drt_key f = K(1u << 20);
    offer(&ls, f, 9, NULL);
    assert_int_equal(leafset_count(&ls), 6);
    assert_pred(&ls, 0, f);

    /* Each of 999..996 pushes a 100x key off pred, which succ still holds. */
    for (uint64_t v = 999; v >= 996; v--) {
        assert_int_equal(offer(&ls, K(v), 2, &ch), LEAFSET_INSERTED);
        assert_int_equal(ch.n, 1);
    }
    /* pred is now 999 998 997 996 F: the next one pushes F out of the set. */
    assert_int_equal(offer(&ls, K(995), 3, &ch), LEAFSET_INSERTED);
    assert_int_equal(ch.n, 2);
    assert_int_equal(ch.c[0].type, LEAFSET_KEY_DELETED);
    assert_key(&ch.c[0].entry.key, &f);
    assert_int_equal(ch.c[0].entry.ep.port, 9);
    assert_false(leafset_contains(&ls, &f));
    assert_int_equal(leafset_count(&ls), 10);
}

/* --- push-out, admits, update, removals ------------------------------------ */

static void test_nearer_key_pushes_the_farthest_out_and_reports_it(void **state)
{
    (void)state;
    struct leafset ls;
    struct leafset_changes ch;
    drt_key local = K(1000);
    leafset_init(&ls, &local);

    for (uint64_t v = 1; v <= 5; v++) {
        offer(&ls, K(1000 + 10 * v), (uint16_t)v, NULL);
        offer(&ls, K(1000 - 10 * v), (uint16_t)(10 + v), NULL);
    }
    assert_int_equal(leafset_count(&ls), 10);

    drt_key farther = K(1051), nearer = K(1015);
    assert_false(leafset_admits(&ls, &farther));
    assert_int_equal(offer(&ls, farther, 99, &ch), LEAFSET_REJECTED);
    assert_int_equal(ch.n, 0);

    assert_true(leafset_admits(&ls, &nearer));
    assert_int_equal(offer(&ls, nearer, 77, &ch), LEAFSET_INSERTED);
    assert_int_equal(ch.n, 2);
    assert_int_equal(ch.c[0].type, LEAFSET_KEY_DELETED); /* departures first */
    drt_key k1050 = K(1050);
    assert_key(&ch.c[0].entry.key, &k1050);
    assert_int_equal(ch.c[0].entry.ep.port, 5); /* the entry as it left */
    assert_int_equal(ch.c[1].type, LEAFSET_KEY_ADDED);
    assert_key(&ch.c[1].entry.key, &nearer);
    assert_succ(&ls, 1, nearer);
    assert_int_equal(leafset_count(&ls), 10);
}

static void test_offering_a_member_again_refreshes_it_on_both_sides(void **state)
{
    (void)state;
    struct leafset ls;
    struct leafset_changes ch;
    drt_key local = K(100);
    leafset_init(&ls, &local);

    offer(&ls, K(200), 1, NULL); /* both sides: only other key */
    drt_key k = K(200);
    assert_true(leafset_admits(&ls, &k));
    assert_int_equal(offer(&ls, k, 42, &ch), LEAFSET_UPDATED);
    assert_int_equal(ch.n, 0);
    assert_int_equal(leafset_pred(&ls, 0)->ep.port, 42);
    assert_int_equal(leafset_succ(&ls, 0)->ep.port, 42);
    assert_int_equal(leafset_find(&ls, &k)->last_seen_ms, 42);
}

static void test_remove_endpoint_takes_all_its_keys(void **state)
{
    (void)state;
    struct leafset ls;
    struct leafset_changes ch;
    drt_key local = K(1000);
    leafset_init(&ls, &local);

    offer(&ls, K(1001), 7, NULL);
    offer(&ls, K(999), 7, NULL);
    offer(&ls, K(1002), 8, NULL);
    offer(&ls, K(5000), 7, NULL);

    struct drt_endpoint ep = EP(7);
    assert_int_equal(leafset_remove_endpoint(&ls, &ep, &ch), 3);
    assert_int_equal(ch.n, 3);
    for (unsigned i = 0; i < ch.n; i++) {
        assert_int_equal(ch.c[i].type, LEAFSET_KEY_DELETED);
        assert_int_equal(ch.c[i].entry.ep.port, 7);
    }
    assert_int_equal(leafset_count(&ls), 1);
    assert_succ(&ls, 0, K(1002));
    assert_pred(&ls, 0, K(1002));
    assert_int_equal(leafset_remove_endpoint(&ls, &ep, &ch), 0);
    assert_int_equal(ch.n, 0);
}

static void test_covers_the_arc_between_the_farthest_members(void **state)
{
    (void)state;
    struct leafset ls;
    drt_key local = K(10);
    leafset_init(&ls, &local);

    for (uint64_t v = 1; v <= 5; v++) {
        offer(&ls, K(10 + v * 10), 1, NULL);
        offer(&ls, KTOP(v * 10), 1, NULL); /* predecessors wrap below 0 */
    }
    drt_key in_lo = KTOP(50), in_hi = K(60), out_lo = KTOP(51), out_hi = K(61);
    drt_key zero = K(0);
    assert_true(leafset_covers(&ls, &in_lo));
    assert_true(leafset_covers(&ls, &in_hi));
    assert_true(leafset_covers(&ls, &zero));
    assert_false(leafset_covers(&ls, &out_lo));
    assert_false(leafset_covers(&ls, &out_hi));
}

/* --- brute force --------------------------------------------------------------- */

#define POOL 40

struct oracle {
    drt_key local;
    drt_key keys[POOL];
    bool live[POOL];
};

/* The n-th nearest live key on a side by brute force, or -1. */
static int oracle_nth(const struct oracle *o, bool pred, unsigned n)
{
    bool used[POOL] = {false};
    int pick = -1;
    for (unsigned r = 0; r <= n; r++) {
        pick = -1;
        drt_key best;
        for (int i = 0; i < POOL; i++) {
            if (!o->live[i] || used[i])
                continue;
            drt_key d;
            if (pred)
                key256_cw_distance(&d, &o->keys[i], &o->local);
            else
                key256_cw_distance(&d, &o->local, &o->keys[i]);
            if (pick < 0 || key256_cmp(&d, &best) < 0) {
                pick = i;
                best = d;
            }
        }
        if (pick < 0)
            return -1;
        used[pick] = true;
    }
    return pick;
}

/* Offers and removals in random order; after every step the sides equal the
 * brute-force nearest lists and the reported changes replay to the same
 * membership. Removal leaves gaps, so the oracle is re-fed every live key
 * the way the route cache refills a leaf set. */
static void test_random_offers_and_removals_match_brute_force(void **state)
{
    (void)state;
    uint64_t seed = 0x1eafu;
    for (int round = 0; round < 20; round++) {
        struct oracle o;
        bool member[POOL] = {false};
        struct leafset ls;
        struct leafset_changes ch;

        o.local = random_key(&seed);
        for (int i = 0; i < POOL; i++) {
            o.keys[i] = random_key(&seed);
            if (round % 4 == 0)
                o.keys[i].b[31] = o.local.b[31]; /* a crowded neighbourhood */
            o.live[i] = false;
        }
        if (round % 5 == 1)
            o.local = key256_max; /* neighbours across the wrap */
        leafset_init(&ls, &o.local);

        for (int step = 0; step < 200; step++) {
            int i = (int)(rng_next(&seed) % POOL);
            if (o.live[i] && rng_next(&seed) % 3 == 0) {
                o.live[i] = false;
                leafset_remove(&ls, &o.keys[i], &ch);
                for (unsigned c = 0; c < ch.n; c++)
                    for (int j = 0; j < POOL; j++)
                        if (key256_equal(&ch.c[c].entry.key, &o.keys[j]))
                            member[j] = ch.c[c].type == LEAFSET_KEY_ADDED;
                for (int j = 0; j < POOL; j++) {
                    if (!o.live[j])
                        continue;
                    struct leafset_entry e = E(o.keys[j], (uint16_t)j);
                    leafset_offer(&ls, &e, &ch);
                    for (unsigned c = 0; c < ch.n; c++)
                        for (int m = 0; m < POOL; m++)
                            if (key256_equal(&ch.c[c].entry.key, &o.keys[m]))
                                member[m] = ch.c[c].type == LEAFSET_KEY_ADDED;
                }
            } else {
                o.live[i] = true;
                struct leafset_entry e = E(o.keys[i], (uint16_t)i);
                bool admits = leafset_admits(&ls, &o.keys[i]);
                enum leafset_result r = leafset_offer(&ls, &e, &ch);
                assert_int_equal(admits, r != LEAFSET_REJECTED);
                for (unsigned c = 0; c < ch.n; c++)
                    for (int m = 0; m < POOL; m++)
                        if (key256_equal(&ch.c[c].entry.key, &o.keys[m]))
                            member[m] = ch.c[c].type == LEAFSET_KEY_ADDED;
            }

            for (unsigned n = 0; n < LEAFSET_SIDE; n++) {
                int p = oracle_nth(&o, true, n), s = oracle_nth(&o, false, n);
                if (p < 0) {
                    assert_null(leafset_pred(&ls, n));
                } else {
                    assert_non_null(leafset_pred(&ls, n));
                    assert_key(&leafset_pred(&ls, n)->key, &o.keys[p]);
                }
                if (s < 0) {
                    assert_null(leafset_succ(&ls, n));
                } else {
                    assert_non_null(leafset_succ(&ls, n));
                    assert_key(&leafset_succ(&ls, n)->key, &o.keys[s]);
                }
            }
            unsigned members = 0;
            for (int j = 0; j < POOL; j++) {
                assert_int_equal(member[j], leafset_contains(&ls, &o.keys[j]));
                members += member[j];
            }
            assert_int_equal(members, leafset_count(&ls));
            assert_true(leafset_count(&ls) <= LEAFSET_CAPACITY);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_set_admits_all_but_local_and_covers_everything),
        cmocka_unit_test(test_local_key_is_never_a_member),
        cmocka_unit_test(test_sides_are_in_ring_order_walking_away_from_local),
        cmocka_unit_test(test_predecessors_of_a_low_key_wrap_through_the_top),
        cmocka_unit_test(test_successors_of_a_top_key_wrap_through_zero),
        cmocka_unit_test(test_in_a_three_node_ring_each_other_key_is_on_both_sides),
        cmocka_unit_test(test_key_pushed_off_one_side_but_kept_by_the_other_is_not_deleted),
        cmocka_unit_test(test_key_pushed_off_its_only_side_is_deleted),
        cmocka_unit_test(test_nearer_key_pushes_the_farthest_out_and_reports_it),
        cmocka_unit_test(test_offering_a_member_again_refreshes_it_on_both_sides),
        cmocka_unit_test(test_remove_endpoint_takes_all_its_keys),
        cmocka_unit_test(test_covers_the_arc_between_the_farthest_members),
        cmocka_unit_test(test_random_offers_and_removals_match_brute_force),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
