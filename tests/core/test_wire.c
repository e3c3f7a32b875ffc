/*
 * test_wire.c - the [MC-DRT] codec: the byte-exact vectors (decode, encode,
 * and the copy in docs/PROTOCOL.md), every decoder rule with one failing
 * input each, every encoder error, truncation and mutation sweeps, and
 * SPLIT_CONTROLS fragmentation through the reassembler.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/reassembly.h"
#include "core/wire.h"
#include "test_wire_vectors.h"

#define MAX_MSG 4096

/* --- helpers ------------------------------------------------------------ */

struct bytes {
    uint8_t b[MAX_MSG];
    size_t len;
};

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Hex digits to bytes; anything else between digit pairs is ignored. */
static struct bytes unhex(const char *hex)
{
    struct bytes out = {{0}, 0};
    int hi = -1;
    for (const char *p = hex; *p; p++) {
        int v = hexval(*p);
        if (v < 0)
            continue;
        if (hi < 0) {
            hi = v;
        } else {
            assert_true(out.len < MAX_MSG);
            out.b[out.len++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    assert_int_equal(hi, -1);
    return out;
}

static void seq(uint8_t *out, uint8_t first, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(first + i);
}

static const uint8_t LOOPBACK6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t DOC6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

static void route_k1(struct wire_route_entry *re)
{
    memset(re, 0, sizeof(*re));
    seq(re->key, 0x00, 32);
    re->version_major = 1;
    re->port = 3540;
    re->addr_count = 1;
    memcpy(re->addrs[0], LOOPBACK6, 16);
}

static void header(struct wire_msg *m, uint8_t type)
{
    memset(m, 0, sizeof(*m));
    m->hdr.version_major = 1;
    m->hdr.version_minor = 0;
    m->hdr.type = type;
    m->hdr.message_id = 0x0a0b0c0d;
}

static void assert_encodes_to(const struct wire_msg *m, const char *vec)
{
    struct bytes want = unhex(vec);
    uint8_t got[MAX_MSG];
    size_t len = 0;
    assert_int_equal(wire_encode(m, got, sizeof(got), &len), S_OK);
    assert_int_equal(len, want.len);
    assert_memory_equal(got, want.b, len);
}

static struct wire_msg decode_ok(const struct bytes *in)
{
    struct wire_msg m;
    assert_int_equal(wire_decode(in->b, in->len, &m), S_OK);
    return m;
}

static void assert_invalid(const struct bytes *in)
{
    struct wire_msg m;
    assert_int_equal(wire_decode(in->b, in->len, &m), DRT_E_INVALID_MESSAGE);
}

static void assert_route_k1(const struct wire_route_entry *re)
{
    uint8_t k1[32];
    seq(k1, 0x00, 32);
    assert_memory_equal(re->key, k1, 32);
    assert_int_equal(re->version_major, 1);
    assert_int_equal(re->version_minor, 0);
    assert_int_equal(re->port, 3540);
    assert_int_equal(re->addr_count, 1);
    assert_memory_equal(re->addrs[0], LOOPBACK6, 16);
}

/* --- the vectors, decoded and encoded ------------------------------------ */

static void test_vector_solicit(void **state)
{
    (void)state;
    struct bytes in = unhex(VEC_SOLICIT);
    struct wire_msg m = decode_ok(&in);
    assert_int_equal(m.hdr.type, WIRE_SOLICIT);
    assert_int_equal(m.hdr.message_id, 0x0a0b0c0d);
    assert_int_equal(m.hdr.version_major, 1);
    assert_true(m.u.solicit.has_route);
    assert_route_k1(&m.u.solicit.route);
    uint8_t hn[20];
    seq(hn, 0xc0, 20);
    assert_memory_equal(m.u.solicit.hashed_nonce, hn, 20);

    struct wire_msg e;
    header(&e, WIRE_SOLICIT);
    e.u.solicit.has_route = true;
    route_k1(&e.u.solicit.route);
    memcpy(e.u.solicit.hashed_nonce, hn, 20);
    assert_encodes_to(&e, VEC_SOLICIT);
}

static void test_vector_advertise(void **state)
{
    (void)state;
    struct bytes in = unhex(VEC_ADVERTISE);
    struct wire_msg m = decode_ok(&in);
    assert_int_equal(m.hdr.type, WIRE_ADVERTISE);
    assert_int_equal(m.u.advertise.acked_id, 0x0a0b0c0c);
    assert_int_equal(m.u.advertise.keys.count, 2);
    uint8_t keys[64];
    seq(keys, 0x00, 64); /* K1 then K2 */
    assert_memory_equal(m.u.advertise.keys.keys, keys, 64);

    struct wire_msg e;
    header(&e, WIRE_ADVERTISE);
    e.u.advertise.acked_id = 0x0a0b0c0c;
    e.u.advertise.keys.keys = keys;
    e.u.advertise.keys.count = 2;
    seq(e.u.advertise.hashed_nonce, 0xc0, 20);
    assert_encodes_to(&e, VEC_ADVERTISE);
}

static void test_vector_request(void **state)
{
    (void)state;
    struct bytes in = unhex(VEC_REQUEST);
    struct wire_msg m = decode_ok(&in);
    assert_int_equal(m.hdr.type, WIRE_REQUEST);
    assert_false(m.u.request.has_split);
    assert_null(m.u.request.fragment.p);
    assert_int_equal(m.u.request.keys.count, 1);
    assert_null(m.u.request.auth.credential.p);

    uint8_t k2[32];
    seq(k2, 0x20, 32);
    struct wire_msg e;
    header(&e, WIRE_REQUEST);
    seq(e.u.request.nonce, 0xe0, 16);
    e.u.request.keys.keys = k2;
    e.u.request.keys.count = 1;
    assert_encodes_to(&e, VEC_REQUEST);
}

static void test_vector_request_membership(void **state)
{
    (void)state;
    struct bytes in = unhex(VEC_REQUEST_MEMBERSHIP);
    struct wire_msg m = decode_ok(&in);
    assert_true(m.u.request.has_split);
    assert_int_equal(m.u.request.split_size, 80);
    assert_int_equal(m.u.request.split_offset, 0);
    assert_null(m.u.request.fragment.p);
    assert_int_equal(m.u.request.auth.credential.len, 3);
    assert_memory_equal(m.u.request.auth.credential.p, "crt", 3);
    assert_int_equal(m.u.request.auth.signature.len, 4);
    assert_memory_equal(m.u.request.auth.signature.p, "sig!", 4);
    assert_null(m.u.request.auth.key_identifier.p);

    uint8_t k2[32];
    seq(k2, 0x20, 32);
    struct wire_msg e;
    header(&e, WIRE_REQUEST);
    e.u.request.has_split = true;
    seq(e.u.request.nonce, 0xe0, 16);
    e.u.request.keys.keys = k2;
    e.u.request.keys.count = 1;
    e.u.request.auth.credential = (struct wire_blob){(const uint8_t *)"crt", 3};
    e.u.request.auth.signature = (struct wire_blob){(const uint8_t *)"sig!", 4};
    assert_encodes_to(&e, VEC_REQUEST_MEMBERSHIP);
}

static void test_vector_flood(void **state)
{
    (void)state;
    struct bytes in = unhex(VEC_FLOOD);
    struct wire_msg m = decode_ok(&in);
    assert_int_equal(m.u.flood.flags, WIRE_FLOOD_D);
    uint8_t k2[32];
    seq(k2, 0x20, 32);
    assert_memory_equal(m.u.flood.validate_key, k2, 32);
    assert_null(m.u.flood.keytoken.p);
    assert_null(m.u.flood.revoke_cpa.p);
    assert_true(m.u.flood.has_route);
    assert_route_k1(&m.u.flood.route);
    assert_int_equal(m.u.flood.flooded.count, 1);
    assert_int_equal(m.u.flood.flooded.e[0].port, 3540);
    assert_memory_equal(m.u.flood.flooded.e[0].addr, DOC6, 16);

    struct wire_msg e;
    header(&e, WIRE_FLOOD);
    e.u.flood.flags = WIRE_FLOOD_D;
    memcpy(e.u.flood.validate_key, k2, 32);
    e.u.flood.has_route = true;
    route_k1(&e.u.flood.route);
    e.u.flood.flooded.count = 1;
    e.u.flood.flooded.e[0].port = 3540;
    memcpy(e.u.flood.flooded.e[0].addr, DOC6, 16);
    assert_encodes_to(&e, VEC_FLOOD);
}

static void test_vector_inquire(void **state)
{
    (void)state;
    struct bytes in = unhex(VEC_INQUIRE);
    struct wire_msg m = decode_ok(&in);
    assert_int_equal(m.u.inquire.flags, WIRE_INQUIRE_A | WIRE_INQUIRE_X | WIRE_INQUIRE_C);
    assert_true(m.u.inquire.has_nonce);
    uint8_t nonce[16];
    seq(nonce, 0xe0, 16);
    assert_memory_equal(m.u.inquire.nonce, nonce, 16);

    struct wire_msg e;
    header(&e, WIRE_INQUIRE);
    e.u.inquire.flags = WIRE_INQUIRE_A | WIRE_INQUIRE_X | WIRE_INQUIRE_C;
    seq(e.u.inquire.validate_key, 0x00, 32);
    e.u.inquire.has_nonce = true;
    memcpy(e.u.inquire.nonce, nonce, 16);
    assert_encodes_to(&e, VEC_INQUIRE);
}

static void test_vector_authority_and_buffer(void **state)
{
    (void)state;
    struct bytes in = unhex(VEC_AUTHORITY);
    struct bytes buf = unhex(VEC_AUTHORITY_BUFFER);
    struct wire_msg m = decode_ok(&in);
    assert_int_equal(m.u.authority.acked_id, 0x0a0b0c0c);
    assert_int_equal(m.u.authority.size, buf.len);
    assert_int_equal(m.u.authority.offset, 0);
    assert_int_equal(m.u.authority.fragment.len, buf.len);
    assert_memory_equal(m.u.authority.fragment.p, buf.b, buf.len);

    struct wire_authority_buffer ab;
    assert_int_equal(wire_decode_authority_buffer(buf.b, buf.len, &ab), S_OK);
    assert_int_equal(ab.flags, 0);
    assert_null(ab.cert_chain.p);
    assert_int_equal(ab.payload.len, 5);
    assert_memory_equal(ab.payload.p, "hello", 5);
    assert_true(ab.has_route);
    assert_route_k1(&ab.route);
    assert_int_equal(ab.cpa.len, 4);

    /* Encode the buffer from fields, then wrap it as the one fragment. */
    struct wire_authority_buffer eb;
    memset(&eb, 0, sizeof(eb));
    eb.payload = (struct wire_blob){(const uint8_t *)"hello", 5};
    eb.has_route = true;
    route_k1(&eb.route);
    const uint8_t cpa[4] = {0xc0, 0xff, 0xee, 0x01};
    eb.cpa = (struct wire_blob){cpa, 4};
    uint8_t out[MAX_MSG];
    size_t len;
    assert_int_equal(wire_encode_authority_buffer(&eb, out, sizeof(out), &len), S_OK);
    assert_int_equal(len, buf.len);
    assert_memory_equal(out, buf.b, len);

    struct wire_header h = {1, 0, 0, 0x0a0b0c0d};
    struct wire_msg e;
    assert_int_equal(wire_authority_fragment(&h, 0x0a0b0c0c, out, len, 0, &e), S_OK);
    assert_encodes_to(&e, VEC_AUTHORITY);
}

static void test_vector_ack(void **state)
{
    (void)state;
    struct bytes in = unhex(VEC_ACK);
    struct wire_msg m = decode_ok(&in);
    assert_int_equal(m.u.ack.acked_id, 0x0a0b0c0c);
    assert_true(m.u.ack.has_flags);
    assert_int_equal(m.u.ack.flags, WIRE_ACK_N);

    struct wire_msg e;
    header(&e, WIRE_ACK);
    e.u.ack.acked_id = 0x0a0b0c0c;
    e.u.ack.has_flags = true;
    e.u.ack.flags = WIRE_ACK_N;
    assert_encodes_to(&e, VEC_ACK);

    /* The plain ACK is the first 20 bytes. */
    in.len = 20;
    m = decode_ok(&in);
    assert_false(m.u.ack.has_flags);
}

static void test_vector_lookup(void **state)
{
    (void)state;
    struct bytes in = unhex(VEC_LOOKUP);
    struct wire_msg m = decode_ok(&in);
    const struct wire_lookup *l = &m.u.lookup;
    assert_int_equal(l->flags, WIRE_LOOKUP_A);
    assert_int_equal(l->criteria, WIRE_SEARCH_NEAREST);
    assert_int_equal(l->reason, WIRE_REASON_APP_REQUEST);
    assert_int_equal(l->precision, 0);
    uint8_t k3[32];
    seq(k3, 0x80, 32);
    assert_memory_equal(l->target_key, k3, 32);
    assert_false(l->has_route);
    assert_int_equal(l->path.count, 2);
    assert_int_equal(l->path.e[1].port, 3541);
    assert_memory_equal(l->path.e[1].addr, DOC6, 16);

    struct wire_msg e;
    header(&e, WIRE_LOOKUP);
    struct wire_lookup *w = &e.u.lookup;
    w->flags = WIRE_LOOKUP_A;
    w->criteria = WIRE_SEARCH_NEAREST;
    memcpy(w->target_key, k3, 32);
    seq(w->validate_key, 0x20, 32);
    w->path.count = 2;
    w->path.e[0].port = 3540;
    memcpy(w->path.e[0].addr, LOOPBACK6, 16);
    w->path.e[1].port = 3541;
    memcpy(w->path.e[1].addr, DOC6, 16);
    assert_encodes_to(&e, VEC_LOOKUP);
}

/* --- docs/PROTOCOL.md shows the same bytes --------------------------------- */

static const struct {
    const char *name;
    const char *hex;
} VECTORS[] = {
    {"solicit", VEC_SOLICIT},   {"advertise", VEC_ADVERTISE},
    {"request", VEC_REQUEST},   {"request_membership", VEC_REQUEST_MEMBERSHIP},
    {"flood", VEC_FLOOD},       {"inquire", VEC_INQUIRE},
    {"authority", VEC_AUTHORITY}, {"authority_buffer", VEC_AUTHORITY_BUFFER},
    {"ack", VEC_ACK},           {"lookup", VEC_LOOKUP},
};
#define NVEC (sizeof(VECTORS) / sizeof(VECTORS[0]))

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n > 0 && n < 4 * 1024 * 1024);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = 0;
    fclose(f);
    return s;
}

/* A "```hex NAME" block: its lines' hex up to any '#' comment. */
static bool doc_vector(const char *doc, const char *name, struct bytes *out)
{
    char tag[64];
    snprintf(tag, sizeof(tag), "```hex %s\n", name);
    const char *p = strstr(doc, tag);
    if (!p)
        return false;
    p += strlen(tag);
    const char *end = strstr(p, "```");
    assert_non_null(end);
    char *hex = calloc(1, (size_t)(end - p) + 1);
    assert_non_null(hex);
    size_t n = 0;
    bool comment = false;
    for (; p < end; p++) {
        if (*p == '\n')
            comment = false;
        else if (*p == '#')
            comment = true;
        else if (!comment)
            hex[n++] = *p;
    }
    *out = unhex(hex);
    free(hex);
    return true;
}

static void test_protocol_md_matches(void **state)
{
    (void)state;
    char *doc = read_file(DRT_SOURCE_DIR "/docs/PROTOCOL.md");
    for (size_t i = 0; i < NVEC; i++) {
        struct bytes got, want = unhex(VECTORS[i].hex);
        if (!doc_vector(doc, VECTORS[i].name, &got))
            fail_msg("docs/PROTOCOL.md has no ```hex %s block", VECTORS[i].name);
        if (got.len != want.len || memcmp(got.b, want.b, got.len) != 0)
            fail_msg("docs/PROTOCOL.md vector %s differs from the tested one", VECTORS[i].name);
    }
    free(doc);
}

/* --- sweeps over every vector -------------------------------------------- */

/* Re-encoding a decoded message and decoding that again gives the same
 * message: nothing the decoder accepts is lost or invented. */
static void assert_stable(const struct wire_msg *m)
{
    uint8_t buf[MAX_MSG];
    size_t len;
    struct wire_msg again;
    assert_int_equal(wire_encode(m, buf, sizeof(buf), &len), S_OK);
    assert_int_equal(wire_decode(buf, len, &again), S_OK);
    uint8_t buf2[MAX_MSG];
    size_t len2;
    assert_int_equal(wire_encode(&again, buf2, sizeof(buf2), &len2), S_OK);
    assert_int_equal(len, len2);
    assert_memory_equal(buf, buf2, len);
}

static void test_every_prefix(void **state)
{
    (void)state;
    for (size_t i = 0; i < NVEC; i++) {
        if (strcmp(VECTORS[i].name, "authority_buffer") == 0)
            continue;
        struct bytes full = unhex(VECTORS[i].hex);
        for (size_t n = 0; n < full.len; n++) {
            struct wire_msg m;
            /* A fresh copy of exactly n bytes, so ASan sees any overread. */
            uint8_t *p = malloc(n ? n : 1);
            assert_non_null(p);
            memcpy(p, full.b, n);
            HRESULT hr = wire_decode(p, n, &m);
            /* Only a prefix ending where the rest is optional may decode. */
            if (hr == S_OK)
                assert_stable(&m);
            else
                assert_int_equal(hr, DRT_E_INVALID_MESSAGE);
            free(p);
        }
    }
}

static void test_prefixes_of_mandatory_endings_fail(void **state)
{
    (void)state;
    /* These vectors end in a mandatory field, so every prefix is invalid. */
    const char *strict[] = {VEC_SOLICIT, VEC_ADVERTISE, VEC_REQUEST, VEC_INQUIRE,
                            VEC_AUTHORITY, VEC_LOOKUP};
    for (size_t i = 0; i < sizeof(strict) / sizeof(strict[0]); i++) {
        struct bytes full = unhex(strict[i]);
        for (size_t n = 0; n < full.len; n++) {
            struct wire_msg m;
            assert_int_equal(wire_decode(full.b, n, &m), DRT_E_INVALID_MESSAGE);
        }
    }
}

static void test_every_bit_flip(void **state)
{
    (void)state;
    size_t accepted = 0, rejected = 0;
    for (size_t i = 0; i < NVEC; i++) {
        struct bytes full = unhex(VECTORS[i].hex);
        bool is_buffer = strcmp(VECTORS[i].name, "authority_buffer") == 0;
        for (size_t pos = 0; pos < full.len; pos++) {
            for (unsigned bit = 0; bit < 8; bit++) {
                struct bytes x = full;
                x.b[pos] ^= (uint8_t)(1u << bit);
                if (is_buffer) {
                    struct wire_authority_buffer ab;
                    HRESULT hr = wire_decode_authority_buffer(x.b, x.len, &ab);
                    assert_true(hr == S_OK || hr == DRT_E_INVALID_MESSAGE);
                    hr == S_OK ? accepted++ : rejected++;
                    continue;
                }
                struct wire_msg m;
                HRESULT hr = wire_decode(x.b, x.len, &m);
                if (hr == S_OK) {
                    accepted++;
                    assert_stable(&m);
                } else {
                    rejected++;
                    assert_int_equal(hr, DRT_E_INVALID_MESSAGE);
                }
            }
        }
    }
    /* Both outcomes happen: payload bits are free, structure bits are not. */
    assert_true(accepted > 0);
    assert_true(rejected > 0);
}

/* --- one input per decoder rule ------------------------------------------ */

static struct bytes vec_with(const char *hex, size_t pos, uint8_t value)
{
    struct bytes b = unhex(hex);
    assert_true(pos < b.len);
    b.b[pos] = value;
    return b;
}

static void test_header_rules(void **state)
{
    (void)state;
    struct bytes b;
    b = vec_with(VEC_ACK, 4, 0x52); /* Identifier */
    assert_invalid(&b);
    b = vec_with(VEC_ACK, 3, 0x0d); /* header Length */
    assert_invalid(&b);
    b = vec_with(VEC_ACK, 1, 0x11); /* FieldID */
    assert_invalid(&b);
    const uint8_t unknown_types[] = {0x00, 0x05, 0x06, 0x0a, 0x0c, 0xff};
    for (size_t i = 0; i < sizeof(unknown_types); i++) {
        b = vec_with(VEC_ACK, 7, unknown_types[i]);
        assert_invalid(&b);
    }
    struct wire_msg m;
    assert_int_equal(wire_decode(NULL, 10, &m), DRT_E_INVALID_MESSAGE);
    b = unhex(VEC_ACK);
    assert_int_equal(wire_decode(b.b, b.len, NULL), DRT_E_INVALID_MESSAGE);
}

static void test_field_length_rules(void **state)
{
    (void)state;
    struct bytes b;
    /* ACKED Length 3 (< 4), 9 (wrong fixed size), 0xffff (overrun). */
    b = vec_with(VEC_ACK, 15, 3);
    assert_invalid(&b);
    b = vec_with(VEC_ACK, 15, 9);
    assert_invalid(&b);
    b = unhex(VEC_ACK);
    b.b[14] = 0xff;
    b.b[15] = 0xff;
    assert_invalid(&b);
    /* Trailing bytes: up to 3 zero pad bytes are tolerated, 4 are not. */
    b = unhex(VEC_ACK);
    b.len += 2;
    b.b[26] = b.b[27] = 0;
    assert_int_equal(decode_ok(&b).u.ack.flags, WIRE_ACK_N);
    b.len += 2;
    assert_invalid(&b);
}

static void test_route_entry_rules(void **state)
{
    (void)state;
    /* SOLICIT: route field at 12, body at 16: key 32, ver 2, port at 50. */
    struct bytes b;
    b = vec_with(VEC_SOLICIT, 50, 0x03); /* port 0x03d4 = 980 < 1024 */
    assert_invalid(&b);
    b = vec_with(VEC_SOLICIT, 53, 0); /* Address Count 0 */
    assert_invalid(&b);
    b = vec_with(VEC_SOLICIT, 53, 2); /* count says 2, Length holds 1 */
    assert_invalid(&b);
    b = vec_with(VEC_SOLICIT, 53, 21); /* over 20 */
    assert_invalid(&b);
    b = vec_with(VEC_SOLICIT, 52, 0x80); /* reserved Flags: ignored */
    assert_int_equal(decode_ok(&b).u.solicit.route.addr_count, 1);
    b = vec_with(VEC_SOLICIT, 50, 0x04); /* port 1024 + 0xd4: fine */
    assert_int_equal(decode_ok(&b).u.solicit.route.port, 0x04d4);
}

static void test_key_array_rules(void **state)
{
    (void)state;
    /* ADVERTISE: array field at 20: Length 22, NumEntries 24, ArrayLength
     * 26, ElementFieldType 28, EntryLength 30. */
    struct bytes b;
    b = vec_with(VEC_ADVERTISE, 25, 3); /* NumEntries 3 */
    assert_invalid(&b);
    b = vec_with(VEC_ADVERTISE, 27, 0x49); /* ArrayLength */
    assert_invalid(&b);
    b = vec_with(VEC_ADVERTISE, 29, 0x31); /* element type */
    assert_invalid(&b);
    b = vec_with(VEC_ADVERTISE, 31, 0x21); /* entry length */
    assert_invalid(&b);
    b = vec_with(VEC_ADVERTISE, 24, 0x80); /* NumEntries 0x8002 > 0x7FFF */
    assert_invalid(&b);
    /* The empty list (a busy publisher's answer) is valid. */
    b = unhex("0010000c510100020a0b0c0d" "001800080a0b0c0c" "0060000c000000080030 0020"
              "00920018c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3");
    assert_int_equal(decode_ok(&b).u.advertise.keys.count, 0);
}

static void test_endpoint_array_rules(void **state)
{
    (void)state;
    /* LOOKUP: path field at 96: NumEntries 100, ArrayLength 102, type 104,
     * entry length 106, first port 108. */
    struct bytes b;
    b = vec_with(VEC_LOOKUP, 101, 0); /* NumEntries 0 */
    assert_invalid(&b);
    b = vec_with(VEC_LOOKUP, 101, 23);
    assert_invalid(&b);
    b = vec_with(VEC_LOOKUP, 105, 0x9e); /* element type */
    assert_invalid(&b);
    b = vec_with(VEC_LOOKUP, 107, 0x14); /* entry length 20 */
    assert_invalid(&b);
    b = vec_with(VEC_LOOKUP, 108, 0x00); /* port 0x00d4 */
    assert_invalid(&b);
    /* The Flagged Path is mandatory in LOOKUP. */
    b = unhex(VEC_LOOKUP);
    b.len = 96;
    assert_invalid(&b);
}

static void test_lookup_rules(void **state)
{
    (void)state;
    /* LOOKUP_CONTROLS at 12: flags 16, Precision 18, criteria 20, reason 21. */
    struct bytes b;
    const uint8_t bad_criteria[] = {0x03, 0x05, 0x10, 0xff};
    for (size_t i = 0; i < sizeof(bad_criteria); i++) {
        b = vec_with(VEC_LOOKUP, 20, bad_criteria[i]);
        assert_invalid(&b);
    }
    /* UPPER_BITS carries Precision 1..256; more is invalid. */
    b = vec_with(VEC_LOOKUP, 20, WIRE_SEARCH_UPPER_BITS);
    b.b[19] = 200;
    assert_int_equal(decode_ok(&b).u.lookup.precision, 200);
    b.b[18] = 0x01;
    b.b[19] = 0x01; /* 257 */
    assert_invalid(&b);
    /* For other criteria Precision is ignored on receipt. */
    b = vec_with(VEC_LOOKUP, 19, 77);
    assert_int_equal(decode_ok(&b).u.lookup.precision, 0);
    /* Reason codes we do not know are carried, not refused. */
    b = vec_with(VEC_LOOKUP, 21, 0x42);
    assert_int_equal(decode_ok(&b).u.lookup.reason, 0x42);
}

static void test_inquire_nonce_follows_a(void **state)
{
    (void)state;
    /* A set but no NONCE field. */
    struct bytes b = unhex(VEC_INQUIRE);
    b.len = 56;
    assert_invalid(&b);
    /* NONCE present but A clear. */
    b = vec_with(VEC_INQUIRE, 17, WIRE_INQUIRE_X | WIRE_INQUIRE_C);
    assert_invalid(&b);
    /* Neither: valid (a liveness check). */
    b.len = 56;
    assert_false(decode_ok(&b).u.inquire.has_nonce);
}

static void test_field_order_and_unknown_fields(void **state)
{
    (void)state;
    /* FLOOD with the route entry before the VALIDATE key. */
    struct bytes b = unhex("0010000c510100040a0b0c0d"
                           "00430007000100 00"
                           "009a003a000102030405060708090a0b0c0d0e0f101112131415161718191a1b"
                           "1c1d1e1f01000dd4000100000000000000000000000000000001 0000"
                           "00390024202122232425262728292a2b2c2d2e2f303132333435363738393a3b"
                           "3c3d3e3f");
    assert_invalid(&b);
    /* An INQUIRE with an unknown trailing field. */
    b = unhex(VEC_INQUIRE);
    const uint8_t extra[8] = {0x00, 0x77, 0x00, 0x08, 1, 2, 3, 4};
    memcpy(b.b + b.len, extra, sizeof(extra));
    b.len += sizeof(extra);
    assert_invalid(&b);
    /* An empty optional field (Length 4) is refused. */
    b = unhex("0010000c510100070a0b0c0d" "00400006 0000 0000"
              "00390024000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
              "00800004");
    assert_invalid(&b);
}

static void test_split_rules(void **state)
{
    (void)state;
    /* AUTHORITY: SPLIT_CONTROLS at 20: Size 24, Offset 26. */
    struct bytes b;
    b = vec_with(VEC_AUTHORITY, 25, 89); /* Size != bytes carried */
    assert_invalid(&b);
    b = vec_with(VEC_AUTHORITY, 27, 1); /* Offset not a multiple of 1188 */
    assert_invalid(&b);
    b = unhex(VEC_AUTHORITY);
    b.b[24] = 0x91;
    b.b[25] = 0xe5; /* Size 0x91E5 > limit */
    assert_invalid(&b);
    /* Offset at or past Size. */
    b = unhex(VEC_AUTHORITY);
    b.b[26] = 0x04;
    b.b[27] = 0xa4; /* 1188 >= 88 */
    assert_invalid(&b);
    /* REQUEST fragment whose bytes disagree with Size: body at 28. */
    b = vec_with(VEC_REQUEST_MEMBERSHIP, 25, 81);
    assert_invalid(&b);
}

static void test_authority_buffer_rules(void **state)
{
    (void)state;
    struct bytes b = unhex(VEC_AUTHORITY_BUFFER);
    struct wire_authority_buffer ab;
    /* Flags keep every bit; L|B|N are what the engine reads. */
    b.b[4] = 0x02;
    b.b[5] = 0x09;
    assert_int_equal(wire_decode_authority_buffer(b.b, b.len, &ab), S_OK);
    assert_int_equal(ab.flags, WIRE_AUTHORITY_L | WIRE_AUTHORITY_B | WIRE_AUTHORITY_N);
    /* The buffer must start with FLAGS. */
    b = unhex(VEC_AUTHORITY_BUFFER);
    b.b[1] = 0x41;
    assert_int_equal(wire_decode_authority_buffer(b.b, b.len, &ab), DRT_E_INVALID_MESSAGE);
    assert_int_equal(wire_decode_authority_buffer(NULL, 0, &ab), DRT_E_INVALID_MESSAGE);
    /* A payload over DRT_MAX_PAYLOAD_SIZE is refused. */
    static uint8_t big[8 + 4 + DRT_MAX_PAYLOAD_SIZE + 1];
    memset(big, 0, sizeof(big));
    const uint8_t flags[8] = {0x00, 0x40, 0x00, 0x06, 0, 0, 0, 0};
    memcpy(big, flags, 8);
    size_t plen = DRT_MAX_PAYLOAD_SIZE + 1;
    big[8] = 0x00;
    big[9] = 0x5a;
    big[10] = (uint8_t)((plen + 4) >> 8);
    big[11] = (uint8_t)(plen + 4);
    assert_int_equal(wire_decode_authority_buffer(big, sizeof(big), &ab), DRT_E_INVALID_MESSAGE);
    big[11] = (uint8_t)(plen + 3); /* exactly DRT_MAX_PAYLOAD_SIZE */
    assert_int_equal(wire_decode_authority_buffer(big, sizeof(big) - 1, &ab), S_OK);
    assert_int_equal(ab.payload.len, DRT_MAX_PAYLOAD_SIZE);
}

/* --- encoder errors ------------------------------------------------------ */

static void test_encode_rejects_invalid_structs(void **state)
{
    (void)state;
    uint8_t buf[MAX_MSG];
    size_t len = 99;
    struct wire_msg m;

    assert_int_equal(wire_encode(NULL, buf, sizeof(buf), &len), E_INVALIDARG);
    assert_int_equal(len, 0);
    header(&m, WIRE_ACK);
    assert_int_equal(wire_encode(&m, buf, sizeof(buf), NULL), E_INVALIDARG);

    header(&m, 0x05);
    assert_int_equal(wire_encode(&m, buf, sizeof(buf), &len), E_INVALIDARG);

    header(&m, WIRE_SOLICIT);
    m.u.solicit.has_route = true;
    route_k1(&m.u.solicit.route);
    m.u.solicit.route.port = 1023;
    assert_int_equal(wire_encode(&m, buf, sizeof(buf), &len), E_INVALIDARG);
    m.u.solicit.route.port = 1024;
    m.u.solicit.route.addr_count = 0;
    assert_int_equal(wire_encode(&m, buf, sizeof(buf), &len), E_INVALIDARG);
    m.u.solicit.route.addr_count = 21;
    assert_int_equal(wire_encode(&m, buf, sizeof(buf), &len), E_INVALIDARG);

    header(&m, WIRE_ADVERTISE);
    m.u.advertise.keys.count = 1; /* keys NULL */
    assert_int_equal(wire_encode(&m, buf, sizeof(buf), &len), E_INVALIDARG);

    header(&m, WIRE_INQUIRE);
    m.u.inquire.flags = WIRE_INQUIRE_A; /* no nonce */
    assert_int_equal(wire_encode(&m, buf, sizeof(buf), &len), E_INVALIDARG);
    m.u.inquire.flags = 0;
    m.u.inquire.auth.signature = (struct wire_blob){buf, 0}; /* empty blob */
    assert_int_equal(wire_encode(&m, buf, sizeof(buf), &len), E_INVALIDARG);

    header(&m, WIRE_LOOKUP);
    m.u.lookup.path.count = 0;
    assert_int_equal(wire_encode(&m, buf, sizeof(buf), &len), E_INVALIDARG);
    m.u.lookup.path.count = 23;
    assert_int_equal(wire_encode(&m, buf, sizeof(buf), &len), E_INVALIDARG);
    m.u.lookup.path.count = 1;
    m.u.lookup.path.e[0].port = 80;
    assert_int_equal(wire_encode(&m, buf, sizeof(buf), &len), E_INVALIDARG);
    m.u.lookup.path.e[0].port = 4000;
    m.u.lookup.criteria = 3;
    assert_int_equal(wire_encode(&m, buf, sizeof(buf), &len), E_INVALIDARG);

    header(&m, WIRE_FLOOD);
    m.u.flood.flooded.count = 23;
    assert_int_equal(wire_encode(&m, buf, sizeof(buf), &len), E_INVALIDARG);

    header(&m, WIRE_AUTHORITY);
    m.u.authority.size = 10;
    m.u.authority.fragment = (struct wire_blob){buf, 9};
    assert_int_equal(wire_encode(&m, buf, sizeof(buf), &len), E_INVALIDARG);
    m.u.authority.offset = 1188;
    m.u.authority.fragment.len = 10;
    assert_int_equal(wire_encode(&m, buf, sizeof(buf), &len), E_INVALIDARG);

    /* A membership REQUEST whose body needs fragmenting. */
    static uint8_t cred[2000];
    header(&m, WIRE_REQUEST);
    m.u.request.has_split = true;
    m.u.request.auth.credential = (struct wire_blob){cred, sizeof(cred)};
    assert_int_equal(wire_encode(&m, buf, sizeof(buf), &len), E_INVALIDARG);
}

static void test_encode_short_buffer(void **state)
{
    (void)state;
    for (size_t i = 0; i < NVEC; i++) {
        if (strcmp(VECTORS[i].name, "authority_buffer") == 0)
            continue;
        struct bytes in = unhex(VECTORS[i].hex);
        struct wire_msg m = decode_ok(&in);
        assert_int_equal(wire_encode(&m, NULL, 0, &(size_t){0}), DRT_E_INSUFFICIENT_BUFFER);
        for (size_t cap = 0; cap < in.len; cap++) {
            uint8_t buf[MAX_MSG];
            memset(buf, 0xA5, sizeof(buf));
            size_t len = 1;
            assert_int_equal(wire_encode(&m, buf, cap, &len), DRT_E_INSUFFICIENT_BUFFER);
            assert_int_equal(len, 0);
            for (size_t j = cap; j < sizeof(buf); j++)
                assert_int_equal(buf[j], 0xA5); /* nothing written past cap */
        }
    }
    struct bytes ab = unhex(VEC_AUTHORITY_BUFFER);
    struct wire_authority_buffer dec;
    assert_int_equal(wire_decode_authority_buffer(ab.b, ab.len, &dec), S_OK);
    uint8_t out[MAX_MSG];
    size_t len;
    assert_int_equal(wire_encode_authority_buffer(&dec, out, ab.len - 1, &len),
                     DRT_E_INSUFFICIENT_BUFFER);
    assert_int_equal(wire_encode_authority_buffer(NULL, out, sizeof(out), &len), E_INVALIDARG);
}

/* --- fragmentation ------------------------------------------------------- */

static uint8_t *pattern(size_t n, unsigned seed)
{
    uint8_t *p = malloc(n);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 7u + seed + (i >> 8));
    return p;
}

static void test_fragment_count(void **state)
{
    (void)state;
    assert_int_equal(wire_fragment_count(1), 1);
    assert_int_equal(wire_fragment_count(1188), 1);
    assert_int_equal(wire_fragment_count(1189), 2);
    assert_int_equal(wire_fragment_count(2376), 2);
    assert_int_equal(wire_fragment_count(WIRE_SPLIT_MAX), 32);
    uint8_t b[4] = {0};
    struct wire_header h = {1, 0, 0, 1};
    struct wire_msg m;
    assert_int_equal(wire_authority_fragment(&h, 1, b, 0, 0, &m), E_INVALIDARG);
    assert_int_equal(wire_authority_fragment(&h, 1, b, 4, 1, &m), E_INVALIDARG);
    assert_int_equal(wire_authority_fragment(&h, 1, b, WIRE_SPLIT_MAX + 1, 0, &m), E_INVALIDARG);
    assert_int_equal(wire_authority_fragment(NULL, 1, b, 4, 0, &m), E_INVALIDARG);
    /* A REQUEST body that fits one datagram is not a fragment. */
    assert_int_equal(wire_request_fragment(&h, b, 4, 0, &m), E_INVALIDARG);
}

static void test_authority_fragments_reassemble(void **state)
{
    (void)state;
    /* The largest real answer: a 5,120-byte payload plus a certificate chain. */
    uint8_t *payload = pattern(DRT_MAX_PAYLOAD_SIZE, 1);
    uint8_t *chain = pattern(20000, 2);
    uint8_t cpa[300];
    seq(cpa, 7, sizeof(cpa));
    struct wire_authority_buffer ab;
    memset(&ab, 0, sizeof(ab));
    ab.flags = WIRE_AUTHORITY_L;
    ab.cert_chain = (struct wire_blob){chain, 20000};
    ab.payload = (struct wire_blob){payload, DRT_MAX_PAYLOAD_SIZE};
    ab.has_route = true;
    route_k1(&ab.route);
    ab.cpa = (struct wire_blob){cpa, sizeof(cpa)};
    static uint8_t whole[WIRE_SPLIT_MAX];
    size_t len;
    assert_int_equal(wire_encode_authority_buffer(&ab, whole, sizeof(whole), &len), S_OK);
    size_t n = wire_fragment_count(len);
    assert_true(n > 20);

    struct reasm *r = reasm_create(NULL);
    assert_non_null(r);
    struct reasm_key key;
    assert_true(reasm_key_make(&key, "peer", 4, 0x77));
    struct wire_header h = {1, 0, 0, 0x1234};
    const uint8_t *done = NULL;
    size_t done_len = 0;
    /* Deliver in a scrambled order: odd indexes first, then even. */
    for (size_t pass = 0; pass < 2; pass++) {
        for (size_t i = 1 - pass; i < n; i += 2) {
            struct wire_msg m;
            assert_int_equal(wire_authority_fragment(&h, 0x77, whole, len, i, &m), S_OK);
            uint8_t dgram[MAX_MSG];
            size_t dlen;
            assert_int_equal(wire_encode(&m, dgram, sizeof(dgram), &dlen), S_OK);
            assert_true(dlen <= WIRE_AUTHORITY_OVERHEAD + WIRE_FRAGMENT_SIZE);
            struct wire_msg got;
            assert_int_equal(wire_decode(dgram, dlen, &got), S_OK);
            assert_int_equal(got.hdr.message_id, 0x1234);
            enum reasm_result res =
                reasm_add(r, &key, got.u.authority.size, got.u.authority.offset,
                          got.u.authority.fragment.p, got.u.authority.fragment.len, 0, &done,
                          &done_len);
            bool last = pass == 1 && i + 2 >= n;
            assert_int_equal(res, last ? REASM_COMPLETE : REASM_INCOMPLETE);
        }
    }
    assert_int_equal(done_len, len);
    assert_memory_equal(done, whole, len);
    struct wire_authority_buffer back;
    assert_int_equal(wire_decode_authority_buffer(done, done_len, &back), S_OK);
    assert_int_equal(back.flags, WIRE_AUTHORITY_L);
    assert_int_equal(back.payload.len, DRT_MAX_PAYLOAD_SIZE);
    assert_memory_equal(back.payload.p, payload, DRT_MAX_PAYLOAD_SIZE);
    assert_int_equal(back.cert_chain.len, 20000);
    assert_memory_equal(back.cert_chain.p, chain, 20000);
    assert_int_equal(back.cpa.len, sizeof(cpa));
    assert_route_k1(&back.route);
    reasm_destroy(r);

    /* A buffer over the SPLIT_CONTROLS limit cannot be encoded. */
    static uint8_t huge[WIRE_SPLIT_MAX];
    ab.cert_chain = (struct wire_blob){huge, 40000};
    assert_int_equal(wire_encode_authority_buffer(&ab, huge, sizeof(huge), &len),
                     DRT_E_INSUFFICIENT_BUFFER);
    free(payload);
    free(chain);
}

static void test_request_fragments_reassemble(void **state)
{
    (void)state;
    uint8_t *cred = pattern(3000, 3);
    uint8_t keys[3 * 32];
    seq(keys, 0x40, sizeof(keys));
    struct wire_request q;
    memset(&q, 0, sizeof(q));
    seq(q.nonce, 0xe0, 16);
    q.keys = (struct wire_keys){keys, 3};
    q.auth.credential = (struct wire_blob){cred, 3000};
    q.auth.signature = (struct wire_blob){(const uint8_t *)"signature", 9};
    q.auth.key_identifier = (struct wire_blob){(const uint8_t *)"kid", 3};
    uint8_t body[8192];
    size_t blen;
    assert_int_equal(wire_encode_request_body(&q, body, sizeof(body), &blen), S_OK);
    assert_int_equal(wire_encode_request_body(&q, body, 100, &blen), DRT_E_INSUFFICIENT_BUFFER);
    assert_int_equal(wire_encode_request_body(&q, body, sizeof(body), &blen), S_OK);
    size_t n = wire_fragment_count(blen);
    assert_int_equal(n, 3);

    uint8_t whole[8192];
    memset(whole, 0, sizeof(whole));
    struct wire_header h = {2, 1, 0, 0x55};
    for (size_t i = 0; i < n; i++) {
        struct wire_msg m;
        assert_int_equal(wire_request_fragment(&h, body, blen, i, &m), S_OK);
        uint8_t dgram[MAX_MSG];
        size_t dlen;
        assert_int_equal(wire_encode(&m, dgram, sizeof(dgram), &dlen), S_OK);
        struct wire_msg got;
        assert_int_equal(wire_decode(dgram, dlen, &got), S_OK);
        assert_int_equal(got.hdr.type, WIRE_REQUEST);
        assert_true(got.u.request.has_split);
        assert_non_null(got.u.request.fragment.p);
        assert_int_equal(got.u.request.split_size, blen);
        memcpy(whole + got.u.request.split_offset, got.u.request.fragment.p,
               got.u.request.fragment.len);
    }
    struct wire_request back;
    memset(&back, 0, sizeof(back));
    assert_int_equal(wire_decode_request_body(whole, blen, &back), S_OK);
    assert_memory_equal(back.nonce, q.nonce, 16);
    assert_int_equal(back.keys.count, 3);
    assert_memory_equal(back.keys.keys, keys, sizeof(keys));
    assert_int_equal(back.auth.credential.len, 3000);
    assert_memory_equal(back.auth.credential.p, cred, 3000);
    assert_int_equal(back.auth.key_identifier.len, 3);
    /* A body cut short is invalid. */
    assert_int_equal(wire_decode_request_body(whole, blen - 1, &back), DRT_E_INVALID_MESSAGE);
    free(cred);
}

static void test_type_names(void **state)
{
    (void)state;
    assert_string_equal(wire_msg_type_name(WIRE_LOOKUP), "LOOKUP");
    assert_string_equal(wire_msg_type_name(WIRE_AUTHORITY), "AUTHORITY");
    assert_string_equal(wire_msg_type_name(0x05), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector_solicit),
        cmocka_unit_test(test_vector_advertise),
        cmocka_unit_test(test_vector_request),
        cmocka_unit_test(test_vector_request_membership),
        cmocka_unit_test(test_vector_flood),
        cmocka_unit_test(test_vector_inquire),
        cmocka_unit_test(test_vector_authority_and_buffer),
        cmocka_unit_test(test_vector_ack),
        cmocka_unit_test(test_vector_lookup),
        cmocka_unit_test(test_protocol_md_matches),
        cmocka_unit_test(test_every_prefix),
        cmocka_unit_test(test_prefixes_of_mandatory_endings_fail),
        cmocka_unit_test(test_every_bit_flip),
        cmocka_unit_test(test_header_rules),
        cmocka_unit_test(test_field_length_rules),
        cmocka_unit_test(test_route_entry_rules),
        cmocka_unit_test(test_key_array_rules),
        cmocka_unit_test(test_endpoint_array_rules),
        cmocka_unit_test(test_lookup_rules),
        cmocka_unit_test(test_inquire_nonce_follows_a),
        cmocka_unit_test(test_field_order_and_unknown_fields),
        cmocka_unit_test(test_split_rules),
        cmocka_unit_test(test_authority_buffer_rules),
        cmocka_unit_test(test_encode_rejects_invalid_structs),
        cmocka_unit_test(test_encode_short_buffer),
        cmocka_unit_test(test_fragment_count),
        cmocka_unit_test(test_authority_fragments_reassemble),
        cmocka_unit_test(test_request_fragments_reassemble),
        cmocka_unit_test(test_type_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
