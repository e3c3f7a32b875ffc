/*
 * route_file.c - the route cache file's bytes (route_file.h). Pure: the
 * caller brings the bytes, so the decoder can be fuzzed whole
 * (fuzz/fuzz_route_cache_file.c). The decoder accepts exactly what the
 * encoder writes; every other input is DRT_E_INVALID_MESSAGE.
 */
#include "api/route_file.h"

#include <string.h>

#include <openssl/evp.h>

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static bool digest(const uint8_t *buf, size_t len, uint8_t out[ROUTE_FILE_DIGEST])
{
    unsigned int n = 0;
    return EVP_Digest(buf, len, out, &n, EVP_sha256(), NULL) == 1 && n == ROUTE_FILE_DIGEST;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

static bool address_valid(const uint8_t a[16])
{
    static const uint8_t v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (all_zero(a, 16) || a[0] == 0xff) /* unspecified, multicast */
        return false;
    if (memcmp(a, v4_prefix, sizeof(v4_prefix)) == 0)
        /* 0.0.0.0/8 is "this network"; 224/4 multicast, 240/4 reserved
         * and the broadcast address are nobody's unicast endpoint. */
        return a[12] != 0 && a[12] < 224;
    return true;
}

bool route_file_entry_valid(const struct drt_engine_route *r)
{
    return r->ep.port >= 1024 && r->rtt_ms <= ROUTE_FILE_MAX_RTT_MS && address_valid(r->ep.addr);
}

HRESULT route_file_encode(const struct drt_engine_route *in, size_t n, uint8_t *out,
                          size_t out_len)
{
    if ((n && !in) || !out || n > ROUTE_FILE_MAX_ENTRIES || out_len < ROUTE_FILE_SIZE(n))
        return E_INVALIDARG;
    for (size_t i = 0; i < n; i++)
        if (!route_file_entry_valid(&in[i]))
            return E_INVALIDARG;
    memcpy(out, ROUTE_FILE_MAGIC, ROUTE_FILE_MAGIC_LEN);
    put16(out + 8, ROUTE_FILE_VERSION);
    put16(out + 10, 0);
    put32(out + 12, (uint32_t)n);
    uint8_t *p = out + ROUTE_FILE_HEADER;
    for (size_t i = 0; i < n; i++, p += ROUTE_FILE_ENTRY) {
        memcpy(p, in[i].key, 32);
        memcpy(p + 32, in[i].ep.addr, 16);
        put16(p + 48, in[i].ep.port);
        put16(p + 50, 0);
        put32(p + 52, in[i].rtt_ms);
    }
    return digest(out, (size_t)(p - out), p) ? S_OK : E_FAIL;
}

HRESULT route_file_decode(const uint8_t *buf, size_t len, struct drt_engine_route *out,
                          size_t cap, size_t *n)
{
    if (!buf || !n || (cap && !out))
        return E_INVALIDARG;
    *n = 0;
    /* The header first, so the count can size everything after it. */
    if (len < ROUTE_FILE_SIZE(0) || memcmp(buf, ROUTE_FILE_MAGIC, ROUTE_FILE_MAGIC_LEN) != 0 ||
        get16(buf + 8) != ROUTE_FILE_VERSION || get16(buf + 10) != 0)
        return DRT_E_INVALID_MESSAGE;
    uint32_t count = get32(buf + 12);
    if (count > ROUTE_FILE_MAX_ENTRIES || count > cap || len != ROUTE_FILE_SIZE(count))
        return DRT_E_INVALID_MESSAGE;
    size_t body = ROUTE_FILE_HEADER + (size_t)count * ROUTE_FILE_ENTRY;
    uint8_t md[ROUTE_FILE_DIGEST];
    if (!digest(buf, body, md))
        return E_FAIL;
    if (memcmp(md, buf + body, ROUTE_FILE_DIGEST) != 0)
        return DRT_E_INVALID_MESSAGE;
    const uint8_t *p = buf + ROUTE_FILE_HEADER;
    for (uint32_t i = 0; i < count; i++, p += ROUTE_FILE_ENTRY) {
        struct drt_engine_route *r = &out[i];
        memcpy(r->key, p, 32);
        memcpy(r->ep.addr, p + 32, 16);
        r->ep.port = get16(p + 48);
        r->rtt_ms = get32(p + 52);
        if (get16(p + 50) != 0 || !route_file_entry_valid(r))
            return DRT_E_INVALID_MESSAGE;
        /* The encoder never writes a key twice (a cache holds each once). */
        for (uint32_t k = 0; k < i; k++)
            if (memcmp(out[k].key, r->key, 32) == 0)
                return DRT_E_INVALID_MESSAGE;
    }
    *n = count;
    return S_OK;
}
