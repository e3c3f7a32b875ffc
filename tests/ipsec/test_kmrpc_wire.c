/*
 * test_kmrpc_wire.c - the key-manager socket's frames (kmrpc_wire.h):
 * every message round-trips; every truncation, trailing byte, value out of
 * range, reserved bit and malformed string, list or descriptor is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <wchar.h>

#include "ipsec/kmrpc_wire.h"
#include "ipsec/secdesc.h"

typedef bool (*body_fn)(struct wire_reader *r, void *out);

/* The frame o splits into type and id, and its body decodes with fn; then
 * every shorter body and the body with one byte more are refused. */
static void check_frame(struct kmrpc_out *o, uint8_t type, uint32_t id, body_fn fn, void *out)
{
    assert_true(kmrpc_end(o));
    uint8_t t;
    uint32_t i;
    struct wire_reader body;
    assert_true(kmrpc_frame_parse(o->p, o->len, &t, &i, &body));
    assert_int_equal(t, type);
    assert_int_equal(i, id);
    size_t n = body.len;
    assert_true(fn(&body, out));
    uint8_t *copy = malloc(n + 1);
    assert_non_null(copy);
    memcpy(copy, o->p + KMRPC_HEADER_SIZE, n);
    copy[n] = 0;
    for (size_t k = 0; k < n; k++) {
        wire_reader_init(&body, copy, k);
        assert_false(fn(&body, out));
    }
    wire_reader_init(&body, copy, n + 1);
    assert_false(fn(&body, out));
    free(copy);
    /* the frame itself: a wrong length field or a reserved byte */
    assert_false(kmrpc_frame_parse(o->p, o->len - 1, &t, &i, &body));
    o->p[5] = 1;
    assert_false(kmrpc_frame_parse(o->p, o->len, &t, &i, &body));
    kmrpc_out_free(o);
}

static bool open_fn(struct wire_reader *r, void *out)
{
    return kmrpc_get_open(r, out);
}

static void test_open_round_trips(void **state)
{
    (void)state;
    struct kmrpc_out o;
    GUID g = {0x01020304, 0x0506, 0x0708, {9, 10, 11, 12, 13, 14, 15, 16}};
    kmrpc_begin(&o, KMRPC_OPEN, 77);
    kmrpc_put_u8(&o, 0);
    kmrpc_put_u8(&o, KMRPC_VERSION);
    kmrpc_put_u32(&o, FWPM_SESSION_FLAG_DYNAMIC);
    kmrpc_put_u32(&o, 1234);
    kmrpc_put_guid(&o, &g);
    kmrpc_put_str(&o, L"session \u00e9\U0001F511");
    kmrpc_put_str(&o, NULL);
    struct kmrpc_open *m = calloc(1, sizeof(*m));
    check_frame(&o, KMRPC_OPEN, 77, open_fn, m);
    /* the last good decode ran on the whole body */
    assert_int_equal(m->flags, FWPM_SESSION_FLAG_DYNAMIC);
    assert_int_equal(m->txn_wait_ms, 1234);
    assert_memory_equal(&m->key, &g, sizeof(g));
    assert_true(m->name.present);
    assert_int_equal(wcscmp(m->name.s, L"session \u00e9\U0001F511"), 0);
    assert_false(m->desc.present);
    free(m);
}

static bool km_add_fn(struct wire_reader *r, void *out)
{
    return kmrpc_get_km_add(r, out);
}

static void put_km_add(struct kmrpc_out *o, uint8_t callbacks, const wchar_t *name)
{
    GUID g = {0};
    kmrpc_begin(o, KMRPC_KM_ADD, 5);
    kmrpc_put_guid(o, &g);
    kmrpc_put_u32(o, IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY);
    kmrpc_put_u8(o, 7);
    kmrpc_put_u8(o, callbacks);
    kmrpc_put_str(o, name);
    kmrpc_put_str(o, L"");
}

static void test_km_add_round_trips_and_refuses_unknown_callbacks(void **state)
{
    (void)state;
    struct kmrpc_out o;
    struct kmrpc_km_add *m = calloc(1, sizeof(*m));
    put_km_add(&o, KMRPC_CB_CHECK | KMRPC_CB_DICTATE | KMRPC_CB_NOTIFY, L"km");
    check_frame(&o, KMRPC_KM_ADD, 5, km_add_fn, m);
    assert_int_equal(m->hint, 7);
    assert_int_equal(m->callbacks, 7);
    assert_int_equal(wcscmp(m->name.s, L"km"), 0);
    assert_true(m->desc.present);
    assert_int_equal(m->desc.s[0], 0);

    put_km_add(&o, 0x08, L"km");
    assert_true(kmrpc_end(&o));
    struct wire_reader r;
    wire_reader_init(&r, o.p + KMRPC_HEADER_SIZE, o.len - KMRPC_HEADER_SIZE);
    assert_false(kmrpc_get_km_add(&r, m));
    kmrpc_out_free(&o);
    free(m);
}

static void test_strings_are_bounded_and_have_no_nul(void **state)
{
    (void)state;
    static wchar_t longest[KMRPC_MAX_CHARS + 2];
    for (size_t i = 0; i < KMRPC_MAX_CHARS + 1; i++)
        longest[i] = L'x';
    struct kmrpc_out o;
    /* one character too many cannot even be written */
    put_km_add(&o, KMRPC_CB_NOTIFY, longest);
    assert_false(kmrpc_end(&o));
    /* exactly the cap decodes */
    longest[KMRPC_MAX_CHARS] = 0;
    put_km_add(&o, KMRPC_CB_NOTIFY, longest);
    assert_true(kmrpc_end(&o));
    struct kmrpc_km_add *m = calloc(1, sizeof(*m));
    struct wire_reader r;
    wire_reader_init(&r, o.p + KMRPC_HEADER_SIZE, o.len - KMRPC_HEADER_SIZE);
    assert_true(kmrpc_get_km_add(&r, m));
    assert_int_equal(wcslen(m->name.s), KMRPC_MAX_CHARS);
    kmrpc_out_free(&o);
    /* a NUL code unit inside, and a length over the cap, are refused */
    put_km_add(&o, KMRPC_CB_NOTIFY, L"ab");
    assert_true(kmrpc_end(&o));
    size_t name_at = KMRPC_HEADER_SIZE + 16 + 4 + 1 + 1;
    o.p[name_at + 4 + 7] = 0; /* 'b' -> 0 */
    wire_reader_init(&r, o.p + KMRPC_HEADER_SIZE, o.len - KMRPC_HEADER_SIZE);
    assert_false(kmrpc_get_km_add(&r, m));
    o.p[name_at + 4 + 7] = 'b';
    wire_reader_init(&r, o.p + KMRPC_HEADER_SIZE, o.len - KMRPC_HEADER_SIZE);
    assert_true(kmrpc_get_km_add(&r, m));
    o.p[name_at + 2] = 0x04; /* length 0x402 > the cap */
    wire_reader_init(&r, o.p + KMRPC_HEADER_SIZE, o.len - KMRPC_HEADER_SIZE);
    assert_false(kmrpc_get_km_add(&r, m));
    kmrpc_out_free(&o);
    free(m);
}

static struct neg_sa_params sample_sa(void)
{
    struct neg_sa_params p = {.ip_version = FWP_IP_VERSION_V6,
                              .qm_sa_id = 0x11223344,
                              .mm_sa_id = 0x0102030405060708ull,
                              .bundle_flags = IPSEC_SA_BUNDLE_FLAG_USING_DICTATED_KEYS};
    for (int i = 0; i < 16; i++) {
        p.local_addr[i] = (uint8_t)i;
        p.remote_addr[i] = (uint8_t)(0xf0 + i);
    }
    return p;
}

static uint8_t cb_type;

static bool callback_fn(struct wire_reader *r, void *out)
{
    return kmrpc_get_callback(r, cb_type, out);
}

static void test_callbacks_round_trip(void **state)
{
    (void)state;
    struct neg_sa_params p = sample_sa();
    struct kmrpc_callback c;
    struct kmrpc_out o;

    kmrpc_begin(&o, KMRPC_CHECK, 9);
    kmrpc_put_u64(&o, 0xabcdef0012345678ull);
    kmrpc_put_u8(&o, FWP_IP_VERSION_V6);
    kmrpc_put_bytes(&o, p.local_addr, 16);
    kmrpc_put_bytes(&o, p.remote_addr, 16);
    cb_type = KMRPC_CHECK;
    check_frame(&o, KMRPC_CHECK, 9, callback_fn, &c);
    assert_true(c.registration == 0xabcdef0012345678ull);
    assert_memory_equal(c.sa.remote_addr, p.remote_addr, 16);

    uint8_t kin[ESP_KEYMAT_SIZE], kout[ESP_KEYMAT_SIZE];
    memset(kin, 0x5a, sizeof(kin));
    memset(kout, 0xa5, sizeof(kout));
    kmrpc_begin(&o, KMRPC_NOTIFY, 10);
    kmrpc_put_u64(&o, 3);
    kmrpc_put_sa(&o, &p);
    kmrpc_put_u32(&o, 0x01000001);
    kmrpc_put_bytes(&o, kin, sizeof(kin));
    kmrpc_put_u32(&o, 0x02000002);
    kmrpc_put_bytes(&o, kout, sizeof(kout));
    cb_type = KMRPC_NOTIFY;
    check_frame(&o, KMRPC_NOTIFY, 10, callback_fn, &c);
    assert_int_equal(c.in_spi, 0x01000001);
    assert_int_equal(c.out_spi, 0x02000002);
    assert_memory_equal(c.keys_in, kin, sizeof(kin));
    assert_memory_equal(c.keys_out, kout, sizeof(kout));
    assert_true(c.sa.mm_sa_id == p.mm_sa_id);
    assert_int_equal(c.sa.qm_sa_id, p.qm_sa_id);
    assert_int_equal(c.sa.bundle_flags, p.bundle_flags);

    kmrpc_begin(&o, KMRPC_DICTATE, 11);
    kmrpc_put_u64(&o, 3);
    kmrpc_put_sa(&o, &p);
    kmrpc_put_u32(&o, 0x01000001);
    kmrpc_put_u32(&o, 0x02000002);
    cb_type = KMRPC_DICTATE;
    check_frame(&o, KMRPC_DICTATE, 11, callback_fn, &c);
    assert_int_equal(c.out_spi, 0x02000002);

    /* an IP version that is neither 4 nor 6, and a type that is no callback */
    kmrpc_begin(&o, KMRPC_DICTATE, 12);
    kmrpc_put_u64(&o, 3);
    p.ip_version = FWP_IP_VERSION_NONE;
    kmrpc_put_sa(&o, &p);
    kmrpc_put_u32(&o, 1);
    kmrpc_put_u32(&o, 2);
    assert_true(kmrpc_end(&o));
    struct wire_reader r;
    wire_reader_init(&r, o.p + KMRPC_HEADER_SIZE, o.len - KMRPC_HEADER_SIZE);
    assert_false(kmrpc_get_callback(&r, KMRPC_DICTATE, &c));
    wire_reader_init(&r, o.p + KMRPC_HEADER_SIZE, o.len - KMRPC_HEADER_SIZE);
    assert_false(kmrpc_get_callback(&r, KMRPC_REPLY, &c));
    kmrpc_out_free(&o);
}

static bool dictate_reply_fn(struct wire_reader *r, void *out)
{
    return kmrpc_get_dictate_reply(r, out);
}

static void put_blob(struct kmrpc_out *o, uint32_t size, bool has, uint8_t fill)
{
    kmrpc_put_u32(o, size);
    kmrpc_put_u8(o, has);
    for (uint32_t i = 0; has && i < size; i++)
        kmrpc_put_u8(o, fill);
}

static void test_dictate_reply_round_trips_and_bounds_blobs(void **state)
{
    (void)state;
    struct kmrpc_dictate_reply d;
    struct kmrpc_out o;
    kmrpc_begin(&o, KMRPC_DICTATE_REPLY, 4);
    kmrpc_put_u32(&o, 0);
    kmrpc_put_u8(&o, 1);
    put_blob(&o, 36, true, 0x11);
    put_blob(&o, 36, true, 0x11);
    put_blob(&o, 1000000, false, 0); /* a size alone: too large to carry */
    put_blob(&o, 0, true, 0);
    check_frame(&o, KMRPC_DICTATE_REPLY, 4, dictate_reply_fn, &d);
    assert_true(d.gen);
    assert_int_equal(d.blobs[0].size, 36);
    assert_int_equal(d.blobs[1].data[35], 0x11);
    assert_int_equal(d.blobs[2].size, 1000000);
    assert_false(d.blobs[2].has_data);

    kmrpc_begin(&o, KMRPC_DICTATE_REPLY, 4);
    kmrpc_put_u32(&o, 0);
    kmrpc_put_u8(&o, 0);
    put_blob(&o, KMRPC_MAX_BLOB + 1, true, 0x22); /* bytes over the cap */
    put_blob(&o, 0, false, 0);
    put_blob(&o, 0, false, 0);
    put_blob(&o, 0, false, 0);
    assert_true(kmrpc_end(&o));
    struct wire_reader r;
    wire_reader_init(&r, o.p + KMRPC_HEADER_SIZE, o.len - KMRPC_HEADER_SIZE);
    assert_false(kmrpc_get_dictate_reply(&r, &d));
    /* a boolean that is not 0 or 1 */
    o.p[KMRPC_HEADER_SIZE + 4] = 2;
    wire_reader_init(&r, o.p + KMRPC_HEADER_SIZE, o.len - KMRPC_HEADER_SIZE);
    assert_false(kmrpc_get_dictate_reply(&r, &d));
    kmrpc_out_free(&o);
}

static bool reply_fn(struct wire_reader *r, void *out)
{
    return kmrpc_get_reply(r, out);
}

/* A waiting call takes only the answer of the type it expects, and only a
 * frame whose header parses. */
static void test_an_answer_body_needs_its_type_and_a_sound_header(void **state)
{
    (void)state;
    struct kmrpc_out o;
    kmrpc_begin(&o, KMRPC_CHECK_REPLY, 8);
    kmrpc_put_u8(&o, 1);
    kmrpc_put_u32(&o, 42);
    assert_true(kmrpc_end(&o));
    struct wire_reader body;
    bool will;
    uint32_t weight;
    assert_true(kmrpc_frame_body(o.p, o.len, KMRPC_CHECK_REPLY, &body));
    assert_true(kmrpc_get_check_reply(&body, &will, &weight));
    assert_true(will);
    assert_int_equal(weight, 42);
    assert_false(kmrpc_frame_body(o.p, o.len, KMRPC_DICTATE_REPLY, &body));
    assert_false(kmrpc_frame_body(o.p, o.len - 1, KMRPC_CHECK_REPLY, &body));
    o.p[7] = 1; /* a reserved byte */
    assert_false(kmrpc_frame_body(o.p, o.len, KMRPC_CHECK_REPLY, &body));
    kmrpc_out_free(&o);
}

static void test_reply_and_list_round_trip(void **state)
{
    (void)state;
    IPSEC_KEY_MANAGER0 a = {.keyManagerKey = {1, 2, 3, {4}},
                            .displayData = {.name = L"first", .description = NULL},
                            .flags = 1,
                            .keyDictationTimeoutHint = 5};
    IPSEC_KEY_MANAGER0 b = {.displayData = {.name = NULL, .description = L"second"},
                            .keyDictationTimeoutHint = 10};
    struct kmrpc_out data = {.ok = true};
    kmrpc_put_u32(&data, 2);
    kmrpc_put_list_entry(&data, &a);
    kmrpc_put_list_entry(&data, &b);
    assert_true(data.ok);

    struct kmrpc_out o;
    kmrpc_begin(&o, KMRPC_REPLY, 3);
    kmrpc_put_u32(&o, ERROR_SUCCESS);
    kmrpc_put_u64(&o, 99);
    kmrpc_put_u32(&o, (uint32_t)data.len);
    kmrpc_put_bytes(&o, data.p, data.len);
    struct kmrpc_reply rep;
    check_frame(&o, KMRPC_REPLY, 3, reply_fn, &rep);
    assert_int_equal(rep.value, 99);
    assert_int_equal(rep.data_len, data.len);

    IPSEC_KEY_MANAGER0 **e;
    UINT32 n;
    bool oom;
    assert_true(kmrpc_get_list(data.p, data.len, &e, &n, &oom));
    assert_int_equal(n, 2);
    assert_int_equal(wcscmp(e[0]->displayData.name, L"first"), 0);
    assert_null(e[0]->displayData.description);
    assert_int_equal(e[0]->flags, 1);
    assert_memory_equal(&e[0]->keyManagerKey, &a.keyManagerKey, sizeof(GUID));
    assert_null(e[1]->displayData.name);
    assert_int_equal(wcscmp(e[1]->displayData.description, L"second"), 0);
    assert_int_equal(e[1]->keyDictationTimeoutHint, 10);
    free(e);
    /* every truncation, a count that lies, a trailing byte */
    for (size_t k = 0; k < data.len; k++)
        assert_false(kmrpc_get_list(data.p, k, &e, &n, &oom));
    data.p[3] = 3;
    assert_false(kmrpc_get_list(data.p, data.len, &e, &n, &oom));
    data.p[3] = 2;
    kmrpc_put_u8(&data, 0);
    assert_false(kmrpc_get_list(data.p, data.len, &e, &n, &oom));
    assert_false(oom);
    /* no entries */
    uint8_t zero[4] = {0};
    assert_true(kmrpc_get_list(zero, 4, &e, &n, &oom));
    assert_null(e);
    assert_int_equal(n, 0);
    kmrpc_out_free(&data);
}

static void test_security_descriptor_parts_are_checked(void **state)
{
    (void)state;
    struct ipsec_secdesc sd;
    struct ipsec_caller me = {.uid = 1000, .gid = 100};
    assert_int_equal(ipsec_secdesc_init_default(&sd, &me), ERROR_SUCCESS);
    struct ipsec_secdesc_view v = ipsec_secdesc_view(&sd, NULL);
    PSECURITY_DESCRIPTOR b = NULL;
    SECURITY_INFORMATION all = OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION |
                               DACL_SECURITY_INFORMATION;
    assert_int_equal(ipsec_secdesc_serialize(&v, all, NULL, NULL, NULL, NULL, &b), ERROR_SUCCESS);
    size_t len = kmrpc_sd_length(b);
    assert_true(len > sizeof(SECURITY_DESCRIPTOR_RELATIVE));
    PSID owner, group;
    PACL dacl, sacl;
    assert_true(kmrpc_sd_parts(b, len, &owner, &group, &dacl, &sacl));
    SID want = DRT_UNIX_USER_SID_INIT(1000);
    assert_memory_equal(owner, &want, 16);
    assert_non_null(group);
    assert_non_null(dacl);
    assert_null(sacl);
    /* one byte short, and an offset past the end, are refused */
    assert_false(kmrpc_sd_parts(b, len - 1, &owner, &group, &dacl, &sacl));
    SECURITY_DESCRIPTOR_RELATIVE h;
    memcpy(&h, b, sizeof(h));
    h.Owner = (DWORD)len;
    memcpy(b, &h, sizeof(h));
    assert_false(kmrpc_sd_parts(b, len, &owner, &group, &dacl, &sacl));
    free(b);
    ipsec_secdesc_free(&sd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_round_trips),
        cmocka_unit_test(test_km_add_round_trips_and_refuses_unknown_callbacks),
        cmocka_unit_test(test_strings_are_bounded_and_have_no_nul),
        cmocka_unit_test(test_callbacks_round_trip),
        cmocka_unit_test(test_dictate_reply_round_trips_and_bounds_blobs),
        cmocka_unit_test(test_an_answer_body_needs_its_type_and_a_sound_header),
        cmocka_unit_test(test_reply_and_list_round_trip),
        cmocka_unit_test(test_security_descriptor_parts_are_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
