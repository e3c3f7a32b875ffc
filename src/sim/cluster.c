/* cluster.c - engines on the simulator (cluster.h). */
#include "sim/cluster.h"

#include <stdlib.h>
#include <string.h>

#define CLUSTER_PORT 3540u

struct cnode {
    struct cluster *c;
    size_t index;
    sim_node_id id;
    struct drt_endpoint ep;
    struct drt_engine *eng;
    uint64_t rng; /* splitmix64 state */
    uint64_t clock_offset_ms; /* the node's clock runs this far ahead (jumps) */
    bool alive;
};

struct cluster {
    struct cluster_config cfg;
    struct sim *sim;
    struct cnode **nodes;
    size_t n, cap;
    size_t *live; /* indexes of live nodes, for picking seeds */
    size_t nlive;
    struct drt_engine_scratch *scratch; /* every engine's: they run one at a time */
};

static uint64_t splitmix(void *ctx)
{
    uint64_t *s = ctx;
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void cluster_config_default(struct cluster_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    sim_config_default(&cfg->sim);
    cfg->engine.version_major = 1;
    cfg->engine.version_minor = 0;
    cfg->seeds_per_join = 3;
}

struct cluster *cluster_create(const struct cluster_config *cfg)
{
    struct cluster *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->cfg = *cfg;
    if (!c->cfg.seeds_per_join)
        c->cfg.seeds_per_join = 3;
    c->sim = sim_create(&cfg->sim);
    c->scratch = drt_engine_scratch_create();
    if (!c->sim || !c->scratch) {
        sim_destroy(c->sim);
        drt_engine_scratch_destroy(c->scratch);
        free(c);
        return NULL;
    }
    return c;
}

void cluster_destroy(struct cluster *c)
{
    if (!c)
        return;
    sim_destroy(c->sim);
    for (size_t i = 0; i < c->n; i++) {
        drt_engine_destroy(c->nodes[i]->eng);
        free(c->nodes[i]);
    }
    free(c->nodes);
    free(c->live);
    drt_engine_scratch_destroy(c->scratch);
    free(c);
}

struct sim *cluster_sim(struct cluster *c)
{
    return c->sim;
}

uint64_t cluster_now_ms(const struct cluster *c)
{
    return sim_now(c->sim) / 1000;
}

/* The node's own clock: the simulator's plus any forward jumps. */
static uint64_t node_ms(const struct cnode *n)
{
    return sim_now(n->c->sim) / 1000 + n->clock_offset_ms;
}

/* Sends what the engine queued, reports its events, re-arms its timer. */
static void flush(struct cnode *n)
{
    if (!n->alive)
        return;
    struct drt_endpoint to;
    const uint8_t *buf;
    size_t len;
    while (drt_engine_next_datagram(n->eng, &to, &buf, &len))
        sim_send(n->c->sim, &n->ep, &to, buf, len);
    struct drt_engine_event ev;
    while (drt_engine_next_event(n->eng, &ev))
        if (n->c->cfg.on_event)
            n->c->cfg.on_event(n->c->cfg.event_ctx, n->c, n->index, &ev);
    uint64_t d = drt_engine_next_deadline(n->eng);
    uint64_t when = SIM_TIME_NEVER;
    if (d != UINT64_MAX)
        when = d > n->clock_offset_ms ? (d - n->clock_offset_ms) * 1000 : 0;
    sim_node_set_deadline(n->c->sim, n->id, when);
}

static void on_datagram(void *ctx, struct sim *sim, const struct drt_endpoint *from,
                        const struct drt_endpoint *to, const uint8_t *buf, size_t len,
                        uint64_t now_us)
{
    (void)sim;
    (void)to;
    struct cnode *n = ctx;
    (void)now_us;
    drt_engine_receive(n->eng, from, buf, len, node_ms(n));
    flush(n);
}

static void on_timer(void *ctx, struct sim *sim, uint64_t now_us)
{
    (void)sim;
    struct cnode *n = ctx;
    (void)now_us;
    drt_engine_timer(n->eng, node_ms(n));
    flush(n);
}

static void drop_live(struct cluster *c, size_t index)
{
    for (size_t i = 0; i < c->nlive; i++)
        if (c->live[i] == index) {
            c->live[i] = c->live[--c->nlive];
            return;
        }
}

static void on_crash(void *ctx, struct sim *sim, uint64_t now_us)
{
    (void)sim;
    (void)now_us;
    struct cnode *n = ctx;
    n->alive = false;
    drop_live(n->c, n->index);
}

static const struct sim_node_ops OPS = {on_datagram, on_timer, on_crash, NULL};

static size_t add_node(struct cluster *c, const struct drt_engine_security *security)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        struct cnode **nodes = realloc(c->nodes, cap * sizeof(*nodes));
        size_t *live = realloc(c->live, cap * sizeof(*live));
        if (nodes)
            c->nodes = nodes;
        if (live)
            c->live = live;
        if (!nodes || !live)
            return SIZE_MAX;
        c->cap = cap;
    }
    struct cnode *n = calloc(1, sizeof(*n));
    if (!n)
        return SIZE_MAX;
    n->c = c;
    n->index = c->n;
    n->rng = sim_rand_u64(c->sim);
    /* fd00::/8 unique-local, the node number in the low 32 bits. */
    n->ep.addr[0] = 0xfd;
    uint32_t num = (uint32_t)n->index + 1;
    n->ep.addr[12] = (uint8_t)(num >> 24);
    n->ep.addr[13] = (uint8_t)(num >> 16);
    n->ep.addr[14] = (uint8_t)(num >> 8);
    n->ep.addr[15] = (uint8_t)num;
    n->ep.port = CLUSTER_PORT;
    struct drt_engine_config ec = c->cfg.engine;
    if (security)
        ec.security = security;
    ec.self = n->ep;
    ec.random = splitmix;
    ec.random_ctx = &n->rng;
    if (!ec.scratch)
        ec.scratch = c->scratch;
    n->eng = drt_engine_create(&ec, cluster_now_ms(c));
    if (!n->eng || sim_node_add(c->sim, &n->ep, &OPS, n, &n->id) != SIM_OK) {
        drt_engine_destroy(n->eng);
        free(n);
        return SIZE_MAX;
    }
    n->alive = true;
    /* Seeds: a few random live nodes, as a bootstrap resolver would give. */
    struct drt_endpoint seeds[16];
    size_t ns = 0;
    size_t want = c->cfg.seeds_per_join < 16 ? c->cfg.seeds_per_join : 16;
    for (size_t tries = 0; ns < want && ns < c->nlive && tries < 64; tries++) {
        size_t pick = c->live[sim_rand_below(c->sim, c->nlive)];
        bool dup = false;
        for (size_t i = 0; i < ns && !dup; i++)
            dup = drt_endpoint_equal(&seeds[i], &c->nodes[pick]->ep);
        if (!dup)
            seeds[ns++] = c->nodes[pick]->ep;
    }
    c->nodes[c->n++] = n;
    c->live[c->nlive++] = n->index;
    drt_engine_bootstrap(n->eng, seeds, ns, cluster_now_ms(c));
    flush(n);
    return n->index;
}

size_t cluster_add_node(struct cluster *c)
{
    return add_node(c, NULL);
}

size_t cluster_add_node_with_security(struct cluster *c, const struct drt_engine_security *security)
{
    return add_node(c, security);
}

size_t cluster_node_count(const struct cluster *c)
{
    return c->n;
}

bool cluster_node_alive(const struct cluster *c, size_t node)
{
    return node < c->n && c->nodes[node]->alive;
}

struct drt_engine *cluster_engine(struct cluster *c, size_t node)
{
    return node < c->n ? c->nodes[node]->eng : NULL;
}

const struct drt_endpoint *cluster_endpoint(const struct cluster *c, size_t node)
{
    return node < c->n ? &c->nodes[node]->ep : NULL;
}

void cluster_crash(struct cluster *c, size_t node)
{
    if (cluster_node_alive(c, node))
        sim_node_crash(c->sim, c->nodes[node]->id);
}

void cluster_close(struct cluster *c, size_t node)
{
    if (!cluster_node_alive(c, node))
        return;
    struct cnode *n = c->nodes[node];
    /* DrtClose: every key is unregistered (revocations go out), then the
     * node is gone. */
    drt_engine_unregister_all(n->eng, node_ms(n));
    flush(n);
    sim_node_crash(c->sim, n->id);
}

HRESULT cluster_register(struct cluster *c, size_t node, const uint8_t key[32],
                         const uint8_t *data, size_t len, uint32_t *reg_id)
{
    if (!cluster_node_alive(c, node))
        return E_HANDLE;
    HRESULT hr = drt_engine_register(c->nodes[node]->eng, key, data, len, reg_id, node_ms(c->nodes[node]));
    flush(c->nodes[node]);
    return hr;
}

HRESULT cluster_unregister(struct cluster *c, size_t node, uint32_t reg_id)
{
    if (!cluster_node_alive(c, node))
        return E_HANDLE;
    HRESULT hr = drt_engine_unregister(c->nodes[node]->eng, reg_id, node_ms(c->nodes[node]));
    flush(c->nodes[node]);
    return hr;
}

HRESULT cluster_search(struct cluster *c, size_t node, const struct drt_engine_search_params *p,
                       uint32_t *search_id)
{
    if (!cluster_node_alive(c, node))
        return E_HANDLE;
    HRESULT hr = drt_engine_search_start(c->nodes[node]->eng, p, search_id, node_ms(c->nodes[node]));
    flush(c->nodes[node]);
    return hr;
}

HRESULT cluster_continue(struct cluster *c, size_t node, uint32_t search_id)
{
    if (!cluster_node_alive(c, node))
        return E_HANDLE;
    HRESULT hr = drt_engine_search_continue(c->nodes[node]->eng, search_id, node_ms(c->nodes[node]));
    flush(c->nodes[node]);
    return hr;
}

int cluster_run_for(struct cluster *c, uint64_t ms)
{
    return sim_run_for(c->sim, ms * 1000);
}

void cluster_clock_jump(struct cluster *c, size_t node, uint64_t ms)
{
    if (!cluster_node_alive(c, node))
        return;
    struct cnode *n = c->nodes[node];
    n->clock_offset_ms += ms;
    /* Whatever was due in the skipped time is due now. */
    drt_engine_timer(n->eng, node_ms(n));
    flush(n);
}

size_t cluster_memory(const struct cluster *c)
{
    size_t total = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (!c->nodes[i]->alive)
            continue;
        struct drt_engine_stats st;
        drt_engine_get_stats(c->nodes[i]->eng, &st);
        total += st.memory_bytes;
    }
    return total;
}
