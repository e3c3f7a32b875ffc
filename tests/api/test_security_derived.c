/*
 * test_security_derived.c - DrtCreateDerivedKeySecurityProvider,
 * DrtCreateDerivedKey and the provider's vtable (docs/SECURITY.md): every
 * documented code in its case, the records it packs and unpacks, and two
 * real nodes on ::1 that find each other's certified keys while a key
 * without its certificate is refused.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <drt.h>

#include "api/loopback_node.h"
#include "sec/cert_fixture.h"
#include "sec/sec_record.h"

static DRT_SECURITY_PROVIDER *provider(PCCERT_CONTEXT local)
{
    DRT_SECURITY_PROVIDER *p = NULL;
    assert_int_equal(DrtCreateDerivedKeySecurityProvider(&fx_pki()->root_ctx, local, &p), S_OK);
    assert_non_null(p);
    return p;
}

static void key_of(const struct fx_node *n, BYTE key[32])
{
    DRT_DATA k = {32, key};
    assert_int_equal(DrtCreateDerivedKey(&n->ctx, &k), S_OK);
}

static HRESULT register_key(DRT_SECURITY_PROVIDER *p, const BYTE key[32], PVOID ctx)
{
    BYTE data[1] = {1};
    DRT_REGISTRATION reg = {{32, (BYTE *)key}, {1, data}};
    return p->RegisterKey(p->pvContext, &reg, ctx);
}

/* --- creation ------------------------------------------------------------- */

static void test_create_checks_root_and_local_certificate(void **state)
{
    const struct fx_pki *pki = fx_pki();
    DRT_SECURITY_PROVIDER *p = (DRT_SECURITY_PROVIDER *)1;
    assert_int_equal(DrtCreateDerivedKeySecurityProvider(&pki->root_ctx, NULL, NULL),
                     E_INVALIDARG);
    assert_int_equal(DrtCreateDerivedKeySecurityProvider(NULL, NULL, &p), E_INVALIDARG);
    assert_null(p);
    struct fx_node good, other, expired, p384;
    fx_node_init(&good, FX_RSA2048, pki->inter, pki->inter_key, pki->inter, -1, 30);
    fx_node_init(&other, FX_EC_P256, pki->other_root, pki->other_key, NULL, -1, 30);
    fx_node_init(&expired, FX_EC_P256, pki->root, pki->root_key, NULL, -30, -1);
    fx_node_init(&p384, FX_EC_P384, pki->root, pki->root_key, NULL, -1, 30);
    p = provider(NULL);
    DrtDeleteDerivedKeySecurityProvider(p);
    p = provider(&good.ctx);
    DrtDeleteDerivedKeySecurityProvider(p);
    assert_int_equal(DrtCreateDerivedKeySecurityProvider(&pki->root_ctx, &other.ctx, &p),
                     DRT_E_INVALID_CERT_CHAIN);
    assert_null(p);
    assert_int_equal(DrtCreateDerivedKeySecurityProvider(&pki->root_ctx, &expired.ctx, &p),
                     DRT_E_INVALID_CERT_CHAIN);
    assert_int_equal(DrtCreateDerivedKeySecurityProvider(&pki->root_ctx, &p384.ctx, &p),
                     DRT_E_CAPABILITY_MISMATCH);
    /* Deleting what is not ours does nothing. */
    DRT_SECURITY_PROVIDER *null_provider;
    assert_int_equal(DrtCreateNullSecurityProvider(&null_provider), S_OK);
    DrtDeleteDerivedKeySecurityProvider(null_provider);
    DrtDeleteNullSecurityProvider(null_provider);
    DrtDeleteDerivedKeySecurityProvider(NULL);
    fx_node_free(&good);
    fx_node_free(&other);
    fx_node_free(&expired);
    fx_node_free(&p384);
}

static void test_provider_serves_one_drt_at_a_time(void **state)
{
    DRT_SECURITY_PROVIDER *p = provider(NULL);
    assert_int_equal(p->Attach(p->pvContext), S_OK);
    assert_int_equal(p->Attach(p->pvContext), DRT_E_SECURITYPROVIDER_IN_USE);
    p->Detach(p->pvContext);
    assert_int_equal(p->Attach(p->pvContext), S_OK);
    p->Detach(p->pvContext);
    DrtDeleteDerivedKeySecurityProvider(p);
}

/* --- DrtCreateDerivedKey --------------------------------------------------- */

static void test_derived_key_is_sha256_of_the_spki(void **state)
{
    const struct fx_pki *pki = fx_pki();
    enum fx_keytype types[] = {FX_EC_P256, FX_ED25519, FX_RSA2048};
    for (size_t i = 0; i < 3; i++) {
        struct fx_node n;
        fx_node_init(&n, types[i], pki->root, pki->root_key, NULL, -1, 30);
        BYTE got[32], want[32];
        key_of(&n, got);
        fx_expected_key(n.cert, want);
        assert_memory_equal(got, want, 32);
        fx_node_free(&n);
    }
}

static void test_derived_key_refuses_keys_that_cannot_sign(void **state)
{
    const struct fx_pki *pki = fx_pki();
    enum fx_keytype types[] = {FX_RSA1024, FX_EC_P384};
    for (size_t i = 0; i < 2; i++) {
        struct fx_node n;
        fx_node_init(&n, types[i], pki->root, pki->root_key, NULL, -1, 30);
        BYTE buf[32];
        DRT_DATA k = {32, buf};
        assert_int_equal(DrtCreateDerivedKey(&n.ctx, &k), DRT_E_CAPABILITY_MISMATCH);
        fx_node_free(&n);
    }
}

/* --- RegisterKey ------------------------------------------------------------ */

static void test_register_key_codes(void **state)
{
    const struct fx_pki *pki = fx_pki();
    DRT_SECURITY_PROVIDER *p = provider(NULL);
    struct fx_node ec, ed, rsa, other, expired, early, orphan, keyless, wrong_priv;
    fx_node_init(&ec, FX_EC_P256, pki->root, pki->root_key, NULL, -1, 30);
    fx_node_init(&ed, FX_ED25519, pki->inter, pki->inter_key, pki->inter, -1, 30);
    fx_node_init(&rsa, FX_RSA2048, pki->inter, pki->inter_key, pki->inter, -1, 30);
    fx_node_init(&other, FX_EC_P256, pki->other_root, pki->other_key, NULL, -1, 30);
    fx_node_init(&expired, FX_EC_P256, pki->root, pki->root_key, NULL, -30, -1);
    fx_node_init(&early, FX_EC_P256, pki->root, pki->root_key, NULL, 1, 30);
    fx_node_init(&orphan, FX_EC_P256, pki->inter, pki->inter_key, NULL, -1, 30);
    fx_node_init(&keyless, FX_EC_P256, pki->root, pki->root_key, NULL, -1, 30);
    fx_node_init(&wrong_priv, FX_EC_P256, pki->root, pki->root_key, NULL, -1, 30);
    keyless.ctx.pPrivateKey = NULL;
    wrong_priv.ctx.pPrivateKey = ec.key;

    BYTE k[32];
    const struct fx_node *ok[] = {&ec, &ed, &rsa};
    for (size_t i = 0; i < 3; i++) {
        key_of(ok[i], k);
        assert_int_equal(register_key(p, k, (PVOID)&ok[i]->ctx), S_OK);
        assert_int_equal(p->UnregisterKey(p->pvContext, &(DRT_DATA){32, k}, (PVOID)&ok[i]->ctx),
                         S_OK);
    }
    /* DRT_E_INVALID_KEY: not the key of that certificate, or no certificate */
    key_of(&ec, k);
    assert_int_equal(register_key(p, k, (PVOID)&ed.ctx), DRT_E_INVALID_KEY);
    assert_int_equal(register_key(p, k, NULL), DRT_E_INVALID_KEY);
    CERT_CONTEXT no_cert = {NULL, ec.key, NULL};
    assert_int_equal(register_key(p, k, &no_cert), DRT_E_INVALID_KEY);
    /* DRT_E_INVALID_CERT_CHAIN: another root, expired, not yet valid, no
     * intermediate */
    const struct fx_node *bad_chain[] = {&other, &expired, &early, &orphan};
    for (size_t i = 0; i < 4; i++) {
        key_of(bad_chain[i], k);
        assert_int_equal(register_key(p, k, (PVOID)&bad_chain[i]->ctx),
                         DRT_E_INVALID_CERT_CHAIN);
    }
    /* DRT_E_CAPABILITY_MISMATCH: no private key, or one that is not the
     * certificate's */
    key_of(&keyless, k);
    assert_int_equal(register_key(p, k, &keyless.ctx), DRT_E_CAPABILITY_MISMATCH);
    key_of(&wrong_priv, k);
    assert_int_equal(register_key(p, k, &wrong_priv.ctx), DRT_E_CAPABILITY_MISMATCH);

    const struct fx_node *all[] = {&ec, &ed, &rsa, &other, &expired,
                                   &early, &orphan, &keyless, &wrong_priv};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        fx_node_free((struct fx_node *)all[i]);
    DrtDeleteDerivedKeySecurityProvider(p);
}

/* --- SecureAndPackPayload / ValidateAndUnpackPayload ------------------------ */

struct packed {
    DRT_DATA cpa, classifier, secured, chain;
};

static const BYTE nonce_bytes[16] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};
static BYTE payload_bytes[] = "application data";

static HRESULT pack(DRT_SECURITY_PROVIDER *p, const struct fx_node *n, const BYTE key[32],
                    DWORD flags, struct packed *out)
{
    struct sockaddr_in6 self;
    memset(&self, 0, sizeof(self));
    self.sin6_family = AF_INET6;
    self.sin6_port = htons(4242);
    self.sin6_addr = in6addr_loopback;
    SOCKET_ADDRESS_LIST addrs = {1, {{(LPSOCKADDR)&self, sizeof(self)}}};
    DRT_DATA k = {32, (BYTE *)key}, pl = {sizeof(payload_bytes), payload_bytes},
             nonce = {16, (BYTE *)nonce_bytes};
    return p->SecureAndPackPayload(p->pvContext, n ? (PVOID)&n->ctx : NULL, 6, 0x65, flags, &k,
                                   &pl, &addrs, &nonce, &out->cpa, &out->classifier,
                                   &out->secured, &out->chain);
}

static void packed_free(DRT_SECURITY_PROVIDER *p, struct packed *pk)
{
    p->FreeData(p->pvContext, pk->cpa.pb);
    p->FreeData(p->pvContext, pk->classifier.pb);
    p->FreeData(p->pvContext, pk->secured.pb);
    p->FreeData(p->pvContext, pk->chain.pb);
}

struct unpacked {
    BYTE major, minor;
    DRT_DATA key, payload;
    CERT_PUBLIC_KEY_INFO *pub;
    SOCKET_ADDRESS_LIST *addrs;
    DWORD flags;
};

static HRESULT unpack(DRT_SECURITY_PROVIDER *p, struct packed *pk, const BYTE nonce[16],
                      struct unpacked *u)
{
    DRT_DATA n = {16, (BYTE *)nonce};
    return p->ValidateAndUnpackPayload(p->pvContext, &pk->cpa, &pk->chain, NULL, &n,
                                       &pk->secured, &u->major, &u->minor, &u->key, &u->payload,
                                       &u->pub, &u->addrs, &u->flags);
}

static void unpacked_free(DRT_SECURITY_PROVIDER *p, struct unpacked *u)
{
    p->FreeData(p->pvContext, u->key.pb);
    p->FreeData(p->pvContext, u->payload.pb);
    p->FreeData(p->pvContext, u->pub);
    p->FreeData(p->pvContext, u->addrs);
}

static void test_pack_and_unpack_each_key_type(void **state)
{
    const struct fx_pki *pki = fx_pki();
    static const struct {
        enum fx_keytype type;
        const char *oid;
        const char *params; /* DER, hex */
    } cases[] = {{FX_EC_P256, "1.2.840.10045.2.1", "06082a8648ce3d030107"},
                 {FX_ED25519, "1.3.101.112", ""},
                 {FX_RSA2048, "1.2.840.113549.1.1.1", "0500"}};
    DRT_SECURITY_PROVIDER *signer = provider(NULL), *resolver = provider(NULL);
    for (size_t i = 0; i < 3; i++) {
        struct fx_node n;
        fx_node_init(&n, cases[i].type, pki->inter, pki->inter_key, pki->inter, -1, 30);
        BYTE key[32];
        key_of(&n, key);
        struct packed pk;
        assert_int_equal(pack(signer, &n, key, DRT_PAYLOAD_REVOKED, &pk), S_OK);
        assert_int_equal(pk.classifier.cb, 0);
        assert_int_equal(pk.secured.cb, sizeof(payload_bytes));
        /* pCertChain: the same bytes as the record's chain */
        struct sec_parsed_record pr;
        assert_int_equal(sec_record_parse(pk.cpa.pb, pk.cpa.cb, &pr), S_OK);
        assert_int_equal(pk.chain.cb, pr.chain_len);
        assert_memory_equal(pk.chain.pb, pr.chain, pr.chain_len);

        struct unpacked u;
        assert_int_equal(unpack(resolver, &pk, nonce_bytes, &u), S_OK);
        assert_int_equal(u.major, 6);
        assert_int_equal(u.minor, 0x65);
        assert_int_equal(u.flags, DRT_PAYLOAD_REVOKED);
        assert_int_equal(u.key.cb, 32);
        assert_memory_equal(u.key.pb, key, 32);
        assert_int_equal(u.payload.cb, sizeof(payload_bytes));
        assert_memory_equal(u.payload.pb, payload_bytes, sizeof(payload_bytes));
        assert_string_equal(u.pub->Algorithm.pszObjId, cases[i].oid);
        size_t plen = strlen(cases[i].params) / 2;
        assert_int_equal(u.pub->Algorithm.Parameters.cbData, plen);
        for (size_t b = 0; b < plen; b++) {
            unsigned v;
            sscanf(cases[i].params + 2 * b, "%2x", &v);
            assert_int_equal(u.pub->Algorithm.Parameters.pbData[b], v);
        }
        assert_true(u.pub->PublicKey.cbData > 0);
        assert_int_equal(u.addrs->iAddressCount, 1);
        const struct sockaddr_in6 *s6 = (const void *)u.addrs->Address[0].lpSockaddr;
        assert_int_equal(s6->sin6_family, AF_INET6);
        assert_int_equal(ntohs(s6->sin6_port), 4242);
        assert_memory_equal(&s6->sin6_addr, &in6addr_loopback, 16);
        unpacked_free(resolver, &u);
        packed_free(signer, &pk);
        fx_node_free(&n);
    }
    DrtDeleteDerivedKeySecurityProvider(signer);
    DrtDeleteDerivedKeySecurityProvider(resolver);
}

static void test_unpack_refuses_bad_records(void **state)
{
    const struct fx_pki *pki = fx_pki();
    DRT_SECURITY_PROVIDER *p = provider(NULL);
    struct fx_node n, m;
    fx_node_init(&n, FX_EC_P256, pki->root, pki->root_key, NULL, -1, 30);
    fx_node_init(&m, FX_EC_P256, pki->root, pki->root_key, NULL, -1, 30);
    BYTE key[32];
    key_of(&n, key);
    struct packed pk, other;
    assert_int_equal(pack(p, &n, key, 0, &pk), S_OK);
    BYTE mkey[32];
    key_of(&m, mkey);
    assert_int_equal(pack(p, &m, mkey, 0, &other), S_OK);
    struct unpacked u;
    /* replayed: another nonce */
    BYTE fresh[16] = {1};
    assert_int_equal(unpack(p, &pk, fresh, &u), DRT_E_INVALID_MESSAGE);
    assert_null(u.key.pb);
    assert_null(u.pub);
    assert_null(u.addrs);
    /* a chain beside the record that is not its own */
    DRT_DATA keep = pk.chain;
    pk.chain = other.chain;
    assert_int_equal(unpack(p, &pk, nonce_bytes, &u), DRT_E_INVALID_MESSAGE);
    pk.chain = keep;
    /* a changed payload */
    pk.secured.pb[0] ^= 1;
    assert_int_equal(unpack(p, &pk, nonce_bytes, &u), DRT_E_INVALID_MESSAGE);
    pk.secured.pb[0] ^= 1;
    /* a flipped signature bit, a truncated record */
    pk.cpa.pb[pk.cpa.cb - 1] ^= 1;
    assert_int_equal(unpack(p, &pk, nonce_bytes, &u), DRT_E_INVALID_MESSAGE);
    pk.cpa.pb[pk.cpa.cb - 1] ^= 1;
    pk.cpa.cb--;
    assert_int_equal(unpack(p, &pk, nonce_bytes, &u), DRT_E_INVALID_MESSAGE);
    pk.cpa.cb++;
    /* the null provider's CPA is no record */
    BYTE null_cpa[49] = {0};
    DRT_DATA keep_cpa = pk.cpa;
    pk.cpa = (DRT_DATA){49, null_cpa};
    assert_int_equal(unpack(p, &pk, nonce_bytes, &u), DRT_E_INVALID_MESSAGE);
    pk.cpa = keep_cpa;
    /* a resolver rooted elsewhere refuses it */
    DRT_SECURITY_PROVIDER *elsewhere = NULL;
    assert_int_equal(DrtCreateDerivedKeySecurityProvider(&pki->other_ctx, NULL, &elsewhere), S_OK);
    assert_int_equal(unpack(elsewhere, &pk, nonce_bytes, &u), DRT_E_INVALID_MESSAGE);
    /* and the untouched record still passes */
    assert_int_equal(unpack(p, &pk, nonce_bytes, &u), S_OK);
    unpacked_free(p, &u);
    DrtDeleteDerivedKeySecurityProvider(elsewhere);
    packed_free(p, &pk);
    packed_free(p, &other);
    fx_node_free(&n);
    fx_node_free(&m);
    DrtDeleteDerivedKeySecurityProvider(p);
}

static void test_pack_signs_only_keys_its_certificate_proves(void **state)
{
    const struct fx_pki *pki = fx_pki();
    DRT_SECURITY_PROVIDER *p = provider(NULL);
    struct fx_node n, m;
    fx_node_init(&n, FX_ED25519, pki->root, pki->root_key, NULL, -1, 30);
    fx_node_init(&m, FX_ED25519, pki->root, pki->root_key, NULL, -1, 30);
    BYTE key[32];
    key_of(&m, key);
    struct packed pk;
    assert_int_equal(pack(p, &n, key, 0, &pk), DRT_E_INVALID_KEY);
    assert_null(pk.cpa.pb);
    assert_null(pk.chain.pb);
    assert_int_equal(pack(p, NULL, key, 0, &pk), DRT_E_INVALID_KEY);
    assert_int_equal(pack(p, &m, key, 0x2, &pk), E_INVALIDARG);
    fx_node_free(&n);
    fx_node_free(&m);
    DrtDeleteDerivedKeySecurityProvider(p);
}

/* --- two nodes on ::1 ---------------------------------------------------- */

struct node {
    struct lb_node node;
    struct fx_node cert;
    BYTE key[32];
    HDRT_REGISTRATION_CONTEXT reg;
};

static void open_node(struct node *n, USHORT seed_port, const char *data)
{
    struct lb_spec spec = {.root = &fx_pki()->root_ctx, .local = &n->cert.ctx, .dns = true,
                           .mode = DRT_SECURE_RESOLVE, .prefix = L"Derived_DRT"};
    assert_true(SUCCEEDED(lb_open_spec(&n->node, seed_port, &spec)));
    key_of(&n->cert, n->key);
    DRT_REGISTRATION reg = {{32, n->key}, {(ULONG)strlen(data) + 1, (BYTE *)data}};
    assert_int_equal(DrtRegisterKey(n->node.drt, &reg, (PVOID)&n->cert.ctx, &n->reg), S_OK);
}

static void close_node(struct node *n)
{
    DrtUnregisterKey(n->reg);
    lb_close(&n->node);
    fx_node_free(&n->cert);
}

static void test_two_nodes_find_each_others_certified_keys(void **state)
{
    const struct fx_pki *pki = fx_pki();
    setenv("DRT_ADVERTISE_ADDRESS", "::1", 1);
    struct node a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    fx_node_init(&a.cert, FX_ED25519, pki->root, pki->root_key, NULL, -1, 30);
    fx_node_init(&b.cert, FX_RSA2048, pki->inter, pki->inter_key, pki->inter, -1, 30);
    open_node(&a, 0, "from-a");
    open_node(&b, a.node.port, "from-b");
    assert_true(lb_wait_active(&b.node, 10000));

    /* B cannot publish A's key, nor a key with no certificate at all. */
    HDRT_REGISTRATION_CONTEXT r;
    BYTE data[] = "stolen";
    DRT_REGISTRATION steal = {{32, a.key}, {sizeof(data), data}};
    assert_int_equal(DrtRegisterKey(b.node.drt, &steal, (PVOID)&b.cert.ctx, &r), DRT_E_INVALID_KEY);
    assert_null(r);
    assert_int_equal(DrtRegisterKey(b.node.drt, &steal, NULL, &r), DRT_E_INVALID_KEY);
    /* A certificate yields one key: registering it twice is a duplicate. */
    DRT_REGISTRATION again = {{32, b.key}, {sizeof(data), data}};
    assert_int_equal(DrtRegisterKey(b.node.drt, &again, (PVOID)&b.cert.ctx, &r), DRT_E_DUPLICATE_KEY);

    /* B's search reaches A, whose record B checks: chain to the root,
     * Ed25519 signature, derivation, nonce, payload hash. */
    assert_int_equal(lb_search_count(b.node.drt, a.key, "from-a", NULL), 1);

    close_node(&b);
    close_node(&a);
    unsetenv("DRT_ADVERTISE_ADDRESS");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_checks_root_and_local_certificate),
        cmocka_unit_test(test_provider_serves_one_drt_at_a_time),
        cmocka_unit_test(test_derived_key_is_sha256_of_the_spki),
        cmocka_unit_test(test_derived_key_refuses_keys_that_cannot_sign),
        cmocka_unit_test(test_register_key_codes),
        cmocka_unit_test(test_pack_and_unpack_each_key_type),
        cmocka_unit_test(test_unpack_refuses_bad_records),
        cmocka_unit_test(test_pack_signs_only_keys_its_certificate_proves),
        cmocka_unit_test(test_two_nodes_find_each_others_certified_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
