/*
 * engine_revoke.c - revocations received: a FLOOD whose Revoke CPA says a
 * key was unregistered ([MC-DRT] 3.1.5.4, 4.3), and when this node acts on
 * it.
 *
 * Null scheme (no security provider): the null CPA names the key and
 * proves nothing, so the only check is the sender's endpoint: it must be
 * the one we know for the key, or be on the flooded list of a node that
 * passes the revocation on. The key is forgotten at once.
 *
 * Under a security provider the revocation must be the provider's record
 * for the key with DRT_PAYLOAD_REVOKED: signed by the key's owner. A
 * signature does not say *when*: a revocation recorded on the wire stays
 * valid after its owner registers the key again. So before forgetting
 * the key, we ask the node we know for it (INQUIRE with a fresh nonce):
 * if it still proves the key the revocation is stale and dropped; if it
 * says it no longer holds the key (N), or does not answer at all, the key
 * is forgotten and the revocation passed on. No clocks, no new fields:
 * docs/SECURITY.md, "Revocations".
 */
#include <stdlib.h>
#include <string.h>

#include "core/engine_internal.h"

/* Only the node that held the key may revoke it: the revocation comes from
 * the endpoint we know for it, or from a node that lists that endpoint as
 * already flooded. */
static bool sender_may_revoke(const struct engine_peer *known, const struct drt_endpoint *from,
                              const struct wire_flood *f)
{
    if (drt_endpoint_equal(&known->ep, from))
        return true;
    for (size_t i = 0; i < f->flooded.count; i++) {
        struct drt_endpoint ep = {{0}, f->flooded.e[i].port};
        memcpy(ep.addr, f->flooded.e[i].addr, 16);
        if (drt_endpoint_equal(&known->ep, &ep))
            return true;
    }
    return false;
}

static void forget_and_pass_on(struct drt_engine *e, const uint8_t key[32],
                               const struct drt_endpoint *owner, const struct wire_blob *cpa,
                               const struct wire_endpoints *flooded)
{
    engine_cache_forget_key(e, key);
    engine_leafset_sync(e);
    engine_revoke_forward(e, key, owner, cpa, flooded);
}

static void release(struct revoke_check *c)
{
    free(c->cpa);
    memset(c, 0, sizeof(*c));
}

static struct revoke_check *check_of(struct drt_engine *e, uint32_t msg_id)
{
    for (size_t i = 0; e->revoke_checks && i < ENGINE_MAX_REVOKE_CHECKS; i++)
        if (e->revoke_checks[i].msg_id == msg_id)
            return &e->revoke_checks[i];
    return NULL;
}

/* A free slot, or NULL when a check for this key is already running (the
 * same revocation reaches us from several neighbours) or all are busy.
 * Slots whose INQUIRE left the pending table some other way are freed. */
static struct revoke_check *new_check(struct drt_engine *e, const uint8_t key[32])
{
    struct revoke_check *free_slot = NULL;
    if (!e->revoke_checks &&
        !(e->revoke_checks = calloc(ENGINE_MAX_REVOKE_CHECKS, sizeof(*e->revoke_checks))))
        return NULL;
    for (size_t i = 0; i < ENGINE_MAX_REVOKE_CHECKS; i++) {
        struct revoke_check *c = &e->revoke_checks[i];
        if (c->msg_id && !pending_id_in_use(&e->pending, c->msg_id))
            release(c);
        if (c->msg_id && memcmp(c->key, key, 32) == 0)
            return NULL;
        if (!c->msg_id && !free_slot)
            free_slot = c;
    }
    return free_slot;
}

/* Asks the key's node whether it still holds the key; the revocation waits
 * in a slot for the answer. */
static void confirm(struct drt_engine *e, const struct engine_peer *known,
                    const struct wire_flood *f)
{
    struct revoke_check *c = new_check(e, known->key);
    if (!c)
        return;
    uint8_t *copy = malloc(f->revoke_cpa.len);
    if (!copy)
        return;
    memcpy(copy, f->revoke_cpa.p, f->revoke_cpa.len);
    uint32_t id = engine_send_inquire(e, known, PENDING_INQUIRE_REVOKE, WIRE_INQUIRE_A, 0);
    if (!id) {
        free(copy);
        return;
    }
    c->msg_id = id;
    memcpy(c->key, known->key, 32);
    c->owner = known->ep;
    c->flooded = f->flooded;
    c->cpa = copy;
    c->cpa_len = f->revoke_cpa.len;
}

/* The same revocation already waiting for confirmation: the owner's copy
 * and its forwards are the same bytes. */
static bool already_checking(const struct drt_engine *e, const struct wire_blob *cpa)
{
    for (size_t i = 0; e->revoke_checks && i < ENGINE_MAX_REVOKE_CHECKS; i++) {
        const struct revoke_check *c = &e->revoke_checks[i];
        if (c->msg_id && c->cpa_len == cpa->len && memcmp(c->cpa, cpa->p, cpa->len) == 0)
            return true;
    }
    return false;
}

void engine_on_revocation(struct drt_engine *e, const struct drt_endpoint *from,
                          const struct wire_flood *f)
{
    bool secure = e->cfg.security != NULL;
    if (secure) {
        /* Cheap before costly: copies of a revocation being confirmed
         * cost a comparison; the others a signature check each, within
         * a budget of their own. */
        if (already_checking(e, &f->revoke_cpa))
            return;
        if (!token_bucket_take(&e->revoke_budget, ENGINE_REVOKE_CHECKS_PER_S,
                               ENGINE_REVOKE_CHECKS_BURST, e->now)) {
            e->stats.revocations_rejected++;
            return;
        }
    }
    uint8_t key[32];
    bool ok = engine_validate_revocation(e, &f->revoke_cpa, key);
    engine_proof_done(e);
    if (!ok) {
        if (secure)
            e->stats.revocations_rejected++;
        return;
    }
    if (engine_local_key(e, key)) {
        /* We hold the key now: an old revocation of our own, replayed. */
        if (secure)
            e->stats.revocations_stale++;
        return;
    }
    struct engine_peer known;
    if (!engine_cache_find(e, key, &known))
        return; /* nothing to forget, nobody to pass it to on its behalf */
    if (!sender_may_revoke(&known, from, f)) {
        if (secure)
            e->stats.revocations_rejected++;
        return;
    }
    if (!secure) {
        forget_and_pass_on(e, key, &known.ep, &f->revoke_cpa, &f->flooded);
        return;
    }
    confirm(e, &known, f);
}

static void confirmed(struct drt_engine *e, struct revoke_check *c)
{
    struct revoke_check done = *c;
    memset(c, 0, sizeof(*c)); /* done.cpa is freed below */
    e->stats.revocations_accepted++;
    struct wire_blob cpa = {done.cpa, done.cpa_len};
    forget_and_pass_on(e, done.key, &done.owner, &cpa, &done.flooded);
    free(done.cpa);
}

void engine_revoke_on_answer(struct drt_engine *e, struct pending *p,
                             const struct wire_authority_buffer *ab)
{
    struct revoke_check *c = check_of(e, p->msg_id);
    if (!c) {
        pending_remove(&e->pending, p);
        return;
    }
    if (ab->flags & WIRE_AUTHORITY_N) {
        /* The node no longer holds the key: the revocation stands. */
        pending_remove(&e->pending, p);
        confirmed(e, c);
        return;
    }
    struct drt_engine_blob payload;
    bool ok = engine_validate(e, p->key, p->nonce, ab, &payload);
    engine_proof_done(e);
    if (!ok) {
        /* Forged or damaged on the way; the node's own answer may still
         * come, and the timeout bounds the wait (as for search results). */
        e->stats.proofs_rejected++;
        return;
    }
    /* The node proves the key now, for our fresh nonce: the revocation is
     * older than this registration (a replay, or it re-registered). */
    struct engine_peer peer;
    memcpy(peer.key, p->key, 32);
    peer.ep = p->peer;
    pending_remove(&e->pending, p);
    release(c);
    e->stats.revocations_stale++;
    engine_cache_verified(e, &peer);
    engine_leafset_sync(e);
}

void engine_revoke_on_timeout(struct drt_engine *e, struct pending *p)
{
    struct revoke_check *c = check_of(e, p->msg_id);
    pending_remove(&e->pending, p);
    if (c)
        confirmed(e, c); /* a silent node holds nothing */
}

void engine_revoke_checks_free(struct drt_engine *e)
{
    for (size_t i = 0; e->revoke_checks && i < ENGINE_MAX_REVOKE_CHECKS; i++)
        release(&e->revoke_checks[i]);
    free(e->revoke_checks);
    e->revoke_checks = NULL;
}
