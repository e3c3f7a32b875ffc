/*
 * wire_authority.c - the AUTHORITY_BUFFER (§2.2.2.6.1): a node's answer to
 * INQUIRE and LOOKUP, carried in one or more AUTHORITY fragments. Offsets
 * for padding count from the buffer's start, which sits at message offset
 * 28 in every AUTHORITY and so keeps the same 4-byte alignment.
 */
#include <string.h>

#include "core/wire.h"
#include "core/wire_fields.h"

HRESULT wire_decode_authority_buffer(const uint8_t *buf, size_t len,
                                     struct wire_authority_buffer *out)
{
    if (!buf || !out)
        return DRT_E_INVALID_MESSAGE;
    memset(out, 0, sizeof(*out));
    if (len > WIRE_SPLIT_MAX)
        return DRT_E_INVALID_MESSAGE;
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    out->flags = wire_get_flags(&r);
    wire_get_opt_blob(&r, WIRE_FIELD_CREDENTIAL, &out->cert_chain);
    wire_get_opt_blob(&r, WIRE_FIELD_KEYTOKEN, &out->keytoken);
    wire_get_opt_blob(&r, WIRE_FIELD_CLASSIFIER, &out->classifier);
    wire_get_opt_blob(&r, WIRE_FIELD_EXTENDED_PAYLOAD, &out->payload);
    if (out->payload.len > DRT_MAX_PAYLOAD_SIZE)
        wire_fail(&r);
    out->has_route = wire_next_field(&r) == WIRE_FIELD_ROUTING_ENTRY;
    if (out->has_route)
        wire_get_route_field(&r, &out->route);
    wire_get_opt_blob(&r, WIRE_FIELD_VALIDATE_CPA, &out->cpa);
    wire_skip_pad(&r);
    if (!wire_done(&r)) {
        memset(out, 0, sizeof(*out));
        return DRT_E_INVALID_MESSAGE;
    }
    return S_OK;
}

HRESULT wire_encode_authority_buffer(const struct wire_authority_buffer *ab, uint8_t *buf,
                                     size_t cap, size_t *out_len)
{
    if (out_len)
        *out_len = 0;
    if (!ab || !out_len)
        return E_INVALIDARG;
    const struct wire_blob *blobs[] = {&ab->cert_chain, &ab->keytoken, &ab->classifier,
                                       &ab->payload, &ab->cpa};
    for (size_t i = 0; i < sizeof(blobs) / sizeof(blobs[0]); i++)
        if (!wire_blob_valid(blobs[i]))
            return E_INVALIDARG;
    if (ab->payload.len > DRT_MAX_PAYLOAD_SIZE || (ab->has_route && !wire_route_valid(&ab->route)))
        return E_INVALIDARG;

    struct wire_writer w;
    wire_writer_init(&w, buf, cap);
    wire_put_flags(&w, ab->flags);
    wire_put_opt_blob(&w, WIRE_FIELD_CREDENTIAL, &ab->cert_chain);
    wire_put_opt_blob(&w, WIRE_FIELD_KEYTOKEN, &ab->keytoken);
    wire_put_opt_blob(&w, WIRE_FIELD_CLASSIFIER, &ab->classifier);
    wire_put_opt_blob(&w, WIRE_FIELD_EXTENDED_PAYLOAD, &ab->payload);
    if (ab->has_route)
        wire_put_route_field(&w, &ab->route);
    wire_put_opt_blob(&w, WIRE_FIELD_VALIDATE_CPA, &ab->cpa);
    if (!w.ok)
        return DRT_E_INSUFFICIENT_BUFFER;
    /* Must fit SPLIT_CONTROLS' Size, or it could never be sent. */
    if (w.pos > WIRE_SPLIT_MAX)
        return E_INVALIDARG;
    *out_len = w.pos;
    return S_OK;
}
