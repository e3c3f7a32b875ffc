/*
 * opendht_cloud.cpp - the loopback-cloud workload of drt_cloud.c on OpenDHT
 * (Debian's libopendht-dev, the dht::DhtRunner API): N threaded runners in
 * this process bound to 127.0.0.1, each bootstrapping from node 0 and two
 * random earlier nodes; K values of V bytes put round-robin from the nodes
 * (latency: put until its done callback reports success); L gets for random
 * keys from random nodes other than the putter, with up to F in flight
 * (latency: get until the value arrives; the get callback then returns
 * false, as an application wanting that one value does); then an idle
 * period. Same seed and choice rules as drt_cloud.c. Prints one JSON object.
 *
 * The per-IP and global request rate limits are switched off (-1): every
 * node here shares the address 127.0.0.1, and the default per-IP limit
 * would drop most of the traffic. The network id is private (not the
 * public network's 0).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <opendht.h>

#include "bench_util.h"

namespace {

struct Config {
    unsigned nodes = 16, keys = 1000, lookups = 5000, inflight = 64, idle_s = 60;
    size_t value_size = 100;
    uint64_t seed = 1;
};

Config cfg;
uint64_t rng;

struct Slots {
    std::mutex m;
    std::condition_variable cv;
    unsigned busy = 0, finished = 0;
    void acquire(unsigned limit)
    {
        std::unique_lock<std::mutex> l(m);
        cv.wait(l, [&] { return busy < limit; });
        busy++;
    }
    void release()
    {
        {
            std::lock_guard<std::mutex> l(m);
            busy--;
            finished++;
        }
        cv.notify_all();
    }
    /* Waits until count ops finished or no progress for stall_ms. */
    unsigned wait_all(unsigned count, double stall_ms)
    {
        std::unique_lock<std::mutex> l(m);
        unsigned last = finished;
        double t = bench_now_ms();
        while (finished < count) {
            cv.wait_for(l, std::chrono::milliseconds(100));
            if (finished != last) {
                last = finished;
                t = bench_now_ms();
            } else if (bench_now_ms() - t > stall_ms) {
                break;
            }
        }
        return finished;
    }
};

unsigned pick_other_node(uint64_t *state, unsigned owner)
{
    unsigned n = (unsigned)(bench_rand(state) % (cfg.nodes - 1));
    return n >= owner ? n + 1 : n;
}

dht::SockAddr loopback(in_port_t port)
{
    sockaddr_in a {};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return dht::SockAddr((const sockaddr *)&a, sizeof(a));
}

[[noreturn]] void usage()
{
    fprintf(stderr, "usage: opendht_cloud [--nodes N] [--keys K] [--value-size V] [--lookups L]\n"
                    "                     [--inflight F] [--idle S] [--seed X]\n");
    exit(2);
}

std::vector<double> successes(const std::vector<double> &v)
{
    std::vector<double> ok;
    for (double x : v)
        if (x >= 0)
            ok.push_back(x);
    return ok;
}

} // namespace

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc)
            usage();
        unsigned long v = strtoul(argv[i + 1], nullptr, 10);
        std::string a = argv[i];
        if (a == "--nodes")
            cfg.nodes = (unsigned)v;
        else if (a == "--keys")
            cfg.keys = (unsigned)v;
        else if (a == "--value-size")
            cfg.value_size = v;
        else if (a == "--lookups")
            cfg.lookups = (unsigned)v;
        else if (a == "--inflight")
            cfg.inflight = (unsigned)v;
        else if (a == "--idle")
            cfg.idle_s = (unsigned)v;
        else if (a == "--seed")
            cfg.seed = v;
        else
            usage();
    }
    if (cfg.nodes < 2 || cfg.keys < 1 || cfg.inflight < 1 || cfg.value_size < 1)
        usage();
    rng = cfg.seed;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    std::vector<dht::InfoHash> keys(cfg.keys);
    std::vector<std::vector<uint8_t>> values(cfg.keys, std::vector<uint8_t>(cfg.value_size));
    std::vector<unsigned> owner(cfg.keys);
    for (unsigned k = 0; k < cfg.keys; k++) {
        keys[k] = dht::InfoHash::get("bench-key-" + std::to_string(k));
        owner[k] = k % cfg.nodes;
        bench_value(k, values[k].data(), cfg.value_size);
    }

    /* Setup: every runner connected (its status callback reports IPv4
     * Connected: a good node in its routing table). */
    long rss_before = bench_rss_kib();
    double t0 = bench_now_ms();
    std::vector<std::unique_ptr<dht::DhtRunner>> nodes;
    std::vector<in_port_t> ports;
    std::unique_ptr<std::atomic<bool>[]> connected(new std::atomic<bool>[cfg.nodes]);
    for (unsigned i = 0; i < cfg.nodes; i++) {
        auto r = std::make_unique<dht::DhtRunner>();
        connected[i] = false;
        std::atomic<bool> *flag = &connected[i];
        r->setOnStatusChanged([flag](dht::NodeStatus s4, dht::NodeStatus) {
            *flag = s4 == dht::NodeStatus::Connected;
        });
        dht::DhtRunner::Config c;
        c.threaded = true;
        c.dht_config.node_config.network = 0x0b3c;
        c.dht_config.node_config.max_req_per_sec = -1;
        c.dht_config.node_config.max_peer_req_per_sec = -1;
        c.bind4 = loopback(0);
        r->run(c, dht::DhtRunner::Context());
        ports.push_back(r->getBoundPort(AF_INET));
        if (i > 0)
            r->bootstrap(loopback(ports[0]));
        for (unsigned s = 0; s < 2 && i > 1; s++)
            r->bootstrap(loopback(ports[1 + bench_rand(&rng) % (i - 1)]));
        nodes.push_back(std::move(r));
    }
    unsigned ready = 0;
    while (bench_now_ms() - t0 < 120000) {
        ready = 0;
        for (unsigned i = 0; i < cfg.nodes; i++)
            ready += connected[i].load();
        if (ready == cfg.nodes)
            break;
        usleep(10000);
    }
    double setup_ms = bench_now_ms() - t0;
    long rss_setup = bench_rss_kib();

    /* Puts. */
    std::vector<double> put_ms(cfg.keys, -1);
    Slots put_slots;
    double tp = bench_now_ms();
    for (unsigned k = 0; k < cfg.keys; k++) {
        put_slots.acquire(cfg.inflight);
        double start = bench_now_ms();
        nodes[owner[k]]->put(keys[k], dht::Value(values[k].data(), values[k].size()),
                             [&, k, start](bool ok) {
                                 if (ok)
                                     put_ms[k] = bench_now_ms() - start;
                                 put_slots.release();
                             });
    }
    unsigned puts_done = put_slots.wait_all(cfg.keys, 30000);
    double put_phase_ms = bench_now_ms() - tp;
    long rss_keys = bench_rss_kib();

    /* Lookups: the same key and node choices as drt_cloud.c. */
    struct Lookup {
        std::atomic<bool> found {false};
        double t0 = 0, found_ms = -1, done_ms = -1;
    };
    std::vector<Lookup> look(cfg.lookups);
    Slots look_slots;
    uint64_t look_rng = cfg.seed ^ 0x6c6f6f6bull;
    uint64_t p0 = udp_count_packets(), b0 = udp_count_bytes();
    double cpu0 = bench_cpu_s(), tl = bench_now_ms();
    for (unsigned i = 0; i < cfg.lookups; i++) {
        unsigned k = (unsigned)(bench_rand(&look_rng) % cfg.keys);
        unsigned from = pick_other_node(&look_rng, owner[k]);
        look_slots.acquire(cfg.inflight);
        Lookup *l = &look[i];
        l->t0 = bench_now_ms();
        nodes[from]->get(
            keys[k],
            [&, l, k](const std::vector<std::shared_ptr<dht::Value>> &vals) {
                for (const auto &v : vals)
                    if (v->data == values[k]) {
                        if (!l->found.exchange(true))
                            l->found_ms = bench_now_ms() - l->t0;
                        return false; /* got it: stop the search */
                    }
                return true;
            },
            [&, l](bool) {
                l->done_ms = bench_now_ms() - l->t0;
                look_slots.release();
            });
    }
    unsigned looks_done = look_slots.wait_all(cfg.lookups, 30000);
    double look_ms = bench_now_ms() - tl, look_cpu = bench_cpu_s() - cpu0;
    uint64_t look_packets = udp_count_packets() - p0, look_bytes = udp_count_bytes() - b0;

    /* Idle: only maintenance traffic. */
    p0 = udp_count_packets();
    b0 = udp_count_bytes();
    double ti = bench_now_ms(), cpu_i = bench_cpu_s();
    std::this_thread::sleep_for(std::chrono::seconds(cfg.idle_s));
    double idle_s = (bench_now_ms() - ti) / 1000, idle_cpu = bench_cpu_s() - cpu_i;
    uint64_t idle_packets = udp_count_packets() - p0, idle_bytes = udp_count_bytes() - b0;

    std::vector<double> put_ok = successes(put_ms);
    std::vector<double> found, done;
    for (auto &l : look) {
        if (l.found_ms >= 0)
            found.push_back(l.found_ms);
        done.push_back(l.done_ms >= 0 ? l.done_ms : 1e9);
    }
    size_t nfound = found.size(), nput = put_ok.size();
    printf("{\"system\":\"opendht\",\"version\":\"%s\",\"nodes\":%u,\"keys\":%u,"
           "\"value_size\":%zu,\"lookups\":%u,\"inflight\":%u,\"seed\":%llu,"
           "\"setup_ms\":%.1f,\"nodes_ready\":%u,\"puts_done\":%u,"
           "\"put_ok\":%zu,\"put_ms_p50\":%.3f,\"put_ms_p99\":%.3f,\"put_phase_ms\":%.1f,"
           "\"lookups_done\":%u,\"lookup_ok\":%zu,\"success_pct\":%.3f,"
           "\"lookup_ms_p50\":%.3f,\"lookup_ms_p99\":%.3f,"
           "\"lookup_done_ms_p50\":%.3f,\"lookup_done_ms_p99\":%.3f,"
           "\"lookups_per_s\":%.1f,\"cpu_s_per_1000_lookups\":%.4f,"
           "\"packets_per_lookup\":%.2f,\"bytes_per_lookup\":%.1f,"
           "\"rss_kib_before\":%ld,\"rss_kib_setup\":%ld,\"rss_kib_keys\":%ld,"
           "\"rss_kib_per_node\":%.1f,\"rss_kib_per_node_net\":%.1f,"
           "\"idle_s\":%.1f,\"idle_bytes_per_s_per_node\":%.2f,"
           "\"idle_packets_per_s_per_node\":%.3f,\"idle_cpu_pct\":%.2f}\n",
           dht::version(), cfg.nodes, cfg.keys, cfg.value_size, cfg.lookups, cfg.inflight,
           (unsigned long long)cfg.seed, setup_ms, ready, puts_done, nput,
           bench_quantile(put_ok.data(), nput, 0.5), bench_quantile(put_ok.data(), nput, 0.99),
           put_phase_ms, looks_done, nfound, 100.0 * nfound / cfg.lookups,
           bench_quantile(found.data(), nfound, 0.5), bench_quantile(found.data(), nfound, 0.99),
           bench_quantile(done.data(), done.size(), 0.5),
           bench_quantile(done.data(), done.size(), 0.99), cfg.lookups / (look_ms / 1000),
           look_cpu * 1000 / cfg.lookups, (double)look_packets / cfg.lookups,
           (double)look_bytes / cfg.lookups, rss_before, rss_setup, rss_keys,
           (double)rss_setup / cfg.nodes, (double)(rss_setup - rss_before) / cfg.nodes, idle_s,
           (double)idle_bytes / idle_s / cfg.nodes, (double)idle_packets / idle_s / cfg.nodes,
           100 * idle_cpu / idle_s);
    fflush(stdout);
    /* Joining N runners is not part of the workload; exit releases all. */
    _exit(0);
}
