/*
 * test_api_register.c - DrtRegisterKey, DrtUpdateKey, DrtUnregisterKey:
 * every documented argument code in its documented case.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include "api/api_fixture.h"

static struct api_fixture fx;
static HDRT drt;

static int setup(void **state)
{
    fixture_init(&fx);
    fixture_open(&fx);
    drt = fx.instance->handle;
    return 0;
}

static int teardown(void **state)
{
    fixture_fini(&fx);
    assert_int_equal(handle_table_count(HANDLE_TYPE_REGISTRATION), 0);
    return 0;
}

static void test_register_rejects_null_registration(void **state)
{
    HDRT_REGISTRATION_CONTEXT h;
    assert_int_equal(DrtRegisterKey(drt, NULL, NULL, &h), E_INVALIDARG);
}

static void test_register_rejects_null_handle_pointer(void **state)
{
    assert_int_equal(DrtRegisterKey(drt, &fx.registration, NULL, NULL), E_INVALIDARG);
}

static void test_register_rejects_null_key_pointer(void **state)
{
    HDRT_REGISTRATION_CONTEXT h;
    fx.registration.key.pb = NULL;
    assert_int_equal(DrtRegisterKey(drt, &fx.registration, NULL, &h), E_INVALIDARG);
}

static void test_register_rejects_empty_app_data(void **state)
{
    HDRT_REGISTRATION_CONTEXT h;
    fx.registration.appData.cb = 0;
    assert_int_equal(DrtRegisterKey(drt, &fx.registration, NULL, &h), E_INVALIDARG);
}

static void test_register_rejects_app_data_over_5120_bytes(void **state)
{
    HDRT_REGISTRATION_CONTEXT h;
    fx.registration.appData.cb = DRT_MAX_PAYLOAD_SIZE + 1;
    assert_int_equal(DrtRegisterKey(drt, &fx.registration, NULL, &h), E_INVALIDARG);
}

static void test_register_accepts_app_data_of_exactly_5120_bytes(void **state)
{
    HDRT_REGISTRATION_CONTEXT h;
    fx.registration.appData.cb = DRT_MAX_PAYLOAD_SIZE;
    assert_int_equal(DrtRegisterKey(drt, &fx.registration, NULL, &h), S_OK);
    assert_non_null(h);
    /* The same key twice in one DRT. */
    HDRT_REGISTRATION_CONTEXT h2;
    assert_int_equal(DrtRegisterKey(drt, &fx.registration, NULL, &h2), DRT_E_DUPLICATE_KEY);
    assert_null(h2);
    DrtUnregisterKey(h);
}

static void test_register_rejects_null_app_data_pointer(void **state)
{
    HDRT_REGISTRATION_CONTEXT h;
    fx.registration.appData.pb = NULL;
    assert_int_equal(DrtRegisterKey(drt, &fx.registration, NULL, &h), E_INVALIDARG);
}

static void test_register_rejects_invalid_drt_handle(void **state)
{
    HDRT_REGISTRATION_CONTEXT h;
    assert_int_equal(DrtRegisterKey(NULL, &fx.registration, NULL, &h), E_HANDLE);
    assert_int_equal(DrtRegisterKey((HDRT)(uintptr_t)0x77, &fx.registration, NULL, &h), E_HANDLE);
}

static void test_register_rejects_a_closed_drt_handle(void **state)
{
    HDRT_REGISTRATION_CONTEXT h;
    DrtClose(drt);
    fx.instance = NULL;
    assert_int_equal(DrtRegisterKey(drt, &fx.registration, NULL, &h), E_HANDLE);
}

static void test_register_rejects_a_registration_handle_as_drt_handle(void **state)
{
    HDRT_REGISTRATION_CONTEXT h;
    struct drt_registration *reg;
    assert_int_equal(registration_create(fx.instance, &reg), S_OK);
    assert_int_equal(DrtRegisterKey(reg->handle, &fx.registration, NULL, &h), E_HANDLE);
    DrtUnregisterKey(reg->handle);
}

static void test_register_rejects_key_size_other_than_256_bits(void **state)
{
    HDRT_REGISTRATION_CONTEXT h;
    const ULONG sizes[] = {0, 1, 31, 33, 64};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        fx.registration.key.cb = sizes[i];
        assert_int_equal(DrtRegisterKey(drt, &fx.registration, NULL, &h), DRT_E_INVALID_KEY_SIZE);
    }
}

static void test_register_in_faulted_state_fails(void **state)
{
    HDRT_REGISTRATION_CONTEXT h;
    fx.instance->status = DRT_FAULTED;
    assert_int_equal(DrtRegisterKey(drt, &fx.registration, NULL, &h), DRT_E_FAULTED);
}

static void test_register_is_accepted_in_active_alone_and_no_network(void **state)
{
    HDRT_REGISTRATION_CONTEXT h;
    const DRT_STATUS ok_states[] = {DRT_ACTIVE, DRT_ALONE, DRT_NO_NETWORK};
    for (size_t i = 0; i < 3; i++) {
        fx.instance->status = ok_states[i];
        fx.key[0] = (BYTE)(100 + i);
        assert_int_equal(DrtRegisterKey(drt, &fx.registration, NULL, &h), S_OK);
        DrtUnregisterKey(h);
    }
}

static void test_update_rejects_null_app_data(void **state)
{
    struct drt_registration *reg;
    assert_int_equal(registration_create(fx.instance, &reg), S_OK);
    assert_int_equal(DrtUpdateKey(reg->handle, NULL), E_INVALIDARG);
    DrtUnregisterKey(reg->handle);
}

static void test_update_rejects_app_data_size_out_of_range(void **state)
{
    struct drt_registration *reg;
    DRT_DATA d = {DRT_MAX_PAYLOAD_SIZE + 1, fx.data};
    assert_int_equal(registration_create(fx.instance, &reg), S_OK);
    assert_int_equal(DrtUpdateKey(reg->handle, &d), E_INVALIDARG);
    d.cb = 0;
    assert_int_equal(DrtUpdateKey(reg->handle, &d), E_INVALIDARG);
    d.cb = 1;
    d.pb = NULL;
    assert_int_equal(DrtUpdateKey(reg->handle, &d), E_INVALIDARG);
    DrtUnregisterKey(reg->handle);
}

static void test_update_rejects_invalid_registration_handle(void **state)
{
    DRT_DATA d = {4, fx.data};
    assert_int_equal(DrtUpdateKey(NULL, &d), E_HANDLE);
    assert_int_equal(DrtUpdateKey(drt, &d), E_HANDLE); /* a DRT is not a registration */
}

static void test_update_with_valid_arguments_replaces_the_data(void **state)
{
    HDRT_REGISTRATION_CONTEXT h;
    DRT_DATA d = {DRT_MAX_PAYLOAD_SIZE, fx.data};
    assert_int_equal(DrtRegisterKey(drt, &fx.registration, NULL, &h), S_OK);
    assert_int_equal(DrtUpdateKey(h, &d), S_OK);
    DrtUnregisterKey(h);
    assert_int_equal(DrtUpdateKey(h, &d), E_HANDLE);
}

static void test_unregister_invalidates_the_handle(void **state)
{
    struct drt_registration *reg;
    DRT_DATA d = {4, fx.data};
    assert_int_equal(registration_create(fx.instance, &reg), S_OK);
    HDRT_REGISTRATION_CONTEXT h = reg->handle;
    DrtUnregisterKey(h);
    assert_int_equal(DrtUpdateKey(h, &d), E_HANDLE);
    DrtUnregisterKey(h); /* harmless twice */
    DrtUnregisterKey(NULL);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_register_rejects_null_registration),
        T(test_register_rejects_null_handle_pointer),
        T(test_register_rejects_null_key_pointer),
        T(test_register_rejects_empty_app_data),
        T(test_register_rejects_app_data_over_5120_bytes),
        T(test_register_accepts_app_data_of_exactly_5120_bytes),
        T(test_register_rejects_null_app_data_pointer),
        T(test_register_rejects_invalid_drt_handle),
        T(test_register_rejects_a_closed_drt_handle),
        T(test_register_rejects_a_registration_handle_as_drt_handle),
        T(test_register_rejects_key_size_other_than_256_bits),
        T(test_register_in_faulted_state_fails),
        T(test_register_is_accepted_in_active_alone_and_no_network),
        T(test_update_rejects_null_app_data),
        T(test_update_rejects_app_data_size_out_of_range),
        T(test_update_rejects_invalid_registration_handle),
        T(test_update_with_valid_arguments_replaces_the_data),
        T(test_unregister_invalidates_the_handle),
    };
    return cmocka_run_group_tests_name("drt_register", tests, NULL, NULL);
}
