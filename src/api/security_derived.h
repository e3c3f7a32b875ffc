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

#include "api/cred_cache.h"
#include "sec/sec_record.h"

struct derived_provider {
    /* First member: the pointer handed to the application is the object. */
    DRT_SECURITY_PROVIDER provider;
    atomic_bool attached;
    X509 *root;           /* our reference */
    X509_STORE *store;    /* trusts root only */
    PCCERT_CONTEXT local; /* the caller's, for the membership modes */
    struct cred_cache creds; /* remote credentials already checked */
};

/* security_derived.c */
bool derived_can_sign(PCCERT_CONTEXT cert);
HRESULT derived_chain_out(const struct derived_provider *p, PCCERT_CONTEXT cert, DRT_DATA *out);

/* security_derived_member.c: the callbacks of DRT_SECURE_MEMBERSHIP and
 * DRT_SECURE_CONFIDENTIALPAYLOAD. */
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
