/*
 * sim_toy.h - toy nodes for the simulator's own tests: they record what
 * they receive and when, and can be told to answer, forward or re-arm.
 */
#ifndef DRT_TESTS_SIM_TOY_H
#define DRT_TESTS_SIM_TOY_H

#include <stdint.h>
#include <string.h>

#include "sim/sim.h"
#include "sim/sim_test.h"

#define TOY_LOG 64

struct toy {
    sim_node_id id;
    struct drt_endpoint ep;
    uint64_t received, timers, crashes, leaves;
    uint64_t last_rx_us, last_timer_us;
    struct drt_endpoint last_from, last_to;
    size_t last_len;
    /* The first TOY_LOG payload tags (first 4 bytes) and arrival times. */
    uint32_t log_tag[TOY_LOG];
    uint64_t log_us[TOY_LOG];
    size_t nlog;
    bool echo;                      /* answer every datagram to its sender */
    uint64_t rearm_us;              /* on a timer, re-arm this far ahead (0: no) */
    bool rearm_at_now;              /* on a timer, re-arm at the same instant */
    const struct drt_endpoint *goodbye_to; /* on leave, send this one a datagram */
};

static inline uint32_t toy_tag(const uint8_t *buf, size_t len)
{
    uint32_t t = 0;
    memcpy(&t, buf, len < 4 ? len : 4);
    return t;
}

static inline void toy_on_datagram(void *ctx, struct sim *sim, const struct drt_endpoint *from,
                                   const struct drt_endpoint *to, const uint8_t *buf, size_t len,
                                   uint64_t now_us)
{
    struct toy *t = ctx;
    t->received++;
    t->last_rx_us = now_us;
    t->last_from = *from;
    t->last_to = *to;
    t->last_len = len;
    if (t->nlog < TOY_LOG) {
        t->log_tag[t->nlog] = toy_tag(buf, len);
        t->log_us[t->nlog++] = now_us;
    }
    if (t->echo)
        sim_send(sim, &t->ep, from, buf, len);
}

static inline void toy_on_timer(void *ctx, struct sim *sim, uint64_t now_us)
{
    struct toy *t = ctx;
    t->timers++;
    t->last_timer_us = now_us;
    if (t->rearm_at_now)
        sim_node_set_deadline(sim, t->id, now_us);
    else if (t->rearm_us)
        sim_node_set_deadline(sim, t->id, now_us + t->rearm_us);
}

static inline void toy_on_crash(void *ctx, struct sim *sim, uint64_t now_us)
{
    ((struct toy *)ctx)->crashes++;
}

static inline void toy_on_leave(void *ctx, struct sim *sim, uint64_t now_us)
{
    struct toy *t = ctx;
    t->leaves++;
    if (t->goodbye_to)
        sim_send(sim, &t->ep, t->goodbye_to, "bye!", 4);
}

static const struct sim_node_ops toy_ops = {toy_on_datagram, toy_on_timer, toy_on_crash,
                                            toy_on_leave};

/* Adds toy t as node number i (endpoint sim_test_endpoint(i)). */
static inline int toy_add(struct sim *sim, struct toy *t, uint32_t i)
{
    memset(t, 0, sizeof(*t));
    t->ep = sim_test_endpoint(i);
    return sim_node_add(sim, &t->ep, &toy_ops, t, &t->id);
}

/* A simulator with a fixed 1 ms link and nothing random about it. */
static inline struct sim *toy_sim_fixed(uint64_t seed)
{
    struct sim_config cfg;
    sim_config_default(&cfg);
    cfg.seed = seed;
    cfg.link = (struct sim_link){.base_us = 1000};
    return sim_create(&cfg);
}

static inline void toy_send_tag(struct sim *sim, const struct toy *from, const struct toy *to,
                                uint32_t tag)
{
    sim_send(sim, &from->ep, &to->ep, &tag, sizeof(tag));
}

#endif
