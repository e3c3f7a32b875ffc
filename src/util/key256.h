/*
 * key256.h - 256-bit keys and the arithmetic of the DRT key ring.
 *
 * A key is 32 bytes in exactly the order of DRT_DATA.pb, read as a
 * little-endian unsigned integer: b[0] is the least significant byte and
 * b[31] the most significant (the Windows SDK DRT sample stores and prints
 * keys this way). Printed keys read as numbers: 64 hex digits, b[31] first.
 * Bit numbering for prefixes counts from the most significant bit, so
 * "leading bits" are the top bits of b[31].
 *
 * The key space is a ring: 0 and 2^256-1 are neighbours. Two distances are
 * offered, each with its use:
 *   - ring distance (min of the two ways round): routing, leaf sets, "which
 *     node is closest to this key";
 *   - numeric distance |a-b| without wrap: range searches, where [min, max]
 *     never wraps (docs/API.md).
 */
#ifndef DRT_UTIL_KEY256_H
#define DRT_UTIL_KEY256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DRT_KEY_BYTES 32
#define DRT_KEY_BITS 256
#define DRT_KEY_HEX_LEN 64 /* digits, without the NUL */

typedef struct drt_key {
    uint8_t b[DRT_KEY_BYTES];
} drt_key;

extern const drt_key key256_zero; /* 0 */
extern const drt_key key256_max;  /* 2^256 - 1 */

void key256_from_bytes(drt_key *k, const uint8_t bytes[DRT_KEY_BYTES]);
void key256_to_bytes(const drt_key *k, uint8_t bytes[DRT_KEY_BYTES]);
void key256_from_u64(drt_key *k, uint64_t v);

/* -1, 0 or 1 as a is below, equal to or above b. */
int key256_cmp(const drt_key *a, const drt_key *b);
bool key256_equal(const drt_key *a, const drt_key *b);
bool key256_is_zero(const drt_key *k);

/* r = a + b and r = a - b, modulo 2^256. r may alias a or b. */
void key256_add(drt_key *r, const drt_key *a, const drt_key *b);
void key256_sub(drt_key *r, const drt_key *a, const drt_key *b);
void key256_add_u64(drt_key *r, const drt_key *a, uint64_t v);
void key256_sub_u64(drt_key *r, const drt_key *a, uint64_t v);

/* Clockwise distance from a to b: (b - a) mod 2^256. */
void key256_cw_distance(drt_key *d, const drt_key *a, const drt_key *b);
/* Ring distance: the shorter of the two ways round. */
void key256_ring_distance(drt_key *d, const drt_key *a, const drt_key *b);
/* Numeric distance |a - b|, no wrap. */
void key256_abs_distance(drt_key *d, const drt_key *a, const drt_key *b);

/* Negative if a is closer to target than b by ring distance, positive if b
 * is, 0 only when a == b. Equal distances (a and b on opposite sides at the
 * same distance) go to the numerically smaller key, so the order is total
 * and every node breaks ties the same way. */
int key256_closer(const drt_key *target, const drt_key *a, const drt_key *b);

/* min <= k <= max; false when min > max (ranges never wrap). */
bool key256_in_range(const drt_key *k, const drt_key *min, const drt_key *max);

/* Leading bits (from the most significant) that a and b share, 0..256. */
unsigned key256_common_prefix_bits(const drt_key *a, const drt_key *b);

/* Bit i, counted from the most significant (i = 0 is the top bit), 0..255. */
unsigned key256_bit(const drt_key *k, unsigned i);

/* The digit of bits_per_digit bits (1..8, dividing 256) at level, level 0
 * being the most significant digit. For prefix-organised route caches. */
unsigned key256_digit(const drt_key *k, unsigned level, unsigned bits_per_digit);

/* r = k >> n (logical), n 0..256. r may alias k. */
void key256_shr(drt_key *r, const drt_key *k, unsigned n);

/* The point halfway clockwise from a to b: a + cw(a,b)/2. */
void key256_midpoint(drt_key *r, const drt_key *a, const drt_key *b);

/* 64 lowercase hex digits, most significant first, NUL-terminated. */
void key256_to_hex(const drt_key *k, char out[DRT_KEY_HEX_LEN + 1]);

/* Parses 1..64 hex digits (either case, optional "0x"), the most significant
 * first; shorter input is zero-extended at the top. Returns false, leaving k
 * untouched, for NULL, empty, over-long or non-hex input. */
bool key256_from_hex(drt_key *k, const char *hex);

#endif
