/*
 * leafset.h - the leaf set of one local key: its nearest neighbours on the
 * 256-bit key ring, 5 counter-clockwise (predecessors, keys "below") and 5
 * clockwise (successors, keys "above"), as [MC-DRT] and the reference
 * (drt-api.md 7.1, 7.4) require of every registered key.
 *
 * Sides. Each side is simply the LEAFSET_SIDE nearest keys met walking the
 * ring in its direction from the local key, wrapping through 0 and 2^256-1
 * (they are neighbours). The sides are independent: while fewer than
 * 2 * LEAFSET_SIDE + 1 keys are known in all, a key can sit on both sides at
 * once (in a ring of three keys, each of the other two is both a predecessor
 * and a successor). We keep it that way rather than splitting the ring in two
 * halves because the engine needs the true nearest key in each direction:
 * revocations are flooded to the nearest neighbour below and above, and in a
 * two-node ring the only other node is both. Membership, and therefore the
 * DRT_EVENT_LEAFSET_KEY_CHANGED reports, is the union of the two sides: a key
 * is ADDED when it enters either side while on neither, DELETED when it has
 * left both.
 *
 * Identity. Entries are identified by key alone; the local key itself is
 * never a member. Offering a member again refreshes its endpoint and
 * metadata in place (two instances publishing one key value are one member:
 * the last offer wins, which matches "a search returns one of them").
 *
 * Changes. Every mutating call can fill a struct leafset_changes with the
 * keys that entered or left the set, each with its entry, departures
 * before arrivals (so a replay never holds more than LEAFSET_CAPACITY keys);
 * the values of enum leafset_change_type equal those of
 * DRT_LEAFSET_KEY_CHANGE_TYPE so the engine can pass them on unchanged.
 *
 * Plain data of fixed size (no allocation): embed it, copy it, compare it.
 * Read it only through these functions.
 */
#ifndef DRT_CORE_LEAFSET_H
#define DRT_CORE_LEAFSET_H

#include <stdbool.h>
#include <stdint.h>

#include "core/endpoint.h"
#include "util/key256.h"

#define LEAFSET_SIDE 5u
#define LEAFSET_CAPACITY (2u * LEAFSET_SIDE)

struct leafset_entry {
    drt_key key;
    struct drt_endpoint ep;
    uint64_t last_seen_ms; /* when the owner of ep last proved alive, caller's clock */
};

/* Same values as DRT_LEAFSET_KEY_ADDED / DRT_LEAFSET_KEY_DELETED. */
enum leafset_change_type {
    LEAFSET_KEY_ADDED = 0,
    LEAFSET_KEY_DELETED = 1,
};

struct leafset_change {
    enum leafset_change_type type;
    struct leafset_entry entry; /* as it was when it left, or as it entered */
};

/* One call changes at most LEAFSET_CAPACITY keys (remove_endpoint emptying a
 * full set); an offer changes at most 3 (one in, one out per side). */
struct leafset_changes {
    unsigned n;
    struct leafset_change c[LEAFSET_CAPACITY];
};

struct leafset {
    drt_key local;
    unsigned n_pred;
    unsigned n_succ;
    struct leafset_entry pred[LEAFSET_SIDE]; /* pred[0] is the nearest below */
    struct leafset_entry succ[LEAFSET_SIDE]; /* succ[0] is the nearest above */
};

enum leafset_result {
    LEAFSET_REJECTED, /* not among the nearest on either side, or the local key */
    LEAFSET_INSERTED, /* now a member; farther members may have been pushed out */
    LEAFSET_UPDATED,  /* was a member: endpoint and last_seen_ms refreshed (and,
                       * after removals, possibly added to its other side) */
};

/* An empty leaf set around local. */
void leafset_init(struct leafset *ls, const drt_key *local);

const drt_key *leafset_local(const struct leafset *ls);

/* Inserts e where it is among the LEAFSET_SIDE nearest on a side (on both
 * sides if so), pushing the farthest member of a full side out. changes may
 * be NULL; otherwise it is reset and receives DELETED for every key that
 * left both sides, then ADDED for e. Re-offering every known key after a
 * removal therefore refills the gap exactly. */
enum leafset_result leafset_offer(struct leafset *ls, const struct leafset_entry *e,
                                  struct leafset_changes *changes);

/* Drops key from both sides; false if it was no member. Leaves a gap that
 * only a later offer fills: the leaf set alone does not know the ring. */
bool leafset_remove(struct leafset *ls, const drt_key *key, struct leafset_changes *changes);

/* Drops every member reached at ep (a node that went away takes all its
 * keys with it). Returns how many keys left. */
unsigned leafset_remove_endpoint(struct leafset *ls, const struct drt_endpoint *ep,
                                 struct leafset_changes *changes);

bool leafset_contains(const struct leafset *ls, const drt_key *key);

/* The member with this key, or NULL. Valid until the next mutation. */
const struct leafset_entry *leafset_find(const struct leafset *ls, const drt_key *key);

/* Whether an offer of key would leave it a member (it is one already, or it
 * is nearer than the farthest member of a side, or a side has room),
 * without changing anything: [MC-DRT]'s "would be in my leaf set" test. */
bool leafset_admits(const struct leafset *ls, const drt_key *key);

/* Whether the nearest key to target is certainly the local key or a member,
 * provided the set is accurate: target lies between the farthest
 * predecessor and the farthest successor, or a side is not full (then the
 * set holds every key there is). */
bool leafset_covers(const struct leafset *ls, const drt_key *target);

/* Members per side and in all (a key on both sides counts once). */
unsigned leafset_pred_count(const struct leafset *ls);
unsigned leafset_succ_count(const struct leafset *ls);
unsigned leafset_count(const struct leafset *ls);

/* The i-th nearest predecessor / successor (i = 0 nearest), or NULL past
 * the end: ring order walking away from the local key. */
const struct leafset_entry *leafset_pred(const struct leafset *ls, unsigned i);
const struct leafset_entry *leafset_succ(const struct leafset *ls, unsigned i);

#endif
