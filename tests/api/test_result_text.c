/* test_result_text.c - HRESULT codes in words. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "util/result_text.h"

static void test_duplicate_key_is_named_with_its_value_and_meaning(void **state)
{
    char buf[128];
    assert_string_equal(result_describe(DRT_E_DUPLICATE_KEY, buf, sizeof(buf)),
                        "DRT_E_DUPLICATE_KEY (0x80622009): key already registered");
}

static void test_every_drt_code_has_a_name_matching_its_macro(void **state)
{
    assert_string_equal(result_name(DRT_E_TIMEOUT), "DRT_E_TIMEOUT");
    assert_string_equal(result_name(DRT_S_RETRY), "DRT_S_RETRY");
    assert_string_equal(result_name(DRT_E_CAPABILITY_MISMATCH), "DRT_E_CAPABILITY_MISMATCH");
    assert_string_equal(result_name(E_INVALIDARG), "E_INVALIDARG");
    /* Every code in the DRT facility from 0x1001 to 0x210f that exists has a name. */
    const HRESULT all[] = {
        DRT_E_TIMEOUT, DRT_E_INVALID_KEY_SIZE, DRT_E_INVALID_CERT_CHAIN, DRT_E_INVALID_MESSAGE,
        DRT_E_NO_MORE, DRT_E_INVALID_MAX_ADDRESSES, DRT_E_SEARCH_IN_PROGRESS, DRT_E_INVALID_KEY,
        DRT_S_RETRY, DRT_E_INVALID_MAX_ENDPOINTS, DRT_E_INVALID_SEARCH_RANGE, DRT_E_INVALID_PORT,
        DRT_E_INVALID_TRANSPORT_PROVIDER, DRT_E_INVALID_SECURITY_PROVIDER, DRT_E_STILL_IN_USE,
        DRT_E_INVALID_BOOTSTRAP_PROVIDER, DRT_E_INVALID_ADDRESS, DRT_E_INVALID_SCOPE,
        DRT_E_TRANSPORT_SHUTTING_DOWN, DRT_E_NO_ADDRESSES_AVAILABLE, DRT_E_DUPLICATE_KEY,
        DRT_E_TRANSPORTPROVIDER_IN_USE, DRT_E_TRANSPORTPROVIDER_NOT_ATTACHED,
        DRT_E_SECURITYPROVIDER_IN_USE, DRT_E_SECURITYPROVIDER_NOT_ATTACHED,
        DRT_E_BOOTSTRAPPROVIDER_IN_USE, DRT_E_BOOTSTRAPPROVIDER_NOT_ATTACHED,
        DRT_E_TRANSPORT_ALREADY_BOUND, DRT_E_TRANSPORT_NOT_BOUND, DRT_E_TRANSPORT_UNEXPECTED,
        DRT_E_TRANSPORT_INVALID_ARGUMENT, DRT_E_TRANSPORT_NO_DEST_ADDRESSES,
        DRT_E_TRANSPORT_EXECUTING_CALLBACK, DRT_E_TRANSPORT_ALREADY_EXISTS_FOR_SCOPE,
        DRT_E_INVALID_SETTINGS, DRT_E_INVALID_SEARCH_INFO, DRT_E_FAULTED,
        DRT_E_TRANSPORT_STILL_BOUND, DRT_E_INSUFFICIENT_BUFFER, DRT_E_INVALID_INSTANCE_PREFIX,
        DRT_E_INVALID_SECURITY_MODE, DRT_E_CAPABILITY_MISMATCH,
    };
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        assert_non_null(result_name(all[i]));
        assert_non_null(result_meaning(all[i]));
        assert_true(strncmp(result_name(all[i]), "DRT_", 4) == 0);
    }
}

static void test_unknown_code_is_printed_as_hex_only(void **state)
{
    char buf[32];
    assert_null(result_name((HRESULT)0x80621003));
    assert_string_equal(result_describe((HRESULT)0x80621003, buf, sizeof(buf)), "0x80621003");
}

static void test_describe_truncates_safely_into_a_small_buffer(void **state)
{
    char buf[8];
    result_describe(DRT_E_DUPLICATE_KEY, buf, sizeof(buf));
    assert_int_equal(strlen(buf), 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duplicate_key_is_named_with_its_value_and_meaning),
        cmocka_unit_test(test_every_drt_code_has_a_name_matching_its_macro),
        cmocka_unit_test(test_unknown_code_is_printed_as_hex_only),
        cmocka_unit_test(test_describe_truncates_safely_into_a_small_buffer),
    };
    return cmocka_run_group_tests_name("result_text", tests, NULL, NULL);
}
