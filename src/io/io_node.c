/* io_node.c - engines on UDP sockets (io_node.h). */
#include "io/io_node.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "io/io_ipsec.h"
#include "io/io_loop.h"

uint64_t io_now_ms(void)
{
    uv_update_time(io_loop());
    return uv_now(io_loop());
}

static const uint8_t V4_MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool io_endpoint_from_sockaddr(const struct sockaddr *sa, struct drt_endpoint *ep)
{
    memset(ep, 0, sizeof(*ep));
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        memcpy(ep->addr, &s6->sin6_addr, 16);
        ep->port = ntohs(s6->sin6_port);
        return true;
    }
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        memcpy(ep->addr, V4_MAPPED, 12);
        memcpy(ep->addr + 12, &s4->sin_addr, 4);
        ep->port = ntohs(s4->sin_port);
        return true;
    }
    return false;
}

void io_sockaddr_from_endpoint(const struct drt_endpoint *ep, uint32_t scope_id,
                               struct sockaddr_in6 *out)
{
    memset(out, 0, sizeof(*out));
    out->sin6_family = AF_INET6;
    out->sin6_port = htons(ep->port);
    memcpy(&out->sin6_addr, ep->addr, 16);
    if (IN6_IS_ADDR_LINKLOCAL(&out->sin6_addr))
        out->sin6_scope_id = scope_id;
}

/* --- socket -------------------------------------------------------------- */

/* Room for IO_RECV_BATCH datagrams of the largest UDP size: libuv then
 * reads them with one recvmmsg() where the platform has it. One buffer
 * serves every socket: they are all read on the loop thread, and a batch
 * is handled to the end (on_recv) before the next read begins. A buffer
 * per socket cost each node the pages its datagrams touched. */
static uint8_t rxbuf[IO_RECV_BATCH * 65536];

static void alloc_rx(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    *buf = uv_buf_init((char *)rxbuf, sizeof(rxbuf));
}

/* With recvmmsg each datagram arrives in its own chunk of rxbuf
 * (UV_UDP_MMSG_CHUNK), then one call with nread 0 says the batch is done;
 * rxbuf is static, so there is nothing to free. */
static void on_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from,
                    unsigned flags)
{
    struct io_socket *s = h->data;
    struct drt_endpoint ep;
    if (n <= 0 || !from || (flags & UV_UDP_PARTIAL) || !s->node ||
        !io_endpoint_from_sockaddr(from, &ep))
        return;
    const uint8_t *msg = (const uint8_t *)buf->base;
    size_t len = (size_t)n;
    if (s->ipsec && !io_ipsec_receive(s->ipsec, &ep, msg, len, &msg, &len)) {
        io_node_flush(s->node); /* a negotiation step may have released messages */
        return;
    }
    drt_engine_receive(s->node->eng, &ep, msg, len, io_now_ms());
    io_node_flush(s->node);
}

int io_socket_open(bool link_local, uint32_t scope_id, uint16_t *port, struct io_socket **out)
{
    struct io_socket *s = calloc(1, sizeof(*s));
    if (!s)
        return UV_ENOMEM;
    int rc = uv_udp_init_ex(io_loop(), &s->udp, AF_INET6 | UV_UDP_RECVMMSG);
    if (rc) {
        free(s);
        return rc;
    }
    s->udp.data = s;
    s->link_local = link_local;
    s->scope_id = scope_id;
    struct sockaddr_in6 any;
    memset(&any, 0, sizeof(any));
    any.sin6_family = AF_INET6;
    any.sin6_addr = in6addr_any;
    any.sin6_port = htons(*port);
    /* Dual-stack: no UV_UDP_IPV6ONLY, so IPv4 peers reach us mapped. */
    rc = uv_udp_bind(&s->udp, (const struct sockaddr *)&any, 0);
    if (rc == 0)
        rc = uv_udp_recv_start(&s->udp, alloc_rx, on_recv);
    if (rc) {
        io_socket_close(s);
        return rc;
    }
    struct sockaddr_storage bound;
    int len = sizeof(bound);
    uv_udp_getsockname(&s->udp, (struct sockaddr *)&bound, &len);
    s->port = ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
    *port = s->port;
    *out = s;
    return 0;
}

static void free_on_close(uv_handle_t *h)
{
    free(h->data);
}

void io_socket_close(struct io_socket *s)
{
    if (!s)
        return;
    io_ipsec_destroy(s->ipsec);
    s->ipsec = NULL;
    uv_udp_recv_stop(&s->udp);
    uv_close((uv_handle_t *)&s->udp, free_on_close);
}

/* --- node ---------------------------------------------------------------- */

/* The engine draws 8 random bytes for every message id and nonce;
 * RAND_bytes per draw cost more than the rest of a LOOKUP's handling, so
 * each node takes them from OpenSSL a pool at a time. */
static uint64_t crypto_random(void *ctx)
{
    struct io_node *n = ctx;
    if (n->random_used + sizeof(uint64_t) > sizeof(n->random_pool)) {
        if (RAND_bytes(n->random_pool, sizeof(n->random_pool)) != 1) {
            /* OpenSSL's generator cannot fail once seeded; if it ever does
             * the engine must not run on predictable ids. */
            abort();
        }
        n->random_used = 0;
    }
    uint64_t v;
    memcpy(&v, n->random_pool + n->random_used, sizeof(v));
    /* Spent bytes are wiped: what is left in memory has not been used. */
    memset(n->random_pool + n->random_used, 0, sizeof(v));
    n->random_used += sizeof(v);
    return v;
}

/* A link-local transport advertises an fe80:: address of its interface
 * (the one of scope_id, or the first that has one, whose index it then
 * takes as its scope id for sending to fe80:: peers). */
static bool pick_link_local(struct io_socket *sock, struct drt_endpoint *self)
{
    uv_interface_address_t *ifs;
    int n;
    if (uv_interface_addresses(&ifs, &n) != 0)
        return false;
    bool found = false;
    for (int i = 0; i < n && !found; i++) {
        const struct sockaddr_in6 *a = &ifs[i].address.address6;
        if (ifs[i].is_internal || a->sin6_family != AF_INET6 ||
            !IN6_IS_ADDR_LINKLOCAL(&a->sin6_addr))
            continue;
        unsigned index = if_nametoindex(ifs[i].name);
        if (sock->scope_id && index != sock->scope_id)
            continue;
        memcpy(self->addr, &a->sin6_addr, 16);
        sock->scope_id = index;
        found = true;
    }
    uv_free_interface_addresses(ifs, n);
    return found;
}

/* The first usable address of the host, by preference. */
static void pick_self(struct drt_endpoint *self)
{
    memset(self->addr, 0, 16);
    self->addr[15] = 1; /* ::1 unless something better exists */
    const char *env = getenv("DRT_ADVERTISE_ADDRESS");
    if (env && *env) {
        struct in6_addr a6;
        struct in_addr a4;
        if (inet_pton(AF_INET6, env, &a6) == 1) {
            memcpy(self->addr, &a6, 16);
            return;
        }
        if (inet_pton(AF_INET, env, &a4) == 1) {
            memcpy(self->addr, V4_MAPPED, 12);
            memcpy(self->addr + 12, &a4, 4);
            return;
        }
    }
    uv_interface_address_t *ifs;
    int n;
    if (uv_interface_addresses(&ifs, &n) != 0)
        return;
    int best = 0; /* 2 = global IPv6, 1 = IPv4 */
    for (int i = 0; i < n; i++) {
        if (ifs[i].is_internal)
            continue;
        if (ifs[i].address.address6.sin6_family == AF_INET6) {
            const struct in6_addr *a = &ifs[i].address.address6.sin6_addr;
            if (IN6_IS_ADDR_LINKLOCAL(a) || best >= 2)
                continue;
            memcpy(self->addr, a, 16);
            best = 2;
        } else if (ifs[i].address.address4.sin_family == AF_INET && best < 1) {
            memcpy(self->addr, V4_MAPPED, 12);
            memcpy(self->addr + 12, &ifs[i].address.address4.sin_addr, 4);
            best = 1;
        }
    }
    uv_free_interface_addresses(ifs, n);
}

#define NETCHECK_MS 5000u

/* Loopback is always there; any other address must be on an interface. */
static bool address_present(const struct drt_endpoint *self)
{
    struct in6_addr a;
    memcpy(&a, self->addr, 16);
    if (IN6_IS_ADDR_LOOPBACK(&a) || (IN6_IS_ADDR_V4MAPPED(&a) && self->addr[12] == 127))
        return true;
    uv_interface_address_t *ifs;
    int n;
    if (uv_interface_addresses(&ifs, &n) != 0)
        return true; /* cannot tell: do not declare the network gone */
    bool found = false;
    for (int i = 0; i < n && !found; i++) {
        if (ifs[i].address.address6.sin6_family == AF_INET6)
            found = memcmp(&ifs[i].address.address6.sin6_addr, self->addr, 16) == 0;
        else if (ifs[i].address.address4.sin_family == AF_INET)
            found = IN6_IS_ADDR_V4MAPPED(&a) &&
                    memcmp(&ifs[i].address.address4.sin_addr, self->addr + 12, 4) == 0;
    }
    uv_free_interface_addresses(ifs, n);
    return found;
}

static void on_netcheck(uv_timer_t *t)
{
    struct io_node *n = t->data;
    if (!n->eng)
        return;
    drt_engine_set_network(n->eng, address_present(drt_engine_self(n->eng)), io_now_ms());
    io_node_flush(n);
}

static void on_timer(uv_timer_t *t)
{
    struct io_node *n = t->data;
    drt_engine_timer(n->eng, io_now_ms());
    io_node_flush(n);
}

/* The engines of the loop thread run one at a time, so they share one
 * scratch (drt_engine_scratch), created with the first node and freed
 * with the last. */
static struct drt_engine_scratch *scratch;
static unsigned scratch_users;

static struct drt_engine_scratch *scratch_acquire(void)
{
    if (!scratch)
        scratch = drt_engine_scratch_create();
    if (scratch)
        scratch_users++;
    return scratch;
}

static void scratch_release(void)
{
    if (--scratch_users == 0) {
        drt_engine_scratch_destroy(scratch);
        scratch = NULL;
    }
}

static void destroy_engine(struct io_node *n)
{
    if (n->eng) {
        drt_engine_destroy(n->eng);
        n->eng = NULL;
        scratch_release();
    }
}

struct io_node *io_node_create(struct io_socket *sock, const struct drt_engine_config *cfg,
                               io_event_fn on_event, void *ctx)
{
    struct io_node *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    struct drt_engine_config ec = *cfg;
    pick_self(&ec.self);
    if (sock->link_local && !getenv("DRT_ADVERTISE_ADDRESS"))
        pick_link_local(sock, &ec.self);
    ec.self.port = sock->port;
    ec.random = crypto_random;
    ec.random_ctx = n;
    n->random_used = sizeof(n->random_pool); /* empty: the first draw fills it */
    ec.scratch = scratch_acquire();
    if (ec.scratch) {
        n->eng = drt_engine_create(&ec, io_now_ms());
        if (!n->eng)
            scratch_release();
    }
    /* A protected socket cannot start without its negotiations. */
    if (n->eng && sock->ipsec && !io_ipsec_set_local(sock->ipsec, &ec.self))
        destroy_engine(n);
    if (!n->eng || uv_timer_init(io_loop(), &n->timer) != 0) {
        destroy_engine(n);
        free(n);
        return NULL;
    }
    n->timer.data = n;
    n->open_handles = 1;
    if (uv_timer_init(io_loop(), &n->netcheck) == 0) {
        n->netcheck.data = n;
        n->open_handles++;
        uv_timer_start(&n->netcheck, on_netcheck, NETCHECK_MS, NETCHECK_MS);
    }
    n->sock = sock;
    n->on_event = on_event;
    n->ctx = ctx;
    sock->node = n;
    return n;
}

static void free_node(uv_handle_t *h)
{
    struct io_node *n = h->data;
    if (--n->open_handles == 0) {
        OPENSSL_cleanse(n->random_pool, sizeof(n->random_pool));
        free(n);
    }
}

void io_node_destroy(struct io_node *n)
{
    if (!n)
        return;
    if (n->sock && n->sock->node == n)
        n->sock->node = NULL;
    destroy_engine(n);
    uv_timer_stop(&n->timer);
    if (n->open_handles == 2) {
        uv_timer_stop(&n->netcheck);
        uv_close((uv_handle_t *)&n->netcheck, free_node);
    }
    uv_close((uv_handle_t *)&n->timer, free_node);
}

static void send_done(uv_udp_send_t *req, int status)
{
    (void)status;
    free(req);
}

void io_socket_send(struct io_socket *s, const struct drt_endpoint *to, const uint8_t *buf,
                    size_t len)
{
    struct sockaddr_in6 dst;
    io_sockaddr_from_endpoint(to, s->scope_id, &dst);
    uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
    int rc = uv_udp_try_send(&s->udp, &b, 1, (const struct sockaddr *)&dst);
    if (rc >= 0 || rc != UV_EAGAIN)
        return; /* sent, or a hard error: UDP is best effort, the engine retries */
    /* The socket is busy: queue a copy. */
    uv_udp_send_t *req = malloc(sizeof(*req) + len);
    if (!req)
        return;
    memcpy(req + 1, buf, len);
    b = uv_buf_init((char *)(req + 1), (unsigned)len);
    if (uv_udp_send(req, &s->udp, &b, 1, (const struct sockaddr *)&dst, send_done) != 0)
        free(req);
}

void io_node_flush(struct io_node *n)
{
    if (!n->eng)
        return;
    struct drt_endpoint to;
    const uint8_t *buf;
    size_t len;
    while (drt_engine_next_datagram(n->eng, &to, &buf, &len)) {
        if (n->sock->ipsec)
            io_ipsec_send_drt(n->sock->ipsec, &to, buf, len);
        else
            io_socket_send(n->sock, &to, buf, len);
    }
    struct drt_engine_event ev;
    while (drt_engine_next_event(n->eng, &ev))
        if (n->on_event)
            n->on_event(n->ctx, &ev);
    uint64_t d = drt_engine_next_deadline(n->eng);
    if (d == UINT64_MAX) {
        uv_timer_stop(&n->timer);
        return;
    }
    uint64_t now = io_now_ms();
    uv_timer_start(&n->timer, on_timer, d > now ? d - now : 0, 0);
}
