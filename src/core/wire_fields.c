/* wire_fields.c - get/put pairs for the fields of [MC-DRT] §2.2 and the
 * structures of §2.2.3. Every getter leaves the reader failed on anything
 * the spec does not allow; wire_fields.h states the alignment rule. */
#include "core/wire_fields.h"

#include <string.h>

uint16_t wire_next_field(struct wire_reader *r)
{
    wire_skip_pad(r);
    return wire_peek_u16(r);
}

static bool get_field(struct wire_reader *r, uint16_t id, struct wire_reader *body)
{
    wire_skip_pad(r);
    return wire_get_field(r, id, body);
}

bool wire_get_fixed(struct wire_reader *r, uint16_t id, size_t body_len, struct wire_reader *body)
{
    if (get_field(r, id, body) && body->len != body_len)
        wire_fail(r);
    return r->ok;
}

bool wire_get_var(struct wire_reader *r, uint16_t id, size_t min_len, struct wire_reader *body)
{
    if (get_field(r, id, body) && body->len < min_len)
        wire_fail(r);
    return r->ok;
}

/* A field's body must be consumed exactly; leftovers mean a bad Length. */
static void end_body(struct wire_reader *r, const struct wire_reader *body)
{
    if (!wire_done(body))
        wire_fail(r);
}

void wire_put_field(struct wire_writer *w, uint16_t id, const void *body, size_t len)
{
    wire_put_pad(w);
    size_t start = wire_field_begin(w, id);
    wire_put_bytes(w, body, len);
    wire_field_end(w, start);
}

void wire_get_key_field(struct wire_reader *r, uint16_t id, uint8_t key[WIRE_KEY_SIZE])
{
    struct wire_reader body;
    if (wire_get_fixed(r, id, WIRE_KEY_SIZE, &body))
        wire_get_copy(&body, key, WIRE_KEY_SIZE);
    else
        memset(key, 0, WIRE_KEY_SIZE);
}

void wire_put_key_field(struct wire_writer *w, uint16_t id, const uint8_t key[WIRE_KEY_SIZE])
{
    wire_put_field(w, id, key, WIRE_KEY_SIZE);
}

uint32_t wire_get_acked(struct wire_reader *r)
{
    struct wire_reader body;
    if (!wire_get_fixed(r, WIRE_FIELD_HEADER_ACKED, 4, &body))
        return 0;
    return wire_get_u32(&body);
}

void wire_put_acked(struct wire_writer *w, uint32_t id)
{
    wire_put_pad(w);
    size_t start = wire_field_begin(w, WIRE_FIELD_HEADER_ACKED);
    wire_put_u32(w, id);
    wire_field_end(w, start);
}

uint16_t wire_get_flags(struct wire_reader *r)
{
    struct wire_reader body;
    if (!wire_get_fixed(r, WIRE_FIELD_FLAGS, 2, &body))
        return 0;
    return wire_get_u16(&body);
}

void wire_put_flags(struct wire_writer *w, uint16_t flags)
{
    wire_put_pad(w);
    size_t start = wire_field_begin(w, WIRE_FIELD_FLAGS);
    wire_put_u16(w, flags);
    wire_field_end(w, start);
}

void wire_get_split(struct wire_reader *r, uint16_t *size, uint16_t *offset)
{
    struct wire_reader body;
    *size = *offset = 0;
    if (!wire_get_fixed(r, WIRE_FIELD_SPLIT_CONTROLS, 4, &body))
        return;
    *size = wire_get_u16(&body);
    *offset = wire_get_u16(&body);
    if (*size > WIRE_SPLIT_MAX || *offset % WIRE_FRAGMENT_SIZE != 0 || *offset >= *size)
        wire_fail(r);
}

void wire_put_split(struct wire_writer *w, uint16_t size, uint16_t offset)
{
    wire_put_pad(w);
    size_t start = wire_field_begin(w, WIRE_FIELD_SPLIT_CONTROLS);
    wire_put_u16(w, size);
    wire_put_u16(w, offset);
    wire_field_end(w, start);
}

bool wire_blob_valid(const struct wire_blob *b)
{
    return !b->p || (b->len >= 1 && b->len <= WIRE_MAX_FIELD_BODY);
}

void wire_get_opt_blob(struct wire_reader *r, uint16_t id, struct wire_blob *out)
{
    out->p = NULL;
    out->len = 0;
    if (wire_next_field(r) != id)
        return;
    struct wire_reader body;
    if (!wire_get_var(r, id, 1, &body))
        return;
    out->len = body.len;
    out->p = wire_get_bytes(&body, body.len);
}

void wire_put_opt_blob(struct wire_writer *w, uint16_t id, const struct wire_blob *b)
{
    if (b->p)
        wire_put_field(w, id, b->p, b->len);
}

bool wire_route_valid(const struct wire_route_entry *re)
{
    return re->port >= WIRE_MIN_PORT && re->addr_count >= 1 &&
           re->addr_count <= WIRE_ROUTE_MAX_ADDRS;
}

void wire_get_route_field(struct wire_reader *r, struct wire_route_entry *re)
{
    struct wire_reader body;
    memset(re, 0, sizeof(*re));
    if (!wire_get_var(r, WIRE_FIELD_ROUTING_ENTRY, WIRE_ROUTE_ENTRY_FIXED, &body))
        return;
    wire_get_copy(&body, re->key, WIRE_KEY_SIZE);
    re->version_major = wire_get_u8(&body);
    re->version_minor = wire_get_u8(&body);
    re->port = wire_get_u16(&body);
    (void)wire_get_u8(&body); /* Flags: reserved, ignored on receipt */
    re->addr_count = wire_get_u8(&body);
    if (re->addr_count > WIRE_ROUTE_MAX_ADDRS) {
        wire_fail(r);
        return;
    }
    for (unsigned i = 0; i < re->addr_count; i++)
        wire_get_copy(&body, re->addrs[i], WIRE_IPV6_SIZE);
    end_body(r, &body);
    if (!wire_route_valid(re))
        wire_fail(r);
}

void wire_put_route_field(struct wire_writer *w, const struct wire_route_entry *re)
{
    wire_put_pad(w);
    size_t start = wire_field_begin(w, WIRE_FIELD_ROUTING_ENTRY);
    wire_put_bytes(w, re->key, WIRE_KEY_SIZE);
    wire_put_u8(w, re->version_major);
    wire_put_u8(w, re->version_minor);
    wire_put_u16(w, re->port);
    wire_put_u8(w, 0);
    wire_put_u8(w, re->addr_count);
    for (unsigned i = 0; i < re->addr_count && i < WIRE_ROUTE_MAX_ADDRS; i++)
        wire_put_bytes(w, re->addrs[i], WIRE_IPV6_SIZE);
    wire_field_end(w, start);
}

/*
 * The two arrays share one header after FieldID/Length: NumEntries,
 * ArrayLength (= 8 + NumEntries * EntryLength), ElementFieldType,
 * EntryLength. Returns the entries' bytes, checked against all four.
 */
static const uint8_t *get_array(struct wire_reader *r, uint16_t id, uint16_t elem_type,
                                uint16_t elem_len, unsigned min, unsigned max, uint16_t *count)
{
    struct wire_reader body;
    *count = 0;
    if (!wire_get_var(r, id, 8, &body))
        return NULL;
    uint16_t n = wire_get_u16(&body);
    uint16_t array_len = wire_get_u16(&body);
    uint16_t type = wire_get_u16(&body);
    uint16_t entry_len = wire_get_u16(&body);
    if (n < min || n > max || type != elem_type || entry_len != elem_len ||
        array_len != 8u + (size_t)n * elem_len || body.len != array_len) {
        wire_fail(r);
        return NULL;
    }
    const uint8_t *p = wire_get_bytes(&body, (size_t)n * elem_len);
    end_body(r, &body);
    *count = r->ok ? n : 0;
    return r->ok ? p : NULL;
}

static void put_array(struct wire_writer *w, uint16_t id, uint16_t elem_type, uint16_t elem_len,
                      uint16_t n, size_t *start)
{
    wire_put_pad(w);
    *start = wire_field_begin(w, id);
    wire_put_u16(w, n);
    wire_put_u16(w, (uint16_t)(8u + (size_t)n * elem_len));
    wire_put_u16(w, elem_type);
    wire_put_u16(w, elem_len);
}

bool wire_keys_valid(const struct wire_keys *keys)
{
    return keys->count <= WIRE_KEY_ARRAY_MAX && (keys->count == 0 || keys->keys != NULL);
}

void wire_get_key_array(struct wire_reader *r, struct wire_keys *keys)
{
    keys->keys = get_array(r, WIRE_FIELD_DRT_ID_ARRAY, WIRE_FIELD_DRT_ID, WIRE_KEY_SIZE, 0,
                           WIRE_KEY_ARRAY_MAX, &keys->count);
}

void wire_put_key_array(struct wire_writer *w, const struct wire_keys *keys)
{
    size_t start;
    put_array(w, WIRE_FIELD_DRT_ID_ARRAY, WIRE_FIELD_DRT_ID, WIRE_KEY_SIZE, keys->count, &start);
    wire_put_bytes(w, keys->keys, (size_t)keys->count * WIRE_KEY_SIZE);
    wire_field_end(w, start);
}

bool wire_endpoints_valid(const struct wire_endpoints *eps)
{
    if (eps->count < 1 || eps->count > WIRE_ENDPOINTS_MAX)
        return false;
    for (unsigned i = 0; i < eps->count; i++)
        if (eps->e[i].port < WIRE_MIN_PORT)
            return false;
    return true;
}

void wire_get_endpoints(struct wire_reader *r, struct wire_endpoints *eps)
{
    uint16_t n;
    memset(eps, 0, sizeof(*eps));
    const uint8_t *p = get_array(r, WIRE_FIELD_IPV6_ENDPOINT_ARRAY, WIRE_FIELD_IPV6_ENDPOINT,
                                 WIRE_ENDPOINT_SIZE, 1, WIRE_ENDPOINTS_MAX, &n);
    if (!p)
        return;
    struct wire_reader list;
    wire_reader_init(&list, p, (size_t)n * WIRE_ENDPOINT_SIZE);
    for (unsigned i = 0; i < n; i++) {
        eps->e[i].port = wire_get_u16(&list);
        wire_get_copy(&list, eps->e[i].addr, WIRE_IPV6_SIZE);
    }
    eps->count = (uint8_t)n;
    if (!wire_endpoints_valid(eps))
        wire_fail(r);
}

void wire_put_endpoints(struct wire_writer *w, const struct wire_endpoints *eps)
{
    size_t start;
    uint8_t n = eps->count <= WIRE_ENDPOINTS_MAX ? eps->count : WIRE_ENDPOINTS_MAX;
    put_array(w, WIRE_FIELD_IPV6_ENDPOINT_ARRAY, WIRE_FIELD_IPV6_ENDPOINT, WIRE_ENDPOINT_SIZE, n,
              &start);
    for (unsigned i = 0; i < n; i++) {
        wire_put_u16(w, eps->e[i].port);
        wire_put_bytes(w, eps->e[i].addr, WIRE_IPV6_SIZE);
    }
    wire_field_end(w, start);
}

void wire_get_auth(struct wire_reader *r, struct wire_auth *auth)
{
    wire_get_opt_blob(r, WIRE_FIELD_CREDENTIAL, &auth->credential);
    wire_get_opt_blob(r, WIRE_FIELD_SIGNATURE, &auth->signature);
    wire_get_opt_blob(r, WIRE_FIELD_KEY_IDENTIFIER, &auth->key_identifier);
}

void wire_put_auth(struct wire_writer *w, const struct wire_auth *auth)
{
    wire_put_opt_blob(w, WIRE_FIELD_CREDENTIAL, &auth->credential);
    wire_put_opt_blob(w, WIRE_FIELD_SIGNATURE, &auth->signature);
    wire_put_opt_blob(w, WIRE_FIELD_KEY_IDENTIFIER, &auth->key_identifier);
}

bool wire_auth_valid(const struct wire_auth *a)
{
    return wire_blob_valid(&a->credential) && wire_blob_valid(&a->signature) &&
           wire_blob_valid(&a->key_identifier);
}
