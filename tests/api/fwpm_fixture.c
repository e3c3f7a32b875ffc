/* fwpm_fixture.c - see fwpm_fixture.h. */
#include "fwpm_fixture.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <unistd.h>

#include <cmocka.h>

#include "ipsec/secdesc.h"

void CALLBACK fx_check(const IKEEXT_TRAFFIC0 *t, BOOL *will, UINT32 *w)
{
    (void)t;
    *will = FALSE;
    *w = 0;
}

DWORD CALLBACK fx_dictate(IPSEC_SA_DETAILS1 *in, IPSEC_SA_DETAILS1 *out, BOOL *gen)
{
    (void)in;
    (void)out;
    (void)gen;
    return ERROR_SUCCESS;
}

static void CALLBACK fx_notify(const IPSEC_SA_DETAILS1 *in, const IPSEC_SA_DETAILS1 *out)
{
    (void)in;
    (void)out;
}

const IPSEC_KEY_MANAGER_CALLBACKS0 fx_notify_cbs = {.keyNotify = fx_notify};
const IPSEC_KEY_MANAGER_CALLBACKS0 fx_dictate_cbs = {
    .keyDictationCheck = fx_check, .keyDictation = fx_dictate, .keyNotify = fx_notify};

HANDLE fx_open(UINT32 txn_wait_ms)
{
    FWPM_SESSION0 s = {.flags = FWPM_SESSION_FLAG_DYNAMIC, .txnWaitTimeoutInMSec = txn_wait_ms};
    HANDLE h = NULL;
    assert_int_equal(FwpmEngineOpen0(NULL, RPC_C_AUTHN_WINNT, NULL, &s, &h), ERROR_SUCCESS);
    assert_non_null(h);
    return h;
}

void fx_close(HANDLE h)
{
    assert_int_equal(FwpmEngineClose0(h), ERROR_SUCCESS);
}

void fx_set_dacl_for_uid(HANDLE h, uint32_t uid, ACCESS_MASK mask)
{
    uint32_t buf[32];
    ACL *acl = (ACL *)(void *)buf;
    SID user = DRT_UNIX_USER_SID_INIT(uid);
    assert_int_equal(DrtAclInitialize(acl, sizeof(buf)), ERROR_SUCCESS);
    assert_int_equal(DrtAclAddAce(acl, ACCESS_ALLOWED_ACE_TYPE, mask, &user), ERROR_SUCCESS);
    assert_int_equal(IPsecKeyManagerSetSecurityInfoByKey0(h, NULL, DACL_SECURITY_INFORMATION, NULL,
                                                          NULL, acl, NULL),
                     ERROR_SUCCESS);
}

void fx_restore_default_dacl(HANDLE h)
{
    uint32_t buf[32];
    ACL *acl = (ACL *)(void *)buf;
    SID me = DRT_UNIX_USER_SID_INIT(getuid()), root = DRT_UNIX_USER_SID_INIT(0);
    assert_int_equal(DrtAclInitialize(acl, sizeof(buf)), ERROR_SUCCESS);
    assert_int_equal(DrtAclAddAce(acl, ACCESS_ALLOWED_ACE_TYPE, IPSEC_KEYMGR_ALL_ACCESS, &me),
                     ERROR_SUCCESS);
    if (getuid() != 0)
        assert_int_equal(DrtAclAddAce(acl, ACCESS_ALLOWED_ACE_TYPE, IPSEC_KEYMGR_ALL_ACCESS, &root),
                         ERROR_SUCCESS);
    assert_int_equal(IPsecKeyManagerSetSecurityInfoByKey0(h, NULL, DACL_SECURITY_INFORMATION, NULL,
                                                          NULL, acl, NULL),
                     ERROR_SUCCESS);
}
