/* api_fixture.c - see api_fixture.h. */
#include "api/api_fixture.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

static HRESULT ok_attach(const PVOID ctx) { return S_OK; }
static VOID no_detach(const PVOID ctx) { }
static HRESULT ok_register(const PVOID ctx, const DRT_REGISTRATION *r, PVOID kc) { return S_OK; }
static HRESULT ok_unregister(const PVOID ctx, const DRT_DATA *k, PVOID kc) { return S_OK; }
static HRESULT fail_unpack(const PVOID ctx, DRT_DATA *a, DRT_DATA *b, DRT_DATA *c, DRT_DATA *d,
                           DRT_DATA *e, BYTE *f, BYTE *g, DRT_DATA *h, DRT_DATA *i,
                           CERT_PUBLIC_KEY_INFO **j, SOCKET_ADDRESS_LIST **k, DWORD *l)
{
    return DRT_E_INVALID_MESSAGE;
}
static HRESULT fail_pack(const PVOID ctx, PVOID kc, BYTE a, BYTE b, DWORD c, const DRT_DATA *d,
                         const DRT_DATA *e, const SOCKET_ADDRESS_LIST *f, const DRT_DATA *g,
                         DRT_DATA *h, DRT_DATA *i, DRT_DATA *j, DRT_DATA *k)
{
    return E_FAIL;
}
static void no_free(const PVOID ctx, PVOID pv) { }
static HRESULT fail_encrypt(const PVOID ctx, const DRT_DATA *a, DWORD n, DRT_DATA *b, DRT_DATA *c,
                            DRT_DATA *d)
{
    return E_FAIL;
}
static HRESULT fail_decrypt(const PVOID ctx, DRT_DATA *a, const PVOID kc, DWORD n, DRT_DATA *b)
{
    return E_FAIL;
}
static HRESULT fail_credential(const PVOID ctx, DRT_DATA *c) { return E_FAIL; }
static HRESULT fail_sign(const PVOID ctx, DWORD n, DRT_DATA *a, DRT_DATA *b, DRT_DATA *c)
{
    return E_FAIL;
}
static HRESULT fail_verify(const PVOID ctx, DWORD n, DRT_DATA *a, DRT_DATA *b, DRT_DATA *c,
                           DRT_DATA *d)
{
    return E_FAIL;
}
static HRESULT fail_init_resolve(const PVOID ctx, BOOL split, ULONG timeout, ULONG max,
                                 DRT_BOOTSTRAP_RESOLVE_CONTEXT *rc, BOOL *fatal)
{
    return E_FAIL;
}
static HRESULT fail_issue_resolve(const PVOID ctx, const PVOID cbctx,
                                  DRT_BOOTSTRAP_RESOLVE_CALLBACK cb,
                                  DRT_BOOTSTRAP_RESOLVE_CONTEXT rc, BOOL *fatal)
{
    return E_FAIL;
}
static VOID no_end_resolve(const PVOID ctx, DRT_BOOTSTRAP_RESOLVE_CONTEXT rc) { }
static HRESULT ok_publish(const PVOID ctx, const SOCKET_ADDRESS_LIST *l) { return S_OK; }
static VOID no_unpublish(const PVOID ctx) { }

void fixture_init(struct api_fixture *f)
{
    fixture_init_scope(f, DRT_GLOBAL_SCOPE);
}

void fixture_init_scope(struct api_fixture *f, DRT_SCOPE scope)
{
    memset(f, 0, sizeof(*f));
    f->security = (DRT_SECURITY_PROVIDER){
        .Attach = ok_attach,
        .Detach = no_detach,
        .RegisterKey = ok_register,
        .UnregisterKey = ok_unregister,
        .ValidateAndUnpackPayload = fail_unpack,
        .SecureAndPackPayload = fail_pack,
        .FreeData = no_free,
        .EncryptData = fail_encrypt,
        .DecryptData = fail_decrypt,
        .GetSerializedCredential = fail_credential,
        .ValidateRemoteCredential = fail_credential,
        .SignData = fail_sign,
        .VerifyData = fail_verify,
    };
    f->bootstrap = (DRT_BOOTSTRAP_PROVIDER){
        .Attach = ok_attach,
        .Detach = no_detach,
        .InitResolve = fail_init_resolve,
        .IssueResolve = fail_issue_resolve,
        .EndResolve = no_end_resolve,
        .Register = ok_publish,
        .Unregister = no_unpublish,
    };
    USHORT port = 0;
    HDRT_TRANSPORT t;
    assert_int_equal(DrtCreateIpv6UdpTransport(scope, 0, 300, &port, &t), S_OK);
    f->transport = handle_table_get(t, HANDLE_TYPE_TRANSPORT);
    assert_non_null(f->transport);
    f->settings = (DRT_SETTINGS){
        .dwSize = sizeof(DRT_SETTINGS),
        .cbKey = 32,
        .bProtocolMajorVersion = 6,
        .bProtocolMinorVersion = 0x65,
        .ulMaxRoutingAddresses = 4,
        .pwzDrtInstancePrefix = L"Test_DRT",
        .hTransport = f->transport->handle,
        .pSecurityProvider = &f->security,
        .pBootstrapProvider = &f->bootstrap,
        .eSecurityMode = DRT_SECURE_RESOLVE,
    };
    for (int i = 0; i < 32; i++)
        f->key[i] = (BYTE)(i + 1);
    memset(f->data, 0xAB, sizeof(f->data));
    f->registration.key = (DRT_DATA){32, f->key};
    f->registration.appData = (DRT_DATA){16, f->data};
}

void fixture_open(struct api_fixture *f)
{
    HDRT h = NULL;
    /* The fixture's resolver finds nobody: the DRT opens ALONE and says a
     * retry may help. */
    assert_int_equal(DrtOpen(&f->settings, NULL, NULL, &h), DRT_S_RETRY);
    f->instance = handle_table_get(h, HANDLE_TYPE_INSTANCE);
    assert_non_null(f->instance);
}

void fixture_fini(struct api_fixture *f)
{
    if (f->instance)
        DrtClose(f->instance->handle);
    f->instance = NULL;
    if (f->transport)
        assert_int_equal(DrtDeleteIpv6UdpTransport(f->transport->handle), S_OK);
    f->transport = NULL;
}
