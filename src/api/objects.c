/* objects.c - the transport, registration and search objects behind their
 * API handles, and the key comparison the API's range checks use. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "core/engine.h"
#include "io/io_loop.h"
#include "io/io_node.h"

#include "util/key256.h"

/* --- transport ------------------------------------------------------------- */

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


struct socket_job {
    bool link_local;
    uint32_t scope_id;
    uint16_t port;
    struct io_socket *sock;
    int rc;
};

static void open_socket(void *arg)
{
    struct socket_job *j = arg;
    j->rc = io_socket_open(j->link_local, j->scope_id, &j->port, &j->sock);
}

static void close_socket(void *arg)
{
    io_socket_close(arg);
}

HRESULT transport_create(DRT_SCOPE scope, ULONG scope_id, USHORT *port, struct drt_transport **out)
{
    struct drt_transport *t = calloc(1, sizeof(*t));
    if (!t)
        return E_OUTOFMEMORY;
    if (io_loop_acquire() != 0) {
        free(t);
        return E_OUTOFMEMORY;
    }
    struct socket_job job = {scope == DRT_LINK_LOCAL_SCOPE, scope_id, *port, NULL, 0};
    io_call(open_socket, &job);
    if (job.rc != 0) {
        io_loop_release();
        free(t);
        /* WSAEADDRINUSE, WSAEACCES, or a generic failure, as Win32 codes. */
        if (job.rc == UV_EADDRINUSE)
            return HRESULT_FROM_WIN32(10048L);
        if (job.rc == UV_EACCES)
            return HRESULT_FROM_WIN32(10013L);
        return E_FAIL;
    }
    t->handle = handle_table_add(HANDLE_TYPE_TRANSPORT, t);
    if (!t->handle) {
        io_call(close_socket, job.sock);
        io_loop_release();
        free(t);
        return E_OUTOFMEMORY;
    }
    t->scope = scope;
    t->scope_id = scope_id;
    t->port = job.port;
    t->sock = job.sock;
    *port = job.port;
    *out = t;
    return S_OK;
}

void transport_destroy(struct drt_transport *t)
{
    if (!t)
        return;
    handle_table_remove(t->handle);
    if (t->sock) {
        io_call(close_socket, t->sock);
        io_loop_release();
    }
    free(t);
}

/* --- registrations and searches ------------------------------------------- */

/* Adds p to a pointer array under the instance lock. */
static bool ptr_push(void ***arr, size_t *n, size_t *cap, void *p)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 8;
        void **a = realloc(*arr, c * sizeof(*a));
        if (!a)
            return false;
        *arr = a;
        *cap = c;
    }
    (*arr)[(*n)++] = p;
    return true;
}

static void ptr_remove(void **arr, size_t *n, const void *p)
{
    for (size_t i = 0; i < *n; i++)
        if (arr[i] == p) {
            arr[i] = arr[--*n];
            return;
        }
}

HRESULT registration_create(struct drt_instance *inst, struct drt_registration **out)
{
    struct drt_registration *reg = calloc(1, sizeof(*reg));
    if (!reg)
        return E_OUTOFMEMORY;
    reg->handle = handle_table_add(HANDLE_TYPE_REGISTRATION, reg);
    pthread_mutex_lock(&inst->lock);
    bool ok = reg->handle &&
              ptr_push((void ***)&inst->regs, &inst->nregs, &inst->cap_regs, reg);
    pthread_mutex_unlock(&inst->lock);
    if (!ok) {
        handle_table_remove(reg->handle);
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
    struct drt_instance *inst = handle_table_get(reg->instance, HANDLE_TYPE_INSTANCE);
    if (inst) {
        pthread_mutex_lock(&inst->lock);
        ptr_remove((void **)inst->regs, &inst->nregs, reg);
        pthread_mutex_unlock(&inst->lock);
    }
    handle_table_remove(reg->handle);
    free(reg);
}

HRESULT search_create(struct drt_instance *inst, bool iterative, HANDLE event, PVOID context,
                      struct drt_search **out)
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
    search->event = event;
    search->context = context;
    pthread_mutex_lock(&inst->lock);
    bool ok = inst->nsearches < inst->max_searches &&
              ptr_push((void ***)&inst->searches, &inst->nsearches, &inst->cap_searches, search);
    pthread_mutex_unlock(&inst->lock);
    if (!ok) {
        handle_table_remove(search->handle);
        free(search);
        return E_OUTOFMEMORY;
    }
    *out = search;
    return S_OK;
}

void search_detach(struct drt_search *search)
{
    struct drt_instance *inst = handle_table_get(search->instance, HANDLE_TYPE_INSTANCE);
    if (inst) {
        pthread_mutex_lock(&inst->lock);
        ptr_remove((void **)inst->searches, &inst->nsearches, search);
        pthread_mutex_unlock(&inst->lock);
    }
    handle_table_remove(search->handle);
}

void search_free(struct drt_search *search)
{
    struct api_result *r = search->head;
    while (r) {
        struct api_result *next = r->next;
        free(r);
        r = next;
    }
    free(search->path);
    free(search);
}

int api_key_compare(const DRT_DATA *a, const DRT_DATA *b)
{
    drt_key ka, kb;
    key256_from_bytes(&ka, a->pb);
    key256_from_bytes(&kb, b->pb);
    return key256_cmp(&ka, &kb);
}
