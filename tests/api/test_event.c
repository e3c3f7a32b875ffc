/*
 * test_event.c - the portable event objects behave as Win32 events:
 * manual reset releases every waiter, auto reset exactly one per Set, waits
 * time out, and the descriptor polls readable exactly while signalled.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <drt.h>

#define WAITERS 4

static bool fd_readable(HANDLE ev)
{
    struct pollfd p = {.fd = DrtEventGetFd(ev), .events = POLLIN};
    int n = poll(&p, 1, 0);
    assert_true(n >= 0);
    return n == 1 && (p.revents & POLLIN);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void test_initial_state_is_honoured(void **state)
{
    HANDLE on = DrtEventCreate(TRUE, TRUE), off = DrtEventCreate(TRUE, FALSE);
    assert_non_null(on);
    assert_non_null(off);
    assert_int_equal(DrtEventWait(on, 0), WAIT_OBJECT_0);
    assert_int_equal(DrtEventWait(off, 0), WAIT_TIMEOUT);
    assert_true(fd_readable(on));
    assert_false(fd_readable(off));
    DrtEventClose(on);
    DrtEventClose(off);
}

static void test_manual_reset_stays_signalled_until_reset(void **state)
{
    HANDLE ev = DrtEventCreate(TRUE, FALSE);
    assert_true(DrtEventSet(ev));
    assert_int_equal(DrtEventWait(ev, 0), WAIT_OBJECT_0);
    assert_int_equal(DrtEventWait(ev, 0), WAIT_OBJECT_0);
    assert_true(fd_readable(ev));
    assert_true(DrtEventReset(ev));
    assert_int_equal(DrtEventWait(ev, 0), WAIT_TIMEOUT);
    assert_false(fd_readable(ev));
    DrtEventClose(ev);
}

static void test_auto_reset_is_consumed_by_one_wait(void **state)
{
    HANDLE ev = DrtEventCreate(FALSE, FALSE);
    assert_true(DrtEventSet(ev));
    assert_true(DrtEventSet(ev)); /* setting a set event does not queue a second release */
    assert_true(fd_readable(ev));
    assert_int_equal(DrtEventWait(ev, 0), WAIT_OBJECT_0);
    assert_false(fd_readable(ev));
    assert_int_equal(DrtEventWait(ev, 0), WAIT_TIMEOUT);
    DrtEventClose(ev);
}

struct waiter_ctx {
    HANDLE ev;
    DWORD timeout;
    atomic_int released;
    atomic_int started;
};

static void *waiter(void *arg)
{
    struct waiter_ctx *c = arg;
    atomic_fetch_add(&c->started, 1);
    if (DrtEventWait(c->ev, c->timeout) == WAIT_OBJECT_0)
        atomic_fetch_add(&c->released, 1);
    return NULL;
}

static void start_waiters(struct waiter_ctx *c, pthread_t *t)
{
    for (int i = 0; i < WAITERS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, waiter, c), 0);
    /* Bounded: give the threads up to 2 s to reach their wait. */
    for (int i = 0; i < 200 && atomic_load(&c->started) < WAITERS; i++)
        usleep(10000);
    usleep(50000);
}

static void test_manual_reset_releases_every_waiter(void **state)
{
    struct waiter_ctx c = {.ev = DrtEventCreate(TRUE, FALSE), .timeout = 10000};
    pthread_t t[WAITERS];
    start_waiters(&c, t);
    assert_int_equal(atomic_load(&c.released), 0);
    DrtEventSet(c.ev);
    for (int i = 0; i < WAITERS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&c.released), WAITERS);
    DrtEventClose(c.ev);
}

static void test_auto_reset_releases_one_waiter_per_set(void **state)
{
    struct waiter_ctx c = {.ev = DrtEventCreate(FALSE, FALSE), .timeout = 1500};
    pthread_t t[WAITERS];
    start_waiters(&c, t);
    DrtEventSet(c.ev);
    /* Bounded wait for the one release to land. */
    for (int i = 0; i < 200 && atomic_load(&c.released) < 1; i++)
        usleep(10000);
    usleep(100000);
    assert_int_equal(atomic_load(&c.released), 1);
    DrtEventSet(c.ev);
    for (int i = 0; i < 200 && atomic_load(&c.released) < 2; i++)
        usleep(10000);
    usleep(100000);
    assert_int_equal(atomic_load(&c.released), 2);
    for (int i = 0; i < WAITERS; i++)
        pthread_join(t[i], NULL); /* the other two time out after 1.5 s */
    assert_int_equal(atomic_load(&c.released), 2);
    DrtEventClose(c.ev);
}

static void test_wait_times_out_after_the_timeout(void **state)
{
    HANDLE ev = DrtEventCreate(FALSE, FALSE);
    uint64_t t0 = now_ms();
    assert_int_equal(DrtEventWait(ev, 120), WAIT_TIMEOUT);
    uint64_t elapsed = now_ms() - t0;
    assert_true(elapsed >= 115);  /* never early (1 ms clock granularity slack) */
    assert_true(elapsed < 10000); /* and not stuck: a generous bound, not a timing test */
    DrtEventClose(ev);
}

static void *set_later(void *arg)
{
    usleep(50000);
    DrtEventSet(arg);
    return NULL;
}

static void test_infinite_wait_returns_when_set(void **state)
{
    HANDLE ev = DrtEventCreate(FALSE, FALSE);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, set_later, ev), 0);
    assert_int_equal(DrtEventWait(ev, INFINITE), WAIT_OBJECT_0);
    pthread_join(t, NULL);
    DrtEventClose(ev);
}

static void test_fd_wakes_a_poll_when_set_from_another_thread(void **state)
{
    HANDLE ev = DrtEventCreate(TRUE, FALSE);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, set_later, ev), 0);
    struct pollfd p = {.fd = DrtEventGetFd(ev), .events = POLLIN};
    assert_int_equal(poll(&p, 1, 10000), 1);
    pthread_join(t, NULL);
    assert_true(fd_readable(ev));
    DrtEventClose(ev);
}

static void test_null_handle_is_refused_everywhere(void **state)
{
    assert_false(DrtEventSet(NULL));
    assert_false(DrtEventReset(NULL));
    assert_int_equal(DrtEventWait(NULL, 0), WAIT_FAILED);
    assert_int_equal(DrtEventGetFd(NULL), -1);
    DrtEventClose(NULL);
}

struct stress_ctx {
    HANDLE ev;
    atomic_int done;
};

static void *stress_setter(void *arg)
{
    struct stress_ctx *c = arg;
    for (int i = 0; i < 2000; i++) {
        DrtEventSet(c->ev);
        DrtEventReset(c->ev);
    }
    DrtEventSet(c->ev); /* the last word: signalled */
    atomic_fetch_add(&c->done, 1);
    return NULL;
}

static void *stress_waiter(void *arg)
{
    struct stress_ctx *c = arg;
    for (int i = 0; i < 2000; i++)
        DrtEventWait(c->ev, 1);
    return NULL;
}

static void test_concurrent_set_reset_and_wait_leave_a_consistent_state(void **state)
{
    struct stress_ctx c = {.ev = DrtEventCreate(TRUE, FALSE)};
    pthread_t setters[2], waiters[2];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_create(&setters[i], NULL, stress_setter, &c), 0);
        assert_int_equal(pthread_create(&waiters[i], NULL, stress_waiter, &c), 0);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(setters[i], NULL);
        pthread_join(waiters[i], NULL);
    }
    /* Both setters ended with Set: the event and its fd agree that it is set. */
    assert_int_equal(DrtEventWait(c.ev, 0), WAIT_OBJECT_0);
    assert_true(fd_readable(c.ev));
    DrtEventReset(c.ev);
    assert_false(fd_readable(c.ev));
    DrtEventClose(c.ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_initial_state_is_honoured),
        cmocka_unit_test(test_manual_reset_stays_signalled_until_reset),
        cmocka_unit_test(test_auto_reset_is_consumed_by_one_wait),
        cmocka_unit_test(test_manual_reset_releases_every_waiter),
        cmocka_unit_test(test_auto_reset_releases_one_waiter_per_set),
        cmocka_unit_test(test_wait_times_out_after_the_timeout),
        cmocka_unit_test(test_infinite_wait_returns_when_set),
        cmocka_unit_test(test_fd_wakes_a_poll_when_set_from_another_thread),
        cmocka_unit_test(test_null_handle_is_refused_everywhere),
        cmocka_unit_test(test_concurrent_set_reset_and_wait_leave_a_consistent_state),
    };
    return cmocka_run_group_tests_name("event", tests, NULL, NULL);
}
