/*
 * test_sim_attacker.c - an attacker node in a simulated cloud of 100 nodes
 * under a (fake) signing provider. It claims another node's key with its
 * own signature, replays that node's genuine record, answers INQUIREs for
 * it with a valid record of its own key, revokes it with its own
 * signature, and floods garbage. None of it may reach another node's cache
 * or search results: every node still finds the key at its owner, and the
 * rejected proofs are counted.
 *
 * The provider stands for X.509 signatures (tests/api/test_security_attacks.c
 * runs the real one on loopback): a record is 'S' | flags | key | nonce |
 * signer, and a signer may only sign for keys whose first byte is its id.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/engine.h"
#include "sim/cluster.h"

#define NODES 100
#define ATTACKER_ID 0xEE
#define REC_LEN 51

enum behaviour {
    HONEST,
    OWN_SIGNATURE, /* signs the victim's key with its own id */
    REPLAY,        /* answers with the victim's genuine record, caught earlier */
    OTHER_KEY,     /* answers with a valid record of its own key */
};

struct signer {
    uint8_t id;
    enum behaviour how;
    uint8_t rec[REC_LEN];
    uint8_t caught[REC_LEN]; /* a genuine record of the victim's, for REPLAY */
    bool have_caught;
    const uint8_t *victim;
    uint64_t rejected;
};

static void record(uint8_t signer, uint32_t flags, const uint8_t key[32], const uint8_t nonce[16],
                   uint8_t out[REC_LEN])
{
    out[0] = 'S';
    out[1] = (uint8_t)flags;
    memcpy(out + 2, key, 32);
    memcpy(out + 34, nonce, 16);
    out[50] = signer;
}

static HRESULT sign_pack(void *ctx, uint32_t reg_id, const uint8_t key[32], const uint8_t nonce[16],
                         uint32_t flags, const uint8_t *data, size_t len,
                         struct drt_engine_proof *out)
{
    (void)reg_id;
    struct signer *s = ctx;
    memset(out, 0, sizeof(*out));
    uint8_t own[32];
    memset(own, ATTACKER_ID, sizeof(own));
    if (s->how == REPLAY && s->have_caught && !(flags & DRT_PAYLOAD_REVOKED))
        memcpy(s->rec, s->caught, REC_LEN);
    else if (s->how == OTHER_KEY && !(flags & DRT_PAYLOAD_REVOKED))
        record(s->id, flags, own, nonce, s->rec);
    else
        record(s->id, flags, key, nonce, s->rec);
    out->cpa = (struct drt_engine_blob){s->rec, REC_LEN};
    out->payload = (struct drt_engine_blob){data, len};
    return S_OK;
}

static HRESULT sign_validate(void *ctx, const uint8_t *key, const uint8_t nonce[16],
                             uint32_t flags, const struct drt_engine_proof *in,
                             uint8_t proven[32], struct drt_engine_blob *payload)
{
    struct signer *s = ctx;
    const uint8_t *r = in->cpa.p;
    if (!r || in->cpa.len != REC_LEN || r[0] != 'S' || r[1] != (uint8_t)flags ||
        memcmp(r + 34, nonce, 16) != 0 || r[50] != r[2] || (key && memcmp(r + 2, key, 32) != 0)) {
        s->rejected++;
        return DRT_E_INVALID_MESSAGE;
    }
    if (s->victim && memcmp(r + 2, s->victim, 32) == 0 && !s->have_caught) {
        memcpy(s->caught, r, REC_LEN);
        s->have_caught = true;
    }
    memcpy(proven, r + 2, 32);
    *payload = in->payload;
    return S_OK;
}

static void sign_done(void *ctx)
{
    (void)ctx;
}

/* --- the cloud ----------------------------------------------------------- */

struct outcome {
    uint32_t id;
    size_t node;
    bool done;
    HRESULT hr;
    size_t results, wrong; /* results for the victim's key: at its node, elsewhere */
};

struct world {
    struct cluster *c;
    struct signer honest[NODES]; /* one per node: its id is its keys' first byte */
    struct drt_engine_security ops[NODES];
    struct signer bad;
    struct drt_engine_security bad_ops;
    size_t attacker;
    uint8_t keys[NODES][32];
    struct outcome o[NODES];
    size_t no;
    size_t victim;
};

static struct world *W;

static void on_event(void *ctx, struct cluster *c, size_t node, const struct drt_engine_event *ev)
{
    (void)ctx;
    for (size_t i = 0; i < W->no; i++) {
        struct outcome *o = &W->o[i];
        if (o->node != node)
            continue;
        if (ev->type == ENGINE_EV_RESULT && ev->u.result.search_id == o->id &&
            memcmp(ev->u.result.key, W->keys[W->victim], 32) == 0) {
            if (drt_endpoint_equal(&ev->u.result.endpoint, cluster_endpoint(c, W->victim)))
                o->results++;
            else
                o->wrong++;
        }
        if (ev->type == ENGINE_EV_SEARCH_DONE && ev->u.done.search_id == o->id) {
            o->done = true;
            o->hr = ev->u.done.hr;
        }
    }
}

static void key_of(size_t i, uint8_t key[32])
{
    uint64_t z = i * 0x9e3779b97f4a7c15ull + 77;
    for (int b = 1; b < 32; b++) {
        z = (z ^ (z >> 29)) * 0xbf58476d1ce4e5b9ull;
        key[b] = (uint8_t)(z >> 56);
    }
    key[0] = (uint8_t)(i + 1); /* its signer */
}

/* The victim's key at the attacker's endpoint, in any honest node's cache. */
static size_t caches_with_victim_at_attacker(void)
{
    static struct drt_engine_route routes[2048];
    const struct drt_endpoint *bad = cluster_endpoint(W->c, W->attacker);
    size_t n = 0;
    for (size_t i = 0; i < NODES; i++) {
        size_t got = drt_engine_export_routes(cluster_engine(W->c, i), routes, 2048);
        for (size_t r = 0; r < got; r++)
            n += drt_endpoint_equal(&routes[r].ep, bad) &&
                 memcmp(routes[r].key, W->keys[W->victim], 32) == 0;
    }
    return n;
}

static void exact_params(struct drt_engine_search_params *p, const uint8_t key[32])
{
    memset(p, 0, sizeof(*p));
    memcpy(p->target, key, 32);
    memcpy(p->min, key, 32);
    memcpy(p->max, key, 32);
    p->max_results = 1;
    p->timeout_ms = 20000;
}

/* Every honest node but the victim searches the victim's key. */
static void everyone_searches(size_t *found, size_t *wrong)
{
    W->no = 0;
    for (size_t i = 0; i < NODES; i++) {
        if (i == W->victim)
            continue;
        struct drt_engine_search_params p;
        exact_params(&p, W->keys[W->victim]);
        struct outcome *o = &W->o[W->no++];
        memset(o, 0, sizeof(*o));
        o->node = i;
        assert_int_equal(cluster_search(W->c, i, &p, &o->id), S_OK);
        assert_int_equal(cluster_run_for(W->c, 20), SIM_OK);
    }
    assert_int_equal(cluster_run_for(W->c, 25000), SIM_OK);
    *found = *wrong = 0;
    for (size_t i = 0; i < W->no; i++) {
        assert_true(W->o[i].done);
        *found += W->o[i].results == 1 && W->o[i].hr == S_OK;
        *wrong += W->o[i].wrong;
    }
}

static void build(void)
{
    W = calloc(1, sizeof(*W));
    assert_non_null(W);
    struct cluster_config cfg;
    cluster_config_default(&cfg);
    cfg.sim.seed = 5;
    cfg.on_event = on_event;
    cfg.engine.max_cache_entries = 256;
    W->c = cluster_create(&cfg);
    assert_non_null(W->c);
    W->victim = 17;
    for (size_t i = 0; i < NODES; i++) {
        W->honest[i].id = (uint8_t)(i + 1);
        W->ops[i] = (struct drt_engine_security){
            .pack = sign_pack, .validate = sign_validate, .done = sign_done, .ctx = &W->honest[i]};
        assert_int_equal(cluster_add_node_with_security(W->c, &W->ops[i]), i);
        key_of(i, W->keys[i]);
        uint32_t reg;
        assert_int_equal(cluster_register(W->c, i, W->keys[i], (const uint8_t *)"genuine", 7, &reg),
                         S_OK);
        assert_int_equal(cluster_run_for(W->c, 100), SIM_OK);
    }
    assert_int_equal(cluster_run_for(W->c, 30000), SIM_OK);
    W->bad.id = ATTACKER_ID;
    W->bad.victim = W->keys[W->victim];
    W->bad_ops = (struct drt_engine_security){
        .pack = sign_pack, .validate = sign_validate, .done = sign_done, .ctx = &W->bad};
    W->attacker = cluster_add_node_with_security(W->c, &W->bad_ops);
    assert_int_equal(W->attacker, NODES);
    assert_int_equal(cluster_run_for(W->c, 5000), SIM_OK);
}

static uint64_t proofs_rejected(void)
{
    uint64_t n = 0;
    for (size_t i = 0; i < NODES; i++)
        n += W->honest[i].rejected;
    return n;
}

/* The attacker registers the victim's key the given way and publishes it;
 * after a while (maintenance, leaf pings, verifications) it unregisters it,
 * which floods a revocation signed by the attacker. */
static void attack(enum behaviour how)
{
    W->bad.how = how;
    uint32_t reg;
    assert_int_equal(cluster_register(W->c, W->attacker, W->keys[W->victim],
                                      (const uint8_t *)"forged!", 7, &reg),
                     S_OK);
    assert_int_equal(cluster_run_for(W->c, 40000), SIM_OK);
    assert_int_equal(caches_with_victim_at_attacker(), 0);
    assert_int_equal(cluster_unregister(W->c, W->attacker, reg), S_OK);
    assert_int_equal(cluster_run_for(W->c, 5000), SIM_OK);
}

static void test_an_attacker_gets_into_no_cache_and_no_result(void **state)
{
    (void)state;
    build();
    /* The attacker looks the victim up first: its validate keeps the
     * victim's genuine record for the replay. */
    struct drt_engine_search_params p;
    exact_params(&p, W->keys[W->victim]);
    uint32_t id;
    assert_int_equal(cluster_search(W->c, W->attacker, &p, &id), S_OK);
    assert_int_equal(cluster_run_for(W->c, 5000), SIM_OK);
    assert_true(W->bad.have_caught);

    uint64_t before = proofs_rejected();
    attack(OWN_SIGNATURE);
    uint64_t after_own = proofs_rejected();
    attack(REPLAY);
    uint64_t after_replay = proofs_rejected();
    attack(OTHER_KEY);
    uint64_t after_other = proofs_rejected();
    /* Each attack was tried on someone, and failed there. */
    assert_true(after_own > before);
    assert_true(after_replay > after_own);
    assert_true(after_other > after_replay);

    /* Garbage from the attacker's endpoint to every node. */
    struct sim *sim = cluster_sim(W->c);
    uint8_t junk[300];
    for (size_t round = 0; round < 20; round++) {
        for (size_t i = 0; i < NODES; i++) {
            size_t len = 1 + (size_t)sim_rand_below(sim, sizeof(junk));
            for (size_t b = 0; b < len; b++)
                junk[b] = (uint8_t)sim_rand_u64(sim);
            if (len > 2 && round % 2) { /* half of it looks like a DRT header */
                junk[0] = 0x00;
                junk[1] = 0x10;
            }
            assert_int_equal(sim_send(sim, cluster_endpoint(W->c, W->attacker),
                                      cluster_endpoint(W->c, i), junk, len),
                             SIM_OK);
        }
        assert_int_equal(cluster_run_for(W->c, 50), SIM_OK);
    }
    assert_int_equal(cluster_run_for(W->c, 5000), SIM_OK);

    assert_int_equal(caches_with_victim_at_attacker(), 0);
    size_t found, wrong;
    everyone_searches(&found, &wrong);
    printf("  attacker: proofs rejected %llu (own signature %llu, replay %llu, other key %llu); "
           "victim found by %zu/%d, results elsewhere %zu\n",
           (unsigned long long)(after_other - before), (unsigned long long)(after_own - before),
           (unsigned long long)(after_replay - after_own),
           (unsigned long long)(after_other - after_replay), found, NODES - 1, wrong);
    assert_int_equal(wrong, 0);
    assert_int_equal(found, NODES - 1);
    cluster_destroy(W->c);
    free(W);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_attacker_gets_into_no_cache_and_no_result),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
