/*
 * tool_node.c - one DRT instance for the tool's commands, through the
 * public API only, and the printing of what it reports.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include "tool_node.h"
#include "tool_ipsec.h"
#include "tool_pki.h"
#include "util/key256.h"
#include "util/result_text.h"

/* The DNS resolver accepts up to 64 hosts of up to 253 characters; a list
 * longer than this is refused before it is converted. */
#define MAX_BOOTSTRAP_CHARS 16384

bool tool_parse_key(const char *text, BYTE key[32])
{
    size_t len = strlen(text);
    if (len == 0)
        return false;
    if (len == DRT_KEY_HEX_LEN && strspn(text, "0123456789abcdefABCDEF") == len) {
        drt_key k;
        if (!key256_from_hex(&k, text))
            return false;
        key256_to_bytes(&k, key);
        return true;
    }
    unsigned int out = 32;
    return EVP_Digest(text, len, key, &out, EVP_sha256(), NULL) == 1 && out == 32;
}

bool tool_parse_ulong(const char *text, unsigned long min, unsigned long max,
                      unsigned long *out)
{
    if (!text || !*text || *text == '-' || *text == '+')
        return false;
    char *end;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

bool tool_set_advertise(const char *addr)
{
    struct in6_addr a6;
    struct in_addr a4;
    if (inet_pton(AF_INET6, addr, &a6) != 1 && inet_pton(AF_INET, addr, &a4) != 1)
        return false;
    return setenv("DRT_ADVERTISE_ADDRESS", addr, 1) == 0;
}

/* The resolver takes a wide string. Converting by hand keeps the process
 * locale out of it; the resolver refuses non-ASCII hosts anyway (they must
 * be given in their xn-- form), so nothing is lost. */
static wchar_t *ascii_to_wide(const char *s)
{
    size_t len = strlen(s);
    if (len > MAX_BOOTSTRAP_CHARS)
        return NULL;
    wchar_t *w = malloc((len + 1) * sizeof(*w));
    if (!w)
        return NULL;
    for (size_t i = 0; i <= len; i++)
        w[i] = (wchar_t)(unsigned char)s[i];
    return w;
}

static HRESULT make_bootstrap(struct tool_node *n, const char *bootstrap, USHORT default_port)
{
    if (!bootstrap) {
        n->dns_bootstrap = false;
        return DrtCreateStaticBootstrapResolver(NULL, 0, &n->bootstrap);
    }
    wchar_t *hosts = ascii_to_wide(bootstrap);
    if (!hosts)
        return E_INVALIDARG;
    n->dns_bootstrap = true;
    HRESULT hr = DrtCreateDnsBootstrapResolver(default_port, hosts, &n->bootstrap);
    free(hosts);
    return hr;
}

static unsigned link_local_index; /* 0: global scope */
static const struct tool_ipsec *protection;

void tool_set_protection(const struct tool_ipsec *ip)
{
    protection = ip;
}

bool tool_set_link_local(const char *ifname)
{
    link_local_index = if_nametoindex(ifname);
    return link_local_index != 0;
}

/* The derived-key provider over the loaded root (and the node's own
 * certificate when given), or the null provider. */
static HRESULT make_security(struct tool_node *n, const struct tool_security *sec,
                             const char **failed)
{
    if (sec && tool_security_enabled(sec)) {
        n->derived_security = true;
        *failed = "DrtCreateDerivedKeySecurityProvider";
        return DrtCreateDerivedKeySecurityProvider(&sec->root_ctx, tool_security_local(sec),
                                                   &n->security);
    }
    *failed = "DrtCreateNullSecurityProvider";
    return DrtCreateNullSecurityProvider(&n->security);
}

HRESULT tool_node_open(struct tool_node *n, USHORT port, const char *bootstrap,
                       USHORT default_port, const struct tool_security *sec,
                       const char **failed)
{
    memset(n, 0, sizeof(*n));
    n->port = port;
    HRESULT hr = DrtCreateIpv6UdpTransport(link_local_index ? DRT_LINK_LOCAL_SCOPE
                                                            : DRT_GLOBAL_SCOPE,
                                           link_local_index, 300, &n->port, &n->transport);
    if (FAILED(hr)) {
        *failed = "DrtCreateIpv6UdpTransport";
        goto fail;
    }
    if (protection && FAILED(hr = tool_ipsec_protect(protection, n->transport, NULL, NULL,
                                                     failed)))
        goto fail;
    if (FAILED(hr = make_security(n, sec, failed)))
        goto fail;
    if (FAILED(hr = make_bootstrap(n, bootstrap, default_port))) {
        *failed = bootstrap ? "DrtCreateDnsBootstrapResolver" : "DrtCreateStaticBootstrapResolver";
        goto fail;
    }
    n->event = DrtEventCreate(FALSE, FALSE);
    if (!n->event) {
        hr = E_OUTOFMEMORY;
        *failed = "DrtEventCreate";
        goto fail;
    }
    DRT_SETTINGS s = {
        .dwSize = sizeof(DRT_SETTINGS),
        .cbKey = 32,
        .bProtocolMajorVersion = 6,
        .bProtocolMinorVersion = 0x65,
        .ulMaxRoutingAddresses = 4,
        .pwzDrtInstancePrefix = L"drt",
        .hTransport = n->transport,
        .pSecurityProvider = n->security,
        .pBootstrapProvider = n->bootstrap,
        .eSecurityMode = sec && tool_security_enabled(sec) ? sec->security_mode
                                                           : DRT_SECURE_RESOLVE,
    };
    hr = DrtOpen(&s, n->event, NULL, &n->drt);
    if (FAILED(hr)) {
        *failed = "DrtOpen";
        goto fail;
    }
    n->open_hr = hr;
    return hr;
fail:
    tool_node_close(n);
    return hr;
}

void tool_node_close(struct tool_node *n)
{
    if (n->drt)
        DrtClose(n->drt);
    if (n->transport)
        DrtDeleteIpv6UdpTransport(n->transport);
    if (n->dns_bootstrap)
        DrtDeleteDnsBootstrapResolver(n->bootstrap);
    else
        DrtDeleteStaticBootstrapResolver(n->bootstrap);
    if (n->derived_security)
        DrtDeleteDerivedKeySecurityProvider(n->security);
    else
        DrtDeleteNullSecurityProvider(n->security);
    if (n->event)
        DrtEventClose(n->event);
    memset(n, 0, sizeof(*n));
}

DRT_EVENT_DATA *tool_next_event(HDRT drt)
{
    /* The size can grow between the two calls only if another thread
     * drains the queue; this tool has one reader, but retry all the same. */
    for (int attempt = 0; attempt < 4; attempt++) {
        ULONG len = 0;
        if (DrtGetEventDataSize(drt, &len) != S_OK || len < sizeof(DRT_EVENT_DATA))
            return NULL;
        DRT_EVENT_DATA *ev = malloc(len);
        if (!ev)
            return NULL;
        HRESULT hr = DrtGetEventData(drt, len, ev);
        if (hr == S_OK)
            return ev;
        free(ev);
        if (hr != DRT_E_INSUFFICIENT_BUFFER)
            return NULL;
    }
    return NULL;
}

const char *tool_status_name(DRT_STATUS status)
{
    switch (status) {
    case DRT_ACTIVE:
        return "ACTIVE";
    case DRT_ALONE:
        return "ALONE";
    case DRT_NO_NETWORK:
        return "NO_NETWORK";
    case DRT_FAULTED:
        return "FAULTED";
    }
    return "UNKNOWN";
}

void tool_key_hex(const BYTE key[32], char out[65])
{
    drt_key k;
    key256_from_bytes(&k, key);
    key256_to_hex(&k, out);
}

void tool_format_address(const SOCKADDR_STORAGE *sa, char *out, size_t len)
{
    char ip[INET6_ADDRSTRLEN];
    if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
        snprintf(out, len, "[%s]:%u", ip, (unsigned)ntohs(s6->sin6_port));
    } else if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
        snprintf(out, len, "%s:%u", ip, (unsigned)ntohs(s4->sin_port));
    } else {
        snprintf(out, len, "?");
    }
}

void tool_json_string(FILE *f, const char *s, size_t len)
{
    fputc('"', f);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

bool tool_data_is_text(const BYTE *data, size_t len)
{
    if (len && data[len - 1] == 0)
        len--;
    for (size_t i = 0; i < len; i++)
        if (data[i] < 0x20 || data[i] > 0x7e)
            return false;
    return true;
}

void tool_print_data(const BYTE *data, size_t len, bool json)
{
    if (tool_data_is_text(data, len)) {
        size_t text_len = len && data[len - 1] == 0 ? len - 1 : len;
        if (json) {
            printf(",\"text\":");
            tool_json_string(stdout, (const char *)data, text_len);
        } else {
            printf("%.*s", (int)text_len, (const char *)data);
        }
        return;
    }
    printf(json ? ",\"hex\":\"" : "hex:");
    for (size_t i = 0; i < len; i++)
        printf("%02x", data[i]);
    if (json)
        printf("\"");
}

static void print_status(const DRT_EVENT_DATA *ev, bool json)
{
    ULONG n = ev->statusChange.bootstrapAddresses.cntAddress;
    const SOCKADDR_STORAGE *addrs = ev->statusChange.bootstrapAddresses.pAddresses;
    char a[INET6_ADDRSTRLEN + 16];
    if (json) {
        printf("{\"event\":\"status\",\"status\":\"%s\",\"hr\":\"0x%08X\",\"bootstrap\":[",
               tool_status_name(ev->statusChange.status), (unsigned)ev->hr);
        for (ULONG i = 0; addrs && i < n; i++) {
            tool_format_address(&addrs[i], a, sizeof(a));
            printf("%s\"%s\"", i ? "," : "", a);
        }
        printf("]}\n");
        return;
    }
    printf("status %s", tool_status_name(ev->statusChange.status));
    if (FAILED(ev->hr)) {
        char text[160];
        printf(" (%s)", result_describe(ev->hr, text, sizeof(text)));
    }
    if (ev->statusChange.status == DRT_ALONE)
        printf(n ? "; bootstrap tried" : "; no bootstrap address");
    for (ULONG i = 0; addrs && i < n; i++) {
        tool_format_address(&addrs[i], a, sizeof(a));
        printf(" %s", a);
    }
    printf("\n");
}

void tool_print_event(const DRT_EVENT_DATA *ev, bool json)
{
    char local[65], remote[65];
    switch (ev->type) {
    case DRT_EVENT_STATUS_CHANGED:
        print_status(ev, json);
        break;
    case DRT_EVENT_LEAFSET_KEY_CHANGED: {
        const char *change =
            ev->leafsetKeyChange.change == DRT_LEAFSET_KEY_ADDED ? "added" : "deleted";
        tool_key_hex(ev->leafsetKeyChange.localKey.pb, local);
        tool_key_hex(ev->leafsetKeyChange.remoteKey.pb, remote);
        if (json)
            printf("{\"event\":\"leafset\",\"change\":\"%s\",\"local\":\"%s\",\"remote\":\"%s\"}\n",
                   change, local, remote);
        else
            printf("leaf set of %s: %s %s\n", local, change, remote);
        break;
    }
    case DRT_EVENT_REGISTRATION_STATE_CHANGED:
        tool_key_hex(ev->registrationStateChange.localKey.pb, local);
        if (json)
            printf("{\"event\":\"registration\",\"key\":\"%s\",\"state\":\"UNRESOLVEABLE\"}\n",
                   local);
        else
            printf("registration %s is UNRESOLVEABLE\n", local);
        break;
    default:
        if (json)
            printf("{\"event\":\"unknown\",\"type\":%d}\n", (int)ev->type);
        else
            printf("event of unknown type %d\n", (int)ev->type);
        break;
    }
    fflush(stdout);
}

void tool_report_failure(const char *cmd, const char *what, HRESULT hr, bool json)
{
    char text[200];
    result_describe(hr, text, sizeof(text));
    fprintf(stderr, "drt %s: %s failed: %s\n", cmd, what, text);
    if (json) {
        const char *name = result_name(hr);
        printf("{\"event\":\"error\",\"call\":\"%s\",\"hr\":\"0x%08X\",\"name\":", what,
               (unsigned)hr);
        if (name)
            printf("\"%s\"", name);
        else
            printf("null");
        printf(",\"message\":");
        tool_json_string(stdout, text, strlen(text));
        printf("}\n");
        fflush(stdout);
    }
}

double tool_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}
