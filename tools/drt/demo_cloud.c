/*
 * demo_cloud.c - the demo's main act: a cloud of real DRT nodes in this
 * process, on loopback UDP, driven only through the public Windows API
 * (DrtCreateIpv6UdpTransport, DrtOpen, DrtRegisterKey, DrtStartSearch...).
 * Every number printed is measured; nothing is scripted.
 *
 * Without a mode the nodes use the null security provider and keys are
 * hashes of service names. With --mode (resolve, membership,
 * confidential) the demo makes a root and one EC P-256 certificate per
 * node in memory, each node runs the derived-key provider in that mode, and
 * each publishes its certificate's key (docs/SECURITY.md).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <drt.h>

#include "demo_cloud.h"
#include "tool_ipsec.h"
#include "tool_certgen.h"
#include "util/key256.h"
#include "util/result_text.h"

#define STEP_MS 50u
#define MAX_STEPS 200u /* 10 s for any one wait */

static const char *const SERVICES[] = {
    "printer.lobby",  "camera.front-door", "thermostat.hall", "nas.basement",
    "tv.living-room", "speaker.kitchen",   "lock.garage",     "sensor.garden",
    "light.attic",    "router.office",     "scanner.desk",    "badge.reader",
};
#define NSERVICES (sizeof(SERVICES) / sizeof(SERVICES[0]))

struct demo_node {
    HDRT_TRANSPORT transport;
    USHORT port;
    DRT_SECURITY_PROVIDER *security;
    DRT_BOOTSTRAP_PROVIDER *bootstrap;
    HANDLE event;
    HDRT drt;
    HDRT_REGISTRATION_CONTEXT reg;
    DRT_STATUS status;
    unsigned leaf_changes;
    BYTE key[32];
    char data[64];
    const char *service;
    X509 *cert; /* secure modes: the node's certificate and key */
    EVP_PKEY *pkey;
    CERT_CONTEXT ctx;
};

/* Secure modes: the demo's root, and the mode (< 0: the null provider). */
static int mode = -1;
static CERT_CONTEXT root;

/* --json: one JSON object per line instead of the table. */
static bool json;

/* Writes s as a JSON string (the demo's texts are ASCII; others escaped). */
static void jstr(const char *str)
{
    putchar('"');
    for (const unsigned char *c = (const unsigned char *)str; *c; c++) {
        if (*c == '"' || *c == '\\')
            printf("\\%c", *c);
        else if (*c < 0x20 || *c > 0x7e)
            printf("\\u%04x", *c);
        else
            putchar(*c);
    }
    putchar('"');
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A service name's key: SHA-256 of the name, as an application would. */
static void key_of(const char *name, BYTE key[32])
{
    unsigned int len = 32;
    EVP_Digest(name, strlen(name), key, &len, EVP_sha256(), NULL);
}

/* Keys print as numbers: pb[31] first; the first 8 digits are enough. */
static void short_key(const BYTE key[32], char out[12])
{
    snprintf(out, 12, "%02x%02x%02x%02x..", key[31], key[30], key[29], key[28]);
}

static const char *service_of(const struct demo_node *nodes, unsigned n, const BYTE key[32])
{
    for (unsigned i = 0; i < n; i++)
        if (memcmp(nodes[i].key, key, 32) == 0)
            return nodes[i].service;
    return "?";
}

static void fail(const char *what, HRESULT hr)
{
    char text[160];
    result_describe(hr, text, sizeof(text));
    if (json) {
        printf("{\"event\":\"error\",\"call\":\"%s\",\"result\":", what);
        jstr(text);
        printf("}\n");
    } else {
        printf("  %s failed: %s\n", what, text);
    }
}

static void drain_events(struct demo_node *n, unsigned index, bool verbose)
{
    for (unsigned guard = 0; guard < 1000; guard++) {
        ULONG len = 0;
        if (DrtGetEventDataSize(n->drt, &len) != S_OK)
            return;
        DRT_EVENT_DATA *ev = malloc(len);
        if (!ev || DrtGetEventData(n->drt, len, ev) != S_OK) {
            free(ev);
            return;
        }
        if (ev->type == DRT_EVENT_STATUS_CHANGED) {
            n->status = ev->statusChange.status;
            if (verbose)
                printf("  node %u is %s\n", index,
                       n->status == DRT_ACTIVE ? "ACTIVE"
                       : n->status == DRT_ALONE ? "ALONE (first node, waiting for others)"
                                                : "in another state");
        } else if (ev->type == DRT_EVENT_LEAFSET_KEY_CHANGED) {
            n->leaf_changes++;
        }
        free(ev);
    }
}

static const struct tool_ipsec *protection;

static bool certified_sas(void)
{
    return protection && protection->mode != DRT_PROTECTION_OFF && protection->auth_cert;
}

static bool open_node(struct demo_node *nodes, unsigned i)
{
    struct demo_node *n = &nodes[i];
    n->status = (DRT_STATUS)-1;
    HRESULT hr = DrtCreateIpv6UdpTransport(DRT_GLOBAL_SCOPE, 0, 300, &n->port, &n->transport);
    if (FAILED(hr)) {
        fail("DrtCreateIpv6UdpTransport", hr);
        return false;
    }
    /* A certificate per node: for the secure modes' provider, and for the
     * negotiations under --ipsec-auth cert. */
    if (mode >= 0 || certified_sas()) {
        n->pkey = tool_keygen(TOOL_ALG_EC);
        n->cert = n->pkey ? tool_cert_make(n->service, n->pkey, false, 3600, root.pCert,
                                           root.pPrivateKey)
                          : NULL;
        if (!n->cert) {
            fail("a node certificate", E_FAIL);
            return false;
        }
        n->ctx = (CERT_CONTEXT){n->cert, n->pkey, NULL};
    }
    const char *call = NULL;
    if (protection &&
        FAILED(hr = tool_ipsec_protect(protection, n->transport, &n->ctx, &root, &call))) {
        fail(call, hr);
        return false;
    }
    if (mode < 0) {
        if (FAILED(hr = DrtCreateNullSecurityProvider(&n->security))) {
            fail("DrtCreateNullSecurityProvider", hr);
            return false;
        }
    } else {
        DRT_DATA k = {32, n->key};
        if (FAILED(hr = DrtCreateDerivedKey(&n->ctx, &k))) {
            fail("DrtCreateDerivedKey", hr);
            return false;
        }
        if (FAILED(hr = DrtCreateDerivedKeySecurityProvider(&root, &n->ctx, &n->security))) {
            fail("DrtCreateDerivedKeySecurityProvider", hr);
            return false;
        }
    }
    /* Each node bootstraps from the first node, as a DNS name would give. */
    SOCKADDR_STORAGE seed;
    memset(&seed, 0, sizeof(seed));
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&seed;
    s6->sin6_family = AF_INET6;
    s6->sin6_addr = in6addr_loopback;
    s6->sin6_port = htons(nodes[0].port);
    if (FAILED(hr = DrtCreateStaticBootstrapResolver(&seed, i == 0 ? 0 : 1, &n->bootstrap))) {
        fail("DrtCreateStaticBootstrapResolver", hr);
        return false;
    }
    n->event = DrtEventCreate(FALSE, FALSE);
    DRT_SETTINGS s = {
        .dwSize = sizeof(DRT_SETTINGS),
        .cbKey = 32,
        .bProtocolMajorVersion = 1,
        .bProtocolMinorVersion = 0,
        .ulMaxRoutingAddresses = 4,
        .pwzDrtInstancePrefix = L"Demo",
        .hTransport = n->transport,
        .pSecurityProvider = n->security,
        .pBootstrapProvider = n->bootstrap,
        .eSecurityMode = mode < 0 ? DRT_SECURE_RESOLVE : (DRT_SECURITY_MODE)mode,
    };
    hr = DrtOpen(&s, n->event, NULL, &n->drt);
    if (FAILED(hr)) {
        fail("DrtOpen", hr);
        return false;
    }
    return true;
}

static void close_node(struct demo_node *n)
{
    if (n->drt)
        DrtClose(n->drt);
    if (n->transport)
        DrtDeleteIpv6UdpTransport(n->transport);
    DrtDeleteStaticBootstrapResolver(n->bootstrap);
    if (mode < 0)
        DrtDeleteNullSecurityProvider(n->security);
    else
        DrtDeleteDerivedKeySecurityProvider(n->security);
    if (n->event)
        DrtEventClose(n->event);
    X509_free(n->cert);
    EVP_PKEY_free(n->pkey);
}

/* The root of the secure modes' demo PKI, valid for an hour. */
static bool make_root(void)
{
    root.pPrivateKey = tool_keygen(TOOL_ALG_EC);
    root.pCert = root.pPrivateKey ? tool_cert_make("libdrt demo root", root.pPrivateKey, true,
                                                   3600, NULL, NULL)
                                  : NULL;
    if (!root.pCert)
        fail("the demo root certificate", E_FAIL);
    return root.pCert != NULL;
}

static void free_root(void)
{
    X509_free(root.pCert);
    EVP_PKEY_free(root.pPrivateKey);
    memset(&root, 0, sizeof(root));
}

struct found {
    HRESULT end;
    unsigned count;
    BYTE keys[8][32];
    char data[8][64];
    ULONG path;
    ULONG path_flags[NSERVICES]; /* DRT_ADDRESS_FLAG_* of the nodes asked, in order */
    USHORT path_ports[NSERVICES];
    double ms;
};

/* The answer a search must give, from the keys the demo knows: the `want`
 * keys of the other nodes inside [lo, hi] closest to target by ring
 * distance, as the resolver orders them; the searcher's own key is left
 * out (fAllowCurrentInstanceMatch is FALSE). With random keys (the secure
 * modes) a range may hold none: then the right answer is nothing.
 * Returns how many, their node indexes in idx, best first. */
static unsigned expected_keys(const struct demo_node *nodes, unsigned count, unsigned from,
                              const BYTE target[32], const BYTE lo[32], const BYTE hi[32],
                              unsigned want, unsigned idx[NSERVICES])
{
    const drt_key *t = (const drt_key *)target;
    unsigned n = 0;
    for (unsigned i = 0; i < count; i++) {
        const drt_key *k = (const drt_key *)nodes[i].key;
        if (i == from || !key256_in_range(k, (const drt_key *)lo, (const drt_key *)hi))
            continue;
        unsigned pos = n++;
        while (pos > 0 && key256_closer(t, k, (const drt_key *)nodes[idx[pos - 1]].key) < 0) {
            idx[pos] = idx[pos - 1];
            pos--;
        }
        idx[pos] = i;
    }
    return n < want ? n : want;
}

/* Results arrive as their owners answer, in no set order (docs/API.md):
 * the search is right when it ended normally with exactly the expected
 * keys. */
static bool found_exactly(const struct found *f, const struct demo_node *nodes,
                          const unsigned *idx, unsigned n)
{
    if (f->end != DRT_E_NO_MORE || f->count != n)
        return false;
    for (unsigned i = 0; i < n; i++) {
        bool seen = false;
        for (unsigned j = 0; j < n && !seen; j++)
            seen = memcmp(f->keys[j], nodes[idx[i]].key, 32) == 0;
        if (!seen)
            return false;
    }
    return true;
}

static struct found run_search(struct demo_node *from, const BYTE target[32],
                               const DRT_SEARCH_INFO *info)
{
    struct found f;
    memset(&f, 0, sizeof(f));
    HANDLE ev = DrtEventCreate(TRUE, FALSE);
    DRT_DATA key = {32, (BYTE *)target};
    HDRT_SEARCH_CONTEXT s;
    double t0 = now_ms();
    f.end = DrtStartSearch(from->drt, &key, info, 5000, ev, NULL, &s);
    if (FAILED(f.end)) {
        DrtEventClose(ev);
        return f;
    }
    for (unsigned step = 0; step < MAX_STEPS; step++) {
        DrtEventWait(ev, STEP_MS);
        ULONG size = 0;
        HRESULT hr = DrtGetSearchResultSize(s, &size);
        if (hr == DRT_E_SEARCH_IN_PROGRESS)
            continue;
        if (hr != S_OK) {
            f.end = hr;
            break;
        }
        DRT_SEARCH_RESULT *r = malloc(size);
        if (!r || DrtGetSearchResult(s, size, r) != S_OK) {
            free(r);
            break;
        }
        if (f.count < 8) {
            memcpy(f.keys[f.count], r->registration.key.pb, 32);
            size_t len = r->registration.appData.cb < 63 ? r->registration.appData.cb : 63;
            memcpy(f.data[f.count], r->registration.appData.pb, len);
            f.data[f.count][len] = 0;
        }
        f.count++;
        free(r);
    }
    f.ms = now_ms() - t0;
    ULONG psize = 0;
    if (DrtGetSearchPathSize(s, &psize) == S_OK) {
        DRT_ADDRESS_LIST *path = malloc(psize);
        if (path && DrtGetSearchPath(s, psize, path) == S_OK) {
            f.path = path->AddressCount;
            for (ULONG i = 0; i < path->AddressCount && i < NSERVICES; i++) {
                const struct sockaddr_in6 *a =
                    (const struct sockaddr_in6 *)&path->AddressList[i].socketAddress;
                f.path_flags[i] = path->AddressList[i].flags;
                f.path_ports[i] = ntohs(a->sin6_port);
            }
        }
        free(path);
    }
    DrtEndSearch(s);
    DrtEventClose(ev);
    return f;
}

/* Names the node that listens on port, for a search path. */
static int node_of_port(const struct demo_node *nodes, unsigned count, USHORT port)
{
    for (unsigned i = 0; i < count; i++)
        if (nodes[i].port == port)
            return (int)i;
    return -1;
}

/* A search that did not answer as expected: how it ended and whom it
 * asked, with each node's DRT_ADDRESS_FLAG_* outcome, so a failure in a
 * log can be told apart (a node that never answered, one that refused, a
 * search that stopped early). */
static void show_wrong(const char *what, const struct found *f, const struct demo_node *nodes,
                       unsigned count, const unsigned *idx, unsigned n)
{
    char text[160], sk[12];
    result_describe(f->end, text, sizeof(text));
    if (json) {
        printf("{\"event\":\"wrong\",\"search\":\"%s\",\"end\":", what);
        jstr(text);
        printf(",\"expected\":[");
    } else {
        printf("  the %s search FAILED: it ended with %s;\n    expected:%s", what, text,
               n ? "" : " nothing");
    }
    for (unsigned i = 0; i < n; i++) {
        short_key(nodes[idx[i]].key, sk);
        if (json) {
            printf(i ? "," : "");
            jstr(nodes[idx[i]].service);
        } else {
            printf(" %s (%s)", nodes[idx[i]].service, sk);
        }
    }
    printf(json ? "],\"path\":[" : "\n    path:");
    for (ULONG i = 0; i < f->path && i < NSERVICES; i++) {
        int node = node_of_port(nodes, count, f->path_ports[i]);
        unsigned long flags = f->path_flags[i];
        if (json)
            printf("%s{\"node\":%d,\"flags\":%lu}", i ? "," : "", node, flags);
        else
            printf("%s node %d (flags 0x%02lx)", i ? "," : "", node, flags);
    }
    printf(json ? "]}\n" : "\n");
}

/* Nearest: a key that nobody registered; the closest other key answers. */
static bool demo_nearest(struct demo_node *nodes, unsigned count)
{
    BYTE target[32], lo[32], hi[32];
    key_of("who-is-closest?", target);
    memset(lo, 0, 32);
    memset(hi, 0xff, 32);
    DRT_DATA dlo = {32, lo}, dhi = {32, hi};
    DRT_SEARCH_INFO nearest = {.dwSize = sizeof(nearest), .cMaxEndpoints = 1,
                               .pMinimumKey = &dlo, .pMaximumKey = &dhi};
    unsigned from = count - 1, idx[NSERVICES];
    unsigned n = expected_keys(nodes, count, from, target, lo, hi, 1, idx);
    struct found f = run_search(&nodes[from], target, &nearest);
    bool good = found_exactly(&f, nodes, idx, n);
    char sk[12], tk[12];
    short_key(target, tk);
    if (f.count)
        short_key(f.keys[0], sk);
    if (json) {
        printf("{\"event\":\"nearest\",\"target\":\"%s\",\"found\":", tk);
        jstr(f.count ? service_of(nodes, count, f.keys[0]) : "");
        printf(",\"ok\":%s,\"ms\":%.2f}\n", good ? "true" : "false", f.ms);
    } else if (f.count) {
        printf("\n  nearest search for %s (nobody's key): %s (%s), %.1f ms\n", tk,
               service_of(nodes, count, f.keys[0]), sk, f.ms);
    } else {
        printf("\n  nearest search for %s (nobody's key): nothing found\n", tk);
    }
    if (!good)
        show_wrong("nearest", &f, nodes, count, idx, n);
    return good;
}

/* Range: the 3 keys closest to the middle of the ring, within its middle
 * half, from node 0. */
static bool demo_range(struct demo_node *nodes, unsigned count)
{
    BYTE mid[32], lo[32], hi[32];
    memset(mid, 0, 32);
    mid[31] = 0x80;
    memset(lo, 0, 32);
    lo[31] = 0x40;
    memset(hi, 0xff, 32);
    hi[31] = 0xbf;
    DRT_DATA dlo = {32, lo}, dhi = {32, hi};
    DRT_SEARCH_INFO range = {.dwSize = sizeof(range), .cMaxEndpoints = 3,
                             .pMinimumKey = &dlo, .pMaximumKey = &dhi};
    unsigned idx[NSERVICES];
    unsigned n = expected_keys(nodes, count, 0, mid, lo, hi, 3, idx);
    struct found f = run_search(&nodes[0], mid, &range);
    bool good = found_exactly(&f, nodes, idx, n);
    char sk[12];
    if (json)
        printf("{\"event\":\"range\",\"found\":[");
    else
        printf("  range search, keys 40000000..bfffffff.. nearest to 80000000..: %u found%s",
               f.count, f.count ? ":" : "");
    for (unsigned i = 0; i < f.count && i < 8; i++) {
        short_key(f.keys[i], sk);
        if (json) {
            printf(i ? "," : "");
            jstr(service_of(nodes, count, f.keys[i]));
        } else {
            printf(" %s (%s)", service_of(nodes, count, f.keys[i]), sk);
        }
    }
    if (json)
        printf("],\"expected\":%u,\"ok\":%s}\n", n, good ? "true" : "false");
    else if (good && n == 0)
        printf(" (right: no other node's key lies in that range)\n");
    else
        printf("\n");
    if (!good)
        show_wrong("range", &f, nodes, count, idx, n);
    return good;
}

/* What protection did: SAs and ESP per node, and anything in the clear.
 * Returns false when REQUIRE let a DRT message through in the clear. */
static bool report_protection(struct demo_node *nodes, unsigned count)
{
    if (!protection || protection->mode == DRT_PROTECTION_OFF)
        return true;
    UINT64 sas = 0, esp = 0, plain = 0, refused = 0, dropped = 0;
    for (unsigned i = 0; i < count; i++) {
        DRT_PROTECTION_STATS st;
        if (DrtGetTransportProtectionStats(nodes[i].transport, &st) != S_OK)
            return false;
        sas += st.sasEstablished;
        esp += st.espSent;
        plain += st.plainSent + st.plainReceived;
        refused += st.plainRefused;
        dropped += st.espDropped;
    }
    if (json)
        printf("{\"event\":\"ipsec\",\"sas\":%llu,\"esp_sent\":%llu,\"plain\":%llu,"
               "\"plain_refused\":%llu,\"esp_dropped\":%llu}\n",
               (unsigned long long)sas, (unsigned long long)esp, (unsigned long long)plain,
               (unsigned long long)refused, (unsigned long long)dropped);
    else
        printf("  ipsec: %llu SA pairs established (counted on each side), %llu DRT messages "
               "sent inside ESP,\n         %llu in the clear, %llu ESP packets dropped\n",
               (unsigned long long)sas, (unsigned long long)esp, (unsigned long long)plain,
               (unsigned long long)dropped);
    return protection->mode != DRT_PROTECTION_REQUIRE || plain == 0;
}

int demo_cloud(unsigned count, bool as_json, const struct tool_ipsec *ip, int security_mode)
{
    json = as_json;
    protection = ip;
    mode = security_mode;
    if (count < 2)
        count = 2;
    if (count > NSERVICES)
        count = NSERVICES;
    struct demo_node nodes[NSERVICES];
    memset(nodes, 0, sizeof(nodes));
    /* Route entries must name an address the others reach: loopback here. */
    setenv("DRT_ADVERTISE_ADDRESS", "::1", 0);

    if (!json)
        printf("\n== a DRT cloud of %u nodes on loopback ([::1], real UDP), public API only\n",
               count);
    static const char *const MODES[] = {"DRT_SECURE_RESOLVE", "DRT_SECURE_MEMBERSHIP",
                                        "DRT_SECURE_CONFIDENTIALPAYLOAD"};
    if (!json && mode >= 0)
        printf("  security: derived-key provider, %s; a root and one EC P-256 certificate\n"
               "  per node made in memory; each node publishes its certificate's key\n",
               MODES[mode]);
    int rc = 1;
    if ((mode >= 0 || certified_sas()) && !make_root())
        goto out;
    for (unsigned i = 0; i < count; i++) {
        nodes[i].service = SERVICES[i];
        if (!open_node(nodes, i))
            goto out;
    }
    printf(json ? "{\"event\":\"opened\",\"nodes\":%u,\"ports\":[" : "  %u nodes opened on ports",
           count);
    for (unsigned i = 0; i < count; i++)
        printf("%s%u", json ? (i ? "," : "") : " ", nodes[i].port);
    printf(json ? "]}\n" : "\n");

    /* Each node publishes one service: key = SHA-256(name), data = where. */
    for (unsigned i = 0; i < count; i++) {
        struct demo_node *n = &nodes[i];
        if (mode < 0)
            key_of(n->service, n->key);
        snprintf(n->data, sizeof(n->data), "[::1]:%u/%s", 8000 + i, n->service);
        DRT_REGISTRATION reg = {{32, n->key}, {(ULONG)strlen(n->data) + 1, (BYTE *)n->data}};
        HRESULT hr = DrtRegisterKey(n->drt, &reg, mode < 0 ? NULL : (PVOID)&n->ctx, &n->reg);
        if (FAILED(hr)) {
            fail("DrtRegisterKey", hr);
            goto out;
        }
    }
    double t0 = now_ms();
    unsigned active = 0;
    for (unsigned step = 0; step < MAX_STEPS && active < count; step++) {
        active = 0;
        for (unsigned i = 0; i < count; i++) {
            drain_events(&nodes[i], i, false);
            active += nodes[i].status == DRT_ACTIVE;
        }
        if (active < count)
            DrtEventWait(nodes[0].event, STEP_MS);
    }
    printf(json ? "{\"event\":\"active\",\"active\":%u,\"nodes\":%u,\"ms\":%.0f}\n"
                : "  %u of %u nodes ACTIVE after %.0f ms; each registered one service\n",
           active, count, now_ms() - t0);
    if (active < count)
        goto out;

    if (!json) {
        printf("\n  exact searches (DrtStartSearch, min = max = key):\n");
        printf("  %-7s %-20s %-12s %-34s %-5s %s\n", "from", "service", "key", "app data found",
               "path", "time");
    }
    unsigned ok = 0, tried = 0;
    for (unsigned i = 0; i < count; i++) {
        unsigned from = (i * 3 + 1) % count, want = i;
        if (from == want)
            from = (from + 1) % count;
        struct found f = run_search(&nodes[from], nodes[want].key, NULL);
        char sk[12];
        short_key(nodes[want].key, sk);
        bool good = f.count == 1 && strcmp(f.data[0], nodes[want].data) == 0;
        tried++;
        ok += good;
        if (json) {
            printf("{\"event\":\"exact\",\"from\":%u,\"service\":", from);
            jstr(nodes[want].service);
            printf(",\"key\":\"%s\",\"found\":%s,\"data\":", sk, good ? "true" : "false");
            jstr(f.count ? f.data[0] : "");
            printf(",\"path\":%lu,\"ms\":%.2f}\n", (unsigned long)f.path, f.ms);
        } else {
            printf("  node %-2u %-20s %-12s %-34s %-5lu %.1f ms\n", from, nodes[want].service, sk,
                   f.count ? f.data[0] : "(not found)", (unsigned long)f.path, f.ms);
        }
    }
    if (!json)
        printf("  %u of %u exact searches found their key\n", ok, tried);

    bool nearest_ok = demo_nearest(nodes, count);
    bool range_ok = demo_range(nodes, count);

    /* Unregister one service: it disappears from the cloud. */
    struct demo_node *gone = &nodes[count / 2];
    DrtUnregisterKey(gone->reg);
    gone->reg = NULL;
    unsigned remaining = 1;
    for (unsigned tries = 0; tries < 20 && remaining; tries++)
        remaining = run_search(&nodes[0], gone->key, NULL).count;
    if (json) {
        printf("{\"event\":\"unregistered\",\"service\":");
        jstr(gone->service);
        printf(",\"still_found\":%s}\n", remaining ? "true" : "false");
    } else {
        printf("\n  node %u unregistered %s; a search for it now finds %s\n", count / 2,
               gone->service, remaining ? "it still (unexpected)" : "nothing (DRT_E_NO_MORE)");
    }

    unsigned leaf = 0;
    for (unsigned i = 0; i < count; i++) {
        drain_events(&nodes[i], i, false);
        leaf += nodes[i].leaf_changes;
    }
    bool sealed = report_protection(nodes, count);
    rc = ok == tried && nearest_ok && range_ok && remaining == 0 && sealed ? 0 : 1;
    if (json) {
        printf("{\"event\":\"summary\",\"exact_found\":%u,\"exact_tried\":%u,"
               "\"leaf_events\":%u,\"ok\":%s}\n",
               ok, tried, leaf, rc == 0 ? "true" : "false");
    } else {
        printf("  leaf-set events seen by the nodes: %u\n", leaf);
        printf("  demo cloud: %s\n",
               rc == 0 ? "every search answered as expected" : "SOME SEARCHES FAILED");
    }
out:
    for (unsigned i = count; i-- > 0;)
        close_node(&nodes[i]);
    free_root();
    if (!json)
        printf("  all nodes closed (their keys were unregistered first)\n");
    return rc;
}
