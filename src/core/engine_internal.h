/*
 * engine_internal.h - the objects inside a struct drt_engine, shared by
 * the engine's files:
 *   engine.c         life cycle, dispatch, timers, status machine, output
 *   engine_send.c    building and sending each request and answer
 *   engine_serve.c   answering SOLICIT, REQUEST, FLOOD, INQUIRE, LOOKUP
 *   engine_search.c  the resolver: searches hop by hop
 *   engine_keys.c    local registrations, publication, revocation
 *   engine_revoke.c  revocations received: checked, confirmed, passed on
 *   engine_cache.c   the route cache as the engine uses it, leaf-set events
 */
#ifndef DRT_CORE_ENGINE_INTERNAL_H
#define DRT_CORE_ENGINE_INTERNAL_H

#include "core/engine.h"
#include "core/pending.h"
#include "core/queue.h"
#include "core/ratelimit.h"
#include "core/reassembly.h"
#include "core/wire.h"

#define ENGINE_LEAF_SIDE 5
#define ENGINE_MAX_CANDIDATES 48
/* A LOOKUP answer prefers, among this many of the closest peers, one that
 * was heard from lately: under churn the closest entry of a table is often
 * a node long gone, and naming it costs the resolver a timeout. */
#define ENGINE_REFERRAL_CHOICES 8
#define ENGINE_RTO_MIN_MS 200u
#define ENGINE_RTO_MAX_MS 1000u /* [MC-DRT] 3.1.2: retransmit every second */
#define ENGINE_RETRIES 2u       /* [MC-DRT] 3.1.5.2 */

/* A route entry as the engine passes it around. */
struct engine_peer {
    uint8_t key[32];
    struct drt_endpoint ep;
};

struct local_key {
    uint32_t reg_id;
    uint8_t key[32];
    uint8_t *data;
    size_t len;
    bool published;
    uint8_t publications; /* walks started, saturating */
    bool leaf_lost; /* a leaf-set neighbour left since the last publication */
};

/* A signed revocation waiting for the key's node to confirm it
 * (engine_revoke.c): the INQUIRE asking it, and what to pass on after. */
struct revoke_check {
    uint32_t msg_id; /* the confirming INQUIRE; 0: free slot */
    uint8_t key[32];
    struct drt_endpoint owner;
    struct wire_endpoints flooded;
    uint8_t *cpa;
    size_t cpa_len;
};
#define ENGINE_MAX_REVOKE_CHECKS 8
/* Revocations whose signature is checked, per second and at once: the
 * only signature check a stranger's request can cause (a FLOOD), so it
 * gets a budget of its own (docs/RELIABILITY.md). */
#define ENGINE_REVOKE_CHECKS_PER_S 32u
#define ENGINE_REVOKE_CHECKS_BURST 64u

/* The key identifier and signature of the request being signed. */
struct engine_auth_out {
    uint8_t key_id[DRT_ENGINE_KEY_ID_MAX];
    uint8_t sig[DRT_ENGINE_SIG_MAX];
};

/* A leaf-set change the cache reported, waiting for engine_leafset_sync. */
struct leaf_change {
    uint8_t local[32];
    bool added;
    struct engine_peer peer;
};
#define ENGINE_MAX_LEAF_CHANGES 64

enum cand_state { CAND_NEW, CAND_ASKED, CAND_DONE, CAND_FAILED };

struct candidate {
    struct engine_peer peer;
    enum cand_state state;
    bool local;       /* one of our own keys */
    uint32_t rtt_ms;
    uint32_t flags;   /* DRT_ADDRESS_FLAGS for the search path */
    uint8_t depth;    /* hops from us: 1 for what our cache knew, +1 per referral */
    uint8_t asks;     /* LOOKUPs sent to it */
    bool has_via;     /* learned from another candidate's answer */
    uint8_t via[32];  /* that candidate's key */
    uint16_t order;   /* when first asked (1, 2, ...), 0 = never: the path order */
};

enum search_phase { PHASE_ROUTE, PHASE_FETCH, PHASE_DONE };

struct search {
    uint32_t id;
    struct drt_engine_search_params p;
    bool publish;        /* a publication walk for a local key, not an API search */
    uint32_t publish_reg;
    bool paused;         /* iterative: waiting for continue */
    /* An exact walk that ran dry has asked its closest nodes again for
     * the closest peers they know, closer than themselves or not. */
    bool widened;
    bool widen_publish; /* a key's first publication: may widen too */
    enum search_phase phase;
    uint64_t deadline;   /* UINT64_MAX: none */
    struct candidate cand[ENGINE_MAX_CANDIDATES];
    size_t ncand;
    size_t fetch_left;   /* result INQUIREs outstanding */
    size_t results;      /* final results reported */
    uint32_t hops;       /* depth of the best result (path length) */
    uint32_t messages;   /* requests sent */
    uint16_t asked_count; /* candidates asked so far */
};

/* Leaf-set neighbours pinged per maintenance round, at most. */
#define ENGINE_MAX_PINGS 64

struct drt_engine {
    struct drt_engine_config cfg;
    enum drt_engine_status status;
    bool network_up;
    uint64_t now;

    struct drt_endpoint *seeds;
    size_t nseeds;
    uint64_t next_bootstrap;     /* while ALONE */
    uint32_t bootstrap_backoff_ms;
    bool bootstrap_running;
    bool ever_active;

    struct local_key *keys;
    size_t nkeys;
    uint32_t next_reg_id;

    struct route_cache *cache;
    /* Grown on demand up to ENGINE_MAX_LEAF_CHANGES: most nodes record a
     * few at a time, and the engine struct is resident memory per node. */
    struct leaf_change *leaf_changes;
    size_t nleaf_changes, leaf_changes_cap;
    uint64_t leaf_changes_lost;
    struct pending_table pending;
    struct reasm *reasm;

    struct search **searches; /* nsearches in use of cap_searches */
    size_t nsearches, cap_searches;
    /* In progress, each kind capped at max_searches: [0] the owner's
     * searches, [1] publication walks, so publishing never takes the room
     * the API promised an open search. */
    uint32_t nkind[2];
    bool publish_due;         /* publish unpublished keys at the next safe point */
    uint32_t next_search_id;

    struct queue out;
    struct queue events;

    struct ratelimit *rate;      /* per-source request buckets */
    struct token_bucket rate_global;

    uint64_t next_maintenance;
    unsigned maintenance_round;
    uint32_t srtt_ms, rttvar_ms;

    struct drt_engine_stats stats;
    struct revoke_check *revoke_checks; /* ENGINE_MAX_REVOKE_CHECKS, from the first */
    struct token_bucket revoke_budget;
    uint8_t proof_cpa[49];   /* the null scheme's CPA being sent */
    struct engine_auth_out *auth; /* from the first request signed */
    bool proof_pending;      /* the provider holds buffers until done() */
    struct drt_engine_scratch *buf; /* cfg.scratch, or own_buf */
    struct drt_engine_scratch *own_buf;
};

/* Room to encode the largest message. Allocated without clearing: the
 * pages no message reaches (most: the usual datagram is a few hundred
 * bytes) cost no memory. Nothing in it outlives an entry point. */
struct drt_engine_scratch {
    uint8_t plain[DRT_MAX_PAYLOAD_SIZE + 64]; /* a confidential payload, opened */
    uint8_t scratch[WIRE_SPLIT_MAX + 64];
    uint8_t scratch2[WIRE_SPLIT_MAX + 64];
};

/* engine.c */
/* Work deferred out of message handlers (it may start searches), run at
 * the end of every entry point. */
void engine_run_deferred(struct drt_engine *e);
uint32_t engine_random32(struct drt_engine *e);
void engine_random_bytes(struct drt_engine *e, uint8_t *out, size_t n);
void engine_set_status(struct drt_engine *e, enum drt_engine_status s, size_t tried);
void engine_emit(struct drt_engine *e, const struct drt_engine_event *ev, const uint8_t *data,
                 size_t len);
void engine_rtt_sample(struct drt_engine *e, uint64_t rtt_ms);
uint32_t engine_rto(const struct drt_engine *e);
void engine_became_reachable(struct drt_engine *e);
/* The bootstrap's last request was answered or expired: ALONE if nothing
 * it brought in was verified. */
void engine_bootstrap_check_done(struct drt_engine *e);
/* Registration while ALONE: bring the next bootstrap attempt forward. */
void engine_alone_with_new_key(struct drt_engine *e);
struct local_key *engine_local_key(struct drt_engine *e, const uint8_t key[32]);
struct local_key *engine_local_reg(struct drt_engine *e, uint32_t reg_id);

/* engine_send.c */
void engine_header(struct drt_engine *e, struct wire_msg *m, uint8_t type, uint32_t msg_id);
void engine_send_msg(struct drt_engine *e, const struct drt_endpoint *to, const struct wire_msg *m);
void engine_route_entry(const struct drt_engine *e, const uint8_t key[32],
                        struct wire_route_entry *re);
/* Sends a request and records it as pending; returns its MessageID or 0
 * when the pending table is full. */
uint32_t engine_request(struct drt_engine *e, struct wire_msg *m, const struct drt_endpoint *to,
                        enum pending_kind kind, const uint8_t key[32], uint32_t owner,
                        const uint8_t nonce[16]);
uint32_t engine_send_inquire(struct drt_engine *e, const struct engine_peer *to,
                             enum pending_kind kind, uint16_t flags, uint32_t owner);
void engine_send_authority(struct drt_engine *e, const struct drt_endpoint *to, uint32_t acked,
                           const struct wire_authority_buffer *ab);
void engine_send_flood(struct drt_engine *e, const struct drt_endpoint *to,
                       const uint8_t validate[32], const struct wire_route_entry *re,
                       const struct wire_blob *revoke, const struct wire_endpoints *flooded);
/* The CPA the null security provider puts in AUTHORITY: 0 | key | nonce. */
size_t engine_null_cpa(const uint8_t key[32], const uint8_t nonce[16], uint8_t out[49]);

/* engine_proof.c: proofs through the configured security provider, or the
 * null scheme. engine_pack fills ab's proof fields for a local key
 * (nothing on failure); engine_validate checks an AUTHORITY_BUFFER and
 * gives its payload. Call engine_proof_done after using either's output. */
/* requester: the INQUIRE's CREDENTIAL; in confidential mode the payload is
 * encrypted for it (a KEYTOKEN beside it), and engine_validate opens it. */
bool engine_pack(struct drt_engine *e, const struct local_key *k, const uint8_t nonce[16],
                 uint16_t inquire_flags, const struct wire_blob *requester,
                 struct wire_authority_buffer *ab);
bool engine_validate(struct drt_engine *e, const uint8_t key[32], const uint8_t nonce[16],
                     const struct wire_authority_buffer *ab, struct drt_engine_blob *payload);
/* A revocation of local key k (null scheme: 00 | key | zero nonce; or the
 * provider's record with DRT_PAYLOAD_REVOKED), and the check of a received
 * one, which gives the key it revokes. Call engine_proof_done after. */
bool engine_pack_revocation(struct drt_engine *e, const struct local_key *k,
                            struct wire_blob *cpa);
bool engine_validate_revocation(struct drt_engine *e, const struct wire_blob *cpa,
                                uint8_t key[32]);
void engine_proof_done(struct drt_engine *e);
void engine_retransmit_due(struct drt_engine *e);

/* engine_auth.c: requests' credentials and signatures (membership and
 * confidential modes). required: whether a request of this type carries
 * them in our mode; sign fills m's auth fields (m's MessageID set);
 * admit decides on a received request (buf, len: its datagram); check
 * verifies one whose body (the fields after the header) is given apart,
 * as for a reassembled REQUEST. */
bool engine_auth_required(const struct drt_engine *e, uint8_t type);
bool engine_auth_sign(struct drt_engine *e, struct wire_msg *m);
bool engine_auth_admit(struct drt_engine *e, const uint8_t *buf, size_t len,
                       const struct wire_msg *m);
bool engine_auth_check(struct drt_engine *e, const uint8_t *hdr, const uint8_t *body,
                       size_t body_len, const struct wire_auth *a);

/* engine_serve.c */
/* Whether a request from `from` is answered: within its source's rate and,
 * for a source that never answered us, the global budget (counted when not). */
bool engine_admit_request(struct drt_engine *e, const struct drt_endpoint *from);
void engine_on_solicit(struct drt_engine *e, const struct drt_endpoint *from,
                       const struct wire_msg *m);
/* hdr: the datagram's 12 header bytes (a fragmented body's signature
 * covers them). */
void engine_on_request(struct drt_engine *e, const struct drt_endpoint *from,
                       const struct wire_msg *m, const uint8_t *hdr);
void engine_on_flood(struct drt_engine *e, const struct drt_endpoint *from,
                     const struct wire_msg *m);
void engine_on_inquire(struct drt_engine *e, const struct drt_endpoint *from,
                       const struct wire_msg *m);
void engine_on_lookup(struct drt_engine *e, const struct drt_endpoint *from,
                      const struct wire_msg *m);
/* A route entry heard from the network: unverified until an answer to our
 * own request proves it. */
void engine_learn(struct drt_engine *e, const struct wire_route_entry *re);

/* engine_search.c */
struct search *engine_search_find(struct drt_engine *e, uint32_t id);
struct search *engine_search_new(struct drt_engine *e, const struct drt_engine_search_params *p,
                                 bool publish);
void engine_search_pump(struct drt_engine *e, struct search *s);
void engine_search_on_authority(struct drt_engine *e, struct pending *p,
                                const struct wire_authority_buffer *ab);
void engine_search_on_timeout(struct drt_engine *e, struct pending *p);
void engine_search_expire(struct drt_engine *e);
void engine_search_free(struct drt_engine *e, struct search *s);
void engine_searches_gc(struct drt_engine *e);

/* engine_keys.c */
void engine_publish(struct drt_engine *e, struct local_key *k);
void engine_publish_all(struct drt_engine *e);
/* Floods the revocation of local key k (before it is dropped). */
void engine_revoke(struct drt_engine *e, const struct local_key *k);
/* Passes a revocation on to our leaf-set neighbours that have not seen it. */
void engine_revoke_forward(struct drt_engine *e, const uint8_t key[32],
                           const struct drt_endpoint *owner, const struct wire_blob *cpa,
                           const struct wire_endpoints *flooded);
void engine_keys_free(struct drt_engine *e);

/* engine_revoke.c */
/* A FLOOD's Revoke CPA from `from`. */
void engine_on_revocation(struct drt_engine *e, const struct drt_endpoint *from,
                          const struct wire_flood *f);
/* The key's node answered (or not) the INQUIRE confirming a revocation. */
void engine_revoke_on_answer(struct drt_engine *e, struct pending *p,
                             const struct wire_authority_buffer *ab);
void engine_revoke_on_timeout(struct drt_engine *e, struct pending *p);
void engine_revoke_checks_free(struct drt_engine *e);

/* engine_cache.c */
bool engine_cache_create(struct drt_engine *e);
void engine_cache_destroy(struct drt_engine *e);
void engine_cache_offer(struct drt_engine *e, const struct engine_peer *p, bool verified);
void engine_cache_verified(struct drt_engine *e, const struct engine_peer *p);
void engine_cache_forget_key(struct drt_engine *e, const uint8_t key[32]);
void engine_cache_forget_endpoint(struct drt_engine *e, const struct drt_endpoint *ep);
/* Up to n known peers closest to target (local keys excluded), best first. */
size_t engine_cache_closest(struct drt_engine *e, const uint8_t target[32], struct engine_peer *out,
                            size_t n);
size_t engine_cache_spread(struct drt_engine *e, struct engine_peer *out, size_t n);
/* The next hop a LOOKUP answer names: among the ENGINE_REFERRAL_CHOICES
 * known peers closest to target whose endpoints are neither on path nor
 * `from` (and, with beat, closer to target than beat), the closest one
 * heard from within two maintenance periods, else the closest of all. */
bool engine_cache_best_unvisited(struct drt_engine *e, const uint8_t target[32],
                                 const struct wire_endpoints *path,
                                 const struct drt_endpoint *from, const uint8_t *beat,
                                 struct engine_peer *out);
size_t engine_cache_unverified(struct drt_engine *e, struct engine_peer *out, size_t n);
bool engine_cache_has_verified(struct drt_engine *e);
bool engine_cache_find(struct drt_engine *e, const uint8_t key[32], struct engine_peer *out);
bool engine_cache_is_verified(struct drt_engine *e, const uint8_t key[32],
                              const struct drt_endpoint *ep);
bool engine_cache_would_be_leaf(struct drt_engine *e, const uint8_t key[32]);
size_t engine_cache_leaf(struct drt_engine *e, const struct local_key *k, struct engine_peer *out,
                         size_t n);
void engine_cache_add_local(struct drt_engine *e, struct local_key *k);
void engine_cache_remove_local(struct drt_engine *e, const uint8_t key[32]);
/* Raises DRT_EVENT_LEAFSET_KEY_CHANGED for the leaf-set changes the cache
 * reported, and spreads each new neighbour (FLOODs). */
void engine_leafset_sync(struct drt_engine *e);
size_t engine_cache_count(const struct drt_engine *e);
size_t engine_cache_memory(const struct drt_engine *e);

#endif
