/*
 * kmrpc_wire.h - the framed messages of the key-manager socket: a process
 * opens an engine session in another process (the one that runs the
 * keying engine) over a Unix stream socket, registers key managers, and
 * answers their callbacks (docs/KEYING.md §10 has the byte layout).
 *
 * Sans-I/O: bytes in, bytes out. Every frame is
 *   length (4) | type (1) | reserved (3) = 0 | call id (4) | body
 * big-endian, length counting the bytes after itself (8..KMRPC_MAX_FRAME).
 * Decoders are strict: a body whose size, counts, flags or reserved bytes
 * are not exactly what its type allows is refused whole (false), and every
 * read is bounds-checked by the sticky cursor of core/wire_buf.h.
 */
#ifndef DRT_IPSEC_KMRPC_WIRE_H
#define DRT_IPSEC_KMRPC_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <fwpmu.h>

#include "core/wire_buf.h"
#include "ipsec/esp.h"
#include "ipsec/neg_keymgr.h"

#define KMRPC_VERSION     1u
#define KMRPC_HEADER_SIZE 12u
/* The largest frame either side accepts: a key-manager list of 1024
 * entries with two 1024-character names each fits. */
#define KMRPC_MAX_FRAME   (16u * 1024u * 1024u)
/* The largest request the engine's side buffers from a client. */
#define KMRPC_MAX_REQUEST (256u * 1024u)
/* Display strings travel up to the engine's default cap (longer ones are
 * refused by the client with FWP_E_INVALID_PARAMETER before sending). */
#define KMRPC_MAX_CHARS   1024u
#define KMRPC_NULL_STRING 0xFFFFu
/* A dictated key blob travels only up to this size; a larger one is sent
 * as its size alone (the engine refuses it anyway). */
#define KMRPC_MAX_BLOB    64u
#define KMRPC_MAX_LIST    4096u
#define KMRPC_MAX_ACL     65535u

enum kmrpc_type {
    /* client -> engine: API calls, each answered by one KMRPC_REPLY */
    KMRPC_OPEN = 0x01,
    KMRPC_CLOSE = 0x02,
    KMRPC_TXN_BEGIN = 0x03,
    KMRPC_TXN_COMMIT = 0x04,
    KMRPC_TXN_ABORT = 0x05,
    KMRPC_KM_ADD = 0x06,
    KMRPC_KM_REMOVE = 0x07,
    KMRPC_KM_LIST = 0x08,
    KMRPC_SEC_GET = 0x09,
    KMRPC_SEC_SET = 0x0A,
    /* client -> engine: answers to callbacks (same call id) */
    KMRPC_CHECK_REPLY = 0x21,
    KMRPC_DICTATE_REPLY = 0x22,
    /* engine -> client */
    KMRPC_REPLY = 0x81,
    KMRPC_CHECK = 0x82,   /* keyDictationCheck, answered by CHECK_REPLY */
    KMRPC_DICTATE = 0x83, /* keyDictation, answered by DICTATE_REPLY */
    KMRPC_NOTIFY = 0x84,  /* keyNotify, never answered */
};

/* Which callbacks a registration has (KM_ADD). */
#define KMRPC_CB_CHECK   0x01u
#define KMRPC_CB_DICTATE 0x02u
#define KMRPC_CB_NOTIFY  0x04u

/* A display string decoded in place: NULL, or up to KMRPC_MAX_CHARS code
 * units, none of them 0, NUL-terminated. */
struct kmrpc_str {
    bool present;
    wchar_t s[KMRPC_MAX_CHARS + 1];
};

struct kmrpc_open {
    UINT32 flags;
    UINT32 txn_wait_ms;
    GUID key;
    struct kmrpc_str name, desc;
};

struct kmrpc_km_add {
    GUID key;
    UINT32 flags;
    UINT8 hint;
    uint8_t callbacks; /* KMRPC_CB_* */
    struct kmrpc_str name, desc;
};

/* SEC_SET: each part absent or its bytes (SIDs up to sizeof(SID), ACLs up
 * to KMRPC_MAX_ACL), pointing into the frame. */
struct kmrpc_part {
    bool present;
    const uint8_t *bytes;
    uint32_t len;
};

struct kmrpc_sec_set {
    bool reserved;
    UINT32 info;
    struct kmrpc_part owner, group, dacl, sacl;
};

/* REPLY: the call's DWORD, a handle (OPEN, KM_ADD) and data (KM_LIST:
 * the entries; SEC_GET: the self-relative descriptor), in the frame. */
struct kmrpc_reply {
    DWORD status;
    uint64_t value;
    const uint8_t *data;
    uint32_t data_len;
};

/* CHECK, DICTATE and NOTIFY: the registration's engine handle and the SA
 * (neg_sa_view_init rebuilds IPSEC_SA_DETAILS1 from these). */
struct kmrpc_callback {
    uint64_t registration;
    struct neg_sa_params sa;
    uint32_t in_spi, out_spi;
    uint8_t keys_in[ESP_KEYMAT_SIZE], keys_out[ESP_KEYMAT_SIZE]; /* NOTIFY */
};

/* One slot of a dictated SA: its size and, when not over KMRPC_MAX_BLOB
 * and not NULL, its bytes. */
struct kmrpc_blob {
    uint32_t size;
    bool has_data;
    uint8_t data[KMRPC_MAX_BLOB];
};

/* in cipher, in auth, out cipher, out auth */
struct kmrpc_dictate_reply {
    DWORD status;
    bool gen;
    struct kmrpc_blob blobs[4];
};

/* A growable frame being written. ok turns false on allocation failure or
 * when the frame would pass KMRPC_MAX_FRAME; the frame is then dropped. */
struct kmrpc_out {
    uint8_t *p;
    size_t len, cap;
    bool ok;
};

void kmrpc_begin(struct kmrpc_out *o, uint8_t type, uint32_t id);
/* Fills in the length; false when the frame is not valid (then freed). */
bool kmrpc_end(struct kmrpc_out *o);
void kmrpc_out_free(struct kmrpc_out *o);
void kmrpc_put_u8(struct kmrpc_out *o, uint8_t v);
void kmrpc_put_u32(struct kmrpc_out *o, uint32_t v);
void kmrpc_put_u64(struct kmrpc_out *o, uint64_t v);
void kmrpc_put_bytes(struct kmrpc_out *o, const void *p, size_t n);
/* s NULL: the NULL marker; longer than KMRPC_MAX_CHARS fails the frame. */
void kmrpc_put_str(struct kmrpc_out *o, const wchar_t *s);
void kmrpc_put_guid(struct kmrpc_out *o, const GUID *g);
void kmrpc_put_sa(struct kmrpc_out *o, const struct neg_sa_params *sa);

/* The body length a frame header announces, from its first 4 bytes. */
uint32_t kmrpc_frame_length(const uint8_t hdr[4]);

/* Splits a whole frame (header included) into type, id and a reader over
 * the body. False when the length field disagrees with len, is out of
 * range, or a reserved byte is set. */
bool kmrpc_frame_parse(const uint8_t *frame, size_t len, uint8_t *type, uint32_t *id,
                       struct wire_reader *body);
/* The body of an answer held for the call that waits for it: false unless
 * the frame parses and is of the type that call expects. */
bool kmrpc_frame_body(const uint8_t *frame, size_t len, uint8_t want_type,
                      struct wire_reader *body);

bool kmrpc_get_open(struct wire_reader *r, struct kmrpc_open *m);
bool kmrpc_get_u32_body(struct wire_reader *r, uint32_t *v);  /* TXN_BEGIN */
bool kmrpc_get_u64_body(struct wire_reader *r, uint64_t *v);  /* KM_REMOVE */
bool kmrpc_get_km_add(struct wire_reader *r, struct kmrpc_km_add *m);
bool kmrpc_get_sec_get(struct wire_reader *r, bool *reserved, UINT32 *info);
bool kmrpc_get_sec_set(struct wire_reader *r, struct kmrpc_sec_set *m);
bool kmrpc_get_check_reply(struct wire_reader *r, bool *will, uint32_t *weight);
bool kmrpc_get_dictate_reply(struct wire_reader *r, struct kmrpc_dictate_reply *m);
bool kmrpc_get_reply(struct wire_reader *r, struct kmrpc_reply *m);
/* CHECK carries no SPIs and no keys; DICTATE no keys. */
bool kmrpc_get_callback(struct wire_reader *r, uint8_t type, struct kmrpc_callback *m);

/* KM_LIST data: count (4) then entries. The list decodes into one block
 * laid out as IPsecKeyManagersGet0 returns it (one free()); false for any
 * malformed entry. No entries: *entries NULL, *n 0. */
void kmrpc_put_list_entry(struct kmrpc_out *o, const IPSEC_KEY_MANAGER0 *km);
bool kmrpc_get_list(const uint8_t *data, size_t len, IPSEC_KEY_MANAGER0 ***entries, UINT32 *n,
                    bool *oom);

/* The byte length of a self-relative descriptor the engine built (its
 * parts follow the header; trusted input). */
size_t kmrpc_sd_length(const void *sd);
/* Checks a self-relative descriptor received from the engine (every
 * offset and size inside len, SIDs and ACLs well formed) and points the
 * optional outputs at its parts; false when malformed. */
bool kmrpc_sd_parts(const uint8_t *sd, size_t len, PSID *owner, PSID *group, PACL *dacl,
                    PACL *sacl);

#endif
