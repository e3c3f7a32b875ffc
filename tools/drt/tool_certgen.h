/*
 * tool_certgen.h - test certificates for `drt cert`: key pairs of the types
 * the derived-key provider accepts, a root CA and node certificates signed
 * by it, written as PEM files (private keys mode 0600).
 */
#ifndef DRT_TOOL_CERTGEN_H
#define DRT_TOOL_CERTGEN_H

#include <stdbool.h>
#include <stddef.h>

#include <drt.h>

enum tool_alg { TOOL_ALG_EC, TOOL_ALG_ED25519, TOOL_ALG_RSA };

/* "ec" (P-256), "ed25519", "rsa" (2048 bits). */
bool tool_alg_parse(const char *text, enum tool_alg *out);
const char *tool_alg_name(enum tool_alg alg);
EVP_PKEY *tool_keygen(enum tool_alg alg);

/* A version 3 certificate for key, subject CN=cn, with a random 128-bit
 * serial, valid from five minutes ago (clock skew) until `seconds` from
 * now; a CA (basicConstraints CA:TRUE, keyCertSign) or an end entity
 * (CA:FALSE, digitalSignature). Self-signed when issuer is NULL. NULL on
 * failure. */
X509 *tool_cert_make(const char *cn, EVP_PKEY *key, bool ca, long seconds, X509 *issuer,
                     EVP_PKEY *issuer_key);

/* PEM files, created with O_EXCL (replaced only with force), never
 * through a symbolic link; the key's mode is 0600, the certificate's 0644.
 * On failure err says why and nothing is left behind. */
bool tool_write_cert(const char *path, X509 *cert, bool force, char *err, size_t errlen);
bool tool_write_key(const char *path, EVP_PKEY *key, bool force, char *err, size_t errlen);

#endif
