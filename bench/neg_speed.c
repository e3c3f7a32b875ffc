/*
 * neg_speed.c - SA negotiations per second (issue 7, part 4): both ends of
 * src/ipsec's negotiation (negotiation.h, neg_responder.h) in one thread,
 * datagrams handed across in memory: no network, no loss, no key managers
 * (the SA keys come from the exchange), pre-shared key, OpenSSL's RAND_bytes
 * as the random source. Each round creates an initiator, runs INIT_REQ /
 * INIT_RESP / AUTH_REQ / AUTH_RESP against one long-lived responder until
 * both sides are ESTABLISHED, then frees the initiator (the responder frees
 * the older negotiation from the same peer itself). So one round is the CPU
 * cost of one negotiation at both ends on one core; time is the thread's
 * CPU time. Prints one JSON object.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "ipsec/neg_responder.h"
#include "ipsec/negotiation.h"

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int rand_fill(void *ctx, void *buf, size_t len)
{
    (void)ctx;
    return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

static void peer(struct neg_peer *p, uint8_t last)
{
    memset(p, 0, sizeof(*p));
    p->ip_version = FWP_IP_VERSION_V6;
    p->addr[0] = 0xfd;
    p->addr[15] = last;
    p->port = 3540;
}

int main(int argc, char **argv)
{
    double secs = argc > 2 && strcmp(argv[1], "--seconds") == 0 ? strtod(argv[2], NULL) : 1.0;
    static const uint8_t psk[] = "bench pre-shared key";
    struct neg_peer a, b;
    peer(&a, 1);
    peer(&b, 2);
    struct neg_config c = {.psk = psk, .psk_len = sizeof(psk) - 1, .random = rand_fill,
                           .local = a, .remote = b};
    struct neg_responder_config rc = {.base = c};
    rc.base.local = b;
    uint64_t now = 1;
    struct neg_responder *resp = neg_responder_create(&rc, now);
    if (!resp) {
        fprintf(stderr, "neg_speed: cannot create the responder\n");
        return 1;
    }
    uint64_t rounds = 0, datagrams = 0, bytes = 0;
    double t0 = cpu_s(), t = t0;
    while (t - t0 < secs) {
        struct neg *ini = neg_create(&c);
        struct neg_out o;
        if (!ini || !neg_start(ini, now, &o)) {
            fprintf(stderr, "neg_speed: cannot start a negotiation\n");
            return 1;
        }
        struct neg *rn = NULL;
        bool to_resp = true;
        for (int steps = 0; steps < 16 && o.len; steps++) {
            struct neg_out in = o;
            datagrams++;
            bytes += in.len;
            if (to_resp) {
                struct neg *n = neg_responder_receive(resp, now, &a, in.buf, in.len, &o);
                if (n)
                    rn = n;
            } else {
                neg_receive(ini, now, in.buf, in.len, &o);
            }
            to_resp = !to_resp;
        }
        if (neg_state(ini) != NEG_S_ESTABLISHED || !rn || neg_state(rn) != NEG_S_ESTABLISHED) {
            fprintf(stderr, "neg_speed: negotiation %" PRIu64 " ended in state %d (%s)\n", rounds,
                    (int)neg_state(ini), neg_error_name(neg_error(ini)));
            return 1;
        }
        neg_free(ini);
        rounds++;
        now++;
        t = cpu_s();
    }
    double spent = t - t0;
    printf("{\"negotiations\":%" PRIu64 ",\"cpu_s\":%.3f,\"negotiations_per_s\":%.1f,"
           "\"datagrams_per_negotiation\":%.2f,\"bytes_per_negotiation\":%.1f,"
           "\"responder_alive\":%zu}\n",
           rounds, spent, spent > 0 ? (double)rounds / spent : 0,
           rounds ? (double)datagrams / (double)rounds : 0,
           rounds ? (double)bytes / (double)rounds : 0, neg_responder_count(resp));
    neg_responder_free(resp);
    return 0;
}
