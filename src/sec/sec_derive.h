/*
 * sec_derive.h - the DRT key a certificate proves (docs/SECURITY.md,
 * "Derived keys").
 *
 * key = SHA-256 over the DER encoding of the certificate's
 * SubjectPublicKeyInfo, 32 bytes stored as the digest comes out: key[0] is
 * the digest's first byte. DRT_DATA keys are little-endian numbers
 * (util/key256.h), so a printed key (most significant byte first) shows
 * the digest's bytes in reverse.
 *
 * Only the public key counts: a certificate re-issued for the same key
 * yields the same DRT key, and no name, serial or date changes it.
 */
#ifndef DRT_SEC_DERIVE_H
#define DRT_SEC_DERIVE_H

#include <stdint.h>

#include <drt.h>

#define SEC_KEY_LEN 32

/* S_OK; DRT_E_CAPABILITY_MISMATCH when cert has no public key that can be
 * encoded; E_FAIL when hashing fails. */
HRESULT sec_derive_key(X509 *cert, uint8_t key[SEC_KEY_LEN]);

#endif
