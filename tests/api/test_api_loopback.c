/*
 * test_api_loopback.c - real DRT nodes (5, and 50) over real UDP on loopback, through
 * the public API only: several instances in one process find each other's
 * keys (exact and nearest), report status and leaf-set events, give a
 * search path, and forget an unregistered key. Once on ::1 and once on
 * 127.0.0.1 (IPv4 peers appear as ::ffff:127.0.0.1 on the wire).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <drt.h>

#include "api/loopback_node.h"

#define MAX_NODES 50
static int NODES = 5;
#define WAIT_STEP_MS 50u
#define WAIT_STEPS 200u /* every wait below is bounded by 10 s */

struct node {
    struct lb_node lb; /* its status is the last one drain_events saw */
    HDRT_REGISTRATION_CONTEXT reg;
    BYTE key[32];
    char data[16];
    unsigned leaf_added, leaf_deleted;
};

static struct node nodes[MAX_NODES];
static const char *loopback;

static void key_for(int i, BYTE key[32])
{
    for (int b = 0; b < 32; b++)
        key[b] = (BYTE)(i * 37 + b * 11 + 5);
    key[31] = (BYTE)(0x20 + i * 0x30); /* spread over the ring */
    key[30] = (BYTE)(i * 7);
}

static void address_of(const struct node *n, SOCKADDR_STORAGE *out)
{
    memset(out, 0, sizeof(*out));
    if (strchr(loopback, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)out;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(n->lb.port);
        inet_pton(AF_INET6, loopback, &s6->sin6_addr);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)out;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(n->lb.port);
        inet_pton(AF_INET, loopback, &s4->sin_addr);
    }
}

/* Counts a node's leaf-set changes, which name its own key. */
static void count_leaf_changes(const DRT_EVENT_DATA *ev, void *ctx)
{
    struct node *n = ctx;
    if (ev->type != DRT_EVENT_LEAFSET_KEY_CHANGED)
        return;
    assert_int_equal(ev->leafsetKeyChange.localKey.cb, 32);
    assert_memory_equal(ev->leafsetKeyChange.localKey.pb, n->key, 32);
    if (ev->leafsetKeyChange.change == DRT_LEAFSET_KEY_ADDED)
        n->leaf_added++;
    else
        n->leaf_deleted++;
}

/* Drains a node's events, remembering its status and leaf-set changes. */
static void drain_events(struct node *n)
{
    lb_drain_each(&n->lb, count_leaf_changes, n);
}

static void open_node(int i)
{
    struct node *n = &nodes[i];
    memset(n, 0, sizeof(*n));
    /* Bootstrap from (up to three of) the nodes opened before this one. */
    SOCKADDR_STORAGE seeds[3];
    ULONG nseeds = 0;
    for (int j = i - 1; j >= 0 && nseeds < 3; j--)
        address_of(&nodes[j], &seeds[nseeds++]);
    struct lb_spec spec = {.seeds = seeds, .nseeds = nseeds, .mode = DRT_SECURE_RESOLVE,
                           .prefix = L"Loopback"};
    assert_int_equal(lb_open_spec(&n->lb, 0, &spec), i == 0 ? DRT_S_RETRY : S_OK);
    key_for(i, n->key);
    snprintf(n->data, sizeof(n->data), "node-%d", i);
    DRT_REGISTRATION reg = {{32, n->key}, {(ULONG)strlen(n->data), (BYTE *)n->data}};
    assert_int_equal(DrtRegisterKey(n->lb.drt, &reg, NULL, &n->reg), S_OK);
}

static void close_node(struct node *n)
{
    lb_close(&n->lb);
}

static bool all_active(void)
{
    for (int i = 0; i < NODES; i++) {
        drain_events(&nodes[i]);
        if (nodes[i].lb.status != DRT_ACTIVE)
            return false;
    }
    return true;
}

struct search_outcome {
    HRESULT end;
    unsigned results;
    BYTE key[32];
    char data[64];
    ULONG path_entries;
};

/* Runs a search to its end: waits on its event, drains its results. */
static struct search_outcome search(struct node *from, const BYTE target[32],
                                    const DRT_SEARCH_INFO *info)
{
    struct search_outcome out = {0};
    HANDLE ev = DrtEventCreate(TRUE, FALSE);
    DRT_DATA key = {32, (BYTE *)target};
    HDRT_SEARCH_CONTEXT s;
    assert_int_equal(DrtStartSearch(from->lb.drt, &key, info, 5000, ev, NULL, &s), S_OK);
    for (unsigned step = 0; step < WAIT_STEPS; step++) {
        DrtEventWait(ev, WAIT_STEP_MS);
        ULONG size = 0;
        HRESULT hr = DrtGetSearchResultSize(s, &size);
        if (hr == DRT_E_SEARCH_IN_PROGRESS)
            continue;
        if (hr != S_OK) {
            out.end = hr;
            break;
        }
        DRT_SEARCH_RESULT *r = malloc(size);
        assert_non_null(r);
        assert_int_equal(DrtGetSearchResult(s, size - 1, r), DRT_E_INSUFFICIENT_BUFFER);
        assert_int_equal(DrtGetSearchResult(s, size, r), S_OK);
        assert_int_equal(r->dwSize, sizeof(DRT_SEARCH_RESULT));
        assert_int_equal(r->registration.key.cb, 32);
        memcpy(out.key, r->registration.key.pb, 32);
        size_t len = r->registration.appData.cb < 63 ? r->registration.appData.cb : 63;
        memcpy(out.data, r->registration.appData.pb, len);
        out.data[len] = 0;
        out.results++;
        free(r);
    }
    ULONG psize = 0;
    assert_int_equal(DrtGetSearchPathSize(s, &psize), S_OK);
    DRT_ADDRESS_LIST *path = malloc(psize);
    assert_non_null(path);
    assert_int_equal(DrtGetSearchPath(s, psize, path), S_OK);
    out.path_entries = path->AddressCount;
    for (ULONG i = 0; i < path->AddressCount; i++)
        assert_int_equal(path->AddressList[i].socketAddress.ss_family, AF_INET6);
    free(path);
    assert_int_equal(DrtEndSearch(s), S_OK);
    DrtEventClose(ev);
    return out;
}

static void run_cloud(const char *addr, int count)
{
    NODES = count;
    loopback = addr;
    setenv("DRT_ADVERTISE_ADDRESS", addr, 1);
    for (int i = 0; i < NODES; i++)
        open_node(i);
    bool active = false;
    for (unsigned step = 0; step < WAIT_STEPS && !active; step++) {
        active = all_active();
        if (!active)
            DrtEventWait(nodes[0].lb.event, WAIT_STEP_MS);
    }
    assert_true(active);

    /* Every node finds every other node's key, data included (in a large
     * cloud: every key from one node, and one key from every node). */
    for (int i = 0; i < NODES; i++)
        for (int j = 0; j < NODES; j++) {
            if (i == j || (NODES > 10 && i != 0 && j != (i * 7 + 3) % NODES))
                continue;
            struct search_outcome o = search(&nodes[i], nodes[j].key, NULL);
            assert_int_equal(o.results, 1);
            assert_int_equal(o.end, DRT_E_NO_MORE);
            assert_memory_equal(o.key, nodes[j].key, 32);
            assert_string_equal(o.data, nodes[j].data);
            assert_true(o.path_entries >= 1);
        }

    /* Nearest: a target just above node 2's key, over the whole ring. */
    BYTE target[32], lo[32], hi[32];
    memcpy(target, nodes[2].key, 32);
    target[0] ^= 0x01;
    memset(lo, 0, 32);
    memset(hi, 0xff, 32);
    DRT_DATA dlo = {32, lo}, dhi = {32, hi};
    DRT_SEARCH_INFO info = {.dwSize = sizeof(info), .cMaxEndpoints = 1,
                            .pMinimumKey = &dlo, .pMaximumKey = &dhi};
    struct search_outcome near = search(&nodes[0], target, &info);
    assert_int_equal(near.results, 1);
    assert_memory_equal(near.key, nodes[2].key, 32);

    /* Leaf sets formed on every node. */
    for (int i = 0; i < NODES; i++) {
        drain_events(&nodes[i]);
        assert_true(nodes[i].leaf_added >= 1);
    }

    /* Unregistering node 3's key makes it unfindable. */
    DrtUnregisterKey(nodes[3].reg);
    HRESULT end = S_OK;
    for (unsigned tries = 0; tries < 20 && end != DRT_E_NO_MORE; tries++) {
        struct search_outcome o = search(&nodes[1], nodes[3].key, NULL);
        end = o.results == 0 ? o.end : S_OK;
    }
    assert_int_equal(end, DRT_E_NO_MORE);

    for (int i = NODES; i-- > 0;)
        close_node(&nodes[i]);
    unsetenv("DRT_ADVERTISE_ADDRESS");
}

static void test_cloud_on_ipv6_loopback(void **state)
{
    (void)state;
    run_cloud("::1", 5);
}

static void test_cloud_on_ipv4_loopback(void **state)
{
    (void)state;
    run_cloud("127.0.0.1", 5);
}

static void test_cloud_of_50_nodes(void **state)
{
    (void)state;
    run_cloud("::1", 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cloud_on_ipv6_loopback),
        cmocka_unit_test(test_cloud_on_ipv4_loopback),
        cmocka_unit_test(test_cloud_of_50_nodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
