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

void security_adapter_init(struct drt_instance *inst)
{
    inst->sec_ops = (struct drt_engine_security){adapter_pack, adapter_validate, adapter_done,
                                                 inst};
}
