/*
 * io_node.h - a DRT engine on a real UDP socket: the transport's socket
 * (io_socket) and the engine bound to it (io_node). Everything here runs
 * on the loop thread (io_loop.h).
 *
 * A socket is dual-stack ([::]:port with IPV6_V6ONLY off): IPv4 peers
 * arrive as ::ffff:a.b.c.d, which is also how the engine writes them in
 * route entries ([MC-DRT] carries IPv6 only). The node's own advertised
 * address is the first usable address of the host (global IPv6, else
 * IPv4, else loopback; for a link-local transport an fe80:: address of its
 * interface), or the DRT_ADVERTISE_ADDRESS environment variable
 * when set (tests and demos on loopback use "::1"). Every few seconds the
 * node checks that this address is still assigned to an interface: when it
 * is gone the engine goes NO_NETWORK, and when it returns the engine
 * bootstraps again.
 */
#ifndef DRT_IO_NODE_H
#define DRT_IO_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "core/engine.h"

struct io_node;
struct io_ipsec;

#define IO_RECV_BATCH 4

struct io_socket {
    uv_udp_t udp;
    uint16_t port;
    uint32_t scope_id; /* for link-local destinations */
    bool link_local;
    struct io_node *node; /* the instance bound to it, or NULL */
    struct io_ipsec *ipsec; /* SA protection (io_ipsec.h), or NULL: none */
};

/* Binds [::]:*port (0 = an ephemeral port, written back). Returns 0 or a
 * negative libuv error (UV_EADDRINUSE, ...). */
int io_socket_open(bool link_local, uint32_t scope_id, uint16_t *port, struct io_socket **out);
/* Closes and frees the socket (after libuv's close callback), and its
 * protection. */
void io_socket_close(struct io_socket *s);
/* One datagram as it is, best effort (queued when the socket is busy). */
void io_socket_send(struct io_socket *s, const struct drt_endpoint *to, const uint8_t *buf,
                    size_t len);

typedef void (*io_event_fn)(void *ctx, const struct drt_engine_event *ev);

struct io_node {
    struct drt_engine *eng;
    struct io_socket *sock;
    uv_timer_t timer;
    uv_timer_t netcheck; /* is our address still on an interface? */
    int open_handles;    /* freed when both timers are closed */
    io_event_fn on_event;
    void *ctx;
    uint8_t random_pool[256]; /* from RAND_bytes, handed out 8 bytes a draw */
    unsigned random_used;
};

/* An engine on sock with cfg's protocol settings (self and random are
 * filled in here). NULL on failure. */
struct io_node *io_node_create(struct io_socket *sock, const struct drt_engine_config *cfg,
                               io_event_fn on_event, void *ctx);
/* Stops the node: its engine is destroyed, the socket unbound. */
void io_node_destroy(struct io_node *n);
/* After any call into n->eng: send what it queued, hand out its events,
 * re-arm its timer. */
void io_node_flush(struct io_node *n);
/* The loop's clock in milliseconds, refreshed. */
uint64_t io_now_ms(void);

/* sockaddr <-> endpoint (IPv4 mapped into IPv6). False for other families. */
bool io_endpoint_from_sockaddr(const struct sockaddr *sa, struct drt_endpoint *ep);
void io_sockaddr_from_endpoint(const struct drt_endpoint *ep, uint32_t scope_id,
                               struct sockaddr_in6 *out);

#endif
