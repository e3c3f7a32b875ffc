/*
 * api_internal.h - the objects behind the DRT API handles.
 *
 * The API layer owns argument validation (in the documented order, see
 * docs/API.md), handles, and the queues callers drain. The protocol itself
 * lives in core/; these objects will hold a core engine once the node runs
 * (docs/ARCHITECTURE.md).
 */
#ifndef DRT_API_INTERNAL_H
#define DRT_API_INTERNAL_H

#include <stdbool.h>

#include <drt.h>

#include "api/handle_table.h"

struct drt_transport {
    void *handle;
    DRT_SCOPE scope;
    ULONG scope_id;
    USHORT port;
    void *bound_instance; /* HDRT using it, or NULL */
};

struct drt_instance {
    void *handle;
    DRT_STATUS status;
    DRT_SECURITY_MODE security_mode;
    BYTE protocol_major;
    BYTE protocol_minor;
    wchar_t *name; /* full instance name, NUL-terminated */
    HANDLE event;
    PVOID context;
    void *transport; /* HDRT_TRANSPORT */
};

struct drt_registration {
    void *handle;
    void *instance; /* HDRT */
};

struct drt_search {
    void *handle;
    void *instance; /* HDRT */
    bool iterative;
};

/* Creates an instance object from settings that DrtOpen has validated,
 * binding it to its transport. */
HRESULT instance_create(const DRT_SETTINGS *settings, HANDLE event, PVOID context,
                        struct drt_instance **out);
void instance_destroy(struct drt_instance *inst);

HRESULT transport_create(DRT_SCOPE scope, ULONG scope_id, USHORT port,
                         struct drt_transport **out);
void transport_destroy(struct drt_transport *t);
/* DRT_E_INVALID_TRANSPORT_PROVIDER for a handle that is not a live
 * transport, DRT_E_TRANSPORTPROVIDER_IN_USE when a DRT is bound to it. */
HRESULT transport_check_bindable(HDRT_TRANSPORT h, struct drt_transport **out);

HRESULT registration_create(struct drt_instance *inst, struct drt_registration **out);
void registration_destroy(struct drt_registration *reg);

HRESULT search_create(struct drt_instance *inst, bool iterative, struct drt_search **out);
void search_destroy(struct drt_search *search);

/* The key of a DRT_DATA compared as a 256-bit number (pb[31] most
 * significant); both must hold 32 bytes. */
int api_key_compare(const DRT_DATA *a, const DRT_DATA *b);

#endif
