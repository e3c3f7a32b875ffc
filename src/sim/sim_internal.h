/*
 * sim_internal.h - the simulator's state, shared by sim.c (clock, events,
 * run loop), sim_node.c (membership, timers, partitions) and sim_send.c
 * (datagrams). Nothing outside src/sim/ includes this.
 */
#ifndef DRT_SIM_SIM_INTERNAL_H
#define DRT_SIM_SIM_INTERNAL_H

#include "sim/event_heap.h"
#include "sim/net_model.h"
#include "sim/node_table.h"
#include "sim/prng.h"
#include "sim/sim.h"

#define SIM_REF_NONE UINT32_MAX

enum sim_event_kind {
    SIM_EV_FREE,
    SIM_EV_DELIVER,
    SIM_EV_TIMER,
    SIM_EV_CALL,
    SIM_EV_CRASH,
    SIM_EV_LEAVE,
};

/* One pending event. Events live in a pool indexed by the heap's refs;
 * the pool may move when it grows, so code keeps indices, never pointers,
 * across anything that can schedule. */
struct sim_event {
    uint8_t kind;
    sim_node_id node;       /* receiver, timer owner or churn subject */
    sim_node_id src;        /* DELIVER: sending node, or SIM_NODE_NONE */
    uint32_t src_group;     /* DELIVER: sender's group when it sent */
    uint32_t next_free;     /* FREE: next free slot */
    struct drt_endpoint from;
    size_t len;
    uint8_t *buf;           /* DELIVER: owned copy of the payload */
    sim_call_fn fn;         /* CALL */
    void *arg;
};

struct sim_node {
    struct drt_endpoint ep;
    const struct sim_node_ops *ops;
    void *ctx;
    struct sim_pos pos;
    uint32_t group;
    bool deaf, mute; /* one-way failures (sim_node_set_deaf/mute) */
    bool alive;
    bool leaving;           /* inside on_leave: a second leave is a no-op */
    uint32_t timer_ref;     /* the node's one timer slot in the event pool */
    uint64_t deadline;
    struct sim_count in_flight; /* datagrams on their way to this node */
    struct sim_stats stats;
};

struct sim {
    uint64_t seed;
    uint64_t now;
    uint64_t seq;               /* tie-breaker: scheduling order */
    uint64_t event_limit;
    bool running;

    struct sim_prng net_rng;    /* link model only */
    struct sim_prng user_rng;   /* sim_rand_*: nodes and scenarios */

    struct sim_heap heap;
    struct sim_event *events;
    size_t events_cap;
    uint32_t free_head;

    struct sim_node *nodes;     /* indexed by sim_node_id, never reused */
    size_t nnodes, nodes_cap;
    size_t live;
    struct sim_node_table table;

    struct sim_net_model net;
    struct sim_stats stats;
    uint64_t in_flight;

    sim_trace_fn trace;
    void *trace_ctx;
};

/* Takes a free event slot (contents zeroed, kind FREE); SIM_REF_NONE on OOM. */
uint32_t sim_event_alloc(struct sim *sim);
void sim_event_release(struct sim *sim, uint32_t ref);
/* Queues slot ref at when_us (clamped to now). False on OOM. */
bool sim_event_queue(struct sim *sim, uint32_t ref, uint64_t when_us);

void sim_trace_emit(struct sim *sim, enum sim_trace_kind kind, sim_node_id node,
                    const struct drt_endpoint *from, const struct drt_endpoint *to,
                    const uint8_t *buf, size_t len);

static inline void sim_count_add(struct sim_count *c, size_t len)
{
    c->datagrams++;
    c->bytes += len;
}

static inline struct sim_node *sim_live_node(struct sim *sim, sim_node_id id)
{
    return id < sim->nnodes && sim->nodes[id].alive ? &sim->nodes[id] : NULL;
}

/* Runs one popped event; true if it counts as an event (stale ones do not). */
bool sim_deliver(struct sim *sim, uint32_t ref);
bool sim_fire_timer(struct sim *sim, uint32_t ref);
void sim_node_remove(struct sim *sim, sim_node_id id);

#endif
