/*
 * drt demo - the README's main job: a cloud of real nodes on loopback
 * registering and finding each other's keys (demo_cloud.c), then a look
 * under the hood (key ring, wire codec, fragmentation, key managers, the
 * API's argument checks). Every line it prints is computed live.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <drt.h>
#include <fwpmu.h>

#include "cli.h"
#include "demo_cloud.h"
#include "tool_ipsec.h"
#include "tool_pki.h"
#include "core/reassembly.h"
#include "core/wire.h"
#include "util/key256.h"
#include "util/result_text.h"

/* The pre-shared key of a demo cloud without --psk: every node of the demo
 * runs in this process, so any fixed string does; documented in README. */
#define DEMO_PSK "libdrt demo mesh key"

void usage_demo(void)
{
    printf("usage: drt demo [--nodes N] [--mode resolve|membership|confidential] [--json]\n"
           "                [--ipsec require|request [--psk FILE | --ipsec-auth cert]\n"
           "                [--key-manager notify|dictate [--key-log FILE] [--key-file FILE]]]\n\n"
           "Starts N DRT nodes (default 8, 2..12) in this process on loopback UDP,\n"
           "each publishing a service key through the Windows API, runs exact,\n"
           "nearest and range searches between them and prints what was found,\n"
           "the search path length and the time, each answer checked against the one\n"
           "computed from the nodes' keys. Then shows the parts underneath:\n"
           "key arithmetic, the [MC-DRT] codec, fragmentation, key managers, and\n"
           "the API's argument checks. --json: the cloud's results only, one JSON\n"
           "object per line. --mode: the nodes use the derived-key provider in that\n"
           "security mode, with a root and node certificates made in memory (without\n"
           "it, the null provider: no certificates, keys are hashes of names).\n"
           "With --ipsec every node's transport negotiates ESP SAs with the others;\n"
           "without --psk the key is \"%s\" (also the dictator's\n"
           "secret without --key-file); --ipsec-auth cert authenticates them by a\n"
           "certificate per node under a root made in memory instead. The cloud then\n"
           "reports the SAs and what went in the clear.\n",
           DEMO_PSK);
    tool_ipsec_usage();
}

static void section(const char *title)
{
    printf("\n== %s\n", title);
}

static void show_key(const char *label, const drt_key *k)
{
    char hex[DRT_KEY_HEX_LEN + 1];
    key256_to_hex(k, hex);
    printf("  %-14s %s\n", label, hex);
}

static void demo_key_ring(void)
{
    section("the key ring (256-bit keys; 0 and 2^256-1 are neighbours)");
    drt_key target, a, b, d;
    key256_from_hex(&target, "8000000000000000000000000000000000000000000000000000000000000000");
    key256_from_hex(&a, "7ff0000000000000000000000000000000000000000000000000000000000000");
    key256_from_hex(&b, "8020000000000000000000000000000000000000000000000000000000000000");
    show_key("target", &target);
    show_key("key A", &a);
    show_key("key B", &b);
    key256_ring_distance(&d, &target, &a);
    show_key("|target-A|", &d);
    key256_ring_distance(&d, &target, &b);
    show_key("|target-B|", &d);
    printf("  closer to target: %s; leading bits shared with target: A %u, B %u\n",
           key256_closer(&target, &a, &b) < 0 ? "A" : "B",
           key256_common_prefix_bits(&target, &a), key256_common_prefix_bits(&target, &b));
    key256_ring_distance(&d, &key256_zero, &key256_max);
    show_key("|0 - max|", &d);
}

static void report(const char *call, HRESULT hr)
{
    char text[160];
    printf("  %-44s -> %s\n", call, result_describe(hr, text, sizeof(text)));
}

static void hexdump(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i += 16) {
        printf("    %04zx ", i);
        for (size_t j = i; j < i + 16 && j < n; j++)
            printf(" %02x", p[j]);
        printf("\n");
    }
}

static void demo_wire_lookup(void)
{
    section("an [MC-DRT] LOOKUP, encoded and decoded (docs/PROTOCOL.md)");
    struct wire_msg m;
    memset(&m, 0, sizeof(m));
    m.hdr = (struct wire_header){1, 0, WIRE_LOOKUP, 0x5eed0001};
    m.u.lookup.criteria = WIRE_SEARCH_NEAREST;
    m.u.lookup.reason = WIRE_REASON_APP_REQUEST;
    for (int i = 0; i < 32; i++)
        m.u.lookup.target_key[i] = (uint8_t)(0x80 + i);
    m.u.lookup.path.count = 1;
    m.u.lookup.path.e[0].port = 3540;
    m.u.lookup.path.e[0].addr[15] = 1; /* ::1 */
    uint8_t buf[512];
    size_t len = 0;
    HRESULT hr = wire_encode(&m, buf, sizeof(buf), &len);
    if (FAILED(hr)) {
        report("wire_encode(LOOKUP)", hr);
        return;
    }
    printf("  LOOKUP for the nearest key to 9f9e..8180 (pb[31] first), flagged path [::1]:3540\n"
           "  %zu bytes on the wire:\n", len);
    hexdump(buf, len);
    struct wire_msg back;
    hr = wire_decode(buf, len, &back);
    printf("  decoded: %s, message id 0x%08x, criteria %u, %u flagged endpoint(s)\n",
           SUCCEEDED(hr) ? wire_msg_type_name(back.hdr.type) : "FAILED",
           (unsigned)back.hdr.message_id, back.u.lookup.criteria, back.u.lookup.path.count);
    buf[4] = 0x52; /* not the 0x51 identifier */
    report("the same bytes, identifier 0x52", wire_decode(buf, len, &back));
}

static void demo_wire_fragments(void)
{
    section("a 5,120-byte payload split into 1,188-byte AUTHORITY fragments and reassembled");
    static uint8_t payload[DRT_MAX_PAYLOAD_SIZE], whole[WIRE_SPLIT_MAX];
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(i * 13u);
    struct wire_authority_buffer ab;
    memset(&ab, 0, sizeof(ab));
    ab.payload = (struct wire_blob){payload, sizeof(payload)};
    size_t len = 0;
    if (FAILED(wire_encode_authority_buffer(&ab, whole, sizeof(whole), &len)))
        return;
    struct reasm *r = reasm_create(NULL);
    struct reasm_key key;
    if (!r || !reasm_key_make(&key, "demo", 4, 7)) {
        reasm_destroy(r);
        return;
    }
    size_t n = wire_fragment_count(len);
    const uint8_t *done = NULL;
    size_t done_len = 0;
    struct wire_header h = {1, 0, WIRE_AUTHORITY, 0x5eed0002};
    /* Deliver the fragments last-first, as a reordering network might. */
    for (size_t k = n; k-- > 0;) {
        struct wire_msg m, got;
        uint8_t dgram[WIRE_AUTHORITY_OVERHEAD + WIRE_FRAGMENT_SIZE];
        size_t dlen = 0;
        if (FAILED(wire_authority_fragment(&h, 7, whole, len, k, &m)) ||
            FAILED(wire_encode(&m, dgram, sizeof(dgram), &dlen)) ||
            FAILED(wire_decode(dgram, dlen, &got)))
            break;
        enum reasm_result res =
            reasm_add(r, &key, got.u.authority.size, got.u.authority.offset,
                      got.u.authority.fragment.p, got.u.authority.fragment.len, 0, &done, &done_len);
        printf("  fragment %zu: offset %5u, %4zu-byte datagram -> %s\n", k,
               got.u.authority.offset, dlen, reasm_result_name(res));
    }
    struct wire_authority_buffer back;
    bool intact = done && SUCCEEDED(wire_decode_authority_buffer(done, done_len, &back)) &&
                  back.payload.len == sizeof(payload) &&
                  memcmp(back.payload.p, payload, sizeof(payload)) == 0;
    printf("  %zu-byte AUTHORITY_BUFFER in %zu fragments; payload after reassembly: %s\n", len, n,
           intact ? "5,120 bytes, identical" : "NOT intact");
    reasm_destroy(r);
}

static void report_dword(const char *call, DWORD rc)
{
    report(call, (HRESULT)rc);
}

static void CALLBACK demo_notify(const IPSEC_SA_DETAILS1 *in, const IPSEC_SA_DETAILS1 *out)
{
    (void)in;
    (void)out;
}

static void CALLBACK demo_check(const IKEEXT_TRAFFIC0 *t, BOOL *will, UINT32 *weight)
{
    (void)t;
    *will = FALSE;
    *weight = 0;
}

static DWORD CALLBACK demo_dictate(IPSEC_SA_DETAILS1 *in, IPSEC_SA_DETAILS1 *out, BOOL *gen)
{
    (void)in;
    (void)out;
    *gen = TRUE;
    return 0;
}

/* ip: what protected the cloud above, so the closing line can say whether
 * its SAs went through this cycle. */
static void demo_keying(const struct tool_ipsec *ip)
{
    section("the keying engine: registering trusted intermediary agents (key managers)");
    HANDLE engine = NULL;
    DWORD rc = FwpmEngineOpen0(NULL, RPC_C_AUTHN_DEFAULT, NULL, NULL, &engine);
    report_dword("FwpmEngineOpen0", rc);
    if (rc != 0)
        return;
    IPSEC_KEY_MANAGER0 km;
    memset(&km, 0, sizeof(km));
    km.flags = IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY;
    km.keyDictationTimeoutHint = 11;
    IPSEC_KEY_MANAGER_CALLBACKS0 cb;
    memset(&cb, 0, sizeof(cb));
    cb.keyDictationCheck = demo_check;
    cb.keyDictation = demo_dictate;
    cb.keyNotify = demo_notify;
    HANDLE h1 = NULL, h2 = NULL, h3 = NULL;
    report_dword("AddAndRegister0(dictator, timeout hint 11 s)",
                 IPsecKeyManagerAddAndRegister0(engine, &km, &cb, &h1));
    km.keyDictationTimeoutHint = 0;
    report_dword("AddAndRegister0(dictator, hint 0 = 5 s)",
                 IPsecKeyManagerAddAndRegister0(engine, &km, &cb, &h1));
    report_dword("AddAndRegister0(a second dictator)",
                 IPsecKeyManagerAddAndRegister0(engine, &km, &cb, &h2));
    km.flags = 0;
    cb.keyDictationCheck = NULL;
    cb.keyDictation = NULL;
    report_dword("AddAndRegister0(notify-only)", IPsecKeyManagerAddAndRegister0(engine, &km, &cb, &h3));
    IPSEC_KEY_MANAGER0 **list = NULL;
    UINT32 count = 0;
    if (IPsecKeyManagersGet0(engine, &list, &count) == 0) {
        for (UINT32 i = 0; i < count; i++)
            printf("  registered: %s, timeout %u s, key %08x-...\n",
                   list[i]->flags & IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY ? "dictator   " : "notify-only",
                   list[i]->keyDictationTimeoutHint, (unsigned)list[i]->keyManagerKey.Data1);
        FwpmFreeMemory0((void **)&list);
    }
    FwpmEngineClose0(engine);
    printf("  (closing the session removed its key managers)\n"
           "  In every SA negotiation between nodes, each side's dictator (if one is\n"
           "  registered) says whether it will dictate and at what weight; the winner's\n"
           "  supplies the keys (with no winner they are random), and every key manager\n"
           "  is notified of the new SA pair (docs/KEYING.md 7.4).\n");
    if (ip->mode == DRT_PROTECTION_OFF)
        printf("  See it in the cloud: drt demo --ipsec require --key-manager dictate\n");
    else if (ip->km == TOOL_KM_NONE)
        printf("  The cloud above negotiated its SAs with none registered "
               "(--key-manager adds one).\n");
    else
        printf("  The cloud above negotiated its SAs with the demo's %s key manager.\n",
               ip->km == TOOL_KM_DICTATE ? "dictating" : "notify-only");
}

static void demo_api_checks(void)
{
    section("the Windows DRT API checks its arguments as documented");
    HDRT drt = NULL;
    report("DrtOpen(settings = NULL)", DrtOpen(NULL, NULL, NULL, &drt));

    DRT_SETTINGS settings = {.dwSize = sizeof(settings), .cbKey = 8};
    report("DrtOpen(cbKey = 8)", DrtOpen(&settings, NULL, NULL, &drt));
    settings.cbKey = 32;
    settings.ulMaxRoutingAddresses = 21;
    report("DrtOpen(ulMaxRoutingAddresses = 21)", DrtOpen(&settings, NULL, NULL, &drt));

    BYTE key[32] = {0}, data[DRT_MAX_PAYLOAD_SIZE + 1] = {0};
    DRT_REGISTRATION reg = {{32, key}, {sizeof(data), data}};
    HDRT_REGISTRATION_CONTEXT h;
    report("DrtRegisterKey(appData of 5121 bytes)", DrtRegisterKey(drt, &reg, NULL, &h));
    reg.appData.cb = 100;
    report("DrtRegisterKey(hDrt not a DRT)", DrtRegisterKey(drt, &reg, NULL, &h));

    USHORT port = 0;
    HDRT_TRANSPORT t;
    report("DrtCreateIpv6UdpTransport(site-local)",
           DrtCreateIpv6UdpTransport(DRT_SITE_LOCAL_SCOPE, 0, 300, &port, &t));

    HANDLE ev = DrtEventCreate(TRUE, FALSE);
    DrtEventSet(ev);
    printf("  %-44s -> %s\n", "DrtEventCreate + DrtEventSet + DrtEventWait",
           DrtEventWait(ev, 0) == WAIT_OBJECT_0 ? "WAIT_OBJECT_0 (signalled)" : "unexpected");
    DrtEventClose(ev);
}

int cmd_demo(int argc, char **argv)
{
    unsigned nodes = 8;
    bool json = false;
    struct tool_ipsec ip;
    memset(&ip, 0, sizeof(ip));
    int mode = -1;
    for (int i = 1; i < argc; i++) {
        int rc = 0;
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (i + 1 < argc && tool_ipsec_option(&ip, "demo", argv[i], argv[i + 1], &rc)) {
            if (rc)
                return rc;
            i++;
        } else if (strcmp(argv[i], "--nodes") == 0 && i + 1 < argc) {
            nodes = (unsigned)strtoul(argv[++i], NULL, 10);
            if (nodes < 2 || nodes > 12) {
                fprintf(stderr, "drt demo: --nodes takes 2..12\n");
                return 2;
            }
        } else if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc) {
            DRT_SECURITY_MODE m;
            if (!tool_mode_parse(argv[++i], &m)) {
                fprintf(stderr, "drt demo: --mode takes resolve, membership or confidential\n");
                return 2;
            }
            mode = (int)m;
        } else {
            fprintf(stderr, "drt demo: unknown option '%s'\n\n", argv[i]);
            usage_demo();
            return 2;
        }
    }
    int rc = tool_ipsec_start(&ip, "demo", DEMO_PSK);
    if (rc)
        return rc;
    if (json) {
        tool_ipsec_describe(&ip, true);
        rc = demo_cloud(nodes, true, &ip, mode); /* the cloud only, as JSON lines */
        tool_ipsec_stop(&ip);
        return rc;
    }
    printf("libdrt %s demo\n", DrtLibraryVersion());
    tool_ipsec_describe(&ip, false);
    rc = demo_cloud(nodes, false, &ip, mode);
    tool_ipsec_stop(&ip);
    printf("\n---- under the hood ----\n");
    demo_key_ring();
    demo_wire_lookup();
    demo_wire_fragments();
    demo_keying(&ip);
    demo_api_checks();
    printf("\nMore: `drt sim --nodes 10000` runs a simulated cloud of any size.\n");
    return rc;
}
