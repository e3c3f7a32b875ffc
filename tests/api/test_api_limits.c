/*
 * test_api_limits.c - DrtSetTransportLimits: its codes, and each kind of
 * cap set through it taking effect on the DRT that binds the transport (a
 * key over ulMaxKeys refused, the API's queue caps, a source's requests
 * over ulRatePerSource dropped and counted). Real nodes on ::1.
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
#include <unistd.h>

#include <drt.h>

#include "api/api_internal.h"
#include "api/loopback_node.h"
#include "core/wire.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codes),
        cmocka_unit_test(test_registration_and_queue_caps),
        cmocka_unit_test(test_rate_per_source),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
