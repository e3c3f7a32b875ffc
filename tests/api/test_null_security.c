/*
 * test_null_security.c - the null security provider through its
 * DRT_SECURITY_PROVIDER table (reference §5.1, docs/PROTOCOL.md "The null
 * security provider's CPA"). Every buffer it hands out goes back through
 * FreeData, so ASan reports a leak or a double free.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <drt.h>

struct fixture {
    DRT_SECURITY_PROVIDER *p;
    BYTE key[32], nonce[16], payload[40];
    DRT_DATA key_d, nonce_d, payload_d;
};

static int setup(void **state)
{
    static struct fixture f;
    memset(&f, 0, sizeof(f));
    if (DrtCreateNullSecurityProvider(&f.p) != S_OK)
        return -1;
    for (int i = 0; i < 32; i++)
        f.key[i] = (BYTE)(0xA0 + i);
    for (int i = 0; i < 16; i++)
        f.nonce[i] = (BYTE)(0x10 + i);
    for (int i = 0; i < 40; i++)
        f.payload[i] = (BYTE)i;
    f.key_d = (DRT_DATA){32, f.key};
    f.nonce_d = (DRT_DATA){16, f.nonce};
    f.payload_d = (DRT_DATA){40, f.payload};
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    DrtDeleteNullSecurityProvider(f->p);
    return 0;
}

/* SecureAndPackPayload with the fixture's key, payload and nonce. */
static void pack(struct fixture *f, DRT_DATA *cpa, DRT_DATA *secured)
{
    DRT_DATA classifier = {7, (BYTE *)"x"}, chain = {7, (BYTE *)"x"};
    SOCKADDR_IN6 a;
    memset(&a, 0, sizeof(a));
    a.sin6_family = AF_INET6;
    SOCKET_ADDRESS_LIST addrs = {1, {{(LPSOCKADDR)&a, sizeof(a)}}};
    DRT_SECURITY_PROVIDER *p = f->p;
    assert_int_equal(p->SecureAndPackPayload(p->pvContext, NULL, 1, 0, 0, &f->key_d, &f->payload_d,
                                             &addrs, &f->nonce_d, cpa, &classifier, secured,
                                             &chain),
                     S_OK);
    assert_int_equal(classifier.cb, 0);
    assert_null(classifier.pb);
    assert_int_equal(chain.cb, 0);
    assert_null(chain.pb);
}

struct unpacked {
    BYTE major, minor;
    DRT_DATA key, payload;
    CERT_PUBLIC_KEY_INFO *pub;
    SOCKET_ADDRESS_LIST *addrs;
    DWORD flags;
};

static HRESULT unpack(DRT_SECURITY_PROVIDER *p, DRT_DATA *cpa, DRT_DATA *nonce, DRT_DATA *secured,
                      struct unpacked *u)
{
    memset(u, 0xEE, sizeof(*u)); /* outs must be written on every path */
    return p->ValidateAndUnpackPayload(p->pvContext, cpa, NULL, NULL, nonce, secured, &u->major,
                                       &u->minor, &u->key, &u->payload, &u->pub, &u->addrs,
                                       &u->flags);
}

static void assert_unpacked_empty(const struct unpacked *u)
{
    assert_int_equal(u->key.cb, 0);
    assert_null(u->key.pb);
    assert_int_equal(u->payload.cb, 0);
    assert_null(u->payload.pb);
    assert_null(u->pub);
    assert_null(u->addrs);
    assert_int_equal(u->flags, 0);
}

static void test_every_member_is_set(void **state)
{
    struct fixture *f = *state;
    DRT_SECURITY_PROVIDER *p = f->p;
    assert_non_null(p->pvContext);
    void (*const members[])(void) = {
        (void (*)(void))p->Attach,           (void (*)(void))p->Detach,
        (void (*)(void))p->RegisterKey,      (void (*)(void))p->UnregisterKey,
        (void (*)(void))p->ValidateAndUnpackPayload, (void (*)(void))p->SecureAndPackPayload,
        (void (*)(void))p->FreeData,         (void (*)(void))p->EncryptData,
        (void (*)(void))p->DecryptData,      (void (*)(void))p->GetSerializedCredential,
        (void (*)(void))p->ValidateRemoteCredential, (void (*)(void))p->SignData,
        (void (*)(void))p->VerifyData,
    };
    for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++)
        assert_non_null(members[i]);
}

static void test_second_attach_is_in_use_until_detached(void **state)
{
    DRT_SECURITY_PROVIDER *p = ((struct fixture *)*state)->p;
    assert_int_equal(p->Attach(p->pvContext), S_OK);
    assert_int_equal(p->Attach(p->pvContext), DRT_E_SECURITYPROVIDER_IN_USE);
    p->Detach(p->pvContext);
    assert_int_equal(p->Attach(p->pvContext), S_OK);
    p->Detach(p->pvContext);
}

static void test_any_key_can_be_registered_and_unregistered(void **state)
{
    struct fixture *f = *state;
    DRT_SECURITY_PROVIDER *p = f->p;
    DRT_REGISTRATION reg = {f->key_d, f->payload_d};
    assert_int_equal(p->RegisterKey(p->pvContext, &reg, NULL), S_OK);
    assert_int_equal(p->UnregisterKey(p->pvContext, &f->key_d, NULL), S_OK);
}

static void test_pack_produces_the_null_cpa_and_copies_the_payload(void **state)
{
    struct fixture *f = *state;
    DRT_DATA cpa, secured;
    pack(f, &cpa, &secured);
    assert_int_equal(cpa.cb, 49);
    assert_int_equal(cpa.pb[0], 0);
    assert_memory_equal(cpa.pb + 1, f->key, 32);
    assert_memory_equal(cpa.pb + 33, f->nonce, 16);
    assert_int_equal(secured.cb, 40);
    assert_ptr_not_equal(secured.pb, f->payload);
    assert_memory_equal(secured.pb, f->payload, 40);
    f->p->FreeData(f->p->pvContext, cpa.pb);
    f->p->FreeData(f->p->pvContext, secured.pb);
}

static void test_pack_rejects_bad_key_or_nonce(void **state)
{
    struct fixture *f = *state;
    DRT_SECURITY_PROVIDER *p = f->p;
    DRT_DATA cpa = {5, (BYTE *)"x"}, short_key = {31, f->key}, odd_nonce = {15, f->nonce};
    assert_int_equal(p->SecureAndPackPayload(p->pvContext, NULL, 1, 0, 0, &short_key, NULL, NULL,
                                             &f->nonce_d, &cpa, NULL, NULL, NULL),
                     E_INVALIDARG);
    assert_int_equal(cpa.cb, 0);
    assert_null(cpa.pb);
    assert_int_equal(p->SecureAndPackPayload(p->pvContext, NULL, 1, 0, 0, NULL, NULL, NULL,
                                             &f->nonce_d, &cpa, NULL, NULL, NULL),
                     E_INVALIDARG);
    assert_int_equal(p->SecureAndPackPayload(p->pvContext, NULL, 1, 0, 0, &f->key_d, NULL, NULL,
                                             &odd_nonce, &cpa, NULL, NULL, NULL),
                     E_INVALIDARG);
    assert_int_equal(p->SecureAndPackPayload(p->pvContext, NULL, 1, 0, 0, &f->key_d, NULL, NULL,
                                             &f->nonce_d, NULL, NULL, NULL, NULL),
                     E_INVALIDARG);
}

static void test_round_trip_with_the_right_nonce(void **state)
{
    struct fixture *f = *state;
    DRT_SECURITY_PROVIDER *p = f->p;
    DRT_DATA cpa, secured;
    pack(f, &cpa, &secured);
    struct unpacked u;
    assert_int_equal(unpack(p, &cpa, &f->nonce_d, &secured, &u), S_OK);
    assert_int_equal(u.key.cb, 32);
    assert_memory_equal(u.key.pb, f->key, 32);
    assert_int_equal(u.payload.cb, 40);
    assert_memory_equal(u.payload.pb, f->payload, 40);
    assert_ptr_not_equal(u.payload.pb, secured.pb);
    assert_null(u.pub);
    assert_null(u.addrs);
    assert_int_equal(u.flags, 0);
    assert_int_equal(u.major, 0);
    assert_int_equal(u.minor, 0);
    p->FreeData(p->pvContext, u.key.pb);
    p->FreeData(p->pvContext, u.payload.pb);
    p->FreeData(p->pvContext, cpa.pb);
    p->FreeData(p->pvContext, secured.pb);
}

static void test_revocation_without_nonce_round_trips_with_zero_nonce(void **state)
{
    struct fixture *f = *state;
    DRT_SECURITY_PROVIDER *p = f->p;
    DRT_DATA cpa;
    assert_int_equal(p->SecureAndPackPayload(p->pvContext, NULL, 1, 0, DRT_PAYLOAD_REVOKED,
                                             &f->key_d, NULL, NULL, NULL, &cpa, NULL, NULL, NULL),
                     S_OK);
    BYTE zeros[16] = {0};
    assert_int_equal(cpa.cb, 49);
    assert_memory_equal(cpa.pb + 33, zeros, 16);
    struct unpacked u;
    assert_int_equal(unpack(p, &cpa, NULL, NULL, &u), S_OK);
    assert_memory_equal(u.key.pb, f->key, 32);
    assert_int_equal(u.payload.cb, 0);
    assert_null(u.payload.pb);
    p->FreeData(p->pvContext, u.key.pb);
    /* and the zero nonce does not match a real one */
    assert_int_equal(unpack(p, &cpa, &f->nonce_d, NULL, &u), DRT_E_INVALID_MESSAGE);
    assert_unpacked_empty(&u);
    p->FreeData(p->pvContext, cpa.pb);
}

static void test_wrong_nonce_is_an_invalid_message(void **state)
{
    struct fixture *f = *state;
    DRT_SECURITY_PROVIDER *p = f->p;
    DRT_DATA cpa, secured;
    pack(f, &cpa, &secured);
    BYTE other[16];
    memcpy(other, f->nonce, 16);
    other[15] ^= 1;
    DRT_DATA other_d = {16, other}, short_d = {15, f->nonce};
    struct unpacked u;
    assert_int_equal(unpack(p, &cpa, &other_d, &secured, &u), DRT_E_INVALID_MESSAGE);
    assert_unpacked_empty(&u);
    assert_int_equal(unpack(p, &cpa, &short_d, &secured, &u), DRT_E_INVALID_MESSAGE);
    assert_unpacked_empty(&u);
    p->FreeData(p->pvContext, cpa.pb);
    p->FreeData(p->pvContext, secured.pb);
}

static void test_truncated_long_or_non_null_cpa_is_an_invalid_message(void **state)
{
    struct fixture *f = *state;
    DRT_SECURITY_PROVIDER *p = f->p;
    DRT_DATA cpa, secured;
    pack(f, &cpa, &secured);
    BYTE buf[50];
    memcpy(buf, cpa.pb, 49);
    buf[49] = 0;
    struct unpacked u;

    DRT_DATA truncated = {48, buf};
    assert_int_equal(unpack(p, &truncated, &f->nonce_d, &secured, &u), DRT_E_INVALID_MESSAGE);
    assert_unpacked_empty(&u);
    DRT_DATA longer = {50, buf};
    assert_int_equal(unpack(p, &longer, &f->nonce_d, &secured, &u), DRT_E_INVALID_MESSAGE);
    DRT_DATA empty = {0, NULL}, no_bytes = {49, NULL};
    assert_int_equal(unpack(p, &empty, &f->nonce_d, &secured, &u), DRT_E_INVALID_MESSAGE);
    assert_int_equal(unpack(p, &no_bytes, &f->nonce_d, &secured, &u), DRT_E_INVALID_MESSAGE);
    buf[0] = 1;
    DRT_DATA tagged = {49, buf};
    assert_int_equal(unpack(p, &tagged, &f->nonce_d, &secured, &u), DRT_E_INVALID_MESSAGE);
    assert_unpacked_empty(&u);
    buf[0] = 0;
    DRT_DATA bad_payload = {3, NULL};
    assert_int_equal(unpack(p, &tagged, &f->nonce_d, &bad_payload, &u), DRT_E_INVALID_MESSAGE);
    assert_unpacked_empty(&u);
    assert_int_equal(unpack(p, NULL, &f->nonce_d, &secured, &u), E_INVALIDARG);
    p->FreeData(p->pvContext, cpa.pb);
    p->FreeData(p->pvContext, secured.pb);
}

static void test_encrypt_copies_and_decrypt_leaves_the_buffers(void **state)
{
    struct fixture *f = *state;
    DRT_SECURITY_PROVIDER *p = f->p;
    DRT_DATA in[3] = {f->key_d, {0, NULL}, f->payload_d}, out[3], token = {9, (BYTE *)"x"};
    assert_int_equal(p->EncryptData(p->pvContext, NULL, 3, in, out, &token), S_OK);
    assert_int_equal(token.cb, 0);
    assert_null(token.pb);
    assert_int_equal(out[0].cb, 32);
    assert_ptr_not_equal(out[0].pb, f->key);
    assert_memory_equal(out[0].pb, f->key, 32);
    assert_int_equal(out[1].cb, 0);
    assert_null(out[1].pb);
    assert_memory_equal(out[2].pb, f->payload, 40);
    assert_int_equal(p->DecryptData(p->pvContext, &token, NULL, 3, out), S_OK);
    assert_memory_equal(out[2].pb, f->payload, 40);
    for (int i = 0; i < 3; i++)
        p->FreeData(p->pvContext, out[i].pb);
    assert_int_equal(p->EncryptData(p->pvContext, NULL, 0, NULL, NULL, &token), S_OK);
    assert_int_equal(p->EncryptData(p->pvContext, NULL, 1, in, out, NULL), E_INVALIDARG);
    assert_int_equal(p->EncryptData(p->pvContext, NULL, 1, NULL, out, &token), E_INVALIDARG);
}

static void test_credential_and_signature_are_empty(void **state)
{
    DRT_SECURITY_PROVIDER *p = ((struct fixture *)*state)->p;
    DRT_DATA cred = {3, (BYTE *)"x"}, keyid = {3, (BYTE *)"x"}, sig = {3, (BYTE *)"x"};
    assert_int_equal(p->GetSerializedCredential(p->pvContext, &cred), S_OK);
    assert_int_equal(cred.cb, 0);
    assert_null(cred.pb);
    assert_int_equal(p->GetSerializedCredential(p->pvContext, NULL), E_INVALIDARG);
    assert_int_equal(p->ValidateRemoteCredential(p->pvContext, &cred), S_OK);
    BYTE msg[4] = {1, 2, 3, 4};
    DRT_DATA bufs[1] = {{4, msg}};
    assert_int_equal(p->SignData(p->pvContext, 1, bufs, &keyid, &sig), S_OK);
    assert_int_equal(keyid.cb, 0);
    assert_null(keyid.pb);
    assert_int_equal(sig.cb, 0);
    assert_null(sig.pb);
    assert_int_equal(p->SignData(p->pvContext, 1, bufs, &keyid, NULL), E_INVALIDARG);
}

static void test_verify_accepts_only_an_empty_signature(void **state)
{
    DRT_SECURITY_PROVIDER *p = ((struct fixture *)*state)->p;
    BYTE msg[4] = {1, 2, 3, 4};
    DRT_DATA bufs[1] = {{4, msg}}, cred = {0, NULL}, keyid = {0, NULL};
    DRT_DATA empty = {0, NULL}, some = {4, msg};
    assert_int_equal(p->VerifyData(p->pvContext, 1, bufs, &cred, &keyid, &empty), S_OK);
    assert_int_equal(p->VerifyData(p->pvContext, 1, bufs, &cred, &keyid, NULL), S_OK);
    assert_int_equal(p->VerifyData(p->pvContext, 1, bufs, &cred, &keyid, &some),
                     DRT_E_INVALID_MESSAGE);
}

static void test_create_and_delete(void **state)
{
    DRT_SECURITY_PROVIDER *a = NULL, *b = NULL;
    assert_int_equal(DrtCreateNullSecurityProvider(&a), S_OK);
    assert_int_equal(DrtCreateNullSecurityProvider(&b), S_OK);
    assert_ptr_not_equal(a, b);
    /* two providers: each may be attached once */
    assert_int_equal(a->Attach(a->pvContext), S_OK);
    assert_int_equal(b->Attach(b->pvContext), S_OK);
    DrtDeleteNullSecurityProvider(a);
    DrtDeleteNullSecurityProvider(b);
    DrtDeleteNullSecurityProvider(NULL);
    assert_int_equal(DrtCreateNullSecurityProvider(NULL), E_INVALIDARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_member_is_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_attach_is_in_use_until_detached, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_any_key_can_be_registered_and_unregistered, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pack_produces_the_null_cpa_and_copies_the_payload,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_pack_rejects_bad_key_or_nonce, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_with_the_right_nonce, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revocation_without_nonce_round_trips_with_zero_nonce,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_nonce_is_an_invalid_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_long_or_non_null_cpa_is_an_invalid_message,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_encrypt_copies_and_decrypt_leaves_the_buffers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_credential_and_signature_are_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_accepts_only_an_empty_signature, setup,
                                        teardown),
        cmocka_unit_test(test_create_and_delete),
    };
    return cmocka_run_group_tests_name("null_security", tests, NULL, NULL);
}
