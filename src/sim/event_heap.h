/*
 * event_heap.h - the simulator's event queue: a binary min-heap ordered by
 * (time, sequence number), indexed so an entry can be moved or removed.
 *
 * The sequence number breaks ties, so events due at the same microsecond
 * run in the order they were scheduled; that total order is what makes a
 * run reproducible. Each entry carries a caller-chosen reference (a slot in
 * the simulator's event pool); the heap remembers where every reference
 * sits, which lets a node's single timer be re-armed in place in O(log n)
 * instead of leaving stale timers behind.
 */
#ifndef DRT_SIM_EVENT_HEAP_H
#define DRT_SIM_EVENT_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sim_heap_entry {
    uint64_t time;
    uint64_t seq;
    uint32_t ref;
};

struct sim_heap {
    struct sim_heap_entry *v;
    size_t n, cap;
    uint32_t *pos;    /* pos[ref] = index + 1 in v, 0 when ref is not queued */
    size_t pos_cap;
};

void sim_heap_init(struct sim_heap *h);
void sim_heap_free(struct sim_heap *h);

/* ref must not be queued already. Returns false when out of memory. */
bool sim_heap_push(struct sim_heap *h, uint64_t time, uint64_t seq, uint32_t ref);

/* The earliest entry, or false when the heap is empty. */
bool sim_heap_peek(const struct sim_heap *h, struct sim_heap_entry *out);
bool sim_heap_pop(struct sim_heap *h, struct sim_heap_entry *out);

bool sim_heap_contains(const struct sim_heap *h, uint32_t ref);

/* Gives a queued ref a new key; false when ref is not queued. */
bool sim_heap_update(struct sim_heap *h, uint32_t ref, uint64_t time, uint64_t seq);

/* Takes ref out of the queue; false when it was not queued. */
bool sim_heap_remove(struct sim_heap *h, uint32_t ref);

static inline size_t sim_heap_size(const struct sim_heap *h)
{
    return h->n;
}

#endif
