/*
 * test_api_queue_caps.c - what waits for the application is capped
 * (docs/RELIABILITY.md): a search's results beyond its cap and an
 * instance's events beyond its cap drop the oldest, counted; what is left
 * is read as usual and ends as usual. Real nodes on ::1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <drt.h>

#include "api/api_internal.h"
#include "api/handle_table.h"
#include "api/loopback_node.h"

static void key_of(unsigned i, BYTE key[32])
{
    memset(key, 0, 32);
    key[31] = (BYTE)(0x10 + 0x20 * i); /* spread over the ring */
    key[0] = (BYTE)i;
}

static bool search_done(HDRT_SEARCH_CONTEXT h, struct drt_instance *inst)
{
    struct drt_search *s = handle_table_get(h, HANDLE_TYPE_SEARCH);
    assert_non_null(s);
    pthread_mutex_lock(&inst->lock);
    bool done = s->done;
    pthread_mutex_unlock(&inst->lock);
    return done;
}

static void test_search_results_beyond_the_cap_drop_the_oldest(void **state)
{
    (void)state;
    struct lb_node n;
    lb_open(&n, NULL);
    HDRT_REGISTRATION_CONTEXT reg[6];
    for (unsigned i = 0; i < 6; i++) {
        BYTE k[32];
        key_of(i, k);
        lb_register(&n, k, "local", &reg[i]);
    }
    struct drt_instance *inst = lb_instance(&n);
    pthread_mutex_lock(&inst->lock);
    inst->max_results = 2;
    pthread_mutex_unlock(&inst->lock);

    /* Six local keys in a whole-ring range, nobody draining until done. */
    BYTE target[32], lo[32], hi[32];
    key_of(2, target);
    memset(lo, 0, 32);
    memset(hi, 0xff, 32);
    DRT_DATA dlo = {32, lo}, dhi = {32, hi}, dt = {32, target};
    DRT_SEARCH_INFO info = {.dwSize = sizeof(info), .cMaxEndpoints = 6,
                            .fAllowCurrentInstanceMatch = TRUE,
                            .pMinimumKey = &dlo, .pMaximumKey = &dhi};
    HANDLE ev = DrtEventCreate(TRUE, FALSE);
    HDRT_SEARCH_CONTEXT h;
    assert_int_equal(DrtStartSearch(n.drt, &dt, &info, 5000, ev, NULL, &h), S_OK);
    /* The event stays set from the first result on, so the wait is a
     * sleep: up to 10 s for the search to end. */
    for (unsigned step = 0; step < 1000 && !search_done(h, inst); step++)
        usleep(10 * 1000);
    assert_true(search_done(h, inst));

    struct instance_stats st;
    instance_get_stats(inst, &st);
    assert_int_equal(st.results_dropped, 4);
    /* The two newest are read as usual, then the search ends as usual. */
    unsigned read = 0;
    for (unsigned guard = 0; guard < 10; guard++) {
        ULONG size = 0;
        HRESULT hr = DrtGetSearchResultSize(h, &size);
        if (hr != S_OK) {
            assert_int_equal(hr, DRT_E_NO_MORE);
            break;
        }
        DRT_SEARCH_RESULT *r = malloc(size);
        assert_non_null(r);
        assert_int_equal(DrtGetSearchResult(h, size, r), S_OK);
        free(r);
        read++;
    }
    assert_int_equal(read, 2);
    assert_int_equal(DrtEndSearch(h), S_OK);
    DrtEventClose(ev);
    for (unsigned i = 0; i < 6; i++)
        DrtUnregisterKey(reg[i]);
    lb_close(&n);
}

static void test_instance_events_beyond_the_cap_drop_the_oldest(void **state)
{
    (void)state;
    struct lb_node a, b;
    lb_open(&a, NULL);
    struct drt_instance *inst = lb_instance(&a);
    pthread_mutex_lock(&inst->lock);
    inst->max_events = 3;
    pthread_mutex_unlock(&inst->lock);
    HDRT_REGISTRATION_CONTEXT ra[4], rb[4];
    for (unsigned i = 0; i < 4; i++) {
        BYTE k[32];
        key_of(i, k);
        lb_register(&a, k, "a", &ra[i]);
    }
    /* B's keys enter the leaf sets of A's four keys: more leaf-set events
     * (and a status change) than A's queue holds, and nobody drains A. */
    lb_open(&b, &a);
    for (unsigned i = 0; i < 4; i++) {
        BYTE k[32];
        key_of(4 + i, k);
        lb_register(&b, k, "b", &rb[i]);
    }
    struct instance_stats st;
    memset(&st, 0, sizeof(st));
    for (unsigned step = 0; step < 200 && st.events_dropped == 0; step++) {
        lb_drain(&b);
        DrtEventWait(b.event, 50);
        instance_get_stats(inst, &st);
    }
    assert_true(st.events_dropped >= 1);
    assert_true(st.events_queued <= 3);
    /* What is left reads as usual, then DRT_E_NO_MORE. */
    unsigned left = lb_drain(&a);
    assert_true(left >= 1 && left <= 3);
    ULONG len;
    assert_int_equal(DrtGetEventDataSize(a.drt, &len), DRT_E_NO_MORE);
    instance_get_stats(inst, &st);
    assert_true(st.events_queued <= 3);
    for (unsigned i = 0; i < 4; i++) {
        DrtUnregisterKey(rb[i]);
        DrtUnregisterKey(ra[i]);
    }
    lb_close(&b);
    lb_close(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_search_results_beyond_the_cap_drop_the_oldest),
        cmocka_unit_test(test_instance_events_beyond_the_cap_drop_the_oldest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
