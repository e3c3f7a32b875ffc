/*
 * tool_certgen.c - test certificates and their files (tool_certgen.h), on
 * OpenSSL 3.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "tool_certgen.h"

/* Five minutes of clock skew between the machine that makes a certificate
 * and those that check it. */
#define NOT_BEFORE_SLACK_S 300L

bool tool_alg_parse(const char *text, enum tool_alg *out)
{
    if (strcmp(text, "ec") == 0)
        *out = TOOL_ALG_EC;
    else if (strcmp(text, "ed25519") == 0)
        *out = TOOL_ALG_ED25519;
    else if (strcmp(text, "rsa") == 0)
        *out = TOOL_ALG_RSA;
    else
        return false;
    return true;
}

const char *tool_alg_name(enum tool_alg alg)
{
    switch (alg) {
    case TOOL_ALG_EC:
        return "ec";
    case TOOL_ALG_ED25519:
        return "ed25519";
    case TOOL_ALG_RSA:
        return "rsa";
    }
    return "?";
}

EVP_PKEY *tool_keygen(enum tool_alg alg)
{
    switch (alg) {
    case TOOL_ALG_EC:
        return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    case TOOL_ALG_ED25519:
        return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    case TOOL_ALG_RSA:
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    }
    return NULL;
}

/* A positive random serial of 128 bits (RFC 5280 allows up to 20 bytes). */
static bool set_random_serial(X509 *x)
{
    unsigned char raw[16];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return false;
    raw[0] &= 0x7f;
    raw[0] |= 0x01; /* never zero, never a leading zero byte */
    BIGNUM *bn = BN_bin2bn(raw, sizeof(raw), NULL);
    bool ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok;
}

static bool add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    bool ok = ext && X509_add_ext(cert, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

static bool set_names(X509 *x, const char *cn, X509 *issuer)
{
    X509_NAME *name = X509_get_subject_name(x);
    return X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
                                      -1, 0) == 1 &&
           X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) == 1;
}

static bool set_validity(X509 *x, long seconds)
{
    return X509_gmtime_adj(X509_getm_notBefore(x), -NOT_BEFORE_SLACK_S) != NULL &&
           X509_time_adj_ex(X509_getm_notAfter(x), (int)(seconds / 86400), seconds % 86400,
                            NULL) != NULL;
}

static bool add_extensions(X509 *x, bool ca, X509 *issuer)
{
    bool ok = add_ext(x, issuer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE") &&
              add_ext(x, issuer, NID_key_usage,
                      ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature") &&
              add_ext(x, issuer, NID_subject_key_identifier, "hash");
    /* The issuer's key identifier ties a node certificate to its root. */
    if (ok && issuer)
        ok = add_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
    return ok;
}

X509 *tool_cert_make(const char *cn, EVP_PKEY *key, bool ca, long seconds, X509 *issuer,
                     EVP_PKEY *issuer_key)
{
    X509 *x = X509_new();
    EVP_PKEY *signer = issuer ? issuer_key : key;
    /* Ed25519 signs the whole message itself: no separate digest. */
    const EVP_MD *md = EVP_PKEY_is_a(signer, "ED25519") ? NULL : EVP_sha256();
    bool ok = x && X509_set_version(x, X509_VERSION_3) == 1 && set_random_serial(x) &&
              set_names(x, cn, issuer) && set_validity(x, seconds) &&
              X509_set_pubkey(x, key) == 1 && add_extensions(x, ca, issuer) &&
              X509_sign(x, signer, md) > 0;
    if (!ok) {
        X509_free(x);
        x = NULL;
    }
    ERR_clear_error();
    return x;
}

typedef int (*pem_writer)(FILE *f, void *obj);

static int write_cert_pem(FILE *f, void *obj)
{
    return PEM_write_X509(f, obj);
}

static int write_key_pem(FILE *f, void *obj)
{
    return PEM_write_PrivateKey(f, obj, NULL, NULL, 0, NULL, NULL);
}

static bool write_pem(const char *path, mode_t mode, bool force, pem_writer write, void *obj,
                      char *err, size_t errlen)
{
    int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (force ? O_TRUNC : O_EXCL);
    int fd = open(path, flags, mode);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create '%s': %s%s", path, strerror(errno),
                 errno == EEXIST ? " (--force replaces it)" : "");
        return false;
    }
    /* The umask may have taken bits away, and a replaced file keeps its
     * old mode: set exactly the one wanted. */
    FILE *f = fchmod(fd, mode) == 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
        close(fd);
        unlink(path);
        return false;
    }
    bool ok = write(f, obj) == 1;
    ok = fflush(f) == 0 && ok;
    ok = fclose(f) == 0 && ok;
    ERR_clear_error();
    if (!ok) {
        snprintf(err, errlen, "cannot write '%s'", path);
        unlink(path);
    }
    return ok;
}

bool tool_write_cert(const char *path, X509 *cert, bool force, char *err, size_t errlen)
{
    return write_pem(path, 0644, force, write_cert_pem, cert, err, errlen);
}

bool tool_write_key(const char *path, EVP_PKEY *key, bool force, char *err, size_t errlen)
{
    return write_pem(path, 0600, force, write_key_pem, key, err, errlen);
}
