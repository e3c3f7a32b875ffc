/*
 * io_ipsec.h - SA protection of one transport socket: the demultiplexer of
 * its datagrams (udp_encap.h), the node's SA negotiations (neg_node.h) run
 * with real time, and ESP around every DRT message to a peer with an SA.
 * Loop thread only, like everything in src/io.
 *
 * Modes (docs/API.md, DrtSetTransportProtection):
 *   REQUEST  a DRT message to a peer with an SA goes inside ESP; without
 *            one it goes in the clear at once while a negotiation starts,
 *            so an unprotected peer is never kept waiting. Plaintext DRT
 *            from anybody is accepted.
 *   REQUIRE  nothing goes out in the clear: a message to a peer without an
 *            SA waits (IO_IPSEC_QUEUE_PER_PEER at most, oldest dropped)
 *            while a negotiation runs, and is dropped if it fails.
 *            Plaintext DRT received is dropped and counted.
 * A peer whose negotiation failed gets no new one for IO_IPSEC_HOLD_MS.
 * ESP under an unknown SPI (the sender holds a pair this node lost in a
 * restart) starts a negotiation towards its sender, rate-limited, so that
 * the sender gets a newer pair to seal with.
 */
#ifndef DRT_IO_IPSEC_H
#define DRT_IO_IPSEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/endpoint.h"
#include "ipsec/neg_keymgr.h"
#include "ipsec/neg_node.h"

enum io_ipsec_mode { IO_IPSEC_OFF = 0, IO_IPSEC_REQUEST = 1, IO_IPSEC_REQUIRE = 2 };

#define IO_IPSEC_QUEUE_PER_PEER 32u /* DRT datagrams waiting for an SA, per peer */
#define IO_IPSEC_MAX_PEERS 1024u    /* peers with waiting datagrams or a hold */
#define IO_IPSEC_HOLD_MS 30000u     /* after a failed negotiation */
#define IO_IPSEC_RECOVER_MS 100u    /* at most one negotiation per this for unknown SPIs */
#define IO_IPSEC_HOUSEKEEPING_MS 5000u /* lifetimes are checked this often, at least */
/* Windows' default quick-mode SA lifetime: an hour or 100,000 KB; the
 * rekey starts at 90% of either. */
#define IO_IPSEC_DEFAULT_HARD_S 3600u
#define IO_IPSEC_DEFAULT_HARD_KB 100000u

struct io_ipsec_config {
    enum io_ipsec_mode mode;
    /* Exactly one: the mesh's pre-shared key (copied), or the node's
     * credential, which the socket owns from a successful create on and
     * hands to cred_release when it is destroyed. */
    const uint8_t *psk;
    size_t psk_len;
    const struct neg_cred *cred;
    void (*cred_release)(const struct neg_cred *cred);
    struct neg_keymgr_env km; /* the process's key managers (src/api) */
    struct neg_lifetime lifetime; /* all 0: the defaults above */
    /* Caps of the socket's negotiations (neg_responder_config); 0: the
     * defaults. */
    uint32_t max_half_open, max_negs;
};

/* Counters of one socket; DRT_TRANSPORT_PROTECTION_STATS mirrors them. */
struct io_ipsec_stats {
    uint64_t esp_sent, esp_received;     /* DRT messages sealed / opened */
    uint64_t plain_sent, plain_received; /* DRT messages in the clear */
    uint64_t plain_refused;              /* plaintext DRT dropped (REQUIRE) */
    uint64_t esp_dropped;                /* unknown SPI, forged, replayed, malformed */
    uint64_t neg_sent, neg_received;     /* negotiation datagrams */
    uint64_t neg_dropped;                /* negotiation datagrams nobody took */
    uint64_t sas_established;            /* negotiations that installed an SA pair */
    uint64_t neg_failed;                 /* our initiations that failed */
    uint64_t unsent;                     /* outbound DRT dropped for want of an SA */
    uint64_t invalid;                    /* datagrams of no known class */
    uint64_t rekeys;                     /* negotiations started at a soft limit */
    uint64_t expired;                    /* SA pairs ended here (hard limit, superseded) */
    uint64_t deleted;                    /* SA pairs a peer's DELETE ended */
    uint64_t recoveries;                 /* negotiations started for an unknown SPI */
    uint64_t auth_failed;                /* the peer's AUTH did not verify here */
    uint64_t auth_refused;               /* the peer refused ours */
    uint32_t last_auth_code;             /* the code of the latest of either */
    uint64_t km_late;                    /* key-manager answers after their deadline, dropped */
};

struct io_ipsec;
struct io_socket;

/* NULL on a bad config or no memory. Negotiations start once
 * io_ipsec_set_local gave the node's address. */
struct io_ipsec *io_ipsec_create(struct io_socket *sock, const struct io_ipsec_config *cfg);
/* Sets the negotiation caps (0: the defaults); effective when the local
 * address is set, so before io_ipsec_set_local. */
void io_ipsec_set_caps(struct io_ipsec *ip, uint32_t max_half_open, uint32_t max_negs);
/* Frees everything, the timer after libuv's close callback. */
void io_ipsec_destroy(struct io_ipsec *ip);
/* Replaces the lifetimes (neg_node.h) of this socket's SAs. */
void io_ipsec_set_lifetime(struct io_ipsec *ip, const struct neg_lifetime *lt);
/* The address key managers see as ours (the node's advertised one). */
bool io_ipsec_set_local(struct io_ipsec *ip, const struct drt_endpoint *self);

/* A DRT message for `to`: sealed, sent in the clear, queued or dropped
 * according to the mode. */
void io_ipsec_send_drt(struct io_ipsec *ip, const struct drt_endpoint *to, const uint8_t *buf,
                       size_t len);
/* Any datagram from `from`. Returns the DRT message it carried, if any
 * (*out, *out_len: valid until the next call), else false. */
bool io_ipsec_receive(struct io_ipsec *ip, const struct drt_endpoint *from, const uint8_t *buf,
                      size_t len, const uint8_t **out, size_t *out_len);

struct io_ipsec_stats io_ipsec_stats(const struct io_ipsec *ip);
enum io_ipsec_mode io_ipsec_mode(const struct io_ipsec *ip);
/* The credential of the socket's negotiations, NULL under a PSK. */
const struct neg_cred *io_ipsec_cred(const struct io_ipsec *ip);

#endif
