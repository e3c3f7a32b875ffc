/*
 * cert_fixture.c - test PKI on OpenSSL (cert_fixture.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "sec/cert_fixture.h"

EVP_PKEY *fx_key(enum fx_keytype type)
{
    EVP_PKEY *k = NULL;
    switch (type) {
    case FX_EC_P256:
        k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        break;
    case FX_EC_P384:
        k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
        break;
    case FX_ED25519:
        k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        break;
    case FX_X25519:
        k = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
        break;
    case FX_RSA2048:
        k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
        break;
    case FX_RSA1024:
        k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
        break;
    }
    assert_non_null(k);
    return k;
}

EVP_PKEY *fx_ed25519_from_seed(const uint8_t seed[32])
{
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    assert_non_null(k);
    return k;
}

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(ext);
    assert_int_equal(X509_add_ext(cert, ext, -1), 1);
    X509_EXTENSION_free(ext);
}

static void set_time(ASN1_TIME *t, const char *fixed, long days)
{
    if (fixed)
        assert_int_equal(ASN1_TIME_set_string_X509(t, fixed), 1);
    else
        assert_non_null(X509_time_adj_ex(t, (int)days, 0, NULL));
}

X509 *fx_issue(const struct fx_spec *spec, EVP_PKEY *subject, X509 *issuer, EVP_PKEY *issuer_key)
{
    X509 *x = X509_new();
    assert_non_null(x);
    assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), spec->serial), 1);
    X509_NAME *name = X509_get_subject_name(x);
    assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                                (const unsigned char *)spec->cn, -1, -1, 0),
                     1);
    assert_int_equal(X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name), 1);
    set_time(X509_getm_notBefore(x), spec->not_before, spec->from_days);
    set_time(X509_getm_notAfter(x), spec->not_after, spec->to_days);
    assert_int_equal(X509_set_pubkey(x, subject), 1);
    add_ext(x, issuer, NID_basic_constraints, spec->ca ? "critical,CA:TRUE" : "CA:FALSE");
    if (spec->ca)
        add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_ext(x, issuer, NID_subject_key_identifier, "hash");
    EVP_PKEY *signer = issuer_key ? issuer_key : subject;
    const EVP_MD *md = EVP_PKEY_is_a(signer, "ED25519") ? NULL : EVP_sha256();
    assert_true(X509_sign(x, signer, md) > 0);
    return x;
}

X509 *fx_ca(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key)
{
    static long serial = 100;
    struct fx_spec s = {cn, serial++, true, -1, 3650, NULL, NULL};
    return fx_issue(&s, key, issuer, issuer_key);
}

void fx_node_init(struct fx_node *n, enum fx_keytype type, X509 *issuer, EVP_PKEY *issuer_key,
                  X509 *via, long from_days, long to_days)
{
    static long serial = 1000;
    memset(n, 0, sizeof(*n));
    n->key = fx_key(type);
    struct fx_spec s = {"node", serial++, false, from_days, to_days, NULL, NULL};
    n->cert = fx_issue(&s, n->key, issuer, issuer_key);
    if (via) {
        n->chain = sk_X509_new_null();
        assert_non_null(n->chain);
        assert_int_equal(X509_up_ref(via), 1);
        assert_true(sk_X509_push(n->chain, via) > 0);
    }
    n->ctx = (CERT_CONTEXT){n->cert, n->key, n->chain};
}

void fx_node_free(struct fx_node *n)
{
    sk_X509_pop_free(n->chain, X509_free);
    X509_free(n->cert);
    EVP_PKEY_free(n->key);
    memset(n, 0, sizeof(*n));
}

const struct fx_pki *fx_pki(void)
{
    static struct fx_pki pki;
    static bool made;
    if (!made) {
        pki.root_key = fx_key(FX_EC_P256);
        pki.root = fx_ca("root", pki.root_key, NULL, NULL);
        pki.inter_key = fx_key(FX_EC_P256);
        pki.inter = fx_ca("intermediate", pki.inter_key, pki.root, pki.root_key);
        pki.other_key = fx_key(FX_EC_P256);
        pki.other_root = fx_ca("other root", pki.other_key, NULL, NULL);
        pki.root_ctx = (CERT_CONTEXT){pki.root, NULL, NULL};
        pki.other_ctx = (CERT_CONTEXT){pki.other_root, NULL, NULL};
        made = true;
    }
    return &pki;
}

void fx_expected_key(X509 *cert, uint8_t key[32])
{
    unsigned char *der = NULL;
    int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
    assert_true(n > 0);
    unsigned int len = 0;
    assert_int_equal(EVP_Digest(der, (size_t)n, key, &len, EVP_sha256(), NULL), 1);
    assert_int_equal(len, 32);
    OPENSSL_free(der);
}

void fx_vector_pki_init(struct fx_vector_pki *v)
{
    uint8_t seed_root[32], seed_node[32];
    memset(seed_root, 0x11, 32);
    memset(seed_node, 0x22, 32);
    v->root_key = fx_ed25519_from_seed(seed_root);
    v->node_key = fx_ed25519_from_seed(seed_node);
    struct fx_spec rs = {"libdrt test root", 1, true, 0, 0, "20250101000000Z", "20491231235959Z"};
    struct fx_spec ns = {"libdrt test node", 2, false, 0, 0, "20250101000000Z", "20491231235959Z"};
    v->root = fx_issue(&rs, v->root_key, NULL, NULL);
    v->node = fx_issue(&ns, v->node_key, v->root, v->root_key);
}

void fx_vector_pki_free(struct fx_vector_pki *v)
{
    X509_free(v->node);
    X509_free(v->root);
    EVP_PKEY_free(v->node_key);
    EVP_PKEY_free(v->root_key);
}
