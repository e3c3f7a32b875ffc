/*
 * sec_buf.h - bounded big-endian reading and writing for the security
 * layer's formats (docs/SECURITY.md). A reader that runs short stays failed
 * and hands out zeros, so a parser checks `ok` once at the end instead of
 * after every field. A writer with no buffer only counts, which sizes an
 * encoding before it is allocated.
 */
#ifndef DRT_SEC_BUF_H
#define DRT_SEC_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sec_reader {
    const uint8_t *p;
    size_t len;
    size_t pos;
    bool ok;
};

struct sec_writer {
    uint8_t *p; /* NULL: count only */
    size_t cap;
    size_t pos;
    bool ok;
};

void sec_reader_init(struct sec_reader *r, const uint8_t *p, size_t len);
/* The next n bytes, or NULL (and the reader failed) when fewer remain. */
const uint8_t *sec_get_bytes(struct sec_reader *r, size_t n);
uint8_t sec_get_u8(struct sec_reader *r);
uint16_t sec_get_u16(struct sec_reader *r);
uint32_t sec_get_u32(struct sec_reader *r);
/* True when the reader never ran short and consumed every byte. */
bool sec_reader_done(const struct sec_reader *r);

void sec_writer_init(struct sec_writer *w, uint8_t *p, size_t cap);
void sec_put_bytes(struct sec_writer *w, const void *src, size_t n);
void sec_put_u8(struct sec_writer *w, uint8_t v);
void sec_put_u16(struct sec_writer *w, uint16_t v);
void sec_put_u32(struct sec_writer *w, uint32_t v);

#endif
