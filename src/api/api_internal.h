/*
 * api_internal.h - the objects behind the DRT API handles.
 *
 * The API layer owns argument validation (in the documented order, see
 * docs/API.md), handles, providers, and the queues callers drain. The
 * protocol runs in a core engine on the process's loop thread (src/io):
 * API calls reach it with io_call(), and the engine's events come back on
 * the loop thread into the queues below, each guarded by its instance's
 * lock. Status and queues are read by API threads under that lock.
 */
#ifndef DRT_API_INTERNAL_H
#define DRT_API_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>

#include <drt.h>

#include "api/handle_table.h"
#include "core/engine.h"
#include "io/io_loop.h"

struct io_socket;
struct io_node;

struct drt_transport {
    void *handle;
    DRT_SCOPE scope;
    ULONG scope_id;
    USHORT port;
    struct io_socket *sock;
    void *bound_instance; /* HDRT using it, or NULL */
    DRT_LIMITS limits;    /* DrtSetTransportLimits; all 0 (the defaults) until then */
};

/* A queued instance event (DRT_EVENT_DATA before serialisation). */
struct api_event {
    struct api_event *next;
    DRT_EVENT_TYPE type;
    HRESULT hr;
    DRT_LEAFSET_KEY_CHANGE_TYPE change;
    DRT_STATUS status;
    DRT_REGISTRATION_STATE reg_state;
    BYTE local_key[32];
    BYTE remote_key[32];
    ULONG naddrs;
    SOCKADDR_STORAGE addrs[]; /* status changes: the bootstrap addresses */
};

/* A queued search result: DRT_SEARCH_RESULT's contents. */
struct api_result {
    struct api_result *next;
    DRT_MATCH_TYPE type;
    BYTE key[32];
    ULONG len;
    BYTE data[];
};

/* Caps on what waits for the application (docs/RELIABILITY.md): an
 * application that stops calling DrtGetEventData or DrtGetSearchResult
 * loses the oldest entries, counted, instead of growing the process. */
#define API_DEFAULT_MAX_EVENTS 1024u  /* DRT_EVENT_DATA queued per instance */
#define API_DEFAULT_MAX_RESULTS 1024u /* results queued per search */
/* Receive buffer an instance asks for on its transport's socket. */
#define API_SOCKET_RCVBUF (1 << 20)

struct drt_instance {
    void *handle;
    pthread_mutex_t lock; /* status, events, searches, seeds */
    DRT_STATUS status;
    bool status_known; /* false until the first status event */
    DRT_SECURITY_MODE security_mode;
    BYTE protocol_major;
    BYTE protocol_minor;
    wchar_t *name; /* full instance name, NUL-terminated */
    HANDLE event;
    PVOID context;
    void *transport; /* HDRT_TRANSPORT */
    DRT_SECURITY_PROVIDER *security;
    DRT_BOOTSTRAP_PROVIDER *bootstrap;
    struct io_node *node; /* loop thread only */
    bool loop_held;       /* io_loop_acquire() done */
    struct api_event *ev_head, *ev_tail;
    size_t nevents, max_events;
    uint64_t events_dropped;  /* oldest DRT_EVENT_DATA dropped at max_events */
    size_t max_results;       /* per search */
    uint64_t results_dropped; /* oldest results dropped, over all its searches */
    struct drt_search **searches; /* open searches, for routing results */
    size_t nsearches, cap_searches;
    size_t max_searches; /* open searches (started, not yet ended) */
    struct drt_registration **regs; /* live registrations, unregistered on close */
    size_t nregs, cap_regs;
    SOCKADDR_STORAGE *seeds; /* bootstrap addresses from the resolver */
    ULONG nseeds;
    /* The security provider as the engine calls it (loop thread only). */
    struct drt_engine_security sec_ops;
    SOCKADDR_STORAGE self;  /* this node's endpoint, for SecureAndPackPayload */
    DRT_DATA credential;    /* GetSerializedCredential's, membership modes */
    void *to_free[8];       /* provider buffers handed to the engine */
    size_t nfree;
    /* The timer at the earliest registration's end of life (loop thread
     * only; key_expiry.c), made with the first registration that has one. */
    struct key_expiry *expiry;
};

struct drt_registration {
    void *handle;
    void *instance; /* HDRT */
    uint32_t reg_id; /* the engine's */
    BYTE key[32];
    PVOID key_context;
    /* Key lifetime (key_expiry.c), guarded by the instance's lock: the
     * wall-clock second (since 1970 UTC) from which the provider can no
     * longer prove the key, 0 when it has no known end; and whether it
     * ended, which withdrew the key from the engine while the handle stays
     * valid until DrtUnregisterKey. */
    int64_t not_after;
    bool expired;
};

/* A search is started and ended on the loop thread by posted jobs
 * (io_post), so DrtStartSearch and DrtEndSearch do not wait for the loop.
 * The jobs run in order, and the end job frees the search. */
struct drt_search {
    void *handle;
    void *instance; /* HDRT */
    uint32_t engine_id; /* loop thread only; 0 until started */
    bool iterative;
    struct drt_engine_search_params params; /* what the start job starts */
    struct io_job start_job, end_job;
    HANDLE event; /* manual reset; reset by the library when drained */
    PVOID context;
    /* Guarded by the instance's lock. */
    struct api_result *head, *tail;
    size_t nresults;
    bool done;
    HRESULT final_hr;
    DRT_ADDRESS *path;
    ULONG path_len;
};

/* Queues an event for DrtGetEventData and sets the instance's event
 * (instance.c; loop thread). The queue takes ev. */
void instance_push_event(struct drt_instance *inst, struct api_event *ev);

/*
 * Key lifetime (key_expiry.c; loop thread only). A registration whose
 * provider knows when its proof ends (the derived-key provider: the
 * earliest notAfter of its certificates) is withdrawn from the engine at
 * that second and DRT_EVENT_REGISTRATION_STATE_CHANGED with
 * DRT_REGISTRATION_STATE_UNRESOLVEABLE is queued for it.
 * key_expiry_arm (re)starts the timer after registrations changed;
 * key_expiry_close stops it before the engine goes.
 */
void key_expiry_arm(struct drt_instance *inst);
void key_expiry_close(struct drt_instance *inst);

/* Points inst->sec_ops at inst->security (security_adapter.c). In the
 * membership modes it takes the node's credential and checks that the
 * mode's callbacks work with it: the provider's error, or
 * DRT_E_CAPABILITY_MISMATCH. release gives the credential back. */
HRESULT security_adapter_init(struct drt_instance *inst);
void security_adapter_release(struct drt_instance *inst);

/* Creates an instance bound to its transport, with a running engine. */
HRESULT instance_create(const DRT_SETTINGS *settings, HANDLE event, PVOID context,
                        struct drt_instance **out);
/* Stops the engine (after unregistering everything) and frees the object. */
void instance_destroy(struct drt_instance *inst);
DRT_STATUS instance_status(struct drt_instance *inst, bool *known);

/* What an instance dropped and holds: its engine's counters, and the
 * API's own queues. For tests and diagnostics (not a Windows call). */
struct instance_stats {
    struct drt_engine_stats engine;
    uint64_t events_dropped, results_dropped;
    size_t events_queued;
};
void instance_get_stats(struct drt_instance *inst, struct instance_stats *out);
/* Runs the bootstrap resolver and starts the engine's bootstrap; returns
 * how many addresses the resolver gave. */
ULONG instance_bootstrap(struct drt_instance *inst);

HRESULT transport_create(DRT_SCOPE scope, ULONG scope_id, USHORT *port,
                         struct drt_transport **out);
void transport_destroy(struct drt_transport *t);
/* DRT_E_INVALID_TRANSPORT_PROVIDER for a handle that is not a live
 * transport, DRT_E_TRANSPORTPROVIDER_IN_USE when a DRT is bound to it. */
HRESULT transport_check_bindable(HDRT_TRANSPORT h, struct drt_transport **out);

HRESULT registration_create(struct drt_instance *inst, struct drt_registration **out);
void registration_destroy(struct drt_registration *reg);

/* A new open search of inst: E_OUTOFMEMORY when inst has max_searches
 * open already. */
HRESULT search_create(struct drt_instance *inst, bool iterative, HANDLE event, PVOID context,
                      struct drt_search **out);
/* Ends the search for the application: its handle goes and no result is
 * queued for it any more (results still on their way are dropped). */
void search_detach(struct drt_search *search);
/* Frees a detached search. */
void search_free(struct drt_search *search);

/* The key of a DRT_DATA compared as a 256-bit number (pb[31] most
 * significant); both must hold 32 bytes. */
int api_key_compare(const DRT_DATA *a, const DRT_DATA *b);

#endif
