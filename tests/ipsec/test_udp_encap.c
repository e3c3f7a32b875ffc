/*
 * test_udp_encap.c - the first bytes of a datagram on the DRT's port say
 * what it is (udp_encap.h): DRT, negotiation behind the non-ESP marker,
 * ESP, or nothing of ours.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ipsec/esp.h"
#include "ipsec/udp_encap.h"

static void test_drt_header_is_drt(void **state)
{
    (void)state;
    const uint8_t hdr[12] = {0x00, 0x10, 0x00, 0x0c, 0x51, 6, 0x65, 0x01, 1, 2, 3, 4};
    assert_int_equal(udp_encap_classify(hdr, sizeof(hdr)), UDP_ENCAP_DRT);
}

static void test_marker_then_negotiation_is_negotiation(void **state)
{
    (void)state;
    uint8_t d[8] = {0, 0, 0, 0, 1, 1, 1, 0};
    assert_int_equal(udp_encap_classify(d, sizeof(d)), UDP_ENCAP_NEG);
    /* the marker alone carries nothing */
    assert_int_equal(udp_encap_classify(d, 4), UDP_ENCAP_INVALID);
}

static void test_nonzero_first_byte_is_esp(void **state)
{
    (void)state;
    uint8_t d[ESP_HEADER_SIZE + ESP_ICV_SIZE] = {0x01};
    assert_int_equal(udp_encap_classify(d, sizeof(d)), UDP_ENCAP_ESP);
    d[0] = 0xff;
    assert_int_equal(udp_encap_classify(d, sizeof(d)), UDP_ENCAP_ESP);
    /* shorter than header and ICV: not a packet */
    assert_int_equal(udp_encap_classify(d, sizeof(d) - 1), UDP_ENCAP_INVALID);
    /* a lone 0xff is RFC 3948's NAT keepalive: not ours */
    assert_int_equal(udp_encap_classify(d, 1), UDP_ENCAP_INVALID);
}

static void test_other_zero_prefixes_are_invalid(void **state)
{
    (void)state;
    uint8_t d[16] = {0};
    assert_int_equal(udp_encap_classify(d, 0), UDP_ENCAP_INVALID);
    assert_int_equal(udp_encap_classify(d, 3), UDP_ENCAP_INVALID);
    for (unsigned b = 1; b < 256; b++) {
        d[1] = (uint8_t)b;
        assert_int_equal(udp_encap_classify(d, sizeof(d)),
                         b == 0x10 ? UDP_ENCAP_DRT : UDP_ENCAP_INVALID);
    }
    d[1] = 0;
    d[3] = 1; /* 00 00 00 01: neither marker nor DRT */
    assert_int_equal(udp_encap_classify(d, sizeof(d)), UDP_ENCAP_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drt_header_is_drt),
        cmocka_unit_test(test_marker_then_negotiation_is_negotiation),
        cmocka_unit_test(test_nonzero_first_byte_is_esp),
        cmocka_unit_test(test_other_zero_prefixes_are_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
