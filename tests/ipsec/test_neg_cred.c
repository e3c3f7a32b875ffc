/*
 * test_neg_cred.c - the SA negotiation authenticated by node certificates
 * (docs/KEYING.md §7.3), sans-I/O: two negotiators passing datagrams by
 * hand, with the library's real signer and verifier (protection_cred.c)
 * or a test credential that sends a chain it should not (another root,
 * expired, signed by the wrong key, truncated, garbage).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/crypto.h>

#include "api/protection_cred.h"
#include "ipsec/negotiation.h"
#include "ipsec_test_util.h"
#include "sec/cert_fixture.h"
#include "sec/sec_chain.h"
#include "sec/sec_sign.h"

#define NOW 1000u

static int rng_fill(void *ctx, void *buf, size_t len)
{
    uint64_t *s = ctx;
    uint8_t *b = buf;
    for (size_t i = 0; i < len; i++) {
        *s = *s * 6364136223846793005ull + 1442695040888963407ull;
        b[i] = (uint8_t)(*s >> 56);
    }
    return 0;
}

/* ------------------------------------------------------------ credentials */

/* A credential made by the test: any chain bytes, any signing key, and the
 * real verifier of a side (its roots). */
struct tcred {
    struct neg_cred nc;
    uint8_t chain[SEC_CHAIN_MAX_LEN];
    EVP_PKEY *key;
};

static size_t tcred_sign(void *ctx, const uint8_t *msg, size_t len, uint8_t *sig)
{
    struct tcred *t = ctx;
    uint8_t *s = NULL;
    size_t n = 0;
    assert_int_equal(sec_sign(t->key, msg, len, &s, &n), S_OK);
    memcpy(sig, s, n);
    OPENSSL_free(s);
    return n;
}

/* A test credential whose verify is a side's real one (which needs its
 * own context, so the calls are routed). */
struct routed {
    struct tcred t;
    const struct neg_cred *verifier;
};

static DWORD routed_verify(void *ctx, const uint8_t *chain, size_t chain_len, const uint8_t *msg,
                           size_t len, const uint8_t *sig, size_t sig_len)
{
    struct routed *r = ctx;
    return r->verifier->verify(r->verifier->ctx, chain, chain_len, msg, len, sig, sig_len);
}

static size_t routed_sign(void *ctx, const uint8_t *msg, size_t len, uint8_t *sig)
{
    struct routed *r = ctx;
    return tcred_sign(&r->t, msg, len, sig);
}

static void routed_init(struct routed *r, const struct fx_node *node, EVP_PKEY *sign_key,
                        const struct neg_cred *verifier)
{
    memset(r, 0, sizeof(*r));
    struct sec_writer w;
    sec_writer_init(&w, r->t.chain, sizeof(r->t.chain));
    assert_int_equal(sec_chain_encode(node->cert, node->chain, NULL, &w), S_OK);
    r->t.key = sign_key;
    r->verifier = verifier;
    r->t.nc = (struct neg_cred){.chain = r->t.chain, .chain_len = w.pos, .sign = routed_sign,
                                .verify = routed_verify, .ctx = r};
}

/* ------------------------------------------------------------ two sides */

struct side {
    struct fx_node node;
    struct protection_cred *pc;
    struct neg_auth_counts auth;
    uint64_t rng;
};

static void side_init(struct side *s, enum fx_keytype type, bool via_inter, uint64_t seed)
{
    const struct fx_pki *pki = fx_pki();
    memset(s, 0, sizeof(*s));
    if (via_inter)
        fx_node_init(&s->node, type, pki->inter, pki->inter_key, pki->inter, -1, 30);
    else
        fx_node_init(&s->node, type, pki->root, pki->root_key, NULL, -1, 30);
    PCCERT_CONTEXT roots[1] = {&pki->root_ctx};
    assert_int_equal(protection_cred_create(&s->node.ctx, 1, roots, &s->pc), S_OK);
    s->rng = seed;
}

static void side_free(struct side *s)
{
    protection_cred_release(protection_cred_neg(s->pc));
    fx_node_free(&s->node);
}

static void addr(struct neg_peer *p, uint8_t last)
{
    memset(p, 0, sizeof(*p));
    p->ip_version = FWP_IP_VERSION_V4;
    p->addr[0] = 10;
    p->addr[3] = last;
    p->port = 3540;
}

static struct neg *make_neg(struct side *s, const struct neg_cred *cred, uint8_t me, uint8_t peer,
                            struct neg_keymgr_env km)
{
    struct neg_config c = {.cred = cred, .random = rng_fill, .random_ctx = &s->rng, .km = km,
                           .auth = &s->auth};
    addr(&c.local, me);
    addr(&c.remote, peer);
    struct neg *n = neg_create(&c);
    assert_non_null(n);
    return n;
}

/* Runs an exchange to its end (no loss); returns the datagrams sent. */
static int exchange(struct neg *i, struct neg *r)
{
    struct neg_out a, b;
    assert_true(neg_start(i, NOW, &a));
    assert_true(neg_accept(r, NOW, a.buf, a.len, &b));
    int n = 2;
    for (int k = 0; k < 4 && b.len; k++) {
        assert_true(neg_receive(i, NOW, b.buf, b.len, &a));
        b.len = 0;
        if (a.len) {
            n++;
            assert_true(a.len <= NEG_MAX_DATAGRAM);
            assert_true(neg_receive(r, NOW, a.buf, a.len, &b));
            n += b.len > 0;
        }
    }
    return n;
}

/* A packet sealed by one side's outbound SA opens with the other's inbound. */
static void assert_sa_pair_works(struct neg *from, struct neg *to)
{
    static const uint8_t msg[] = "a DRT message";
    uint8_t pkt[256], back[256], nh = 0;
    size_t n = 0, m = 0;
    assert_int_equal(esp_seal(neg_sa_outbound(from), 253, msg, sizeof(msg), pkt, sizeof(pkt), &n),
                     ESP_OK);
    assert_int_equal(esp_open(neg_sa_inbound(to), pkt, n, back, sizeof(back), &m, &nh), ESP_OK);
    assert_int_equal(m, sizeof(msg));
    assert_memory_equal(back, msg, m);
}

static const struct neg_keymgr_env NO_KM = {0};

/* ------------------------------------------------------------ tests */

static void establishes_with(enum fx_keytype type, bool via_inter)
{
    struct side a, b;
    side_init(&a, type, via_inter, 1);
    side_init(&b, type, via_inter, 2);
    for (int round = 0; round < 2; round++) {
        struct neg *i = make_neg(&a, protection_cred_neg(a.pc), 1, 2, NO_KM);
        struct neg *r = make_neg(&b, protection_cred_neg(b.pc), 2, 1, NO_KM);
        assert_int_equal(exchange(i, r), 4);
        assert_int_equal(neg_state(i), NEG_S_ESTABLISHED);
        assert_int_equal(neg_state(r), NEG_S_ESTABLISHED);
        assert_sa_pair_works(i, r);
        assert_sa_pair_works(r, i);
        neg_free(i);
        neg_free(r);
    }
    /* each side checked the other's chain once; the second round found it */
    for (int s = 0; s < 2; s++) {
        uint64_t verified = 0, hits = 0;
        protection_cred_stats(protection_cred_neg(s ? b.pc : a.pc), &verified, &hits);
        assert_int_equal(verified, 1);
        assert_int_equal(hits, 1);
    }
    assert_int_equal(a.auth.failed + a.auth.refused + b.auth.failed + b.auth.refused, 0);
    side_free(&a);
    side_free(&b);
}

static void test_same_root_ec_establishes(void **state)
{
    (void)state;
    establishes_with(FX_EC_P256, false);
}

static void test_same_root_ed25519_establishes(void **state)
{
    (void)state;
    establishes_with(FX_ED25519, false);
}

static void test_same_root_rsa_establishes(void **state)
{
    (void)state;
    establishes_with(FX_RSA2048, false);
}

static void test_chain_through_intermediate_establishes(void **state)
{
    (void)state;
    establishes_with(FX_EC_P256, true);
}

/* The responder's dictated keys follow a credential AUTH field of any
 * size in AUTH_RESP: the initiator installs them. */
static int dictations;
static DWORD CALLBACK dictate_pattern(IPSEC_SA_DETAILS1 *in, IPSEC_SA_DETAILS1 *out, BOOL *gen)
{
    (void)out;
    *gen = FALSE;
    dictations++;
    IPSEC_SA_AUTH_AND_CIPHER_INFORMATION0 *info =
        in->saBundle.saList[0].espAuthAndCipherInformation;
    memset(info->saCipherInformation.cipherKey.data, 0x5A, ESP_KEYMAT_SIZE);
    return ERROR_SUCCESS;
}

static uint64_t still_clock(void *ctx)
{
    (void)ctx;
    return NOW;
}

static void CALLBACK will_dictate(const IKEEXT_TRAFFIC0 *t, BOOL *will, UINT32 *w)
{
    (void)t;
    *will = TRUE;
    *w = 1;
}

static void test_responder_dictation_under_credentials(void **state)
{
    (void)state;
    struct side a, b;
    /* the responder's AUTH field the largest of the three key types */
    side_init(&a, FX_EC_P256, false, 3);
    side_init(&b, FX_RSA2048, false, 4);
    struct test_env env;
    assert_int_equal(test_env_init(&env, 0, 0), ERROR_SUCCESS);
    HANDLE session, reg;
    assert_int_equal(ipsec_session_open(env.e, &ROOT, NULL, &session), ERROR_SUCCESS);
    static const IPSEC_KEY_MANAGER_CALLBACKS0 cbs = {
        .keyDictationCheck = will_dictate, .keyDictation = dictate_pattern, .keyNotify = nop_notify};
    IPSEC_KEY_MANAGER0 km = {.flags = IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY};
    assert_int_equal(ipsec_keymgr_add(env.e, session, &km, &cbs, &reg), ERROR_SUCCESS);
    struct neg_keymgr_env kme = {.engine = env.e, .clock_ms = still_clock, .random = rng_fill,
                                 .random_ctx = &b.rng};
    dictations = 0;
    struct neg *i = make_neg(&a, protection_cred_neg(a.pc), 1, 2, NO_KM);
    struct neg *r = make_neg(&b, protection_cred_neg(b.pc), 2, 1, kme);
    exchange(i, r);
    assert_int_equal(dictations, 1);
    assert_int_equal(neg_state(i), NEG_S_ESTABLISHED);
    assert_int_equal(neg_state(r), NEG_S_ESTABLISHED);
    assert_int_equal(neg_winner(i), NEG_WIN_RESPONDER);
    assert_sa_pair_works(i, r);
    assert_sa_pair_works(r, i);
    neg_free(i);
    neg_free(r);
    ipsec_engine_destroy(env.e);
    side_free(&a);
    side_free(&b);
}

enum bad { BAD_OTHER_ROOT, BAD_EXPIRED, BAD_WRONG_KEY, BAD_TRUNCATED, BAD_GARBAGE, BAD_COUNT };

static const char *const bad_names[BAD_COUNT] = {"other root", "expired", "wrong key",
                                                 "truncated chain", "garbage chain"};

/* A credential of kind `bad` for side s, checking peers with s's real
 * verifier; `other` is the certificate it needs beyond s's, if any. */
struct bad_cred {
    struct routed r;
    struct fx_node other;
};

static void bad_init(struct bad_cred *bc, enum bad bad, struct side *s)
{
    const struct fx_pki *pki = fx_pki();
    memset(bc, 0, sizeof(*bc));
    const struct neg_cred *verifier = protection_cred_neg(s->pc);
    switch (bad) {
    case BAD_OTHER_ROOT:
        fx_node_init(&bc->other, FX_EC_P256, pki->other_root, pki->other_key, NULL, -1, 30);
        routed_init(&bc->r, &bc->other, bc->other.key, verifier);
        break;
    case BAD_EXPIRED:
        fx_node_init(&bc->other, FX_EC_P256, pki->root, pki->root_key, NULL, -10, -1);
        routed_init(&bc->r, &bc->other, bc->other.key, verifier);
        break;
    case BAD_WRONG_KEY: /* s's own valid chain, signed with another key */
        fx_node_init(&bc->other, FX_EC_P256, pki->root, pki->root_key, NULL, -1, 30);
        routed_init(&bc->r, &s->node, bc->other.key, verifier);
        break;
    case BAD_TRUNCATED:
        routed_init(&bc->r, &s->node, s->node.key, verifier);
        bc->r.t.nc.chain_len -= 10;
        break;
    case BAD_GARBAGE:
        routed_init(&bc->r, &s->node, s->node.key, verifier);
        for (size_t k = 0; k < bc->r.t.nc.chain_len; k++)
            bc->r.t.chain[k] = (uint8_t)(k * 37 + 11);
        break;
    default:
        fail();
    }
}

static void bad_free(struct bad_cred *bc)
{
    if (bc->other.cert)
        fx_node_free(&bc->other);
}

static DWORD expected_code(enum bad bad)
{
    return bad == BAD_WRONG_KEY ? (DWORD)ERROR_ACCESS_DENIED : (DWORD)DRT_E_INVALID_CERT_CHAIN;
}

/* The initiator's credential is bad: the responder refuses it (AUTH_RESP
 * with the code), neither side installs anything. */
static void test_bad_initiator_credential_fails_cleanly(void **state)
{
    (void)state;
    for (enum bad bad = 0; bad < BAD_COUNT; bad++) {
        print_message("initiator: %s\n", bad_names[bad]);
        struct side a, b;
        side_init(&a, FX_EC_P256, false, 5);
        side_init(&b, FX_EC_P256, false, 6);
        struct bad_cred bc;
        bad_init(&bc, bad, &a);
        struct neg *i = make_neg(&a, &bc.r.t.nc, 1, 2, NO_KM);
        struct neg *r = make_neg(&b, protection_cred_neg(b.pc), 2, 1, NO_KM);
        assert_int_equal(exchange(i, r), 4); /* INIT, INIT_RESP, AUTH_REQ, refusal */
        assert_int_equal(neg_state(r), NEG_S_FAILED);
        assert_int_equal(neg_error(r), NEG_ERR_AUTH);
        assert_int_equal(neg_error_code(r), expected_code(bad));
        assert_int_equal(neg_state(i), NEG_S_FAILED);
        assert_int_equal(neg_error(i), NEG_ERR_PEER_AUTH);
        assert_int_equal(neg_error_code(i), expected_code(bad));
        assert_null(neg_sa_inbound(i));
        assert_null(neg_sa_inbound(r));
        assert_int_equal(b.auth.failed, 1);
        assert_int_equal(b.auth.last_code, expected_code(bad));
        assert_int_equal(a.auth.refused, 1);
        neg_free(i);
        neg_free(r);
        bad_free(&bc);
        side_free(&a);
        side_free(&b);
    }
}

/* The responder's credential is bad: the initiator refuses it and sends a
 * DELETE, which frees the pair the responder had installed. */
static void test_bad_responder_credential_fails_cleanly(void **state)
{
    (void)state;
    for (enum bad bad = 0; bad < BAD_COUNT; bad++) {
        print_message("responder: %s\n", bad_names[bad]);
        struct side a, b;
        side_init(&a, FX_EC_P256, false, 7);
        side_init(&b, FX_EC_P256, false, 8);
        struct bad_cred bc;
        bad_init(&bc, bad, &b);
        struct neg *i = make_neg(&a, protection_cred_neg(a.pc), 1, 2, NO_KM);
        struct neg *r = make_neg(&b, &bc.r.t.nc, 2, 1, NO_KM);
        assert_int_equal(exchange(i, r), 5); /* ..., AUTH_RESP, DELETE */
        assert_int_equal(neg_state(i), NEG_S_FAILED);
        assert_int_equal(neg_error(i), NEG_ERR_AUTH);
        assert_int_equal(neg_error_code(i), expected_code(bad));
        assert_int_equal(neg_state(r), NEG_S_DELETED);
        assert_null(neg_sa_inbound(i));
        assert_null(neg_sa_inbound(r));
        assert_null(neg_sa_outbound(r));
        assert_int_equal(a.auth.failed, 1);
        assert_int_equal(a.auth.last_code, expected_code(bad));
        neg_free(i);
        neg_free(r);
        bad_free(&bc);
        side_free(&a);
        side_free(&b);
    }
}

/* A side with the PSK and a side with a credential never agree: each
 * reads the other's AUTH field as garbage of its own method. */
static void test_psk_and_credential_do_not_mix(void **state)
{
    (void)state;
    static const uint8_t psk[] = "mesh key";
    for (int cred_first = 0; cred_first < 2; cred_first++) {
        struct side a, b;
        side_init(&a, FX_EC_P256, false, 9);
        side_init(&b, FX_EC_P256, false, 10);
        struct neg_config pc = {.psk = psk, .psk_len = sizeof(psk) - 1, .random = rng_fill,
                                .random_ctx = &b.rng, .auth = &b.auth};
        addr(&pc.local, 2);
        addr(&pc.remote, 1);
        struct neg *c = make_neg(&a, protection_cred_neg(a.pc), 1, 2, NO_KM);
        struct neg *p = neg_create(&pc);
        assert_non_null(p);
        struct neg *i = cred_first ? c : p, *r = cred_first ? p : c;
        exchange(i, r);
        assert_int_equal(neg_state(i), NEG_S_FAILED);
        assert_int_equal(neg_state(r), NEG_S_FAILED);
        assert_int_equal(neg_error(r), NEG_ERR_AUTH);
        assert_int_equal(neg_error_code(r), ERROR_ACCESS_DENIED);
        assert_int_equal(neg_error(i), NEG_ERR_PEER_AUTH);
        assert_null(neg_sa_inbound(i));
        assert_null(neg_sa_inbound(r));
        neg_free(c);
        neg_free(p);
        side_free(&a);
        side_free(&b);
    }
}

/* A chain and signature that do not fit an AUTH field: the initiator
 * fails before sending anything it could not send whole. */
static void test_credential_too_large_fails_locally(void **state)
{
    (void)state;
    struct side a, b;
    side_init(&a, FX_EC_P256, false, 11);
    side_init(&b, FX_EC_P256, false, 12);
    struct routed big;
    routed_init(&big, &a.node, a.node.key, protection_cred_neg(a.pc));
    big.t.nc.chain_len = NEG_CRED_AUTH_MAX - NEG_CRED_AUTH_MIN; /* the largest create takes */
    struct neg *i = make_neg(&a, &big.t.nc, 1, 2, NO_KM);
    struct neg *r = make_neg(&b, protection_cred_neg(b.pc), 2, 1, NO_KM);
    struct neg_out o1, o2, o3;
    assert_true(neg_start(i, NOW, &o1));
    assert_true(neg_accept(r, NOW, o1.buf, o1.len, &o2));
    assert_true(neg_receive(i, NOW, o2.buf, o2.len, &o3));
    assert_int_equal(o3.len, 0);
    assert_int_equal(neg_state(i), NEG_S_FAILED);
    assert_int_equal(neg_error(i), NEG_ERR_CRYPTO);
    neg_free(i);
    neg_free(r);
    side_free(&a);
    side_free(&b);
}

static size_t no_sign(void *ctx, const uint8_t *m, size_t l, uint8_t *s)
{
    (void)ctx, (void)m, (void)l, (void)s;
    return 0;
}

static DWORD no_verify(void *ctx, const uint8_t *c, size_t cl, const uint8_t *m, size_t l,
                       const uint8_t *s, size_t sl)
{
    (void)ctx, (void)c, (void)cl, (void)m, (void)l, (void)s, (void)sl;
    return ERROR_ACCESS_DENIED;
}

/* Exactly one of a PSK and a credential, each complete. */
static void test_config_needs_exactly_one_method(void **state)
{
    (void)state;
    static const uint8_t psk[] = "k", chain[4] = {1, 2, 3, 4};
    uint64_t rng = 1;
    struct neg_cred good = {.chain = chain, .chain_len = 4, .sign = no_sign, .verify = no_verify};
    struct neg_cred cases[] = {good, good, good, good, good};
    cases[0].chain = NULL;
    cases[1].chain_len = 0;
    cases[2].chain_len = NEG_CRED_AUTH_MAX - NEG_CRED_AUTH_MIN + 1;
    cases[3].sign = NULL;
    cases[4].verify = NULL;
    struct neg_config c = {.random = rng_fill, .random_ctx = &rng};
    assert_null(neg_create(&c)); /* neither */
    c.cred = &good;
    struct neg *n = neg_create(&c);
    assert_non_null(n);
    neg_free(n);
    c.psk = psk;
    c.psk_len = 1;
    assert_null(neg_create(&c)); /* both */
    c.psk = NULL;
    c.psk_len = 0;
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        c.cred = &cases[k];
        assert_null(neg_create(&c));
    }
}

/* The real credential refuses what cannot be a node's: codes of
 * DrtSetTransportProtectionCredential past its argument checks. */
static void test_protection_cred_create_codes(void **state)
{
    (void)state;
    const struct fx_pki *pki = fx_pki();
    PCCERT_CONTEXT root[1] = {&pki->root_ctx}, other[1] = {&pki->other_ctx};
    PCCERT_CONTEXT both[2] = {&pki->other_ctx, &pki->root_ctx};
    struct fx_node good, expired, weak;
    fx_node_init(&good, FX_EC_P256, pki->root, pki->root_key, NULL, -1, 30);
    fx_node_init(&expired, FX_EC_P256, pki->root, pki->root_key, NULL, -10, -1);
    fx_node_init(&weak, FX_RSA1024, pki->root, pki->root_key, NULL, -1, 30);
    struct protection_cred *pc = NULL;
    assert_int_equal(protection_cred_create(&good.ctx, 1, other, &pc), DRT_E_INVALID_CERT_CHAIN);
    assert_null(pc);
    assert_int_equal(protection_cred_create(&expired.ctx, 1, root, &pc), DRT_E_INVALID_CERT_CHAIN);
    assert_int_equal(protection_cred_create(&weak.ctx, 1, root, &pc), DRT_E_CAPABILITY_MISMATCH);
    CERT_CONTEXT mismatched = good.ctx;
    mismatched.pPrivateKey = expired.key; /* not good's key */
    assert_int_equal(protection_cred_create(&mismatched, 1, root, &pc), DRT_E_CAPABILITY_MISMATCH);
    /* any of several roots will do */
    assert_int_equal(protection_cred_create(&good.ctx, 2, both, &pc), S_OK);
    protection_cred_release(protection_cred_neg(pc));
    fx_node_free(&good);
    fx_node_free(&expired);
    fx_node_free(&weak);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_root_ec_establishes),
        cmocka_unit_test(test_same_root_ed25519_establishes),
        cmocka_unit_test(test_same_root_rsa_establishes),
        cmocka_unit_test(test_chain_through_intermediate_establishes),
        cmocka_unit_test(test_responder_dictation_under_credentials),
        cmocka_unit_test(test_bad_initiator_credential_fails_cleanly),
        cmocka_unit_test(test_bad_responder_credential_fails_cleanly),
        cmocka_unit_test(test_psk_and_credential_do_not_mix),
        cmocka_unit_test(test_credential_too_large_fails_locally),
        cmocka_unit_test(test_config_needs_exactly_one_method),
        cmocka_unit_test(test_protection_cred_create_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
