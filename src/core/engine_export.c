/*
 * engine_export.c - the route cache out and back in, for a node that saves
 * it on close and loads it on open (engine.h, "Persistence").
 *
 * What comes back in is hearsay, however it was stored: a file can be
 * stale (the peers moved or died) or written by someone else. So import
 * never offers an entry as verified. Each goes in pending, like a route
 * entry learned from a third party, and gets the INQUIRE a nonce-carrying
 * return-routability check sends; only a matching AUTHORITY with a valid
 * proof (engine.c, on_inquire_answer) places it, and an unanswered one
 * leaves the cache when its retries run out.
 */
#include <stdlib.h>
#include <string.h>

#include "core/engine_internal.h"
#include "core/route_cache.h"

/* Best first: a measured round trip before none, a shorter one first, then
 * by key so the order (and a file written from it) is reproducible. */
static int route_cmp(const struct drt_engine_route *a, const struct drt_engine_route *b)
{
    if ((a->rtt_ms == 0) != (b->rtt_ms == 0))
        return a->rtt_ms == 0 ? 1 : -1;
    if (a->rtt_ms != b->rtt_ms)
        return a->rtt_ms < b->rtt_ms ? -1 : 1;
    return memcmp(a->key, b->key, 32);
}

static int route_qsort_cmp(const void *a, const void *b)
{
    return route_cmp(a, b);
}

size_t drt_engine_export_routes(const struct drt_engine *e, struct drt_engine_route *out,
                                size_t cap)
{
    if (!out || cap == 0)
        return 0;
    size_t n = 0;
    size_t count = route_cache_count(e->cache);
    for (size_t i = 0; i < count; i++) {
        const struct route_cache_entry *re = route_cache_at(e->cache, i);
        if (!(re->flags & ROUTE_CACHE_VERIFIED))
            continue;
        struct drt_engine_route r;
        memcpy(r.key, re->key.b, 32);
        r.ep = re->ep;
        r.rtt_ms = re->rtt_ms;
        if (n < cap) {
            out[n++] = r;
            continue;
        }
        /* Full: the newcomer replaces the worst kept one if it is better.
         * O(entries x cap), for a call made once per close. */
        size_t worst = 0;
        for (size_t k = 1; k < n; k++)
            if (route_cmp(&out[k], &out[worst]) > 0)
                worst = k;
        if (route_cmp(&r, &out[worst]) < 0)
            out[worst] = r;
    }
    qsort(out, n, sizeof(*out), route_qsort_cmp);
    return n;
}

size_t drt_engine_import_routes(struct drt_engine *e, const struct drt_engine_route *in, size_t n,
                                uint64_t now)
{
    e->now = now;
    if (!in || e->status == ENGINE_FAULTED || !e->network_up)
        return 0;
    size_t probed = 0;
    for (size_t i = 0; i < n && probed < DRT_ENGINE_IMPORT_MAX; i++) {
        struct engine_peer p;
        memcpy(p.key, in[i].key, 32);
        p.ep = in[i].ep;
        /* Our own keys and endpoint are never route entries of ours. */
        if (p.ep.port < WIRE_MIN_PORT || drt_endpoint_equal(&p.ep, &e->cfg.self) ||
            engine_local_key(e, p.key))
            continue;
        engine_cache_offer(e, &p, false);
        /* Probe only what the cache now holds pending at that endpoint: a
         * key verified elsewhere stands (the cache refused the offer), and
         * one verified here needs no check. */
        const struct route_cache_entry *re = route_cache_find(e->cache, (const drt_key *)p.key);
        if (!re || (re->flags & ROUTE_CACHE_VERIFIED) || !drt_endpoint_equal(&re->ep, &p.ep))
            continue;
        if (engine_send_inquire(e, &p, PENDING_INQUIRE_VERIFY, WIRE_INQUIRE_A, 0) == 0)
            break; /* the pending table is full: the rest would fail too */
        probed++;
    }
    engine_run_deferred(e);
    return probed;
}
