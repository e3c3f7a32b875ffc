/*
 * test_api_providers.c - the transport, bootstrap-resolver and
 * security-provider constructors: every documented argument code.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <wchar.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/api_fixture.h"

static void test_transport_rejects_null_port_pointer(void **state)
{
    HDRT_TRANSPORT t;
    assert_int_equal(DrtCreateIpv6UdpTransport(DRT_GLOBAL_SCOPE, 0, 300, NULL, &t),
                     DRT_E_INVALID_PORT);
}

static void test_transport_rejects_null_transport_pointer(void **state)
{
    USHORT port = 0;
    assert_int_equal(DrtCreateIpv6UdpTransport(DRT_GLOBAL_SCOPE, 0, 300, &port, NULL),
                     DRT_E_INVALID_TRANSPORT_PROVIDER);
}

static void test_transport_rejects_scopes_other_than_global_and_link_local(void **state)
{
    HDRT_TRANSPORT t;
    USHORT port = 0;
    const int bad[] = {0, DRT_SITE_LOCAL_SCOPE, 4, -1};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(DrtCreateIpv6UdpTransport((DRT_SCOPE)bad[i], 0, 300, &port, &t),
                         DRT_E_INVALID_SCOPE);
}

static void test_transport_binds_a_port(void **state)
{
    HDRT_TRANSPORT t = (HDRT_TRANSPORT)(uintptr_t)1, t2;
    USHORT port = 0;
    /* Port 0 asks for an ephemeral port, written back. */
    assert_int_equal(DrtCreateIpv6UdpTransport(DRT_GLOBAL_SCOPE, 0, 300, &port, &t), S_OK);
    assert_non_null(t);
    assert_true(port >= 1024);
    /* One transport per scope and port in a process... */
    USHORT same = port;
    assert_int_equal(DrtCreateIpv6UdpTransport(DRT_GLOBAL_SCOPE, 0, 300, &same, &t2),
                     DRT_E_TRANSPORT_ALREADY_EXISTS_FOR_SCOPE);
    assert_null(t2);
    /* ...while another ephemeral port is fine (several nodes per process). */
    USHORT other = 0;
    assert_int_equal(DrtCreateIpv6UdpTransport(DRT_GLOBAL_SCOPE, 0, 300, &other, &t2), S_OK);
    assert_int_not_equal(other, port);
    assert_int_equal(DrtDeleteIpv6UdpTransport(t2), S_OK);
    /* A port held by a socket outside libdrt: the Win32 WSAEADDRINUSE code. */
    int fd = socket(AF_INET6, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT};
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    socklen_t salen = sizeof(sa);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &salen), 0);
    USHORT taken = ntohs(sa.sin6_port);
    assert_int_equal(DrtCreateIpv6UdpTransport(DRT_LINK_LOCAL_SCOPE, 1, 300, &taken, &t2),
                     HRESULT_FROM_WIN32(10048L));
    close(fd);
    /* Ports below 1024 cannot appear in route entries. */
    USHORT low = 80;
    assert_int_equal(DrtCreateIpv6UdpTransport(DRT_LINK_LOCAL_SCOPE, 1, 300, &low, &t2),
                     DRT_E_INVALID_PORT);
    assert_int_equal(DrtDeleteIpv6UdpTransport(t), S_OK);
    /* Its scope is free again, and so is its port. */
    assert_int_equal(DrtCreateIpv6UdpTransport(DRT_GLOBAL_SCOPE, 0, 300, &same, &t), S_OK);
    assert_int_equal(same, port);
    assert_int_equal(DrtDeleteIpv6UdpTransport(t), S_OK);
}

static void test_delete_transport_rejects_invalid_handle(void **state)
{
    assert_int_equal(DrtDeleteIpv6UdpTransport(NULL), DRT_E_INVALID_TRANSPORT_PROVIDER);
    assert_int_equal(DrtDeleteIpv6UdpTransport((HDRT_TRANSPORT)(uintptr_t)0x4242),
                     DRT_E_INVALID_TRANSPORT_PROVIDER);
}

static void test_delete_transport_still_bound_to_a_drt_fails(void **state)
{
    struct api_fixture fx;
    fixture_init(&fx);
    fixture_open(&fx);
    assert_int_equal(DrtDeleteIpv6UdpTransport(fx.transport->handle), DRT_E_TRANSPORT_STILL_BOUND);
    DrtClose(fx.instance->handle);
    fx.instance = NULL;
    HDRT_TRANSPORT h = fx.transport->handle;
    assert_int_equal(DrtDeleteIpv6UdpTransport(h), S_OK);
    fx.transport = NULL;
    assert_int_equal(DrtDeleteIpv6UdpTransport(h), DRT_E_INVALID_TRANSPORT_PROVIDER);
    fixture_fini(&fx);
}

static void test_dns_resolver_rejects_null_arguments(void **state)
{
    DRT_BOOTSTRAP_PROVIDER *p;
    assert_int_equal(DrtCreateDnsBootstrapResolver(3540, NULL, &p), E_INVALIDARG);
    assert_int_equal(DrtCreateDnsBootstrapResolver(3540, L"", &p), E_INVALIDARG);
    assert_int_equal(DrtCreateDnsBootstrapResolver(3540, L"localhost", NULL), E_INVALIDARG);
}

static void test_dns_resolver_with_valid_arguments_creates_a_provider(void **state)
{
    DRT_BOOTSTRAP_PROVIDER *p = NULL;
    assert_int_equal(DrtCreateDnsBootstrapResolver(3540, L"localhost", &p), S_OK);
    assert_non_null(p);
    /* DrtOpen requires all seven callbacks (docs/API.md). */
    assert_non_null(p->Attach);
    assert_non_null(p->Detach);
    assert_non_null(p->InitResolve);
    assert_non_null(p->IssueResolve);
    assert_non_null(p->EndResolve);
    assert_non_null(p->Register);
    assert_non_null(p->Unregister);
    DrtDeleteDnsBootstrapResolver(p);
    DrtDeleteDnsBootstrapResolver(NULL);
}

static void test_dns_resolver_rejects_an_invalid_host_list(void **state)
{
    DRT_BOOTSTRAP_PROVIDER *p = (DRT_BOOTSTRAP_PROVIDER *)(uintptr_t)1;
    assert_int_equal(DrtCreateDnsBootstrapResolver(3540, L" ; ", &p), E_INVALIDARG);
    assert_null(p);
}

static void test_static_resolver_rejects_null_out_pointer(void **state)
{
    assert_int_equal(DrtCreateStaticBootstrapResolver(NULL, 0, NULL), E_INVALIDARG);
}

static void test_pnrp_resolver_rejects_bad_names(void **state)
{
    DRT_BOOTSTRAP_PROVIDER *p;
    wchar_t long_name[300];
    wmemset(long_name, L'n', 299);
    long_name[299] = 0;
    assert_int_equal(DrtCreatePnrpBootstrapResolver(TRUE, NULL, NULL, NULL, &p), E_INVALIDARG);
    assert_int_equal(DrtCreatePnrpBootstrapResolver(TRUE, L"", NULL, NULL, &p), E_INVALIDARG);
    assert_int_equal(DrtCreatePnrpBootstrapResolver(TRUE, L"0.Demo", NULL, NULL, NULL),
                     E_INVALIDARG);
    long_name[138] = 0; /* 138 characters: one over the peer-name limit */
    assert_int_equal(DrtCreatePnrpBootstrapResolver(TRUE, long_name, NULL, NULL, &p), E_INVALIDARG);
    assert_int_equal(DrtCreatePnrpBootstrapResolver(TRUE, L"0.Demo", NULL, long_name, &p),
                     E_INVALIDARG);
    long_name[138] = L'n';
    long_name[257] = 0; /* 257 characters: one over the cloud-name limit */
    assert_int_equal(DrtCreatePnrpBootstrapResolver(TRUE, L"0.Demo", long_name, NULL, &p),
                     E_INVALIDARG);
}

static void test_pnrp_resolver_is_not_available_on_this_platform(void **state)
{
    DRT_BOOTSTRAP_PROVIDER *p = (DRT_BOOTSTRAP_PROVIDER *)(uintptr_t)1;
    assert_int_equal(DrtCreatePnrpBootstrapResolver(TRUE, L"0.DemoName", L"Global_", NULL, &p),
                     E_NOTIMPL);
    assert_null(p);
    DrtDeletePnrpBootstrapResolver(NULL);
}

static void test_null_provider_rejects_null_pointer(void **state)
{
    assert_int_equal(DrtCreateNullSecurityProvider(NULL), E_INVALIDARG);
}

static void test_null_provider_with_valid_arguments_creates_a_provider(void **state)
{
    DRT_SECURITY_PROVIDER *p = NULL;
    assert_int_equal(DrtCreateNullSecurityProvider(&p), S_OK);
    assert_non_null(p);
    assert_non_null(p->Attach);
    assert_non_null(p->SecureAndPackPayload);
    assert_non_null(p->ValidateAndUnpackPayload);
    assert_non_null(p->FreeData);
    DrtDeleteNullSecurityProvider(p);
    DrtDeleteNullSecurityProvider(NULL);
}

static void test_derived_key_provider_rejects_missing_root(void **state)
{
    DRT_SECURITY_PROVIDER *p;
    CERT_CONTEXT empty = {NULL, NULL, NULL};
    assert_int_equal(DrtCreateDerivedKeySecurityProvider(NULL, NULL, &p), E_INVALIDARG);
    assert_int_equal(DrtCreateDerivedKeySecurityProvider(&empty, NULL, &p), E_INVALIDARG);
}

static void test_derived_key_provider_rejects_null_out_pointer_and_empty_local(void **state)
{
    X509 *x = X509_new();
    assert_non_null(x);
    CERT_CONTEXT root = {x, NULL, NULL}, empty = {NULL, NULL, NULL};
    DRT_SECURITY_PROVIDER *p;
    assert_int_equal(DrtCreateDerivedKeySecurityProvider(&root, NULL, NULL), E_INVALIDARG);
    assert_int_equal(DrtCreateDerivedKeySecurityProvider(&root, &empty, &p), E_INVALIDARG);
    /* A certificate with no public key anchors nothing (test_security_derived.c
     * covers real roots). */
    assert_int_equal(DrtCreateDerivedKeySecurityProvider(&root, NULL, &p),
                     DRT_E_INVALID_CERT_CHAIN);
    assert_null(p);
    DrtDeleteDerivedKeySecurityProvider(NULL);
    X509_free(x);
}

static void test_derived_key_rejects_bad_arguments(void **state)
{
    X509 *x = X509_new();
    assert_non_null(x);
    CERT_CONTEXT cert = {x, NULL, NULL}, empty = {NULL, NULL, NULL};
    BYTE buf[32];
    DRT_DATA key = {32, buf};
    assert_int_equal(DrtCreateDerivedKey(NULL, &key), E_INVALIDARG);
    assert_int_equal(DrtCreateDerivedKey(&empty, &key), E_INVALIDARG);
    assert_int_equal(DrtCreateDerivedKey(&cert, NULL), E_INVALIDARG);
    key.cb = 31;
    assert_int_equal(DrtCreateDerivedKey(&cert, &key), E_INVALIDARG);
    key.cb = 32;
    key.pb = NULL;
    assert_int_equal(DrtCreateDerivedKey(&cert, &key), E_INVALIDARG);
    key.pb = buf;
    /* Valid arguments, but no public key to derive from. */
    assert_int_equal(DrtCreateDerivedKey(&cert, &key), DRT_E_CAPABILITY_MISMATCH);
    X509_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transport_rejects_null_port_pointer),
        cmocka_unit_test(test_transport_rejects_null_transport_pointer),
        cmocka_unit_test(test_transport_rejects_scopes_other_than_global_and_link_local),
        cmocka_unit_test(test_transport_binds_a_port),
        cmocka_unit_test(test_delete_transport_rejects_invalid_handle),
        cmocka_unit_test(test_delete_transport_still_bound_to_a_drt_fails),
        cmocka_unit_test(test_dns_resolver_rejects_null_arguments),
        cmocka_unit_test(test_dns_resolver_with_valid_arguments_creates_a_provider),
        cmocka_unit_test(test_dns_resolver_rejects_an_invalid_host_list),
        cmocka_unit_test(test_static_resolver_rejects_null_out_pointer),
        cmocka_unit_test(test_pnrp_resolver_rejects_bad_names),
        cmocka_unit_test(test_pnrp_resolver_is_not_available_on_this_platform),
        cmocka_unit_test(test_null_provider_rejects_null_pointer),
        cmocka_unit_test(test_null_provider_with_valid_arguments_creates_a_provider),
        cmocka_unit_test(test_derived_key_provider_rejects_missing_root),
        cmocka_unit_test(test_derived_key_provider_rejects_null_out_pointer_and_empty_local),
        cmocka_unit_test(test_derived_key_rejects_bad_arguments),
    };
    return cmocka_run_group_tests_name("drt_providers", tests, NULL, NULL);
}
