/* pending.c - outstanding requests (pending.h). A flat array: a node has a
 * few dozen requests in flight, so a scan beats a hash table's upkeep. */
#include "core/pending.h"

#include <stdlib.h>
#include <string.h>

void pending_init(struct pending_table *t, size_t max)
{
    memset(t, 0, sizeof(*t));
    t->max = max;
}

void pending_free(struct pending_table *t)
{
    for (size_t i = 0; i < t->count; i++)
        free(t->items[i].dgram);
    free(t->items);
    memset(t, 0, sizeof(*t));
}

struct pending *pending_add(struct pending_table *t, const struct pending *p)
{
    if (t->count >= t->max)
        return NULL;
    if (t->count == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        struct pending *items = realloc(t->items, cap * sizeof(*items));
        if (!items)
            return NULL;
        t->items = items;
        t->cap = cap;
    }
    uint8_t *copy = malloc(p->len ? p->len : 1);
    if (!copy)
        return NULL;
    memcpy(copy, p->dgram, p->len);
    struct pending *slot = &t->items[t->count++];
    *slot = *p;
    slot->dgram = copy;
    return slot;
}

struct pending *pending_match(struct pending_table *t, uint32_t msg_id,
                              const struct drt_endpoint *from)
{
    for (size_t i = 0; i < t->count; i++)
        if (t->items[i].msg_id == msg_id && t->items[i].peer.port == from->port)
            return &t->items[i];
    return NULL;
}

bool pending_id_in_use(const struct pending_table *t, uint32_t msg_id)
{
    for (size_t i = 0; i < t->count; i++)
        if (t->items[i].msg_id == msg_id)
            return true;
    return false;
}

void pending_remove(struct pending_table *t, struct pending *p)
{
    size_t i = (size_t)(p - t->items);
    free(p->dgram);
    t->items[i] = t->items[--t->count];
}

void pending_remove_owner(struct pending_table *t, uint32_t owner)
{
    for (size_t i = 0; i < t->count;) {
        if (t->items[i].owner == owner)
            pending_remove(t, &t->items[i]);
        else
            i++;
    }
}

void pending_trim(struct pending_table *t)
{
    size_t cap = t->cap;
    while (cap > 16 && t->count <= cap / 4)
        cap /= 2;
    if (cap == t->cap)
        return;
    struct pending *items = realloc(t->items, cap * sizeof(*items));
    if (!items)
        return; /* keeps the larger table */
    t->items = items;
    t->cap = cap;
}

size_t pending_count_owner(const struct pending_table *t, uint32_t owner)
{
    size_t n = 0;
    for (size_t i = 0; i < t->count; i++)
        n += t->items[i].owner == owner;
    return n;
}

size_t pending_count_kind(const struct pending_table *t, enum pending_kind kind)
{
    size_t n = 0;
    for (size_t i = 0; i < t->count; i++)
        n += t->items[i].kind == kind;
    return n;
}

bool pending_has(const struct pending_table *t, enum pending_kind kind, const uint8_t key[32])
{
    for (size_t i = 0; i < t->count; i++)
        if (t->items[i].kind == kind && memcmp(t->items[i].key, key, 32) == 0)
            return true;
    return false;
}

uint64_t pending_next_deadline(const struct pending_table *t)
{
    uint64_t d = UINT64_MAX;
    for (size_t i = 0; i < t->count; i++)
        if (t->items[i].deadline < d)
            d = t->items[i].deadline;
    return d;
}
