/*
 * test_negotiation.c - two SA negotiators in one process passing datagrams
 * by hand: the exchange, the key-manager cycle (check, arbitration,
 * dictation and its failures, notification), loss, replay, tampering,
 * wrong pre-shared keys and the cookie defence.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ipsec/neg_crypto.h"
#include "ipsec/neg_responder.h"
#include "ipsec/negotiation.h"
#include "ipsec_test_util.h"
#include "test_negotiation_vector.h"

/* ------------------------------------------------------------ randomness */

struct prng {
    uint64_t s;
    bool fail;
};

static int prng_fill(void *ctx, void *buf, size_t len)
{
    struct prng *p = ctx;
    if (p->fail)
        return -1;
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

/* ------------------------------------------------------------ key managers */

enum dict_mode { D_OK, D_FAIL, D_FAIL_GEN, D_LATE, D_LATE_GEN, D_SHORT, D_SPLIT_MISMATCH, D_FAIL_ACCESS };

/* What one side's key managers do and saw. Callbacks have no context, so
 * each side has its own functions over its slot. */
struct tia {
    bool will;
    UINT32 weight;
    enum dict_mode mode;
    uint8_t pattern; /* dictated key byte */
    int checks, dictations, notifies;
    uint32_t n_in_spi, n_out_spi;
    uint8_t n_in_key[ESP_KEYMAT_SIZE], n_out_key[ESP_KEYMAT_SIZE];
    UINT32 n_flags;
    UINT32 n_qm;
    FWP_DIRECTION n_in_dir, n_out_dir;
    bool same_blob; /* auth and cipher blobs identical in what notify saw */
    HANDLE unregister_self; /* notify-only registration that leaves from its callback */
    HANDLE handle;          /* the side's registration (register_tia) */
    bool leave_in_check;    /* the dictator unregisters itself from keyDictationCheck */
};

static struct tia tias[2];
static uint64_t fake_ms;
static struct ipsec_engine *engines[2];
static HANDLE sessions[2];
static pthread_mutex_t locks[2];
static int lock_errors;

static void do_check(struct tia *t, BOOL *will, UINT32 *w)
{
    t->checks++;
    if (t->leave_in_check) {
        int side = t == &tias[0] ? 0 : 1;
        if (pthread_mutex_lock(&locks[side]) != 0)
            lock_errors++;
        assert_int_equal(ipsec_keymgr_remove(engines[side], sessions[side], t->handle),
                         ERROR_SUCCESS);
        pthread_mutex_unlock(&locks[side]);
    }
    *will = t->will ? TRUE : FALSE;
    *w = t->weight;
}

static DWORD do_dictate(struct tia *t, IPSEC_SA_DETAILS1 *in, IPSEC_SA_DETAILS1 *out, BOOL *gen)
{
    t->dictations++;
    IPSEC_SA_DETAILS1 *ds[2] = {in, out};
    for (int i = 0; i < 2; i++) {
        IPSEC_SA_AUTH_AND_CIPHER_INFORMATION0 *info = ds[i]->saBundle.saList[0].espAuthAndCipherInformation;
        assert_int_equal(info->saCipherInformation.cipherKey.size, ESP_KEYMAT_SIZE);
        memset(info->saCipherInformation.cipherKey.data, t->pattern + i, ESP_KEYMAT_SIZE);
        if (t->mode == D_SHORT)
            info->saCipherInformation.cipherKey.size = 32;
        if (t->mode == D_SPLIT_MISMATCH) {
            static uint8_t other[ESP_KEYMAT_SIZE];
            memset(other, 0xEE, sizeof(other));
            info->saAuthInformation.authKey.data = other;
        }
    }
    switch (t->mode) {
    case D_FAIL:
        *gen = FALSE;
        return FWP_E_INVALID_PARAMETER;
    case D_FAIL_GEN:
        *gen = TRUE;
        return FWP_E_INVALID_PARAMETER;
    case D_FAIL_ACCESS: /* a code that is also the AUTH failure's status */
        *gen = FALSE;
        return ERROR_ACCESS_DENIED;
    case D_LATE:
    case D_LATE_GEN:
        *gen = t->mode == D_LATE_GEN ? TRUE : FALSE;
        fake_ms += 5001; /* the default hint is 5 s */
        return ERROR_SUCCESS;
    default:
        return ERROR_SUCCESS;
    }
}

static const uint8_t *blob_of(const IPSEC_SA_DETAILS1 *d, bool auth)
{
    const IPSEC_SA_AUTH_AND_CIPHER_INFORMATION0 *i = d->saBundle.saList[0].espAuthAndCipherInformation;
    return auth ? i->saAuthInformation.authKey.data : i->saCipherInformation.cipherKey.data;
}

static void do_notify(int side, const IPSEC_SA_DETAILS1 *in, const IPSEC_SA_DETAILS1 *out)
{
    struct tia *t = &tias[side];
    t->notifies++;
    t->n_in_spi = in->saBundle.saList[0].spi;
    t->n_out_spi = out->saBundle.saList[0].spi;
    memcpy(t->n_in_key, blob_of(in, false), ESP_KEYMAT_SIZE);
    memcpy(t->n_out_key, blob_of(out, false), ESP_KEYMAT_SIZE);
    t->same_blob = memcmp(blob_of(in, true), blob_of(in, false), ESP_KEYMAT_SIZE) == 0 &&
                   memcmp(blob_of(out, true), blob_of(out, false), ESP_KEYMAT_SIZE) == 0;
    t->n_flags = in->saBundle.flags;
    t->n_qm = in->saBundle.qmSaId;
    t->n_in_dir = in->saDirection;
    t->n_out_dir = out->saDirection;
    assert_int_equal(in->saBundle.flags, out->saBundle.flags);
    assert_int_equal(in->saBundle.qmSaId, out->saBundle.qmSaId);
    if (t->unregister_self) {
        /* calling back into the registry from a callback: the lock is free */
        int e = pthread_mutex_lock(&locks[side]);
        if (e)
            lock_errors++;
        assert_int_equal(ipsec_keymgr_remove(engines[side], sessions[side], t->unregister_self),
                         ERROR_SUCCESS);
        assert_true(ipsec_keymgr_draining(engines[side], t->unregister_self));
        pthread_mutex_unlock(&locks[side]);
        t->unregister_self = NULL;
    }
}

static void CALLBACK check0(const IKEEXT_TRAFFIC0 *tr, BOOL *w, UINT32 *wt)
{
    (void)tr;
    do_check(&tias[0], w, wt);
}
static void CALLBACK check1(const IKEEXT_TRAFFIC0 *tr, BOOL *w, UINT32 *wt)
{
    (void)tr;
    do_check(&tias[1], w, wt);
}
static DWORD CALLBACK dict0(IPSEC_SA_DETAILS1 *i, IPSEC_SA_DETAILS1 *o, BOOL *g)
{
    return do_dictate(&tias[0], i, o, g);
}
static DWORD CALLBACK dict1(IPSEC_SA_DETAILS1 *i, IPSEC_SA_DETAILS1 *o, BOOL *g)
{
    return do_dictate(&tias[1], i, o, g);
}
static void CALLBACK notify0(const IPSEC_SA_DETAILS1 *i, const IPSEC_SA_DETAILS1 *o)
{
    do_notify(0, i, o);
}
static void CALLBACK notify1(const IPSEC_SA_DETAILS1 *i, const IPSEC_SA_DETAILS1 *o)
{
    do_notify(1, i, o);
}

static void lock_fn(void *ctx)
{
    if (pthread_mutex_lock(ctx) != 0)
        lock_errors++;
}
static void unlock_fn(void *ctx)
{
    if (pthread_mutex_unlock(ctx) != 0)
        lock_errors++;
}
static uint64_t clock_fn(void *ctx)
{
    (void)ctx;
    return fake_ms;
}

/* ------------------------------------------------------------ the pair */

enum tia_kind { T_NONE, T_NOTIFY, T_DICTATOR };

struct pair {
    struct test_env env[2];
    struct prng rng[2];
    struct neg *ini;
    struct neg_responder *resp;
    struct neg *rn; /* the responder's negotiation, once it exists */
    struct neg_peer a, b;
    uint64_t now;
    /* every datagram delivered, in order, and its direction */
    uint8_t log[16][NEG_MAX_DATAGRAM];
    size_t log_len[16];
    bool log_to_resp[16];
    size_t nlog;
    /* called before each datagram is delivered (may deliver others first) */
    void (*before)(struct pair *p, bool to_resp, const uint8_t *d, size_t len);
};

static uint32_t pair_max_half_open = 8;

static const uint8_t PSK[] = "a mesh pre-shared key";

static void register_tia(struct pair *p, int side, enum tia_kind kind)
{
    if (kind == T_NONE)
        return;
    static const IPSEC_KEY_MANAGER_CALLBACKS0 cbs[2][2] = {
        {{.keyNotify = notify0}, {.keyDictationCheck = check0, .keyDictation = dict0, .keyNotify = notify0}},
        {{.keyNotify = notify1}, {.keyDictationCheck = check1, .keyDictation = dict1, .keyNotify = notify1}},
    };
    IPSEC_KEY_MANAGER0 km = {.flags = kind == T_DICTATOR ? IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY : 0};
    assert_int_equal(ipsec_keymgr_add(p->env[side].e, sessions[side], &km,
                                      &cbs[side][kind == T_DICTATOR], &tias[side].handle),
                     ERROR_SUCCESS);
}

/* Calls the negotiations hand to env.ask, in order, with their side. */
static struct {
    struct neg_km_call c[16];
    int side[16];
    size_t n;
} asked;
static int side_ids[2] = {0, 1};

static void ask_fn(void *ctx, const struct neg_km_call *c)
{
    assert_true(asked.n < 16);
    asked.c[asked.n] = *c;
    asked.side[asked.n++] = *(int *)ctx;
}

/* When set, the negotiations pair_init makes hand their calls to ask_fn. */
static bool async_calls;

static struct neg_keymgr_env km_env(struct pair *p, int side)
{
    return (struct neg_keymgr_env){
        .engine = p->env[side].e,
        .lock = lock_fn,
        .unlock = unlock_fn,
        .lock_ctx = &locks[side],
        .clock_ms = clock_fn,
        .random = prng_fill,
        .random_ctx = &p->rng[side],
        .ask = async_calls ? ask_fn : NULL,
        .ask_ctx = &side_ids[side],
    };
}

static void peer(struct neg_peer *x, uint8_t last)
{
    memset(x, 0, sizeof(*x));
    x->ip_version = FWP_IP_VERSION_V4;
    x->addr[0] = 10;
    x->addr[3] = last;
    x->port = 3540;
}

static void pair_init_psk(struct pair *p, enum tia_kind k0, enum tia_kind k1, const char *psk_b)
{
    memset(p, 0, sizeof(*p));
    memset(tias, 0, sizeof(tias));
    fake_ms = 1000;
    lock_errors = 0;
    for (int s = 0; s < 2; s++) {
        assert_int_equal(test_env_init(&p->env[s], 0, 0), ERROR_SUCCESS);
        engines[s] = p->env[s].e;
        assert_int_equal(ipsec_session_open(p->env[s].e, &ROOT, NULL, &sessions[s]), ERROR_SUCCESS);
        pthread_mutexattr_t at;
        pthread_mutexattr_init(&at);
        pthread_mutexattr_settype(&at, PTHREAD_MUTEX_ERRORCHECK);
        pthread_mutex_init(&locks[s], &at);
        pthread_mutexattr_destroy(&at);
        p->rng[s].s = 0x1000u + (uint64_t)s;
        tias[s].pattern = (uint8_t)(0x40 + 0x20 * s);
    }
    register_tia(p, 0, k0);
    register_tia(p, 1, k1);
    peer(&p->a, 1);
    peer(&p->b, 2);
    struct neg_config c = {
        .psk = PSK,
        .psk_len = sizeof(PSK) - 1,
        .random = prng_fill,
        .random_ctx = &p->rng[0],
        .km = km_env(p, 0),
        .local = p->a,
        .remote = p->b,
    };
    p->ini = neg_create(&c);
    assert_non_null(p->ini);
    struct neg_responder_config rc = {.base = c, .max_half_open = pair_max_half_open};
    rc.base.random_ctx = &p->rng[1];
    rc.base.km = km_env(p, 1);
    rc.base.local = p->b;
    if (psk_b) {
        rc.base.psk = (const uint8_t *)psk_b;
        rc.base.psk_len = strlen(psk_b);
    }
    p->resp = neg_responder_create(&rc, p->now);
    assert_non_null(p->resp);
}

static void pair_init(struct pair *p, enum tia_kind k0, enum tia_kind k1)
{
    pair_init_psk(p, k0, k1, NULL);
}

static void pair_free(struct pair *p)
{
    neg_free(p->ini);
    neg_responder_free(p->resp);
    for (int s = 0; s < 2; s++) {
        ipsec_engine_destroy(p->env[s].e);
        pthread_mutex_destroy(&locks[s]);
    }
    assert_int_equal(lock_errors, 0);
}

/* Runs the exchange to its end. Datagram number `drop` (0-based, counting
 * every datagram put on the wire, retransmissions included) is lost. */
static void run(struct pair *p, int drop)
{
    struct neg_out o;
    assert_true(neg_start(p->ini, p->now, &o));
    bool to_resp = true;
    int sent = 0;
    for (int steps = 0; steps < 64; steps++) {
        if (o.len) {
            int k = sent++;
            if (k == drop) {
                o.len = 0;
                continue;
            }
            if (p->nlog < 16) {
                memcpy(p->log[p->nlog], o.buf, o.len);
                p->log_len[p->nlog] = o.len;
                p->log_to_resp[p->nlog++] = to_resp;
            }
            struct neg_out in = o;
            if (p->before)
                p->before(p, to_resp, in.buf, in.len);
            if (to_resp) {
                struct neg *n = neg_responder_receive(p->resp, p->now, &p->a, in.buf, in.len, &o);
                if (n)
                    p->rn = n;
                to_resp = false;
            } else {
                neg_receive(p->ini, p->now, in.buf, in.len, &o);
                to_resp = true;
            }
            continue;
        }
        enum neg_state s = neg_state(p->ini);
        if (s == NEG_S_ESTABLISHED || s == NEG_S_FAILED)
            break;
        uint64_t t = neg_next_timeout(p->ini);
        if (t == UINT64_MAX)
            break;
        p->now = t;
        neg_tick(p->ini, p->now, &o);
        to_resp = true;
    }
}

/* The SAs work both ways: sealed on one side, opened on the other. */
static void assert_interop(struct pair *p)
{
    assert_int_equal(neg_state(p->ini), NEG_S_ESTABLISHED);
    assert_non_null(p->rn);
    assert_int_equal(neg_state(p->rn), NEG_S_ESTABLISHED);
    struct esp_sa *sides[2][2] = {{neg_sa_outbound(p->ini), neg_sa_inbound(p->rn)},
                                  {neg_sa_outbound(p->rn), neg_sa_inbound(p->ini)}};
    for (int d = 0; d < 2; d++) {
        uint8_t pkt[256], back[256];
        size_t plen, blen;
        uint8_t nh;
        const char msg[] = "hello over the negotiated SA";
        assert_int_equal(esp_seal(sides[d][0], 17, (const uint8_t *)msg, sizeof(msg), pkt,
                                  sizeof(pkt), &plen),
                         ESP_OK);
        assert_int_equal(esp_open(sides[d][1], pkt, plen, back, sizeof(back), &blen, &nh), ESP_OK);
        assert_int_equal(blen, sizeof(msg));
        assert_memory_equal(back, msg, sizeof(msg));
        /* and not the other direction's SA */
        struct esp_sa *wrong = d == 0 ? neg_sa_inbound(p->ini) : neg_sa_inbound(p->rn);
        assert_int_not_equal(esp_open(wrong, pkt, plen, back, sizeof(back), &blen, &nh), ESP_OK);
    }
}

static void keymat_of(const struct esp_sa *sa, uint8_t out[ESP_KEYMAT_SIZE])
{
    memcpy(out, sa->key, 32);
    memcpy(out + 32, sa->salt, 4);
}

/* Both sides' notify callbacks saw the installed keys, mirrored. */
static void assert_notified(struct pair *p)
{
    assert_int_equal(tias[0].notifies, 1);
    assert_int_equal(tias[1].notifies, 1);
    assert_int_equal(tias[0].n_in_spi, tias[1].n_out_spi);
    assert_int_equal(tias[0].n_out_spi, tias[1].n_in_spi);
    assert_memory_equal(tias[0].n_in_key, tias[1].n_out_key, ESP_KEYMAT_SIZE);
    assert_memory_equal(tias[0].n_out_key, tias[1].n_in_key, ESP_KEYMAT_SIZE);
    assert_memory_not_equal(tias[0].n_in_key, tias[0].n_out_key, ESP_KEYMAT_SIZE);
    assert_int_equal(tias[0].n_qm, tias[1].n_qm);
    assert_int_equal(tias[0].n_in_dir, FWP_DIRECTION_INBOUND);
    assert_int_equal(tias[0].n_out_dir, FWP_DIRECTION_OUTBOUND);
    assert_true(tias[0].same_blob && tias[1].same_blob);
    uint8_t k[ESP_KEYMAT_SIZE];
    keymat_of(neg_sa_inbound(p->ini), k);
    assert_memory_equal(k, tias[0].n_in_key, ESP_KEYMAT_SIZE);
    keymat_of(neg_sa_outbound(p->rn), k);
    assert_memory_equal(k, tias[1].n_out_key, ESP_KEYMAT_SIZE);
    assert_int_equal(neg_sa_inbound(p->ini)->spi, tias[0].n_in_spi);
    assert_int_equal(neg_sa_inbound(p->rn)->spi, tias[1].n_in_spi);
}

static void assert_no_sa(struct pair *p)
{
    assert_null(neg_sa_inbound(p->ini));
    if (p->rn)
        assert_null(neg_sa_inbound(p->rn));
    assert_int_equal(tias[0].notifies, 0);
    assert_int_equal(tias[1].notifies, 0);
}

/* ------------------------------------------------------------ the tests */

static void test_happy_path_no_tia(void **state)
{
    (void)state;
    struct pair p;
    pair_init(&p, T_NONE, T_NONE);
    run(&p, -1);
    assert_interop(&p);
    assert_int_equal(neg_winner(p.ini), NEG_WIN_NONE);
    assert_int_equal(neg_retransmits(p.ini), 0);
    assert_int_equal(p.nlog, 4); /* INIT_REQ, INIT_RESP, AUTH_REQ, AUTH_RESP */
    pair_free(&p);
}

static void test_notify_only(void **state)
{
    (void)state;
    struct pair p;
    pair_init(&p, T_NOTIFY, T_NOTIFY);
    run(&p, -1);
    assert_interop(&p);
    assert_notified(&p);
    assert_int_equal(tias[0].n_flags & (IPSEC_SA_BUNDLE_FLAG_USING_DICTATED_KEYS |
                                        IPSEC_SA_BUNDLE_FLAG_LOCALLY_DICTATED_KEYS), 0);
    assert_int_equal(tias[0].checks + tias[1].checks, 0);
    pair_free(&p);
}

/* side: which side's dictator is expected to have written the keys. */
static void assert_dictated_by(struct pair *p, int side)
{
    assert_interop(p);
    assert_notified(p);
    assert_int_equal(tias[side].dictations, 1);
    assert_int_equal(tias[1 - side].dictations, 0);
    assert_int_equal(neg_winner(p->ini), side == 0 ? NEG_WIN_INITIATOR : NEG_WIN_RESPONDER);
    assert_int_equal(neg_winner(p->rn), neg_winner(p->ini));
    uint8_t in[ESP_KEYMAT_SIZE], out[ESP_KEYMAT_SIZE];
    memset(in, tias[side].pattern, sizeof(in));
    memset(out, tias[side].pattern + 1, sizeof(out));
    assert_memory_equal(tias[side].n_in_key, in, ESP_KEYMAT_SIZE);
    assert_memory_equal(tias[side].n_out_key, out, ESP_KEYMAT_SIZE);
    UINT32 both = IPSEC_SA_BUNDLE_FLAG_USING_DICTATED_KEYS | IPSEC_SA_BUNDLE_FLAG_LOCALLY_DICTATED_KEYS;
    assert_int_equal(tias[side].n_flags & both, both);
    assert_int_equal(tias[1 - side].n_flags & both, IPSEC_SA_BUNDLE_FLAG_USING_DICTATED_KEYS);
}

static void test_dictator_initiator_only(void **state)
{
    (void)state;
    struct pair p;
    pair_init(&p, T_DICTATOR, T_NOTIFY);
    tias[0].will = true;
    tias[0].weight = 0; /* a dictator against a non-dictator wins at any weight */
    run(&p, -1);
    assert_dictated_by(&p, 0);
    assert_int_equal(tias[0].checks, 1);
    assert_int_equal(p.nlog, 6); /* ... KEYS, KEYS_ACK */
    pair_free(&p);
}

static void test_dictator_responder_only(void **state)
{
    (void)state;
    struct pair p;
    pair_init(&p, T_NOTIFY, T_DICTATOR);
    tias[1].will = true;
    tias[1].weight = 7;
    run(&p, -1);
    assert_dictated_by(&p, 1);
    assert_int_equal(tias[1].checks, 1);
    assert_int_equal(p.nlog, 4);
    pair_free(&p);
}

static void both_dictate(UINT32 wi, UINT32 wr, int winner)
{
    struct pair p;
    pair_init(&p, T_DICTATOR, T_DICTATOR);
    tias[0].will = tias[1].will = true;
    tias[0].weight = wi;
    tias[1].weight = wr;
    run(&p, -1);
    assert_dictated_by(&p, winner);
    assert_int_equal(tias[0].checks, 1);
    assert_int_equal(tias[1].checks, 1);
    pair_free(&p);
}

static void test_both_dictate_initiator_heavier(void **state)
{
    (void)state;
    both_dictate(9, 3, 0);
    both_dictate(UINT32_MAX, UINT32_MAX - 1, 0);
}

static void test_both_dictate_responder_heavier(void **state)
{
    (void)state;
    both_dictate(3, 9, 1);
}

static void test_both_dictate_tie_goes_to_responder(void **state)
{
    (void)state;
    both_dictate(4, 4, 1);
    both_dictate(0, 0, 1);
}

static void test_dictator_declines(void **state)
{
    (void)state;
    struct pair p;
    pair_init(&p, T_DICTATOR, T_DICTATOR);
    tias[0].weight = 100; /* will is false: the weight is not even sent */
    run(&p, -1);
    assert_interop(&p);
    assert_notified(&p);
    assert_int_equal(neg_winner(p.ini), NEG_WIN_NONE);
    assert_int_equal(tias[0].checks, 1);
    assert_int_equal(tias[1].checks, 1);
    assert_int_equal(tias[0].dictations + tias[1].dictations, 0);
    pair_free(&p);
}

static void test_arbitrate_table(void **state)
{
    (void)state;
    assert_int_equal(neg_km_arbitrate(false, 5, false, 5), NEG_WIN_NONE);
    assert_int_equal(neg_km_arbitrate(true, 0, false, 9), NEG_WIN_INITIATOR);
    assert_int_equal(neg_km_arbitrate(false, 9, true, 0), NEG_WIN_RESPONDER);
    assert_int_equal(neg_km_arbitrate(true, 2, true, 1), NEG_WIN_INITIATOR);
    assert_int_equal(neg_km_arbitrate(true, 1, true, 2), NEG_WIN_RESPONDER);
    assert_int_equal(neg_km_arbitrate(true, 2, true, 2), NEG_WIN_RESPONDER);
}

/* A dictation that fails on side `side` in `mode`: both ends fail with
 * `code` (ours as DICTATION, the peer's as PEER_DICTATION), no SA. */
static void dictation_fails(int side, enum dict_mode mode, DWORD code)
{
    struct pair p;
    pair_init(&p, side == 0 ? T_DICTATOR : T_NOTIFY, side == 1 ? T_DICTATOR : T_NOTIFY);
    tias[side].will = true;
    tias[side].mode = mode;
    run(&p, -1);
    struct neg *mine = side == 0 ? p.ini : p.rn, *theirs = side == 0 ? p.rn : p.ini;
    assert_non_null(mine);
    assert_non_null(theirs);
    assert_int_equal(neg_state(mine), NEG_S_FAILED);
    assert_int_equal(neg_error(mine), NEG_ERR_DICTATION);
    assert_int_equal(neg_error_code(mine), code);
    assert_int_equal(neg_state(theirs), NEG_S_FAILED);
    assert_int_equal(neg_error(theirs), NEG_ERR_PEER_DICTATION);
    assert_int_equal(neg_error_code(theirs), code);
    assert_int_equal(tias[side].dictations, 1);
    assert_no_sa(&p);
    pair_free(&p);
}

static void test_dictator_fails(void **state)
{
    (void)state;
    dictation_fails(0, D_FAIL, FWP_E_INVALID_PARAMETER);
    dictation_fails(1, D_FAIL, FWP_E_INVALID_PARAMETER);
    /* the reason byte, not the code, says it was the dictator */
    dictation_fails(0, D_FAIL_ACCESS, ERROR_ACCESS_DENIED);
    dictation_fails(1, D_FAIL_ACCESS, ERROR_ACCESS_DENIED);
}

static void test_dictator_late(void **state)
{
    (void)state;
    dictation_fails(0, D_LATE, FWP_E_TIMEOUT);
    dictation_fails(1, D_LATE, FWP_E_TIMEOUT);
}

/* The dictator unregisters itself from inside keyDictationCheck (the
 * lock is free there too) and still says it will dictate: by the time its
 * side would call keyDictation there is no dictator, FWP_E_NOT_FOUND. */
static void left_in_check(int side)
{
    struct pair p;
    pair_init(&p, side == 0 ? T_DICTATOR : T_NOTIFY, side == 1 ? T_DICTATOR : T_NOTIFY);
    tias[side].will = true;
    tias[side].leave_in_check = true;
    run(&p, -1);
    struct neg *mine = side == 0 ? p.ini : p.rn, *theirs = side == 0 ? p.rn : p.ini;
    assert_int_equal(neg_error(mine), NEG_ERR_DICTATION);
    assert_int_equal(neg_error_code(mine), FWP_E_NOT_FOUND);
    assert_int_equal(neg_error(theirs), NEG_ERR_PEER_DICTATION);
    assert_int_equal(tias[side].checks, 1);
    assert_int_equal(tias[side].dictations, 0);
    assert_int_equal(ipsec_keymgr_count(p.env[side].e), 0);
    assert_no_sa(&p);
    pair_free(&p);
}

static void test_dictator_leaves_before_dictation(void **state)
{
    (void)state;
    left_in_check(0);
    left_in_check(1);
}

static void test_dictator_wrong_length(void **state)
{
    (void)state;
    dictation_fails(0, D_SHORT, FWP_E_KEY_DICTATION_INVALID_KEYING_MATERIAL);
    dictation_fails(1, D_SHORT, FWP_E_KEY_DICTATION_INVALID_KEYING_MATERIAL);
    dictation_fails(1, D_SPLIT_MISMATCH, FWP_E_KEY_DICTATION_INVALID_KEYING_MATERIAL);
}

/* keyingModuleGenKey: the keying module makes random keys on the
 * dictating side and sends them; both sides agree, nothing of the
 * dictator's pattern is used. */
static void generated(int side, enum dict_mode mode)
{
    struct pair p;
    pair_init(&p, side == 0 ? T_DICTATOR : T_NOTIFY, side == 1 ? T_DICTATOR : T_NOTIFY);
    tias[side].will = true;
    tias[side].mode = mode;
    run(&p, -1);
    assert_interop(&p);
    assert_notified(&p);
    assert_int_equal(tias[side].dictations, 1);
    uint8_t pat[ESP_KEYMAT_SIZE];
    memset(pat, tias[side].pattern, sizeof(pat));
    assert_memory_not_equal(tias[side].n_in_key, pat, ESP_KEYMAT_SIZE);
    assert_int_equal(neg_winner(p.ini), side == 0 ? NEG_WIN_INITIATOR : NEG_WIN_RESPONDER);
    pair_free(&p);
}

static void test_dictator_fails_keying_module_generates(void **state)
{
    (void)state;
    generated(0, D_FAIL_GEN);
    generated(1, D_FAIL_GEN);
    generated(0, D_LATE_GEN);
    generated(1, D_LATE_GEN);
}

static void test_wrong_psk(void **state)
{
    (void)state;
    struct pair p;
    pair_init_psk(&p, T_NOTIFY, T_NOTIFY, "another key");
    run(&p, -1);
    assert_non_null(p.rn);
    assert_int_equal(neg_state(p.rn), NEG_S_FAILED);
    assert_int_equal(neg_error(p.rn), NEG_ERR_AUTH);
    assert_int_equal(neg_state(p.ini), NEG_S_FAILED);
    assert_int_equal(neg_error(p.ini), NEG_ERR_PEER_AUTH);
    assert_int_equal(neg_error_code(p.ini), ERROR_ACCESS_DENIED);
    assert_non_null(strstr(neg_error_name(neg_error(p.ini)), "pre-shared key"));
    assert_no_sa(&p);
    pair_free(&p);
}

/* Any one datagram lost, in both flows (with and without KEYS): the
 * retransmission completes it and nothing runs twice. */
static void test_loss_of_any_single_message(void **state)
{
    (void)state;
    /* flow 0: nobody dictates; 1: the initiator does (KEYS); 2: the responder */
    for (int flow = 0; flow < 3; flow++) {
        int n = flow == 1 ? 6 : 4;
        for (int drop = 0; drop < n; drop++) {
            struct pair p;
            pair_init(&p, flow == 1 ? T_DICTATOR : T_NOTIFY, flow == 2 ? T_DICTATOR : T_NOTIFY);
            tias[0].will = flow == 1;
            tias[1].will = flow == 2;
            run(&p, drop);
            assert_interop(&p);
            assert_notified(&p);
            assert_int_equal(neg_retransmits(p.ini), 1);
            assert_int_equal(tias[0].dictations, flow == 1);
            assert_int_equal(tias[0].checks, flow == 1);
            assert_int_equal(tias[1].dictations, flow == 2);
            assert_int_equal(tias[1].checks, flow == 2);
            pair_free(&p);
        }
    }
}

static void test_retransmission_backoff_and_give_up(void **state)
{
    (void)state;
    struct pair p;
    pair_init(&p, T_NONE, T_NONE);
    struct neg_out o;
    assert_true(neg_start(p.ini, 0, &o));
    uint64_t expect = NEG_DEFAULT_RTO_MS, t = 0;
    for (unsigned i = 0; i < NEG_DEFAULT_MAX_RETRANSMITS; i++) {
        assert_int_equal(neg_next_timeout(p.ini), t + expect);
        t += expect;
        neg_tick(p.ini, t - 1, &o);
        assert_int_equal(o.len, 0); /* not yet */
        neg_tick(p.ini, t, &o);
        assert_int_not_equal(o.len, 0);
        expect *= 2;
    }
    t = neg_next_timeout(p.ini);
    neg_tick(p.ini, t, &o);
    assert_int_equal(o.len, 0);
    assert_int_equal(neg_state(p.ini), NEG_S_FAILED);
    assert_int_equal(neg_error(p.ini), NEG_ERR_TIMEOUT);
    assert_int_equal(neg_retransmits(p.ini), NEG_DEFAULT_MAX_RETRANSMITS);

    /* a huge configured count is clamped (the backoff shift stays defined) */
    struct neg_config c = {.psk = PSK, .psk_len = 3, .random = prng_fill,
                           .random_ctx = &p.rng[0], .max_retransmits = 1000};
    struct neg *n = neg_create(&c);
    assert_non_null(n);
    assert_true(neg_start(n, 0, &o));
    while (neg_state(n) != NEG_S_FAILED)
        neg_tick(n, neg_next_timeout(n), &o);
    assert_int_equal(neg_retransmits(n), NEG_MAX_RETRANSMITS);
    neg_free(n);
    pair_free(&p);
}

/* After the exchange, every datagram of it replayed to its receiver is
 * dropped or, for the last request, answered from the cache: no state
 * changes and no callback runs again. */
static void test_replay_dropped(void **state)
{
    (void)state;
    struct pair p;
    pair_init(&p, T_DICTATOR, T_NOTIFY);
    tias[0].will = true;
    run(&p, -1);
    assert_interop(&p);
    assert_int_equal(p.nlog, 6);
    for (size_t i = 0; i < p.nlog; i++) {
        struct neg_out o;
        if (p.log_to_resp[i]) {
            uint64_t before = neg_responder_count(p.resp);
            neg_responder_receive(p.resp, p.now, &p.a, p.log[i], p.log_len[i], &o);
            assert_int_equal(neg_responder_count(p.resp), before);
            /* only the final KEYS gets its (cached, identical) ACK again */
            if (i != 4)
                assert_int_equal(o.len, 0);
            else
                assert_memory_equal(o.buf, p.log[5], p.log_len[5]);
        } else {
            assert_false(neg_receive(p.ini, p.now, p.log[i], p.log_len[i], &o));
            assert_int_equal(o.len, 0);
        }
        assert_int_equal(neg_state(p.ini), NEG_S_ESTABLISHED);
        assert_int_equal(neg_state(p.rn), NEG_S_ESTABLISHED);
    }
    assert_int_equal(tias[0].notifies, 1);
    assert_int_equal(tias[1].notifies, 1);
    assert_int_equal(tias[0].dictations, 1);
    pair_free(&p);
}

/* Replays of an earlier exchange's protected messages into a new one
 * (other keys) are dropped. */
static void test_cross_session_replay_dropped(void **state)
{
    (void)state;
    struct pair p, q;
    pair_init(&p, T_NONE, T_NONE);
    run(&p, -1);
    uint8_t auth_req[NEG_MAX_DATAGRAM];
    size_t len = p.log_len[2];
    memcpy(auth_req, p.log[2], len);
    pair_free(&p);
    pair_init(&q, T_NONE, T_NONE);
    q.rng[0].s = 0xBEEF; /* other randomness: other SPIs, other keys */
    q.rng[1].s = 0xF00D;
    struct neg_out o;
    assert_true(neg_start(q.ini, 0, &o));
    struct neg *rn = neg_responder_receive(q.resp, 0, &q.a, o.buf, o.len, &o);
    assert_non_null(rn);
    assert_int_not_equal(neg_spi_i(rn), neg_get64(auth_req + 4));
    /* aim the old AUTH_REQ at the new negotiation: only the keys differ */
    neg_put64(auth_req + 4, neg_spi_i(rn));
    neg_put64(auth_req + 12, neg_spi_r(rn));
    assert_null(neg_responder_receive(q.resp, 0, &q.a, auth_req, len, &o));
    assert_int_equal(neg_state(rn), NEG_S_INIT_DONE);
    pair_free(&q);
}

/* Every single-bit flip of every protected datagram is dropped by its
 * receiver, which then completes with the genuine one. */
static void test_bit_flips_dropped(void **state)
{
    (void)state;
    struct pair p;
    pair_init(&p, T_DICTATOR, T_NOTIFY);
    tias[0].will = true;
    run(&p, -1);
    assert_int_equal(p.nlog, 6);
    pair_free(&p);
    /* Replay the same exchange (same seeds, same bytes) step by step,
     * flipping bits of message k before delivering the original. */
    for (size_t k = 2; k < 6; k++) {
        struct pair q;
        pair_init(&q, T_DICTATOR, T_NOTIFY);
        tias[0].will = true;
        struct neg_out o;
        assert_true(neg_start(q.ini, 0, &o));
        bool to_resp = true;
        for (size_t i = 0; i < 6; i++) {
            assert_memory_equal(o.buf, p.log[i], o.len); /* deterministic */
            if (i == k) {
                for (size_t bit = 0; bit < o.len * 8; bit++) {
                    uint8_t bad[NEG_MAX_DATAGRAM];
                    memcpy(bad, o.buf, o.len);
                    bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
                    struct neg_out r;
                    if (to_resp) {
                        size_t before = neg_responder_count(q.resp);
                        struct neg *got = neg_responder_receive(q.resp, 0, &q.a, bad, o.len, &r);
                        /* a flipped SPIi in a protected message finds nobody */
                        assert_null(got);
                        assert_int_equal(neg_responder_count(q.resp), before);
                    } else {
                        assert_false(neg_receive(q.ini, 0, bad, o.len, &r));
                    }
                    assert_int_equal(r.len, 0);
                }
            }
            struct neg_out in = o;
            if (to_resp) {
                struct neg *n = neg_responder_receive(q.resp, 0, &q.a, in.buf, in.len, &o);
                if (n)
                    q.rn = n;
            } else {
                neg_receive(q.ini, 0, in.buf, in.len, &o);
            }
            to_resp = !to_resp;
        }
        assert_interop(&q);
        assert_notified(&q);
        pair_free(&q);
    }
}

/* The clear INIT exchange has no integrity of its own, but the nonces and
 * key shares feed the IKE keys: a changed Ni or Nr leaves the two ends
 * with different keys, so the protected messages never open, the
 * negotiation never completes (the initiator gives up) and no SA exists. */
static void test_tampered_init_never_completes(void **state)
{
    (void)state;
    for (int which = 0; which < 2; which++) {
        struct pair p;
        pair_init(&p, T_NOTIFY, T_NOTIFY);
        struct neg_out o;
        assert_true(neg_start(p.ini, 0, &o));
        if (which == 0)
            o.buf[o.len - 1] ^= 1; /* last byte of Ni */
        p.rn = neg_responder_receive(p.resp, 0, &p.a, o.buf, o.len, &o);
        assert_non_null(p.rn);
        if (which == 1)
            o.buf[o.len - 1] ^= 1; /* last byte of Nr */
        assert_true(neg_receive(p.ini, 0, o.buf, o.len, &o)); /* AUTH_REQ */
        uint64_t now = 0;
        for (int i = 0; i < 10 && neg_state(p.ini) != NEG_S_FAILED; i++) {
            struct neg_out r;
            if (o.len) {
                assert_null(neg_responder_receive(p.resp, now, &p.a, o.buf, o.len, &r));
                assert_int_equal(r.len, 0);
            }
            now = neg_next_timeout(p.ini);
            neg_tick(p.ini, now, &o);
        }
        assert_int_equal(neg_state(p.rn), NEG_S_INIT_DONE);
        assert_int_equal(neg_dropped(p.rn), 1 + NEG_DEFAULT_MAX_RETRANSMITS);
        assert_int_equal(neg_state(p.ini), NEG_S_FAILED);
        assert_int_equal(neg_error(p.ini), NEG_ERR_TIMEOUT);
        assert_no_sa(&p);
        pair_free(&p);
    }
}

static void test_strict_parsing(void **state)
{
    (void)state;
    struct pair p;
    pair_init(&p, T_NONE, T_NONE);
    struct neg_out o;
    assert_true(neg_start(p.ini, 0, &o));
    struct neg_header h;
    assert_true(neg_header_parse(o.buf, o.len, &h));
    uint8_t b[NEG_MAX_DATAGRAM + 1];
    struct {
        size_t at;
        uint8_t val;
    } edits[] = {{0, 2}, {0, 0}, {1, 0}, {1, 8}, {1, NEG_T_INIT_RESP}, {2, 0}, {2, 3},
                 {3, 1}, {12, 1}, {23, 1}, {27, 1}, {28, 1}, {28, 31}, {60, 0x80}};
    for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        memcpy(b, o.buf, o.len);
        b[edits[i].at] = edits[i].val;
        assert_false(neg_header_parse(b, o.len, &h));
        struct neg_out r;
        assert_null(neg_responder_receive(p.resp, 0, &p.a, b, o.len, &r));
        assert_int_equal(r.len, 0);
    }
    memcpy(b, o.buf, o.len);
    b[o.len] = 0; /* a trailing byte */
    assert_false(neg_header_parse(b, o.len + 1, &h));
    assert_false(neg_header_parse(b, o.len - 1, &h));
    assert_false(neg_header_parse(b, NEG_HEADER_SIZE - 1, &h));
    assert_false(neg_header_parse(NULL, 0, &h));
    assert_int_equal(neg_responder_count(p.resp), 0);
    assert_int_equal(neg_responder_stats(p.resp).dropped, 14);
    pair_free(&p);
}

/* Random mutations (bytes changed, truncated, extended, with and without
 * the length field fixed up) of every datagram but the clear INIT_RESP
 * (which has no integrity of its own: test_tampered_init_never_completes)
 * are delivered before the genuine one: none changes either negotiation's
 * state, none crashes (run it under ASan), and the genuine exchange then
 * completes with one notification per side. INIT_REQ mutations come from
 * another address, as an attacker's would. */
static struct prng fuzz_rng;
static unsigned fuzz_delivered;

static void fuzz_before(struct pair *p, bool to_resp, const uint8_t *d, size_t len)
{
    if (!to_resp && d[1] == NEG_T_INIT_RESP)
        return;
    struct neg_peer attacker;
    peer(&attacker, 66);
    const struct neg_peer *from = d[1] == NEG_T_INIT_REQ ? &attacker : &p->a;
    for (int i = 0; i < 400; i++) {
        uint8_t m[NEG_MAX_DATAGRAM + 16];
        size_t ml = len;
        memcpy(m, d, len);
        uint8_t r[8] = {0}; /* prng_fill writes all of it; -O2 cannot tell */
        prng_fill(&fuzz_rng, r, sizeof(r));
        switch (r[0] % 4) {
        case 0: /* 1..4 bytes anywhere */
        case 1:
            for (int k = 0; k <= r[1] % 4; k++)
                m[r[2 + k] % len] ^= (uint8_t)(r[6] | 1);
            break;
        case 2: /* truncated */
            ml = r[1] % len;
            break;
        case 3: /* extended */
            ml = len + 1 + r[1] % 16;
            prng_fill(&fuzz_rng, m + len, ml - len);
            break;
        }
        if ((r[7] & 1) && ml >= NEG_HEADER_SIZE)
            neg_put32(m + 24, (uint32_t)ml);
        if (ml == len && memcmp(m, d, len) == 0)
            m[r[2] % len] ^= 0x80; /* two changes cancelled out */
        enum neg_state si = neg_state(p->ini);
        int sr = p->rn ? (int)neg_state(p->rn) : -1;
        struct neg_out o;
        if (to_resp)
            neg_responder_receive(p->resp, p->now, from, m, ml, &o);
        else
            assert_false(neg_receive(p->ini, p->now, m, ml, &o));
        assert_int_equal(neg_state(p->ini), si);
        if (p->rn)
            assert_int_equal((int)neg_state(p->rn), sr);
        fuzz_delivered++;
    }
}

static void test_mutated_datagrams_dropped(void **state)
{
    (void)state;
    pair_max_half_open = 4096; /* mutated INIT_REQs must not push the honest one into cookies */
    for (int flow = 0; flow < 3; flow++) {
        struct pair p;
        pair_init(&p, flow == 1 ? T_DICTATOR : T_NOTIFY, flow == 2 ? T_DICTATOR : T_NOTIFY);
        tias[0].will = flow == 1;
        tias[1].will = flow == 2;
        fuzz_rng.s = 0xF022u + (uint64_t)flow;
        fuzz_delivered = 0;
        p.before = fuzz_before;
        run(&p, -1);
        assert_interop(&p);
        assert_notified(&p);
        assert_int_equal(neg_retransmits(p.ini), 0);
        assert_int_equal(fuzz_delivered, 400u * (flow == 1 ? 5 : 3));
        pair_free(&p);
    }
}

static int restore_half_open(void **state)
{
    (void)state;
    pair_max_half_open = 8;
    return 0;
}

/* A lossy network: every datagram is lost with probability 1/4,
 * duplicated with 1/8, and delayed 0..700 ms (so reordered), for 150 seeds
 * in each flow. Whatever happens: no side installs keys that differ from
 * the other's, no callback runs twice, and when the initiator is
 * established, so is the responder (the responder can finish alone when
 * every answer to the initiator is lost: the initiator then gives up, as
 * in IKEv2). Most runs must end established on both sides. */
struct flight {
    uint64_t at;
    bool to_resp;
    size_t len;
    uint8_t buf[NEG_MAX_DATAGRAM];
};

static void lossy_send(struct flight *q, size_t *nq, struct prng *net, uint64_t now, bool to_resp,
                       const struct neg_out *o)
{
    if (!o->len)
        return;
    uint8_t r[3];
    prng_fill(net, r, 3);
    int copies = r[0] % 4 == 0 ? 0 : (r[0] % 8 == 1 ? 2 : 1);
    for (int c = 0; c < copies && *nq < 64; c++) {
        struct flight *f = &q[(*nq)++];
        f->at = now + (uint64_t)((r[1 + c % 2] * 700u) / 255u);
        f->to_resp = to_resp;
        f->len = o->len;
        memcpy(f->buf, o->buf, o->len);
    }
}

static void test_lossy_network(void **state)
{
    (void)state;
    int established = 0, runs = 0;
    for (int flow = 0; flow < 3; flow++) {
        for (uint64_t seed = 1; seed <= 150; seed++) {
            struct pair p;
            pair_init(&p, flow == 1 ? T_DICTATOR : T_NOTIFY, flow == 2 ? T_DICTATOR : T_NOTIFY);
            tias[0].will = flow == 1;
            tias[1].will = flow == 2;
            struct prng net = {.s = seed * 7919u + (uint64_t)flow};
            struct flight q[64];
            size_t nq = 0;
            struct neg_out o;
            assert_true(neg_start(p.ini, 0, &o));
            lossy_send(q, &nq, &net, 0, true, &o);
            for (int steps = 0; steps < 400; steps++) {
                size_t best = nq;
                for (size_t i = 0; i < nq; i++)
                    if (best == nq || q[i].at < q[best].at)
                        best = i;
                uint64_t t = neg_next_timeout(p.ini);
                if (best == nq && t == UINT64_MAX)
                    break;
                if (best == nq || t < q[best].at) {
                    p.now = t;
                    neg_tick(p.ini, p.now, &o);
                    lossy_send(q, &nq, &net, p.now, true, &o);
                    continue;
                }
                struct flight f = q[best];
                q[best] = q[--nq];
                p.now = f.at;
                if (f.to_resp) {
                    struct neg *n = neg_responder_receive(p.resp, p.now, &p.a, f.buf, f.len, &o);
                    if (n)
                        p.rn = n;
                    lossy_send(q, &nq, &net, p.now, false, &o);
                } else {
                    neg_receive(p.ini, p.now, f.buf, f.len, &o);
                    lossy_send(q, &nq, &net, p.now, true, &o);
                }
            }
            runs++;
            assert_true(tias[0].notifies <= 1 && tias[1].notifies <= 1);
            assert_true(tias[0].dictations + tias[1].dictations <= 1);
            assert_true(tias[0].checks <= 1 && tias[1].checks <= 1);
            bool ie = neg_state(p.ini) == NEG_S_ESTABLISHED;
            bool re = p.rn && neg_state(p.rn) == NEG_S_ESTABLISHED;
            if (ie)
                assert_true(re);
            if (ie && re) {
                established++;
                assert_interop(&p);
                assert_notified(&p);
            } else {
                assert_int_equal(neg_state(p.ini), NEG_S_FAILED);
                assert_int_equal(neg_error(p.ini), NEG_ERR_TIMEOUT);
            }
            pair_free(&p);
        }
    }
    if (getenv("NEG_PRINT_VECTOR"))
        printf("lossy network: %d of %d runs established\n", established, runs);
    assert_true(established >= runs * 9 / 10);
}

/* A key share that gives the all-zero X25519 secret (u = 0, a low-order
 * point): the responder keeps nothing and answers nothing; an initiator
 * drops such an INIT_RESP and still takes the genuine one after it. */
static void test_low_order_key_share_refused(void **state)
{
    (void)state;
    struct pair p;
    pair_init(&p, T_NONE, T_NONE);
    struct neg_out o, r;
    assert_true(neg_start(p.ini, 0, &o));
    uint8_t bad[NEG_MAX_DATAGRAM];
    memcpy(bad, o.buf, o.len);
    memset(bad + NEG_HEADER_SIZE + 1, 0, NEG_KE_SIZE);
    assert_null(neg_responder_receive(p.resp, 0, &p.a, bad, o.len, &r));
    assert_int_equal(r.len, 0);
    assert_int_equal(neg_responder_count(p.resp), 0);

    p.rn = neg_responder_receive(p.resp, 0, &p.a, o.buf, o.len, &r);
    assert_non_null(p.rn);
    memcpy(bad, r.buf, r.len);
    memset(bad + NEG_HEADER_SIZE, 0, NEG_KE_SIZE);
    assert_false(neg_receive(p.ini, 0, bad, r.len, &o));
    assert_int_equal(neg_state(p.ini), NEG_S_INIT_SENT);
    assert_true(neg_receive(p.ini, 0, r.buf, r.len, &o));
    assert_int_equal(neg_state(p.ini), NEG_S_AUTH_SENT);
    assert_non_null(neg_responder_receive(p.resp, 0, &p.a, o.buf, o.len, &r));
    assert_true(neg_receive(p.ini, 0, r.buf, r.len, &o));
    assert_interop(&p);
    pair_free(&p);
}

/* A flood of INIT_REQs from spoofed addresses: the half-open state stays
 * at the cap, the rest get stateless COOKIEs; an honest initiator still
 * gets through by returning its cookie; forged cookies do not. */
static void test_cookie_flood_bounded(void **state)
{
    (void)state;
    struct pair p;
    pair_init(&p, T_NONE, T_NONE);
    struct prng attacker = {.s = 77};
    size_t cookies = 0;
    for (unsigned i = 0; i < 2000; i++) {
        uint8_t d[NEG_HEADER_SIZE + 1 + 64];
        uint8_t spi[8];
        prng_fill(&attacker, spi, 8);
        spi[0] |= 1;
        struct neg_header h = {.type = NEG_T_INIT_REQ, .flags = NEG_FLAG_INITIATOR,
                               .spi_i = neg_get64(spi), .length = sizeof(d)};
        neg_header_write(d, &h);
        d[NEG_HEADER_SIZE] = 0;
        prng_fill(&attacker, d + NEG_HEADER_SIZE + 1, 64);
        d[NEG_HEADER_SIZE + 1 + 31] &= 0x7f; /* a well-formed key share */
        struct neg_peer from;
        peer(&from, 100);
        from.addr[1] = (uint8_t)(i >> 8);
        from.addr[2] = (uint8_t)i;
        struct neg_out o;
        neg_responder_receive(p.resp, 0, &from, d, sizeof(d), &o);
        if (o.len) {
            struct neg_header oh;
            assert_true(neg_header_parse(o.buf, o.len, &oh));
            cookies += oh.type == NEG_T_COOKIE;
        }
        assert_true(neg_responder_half_open(p.resp) <= 8);
    }
    assert_int_equal(neg_responder_count(p.resp), 8);
    assert_int_equal(cookies, 2000 - 8);
    assert_int_equal(neg_responder_stats(p.resp).cookies_sent, 2000 - 8);

    /* the honest initiator: COOKIE, then INIT_REQ with it, then on */
    run(&p, -1);
    assert_interop(&p);
    struct neg_header h0;
    assert_true(neg_header_parse(p.log[1], p.log_len[1], &h0));
    assert_int_equal(h0.type, NEG_T_COOKIE);
    assert_int_equal(p.log[2][NEG_HEADER_SIZE], NEG_COOKIE_SIZE);

    /* the honest initiator's cookie does not work from another address */
    size_t before = neg_responder_count(p.resp);
    struct neg_peer elsewhere;
    peer(&elsewhere, 3);
    struct neg_out o2;
    assert_null(neg_responder_receive(p.resp, p.now, &elsewhere, p.log[2], p.log_len[2], &o2));
    assert_int_equal(neg_responder_stats(p.resp).bad_cookies, 1);
    assert_int_equal(neg_responder_count(p.resp), before);

    /* forged cookies create nothing */
    for (unsigned i = 0; i < 100; i++) {
        uint8_t d[NEG_HEADER_SIZE + 1 + 32 + 64];
        struct neg_header h = {.type = NEG_T_INIT_REQ, .flags = NEG_FLAG_INITIATOR,
                               .spi_i = 1000 + i, .length = sizeof(d)};
        neg_header_write(d, &h);
        d[NEG_HEADER_SIZE] = NEG_COOKIE_SIZE;
        prng_fill(&attacker, d + NEG_HEADER_SIZE + 1, 96);
        d[NEG_HEADER_SIZE + 1 + 32 + 31] &= 0x7f;
        struct neg_out o;
        assert_null(neg_responder_receive(p.resp, 0, &p.b, d, sizeof(d), &o));
    }
    assert_int_equal(neg_responder_count(p.resp), before);
    assert_int_equal(neg_responder_stats(p.resp).bad_cookies, 101);

    /* stale half-open negotiations are forgotten, established ones kept */
    neg_responder_tick(p.resp, p.now + NEG_DEFAULT_HALF_OPEN_TIMEOUT + 1);
    assert_int_equal(neg_responder_count(p.resp), 1);
    assert_int_equal(neg_responder_half_open(p.resp), 0);
    pair_free(&p);
}

/* Even with valid cookies (an attacker answering from real addresses),
 * half-open state stops at twice the cap. */
static void test_cookie_holders_capped(void **state)
{
    (void)state;
    struct pair p;
    pair_init(&p, T_NONE, T_NONE);
    struct prng attacker = {.s = 99};
    for (unsigned i = 0; i < 200; i++) {
        uint8_t d[NEG_HEADER_SIZE + 1 + 32 + 64];
        struct neg_header h = {.type = NEG_T_INIT_REQ, .flags = NEG_FLAG_INITIATOR,
                               .spi_i = 5000 + i, .length = NEG_HEADER_SIZE + 1 + 64};
        neg_header_write(d, &h);
        d[NEG_HEADER_SIZE] = 0;
        prng_fill(&attacker, d + NEG_HEADER_SIZE + 1, 64);
        d[NEG_HEADER_SIZE + 1 + 31] &= 0x7f;
        struct neg_peer from;
        peer(&from, 200);
        from.addr[2] = (uint8_t)i;
        struct neg_out o;
        neg_responder_receive(p.resp, 0, &from, d, h.length, &o);
        if (o.len && o.buf[1] == NEG_T_COOKIE) {
            /* come back with the cookie */
            uint8_t e[sizeof(d)];
            h.length = sizeof(e);
            neg_header_write(e, &h);
            e[NEG_HEADER_SIZE] = NEG_COOKIE_SIZE;
            memcpy(e + NEG_HEADER_SIZE + 1, o.buf + NEG_HEADER_SIZE, NEG_COOKIE_SIZE);
            memcpy(e + NEG_HEADER_SIZE + 1 + 32, d + NEG_HEADER_SIZE + 1, 64);
            neg_responder_receive(p.resp, 0, &from, e, sizeof(e), &o);
        }
        assert_true(neg_responder_half_open(p.resp) <= 16);
    }
    assert_int_equal(neg_responder_half_open(p.resp), 16);
    assert_int_equal(neg_responder_stats(p.resp).dropped_full, 200 - 16);
    pair_free(&p);
}

/* A notify callback that unregisters a registration through the
 * registry: the lock is not held around callbacks (an error-checking
 * mutex would report the relock), the registration is retired, is not
 * called any more although its call was already made, and is freed at
 * unpin. */
static void test_callback_reenters_registry(void **state)
{
    (void)state;
    struct pair p;
    pair_init(&p, T_NOTIFY, T_NOTIFY);
    IPSEC_KEY_MANAGER0 km = {0};
    IPSEC_KEY_MANAGER_CALLBACKS0 cb = {.keyNotify = notify1};
    HANDLE h;
    assert_int_equal(ipsec_keymgr_add(p.env[1].e, sessions[1], &km, &cb, &h), ERROR_SUCCESS);
    tias[1].unregister_self = h;
    run(&p, -1);
    assert_interop(&p);
    assert_int_equal(tias[1].notifies, 1); /* the one it removed is not called */
    assert_null(tias[1].unregister_self);
    assert_false(ipsec_keymgr_draining(p.env[1].e, h)); /* freed at unpin */
    assert_int_equal(ipsec_keymgr_count(p.env[1].e), 1);
    pair_free(&p);
}

/* ------------------------------------------------------------ asynchronous calls */

/* pair_init with every key-manager call handed to ask_fn. */
static void pair_init_async(struct pair *p, enum tia_kind k0, enum tia_kind k1)
{
    memset(&asked, 0, sizeof(asked));
    async_calls = true;
    pair_init(p, k0, k1);
    async_calls = false;
}

/* Delivers o to one side; o becomes what that side answers. */
static void deliver_one(struct pair *p, bool to_resp, struct neg_out *o)
{
    struct neg_out in = *o;
    if (to_resp) {
        struct neg *n = neg_responder_receive(p->resp, p->now, &p->a, in.buf, in.len, o);
        if (n)
            p->rn = n;
    } else {
        neg_receive(p->ini, p->now, in.buf, in.len, o);
    }
}

/* Runs the oldest call asked, on its side's env, and hands the answer
 * back (into *a, which the taker cleanses); returns whether it was taken.
 * o: what that side sends next; *side: which side it was. */
static bool answer_oldest(struct pair *p, struct neg_km_answer *a, struct neg_out *o, int *side)
{
    assert_true(asked.n > 0);
    struct neg_km_call c = asked.c[0];
    *side = asked.side[0];
    memmove(&asked.c[0], &asked.c[1], (asked.n - 1) * sizeof(asked.c[0]));
    memmove(&asked.side[0], &asked.side[1], (asked.n - 1) * sizeof(asked.side[0]));
    asked.n--;
    struct neg_keymgr_env env = km_env(p, *side);
    o->len = 0;
    if (c.op == NEG_KM_NOTIFY) {
        neg_km_run(&env, &c, NULL);
        return true;
    }
    neg_km_run(&env, &c, a);
    if (*side == 0)
        return neg_take_answer(p->ini, p->now, a, o);
    return neg_responder_take_answer(p->resp, p->now, a, o) != NULL;
}

/* Datagrams go across at once; when none is in flight the oldest call
 * is answered. Stops when nothing is left, or after `calls` answers. */
static void run_async(struct pair *p, struct neg_out *o, bool to_resp, int calls)
{
    for (int steps = 0; steps < 64; steps++) {
        if (o->len) {
            deliver_one(p, to_resp, o);
            to_resp = !to_resp;
            continue;
        }
        if (asked.n == 0 || calls-- == 0)
            return;
        struct neg_km_answer a;
        int side;
        answer_oldest(p, &a, o, &side);
        to_resp = side == 0;
    }
    fail_msg("the exchange did not settle");
}

static void start_async(struct pair *p, int calls)
{
    struct neg_out o;
    assert_true(neg_start(p->ini, p->now, &o));
    run_async(p, &o, true, calls);
}

/* Every flow gives what it gives with callbacks run inline: the right
 * dictator's keys on both sides, each side's notification. */
static void test_async_calls_same_outcome(void **state)
{
    (void)state;
    static const struct {
        enum tia_kind k0, k1;
        bool w0, w1;
        int winner; /* -1: nobody dictates */
    } flows[] = {
        {T_NOTIFY, T_NOTIFY, false, false, -1},
        {T_DICTATOR, T_NOTIFY, true, false, 0},
        {T_NOTIFY, T_DICTATOR, false, true, 1},
        {T_DICTATOR, T_DICTATOR, true, true, 1},
        {T_DICTATOR, T_DICTATOR, false, false, -1},
    };
    for (size_t f = 0; f < sizeof(flows) / sizeof(flows[0]); f++) {
        struct pair p;
        pair_init_async(&p, flows[f].k0, flows[f].k1);
        tias[0].will = flows[f].w0;
        tias[1].will = flows[f].w1;
        start_async(&p, -1);
        assert_int_equal(asked.n, 0);
        if (flows[f].winner < 0) {
            assert_interop(&p);
            assert_notified(&p);
            assert_int_equal(neg_winner(p.ini), NEG_WIN_NONE);
        } else {
            assert_dictated_by(&p, flows[f].winner);
        }
        assert_int_equal(tias[0].checks, flows[f].k0 == T_DICTATOR);
        assert_int_equal(tias[1].checks, flows[f].k1 == T_DICTATOR);
        pair_free(&p);
    }
}

/* The responder waits for its check without answering; a repeat of the
 * AUTH_REQ meanwhile makes no second call and gets no answer; once the
 * answers came, the repeat gets the cached AUTH_RESP. */
static void test_async_responder_waits_for_its_calls(void **state)
{
    (void)state;
    struct pair p;
    pair_init_async(&p, T_NOTIFY, T_DICTATOR);
    tias[1].will = true;
    start_async(&p, 0);
    assert_non_null(p.rn);
    assert_int_equal(neg_state(p.rn), NEG_S_CHECKING);
    assert_int_equal(asked.n, 1);
    assert_int_equal(asked.c[0].op, NEG_KM_CHECK);
    assert_int_equal(neg_waiting_call(p.rn), asked.c[0].id);
    assert_int_equal(neg_next_timeout(p.rn), p.now + 5000u);
    assert_int_equal(tias[1].checks, 0); /* nothing ran inside the negotiation */
    /* the initiator retransmits its AUTH_REQ */
    struct neg_out o;
    p.now = neg_next_timeout(p.ini);
    neg_tick(p.ini, p.now, &o);
    assert_true(o.len > 0);
    struct neg_out auth_req = o;
    deliver_one(&p, true, &o);
    assert_int_equal(o.len, 0);
    assert_int_equal(asked.n, 1);
    /* the check answers, then the dictation: AUTH_RESP */
    struct neg_km_answer a;
    int side;
    assert_true(answer_oldest(&p, &a, &o, &side));
    assert_int_equal(o.len, 0);
    assert_int_equal(neg_state(p.rn), NEG_S_DICTATING);
    assert_int_equal(asked.c[0].op, NEG_KM_DICTATE);
    assert_true(answer_oldest(&p, &a, &o, &side));
    assert_true(o.len > 0);
    assert_int_equal(neg_state(p.rn), NEG_S_ESTABLISHED);
    struct neg_out auth_resp = o;
    o = auth_req;
    deliver_one(&p, true, &o);
    assert_int_equal(o.len, auth_resp.len);
    assert_memory_equal(o.buf, auth_resp.buf, o.len);
    run_async(&p, &o, false, -1);
    assert_dictated_by(&p, 1);
    assert_int_equal(tias[1].checks, 1);
    pair_free(&p);
}

static bool all_zero(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

/* A dictation (side `side`) left unanswered: nothing happens before its
 * deadline; at the deadline both sides fail with FWP_E_TIMEOUT and no SA;
 * the answer that comes afterwards is not taken and its keys are
 * cleansed. */
static void dictation_deadline(int side)
{
    struct pair p;
    pair_init_async(&p, side == 0 ? T_DICTATOR : T_NOTIFY, side == 1 ? T_DICTATOR : T_NOTIFY);
    tias[side].will = true;
    start_async(&p, 1); /* the check */
    assert_int_equal(asked.n, 1);
    assert_int_equal(asked.c[0].op, NEG_KM_DICTATE);
    struct neg *mine = side == 0 ? p.ini : p.rn, *theirs = side == 0 ? p.rn : p.ini;
    assert_int_equal(neg_state(mine), NEG_S_DICTATING);
    uint64_t deadline = asked.c[0].deadline;
    assert_int_equal(neg_next_timeout(mine), deadline);
    struct neg_out o;
    neg_tick(mine, deadline - 1, &o);
    assert_int_equal(o.len, 0);
    assert_int_equal(neg_state(mine), NEG_S_DICTATING);
    p.now = deadline;
    neg_tick(mine, p.now, &o);
    assert_int_equal(neg_state(mine), NEG_S_FAILED);
    assert_int_equal(neg_error(mine), NEG_ERR_DICTATION);
    assert_int_equal(neg_error_code(mine), FWP_E_TIMEOUT);
    assert_true(o.len > 0); /* AUTH_RESP or KEYS with the failure */
    deliver_one(&p, side == 0, &o);
    assert_int_equal(neg_state(theirs), NEG_S_FAILED);
    assert_int_equal(neg_error(theirs), NEG_ERR_PEER_DICTATION);
    assert_int_equal(neg_error_code(theirs), FWP_E_TIMEOUT);
    /* the dictator finally answers */
    struct neg_km_answer a;
    int s;
    assert_false(answer_oldest(&p, &a, &o, &s));
    assert_int_equal(tias[side].dictations, 1);
    assert_int_equal(o.len, 0);
    assert_int_equal(a.id, 0);
    assert_true(all_zero(a.keys_in, ESP_KEYMAT_SIZE) && all_zero(a.keys_out, ESP_KEYMAT_SIZE));
    assert_no_sa(&p);
    assert_int_equal(asked.n, 0);
    pair_free(&p);
}

static void test_async_dictation_fails_at_its_deadline(void **state)
{
    (void)state;
    dictation_deadline(0);
    dictation_deadline(1);
}

/* The initiator's own check unanswered: it fails at the deadline with
 * nothing to send (it has sent only INIT_REQ); the responder's check
 * unanswered: AUTH_RESP tells the initiator. An answer given at the
 * deadline, before the tick, is not taken either. */
static void test_async_check_deadline(void **state)
{
    (void)state;
    struct pair p;
    pair_init_async(&p, T_DICTATOR, T_NOTIFY);
    start_async(&p, 0);
    assert_int_equal(neg_state(p.ini), NEG_S_CHECKING);
    assert_int_equal(neg_next_timeout(p.ini), p.now + 5000u);
    p.now += 5000u;
    struct neg_km_answer a;
    struct neg_out o;
    int side;
    assert_false(answer_oldest(&p, &a, &o, &side));
    assert_int_equal(neg_state(p.ini), NEG_S_CHECKING);
    neg_tick(p.ini, p.now, &o);
    assert_int_equal(o.len, 0);
    assert_int_equal(neg_state(p.ini), NEG_S_FAILED);
    assert_int_equal(neg_error_code(p.ini), FWP_E_TIMEOUT);
    pair_free(&p);

    pair_init_async(&p, T_NOTIFY, T_DICTATOR);
    start_async(&p, 0);
    assert_int_equal(neg_state(p.rn), NEG_S_CHECKING);
    p.now = neg_next_timeout(p.rn);
    neg_tick(p.rn, p.now, &o);
    assert_int_equal(neg_error_code(p.rn), FWP_E_TIMEOUT);
    deliver_one(&p, false, &o);
    assert_int_equal(neg_error(p.ini), NEG_ERR_PEER_DICTATION);
    assert_int_equal(neg_error_code(p.ini), FWP_E_TIMEOUT);
    assert_false(answer_oldest(&p, &a, &o, &side));
    assert_no_sa(&p);
    pair_free(&p);
}

/* A dictator that leaves between the call and its run is not called:
 * the dictation fails with FWP_E_NOT_FOUND; an answer with another id
 * is not taken. */
static void test_async_dictator_gone_before_its_call_runs(void **state)
{
    (void)state;
    struct pair p;
    pair_init_async(&p, T_NOTIFY, T_DICTATOR);
    tias[1].will = true;
    start_async(&p, 1);
    assert_int_equal(asked.c[0].op, NEG_KM_DICTATE);
    struct neg_km_answer other = {.id = asked.c[0].id + 100};
    struct neg_out o;
    assert_null(neg_responder_take_answer(p.resp, p.now, &other, &o));
    assert_int_equal(neg_state(p.rn), NEG_S_DICTATING);
    pthread_mutex_lock(&locks[1]);
    assert_int_equal(ipsec_keymgr_remove(p.env[1].e, sessions[1], tias[1].handle), ERROR_SUCCESS);
    assert_true(ipsec_keymgr_draining(p.env[1].e, tias[1].handle)); /* the call's pin */
    pthread_mutex_unlock(&locks[1]);
    run_async(&p, &o, true, -1);
    assert_false(ipsec_keymgr_draining(p.env[1].e, tias[1].handle));
    assert_int_equal(tias[1].dictations, 0);
    assert_int_equal(neg_error_code(p.rn), FWP_E_NOT_FOUND);
    assert_int_equal(neg_error(p.ini), NEG_ERR_PEER_DICTATION);
    assert_no_sa(&p);
    pair_free(&p);
}

/* ------------------------------------------------------------ the vector */

/* The known-answer vector of docs/KEYING.md §7.7: PSK "libdrt test psk",
 * the initiator's random source returns 01 02 03 ... and the responder's
 * 81 82 83 ... (each byte one more than the last, wrapping). Addresses
 * 10.0.0.1 and 10.0.0.2, no key managers but one notify-only on each
 * side. NEG_PRINT_VECTOR=1 prints the values. */
struct counter_rng {
    uint8_t next;
};

static int counter_fill(void *ctx, void *buf, size_t len)
{
    struct counter_rng *c = ctx;
    uint8_t *b = buf;
    for (size_t i = 0; i < len; i++)
        b[i] = c->next++;
    return 0;
}

static void hex(char *out, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

static void assert_hex(const char *name, const uint8_t *b, size_t n, const char *want)
{
    char got[2 * NEG_MAX_DATAGRAM + 1];
    hex(got, b, n);
    if (getenv("NEG_PRINT_VECTOR")) {
        printf("%s (%zu bytes):\n%s\n", name, n, got);
        return;
    }
    assert_string_equal(got, want);
}

static void test_known_answer_vector(void **state)
{
    (void)state;
    struct pair p;
    pair_init(&p, T_NOTIFY, T_NOTIFY);
    static const char psk[] = "libdrt test psk";
    struct counter_rng ri = {.next = 0x01}, rr = {.next = 0x81};
    neg_free(p.ini);
    neg_responder_free(p.resp);
    struct neg_config c = {
        .psk = (const uint8_t *)psk,
        .psk_len = strlen(psk),
        .random = counter_fill,
        .random_ctx = &ri,
        .km = km_env(&p, 0),
        .local = p.a,
        .remote = p.b,
    };
    c.km.random = counter_fill;
    c.km.random_ctx = &ri;
    p.ini = neg_create(&c);
    struct neg_responder_config rc = {.base = c};
    rc.base.random_ctx = &rr;
    rc.base.km = km_env(&p, 1);
    rc.base.km.random = counter_fill;
    rc.base.km.random_ctx = &rr;
    rc.base.local = p.b;
    p.resp = neg_responder_create(&rc, 0);
    run(&p, -1);
    assert_interop(&p);
    assert_notified(&p);
    assert_int_equal(p.nlog, 4);
    assert_hex("INIT_REQ", p.log[0], p.log_len[0], VEC_INIT_REQ);
    assert_hex("INIT_RESP", p.log[1], p.log_len[1], VEC_INIT_RESP);
    assert_hex("AUTH_REQ", p.log[2], p.log_len[2], VEC_AUTH_REQ);
    assert_hex("AUTH_RESP", p.log[3], p.log_len[3], VEC_AUTH_RESP);
    uint8_t spis[8];
    neg_put32(spis, tias[0].n_in_spi);
    neg_put32(spis + 4, tias[1].n_in_spi);
    assert_hex("child SPIs (initiator's inbound, responder's inbound)", spis, 8, VEC_CHILD_SPIS);
    assert_hex("child keymat i->r", tias[1].n_in_key, ESP_KEYMAT_SIZE, VEC_KEYMAT_IR);
    assert_hex("child keymat r->i", tias[0].n_in_key, ESP_KEYMAT_SIZE, VEC_KEYMAT_RI);
    pair_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_happy_path_no_tia),
        cmocka_unit_test(test_notify_only),
        cmocka_unit_test(test_dictator_initiator_only),
        cmocka_unit_test(test_dictator_responder_only),
        cmocka_unit_test(test_both_dictate_initiator_heavier),
        cmocka_unit_test(test_both_dictate_responder_heavier),
        cmocka_unit_test(test_both_dictate_tie_goes_to_responder),
        cmocka_unit_test(test_dictator_declines),
        cmocka_unit_test(test_arbitrate_table),
        cmocka_unit_test(test_dictator_fails),
        cmocka_unit_test(test_dictator_late),
        cmocka_unit_test(test_dictator_wrong_length),
        cmocka_unit_test(test_dictator_leaves_before_dictation),
        cmocka_unit_test(test_dictator_fails_keying_module_generates),
        cmocka_unit_test(test_wrong_psk),
        cmocka_unit_test(test_loss_of_any_single_message),
        cmocka_unit_test(test_retransmission_backoff_and_give_up),
        cmocka_unit_test(test_replay_dropped),
        cmocka_unit_test(test_cross_session_replay_dropped),
        cmocka_unit_test(test_bit_flips_dropped),
        cmocka_unit_test(test_tampered_init_never_completes),
        cmocka_unit_test(test_strict_parsing),
        cmocka_unit_test_teardown(test_mutated_datagrams_dropped, restore_half_open),
        cmocka_unit_test(test_lossy_network),
        cmocka_unit_test(test_low_order_key_share_refused),
        cmocka_unit_test(test_cookie_flood_bounded),
        cmocka_unit_test(test_cookie_holders_capped),
        cmocka_unit_test(test_callback_reenters_registry),
        cmocka_unit_test(test_async_calls_same_outcome),
        cmocka_unit_test(test_async_responder_waits_for_its_calls),
        cmocka_unit_test(test_async_dictation_fails_at_its_deadline),
        cmocka_unit_test(test_async_check_deadline),
        cmocka_unit_test(test_async_dictator_gone_before_its_call_runs),
        cmocka_unit_test(test_known_answer_vector),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
