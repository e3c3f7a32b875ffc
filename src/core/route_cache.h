/*
 * route_cache.h - the one route cache of a DRT node, shared by all its local
 * keys: which remote keys it knows, at which endpoint, and how far to trust
 * them. The engine routes every LOOKUP from here.
 *
 * Organisation (PAST/Pastry-like, as [MC-DRT] asks: leaf sets plus entries
 * spread over the ring at every prefix level, so a lookup takes O(log N)
 * hops). Every entry lives once in a pool of max_entries slots. An entry is
 * kept only while something refers to it:
 *   - the leaf set (core/leafset.h) of a local key: the 5 nearest verified
 *     keys below and 5 above it. Leaf sets are exact over the pool: they
 *     always hold the nearest verified entries the cache knows.
 *   - the prefix table of an "owner": each local key, or, on a resolve-only
 *     node with no local key, a random self id drawn at create. Level l holds
 *     keys sharing exactly l leading 4-bit digits with the owner, in 16
 *     buckets by their next digit, ROUTE_CACHE_BUCKET_SIZE entries a bucket.
 *     Only ROUTE_CACHE_LEVELS levels exist: level l fills only once a ring
 *     has about 16^l nodes, so keys sharing more digits (a near-equal key,
 *     or another instance's copy of a local key) share the last level.
 * One entry may sit in the table of several owners and the leaf sets of
 * several local keys at once; it still takes one slot.
 *
 * Verification. [MC-DRT] 3.2 caches route entries learned from traffic only
 * after a return-routability check (INQUIRE with a nonce). An entry offered
 * without ROUTE_CACHE_VERIFIED is held aside, pending, in no table and no
 * leaf set, so unverified input can never push out a verified entry or
 * change a leaf set: it is accepted only if, once verified, it would find a
 * place; at most max_pending are held (a new one displaces the oldest); and
 * route_cache_mark_verified() places it like a verified offer. Lookups skip
 * pending entries unless asked (ROUTE_CACHE_Q_PENDING).
 *
 * Replacement policy. A bucket with room takes every verified entry that
 * belongs to it. A full bucket takes a newcomer only if it is strictly
 * better than the worst occupant, which then loses that place:
 *   1. verified beats pending;
 *   2. fresh (seen within fresh_ms) beats stale;
 *   3. a measured RTT beats an unmeasured one, and a measured RTT below 3/4
 *      of the other beats it (the margin keeps jitter from churning buckets);
 *   4. otherwise the incumbent stays: a bucket of live, equally near nodes
 *      does not turn over with every new node heard of (stability, and a
 *      flood of new keys cannot flush it).
 * Leaf-set membership is decided by ring nearness alone and beats tables:
 * when the pool is full, a verified newcomer that belongs in a leaf set
 * evicts the worst entry that is in no leaf set (pending first, then by the
 * order above). An entry that loses its last place is first given a free
 * table cell elsewhere, if one fits, before it is forgotten.
 *
 * Caps. max_entries slots (pending included), allocated as needed by
 * half again from 32 (a node of a 10,000-node ring holds a few hundred, and
 * the simulator runs thousands of caches in one process), never beyond;
 * max_local_keys owners, each a leaf set and a table of up to
 * ROUTE_CACHE_LEVELS rows of 16 x ROUTE_CACHE_BUCKET_SIZE 16-bit cells; the
 * owner is allocated when the key is added (the self id's at create), a row
 * when the first entry needs it (rows 0..log16(N) + 2 or so); max_pending
 * pending entries. Nothing else is allocated; route_cache_memory() adds it
 * all up. When memory runs short an offer is simply REJECTED.
 *
 * Leaf-set changes of local keys are reported through on_leafset, in the
 * order they happen, with the values of DRT_LEAFSET_KEY_CHANGE_TYPE. The
 * callback must not call back into the cache.
 *
 * Sans-I/O: time comes in as now_ms, randomness from the caller's callback.
 * Not thread-safe: one cache belongs to one engine thread. The cache does
 * not know the node's own endpoints: the engine must not offer its own
 * route entries.
 */
#ifndef DRT_CORE_ROUTE_CACHE_H
#define DRT_CORE_ROUTE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/endpoint.h"
#include "core/leafset.h"
#include "util/key256.h"

#define ROUTE_CACHE_DIGIT_BITS 4u
#define ROUTE_CACHE_BUCKETS 16u    /* 2^ROUTE_CACHE_DIGIT_BITS */
#define ROUTE_CACHE_LEVELS 32u     /* 128 leading bits; see above */
#define ROUTE_CACHE_BUCKET_SIZE 3u /* spares for a dead or slow node */

/* Defaults and bounds of struct route_cache_config. */
#define ROUTE_CACHE_DEFAULT_MAX_ENTRIES 1024u
#define ROUTE_CACHE_DEFAULT_MAX_PENDING 64u
#define ROUTE_CACHE_DEFAULT_MAX_LOCAL_KEYS 32u
#define ROUTE_CACHE_DEFAULT_FRESH_MS 60000u /* four 15 s maintenance rounds */
#define ROUTE_CACHE_MAX_ENTRIES_LIMIT 65534u /* slot numbers are 16-bit */
#define ROUTE_CACHE_MAX_LOCAL_KEYS_LIMIT 1024u
/* Queries that rank by distance keep their candidates on the stack. */
#define ROUTE_CACHE_QUERY_MAX 64u

/* route_cache_entry.flags */
#define ROUTE_CACHE_VERIFIED 0x1u /* passed the return-routability check */
#define ROUTE_CACHE_LOCAL 0x2u    /* a local key (query results only; ep unset) */

struct route_cache_entry {
    drt_key key;
    struct drt_endpoint ep;
    uint32_t flags;
    uint32_t rtt_ms;       /* smoothed round trip; 0 = never measured */
    uint64_t last_seen_ms; /* verified: last heard from; pending: when offered */
};

/* on_leafset: a key entered or left the leaf set of local_key. */
typedef void (*route_cache_leafset_fn)(void *ctx, const drt_key *local_key,
                                       enum leafset_change_type change,
                                       const struct route_cache_entry *entry);
/* Fills len bytes with randomness. */
typedef void (*route_cache_random_fn)(void *ctx, void *buf, size_t len);

struct route_cache_config {
    /* Slots in all, pending included; at least
     * LEAFSET_CAPACITY * max_local_keys + 16, at most the limit above. */
    uint32_t max_entries;
    /* Pending entries held at once, 1..max_entries / 2. */
    uint32_t max_pending;
    /* Local keys at once, 1..ROUTE_CACHE_MAX_LOCAL_KEYS_LIMIT. */
    uint32_t max_local_keys;
    /* How long since last_seen an entry still counts as fresh, >= 1. */
    uint64_t fresh_ms;
    route_cache_random_fn random; /* required */
    void *random_ctx;
    route_cache_leafset_fn on_leafset; /* may be NULL */
    void *leafset_ctx;
};

enum route_cache_result {
    ROUTE_CACHE_REJECTED,  /* not kept: no place for it, or conflicts with a verified entry */
    ROUTE_CACHE_INSERTED,  /* new, placed without displacing anything */
    ROUTE_CACHE_UPDATED,   /* known already: refreshed */
    ROUTE_CACHE_REPLACED,  /* new and placed; another entry lost a place for it */
    ROUTE_CACHE_PENDING,   /* held pending verification */
    ROUTE_CACHE_NOT_FOUND, /* route_cache_mark_verified: no such key */
};

/* Query flags. */
#define ROUTE_CACHE_Q_PENDING 0x1u /* consider pending entries too */
#define ROUTE_CACHE_Q_LOCAL 0x2u   /* consider local keys too (ROUTE_CACHE_LOCAL) */

/* Return true to leave e out of a query's answer (e.g. hops already asked). */
typedef bool (*route_cache_exclude_fn)(void *ctx, const struct route_cache_entry *e);

struct route_cache;

/* The defaults above; random and on_leafset NULL. */
void route_cache_config_default(struct route_cache_config *cfg);

/* Draws the self id and a hash seed from cfg->random. NULL when cfg is out
 * of bounds (random missing included) or memory is short. */
struct route_cache *route_cache_create(const struct route_cache_config *cfg);
void route_cache_destroy(struct route_cache *rc);

/* Makes key an owner: builds its table and leaf set from what the cache
 * holds (reporting each leaf-set member as ADDED) and, for the first local
 * key, retires the self id's table. False if key is local already,
 * max_local_keys are registered or memory is short. */
bool route_cache_add_local_key(struct route_cache *rc, const drt_key *key, uint64_t now_ms);

/* Retires a local key's table and leaf set (no events: the key is gone);
 * entries nothing else refers to are forgotten. Removing the last local
 * key brings the self id's table back. False if key is not local. */
bool route_cache_remove_local_key(struct route_cache *rc, const drt_key *key, uint64_t now_ms);

bool route_cache_is_local(const struct route_cache *rc, const drt_key *key);
size_t route_cache_local_count(const struct route_cache *rc);

/* The id the tables are built around while no key is local. */
const drt_key *route_cache_self_id(const struct route_cache *rc);

/*
 * Offers a route entry: e->key, e->ep, e->flags & ROUTE_CACHE_VERIFIED and
 * e->rtt_ms (0 if not measured); last_seen_ms becomes now_ms. A known key:
 *   - verified offer: endpoint, RTT and last_seen refreshed, UPDATED (a
 *     pending entry becomes verified and is placed: INSERTED / REPLACED /
 *     REJECTED);
 *   - pending offer for a verified entry: UPDATED if at the same endpoint
 *     (nothing refreshed: hearsay proves no liveness), REJECTED if at
 *     another (the verified one stands until it fails and is removed);
 *   - pending offer for a pending entry: endpoint and time updated, UPDATED.
 * A new key: verified -> INSERTED / REPLACED / REJECTED by the policy above;
 * pending -> PENDING if it would find a place once verified, else REJECTED.
 */
enum route_cache_result route_cache_offer(struct route_cache *rc,
                                          const struct route_cache_entry *e, uint64_t now_ms);

/* The verification of key succeeded, with a round trip of rtt_ms (0 if not
 * measured). A pending entry is placed (INSERTED / REPLACED / REJECTED); a
 * verified one is refreshed (UPDATED). NOT_FOUND if the key is unknown. */
enum route_cache_result route_cache_mark_verified(struct route_cache *rc, const drt_key *key,
                                                  uint32_t rtt_ms, uint64_t now_ms);

/* The same for every pending entry at ep. Returns how many were placed. */
size_t route_cache_mark_endpoint_verified(struct route_cache *rc, const struct drt_endpoint *ep,
                                          uint32_t rtt_ms, uint64_t now_ms);

/* A datagram came back from ep after rtt_ms (0: no round trip to measure):
 * every entry at ep is refreshed, and the RTT sample folded in with weight
 * 1/8. */
void route_cache_observe(struct route_cache *rc, const struct drt_endpoint *ep, uint32_t rtt_ms,
                         uint64_t now_ms);

/* Forgets key (revoked, or its node failed); leaf sets it leaves are
 * refilled from the pool. False if unknown. */
bool route_cache_remove_key(struct route_cache *rc, const drt_key *key);

/* Forgets every entry at ep. Returns how many. */
size_t route_cache_remove_endpoint(struct route_cache *rc, const struct drt_endpoint *ep);

/* Forgets pending entries offered before cutoff_ms (their check is
 * overdue). Returns how many. */
size_t route_cache_expire_pending(struct route_cache *rc, uint64_t cutoff_ms);

/* Up to n pending entries, oldest first. Returns how many. */
size_t route_cache_pending(const struct route_cache *rc, struct route_cache_entry *out, size_t n);

/*
 * Up to n (<= ROUTE_CACHE_QUERY_MAX) entries nearest to target by ring
 * distance, nearest first, ties as key256_closer(). Verified entries only
 * unless ROUTE_CACHE_Q_PENDING; local keys only with ROUTE_CACHE_Q_LOCAL;
 * exclude (may be NULL) drops entries from the answer. Returns how many.
 * next_hops is what the resolver asks next; closest_to is what the node
 * answers about target, its own keys included.
 */
size_t route_cache_next_hops(const struct route_cache *rc, const drt_key *target, unsigned flags,
                             route_cache_exclude_fn exclude, void *ctx,
                             struct route_cache_entry *out, size_t n);
size_t route_cache_closest_to(const struct route_cache *rc, const drt_key *target,
                              struct route_cache_entry *out, size_t n);

/* Entries with min <= key <= max (ranges do not wrap) in ascending key
 * order, flags as above. Fills the lowest cap of them; returns how many
 * match in all. */
size_t route_cache_entries_in_range(const struct route_cache *rc, const drt_key *min,
                                    const drt_key *max, unsigned flags,
                                    struct route_cache_entry *out, size_t cap);

/* Up to n (<= ROUTE_CACHE_QUERY_MAX) distinct verified entries spread
 * around the ring: the nearest to each of n evenly spaced points, the ring
 * turned by a random offset each call (ADVERTISE). Returns how many. */
size_t route_cache_pick_spread(struct route_cache *rc, struct route_cache_entry *out, size_t n);

/* The entry with key, or NULL. Valid until the cache next changes. */
const struct route_cache_entry *route_cache_find(const struct route_cache *rc, const drt_key *key);

/* Every entry, pending included: i in 0..count-1, in no particular order;
 * valid until the cache next changes. */
size_t route_cache_count(const struct route_cache *rc);
size_t route_cache_verified_count(const struct route_cache *rc);
const struct route_cache_entry *route_cache_at(const struct route_cache *rc, size_t i);

/* The leaf set of a local key, or NULL if key is not local. */
const struct leafset *route_cache_leafset(const struct route_cache *rc, const drt_key *key);

/* Whether key, once verified, would enter the leaf set of some local key. */
bool route_cache_would_enter_leafset(const struct route_cache *rc, const drt_key *key);

/* Bytes held by the cache and everything it allocated. */
size_t route_cache_memory(const struct route_cache *rc);

/* Recounts every internal reference and cap; false on any inconsistency.
 * O(entries x local keys): for tests and debug builds of the simulator. */
bool route_cache_check(const struct route_cache *rc);

/* "INSERTED", ... for logs; "?" for an unknown value. */
const char *route_cache_result_name(enum route_cache_result r);

#endif
