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
#include "sec/sec_record.h"

struct node {
    struct fx_node cert;
    BYTE key[32];
    HDRT_TRANSPORT transport;
    USHORT port;
    DRT_SECURITY_PROVIDER *security;
    DRT_BOOTSTRAP_PROVIDER *bootstrap;
    HANDLE event;
    HDRT drt;
    HDRT_REGISTRATION_CONTEXT reg;
    const char *data;
    bool null_provider;
    DRT_STATUS status;
    const BYTE *watch;     /* a key whose leaf-set deletions are counted */
    unsigned watch_deleted, watch_added;
};

static void drain(struct node *n)
{
    for (unsigned i = 0; i < 10000; i++) {
        ULONG len = 0;
        if (DrtGetEventDataSize(n->drt, &len) != S_OK)
            return;
        DRT_EVENT_DATA *ev = malloc(len);
        assert_non_null(ev);
        assert_int_equal(DrtGetEventData(n->drt, len, ev), S_OK);
        if (ev->type == DRT_EVENT_STATUS_CHANGED)
            n->status = ev->statusChange.status;
        if (ev->type == DRT_EVENT_LEAFSET_KEY_CHANGED && n->watch &&
            ev->leafsetKeyChange.remoteKey.cb == 32 &&
            memcmp(ev->leafsetKeyChange.remoteKey.pb, n->watch, 32) == 0) {
            if (ev->leafsetKeyChange.change == DRT_LEAFSET_KEY_DELETED)
                n->watch_deleted++;
            else if (ev->leafsetKeyChange.change == DRT_LEAFSET_KEY_ADDED)
                n->watch_added++;
        }
        free(ev);
    }
}

/* Drains n's events for up to ms, until *until is true (when given). */
static void settle(struct node *n, unsigned ms, const bool *until)
{
    for (unsigned waited = 0; waited < ms && !(until && *until); waited += 20) {
        DrtEventWait(n->event, 20);
        drain(n);
    }
    drain(n);
}

static void wait_status(struct node *n, DRT_STATUS want, unsigned ms)
{
    for (unsigned waited = 0; waited < ms && n->status != want; waited += 20) {
        DrtEventWait(n->event, 20);
        drain(n);
    }
}

static void register_own_key(struct node *n)
{
    DRT_REGISTRATION reg = {{32, n->key}, {(ULONG)strlen(n->data) + 1, (BYTE *)n->data}};
    assert_int_equal(DrtRegisterKey(n->drt, &reg, (PVOID)&n->cert.ctx, &n->reg), S_OK);
}

/* With null set, the node uses the null security provider (its key is
 * still the certificate's, only nothing is signed). */
static void open_node(struct node *n, const struct node *seed, enum fx_keytype type,
                           const char *data, bool null)
{
    const struct fx_pki *pki = fx_pki();
    memset(n, 0, sizeof(*n));
    n->status = (DRT_STATUS)-1;
    n->data = data;
    n->null_provider = null;
    fx_node_init(&n->cert, type, pki->root, pki->root_key, NULL, -1, 30);
    DRT_DATA k = {32, n->key};
    assert_int_equal(DrtCreateDerivedKey(&n->cert.ctx, &k), S_OK);
    assert_int_equal(DrtCreateIpv6UdpTransport(DRT_GLOBAL_SCOPE, 0, 300, &n->port, &n->transport),
                     S_OK);
    if (null)
        assert_int_equal(DrtCreateNullSecurityProvider(&n->security), S_OK);
    else
        assert_int_equal(
            DrtCreateDerivedKeySecurityProvider(&pki->root_ctx, &n->cert.ctx, &n->security),
            S_OK);
    SOCKADDR_STORAGE addr;
    memset(&addr, 0, sizeof(addr));
    if (seed) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&addr;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(seed->port);
        s6->sin6_addr = in6addr_loopback;
    }
    assert_int_equal(DrtCreateStaticBootstrapResolver(&addr, seed ? 1 : 0, &n->bootstrap), S_OK);
    n->event = DrtEventCreate(FALSE, FALSE);
    DRT_SETTINGS s = {
        .dwSize = sizeof(DRT_SETTINGS),
        .cbKey = 32,
        .bProtocolMajorVersion = 6,
        .bProtocolMinorVersion = 0x65,
        .ulMaxRoutingAddresses = 4,
        .pwzDrtInstancePrefix = L"Revoke_DRT",
        .hTransport = n->transport,
        .pSecurityProvider = n->security,
        .pBootstrapProvider = n->bootstrap,
        .eSecurityMode = DRT_SECURE_RESOLVE,
    };
    assert_true(SUCCEEDED(DrtOpen(&s, n->event, NULL, &n->drt)));
    register_own_key(n);
}

static void close_node(struct node *n)
{
    if (n->reg)
        DrtUnregisterKey(n->reg);
    DrtClose(n->drt);
    DrtDeleteStaticBootstrapResolver(n->bootstrap);
    if (n->null_provider)
        DrtDeleteNullSecurityProvider(n->security);
    else
        DrtDeleteDerivedKeySecurityProvider(n->security);
    assert_int_equal(DrtDeleteIpv6UdpTransport(n->transport), S_OK);
    DrtEventClose(n->event);
    fx_node_free(&n->cert);
}

static struct drt_engine_stats stats(const struct node *n)
{
    struct instance_stats st;
    instance_get_stats(handle_table_get(n->drt, HANDLE_TYPE_INSTANCE), &st);
    return st.engine;
}

/* Searches from `from` for key: the number of exact results with data. */
static unsigned find(struct node *from, const BYTE key[32], const char *data)
{
    HANDLE sev = DrtEventCreate(TRUE, FALSE);
    DRT_DATA target = {32, (BYTE *)key};
    HDRT_SEARCH_CONTEXT sc;
    assert_int_equal(DrtStartSearch(from->drt, &target, NULL, 5000, sev, NULL, &sc), S_OK);
    unsigned found = 0;
    HRESULT hr = DRT_E_SEARCH_IN_PROGRESS;
    for (unsigned step = 0; step < 200 && hr != DRT_E_NO_MORE; step++) {
        DrtEventWait(sev, 50);
        ULONG size;
        hr = DrtGetSearchResultSize(sc, &size);
        if (hr != S_OK)
            continue;
        DRT_SEARCH_RESULT *res = malloc(size);
        assert_non_null(res);
        assert_int_equal(DrtGetSearchResult(sc, size, res), S_OK);
        if (res->type == DRT_MATCH_EXACT && res->registration.appData.cb == strlen(data) + 1 &&
            memcmp(res->registration.appData.pb, data, strlen(data) + 1) == 0)
            found++;
        free(res);
    }
    assert_int_equal(DrtEndSearch(sc), S_OK);
    DrtEventClose(sev);
    drain(from);
    return found;
}

/* --- the forger: a UDP socket on ::1 -------------------------------------- */

/* A FLOOD with `cpa` as its Revoke CPA, naming the owner's endpoint as
 * already flooded (as a node passing the owner's revocation on would). */
static void send_revocation(const struct node *to, const struct node *owner, const uint8_t *cpa,
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
    m.u.flood.flooded.e[0].port = owner->port;
    m.u.flood.flooded.e[0].addr[15] = 1; /* ::1 */
    static uint8_t buf[8192];
    size_t len = 0;
    assert_int_equal(wire_encode(&m, buf, sizeof(buf), &len), S_OK);
    int fd = socket(AF_INET6, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in6 dst;
    memset(&dst, 0, sizeof(dst));
    dst.sin6_family = AF_INET6;
    dst.sin6_port = htons(to->port);
    dst.sin6_addr = in6addr_loopback;
    assert_int_equal(sendto(fd, buf, len, 0, (struct sockaddr *)&dst, sizeof(dst)), (ssize_t)len);
    close(fd);
}

/* A record of `owner`'s key made by its own provider: what its engine
 * sends as a revocation (flags REVOKED, nonce zero, no payload), or an
 * ordinary answer (flags 0). */
static DRT_DATA owner_record(struct node *owner, DWORD flags)
{
    DRT_SECURITY_PROVIDER *sp = owner->security;
    static const BYTE zero[16];
    DRT_DATA key = {32, owner->key}, nonce = {16, (BYTE *)zero};
    struct sockaddr_in6 self;
    memset(&self, 0, sizeof(self));
    self.sin6_family = AF_INET6;
    self.sin6_port = htons(owner->port);
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
    struct node a, b; /* a owns the key under attack; b caches it */
};

static void cloud_open_with(struct cloud *c, bool null)
{
    setenv("DRT_ADVERTISE_ADDRESS", "::1", 1);
    open_node(&c->a, NULL, FX_ED25519, "from-a", null);
    open_node(&c->b, &c->a, FX_EC_P256, "from-b", null);
    wait_status(&c->b, DRT_ACTIVE, 10000);
    assert_int_equal(c->b.status, DRT_ACTIVE);
    c->b.watch = c->a.key;
    assert_int_equal(find(&c->b, c->a.key, "from-a"), 1);
}

static void cloud_open(struct cloud *c)
{
    cloud_open_with(c, false);
}

static void cloud_close(struct cloud *c)
{
    close_node(&c->b);
    close_node(&c->a);
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
        wait_status(&c.a, DRT_ACTIVE, 5000);
        assert_int_equal(c.a.status, DRT_ACTIVE);
        assert_int_equal(find(&c.a, c.b.key, "from-b"), 1);
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
        settle(&c.b, 50, NULL);
        gone = c.b.watch_deleted > 0;
    }
    assert_true(gone);
    struct drt_engine_stats st = stats(&c.b);
    assert_int_equal(st.revocations_accepted, 1);
    assert_int_equal(st.revocations_rejected, 0);
    assert_int_equal(find(&c.b, c.a.key, "from-a"), 0);
    cloud_close(&c);
}

/* DrtClose revokes every key still registered, signed like an
 * unregistration: the certificate is still known when the engine asks. */
static void test_closing_the_owner_revokes_its_key(void **state)
{
    struct cloud c;
    cloud_open(&c);
    c.a.reg = NULL; /* left registered: DrtClose unregisters it */
    close_node(&c.a);
    for (unsigned i = 0; i < 100 && c.b.watch_deleted == 0; i++)
        settle(&c.b, 50, NULL);
    assert_int_equal(c.b.watch_deleted, 1);
    struct drt_engine_stats st = stats(&c.b);
    assert_int_equal(st.revocations_accepted, 1); /* confirmed by silence */
    assert_int_equal(st.revocations_rejected, 0);
    close_node(&c.b);
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
        settle(&c.b, 50, NULL);
    assert_int_equal(c.b.watch_deleted, 1);
    assert_int_equal(stats(&c.b).revocations_accepted, 1);
    assert_int_equal(stats(&c.b).revocations_rejected, 0);
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
    c.a.security->FreeData(c.a.security->pvContext, answer.pb);

    bool three = false;
    for (unsigned i = 0; i < 100 && !three; i++) {
        settle(&c.b, 20, NULL);
        three = stats(&c.b).revocations_rejected >= 3;
    }
    struct drt_engine_stats st = stats(&c.b);
    assert_int_equal(st.revocations_rejected, 3);
    assert_int_equal(st.revocations_accepted, 0);
    assert_int_equal(c.b.watch_deleted, 0);
    assert_int_equal(find(&c.b, c.a.key, "from-a"), 1);
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
        settle(&c.b, 50, NULL);
    assert_int_equal(c.b.watch_deleted, 1);
    /* A registers the key again; B learns it again. */
    register_own_key(&c.a);
    unsigned found = 0;
    for (unsigned i = 0; i < 20 && !found; i++) {
        settle(&c.b, 200, NULL);
        found = find(&c.b, c.a.key, "from-a");
    }
    assert_int_equal(found, 1);
    /* The old revocation, replayed: B asks A, which proves the key. */
    send_revocation(&c.b, &c.a, old.pb, old.cb);
    c.a.security->FreeData(c.a.security->pvContext, old.pb);
    for (unsigned i = 0; i < 100 && stats(&c.b).revocations_stale == 0; i++)
        settle(&c.b, 20, NULL);
    struct drt_engine_stats st = stats(&c.b);
    assert_int_equal(st.revocations_stale, 1);
    assert_int_equal(st.revocations_accepted, 1); /* the genuine one */
    assert_int_equal(c.b.watch_deleted, 1);
    assert_int_equal(find(&c.b, c.a.key, "from-a"), 1);
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
