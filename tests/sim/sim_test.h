/*
 * sim_test.h - makes every simulator test reproducible from its seed.
 *
 * A test written as
 *
 *     SIM_TEST(test_something) { struct sim *s = make_sim(seed); ... }
 *
 * receives `seed`: the value of the environment variable DRT_SIM_SEED when
 * set (decimal or 0x-hex), otherwise a fixed default derived from the
 * test's name, so CI runs are identical every time yet tests do not all
 * share one seed. Register it with SIM_UNIT_TEST(test_something). When the
 * test fails, its teardown prints
 *
 *     SIM SEED=<n> test=<name> (rerun with DRT_SIM_SEED=<n>)
 *
 * cmocka leaves a failing test by longjmp but still runs its teardown; the
 * teardown tells failure from success by whether the body ran to its end.
 * A test that wants a second run to differ uses seed + 1, and so on, so the
 * one printed seed still reproduces it.
 */
#ifndef DRT_TESTS_SIM_TEST_H
#define DRT_TESTS_SIM_TEST_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "sim/sim.h"

struct sim_test_record {
    const char *name;
    uint64_t seed;
    bool finished;
};

static inline struct sim_test_record *sim_test_record(void)
{
    static struct sim_test_record r;
    return &r;
}

static inline uint64_t sim_test_seed_for(const char *name)
{
    const char *env = getenv("DRT_SIM_SEED");
    if (env && *env) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(env, &end, 0);
        if (errno == 0 && *end == '\0')
            return (uint64_t)v;
        fprintf(stderr, "DRT_SIM_SEED=%s is not a number; using the default seed\n", env);
    }
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a of the test name */
    for (const char *p = name; *p; p++)
        h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
    return h;
}

static inline uint64_t sim_test_begin(const char *name)
{
    struct sim_test_record *r = sim_test_record();
    r->name = name;
    r->seed = sim_test_seed_for(name);
    r->finished = false;
    return r->seed;
}

static inline void sim_test_end(void)
{
    sim_test_record()->finished = true;
}

static inline int sim_test_teardown(void **state)
{
    (void)state;
    struct sim_test_record *r = sim_test_record();
    if (r->name && !r->finished)
        fprintf(stderr, "SIM SEED=%llu test=%s (rerun with DRT_SIM_SEED=%llu)\n",
                (unsigned long long)r->seed, r->name, (unsigned long long)r->seed);
    r->name = NULL;
    return 0;
}

/* A distinct endpoint per index: [fd00::<i>]:<4000 + i % 1000>. */
static inline struct drt_endpoint sim_test_endpoint(uint32_t i)
{
    struct drt_endpoint ep = {{0xfd}, (uint16_t)(4000 + i % 1000)};
    ep.addr[12] = (uint8_t)(i >> 24);
    ep.addr[13] = (uint8_t)(i >> 16);
    ep.addr[14] = (uint8_t)(i >> 8);
    ep.addr[15] = (uint8_t)i;
    return ep;
}

/* Folds everything observable about a trace event into *hash (FNV-1a), so
 * two runs compare with one number. Install with
 * sim_set_trace(sim, sim_test_trace_hash, &hash). */
static inline void sim_test_hash_bytes(uint64_t *h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        *h = (*h ^ b[i]) * 0x100000001b3ull;
}

static inline void sim_test_trace_hash(void *ctx, const struct sim_trace_event *ev)
{
    uint64_t *h = ctx;
    uint64_t head[4] = {(uint64_t)ev->kind, ev->now_us, ev->node, ev->len};
    sim_test_hash_bytes(h, head, sizeof(head));
    if (ev->from)
        sim_test_hash_bytes(h, ev->from, sizeof(*ev->from));
    if (ev->to)
        sim_test_hash_bytes(h, ev->to, sizeof(*ev->to));
    if (ev->buf)
        sim_test_hash_bytes(h, ev->buf, ev->len);
}

#define SIM_TEST(name)                                                                             \
    static void name##_body(uint64_t seed);                                                        \
    static void name(void **state)                                                                 \
    {                                                                                              \
        (void)state;                                                                               \
        name##_body(sim_test_begin(#name));                                                        \
        sim_test_end();                                                                            \
    }                                                                                              \
    static void name##_body(uint64_t seed)

#define SIM_UNIT_TEST(name) cmocka_unit_test_teardown(name, sim_test_teardown)

#endif
