/* sim.c - the simulator's clock, event pool, run loop and accessors. */
#include <stdlib.h>
#include <string.h>

#include "sim/sim_internal.h"

/* Each stream is keyed off the seed with its own constant so the streams
 * are unrelated even though they come from one number. */
#define STREAM_NET 0x6E6574ull   /* "net" */
#define STREAM_USER 0x75736572ull /* "user" */

void sim_config_default(struct sim_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->seed = 1;
    cfg->link.base_us = 10000;
    cfg->link.plane_us = 40000;
    cfg->link.jitter_us = 2000;
    cfg->max_events_per_call = 10000000;
}

const char *sim_result_str(int rc)
{
    switch (rc) {
    case SIM_OK:
        return "ok";
    case SIM_E_NOMEM:
        return "out of memory";
    case SIM_E_INVALID:
        return "invalid argument";
    case SIM_E_EXISTS:
        return "endpoint already owned by a live node";
    case SIM_E_EVENT_LIMIT:
        return "event limit reached";
    case SIM_E_REENTRANT:
        return "run called from inside a callback";
    default:
        return "unknown result";
    }
}

struct sim *sim_create(const struct sim_config *cfg)
{
    if (!cfg || !sim_link_valid(&cfg->link))
        return NULL;
    struct sim *sim = calloc(1, sizeof(*sim));
    if (!sim)
        return NULL;
    sim->seed = cfg->seed;
    sim->event_limit = cfg->max_events_per_call;
    sim_prng_seed(&sim->net_rng, cfg->seed ^ STREAM_NET);
    sim_prng_seed(&sim->user_rng, cfg->seed ^ STREAM_USER);
    sim_heap_init(&sim->heap);
    sim->free_head = SIM_REF_NONE;
    sim_node_table_init(&sim->table);
    sim_net_init(&sim->net, &cfg->link, cfg->seed);
    return sim;
}

void sim_destroy(struct sim *sim)
{
    if (!sim)
        return;
    for (size_t i = 0; i < sim->events_cap; i++)
        if (sim->events[i].kind == SIM_EV_DELIVER)
            free(sim->events[i].buf);
    free(sim->events);
    free(sim->nodes);
    sim_heap_free(&sim->heap);
    sim_node_table_free(&sim->table);
    sim_net_free(&sim->net);
    free(sim);
}

/* ---- event pool -------------------------------------------------------- */

uint32_t sim_event_alloc(struct sim *sim)
{
    if (sim->free_head == SIM_REF_NONE) {
        size_t old = sim->events_cap;
        size_t cap = old ? old * 2 : 1024;
        if (cap >= SIM_REF_NONE)
            return SIM_REF_NONE;
        struct sim_event *ev = realloc(sim->events, cap * sizeof(*ev));
        if (!ev)
            return SIM_REF_NONE;
        memset(ev + old, 0, (cap - old) * sizeof(*ev));
        /* Chain the new slots lowest first, so slots are reused in a fixed
         * order (not that order could change a run: refs never tie-break). */
        for (size_t i = old; i < cap; i++)
            ev[i].next_free = (i + 1 < cap) ? (uint32_t)(i + 1) : SIM_REF_NONE;
        sim->events = ev;
        sim->events_cap = cap;
        sim->free_head = (uint32_t)old;
    }
    uint32_t ref = sim->free_head;
    sim->free_head = sim->events[ref].next_free;
    memset(&sim->events[ref], 0, sizeof(sim->events[ref]));
    return ref;
}

void sim_event_release(struct sim *sim, uint32_t ref)
{
    sim->events[ref].kind = SIM_EV_FREE;
    sim->events[ref].buf = NULL;
    sim->events[ref].next_free = sim->free_head;
    sim->free_head = ref;
}

bool sim_event_queue(struct sim *sim, uint32_t ref, uint64_t when_us)
{
    if (when_us < sim->now)
        when_us = sim->now;
    return sim_heap_push(&sim->heap, when_us, ++sim->seq, ref);
}

/* Schedules a CALL, CRASH or LEAVE event. */
static int schedule(struct sim *sim, uint8_t kind, sim_node_id node, sim_call_fn fn, void *arg,
                    uint64_t when_us)
{
    uint32_t ref = sim_event_alloc(sim);
    if (ref == SIM_REF_NONE)
        return SIM_E_NOMEM;
    struct sim_event *ev = &sim->events[ref];
    ev->kind = kind;
    ev->node = node;
    ev->fn = fn;
    ev->arg = arg;
    if (!sim_event_queue(sim, ref, when_us)) {
        sim_event_release(sim, ref);
        return SIM_E_NOMEM;
    }
    return SIM_OK;
}

int sim_at(struct sim *sim, uint64_t when_us, sim_call_fn fn, void *arg)
{
    if (!sim || !fn)
        return SIM_E_INVALID;
    return schedule(sim, SIM_EV_CALL, SIM_NODE_NONE, fn, arg, when_us);
}

int sim_node_crash_at(struct sim *sim, sim_node_id id, uint64_t when_us)
{
    if (!sim || id >= sim->nnodes)
        return SIM_E_INVALID;
    return schedule(sim, SIM_EV_CRASH, id, NULL, NULL, when_us);
}

int sim_node_leave_at(struct sim *sim, sim_node_id id, uint64_t when_us)
{
    if (!sim || id >= sim->nnodes)
        return SIM_E_INVALID;
    return schedule(sim, SIM_EV_LEAVE, id, NULL, NULL, when_us);
}

/* ---- running ------------------------------------------------------------ */

static bool dispatch(struct sim *sim, uint32_t ref)
{
    struct sim_event ev = sim->events[ref];
    switch (ev.kind) {
    case SIM_EV_DELIVER:
        return sim_deliver(sim, ref);
    case SIM_EV_TIMER:
        return sim_fire_timer(sim, ref);
    case SIM_EV_CALL:
        sim_event_release(sim, ref);
        sim->stats.events++;
        sim_trace_emit(sim, SIM_TRACE_CALL, SIM_NODE_NONE, NULL, NULL, NULL, 0);
        ev.fn(sim, ev.arg, sim->now);
        return true;
    case SIM_EV_CRASH:
        sim_event_release(sim, ref);
        sim->stats.events++;
        sim_node_crash(sim, ev.node);
        return true;
    case SIM_EV_LEAVE:
        sim_event_release(sim, ref);
        sim->stats.events++;
        sim_node_leave(sim, ev.node);
        return true;
    default:
        sim_event_release(sim, ref);
        return false;
    }
}

/* The common loop: run events up to `until` (inclusive), at most `max`
 * counted events, within the per-call limit. */
static int run(struct sim *sim, uint64_t until, uint64_t max, uint64_t *ran)
{
    if (!sim)
        return SIM_E_INVALID;
    if (sim->running)
        return SIM_E_REENTRANT;
    sim->running = true;
    uint64_t n = 0;
    int rc = SIM_OK;
    struct sim_heap_entry top;
    while (n < max && sim_heap_peek(&sim->heap, &top) && top.time <= until) {
        if (sim->event_limit && n >= sim->event_limit) {
            rc = SIM_E_EVENT_LIMIT;
            break;
        }
        sim_heap_pop(&sim->heap, &top);
        sim->now = top.time;
        if (dispatch(sim, top.ref))
            n++;
    }
    sim->running = false;
    if (ran)
        *ran = n;
    return rc;
}

int sim_run_until(struct sim *sim, uint64_t t_us)
{
    int rc = run(sim, t_us, UINT64_MAX, NULL);
    if (rc == SIM_OK && t_us > sim->now)
        sim->now = t_us;
    return rc;
}

int sim_run_for(struct sim *sim, uint64_t duration_us)
{
    if (!sim)
        return SIM_E_INVALID;
    uint64_t t = sim->now + duration_us;
    return sim_run_until(sim, t < sim->now ? UINT64_MAX : t);
}

int sim_run_until_idle(struct sim *sim)
{
    return run(sim, UINT64_MAX, UINT64_MAX, NULL);
}

int sim_step(struct sim *sim)
{
    uint64_t ran = 0;
    int rc = run(sim, UINT64_MAX, 1, &ran);
    return rc < 0 ? rc : (int)ran;
}

size_t sim_pending(const struct sim *sim)
{
    return sim_heap_size(&sim->heap);
}

void sim_set_event_limit(struct sim *sim, uint64_t max_events_per_call)
{
    sim->event_limit = max_events_per_call;
}

uint64_t sim_now(const struct sim *sim)
{
    return sim->now;
}

uint64_t sim_seed(const struct sim *sim)
{
    return sim->seed;
}

/* ---- randomness, stats, tracing ------------------------------------------ */

uint64_t sim_rand_u64(struct sim *sim)
{
    return sim_prng_u64(&sim->user_rng);
}

double sim_rand_double(struct sim *sim)
{
    return sim_prng_double(&sim->user_rng);
}

uint64_t sim_rand_below(struct sim *sim, uint64_t n)
{
    return sim_prng_below(&sim->user_rng, n);
}

const struct sim_stats *sim_stats(const struct sim *sim)
{
    return &sim->stats;
}

const struct sim_stats *sim_node_stats(const struct sim *sim, sim_node_id id)
{
    return id < sim->nnodes ? &sim->nodes[id].stats : NULL;
}

uint64_t sim_in_flight(const struct sim *sim)
{
    return sim->in_flight;
}

void sim_set_trace(struct sim *sim, sim_trace_fn fn, void *ctx)
{
    sim->trace = fn;
    sim->trace_ctx = ctx;
}

void sim_trace_emit(struct sim *sim, enum sim_trace_kind kind, sim_node_id node,
                    const struct drt_endpoint *from, const struct drt_endpoint *to,
                    const uint8_t *buf, size_t len)
{
    if (!sim->trace)
        return;
    struct sim_trace_event ev = {kind, sim->now, node, from, to, buf, len};
    sim->trace(sim->trace_ctx, &ev);
}
