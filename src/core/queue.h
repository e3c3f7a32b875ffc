/*
 * queue.h - the engine's two output queues: datagrams to send and events
 * to report. Each item owns a copy of its bytes; the item handed out by a
 * pop stays valid until the next pop (it is "on loan"), so callers can
 * read it without copying and without a free call.
 */
#ifndef DRT_CORE_QUEUE_H
#define DRT_CORE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct queue_item {
    struct queue_item *next;
    size_t len;
    /* The caller's fixed-size header (an endpoint, an event) followed by
     * len bytes of variable data. */
    _Alignas(8) uint8_t data[];
};

struct queue {
    struct queue_item *head;
    struct queue_item *tail;
    struct queue_item *loan;
    size_t count;
    size_t bytes;
};

void queue_init(struct queue *q);
void queue_clear(struct queue *q);
/* Appends head_len bytes of head then len bytes of body; false on ENOMEM. */
bool queue_push(struct queue *q, const void *head, size_t head_len, const void *body,
                size_t len);
/* The oldest item, or NULL; valid until the next pop or clear. */
struct queue_item *queue_pop(struct queue *q);
/* Frees the oldest item (not the one on loan); false when empty. */
bool queue_drop_oldest(struct queue *q);

#endif
