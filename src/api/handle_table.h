/*
 * handle_table.h - the opaque handles the DRT API gives out.
 *
 * HDRT, HDRT_REGISTRATION_CONTEXT, HDRT_SEARCH_CONTEXT and HDRT_TRANSPORT are
 * not pointers to our objects but (slot, generation) pairs looked up in one
 * process-wide table, so that a stale, foreign or garbage handle is detected
 * and answered with E_HANDLE instead of being dereferenced.
 */
#ifndef DRT_API_HANDLE_TABLE_H
#define DRT_API_HANDLE_TABLE_H

#include <stdbool.h>

enum handle_type {
    HANDLE_TYPE_INSTANCE = 1,
    HANDLE_TYPE_REGISTRATION,
    HANDLE_TYPE_SEARCH,
    HANDLE_TYPE_TRANSPORT,
};

/* Returns a new handle for obj, or NULL when out of memory or slots. */
void *handle_table_add(enum handle_type type, void *obj);

/* Returns the object behind h if h is a live handle of that type, else NULL. */
void *handle_table_get(const void *h, enum handle_type type);

/* Invalidates h; later lookups of h fail even if its slot is reused. */
void handle_table_remove(const void *h);

/* Number of live handles of a type (tests use it to detect leaks). */
unsigned handle_table_count(enum handle_type type);

/* The first live object of type for which match(obj, ctx) is true, or NULL.
 * match runs under the table's lock and must not call back into it. */
void *handle_table_find(enum handle_type type, bool (*match)(void *obj, void *ctx), void *ctx);

#endif
