/*
 * test_api_route_cache.c - DrtSaveRouteCache / DrtLoadRouteCache (libdrt
 * extension) on real nodes on ::1: every return code; a damaged or forged
 * file changes nothing and the node goes on working; and the point of it,
 * a fast rejoin: a node saves its cache, is closed, reopens with a
 * bootstrap resolver that returns nobody, and with the file becomes ACTIVE
 * and finds keys again, where without it it stays ALONE.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <drt.h>

#include "api/api_internal.h"
#include "api/handle_table.h"
#include "api/loopback_node.h"
#include "api/route_file.h"
#include "io/io_loop.h"
#include "io/io_node.h"

static char dir[64];
static char path[128];

static int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/drt-route-cache-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof(path), "%s/routes", dir);
    return 0;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void key_of(unsigned i, BYTE key[32])
{
    memset(key, 0, 32);
    key[31] = (BYTE)(0x10 + 0x30 * i); /* spread over the ring */
    key[0] = (BYTE)(i + 1);
}

struct target {
    const BYTE *key;
    bool found;
};

static void match_key(const DRT_SEARCH_RESULT *r, void *ctx)
{
    struct target *t = ctx;
    t->found = t->found || memcmp(r->registration.key.pb, t->key, 32) == 0;
}

/* True when a search from n finds exactly target (4 s at most). */
static bool finds(struct lb_node *n, const BYTE target[32])
{
    struct target t = {target, false};
    lb_search_each(n->drt, target, NULL, 3000, 80, match_key, &t);
    return t.found;
}

static bool finds_within(struct lb_node *n, const BYTE target[32], unsigned tries)
{
    for (unsigned i = 0; i < tries; i++) {
        if (finds(n, target))
            return true;
        lb_drain(n);
    }
    return false;
}

/* The node's status now, after draining what it reported. */
static DRT_STATUS status_of(struct lb_node *n)
{
    lb_drain(n);
    return n->status;
}

static uint8_t *read_whole(const char *p, size_t *len)
{
    uint8_t *buf;
    assert_int_equal(route_file_read(p, ROUTE_FILE_MAX_SIZE, &buf, len), S_OK);
    return buf;
}

static void write_whole(const char *p, const uint8_t *buf, size_t len)
{
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* --- return codes --------------------------------------------------------- */

static void fault(void *arg)
{
    struct drt_instance *inst = arg;
    drt_engine_fault(inst->node->eng, io_now_ms());
    io_node_flush(inst->node);
}

static void test_return_codes(void **state)
{
    (void)state;
    struct lb_node n;
    lb_open(&n, NULL);
    assert_int_equal(DrtSaveRouteCache(n.drt, NULL), E_INVALIDARG);
    assert_int_equal(DrtSaveRouteCache(n.drt, ""), E_INVALIDARG);
    assert_int_equal(DrtLoadRouteCache(n.drt, NULL), E_INVALIDARG);
    assert_int_equal(DrtLoadRouteCache(n.drt, ""), E_INVALIDARG);
    /* The pointer is checked before the handle (as DrtGetEventDataSize). */
    assert_int_equal(DrtSaveRouteCache(NULL, NULL), E_INVALIDARG);
    assert_int_equal(DrtSaveRouteCache(NULL, path), E_HANDLE);
    assert_int_equal(DrtLoadRouteCache(NULL, path), E_HANDLE);
    assert_int_equal(DrtSaveRouteCache((HDRT)(uintptr_t)0x12345, path), E_HANDLE);
    assert_int_equal(DrtLoadRouteCache(n.transport, path), E_HANDLE);

    assert_int_equal(DrtLoadRouteCache(n.drt, path), HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND));
    char nowhere[160];
    snprintf(nowhere, sizeof(nowhere), "%s/no/such/folder", dir);
    assert_int_equal(DrtSaveRouteCache(n.drt, nowhere), HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND));
    /* A first node knows nobody: an empty file, which loads. */
    assert_int_equal(DrtSaveRouteCache(n.drt, path), S_OK);
    size_t len;
    free(read_whole(path, &len));
    assert_int_equal(len, ROUTE_FILE_SIZE(0));
    assert_int_equal(DrtLoadRouteCache(n.drt, path), S_OK);
    /* A folder is not a route cache file. */
    assert_int_equal(DrtLoadRouteCache(n.drt, dir), DRT_E_INVALID_MESSAGE);

    io_call(fault, lb_instance(&n));
    assert_int_equal(DrtLoadRouteCache(n.drt, path), DRT_E_FAULTED);
    assert_int_equal(DrtSaveRouteCache(n.drt, path), S_OK); /* still readable */
    HDRT closed = n.drt;
    lb_close(&n);
    assert_int_equal(DrtSaveRouteCache(closed, path), E_HANDLE);
    assert_int_equal(DrtLoadRouteCache(closed, path), E_HANDLE);
}

/* --- a small cloud: A first, B and C from A; X joins, learns, saves ------ */

struct cloud {
    struct lb_node a, b, c;
    HDRT_REGISTRATION_CONTEXT ra, rb, rc;
    BYTE ka[32], kb[32], kc[32];
};

static void cloud_open(struct cloud *cl)
{
    lb_open(&cl->a, NULL);
    key_of(0, cl->ka);
    lb_register(&cl->a, cl->ka, "a", &cl->ra);
    lb_open(&cl->b, &cl->a);
    key_of(1, cl->kb);
    lb_register(&cl->b, cl->kb, "b", &cl->rb);
    lb_open(&cl->c, &cl->a);
    key_of(2, cl->kc);
    lb_register(&cl->c, cl->kc, "c", &cl->rc);
    assert_true(lb_wait_active(&cl->b, 5000));
    assert_true(lb_wait_active(&cl->c, 5000));
    assert_true(lb_wait_active(&cl->a, 5000));
}

static void cloud_close(struct cloud *cl)
{
    lb_close(&cl->c);
    lb_close(&cl->b);
    lb_close(&cl->a);
}

/* X joins through A, finds B and C (so it has verified them), saves its
 * cache at path and closes. */
static void x_learns_and_saves(struct cloud *cl)
{
    struct lb_node x;
    lb_open(&x, &cl->a);
    assert_true(lb_wait_active(&x, 5000));
    assert_true(finds_within(&x, cl->kb, 5));
    assert_true(finds_within(&x, cl->kc, 5));
    assert_int_equal(DrtSaveRouteCache(x.drt, path), S_OK);
    lb_close(&x);
    size_t len, n;
    uint8_t *buf = read_whole(path, &len);
    static struct drt_engine_route routes[ROUTE_FILE_MAX_ENTRIES];
    assert_int_equal(route_file_decode(buf, len, routes, ROUTE_FILE_MAX_ENTRIES, &n), S_OK);
    free(buf);
    assert_true(n >= 2); /* A, B, C as far as X verified them */
    print_message("    saved %zu verified entries (%zu bytes)\n", n, len);
}

static void test_rejoin_from_saved_cache(void **state)
{
    (void)state;
    struct cloud cl;
    cloud_open(&cl);
    x_learns_and_saves(&cl);

    /* X again, its resolver returning nobody: ALONE, and it stays so. */
    struct lb_node x;
    lb_open(&x, NULL);
    DrtEventWait(x.event, 300);
    assert_int_equal(status_of(&x), DRT_ALONE);
    BYTE kx[32];
    key_of(3, kx);
    HDRT_REGISTRATION_CONTEXT rx;
    lb_register(&x, kx, "x", &rx);
    DrtEventWait(x.event, 700);
    assert_int_equal(status_of(&x), DRT_ALONE);

    double t0 = now_ms();
    assert_int_equal(DrtLoadRouteCache(x.drt, path), S_OK);
    assert_true(lb_wait_active(&x, 3000));
    double rejoin = now_ms() - t0;
    print_message("    ALONE -> ACTIVE %.1f ms after DrtLoadRouteCache\n", rejoin);
    assert_true(rejoin < 3000);
    /* X finds the cloud's keys, and the cloud finds X's key. */
    assert_true(finds_within(&x, cl.kc, 5));
    assert_true(finds_within(&x, cl.kb, 5));
    assert_true(finds_within(&cl.a, kx, 10));
    lb_close(&x);
    cloud_close(&cl);
}

/* --- damaged, forged and stale files --------------------------------------- */

static void expect_refused_and_alone(struct lb_node *x, const uint8_t *buf, size_t len)
{
    char bad[160];
    snprintf(bad, sizeof(bad), "%s/bad", dir);
    write_whole(bad, buf, len);
    assert_int_equal(DrtLoadRouteCache(x->drt, bad), DRT_E_INVALID_MESSAGE);
}

static void test_damaged_files_are_refused_and_the_node_works(void **state)
{
    (void)state;
    struct cloud cl;
    cloud_open(&cl);
    x_learns_and_saves(&cl);
    size_t len;
    uint8_t *good = read_whole(path, &len);
    uint8_t *buf = malloc(len + 64);
    assert_non_null(buf);

    struct lb_node x;
    lb_open(&x, NULL);
    /* Every truncation. */
    for (size_t cut = 0; cut < len; cut++)
        expect_refused_and_alone(&x, good, cut);
    /* Extended by one byte and by one zero entry. */
    memcpy(buf, good, len);
    memset(buf + len, 0, 64);
    expect_refused_and_alone(&x, buf, len + 1);
    expect_refused_and_alone(&x, buf, len + ROUTE_FILE_ENTRY);
    /* A flipped byte at every position. */
    for (size_t i = 0; i < len; i++) {
        memcpy(buf, good, len);
        buf[i] ^= 0x5a;
        expect_refused_and_alone(&x, buf, len);
    }
    /* Huge count, wrong magic, wrong version. */
    memcpy(buf, good, len);
    memset(buf + 12, 0xff, 4);
    expect_refused_and_alone(&x, buf, len);
    memcpy(buf, good, len);
    memcpy(buf, "DRTRCF\n\n", 8);
    expect_refused_and_alone(&x, buf, len);
    memcpy(buf, good, len);
    buf[9] = 2;
    expect_refused_and_alone(&x, buf, len);

    /* None of it reached the engine: still ALONE, knowing nobody. */
    assert_int_equal(status_of(&x), DRT_ALONE);
    struct instance_stats st;
    instance_get_stats(lb_instance(&x), &st);
    assert_int_equal(st.engine.cache_entries, 0);
    assert_int_equal(st.engine.datagrams_sent, 0);
    /* And the node works: the good file brings it in. */
    assert_int_equal(DrtLoadRouteCache(x.drt, path), S_OK);
    assert_true(lb_wait_active(&x, 3000));
    assert_true(finds_within(&x, cl.kb, 5));
    free(buf);
    free(good);
    lb_close(&x);
    cloud_close(&cl);
}

/* A well-formed file naming live endpoints under keys they do not hold,
 * and dead endpoints: every entry fails its INQUIRE, nothing is kept and
 * the node stays ALONE. */
static void test_forged_and_stale_entries_are_never_trusted(void **state)
{
    (void)state;
    struct cloud cl;
    cloud_open(&cl);
    struct drt_engine_route r[3];
    memset(r, 0, sizeof(r));
    for (int i = 0; i < 3; i++) {
        memset(r[i].key, 0x70 + i, 32); /* nobody's key */
        r[i].ep.addr[15] = 1;
        r[i].rtt_ms = 1;
    }
    r[0].ep.port = cl.a.port; /* alive, but not that key's node */
    r[1].ep.port = cl.b.port;
    r[2].ep.port = 9; /* never written: the encoder refuses ports < 1024 */
    uint8_t buf[ROUTE_FILE_SIZE(3)];
    assert_int_equal(route_file_encode(r, 3, buf, sizeof(buf)), E_INVALIDARG);
    r[2].ep.port = 1; /* a port nobody listens on is set below */
    struct lb_node dead;
    lb_open(&dead, NULL);
    r[2].ep.port = dead.port;
    lb_close(&dead); /* its port is closed now */
    assert_int_equal(route_file_encode(r, 3, buf, sizeof(buf)), S_OK);
    write_whole(path, buf, sizeof(buf));

    struct lb_node x;
    lb_open(&x, NULL);
    assert_int_equal(DrtLoadRouteCache(x.drt, path), S_OK);
    /* Three INQUIREs: two answered "not here" (N), one silent through its
     * retries (1 s apiece, 3 s in all); then nothing is left. */
    struct instance_stats st;
    instance_get_stats(lb_instance(&x), &st);
    assert_true(st.engine.datagrams_sent >= 3); /* retries may have begun on a slow host */
    assert_true(st.engine.cache_entries <= 3);
    for (unsigned waited = 0; waited < 6000 && st.engine.cache_entries; waited += 100) {
        DrtEventWait(x.event, 100);
        instance_get_stats(lb_instance(&x), &st);
    }
    assert_int_equal(st.engine.cache_entries, 0);
    assert_int_equal(status_of(&x), DRT_ALONE);
    lb_close(&x);
    cloud_close(&cl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_return_codes, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_rejoin_from_saved_cache, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_damaged_files_are_refused_and_the_node_works,
                                        make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_forged_and_stale_entries_are_never_trusted, make_dir,
                                        remove_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
