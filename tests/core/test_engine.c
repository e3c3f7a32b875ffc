/*
 * test_engine.c - one engine driven by hand: its status machine, the
 * registry's return codes, search edge cases, and that it drops malformed,
 * foreign and unsolicited datagrams. (Many engines together: tests/sim.)
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/engine.h"
#include "core/wire.h"

static uint64_t counter_random(void *ctx)
{
    uint64_t *s = ctx;
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    return z ^ (z >> 31);
}

static uint64_t rng_state;

static struct drt_engine *engine(uint16_t port)
{
    struct drt_engine_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.version_major = 1;
    cfg.self.addr[15] = 1;
    cfg.self.port = port;
    cfg.random = counter_random;
    cfg.random_ctx = &rng_state;
    return drt_engine_create(&cfg, 1000);
}

static void drain(struct drt_engine *e, size_t *datagrams, enum drt_engine_status *last_status)
{
    struct drt_endpoint to;
    const uint8_t *buf;
    size_t len;
    while (drt_engine_next_datagram(e, &to, &buf, &len))
        if (datagrams)
            (*datagrams)++;
    struct drt_engine_event ev;
    while (drt_engine_next_event(e, &ev))
        if (ev.type == ENGINE_EV_STATUS && last_status)
            *last_status = ev.u.status.status;
}

static void test_create_rejects_bad_config(void **state)
{
    (void)state;
    assert_null(drt_engine_create(NULL, 0));
    assert_null(engine(80)); /* port below 1024 */
    struct drt_engine_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.self.port = 3540;
    assert_null(drt_engine_create(&cfg, 0)); /* no randomness */
    struct drt_engine *e = engine(3540);
    assert_non_null(e);
    assert_int_equal(drt_engine_status(e), ENGINE_BOOTSTRAPPING);
    drt_engine_destroy(e);
    drt_engine_destroy(NULL);
}

static void test_status_machine(void **state)
{
    (void)state;
    struct drt_engine *e = engine(3540);
    enum drt_engine_status st = ENGINE_BOOTSTRAPPING;
    /* No seeds: the first node of its cloud is ALONE at once. */
    drt_engine_bootstrap(e, NULL, 0, 1000);
    drain(e, NULL, &st);
    assert_int_equal(st, ENGINE_ALONE);
    drt_engine_set_network(e, false, 2000);
    drain(e, NULL, &st);
    assert_int_equal(st, ENGINE_NO_NETWORK);
    drt_engine_set_network(e, true, 3000);
    drain(e, NULL, &st);
    assert_int_equal(st, ENGINE_ALONE);
    drt_engine_fault(e, 4000);
    drain(e, NULL, &st);
    assert_int_equal(st, ENGINE_FAULTED);
    /* FAULTED is terminal. */
    drt_engine_set_network(e, false, 5000);
    drt_engine_bootstrap(e, NULL, 0, 5000);
    assert_int_equal(drt_engine_status(e), ENGINE_FAULTED);
    assert_int_equal(drt_engine_next_deadline(e), UINT64_MAX);
    drt_engine_destroy(e);
}

/* Nodes started together must not keep maintaining in step: each round
 * is drawn from 3/4 to 5/4 of the period, and the mean stays the period. */
static void test_maintenance_rounds_are_jittered_around_the_period(void **state)
{
    (void)state;
    struct drt_engine *a = engine(3540), *b = engine(3541);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_not_equal(drt_engine_next_deadline(a), drt_engine_next_deadline(b));
    uint64_t now = 1000, total = 0, lo = UINT64_MAX, hi = 0;
    const unsigned rounds = 200;
    for (unsigned i = 0; i < rounds; i++) {
        uint64_t next = drt_engine_next_deadline(a);
        assert_true(next > now);
        uint64_t gap = next - now;
        assert_in_range(gap, 15000 - 15000 / 4, 15000 + 15000 / 4);
        lo = gap < lo ? gap : lo;
        hi = gap > hi ? gap : hi;
        total += gap;
        now = next;
        drt_engine_timer(a, now);
    }
    assert_true(hi - lo > 15000 / 4);
    assert_in_range(total / rounds, 14000, 16000);
    drt_engine_destroy(a);
    drt_engine_destroy(b);
}

static void test_silent_seeds_mean_alone(void **state)
{
    (void)state;
    struct drt_engine *e = engine(3540);
    struct drt_endpoint seed = {{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9}, 4000};
    drt_engine_bootstrap(e, &seed, 1, 1000);
    size_t sent = 0;
    enum drt_engine_status st = ENGINE_BOOTSTRAPPING;
    drain(e, &sent, &st);
    assert_int_equal(sent, 1); /* one SOLICIT */
    assert_int_equal(st, ENGINE_BOOTSTRAPPING);
    /* Two retransmissions, then the SOLICIT expires: ALONE. Bounded loop. */
    for (int i = 0; i < 10 && st == ENGINE_BOOTSTRAPPING; i++) {
        uint64_t d = drt_engine_next_deadline(e);
        assert_true(d != UINT64_MAX);
        drt_engine_timer(e, d);
        drain(e, &sent, &st);
    }
    assert_int_equal(st, ENGINE_ALONE);
    assert_int_equal(sent, 3);
    drt_engine_destroy(e);
}

static void test_registry_codes(void **state)
{
    (void)state;
    struct drt_engine *e = engine(3540);
    uint8_t k1[32] = {1}, k2[32] = {2};
    uint32_t r1, r2;
    uint8_t big[DRT_MAX_PAYLOAD_SIZE + 1] = {0};
    assert_int_equal(drt_engine_register(e, k1, big, sizeof(big), &r1, 1000), E_INVALIDARG);
    assert_int_equal(drt_engine_register(e, k1, NULL, 3, &r1, 1000), E_INVALIDARG);
    assert_int_equal(drt_engine_register(e, k1, big, DRT_MAX_PAYLOAD_SIZE, &r1, 1000), S_OK);
    assert_int_equal(drt_engine_register(e, k1, big, 1, &r2, 1000), DRT_E_DUPLICATE_KEY);
    assert_int_equal(drt_engine_register(e, k2, big, 1, &r2, 1000), S_OK);
    assert_int_not_equal(r1, r2);
    assert_int_equal(drt_engine_key_count(e), 2);
    assert_int_equal(drt_engine_update(e, r1, (const uint8_t *)"new", 3, 1000), S_OK);
    assert_int_equal(drt_engine_update(e, 9999, (const uint8_t *)"new", 3, 1000), E_HANDLE);
    assert_int_equal(drt_engine_unregister(e, r1, 1000), S_OK);
    assert_int_equal(drt_engine_unregister(e, r1, 1000), E_HANDLE);
    /* The key is free again. */
    assert_int_equal(drt_engine_register(e, k1, big, 1, &r1, 1000), S_OK);
    drt_engine_unregister_all(e, 1000);
    assert_int_equal(drt_engine_key_count(e), 0);
    drt_engine_fault(e, 2000);
    assert_int_equal(drt_engine_register(e, k1, big, 1, &r1, 2000), DRT_E_FAULTED);
    drt_engine_destroy(e);
}

static void test_key_cap(void **state)
{
    (void)state;
    struct drt_engine_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.self.port = 3540;
    cfg.random = counter_random;
    cfg.random_ctx = &rng_state;
    cfg.max_keys = 2;
    struct drt_engine *e = drt_engine_create(&cfg, 0);
    assert_non_null(e);
    uint8_t k[32] = {0};
    uint32_t id;
    for (uint8_t i = 0; i < 2; i++) {
        k[0] = i;
        assert_int_equal(drt_engine_register(e, k, NULL, 0, &id, 0), S_OK);
    }
    k[0] = 9;
    assert_int_equal(drt_engine_register(e, k, NULL, 0, &id, 0), E_OUTOFMEMORY);
    drt_engine_destroy(e);
}

static void test_search_edges(void **state)
{
    (void)state;
    struct drt_engine *e = engine(3540);
    drt_engine_bootstrap(e, NULL, 0, 1000);
    drain(e, NULL, NULL);
    uint8_t k[32] = {7};
    uint32_t reg;
    assert_int_equal(drt_engine_register(e, k, (const uint8_t *)"me", 2, &reg, 1000), S_OK);
    struct drt_engine_search_params p;
    memset(&p, 0, sizeof(p));
    memcpy(p.target, k, 32);
    memcpy(p.min, k, 32);
    memcpy(p.max, k, 32);
    p.max_results = 1;
    uint32_t id;
    /* Alone and remote-only: nothing to ask, nothing found. */
    assert_int_equal(drt_engine_search_start(e, &p, &id, 1000), S_OK);
    struct drt_engine_event ev;
    bool done = false;
    while (drt_engine_next_event(e, &ev))
        if (ev.type == ENGINE_EV_SEARCH_DONE && ev.u.done.search_id == id) {
            assert_int_equal(ev.u.done.hr, DRT_E_NO_MORE);
            done = true;
        }
    assert_true(done);
    /* With fAllowCurrentInstanceMatch the local key answers, data included. */
    p.allow_local = true;
    assert_int_equal(drt_engine_search_start(e, &p, &id, 1000), S_OK);
    bool got = false;
    done = false;
    while (drt_engine_next_event(e, &ev)) {
        if (ev.type == ENGINE_EV_RESULT && ev.u.result.search_id == id) {
            assert_int_equal(ev.u.result.match, DRT_MATCH_EXACT);
            assert_int_equal(ev.u.result.app_data_len, 2);
            assert_memory_equal(ev.u.result.app_data, "me", 2);
            got = true;
        }
        if (ev.type == ENGINE_EV_SEARCH_DONE && ev.u.done.search_id == id) {
            assert_int_equal(ev.u.done.hr, S_OK);
            done = true;
        }
    }
    assert_true(got && done);
    assert_int_equal(drt_engine_search_continue(e, id, 1000), E_HANDLE);
    drt_engine_search_cancel(e, 12345); /* unknown: ignored */
    drt_engine_fault(e, 2000);
    assert_int_equal(drt_engine_search_start(e, &p, &id, 2000), DRT_E_FAULTED);
    drt_engine_destroy(e);
}

static void test_search_timeout(void **state)
{
    (void)state;
    struct drt_engine *e = engine(3540);
    /* A peer that never answers: the search hits its timeout first. */
    uint8_t peer_key[32] = {5};
    uint8_t msg[256];
    size_t len;
    struct wire_msg m;
    memset(&m, 0, sizeof(m));
    m.hdr = (struct wire_header){1, 0, WIRE_SOLICIT, 77};
    m.u.solicit.has_route = true;
    memcpy(m.u.solicit.route.key, peer_key, 32);
    m.u.solicit.route.version_major = 1;
    m.u.solicit.route.port = 4000;
    m.u.solicit.route.addr_count = 1;
    m.u.solicit.route.addrs[0][15] = 2;
    assert_int_equal(wire_encode(&m, msg, sizeof(msg), &len), S_OK);
    struct drt_endpoint from = {{0}, 4000};
    from.addr[15] = 2;
    drt_engine_receive(e, &from, msg, len, 1000); /* learned, pending verification */
    drain(e, NULL, NULL);
    struct drt_engine_search_params p;
    memset(&p, 0, sizeof(p));
    memset(p.max, 0xff, 32);
    p.max_results = 1;
    p.timeout_ms = 300;
    uint32_t id;
    assert_int_equal(drt_engine_search_start(e, &p, &id, 1000), S_OK);
    HRESULT hr = S_FALSE;
    for (int i = 0; i < 20 && hr == S_FALSE; i++) {
        uint64_t d = drt_engine_next_deadline(e);
        drt_engine_timer(e, d);
        struct drt_engine_event ev;
        while (drt_engine_next_event(e, &ev))
            if (ev.type == ENGINE_EV_SEARCH_DONE && ev.u.done.search_id == id)
                hr = ev.u.done.hr;
        drain(e, NULL, NULL);
    }
    /* Either nothing verified to ask (NO_MORE) or the timeout (TIMEOUT). */
    assert_true(hr == DRT_E_NO_MORE || hr == DRT_E_TIMEOUT);
    drt_engine_destroy(e);
}

static void test_drops_bad_input(void **state)
{
    (void)state;
    struct drt_engine *e = engine(3540);
    struct drt_endpoint from = {{0}, 4000};
    from.addr[15] = 2;
    const uint8_t junk[] = {0x00, 0x10, 0x00, 0x0c, 0x52, 1, 0, 1, 0, 0, 0, 1};
    drt_engine_receive(e, &from, junk, sizeof(junk), 1000);
    drt_engine_receive(e, &from, NULL, 0, 1000);
    /* A well-formed ACK nobody asked for, and one of another application. */
    uint8_t msg[64];
    size_t len;
    struct wire_msg m;
    memset(&m, 0, sizeof(m));
    m.hdr = (struct wire_header){1, 0, WIRE_ACK, 5};
    m.u.ack.acked_id = 1234;
    assert_int_equal(wire_encode(&m, msg, sizeof(msg), &len), S_OK);
    drt_engine_receive(e, &from, msg, len, 1000);
    m.hdr.version_major = 2;
    assert_int_equal(wire_encode(&m, msg, sizeof(msg), &len), S_OK);
    drt_engine_receive(e, &from, msg, len, 1000);
    struct drt_engine_stats st;
    drt_engine_get_stats(e, &st);
    assert_int_equal(st.datagrams_received, 4);
    assert_int_equal(st.dropped_malformed, 2);
    assert_int_equal(st.dropped_unexpected, 2);
    size_t sent = 0;
    drain(e, &sent, NULL);
    assert_int_equal(sent, 0); /* nothing answered */
    drt_engine_destroy(e);
}

/* --- caps (docs/RELIABILITY.md) ------------------------------------------ */

static struct drt_engine *capped_engine(uint32_t per_source, uint32_t global, uint32_t max_events)
{
    struct drt_engine_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.version_major = 1;
    cfg.self.addr[15] = 1;
    cfg.self.port = 3540;
    cfg.random = counter_random;
    cfg.random_ctx = &rng_state;
    cfg.rate_per_source = per_source;
    cfg.burst_per_source = per_source;
    cfg.rate_global = global;
    cfg.burst_global = global;
    cfg.max_events = max_events;
    return drt_engine_create(&cfg, 1000);
}

static struct drt_endpoint stranger(uint16_t n)
{
    struct drt_endpoint ep = {{0xfd}, (uint16_t)(5000 + n)};
    ep.addr[15] = 2;
    return ep;
}

static size_t solicit_from(struct drt_engine *e, const struct drt_endpoint *from, unsigned count,
                           uint64_t now)
{
    struct wire_msg m;
    memset(&m, 0, sizeof(m));
    m.hdr = (struct wire_header){1, 0, WIRE_SOLICIT, 77};
    uint8_t buf[256];
    size_t len;
    assert_int_equal(wire_encode(&m, buf, sizeof(buf), &len), S_OK);
    for (unsigned i = 0; i < count; i++)
        drt_engine_receive(e, from, buf, len, now);
    size_t sent = 0;
    drain(e, &sent, NULL);
    return sent;
}

static void test_requests_over_a_source_rate_are_dropped_unanswered(void **state)
{
    (void)state;
    struct drt_engine *e = capped_engine(5, 1000, 0);
    struct drt_endpoint a = stranger(1), b = stranger(2);
    assert_int_equal(solicit_from(e, &a, 20, 1000), 5);
    /* Another source is not held back by the first one's flood. */
    assert_int_equal(solicit_from(e, &b, 2, 1000), 2);
    /* Five a second: after 400 ms, two more. */
    assert_int_equal(solicit_from(e, &a, 20, 1400), 2);
    struct drt_engine_stats st;
    drt_engine_get_stats(e, &st);
    assert_int_equal(st.requests_admitted, 9);
    assert_int_equal(st.dropped_rate_source, 33);
    assert_int_equal(st.dropped_rate_global, 0);
    assert_int_equal(st.rate_sources, 2);
    drt_engine_destroy(e);
}

static void test_global_budget_drops_strangers_beyond_it(void **state)
{
    (void)state;
    struct drt_engine *e = capped_engine(100, 10, 0);
    size_t answered = 0;
    for (uint16_t i = 0; i < 30; i++) {
        struct drt_endpoint s = stranger(i);
        answered += solicit_from(e, &s, 1, 1000);
    }
    assert_int_equal(answered, 10);
    struct drt_engine_stats st;
    drt_engine_get_stats(e, &st);
    assert_int_equal(st.dropped_rate_global, 20);
    assert_int_equal(st.dropped_rate_source, 0);
    /* Ten a second: a second later there is room again. */
    struct drt_endpoint s = stranger(99);
    assert_int_equal(solicit_from(e, &s, 1, 2000), 1);
    drt_engine_destroy(e);
}

static void test_peer_that_answered_us_is_outside_the_global_budget(void **state)
{
    (void)state;
    struct drt_engine *e = capped_engine(100, 3, 0);
    struct drt_endpoint seed = stranger(500);
    drt_engine_bootstrap(e, &seed, 1, 1000);
    /* The seed answers our SOLICIT: it proves it receives at its endpoint. */
    struct drt_endpoint to;
    const uint8_t *buf;
    size_t len;
    assert_true(drt_engine_next_datagram(e, &to, &buf, &len));
    struct wire_msg sol;
    assert_int_equal(wire_decode(buf, len, &sol), S_OK);
    assert_int_equal(sol.hdr.type, WIRE_SOLICIT);
    struct wire_msg adv;
    memset(&adv, 0, sizeof(adv));
    adv.hdr = (struct wire_header){1, 0, WIRE_ADVERTISE, 78};
    adv.u.advertise.acked_id = sol.hdr.message_id;
    memcpy(adv.u.advertise.hashed_nonce, sol.u.solicit.hashed_nonce, WIRE_HASHED_NONCE_SIZE);
    uint8_t out[256];
    size_t n;
    assert_int_equal(wire_encode(&adv, out, sizeof(out), &n), S_OK);
    drt_engine_receive(e, &seed, out, n, 1000);
    drain(e, NULL, NULL);
    /* Strangers use up the global budget... */
    for (uint16_t i = 0; i < 10; i++) {
        struct drt_endpoint s = stranger(i);
        solicit_from(e, &s, 1, 1000);
    }
    struct drt_engine_stats st;
    drt_engine_get_stats(e, &st);
    assert_int_equal(st.dropped_rate_global, 7);
    /* ...and the seed is still answered, within its own rate. */
    assert_int_equal(solicit_from(e, &seed, 5, 1000), 5);
    drt_engine_destroy(e);
}

/* Two imported route entries make the engine INQUIRE two endpoints; each
 * answers with the first fragment of a two-fragment AUTHORITY, starting a
 * reassembly buffer. Returns how many buffers the reassembly cap evicted. */
static uint64_t reassembly_evictions(uint32_t reasm_buffers)
{
    struct drt_engine_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.version_major = 1;
    cfg.self.addr[15] = 1;
    cfg.self.port = 3540;
    cfg.random = counter_random;
    cfg.random_ctx = &rng_state;
    cfg.reasm_buffers = reasm_buffers;
    struct drt_engine *e = drt_engine_create(&cfg, 1000);
    assert_non_null(e);
    drt_engine_bootstrap(e, NULL, 0, 1000);
    struct drt_engine_route routes[2];
    memset(routes, 0, sizeof(routes));
    for (int i = 0; i < 2; i++) {
        memset(routes[i].key, 0x30 + i, 32);
        routes[i].ep = stranger((uint16_t)i);
    }
    assert_int_equal(drt_engine_import_routes(e, routes, 2, 1000), 2);
    struct drt_endpoint to;
    const uint8_t *out;
    size_t len;
    static uint8_t fragment[WIRE_FRAGMENT_SIZE];
    unsigned answered = 0;
    for (int guard = 0; guard < 16 && drt_engine_next_datagram(e, &to, &out, &len); guard++) {
        struct wire_msg q;
        if (FAILED(wire_decode(out, len, &q)) || q.hdr.type != WIRE_INQUIRE)
            continue;
        struct wire_msg a;
        memset(&a, 0, sizeof(a));
        a.hdr = (struct wire_header){1, 0, WIRE_AUTHORITY, 900 + answered};
        a.u.authority.acked_id = q.hdr.message_id;
        a.u.authority.size = 2 * WIRE_FRAGMENT_SIZE;
        a.u.authority.fragment = (struct wire_blob){fragment, sizeof(fragment)};
        uint8_t buf[2048];
        size_t n;
        assert_int_equal(wire_encode(&a, buf, sizeof(buf), &n), S_OK);
        struct drt_endpoint from = to;
        drt_engine_receive(e, &from, buf, n, 1001);
        answered++;
    }
    assert_int_equal(answered, 2);
    struct drt_engine_stats st;
    drt_engine_get_stats(e, &st);
    assert_int_equal(st.reasm_refused, 0);
    assert_true(st.reasm_bytes >= (reasm_buffers == 1 ? 1u : 2u) * 2 * WIRE_FRAGMENT_SIZE);
    drt_engine_destroy(e);
    return st.reasm_evicted;
}

static void test_reassembly_buffers_are_capped_as_configured(void **state)
{
    (void)state;
    assert_int_equal(reassembly_evictions(0), 0); /* the default: 32 */
    assert_int_equal(reassembly_evictions(1), 1);
}

static void test_event_queue_drops_the_oldest_beyond_its_cap(void **state)
{
    (void)state;
    struct drt_engine *e = capped_engine(0, 0, 4);
    drt_engine_bootstrap(e, NULL, 0, 1000); /* a status event */
    struct drt_engine_search_params p;
    memset(&p, 0, sizeof(p));
    p.max_results = 1;
    uint32_t last = 0;
    /* Alone, each search ends at once: one done event each, undrained. */
    for (int i = 0; i < 10; i++)
        assert_int_equal(drt_engine_search_start(e, &p, &last, 1000), S_OK);
    struct drt_engine_stats st;
    drt_engine_get_stats(e, &st);
    assert_int_equal(st.events_queued, 4);
    assert_int_equal(st.events_dropped, 7);
    /* The four newest are left, in order. */
    struct drt_engine_event ev;
    for (uint32_t id = last - 3; id <= last; id++) {
        assert_true(drt_engine_next_event(e, &ev));
        assert_int_equal(ev.type, ENGINE_EV_SEARCH_DONE);
        assert_int_equal(ev.u.done.search_id, id);
    }
    assert_false(drt_engine_next_event(e, &ev));
    drt_engine_destroy(e);
}

/* --- two engines by hand, with a forger on the wire ----------------------- */

struct duo {
    struct drt_engine *a, *b; /* a searches, b owns the key */
    uint64_t now;
    bool forge;       /* send a bad copy of b's proof to a first */
    bool drop_genuine; /* and lose the real one */
    bool deaf_a;       /* nothing from b reaches a */
    bool done_seen;
    unsigned forged;
    struct drt_engine_event done; /* its path points at path below */
    struct drt_engine_path_entry path[16];
    size_t results;
    uint32_t owner_flags;
    enum drt_engine_status status[8]; /* a's status events, in order */
    size_t nstatus;
};

/* When buf is b's answer with a proof (an AUTHORITY whose buffer carries a
 * CPA), the offset of the proof's last byte; 0 otherwise. */
static size_t proof_offset(const uint8_t *buf, size_t len)
{
    struct wire_msg m;
    struct wire_authority_buffer ab;
    if (FAILED(wire_decode(buf, len, &m)) || m.hdr.type != WIRE_AUTHORITY ||
        m.u.authority.offset != 0 || m.u.authority.fragment.len != m.u.authority.size ||
        FAILED(wire_decode_authority_buffer(m.u.authority.fragment.p,
                                            m.u.authority.fragment.len, &ab)) ||
        !ab.cpa.p)
        return 0;
    return (size_t)(ab.cpa.p + ab.cpa.len - 1 - buf);
}

static void duo_events(struct duo *d, struct drt_engine *e)
{
    struct drt_engine_event ev;
    while (drt_engine_next_event(e, &ev)) {
        if (e != d->a)
            continue;
        if (ev.type == ENGINE_EV_STATUS && d->nstatus < 8)
            d->status[d->nstatus++] = ev.u.status.status;
        if (ev.type == ENGINE_EV_RESULT)
            d->results++;
        if (ev.type == ENGINE_EV_SEARCH_DONE) {
            d->done = ev;
            /* The event's path lives only until the next event call. */
            size_t n = ev.u.done.path_len < 16 ? ev.u.done.path_len : 16;
            if (n)
                memcpy(d->path, ev.u.done.path, n * sizeof(d->path[0]));
            d->done.u.done.path = d->path;
            d->done.u.done.path_len = n;
            d->done_seen = true;
            for (size_t i = 0; i < ev.u.done.path_len; i++)
                if (ev.u.done.path[i].nearness == 256)
                    d->owner_flags = ev.u.done.path[i].flags;
        }
    }
}

/* Moves datagrams both ways, then time, for at most `ms` virtual ms. */
static void duo_run(struct duo *d, uint64_t ms)
{
    for (uint64_t end = d->now + ms; d->now < end;) {
        bool moved = false;
        struct drt_engine *from[2] = {d->a, d->b}, *to[2] = {d->b, d->a};
        for (int i = 0; i < 2; i++) {
            struct drt_endpoint dst;
            const uint8_t *buf;
            size_t len;
            while (drt_engine_next_datagram(from[i], &dst, &buf, &len)) {
                uint8_t copy[2048];
                assert_true(len <= sizeof(copy));
                memcpy(copy, buf, len);
                if (from[i] == d->b && d->deaf_a)
                    continue;
                size_t at = from[i] == d->b && d->forge ? proof_offset(copy, len) : 0;
                if (at) {
                    copy[at] ^= 0x01;
                    d->forged++;
                    drt_engine_receive(to[i], drt_engine_self(from[i]), copy, len, d->now);
                    copy[at] ^= 0x01;
                    if (d->drop_genuine)
                        continue;
                }
                drt_engine_receive(to[i], drt_engine_self(from[i]), copy, len, d->now);
                moved = true;
            }
            duo_events(d, from[i]);
        }
        if (!moved) {
            d->now += 10;
            drt_engine_timer(d->a, d->now);
            drt_engine_timer(d->b, d->now);
        }
    }
}

/* a joins b's cloud of one; each registers a key. */
static void duo_join(struct duo *d)
{
    memset(d, 0, sizeof(*d));
    d->a = engine(4001);
    d->b = engine(4002);
    assert_true(d->a && d->b);
    d->now = 1000;
    uint8_t ka[32] = {0xa0}, kb[32] = {0xb0};
    uint32_t reg;
    assert_int_equal(drt_engine_register(d->b, kb, (const uint8_t *)"bee", 3, &reg, d->now), S_OK);
    assert_int_equal(drt_engine_register(d->a, ka, NULL, 0, &reg, d->now), S_OK);
    drt_engine_bootstrap(d->b, NULL, 0, d->now);
    drt_engine_bootstrap(d->a, drt_engine_self(d->b), 1, d->now);
    duo_run(d, 5000);
}

static void test_a_joining_node_goes_straight_to_active(void **state)
{
    (void)state;
    struct duo d;
    duo_join(&d);
    /* Not ALONE for the moment between the seed's ADVERTISE and the first
     * verified peer. */
    assert_int_equal(d.nstatus, 1);
    assert_int_equal(d.status[0], ENGINE_ACTIVE);
    drt_engine_destroy(d.a);
    drt_engine_destroy(d.b);
}

static void test_back_from_no_network_the_node_is_active_again(void **state)
{
    (void)state;
    struct duo d;
    duo_join(&d);
    assert_int_equal(drt_engine_status(d.a), ENGINE_ACTIVE);
    drt_engine_set_network(d.a, false, d.now);
    assert_int_equal(drt_engine_status(d.a), ENGINE_NO_NETWORK);
    duo_run(&d, 20000);
    /* The network returns: a bootstraps again from its seeds (the same
     * list it holds: no use after free) and verifies the peers it knew. */
    drt_engine_set_network(d.a, true, d.now);
    duo_run(&d, 10000);
    assert_int_equal(drt_engine_status(d.a), ENGINE_ACTIVE);
    assert_true(d.nstatus >= 3);
    assert_int_equal(d.status[d.nstatus - 2], ENGINE_NO_NETWORK);
    assert_int_equal(d.status[d.nstatus - 1], ENGINE_ACTIVE);
    drt_engine_destroy(d.a);
    drt_engine_destroy(d.b);
}

static uint64_t lookups_sent(struct drt_engine *e)
{
    struct drt_engine_stats st;
    drt_engine_get_stats(e, &st);
    return st.sent_by_type[WIRE_LOOKUP];
}

/* a searches key exactly and runs until the search is done. When
 * first_step_lookups is given, it receives the LOOKUPs a had sent right
 * after the search started. */
static uint32_t duo_search_for(struct duo *d, const uint8_t key[32], uint64_t *first_step_lookups)
{
    struct drt_engine_search_params p;
    memset(&p, 0, sizeof(p));
    memcpy(p.target, key, 32);
    memcpy(p.min, key, 32);
    memcpy(p.max, key, 32);
    p.max_results = 1;
    p.timeout_ms = 30000;
    uint32_t id;
    d->done_seen = false;
    d->results = 0;
    assert_int_equal(drt_engine_search_start(d->a, &p, &id, d->now), S_OK);
    if (first_step_lookups)
        *first_step_lookups = lookups_sent(d->a);
    for (int i = 0; i < 300 && !d->done_seen; i++) /* 30 s at most */
        duo_run(d, 100);
    assert_true(d->done_seen);
    return id;
}

static uint32_t duo_start_search(struct duo *d)
{
    const uint8_t kb[32] = {0xb0};
    return duo_search_for(d, kb, NULL);
}

static void test_one_unanswered_search_does_not_lose_the_peer(void **state)
{
    (void)state;
    struct duo d;
    duo_join(&d);
    /* b's answers stop reaching a for the length of one search... */
    d.deaf_a = true;
    duo_start_search(&d);
    assert_int_equal(d.results, 0);
    d.deaf_a = false;
    /* ...then come again: a checks b before forgetting it, and still has
     * it for the next search. */
    duo_run(&d, 5000);
    assert_int_equal(drt_engine_status(d.a), ENGINE_ACTIVE);
    duo_start_search(&d);
    assert_int_equal(d.done.u.done.hr, S_OK);
    assert_int_equal(d.results, 1);
    drt_engine_destroy(d.a);
    drt_engine_destroy(d.b);
}

static void duo_search(bool drop_genuine, struct duo *d)
{
    duo_join(d);
    assert_int_equal(drt_engine_status(d->a), ENGINE_ACTIVE);
    d->forge = true;
    d->drop_genuine = drop_genuine;
    duo_start_search(d);
}

static void test_a_forged_proof_does_not_end_the_wait_for_the_real_one(void **state)
{
    (void)state;
    struct duo d;
    duo_search(false, &d);
    assert_true(d.forged >= 1);
    assert_int_equal(d.done.u.done.hr, S_OK);
    assert_int_equal(d.results, 1);
    struct drt_engine_stats st;
    drt_engine_get_stats(d.a, &st);
    assert_int_equal(st.proofs_rejected, d.forged);
    /* The owner answered with a good proof in the end: the forged one
     * leaves no mark on its path entry. */
    assert_true(d.owner_flags & DRT_ADDRESS_FLAG_INQUIRE);
    assert_false(d.owner_flags & DRT_ADDRESS_FLAG_REJECTED);
    assert_false(d.owner_flags & DRT_ADDRESS_FLAG_BAD_VALIDATE_ID);
    drt_engine_destroy(d.a);
    drt_engine_destroy(d.b);
}

static void test_only_forged_proofs_mean_no_result_and_a_rejected_node(void **state)
{
    (void)state;
    struct duo d;
    duo_search(true, &d);
    assert_true(d.forged >= 2); /* the request was retransmitted meanwhile */
    assert_int_equal(d.results, 0);
    assert_int_equal(d.done.u.done.hr, DRT_E_NO_MORE);
    /* Its record did not validate: rejected, and a bad validate ID. */
    assert_true(d.owner_flags & DRT_ADDRESS_FLAG_INQUIRE);
    assert_true(d.owner_flags & DRT_ADDRESS_FLAG_REJECTED);
    assert_true(d.owner_flags & DRT_ADDRESS_FLAG_BAD_VALIDATE_ID);
    drt_engine_destroy(d.a);
    drt_engine_destroy(d.b);
}

static void test_an_exact_search_fetches_a_known_key_without_a_lookup(void **state)
{
    (void)state;
    struct duo d;
    duo_join(&d);
    uint64_t before = lookups_sent(d.a);
    duo_start_search(&d);
    assert_int_equal(d.done.u.done.hr, S_OK);
    assert_int_equal(d.results, 1);
    /* a knew b under the key: one INQUIRE fetched and proved it. */
    assert_int_equal(lookups_sent(d.a), before);
    assert_int_equal(d.done.u.done.messages, 1);
    assert_true(d.owner_flags & DRT_ADDRESS_FLAG_ACCEPTED);
    assert_true(d.owner_flags & DRT_ADDRESS_FLAG_INQUIRE);
    assert_false(d.owner_flags & DRT_ADDRESS_FLAG_REJECTED);
    drt_engine_destroy(d.a);
    drt_engine_destroy(d.b);
}

static void test_a_refused_fetch_sends_the_exact_search_on_walking(void **state)
{
    (void)state;
    struct duo d;
    duo_join(&d);
    /* b registers a second key that a learns, then drops it while a does
     * not hear the revocation: a's cache names b under a key b no longer
     * holds. */
    uint8_t gone[32] = {0xb0, 1};
    uint32_t reg;
    assert_int_equal(drt_engine_register(d.b, gone, NULL, 0, &reg, d.now), S_OK);
    duo_run(&d, 20000);
    d.deaf_a = true;
    assert_int_equal(drt_engine_unregister(d.b, reg, d.now), S_OK);
    duo_run(&d, 50);
    d.deaf_a = false;
    uint64_t before = lookups_sent(d.a), first_step;
    duo_search_for(&d, gone, &first_step);
    /* The first step was the fetch, no LOOKUP. */
    assert_int_equal(first_step, before);
    assert_int_equal(d.done.u.done.hr, DRT_E_NO_MORE);
    assert_int_equal(d.results, 0);
    /* b refused to prove the key; the walk went on and asked b under the
     * key it does hold before giving up. */
    assert_true(lookups_sent(d.a) > before);
    bool refused_seen = false;
    for (size_t i = 0; i < d.done.u.done.path_len; i++)
        if (memcmp(d.done.u.done.path[i].key, gone, 32) == 0)
            refused_seen = d.done.u.done.path[i].flags & DRT_ADDRESS_FLAG_BAD_VALIDATE_ID;
    assert_true(refused_seen);
    drt_engine_destroy(d.a);
    drt_engine_destroy(d.b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_joining_node_goes_straight_to_active),
        cmocka_unit_test(test_one_unanswered_search_does_not_lose_the_peer),
        cmocka_unit_test(test_back_from_no_network_the_node_is_active_again),
        cmocka_unit_test(test_a_forged_proof_does_not_end_the_wait_for_the_real_one),
        cmocka_unit_test(test_only_forged_proofs_mean_no_result_and_a_rejected_node),
        cmocka_unit_test(test_an_exact_search_fetches_a_known_key_without_a_lookup),
        cmocka_unit_test(test_a_refused_fetch_sends_the_exact_search_on_walking),
        cmocka_unit_test(test_create_rejects_bad_config),
        cmocka_unit_test(test_status_machine),
        cmocka_unit_test(test_maintenance_rounds_are_jittered_around_the_period),
        cmocka_unit_test(test_silent_seeds_mean_alone),
        cmocka_unit_test(test_registry_codes),
        cmocka_unit_test(test_key_cap),
        cmocka_unit_test(test_search_edges),
        cmocka_unit_test(test_search_timeout),
        cmocka_unit_test(test_drops_bad_input),
        cmocka_unit_test(test_requests_over_a_source_rate_are_dropped_unanswered),
        cmocka_unit_test(test_global_budget_drops_strangers_beyond_it),
        cmocka_unit_test(test_peer_that_answered_us_is_outside_the_global_budget),
        cmocka_unit_test(test_event_queue_drops_the_oldest_beyond_its_cap),
        cmocka_unit_test(test_reassembly_buffers_are_capped_as_configured),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
