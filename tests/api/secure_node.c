/* secure_node.c - nodes of the security tests (secure_node.h). */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/api_internal.h"
#include "api/handle_table.h"
#include "core/wire.h"
#include "io/io_loop.h"
#include "io/io_node.h"
#include "secure_node.h"

/* Counts the leaf-set changes of the watched key. */
static void watch(const DRT_EVENT_DATA *ev, void *ctx)
{
    struct sn_node *n = ctx;
    if (ev->type == DRT_EVENT_LEAFSET_KEY_CHANGED && n->watch &&
        ev->leafsetKeyChange.remoteKey.cb == 32 &&
        memcmp(ev->leafsetKeyChange.remoteKey.pb, n->watch, 32) == 0) {
        if (ev->leafsetKeyChange.change == DRT_LEAFSET_KEY_DELETED)
            n->watch_deleted++;
        else if (ev->leafsetKeyChange.change == DRT_LEAFSET_KEY_ADDED)
            n->watch_added++;
    }
}

void sn_drain(struct sn_node *n)
{
    lb_drain_each(&n->node, watch, n);
}

void sn_settle(struct sn_node *n, unsigned ms, const bool *until)
{
    for (unsigned waited = 0; waited < ms && !(until && *until); waited += 20) {
        DrtEventWait(n->node.event, 20);
        sn_drain(n);
    }
    sn_drain(n);
}

void sn_wait_status(struct sn_node *n, DRT_STATUS want, unsigned ms)
{
    for (unsigned waited = 0; waited < ms && n->node.status != want; waited += 20) {
        DrtEventWait(n->node.event, 20);
        sn_drain(n);
    }
}

void sn_register(struct sn_node *n)
{
    DRT_REGISTRATION reg = {{32, n->key}, {(ULONG)strlen(n->data) + 1, (BYTE *)n->data}};
    assert_int_equal(DrtRegisterKey(n->node.drt, &reg, (PVOID)&n->cert.ctx, &n->reg), S_OK);
}

static HRESULT open_with_seed(struct sn_node *n, const struct sn_node *seed, enum fx_keytype type,
                              const struct sn_opts *o)
{
    const struct fx_pki *pki = fx_pki();
    if (o->other_root)
        fx_node_init(&n->cert, type, pki->other_root, pki->other_key, NULL, -1, 30);
    else
        fx_node_init(&n->cert, type, pki->root, pki->root_key, NULL, -1, 30);
    DRT_DATA k = {32, n->key};
    assert_int_equal(DrtCreateDerivedKey(&n->cert.ctx, &k), S_OK);
    struct lb_spec spec = {.mode = o->mode, .prefix = L"Secure_DRT"};
    if (!o->null) {
        spec.root = o->other_root ? &pki->other_ctx : &pki->root_ctx;
        spec.local = o->no_local_cert ? NULL : &n->cert.ctx;
    }
    HRESULT hr = lb_open_spec(&n->node, seed ? seed->node.port : 0, &spec);
    if (FAILED(hr))
        fx_node_free(&n->cert);
    return hr;
}

HRESULT sn_try_open(struct sn_node *n, enum fx_keytype type, const struct sn_opts *o)
{
    memset(n, 0, sizeof(*n));
    return open_with_seed(n, NULL, type, o);
}

void sn_open(struct sn_node *n, const struct sn_node *seed, enum fx_keytype type,
             const char *data, const struct sn_opts *o)
{
    memset(n, 0, sizeof(*n));
    n->data = data;
    assert_true(SUCCEEDED(open_with_seed(n, seed, type, o)));
    if (!o->no_register)
        sn_register(n);
}

void sn_close(struct sn_node *n)
{
    if (n->reg)
        DrtUnregisterKey(n->reg);
    lb_close(&n->node);
    fx_node_free(&n->cert);
}

struct drt_engine_stats sn_stats(const struct sn_node *n)
{
    struct instance_stats st;
    instance_get_stats(handle_table_get(n->node.drt, HANDLE_TYPE_INSTANCE), &st);
    return st.engine;
}

unsigned sn_find(struct sn_node *from, const BYTE key[32], const char *data)
{
    unsigned found = lb_search_count(from->node.drt, key, data, NULL);
    sn_drain(from);
    return found;
}

struct cache_job {
    struct drt_instance *inst;
    struct drt_engine_route routes[256];
    size_t n;
};

static void export_job(void *arg)
{
    struct cache_job *j = arg;
    if (j->inst->node && j->inst->node->eng)
        j->n = drt_engine_export_routes(j->inst->node->eng, j->routes, 256);
}

bool sn_caches(const struct sn_node *n, const BYTE key[32], USHORT port)
{
    static struct cache_job job; /* large: not on the stack */
    memset(&job, 0, sizeof(job));
    job.inst = handle_table_get(n->node.drt, HANDLE_TYPE_INSTANCE);
    assert_non_null(job.inst);
    io_call(export_job, &job);
    for (size_t i = 0; i < job.n; i++)
        if (memcmp(job.routes[i].key, key, 32) == 0 && (!port || job.routes[i].ep.port == port))
            return true;
    return false;
}

int sn_send(const struct sn_node *to, const uint8_t *buf, size_t len)
{
    int fd = socket(AF_INET6, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in6 dst;
    memset(&dst, 0, sizeof(dst));
    dst.sin6_family = AF_INET6;
    dst.sin6_port = htons(to->node.port);
    dst.sin6_addr = in6addr_loopback;
    assert_int_equal(sendto(fd, buf, len, 0, (struct sockaddr *)&dst, sizeof(dst)), (ssize_t)len);
    return fd;
}

bool sn_probe_inquire(const struct sn_node *to, unsigned wait_ms)
{
    struct wire_msg m;
    memset(&m, 0, sizeof(m));
    m.hdr.version_major = 6;
    m.hdr.version_minor = 0x65;
    m.hdr.type = WIRE_INQUIRE;
    m.hdr.message_id = 0x1badcafe;
    m.u.inquire.flags = WIRE_INQUIRE_A | WIRE_INQUIRE_X;
    memcpy(m.u.inquire.validate_key, to->key, 32);
    m.u.inquire.has_nonce = true;
    memset(m.u.inquire.nonce, 0x5a, sizeof(m.u.inquire.nonce));
    uint8_t buf[512];
    size_t len = 0;
    assert_int_equal(wire_encode(&m, buf, sizeof(buf), &len), S_OK);
    int fd = sn_send(to, buf, len);
    struct pollfd p = {fd, POLLIN, 0};
    bool answered = false;
    if (poll(&p, 1, (int)wait_ms) == 1) {
        uint8_t in[2048];
        struct wire_msg a;
        ssize_t n = recv(fd, in, sizeof(in), 0);
        answered = n > 0 && SUCCEEDED(wire_decode(in, (size_t)n, &a)) &&
                   a.hdr.type == WIRE_AUTHORITY && a.u.authority.acked_id == m.hdr.message_id;
    }
    close(fd);
    return answered;
}
