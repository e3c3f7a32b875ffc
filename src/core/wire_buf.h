/*
 * wire_buf.h - bounds-checked cursors over a datagram.
 *
 * Both cursors are "sticky": the first read past the end (or write past the
 * capacity) clears `ok`, later calls do nothing and return zeros, and the
 * caller checks `ok` once at the end. A parser therefore has one error
 * check per structure instead of one per byte, and no path through it can
 * touch memory outside [base, base + len).
 *
 * Integers are big-endian (network order) unless the name says _le.
 */
#ifndef DRT_CORE_WIRE_BUF_H
#define DRT_CORE_WIRE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wire_reader {
    const uint8_t *base;
    size_t len;
    size_t pos;
    /* Offset of base from the start of the message: padding rules count
     * from the message start, also inside a field's sub-reader. */
    size_t msg_offset;
    bool ok;
};

struct wire_writer {
    uint8_t *base;
    size_t cap;
    size_t pos;
    bool ok;
};

void wire_reader_init(struct wire_reader *r, const uint8_t *buf, size_t len);
size_t wire_left(const struct wire_reader *r);
/* True when every byte was consumed and nothing failed. */
bool wire_done(const struct wire_reader *r);
/* Marks the reader failed: for semantic checks (a bad constant, a count out
 * of range) so that they share the one error path. */
void wire_fail(struct wire_reader *r);

uint8_t wire_get_u8(struct wire_reader *r);
uint16_t wire_get_u16(struct wire_reader *r);
uint16_t wire_get_u16_le(struct wire_reader *r);
uint32_t wire_get_u32(struct wire_reader *r);
/* n bytes in place, or NULL (reader failed) when fewer are left. */
const uint8_t *wire_get_bytes(struct wire_reader *r, size_t n);
/* Copies n bytes to out; zeros out when fewer are left. */
void wire_get_copy(struct wire_reader *r, void *out, size_t n);
/* The next FieldID without consuming it, or 0 when fewer than 2 bytes are
 * left (0 is no FieldID of [MC-DRT], so "absent" needs no second flag). */
uint16_t wire_peek_u16(const struct wire_reader *r);
/* Skips the 0..3 bytes that bring the message offset to a multiple of 4.
 * Their value is ignored, as the spec requires of receivers. */
void wire_skip_pad(struct wire_reader *r);

/*
 * Reads a field header "FieldID | Length" and sets body to a sub-reader over
 * the Length - 4 bytes that follow, which the parent skips. Fails when the
 * id differs from `id`, Length < 4, or Length overruns the input.
 */
bool wire_get_field(struct wire_reader *r, uint16_t id, struct wire_reader *body);

void wire_writer_init(struct wire_writer *w, uint8_t *buf, size_t cap);
void wire_put_u8(struct wire_writer *w, uint8_t v);
void wire_put_u16(struct wire_writer *w, uint16_t v);
void wire_put_u16_le(struct wire_writer *w, uint16_t v);
void wire_put_u32(struct wire_writer *w, uint32_t v);
void wire_put_bytes(struct wire_writer *w, const void *p, size_t n);
void wire_put_zeros(struct wire_writer *w, size_t n);
/* Zero bytes up to the next multiple of 4 from the start of the message. */
void wire_put_pad(struct wire_writer *w);

/* Starts a field: writes FieldID and a Length placeholder, returns the
 * offset to give wire_field_end(), which fills Length in (header included)
 * and fails the writer if it exceeds 0xFFFF. */
size_t wire_field_begin(struct wire_writer *w, uint16_t id);
void wire_field_end(struct wire_writer *w, size_t start);

#endif
