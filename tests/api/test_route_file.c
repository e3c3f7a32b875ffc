/*
 * test_route_file.c - the route cache file (src/api/route_file.h): the
 * test vector of docs/PROTOCOL.md, round trips, and every damaged or
 * hostile form the decoder must refuse (each truncation, each flipped
 * byte, an extension, counts, magic, version, reserved bytes, addresses,
 * duplicates); then the file I/O: the atomic write leaves nothing behind,
 * and reads refuse what is not a regular file of sane size.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "api/route_file.h"

/* docs/PROTOCOL.md, "Route cache file": two entries. */
static const uint8_t vector[160] = {
    0x44, 0x52, 0x54, 0x52, 0x43, 0x46, 0x0d, 0x0a, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x0d, 0xd4, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5,
    0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5,
    0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0xff, 0xff, 0xc0, 0x00, 0x02, 0x07, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x11, 0xe6, 0x94, 0x5d, 0x5b, 0xf5, 0x42, 0xaf, 0xd4, 0x91, 0xeb, 0x47, 0x0b, 0x38, 0xf9, 0xcb,
    0xce, 0x00, 0x6f, 0xfd, 0x49, 0xbc, 0x95, 0x5f, 0x37, 0x8d, 0x52, 0xbe, 0xe6, 0xcd, 0x48, 0xe7,
};

static void vector_routes(struct drt_engine_route r[2])
{
    memset(r, 0, 2 * sizeof(*r));
    for (int i = 0; i < 32; i++)
        r[0].key[i] = (uint8_t)i;
    r[0].ep.addr[15] = 1; /* ::1 */
    r[0].ep.port = 3540;
    r[0].rtt_ms = 12;
    memset(r[1].key, 0xa5, 32);
    const uint8_t v4[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7};
    memcpy(r[1].ep.addr, v4, 16);
    r[1].ep.port = 49152;
    r[1].rtt_ms = 0;
}

/* Field by field: the struct has padding the decoder need not touch. */
static bool same_route(const struct drt_engine_route *a, const struct drt_engine_route *b)
{
    return memcmp(a->key, b->key, 32) == 0 && drt_endpoint_equal(&a->ep, &b->ep) &&
           a->rtt_ms == b->rtt_ms;
}

static HRESULT decode(const uint8_t *buf, size_t len, size_t *n)
{
    static struct drt_engine_route out[ROUTE_FILE_MAX_ENTRIES];
    return route_file_decode(buf, len, out, ROUTE_FILE_MAX_ENTRIES, n);
}

/* Recomputes the digest after a deliberate change, so the field checks
 * (not the checksum) must catch it: a forger can do the same. */
static void reseal(uint8_t *buf, size_t len)
{
    unsigned int n;
    assert_int_equal(EVP_Digest(buf, len - 32, buf + len - 32, &n, EVP_sha256(), NULL), 1);
}

static void test_vector_encodes_and_decodes(void **state)
{
    (void)state;
    struct drt_engine_route r[2], back[2];
    vector_routes(r);
    uint8_t buf[sizeof(vector)];
    assert_int_equal(ROUTE_FILE_SIZE(2), sizeof(vector));
    assert_int_equal(route_file_encode(r, 2, buf, sizeof(buf)), S_OK);
    assert_memory_equal(buf, vector, sizeof(vector));
    size_t n = 0;
    assert_int_equal(route_file_decode(vector, sizeof(vector), back, 2, &n), S_OK);
    assert_int_equal(n, 2);
    for (int i = 0; i < 2; i++)
        assert_true(same_route(&back[i], &r[i]));
}

/* docs/PROTOCOL.md shows the same bytes: its ```hex route_cache_file
 * block, spaces and # comments ignored. */
static void test_protocol_md_shows_the_vector(void **state)
{
    (void)state;
    FILE *f = fopen(DRT_SOURCE_DIR "/docs/PROTOCOL.md", "r");
    assert_non_null(f);
    char line[512];
    bool in_block = false;
    uint8_t got[2 * sizeof(vector)];
    size_t n = 0;
    while (fgets(line, sizeof(line), f)) {
        if (!in_block) {
            in_block = strncmp(line, "```hex route_cache_file", 23) == 0;
            continue;
        }
        if (strncmp(line, "```", 3) == 0)
            break;
        for (const char *p = line; *p && *p != '#' && *p != '\n'; p++) {
            if (*p == ' ')
                continue;
            unsigned v;
            assert_true(sscanf(p, "%2x", &v) == 1 && n < sizeof(got));
            got[n++] = (uint8_t)v;
            p++;
        }
    }
    fclose(f);
    assert_true(in_block);
    assert_int_equal(n, sizeof(vector));
    assert_memory_equal(got, vector, sizeof(vector));
}

static void test_empty_file_round_trips(void **state)
{
    (void)state;
    uint8_t buf[ROUTE_FILE_SIZE(0)];
    assert_int_equal(route_file_encode(NULL, 0, buf, sizeof(buf)), S_OK);
    size_t n = 99;
    assert_int_equal(decode(buf, sizeof(buf), &n), S_OK);
    assert_int_equal(n, 0);
}

static void test_full_file_round_trips(void **state)
{
    (void)state;
    static struct drt_engine_route r[ROUTE_FILE_MAX_ENTRIES], back[ROUTE_FILE_MAX_ENTRIES];
    static uint8_t buf[ROUTE_FILE_MAX_SIZE];
    memset(r, 0, sizeof(r));
    for (unsigned i = 0; i < ROUTE_FILE_MAX_ENTRIES; i++) {
        r[i].key[0] = (uint8_t)i;
        r[i].key[1] = (uint8_t)(i >> 8);
        r[i].ep.addr[0] = 0x20;
        r[i].ep.addr[1] = 0x01;
        r[i].ep.addr[15] = (uint8_t)i;
        r[i].ep.port = (uint16_t)(1024 + i);
        r[i].rtt_ms = i * 50;
    }
    assert_int_equal(route_file_encode(r, ROUTE_FILE_MAX_ENTRIES, buf, sizeof(buf)), S_OK);
    size_t n = 0;
    assert_int_equal(route_file_decode(buf, sizeof(buf), back, ROUTE_FILE_MAX_ENTRIES, &n), S_OK);
    assert_int_equal(n, ROUTE_FILE_MAX_ENTRIES);
    for (unsigned i = 0; i < ROUTE_FILE_MAX_ENTRIES; i++)
        assert_true(same_route(&back[i], &r[i]));
    /* A caller's buffer smaller than the file's count. */
    assert_int_equal(route_file_decode(buf, sizeof(buf), back, 10, &n), DRT_E_INVALID_MESSAGE);
    /* One more than the cap is never written. */
    assert_int_equal(route_file_encode(r, ROUTE_FILE_MAX_ENTRIES + 1, buf, sizeof(buf)),
                     E_INVALIDARG);
}

static void test_every_truncation_is_refused(void **state)
{
    (void)state;
    size_t n;
    for (size_t len = 0; len < sizeof(vector); len++)
        assert_int_equal(decode(vector, len, &n), DRT_E_INVALID_MESSAGE);
}

static void test_extension_is_refused(void **state)
{
    (void)state;
    uint8_t buf[sizeof(vector) + ROUTE_FILE_ENTRY];
    memset(buf, 0, sizeof(buf));
    memcpy(buf, vector, sizeof(vector));
    size_t n;
    for (size_t extra = 1; extra <= ROUTE_FILE_ENTRY; extra++)
        assert_int_equal(decode(buf, sizeof(vector) + extra, &n), DRT_E_INVALID_MESSAGE);
}

static void test_every_flipped_byte_is_refused(void **state)
{
    (void)state;
    uint8_t buf[sizeof(vector)];
    size_t n;
    for (size_t i = 0; i < sizeof(vector); i++)
        for (unsigned bit = 0; bit < 8; bit++) {
            memcpy(buf, vector, sizeof(buf));
            buf[i] ^= (uint8_t)(1u << bit);
            assert_int_equal(decode(buf, sizeof(buf), &n), DRT_E_INVALID_MESSAGE);
        }
}

static void test_header_fields_are_checked(void **state)
{
    (void)state;
    uint8_t buf[sizeof(vector)];
    size_t n;
    /* Each resealed, so the digest matches and the field itself decides. */
    struct {
        size_t at;
        uint8_t value;
    } cases[] = {
        {0, 'X'},  /* magic */
        {7, 0},    /* magic's last byte (a text-mode copy loses "\r\n") */
        {9, 2},    /* version 2 */
        {8, 1},    /* version 0x0101 */
        {11, 1},   /* reserved */
        {15, 1},   /* count 1: the length no longer matches */
        {15, 3},   /* count 3 */
        {12, 0xff} /* count huge */
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        memcpy(buf, vector, sizeof(buf));
        buf[cases[c].at] = cases[c].value;
        reseal(buf, sizeof(buf));
        assert_int_equal(decode(buf, sizeof(buf), &n), DRT_E_INVALID_MESSAGE);
    }
    /* Count 0xFFFFFFFF on a file of the size it claims is impossible; on
     * the header alone it must not be believed either. */
    uint8_t hdr[ROUTE_FILE_SIZE(0)];
    assert_int_equal(route_file_encode(NULL, 0, hdr, sizeof(hdr)), S_OK);
    memset(hdr + 12, 0xff, 4);
    reseal(hdr, sizeof(hdr));
    assert_int_equal(decode(hdr, sizeof(hdr), &n), DRT_E_INVALID_MESSAGE);
    /* 1025 entries, sized and sealed as claimed: over the cap. */
    size_t big_len = ROUTE_FILE_SIZE(ROUTE_FILE_MAX_ENTRIES + 1);
    uint8_t *big = calloc(1, big_len);
    assert_non_null(big);
    memcpy(big, vector, 16);
    big[12] = 0;
    big[13] = 0;
    big[14] = 0x04;
    big[15] = 0x01;
    reseal(big, big_len);
    assert_int_equal(decode(big, big_len, &n), DRT_E_INVALID_MESSAGE);
    free(big);
}

/* Entry 0 changed by `edit`, resealed: refused. */
static void expect_entry_refused(void (*edit)(struct drt_engine_route *r, uint8_t *raw))
{
    struct drt_engine_route r[2];
    vector_routes(r);
    uint8_t buf[sizeof(vector)];
    assert_int_equal(route_file_encode(r, 2, buf, sizeof(buf)), S_OK);
    edit(&r[0], buf + ROUTE_FILE_HEADER);
    reseal(buf, sizeof(buf));
    size_t n;
    assert_int_equal(decode(buf, sizeof(buf), &n), DRT_E_INVALID_MESSAGE);
}

static void port_low(struct drt_engine_route *r, uint8_t *raw)
{
    (void)r;
    raw[48] = 0x03; /* 1023 */
    raw[49] = 0xff;
}
static void port_zero(struct drt_engine_route *r, uint8_t *raw)
{
    (void)r;
    raw[48] = raw[49] = 0;
}
static void entry_reserved(struct drt_engine_route *r, uint8_t *raw)
{
    (void)r;
    raw[51] = 1;
}
static void rtt_huge(struct drt_engine_route *r, uint8_t *raw)
{
    (void)r;
    raw[52] = 0x80;
}
static void addr_unspecified(struct drt_engine_route *r, uint8_t *raw)
{
    (void)r;
    memset(raw + 32, 0, 16);
}
static void addr_multicast(struct drt_engine_route *r, uint8_t *raw)
{
    (void)r;
    raw[32] = 0xff;
    raw[33] = 0x02;
}
static void addr_v4_any(struct drt_engine_route *r, uint8_t *raw)
{
    (void)r;
    const uint8_t a[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0};
    memcpy(raw + 32, a, 16);
}
static void addr_v4_multicast(struct drt_engine_route *r, uint8_t *raw)
{
    (void)r;
    const uint8_t a[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 239, 1, 2, 3};
    memcpy(raw + 32, a, 16);
}
static void addr_v4_broadcast(struct drt_engine_route *r, uint8_t *raw)
{
    (void)r;
    const uint8_t a[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 255, 255, 255, 255};
    memcpy(raw + 32, a, 16);
}
static void key_twice(struct drt_engine_route *r, uint8_t *raw)
{
    (void)r;
    memcpy(raw, raw + ROUTE_FILE_ENTRY, 32); /* entry 0 takes entry 1's key */
}

static void test_bad_entries_are_refused(void **state)
{
    (void)state;
    expect_entry_refused(port_low);
    expect_entry_refused(port_zero);
    expect_entry_refused(entry_reserved);
    expect_entry_refused(rtt_huge);
    expect_entry_refused(addr_unspecified);
    expect_entry_refused(addr_multicast);
    expect_entry_refused(addr_v4_any);
    expect_entry_refused(addr_v4_multicast);
    expect_entry_refused(addr_v4_broadcast);
    expect_entry_refused(key_twice);
}

static void test_encoder_refuses_what_decoder_refuses(void **state)
{
    (void)state;
    struct drt_engine_route r[2];
    vector_routes(r);
    uint8_t buf[sizeof(vector)];
    r[1].ep.port = 80;
    assert_int_equal(route_file_encode(r, 2, buf, sizeof(buf)), E_INVALIDARG);
    vector_routes(r);
    assert_int_equal(route_file_encode(r, 2, buf, sizeof(buf) - 1), E_INVALIDARG);
}

/* --- file I/O ------------------------------------------------------------ */

static char dir[64];

static int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/drt-route-file-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static size_t files_in_dir(void)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static void test_write_is_atomic_and_read_back(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof(path), "%s/cache", dir);
    assert_int_equal(route_file_write(path, vector, sizeof(vector)), S_OK);
    /* Overwrite with something else: the rename replaces it whole. */
    uint8_t empty[ROUTE_FILE_SIZE(0)];
    assert_int_equal(route_file_encode(NULL, 0, empty, sizeof(empty)), S_OK);
    assert_int_equal(route_file_write(path, empty, sizeof(empty)), S_OK);
    assert_int_equal(files_in_dir(), 1); /* no temporary left */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    uint8_t *buf;
    size_t len;
    assert_int_equal(route_file_read(path, ROUTE_FILE_MAX_SIZE, &buf, &len), S_OK);
    assert_int_equal(len, sizeof(empty));
    assert_memory_equal(buf, empty, len);
    free(buf);
    /* A path in a folder that does not exist. */
    snprintf(path, sizeof(path), "%s/nope/cache", dir);
    assert_int_equal(route_file_write(path, vector, sizeof(vector)),
                     HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND));
    assert_int_equal(files_in_dir(), 1);
    /* Over a folder: the rename fails and the temporary goes. */
    snprintf(path, sizeof(path), "%s/sub", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_true(FAILED(route_file_write(path, vector, sizeof(vector))));
    assert_int_equal(files_in_dir(), 2);
    assert_int_equal(rmdir(path), 0);
}

static void test_read_refuses_what_is_not_a_file(void **state)
{
    (void)state;
    char path[128];
    uint8_t *buf = NULL;
    size_t len = 0;
    snprintf(path, sizeof(path), "%s/missing", dir);
    assert_int_equal(route_file_read(path, ROUTE_FILE_MAX_SIZE, &buf, &len),
                     HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND));
    assert_null(buf);
    /* A folder, a FIFO (must not block) and a file over the cap. */
    assert_int_equal(route_file_read(dir, ROUTE_FILE_MAX_SIZE, &buf, &len), DRT_E_INVALID_MESSAGE);
    snprintf(path, sizeof(path), "%s/fifo", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(route_file_read(path, ROUTE_FILE_MAX_SIZE, &buf, &len), DRT_E_INVALID_MESSAGE);
    unlink(path);
    snprintf(path, sizeof(path), "%s/big", dir);
    assert_int_equal(route_file_write(path, vector, sizeof(vector)), S_OK);
    assert_int_equal(route_file_read(path, sizeof(vector) - 1, &buf, &len),
                     DRT_E_INVALID_MESSAGE);
    assert_null(buf);
    assert_int_equal(route_file_read(path, sizeof(vector), &buf, &len), S_OK);
    free(buf);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector_encodes_and_decodes),
        cmocka_unit_test(test_protocol_md_shows_the_vector),
        cmocka_unit_test(test_empty_file_round_trips),
        cmocka_unit_test(test_full_file_round_trips),
        cmocka_unit_test(test_every_truncation_is_refused),
        cmocka_unit_test(test_extension_is_refused),
        cmocka_unit_test(test_every_flipped_byte_is_refused),
        cmocka_unit_test(test_header_fields_are_checked),
        cmocka_unit_test(test_bad_entries_are_refused),
        cmocka_unit_test(test_encoder_refuses_what_decoder_refuses),
        cmocka_unit_test_setup_teardown(test_write_is_atomic_and_read_back, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_read_refuses_what_is_not_a_file, make_dir,
                                        remove_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
