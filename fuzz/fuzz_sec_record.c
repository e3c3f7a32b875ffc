/* The derived-key provider's ValidateAndUnpackPayload on any bytes: the
 * signed record (docs/SECURITY.md) reaches every node from anyone, in
 * AUTHORITY answers and in revocation FLOODs. The first input byte picks
 * what the record is checked as (an answer to a fixed nonce, with or
 * without a payload, or a revocation), the rest is the record. The root
 * is fuzz_pki.h's (a fixed Ed25519 seed), so a record of the test vector
 * (the seed corpus) parses and reaches the signature and chain checks.
 * Invariants: no crash, no leak; on success the outputs are the key (32
 * bytes), flags with only DRT_PAYLOAD_REVOKED, and each is released with
 * FreeData; on failure every output is empty. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <drt.h>

#include "fuzz_pki.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static DRT_SECURITY_PROVIDER *provider(void)
{
    static DRT_SECURITY_PROVIDER *p;
    static CERT_CONTEXT ctx;
    if (!p) {
        /* The provider keeps its own reference to the root; fuzz_pki's
         * stays for the process, like the provider. */
        ctx.pCert = fuzz_root(NULL);
        if (DrtCreateDerivedKeySecurityProvider(&ctx, NULL, &p) != S_OK)
            abort();
    }
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
