/* The derived-key provider's ValidateAndUnpackPayload on any bytes: the
 * signed record (docs/SECURITY.md) reaches every node from anyone, in
 * AUTHORITY answers and in revocation FLOODs. The first input byte picks
 * what the record is checked as (an answer to a fixed nonce, with or
 * without a payload, or a revocation), the rest is the record. The root
 * is made once, from a fixed Ed25519 seed, so a record of the test vector
 * (the seed corpus) parses and reaches the signature and chain checks.
 * Invariants: no crash, no leak; on success the outputs are the key (32
 * bytes), flags with only DRT_PAYLOAD_REVOKED, and each is released with
 * FreeData; on failure every output is empty. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <drt.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static DRT_SECURITY_PROVIDER *provider(void)
{
    static DRT_SECURITY_PROVIDER *p;
    if (p)
        return p;
    uint8_t seed[32];
    memset(seed, 0x11, sizeof(seed));
    EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof(seed));
    X509 *root = X509_new();
    X509_NAME *name = X509_NAME_new();
    if (!key || !root || !name ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                    (const unsigned char *)"libdrt test root", -1, -1, 0) ||
        !X509_set_version(root, 2) || !ASN1_INTEGER_set(X509_get_serialNumber(root), 1) ||
        !X509_set_subject_name(root, name) || !X509_set_issuer_name(root, name) ||
        !ASN1_TIME_set_string(X509_getm_notBefore(root), "20250101000000Z") ||
        !ASN1_TIME_set_string(X509_getm_notAfter(root), "20491231235959Z") ||
        !X509_set_pubkey(root, key) || !X509_sign(root, key, NULL))
        abort();
    static CERT_CONTEXT ctx;
    ctx.pCert = root;
    if (DrtCreateDerivedKeySecurityProvider(&ctx, NULL, &p) != S_OK)
        abort();
    X509_NAME_free(name);
    EVP_PKEY_free(key);
    /* The provider keeps its own reference to the root; ours stays for the
     * process, like the provider. */
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 40000)
        return 0;
    DRT_SECURITY_PROVIDER *p = provider();
    uint8_t mode = data[0];
    uint8_t *rec = malloc(size - 1 ? size - 1 : 1);
    if (!rec)
        return 0;
    memcpy(rec, data + 1, size - 1);
    static const BYTE answer_nonce[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    static const BYTE zero[16];
    static BYTE hello[] = "hello";
    DRT_DATA cpa = {(ULONG)(size - 1), rec};
    DRT_DATA nonce = {16, (BYTE *)((mode & 1) ? zero : answer_nonce)};
    DRT_DATA secured = {5, hello};
    BYTE major = 0xee, minor = 0xee;
    DRT_DATA key = {7, (BYTE *)1}, payload = {7, (BYTE *)1};
    CERT_PUBLIC_KEY_INFO *pub = (CERT_PUBLIC_KEY_INFO *)1;
    SOCKET_ADDRESS_LIST *addrs = (SOCKET_ADDRESS_LIST *)1;
    DWORD flags = 0xffffffff;
    HRESULT hr = p->ValidateAndUnpackPayload(p->pvContext, &cpa, NULL, NULL, &nonce,
                                             (mode & 2) ? &secured : NULL, &major, &minor, &key,
                                             &payload, &pub, &addrs, &flags);
    if (hr == S_OK) {
        if (key.cb != 32 || !key.pb || (flags & ~(DWORD)DRT_PAYLOAD_REVOKED) || !pub || !addrs)
            abort();
    } else if (key.pb || payload.pb || pub || addrs || flags != 0) {
        abort();
    }
    p->FreeData(p->pvContext, key.pb);
    p->FreeData(p->pvContext, payload.pb);
    p->FreeData(p->pvContext, pub);
    p->FreeData(p->pvContext, addrs);
    free(rec);
    return 0;
}
