/*
 * tool_pki.c - the tool's certificate options and PEM reading (tool_pki.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tool_node.h"
#include "tool_pki.h"

bool tool_security_option(struct tool_security *s, const char *opt, const char *val)
{
    if (strcmp(opt, "--root") == 0)
        s->root_file = val;
    else if (strcmp(opt, "--cert") == 0)
        s->cert_file = val;
    else if (strcmp(opt, "--key") == 0)
        s->key_file = val;
    else if (strcmp(opt, "--mode") == 0)
        s->mode = val;
    else
        return false;
    return true;
}

/* Opens path for reading if it is a regular file of a sensible size. */
static FILE *open_pem(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > TOOL_PEM_MAX_BYTES) {
        snprintf(err, errlen, "'%s' is not a PEM file (not a regular file, or over 1 MiB)", path);
        return NULL;
    }
    FILE *f = fopen(path, "r");
    if (!f)
        snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
    return f;
}

bool tool_load_certs(const char *path, X509 **leaf, STACK_OF(X509) **rest, char *err,
                     size_t errlen)
{
    *leaf = NULL;
    if (rest)
        *rest = NULL;
    FILE *f = open_pem(path, err, errlen);
    if (!f)
        return false;
    bool ok = true;
    X509 *c;
    while (ok && (c = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        if (!*leaf) {
            *leaf = c;
            continue;
        }
        if (!rest) {
            X509_free(c);
            continue;
        }
        if (!*rest)
            *rest = sk_X509_new_null();
        ok = *rest && sk_X509_push(*rest, c) > 0;
        if (!ok)
            X509_free(c);
    }
    fclose(f);
    ERR_clear_error(); /* the read that ended the loop */
    if (ok && *leaf)
        return true;
    snprintf(err, errlen, ok ? "no PEM certificate in '%s'" : "out of memory reading '%s'", path);
    X509_free(*leaf);
    *leaf = NULL;
    if (rest) {
        sk_X509_pop_free(*rest, X509_free);
        *rest = NULL;
    }
    return false;
}

/* Never prompts: an encrypted key is refused instead. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

bool tool_load_key(const char *path, EVP_PKEY **key, char *err, size_t errlen)
{
    *key = NULL;
    FILE *f = open_pem(path, err, errlen);
    if (!f)
        return false;
    *key = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
    fclose(f);
    ERR_clear_error();
    if (!*key)
        snprintf(err, errlen, "no unencrypted PEM private key in '%s'", path);
    return *key != NULL;
}

static int option_error(const char *cmd, const char *text)
{
    fprintf(stderr, "drt %s: %s\n(drt %s --help lists the options)\n", cmd, text, cmd);
    return 2;
}

static const char *const MODE_NAMES[] = {"resolve", "membership", "confidential"};

bool tool_mode_parse(const char *text, DRT_SECURITY_MODE *out)
{
    for (unsigned i = 0; i < 3; i++)
        if (strcmp(text, MODE_NAMES[i]) == 0) {
            *out = (DRT_SECURITY_MODE)i;
            return true;
        }
    return false;
}

const char *tool_mode_name(DRT_SECURITY_MODE mode)
{
    return (unsigned)mode < 3 ? MODE_NAMES[mode] : "?";
}

/* Membership and confidential: every node authenticates, searchers too. */
static int check_mode(struct tool_security *s, const char *cmd)
{
    s->security_mode = DRT_SECURE_RESOLVE;
    if (!s->mode)
        return 0;
    if (!tool_mode_parse(s->mode, &s->security_mode)) {
        char text[160];
        snprintf(text, sizeof(text), "--mode must be resolve, membership or confidential, not '%.64s'",
                 s->mode);
        return option_error(cmd, text);
    }
    if (s->security_mode != DRT_SECURE_RESOLVE && (!s->root_file || !s->cert_file)) {
        char text[200];
        snprintf(text, sizeof(text),
                 "--mode %s needs --root, --cert and --key: every node of such a mesh proves "
                 "its membership with its certificate",
                 s->mode);
        return option_error(cmd, text);
    }
    return 0;
}

int tool_security_load(struct tool_security *s, const char *cmd, bool json)
{
    (void)json;
    int rc = check_mode(s, cmd);
    if (rc)
        return rc;
    if (!s->cert_file != !s->key_file)
        return option_error(cmd, "--cert and --key go together (the node's certificate and its "
                                 "private key)");
    if (s->cert_file && !s->root_file)
        return option_error(cmd, "--cert needs --root, the certificate the mesh trusts");
    if (!s->root_file)
        return 0;
    char err[512];
    if (!tool_load_certs(s->root_file, &s->root, NULL, err, sizeof(err)) ||
        (s->cert_file && !tool_load_certs(s->cert_file, &s->leaf, &s->chain, err, sizeof(err))) ||
        (s->key_file && !tool_load_key(s->key_file, &s->key, err, sizeof(err)))) {
        tool_security_free(s);
        return option_error(cmd, err);
    }
    s->root_ctx = (CERT_CONTEXT){s->root, NULL, NULL};
    s->local_ctx = (CERT_CONTEXT){s->leaf, s->key, s->chain};
    return 0;
}

bool tool_security_enabled(const struct tool_security *s)
{
    return s->root != NULL;
}

PCCERT_CONTEXT tool_security_local(const struct tool_security *s)
{
    return s->leaf ? &s->local_ctx : NULL;
}

void tool_security_free(struct tool_security *s)
{
    X509_free(s->root);
    X509_free(s->leaf);
    sk_X509_pop_free(s->chain, X509_free);
    EVP_PKEY_free(s->key);
    s->root = s->leaf = NULL;
    s->chain = NULL;
    s->key = NULL;
    memset(&s->root_ctx, 0, sizeof(s->root_ctx));
    memset(&s->local_ctx, 0, sizeof(s->local_ctx));
}
