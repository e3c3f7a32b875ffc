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

bool neg_km_call_init(const struct neg_keymgr_env *env, enum neg_km_op op,
                      const struct neg_sa_params *p, uint32_t in_spi, uint32_t out_spi,
                      struct neg_km_call *call)
{
    memset(call, 0, sizeof(*call));
    if (!pin_dictator(env, &call->pin))
        return false;
    call->op = op;
    call->params = *p;
    call->in_spi = in_spi;
    call->out_spi = out_spi;
    return true;
}

/* Has the registration left the registry since the call pinned it? */
static bool left(const struct neg_keymgr_env *env, const struct ipsec_keymgr_pin *pin)
{
    env_lock(env);
    bool gone = ipsec_keymgr_draining(env->engine, pin->registration);
    env_unlock(env);
    return gone;
}

static void run_check(const struct neg_keymgr_env *env, const struct neg_km_call *c,
                      struct neg_km_answer *a)
{
    IKEEXT_TRAFFIC0 t;
    memset(&t, 0, sizeof(t));
    t.ipVersion = c->params.ip_version;
    memcpy(t.localV6Address, c->params.local_addr, 16);
    memcpy(t.remoteV6Address, c->params.remote_addr, 16);
    t.authIpFilterId = 0; /* no Extended Mode (docs/KEYING.md §4.4) */
    BOOL w = FALSE;
    UINT32 wt = 0;
    if (!c->pin.remote) {
        c->pin.callbacks.keyDictationCheck(&t, &w, &wt);
    } else if (env->remote) {
        bool rw = false;
        env->remote->check(env->remote_ctx, &c->pin, &c->params, &rw, &wt);
        w = rw;
    }
    a->will = w != FALSE;
    a->weight = a->will ? wt : 0;
}

static void run_dictate(const struct neg_keymgr_env *env, const struct neg_km_call *c,
                        struct neg_km_answer *a)
{
    struct neg_sa_params lp = c->params;
    lp.bundle_flags |= IPSEC_SA_BUNDLE_FLAG_USING_DICTATED_KEYS |
                       IPSEC_SA_BUNDLE_FLAG_LOCALLY_DICTATED_KEYS;
    struct neg_sa_view *v = calloc(2, sizeof(*v));
    if (!v) {
        a->rc = ERROR_NOT_ENOUGH_MEMORY;
        return;
    }
    neg_sa_view_init(&v[0], &lp, FWP_DIRECTION_INBOUND, c->in_spi, NULL);
    neg_sa_view_init(&v[1], &lp, FWP_DIRECTION_OUTBOUND, c->out_spi, NULL);
    BOOL gen = FALSE;
    uint64_t t0 = env->clock_ms ? env->clock_ms(env->clock_ctx) : 0;
    DWORD rc = !c->pin.remote ? c->pin.callbacks.keyDictation(&v[0].d, &v[1].d, &gen)
               : env->remote
                   ? env->remote->dictate(env->remote_ctx, &c->pin, &lp, &v[0], &v[1], &gen)
                   : RPC_E_DISCONNECTED;
    uint64_t t1 = env->clock_ms ? env->clock_ms(env->clock_ctx) : 0;
    /* A late answer is a failed one, whatever it returned (§4.2); its
     * keyingModuleGenKey still decides what happens next. */
    if (rc == ERROR_SUCCESS && t1 - t0 > (uint64_t)c->pin.timeout_s * 1000u)
        rc = FWP_E_TIMEOUT;
    bool claimed = rc == ERROR_SUCCESS;
    if (claimed && (!dictated_ok(&v[0], a->keys_in) || !dictated_ok(&v[1], a->keys_out)))
        rc = FWP_E_KEY_DICTATION_INVALID_KEYING_MATERIAL;
    a->rc = rc;
    /* Keys that do not fit fail whatever keyingModuleGenKey says: the
     * dictator claimed success (§4.13). */
    a->generate = !claimed && gen != FALSE;
    if (rc != ERROR_SUCCESS) {
        OPENSSL_cleanse(a->keys_in, ESP_KEYMAT_SIZE);
        OPENSSL_cleanse(a->keys_out, ESP_KEYMAT_SIZE);
    }
    neg_sa_view_clear(&v[0]);
    neg_sa_view_clear(&v[1]);
    free(v);
}

static void run_notify(const struct neg_keymgr_env *env, const struct neg_km_call *c)
{
    struct neg_sa_view *v = calloc(2, sizeof(*v));
    if (!v)
        return;
    neg_sa_view_init(&v[0], &c->params, FWP_DIRECTION_INBOUND, c->in_spi, c->keys_in);
    neg_sa_view_init(&v[1], &c->params, FWP_DIRECTION_OUTBOUND, c->out_spi, c->keys_out);
    if (!c->pin.remote)
        c->pin.callbacks.keyNotify(&v[0].d, &v[1].d);
    else if (env->remote)
        env->remote->notify(env->remote_ctx, &c->pin, &c->params, &v[0], &v[1]);
    neg_sa_view_clear(&v[0]);
    neg_sa_view_clear(&v[1]);
    free(v);
}

void neg_km_run(const struct neg_keymgr_env *env, struct neg_km_call *call,
                struct neg_km_answer *ans)
{
    struct neg_km_answer scratch;
    struct neg_km_answer *a = ans ? ans : &scratch;
    memset(a, 0, sizeof(*a));
    a->id = call->id;
    bool gone = left(env, &call->pin);
    switch (call->op) {
    case NEG_KM_CHECK:
        if (!gone)
            run_check(env, call, a);
        break;
    case NEG_KM_DICTATE:
        if (gone)
            a->rc = FWP_E_NOT_FOUND;
        else
            run_dictate(env, call, a);
        break;
    case NEG_KM_NOTIFY:
        if (!gone)
            run_notify(env, call);
        break;
    }
    neg_km_drop(env, call);
}

void neg_km_drop(const struct neg_keymgr_env *env, struct neg_km_call *call)
{
    unpin(env, &call->pin);
    OPENSSL_cleanse(call, sizeof(*call));
}

void neg_km_answer_clear(struct neg_km_answer *ans)
{
    OPENSSL_cleanse(ans, sizeof(*ans));
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
    struct neg_km_call c;
    for (size_t i = 0; i < n; i++) {
        c = (struct neg_km_call){.op = NEG_KM_NOTIFY, .deadline = UINT64_MAX, .pin = pins[i],
                                 .params = *p, .in_spi = in_spi, .out_spi = out_spi};
        memcpy(c.keys_in, keys_in, ESP_KEYMAT_SIZE);
        memcpy(c.keys_out, keys_out, ESP_KEYMAT_SIZE);
        if (env->ask) {
            env->ask(env->ask_ctx, &c);
            OPENSSL_cleanse(&c, sizeof(c));
        } else {
            neg_km_run(env, &c, NULL);
        }
    }
    free(pins);
    return n;
}
