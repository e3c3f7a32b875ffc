/* io_ipsec.c - SA protection of a transport socket (io_ipsec.h). */
#include "io/io_ipsec.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "io/io_km.h"
#include "io/io_loop.h"
#include "io/io_node.h"
#include "ipsec/neg_node.h"
#include "ipsec/udp_encap.h"

/* A DRT message waiting for an SA to its peer (REQUIRE). */
struct pending {
    struct pending *next;
    size_t len;
    uint8_t data[];
};

/* A peer with messages waiting or a failed negotiation held against it. */
struct peer_state {
    struct drt_endpoint ep;
    uint64_t hold_until;
    bool negotiating; /* our initiation towards it has not ended yet */
    struct pending *head, *tail;
    size_t queued;
};

struct io_ipsec {
    struct io_socket *sock;
    struct io_ipsec_config cfg;
    uint8_t psk[NEG_PSK_MAX];
    struct neg_node *node; /* once the local address is known */
    struct io_km_client *km; /* runs the negotiations' key-manager calls */
    uv_timer_t timer;
    struct peer_state *peers; /* grown on demand up to IO_IPSEC_MAX_PEERS */
    size_t npeers, cap;
    uint64_t last_order;   /* the latest establishment counted */
    uint64_t last_recover; /* when recover_peer last started a negotiation */
    struct io_ipsec_stats stats;
    uint8_t buf[65536 + ESP_OVERHEAD]; /* sealed or opened datagram */
};

static const uint8_t V4_MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static void peer_from_endpoint(const struct drt_endpoint *ep, struct neg_peer *p)
{
    memset(p, 0, sizeof(*p));
    if (memcmp(ep->addr, V4_MAPPED, 12) == 0) {
        p->ip_version = FWP_IP_VERSION_V4;
        memcpy(p->addr, ep->addr + 12, 4);
    } else {
        p->ip_version = FWP_IP_VERSION_V6;
        memcpy(p->addr, ep->addr, 16);
    }
    p->port = ep->port;
}

static void endpoint_from_peer(const struct neg_peer *p, struct drt_endpoint *ep)
{
    memset(ep, 0, sizeof(*ep));
    if (p->ip_version == FWP_IP_VERSION_V4) {
        memcpy(ep->addr, V4_MAPPED, 12);
        memcpy(ep->addr + 12, p->addr, 4);
    } else {
        memcpy(ep->addr, p->addr, 16);
    }
    ep->port = p->port;
}

/* --- negotiation datagrams ---------------------------------------------- */

static void send_neg(struct io_ipsec *ip, const struct drt_endpoint *to, const struct neg_out *o)
{
    uint8_t d[UDP_ENCAP_MARKER_SIZE + NEG_MAX_DATAGRAM];
    memset(d, 0, UDP_ENCAP_MARKER_SIZE);
    memcpy(d + UDP_ENCAP_MARKER_SIZE, o->buf, o->len);
    io_socket_send(ip->sock, to, d, UDP_ENCAP_MARKER_SIZE + o->len);
    ip->stats.neg_sent++;
}

static void send_neg_to_peer(void *ctx, const struct neg_peer *to, const struct neg_out *o)
{
    struct drt_endpoint ep;
    endpoint_from_peer(to, &ep);
    send_neg(ctx, &ep, o);
}

/* --- peers --------------------------------------------------------------- */

static struct peer_state *find_peer(struct io_ipsec *ip, const struct drt_endpoint *ep)
{
    for (size_t i = 0; i < ip->npeers; i++)
        if (drt_endpoint_equal(&ip->peers[i].ep, ep))
            return &ip->peers[i];
    return NULL;
}

static struct peer_state *add_peer(struct io_ipsec *ip, const struct drt_endpoint *ep)
{
    struct peer_state *p = find_peer(ip, ep);
    if (p || ip->npeers >= IO_IPSEC_MAX_PEERS)
        return p;
    if (ip->npeers == ip->cap) {
        size_t cap = ip->cap ? 2 * ip->cap : 8;
        struct peer_state *v = realloc(ip->peers, cap * sizeof(*v));
        if (!v)
            return NULL;
        ip->peers = v;
        ip->cap = cap;
    }
    p = &ip->peers[ip->npeers++];
    memset(p, 0, sizeof(*p));
    p->ep = *ep;
    return p;
}

static void drop_queue(struct io_ipsec *ip, struct peer_state *p)
{
    while (p->head) {
        struct pending *q = p->head;
        p->head = q->next;
        free(q);
        ip->stats.unsent++;
    }
    p->tail = NULL;
    p->queued = 0;
}

static void seal_and_send(struct io_ipsec *ip, struct esp_sa *sa, const struct drt_endpoint *to,
                          const uint8_t *buf, size_t len)
{
    size_t n;
    if (esp_seal(sa, UDP_ENCAP_NEXT_HEADER_DRT, buf, len, ip->buf, sizeof(ip->buf), &n) != ESP_OK) {
        /* Only an exhausted sequence space gets here in practice: the SA
         * must be replaced (rekeying is not built), nothing goes out clear. */
        ip->stats.unsent++;
        return;
    }
    io_socket_send(ip->sock, to, ip->buf, n);
    ip->stats.esp_sent++;
}

/* The peer's state after a negotiation step: send what waited once an SA
 * exists; once our initiation is gone (failed) drop it and hold the peer. */
static void settle_peer(struct io_ipsec *ip, struct peer_state *p, uint64_t now)
{
    struct neg_peer np;
    peer_from_endpoint(&p->ep, &np);
    struct esp_sa *sa = neg_node_sa_to(ip->node, &np);
    if (sa) {
        p->negotiating = false;
        while (p->head) {
            struct pending *q = p->head;
            p->head = q->next;
            seal_and_send(ip, sa, &p->ep, q->data, q->len);
            free(q);
        }
        p->tail = NULL;
        p->queued = 0;
        return;
    }
    struct neg *n = neg_node_initiated(ip->node, &np);
    if (!n || neg_state(n) == NEG_S_FAILED) {
        if (p->negotiating)
            ip->stats.neg_failed++;
        p->negotiating = false;
        p->hold_until = now + IO_IPSEC_HOLD_MS;
        drop_queue(ip, p);
    }
}

/* Peers with nothing queued and no hold left are forgotten. */
static void settle_all(struct io_ipsec *ip, uint64_t now)
{
    size_t i = ip->npeers;
    while (i-- > 0) {
        struct peer_state *p = &ip->peers[i];
        if (p->queued || p->negotiating)
            settle_peer(ip, p, now);
        if (!p->queued && !p->negotiating && p->hold_until <= now)
            ip->peers[i] = ip->peers[--ip->npeers];
    }
}

/* --- timer --------------------------------------------------------------- */

static void on_timer(uv_timer_t *t);

/* Often enough for the shortest time lifetime to be seen within a quarter
 * of itself; never more often than every 100 ms. */
static uint64_t housekeeping_ms(const struct io_ipsec *ip)
{
    uint64_t ms = IO_IPSEC_HOUSEKEEPING_MS;
    const struct neg_lifetime *lt = &ip->cfg.lifetime;
    if (lt->soft_ms && lt->soft_ms / 4 < ms)
        ms = lt->soft_ms / 4;
    if (lt->hard_ms && lt->hard_ms / 4 < ms)
        ms = lt->hard_ms / 4;
    return ms < 100 ? 100 : ms;
}

static void arm(struct io_ipsec *ip, uint64_t now)
{
    uint64_t d = now + housekeeping_ms(ip);
    uint64_t n = neg_node_next_timeout(ip->node);
    if (n < d)
        d = n;
    uv_timer_start(&ip->timer, on_timer, d > now ? d - now : 0, 0);
}

static void on_timer(uv_timer_t *t)
{
    struct io_ipsec *ip = t->data;
    uint64_t now = io_now_ms();
    neg_node_tick(ip->node, now, send_neg_to_peer, ip);
    settle_all(ip, now);
    arm(ip, now);
}

/* --- outbound ------------------------------------------------------------ */

static void enqueue(struct io_ipsec *ip, struct peer_state *p, const uint8_t *buf, size_t len)
{
    if (p->queued >= IO_IPSEC_QUEUE_PER_PEER) {
        struct pending *old = p->head;
        p->head = old->next;
        if (!p->head)
            p->tail = NULL;
        free(old);
        p->queued--;
        ip->stats.unsent++;
    }
    struct pending *q = malloc(sizeof(*q) + len);
    if (!q) {
        ip->stats.unsent++;
        return;
    }
    q->next = NULL;
    q->len = len;
    memcpy(q->data, buf, len);
    if (p->tail)
        p->tail->next = q;
    else
        p->head = q;
    p->tail = q;
    p->queued++;
}

void io_ipsec_send_drt(struct io_ipsec *ip, const struct drt_endpoint *to, const uint8_t *buf,
                       size_t len)
{
    if (!ip->node) {
        ip->stats.unsent++;
        return;
    }
    struct neg_peer np;
    peer_from_endpoint(to, &np);
    struct esp_sa *sa = neg_node_sa_to(ip->node, &np);
    if (sa) {
        seal_and_send(ip, sa, to, buf, len);
        return;
    }
    uint64_t now = io_now_ms();
    struct peer_state *p = add_peer(ip, to);
    bool held = p && p->hold_until > now;
    if (p && !held) {
        struct neg_out o;
        if (neg_node_initiate(ip->node, now, &np, &o)) {
            p->negotiating = true;
            send_neg(ip, to, &o);
            arm(ip, now);
        }
    }
    if (ip->cfg.mode == IO_IPSEC_REQUEST) {
        io_socket_send(ip->sock, to, buf, len);
        ip->stats.plain_sent++;
        return;
    }
    if (!p || held || !neg_node_initiated(ip->node, &np)) {
        ip->stats.unsent++;
        return;
    }
    enqueue(ip, p, buf, len);
}

/* --- inbound ------------------------------------------------------------- */

/* After negotiation n with `from` took an input. */
static void negotiated(struct io_ipsec *ip, struct neg *n, const struct drt_endpoint *from,
                       uint64_t now)
{
    /* Each establishment takes the next order, so a new one shows as a
     * larger value than any counted before. */
    if (neg_state(n) == NEG_S_ESTABLISHED && neg_established_order(n) > ip->last_order) {
        ip->last_order = neg_established_order(n);
        ip->stats.sas_established++;
    }
    struct peer_state *p = find_peer(ip, from);
    if (p && (p->queued || p->negotiating))
        settle_peer(ip, p, now);
    arm(ip, now);
}

static void receive_neg(struct io_ipsec *ip, const struct drt_endpoint *from, const uint8_t *d,
                        size_t len)
{
    ip->stats.neg_received++;
    uint64_t now = io_now_ms();
    struct neg_peer np;
    peer_from_endpoint(from, &np);
    struct neg_out o;
    struct neg *n = neg_node_receive(ip->node, now, &np, d, len, &o);
    if (o.len)
        send_neg(ip, from, &o);
    if (!n) {
        ip->stats.neg_dropped++;
        return;
    }
    negotiated(ip, n, from, now);
}

/* A key manager answered (io_km, on the loop thread). */
static void on_km_answer(void *ctx, struct neg_km_answer *a)
{
    struct io_ipsec *ip = ctx;
    uint64_t now = io_now_ms();
    struct neg_out o;
    struct neg *n = neg_node_take_answer(ip->node, now, a, &o);
    if (!n)
        return;
    struct drt_endpoint to;
    endpoint_from_peer(neg_remote(n), &to);
    if (o.len)
        send_neg(ip, &to, &o);
    negotiated(ip, n, &to, now);
}

/* ESP under an SPI we do not know: the sender holds a pair we lost (we
 * restarted) and will seal with it until its lifetime ends. A negotiation
 * towards it gives it a newer pair, which it then seals with. Anybody can
 * send such packets from any address, so this starts at most one
 * negotiation per IO_IPSEC_RECOVER_MS over all peers, and none to a held
 * peer or one we are negotiating with already. */
static void recover_peer(struct io_ipsec *ip, const struct drt_endpoint *from)
{
    uint64_t now = io_now_ms();
    if (ip->last_recover && now - ip->last_recover < IO_IPSEC_RECOVER_MS)
        return;
    struct peer_state *p = find_peer(ip, from);
    if (p && p->hold_until > now)
        return;
    struct neg_peer np;
    peer_from_endpoint(from, &np);
    struct neg_out o;
    if (!(p = add_peer(ip, from)) || !neg_node_initiate(ip->node, now, &np, &o))
        return;
    ip->last_recover = now;
    ip->stats.recoveries++;
    p->negotiating = true;
    send_neg(ip, from, &o);
    arm(ip, now);
}

static bool receive_esp(struct io_ipsec *ip, const struct drt_endpoint *from, const uint8_t *d,
                        size_t len, const uint8_t **out, size_t *out_len)
{
    struct esp_sa *sa = neg_node_sa_by_spi(ip->node, esp_packet_spi(d, len));
    uint8_t nh = 0;
    size_t n = 0;
    if (!sa)
        recover_peer(ip, from);
    if (!sa || esp_open(sa, d, len, ip->buf, sizeof(ip->buf), &n, &nh) != ESP_OK ||
        nh != UDP_ENCAP_NEXT_HEADER_DRT) {
        ip->stats.esp_dropped++;
        return false;
    }
    ip->stats.esp_received++;
    *out = ip->buf;
    *out_len = n;
    return true;
}

bool io_ipsec_receive(struct io_ipsec *ip, const struct drt_endpoint *from, const uint8_t *buf,
                      size_t len, const uint8_t **out, size_t *out_len)
{
    switch (udp_encap_classify(buf, len)) {
    case UDP_ENCAP_DRT:
        if (ip->cfg.mode == IO_IPSEC_REQUIRE) {
            ip->stats.plain_refused++;
            return false;
        }
        ip->stats.plain_received++;
        *out = buf;
        *out_len = len;
        return true;
    case UDP_ENCAP_NEG:
        if (!ip->node)
            return false;
        receive_neg(ip, from, buf + UDP_ENCAP_MARKER_SIZE, len - UDP_ENCAP_MARKER_SIZE);
        return false;
    case UDP_ENCAP_ESP:
        return ip->node && receive_esp(ip, from, buf, len, out, out_len);
    case UDP_ENCAP_INVALID:
        break;
    }
    ip->stats.invalid++;
    return false;
}

/* --- lifecycle ----------------------------------------------------------- */

struct io_ipsec *io_ipsec_create(struct io_socket *sock, const struct io_ipsec_config *cfg)
{
    if (!cfg || (cfg->mode != IO_IPSEC_REQUEST && cfg->mode != IO_IPSEC_REQUIRE))
        return NULL;
    struct neg_config auth = {.psk = cfg->psk, .psk_len = cfg->psk_len, .cred = cfg->cred};
    if (!neg_auth_config_ok(&auth))
        return NULL;
    struct io_ipsec *ip = calloc(1, sizeof(*ip));
    if (!ip)
        return NULL;
    if (uv_timer_init(io_loop(), &ip->timer) != 0) {
        free(ip);
        return NULL;
    }
    ip->timer.data = ip;
    ip->sock = sock;
    ip->cfg = *cfg;
    if (cfg->psk) {
        memcpy(ip->psk, cfg->psk, cfg->psk_len);
        ip->cfg.psk = ip->psk;
    }
    const struct neg_lifetime *lt = &cfg->lifetime;
    if (!lt->soft_ms && !lt->hard_ms && !lt->soft_bytes && !lt->hard_bytes)
        ip->cfg.lifetime = (struct neg_lifetime){
            .soft_ms = IO_IPSEC_DEFAULT_HARD_S * 900u,
            .hard_ms = IO_IPSEC_DEFAULT_HARD_S * 1000u,
            .soft_bytes = IO_IPSEC_DEFAULT_HARD_KB * 900u,
            .hard_bytes = IO_IPSEC_DEFAULT_HARD_KB * 1000u,
        };
    return ip;
}

void io_ipsec_set_lifetime(struct io_ipsec *ip, const struct neg_lifetime *lt)
{
    ip->cfg.lifetime = *lt;
    if (ip->node)
        neg_node_set_lifetime(ip->node, lt);
}

void io_ipsec_set_caps(struct io_ipsec *ip, uint32_t max_half_open, uint32_t max_negs)
{
    ip->cfg.max_half_open = max_half_open;
    ip->cfg.max_negs = max_negs;
}

bool io_ipsec_set_local(struct io_ipsec *ip, const struct drt_endpoint *self)
{
    if (ip->node)
        return true;
    struct neg_responder_config rc;
    memset(&rc, 0, sizeof(rc));
    rc.base.psk = ip->cfg.psk;
    rc.base.psk_len = ip->cfg.psk_len;
    rc.base.cred = ip->cfg.cred;
    rc.base.random = ip->cfg.km.random;
    rc.base.random_ctx = ip->cfg.km.random_ctx;
    rc.base.km = ip->cfg.km;
    rc.max_half_open = ip->cfg.max_half_open;
    rc.max_negs = ip->cfg.max_negs;
    peer_from_endpoint(self, &rc.base.local);
    if (ip->cfg.km.engine) {
        ip->km = io_km_client_open(&ip->cfg.km, on_km_answer, ip);
        if (!ip->km)
            return false;
        rc.base.km.ask = io_km_ask;
        rc.base.km.ask_ctx = ip->km;
    }
    ip->node = neg_node_create(&rc, io_now_ms());
    if (!ip->node) {
        io_km_client_close(ip->km);
        ip->km = NULL;
        return false;
    }
    neg_node_set_lifetime(ip->node, &ip->cfg.lifetime);
    arm(ip, io_now_ms());
    return true;
}

static void free_on_close(uv_handle_t *h)
{
    struct io_ipsec *ip = h->data;
    OPENSSL_cleanse(ip, sizeof(*ip));
    free(ip);
}

void io_ipsec_destroy(struct io_ipsec *ip)
{
    if (!ip)
        return;
    for (size_t i = 0; i < ip->npeers; i++)
        drop_queue(ip, &ip->peers[i]);
    free(ip->peers);
    ip->peers = NULL;
    /* The socket is still open: peers learn that our SAs are gone. */
    if (ip->node)
        neg_node_close(ip->node, send_neg_to_peer, ip);
    io_km_client_close(ip->km); /* answers still to come are dropped */
    ip->km = NULL;
    neg_node_free(ip->node);
    ip->node = NULL;
    if (ip->cfg.cred && ip->cfg.cred_release)
        ip->cfg.cred_release(ip->cfg.cred);
    ip->cfg.cred = NULL;
    uv_timer_stop(&ip->timer);
    uv_close((uv_handle_t *)&ip->timer, free_on_close);
}

struct io_ipsec_stats io_ipsec_stats(const struct io_ipsec *ip)
{
    struct io_ipsec_stats s = ip->stats;
    if (ip->node) {
        s.rekeys = neg_node_stats(ip->node).rekeys;
        s.expired = neg_node_stats(ip->node).expired;
        s.deleted = neg_node_stats(ip->node).deleted;
        struct neg_auth_counts a = neg_node_stats(ip->node).auth;
        s.auth_failed = a.failed;
        s.auth_refused = a.refused;
        s.last_auth_code = a.last_code;
        s.km_late = neg_node_stats(ip->node).answers_discarded;
    }
    return s;
}

enum io_ipsec_mode io_ipsec_mode(const struct io_ipsec *ip)
{
    return ip->cfg.mode;
}

const struct neg_cred *io_ipsec_cred(const struct io_ipsec *ip)
{
    return ip->cfg.cred;
}
