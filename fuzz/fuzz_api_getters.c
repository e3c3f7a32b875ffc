/* The public API's buffer getters, told fuzzed buffer sizes, against real
 * objects: one node on ::1 opened through DrtOpen (null security, nobody
 * to bootstrap from) with keys registered and searched for by the input,
 * and the process's keying engine with key managers the input adds.
 * A second node, bootstrapped from the first, registers some of the keys,
 * so that the first has leaf-set events to hand out.
 * The input is a stream of steps, each an opcode byte and its arguments:
 * register a key (app data of a fuzzed length), start or end a search, and
 * DrtGetSearchResult, DrtGetSearchPath, DrtGetEventData,
 * DrtGetInstanceName (each after its *Size twin) with a buffer of exactly
 * the size the call is told (near the size asked for, or any 16-bit size,
 * or none), IPsecKeyManagersGet0 after adding key managers.
 * Invariants: no crash, no overflow (every buffer is its own allocation,
 * so ASan sees one byte too far), only documented codes; a call that fails
 * writes nothing; a call that succeeds was given at least the size its
 * twin asked for, and everything it wrote, pointers included, lies inside
 * the buffer and says what was registered or added. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <drt.h>
#include <fwpmu.h>

#include "../tests/api/loopback_node.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_REGS 4
#define FILL 0xA5

struct input {
    const uint8_t *p;
    size_t len;
};

static uint8_t take8(struct input *in)
{
    if (!in->len)
        return 0;
    in->len--;
    return *in->p++;
}

static uint16_t take16(struct input *in)
{
    uint16_t hi = take8(in);
    return (uint16_t)(hi << 8 | take8(in));
}

/* An invariant broken: the line says which. */
static void fail(int line)
{
    fprintf(stderr, "fuzz_api_getters.c:%d: invariant broken\n", line);
    abort();
}
#define must(ok) ((ok) ? (void)0 : fail(__LINE__))

/* --- the node -------------------------------------------------------- */

struct reg {
    HDRT_REGISTRATION_CONTEXT ctx;
    bool on_peer;
    BYTE key[32];
    BYTE *data;
    ULONG len;
};

static HDRT drt, peer;
static HANDLE drt_event, search_event;
static HDRT_SEARCH_CONTEXT search, ended_search;
static struct reg regs[MAX_REGS];
static unsigned nregs, serial;

/* A node on ::1 bootstrapping from seed_port (0: nobody). */
static HDRT open_node(USHORT seed_port, HANDLE event, USHORT *port)
{
    HDRT_TRANSPORT transport;
    DRT_SECURITY_PROVIDER *security;
    DRT_BOOTSTRAP_PROVIDER *bootstrap;
    SOCKADDR_STORAGE seed;
    lb_loopback_addr(&seed, seed_port);
    *port = 0;
    must(DrtCreateIpv6UdpTransport(DRT_GLOBAL_SCOPE, 0, 300, port, &transport) == S_OK);
    must(DrtCreateNullSecurityProvider(&security) == S_OK);
    must(DrtCreateStaticBootstrapResolver(&seed, seed_port ? 1 : 0, &bootstrap) == S_OK);
    DRT_SETTINGS s = lb_settings(transport, security, bootstrap, DRT_SECURE_RESOLVE, L"Fuzz");
    HDRT h;
    HRESULT hr = DrtOpen(&s, event, NULL, &h);
    must(hr == S_OK || hr == DRT_S_RETRY);
    return h;
}

/* The node under test, and a peer whose keys enter its leaf sets, so that
 * it has DRT_EVENT_DATA to hand out. Both live for the process. */
static void open_nodes(void)
{
    setenv("DRT_ADVERTISE_ADDRESS", "::1", 1);
    USHORT port, peer_port;
    drt_event = DrtEventCreate(FALSE, FALSE);
    search_event = DrtEventCreate(TRUE, FALSE);
    drt = open_node(0, drt_event, &port);
    peer = open_node(port, DrtEventCreate(FALSE, FALSE), &peer_port);
}

static const struct reg *reg_of(const BYTE key[32])
{
    for (unsigned i = 0; i < nregs; i++)
        if (memcmp(regs[i].key, key, 32) == 0)
            return &regs[i];
    return NULL;
}

static void unregister_oldest(void)
{
    DrtUnregisterKey(regs[0].ctx);
    free(regs[0].data);
    memmove(&regs[0], &regs[1], (--nregs) * sizeof(regs[0]));
}

static void do_register(struct input *in)
{
    if (nregs == MAX_REGS)
        unregister_oldest();
    struct reg *r = &regs[nregs];
    memset(r->key, 0, 32);
    r->key[31] = take8(in);
    serial++;
    memcpy(r->key, &serial, sizeof(serial));
    r->len = 1 + take16(in) % DRT_MAX_PAYLOAD_SIZE; /* DrtRegisterKey wants 1.. */
    r->data = malloc(r->len);
    must(r->data != NULL);
    for (ULONG i = 0; i < r->len; i++)
        r->data[i] = (BYTE)(serial + i);
    DRT_REGISTRATION dr = {{32, r->key}, {r->len, r->data}};
    r->on_peer = r->key[31] & 1;
    must(DrtRegisterKey(r->on_peer ? peer : drt, &dr, NULL, &r->ctx) == S_OK);
    nregs++;
}

static void end_search(void)
{
    if (!search)
        return;
    must(DrtEndSearch(search) == S_OK);
    ended_search = search;
    search = NULL;
}

/* A whole-ring search that may find this node's own keys; given a moment
 * to gather results, which later steps read while it may still run. */
static void do_search(struct input *in)
{
    end_search();
    BYTE lo[32], hi[32], target[32];
    memset(lo, 0, 32);
    memset(hi, 0xff, 32);
    memset(target, take8(in), 32);
    DRT_DATA dlo = {32, lo}, dhi = {32, hi}, dt = {32, target};
    DRT_SEARCH_INFO info = {.dwSize = sizeof(info), .cMaxEndpoints = 1 + take8(in) % MAX_REGS,
                            .fAllowCurrentInstanceMatch = TRUE,
                            .pMinimumKey = &dlo, .pMaximumKey = &dhi};
    must(DrtStartSearch(drt, &dt, &info, 2000, search_event, NULL, &search) == S_OK);
    DrtEventWait(search_event, 20);
}

/* --- buffers of a told size ---------------------------------------------- */

/* The size a call is told, from the size its twin asked for: the input
 * picks near it, any 16-bit size, or none (a NULL buffer). */
static ULONG told_size(struct input *in, ULONG need, bool *null_buf)
{
    uint8_t mode = take8(in);
    *null_buf = (mode & 3) == 3;
    if (mode & 1)
        return take16(in);
    int delta = (int8_t)take8(in);
    return (delta < 0 && (ULONG)-delta > need) ? 0 : need + (ULONG)delta;
}

static BYTE *buffer(ULONG size, bool null_buf)
{
    if (null_buf)
        return NULL;
    BYTE *b = malloc(size ? size : 1);
    must(b != NULL);
    memset(b, FILL, size);
    return b;
}

static bool untouched(const BYTE *b, ULONG size)
{
    for (ULONG i = 0; i < size; i++)
        if (b[i] != FILL)
            return false;
    return true;
}

static bool inside(const void *p, ULONG n, const BYTE *b, ULONG size)
{
    const BYTE *q = p;
    return q >= b && n <= size && q - b <= (ptrdiff_t)(size - n);
}

/* The codes every DRT getter may answer besides its own. */
static bool common_code(HRESULT hr)
{
    return hr == E_INVALIDARG || hr == E_HANDLE || hr == DRT_E_INSUFFICIENT_BUFFER;
}

static void do_result(struct input *in)
{
    HDRT_SEARCH_CONTEXT h = search ? search : ended_search;
    ULONG need = 0;
    HRESULT twin = DrtGetSearchResultSize(h, &need);
    bool null_buf;
    ULONG size = told_size(in, need, &null_buf);
    BYTE *b = buffer(size, null_buf);
    HRESULT hr = DrtGetSearchResult(h, size, (DRT_SEARCH_RESULT *)b);
    if (!h || h == ended_search)
        must(twin == E_HANDLE && (hr == E_HANDLE || hr == E_INVALIDARG));
    /* The search runs on the loop thread: a result may arrive between the
     * two calls, after the twin said there was none yet. */
    bool arrived = twin == DRT_E_SEARCH_IN_PROGRESS;
    if (hr != S_OK) {
        must(common_code(hr) || hr == DRT_E_SEARCH_IN_PROGRESS || hr == DRT_E_NO_MORE ||
             hr == DRT_E_TIMEOUT);
        must(!b || untouched(b, size));
        must(hr != DRT_E_INSUFFICIENT_BUFFER || (twin == S_OK && size < need) || arrived);
    } else {
        must(b && ((twin == S_OK && size >= need) || arrived));
        DRT_SEARCH_RESULT *r = (DRT_SEARCH_RESULT *)b;
        DRT_DATA k = r->registration.key, d = r->registration.appData;
        must(r->dwSize == sizeof(*r) && k.cb == 32 && inside(k.pb, 32, b, size));
        must(d.cb == 0 || inside(d.pb, d.cb, b, size));
        /* A key still registered comes back with its own app data. */
        const struct reg *reg = reg_of(k.pb);
        must(!reg || (d.cb == reg->len && (!d.cb || memcmp(d.pb, reg->data, d.cb) == 0)));
    }
    free(b);
}

static void do_path(struct input *in)
{
    HDRT_SEARCH_CONTEXT h = search ? search : ended_search;
    ULONG need = 0;
    HRESULT twin = DrtGetSearchPathSize(h, &need);
    bool null_buf;
    ULONG size = told_size(in, need, &null_buf);
    BYTE *b = buffer(size, null_buf);
    HRESULT hr = DrtGetSearchPath(h, size, (DRT_ADDRESS_LIST *)b);
    if (hr != S_OK) {
        must(common_code(hr) || hr == E_UNEXPECTED);
        must(!b || untouched(b, size));
    } else {
        DRT_ADDRESS_LIST *l = (DRT_ADDRESS_LIST *)b;
        must(twin == S_OK && size >= need && b && size >= sizeof(DRT_ADDRESS_LIST));
        must(offsetof(DRT_ADDRESS_LIST, AddressList) + l->AddressCount * sizeof(DRT_ADDRESS) <=
             size);
    }
    free(b);
}

static void do_event(struct input *in)
{
    ULONG need = 0;
    HRESULT twin = DrtGetEventDataSize(drt, &need);
    must(twin == S_OK || twin == DRT_E_NO_MORE);
    bool null_buf;
    ULONG size = told_size(in, need, &null_buf);
    BYTE *b = buffer(size, null_buf);
    HRESULT hr = DrtGetEventData(drt, size, (DRT_EVENT_DATA *)b);
    bool arrived = twin == DRT_E_NO_MORE; /* queued by the loop thread in between */
    if (hr != S_OK) {
        must(common_code(hr) || hr == DRT_E_NO_MORE);
        must(!b || untouched(b, size));
        must(hr != DRT_E_INSUFFICIENT_BUFFER || (twin == S_OK && size < need) || arrived);
    } else {
        must(b && ((twin == S_OK && size >= need) || arrived) && size >= sizeof(DRT_EVENT_DATA));
        DRT_EVENT_DATA *e = (DRT_EVENT_DATA *)b;
        switch (e->type) {
        case DRT_EVENT_LEAFSET_KEY_CHANGED:
            must(e->leafsetKeyChange.localKey.cb == 32 &&
                 inside(e->leafsetKeyChange.localKey.pb, 32, b, size) &&
                 e->leafsetKeyChange.remoteKey.cb == 32 &&
                 inside(e->leafsetKeyChange.remoteKey.pb, 32, b, size));
            break;
        case DRT_EVENT_REGISTRATION_STATE_CHANGED:
            must(e->registrationStateChange.localKey.cb == 32 &&
                 inside(e->registrationStateChange.localKey.pb, 32, b, size));
            break;
        case DRT_EVENT_STATUS_CHANGED: {
            ULONG n = e->statusChange.bootstrapAddresses.cntAddress;
            must(n == 0 || inside(e->statusChange.bootstrapAddresses.pAddresses,
                                  n * (ULONG)sizeof(SOCKADDR_STORAGE), b, size));
            break;
        }
        default:
            abort();
        }
    }
    free(b);
}

static void do_name(struct input *in)
{
    ULONG need = 0;
    must(DrtGetInstanceNameSize(drt, &need) == S_OK && need >= sizeof(wchar_t));
    bool null_buf;
    ULONG size = told_size(in, need, &null_buf);
    BYTE *b = buffer(size, null_buf);
    HRESULT hr = DrtGetInstanceName(drt, size, (PWSTR)b);
    if (hr != S_OK) {
        must(hr == E_INVALIDARG ? !b : hr == DRT_E_INSUFFICIENT_BUFFER && size < need);
        must(!b || untouched(b, size));
    } else {
        must(b && size >= need);
        wchar_t name[256];
        must(need <= sizeof(name));
        memcpy(name, b, need);
        must(name[need / sizeof(wchar_t) - 1] == 0 && wcsncmp(name, L"Fuzz", 4) == 0 &&
             (wcslen(name) + 1) * sizeof(wchar_t) == need);
    }
    free(b);
}

/* --- key managers ------------------------------------------------------- */

static void CALLBACK on_notify(const IPSEC_SA_DETAILS1 *in, const IPSEC_SA_DETAILS1 *out)
{
    (void)in;
    (void)out;
}

static void CALLBACK on_check(const IKEEXT_TRAFFIC0 *t, BOOL *will, UINT32 *w)
{
    (void)t;
    *will = FALSE;
    *w = 0;
}

static DWORD CALLBACK on_dictate(IPSEC_SA_DETAILS1 *in, IPSEC_SA_DETAILS1 *out, BOOL *gen)
{
    (void)in;
    (void)out;
    (void)gen;
    return ERROR_SUCCESS;
}

static HANDLE engine(void)
{
    static HANDLE h;
    if (!h) {
        FWPM_SESSION0 s = {.flags = FWPM_SESSION_FLAG_DYNAMIC};
        must(FwpmEngineOpen0(NULL, RPC_C_AUTHN_WINNT, NULL, &s, &h) == ERROR_SUCCESS);
    }
    return h;
}

/* A wide string of n characters from the input (NUL-free). */
static wchar_t *wide(struct input *in, unsigned n)
{
    wchar_t *s = malloc((n + 1) * sizeof(wchar_t));
    must(s != NULL);
    for (unsigned i = 0; i < n; i++)
        s[i] = (wchar_t)(1 + take8(in));
    s[n] = 0;
    return s;
}

#define MAX_KMS 4

static void do_keymgrs(struct input *in)
{
    static const IPSEC_KEY_MANAGER_CALLBACKS0 notify = {.keyNotify = on_notify};
    static const IPSEC_KEY_MANAGER_CALLBACKS0 dictate = {
        .keyDictationCheck = on_check, .keyDictation = on_dictate, .keyNotify = on_notify};
    IPSEC_KEY_MANAGER0 added[MAX_KMS];
    HANDLE handles[MAX_KMS];
    unsigned n = 0, tries = 1 + take8(in) % MAX_KMS;
    for (unsigned i = 0; i < tries; i++) {
        uint8_t shape = take8(in);
        IPSEC_KEY_MANAGER0 km = {.flags = (shape & 1) ? IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY
                                                      : (shape & 2) ? 0x80u : 0,
                                 .keyDictationTimeoutHint = take8(in) % 12};
        km.displayData.name = wide(in, take16(in) % 600);
        km.displayData.description = (shape & 4) ? NULL : wide(in, take8(in));
        DWORD rc = IPsecKeyManagerAddAndRegister0(engine(), &km, (shape & 1) ? &dictate : &notify,
                                                  &handles[n]);
        if (rc == ERROR_SUCCESS) {
            added[n++] = km;
        } else {
            must(rc == FWP_E_INVALID_FLAGS || rc == FWP_E_INVALID_INTERVAL ||
                 rc == FWP_E_INVALID_PARAMETER || rc == FWP_E_ALREADY_EXISTS);
            free(km.displayData.name);
            free(km.displayData.description);
        }
    }
    IPSEC_KEY_MANAGER0 **list = (IPSEC_KEY_MANAGER0 **)1;
    UINT32 count = 99;
    must(IPsecKeyManagersGet0(engine(), &list, &count) == ERROR_SUCCESS && count == n &&
         (n ? list != NULL : list == NULL));
    /* Listed in the order added, each with its own copy of the strings. */
    for (unsigned i = 0; i < n; i++) {
        const IPSEC_KEY_MANAGER0 *got = list[i], *want = &added[i];
        must(got->flags == want->flags &&
             got->keyDictationTimeoutHint ==
                 (want->keyDictationTimeoutHint ? want->keyDictationTimeoutHint : 5) &&
             got->displayData.name != want->displayData.name &&
             wcscmp(got->displayData.name, want->displayData.name) == 0 &&
             (want->displayData.description
                  ? got->displayData.description &&
                        wcscmp(got->displayData.description, want->displayData.description) == 0
                  : !got->displayData.description));
    }
    FwpmFreeMemory0((void **)&list);
    must(list == NULL);
    for (unsigned i = 0; i < n; i++) {
        must(IPsecKeyManagerUnregisterAndDelete0(engine(), handles[i]) == ERROR_SUCCESS);
        free(added[i].displayData.name);
        free(added[i].displayData.description);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!drt)
        open_nodes();
    struct input in = {data, size};
    for (unsigned step = 0; step < 16 && in.len; step++) {
        switch (take8(&in) % 8) {
        case 0: do_register(&in); break;
        case 1: do_search(&in); break;
        case 2: end_search(); break;
        case 3: do_result(&in); break;
        case 4: do_path(&in); break;
        case 5: do_event(&in); break;
        case 6: do_name(&in); break;
        default: do_keymgrs(&in); break;
        }
    }
    /* Every input starts from the same node: no search, no keys. */
    end_search();
    while (nregs)
        unregister_oldest();
    return 0;
}
