/* sim_node.c - membership (add, crash, leave), node timers and partitions. */
#include <stdlib.h>
#include <string.h>

#include "sim/sim_internal.h"

int sim_node_add(struct sim *sim, const struct drt_endpoint *ep, const struct sim_node_ops *ops,
                 void *ctx, sim_node_id *id)
{
    if (!sim || !ep || !ops || !ops->on_datagram || !ops->on_timer)
        return SIM_E_INVALID;
    if (sim_node_table_find(&sim->table, ep) != SIM_NODE_TABLE_NONE)
        return SIM_E_EXISTS;
    if (sim->nnodes >= SIM_NODE_NONE - 1)
        return SIM_E_NOMEM;
    if (sim->nnodes == sim->nodes_cap) {
        size_t cap = sim->nodes_cap ? sim->nodes_cap * 2 : 64;
        struct sim_node *nodes = realloc(sim->nodes, cap * sizeof(*nodes));
        if (!nodes)
            return SIM_E_NOMEM;
        sim->nodes = nodes;
        sim->nodes_cap = cap;
    }
    /* The timer slot is reserved now so that arming a timer later can
     * never fail for lack of memory. */
    uint32_t timer_ref = sim_event_alloc(sim);
    if (timer_ref == SIM_REF_NONE)
        return SIM_E_NOMEM;
    sim_node_id nid = (sim_node_id)sim->nnodes;
    if (!sim_node_table_insert(&sim->table, ep, nid)) {
        sim_event_release(sim, timer_ref);
        return SIM_E_NOMEM;
    }
    sim->events[timer_ref].kind = SIM_EV_TIMER;
    sim->events[timer_ref].node = nid;

    struct sim_node *n = &sim->nodes[nid];
    memset(n, 0, sizeof(*n));
    n->ep = *ep;
    n->ops = ops;
    n->ctx = ctx;
    n->pos = sim_net_place(&sim->net, ep);
    n->alive = true;
    n->timer_ref = timer_ref;
    n->deadline = SIM_TIME_NEVER;
    sim->nnodes++;
    sim->live++;
    if (id)
        *id = nid;
    sim_trace_emit(sim, SIM_TRACE_ADD, nid, NULL, ep, NULL, 0);
    return SIM_OK;
}

sim_node_id sim_node_find(const struct sim *sim, const struct drt_endpoint *ep)
{
    return sim_node_table_find(&sim->table, ep);
}

bool sim_node_alive(const struct sim *sim, sim_node_id id)
{
    return id < sim->nnodes && sim->nodes[id].alive;
}

const struct drt_endpoint *sim_node_endpoint(const struct sim *sim, sim_node_id id)
{
    return id < sim->nnodes ? &sim->nodes[id].ep : NULL;
}

void *sim_node_ctx(const struct sim *sim, sim_node_id id)
{
    return id < sim->nnodes ? sim->nodes[id].ctx : NULL;
}

size_t sim_node_count(const struct sim *sim)
{
    return sim->live;
}

int sim_node_set_position(struct sim *sim, sim_node_id id, double x, double y)
{
    struct sim_node *n = sim_live_node(sim, id);
    if (!n || !(x >= 0.0 && x <= 1.0) || !(y >= 0.0 && y <= 1.0))
        return SIM_E_INVALID;
    n->pos.x = (uint16_t)(x * SIM_PLANE_UNIT + 0.5);
    n->pos.y = (uint16_t)(y * SIM_PLANE_UNIT + 0.5);
    return SIM_OK;
}

/* ---- timers ------------------------------------------------------------- */

int sim_node_set_deadline(struct sim *sim, sim_node_id id, uint64_t when_us)
{
    struct sim_node *n = sim_live_node(sim, id);
    if (!n)
        return SIM_E_INVALID;
    if (when_us == SIM_TIME_NEVER) {
        sim_heap_remove(&sim->heap, n->timer_ref);
        n->deadline = SIM_TIME_NEVER;
        return SIM_OK;
    }
    if (when_us < sim->now)
        when_us = sim->now;
    /* A fresh sequence number even when re-arming: the timer then ranks as
     * scheduled now, behind everything already due at that instant. */
    bool ok = sim_heap_contains(&sim->heap, n->timer_ref)
                  ? sim_heap_update(&sim->heap, n->timer_ref, when_us, ++sim->seq)
                  : sim_heap_push(&sim->heap, when_us, ++sim->seq, n->timer_ref);
    if (!ok)
        return SIM_E_NOMEM;
    n->deadline = when_us;
    return SIM_OK;
}

uint64_t sim_node_deadline(const struct sim *sim, sim_node_id id)
{
    return sim_node_alive(sim, id) ? sim->nodes[id].deadline : SIM_TIME_NEVER;
}

bool sim_fire_timer(struct sim *sim, uint32_t ref)
{
    sim_node_id id = sim->events[ref].node;
    struct sim_node *n = sim_live_node(sim, id);
    if (!n)
        return false; /* cannot happen: removal unqueues the timer */
    n->deadline = SIM_TIME_NEVER;
    n->stats.timers++;
    n->stats.events++;
    sim->stats.timers++;
    sim->stats.events++;
    sim_trace_emit(sim, SIM_TRACE_TIMER, id, NULL, NULL, NULL, 0);
    n->ops->on_timer(n->ctx, sim, sim->now);
    return true;
}

/* ---- leaving the network ------------------------------------------------ */

void sim_node_remove(struct sim *sim, sim_node_id id)
{
    struct sim_node *n = &sim->nodes[id];
    n->alive = false;
    sim_node_table_erase(&sim->table, &n->ep);
    sim_heap_remove(&sim->heap, n->timer_ref);
    sim_event_release(sim, n->timer_ref);
    n->timer_ref = SIM_REF_NONE;
    n->deadline = SIM_TIME_NEVER;
    /* Datagrams still on their way stay queued (finding them would cost a
     * scan) but are written off now; their arrival is then ignored. */
    n->stats.dropped_crash.datagrams += n->in_flight.datagrams;
    n->stats.dropped_crash.bytes += n->in_flight.bytes;
    sim->stats.dropped_crash.datagrams += n->in_flight.datagrams;
    sim->stats.dropped_crash.bytes += n->in_flight.bytes;
    sim->in_flight -= n->in_flight.datagrams;
    n->in_flight.datagrams = 0;
    n->in_flight.bytes = 0;
    sim->live--;
}

int sim_node_crash(struct sim *sim, sim_node_id id)
{
    if (!sim || id >= sim->nnodes)
        return SIM_E_INVALID;
    if (!sim->nodes[id].alive)
        return SIM_OK;
    sim_trace_emit(sim, SIM_TRACE_CRASH, id, NULL, NULL, NULL, 0);
    sim_node_remove(sim, id);
    struct sim_node *n = &sim->nodes[id];
    if (n->ops->on_crash)
        n->ops->on_crash(n->ctx, sim, sim->now);
    return SIM_OK;
}

int sim_node_leave(struct sim *sim, sim_node_id id)
{
    if (!sim || id >= sim->nnodes)
        return SIM_E_INVALID;
    struct sim_node *n = &sim->nodes[id];
    if (!n->alive || n->leaving)
        return SIM_OK;
    sim_trace_emit(sim, SIM_TRACE_LEAVE, id, NULL, NULL, NULL, 0);
    if (n->ops->on_leave) {
        n->leaving = true;
        n->ops->on_leave(n->ctx, sim, sim->now);
        n = &sim->nodes[id]; /* the callback may have added nodes */
        n->leaving = false;
    }
    /* The goodbye handler may have crashed the node itself. */
    if (n->alive)
        sim_node_remove(sim, id);
    return SIM_OK;
}

/* ---- partitions ----------------------------------------------------------- */

int sim_partition_set(struct sim *sim, sim_node_id id, uint32_t group)
{
    struct sim_node *n = sim_live_node(sim, id);
    if (!n)
        return SIM_E_INVALID;
    n->group = group;
    return SIM_OK;
}

int sim_node_set_deaf(struct sim *sim, sim_node_id id, bool deaf)
{
    struct sim_node *n = sim_live_node(sim, id);
    if (!n)
        return SIM_E_INVALID;
    n->deaf = deaf;
    return SIM_OK;
}

int sim_node_set_mute(struct sim *sim, sim_node_id id, bool mute)
{
    struct sim_node *n = sim_live_node(sim, id);
    if (!n)
        return SIM_E_INVALID;
    n->mute = mute;
    return SIM_OK;
}

uint32_t sim_partition_get(const struct sim *sim, sim_node_id id)
{
    return id < sim->nnodes ? sim->nodes[id].group : 0;
}

void sim_partition_heal(struct sim *sim)
{
    for (size_t i = 0; i < sim->nnodes; i++)
        sim->nodes[i].group = 0;
}
