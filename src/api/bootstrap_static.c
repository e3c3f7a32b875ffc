/*
 * bootstrap_static.c - DrtCreateStaticBootstrapResolver (portable
 * addition): a resolver that always answers the same endpoints, for tests,
 * tools and deployments that know their seed nodes' addresses.
 */
#include <stdlib.h>
#include <string.h>

#include "api/bootstrap_resolver.h"
#include "util/export.h"

/* Far more seeds than a bootstrap needs; bounds the copy and every batch. */
#define STATIC_MAX_ADDRESSES 1024

struct static_source {
    size_t n;
    SOCKADDR_STORAGE addr[];
};

static HRESULT static_gather(struct bootstrap_resolver *r, struct bootstrap_resolve *rs,
                             struct bootstrap_addrs *out)
{
    const struct static_source *src = r->source;
    for (size_t i = 0; i < src->n; i++)
        if (!bootstrap_addrs_add(out, (const struct sockaddr *)&src->addr[i],
                                 sizeof(src->addr[i]), 0))
            break;
    return S_OK;
}

DRT_EXPORT HRESULT WINAPI DrtCreateStaticBootstrapResolver(const SOCKADDR_STORAGE *pAddresses,
                                                           ULONG cAddresses,
                                                           DRT_BOOTSTRAP_PROVIDER **ppResolver)
{
    if (!ppResolver)
        return E_INVALIDARG;
    *ppResolver = NULL;
    if ((!pAddresses && cAddresses > 0) || cAddresses > STATIC_MAX_ADDRESSES)
        return E_INVALIDARG;
    for (ULONG i = 0; i < cAddresses; i++)
        if (pAddresses[i].ss_family != AF_INET && pAddresses[i].ss_family != AF_INET6)
            return E_INVALIDARG;

    /* A copy: the caller's array need not outlive the call. */
    struct static_source *src = malloc(sizeof(*src) + cAddresses * sizeof(src->addr[0]));
    if (!src)
        return E_OUTOFMEMORY;
    src->n = cAddresses;
    if (cAddresses)
        memcpy(src->addr, pAddresses, cAddresses * sizeof(src->addr[0]));

    struct bootstrap_resolver *r = malloc(sizeof(*r));
    if (!r) {
        free(src);
        return E_OUTOFMEMORY;
    }
    HRESULT hr = bootstrap_resolver_init(r, BOOTSTRAP_KIND_STATIC, static_gather);
    if (hr != S_OK) {
        free(r);
        free(src);
        return hr;
    }
    r->source = src;
    *ppResolver = &r->provider;
    return S_OK;
}

DRT_EXPORT void WINAPI DrtDeleteStaticBootstrapResolver(DRT_BOOTSTRAP_PROVIDER *pResolver)
{
    struct bootstrap_resolver *r = bootstrap_resolver_from(pResolver, BOOTSTRAP_KIND_STATIC);
    if (!r)
        return;
    free(r->source);
    bootstrap_resolver_fini(r);
    free(r);
}
