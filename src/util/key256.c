/* key256.c - arithmetic on the 256-bit key ring (see key256.h). */
#include "util/key256.h"

#include <string.h>

const drt_key key256_zero = {{0}};
const drt_key key256_max = {{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                             0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                             0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                             0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}};

void key256_from_bytes(drt_key *k, const uint8_t bytes[DRT_KEY_BYTES])
{
    memcpy(k->b, bytes, DRT_KEY_BYTES);
}

void key256_to_bytes(const drt_key *k, uint8_t bytes[DRT_KEY_BYTES])
{
    memcpy(bytes, k->b, DRT_KEY_BYTES);
}

void key256_from_u64(drt_key *k, uint64_t v)
{
    memset(k->b, 0, DRT_KEY_BYTES);
    for (int i = 0; i < 8; i++)
        k->b[i] = (uint8_t)(v >> (8 * i));
}

/* The key as four 64-bit limbs, least significant first. */
static inline uint64_t limb(const drt_key *k, int i)
{
    uint64_t v;
    memcpy(&v, k->b + 8 * i, sizeof(v));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static inline void set_limb(drt_key *k, int i, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    memcpy(k->b + 8 * i, &v, sizeof(v));
}

int key256_cmp(const drt_key *a, const drt_key *b)
{
    for (int i = 3; i >= 0; i--) {
        uint64_t x = limb(a, i), y = limb(b, i);
        if (x != y)
            return x < y ? -1 : 1;
    }
    return 0;
}

bool key256_equal(const drt_key *a, const drt_key *b)
{
    return memcmp(a->b, b->b, DRT_KEY_BYTES) == 0;
}

bool key256_is_zero(const drt_key *k)
{
    return key256_equal(k, &key256_zero);
}

void key256_add(drt_key *r, const drt_key *a, const drt_key *b)
{
    uint64_t carry = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t x = limb(a, i), y = limb(b, i);
        uint64_t s = x + y;
        uint64_t c = s < x;
        s += carry;
        c |= s < carry;
        set_limb(r, i, s);
        carry = c;
    }
}

void key256_sub(drt_key *r, const drt_key *a, const drt_key *b)
{
    uint64_t borrow = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t x = limb(a, i), y = limb(b, i);
        uint64_t d = x - y;
        uint64_t o = x < y;
        o |= d < borrow;
        set_limb(r, i, d - borrow);
        borrow = o;
    }
}

void key256_add_u64(drt_key *r, const drt_key *a, uint64_t v)
{
    drt_key kv;
    key256_from_u64(&kv, v);
    key256_add(r, a, &kv);
}

void key256_sub_u64(drt_key *r, const drt_key *a, uint64_t v)
{
    drt_key kv;
    key256_from_u64(&kv, v);
    key256_sub(r, a, &kv);
}

void key256_cw_distance(drt_key *d, const drt_key *a, const drt_key *b)
{
    key256_sub(d, b, a);
}

void key256_ring_distance(drt_key *d, const drt_key *a, const drt_key *b)
{
    /* The clockwise way is the shorter one (or a tie, which keeps it) unless
     * it is more than half the ring; then the other way, 2^256 - fwd. */
    drt_key fwd;
    key256_sub(&fwd, b, a);
    bool over_half = fwd.b[DRT_KEY_BYTES - 1] & 0x80;
    if (over_half) {
        bool exactly_half = fwd.b[DRT_KEY_BYTES - 1] == 0x80;
        for (int i = 0; exactly_half && i < DRT_KEY_BYTES - 1; i++)
            exactly_half = fwd.b[i] == 0;
        if (!exactly_half) {
            key256_sub(d, &key256_zero, &fwd);
            return;
        }
    }
    *d = fwd;
}

void key256_abs_distance(drt_key *d, const drt_key *a, const drt_key *b)
{
    if (key256_cmp(a, b) >= 0)
        key256_sub(d, a, b);
    else
        key256_sub(d, b, a);
}

int key256_closer(const drt_key *target, const drt_key *a, const drt_key *b)
{
    drt_key da, db;
    key256_ring_distance(&da, target, a);
    key256_ring_distance(&db, target, b);
    int c = key256_cmp(&da, &db);
    return c != 0 ? c : key256_cmp(a, b);
}

bool key256_in_range(const drt_key *k, const drt_key *min, const drt_key *max)
{
    return key256_cmp(min, max) <= 0 && key256_cmp(k, min) >= 0 && key256_cmp(k, max) <= 0;
}

unsigned key256_common_prefix_bits(const drt_key *a, const drt_key *b)
{
    for (int i = DRT_KEY_BYTES - 1; i >= 0; i--) {
        uint8_t x = a->b[i] ^ b->b[i];
        if (x) {
            unsigned n = (unsigned)(DRT_KEY_BYTES - 1 - i) * 8;
            while (!(x & 0x80)) {
                x = (uint8_t)(x << 1);
                n++;
            }
            return n;
        }
    }
    return DRT_KEY_BITS;
}

unsigned key256_bit(const drt_key *k, unsigned i)
{
    unsigned byte = DRT_KEY_BYTES - 1 - i / 8;
    return (k->b[byte] >> (7 - i % 8)) & 1u;
}

unsigned key256_digit(const drt_key *k, unsigned level, unsigned bits_per_digit)
{
    unsigned v = 0;
    for (unsigned j = 0; j < bits_per_digit; j++)
        v = (v << 1) | key256_bit(k, level * bits_per_digit + j);
    return v;
}

void key256_shr(drt_key *r, const drt_key *k, unsigned n)
{
    drt_key out = key256_zero;
    if (n < DRT_KEY_BITS) {
        unsigned bytes = n / 8, bits = n % 8;
        for (unsigned i = 0; i + bytes < DRT_KEY_BYTES; i++) {
            unsigned lo = k->b[i + bytes];
            unsigned hi = i + bytes + 1 < DRT_KEY_BYTES ? k->b[i + bytes + 1] : 0;
            out.b[i] = (uint8_t)(((hi << 8) | lo) >> bits);
        }
    }
    *r = out;
}

void key256_midpoint(drt_key *r, const drt_key *a, const drt_key *b)
{
    drt_key d;
    key256_cw_distance(&d, a, b);
    key256_shr(&d, &d, 1);
    key256_add(r, a, &d);
}

void key256_to_hex(const drt_key *k, char out[DRT_KEY_HEX_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < DRT_KEY_BYTES; i++) {
        uint8_t byte = k->b[DRT_KEY_BYTES - 1 - i];
        out[2 * i] = digits[byte >> 4];
        out[2 * i + 1] = digits[byte & 0xF];
    }
    out[DRT_KEY_HEX_LEN] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool key256_from_hex(drt_key *k, const char *hex)
{
    if (!hex)
        return false;
    if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
        hex += 2;
    size_t n = 0;
    while (n <= DRT_KEY_HEX_LEN && hex[n])
        n++;
    if (n == 0 || n > DRT_KEY_HEX_LEN)
        return false;

    drt_key out = key256_zero;
    /* The last digit is the least significant nibble. */
    for (size_t i = 0; i < n; i++) {
        int v = hex_value(hex[n - 1 - i]);
        if (v < 0)
            return false;
        out.b[i / 2] |= (uint8_t)(v << (4 * (i % 2)));
    }
    *k = out;
    return true;
}
