/*
 * test_security_adapter.c - the engine's security hook over a real
 * provider (src/api/security_adapter.c, docs/SECURITY.md "Revocations"):
 * a record made as a revocation validates only where a revocation is
 * expected, an ordinary answer only where an answer is, and the key a
 * revocation names is handed back. Both the derived-key provider and the
 * null provider.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <drt.h>

#include "api/api_internal.h"
#include "sec/cert_fixture.h"

struct rig {
    struct drt_instance inst;
    struct drt_registration reg;
    struct drt_registration *regs[1];
    struct fx_node cert;
    uint8_t key[32];
};

/* Just what the adapter reads of an instance: the provider, the protocol
 * version, the node's address, and one registration (reg_id 1) whose key
 * context is the certificate. */
static void rig_open(struct rig *r, bool null)
{
    memset(r, 0, sizeof(*r));
    fx_node_init(&r->cert, FX_ED25519, fx_pki()->root, fx_pki()->root_key, NULL, -1, 30);
    DRT_DATA k = {32, r->key};
    assert_int_equal(DrtCreateDerivedKey(&r->cert.ctx, &k), S_OK);
    if (null)
        assert_int_equal(DrtCreateNullSecurityProvider(&r->inst.security), S_OK);
    else
        assert_int_equal(DrtCreateDerivedKeySecurityProvider(&fx_pki()->root_ctx, &r->cert.ctx,
                                                             &r->inst.security),
                         S_OK);
    pthread_mutex_init(&r->inst.lock, NULL);
    r->inst.protocol_major = 6;
    r->inst.protocol_minor = 0x65;
    struct sockaddr_in6 *self = (struct sockaddr_in6 *)&r->inst.self;
    self->sin6_family = AF_INET6;
    self->sin6_port = htons(3540);
    self->sin6_addr = in6addr_loopback;
    r->reg.reg_id = 1;
    memcpy(r->reg.key, r->key, 32);
    r->reg.key_context = (PVOID)&r->cert.ctx;
    r->regs[0] = &r->reg;
    r->inst.regs = r->regs;
    r->inst.nregs = 1;
    security_adapter_init(&r->inst);
}

static void rig_close(struct rig *r, bool null)
{
    assert_int_equal(r->inst.nfree, 0); /* everything handed back */
    if (null)
        DrtDeleteNullSecurityProvider(r->inst.security);
    else
        DrtDeleteDerivedKeySecurityProvider(r->inst.security);
    pthread_mutex_destroy(&r->inst.lock);
    fx_node_free(&r->cert);
}

/* Packs with flags for nonce, then validates that record expecting
 * want_flags (and the key, unless any_key); returns the result. */
static HRESULT round_trip(struct rig *r, uint32_t flags, const uint8_t nonce[16],
                          uint32_t want_flags, bool any_key, uint8_t proven[32])
{
    const struct drt_engine_security *h = &r->inst.sec_ops;
    struct drt_engine_proof proof;
    static const uint8_t data[] = "payload";
    bool revoke = flags & DRT_PAYLOAD_REVOKED;
    assert_int_equal(h->pack(h->ctx, 1, r->key, nonce, flags, revoke ? NULL : data,
                             revoke ? 0 : sizeof(data), &proof),
                     S_OK);
    struct drt_engine_blob payload;
    memset(proven, 0, 32);
    HRESULT hr = h->validate(h->ctx, any_key ? NULL : r->key, nonce, want_flags, &proof, proven,
                             &payload);
    h->done(h->ctx);
    return hr;
}

static void each_provider(bool null)
{
    struct rig r;
    rig_open(&r, null);
    uint8_t nonce[16], zero[16] = {0}, proven[32];
    for (int i = 0; i < 16; i++)
        nonce[i] = (uint8_t)(0xa0 + i);
    /* An answer validates as an answer, not as a revocation. */
    assert_int_equal(round_trip(&r, 0, nonce, 0, false, proven), S_OK);
    assert_memory_equal(proven, r.key, 32);
    assert_int_not_equal(round_trip(&r, 0, nonce, DRT_PAYLOAD_REVOKED, true, proven), S_OK);
    /* A revocation validates as a revocation, naming its key... */
    assert_int_equal(round_trip(&r, DRT_PAYLOAD_REVOKED, zero, DRT_PAYLOAD_REVOKED, true, proven),
                     S_OK);
    assert_memory_equal(proven, r.key, 32);
    /* ... and never as an answer. */
    assert_int_not_equal(round_trip(&r, DRT_PAYLOAD_REVOKED, zero, 0, false, proven), S_OK);
    rig_close(&r, null);
}

static void test_derived_provider_revocations_only_where_expected(void **state)
{
    each_provider(false);
}

static void test_null_provider_revocations_only_where_expected(void **state)
{
    each_provider(true);
}

static void test_revocation_for_another_key_is_refused(void **state)
{
    struct rig r;
    rig_open(&r, false);
    const struct drt_engine_security *h = &r.inst.sec_ops;
    uint8_t zero[16] = {0}, proven[32], other[32];
    memcpy(other, r.key, 32);
    other[0] ^= 1;
    struct drt_engine_proof proof;
    assert_int_equal(h->pack(h->ctx, 1, r.key, zero, DRT_PAYLOAD_REVOKED, NULL, 0, &proof), S_OK);
    struct drt_engine_blob payload;
    assert_int_not_equal(
        h->validate(h->ctx, other, zero, DRT_PAYLOAD_REVOKED, &proof, proven, &payload), S_OK);
    h->done(h->ctx);
    /* No certificate for this registration: nothing is signed. */
    r.reg.key_context = NULL;
    assert_int_not_equal(
        h->pack(h->ctx, 1, r.key, zero, DRT_PAYLOAD_REVOKED, NULL, 0, &proof), S_OK);
    h->done(h->ctx);
    rig_close(&r, false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_derived_provider_revocations_only_where_expected),
        cmocka_unit_test(test_null_provider_revocations_only_where_expected),
        cmocka_unit_test(test_revocation_for_another_key_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
