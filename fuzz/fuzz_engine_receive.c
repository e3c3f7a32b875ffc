/* The protocol engine's receive path (drt_engine_receive): what every
 * datagram a node gets goes through after the socket, decoding included,
 * and what it answers. Each input runs a fresh engine (two local keys, a
 * search under way, bootstrapping from one seed) with small caps, so that
 * an input can reach them. The input is a stream of datagrams, each a
 * source byte (one of eight loopback ports, or a port the rate limiter has
 * not seen), a clock step, a 2-byte length and the bytes; a bit of the
 * source byte drains the owner's events.
 * Invariants: no crash, no leak, no hang; every datagram is counted as
 * received; everything the engine sends decodes as a message; the route
 * cache, the event queue and the rate limiter's sources stay within their
 * caps. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine.h"
#include "core/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CACHE_CAP 16
#define EVENTS_CAP 8
#define SOURCES_CAP 4

static uint64_t counter_random(void *ctx)
{
    uint64_t *s = ctx;
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s;
}

static struct drt_endpoint loopback(uint16_t port)
{
    struct drt_endpoint ep;
    memset(&ep, 0, sizeof(ep));
    ep.addr[15] = 1;
    ep.port = port;
    return ep;
}

static void check_caps(struct drt_engine *e)
{
    struct drt_engine_stats st;
    drt_engine_get_stats(e, &st);
    if (st.cache_entries > CACHE_CAP || st.events_queued > EVENTS_CAP ||
        st.rate_sources > SOURCES_CAP)
        abort();
}

static void drain(struct drt_engine *e, int events)
{
    static struct wire_msg m;
    struct drt_endpoint to;
    const uint8_t *buf;
    size_t len;
    for (int i = 0; i < 10000 && drt_engine_next_datagram(e, &to, &buf, &len); i++)
        if (wire_decode(buf, len, &m) != S_OK)
            abort(); /* the engine sent something no peer could read */
    struct drt_engine_event ev;
    for (int i = 0; events && i < 10000 && drt_engine_next_event(e, &ev); i++)
        ;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t rng = 0x5eed, now = 1000;
    struct drt_engine_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.version_major = 6;
    cfg.version_minor = 0x65;
    cfg.self = loopback(3540);
    cfg.random = counter_random;
    cfg.random_ctx = &rng;
    cfg.max_cache_entries = CACHE_CAP;
    cfg.max_events = EVENTS_CAP;
    cfg.rate_sources = SOURCES_CAP;
    cfg.max_searches = 2;
    struct drt_engine *e = drt_engine_create(&cfg, now);
    if (!e)
        abort();
    uint8_t k1[32], k2[32];
    memset(k1, 0x40, sizeof(k1));
    memset(k2, 0xc0, sizeof(k2));
    uint32_t reg;
    static const uint8_t app[] = "fuzz";
    if (drt_engine_register(e, k1, app, sizeof(app), &reg, now) != S_OK ||
        drt_engine_register(e, k2, app, sizeof(app), &reg, now) != S_OK)
        abort();
    struct drt_endpoint seed = loopback(4000);
    drt_engine_bootstrap(e, &seed, 1, now);
    struct drt_engine_search_params sp;
    memset(&sp, 0, sizeof(sp));
    memset(sp.target, 0x80, 32);
    memset(sp.max, 0xff, 32);
    sp.max_results = 4;
    sp.allow_local = true;
    sp.timeout_ms = 5000;
    uint32_t sid;
    drt_engine_search_start(e, &sp, &sid, now);
    drain(e, 1);

    uint64_t received = 0;
    uint16_t fresh_port = 5000;
    while (size >= 4) {
        uint8_t src = data[0], step = data[1];
        size_t len = (size_t)data[2] << 8 | data[3];
        data += 4;
        size -= 4;
        if (len > size)
            len = size;
        struct drt_endpoint from = loopback((src & 8) ? fresh_port++ : 4000 + (src & 7));
        now += (uint64_t)step * 64;
        drt_engine_receive(e, &from, data, len, now);
        received++;
        data += len;
        size -= len;
        if (drt_engine_next_deadline(e) <= now)
            drt_engine_timer(e, now);
        drain(e, src & 16);
        check_caps(e);
    }
    struct drt_engine_stats st;
    drt_engine_get_stats(e, &st);
    if (st.datagrams_received != received)
        abort();
    drt_engine_destroy(e);
    return 0;
}
