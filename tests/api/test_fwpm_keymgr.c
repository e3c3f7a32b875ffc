/*
 * test_fwpm_keymgr.c - the five IPsecKeyManager*0 functions through the
 * public API (reference §1, §9): one test per return code in its
 * documented case, every IPsecKeyManagerAddAndRegister0 code included.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <unistd.h>
#include <wchar.h>

#include <cmocka.h>

#include "api/fwpm_engine.h"
#include "fwpm_fixture.h"

static int setup(void **state)
{
    *state = fx_open(0);
    return 0;
}

static int teardown(void **state)
{
    fwpm_set_integrity_check(NULL, NULL);
    fx_restore_default_dacl(*state);
    fx_close(*state);
    return 0;
}

static DWORD add(HANDLE s, UINT32 flags, UINT8 hint, const IPSEC_KEY_MANAGER_CALLBACKS0 *cb,
                 HANDLE *out)
{
    IPSEC_KEY_MANAGER0 km = {.displayData = {L"test tia", NULL},
                             .flags = flags,
                             .keyDictationTimeoutHint = hint};
    return IPsecKeyManagerAddAndRegister0(s, &km, cb, out);
}

/* ---- IPsecKeyManagerAddAndRegister0 ---------------------------------- */

static void test_add_notify_only_and_dictator_succeed(void **state)
{
    HANDLE n, d;
    assert_int_equal(add(*state, 0, 0, &fx_notify_cbs, &n), ERROR_SUCCESS);
    assert_int_equal(add(*state, IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY, 10, &fx_dictate_cbs, &d),
                     ERROR_SUCCESS);
    assert_non_null(n);
    assert_ptr_not_equal(n, d);
}

static void test_add_second_dictator_is_already_exists(void **state)
{
    HANDLE d, other = fx_open(0), d2;
    assert_int_equal(add(*state, IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY, 0, &fx_dictate_cbs, &d),
                     ERROR_SUCCESS);
    DWORD rc = add(other, IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY, 0, &fx_dictate_cbs, &d2);
    /* The documented code, deliberately not FWP_E_KEY_DICTATOR_ALREADY_REGISTERED. */
    assert_int_equal(rc, FWP_E_ALREADY_EXISTS);
    assert_int_not_equal(rc, FWP_E_KEY_DICTATOR_ALREADY_REGISTERED);
    /* Closing the dictator's session frees the slot (dynamic registration). */
    HANDLE third = fx_open(0);
    fx_close(*state);
    *state = third;
    assert_int_equal(add(other, IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY, 0, &fx_dictate_cbs, &d2),
                     ERROR_SUCCESS);
    fx_close(other);
}

static void test_add_timeout_hint_above_ten_is_invalid_interval(void **state)
{
    HANDLE h;
    assert_int_equal(add(*state, IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY, 11, &fx_dictate_cbs, &h),
                     FWP_E_INVALID_INTERVAL);
}

static bool refuse_image(void *ctx, const struct ipsec_caller *c,
                         const IPSEC_KEY_MANAGER_CALLBACKS0 *cb)
{
    (void)ctx;
    (void)c;
    (void)cb;
    return false;
}

static void test_add_from_image_failing_integrity_is_cannot_install(void **state)
{
    HANDLE h;
    fwpm_set_integrity_check(refuse_image, NULL);
    assert_int_equal(add(*state, 0, 0, &fx_notify_cbs, &h), SEC_E_CANNOT_INSTALL);
}

static void test_add_inside_transaction_is_txn_in_progress(void **state)
{
    HANDLE h;
    assert_int_equal(FwpmTransactionBegin0(*state, 0), ERROR_SUCCESS);
    assert_int_equal(add(*state, 0, 0, &fx_notify_cbs, &h), FWP_E_TXN_IN_PROGRESS);
    assert_int_equal(FwpmTransactionAbort0(*state), ERROR_SUCCESS);
}

static void test_add_null_arguments_are_null_pointer(void **state)
{
    IPSEC_KEY_MANAGER0 km = {0};
    HANDLE h = (HANDLE)1;
    assert_int_equal(IPsecKeyManagerAddAndRegister0(NULL, &km, &fx_notify_cbs, &h),
                     FWP_E_NULL_POINTER);
    assert_int_equal(IPsecKeyManagerAddAndRegister0(*state, NULL, &fx_notify_cbs, &h),
                     FWP_E_NULL_POINTER);
    assert_int_equal(IPsecKeyManagerAddAndRegister0(*state, &km, &fx_notify_cbs, NULL),
                     FWP_E_NULL_POINTER);
    IPSEC_KEY_MANAGER_CALLBACKS0 cb = fx_notify_cbs;
    cb.keyNotify = NULL;
    assert_int_equal(add(*state, 0, 0, &cb, &h), FWP_E_NULL_POINTER);
    cb = fx_dictate_cbs;
    cb.keyDictationCheck = NULL;
    assert_int_equal(add(*state, IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY, 0, &cb, &h),
                     FWP_E_NULL_POINTER);
    cb = fx_dictate_cbs;
    cb.keyDictation = NULL;
    assert_int_equal(add(*state, IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY, 0, &cb, &h),
                     FWP_E_NULL_POINTER);
    assert_null(h);
}

static void test_add_dictation_callbacks_without_flag_is_not_supported(void **state)
{
    HANDLE h;
    assert_int_equal(add(*state, 0, 0, &fx_dictate_cbs, &h), ERROR_NOT_SUPPORTED);
}

static void test_add_unknown_flag_is_invalid_flags(void **state)
{
    HANDLE h;
    assert_int_equal(add(*state, 0x100, 0, &fx_notify_cbs, &h), FWP_E_INVALID_FLAGS);
}

static void test_add_by_user_the_dacl_does_not_allow_is_access_denied(void **state)
{
    HANDLE h;
    fx_set_dacl_for_uid(*state, getuid() + 4242u, GENERIC_ALL);
    assert_int_equal(add(*state, 0, 0, &fx_notify_cbs, &h), ERROR_ACCESS_DENIED);
    fx_set_dacl_for_uid(*state, getuid(), FWPM_ACTRL_ADD);
    assert_int_equal(add(*state, 0, 0, &fx_notify_cbs, &h), ERROR_SUCCESS);
}

static void test_add_on_closed_session_is_invalid_handle(void **state)
{
    HANDLE s = fx_open(0), h;
    fx_close(s);
    assert_int_equal(add(s, 0, 0, &fx_notify_cbs, &h), ERROR_INVALID_HANDLE);
    (void)state;
}

static void test_add_zero_guid_gets_fresh_one_and_input_is_copied(void **state)
{
    wchar_t name[] = L"original";
    IPSEC_KEY_MANAGER0 km = {.displayData = {name, NULL}};
    HANDLE a, b;
    assert_int_equal(IPsecKeyManagerAddAndRegister0(*state, &km, &fx_notify_cbs, &a),
                     ERROR_SUCCESS);
    assert_int_equal(IPsecKeyManagerAddAndRegister0(*state, &km, &fx_notify_cbs, &b),
                     ERROR_SUCCESS);
    name[0] = L'X';
    IPSEC_KEY_MANAGER0 **list;
    UINT32 n;
    assert_int_equal(IPsecKeyManagersGet0(*state, &list, &n), ERROR_SUCCESS);
    assert_int_equal(n, 2);
    static const GUID zero;
    assert_memory_not_equal(&list[0]->keyManagerKey, &zero, sizeof(zero));
    assert_memory_not_equal(&list[0]->keyManagerKey, &list[1]->keyManagerKey, sizeof(GUID));
    assert_true(wcscmp(list[0]->displayData.name, L"original") == 0);
    assert_int_equal(list[0]->keyDictationTimeoutHint, 5);
    FwpmFreeMemory0((void **)&list);
    assert_null(list);
}

/* ---- IPsecKeyManagerUnregisterAndDelete0 ------------------------------ */

static void test_unregister_outcomes(void **state)
{
    HANDLE h, other = fx_open(0);
    assert_int_equal(add(*state, 0, 0, &fx_notify_cbs, &h), ERROR_SUCCESS);
    assert_int_equal(IPsecKeyManagerUnregisterAndDelete0(NULL, h), FWP_E_NULL_POINTER);
    assert_int_equal(IPsecKeyManagerUnregisterAndDelete0(*state, NULL), FWP_E_NULL_POINTER);
    assert_int_equal(IPsecKeyManagerUnregisterAndDelete0(other, h), FWP_E_WRONG_SESSION);
    assert_int_equal(FwpmTransactionBegin0(*state, FWPM_TXN_READ_ONLY), ERROR_SUCCESS);
    assert_int_equal(IPsecKeyManagerUnregisterAndDelete0(*state, h), FWP_E_TXN_IN_PROGRESS);
    assert_int_equal(FwpmTransactionCommit0(*state), ERROR_SUCCESS);
    assert_int_equal(IPsecKeyManagerUnregisterAndDelete0(*state, h), ERROR_SUCCESS);
    assert_int_equal(IPsecKeyManagerUnregisterAndDelete0(*state, h), FWP_E_NOT_FOUND);
    fx_close(other);
    assert_int_equal(IPsecKeyManagerUnregisterAndDelete0(other, h), ERROR_INVALID_HANDLE);
}

/* ---- IPsecKeyManagersGet0 --------------------------------------------- */

static void test_get_lists_every_session_and_reports_empty_as_null(void **state)
{
    IPSEC_KEY_MANAGER0 **list = (IPSEC_KEY_MANAGER0 **)1;
    UINT32 n = 7;
    assert_int_equal(IPsecKeyManagersGet0(*state, &list, &n), ERROR_SUCCESS);
    assert_null(list);
    assert_int_equal(n, 0);
    HANDLE other = fx_open(0), h;
    assert_int_equal(add(other, IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY, 8, &fx_dictate_cbs, &h),
                     ERROR_SUCCESS);
    assert_int_equal(IPsecKeyManagersGet0(*state, &list, &n), ERROR_SUCCESS);
    assert_int_equal(n, 1);
    assert_int_equal(list[0]->flags, IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY);
    assert_int_equal(list[0]->keyDictationTimeoutHint, 8);
    FwpmFreeMemory0((void **)&list);
    fx_close(other);
}

static void test_get_null_outputs_are_null_pointer(void **state)
{
    IPSEC_KEY_MANAGER0 **list;
    UINT32 n;
    assert_int_equal(IPsecKeyManagersGet0(NULL, &list, &n), FWP_E_NULL_POINTER);
    assert_int_equal(IPsecKeyManagersGet0(*state, NULL, &n), FWP_E_NULL_POINTER);
    assert_int_equal(IPsecKeyManagersGet0(*state, &list, NULL), FWP_E_NULL_POINTER);
}

static void test_get_without_enum_right_is_access_denied(void **state)
{
    IPSEC_KEY_MANAGER0 **list;
    UINT32 n;
    fx_set_dacl_for_uid(*state, getuid(), FWPM_ACTRL_ADD);
    assert_int_equal(IPsecKeyManagersGet0(*state, &list, &n), ERROR_ACCESS_DENIED);
}

/* ---- IPsecKeyManagerGet/SetSecurityInfoByKey0 -------------------------- */

static void test_get_security_info_returns_one_block(void **state)
{
    PSID owner;
    PACL dacl;
    PSECURITY_DESCRIPTOR sd;
    assert_int_equal(IPsecKeyManagerGetSecurityInfoByKey0(
                         *state, NULL, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                         &owner, NULL, &dacl, NULL, &sd),
                     ERROR_SUCCESS);
    SID me = DRT_UNIX_USER_SID_INIT(getuid());
    assert_memory_equal(owner, &me, 16);
    assert_true((uint8_t *)dacl > (uint8_t *)sd);
    FwpmFreeMemory0(&sd);
    assert_null(sd);
}

static void test_security_info_argument_errors(void **state)
{
    PSECURITY_DESCRIPTOR sd;
    int reserved;
    assert_int_equal(IPsecKeyManagerGetSecurityInfoByKey0(*state, NULL, 0, NULL, NULL, NULL, NULL,
                                                          NULL),
                     FWP_E_NULL_POINTER);
    assert_int_equal(IPsecKeyManagerGetSecurityInfoByKey0(*state, &reserved, 0, NULL, NULL, NULL,
                                                          NULL, &sd),
                     FWP_E_RESERVED);
    assert_int_equal(IPsecKeyManagerSetSecurityInfoByKey0(*state, &reserved,
                                                          DACL_SECURITY_INFORMATION, NULL, NULL,
                                                          NULL, NULL),
                     FWP_E_RESERVED);
    assert_int_equal(IPsecKeyManagerSetSecurityInfoByKey0(*state, NULL, 0x40, NULL, NULL, NULL,
                                                          NULL),
                     FWP_E_INVALID_FLAGS);
    assert_int_equal(IPsecKeyManagerSetSecurityInfoByKey0(*state, NULL, DACL_SECURITY_INFORMATION,
                                                          NULL, NULL, NULL, NULL),
                     FWP_E_NULL_POINTER);
    ACL bad = {.AclRevision = 1, .AclSize = sizeof(ACL)};
    assert_int_equal(IPsecKeyManagerSetSecurityInfoByKey0(*state, NULL, DACL_SECURITY_INFORMATION,
                                                          NULL, NULL, &bad, NULL),
                     FWP_E_INVALID_PARAMETER);
}

static void test_set_security_in_read_only_txn_is_incompatible_txn(void **state)
{
    assert_int_equal(FwpmTransactionBegin0(*state, FWPM_TXN_READ_ONLY), ERROR_SUCCESS);
    uint32_t buf[8];
    ACL *acl = (ACL *)(void *)buf;
    assert_int_equal(DrtAclInitialize(acl, sizeof(buf)), ERROR_SUCCESS);
    assert_int_equal(IPsecKeyManagerSetSecurityInfoByKey0(*state, NULL, DACL_SECURITY_INFORMATION,
                                                          NULL, NULL, acl, NULL),
                     FWP_E_INCOMPATIBLE_TXN);
    assert_int_equal(FwpmTransactionAbort0(*state), ERROR_SUCCESS);
}

static void test_set_security_by_non_owner_without_write_dac_is_access_denied(void **state)
{
    /* Hand ownership to another user: we keep only what the DACL grants. */
    SID other = DRT_UNIX_USER_SID_INIT(getuid() + 4242u), me = DRT_UNIX_USER_SID_INIT(getuid());
    fx_set_dacl_for_uid(*state, getuid(), FWPM_ACTRL_ADD | WRITE_OWNER);
    assert_int_equal(IPsecKeyManagerSetSecurityInfoByKey0(*state, NULL, OWNER_SECURITY_INFORMATION,
                                                          &other, NULL, NULL, NULL),
                     ERROR_SUCCESS);
    uint32_t buf[8];
    ACL *acl = (ACL *)(void *)buf;
    assert_int_equal(DrtAclInitialize(acl, sizeof(buf)), ERROR_SUCCESS);
    assert_int_equal(IPsecKeyManagerSetSecurityInfoByKey0(*state, NULL, DACL_SECURITY_INFORMATION,
                                                          NULL, NULL, acl, NULL),
                     ERROR_ACCESS_DENIED);
    /* WRITE_OWNER is still ours: take ownership back for the next tests. */
    assert_int_equal(IPsecKeyManagerSetSecurityInfoByKey0(*state, NULL, OWNER_SECURITY_INFORMATION,
                                                          &me, NULL, NULL, NULL),
                     ERROR_SUCCESS);
}

static void test_acl_builders_report_their_errors(void **state)
{
    (void)state;
    uint32_t buf[4];
    ACL *acl = (ACL *)(void *)buf;
    SID me = DRT_UNIX_USER_SID_INIT(getuid());
    assert_int_equal(DrtAclInitialize(NULL, 16), ERROR_INVALID_PARAMETER);
    assert_int_equal(DrtAclInitialize(acl, sizeof(buf)), ERROR_SUCCESS);
    assert_int_equal(DrtAclAddAce(acl, ACCESS_ALLOWED_ACE_TYPE, 1, &me), ERROR_INSUFFICIENT_BUFFER);
    assert_int_equal(DrtAclAddAce(acl, 9, 1, &me), ERROR_INVALID_PARAMETER);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_add_notify_only_and_dictator_succeed),
        T(test_add_second_dictator_is_already_exists),
        T(test_add_timeout_hint_above_ten_is_invalid_interval),
        T(test_add_from_image_failing_integrity_is_cannot_install),
        T(test_add_inside_transaction_is_txn_in_progress),
        T(test_add_null_arguments_are_null_pointer),
        T(test_add_dictation_callbacks_without_flag_is_not_supported),
        T(test_add_unknown_flag_is_invalid_flags),
        T(test_add_by_user_the_dacl_does_not_allow_is_access_denied),
        T(test_add_on_closed_session_is_invalid_handle),
        T(test_add_zero_guid_gets_fresh_one_and_input_is_copied),
        T(test_unregister_outcomes),
        T(test_get_lists_every_session_and_reports_empty_as_null),
        T(test_get_null_outputs_are_null_pointer),
        T(test_get_without_enum_right_is_access_denied),
        T(test_get_security_info_returns_one_block),
        T(test_security_info_argument_errors),
        T(test_set_security_in_read_only_txn_is_incompatible_txn),
        T(test_set_security_by_non_owner_without_write_dac_is_access_denied),
        T(test_acl_builders_report_their_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
