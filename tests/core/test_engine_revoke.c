/*
 * test_engine_revoke.c - revocations under a security provider, engine by
 * engine: only the owner's signed revocation makes a neighbour forget a
 * key, and only once the key's node confirms it no longer holds it.
 * Forged ones (another signer, the null form, an answer passed off as a
 * revocation) and replayed ones (the key registered again) are dropped
 * and counted. The provider is a fake (struct drt_engine_security) whose
 * "signature" is the signer's id, and only key[0] may sign for a key:
 * enough to tell the owner from everyone else.
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

/* --- a fake provider --------------------------------------------------------
 * record: 'F' | flags | key (32) | nonce (16) | signer = 51 bytes. */
#define REC_LEN 51

struct fake_sec {
    uint8_t signer;
    uint8_t rec[REC_LEN];
    unsigned packs, revocations_packed, open; /* open: buffers not yet done() */
    unsigned revocations_checked;
};

static void make_record(uint8_t signer, uint32_t flags, const uint8_t key[32],
                        const uint8_t nonce[16], uint8_t out[REC_LEN])
{
    out[0] = 'F';
    out[1] = (uint8_t)flags;
    memcpy(out + 2, key, 32);
    memcpy(out + 34, nonce, 16);
    out[50] = signer;
}

static HRESULT fake_pack(void *ctx, uint32_t reg_id, const uint8_t key[32], const uint8_t nonce[16],
                         uint32_t flags, const uint8_t *data, size_t len,
                         struct drt_engine_proof *out)
{
    (void)reg_id;
    struct fake_sec *f = ctx;
    f->packs++;
    f->open++;
    if (flags & DRT_PAYLOAD_REVOKED) {
        f->revocations_packed++;
        assert_null(data); /* a revocation carries no payload */
        assert_int_equal(len, 0);
    }
    make_record(f->signer, flags, key, nonce, f->rec);
    memset(out, 0, sizeof(*out));
    out->cpa = (struct drt_engine_blob){f->rec, REC_LEN};
    out->payload = (struct drt_engine_blob){data, len};
    return S_OK;
}

static HRESULT fake_validate(void *ctx, const uint8_t *key, const uint8_t nonce[16],
                             uint32_t flags, const struct drt_engine_proof *in,
                             uint8_t proven[32], struct drt_engine_blob *payload)
{
    struct fake_sec *f = ctx;
    f->open++;
    if (flags & DRT_PAYLOAD_REVOKED)
        f->revocations_checked++;
    const uint8_t *r = in->cpa.p;
    if (!r || in->cpa.len != REC_LEN || r[0] != 'F' || r[1] != (uint8_t)flags ||
        memcmp(r + 34, nonce, 16) != 0 || r[50] != r[2] /* only key[0] signs */ ||
        (key && memcmp(r + 2, key, 32) != 0))
        return DRT_E_INVALID_MESSAGE;
    memcpy(proven, r + 2, 32);
    *payload = in->payload;
    return S_OK;
}

static void fake_done(void *ctx)
{
    struct fake_sec *f = ctx;
    f->open = 0;
}

/* --- engines ---------------------------------------------------------------- */

static uint64_t counter_random(void *ctx)
{
    uint64_t *s = ctx;
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    return z ^ (z >> 31);
}

static uint64_t rng_state = 7;

struct node {
    struct drt_engine *e;
    struct fake_sec sec;
    struct drt_engine_security ops;
};

static void node_open(struct node *n, uint16_t port, uint8_t signer)
{
    memset(n, 0, sizeof(*n));
    n->sec.signer = signer;
    n->ops = (struct drt_engine_security){
        .pack = fake_pack, .validate = fake_validate, .done = fake_done, .ctx = &n->sec};
    struct drt_engine_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.version_major = 1;
    cfg.self.addr[15] = 1;
    cfg.self.port = port;
    cfg.random = counter_random;
    cfg.random_ctx = &rng_state;
    cfg.security = &n->ops;
    n->e = drt_engine_create(&cfg, 1000);
    assert_non_null(n->e);
}

/* A is the neighbour that caches B's key kb; B owns it. */
struct pair {
    struct node a, b;
    uint64_t now;
    uint8_t ka[32], kb[32];
    uint32_t reg_b;
    /* The last revocation B sent to A, as it went on the wire. */
    uint8_t captured[2048];
    size_t captured_len;
    unsigned a_lost_kb;   /* LEAFSET DELETED events at A for kb */
    unsigned results;     /* exact results of A's last search */
    HRESULT search_hr;
};

static bool is_revocation(const uint8_t *buf, size_t len)
{
    struct wire_msg m;
    return SUCCEEDED(wire_decode(buf, len, &m)) && m.hdr.type == WIRE_FLOOD &&
           m.u.flood.revoke_cpa.p;
}

static void events(struct pair *p, struct node *n)
{
    struct drt_engine_event ev;
    while (drt_engine_next_event(n->e, &ev)) {
        if (n != &p->a)
            continue;
        if (ev.type == ENGINE_EV_LEAFSET && ev.u.leafset.change == DRT_LEAFSET_KEY_DELETED &&
            memcmp(ev.u.leafset.remote_key, p->kb, 32) == 0)
            p->a_lost_kb++;
        if (ev.type == ENGINE_EV_RESULT && ev.u.result.match == DRT_MATCH_EXACT)
            p->results++;
        if (ev.type == ENGINE_EV_SEARCH_DONE)
            p->search_hr = ev.u.done.hr;
    }
}

/* Moves datagrams both ways, then time, for `ms` virtual ms. */
static void run(struct pair *p, uint64_t ms)
{
    for (uint64_t end = p->now + ms; p->now < end;) {
        bool moved = false;
        struct node *from[2] = {&p->a, &p->b}, *to[2] = {&p->b, &p->a};
        for (int i = 0; i < 2; i++) {
            struct drt_endpoint dst;
            const uint8_t *buf;
            size_t len;
            while (drt_engine_next_datagram(from[i]->e, &dst, &buf, &len)) {
                uint8_t copy[2048];
                assert_true(len <= sizeof(copy));
                memcpy(copy, buf, len);
                if (from[i] == &p->b && is_revocation(copy, len)) {
                    memcpy(p->captured, copy, len);
                    p->captured_len = len;
                }
                drt_engine_receive(to[i]->e, drt_engine_self(from[i]->e), copy, len, p->now);
                moved = true;
            }
            events(p, from[i]);
        }
        if (!moved) {
            p->now += 10;
            drt_engine_timer(p->a.e, p->now);
            drt_engine_timer(p->b.e, p->now);
        }
    }
}

static void pair_open(struct pair *p)
{
    memset(p, 0, sizeof(*p));
    p->ka[0] = 0xa0;
    p->kb[0] = 0xb0;
    node_open(&p->a, 4001, 0xa0);
    node_open(&p->b, 4002, 0xb0);
    p->now = 1000;
    uint32_t reg;
    assert_int_equal(drt_engine_register(p->b.e, p->kb, (const uint8_t *)"bee", 3, &p->reg_b,
                                         p->now),
                     S_OK);
    assert_int_equal(drt_engine_register(p->a.e, p->ka, NULL, 0, &reg, p->now), S_OK);
    drt_engine_bootstrap(p->b.e, NULL, 0, p->now);
    drt_engine_bootstrap(p->a.e, drt_engine_self(p->b.e), 1, p->now);
    run(p, 5000);
    assert_int_equal(drt_engine_status(p->a.e), ENGINE_ACTIVE);
}

static void pair_close(struct pair *p)
{
    drt_engine_destroy(p->a.e);
    drt_engine_destroy(p->b.e);
}

/* A searches for kb; returns the number of exact results. */
static unsigned a_finds_kb(struct pair *p)
{
    struct drt_engine_search_params sp;
    memset(&sp, 0, sizeof(sp));
    memcpy(sp.target, p->kb, 32);
    memcpy(sp.min, p->kb, 32);
    memcpy(sp.max, p->kb, 32);
    sp.max_results = 1;
    sp.timeout_ms = 10000;
    uint32_t id;
    p->results = 0;
    p->search_hr = S_FALSE;
    assert_int_equal(drt_engine_search_start(p->a.e, &sp, &id, p->now), S_OK);
    run(p, 12000);
    assert_int_not_equal(p->search_hr, S_FALSE);
    return p->results;
}

/* A FLOOD carrying `cpa` as its Revoke CPA, with B's endpoint on the
 * flooded list (what a forwarder of B's own revocation would send). */
static size_t forged_flood(struct pair *p, const uint8_t *cpa, size_t cpa_len, uint8_t *out,
                           size_t cap)
{
    struct wire_msg m;
    memset(&m, 0, sizeof(m));
    m.hdr.version_major = 1;
    m.hdr.type = WIRE_FLOOD;
    m.hdr.message_id = 0x5eed;
    m.u.flood.flags = WIRE_FLOOD_D;
    m.u.flood.revoke_cpa = (struct wire_blob){cpa, cpa_len};
    const struct drt_endpoint *b = drt_engine_self(p->b.e);
    m.u.flood.flooded.count = 1;
    m.u.flood.flooded.e[0].port = b->port;
    memcpy(m.u.flood.flooded.e[0].addr, b->addr, 16);
    size_t len = 0;
    assert_int_equal(wire_encode(&m, out, cap, &len), S_OK);
    return len;
}

static const struct drt_endpoint attacker = {{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9},
                                             6666};

static void send_from_attacker(struct pair *p, const uint8_t *buf, size_t len)
{
    drt_engine_receive(p->a.e, &attacker, buf, len, p->now);
    run(p, 3000);
}

static struct drt_engine_stats stats_of(struct node *n)
{
    struct drt_engine_stats st;
    drt_engine_get_stats(n->e, &st);
    return st;
}

/* --- tests ------------------------------------------------------------------ */

static void test_owner_revocation_is_signed_confirmed_and_forgets_the_key(void **state)
{
    (void)state;
    struct pair p;
    pair_open(&p);
    assert_int_equal(a_finds_kb(&p), 1);
    assert_int_equal(drt_engine_unregister(p.b.e, p.reg_b, p.now), S_OK);
    assert_int_equal(p.b.sec.revocations_packed, 1); /* the owner signed it */
    run(&p, 3000);
    assert_true(p.captured_len > 0);
    struct drt_engine_stats st = stats_of(&p.a);
    assert_int_equal(st.revocations_accepted, 1);
    assert_int_equal(st.revocations_rejected, 0);
    assert_int_equal(st.revocations_stale, 0);
    assert_int_equal(p.a_lost_kb, 1);
    assert_int_equal(a_finds_kb(&p), 0);
    assert_int_equal(p.search_hr, DRT_E_NO_MORE);
    pair_close(&p);
}

static void test_forged_revocations_are_dropped_and_counted(void **state)
{
    (void)state;
    struct pair p;
    pair_open(&p);
    assert_int_equal(a_finds_kb(&p), 1);
    static const uint8_t zero[16];
    uint8_t rec[REC_LEN], buf[512];
    /* Signed by someone else than kb's owner. */
    make_record(0xee, DRT_PAYLOAD_REVOKED, p.kb, zero, rec);
    send_from_attacker(&p, buf, forged_flood(&p, rec, REC_LEN, buf, sizeof(buf)));
    /* The null scheme's form: 00 | key | nonce, signed by nobody. */
    uint8_t null_cpa[49] = {0};
    memcpy(null_cpa + 1, p.kb, 32);
    send_from_attacker(&p, buf, forged_flood(&p, null_cpa, sizeof(null_cpa), buf, sizeof(buf)));
    /* The owner's own signature on an answer (no REVOKED flag). */
    make_record(0xb0, 0, p.kb, zero, rec);
    send_from_attacker(&p, buf, forged_flood(&p, rec, REC_LEN, buf, sizeof(buf)));
    struct drt_engine_stats st = stats_of(&p.a);
    assert_int_equal(st.revocations_rejected, 3);
    assert_int_equal(st.revocations_accepted, 0);
    assert_int_equal(p.a_lost_kb, 0);
    assert_int_equal(a_finds_kb(&p), 1);
    pair_close(&p);
}

static void test_a_genuine_revocation_from_a_stranger_is_dropped(void **state)
{
    (void)state;
    struct pair p;
    pair_open(&p);
    static const uint8_t zero[16];
    uint8_t rec[REC_LEN], buf[512];
    make_record(0xb0, DRT_PAYLOAD_REVOKED, p.kb, zero, rec);
    /* Right signature, but neither from kb's node nor naming it as
     * already flooded: not the owner's flood. */
    size_t len = forged_flood(&p, rec, REC_LEN, buf, sizeof(buf));
    struct wire_msg m;
    assert_int_equal(wire_decode(buf, len, &m), S_OK);
    m.u.flood.flooded.e[0].port = 7777;
    assert_int_equal(wire_encode(&m, buf, sizeof(buf), &len), S_OK);
    send_from_attacker(&p, buf, len);
    assert_int_equal(stats_of(&p.a).revocations_rejected, 1);
    assert_int_equal(p.a_lost_kb, 0);
    pair_close(&p);
}

static void test_replayed_revocation_does_not_remove_a_new_registration(void **state)
{
    (void)state;
    struct pair p;
    pair_open(&p);
    assert_int_equal(drt_engine_unregister(p.b.e, p.reg_b, p.now), S_OK);
    run(&p, 3000);
    assert_int_equal(p.a_lost_kb, 1);
    uint8_t replay[2048];
    size_t replay_len = p.captured_len;
    assert_true(replay_len > 0);
    memcpy(replay, p.captured, replay_len);
    /* The owner registers the key again; A learns it again. */
    assert_int_equal(drt_engine_register(p.b.e, p.kb, (const uint8_t *)"bee2", 4, &p.reg_b,
                                         p.now),
                     S_OK);
    run(&p, 3000);
    assert_int_equal(a_finds_kb(&p), 1);
    /* The old revocation, replayed from anywhere, is checked with the
     * owner, which proves the key for a fresh nonce: stale. */
    send_from_attacker(&p, replay, replay_len);
    /* And replayed from the owner's endpoint too. */
    drt_engine_receive(p.a.e, drt_engine_self(p.b.e), replay, replay_len, p.now);
    run(&p, 3000);
    struct drt_engine_stats st = stats_of(&p.a);
    assert_int_equal(st.revocations_stale, 2);
    assert_int_equal(st.revocations_accepted, 1); /* the first, genuine one */
    assert_int_equal(p.a_lost_kb, 1);
    assert_int_equal(a_finds_kb(&p), 1);
    /* Replayed to the owner itself: it holds the key, nothing happens. */
    drt_engine_receive(p.b.e, &attacker, replay, replay_len, p.now);
    run(&p, 3000);
    assert_int_equal(stats_of(&p.b).revocations_stale, 1);
    assert_int_equal(drt_engine_key_count(p.b.e), 1);
    assert_int_equal(a_finds_kb(&p), 1);
    pair_close(&p);
}

static void test_a_silent_key_node_confirms_the_revocation(void **state)
{
    (void)state;
    struct pair p;
    pair_open(&p);
    assert_int_equal(a_finds_kb(&p), 1);
    /* B's genuine revocation reaches A, then B goes silent (its process
     * stopped): nobody answers the confirming INQUIRE. */
    assert_int_equal(drt_engine_unregister(p.b.e, p.reg_b, p.now), S_OK);
    struct drt_endpoint dst;
    const uint8_t *buf;
    size_t len;
    uint8_t flood[2048];
    size_t flood_len = 0;
    while (drt_engine_next_datagram(p.b.e, &dst, &buf, &len))
        if (is_revocation(buf, len)) {
            memcpy(flood, buf, len);
            flood_len = len;
        }
    assert_true(flood_len > 0);
    drt_engine_receive(p.a.e, drt_engine_self(p.b.e), flood, flood_len, p.now);
    for (int i = 0; i < 600; i++) { /* A alone, for up to 6 s */
        p.now += 10;
        drt_engine_timer(p.a.e, p.now);
        while (drt_engine_next_datagram(p.a.e, &dst, &buf, &len))
            ;
        events(&p, &p.a);
    }
    assert_int_equal(stats_of(&p.a).revocations_accepted, 1);
    assert_int_equal(p.a_lost_kb, 1);
    pair_close(&p);
}

static void test_a_bad_confirmation_does_not_end_the_wait(void **state)
{
    (void)state;
    struct pair p;
    pair_open(&p);
    /* A replayed revocation while B holds the key: A asks B. */
    static const uint8_t zero[16];
    uint8_t rec[REC_LEN], buf[512];
    make_record(0xb0, DRT_PAYLOAD_REVOKED, p.kb, zero, rec);
    drt_engine_receive(p.a.e, drt_engine_self(p.b.e), buf,
                       forged_flood(&p, rec, REC_LEN, buf, sizeof(buf)), p.now);
    /* Intercept A's INQUIRE; answer it first with a proof for the wrong
     * nonce (a forger's), then let B answer. */
    struct drt_endpoint dst;
    const uint8_t *out;
    size_t len;
    uint8_t inquire[512];
    size_t inquire_len = 0;
    while (drt_engine_next_datagram(p.a.e, &dst, &out, &len)) {
        struct wire_msg m;
        if (SUCCEEDED(wire_decode(out, len, &m)) && m.hdr.type == WIRE_INQUIRE) {
            memcpy(inquire, out, len);
            inquire_len = len;
        }
    }
    assert_true(inquire_len > 0);
    struct wire_msg q;
    assert_int_equal(wire_decode(inquire, inquire_len, &q), S_OK);
    struct wire_authority_buffer ab;
    memset(&ab, 0, sizeof(ab));
    make_record(0xb0, 0, p.kb, zero, rec); /* nonce zero, not A's */
    ab.cpa = (struct wire_blob){rec, REC_LEN};
    uint8_t abuf[512];
    size_t alen = 0;
    assert_int_equal(wire_encode_authority_buffer(&ab, abuf, sizeof(abuf), &alen), S_OK);
    struct wire_msg a;
    memset(&a, 0, sizeof(a));
    a.hdr.version_major = 1;
    a.hdr.type = WIRE_AUTHORITY;
    a.hdr.message_id = 0x77;
    a.u.authority.acked_id = q.hdr.message_id;
    a.u.authority.size = (uint16_t)alen;
    a.u.authority.offset = 0;
    a.u.authority.fragment = (struct wire_blob){abuf, alen};
    uint8_t dgram[1024];
    size_t dlen = 0;
    assert_int_equal(wire_encode(&a, dgram, sizeof(dgram), &dlen), S_OK);
    drt_engine_receive(p.a.e, drt_engine_self(p.b.e), dgram, dlen, p.now);
    assert_int_equal(stats_of(&p.a).proofs_rejected, 1);
    /* The real INQUIRE reaches B, whose answer settles it: stale. */
    drt_engine_receive(p.b.e, drt_engine_self(p.a.e), inquire, inquire_len, p.now);
    run(&p, 3000);
    struct drt_engine_stats st = stats_of(&p.a);
    assert_int_equal(st.revocations_stale, 1);
    assert_int_equal(st.revocations_accepted, 0);
    assert_int_equal(p.a_lost_kb, 0);
    pair_close(&p);
}

static void test_revocation_checks_have_a_budget(void **state)
{
    (void)state;
    struct pair p;
    pair_open(&p);
    static const uint8_t zero[16];
    uint8_t rec[REC_LEN], buf[512];
    make_record(0xee, DRT_PAYLOAD_REVOKED, p.kb, zero, rec);
    size_t len = forged_flood(&p, rec, REC_LEN, buf, sizeof(buf));
    /* 200 forged revocations at once, from as many sources: at most a
     * burst of them costs a check. */
    for (uint16_t i = 0; i < 200; i++) {
        struct drt_endpoint src = attacker;
        src.port = (uint16_t)(20000 + i);
        drt_engine_receive(p.a.e, &src, buf, len, p.now);
    }
    assert_int_equal(stats_of(&p.a).revocations_rejected, 200);
    assert_true(p.a.sec.revocations_checked <= 64);
    /* Two seconds later the budget is back: the owner's revocation, and a
     * copy of it forwarded while it is being confirmed (one check). */
    run(&p, 2000);
    unsigned before = p.a.sec.revocations_checked;
    assert_int_equal(drt_engine_unregister(p.b.e, p.reg_b, p.now), S_OK);
    struct drt_endpoint dst;
    const uint8_t *out;
    size_t olen;
    uint8_t flood[2048];
    size_t flood_len = 0;
    while (drt_engine_next_datagram(p.b.e, &dst, &out, &olen))
        if (is_revocation(out, olen)) {
            memcpy(flood, out, olen);
            flood_len = olen;
        }
    assert_true(flood_len > 0);
    drt_engine_receive(p.a.e, drt_engine_self(p.b.e), flood, flood_len, p.now);
    drt_engine_receive(p.a.e, &attacker, flood, flood_len, p.now);
    assert_int_equal(p.a.sec.revocations_checked, before + 1);
    run(&p, 3000);
    assert_int_equal(stats_of(&p.a).revocations_accepted, 1);
    assert_int_equal(p.a_lost_kb, 1);
    pair_close(&p);
}

/* --- three engines: a revocation passed on ------------------------------ */

/* Node 2 owns k2. Between nodes 1 and 2 only node 1's requests (INQUIRE,
 * LOOKUP) and node 2's AUTHORITY answers pass: node 1 verifies k2, but
 * node 2 can never verify node 1, so node 2's revocation goes to node 0
 * only, and node 1 gets it as node 0 passes it on, after node 0 confirmed
 * it; node 1 then confirms it itself. */
struct trio {
    struct node n[3];
    uint64_t now;
    uint8_t k[3][32];
    uint32_t reg[3];
    unsigned forwarded_to_1, lost_k2[3];
};

static int trio_index(struct trio *t, const struct drt_endpoint *ep)
{
    for (int i = 0; i < 3; i++)
        if (drt_endpoint_equal(drt_engine_self(t->n[i].e), ep))
            return i;
    return -1;
}

static void trio_run(struct trio *t, uint64_t ms)
{
    for (uint64_t end = t->now + ms; t->now < end;) {
        bool moved = false;
        for (int i = 0; i < 3; i++) {
            struct drt_endpoint dst;
            const uint8_t *buf;
            size_t len;
            while (drt_engine_next_datagram(t->n[i].e, &dst, &buf, &len)) {
                int j = trio_index(t, &dst);
                if (j < 0)
                    continue;
                uint8_t copy[2048];
                assert_true(len <= sizeof(copy));
                memcpy(copy, buf, len);
                struct wire_msg m;
                bool ok = SUCCEEDED(wire_decode(copy, len, &m));
                if ((i == 1 && j == 2 &&
                     !(ok && (m.hdr.type == WIRE_INQUIRE || m.hdr.type == WIRE_LOOKUP))) ||
                    (i == 2 && j == 1 && !(ok && m.hdr.type == WIRE_AUTHORITY)))
                    continue;
                if (j == 1 && is_revocation(copy, len))
                    t->forwarded_to_1++;
                drt_engine_receive(t->n[j].e, drt_engine_self(t->n[i].e), copy, len, t->now);
                moved = true;
            }
            struct drt_engine_event ev;
            while (drt_engine_next_event(t->n[i].e, &ev))
                if (ev.type == ENGINE_EV_LEAFSET &&
                    ev.u.leafset.change == DRT_LEAFSET_KEY_DELETED &&
                    memcmp(ev.u.leafset.remote_key, t->k[2], 32) == 0)
                    t->lost_k2[i]++;
        }
        if (!moved) {
            t->now += 10;
            for (int i = 0; i < 3; i++)
                drt_engine_timer(t->n[i].e, t->now);
        }
    }
}

static void test_a_confirmed_revocation_is_passed_on_and_confirmed_again(void **state)
{
    (void)state;
    struct trio t;
    memset(&t, 0, sizeof(t));
    t.now = 1000;
    for (int i = 0; i < 3; i++) {
        t.k[i][0] = (uint8_t)(0x40 + 0x40 * i);
        node_open(&t.n[i], (uint16_t)(4001 + i), t.k[i][0]);
        assert_int_equal(drt_engine_register(t.n[i].e, t.k[i], NULL, 0, &t.reg[i], t.now), S_OK);
    }
    drt_engine_bootstrap(t.n[2].e, NULL, 0, t.now);
    drt_engine_bootstrap(t.n[0].e, drt_engine_self(t.n[2].e), 1, t.now);
    drt_engine_bootstrap(t.n[1].e, drt_engine_self(t.n[0].e), 1, t.now);
    trio_run(&t, 20000);
    for (int i = 0; i < 3; i++)
        assert_int_equal(drt_engine_status(t.n[i].e), ENGINE_ACTIVE);
    /* Node 1 knows k2 (verified through its own INQUIRE). */
    struct drt_engine_search_params sp;
    memset(&sp, 0, sizeof(sp));
    memcpy(sp.target, t.k[2], 32);
    memcpy(sp.min, t.k[2], 32);
    memcpy(sp.max, t.k[2], 32);
    sp.max_results = 1;
    uint32_t id;
    assert_int_equal(drt_engine_search_start(t.n[1].e, &sp, &id, t.now), S_OK);
    trio_run(&t, 5000);
    assert_int_equal(t.lost_k2[1], 0);
    assert_int_equal(drt_engine_unregister(t.n[2].e, t.reg[2], t.now), S_OK);
    trio_run(&t, 5000);
    assert_true(t.forwarded_to_1 >= 1); /* from node 0, after its check */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(stats_of(&t.n[i]).revocations_accepted, 1);
        assert_int_equal(stats_of(&t.n[i]).revocations_rejected, 0);
        assert_int_equal(t.lost_k2[i], 1);
    }
    for (int i = 0; i < 3; i++)
        drt_engine_destroy(t.n[i].e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_owner_revocation_is_signed_confirmed_and_forgets_the_key),
        cmocka_unit_test(test_forged_revocations_are_dropped_and_counted),
        cmocka_unit_test(test_a_genuine_revocation_from_a_stranger_is_dropped),
        cmocka_unit_test(test_replayed_revocation_does_not_remove_a_new_registration),
        cmocka_unit_test(test_a_silent_key_node_confirms_the_revocation),
        cmocka_unit_test(test_a_bad_confirmation_does_not_end_the_wait),
        cmocka_unit_test(test_revocation_checks_have_a_budget),
        cmocka_unit_test(test_a_confirmed_revocation_is_passed_on_and_confirmed_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
