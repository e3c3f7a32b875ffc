/*
 * drt demo - the README's main job.
 *
 * The demo cloud (nodes on loopback registering keys and resolving each
 * other's) needs the routing engine and the UDP node, which are not built
 * yet. Until then this command runs, for real, the pieces that exist and
 * says plainly what is missing: it never prints a result it did not compute.
 */
#include <stdio.h>
#include <string.h>

#include <drt.h>

#include "cli.h"
#include "util/key256.h"
#include "util/result_text.h"

void usage_demo(void)
{
    printf("usage: drt demo\n\n"
           "Shows what libdrt does today: 256-bit key ring arithmetic, the\n"
           "[MC-DRT] wire codec on real messages, and the Windows API's argument\n"
           "checking. The multi-node demo cloud arrives with the routing engine.\n");
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
    printf("libdrt %s demo\n", DrtLibraryVersion());
    printf("Not built yet: the routing engine and the UDP node, so this demo cannot\n"
           "start a cloud of nodes. Everything below is computed live by the library.\n");
    demo_key_ring();
    demo_api_checks();
    printf("\nNext: the sans-I/O engine and simulator, then real nodes on loopback.\n");
    return 0;
}
