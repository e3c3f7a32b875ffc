/* udp_encap.c - telling DRT, negotiation and ESP datagrams apart (udp_encap.h). */
#include "ipsec/udp_encap.h"

#include "ipsec/esp.h"

enum udp_encap_class udp_encap_classify(const uint8_t *d, size_t len)
{
    if (len == 0)
        return UDP_ENCAP_INVALID;
    if (d[0] != 0)
        return len >= ESP_HEADER_SIZE + ESP_ICV_SIZE ? UDP_ENCAP_ESP : UDP_ENCAP_INVALID;
    if (len < UDP_ENCAP_MARKER_SIZE)
        return UDP_ENCAP_INVALID;
    if (d[1] == 0 && d[2] == 0 && d[3] == 0)
        return len > UDP_ENCAP_MARKER_SIZE ? UDP_ENCAP_NEG : UDP_ENCAP_INVALID;
    /* The DRT codec checks the rest of the header itself. */
    if (d[1] == 0x10)
        return UDP_ENCAP_DRT;
    return UDP_ENCAP_INVALID;
}
