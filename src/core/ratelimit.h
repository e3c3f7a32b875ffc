/*
 * ratelimit.h - token buckets for inbound requests, sans-I/O (time comes in
 * as milliseconds on any monotonic clock).
 *
 * Every request a node answers costs it work and an answer on the wire, and
 * a UDP source is free to forge; so requests are admitted through two
 * buckets (docs/RELIABILITY.md):
 *
 *   - one per source endpoint, in a table of up to `slots` entries: a
 *     source never seen before takes a slot, the least recently seen
 *     source gives its slot up when the table is full. A source gets
 *     `burst` requests at once and `rate_per_s` a second after that.
 *   - one global bucket (struct token_bucket) the engine owns.
 *
 * A source that answered one of our own requests (its MessageID matched:
 * return routability) is marked proven. The engine exempts proven sources
 * from the global budget, so a flood from strangers cannot starve the
 * cloud's own peers; and eviction passes over proven sources while an
 * unproven one is near the tail, so a flood from more sources than slots
 * cannot push them out either.
 *
 * The table grows with the sources heard from, doubling from 16 entries
 * up to `slots`, and never beyond (ratelimit_memory bytes); lookups hash
 * the endpoint with a per-table seed, so sources chosen off-path cannot
 * all land in one chain.
 */
#ifndef DRT_CORE_RATELIMIT_H
#define DRT_CORE_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/endpoint.h"

/* What the bucket lacks of being full, in thousandths of a token (a rate
 * of r per second refills r per ms). All zeroes is a full bucket, so a new
 * one needs no setting up and no flag. */
struct token_bucket {
    uint64_t deficit;
    uint64_t last_ms;
};

/* Takes one token if there is one; false when the bucket is empty. A
 * clock that goes backwards refills nothing. */
bool token_bucket_take(struct token_bucket *b, uint32_t rate_per_s, uint32_t burst,
                       uint64_t now_ms);

struct ratelimit_config {
    uint32_t slots;      /* sources tracked at once at most, >= 1 */
    uint32_t rate_per_s; /* sustained requests per second per source, >= 1 */
    uint32_t burst;      /* requests a source may send at once, >= 1 */
    uint64_t seed;       /* for the hash (from the engine's randomness) */
};

enum ratelimit_verdict {
    RATELIMIT_ALLOW,         /* an unproven source, within its own rate */
    RATELIMIT_ALLOW_PROVEN,  /* a proven source, within its own rate */
    RATELIMIT_DENY,          /* over its own rate */
};

struct ratelimit;

/* NULL when cfg is out of range or memory is short. */
struct ratelimit *ratelimit_create(const struct ratelimit_config *cfg);
void ratelimit_destroy(struct ratelimit *rl);

/* One request from src at now_ms. */
enum ratelimit_verdict ratelimit_check(struct ratelimit *rl, const struct drt_endpoint *src,
                                       uint64_t now_ms);
/* src answered one of our requests (tracked from now on if it was not). */
void ratelimit_mark_proven(struct ratelimit *rl, const struct drt_endpoint *src);

size_t ratelimit_sources(const struct ratelimit *rl);
uint64_t ratelimit_evictions(const struct ratelimit *rl);
size_t ratelimit_memory(const struct ratelimit *rl);

#endif
