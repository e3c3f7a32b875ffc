/* sim_send.c - a datagram's life: sent, lost, duplicated, delivered, dropped. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim_internal.h"

static void count_drop(struct sim *sim, sim_node_id src, size_t off, size_t len)
{
    /* off selects the same counter in the global and the node stats. */
    sim_count_add((struct sim_count *)((char *)&sim->stats + off), len);
    if (src != SIM_NODE_NONE)
        sim_count_add((struct sim_count *)((char *)&sim->nodes[src].stats + off), len);
}

#define COUNT(sim, src, field, len) count_drop(sim, src, offsetof(struct sim_stats, field), len)

/* Queues one copy towards node dst; the caller has counted the send.
 * flip_bit < len * 8 flips that bit of the copy (corruption). */
static int schedule_copy(struct sim *sim, sim_node_id src, uint32_t src_group, sim_node_id dst,
                         const struct drt_endpoint *from, const void *buf, size_t len,
                         uint64_t delay, size_t flip_bit)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return SIM_E_NOMEM;
    if (len)
        memcpy(copy, buf, len);
    if (flip_bit < len * 8)
        copy[flip_bit / 8] ^= (uint8_t)(1u << (flip_bit % 8));
    uint32_t ref = sim_event_alloc(sim);
    if (ref == SIM_REF_NONE) {
        free(copy);
        return SIM_E_NOMEM;
    }
    struct sim_event *ev = &sim->events[ref];
    ev->kind = SIM_EV_DELIVER;
    ev->node = dst;
    ev->src = src;
    ev->src_group = src_group;
    ev->from = *from;
    ev->len = len;
    ev->buf = copy;
    uint64_t when = sim->now + delay;
    if (!sim_event_queue(sim, ref, when < sim->now ? UINT64_MAX : when)) {
        free(copy);
        sim_event_release(sim, ref);
        return SIM_E_NOMEM;
    }
    sim_count_add(&sim->nodes[dst].in_flight, len);
    sim->in_flight++;
    return SIM_OK;
}

int sim_send(struct sim *sim, const struct drt_endpoint *from, const struct drt_endpoint *to,
             const void *buf, size_t len)
{
    if (!sim || !from || !to || (!buf && len) || len > SIM_MAX_DATAGRAM)
        return SIM_E_INVALID;
    sim_node_id src = sim_node_table_find(&sim->table, from);
    uint32_t src_group = src != SIM_NODE_NONE ? sim->nodes[src].group : 0;
    COUNT(sim, src, sent, len);

    sim_node_id dst = sim_node_table_find(&sim->table, to);
    if (dst == SIM_NODE_NONE) {
        COUNT(sim, src, dropped_unknown, len);
        sim_trace_emit(sim, SIM_TRACE_DROP_UNKNOWN, SIM_NODE_NONE, from, to, buf, len);
        return SIM_OK;
    }
    if (sim->nodes[dst].group != src_group || sim->nodes[dst].deaf ||
        (src != SIM_NODE_NONE && sim->nodes[src].mute)) {
        COUNT(sim, src, dropped_partition, len);
        sim_trace_emit(sim, SIM_TRACE_DROP_PARTITION, dst, from, to, buf, len);
        return SIM_OK;
    }
    const struct sim_link *link = sim_net_link(&sim->net, from, to);
    if (sim_net_chance(&sim->net_rng, link->loss)) {
        COUNT(sim, src, lost, len);
        sim_trace_emit(sim, SIM_TRACE_LOST, dst, from, to, buf, len);
        return SIM_OK;
    }
    bool twice = sim_net_chance(&sim->net_rng, link->dup);
    /* Drawn only when corruption is on, so runs without it keep their
     * random sequence (and their traces) unchanged. */
    size_t flip = SIZE_MAX;
    if (link->corrupt > 0 && len && sim_net_chance(&sim->net_rng, link->corrupt)) {
        flip = (size_t)sim_prng_below(&sim->net_rng, (uint64_t)len * 8);
        COUNT(sim, src, corrupted, len);
    }
    struct sim_pos a = src != SIM_NODE_NONE ? sim->nodes[src].pos : sim_net_place(&sim->net, from);
    struct sim_pos b = sim->nodes[dst].pos;
    int rc = schedule_copy(sim, src, src_group, dst, from, buf, len,
                           sim_net_delay(link, a, b, &sim->net_rng), flip);
    if (rc == SIM_OK && twice) {
        COUNT(sim, src, duplicated, len);
        sim_trace_emit(sim, SIM_TRACE_DUPLICATED, dst, from, to, buf, len);
        rc = schedule_copy(sim, src, src_group, dst, from, buf, len,
                           sim_net_delay(link, a, b, &sim->net_rng), SIZE_MAX);
    }
    return rc;
}

bool sim_deliver(struct sim *sim, uint32_t ref)
{
    struct sim_event ev = sim->events[ref];
    sim_event_release(sim, ref);
    struct sim_node *n = sim_live_node(sim, ev.node);
    if (!n) {
        /* Written off when the receiver went away. */
        free(ev.buf);
        return false;
    }
    sim->in_flight--;
    n->in_flight.datagrams--;
    n->in_flight.bytes -= ev.len;
    sim->stats.events++;

    /* The sender's group now, if it still exists: a partition raised while
     * the datagram was on the wire cuts it too. */
    const struct sim_node *s = sim_live_node(sim, ev.src);
    uint32_t src_group = s ? s->group : ev.src_group;
    struct drt_endpoint to = n->ep; /* callbacks may move the node array */
    if (src_group != n->group || n->deaf) {
        COUNT(sim, ev.src, dropped_partition, ev.len);
        sim_trace_emit(sim, SIM_TRACE_DROP_PARTITION, ev.node, &ev.from, &to, ev.buf, ev.len);
        free(ev.buf);
        return true;
    }
    n->stats.events++;
    sim_count_add(&n->stats.delivered, ev.len);
    sim_count_add(&sim->stats.delivered, ev.len);
    sim_trace_emit(sim, SIM_TRACE_DELIVER, ev.node, &ev.from, &to, ev.buf, ev.len);
    n->ops->on_datagram(n->ctx, sim, &ev.from, &to, ev.buf, ev.len, sim->now);
    free(ev.buf);
    return true;
}

/* ---- link configuration --------------------------------------------------- */

int sim_link_set_pair(struct sim *sim, const struct drt_endpoint *a, const struct drt_endpoint *b,
                      const struct sim_link *link)
{
    if (!sim)
        return SIM_E_INVALID;
    return sim_net_set_pair(&sim->net, a, b, link);
}

int sim_link_set_default(struct sim *sim, const struct sim_link *link)
{
    if (!sim || !sim_link_valid(link))
        return SIM_E_INVALID;
    sim->net.def = *link;
    return SIM_OK;
}

const struct sim_link *sim_link_default(const struct sim *sim)
{
    return &sim->net.def;
}
