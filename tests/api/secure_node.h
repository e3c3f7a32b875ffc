/*
 * secure_node.h - a DRT node on ::1 with the derived-key provider (or the
 * null one), for the security tests: open (a loopback_node.h node) in a
 * security mode with a certificate of the test PKI, register the
 * certificate's key, drain events, search, look at the engine's counters
 * and route cache, close.
 */
#ifndef DRT_TESTS_API_SECURE_NODE_H
#define DRT_TESTS_API_SECURE_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <drt.h>

#include "api/loopback_node.h"
#include "core/engine.h"
#include "sec/cert_fixture.h"

struct sn_node {
    struct lb_node node; /* its status is the last one sn_drain saw */
    struct fx_node cert;
    BYTE key[32];
    HDRT_REGISTRATION_CONTEXT reg;
    const char *data;
    const BYTE *watch;     /* a key whose leaf-set deletions are counted */
    unsigned watch_deleted, watch_added;
};

struct sn_opts {
    bool null;                /* the null provider (the key is still the certificate's) */
    DRT_SECURITY_MODE mode;   /* DRT_SECURE_RESOLVE unless set */
    bool other_root;          /* certificate issued by the fixture's other root */
    bool no_local_cert;       /* the provider gets no local certificate */
    bool no_register;         /* open only */
};

/* Opens n (bootstrapping from seed, NULL: first node) and registers its
 * key with data; asserts every step. */
void sn_open(struct sn_node *n, const struct sn_node *seed, enum fx_keytype type,
             const char *data, const struct sn_opts *o);
/* The HRESULT of DrtOpen alone; on failure everything is released. */
HRESULT sn_try_open(struct sn_node *n, enum fx_keytype type, const struct sn_opts *o);
void sn_close(struct sn_node *n);
void sn_register(struct sn_node *n);
void sn_drain(struct sn_node *n);
/* Drains n's events for up to ms, until *until is true (when given). */
void sn_settle(struct sn_node *n, unsigned ms, const bool *until);
void sn_wait_status(struct sn_node *n, DRT_STATUS want, unsigned ms);
struct drt_engine_stats sn_stats(const struct sn_node *n);
/* Searches from `from` for key: the number of exact results with data. */
unsigned sn_find(struct sn_node *from, const BYTE key[32], const char *data);
/* Whether n's route cache holds key as a verified entry (at UDP port
 * `port` of ::1 when port is not 0). */
bool sn_caches(const struct sn_node *n, const BYTE key[32], USHORT port);
/* Sends the datagram buf to to's port from a new UDP socket on ::1, which
 * it returns (for an answer; the caller closes it). */
int sn_send(const struct sn_node *to, const uint8_t *buf, size_t len);
/* A stranger's INQUIRE (A and X set, no credential) for to's key, from a
 * plain UDP socket: whether to answers it within wait_ms. */
bool sn_probe_inquire(const struct sn_node *to, unsigned wait_ms);

#endif
