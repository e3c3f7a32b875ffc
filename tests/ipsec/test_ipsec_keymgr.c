/*
 * test_ipsec_keymgr.c - the key-manager registry (reference §1.1-1.3, §9):
 * every IPsecKeyManagerAddAndRegister0 outcome at the engine level, copies,
 * unregistration, enumeration and pins.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>

#include <cmocka.h>

#include "ipsec_test_util.h"

struct fx {
    struct test_env t;
    HANDLE s;     /* a root session */
    HANDLE other; /* a second root session */
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f || test_env_init(&f->t, 0, 4) != ERROR_SUCCESS)
        return -1;
    if (ipsec_session_open(f->t.e, &ROOT, NULL, &f->s) != ERROR_SUCCESS ||
        ipsec_session_open(f->t.e, &ROOT, NULL, &f->other) != ERROR_SUCCESS)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    ipsec_engine_destroy(f->t.e);
    free(f);
    return 0;
}

static DWORD add(struct fx *f, UINT32 flags, UINT8 hint, const IPSEC_KEY_MANAGER_CALLBACKS0 *cb,
                 HANDLE *out)
{
    IPSEC_KEY_MANAGER0 km = {.flags = flags, .keyDictationTimeoutHint = hint};
    return ipsec_keymgr_add(f->t.e, f->s, &km, cb, out);
}

static void test_add_null_arguments_are_null_pointer(void **state)
{
    struct fx *f = *state;
    IPSEC_KEY_MANAGER0 km = {0};
    HANDLE h = (HANDLE)1;
    assert_int_equal(ipsec_keymgr_add(f->t.e, NULL, &km, &NOTIFY_CBS, &h), FWP_E_NULL_POINTER);
    assert_int_equal(ipsec_keymgr_add(f->t.e, f->s, NULL, &NOTIFY_CBS, &h), FWP_E_NULL_POINTER);
    assert_int_equal(ipsec_keymgr_add(f->t.e, f->s, &km, NULL, &h), FWP_E_NULL_POINTER);
    assert_int_equal(ipsec_keymgr_add(f->t.e, f->s, &km, &NOTIFY_CBS, NULL), FWP_E_NULL_POINTER);
    IPSEC_KEY_MANAGER_CALLBACKS0 no_notify = DICTATE_CBS;
    no_notify.keyNotify = NULL;
    assert_int_equal(add(f, 0, 0, &no_notify, &h), FWP_E_NULL_POINTER);
    assert_null(h);
    assert_int_equal(ipsec_keymgr_count(f->t.e), 0);
}

static void test_dictate_flag_without_dictation_callbacks_is_null_pointer(void **state)
{
    struct fx *f = *state;
    HANDLE h;
    IPSEC_KEY_MANAGER_CALLBACKS0 cb = DICTATE_CBS;
    cb.keyDictationCheck = NULL;
    assert_int_equal(add(f, IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY, 0, &cb, &h), FWP_E_NULL_POINTER);
    cb = DICTATE_CBS;
    cb.keyDictation = NULL;
    assert_int_equal(add(f, IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY, 0, &cb, &h), FWP_E_NULL_POINTER);
}

static void test_dictation_callbacks_without_flag_is_not_supported(void **state)
{
    struct fx *f = *state;
    HANDLE h;
    IPSEC_KEY_MANAGER_CALLBACKS0 cb = NOTIFY_CBS;
    cb.keyDictationCheck = nop_check;
    assert_int_equal(add(f, 0, 0, &cb, &h), ERROR_NOT_SUPPORTED);
    cb = NOTIFY_CBS;
    cb.keyDictation = nop_dictate;
    assert_int_equal(add(f, 0, 0, &cb, &h), ERROR_NOT_SUPPORTED);
}

static void test_unknown_key_manager_flag_is_invalid_flags(void **state)
{
    struct fx *f = *state;
    HANDLE h;
    assert_int_equal(add(f, 0x2, 0, &NOTIFY_CBS, &h), FWP_E_INVALID_FLAGS);
}

static void test_timeout_hint_above_ten_is_invalid_interval(void **state)
{
    struct fx *f = *state;
    HANDLE h;
    assert_int_equal(add(f, IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY, 11, &DICTATE_CBS, &h),
                     FWP_E_INVALID_INTERVAL);
    assert_int_equal(add(f, 0, 255, &NOTIFY_CBS, &h), FWP_E_INVALID_INTERVAL);
}

static UINT8 registered_hint(struct fx *f)
{
    IPSEC_KEY_MANAGER0 **list;
    UINT32 n;
    assert_int_equal(ipsec_keymgr_list(f->t.e, f->s, &list, &n), ERROR_SUCCESS);
    assert_int_equal(n, 1);
    UINT8 hint = list[0]->keyDictationTimeoutHint;
    free(list);
    return hint;
}

static void test_timeout_hint_zero_is_stored_as_five_and_one_to_ten_kept(void **state)
{
    struct fx *f = *state;
    HANDLE h;
    assert_int_equal(add(f, IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY, 0, &DICTATE_CBS, &h), ERROR_SUCCESS);
    assert_int_equal(registered_hint(f), 5);
    for (UINT8 hint = 1; hint <= 10; hint++) {
        assert_int_equal(ipsec_keymgr_remove(f->t.e, f->s, h), ERROR_SUCCESS);
        assert_int_equal(add(f, IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY, hint, &DICTATE_CBS, &h),
                         ERROR_SUCCESS);
        assert_int_equal(registered_hint(f), hint);
    }
}

static void test_second_dictator_is_already_exists_notify_only_unlimited(void **state)
{
    struct fx *f = *state;
    HANDLE d, d2, n1, n2;
    assert_int_equal(add(f, IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY, 0, &DICTATE_CBS, &d), ERROR_SUCCESS);
    IPSEC_KEY_MANAGER0 km = {.flags = IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY};
    /* Also from another session: one dictator per engine. */
    assert_int_equal(ipsec_keymgr_add(f->t.e, f->other, &km, &DICTATE_CBS, &d2),
                     FWP_E_ALREADY_EXISTS);
    assert_int_equal(add(f, 0, 0, &NOTIFY_CBS, &n1), ERROR_SUCCESS);
    assert_int_equal(add(f, 0, 0, &NOTIFY_CBS, &n2), ERROR_SUCCESS);
    assert_int_equal(ipsec_keymgr_remove(f->t.e, f->s, d), ERROR_SUCCESS);
    assert_int_equal(ipsec_keymgr_add(f->t.e, f->other, &km, &DICTATE_CBS, &d2), ERROR_SUCCESS);
}

static void test_add_inside_transaction_is_txn_in_progress(void **state)
{
    struct fx *f = *state;
    HANDLE h;
    assert_int_equal(ipsec_txn_begin(f->t.e, f->s, FWPM_TXN_READ_ONLY), ERROR_SUCCESS);
    assert_int_equal(add(f, 0, 0, &NOTIFY_CBS, &h), FWP_E_TXN_IN_PROGRESS);
    assert_int_equal(ipsec_txn_abort(f->t.e, f->s), ERROR_SUCCESS);
    assert_int_equal(ipsec_txn_begin(f->t.e, f->s, 0), ERROR_SUCCESS);
    assert_int_equal(add(f, 0, 0, &NOTIFY_CBS, &h), FWP_E_TXN_IN_PROGRESS);
    assert_int_equal(ipsec_txn_commit(f->t.e, f->s), ERROR_SUCCESS);
    assert_int_equal(add(f, 0, 0, &NOTIFY_CBS, &h), ERROR_SUCCESS);
}

static void test_add_on_unknown_session_is_invalid_handle(void **state)
{
    struct fx *f = *state;
    IPSEC_KEY_MANAGER0 km = {0};
    HANDLE h;
    assert_int_equal(ipsec_keymgr_add(f->t.e, (HANDLE)0x5555, &km, &NOTIFY_CBS, &h),
                     ERROR_INVALID_HANDLE);
}

static void test_add_by_caller_not_allowed_is_access_denied(void **state)
{
    struct fx *f = *state;
    HANDLE alice, h;
    IPSEC_KEY_MANAGER0 km = {0};
    assert_int_equal(ipsec_session_open(f->t.e, &ALICE, NULL, &alice), ERROR_SUCCESS);
    assert_int_equal(ipsec_keymgr_add(f->t.e, alice, &km, &NOTIFY_CBS, &h), ERROR_ACCESS_DENIED);
    IPSEC_KEY_MANAGER0 **list;
    UINT32 n;
    assert_int_equal(ipsec_keymgr_list(f->t.e, alice, &list, &n), ERROR_ACCESS_DENIED);
}

static void test_add_failing_integrity_is_cannot_install(void **state)
{
    struct fx *f = *state;
    HANDLE h;
    f->t.integrity_refuses = true;
    assert_int_equal(add(f, 0, 0, &NOTIFY_CBS, &h), SEC_E_CANNOT_INSTALL);
    assert_int_equal(ipsec_keymgr_count(f->t.e), 0);
}

static void test_duplicate_key_guid_is_already_exists(void **state)
{
    struct fx *f = *state;
    IPSEC_KEY_MANAGER0 km = {.keyManagerKey = {.Data1 = 42}};
    HANDLE a, b;
    assert_int_equal(ipsec_keymgr_add(f->t.e, f->s, &km, &NOTIFY_CBS, &a), ERROR_SUCCESS);
    assert_int_equal(ipsec_keymgr_add(f->t.e, f->other, &km, &NOTIFY_CBS, &b),
                     FWP_E_ALREADY_EXISTS);
}

static void test_registration_cap_is_not_enough_quota(void **state)
{
    struct fx *f = *state;
    HANDLE h;
    for (int i = 0; i < 4; i++)
        assert_int_equal(add(f, 0, 0, &NOTIFY_CBS, &h), ERROR_SUCCESS);
    assert_int_equal(add(f, 0, 0, &NOTIFY_CBS, &h), ERROR_NOT_ENOUGH_QUOTA);
}

static void test_zero_guid_is_replaced_and_structures_are_copied(void **state)
{
    struct fx *f = *state;
    wchar_t name[] = L"tia", desc[] = L"watches keys";
    IPSEC_KEY_MANAGER0 km = {.displayData = {name, desc}, .keyDictationTimeoutHint = 3};
    IPSEC_KEY_MANAGER_CALLBACKS0 cb = NOTIFY_CBS;
    HANDLE h;
    assert_int_equal(ipsec_keymgr_add(f->t.e, f->s, &km, &cb, &h), ERROR_SUCCESS);
    name[0] = L'X';
    desc[0] = L'X';
    km.keyDictationTimeoutHint = 9;
    cb.keyNotify = NULL;

    IPSEC_KEY_MANAGER0 **list;
    UINT32 n;
    assert_int_equal(ipsec_keymgr_list(f->t.e, f->s, &list, &n), ERROR_SUCCESS);
    assert_int_equal(n, 1);
    assert_true(wcscmp(list[0]->displayData.name, L"tia") == 0);
    assert_true(wcscmp(list[0]->displayData.description, L"watches keys") == 0);
    assert_int_equal(list[0]->keyDictationTimeoutHint, 3);
    static const GUID zero;
    assert_memory_not_equal(&list[0]->keyManagerKey, &zero, sizeof(zero));
    free(list);
}

static void test_zero_guid_with_failing_random_is_internal_error(void **state)
{
    struct fx *f = *state;
    HANDLE h;
    f->t.random_fails = true;
    assert_int_equal(add(f, 0, 0, &NOTIFY_CBS, &h), ERROR_INTERNAL_ERROR);
    assert_int_equal(ipsec_keymgr_count(f->t.e), 0);
}

static void test_list_is_one_block_in_registration_order(void **state)
{
    struct fx *f = *state;
    IPSEC_KEY_MANAGER0 **list = (IPSEC_KEY_MANAGER0 **)1;
    UINT32 n = 9;
    assert_int_equal(ipsec_keymgr_list(f->t.e, f->s, &list, &n), ERROR_SUCCESS);
    assert_null(list);
    assert_int_equal(n, 0);
    wchar_t *names[] = {L"a", NULL, L"ccc"};
    HANDLE h;
    for (UINT32 i = 0; i < 3; i++) {
        IPSEC_KEY_MANAGER0 km = {.keyManagerKey = {.Data1 = i + 1}, .displayData = {names[i], NULL}};
        assert_int_equal(ipsec_keymgr_add(f->t.e, i == 1 ? f->other : f->s, &km, &NOTIFY_CBS, &h),
                         ERROR_SUCCESS);
    }
    assert_int_equal(ipsec_keymgr_list(f->t.e, f->other, &list, &n), ERROR_SUCCESS);
    assert_int_equal(n, 3);
    uint8_t *lo = (uint8_t *)list;
    for (UINT32 i = 0; i < 3; i++) {
        assert_int_equal(list[i]->keyManagerKey.Data1, i + 1);
        assert_true((uint8_t *)list[i] > lo);
        if (names[i]) {
            assert_true(wcscmp(list[i]->displayData.name, names[i]) == 0);
            assert_true((uint8_t *)list[i]->displayData.name > (uint8_t *)list[i]);
        } else {
            assert_null(list[i]->displayData.name);
        }
    }
    free(list); /* one free releases everything: ASan would report the rest */
    assert_int_equal(ipsec_keymgr_list(f->t.e, NULL, &list, &n), FWP_E_NULL_POINTER);
    assert_int_equal(ipsec_keymgr_list(f->t.e, f->s, NULL, &n), FWP_E_NULL_POINTER);
    assert_int_equal(ipsec_keymgr_list(f->t.e, f->s, &list, NULL), FWP_E_NULL_POINTER);
    assert_int_equal(ipsec_keymgr_list(f->t.e, (HANDLE)0x5555, &list, &n), ERROR_INVALID_HANDLE);
}

static void test_remove_outcomes(void **state)
{
    struct fx *f = *state;
    HANDLE h;
    assert_int_equal(add(f, 0, 0, &NOTIFY_CBS, &h), ERROR_SUCCESS);
    assert_int_equal(ipsec_keymgr_remove(f->t.e, NULL, h), FWP_E_NULL_POINTER);
    assert_int_equal(ipsec_keymgr_remove(f->t.e, f->s, NULL), FWP_E_NULL_POINTER);
    assert_int_equal(ipsec_keymgr_remove(f->t.e, (HANDLE)0x5555, h), ERROR_INVALID_HANDLE);
    assert_int_equal(ipsec_keymgr_remove(f->t.e, f->other, h), FWP_E_WRONG_SESSION);
    /* A session handle is not a registration. */
    assert_int_equal(ipsec_keymgr_remove(f->t.e, f->s, f->other), FWP_E_NOT_FOUND);
    assert_int_equal(ipsec_txn_begin(f->t.e, f->s, 0), ERROR_SUCCESS);
    assert_int_equal(ipsec_keymgr_remove(f->t.e, f->s, h), FWP_E_TXN_IN_PROGRESS);
    assert_int_equal(ipsec_txn_abort(f->t.e, f->s), ERROR_SUCCESS);
    assert_int_equal(ipsec_keymgr_remove(f->t.e, f->s, h), ERROR_SUCCESS);
    assert_int_equal(ipsec_keymgr_remove(f->t.e, f->s, h), FWP_E_NOT_FOUND);
    assert_int_equal(ipsec_keymgr_count(f->t.e), 0);
}

static void test_pinned_dictator_unregistered_drains_until_unpinned(void **state)
{
    struct fx *f = *state;
    struct ipsec_keymgr_pin pin;
    HANDLE d, d2;
    assert_int_equal(ipsec_keymgr_pin_dictator(f->t.e, &pin), FWP_E_NOT_FOUND);
    assert_int_equal(add(f, IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY, 7, &DICTATE_CBS, &d), ERROR_SUCCESS);
    assert_int_equal(ipsec_keymgr_pin_dictator(f->t.e, &pin), ERROR_SUCCESS);
    assert_ptr_equal(pin.registration, d);
    assert_int_equal(pin.timeout_s, 7);
    assert_ptr_equal(pin.callbacks.keyDictation, nop_dictate);

    assert_int_equal(ipsec_keymgr_remove(f->t.e, f->s, d), ERROR_SUCCESS);
    assert_true(ipsec_keymgr_draining(f->t.e, d));
    assert_int_equal(ipsec_keymgr_count(f->t.e), 0);
    assert_int_equal(ipsec_keymgr_remove(f->t.e, f->s, d), FWP_E_NOT_FOUND);
    /* A retired dictator no longer blocks a new one. */
    assert_int_equal(add(f, IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY, 0, &DICTATE_CBS, &d2), ERROR_SUCCESS);
    assert_ptr_not_equal(d2, d);
    assert_true(ipsec_keymgr_unpin(f->t.e, &pin));
    assert_false(ipsec_keymgr_draining(f->t.e, d));
}

static void test_pinned_registration_survives_session_close_and_destroy(void **state)
{
    struct fx *f = *state;
    struct ipsec_keymgr_pin pin;
    HANDLE d;
    assert_int_equal(add(f, IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY, 0, &DICTATE_CBS, &d), ERROR_SUCCESS);
    assert_int_equal(ipsec_keymgr_pin_dictator(f->t.e, &pin), ERROR_SUCCESS);
    assert_int_equal(ipsec_session_close(f->t.e, f->s), ERROR_SUCCESS);
    assert_true(ipsec_keymgr_draining(f->t.e, d));
    /* teardown destroys the engine with the pin still held (ASan: no leak). */
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_add_null_arguments_are_null_pointer),
        T(test_dictate_flag_without_dictation_callbacks_is_null_pointer),
        T(test_dictation_callbacks_without_flag_is_not_supported),
        T(test_unknown_key_manager_flag_is_invalid_flags),
        T(test_timeout_hint_above_ten_is_invalid_interval),
        T(test_timeout_hint_zero_is_stored_as_five_and_one_to_ten_kept),
        T(test_second_dictator_is_already_exists_notify_only_unlimited),
        T(test_add_inside_transaction_is_txn_in_progress),
        T(test_add_on_unknown_session_is_invalid_handle),
        T(test_add_by_caller_not_allowed_is_access_denied),
        T(test_add_failing_integrity_is_cannot_install),
        T(test_duplicate_key_guid_is_already_exists),
        T(test_registration_cap_is_not_enough_quota),
        T(test_zero_guid_is_replaced_and_structures_are_copied),
        T(test_zero_guid_with_failing_random_is_internal_error),
        T(test_list_is_one_block_in_registration_order),
        T(test_remove_outcomes),
        T(test_pinned_dictator_unregistered_drains_until_unpinned),
        T(test_pinned_registration_survives_session_close_and_destroy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
