/*
 * sim.h - a deterministic discrete-event network in one process.
 *
 * The simulator moves opaque datagrams between nodes named by their
 * struct drt_endpoint, under a virtual clock in microseconds. It knows
 * nothing about the DRT: a node is a set of callbacks and a context.
 * Tests run the sans-I/O engine by the thousand on it; benchmarks by the
 * ten thousand.
 *
 * Determinism. A run is a pure function of the seed and of the calls made:
 *   - all randomness comes from xoshiro256** streams derived from the one
 *     seed (sim/prng.h): a "net" stream for the link model and a "user"
 *     stream (sim_rand_*) for nodes and scenarios, so a scenario that draws
 *     more numbers does not shift the network's draws;
 *   - the event queue is ordered by (time, sequence number): events due at
 *     the same microsecond run in the order they were scheduled;
 *   - no wall clock, no hash-table iteration, no pointer comparison and no
 *     libm call (whose rounding may vary by host) ever decides anything.
 * A node that needs its own generator (an engine's injected one) seeds it
 * from sim_rand_u64 when it is created, and stays reproducible.
 *
 * Link model (struct sim_link, global default, overridable per pair).
 * One-way delay of a datagram from a to b:
 *     base_us
 *   + plane_us * |pos(a) - pos(b)|          nodes sit on a unit square,
 *                                           placed by a seeded hash of the
 *                                           endpoint (or sim_node_set_position)
 *   + uniform [0, jitter_us]
 *   + exponential tail of mean tail_mean_us, capped at 16 means
 *   + with probability reorder_prob: uniform [0, reorder_us]  (reordering)
 * A datagram is lost with probability loss; a delivered one is duplicated
 * with probability dup, the copy drawing its own delay. Per-pair base
 * latency costs no memory: a 10,000-node run stores 10,000 positions, not
 * a 10^8 matrix. Bandwidth is not modelled.
 *
 * Partitions and churn. Every node has a group (0 by default); a datagram
 * whose sender and receiver are in different groups, when it is sent or
 * when it arrives, is dropped. Heal puts everybody back in group 0. A crash
 * removes the node at once: its timer and every datagram in flight to it are
 * dropped, and it gets no further callback except on_crash (for freeing its
 * context). A graceful leave calls on_leave first (the node may still send
 * its goodbyes), then removes it the same way. A datagram to an endpoint no
 * node owns is dropped and counted; node ids are never reused, so a node
 * restarted on the same endpoint never sees its predecessor's traffic.
 *
 * Complexity. Scheduling, re-arming a timer and running an event cost
 * O(log E) (binary heap over E pending events); finding a node by endpoint
 * costs O(1) (hash table); a per-pair override costs O(log P) (sorted
 * array of P overrides) and nothing when there is none. Memory: one record
 * per node, one per pending event plus its payload.
 *
 * Reentrancy. Callbacks may call every function here (send, set deadlines,
 * add, crash, leave, partition, schedule) except sim_destroy and the
 * sim_run_* / sim_step family, which refuse with SIM_E_REENTRANT. Each run
 * call processes at most the configured event limit and fails with
 * SIM_E_EVENT_LIMIT when there is more, so a node that reschedules itself
 * forever cannot hang a test. Not thread-safe: one simulator, one thread.
 *
 * Tests take their seed from tests/sim/sim_test.h (SIM_TEST): a failing
 * test prints "SIM SEED=<n>", and DRT_SIM_SEED=<n> replays it exactly.
 */
#ifndef DRT_SIM_SIM_H
#define DRT_SIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/endpoint.h"

struct sim;

typedef uint32_t sim_node_id;
#define SIM_NODE_NONE UINT32_MAX
#define SIM_TIME_NEVER UINT64_MAX
#define SIM_MAX_DATAGRAM 65535u

enum sim_result {
    SIM_OK = 0,
    SIM_E_NOMEM = -1,
    SIM_E_INVALID = -2,       /* bad argument: unknown node, oversized datagram, ... */
    SIM_E_EXISTS = -3,        /* a live node already owns that endpoint */
    SIM_E_EVENT_LIMIT = -4,   /* the run stopped after the per-call event limit */
    SIM_E_REENTRANT = -5,     /* a run function was called from a callback */
};

const char *sim_result_str(int rc);

/* ---- configuration ---------------------------------------------------- */

struct sim_link {
    uint32_t base_us;        /* fixed part of the one-way delay */
    uint32_t plane_us;       /* added per unit of distance on the virtual plane */
    uint32_t jitter_us;      /* uniform extra delay in [0, jitter_us] */
    uint32_t tail_mean_us;   /* mean of an exponential extra delay; 0 = none */
    uint32_t reorder_us;     /* extra uniform delay bound for reordered datagrams */
    double reorder_prob;     /* probability that a datagram gets the reorder delay */
    double loss;             /* probability that a datagram is lost */
    double dup;              /* probability that a datagram is delivered twice */
    double corrupt;          /* probability that one random bit of a datagram flips */
};

struct sim_config {
    uint64_t seed;
    struct sim_link link;            /* default for every pair */
    uint64_t max_events_per_call;    /* 0 = unlimited (not advised in tests) */
};

/* Defaults: seed 1, 10 ms base + up to 40 ms across the plane, 2 ms of
 * jitter, no tail, no loss/dup/reordering, 10 million events per call. */
void sim_config_default(struct sim_config *cfg);

/* ---- lifetime ---------------------------------------------------------- */

/* Returns NULL when out of memory or when cfg->link is invalid. */
struct sim *sim_create(const struct sim_config *cfg);
/* Frees everything the simulator owns; calls no node callback. */
void sim_destroy(struct sim *sim);

/* ---- nodes ------------------------------------------------------------- */

struct sim_node_ops {
    /* A datagram for this node arrived. buf is valid during the call only. */
    void (*on_datagram)(void *ctx, struct sim *sim, const struct drt_endpoint *from,
                        const struct drt_endpoint *to, const uint8_t *buf, size_t len,
                        uint64_t now_us);
    /* The deadline set with sim_node_set_deadline arrived; it is cleared
     * before the call, so a node that wants another wake-up sets one. */
    void (*on_timer)(void *ctx, struct sim *sim, uint64_t now_us);
    /* Optional. The node was crashed: it is already gone, and this is the
     * place to free ctx. It must not send. */
    void (*on_crash)(void *ctx, struct sim *sim, uint64_t now_us);
    /* Optional. The node is leaving gracefully: it is still present and may
     * send; it is removed when this returns. */
    void (*on_leave)(void *ctx, struct sim *sim, uint64_t now_us);
};

/* Adds a node now. ops must outlive the node (a static const is typical).
 * SIM_E_EXISTS when a live node owns ep. *id may be NULL. */
int sim_node_add(struct sim *sim, const struct drt_endpoint *ep, const struct sim_node_ops *ops,
                 void *ctx, sim_node_id *id);

/* The live node owning ep, or SIM_NODE_NONE. */
sim_node_id sim_node_find(const struct sim *sim, const struct drt_endpoint *ep);

bool sim_node_alive(const struct sim *sim, sim_node_id id);
/* NULL for an id that never existed. */
const struct drt_endpoint *sim_node_endpoint(const struct sim *sim, sim_node_id id);
void *sim_node_ctx(const struct sim *sim, sim_node_id id);
size_t sim_node_count(const struct sim *sim);   /* live nodes */

/* Arms the node's single timer at when_us (SIM_TIME_NEVER disarms),
 * replacing any earlier deadline. A time in the past fires at once, after
 * whatever is already due now. */
int sim_node_set_deadline(struct sim *sim, sim_node_id id, uint64_t when_us);
uint64_t sim_node_deadline(const struct sim *sim, sim_node_id id);

/* Overrides the node's place on the virtual plane (coordinates in [0,1]). */
int sim_node_set_position(struct sim *sim, sim_node_id id, double x, double y);

/* Removes the node now (see the top of this file). Crashing or leaving an
 * already removed node is a harmless no-op returning SIM_OK. */
int sim_node_crash(struct sim *sim, sim_node_id id);
int sim_node_leave(struct sim *sim, sim_node_id id);
/* The same, at a virtual time. */
int sim_node_crash_at(struct sim *sim, sim_node_id id, uint64_t when_us);
int sim_node_leave_at(struct sim *sim, sim_node_id id, uint64_t when_us);

/* ---- traffic ----------------------------------------------------------- */

/* Sends a copy of buf from one endpoint to another; like UDP it succeeds
 * whether or not the datagram arrives. from need not belong to a node (a
 * scenario may inject traffic); it is then in group 0. */
int sim_send(struct sim *sim, const struct drt_endpoint *from, const struct drt_endpoint *to,
             const void *buf, size_t len);

/* The link model for one pair, both directions; NULL removes the override. */
int sim_link_set_pair(struct sim *sim, const struct drt_endpoint *a, const struct drt_endpoint *b,
                      const struct sim_link *link);
/* Replaces the default link model; SIM_E_INVALID for a probability outside [0,1]. */
int sim_link_set_default(struct sim *sim, const struct sim_link *link);
const struct sim_link *sim_link_default(const struct sim *sim);

/* ---- partitions ---------------------------------------------------------- */

int sim_partition_set(struct sim *sim, sim_node_id id, uint32_t group);
/* One-way failures: a deaf node receives nothing, a mute one's datagrams
 * go nowhere; both count as dropped_partition. */
int sim_node_set_deaf(struct sim *sim, sim_node_id id, bool deaf);
int sim_node_set_mute(struct sim *sim, sim_node_id id, bool mute);
uint32_t sim_partition_get(const struct sim *sim, sim_node_id id);
/* Everybody back in group 0. */
void sim_partition_heal(struct sim *sim);

/* ---- scheduling and running ---------------------------------------------- */

typedef void (*sim_call_fn)(struct sim *sim, void *arg, uint64_t now_us);

/* Calls fn(sim, arg, t) at virtual time when_us (now if already past). */
int sim_at(struct sim *sim, uint64_t when_us, sim_call_fn fn, void *arg);

uint64_t sim_now(const struct sim *sim);
uint64_t sim_seed(const struct sim *sim);

/* Runs every event due at or before t_us, then sets the clock to t_us.
 * SIM_E_EVENT_LIMIT leaves the clock at the last event run; calling again
 * carries on. A t_us in the past runs nothing. */
int sim_run_until(struct sim *sim, uint64_t t_us);
int sim_run_for(struct sim *sim, uint64_t duration_us);
/* Runs until nothing is pending (bounded by the event limit). */
int sim_run_until_idle(struct sim *sim);
/* Runs the next event: 1 if one ran, 0 if nothing is pending, or an error. */
int sim_step(struct sim *sim);
/* Events queued, including datagrams that will be dropped on arrival. */
size_t sim_pending(const struct sim *sim);
void sim_set_event_limit(struct sim *sim, uint64_t max_events_per_call);

/* ---- randomness for nodes and scenarios ------------------------------------ */

uint64_t sim_rand_u64(struct sim *sim);
double sim_rand_double(struct sim *sim);       /* [0, 1) */
uint64_t sim_rand_below(struct sim *sim, uint64_t n);  /* [0, n) */

/* ---- statistics ------------------------------------------------------------ */

struct sim_count {
    uint64_t datagrams;
    uint64_t bytes;
};

/* Accounting: sent + duplicated = delivered + lost + dropped_* + in flight.
 * Per node, the sending side counts sent, lost, duplicated, dropped_partition
 * and dropped_unknown; the receiving side counts delivered and dropped_crash. */
struct sim_stats {
    struct sim_count sent;
    struct sim_count delivered;
    struct sim_count lost;
    struct sim_count duplicated;
    struct sim_count dropped_partition;
    struct sim_count dropped_unknown;   /* no live node owned the destination */
    struct sim_count dropped_crash;     /* in flight to a node that crashed or left */
    struct sim_count corrupted;         /* delivered with one bit flipped (not a drop) */
    uint64_t timers;                    /* on_timer calls */
    uint64_t events;    /* global: events run (deliveries, timers, calls, churn);
                         * per node: callbacks it received (datagrams, timers) */
};

const struct sim_stats *sim_stats(const struct sim *sim);
/* NULL for an id that never existed; a removed node keeps its last stats. */
const struct sim_stats *sim_node_stats(const struct sim *sim, sim_node_id id);
/* Datagrams scheduled but not yet delivered or dropped. */
uint64_t sim_in_flight(const struct sim *sim);

/* ---- tracing ----------------------------------------------------------------- */

enum sim_trace_kind {
    SIM_TRACE_DELIVER,
    SIM_TRACE_TIMER,
    SIM_TRACE_CALL,
    SIM_TRACE_ADD,
    SIM_TRACE_CRASH,
    SIM_TRACE_LEAVE,
    SIM_TRACE_LOST,
    SIM_TRACE_DUPLICATED,
    SIM_TRACE_DROP_PARTITION,
    SIM_TRACE_DROP_UNKNOWN,
};

struct sim_trace_event {
    enum sim_trace_kind kind;
    uint64_t now_us;
    sim_node_id node;                 /* subject or receiver; SIM_NODE_NONE if none */
    const struct drt_endpoint *from;  /* datagram kinds only, else NULL */
    const struct drt_endpoint *to;
    const uint8_t *buf;
    size_t len;
};

/* Called for every event run and every datagram dropped or duplicated,
 * before the node sees it; a test hashes these to compare runs. */
typedef void (*sim_trace_fn)(void *ctx, const struct sim_trace_event *ev);
void sim_set_trace(struct sim *sim, sim_trace_fn fn, void *ctx);

#endif
