/* handle_table.c - process-wide table of live API handles (see handle_table.h). */
#include "api/handle_table.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

/* A handle value is (generation << SLOT_BITS) | (slot + 1): never 0, and a
 * reused slot gets a new generation so old values stop matching. */
#define SLOT_BITS 20
#define MAX_SLOTS ((1u << SLOT_BITS) - 1)
#define GEN_MASK ((uintptr_t)0xFFF)

struct slot {
    enum handle_type type; /* 0 when free */
    uintptr_t generation;
    void *obj;
};

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot *slots;
static unsigned slot_count;

static uintptr_t encode(unsigned index, uintptr_t generation)
{
    return (generation << SLOT_BITS) | (uintptr_t)(index + 1);
}

static struct slot *decode(const void *h)
{
    uintptr_t v = (uintptr_t)h;
    uintptr_t index = (v & MAX_SLOTS);

    if (index == 0 || index > slot_count)
        return NULL;
    struct slot *s = &slots[index - 1];
    if (s->type == 0 || s->generation != ((v >> SLOT_BITS) & GEN_MASK) ||
        (v >> SLOT_BITS) > GEN_MASK)
        return NULL;
    return s;
}

void *handle_table_add(enum handle_type type, void *obj)
{
    void *h = NULL;

    pthread_mutex_lock(&table_lock);
    unsigned i;
    for (i = 0; i < slot_count && slots[i].type != 0; i++)
        ;
    if (i == slot_count && slot_count < MAX_SLOTS) {
        unsigned n = slot_count ? slot_count * 2 : 64;
        if (n > MAX_SLOTS)
            n = MAX_SLOTS;
        struct slot *grown = realloc(slots, n * sizeof(*grown));
        if (grown) {
            for (unsigned j = slot_count; j < n; j++)
                grown[j] = (struct slot){0, 0, NULL};
            slots = grown;
            slot_count = n;
        }
    }
    if (i < slot_count) {
        struct slot *s = &slots[i];
        s->generation = (s->generation + 1) & GEN_MASK;
        if (s->generation == 0)
            s->generation = 1;
        s->type = type;
        s->obj = obj;
        h = (void *)encode(i, s->generation);
    }
    pthread_mutex_unlock(&table_lock);
    return h;
}

void *handle_table_get(const void *h, enum handle_type type)
{
    void *obj = NULL;

    pthread_mutex_lock(&table_lock);
    struct slot *s = decode(h);
    if (s && s->type == type)
        obj = s->obj;
    pthread_mutex_unlock(&table_lock);
    return obj;
}

void handle_table_remove(const void *h)
{
    pthread_mutex_lock(&table_lock);
    struct slot *s = decode(h);
    if (s) {
        s->type = 0;
        s->obj = NULL;
    }
    pthread_mutex_unlock(&table_lock);
}

unsigned handle_table_count(enum handle_type type)
{
    unsigned n = 0;

    pthread_mutex_lock(&table_lock);
    for (unsigned i = 0; i < slot_count; i++)
        n += slots[i].type == type;
    pthread_mutex_unlock(&table_lock);
    return n;
}

void *handle_table_find(enum handle_type type, bool (*match)(void *obj, void *ctx), void *ctx)
{
    void *found = NULL;
    pthread_mutex_lock(&table_lock);
    for (unsigned i = 0; i < slot_count && !found; i++)
        if (slots[i].type == type && match(slots[i].obj, ctx))
            found = slots[i].obj;
    pthread_mutex_unlock(&table_lock);
    return found;
}
