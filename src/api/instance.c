/*
 * instance.c - the object behind an HDRT: its engine on the loop thread,
 * and the engine's events turned into the instance's queues (status and
 * leaf-set events for DrtGetEventData, results for each search).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>
#include <wchar.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "core/engine.h"
#include "io/io_ipsec.h"
#include "io/io_loop.h"
#include "io/io_node.h"

/* Instance names are "<prefix>_<pid>_<n>": unique per process and, with the
 * pid, across the processes of one host (the Windows name is only documented
 * as "built from the prefix"). */
static wchar_t *make_instance_name(PCWSTR prefix)
{
    static atomic_uint next_instance;
    unsigned n = atomic_fetch_add(&next_instance, 1) + 1;
    if (!prefix || !*prefix)
        prefix = L"DRT";
    size_t cap = wcslen(prefix) + 48;
    wchar_t *name = malloc(cap * sizeof(wchar_t));
    if (name)
        swprintf(name, cap, L"%ls_%ld_%u", prefix, (long)getpid(), n);
    return name;
}

/* --- engine events (loop thread) ------------------------------------------ */

void instance_push_event(struct drt_instance *inst, struct api_event *ev)
{
    pthread_mutex_lock(&inst->lock);
    /* Newer events say more about the DRT now than older ones. */
    if (inst->nevents >= inst->max_events && inst->ev_head) {
        struct api_event *old = inst->ev_head;
        inst->ev_head = old->next;
        if (!inst->ev_head)
            inst->ev_tail = NULL;
        inst->nevents--;
        inst->events_dropped++;
        free(old);
    }
    inst->nevents++;
    if (inst->ev_tail)
        inst->ev_tail->next = ev;
    else
        inst->ev_head = ev;
    inst->ev_tail = ev;
    pthread_mutex_unlock(&inst->lock);
    if (inst->event)
        DrtEventSet(inst->event);
}

static struct drt_search *search_by_engine_id(struct drt_instance *inst, uint32_t id)
{
    for (size_t i = 0; i < inst->nsearches; i++)
        if (inst->searches[i]->engine_id == id)
            return inst->searches[i];
    return NULL;
}

static void endpoint_to_storage(const struct drt_endpoint *ep, SOCKADDR_STORAGE *out)
{
    memset(out, 0, sizeof(*out));
    io_sockaddr_from_endpoint(ep, 0, (struct sockaddr_in6 *)out);
}

static void on_result(struct drt_instance *inst, const struct drt_engine_event *ev)
{
    size_t len = ev->u.result.app_data_len;
    struct api_result *r = malloc(sizeof(*r) + len);
    if (!r)
        return;
    r->next = NULL;
    r->type = ev->u.result.match;
    memcpy(r->key, ev->u.result.key, 32);
    r->len = (ULONG)len;
    if (len)
        memcpy(r->data, ev->u.result.app_data, len);
    pthread_mutex_lock(&inst->lock);
    struct drt_search *s = search_by_engine_id(inst, ev->u.result.search_id);
    if (s && s->nresults >= inst->max_results && s->head) {
        struct api_result *old = s->head;
        s->head = old->next;
        if (!s->head)
            s->tail = NULL;
        s->nresults--;
        inst->results_dropped++;
        free(old);
    }
    if (s) {
        s->nresults++;
        if (s->tail)
            s->tail->next = r;
        else
            s->head = r;
        s->tail = r;
        r = NULL;
        DrtEventSet(s->event);
    }
    pthread_mutex_unlock(&inst->lock);
    free(r);
}

static void on_done(struct drt_instance *inst, const struct drt_engine_event *ev)
{
    DRT_ADDRESS *path = NULL;
    size_t n = ev->u.done.path_len;
    if (n) {
        path = calloc(n, sizeof(*path));
        for (size_t i = 0; path && i < n; i++) {
            const struct drt_engine_path_entry *pe = &ev->u.done.path[i];
            endpoint_to_storage(&pe->endpoint, &path[i].socketAddress);
            path[i].flags = pe->flags;
            path[i].nearness = (LONG)pe->nearness;
            path[i].latency = pe->rtt_ms;
        }
    }
    pthread_mutex_lock(&inst->lock);
    struct drt_search *s = search_by_engine_id(inst, ev->u.done.search_id);
    if (s && !s->done) {
        s->done = true;
        s->final_hr = ev->u.done.hr;
        s->path = path;
        s->path_len = path ? (ULONG)n : 0;
        path = NULL;
        DrtEventSet(s->event);
    }
    pthread_mutex_unlock(&inst->lock);
    free(path);
}

static void on_engine_event(void *ctx, const struct drt_engine_event *ev)
{
    struct drt_instance *inst = ctx;
    struct api_event *e;
    switch (ev->type) {
    case ENGINE_EV_STATUS: {
        DRT_STATUS st = (DRT_STATUS)ev->u.status.status;
        if ((int)ev->u.status.status == ENGINE_BOOTSTRAPPING)
            return;
        pthread_mutex_lock(&inst->lock);
        inst->status = st;
        inst->status_known = true;
        ULONG n = st == DRT_ALONE ? inst->nseeds : 0;
        pthread_mutex_unlock(&inst->lock);
        e = calloc(1, sizeof(*e) + n * sizeof(SOCKADDR_STORAGE));
        if (!e)
            return;
        e->type = DRT_EVENT_STATUS_CHANGED;
        e->status = st;
        e->hr = st == DRT_FAULTED ? E_FAIL : S_OK;
        pthread_mutex_lock(&inst->lock);
        e->naddrs = n <= inst->nseeds ? n : inst->nseeds;
        if (e->naddrs)
            memcpy(e->addrs, inst->seeds, e->naddrs * sizeof(SOCKADDR_STORAGE));
        pthread_mutex_unlock(&inst->lock);
        instance_push_event(inst, e);
        return;
    }
    case ENGINE_EV_LEAFSET:
        e = calloc(1, sizeof(*e));
        if (!e)
            return;
        e->type = DRT_EVENT_LEAFSET_KEY_CHANGED;
        e->change = ev->u.leafset.change;
        memcpy(e->local_key, ev->u.leafset.local_key, 32);
        memcpy(e->remote_key, ev->u.leafset.remote_key, 32);
        instance_push_event(inst, e);
        return;
    case ENGINE_EV_RESULT:
        on_result(inst, ev);
        return;
    case ENGINE_EV_SEARCH_DONE:
        on_done(inst, ev);
        return;
    }
}

/* --- instance -------------------------------------------------------------- */

struct create_job {
    struct drt_instance *inst;
    struct drt_transport *t;
    struct drt_engine_config cfg;
    bool ok;
};

static void create_node(void *arg)
{
    struct create_job *j = arg;
    /* The negotiations of a protected transport start with the node. */
    if (j->t->sock->ipsec)
        io_ipsec_set_caps(j->t->sock->ipsec, j->t->limits.ulMaxHalfOpen,
                          j->t->limits.ulMaxNegotiations);
    j->inst->node = io_node_create(j->t->sock, &j->cfg, on_engine_event, j->inst);
    j->ok = j->inst->node != NULL;
    /* The kernel's default (about 200 KiB) holds a millisecond or two of a
     * flood: any pause of the loop thread then drops datagrams at random,
     * the cloud's with the attacker's, before the rate limits can tell
     * them apart. A bigger buffer lets the engine do the dropping. The
     * kernel clips the request to net.core.rmem_max. */
    int rcvbuf = API_SOCKET_RCVBUF;
    if (j->ok)
        (void)uv_recv_buffer_size((uv_handle_t *)&j->t->sock->udp, &rcvbuf);
    if (j->ok)
        io_sockaddr_from_endpoint(drt_engine_self(j->inst->node->eng), 0,
                                  (struct sockaddr_in6 *)&j->inst->self);
}

static void destroy_node(void *arg)
{
    struct drt_instance *inst = arg;
    key_expiry_close(inst);
    if (!inst->node)
        return;
    /* DrtClose unregisters every key first (revocations go out). */
    drt_engine_unregister_all(inst->node->eng, io_now_ms());
    io_node_flush(inst->node);
    io_node_destroy(inst->node);
    inst->node = NULL;
}

HRESULT instance_create(const DRT_SETTINGS *settings, HANDLE event, PVOID context,
                        struct drt_instance **out)
{
    struct drt_transport *t;
    HRESULT hr = transport_check_bindable(settings->hTransport, &t);
    if (FAILED(hr))
        return hr;
    if (!t->sock)
        return DRT_E_TRANSPORT_NOT_BOUND;

    struct drt_instance *inst = calloc(1, sizeof(*inst));
    if (!inst)
        return E_OUTOFMEMORY;
    pthread_mutex_init(&inst->lock, NULL);
    inst->name = make_instance_name(settings->pwzDrtInstancePrefix);
    inst->handle = inst->name ? handle_table_add(HANDLE_TYPE_INSTANCE, inst) : NULL;
    if (!inst->handle || io_loop_acquire() != 0) {
        handle_table_remove(inst->handle);
        free(inst->name);
        pthread_mutex_destroy(&inst->lock);
        free(inst);
        return E_OUTOFMEMORY;
    }
    inst->loop_held = true;
    const DRT_LIMITS *lim = &t->limits;
    inst->max_events = lim->ulMaxEventsQueued ? lim->ulMaxEventsQueued : API_DEFAULT_MAX_EVENTS;
    inst->max_results = lim->ulMaxResultsQueued ? lim->ulMaxResultsQueued
                                                : API_DEFAULT_MAX_RESULTS;
    inst->max_searches = lim->ulMaxSearches ? lim->ulMaxSearches : DRT_ENGINE_DEFAULT_SEARCHES;
    inst->status = DRT_ALONE;
    inst->security_mode = settings->eSecurityMode;
    inst->protocol_major = settings->bProtocolMajorVersion;
    inst->protocol_minor = settings->bProtocolMinorVersion;
    inst->event = event;
    inst->context = context;
    inst->transport = settings->hTransport;
    inst->security = settings->pSecurityProvider;
    inst->bootstrap = settings->pBootstrapProvider;

    struct create_job job = {inst, t, {0}, false};
    job.cfg.version_major = settings->bProtocolMajorVersion;
    job.cfg.version_minor = settings->bProtocolMinorVersion;
    job.cfg.max_cache_entries = lim->ulMaxCacheEntries;
    job.cfg.max_keys = lim->ulMaxKeys;
    job.cfg.max_searches = lim->ulMaxSearches;
    job.cfg.max_events = lim->ulMaxEngineEvents;
    job.cfg.rate_sources = lim->ulRateSources;
    job.cfg.rate_per_source = lim->ulRatePerSource;
    job.cfg.burst_per_source = lim->ulBurstPerSource;
    job.cfg.rate_global = lim->ulRateGlobal;
    job.cfg.burst_global = lim->ulBurstGlobal;
    job.cfg.reasm_buffers = lim->ulMaxReassemblyBuffers;
    job.cfg.reasm_bytes = lim->ulMaxReassemblyBytes;
    job.cfg.mode = settings->eSecurityMode;
    hr = security_adapter_init(inst);
    if (FAILED(hr)) {
        instance_destroy(inst);
        return hr;
    }
    job.cfg.security = &inst->sec_ops;
    io_call(create_node, &job);
    if (!job.ok) {
        instance_destroy(inst);
        return E_OUTOFMEMORY;
    }
    t->bound_instance = inst->handle;
    *out = inst;
    return S_OK;
}

DRT_STATUS instance_status(struct drt_instance *inst, bool *known)
{
    pthread_mutex_lock(&inst->lock);
    DRT_STATUS st = inst->status;
    if (known)
        *known = inst->status_known;
    pthread_mutex_unlock(&inst->lock);
    return st;
}

struct stats_job {
    struct drt_instance *inst;
    struct instance_stats *out;
};

static void read_engine_stats(void *arg)
{
    struct stats_job *j = arg;
    if (j->inst->node && j->inst->node->eng)
        drt_engine_get_stats(j->inst->node->eng, &j->out->engine);
}

void instance_get_stats(struct drt_instance *inst, struct instance_stats *out)
{
    memset(out, 0, sizeof(*out));
    struct stats_job job = {inst, out};
    io_call(read_engine_stats, &job);
    pthread_mutex_lock(&inst->lock);
    out->events_dropped = inst->events_dropped;
    out->results_dropped = inst->results_dropped;
    out->events_queued = inst->nevents;
    pthread_mutex_unlock(&inst->lock);
}

void instance_destroy(struct drt_instance *inst)
{
    if (!inst)
        return;
    if (inst->loop_held) {
        io_call(destroy_node, inst);
        io_loop_release();
    }
    struct drt_transport *t = handle_table_get(inst->transport, HANDLE_TYPE_TRANSPORT);
    if (t && t->bound_instance == inst->handle)
        t->bound_instance = NULL;
    handle_table_remove(inst->handle);
    /* Searches outlive their instance until DrtEndSearch; they only lose
     * their link to it (their getters then answer E_UNEXPECTED). */
    pthread_mutex_lock(&inst->lock);
    free(inst->searches);
    inst->searches = NULL;
    inst->nsearches = 0;
    free(inst->regs);
    struct api_event *e = inst->ev_head;
    while (e) {
        struct api_event *next = e->next;
        free(e);
        e = next;
    }
    free(inst->seeds);
    pthread_mutex_unlock(&inst->lock);
    if (inst->security)
        security_adapter_release(inst);
    pthread_mutex_destroy(&inst->lock);
    free(inst->name);
    free(inst);
}

