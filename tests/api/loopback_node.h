/*
 * loopback_node.h - a DRT node on ::1 through the public API, for tests
 * that need one or two real nodes and a look at their counters: open (the
 * null security provider, a static bootstrap from an optional seed),
 * register, drain events, close.
 */
#ifndef DRT_TESTS_API_LOOPBACK_NODE_H
#define DRT_TESTS_API_LOOPBACK_NODE_H

#include <stdbool.h>

#include <drt.h>

struct drt_instance;

struct lb_node {
    HDRT_TRANSPORT transport;
    USHORT port;
    DRT_SECURITY_PROVIDER *security;
    DRT_BOOTSTRAP_PROVIDER *bootstrap;
    HANDLE event;
    HDRT drt;
    DRT_STATUS status; /* last status event seen, -1 before the first */
    unsigned events;   /* events drained */
};

/* Sets DRT_ADVERTISE_ADDRESS to ::1 and opens a node bootstrapping from
 * seed (NULL: the first node of its cloud). */
void lb_open(struct lb_node *n, const struct lb_node *seed);
/* The UDP port of the next node opened (once; 0: an ephemeral one). */
void lb_set_port(USHORT port);
/* SA lifetimes (seconds, 0 0: the library's defaults) for the protected
 * nodes opened next. */
void lb_set_lifetime(ULONG soft_seconds, ULONG hard_seconds);
/* The next protected node opened (once) is authenticated by this
 * credential and these roots (DrtSetTransportProtectionCredential) instead
 * of its PSK; the pointers must live until then. */
void lb_set_credential(PCCERT_CONTEXT local, ULONG nroots, const PCCERT_CONTEXT *roots);
/* The same with DrtSetTransportLimits(limits) before DrtOpen. */
void lb_open_limits(struct lb_node *n, const struct lb_node *seed, const DRT_LIMITS *limits);
/* Protection (mode, psk) and limits (NULL: none set) together. */
void lb_open_with(struct lb_node *n, const struct lb_node *seed, DRT_PROTECTION_MODE mode,
                  const char *psk, const DRT_LIMITS *limits);
/* The same with DrtSetTransportProtection(mode, psk) before DrtOpen. */
void lb_open_protected(struct lb_node *n, const struct lb_node *seed, DRT_PROTECTION_MODE mode,
                       const char *psk);
void lb_register(struct lb_node *n, const BYTE key[32], const char *data,
                 HDRT_REGISTRATION_CONTEXT *reg);
/* Drains the node's DRT_EVENT_DATA queue (bounded); returns how many. */
unsigned lb_drain(struct lb_node *n);
/* Waits (bounded by ms) until the node is ACTIVE. */
bool lb_wait_active(struct lb_node *n, unsigned ms);
void lb_close(struct lb_node *n);
/* One exact search for key from n (bounded by 10 s); true when it found
 * the key with data as its application data. */
bool lb_search_finds(struct lb_node *n, const BYTE key[32], const char *data);
/* The object behind the node's HDRT (tests look at its queues and stats). */
struct drt_instance *lb_instance(const struct lb_node *n);

#endif
