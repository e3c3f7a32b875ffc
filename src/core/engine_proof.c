/*
 * engine_proof.c - how a node proves it holds a key, and how the resolver
 * checks the proof: through the configured security provider
 * (engine.h, struct drt_engine_security), or with the null scheme of
 * docs/PROTOCOL.md, whose CPA is 00 | key | nonce and whose payload
 * travels as is. A revocation is the same kind of proof with the flag
 * DRT_PAYLOAD_REVOKED and a zero nonce (it answers no request; replays are
 * stopped by asking the key's node, engine_revoke.c).
 */
#include <string.h>

#include "core/engine_internal.h"

static struct drt_engine_blob blob(const struct wire_blob *w)
{
    return (struct drt_engine_blob){w->p, w->len};
}

static struct wire_blob wblob(const struct drt_engine_blob *b)
{
    return (struct wire_blob){b->len ? b->p : NULL, b->len};
}

/* Confidential mode: the payload sealed for the requester, with its
 * keytoken. The record then binds the sealed bytes (their hash), so it
 * says nothing about the clear ones; without X nothing is bound. */
static bool seal_for(struct drt_engine *e, const struct local_key *k, uint16_t inquire_flags,
                     const struct wire_blob *requester, struct drt_engine_blob *data,
                     struct wire_authority_buffer *ab)
{
    const struct drt_engine_security *sec = e->cfg.security;
    *data = (struct drt_engine_blob){NULL, 0};
    if (!(inquire_flags & WIRE_INQUIRE_X) || k->len == 0)
        return true;
    struct drt_engine_blob to = {requester->p, requester->len}, token = {NULL, 0};
    e->proof_pending = true;
    if (FAILED(sec->encrypt(sec->ctx, &to, k->data, k->len, data, &token)))
        return false;
    ab->keytoken = wblob(&token); /* empty: the null provider's */
    return true;
}

bool engine_pack(struct drt_engine *e, const struct local_key *k, const uint8_t nonce[16],
                 uint16_t inquire_flags, const struct wire_blob *requester,
                 struct wire_authority_buffer *ab)
{
    const struct drt_engine_security *sec = e->cfg.security;
    if (!sec) {
        if (inquire_flags & WIRE_INQUIRE_A)
            ab->cpa = (struct wire_blob){e->proof_cpa, engine_null_cpa(k->key, nonce, e->proof_cpa)};
        if ((inquire_flags & WIRE_INQUIRE_X) && k->len)
            ab->payload = (struct wire_blob){k->data, k->len};
        return true;
    }
    struct drt_engine_proof proof;
    memset(&proof, 0, sizeof(proof));
    struct drt_engine_blob data = {k->data, k->len};
    if ((e->cfg.mode == DRT_SECURE_CONFIDENTIALPAYLOAD &&
         !seal_for(e, k, inquire_flags, requester, &data, ab)) ||
        FAILED(sec->pack(sec->ctx, k->reg_id, k->key, nonce, 0, data.p, data.len, &proof))) {
        sec->done(sec->ctx);
        e->proof_pending = false;
        return false;
    }
    e->proof_pending = true;
    if (inquire_flags & WIRE_INQUIRE_A)
        ab->cpa = wblob(&proof.cpa);
    if (inquire_flags & WIRE_INQUIRE_X)
        ab->payload = wblob(&proof.payload);
    if (inquire_flags & WIRE_INQUIRE_C)
        ab->cert_chain = wblob(&proof.cert_chain);
    ab->classifier = wblob(&proof.classifier);
    return true;
}

/* Confidential mode: the validated (sealed) payload opened with its
 * keytoken; a payload in clear, or one we cannot open, fails the proof. */
static bool open_payload(struct drt_engine *e, const struct wire_authority_buffer *ab,
                         struct drt_engine_blob *payload)
{
    const struct drt_engine_security *sec = e->cfg.security;
    if (payload->len == 0)
        return true;
    struct drt_engine_blob token = blob(&ab->keytoken);
    size_t len = payload->len;
    if (len > sizeof(e->buf->plain))
        return false;
    memcpy(e->buf->plain, payload->p, len);
    if (FAILED(sec->decrypt(sec->ctx, &token, e->buf->plain, &len)) || len > payload->len)
        return false;
    *payload = (struct drt_engine_blob){e->buf->plain, len};
    return true;
}

bool engine_validate(struct drt_engine *e, const uint8_t key[32], const uint8_t nonce[16],
                     const struct wire_authority_buffer *ab, struct drt_engine_blob *payload)
{
    const struct drt_engine_security *sec = e->cfg.security;
    if (!sec) {
        uint8_t want[49];
        size_t n = engine_null_cpa(key, nonce, want);
        *payload = blob(&ab->payload);
        return ab->cpa.p && ab->cpa.len == n && memcmp(ab->cpa.p, want, n) == 0;
    }
    struct drt_engine_proof proof = {blob(&ab->cpa), blob(&ab->payload), blob(&ab->cert_chain),
                                     blob(&ab->classifier)};
    memset(payload, 0, sizeof(*payload));
    if (!ab->cpa.p)
        return false;
    uint8_t proven[32];
    e->proof_pending = true;
    if (FAILED(sec->validate(sec->ctx, key, nonce, 0, &proof, proven, payload)) ||
        memcmp(proven, key, 32) != 0)
        return false;
    return e->cfg.mode != DRT_SECURE_CONFIDENTIALPAYLOAD || open_payload(e, ab, payload);
}

static const uint8_t no_nonce[16];

bool engine_pack_revocation(struct drt_engine *e, const struct local_key *k,
                            struct wire_blob *cpa)
{
    const struct drt_engine_security *sec = e->cfg.security;
    if (!sec) {
        *cpa = (struct wire_blob){e->proof_cpa, engine_null_cpa(k->key, no_nonce, e->proof_cpa)};
        return true;
    }
    struct drt_engine_proof proof;
    memset(&proof, 0, sizeof(proof));
    e->proof_pending = true;
    if (FAILED(sec->pack(sec->ctx, k->reg_id, k->key, no_nonce, DRT_PAYLOAD_REVOKED, NULL, 0,
                         &proof)) ||
        !proof.cpa.p || proof.cpa.len == 0)
        return false;
    *cpa = wblob(&proof.cpa);
    return true;
}

bool engine_validate_revocation(struct drt_engine *e, const struct wire_blob *cpa,
                                uint8_t key[32])
{
    const struct drt_engine_security *sec = e->cfg.security;
    if (!cpa->p)
        return false;
    if (!sec) {
        /* The null form names the key and proves nothing (docs/PROTOCOL.md):
         * only its shape is checked here, its sender by the caller. */
        if (cpa->len != 49 || cpa->p[0] != 0)
            return false;
        memcpy(key, cpa->p + 1, 32);
        return true;
    }
    struct drt_engine_proof proof = {blob(cpa), {NULL, 0}, {NULL, 0}, {NULL, 0}};
    struct drt_engine_blob payload = {NULL, 0};
    e->proof_pending = true;
    return SUCCEEDED(sec->validate(sec->ctx, NULL, no_nonce, DRT_PAYLOAD_REVOKED, &proof, key,
                                   &payload));
}

void engine_proof_done(struct drt_engine *e)
{
    if (e->proof_pending && e->cfg.security)
        e->cfg.security->done(e->cfg.security->ctx);
    e->proof_pending = false;
}
