/*
 * route_cache_internal.h - the insides of struct route_cache, shared by
 * route_cache.c (storage, placement, policy) and route_cache_query.c (the
 * read-only questions the engine asks). Nothing outside those two files
 * includes this.
 */
#ifndef DRT_CORE_ROUTE_CACHE_INTERNAL_H
#define DRT_CORE_ROUTE_CACHE_INTERNAL_H

#include "core/route_cache.h"

#define ROUTE_CACHE_INITIAL_SLOTS 32u
#define NONE 0xFFFFu

struct rc_slot {
    struct route_cache_entry e;
    uint16_t table_refs; /* table cells holding it, over all owners */
    uint16_t leaf_refs;  /* leaf sets holding it */
    uint16_t pos;        /* its index in dense[] */
    bool in_use;
};

/* One level of an owner's table. */
typedef uint16_t rc_row[ROUTE_CACHE_BUCKETS][ROUTE_CACHE_BUCKET_SIZE];

struct rc_owner {
    drt_key key;
    bool local;
    struct leafset leaf; /* local owners only */
    /* Levels 0..nrows-1, grown when an entry first needs a deeper one: a
     * ring of N nodes fills about log16(N) + 2 of the ROUTE_CACHE_LEVELS,
     * and every node pays for its rows in resident memory. */
    rc_row *rows;
    uint32_t nrows;
};

struct route_cache {
    struct route_cache_config cfg;
    uint64_t hash_seed;
    /* Up to max_entries + 1 slots: the spare lets a newcomer be placed
     * first and the pool trimmed back to the cap afterwards, choosing the
     * victim with everything known. nslots are allocated so far. */
    struct rc_slot *slots;
    uint32_t nslots;
    /* dense[0..count) are the slots in use, dense[count..nslots) the free
     * ones: O(1) alloc and free, and iteration over used slots only. */
    uint16_t *dense;
    uint32_t count;
    uint32_t npending;
    /* Key -> slot, open addressing with linear probing. Keys come from the
     * network, so the hash is seeded: colliding keys cannot be precomputed. */
    uint16_t *index;
    uint32_t index_mask;
    /* Table owners: the local keys, or the self id alone while none. */
    struct rc_owner **owners;
    uint32_t nowners;
    uint32_t nlocal;
    struct rc_owner *self; /* allocated at create, so retiring the last local key cannot fail */
};

static inline bool is_verified(const struct route_cache_entry *e)
{
    return (e->flags & ROUTE_CACHE_VERIFIED) != 0;
}

/* The slot holding key, or NONE. */
uint16_t rc_index_find(const struct route_cache *rc, const drt_key *key);
/* The ROUTE_CACHE_BUCKET_SIZE cells of o's table where key belongs. */
/* The bucket where key belongs in o's table. Without grow, NULL when its
 * level has no row yet (an empty bucket); with grow, NULL only when the
 * row cannot be allocated. */
uint16_t *rc_bucket_of(struct rc_owner *o, const drt_key *key, bool grow);
/* The local owner of key, or NULL. */
struct rc_owner *rc_local_owner(const struct route_cache *rc, const drt_key *key);

#endif
