/*
 * fuzz_pki.h - the fixed PKI the certificate targets check against: a root
 * made from a fixed Ed25519 seed with fixed dates, so that seeds written
 * once (gen_cert_chain_seeds.c, docs/SECURITY.md's record vector) still
 * chain to it in every later run.
 */
#ifndef DRT_FUZZ_PKI_H
#define DRT_FUZZ_PKI_H

#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* The Ed25519 key of a 32-byte seed of `fill` bytes; aborts on failure. */
EVP_PKEY *fuzz_ed25519(uint8_t fill);

/* A certificate for subject's key named cn, valid 2025..2049, signed by
 * issuer_key (issuer NULL: self-signed); CA when ca. Aborts on failure. */
X509 *fuzz_issue(const char *cn, long serial, int ca, EVP_PKEY *subject, X509 *issuer,
                 EVP_PKEY *issuer_key);

/* "libdrt test root", seed 0x11, made once per process; *key (may be NULL)
 * gets its private key. Both stay for the process. */
X509 *fuzz_root(EVP_PKEY **key);

#endif
