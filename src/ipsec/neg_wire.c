/* neg_wire.c - header codec and size rules of negotiation datagrams
 * (neg_wire.h). */
#include "ipsec/neg_wire.h"

#include "ipsec/neg_crypto.h"

void neg_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

uint16_t neg_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

void neg_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void neg_put64(uint8_t *p, uint64_t v)
{
    neg_put32(p, (uint32_t)(v >> 32));
    neg_put32(p + 4, (uint32_t)v);
}

uint32_t neg_get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

uint64_t neg_get64(const uint8_t *p)
{
    return ((uint64_t)neg_get32(p) << 32) | neg_get32(p + 4);
}

void neg_header_write(uint8_t *p, const struct neg_header *h)
{
    p[0] = NEG_VERSION;
    p[1] = h->type;
    p[2] = h->flags;
    p[3] = 0;
    neg_put64(p + 4, h->spi_i);
    neg_put64(p + 12, h->spi_r);
    neg_put32(p + 20, h->mid);
    neg_put32(p + 24, h->length);
}

/* A body of psk_size bytes with a credential AUTH field of some allowed
 * size in place of the PSK's: the negotiation parses the field itself. */
static bool cred_size_ok(size_t n, size_t psk_size)
{
    size_t fixed = psk_size - NEG_AUTH_SIZE;
    return n >= fixed + NEG_CRED_AUTH_MIN && n <= fixed + NEG_CRED_AUTH_MAX;
}

bool neg_body_size_ok(uint8_t type, size_t n)
{
    switch (type) {
    case NEG_T_AUTH_REQ:
        return n == NEG_AUTH_REQ_BODY || cred_size_ok(n, NEG_AUTH_REQ_BODY);
    case NEG_T_AUTH_RESP:
        return n == NEG_AUTH_RESP_FAIL || n == NEG_AUTH_RESP_BODY ||
               n == NEG_AUTH_RESP_BODY + NEG_KEYMAT_PAIR || cred_size_ok(n, NEG_AUTH_RESP_BODY) ||
               cred_size_ok(n, NEG_AUTH_RESP_BODY + NEG_KEYMAT_PAIR);
    case NEG_T_KEYS:
        return n == NEG_KEYS_BODY || n == NEG_KEYS_BODY + NEG_KEYMAT_PAIR;
    case NEG_T_KEYS_ACK:
        return n == NEG_KEYS_ACK_BODY;
    case NEG_T_DELETE:
        return n == NEG_DELETE_BODY;
    default:
        return false;
    }
}

/* An X25519 public key as RFC 7748 §5 encodes it: the top bit of the last
 * byte is 0 (receivers are told to mask it; a key we generate never sets
 * it, so a key that does is refused as malformed). */
static bool ke_ok(const uint8_t *ke)
{
    return (ke[NEG_KE_SIZE - 1] & 0x80) == 0;
}

static bool clear_body_ok(uint8_t type, const uint8_t *body, size_t n)
{
    switch (type) {
    case NEG_T_INIT_REQ:
        if (n < 1)
            return false;
        if (body[0] != 0 && body[0] != NEG_COOKIE_SIZE)
            return false;
        return n == 1u + body[0] + NEG_KE_SIZE + NEG_NONCE_SIZE && ke_ok(body + 1 + body[0]);
    case NEG_T_INIT_RESP:
        return n == NEG_KE_SIZE + NEG_NONCE_SIZE && ke_ok(body);
    case NEG_T_COOKIE:
        return n == NEG_COOKIE_SIZE;
    default:
        return false;
    }
}

static uint8_t flags_for(uint8_t type)
{
    switch (type) {
    case NEG_T_INIT_REQ:
    case NEG_T_AUTH_REQ:
    case NEG_T_KEYS:
        return NEG_FLAG_INITIATOR;
    default:
        return NEG_FLAG_RESPONSE;
    }
}

bool neg_header_parse(const uint8_t *d, size_t len, struct neg_header *h)
{
    if (!d || len < NEG_HEADER_SIZE || len > NEG_MAX_DATAGRAM)
        return false;
    if (d[0] != NEG_VERSION || d[3] != 0)
        return false; /* unknown versions are dropped, not answered */
    h->type = d[1];
    h->flags = d[2];
    h->spi_i = neg_get64(d + 4);
    h->spi_r = neg_get64(d + 12);
    h->mid = neg_get32(d + 20);
    h->length = neg_get32(d + 24);
    if (h->type < NEG_T_INIT_REQ || h->type > NEG_T_DELETE)
        return false;
    /* A DELETE comes from either side, flagged as that side sends. */
    bool flags_ok = h->type == NEG_T_DELETE
                        ? h->flags == NEG_FLAG_INITIATOR || h->flags == NEG_FLAG_RESPONSE
                        : h->flags == flags_for(h->type);
    if (!flags_ok || h->length != len || h->spi_i == 0)
        return false;
    if (h->type == NEG_T_DELETE && h->mid != NEG_DELETE_MID)
        return false;
    const uint8_t *body = d + NEG_HEADER_SIZE;
    size_t n = len - NEG_HEADER_SIZE;
    switch (h->type) {
    case NEG_T_INIT_REQ:
    case NEG_T_COOKIE:
        if (h->spi_r != 0 || h->mid != 0)
            return false;
        return clear_body_ok(h->type, body, n);
    case NEG_T_INIT_RESP:
        if (h->spi_r == 0 || h->mid != 0)
            return false;
        return clear_body_ok(h->type, body, n);
    default:
        if (h->spi_r == 0 || h->mid == 0 || n < NEG_IV_SIZE + NEG_GCM_TAG)
            return false;
        return neg_body_size_ok(h->type, n - NEG_IV_SIZE - NEG_GCM_TAG);
    }
}
