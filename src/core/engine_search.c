/*
 * engine_search.c - the resolver. A search keeps a list of candidate
 * nodes sorted by ring distance to the target and walks it hop by hop
 * ([MC-DRT] 3.1.4.4): it sends LOOKUPs to the closest candidates not yet
 * asked (up to `parallelism` at once), adds each answer's next hop to the
 * list, and stops when nobody closer than its current results is left to
 * ask. It then INQUIREs each result for its application data (the X flag)
 * and reports it. A publication is the same walk towards a local key,
 * carrying that key's route entry so every node on the way learns it.
 */
#include <stdlib.h>
#include <string.h>

#include "core/engine_internal.h"
#include "util/key256.h"

static const drt_key *K(const uint8_t *b)
{
    return (const drt_key *)b;
}

struct search *engine_search_find(struct drt_engine *e, uint32_t id)
{
    for (size_t i = 0; i < e->nsearches; i++)
        if (e->searches[i]->id == id)
            return e->searches[i];
    return NULL;
}

static struct candidate *find_cand(struct search *s, const uint8_t key[32])
{
    for (size_t i = 0; i < s->ncand; i++)
        if (memcmp(s->cand[i].peer.key, key, 32) == 0)
            return &s->cand[i];
    return NULL;
}

static bool exact_only(const struct search *s)
{
    return memcmp(s->p.min, s->p.max, 32) == 0;
}

static bool in_range(const struct search *s, const uint8_t key[32])
{
    return key256_in_range(K(key), K(s->p.min), K(s->p.max));
}

/* Inserts a candidate in distance order; duplicates (same key) are
 * ignored. When the list is full the farthest entry makes room, unless
 * the newcomer is farther still. */
static struct candidate *add_candidate(struct search *s, const struct engine_peer *p, bool local)
{
    for (size_t i = 0; i < s->ncand; i++)
        if (memcmp(s->cand[i].peer.key, p->key, 32) == 0)
            return NULL;
    const drt_key *t = K(s->p.target);
    size_t pos = s->ncand;
    while (pos > 0 && key256_closer(t, K(p->key), K(s->cand[pos - 1].peer.key)) < 0)
        pos--;
    if (s->ncand == ENGINE_MAX_CANDIDATES) {
        if (pos == ENGINE_MAX_CANDIDATES || s->cand[ENGINE_MAX_CANDIDATES - 1].state == CAND_ASKED)
            return NULL;
        s->ncand--;
    }
    memmove(&s->cand[pos + 1], &s->cand[pos], (s->ncand - pos) * sizeof(s->cand[0]));
    s->ncand++;
    struct candidate *c = &s->cand[pos];
    memset(c, 0, sizeof(*c));
    c->peer = *p;
    c->local = local;
    c->state = local ? CAND_DONE : CAND_NEW;
    c->depth = local ? 0 : 1;
    return c;
}

struct search *engine_search_new(struct drt_engine *e, const struct drt_engine_search_params *p,
                                 bool publish)
{
    if (e->nkind[publish] >= e->cfg.max_searches)
        return NULL;
    if (e->nsearches == e->cap_searches) {
        size_t cap = e->cap_searches ? 2 * e->cap_searches : 4;
        struct search **grown = realloc(e->searches, cap * sizeof(*grown));
        if (!grown)
            return NULL;
        e->searches = grown;
        e->cap_searches = cap;
    }
    /* Each search is its own allocation so pointers to it stay valid while
     * others come and go. */
    struct search *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    e->searches[e->nsearches++] = s;
    e->nkind[publish]++;
    s->publish = publish;
    s->id = e->next_search_id++;
    if (e->next_search_id == 0)
        e->next_search_id = 1;
    s->p = *p;
    s->phase = PHASE_ROUTE;
    s->deadline = p->timeout_ms ? e->now + p->timeout_ms : UINT64_MAX;
    struct engine_peer seed[ENGINE_MAX_CANDIDATES / 2];
    size_t n = engine_cache_closest(e, p->target, seed, ENGINE_MAX_CANDIDATES / 2);
    for (size_t i = 0; i < n; i++)
        add_candidate(s, &seed[i], false);
    if (p->allow_local)
        for (size_t i = 0; i < e->nkeys; i++) {
            struct engine_peer me;
            memcpy(me.key, e->keys[i].key, 32);
            me.ep = e->cfg.self;
            add_candidate(s, &me, true);
        }
    return s;
}

void engine_search_free(struct drt_engine *e, struct search *s)
{
    pending_remove_owner(&e->pending, s->id);
    e->nkind[s->publish]--;
    for (size_t i = 0; i < e->nsearches; i++)
        if (e->searches[i] == s) {
            e->searches[i] = e->searches[--e->nsearches];
            break;
        }
    free(s);
}

void engine_searches_gc(struct drt_engine *e)
{
    for (size_t i = 0; i < e->nsearches;) {
        if (e->searches[i]->phase == PHASE_DONE)
            engine_search_free(e, e->searches[i]);
        else
            i++;
    }
}

static void finish(struct drt_engine *e, struct search *s, HRESULT hr)
{
    if (s->phase == PHASE_DONE)
        return;
    s->phase = PHASE_DONE;
    pending_remove_owner(&e->pending, s->id);
    if (s->publish)
        return;
    struct drt_engine_event ev = {.type = ENGINE_EV_SEARCH_DONE};
    ev.u.done.search_id = s->id;
    ev.u.done.hr = hr;
    ev.u.done.hops = s->hops;
    ev.u.done.messages = s->messages;
    /* The search path: contacted candidates in the order they were asked. */
    struct drt_engine_path_entry path[ENGINE_MAX_CANDIDATES];
    size_t n = 0;
    for (uint16_t want = 1; want <= s->asked_count && n < ENGINE_MAX_CANDIDATES; want++)
        for (size_t i = 0; i < s->ncand; i++) {
            const struct candidate *c = &s->cand[i];
            if (c->order != want)
                continue;
            struct drt_engine_path_entry *pe = &path[n++];
            memset(pe, 0, sizeof(*pe));
            pe->endpoint = c->peer.ep;
            memcpy(pe->key, c->peer.key, 32);
            pe->flags = c->flags;
            pe->nearness = key256_common_prefix_bits(K(c->peer.key), K(s->p.target));
            pe->rtt_ms = c->rtt_ms;
            break;
        }
    engine_emit(e, &ev, (const uint8_t *)path, n * sizeof(path[0]));
}

static void report(struct drt_engine *e, struct search *s, const struct candidate *c,
                   DRT_MATCH_TYPE match, const uint8_t *data, size_t len)
{
    struct drt_engine_event ev = {.type = ENGINE_EV_RESULT};
    ev.u.result.search_id = s->id;
    ev.u.result.match = match;
    memcpy(ev.u.result.key, c->peer.key, 32);
    ev.u.result.endpoint = c->peer.ep;
    engine_emit(e, &ev, data, len);
}

static DRT_MATCH_TYPE match_of(const struct search *s, const uint8_t key[32])
{
    if (exact_only(s) || memcmp(key, s->p.target, 32) == 0)
        return DRT_MATCH_EXACT;
    return DRT_MATCH_NEAR;
}

/* The answered candidates that qualify as results, best first. */
static size_t pick_results(const struct search *s, size_t *idx, size_t cap)
{
    size_t n = 0;
    size_t want = s->p.max_results ? s->p.max_results : 1;
    for (size_t i = 0; i < s->ncand && n < want && n < cap; i++) {
        const struct candidate *c = &s->cand[i];
        if (c->state != CAND_DONE || !in_range(s, c->peer.key))
            continue;
        if (c->local && !s->p.allow_local)
            continue;
        idx[n++] = i;
    }
    return n;
}

/* Fetch phase: INQUIRE each remote result for its data; local ones are
 * reported at once. */
static void start_fetch(struct drt_engine *e, struct search *s)
{
    if (s->publish) {
        finish(e, s, S_OK);
        return;
    }
    size_t idx[ENGINE_MAX_CANDIDATES];
    size_t n = pick_results(s, idx, ENGINE_MAX_CANDIDATES);
    s->phase = PHASE_FETCH;
    if (n > 0)
        s->hops = s->cand[idx[0]].depth;
    if (n == 0) {
        finish(e, s, DRT_E_NO_MORE);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        struct candidate *c = &s->cand[idx[i]];
        if (c->local) {
            struct local_key *k = engine_local_key(e, c->peer.key);
            report(e, s, c, match_of(s, c->peer.key), k ? k->data : NULL, k ? k->len : 0);
            s->results++;
            continue;
        }
        if (engine_send_inquire(e, &c->peer, PENDING_INQUIRE_RESULT,
                                WIRE_INQUIRE_A | WIRE_INQUIRE_X, s->id)) {
            s->fetch_left++;
            s->messages++;
        }
    }
    if (s->fetch_left == 0)
        finish(e, s, s->results ? S_OK : DRT_E_NO_MORE);
}

/* Whether candidate i (in distance order) is one the search must hear from
 * before it may stop: among the `parallelism` closest live candidates (so
 * the walk has converged and one lost answer does not end it early), or
 * among the `max_results` closest live candidates inside the range (so the
 * results are the closest there are). seen_all / seen_in count the live
 * candidates before i. */
static bool in_horizon(const struct drt_engine *e, const struct search *s, size_t i,
                       size_t *seen_all, size_t *seen_in)
{
    const struct candidate *c = &s->cand[i];
    if (c->state == CAND_FAILED)
        return false;
    size_t want = s->p.max_results ? s->p.max_results : 1;
    size_t horizon = s->widened ? 2 * e->cfg.parallelism : e->cfg.parallelism;
    bool inside = false;
    if (*seen_all < horizon) {
        (*seen_all)++;
        inside = true;
    }
    if (in_range(s, c->peer.key) && *seen_in < want) {
        (*seen_in)++;
        inside = true;
    }
    return inside;
}

/* True when the search has what it came for: an exact hit, any hit for
 * fAnyMatchInRange, or an answer from every candidate in its horizon. */
static bool route_done(const struct drt_engine *e, const struct search *s, size_t *asked)
{
    size_t seen_all = 0, seen_in = 0;
    bool open = false;
    *asked = 0;
    for (size_t i = 0; i < s->ncand; i++) {
        const struct candidate *c = &s->cand[i];
        if (c->state == CAND_ASKED)
            (*asked)++;
        if (c->state == CAND_DONE && (s->p.allow_local || !c->local)) {
            if (s->p.any_in_range && in_range(s, c->peer.key))
                return true;
            if (exact_only(s) && memcmp(c->peer.key, s->p.target, 32) == 0)
                return true;
        }
        if (in_horizon(e, s, i, &seen_all, &seen_in) &&
            (c->state == CAND_NEW || c->state == CAND_ASKED))
            open = true;
    }
    return !open;
}

static void flagged_path(struct drt_engine *e, const struct search *s, struct wire_endpoints *path)
{
    memset(path, 0, sizeof(*path));
    path->e[0].port = e->cfg.self.port;
    memcpy(path->e[0].addr, e->cfg.self.addr, 16);
    path->count = 1;
    /* Every node we already know, asked or not, nearest first: the answer
     * should name someone new. */
    for (size_t i = 0; i < s->ncand && path->count < WIRE_ENDPOINTS_MAX; i++) {
        const struct candidate *c = &s->cand[i];
        if (c->local)
            continue;
        bool dup = false;
        for (size_t j = 0; j < path->count && !dup; j++)
            dup = path->e[j].port == c->peer.ep.port &&
                  memcmp(path->e[j].addr, c->peer.ep.addr, 16) == 0;
        if (!dup) {
            path->e[path->count].port = c->peer.ep.port;
            memcpy(path->e[path->count].addr, c->peer.ep.addr, 16);
            path->count++;
        }
    }
}

static bool ask(struct drt_engine *e, struct search *s, struct candidate *c)
{
    struct wire_msg m;
    engine_header(e, &m, WIRE_LOOKUP, 0);
    struct wire_lookup *l = &m.u.lookup;
    bool several = s->p.max_results > 1 || !exact_only(s) || s->widened;
    l->flags = several ? WIRE_LOOKUP_A : 0;
    l->criteria = exact_only(s) ? WIRE_SEARCH_NONE : WIRE_SEARCH_NEAREST;
    l->reason = s->publish ? WIRE_REASON_REGISTRATION : WIRE_REASON_APP_REQUEST;
    memcpy(l->target_key, s->p.target, 32);
    memcpy(l->validate_key, c->peer.key, 32);
    if (s->publish) {
        struct local_key *k = engine_local_reg(e, s->publish_reg);
        if (k) {
            l->has_route = true;
            engine_route_entry(e, k->key, &l->route);
        }
    }
    flagged_path(e, s, &l->path);
    if (!engine_request(e, &m, &c->peer.ep, PENDING_LOOKUP, c->peer.key, s->id, NULL))
        return false;
    c->state = CAND_ASKED;
    if (c->asks++ == 0)
        c->order = ++s->asked_count;
    s->messages++;
    return true;
}

/* An exact search that has learned the node holding its target needs no
 * LOOKUP to it: the INQUIRE that fetches the data proves the key ([MC-DRT]
 * 3.1.4.4 ends a search with the INQUIRE to the node found). Saves a round
 * trip and two datagrams per lookup. */
static struct candidate *target_to_fetch(struct search *s)
{
    if (!exact_only(s) || s->p.iterative || s->publish)
        return NULL;
    struct candidate *c = find_cand(s, s->p.target);
    return c && !c->local && c->state == CAND_NEW ? c : NULL;
}

/* Leaves the walk for the fetch of c alone. LOOKUPs still out stay out:
 * their answers still teach the cache and the candidate list, which the
 * walk needs should the fetch fail. */
static bool fetch_target(struct drt_engine *e, struct search *s, struct candidate *c)
{
    if (!engine_send_inquire(e, &c->peer, PENDING_INQUIRE_RESULT,
                             WIRE_INQUIRE_A | WIRE_INQUIRE_X, s->id))
        return false;
    c->state = CAND_DONE;
    if (c->order == 0)
        c->order = ++s->asked_count;
    s->phase = PHASE_FETCH;
    s->hops = c->depth;
    s->fetch_left = 1;
    s->messages++;
    return true;
}

/* An exact walk that ends without its key has met nodes that know no one
 * closer to it than themselves: their cache entries near the key are gone
 * or were never there. Before giving up, ask the `parallelism` closest of
 * them once more with A, which names the closest unvisited peer they know
 * even if it is farther than themselves, and look twice as wide: a node a
 * little farther off often knows the key's neighbourhood. Once per search,
 * and for a key's first publication walk, which always ends this way (it
 * looks for the key's place, not a holder) and is the one that makes the
 * new key findable. Returns whether there is anyone to ask. */
static bool widen(struct drt_engine *e, struct search *s)
{
    if (s->widened || !exact_only(s) || s->p.iterative || (s->publish && !s->widen_publish) || s->results)
        return false;
    s->widened = true;
    size_t n = 0;
    for (size_t i = 0; i < s->ncand && n < e->cfg.parallelism; i++)
        if (s->cand[i].state == CAND_DONE && !s->cand[i].local) {
            s->cand[i].state = CAND_NEW;
            n++;
        }
    return n > 0;
}

void engine_search_pump(struct drt_engine *e, struct search *s)
{
    if (s->phase != PHASE_ROUTE || s->paused)
        return;
    struct candidate *target = target_to_fetch(s);
    if (target) {
        if (fetch_target(e, s, target))
            return;
        target->state = CAND_FAILED;
    }
    size_t asked;
    if (route_done(e, s, &asked) && (!widen(e, s) || route_done(e, s, &asked))) {
        pending_remove_owner(&e->pending, s->id);
        for (size_t i = 0; i < s->ncand; i++)
            if (s->cand[i].state == CAND_ASKED)
                s->cand[i].state = CAND_FAILED;
        start_fetch(e, s);
        return;
    }
    size_t limit = s->p.iterative ? 1 : e->cfg.parallelism;
    size_t seen_all = 0, seen_in = 0;
    for (size_t i = 0; i < s->ncand && asked < limit; i++) {
        struct candidate *c = &s->cand[i];
        if (!in_horizon(e, s, i, &seen_all, &seen_in) || c->state != CAND_NEW)
            continue;
        if (ask(e, s, c))
            asked++;
        else
            c->state = CAND_FAILED;
    }
    if (asked == 0)
        start_fetch(e, s);
}

/* A candidate failed (no answer, or not holding its key): the node that
 * named it may know the next best one, which it could not name while the
 * failed one looked better. Ask it again, with the failed node now on the
 * flagged path; at most three times per node. */
static void reask_referrer(struct search *s, const struct candidate *failed)
{
    if (!failed->has_via)
        return;
    struct candidate *ref = find_cand(s, failed->via);
    if (ref && ref->state == CAND_DONE && !ref->local && ref->asks < 3)
        ref->state = CAND_NEW;
}

/* The last fetch is over. An exact search whose one result failed to
 * prove itself (gone, refused, silent) has not failed yet: the walk goes
 * on without that node, as it would had its LOOKUP failed. */
static void fetch_ended(struct drt_engine *e, struct search *s, struct candidate *failed)
{
    if (s->results == 0 && failed && exact_only(s) && !s->p.iterative && !s->publish) {
        failed->state = CAND_FAILED;
        reask_referrer(s, failed);
        s->phase = PHASE_ROUTE;
        engine_search_pump(e, s);
        return;
    }
    finish(e, s, s->results ? S_OK : DRT_E_NO_MORE);
}

static void on_fetch_answer(struct drt_engine *e, struct search *s, struct pending *p,
                            const struct wire_authority_buffer *ab)
{
    struct candidate *c = find_cand(s, p->key);
    struct drt_engine_blob payload = {NULL, 0};
    bool refused = ab->flags & WIRE_AUTHORITY_N;
    bool ok = c && !refused && engine_validate(e, p->key, p->nonce, ab, &payload);
    if (c && !ok && !refused) {
        /* A proof that does not check out was forged or damaged on the
         * way; the owner's own answer may still come. Keep the request:
         * its retransmissions and timeout bound the wait. Meanwhile the
         * path says the node did not prove the key (BAD_VALIDATE_ID). */
        e->stats.proofs_rejected++;
        c->flags |= DRT_ADDRESS_FLAG_INQUIRE | DRT_ADDRESS_FLAG_REJECTED |
                    DRT_ADDRESS_FLAG_BAD_VALIDATE_ID;
        engine_proof_done(e);
        return;
    }
    struct engine_peer answered = {{0}, p->peer};
    memcpy(answered.key, p->key, 32);
    pending_remove(&e->pending, p);
    if (s->fetch_left)
        s->fetch_left--;
    if (c) {
        c->flags |= DRT_ADDRESS_FLAG_INQUIRE | DRT_ADDRESS_FLAG_REJECTED;
        if (refused) /* it does not hold the key we asked it to prove */
            c->flags |= DRT_ADDRESS_FLAG_BAD_VALIDATE_ID;
        if (ok) /* the genuine answer came after a bad one */
            c->flags &= ~(uint32_t)(DRT_ADDRESS_FLAG_REJECTED |
                                    DRT_ADDRESS_FLAG_BAD_VALIDATE_ID);
    }
    if (ok) {
        /* It answered our nonce from its address: as good as a LOOKUP's
         * answer for the path and the cache. */
        c->flags |= DRT_ADDRESS_FLAG_ACCEPTED;
        engine_cache_verified(e, &answered);
        report(e, s, c, match_of(s, c->peer.key), payload.p, payload.len);
        s->results++;
    } else if (c && refused) {
        engine_cache_forget_key(e, answered.key);
        engine_leafset_sync(e);
    }
    engine_proof_done(e);
    if (s->fetch_left == 0)
        fetch_ended(e, s, ok ? NULL : c);
}

void engine_search_on_authority(struct drt_engine *e, struct pending *p,
                                const struct wire_authority_buffer *ab)
{
    struct search *s = engine_search_find(e, p->owner);
    if (!s) {
        pending_remove(&e->pending, p);
        return;
    }
    if (p->kind == PENDING_INQUIRE_RESULT) {
        on_fetch_answer(e, s, p, ab);
        return;
    }
    struct candidate *c = find_cand(s, p->key);
    struct engine_peer asked = {{0}, p->peer};
    memcpy(asked.key, p->key, 32);
    uint32_t rtt = (uint32_t)(e->now - p->sent_at);
    pending_remove(&e->pending, p);
    if (!c || c->state != CAND_ASKED)
        return;
    if (ab->flags & WIRE_AUTHORITY_N) {
        /* That node no longer holds the key we were told about. */
        c->state = CAND_FAILED;
        c->flags |= DRT_ADDRESS_FLAG_BAD_VALIDATE_ID;
        reask_referrer(s, c);
        engine_cache_forget_key(e, asked.key);
        engine_leafset_sync(e);
    } else {
        c->state = CAND_DONE;
        c->rtt_ms = rtt;
        c->flags |= DRT_ADDRESS_FLAG_ACCEPTED;
        if (ab->flags & WIRE_AUTHORITY_B)
            c->flags |= DRT_ADDRESS_FLAG_TOO_BUSY;
        engine_cache_verified(e, &asked);
        engine_became_reachable(e);
        engine_leafset_sync(e);
    }
    if (ab->has_route && ab->route.version_major == e->cfg.version_major &&
        ab->route.version_minor == e->cfg.version_minor) {
        struct engine_peer next;
        memcpy(next.key, ab->route.key, 32);
        memcpy(next.ep.addr, ab->route.addrs[0], 16);
        next.ep.port = ab->route.port;
        bool mine = drt_endpoint_equal(&next.ep, &e->cfg.self);
        struct candidate *nc = NULL;
        if (!mine) {
            engine_cache_offer(e, &next, false);
            nc = add_candidate(s, &next, false);
            if (nc) {
                nc->depth = (uint8_t)(c->depth < 250 ? c->depth + 1 : 250);
                nc->has_via = true;
                memcpy(nc->via, c->peer.key, 32);
            }
        }
        if (nc && s->p.iterative && !s->publish) {
            report(e, s, nc, DRT_MATCH_INTERMEDIATE, NULL, 0);
            s->paused = true;
            return;
        }
        /* A search for several keys learns one node per answer. If this
         * answer named someone we already knew (it was asked before we
         * knew more), ask again with the fuller flagged path: it may know
         * another key we still lack. Once more at most. */
        if (!mine && !nc && c->state == CAND_DONE && c->asks < 2 &&
            (s->p.max_results > 1 || !exact_only(s)))
            c->state = CAND_NEW;
    }
    engine_search_pump(e, s);
}

void engine_search_on_timeout(struct drt_engine *e, struct pending *p)
{
    struct search *s = engine_search_find(e, p->owner);
    uint8_t key[32];
    memcpy(key, p->key, 32);
    struct drt_endpoint ep = p->peer;
    enum pending_kind kind = p->kind;
    pending_remove(&e->pending, p);
    /* A verified peer that let one request go unanswered through all its
     * retries may have lost a burst or be busy: an INQUIRE decides, and
     * its timeout forgets the node. Anything else is forgotten now. */
    struct engine_peer known;
    if (engine_cache_find(e, key, &known) && drt_endpoint_equal(&known.ep, &ep) &&
        engine_send_inquire(e, &known, PENDING_INQUIRE_VERIFY, WIRE_INQUIRE_A, 0))
        ;
    else
        engine_cache_forget_endpoint(e, &ep);
    engine_leafset_sync(e);
    if (!s)
        return;
    struct candidate *c = find_cand(s, key);
    if (kind == PENDING_INQUIRE_RESULT) {
        if (c)
            c->flags |= DRT_ADDRESS_FLAG_UNREACHABLE;
        if (s->fetch_left)
            s->fetch_left--;
        if (s->fetch_left == 0)
            fetch_ended(e, s, c);
        return;
    }
    if (c) {
        c->state = CAND_FAILED;
        c->flags |= DRT_ADDRESS_FLAG_UNREACHABLE;
        reask_referrer(s, c);
    }
    engine_search_pump(e, s);
}

void engine_search_expire(struct drt_engine *e)
{
    for (size_t i = 0; i < e->nsearches; i++) {
        struct search *s = e->searches[i];
        if (s->phase != PHASE_DONE && e->now >= s->deadline)
            finish(e, s, DRT_E_TIMEOUT);
    }
}

HRESULT drt_engine_search_start(struct drt_engine *e, const struct drt_engine_search_params *p,
                                uint32_t *search_id, uint64_t now)
{
    e->now = now;
    if (e->status == ENGINE_FAULTED)
        return DRT_E_FAULTED;
    struct search *s = engine_search_new(e, p, false);
    if (!s)
        return E_OUTOFMEMORY;
    *search_id = s->id;
    engine_search_pump(e, s);
    engine_run_deferred(e);
    return S_OK;
}

HRESULT drt_engine_search_continue(struct drt_engine *e, uint32_t search_id, uint64_t now)
{
    e->now = now;
    struct search *s = engine_search_find(e, search_id);
    if (!s || s->publish || s->phase == PHASE_DONE)
        return E_HANDLE;
    if (!s->paused)
        return DRT_E_SEARCH_IN_PROGRESS;
    s->paused = false;
    engine_search_pump(e, s);
    engine_run_deferred(e);
    return S_OK;
}

void drt_engine_search_cancel(struct drt_engine *e, uint32_t search_id)
{
    struct search *s = engine_search_find(e, search_id);
    if (s && !s->publish)
        engine_search_free(e, s);
}
