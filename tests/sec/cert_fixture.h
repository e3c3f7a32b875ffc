/*
 * cert_fixture.h - keys and certificates made in the test with OpenSSL: a
 * root, an intermediate CA, another root, and node certificates of every
 * key type, valid, expired or not yet valid (tests/sec, tests/api).
 */
#ifndef DRT_TESTS_CERT_FIXTURE_H
#define DRT_TESTS_CERT_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include <drt.h>

enum fx_keytype { FX_EC_P256, FX_ED25519, FX_RSA2048, FX_EC_P384, FX_RSA1024, FX_X25519 };

EVP_PKEY *fx_key(enum fx_keytype type);
/* The Ed25519 key whose RFC 8032 private seed is these 32 bytes. */
EVP_PKEY *fx_ed25519_from_seed(const uint8_t seed[32]);

struct fx_spec {
    const char *cn;
    long serial;
    bool ca;
    long from_days, to_days;         /* validity relative to now ... */
    const char *not_before, *not_after; /* ... unless fixed (YYYYMMDDHHMMSSZ) */
};

/* A certificate for subject's public key, signed by issuer_key (issuer
 * NULL: self-signed). */
X509 *fx_issue(const struct fx_spec *spec, EVP_PKEY *subject, X509 *issuer, EVP_PKEY *issuer_key);

/* A CA valid from yesterday for ten years. */
X509 *fx_ca(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key);

/* A node: its key, its certificate, the intermediates, and the
 * CERT_CONTEXT pointing at them. */
struct fx_node {
    EVP_PKEY *key;
    X509 *cert;
    STACK_OF(X509) *chain;
    CERT_CONTEXT ctx;
};

/* A node certificate of this type, valid [from_days, to_days] around now,
 * issued by issuer; `via` (may be NULL) is put in the chain. */
void fx_node_init(struct fx_node *n, enum fx_keytype type, X509 *issuer, EVP_PKEY *issuer_key,
                  X509 *via, long from_days, long to_days);
void fx_node_free(struct fx_node *n);

/* The PKI most tests use, made once per process. */
struct fx_pki {
    EVP_PKEY *root_key, *inter_key, *other_key;
    X509 *root, *inter, *other_root;
    CERT_CONTEXT root_ctx, other_ctx;
};
const struct fx_pki *fx_pki(void);

/* SHA-256 of the certificate's DER SubjectPublicKeyInfo, computed here
 * independently of the library. */
void fx_expected_key(X509 *cert, uint8_t key[32]);

/* The docs' vector PKI (docs/SECURITY.md, "Test vector"): Ed25519 keys from
 * seeds 32 x 0x11 (root, "CN=libdrt test root", serial 1) and 32 x 0x22
 * (node, "CN=libdrt test node", serial 2), both valid 2025-01-01 to
 * 2049-12-31. Ed25519 signs deterministically: the same bytes every run. */
struct fx_vector_pki {
    EVP_PKEY *root_key, *node_key;
    X509 *root, *node;
};
void fx_vector_pki_init(struct fx_vector_pki *v);
void fx_vector_pki_free(struct fx_vector_pki *v);

#endif
