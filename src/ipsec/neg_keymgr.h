/*
 * neg_keymgr.h - the key-manager cycle of one child-SA negotiation
 * (reference ipsec-keymgr.md §5, §9 item 7): ask the dictator whether it
 * will dictate, arbitrate with the peer's weight, have the winner's
 * dictator write the keys under its deadline and check them, and, once
 * both SAs are installed, tell every registered key manager the final keys.
 *
 * Locking: the engine is sans-I/O and takes no lock itself. Whoever shares
 * it between threads passes lock/unlock (src/api passes its mutex). They
 * are held only to pin and unpin registrations (keymgr.h); every callback
 * runs with the lock released, on a pinned copy, so a callback may call
 * back into the API, unregistering itself included, without deadlock. A
 * pin lives as long as its call: from the moment the negotiation makes it
 * until the callback returned (neg_km_run) or the call was dropped.
 */
#ifndef DRT_IPSEC_NEG_KEYMGR_H
#define DRT_IPSEC_NEG_KEYMGR_H

#include <stdbool.h>
#include <stdint.h>

#include "ipsec/engine.h"
#include "ipsec/esp.h"
#include "ipsec/keymgr.h"
#include "ipsec/neg_wire.h"


/* What the SA details describe, apart from SPI, direction and keys. */
struct neg_sa_params {
    FWP_IP_VERSION ip_version;
    uint8_t local_addr[16]; /* V4: the first 4 bytes, network order */
    uint8_t remote_addr[16];
    uint32_t qm_sa_id; /* the same on both peers */
    uint64_t mm_sa_id; /* SPIi of the IKE SA */
    UINT32 bundle_flags;
};

/* One IPSEC_SA_DETAILS1 with everything it points to: one ESP SA with
 * IPSEC_TRANSFORM_ESP_AUTH_AND_CIPHER, GCM_AES_256 in both slots and the
 * same 36-byte blob (key | salt) in both, as Windows does for GCM. The
 * structure points into itself: build it in place, never copy it. */
struct neg_sa_view {
    IPSEC_SA_DETAILS1 d;
    IPSEC_SA0 sa;
    IPSEC_SA_AUTH_AND_CIPHER_INFORMATION0 info;
    uint8_t key[ESP_KEYMAT_SIZE];
};

/* keymat NULL: zero bytes (the blob a dictator fills in). */
void neg_sa_view_init(struct neg_sa_view *v, const struct neg_sa_params *p, FWP_DIRECTION dir,
                      uint32_t spi, const uint8_t *keymat);
void neg_sa_view_clear(struct neg_sa_view *v);

enum neg_winner { NEG_WIN_NONE = 0, NEG_WIN_INITIATOR, NEG_WIN_RESPONDER };

/* Who dictates (docs/KEYING.md §7.4): a side that does not want to is out;
 * if only one wants, it wins whatever the weights; if both, the strictly
 * heavier wins and a tie goes to the responder (MS-AIPS §3.4.5.1: the
 * initiator wins only when strictly heavier). Both ends compute the same. */
enum neg_winner neg_km_arbitrate(bool will_i, uint32_t weight_i, bool will_r, uint32_t weight_r);

/* ------------------------------------------------------------------------
 * Key-manager calls. The negotiation never waits inside a callback: it
 * makes a call (a pinned registration and what the callback needs), hands
 * it to env->ask, and takes the answer later as an input, or gives up at
 * the call's deadline (docs/KEYING.md §7.4). Without env->ask a call
 * runs at once, inside the negotiation's own step (the sans-I/O tests,
 * bench/neg_speed.c).
 * ---------------------------------------------------------------------- */

enum neg_km_op {
    NEG_KM_CHECK = 1, /* keyDictationCheck: will it dictate, at what weight */
    NEG_KM_DICTATE,   /* keyDictation: the SA pair's keys */
    NEG_KM_NOTIFY,    /* keyNotify: the final keys; nobody waits for it */
};

struct neg_km_call {
    uint64_t id;       /* the answer names it; 0 for NOTIFY (no answer) */
    enum neg_km_op op;
    uint64_t deadline; /* the `now` after which the answer no longer counts */
    struct ipsec_keymgr_pin pin;
    struct neg_sa_params params;
    uint32_t in_spi, out_spi; /* the local inbound and outbound SPIs */
    uint8_t keys_in[ESP_KEYMAT_SIZE], keys_out[ESP_KEYMAT_SIZE]; /* NOTIFY only */
};

struct neg_km_answer {
    uint64_t id;
    bool will;       /* CHECK */
    uint32_t weight; /* CHECK; 0 unless will */
    /* DICTATE: ERROR_SUCCESS with the keys (local inbound, outbound), or
     * the dictator's code; FWP_E_TIMEOUT when it returned late (by the
     * env's clock), FWP_E_KEY_DICTATION_INVALID_KEYING_MATERIAL for keys
     * that do not fit, FWP_E_NOT_FOUND when it left before the call ran.
     * generate: its keyingModuleGenKey, which lets the keying module make
     * the keys when rc is not ERROR_SUCCESS. */
    DWORD rc;
    bool generate;
    uint8_t keys_in[ESP_KEYMAT_SIZE], keys_out[ESP_KEYMAT_SIZE];
};

/* A key manager registered from another process (pin->remote != 0) is
 * reached through these (src/api/keying_server.c), on the thread that runs
 * the call; each waits for the answer at most the registration's timeout
 * hint. check: no answer is "will not dictate". dictate: the answer's
 * slots are written into in/out (whose sizes then tell whether they fit),
 * or an error is returned. notify: sent, not answered. */
struct neg_remote_ops {
    void (*check)(void *ctx, const struct ipsec_keymgr_pin *pin, const struct neg_sa_params *p,
                  bool *will, uint32_t *weight);
    DWORD (*dictate)(void *ctx, const struct ipsec_keymgr_pin *pin,
                     const struct neg_sa_params *p, struct neg_sa_view *in,
                     struct neg_sa_view *out, BOOL *gen);
    void (*notify)(void *ctx, const struct ipsec_keymgr_pin *pin, const struct neg_sa_params *p,
                   const struct neg_sa_view *in, const struct neg_sa_view *out);
};

struct neg_keymgr_env {
    struct ipsec_engine *engine; /* NULL: no key managers at all */
    void (*lock)(void *ctx);     /* optional */
    void (*unlock)(void *ctx);
    void *lock_ctx;
    /* Milliseconds on any monotonic clock: a keyDictation that returns
     * more than the dictator's keyDictationTimeoutHint after it started
     * counts as late. Optional (then only the deadline decides). */
    uint64_t (*clock_ms)(void *ctx);
    void *clock_ctx;
    ipsec_random_fn random; /* keys the keying module makes (keyingModuleGenKey) */
    void *random_ctx;
    /* Optional: runs calls elsewhere (a worker thread, another process).
     * It takes a copy of the call and ends it with neg_km_run (then hands
     * the answer, unless op is NOTIFY, back to the negotiation on its own
     * thread) or neg_km_drop. NULL: calls run inline. */
    void (*ask)(void *ctx, const struct neg_km_call *call);
    void *ask_ctx;
    const struct neg_remote_ops *remote; /* optional: key managers of other processes */
    void *remote_ctx;
};

/* Pins the dictating key manager into a CHECK or DICTATE call (id and
 * deadline left to the caller). false when none is registered. */
bool neg_km_call_init(const struct neg_keymgr_env *env, enum neg_km_op op,
                      const struct neg_sa_params *p, uint32_t in_spi, uint32_t out_spi,
                      struct neg_km_call *call);

/* Runs the call's callback on its pinned copy with the lock released,
 * on any thread, fills ans (NULL for NOTIFY), releases the pin and
 * cleanses the call. A registration that left before the call ran is not
 * called: CHECK answers "will not", DICTATE FWP_E_NOT_FOUND. */
void neg_km_run(const struct neg_keymgr_env *env, struct neg_km_call *call,
                struct neg_km_answer *ans);
/* Ends a call without running it: releases the pin, cleanses it. */
void neg_km_drop(const struct neg_keymgr_env *env, struct neg_km_call *call);
void neg_km_answer_clear(struct neg_km_answer *ans);

/* keyNotify on every registration, each with its own copy of the details:
 * run inline, or handed to env->ask. Returns how many calls were made. */
size_t neg_km_notify(const struct neg_keymgr_env *env, const struct neg_sa_params *p,
                     uint32_t in_spi, const uint8_t keys_in[ESP_KEYMAT_SIZE], uint32_t out_spi,
                     const uint8_t keys_out[ESP_KEYMAT_SIZE]);

#endif
