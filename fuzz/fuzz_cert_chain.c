/* A peer's certificate chain as it arrives inside a signed record
 * (sec_chain.h's encoding): decoded strictly, built to the one configured
 * root, and the DRT key derived from its leaf, the three steps
 * sec_record_verify takes on every chain a node receives. The fuzzer
 * reaches them directly here; through fuzz_sec_record it would first need
 * a valid signature. The root is fuzz_pki.h's; the seeds
 * (gen_cert_chain_seeds.c) are chains under it, under another root,
 * through an intermediate, of each key type.
 * Invariants: no crash, no leak; decoding gives both outputs or neither and
 * only its documented codes; at most SEC_CHAIN_MAX_CERTS certificates;
 * a decoded chain re-encodes to the same certificates; verification
 * answers S_OK or DRT_E_INVALID_CERT_CHAIN and accepts nothing that does
 * not chain to the root; the derived key is SHA-256 of the DER
 * SubjectPublicKeyInfo of the leaf's key, computed here again; no OpenSSL
 * error is left queued. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "fuzz_pki.h"
#include "sec/sec_chain.h"
#include "sec/sec_derive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static X509_STORE *store(void)
{
    static X509_STORE *s;
    if (!s && !(s = sec_store_new(fuzz_root(NULL))))
        abort();
    return s;
}

/* The library clears OpenSSL's error queue on every failure it handles,
 * so that no stale error reaches an unrelated caller. */
static void lib_left_no_error(void)
{
    if (ERR_peek_error() != 0)
        abort();
}

static void check_key(X509 *leaf)
{
    uint8_t key[SEC_KEY_LEN], again[32];
    ERR_clear_error();
    HRESULT hr = sec_derive_key(leaf, key);
    lib_left_no_error();
    if (hr != S_OK) {
        static const uint8_t zero[SEC_KEY_LEN];
        if (hr != DRT_E_CAPABILITY_MISMATCH || memcmp(key, zero, sizeof(zero)) != 0)
            abort();
        return;
    }
    unsigned char *spki = NULL;
    int n = i2d_PUBKEY(X509_get0_pubkey(leaf), &spki);
    unsigned int len = 0;
    if (n <= 0 || !EVP_Digest(spki, (size_t)n, again, &len, EVP_sha256(), NULL) || len != 32 ||
        memcmp(key, again, 32) != 0)
        abort();
    OPENSSL_free(spki);
}

/* A leaf the store accepted has the root as its last issuer: the root's
 * name is the issuer of the leaf or of one of the given certificates. */
static void check_anchored(X509 *leaf, STACK_OF(X509) *rest)
{
    X509_NAME *root = X509_get_subject_name(fuzz_root(NULL));
    if (X509_NAME_cmp(X509_get_issuer_name(leaf), root) == 0 ||
        X509_cmp(leaf, fuzz_root(NULL)) == 0)
        return;
    for (int i = 0; i < sk_X509_num(rest); i++)
        if (X509_NAME_cmp(X509_get_issuer_name(sk_X509_value(rest, i)), root) == 0)
            return;
    abort();
}

/* What a node decoded it can send on (its own records carry chains the
 * same way): the encoding decodes to the same certificates. OpenSSL writes
 * a certificate back in canonical DER, so the bytes may differ from what
 * came in; the certificates may not. */
static void check_reencode(X509 *leaf, STACK_OF(X509) *rest)
{
    for (int i = 0; i < sk_X509_num(rest); i++)
        if (X509_cmp(sk_X509_value(rest, i), leaf) == 0)
            return; /* the encoder leaves repeats of the leaf out */
    static uint8_t out[SEC_CHAIN_MAX_LEN];
    struct sec_writer w;
    sec_writer_init(&w, out, sizeof(out));
    if (sec_chain_encode(leaf, rest, NULL, &w) != S_OK)
        return; /* canonical DER may outgrow SEC_CERT_MAX_DER: refused, fine */
    X509 *leaf2;
    STACK_OF(X509) *rest2;
    if (sec_chain_decode(out, w.pos, &leaf2, &rest2) != S_OK || X509_cmp(leaf, leaf2) != 0 ||
        sk_X509_num(rest2) != sk_X509_num(rest))
        abort();
    for (int i = 0; i < sk_X509_num(rest); i++)
        if (X509_cmp(sk_X509_value(rest, i), sk_X509_value(rest2, i)) != 0)
            abort();
    X509_free(leaf2);
    sk_X509_pop_free(rest2, X509_free);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    X509 *leaf = (X509 *)1;
    STACK_OF(X509) *rest = (STACK_OF(X509) *)1;
    ERR_clear_error();
    HRESULT hr = sec_chain_decode(data, size, &leaf, &rest);
    lib_left_no_error();
    if (hr != S_OK) {
        if (leaf || rest || (hr != DRT_E_INVALID_MESSAGE && hr != E_OUTOFMEMORY))
            abort();
        return 0;
    }
    if (!leaf || !rest || sk_X509_num(rest) > SEC_CHAIN_MAX_CERTS - 1)
        abort();
    check_reencode(leaf, rest);
    ERR_clear_error();
    hr = sec_chain_verify(store(), leaf, rest);
    lib_left_no_error();
    if (hr == S_OK)
        check_anchored(leaf, rest);
    else if (hr != DRT_E_INVALID_CERT_CHAIN && hr != E_OUTOFMEMORY)
        abort();
    check_key(leaf);
    X509_free(leaf);
    sk_X509_pop_free(rest, X509_free);
    return 0;
}
