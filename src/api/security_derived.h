/*
 * security_derived.h - what the derived-key provider (security_derived.c)
 * needs beside the cryptography of src/sec: conversions between the
 * Windows-shaped types of the provider interface and the record's
 * statement. Every block handed out is one malloc, as FreeData frees it
 * with free().
 */
#ifndef DRT_API_SECURITY_DERIVED_H
#define DRT_API_SECURITY_DERIVED_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <drt.h>

#include "sec/sec_record.h"

/*
 * Remote credentials already checked (security_derived_member.c): a
 * membership node signs every request with the same chain, so its chain is
 * verified once and then found by the SHA-256 of its bytes until its
 * earliest notAfter. Bounded: the least recently used entry makes room.
 */
#define DERIVED_CRED_CACHE 64
struct derived_cred {
    uint8_t hash[32];  /* SHA-256 of the credential's bytes */
    EVP_PKEY *pub;     /* its leaf's key, NULL: free slot */
    uint8_t key_id[SEC_KEY_LEN]; /* SHA-256 of that key's SPKI */
    int64_t not_after; /* earliest notAfter in the chain and the root */
    uint64_t used;
};
struct derived_creds {
    pthread_mutex_t lock;
    struct derived_cred e[DERIVED_CRED_CACHE];
    uint64_t tick;
    uint64_t chains_verified, cache_hits; /* for tests and stats */
};

struct derived_provider {
    /* First member: the pointer handed to the application is the object. */
    DRT_SECURITY_PROVIDER provider;
    atomic_bool attached;
    X509 *root;           /* our reference */
    X509_STORE *store;    /* trusts root only */
    PCCERT_CONTEXT local; /* the caller's, for the membership modes */
    struct derived_creds creds;
};

/* security_derived.c */
bool derived_can_sign(PCCERT_CONTEXT cert);
HRESULT derived_chain_out(const struct derived_provider *p, PCCERT_CONTEXT cert, DRT_DATA *out);

/* security_derived_member.c: the callbacks of DRT_SECURE_MEMBERSHIP and
 * DRT_SECURE_CONFIDENTIALPAYLOAD, and the credential cache. */
void derived_creds_init(struct derived_creds *c);
void derived_creds_free(struct derived_creds *c);
void derived_member_callbacks(DRT_SECURITY_PROVIDER *sp);
/* Chains verified and cache hits so far, when sp is the derived-key
 * provider (false otherwise). */
bool derived_cred_stats(const DRT_SECURITY_PROVIDER *sp, uint64_t *verified, uint64_t *hits);

/* The record's addresses from SecureAndPackPayload's list (NULL: none).
 * E_INVALIDARG for more than SEC_RECORD_MAX_ADDRS or an address that is
 * neither a whole sockaddr_in nor a whole sockaddr_in6. */
HRESULT derived_addresses_in(const SOCKET_ADDRESS_LIST *list, struct sec_record *rec);

/* A SOCKET_ADDRESS_LIST of the record's addresses, in one block. */
HRESULT derived_addresses_out(const struct sec_record *rec, SOCKET_ADDRESS_LIST **out);

/* The signer's public key as CERT_PUBLIC_KEY_INFO, in one block: the
 * algorithm's dotted OID, its DER parameters (empty when it has none) and
 * the key's bits as in the certificate. */
HRESULT derived_public_key_out(X509 *leaf, CERT_PUBLIC_KEY_INFO **out);

/* Key lifetime (security_derived_dates.c): whether the key's certificate,
 * every certificate of its pChain and the root are inside their validity
 * periods at `now`; and the earliest notAfter among them, in seconds since
 * 1970 UTC (false when a date cannot be read). */
bool derived_dates_valid(X509 *root, PCCERT_CONTEXT cert, time_t now);
bool derived_not_after(X509 *root, PCCERT_CONTEXT cert, int64_t *not_after);

/* The wall-clock second from which the key registered with this key
 * context can no longer be proven, when sp is the derived-key provider
 * (security_derived.c); false for any other provider, which then has no
 * lifetime the DRT knows of. */
bool derived_key_lifetime(const DRT_SECURITY_PROVIDER *sp, PVOID key_context,
                          int64_t *not_after);

#endif
