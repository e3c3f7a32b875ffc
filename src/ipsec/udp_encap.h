/*
 * udp_encap.h - three kinds of datagram share the DRT's UDP port: DRT
 * messages, SA-negotiation messages and ESP packets. As in RFC 3948 (ESP
 * and IKE on UDP 4500), the first bytes decide, before any parsing:
 *
 *   first byte != 0            ESP: the first 4 bytes are the SPI. Our
 *                              inbound SPIs are >= UDP_ENCAP_MIN_SPI, so
 *                              their first byte is never 0.
 *   00 00 00 00 | negotiation  the "non-ESP marker" (SPI 0 is reserved by
 *                              RFC 4303), then one negotiation datagram
 *                              (neg_wire.h), which starts with its version.
 *   00 10 ...                  a DRT message: its first field is the
 *                              DRT_HEADER field (id 0x0010, [MC-DRT] 2.2.1).
 *   anything else              not ours: dropped and counted.
 *
 * Inside ESP the payload is one DRT message, next header
 * UDP_ENCAP_NEXT_HEADER_DRT. Byte layouts: docs/PROTOCOL.md, docs/KEYING.md.
 */
#ifndef DRT_IPSEC_UDP_ENCAP_H
#define DRT_IPSEC_UDP_ENCAP_H

#include <stddef.h>
#include <stdint.h>

#define UDP_ENCAP_MARKER_SIZE 4u
#define UDP_ENCAP_MIN_SPI 0x01000000u
/* RFC 3692's "use for experimentation and testing": a DRT message is not
 * an IP protocol, and the number only has to be the same at both ends. */
#define UDP_ENCAP_NEXT_HEADER_DRT 253u

enum udp_encap_class {
    UDP_ENCAP_INVALID = 0,
    UDP_ENCAP_DRT,
    UDP_ENCAP_NEG, /* the negotiation datagram starts at UDP_ENCAP_MARKER_SIZE */
    UDP_ENCAP_ESP,
};

enum udp_encap_class udp_encap_classify(const uint8_t *dgram, size_t len);

#endif
