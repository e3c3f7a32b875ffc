/* event_heap.c - indexed binary min-heap on (time, seq). */
#include "sim/event_heap.h"

#include <stdlib.h>
#include <string.h>

void sim_heap_init(struct sim_heap *h)
{
    memset(h, 0, sizeof(*h));
}

void sim_heap_free(struct sim_heap *h)
{
    free(h->v);
    free(h->pos);
    memset(h, 0, sizeof(*h));
}

static bool before(const struct sim_heap_entry *a, const struct sim_heap_entry *b)
{
    return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

static void place(struct sim_heap *h, size_t i, struct sim_heap_entry e)
{
    h->v[i] = e;
    h->pos[e.ref] = (uint32_t)(i + 1);
}

/* Hole-based sifting: the moving entry is written once, at its final place. */
static void sift_up(struct sim_heap *h, size_t i, struct sim_heap_entry e)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(&e, &h->v[parent]))
            break;
        place(h, i, h->v[parent]);
        i = parent;
    }
    place(h, i, e);
}

static void sift_down(struct sim_heap *h, size_t i, struct sim_heap_entry e)
{
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->n)
            break;
        if (child + 1 < h->n && before(&h->v[child + 1], &h->v[child]))
            child++;
        if (!before(&h->v[child], &e))
            break;
        place(h, i, h->v[child]);
        i = child;
    }
    place(h, i, e);
}

static bool reserve(struct sim_heap *h, uint32_t ref)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 256;
        struct sim_heap_entry *v = realloc(h->v, cap * sizeof(*v));
        if (!v)
            return false;
        h->v = v;
        h->cap = cap;
    }
    if (ref >= h->pos_cap) {
        size_t cap = h->pos_cap ? h->pos_cap : 256;
        while (cap <= ref)
            cap *= 2;
        uint32_t *pos = realloc(h->pos, cap * sizeof(*pos));
        if (!pos)
            return false;
        memset(pos + h->pos_cap, 0, (cap - h->pos_cap) * sizeof(*pos));
        h->pos = pos;
        h->pos_cap = cap;
    }
    return true;
}

bool sim_heap_push(struct sim_heap *h, uint64_t time, uint64_t seq, uint32_t ref)
{
    if (!reserve(h, ref))
        return false;
    struct sim_heap_entry e = {time, seq, ref};
    h->n++;
    sift_up(h, h->n - 1, e);
    return true;
}

bool sim_heap_peek(const struct sim_heap *h, struct sim_heap_entry *out)
{
    if (h->n == 0)
        return false;
    *out = h->v[0];
    return true;
}

bool sim_heap_contains(const struct sim_heap *h, uint32_t ref)
{
    return ref < h->pos_cap && h->pos[ref] != 0;
}

/* Fills the hole at i with the last entry and restores the heap order. */
static void remove_at(struct sim_heap *h, size_t i)
{
    h->pos[h->v[i].ref] = 0;
    h->n--;
    if (i == h->n)
        return;
    struct sim_heap_entry last = h->v[h->n];
    if (i > 0 && before(&last, &h->v[(i - 1) / 2]))
        sift_up(h, i, last);
    else
        sift_down(h, i, last);
}

bool sim_heap_pop(struct sim_heap *h, struct sim_heap_entry *out)
{
    if (h->n == 0)
        return false;
    *out = h->v[0];
    remove_at(h, 0);
    return true;
}

bool sim_heap_remove(struct sim_heap *h, uint32_t ref)
{
    if (!sim_heap_contains(h, ref))
        return false;
    remove_at(h, h->pos[ref] - 1);
    return true;
}

bool sim_heap_update(struct sim_heap *h, uint32_t ref, uint64_t time, uint64_t seq)
{
    if (!sim_heap_contains(h, ref))
        return false;
    size_t i = h->pos[ref] - 1;
    struct sim_heap_entry e = {time, seq, ref};
    if (i > 0 && before(&e, &h->v[(i - 1) / 2]))
        sift_up(h, i, e);
    else
        sift_down(h, i, e);
    return true;
}
