/*
 * test_engine_export.c - drt_engine_export_routes / drt_engine_import_routes
 * on engines wired by hand: export gives verified entries only; import
 * probes usable entries (never our own endpoint or key, never a low port),
 * and only an answered probe makes an entry usable and an ALONE node
 * ACTIVE; nothing happens on a FAULTED engine.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/engine.h"

static uint64_t counter_random(void *ctx)
{
    uint64_t *s = ctx;
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    return z ^ (z >> 31);
}

static uint64_t rng_state;

static struct drt_engine *engine(uint16_t port)
{
    struct drt_engine_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.version_major = 1;
    cfg.self.addr[15] = 1;
    cfg.self.port = port;
    cfg.random = counter_random;
    cfg.random_ctx = &rng_state;
    return drt_engine_create(&cfg, 1000);
}

/* Delivers every queued datagram between the engines (dropping those to
 * nobody) until all are quiet; returns how many were dropped. */
static size_t pump(struct drt_engine **es, size_t n, uint64_t now)
{
    size_t dropped = 0;
    for (bool moved = true; moved;) {
        moved = false;
        for (size_t i = 0; i < n; i++) {
            struct drt_endpoint to;
            const uint8_t *buf;
            size_t len;
            while (drt_engine_next_datagram(es[i], &to, &buf, &len)) {
                moved = true;
                struct drt_engine *dst = NULL;
                for (size_t k = 0; k < n; k++)
                    if (drt_endpoint_equal(drt_engine_self(es[k]), &to))
                        dst = es[k];
                if (dst)
                    drt_engine_receive(dst, drt_engine_self(es[i]), buf, len, now);
                else
                    dropped++;
            }
        }
    }
    return dropped;
}

static void drain_events(struct drt_engine *e)
{
    struct drt_engine_event ev;
    while (drt_engine_next_event(e, &ev))
        ;
}

static bool has_route(const struct drt_engine_route *r, size_t n, const uint8_t key[32],
                      const struct drt_endpoint *ep)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(r[i].key, key, 32) == 0 && drt_endpoint_equal(&r[i].ep, ep))
            return true;
    return false;
}

static void test_export_then_import_brings_a_node_back(void **state)
{
    (void)state;
    uint8_t ka[32], kb[32];
    memset(ka, 0x11, 32);
    memset(kb, 0x99, 32);
    struct drt_engine *a = engine(4001), *b = engine(4002);
    uint32_t reg;
    assert_int_equal(drt_engine_register(a, ka, (const uint8_t *)"a", 1, &reg, 1000), S_OK);
    assert_int_equal(drt_engine_register(b, kb, (const uint8_t *)"b", 1, &reg, 1000), S_OK);
    drt_engine_bootstrap(a, NULL, 0, 1000);
    drt_engine_bootstrap(b, drt_engine_self(a), 1, 1000);
    struct drt_engine *ab[] = {a, b};
    pump(ab, 2, 1001);
    assert_int_equal(drt_engine_status(b), ENGINE_ACTIVE);

    struct drt_engine_route out[16];
    assert_int_equal(drt_engine_export_routes(b, out, 0), 0);
    size_t n = drt_engine_export_routes(b, out, 16);
    assert_true(n >= 1);
    assert_true(has_route(out, n, ka, drt_engine_self(a)));
    for (size_t i = 0; i < n; i++)
        assert_false(memcmp(out[i].key, kb, 32) == 0); /* never a local key */
    assert_int_equal(drt_engine_export_routes(b, out, 1), 1);

    /* C, ALONE, takes B's export plus entries it must skip. */
    struct drt_engine *c = engine(4003);
    uint8_t kc[32];
    memset(kc, 0x55, 32);
    assert_int_equal(drt_engine_register(c, kc, (const uint8_t *)"c", 1, &reg, 1000), S_OK);
    drt_engine_bootstrap(c, NULL, 0, 1000);
    assert_int_equal(drt_engine_status(c), ENGINE_ALONE);
    struct drt_engine_route in[4];
    memset(in, 0, sizeof(in));
    memcpy(&in[0], &out[0], sizeof(in[0])); /* A */
    memset(in[1].key, 0x22, 32);
    in[1].ep = *drt_engine_self(c); /* our own endpoint */
    memcpy(in[2].key, kc, 32);      /* our own key */
    in[2].ep = *drt_engine_self(b);
    memset(in[3].key, 0x33, 32);
    in[3].ep = *drt_engine_self(b);
    in[3].ep.port = 80; /* a port the engine never takes */
    size_t exported = drt_engine_export_routes(c, out, 16);
    assert_int_equal(exported, 0);
    assert_int_equal(drt_engine_import_routes(c, in, 4, 2000), 1);
    /* Unverified: still ALONE, nothing exported, until the answer. */
    assert_int_equal(drt_engine_status(c), ENGINE_ALONE);
    assert_int_equal(drt_engine_export_routes(c, out, 16), 0);
    struct drt_engine *abc[] = {a, b, c};
    pump(abc, 3, 2001);
    assert_int_equal(drt_engine_status(c), ENGINE_ACTIVE);
    n = drt_engine_export_routes(c, out, 16);
    assert_true(has_route(out, n, ka, drt_engine_self(a)));
    /* A second import of what is verified now probes nothing. */
    assert_int_equal(drt_engine_import_routes(c, in, 1, 2002), 0);

    drain_events(a);
    drain_events(b);
    drain_events(c);
    drt_engine_destroy(a);
    drt_engine_destroy(b);
    drt_engine_destroy(c);
}

static void test_wrong_key_or_dead_peer_is_forgotten(void **state)
{
    (void)state;
    struct drt_engine *a = engine(4001), *c = engine(4003);
    drt_engine_bootstrap(a, NULL, 0, 1000);
    drt_engine_bootstrap(c, NULL, 0, 1000);
    struct drt_engine_route in[2];
    memset(in, 0, sizeof(in));
    memset(in[0].key, 0x44, 32); /* A holds no such key: it answers N */
    in[0].ep = *drt_engine_self(a);
    memset(in[1].key, 0x45, 32); /* nobody at this endpoint */
    in[1].ep = *drt_engine_self(a);
    in[1].ep.port = 4999;
    assert_int_equal(drt_engine_import_routes(c, in, 2, 2000), 2);
    struct drt_engine *ac[] = {a, c};
    assert_int_equal(pump(ac, 2, 2001), 1);
    /* The silent one runs out of retries. */
    for (int i = 0; i < 10; i++) {
        uint64_t d = drt_engine_next_deadline(c);
        if (d > 10000)
            break;
        drt_engine_timer(c, d);
        pump(ac, 2, d);
    }
    struct drt_engine_stats st;
    drt_engine_get_stats(c, &st);
    assert_int_equal(st.cache_entries, 0);
    assert_int_equal(drt_engine_status(c), ENGINE_ALONE);
    drt_engine_destroy(a);
    drt_engine_destroy(c);
}

static void test_faulted_engine_imports_nothing(void **state)
{
    (void)state;
    struct drt_engine *c = engine(4003);
    struct drt_engine_route in;
    memset(&in, 0, sizeof(in));
    memset(in.key, 0x44, 32);
    in.ep.addr[15] = 1;
    in.ep.port = 4001;
    drt_engine_fault(c, 1000);
    assert_int_equal(drt_engine_import_routes(c, &in, 1, 1000), 0);
    assert_int_equal(drt_engine_import_routes(c, NULL, 1, 1000), 0);
    drt_engine_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_export_then_import_brings_a_node_back),
        cmocka_unit_test(test_wrong_key_or_dead_peer_is_forgotten),
        cmocka_unit_test(test_faulted_engine_imports_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
