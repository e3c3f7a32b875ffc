/*
 * drt_search.c - DrtStartSearch and the search-context functions.
 * Validation order: docs/API.md.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "core/engine.h"
#include "io/io_loop.h"
#include "io/io_node.h"
#include "util/export.h"

/* A search's [min, max] range: both bounds or neither, 32 bytes each, not
 * wrapping (min <= max), and the target inside it. */
static HRESULT validate_range(const DRT_DATA *target, const DRT_SEARCH_INFO *info)
{
    const DRT_DATA *min = info->pMinimumKey, *max = info->pMaximumKey;

    if (!min && !max)
        return S_OK;
    if (!min || !max || !min->pb || !max->pb)
        return E_INVALIDARG;
    if (min->cb != 32 || max->cb != 32)
        return DRT_E_INVALID_KEY_SIZE;
    if (api_key_compare(min, max) > 0 || api_key_compare(target, min) < 0 ||
        api_key_compare(target, max) > 0)
        return DRT_E_INVALID_SEARCH_RANGE;
    return S_OK;
}

static HRESULT validate_search_info(const DRT_DATA *target, const DRT_SEARCH_INFO *info)
{
    if (!info)
        return S_OK;
    if (info->dwSize != sizeof(DRT_SEARCH_INFO))
        return DRT_E_INVALID_SEARCH_INFO;
    if (info->cMaxEndpoints == 0 || (info->fAnyMatchInRange && info->cMaxEndpoints > 1))
        return DRT_E_INVALID_MAX_ENDPOINTS;
    return validate_range(target, info);
}


/* The start job (posted). A search that cannot start in its engine ends
 * at once with that error, which its getters then answer. */
static void start_on_loop(void *arg)
{
    struct drt_search *search = arg;
    struct drt_instance *inst = handle_table_get(search->instance, HANDLE_TYPE_INSTANCE);
    struct io_node *n = inst ? inst->node : NULL;
    if (!n)
        return; /* its DRT is closing: the getters answer E_UNEXPECTED */
    /* Results of a search that ends at once are delivered by the flush
     * below, after the id is known. */
    HRESULT hr = drt_engine_search_start(n->eng, &search->params, &search->engine_id,
                                         io_now_ms());
    if (FAILED(hr)) {
        pthread_mutex_lock(&inst->lock);
        bool open = false; /* not yet ended: its event is still the caller's */
        for (size_t i = 0; i < inst->nsearches && !open; i++)
            open = inst->searches[i] == search;
        if (open && !search->done) {
            search->done = true;
            search->final_hr = hr;
            DrtEventSet(search->event);
        }
        pthread_mutex_unlock(&inst->lock);
    }
    io_node_flush(n);
}

/* The end job (posted after the start job): the engine forgets the search
 * and the search is freed. */
static void end_on_loop(void *arg)
{
    struct drt_search *search = arg;
    struct drt_instance *inst = handle_table_get(search->instance, HANDLE_TYPE_INSTANCE);
    struct io_node *n = inst ? inst->node : NULL;
    if (n && search->engine_id) {
        drt_engine_search_cancel(n->eng, search->engine_id);
        io_node_flush(n);
    }
    search_free(search);
}

struct continue_job {
    struct drt_instance *inst;
    struct drt_search *search;
    HRESULT hr;
};

static void do_continue(void *arg)
{
    struct continue_job *j = arg;
    struct io_node *n = j->inst->node;
    j->hr = n ? drt_engine_search_continue(n->eng, j->search->engine_id, io_now_ms())
              : E_UNEXPECTED;
    if (n)
        io_node_flush(n);
}

DRT_EXPORT HRESULT WINAPI DrtStartSearch(HDRT hDrt, DRT_DATA *pKey, const DRT_SEARCH_INFO *pInfo,
                                         ULONG timeout, HANDLE hEvent, const PVOID pvContext,
                                         HDRT_SEARCH_CONTEXT *hSearchContext)
{
    if (!hSearchContext)
        return E_INVALIDARG;
    *hSearchContext = NULL;
    if (!pKey || !pKey->pb || !hEvent)
        return E_INVALIDARG;
    struct drt_instance *inst = handle_table_get(hDrt, HANDLE_TYPE_INSTANCE);
    if (!inst)
        return E_HANDLE;
    if (pKey->cb != 32)
        return DRT_E_INVALID_KEY_SIZE;
    HRESULT hr = validate_search_info(pKey, pInfo);
    if (FAILED(hr))
        return hr;
    if (instance_status(inst, NULL) == DRT_FAULTED)
        return DRT_E_FAULTED;

    struct drt_search *search;
    hr = search_create(inst, pInfo && pInfo->fIterative, hEvent, pvContext, &search);
    if (FAILED(hr))
        return hr;
    /* Defaults without pInfo (drt-api §13.2-4): exact match, one result,
     * remote keys only, not iterative. */
    struct drt_engine_search_params *p = &search->params;
    memcpy(p->target, pKey->pb, 32);
    memcpy(p->min, pKey->pb, 32);
    memcpy(p->max, pKey->pb, 32);
    p->max_results = 1;
    if (pInfo) {
        if (pInfo->pMinimumKey) {
            memcpy(p->min, pInfo->pMinimumKey->pb, 32);
            memcpy(p->max, pInfo->pMaximumKey->pb, 32);
        }
        /* An iterative search reports its hops and one final result. */
        p->max_results = pInfo->fIterative ? 1 : pInfo->cMaxEndpoints;
        p->iterative = pInfo->fIterative != FALSE;
        p->allow_local = pInfo->fAllowCurrentInstanceMatch != FALSE;
        p->any_in_range = pInfo->fAnyMatchInRange != FALSE;
    }
    /* timeout is in milliseconds; INFINITE (and 0) mean no deadline. */
    p->timeout_ms = timeout == INFINITE ? 0 : timeout;

    /* The handle is returned before the search starts on the loop thread:
     * what could refuse it there (the cap on open searches, a FAULTED
     * DRT) was checked above, and the engine keeps room for every open
     * search. */
    *hSearchContext = search->handle;
    io_post(&search->start_job, start_on_loop, search);
    return S_OK;
}

DRT_EXPORT HRESULT WINAPI DrtContinueSearch(HDRT_SEARCH_CONTEXT hSearchContext)
{
    struct drt_search *search = handle_table_get(hSearchContext, HANDLE_TYPE_SEARCH);
    if (!search)
        return E_HANDLE;
    if (!search->iterative)
        return E_UNEXPECTED;
    struct drt_instance *inst = handle_table_get(search->instance, HANDLE_TYPE_INSTANCE);
    if (!inst)
        return E_UNEXPECTED;
    struct continue_job job = {inst, search, S_OK};
    io_call(do_continue, &job);
    return job.hr;
}

/* The instance a search belongs to must still be usable for its results. */
static struct drt_instance *search_instance(const struct drt_search *search, HRESULT *hr)
{
    struct drt_instance *inst = handle_table_get(search->instance, HANDLE_TYPE_INSTANCE);
    if (!inst)
        *hr = E_UNEXPECTED;
    else if (instance_status(inst, NULL) == DRT_FAULTED)
        *hr = DRT_E_FAULTED;
    else
        *hr = S_OK;
    return SUCCEEDED(*hr) ? inst : NULL;
}

/* Size of a result: the structure, then its key and app data. */
static ULONG result_size(const struct api_result *r)
{
    return (ULONG)(sizeof(DRT_SEARCH_RESULT) + 32 + r->len);
}

/* With the instance lock held: the answer when no result is queued. The
 * search event is manual-reset and reset here while more may come. */
static HRESULT empty_answer(struct drt_search *search)
{
    if (!search->done) {
        DrtEventReset(search->event);
        return DRT_E_SEARCH_IN_PROGRESS;
    }
    /* A timeout is told apart, and so is a search its engine could not
     * start (out of memory, or the DRT faulted in between). */
    HRESULT hr = search->final_hr;
    return hr == DRT_E_TIMEOUT || hr == E_OUTOFMEMORY || hr == DRT_E_FAULTED ? hr
                                                                            : DRT_E_NO_MORE;
}

DRT_EXPORT HRESULT WINAPI DrtGetSearchResultSize(HDRT_SEARCH_CONTEXT hSearchContext,
                                                 ULONG *pulSearchResultSize)
{
    if (!pulSearchResultSize)
        return E_INVALIDARG;
    struct drt_search *search = handle_table_get(hSearchContext, HANDLE_TYPE_SEARCH);
    if (!search)
        return E_HANDLE;
    HRESULT hr;
    struct drt_instance *inst = search_instance(search, &hr);
    if (!inst)
        return hr;
    pthread_mutex_lock(&inst->lock);
    *pulSearchResultSize = search->head ? result_size(search->head) : 0;
    hr = search->head ? S_OK : empty_answer(search);
    pthread_mutex_unlock(&inst->lock);
    return hr;
}

DRT_EXPORT HRESULT WINAPI DrtGetSearchResult(HDRT_SEARCH_CONTEXT hSearchContext,
                                             ULONG ulSearchResultSize,
                                             DRT_SEARCH_RESULT *pSearchResult)
{
    if (!pSearchResult || ulSearchResultSize < sizeof(DRT_SEARCH_RESULT))
        return E_INVALIDARG;
    struct drt_search *search = handle_table_get(hSearchContext, HANDLE_TYPE_SEARCH);
    if (!search)
        return E_HANDLE;
    HRESULT hr;
    struct drt_instance *inst = search_instance(search, &hr);
    if (!inst)
        return hr;
    pthread_mutex_lock(&inst->lock);
    struct api_result *r = search->head;
    if (!r) {
        hr = empty_answer(search);
        pthread_mutex_unlock(&inst->lock);
        return hr;
    }
    if (ulSearchResultSize < result_size(r)) {
        pthread_mutex_unlock(&inst->lock);
        return DRT_E_INSUFFICIENT_BUFFER;
    }
    search->head = r->next;
    search->nresults--;
    if (!search->head) {
        search->tail = NULL;
        if (!search->done)
            DrtEventReset(search->event);
    }
    pthread_mutex_unlock(&inst->lock);

    /* The structure, then the key and the app data its DRT_DATAs point to. */
    BYTE *tail = (BYTE *)(pSearchResult + 1);
    memcpy(tail, r->key, 32);
    if (r->len)
        memcpy(tail + 32, r->data, r->len);
    pSearchResult->dwSize = sizeof(DRT_SEARCH_RESULT);
    pSearchResult->type = r->type;
    pSearchResult->pvContext = search->context;
    pSearchResult->registration.key = (DRT_DATA){32, tail};
    pSearchResult->registration.appData = (DRT_DATA){r->len, r->len ? tail + 32 : NULL};
    free(r);
    return S_OK;
}

/* The path is known once the search ended; before that it is empty. */
static ULONG path_size(ULONG n)
{
    size_t size = offsetof(DRT_ADDRESS_LIST, AddressList) + (size_t)n * sizeof(DRT_ADDRESS);
    return (ULONG)(size < sizeof(DRT_ADDRESS_LIST) ? sizeof(DRT_ADDRESS_LIST) : size);
}

DRT_EXPORT HRESULT WINAPI DrtGetSearchPathSize(HDRT_SEARCH_CONTEXT hSearchContext,
                                               ULONG *pulSearchPathSize)
{
    if (!pulSearchPathSize)
        return E_INVALIDARG;
    struct drt_search *search = handle_table_get(hSearchContext, HANDLE_TYPE_SEARCH);
    if (!search)
        return E_HANDLE;
    struct drt_instance *inst = handle_table_get(search->instance, HANDLE_TYPE_INSTANCE);
    if (!inst)
        return E_UNEXPECTED;
    pthread_mutex_lock(&inst->lock);
    *pulSearchPathSize = path_size(search->path_len);
    pthread_mutex_unlock(&inst->lock);
    return S_OK;
}

DRT_EXPORT HRESULT WINAPI DrtGetSearchPath(HDRT_SEARCH_CONTEXT hSearchContext,
                                           ULONG ulSearchPathSize, DRT_ADDRESS_LIST *pSearchPath)
{
    if (!pSearchPath)
        return E_INVALIDARG;
    struct drt_search *search = handle_table_get(hSearchContext, HANDLE_TYPE_SEARCH);
    if (!search)
        return E_HANDLE;
    struct drt_instance *inst = handle_table_get(search->instance, HANDLE_TYPE_INSTANCE);
    if (!inst)
        return E_UNEXPECTED;
    pthread_mutex_lock(&inst->lock);
    HRESULT hr = S_OK;
    if (ulSearchPathSize < path_size(search->path_len)) {
        hr = DRT_E_INSUFFICIENT_BUFFER;
    } else {
        pSearchPath->AddressCount = search->path_len;
        if (search->path_len)
            memcpy(pSearchPath->AddressList, search->path,
                   search->path_len * sizeof(DRT_ADDRESS));
    }
    pthread_mutex_unlock(&inst->lock);
    return hr;
}

DRT_EXPORT HRESULT WINAPI DrtEndSearch(HDRT_SEARCH_CONTEXT hSearchContext)
{
    struct drt_search *search = handle_table_get(hSearchContext, HANDLE_TYPE_SEARCH);
    if (!search)
        return E_HANDLE;
    /* A search whose instance is gone is still released, so it cannot
     * leak; its start job ran before the instance's close did. */
    struct drt_instance *inst = handle_table_get(search->instance, HANDLE_TYPE_INSTANCE);
    search_detach(search);
    if (!inst) {
        search_free(search);
        return E_UNEXPECTED;
    }
    io_post(&search->end_job, end_on_loop, search);
    return S_OK;
}
