/* queue.c - FIFO of owned byte items with one item on loan (queue.h). */
#include "core/queue.h"

#include <stdlib.h>
#include <string.h>

void queue_init(struct queue *q)
{
    memset(q, 0, sizeof(*q));
}

void queue_clear(struct queue *q)
{
    struct queue_item *it = q->head;
    while (it) {
        struct queue_item *next = it->next;
        free(it);
        it = next;
    }
    free(q->loan);
    queue_init(q);
}

bool queue_push(struct queue *q, const void *head, size_t head_len, const void *body, size_t len)
{
    struct queue_item *it = malloc(sizeof(*it) + head_len + len);
    if (!it)
        return false;
    it->next = NULL;
    it->len = head_len + len;
    if (head_len)
        memcpy(it->data, head, head_len);
    if (len)
        memcpy(it->data + head_len, body, len);
    if (q->tail)
        q->tail->next = it;
    else
        q->head = it;
    q->tail = it;
    q->count++;
    q->bytes += it->len;
    return true;
}

struct queue_item *queue_pop(struct queue *q)
{
    free(q->loan);
    q->loan = q->head;
    if (!q->head)
        return NULL;
    q->head = q->head->next;
    if (!q->head)
        q->tail = NULL;
    q->count--;
    q->bytes -= q->loan->len;
    return q->loan;
}

bool queue_drop_oldest(struct queue *q)
{
    struct queue_item *it = q->head;
    if (!it)
        return false;
    q->head = it->next;
    if (!q->head)
        q->tail = NULL;
    q->count--;
    q->bytes -= it->len;
    free(it);
    return true;
}
