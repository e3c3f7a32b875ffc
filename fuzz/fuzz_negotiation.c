/* Feeds SA-negotiation datagrams to a node, the parser a stranger on the
 * network reaches first (neg_node_receive: the responder's front door and
 * every negotiation behind it). The input is a stream of datagrams, each
 * a 2-byte length, a source-port byte and the bytes; a clock step between
 * them lets retransmission and expiry run. Every datagram goes to two
 * nodes: one with a PSK, one authenticated by a credential (whose AUTH
 * fields have their own sizes; its verifier refuses everything). Neither
 * sees its secret from the fuzzer, so nothing may ever reach ESTABLISHED;
 * that, the caps, and ASan/UBSan are what is checked. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipsec/neg_node.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int counter_random(void *ctx, void *buf, size_t len)
{
    uint64_t *s = ctx;
    uint8_t *p = buf;
    for (size_t i = 0; i < len; i++) {
        *s = *s * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (uint8_t)(*s >> 56);
    }
    return 0;
}

static size_t fake_sign(void *ctx, const uint8_t *msg, size_t len, uint8_t *sig)
{
    (void)ctx;
    (void)msg;
    (void)len;
    memset(sig, 0x5A, 72);
    return 72;
}

static DWORD refuse_all(void *ctx, const uint8_t *chain, size_t chain_len, const uint8_t *msg,
                        size_t len, const uint8_t *sig, size_t sig_len)
{
    (void)ctx, (void)chain, (void)chain_len, (void)msg, (void)len, (void)sig, (void)sig_len;
    return ERROR_ACCESS_DENIED;
}

static void drop(void *ctx, const struct neg_peer *to, const struct neg_out *o)
{
    (void)ctx;
    (void)to;
    (void)o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t psk[] = "fuzz mesh key, never in the input";
    uint64_t rng = 7;
    struct neg_responder_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.base.psk = psk;
    cfg.base.psk_len = sizeof(psk) - 1;
    cfg.base.random = counter_random;
    cfg.base.random_ctx = &rng;
    cfg.base.local.ip_version = FWP_IP_VERSION_V6;
    cfg.base.local.addr[15] = 1;
    cfg.base.local.port = 3540;
    cfg.max_half_open = 4;
    cfg.max_negs = 16;
    uint64_t now = 1000;
    struct neg_node *nodes[2];
    nodes[0] = neg_node_create(&cfg, now);
    static const uint8_t chain[300] = {1, 0x01, 0x29};
    static const struct neg_cred cred = {.chain = chain, .chain_len = sizeof(chain),
                                         .sign = fake_sign, .verify = refuse_all};
    cfg.base.psk = NULL;
    cfg.base.psk_len = 0;
    cfg.base.cred = &cred;
    nodes[1] = neg_node_create(&cfg, now);
    if (!nodes[0] || !nodes[1])
        abort();
    static struct neg_out out;
    size_t at = 0;
    while (size - at >= 3) {
        size_t len = ((size_t)data[at] << 8 | data[at + 1]) % 2048;
        struct neg_peer from = {FWP_IP_VERSION_V6, {0xfd}, (uint16_t)(4000 + data[at + 2] % 8)};
        at += 3;
        if (len > size - at)
            len = size - at;
        for (int k = 0; k < 2; k++) {
            out.len = 0;
            struct neg *n = neg_node_receive(nodes[k], now, &from, data + at, len, &out);
            if (n && neg_state(n) == NEG_S_ESTABLISHED)
                abort(); /* established without the PSK or a credential */
            if (out.len > sizeof(out.buf))
                abort();
        }
        at += len;
        now += 500;
        for (int k = 0; k < 2; k++)
            neg_node_tick(nodes[k], now, drop, NULL);
    }
    for (int k = 0; k < 2; k++) {
        if (neg_responder_count(neg_node_responder(nodes[k])) > cfg.max_negs)
            abort();
        neg_node_free(nodes[k]);
    }
    return 0;
}
