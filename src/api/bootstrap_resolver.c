/*
 * bootstrap_resolver.c - the DRT_BOOTSTRAP_PROVIDER callbacks of the
 * built-in resolvers (reference §5.2, docs/API.md "Bootstrap resolvers").
 *
 * A resolve runs synchronously inside IssueResolve on the caller's thread:
 * gather, one S_OK callback with the batch (when there is one), then one
 * DRT_E_NO_MORE callback. EndResolve may come from inside a callback (the
 * context is then released when IssueResolve unwinds) or from another
 * thread (it cancels the rest and waits for the running callback).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "api/bootstrap_resolver.h"

struct bootstrap_resolve {
    struct bootstrap_resolver *r;
    ULONG max_results;
    bool issued;
    bool running;       /* inside IssueResolve */
    pthread_t runner;   /* valid while running */
    bool cancelled;     /* EndResolve seen: no further callbacks */
    bool end_on_return; /* EndResolve came from a callback: IssueResolve frees */
};

/* ---- address batch ---------------------------------------------------- */

static bool same_endpoint(const SOCKADDR_IN6 *a, const SOCKADDR_IN6 *b)
{
    return a->sin6_port == b->sin6_port && a->sin6_scope_id == b->sin6_scope_id &&
           memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(a->sin6_addr)) == 0;
}

bool bootstrap_addrs_add(struct bootstrap_addrs *a, const struct sockaddr *sa, size_t salen,
                         USHORT port)
{
    if (a->cap == SIZE_MAX) /* an earlier allocation failed */
        return false;
    if (a->max && a->n >= a->max)
        return false;

    SOCKADDR_IN6 e;
    memset(&e, 0, sizeof(e));
    e.sin6_family = AF_INET6;
#ifdef SIN6_LEN
    e.sin6_len = sizeof(e);
#endif
    if (sa->sa_family == AF_INET && salen >= sizeof(SOCKADDR_IN)) {
        SOCKADDR_IN v4;
        memcpy(&v4, sa, sizeof(v4));
        /* ::ffff:a.b.c.d, what a dual-stack socket reports for IPv4 peers
         * and accepts as a destination (docs/API.md: not ISATAP). */
        e.sin6_addr.s6_addr[10] = 0xff;
        e.sin6_addr.s6_addr[11] = 0xff;
        memcpy(&e.sin6_addr.s6_addr[12], &v4.sin_addr, 4);
        e.sin6_port = v4.sin_port;
    } else if (sa->sa_family == AF_INET6 && salen >= sizeof(SOCKADDR_IN6)) {
        SOCKADDR_IN6 v6;
        memcpy(&v6, sa, sizeof(v6));
        e.sin6_addr = v6.sin6_addr;
        e.sin6_port = v6.sin6_port;
        e.sin6_scope_id = v6.sin6_scope_id;
    } else {
        return true;
    }
    if (port)
        e.sin6_port = htons(port);

    for (size_t i = 0; i < a->n; i++)
        if (same_endpoint(&a->v[i], &e))
            return true;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 8;
        SOCKADDR_IN6 *v = realloc(a->v, cap * sizeof(*v));
        if (!v) {
            a->cap = SIZE_MAX;
            return false;
        }
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = e;
    return !(a->max && a->n >= a->max);
}

HRESULT bootstrap_addrs_status(const struct bootstrap_addrs *a)
{
    return a->cap == SIZE_MAX ? E_OUTOFMEMORY : S_OK;
}

/* One block, so the list and the addresses it points to go with one free. */
static SOCKET_ADDRESS_LIST *address_list_new(const struct bootstrap_addrs *a)
{
    size_t head = offsetof(SOCKET_ADDRESS_LIST, Address) + a->n * sizeof(SOCKET_ADDRESS);
    /* Round up so the SOCKADDR_IN6 array is aligned for its members. */
    head = (head + _Alignof(SOCKADDR_IN6) - 1) / _Alignof(SOCKADDR_IN6) * _Alignof(SOCKADDR_IN6);
    unsigned char *block = malloc(head + a->n * sizeof(SOCKADDR_IN6));
    if (!block)
        return NULL;
    SOCKET_ADDRESS_LIST *list = (SOCKET_ADDRESS_LIST *)(void *)block;
    SOCKADDR_IN6 *addrs = (SOCKADDR_IN6 *)(void *)(block + head);
    list->iAddressCount = (INT)a->n;
    for (size_t i = 0; i < a->n; i++) {
        addrs[i] = a->v[i];
        list->Address[i].lpSockaddr = (LPSOCKADDR)(void *)&addrs[i];
        list->Address[i].iSockaddrLength = (INT)sizeof(SOCKADDR_IN6);
    }
    return list;
}

/* ---- the vtable -------------------------------------------------------- */

static void set_fatal(BOOL *fFatalError)
{
    /* Nothing these resolvers do is unrecoverable for the DRT. */
    if (fFatalError)
        *fFatalError = FALSE;
}

static HRESULT resolver_attach(const PVOID pvContext)
{
    struct bootstrap_resolver *r = pvContext;
    pthread_mutex_lock(&r->lock);
    HRESULT hr = r->attached ? DRT_E_BOOTSTRAPPROVIDER_IN_USE : S_OK;
    r->attached = true;
    pthread_mutex_unlock(&r->lock);
    return hr;
}

static VOID resolver_detach(const PVOID pvContext)
{
    struct bootstrap_resolver *r = pvContext;
    pthread_mutex_lock(&r->lock);
    r->attached = false;
    pthread_mutex_unlock(&r->lock);
}

static HRESULT resolver_init_resolve(const PVOID pvContext, BOOL fSplitDetect, ULONG timeout,
                                     ULONG cMaxResults,
                                     DRT_BOOTSTRAP_RESOLVE_CONTEXT *ResolveContext,
                                     BOOL *fFatalError)
{
    struct bootstrap_resolver *r = pvContext;
    set_fatal(fFatalError);
    if (!ResolveContext)
        return E_INVALIDARG;
    *ResolveContext = NULL;
    pthread_mutex_lock(&r->lock);
    bool attached = r->attached;
    pthread_mutex_unlock(&r->lock);
    if (!attached)
        return DRT_E_BOOTSTRAPPROVIDER_NOT_ATTACHED;
    struct bootstrap_resolve *rs = calloc(1, sizeof(*rs));
    if (!rs)
        return E_OUTOFMEMORY;
    rs->r = r;
    rs->max_results = cMaxResults;
    *ResolveContext = rs;
    return S_OK;
}

bool bootstrap_resolve_cancelled(struct bootstrap_resolve *rs)
{
    pthread_mutex_lock(&rs->r->lock);
    bool c = rs->cancelled;
    pthread_mutex_unlock(&rs->r->lock);
    return c;
}

/* Leaves the running state; true when the context must be freed now
 * because EndResolve was called from one of our callbacks. */
static bool leave_running(struct bootstrap_resolve *rs)
{
    struct bootstrap_resolver *r = rs->r;
    pthread_mutex_lock(&r->lock);
    rs->running = false;
    bool free_now = rs->end_on_return;
    pthread_cond_broadcast(&r->idle);
    pthread_mutex_unlock(&r->lock);
    return free_now;
}

static HRESULT resolver_issue_resolve(const PVOID pvContext, const PVOID pvCallbackContext,
                                      DRT_BOOTSTRAP_RESOLVE_CALLBACK callback,
                                      DRT_BOOTSTRAP_RESOLVE_CONTEXT ResolveContext,
                                      BOOL *fFatalError)
{
    struct bootstrap_resolver *r = pvContext;
    struct bootstrap_resolve *rs = ResolveContext;
    set_fatal(fFatalError);
    if (!callback || !rs || rs->r != r)
        return E_INVALIDARG;

    pthread_mutex_lock(&r->lock);
    HRESULT hr = S_OK;
    if (!r->attached)
        hr = DRT_E_BOOTSTRAPPROVIDER_NOT_ATTACHED;
    else if (rs->issued || rs->cancelled)
        hr = E_UNEXPECTED; /* one IssueResolve per InitResolve */
    if (hr == S_OK) {
        rs->issued = true;
        rs->running = true;
        rs->runner = pthread_self();
    }
    pthread_mutex_unlock(&r->lock);
    if (hr != S_OK)
        return hr;

    struct bootstrap_addrs found = {.max = rs->max_results};
    hr = r->gather(r, rs, &found);
    if (hr == S_OK)
        hr = bootstrap_addrs_status(&found);
    SOCKET_ADDRESS_LIST *list = NULL;
    if (hr == S_OK && found.n > 0) {
        list = address_list_new(&found);
        if (!list)
            hr = E_OUTOFMEMORY;
    }
    free(found.v);

    /* A failure is returned without any callback, so the DRT sees exactly
     * one outcome: either the HRESULT or the callback sequence. */
    if (hr == S_OK) {
        if (list && !bootstrap_resolve_cancelled(rs))
            callback(S_OK, pvCallbackContext, list, FALSE);
        if (!bootstrap_resolve_cancelled(rs))
            callback(DRT_E_NO_MORE, pvCallbackContext, NULL, FALSE);
    }
    free(list);
    if (leave_running(rs))
        free(rs);
    return hr;
}

static VOID resolver_end_resolve(const PVOID pvContext, DRT_BOOTSTRAP_RESOLVE_CONTEXT ResolveContext)
{
    struct bootstrap_resolver *r = pvContext;
    struct bootstrap_resolve *rs = ResolveContext;
    if (!rs)
        return;
    pthread_mutex_lock(&r->lock);
    rs->cancelled = true;
    if (rs->running && pthread_equal(rs->runner, pthread_self())) {
        /* Called from our own callback: IssueResolve is still on the stack
         * and touches the context once more, so it frees it. */
        rs->end_on_return = true;
        pthread_mutex_unlock(&r->lock);
        return;
    }
    while (rs->running)
        pthread_cond_wait(&r->idle, &r->lock);
    pthread_mutex_unlock(&r->lock);
    free(rs);
}

static HRESULT resolver_register(const PVOID pvContext, const SOCKET_ADDRESS_LIST *pAddressList)
{
    /* Neither DNS nor a fixed list can publish our endpoints. */
    return S_OK;
}

static VOID resolver_unregister(const PVOID pvContext)
{
}

HRESULT bootstrap_resolver_init(struct bootstrap_resolver *r, enum bootstrap_kind kind,
                                bootstrap_gather_fn gather)
{
    memset(r, 0, sizeof(*r));
    if (pthread_mutex_init(&r->lock, NULL) != 0)
        return E_OUTOFMEMORY;
    if (pthread_cond_init(&r->idle, NULL) != 0) {
        pthread_mutex_destroy(&r->lock);
        return E_OUTOFMEMORY;
    }
    r->kind = kind;
    r->gather = gather;
    r->provider = (DRT_BOOTSTRAP_PROVIDER){
        .pvContext = r,
        .Attach = resolver_attach,
        .Detach = resolver_detach,
        .InitResolve = resolver_init_resolve,
        .IssueResolve = resolver_issue_resolve,
        .EndResolve = resolver_end_resolve,
        .Register = resolver_register,
        .Unregister = resolver_unregister,
    };
    return S_OK;
}

void bootstrap_resolver_fini(struct bootstrap_resolver *r)
{
    pthread_cond_destroy(&r->idle);
    pthread_mutex_destroy(&r->lock);
}

struct bootstrap_resolver *bootstrap_resolver_from(DRT_BOOTSTRAP_PROVIDER *p,
                                                   enum bootstrap_kind kind)
{
    /* pvContext pointing back at the table is how our objects recognise
     * themselves; the kind keeps DNS and static deleters apart. */
    if (!p || p->pvContext != (PVOID)p || p->Attach != resolver_attach)
        return NULL;
    struct bootstrap_resolver *r = (struct bootstrap_resolver *)p;
    return r->kind == kind ? r : NULL;
}
