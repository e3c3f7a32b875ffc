/*
 * security_adapter.c - a DRT_SECURITY_PROVIDER (the application's, or one of
 * ours) seen through the engine's struct drt_engine_security: the engine
 * asks for a proof of a local key or hands in a peer's proof, and this
 * calls SecureAndPackPayload / ValidateAndUnpackPayload with the
 * instance's settings and releases every buffer the provider allocated
 * through its FreeData once the engine is done with them.
 *
 * The record's DRT_PAYLOAD_REVOKED flag must be exactly what the engine
 * expects: set in a revocation (a FLOOD's Revoke CPA), clear in an answer
 * to our INQUIRE. A revocation replayed as an answer, or an answer passed
 * off as a revocation, is refused here whatever the provider says.
 */
#include <string.h>

#include "api/api_internal.h"

static void keep(struct drt_instance *inst, void *p)
{
    if (!p)
        return;
    if (inst->nfree < sizeof(inst->to_free) / sizeof(inst->to_free[0]))
        inst->to_free[inst->nfree++] = p;
    else
        inst->security->FreeData(inst->security->pvContext, p);
}

static PVOID key_context_of(struct drt_instance *inst, uint32_t reg_id)
{
    PVOID ctx = NULL;
    pthread_mutex_lock(&inst->lock);
    for (size_t i = 0; i < inst->nregs; i++)
        if (inst->regs[i]->reg_id == reg_id)
            ctx = inst->regs[i]->key_context;
    pthread_mutex_unlock(&inst->lock);
    return ctx;
}

static struct drt_engine_blob from_data(const DRT_DATA *d)
{
    return (struct drt_engine_blob){d->pb, d->cb};
}

static HRESULT adapter_pack(void *ctx, uint32_t reg_id, const uint8_t key[32],
                            const uint8_t nonce[16], uint32_t flags, const uint8_t *data,
                            size_t len, struct drt_engine_proof *out)
{
    struct drt_instance *inst = ctx;
    DRT_SECURITY_PROVIDER *sp = inst->security;
    DRT_DATA k = {32, (BYTE *)key}, payload = {(ULONG)len, (BYTE *)data},
             n = {16, (BYTE *)nonce};
    SOCKET_ADDRESS_LIST addrs = {1, {{(LPSOCKADDR)&inst->self, sizeof(struct sockaddr_in6)}}};
    DRT_DATA cpa = {0, NULL}, classifier = {0, NULL}, secured = {0, NULL}, chain = {0, NULL};
    HRESULT hr = sp->SecureAndPackPayload(sp->pvContext, key_context_of(inst, reg_id),
                                          inst->protocol_major, inst->protocol_minor,
                                          (DWORD)flags, &k,
                                          len ? &payload : NULL, &addrs, &n, &cpa, &classifier,
                                          &secured, &chain);
    keep(inst, cpa.pb);
    keep(inst, classifier.pb);
    keep(inst, secured.pb);
    keep(inst, chain.pb);
    if (FAILED(hr))
        return hr;
    out->cpa = from_data(&cpa);
    out->payload = from_data(&secured);
    out->cert_chain = from_data(&chain);
    out->classifier = from_data(&classifier);
    return S_OK;
}

static DRT_DATA to_data(const struct drt_engine_blob *b)
{
    return (DRT_DATA){(ULONG)b->len, (BYTE *)b->p};
}

static HRESULT adapter_validate(void *ctx, const uint8_t *key, const uint8_t nonce[16],
                                uint32_t want_flags, const struct drt_engine_proof *in,
                                uint8_t proven[32], struct drt_engine_blob *payload)
{
    struct drt_instance *inst = ctx;
    DRT_SECURITY_PROVIDER *sp = inst->security;
    DRT_DATA cpa = to_data(&in->cpa), chain = to_data(&in->cert_chain),
             classifier = to_data(&in->classifier), secured = to_data(&in->payload),
             n = {16, (BYTE *)nonce};
    BYTE major = 0, minor = 0;
    DRT_DATA got_key = {0, NULL}, got_payload = {0, NULL};
    CERT_PUBLIC_KEY_INFO *public_key = NULL;
    SOCKET_ADDRESS_LIST *addresses = NULL;
    DWORD flags = 0;
    HRESULT hr = sp->ValidateAndUnpackPayload(
        sp->pvContext, &cpa, chain.cb ? &chain : NULL, classifier.cb ? &classifier : NULL, &n,
        secured.cb ? &secured : NULL, &major, &minor, &got_key, &got_payload, &public_key,
        &addresses, &flags);
    keep(inst, got_key.pb);
    keep(inst, got_payload.pb);
    keep(inst, public_key);
    keep(inst, addresses);
    if (FAILED(hr))
        return hr;
    /* The proof must be for the key we asked about (when we know it), and
     * a revocation exactly when we expect one. */
    if (got_key.cb != 32 || !got_key.pb || (key && memcmp(got_key.pb, key, 32) != 0) ||
        (flags & DRT_PAYLOAD_REVOKED) != (want_flags & DRT_PAYLOAD_REVOKED))
        return DRT_E_INVALID_MESSAGE;
    memcpy(proven, got_key.pb, 32);
    *payload = from_data(&got_payload);
    return S_OK;
}

static void adapter_done(void *ctx)
{
    struct drt_instance *inst = ctx;
    for (size_t i = 0; i < inst->nfree; i++)
        inst->security->FreeData(inst->security->pvContext, inst->to_free[i]);
    inst->nfree = 0;
}

/* --- membership and confidential modes ----------------------------------- */

static struct drt_engine_blob adapter_credential(void *ctx)
{
    struct drt_instance *inst = ctx;
    return from_data(&inst->credential);
}

static HRESULT adapter_sign(void *ctx, const struct drt_engine_blob *bufs, size_t n,
                            uint8_t *key_id, size_t *key_id_len, uint8_t *sig, size_t *sig_len)
{
    struct drt_instance *inst = ctx;
    DRT_SECURITY_PROVIDER *sp = inst->security;
    DRT_DATA in[4], id = {0, NULL}, s = {0, NULL};
    if (n > 4)
        return E_INVALIDARG;
    for (size_t i = 0; i < n; i++)
        in[i] = to_data(&bufs[i]);
    HRESULT hr = sp->SignData(sp->pvContext, (DWORD)n, in, &id, &s);
    /* The engine keeps copies: a signature outlives this call's buffers.
     * Empty ones are the null provider's (its fields are left out). */
    if (SUCCEEDED(hr) && (id.cb > *key_id_len || s.cb > *sig_len || (id.cb && !id.pb) ||
                          (s.cb && !s.pb)))
        hr = DRT_E_CAPABILITY_MISMATCH;
    if (SUCCEEDED(hr)) {
        if (id.cb)
            memcpy(key_id, id.pb, id.cb);
        if (s.cb)
            memcpy(sig, s.pb, s.cb);
        *key_id_len = id.cb;
        *sig_len = s.cb;
    }
    if (id.pb)
        sp->FreeData(sp->pvContext, id.pb);
    if (s.pb)
        sp->FreeData(sp->pvContext, s.pb);
    return hr;
}

static HRESULT adapter_verify(void *ctx, const struct drt_engine_blob *bufs, size_t n,
                              const struct drt_engine_auth *auth)
{
    struct drt_instance *inst = ctx;
    DRT_SECURITY_PROVIDER *sp = inst->security;
    DRT_DATA in[4], cred = to_data(&auth->credential), id = to_data(&auth->key_id),
                    sig = to_data(&auth->signature);
    if (n > 4)
        return E_INVALIDARG;
    for (size_t i = 0; i < n; i++)
        in[i] = to_data(&bufs[i]);
    HRESULT hr = sp->ValidateRemoteCredential(sp->pvContext, &cred);
    if (SUCCEEDED(hr))
        hr = sp->VerifyData(sp->pvContext, (DWORD)n, in, &cred, &id, &sig);
    return hr;
}

static HRESULT adapter_encrypt(void *ctx, const struct drt_engine_blob *to, const uint8_t *data,
                               size_t len, struct drt_engine_blob *sealed,
                               struct drt_engine_blob *keytoken)
{
    struct drt_instance *inst = ctx;
    DRT_SECURITY_PROVIDER *sp = inst->security;
    DRT_DATA cred = to_data(to), in = {(ULONG)len, (BYTE *)data}, out = {0, NULL},
             token = {0, NULL};
    HRESULT hr = sp->EncryptData(sp->pvContext, &cred, 1, &in, &out, &token);
    keep(inst, out.pb);
    keep(inst, token.pb);
    if (FAILED(hr))
        return hr;
    *sealed = from_data(&out);
    *keytoken = from_data(&token);
    return S_OK;
}

static HRESULT adapter_decrypt(void *ctx, const struct drt_engine_blob *keytoken, uint8_t *data,
                               size_t *len)
{
    struct drt_instance *inst = ctx;
    DRT_SECURITY_PROVIDER *sp = inst->security;
    DRT_DATA token = to_data(keytoken), d = {(ULONG)*len, data};
    /* Answers come to the node, not to one of its registrations. */
    HRESULT hr = sp->DecryptData(sp->pvContext, &token, NULL, 1, &d);
    if (SUCCEEDED(hr) && (d.pb != data || d.cb > *len))
        hr = DRT_E_INVALID_MESSAGE;
    if (SUCCEEDED(hr))
        *len = d.cb;
    return hr;
}

/* A mode's primitives must work with the node's own credential before the
 * DRT starts: DrtOpen answers DRT_E_CAPABILITY_MISMATCH when the provider
 * has none (no local certificate), cannot sign with it, or cannot encrypt
 * for it (a key type that receives no keytoken). */
static HRESULT self_test(struct drt_instance *inst)
{
    static const uint8_t probe[] = "libdrt mode probe";
    struct drt_engine_blob b = {probe, sizeof(probe)};
    uint8_t id[DRT_ENGINE_KEY_ID_MAX], sig[DRT_ENGINE_SIG_MAX];
    size_t id_len = sizeof(id), sig_len = sizeof(sig);
    if (FAILED(adapter_sign(inst, &b, 1, id, &id_len, sig, &sig_len)))
        return DRT_E_CAPABILITY_MISMATCH;
    struct drt_engine_auth auth = {from_data(&inst->credential), {id, id_len}, {sig, sig_len}};
    if (FAILED(adapter_verify(inst, &b, 1, &auth)))
        return DRT_E_CAPABILITY_MISMATCH;
    if (inst->security_mode != DRT_SECURE_CONFIDENTIALPAYLOAD)
        return S_OK;
    struct drt_engine_blob sealed = {NULL, 0}, token = {NULL, 0};
    uint8_t copy[sizeof(probe) + 64];
    size_t n = 0;
    HRESULT hr = adapter_encrypt(inst, &auth.credential, probe, sizeof(probe), &sealed, &token);
    if (SUCCEEDED(hr) && sealed.len <= sizeof(copy)) {
        n = sealed.len;
        memcpy(copy, sealed.p, n);
        hr = adapter_decrypt(inst, &token, copy, &n);
    }
    bool ok = SUCCEEDED(hr) && n == sizeof(probe) && memcmp(copy, probe, n) == 0;
    adapter_done(inst);
    return ok ? S_OK : DRT_E_CAPABILITY_MISMATCH;
}

HRESULT security_adapter_init(struct drt_instance *inst)
{
    inst->sec_ops = (struct drt_engine_security){.pack = adapter_pack,
                                                 .validate = adapter_validate,
                                                 .done = adapter_done,
                                                 .ctx = inst};
    if (inst->security_mode == DRT_SECURE_RESOLVE)
        return S_OK;
    DRT_SECURITY_PROVIDER *sp = inst->security;
    HRESULT hr = sp->GetSerializedCredential(sp->pvContext, &inst->credential);
    if (SUCCEEDED(hr) && inst->credential.cb && !inst->credential.pb)
        hr = DRT_E_CAPABILITY_MISMATCH;
    if (SUCCEEDED(hr))
        hr = self_test(inst);
    if (FAILED(hr))
        return hr;
    inst->sec_ops.credential = adapter_credential;
    inst->sec_ops.sign = adapter_sign;
    inst->sec_ops.verify = adapter_verify;
    if (inst->security_mode == DRT_SECURE_CONFIDENTIALPAYLOAD) {
        inst->sec_ops.encrypt = adapter_encrypt;
        inst->sec_ops.decrypt = adapter_decrypt;
    }
    return S_OK;
}

void security_adapter_release(struct drt_instance *inst)
{
    if (inst->credential.pb)
        inst->security->FreeData(inst->security->pvContext, inst->credential.pb);
    inst->credential = (DRT_DATA){0, NULL};
}
