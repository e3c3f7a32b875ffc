/* objects.c - construction and destruction of the objects behind API
 * handles, and the engine events that feed their queues (api_internal.h). */
#include "api/api_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>

#include "core/engine.h"
#include "io/io_loop.h"
#include "io/io_node.h"
#include "util/key256.h"

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

HRESULT transport_check_bindable(HDRT_TRANSPORT h, struct drt_transport **out)
{
    struct drt_transport *t = handle_table_get(h, HANDLE_TYPE_TRANSPORT);
    if (!t)
        return DRT_E_INVALID_TRANSPORT_PROVIDER;
    if (t->bound_instance)
        return DRT_E_TRANSPORTPROVIDER_IN_USE;
    *out = t;
    return S_OK;
}

/* --- engine events (loop thread) ------------------------------------------ */

static void push_event(struct drt_instance *inst, struct api_event *ev)
{
    pthread_mutex_lock(&inst->lock);
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
    if (s) {
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
        push_event(inst, e);
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
        push_event(inst, e);
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
    j->inst->node = io_node_create(j->t->sock, &j->cfg, on_engine_event, j->inst);
    j->ok = j->inst->node != NULL;
    if (j->ok)
        io_sockaddr_from_endpoint(drt_engine_self(j->inst->node->eng), 0,
                                  (struct sockaddr_in6 *)&j->inst->self);
}

static void destroy_node(void *arg)
{
    struct drt_instance *inst = arg;
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
    security_adapter_init(inst);
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
    pthread_mutex_destroy(&inst->lock);
    free(inst->name);
    free(inst);
}

/* --- bootstrap ------------------------------------------------------------- */

struct resolve_wait {
    struct drt_instance *inst;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool finished;
    bool fatal;
};

static void CALLBACK on_resolved(HRESULT hr, PVOID ctx, SOCKET_ADDRESS_LIST *list, BOOL fatal)
{
    struct resolve_wait *w = ctx;
    if (SUCCEEDED(hr) && hr != DRT_E_NO_MORE && list) {
        struct drt_instance *inst = w->inst;
        pthread_mutex_lock(&inst->lock);
        for (INT i = 0; i < list->iAddressCount; i++) {
            const SOCKET_ADDRESS *sa = &list->Address[i];
            if (!sa->lpSockaddr || (size_t)sa->iSockaddrLength > sizeof(SOCKADDR_STORAGE) ||
                inst->nseeds >= 256)
                continue;
            SOCKADDR_STORAGE *grown =
                realloc(inst->seeds, (inst->nseeds + 1) * sizeof(SOCKADDR_STORAGE));
            if (!grown)
                break;
            inst->seeds = grown;
            memset(&inst->seeds[inst->nseeds], 0, sizeof(SOCKADDR_STORAGE));
            memcpy(&inst->seeds[inst->nseeds], sa->lpSockaddr, (size_t)sa->iSockaddrLength);
            inst->nseeds++;
        }
        pthread_mutex_unlock(&inst->lock);
    }
    if (hr == DRT_E_NO_MORE || FAILED(hr) || fatal) {
        pthread_mutex_lock(&w->lock);
        w->finished = true;
        w->fatal = w->fatal || fatal;
        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(&w->lock);
    }
}

struct bootstrap_job {
    struct drt_instance *inst;
    struct drt_endpoint *seeds;
    size_t n;
    bool fault;
    struct drt_endpoint self; /* out: where this node is reached */
};

static void start_bootstrap(void *arg)
{
    struct bootstrap_job *j = arg;
    struct io_node *node = j->inst->node;
    if (!node)
        return;
    if (j->fault)
        drt_engine_fault(node->eng, io_now_ms());
    else
        drt_engine_bootstrap(node->eng, j->seeds, j->n, io_now_ms());
    j->self = *drt_engine_self(node->eng);
    io_node_flush(node);
}

#define RESOLVE_TIMEOUT_MS 10000u
#define RESOLVE_MAX_RESULTS 32u

ULONG instance_bootstrap(struct drt_instance *inst)
{
    DRT_BOOTSTRAP_PROVIDER *bp = inst->bootstrap;
    struct resolve_wait w = {inst, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false,
                             false};
    DRT_BOOTSTRAP_RESOLVE_CONTEXT rc = NULL;
    BOOL fatal = FALSE;
    HRESULT hr = bp->InitResolve(bp->pvContext, FALSE, RESOLVE_TIMEOUT_MS, RESOLVE_MAX_RESULTS, &rc,
                                 &fatal);
    if (SUCCEEDED(hr)) {
        fatal = FALSE;
        hr = bp->IssueResolve(bp->pvContext, &w, on_resolved, rc, &fatal);
        if (SUCCEEDED(hr)) {
            /* The provider may answer inside IssueResolve or later from its
             * own thread; wait (bounded) for its DRT_E_NO_MORE. */
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += RESOLVE_TIMEOUT_MS / 1000;
            pthread_mutex_lock(&w.lock);
            while (!w.finished)
                if (pthread_cond_timedwait(&w.cond, &w.lock, &until) != 0)
                    break;
            fatal = fatal || w.fatal;
            pthread_mutex_unlock(&w.lock);
        }
        bp->EndResolve(bp->pvContext, rc);
    }
    pthread_mutex_lock(&inst->lock);
    size_t n = inst->nseeds;
    struct drt_endpoint *seeds = calloc(n ? n : 1, sizeof(*seeds));
    size_t k = 0;
    for (size_t i = 0; seeds && i < n; i++)
        if (io_endpoint_from_sockaddr((const struct sockaddr *)&inst->seeds[i], &seeds[k]))
            k++;
    pthread_mutex_unlock(&inst->lock);
    struct bootstrap_job job = {inst, seeds, k, fatal != FALSE, {{0}, 0}};
    io_call(start_bootstrap, &job);
    free(seeds);
    /* Hand our endpoint to the bootstrap mechanism, for providers that can
     * publish it (a DNS resolver cannot; its Register does nothing). */
    struct sockaddr_in6 me;
    io_sockaddr_from_endpoint(&job.self, 0, &me);
    SOCKET_ADDRESS_LIST list = {1, {{(LPSOCKADDR)&me, sizeof(me)}}};
    (void)bp->Register(bp->pvContext, &list);
    pthread_cond_destroy(&w.cond);
    pthread_mutex_destroy(&w.lock);
    return (ULONG)k;
}

/* --- transport ------------------------------------------------------------- */

struct socket_job {
    bool link_local;
    uint32_t scope_id;
    uint16_t port;
    struct io_socket *sock;
    int rc;
};

static void open_socket(void *arg)
{
    struct socket_job *j = arg;
    j->rc = io_socket_open(j->link_local, j->scope_id, &j->port, &j->sock);
}

static void close_socket(void *arg)
{
    io_socket_close(arg);
}

HRESULT transport_create(DRT_SCOPE scope, ULONG scope_id, USHORT *port, struct drt_transport **out)
{
    struct drt_transport *t = calloc(1, sizeof(*t));
    if (!t)
        return E_OUTOFMEMORY;
    if (io_loop_acquire() != 0) {
        free(t);
        return E_OUTOFMEMORY;
    }
    struct socket_job job = {scope == DRT_LINK_LOCAL_SCOPE, scope_id, *port, NULL, 0};
    io_call(open_socket, &job);
    if (job.rc != 0) {
        io_loop_release();
        free(t);
        /* WSAEADDRINUSE, WSAEACCES, or a generic failure, as Win32 codes. */
        if (job.rc == UV_EADDRINUSE)
            return HRESULT_FROM_WIN32(10048L);
        if (job.rc == UV_EACCES)
            return HRESULT_FROM_WIN32(10013L);
        return E_FAIL;
    }
    t->handle = handle_table_add(HANDLE_TYPE_TRANSPORT, t);
    if (!t->handle) {
        io_call(close_socket, job.sock);
        io_loop_release();
        free(t);
        return E_OUTOFMEMORY;
    }
    t->scope = scope;
    t->scope_id = scope_id;
    t->port = job.port;
    t->sock = job.sock;
    *port = job.port;
    *out = t;
    return S_OK;
}

void transport_destroy(struct drt_transport *t)
{
    if (!t)
        return;
    handle_table_remove(t->handle);
    if (t->sock) {
        io_call(close_socket, t->sock);
        io_loop_release();
    }
    free(t);
}

/* --- registrations and searches ------------------------------------------- */

/* Adds p to a pointer array under the instance lock. */
static bool ptr_push(void ***arr, size_t *n, size_t *cap, void *p)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 8;
        void **a = realloc(*arr, c * sizeof(*a));
        if (!a)
            return false;
        *arr = a;
        *cap = c;
    }
    (*arr)[(*n)++] = p;
    return true;
}

static void ptr_remove(void **arr, size_t *n, const void *p)
{
    for (size_t i = 0; i < *n; i++)
        if (arr[i] == p) {
            arr[i] = arr[--*n];
            return;
        }
}

HRESULT registration_create(struct drt_instance *inst, struct drt_registration **out)
{
    struct drt_registration *reg = calloc(1, sizeof(*reg));
    if (!reg)
        return E_OUTOFMEMORY;
    reg->handle = handle_table_add(HANDLE_TYPE_REGISTRATION, reg);
    pthread_mutex_lock(&inst->lock);
    bool ok = reg->handle &&
              ptr_push((void ***)&inst->regs, &inst->nregs, &inst->cap_regs, reg);
    pthread_mutex_unlock(&inst->lock);
    if (!ok) {
        handle_table_remove(reg->handle);
        free(reg);
        return E_OUTOFMEMORY;
    }
    reg->instance = inst->handle;
    *out = reg;
    return S_OK;
}

void registration_destroy(struct drt_registration *reg)
{
    if (!reg)
        return;
    struct drt_instance *inst = handle_table_get(reg->instance, HANDLE_TYPE_INSTANCE);
    if (inst) {
        pthread_mutex_lock(&inst->lock);
        ptr_remove((void **)inst->regs, &inst->nregs, reg);
        pthread_mutex_unlock(&inst->lock);
    }
    handle_table_remove(reg->handle);
    free(reg);
}

HRESULT search_create(struct drt_instance *inst, bool iterative, HANDLE event, PVOID context,
                      struct drt_search **out)
{
    struct drt_search *search = calloc(1, sizeof(*search));
    if (!search)
        return E_OUTOFMEMORY;
    search->handle = handle_table_add(HANDLE_TYPE_SEARCH, search);
    if (!search->handle) {
        free(search);
        return E_OUTOFMEMORY;
    }
    search->instance = inst->handle;
    search->iterative = iterative;
    search->event = event;
    search->context = context;
    pthread_mutex_lock(&inst->lock);
    bool ok = ptr_push((void ***)&inst->searches, &inst->nsearches, &inst->cap_searches, search);
    pthread_mutex_unlock(&inst->lock);
    if (!ok) {
        handle_table_remove(search->handle);
        free(search);
        return E_OUTOFMEMORY;
    }
    *out = search;
    return S_OK;
}

void search_destroy(struct drt_search *search)
{
    if (!search)
        return;
    struct drt_instance *inst = handle_table_get(search->instance, HANDLE_TYPE_INSTANCE);
    if (inst) {
        pthread_mutex_lock(&inst->lock);
        ptr_remove((void **)inst->searches, &inst->nsearches, search);
        pthread_mutex_unlock(&inst->lock);
    }
    handle_table_remove(search->handle);
    struct api_result *r = search->head;
    while (r) {
        struct api_result *next = r->next;
        free(r);
        r = next;
    }
    free(search->path);
    free(search);
}

int api_key_compare(const DRT_DATA *a, const DRT_DATA *b)
{
    drt_key ka, kb;
    key256_from_bytes(&ka, a->pb);
    key256_from_bytes(&kb, b->pb);
    return key256_cmp(&ka, &kb);
}
