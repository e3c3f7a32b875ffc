/*
 * cred_cache.h - remote certificate chains already checked, shared by the
 * derived-key provider's membership modes (security_derived_member.c) and
 * the credential authentication of SA negotiations (protection_cred.c).
 *
 * A peer sends the same chain every time, so its chain is verified once
 * and then found by the SHA-256 of its bytes until its earliest notAfter.
 * Bounded: the least recently used entry makes room. Thread-safe (a
 * provider is used from DrtOpen's thread and the loop thread).
 */
#ifndef DRT_API_CRED_CACHE_H
#define DRT_API_CRED_CACHE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <drt.h>

#include "sec/sec_derive.h"

#define CRED_CACHE_SIZE 64

/* What a verified chain gives: its leaf's key and derived key, and until
 * when the verification holds. */
struct cred_verified {
    EVP_PKEY *pub;               /* owned by the cache once added */
    uint8_t key_id[SEC_KEY_LEN]; /* SHA-256 of that key's SPKI */
    int64_t not_after;           /* earliest notAfter in the chain and its root */
};

struct cred_cache_entry {
    uint8_t hash[32]; /* SHA-256 of the chain's bytes */
    struct cred_verified v; /* v.pub NULL: free slot */
    uint64_t used;
};

struct cred_cache {
    pthread_mutex_t lock;
    struct cred_cache_entry e[CRED_CACHE_SIZE];
    uint64_t tick;
    uint64_t chains_verified, cache_hits; /* for tests and stats */
};

/* Verifies chain (len bytes) and fills out; S_OK or why not. */
typedef HRESULT (*cred_verify_fn)(void *ctx, const uint8_t *chain, size_t len,
                                  struct cred_verified *out);

void cred_cache_init(struct cred_cache *c);
void cred_cache_free(struct cred_cache *c);

/* The verified leaf key and key id of a chain: from the cache, or
 * verified now by verify and cached. *pub is the caller's (EVP_PKEY_free).
 * DRT_E_INVALID_CERT_CHAIN for an empty or oversized chain, else what
 * verify says. */
HRESULT cred_cache_lookup(struct cred_cache *c, const uint8_t *chain, size_t len,
                          cred_verify_fn verify, void *ctx, EVP_PKEY **pub,
                          uint8_t key_id[SEC_KEY_LEN]);

void cred_cache_stats(struct cred_cache *c, uint64_t *verified, uint64_t *hits);

#endif
