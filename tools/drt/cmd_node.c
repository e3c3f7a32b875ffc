/*
 * drt node - one DRT node on UDP that stays up: it registers the keys it is
 * given, prints every event the DRT reports (status with the bootstrap
 * addresses tried, leaf-set changes), and on SIGINT/SIGTERM or after
 * --exit-after unregisters its keys, closes and exits 0. With --cache FILE
 * it loads its route cache from FILE on start, when there is one, and
 * saves it there on exit (DrtLoadRouteCache / DrtSaveRouteCache): a node
 * restarted with the same file rejoins even when its seeds are gone.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include <drt.h>

#include "cli.h"
#include "tool_ipsec.h"
#include "tool_node.h"
#include "tool_pki.h"
#include "util/result_text.h"

#define WAIT_SLICE_MS 100u /* how soon a signal or the deadline is noticed */

void usage_node(void)
{
    printf("usage: drt node [--port N] [--bootstrap HOST[:PORT][;HOST[:PORT]...]]\n"
           "                [--register KEY[=DATA]]... [--data-file PATH]\n"
           "                [--advertise ADDR] [--link-local IF] [--exit-after SECONDS]\n"
           "                [--cache FILE] [--root FILE [--cert FILE --key FILE]\n"
           "                [--register-cert DATA] [--mode MODE]]\n"
           "                [--ipsec require|request (--psk FILE | --ipsec-auth cert)\n"
           "                 [--key-manager notify|dictate [--key-log FILE] [--key-file FILE]]]\n"
           "                [--json]\n\n"
           "Opens one DRT node on UDP and keeps it running until Ctrl-C (SIGINT or\n"
           "SIGTERM): then it unregisters its keys, closes and exits 0.\n"
           "  --port N          UDP port (default 0: an ephemeral port, printed)\n"
           "  --bootstrap LIST  seeds, resolved by DNS: names, IPv4, [IPv6], each with\n"
           "                    :PORT (--port is the default); absent: the first node\n"
           "  --register K[=D]  publish key K with app data D (default: K itself);\n"
           "                    repeatable. K is 64 hex digits (the key as a number,\n"
           "                    most significant first) or a name hashed with SHA-256\n"
           "  --data-file PATH  app data of the preceding --register, from a file\n"
           "                    (1..5120 bytes)\n"
           "  --link-local IF   a link-local transport on interface IF (fe80:: addresses)\n"
           "  --advertise ADDR  the address put in route entries (DRT_ADVERTISE_ADDRESS),\n"
           "                    e.g. ::1 or 127.0.0.1 for a cloud on loopback\n"
           "  --exit-after S    shut down cleanly after S seconds\n"
           "  --cache FILE      load the route cache from FILE at start if it exists (its\n"
           "                    peers are checked before use), save it there on exit\n"
           "                    (if the node was ever ACTIVE; else the file is kept)\n"
           "  --root FILE       the mesh's root certificate (PEM): use the derived-key\n"
           "                    security provider, which accepts\n"
           "                    only records signed under this root\n"
           "  --cert FILE       this node's certificate (PEM; certificates after the\n"
           "                    first are its intermediates), from 'drt cert issue'\n"
           "  --key FILE        the certificate's private key (PEM, unencrypted)\n"
           "  --register-cert D publish the key derived from --cert ('drt key' prints\n"
           "                    it), the certificate as its key context, app data D\n"
           "                    (--data-file after it reads D from a file); the key\n"
           "                    ends when the certificate does (registration event)\n"
           "  --mode MODE       the security mode: resolve (the default: records are\n"
           "                    signed), membership (every request also carries this\n"
           "                    node's certificate and signature; strangers are ignored)\n"
           "                    or confidential (membership, and app data is encrypted\n"
           "                    for each searcher); the last two need --cert and --key\n"
           "  --json            one JSON object per line instead of text\n");
    tool_ipsec_usage();
    printf("It prints each event as it happens: status changes (with the bootstrap\n"
           "addresses tried), leaf-set changes (local and remote key), and a key\n"
           "whose certificate expired (registration ... UNRESOLVEABLE).\n"
           "Keys registered with --register cannot be proven under --root: the\n"
           "derived-key provider refuses them (DRT_E_INVALID_KEY).\n"
           "Exit: 0 after a clean shutdown, 1 when a DRT call fails, 2 on usage errors.\n");
}

struct node_key {
    const char *name; /* as given on the command line */
    BYTE key[32];
    BYTE *data; /* malloc'd */
    size_t len;
    HDRT_REGISTRATION_CONTEXT reg;
    bool from_cert; /* --register-cert: key and context from --cert */
};

struct node_opts {
    unsigned long port;
    const char *bootstrap;
    const char *advertise;
    unsigned long exit_after; /* seconds; 0: run until a signal */
    const char *cache;        /* --cache FILE, or NULL */
    bool json;
    struct node_key *keys;
    size_t nkeys;
    struct tool_security sec; /* --root, --cert, --key, --mode */
    struct tool_ipsec ipsec;  /* --ipsec, --psk, --key-manager, --key-log, --key-file */
};

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "drt node: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(drt node --help lists the options)\n");
    return 2;
}

static bool set_data(struct node_key *k, const void *data, size_t len)
{
    free(k->data);
    k->data = malloc(len ? len : 1);
    if (!k->data)
        return false;
    memcpy(k->data, data, len);
    k->len = len;
    return true;
}

/* At most DRT_MAX_PAYLOAD_SIZE bytes: one more is read to tell a file that
 * is too large from one that fits exactly. */
static int read_data_file(struct node_key *k, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return usage_error("cannot open --data-file '%s'", path);
    BYTE buf[DRT_MAX_PAYLOAD_SIZE + 1];
    size_t n = fread(buf, 1, sizeof(buf), f);
    bool error = ferror(f) != 0;
    fclose(f);
    if (error)
        return usage_error("cannot read --data-file '%s'", path);
    if (n == 0 || n > DRT_MAX_PAYLOAD_SIZE)
        return usage_error("--data-file '%s' must hold 1..5120 bytes", path);
    if (!set_data(k, buf, n)) {
        fprintf(stderr, "drt node: out of memory\n");
        return 1;
    }
    return 0;
}

static int add_register(struct node_opts *o, char *arg)
{
    struct node_key *k = &o->keys[o->nkeys];
    memset(k, 0, sizeof(*k));
    /* KEY=DATA splits at the first '=': a key name cannot hold one, data can. */
    char *eq = strchr(arg, '=');
    const char *data = eq ? eq + 1 : arg;
    if (eq)
        *eq = 0;
    k->name = arg;
    if (!tool_parse_key(arg, k->key))
        return usage_error("--register needs a non-empty KEY (got '%s')", arg);
    size_t len = strlen(data);
    if (len == 0 || len > DRT_MAX_PAYLOAD_SIZE)
        return usage_error("the data of --register %s must be 1..5120 bytes", arg);
    if (!set_data(k, data, len)) {
        fprintf(stderr, "drt node: out of memory\n");
        return 1;
    }
    o->nkeys++;
    return 0;
}

/* --register-cert DATA: the key is derived once --cert is read. */
static int add_register_cert(struct node_opts *o, const char *data)
{
    struct node_key *k = &o->keys[o->nkeys];
    memset(k, 0, sizeof(*k));
    k->from_cert = true;
    k->name = "(certificate)";
    size_t len = strlen(data);
    if (len == 0 || len > DRT_MAX_PAYLOAD_SIZE)
        return usage_error("the data of --register-cert must be 1..5120 bytes%s", "");
    if (!set_data(k, data, len)) {
        fprintf(stderr, "drt node: out of memory\n");
        return 1;
    }
    o->nkeys++;
    return 0;
}

/* After --cert is loaded: the keys of --register-cert. */
static int derive_cert_keys(struct node_opts *o)
{
    PCCERT_CONTEXT local = tool_security_local(&o->sec);
    for (size_t i = 0; i < o->nkeys; i++) {
        struct node_key *k = &o->keys[i];
        if (!k->from_cert)
            continue;
        if (!local)
            return usage_error("%s needs --root, --cert and --key", "--register-cert");
        k->name = o->sec.cert_file;
        DRT_DATA key = {32, k->key};
        HRESULT hr = DrtCreateDerivedKey(local, &key);
        if (FAILED(hr)) {
            tool_report_failure("node", "DrtCreateDerivedKey(--cert)", hr, o->json);
            return 1;
        }
    }
    return 0;
}

static int parse_args(int argc, char **argv, struct node_opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "--json") == 0) {
            o->json = true;
            continue;
        }
        if (i + 1 >= argc || strncmp(opt, "--", 2) != 0)
            return usage_error(strncmp(opt, "--", 2) == 0 ? "%s needs a value"
                                                          : "unexpected argument '%s'",
                               opt);
        char *val = argv[++i];
        int rc = 0;
        if (strcmp(opt, "--port") == 0) {
            if (!tool_parse_ulong(val, 0, 65535, &o->port))
                rc = usage_error("--port must be 0..65535, not '%s'", val);
        } else if (strcmp(opt, "--bootstrap") == 0) {
            o->bootstrap = val;
        } else if (strcmp(opt, "--advertise") == 0) {
            o->advertise = val;
        } else if (strcmp(opt, "--link-local") == 0) {
            if (!tool_set_link_local(val))
                rc = usage_error("--link-local: no interface named '%s'", val);
        } else if (strcmp(opt, "--exit-after") == 0) {
            if (!tool_parse_ulong(val, 1, 86400UL * 365, &o->exit_after))
                rc = usage_error("--exit-after needs a number of seconds, not '%s'", val);
        } else if (strcmp(opt, "--cache") == 0) {
            o->cache = val;
        } else if (strcmp(opt, "--register") == 0) {
            rc = add_register(o, val);
        } else if (strcmp(opt, "--register-cert") == 0) {
            rc = add_register_cert(o, val);
        } else if (tool_security_option(&o->sec, opt, val)) {
            /* taken */
        } else if (tool_ipsec_option(&o->ipsec, "node", opt, val, &rc)) {
            /* taken; rc says whether the value was good */
        } else if (strcmp(opt, "--data-file") == 0) {
            if (o->nkeys == 0)
                rc = usage_error("%s must follow the --register it gives data to", opt);
            else
                rc = read_data_file(&o->keys[o->nkeys - 1], val);
        } else {
            rc = usage_error("unknown option '%s'", opt);
        }
        if (rc)
            return rc;
    }
    return 0;
}

static void print_listening(const struct node_opts *o, const struct tool_node *n)
{
    char name[DRT_MAX_INSTANCE_PREFIX_LEN + 64] = "";
    WCHAR wname[DRT_MAX_INSTANCE_PREFIX_LEN + 64];
    ULONG size = 0;
    if (DrtGetInstanceNameSize(n->drt, &size) == S_OK && size <= sizeof(wname) &&
        DrtGetInstanceName(n->drt, size, wname) == S_OK) {
        /* Our prefix is ASCII and the rest is digits and '_'. */
        size_t i = 0;
        for (; wname[i] && i + 1 < sizeof(name); i++)
            name[i] = wname[i] < 0x80 ? (char)wname[i] : '?';
        name[i] = 0;
    }
    const char *adv = o->advertise ? o->advertise : "(the host's first usable address)";
    if (o->json) {
        printf("{\"event\":\"listening\",\"port\":%u,\"instance\":", (unsigned)n->port);
        tool_json_string(stdout, name, strlen(name));
        if (n->derived_security) {
            printf(",\"security\":\"derived-key\",\"mode\":\"%s\",\"root\":",
                   tool_mode_name(o->sec.security_mode));
            tool_json_string(stdout, o->sec.root_file, strlen(o->sec.root_file));
        }
        printf(",\"advertise\":");
        if (o->advertise)
            tool_json_string(stdout, o->advertise, strlen(o->advertise));
        else
            printf("null");
        printf(",\"bootstrap\":");
        if (o->bootstrap)
            tool_json_string(stdout, o->bootstrap, strlen(o->bootstrap));
        else
            printf("null");
        printf("}\n");
    } else {
        printf("node %s listening on UDP port %u, advertising %s\n", name, (unsigned)n->port, adv);
        printf("bootstrap: %s\n", o->bootstrap ? o->bootstrap : "none (first node of a cloud)");
        if (n->derived_security)
            printf("security: derived-key provider, --mode %s, root %s%s%s\n",
                   tool_mode_name(o->sec.security_mode), o->sec.root_file, o->sec.cert_file ? ", certificate " : "",
                   o->sec.cert_file ? o->sec.cert_file : "");
        if (n->open_hr == DRT_S_RETRY)
            printf("no seed found yet (DRT_S_RETRY): ALONE until another node joins\n");
    }
    fflush(stdout);
}

static void print_registered(const struct node_key *k, bool json)
{
    char hex[65];
    tool_key_hex(k->key, hex);
    if (json) {
        printf("{\"event\":\"registered\",\"name\":");
        tool_json_string(stdout, k->name, strlen(k->name));
        printf(",\"key\":\"%s\",\"size\":%zu", hex, k->len);
        tool_print_data(k->data, k->len, true);
        printf("}\n");
    } else {
        printf("registered %s = %s, data (%zu bytes): ", k->name, hex, k->len);
        tool_print_data(k->data, k->len, false);
        printf("\n");
    }
    fflush(stdout);
}

/* Whether the DRT was ever ACTIVE: only then is its route cache worth
 * saving over the file (--cache). */
static bool ever_active;

static void drain_events(const struct tool_node *n, bool json)
{
    /* Bounded so that a flood of events cannot keep a signal waiting. */
    for (int i = 0; i < 1000; i++) {
        DRT_EVENT_DATA *ev = tool_next_event(n->drt);
        if (!ev)
            return;
        if (ev->type == DRT_EVENT_STATUS_CHANGED && ev->statusChange.status == DRT_ACTIVE)
            ever_active = true;
        tool_print_event(ev, json);
        free(ev);
    }
}

/* What became of --cache FILE: "loaded", "saved", "kept", or why not.
 * No outcome stops the node: without the file it bootstraps as usual. */
static void print_cache(const struct node_opts *o, const char *action, HRESULT hr)
{
    char text[160];
    const char *what = strcmp(action, "kept") == 0 ? "kept (the node was never ACTIVE)"
                       : SUCCEEDED(hr)              ? action
                       : hr == HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)
                           ? "none yet"
                           : result_describe(hr, text, sizeof(text));
    if (o->json) {
        printf("{\"event\":\"route_cache\",\"action\":\"%s\",\"ok\":%s,\"file\":", action,
               SUCCEEDED(hr) ? "true" : "false");
        tool_json_string(stdout, o->cache, strlen(o->cache));
        printf(",\"result\":");
        tool_json_string(stdout, what, strlen(what));
        printf("}\n");
    } else {
        printf("route cache %s: %s%s\n", o->cache, what,
               FAILED(hr) && action[0] == 'l' ? " (bootstrapping as usual)" : "");
    }
    fflush(stdout);
}

static int register_keys(struct node_opts *o, struct tool_node *n)
{
    for (size_t i = 0; i < o->nkeys; i++) {
        struct node_key *k = &o->keys[i];
        DRT_REGISTRATION reg = {{32, k->key}, {(ULONG)k->len, k->data}};
        /* A --register-cert key is proven by the certificate it came from. */
        PVOID ctx = k->from_cert ? (PVOID)tool_security_local(&o->sec) : NULL;
        HRESULT hr = DrtRegisterKey(n->drt, &reg, ctx, &k->reg);
        if (FAILED(hr)) {
            char what[96];
            snprintf(what, sizeof(what), "DrtRegisterKey(%.64s)", k->name);
            tool_report_failure("node", what, hr, o->json);
            return 1;
        }
        print_registered(k, o->json);
    }
    return 0;
}

/* Signals are blocked while the library starts its loop thread, so that
 * thread inherits the mask and a Ctrl-C always reaches this one. */
static void block_stop_signals(sigset_t *set, bool block)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, set, NULL);
}

static void install_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static void run_until_stopped(const struct node_opts *o, const struct tool_node *n)
{
    double deadline = o->exit_after ? tool_now_ms() + (double)o->exit_after * 1000.0 : 0;
    while (!stop_signal && (!deadline || tool_now_ms() < deadline)) {
        DrtEventWait(n->event, WAIT_SLICE_MS);
        drain_events(n, o->json);
    }
}

static void shut_down(struct node_opts *o, struct tool_node *n, const char *why)
{
    size_t registered = 0;
    for (size_t i = 0; i < o->nkeys; i++)
        registered += o->keys[i].reg != NULL;
    if (o->json)
        printf("{\"event\":\"stopping\",\"reason\":\"%s\",\"keys\":%zu}\n", why, registered);
    else
        printf("stopping (%s): unregistering %zu key(s), closing\n", why, registered);
    fflush(stdout);
    /* Saved while the DRT still knows its peers (unregistering changes
     * only our own keys, which the file never holds). A node that never
     * got in (its peers were down) keeps the old file: it is still the
     * best guess for the next start. */
    if (o->cache && n->drt && ever_active)
        print_cache(o, "saved", DrtSaveRouteCache(n->drt, o->cache));
    else if (o->cache && n->drt)
        print_cache(o, "kept", S_OK);
    for (size_t i = 0; i < o->nkeys; i++) {
        if (o->keys[i].reg)
            DrtUnregisterKey(o->keys[i].reg);
        o->keys[i].reg = NULL;
    }
    if (n->drt)
        drain_events(n, o->json);
    tool_node_close(n);
}

int cmd_node(int argc, char **argv)
{
    struct node_opts o;
    memset(&o, 0, sizeof(o));
    o.keys = calloc((size_t)argc, sizeof(*o.keys));
    if (!o.keys) {
        fprintf(stderr, "drt node: out of memory\n");
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0); /* events must show up at once in pipes and logs */
    int rc = parse_args(argc, argv, &o);
    if (rc == 0 && o.advertise && !tool_set_advertise(o.advertise))
        rc = usage_error("--advertise needs an IPv6 or IPv4 address, not '%s'", o.advertise);
    if (rc == 0)
        rc = tool_security_load(&o.sec, "node", o.json);
    if (rc == 0)
        rc = derive_cert_keys(&o);
    if (rc == 0 && tool_security_enabled(&o.sec)) {
        o.ipsec.cert = tool_security_local(&o.sec);
        o.ipsec.root = &o.sec.root_ctx;
    }
    if (rc == 0)
        rc = tool_ipsec_start(&o.ipsec, "node", NULL);
    if (rc)
        goto out;
    tool_set_protection(&o.ipsec);

    sigset_t set;
    block_stop_signals(&set, true);
    stop_signal = 0;
    install_handlers();

    struct tool_node n;
    const char *failed = "";
    HRESULT hr =
        tool_node_open(&n, (USHORT)o.port, o.bootstrap, (USHORT)o.port, &o.sec, &failed);
    if (FAILED(hr)) {
        tool_report_failure("node", failed, hr, o.json);
        if (hr == E_INVALIDARG && o.bootstrap)
            fprintf(stderr, "drt node: --bootstrap wants HOST:PORT, [IPv6]:PORT, or HOST with "
                            "--port; hosts separated by ';'\n");
        rc = 1;
        block_stop_signals(&set, false);
        goto out;
    }
    print_listening(&o, &n);
    tool_ipsec_describe(&o.ipsec, o.json);
    if (o.cache)
        print_cache(&o, "loaded", DrtLoadRouteCache(n.drt, o.cache));
    drain_events(&n, o.json);
    rc = register_keys(&o, &n);
    block_stop_signals(&set, false);
    if (rc == 0)
        run_until_stopped(&o, &n);
    const char *why = rc ? "a registration failed"
                      : stop_signal == SIGINT  ? "SIGINT"
                      : stop_signal == SIGTERM ? "SIGTERM"
                                               : "--exit-after";
    shut_down(&o, &n, why);
    if (o.json)
        printf("{\"event\":\"stopped\",\"status\":%d}\n", rc);
    else
        printf("stopped\n");
out:
    for (size_t i = 0; i < o.nkeys; i++)
        free(o.keys[i].data);
    free(o.keys);
    tool_security_free(&o.sec);
    tool_ipsec_stop(&o.ipsec);
    return rc;
}
