/* engine_send.c - building and sending the engine's messages: requests
 * (recorded as pending, for answers and retransmission) and answers. */
#include <string.h>

#include "core/engine_internal.h"

void engine_header(struct drt_engine *e, struct wire_msg *m, uint8_t type, uint32_t msg_id)
{
    memset(m, 0, sizeof(*m));
    m->hdr.version_major = e->cfg.version_major;
    m->hdr.version_minor = e->cfg.version_minor;
    m->hdr.type = type;
    m->hdr.message_id = msg_id;
}

static bool encode(struct drt_engine *e, const struct wire_msg *m, size_t *len)
{
    return SUCCEEDED(wire_encode(m, e->buf->scratch, sizeof(e->buf->scratch), len));
}

static void push(struct drt_engine *e, const struct drt_endpoint *to, const uint8_t *buf,
                 size_t len, uint8_t type)
{
    if (queue_push(&e->out, to, sizeof(*to), buf, len)) {
        e->stats.datagrams_sent++;
        e->stats.bytes_sent += len;
        e->stats.sent_by_type[type & 15]++;
    }
}

void engine_send_msg(struct drt_engine *e, const struct drt_endpoint *to, const struct wire_msg *m)
{
    size_t len;
    if (encode(e, m, &len))
        push(e, to, e->buf->scratch, len, m->hdr.type);
}

void engine_route_entry(const struct drt_engine *e, const uint8_t key[32],
                        struct wire_route_entry *re)
{
    memset(re, 0, sizeof(*re));
    memcpy(re->key, key, 32);
    re->version_major = e->cfg.version_major;
    re->version_minor = e->cfg.version_minor;
    re->port = e->cfg.self.port;
    re->addr_count = 1;
    memcpy(re->addrs[0], e->cfg.self.addr, 16);
}

/* A MessageID no outstanding request uses, never 0 (0 marks "none"). */
static uint32_t fresh_id(struct drt_engine *e)
{
    for (;;) {
        uint32_t id = engine_random32(e);
        if (id != 0 && !pending_id_in_use(&e->pending, id))
            return id;
    }
}

/* A REQUEST of the membership modes carries FLAGS and SPLIT_CONTROLS, and
 * a body longer than one fragment (a long chain, many keys) goes out in
 * WIRE_FRAGMENT_SIZE pieces, one datagram each, back to back in scratch:
 * *frag_len is the size of each but the last. */
static bool encode_split_request(struct drt_engine *e, struct wire_msg *m, size_t *len,
                                 size_t *frag_len)
{
    size_t body;
    m->u.request.has_split = true;
    if (FAILED(wire_encode_request_body(&m->u.request, e->buf->scratch2, sizeof(e->buf->scratch2), &body)))
        return false;
    if (body <= WIRE_FRAGMENT_SIZE)
        return encode(e, m, len);
    size_t n = wire_fragment_count(body), pos = 0;
    for (size_t i = 0; i < n; i++) {
        struct wire_msg f;
        size_t flen;
        if (FAILED(wire_request_fragment(&m->hdr, e->buf->scratch2, body, i, &f)) ||
            FAILED(wire_encode(&f, e->buf->scratch + pos, sizeof(e->buf->scratch) - pos, &flen)))
            return false;
        if (i == 0)
            *frag_len = flen;
        pos += flen;
    }
    *len = pos;
    return true;
}

uint32_t engine_request(struct drt_engine *e, struct wire_msg *m, const struct drt_endpoint *to,
                        enum pending_kind kind, const uint8_t key[32], uint32_t owner,
                        const uint8_t nonce[16])
{
    if (e->pending.count >= e->pending.max)
        return 0;
    m->hdr.message_id = fresh_id(e);
    size_t len, frag_len = 0;
    if (engine_auth_required(e, m->hdr.type) && !engine_auth_sign(e, m))
        return 0;
    if (!(m->hdr.type == WIRE_REQUEST && e->cfg.mode != DRT_SECURE_RESOLVE
              ? encode_split_request(e, m, &len, &frag_len)
              : encode(e, m, &len)))
        return 0;
    struct pending p;
    memset(&p, 0, sizeof(p));
    p.msg_id = m->hdr.message_id;
    p.kind = kind;
    p.peer = *to;
    if (key)
        memcpy(p.key, key, 32);
    if (nonce)
        memcpy(p.nonce, nonce, 16);
    p.owner = owner;
    p.sent_at = e->now;
    p.rto_ms = engine_rto(e);
    p.deadline = e->now + p.rto_ms;
    p.retries_left = ENGINE_RETRIES;
    p.dgram = e->buf->scratch;
    p.len = len;
    p.frag_len = frag_len;
    if (!pending_add(&e->pending, &p))
        return 0;
    size_t step = frag_len ? frag_len : len;
    for (size_t off = 0; off < len; off += step)
        push(e, to, e->buf->scratch + off, len - off < step ? len - off : step, m->hdr.type);
    return p.msg_id;
}

size_t engine_null_cpa(const uint8_t key[32], const uint8_t nonce[16], uint8_t out[49])
{
    out[0] = 0;
    memcpy(out + 1, key, 32);
    memcpy(out + 33, nonce, 16);
    return 49;
}

uint32_t engine_send_inquire(struct drt_engine *e, const struct engine_peer *to,
                             enum pending_kind kind, uint16_t flags, uint32_t owner)
{
    struct wire_msg m;
    engine_header(e, &m, WIRE_INQUIRE, 0);
    m.u.inquire.flags = flags;
    memcpy(m.u.inquire.validate_key, to->key, 32);
    uint8_t nonce[16] = {0};
    if (flags & WIRE_INQUIRE_A) {
        engine_random_bytes(e, nonce, sizeof(nonce));
        m.u.inquire.has_nonce = true;
        memcpy(m.u.inquire.nonce, nonce, sizeof(nonce));
    }
    return engine_request(e, &m, &to->ep, kind, to->key, owner, nonce);
}

void engine_send_authority(struct drt_engine *e, const struct drt_endpoint *to, uint32_t acked,
                           const struct wire_authority_buffer *ab)
{
    size_t len;
    if (FAILED(wire_encode_authority_buffer(ab, e->buf->scratch2, sizeof(e->buf->scratch2), &len)))
        return;
    struct wire_header h = {e->cfg.version_major, e->cfg.version_minor, WIRE_AUTHORITY,
                            engine_random32(e)};
    size_t n = wire_fragment_count(len);
    for (size_t i = 0; i < n; i++) {
        struct wire_msg m;
        if (SUCCEEDED(wire_authority_fragment(&h, acked, e->buf->scratch2, len, i, &m)))
            engine_send_msg(e, to, &m);
    }
}

void engine_send_flood(struct drt_engine *e, const struct drt_endpoint *to,
                       const uint8_t validate[32], const struct wire_route_entry *re,
                       const struct wire_blob *revoke, const struct wire_endpoints *flooded)
{
    struct wire_msg m;
    engine_header(e, &m, WIRE_FLOOD, engine_random32(e));
    m.u.flood.flags = WIRE_FLOOD_D; /* best effort: maintenance repairs losses */
    if (validate)
        memcpy(m.u.flood.validate_key, validate, 32);
    if (re) {
        m.u.flood.has_route = true;
        m.u.flood.route = *re;
    }
    if (revoke)
        m.u.flood.revoke_cpa = *revoke;
    if (flooded)
        m.u.flood.flooded = *flooded;
    engine_send_msg(e, to, &m);
}
