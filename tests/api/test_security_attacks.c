/*
 * test_security_attacks.c - attackers against a derived-key mesh of two
 * real nodes on ::1 (a and b, DRT_SECURE_RESOLVE): a node that registers
 * a's key with the null provider; a UDP socket posing as a node that
 * claims a's key and answers b's INQUIRE with a null proof, with a record
 * of a's replayed from an older request, or with a valid record for
 * another key (its own certificate's); and garbage floods. None of it
 * reaches b's results or route cache: b still finds a's key at a's
 * endpoint with a's data, never at the attacker's, and each rejected proof
 * is counted. (Forged and replayed revocations: test_security_revoke.c.)
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
#include <poll.h>
#include <sys/socket.h>

#include <openssl/rand.h>

#include "core/wire.h"
#include "secure_node.h"

struct cloud {
    struct sn_node a, b;
};

static void cloud_open(struct cloud *c)
{
    setenv("DRT_ADVERTISE_ADDRESS", "::1", 1);
    struct sn_opts o = {.mode = DRT_SECURE_RESOLVE};
    sn_open(&c->a, NULL, FX_EC_P256, "from-a", &o);
    sn_open(&c->b, &c->a, FX_ED25519, "from-b", &o);
    sn_wait_status(&c->b, DRT_ACTIVE, 10000);
    assert_int_equal(c->b.node.status, DRT_ACTIVE);
    assert_int_equal(sn_find(&c->b, c->a.key, "from-a"), 1);
}

static void cloud_close(struct cloud *c)
{
    sn_close(&c->b);
    sn_close(&c->a);
}

/* After an attack: b finds a's key with a's data, and caches it at a's
 * endpoint and nowhere else. */
static void assert_intact(struct cloud *c, USHORT attacker_port)
{
    assert_int_equal(sn_find(&c->b, c->a.key, "from-a"), 1);
    assert_true(sn_caches(&c->b, c->a.key, c->a.node.port));
    assert_false(sn_caches(&c->b, c->a.key, attacker_port));
    assert_false(sn_caches(&c->a, c->a.key, attacker_port));
}

/* --- a node that registers a's key ------------------------------------------ */

static void test_a_node_registering_anothers_key_is_never_found(void **state)
{
    struct cloud c;
    cloud_open(&c);
    /* x runs the null provider, which lets it register any key. */
    struct sn_node x;
    struct sn_opts null = {.null = true, .no_register = true};
    sn_open(&x, &c.b, FX_EC_P256, "hijacked", &null);
    DRT_REGISTRATION stolen = {{32, c.a.key}, {sizeof("hijacked"), (BYTE *)"hijacked"}};
    assert_int_equal(DrtRegisterKey(x.node.drt, &stolen, NULL, &x.reg), S_OK);
    sn_settle(&x, 1500, NULL);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sn_find(&c.b, c.a.key, "hijacked"), 0);
        assert_int_equal(sn_find(&c.a, c.a.key, "hijacked"), 0);
        assert_intact(&c, x.node.port);
    }
    sn_close(&x);
    cloud_close(&c);
}

/* --- a socket posing as a node ------------------------------------------------ */

struct attacker {
    int fd;
    USHORT port;
};

static void atk_open(struct attacker *x)
{
    x->fd = socket(AF_INET6, SOCK_DGRAM, 0);
    assert_true(x->fd >= 0);
    struct sockaddr_in6 sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin6_family = AF_INET6;
    sa.sin6_addr = in6addr_loopback;
    assert_int_equal(bind(x->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    socklen_t len = sizeof(sa);
    assert_int_equal(getsockname(x->fd, (struct sockaddr *)&sa, &len), 0);
    x->port = ntohs(sa.sin6_port);
}

static void atk_send(const struct attacker *x, USHORT to, const uint8_t *buf, size_t len)
{
    struct sockaddr_in6 dst;
    memset(&dst, 0, sizeof(dst));
    dst.sin6_family = AF_INET6;
    dst.sin6_port = htons(to);
    dst.sin6_addr = in6addr_loopback;
    assert_int_equal(sendto(x->fd, buf, len, 0, (struct sockaddr *)&dst, sizeof(dst)),
                     (ssize_t)len);
}

static void atk_send_msg(const struct attacker *x, USHORT to, const struct wire_msg *m)
{
    static uint8_t buf[8192];
    size_t len = 0;
    assert_int_equal(wire_encode(m, buf, sizeof(buf), &len), S_OK);
    atk_send(x, to, buf, len);
}

static void header(struct wire_msg *m, uint8_t type)
{
    memset(m, 0, sizeof(*m));
    m->hdr.version_major = 6;
    m->hdr.version_minor = 0x65;
    m->hdr.type = type;
    assert_int_equal(RAND_bytes((unsigned char *)&m->hdr.message_id, 4), 1);
}

static void route_of(struct wire_route_entry *re, const BYTE key[32], USHORT port)
{
    memset(re, 0, sizeof(*re));
    memcpy(re->key, key, 32);
    re->version_major = 6;
    re->version_minor = 0x65;
    re->port = port;
    re->addr_count = 1;
    re->addrs[0][15] = 1; /* ::1 */
}

/* A SOLICIT to `to` whose route entry claims `key` at the attacker. */
static void atk_claim(const struct attacker *x, USHORT to, const BYTE key[32])
{
    struct wire_msg m;
    header(&m, WIRE_SOLICIT);
    m.u.solicit.has_route = true;
    route_of(&m.u.solicit.route, key, x->port);
    atk_send_msg(x, to, &m);
}

/* The next INQUIRE with A set that reaches the attacker within ms. */
static bool atk_wait_inquire(const struct attacker *x, unsigned ms, struct wire_msg *out,
                             USHORT *from)
{
    static uint8_t buf[65536];
    for (unsigned waited = 0; waited < ms; waited += 20) {
        struct pollfd p = {x->fd, POLLIN, 0};
        if (poll(&p, 1, 20) != 1)
            continue;
        struct sockaddr_in6 sa;
        socklen_t sl = sizeof(sa);
        ssize_t n = recvfrom(x->fd, buf, sizeof(buf), 0, (struct sockaddr *)&sa, &sl);
        if (n > 0 && SUCCEEDED(wire_decode(buf, (size_t)n, out)) &&
            out->hdr.type == WIRE_INQUIRE && (out->u.inquire.flags & WIRE_INQUIRE_A)) {
            *from = ntohs(sa.sin6_port);
            return true;
        }
    }
    return false;
}

static void atk_answer(const struct attacker *x, USHORT to, uint32_t acked,
                       const struct wire_authority_buffer *ab)
{
    static uint8_t whole[WIRE_SPLIT_MAX];
    size_t len = 0;
    assert_int_equal(wire_encode_authority_buffer(ab, whole, sizeof(whole), &len), S_OK);
    struct wire_header h = {6, 0x65, WIRE_AUTHORITY, 0x0bad0bad};
    for (size_t i = 0; i < wire_fragment_count(len); i++) {
        struct wire_msg m;
        assert_int_equal(wire_authority_fragment(&h, acked, whole, len, i, &m), S_OK);
        atk_send_msg(x, to, &m);
    }
}

/* A record of `signer`'s provider for `key` answering `nonce`. */
static DRT_DATA record_of(struct sn_node *signer, const BYTE key[32], const uint8_t nonce[16])
{
    DRT_SECURITY_PROVIDER *sp = signer->node.security;
    DRT_DATA k = {32, (BYTE *)key}, n = {16, (BYTE *)nonce};
    DRT_DATA rec = {0, NULL}, classifier = {0, NULL}, secured = {0, NULL}, chain = {0, NULL};
    assert_int_equal(sp->SecureAndPackPayload(sp->pvContext, (PVOID)&signer->cert.ctx, 6, 0x65,
                                              0, &k, NULL, NULL, &n, &rec, &classifier, &secured,
                                              &chain),
                     S_OK);
    sp->FreeData(sp->pvContext, chain.pb);
    sp->FreeData(sp->pvContext, secured.pb);
    return rec;
}

enum lie { LIE_NULL_PROOF, LIE_REPLAYED_RECORD, LIE_OTHER_KEYS_RECORD };

/* The attacker claims a's key to b and answers b's INQUIRE with `lie`;
 * b must count the proof as bad and keep a's key where it is. */
static void attack_with(enum lie lie)
{
    struct cloud c;
    cloud_open(&c);
    struct sn_node x; /* the attacker's own valid certificate, for its records */
    struct sn_opts quiet = {.no_register = true};
    sn_open(&x, NULL, FX_EC_P256, "x", &quiet);
    struct attacker atk;
    atk_open(&atk);
    uint8_t old_nonce[16];
    assert_int_equal(RAND_bytes(old_nonce, sizeof(old_nonce)), 1);
    DRT_DATA old = record_of(&c.a, c.a.key, old_nonce); /* recorded earlier */

    uint64_t dropped = sn_stats(&c.b).dropped_unexpected;
    struct wire_msg q;
    USHORT from = 0;
    bool asked = false;
    /* b asks the claimed endpoint to prove the key (a leaf-set candidate);
     * a few claims, in case one INQUIRE goes elsewhere. */
    for (int round = 0; round < 5 && !asked; round++) {
        atk_claim(&atk, c.b.node.port, c.a.key);
        asked = atk_wait_inquire(&atk, 1000, &q, &from);
    }
    assert_true(asked);
    assert_int_equal(from, c.b.node.port);
    assert_memory_equal(q.u.inquire.validate_key, c.a.key, 32);

    struct wire_authority_buffer ab;
    memset(&ab, 0, sizeof(ab));
    ab.has_route = true;
    route_of(&ab.route, c.a.key, atk.port);
    uint8_t null_cpa[49] = {0};
    DRT_DATA rec = {0, NULL};
    switch (lie) {
    case LIE_NULL_PROOF: /* what a node without a certificate can say */
        memcpy(null_cpa + 1, c.a.key, 32);
        memcpy(null_cpa + 33, q.u.inquire.nonce, 16);
        ab.cpa = (struct wire_blob){null_cpa, sizeof(null_cpa)};
        break;
    case LIE_REPLAYED_RECORD: /* a's genuine record, for another request */
        ab.cpa = (struct wire_blob){old.pb, old.cb};
        break;
    case LIE_OTHER_KEYS_RECORD: /* valid, fresh, signed, but for x's key */
        rec = record_of(&x, x.key, q.u.inquire.nonce);
        ab.cpa = (struct wire_blob){rec.pb, rec.cb};
        break;
    }
    atk_answer(&atk, from, q.hdr.message_id, &ab);
    bool counted = false;
    for (int i = 0; i < 50 && !counted; i++) {
        sn_settle(&c.b, 20, NULL);
        counted = sn_stats(&c.b).dropped_unexpected > dropped;
    }
    assert_true(counted);
    assert_intact(&c, atk.port);

    if (rec.pb)
        x.node.security->FreeData(x.node.security->pvContext, rec.pb);
    c.a.node.security->FreeData(c.a.node.security->pvContext, old.pb);
    close(atk.fd);
    sn_close(&x);
    cloud_close(&c);
}

static void test_a_null_proof_for_anothers_key_is_refused(void **state)
{
    attack_with(LIE_NULL_PROOF);
}

static void test_a_replayed_record_is_refused(void **state)
{
    attack_with(LIE_REPLAYED_RECORD);
}

static void test_a_record_for_another_key_is_refused(void **state)
{
    attack_with(LIE_OTHER_KEYS_RECORD);
}

/* --- garbage ------------------------------------------------------------------ */

/* Random datagrams, and real messages with random bytes flipped, claiming
 * a's key at the attacker: dropped and counted, nothing cached, a still
 * found. Bounded: 3,000 datagrams. */
static void test_a_garbage_flood_changes_nothing(void **state)
{
    struct cloud c;
    cloud_open(&c);
    struct attacker atk;
    atk_open(&atk);
    struct wire_msg m;
    header(&m, WIRE_SOLICIT);
    m.u.solicit.has_route = true;
    route_of(&m.u.solicit.route, c.a.key, atk.port);
    uint8_t good[512];
    size_t good_len = 0;
    assert_int_equal(wire_encode(&m, good, sizeof(good), &good_len), S_OK);
    uint64_t malformed = sn_stats(&c.b).dropped_malformed;
    for (int i = 0; i < 3000; i++) {
        uint8_t buf[512];
        size_t len;
        if (i % 2) {
            len = 1 + (size_t)(i % 300);
            assert_int_equal(RAND_bytes(buf, (int)len), 1);
        } else {
            len = good_len;
            memcpy(buf, good, len);
            uint8_t r[2];
            assert_int_equal(RAND_bytes(r, 2), 1);
            buf[r[0] % 12] ^= (uint8_t)(r[1] | 1); /* header damaged */
        }
        atk_send(&atk, c.b.node.port, buf, len);
        if (i % 500 == 0)
            sn_settle(&c.b, 10, NULL);
    }
    sn_settle(&c.b, 500, NULL);
    assert_true(sn_stats(&c.b).dropped_malformed > malformed);
    assert_intact(&c, atk.port);
    close(atk.fd);
    cloud_close(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_node_registering_anothers_key_is_never_found),
        cmocka_unit_test(test_a_null_proof_for_anothers_key_is_refused),
        cmocka_unit_test(test_a_replayed_record_is_refused),
        cmocka_unit_test(test_a_record_for_another_key_is_refused),
        cmocka_unit_test(test_a_garbage_flood_changes_nothing),
    };
    return cmocka_run_group_tests_name("security_attacks", tests, NULL, NULL);
}
