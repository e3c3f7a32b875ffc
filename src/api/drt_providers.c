/*
 * drt_providers.c - creation and deletion of the PNRP resolver. Validation
 * order: docs/API.md. The DNS and static resolvers live in bootstrap_*.c,
 * the null security provider in security_null.c, the derived-key one in
 * security_derived.c.
 */
#include <wchar.h>

#include "api/api_internal.h"
#include "util/export.h"

/* PNRP name limits, in characters (documented for DrtCreatePnrpBootstrapResolver). */
#define PNRP_MAX_PEER_NAME 137
#define PNRP_MAX_CLOUD_NAME 256
#define PNRP_MAX_IDENTITY 137

static bool wstr_longer_than(PCWSTR s, size_t max)
{
    return wcsnlen(s, max + 1) > max;
}

/* PNRP is a Windows service with no counterpart here: after validation this
 * resolver always answers E_NOTIMPL (docs/API.md). */
DRT_EXPORT HRESULT WINAPI DrtCreatePnrpBootstrapResolver(BOOL fPublish, PCWSTR pwzPeerName,
                                                         PCWSTR pwzCloudName,
                                                         PCWSTR pwzPublishingIdentity,
                                                         DRT_BOOTSTRAP_PROVIDER **ppResolver)
{
    if (!ppResolver)
        return E_INVALIDARG;
    *ppResolver = NULL;
    if (!pwzPeerName || !*pwzPeerName || wstr_longer_than(pwzPeerName, PNRP_MAX_PEER_NAME))
        return E_INVALIDARG;
    if (pwzCloudName && wstr_longer_than(pwzCloudName, PNRP_MAX_CLOUD_NAME))
        return E_INVALIDARG;
    if (pwzPublishingIdentity && wstr_longer_than(pwzPublishingIdentity, PNRP_MAX_IDENTITY))
        return E_INVALIDARG;
    return E_NOTIMPL;
}

DRT_EXPORT void WINAPI DrtDeletePnrpBootstrapResolver(DRT_BOOTSTRAP_PROVIDER *pResolver)
{
    (void)pResolver;
}
