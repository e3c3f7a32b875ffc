/*
 * drt_transport.c - DrtCreateIpv6UdpTransport / DrtDeleteIpv6UdpTransport:
 * one dual-stack UDP socket per scope (src/io/io_node.c); and
 * DrtSetTransportLimits, the caps of the DRT that binds it. Validation
 * order: docs/API.md.
 */
#include "api/api_internal.h"
#include "util/export.h"

struct scope_port {
    DRT_SCOPE scope;
    USHORT port;
};

static bool same_scope_and_port(void *obj, void *ctx)
{
    const struct drt_transport *t = obj;
    const struct scope_port *want = ctx;
    return t->scope == want->scope && t->port == want->port;
}

/* A transport of this process already serves that scope on that port.
 * (Windows allows one transport per scope; we allow one per scope and
 * port, so one process can run several DRT nodes: docs/API.md.) */
static bool scope_taken(DRT_SCOPE scope, USHORT port)
{
    struct scope_port want = {scope, port};
    return port != 0 && handle_table_find(HANDLE_TYPE_TRANSPORT, same_scope_and_port, &want);
}

DRT_EXPORT HRESULT WINAPI DrtCreateIpv6UdpTransport(DRT_SCOPE scope, ULONG dwScopeId,
                                                    ULONG dwLocalityThreshold, USHORT *pwPort,
                                                    HDRT_TRANSPORT *phTransport)
{
    (void)dwLocalityThreshold; /* accepted; locality preference is not modelled yet */
    if (!pwPort)
        return DRT_E_INVALID_PORT;
    if (!phTransport)
        return DRT_E_INVALID_TRANSPORT_PROVIDER;
    *phTransport = NULL;
    /* Site-local scope is deprecated (RFC 3879) and has no addresses to bind. */
    if (scope != DRT_GLOBAL_SCOPE && scope != DRT_LINK_LOCAL_SCOPE)
        return DRT_E_INVALID_SCOPE;
    /* [MC-DRT] route entries must carry a port >= 1024; 0 asks for any. */
    if (*pwPort != 0 && *pwPort < 1024)
        return DRT_E_INVALID_PORT;
    if (scope_taken(scope, *pwPort))
        return DRT_E_TRANSPORT_ALREADY_EXISTS_FOR_SCOPE;
    struct drt_transport *t;
    HRESULT hr = transport_create(scope, dwScopeId, pwPort, &t);
    if (FAILED(hr))
        return hr;
    *phTransport = t->handle;
    return S_OK;
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

DRT_EXPORT HRESULT WINAPI DrtSetTransportLimits(HDRT_TRANSPORT hTransport,
                                                const DRT_LIMITS *pLimits)
{
    struct drt_transport *t;
    HRESULT hr = transport_check_bindable(hTransport, &t);
    if (FAILED(hr))
        return hr;
    if (!pLimits || pLimits->dwSize != sizeof(DRT_LIMITS))
        return E_INVALIDARG;
    /* Read once, by DrtOpen, on the caller's thread like this write. */
    t->limits = *pLimits;
    return S_OK;
}
