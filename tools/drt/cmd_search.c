/*
 * drt search - one search from a resolve-only node: it bootstraps from the
 * given seed, waits until ACTIVE, runs DrtStartSearch (exact, nearest or in
 * a range; iterative hop by hop if asked) and prints what came back.
 * Exit 0 when something was found, 1 for DRT_E_NO_MORE, 2 otherwise.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <drt.h>

#include "cli.h"
#include "tool_ipsec.h"
#include "tool_node.h"
#include "tool_pki.h"
#include "util/key256.h"
#include "util/result_text.h"

#define DEFAULT_TIMEOUT_MS 5000ul
#define MAX_TIMEOUT_MS 3600000ul
/* Past the search's own timeout, how long the tool still waits for the
 * library to say the search ended before giving up on it. */
#define GRACE_MS 2000.0
#define MAX_ITERATIVE_HOPS 256

void usage_search(void)
{
    printf("usage: drt search KEY [--nearest | --min HEX --max HEX] [--count N]\n"
           "                  [--iterative] [--path] [--timeout MS]\n"
           "                  --bootstrap HOST:PORT [--advertise ADDR] [--link-local IF]\n"
           "                  [--root FILE [--cert FILE --key FILE] [--mode MODE]]\n"
           "                  [--ipsec require|request (--psk FILE | --ipsec-auth cert)\n"
           "                   [--key-manager ...]]\n"
           "                  [--json]\n\n"
           "Opens a node that registers nothing, bootstraps from the given seed(s)\n"
           "(';'-separated), waits until it is ACTIVE and searches for KEY.\n"
           "KEY is 64 hex digits (the key as a number, most significant first) or a\n"
           "name hashed with SHA-256, as in 'drt node --register'.\n"
           "  (default)        exact match: min = max = KEY\n"
           "  --nearest        the registered keys nearest KEY, anywhere [0, 2^256-1]\n"
           "  --min/--max HEX  the keys nearest KEY within [min, max] (1..64 hex digits,\n"
           "                   most significant first); KEY must lie inside\n"
           "  --count N        up to N results (cMaxEndpoints, default 1)\n"
           "  --iterative      one hop at a time: prints each intermediate node and\n"
           "                   continues (DrtContinueSearch)\n"
           "  --path           print every node the search contacted: address, how it\n"
           "                   answered, leading bits shared with KEY, round trip\n"
           "  --timeout MS     bounds the wait for ACTIVE and the search (default 5000)\n"
           "  --advertise ADDR the address put in route entries, e.g. ::1 on loopback\n"
           "  --link-local IF  a link-local transport on interface IF (fe80:: seeds\n"
           "                   are written [fe80::1%%IF]:PORT)\n"
           "  --root FILE      the mesh's root certificate (PEM): use the derived-key\n"
           "                   security provider; only results\n"
           "                   whose records are signed under this root are returned\n"
           "  --cert/--key F   this node's certificate and private key (PEM; optional\n"
           "                   in resolve mode, where searchers need not authenticate)\n"
           "  --mode MODE      resolve (the default), membership or confidential, as\n"
           "                   the mesh uses; the last two need --cert and --key (a\n"
           "                   searcher must be a member)\n"
           "KEY may be what 'drt key --cert FILE' prints for a node's certificate.\n"
           "  --json           one JSON object per line instead of text\n");
    printf("As in 'drt node' (the searching node's transport and its key manager):\n");
    tool_ipsec_usage();
    printf("Exit: 0 when at least one result was found, 1 when there is none\n"
           "(DRT_E_NO_MORE), 2 on usage errors and every other failure.\n");
}

struct search_opts {
    const char *key_text;
    BYTE key[32];
    bool nearest, iterative, path, json;
    const char *min_text, *max_text;
    BYTE min[32], max[32];
    unsigned long count;
    unsigned long timeout_ms;
    const char *bootstrap;
    const char *advertise;
    struct tool_security sec; /* --root, --cert, --key, --mode */
    struct tool_ipsec ipsec;  /* --ipsec, --psk, --key-manager, ... */
};

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "drt search: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(drt search --help lists the options)\n");
    return 2;
}

static bool parse_bound(const char *text, BYTE out[32])
{
    drt_key k;
    if (!key256_from_hex(&k, text))
        return false;
    key256_to_bytes(&k, out);
    return true;
}

static int check_options(struct search_opts *o)
{
    if (!o->key_text)
        return usage_error("%s", "a KEY to search for is required");
    if (!tool_parse_key(o->key_text, o->key))
        return usage_error("KEY must not be empty%s", "");
    if (!o->bootstrap)
        return usage_error("%s", "--bootstrap HOST:PORT is required");
    if (o->nearest && (o->min_text || o->max_text))
        return usage_error("%s", "--nearest and --min/--max exclude each other");
    if (!o->min_text != !o->max_text)
        return usage_error("%s", "--min and --max go together");
    if (o->min_text && !parse_bound(o->min_text, o->min))
        return usage_error("--min needs 1..64 hex digits, not '%s'", o->min_text);
    if (o->max_text && !parse_bound(o->max_text, o->max))
        return usage_error("--max needs 1..64 hex digits, not '%s'", o->max_text);
    if (o->advertise && !tool_set_advertise(o->advertise))
        return usage_error("--advertise needs an IPv6 or IPv4 address, not '%s'", o->advertise);
    if (o->nearest) {
        memset(o->min, 0, 32);
        memset(o->max, 0xff, 32);
    }
    /* DrtStartSearch would refuse it too, but only after the wait for
     * ACTIVE: a mistyped range should not cost a bootstrap. */
    drt_key k, lo, hi;
    key256_from_bytes(&k, o->key);
    key256_from_bytes(&lo, o->min);
    key256_from_bytes(&hi, o->max);
    if (o->min_text && !key256_in_range(&k, &lo, &hi)) {
        tool_report_failure("search", "checking --min <= KEY <= --max", DRT_E_INVALID_SEARCH_RANGE,
                            o->json);
        return 2;
    }
    return 0;
}

static int parse_args(int argc, char **argv, struct search_opts *o)
{
    o->count = 1;
    o->timeout_ms = DEFAULT_TIMEOUT_MS;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        int bad = 0;
        if (strncmp(opt, "--", 2) != 0) {
            if (o->key_text)
                return usage_error("one KEY only ('%s' is a second one)", opt);
            o->key_text = opt;
            continue;
        }
        if (strcmp(opt, "--json") == 0) {
            o->json = true;
        } else if (strcmp(opt, "--nearest") == 0) {
            o->nearest = true;
        } else if (strcmp(opt, "--iterative") == 0) {
            o->iterative = true;
        } else if (strcmp(opt, "--path") == 0) {
            o->path = true;
        } else if (i + 1 >= argc) {
            return usage_error("%s needs a value (or is unknown)", opt);
        } else {
            const char *val = argv[++i];
            if (strcmp(opt, "--min") == 0) {
                o->min_text = val;
            } else if (strcmp(opt, "--max") == 0) {
                o->max_text = val;
            } else if (strcmp(opt, "--count") == 0) {
                if (!tool_parse_ulong(val, 1, 1000, &o->count))
                    return usage_error("--count must be 1..1000, not '%s'", val);
            } else if (strcmp(opt, "--timeout") == 0) {
                if (!tool_parse_ulong(val, 1, MAX_TIMEOUT_MS, &o->timeout_ms))
                    return usage_error("--timeout must be 1..3600000 ms, not '%s'", val);
            } else if (strcmp(opt, "--bootstrap") == 0) {
                o->bootstrap = val;
            } else if (strcmp(opt, "--advertise") == 0) {
                o->advertise = val;
            } else if (strcmp(opt, "--link-local") == 0) {
                if (!tool_set_link_local(val))
                    return usage_error("--link-local: no interface named '%s'", val);
            } else if (tool_security_option(&o->sec, opt, val)) {
                /* read by tool_security_load */
            } else if (tool_ipsec_option(&o->ipsec, "search", opt, val, &bad)) {
                if (bad)
                    return bad;
            } else {
                return usage_error("unknown option '%s'", opt);
            }
        }
    }
    return check_options(o);
}

static const char *match_name(DRT_MATCH_TYPE t)
{
    switch (t) {
    case DRT_MATCH_EXACT:
        return "EXACT";
    case DRT_MATCH_NEAR:
        return "NEAR";
    case DRT_MATCH_INTERMEDIATE:
        return "INTERMEDIATE";
    }
    return "UNKNOWN";
}

/* Waits for the node to be ACTIVE, printing nothing unless it fails: the
 * search's output is its results. */
static HRESULT wait_active(const struct tool_node *n, unsigned long timeout_ms,
                           DRT_STATUS *last)
{
    double deadline = tool_now_ms() + (double)timeout_ms;
    *last = (DRT_STATUS)-1;
    for (;;) {
        DRT_EVENT_DATA *ev;
        while ((ev = tool_next_event(n->drt)) != NULL) {
            if (ev->type == DRT_EVENT_STATUS_CHANGED)
                *last = ev->statusChange.status;
            free(ev);
        }
        if (*last == DRT_ACTIVE)
            return S_OK;
        if (*last == DRT_FAULTED)
            return DRT_E_FAULTED;
        double left = deadline - tool_now_ms();
        if (left <= 0)
            return DRT_E_TIMEOUT;
        DrtEventWait(n->event, left < 50 ? (DWORD)left + 1 : 50);
    }
}

static void print_header(const struct search_opts *o)
{
    char target[65], lo[65], hi[65];
    tool_key_hex(o->key, target);
    bool ranged = o->nearest || o->min_text;
    const char *kind = o->nearest ? "nearest" : o->min_text ? "range" : "exact";
    if (ranged) {
        tool_key_hex(o->min, lo);
        tool_key_hex(o->max, hi);
    }
    if (o->json) {
        printf("{\"event\":\"search\",\"name\":");
        tool_json_string(stdout, o->key_text, strlen(o->key_text));
        printf(",\"key\":\"%s\",\"kind\":\"%s\",\"count\":%lu,\"iterative\":%s", target, kind,
               o->count, o->iterative ? "true" : "false");
        if (ranged)
            printf(",\"min\":\"%s\",\"max\":\"%s\"", lo, hi);
        printf("}\n");
        return;
    }
    printf("search %s = %s (%s%s, up to %lu result%s)\n", o->key_text, target, kind,
           o->iterative ? ", iterative" : "", o->count, o->count == 1 ? "" : "s");
    if (ranged)
        printf("  range %s\n     .. %s\n", lo, hi);
}

static void print_result(const DRT_SEARCH_RESULT *r, unsigned index, bool json)
{
    char hex[65];
    tool_key_hex(r->registration.key.pb, hex);
    const BYTE *data = r->registration.appData.pb;
    size_t len = data ? r->registration.appData.cb : 0;
    if (r->type == DRT_MATCH_INTERMEDIATE) {
        if (json)
            printf("{\"event\":\"hop\",\"hop\":%u,\"key\":\"%s\"}\n", index, hex);
        else
            printf("hop %u: via %s\n", index, hex);
        return;
    }
    if (json) {
        printf("{\"event\":\"result\",\"index\":%u,\"match\":\"%s\",\"key\":\"%s\",\"size\":%zu",
               index, match_name(r->type), hex, len);
        tool_print_data(data, len, true);
        printf("}\n");
        return;
    }
    printf("result %u: %s %s, %zu bytes: ", index, match_name(r->type), hex, len);
    tool_print_data(data, len, false);
    printf("\n");
}

/* DRT_ADDRESS_FLAGS in words, '|' between them. */
static void flags_text(ULONG flags, char *out, size_t len, bool json)
{
    static const struct {
        ULONG bit;
        const char *name;
    } names[] = {
        {DRT_ADDRESS_FLAG_ACCEPTED, "ACCEPTED"},
        {DRT_ADDRESS_FLAG_REJECTED, "REJECTED"},
        {DRT_ADDRESS_FLAG_UNREACHABLE, "UNREACHABLE"},
        {DRT_ADDRESS_FLAG_LOOP, "LOOP"},
        {DRT_ADDRESS_FLAG_TOO_BUSY, "TOO_BUSY"},
        {DRT_ADDRESS_FLAG_BAD_VALIDATE_ID, "BAD_VALIDATE_ID"},
        {DRT_ADDRESS_FLAG_SUSPECT_UNREGISTERED_ID, "SUSPECT_UNREGISTERED_ID"},
        {DRT_ADDRESS_FLAG_INQUIRE, "INQUIRE"},
    };
    size_t used = 0;
    out[0] = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!(flags & names[i].bit))
            continue;
        int w = snprintf(out + used, len - used, json ? "%s\"%s\"" : "%s%s",
                         used ? (json ? "," : "|") : "", names[i].name);
        if (w < 0 || (size_t)w >= len - used)
            return;
        used += (size_t)w;
    }
    if (!used && !json)
        snprintf(out, len, "none");
}

static void print_path(HDRT_SEARCH_CONTEXT s, bool json)
{
    ULONG size = 0;
    HRESULT hr = DrtGetSearchPathSize(s, &size);
    DRT_ADDRESS_LIST *path = SUCCEEDED(hr) ? malloc(size) : NULL;
    if (path)
        hr = DrtGetSearchPath(s, size, path);
    if (!path || FAILED(hr)) {
        tool_report_failure("search", "DrtGetSearchPath", path ? hr : E_OUTOFMEMORY, json);
        free(path);
        return;
    }
    if (!json)
        printf("path: %lu node%s contacted\n", (unsigned long)path->AddressCount,
               path->AddressCount == 1 ? "" : "s");
    for (ULONG i = 0; i < path->AddressCount; i++) {
        const DRT_ADDRESS *a = &path->AddressList[i];
        char addr[INET6_ADDRSTRLEN + 16], flags[256];
        tool_format_address(&a->socketAddress, addr, sizeof(addr));
        flags_text(a->flags, flags, sizeof(flags), json);
        if (json)
            printf("{\"event\":\"path\",\"index\":%lu,\"address\":\"%s\",\"flags\":[%s],"
                   "\"nearness\":%ld,\"latency_ms\":%lu}\n",
                   (unsigned long)i + 1, addr, flags, (long)a->nearness,
                   (unsigned long)a->latency);
        else
            printf("  %2lu  %-46s %-24s nearness %3ld  latency %lu ms\n", (unsigned long)i + 1,
                   addr, flags, (long)a->nearness, (unsigned long)a->latency);
    }
    free(path);
}

struct outcome {
    HRESULT end; /* DRT_E_NO_MORE, DRT_E_TIMEOUT, or the failing call's code */
    const char *failed_call;
    unsigned results, hops;
};

/* Drains the search until the library says it ended: results as they
 * come, an iterative search's hops continued one by one. */
static struct outcome run_search(const struct search_opts *o, HDRT_SEARCH_CONTEXT s, HANDLE ev)
{
    struct outcome out = {DRT_E_TIMEOUT, "the search", 0, 0};
    double deadline = tool_now_ms() + (double)o->timeout_ms + GRACE_MS;
    for (;;) {
        ULONG size = 0;
        HRESULT hr = DrtGetSearchResultSize(s, &size);
        if (hr == DRT_E_SEARCH_IN_PROGRESS) {
            double left = deadline - tool_now_ms();
            if (left <= 0)
                return out;
            DrtEventWait(ev, left < 100 ? (DWORD)left + 1 : 100);
            continue;
        }
        if (hr != S_OK) {
            out.end = hr;
            out.failed_call = "DrtGetSearchResultSize";
            return out;
        }
        DRT_SEARCH_RESULT *r = malloc(size);
        if (!r) {
            out.end = E_OUTOFMEMORY;
            return out;
        }
        hr = DrtGetSearchResult(s, size, r);
        if (FAILED(hr)) {
            free(r);
            out.end = hr;
            out.failed_call = "DrtGetSearchResult";
            return out;
        }
        bool hop = r->type == DRT_MATCH_INTERMEDIATE;
        print_result(r, hop ? ++out.hops : ++out.results, o->json);
        free(r);
        fflush(stdout);
        if (hop) {
            if (out.hops > MAX_ITERATIVE_HOPS) {
                out.end = DRT_E_TIMEOUT;
                out.failed_call = "the iterative search (too many hops)";
                return out;
            }
            hr = DrtContinueSearch(s);
            if (FAILED(hr)) {
                out.end = hr;
                out.failed_call = "DrtContinueSearch";
                return out;
            }
        }
    }
}

static void print_summary(const struct outcome *r, double ms, bool json)
{
    char text[200];
    result_describe(r->end, text, sizeof(text));
    if (json) {
        const char *name = result_name(r->end);
        printf("{\"event\":\"done\",\"results\":%u,\"hops\":%u,\"ms\":%.1f,\"hr\":\"0x%08X\","
               "\"name\":%s%s%s}\n",
               r->results, r->hops, ms, (unsigned)r->end, name ? "\"" : "", name ? name : "null",
               name ? "\"" : "");
        return;
    }
    if (r->results)
        printf("%u result%s in %.1f ms\n", r->results, r->results == 1 ? "" : "s", ms);
    else if (r->end == DRT_E_NO_MORE)
        printf("not found: %s (%.1f ms)\n", text, ms);
}

static int run(const struct search_opts *o);

int cmd_search(int argc, char **argv)
{
    struct search_opts o;
    memset(&o, 0, sizeof(o));
    int rc = parse_args(argc, argv, &o);
    if (rc == 0)
        rc = tool_security_load(&o.sec, "search", o.json);
    if (rc == 0 && tool_security_enabled(&o.sec)) {
        o.ipsec.cert = tool_security_local(&o.sec);
        o.ipsec.root = &o.sec.root_ctx;
    }
    if (rc == 0)
        rc = tool_ipsec_start(&o.ipsec, "search", NULL);
    if (rc == 0) {
        tool_set_protection(&o.ipsec);
        rc = run(&o);
    }
    /* Also after a usage error: the certificates may be loaded by then. */
    tool_security_free(&o.sec);
    tool_ipsec_stop(&o.ipsec);
    return rc;
}

/* Everything after the options: the node, the wait, the search. */
static int run(const struct search_opts *o)
{
    int rc = 0;
    struct tool_node n;
    const char *failed = "";
    HRESULT hr = tool_node_open(&n, 0, o->bootstrap, 0, &o->sec, &failed);
    if (FAILED(hr)) {
        tool_report_failure("search", failed, hr, o->json);
        if (hr == E_INVALIDARG && strncmp(failed, "DrtCreateDns", 12) == 0)
            fprintf(stderr, "drt search: --bootstrap wants HOST:PORT or [IPv6]:PORT, several "
                            "separated by ';'\n");
        return 2;
    }
    DRT_STATUS status;
    hr = wait_active(&n, o->timeout_ms, &status);
    if (FAILED(hr)) {
        char what[128];
        snprintf(what, sizeof(what), "waiting for ACTIVE (last status %s, %lu ms)",
                 (int)status == -1 ? "none" : tool_status_name(status), o->timeout_ms);
        tool_report_failure("search", what, hr, o->json);
        tool_node_close(&n);
        return 2;
    }
    print_header(o);

    DRT_DATA target = {32, (BYTE *)o->key}, lo = {32, (BYTE *)o->min},
             hi = {32, (BYTE *)o->max};
    bool ranged = o->nearest || o->min_text;
    DRT_SEARCH_INFO info = {
        .dwSize = sizeof(info),
        .fIterative = o->iterative,
        .fAllowCurrentInstanceMatch = FALSE,
        .fAnyMatchInRange = FALSE,
        .cMaxEndpoints = (ULONG)o->count,
        .pMaximumKey = ranged ? &hi : NULL,
        .pMinimumKey = ranged ? &lo : NULL,
    };
    HANDLE ev = DrtEventCreate(TRUE, FALSE);
    HDRT_SEARCH_CONTEXT s = NULL;
    double t0 = tool_now_ms();
    hr = ev ? DrtStartSearch(n.drt, &target, &info, (ULONG)o->timeout_ms, ev, NULL, &s)
            : E_OUTOFMEMORY;
    if (FAILED(hr)) {
        tool_report_failure("search", "DrtStartSearch", hr, o->json);
        rc = 2;
    } else {
        struct outcome r = run_search(o, s, ev);
        double ms = tool_now_ms() - t0;
        if (o->path)
            print_path(s, o->json);
        print_summary(&r, ms, o->json);
        if (r.results)
            rc = 0;
        else if (r.end == DRT_E_NO_MORE)
            rc = 1;
        else {
            tool_report_failure("search", r.failed_call, r.end, o->json);
            rc = 2;
        }
        DrtEndSearch(s);
    }
    if (ev)
        DrtEventClose(ev);
    tool_node_close(&n);
    return rc;
}
