/*
 * neg_keymgr.h - the key-manager cycle of one child-SA negotiation
 * (reference ipsec-keymgr.md §5, §9 item 7): ask the dictator whether it
 * will dictate, arbitrate with the peer's weight, have the winner's
 * dictator write the keys under its deadline and check them, and, once
 * both SAs are installed, tell every registered key manager the final keys.
 *
 * Locking: the engine is sans-I/O and takes no lock itself. Whoever shares
 * it between threads passes lock/unlock (src/api would pass its mutex).
 * They are held only to pin and unpin registrations (keymgr.h); every
 * callback runs with the lock released, on a pinned copy, so a callback may
 * call back into the API, unregistering itself included, without deadlock.
 */
#ifndef DRT_IPSEC_NEG_KEYMGR_H
#define DRT_IPSEC_NEG_KEYMGR_H

#include <stdbool.h>
#include <stdint.h>

#include "ipsec/engine.h"
#include "ipsec/esp.h"
#include "ipsec/neg_wire.h"

struct neg_keymgr_env {
    struct ipsec_engine *engine; /* NULL: no key managers at all */
    void (*lock)(void *ctx);     /* optional */
    void (*unlock)(void *ctx);
    void *lock_ctx;
    /* Milliseconds on any monotonic clock: times the keyDictation call
     * against the dictator's keyDictationTimeoutHint. Required when a
     * dictator may be called. */
    uint64_t (*clock_ms)(void *ctx);
    void *clock_ctx;
    ipsec_random_fn random; /* keys the keying module makes (keyingModuleGenKey) */
    void *random_ctx;
};

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

/* keyDictationCheck on the dictating key manager, if one is registered.
 * Without one, *will is false and *weight 0. */
void neg_km_check(const struct neg_keymgr_env *env, const struct neg_sa_params *p, bool *will,
                  uint32_t *weight);

enum neg_winner { NEG_WIN_NONE = 0, NEG_WIN_INITIATOR, NEG_WIN_RESPONDER };

/* Who dictates (docs/KEYING.md §7.4): a side that does not want to is out;
 * if only one wants, it wins whatever the weights; if both, the strictly
 * heavier wins and a tie goes to the responder (MS-AIPS §3.4.5.1: the
 * initiator wins only when strictly heavier). Both ends compute the same. */
enum neg_winner neg_km_arbitrate(bool will_i, uint32_t weight_i, bool will_r, uint32_t weight_r);

/* keyDictation on the local dictator. in_spi/out_spi: the local inbound
 * and outbound SPIs. On ERROR_SUCCESS keys_in and keys_out hold the local
 * inbound and outbound key material (ESP_KEYMAT_SIZE each) and *generated
 * tells whether the keying module made them (the dictator failed, or was
 * late, and set keyingModuleGenKey). Otherwise the negotiation fails with
 * the code returned: the dictator's own error, FWP_E_TIMEOUT when late,
 * FWP_E_KEY_DICTATION_INVALID_KEYING_MATERIAL for keys of the wrong
 * length, FWP_E_NOT_FOUND if the dictator left in between,
 * ERROR_INTERNAL_ERROR if the random source failed. */
DWORD neg_km_dictate(const struct neg_keymgr_env *env, const struct neg_sa_params *p,
                     uint32_t in_spi, uint32_t out_spi, uint8_t keys_in[ESP_KEYMAT_SIZE],
                     uint8_t keys_out[ESP_KEYMAT_SIZE], bool *generated);

/* keyNotify on every registration, each with its own copy of the details,
 * cleansed after it returns. Returns how many were notified. */
size_t neg_km_notify(const struct neg_keymgr_env *env, const struct neg_sa_params *p,
                     uint32_t in_spi, const uint8_t keys_in[ESP_KEYMAT_SIZE], uint32_t out_spi,
                     const uint8_t keys_out[ESP_KEYMAT_SIZE]);

#endif
