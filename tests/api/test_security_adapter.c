/*
 * test_security_adapter.c - the engine's security hook over a real
 * provider (src/api/security_adapter.c, docs/SECURITY.md "Revocations"):
 * a record made as a revocation validates only where a revocation is
 * expected, an ordinary answer only where an answer is, and the key a
 * revocation names is handed back. Both the derived-key provider and the
 * null provider. And the membership hooks: a request the engine signs
 * through them is docs/PROTOCOL.md's `inquire_membership` vector, passes
 * a membership engine's check, and fails it with any signed byte changed,
 * in another mode, or with another key identifier.
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
#include "core/engine_internal.h"
#include "sec/cert_fixture.h"
#include "sec/doc_vector.h"

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

/* --- membership: the request signature ------------------------------------ */

static uint64_t counter_random(void *ctx)
{
    static uint64_t n = 0x5a5a5a5a5a5a5a5aull;
    return ++n;
}

/* An instance in `mode` over the vector PKI's node, and an engine on it. */
struct signer {
    struct fx_vector_pki v;
    CERT_CONTEXT root, local;
    struct drt_instance inst;
    struct drt_engine *e;
};

static void signer_open_at(struct signer *s, DRT_SECURITY_MODE mode, uint16_t port)
{
    memset(s, 0, sizeof(*s));
    fx_vector_pki_init(&s->v);
    s->root = (CERT_CONTEXT){s->v.root, NULL, NULL};
    s->local = (CERT_CONTEXT){s->v.node, s->v.node_key, NULL};
    assert_int_equal(DrtCreateDerivedKeySecurityProvider(&s->root, &s->local, &s->inst.security),
                     S_OK);
    pthread_mutex_init(&s->inst.lock, NULL);
    s->inst.security_mode = mode;
    assert_int_equal(security_adapter_init(&s->inst), S_OK);
    struct drt_engine_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.version_major = 1;
    cfg.self.addr[15] = 1;
    cfg.self.port = port;
    cfg.random = counter_random;
    cfg.security = &s->inst.sec_ops;
    cfg.mode = mode;
    s->e = drt_engine_create(&cfg, 0);
    assert_non_null(s->e);
}

static void signer_open(struct signer *s, DRT_SECURITY_MODE mode)
{
    signer_open_at(s, mode, 3540);
}

static void signer_close(struct signer *s)
{
    drt_engine_destroy(s->e);
    security_adapter_release(&s->inst);
    DrtDeleteDerivedKeySecurityProvider(s->inst.security);
    pthread_mutex_destroy(&s->inst.lock);
    fx_vector_pki_free(&s->v);
}

/* The vector's INQUIRE: K1 = 00..1f, MessageID 0a0b0c0d, A, nonce e0..ef. */
static size_t signed_inquire(struct signer *s, uint8_t *buf, size_t cap)
{
    struct wire_msg m;
    engine_header(s->e, &m, WIRE_INQUIRE, 0x0a0b0c0d);
    m.u.inquire.flags = WIRE_INQUIRE_A;
    for (int i = 0; i < 32; i++)
        m.u.inquire.validate_key[i] = (uint8_t)i;
    m.u.inquire.has_nonce = true;
    for (int i = 0; i < 16; i++)
        m.u.inquire.nonce[i] = (uint8_t)(0xe0 + i);
    assert_true(engine_auth_sign(s->e, &m));
    size_t len = 0;
    assert_int_equal(wire_encode(&m, buf, cap, &len), S_OK);
    return len;
}

static bool admitted(struct signer *s, const uint8_t *buf, size_t len)
{
    struct wire_msg m;
    return SUCCEEDED(wire_decode(buf, len, &m)) && engine_auth_admit(s->e, buf, len, &m);
}

static void test_membership_signature_vector_and_checks(void **state)
{
    struct signer s;
    signer_open(&s, DRT_SECURE_MEMBERSHIP);
    uint8_t buf[2048];
    size_t len = signed_inquire(&s, buf, sizeof(buf));
    doc_vector_check(DRT_SOURCE_DIR "/docs/PROTOCOL.md", "inquire_membership", buf, len);

    assert_true(admitted(&s, buf, len));
    /* The same check in a confidential mesh: the signed mode byte differs
     * (an Ed25519 node cannot open in that mode, so only the byte moves). */
    s.e->cfg.mode = DRT_SECURE_CONFIDENTIALPAYLOAD;
    assert_false(admitted(&s, buf, len));
    s.e->cfg.mode = DRT_SECURE_RESOLVE; /* and resolve refuses the fields */
    assert_false(admitted(&s, buf, len));
    s.e->cfg.mode = DRT_SECURE_MEMBERSHIP;
    /* Every byte the signature covers, and the signature itself: from the
     * header to the end of the SIGNATURE field (KEY_IDENTIFIER follows). */
    struct wire_msg m;
    assert_int_equal(wire_decode(buf, len, &m), S_OK);
    size_t covered = (size_t)(m.u.inquire.auth.signature.p + m.u.inquire.auth.signature.len - buf);
    for (size_t i = 0; i < covered; i++) {
        buf[i] ^= 0x04;
        assert_false(admitted(&s, buf, len));
        buf[i] ^= 0x04;
    }
    /* The key identifier must name the credential's leaf. */
    uint8_t *id = (uint8_t *)m.u.inquire.auth.key_identifier.p;
    id[0] ^= 0x01;
    assert_false(admitted(&s, buf, len));
    id[0] ^= 0x01;
    assert_true(admitted(&s, buf, len));
    signer_close(&s);
}

/* Hands every datagram `from` queued to `to`; returns how many. */
static size_t deliver(struct signer *from, struct signer *to, uint64_t now, int flip_at)
{
    const struct drt_endpoint *self = drt_engine_self(from->e);
    struct drt_endpoint dst;
    const uint8_t *buf;
    size_t len, n = 0;
    uint8_t copy[2048];
    while (drt_engine_next_datagram(from->e, &dst, &buf, &len)) {
        assert_true(len <= sizeof(copy));
        memcpy(copy, buf, len);
        if ((int)n == 0 && flip_at >= 0)
            copy[flip_at] ^= 0x01;
        drt_engine_receive(to->e, self, copy, len, now);
        n++;
    }
    return n;
}

/* The ACKs to `id` among `from`'s queued datagrams. */
static unsigned acks_for(struct signer *from, uint32_t id)
{
    struct drt_endpoint dst;
    const uint8_t *buf;
    size_t len;
    unsigned acks = 0;
    while (drt_engine_next_datagram(from->e, &dst, &buf, &len)) {
        struct wire_msg m;
        if (SUCCEEDED(wire_decode(buf, len, &m)) && m.hdr.type == WIRE_ACK &&
            m.u.ack.acked_id == id)
            acks++;
    }
    return acks;
}

static uint32_t send_request(struct signer *from, struct signer *to, uint8_t keys[32 * 32])
{
    struct wire_msg q;
    engine_header(from->e, &q, WIRE_REQUEST, 0);
    memset(q.u.request.nonce, 0x77, 16);
    q.u.request.keys = (struct wire_keys){keys, 32};
    return engine_request(from->e, &q, drt_engine_self(to->e), PENDING_REQUEST, NULL, 0,
                          q.u.request.nonce);
}

/* A REQUEST asking for 32 keys does not fit a datagram with the chain and
 * the signature: it goes out in SPLIT_CONTROLS fragments, is reassembled,
 * checked and answered; retransmitted, all its fragments go again; with a
 * byte of its body changed it is dropped and counted. */
static void test_a_signed_request_in_fragments(void **state)
{
    struct signer a, b;
    signer_open_at(&a, DRT_SECURE_MEMBERSHIP, 3540);
    signer_open_at(&b, DRT_SECURE_MEMBERSHIP, 3541);
    uint8_t keys[32 * 32];
    for (size_t i = 0; i < sizeof(keys); i++)
        keys[i] = (uint8_t)(i * 7);
    uint32_t id = send_request(&a, &b, keys);
    assert_int_not_equal(id, 0);
    assert_int_equal(deliver(&a, &b, 10, -1), 2);
    assert_int_equal(acks_for(&b, id), 1);
    struct drt_engine_stats st;
    drt_engine_get_stats(b.e, &st);
    assert_int_equal(st.dropped_unauthenticated, 0);

    drt_engine_timer(a.e, 5000); /* no answer yet: every fragment again */
    assert_int_equal(deliver(&a, &b, 5000, -1), 2);
    assert_int_equal(acks_for(&b, id), 1);

    uint32_t id2 = send_request(&a, &b, keys);
    assert_int_equal(deliver(&a, &b, 5010, 100), 2); /* a key in fragment 0 */
    assert_int_equal(acks_for(&b, id2), 0);
    drt_engine_get_stats(b.e, &st);
    assert_int_equal(st.dropped_unauthenticated, 1);
    signer_close(&b);
    signer_close(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_derived_provider_revocations_only_where_expected),
        cmocka_unit_test(test_null_provider_revocations_only_where_expected),
        cmocka_unit_test(test_revocation_for_another_key_is_refused),
        cmocka_unit_test(test_membership_signature_vector_and_checks),
        cmocka_unit_test(test_a_signed_request_in_fragments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
