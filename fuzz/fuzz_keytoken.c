/* The derived-key provider's DecryptData on any bytes: in
 * DRT_SECURE_CONFIDENTIALPAYLOAD a node opens the KEYTOKEN and the sealed
 * EXTENDED_PAYLOAD of every answer it gets (docs/PROTOCOL.md, "Keytoken
 * and sealed payload"). The node's certificate (under a CA root of its
 * own) holds the P-256 recipient key of docs/PROTOCOL.md's keytoken_ecdh
 * vector, so the seed corpus (that vector and its sealed "hello") opens.
 * Input: u16 keytoken length (big-
 * endian), the keytoken, then the sealed buffer. When the first byte's top
 * bit is set the rest is instead a payload that must survive EncryptData
 * for the node's own credential and DecryptData unchanged.
 * Invariants: no crash, no leak, nothing read or written outside the
 * buffers; a success leaves exactly the sealed length minus the 16-byte
 * tag, in place. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <drt.h>
#include <openssl/x509.h>

#include "fuzz_pki.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The keytoken_ecdh vector's recipient (SEC1 DER). */
static const uint8_t recipient_der[] = {
    0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20, 0x79, 0x3a, 0xb7, 0x37, 0x3f, 0x1e, 0x6a, 0x94,
    0x4d, 0xe2, 0x6a, 0xff, 0xa7, 0x04, 0x7e, 0x28, 0x56, 0x4e, 0x21, 0xec, 0xb2, 0xf3, 0xc4,
    0x48, 0x0b, 0x36, 0x35, 0x06, 0xfe, 0x84, 0x5f, 0xfd, 0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86,
    0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0xa1, 0x44, 0x03, 0x42, 0x00, 0x04, 0xcd, 0x91, 0x01,
    0x82, 0x88, 0x73, 0xe4, 0x6d, 0x94, 0x0f, 0x92, 0x8f, 0xf1, 0x25, 0x42, 0x4d, 0x0d, 0xd7,
    0x7f, 0x50, 0x2f, 0x9b, 0xde, 0x20, 0x05, 0x91, 0x11, 0xb7, 0xf4, 0xf4, 0xff, 0x1b, 0x8b,
    0x60, 0x1b, 0x7b, 0x60, 0x21, 0xdd, 0x1b, 0x08, 0xcc, 0x09, 0x60, 0x04, 0x5e, 0xde, 0xad,
    0xb3, 0x55, 0x4e, 0x09, 0x34, 0x64, 0x98, 0x81, 0x48, 0x71, 0xdc, 0x85, 0x6b, 0x7f, 0xf3,
    0x38,
};

static DRT_SECURITY_PROVIDER *provider;
static DRT_DATA credential;

static void setup(void)
{
    static CERT_CONTEXT root, local;
    EVP_PKEY *root_key = fuzz_ed25519(0x33);
    root.pCert = fuzz_issue("libdrt fuzz root", 1, 1, root_key, NULL, root_key);
    const unsigned char *p = recipient_der;
    local.pPrivateKey = d2i_PrivateKey(EVP_PKEY_EC, NULL, &p, (long)sizeof(recipient_der));
    if (!local.pPrivateKey)
        abort();
    local.pCert = fuzz_issue("libdrt fuzz recipient", 3, 0, local.pPrivateKey, root.pCert,
                             root_key);
    if (DrtCreateDerivedKeySecurityProvider(&root, &local, &provider) != S_OK ||
        provider->GetSerializedCredential(provider->pvContext, &credential) != S_OK)
        abort();
}

static void round_trip(const uint8_t *data, size_t size)
{
    DRT_SECURITY_PROVIDER *p = provider;
    DRT_DATA in = {(ULONG)size, (BYTE *)data}, sealed = {0, NULL}, token = {0, NULL};
    if (p->EncryptData(p->pvContext, &credential, 1, &in, &sealed, &token) != S_OK ||
        sealed.cb != size + 16)
        abort();
    if (p->DecryptData(p->pvContext, &token, NULL, 1, &sealed) != S_OK || sealed.cb != size ||
        (size && memcmp(sealed.pb, data, size) != 0))
        abort();
    p->FreeData(p->pvContext, sealed.pb);
    p->FreeData(p->pvContext, token.pb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!provider)
        setup();
    if (size < 2 || size > 8192)
        return 0;
    if (data[0] & 0x80) {
        round_trip(data + 1, size - 1);
        return 0;
    }
    size_t tlen = (size_t)data[0] << 8 | data[1];
    if (tlen > size - 2)
        return 0;
    size_t slen = size - 2 - tlen;
    /* Copies of exactly their length, so ASan sees any overread. */
    uint8_t *token = malloc(tlen ? tlen : 1), *sealed = malloc(slen ? slen : 1);
    if (!token || !sealed)
        abort();
    memcpy(token, data + 2, tlen);
    memcpy(sealed, data + 2 + tlen, slen);
    DRT_DATA t = {(ULONG)tlen, tlen ? token : NULL}, d = {(ULONG)slen, sealed};
    HRESULT hr = provider->DecryptData(provider->pvContext, &t, NULL, 1, &d);
    if (hr == S_OK && (d.pb != sealed || d.cb + 16 != slen))
        abort();
    if (hr != S_OK && hr != DRT_E_INVALID_MESSAGE)
        abort();
    free(token);
    free(sealed);
    return 0;
}
