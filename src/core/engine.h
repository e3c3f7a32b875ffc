/*
 * engine.h - one DRT instance's protocol engine, sans-I/O.
 *
 * The engine is a state machine fed from outside: datagrams with their
 * source, API commands, and "it is now T" timer calls. It answers by
 * queueing datagrams to send, events, and search results, and by telling
 * when it next needs the clock (drt_engine_next_deadline). It never reads a
 * clock, opens a socket, starts a thread, calls rand() or keeps global
 * state, so the same code runs on real UDP (src/io) and by the thousand in
 * the simulator (src/sim). Time is milliseconds on any monotonic clock;
 * randomness comes from the config's callback.
 *
 * Not thread-safe: the owner serialises all calls on one engine.
 *
 * The protocol is [MC-DRT] (docs/PROTOCOL.md); how the engine uses the
 * messages — bootstrap, publication, lookup, maintenance — is in
 * docs/ARCHITECTURE.md, "How a LOOKUP flows".
 */
#ifndef DRT_CORE_ENGINE_H
#define DRT_CORE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/endpoint.h"
#include "drt.h"

typedef uint64_t (*drt_random_fn)(void *ctx);

/* What an AUTHORITY carries to prove a key: the CPA (certified address,
 * binding key and nonce), the application payload as the provider protects
 * it, and the optional certificate chain and classifier. */
struct drt_engine_blob {
    const uint8_t *p;
    size_t len;
};

struct drt_engine_proof {
    struct drt_engine_blob cpa;
    struct drt_engine_blob payload;
    struct drt_engine_blob cert_chain;
    struct drt_engine_blob classifier;
};

/*
 * The security provider as the engine sees it (the API layer adapts a
 * DRT_SECURITY_PROVIDER to this). With none configured the engine uses the
 * null scheme of docs/PROTOCOL.md itself. Every call runs on the engine's
 * thread; what pack and validate return stays valid until done().
 *
 * `flags` is the record's DRT_PAYLOAD_* flags: 0 for an answer to an
 * INQUIRE, DRT_PAYLOAD_REVOKED for a revocation (docs/SECURITY.md,
 * "Revocations"). validate accepts a record only when its flags are
 * exactly `flags`, so an answer never passes for a revocation nor a
 * revocation for an answer.
 */
/* Membership and confidential modes: how a request proves its sender. */
struct drt_engine_auth {
    struct drt_engine_blob credential; /* CREDENTIAL: the sender's chain */
    struct drt_engine_blob key_id;     /* KEY_IDENTIFIER */
    struct drt_engine_blob signature;  /* SIGNATURE */
};
#define DRT_ENGINE_KEY_ID_MAX 64u
#define DRT_ENGINE_SIG_MAX 1024u

struct drt_engine_security {
    /* Proof for local registration reg_id: an answer to an INQUIRE's nonce,
     * or (flags REVOKED, nonce zero, no data) its revocation. */
    HRESULT (*pack)(void *ctx, uint32_t reg_id, const uint8_t key[32], const uint8_t nonce[16],
                    uint32_t flags, const uint8_t *data, size_t len,
                    struct drt_engine_proof *out);
    /* Checks that `in` proves a key for our `nonce` with `flags`: the key
     * `key` when it is not NULL, any key otherwise (a revocation names its
     * own). Writes the key proven to `proven` and gives the payload. */
    HRESULT (*validate)(void *ctx, const uint8_t *key, const uint8_t nonce[16], uint32_t flags,
                        const struct drt_engine_proof *in, uint8_t proven[32],
                        struct drt_engine_blob *payload);
    void (*done)(void *ctx);
    void *ctx;

    /* DRT_SECURE_MEMBERSHIP and up (NULL in DRT_SECURE_RESOLVE). The node's
     * own credential, valid while the engine lives; a signature of the
     * buffers of a request we send, written to key_id and sig (at most
     * DRT_ENGINE_KEY_ID_MAX and DRT_ENGINE_SIG_MAX bytes); and the check of
     * a request's credential and signature. */
    struct drt_engine_blob (*credential)(void *ctx);
    HRESULT (*sign)(void *ctx, const struct drt_engine_blob *bufs, size_t n, uint8_t *key_id,
                    size_t *key_id_len, uint8_t *sig, size_t *sig_len);
    HRESULT (*verify)(void *ctx, const struct drt_engine_blob *bufs, size_t n,
                      const struct drt_engine_auth *auth);
    /* DRT_SECURE_CONFIDENTIALPAYLOAD (NULL below). encrypt seals a payload
     * for the holder of credential `to` (outputs valid until done());
     * decrypt opens one sent to this node in place, shrinking *len. */
    HRESULT (*encrypt)(void *ctx, const struct drt_engine_blob *to, const uint8_t *data,
                       size_t len, struct drt_engine_blob *sealed,
                       struct drt_engine_blob *keytoken);
    HRESULT (*decrypt)(void *ctx, const struct drt_engine_blob *keytoken, uint8_t *data,
                       size_t *len);
};

/* Room to encode and decode one message (about 80 KiB). An engine holds
 * nothing in it between its entry points, so engines that never run at the
 * same time, such as those of one thread, can share one: a node then costs
 * only the pages its own state needs. */
struct drt_engine_scratch;
struct drt_engine_scratch *drt_engine_scratch_create(void);
void drt_engine_scratch_destroy(struct drt_engine_scratch *s);

struct drt_engine_config {
    uint8_t version_major; /* DRT_SETTINGS.bProtocolMajorVersion */
    uint8_t version_minor;
    struct drt_endpoint self; /* where peers reach this node */
    drt_random_fn random;     /* required */
    void *random_ctx;
    const struct drt_engine_security *security; /* NULL: the null scheme */
    /* DRT_SECURE_RESOLVE (0), _MEMBERSHIP, _CONFIDENTIALPAYLOAD: the two
     * higher modes need a security with their callbacks. */
    DRT_SECURITY_MODE mode;
    /* 0 selects the default of each. */
    uint32_t max_cache_entries; /* route cache cap (default 1024) */
    uint32_t parallelism;       /* LOOKUPs in flight per search (default 3) */
    uint32_t max_searches;      /* user searches in progress (DRT_ENGINE_DEFAULT_SEARCHES) */
    uint32_t max_keys;          /* local registrations (default 32) */
    uint32_t maintenance_ms;    /* maintenance period (default 15000) */
    uint32_t bootstrap_retry_ms; /* re-bootstrap period while ALONE (default 30000) */
    /* Caps against floods and owners that stop draining; what happens at
     * each is in docs/RELIABILITY.md. */
    uint32_t max_events;         /* events queued for the owner (default 1024) */
    uint32_t rate_sources;       /* sources with their own request bucket (default 256) */
    uint32_t rate_per_source;    /* requests per second per source (default 100) */
    uint32_t burst_per_source;   /* requests at once per source (default 200) */
    uint32_t rate_global;        /* requests per second from unproven sources (default 2000) */
    uint32_t burst_global;       /* requests at once from unproven sources (default 4000) */
    uint32_t reasm_buffers;      /* AUTHORITY buffers in reassembly (default 32, at most 4096) */
    uint32_t reasm_bytes;        /* bytes they hold (default 256 KiB, at least 37,348) */
    /* Shared with engines never run at the same time; it must outlive this
     * engine. NULL: the engine allocates its own. */
    struct drt_engine_scratch *scratch;
};

/* The instance's status as DRT_STATUS, plus the state before the first
 * status event, which has no DRT_STATUS value. */
enum drt_engine_status {
    ENGINE_BOOTSTRAPPING = -1,
    ENGINE_ACTIVE = DRT_ACTIVE,
    ENGINE_ALONE = DRT_ALONE,
    ENGINE_NO_NETWORK = DRT_NO_NETWORK,
    ENGINE_FAULTED = DRT_FAULTED,
};

struct drt_engine_search_params {
    uint8_t target[32];
    uint8_t min[32]; /* min == max == target: exact match only */
    uint8_t max[32];
    uint32_t max_results;     /* cMaxEndpoints, >= 1 */
    bool iterative;           /* one INTERMEDIATE result per hop */
    bool allow_local;         /* fAllowCurrentInstanceMatch */
    bool any_in_range;        /* fAnyMatchInRange */
    uint64_t timeout_ms;      /* 0: none */
};

/* One node a search contacted, for DrtGetSearchPath. */
struct drt_engine_path_entry {
    struct drt_endpoint endpoint;
    uint8_t key[32];
    uint32_t flags;    /* DRT_ADDRESS_FLAGS: how it answered */
    uint32_t nearness; /* leading bits its key shares with the target */
    uint32_t rtt_ms;   /* 0 when it did not answer */
};

enum drt_engine_event_type {
    ENGINE_EV_STATUS,       /* status changed */
    ENGINE_EV_LEAFSET,      /* a key entered or left a local key's leaf set */
    ENGINE_EV_RESULT,       /* a search result (final or intermediate) */
    ENGINE_EV_SEARCH_DONE,  /* a search ended; no more results will come */
};

struct drt_engine_event {
    enum drt_engine_event_type type;
    union {
        struct {
            enum drt_engine_status status;
            size_t bootstrap_tried; /* seeds tried, when entering ALONE */
        } status;
        struct {
            DRT_LEAFSET_KEY_CHANGE_TYPE change;
            uint8_t local_key[32];
            uint8_t remote_key[32];
            struct drt_endpoint remote;
        } leafset;
        struct {
            uint32_t search_id;
            DRT_MATCH_TYPE match;
            uint8_t key[32];
            struct drt_endpoint endpoint;
            const uint8_t *app_data; /* valid until the next event call */
            size_t app_data_len;
        } result;
        struct {
            uint32_t search_id;
            HRESULT hr; /* S_OK, DRT_E_TIMEOUT, DRT_E_NO_MORE (nothing found) */
            uint32_t hops;     /* path length to the best result: referrals followed */
            uint32_t messages; /* requests sent for it */
            /* Every node contacted, in the order they were first asked;
             * valid until the next event call. */
            const struct drt_engine_path_entry *path;
            size_t path_len;
        } done;
    } u;
};

struct drt_engine;

/* NULL when cfg is incomplete (no random callback, port < 1024) or memory
 * is short. The engine starts in ENGINE_BOOTSTRAPPING. */
struct drt_engine *drt_engine_create(const struct drt_engine_config *cfg, uint64_t now);
void drt_engine_destroy(struct drt_engine *e);

/* Starts (or restarts) bootstrap from these seed endpoints; with none the
 * node is the first of its cloud and goes ALONE. */
void drt_engine_bootstrap(struct drt_engine *e, const struct drt_endpoint *seeds, size_t n,
                          uint64_t now);

/* A datagram from `from`. Malformed or unexpected input is dropped. */
void drt_engine_receive(struct drt_engine *e, const struct drt_endpoint *from,
                        const uint8_t *buf, size_t len, uint64_t now);

/* Runs everything due at `now`. Call it when next_deadline() has passed. */
void drt_engine_timer(struct drt_engine *e, uint64_t now);
/* When drt_engine_timer() must next run; UINT64_MAX when nothing waits. */
uint64_t drt_engine_next_deadline(const struct drt_engine *e);

/* The host lost every usable address (NO_NETWORK) or got one back. */
void drt_engine_set_network(struct drt_engine *e, bool up, uint64_t now);
/* A fatal local error: the engine goes FAULTED and stays there. */
void drt_engine_fault(struct drt_engine *e, uint64_t now);

enum drt_engine_status drt_engine_status(const struct drt_engine *e);
/* The endpoint this node puts in its route entries. */
const struct drt_endpoint *drt_engine_self(const struct drt_engine *e);

/* Registration. S_OK, DRT_E_DUPLICATE_KEY, DRT_E_FAULTED, E_OUTOFMEMORY
 * (the max_keys cap), E_INVALIDARG (data NULL with len > 0 or len >
 * DRT_MAX_PAYLOAD_SIZE). The key is copied; publication waits for ACTIVE. */
HRESULT drt_engine_register(struct drt_engine *e, const uint8_t key[32], const uint8_t *data,
                            size_t len, uint32_t *reg_id, uint64_t now);
HRESULT drt_engine_update(struct drt_engine *e, uint32_t reg_id, const uint8_t *data, size_t len,
                          uint64_t now);
/* E_HANDLE for an unknown reg_id. */
HRESULT drt_engine_unregister(struct drt_engine *e, uint32_t reg_id, uint64_t now);
size_t drt_engine_key_count(const struct drt_engine *e);
/* DrtClose: unregisters every key (revocations go out). */
void drt_engine_unregister_all(struct drt_engine *e, uint64_t now);

/* Open searches an owner may have when it does not set max_searches. */
#define DRT_ENGINE_DEFAULT_SEARCHES 64u

/* Searches. start: S_OK, DRT_E_FAULTED, E_OUTOFMEMORY (max_searches).
 * continue: S_OK, E_HANDLE, DRT_E_SEARCH_IN_PROGRESS (not paused). */
HRESULT drt_engine_search_start(struct drt_engine *e, const struct drt_engine_search_params *p,
                                uint32_t *search_id, uint64_t now);
HRESULT drt_engine_search_continue(struct drt_engine *e, uint32_t search_id, uint64_t now);
void drt_engine_search_cancel(struct drt_engine *e, uint32_t search_id);

/* Output: the next datagram to send, valid until the next call on e. */
bool drt_engine_next_datagram(struct drt_engine *e, struct drt_endpoint *to, const uint8_t **buf,
                              size_t *len);
/* Output: the next event; pointers inside stay valid until the next call. */
bool drt_engine_next_event(struct drt_engine *e, struct drt_engine_event *ev);

struct drt_engine_stats {
    uint64_t datagrams_sent, bytes_sent, datagrams_received, bytes_received;
    uint64_t dropped_malformed, dropped_unexpected;
    /* Requests (SOLICIT, REQUEST, FLOOD, INQUIRE, LOOKUP) admitted, and
     * those dropped unanswered: over their source's rate, over the global
     * budget. */
    uint64_t requests_admitted, dropped_rate_source, dropped_rate_global;
    uint64_t rate_sources_evicted; /* sources that lost their bucket's slot */
    uint64_t events_dropped;       /* oldest events dropped at max_events */
    /* AUTHORITY reassembly at its caps: one-fragment buffers evicted for a
     * newcomer, newcomers refused, buffers ended by their timeout. */
    uint64_t reasm_evicted, reasm_refused, reasm_expired;
    uint64_t proofs_rejected;      /* answers whose proof did not check out */
    /* Requests dropped for their authentication: in membership and
     * confidential modes a REQUEST, INQUIRE or LOOKUP without a valid
     * credential and signature; in resolve mode one that carries them (a
     * node of another mode). */
    uint64_t dropped_unauthenticated;
    /* Revocations (FLOOD with a Revoke CPA) under a security provider:
     * refused (proof, signer or sender wrong), stale (the key's node still
     * proves the key: a replay), accepted (key forgotten, passed on). */
    uint64_t revocations_rejected, revocations_stale, revocations_accepted;
    /* First sends by message type (index: enum wire_msg_type), and
     * retransmissions of requests that went unanswered. */
    uint64_t sent_by_type[16], retransmissions;
    size_t cache_entries, memory_bytes; /* memory includes reasm_bytes */
    size_t reasm_bytes;                  /* held by reassembly now */
    size_t events_queued, rate_sources; /* now */
};
void drt_engine_get_stats(const struct drt_engine *e, struct drt_engine_stats *st);

/*
 * Persistence for fast rejoin (engine_export.c; the file around it is
 * src/api's, docs/PROTOCOL.md "Route cache file"). Export copies verified
 * route entries out; import takes entries back only as unverified
 * candidates, each checked by the usual INQUIRE return-routability probe
 * before anything routes through it.
 */
struct drt_engine_route {
    uint8_t key[32];
    struct drt_endpoint ep;
    uint32_t rtt_ms; /* smoothed round trip when saved; 0 = never measured */
};
/* Entries import takes and probes at once: a burst of INQUIREs the size of
 * a bootstrap, and at most the smallest pending cap of a route cache. */
#define DRT_ENGINE_IMPORT_MAX 32u
/* The verified entries, best first (measured RTT ascending, unmeasured
 * last, ties by key): the best cap of them go to out. Returns how many
 * were written. */
size_t drt_engine_export_routes(const struct drt_engine *e, struct drt_engine_route *out,
                                size_t cap);
/* Offers the first DRT_ENGINE_IMPORT_MAX usable entries of in (port >=
 * 1024, not our own endpoint, not a key already verified) as pending and
 * INQUIREs each; one that answers with a valid proof is verified and, as
 * with any verified peer, makes an ALONE or BOOTSTRAPPING node ACTIVE.
 * While FAULTED or without network nothing is taken (0). Returns how many
 * were probed. */
size_t drt_engine_import_routes(struct drt_engine *e, const struct drt_engine_route *in, size_t n,
                                uint64_t now);

#endif
