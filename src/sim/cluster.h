/*
 * cluster.h - many DRT engines on the simulated network: the glue between
 * core/engine.h and sim/sim.h that simulator tests and `drt sim` share.
 *
 * Each node is one engine at its own endpoint (fd00::<n>, port 3540).
 * Engine time is the simulator's clock in milliseconds; each engine's
 * randomness is a generator seeded from the simulator's, so a cluster run
 * is as reproducible as the simulator's seed. After every call into an
 * engine the cluster sends what it queued, hands its events to the
 * caller's callback, and re-arms its timer.
 */
#ifndef DRT_SIM_CLUSTER_H
#define DRT_SIM_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/engine.h"
#include "sim/sim.h"

struct cluster;

typedef void (*cluster_event_fn)(void *ctx, struct cluster *c, size_t node,
                                 const struct drt_engine_event *ev);

struct cluster_config {
    struct sim_config sim;
    struct drt_engine_config engine; /* self and random are set per node */
    size_t seeds_per_join;           /* live nodes a joiner bootstraps from (default 3) */
    cluster_event_fn on_event;       /* may be NULL */
    void *event_ctx;
};

void cluster_config_default(struct cluster_config *cfg);
struct cluster *cluster_create(const struct cluster_config *cfg);
void cluster_destroy(struct cluster *c);

struct sim *cluster_sim(struct cluster *c);
/* Virtual time in milliseconds. */
uint64_t cluster_now_ms(const struct cluster *c);

/* Adds a node that bootstraps from up to seeds_per_join random live nodes.
 * Returns its index, or SIZE_MAX on failure. */
size_t cluster_add_node(struct cluster *c);
/* The same with its own security provider instead of the configured one
 * (an attacker, a node of another mesh). */
size_t cluster_add_node_with_security(struct cluster *c, const struct drt_engine_security *security);
size_t cluster_node_count(const struct cluster *c);
bool cluster_node_alive(const struct cluster *c, size_t node);
struct drt_engine *cluster_engine(struct cluster *c, size_t node);
const struct drt_endpoint *cluster_endpoint(const struct cluster *c, size_t node);
/* Crash (no goodbye) or close (unregisters its keys first, then leaves). */
void cluster_crash(struct cluster *c, size_t node);
void cluster_close(struct cluster *c, size_t node);

HRESULT cluster_register(struct cluster *c, size_t node, const uint8_t key[32],
                         const uint8_t *data, size_t len, uint32_t *reg_id);
HRESULT cluster_unregister(struct cluster *c, size_t node, uint32_t reg_id);
HRESULT cluster_search(struct cluster *c, size_t node, const struct drt_engine_search_params *p,
                       uint32_t *search_id);
HRESULT cluster_continue(struct cluster *c, size_t node, uint32_t search_id);

/* Runs the network; returns the simulator's result (SIM_OK). */
int cluster_run_for(struct cluster *c, uint64_t ms);

/* The node's clock jumps ms forward (a suspended laptop waking up):
 * timers that fell in the gap fire at once. Clocks never go back. */
void cluster_clock_jump(struct cluster *c, size_t node, uint64_t ms);

/* Total engine memory (drt_engine_get_stats) over live nodes. */
size_t cluster_memory(const struct cluster *c);

#endif
