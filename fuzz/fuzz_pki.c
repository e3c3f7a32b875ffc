/* fuzz_pki.c - see fuzz_pki.h. */
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "fuzz_pki.h"

EVP_PKEY *fuzz_ed25519(uint8_t fill)
{
    uint8_t seed[32];
    memset(seed, fill, sizeof(seed));
    EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof(seed));
    if (!key)
        abort();
    return key;
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    int ok = ext && X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

X509 *fuzz_issue(const char *cn, long serial, int ca, EVP_PKEY *subject, X509 *issuer,
                 EVP_PKEY *issuer_key)
{
    X509 *cert = X509_new();
    X509_NAME *name = X509_NAME_new();
    if (!cert || !name ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                    0) ||
        !X509_set_version(cert, 2) || !ASN1_INTEGER_set(X509_get_serialNumber(cert), serial) ||
        !X509_set_subject_name(cert, name) ||
        !X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name) ||
        !ASN1_TIME_set_string(X509_getm_notBefore(cert), "20250101000000Z") ||
        !ASN1_TIME_set_string(X509_getm_notAfter(cert), "20491231235959Z") ||
        !X509_set_pubkey(cert, subject) ||
        (ca && !add_ext(cert, issuer, NID_basic_constraints, "critical,CA:TRUE")) ||
        !X509_sign(cert, issuer_key, EVP_PKEY_id(issuer_key) == EVP_PKEY_ED25519 ? NULL
                                                                                 : EVP_sha256()))
        abort();
    X509_NAME_free(name);
    return cert;
}

X509 *fuzz_root(EVP_PKEY **key)
{
    static X509 *root;
    static EVP_PKEY *root_key;
    if (!root) {
        root_key = fuzz_ed25519(0x11);
        /* No extensions: exactly the root docs/SECURITY.md's vector was
         * signed under, so sec_record's seeds keep verifying. */
        root = fuzz_issue("libdrt test root", 1, 0, root_key, NULL, root_key);
    }
    if (key)
        *key = root_key;
    return root;
}
