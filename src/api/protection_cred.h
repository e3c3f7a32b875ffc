/*
 * protection_cred.h - the node's credential for SA negotiations
 * (DrtSetTransportProtectionCredential): its certificate chain as the
 * negotiation sends it, the signer over its private key, and the verifier
 * of a peer's chain against the trusted roots, behind the callbacks of
 * struct neg_cred (src/ipsec stays sans-I/O; this reads the clock).
 * docs/KEYING.md §7.3, docs/SECURITY.md "SA negotiation".
 */
#ifndef DRT_API_PROTECTION_CRED_H
#define DRT_API_PROTECTION_CRED_H

#include <drt.h>

#include "ipsec/negotiation.h"

struct protection_cred;

/* Checks and copies what the caller gave (the certificates and key are
 * referenced, not copied): codes as DrtSetTransportProtectionCredential's
 * after its argument checks (docs/API.md). */
HRESULT protection_cred_create(PCCERT_CONTEXT local, ULONG nroots, const PCCERT_CONTEXT *roots,
                               struct protection_cred **out);
/* The callbacks and chain to put in neg_config.cred. */
const struct neg_cred *protection_cred_neg(const struct protection_cred *c);
/* Frees what create made; takes the neg_cred it handed out. */
void protection_cred_release(const struct neg_cred *nc);
/* Peer chains verified, and found in the cache, so far. */
void protection_cred_stats(const struct neg_cred *nc, uint64_t *verified, uint64_t *hits);

#endif
