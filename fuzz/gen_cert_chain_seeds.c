/* gen_cert_chain_seeds DIR - writes the seed corpus of fuzz_cert_chain:
 * chains in sec_chain.h's encoding under fuzz_pki.h's root (directly,
 * through intermediates, of each key type) and ones that must fail (another
 * root, an issuer that is no CA, the root sent along). Run once; the output
 * is checked in under fuzz/corpus/cert_chain/ (ECDSA and RSA keys are
 * random, so a rerun writes other bytes of the same shapes). */
#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "fuzz_pki.h"
#include "sec/sec_chain.h"

static EVP_PKEY *must(EVP_PKEY *k)
{
    if (!k)
        abort();
    return k;
}

static void write_chain(const char *dir, const char *name, X509 *leaf, X509 *a, X509 *b,
                        X509 *c)
{
    STACK_OF(X509) *rest = sk_X509_new_null();
    X509 *more[] = {a, b, c};
    for (size_t i = 0; i < 3 && more[i]; i++)
        sk_X509_push(rest, more[i]);
    static uint8_t buf[SEC_CHAIN_MAX_LEN];
    struct sec_writer w;
    sec_writer_init(&w, buf, sizeof(buf));
    if (sec_chain_encode(leaf, rest, NULL, &w) != S_OK)
        abort();
    sk_X509_free(rest);
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, w.pos, f) != w.pos || fclose(f) != 0)
        abort();
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_cert_chain_seeds DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    EVP_PKEY *root_key;
    X509 *root = fuzz_root(&root_key);

    EVP_PKEY *ed = fuzz_ed25519(0x22);
    X509 *leaf_ed = fuzz_issue("node ed25519", 2, 0, ed, root, root_key);
    write_chain(dir, "ed25519_leaf", leaf_ed, NULL, NULL, NULL);
    write_chain(dir, "root_sent_along", leaf_ed, root, NULL, NULL);

    EVP_PKEY *rsa = must(EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048));
    X509 *rsa_leaf = fuzz_issue("node rsa", 3, 0, rsa, root, root_key);
    write_chain(dir, "rsa_leaf", rsa_leaf, NULL, NULL, NULL);

    /* Leaf, then three intermediates: the longest chain the encoding takes. */
    EVP_PKEY *k1 = fuzz_ed25519(0x31), *k2 = fuzz_ed25519(0x32), *k3 = fuzz_ed25519(0x33);
    X509 *i1 = fuzz_issue("inter 1", 11, 1, k1, root, root_key);
    X509 *i2 = fuzz_issue("inter 2", 12, 1, k2, i1, k1);
    X509 *i3 = fuzz_issue("inter 3", 13, 1, k3, i2, k2);
    EVP_PKEY *ec = must(EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"));
    X509 *p256_one = fuzz_issue("node p256", 4, 0, ec, i1, k1);
    X509 *p256_three = fuzz_issue("node p256 deep", 5, 0, ec, i3, k3);
    write_chain(dir, "p256_via_one", p256_one, i1, NULL, NULL);
    write_chain(dir, "p256_via_three", p256_three, i3, i2, i1);

    EVP_PKEY *other_key = fuzz_ed25519(0x44);
    X509 *other = fuzz_issue("another root", 1, 1, other_key, NULL, other_key);
    X509 *elsewhere = fuzz_issue("node elsewhere", 6, 0, ed, other, other_key);
    write_chain(dir, "other_root", elsewhere, NULL, NULL, NULL);

    X509 *not_ca = fuzz_issue("not a ca", 14, 0, k2, root, root_key);
    X509 *under_leaf = fuzz_issue("node under leaf", 7, 0, ed, not_ca, k2);
    write_chain(dir, "issuer_not_ca", under_leaf, not_ca, NULL, NULL);

    X509 *certs[] = {leaf_ed, rsa_leaf, i1, i2, i3, p256_one, p256_three, other, elsewhere,
                     not_ca, under_leaf};
    for (size_t i = 0; i < sizeof(certs) / sizeof(certs[0]); i++)
        X509_free(certs[i]);
    EVP_PKEY *keys[] = {ed, rsa, k1, k2, k3, ec, other_key};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        EVP_PKEY_free(keys[i]);
    return 0;
}
