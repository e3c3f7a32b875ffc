/*
 * engine_serve.c - answering other nodes: SOLICIT -> ADVERTISE, REQUEST ->
 * FLOODs + ACK, FLOOD (route entries and revocations), INQUIRE ->
 * AUTHORITY, LOOKUP -> AUTHORITY naming the best next hop; and before
 * any of that, whether a request is answered at all (the rate limits).
 */
#include <string.h>

#include "core/engine_internal.h"
#include "util/key256.h"

static void peer_from_entry(const struct wire_route_entry *re, struct engine_peer *p)
{
    memcpy(p->key, re->key, 32);
    memcpy(p->ep.addr, re->addrs[0], 16);
    p->ep.port = re->port;
}

bool engine_admit_request(struct drt_engine *e, const struct drt_endpoint *from)
{
    switch (ratelimit_check(e->rate, from, e->now)) {
    case RATELIMIT_DENY:
        e->stats.dropped_rate_source++;
        return false;
    case RATELIMIT_ALLOW_PROVEN:
        /* Peers that answered us are the cloud: a flood from strangers,
         * however many, must not use up their share. */
        break;
    case RATELIMIT_ALLOW:
        if (!token_bucket_take(&e->rate_global, e->cfg.rate_global, e->cfg.burst_global,
                               e->now)) {
            e->stats.dropped_rate_global++;
            return false;
        }
        break;
    }
    e->stats.requests_admitted++;
    return true;
}

void engine_learn(struct drt_engine *e, const struct wire_route_entry *re)
{
    struct engine_peer p;
    peer_from_entry(re, &p);
    if (re->version_major != e->cfg.version_major || re->version_minor != e->cfg.version_minor ||
        drt_endpoint_equal(&p.ep, &e->cfg.self) || engine_local_key(e, p.key))
        return;
    /* An entry verified before is taken on trust, unless we are looking
     * for the cloud: after an outage what we verified may be gone, and
     * only a fresh answer makes us ACTIVE again. */
    bool known = engine_cache_is_verified(e, p.key, &p.ep);
    if (known && e->status == ENGINE_ACTIVE)
        return;
    if (known) {
        if (!pending_has(&e->pending, PENDING_INQUIRE_VERIFY, p.key))
            engine_send_inquire(e, &p, PENDING_INQUIRE_VERIFY, WIRE_INQUIRE_A, 0);
        return;
    }
    engine_cache_offer(e, &p, false);
    /* Leaf-set candidates are checked at once: they decide who routes for
     * our keys. Others wait for maintenance or for a search to reach them. */
    if (engine_cache_would_be_leaf(e, p.key) || !engine_cache_has_verified(e))
        engine_send_inquire(e, &p, PENDING_INQUIRE_VERIFY, WIRE_INQUIRE_A, 0);
}

void engine_on_solicit(struct drt_engine *e, const struct drt_endpoint *from,
                       const struct wire_msg *m)
{
    if (m->u.solicit.has_route)
        engine_learn(e, &m->u.solicit.route);
    /* Five keys spread around the ring; our own when the cache is thin. */
    uint8_t keys[8 * 32];
    size_t n = 0;
    struct engine_peer spread[5];
    size_t ns = engine_cache_spread(e, spread, 5);
    for (size_t i = 0; i < ns; i++)
        memcpy(keys + 32 * n++, spread[i].key, 32);
    for (size_t i = 0; i < e->nkeys && n < 8 && (ns < 5 || i == 0); i++)
        memcpy(keys + 32 * n++, e->keys[i].key, 32);
    struct wire_msg a;
    engine_header(e, &a, WIRE_ADVERTISE, engine_random32(e));
    a.u.advertise.acked_id = m->hdr.message_id;
    a.u.advertise.keys.keys = keys;
    a.u.advertise.keys.count = (uint16_t)n;
    memcpy(a.u.advertise.hashed_nonce, m->u.solicit.hashed_nonce, WIRE_HASHED_NONCE_SIZE);
    engine_send_msg(e, from, &a);
}

static void serve_request(struct drt_engine *e, const struct drt_endpoint *from,
                          uint32_t msg_id, const struct wire_request *q)
{
    /* The FLOODs go out before the ACK (docs/PROTOCOL.md, choice 9): a
     * joining node takes the ACK as the end of the answer. */
    for (uint16_t i = 0; i < q->keys.count && i < 32; i++) {
        const uint8_t *key = q->keys.keys + 32u * i;
        struct wire_route_entry re;
        struct engine_peer p;
        if (engine_local_key(e, key)) {
            engine_route_entry(e, key, &re);
        } else if (engine_cache_find(e, key, &p)) {
            engine_route_entry(e, key, &re);
            memcpy(re.addrs[0], p.ep.addr, 16);
            re.port = p.ep.port;
        } else {
            continue;
        }
        engine_send_flood(e, from, NULL, &re, NULL, NULL);
    }
    struct wire_msg ack;
    engine_header(e, &ack, WIRE_ACK, engine_random32(e));
    ack.u.ack.acked_id = msg_id;
    engine_send_msg(e, from, &ack);
}

void engine_on_request(struct drt_engine *e, const struct drt_endpoint *from,
                       const struct wire_msg *m, const uint8_t *hdr)
{
    const struct wire_request *q = &m->u.request;
    if (!q->fragment.p) {
        serve_request(e, from, m->hdr.message_id, q);
        return;
    }
    /* A membership REQUEST too long for one datagram: its body is
     * reassembled (by sender and MessageID, under the caps of
     * reassembly.h), then decoded and its signature checked. */
    struct reasm_key rk;
    const uint8_t *buf = NULL;
    size_t len = 0;
    if (!reasm_key_make(&rk, from, sizeof(*from), m->hdr.message_id) ||
        reasm_add(e->reasm, &rk, q->split_size, q->split_offset, q->fragment.p, q->fragment.len,
                  e->now, &buf, &len) != REASM_COMPLETE)
        return;
    struct wire_request whole;
    memset(&whole, 0, sizeof(whole));
    if (FAILED(wire_decode_request_body(buf, len, &whole)))
        e->stats.dropped_malformed++;
    else if (!engine_auth_check(e, hdr, buf, len, &whole.auth))
        e->stats.dropped_unauthenticated++;
    else
        serve_request(e, from, m->hdr.message_id, &whole);
    reasm_release(e->reasm);
}

void engine_on_flood(struct drt_engine *e, const struct drt_endpoint *from,
                     const struct wire_msg *m)
{
    const struct wire_flood *f = &m->u.flood;
    if (!(f->flags & WIRE_FLOOD_D)) {
        struct wire_msg ack;
        engine_header(e, &ack, WIRE_ACK, engine_random32(e));
        ack.u.ack.acked_id = m->hdr.message_id;
        if (!key256_is_zero((const drt_key *)f->validate_key) &&
            !engine_local_key(e, f->validate_key)) {
            ack.u.ack.has_flags = true;
            ack.u.ack.flags = WIRE_ACK_N;
        }
        engine_send_msg(e, from, &ack);
    }
    /* A revocation ([MC-DRT] 3.1.5.4) is checked, and under a security
     * provider confirmed, before any key is forgotten (engine_revoke.c). */
    if (f->revoke_cpa.p) {
        engine_on_revocation(e, from, f);
        return;
    }
    if (f->has_route)
        engine_learn(e, &f->route);
}

void engine_on_inquire(struct drt_engine *e, const struct drt_endpoint *from,
                       const struct wire_msg *m)
{
    const struct wire_inquire *q = &m->u.inquire;
    struct wire_authority_buffer ab;
    memset(&ab, 0, sizeof(ab));
    struct local_key *k = engine_local_key(e, q->validate_key);
    static const uint8_t no_nonce[16];
    /* A key we hold but cannot prove (the provider refused) is answered as
     * one we do not hold. */
    if (!k || !engine_pack(e, k, q->has_nonce ? q->nonce : no_nonce, q->flags,
                           &q->auth.credential, &ab)) {
        memset(&ab, 0, sizeof(ab));
        ab.flags = WIRE_AUTHORITY_N;
    } else {
        ab.has_route = true;
        engine_route_entry(e, k->key, &ab.route);
    }
    engine_send_authority(e, from, m->hdr.message_id, &ab);
    engine_proof_done(e);
}

void engine_on_lookup(struct drt_engine *e, const struct drt_endpoint *from,
                      const struct wire_msg *m)
{
    const struct wire_lookup *l = &m->u.lookup;
    if (l->has_route)
        engine_learn(e, &l->route);
    struct wire_authority_buffer ab;
    memset(&ab, 0, sizeof(ab));
    const drt_key *target = (const drt_key *)l->target_key;
    const drt_key *validate = (const drt_key *)l->validate_key;
    if (!engine_local_key(e, l->validate_key)) {
        ab.flags = WIRE_AUTHORITY_N;
        engine_send_authority(e, from, m->hdr.message_id, &ab);
        return;
    }
    /* The best next hop: the closest key we know to the target, our own
     * other keys included, skipping endpoints the resolver already visited
     * (but not ourselves: our other keys may be closer than the one it
     * asked). Without A only a key strictly closer than the one asked
     * helps; with A (the resolver collects several results) the closest
     * unvisited one does. */
    struct engine_peer best;
    bool have = false;
    for (size_t i = 0; i < e->nkeys; i++) {
        const drt_key *k = (const drt_key *)e->keys[i].key;
        if (memcmp(k, validate, 32) == 0)
            continue;
        if (!have || key256_closer(target, k, (const drt_key *)best.key) < 0) {
            memcpy(best.key, k, 32);
            best.ep = e->cfg.self;
            have = true;
        }
    }
    /* The target itself, when we know it, is the answer even if its node
     * is on the path: the path names endpoints, and a node the resolver
     * knows under one key may hold the target as another. */
    struct engine_peer near;
    bool exact = engine_cache_find(e, l->target_key, &near) &&
                 !drt_endpoint_equal(&near.ep, from);
    const uint8_t *beat = (l->flags & WIRE_LOOKUP_A) ? NULL : l->validate_key;
    if ((exact || engine_cache_best_unvisited(e, l->target_key, &l->path, from, beat, &near)) &&
        (!have || key256_closer(target, (const drt_key *)near.key, (const drt_key *)best.key) < 0)) {
        best = near;
        have = true;
    }
    if (have && ((l->flags & WIRE_LOOKUP_A) ||
                 key256_closer(target, (const drt_key *)best.key, validate) < 0)) {
        ab.has_route = true;
        engine_route_entry(e, best.key, &ab.route);
        memcpy(ab.route.addrs[0], best.ep.addr, 16);
        ab.route.port = best.ep.port;
    }
    if (!engine_local_key(e, l->target_key) && engine_cache_would_be_leaf(e, l->target_key) &&
        !engine_cache_find(e, l->target_key, &best))
        ab.flags |= WIRE_AUTHORITY_L;
    engine_send_authority(e, from, m->hdr.message_id, &ab);
}
