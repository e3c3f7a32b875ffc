/*
 * tool_pki.h - certificates for the drt tool: the --root/--cert/--key/--mode
 * options `drt node` and `drt search` share (which select the derived-key
 * security provider), and reading PEM files into the portable CERT_CONTEXT.
 */
#ifndef DRT_TOOL_PKI_H
#define DRT_TOOL_PKI_H

#include <stdbool.h>
#include <stddef.h>

#include <drt.h>

/* Files larger than this are not certificates or keys the tool made. */
#define TOOL_PEM_MAX_BYTES (1024 * 1024)

struct tool_security {
    /* As given on the command line (NULL when absent). */
    const char *root_file, *cert_file, *key_file, *mode;
    /* Loaded by tool_security_load; owned here. */
    X509 *root;
    X509 *leaf;
    STACK_OF(X509) *chain; /* the certificates after the first in --cert */
    EVP_PKEY *key;
    CERT_CONTEXT root_ctx, local_ctx;
    DRT_SECURITY_MODE security_mode; /* from --mode, once loaded */
};

/* If opt is --root, --cert, --key or --mode, records val and returns true. */
bool tool_security_option(struct tool_security *s, const char *opt, const char *val);

/* Checks how the options combine and reads the files. 0 when the tool may
 * go on, else the exit code after a message on stderr: 2 for usage and file errors, an unknown
 * --mode, and membership or confidential without --root, --cert and
 * --key (every node of such a mesh authenticates). */
int tool_security_load(struct tool_security *s, const char *cmd, bool json);

/* True once a root was loaded: the DRT then uses the derived-key provider. */
bool tool_security_enabled(const struct tool_security *s);
/* The node's own certificate and key (--cert, --key), or NULL. */
PCCERT_CONTEXT tool_security_local(const struct tool_security *s);
void tool_security_free(struct tool_security *s);

/* resolve, membership, confidential: the mode's name on the command line,
 * false for any other text. */
bool tool_mode_parse(const char *text, DRT_SECURITY_MODE *out);
const char *tool_mode_name(DRT_SECURITY_MODE mode);

/* The certificates of a PEM file: the first in *leaf, the others in *rest
 * (NULL when rest is NULL: they are then ignored). On failure writes why
 * to err and returns false. */
bool tool_load_certs(const char *path, X509 **leaf, STACK_OF(X509) **rest, char *err,
                     size_t errlen);
/* An unencrypted PEM private key. */
bool tool_load_key(const char *path, EVP_PKEY **key, char *err, size_t errlen);

#endif
