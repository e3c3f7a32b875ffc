/*
 * instance_bootstrap.c - DrtOpen's bootstrap: one resolve through the
 * bootstrap provider (which may answer inline or from its own thread),
 * the engine's bootstrap from those seeds, and the node's endpoint handed
 * to the provider's Register.
 */
#include <pthread.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "core/engine.h"
#include "io/io_loop.h"
#include "io/io_node.h"

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

