/*
 * sec_chain.h - certificate chains: their encoding in a record and in the
 * provider's pCertChain output, and their verification against the one
 * configured root (docs/SECURITY.md, "Certificate chain").
 *
 * Encoding: u8 count (1..SEC_CHAIN_MAX_CERTS), then per certificate u16
 * length (big-endian, 1..SEC_CERT_MAX_DER) and its DER; the leaf first,
 * then the intermediates towards the root. The root itself is not sent:
 * every verifier already has it.
 */
#ifndef DRT_SEC_CHAIN_H
#define DRT_SEC_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include <drt.h>

#include "sec/sec_buf.h"

#define SEC_CHAIN_MAX_CERTS 4
#define SEC_CERT_MAX_DER 4096
#define SEC_CHAIN_MAX_LEN (1 + SEC_CHAIN_MAX_CERTS * (2 + SEC_CERT_MAX_DER))

/* A store that trusts root and nothing else. NULL when out of memory or
 * root has no public key. */
X509_STORE *sec_store_new(X509 *root);

/* Writes leaf and then the certificates of intermediates (may be NULL),
 * leaving out any equal to root. E_INVALIDARG when a certificate cannot be
 * encoded or there are too many or too large ones. */
HRESULT sec_chain_encode(X509 *leaf, STACK_OF(X509) *intermediates, X509 *root,
                         struct sec_writer *w);

/* Parses an encoding, strictly: every length in bounds, every DER exactly
 * one certificate, nothing left over. *leaf and *rest (the intermediates)
 * belong to the caller (X509_free, sk_X509_pop_free). DRT_E_INVALID_MESSAGE
 * on anything malformed. */
HRESULT sec_chain_decode(const uint8_t *p, size_t len, X509 **leaf, STACK_OF(X509) **rest);

/* Checks that leaf chains to the store's root through untrusted (may be
 * NULL), with every certificate inside its validity period now, CA flags
 * where a certificate issues another, any purpose.
 * DRT_E_INVALID_CERT_CHAIN otherwise. */
HRESULT sec_chain_verify(X509_STORE *store, X509 *leaf, STACK_OF(X509) *untrusted);

#endif
