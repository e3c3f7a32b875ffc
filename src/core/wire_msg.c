/*
 * wire_msg.c - the eight messages of [MC-DRT] §2.2.2: one decoder and one
 * encoder per message, and the checks that keep both sides to the rules
 * of docs/PROTOCOL.md. Field order is fixed by the spec, so a field out of
 * place, unknown, repeated or left over makes the message invalid.
 */
#include <string.h>

#include "core/wire.h"
#include "core/wire_fields.h"

const char *wire_msg_type_name(uint8_t type)
{
    switch (type) {
    case WIRE_SOLICIT:
        return "SOLICIT";
    case WIRE_ADVERTISE:
        return "ADVERTISE";
    case WIRE_REQUEST:
        return "REQUEST";
    case WIRE_FLOOD:
        return "FLOOD";
    case WIRE_INQUIRE:
        return "INQUIRE";
    case WIRE_AUTHORITY:
        return "AUTHORITY";
    case WIRE_ACK:
        return "ACK";
    case WIRE_LOOKUP:
        return "LOOKUP";
    default:
        return "?";
    }
}

static bool criteria_known(uint8_t c)
{
    return c == WIRE_SEARCH_NONE || c == WIRE_SEARCH_ANY || c == WIRE_SEARCH_NEAREST ||
           c == WIRE_SEARCH_NEAREST64 || c == WIRE_SEARCH_UPPER_BITS;
}

/* --- decoders ------------------------------------------------------------ */

static void get_solicit(struct wire_reader *r, struct wire_solicit *m)
{
    m->has_route = wire_next_field(r) == WIRE_FIELD_ROUTING_ENTRY;
    if (m->has_route)
        wire_get_route_field(r, &m->route);
    struct wire_reader body;
    if (wire_get_fixed(r, WIRE_FIELD_HASHED_NONCE, WIRE_HASHED_NONCE_SIZE, &body))
        wire_get_copy(&body, m->hashed_nonce, WIRE_HASHED_NONCE_SIZE);
}

static void get_advertise(struct wire_reader *r, struct wire_advertise *m)
{
    m->acked_id = wire_get_acked(r);
    wire_get_key_array(r, &m->keys);
    struct wire_reader body;
    if (wire_get_fixed(r, WIRE_FIELD_HASHED_NONCE, WIRE_HASHED_NONCE_SIZE, &body))
        wire_get_copy(&body, m->hashed_nonce, WIRE_HASHED_NONCE_SIZE);
}

static void get_request_body(struct wire_reader *r, struct wire_request *m)
{
    struct wire_reader body;
    if (wire_get_fixed(r, WIRE_FIELD_NONCE, WIRE_NONCE_SIZE, &body))
        wire_get_copy(&body, m->nonce, WIRE_NONCE_SIZE);
    wire_get_key_array(r, &m->keys);
    wire_get_auth(r, &m->auth);
}

void wire_put_request_body(struct wire_writer *w, const struct wire_request *q)
{
    wire_put_field(w, WIRE_FIELD_NONCE, q->nonce, WIRE_NONCE_SIZE);
    wire_put_key_array(w, &q->keys);
    wire_put_auth(w, &q->auth);
}

/* Bytes a split datagram must carry at `offset` of a `size`-byte whole:
 * every fragment but the last is exactly WIRE_FRAGMENT_SIZE. */
static size_t fragment_len(uint16_t size, uint16_t offset)
{
    size_t rest = size > offset ? (size_t)(size - offset) : 0;
    return rest < WIRE_FRAGMENT_SIZE ? rest : WIRE_FRAGMENT_SIZE;
}

static void get_request(struct wire_reader *r, struct wire_request *m)
{
    /* FLAGS and SPLIT_CONTROLS come together (membership and confidential
     * modes) or not at all. */
    if (wire_next_field(r) == WIRE_FIELD_FLAGS) {
        (void)wire_get_flags(r); /* reserved, ignored on receipt */
        wire_get_split(r, &m->split_size, &m->split_offset);
        m->has_split = true;
        wire_skip_pad(r);
        size_t left = wire_left(r);
        if (r->ok && left != fragment_len(m->split_size, m->split_offset))
            wire_fail(r);
        if (m->split_offset != 0 || left != m->split_size) {
            /* One fragment of a body the engine reassembles. */
            m->fragment.len = left;
            m->fragment.p = wire_get_bytes(r, left);
            return;
        }
    }
    get_request_body(r, m);
}

static void get_flood(struct wire_reader *r, struct wire_flood *m)
{
    struct wire_reader body;
    if (wire_get_fixed(r, WIRE_FIELD_FLOOD_CONTROLS, 3, &body)) {
        m->flags = wire_get_u16(&body);
        (void)wire_get_u8(&body); /* Reserved2 */
    }
    wire_get_key_field(r, WIRE_FIELD_VALIDATE_DRT_ID, m->validate_key);
    wire_get_opt_blob(r, WIRE_FIELD_KEYTOKEN, &m->keytoken);
    wire_get_opt_blob(r, WIRE_FIELD_REVOKE_CPA, &m->revoke_cpa);
    m->has_route = wire_next_field(r) == WIRE_FIELD_ROUTING_ENTRY;
    if (m->has_route)
        wire_get_route_field(r, &m->route);
    if (wire_next_field(r) == WIRE_FIELD_IPV6_ENDPOINT_ARRAY)
        wire_get_endpoints(r, &m->flooded);
}

static void get_inquire(struct wire_reader *r, struct wire_inquire *m)
{
    m->flags = wire_get_flags(r);
    wire_get_key_field(r, WIRE_FIELD_VALIDATE_DRT_ID, m->validate_key);
    m->has_nonce = wire_next_field(r) == WIRE_FIELD_NONCE;
    if (m->has_nonce) {
        struct wire_reader body;
        if (wire_get_fixed(r, WIRE_FIELD_NONCE, WIRE_NONCE_SIZE, &body))
            wire_get_copy(&body, m->nonce, WIRE_NONCE_SIZE);
    }
    /* The nonce is present exactly when the CPA is asked for (A). */
    if (m->has_nonce != ((m->flags & WIRE_INQUIRE_A) != 0))
        wire_fail(r);
    wire_get_auth(r, &m->auth);
}

static void get_authority(struct wire_reader *r, struct wire_authority *m)
{
    m->acked_id = wire_get_acked(r);
    wire_get_split(r, &m->size, &m->offset);
    size_t left = wire_left(r);
    if (r->ok && left != fragment_len(m->size, m->offset))
        wire_fail(r);
    m->fragment.len = left;
    m->fragment.p = wire_get_bytes(r, left);
}

static void get_ack(struct wire_reader *r, struct wire_ack *m)
{
    m->acked_id = wire_get_acked(r);
    m->has_flags = wire_next_field(r) == WIRE_FIELD_FLAGS;
    if (m->has_flags)
        m->flags = wire_get_flags(r);
}

static void get_lookup(struct wire_reader *r, struct wire_lookup *m)
{
    struct wire_reader body;
    if (wire_get_fixed(r, WIRE_FIELD_LOOKUP_CONTROLS, 8, &body)) {
        m->flags = wire_get_u16(&body);
        m->precision = wire_get_u16(&body);
        m->criteria = wire_get_u8(&body);
        m->reason = wire_get_u8(&body);
        (void)wire_get_u16(&body); /* Reserved2 */
        if (!criteria_known(m->criteria) || m->precision > 256)
            wire_fail(r);
        /* Precision means nothing for the other criteria; ignored on receipt. */
        if (m->criteria != WIRE_SEARCH_UPPER_BITS)
            m->precision = 0;
    }
    wire_get_key_field(r, WIRE_FIELD_TARGET_DRT_ID, m->target_key);
    wire_get_key_field(r, WIRE_FIELD_VALIDATE_DRT_ID, m->validate_key);
    m->has_route = wire_next_field(r) == WIRE_FIELD_ROUTING_ENTRY;
    if (m->has_route)
        wire_get_route_field(r, &m->route);
    wire_get_endpoints(r, &m->path);
    wire_get_auth(r, &m->auth);
}

static void get_header(struct wire_reader *r, struct wire_header *h)
{
    struct wire_reader body;
    if (!wire_get_fixed(r, WIRE_FIELD_HEADER, WIRE_HEADER_SIZE - 4, &body))
        return;
    if (wire_get_u8(&body) != WIRE_IDENTIFIER)
        wire_fail(r);
    h->version_major = wire_get_u8(&body);
    h->version_minor = wire_get_u8(&body);
    h->type = wire_get_u8(&body);
    h->message_id = wire_get_u32(&body);
}

/* Trailing padding after the last field is tolerated, anything else not. */
static HRESULT finish(struct wire_reader *r)
{
    wire_skip_pad(r);
    return wire_done(r) ? S_OK : DRT_E_INVALID_MESSAGE;
}

HRESULT wire_decode(const uint8_t *buf, size_t len, struct wire_msg *out)
{
    if (!buf || !out)
        return DRT_E_INVALID_MESSAGE;
    memset(out, 0, sizeof(*out));
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    get_header(&r, &out->hdr);
    if (!r.ok)
        return DRT_E_INVALID_MESSAGE;

    switch (out->hdr.type) {
    case WIRE_SOLICIT:
        get_solicit(&r, &out->u.solicit);
        break;
    case WIRE_ADVERTISE:
        get_advertise(&r, &out->u.advertise);
        break;
    case WIRE_REQUEST:
        get_request(&r, &out->u.request);
        break;
    case WIRE_FLOOD:
        get_flood(&r, &out->u.flood);
        break;
    case WIRE_INQUIRE:
        get_inquire(&r, &out->u.inquire);
        break;
    case WIRE_AUTHORITY:
        get_authority(&r, &out->u.authority);
        break;
    case WIRE_ACK:
        get_ack(&r, &out->u.ack);
        break;
    case WIRE_LOOKUP:
        get_lookup(&r, &out->u.lookup);
        break;
    default:
        return DRT_E_INVALID_MESSAGE;
    }
    HRESULT hr = finish(&r);
    if (FAILED(hr))
        memset(&out->u, 0, sizeof(out->u));
    return hr;
}

HRESULT wire_decode_request_body(const uint8_t *buf, size_t len, struct wire_request *req)
{
    if (!buf || !req)
        return DRT_E_INVALID_MESSAGE;
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    /* The body starts at message offset 28 (header, FLAGS, SPLIT_CONTROLS):
     * a multiple of 4, so padding inside it lines up either way. */
    r.msg_offset = WIRE_AUTHORITY_OVERHEAD;
    get_request_body(&r, req);
    HRESULT hr = finish(&r);
    if (SUCCEEDED(hr))
        req->fragment = (struct wire_blob){NULL, 0};
    return hr;
}

/* --- encoders ------------------------------------------------------------ */

static bool keys_fit(const struct wire_keys *k)
{
    return wire_keys_valid(k) && 8u + (size_t)k->count * WIRE_KEY_SIZE <= WIRE_MAX_FIELD_BODY;
}

/* A fragment as its decoder will accept it. */
static bool split_valid(uint16_t size, uint16_t offset, const struct wire_blob *frag)
{
    return size <= WIRE_SPLIT_MAX && offset % WIRE_FRAGMENT_SIZE == 0 && offset < size &&
           frag->p && frag->len == fragment_len(size, offset);
}

static size_t field_at(size_t size, size_t field_len)
{
    return ((size + 3) & ~(size_t)3) + field_len;
}

/* Bytes of a REQUEST body (NONCE onwards), padding included. */
static size_t request_body_size(const struct wire_request *q)
{
    size_t n = 4 + WIRE_NONCE_SIZE;
    n = field_at(n, 12 + (size_t)q->keys.count * WIRE_KEY_SIZE);
    const struct wire_blob *b[3] = {&q->auth.credential, &q->auth.signature,
                                    &q->auth.key_identifier};
    for (unsigned i = 0; i < 3; i++)
        if (b[i]->p)
            n = field_at(n, 4 + b[i]->len);
    return n;
}

static bool request_valid(const struct wire_request *q)
{
    if (q->fragment.p)
        return q->has_split &&
               !(q->split_offset == 0 && q->fragment.len == q->split_size) &&
               split_valid(q->split_size, q->split_offset, &q->fragment);
    if (!keys_fit(&q->keys) || !wire_auth_valid(&q->auth))
        return false;
    /* A body too big for one datagram goes through wire_request_fragment(). */
    return !q->has_split || request_body_size(q) <= WIRE_FRAGMENT_SIZE;
}

/* The rules an encoder enforces: exactly those its decoder checks. */
static bool msg_valid(const struct wire_msg *m)
{
    switch (m->hdr.type) {
    case WIRE_SOLICIT:
        return !m->u.solicit.has_route || wire_route_valid(&m->u.solicit.route);
    case WIRE_ADVERTISE:
        return keys_fit(&m->u.advertise.keys);
    case WIRE_REQUEST:
        return request_valid(&m->u.request);
    case WIRE_FLOOD: {
        const struct wire_flood *f = &m->u.flood;
        return wire_blob_valid(&f->keytoken) && wire_blob_valid(&f->revoke_cpa) &&
               (!f->has_route || wire_route_valid(&f->route)) &&
               (f->flooded.count == 0 || wire_endpoints_valid(&f->flooded));
    }
    case WIRE_INQUIRE: {
        const struct wire_inquire *q = &m->u.inquire;
        return q->has_nonce == ((q->flags & WIRE_INQUIRE_A) != 0) && wire_auth_valid(&q->auth);
    }
    case WIRE_AUTHORITY: {
        const struct wire_authority *a = &m->u.authority;
        return split_valid(a->size, a->offset, &a->fragment);
    }
    case WIRE_ACK:
        return true;
    case WIRE_LOOKUP: {
        const struct wire_lookup *l = &m->u.lookup;
        return criteria_known(l->criteria) && l->precision <= 256 &&
               (!l->has_route || wire_route_valid(&l->route)) &&
               wire_endpoints_valid(&l->path) && wire_auth_valid(&l->auth);
    }
    default:
        return false;
    }
}

static void put_body(struct wire_writer *w, const struct wire_msg *m)
{
    switch (m->hdr.type) {
    case WIRE_SOLICIT:
        if (m->u.solicit.has_route)
            wire_put_route_field(w, &m->u.solicit.route);
        wire_put_field(w, WIRE_FIELD_HASHED_NONCE, m->u.solicit.hashed_nonce,
                       WIRE_HASHED_NONCE_SIZE);
        break;
    case WIRE_ADVERTISE:
        wire_put_acked(w, m->u.advertise.acked_id);
        wire_put_key_array(w, &m->u.advertise.keys);
        wire_put_field(w, WIRE_FIELD_HASHED_NONCE, m->u.advertise.hashed_nonce,
                       WIRE_HASHED_NONCE_SIZE);
        break;
    case WIRE_REQUEST: {
        const struct wire_request *q = &m->u.request;
        if (q->has_split) {
            wire_put_flags(w, 0);
            if (q->fragment.p) {
                wire_put_split(w, q->split_size, q->split_offset);
                wire_put_bytes(w, q->fragment.p, q->fragment.len);
                break;
            }
            wire_put_split(w, (uint16_t)request_body_size(q), 0);
        }
        wire_put_request_body(w, q);
        break;
    }
    case WIRE_FLOOD: {
        const struct wire_flood *f = &m->u.flood;
        uint8_t controls[3] = {(uint8_t)(f->flags >> 8), (uint8_t)f->flags, 0};
        wire_put_field(w, WIRE_FIELD_FLOOD_CONTROLS, controls, sizeof(controls));
        wire_put_key_field(w, WIRE_FIELD_VALIDATE_DRT_ID, f->validate_key);
        wire_put_opt_blob(w, WIRE_FIELD_KEYTOKEN, &f->keytoken);
        wire_put_opt_blob(w, WIRE_FIELD_REVOKE_CPA, &f->revoke_cpa);
        if (f->has_route)
            wire_put_route_field(w, &f->route);
        if (f->flooded.count)
            wire_put_endpoints(w, &f->flooded);
        break;
    }
    case WIRE_INQUIRE: {
        const struct wire_inquire *q = &m->u.inquire;
        wire_put_flags(w, q->flags);
        wire_put_key_field(w, WIRE_FIELD_VALIDATE_DRT_ID, q->validate_key);
        if (q->has_nonce)
            wire_put_field(w, WIRE_FIELD_NONCE, q->nonce, WIRE_NONCE_SIZE);
        wire_put_auth(w, &q->auth);
        break;
    }
    case WIRE_AUTHORITY:
        wire_put_acked(w, m->u.authority.acked_id);
        wire_put_split(w, m->u.authority.size, m->u.authority.offset);
        wire_put_bytes(w, m->u.authority.fragment.p, m->u.authority.fragment.len);
        break;
    case WIRE_ACK:
        wire_put_acked(w, m->u.ack.acked_id);
        if (m->u.ack.has_flags)
            wire_put_flags(w, m->u.ack.flags);
        break;
    case WIRE_LOOKUP: {
        const struct wire_lookup *l = &m->u.lookup;
        uint16_t precision = l->criteria == WIRE_SEARCH_UPPER_BITS ? l->precision : 0;
        uint8_t controls[8] = {(uint8_t)(l->flags >> 8), (uint8_t)l->flags,
                               (uint8_t)(precision >> 8), (uint8_t)precision,
                               l->criteria, l->reason, 0, 0};
        wire_put_field(w, WIRE_FIELD_LOOKUP_CONTROLS, controls, sizeof(controls));
        wire_put_key_field(w, WIRE_FIELD_TARGET_DRT_ID, l->target_key);
        wire_put_key_field(w, WIRE_FIELD_VALIDATE_DRT_ID, l->validate_key);
        if (l->has_route)
            wire_put_route_field(w, &l->route);
        wire_put_endpoints(w, &l->path);
        wire_put_auth(w, &l->auth);
        break;
    }
    default:
        w->ok = false;
    }
}

HRESULT wire_encode(const struct wire_msg *msg, uint8_t *buf, size_t cap, size_t *out_len)
{
    if (out_len)
        *out_len = 0;
    if (!msg || !out_len || !msg_valid(msg))
        return E_INVALIDARG;
    if (!buf)
        return DRT_E_INSUFFICIENT_BUFFER;
    struct wire_writer w;
    wire_writer_init(&w, buf, cap);
    size_t start = wire_field_begin(&w, WIRE_FIELD_HEADER);
    wire_put_u8(&w, WIRE_IDENTIFIER);
    wire_put_u8(&w, msg->hdr.version_major);
    wire_put_u8(&w, msg->hdr.version_minor);
    wire_put_u8(&w, msg->hdr.type);
    wire_put_u32(&w, msg->hdr.message_id);
    wire_field_end(&w, start);
    put_body(&w, msg);
    if (!w.ok)
        return DRT_E_INSUFFICIENT_BUFFER;
    *out_len = w.pos;
    return S_OK;
}
