/*
 * wire_split.c - SPLIT_CONTROLS: the whole that does not fit one datagram
 * (an AUTHORITY_BUFFER, or a REQUEST body carrying a certificate chain) is
 * cut into WIRE_FRAGMENT_SIZE pieces, each sent with the same header
 * (§3.2.5.7). Reassembly is core/reassembly.c's job.
 */
#include <string.h>

#include "core/wire.h"
#include "core/wire_fields.h"

size_t wire_fragment_count(size_t len)
{
    return len <= WIRE_FRAGMENT_SIZE ? 1 : (len + WIRE_FRAGMENT_SIZE - 1) / WIRE_FRAGMENT_SIZE;
}

/* The slice for fragment `index`, or false when there is none. */
static bool slice(const uint8_t *whole, size_t len, size_t index, struct wire_blob *out)
{
    if (!whole || len == 0 || len > WIRE_SPLIT_MAX || index >= wire_fragment_count(len))
        return false;
    size_t off = index * WIRE_FRAGMENT_SIZE;
    out->p = whole + off;
    out->len = len - off < WIRE_FRAGMENT_SIZE ? len - off : WIRE_FRAGMENT_SIZE;
    return true;
}

HRESULT wire_authority_fragment(const struct wire_header *hdr, uint32_t acked_id,
                                const uint8_t *whole, size_t len, size_t index,
                                struct wire_msg *msg)
{
    struct wire_blob part;
    if (!hdr || !msg || !slice(whole, len, index, &part))
        return E_INVALIDARG;
    memset(msg, 0, sizeof(*msg));
    msg->hdr = *hdr;
    msg->hdr.type = WIRE_AUTHORITY;
    msg->u.authority.acked_id = acked_id;
    msg->u.authority.size = (uint16_t)len;
    msg->u.authority.offset = (uint16_t)(index * WIRE_FRAGMENT_SIZE);
    msg->u.authority.fragment = part;
    return S_OK;
}

HRESULT wire_request_fragment(const struct wire_header *hdr, const uint8_t *whole, size_t len,
                              size_t index, struct wire_msg *msg)
{
    struct wire_blob part;
    /* A body that fits one datagram is sent whole, not as a fragment. */
    if (!hdr || !msg || len <= WIRE_FRAGMENT_SIZE || !slice(whole, len, index, &part))
        return E_INVALIDARG;
    memset(msg, 0, sizeof(*msg));
    msg->hdr = *hdr;
    msg->hdr.type = WIRE_REQUEST;
    msg->u.request.has_split = true;
    msg->u.request.split_size = (uint16_t)len;
    msg->u.request.split_offset = (uint16_t)(index * WIRE_FRAGMENT_SIZE);
    msg->u.request.fragment = part;
    return S_OK;
}

HRESULT wire_encode_request_body(const struct wire_request *req, uint8_t *buf, size_t cap,
                                 size_t *out_len)
{
    if (out_len)
        *out_len = 0;
    if (!req || !out_len || req->fragment.p || !wire_keys_valid(&req->keys) ||
        !wire_auth_valid(&req->auth))
        return E_INVALIDARG;
    struct wire_writer w;
    wire_writer_init(&w, buf, cap);
    /* Padding inside the body counts from the message start; the body
     * starts at offset 28, a multiple of 4, so counting from 0 agrees. */
    wire_put_request_body(&w, req);
    if (!w.ok)
        return DRT_E_INSUFFICIENT_BUFFER;
    if (w.pos > WIRE_SPLIT_MAX)
        return E_INVALIDARG;
    *out_len = w.pos;
    return S_OK;
}
