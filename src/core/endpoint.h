/*
 * endpoint.h - a node's UDP endpoint as the protocol sees it: an IPv6
 * address (IPv4 travels as ::ffff:a.b.c.d) and a port, both in host form.
 * Shared by the engine, the route cache and the simulator, which all
 * compare and hash endpoints but never need a sockaddr.
 */
#ifndef DRT_CORE_ENDPOINT_H
#define DRT_CORE_ENDPOINT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct drt_endpoint {
    uint8_t addr[16];
    uint16_t port;
};

static inline bool drt_endpoint_equal(const struct drt_endpoint *a, const struct drt_endpoint *b)
{
    return a->port == b->port && memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

/* A total order, for sorting and binary search. */
static inline int drt_endpoint_cmp(const struct drt_endpoint *a, const struct drt_endpoint *b)
{
    int c = memcmp(a->addr, b->addr, sizeof(a->addr));
    if (c != 0)
        return c;
    return (a->port > b->port) - (a->port < b->port);
}

#endif
