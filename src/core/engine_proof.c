/*
 * engine_proof.c - how a node proves it holds a key, and how the resolver
 * checks the proof: through the configured security provider
 * (engine.h, struct drt_engine_security), or with the null scheme of
 * docs/PROTOCOL.md, whose CPA is 00 | key | nonce and whose payload
 * travels as is.
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

bool engine_pack(struct drt_engine *e, const struct local_key *k, const uint8_t nonce[16],
                 uint16_t inquire_flags, struct wire_authority_buffer *ab)
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
    if (FAILED(sec->pack(sec->ctx, k->reg_id, k->key, nonce, k->data, k->len, &proof))) {
        sec->done(sec->ctx);
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
    e->proof_pending = true;
    return ab->cpa.p && SUCCEEDED(sec->validate(sec->ctx, key, nonce, &proof, payload));
}

void engine_proof_done(struct drt_engine *e)
{
    if (e->proof_pending && e->cfg.security)
        e->cfg.security->done(e->cfg.security->ctx);
    e->proof_pending = false;
}
