/*
 * churn_sim.c - DRT under churn in the deterministic simulator (issue 7,
 * part 3). Built by bench/run against the library's static archive and
 * src/ headers, like `drt sim`.
 *
 * N nodes join (one every 20 virtual ms, each registering one key of its
 * own), settle for 60 s, then churn starts: every node lives for an
 * exponential session time with the given median (mean = median / ln 2).
 * When a node's session ends it departs — alternately a crash (no goodbye)
 * and a graceful close (cluster_close: its key is unregistered, then it
 * leaves) — and a new node with a new key and a new endpoint joins at once
 * in its place (bootstrapping from 3 random live nodes), so N stays
 * constant. After a warm-up of churn, lookups start at a steady rate: every
 * 1000/rate virtual ms one exact lookup for the key of a random live ACTIVE
 * node, started from another random live ACTIVE node (timeout 30 s). The
 * run is measured minute by minute: lookups by the minute they started,
 * and every datagram the whole cloud sent (UDP payload bytes; joins,
 * goodbyes, maintenance and lookups alike) by the minute it was sent.
 *
 * Output: one JSON object (per-minute array and overall figures). With
 * CHURN_DEBUG=1 in the environment, each failed lookup and its search path
 * (nearness, DRT_ADDRESS_FLAGS, RTT of every node contacted) go to stderr.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/cluster.h"
#include "util/key256.h"

#define TICK_MS 100u
#define LOOKUP_TIMEOUT_MS 30000u
#define YOUNG_MS 10000u /* a target that joined less than this before: "young" */

struct nrec {
    uint8_t key[32];
    uint64_t joined_ms;
    uint64_t departs_ms;
    uint64_t left_ms; /* 0 while alive */
    uint32_t *ids;    /* search id -> lookup index + 1 */
    size_t ids_cap;
};

struct lookup {
    size_t from, target;
    uint64_t started_ms, found_ms, done_ms;
    bool found, done, young, origin_young, timeout;
};

struct minute {
    uint64_t started, found, abandoned, target_gone, young_failed, origin_young_failed, timeouts;
    uint64_t bytes, datagrams, departures, crashes, closes;
    double *lat;
    size_t nlat;
};

static struct nrec *nodes;
static size_t nodes_cap;
static size_t *live;
static size_t nlive;
static struct lookup *lookups;
static size_t nlookups, lookups_cap;
static size_t starting = SIZE_MAX; /* lookup being started, for events inside the call */
static uint64_t seed = 1;
static bool debug;

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "churn_sim: out of memory\n");
        exit(1);
    }
    return q;
}

static void key_for(uint64_t n, uint8_t key[32])
{
    uint64_t z = n * 0xd1b54a32d192ed03ull + seed;
    for (int w = 0; w < 4; w++) {
        z += 0x9e3779b97f4a7c15ull;
        uint64_t x = z;
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
        x ^= x >> 31;
        memcpy(key + 8 * w, &x, 8);
    }
}

static bool id_set(struct nrec *n, uint32_t id, size_t l)
{
    if (id >= n->ids_cap) {
        size_t cap = n->ids_cap ? n->ids_cap : 16;
        while (cap <= id)
            cap *= 2;
        n->ids = xrealloc(n->ids, cap * sizeof(*n->ids));
        memset(n->ids + n->ids_cap, 0, (cap - n->ids_cap) * sizeof(*n->ids));
        n->ids_cap = cap;
    }
    n->ids[id] = (uint32_t)l + 1;
    return true;
}

static struct lookup *lookup_of(size_t node, uint32_t id)
{
    struct nrec *n = &nodes[node];
    if (id < n->ids_cap && n->ids[id])
        return &lookups[n->ids[id] - 1];
    if (starting != SIZE_MAX && lookups[starting].from == node && id_set(n, id, starting))
        return &lookups[starting];
    return NULL;
}

static void print_miss(struct cluster *c, const struct lookup *l, HRESULT hr, uint32_t messages,
                       const struct drt_engine_path_entry *path, size_t path_len);

static void on_event(void *ctx, struct cluster *c, size_t node, const struct drt_engine_event *ev)
{
    (void)ctx;
    if (ev->type == ENGINE_EV_RESULT) {
        struct lookup *l = lookup_of(node, ev->u.result.search_id);
        if (l && !l->found && memcmp(ev->u.result.key, nodes[l->target].key, 32) == 0) {
            l->found = true;
            l->found_ms = cluster_now_ms(c);
        }
    } else if (ev->type == ENGINE_EV_SEARCH_DONE) {
        struct lookup *l = lookup_of(node, ev->u.done.search_id);
        if (l && !l->done) {
            l->done = true;
            l->timeout = ev->u.done.hr == DRT_E_TIMEOUT;
            if (!l->found && debug)
                print_miss(c, l, ev->u.done.hr, ev->u.done.messages, ev->u.done.path,
                           ev->u.done.path_len);
            l->done_ms = cluster_now_ms(c);
        }
    }
}

/* Bytes delivered in the measured minutes by MC-DRT message type (the
 * header's MessageType at offset 7), to see where maintenance goes. */
static bool measuring_now;
static uint64_t type_bytes[16];

static struct cluster *trace_cluster;
static size_t trace_node = SIZE_MAX;

static size_t node_of_ep(const struct drt_endpoint *ep)
{
    for (size_t i = 0; i < cluster_node_count(trace_cluster); i++)
        if (drt_endpoint_equal(cluster_endpoint(trace_cluster, i), ep))
            return i;
    return SIZE_MAX;
}

static void trace_one(const struct sim_trace_event *ev)
{
    if (trace_node >= cluster_node_count(trace_cluster) || ev->kind != SIM_TRACE_DELIVER ||
        !ev->buf || ev->len < 8)
        return;
    const struct drt_endpoint *me = cluster_endpoint(trace_cluster, trace_node);
    bool out = drt_endpoint_equal(ev->from, me), in = drt_endpoint_equal(ev->to, me);
    if (!out && !in)
        return;
    size_t other = node_of_ep(out ? ev->to : ev->from);
    unsigned near = other == SIZE_MAX ? 999
                                      : key256_common_prefix_bits((const drt_key *)nodes[other].key,
                                                                  (const drt_key *)nodes[trace_node].key);
    fprintf(stderr, "T %8.3f %s %zu (near %u) type %u len %zu\n", (double)ev->now_us / 1e6,
            out ? "->" : "<-", other, near, ev->buf[7], ev->len);
}

static void count_type(void *ctx, const struct sim_trace_event *ev)
{
    (void)ctx;
    trace_one(ev);
    if (measuring_now && ev->kind == SIM_TRACE_DELIVER && ev->buf && ev->len > 7)
        type_bytes[ev->buf[7] & 15] += ev->len;
}

/* CHURN_DEBUG: do the live nodes nearest the target on the ring hold it in
 * their caches, and it them? (Leaf sets that do not converge under churn
 * show here.) */
static bool knows(struct cluster *c, size_t who, const uint8_t key[32], bool *verified)
{
    static struct drt_engine_route routes[4096];
    size_t n = drt_engine_export_routes(cluster_engine(c, who), routes, 4096);
    for (size_t i = 0; i < n; i++)
        if (memcmp(routes[i].key, key, 32) == 0) {
            *verified = true;
            return true;
        }
    *verified = false;
    return false;
}

static void print_neighbourhood(struct cluster *c, size_t target)
{
    enum { NB = 6 };
    size_t best[NB];
    drt_key dist[NB];
    size_t nb = 0;
    const drt_key *t = (const drt_key *)nodes[target].key;
    for (size_t i = 0; i < cluster_node_count(c); i++) {
        if (i == target || !cluster_node_alive(c, i))
            continue;
        drt_key d;
        key256_ring_distance(&d, t, (const drt_key *)nodes[i].key);
        size_t pos = nb < NB ? nb++ : NB;
        while (pos > 0 && key256_cmp(&d, &dist[pos - 1]) < 0) {
            if (pos < NB) {
                dist[pos] = dist[pos - 1];
                best[pos] = best[pos - 1];
            }
            pos--;
        }
        if (pos < NB) {
            dist[pos] = d;
            best[pos] = i;
        }
    }
    static struct drt_engine_route routes[4096];
    struct drt_engine *te = cluster_engine(c, target);
    size_t nr = drt_engine_export_routes(te, routes, 4096);
    unsigned best_near = 0;
    for (size_t i = 0; i < nr; i++) {
        unsigned b = key256_common_prefix_bits((const drt_key *)routes[i].key, t);
        if (b > best_near)
            best_near = b;
    }
    fprintf(stderr,
            "   target status %d, keys %zu, verified routes %zu (nearest shares %u bits); ring "
            "neighbours:",
            (int)drt_engine_status(te), drt_engine_key_count(te), nr, best_near);
    for (size_t k = 0; k < nb; k++) {
        bool v1, v2;
        bool a = knows(c, best[k], nodes[target].key, &v1);
        bool b = knows(c, target, nodes[best[k]].key, &v2);
        fprintf(stderr, " [%zu age %" PRIu64 "s knows-target %d target-knows %d]", best[k],
                (cluster_now_ms(c) - nodes[best[k]].joined_ms) / 1000, a, b);
    }
    fprintf(stderr, "\n");
}

/* CHURN_DEBUG=1: each failed lookup with its search path on stderr. */
static void print_miss(struct cluster *c, const struct lookup *l, HRESULT hr, uint32_t messages,
                       const struct drt_engine_path_entry *path, size_t path_len)
{
    const struct drt_endpoint *tep = cluster_endpoint(c, l->target);
    bool contacted = false;
    for (size_t k = 0; k < path_len; k++)
        contacted |= drt_endpoint_equal(&path[k].endpoint, tep);
    fprintf(stderr,
            "miss t=%" PRIu64 " from %zu (age %" PRIu64 " s) target %zu (age %" PRIu64
            " s, alive %d) hr 0x%08x messages %u path %zu, target contacted %d:",
            cluster_now_ms(c), l->from, (l->started_ms - nodes[l->from].joined_ms) / 1000,
            l->target, (l->started_ms - nodes[l->target].joined_ms) / 1000,
            cluster_node_alive(c, l->target), (unsigned)hr, messages, path_len,
            contacted);
    for (size_t k = 0; k < path_len; k++)
        fprintf(stderr, " [near %u flags 0x%x rtt %u]", path[k].nearness, path[k].flags,
                path[k].rtt_ms);
    fprintf(stderr, "\n");
    print_neighbourhood(c, l->target);
}

static double exp_ms(struct cluster *c, double mean_ms)
{
    double u = sim_rand_double(cluster_sim(c)); /* [0, 1) */
    return -log(1.0 - u) * mean_ms;
}

static size_t join(struct cluster *c, double mean_ms)
{
    size_t i = cluster_add_node(c);
    if (i == SIZE_MAX) {
        fprintf(stderr, "churn_sim: cannot add a node\n");
        exit(1);
    }
    if (i >= nodes_cap) {
        size_t cap = nodes_cap ? nodes_cap * 2 : 1024;
        while (cap <= i)
            cap *= 2;
        nodes = xrealloc(nodes, cap * sizeof(*nodes));
        memset(nodes + nodes_cap, 0, (cap - nodes_cap) * sizeof(*nodes));
        nodes_cap = cap;
    }
    struct nrec *n = &nodes[i];
    uint64_t now = cluster_now_ms(c);
    key_for(i, n->key);
    n->joined_ms = now;
    n->departs_ms = mean_ms > 0 ? now + (uint64_t)exp_ms(c, mean_ms) : UINT64_MAX;
    uint8_t data[16];
    uint64_t v = i;
    memcpy(data, &v, 8);
    memcpy(data + 8, "churn!!!", 8);
    uint32_t reg;
    if (FAILED(cluster_register(c, i, n->key, data, sizeof(data), &reg)))
        fprintf(stderr, "churn_sim: node %zu could not register its key\n", i);
    live = xrealloc(live, (nlive + 1) * sizeof(*live));
    live[nlive++] = i;
    return i;
}

static bool active(struct cluster *c, size_t i)
{
    return cluster_node_alive(c, i) &&
           drt_engine_status(cluster_engine(c, i)) == ENGINE_ACTIVE;
}

/* A random live ACTIVE node other than `not`, or SIZE_MAX. */
static size_t pick_active(struct cluster *c, size_t not)
{
    for (int tries = 0; tries < 200; tries++) {
        size_t i = live[sim_rand_below(cluster_sim(c), nlive)];
        if (i != not && active(c, i))
            return i;
    }
    return SIZE_MAX;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank quantile of sorted v. */
static double quant(const double *v, size_t n, double p)
{
    if (!n)
        return 0;
    size_t rank = (size_t)ceil(p * (double)n);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return v[rank - 1];
}

static void usage(void)
{
    fprintf(stderr,
            "usage: churn_sim [--nodes N] [--median-min M] [--warmup-min W] [--minutes T]\n"
            "                 [--rate R] [--seed S]\n"
            "  N nodes (1000), exponential sessions of median M minutes (10; 0 = no churn),\n"
            "  W minutes of churn before measuring (5), T measured minutes (30),\n"
            "  R exact lookups per virtual second over the whole cloud (10; 0 = idle)\n");
}

int main(int argc, char **argv)
{
    uint64_t n_nodes = 1000, warmup_min = 5, minutes = 30;
    double median_min = 10, rate = 10;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc) {
            usage();
            return 2;
        }
        const char *a = argv[i], *v = argv[++i];
        char *end;
        errno = 0;
        double d = strtod(v, &end);
        if (errno || end == v || *end || d < 0) {
            usage();
            return 2;
        }
        if (strcmp(a, "--nodes") == 0 && d >= 2)
            n_nodes = (uint64_t)d;
        else if (strcmp(a, "--median-min") == 0)
            median_min = d;
        else if (strcmp(a, "--warmup-min") == 0)
            warmup_min = (uint64_t)d;
        else if (strcmp(a, "--minutes") == 0 && d >= 1)
            minutes = (uint64_t)d;
        else if (strcmp(a, "--rate") == 0 && d <= 1000)
            rate = d;
        else if (strcmp(a, "--seed") == 0)
            seed = (uint64_t)d;
        else {
            usage();
            return 2;
        }
    }
    debug = getenv("CHURN_DEBUG") != NULL;
    double mean_ms = median_min > 0 ? median_min * 60000.0 / log(2.0) : 0;

    struct cluster_config cfg;
    cluster_config_default(&cfg);
    cfg.sim.seed = seed;
    cfg.on_event = on_event;
    cfg.engine.max_cache_entries = 256; /* as `drt sim` */
    struct cluster *c = cluster_create(&cfg);
    if (!c) {
        fprintf(stderr, "churn_sim: cannot create the simulator\n");
        return 1;
    }
    struct sim *s = cluster_sim(c);
    sim_set_trace(s, count_type, NULL);
    trace_cluster = c;
    if (getenv("CHURN_TRACE_NODE"))
        trace_node = (size_t)strtoul(getenv("CHURN_TRACE_NODE"), NULL, 10);

    /* Join and settle (no churn yet: departure times are drawn when churn starts). */
    for (uint64_t i = 0; i < n_nodes; i++) {
        join(c, 0);
        cluster_run_for(c, 20);
    }
    cluster_run_for(c, 60000);
    uint64_t churn_start = cluster_now_ms(c);
    for (size_t k = 0; k < nlive; k++)
        nodes[live[k]].departs_ms =
            mean_ms > 0 ? churn_start + (uint64_t)exp_ms(c, mean_ms) : UINT64_MAX;

    uint64_t measure_start = churn_start + warmup_min * 60000;
    uint64_t measure_end = measure_start + minutes * 60000;
    uint64_t run_end = measure_end + LOOKUP_TIMEOUT_MS + 1000;
    struct minute *mins = calloc(minutes, sizeof(*mins));
    uint64_t departures = 0, crashes = 0, closes = 0;
    uint64_t prev_bytes = 0, prev_dgrams = 0;
    double lookup_due = (double)measure_start;
    double interval = rate > 0 ? 1000.0 / rate : 0;
    size_t min_live = SIZE_MAX, max_live = 0;

    for (uint64_t now = churn_start; now < run_end; now = cluster_now_ms(c)) {
        bool measuring = now >= measure_start && now < measure_end;
        measuring_now = measuring;
        size_t m = measuring ? (size_t)((now - measure_start) / 60000) : 0;
        if (now == measure_start) {
            const struct sim_stats *st = sim_stats(s);
            prev_bytes = st->sent.bytes;
            prev_dgrams = st->sent.datagrams;
        }
        /* Departures due by now, each replaced at once. */
        for (size_t k = 0; k < nlive;) {
            size_t i = live[k];
            if (nodes[i].departs_ms > now) {
                k++;
                continue;
            }
            live[k] = live[--nlive];
            nodes[i].left_ms = now;
            bool crash = (departures++ % 2) == 0;
            if (crash) {
                cluster_crash(c, i);
                crashes++;
            } else {
                cluster_close(c, i);
                closes++;
            }
            if (measuring) {
                mins[m].departures++;
                mins[m].crashes += crash;
                mins[m].closes += !crash;
            }
            join(c, mean_ms);
        }
        if (measuring) {
            if (nlive < min_live)
                min_live = nlive;
            if (nlive > max_live)
                max_live = nlive;
        }
        /* Lookups due in this tick. */
        while (interval > 0 && measuring && lookup_due < (double)(now + TICK_MS) &&
               lookup_due < (double)measure_end) {
            lookup_due += interval;
            size_t from = pick_active(c, SIZE_MAX);
            size_t target = from == SIZE_MAX ? SIZE_MAX : pick_active(c, from);
            if (target == SIZE_MAX)
                continue;
            if (nlookups == lookups_cap) {
                lookups_cap = lookups_cap ? lookups_cap * 2 : 4096;
                lookups = xrealloc(lookups, lookups_cap * sizeof(*lookups));
            }
            struct lookup *l = &lookups[nlookups];
            memset(l, 0, sizeof(*l));
            l->from = from;
            l->target = target;
            l->started_ms = now;
            l->young = now - nodes[target].joined_ms < YOUNG_MS;
            l->origin_young = now - nodes[from].joined_ms < YOUNG_MS;
            struct drt_engine_search_params p;
            memset(&p, 0, sizeof(p));
            memcpy(p.target, nodes[target].key, 32);
            memcpy(p.min, nodes[target].key, 32);
            memcpy(p.max, nodes[target].key, 32);
            p.max_results = 1;
            p.timeout_ms = LOOKUP_TIMEOUT_MS;
            starting = nlookups++;
            uint32_t id;
            if (SUCCEEDED(cluster_search(c, from, &p, &id)))
                (void)lookup_of(from, id);
            else {
                l->done = true;
                l->done_ms = now;
            }
            starting = SIZE_MAX;
            mins[m].started++;
        }
        int rc = cluster_run_for(c, TICK_MS);
        if (rc != SIM_OK) {
            fprintf(stderr, "churn_sim: simulator: %s\n", sim_result_str(rc));
            return 1;
        }
        uint64_t after = cluster_now_ms(c);
        if (measuring && (after - measure_start) % 60000 == 0) {
            const struct sim_stats *st = sim_stats(s);
            mins[m].bytes = st->sent.bytes - prev_bytes;
            mins[m].datagrams = st->sent.datagrams - prev_dgrams;
            prev_bytes = st->sent.bytes;
            prev_dgrams = st->sent.datagrams;
        }
    }

    /* Per-minute and overall figures. */
    double *all_lat = calloc(nlookups + 1, sizeof(double));
    size_t nall = 0;
    uint64_t tot_started = 0, tot_found = 0, tot_abandoned = 0, tot_gone = 0, tot_young_failed = 0, tot_origin_young_failed = 0, tot_timeouts = 0,
             tot_young = 0, tot_bytes = 0;
    for (size_t m = 0; m < minutes; m++)
        mins[m].lat = calloc(nlookups + 1, sizeof(double));
    for (size_t k = 0; k < nlookups; k++) {
        struct lookup *l = &lookups[k];
        struct minute *mm = &mins[(l->started_ms - measure_start) / 60000];
        tot_young += l->young;
        if (l->found) {
            mm->found++;
            mm->lat[mm->nlat++] = (double)(l->found_ms - l->started_ms);
            all_lat[nall++] = (double)(l->found_ms - l->started_ms);
            continue;
        }
        /* The origin left before its lookup ended: nobody to answer; not counted. */
        uint64_t end = l->done ? l->done_ms : l->started_ms + LOOKUP_TIMEOUT_MS;
        uint64_t origin_left = nodes[l->from].left_ms;
        if (origin_left && origin_left <= end) {
            mm->abandoned++;
            continue;
        }
        uint64_t target_left = nodes[l->target].left_ms;
        if (target_left && target_left <= end)
            mm->target_gone++;
        if (l->young)
            mm->young_failed++;
        if (l->origin_young)
            mm->origin_young_failed++;
        if (!l->done || l->timeout)
            mm->timeouts++;
    }
    printf("{\"nodes\":%" PRIu64 ",\"median_session_min\":%g,\"mean_session_min\":%.3f,"
           "\"warmup_min\":%" PRIu64 ",\"minutes\":%" PRIu64 ",\"lookup_rate_per_s\":%g,"
           "\"seed\":%" PRIu64 ",\"per_minute\":[",
           n_nodes, median_min, mean_ms / 60000.0, warmup_min, minutes, rate, seed);
    for (size_t m = 0; m < minutes; m++) {
        struct minute *mm = &mins[m];
        qsort(mm->lat, mm->nlat, sizeof(double), cmp_double);
        uint64_t counted = mm->started - mm->abandoned;
        tot_started += mm->started;
        tot_found += mm->found;
        tot_abandoned += mm->abandoned;
        tot_gone += mm->target_gone;
        tot_young_failed += mm->young_failed;
        tot_origin_young_failed += mm->origin_young_failed;
        tot_timeouts += mm->timeouts;
        tot_bytes += mm->bytes;
        printf("%s{\"minute\":%zu,\"lookups\":%" PRIu64 ",\"found\":%" PRIu64
               ",\"abandoned\":%" PRIu64 ",\"failed_target_left\":%" PRIu64
               ",\"failed_target_young\":%" PRIu64 ",\"success_pct\":%.3f,"
               "\"latency_ms_p50\":%.0f,\"latency_ms_p99\":%.0f,\"departures\":%" PRIu64
               ",\"crashes\":%" PRIu64 ",\"closes\":%" PRIu64 ",\"datagrams\":%" PRIu64
               ",\"bytes\":%" PRIu64 ",\"bytes_per_s_per_node\":%.1f}",
               m ? "," : "", m + 1, mm->started, mm->found, mm->abandoned, mm->target_gone,
               mm->young_failed, counted ? 100.0 * (double)mm->found / (double)counted : 100.0,
               quant(mm->lat, mm->nlat, 0.5), quant(mm->lat, mm->nlat, 0.99), mm->departures,
               mm->crashes, mm->closes, mm->datagrams, mm->bytes,
               (double)mm->bytes / 60.0 / (double)n_nodes);
    }
    qsort(all_lat, nall, sizeof(double), cmp_double);
    uint64_t counted = tot_started - tot_abandoned;
    printf("],\"lookups\":%" PRIu64 ",\"found\":%" PRIu64 ",\"abandoned\":%" PRIu64
           ",\"failed\":%" PRIu64 ",\"failed_target_left\":%" PRIu64
           ",\"failed_target_young\":%" PRIu64 ",\"lookups_target_young\":%" PRIu64
           ",\"failed_origin_young\":%" PRIu64 ",\"failed_timeout\":%" PRIu64
           ",\"success_pct\":%.3f,\"latency_ms_p50\":%.0f,\"latency_ms_p99\":%.0f,"
           "\"bytes_per_s_per_node\":%.1f,\"departures\":%" PRIu64 ",\"crashes\":%" PRIu64
           ",\"closes\":%" PRIu64 ",\"nodes_created\":%zu,\"live_min\":%zu,\"live_max\":%zu,"
           "\"virtual_ms\":%" PRIu64 ",",
           tot_started, tot_found, tot_abandoned, counted - tot_found, tot_gone,
           tot_young_failed, tot_young, tot_origin_young_failed, tot_timeouts,
           counted ? 100.0 * (double)tot_found / (double)counted : 100.0,
           quant(all_lat, nall, 0.5), quant(all_lat, nall, 0.99),
           (double)tot_bytes / 60.0 / (double)minutes / (double)n_nodes, departures, crashes,
           closes, cluster_node_count(c), min_live == SIZE_MAX ? 0 : min_live, max_live,
           cluster_now_ms(c));
    static const char *const type_name[16] = {[1] = "SOLICIT", [2] = "ADVERTISE", [3] = "REQUEST",
                                              [4] = "FLOOD", [7] = "INQUIRE", [8] = "AUTHORITY",
                                              [9] = "ACK", [11] = "LOOKUP"};
    printf("\"bytes_per_s_per_node_by_type\":{");
    const char *sep = "";
    for (int t = 0; t < 16; t++)
        if (type_bytes[t]) {
            printf("%s\"%s\":%.1f", sep, type_name[t] ? type_name[t] : "other",
                   (double)type_bytes[t] / 60.0 / (double)minutes / (double)n_nodes);
            sep = ",";
        }
    printf("}}\n");
    cluster_destroy(c);
    return 0;
}
