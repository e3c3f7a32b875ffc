/*
 * loopback_node.h - a DRT node on ::1 through the public API, for tests
 * that need one or two real nodes and a look at their counters: open (the
 * null or the derived-key security provider, a static or DNS bootstrap
 * from an optional seed), register, drain events, search, close. The
 * settings and the seed address stand alone (no cmocka) for the fuzz
 * targets and for tests that bring providers of their own.
 */
#ifndef DRT_TESTS_API_LOOPBACK_NODE_H
#define DRT_TESTS_API_LOOPBACK_NODE_H

#include <stdbool.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <drt.h>

struct drt_instance;

/* The settings every test node opens with: 32-byte keys, protocol 6.0x65,
 * four routing addresses. */
static inline DRT_SETTINGS lb_settings(HDRT_TRANSPORT t, DRT_SECURITY_PROVIDER *sp,
                                       DRT_BOOTSTRAP_PROVIDER *bp, DRT_SECURITY_MODE mode,
                                       PWSTR prefix)
{
    return (DRT_SETTINGS){
        .dwSize = sizeof(DRT_SETTINGS),
        .cbKey = 32,
        .bProtocolMajorVersion = 6,
        .bProtocolMinorVersion = 0x65,
        .ulMaxRoutingAddresses = 4,
        .pwzDrtInstancePrefix = prefix,
        .hTransport = t,
        .pSecurityProvider = sp,
        .pBootstrapProvider = bp,
        .eSecurityMode = mode,
    };
}

/* [::1]:port. */
static inline void lb_loopback_addr(SOCKADDR_STORAGE *ss, USHORT port)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    s6->sin6_addr = in6addr_loopback;
}

struct lb_node {
    HDRT_TRANSPORT transport;
    USHORT port;
    DRT_SECURITY_PROVIDER *security;
    DRT_BOOTSTRAP_PROVIDER *bootstrap;
    HANDLE event;
    HDRT drt;
    DRT_STATUS status; /* last status event seen, -1 before the first */
    unsigned events;   /* events drained */
    bool derived;      /* the derived-key provider (else the null one) */
    bool dns;          /* a DNS bootstrap resolver (else the static one) */
};

/* How lb_open_spec builds a node around its transport. */
struct lb_spec {
    PCCERT_CONTEXT root;           /* the derived-key provider with this root (NULL: null) */
    PCCERT_CONTEXT local;          /* and this local certificate (NULL: none) */
    bool dns;                      /* a DNS resolver naming [::1]:seed (port 9: no seed) */
    const SOCKADDR_STORAGE *seeds; /* given: a static resolver answering these nseeds, */
    ULONG nseeds;                  /* and seed_port is not used */
    DRT_SECURITY_MODE mode;
    PWSTR prefix;                  /* NULL: L"Test" */
    PVOID context;                 /* DrtOpen's pvContext */
};

/* Opens n as spec says, bootstrapping from seed_port (0: the first node
 * of its cloud) or spec's seeds, on the port n->port asks for (0: an
 * ephemeral one); every step before DrtOpen is asserted. Returns
 * DrtOpen's code; on failure everything is released.
 * DRT_ADVERTISE_ADDRESS is the caller's. */
HRESULT lb_open_spec(struct lb_node *n, USHORT seed_port, const struct lb_spec *spec);

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
typedef void lb_event_fn(const DRT_EVENT_DATA *ev, void *ctx);
/* The same, handing each event to each after noting its status. */
unsigned lb_drain_each(struct lb_node *n, lb_event_fn *each, void *ctx);
/* Waits (bounded by ms) until the node is ACTIVE. */
bool lb_wait_active(struct lb_node *n, unsigned ms);
void lb_close(struct lb_node *n);
typedef void lb_result_fn(const DRT_SEARCH_RESULT *r, void *ctx);
/* A search for key from drt (info may be NULL) that gives each result to
 * each, for at most steps x 50 ms: the last code of
 * DrtGetSearchResultSize (DRT_E_NO_MORE, DRT_E_TIMEOUT, or
 * DRT_E_SEARCH_IN_PROGRESS when the steps ran out). */
HRESULT lb_search_each(HDRT drt, const BYTE key[32], const DRT_SEARCH_INFO *info,
                       ULONG timeout_ms, unsigned steps, lb_result_fn *each, void *ctx);
/* One exact search for key from n (bounded by 10 s); true when it found
 * the key with data as its application data. */
bool lb_search_finds(struct lb_node *n, const BYTE key[32], const char *data);
/* A search for key from drt with the default search info (bounded by
 * 10 s): the number of exact results whose data is the string data with
 * its NUL; *end (when given) is the last code of DrtGetSearchResultSize. */
unsigned lb_search_count(HDRT drt, const BYTE key[32], const char *data, HRESULT *end);
/* The object behind the node's HDRT (tests look at its queues and stats). */
struct drt_instance *lb_instance(const struct lb_node *n);

#endif
