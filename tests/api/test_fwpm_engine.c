/*
 * test_fwpm_engine.c - FwpmEngineOpen0/Close0, FwpmTransaction*0 and
 * FwpmFreeMemory0 through the public API (reference §4.1-§4.3): one test
 * per return code in its documented case, plus our documented choices.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "fwpm_fixture.h"

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void test_open_local_engine_succeeds_with_both_authn_services(void **state)
{
    (void)state;
    HANDLE a, b;
    assert_int_equal(FwpmEngineOpen0(NULL, RPC_C_AUTHN_WINNT, NULL, NULL, &a), ERROR_SUCCESS);
    assert_int_equal(FwpmEngineOpen0(NULL, RPC_C_AUTHN_DEFAULT, NULL, NULL, &b), ERROR_SUCCESS);
    assert_ptr_not_equal(a, b);
    fx_close(a);
    fx_close(b);
}

static void test_open_remote_server_is_rpc_call_rejected(void **state)
{
    (void)state;
    HANDLE h = (HANDLE)1;
    assert_int_equal(FwpmEngineOpen0(L"otherhost", RPC_C_AUTHN_WINNT, NULL, NULL, &h),
                     RPC_E_CALL_REJECTED);
    assert_null(h);
}

static void test_open_with_other_authn_service_is_invalid_parameter(void **state)
{
    (void)state;
    HANDLE h;
    assert_int_equal(FwpmEngineOpen0(NULL, 9 /* RPC_C_AUTHN_GSS_KERBEROS-ish */, NULL, NULL, &h),
                     ERROR_INVALID_PARAMETER);
    assert_int_equal(FwpmEngineOpen0(NULL, 0, NULL, NULL, &h), ERROR_INVALID_PARAMETER);
}

static void test_open_with_explicit_identity_is_not_supported(void **state)
{
    (void)state;
    SEC_WINNT_AUTH_IDENTITY_W id = {.Flags = SEC_WINNT_AUTH_IDENTITY_UNICODE};
    HANDLE h;
    assert_int_equal(FwpmEngineOpen0(NULL, RPC_C_AUTHN_WINNT, &id, NULL, &h), ERROR_NOT_SUPPORTED);
}

static void test_open_without_out_handle_is_null_pointer(void **state)
{
    (void)state;
    assert_int_equal(FwpmEngineOpen0(NULL, RPC_C_AUTHN_WINNT, NULL, NULL, NULL),
                     FWP_E_NULL_POINTER);
}

static void test_open_with_unknown_session_flag_is_invalid_flags(void **state)
{
    (void)state;
    FWPM_SESSION0 s = {.flags = FWPM_SESSION_FLAG_RESERVED};
    HANDLE h;
    assert_int_equal(FwpmEngineOpen0(NULL, RPC_C_AUTHN_WINNT, NULL, &s, &h), FWP_E_INVALID_FLAGS);
}

static void test_open_with_session_key_in_use_is_already_exists(void **state)
{
    (void)state;
    FWPM_SESSION0 s = {.sessionKey = {0x1234, 1, 2, {3}}};
    HANDLE a, b;
    assert_int_equal(FwpmEngineOpen0(NULL, RPC_C_AUTHN_WINNT, NULL, &s, &a), ERROR_SUCCESS);
    assert_int_equal(FwpmEngineOpen0(NULL, RPC_C_AUTHN_WINNT, NULL, &s, &b), FWP_E_ALREADY_EXISTS);
    fx_close(a);
}

static void test_close_null_is_null_pointer_and_stale_is_invalid_handle(void **state)
{
    (void)state;
    assert_int_equal(FwpmEngineClose0(NULL), FWP_E_NULL_POINTER);
    HANDLE h = fx_open(0);
    fx_close(h);
    assert_int_equal(FwpmEngineClose0(h), ERROR_INVALID_HANDLE);
}

static void test_begin_inside_transaction_is_txn_in_progress(void **state)
{
    (void)state;
    HANDLE h = fx_open(0);
    assert_int_equal(FwpmTransactionBegin0(h, 0), ERROR_SUCCESS);
    assert_int_equal(FwpmTransactionBegin0(h, FWPM_TXN_READ_ONLY), FWP_E_TXN_IN_PROGRESS);
    assert_int_equal(FwpmTransactionCommit0(h), ERROR_SUCCESS);
    fx_close(h);
}

static void test_commit_or_abort_without_transaction_is_no_txn_in_progress(void **state)
{
    (void)state;
    HANDLE h = fx_open(0);
    assert_int_equal(FwpmTransactionCommit0(h), FWP_E_NO_TXN_IN_PROGRESS);
    assert_int_equal(FwpmTransactionAbort0(h), FWP_E_NO_TXN_IN_PROGRESS);
    assert_int_equal(FwpmTransactionBegin0(h, FWPM_TXN_READ_ONLY), ERROR_SUCCESS);
    assert_int_equal(FwpmTransactionAbort0(h), ERROR_SUCCESS);
    assert_int_equal(FwpmTransactionCommit0(h), FWP_E_NO_TXN_IN_PROGRESS);
    fx_close(h);
}

static void test_begin_with_unknown_flag_is_invalid_flags(void **state)
{
    (void)state;
    HANDLE h = fx_open(0);
    assert_int_equal(FwpmTransactionBegin0(h, 0x80), FWP_E_INVALID_FLAGS);
    assert_int_equal(FwpmTransactionBegin0(NULL, 0), FWP_E_NULL_POINTER);
    fx_close(h);
    assert_int_equal(FwpmTransactionBegin0(h, 0), ERROR_INVALID_HANDLE);
}

static void test_close_aborts_the_open_transaction(void **state)
{
    (void)state;
    HANDLE a = fx_open(0), b = fx_open(20);
    assert_int_equal(FwpmTransactionBegin0(a, 0), ERROR_SUCCESS);
    fx_close(a);
    /* a's write lock went with it: b does not wait. */
    assert_int_equal(FwpmTransactionBegin0(b, 0), ERROR_SUCCESS);
    fx_close(b);
}

static void test_second_writer_times_out_after_its_wait(void **state)
{
    (void)state;
    HANDLE a = fx_open(0), b = fx_open(40);
    assert_int_equal(FwpmTransactionBegin0(a, 0), ERROR_SUCCESS);
    uint64_t t0 = now_ms();
    assert_int_equal(FwpmTransactionBegin0(b, 0), FWP_E_TIMEOUT);
    uint64_t waited = now_ms() - t0;
    assert_true(waited >= 39);
    assert_true(waited < 10000);
    /* Readers do not wait for the writer. */
    assert_int_equal(FwpmTransactionBegin0(b, FWPM_TXN_READ_ONLY), ERROR_SUCCESS);
    assert_int_equal(FwpmTransactionCommit0(b), ERROR_SUCCESS);
    assert_int_equal(FwpmTransactionAbort0(a), ERROR_SUCCESS);
    fx_close(a);
    fx_close(b);
}

struct waiter {
    HANDLE h;
    DWORD rc;
};

static void *begin_thread(void *arg)
{
    struct waiter *w = arg;
    w->rc = FwpmTransactionBegin0(w->h, 0);
    return NULL;
}

static void test_waiting_writer_gets_the_transaction_when_first_commits(void **state)
{
    (void)state;
    HANDLE a = fx_open(0);
    struct waiter w = {.h = fx_open(20000), .rc = 1};
    assert_int_equal(FwpmTransactionBegin0(a, 0), ERROR_SUCCESS);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, begin_thread, &w), 0);
    /* Whether the thread is already waiting or not, it must end up with the
     * transaction once a commits, well before its 20 s wait. */
    nanosleep(&(struct timespec){.tv_nsec = 20 * 1000000L}, NULL);
    uint64_t t0 = now_ms();
    assert_int_equal(FwpmTransactionCommit0(a), ERROR_SUCCESS);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(w.rc, ERROR_SUCCESS);
    assert_true(now_ms() - t0 < 10000);
    assert_int_equal(FwpmTransactionCommit0(w.h), ERROR_SUCCESS);
    fx_close(a);
    fx_close(w.h);
}

static void test_free_memory_frees_and_clears_and_tolerates_null(void **state)
{
    (void)state;
    void *p = malloc(16);
    FwpmFreeMemory0(&p);
    assert_null(p);
    FwpmFreeMemory0(&p);
    FwpmFreeMemory0(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_local_engine_succeeds_with_both_authn_services),
        cmocka_unit_test(test_open_remote_server_is_rpc_call_rejected),
        cmocka_unit_test(test_open_with_other_authn_service_is_invalid_parameter),
        cmocka_unit_test(test_open_with_explicit_identity_is_not_supported),
        cmocka_unit_test(test_open_without_out_handle_is_null_pointer),
        cmocka_unit_test(test_open_with_unknown_session_flag_is_invalid_flags),
        cmocka_unit_test(test_open_with_session_key_in_use_is_already_exists),
        cmocka_unit_test(test_close_null_is_null_pointer_and_stale_is_invalid_handle),
        cmocka_unit_test(test_begin_inside_transaction_is_txn_in_progress),
        cmocka_unit_test(test_commit_or_abort_without_transaction_is_no_txn_in_progress),
        cmocka_unit_test(test_begin_with_unknown_flag_is_invalid_flags),
        cmocka_unit_test(test_close_aborts_the_open_transaction),
        cmocka_unit_test(test_second_writer_times_out_after_its_wait),
        cmocka_unit_test(test_waiting_writer_gets_the_transaction_when_first_commits),
        cmocka_unit_test(test_free_memory_frees_and_clears_and_tolerates_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
