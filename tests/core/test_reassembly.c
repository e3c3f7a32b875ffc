/* test_reassembly.c - AUTHORITY reassembly: order, duplicates, every rejection,
 * keys kept apart, the cap policy under a flood, expiry, boundary sizes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/reassembly.h"

#define FRAG REASM_FRAGMENT_SIZE
#define T0 1000u /* a "now" that is not 0, so deadlines are not just the timeout */

/* --- helpers ------------------------------------------------------------ */

/* A recognisable buffer: byte i depends on i and seed, so a fragment copied
 * to the wrong offset or from the wrong message shows up as a mismatch. */
static uint8_t *pattern(size_t len, uint32_t seed)
{
    uint8_t *b = malloc(len ? len : 1);
    assert_non_null(b);
    for (size_t i = 0; i < len; i++)
        b[i] = (uint8_t)((i * 31u) ^ (i >> 8) ^ (seed * 97u));
    return b;
}

/* A 28-byte address (sockaddr_in6-sized) derived from n. */
static struct reasm_key key_for(uint32_t sender, uint32_t msg_id)
{
    uint8_t addr[REASM_ADDR_MAX];
    struct reasm_key k;

    memset(addr, 0, sizeof(addr));
    addr[0] = 10; /* AF_INET6 on Linux; only needs to be fixed bytes */
    for (int i = 0; i < 4; i++)
        addr[8 + i] = (uint8_t)(sender >> (8 * i));
    assert_true(reasm_key_make(&k, addr, sizeof(addr), msg_id));
    return k;
}

static uint32_t nfrags(uint32_t total)
{
    return (total + FRAG - 1) / FRAG;
}

static size_t frag_len(uint32_t total, uint32_t index)
{
    uint32_t off = index * FRAG;
    return total - off < FRAG ? total - off : FRAG;
}

static enum reasm_result add_frag(struct reasm *r, const struct reasm_key *k, const uint8_t *buf,
                                  uint32_t total, uint32_t index, uint64_t now,
                                  const uint8_t **out, size_t *out_len)
{
    return reasm_add(r, k, total, index * FRAG, buf + index * FRAG, frag_len(total, index), now,
                     out, out_len);
}

/* Same, for callers that do not expect COMPLETE. */
static enum reasm_result add1(struct reasm *r, const struct reasm_key *k, const uint8_t *buf,
                              uint32_t total, uint32_t index, uint64_t now)
{
    const uint8_t *out;
    size_t out_len;
    enum reasm_result res = add_frag(r, k, buf, total, index, now, &out, &out_len);
    if (res != REASM_COMPLETE) {
        assert_null(out);
        assert_int_equal(out_len, 0);
    }
    return res;
}

/* Feeds the fragments of buf in the given order; every one but the last must
 * be INCOMPLETE, the last COMPLETE with bytes identical to buf. */
static void feed_in_order(struct reasm *r, const struct reasm_key *k, const uint8_t *buf,
                          uint32_t total, const uint32_t *order, uint32_t n)
{
    const uint8_t *out = NULL;
    size_t out_len = 0;

    for (uint32_t i = 0; i < n; i++) {
        enum reasm_result res = add_frag(r, k, buf, total, order[i], T0 + i, &out, &out_len);
        if (i + 1 < n) {
            assert_int_equal(res, REASM_INCOMPLETE);
        } else {
            assert_int_equal(res, REASM_COMPLETE);
            assert_int_equal(out_len, total);
            assert_memory_equal(out, buf, total);
        }
    }
}

static struct reasm_stats stats_of(const struct reasm *r)
{
    struct reasm_stats st;
    reasm_get_stats(r, &st);
    return st;
}

/* Deterministic xorshift: shuffles without rand(). */
static uint32_t next_rand(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static int setup(void **state)
{
    *state = reasm_create(NULL);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    reasm_destroy(*state);
    return 0;
}

/* --- configuration -------------------------------------------------------- */

static void test_defaults_are_32_buffers_256_kib_and_5_seconds(void **state)
{
    struct reasm_config c;
    reasm_config_default(&c);
    assert_int_equal(c.max_buffers, 32);
    assert_int_equal(c.max_bytes, 256 * 1024);
    assert_int_equal(c.timeout_ms, 5000);
    assert_int_equal(nfrags(REASM_MAX_BUFFER_SIZE), REASM_MAX_FRAGMENTS);
}

static void test_config_out_of_bounds_is_refused(void **state)
{
    struct reasm_config c;

    reasm_config_default(&c);
    c.max_buffers = 0;
    assert_null(reasm_create(&c));
    c.max_buffers = REASM_MAX_BUFFERS_LIMIT + 1;
    assert_null(reasm_create(&c));

    reasm_config_default(&c);
    c.max_bytes = REASM_MAX_BUFFER_SIZE - 1; /* a legal buffer could never finish */
    assert_null(reasm_create(&c));

    reasm_config_default(&c);
    c.timeout_ms = 0;
    assert_null(reasm_create(&c));

    reasm_config_default(&c);
    c.max_buffers = 1;
    c.max_bytes = REASM_MAX_BUFFER_SIZE;
    struct reasm *r = reasm_create(&c);
    assert_non_null(r);
    reasm_destroy(r);
    reasm_destroy(NULL);
}

static void test_key_longer_than_a_sockaddr_in6_is_refused(void **state)
{
    uint8_t addr[REASM_ADDR_MAX + 1] = {0};
    struct reasm_key k;

    assert_false(reasm_key_make(&k, addr, sizeof(addr), 1));
    assert_false(reasm_key_make(&k, NULL, 4, 1));
    assert_true(reasm_key_make(&k, NULL, 0, 1));
    assert_true(reasm_key_make(&k, addr, REASM_ADDR_MAX, 1));
}

/* --- order of arrival ----------------------------------------------------- */

static void test_in_order_fragments_complete_with_identical_bytes(void **state)
{
    struct reasm *r = *state;
    uint32_t total = 5 * FRAG + 77;
    uint8_t *buf = pattern(total, 1);
    uint32_t order[6] = {0, 1, 2, 3, 4, 5};
    struct reasm_key k = key_for(1, 0xA1);

    feed_in_order(r, &k, buf, total, order, 6);
    struct reasm_stats st = stats_of(r);
    assert_int_equal(st.completed, 1);
    assert_int_equal(st.buffers_held, 0);
    free(buf);
}

static void test_reverse_order_fragments_complete_with_identical_bytes(void **state)
{
    struct reasm *r = *state;
    uint32_t total = 6 * FRAG; /* last fragment exactly 1188 too */
    uint8_t *buf = pattern(total, 2);
    uint32_t order[6] = {5, 4, 3, 2, 1, 0};
    struct reasm_key k = key_for(1, 0xA2);

    feed_in_order(r, &k, buf, total, order, 6);
    free(buf);
}

static void test_shuffled_fragments_complete_with_identical_bytes(void **state)
{
    struct reasm *r = *state;
    uint32_t total = REASM_MAX_BUFFER_SIZE;
    uint32_t n = nfrags(total);
    uint8_t *buf = pattern(total, 3);
    uint32_t seed = 0x12345678;

    for (uint32_t round = 0; round < 20; round++) {
        uint32_t order[REASM_MAX_FRAGMENTS];
        for (uint32_t i = 0; i < n; i++)
            order[i] = i;
        for (uint32_t i = n - 1; i > 0; i--) {
            uint32_t j = next_rand(&seed) % (i + 1);
            uint32_t t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        struct reasm_key k = key_for(1, 0x1000 + round);
        feed_in_order(r, &k, buf, total, order, n);
    }
    struct reasm_stats st = stats_of(r);
    assert_int_equal(st.completed, 20);
    free(buf);
}

/* --- duplicates ----------------------------------------------------------- */

static void test_repeated_fragment_is_a_duplicate_and_ignored(void **state)
{
    struct reasm *r = *state;
    uint32_t total = 3 * FRAG;
    uint8_t *buf = pattern(total, 4);
    struct reasm_key k = key_for(1, 0xD0);
    const uint8_t *out;
    size_t out_len;

    assert_int_equal(add1(r, &k, buf, total, 1, T0), REASM_INCOMPLETE);
    assert_int_equal(add1(r, &k, buf, total, 1, T0), REASM_DUPLICATE);
    assert_int_equal(add1(r, &k, buf, total, 0, T0), REASM_INCOMPLETE);
    assert_int_equal(add1(r, &k, buf, total, 0, T0), REASM_DUPLICATE);
    assert_int_equal(add1(r, &k, buf, total, 1, T0), REASM_DUPLICATE);
    assert_int_equal(add_frag(r, &k, buf, total, 2, T0, &out, &out_len), REASM_COMPLETE);
    assert_memory_equal(out, buf, total);

    struct reasm_stats st = stats_of(r);
    assert_int_equal(st.duplicates, 3);
    assert_int_equal(st.rejected, 0);
    assert_int_equal(st.completed, 1);
    free(buf);
}

static void test_repeated_fragment_with_different_bytes_is_rejected_and_discards_the_buffer(
    void **state)
{
    struct reasm *r = *state;
    uint32_t total = 3 * FRAG;
    uint8_t *buf = pattern(total, 5);
    uint8_t *other = pattern(total, 6);
    struct reasm_key k = key_for(1, 0xD1);

    assert_int_equal(add1(r, &k, buf, total, 0, T0), REASM_INCOMPLETE);
    assert_int_equal(add1(r, &k, buf, total, 1, T0), REASM_INCOMPLETE);
    assert_int_equal(add1(r, &k, other, total, 1, T0), REASM_REJECTED);

    struct reasm_stats st = stats_of(r);
    assert_int_equal(st.rejected, 1);
    assert_int_equal(st.buffers_held, 0);
    assert_int_equal(st.bytes_held, 0);
    /* The last fragment now starts over instead of completing a mixed buffer. */
    assert_int_equal(add1(r, &k, buf, total, 2, T0), REASM_INCOMPLETE);
    free(buf);
    free(other);
}

/* --- rejections ----------------------------------------------------------- */

/* Offers one invalid fragment (a) to an empty reassembler and (b) to a key
 * with a buffer in progress, which it must discard. */
static void expect_rejected(uint32_t total, uint32_t offset, size_t len)
{
    struct reasm *r = reasm_create(NULL);
    uint8_t *bytes = pattern(2 * REASM_MAX_BUFFER_SIZE, 7);
    struct reasm_key k = key_for(7, 0xBAD);
    const uint8_t *out = (const uint8_t *)"x";
    size_t out_len = 99;

    assert_non_null(r);
    assert_int_equal(reasm_add(r, &k, total, offset, bytes, len, T0, &out, &out_len),
                     REASM_REJECTED);
    assert_null(out);
    assert_int_equal(out_len, 0);
    struct reasm_stats st = stats_of(r);
    assert_int_equal(st.rejected, 1);
    assert_int_equal(st.buffers_held, 0);
    assert_int_equal(st.bytes_held, 0);

    /* A buffer in progress under the same key is discarded with it. */
    assert_int_equal(reasm_add(r, &k, 3 * FRAG, FRAG, bytes, FRAG, T0, &out, &out_len),
                     REASM_INCOMPLETE);
    assert_int_equal(stats_of(r).buffers_held, 1);
    assert_int_equal(reasm_add(r, &k, total, offset, bytes, len, T0, &out, &out_len),
                     REASM_REJECTED);
    st = stats_of(r);
    assert_int_equal(st.rejected, 2);
    assert_int_equal(st.buffers_held, 0);
    assert_int_equal(st.bytes_held, 0);
    reasm_destroy(r);
    free(bytes);
}

static void test_offset_not_a_multiple_of_1188_is_rejected(void **state)
{
    expect_rejected(3 * FRAG, 1, FRAG);
    expect_rejected(3 * FRAG, FRAG - 1, FRAG);
    expect_rejected(3 * FRAG, FRAG + 594, FRAG);
}

static void test_total_size_zero_is_rejected(void **state)
{
    expect_rejected(0, 0, 0);
    expect_rejected(0, 0, 1);
}

static void test_total_size_above_0x91e4_is_rejected(void **state)
{
    expect_rejected(REASM_MAX_BUFFER_SIZE + 1, 0, FRAG);
    expect_rejected(0xFFFF, 0, FRAG);
    expect_rejected(UINT32_MAX, 0, FRAG);
}

static void test_fragment_reaching_past_total_size_is_rejected(void **state)
{
    expect_rejected(3 * FRAG, 3 * FRAG, 1);       /* starts at the end */
    expect_rejected(3 * FRAG, 4 * FRAG, FRAG);    /* starts beyond it */
    expect_rejected(2 * FRAG + 10, 2 * FRAG, 11); /* last one a byte too long */
    expect_rejected(100, 0, 101);                 /* unfragmented, too long */
}

static void test_non_final_fragment_not_exactly_1188_bytes_is_rejected(void **state)
{
    expect_rejected(3 * FRAG, 0, FRAG - 1);
    expect_rejected(3 * FRAG, FRAG, FRAG + 1);
    expect_rejected(3 * FRAG, FRAG, 1);
}

static void test_final_fragment_length_mismatch_is_rejected(void **state)
{
    expect_rejected(3 * FRAG, 2 * FRAG, FRAG - 1); /* short of Size */
    expect_rejected(2 * FRAG + 10, 2 * FRAG, 9);
    expect_rejected(100, 0, 99); /* unfragmented, too short */
    expect_rejected(3 * FRAG, 2 * FRAG, 0);
}

static void test_total_size_differing_from_earlier_fragments_is_rejected(void **state)
{
    struct reasm *r = *state;
    uint32_t total = 3 * FRAG;
    uint8_t *buf = pattern(total + FRAG, 8);
    struct reasm_key k = key_for(1, 0xE1);
    const uint8_t *out;
    size_t out_len;

    assert_int_equal(add1(r, &k, buf, total, 0, T0), REASM_INCOMPLETE);
    assert_int_equal(add1(r, &k, buf, total, 1, T0), REASM_INCOMPLETE);
    /* Fragment 2 claims a 4-fragment buffer: valid alone, contradicts the rest. */
    assert_int_equal(reasm_add(r, &k, total + FRAG, 2 * FRAG, buf + 2 * FRAG, FRAG, T0, &out,
                               &out_len),
                     REASM_REJECTED);
    struct reasm_stats st = stats_of(r);
    assert_int_equal(st.rejected, 1);
    assert_int_equal(st.buffers_held, 0);
    assert_int_equal(st.bytes_held, 0);

    /* An unfragmented buffer under a key whose fragmented one is in progress. */
    assert_int_equal(add1(r, &k, buf, total, 0, T0), REASM_INCOMPLETE);
    assert_int_equal(reasm_add(r, &k, 50, 0, buf, 50, T0, &out, &out_len), REASM_REJECTED);
    assert_int_equal(stats_of(r).buffers_held, 0);
    free(buf);
}

static void test_null_arguments_and_oversized_key_are_rejected(void **state)
{
    struct reasm *r = *state;
    struct reasm_key k = key_for(1, 1);
    uint8_t b[10] = {0};
    const uint8_t *out;
    size_t out_len;

    assert_int_equal(reasm_add(NULL, &k, 10, 0, b, 10, T0, &out, &out_len), REASM_REJECTED);
    assert_int_equal(reasm_add(r, NULL, 10, 0, b, 10, T0, &out, &out_len), REASM_REJECTED);
    assert_int_equal(reasm_add(r, &k, 10, 0, NULL, 10, T0, &out, &out_len), REASM_REJECTED);
    assert_int_equal(reasm_add(r, &k, 10, 0, b, 10, T0, NULL, &out_len), REASM_REJECTED);
    assert_int_equal(reasm_add(r, &k, 10, 0, b, 10, T0, &out, NULL), REASM_REJECTED);
    k.addr_len = REASM_ADDR_MAX + 1;
    assert_int_equal(reasm_add(r, &k, 10, 0, b, 10, T0, &out, &out_len), REASM_REJECTED);
    assert_int_equal(stats_of(r).rejected, 5);
}

/* --- keys ----------------------------------------------------------------- */

static void test_several_keys_reassemble_interleaved(void **state)
{
    struct reasm *r = *state;
    enum { KEYS = 5 };
    uint32_t totals[KEYS] = {2 * FRAG, 3 * FRAG + 1, 4 * FRAG - 1, 7 * FRAG, 1189};
    uint8_t *bufs[KEYS];
    struct reasm_key keys[KEYS];
    uint32_t done = 0;

    for (int i = 0; i < KEYS; i++) {
        bufs[i] = pattern(totals[i], 20 + (uint32_t)i);
        keys[i] = key_for((uint32_t)i, 0x500 + (uint32_t)i);
    }
    /* Round-robin, each key from its last fragment down. */
    for (uint32_t round = 0; round < 7; round++) {
        for (int i = 0; i < KEYS; i++) {
            uint32_t n = nfrags(totals[i]);
            if (round >= n)
                continue;
            const uint8_t *out;
            size_t out_len;
            enum reasm_result res =
                add_frag(r, &keys[i], bufs[i], totals[i], n - 1 - round, T0, &out, &out_len);
            if (round + 1 < n) {
                assert_int_equal(res, REASM_INCOMPLETE);
            } else {
                assert_int_equal(res, REASM_COMPLETE);
                assert_int_equal(out_len, totals[i]);
                assert_memory_equal(out, bufs[i], totals[i]);
                done++;
            }
        }
    }
    assert_int_equal(done, KEYS);
    struct reasm_stats st = stats_of(r);
    assert_int_equal(st.buffers_held, 0);
    for (int i = 0; i < KEYS; i++)
        free(bufs[i]);
}

static void test_same_message_id_from_two_senders_is_kept_apart(void **state)
{
    struct reasm *r = *state;
    uint32_t total = 2 * FRAG + 5;
    uint8_t *a = pattern(total, 30);
    uint8_t *b = pattern(total, 31);
    struct reasm_key ka = key_for(1, 0x77);
    struct reasm_key kb = key_for(2, 0x77);
    const uint8_t *out;
    size_t out_len;

    /* Different bytes at the same offsets: merged keys would be REJECTED. */
    assert_int_equal(add1(r, &ka, a, total, 0, T0), REASM_INCOMPLETE);
    assert_int_equal(add1(r, &kb, b, total, 0, T0), REASM_INCOMPLETE);
    assert_int_equal(add1(r, &ka, a, total, 1, T0), REASM_INCOMPLETE);
    assert_int_equal(add1(r, &kb, b, total, 1, T0), REASM_INCOMPLETE);
    assert_int_equal(stats_of(r).buffers_held, 2);
    assert_int_equal(add_frag(r, &kb, b, total, 2, T0, &out, &out_len), REASM_COMPLETE);
    assert_memory_equal(out, b, total);
    assert_int_equal(add_frag(r, &ka, a, total, 2, T0, &out, &out_len), REASM_COMPLETE);
    assert_memory_equal(out, a, total);

    /* The address length counts too: a 16-byte prefix of a 28-byte address is
     * another sender. */
    struct reasm_key short_a = ka;
    short_a.addr_len = 16;
    assert_int_equal(add1(r, &ka, a, total, 0, T0), REASM_INCOMPLETE);
    assert_int_equal(add1(r, &short_a, b, total, 0, T0), REASM_INCOMPLETE);
    assert_int_equal(stats_of(r).buffers_held, 2);
    assert_int_equal(stats_of(r).rejected, 0);
    free(a);
    free(b);
}

static void test_same_sender_with_two_message_ids_is_kept_apart(void **state)
{
    struct reasm *r = *state;
    uint32_t total = 2 * FRAG;
    uint8_t *a = pattern(total, 32);
    uint8_t *b = pattern(total, 33);
    struct reasm_key ka = key_for(1, 0x100);
    struct reasm_key kb = key_for(1, 0x101);
    const uint8_t *out;
    size_t out_len;

    assert_int_equal(add1(r, &ka, a, total, 0, T0), REASM_INCOMPLETE);
    assert_int_equal(add1(r, &kb, b, total, 1, T0), REASM_INCOMPLETE);
    assert_int_equal(add_frag(r, &ka, a, total, 1, T0, &out, &out_len), REASM_COMPLETE);
    assert_memory_equal(out, a, total);
    assert_int_equal(add_frag(r, &kb, b, total, 0, T0, &out, &out_len), REASM_COMPLETE);
    assert_memory_equal(out, b, total);
    free(a);
    free(b);
}

/* --- caps ----------------------------------------------------------------- */

static void test_flood_of_bogus_first_fragments_does_not_stop_a_legitimate_message(void **state)
{
    struct reasm *r = *state;
    enum { FLOOD = 10000, GAP = 20 };
    uint32_t bogus_total = 3 * FRAG;
    uint8_t *junk = pattern(bogus_total, 40);
    uint32_t total = 3 * FRAG - 300;
    uint8_t *legit = pattern(total, 41);
    struct reasm_key lk = key_for(0xFFFFFFFF, 0xC0FFEE);
    const uint8_t *out;
    size_t out_len;
    int completed = 0;

    /* Bogus first fragments from 10,000 distinct senders; the legitimate
     * reply starts mid-flood, with GAP flood datagrams before each of its
     * later fragments and thousands more in between once it is proven. */
    for (uint32_t i = 0; i < FLOOD; i++) {
        struct reasm_key bk = key_for(i, 0xDEAD0000u + i);
        enum reasm_result res = add1(r, &bk, junk, bogus_total, 0, T0 + i / 10);
        assert_int_equal(res, REASM_INCOMPLETE);
        assert_true(stats_of(r).buffers_held <= 32);
        assert_true(stats_of(r).bytes_held <= 256 * 1024);

        if (i == 5000)
            assert_int_equal(add1(r, &lk, legit, total, 0, T0 + i / 10), REASM_INCOMPLETE);
        if (i == 5000 + GAP)
            assert_int_equal(add1(r, &lk, legit, total, 2, T0 + i / 10), REASM_INCOMPLETE);
        if (i == 9000) {
            assert_int_equal(add_frag(r, &lk, legit, total, 1, T0 + i / 10, &out, &out_len),
                             REASM_COMPLETE);
            assert_int_equal(out_len, total);
            assert_memory_equal(out, legit, total);
            completed++;
        }
    }
    assert_int_equal(completed, 1);

    struct reasm_stats st = stats_of(r);
    assert_int_equal(st.completed, 1);
    assert_int_equal(st.buffers_held, 32);
    /* Every new buffer (10,000 bogus + 1) beyond the 32 that fit was let in
     * by evicting an older one, except the one that took the slot the
     * completed reply left. */
    assert_int_equal(st.evicted_cap, FLOOD + 1 - 32 - 1);
    assert_int_equal(st.refused_cap, 0);

    /* A second legitimate reply that starts after the flood still gets in. */
    struct reasm_key lk2 = key_for(0xFFFFFFFE, 0xC0FFEF);
    feed_in_order(r, &lk2, legit, total, (const uint32_t[]){1, 0, 2}, 3);
    free(junk);
    free(legit);
}

static void test_one_fragment_buffer_survives_max_buffers_minus_one_newcomers(void **state)
{
    struct reasm *r = *state;
    uint32_t total = 2 * FRAG;
    uint8_t *buf = pattern(total, 42);
    struct reasm_key legit = key_for(0xABC, 1);
    const uint8_t *out;
    size_t out_len;

    /* Fill the table, then the legitimate first fragment evicts the oldest. */
    for (uint32_t i = 0; i < 32; i++) {
        struct reasm_key bk = key_for(i, 2);
        assert_int_equal(add1(r, &bk, buf, total, 0, T0), REASM_INCOMPLETE);
    }
    assert_int_equal(add1(r, &legit, buf, total, 0, T0), REASM_INCOMPLETE);
    assert_int_equal(stats_of(r).evicted_cap, 1);
    for (uint32_t i = 100; i < 100 + 31; i++) {
        struct reasm_key bk = key_for(i, 2);
        assert_int_equal(add1(r, &bk, buf, total, 0, T0), REASM_INCOMPLETE);
    }
    assert_int_equal(add_frag(r, &legit, buf, total, 1, T0, &out, &out_len), REASM_COMPLETE);
    assert_memory_equal(out, buf, total);

    /* Started again, it is the oldest one-fragment buffer by the 32nd
     * newcomer, which evicts it. */
    assert_int_equal(add1(r, &legit, buf, total, 0, T0), REASM_INCOMPLETE);
    for (uint32_t i = 200; i < 200 + 32; i++) {
        struct reasm_key bk = key_for(i, 2);
        assert_int_equal(add1(r, &bk, buf, total, 0, T0), REASM_INCOMPLETE);
    }
    /* Its second fragment now opens a fresh buffer instead of completing. */
    assert_int_equal(add1(r, &legit, buf, total, 1, T0), REASM_INCOMPLETE);
    free(buf);
}

static void test_new_buffer_is_refused_when_every_slot_holds_a_proven_buffer(void **state)
{
    struct reasm *r = *state;
    uint32_t total = 3 * FRAG;
    uint8_t *buf = pattern(total, 43);
    const uint8_t *out;
    size_t out_len;

    for (uint32_t i = 0; i < 32; i++) {
        struct reasm_key k = key_for(i, 3);
        assert_int_equal(add1(r, &k, buf, total, 0, T0), REASM_INCOMPLETE);
        assert_int_equal(add1(r, &k, buf, total, 1, T0), REASM_INCOMPLETE);
    }
    struct reasm_key late = key_for(999, 3);
    assert_int_equal(add1(r, &late, buf, total, 0, T0), REASM_DROPPED_CAP);
    struct reasm_stats st = stats_of(r);
    assert_int_equal(st.refused_cap, 1);
    assert_int_equal(st.evicted_cap, 0);
    assert_int_equal(st.buffers_held, 32);
    assert_int_equal(st.bytes_held, 32 * total);

    /* The buffers held are untouched and finish; then there is room again. */
    for (uint32_t i = 0; i < 32; i++) {
        struct reasm_key k = key_for(i, 3);
        assert_int_equal(add_frag(r, &k, buf, total, 2, T0, &out, &out_len), REASM_COMPLETE);
        assert_memory_equal(out, buf, total);
    }
    assert_int_equal(add1(r, &late, buf, total, 0, T0), REASM_INCOMPLETE);
    free(buf);
}

static void test_byte_cap_evicts_one_fragment_buffers_oldest_first(void **state)
{
    struct reasm *r = *state;
    uint32_t total = REASM_MAX_BUFFER_SIZE;
    uint8_t *buf = pattern(total, 44);
    const uint8_t *out;
    size_t out_len;

    /* 7 maximal claims fit in 256 KiB, the 8th does not (slots are plenty). */
    for (uint32_t i = 0; i < 7; i++) {
        struct reasm_key k = key_for(i, 4);
        assert_int_equal(add1(r, &k, buf, total, 0, T0), REASM_INCOMPLETE);
    }
    assert_int_equal(stats_of(r).bytes_held, 7 * total);
    struct reasm_key legit = key_for(100, 4);
    assert_int_equal(add1(r, &legit, buf, total, 5, T0), REASM_INCOMPLETE);
    struct reasm_stats st = stats_of(r);
    assert_int_equal(st.evicted_cap, 1);
    assert_int_equal(st.buffers_held, 7);
    assert_true(st.bytes_held <= 256 * 1024);

    /* The evicted one was the oldest: sender 0. Its next fragment starts over
     * (evicting sender 1), while sender 2 still has its buffer. */
    struct reasm_key k0 = key_for(0, 4), k2 = key_for(2, 4);
    assert_int_equal(add1(r, &k0, buf, total, 1, T0), REASM_INCOMPLETE);
    assert_int_equal(stats_of(r).evicted_cap, 2);
    assert_int_equal(add1(r, &k2, buf, total, 0, T0), REASM_DUPLICATE);

    uint32_t n = nfrags(total);
    for (uint32_t i = 0; i < n; i++) {
        if (i == 5)
            continue;
        enum reasm_result res = add_frag(r, &legit, buf, total, i, T0, &out, &out_len);
        assert_int_equal(res, i + 1 == n ? REASM_COMPLETE : REASM_INCOMPLETE);
    }
    assert_memory_equal(out, buf, total);
    free(buf);
}

static void test_byte_cap_refuses_when_proven_buffers_fill_it(void **state)
{
    struct reasm *r = *state;
    uint32_t total = REASM_MAX_BUFFER_SIZE;
    uint8_t *buf = pattern(total, 45);

    /* 6 maximal buffers and one of 20000 bytes, all proven: 244088 bytes. */
    for (uint32_t i = 0; i < 7; i++) {
        struct reasm_key k = key_for(i, 5);
        uint32_t t = i < 6 ? total : 20000;
        assert_int_equal(add1(r, &k, buf, t, 0, T0), REASM_INCOMPLETE);
        assert_int_equal(add1(r, &k, buf, t, 1, T0), REASM_INCOMPLETE);
    }
    /* A one-fragment buffer of 1189 bytes fits beside them... */
    struct reasm_key small = key_for(50, 5);
    assert_int_equal(add1(r, &small, buf, 1189, 0, T0), REASM_INCOMPLETE);
    /* ...but evicting it would not make room for a maximal one: refused, and
     * nothing is evicted for nothing. */
    struct reasm_key big = key_for(51, 5);
    assert_int_equal(add1(r, &big, buf, total, 0, T0), REASM_DROPPED_CAP);
    struct reasm_stats st = stats_of(r);
    assert_int_equal(st.refused_cap, 1);
    assert_int_equal(st.evicted_cap, 0);
    assert_int_equal(st.buffers_held, 8);
    assert_int_equal(st.bytes_held, 6 * total + 20000 + 1189);
    /* A newcomer that evicting it does make room for gets in. */
    struct reasm_key medium = key_for(52, 5);
    assert_int_equal(add1(r, &medium, buf, 18000, 0, T0), REASM_INCOMPLETE);
    assert_int_equal(stats_of(r).evicted_cap, 1);
    free(buf);
}

/* --- expiry --------------------------------------------------------------- */

static void test_expiry_drops_a_partial_buffer_and_frees_its_bytes(void **state)
{
    struct reasm *r = *state;
    uint32_t total = 4 * FRAG;
    uint8_t *buf = pattern(total, 50);
    struct reasm_key k = key_for(1, 0xE0);

    assert_int_equal(reasm_next_deadline(r), UINT64_MAX);
    assert_int_equal(add1(r, &k, buf, total, 0, T0), REASM_INCOMPLETE);
    assert_int_equal(add1(r, &k, buf, total, 2, T0 + 10), REASM_INCOMPLETE);
    assert_int_equal(stats_of(r).bytes_held, total);

    assert_int_equal(reasm_expire(r, T0 + 4999), 0);
    assert_int_equal(stats_of(r).buffers_held, 1);
    assert_int_equal(reasm_expire(r, T0 + 5000), 1);

    struct reasm_stats st = stats_of(r);
    assert_int_equal(st.expired, 1);
    assert_int_equal(st.buffers_held, 0);
    assert_int_equal(st.bytes_held, 0);
    assert_int_equal(reasm_next_deadline(r), UINT64_MAX);

    /* A straggler after expiry starts a new buffer rather than completing. */
    assert_int_equal(add1(r, &k, buf, total, 1, T0 + 6000), REASM_INCOMPLETE);
    free(buf);
}

static void test_deadline_is_the_first_fragment_plus_timeout_and_progress_does_not_move_it(
    void **state)
{
    struct reasm *r = *state;
    uint32_t total = 3 * FRAG;
    uint8_t *buf = pattern(total, 51);
    struct reasm_key a = key_for(1, 0xF0), b = key_for(2, 0xF0);

    assert_int_equal(add1(r, &a, buf, total, 0, 2000), REASM_INCOMPLETE);
    assert_int_equal(add1(r, &b, buf, total, 0, 1500), REASM_INCOMPLETE);
    assert_int_equal(reasm_next_deadline(r), 6500);
    assert_int_equal(add1(r, &b, buf, total, 1, 6000), REASM_INCOMPLETE);
    assert_int_equal(reasm_next_deadline(r), 6500);

    /* reasm_add expires due buffers itself before looking the key up. */
    assert_int_equal(add1(r, &b, buf, total, 2, 6500), REASM_INCOMPLETE);
    struct reasm_stats st = stats_of(r);
    assert_int_equal(st.expired, 1);
    assert_int_equal(st.completed, 0);
    assert_int_equal(reasm_next_deadline(r), 7000);
    free(buf);
}

static void test_deadline_saturates_instead_of_wrapping(void **state)
{
    struct reasm *r = *state;
    uint8_t *buf = pattern(2 * FRAG, 52);
    struct reasm_key k = key_for(1, 1);

    assert_int_equal(add1(r, &k, buf, 2 * FRAG, 0, UINT64_MAX - 10), REASM_INCOMPLETE);
    assert_int_equal(reasm_next_deadline(r), UINT64_MAX);
    assert_int_equal(reasm_expire(r, UINT64_MAX - 1), 0);
    free(buf);
}

/* --- sizes and ownership -------------------------------------------------- */

static void check_size(struct reasm *r, uint32_t total, uint32_t msg_id)
{
    uint8_t *buf = pattern(total, msg_id);
    struct reasm_key k = key_for(9, msg_id);
    uint32_t n = nfrags(total);
    uint32_t order[REASM_MAX_FRAGMENTS];

    for (uint32_t i = 0; i < n; i++)
        order[i] = n - 1 - i; /* the short final fragment first */
    feed_in_order(r, &k, buf, total, order, n);
    free(buf);
}

static void test_sizes_1_1187_1188_1189_and_37348_complete(void **state)
{
    struct reasm *r = *state;

    check_size(r, 1, 1);
    check_size(r, 1187, 2);
    check_size(r, 1188, 3);
    check_size(r, 1189, 4);
    check_size(r, REASM_MAX_BUFFER_SIZE, 5);
    assert_int_equal(stats_of(r).completed, 5);
    assert_int_equal(frag_len(REASM_MAX_BUFFER_SIZE, 31), 520);
}

static void test_unfragmented_buffer_completes_at_once_without_being_held(void **state)
{
    struct reasm *r = *state;
    uint32_t sizes[3] = {1, 1187, 1188};

    for (int i = 0; i < 3; i++) {
        uint8_t *buf = pattern(sizes[i], 60);
        struct reasm_key k = key_for(1, 0x60);
        const uint8_t *out;
        size_t out_len;

        assert_int_equal(reasm_add(r, &k, sizes[i], 0, buf, sizes[i], T0, &out, &out_len),
                         REASM_COMPLETE);
        assert_ptr_equal(out, buf); /* lent straight back, no copy */
        assert_int_equal(out_len, sizes[i]);
        struct reasm_stats st = stats_of(r);
        assert_int_equal(st.bytes_held, 0);
        assert_int_equal(st.buffers_held, 0);
        assert_int_equal(reasm_next_deadline(r), UINT64_MAX);
        free(buf);
    }
}

static void test_completed_buffer_is_held_until_the_next_call_or_release(void **state)
{
    struct reasm *r = *state;
    uint32_t total = 2 * FRAG;
    uint8_t *buf = pattern(total, 61);
    struct reasm_key k = key_for(1, 0x61);
    const uint8_t *out;
    size_t out_len;

    assert_int_equal(add1(r, &k, buf, total, 0, T0), REASM_INCOMPLETE);
    assert_int_equal(add_frag(r, &k, buf, total, 1, T0, &out, &out_len), REASM_COMPLETE);
    struct reasm_stats st = stats_of(r);
    assert_int_equal(st.buffers_held, 0);
    assert_int_equal(st.bytes_held, total); /* on loan, still counted */
    assert_int_equal(reasm_expire(r, UINT64_MAX), 0);
    assert_memory_equal(out, buf, total); /* expire leaves the loan alone */

    reasm_release(r);
    assert_int_equal(stats_of(r).bytes_held, 0);
    reasm_release(r); /* nothing on loan: no-op */

    /* The next reasm_add frees a loan too. */
    assert_int_equal(add1(r, &k, buf, total, 0, T0), REASM_INCOMPLETE);
    assert_int_equal(add_frag(r, &k, buf, total, 1, T0, &out, &out_len), REASM_COMPLETE);
    assert_int_equal(add1(r, &k, buf, total, 0, T0), REASM_INCOMPLETE);
    assert_int_equal(stats_of(r).bytes_held, total);
    free(buf);
}

static void test_destroy_frees_buffers_in_progress_and_on_loan(void **state)
{
    struct reasm *r = reasm_create(NULL);
    uint32_t total = 3 * FRAG;
    uint8_t *buf = pattern(total, 62);
    struct reasm_key a = key_for(1, 1), b = key_for(2, 2);
    const uint8_t *out;
    size_t out_len;

    assert_non_null(r);
    assert_int_equal(add1(r, &a, buf, total, 0, T0), REASM_INCOMPLETE);
    assert_int_equal(add1(r, &b, buf, total, 0, T0), REASM_INCOMPLETE);
    assert_int_equal(add1(r, &b, buf, total, 1, T0), REASM_INCOMPLETE);
    assert_int_equal(add_frag(r, &b, buf, total, 2, T0, &out, &out_len), REASM_COMPLETE);
    reasm_destroy(r); /* ASan reports a leak if either buffer survives */
    free(buf);
}

static void test_result_names_read_like_the_enum(void **state)
{
    assert_string_equal(reasm_result_name(REASM_COMPLETE), "COMPLETE");
    assert_string_equal(reasm_result_name(REASM_INCOMPLETE), "INCOMPLETE");
    assert_string_equal(reasm_result_name(REASM_DUPLICATE), "DUPLICATE");
    assert_string_equal(reasm_result_name(REASM_REJECTED), "REJECTED");
    assert_string_equal(reasm_result_name(REASM_DROPPED_CAP), "DROPPED_CAP");
    assert_string_equal(reasm_result_name((enum reasm_result)99), "?");
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_32_buffers_256_kib_and_5_seconds),
        cmocka_unit_test(test_config_out_of_bounds_is_refused),
        cmocka_unit_test(test_key_longer_than_a_sockaddr_in6_is_refused),
        T(test_in_order_fragments_complete_with_identical_bytes),
        T(test_reverse_order_fragments_complete_with_identical_bytes),
        T(test_shuffled_fragments_complete_with_identical_bytes),
        T(test_repeated_fragment_is_a_duplicate_and_ignored),
        T(test_repeated_fragment_with_different_bytes_is_rejected_and_discards_the_buffer),
        cmocka_unit_test(test_offset_not_a_multiple_of_1188_is_rejected),
        cmocka_unit_test(test_total_size_zero_is_rejected),
        cmocka_unit_test(test_total_size_above_0x91e4_is_rejected),
        cmocka_unit_test(test_fragment_reaching_past_total_size_is_rejected),
        cmocka_unit_test(test_non_final_fragment_not_exactly_1188_bytes_is_rejected),
        cmocka_unit_test(test_final_fragment_length_mismatch_is_rejected),
        T(test_total_size_differing_from_earlier_fragments_is_rejected),
        T(test_null_arguments_and_oversized_key_are_rejected),
        T(test_several_keys_reassemble_interleaved),
        T(test_same_message_id_from_two_senders_is_kept_apart),
        T(test_same_sender_with_two_message_ids_is_kept_apart),
        T(test_flood_of_bogus_first_fragments_does_not_stop_a_legitimate_message),
        T(test_one_fragment_buffer_survives_max_buffers_minus_one_newcomers),
        T(test_new_buffer_is_refused_when_every_slot_holds_a_proven_buffer),
        T(test_byte_cap_evicts_one_fragment_buffers_oldest_first),
        T(test_byte_cap_refuses_when_proven_buffers_fill_it),
        T(test_expiry_drops_a_partial_buffer_and_frees_its_bytes),
        T(test_deadline_is_the_first_fragment_plus_timeout_and_progress_does_not_move_it),
        T(test_deadline_saturates_instead_of_wrapping),
        T(test_sizes_1_1187_1188_1189_and_37348_complete),
        T(test_unfragmented_buffer_completes_at_once_without_being_held),
        T(test_completed_buffer_is_held_until_the_next_call_or_release),
        cmocka_unit_test(test_destroy_frees_buffers_in_progress_and_on_loan),
        cmocka_unit_test(test_result_names_read_like_the_enum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
