/* route_cache_query.c - the read-only questions asked of the route cache:
 * nearest entries, ranges, spread picks, listings, and a self-check
 * (see route_cache.h). */
#include "core/route_cache.h"
#include "core/route_cache_internal.h"

#include <string.h>

/* --- queries ------------------------------------------------------------------------- */

size_t route_cache_pending(const struct route_cache *rc, struct route_cache_entry *out, size_t n)
{
    size_t k = 0;
    for (uint32_t i = 0; i < rc->count && n > 0; i++) {
        const struct route_cache_entry *e = &rc->slots[rc->dense[i]].e;
        if (is_verified(e))
            continue;
        size_t pos = k;
        while (pos > 0 && out[pos - 1].last_seen_ms > e->last_seen_ms)
            pos--;
        if (pos >= n)
            continue;
        size_t keep = k < n ? k : n - 1;
        memmove(&out[pos + 1], &out[pos], (keep - pos) * sizeof(*out));
        out[pos] = *e;
        if (k < n)
            k++;
    }
    return k;
}

struct nearest {
    const drt_key *target;
    size_t n, k;
    drt_key dist[ROUTE_CACHE_QUERY_MAX];
    struct route_cache_entry *out;
};

/* Keeps the n nearest offered so far in out, nearest first; ties between
 * equal distances (one key each side of the target) go to the smaller key,
 * as key256_closer() decides. */
static void nearest_offer(struct nearest *q, const struct route_cache_entry *e)
{
    drt_key d;
    key256_ring_distance(&d, q->target, &e->key);
    size_t pos = q->k;
    while (pos > 0) {
        int c = key256_cmp(&d, &q->dist[pos - 1]);
        if (c > 0 || (c == 0 && key256_cmp(&e->key, &q->out[pos - 1].key) >= 0))
            break;
        pos--;
    }
    if (pos >= q->n)
        return;
    size_t keep = q->k < q->n ? q->k : q->n - 1;
    memmove(&q->dist[pos + 1], &q->dist[pos], (keep - pos) * sizeof(q->dist[0]));
    memmove(&q->out[pos + 1], &q->out[pos], (keep - pos) * sizeof(q->out[0]));
    q->dist[pos] = d;
    q->out[pos] = *e;
    if (q->k < q->n)
        q->k++;
}

static struct route_cache_entry local_entry(const struct rc_owner *o)
{
    struct route_cache_entry e;
    memset(&e, 0, sizeof(e));
    e.key = o->key;
    e.flags = ROUTE_CACHE_LOCAL | ROUTE_CACHE_VERIFIED;
    return e;
}

size_t route_cache_next_hops(const struct route_cache *rc, const drt_key *target, unsigned flags,
                             route_cache_exclude_fn exclude, void *ctx,
                             struct route_cache_entry *out, size_t n)
{
    struct nearest q;
    q.target = target;
    q.n = n < ROUTE_CACHE_QUERY_MAX ? n : ROUTE_CACHE_QUERY_MAX;
    q.k = 0;
    q.out = out;
    if (q.n == 0)
        return 0;
    for (uint32_t i = 0; i < rc->count; i++) {
        const struct route_cache_entry *e = &rc->slots[rc->dense[i]].e;
        if (!is_verified(e) && !(flags & ROUTE_CACHE_Q_PENDING))
            continue;
        if (exclude != NULL && exclude(ctx, e))
            continue;
        nearest_offer(&q, e);
    }
    if (flags & ROUTE_CACHE_Q_LOCAL)
        for (uint32_t k = 0; k < rc->nowners; k++) {
            if (!rc->owners[k]->local)
                continue;
            struct route_cache_entry e = local_entry(rc->owners[k]);
            if (exclude == NULL || !exclude(ctx, &e))
                nearest_offer(&q, &e);
        }
    return q.k;
}

size_t route_cache_closest_to(const struct route_cache *rc, const drt_key *target,
                              struct route_cache_entry *out, size_t n)
{
    return route_cache_next_hops(rc, target, ROUTE_CACHE_Q_LOCAL, NULL, NULL, out, n);
}

/* Inserts e into out[0..*k), sorted by key and capped at cap. */
static void sorted_offer(struct route_cache_entry *out, size_t *k, size_t cap,
                         const struct route_cache_entry *e)
{
    size_t lo = 0, hi = *k;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (key256_cmp(&out[mid].key, &e->key) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo >= cap)
        return;
    size_t keep = *k < cap ? *k : cap - 1;
    memmove(&out[lo + 1], &out[lo], (keep - lo) * sizeof(*out));
    out[lo] = *e;
    if (*k < cap)
        (*k)++;
}

size_t route_cache_entries_in_range(const struct route_cache *rc, const drt_key *min,
                                    const drt_key *max, unsigned flags,
                                    struct route_cache_entry *out, size_t cap)
{
    size_t total = 0, k = 0;
    for (uint32_t i = 0; i < rc->count; i++) {
        const struct route_cache_entry *e = &rc->slots[rc->dense[i]].e;
        if ((!is_verified(e) && !(flags & ROUTE_CACHE_Q_PENDING)) ||
            !key256_in_range(&e->key, min, max))
            continue;
        total++;
        if (cap > 0)
            sorted_offer(out, &k, cap, e);
    }
    if (flags & ROUTE_CACHE_Q_LOCAL)
        for (uint32_t j = 0; j < rc->nowners; j++) {
            if (!rc->owners[j]->local || !key256_in_range(&rc->owners[j]->key, min, max))
                continue;
            struct route_cache_entry e = local_entry(rc->owners[j]);
            total++;
            if (cap > 0)
                sorted_offer(out, &k, cap, &e);
        }
    return total;
}

/* floor((2^256 - 1) / d): the spacing of d points around the ring. */
static void ring_step(drt_key *q, uint32_t d)
{
    uint64_t rem = 0;
    for (int i = DRT_KEY_BYTES - 1; i >= 0; i--) {
        uint64_t cur = (rem << 8) | 0xFFu;
        q->b[i] = (uint8_t)(cur / d);
        rem = cur % d;
    }
}

struct picked {
    const struct route_cache_entry *out;
    size_t k;
};

static bool already_picked(void *ctx, const struct route_cache_entry *e)
{
    const struct picked *p = ctx;
    for (size_t i = 0; i < p->k; i++)
        if (key256_equal(&p->out[i].key, &e->key))
            return true;
    return false;
}

size_t route_cache_pick_spread(struct route_cache *rc, struct route_cache_entry *out, size_t n)
{
    if (n > ROUTE_CACHE_QUERY_MAX)
        n = ROUTE_CACHE_QUERY_MAX;
    size_t avail = rc->count - rc->npending;
    if (n > avail)
        n = avail;
    if (n == 0)
        return 0;

    drt_key point, step;
    rc->cfg.random(rc->cfg.random_ctx, point.b, sizeof(point.b));
    ring_step(&step, (uint32_t)n);
    struct picked p = {out, 0};
    for (size_t i = 0; i < n; i++) {
        if (route_cache_next_hops(rc, &point, 0, already_picked, &p, &out[p.k], 1) == 1)
            p.k++;
        key256_add(&point, &point, &step);
    }
    return p.k;
}

const struct route_cache_entry *route_cache_find(const struct route_cache *rc, const drt_key *key)
{
    uint16_t id = rc_index_find(rc, key);
    return id == NONE ? NULL : &rc->slots[id].e;
}

size_t route_cache_count(const struct route_cache *rc)
{
    return rc->count;
}

size_t route_cache_verified_count(const struct route_cache *rc)
{
    return rc->count - rc->npending;
}

const struct route_cache_entry *route_cache_at(const struct route_cache *rc, size_t i)
{
    return i < rc->count ? &rc->slots[rc->dense[i]].e : NULL;
}

const struct leafset *route_cache_leafset(const struct route_cache *rc, const drt_key *key)
{
    const struct rc_owner *o = rc_local_owner(rc, key);
    return o == NULL ? NULL : &o->leaf;
}

bool route_cache_would_enter_leafset(const struct route_cache *rc, const drt_key *key)
{
    for (uint32_t k = 0; k < rc->nowners; k++)
        if (rc->owners[k]->local && leafset_admits(&rc->owners[k]->leaf, key))
            return true;
    return false;
}

size_t route_cache_memory(const struct route_cache *rc)
{
    size_t owners = rc->nlocal + 1; /* the self id's is always allocated */
    size_t rows = 0;
    for (uint32_t k = 0; k < rc->nowners; k++)
        rows += rc->owners[k]->nrows;
    return sizeof(*rc) + rc->nslots * (sizeof(rc->slots[0]) + sizeof(rc->dense[0])) +
           (rc->index_mask + 1) * sizeof(rc->index[0]) +
           (rc->cfg.max_local_keys + 1) * sizeof(rc->owners[0]) +
           owners * sizeof(struct rc_owner) + rows * sizeof(rc_row);
}

/* Recounts every reference from scratch, so a bookkeeping slip in any
 * path shows up at the next check rather than as a leak or a lost entry. */
bool route_cache_check(const struct route_cache *rc)
{
    uint32_t pending = 0;
    for (uint32_t i = 0; i < rc->count; i++) {
        uint16_t id = rc->dense[i];
        const struct rc_slot *s = &rc->slots[id];
        if (!s->in_use || s->pos != i || rc_index_find(rc, &s->e.key) != id)
            return false;
        pending += !is_verified(&s->e);
        uint32_t cells = 0, leaves = 0;
        for (uint32_t k = 0; k < rc->nowners; k++) {
            struct rc_owner *o = rc->owners[k];
            uint16_t *b = rc_bucket_of(o, &s->e.key, false);
            for (unsigned c = 0; b != NULL && c < ROUTE_CACHE_BUCKET_SIZE; c++)
                cells += b[c] == id;
            leaves += o->local && leafset_contains(&o->leaf, &s->e.key);
        }
        if (cells != s->table_refs || leaves != s->leaf_refs)
            return false;
        if (is_verified(&s->e) ? cells + leaves == 0 : cells + leaves != 0)
            return false;
    }
    if (pending != rc->npending || pending > rc->cfg.max_pending ||
        rc->count > rc->cfg.max_entries)
        return false;
    for (uint32_t k = 0; k < rc->nowners; k++) {
        const struct rc_owner *o = rc->owners[k];
        const uint16_t *cells = o->rows == NULL ? NULL : &o->rows[0][0][0];
        size_t ncells = o->nrows * sizeof(rc_row) / sizeof(uint16_t);
        for (size_t c = 0; c < ncells; c++)
            if (cells[c] != NONE && (cells[c] >= rc->nslots || !rc->slots[cells[c]].in_use))
                return false;
        if (o->local)
            for (unsigned i = 0; i < LEAFSET_CAPACITY; i++) {
                const struct leafset_entry *m = i < LEAFSET_SIDE
                                                    ? leafset_pred(&o->leaf, i)
                                                    : leafset_succ(&o->leaf, i - LEAFSET_SIDE);
                if (m != NULL && rc_index_find(rc, &m->key) == NONE)
                    return false;
            }
    }
    return (rc->nlocal == 0) == (rc->nowners == 1 && rc->owners[0] == rc->self);
}

const char *route_cache_result_name(enum route_cache_result r)
{
    switch (r) {
    case ROUTE_CACHE_REJECTED:
        return "REJECTED";
    case ROUTE_CACHE_INSERTED:
        return "INSERTED";
    case ROUTE_CACHE_UPDATED:
        return "UPDATED";
    case ROUTE_CACHE_REPLACED:
        return "REPLACED";
    case ROUTE_CACHE_PENDING:
        return "PENDING";
    case ROUTE_CACHE_NOT_FOUND:
        return "NOT_FOUND";
    }
    return "?";
}
