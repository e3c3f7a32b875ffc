/*
 * test_security_revoke.c - signed revocations with the derived-key
 * provider, on two real nodes on ::1 (docs/SECURITY.md, "Revocations"):
 * the owner's unregistration removes its key from the other node, and
 * nothing else does. Revocations forged with another certificate, in the
 * null scheme's form, made from an ordinary answer of the owner's, or
 * replayed after the owner registered the key again, are sent from a
 * plain UDP socket to the node's port: the key stays found, and the
 * node's counters show each drop.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <drt.h>

#include "api/api_internal.h"
#include "api/handle_table.h"
#include "core/wire.h"
#include "sec/cert_fixture.h"
#include "secure_node.h"
#include "sec/sec_record.h"

/* --- the forger: a UDP socket on ::1 -------------------------------------- */

/* A FLOOD with `cpa` as its Revoke CPA, naming the owner's endpoint as
 * already flooded (as a node passing the owner's revocation on would). */
static void send_revocation(const struct sn_node *to, const struct sn_node *owner, const uint8_t *cpa,
                            size_t cpa_len)
{
    struct wire_msg m;
    memset(&m, 0, sizeof(m));
    m.hdr.version_major = 6;
    m.hdr.version_minor = 0x65;
    m.hdr.type = WIRE_FLOOD;
    m.hdr.message_id = 0x0badf00d;
    m.u.flood.flags = WIRE_FLOOD_D;
    m.u.flood.revoke_cpa = (struct wire_blob){cpa, cpa_len};
    m.u.flood.flooded.count = 1;
    m.u.flood.flooded.e[0].port = owner->node.port;
    m.u.flood.flooded.e[0].addr[15] = 1; /* ::1 */
    static uint8_t buf[8192];
    size_t len = 0;
    assert_int_equal(wire_encode(&m, buf, sizeof(buf), &len), S_OK);
    close(sn_send(to, buf, len));
}

/* A record of `owner`'s key made by its own provider: what its engine
 * sends as a revocation (flags REVOKED, nonce zero, no payload), or an
 * ordinary answer (flags 0). */
static DRT_DATA owner_record(struct sn_node *owner, DWORD flags)
{
    DRT_SECURITY_PROVIDER *sp = owner->node.security;
    static const BYTE zero[16];
    DRT_DATA key = {32, owner->key}, nonce = {16, (BYTE *)zero};
    struct sockaddr_in6 self;
    memset(&self, 0, sizeof(self));
    self.sin6_family = AF_INET6;
    self.sin6_port = htons(owner->node.port);
    self.sin6_addr = in6addr_loopback;
    SOCKET_ADDRESS_LIST addrs = {1, {{(LPSOCKADDR)&self, sizeof(self)}}};
    DRT_DATA rec = {0, NULL}, classifier = {0, NULL}, secured = {0, NULL}, chain = {0, NULL};
    assert_int_equal(sp->SecureAndPackPayload(sp->pvContext, (PVOID)&owner->cert.ctx, 6, 0x65,
                                              flags, &key, NULL, &addrs, &nonce, &rec,
                                              &classifier, &secured, &chain),
                     S_OK);
    sp->FreeData(sp->pvContext, chain.pb);
    sp->FreeData(sp->pvContext, secured.pb);
    return rec;
}

/* --- the cloud ------------------------------------------------------------ */

struct cloud {
    struct sn_node a, b; /* a owns the key under attack; b caches it */
};

static void cloud_open_with(struct cloud *c, bool null)
{
    setenv("DRT_ADVERTISE_ADDRESS", "::1", 1);
    struct sn_opts o = {.null = null};
    sn_open(&c->a, NULL, FX_ED25519, "from-a", &o);
    sn_open(&c->b, &c->a, FX_EC_P256, "from-b", &o);
    sn_wait_status(&c->b, DRT_ACTIVE, 10000);
    assert_int_equal(c->b.node.status, DRT_ACTIVE);
    c->b.watch = c->a.key;
    assert_int_equal(sn_find(&c->b, c->a.key, "from-a"), 1);
}

static void cloud_open(struct cloud *c)
{
    cloud_open_with(c, false);
}

static void cloud_close(struct cloud *c)
{
    sn_close(&c->b);
    sn_close(&c->a);
    unsetenv("DRT_ADVERTISE_ADDRESS");
}

/* --- tests ---------------------------------------------------------------- */

/* The first node of a cloud goes ACTIVE when the second one's key is
 * verified: the second answers the first's INQUIRE for its new key with a
 * record signed with that key's certificate. That answer may go out before
 * DrtRegisterKey returns (the publication is sent from the loop thread);
 * the registration must already know its certificate then, or the answer
 * is "not here" and the first node stays ALONE. A race, so a few rounds. */
static void test_the_first_node_becomes_active_when_a_second_joins(void **state)
{
    for (int round = 0; round < 5; round++) {
        struct cloud c;
        cloud_open(&c);
        sn_wait_status(&c.a, DRT_ACTIVE, 5000);
        assert_int_equal(c.a.node.status, DRT_ACTIVE);
        assert_int_equal(sn_find(&c.a, c.b.key, "from-b"), 1);
        cloud_close(&c);
    }
}

static void test_the_owners_unregistration_removes_its_key_elsewhere(void **state)
{
    struct cloud c;
    cloud_open(&c);
    DrtUnregisterKey(c.a.reg);
    c.a.reg = NULL;
    bool gone = false;
    for (unsigned i = 0; i < 100 && !gone; i++) {
        sn_settle(&c.b, 50, NULL);
        gone = c.b.watch_deleted > 0;
    }
    assert_true(gone);
    struct drt_engine_stats st = sn_stats(&c.b);
    assert_int_equal(st.revocations_accepted, 1);
    assert_int_equal(st.revocations_rejected, 0);
    assert_int_equal(sn_find(&c.b, c.a.key, "from-a"), 0);
    cloud_close(&c);
}

/* DrtClose revokes every key still registered, signed like an
 * unregistration: the certificate is still known when the engine asks. */
static void test_closing_the_owner_revokes_its_key(void **state)
{
    struct cloud c;
    cloud_open(&c);
    c.a.reg = NULL; /* left registered: DrtClose unregisters it */
    sn_close(&c.a);
    for (unsigned i = 0; i < 100 && c.b.watch_deleted == 0; i++)
        sn_settle(&c.b, 50, NULL);
    assert_int_equal(c.b.watch_deleted, 1);
    struct drt_engine_stats st = sn_stats(&c.b);
    assert_int_equal(st.revocations_accepted, 1); /* confirmed by silence */
    assert_int_equal(st.revocations_rejected, 0);
    sn_close(&c.b);
    unsetenv("DRT_ADVERTISE_ADDRESS");
}

/* The null provider through the API: its revocation is the null CPA with
 * a zero nonce, still acted on (after the same confirmation). */
static void test_unregistration_with_the_null_provider_still_revokes(void **state)
{
    struct cloud c;
    cloud_open_with(&c, true);
    DrtUnregisterKey(c.a.reg);
    c.a.reg = NULL;
    for (unsigned i = 0; i < 100 && c.b.watch_deleted == 0; i++)
        sn_settle(&c.b, 50, NULL);
    assert_int_equal(c.b.watch_deleted, 1);
    assert_int_equal(sn_stats(&c.b).revocations_accepted, 1);
    assert_int_equal(sn_stats(&c.b).revocations_rejected, 0);
    cloud_close(&c);
}

static void test_forged_revocations_leave_the_key_in_place(void **state)
{
    struct cloud c;
    cloud_open(&c);
    const struct fx_pki *pki = fx_pki();

    /* 1. Signed with another certificate of the same root, claiming A's
     * key: the key is not that certificate's. */
    struct fx_node mallory;
    fx_node_init(&mallory, FX_EC_P256, pki->root, pki->root_key, NULL, -1, 30);
    struct sec_record rec;
    memset(&rec, 0, sizeof(rec));
    rec.protocol_major = 6;
    rec.protocol_minor = 0x65;
    rec.flags = DRT_PAYLOAD_REVOKED;
    memcpy(rec.key, c.a.key, 32);
    assert_int_equal(sec_payload_hash(NULL, 0, rec.payload_hash), S_OK);
    uint8_t *forged = NULL;
    size_t forged_len = 0;
    assert_int_equal(sec_record_sign(&rec, mallory.cert, NULL, pki->root, mallory.key, &forged,
                                     &forged_len),
                     S_OK);
    send_revocation(&c.b, &c.a, forged, forged_len);
    free(forged);
    fx_node_free(&mallory);

    /* 2. The null scheme's form: 00 | key | zero nonce. */
    uint8_t null_cpa[49] = {0};
    memcpy(null_cpa + 1, c.a.key, 32);
    send_revocation(&c.b, &c.a, null_cpa, sizeof(null_cpa));

    /* 3. A's own signature, but on an ordinary record (no REVOKED flag). */
    DRT_DATA answer = owner_record(&c.a, 0);
    send_revocation(&c.b, &c.a, answer.pb, answer.cb);
    c.a.node.security->FreeData(c.a.node.security->pvContext, answer.pb);

    bool three = false;
    for (unsigned i = 0; i < 100 && !three; i++) {
        sn_settle(&c.b, 20, NULL);
        three = sn_stats(&c.b).revocations_rejected >= 3;
    }
    struct drt_engine_stats st = sn_stats(&c.b);
    assert_int_equal(st.revocations_rejected, 3);
    assert_int_equal(st.revocations_accepted, 0);
    assert_int_equal(c.b.watch_deleted, 0);
    assert_int_equal(sn_find(&c.b, c.a.key, "from-a"), 1);
    cloud_close(&c);
}

static void test_a_replayed_revocation_leaves_a_new_registration_in_place(void **state)
{
    struct cloud c;
    cloud_open(&c);
    /* A genuine revocation of A's key, as A's engine makes it (and as an
     * eavesdropper records it when A unregisters). */
    DRT_DATA old = owner_record(&c.a, DRT_PAYLOAD_REVOKED);
    DrtUnregisterKey(c.a.reg);
    c.a.reg = NULL;
    for (unsigned i = 0; i < 100 && c.b.watch_deleted == 0; i++)
        sn_settle(&c.b, 50, NULL);
    assert_int_equal(c.b.watch_deleted, 1);
    /* A registers the key again; B learns it again. */
    sn_register(&c.a);
    unsigned found = 0;
    for (unsigned i = 0; i < 20 && !found; i++) {
        sn_settle(&c.b, 200, NULL);
        found = sn_find(&c.b, c.a.key, "from-a");
    }
    assert_int_equal(found, 1);
    /* The old revocation, replayed: B asks A, which proves the key. */
    send_revocation(&c.b, &c.a, old.pb, old.cb);
    c.a.node.security->FreeData(c.a.node.security->pvContext, old.pb);
    for (unsigned i = 0; i < 100 && sn_stats(&c.b).revocations_stale == 0; i++)
        sn_settle(&c.b, 20, NULL);
    struct drt_engine_stats st = sn_stats(&c.b);
    assert_int_equal(st.revocations_stale, 1);
    assert_int_equal(st.revocations_accepted, 1); /* the genuine one */
    assert_int_equal(c.b.watch_deleted, 1);
    assert_int_equal(sn_find(&c.b, c.a.key, "from-a"), 1);
    cloud_close(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_owners_unregistration_removes_its_key_elsewhere),
        cmocka_unit_test(test_closing_the_owner_revokes_its_key),
        cmocka_unit_test(test_unregistration_with_the_null_provider_still_revokes),
        cmocka_unit_test(test_forged_revocations_leave_the_key_in_place),
        cmocka_unit_test(test_a_replayed_revocation_leaves_a_new_registration_in_place),
        cmocka_unit_test(test_the_first_node_becomes_active_when_a_second_joins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
