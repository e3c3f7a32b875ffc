/* neg_responder.c - dispatch, half-open caps and cookies for responders
 * (neg_responder.h). */
#include "ipsec/neg_responder.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "ipsec/neg_crypto.h"

struct neg_responder {
    struct neg_responder_config cfg;
    uint8_t psk[NEG_PSK_MAX];
    struct neg **negs;
    size_t count, cap;
    uint8_t secret[32], prev_secret[32];
    bool have_prev;
    uint64_t secret_born;
    struct neg_responder_stats st;
    bool keep_replaced;
};

static bool new_secret(struct neg_responder *r, uint64_t now)
{
    memcpy(r->prev_secret, r->secret, sizeof(r->secret));
    r->have_prev = r->secret_born != UINT64_MAX;
    r->secret_born = now;
    return r->cfg.base.random(r->cfg.base.random_ctx, r->secret, sizeof(r->secret)) == 0;
}

struct neg_responder *neg_responder_create(const struct neg_responder_config *cfg, uint64_t now)
{
    if (!cfg || !cfg->base.random || !neg_auth_config_ok(&cfg->base))
        return NULL;
    struct neg_responder *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->cfg = *cfg;
    if (cfg->base.psk) {
        memcpy(r->psk, cfg->base.psk, cfg->base.psk_len);
        r->cfg.base.psk = r->psk;
    }
    if (!r->cfg.max_half_open)
        r->cfg.max_half_open = NEG_DEFAULT_MAX_HALF_OPEN;
    if (!r->cfg.max_negs)
        r->cfg.max_negs = NEG_DEFAULT_MAX_NEGS;
    if (!r->cfg.half_open_timeout_ms)
        r->cfg.half_open_timeout_ms = NEG_DEFAULT_HALF_OPEN_TIMEOUT;
    if (!r->cfg.cookie_rotate_ms)
        r->cfg.cookie_rotate_ms = NEG_DEFAULT_COOKIE_ROTATE;
    r->secret_born = UINT64_MAX;
    if (!new_secret(r, now)) {
        neg_responder_free(r);
        return NULL;
    }
    return r;
}

void neg_responder_free(struct neg_responder *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->count; i++)
        neg_free(r->negs[i]);
    free(r->negs);
    OPENSSL_cleanse(r, sizeof(*r));
    free(r);
}

static bool half_open(const struct neg *n)
{
    enum neg_state s = neg_state(n);
    return s != NEG_S_ESTABLISHED && s != NEG_S_FAILED;
}

size_t neg_responder_count(const struct neg_responder *r) { return r->count; }
struct neg *neg_responder_at(struct neg_responder *r, size_t i)
{
    return i < r->count ? r->negs[i] : NULL;
}
struct neg_responder_stats neg_responder_stats(const struct neg_responder *r) { return r->st; }

size_t neg_responder_half_open(const struct neg_responder *r)
{
    size_t k = 0;
    for (size_t i = 0; i < r->count; i++)
        k += half_open(r->negs[i]);
    return k;
}

static bool same_peer(const struct neg_peer *a, const struct neg_peer *b)
{
    return a->ip_version == b->ip_version && a->port == b->port &&
           memcmp(a->addr, b->addr, 16) == 0;
}

static bool make_cookie(const uint8_t secret[32], const struct neg_peer *from, uint64_t spi_i,
                        uint8_t out[NEG_COOKIE_SIZE])
{
    uint8_t id[1 + 16 + 2 + 8];
    id[0] = (uint8_t)from->ip_version;
    memcpy(id + 1, from->addr, 16);
    id[17] = (uint8_t)(from->port >> 8);
    id[18] = (uint8_t)from->port;
    neg_put64(id + 19, spi_i);
    const uint8_t *parts[1] = {id};
    size_t lens[1] = {sizeof(id)};
    return neg_hmac(secret, 32, parts, lens, 1, out);
}

static bool cookie_valid(const struct neg_responder *r, const struct neg_peer *from,
                         uint64_t spi_i, const uint8_t *cookie)
{
    uint8_t want[NEG_COOKIE_SIZE];
    if (make_cookie(r->secret, from, spi_i, want) && neg_equal(want, cookie, NEG_COOKIE_SIZE))
        return true;
    return r->have_prev && make_cookie(r->prev_secret, from, spi_i, want) &&
           neg_equal(want, cookie, NEG_COOKIE_SIZE);
}

static void send_cookie(struct neg_responder *r, const struct neg_peer *from, uint64_t spi_i,
                        struct neg_out *out)
{
    struct neg_header h = {.type = NEG_T_COOKIE, .flags = NEG_FLAG_RESPONSE, .spi_i = spi_i,
                           .length = NEG_HEADER_SIZE + NEG_COOKIE_SIZE};
    neg_header_write(out->buf, &h);
    if (!make_cookie(r->secret, from, spi_i, out->buf + NEG_HEADER_SIZE))
        return;
    out->len = h.length;
    r->st.cookies_sent++;
}

static void remove_at(struct neg_responder *r, size_t i)
{
    neg_free(r->negs[i]);
    r->negs[i] = r->negs[--r->count];
}

void neg_responder_keep_replaced(struct neg_responder *r, bool keep)
{
    r->keep_replaced = keep;
}

void neg_responder_drop_at(struct neg_responder *r, size_t i)
{
    if (i < r->count)
        remove_at(r, i);
}

void neg_responder_tick(struct neg_responder *r, uint64_t now)
{
    if (now - r->secret_born >= r->cfg.cookie_rotate_ms)
        new_secret(r, now);
    size_t i = r->count;
    while (i-- > 0) {
        struct neg *n = r->negs[i];
        if ((half_open(n) || neg_state(n) == NEG_S_FAILED) &&
            now - neg_started(n) >= r->cfg.half_open_timeout_ms) {
            remove_at(r, i);
            r->st.expired++;
        }
    }
}

static struct neg *accept_new(struct neg_responder *r, uint64_t now, const struct neg_peer *from,
                              const struct neg_header *h, const uint8_t *d, size_t len,
                              struct neg_out *out)
{
    size_t ho = neg_responder_half_open(r);
    const uint8_t *body = d + NEG_HEADER_SIZE;
    bool has_cookie = body[0] == NEG_COOKIE_SIZE;
    if (ho >= r->cfg.max_half_open) {
        if (!has_cookie) {
            send_cookie(r, from, h->spi_i, out);
            return NULL;
        }
        if (!cookie_valid(r, from, h->spi_i, body + 1)) {
            r->st.bad_cookies++;
            send_cookie(r, from, h->spi_i, out); /* the secret may have rotated twice */
            return NULL;
        }
    }
    if (ho >= 2u * r->cfg.max_half_open || r->count >= r->cfg.max_negs) {
        r->st.dropped_full++;
        return NULL;
    }
    if (r->count == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        struct neg **v = realloc(r->negs, cap * sizeof(*v));
        if (!v)
            return NULL;
        r->negs = v;
        r->cap = cap;
    }
    struct neg_config c = r->cfg.base;
    c.remote = *from;
    struct neg *n = neg_create(&c);
    if (!n)
        return NULL;
    if (!neg_accept(n, now, d, len, out)) {
        neg_free(n);
        out->len = 0;
        return NULL;
    }
    r->negs[r->count++] = n;
    return n;
}

/* n has just been established: the older established negotiations with
 * the same peer are stale (see neg_responder.h). */
static void replace_older(struct neg_responder *r, const struct neg *n)
{
    size_t i = r->count;
    while (i-- > 0) {
        struct neg *m = r->negs[i];
        if (m != n && neg_state(m) == NEG_S_ESTABLISHED &&
            same_peer(neg_remote(m), neg_remote(n))) {
            remove_at(r, i);
            r->st.replaced++;
        }
    }
}

/* After n took an input: if that established it, older ones may go. */
static struct neg *settled(struct neg_responder *r, struct neg *n, bool was_established)
{
    if (!was_established && neg_state(n) == NEG_S_ESTABLISHED && !r->keep_replaced)
        replace_older(r, n);
    return n;
}

static struct neg *deliver(struct neg_responder *r, struct neg *n, uint64_t now,
                           const uint8_t *d, size_t len, struct neg_out *out)
{
    bool was = neg_state(n) == NEG_S_ESTABLISHED;
    if (!neg_receive(n, now, d, len, out))
        return NULL;
    return settled(r, n, was);
}

struct neg *neg_responder_take_answer(struct neg_responder *r, uint64_t now,
                                      struct neg_km_answer *a, struct neg_out *out)
{
    out->len = 0;
    for (size_t i = 0; a->id && i < r->count; i++) {
        struct neg *n = r->negs[i];
        if (neg_waiting_call(n) != a->id)
            continue;
        bool was = neg_state(n) == NEG_S_ESTABLISHED;
        return neg_take_answer(n, now, a, out) ? settled(r, n, was) : NULL;
    }
    neg_km_answer_clear(a);
    return NULL;
}

struct neg *neg_responder_receive(struct neg_responder *r, uint64_t now,
                                  const struct neg_peer *from, const uint8_t *d, size_t len,
                                  struct neg_out *out)
{
    out->len = 0;
    struct neg_header h;
    if (!neg_header_parse(d, len, &h) || !(h.flags & NEG_FLAG_INITIATOR)) {
        r->st.dropped++;
        return NULL;
    }
    for (size_t i = 0; i < r->count; i++) {
        struct neg *n = r->negs[i];
        if (neg_spi_i(n) != h.spi_i)
            continue;
        if (h.type == NEG_T_INIT_REQ ? !same_peer(neg_remote(n), from)
                                     : neg_spi_r(n) != h.spi_r)
            continue;
        return deliver(r, n, now, d, len, out);
    }
    if (h.type != NEG_T_INIT_REQ) {
        r->st.dropped++;
        return NULL;
    }
    return accept_new(r, now, from, &h, d, len, out);
}
