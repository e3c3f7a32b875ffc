/*
 * route_file.h - the route cache file of DrtSaveRouteCache and
 * DrtLoadRouteCache: its bytes (route_file.c, pure: no I/O) and its
 * reading and atomic writing (route_file_io.c). Byte layout, rules and a
 * test vector: docs/PROTOCOL.md, "Route cache file".
 *
 *   0   8  magic "DRTRCF\r\n"
 *   8   2  version, 1 (big-endian, as every number here)
 *  10   2  reserved, 0
 *  12   4  count N, 0..ROUTE_FILE_MAX_ENTRIES
 *  16  56  N entries: key 32 (wire order), IPv6 address 16 (IPv4 as
 *          ::ffff:a.b.c.d), port 2, reserved 2 (0), RTT in ms 4
 *  16+56N 32  SHA-256 of every byte before it
 *
 * The checksum catches damage (a torn copy, a flipped bit), not forgery:
 * anyone who can write the file can recompute it. What keeps a forged file
 * harmless is the strict decoder here and, above all, that the engine
 * INQUIREs every loaded entry before using it (engine.h, "Persistence").
 */
#ifndef DRT_API_ROUTE_FILE_H
#define DRT_API_ROUTE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <drt.h>

#include "core/engine.h"

#define ROUTE_FILE_MAGIC "DRTRCF\r\n"
#define ROUTE_FILE_MAGIC_LEN 8u
#define ROUTE_FILE_VERSION 1u
#define ROUTE_FILE_HEADER 16u
#define ROUTE_FILE_ENTRY 56u
#define ROUTE_FILE_DIGEST 32u
/* The route cache's default cap: a file never holds more than one cache. */
#define ROUTE_FILE_MAX_ENTRIES 1024u
/* Rejected above this: the largest RTT sample the engine keeps. */
#define ROUTE_FILE_MAX_RTT_MS 60000u
#define ROUTE_FILE_SIZE(n) (ROUTE_FILE_HEADER + (size_t)(n) * ROUTE_FILE_ENTRY + ROUTE_FILE_DIGEST)
#define ROUTE_FILE_MAX_SIZE ROUTE_FILE_SIZE(ROUTE_FILE_MAX_ENTRIES)

/* Whether an entry may appear in a file: port >= 1024, RTT <= the cap, and
 * an address a peer can have (not unspecified, not multicast; for an
 * IPv4-mapped one, not 0.0.0.0/8 nor 224.0.0.0/3: multicast, reserved,
 * broadcast). */
bool route_file_entry_valid(const struct drt_engine_route *r);

/* Writes the file for n entries (n <= ROUTE_FILE_MAX_ENTRIES, each valid)
 * to out, which holds ROUTE_FILE_SIZE(n) bytes. S_OK, E_INVALIDARG
 * (n or an entry out of bounds: what we write always decodes), or
 * E_OUTOFMEMORY/E_FAIL when the digest cannot be computed. */
HRESULT route_file_encode(const struct drt_engine_route *in, size_t n, uint8_t *out,
                          size_t out_len);

/* Reads a whole file of len bytes into out (cap entries, at least the
 * count the file gives; ROUTE_FILE_MAX_ENTRIES always suffices). S_OK with
 * *n set, or DRT_E_INVALID_MESSAGE for anything but an exact, intact file:
 * wrong magic, version or reserved bytes, a count above the cap or larger
 * than cap, a length other than ROUTE_FILE_SIZE(count), a digest mismatch,
 * an invalid entry, a key twice. out is unspecified on failure. */
HRESULT route_file_decode(const uint8_t *buf, size_t len, struct drt_engine_route *out,
                          size_t cap, size_t *n);

/* route_file_io.c. Writes buf atomically at path: a new file in the same
 * folder, fsync, rename over path, fsync of the folder; a failure leaves
 * path as it was and no temporary file behind. */
HRESULT route_file_write(const char *path, const uint8_t *buf, size_t len);
/* Reads path whole into a malloc'd *buf (*len bytes), refusing (before
 * reading further) anything longer than max. Errors: see route_file_io.c. */
HRESULT route_file_read(const char *path, size_t max, uint8_t **buf, size_t *len);

#endif
