/*
 * test_api_limits.c - DrtSetTransportLimits: its codes, and each kind of
 * cap set through it taking effect on the DRT that binds the transport (a
 * key over ulMaxKeys refused, the API's queue caps, a source's requests
 * over ulRatePerSource dropped and counted, a protected transport's
 * negotiations demanding cookies past ulMaxHalfOpen). Real nodes on ::1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include <drt.h>

#include "api/api_internal.h"
#include "api/loopback_node.h"
#include "core/wire.h"
#include "ipsec/neg_wire.h"
#include "ipsec/negotiation.h"
#include "ipsec/udp_encap.h"

static void test_codes(void **state)
{
    (void)state;
    DRT_LIMITS lim = {.dwSize = sizeof(lim)};
    assert_int_equal(DrtSetTransportLimits(NULL, &lim), DRT_E_INVALID_TRANSPORT_PROVIDER);
    struct lb_node n;
    lb_open(&n, NULL);
    /* Bound: too late. */
    assert_int_equal(DrtSetTransportLimits(n.transport, &lim), DRT_E_TRANSPORTPROVIDER_IN_USE);
    lb_close(&n);

    HDRT_TRANSPORT t;
    USHORT port = 0;
    assert_int_equal(DrtCreateIpv6UdpTransport(DRT_GLOBAL_SCOPE, 0, 300, &port, &t), S_OK);
    assert_int_equal(DrtSetTransportLimits(t, NULL), E_INVALIDARG);
    lim.dwSize = sizeof(lim) - 1;
    assert_int_equal(DrtSetTransportLimits(t, &lim), E_INVALIDARG);
    lim.dwSize = sizeof(lim);
    assert_int_equal(DrtSetTransportLimits(t, &lim), S_OK);
    assert_int_equal(DrtSetTransportLimits(t, &lim), S_OK); /* replaces */
    assert_int_equal(DrtDeleteIpv6UdpTransport(t), S_OK);
    assert_int_equal(DrtSetTransportLimits(t, &lim), DRT_E_INVALID_TRANSPORT_PROVIDER);
}

static void test_registration_and_queue_caps(void **state)
{
    (void)state;
    DRT_LIMITS lim = {.dwSize = sizeof(lim), .ulMaxKeys = 2, .ulMaxEventsQueued = 3,
                      .ulMaxResultsQueued = 5};
    struct lb_node n;
    lb_open_limits(&n, NULL, &lim);
    HDRT_REGISTRATION_CONTEXT reg[3];
    BYTE k[32];
    memset(k, 0x11, 32);
    lb_register(&n, k, "one", &reg[0]);
    k[0] = 0x22;
    lb_register(&n, k, "two", &reg[1]);
    k[0] = 0x33;
    DRT_REGISTRATION r = {{32, k}, {5, (BYTE *)"three"}};
    assert_int_equal(DrtRegisterKey(n.drt, &r, NULL, &reg[2]), E_OUTOFMEMORY);

    struct drt_instance *inst = lb_instance(&n);
    pthread_mutex_lock(&inst->lock);
    assert_int_equal(inst->max_events, 3);
    assert_int_equal(inst->max_results, 5);
    pthread_mutex_unlock(&inst->lock);
    DrtUnregisterKey(reg[0]);
    DrtUnregisterKey(reg[1]);
    lb_close(&n);
}

/* ulMaxSearches open searches at most: one more is refused with
 * E_OUTOFMEMORY at once, whether the open ones still run or have ended in
 * their engine, and ending one makes room. A search ended straight after
 * its start, its event closed at once, is no harm to anyone (ASan and
 * valgrind watch the jobs that start and end it on the loop thread). */
static void test_open_search_cap(void **state)
{
    (void)state;
    DRT_LIMITS lim = {.dwSize = sizeof(lim), .ulMaxSearches = 3};
    struct lb_node n;
    lb_open_limits(&n, NULL, &lim);
    BYTE k[32];
    memset(k, 0x5a, 32);
    DRT_DATA key = {32, k};
    HANDLE ev = DrtEventCreate(TRUE, FALSE);
    HDRT_SEARCH_CONTEXT sc[4];
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(DrtStartSearch(n.drt, &key, NULL, 2000, ev, NULL, &sc[i]), S_OK);
    assert_int_equal(DrtStartSearch(n.drt, &key, NULL, 2000, ev, NULL, &sc[3]), E_OUTOFMEMORY);
    assert_null(sc[3]);
    /* A lone node's searches end at once in the engine; they stay open. */
    for (unsigned step = 0; step < 100; step++) {
        ULONG size;
        if (DrtGetSearchResultSize(sc[0], &size) == DRT_E_NO_MORE)
            break;
        usleep(10 * 1000);
    }
    ULONG size;
    assert_int_equal(DrtGetSearchResultSize(sc[0], &size), DRT_E_NO_MORE);
    assert_int_equal(DrtStartSearch(n.drt, &key, NULL, 2000, ev, NULL, &sc[3]), E_OUTOFMEMORY);
    assert_int_equal(DrtEndSearch(sc[1]), S_OK);
    assert_int_equal(DrtEndSearch(sc[1]), E_HANDLE);
    assert_int_equal(DrtStartSearch(n.drt, &key, NULL, 2000, ev, NULL, &sc[1]), S_OK);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(DrtEndSearch(sc[i]), S_OK);
    DrtEventClose(ev);

    /* Start, end, close the event: a hundred times, faster than the loop. */
    for (unsigned i = 0; i < 100; i++) {
        HANDLE e = DrtEventCreate(TRUE, FALSE);
        HDRT_SEARCH_CONTEXT h;
        k[0] = (BYTE)i;
        assert_int_equal(DrtStartSearch(n.drt, &key, NULL, 2000, e, NULL, &h), S_OK);
        assert_int_equal(DrtEndSearch(h), S_OK);
        DrtEventClose(e);
    }
    lb_close(&n);
}

/* Twenty SOLICITs at once from one socket to a node that lets a source
 * send 1 a second after a burst of 2: the rest are dropped and counted. */
static void test_rate_per_source(void **state)
{
    (void)state;
    DRT_LIMITS lim = {.dwSize = sizeof(lim), .ulRatePerSource = 1, .ulBurstPerSource = 2};
    struct lb_node n;
    lb_open_limits(&n, NULL, &lim);
    int s = socket(AF_INET6, SOCK_DGRAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in6 to;
    memset(&to, 0, sizeof(to));
    to.sin6_family = AF_INET6;
    to.sin6_addr = in6addr_loopback;
    to.sin6_port = htons(n.port);
    for (uint32_t i = 0; i < 20; i++) {
        struct wire_msg m;
        memset(&m, 0, sizeof(m));
        m.hdr.version_major = 6;
        m.hdr.version_minor = 0x65;
        m.hdr.type = WIRE_SOLICIT;
        m.hdr.message_id = 100 + i;
        uint8_t buf[256];
        size_t len = 0;
        assert_int_equal(wire_encode(&m, buf, sizeof(buf), &len), S_OK);
        assert_true(sendto(s, buf, len, 0, (struct sockaddr *)&to, sizeof(to)) > 0);
    }
    struct instance_stats st;
    memset(&st, 0, sizeof(st));
    for (unsigned step = 0; step < 100 && st.engine.datagrams_received < 20; step++) {
        usleep(10000);
        instance_get_stats(lb_instance(&n), &st);
    }
    assert_int_equal(st.engine.datagrams_received, 20);
    /* The burst, and at most one more if a second went by. */
    assert_in_range(st.engine.requests_admitted, 2, 3);
    assert_int_equal(st.engine.dropped_rate_source, 20 - st.engine.requests_admitted);
    close(s);
    lb_close(&n);
}

static int rand_bytes(void *ctx, void *buf, size_t len)
{
    (void)ctx;
    return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

/* Sends the INIT_REQ of a fresh negotiation from sock to a protected node
 * and returns the type of the answer (0: none within 2 s). */
static uint8_t answer_to_init(int sock, uint16_t node_port)
{
    struct neg_config c;
    memset(&c, 0, sizeof(c));
    c.psk = (const uint8_t *)"any";
    c.psk_len = 3;
    c.random = rand_bytes;
    c.local.ip_version = FWP_IP_VERSION_V6;
    c.local.addr[15] = 1;
    c.remote = c.local;
    c.remote.port = node_port;
    struct neg *n = neg_create(&c);
    assert_non_null(n);
    struct neg_out o;
    assert_true(neg_start(n, 0, &o) && o.len > 0);
    uint8_t dg[UDP_ENCAP_MARKER_SIZE + NEG_MAX_DATAGRAM];
    memset(dg, 0, UDP_ENCAP_MARKER_SIZE);
    memcpy(dg + UDP_ENCAP_MARKER_SIZE, o.buf, o.len);
    neg_free(n);
    struct sockaddr_in6 to;
    memset(&to, 0, sizeof(to));
    to.sin6_family = AF_INET6;
    to.sin6_addr = in6addr_loopback;
    to.sin6_port = htons(node_port);
    assert_true(sendto(sock, dg, UDP_ENCAP_MARKER_SIZE + o.len, 0, (struct sockaddr *)&to,
                       sizeof(to)) > 0);
    struct timeval tv = {2, 0};
    setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ssize_t got = recv(sock, dg, sizeof(dg), 0);
    return got > UDP_ENCAP_MARKER_SIZE + 1 ? dg[UDP_ENCAP_MARKER_SIZE + 1] : 0;
}

static int udp_socket(void)
{
    int s = socket(AF_INET6, SOCK_DGRAM, 0);
    assert_true(s >= 0);
    return s;
}

/* A protected node demands cookies once ulMaxHalfOpen negotiations are
 * half open: with 1, a second stranger gets a COOKIE where, with the
 * default (64), it gets an INIT_RESP. */
static void test_half_open_cap_of_a_protected_transport(void **state)
{
    (void)state;
    DRT_LIMITS lim = {.dwSize = sizeof(lim), .ulMaxHalfOpen = 1};
    const DRT_LIMITS *cases[2] = {NULL, &lim};
    const uint8_t second[2] = {NEG_T_INIT_RESP, NEG_T_COOKIE};
    for (int i = 0; i < 2; i++) {
        struct lb_node n;
        lb_open_with(&n, NULL, DRT_PROTECTION_REQUIRE, "mesh key", cases[i]);
        int a = udp_socket(), b = udp_socket();
        assert_int_equal(answer_to_init(a, n.port), NEG_T_INIT_RESP);
        assert_int_equal(answer_to_init(b, n.port), second[i]);
        close(a);
        close(b);
        lb_close(&n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codes),
        cmocka_unit_test(test_registration_and_queue_caps),
        cmocka_unit_test(test_open_search_cap),
        cmocka_unit_test(test_rate_per_source),
        cmocka_unit_test(test_half_open_cap_of_a_protected_transport),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
