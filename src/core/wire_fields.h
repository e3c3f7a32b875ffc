/*
 * wire_fields.h - the fields and structures messages are built from
 * (§2.2, §2.2.3), each as a get/put pair over the sticky cursors of
 * wire_buf.h.
 *
 * Alignment rule (docs/PROTOCOL.md): every field starts at a multiple of 4
 * bytes from the start of the message; the 0..3 bytes before it are
 * padding. The getters skip that padding before a field, the putters write
 * it, so no message code has to think about it.
 */
#ifndef DRT_CORE_WIRE_FIELDS_H
#define DRT_CORE_WIRE_FIELDS_H

#include "core/wire.h"
#include "core/wire_buf.h"

/* A field's Length is 16 bits and counts its 4-byte header. */
#define WIRE_MAX_FIELD_BODY (0xFFFFu - 4u)

/* The next field's id after any padding, or 0 at the end of the input. */
uint16_t wire_next_field(struct wire_reader *r);

/* A field whose Length must be exactly 4 + body_len; body is its contents. */
bool wire_get_fixed(struct wire_reader *r, uint16_t id, size_t body_len,
                    struct wire_reader *body);
/* A field of any length >= 4 + min_len. */
bool wire_get_var(struct wire_reader *r, uint16_t id, size_t min_len, struct wire_reader *body);

/* Field header + body in one go (body may be NULL when len is 0). */
void wire_put_field(struct wire_writer *w, uint16_t id, const void *body, size_t len);

/* Fields carrying one value. */
void wire_get_key_field(struct wire_reader *r, uint16_t id, uint8_t key[WIRE_KEY_SIZE]);
void wire_put_key_field(struct wire_writer *w, uint16_t id, const uint8_t key[WIRE_KEY_SIZE]);
uint32_t wire_get_acked(struct wire_reader *r);
void wire_put_acked(struct wire_writer *w, uint32_t id);
/* FLAGS_FIELD: Length 6, a 16-bit word. */
uint16_t wire_get_flags(struct wire_reader *r);
void wire_put_flags(struct wire_writer *w, uint16_t flags);
void wire_get_split(struct wire_reader *r, uint16_t *size, uint16_t *offset);
void wire_put_split(struct wire_writer *w, uint16_t size, uint16_t offset);

/* Optional blob field: present when the next field id is `id`; a present
 * field must hold at least one byte. */
void wire_get_opt_blob(struct wire_reader *r, uint16_t id, struct wire_blob *out);
void wire_put_opt_blob(struct wire_writer *w, uint16_t id, const struct wire_blob *b);
/* Absent, or 1..WIRE_MAX_FIELD_BODY bytes. */
bool wire_blob_valid(const struct wire_blob *b);

/* ROUTING_ENTRY field around a §2.2.3.3 ROUTE_ENTRY. */
void wire_get_route_field(struct wire_reader *r, struct wire_route_entry *re);
void wire_put_route_field(struct wire_writer *w, const struct wire_route_entry *re);
bool wire_route_valid(const struct wire_route_entry *re);

/* DRT_ID_ARRAY of 0..WIRE_KEY_ARRAY_MAX keys. */
void wire_get_key_array(struct wire_reader *r, struct wire_keys *keys);
void wire_put_key_array(struct wire_writer *w, const struct wire_keys *keys);
bool wire_keys_valid(const struct wire_keys *keys);

/* IPV6_ENDPOINT_ARRAY of 1..22 endpoints. */
void wire_get_endpoints(struct wire_reader *r, struct wire_endpoints *eps);
void wire_put_endpoints(struct wire_writer *w, const struct wire_endpoints *eps);
bool wire_endpoints_valid(const struct wire_endpoints *eps);

/* The optional CREDENTIAL, SIGNATURE, KEY_IDENTIFIER trio. */
void wire_get_auth(struct wire_reader *r, struct wire_auth *auth);
void wire_put_auth(struct wire_writer *w, const struct wire_auth *auth);
bool wire_auth_valid(const struct wire_auth *auth);

/* REQUEST body (NONCE onwards): shared by whole and fragmented REQUESTs. */
struct wire_request;
void wire_put_request_body(struct wire_writer *w, const struct wire_request *q);

#endif
