/*
 * drt_search.c - DrtStartSearch and the search-context functions.
 * Validation order: docs/API.md.
 */
#include "api/api_internal.h"
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
    if (inst->status == DRT_FAULTED)
        return DRT_E_FAULTED;
    /* Lookups arrive with the engine. */
    return E_NOTIMPL;
}

DRT_EXPORT HRESULT WINAPI DrtContinueSearch(HDRT_SEARCH_CONTEXT hSearchContext)
{
    struct drt_search *search = handle_table_get(hSearchContext, HANDLE_TYPE_SEARCH);
    if (!search)
        return E_HANDLE;
    if (!search->iterative)
        return E_UNEXPECTED;
    return E_NOTIMPL;
}

/* The instance a search belongs to must still be usable for its results. */
static HRESULT search_instance_state(const struct drt_search *search)
{
    struct drt_instance *inst = handle_table_get(search->instance, HANDLE_TYPE_INSTANCE);
    if (!inst)
        return E_UNEXPECTED;
    if (inst->status == DRT_FAULTED)
        return DRT_E_FAULTED;
    return S_OK;
}

DRT_EXPORT HRESULT WINAPI DrtGetSearchResultSize(HDRT_SEARCH_CONTEXT hSearchContext,
                                                 ULONG *pulSearchResultSize)
{
    if (!pulSearchResultSize)
        return E_INVALIDARG;
    struct drt_search *search = handle_table_get(hSearchContext, HANDLE_TYPE_SEARCH);
    if (!search)
        return E_HANDLE;
    HRESULT hr = search_instance_state(search);
    if (FAILED(hr))
        return hr;
    return E_NOTIMPL;
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
    HRESULT hr = search_instance_state(search);
    if (FAILED(hr))
        return hr;
    return E_NOTIMPL;
}

DRT_EXPORT HRESULT WINAPI DrtGetSearchPathSize(HDRT_SEARCH_CONTEXT hSearchContext,
                                               ULONG *pulSearchPathSize)
{
    if (!pulSearchPathSize)
        return E_INVALIDARG;
    if (!handle_table_get(hSearchContext, HANDLE_TYPE_SEARCH))
        return E_HANDLE;
    return E_NOTIMPL;
}

DRT_EXPORT HRESULT WINAPI DrtGetSearchPath(HDRT_SEARCH_CONTEXT hSearchContext,
                                           ULONG ulSearchPathSize, DRT_ADDRESS_LIST *pSearchPath)
{
    if (!pSearchPath)
        return E_INVALIDARG;
    if (!handle_table_get(hSearchContext, HANDLE_TYPE_SEARCH))
        return E_HANDLE;
    return E_NOTIMPL;
}

DRT_EXPORT HRESULT WINAPI DrtEndSearch(HDRT_SEARCH_CONTEXT hSearchContext)
{
    struct drt_search *search = handle_table_get(hSearchContext, HANDLE_TYPE_SEARCH);
    if (!search)
        return E_HANDLE;
    /* A search whose instance is gone is still released, so it cannot leak. */
    HRESULT hr = handle_table_get(search->instance, HANDLE_TYPE_INSTANCE) ? S_OK : E_UNEXPECTED;
    search_destroy(search);
    return hr;
}
