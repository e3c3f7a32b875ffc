/*
 * test_api_open.c - DrtOpen, DrtClose, the event getters and the instance
 * name: every documented argument code in its documented case.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <wchar.h>

#include <cmocka.h>

#include "api/api_fixture.h"

static struct api_fixture fx;

static int setup(void **state)
{
    fixture_init(&fx);
    return 0;
}

static int teardown(void **state)
{
    fixture_fini(&fx);
    assert_int_equal(handle_table_count(HANDLE_TYPE_INSTANCE), 0);
    return 0;
}

static HDRT not_a_drt = (HDRT)(uintptr_t)0x5a5a5a5a;

static void open_and_close(HDRT *h)
{
    assert_int_equal(DrtOpen(&fx.settings, NULL, NULL, h), DRT_S_RETRY);
    DrtClose(*h);
}

static void test_open_rejects_null_handle_pointer(void **state)
{
    assert_int_equal(DrtOpen(&fx.settings, NULL, NULL, NULL), E_INVALIDARG);
}

static void test_open_rejects_null_settings(void **state)
{
    HDRT h = not_a_drt;
    assert_int_equal(DrtOpen(NULL, NULL, NULL, &h), DRT_E_INVALID_SETTINGS);
    assert_null(h);
}

static void test_open_rejects_settings_of_wrong_size(void **state)
{
    HDRT h;
    fx.settings.dwSize = sizeof(DRT_SETTINGS) - 1;
    assert_int_equal(DrtOpen(&fx.settings, NULL, NULL, &h), DRT_E_INVALID_SETTINGS);
    fx.settings.dwSize = sizeof(DRT_SETTINGS) + 8;
    assert_int_equal(DrtOpen(&fx.settings, NULL, NULL, &h), DRT_E_INVALID_SETTINGS);
}

static void test_open_rejects_key_size_other_than_256_bits(void **state)
{
    HDRT h;
    const ULONG sizes[] = {0, 8, 16, 31, 33, 64};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        fx.settings.cbKey = sizes[i];
        assert_int_equal(DrtOpen(&fx.settings, NULL, NULL, &h), DRT_E_INVALID_KEY_SIZE);
    }
}

static void test_open_rejects_routing_addresses_outside_1_to_20(void **state)
{
    HDRT h;
    fx.settings.ulMaxRoutingAddresses = 0;
    assert_int_equal(DrtOpen(&fx.settings, NULL, NULL, &h), DRT_E_INVALID_MAX_ADDRESSES);
    fx.settings.ulMaxRoutingAddresses = 21;
    assert_int_equal(DrtOpen(&fx.settings, NULL, NULL, &h), DRT_E_INVALID_MAX_ADDRESSES);
}

static void test_open_accepts_routing_addresses_at_both_bounds(void **state)
{
    HDRT h;
    /* Valid settings get past validation and stop at the unimplemented attach. */
    fx.settings.ulMaxRoutingAddresses = 1;
    open_and_close(&h);
    fx.settings.ulMaxRoutingAddresses = 20;
    open_and_close(&h);
}

static void test_open_rejects_null_transport(void **state)
{
    HDRT h;
    fx.settings.hTransport = NULL;
    assert_int_equal(DrtOpen(&fx.settings, NULL, NULL, &h), DRT_E_INVALID_TRANSPORT_PROVIDER);
}

static void test_open_rejects_a_handle_that_is_not_a_transport(void **state)
{
    HDRT h;
    fx.settings.hTransport = (HDRT_TRANSPORT)(uintptr_t)0x1234;
    assert_int_equal(DrtOpen(&fx.settings, NULL, NULL, &h), DRT_E_INVALID_TRANSPORT_PROVIDER);
}

static void test_open_rejects_a_transport_already_bound(void **state)
{
    HDRT h;
    fixture_open(&fx);
    assert_int_equal(DrtOpen(&fx.settings, NULL, NULL, &h), DRT_E_TRANSPORTPROVIDER_IN_USE);
}

static void test_open_rejects_unknown_security_mode(void **state)
{
    HDRT h;
    fx.settings.eSecurityMode = (DRT_SECURITY_MODE)3;
    assert_int_equal(DrtOpen(&fx.settings, NULL, NULL, &h), DRT_E_INVALID_SECURITY_MODE);
    fx.settings.eSecurityMode = (DRT_SECURITY_MODE)-1;
    assert_int_equal(DrtOpen(&fx.settings, NULL, NULL, &h), DRT_E_INVALID_SECURITY_MODE);
}

static void test_open_rejects_null_security_provider(void **state)
{
    HDRT h;
    fx.settings.pSecurityProvider = NULL;
    assert_int_equal(DrtOpen(&fx.settings, NULL, NULL, &h), DRT_E_INVALID_SECURITY_PROVIDER);
}

static void test_open_rejects_security_provider_missing_a_callback_its_mode_needs(void **state)
{
    HDRT h;
    /* Resolve mode never signs: a provider without SignData is fine there... */
    fx.security.SignData = NULL;
    open_and_close(&h);
    /* ...but membership mode signs every request. */
    fx.settings.eSecurityMode = DRT_SECURE_MEMBERSHIP;
    assert_int_equal(DrtOpen(&fx.settings, NULL, NULL, &h), DRT_E_INVALID_SECURITY_PROVIDER);
    fixture_fini(&fx);
    fixture_init(&fx);
    fx.security.DecryptData = NULL;
    fx.settings.eSecurityMode = DRT_SECURE_MEMBERSHIP;
    /* Membership does not decrypt: the check passes, and DrtOpen goes on
     * to ask for the node's credential, which this provider refuses. */
    assert_int_equal(DrtOpen(&fx.settings, NULL, NULL, &h), E_FAIL);
    assert_null(h);
    fx.settings.eSecurityMode = DRT_SECURE_CONFIDENTIALPAYLOAD;
    assert_int_equal(DrtOpen(&fx.settings, NULL, NULL, &h), DRT_E_INVALID_SECURITY_PROVIDER);
    fixture_fini(&fx);
    fixture_init(&fx);
    fx.security.FreeData = NULL;
    assert_int_equal(DrtOpen(&fx.settings, NULL, NULL, &h), DRT_E_INVALID_SECURITY_PROVIDER);
}

static void test_open_rejects_null_bootstrap_provider(void **state)
{
    HDRT h;
    fx.settings.pBootstrapProvider = NULL;
    assert_int_equal(DrtOpen(&fx.settings, NULL, NULL, &h), DRT_E_INVALID_BOOTSTRAP_PROVIDER);
}

static void test_open_rejects_bootstrap_provider_with_a_null_member(void **state)
{
    HDRT h;
    /* Every one of the seven callbacks is required. */
    for (int member = 0; member < 7; member++) {
        DRT_BOOTSTRAP_PROVIDER saved = fx.bootstrap;
        switch (member) {
        case 0: fx.bootstrap.Attach = NULL; break;
        case 1: fx.bootstrap.Detach = NULL; break;
        case 2: fx.bootstrap.InitResolve = NULL; break;
        case 3: fx.bootstrap.IssueResolve = NULL; break;
        case 4: fx.bootstrap.EndResolve = NULL; break;
        case 5: fx.bootstrap.Register = NULL; break;
        default: fx.bootstrap.Unregister = NULL; break;
        }
        assert_int_equal(DrtOpen(&fx.settings, NULL, NULL, &h), DRT_E_INVALID_BOOTSTRAP_PROVIDER);
        fx.bootstrap = saved;
    }
}

static void test_open_rejects_instance_prefix_longer_than_128(void **state)
{
    HDRT h;
    wchar_t prefix[DRT_MAX_INSTANCE_PREFIX_LEN + 2];
    wmemset(prefix, L'p', DRT_MAX_INSTANCE_PREFIX_LEN + 1);
    prefix[DRT_MAX_INSTANCE_PREFIX_LEN + 1] = 0;
    fx.settings.pwzDrtInstancePrefix = prefix;
    assert_int_equal(DrtOpen(&fx.settings, NULL, NULL, &h), DRT_E_INVALID_INSTANCE_PREFIX);
    prefix[DRT_MAX_INSTANCE_PREFIX_LEN] = 0; /* exactly 128 is allowed */
    open_and_close(&h);
}

static void test_open_with_valid_settings_opens_alone(void **state)
{
    HDRT h = not_a_drt;
    /* Nobody to bootstrap from: open, ALONE, and DRT_S_RETRY (a success). */
    assert_int_equal(DrtOpen(&fx.settings, NULL, NULL, &h), DRT_S_RETRY);
    assert_non_null(h);
    assert_int_equal(handle_table_count(HANDLE_TYPE_INSTANCE), 1);
    HDRT h2;
    assert_int_equal(DrtOpen(&fx.settings, NULL, NULL, &h2), DRT_E_TRANSPORTPROVIDER_IN_USE);
    DrtClose(h);
    assert_int_equal(handle_table_count(HANDLE_TYPE_INSTANCE), 0);
}

static void test_close_ignores_invalid_handles(void **state)
{
    DrtClose(NULL);
    DrtClose(not_a_drt);
    fixture_open(&fx);
    HDRT h = fx.instance->handle;
    DrtClose(h);
    fx.instance = NULL;
    DrtClose(h); /* a second close of the same handle is harmless */
    assert_int_equal(handle_table_count(HANDLE_TYPE_INSTANCE), 0);
}

static void test_close_releases_the_transport_for_another_instance(void **state)
{
    HDRT h;
    fixture_open(&fx);
    DrtClose(fx.instance->handle);
    fx.instance = NULL;
    open_and_close(&h);
}

static void test_event_data_size_rejects_null_length(void **state)
{
    fixture_open(&fx);
    assert_int_equal(DrtGetEventDataSize(fx.instance->handle, NULL), E_INVALIDARG);
}

static void test_event_data_size_rejects_invalid_handle(void **state)
{
    ULONG len;
    assert_int_equal(DrtGetEventDataSize(NULL, &len), E_HANDLE);
    assert_int_equal(DrtGetEventDataSize(not_a_drt, &len), E_HANDLE);
}

static void test_event_data_rejects_invalid_handle(void **state)
{
    DRT_EVENT_DATA ev;
    assert_int_equal(DrtGetEventData(not_a_drt, sizeof(ev), &ev), E_HANDLE);
}

static void test_event_queue_reports_alone(void **state)
{
    ULONG len = 0;
    DRT_EVENT_DATA ev;
    fixture_open(&fx);
    /* The first event: bootstrap found nobody, the DRT is ALONE. */
    assert_int_equal(DrtGetEventDataSize(fx.instance->handle, &len), S_OK);
    assert_int_equal(len, sizeof(DRT_EVENT_DATA));
    assert_int_equal(DrtGetEventData(fx.instance->handle, sizeof(ev), NULL), E_INVALIDARG);
    assert_int_equal(DrtGetEventData(fx.instance->handle, len - 1, &ev),
                     DRT_E_INSUFFICIENT_BUFFER);
    assert_int_equal(DrtGetEventData(fx.instance->handle, len, &ev), S_OK);
    assert_int_equal(ev.type, DRT_EVENT_STATUS_CHANGED);
    assert_int_equal(ev.statusChange.status, DRT_ALONE);
    assert_int_equal(ev.statusChange.bootstrapAddresses.cntAddress, 0);
    assert_int_equal(DrtGetEventDataSize(fx.instance->handle, &len), DRT_E_NO_MORE);
    assert_int_equal(DrtGetEventData(fx.instance->handle, sizeof(ev), &ev), DRT_E_NO_MORE);
}

static void test_instance_name_size_rejects_null_and_invalid(void **state)
{
    ULONG cb;
    assert_int_equal(DrtGetInstanceNameSize(not_a_drt, &cb), E_HANDLE);
    fixture_open(&fx);
    assert_int_equal(DrtGetInstanceNameSize(fx.instance->handle, NULL), E_INVALIDARG);
}

static void test_instance_name_is_built_from_the_prefix(void **state)
{
    ULONG cb = 0;
    fixture_open(&fx);
    assert_int_equal(DrtGetInstanceNameSize(fx.instance->handle, &cb), S_OK);
    assert_true(cb > sizeof(L"Test_DRT"));
    assert_int_equal(cb % sizeof(wchar_t), 0);
    wchar_t name[256];
    assert_true(cb <= sizeof(name));
    assert_int_equal(DrtGetInstanceName(fx.instance->handle, cb, name), S_OK);
    assert_int_equal(wcsncmp(name, L"Test_DRT_", 9), 0);
    assert_int_equal(wcslen(name) + 1, cb / sizeof(wchar_t));
}

static void test_instance_name_rejects_a_buffer_one_byte_short(void **state)
{
    ULONG cb = 0;
    wchar_t name[256];
    fixture_open(&fx);
    assert_int_equal(DrtGetInstanceNameSize(fx.instance->handle, &cb), S_OK);
    assert_int_equal(DrtGetInstanceName(fx.instance->handle, cb - 1, name),
                     DRT_E_INSUFFICIENT_BUFFER);
    assert_int_equal(DrtGetInstanceName(fx.instance->handle, cb, NULL), E_INVALIDARG);
    assert_int_equal(DrtGetInstanceName(not_a_drt, cb, name), E_HANDLE);
}

static void test_instances_get_distinct_names(void **state)
{
    struct api_fixture other;
    wchar_t a[256], b[256];
    fixture_open(&fx);
    fixture_init(&other);
    fixture_open(&other);
    assert_int_equal(DrtGetInstanceName(fx.instance->handle, sizeof(a), a), S_OK);
    assert_int_equal(DrtGetInstanceName(other.instance->handle, sizeof(b), b), S_OK);
    assert_int_not_equal(wcscmp(a, b), 0);
    fixture_fini(&other);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_open_rejects_null_handle_pointer),
        T(test_open_rejects_null_settings),
        T(test_open_rejects_settings_of_wrong_size),
        T(test_open_rejects_key_size_other_than_256_bits),
        T(test_open_rejects_routing_addresses_outside_1_to_20),
        T(test_open_accepts_routing_addresses_at_both_bounds),
        T(test_open_rejects_null_transport),
        T(test_open_rejects_a_handle_that_is_not_a_transport),
        T(test_open_rejects_a_transport_already_bound),
        T(test_open_rejects_unknown_security_mode),
        T(test_open_rejects_null_security_provider),
        T(test_open_rejects_security_provider_missing_a_callback_its_mode_needs),
        T(test_open_rejects_null_bootstrap_provider),
        T(test_open_rejects_bootstrap_provider_with_a_null_member),
        T(test_open_rejects_instance_prefix_longer_than_128),
        T(test_open_with_valid_settings_opens_alone),
        T(test_close_ignores_invalid_handles),
        T(test_close_releases_the_transport_for_another_instance),
        T(test_event_data_size_rejects_null_length),
        T(test_event_data_size_rejects_invalid_handle),
        T(test_event_data_rejects_invalid_handle),
        T(test_event_queue_reports_alone),
        T(test_instance_name_size_rejects_null_and_invalid),
        T(test_instance_name_is_built_from_the_prefix),
        T(test_instance_name_rejects_a_buffer_one_byte_short),
        T(test_instances_get_distinct_names),
    };
    return cmocka_run_group_tests_name("drt_open", tests, NULL, NULL);
}
