/*
 * wire.h - the [MC-DRT] 1.0 message codec: every constant of the wire
 * format in one place, the decoded form of each message, and the encode /
 * decode entry points.
 *
 * Decoding is zero-copy where a field is variable-length (key arrays,
 * credentials, CPAs, payloads): the decoded struct points into the
 * datagram, so it is valid only while the datagram is. Fixed-size parts
 * (keys, nonces, route entries, endpoint lists) are copied.
 *
 * Every decoder checks every length, count, constant and range listed in
 * docs/PROTOCOL.md and returns DRT_E_INVALID_MESSAGE for anything else,
 * without reading outside the input. Encoders refuse a struct that breaks
 * the same rules (E_INVALIDARG) or a buffer that is too small
 * (DRT_E_INSUFFICIENT_BUFFER), so what we send always decodes.
 */
#ifndef DRT_CORE_WIRE_H
#define DRT_CORE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drt.h"

/* --- header (§2.2.1) --------------------------------------------------- */
#define WIRE_IDENTIFIER  0x51u
#define WIRE_HEADER_SIZE 12u

enum wire_msg_type {
    WIRE_SOLICIT = 0x01,
    WIRE_ADVERTISE = 0x02,
    WIRE_REQUEST = 0x03,
    WIRE_FLOOD = 0x04,
    WIRE_INQUIRE = 0x07,
    WIRE_AUTHORITY = 0x08,
    WIRE_ACK = 0x09,
    WIRE_LOOKUP = 0x0B,
};

/* --- field ids (§2.2) ---------------------------------------------------- */
#define WIRE_FIELD_HEADER              0x0010u
#define WIRE_FIELD_HEADER_ACKED        0x0018u
#define WIRE_FIELD_DRT_ID              0x0030u
#define WIRE_FIELD_TARGET_DRT_ID       0x0038u
#define WIRE_FIELD_VALIDATE_DRT_ID     0x0039u
#define WIRE_FIELD_FLAGS               0x0040u
#define WIRE_FIELD_FLOOD_CONTROLS      0x0043u
#define WIRE_FIELD_SOLICIT_CONTROLS    0x0044u
#define WIRE_FIELD_LOOKUP_CONTROLS     0x0045u
#define WIRE_FIELD_EXTENDED_PAYLOAD    0x005Au
#define WIRE_FIELD_DRT_ID_ARRAY        0x0060u
#define WIRE_FIELD_CREDENTIAL          0x0080u
#define WIRE_FIELD_WCHAR               0x0084u
#define WIRE_FIELD_CLASSIFIER          0x0085u
#define WIRE_FIELD_HASHED_NONCE        0x0092u
#define WIRE_FIELD_NONCE               0x0093u
#define WIRE_FIELD_SPLIT_CONTROLS      0x0098u
#define WIRE_FIELD_ROUTING_ENTRY       0x009Au
#define WIRE_FIELD_VALIDATE_CPA        0x009Bu
#define WIRE_FIELD_REVOKE_CPA          0x009Cu
#define WIRE_FIELD_IPV6_ENDPOINT       0x009Du
#define WIRE_FIELD_IPV6_ENDPOINT_ARRAY 0x009Eu
#define WIRE_FIELD_KEYTOKEN            0x009Fu
/* The public copy of the §2.2 table we could read ends at KEYTOKEN; these
 * two ids are libdrt's own until checked against the full table
 * (docs/PROTOCOL.md, "Choices"). */
#define WIRE_FIELD_SIGNATURE           0x00A1u
#define WIRE_FIELD_KEY_IDENTIFIER      0x00A2u

/* --- sizes and limits ---------------------------------------------------- */
#define WIRE_KEY_SIZE           32u
#define WIRE_NONCE_SIZE         16u
#define WIRE_HASHED_NONCE_SIZE  20u /* SHA-1 of the conversation nonce */
#define WIRE_IPV6_SIZE          16u
#define WIRE_ENDPOINT_SIZE      18u /* Port, Address */
#define WIRE_MIN_PORT           1024u
#define WIRE_ROUTE_MAX_ADDRS    20u
#define WIRE_ROUTE_ENTRY_FIXED  38u /* before the addresses */
#define WIRE_ENDPOINTS_MAX      22u /* Flooded List, Flagged Path */
#define WIRE_KEY_ARRAY_MAX      0x7FFFu
/* An AUTHORITY_BUFFER travels in fragments of at most this many bytes:
 * 12 + 8 + 8 + 1188 = 1216 bytes of UDP payload fit the 1280-byte IPv6
 * minimum MTU, so no fragment relies on IP fragmentation. */
#define WIRE_FRAGMENT_SIZE      1188u
#define WIRE_SPLIT_MAX          0x91E4u /* 37348 */
#define WIRE_AUTHORITY_OVERHEAD 28u     /* header + ACKED + SPLIT_CONTROLS */

/* Flag bits, as 16-bit big-endian words (bit 0 of the spec's diagrams is
 * the most significant bit). */
#define WIRE_FLOOD_D         0x0001u /* FLOOD: no ACK wanted */
#define WIRE_INQUIRE_A       0x0010u /* want the CPA */
#define WIRE_INQUIRE_X       0x0008u /* want the extended payload */
#define WIRE_INQUIRE_C       0x0004u /* want the certificate chain */
#define WIRE_AUTHORITY_L     0x0200u /* unknown, but would be in my leaf set */
#define WIRE_AUTHORITY_B     0x0008u /* busy */
#define WIRE_AUTHORITY_N     0x0001u /* Validate Key not known here */
#define WIRE_ACK_N           0x0001u /* FLOOD's Validate Key not registered here */
#define WIRE_LOOKUP_A        0x0002u /* accept nodes not closer than Validate Key */

/* LOOKUP ResolveCriteria: values, not combinable bits. */
enum wire_resolve_criteria {
    WIRE_SEARCH_NONE = 0x00,      /* all 256 bits */
    WIRE_SEARCH_ANY = 0x01,       /* first 128 bits */
    WIRE_SEARCH_NEAREST = 0x02,   /* closest over 256 bits */
    WIRE_SEARCH_NEAREST64 = 0x04, /* closest over the first 192 bits */
    WIRE_SEARCH_UPPER_BITS = 0x08 /* first Precision bits */
};

enum wire_resolve_reason {
    WIRE_REASON_APP_REQUEST = 0x00,
    WIRE_REASON_REGISTRATION = 0x01,
    WIRE_REASON_CACHE_MAINTENANCE = 0x02,
    WIRE_REASON_SPLIT_DETECTION = 0x03,
};

/* --- decoded forms ------------------------------------------------------- */

struct wire_header {
    uint8_t version_major;
    uint8_t version_minor;
    uint8_t type; /* enum wire_msg_type */
    uint32_t message_id;
};

/* A variable-length field's bytes; absent when p is NULL. */
struct wire_blob {
    const uint8_t *p;
    size_t len;
};

struct wire_route_entry {
    uint8_t key[WIRE_KEY_SIZE];
    uint8_t version_major;
    uint8_t version_minor;
    uint16_t port;
    uint8_t addr_count; /* 1..20 */
    uint8_t addrs[WIRE_ROUTE_MAX_ADDRS][WIRE_IPV6_SIZE];
};

struct wire_endpoint {
    uint16_t port;
    uint8_t addr[WIRE_IPV6_SIZE];
};

struct wire_endpoints {
    uint8_t count; /* 1..22 when present */
    struct wire_endpoint e[WIRE_ENDPOINTS_MAX];
};

/* count 32-byte keys back to back, as on the wire. */
struct wire_keys {
    const uint8_t *keys;
    uint16_t count;
};

/* Membership / confidential mode: what the security provider signs. */
struct wire_auth {
    struct wire_blob credential;
    struct wire_blob signature;
    struct wire_blob key_identifier;
};

struct wire_solicit {
    bool has_route;
    struct wire_route_entry route;
    uint8_t hashed_nonce[WIRE_HASHED_NONCE_SIZE];
};

struct wire_advertise {
    uint32_t acked_id;
    struct wire_keys keys;
    uint8_t hashed_nonce[WIRE_HASHED_NONCE_SIZE];
};

/*
 * REQUEST. In membership and confidential modes it carries FLAGS and
 * SPLIT_CONTROLS, and what follows them may be one fragment of a larger
 * body: then `fragment` holds this datagram's part, split_size/split_offset
 * place it, and the body fields are left unset until the engine has
 * reassembled the body and calls wire_decode_request_body().
 */
struct wire_request {
    bool has_split;
    uint16_t split_size;
    uint16_t split_offset;
    struct wire_blob fragment; /* set only for a partial body */
    uint8_t nonce[WIRE_NONCE_SIZE];
    struct wire_keys keys;
    struct wire_auth auth;
};

struct wire_flood {
    uint16_t flags; /* WIRE_FLOOD_D */
    uint8_t validate_key[WIRE_KEY_SIZE];
    struct wire_blob keytoken;
    struct wire_blob revoke_cpa;
    bool has_route;
    struct wire_route_entry route;
    struct wire_endpoints flooded; /* count 0: absent */
};

struct wire_inquire {
    uint16_t flags; /* WIRE_INQUIRE_A | _X | _C */
    uint8_t validate_key[WIRE_KEY_SIZE];
    bool has_nonce; /* exactly when A is set */
    uint8_t nonce[WIRE_NONCE_SIZE];
    struct wire_auth auth;
};

/* One AUTHORITY datagram: a fragment of an AUTHORITY_BUFFER. */
struct wire_authority {
    uint32_t acked_id;
    uint16_t size;   /* of the whole AUTHORITY_BUFFER */
    uint16_t offset; /* of this fragment, a multiple of 1188 */
    struct wire_blob fragment;
};

struct wire_ack {
    uint32_t acked_id;
    bool has_flags;
    uint16_t flags; /* WIRE_ACK_N */
};

struct wire_lookup {
    uint16_t flags;    /* WIRE_LOOKUP_A */
    uint16_t precision; /* meaningful for WIRE_SEARCH_UPPER_BITS only */
    uint8_t criteria;  /* enum wire_resolve_criteria */
    uint8_t reason;    /* enum wire_resolve_reason */
    uint8_t target_key[WIRE_KEY_SIZE];
    uint8_t validate_key[WIRE_KEY_SIZE];
    bool has_route;
    struct wire_route_entry route;
    struct wire_endpoints path; /* Flagged Path, 1..22 */
    struct wire_auth auth;
};

struct wire_msg {
    struct wire_header hdr;
    union {
        struct wire_solicit solicit;
        struct wire_advertise advertise;
        struct wire_request request;
        struct wire_flood flood;
        struct wire_inquire inquire;
        struct wire_authority authority;
        struct wire_ack ack;
        struct wire_lookup lookup;
    } u;
};

/* The logical reply to INQUIRE and LOOKUP, carried by AUTHORITY fragments. */
struct wire_authority_buffer {
    uint16_t flags; /* WIRE_AUTHORITY_L | _B | _N */
    struct wire_blob cert_chain; /* CREDENTIAL */
    struct wire_blob keytoken;
    struct wire_blob classifier;
    struct wire_blob payload; /* EXTENDED_PAYLOAD: the key's app data */
    bool has_route;
    struct wire_route_entry route;
    struct wire_blob cpa; /* VALIDATE_CPA */
};

/* --- entry points -------------------------------------------------------- */

/* S_OK or DRT_E_INVALID_MESSAGE (also for a NULL buf or out). */
HRESULT wire_decode(const uint8_t *buf, size_t len, struct wire_msg *out);

/* Writes msg to buf; *out_len is the message size. S_OK, E_INVALIDARG
 * (msg breaks a wire rule or is NULL), DRT_E_INSUFFICIENT_BUFFER. */
HRESULT wire_encode(const struct wire_msg *msg, uint8_t *buf, size_t cap, size_t *out_len);

/* The body of a REQUEST reassembled from its fragments: everything from
 * the NONCE field on. Fills the body fields of req. */
HRESULT wire_decode_request_body(const uint8_t *buf, size_t len, struct wire_request *req);

HRESULT wire_decode_authority_buffer(const uint8_t *buf, size_t len,
                                     struct wire_authority_buffer *out);
HRESULT wire_encode_authority_buffer(const struct wire_authority_buffer *ab, uint8_t *buf,
                                     size_t cap, size_t *out_len);

/*
 * SPLIT_CONTROLS fragmentation. A whole of `len` bytes (an AUTHORITY_BUFFER,
 * or a REQUEST body that does not fit one datagram) travels in
 * wire_fragment_count(len) datagrams of WIRE_FRAGMENT_SIZE bytes, the last
 * one shorter. The fragment functions fill msg for fragment `index`, with
 * the fragment pointing into `whole`; wire_encode() then writes it. They
 * return E_INVALIDARG for a whole over WIRE_SPLIT_MAX bytes (or empty) or
 * an index out of range.
 */
size_t wire_fragment_count(size_t len);
HRESULT wire_authority_fragment(const struct wire_header *hdr, uint32_t acked_id,
                                const uint8_t *whole, size_t len, size_t index,
                                struct wire_msg *msg);
HRESULT wire_request_fragment(const struct wire_header *hdr, const uint8_t *whole, size_t len,
                              size_t index, struct wire_msg *msg);
/* The body a fragmented REQUEST carries: its NONCE, keys and auth fields. */
HRESULT wire_encode_request_body(const struct wire_request *req, uint8_t *buf, size_t cap,
                                 size_t *out_len);

const char *wire_msg_type_name(uint8_t type);

/* HASHED_NONCE: SHA-1 of a conversation's 16-byte nonce (SOLICIT, ADVERTISE). */
void wire_hash_nonce(const uint8_t nonce[WIRE_NONCE_SIZE], uint8_t out[WIRE_HASHED_NONCE_SIZE]);

#endif
