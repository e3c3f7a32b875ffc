/*
 * node_table.h - endpoint -> node id, an open-addressing hash table.
 *
 * Every datagram is routed through one lookup here, so it must stay O(1)
 * at 10,000 nodes and more. Linear probing with backward-shift deletion
 * keeps the table free of tombstones under churn. The simulator never
 * iterates the table, so its layout cannot influence a run.
 */
#ifndef DRT_SIM_NODE_TABLE_H
#define DRT_SIM_NODE_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/endpoint.h"

#define SIM_NODE_TABLE_NONE UINT32_MAX

struct sim_node_slot {
    struct drt_endpoint ep;
    uint32_t id; /* SIM_NODE_TABLE_NONE marks an empty slot */
};

struct sim_node_table {
    struct sim_node_slot *slots;
    size_t mask; /* capacity - 1; capacity is a power of two */
    size_t count;
};

/* Hashes an endpoint; stable across runs and hosts. */
uint64_t sim_endpoint_hash(const struct drt_endpoint *ep);

void sim_node_table_init(struct sim_node_table *t);
void sim_node_table_free(struct sim_node_table *t);

/* Returns the id stored for ep, or SIM_NODE_TABLE_NONE. */
uint32_t sim_node_table_find(const struct sim_node_table *t, const struct drt_endpoint *ep);

/* ep must not be present. Returns false when out of memory. */
bool sim_node_table_insert(struct sim_node_table *t, const struct drt_endpoint *ep, uint32_t id);

/* Returns false when ep was not present. */
bool sim_node_table_erase(struct sim_node_table *t, const struct drt_endpoint *ep);

#endif
