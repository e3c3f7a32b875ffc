/* cred_cache.c - verified remote chains, by the hash of their bytes
 * (cred_cache.h). */
#include "api/cred_cache.h"

#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "sec/sec_chain.h"

void cred_cache_init(struct cred_cache *c)
{
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
}

void cred_cache_free(struct cred_cache *c)
{
    for (size_t i = 0; i < CRED_CACHE_SIZE; i++)
        EVP_PKEY_free(c->e[i].v.pub);
    pthread_mutex_destroy(&c->lock);
}

static void hand_out(struct cred_cache_entry *e, EVP_PKEY **pub, uint8_t key_id[SEC_KEY_LEN])
{
    EVP_PKEY_up_ref(e->v.pub);
    *pub = e->v.pub;
    memcpy(key_id, e->v.key_id, SEC_KEY_LEN);
}

HRESULT cred_cache_lookup(struct cred_cache *c, const uint8_t *chain, size_t len,
                          cred_verify_fn verify, void *ctx, EVP_PKEY **pub,
                          uint8_t key_id[SEC_KEY_LEN])
{
    *pub = NULL;
    if (!chain || len == 0 || len > SEC_CHAIN_MAX_LEN)
        return DRT_E_INVALID_CERT_CHAIN;
    uint8_t hash[32];
    if (EVP_Digest(chain, len, hash, NULL, EVP_sha256(), NULL) != 1)
        return E_OUTOFMEMORY;
    int64_t now = (int64_t)time(NULL);
    pthread_mutex_lock(&c->lock);
    struct cred_cache_entry *slot = &c->e[0];
    for (size_t i = 0; i < CRED_CACHE_SIZE; i++) {
        struct cred_cache_entry *e = &c->e[i];
        if (e->v.pub && memcmp(e->hash, hash, 32) == 0 && now < e->v.not_after) {
            e->used = ++c->tick;
            c->cache_hits++;
            hand_out(e, pub, key_id);
            pthread_mutex_unlock(&c->lock);
            return S_OK;
        }
        /* A free slot, else the least recently used one. */
        if (slot->v.pub && (!e->v.pub || e->used < slot->used))
            slot = e;
    }
    pthread_mutex_unlock(&c->lock);

    /* Verified outside the lock: another thread may verify the same chain
     * meanwhile, which costs time, not correctness. */
    struct cred_verified fresh;
    memset(&fresh, 0, sizeof(fresh));
    HRESULT hr = verify(ctx, chain, len, &fresh);
    if (FAILED(hr))
        return hr;
    pthread_mutex_lock(&c->lock);
    c->chains_verified++;
    EVP_PKEY_free(slot->v.pub);
    memcpy(slot->hash, hash, 32);
    slot->v = fresh;
    slot->used = ++c->tick;
    hand_out(slot, pub, key_id);
    pthread_mutex_unlock(&c->lock);
    return S_OK;
}

void cred_cache_stats(struct cred_cache *c, uint64_t *verified, uint64_t *hits)
{
    pthread_mutex_lock(&c->lock);
    *verified = c->chains_verified;
    *hits = c->cache_hits;
    pthread_mutex_unlock(&c->lock);
}
