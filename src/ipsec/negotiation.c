/*
 * negotiation.c - the per-peer SA negotiation state machine
 * (negotiation.h; byte layout in neg_wire.h and docs/KEYING.md §7).
 */
#include "ipsec/negotiation.h"
#include "ipsec/udp_encap.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "ipsec/neg_crypto.h"

#define LABEL_IKE   "libdrt-neg v1 ike"
#define LABEL_CHILD "libdrt-neg v1 child"
#define LABEL_AUTHI "libdrt-neg v1 auth initiator"
#define LABEL_AUTHR "libdrt-neg v1 auth responder"
#define LABEL_SIGI  "libdrt-neg v1 signature initiator"
#define LABEL_SIGR  "libdrt-neg v1 signature responder"
#define IKE_KEYMAT  (32u * 5u + 4u * 2u)
#define INIT_REQ_MAX (NEG_HEADER_SIZE + 1u + NEG_COOKIE_SIZE + NEG_KE_SIZE + NEG_NONCE_SIZE)
#define INIT_RESP_SIZE (NEG_HEADER_SIZE + NEG_KE_SIZE + NEG_NONCE_SIZE)
#define MAX_COOKIES 2u /* COOKIE answers an initiator follows before it stops */
#define MID_AUTH 1u    /* AUTH_REQ / AUTH_RESP */
#define MID_KEYS 2u    /* KEYS / KEYS_ACK */
/* What a credential's signature covers: label | INIT_REQ | INIT_RESP | MAC. */
#define SIGNED_MAX (sizeof(LABEL_SIGI) - 1 + INIT_REQ_MAX + INIT_RESP_SIZE + NEG_HASH_SIZE)
#define BODY_MAX (NEG_MAX_DATAGRAM - NEG_HEADER_SIZE - NEG_IV_SIZE - NEG_GCM_TAG)

struct neg {
    struct neg_config cfg;
    uint8_t psk[NEG_PSK_MAX];
    bool initiator;
    enum neg_state state;
    enum neg_error error;
    DWORD error_code;
    uint64_t started;

    uint64_t spi_i, spi_r;
    uint8_t x_priv[NEG_X25519_SIZE];
    uint8_t ke_i[NEG_KE_SIZE], ke_r[NEG_KE_SIZE];
    uint8_t n_i[NEG_NONCE_SIZE], n_r[NEG_NONCE_SIZE];
    uint8_t cookie[NEG_COOKIE_SIZE];
    bool has_cookie;
    unsigned cookies;
    uint8_t init_req[INIT_REQ_MAX];
    size_t init_req_len;
    uint8_t init_resp[INIT_RESP_SIZE];
    size_t init_resp_len;

    /* The IKE SA: SK_d | SK_ei | SK_er | salt_ei | salt_er | SK_pi | SK_pr. */
    uint8_t sk_d[32], sk_ei[32], sk_er[32], salt_ei[4], salt_er[4], sk_pi[32], sk_pr[32];
    bool have_ike;

    /* The initiator's outstanding request, or the responder's last answer
     * together with the request it answered. */
    uint8_t last_out[NEG_MAX_DATAGRAM];
    size_t last_out_len;
    uint8_t last_in[NEG_MAX_DATAGRAM];
    size_t last_in_len;
    uint32_t next_mid; /* initiator: outstanding request; responder: next expected */
    uint64_t timer;    /* UINT64_MAX: none; a key-manager call's deadline while waiting */
    uint64_t call_id;  /* the key-manager call waited for (CHECKING, DICTATING), or 0 */
    uint64_t own_ids;  /* call ids without cfg.call_ids */
    unsigned tries;

    bool will_l, will_p;
    uint32_t weight_l, weight_p;
    enum neg_winner winner;
    uint32_t spi_in, spi_out; /* child SPIs: ours (inbound) and the peer's */
    uint8_t keys_in[ESP_KEYMAT_SIZE], keys_out[ESP_KEYMAT_SIZE];
    struct esp_sa sa_in, sa_out;
    bool installed;
    uint64_t order;
    uint64_t established_at; /* `now` of the datagram that established it */
    uint64_t in_packets_seen, in_quiet_since; /* neg_inbound_quiet_ms */

    uint64_t dropped, retransmits;
};

/* ---------------------------------------------------------------- basics */

bool neg_auth_config_ok(const struct neg_config *cfg)
{
    const struct neg_cred *c = cfg->cred;
    if (c)
        return !cfg->psk && !cfg->psk_len && c->chain && c->chain_len &&
               c->chain_len <= NEG_CRED_AUTH_MAX - NEG_CRED_AUTH_MIN && c->sign && c->verify;
    return cfg->psk && cfg->psk_len && cfg->psk_len <= NEG_PSK_MAX;
}

struct neg *neg_create(const struct neg_config *cfg)
{
    if (!cfg || !cfg->random || !neg_auth_config_ok(cfg))
        return NULL;
    struct neg *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    n->cfg = *cfg;
    if (cfg->psk) {
        memcpy(n->psk, cfg->psk, cfg->psk_len);
        n->cfg.psk = n->psk;
    }
    if (!n->cfg.rto_ms)
        n->cfg.rto_ms = NEG_DEFAULT_RTO_MS;
    if (!n->cfg.max_retransmits)
        n->cfg.max_retransmits = NEG_DEFAULT_MAX_RETRANSMITS;
    if (n->cfg.max_retransmits > NEG_MAX_RETRANSMITS)
        n->cfg.max_retransmits = NEG_MAX_RETRANSMITS; /* the backoff shift stays defined */
    if (!n->cfg.km.random) {
        n->cfg.km.random = cfg->random;
        n->cfg.km.random_ctx = cfg->random_ctx;
    }
    n->timer = UINT64_MAX;
    return n;
}

void neg_free(struct neg *n)
{
    if (!n)
        return;
    if (n->installed) {
        esp_sa_free(&n->sa_in);
        esp_sa_free(&n->sa_out);
    }
    OPENSSL_cleanse(n, sizeof(*n));
    free(n);
}

enum neg_state neg_state(const struct neg *n) { return n->state; }
bool neg_is_initiator(const struct neg *n) { return n->initiator; }
enum neg_error neg_error(const struct neg *n) { return n->error; }
DWORD neg_error_code(const struct neg *n) { return n->error_code; }
uint64_t neg_spi_i(const struct neg *n) { return n->spi_i; }
uint64_t neg_spi_r(const struct neg *n) { return n->spi_r; }
uint64_t neg_started(const struct neg *n) { return n->started; }
const struct neg_peer *neg_remote(const struct neg *n) { return &n->cfg.remote; }
uint64_t neg_dropped(const struct neg *n) { return n->dropped; }
uint64_t neg_retransmits(const struct neg *n) { return n->retransmits; }
enum neg_winner neg_winner(const struct neg *n) { return n->winner; }
uint32_t neg_child_spi_in(const struct neg *n) { return n->spi_in; }
uint64_t neg_established_order(const struct neg *n) { return n->order; }
uint64_t neg_established_at(const struct neg *n) { return n->established_at; }

uint64_t neg_inbound_quiet_ms(struct neg *n, uint64_t now)
{
    if (n->state != NEG_S_ESTABLISHED)
        return 0;
    if (n->sa_in.packets != n->in_packets_seen || n->in_quiet_since == 0) {
        n->in_packets_seen = n->sa_in.packets;
        n->in_quiet_since = now ? now : 1;
    }
    return now - n->in_quiet_since;
}
struct esp_sa *neg_sa_inbound(struct neg *n) { return n->installed ? &n->sa_in : NULL; }
struct esp_sa *neg_sa_outbound(struct neg *n) { return n->installed ? &n->sa_out : NULL; }
uint64_t neg_next_timeout(const struct neg *n) { return n->timer; }

const char *neg_error_name(enum neg_error e)
{
    switch (e) {
    case NEG_ERR_NONE: return "none";
    case NEG_ERR_AUTH: return "peer failed authentication (wrong pre-shared key or credential?)";
    case NEG_ERR_PEER_AUTH: return "peer refused our authentication (wrong pre-shared key or credential?)";
    case NEG_ERR_TIMEOUT: return "no answer: gave up after retransmissions";
    case NEG_ERR_DICTATION: return "our key manager failed to dictate keys";
    case NEG_ERR_PEER_DICTATION: return "the peer's key manager failed to dictate keys";
    case NEG_ERR_PROTOCOL: return "protocol violation by the peer";
    case NEG_ERR_CRYPTO: return "cryptographic failure";
    case NEG_ERR_PEER_INTERNAL: return "the peer failed internally (crypto or randomness)";
    }
    return "unknown";
}

/* Once the SA pair is installed only a DELETE is ever sealed or opened:
 * the SK_e keys and salts stay, the rest goes (the cached answer is kept
 * as bytes). */
static void forget_exchange(struct neg *n)
{
    OPENSSL_cleanse(n->x_priv, sizeof(n->x_priv));
    OPENSSL_cleanse(n->sk_d, sizeof(n->sk_d));
    OPENSSL_cleanse(n->sk_pi, sizeof(n->sk_pi));
    OPENSSL_cleanse(n->sk_pr, sizeof(n->sk_pr));
}

/* The IKE SA's keys, once nothing will be sealed or opened any more. */
static void forget_ike(struct neg *n)
{
    OPENSSL_cleanse(n->x_priv, sizeof(n->x_priv));
    OPENSSL_cleanse(n->sk_d, sizeof(n->sk_d));
    OPENSSL_cleanse(n->sk_ei, sizeof(n->sk_ei));
    OPENSSL_cleanse(n->sk_er, sizeof(n->sk_er));
    OPENSSL_cleanse(n->salt_ei, sizeof(n->salt_ei));
    OPENSSL_cleanse(n->salt_er, sizeof(n->salt_er));
    OPENSSL_cleanse(n->sk_pi, sizeof(n->sk_pi));
    OPENSSL_cleanse(n->sk_pr, sizeof(n->sk_pr));
    n->have_ike = false;
}

/* Entering FAILED forgets every secret but the cached answer. */
static void fail(struct neg *n, enum neg_error e, DWORD code)
{
    if (n->cfg.auth && (e == NEG_ERR_AUTH || e == NEG_ERR_PEER_AUTH)) {
        if (e == NEG_ERR_AUTH)
            n->cfg.auth->failed++;
        else
            n->cfg.auth->refused++;
        n->cfg.auth->last_code = code;
    }
    n->state = NEG_S_FAILED;
    n->error = e;
    n->error_code = code;
    n->timer = UINT64_MAX;
    forget_ike(n);
    OPENSSL_cleanse(n->keys_in, sizeof(n->keys_in));
    OPENSSL_cleanse(n->keys_out, sizeof(n->keys_out));
}

static bool rnd(struct neg *n, void *buf, size_t len)
{
    return n->cfg.random(n->cfg.random_ctx, buf, len) == 0;
}

static bool random_spi64(struct neg *n, uint64_t *spi)
{
    for (int i = 0; i < 4; i++) {
        uint8_t b[8];
        if (!rnd(n, b, 8))
            return false;
        *spi = neg_get64(b);
        if (*spi)
            return true;
    }
    return false;
}

/* A child SPI the receiver picks: never 0..255 (RFC 4303 §2.1), never one
 * with a zero first byte (on the DRT's UDP port a zero first byte marks a
 * datagram that is not ESP: udp_encap.h), never one the node already uses. */
static bool random_child_spi(struct neg *n, uint32_t *spi)
{
    for (int i = 0; i < 16; i++) {
        uint8_t b[4];
        if (!rnd(n, b, 4))
            return false;
        uint32_t v = neg_get32(b);
        if (v >= UDP_ENCAP_MIN_SPI && !(n->cfg.spi_in_use && n->cfg.spi_in_use(n->cfg.spi_ctx, v))) {
            *spi = v;
            return true;
        }
    }
    return false;
}

static void emit(struct neg_out *out, const uint8_t *d, size_t len)
{
    memcpy(out->buf, d, len);
    out->len = len;
}

/* Sends (and remembers, for retransmission or repeat) a datagram. */
static void send_request(struct neg *n, uint64_t now, const uint8_t *d, size_t len,
                         struct neg_out *out)
{
    memcpy(n->last_out, d, len);
    n->last_out_len = len;
    n->tries = 0;
    n->timer = now + n->cfg.rto_ms;
    emit(out, d, len);
}

/* The responder took a request in: until it is answered, a repeat of it
 * is dropped (its answer may wait for a key manager). */
static void take_request(struct neg *n, const uint8_t *req, size_t req_len)
{
    memcpy(n->last_in, req, req_len);
    n->last_in_len = req_len;
    n->last_out_len = 0;
}

/* Answers the request taken last; a repeat of it gets the same bytes. */
static void answer(struct neg *n, const uint8_t *d, size_t len, struct neg_out *out)
{
    memcpy(n->last_out, d, len);
    n->last_out_len = len;
    emit(out, d, len);
}

/* ---------------------------------------------------------------- keys */

static bool derive_ike(struct neg *n)
{
    uint8_t shared[NEG_X25519_SIZE];
    const uint8_t *peer = n->initiator ? n->ke_r : n->ke_i;
    if (!neg_x25519_shared(n->x_priv, peer, shared))
        return false;
    OPENSSL_cleanse(n->x_priv, sizeof(n->x_priv));
    uint8_t salt[2 * NEG_NONCE_SIZE], info[sizeof(LABEL_IKE) - 1 + 16], km[IKE_KEYMAT];
    memcpy(salt, n->n_i, NEG_NONCE_SIZE);
    memcpy(salt + NEG_NONCE_SIZE, n->n_r, NEG_NONCE_SIZE);
    memcpy(info, LABEL_IKE, sizeof(LABEL_IKE) - 1);
    neg_put64(info + sizeof(LABEL_IKE) - 1, n->spi_i);
    neg_put64(info + sizeof(LABEL_IKE) - 1 + 8, n->spi_r);
    bool ok = neg_hkdf(salt, sizeof(salt), shared, sizeof(shared), info, sizeof(info), km,
                       sizeof(km));
    OPENSSL_cleanse(shared, sizeof(shared));
    if (ok) {
        const uint8_t *p = km;
        memcpy(n->sk_d, p, 32), p += 32;
        memcpy(n->sk_ei, p, 32), p += 32;
        memcpy(n->sk_er, p, 32), p += 32;
        memcpy(n->salt_ei, p, 4), p += 4;
        memcpy(n->salt_er, p, 4), p += 4;
        memcpy(n->sk_pi, p, 32), p += 32;
        memcpy(n->sk_pr, p, 32);
        n->have_ike = true;
    }
    OPENSSL_cleanse(km, sizeof(km));
    return ok;
}

/* AUTH = HMAC-SHA-256(PSK, label | INIT_REQ | INIT_RESP | SK_p of the signer). */
static bool compute_auth(const struct neg *n, bool of_initiator, uint8_t out[NEG_AUTH_SIZE])
{
    const char *label = of_initiator ? LABEL_AUTHI : LABEL_AUTHR;
    const uint8_t *parts[4] = {(const uint8_t *)label, n->init_req, n->init_resp,
                               of_initiator ? n->sk_pi : n->sk_pr};
    size_t lens[4] = {strlen(label), n->init_req_len, n->init_resp_len, 32};
    return neg_hmac(n->psk, n->cfg.psk_len, parts, lens, 4, out);
}

/* What a credential signs: label | INIT_REQ | INIT_RESP | HMAC-SHA-256(SK_p
 * of the signer, its chain). Both INIT messages bind the signature to
 * this exchange's key shares, nonces and SPIs; the MAC binds it to the
 * keys only the two ends derived, and to the chain sent with it (as
 * IKEv2's prf(SK_p, ID) does). Returns its length, 0 on failure. */
static size_t signed_octets(const struct neg *n, bool of_initiator, const uint8_t *chain,
                            size_t chain_len, uint8_t out[SIGNED_MAX])
{
    const char *label = of_initiator ? LABEL_SIGI : LABEL_SIGR;
    size_t ll = strlen(label);
    const uint8_t *parts[1] = {chain};
    size_t lens[1] = {chain_len};
    uint8_t *p = out;
    memcpy(p, label, ll), p += ll;
    memcpy(p, n->init_req, n->init_req_len), p += n->init_req_len;
    memcpy(p, n->init_resp, n->init_resp_len), p += n->init_resp_len;
    if (!neg_hmac(of_initiator ? n->sk_pi : n->sk_pr, 32, parts, lens, 1, p))
        return 0;
    return (size_t)(p + NEG_HASH_SIZE - out);
}

/* Our AUTH field at p: the PSK's HMAC (32 bytes), or chain length | chain |
 * signature length | signature. Its length, 0 on failure. */
static size_t write_auth(const struct neg *n, uint8_t *p)
{
    const struct neg_cred *c = n->cfg.cred;
    if (!c)
        return compute_auth(n, n->initiator, p) ? NEG_AUTH_SIZE : 0;
    uint8_t msg[SIGNED_MAX], sig[NEG_CRED_AUTH_MAX];
    size_t mlen = signed_octets(n, n->initiator, c->chain, c->chain_len, msg);
    size_t slen = mlen ? c->sign(c->ctx, msg, mlen, sig) : 0;
    if (!slen || slen > 0xFFFF || 4 + c->chain_len + slen > NEG_CRED_AUTH_MAX)
        return 0;
    neg_put16(p, (uint16_t)c->chain_len);
    memcpy(p + 2, c->chain, c->chain_len);
    neg_put16(p + 2 + c->chain_len, (uint16_t)slen);
    memcpy(p + 4 + c->chain_len, sig, slen);
    return 4 + c->chain_len + slen;
}

/* The peer's AUTH field at the start of its body of len bytes, followed by
 * exactly one of the sizes rest_a and rest_b. ERROR_SUCCESS and *used its
 * length, or why it failed: a field that does not parse as our method's
 * (the peer uses the other method, or garbage) is ERROR_ACCESS_DENIED, as
 * is a wrong PSK; a credential that does not verify gives the verifier's
 * code. */
static DWORD check_auth(const struct neg *n, const uint8_t *p, size_t len, size_t rest_a,
                        size_t rest_b, size_t *used)
{
    const struct neg_cred *c = n->cfg.cred;
    bool of_initiator = !n->initiator;
    size_t alen = NEG_AUTH_SIZE;
    if (c) {
        size_t cl = len >= 2 ? neg_get16(p) : 0;
        size_t sl = cl && len >= 4 + cl ? neg_get16(p + 2 + cl) : 0;
        alen = sl ? 4 + cl + sl : SIZE_MAX;
    }
    if (alen > len || (len - alen != rest_a && len - alen != rest_b))
        return ERROR_ACCESS_DENIED;
    *used = alen;
    if (!c) {
        uint8_t want[NEG_AUTH_SIZE];
        bool ok = compute_auth(n, of_initiator, want) && neg_equal(want, p, NEG_AUTH_SIZE);
        return ok ? ERROR_SUCCESS : ERROR_ACCESS_DENIED;
    }
    size_t cl = neg_get16(p);
    uint8_t msg[SIGNED_MAX];
    size_t mlen = signed_octets(n, of_initiator, p + 2, cl, msg);
    if (!mlen)
        return ERROR_INTERNAL_ERROR;
    return c->verify(c->ctx, p + 2, cl, msg, mlen, p + 4 + cl, neg_get16(p + 2 + cl));
}

/* Child keys from the exchange: HKDF-Expand(SK_d, label | Ni | Nr |
 * SPI(initiator's inbound) | SPI(responder's inbound), 72): i->r then r->i. */
static bool derive_child(struct neg *n)
{
    uint8_t info[sizeof(LABEL_CHILD) - 1 + 2 * NEG_NONCE_SIZE + 8], km[NEG_KEYMAT_PAIR];
    uint8_t *p = info;
    memcpy(p, LABEL_CHILD, sizeof(LABEL_CHILD) - 1), p += sizeof(LABEL_CHILD) - 1;
    memcpy(p, n->n_i, NEG_NONCE_SIZE), p += NEG_NONCE_SIZE;
    memcpy(p, n->n_r, NEG_NONCE_SIZE), p += NEG_NONCE_SIZE;
    neg_put32(p, n->initiator ? n->spi_in : n->spi_out);
    neg_put32(p + 4, n->initiator ? n->spi_out : n->spi_in);
    if (!neg_hkdf_expand(n->sk_d, sizeof(n->sk_d), info, sizeof(info), km, sizeof(km)))
        return false;
    /* i->r is the responder's inbound */
    memcpy(n->initiator ? n->keys_out : n->keys_in, km, ESP_KEYMAT_SIZE);
    memcpy(n->initiator ? n->keys_in : n->keys_out, km + ESP_KEYMAT_SIZE, ESP_KEYMAT_SIZE);
    OPENSSL_cleanse(km, sizeof(km));
    return true;
}

/* Keys on the wire are always i->r then r->i. */
static void keys_to_wire(const struct neg *n, uint8_t *p)
{
    memcpy(p, n->initiator ? n->keys_out : n->keys_in, ESP_KEYMAT_SIZE);
    memcpy(p + ESP_KEYMAT_SIZE, n->initiator ? n->keys_in : n->keys_out, ESP_KEYMAT_SIZE);
}

static void keys_from_wire(struct neg *n, const uint8_t *p)
{
    memcpy(n->initiator ? n->keys_out : n->keys_in, p, ESP_KEYMAT_SIZE);
    memcpy(n->initiator ? n->keys_in : n->keys_out, p + ESP_KEYMAT_SIZE, ESP_KEYMAT_SIZE);
}

static void sa_params(const struct neg *n, struct neg_sa_params *p)
{
    memset(p, 0, sizeof(*p));
    p->ip_version = n->cfg.local.ip_version;
    memcpy(p->local_addr, n->cfg.local.addr, 16);
    memcpy(p->remote_addr, n->cfg.remote.addr, 16);
    p->qm_sa_id = n->spi_in ^ n->spi_out;
    p->mm_sa_id = n->spi_i;
    if (n->winner != NEG_WIN_NONE)
        p->bundle_flags |= IPSEC_SA_BUNDLE_FLAG_USING_DICTATED_KEYS;
    if ((n->winner == NEG_WIN_INITIATOR && n->initiator) ||
        (n->winner == NEG_WIN_RESPONDER && !n->initiator))
        p->bundle_flags |= IPSEC_SA_BUNDLE_FLAG_LOCALLY_DICTATED_KEYS;
}

/* Installs the SA pair, then notifies every key manager, then forgets the
 * keys (the SAs hold their own copies). */
static bool install(struct neg *n, uint64_t now)
{
    if (esp_sa_init(&n->sa_in, true, n->spi_in, n->keys_in, true, n->cfg.replay_window) != ESP_OK)
        return false;
    if (esp_sa_init(&n->sa_out, false, n->spi_out, n->keys_out, true, 0) != ESP_OK) {
        esp_sa_free(&n->sa_in);
        return false;
    }
    n->installed = true;
    n->state = NEG_S_ESTABLISHED;
    n->established_at = now;
    if (n->cfg.order)
        n->order = ++*n->cfg.order;
    n->timer = UINT64_MAX;
    struct neg_sa_params p;
    sa_params(n, &p);
    neg_km_notify(&n->cfg.km, &p, n->spi_in, n->keys_in, n->spi_out, n->keys_out);
    OPENSSL_cleanse(n->keys_in, sizeof(n->keys_in));
    OPENSSL_cleanse(n->keys_out, sizeof(n->keys_out));
    forget_exchange(n);
    return true;
}

/* ------------------------------------------------------ protected messages */

/* Seals body under our direction's key: header | IV (mid, 8) | ct | tag. */
static size_t seal(struct neg *n, uint8_t type, uint32_t mid, const uint8_t *body, size_t blen,
                   uint8_t *d)
{
    if (!n->have_ike)
        return 0;
    size_t len = NEG_HEADER_SIZE + NEG_IV_SIZE + blen + NEG_GCM_TAG;
    struct neg_header h = {
        .type = type,
        .flags = n->initiator ? NEG_FLAG_INITIATOR : NEG_FLAG_RESPONSE,
        .spi_i = n->spi_i,
        .spi_r = n->spi_r,
        .mid = mid,
        .length = (uint32_t)len,
    };
    neg_header_write(d, &h);
    uint8_t *iv = d + NEG_HEADER_SIZE;
    neg_put64(iv, mid);
    uint8_t nonce[12];
    memcpy(nonce, n->initiator ? n->salt_ei : n->salt_er, 4);
    memcpy(nonce + 4, iv, NEG_IV_SIZE);
    if (!neg_gcm_seal(n->initiator ? n->sk_ei : n->sk_er, nonce, d, NEG_HEADER_SIZE, body, blen,
                      iv + NEG_IV_SIZE))
        return 0;
    return len;
}

/* Opens a protected datagram from the peer into body; its size or 0. The
 * IV must repeat the message id (so a nonce is never reused). */
static size_t unseal(const struct neg *n, const struct neg_header *h, const uint8_t *d,
                     uint8_t *body)
{
    const uint8_t *iv = d + NEG_HEADER_SIZE;
    if (!n->have_ike || neg_get64(iv) != h->mid)
        return 0;
    size_t ct = h->length - NEG_HEADER_SIZE - NEG_IV_SIZE;
    uint8_t nonce[12];
    memcpy(nonce, n->initiator ? n->salt_er : n->salt_ei, 4);
    memcpy(nonce + 4, iv, NEG_IV_SIZE);
    if (!neg_gcm_open(n->initiator ? n->sk_er : n->sk_ei, nonce, d, NEG_HEADER_SIZE,
                      iv + NEG_IV_SIZE, ct, body))
        return 0;
    return ct - NEG_GCM_TAG;
}

/* ---------------------------------------------------------------- delete */

/* The pair ends: SAs and IKE keys freed, nothing opens or seals again. */
static void end_pair(struct neg *n)
{
    esp_sa_free(&n->sa_in);
    esp_sa_free(&n->sa_out);
    n->installed = false;
    n->state = NEG_S_DELETED;
    forget_ike(n);
}

bool neg_delete(struct neg *n, struct neg_out *out)
{
    out->len = 0;
    if (n->state != NEG_S_ESTABLISHED)
        return false;
    uint8_t body[NEG_DELETE_BODY];
    neg_put32(body, n->spi_in);
    out->len = seal(n, NEG_T_DELETE, NEG_DELETE_MID, body, sizeof(body), out->buf);
    end_pair(n);
    return true;
}

/* The peer's DELETE: it names the SPI it received on (our outbound). */
static bool on_delete(struct neg *n, const struct neg_header *h, const uint8_t *d)
{
    if (n->state != NEG_S_ESTABLISHED || h->spi_r != n->spi_r)
        return false;
    uint8_t body[NEG_DELETE_BODY];
    if (unseal(n, h, d, body) != sizeof(body) || neg_get32(body) != n->spi_out)
        return false;
    end_pair(n);
    return true;
}

/* ------------------------------------------------------------- initiator */

static size_t build_init_req(struct neg *n)
{
    uint8_t *d = n->init_req;
    size_t body = 1u + (n->has_cookie ? NEG_COOKIE_SIZE : 0u) + NEG_KE_SIZE + NEG_NONCE_SIZE;
    struct neg_header h = {.type = NEG_T_INIT_REQ, .flags = NEG_FLAG_INITIATOR,
                           .spi_i = n->spi_i, .length = (uint32_t)(NEG_HEADER_SIZE + body)};
    neg_header_write(d, &h);
    uint8_t *p = d + NEG_HEADER_SIZE;
    *p++ = n->has_cookie ? NEG_COOKIE_SIZE : 0;
    if (n->has_cookie) {
        memcpy(p, n->cookie, NEG_COOKIE_SIZE);
        p += NEG_COOKIE_SIZE;
    }
    memcpy(p, n->ke_i, NEG_KE_SIZE);
    memcpy(p + NEG_KE_SIZE, n->n_i, NEG_NONCE_SIZE);
    n->init_req_len = h.length;
    return h.length;
}

bool neg_start(struct neg *n, uint64_t now, struct neg_out *out)
{
    out->len = 0;
    if (n->state != NEG_S_IDLE)
        return false;
    n->initiator = true;
    n->started = now;
    if (!random_spi64(n, &n->spi_i) || !rnd(n, n->x_priv, sizeof(n->x_priv)) ||
        !rnd(n, n->n_i, sizeof(n->n_i)) || !neg_x25519_public(n->x_priv, n->ke_i)) {
        fail(n, NEG_ERR_CRYPTO, ERROR_INTERNAL_ERROR);
        return false;
    }
    n->state = NEG_S_INIT_SENT;
    send_request(n, now, n->init_req, build_init_req(n), out);
    return true;
}

static bool on_cookie(struct neg *n, uint64_t now, const uint8_t *d, struct neg_out *out)
{
    if (n->state != NEG_S_INIT_SENT || n->cookies >= MAX_COOKIES)
        return false;
    n->cookies++;
    memcpy(n->cookie, d + NEG_HEADER_SIZE, NEG_COOKIE_SIZE);
    n->has_cookie = true;
    send_request(n, now, n->init_req, build_init_req(n), out);
    return true;
}

/* --------------------------------------------------- key-manager calls */

/* Each side runs the cycle of docs/KEYING.md §7.4 as steps: ask the
 * dictator (CHECKING), then, if this side won, have it dictate
 * (DICTATING). A step either runs at once (no dictator, or no env.ask) or
 * waits for its answer (neg_take_answer) until its deadline (neg_tick);
 * what follows it is the same either way. */

static void after_check(struct neg *n, uint64_t now, bool will, uint32_t weight,
                        struct neg_out *out);
static void after_dictation(struct neg *n, uint64_t now, DWORD rc, bool generate,
                            struct neg_out *out);

static void take_answer(struct neg *n, uint64_t now, const struct neg_km_answer *a,
                        struct neg_out *out)
{
    n->timer = UINT64_MAX;
    n->call_id = 0;
    if (n->state == NEG_S_CHECKING) {
        after_check(n, now, a->will, a->weight, out);
        return;
    }
    if (a->rc == ERROR_SUCCESS) {
        memcpy(n->keys_in, a->keys_in, ESP_KEYMAT_SIZE);
        memcpy(n->keys_out, a->keys_out, ESP_KEYMAT_SIZE);
    }
    after_dictation(n, now, a->rc, a->generate, out);
}

/* Asks our dictator: step 1 on either side (CHECK: will it dictate?), or
 * step 2 on the side that won (DICTATE: the keys). The negotiation waits
 * in CHECKING or DICTATING for the answer until the call's deadline, the
 * dictator's hint; without env.ask the call runs at once. Without a
 * dictator the step goes on as if it had answered "will not", or had left
 * (FWP_E_NOT_FOUND). */
static void ask_dictator(struct neg *n, uint64_t now, enum neg_km_op op, struct neg_out *out)
{
    struct neg_sa_params p;
    sa_params(n, &p);
    n->state = op == NEG_KM_CHECK ? NEG_S_CHECKING : NEG_S_DICTATING;
    struct neg_km_call c;
    struct neg_km_answer a = {.rc = FWP_E_NOT_FOUND};
    if (!neg_km_call_init(&n->cfg.km, op, &p, n->spi_in, n->spi_out, &c)) {
        take_answer(n, now, &a, out);
        return;
    }
    c.id = n->cfg.call_ids ? ++*n->cfg.call_ids : ++n->own_ids;
    c.deadline = now + (uint64_t)c.pin.timeout_s * 1000u;
    n->call_id = c.id;
    n->timer = c.deadline;
    if (n->cfg.km.ask) {
        n->cfg.km.ask(n->cfg.km.ask_ctx, &c);
        OPENSSL_cleanse(&c, sizeof(c));
        return;
    }
    neg_km_run(&n->cfg.km, &c, &a);
    take_answer(n, now, &a, out);
    neg_km_answer_clear(&a);
}

bool neg_take_answer(struct neg *n, uint64_t now, struct neg_km_answer *a, struct neg_out *out)
{
    out->len = 0;
    bool waiting = n->state == NEG_S_CHECKING || n->state == NEG_S_DICTATING;
    bool ok = waiting && a->id != 0 && a->id == n->call_id && now < n->timer;
    if (ok)
        take_answer(n, now, a, out);
    neg_km_answer_clear(a);
    return ok;
}

uint64_t neg_waiting_call(const struct neg *n)
{
    return n->call_id;
}

/* ------------------------------------------------------------- initiator */

static bool on_init_resp(struct neg *n, uint64_t now, const struct neg_header *h,
                         const uint8_t *d, size_t len, struct neg_out *out)
{
    if (n->state != NEG_S_INIT_SENT)
        return false;
    memcpy(n->ke_r, d + NEG_HEADER_SIZE, NEG_KE_SIZE);
    memcpy(n->n_r, d + NEG_HEADER_SIZE + NEG_KE_SIZE, NEG_NONCE_SIZE);
    n->spi_r = h->spi_r;
    if (!derive_ike(n)) {
        /* a bad KEr could be an attacker's; the real answer may still come */
        n->spi_r = 0;
        return false;
    }
    memcpy(n->init_resp, d, len);
    n->init_resp_len = len;
    if (!random_child_spi(n, &n->spi_in)) {
        fail(n, NEG_ERR_CRYPTO, ERROR_INTERNAL_ERROR);
        return true;
    }
    n->timer = UINT64_MAX; /* INIT_REQ answered: no more retransmissions */
    ask_dictator(n, now, NEG_KM_CHECK, out);
    return true;
}

/* The initiator's check answered: AUTH_REQ carries our will and weight. */
static void send_auth_req(struct neg *n, uint64_t now, struct neg_out *out)
{
    uint8_t body[BODY_MAX], dg[NEG_MAX_DATAGRAM];
    size_t alen = write_auth(n, body);
    if (!alen) {
        fail(n, NEG_ERR_CRYPTO, ERROR_INTERNAL_ERROR);
        return;
    }
    neg_put32(body + alen, n->spi_in);
    body[alen + 4] = n->will_l ? 1 : 0;
    neg_put32(body + alen + 5, n->weight_l);
    n->next_mid = MID_AUTH;
    size_t dl = seal(n, NEG_T_AUTH_REQ, MID_AUTH, body, alen + NEG_AUTH_REQ_BODY - NEG_AUTH_SIZE,
                     dg);
    OPENSSL_cleanse(body, sizeof(body));
    if (!dl) {
        fail(n, NEG_ERR_CRYPTO, ERROR_INTERNAL_ERROR);
        return;
    }
    n->state = NEG_S_AUTH_SENT;
    send_request(n, now, dg, dl, out);
}

/* The initiator won and its dictator answered (or failed): the keys, or
 * the failure, go to the peer in KEYS. */
static void send_keys(struct neg *n, uint64_t now, DWORD rc, struct neg_out *out)
{
    uint8_t body[NEG_KEYS_BODY + NEG_KEYMAT_PAIR], dg[NEG_MAX_DATAGRAM];
    neg_put32(body, rc);
    body[4] = rc == ERROR_SUCCESS ? 1 : 0;
    size_t blen = NEG_KEYS_BODY;
    if (rc == ERROR_SUCCESS) {
        keys_to_wire(n, body + NEG_KEYS_BODY);
        blen += NEG_KEYMAT_PAIR;
    }
    n->next_mid = MID_KEYS;
    size_t dl = seal(n, NEG_T_KEYS, MID_KEYS, body, blen, dg);
    OPENSSL_cleanse(body, sizeof(body));
    if (!dl) {
        fail(n, NEG_ERR_CRYPTO, ERROR_INTERNAL_ERROR);
        return;
    }
    if (rc != ERROR_SUCCESS) {
        emit(out, dg, dl); /* tell the peer once, then stop */
        fail(n, NEG_ERR_DICTATION, rc);
        return;
    }
    n->state = NEG_S_KEYS_SENT;
    send_request(n, now, dg, dl, out);
}

/* The initiator refuses an AUTH_RESP that said success: the responder
 * may have installed the pair already, so it is told with a DELETE of the
 * pair (our inbound SPI) before everything is forgotten. */
static void refuse_responder(struct neg *n, enum neg_error e, DWORD code, struct neg_out *out)
{
    uint8_t body[NEG_DELETE_BODY];
    neg_put32(body, n->spi_in);
    out->len = seal(n, NEG_T_DELETE, NEG_DELETE_MID, body, sizeof(body), out->buf);
    fail(n, e, code);
}

static bool on_auth_resp(struct neg *n, uint64_t now, const struct neg_header *h,
                         const uint8_t *d, struct neg_out *out)
{
    if (n->state != NEG_S_AUTH_SENT || h->mid != n->next_mid)
        return false;
    uint8_t body[BODY_MAX];
    size_t blen = unseal(n, h, d, body);
    if (!blen)
        return false;
    DWORD status = neg_get32(body);
    if (blen == NEG_AUTH_RESP_FAIL) {
        static const enum neg_error by_reason[] = {
            [NEG_REASON_AUTH] = NEG_ERR_PEER_AUTH,
            [NEG_REASON_DICTATION] = NEG_ERR_PEER_DICTATION,
            [NEG_REASON_PROTOCOL] = NEG_ERR_PROTOCOL,
            [NEG_REASON_INTERNAL] = NEG_ERR_PEER_INTERNAL,
        };
        uint8_t reason = body[4];
        if (status == ERROR_SUCCESS || reason < NEG_REASON_AUTH || reason > NEG_REASON_INTERNAL)
            fail(n, NEG_ERR_PROTOCOL, ERROR_INVALID_DATA);
        else
            fail(n, by_reason[reason], status);
        goto out;
    }
    if (status != ERROR_SUCCESS) {
        fail(n, NEG_ERR_PROTOCOL, ERROR_INVALID_DATA);
        goto out;
    }
    size_t fixed = NEG_AUTH_RESP_BODY - 4 - NEG_AUTH_SIZE, alen = 0;
    DWORD rc = check_auth(n, body + 4, blen - 4, fixed, fixed + NEG_KEYMAT_PAIR, &alen);
    if (rc != ERROR_SUCCESS) {
        refuse_responder(n, NEG_ERR_AUTH, rc, out);
        goto out;
    }
    const uint8_t *p = body + 4 + alen;
    n->spi_out = neg_get32(p);
    n->will_p = p[4] == 1;
    n->weight_p = n->will_p ? neg_get32(p + 5) : 0;
    uint8_t nkeys = p[9];
    bool with_keys = blen - 4 - alen == fixed + NEG_KEYMAT_PAIR;
    if (p[4] > 1 || nkeys > 1 || n->spi_out < 256 || (nkeys == 1) != with_keys) {
        fail(n, NEG_ERR_PROTOCOL, ERROR_INVALID_DATA);
        goto out;
    }
    n->winner = neg_km_arbitrate(n->will_l, n->weight_l, n->will_p, n->weight_p);
    if ((n->winner == NEG_WIN_RESPONDER) != (nkeys == 1)) {
        fail(n, NEG_ERR_PROTOCOL, ERROR_INVALID_DATA);
        goto out;
    }
    n->timer = UINT64_MAX;
    if (n->winner == NEG_WIN_INITIATOR) {
        ask_dictator(n, now, NEG_KM_DICTATE, out);
        goto out;
    }
    if (n->winner == NEG_WIN_RESPONDER)
        keys_from_wire(n, p + fixed);
    else if (!derive_child(n)) {
        fail(n, NEG_ERR_CRYPTO, ERROR_INTERNAL_ERROR);
        goto out;
    }
    if (!install(n, now))
        fail(n, NEG_ERR_CRYPTO, ERROR_INTERNAL_ERROR);
out:
    OPENSSL_cleanse(body, sizeof(body));
    return true;
}

static bool on_keys_ack(struct neg *n, uint64_t now, const struct neg_header *h,
                        const uint8_t *d)
{
    if (n->state != NEG_S_KEYS_SENT || h->mid != n->next_mid)
        return false;
    uint8_t body[NEG_KEYS_ACK_BODY];
    if (!unseal(n, h, d, body))
        return false;
    DWORD status = neg_get32(body);
    if (status != ERROR_SUCCESS)
        fail(n, NEG_ERR_PROTOCOL, status);
    else if (!install(n, now))
        fail(n, NEG_ERR_CRYPTO, ERROR_INTERNAL_ERROR);
    return true;
}

/* ------------------------------------------------------------- responder */

bool neg_accept(struct neg *n, uint64_t now, const uint8_t *d, size_t len, struct neg_out *out)
{
    out->len = 0;
    struct neg_header h;
    if (n->state != NEG_S_IDLE || !neg_header_parse(d, len, &h) || h.type != NEG_T_INIT_REQ)
        return false;
    n->initiator = false;
    n->started = now;
    n->spi_i = h.spi_i;
    const uint8_t *p = d + NEG_HEADER_SIZE;
    p += 1u + p[0];
    memcpy(n->ke_i, p, NEG_KE_SIZE);
    memcpy(n->n_i, p + NEG_KE_SIZE, NEG_NONCE_SIZE);
    memcpy(n->init_req, d, len);
    n->init_req_len = len;
    if (!random_spi64(n, &n->spi_r) || !rnd(n, n->x_priv, sizeof(n->x_priv)) ||
        !rnd(n, n->n_r, sizeof(n->n_r)) || !neg_x25519_public(n->x_priv, n->ke_r) ||
        !derive_ike(n)) {
        fail(n, NEG_ERR_CRYPTO, ERROR_INTERNAL_ERROR);
        return false;
    }
    uint8_t *r = n->init_resp;
    struct neg_header rh = {.type = NEG_T_INIT_RESP, .flags = NEG_FLAG_RESPONSE,
                            .spi_i = n->spi_i, .spi_r = n->spi_r, .length = INIT_RESP_SIZE};
    neg_header_write(r, &rh);
    memcpy(r + NEG_HEADER_SIZE, n->ke_r, NEG_KE_SIZE);
    memcpy(r + NEG_HEADER_SIZE + NEG_KE_SIZE, n->n_r, NEG_NONCE_SIZE);
    n->init_resp_len = INIT_RESP_SIZE;
    n->next_mid = MID_AUTH;
    n->state = NEG_S_INIT_DONE;
    take_request(n, d, len);
    answer(n, r, INIT_RESP_SIZE, out);
    return true;
}

static uint8_t reason_of(enum neg_error e)
{
    switch (e) {
    case NEG_ERR_AUTH: return NEG_REASON_AUTH;
    case NEG_ERR_DICTATION: return NEG_REASON_DICTATION;
    case NEG_ERR_PROTOCOL: return NEG_REASON_PROTOCOL;
    default: return NEG_REASON_INTERNAL;
    }
}

/* Answers the request taken last with a failure, and fails: AUTH_RESP
 * carries the status and the reason, KEYS_ACK the status. */
static void answer_failure(struct neg *n, uint8_t type, DWORD status, enum neg_error e,
                           struct neg_out *out)
{
    uint8_t body[NEG_AUTH_RESP_FAIL], dg[NEG_MAX_DATAGRAM];
    neg_put32(body, status);
    body[4] = reason_of(e);
    size_t blen = type == NEG_T_AUTH_RESP ? NEG_AUTH_RESP_FAIL : NEG_KEYS_ACK_BODY;
    size_t dl = seal(n, type, type == NEG_T_AUTH_RESP ? MID_AUTH : MID_KEYS, body, blen, dg);
    if (dl)
        answer(n, dg, dl, out);
    fail(n, e, status);
}

static bool on_auth_req(struct neg *n, uint64_t now, const struct neg_header *h,
                        const uint8_t *d, struct neg_out *out)
{
    if (n->state != NEG_S_INIT_DONE || h->mid != n->next_mid)
        return false;
    uint8_t body[BODY_MAX];
    size_t blen = unseal(n, h, d, body), alen = 0;
    if (!blen)
        return false;
    take_request(n, d, h->length);
    size_t fixed = NEG_AUTH_REQ_BODY - NEG_AUTH_SIZE;
    DWORD rc = check_auth(n, body, blen, fixed, fixed, &alen);
    if (rc != ERROR_SUCCESS) {
        answer_failure(n, NEG_T_AUTH_RESP, rc, NEG_ERR_AUTH, out);
        return true;
    }
    const uint8_t *p = body + alen;
    n->spi_out = neg_get32(p);
    if (p[4] > 1 || n->spi_out < 256) {
        answer_failure(n, NEG_T_AUTH_RESP, ERROR_INVALID_DATA, NEG_ERR_PROTOCOL, out);
        return true;
    }
    n->will_p = p[4] == 1;
    n->weight_p = n->will_p ? neg_get32(p + 5) : 0;
    if (!random_child_spi(n, &n->spi_in)) {
        answer_failure(n, NEG_T_AUTH_RESP, ERROR_INTERNAL_ERROR, NEG_ERR_CRYPTO, out);
        return true;
    }
    ask_dictator(n, now, NEG_KM_CHECK, out);
    return true;
}

/* The responder's AUTH_RESP, once its key managers had their say: the
 * keys when its dictator won; installed at once unless the initiator's
 * dictator still has to send them. */
static void send_auth_resp(struct neg *n, uint64_t now, struct neg_out *out)
{
    uint8_t rb[BODY_MAX], dg[NEG_MAX_DATAGRAM];
    neg_put32(rb, ERROR_SUCCESS);
    size_t rauth = write_auth(n, rb + 4);
    if (!rauth) {
        answer_failure(n, NEG_T_AUTH_RESP, ERROR_INTERNAL_ERROR, NEG_ERR_CRYPTO, out);
        return;
    }
    uint8_t *q = rb + 4 + rauth;
    size_t rlen = 4 + rauth + NEG_AUTH_RESP_BODY - 4 - NEG_AUTH_SIZE;
    if (n->winner == NEG_WIN_RESPONDER) {
        keys_to_wire(n, rb + rlen);
        rlen += NEG_KEYMAT_PAIR;
    } else if (n->winner == NEG_WIN_NONE && !derive_child(n)) {
        OPENSSL_cleanse(rb, sizeof(rb));
        answer_failure(n, NEG_T_AUTH_RESP, ERROR_INTERNAL_ERROR, NEG_ERR_CRYPTO, out);
        return;
    }
    neg_put32(q, n->spi_in);
    q[4] = n->will_l ? 1 : 0;
    neg_put32(q + 5, n->weight_l);
    q[9] = n->winner == NEG_WIN_RESPONDER ? 1 : 0;
    size_t dl = seal(n, NEG_T_AUTH_RESP, MID_AUTH, rb, rlen, dg);
    OPENSSL_cleanse(rb, sizeof(rb));
    if (!dl) {
        fail(n, NEG_ERR_CRYPTO, ERROR_INTERNAL_ERROR);
        return;
    }
    answer(n, dg, dl, out);
    n->next_mid = MID_KEYS;
    if (n->winner == NEG_WIN_INITIATOR)
        n->state = NEG_S_WAIT_KEYS;
    else if (!install(n, now))
        fail(n, NEG_ERR_CRYPTO, ERROR_INTERNAL_ERROR);
}

static void after_check(struct neg *n, uint64_t now, bool will, uint32_t weight,
                        struct neg_out *out)
{
    n->will_l = will;
    n->weight_l = will ? weight : 0;
    if (n->initiator) {
        send_auth_req(n, now, out);
        return;
    }
    n->winner = neg_km_arbitrate(n->will_p, n->weight_p, n->will_l, n->weight_l);
    if (n->winner == NEG_WIN_RESPONDER)
        ask_dictator(n, now, NEG_KM_DICTATE, out);
    else
        send_auth_resp(n, now, out);
}

/* rc: what the dictation came to. With keyingModuleGenKey the keying
 * module makes the keys instead of failing. */
static void after_dictation(struct neg *n, uint64_t now, DWORD rc, bool generate,
                            struct neg_out *out)
{
    if (rc != ERROR_SUCCESS && generate) {
        const struct neg_keymgr_env *km = &n->cfg.km;
        bool drawn = km->random && km->random(km->random_ctx, n->keys_in, ESP_KEYMAT_SIZE) == 0 &&
                     km->random(km->random_ctx, n->keys_out, ESP_KEYMAT_SIZE) == 0;
        rc = drawn ? ERROR_SUCCESS : ERROR_INTERNAL_ERROR;
    }
    if (rc != ERROR_SUCCESS) {
        OPENSSL_cleanse(n->keys_in, sizeof(n->keys_in));
        OPENSSL_cleanse(n->keys_out, sizeof(n->keys_out));
    }
    if (n->initiator)
        send_keys(n, now, rc, out);
    else if (rc != ERROR_SUCCESS)
        answer_failure(n, NEG_T_AUTH_RESP, rc, NEG_ERR_DICTATION, out);
    else
        send_auth_resp(n, now, out);
}

static bool on_keys(struct neg *n, uint64_t now, const struct neg_header *h, const uint8_t *d,
                    struct neg_out *out)
{
    if (n->state != NEG_S_WAIT_KEYS || h->mid != n->next_mid)
        return false;
    uint8_t body[NEG_KEYS_BODY + NEG_KEYMAT_PAIR];
    size_t blen = unseal(n, h, d, body);
    if (!blen)
        return false;
    take_request(n, d, h->length);
    DWORD status = neg_get32(body);
    bool with_keys = blen == NEG_KEYS_BODY + NEG_KEYMAT_PAIR;
    if (status != ERROR_SUCCESS) {
        fail(n, with_keys ? NEG_ERR_PROTOCOL : NEG_ERR_PEER_DICTATION, status);
    } else if (!with_keys || body[4] != 1) {
        answer_failure(n, NEG_T_KEYS_ACK, ERROR_INVALID_DATA, NEG_ERR_PROTOCOL, out);
    } else {
        keys_from_wire(n, body + NEG_KEYS_BODY);
        uint8_t ack[NEG_KEYS_ACK_BODY], dg[NEG_MAX_DATAGRAM];
        neg_put32(ack, ERROR_SUCCESS);
        size_t dl = seal(n, NEG_T_KEYS_ACK, MID_KEYS, ack, sizeof(ack), dg);
        if (!dl || !install(n, now))
            fail(n, NEG_ERR_CRYPTO, ERROR_INTERNAL_ERROR);
        else
            answer(n, dg, dl, out);
    }
    OPENSSL_cleanse(body, sizeof(body));
    return true;
}

/* ---------------------------------------------------------------- dispatch */

bool neg_receive(struct neg *n, uint64_t now, const uint8_t *d, size_t len, struct neg_out *out)
{
    out->len = 0;
    struct neg_header h;
    bool ok = false;
    if (!neg_header_parse(d, len, &h) || h.spi_i != n->spi_i)
        goto done;
    if (!n->initiator) {
        if (!(h.flags & NEG_FLAG_INITIATOR))
            goto done;
        /* A byte-identical repeat of the request we last answered gets the
         * same answer again (its answer was lost); nothing is re-run. */
        if (n->last_in_len == len && memcmp(n->last_in, d, len) == 0 && n->last_out_len) {
            emit(out, n->last_out, n->last_out_len);
            ok = true;
            goto done;
        }
        if (h.spi_r != n->spi_r)
            goto done;
        if (h.type == NEG_T_AUTH_REQ)
            ok = on_auth_req(n, now, &h, d, out);
        else if (h.type == NEG_T_KEYS)
            ok = on_keys(n, now, &h, d, out);
        else if (h.type == NEG_T_DELETE)
            ok = on_delete(n, &h, d);
        goto done;
    }
    if (!(h.flags & NEG_FLAG_RESPONSE))
        goto done;
    switch (h.type) {
    case NEG_T_DELETE:
        ok = on_delete(n, &h, d);
        break;
    case NEG_T_COOKIE:
        ok = on_cookie(n, now, d, out);
        break;
    case NEG_T_INIT_RESP:
        ok = on_init_resp(n, now, &h, d, len, out);
        break;
    case NEG_T_AUTH_RESP:
        ok = h.spi_r == n->spi_r && on_auth_resp(n, now, &h, d, out);
        break;
    case NEG_T_KEYS_ACK:
        ok = h.spi_r == n->spi_r && on_keys_ack(n, now, &h, d);
        break;
    default:
        break;
    }
done:
    if (!ok)
        n->dropped++;
    return ok;
}

void neg_tick(struct neg *n, uint64_t now, struct neg_out *out)
{
    out->len = 0;
    if (n->timer == UINT64_MAX || now < n->timer)
        return;
    if (n->state == NEG_S_CHECKING || n->state == NEG_S_DICTATING) {
        /* Our key manager did not answer by its deadline: the call is
         * abandoned (its answer, if it ever comes, finds no taker) and
         * nothing it might have written is read (docs/KEYING.md §4.2). */
        n->timer = UINT64_MAX;
        n->call_id = 0;
        if (n->initiator && n->state == NEG_S_CHECKING)
            fail(n, NEG_ERR_DICTATION, FWP_E_TIMEOUT);
        else
            after_dictation(n, now, FWP_E_TIMEOUT, false, out);
        return;
    }
    if (!n->initiator)
        return;
    if (n->tries >= n->cfg.max_retransmits) {
        fail(n, NEG_ERR_TIMEOUT, FWP_E_TIMEOUT);
        return;
    }
    n->tries++;
    n->retransmits++;
    uint64_t rto = (uint64_t)n->cfg.rto_ms << n->tries;
    n->timer = now + rto;
    emit(out, n->last_out, n->last_out_len);
}
