/*
 * sec_buf.c - bounded big-endian reading and writing (sec_buf.h).
 */
#include <string.h>

#include "sec/sec_buf.h"

void sec_reader_init(struct sec_reader *r, const uint8_t *p, size_t len)
{
    *r = (struct sec_reader){p, p ? len : 0, 0, p != NULL || len == 0};
}

const uint8_t *sec_get_bytes(struct sec_reader *r, size_t n)
{
    if (!r->ok || n > r->len - r->pos) {
        r->ok = false;
        return NULL;
    }
    const uint8_t *at = r->p + r->pos;
    r->pos += n;
    return at;
}

uint8_t sec_get_u8(struct sec_reader *r)
{
    const uint8_t *b = sec_get_bytes(r, 1);
    return b ? b[0] : 0;
}

uint16_t sec_get_u16(struct sec_reader *r)
{
    const uint8_t *b = sec_get_bytes(r, 2);
    return b ? (uint16_t)((b[0] << 8) | b[1]) : 0;
}

uint32_t sec_get_u32(struct sec_reader *r)
{
    const uint8_t *b = sec_get_bytes(r, 4);
    return b ? ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3]
             : 0;
}

bool sec_reader_done(const struct sec_reader *r)
{
    return r->ok && r->pos == r->len;
}

void sec_writer_init(struct sec_writer *w, uint8_t *p, size_t cap)
{
    *w = (struct sec_writer){p, p ? cap : 0, 0, true};
}

void sec_put_bytes(struct sec_writer *w, const void *src, size_t n)
{
    if (!w->ok)
        return;
    if (w->p) {
        if (n > w->cap - w->pos) {
            w->ok = false;
            return;
        }
        if (n)
            memcpy(w->p + w->pos, src, n);
    }
    w->pos += n;
}

void sec_put_u8(struct sec_writer *w, uint8_t v)
{
    sec_put_bytes(w, &v, 1);
}

void sec_put_u16(struct sec_writer *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    sec_put_bytes(w, b, 2);
}

void sec_put_u32(struct sec_writer *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    sec_put_bytes(w, b, 4);
}
