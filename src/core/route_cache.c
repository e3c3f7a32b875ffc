/* route_cache.c - the node's shared route cache: storage, placement and
 * replacement policy, local keys, offers and removals (see route_cache.h). */
#include "core/route_cache.h"
#include "core/route_cache_internal.h"

#include <stdlib.h>
#include <string.h>

/* --- entries and ranking ------------------------------------------------ */

static bool is_fresh(const struct route_cache *rc, const struct route_cache_entry *e, uint64_t now)
{
    return now <= e->last_seen_ms || now - e->last_seen_ms <= rc->cfg.fresh_ms;
}

/* Positive when a should keep a contested place rather than b (the policy
 * of route_cache.h), 0 when neither is clearly better. */
static int rank_cmp(const struct route_cache *rc, const struct route_cache_entry *a,
                    const struct route_cache_entry *b, uint64_t now)
{
    if (is_verified(a) != is_verified(b))
        return is_verified(a) ? 1 : -1;
    bool fa = is_fresh(rc, a, now), fb = is_fresh(rc, b, now);
    if (fa != fb)
        return fa ? 1 : -1;
    if ((a->rtt_ms != 0) != (b->rtt_ms != 0))
        return a->rtt_ms != 0 ? 1 : -1;
    if (a->rtt_ms != 0) {
        if ((uint64_t)a->rtt_ms * 4 < (uint64_t)b->rtt_ms * 3)
            return 1;
        if ((uint64_t)b->rtt_ms * 4 < (uint64_t)a->rtt_ms * 3)
            return -1;
    }
    return 0;
}

static void fold_rtt(struct route_cache_entry *e, uint32_t sample)
{
    if (sample == 0)
        return;
    if (e->rtt_ms == 0) {
        e->rtt_ms = sample;
        return;
    }
    uint64_t v = ((uint64_t)e->rtt_ms * 7 + sample + 4) / 8;
    e->rtt_ms = v == 0 ? 1 : (uint32_t)v;
}

static struct leafset_entry as_leaf(const struct route_cache_entry *e)
{
    struct leafset_entry l;
    memset(&l, 0, sizeof(l));
    l.key = e->key;
    l.ep = e->ep;
    l.last_seen_ms = e->last_seen_ms;
    return l;
}

/* --- key index -------------------------------------------------------------- */

static uint32_t key_hash(const struct route_cache *rc, const drt_key *k)
{
    uint64_t h = rc->hash_seed;
    for (int i = 0; i < DRT_KEY_BYTES; i += 8) {
        uint64_t w;
        memcpy(&w, &k->b[i], sizeof(w));
        h ^= w;
        h *= 0x9E3779B97F4A7C15ull;
        h ^= h >> 29;
    }
    return (uint32_t)(h ^ (h >> 32));
}

/* The index position holding key, or the empty one where it would go. */
static uint32_t index_probe(const struct route_cache *rc, const drt_key *key)
{
    uint32_t i = key_hash(rc, key) & rc->index_mask;
    while (rc->index[i] != NONE && !key256_equal(&rc->slots[rc->index[i]].e.key, key))
        i = (i + 1) & rc->index_mask;
    return i;
}

uint16_t rc_index_find(const struct route_cache *rc, const drt_key *key)
{
    return rc->index[index_probe(rc, key)];
}

static void index_delete(struct route_cache *rc, const drt_key *key)
{
    uint32_t i = index_probe(rc, key);
    if (rc->index[i] == NONE)
        return;
    rc->index[i] = NONE;
    /* Backward shift: pull later members of the probe run into the hole
     * unless their home lies cyclically in (i, j], so no tombstones pile up. */
    for (uint32_t j = (i + 1) & rc->index_mask; rc->index[j] != NONE;
         j = (j + 1) & rc->index_mask) {
        uint32_t home = key_hash(rc, &rc->slots[rc->index[j]].e.key) & rc->index_mask;
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (stays)
            continue;
        rc->index[i] = rc->index[j];
        rc->index[j] = NONE;
        i = j;
    }
}

/* --- slots ------------------------------------------------------------------ */

/* The index keeps at most half its cells full, so probe runs stay short. */
static bool index_resize(struct route_cache *rc, uint32_t nslots)
{
    uint32_t size = 1;
    while (size < 2 * nslots)
        size <<= 1;
    if (rc->index != NULL && size == rc->index_mask + 1)
        return true;
    uint16_t *fresh = malloc(size * sizeof(fresh[0]));
    if (fresh == NULL)
        return false;
    memset(fresh, 0xFF, size * sizeof(fresh[0]));
    uint16_t *old = rc->index;
    rc->index = fresh;
    rc->index_mask = size - 1;
    for (uint32_t i = 0; i < rc->count; i++)
        rc->index[index_probe(rc, &rc->slots[rc->dense[i]].e.key)] = rc->dense[i];
    free(old);
    return true;
}

/* Most nodes of a large ring hold a few hundred entries at most, so the
 * pool starts small and grows by half up to max_entries + 1 instead of
 * taking the whole cap at create: every slot is resident memory, and
 * doubling would leave up to half of them empty. On failure nothing
 * changes. */
static bool pool_grow(struct route_cache *rc)
{
    uint32_t cap = rc->cfg.max_entries + 1;
    uint32_t n = rc->nslots + rc->nslots / 2 < cap ? rc->nslots + rc->nslots / 2 : cap;
    if (n <= rc->nslots)
        return false;
    struct rc_slot *slots = realloc(rc->slots, n * sizeof(slots[0]));
    if (slots == NULL)
        return false;
    rc->slots = slots;
    uint16_t *dense = realloc(rc->dense, n * sizeof(dense[0]));
    if (dense == NULL)
        return false;
    rc->dense = dense;
    if (!index_resize(rc, n))
        return false;
    memset(&rc->slots[rc->nslots], 0, (n - rc->nslots) * sizeof(slots[0]));
    for (uint32_t i = rc->nslots; i < n; i++)
        rc->dense[i] = (uint16_t)i;
    rc->nslots = n;
    return true;
}

/* A slot for e, or NONE when the pool cannot grow (memory short). */
static uint16_t slot_alloc(struct route_cache *rc, const struct route_cache_entry *e)
{
    if (rc->count == rc->nslots && !pool_grow(rc))
        return NONE;
    uint16_t id = rc->dense[rc->count];
    struct rc_slot *s = &rc->slots[id];
    memset(s, 0, sizeof(*s));
    s->e = *e;
    s->pos = (uint16_t)rc->count;
    s->in_use = true;
    rc->count++;
    rc->index[index_probe(rc, &e->key)] = id;
    if (!is_verified(e))
        rc->npending++;
    return id;
}

static void slot_free(struct route_cache *rc, uint16_t id)
{
    struct rc_slot *s = &rc->slots[id];
    index_delete(rc, &s->e.key);
    if (!is_verified(&s->e))
        rc->npending--;
    uint16_t last = rc->dense[rc->count - 1];
    rc->dense[s->pos] = last;
    rc->slots[last].pos = s->pos;
    rc->dense[rc->count - 1] = id;
    s->pos = (uint16_t)(rc->count - 1);
    s->in_use = false;
    rc->count--;
}

/* --- tables ------------------------------------------------------------------ */

uint16_t *rc_bucket_of(struct rc_owner *o, const drt_key *key, bool grow)
{
    unsigned level = key256_common_prefix_bits(&o->key, key) / ROUTE_CACHE_DIGIT_BITS;
    if (level >= ROUTE_CACHE_LEVELS)
        level = ROUTE_CACHE_LEVELS - 1;
    if (level >= o->nrows) {
        if (!grow)
            return NULL;
        rc_row *rows = realloc(o->rows, (level + 1) * sizeof(rc_row));
        if (rows == NULL)
            return NULL;
        memset(&rows[o->nrows], 0xFF, (level + 1 - o->nrows) * sizeof(rc_row)); /* NONE */
        o->rows = rows;
        o->nrows = level + 1;
    }
    unsigned digit = key256_digit(key, level, ROUTE_CACHE_DIGIT_BITS);
    return o->rows[level][digit];
}

/* The cell e would take in bucket b: a free one, else the worst occupant's
 * if e beats it; NULL if none, or if e (by key) is there already. */
static uint16_t *bucket_pick(const struct route_cache *rc, uint16_t *b,
                             const struct route_cache_entry *e, uint64_t now)
{
    uint16_t *free_cell = NULL, *worst = NULL;
    for (unsigned i = 0; i < ROUTE_CACHE_BUCKET_SIZE; i++) {
        if (b[i] == NONE) {
            if (free_cell == NULL)
                free_cell = &b[i];
            continue;
        }
        const struct route_cache_entry *o = &rc->slots[b[i]].e;
        if (key256_equal(&o->key, &e->key))
            return NULL;
        if (worst == NULL || rank_cmp(rc, o, &rc->slots[*worst].e, now) < 0)
            worst = &b[i];
    }
    if (free_cell != NULL)
        return free_cell;
    return rank_cmp(rc, e, &rc->slots[*worst].e, now) > 0 ? worst : NULL;
}

static void unlink_tables(struct route_cache *rc, uint16_t id)
{
    for (uint32_t k = 0; k < rc->nowners; k++) {
        uint16_t *b = rc_bucket_of(rc->owners[k], &rc->slots[id].e.key, false);
        for (unsigned i = 0; b != NULL && i < ROUTE_CACHE_BUCKET_SIZE; i++)
            if (b[i] == id) {
                b[i] = NONE;
                rc->slots[id].table_refs--;
            }
    }
}

/* An entry that lost its last place: a free cell elsewhere keeps it (no
 * displacement, so this never cascades), else it is forgotten. Pending
 * entries have no places by design and are left alone. */
static void release(struct route_cache *rc, uint16_t id)
{
    struct rc_slot *s = &rc->slots[id];
    if (!s->in_use || !is_verified(&s->e) || s->table_refs + s->leaf_refs > 0)
        return;
    for (uint32_t k = 0; k < rc->nowners; k++) {
        uint16_t *b = rc_bucket_of(rc->owners[k], &s->e.key, true);
        for (unsigned i = 0; b != NULL && i < ROUTE_CACHE_BUCKET_SIZE; i++)
            if (b[i] == NONE) {
                b[i] = id;
                s->table_refs++;
                break;
            }
    }
    if (s->table_refs == 0)
        slot_free(rc, id);
}

/* --- leaf sets ----------------------------------------------------------------- */

static void emit(struct route_cache *rc, const struct rc_owner *o, enum leafset_change_type t,
                 const struct route_cache_entry *e)
{
    if (rc->cfg.on_leafset != NULL)
        rc->cfg.on_leafset(rc->cfg.leafset_ctx, &o->key, t, e);
}

/* Applies leaf-set changes to the reference counts, reporting each. */
static bool apply_leaf_changes(struct route_cache *rc, const struct rc_owner *o,
                               const struct leafset_changes *ch)
{
    bool displaced = false;
    for (unsigned i = 0; i < ch->n; i++) {
        uint16_t id = rc_index_find(rc, &ch->c[i].entry.key);
        if (id == NONE)
            continue;
        if (ch->c[i].type == LEAFSET_KEY_ADDED) {
            rc->slots[id].leaf_refs++;
            emit(rc, o, LEAFSET_KEY_ADDED, &rc->slots[id].e);
        } else {
            rc->slots[id].leaf_refs--;
            emit(rc, o, LEAFSET_KEY_DELETED, &rc->slots[id].e);
            displaced = true;
            release(rc, id);
        }
    }
    return displaced;
}

/* Recomputes o's leaf set from every verified entry, then reports the
 * difference: building it first and diffing after keeps a refill from
 * reporting a key that a nearer one would push out again a moment later. */
static void leaf_rebuild(struct route_cache *rc, struct rc_owner *o)
{
    struct leafset fresh;
    struct leafset_changes ch;
    leafset_init(&fresh, &o->key);
    for (uint32_t i = 0; i < rc->count; i++) {
        const struct route_cache_entry *e = &rc->slots[rc->dense[i]].e;
        if (is_verified(e)) {
            struct leafset_entry l = as_leaf(e);
            leafset_offer(&fresh, &l, NULL);
        }
    }

    ch.n = 0;
    const struct leafset *sets[2] = {&o->leaf, &fresh};
    for (int w = 0; w < 2; w++) {
        const struct leafset *from = sets[w], *to = sets[1 - w];
        for (unsigned i = 0; i < LEAFSET_CAPACITY; i++) {
            const struct leafset_entry *m =
                i < LEAFSET_SIDE ? leafset_pred(from, i) : leafset_succ(from, i - LEAFSET_SIDE);
            if (m == NULL || leafset_contains(to, &m->key))
                continue;
            bool seen = false;
            for (unsigned c = 0; c < ch.n; c++)
                seen |= key256_equal(&ch.c[c].entry.key, &m->key);
            if (seen || ch.n >= LEAFSET_CAPACITY)
                continue;
            ch.c[ch.n].type = w == 0 ? LEAFSET_KEY_DELETED : LEAFSET_KEY_ADDED;
            ch.c[ch.n].entry = *m;
            ch.n++;
        }
    }
    o->leaf = fresh;
    apply_leaf_changes(rc, o, &ch);
}

/* Copies a refreshed entry into the leaf sets holding it. Leaf sets are
 * exact over the pool, so this moves no key; the changes are applied all
 * the same, to keep the reference counts true whatever happens. */
static void leaf_refresh(struct route_cache *rc, uint16_t id)
{
    struct leafset_entry l = as_leaf(&rc->slots[id].e);
    for (uint32_t k = 0; k < rc->nowners; k++) {
        struct rc_owner *o = rc->owners[k];
        struct leafset_changes ch;
        if (o->local && leafset_contains(&o->leaf, &l.key)) {
            leafset_offer(&o->leaf, &l, &ch);
            apply_leaf_changes(rc, o, &ch);
        }
    }
}

/* --- placement ------------------------------------------------------------------- */

/* Whether a verified e would find a place: a leaf set or a table cell. */
static bool wanted(struct route_cache *rc, const struct route_cache_entry *e, uint64_t now)
{
    for (uint32_t k = 0; k < rc->nowners; k++) {
        struct rc_owner *o = rc->owners[k];
        if (o->local && leafset_admits(&o->leaf, &e->key))
            return true;
        uint16_t *b = rc_bucket_of(o, &e->key, false);
        if (b == NULL || bucket_pick(rc, b, e, now) != NULL)
            return true; /* NULL: a level with no row yet, all free */
    }
    return false;
}

/* Puts verified slot id into every leaf set and table cell it earns.
 * Returns true if another entry lost a place to it. */
static bool place(struct route_cache *rc, uint16_t id, uint64_t now)
{
    bool displaced = false;
    for (uint32_t k = 0; k < rc->nowners; k++) {
        struct rc_owner *o = rc->owners[k];
        if (o->local) {
            struct leafset_changes ch;
            struct leafset_entry l = as_leaf(&rc->slots[id].e);
            if (leafset_offer(&o->leaf, &l, &ch) == LEAFSET_INSERTED)
                displaced |= apply_leaf_changes(rc, o, &ch);
        }
        uint16_t *b = rc_bucket_of(o, &rc->slots[id].e.key, true);
        uint16_t *c = b == NULL ? NULL : bucket_pick(rc, b, &rc->slots[id].e, now);
        if (c == NULL)
            continue;
        uint16_t victim = *c;
        *c = id;
        rc->slots[id].table_refs++;
        if (victim != NONE) {
            rc->slots[victim].table_refs--;
            displaced = true;
            release(rc, victim);
        }
    }
    return displaced;
}

/* The entry to drop when the pool is over its cap: the oldest pending one,
 * else the worst in no leaf set, newcomer included and losing ties. */
static uint16_t pool_victim(const struct route_cache *rc, uint16_t newcomer, uint64_t now)
{
    uint16_t victim = NONE;
    if (rc->npending > 0) {
        for (uint32_t i = 0; i < rc->count; i++) {
            uint16_t id = rc->dense[i];
            const struct route_cache_entry *e = &rc->slots[id].e;
            if (!is_verified(e) &&
                (victim == NONE || e->last_seen_ms < rc->slots[victim].e.last_seen_ms))
                victim = id;
        }
        return victim;
    }
    if (rc->slots[newcomer].leaf_refs == 0)
        victim = newcomer;
    for (uint32_t i = 0; i < rc->count; i++) {
        uint16_t id = rc->dense[i];
        if (id == newcomer || rc->slots[id].leaf_refs > 0)
            continue;
        if (victim == NONE || rank_cmp(rc, &rc->slots[id].e, &rc->slots[victim].e, now) < 0)
            victim = id;
    }
    return victim;
}

static enum route_cache_result insert_verified(struct route_cache *rc,
                                               const struct route_cache_entry *e, uint64_t now)
{
    if (!wanted(rc, e, now))
        return ROUTE_CACHE_REJECTED;
    uint16_t id = slot_alloc(rc, e);
    if (id == NONE)
        return ROUTE_CACHE_REJECTED;
    bool displaced = place(rc, id, now);
    if (rc->slots[id].table_refs + rc->slots[id].leaf_refs == 0) {
        slot_free(rc, id); /* no row for it could be allocated */
        return ROUTE_CACHE_REJECTED;
    }
    if (rc->count > rc->cfg.max_entries) {
        /* The config bounds leave over 16 slots outside leaf sets. */
        uint16_t victim = pool_victim(rc, id, now);
        unlink_tables(rc, victim);
        slot_free(rc, victim);
        if (victim == id)
            return ROUTE_CACHE_REJECTED;
        displaced = true;
    }
    return displaced ? ROUTE_CACHE_REPLACED : ROUTE_CACHE_INSERTED;
}

static enum route_cache_result promote(struct route_cache *rc, uint16_t id, uint32_t rtt_ms,
                                       uint64_t now)
{
    struct rc_slot *s = &rc->slots[id];
    s->e.flags |= ROUTE_CACHE_VERIFIED;
    s->e.last_seen_ms = now;
    fold_rtt(&s->e, rtt_ms);
    rc->npending--;
    bool displaced = place(rc, id, now);
    if (s->table_refs + s->leaf_refs == 0) {
        slot_free(rc, id);
        return ROUTE_CACHE_REJECTED;
    }
    return displaced ? ROUTE_CACHE_REPLACED : ROUTE_CACHE_INSERTED;
}

static enum route_cache_result insert_pending(struct route_cache *rc,
                                              const struct route_cache_entry *e, uint64_t now)
{
    struct route_cache_entry as_verified = *e;
    as_verified.flags |= ROUTE_CACHE_VERIFIED;
    if (!wanted(rc, &as_verified, now))
        return ROUTE_CACHE_REJECTED;
    if (rc->npending >= rc->cfg.max_pending) {
        uint16_t oldest = pool_victim(rc, NONE, now);
        slot_free(rc, oldest);
    }
    if (rc->count >= rc->cfg.max_entries)
        return ROUTE_CACHE_REJECTED; /* pending never pushes out verified */
    return slot_alloc(rc, e) == NONE ? ROUTE_CACHE_REJECTED : ROUTE_CACHE_PENDING;
}

/* --- owners ---------------------------------------------------------------------- */

static void owner_reset(struct rc_owner *o, const drt_key *key, bool local)
{
    memset(o, 0, sizeof(*o));
    o->key = *key;
    o->local = local;
    leafset_init(&o->leaf, key);
    o->rows = NULL; /* o->nrows = 0: every bucket empty */
}

/* Fills a new owner's table from the pool. Every entry keeps its other
 * places, so this only adds references. */
static void owner_populate(struct route_cache *rc, struct rc_owner *o, uint64_t now)
{
    for (uint32_t id = 0; id < rc->nslots; id++) {
        struct rc_slot *s = &rc->slots[id];
        if (!s->in_use || !is_verified(&s->e))
            continue;
        uint16_t *b = rc_bucket_of(o, &s->e.key, true);
        uint16_t *c = b == NULL ? NULL : bucket_pick(rc, b, &s->e, now);
        if (c == NULL)
            continue;
        uint16_t victim = *c;
        *c = (uint16_t)id;
        s->table_refs++;
        if (victim != NONE)
            rc->slots[victim].table_refs--; /* still held where it was before */
    }
}

static void owner_attach(struct route_cache *rc, struct rc_owner *o)
{
    rc->owners[rc->nowners++] = o;
    if (o->local)
        rc->nlocal++;
}

/* Takes o out of the owner list and drops its references; entries left
 * with none are released. */
static void owner_detach(struct route_cache *rc, struct rc_owner *o)
{
    uint32_t k = 0;
    while (rc->owners[k] != o)
        k++;
    memmove(&rc->owners[k], &rc->owners[k + 1], (rc->nowners - k - 1) * sizeof(rc->owners[0]));
    rc->nowners--;
    if (o->local) {
        rc->nlocal--;
        for (unsigned i = 0; i < LEAFSET_CAPACITY; i++) {
            const struct leafset_entry *m = i < LEAFSET_SIDE
                                                ? leafset_pred(&o->leaf, i)
                                                : leafset_succ(&o->leaf, i - LEAFSET_SIDE);
            /* A key on both sides holds one reference; find() yields its
             * predecessor copy, so the successor copy is skipped. */
            if (m == NULL || leafset_find(&o->leaf, &m->key) != m)
                continue;
            uint16_t id = rc_index_find(rc, &m->key);
            if (id != NONE)
                rc->slots[id].leaf_refs--;
        }
    }
    uint16_t *cells = o->rows == NULL ? NULL : &o->rows[0][0][0];
    size_t ncells = o->nrows * sizeof(rc_row) / sizeof(uint16_t);
    o->rows = NULL;
    o->nrows = 0;
    for (size_t i = 0; i < ncells; i++)
        if (cells[i] != NONE)
            rc->slots[cells[i]].table_refs--;
    for (size_t i = 0; i < ncells; i++)
        if (cells[i] != NONE)
            release(rc, cells[i]);
    free(cells);
    if (o->local)
        for (unsigned i = 0; i < LEAFSET_CAPACITY; i++) {
            const struct leafset_entry *m = i < LEAFSET_SIDE
                                                ? leafset_pred(&o->leaf, i)
                                                : leafset_succ(&o->leaf, i - LEAFSET_SIDE);
            uint16_t id = m == NULL ? NONE : rc_index_find(rc, &m->key);
            if (id != NONE)
                release(rc, id);
        }
}

struct rc_owner *rc_local_owner(const struct route_cache *rc, const drt_key *key)
{
    for (uint32_t k = 0; k < rc->nowners; k++)
        if (rc->owners[k]->local && key256_equal(&rc->owners[k]->key, key))
            return rc->owners[k];
    return NULL;
}

/* --- life cycle -------------------------------------------------------------------- */

void route_cache_config_default(struct route_cache_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->max_entries = ROUTE_CACHE_DEFAULT_MAX_ENTRIES;
    cfg->max_pending = ROUTE_CACHE_DEFAULT_MAX_PENDING;
    cfg->max_local_keys = ROUTE_CACHE_DEFAULT_MAX_LOCAL_KEYS;
    cfg->fresh_ms = ROUTE_CACHE_DEFAULT_FRESH_MS;
}

static bool config_ok(const struct route_cache_config *c)
{
    return c->random != NULL && c->max_local_keys >= 1 &&
           c->max_local_keys <= ROUTE_CACHE_MAX_LOCAL_KEYS_LIMIT &&
           c->max_entries >= LEAFSET_CAPACITY * c->max_local_keys + 16 &&
           c->max_entries <= ROUTE_CACHE_MAX_ENTRIES_LIMIT && c->max_pending >= 1 &&
           c->max_pending <= c->max_entries / 2 && c->fresh_ms >= 1;
}

struct route_cache *route_cache_create(const struct route_cache_config *cfg)
{
    if (cfg == NULL || !config_ok(cfg))
        return NULL;
    struct route_cache *rc = calloc(1, sizeof(*rc));
    if (rc == NULL)
        return NULL;
    rc->cfg = *cfg;
    rc->nslots = cfg->max_entries + 1 < ROUTE_CACHE_INITIAL_SLOTS ? cfg->max_entries + 1
                                                                   : ROUTE_CACHE_INITIAL_SLOTS;
    rc->slots = calloc(rc->nslots, sizeof(rc->slots[0]));
    rc->dense = calloc(rc->nslots, sizeof(rc->dense[0]));
    rc->owners = calloc(cfg->max_local_keys + 1, sizeof(rc->owners[0]));
    rc->self = malloc(sizeof(*rc->self));
    if (!rc->slots || !rc->dense || !rc->owners || !rc->self || !index_resize(rc, rc->nslots)) {
        route_cache_destroy(rc);
        return NULL;
    }
    for (uint32_t i = 0; i < rc->nslots; i++)
        rc->dense[i] = (uint16_t)i;

    drt_key self;
    cfg->random(cfg->random_ctx, self.b, sizeof(self.b));
    cfg->random(cfg->random_ctx, &rc->hash_seed, sizeof(rc->hash_seed));
    owner_reset(rc->self, &self, false);
    owner_attach(rc, rc->self);
    return rc;
}

void route_cache_destroy(struct route_cache *rc)
{
    if (rc == NULL)
        return;
    for (uint32_t k = 0; k < rc->nowners; k++) {
        free(rc->owners[k]->rows);
        if (rc->owners[k] != rc->self)
            free(rc->owners[k]);
    }
    free(rc->self); /* its rows were freed above or when it was detached */
    free(rc->owners);
    free(rc->index);
    free(rc->dense);
    free(rc->slots);
    free(rc);
}

bool route_cache_add_local_key(struct route_cache *rc, const drt_key *key, uint64_t now_ms)
{
    if (rc_local_owner(rc, key) != NULL || rc->nlocal >= rc->cfg.max_local_keys)
        return false;
    struct rc_owner *o = malloc(sizeof(*o));
    if (o == NULL)
        return false;
    owner_reset(o, key, true);
    owner_populate(rc, o, now_ms);
    owner_attach(rc, o);
    leaf_rebuild(rc, o);
    if (rc->nlocal == 1)
        owner_detach(rc, rc->self);
    return true;
}

bool route_cache_remove_local_key(struct route_cache *rc, const drt_key *key, uint64_t now_ms)
{
    struct rc_owner *o = rc_local_owner(rc, key);
    if (o == NULL)
        return false;
    if (rc->nlocal == 1) {
        drt_key self = rc->self->key;
        owner_reset(rc->self, &self, false);
        owner_populate(rc, rc->self, now_ms);
        owner_attach(rc, rc->self);
    }
    owner_detach(rc, o);
    free(o);
    return true;
}

bool route_cache_is_local(const struct route_cache *rc, const drt_key *key)
{
    return rc_local_owner(rc, key) != NULL;
}

size_t route_cache_local_count(const struct route_cache *rc)
{
    return rc->nlocal;
}

const drt_key *route_cache_self_id(const struct route_cache *rc)
{
    return &rc->self->key;
}

/* --- offers and verification -------------------------------------------------------- */

enum route_cache_result route_cache_offer(struct route_cache *rc,
                                          const struct route_cache_entry *e, uint64_t now_ms)
{
    struct route_cache_entry in = *e;
    in.flags &= ROUTE_CACHE_VERIFIED;
    in.last_seen_ms = now_ms;

    uint16_t id = rc_index_find(rc, &in.key);
    if (id == NONE)
        return is_verified(&in) ? insert_verified(rc, &in, now_ms)
                                : insert_pending(rc, &in, now_ms);

    struct rc_slot *s = &rc->slots[id];
    bool same_ep = drt_endpoint_equal(&s->e.ep, &in.ep);
    if (!is_verified(&s->e)) {
        s->e.ep = in.ep;
        if (!is_verified(&in)) {
            s->e.last_seen_ms = now_ms;
            return ROUTE_CACHE_UPDATED;
        }
        return promote(rc, id, in.rtt_ms, now_ms);
    }
    if (!is_verified(&in))
        return same_ep ? ROUTE_CACHE_UPDATED : ROUTE_CACHE_REJECTED;
    if (!same_ep)
        s->e.rtt_ms = 0; /* another path: the old estimate says nothing */
    s->e.ep = in.ep;
    s->e.last_seen_ms = now_ms;
    fold_rtt(&s->e, in.rtt_ms);
    leaf_refresh(rc, id);
    return ROUTE_CACHE_UPDATED;
}

enum route_cache_result route_cache_mark_verified(struct route_cache *rc, const drt_key *key,
                                                  uint32_t rtt_ms, uint64_t now_ms)
{
    uint16_t id = rc_index_find(rc, key);
    if (id == NONE)
        return ROUTE_CACHE_NOT_FOUND;
    struct rc_slot *s = &rc->slots[id];
    if (!is_verified(&s->e))
        return promote(rc, id, rtt_ms, now_ms);
    s->e.last_seen_ms = now_ms;
    fold_rtt(&s->e, rtt_ms);
    leaf_refresh(rc, id);
    return ROUTE_CACHE_UPDATED;
}

size_t route_cache_mark_endpoint_verified(struct route_cache *rc, const struct drt_endpoint *ep,
                                          uint32_t rtt_ms, uint64_t now_ms)
{
    size_t placed = 0;
    /* By slot number: promotion can free slots, which reorders dense[]. */
    for (uint32_t id = 0; id < rc->nslots; id++) {
        struct rc_slot *s = &rc->slots[id];
        if (!s->in_use || is_verified(&s->e) || !drt_endpoint_equal(&s->e.ep, ep))
            continue;
        if (promote(rc, (uint16_t)id, rtt_ms, now_ms) != ROUTE_CACHE_REJECTED)
            placed++;
    }
    return placed;
}

void route_cache_observe(struct route_cache *rc, const struct drt_endpoint *ep, uint32_t rtt_ms,
                         uint64_t now_ms)
{
    for (uint32_t id = 0; id < rc->nslots; id++) {
        struct rc_slot *s = &rc->slots[id];
        if (!s->in_use || !is_verified(&s->e) || !drt_endpoint_equal(&s->e.ep, ep))
            continue;
        s->e.last_seen_ms = now_ms;
        fold_rtt(&s->e, rtt_ms);
        leaf_refresh(rc, (uint16_t)id);
    }
}

/* --- removal ------------------------------------------------------------------------- */

bool route_cache_remove_key(struct route_cache *rc, const drt_key *key)
{
    uint16_t id = rc_index_find(rc, key);
    if (id == NONE)
        return false;
    struct rc_slot *s = &rc->slots[id];
    if (!is_verified(&s->e)) {
        slot_free(rc, id);
        return true;
    }
    unlink_tables(rc, id);
    struct route_cache_entry gone = s->e;
    bool touched[ROUTE_CACHE_MAX_LOCAL_KEYS_LIMIT + 1] = {false};
    for (uint32_t k = 0; k < rc->nowners; k++) {
        struct rc_owner *o = rc->owners[k];
        if (o->local && leafset_remove(&o->leaf, key, NULL)) {
            s->leaf_refs--;
            touched[k] = true;
            emit(rc, o, LEAFSET_KEY_DELETED, &gone);
        }
    }
    slot_free(rc, id);
    for (uint32_t k = 0; k < rc->nowners; k++)
        if (touched[k])
            leaf_rebuild(rc, rc->owners[k]);
    return true;
}

size_t route_cache_remove_endpoint(struct route_cache *rc, const struct drt_endpoint *ep)
{
    size_t n = 0;
    for (uint32_t id = 0; id < rc->nslots; id++) {
        struct rc_slot *s = &rc->slots[id];
        if (s->in_use && drt_endpoint_equal(&s->e.ep, ep)) {
            drt_key key = s->e.key;
            route_cache_remove_key(rc, &key);
            n++;
        }
    }
    return n;
}

size_t route_cache_expire_pending(struct route_cache *rc, uint64_t cutoff_ms)
{
    size_t n = 0;
    for (uint32_t id = 0; id < rc->nslots; id++) {
        struct rc_slot *s = &rc->slots[id];
        if (s->in_use && !is_verified(&s->e) && s->e.last_seen_ms < cutoff_ms) {
            slot_free(rc, (uint16_t)id);
            n++;
        }
    }
    return n;
}
