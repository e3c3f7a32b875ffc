/*
 * drt_providers.c - creation and deletion of the transport, the PNRP
 * resolver and the derived-key security provider. Validation order:
 * docs/API.md. The DNS and static resolvers live in bootstrap_*.c, the null
 * security provider in security_null.c.
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

DRT_EXPORT HRESULT WINAPI DrtCreateIpv6UdpTransport(DRT_SCOPE scope, ULONG dwScopeId,
                                                    ULONG dwLocalityThreshold, USHORT *pwPort,
                                                    HDRT_TRANSPORT *phTransport)
{
    if (!pwPort)
        return DRT_E_INVALID_PORT;
    if (!phTransport)
        return DRT_E_INVALID_TRANSPORT_PROVIDER;
    *phTransport = NULL;
    /* Site-local scope is deprecated (RFC 3879) and has no addresses to bind. */
    if (scope != DRT_GLOBAL_SCOPE && scope != DRT_LINK_LOCAL_SCOPE)
        return DRT_E_INVALID_SCOPE;
    /* Sockets arrive with the node. */
    return E_NOTIMPL;
}

DRT_EXPORT HRESULT WINAPI DrtDeleteIpv6UdpTransport(HDRT_TRANSPORT hTransport)
{
    struct drt_transport *t = handle_table_get(hTransport, HANDLE_TYPE_TRANSPORT);
    if (!t)
        return DRT_E_INVALID_TRANSPORT_PROVIDER;
    if (t->bound_instance)
        return DRT_E_TRANSPORT_STILL_BOUND;
    transport_destroy(t);
    return S_OK;
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

DRT_EXPORT HRESULT WINAPI DrtCreateDerivedKeySecurityProvider(
    PCCERT_CONTEXT pRootCert, PCCERT_CONTEXT pLocalCert,
    DRT_SECURITY_PROVIDER **ppSecurityProvider)
{
    if (!ppSecurityProvider)
        return E_INVALIDARG;
    *ppSecurityProvider = NULL;
    if (!pRootCert || !pRootCert->pCert)
        return E_INVALIDARG;
    if (pLocalCert && !pLocalCert->pCert)
        return E_INVALIDARG;
    return E_NOTIMPL;
}

DRT_EXPORT HRESULT WINAPI DrtCreateDerivedKey(PCCERT_CONTEXT pLocalCert, DRT_DATA *pKey)
{
    if (!pLocalCert || !pLocalCert->pCert || !pKey || !pKey->pb || pKey->cb != 32)
        return E_INVALIDARG;
    return E_NOTIMPL;
}

DRT_EXPORT void WINAPI DrtDeleteDerivedKeySecurityProvider(DRT_SECURITY_PROVIDER *pSecurityProvider)
{
    (void)pSecurityProvider;
}
