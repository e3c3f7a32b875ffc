/*
 * test_api_search.c - DrtStartSearch and the search-context functions:
 * every documented argument code in its documented case.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api/api_fixture.h"

static struct api_fixture fx;
static HDRT drt;
static HANDLE event;
static BYTE target_bytes[32], min_bytes[32], max_bytes[32];
static DRT_DATA target, min_key, max_key;
static DRT_SEARCH_INFO info;

/* Keys are little-endian numbers: pb[31] is the most significant byte. */
static void set_key(BYTE *b, BYTE top, BYTE bottom)
{
    memset(b, 0, 32);
    b[31] = top;
    b[0] = bottom;
}

static int setup(void **state)
{
    fixture_init(&fx);
    fixture_open(&fx);
    drt = fx.instance->handle;
    event = DrtEventCreate(TRUE, FALSE);
    assert_non_null(event);
    set_key(target_bytes, 0x50, 0);
    set_key(min_bytes, 0x10, 0);
    set_key(max_bytes, 0x90, 0);
    target = (DRT_DATA){32, target_bytes};
    min_key = (DRT_DATA){32, min_bytes};
    max_key = (DRT_DATA){32, max_bytes};
    info = (DRT_SEARCH_INFO){
        .dwSize = sizeof(DRT_SEARCH_INFO),
        .cMaxEndpoints = 1,
        .pMaximumKey = &max_key,
        .pMinimumKey = &min_key,
    };
    return 0;
}

static int teardown(void **state)
{
    DrtEventClose(event);
    fixture_fini(&fx);
    assert_int_equal(handle_table_count(HANDLE_TYPE_SEARCH), 0);
    return 0;
}

static HRESULT start(const DRT_SEARCH_INFO *pinfo)
{
    HDRT_SEARCH_CONTEXT s = (HDRT_SEARCH_CONTEXT)(uintptr_t)0x99;
    HRESULT hr = DrtStartSearch(drt, &target, pinfo, 5000, event, NULL, &s);
    if (FAILED(hr)) {
        assert_null(s);
    } else {
        assert_non_null(s);
        assert_int_equal(DrtEndSearch(s), S_OK);
    }
    return hr;
}

static void test_start_rejects_null_search_context_pointer(void **state)
{
    assert_int_equal(DrtStartSearch(drt, &target, &info, 5000, event, NULL, NULL), E_INVALIDARG);
}

static void test_start_rejects_null_key(void **state)
{
    HDRT_SEARCH_CONTEXT s;
    assert_int_equal(DrtStartSearch(drt, NULL, &info, 5000, event, NULL, &s), E_INVALIDARG);
    target.pb = NULL;
    assert_int_equal(start(&info), E_INVALIDARG);
}

static void test_start_rejects_null_event(void **state)
{
    HDRT_SEARCH_CONTEXT s;
    assert_int_equal(DrtStartSearch(drt, &target, &info, 5000, NULL, NULL, &s), E_INVALIDARG);
}

static void test_start_rejects_invalid_drt_handle(void **state)
{
    HDRT_SEARCH_CONTEXT s;
    assert_int_equal(DrtStartSearch(NULL, &target, &info, 5000, event, NULL, &s), E_HANDLE);
    assert_int_equal(DrtStartSearch(fx.transport->handle, &target, &info, 5000, event, NULL, &s),
                     E_HANDLE);
}

static void test_start_rejects_target_key_not_256_bits(void **state)
{
    target.cb = 16;
    assert_int_equal(start(&info), DRT_E_INVALID_KEY_SIZE);
}

static void test_start_rejects_range_keys_not_256_bits(void **state)
{
    min_key.cb = 31;
    assert_int_equal(start(&info), DRT_E_INVALID_KEY_SIZE);
    min_key.cb = 32;
    max_key.cb = 33;
    assert_int_equal(start(&info), DRT_E_INVALID_KEY_SIZE);
}

static void test_start_rejects_search_info_of_wrong_size(void **state)
{
    info.dwSize = sizeof(info) - 4;
    assert_int_equal(start(&info), DRT_E_INVALID_SEARCH_INFO);
    info.dwSize = 0;
    assert_int_equal(start(&info), DRT_E_INVALID_SEARCH_INFO);
}

static void test_start_rejects_zero_max_endpoints(void **state)
{
    info.cMaxEndpoints = 0;
    assert_int_equal(start(&info), DRT_E_INVALID_MAX_ENDPOINTS);
}

static void test_start_rejects_any_match_in_range_with_several_endpoints(void **state)
{
    info.fAnyMatchInRange = TRUE;
    info.cMaxEndpoints = 2;
    assert_int_equal(start(&info), DRT_E_INVALID_MAX_ENDPOINTS);
    info.cMaxEndpoints = 1;
    assert_int_equal(start(&info), S_OK);
}

static void test_start_rejects_only_one_range_bound(void **state)
{
    info.pMinimumKey = NULL;
    assert_int_equal(start(&info), E_INVALIDARG);
    info.pMinimumKey = &min_key;
    info.pMaximumKey = NULL;
    assert_int_equal(start(&info), E_INVALIDARG);
}

static void test_start_rejects_range_bound_with_null_bytes(void **state)
{
    min_key.pb = NULL;
    assert_int_equal(start(&info), E_INVALIDARG);
}

static void test_start_rejects_equal_bounds_that_differ_from_target(void **state)
{
    memcpy(max_bytes, min_bytes, 32);
    assert_int_equal(start(&info), DRT_E_INVALID_SEARCH_RANGE);
}

static void test_start_accepts_exact_search_with_min_equal_max_equal_target(void **state)
{
    memcpy(min_bytes, target_bytes, 32);
    memcpy(max_bytes, target_bytes, 32);
    assert_int_equal(start(&info), S_OK);
}

static void test_start_rejects_target_outside_the_range(void **state)
{
    set_key(target_bytes, 0x95, 0);
    assert_int_equal(start(&info), DRT_E_INVALID_SEARCH_RANGE);
    set_key(target_bytes, 0x0F, 0xFF);
    assert_int_equal(start(&info), DRT_E_INVALID_SEARCH_RANGE);
}

static void test_start_compares_keys_by_their_most_significant_byte_31(void **state)
{
    /* min has a large low byte but a small top byte: it is still below target. */
    set_key(min_bytes, 0x10, 0xFF);
    set_key(target_bytes, 0x11, 0x00);
    assert_int_equal(start(&info), S_OK);
}

static void test_start_rejects_a_wrapping_range(void **state)
{
    /* min above max would be a range through 2^256-1 -> 0; ranges don't wrap. */
    set_key(min_bytes, 0x90, 0);
    set_key(max_bytes, 0x10, 0);
    assert_int_equal(start(&info), DRT_E_INVALID_SEARCH_RANGE);
}

static void test_start_accepts_null_search_info(void **state)
{
    assert_int_equal(start(NULL), S_OK);
}

static void test_start_in_faulted_state_fails(void **state)
{
    fx.instance->status = DRT_FAULTED;
    assert_int_equal(start(&info), DRT_E_FAULTED);
}

static void test_continue_rejects_invalid_handle(void **state)
{
    assert_int_equal(DrtContinueSearch(NULL), E_HANDLE);
    assert_int_equal(DrtContinueSearch(drt), E_HANDLE);
}

static void test_continue_on_a_non_iterative_search_is_unexpected(void **state)
{
    struct drt_search *s;
    assert_int_equal(search_create(fx.instance, false, event, NULL, &s), S_OK);
    assert_int_equal(DrtContinueSearch(s->handle), E_UNEXPECTED);
    assert_int_equal(DrtEndSearch(s->handle), S_OK);
}

static void test_continue_on_a_search_that_is_not_paused(void **state)
{
    /* An iterative search that is still on its way (not paused at a hop)
     * cannot be continued; one the engine does not know is a bad handle. */
    HDRT_SEARCH_CONTEXT h;
    info.fIterative = TRUE;
    assert_int_equal(DrtStartSearch(drt, &target, &info, 5000, event, NULL, &h), S_OK);
    HRESULT hr = DrtContinueSearch(h);
    assert_true(hr == DRT_E_SEARCH_IN_PROGRESS || hr == E_HANDLE);
    assert_int_equal(DrtEndSearch(h), S_OK);
}

static void test_result_size_rejects_null_and_invalid(void **state)
{
    ULONG cb;
    struct drt_search *s;
    assert_int_equal(DrtGetSearchResultSize(drt, &cb), E_HANDLE);
    assert_int_equal(search_create(fx.instance, false, event, NULL, &s), S_OK);
    assert_int_equal(DrtGetSearchResultSize(s->handle, NULL), E_INVALIDARG);
    assert_int_equal(DrtGetSearchResultSize(s->handle, &cb), DRT_E_SEARCH_IN_PROGRESS);
    fx.instance->status = DRT_FAULTED;
    assert_int_equal(DrtGetSearchResultSize(s->handle, &cb), DRT_E_FAULTED);
    assert_int_equal(DrtEndSearch(s->handle), S_OK);
}

static void test_result_rejects_buffer_smaller_than_the_fixed_struct(void **state)
{
    struct drt_search *s;
    DRT_SEARCH_RESULT r;
    assert_int_equal(search_create(fx.instance, false, event, NULL, &s), S_OK);
    assert_int_equal(DrtGetSearchResult(s->handle, sizeof(r) - 1, &r), E_INVALIDARG);
    assert_int_equal(DrtGetSearchResult(s->handle, sizeof(r), NULL), E_INVALIDARG);
    assert_int_equal(DrtGetSearchResult(drt, sizeof(r), &r), E_HANDLE);
    assert_int_equal(DrtGetSearchResult(s->handle, sizeof(r), &r), DRT_E_SEARCH_IN_PROGRESS);
    fx.instance->status = DRT_FAULTED;
    assert_int_equal(DrtGetSearchResult(s->handle, sizeof(r), &r), DRT_E_FAULTED);
    assert_int_equal(DrtEndSearch(s->handle), S_OK);
}

static void test_search_path_rejects_null_and_invalid(void **state)
{
    ULONG cb;
    DRT_ADDRESS_LIST list;
    struct drt_search *s;
    assert_int_equal(DrtGetSearchPathSize(drt, &cb), E_HANDLE);
    assert_int_equal(DrtGetSearchPath(drt, sizeof(list), &list), E_HANDLE);
    assert_int_equal(search_create(fx.instance, false, event, NULL, &s), S_OK);
    assert_int_equal(DrtGetSearchPathSize(s->handle, NULL), E_INVALIDARG);
    assert_int_equal(DrtGetSearchPath(s->handle, sizeof(list), NULL), E_INVALIDARG);
    /* Before the search ends its path is empty. */
    assert_int_equal(DrtGetSearchPathSize(s->handle, &cb), S_OK);
    assert_int_equal(cb, sizeof(DRT_ADDRESS_LIST));
    assert_int_equal(DrtGetSearchPath(s->handle, sizeof(list), &list), S_OK);
    assert_int_equal(list.AddressCount, 0);
    assert_int_equal(DrtEndSearch(s->handle), S_OK);
}

static void test_end_search_rejects_invalid_handle(void **state)
{
    assert_int_equal(DrtEndSearch(NULL), E_HANDLE);
    assert_int_equal(DrtEndSearch(drt), E_HANDLE);
}

static void test_end_search_invalidates_the_handle(void **state)
{
    struct drt_search *s;
    assert_int_equal(search_create(fx.instance, false, event, NULL, &s), S_OK);
    HDRT_SEARCH_CONTEXT h = s->handle;
    assert_int_equal(DrtEndSearch(h), S_OK);
    assert_int_equal(DrtEndSearch(h), E_HANDLE);
}

static void test_end_search_of_a_closed_instance_is_unexpected(void **state)
{
    struct drt_search *s;
    assert_int_equal(search_create(fx.instance, false, event, NULL, &s), S_OK);
    DrtClose(drt);
    fx.instance = NULL;
    assert_int_equal(DrtEndSearch(s->handle), E_UNEXPECTED);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_start_rejects_null_search_context_pointer),
        T(test_start_rejects_null_key),
        T(test_start_rejects_null_event),
        T(test_start_rejects_invalid_drt_handle),
        T(test_start_rejects_target_key_not_256_bits),
        T(test_start_rejects_range_keys_not_256_bits),
        T(test_start_rejects_search_info_of_wrong_size),
        T(test_start_rejects_zero_max_endpoints),
        T(test_start_rejects_any_match_in_range_with_several_endpoints),
        T(test_start_rejects_only_one_range_bound),
        T(test_start_rejects_range_bound_with_null_bytes),
        T(test_start_rejects_equal_bounds_that_differ_from_target),
        T(test_start_accepts_exact_search_with_min_equal_max_equal_target),
        T(test_start_rejects_target_outside_the_range),
        T(test_start_compares_keys_by_their_most_significant_byte_31),
        T(test_start_rejects_a_wrapping_range),
        T(test_start_accepts_null_search_info),
        T(test_start_in_faulted_state_fails),
        T(test_continue_rejects_invalid_handle),
        T(test_continue_on_a_non_iterative_search_is_unexpected),
        T(test_continue_on_a_search_that_is_not_paused),
        T(test_result_size_rejects_null_and_invalid),
        T(test_result_rejects_buffer_smaller_than_the_fixed_struct),
        T(test_search_path_rejects_null_and_invalid),
        T(test_end_search_rejects_invalid_handle),
        T(test_end_search_invalidates_the_handle),
        T(test_end_search_of_a_closed_instance_is_unexpected),
    };
    return cmocka_run_group_tests_name("drt_search", tests, NULL, NULL);
}
