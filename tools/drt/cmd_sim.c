/*
 * drt sim - a whole DRT cloud in the deterministic simulator: N nodes join
 * one after another, K keys are registered across them, then L exact
 * lookups for random registered keys are started from random nodes. It
 * prints what happened: success, path length, messages and bytes per
 * lookup, virtual latency, and memory per node. Same seed, same output.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "sim/cluster.h"

void usage_sim(void)
{
    printf("usage: drt sim [--nodes N] [--keys K] [--lookups L] [--loss P]\n"
           "               [--churn F] [--seed S] [--join-ms MS] [--json]\n\n"
           "Runs N DRT engines (default 1000) on a simulated network with a virtual\n"
           "clock, registers K keys (default N) spread over them, then starts L exact\n"
           "lookups (default 10000) for random registered keys from random nodes.\n"
           "  --loss P    drop each datagram with probability P (0..0.5)\n"
           "  --churn F   crash a fraction F (0..0.5) of the nodes before the lookups;\n"
           "              lookups then target keys of live nodes only\n"
           "  --seed S    simulator seed (default 1): the same seed gives the same run\n"
           "  --join-ms MS  virtual ms between two joins (default 20)\n"
           "  --json      one JSON object instead of the table\n");
}

struct lookup {
    size_t from;
    uint64_t key_index;
    uint64_t started_ms;
    uint64_t done_ms;
    bool done;
    bool found;
    uint32_t hops;
    uint32_t messages;
};

/* search ids of one node, mapped to lookups (ids are small and dense). */
struct idmap {
    uint32_t *lookup; /* index + 1; 0 = not ours */
    size_t cap;
};

struct run {
    struct lookup *lookups;
    size_t nlookups;
    struct idmap *ids; /* per node */
    size_t nnodes;
    size_t starting; /* lookup being started, for results inside the call */
    uint64_t (*key_owner)[1];
    uint8_t (*keys)[32];
    size_t nkeys;
};

static bool map_set(struct idmap *m, uint32_t id, size_t lookup)
{
    if (id >= m->cap) {
        size_t cap = m->cap ? m->cap : 16;
        while (cap <= id)
            cap *= 2;
        uint32_t *a = realloc(m->lookup, cap * sizeof(*a));
        if (!a)
            return false;
        memset(a + m->cap, 0, (cap - m->cap) * sizeof(*a));
        m->lookup = a;
        m->cap = cap;
    }
    m->lookup[id] = (uint32_t)lookup + 1;
    return true;
}

static struct lookup *lookup_of(struct run *r, size_t node, uint32_t id)
{
    struct idmap *m = &r->ids[node];
    if (id < m->cap && m->lookup[id])
        return &r->lookups[m->lookup[id] - 1];
    if (r->starting != SIZE_MAX && r->lookups[r->starting].from == node &&
        map_set(m, id, r->starting))
        return &r->lookups[r->starting];
    return NULL;
}

static void on_event(void *ctx, struct cluster *c, size_t node, const struct drt_engine_event *ev)
{
    struct run *r = ctx;
    if (ev->type == ENGINE_EV_RESULT) {
        struct lookup *l = lookup_of(r, node, ev->u.result.search_id);
        if (l && memcmp(ev->u.result.key, r->keys[l->key_index], 32) == 0)
            l->found = true;
    } else if (ev->type == ENGINE_EV_SEARCH_DONE) {
        struct lookup *l = lookup_of(r, node, ev->u.done.search_id);
        if (l && !l->done) {
            l->done = true;
            l->done_ms = cluster_now_ms(c);
            l->hops = ev->u.done.hops;
            l->messages = ev->u.done.messages;
        }
    }
}

static void progress(const char *phase, size_t done, size_t total)
{
    static int last = -1;
    if (!isatty(STDERR_FILENO))
        return;
    int pct = total ? (int)(done * 100 / total) : 100;
    if (pct == last && done != total)
        return;
    last = pct;
    int bar = pct / 4;
    fprintf(stderr, "\r%-10s [%.*s%*s] %3d%%", phase, bar, "#########################", 25 - bar,
            "", pct);
    if (done == total) {
        fprintf(stderr, "\n");
        last = -1;
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static uint64_t pct_of(uint64_t *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i];
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end)
        return false;
    *out = v;
    return true;
}

static bool parse_frac(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || v < 0 || v > 0.5)
        return false;
    *out = v;
    return true;
}

static void key_for(uint64_t n, uint64_t seed, uint8_t key[32])
{
    uint64_t z = n * 0x9e3779b97f4a7c15ull + seed;
    for (int w = 0; w < 4; w++) {
        z += 0x9e3779b97f4a7c15ull;
        uint64_t x = z;
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
        x ^= x >> 31;
        memcpy(key + 8 * w, &x, 8);
    }
}

/* What the whole cloud sent, by message type, and what it refused: where
 * the datagrams of a run went. */
static void print_traffic(struct cluster *c)
{
    static const char *const names[16] = {
        [1] = "SOLICIT", [2] = "ADVERTISE", [3] = "REQUEST", [4] = "FLOOD",
        [7] = "INQUIRE", [8] = "AUTHORITY", [9] = "ACK",     [11] = "LOOKUP"};
    struct drt_engine_stats sum;
    memset(&sum, 0, sizeof(sum));
    for (size_t i = 0; i < cluster_node_count(c); i++) {
        struct drt_engine *e = cluster_engine(c, i);
        if (!e)
            continue;
        struct drt_engine_stats st;
        drt_engine_get_stats(e, &st);
        for (size_t t = 0; t < 16; t++)
            sum.sent_by_type[t] += st.sent_by_type[t];
        sum.retransmissions += st.retransmissions;
        sum.dropped_rate_source += st.dropped_rate_source;
        sum.dropped_rate_global += st.dropped_rate_global;
        sum.dropped_unexpected += st.dropped_unexpected;
        sum.dropped_malformed += st.dropped_malformed;
    }
    printf("\n  sent by the whole run (live nodes):\n   ");
    for (size_t t = 0; t < 16; t++)
        if (names[t])
            printf(" %s %" PRIu64, names[t], sum.sent_by_type[t]);
    printf("\n    retransmissions %" PRIu64 "; requests dropped over a source's rate %" PRIu64
           ", over the global budget %" PRIu64 "; unexpected answers %" PRIu64
           ", malformed %" PRIu64 "\n",
           sum.retransmissions, sum.dropped_rate_source, sum.dropped_rate_global,
           sum.dropped_unexpected, sum.dropped_malformed);
}

int cmd_sim(int argc, char **argv)
{
    uint64_t nodes = 1000, keys = 0, lookups = 10000, seed = 1, join_ms = 20;
    double loss = 0, churn = 0;
    bool json = cli_wants_json(argc, argv);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = true;
        if (strcmp(a, "--json") == 0)
            continue;
        if (!v)
            ok = false;
        else if (strcmp(a, "--nodes") == 0)
            ok = parse_u64(v, &nodes) && nodes >= 1 && nodes <= 100000;
        else if (strcmp(a, "--keys") == 0)
            ok = parse_u64(v, &keys) && keys <= 1000000;
        else if (strcmp(a, "--lookups") == 0)
            ok = parse_u64(v, &lookups) && lookups <= 10000000;
        else if (strcmp(a, "--seed") == 0)
            ok = parse_u64(v, &seed);
        else if (strcmp(a, "--join-ms") == 0)
            ok = parse_u64(v, &join_ms) && join_ms >= 1 && join_ms <= 60000;
        else if (strcmp(a, "--loss") == 0)
            ok = parse_frac(v, &loss);
        else if (strcmp(a, "--churn") == 0)
            ok = parse_frac(v, &churn);
        else
            ok = false;
        if (!ok) {
            fprintf(stderr, "drt sim: bad or unknown option '%s%s%s'\n\n", a, v ? " " : "",
                    v ? v : "");
            usage_sim();
            return 2;
        }
        i++;
    }
    if (keys == 0)
        keys = nodes;

    struct run r;
    memset(&r, 0, sizeof(r));
    r.starting = SIZE_MAX;
    r.nnodes = nodes;
    r.nkeys = keys;
    r.ids = calloc(nodes, sizeof(*r.ids));
    r.keys = calloc(keys, sizeof(*r.keys));
    r.lookups = calloc(lookups ? lookups : 1, sizeof(*r.lookups));
    size_t *owner = calloc(keys, sizeof(*owner));
    if (!r.ids || !r.keys || !r.lookups || !owner) {
        fprintf(stderr, "drt sim: out of memory\n");
        return 1;
    }

    struct cluster_config cfg;
    cluster_config_default(&cfg);
    cfg.sim.seed = seed;
    cfg.sim.link.loss = loss;
    cfg.on_event = on_event;
    cfg.event_ctx = &r;
    cfg.engine.max_cache_entries = 256;
    struct cluster *c = cluster_create(&cfg);
    if (!c) {
        fprintf(stderr, "drt sim: cannot create the simulator\n");
        return 1;
    }

    /* Join: one node every join_ms virtual ms (default 20), each registering
     * its share of keys. The whole cloud's maintenance runs all along, so
     * the join phase costs N^2: at 100,000 nodes a faster join (2 ms) keeps
     * the run to minutes. */
    size_t next_key = 0;
    for (size_t i = 0; i < nodes; i++) {
        size_t n = cluster_add_node(c);
        if (n == SIZE_MAX) {
            fprintf(stderr, "drt sim: cannot add node %zu\n", i);
            return 1;
        }
        size_t share = (size_t)(keys / nodes + (i < keys % nodes ? 1 : 0));
        for (size_t k = 0; k < share; k++, next_key++) {
            key_for(next_key, seed, r.keys[next_key]);
            owner[next_key] = n;
            uint8_t data[16];
            memcpy(data, &next_key, sizeof(next_key));
            memcpy(data + 8, "drt-sim!", 8);
            uint32_t reg;
            if (FAILED(cluster_register(c, n, r.keys[next_key], data, sizeof(data), &reg)))
                fprintf(stderr, "drt sim: node %zu could not register a key\n", n);
        }
        cluster_run_for(c, join_ms);
        progress("joining", i + 1, nodes);
    }
    cluster_run_for(c, 60000); /* let leaf sets and maintenance settle */

    size_t crashed = 0;
    bool *dead = calloc(nodes, sizeof(*dead));
    if (!dead)
        return 1;
    for (size_t want = (size_t)(churn * (double)nodes); crashed < want;) {
        size_t victim = (size_t)sim_rand_below(cluster_sim(c), nodes);
        if (dead[victim])
            continue;
        dead[victim] = true;
        cluster_crash(c, victim);
        crashed++;
    }
    if (crashed)
        cluster_run_for(c, 60000); /* failure detection and repair */

    const struct sim_stats *st = sim_stats(cluster_sim(c));
    uint64_t bytes_before = st->sent.bytes, dgrams_before = st->sent.datagrams;
    struct drt_engine_search_params p;
    for (size_t i = 0; i < lookups; i++) {
        size_t from, k;
        do
            from = (size_t)sim_rand_below(cluster_sim(c), nodes);
        while (dead[from]);
        do
            k = (size_t)sim_rand_below(cluster_sim(c), keys);
        while (dead[owner[k]]);
        struct lookup *l = &r.lookups[i];
        l->from = from;
        l->key_index = k;
        l->started_ms = cluster_now_ms(c);
        memset(&p, 0, sizeof(p));
        memcpy(p.target, r.keys[k], 32);
        memcpy(p.min, r.keys[k], 32);
        memcpy(p.max, r.keys[k], 32);
        p.max_results = 1;
        p.allow_local = true;
        p.timeout_ms = 30000;
        r.nlookups = i + 1;
        r.starting = i;
        uint32_t id;
        if (SUCCEEDED(cluster_search(c, from, &p, &id)))
            (void)lookup_of(&r, from, id);
        else
            l->done = true;
        r.starting = SIZE_MAX;
        cluster_run_for(c, 1);
        progress("lookups", i + 1, lookups);
    }
    /* Until every lookup has ended (their timeout is 30 s), in steps of 1 s. */
    for (unsigned waited = 0; waited < 40; waited++) {
        size_t open = 0;
        for (size_t i = 0; i < r.nlookups; i++)
            open += !r.lookups[i].done;
        if (open == 0)
            break;
        cluster_run_for(c, 1000);
    }
    st = sim_stats(cluster_sim(c));
    uint64_t bytes = st->sent.bytes - bytes_before;
    uint64_t dgrams = st->sent.datagrams - dgrams_before;

    size_t found = 0;
    uint64_t *hops = calloc(lookups ? lookups : 1, sizeof(*hops));
    uint64_t *lat = calloc(lookups ? lookups : 1, sizeof(*lat));
    uint64_t msgs = 0, hop_sum = 0;
    size_t nlat = 0;
    for (size_t i = 0; i < lookups; i++) {
        struct lookup *l = &r.lookups[i];
        msgs += l->messages;
        if (!l->found)
            continue;
        hops[found] = l->hops;
        hop_sum += l->hops;
        found++;
        if (l->done)
            lat[nlat++] = l->done_ms - l->started_ms;
    }
    qsort(hops, found, sizeof(*hops), cmp_u64);
    qsort(lat, nlat, sizeof(*lat), cmp_u64);
    size_t live = nodes - crashed;
    double mem_per_node = live ? (double)cluster_memory(c) / (double)live : 0;
    /* Route-cache entries of the live nodes: mean and 99th percentile. */
    uint64_t *entries = calloc(nodes ? nodes : 1, sizeof(*entries));
    size_t nentries = 0;
    double entries_sum = 0;
    for (size_t i = 0; entries && i < nodes; i++) {
        if (!cluster_node_alive(c, i))
            continue;
        struct drt_engine_stats es;
        drt_engine_get_stats(cluster_engine(c, i), &es);
        entries[nentries++] = es.cache_entries;
        entries_sum += (double)es.cache_entries;
    }
    if (entries)
        qsort(entries, nentries, sizeof(*entries), cmp_u64);
    double entries_mean = nentries ? entries_sum / (double)nentries : 0;
    uint64_t entries_p99 = entries ? pct_of(entries, nentries, 0.99) : 0;
    free(entries);
    double success = lookups ? 100.0 * (double)found / (double)lookups : 100.0;
    double mean_hops = found ? (double)hop_sum / (double)found : 0;

    if (json) {
        printf("{\"nodes\":%" PRIu64 ",\"keys\":%" PRIu64 ",\"lookups\":%" PRIu64
               ",\"loss\":%g,\"churn\":%g,\"seed\":%" PRIu64 ",\"crashed\":%zu,"
               "\"found\":%zu,\"success_pct\":%.3f,\"hops_mean\":%.3f,\"hops_p50\":%" PRIu64
               ",\"hops_p99\":%" PRIu64 ",\"messages_per_lookup\":%.2f,"
               "\"datagrams_per_lookup\":%.2f,\"bytes_per_lookup\":%.1f,"
               "\"latency_ms_p50\":%" PRIu64 ",\"latency_ms_p99\":%" PRIu64
               ",\"memory_per_node_bytes\":%.0f,\"route_entries_mean\":%.1f,"
               "\"route_entries_p99\":%" PRIu64 ",\"virtual_time_ms\":%" PRIu64 "}\n",
               nodes, keys, lookups, loss, churn, seed, crashed, found, success, mean_hops,
               pct_of(hops, found, 0.5), pct_of(hops, found, 0.99),
               lookups ? (double)msgs / (double)lookups : 0,
               lookups ? (double)dgrams / (double)lookups : 0,
               lookups ? (double)bytes / (double)lookups : 0, pct_of(lat, nlat, 0.5),
               pct_of(lat, nlat, 0.99), mem_per_node, entries_mean, entries_p99,
               cluster_now_ms(c));
    } else {
        printf("drt sim: %" PRIu64 " nodes, %" PRIu64 " keys, %" PRIu64
               " lookups, loss %.1f%%, %zu crashed, seed %" PRIu64 "\n\n",
               nodes, keys, lookups, loss * 100, crashed, seed);
        printf("  %-30s %zu / %" PRIu64 " (%.2f%%)\n", "lookups that found their key", found,
               lookups, success);
        printf("  %-30s mean %.2f, p50 %" PRIu64 ", p99 %" PRIu64 "\n", "hops (path length)",
               mean_hops, pct_of(hops, found, 0.5), pct_of(hops, found, 0.99));
        printf("  %-30s %.2f requests, %.2f datagrams, %.0f bytes\n", "per lookup",
               lookups ? (double)msgs / (double)lookups : 0,
               lookups ? (double)dgrams / (double)lookups : 0,
               lookups ? (double)bytes / (double)lookups : 0);
        printf("  %-30s p50 %" PRIu64 " ms, p99 %" PRIu64 " ms\n", "virtual latency",
               pct_of(lat, nlat, 0.5), pct_of(lat, nlat, 0.99));
        printf("  %-30s %.1f KiB\n", "engine memory per node", mem_per_node / 1024);
        printf("  %-30s mean %.1f, p99 %" PRIu64 "\n", "route-cache entries per node",
               entries_mean, entries_p99);
        printf("  %-30s %.1f s\n", "virtual time simulated", (double)cluster_now_ms(c) / 1000);
        print_traffic(c);
        printf("\n  (datagrams and bytes per lookup include the cloud's background\n"
               "   maintenance traffic during the lookup phase)\n");
    }
    cluster_destroy(c);
    for (size_t i = 0; i < nodes; i++)
        free(r.ids[i].lookup);
    free(r.ids);
    free(r.keys);
    free(r.lookups);
    free(owner);
    free(dead);
    free(hops);
    free(lat);
    return found == lookups ? 0 : 1;
}
