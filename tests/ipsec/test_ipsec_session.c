/*
 * test_ipsec_session.c - engine sessions and transactions (reference §4.1,
 * §4.2): dynamic sessions, one transaction per session, one writer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>

#include <cmocka.h>

#include "ipsec_test_util.h"

static int setup(void **state)
{
    static struct test_env t;
    if (test_env_init(&t, 3, 0) != ERROR_SUCCESS)
        return -1;
    *state = &t;
    return 0;
}

static int teardown(void **state)
{
    struct test_env *t = *state;
    ipsec_engine_destroy(t->e);
    return 0;
}

static HANDLE open_session(struct test_env *t)
{
    HANDLE h = NULL;
    assert_int_equal(ipsec_session_open(t->e, &ROOT, NULL, &h), ERROR_SUCCESS);
    assert_non_null(h);
    return h;
}

static void test_create_without_random_source_is_invalid_parameter(void **state)
{
    (void)state;
    struct ipsec_engine_config cfg = {0};
    struct ipsec_engine *e = (struct ipsec_engine *)&cfg;
    assert_int_equal(ipsec_engine_create(&cfg, &e), ERROR_INVALID_PARAMETER);
    assert_null(e);
    assert_int_equal(ipsec_engine_create(NULL, &e), ERROR_INVALID_PARAMETER);
}

static void test_open_without_out_handle_is_null_pointer(void **state)
{
    struct test_env *t = *state;
    assert_int_equal(ipsec_session_open(t->e, &ROOT, NULL, NULL), FWP_E_NULL_POINTER);
    assert_int_equal(ipsec_engine_session_count(t->e), 0);
}

static void test_open_with_unknown_session_flag_is_invalid_flags(void **state)
{
    struct test_env *t = *state;
    FWPM_SESSION0 s = {.flags = 0x2};
    HANDLE h = (HANDLE)1;
    assert_int_equal(ipsec_session_open(t->e, &ROOT, &s, &h), FWP_E_INVALID_FLAGS);
    assert_null(h);
}

static void test_open_with_overlong_name_is_invalid_parameter(void **state)
{
    struct test_env *t = *state;
    static wchar_t name[IPSEC_DEFAULT_MAX_DISPLAY_CHARS + 2];
    wmemset(name, L'x', IPSEC_DEFAULT_MAX_DISPLAY_CHARS + 1);
    FWPM_SESSION0 s = {.displayData = {.name = name}};
    HANDLE h;
    assert_int_equal(ipsec_session_open(t->e, &ROOT, &s, &h), FWP_E_INVALID_PARAMETER);
    name[IPSEC_DEFAULT_MAX_DISPLAY_CHARS] = 0; /* exactly at the cap: accepted */
    assert_int_equal(ipsec_session_open(t->e, &ROOT, &s, &h), ERROR_SUCCESS);
    assert_int_equal(ipsec_session_close(t->e, h), ERROR_SUCCESS);
}

static void test_open_with_key_of_open_session_is_already_exists(void **state)
{
    struct test_env *t = *state;
    FWPM_SESSION0 s = {.sessionKey = {.Data1 = 7}};
    HANDLE a, b;
    assert_int_equal(ipsec_session_open(t->e, &ROOT, &s, &a), ERROR_SUCCESS);
    assert_int_equal(ipsec_session_open(t->e, &ROOT, &s, &b), FWP_E_ALREADY_EXISTS);
    assert_int_equal(ipsec_session_close(t->e, a), ERROR_SUCCESS);
    /* The key is free again once its session closed. */
    assert_int_equal(ipsec_session_open(t->e, &ROOT, &s, &b), ERROR_SUCCESS);
    assert_int_equal(ipsec_session_close(t->e, b), ERROR_SUCCESS);
}

static void test_zero_session_key_gets_random_version4_guid(void **state)
{
    struct test_env *t = *state;
    FWPM_SESSION0 s = {.txnWaitTimeoutInMSec = 0}, info;
    HANDLE h;
    assert_int_equal(ipsec_session_open(t->e, &ROOT, &s, &h), ERROR_SUCCESS);
    assert_non_null(ipsec_session_info(t->e, h, &info));
    assert_int_equal(info.sessionKey.Data3 >> 12, 4);
    assert_int_equal(info.sessionKey.Data4[0] & 0xC0, 0x80);
    assert_int_equal(info.txnWaitTimeoutInMSec, IPSEC_DEFAULT_TXN_WAIT_MS);
    assert_int_equal(ipsec_session_close(t->e, h), ERROR_SUCCESS);
}

static void test_zero_session_key_with_failing_random_is_internal_error(void **state)
{
    struct test_env *t = *state;
    HANDLE h;
    t->random_fails = true;
    assert_int_equal(ipsec_session_open(t->e, &ROOT, NULL, &h), ERROR_INTERNAL_ERROR);
    t->random_fails = false;
    assert_int_equal(ipsec_engine_session_count(t->e), 0);
}

static void test_session_cap_is_not_enough_quota(void **state)
{
    struct test_env *t = *state;
    HANDLE h[4];
    for (int i = 0; i < 3; i++)
        h[i] = open_session(t);
    assert_int_equal(ipsec_session_open(t->e, &ROOT, NULL, &h[3]), ERROR_NOT_ENOUGH_QUOTA);
    for (int i = 0; i < 3; i++)
        assert_int_equal(ipsec_session_close(t->e, h[i]), ERROR_SUCCESS);
}

static void test_close_null_and_unknown_handles(void **state)
{
    struct test_env *t = *state;
    assert_int_equal(ipsec_session_close(t->e, NULL), FWP_E_NULL_POINTER);
    HANDLE h = open_session(t);
    assert_int_equal(ipsec_session_close(t->e, h), ERROR_SUCCESS);
    assert_int_equal(ipsec_session_close(t->e, h), ERROR_INVALID_HANDLE);
    assert_null(ipsec_session_info(t->e, h, &(FWPM_SESSION0){0}));
}

static void test_close_removes_the_sessions_key_managers_only(void **state)
{
    struct test_env *t = *state;
    HANDLE a = open_session(t), b = open_session(t), ka, kb;
    IPSEC_KEY_MANAGER0 km = {0};
    assert_int_equal(ipsec_keymgr_add(t->e, a, &km, &NOTIFY_CBS, &ka), ERROR_SUCCESS);
    assert_int_equal(ipsec_keymgr_add(t->e, b, &km, &NOTIFY_CBS, &kb), ERROR_SUCCESS);
    assert_int_equal(ipsec_keymgr_count(t->e), 2);
    assert_int_equal(ipsec_session_close(t->e, a), ERROR_SUCCESS);
    assert_int_equal(ipsec_keymgr_count(t->e), 1);
    assert_int_equal(ipsec_keymgr_remove(t->e, b, ka), FWP_E_NOT_FOUND);
    assert_int_equal(ipsec_session_close(t->e, b), ERROR_SUCCESS);
    assert_int_equal(ipsec_keymgr_count(t->e), 0);
}

static void test_begin_inside_transaction_is_txn_in_progress(void **state)
{
    struct test_env *t = *state;
    HANDLE h = open_session(t);
    assert_int_equal(ipsec_txn_begin(t->e, h, 0), ERROR_SUCCESS);
    assert_int_equal(ipsec_txn_begin(t->e, h, 0), FWP_E_TXN_IN_PROGRESS);
    assert_int_equal(ipsec_txn_begin(t->e, h, FWPM_TXN_READ_ONLY), FWP_E_TXN_IN_PROGRESS);
    assert_int_equal(ipsec_txn_commit(t->e, h), ERROR_SUCCESS);
    assert_int_equal(ipsec_session_close(t->e, h), ERROR_SUCCESS);
}

static void test_commit_and_abort_outside_transaction_are_no_txn(void **state)
{
    struct test_env *t = *state;
    HANDLE h = open_session(t);
    assert_int_equal(ipsec_txn_commit(t->e, h), FWP_E_NO_TXN_IN_PROGRESS);
    assert_int_equal(ipsec_txn_abort(t->e, h), FWP_E_NO_TXN_IN_PROGRESS);
    assert_int_equal(ipsec_txn_begin(t->e, h, FWPM_TXN_READ_ONLY), ERROR_SUCCESS);
    assert_int_equal(ipsec_txn_abort(t->e, h), ERROR_SUCCESS);
    assert_int_equal(ipsec_txn_abort(t->e, h), FWP_E_NO_TXN_IN_PROGRESS);
    assert_int_equal(ipsec_session_close(t->e, h), ERROR_SUCCESS);
}

static void test_txn_argument_errors(void **state)
{
    struct test_env *t = *state;
    HANDLE h = open_session(t);
    assert_int_equal(ipsec_txn_begin(t->e, NULL, 0), FWP_E_NULL_POINTER);
    assert_int_equal(ipsec_txn_begin(t->e, h, 0x2), FWP_E_INVALID_FLAGS);
    assert_int_equal(ipsec_txn_begin(t->e, (HANDLE)0x7777, 0), ERROR_INVALID_HANDLE);
    assert_int_equal(ipsec_txn_commit(t->e, NULL), FWP_E_NULL_POINTER);
    assert_int_equal(ipsec_txn_abort(t->e, (HANDLE)0x7777), ERROR_INVALID_HANDLE);
    assert_int_equal(ipsec_session_close(t->e, h), ERROR_SUCCESS);
}

static void test_second_writer_is_refused_until_first_ends(void **state)
{
    struct test_env *t = *state;
    HANDLE a = open_session(t), b = open_session(t);
    assert_int_equal(ipsec_txn_begin(t->e, a, 0), ERROR_SUCCESS);
    assert_false(ipsec_txn_writer_free(t->e));
    assert_int_equal(ipsec_txn_begin(t->e, b, 0), FWP_E_TIMEOUT);
    /* Readers never wait for the writer. */
    assert_int_equal(ipsec_txn_begin(t->e, b, FWPM_TXN_READ_ONLY), ERROR_SUCCESS);
    assert_int_equal(ipsec_txn_commit(t->e, b), ERROR_SUCCESS);
    assert_int_equal(ipsec_txn_commit(t->e, a), ERROR_SUCCESS);
    assert_true(ipsec_txn_writer_free(t->e));
    assert_int_equal(ipsec_txn_begin(t->e, b, 0), ERROR_SUCCESS);
    /* Closing a session aborts its transaction and frees the writer slot. */
    assert_int_equal(ipsec_session_close(t->e, b), ERROR_SUCCESS);
    assert_true(ipsec_txn_writer_free(t->e));
    assert_int_equal(ipsec_txn_begin(t->e, a, 0), ERROR_SUCCESS);
    assert_int_equal(ipsec_session_close(t->e, a), ERROR_SUCCESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_without_random_source_is_invalid_parameter),
        cmocka_unit_test_setup_teardown(test_open_without_out_handle_is_null_pointer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_with_unknown_session_flag_is_invalid_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_with_overlong_name_is_invalid_parameter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_with_key_of_open_session_is_already_exists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_session_key_gets_random_version4_guid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_session_key_with_failing_random_is_internal_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_cap_is_not_enough_quota, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_null_and_unknown_handles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_removes_the_sessions_key_managers_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_begin_inside_transaction_is_txn_in_progress, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_and_abort_outside_transaction_are_no_txn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_argument_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_writer_is_refused_until_first_ends, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
