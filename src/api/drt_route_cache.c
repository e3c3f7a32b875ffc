/*
 * drt_route_cache.c - DrtSaveRouteCache and DrtLoadRouteCache (libdrt
 * extension, include/drt.h): the engine's verified route entries to a file
 * and back as candidates it checks. The engine part runs on the loop
 * thread (io_call); the file is read and written on the caller's thread,
 * so a slow disk never stalls the DRTs of the process.
 */
#include <stdlib.h>

#include "api/api_internal.h"
#include "api/route_file.h"
#include "io/io_loop.h"
#include "io/io_node.h"
#include "util/export.h"

struct routes_job {
    struct drt_instance *inst;
    struct drt_engine_route *routes;
    size_t n;
    size_t probed; /* import */
};

static void export_routes(void *arg)
{
    struct routes_job *j = arg;
    struct io_node *node = j->inst->node;
    size_t got = node ? drt_engine_export_routes(node->eng, j->routes, j->n) : 0;
    /* What the file cannot hold (route_file_entry_valid) is left out
     * rather than failing the save: the engine takes ports >= 1024 only,
     * so this only ever drops an address no peer could have. */
    j->n = 0;
    for (size_t i = 0; i < got; i++)
        if (route_file_entry_valid(&j->routes[i]))
            j->routes[j->n++] = j->routes[i];
}

static void import_routes(void *arg)
{
    struct routes_job *j = arg;
    struct io_node *node = j->inst->node;
    if (!node)
        return;
    j->probed = drt_engine_import_routes(node->eng, j->routes, j->n, io_now_ms());
    io_node_flush(node);
}

DRT_EXPORT HRESULT WINAPI DrtSaveRouteCache(HDRT hDrt, const char *path)
{
    if (!path || !*path)
        return E_INVALIDARG;
    struct drt_instance *inst = handle_table_get(hDrt, HANDLE_TYPE_INSTANCE);
    if (!inst)
        return E_HANDLE;
    struct routes_job job = {inst, calloc(ROUTE_FILE_MAX_ENTRIES, sizeof(*job.routes)),
                             ROUTE_FILE_MAX_ENTRIES, 0};
    size_t cap = ROUTE_FILE_MAX_SIZE;
    uint8_t *buf = malloc(cap);
    if (!job.routes || !buf) {
        free(job.routes);
        free(buf);
        return E_OUTOFMEMORY;
    }
    io_call(export_routes, &job);
    HRESULT hr = route_file_encode(job.routes, job.n, buf, cap);
    if (SUCCEEDED(hr))
        hr = route_file_write(path, buf, ROUTE_FILE_SIZE(job.n));
    free(job.routes);
    free(buf);
    return hr;
}

DRT_EXPORT HRESULT WINAPI DrtLoadRouteCache(HDRT hDrt, const char *path)
{
    if (!path || !*path)
        return E_INVALIDARG;
    struct drt_instance *inst = handle_table_get(hDrt, HANDLE_TYPE_INSTANCE);
    if (!inst)
        return E_HANDLE;
    if (instance_status(inst, NULL) == DRT_FAULTED)
        return DRT_E_FAULTED;
    uint8_t *buf;
    size_t len;
    HRESULT hr = route_file_read(path, ROUTE_FILE_MAX_SIZE, &buf, &len);
    if (FAILED(hr))
        return hr;
    struct routes_job job = {inst, calloc(ROUTE_FILE_MAX_ENTRIES, sizeof(*job.routes)), 0, 0};
    if (!job.routes) {
        free(buf);
        return E_OUTOFMEMORY;
    }
    /* The whole file is checked before the engine sees any of it: a bad
     * file changes nothing. */
    hr = route_file_decode(buf, len, job.routes, ROUTE_FILE_MAX_ENTRIES, &job.n);
    free(buf);
    if (SUCCEEDED(hr) && job.n)
        io_call(import_routes, &job);
    free(job.routes);
    return hr;
}
