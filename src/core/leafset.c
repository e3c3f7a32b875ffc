/* leafset.c - the 5 + 5 ring neighbours of one local key (see leafset.h). */
#include "core/leafset.h"

#include <string.h>

enum side { PRED, SUCC };

/* How far key is from the local key walking in the side's direction; both
 * sides measure away from the local key, so "smaller" means "nearer". */
static void side_distance(drt_key *d, const struct leafset *ls, enum side s, const drt_key *key)
{
    if (s == PRED)
        key256_cw_distance(d, key, &ls->local);
    else
        key256_cw_distance(d, &ls->local, key);
}

static struct leafset_entry *side_entries(struct leafset *ls, enum side s)
{
    return s == PRED ? ls->pred : ls->succ;
}

static unsigned *side_count(struct leafset *ls, enum side s)
{
    return s == PRED ? &ls->n_pred : &ls->n_succ;
}

static int side_find(const struct leafset_entry *v, unsigned n, const drt_key *key)
{
    for (unsigned i = 0; i < n; i++)
        if (key256_equal(&v[i].key, key))
            return (int)i;
    return -1;
}

/* Where key would go on side s: 0..n, or LEAFSET_SIDE when it is farther than
 * every member of a full side. Keys are distinct and never the local key,
 * so distances never tie. */
static unsigned side_position(const struct leafset *ls, enum side s, const drt_key *key)
{
    const struct leafset_entry *v = s == PRED ? ls->pred : ls->succ;
    unsigned n = s == PRED ? ls->n_pred : ls->n_succ;
    drt_key d, dm;

    side_distance(&d, ls, s, key);
    for (unsigned i = 0; i < n; i++) {
        side_distance(&dm, ls, s, &v[i].key);
        if (key256_cmp(&d, &dm) < 0)
            return i;
    }
    return n;
}

/* Inserts e at its place on side s. Returns true and fills *dropped when a
 * full side had to push its farthest member out. */
static bool side_insert(struct leafset *ls, enum side s, const struct leafset_entry *e,
                        unsigned pos, struct leafset_entry *dropped)
{
    struct leafset_entry *v = side_entries(ls, s);
    unsigned *n = side_count(ls, s);
    bool full = *n == LEAFSET_SIDE;

    if (full)
        *dropped = v[LEAFSET_SIDE - 1];
    unsigned keep = full ? LEAFSET_SIDE - 1 : *n;
    memmove(&v[pos + 1], &v[pos], (keep - pos) * sizeof(*v));
    v[pos] = *e;
    if (!full)
        (*n)++;
    return full;
}

static bool side_remove(struct leafset *ls, enum side s, const drt_key *key,
                        struct leafset_entry *removed)
{
    struct leafset_entry *v = side_entries(ls, s);
    unsigned *n = side_count(ls, s);
    int i = side_find(v, *n, key);

    if (i < 0)
        return false;
    *removed = v[i];
    memmove(&v[i], &v[i + 1], (*n - (unsigned)i - 1) * sizeof(*v));
    (*n)--;
    return true;
}

static void note(struct leafset_changes *ch, enum leafset_change_type type,
                 const struct leafset_entry *e)
{
    if (ch == NULL || ch->n >= LEAFSET_CAPACITY)
        return;
    ch->c[ch->n].type = type;
    ch->c[ch->n].entry = *e;
    ch->n++;
}

static void reset(struct leafset_changes *ch)
{
    if (ch != NULL)
        ch->n = 0;
}

void leafset_init(struct leafset *ls, const drt_key *local)
{
    memset(ls, 0, sizeof(*ls));
    ls->local = *local;
}

const drt_key *leafset_local(const struct leafset *ls)
{
    return &ls->local;
}

enum leafset_result leafset_offer(struct leafset *ls, const struct leafset_entry *e,
                                  struct leafset_changes *changes)
{
    reset(changes);
    if (key256_equal(&e->key, &ls->local))
        return LEAFSET_REJECTED;

    int ip = side_find(ls->pred, ls->n_pred, &e->key);
    int is = side_find(ls->succ, ls->n_succ, &e->key);
    bool was_member = ip >= 0 || is >= 0;
    /* Position depends on the key only, so a refresh never reorders. */
    if (ip >= 0)
        ls->pred[ip] = *e;
    if (is >= 0)
        ls->succ[is] = *e;

    /* A member of one side may qualify for the other too once removals have
     * opened a gap there, so the side it is missing from is tried as well. */
    unsigned pp = ip >= 0 ? LEAFSET_SIDE : side_position(ls, PRED, &e->key);
    unsigned ps = is >= 0 ? LEAFSET_SIDE : side_position(ls, SUCC, &e->key);
    if (!was_member && pp >= LEAFSET_SIDE && ps >= LEAFSET_SIDE)
        return LEAFSET_REJECTED;

    struct leafset_entry out_p, out_s;
    bool dropped_p = pp < LEAFSET_SIDE && side_insert(ls, PRED, e, pp, &out_p);
    bool dropped_s = ps < LEAFSET_SIDE && side_insert(ls, SUCC, e, ps, &out_s);

    /* A key pushed off one side may still be a member through the other.
     * Departures are listed before the arrival so that replaying the list
     * never holds more than LEAFSET_CAPACITY keys. */
    if (dropped_p && !leafset_contains(ls, &out_p.key))
        note(changes, LEAFSET_KEY_DELETED, &out_p);
    if (dropped_s && !leafset_contains(ls, &out_s.key) &&
        !(dropped_p && key256_equal(&out_p.key, &out_s.key)))
        note(changes, LEAFSET_KEY_DELETED, &out_s);
    if (!was_member)
        note(changes, LEAFSET_KEY_ADDED, e);
    return was_member ? LEAFSET_UPDATED : LEAFSET_INSERTED;
}

bool leafset_remove(struct leafset *ls, const drt_key *key, struct leafset_changes *changes)
{
    struct leafset_entry gone;
    reset(changes);
    bool p = side_remove(ls, PRED, key, &gone);
    bool s = side_remove(ls, SUCC, key, &gone);
    if (p || s)
        note(changes, LEAFSET_KEY_DELETED, &gone);
    return p || s;
}

unsigned leafset_remove_endpoint(struct leafset *ls, const struct drt_endpoint *ep,
                                 struct leafset_changes *changes)
{
    drt_key doomed[LEAFSET_CAPACITY];
    unsigned n = 0;

    reset(changes);
    for (unsigned i = 0; i < ls->n_pred; i++)
        if (drt_endpoint_equal(&ls->pred[i].ep, ep))
            doomed[n++] = ls->pred[i].key;
    for (unsigned i = 0; i < ls->n_succ; i++)
        if (drt_endpoint_equal(&ls->succ[i].ep, ep) &&
            side_find(ls->pred, ls->n_pred, &ls->succ[i].key) < 0)
            doomed[n++] = ls->succ[i].key;

    for (unsigned i = 0; i < n; i++) {
        struct leafset_entry gone;
        bool p = side_remove(ls, PRED, &doomed[i], &gone);
        bool s = side_remove(ls, SUCC, &doomed[i], &gone);
        if (p || s)
            note(changes, LEAFSET_KEY_DELETED, &gone);
    }
    return n;
}

const struct leafset_entry *leafset_find(const struct leafset *ls, const drt_key *key)
{
    int i = side_find(ls->pred, ls->n_pred, key);
    if (i >= 0)
        return &ls->pred[i];
    i = side_find(ls->succ, ls->n_succ, key);
    return i >= 0 ? &ls->succ[i] : NULL;
}

bool leafset_contains(const struct leafset *ls, const drt_key *key)
{
    return leafset_find(ls, key) != NULL;
}

bool leafset_admits(const struct leafset *ls, const drt_key *key)
{
    if (key256_equal(key, &ls->local))
        return false;
    if (leafset_contains(ls, key))
        return true;
    return side_position(ls, PRED, key) < LEAFSET_SIDE ||
           side_position(ls, SUCC, key) < LEAFSET_SIDE;
}

bool leafset_covers(const struct leafset *ls, const drt_key *target)
{
    if (ls->n_pred < LEAFSET_SIDE || ls->n_succ < LEAFSET_SIDE)
        return true;
    const drt_key *lo = &ls->pred[LEAFSET_SIDE - 1].key;
    const drt_key *hi = &ls->succ[LEAFSET_SIDE - 1].key;
    drt_key span, off;
    key256_cw_distance(&span, lo, hi);
    key256_cw_distance(&off, lo, target);
    return key256_cmp(&off, &span) <= 0;
}

unsigned leafset_pred_count(const struct leafset *ls)
{
    return ls->n_pred;
}

unsigned leafset_succ_count(const struct leafset *ls)
{
    return ls->n_succ;
}

unsigned leafset_count(const struct leafset *ls)
{
    unsigned n = ls->n_pred;
    for (unsigned i = 0; i < ls->n_succ; i++)
        if (side_find(ls->pred, ls->n_pred, &ls->succ[i].key) < 0)
            n++;
    return n;
}

const struct leafset_entry *leafset_pred(const struct leafset *ls, unsigned i)
{
    return i < ls->n_pred ? &ls->pred[i] : NULL;
}

const struct leafset_entry *leafset_succ(const struct leafset *ls, unsigned i)
{
    return i < ls->n_succ ? &ls->succ[i] : NULL;
}
