/*
 * engine_keys.c - the keys this node registered: registration, update,
 * publication ([MC-DRT] 3.2.4.1: a walk towards the key carrying its route
 * entry, so the nodes around it put it in their leaf sets) and revocation
 * (a FLOOD with the key's revoke CPA through the leaf set). The revoke CPA
 * is the security provider's record with DRT_PAYLOAD_REVOKED, signed while
 * the key is still ours (engine_proof.c); receivers check it and ask us
 * before they forget the key (engine_revoke.c).
 */
#include <stdlib.h>
#include <string.h>

#include "core/engine_internal.h"

HRESULT drt_engine_register(struct drt_engine *e, const uint8_t key[32], const uint8_t *data,
                            size_t len, uint32_t *reg_id, uint64_t now)
{
    e->now = now;
    if (!key || !reg_id || (len && !data) || len > DRT_MAX_PAYLOAD_SIZE)
        return E_INVALIDARG;
    if (e->status == ENGINE_FAULTED)
        return DRT_E_FAULTED;
    if (engine_local_key(e, key))
        return DRT_E_DUPLICATE_KEY;
    if (e->nkeys >= e->cfg.max_keys)
        return E_OUTOFMEMORY;
    struct local_key *keys = realloc(e->keys, (e->nkeys + 1) * sizeof(*keys));
    if (!keys)
        return E_OUTOFMEMORY;
    e->keys = keys;
    struct local_key *k = &keys[e->nkeys];
    memset(k, 0, sizeof(*k));
    if (len) {
        k->data = malloc(len);
        if (!k->data)
            return E_OUTOFMEMORY;
        memcpy(k->data, data, len);
    }
    k->len = len;
    memcpy(k->key, key, 32);
    k->reg_id = e->next_reg_id++;
    e->nkeys++;
    engine_cache_add_local(e, k);
    *reg_id = k->reg_id;
    /* In ALONE and NO_NETWORK the key waits for ACTIVE (drt-api §7.4). */
    if (e->status == ENGINE_ACTIVE)
        engine_publish(e, k);
    else
        engine_alone_with_new_key(e);
    engine_leafset_sync(e);
    engine_run_deferred(e);
    return S_OK;
}

HRESULT drt_engine_update(struct drt_engine *e, uint32_t reg_id, const uint8_t *data, size_t len,
                          uint64_t now)
{
    e->now = now;
    struct local_key *k = engine_local_reg(e, reg_id);
    if (!k)
        return E_HANDLE;
    if ((len && !data) || len > DRT_MAX_PAYLOAD_SIZE)
        return E_INVALIDARG;
    if (e->status == ENGINE_FAULTED)
        return DRT_E_FAULTED;
    uint8_t *copy = NULL;
    if (len) {
        copy = malloc(len);
        if (!copy)
            return E_OUTOFMEMORY;
        memcpy(copy, data, len);
    }
    free(k->data);
    k->data = copy;
    k->len = len;
    /* Searches fetch app data from the owner at the end of every search,
     * so there is nothing to push: the next search sees the new data. */
    return S_OK;
}

HRESULT drt_engine_unregister(struct drt_engine *e, uint32_t reg_id, uint64_t now)
{
    e->now = now;
    struct local_key *k = engine_local_reg(e, reg_id);
    if (!k)
        return E_HANDLE;
    uint8_t key[32];
    memcpy(key, k->key, 32);
    if (e->status != ENGINE_FAULTED && e->network_up)
        engine_revoke(e, k);
    /* Report the leaf set going away (the cache reports nothing for a key
     * that leaves), then drop the key. */
    struct engine_peer leaf[2 * ENGINE_LEAF_SIDE];
    size_t nl = engine_cache_leaf(e, k, leaf, 2 * ENGINE_LEAF_SIDE);
    for (size_t i = 0; i < nl; i++) {
        struct drt_engine_event ev = {.type = ENGINE_EV_LEAFSET};
        ev.u.leafset.change = DRT_LEAFSET_KEY_DELETED;
        memcpy(ev.u.leafset.local_key, key, 32);
        memcpy(ev.u.leafset.remote_key, leaf[i].key, 32);
        ev.u.leafset.remote = leaf[i].ep;
        engine_emit(e, &ev, NULL, 0);
    }
    free(k->data);
    size_t i = (size_t)(k - e->keys);
    e->keys[i] = e->keys[--e->nkeys];
    engine_cache_remove_local(e, key);
    /* A publication walk for this key has nothing left to publish. */
    for (size_t s = 0; s < e->nsearches; s++)
        if (e->searches[s]->publish && e->searches[s]->publish_reg == reg_id)
            e->searches[s]->phase = PHASE_DONE;
    engine_leafset_sync(e);
    engine_run_deferred(e);
    return S_OK;
}

void drt_engine_unregister_all(struct drt_engine *e, uint64_t now)
{
    while (e->nkeys > 0)
        drt_engine_unregister(e, e->keys[0].reg_id, now);
}

size_t drt_engine_key_count(const struct drt_engine *e)
{
    return e->nkeys;
}

void engine_keys_free(struct drt_engine *e)
{
    /* Revocations waiting for confirmation die with the keys' engine. */
    engine_revoke_checks_free(e);
    for (size_t i = 0; i < e->nkeys; i++)
        free(e->keys[i].data);
    free(e->keys);
    e->keys = NULL;
    e->nkeys = 0;
}

void engine_publish(struct drt_engine *e, struct local_key *k)
{
    struct drt_engine_search_params p;
    memset(&p, 0, sizeof(p));
    memcpy(p.target, k->key, 32);
    memcpy(p.min, k->key, 32);
    memcpy(p.max, k->key, 32);
    p.max_results = 1;
    struct search *s = engine_search_new(e, &p, true);
    if (!s)
        return; /* busy: maintenance publishes again later */
    s->publish_reg = k->reg_id;
    /* A key's first walk may widen like a search that runs dry: it is the
     * one that makes a new key findable, and a lookup may already be on
     * its way (PROTOCOL.md choice 13). Later walks only refresh. */
    s->widen_publish = k->publications == 0;
    if (k->publications < UINT8_MAX)
        k->publications++;
    k->published = true;
    k->leaf_lost = false;
    engine_search_pump(e, s);
}

void engine_publish_all(struct drt_engine *e)
{
    for (size_t i = 0; i < e->nkeys; i++)
        engine_publish(e, &e->keys[i]);
}

static void add_flooded(struct wire_endpoints *list, const struct drt_endpoint *ep)
{
    for (size_t i = 0; i < list->count; i++)
        if (list->e[i].port == ep->port && memcmp(list->e[i].addr, ep->addr, 16) == 0)
            return;
    if (list->count >= WIRE_ENDPOINTS_MAX)
        return;
    list->e[list->count].port = ep->port;
    memcpy(list->e[list->count].addr, ep->addr, 16);
    list->count++;
}

/* Sends the revocation to every leaf-set neighbour of every local key that
 * is not already on the flooded list, and adds them to it. */
static void flood_revocation(struct drt_engine *e, const uint8_t key[32],
                             const struct wire_blob *revoke, struct wire_endpoints *flooded)
{
    struct engine_peer to[64];
    size_t n = 0;
    for (size_t k = 0; k < e->nkeys && n + 2 * ENGINE_LEAF_SIDE <= 64; k++)
        n += engine_cache_leaf(e, &e->keys[k], to + n, 2 * ENGINE_LEAF_SIDE);
    /* Neighbours of the revoked key itself, for nodes that route for it. */
    n += engine_cache_closest(e, key, to + n, 64 - n < 6 ? 64 - n : 6);
    struct wire_endpoints before = *flooded;
    for (size_t i = 0; i < n; i++)
        add_flooded(flooded, &to[i].ep);
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t j = 0; j < before.count && !seen; j++)
            seen = before.e[j].port == to[i].ep.port &&
                   memcmp(before.e[j].addr, to[i].ep.addr, 16) == 0;
        bool dup = false;
        for (size_t j = 0; j < i && !dup; j++)
            dup = drt_endpoint_equal(&to[j].ep, &to[i].ep);
        if (!seen && !dup && !drt_endpoint_equal(&to[i].ep, &e->cfg.self))
            engine_send_flood(e, &to[i].ep, NULL, NULL, revoke, flooded);
    }
}

void engine_revoke(struct drt_engine *e, const struct local_key *k)
{
    struct wire_endpoints flooded;
    memset(&flooded, 0, sizeof(flooded));
    add_flooded(&flooded, &e->cfg.self);
    struct wire_blob revoke;
    /* A provider that cannot sign the revocation (its certificate gone or
     * expired) leaves the key to age out: the nodes around it find it gone
     * at their next check (maintenance pings, searches). */
    if (engine_pack_revocation(e, k, &revoke))
        flood_revocation(e, k->key, &revoke, &flooded);
    engine_proof_done(e);
}

void engine_revoke_forward(struct drt_engine *e, const uint8_t key[32],
                           const struct drt_endpoint *owner, const struct wire_blob *cpa,
                           const struct wire_endpoints *flooded_in)
{
    struct wire_endpoints flooded = *flooded_in;
    add_flooded(&flooded, owner);
    add_flooded(&flooded, &e->cfg.self);
    flood_revocation(e, key, cpa, &flooded);
}
