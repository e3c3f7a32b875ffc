/*
 * bootstrap_dns.c - DrtCreateDnsBootstrapResolver: seeds from host names
 * resolved with getaddrinfo each time the DRT resolves (docs/API.md,
 * "Bootstrap resolvers").
 *
 * The host list is parsed once, at create time, so a malformed list is
 * E_INVALIDARG there rather than a silent empty resolve later.
 */
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "api/bootstrap_resolver.h"
#include "util/export.h"

/* Caps on the caller's string, so parsing and resolving stay bounded. */
#define DNS_MAX_HOSTS 64
#define DNS_MAX_NAME 253 /* longest DNS name in text form */

struct dns_host {
    char *name; /* ASCII, as getaddrinfo takes it */
    USHORT port;
};

struct dns_source {
    size_t n;
    struct dns_host host[];
};

static bool is_separator(wchar_t c)
{
    return c == L' ' || c == L'\t' || c == L';';
}

/* Printable ASCII only: internationalised names must be given in their
 * "xn--" form, since getaddrinfo takes bytes and the locale is not ours. */
static bool is_host_char(wchar_t c)
{
    return c > 0x20 && c < 0x7f && !is_separator(c);
}

static bool parse_port(const wchar_t *s, size_t len, USHORT *port)
{
    if (len == 0 || len > 5)
        return false;
    unsigned long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < L'0' || s[i] > L'9')
            return false;
        v = v * 10 + (unsigned long)(s[i] - L'0');
    }
    if (v == 0 || v > 65535)
        return false;
    *port = (USHORT)v;
    return true;
}

/* One token: "host", "host:port", "[v6]", "[v6]:port" or a bare IPv6
 * literal (more than one ':' and no brackets, so no port). */
static HRESULT parse_host(const wchar_t *s, size_t len, USHORT default_port,
                          struct dns_host *out)
{
    const wchar_t *name = s;
    size_t name_len = len;
    USHORT port = default_port;

    if (s[0] == L'[') {
        const wchar_t *close = wmemchr(s, L']', len);
        if (!close || close == s + 1)
            return E_INVALIDARG;
        name = s + 1;
        name_len = (size_t)(close - name);
        size_t rest = len - (size_t)(close + 1 - s);
        if (rest > 0 && (close[1] != L':' || !parse_port(close + 2, rest - 1, &port)))
            return E_INVALIDARG;
    } else {
        const wchar_t *colon = wmemchr(s, L':', len);
        if (colon && !wmemchr(colon + 1, L':', len - (size_t)(colon + 1 - s))) {
            name_len = (size_t)(colon - s);
            if (!parse_port(colon + 1, len - name_len - 1, &port))
                return E_INVALIDARG;
        }
    }
    if (name_len == 0 || name_len > DNS_MAX_NAME || port == 0)
        return E_INVALIDARG;
    char *ascii = malloc(name_len + 1);
    if (!ascii)
        return E_OUTOFMEMORY;
    for (size_t i = 0; i < name_len; i++)
        ascii[i] = (char)name[i]; /* every character checked printable ASCII */
    ascii[name_len] = 0;
    out->name = ascii;
    out->port = port;
    return S_OK;
}

static void source_free(struct dns_source *src)
{
    if (!src)
        return;
    for (size_t i = 0; i < src->n; i++)
        free(src->host[i].name);
    free(src);
}

static HRESULT source_parse(PCWSTR list, USHORT default_port, struct dns_source **out)
{
    *out = NULL;
    size_t tokens = 0;
    for (const wchar_t *p = list; *p; p++) {
        if (!is_separator(*p) && !is_host_char(*p))
            return E_INVALIDARG;
        if (!is_separator(*p) && (p == list || is_separator(p[-1])))
            tokens++;
    }
    if (tokens == 0 || tokens > DNS_MAX_HOSTS)
        return E_INVALIDARG;

    struct dns_source *src = calloc(1, sizeof(*src) + tokens * sizeof(src->host[0]));
    if (!src)
        return E_OUTOFMEMORY;
    const wchar_t *p = list;
    while (*p) {
        while (is_separator(*p))
            p++;
        if (!*p)
            break;
        const wchar_t *start = p;
        while (*p && !is_separator(*p))
            p++;
        HRESULT hr = parse_host(start, (size_t)(p - start), default_port, &src->host[src->n]);
        if (hr != S_OK) {
            source_free(src);
            return hr;
        }
        src->n++;
    }
    *out = src;
    return S_OK;
}

static HRESULT dns_gather(struct bootstrap_resolver *r, struct bootstrap_resolve *rs,
                          struct bootstrap_addrs *out)
{
    const struct dns_source *src = r->source;
    /* No AI_ADDRCONFIG: the transport is dual-stack, and a host whose only
     * configured IPv6 address is ::1 must still get its IPv6 answers. */
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM};
    for (size_t i = 0; i < src->n; i++) {
        if (bootstrap_resolve_cancelled(rs))
            break;
        struct addrinfo *res = NULL;
        /* A host that does not resolve is skipped: the others may. */
        if (getaddrinfo(src->host[i].name, NULL, &hints, &res) != 0)
            continue;
        bool room = true;
        for (const struct addrinfo *ai = res; ai && room; ai = ai->ai_next)
            room = bootstrap_addrs_add(out, ai->ai_addr, ai->ai_addrlen, src->host[i].port);
        freeaddrinfo(res);
        if (!room)
            break;
    }
    return S_OK;
}

DRT_EXPORT HRESULT WINAPI DrtCreateDnsBootstrapResolver(USHORT port, PCWSTR pwszAddress,
                                                        DRT_BOOTSTRAP_PROVIDER **ppModule)
{
    if (!ppModule)
        return E_INVALIDARG;
    *ppModule = NULL;
    if (!pwszAddress || !*pwszAddress)
        return E_INVALIDARG;

    struct dns_source *src;
    HRESULT hr = source_parse(pwszAddress, port, &src);
    if (hr != S_OK)
        return hr;
    struct bootstrap_resolver *r = malloc(sizeof(*r));
    if (!r) {
        source_free(src);
        return E_OUTOFMEMORY;
    }
    hr = bootstrap_resolver_init(r, BOOTSTRAP_KIND_DNS, dns_gather);
    if (hr != S_OK) {
        free(r);
        source_free(src);
        return hr;
    }
    r->source = src;
    *ppModule = &r->provider;
    return S_OK;
}

DRT_EXPORT void WINAPI DrtDeleteDnsBootstrapResolver(DRT_BOOTSTRAP_PROVIDER *pResolver)
{
    struct bootstrap_resolver *r = bootstrap_resolver_from(pResolver, BOOTSTRAP_KIND_DNS);
    if (!r)
        return;
    source_free(r->source);
    bootstrap_resolver_fini(r);
    free(r);
}
