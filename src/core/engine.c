/*
 * engine.c - the engine's life cycle, the dispatch of datagrams, timers,
 * the status machine, and the output queues (engine.h).
 *
 * Status machine ([MC-DRT] 3.1.4, drt-api §7.2):
 *   BOOTSTRAPPING --first verified peer--> ACTIVE
 *   BOOTSTRAPPING --every seed silent---> ALONE (re-bootstraps after 1 s,
 *                                         doubling up to bootstrap_retry_ms)
 *   ALONE --a peer verified (ours or one that found us)--> ACTIVE
 *   ACTIVE --no verified peer left after maintenance--> ALONE
 *   any --network down--> NO_NETWORK --network up--> re-bootstrap
 *   any --fault--> FAULTED (terminal)
 */
#include <stdlib.h>
#include <string.h>

#include "core/engine_internal.h"

#define DEFAULT_CACHE 1024u
#define DEFAULT_PARALLELISM 3u
#define DEFAULT_KEYS 32u
#define DEFAULT_MAINTENANCE_MS 15000u
#define DEFAULT_BOOTSTRAP_RETRY_MS 30000u
#define MAX_PENDING 512u
/* Far above what one engine call produces (at most a status change, 64
 * leaf-set changes and a few results per search): only an owner that
 * stops draining reaches it. */
#define DEFAULT_MAX_EVENTS 1024u
/* Request rates: a busy peer searching through us sends a few requests per
 * search; a peer with many keys sends bursts of FLOODs while leaf sets
 * converge (16 nodes with 31 keys each in `drt sim`: drops at 300/s, none
 * at 1000/s; a dropped INQUIRE times out and costs the sender its view of
 * us). docs/RELIABILITY.md gives the figures. */
#define DEFAULT_RATE_SOURCES 256u
#define DEFAULT_RATE_PER_SOURCE 1000u
#define DEFAULT_BURST_PER_SOURCE 2000u
#define DEFAULT_RATE_GLOBAL 2000u
#define DEFAULT_BURST_GLOBAL 4000u

uint32_t engine_random32(struct drt_engine *e)
{
    return (uint32_t)(e->cfg.random(e->cfg.random_ctx) >> 16);
}

void engine_random_bytes(struct drt_engine *e, uint8_t *out, size_t n)
{
    while (n) {
        uint64_t r = e->cfg.random(e->cfg.random_ctx);
        size_t k = n < 8 ? n : 8;
        memcpy(out, &r, k);
        out += k;
        n -= k;
    }
}

static void apply_defaults(struct drt_engine_config *c)
{
    if (!c->max_cache_entries)
        c->max_cache_entries = DEFAULT_CACHE;
    if (!c->parallelism)
        c->parallelism = DEFAULT_PARALLELISM;
    if (!c->max_searches)
        c->max_searches = DRT_ENGINE_DEFAULT_SEARCHES;
    if (!c->max_keys)
        c->max_keys = DEFAULT_KEYS;
    if (!c->maintenance_ms)
        c->maintenance_ms = DEFAULT_MAINTENANCE_MS;
    if (!c->bootstrap_retry_ms)
        c->bootstrap_retry_ms = DEFAULT_BOOTSTRAP_RETRY_MS;
    if (!c->max_events)
        c->max_events = DEFAULT_MAX_EVENTS;
    if (!c->rate_sources)
        c->rate_sources = DEFAULT_RATE_SOURCES;
    if (!c->rate_per_source)
        c->rate_per_source = DEFAULT_RATE_PER_SOURCE;
    if (!c->burst_per_source)
        c->burst_per_source = DEFAULT_BURST_PER_SOURCE;
    if (!c->rate_global)
        c->rate_global = DEFAULT_RATE_GLOBAL;
    if (!c->burst_global)
        c->burst_global = DEFAULT_BURST_GLOBAL;
    /* Reassembly takes any value, brought into the range reasm_create
     * accepts: at least one buffer of the largest legal size. */
    if (!c->reasm_buffers)
        c->reasm_buffers = REASM_DEFAULT_MAX_BUFFERS;
    if (c->reasm_buffers > REASM_MAX_BUFFERS_LIMIT)
        c->reasm_buffers = REASM_MAX_BUFFERS_LIMIT;
    if (!c->reasm_bytes)
        c->reasm_bytes = REASM_DEFAULT_MAX_BYTES;
    if (c->reasm_bytes < REASM_MAX_BUFFER_SIZE)
        c->reasm_bytes = REASM_MAX_BUFFER_SIZE;
}

/* The higher modes need the security callbacks they use. */
static bool mode_supported(const struct drt_engine_config *cfg)
{
    const struct drt_engine_security *s = cfg->security;
    switch (cfg->mode) {
    case DRT_SECURE_RESOLVE:
        return true;
    case DRT_SECURE_MEMBERSHIP:
        return s && s->credential && s->sign && s->verify;
    case DRT_SECURE_CONFIDENTIALPAYLOAD:
        return s && s->credential && s->sign && s->verify && s->encrypt && s->decrypt;
    default:
        return false;
    }
}

/* The maintenance period, drawn each time from 3/4 to 5/4 of the
 * configured one: nodes started together (a process hosting many, a
 * restart of a whole rack) would otherwise ping, publish and verify in
 * step for ever, every round a burst that their shared links and loop
 * must absorb at once. The mean stays the configured period. */
static uint64_t maintenance_interval(struct drt_engine *e)
{
    uint64_t period = e->cfg.maintenance_ms;
    return period - period / 4 + engine_random32(e) % (period / 2 + 1);
}

struct drt_engine_scratch *drt_engine_scratch_create(void)
{
    return malloc(sizeof(struct drt_engine_scratch));
}

void drt_engine_scratch_destroy(struct drt_engine_scratch *s)
{
    free(s);
}

struct drt_engine *drt_engine_create(const struct drt_engine_config *cfg, uint64_t now)
{
    if (!cfg || !cfg->random || cfg->self.port < WIRE_MIN_PORT || !mode_supported(cfg))
        return NULL;
    struct drt_engine *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->cfg = *cfg;
    apply_defaults(&e->cfg);
    e->status = ENGINE_BOOTSTRAPPING;
    e->network_up = true;
    e->now = now;
    e->next_reg_id = 1;
    e->next_search_id = 1;
    e->next_bootstrap = UINT64_MAX;
    e->next_maintenance = UINT64_MAX; /* set below, once random() can run */
    e->srtt_ms = 0;
    pending_init(&e->pending, MAX_PENDING);
    queue_init(&e->out);
    queue_init(&e->events);
    struct reasm_config reasm_cfg;
    reasm_config_default(&reasm_cfg);
    reasm_cfg.max_buffers = e->cfg.reasm_buffers;
    reasm_cfg.max_bytes = e->cfg.reasm_bytes;
    e->reasm = reasm_create(&reasm_cfg);
    e->buf = cfg->scratch;
    if (!e->buf)
        e->buf = e->own_buf = drt_engine_scratch_create();
    struct ratelimit_config rc = {e->cfg.rate_sources, e->cfg.rate_per_source,
                                  e->cfg.burst_per_source, e->cfg.random(e->cfg.random_ctx)};
    e->rate = ratelimit_create(&rc);
    if (!e->reasm || !e->buf || !e->rate || !engine_cache_create(e)) {
        drt_engine_destroy(e);
        return NULL;
    }
    e->next_maintenance = now + maintenance_interval(e);
    return e;
}

void drt_engine_destroy(struct drt_engine *e)
{
    if (!e)
        return;
    while (e->nsearches)
        engine_search_free(e, e->searches[0]);
    free(e->searches);
    engine_keys_free(e);
    engine_cache_destroy(e);
    pending_free(&e->pending);
    reasm_destroy(e->reasm);
    ratelimit_destroy(e->rate);
    queue_clear(&e->out);
    queue_clear(&e->events);
    free(e->seeds);
    drt_engine_scratch_destroy(e->own_buf);
    free(e->auth);
    free(e);
}

enum drt_engine_status drt_engine_status(const struct drt_engine *e)
{
    return e->status;
}

const struct drt_endpoint *drt_engine_self(const struct drt_engine *e)
{
    return &e->cfg.self;
}

void engine_emit(struct drt_engine *e, const struct drt_engine_event *ev, const uint8_t *data,
                 size_t len)
{
    /* An owner that stops draining must not grow us without bound: the
     * oldest event goes (newer status and results matter more), counted.
     * An event that cannot be queued for lack of memory is lost the same
     * way; the engine itself is fine. */
    if (e->events.count >= e->cfg.max_events && queue_drop_oldest(&e->events))
        e->stats.events_dropped++;
    if (!queue_push(&e->events, ev, sizeof(*ev), data, len))
        e->stats.events_dropped++;
}

/* While ALONE with seeds: try again soon (the others may just be starting),
 * then less and less often. */
static void schedule_rebootstrap(struct drt_engine *e)
{
    if (!e->nseeds) {
        e->next_bootstrap = UINT64_MAX;
        return;
    }
    if (e->bootstrap_backoff_ms == 0)
        e->bootstrap_backoff_ms = 1000;
    else if (e->bootstrap_backoff_ms < e->cfg.bootstrap_retry_ms)
        e->bootstrap_backoff_ms *= 2;
    if (e->bootstrap_backoff_ms > e->cfg.bootstrap_retry_ms)
        e->bootstrap_backoff_ms = e->cfg.bootstrap_retry_ms;
    e->next_bootstrap = e->now + e->bootstrap_backoff_ms;
}

void engine_alone_with_new_key(struct drt_engine *e)
{
    /* A node that just registered its first key has something to announce:
     * SOLICIT the seeds again now, carrying the key's route entry. */
    if (e->status == ENGINE_ALONE && e->nseeds && e->network_up)
        e->next_bootstrap = e->now;
}

void engine_set_status(struct drt_engine *e, enum drt_engine_status s, size_t tried)
{
    if (e->status == s || e->status == ENGINE_FAULTED)
        return;
    enum drt_engine_status old = e->status;
    e->status = s;
    struct drt_engine_event ev = {.type = ENGINE_EV_STATUS};
    ev.u.status.status = s;
    ev.u.status.bootstrap_tried = tried;
    engine_emit(e, &ev, NULL, 0);
    if (s == ENGINE_ACTIVE) {
        e->ever_active = true;
        e->bootstrap_backoff_ms = 0;
        e->next_bootstrap = UINT64_MAX;
        e->publish_due = true;
    } else if (s == ENGINE_ALONE) {
        schedule_rebootstrap(e);
    }
    (void)old;
}

/* A peer answered one of our requests: the node is part of a cloud. */
void engine_became_reachable(struct drt_engine *e)
{
    if (e->network_up && (e->status == ENGINE_BOOTSTRAPPING || e->status == ENGINE_ALONE))
        engine_set_status(e, ENGINE_ACTIVE, 0);
}

void engine_rtt_sample(struct drt_engine *e, uint64_t rtt)
{
    uint32_t r = rtt > 60000 ? 60000 : (uint32_t)rtt;
    if (e->srtt_ms == 0) {
        e->srtt_ms = r ? r : 1;
        e->rttvar_ms = r / 2;
        return;
    }
    /* RFC 6298 smoothing: rttvar 1/4, srtt 1/8. */
    uint32_t diff = e->srtt_ms > r ? e->srtt_ms - r : r - e->srtt_ms;
    e->rttvar_ms = (3 * e->rttvar_ms + diff) / 4;
    e->srtt_ms = (7 * e->srtt_ms + r) / 8;
    if (e->srtt_ms == 0)
        e->srtt_ms = 1;
}

uint32_t engine_rto(const struct drt_engine *e)
{
    if (e->srtt_ms == 0)
        return ENGINE_RTO_MAX_MS;
    uint32_t rto = e->srtt_ms + 4 * e->rttvar_ms;
    if (rto < ENGINE_RTO_MIN_MS)
        rto = ENGINE_RTO_MIN_MS;
    return rto > ENGINE_RTO_MAX_MS ? ENGINE_RTO_MAX_MS : rto;
}

struct local_key *engine_local_key(struct drt_engine *e, const uint8_t key[32])
{
    for (size_t i = 0; i < e->nkeys; i++)
        if (memcmp(e->keys[i].key, key, 32) == 0)
            return &e->keys[i];
    return NULL;
}

struct local_key *engine_local_reg(struct drt_engine *e, uint32_t reg_id)
{
    for (size_t i = 0; i < e->nkeys; i++)
        if (e->keys[i].reg_id == reg_id)
            return &e->keys[i];
    return NULL;
}

/* --- bootstrap ----------------------------------------------------------- */

static void solicit(struct drt_engine *e, const struct drt_endpoint *to)
{
    if (drt_endpoint_equal(to, &e->cfg.self))
        return;
    struct wire_msg m;
    engine_header(e, &m, WIRE_SOLICIT, 0);
    uint8_t nonce[16];
    engine_random_bytes(e, nonce, sizeof(nonce));
    wire_hash_nonce(nonce, m.u.solicit.hashed_nonce);
    if (e->nkeys) {
        m.u.solicit.has_route = true;
        engine_route_entry(e, e->keys[0].key, &m.u.solicit.route);
    }
    engine_request(e, &m, to, PENDING_SOLICIT, NULL, 0, nonce);
}

static void send_solicits(struct drt_engine *e)
{
    e->bootstrap_running = true;
    for (size_t i = 0; i < e->nseeds; i++)
        solicit(e, &e->seeds[i]);
}

void drt_engine_bootstrap(struct drt_engine *e, const struct drt_endpoint *seeds, size_t n,
                          uint64_t now)
{
    e->now = now;
    if (e->status == ENGINE_FAULTED)
        return;
    /* Copy before freeing: seeds may be e->seeds itself (network back). */
    struct drt_endpoint *copy = n && seeds ? malloc(n * sizeof(*seeds)) : NULL;
    if (copy)
        memcpy(copy, seeds, n * sizeof(*seeds));
    free(e->seeds);
    e->seeds = copy;
    e->nseeds = copy ? n : 0;
    if (!e->network_up)
        return;
    send_solicits(e);
    if (pending_count_kind(&e->pending, PENDING_SOLICIT) == 0) {
        e->bootstrap_running = false;
        engine_set_status(e, engine_cache_has_verified(e) ? ENGINE_ACTIVE : ENGINE_ALONE, n);
    }
    engine_run_deferred(e);
}

/* Called whenever a request of the bootstrap is answered or expires. The
 * bootstrap is over when no SOLICIT, REQUEST or verifying INQUIRE is left:
 * a seed that ADVERTISEd is followed by our REQUEST, its FLOODs and our
 * INQUIREs to what they name, and only their answers make us ACTIVE; ALONE
 * before they are in would be a false alarm. */
void engine_bootstrap_check_done(struct drt_engine *e)
{
    if (!e->bootstrap_running || pending_count_kind(&e->pending, PENDING_SOLICIT) != 0 ||
        pending_count_kind(&e->pending, PENDING_REQUEST) != 0 ||
        pending_count_kind(&e->pending, PENDING_INQUIRE_VERIFY) != 0)
        return;
    e->bootstrap_running = false;
    /* ACTIVE came with the first verified peer, and the keys were published
     * then, through the one or two peers known at that moment: the walk
     * often stalls far from the keys' places on the ring. Now that every
     * entry the bootstrap brought is verified, publish again. */
    if (e->status == ENGINE_ACTIVE)
        e->publish_due = true;
    if (e->status == ENGINE_BOOTSTRAPPING ||
        (e->status == ENGINE_ALONE && !engine_cache_has_verified(e)))
        engine_set_status(e, ENGINE_ALONE, e->nseeds);
    if (e->status == ENGINE_ALONE)
        schedule_rebootstrap(e);
}

void drt_engine_set_network(struct drt_engine *e, bool up, uint64_t now)
{
    e->now = now;
    if (e->status == ENGINE_FAULTED || e->network_up == up)
        return;
    e->network_up = up;
    if (!up) {
        engine_set_status(e, ENGINE_NO_NETWORK, 0);
        return;
    }
    e->status = ENGINE_BOOTSTRAPPING; /* silently: the next event says where we landed */
    drt_engine_bootstrap(e, e->seeds, e->nseeds, now);
}

void drt_engine_fault(struct drt_engine *e, uint64_t now)
{
    e->now = now;
    engine_set_status(e, ENGINE_FAULTED, 0);
}

/* --- answers to our requests --------------------------------------------- */

static void on_advertise(struct drt_engine *e, const struct drt_endpoint *from,
                         const struct wire_msg *m)
{
    struct pending *p = pending_match(&e->pending, m->u.advertise.acked_id, from);
    if (!p || p->kind != PENDING_SOLICIT) {
        e->stats.dropped_unexpected++;
        return;
    }
    uint8_t hn[WIRE_HASHED_NONCE_SIZE];
    wire_hash_nonce(p->nonce, hn);
    if (memcmp(hn, m->u.advertise.hashed_nonce, sizeof(hn)) != 0) {
        e->stats.dropped_unexpected++;
        return;
    }
    ratelimit_mark_proven(e->rate, from);
    uint8_t nonce[16];
    memcpy(nonce, p->nonce, sizeof(nonce));
    pending_remove(&e->pending, p);
    if (m->u.advertise.keys.count > 0) {
        /* Ask for the route entries of every advertised key. */
        struct wire_msg q;
        engine_header(e, &q, WIRE_REQUEST, 0);
        memcpy(q.u.request.nonce, nonce, sizeof(nonce));
        q.u.request.keys = m->u.advertise.keys;
        if (q.u.request.keys.count > 32)
            q.u.request.keys.count = 32;
        engine_request(e, &q, from, PENDING_REQUEST, NULL, 0, nonce);
    }
    engine_bootstrap_check_done(e);
}

static void on_ack(struct drt_engine *e, const struct drt_endpoint *from, const struct wire_msg *m)
{
    struct pending *p = pending_match(&e->pending, m->u.ack.acked_id, from);
    if (!p) {
        e->stats.dropped_unexpected++;
        return;
    }
    ratelimit_mark_proven(e->rate, from);
    if (p->kind == PENDING_REQUEST) {
        pending_remove(&e->pending, p);
        engine_bootstrap_check_done(e);
    }
}

static void on_inquire_answer(struct drt_engine *e, struct pending *p,
                              const struct wire_authority_buffer *ab)
{
    struct engine_peer peer;
    memcpy(peer.key, p->key, 32);
    peer.ep = p->peer;
    if (ab->flags & WIRE_AUTHORITY_N) {
        engine_cache_forget_key(e, p->key);
        pending_remove(&e->pending, p);
        engine_leafset_sync(e);
        engine_bootstrap_check_done(e);
        return;
    }
    if (p->kind == PENDING_INQUIRE_VERIFY) {
        /* The CPA must name the key and carry our nonce. */
        struct drt_engine_blob payload;
        bool ok = engine_validate(e, p->key, p->nonce, ab, &payload);
        engine_proof_done(e);
        if (!ok) {
            e->stats.dropped_unexpected++;
            return;
        }
    }
    pending_remove(&e->pending, p);
    engine_cache_verified(e, &peer);
    engine_became_reachable(e);
    engine_leafset_sync(e);
    engine_bootstrap_check_done(e);
}

static void on_authority(struct drt_engine *e, const struct drt_endpoint *from,
                         const struct wire_msg *m)
{
    const struct wire_authority *a = &m->u.authority;
    struct pending *p = pending_match(&e->pending, a->acked_id, from);
    if (!p || (p->kind != PENDING_LOOKUP && p->kind != PENDING_INQUIRE_VERIFY &&
               p->kind != PENDING_INQUIRE_PING && p->kind != PENDING_INQUIRE_RESULT &&
               p->kind != PENDING_INQUIRE_REVOKE)) {
        e->stats.dropped_unexpected++;
        return;
    }
    ratelimit_mark_proven(e->rate, from);
    struct reasm_key rk;
    const uint8_t *buf = NULL;
    size_t len = 0;
    if (!reasm_key_make(&rk, from, sizeof(*from), a->acked_id) ||
        reasm_add(e->reasm, &rk, a->size, a->offset, a->fragment.p, a->fragment.len, e->now,
                  &buf, &len) != REASM_COMPLETE)
        return;
    struct wire_authority_buffer ab;
    if (FAILED(wire_decode_authority_buffer(buf, len, &ab))) {
        e->stats.dropped_malformed++;
        reasm_release(e->reasm);
        return;
    }
    if (!p->retransmitted)
        engine_rtt_sample(e, e->now - p->sent_at);
    if (p->kind == PENDING_LOOKUP || p->kind == PENDING_INQUIRE_RESULT)
        engine_search_on_authority(e, p, &ab);
    else if (p->kind == PENDING_INQUIRE_REVOKE)
        engine_revoke_on_answer(e, p, &ab);
    else
        on_inquire_answer(e, p, &ab);
    reasm_release(e->reasm);
}

/* The messages a node answers or acts on for anyone: what a flood can
 * make it do, so what the rate limits admit. Answers only count when they
 * match a request of ours (pending.h). */
static bool is_request(uint8_t type)
{
    return type == WIRE_SOLICIT || type == WIRE_REQUEST || type == WIRE_FLOOD ||
           type == WIRE_INQUIRE || type == WIRE_LOOKUP;
}

void drt_engine_receive(struct drt_engine *e, const struct drt_endpoint *from, const uint8_t *buf,
                        size_t len, uint64_t now)
{
    e->now = now;
    e->stats.datagrams_received++;
    e->stats.bytes_received += len;
    if (e->status == ENGINE_FAULTED || !e->network_up || !from)
        return;
    struct wire_msg m;
    if (FAILED(wire_decode(buf, len, &m))) {
        e->stats.dropped_malformed++;
        return;
    }
    /* Another application's cloud, or our own datagram looped back. */
    if (m.hdr.version_major != e->cfg.version_major ||
        m.hdr.version_minor != e->cfg.version_minor || drt_endpoint_equal(from, &e->cfg.self)) {
        e->stats.dropped_unexpected++;
        return;
    }
    if (is_request(m.hdr.type) && !engine_admit_request(e, from))
        return;
    if (!engine_auth_admit(e, buf, len, &m)) {
        e->stats.dropped_unauthenticated++;
        return;
    }
    switch (m.hdr.type) {
    case WIRE_SOLICIT:
        engine_on_solicit(e, from, &m);
        break;
    case WIRE_ADVERTISE:
        on_advertise(e, from, &m);
        break;
    case WIRE_REQUEST:
        engine_on_request(e, from, &m, buf);
        break;
    case WIRE_FLOOD:
        engine_on_flood(e, from, &m);
        break;
    case WIRE_INQUIRE:
        engine_on_inquire(e, from, &m);
        break;
    case WIRE_AUTHORITY:
        on_authority(e, from, &m);
        break;
    case WIRE_ACK:
        on_ack(e, from, &m);
        break;
    case WIRE_LOOKUP:
        engine_on_lookup(e, from, &m);
        break;
    default:
        break;
    }
    engine_run_deferred(e);
}

void engine_run_deferred(struct drt_engine *e)
{
    if (e->publish_due && e->status == ENGINE_ACTIVE) {
        e->publish_due = false;
        engine_publish_all(e);
    }
    engine_searches_gc(e);
}

/* --- timers -------------------------------------------------------------- */

/* A request ran out of retries. */
static void on_expired(struct drt_engine *e, struct pending *p)
{
    switch (p->kind) {
    case PENDING_SOLICIT:
    case PENDING_REQUEST:
        pending_remove(&e->pending, p);
        engine_bootstrap_check_done(e);
        break;
    case PENDING_INQUIRE_VERIFY:
    case PENDING_INQUIRE_PING: {
        struct drt_endpoint ep = p->peer;
        pending_remove(&e->pending, p);
        engine_cache_forget_endpoint(e, &ep);
        engine_leafset_sync(e);
        engine_bootstrap_check_done(e);
        break;
    }
    case PENDING_LOOKUP:
    case PENDING_INQUIRE_RESULT:
        engine_search_on_timeout(e, p);
        break;
    case PENDING_INQUIRE_REVOKE:
        engine_revoke_on_timeout(e, p);
        break;
    }
}

/* Checks that leaf-set neighbours are alive; those that do not answer
 * leave the cache, and republication finds replacements. One INQUIRE per
 * neighbouring node, not per leaf-set entry: a node with many keys sits in
 * many leaf sets, and a ping for each would multiply traffic and trip its
 * rate limit. Which of its keys is asked rotates from round to round, so
 * each is checked for still being held now and then. */
static void ping_leaf_neighbours(struct drt_engine *e)
{
    struct drt_endpoint done[ENGINE_MAX_PINGS];
    size_t ndone = 0;
    for (size_t j = 0; j < e->nkeys; j++) {
        const struct local_key *k = &e->keys[(j + e->maintenance_round) % e->nkeys];
        struct engine_peer leaf[2 * ENGINE_LEAF_SIDE];
        size_t nl = engine_cache_leaf(e, k, leaf, 2 * ENGINE_LEAF_SIDE);
        for (size_t i = 0; i < nl; i++) {
            bool seen = false;
            for (size_t d = 0; d < ndone && !seen; d++)
                seen = drt_endpoint_equal(&done[d], &leaf[i].ep);
            if (seen || ndone == ENGINE_MAX_PINGS)
                continue;
            done[ndone++] = leaf[i].ep;
            engine_send_inquire(e, &leaf[i], PENDING_INQUIRE_PING, 0, 0);
        }
    }
}

/* A key whose leaf set lost a member has a gap on that side that nobody
 * will fill for it: the node beyond the one that left does not know us.
 * Publishing the key again walks to its neighbourhood, where the nodes
 * that should be in the leaf set learn it and answer with themselves.
 * Under churn this keeps the ring closed between the regular publications
 * (every fourth round); at most once per round per key. */
static void republish_torn_leaf_sets(struct drt_engine *e)
{
    if (e->status != ENGINE_ACTIVE || e->maintenance_round % 4 == 0)
        return;
    for (size_t i = 0; i < e->nkeys; i++)
        if (e->keys[i].leaf_lost) {
            e->keys[i].leaf_lost = false;
            engine_publish(e, &e->keys[i]);
        }
}

static void maintenance(struct drt_engine *e)
{
    e->maintenance_round++;
    pending_trim(&e->pending);
    if (e->status == ENGINE_ALONE || e->status == ENGINE_NO_NETWORK)
        return;
    /* Verify a few entries learned from third parties. */
    struct engine_peer peers[8];
    size_t n = engine_cache_unverified(e, peers, 8);
    for (size_t i = 0; i < n; i++)
        engine_send_inquire(e, &peers[i], PENDING_INQUIRE_VERIFY, WIRE_INQUIRE_A, 0);
    ping_leaf_neighbours(e);
    republish_torn_leaf_sets(e);
    if (e->maintenance_round % 4 == 0) {
        e->publish_due = true;
        /* Split detection ([MC-DRT] 3.2.6.2.1): a cloud cut in two keeps
         * working on each side and would never merge back. Asking one of
         * the bootstrap seeds again now and then brings in entries from
         * the other side once the network heals; leaf-set spreading does
         * the rest. */
        if (e->nseeds) {
            const struct drt_endpoint *seed = &e->seeds[engine_random32(e) % e->nseeds];
            solicit(e, seed);
        }
    }
    if (e->status == ENGINE_ACTIVE && !engine_cache_has_verified(e) &&
        pending_count_kind(&e->pending, PENDING_INQUIRE_VERIFY) == 0)
        engine_set_status(e, ENGINE_ALONE, 0);
}

void drt_engine_timer(struct drt_engine *e, uint64_t now)
{
    e->now = now;
    if (e->status == ENGINE_FAULTED)
        return;
    /* Retransmit or expire what is due; expiry callbacks may add or remove
     * entries, so restart the scan after each one. */
    for (;;) {
        struct pending *due = NULL;
        for (size_t i = 0; i < e->pending.count; i++)
            if (e->pending.items[i].deadline <= now) {
                due = &e->pending.items[i];
                break;
            }
        if (!due)
            break;
        if (due->retries_left == 0) {
            on_expired(e, due);
            continue;
        }
        due->retries_left--;
        due->retransmitted = true;
        due->deadline = now + due->rto_ms;
        size_t step = due->frag_len ? due->frag_len : due->len;
        for (size_t off = 0; off < due->len; off += step) {
            size_t n = due->len - off < step ? due->len - off : step;
            (void)queue_push(&e->out, &due->peer, sizeof(due->peer), due->dgram + off, n);
            e->stats.datagrams_sent++;
            e->stats.bytes_sent += n;
        }
        e->stats.retransmissions++;
    }
    reasm_expire(e->reasm, now);
    engine_search_expire(e);
    if (now >= e->next_maintenance) {
        e->next_maintenance = now + maintenance_interval(e);
        maintenance(e);
    }
    if (now >= e->next_bootstrap && e->network_up) {
        e->next_bootstrap = UINT64_MAX;
        send_solicits(e);
        if (pending_count_kind(&e->pending, PENDING_SOLICIT) == 0)
            engine_bootstrap_check_done(e);
    }
    engine_run_deferred(e);
}

uint64_t drt_engine_next_deadline(const struct drt_engine *e)
{
    if (e->status == ENGINE_FAULTED)
        return UINT64_MAX;
    uint64_t d = pending_next_deadline(&e->pending);
    if (e->next_maintenance < d)
        d = e->next_maintenance;
    if (e->next_bootstrap < d)
        d = e->next_bootstrap;
    uint64_t r = reasm_next_deadline(e->reasm);
    if (r < d)
        d = r;
    for (size_t i = 0; i < e->nsearches; i++)
        if (e->searches[i]->deadline < d)
            d = e->searches[i]->deadline;
    return d;
}

/* --- output -------------------------------------------------------------- */

bool drt_engine_next_datagram(struct drt_engine *e, struct drt_endpoint *to, const uint8_t **buf,
                              size_t *len)
{
    struct queue_item *it = queue_pop(&e->out);
    if (!it)
        return false;
    memcpy(to, it->data, sizeof(*to));
    *buf = it->data + sizeof(*to);
    *len = it->len - sizeof(*to);
    return true;
}

/* Search paths ride behind the event in the same queue item. */
_Static_assert(sizeof(struct drt_engine_event) % 8 == 0, "event keeps path entries aligned");

bool drt_engine_next_event(struct drt_engine *e, struct drt_engine_event *ev)
{
    struct queue_item *it = queue_pop(&e->events);
    if (!it)
        return false;
    memcpy(ev, it->data, sizeof(*ev));
    size_t extra = it->len - sizeof(*ev);
    if (ev->type == ENGINE_EV_RESULT) {
        ev->u.result.app_data_len = extra;
        ev->u.result.app_data = extra ? it->data + sizeof(*ev) : NULL;
    } else if (ev->type == ENGINE_EV_SEARCH_DONE) {
        /* queue items are 8-byte aligned and the event's size keeps that */
        ev->u.done.path_len = extra / sizeof(struct drt_engine_path_entry);
        ev->u.done.path = extra ? (const struct drt_engine_path_entry *)(const void *)(it->data +
                                                                                    sizeof(*ev))
                                : NULL;
    }
    return true;
}

void drt_engine_get_stats(const struct drt_engine *e, struct drt_engine_stats *st)
{
    *st = e->stats;
    st->cache_entries = engine_cache_count(e);
    /* A shared scratch is not this engine's to count. */
    st->memory_bytes = sizeof(*e) + (e->own_buf ? sizeof(*e->own_buf) : 0) +
                       (e->auth ? sizeof(*e->auth) : 0) +
                       e->leaf_changes_cap * sizeof(struct leaf_change) +
                       (e->revoke_checks ? ENGINE_MAX_REVOKE_CHECKS * sizeof(struct revoke_check) : 0) +
                       engine_cache_memory(e) + e->pending.cap * sizeof(struct pending) +
                       e->nsearches * sizeof(struct search) +
                       e->cap_searches * sizeof(*e->searches) + e->out.bytes + e->events.bytes +
                       ratelimit_memory(e->rate);
    st->events_queued = e->events.count;
    st->rate_sources = ratelimit_sources(e->rate);
    st->rate_sources_evicted = ratelimit_evictions(e->rate);
    struct reasm_stats rs;
    reasm_get_stats(e->reasm, &rs);
    st->reasm_evicted = rs.evicted_cap;
    st->reasm_refused = rs.refused_cap;
    st->reasm_expired = rs.expired;
    st->reasm_bytes = rs.bytes_held;
    st->memory_bytes += rs.bytes_held;
    for (size_t i = 0; i < e->nkeys; i++)
        st->memory_bytes += sizeof(struct local_key) + e->keys[i].len;
}
