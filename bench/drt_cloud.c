/*
 * drt_cloud.c - the loopback-cloud workload on libdrt, public API only.
 *
 * N real DRT nodes in this process on 127.0.0.1 (one UDP socket each, all
 * served by the library's one loop thread), each bootstrapping from node 0
 * and two random earlier nodes; K keys with V-byte values registered
 * round-robin over the nodes; L exact lookups for random keys from random
 * nodes other than the owner, with up to F in flight; then an idle period.
 * opendht_cloud.cpp runs the same workload (same seed, same choices) on
 * OpenDHT. Prints one JSON object.
 *
 * A DRT node routes for the keys it registers, so each node also registers
 * one key of its own during setup (its node id; data: its name), the counterpart
 * of an OpenDHT node id; setup ends when every node reports DRT_ACTIVE.
 *
 * Registration is local in DRT (DrtRegisterKey returns once the node holds
 * the key), so the put latency measured here is the time from
 * DrtRegisterKey until an exact search started from another (random) node
 * finds the key with its data: a search is started at once, and again
 * from another node 10 ms after each miss, for up to 10 s.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <drt.h>

#include "bench_util.h"

#define MAX_INFLIGHT 256
#define SEARCH_TIMEOUT_MS 5000
#define PUT_RETRY_MS 10.0
#define PUT_GIVE_UP_MS 10000.0

struct node {
    HDRT_TRANSPORT transport;
    USHORT port;
    DRT_SECURITY_PROVIDER *security;
    DRT_BOOTSTRAP_PROVIDER *bootstrap;
    HANDLE event;
    HDRT drt;
    DRT_STATUS status;
    BYTE id[32]; /* the node's own key: its place on the ring */
    HDRT_REGISTRATION_CONTEXT id_reg;
};

struct key {
    BYTE id[32];
    unsigned owner;
    HDRT_REGISTRATION_CONTEXT reg;
};

struct config {
    unsigned nodes, keys, lookups, inflight, idle_s;
    size_t value_size;
    uint64_t seed;
    DRT_PROTECTION_MODE ipsec; /* --ipsec require|request: SA protection of every transport */
};

static struct config cfg = {16, 1000, 5000, 64, 60, 100, 1, DRT_PROTECTION_OFF};
#define BENCH_PSK "bench mesh key"
static struct node *nodes;
static struct key *keys;
static unsigned char *values; /* keys x value_size */
static uint64_t rng;
static uint64_t look_rng; /* lookups: the same stream as opendht_cloud.cpp's */
static unsigned register_failures;
static HRESULT first_register_error;

/* One operation in flight: a lookup, or a registration being confirmed. */
struct op {
    bool busy, put;
    unsigned index, key, from;
    double t0;          /* lookup start, or DrtRegisterKey */
    double retry_at;    /* put: start the next search at this time (0: searching) */
    bool found;
    double t_found, t_done;
    HDRT_SEARCH_CONTEXT search;
    HANDLE ev;
    int fd;
    HRESULT end;
    ULONG path;         /* entries in the search path of the finding search */
};

static void die(const char *what, HRESULT hr)
{
    fprintf(stderr, "drt_cloud: %s failed: 0x%08x\n", what, (unsigned)hr);
    exit(2);
}

static unsigned pick_other_node(uint64_t *state, unsigned owner)
{
    unsigned n = (unsigned)(bench_rand(state) % (cfg.nodes - 1));
    return n >= owner ? n + 1 : n;
}

static void drain_node_events(struct node *n)
{
    for (unsigned guard = 0; guard < 100000; guard++) {
        ULONG len = 0;
        if (DrtGetEventDataSize(n->drt, &len) != S_OK)
            return;
        DRT_EVENT_DATA *ev = malloc(len);
        if (!ev || DrtGetEventData(n->drt, len, ev) != S_OK) {
            free(ev);
            return;
        }
        if (ev->type == DRT_EVENT_STATUS_CHANGED)
            n->status = ev->statusChange.status;
        free(ev);
    }
}

static void drain_all_events(void)
{
    for (unsigned i = 0; i < cfg.nodes; i++)
        drain_node_events(&nodes[i]);
}

static void loopback_seed(unsigned port, SOCKADDR_STORAGE *out)
{
    memset(out, 0, sizeof(*out));
    struct sockaddr_in *s4 = (struct sockaddr_in *)out;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

static void open_node(unsigned i)
{
    struct node *n = &nodes[i];
    n->status = (DRT_STATUS)-1;
    HRESULT hr = DrtCreateIpv6UdpTransport(DRT_GLOBAL_SCOPE, 0, 300, &n->port, &n->transport);
    if (FAILED(hr))
        die("DrtCreateIpv6UdpTransport", hr);
    /* Room for the node's share of the K keys and its own: an instance
     * holds 32 by default (docs/RELIABILITY.md), fewer than a node's share
     * at N = 16. */
    unsigned share = (cfg.keys + cfg.nodes - 1) / cfg.nodes + 1;
    if (share > 32) {
        DRT_LIMITS lim = {.dwSize = sizeof(lim), .ulMaxKeys = share};
        if (FAILED(hr = DrtSetTransportLimits(n->transport, &lim)))
            die("DrtSetTransportLimits", hr);
    }
    if (cfg.ipsec != DRT_PROTECTION_OFF &&
        FAILED(hr = DrtSetTransportProtection(n->transport, cfg.ipsec, (const BYTE *)BENCH_PSK,
                                              sizeof(BENCH_PSK) - 1)))
        die("DrtSetTransportProtection", hr);
    if (FAILED(hr = DrtCreateNullSecurityProvider(&n->security)))
        die("DrtCreateNullSecurityProvider", hr);
    /* Seeds: node 0 and two random earlier nodes (the same rule as the
     * OpenDHT driver's bootstrap calls). */
    SOCKADDR_STORAGE seeds[3];
    ULONG nseeds = 0;
    if (i > 0)
        loopback_seed(nodes[0].port, &seeds[nseeds++]);
    for (unsigned s = 0; s < 2 && i > 1; s++)
        loopback_seed(nodes[1 + bench_rand(&rng) % (i - 1)].port, &seeds[nseeds++]);
    if (FAILED(hr = DrtCreateStaticBootstrapResolver(seeds, nseeds, &n->bootstrap)))
        die("DrtCreateStaticBootstrapResolver", hr);
    n->event = DrtEventCreate(FALSE, FALSE);
    DRT_SETTINGS s = {
        .dwSize = sizeof(DRT_SETTINGS),
        .cbKey = 32,
        .bProtocolMajorVersion = 1,
        .bProtocolMinorVersion = 0,
        .ulMaxRoutingAddresses = 4,
        .pwzDrtInstancePrefix = L"Bench",
        .hTransport = n->transport,
        .pSecurityProvider = n->security,
        .pBootstrapProvider = n->bootstrap,
        .eSecurityMode = DRT_SECURE_RESOLVE,
    };
    if (FAILED(hr = DrtOpen(&s, n->event, NULL, &n->drt)))
        die("DrtOpen", hr);
    /* A DRT node takes part in routing through the keys it registers (one
     * without keys stays a resolve-only client and never becomes ACTIVE):
     * each node registers its own key, as an OpenDHT node has its node id. */
    char name[32];
    unsigned int len = 32;
    snprintf(name, sizeof(name), "bench-node-%u", i);
    EVP_Digest(name, strlen(name), n->id, &len, EVP_sha256(), NULL);
    DRT_REGISTRATION reg = {{32, n->id}, {(ULONG)strlen(name), (BYTE *)name}};
    if (FAILED(hr = DrtRegisterKey(n->drt, &reg, NULL, &n->id_reg)))
        die("DrtRegisterKey (node key)", hr);
}

static void start_search(struct op *o)
{
    DRT_DATA key = {32, keys[o->key].id};
    if (!o->ev) {
        o->ev = DrtEventCreate(TRUE, FALSE);
        o->fd = DrtEventGetFd(o->ev);
    }
    DrtEventReset(o->ev);
    o->retry_at = 0;
    HRESULT hr = DrtStartSearch(nodes[o->from].drt, &key, NULL, SEARCH_TIMEOUT_MS, o->ev, NULL,
                                &o->search);
    if (FAILED(hr)) {
        o->search = NULL;
        o->t_done = bench_now_ms();
    }
}

/* Reads what a search has; true once it has ended (found or not). */
static bool poll_search(struct op *o)
{
    if (!o->search)
        return true;
    DrtEventReset(o->ev);
    for (;;) {
        ULONG size = 0;
        HRESULT hr = DrtGetSearchResultSize(o->search, &size);
        if (hr == DRT_E_SEARCH_IN_PROGRESS)
            return false;
        if (hr != S_OK) {
            o->end = hr;
            break;
        }
        DRT_SEARCH_RESULT *r = malloc(size);
        if (r && DrtGetSearchResult(o->search, size, r) == S_OK && !o->found &&
            r->registration.key.cb == 32 &&
            memcmp(r->registration.key.pb, keys[o->key].id, 32) == 0 &&
            r->registration.appData.cb == cfg.value_size &&
            memcmp(r->registration.appData.pb, values + (size_t)o->key * cfg.value_size,
                   cfg.value_size) == 0) {
            o->found = true;
            o->t_found = bench_now_ms();
        } else if (r && getenv("BENCH_DEBUG")) {
            fprintf(stderr, "result for key %u: cb %lu data %lu match %d\n", o->key,
                    (unsigned long)r->registration.key.cb,
                    (unsigned long)r->registration.appData.cb,
                    memcmp(r->registration.key.pb, keys[o->key].id, 32) == 0);
        }
        free(r);
    }
    o->t_done = bench_now_ms();
    if (!o->found && !o->put && getenv("BENCH_DEBUG")) {
        ULONG psize = 0;
        if (DrtGetSearchPathSize(o->search, &psize) == S_OK) {
            DRT_ADDRESS_LIST *path = malloc(psize);
            if (path && DrtGetSearchPath(o->search, psize, path) == S_OK)
                for (ULONG i = 0; i < path->AddressCount; i++) {
                    const struct sockaddr_in6 *a =
                        (const struct sockaddr_in6 *)&path->AddressList[i].socketAddress;
                    unsigned port = ntohs(a->sin6_port), who = 9999;
                    for (unsigned n = 0; n < cfg.nodes; n++)
                        if (nodes[n].port == port)
                            who = n;
                    fprintf(stderr, "  path %lu: node %u flags 0x%lx nearness %ld\n",
                            (unsigned long)i, who, (unsigned long)path->AddressList[i].flags,
                            (long)path->AddressList[i].nearness);
                }
            free(path);
        }
    }
    if (o->found) {
        ULONG psize = 0;
        if (DrtGetSearchPathSize(o->search, &psize) == S_OK) {
            DRT_ADDRESS_LIST *path = malloc(psize);
            if (path && DrtGetSearchPath(o->search, psize, path) == S_OK)
                o->path = path->AddressCount;
            free(path);
        }
    }
    DrtEndSearch(o->search);
    o->search = NULL;
    return true;
}

struct phase_result {
    double *latency_ms;  /* per op: first result (lookups) or findable (puts); <0 when not */
    double *done_ms;     /* lookups: until the search ended */
    double *path;        /* lookups: search path entries of the finding search */
    double *register_ms; /* puts: the DrtRegisterKey call itself */
};

/* Runs count operations (puts: keys 0..count-1; lookups: random keys from
 * random non-owner nodes) with up to cfg.inflight at a time. */
static void run_ops(bool put, unsigned count, struct phase_result *res)
{
    struct op ops[MAX_INFLIGHT];
    memset(ops, 0, sizeof(ops));
    struct pollfd pfd[MAX_INFLIGHT];
    unsigned next = 0, finished = 0;
    double last_drain = bench_now_ms();
    while (finished < count) {
        /* Fill the free slots. */
        for (unsigned i = 0; i < cfg.inflight && next < count; i++) {
            struct op *o = &ops[i];
            if (o->busy)
                continue;
            o->busy = true;
            o->put = put;
            o->found = false;
            o->path = 0;
            o->key = put ? next : (unsigned)(bench_rand(&look_rng) % cfg.keys);
            /* A key the library refused to register (its per-instance cap)
             * is not looked up: the next registered one is. */
            for (unsigned tries = 0; !put && !keys[o->key].reg && tries < cfg.keys; tries++)
                o->key = (o->key + 1) % cfg.keys;
            if (put) {
                struct key *k = &keys[o->key];
                DRT_REGISTRATION reg = {{32, k->id},
                                        {(ULONG)cfg.value_size,
                                         values + (size_t)o->key * cfg.value_size}};
                o->t0 = bench_now_ms();
                HRESULT hr = DrtRegisterKey(nodes[k->owner].drt, &reg, NULL, &k->reg);
                res->register_ms[o->key] = bench_now_ms() - o->t0;
                if (FAILED(hr)) { /* counted as a failed put */
                    if (!register_failures++)
                        fprintf(stderr, "drt_cloud: DrtRegisterKey of key %u at node %u: "
                                        "0x%08x\n", o->key, k->owner, (unsigned)hr);
                    first_register_error = first_register_error ? first_register_error : hr;
                    res->latency_ms[next++] = -1;
                    o->busy = false;
                    finished++;
                    continue;
                }
            } else {
                o->t0 = bench_now_ms();
            }
            o->from = put ? pick_other_node(&rng, keys[o->key].owner)
                          : pick_other_node(&look_rng, keys[o->key].owner);
            start_search(o);
            o->index = next++;
        }
        /* Wait for any search event, or the next put retry. */
        unsigned nfds = 0;
        double now = bench_now_ms(), wake = now + 50;
        for (unsigned i = 0; i < cfg.inflight; i++) {
            if (!ops[i].busy)
                continue;
            if (ops[i].search) {
                pfd[nfds].fd = ops[i].fd;
                pfd[nfds].events = POLLIN;
                nfds++;
            } else if (ops[i].retry_at && ops[i].retry_at < wake) {
                wake = ops[i].retry_at;
            }
        }
        int timeout = (int)(wake - now + 0.999);
        (void)poll(pfd, nfds, timeout < 0 ? 0 : timeout);
        now = bench_now_ms();
        for (unsigned i = 0; i < cfg.inflight; i++) {
            struct op *o = &ops[i];
            if (!o->busy)
                continue;
            if (!o->search) {
                if (o->retry_at && now >= o->retry_at) {
                    o->from = pick_other_node(&rng, keys[o->key].owner);
                    start_search(o);
                }
                continue;
            }
            if (!poll_search(o))
                continue;
            if (put && !o->found && o->t_done - o->t0 < PUT_GIVE_UP_MS) {
                o->retry_at = o->t_done + PUT_RETRY_MS;
                continue;
            }
            res->latency_ms[o->index] = o->found ? o->t_found - o->t0 : -1;
            if (!o->found && getenv("BENCH_DEBUG"))
                fprintf(stderr, "%s %u key %u (owner %u) from %u: end 0x%08x after %.1f ms\n",
                        put ? "put" : "lookup", o->index, o->key, keys[o->key].owner, o->from,
                        (unsigned)o->end, o->t_done - o->t0);
            if (!put) {
                res->done_ms[o->index] = o->t_done - o->t0;
                res->path[o->index] = o->found ? (double)o->path : -1;
            }
            o->busy = false;
            finished++;
        }
        if (now - last_drain > 500) {
            drain_all_events();
            last_drain = now;
        }
    }
    for (unsigned i = 0; i < MAX_INFLIGHT; i++)
        if (ops[i].ev)
            DrtEventClose(ops[i].ev);
}

/* Summary of latencies that are >= 0 (the successful ones). */
static unsigned successes(const double *v, unsigned n, double *ok)
{
    unsigned m = 0;
    for (unsigned i = 0; i < n; i++)
        if (v[i] >= 0)
            ok[m++] = v[i];
    return m;
}

static double mean_of(const double *v, unsigned n)
{
    double s = 0;
    for (unsigned i = 0; i < n; i++)
        s += v[i];
    return n ? s / n : 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: drt_cloud [--nodes N] [--keys K] [--value-size V] [--lookups L]\n"
                    "                 [--inflight F] [--idle S] [--seed X]\n"
                    "                 [--ipsec require|request]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        unsigned long v = strtoul(argv[i + 1], NULL, 10);
        if (strcmp(argv[i], "--ipsec") == 0 && strcmp(argv[i + 1], "require") == 0)
            cfg.ipsec = DRT_PROTECTION_REQUIRE;
        else if (strcmp(argv[i], "--ipsec") == 0 && strcmp(argv[i + 1], "request") == 0)
            cfg.ipsec = DRT_PROTECTION_REQUEST;
        else if (strcmp(argv[i], "--nodes") == 0)
            cfg.nodes = (unsigned)v;
        else if (strcmp(argv[i], "--keys") == 0)
            cfg.keys = (unsigned)v;
        else if (strcmp(argv[i], "--value-size") == 0)
            cfg.value_size = v;
        else if (strcmp(argv[i], "--lookups") == 0)
            cfg.lookups = (unsigned)v;
        else if (strcmp(argv[i], "--inflight") == 0)
            cfg.inflight = (unsigned)v;
        else if (strcmp(argv[i], "--idle") == 0)
            cfg.idle_s = (unsigned)v;
        else if (strcmp(argv[i], "--seed") == 0)
            cfg.seed = v;
        else
            usage();
        i++;
    }
    if (cfg.nodes < 2 || cfg.keys < 1 || cfg.inflight < 1 || cfg.inflight > MAX_INFLIGHT ||
        cfg.value_size < 1 || cfg.value_size > 5120)
        usage();
    rng = cfg.seed;
    look_rng = cfg.seed ^ 0x6c6f6f6bull;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    /* Route entries must name an address the others reach. */
    setenv("DRT_ADVERTISE_ADDRESS", "127.0.0.1", 1);

    nodes = calloc(cfg.nodes, sizeof(*nodes));
    keys = calloc(cfg.keys, sizeof(*keys));
    values = malloc((size_t)cfg.keys * cfg.value_size);
    for (unsigned k = 0; k < cfg.keys; k++) {
        char name[32];
        unsigned int len = 32;
        snprintf(name, sizeof(name), "bench-key-%u", k);
        EVP_Digest(name, strlen(name), keys[k].id, &len, EVP_sha256(), NULL);
        keys[k].owner = k % cfg.nodes;
        bench_value(k, values + (size_t)k * cfg.value_size, cfg.value_size);
    }

    /* Setup: every node open and ACTIVE. */
    long rss_before = bench_rss_kib();
    double t0 = bench_now_ms();
    for (unsigned i = 0; i < cfg.nodes; i++)
        open_node(i);
    unsigned active = 0;
    double deadline = t0 + 120000;
    while (bench_now_ms() < deadline) {
        drain_all_events();
        active = 0;
        for (unsigned i = 0; i < cfg.nodes; i++)
            active += nodes[i].status == DRT_ACTIVE;
        if (active == cfg.nodes)
            break;
        DrtEventWait(nodes[0].event, 10);
    }
    double setup_ms = bench_now_ms() - t0;
    long rss_setup = bench_rss_kib();

    /* Puts: every key registered and confirmed findable from another node. */
    struct phase_result put = {
        .latency_ms = calloc(cfg.keys, sizeof(double)),
        .register_ms = calloc(cfg.keys, sizeof(double)),
    };
    double tp = bench_now_ms();
    run_ops(true, cfg.keys, &put);
    double put_phase_ms = bench_now_ms() - tp;
    long rss_keys = bench_rss_kib();

    /* Lookups (after an optional settling time, BENCH_SETTLE_S, default 0). */
    if (getenv("BENCH_SETTLE_S")) {
        double settle = atof(getenv("BENCH_SETTLE_S")) * 1000, ts = bench_now_ms();
        while (bench_now_ms() - ts < settle) {
            usleep(200000);
            drain_all_events();
        }
    }
    struct phase_result look = {
        .latency_ms = calloc(cfg.lookups, sizeof(double)),
        .done_ms = calloc(cfg.lookups, sizeof(double)),
        .path = calloc(cfg.lookups, sizeof(double)),
    };
    uint64_t p0 = udp_count_packets(), b0 = udp_count_bytes();
    double cpu0 = bench_cpu_s(), tl = bench_now_ms();
    run_ops(false, cfg.lookups, &look);
    double look_ms = bench_now_ms() - tl, look_cpu = bench_cpu_s() - cpu0;
    uint64_t look_packets = udp_count_packets() - p0, look_bytes = udp_count_bytes() - b0;

    /* Idle: only maintenance traffic. */
    drain_all_events();
    p0 = udp_count_packets();
    b0 = udp_count_bytes();
    double ti = bench_now_ms(), cpu_i = bench_cpu_s();
    while (bench_now_ms() - ti < cfg.idle_s * 1000.0) {
        usleep(500000);
        drain_all_events();
    }
    double idle_s = (bench_now_ms() - ti) / 1000, idle_cpu = bench_cpu_s() - cpu_i;
    uint64_t idle_packets = udp_count_packets() - p0, idle_bytes = udp_count_bytes() - b0;

    double *ok = malloc(sizeof(double) * (cfg.keys > cfg.lookups ? cfg.keys : cfg.lookups));
    unsigned put_ok = successes(put.latency_ms, cfg.keys, ok);
    double put_p50 = bench_quantile(ok, put_ok, 0.5), put_p99 = bench_quantile(ok, put_ok, 0.99);
    double reg_p50 = bench_quantile(put.register_ms, cfg.keys, 0.5);
    double reg_p99 = bench_quantile(put.register_ms, cfg.keys, 0.99);
    unsigned look_ok = successes(look.latency_ms, cfg.lookups, ok);
    double l50 = bench_quantile(ok, look_ok, 0.5), l99 = bench_quantile(ok, look_ok, 0.99);
    double d50 = bench_quantile(look.done_ms, cfg.lookups, 0.5);
    double d99 = bench_quantile(look.done_ms, cfg.lookups, 0.99);
    unsigned npath = successes(look.path, cfg.lookups, ok);
    double path_mean = mean_of(ok, npath), path_p99 = bench_quantile(ok, npath, 0.99);

    printf("{\"system\":\"libdrt\",\"ipsec\":\"%s\",\"version\":\"%s\",\"nodes\":%u,\"keys\":%u,"
           "\"value_size\":%zu,\"lookups\":%u,\"inflight\":%u,\"seed\":%llu,"
           "\"setup_ms\":%.1f,\"nodes_ready\":%u,"
           "\"register_failures\":%u,\"register_error\":\"0x%08x\",\"put_ok\":%u,\"put_ms_p50\":%.3f,\"put_ms_p99\":%.3f,\"put_phase_ms\":%.1f,"
           "\"register_call_ms_p50\":%.4f,\"register_call_ms_p99\":%.4f,"
           "\"lookup_ok\":%u,\"success_pct\":%.3f,\"lookup_ms_p50\":%.3f,\"lookup_ms_p99\":%.3f,"
           "\"lookup_done_ms_p50\":%.3f,\"lookup_done_ms_p99\":%.3f,"
           "\"lookups_per_s\":%.1f,\"cpu_s_per_1000_lookups\":%.4f,"
           "\"packets_per_lookup\":%.2f,\"bytes_per_lookup\":%.1f,"
           "\"path_mean\":%.3f,\"path_p99\":%.0f,"
           "\"rss_kib_before\":%ld,\"rss_kib_setup\":%ld,\"rss_kib_keys\":%ld,"
           "\"rss_kib_per_node\":%.1f,\"rss_kib_per_node_net\":%.1f,"
           "\"idle_s\":%.1f,\"idle_bytes_per_s_per_node\":%.2f,"
           "\"idle_packets_per_s_per_node\":%.3f,\"idle_cpu_pct\":%.2f}\n",
           cfg.ipsec == DRT_PROTECTION_REQUIRE   ? "require"
           : cfg.ipsec == DRT_PROTECTION_REQUEST ? "request"
                                                 : "off",
           DrtLibraryVersion(), cfg.nodes, cfg.keys, cfg.value_size, cfg.lookups, cfg.inflight,
           (unsigned long long)cfg.seed, setup_ms, active, register_failures,
           (unsigned)first_register_error, put_ok, put_p50, put_p99,
           put_phase_ms, reg_p50, reg_p99, look_ok, 100.0 * look_ok / cfg.lookups, l50, l99,
           d50, d99, cfg.lookups / (look_ms / 1000), look_cpu * 1000 / cfg.lookups,
           (double)look_packets / cfg.lookups, (double)look_bytes / cfg.lookups, path_mean,
           path_p99, rss_before, rss_setup, rss_keys, (double)rss_setup / cfg.nodes,
           (double)(rss_setup - rss_before) / cfg.nodes, idle_s,
           (double)idle_bytes / idle_s / cfg.nodes, (double)idle_packets / idle_s / cfg.nodes,
           100 * idle_cpu / idle_s);
    fflush(stdout);
    /* Closing N nodes (each unregistering its keys) is not part of the
     * workload; the process exit releases everything. */
    _exit(0);
}
