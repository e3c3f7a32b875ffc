/*
 * test_struct_layout.c - the structure sizes and member offsets of <drt.h>
 * against the x64 Windows layout (shared/reference/drt-api.md §4), so that
 * the same source sees the same structures. Only meaningful on an LP64 ABI.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <drt.h>

#if UINTPTR_MAX == 0xFFFFFFFFFFFFFFFFu
#define LP64_ONLY 1
#else
#define LP64_ONLY 0
#endif

static void test_sizes_match_windows_x64(void **state)
{
    if (!LP64_ONLY)
        skip(); /* the reference gives x64 figures; other ABIs differ by design */
    assert_int_equal(sizeof(DRT_DATA), 16);
    assert_int_equal(sizeof(DRT_REGISTRATION), 32);
    assert_int_equal(sizeof(DRT_SETTINGS), 56);
    assert_int_equal(sizeof(DRT_SEARCH_INFO), 40);
    assert_int_equal(sizeof(DRT_SEARCH_RESULT), 48);
    assert_int_equal(sizeof(DRT_ADDRESS), 144);
    assert_int_equal(offsetof(DRT_ADDRESS_LIST, AddressList), 8);
    assert_int_equal(sizeof(DRT_EVENT_DATA), 56);
    assert_int_equal(sizeof(DRT_SECURITY_PROVIDER), 14 * sizeof(void *));
    assert_int_equal(sizeof(DRT_BOOTSTRAP_PROVIDER), 8 * sizeof(void *));
}

static void test_settings_offsets_match_windows_x64(void **state)
{
    if (!LP64_ONLY)
        skip();
    assert_int_equal(offsetof(DRT_SETTINGS, dwSize), 0);
    assert_int_equal(offsetof(DRT_SETTINGS, cbKey), 4);
    assert_int_equal(offsetof(DRT_SETTINGS, bProtocolMajorVersion), 8);
    assert_int_equal(offsetof(DRT_SETTINGS, bProtocolMinorVersion), 9);
    assert_int_equal(offsetof(DRT_SETTINGS, ulMaxRoutingAddresses), 12);
    assert_int_equal(offsetof(DRT_SETTINGS, pwzDrtInstancePrefix), 16);
    assert_int_equal(offsetof(DRT_SETTINGS, hTransport), 24);
    assert_int_equal(offsetof(DRT_SETTINGS, pSecurityProvider), 32);
    assert_int_equal(offsetof(DRT_SETTINGS, pBootstrapProvider), 40);
    assert_int_equal(offsetof(DRT_SETTINGS, eSecurityMode), 48);
}

static void test_member_order_matches_the_windows_header(void **state)
{
    /* Maximum before minimum in DRT_SEARCH_INFO. */
    assert_true(offsetof(DRT_SEARCH_INFO, pMaximumKey) < offsetof(DRT_SEARCH_INFO, pMinimumKey));
    assert_true(offsetof(DRT_EVENT_DATA, hr) < offsetof(DRT_EVENT_DATA, pvContext));
    assert_true(offsetof(DRT_EVENT_DATA, pvContext) < offsetof(DRT_EVENT_DATA, leafsetKeyChange));
    assert_int_equal(offsetof(DRT_EVENT_DATA, leafsetKeyChange),
                     offsetof(DRT_EVENT_DATA, statusChange));
    assert_int_equal(offsetof(DRT_SECURITY_PROVIDER, pvContext), 0);
    assert_int_equal(offsetof(DRT_SECURITY_PROVIDER, VerifyData), 13 * sizeof(void *));
    assert_int_equal(offsetof(DRT_SECURITY_PROVIDER, FreeData), 7 * sizeof(void *));
    assert_int_equal(offsetof(DRT_BOOTSTRAP_PROVIDER, Unregister), 7 * sizeof(void *));
    assert_int_equal(offsetof(DRT_BOOTSTRAP_PROVIDER, IssueResolve), 4 * sizeof(void *));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes_match_windows_x64),
        cmocka_unit_test(test_settings_offsets_match_windows_x64),
        cmocka_unit_test(test_member_order_matches_the_windows_header),
    };
    return cmocka_run_group_tests_name("struct_layout", tests, NULL, NULL);
}
