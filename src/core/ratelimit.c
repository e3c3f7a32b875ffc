/* ratelimit.c - per-source and global token buckets (ratelimit.h). */
#include "core/ratelimit.h"

#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX
/* Unproven sources are looked for this far from the LRU tail. */
#define EVICT_SCAN 16u
/* Longer idle times than this refill any bucket anyway; clamping keeps
 * elapsed * rate inside 64 bits. */
#define MAX_ELAPSED_MS 1000000000ull
/* Entries a new table has room for; it doubles up to its slots. */
#define INITIAL_SLOTS 16u

bool token_bucket_take(struct token_bucket *b, uint32_t rate_per_s, uint32_t burst,
                       uint64_t now_ms)
{
    if (now_ms > b->last_ms) {
        uint64_t elapsed = now_ms - b->last_ms;
        if (elapsed > MAX_ELAPSED_MS)
            elapsed = MAX_ELAPSED_MS;
        uint64_t refill = elapsed * rate_per_s;
        b->deficit = refill >= b->deficit ? 0 : b->deficit - refill;
    }
    /* A clock that went back refills nothing: measuring starts again. */
    b->last_ms = now_ms;
    if (b->deficit + 1000u > (uint64_t)burst * 1000u)
        return false;
    b->deficit += 1000u;
    return true;
}

/* 48 bytes: a node of a busy ring hears from a few hundred sources. */
struct rl_entry {
    struct drt_endpoint ep;
    bool proven;
    uint32_t hnext;      /* hash chain */
    uint32_t prev, next; /* LRU list: head = most recently seen */
    struct token_bucket bucket;
};

struct ratelimit {
    struct ratelimit_config cfg;
    struct rl_entry *e; /* cap entries, used of them taken */
    uint32_t *heads;
    uint32_t mask; /* heads has mask + 1 chains, about one per entry */
    uint32_t cap, used;
    uint32_t lru_head, lru_tail;
    uint64_t evictions;
};

static uint32_t chain_of(const struct ratelimit *rl, const struct drt_endpoint *ep);

/* Room for cap entries (taken in order, cleared when taken), with the
 * chains rebuilt for it: the table grows with the sources a node hears
 * from, up to cfg.slots, so a node that hears from few costs little. */
static bool grow(struct ratelimit *rl, uint32_t cap)
{
    struct rl_entry *e = realloc(rl->e, (size_t)cap * sizeof(*e));
    if (!e)
        return false;
    rl->e = e;
    uint32_t chains = 1;
    while (chains < cap)
        chains <<= 1;
    uint32_t *heads = realloc(rl->heads, chains * sizeof(*heads));
    if (!heads)
        return false; /* the entries grew, the chains not: still consistent */
    rl->heads = heads;
    rl->mask = chains - 1;
    rl->cap = cap;
    for (uint32_t i = 0; i < chains; i++)
        heads[i] = NONE;
    for (uint32_t i = 0; i < rl->used; i++) {
        uint32_t c = chain_of(rl, &e[i].ep);
        e[i].hnext = heads[c];
        heads[c] = i;
    }
    return true;
}

struct ratelimit *ratelimit_create(const struct ratelimit_config *cfg)
{
    if (!cfg || cfg->slots == 0 || cfg->slots > (1u << 24) || cfg->rate_per_s == 0 ||
        cfg->burst == 0)
        return NULL;
    struct ratelimit *rl = calloc(1, sizeof(*rl));
    if (!rl)
        return NULL;
    rl->cfg = *cfg;
    rl->lru_head = rl->lru_tail = NONE;
    if (!grow(rl, cfg->slots < INITIAL_SLOTS ? cfg->slots : INITIAL_SLOTS)) {
        ratelimit_destroy(rl);
        return NULL;
    }
    return rl;
}

void ratelimit_destroy(struct ratelimit *rl)
{
    if (!rl)
        return;
    free(rl->e);
    free(rl->heads);
    free(rl);
}

static uint32_t chain_of(const struct ratelimit *rl, const struct drt_endpoint *ep)
{
    uint64_t w[3] = {0, 0, ep->port};
    memcpy(&w[0], ep->addr, 8);
    memcpy(&w[1], ep->addr + 8, 8);
    uint64_t h = rl->cfg.seed ^ 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 3; i++) {
        h = (h ^ w[i]) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 29;
    }
    return (uint32_t)(h >> 32) & rl->mask;
}

static void lru_unlink(struct ratelimit *rl, uint32_t i)
{
    struct rl_entry *x = &rl->e[i];
    if (x->prev != NONE)
        rl->e[x->prev].next = x->next;
    else
        rl->lru_head = x->next;
    if (x->next != NONE)
        rl->e[x->next].prev = x->prev;
    else
        rl->lru_tail = x->prev;
}

static void lru_push_head(struct ratelimit *rl, uint32_t i)
{
    struct rl_entry *x = &rl->e[i];
    x->prev = NONE;
    x->next = rl->lru_head;
    if (rl->lru_head != NONE)
        rl->e[rl->lru_head].prev = i;
    rl->lru_head = i;
    if (rl->lru_tail == NONE)
        rl->lru_tail = i;
}

static void chain_unlink(struct ratelimit *rl, uint32_t i)
{
    uint32_t *link = &rl->heads[chain_of(rl, &rl->e[i].ep)];
    while (*link != NONE && *link != i)
        link = &rl->e[*link].hnext;
    if (*link == i)
        *link = rl->e[i].hnext;
}

static uint32_t find(const struct ratelimit *rl, const struct drt_endpoint *ep)
{
    for (uint32_t i = rl->heads[chain_of(rl, ep)]; i != NONE; i = rl->e[i].hnext)
        if (drt_endpoint_equal(&rl->e[i].ep, ep))
            return i;
    return NONE;
}

/* The slot a new source takes: a free one, else the least recently seen
 * unproven source near the tail (proven ones passed over get another
 * round at the head), else the tail itself. */
static uint32_t take_slot(struct ratelimit *rl)
{
    if (rl->used == rl->cap && rl->cap < rl->cfg.slots) {
        uint32_t cap = rl->cap > rl->cfg.slots / 2 ? rl->cfg.slots : 2 * rl->cap;
        (void)grow(rl, cap); /* short of memory: evict instead */
    }
    if (rl->used < rl->cap)
        return rl->used++;
    uint32_t victim = rl->lru_tail;
    for (unsigned n = 0; n < EVICT_SCAN && rl->e[victim].proven; n++) {
        lru_unlink(rl, victim);
        lru_push_head(rl, victim);
        victim = rl->lru_tail;
    }
    chain_unlink(rl, victim);
    lru_unlink(rl, victim);
    rl->evictions++;
    return victim;
}

/* The entry for ep, created when new, moved to the LRU head. */
static struct rl_entry *touch(struct ratelimit *rl, const struct drt_endpoint *ep)
{
    uint32_t i = find(rl, ep);
    if (i == NONE) {
        i = take_slot(rl);
        struct rl_entry *x = &rl->e[i];
        memset(x, 0, sizeof(*x));
        x->ep = *ep;
        uint32_t c = chain_of(rl, ep);
        x->hnext = rl->heads[c];
        rl->heads[c] = i;
    } else {
        lru_unlink(rl, i);
    }
    lru_push_head(rl, i);
    return &rl->e[i];
}

enum ratelimit_verdict ratelimit_check(struct ratelimit *rl, const struct drt_endpoint *src,
                                       uint64_t now_ms)
{
    struct rl_entry *x = touch(rl, src);
    if (!token_bucket_take(&x->bucket, rl->cfg.rate_per_s, rl->cfg.burst, now_ms))
        return RATELIMIT_DENY;
    return x->proven ? RATELIMIT_ALLOW_PROVEN : RATELIMIT_ALLOW;
}

void ratelimit_mark_proven(struct ratelimit *rl, const struct drt_endpoint *src)
{
    touch(rl, src)->proven = true;
}

size_t ratelimit_sources(const struct ratelimit *rl)
{
    return rl->used;
}

uint64_t ratelimit_evictions(const struct ratelimit *rl)
{
    return rl->evictions;
}

size_t ratelimit_memory(const struct ratelimit *rl)
{
    return sizeof(*rl) + rl->cap * sizeof(*rl->e) + (rl->mask + 1u) * sizeof(*rl->heads);
}
