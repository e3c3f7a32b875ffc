/* objects.c - construction and destruction of the objects behind API handles. */
#include "api/api_internal.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <wchar.h>

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

HRESULT instance_create(const DRT_SETTINGS *settings, HANDLE event, PVOID context,
                        struct drt_instance **out)
{
    struct drt_transport *t;
    HRESULT hr = transport_check_bindable(settings->hTransport, &t);
    if (FAILED(hr))
        return hr;

    struct drt_instance *inst = calloc(1, sizeof(*inst));
    if (!inst)
        return E_OUTOFMEMORY;
    inst->name = make_instance_name(settings->pwzDrtInstancePrefix);
    inst->handle = inst->name ? handle_table_add(HANDLE_TYPE_INSTANCE, inst) : NULL;
    if (!inst->handle) {
        free(inst->name);
        free(inst);
        return E_OUTOFMEMORY;
    }
    inst->status = DRT_ALONE;
    inst->security_mode = settings->eSecurityMode;
    inst->protocol_major = settings->bProtocolMajorVersion;
    inst->protocol_minor = settings->bProtocolMinorVersion;
    inst->event = event;
    inst->context = context;
    inst->transport = settings->hTransport;
    t->bound_instance = inst->handle;
    *out = inst;
    return S_OK;
}

void instance_destroy(struct drt_instance *inst)
{
    if (!inst)
        return;
    struct drt_transport *t = handle_table_get(inst->transport, HANDLE_TYPE_TRANSPORT);
    if (t && t->bound_instance == inst->handle)
        t->bound_instance = NULL;
    handle_table_remove(inst->handle);
    free(inst->name);
    free(inst);
}

HRESULT transport_create(DRT_SCOPE scope, ULONG scope_id, USHORT port, struct drt_transport **out)
{
    struct drt_transport *t = calloc(1, sizeof(*t));
    if (!t)
        return E_OUTOFMEMORY;
    t->handle = handle_table_add(HANDLE_TYPE_TRANSPORT, t);
    if (!t->handle) {
        free(t);
        return E_OUTOFMEMORY;
    }
    t->scope = scope;
    t->scope_id = scope_id;
    t->port = port;
    *out = t;
    return S_OK;
}

void transport_destroy(struct drt_transport *t)
{
    if (!t)
        return;
    handle_table_remove(t->handle);
    free(t);
}

HRESULT registration_create(struct drt_instance *inst, struct drt_registration **out)
{
    struct drt_registration *reg = calloc(1, sizeof(*reg));
    if (!reg)
        return E_OUTOFMEMORY;
    reg->handle = handle_table_add(HANDLE_TYPE_REGISTRATION, reg);
    if (!reg->handle) {
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
    handle_table_remove(reg->handle);
    free(reg);
}

HRESULT search_create(struct drt_instance *inst, bool iterative, struct drt_search **out)
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
    *out = search;
    return S_OK;
}

void search_destroy(struct drt_search *search)
{
    if (!search)
        return;
    handle_table_remove(search->handle);
    free(search);
}

int api_key_compare(const DRT_DATA *a, const DRT_DATA *b)
{
    drt_key ka, kb;
    key256_from_bytes(&ka, a->pb);
    key256_from_bytes(&kb, b->pb);
    return key256_cmp(&ka, &kb);
}
