/*
 * test_bootstrap_resolvers.c - the DNS and static bootstrap resolvers,
 * driven through their DRT_BOOTSTRAP_PROVIDER tables as the DRT drives
 * them (reference §5.2). Name resolution stays on loopback.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <pthread.h>
#include <time.h>

#include <arpa/inet.h>

#include <cmocka.h>

#include <drt.h>

#define MAX_SEEN 64

/* What the resolve callback saw, in order. */
struct seen {
    int calls;
    HRESULT hr[8];
    int batch_sizes[8];
    BOOL fatal[8];
    SOCKADDR_IN6 addr[MAX_SEEN];
    int n_addr;
    /* for the EndResolve-from-callback tests */
    DRT_BOOTSTRAP_PROVIDER *provider;
    DRT_BOOTSTRAP_RESOLVE_CONTEXT end_ctx;
    HRESULT end_on; /* end the resolve when this code arrives */
};

static void CALLBACK record(HRESULT hr, PVOID ctx, SOCKET_ADDRESS_LIST *list, BOOL fatal)
{
    struct seen *s = ctx;
    if (s->calls < 8) {
        s->hr[s->calls] = hr;
        s->fatal[s->calls] = fatal;
        s->batch_sizes[s->calls] = list ? list->iAddressCount : -1;
    }
    s->calls++;
    if (list) {
        for (int i = 0; i < list->iAddressCount; i++) {
            assert_int_equal(list->Address[i].iSockaddrLength, sizeof(SOCKADDR_IN6));
            assert_int_equal(list->Address[i].lpSockaddr->sa_family, AF_INET6);
            if (s->n_addr < MAX_SEEN)
                memcpy(&s->addr[s->n_addr++], list->Address[i].lpSockaddr, sizeof(SOCKADDR_IN6));
        }
    }
    if (s->end_ctx && hr == s->end_on) {
        s->provider->EndResolve(s->provider->pvContext, s->end_ctx);
        s->end_ctx = NULL;
    }
}

/* InitResolve + IssueResolve + EndResolve, as the DRT does it. */
static void resolve(DRT_BOOTSTRAP_PROVIDER *p, ULONG max, struct seen *s)
{
    DRT_BOOTSTRAP_RESOLVE_CONTEXT ctx = NULL;
    BOOL fatal = TRUE;
    memset(s, 0, sizeof(*s));
    assert_int_equal(p->InitResolve(p->pvContext, FALSE, 5000, max, &ctx, &fatal), S_OK);
    assert_false(fatal);
    assert_non_null(ctx);
    fatal = TRUE;
    assert_int_equal(p->IssueResolve(p->pvContext, s, record, ctx, &fatal), S_OK);
    assert_false(fatal);
    p->EndResolve(p->pvContext, ctx);
}

static void assert_finished_with_one_no_more(const struct seen *s)
{
    assert_true(s->calls >= 1);
    for (int i = 0; i < s->calls - 1; i++) {
        assert_int_equal(s->hr[i], S_OK);
        assert_true(s->batch_sizes[i] > 0);
        assert_false(s->fatal[i]);
    }
    assert_int_equal(s->hr[s->calls - 1], DRT_E_NO_MORE);
    assert_int_equal(s->batch_sizes[s->calls - 1], -1);
    assert_false(s->fatal[s->calls - 1]);
}

static SOCKADDR_IN6 v6(const char *text, USHORT port)
{
    SOCKADDR_IN6 a;
    memset(&a, 0, sizeof(a));
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    assert_int_equal(inet_pton(AF_INET6, text, &a.sin6_addr), 1);
    return a;
}

static bool seen_has(const struct seen *s, const char *text, USHORT port)
{
    SOCKADDR_IN6 want = v6(text, port);
    for (int i = 0; i < s->n_addr; i++)
        if (s->addr[i].sin6_port == want.sin6_port &&
            memcmp(&s->addr[i].sin6_addr, &want.sin6_addr, 16) == 0)
            return true;
    return false;
}

static DRT_BOOTSTRAP_PROVIDER *dns(USHORT port, PCWSTR hosts)
{
    DRT_BOOTSTRAP_PROVIDER *p = NULL;
    assert_int_equal(DrtCreateDnsBootstrapResolver(port, hosts, &p), S_OK);
    assert_non_null(p);
    assert_int_equal(p->Attach(p->pvContext), S_OK);
    return p;
}

static void dns_done(DRT_BOOTSTRAP_PROVIDER *p)
{
    p->Detach(p->pvContext);
    DrtDeleteDnsBootstrapResolver(p);
}

/* ---- creation ---------------------------------------------------------- */

static void test_dns_resolver_has_every_callback(void **state)
{
    DRT_BOOTSTRAP_PROVIDER *p = NULL;
    assert_int_equal(DrtCreateDnsBootstrapResolver(3540, L"localhost", &p), S_OK);
    assert_non_null(p);
    assert_non_null(p->pvContext);
    assert_non_null(p->Attach);
    assert_non_null(p->Detach);
    assert_non_null(p->InitResolve);
    assert_non_null(p->IssueResolve);
    assert_non_null(p->EndResolve);
    assert_non_null(p->Register);
    assert_non_null(p->Unregister);
    DrtDeleteDnsBootstrapResolver(p);
}

static void test_dns_resolver_rejects_malformed_host_lists(void **state)
{
    static const wchar_t *const bad[] = {
        L" ",               /* no host at all */
        L" ;; \t",          /* separators only */
        L"bad\x01host",     /* control character */
        L"caf\u00e9.example", /* non-ASCII: give IDNs in xn-- form */
        L"[::1",            /* unclosed bracket */
        L"[]:4000",         /* empty brackets */
        L"[::1]4000",       /* junk after the bracket */
        L"host:",           /* empty port */
        L"host:0",          /* port 0 */
        L"host:65536",      /* port out of range */
        L"host:12a",        /* port not a number */
        L":4000",           /* empty name */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        DRT_BOOTSTRAP_PROVIDER *p = (DRT_BOOTSTRAP_PROVIDER *)(uintptr_t)1;
        assert_int_equal(DrtCreateDnsBootstrapResolver(3540, bad[i], &p), E_INVALIDARG);
        assert_null(p);
    }
}

static void test_dns_resolver_rejects_a_host_without_any_port(void **state)
{
    DRT_BOOTSTRAP_PROVIDER *p;
    assert_int_equal(DrtCreateDnsBootstrapResolver(0, L"localhost", &p), E_INVALIDARG);
    assert_int_equal(DrtCreateDnsBootstrapResolver(0, L"127.0.0.1:5000", &p), S_OK);
    DrtDeleteDnsBootstrapResolver(p);
}

static void test_dns_resolver_rejects_too_many_hosts_or_too_long_a_name(void **state)
{
    DRT_BOOTSTRAP_PROVIDER *p;
    wchar_t list[65 * 2 + 1], name[255];
    for (int i = 0; i < 65; i++) {
        list[2 * i] = L'a';
        list[2 * i + 1] = L' ';
    }
    list[130] = 0;
    assert_int_equal(DrtCreateDnsBootstrapResolver(3540, list, &p), E_INVALIDARG);
    list[128] = 0; /* 64 hosts: the cap */
    assert_int_equal(DrtCreateDnsBootstrapResolver(3540, list, &p), S_OK);
    DrtDeleteDnsBootstrapResolver(p);
    wmemset(name, L'a', 254);
    name[254] = 0;
    assert_int_equal(DrtCreateDnsBootstrapResolver(3540, name, &p), E_INVALIDARG);
}

/* ---- the vtable contract ----------------------------------------------- */

static void test_second_attach_is_in_use_until_detached(void **state)
{
    DRT_BOOTSTRAP_PROVIDER *p = dns(3540, L"localhost");
    assert_int_equal(p->Attach(p->pvContext), DRT_E_BOOTSTRAPPROVIDER_IN_USE);
    p->Detach(p->pvContext);
    assert_int_equal(p->Attach(p->pvContext), S_OK);
    dns_done(p);
}

static void test_init_resolve_when_not_attached_fails(void **state)
{
    DRT_BOOTSTRAP_PROVIDER *p = NULL;
    assert_int_equal(DrtCreateDnsBootstrapResolver(3540, L"localhost", &p), S_OK);
    DRT_BOOTSTRAP_RESOLVE_CONTEXT ctx = (DRT_BOOTSTRAP_RESOLVE_CONTEXT)(uintptr_t)1;
    BOOL fatal = TRUE;
    assert_int_equal(p->InitResolve(p->pvContext, FALSE, 1000, 4, &ctx, &fatal),
                     DRT_E_BOOTSTRAPPROVIDER_NOT_ATTACHED);
    assert_null(ctx);
    assert_false(fatal); /* not attached is the DRT's mistake, not a fault */
    DrtDeleteDnsBootstrapResolver(p);
}

static void test_issue_resolve_after_detach_fails_and_end_resolve_still_frees(void **state)
{
    DRT_BOOTSTRAP_PROVIDER *p = dns(3540, L"localhost");
    DRT_BOOTSTRAP_RESOLVE_CONTEXT ctx = NULL;
    BOOL fatal;
    struct seen s = {0};
    assert_int_equal(p->InitResolve(p->pvContext, TRUE, 1000, 4, &ctx, &fatal), S_OK);
    p->Detach(p->pvContext);
    assert_int_equal(p->IssueResolve(p->pvContext, &s, record, ctx, &fatal),
                     DRT_E_BOOTSTRAPPROVIDER_NOT_ATTACHED);
    assert_int_equal(s.calls, 0);
    p->EndResolve(p->pvContext, ctx);
    DrtDeleteDnsBootstrapResolver(p);
}

static void test_resolve_arguments_are_checked(void **state)
{
    DRT_BOOTSTRAP_PROVIDER *p = dns(3540, L"localhost");
    DRT_BOOTSTRAP_RESOLVE_CONTEXT ctx = NULL;
    BOOL fatal;
    struct seen s = {0};
    assert_int_equal(p->InitResolve(p->pvContext, FALSE, 1000, 4, NULL, &fatal), E_INVALIDARG);
    assert_int_equal(p->InitResolve(p->pvContext, FALSE, 1000, 4, &ctx, &fatal), S_OK);
    assert_int_equal(p->IssueResolve(p->pvContext, &s, NULL, ctx, &fatal), E_INVALIDARG);
    assert_int_equal(p->IssueResolve(p->pvContext, &s, record, NULL, &fatal), E_INVALIDARG);
    assert_int_equal(p->IssueResolve(p->pvContext, &s, record, ctx, &fatal), S_OK);
    /* one IssueResolve per InitResolve */
    int calls = s.calls;
    assert_int_equal(p->IssueResolve(p->pvContext, &s, record, ctx, &fatal), E_UNEXPECTED);
    assert_int_equal(s.calls, calls);
    p->EndResolve(p->pvContext, ctx);
    p->EndResolve(p->pvContext, NULL); /* harmless */
    dns_done(p);
}

static void test_register_and_unregister_are_accepted_no_ops(void **state)
{
    DRT_BOOTSTRAP_PROVIDER *p = dns(3540, L"localhost");
    SOCKADDR_IN6 self = v6("::1", 4000);
    SOCKET_ADDRESS_LIST list = {1, {{(LPSOCKADDR)&self, sizeof(self)}}};
    assert_int_equal(p->Register(p->pvContext, &list), S_OK);
    p->Unregister(p->pvContext);
    struct seen s;
    resolve(p, 0, &s); /* publishing changed nothing */
    assert_false(seen_has(&s, "::1", 4000));
    dns_done(p);
}

/* ---- DNS answers ------------------------------------------------------- */

static void test_localhost_resolves_to_loopback_with_the_default_port(void **state)
{
    DRT_BOOTSTRAP_PROVIDER *p = dns(3540, L"localhost");
    struct seen s;
    resolve(p, 10, &s);
    assert_finished_with_one_no_more(&s);
    assert_int_equal(s.calls, 2);
    assert_true(s.n_addr >= 1);
    for (int i = 0; i < s.n_addr; i++) {
        assert_int_equal(ntohs(s.addr[i].sin6_port), 3540);
        assert_true(IN6_IS_ADDR_LOOPBACK(&s.addr[i].sin6_addr) ||
                    (IN6_IS_ADDR_V4MAPPED(&s.addr[i].sin6_addr) &&
                     s.addr[i].sin6_addr.s6_addr[12] == 127));
    }
    dns_done(p);
}

static void test_ipv4_answers_are_ipv4_mapped_ipv6(void **state)
{
    DRT_BOOTSTRAP_PROVIDER *p = dns(3540, L"127.0.0.1");
    struct seen s;
    resolve(p, 10, &s);
    assert_int_equal(s.calls, 2);
    assert_int_equal(s.n_addr, 1);
    assert_true(seen_has(&s, "::ffff:127.0.0.1", 3540));
    assert_int_equal(s.addr[0].sin6_scope_id, 0);
    assert_int_equal(s.addr[0].sin6_flowinfo, 0);
    dns_done(p);
}

static void test_ipv6_answers_are_returned_as_they_are(void **state)
{
    DRT_BOOTSTRAP_PROVIDER *p = dns(3540, L"::1");
    struct seen s;
    resolve(p, 10, &s);
    assert_int_equal(s.calls, 2);
    assert_int_equal(s.n_addr, 1);
    assert_true(seen_has(&s, "::1", 3540));
    dns_done(p);
}

static void test_host_ports_override_the_default_port(void **state)
{
    DRT_BOOTSTRAP_PROVIDER *p = dns(3540, L"[::1]:4000; 127.0.0.1:5000");
    struct seen s;
    resolve(p, 10, &s);
    assert_finished_with_one_no_more(&s);
    assert_int_equal(s.n_addr, 2);
    assert_true(seen_has(&s, "::1", 4000));
    assert_true(seen_has(&s, "::ffff:127.0.0.1", 5000));
    dns_done(p);
}

static void test_duplicates_are_removed(void **state)
{
    DRT_BOOTSTRAP_PROVIDER *p = dns(3540, L"127.0.0.1 127.0.0.1:3540;[::1] ::1 127.0.0.1:3541");
    struct seen s;
    resolve(p, 10, &s);
    assert_int_equal(s.n_addr, 3);
    assert_true(seen_has(&s, "::ffff:127.0.0.1", 3540));
    assert_true(seen_has(&s, "::ffff:127.0.0.1", 3541));
    assert_true(seen_has(&s, "::1", 3540));
    dns_done(p);
}

static void test_a_host_that_does_not_resolve_is_skipped(void **state)
{
    DRT_BOOTSTRAP_PROVIDER *p = dns(3540, L"no-such-host.invalid;127.0.0.1");
    struct seen s;
    resolve(p, 10, &s);
    assert_finished_with_one_no_more(&s);
    assert_int_equal(s.n_addr, 1);
    assert_true(seen_has(&s, "::ffff:127.0.0.1", 3540));
    dns_done(p);
}

static void test_nothing_resolves_gives_only_no_more(void **state)
{
    DRT_BOOTSTRAP_PROVIDER *p = dns(3540, L"no-such-host.invalid another.invalid:9");
    struct seen s;
    resolve(p, 10, &s);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.hr[0], DRT_E_NO_MORE);
    assert_int_equal(s.n_addr, 0);
    dns_done(p);
}

static void test_max_results_is_respected(void **state)
{
    DRT_BOOTSTRAP_PROVIDER *p = dns(3540, L"127.0.0.1:1 127.0.0.1:2 127.0.0.1:3 ::1");
    struct seen s;
    resolve(p, 2, &s);
    assert_finished_with_one_no_more(&s);
    assert_int_equal(s.n_addr, 2);
    assert_true(seen_has(&s, "::ffff:127.0.0.1", 1));
    assert_true(seen_has(&s, "::ffff:127.0.0.1", 2));
    resolve(p, 1, &s);
    assert_int_equal(s.n_addr, 1);
    resolve(p, 0, &s); /* 0: no limit */
    assert_int_equal(s.n_addr, 4);
    dns_done(p);
}

/* ---- EndResolve timing ------------------------------------------------- */

static void end_from_callback(HRESULT on, int want_calls)
{
    DRT_BOOTSTRAP_PROVIDER *p = dns(3540, L"127.0.0.1");
    struct seen s;
    memset(&s, 0, sizeof(s));
    DRT_BOOTSTRAP_RESOLVE_CONTEXT ctx = NULL;
    BOOL fatal;
    assert_int_equal(p->InitResolve(p->pvContext, FALSE, 1000, 4, &ctx, &fatal), S_OK);
    s.provider = p;
    s.end_ctx = ctx;
    s.end_on = on;
    /* The context is released inside: ASan reports any later use. */
    assert_int_equal(p->IssueResolve(p->pvContext, &s, record, ctx, &fatal), S_OK);
    assert_null(s.end_ctx);
    assert_int_equal(s.calls, want_calls);
    dns_done(p);
}

static void test_end_resolve_inside_the_batch_callback_stops_the_resolve(void **state)
{
    end_from_callback(S_OK, 1);
}

static void test_end_resolve_inside_the_no_more_callback_is_safe(void **state)
{
    end_from_callback(DRT_E_NO_MORE, 2);
}

struct cross {
    DRT_BOOTSTRAP_PROVIDER *p;
    DRT_BOOTSTRAP_RESOLVE_CONTEXT ctx;
    pthread_mutex_t m;
    pthread_cond_t c;
    bool in_callback, callback_done;
    int calls;
};

static void CALLBACK slow_callback(HRESULT hr, PVOID ctx, SOCKET_ADDRESS_LIST *l, BOOL f)
{
    struct cross *x = ctx;
    pthread_mutex_lock(&x->m);
    x->calls++;
    x->in_callback = true;
    pthread_cond_broadcast(&x->c);
    pthread_mutex_unlock(&x->m);
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    pthread_mutex_lock(&x->m);
    x->callback_done = true;
    pthread_mutex_unlock(&x->m);
}

static void *issue_thread(void *arg)
{
    struct cross *x = arg;
    BOOL fatal;
    HRESULT hr = x->p->IssueResolve(x->p->pvContext, x, slow_callback, x->ctx, &fatal);
    return (void *)(intptr_t)hr;
}

static void test_end_resolve_from_another_thread_waits_for_the_callback(void **state)
{
    struct cross x = {.p = dns(3540, L"127.0.0.1")};
    pthread_mutex_init(&x.m, NULL);
    pthread_cond_init(&x.c, NULL);
    BOOL fatal;
    assert_int_equal(x.p->InitResolve(x.p->pvContext, FALSE, 1000, 4, &x.ctx, &fatal), S_OK);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, issue_thread, &x), 0);
    pthread_mutex_lock(&x.m);
    while (!x.in_callback)
        pthread_cond_wait(&x.c, &x.m);
    pthread_mutex_unlock(&x.m);
    x.p->EndResolve(x.p->pvContext, x.ctx);
    pthread_mutex_lock(&x.m);
    assert_true(x.callback_done);
    pthread_mutex_unlock(&x.m);
    void *ret;
    pthread_join(t, &ret);
    assert_int_equal((HRESULT)(intptr_t)ret, S_OK);
    assert_int_equal(x.calls, 1); /* cancelled: no DRT_E_NO_MORE after EndResolve */
    pthread_cond_destroy(&x.c);
    pthread_mutex_destroy(&x.m);
    dns_done(x.p);
}

/* ---- static resolver --------------------------------------------------- */

static SOCKADDR_STORAGE ss_v4(const char *text, USHORT port)
{
    SOCKADDR_STORAGE ss;
    memset(&ss, 0, sizeof(ss));
    SOCKADDR_IN *a = (SOCKADDR_IN *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    assert_int_equal(inet_pton(AF_INET, text, &a->sin_addr), 1);
    return ss;
}

static SOCKADDR_STORAGE ss_v6(const char *text, USHORT port)
{
    SOCKADDR_STORAGE ss;
    memset(&ss, 0, sizeof(ss));
    SOCKADDR_IN6 a = v6(text, port);
    memcpy(&ss, &a, sizeof(a));
    return ss;
}

static void test_static_resolver_rejects_bad_arguments(void **state)
{
    SOCKADDR_STORAGE one = ss_v4("127.0.0.1", 1);
    DRT_BOOTSTRAP_PROVIDER *p = (DRT_BOOTSTRAP_PROVIDER *)(uintptr_t)1;
    assert_int_equal(DrtCreateStaticBootstrapResolver(&one, 1, NULL), E_INVALIDARG);
    assert_int_equal(DrtCreateStaticBootstrapResolver(NULL, 1, &p), E_INVALIDARG);
    assert_null(p);
    assert_int_equal(DrtCreateStaticBootstrapResolver(&one, 1025, &p), E_INVALIDARG);
    SOCKADDR_STORAGE unix_like;
    memset(&unix_like, 0, sizeof(unix_like));
    unix_like.ss_family = AF_UNIX;
    SOCKADDR_STORAGE two[2] = {one, unix_like};
    assert_int_equal(DrtCreateStaticBootstrapResolver(two, 2, &p), E_INVALIDARG);
    assert_null(p);
    DrtDeleteStaticBootstrapResolver(NULL);
}

static void test_static_resolver_with_no_address_answers_only_no_more(void **state)
{
    DRT_BOOTSTRAP_PROVIDER *p = NULL;
    assert_int_equal(DrtCreateStaticBootstrapResolver(NULL, 0, &p), S_OK);
    assert_int_equal(p->Attach(p->pvContext), S_OK);
    struct seen s;
    resolve(p, 10, &s);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.hr[0], DRT_E_NO_MORE);
    p->Detach(p->pvContext);
    DrtDeleteStaticBootstrapResolver(p);
}

static void test_static_resolver_answers_exactly_its_addresses(void **state)
{
    SOCKADDR_STORAGE a[4] = {ss_v4("127.0.0.1", 4000), ss_v6("::1", 4001),
                             ss_v4("192.0.2.7", 4002), ss_v4("127.0.0.1", 4000)};
    DRT_BOOTSTRAP_PROVIDER *p = NULL;
    assert_int_equal(DrtCreateStaticBootstrapResolver(a, 4, &p), S_OK);
    memset(a, 0, sizeof(a)); /* the resolver keeps its own copy */
    assert_int_equal(p->Attach(p->pvContext), S_OK);
    assert_int_equal(p->Attach(p->pvContext), DRT_E_BOOTSTRAPPROVIDER_IN_USE);
    struct seen s;
    resolve(p, 10, &s);
    assert_finished_with_one_no_more(&s);
    assert_int_equal(s.calls, 2);
    assert_int_equal(s.n_addr, 3);
    assert_true(seen_has(&s, "::ffff:127.0.0.1", 4000));
    assert_true(seen_has(&s, "::1", 4001));
    assert_true(seen_has(&s, "::ffff:192.0.2.7", 4002));
    resolve(p, 2, &s);
    assert_int_equal(s.n_addr, 2);
    p->Detach(p->pvContext);
    DRT_BOOTSTRAP_RESOLVE_CONTEXT ctx;
    BOOL fatal;
    assert_int_equal(p->InitResolve(p->pvContext, FALSE, 0, 1, &ctx, &fatal),
                     DRT_E_BOOTSTRAPPROVIDER_NOT_ATTACHED);
    DrtDeleteStaticBootstrapResolver(p);
}

static void test_deleters_ignore_the_other_kind(void **state)
{
    DRT_BOOTSTRAP_PROVIDER *d = NULL, *st = NULL;
    assert_int_equal(DrtCreateDnsBootstrapResolver(3540, L"localhost", &d), S_OK);
    assert_int_equal(DrtCreateStaticBootstrapResolver(NULL, 0, &st), S_OK);
    DrtDeleteStaticBootstrapResolver(d); /* not a static one: left alone */
    DrtDeleteDnsBootstrapResolver(st);
    assert_int_equal(d->Attach(d->pvContext), S_OK);
    assert_int_equal(st->Attach(st->pvContext), S_OK);
    DrtDeleteDnsBootstrapResolver(d);
    DrtDeleteStaticBootstrapResolver(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dns_resolver_has_every_callback),
        cmocka_unit_test(test_dns_resolver_rejects_malformed_host_lists),
        cmocka_unit_test(test_dns_resolver_rejects_a_host_without_any_port),
        cmocka_unit_test(test_dns_resolver_rejects_too_many_hosts_or_too_long_a_name),
        cmocka_unit_test(test_second_attach_is_in_use_until_detached),
        cmocka_unit_test(test_init_resolve_when_not_attached_fails),
        cmocka_unit_test(test_issue_resolve_after_detach_fails_and_end_resolve_still_frees),
        cmocka_unit_test(test_resolve_arguments_are_checked),
        cmocka_unit_test(test_register_and_unregister_are_accepted_no_ops),
        cmocka_unit_test(test_localhost_resolves_to_loopback_with_the_default_port),
        cmocka_unit_test(test_ipv4_answers_are_ipv4_mapped_ipv6),
        cmocka_unit_test(test_ipv6_answers_are_returned_as_they_are),
        cmocka_unit_test(test_host_ports_override_the_default_port),
        cmocka_unit_test(test_duplicates_are_removed),
        cmocka_unit_test(test_a_host_that_does_not_resolve_is_skipped),
        cmocka_unit_test(test_nothing_resolves_gives_only_no_more),
        cmocka_unit_test(test_max_results_is_respected),
        cmocka_unit_test(test_end_resolve_inside_the_batch_callback_stops_the_resolve),
        cmocka_unit_test(test_end_resolve_inside_the_no_more_callback_is_safe),
        cmocka_unit_test(test_end_resolve_from_another_thread_waits_for_the_callback),
        cmocka_unit_test(test_static_resolver_rejects_bad_arguments),
        cmocka_unit_test(test_static_resolver_with_no_address_answers_only_no_more),
        cmocka_unit_test(test_static_resolver_answers_exactly_its_addresses),
        cmocka_unit_test(test_deleters_ignore_the_other_kind),
    };
    return cmocka_run_group_tests_name("bootstrap_resolvers", tests, NULL, NULL);
}
