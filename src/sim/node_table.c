/* node_table.c - linear probing, load factor <= 1/2, backward-shift erase. */
#include "sim/node_table.h"

#include <stdlib.h>

#include "sim/prng.h"

uint64_t sim_endpoint_hash(const struct drt_endpoint *ep)
{
    uint64_t lo, hi;
    memcpy(&lo, ep->addr, 8);
    memcpy(&hi, ep->addr + 8, 8);
    /* Chained splitmix steps: each word is fully mixed before the next one
     * is folded in, so endpoints that differ only in the port or in one
     * address byte still land far apart. */
    uint64_t h = lo;
    h = sim_splitmix64(&h) ^ hi;
    h = sim_splitmix64(&h) ^ ep->port;
    return sim_splitmix64(&h);
}

void sim_node_table_init(struct sim_node_table *t)
{
    t->slots = NULL;
    t->mask = 0;
    t->count = 0;
}

void sim_node_table_free(struct sim_node_table *t)
{
    free(t->slots);
    sim_node_table_init(t);
}

uint32_t sim_node_table_find(const struct sim_node_table *t, const struct drt_endpoint *ep)
{
    if (!t->slots)
        return SIM_NODE_TABLE_NONE;
    for (size_t i = sim_endpoint_hash(ep) & t->mask;; i = (i + 1) & t->mask) {
        const struct sim_node_slot *s = &t->slots[i];
        if (s->id == SIM_NODE_TABLE_NONE)
            return SIM_NODE_TABLE_NONE;
        if (drt_endpoint_equal(&s->ep, ep))
            return s->id;
    }
}

static void put(struct sim_node_slot *slots, size_t mask, const struct drt_endpoint *ep,
                uint32_t id)
{
    size_t i = sim_endpoint_hash(ep) & mask;
    while (slots[i].id != SIM_NODE_TABLE_NONE)
        i = (i + 1) & mask;
    slots[i].ep = *ep;
    slots[i].id = id;
}

static bool grow(struct sim_node_table *t)
{
    size_t cap = t->slots ? (t->mask + 1) * 2 : 64;
    struct sim_node_slot *slots = malloc(cap * sizeof(*slots));
    if (!slots)
        return false;
    for (size_t i = 0; i < cap; i++)
        slots[i].id = SIM_NODE_TABLE_NONE;
    if (t->slots) {
        for (size_t i = 0; i <= t->mask; i++)
            if (t->slots[i].id != SIM_NODE_TABLE_NONE)
                put(slots, cap - 1, &t->slots[i].ep, t->slots[i].id);
        free(t->slots);
    }
    t->slots = slots;
    t->mask = cap - 1;
    return true;
}

bool sim_node_table_insert(struct sim_node_table *t, const struct drt_endpoint *ep, uint32_t id)
{
    /* Half full at most keeps probe sequences short on every lookup. */
    if (!t->slots || (t->count + 1) * 2 > t->mask + 1) {
        if (!grow(t))
            return false;
    }
    put(t->slots, t->mask, ep, id);
    t->count++;
    return true;
}

bool sim_node_table_erase(struct sim_node_table *t, const struct drt_endpoint *ep)
{
    if (!t->slots)
        return false;
    size_t i = sim_endpoint_hash(ep) & t->mask;
    for (;; i = (i + 1) & t->mask) {
        if (t->slots[i].id == SIM_NODE_TABLE_NONE)
            return false;
        if (drt_endpoint_equal(&t->slots[i].ep, ep))
            break;
    }
    /* Pull later members of the probe run back into the hole, so a lookup
     * never stops early at a gap that used to be occupied. */
    size_t hole = i;
    for (size_t j = (hole + 1) & t->mask; t->slots[j].id != SIM_NODE_TABLE_NONE;
         j = (j + 1) & t->mask) {
        size_t home = sim_endpoint_hash(&t->slots[j].ep) & t->mask;
        /* j may move to the hole only if its home is not inside (hole, j]. */
        bool home_between = (hole <= j) ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!home_between) {
            t->slots[hole] = t->slots[j];
            hole = j;
        }
    }
    t->slots[hole].id = SIM_NODE_TABLE_NONE;
    t->count--;
    return true;
}
