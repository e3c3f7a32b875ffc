/* wire_buf.c - bounds-checked cursors; see wire_buf.h for the sticky-error
 * contract every function here keeps. */
#include "core/wire_buf.h"

#include <string.h>

void wire_reader_init(struct wire_reader *r, const uint8_t *buf, size_t len)
{
    r->base = buf;
    r->len = buf ? len : 0;
    r->pos = 0;
    r->msg_offset = 0;
    r->ok = true;
}

size_t wire_left(const struct wire_reader *r)
{
    return r->ok ? r->len - r->pos : 0;
}

bool wire_done(const struct wire_reader *r)
{
    return r->ok && r->pos == r->len;
}

void wire_fail(struct wire_reader *r)
{
    r->ok = false;
}

/* The one place a read is bounds-checked: everything else goes through it. */
static const uint8_t *take(struct wire_reader *r, size_t n)
{
    if (!r->ok || r->len - r->pos < n) {
        r->ok = false;
        return NULL;
    }
    const uint8_t *p = r->base + r->pos;
    r->pos += n;
    return p;
}

uint8_t wire_get_u8(struct wire_reader *r)
{
    const uint8_t *p = take(r, 1);
    return p ? p[0] : 0;
}

uint16_t wire_get_u16(struct wire_reader *r)
{
    const uint8_t *p = take(r, 2);
    return p ? (uint16_t)((p[0] << 8) | p[1]) : 0;
}

uint16_t wire_get_u16_le(struct wire_reader *r)
{
    const uint8_t *p = take(r, 2);
    return p ? (uint16_t)((p[1] << 8) | p[0]) : 0;
}

uint32_t wire_get_u32(struct wire_reader *r)
{
    const uint8_t *p = take(r, 4);
    if (!p)
        return 0;
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

const uint8_t *wire_get_bytes(struct wire_reader *r, size_t n)
{
    return take(r, n);
}

void wire_get_copy(struct wire_reader *r, void *out, size_t n)
{
    const uint8_t *p = take(r, n);
    if (p)
        memcpy(out, p, n);
    else if (n)
        memset(out, 0, n);
}

uint16_t wire_peek_u16(const struct wire_reader *r)
{
    if (!r->ok || r->len - r->pos < 2)
        return 0;
    return (uint16_t)((r->base[r->pos] << 8) | r->base[r->pos + 1]);
}

void wire_skip_pad(struct wire_reader *r)
{
    size_t at = r->msg_offset + r->pos;
    size_t pad = (4 - (at & 3)) & 3;
    /* A message may end right after its last field without the padding. */
    if (pad > wire_left(r))
        pad = wire_left(r);
    take(r, pad);
}

bool wire_get_field(struct wire_reader *r, uint16_t id, struct wire_reader *body)
{
    size_t start = r->msg_offset + r->pos;
    uint16_t got = wire_get_u16(r);
    uint16_t length = wire_get_u16(r);
    if (r->ok && (got != id || length < 4))
        r->ok = false;
    const uint8_t *p = take(r, r->ok ? (size_t)length - 4 : 0);
    wire_reader_init(body, p, r->ok ? (size_t)length - 4 : 0);
    body->msg_offset = start + 4;
    body->ok = r->ok;
    return r->ok;
}

void wire_writer_init(struct wire_writer *w, uint8_t *buf, size_t cap)
{
    w->base = buf;
    w->cap = buf ? cap : 0;
    w->pos = 0;
    w->ok = true;
}

static uint8_t *room(struct wire_writer *w, size_t n)
{
    if (!w->ok || w->cap - w->pos < n) {
        w->ok = false;
        return NULL;
    }
    uint8_t *p = w->base + w->pos;
    w->pos += n;
    return p;
}

void wire_put_u8(struct wire_writer *w, uint8_t v)
{
    uint8_t *p = room(w, 1);
    if (p)
        p[0] = v;
}

void wire_put_u16(struct wire_writer *w, uint16_t v)
{
    uint8_t *p = room(w, 2);
    if (p) {
        p[0] = (uint8_t)(v >> 8);
        p[1] = (uint8_t)v;
    }
}

void wire_put_u16_le(struct wire_writer *w, uint16_t v)
{
    uint8_t *p = room(w, 2);
    if (p) {
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
    }
}

void wire_put_u32(struct wire_writer *w, uint32_t v)
{
    uint8_t *p = room(w, 4);
    if (p) {
        p[0] = (uint8_t)(v >> 24);
        p[1] = (uint8_t)(v >> 16);
        p[2] = (uint8_t)(v >> 8);
        p[3] = (uint8_t)v;
    }
}

void wire_put_bytes(struct wire_writer *w, const void *src, size_t n)
{
    uint8_t *p = room(w, n);
    if (p && n)
        memcpy(p, src, n);
}

void wire_put_zeros(struct wire_writer *w, size_t n)
{
    uint8_t *p = room(w, n);
    if (p && n)
        memset(p, 0, n);
}

void wire_put_pad(struct wire_writer *w)
{
    wire_put_zeros(w, (4 - (w->pos & 3)) & 3);
}

size_t wire_field_begin(struct wire_writer *w, uint16_t id)
{
    size_t start = w->pos;
    wire_put_u16(w, id);
    wire_put_u16(w, 0);
    return start;
}

void wire_field_end(struct wire_writer *w, size_t start)
{
    if (!w->ok)
        return;
    size_t length = w->pos - start;
    if (length > 0xFFFF) {
        w->ok = false;
        return;
    }
    w->base[start + 2] = (uint8_t)(length >> 8);
    w->base[start + 3] = (uint8_t)length;
}
