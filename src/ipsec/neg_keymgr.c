/* neg_keymgr.c - check, arbitration, dictation and notification
 * (neg_keymgr.h). */
#include "ipsec/neg_keymgr.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "ipsec/keymgr.h"

static void env_lock(const struct neg_keymgr_env *env)
{
    if (env->lock)
        env->lock(env->lock_ctx);
}

static void env_unlock(const struct neg_keymgr_env *env)
{
    if (env->unlock)
        env->unlock(env->lock_ctx);
}

static bool pin_dictator(const struct neg_keymgr_env *env, struct ipsec_keymgr_pin *pin)
{
    if (!env->engine)
        return false;
    env_lock(env);
    DWORD rc = ipsec_keymgr_pin_dictator(env->engine, pin);
    env_unlock(env);
    return rc == ERROR_SUCCESS;
}

static void unpin(const struct neg_keymgr_env *env, const struct ipsec_keymgr_pin *pin)
{
    env_lock(env);
    ipsec_keymgr_unpin(env->engine, pin);
    env_unlock(env);
}

void neg_sa_view_init(struct neg_sa_view *v, const struct neg_sa_params *p, FWP_DIRECTION dir,
                      uint32_t spi, const uint8_t *keymat)
{
    memset(v, 0, sizeof(*v));
    if (keymat)
        memcpy(v->key, keymat, ESP_KEYMAT_SIZE);
    v->info.saCipherInformation.cipherTransform.cipherTransformId =
        (IPSEC_CIPHER_TRANSFORM_ID0){IPSEC_CIPHER_TYPE_AES_256, IPSEC_CIPHER_CONFIG_GCM_AES_256};
    v->info.saCipherInformation.cipherKey = (FWP_BYTE_BLOB){ESP_KEYMAT_SIZE, v->key};
    v->info.saAuthInformation.authTransform.authTransformId =
        (IPSEC_AUTH_TRANSFORM_ID0){IPSEC_AUTH_AES_256, IPSEC_AUTH_CONFIG_GCM_AES_256};
    v->info.saAuthInformation.authKey = (FWP_BYTE_BLOB){ESP_KEYMAT_SIZE, v->key};
    v->sa.spi = spi;
    v->sa.saTransformType = IPSEC_TRANSFORM_ESP_AUTH_AND_CIPHER;
    v->sa.espAuthAndCipherInformation = &v->info;

    IPSEC_SA_DETAILS1 *d = &v->d;
    d->ipVersion = p->ip_version;
    d->saDirection = dir;
    d->traffic.ipVersion = p->ip_version;
    memcpy(d->traffic.localV6Address, p->local_addr, 16);
    memcpy(d->traffic.remoteV6Address, p->remote_addr, 16);
    d->traffic.trafficType = IPSEC_TRAFFIC_TYPE_TRANSPORT;
    d->saBundle.flags = p->bundle_flags;
    d->saBundle.qmSaId = p->qm_sa_id;
    d->saBundle.mmSaId = p->mm_sa_id;
    d->saBundle.numSAs = 1;
    d->saBundle.saList = &v->sa;
    d->saBundle.ipVersion = p->ip_version;
    d->saBundle.pfsGroup = IPSEC_PFS_NONE;
}

void neg_sa_view_clear(struct neg_sa_view *v)
{
    OPENSSL_cleanse(v, sizeof(*v));
}

void neg_km_check(const struct neg_keymgr_env *env, const struct neg_sa_params *p, bool *will,
                  uint32_t *weight)
{
    *will = false;
    *weight = 0;
    struct ipsec_keymgr_pin pin;
    if (!pin_dictator(env, &pin))
        return;
    IKEEXT_TRAFFIC0 t;
    memset(&t, 0, sizeof(t));
    t.ipVersion = p->ip_version;
    memcpy(t.localV6Address, p->local_addr, 16);
    memcpy(t.remoteV6Address, p->remote_addr, 16);
    t.authIpFilterId = 0; /* no Extended Mode (docs/KEYING.md §4.4) */
    BOOL w = FALSE;
    UINT32 wt = 0;
    pin.callbacks.keyDictationCheck(&t, &w, &wt);
    unpin(env, &pin);
    *will = w != FALSE;
    *weight = *will ? wt : 0;
}

enum neg_winner neg_km_arbitrate(bool will_i, uint32_t weight_i, bool will_r, uint32_t weight_r)
{
    if (!will_i && !will_r)
        return NEG_WIN_NONE;
    if (!will_r)
        return NEG_WIN_INITIATOR;
    if (!will_i)
        return NEG_WIN_RESPONDER;
    return weight_i > weight_r ? NEG_WIN_INITIATOR : NEG_WIN_RESPONDER;
}

/* The dictated blob is valid when both slots hold ESP_KEYMAT_SIZE bytes
 * and, if the dictator pointed them at different buffers, the same ones. */
static bool dictated_ok(const struct neg_sa_view *v, uint8_t out[ESP_KEYMAT_SIZE])
{
    const IPSEC_SA0 *sa = &v->sa;
    if (v->d.saBundle.numSAs != 1 || v->d.saBundle.saList != sa ||
        sa->saTransformType != IPSEC_TRANSFORM_ESP_AUTH_AND_CIPHER ||
        sa->espAuthAndCipherInformation != &v->info)
        return false;
    const FWP_BYTE_BLOB *c = &v->info.saCipherInformation.cipherKey;
    const FWP_BYTE_BLOB *a = &v->info.saAuthInformation.authKey;
    if (c->size != ESP_KEYMAT_SIZE || !c->data || a->size != ESP_KEYMAT_SIZE || !a->data)
        return false;
    if (c->data != a->data && CRYPTO_memcmp(c->data, a->data, ESP_KEYMAT_SIZE) != 0)
        return false;
    memcpy(out, c->data, ESP_KEYMAT_SIZE);
    return true;
}

DWORD neg_km_dictate(const struct neg_keymgr_env *env, const struct neg_sa_params *p,
                     uint32_t in_spi, uint32_t out_spi, uint8_t keys_in[ESP_KEYMAT_SIZE],
                     uint8_t keys_out[ESP_KEYMAT_SIZE], bool *generated)
{
    *generated = false;
    struct ipsec_keymgr_pin pin;
    if (!pin_dictator(env, &pin))
        return FWP_E_NOT_FOUND;
    struct neg_sa_params lp = *p;
    lp.bundle_flags |= IPSEC_SA_BUNDLE_FLAG_USING_DICTATED_KEYS |
                       IPSEC_SA_BUNDLE_FLAG_LOCALLY_DICTATED_KEYS;
    struct neg_sa_view *v = calloc(2, sizeof(*v));
    if (!v) {
        unpin(env, &pin);
        return ERROR_NOT_ENOUGH_MEMORY;
    }
    neg_sa_view_init(&v[0], &lp, FWP_DIRECTION_INBOUND, in_spi, NULL);
    neg_sa_view_init(&v[1], &lp, FWP_DIRECTION_OUTBOUND, out_spi, NULL);
    BOOL gen = FALSE;
    uint64_t t0 = env->clock_ms ? env->clock_ms(env->clock_ctx) : 0;
    DWORD rc = pin.callbacks.keyDictation(&v[0].d, &v[1].d, &gen);
    uint64_t t1 = env->clock_ms ? env->clock_ms(env->clock_ctx) : 0;
    unpin(env, &pin);

    /* A late answer is a failed one, whatever it returned (§4.2); its
     * keyingModuleGenKey still decides what happens next. */
    if (rc == ERROR_SUCCESS && t1 - t0 > (uint64_t)pin.timeout_s * 1000u)
        rc = FWP_E_TIMEOUT;
    if (rc == ERROR_SUCCESS) {
        if (!dictated_ok(&v[0], keys_in) || !dictated_ok(&v[1], keys_out))
            rc = FWP_E_KEY_DICTATION_INVALID_KEYING_MATERIAL;
    } else if (gen) {
        if (!env->random || env->random(env->random_ctx, keys_in, ESP_KEYMAT_SIZE) != 0 ||
            env->random(env->random_ctx, keys_out, ESP_KEYMAT_SIZE) != 0)
            rc = ERROR_INTERNAL_ERROR;
        else {
            rc = ERROR_SUCCESS;
            *generated = true;
        }
    }
    neg_sa_view_clear(&v[0]);
    neg_sa_view_clear(&v[1]);
    free(v);
    if (rc != ERROR_SUCCESS) {
        OPENSSL_cleanse(keys_in, ESP_KEYMAT_SIZE);
        OPENSSL_cleanse(keys_out, ESP_KEYMAT_SIZE);
    }
    return rc;
}

size_t neg_km_notify(const struct neg_keymgr_env *env, const struct neg_sa_params *p,
                     uint32_t in_spi, const uint8_t keys_in[ESP_KEYMAT_SIZE], uint32_t out_spi,
                     const uint8_t keys_out[ESP_KEYMAT_SIZE])
{
    if (!env->engine)
        return 0;
    struct ipsec_keymgr_pin *pins = NULL;
    size_t n = 0;
    env_lock(env);
    DWORD rc = ipsec_keymgr_pin_all(env->engine, &pins, &n);
    env_unlock(env);
    if (rc != ERROR_SUCCESS || n == 0)
        return 0;
    struct neg_sa_view *v = calloc(2, sizeof(*v));
    size_t done = 0;
    for (size_t i = 0; v && i < n; i++) {
        neg_sa_view_init(&v[0], p, FWP_DIRECTION_INBOUND, in_spi, keys_in);
        neg_sa_view_init(&v[1], p, FWP_DIRECTION_OUTBOUND, out_spi, keys_out);
        pins[i].callbacks.keyNotify(&v[0].d, &v[1].d);
        done++;
    }
    if (v) {
        neg_sa_view_clear(&v[0]);
        neg_sa_view_clear(&v[1]);
        free(v);
    }
    env_lock(env);
    for (size_t i = 0; i < n; i++)
        ipsec_keymgr_unpin(env->engine, &pins[i]);
    env_unlock(env);
    free(pins);
    return done;
}
