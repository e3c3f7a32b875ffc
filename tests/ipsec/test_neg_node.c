/*
 * test_neg_node.c - a node's negotiations in both roles: two nodes that
 * start towards each other at once, ESP both ways through the lookups,
 * retransmission and forgetting of a failed initiation, and unique inbound
 * SPIs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ipsec/neg_node.h"
#include "ipsec/udp_encap.h"
#include "ipsec_test_util.h"

struct prng {
    uint64_t s;
};

static int prng_fill(void *ctx, void *buf, size_t len)
{
    struct prng *p = ctx;
    uint8_t *b = buf;
    for (size_t i = 0; i < len; i++) {
        p->s += 0x9E3779B97F4A7C15ull;
        uint64_t z = p->s;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        b[i] = (uint8_t)(z ^ (z >> 31));
    }
    return 0;
}

static const uint8_t PSK[] = "mesh key";

static struct neg_peer peer_of(uint8_t last)
{
    struct neg_peer p;
    memset(&p, 0, sizeof(p));
    p.ip_version = FWP_IP_VERSION_V6;
    p.addr[15] = last;
    p.port = 3540;
    return p;
}

static struct neg_node *node_new(struct prng *rng, struct neg_peer self)
{
    struct neg_responder_config c = {
        .base = {.psk = PSK, .psk_len = sizeof(PSK) - 1, .random = prng_fill, .random_ctx = rng,
                 .local = self},
    };
    struct neg_node *n = neg_node_create(&c, 0);
    assert_non_null(n);
    return n;
}

/* A datagram on the wire between the two nodes. */
struct wire {
    struct neg_peer from, to;
    struct neg_out o;
};

struct net {
    struct wire q[32];
    size_t n;
};

static void put(struct net *net, struct neg_peer from, struct neg_peer to, const struct neg_out *o)
{
    if (!o->len)
        return;
    assert_true(net->n < 32);
    net->q[net->n++] = (struct wire){from, to, *o};
}

static void seal_open(struct esp_sa *out, struct neg_node *receiver)
{
    assert_non_null(out);
    uint8_t pkt[128], back[128], nh;
    size_t plen, blen;
    const uint8_t msg[] = "both ways";
    assert_int_equal(esp_seal(out, 17, msg, sizeof(msg), pkt, sizeof(pkt), &plen), ESP_OK);
    struct esp_sa *in = neg_node_sa_by_spi(receiver, esp_packet_spi(pkt, plen));
    assert_non_null(in);
    assert_int_equal(esp_open(in, pkt, plen, back, sizeof(back), &blen, &nh), ESP_OK);
    assert_memory_equal(back, msg, sizeof(msg));
}

/* a negotiates with b at time now until the exchange ends (bounded): the
 * pair is established. */
static void establish_at(struct neg_node *a, struct neg_peer A, struct neg_node *b,
                         struct neg_peer B, uint64_t now)
{
    struct neg_out o, back;
    assert_true(neg_node_initiate(a, now, &B, &o));
    for (int step = 0; step < 8 && o.len; step++) {
        neg_node_receive(b, now, &A, o.buf, o.len, &back);
        if (!back.len)
            break;
        neg_node_receive(a, now, &B, back.buf, back.len, &o);
    }
    assert_int_equal(neg_state(neg_node_initiated(a, &B)), NEG_S_ESTABLISHED);
}

static void test_simultaneous_initiation(void **state)
{
    (void)state;
    struct prng ra = {1}, rb = {2};
    struct neg_peer A = peer_of(1), B = peer_of(2);
    struct neg_node *a = node_new(&ra, A), *b = node_new(&rb, B);
    struct net net = {0};
    struct neg_out o;
    assert_true(neg_node_initiate(a, 0, &B, &o));
    put(&net, A, B, &o);
    assert_false(neg_node_initiate(a, 0, &B, &o)); /* one at a time */
    assert_true(neg_node_initiate(b, 0, &A, &o));
    put(&net, B, A, &o);
    /* deliver newest first: the two exchanges interleave */
    while (net.n) {
        struct wire w = net.q[--net.n];
        struct neg_node *to = memcmp(w.to.addr, A.addr, 16) == 0 ? a : b;
        neg_node_receive(to, 0, &w.from, w.o.buf, w.o.len, &o);
        put(&net, w.to, w.from, &o);
    }
    assert_int_equal(neg_state(neg_node_initiated(a, &B)), NEG_S_ESTABLISHED);
    assert_int_equal(neg_state(neg_node_initiated(b, &A)), NEG_S_ESTABLISHED);
    assert_int_equal(neg_responder_count(neg_node_responder(a)), 1);
    assert_int_equal(neg_responder_count(neg_node_responder(b)), 1);
    /* the preferred SAs, and the other pair as well */
    seal_open(neg_node_sa_to(a, &B), b);
    seal_open(neg_node_sa_to(b, &A), a);
    seal_open(neg_sa_outbound(neg_responder_at(neg_node_responder(a), 0)), b);
    seal_open(neg_sa_outbound(neg_responder_at(neg_node_responder(b), 0)), a);
    /* a seals with the pair it saw established last */
    struct neg *mine = neg_node_initiated(a, &B), *theirs = neg_responder_at(neg_node_responder(a), 0);
    assert_int_not_equal(neg_established_order(mine), neg_established_order(theirs));
    assert_ptr_equal(neg_node_sa_to(a, &B),
                     neg_sa_outbound(neg_established_order(mine) > neg_established_order(theirs)
                                         ? mine : theirs));
    /* four distinct inbound SPIs per node pair, none shared inside a node */
    assert_int_not_equal(neg_sa_inbound(neg_node_initiated(a, &B))->spi,
                         neg_sa_inbound(neg_responder_at(neg_node_responder(a), 0))->spi);
    assert_null(neg_node_sa_by_spi(a, 255));
    struct neg_peer C = peer_of(3);
    assert_null(neg_node_sa_to(a, &C));
    neg_node_free(a);
    neg_node_free(b);
}

static void count_send(void *ctx, const struct neg_peer *to, const struct neg_out *o)
{
    (void)to;
    assert_int_not_equal(o->len, 0);
    (*(int *)ctx)++;
}

static void test_failed_initiation_retransmitted_then_forgotten(void **state)
{
    (void)state;
    struct prng ra = {3};
    struct neg_peer A = peer_of(1), mute = peer_of(9);
    struct neg_node *a = node_new(&ra, A);
    struct neg_out o;
    assert_true(neg_node_initiate(a, 0, &mute, &o));
    int sent = 0;
    uint64_t t;
    while ((t = neg_node_next_timeout(a)) != UINT64_MAX)
        neg_node_tick(a, t, count_send, &sent);
    assert_int_equal(sent, NEG_DEFAULT_MAX_RETRANSMITS);
    assert_null(neg_node_initiated(a, &mute));
    assert_true(neg_node_initiate(a, t, &mute, &o)); /* may start again */
    neg_node_free(a);
}

static bool all_taken(void *ctx, uint32_t spi)
{
    (void)spi;
    (*(int *)ctx)++;
    return true;
}

/* The SPI check is asked, and a negotiation that finds no free inbound SPI
 * fails instead of reusing one. */
static void test_inbound_spi_must_be_free(void **state)
{
    (void)state;
    struct prng ri = {4}, rr = {5};
    int asked = 0;
    struct neg_config c = {.psk = PSK, .psk_len = sizeof(PSK) - 1, .random = prng_fill,
                           .random_ctx = &ri, .spi_in_use = all_taken, .spi_ctx = &asked};
    struct neg *ini = neg_create(&c);
    struct neg_responder_config rc = {.base = c};
    rc.base.random_ctx = &rr;
    rc.base.spi_in_use = NULL;
    struct neg_responder *r = neg_responder_create(&rc, 0);
    struct neg_out o;
    struct neg_peer from = peer_of(1);
    assert_true(neg_start(ini, 0, &o));
    assert_non_null(neg_responder_receive(r, 0, &from, o.buf, o.len, &o));
    neg_receive(ini, 0, o.buf, o.len, &o);
    assert_int_equal(neg_state(ini), NEG_S_FAILED);
    assert_int_equal(neg_error(ini), NEG_ERR_CRYPTO);
    assert_int_equal(asked, 16);
    neg_free(ini);
    neg_responder_free(r);
}

/* A source whose first `repeat` 4-byte draws (the child SPIs) are `spi`. */
struct sticky {
    struct prng p;
    int fours, repeat;
    const char *spi;
};

static int sticky_fill(void *ctx, void *buf, size_t len)
{
    struct sticky *s = ctx;
    if (len == 4 && s->fours++ < s->repeat) {
        memcpy(buf, s->spi, 4);
        return 0;
    }
    return prng_fill(&s->p, buf, len);
}

/* An inbound SPI whose first byte is 0 would read as a non-ESP datagram on
 * the DRT's port (udp_encap.h): the responder draws again. */
static void test_inbound_spi_never_starts_with_zero(void **state)
{
    (void)state;
    struct sticky sb = {.p = {9}, .repeat = 3, .spi = "\x00\xab\xcd\xef"};
    struct prng ra = {10};
    struct neg_peer A = peer_of(1), B = peer_of(2);
    struct neg_responder_config c = {
        .base = {.psk = PSK, .psk_len = sizeof(PSK) - 1, .random = sticky_fill,
                 .random_ctx = &sb, .local = B},
    };
    struct neg_node *b = neg_node_create(&c, 0);
    struct neg_node *a = node_new(&ra, A);
    establish_at(a, A, b, B, 0);
    uint32_t spi = neg_sa_outbound(neg_node_initiated(a, &B))->spi;
    assert_true(spi >= UDP_ENCAP_MIN_SPI);
    assert_int_equal(sb.fours > 3, true); /* the three offers were refused */
    seal_open(neg_node_sa_to(a, &B), b);
    neg_node_free(a);
    neg_node_free(b);
}

/* Node A negotiates with B and with C; its random source offers the same
 * inbound SPI twice: the second negotiation takes another one. */
static void test_node_inbound_spis_unique(void **state)
{
    (void)state;
    struct sticky sa = {.p = {6}, .repeat = 2, .spi = "\x12\x34\x56\x78"};
    struct prng rb = {7}, rc = {8};
    struct neg_peer A = peer_of(1), B = peer_of(2), C = peer_of(3);
    struct neg_responder_config c = {
        .base = {.psk = PSK, .psk_len = sizeof(PSK) - 1, .random = sticky_fill,
                 .random_ctx = &sa, .local = A},
    };
    struct neg_node *a = neg_node_create(&c, 0);
    struct neg_node *b = node_new(&rb, B), *cn = node_new(&rc, C);
    struct neg_node *peers[2] = {b, cn};
    struct neg_peer addrs[2] = {B, C};
    for (int i = 0; i < 2; i++) {
        struct neg_out o;
        assert_true(neg_node_initiate(a, 0, &addrs[i], &o));
        while (o.len) {
            struct neg_out back;
            neg_node_receive(peers[i], 0, &A, o.buf, o.len, &back);
            if (!back.len)
                break;
            neg_node_receive(a, 0, &addrs[i], back.buf, back.len, &o);
        }
        assert_int_equal(neg_state(neg_node_initiated(a, &addrs[i])), NEG_S_ESTABLISHED);
    }
    uint32_t s1 = neg_sa_inbound(neg_node_initiated(a, &B))->spi;
    uint32_t s2 = neg_sa_inbound(neg_node_initiated(a, &C))->spi;
    assert_int_equal(s1, 0x12345678);
    assert_int_not_equal(s2, 0x12345678);
    seal_open(neg_node_sa_to(b, &A), a);
    seal_open(neg_node_sa_to(cn, &A), a);
    neg_node_free(a);
    neg_node_free(b);
    neg_node_free(cn);
}

/* A peer that starts again (it restarted, or gave up its side) replaces
 * the SA pair it had with us; another peer's pair stays. */
static void test_restarted_peer_replaces_its_old_sas(void **state)
{
    (void)state;
    struct prng ra = {10}, rb1 = {11}, rb2 = {12}, rc = {13};
    struct neg_peer A = peer_of(1), B = peer_of(2), C = peer_of(3);
    struct neg_node *a = node_new(&ra, A), *b = node_new(&rb1, B), *c = node_new(&rc, C);
    establish_at(a, A, b, B, 0); /* a also has a pair it started towards b */
    establish_at(b, B, a, A, 0);
    establish_at(c, C, a, A, 0);
    struct neg_responder *r = neg_node_responder(a);
    assert_int_equal(neg_responder_count(r), 2);
    uint32_t old_spi = neg_sa_outbound(neg_node_initiated(b, &A))->spi;
    assert_non_null(neg_node_sa_by_spi(a, old_spi));
    neg_node_free(b);
    b = node_new(&rb2, B); /* B restarts */
    establish_at(b, B, a, A, 0);
    assert_int_equal(neg_responder_count(r), 2);
    assert_int_equal(neg_responder_stats(r).replaced, 1);
    assert_null(neg_node_sa_by_spi(a, old_spi));
    seal_open(neg_node_sa_to(b, &A), a);
    /* a reaches the new b through the new pair, not its stale initiated one */
    seal_open(neg_node_sa_to(a, &B), b);
    assert_ptr_not_equal(neg_node_sa_to(a, &B), neg_sa_outbound(neg_node_initiated(a, &B)));
    seal_open(neg_node_sa_to(c, &A), a);
    neg_node_free(a);
    neg_node_free(b);
    neg_node_free(c);
}


/* --- lifetimes: rekey under traffic ------------------------------------- */

#define LT_QUEUE 512

struct timed {
    uint64_t at;
    int to; /* 0: node a, 1: node b */
    bool esp;
    uint8_t buf[NEG_MAX_DATAGRAM];
    size_t len;
};

struct lt_net {
    struct timed q[LT_QUEUE];
    size_t n;
    uint64_t now;
    int sender; /* whose tick is sending */
};

static void lt_put(struct lt_net *net, int to, bool esp, const uint8_t *d, size_t len,
                   uint64_t delay)
{
    assert_true(net->n < LT_QUEUE);
    assert_true(len <= NEG_MAX_DATAGRAM);
    struct timed *t = &net->q[net->n++];
    t->at = net->now + delay;
    t->to = to;
    t->esp = esp;
    memcpy(t->buf, d, len);
    t->len = len;
}

static unsigned in_flight_esp(const struct lt_net *net)
{
    unsigned n = 0;
    for (size_t i = 0; i < net->n; i++)
        n += net->q[i].esp;
    return n;
}

static void lt_send(void *ctx, const struct neg_peer *to, const struct neg_out *o)
{
    (void)to;
    struct lt_net *net = ctx;
    lt_put(net, 1 - net->sender, false, o->buf, o->len, 20);
}

/* Two nodes exchange an ESP packet each way every 100 ms (delivered 50 ms
 * later) for 60 virtual seconds, with lifetimes soft/hard (time or
 * bytes). Every packet sealed is opened: a rekey never loses one, since
 * the old pair stays installed until its hard limit. */
static void run_rekey_under_traffic(const struct neg_lifetime *lt, uint64_t *rekeys,
                                    uint64_t *expired, unsigned *spis)
{
    struct prng ra = {21}, rb = {22};
    struct neg_peer P[2] = {peer_of(1), peer_of(2)};
    struct neg_node *nodes[2] = {node_new(&ra, P[0]), node_new(&rb, P[1])};
    neg_node_set_lifetime(nodes[0], lt);
    neg_node_set_lifetime(nodes[1], lt);
    static struct lt_net net;
    memset(&net, 0, sizeof(net));
    struct neg_out o;
    assert_true(neg_node_initiate(nodes[0], 0, &P[1], &o));
    lt_put(&net, 1, false, o.buf, o.len, 20);
    unsigned sealed = 0, opened = 0, unsealed = 0;
    uint32_t seen[64];
    unsigned nseen = 0;
    for (net.now = 0; net.now <= 60000; net.now += 10) {
        /* deliver what is due, in order of arrival */
        for (size_t i = 0; i < net.n;) {
            struct timed t = net.q[i];
            if (t.at > net.now) {
                i++;
                continue;
            }
            net.q[i] = net.q[--net.n];
            struct neg_node *rx = nodes[t.to];
            if (t.esp) {
                struct esp_sa *in = neg_node_sa_by_spi(rx, esp_packet_spi(t.buf, t.len));
                uint8_t back[64], nh;
                size_t blen;
                if (in && esp_open(in, t.buf, t.len, back, sizeof(back), &blen, &nh) == ESP_OK)
                    opened++;
                continue;
            }
            neg_node_receive(rx, net.now, &P[1 - t.to], t.buf, t.len, &o);
            if (o.len)
                lt_put(&net, 1 - t.to, false, o.buf, o.len, 20);
        }
        for (int k = 0; k < 2; k++) {
            net.sender = k;
            neg_node_tick(nodes[k], net.now, lt_send, &net);
        }
        if (net.now % 100 != 0 || net.now < 1000)
            continue;
        for (int k = 0; k < 2; k++) {
            struct esp_sa *out = neg_node_sa_to(nodes[k], &P[1 - k]);
            if (!out) {
                unsealed++;
                continue;
            }
            bool known = false;
            for (unsigned j = 0; j < nseen; j++)
                known = known || seen[j] == out->spi;
            if (!known && nseen < 64)
                seen[nseen++] = out->spi;
            uint8_t pkt[NEG_MAX_DATAGRAM], msg[40] = {(uint8_t)k};
            size_t plen;
            assert_int_equal(esp_seal(out, 17, msg, sizeof(msg), pkt, sizeof(pkt), &plen), ESP_OK);
            lt_put(&net, 1 - k, true, pkt, plen, 50);
            sealed++;
        }
    }
    assert_int_equal(unsealed, 0);
    assert_true(sealed >= 1000);
    assert_int_equal(opened + in_flight_esp(&net), sealed);
    *rekeys = neg_node_stats(nodes[0]).rekeys + neg_node_stats(nodes[1]).rekeys;
    /* each old pair ended once on one side (its peer told by a DELETE) or
     * on both (hard limits at about the same time) */
    *expired = neg_node_stats(nodes[0]).expired + neg_node_stats(nodes[1]).expired +
               neg_node_stats(nodes[0]).deleted + neg_node_stats(nodes[1]).deleted;
    *spis = nseen;
    neg_node_free(nodes[0]);
    neg_node_free(nodes[1]);
}

/* Traffic under lt rekeys every 10 s over 60 s, by the pair's initiator
 * only; each side sealed with every pair in turn; all the old pairs but
 * `kept` were freed on both sides. */
static void assert_rekeys_every_10_s(const struct neg_lifetime *lt, uint64_t kept)
{
    uint64_t rekeys, expired;
    unsigned spis;
    run_rekey_under_traffic(lt, &rekeys, &expired, &spis);
    assert_true(rekeys >= 5 && rekeys <= 6);
    assert_int_equal(spis, 2 * (rekeys + 1));
    assert_true(expired >= 2 * (rekeys - kept));
}

static void test_rekey_at_soft_time_loses_nothing(void **state)
{
    (void)state;
    struct neg_lifetime lt = {.soft_ms = 10000, .hard_ms = 15000};
    /* the old pairs freed on both sides, but perhaps the last one */
    assert_rekeys_every_10_s(&lt, 1);
}

static void test_rekey_at_soft_bytes_loses_nothing(void **state)
{
    (void)state;
    /* 2 x 40 bytes every 100 ms: 8 KB in 10 s */
    struct neg_lifetime lt = {.soft_bytes = 8000, .hard_bytes = 14000};
    /* superseded pairs go retire_ms after their successor once quiet (the
     * byte hard limit is never reached once traffic moved on) */
    assert_rekeys_every_10_s(&lt, 2);
}

/* Without a rekey (no soft limit) the hard limit ends the pair: packets
 * sealed with it are no longer opened, and nothing seals any more. */
static void test_hard_lifetime_drops_the_pair(void **state)
{
    (void)state;
    struct prng ra = {31}, rb = {32};
    struct neg_peer A = peer_of(1), B = peer_of(2);
    struct neg_node *a = node_new(&ra, A), *b = node_new(&rb, B);
    struct neg_lifetime lt = {.hard_ms = 5000};
    neg_node_set_lifetime(a, &lt);
    neg_node_set_lifetime(b, &lt);
    establish_at(a, A, b, B, 0);
    struct esp_sa *out = neg_node_sa_to(a, &B);
    assert_non_null(out);
    uint8_t pkt[128], msg[8] = {0};
    size_t plen;
    assert_int_equal(esp_seal(out, 17, msg, sizeof(msg), pkt, sizeof(pkt), &plen), ESP_OK);
    neg_node_tick(a, 4999, NULL, NULL);
    neg_node_tick(b, 4999, NULL, NULL);
    assert_non_null(neg_node_sa_by_spi(b, esp_packet_spi(pkt, plen)));
    neg_node_tick(a, 5000, NULL, NULL);
    neg_node_tick(b, 5000, NULL, NULL);
    assert_null(neg_node_sa_by_spi(b, esp_packet_spi(pkt, plen)));
    assert_null(neg_node_sa_to(a, &B));
    assert_null(neg_node_sa_to(b, &A));
    assert_int_equal(neg_node_stats(a).expired, 1);
    assert_int_equal(neg_node_stats(b).expired, 1);
    assert_int_equal(neg_node_stats(a).rekeys + neg_node_stats(b).rekeys, 0);
    /* a new negotiation starts afresh */
    struct neg_out o;
    assert_true(neg_node_initiate(a, 6000, &B, &o));
    neg_node_free(a);
    neg_node_free(b);
}

/* --- deletion notices ------------------------------------------------------ */

struct captured {
    struct neg_out o[8];
    struct neg_peer to[8];
    size_t n;
};

static void capture(void *ctx, const struct neg_peer *to, const struct neg_out *o)
{
    struct captured *c = ctx;
    assert_true(c->n < 8);
    c->to[c->n] = *to;
    c->o[c->n++] = *o;
}

static void establish(struct neg_node *a, struct neg_peer A, struct neg_node *b,
                      struct neg_peer B)
{
    establish_at(a, A, b, B, 0);
    assert_non_null(neg_node_sa_to(a, &B));
    assert_non_null(neg_node_sa_to(b, &A));
}

/* A node that closes tells its peer, whichever side it was: the peer's
 * SAs go; a replay of the notice, or a forged one, changes nothing. */
static void test_delete_ends_the_pair_on_both_sides(void **state)
{
    (void)state;
    for (int closer = 0; closer < 2; closer++) {
        struct prng ra = {41}, rb = {42};
        struct neg_peer P[2] = {peer_of(1), peer_of(2)};
        struct neg_node *nodes[2] = {node_new(&ra, P[0]), node_new(&rb, P[1])};
        establish(nodes[0], P[0], nodes[1], P[1]); /* node 0 initiates */
        struct neg_node *other = nodes[1 - closer];
        struct neg_peer from = P[closer];
        struct captured c = {0};
        neg_node_close(nodes[closer], capture, &c);
        assert_int_equal(c.n, 1);
        assert_memory_equal(&c.to[0], &P[1 - closer], sizeof(struct neg_peer));
        assert_null(neg_node_sa_to(nodes[closer], &P[1 - closer]));
        /* forged: every single-bit flip is dropped and the pair stays */
        for (size_t bit = 0; bit < c.o[0].len * 8; bit++) {
            struct neg_out f = c.o[0], none;
            f.buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            assert_null(neg_node_receive(other, 0, &from, f.buf, f.len, &none));
        }
        neg_node_tick(other, 0, NULL, NULL);
        assert_non_null(neg_node_sa_to(other, &from));
        struct neg_out none;
        assert_non_null(neg_node_receive(other, 0, &from, c.o[0].buf, c.o[0].len, &none));
        assert_int_equal(none.len, 0); /* unanswered */
        assert_null(neg_node_sa_to(other, &from));
        neg_node_tick(other, 0, NULL, NULL);
        assert_int_equal(neg_node_stats(other).deleted, 1);
        /* a replay finds nothing */
        assert_null(neg_node_receive(other, 0, &from, c.o[0].buf, c.o[0].len, &none));
        /* and a new negotiation starts afresh */
        struct neg_out o;
        assert_true(neg_node_initiate(other, 1, &from, &o));
        neg_node_free(nodes[0]);
        neg_node_free(nodes[1]);
    }
}

/* Only A has a hard limit: when it ends the pair, B learns it. */
static void test_hard_limit_on_one_side_is_told_to_the_other(void **state)
{
    (void)state;
    struct prng ra = {51}, rb = {52};
    struct neg_peer A = peer_of(1), B = peer_of(2);
    struct neg_node *a = node_new(&ra, A), *b = node_new(&rb, B);
    struct neg_lifetime lt = {.hard_ms = 5000};
    neg_node_set_lifetime(a, &lt);
    establish(a, A, b, B);
    struct captured c = {0};
    neg_node_tick(a, 5000, capture, &c);
    assert_int_equal(c.n, 1);
    assert_null(neg_node_sa_to(a, &B));
    struct neg_out none;
    assert_non_null(neg_node_receive(b, 5001, &A, c.o[0].buf, c.o[0].len, &none));
    assert_null(neg_node_sa_to(b, &A));
    neg_node_free(a);
    neg_node_free(b);
}

/* A lost DELETE. Deletion notices are sent once (docs/KEYING.md §7.2):
 * when one is lost, the peer still holds the pair and seals with it, and
 * the node that ended it receives ESP under an SPI it does not know. The
 * transport answers that by negotiating with the sender (io_ipsec.c,
 * recover_peer; tests/api/test_api_protection.c shows it on real
 * sockets), which this test does by hand: the peer then seals with the new
 * pair at once, and frees the stale one once it is superseded and quiet.
 * Case 0: A ended the pair at a hard limit only it has; case 1: A closed
 * and started again at the same address. */

static void drop_send(void *ctx, const struct neg_peer *to, const struct neg_out *o)
{
    (void)to;
    (void)o;
    (*(int *)ctx)++;
}

/* The SPI b seals with towards A. */
static uint32_t sealing_spi(struct neg_node *b, struct neg_peer A)
{
    struct esp_sa *sa = neg_node_sa_to(b, &A);
    assert_non_null(sa);
    return sa->spi;
}

static void test_lost_delete_leaves_no_stale_sa_in_use(void **state)
{
    (void)state;
    for (int restart = 0; restart < 2; restart++) {
        struct prng ra = {61}, ra2 = {63}, rb = {62};
        struct neg_peer A = peer_of(1), B = peer_of(2);
        struct neg_node *a = node_new(&ra, A), *b = node_new(&rb, B);
        struct neg_lifetime lt_a = {.hard_ms = 5000}, lt_b = {.hard_ms = 3600000};
        if (!restart)
            neg_node_set_lifetime(a, &lt_a);
        neg_node_set_lifetime(b, &lt_b); /* the transport's default: lifetimes on */
        establish_at(a, A, b, B, 0);
        uint32_t stale = sealing_spi(b, A);
        uint32_t stale_in = neg_sa_inbound(neg_responder_at(neg_node_responder(b), 0))->spi;
        int lost = 0;
        if (restart) {
            neg_node_close(a, drop_send, &lost);
            neg_node_free(a);
            a = node_new(&ra2, A);
        } else {
            neg_node_tick(a, 5000, drop_send, &lost);
        }
        assert_int_equal(lost, 1); /* the DELETE, lost */
        assert_null(neg_node_sa_to(a, &B));
        /* b still seals with the pair; a does not know its SPI */
        assert_int_equal(sealing_spi(b, A), stale);
        assert_null(neg_node_sa_by_spi(a, stale));
        /* a negotiates with the sender of that packet */
        establish_at(a, A, b, B, 5000);
        uint32_t fresh = sealing_spi(b, A);
        assert_int_not_equal(fresh, stale);
        seal_open(neg_node_sa_to(b, &A), a);
        seal_open(neg_node_sa_to(a, &B), b);
        /* b frees the stale pair once the new one is retire_ms old and the
         * stale one's inbound SA has been quiet as long */
        int told = 0;
        neg_node_tick(b, 5000, drop_send, &told);
        assert_non_null(neg_node_sa_by_spi(b, stale_in)); /* not yet: packets may be in flight */
        neg_node_tick(b, 5000 + NEG_DEFAULT_RETIRE_MS, drop_send, &told);
        assert_null(neg_node_sa_by_spi(b, stale_in));
        assert_int_equal(neg_node_stats(b).expired, 1);
        assert_int_equal(told, 1); /* a DELETE for it, which a ignores */
        assert_int_equal(neg_responder_count(neg_node_responder(b)), 1);
        assert_int_equal(sealing_spi(b, A), fresh);
        neg_node_free(a);
        neg_node_free(b);
    }
}

/* --- key-manager calls, asked and answered by id -------------------------- */

static struct {
    struct neg_km_call c[8];
    int node[8];
    size_t n;
} asked;
static int node_ids[2] = {0, 1};

static void ask_fn(void *ctx, const struct neg_km_call *c)
{
    assert_true(asked.n < 8);
    asked.c[asked.n] = *c;
    asked.node[asked.n++] = *(int *)ctx;
}

static void CALLBACK km_check(const IKEEXT_TRAFFIC0 *t, BOOL *will, UINT32 *weight)
{
    (void)t;
    *will = TRUE;
    *weight = 1;
}

static DWORD CALLBACK km_dictate(IPSEC_SA_DETAILS1 *in, IPSEC_SA_DETAILS1 *out, BOOL *gen)
{
    (void)in;
    (void)out;
    *gen = FALSE;
    return FWP_E_INVALID_PARAMETER; /* never reached here */
}

static void CALLBACK km_notify(const IPSEC_SA_DETAILS1 *in, const IPSEC_SA_DETAILS1 *out)
{
    (void)in;
    (void)out;
}

/* The answer to asked.c[i], run now (it is removed from the queue). */
static void run_asked(struct test_env *env, size_t i, struct neg_km_answer *a)
{
    struct neg_keymgr_env km = {.engine = env->e};
    struct neg_km_call c = asked.c[i];
    memmove(&asked.c[i], &asked.c[i + 1], (asked.n - i - 1) * sizeof(asked.c[0]));
    memmove(&asked.node[i], &asked.node[i + 1], (asked.n - i - 1) * sizeof(asked.node[0]));
    asked.n--;
    neg_km_run(&km, &c, a);
}

/* Two nodes share one engine with a dictator (as the nodes of a process
 * do) and hand their calls out: each node's timer includes the deadlines
 * of its calls in both roles; an answer goes to the negotiation that
 * waits for its id, any other is dropped and counted; at the deadline
 * the responder tells the initiator through neg_node_tick. */
static void test_node_takes_answers_by_id_and_keeps_deadlines(void **state)
{
    (void)state;
    struct test_env env;
    assert_int_equal(test_env_init(&env, 0, 0), ERROR_SUCCESS);
    HANDLE session, km;
    assert_int_equal(ipsec_session_open(env.e, &ROOT, NULL, &session), ERROR_SUCCESS);
    IPSEC_KEY_MANAGER0 m = {.flags = IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY};
    IPSEC_KEY_MANAGER_CALLBACKS0 cb = {.keyDictationCheck = km_check, .keyDictation = km_dictate,
                                       .keyNotify = km_notify};
    assert_int_equal(ipsec_keymgr_add(env.e, session, &m, &cb, &km), ERROR_SUCCESS);
    memset(&asked, 0, sizeof(asked));
    struct prng ra = {71}, rb = {72};
    struct neg_peer A = peer_of(1), B = peer_of(2);
    struct neg_node *nodes[2];
    for (int i = 0; i < 2; i++) {
        struct neg_responder_config c = {
            .base = {.psk = PSK, .psk_len = sizeof(PSK) - 1, .random = prng_fill,
                     .random_ctx = i ? &rb : &ra, .local = i ? B : A,
                     .km = {.engine = env.e, .ask = ask_fn, .ask_ctx = &node_ids[i]}},
        };
        nodes[i] = neg_node_create(&c, 0);
        assert_non_null(nodes[i]);
    }
    struct neg_node *a = nodes[0], *b = nodes[1];
    struct neg_out o, back;
    assert_true(neg_node_initiate(a, 0, &B, &o));
    neg_node_receive(b, 0, &A, o.buf, o.len, &back);
    neg_node_receive(a, 10, &B, back.buf, back.len, &o);
    assert_int_equal(o.len, 0); /* a asks its check first */
    assert_int_equal(asked.n, 1);
    assert_int_equal(asked.node[0], 0);
    assert_int_equal(neg_node_next_timeout(a), 10 + 5000);
    struct neg_km_answer ans;
    run_asked(&env, 0, &ans);
    assert_ptr_equal(neg_node_take_answer(a, 20, &ans, &o), neg_node_initiated(a, &B));
    assert_true(o.len > 0); /* AUTH_REQ */
    assert_true(neg_node_receive(b, 30, &A, o.buf, o.len, &back) != NULL);
    assert_int_equal(back.len, 0); /* b asks its check */
    assert_int_equal(asked.node[0], 1);
    uint64_t deadline = asked.c[0].deadline;
    assert_int_equal(deadline, 30 + 5000);
    assert_int_equal(neg_node_next_timeout(b), deadline); /* a responder's deadline */
    struct neg_km_answer other = {.id = asked.c[0].id + 1};
    assert_null(neg_node_take_answer(b, 40, &other, &back));
    assert_null(neg_node_take_answer(a, 40, &ans, &back)); /* taken once only */
    assert_int_equal(neg_node_stats(b).answers_discarded, 1);
    assert_int_equal(neg_node_stats(a).answers_discarded, 1);
    struct captured c = {0};
    neg_node_tick(b, deadline - 1, capture, &c);
    assert_int_equal(c.n, 0);
    neg_node_tick(b, deadline, capture, &c);
    assert_int_equal(c.n, 1); /* AUTH_RESP: FWP_E_TIMEOUT */
    assert_memory_equal(&c.to[0], &A, sizeof(A));
    neg_node_receive(a, deadline, &B, c.o[0].buf, c.o[0].len, &o);
    assert_int_equal(neg_state(neg_node_initiated(a, &B)), NEG_S_FAILED);
    assert_int_equal(neg_error_code(neg_node_initiated(a, &B)), FWP_E_TIMEOUT);
    run_asked(&env, 0, &ans); /* the check answers at last */
    assert_null(neg_node_take_answer(b, deadline + 1, &ans, &back));
    assert_int_equal(neg_node_stats(b).answers_discarded, 2);
    assert_int_equal(asked.n, 0);
    neg_node_free(a);
    neg_node_free(b);
    ipsec_engine_destroy(env.e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simultaneous_initiation),
        cmocka_unit_test(test_failed_initiation_retransmitted_then_forgotten),
        cmocka_unit_test(test_inbound_spi_must_be_free),
        cmocka_unit_test(test_node_inbound_spis_unique),
        cmocka_unit_test(test_inbound_spi_never_starts_with_zero),
        cmocka_unit_test(test_rekey_at_soft_time_loses_nothing),
        cmocka_unit_test(test_rekey_at_soft_bytes_loses_nothing),
        cmocka_unit_test(test_hard_lifetime_drops_the_pair),
        cmocka_unit_test(test_delete_ends_the_pair_on_both_sides),
        cmocka_unit_test(test_hard_limit_on_one_side_is_told_to_the_other),
        cmocka_unit_test(test_restarted_peer_replaces_its_old_sas),
        cmocka_unit_test(test_lost_delete_leaves_no_stale_sa_in_use),
        cmocka_unit_test(test_node_takes_answers_by_id_and_keeps_deadlines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
