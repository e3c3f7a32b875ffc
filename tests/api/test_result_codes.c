/*
 * test_result_codes.c - every HRESULT in <drt.h> against a table typed from
 * the reference (shared/reference/drt-api.md §2), and the enum values of §3.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <drt.h>

struct code {
    const char *name;
    HRESULT value;
    uint32_t expected;
};

#define C(name, literal) {#name, name, literal}

static const struct code codes[] = {
    C(DRT_E_TIMEOUT, 0x80621001u),
    C(DRT_E_INVALID_KEY_SIZE, 0x80621002u),
    C(DRT_E_INVALID_CERT_CHAIN, 0x80621004u),
    C(DRT_E_INVALID_MESSAGE, 0x80621005u),
    C(DRT_E_NO_MORE, 0x80621006u),
    C(DRT_E_INVALID_MAX_ADDRESSES, 0x80621007u),
    C(DRT_E_SEARCH_IN_PROGRESS, 0x80621008u),
    C(DRT_E_INVALID_KEY, 0x80621009u),
    C(DRT_S_RETRY, 0x00621010u),
    C(DRT_E_INVALID_MAX_ENDPOINTS, 0x80621011u),
    C(DRT_E_INVALID_SEARCH_RANGE, 0x80621012u),
    C(DRT_E_INVALID_PORT, 0x80622000u),
    C(DRT_E_INVALID_TRANSPORT_PROVIDER, 0x80622001u),
    C(DRT_E_INVALID_SECURITY_PROVIDER, 0x80622002u),
    C(DRT_E_STILL_IN_USE, 0x80622003u),
    C(DRT_E_INVALID_BOOTSTRAP_PROVIDER, 0x80622004u),
    C(DRT_E_INVALID_ADDRESS, 0x80622005u),
    C(DRT_E_INVALID_SCOPE, 0x80622006u),
    C(DRT_E_TRANSPORT_SHUTTING_DOWN, 0x80622007u),
    C(DRT_E_NO_ADDRESSES_AVAILABLE, 0x80622008u),
    C(DRT_E_DUPLICATE_KEY, 0x80622009u),
    C(DRT_E_TRANSPORTPROVIDER_IN_USE, 0x8062200Au),
    C(DRT_E_TRANSPORTPROVIDER_NOT_ATTACHED, 0x8062200Bu),
    C(DRT_E_SECURITYPROVIDER_IN_USE, 0x8062200Cu),
    C(DRT_E_SECURITYPROVIDER_NOT_ATTACHED, 0x8062200Du),
    C(DRT_E_BOOTSTRAPPROVIDER_IN_USE, 0x8062200Eu),
    C(DRT_E_BOOTSTRAPPROVIDER_NOT_ATTACHED, 0x8062200Fu),
    C(DRT_E_TRANSPORT_ALREADY_BOUND, 0x80622101u),
    C(DRT_E_TRANSPORT_NOT_BOUND, 0x80622102u),
    C(DRT_E_TRANSPORT_UNEXPECTED, 0x80622103u),
    C(DRT_E_TRANSPORT_INVALID_ARGUMENT, 0x80622104u),
    C(DRT_E_TRANSPORT_NO_DEST_ADDRESSES, 0x80622105u),
    C(DRT_E_TRANSPORT_EXECUTING_CALLBACK, 0x80622106u),
    C(DRT_E_TRANSPORT_ALREADY_EXISTS_FOR_SCOPE, 0x80622107u),
    C(DRT_E_INVALID_SETTINGS, 0x80622108u),
    C(DRT_E_INVALID_SEARCH_INFO, 0x80622109u),
    C(DRT_E_FAULTED, 0x8062210Au),
    C(DRT_E_TRANSPORT_STILL_BOUND, 0x8062210Bu),
    C(DRT_E_INSUFFICIENT_BUFFER, 0x8062210Cu),
    C(DRT_E_INVALID_INSTANCE_PREFIX, 0x8062210Du),
    C(DRT_E_INVALID_SECURITY_MODE, 0x8062210Eu),
    C(DRT_E_CAPABILITY_MISMATCH, 0x8062210Fu),
    C(S_OK, 0x00000000u),
    C(E_INVALIDARG, 0x80070057u),
    C(E_HANDLE, 0x80070006u),
    C(E_OUTOFMEMORY, 0x8007000Eu),
    C(E_UNEXPECTED, 0x8000FFFFu),
    C(E_FAIL, 0x80004005u),
    C(E_NOTIMPL, 0x80004001u),
};

static void test_every_hresult_matches_the_reference_table(void **state)
{
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        if ((uint32_t)codes[i].value != codes[i].expected)
            fail_msg("%s is 0x%08X, reference says 0x%08X", codes[i].name,
                     (unsigned)(uint32_t)codes[i].value, (unsigned)codes[i].expected);
    }
}

static void test_drt_codes_use_facility_98(void **state)
{
    assert_int_equal(FACILITY_DRT, 98);
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        if (codes[i].expected >> 16 == 0x8062 || codes[i].expected >> 16 == 0x0062)
            assert_int_equal(HRESULT_FACILITY(codes[i].value), 98);
    }
}

static void test_retry_is_a_success_code_and_errors_fail(void **state)
{
    assert_true(SUCCEEDED(DRT_S_RETRY));
    assert_false(FAILED(DRT_S_RETRY));
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        if (codes[i].expected & 0x80000000u)
            assert_true(FAILED(codes[i].value));
        else
            assert_true(SUCCEEDED(codes[i].value));
    }
}

static void test_every_drt_code_is_distinct(void **state)
{
    size_t n = sizeof(codes) / sizeof(codes[0]);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (codes[i].value == codes[j].value)
                fail_msg("%s and %s share a value", codes[i].name, codes[j].name);
}

static void test_enum_values_match_the_reference(void **state)
{
    assert_int_equal(DRT_GLOBAL_SCOPE, 1);
    assert_int_equal(DRT_SITE_LOCAL_SCOPE, 2);
    assert_int_equal(DRT_LINK_LOCAL_SCOPE, 3);
    assert_int_equal(DRT_ACTIVE, 0);
    assert_int_equal(DRT_ALONE, 1);
    assert_int_equal(DRT_NO_NETWORK, 10);
    assert_int_equal(DRT_FAULTED, 20);
    assert_int_equal(DRT_MATCH_EXACT, 0);
    assert_int_equal(DRT_MATCH_NEAR, 1);
    assert_int_equal(DRT_MATCH_INTERMEDIATE, 2);
    assert_int_equal(DRT_LEAFSET_KEY_ADDED, 0);
    assert_int_equal(DRT_LEAFSET_KEY_DELETED, 1);
    assert_int_equal(DRT_EVENT_STATUS_CHANGED, 0);
    assert_int_equal(DRT_EVENT_LEAFSET_KEY_CHANGED, 1);
    assert_int_equal(DRT_EVENT_REGISTRATION_STATE_CHANGED, 2);
    assert_int_equal(DRT_SECURE_RESOLVE, 0);
    assert_int_equal(DRT_SECURE_MEMBERSHIP, 1);
    assert_int_equal(DRT_SECURE_CONFIDENTIALPAYLOAD, 2);
    assert_int_equal(DRT_REGISTRATION_STATE_UNRESOLVEABLE, 1);
    assert_int_equal(DRT_ADDRESS_FLAG_ACCEPTED, 0x01);
    assert_int_equal(DRT_ADDRESS_FLAG_REJECTED, 0x02);
    assert_int_equal(DRT_ADDRESS_FLAG_UNREACHABLE, 0x04);
    assert_int_equal(DRT_ADDRESS_FLAG_LOOP, 0x08);
    assert_int_equal(DRT_ADDRESS_FLAG_TOO_BUSY, 0x10);
    assert_int_equal(DRT_ADDRESS_FLAG_BAD_VALIDATE_ID, 0x20);
    assert_int_equal(DRT_ADDRESS_FLAG_SUSPECT_UNREGISTERED_ID, 0x40);
    assert_int_equal(DRT_ADDRESS_FLAG_INQUIRE, 0x80);
}

static void test_constants_match_the_reference(void **state)
{
    assert_int_equal(DRT_PAYLOAD_REVOKED, 1);
    assert_int_equal(DRT_MIN_ROUTING_ADDRESSES, 1);
    assert_int_equal(DRT_MAX_ROUTING_ADDRESSES, 20);
    assert_int_equal(DRT_MAX_PAYLOAD_SIZE, 5120);
    assert_int_equal(DRT_MAX_INSTANCE_PREFIX_LEN, 128);
    assert_int_equal(DRT_LINK_LOCAL_ISATAP_SCOPEID, 0xffffffffu);
    assert_int_equal(WAIT_OBJECT_0, 0);
    assert_int_equal(WAIT_TIMEOUT, 0x102);
    assert_int_equal(INFINITE, 0xFFFFFFFFu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_hresult_matches_the_reference_table),
        cmocka_unit_test(test_drt_codes_use_facility_98),
        cmocka_unit_test(test_retry_is_a_success_code_and_errors_fail),
        cmocka_unit_test(test_every_drt_code_is_distinct),
        cmocka_unit_test(test_enum_values_match_the_reference),
        cmocka_unit_test(test_constants_match_the_reference),
    };
    return cmocka_run_group_tests_name("result_codes", tests, NULL, NULL);
}
