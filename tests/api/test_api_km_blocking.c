/*
 * test_api_km_blocking.c - key managers that block stall nothing: real
 * nodes on ::1 with protected transports, the process's key managers run
 * on workers, not on the loop thread. A dictator blocked far past its
 * deadline fails its own negotiation at the deadline while searches and
 * other negotiations of the process go on; its late answer is dropped.
 * FwpmEngineClose0 waits for the callbacks in flight of the registrations
 * it retires, but not from inside a callback.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include <drt.h>
#include <fwpmu.h>

#include "api/loopback_node.h"

#define PSK "loopback mesh key"
#define WAIT_STEP_MS 50u
#define WAIT_STEPS 200u /* every wait below is bounded by 10 s */
#define TRAP_MS 20000   /* how long the trapped dictation blocks at most */

static void key_for(int i, BYTE key[32])
{
    for (int b = 0; b < 32; b++)
        key[b] = (BYTE)(i * 37 + b * 11 + 5);
}

static DRT_PROTECTION_STATS stats_of(const struct lb_node *n)
{
    DRT_PROTECTION_STATS s;
    assert_int_equal(DrtGetTransportProtectionStats(n->transport, &s), S_OK);
    return s;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* An exact search for key from n, retried a few times (a new node's
 * neighbours take a moment to learn it); true when found with data. */
static bool finds(struct lb_node *n, const BYTE key[32], const char *data)
{
    for (int attempt = 0; attempt < 5; attempt++)
        if (lb_search_finds(n, key, data))
            return true;
    return false;
}

static void open_node(struct lb_node *n, const struct lb_node *seed, int i,
                      HDRT_REGISTRATION_CONTEXT *reg)
{
    lb_open_protected(n, seed, DRT_PROTECTION_REQUIRE, PSK);
    BYTE key[32];
    char data[16];
    key_for(i, key);
    snprintf(data, sizeof(data), "node-%d", i);
    lb_register(n, key, data, reg);
}

static bool node_finds(struct lb_node *n, int i)
{
    BYTE key[32];
    char data[16];
    key_for(i, key);
    snprintf(data, sizeof(data), "node-%d", i);
    return finds(n, key, data);
}

/* ------------------------------------------------ a dictator that blocks */

static pthread_mutex_t trap_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t trap_cv = PTHREAD_COND_INITIALIZER;
static bool trap_armed, trap_released;
static atomic_int trapped;   /* dictations caught by the trap: 0 or 1 */
static atomic_int trap_done; /* the trapped one has returned */
static atomic_int dictations;

static void CALLBACK dict_check(const IKEEXT_TRAFFIC0 *t, BOOL *will, UINT32 *weight)
{
    (void)t;
    *will = TRUE;
    *weight = 1;
}

static void fill_keys(IPSEC_SA_DETAILS1 *d)
{
    IPSEC_SA0 *sa = &d->saBundle.saList[0];
    FWP_BYTE_BLOB *blob = &sa->espAuthAndCipherInformation->saCipherInformation.cipherKey;
    for (UINT32 b = 0; b < blob->size; b++)
        blob->data[b] = (UINT8)(0xa5 ^ (sa->spi >> (8 * (b % 4))) ^ b);
}

/* The first dictation after the trap is armed blocks until released (or
 * TRAP_MS); every other one answers at once. */
static DWORD CALLBACK dict_keys(IPSEC_SA_DETAILS1 *in, IPSEC_SA_DETAILS1 *out, BOOL *gen)
{
    *gen = FALSE;
    atomic_fetch_add(&dictations, 1);
    pthread_mutex_lock(&trap_lock);
    bool caught = trap_armed;
    trap_armed = false;
    if (caught) {
        atomic_store(&trapped, 1);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += TRAP_MS / 1000;
        while (!trap_released && pthread_cond_timedwait(&trap_cv, &trap_lock, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&trap_lock);
    fill_keys(in);
    fill_keys(out);
    if (caught)
        atomic_store(&trap_done, 1);
    return ERROR_SUCCESS;
}

static void CALLBACK quiet_notify(const IPSEC_SA_DETAILS1 *in, const IPSEC_SA_DETAILS1 *out)
{
    (void)in;
    (void)out;
}

static HANDLE open_session(void)
{
    FWPM_SESSION0 fs = {.flags = FWPM_SESSION_FLAG_DYNAMIC};
    HANDLE session = NULL;
    assert_int_equal(FwpmEngineOpen0(NULL, RPC_C_AUTHN_WINNT, NULL, &fs, &session), ERROR_SUCCESS);
    return session;
}

/* Nodes A and B have their SAs; then node C joins through A, and A's
 * dictation for it blocks (the dictator's deadline is 1 s, the call
 * blocks up to 20 s). While it blocks, B still finds A's key, and node D
 * joins through A (a new negotiation, a prompt dictation) and finds A's
 * key, and A D's. C's negotiation failed at the deadline. Released, the
 * blocked dictation's answer comes too late and is dropped. */
static void test_blocked_dictator_stalls_nothing(void **state)
{
    (void)state;
    HANDLE session = open_session(), km = NULL;
    IPSEC_KEY_MANAGER0 m = {.flags = IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY,
                            .keyDictationTimeoutHint = 1};
    IPSEC_KEY_MANAGER_CALLBACKS0 cb = {.keyDictationCheck = dict_check,
                                       .keyDictation = dict_keys,
                                       .keyNotify = quiet_notify};
    assert_int_equal(IPsecKeyManagerAddAndRegister0(session, &m, &cb, &km), ERROR_SUCCESS);

    struct lb_node a, b, c, d;
    HDRT_REGISTRATION_CONTEXT ra, rb, rc, rd;
    open_node(&a, NULL, 0, &ra);
    open_node(&b, &a, 1, &rb);
    assert_true(lb_wait_active(&b, WAIT_STEPS * WAIT_STEP_MS));
    assert_true(node_finds(&b, 0));
    assert_true(node_finds(&a, 1));

    pthread_mutex_lock(&trap_lock);
    trap_armed = true;
    pthread_mutex_unlock(&trap_lock);
    open_node(&c, &a, 2, &rc);
    for (unsigned i = 0; i < WAIT_STEPS && !atomic_load(&trapped); i++)
        sleep_ms(WAIT_STEP_MS);
    assert_int_equal(atomic_load(&trapped), 1);

    /* meanwhile: a search over the SAs A already has, and a new node */
    assert_true(node_finds(&b, 0));
    open_node(&d, &a, 3, &rd);
    assert_true(lb_wait_active(&d, WAIT_STEPS * WAIT_STEP_MS));
    assert_true(node_finds(&d, 0));
    assert_true(node_finds(&a, 3));
    assert_int_equal(atomic_load(&trap_done), 0); /* all that while it blocked */
    assert_true(atomic_load(&dictations) >= 2);
    for (unsigned i = 0; i < WAIT_STEPS && stats_of(&c).negotiationsFailed == 0; i++)
        sleep_ms(WAIT_STEP_MS);
    assert_true(stats_of(&c).negotiationsFailed >= 1);
    assert_int_equal(stats_of(&c).sasEstablished, 0);
    assert_int_equal(stats_of(&a).lateKeyManagerAnswers, 0);

    pthread_mutex_lock(&trap_lock);
    trap_released = true;
    pthread_cond_broadcast(&trap_cv);
    pthread_mutex_unlock(&trap_lock);
    for (unsigned i = 0; i < WAIT_STEPS && stats_of(&a).lateKeyManagerAnswers == 0; i++)
        sleep_ms(WAIT_STEP_MS);
    assert_int_equal(atomic_load(&trap_done), 1);
    assert_int_equal(stats_of(&a).lateKeyManagerAnswers, 1);

    DrtUnregisterKey(rd);
    lb_close(&d);
    DrtUnregisterKey(rc);
    lb_close(&c);
    DrtUnregisterKey(rb);
    lb_close(&b);
    DrtUnregisterKey(ra);
    lb_close(&a);
    assert_int_equal(IPsecKeyManagerUnregisterAndDelete0(session, km), ERROR_SUCCESS);
    assert_int_equal(FwpmEngineClose0(session), ERROR_SUCCESS);
}

/* ------------------------------------------------ FwpmEngineClose0 waits */

static atomic_int slow_in, slow_out;
static HANDLE closing_session;
static atomic_int close_rc = -1;

/* The first notification takes 800 ms. */
static void CALLBACK slow_notify(const IPSEC_SA_DETAILS1 *in, const IPSEC_SA_DETAILS1 *out)
{
    (void)in;
    (void)out;
    if (atomic_fetch_add(&slow_in, 1) == 0) {
        sleep_ms(800);
        atomic_store(&slow_out, 1);
    }
}

/* The first notification closes its own session: its registration goes
 * with it, and the close cannot wait for this very callback. */
static void CALLBACK closing_notify(const IPSEC_SA_DETAILS1 *in, const IPSEC_SA_DETAILS1 *out)
{
    (void)in;
    (void)out;
    if (atomic_fetch_add(&slow_in, 1) == 0) {
        atomic_store(&close_rc, (int)FwpmEngineClose0(closing_session));
        atomic_store(&slow_out, 1);
    }
}

static HANDLE register_notify(IPSEC_KEY_MANAGER_NOTIFY_KEY0 fn)
{
    atomic_store(&slow_in, 0);
    atomic_store(&slow_out, 0);
    HANDLE session = open_session(), km = NULL;
    IPSEC_KEY_MANAGER0 m = {.flags = 0};
    IPSEC_KEY_MANAGER_CALLBACKS0 cb = {.keyNotify = fn};
    assert_int_equal(IPsecKeyManagerAddAndRegister0(session, &m, &cb, &km), ERROR_SUCCESS);
    return session;
}

static void wait_first_callback(void)
{
    for (int i = 0; i < 10000 && atomic_load(&slow_in) == 0; i++) /* 10 s at most */
        sleep_ms(1);
    assert_true(atomic_load(&slow_in) >= 1); /* both nodes' may run at once */
}

/* FwpmEngineClose0 returns only once the callback a real negotiation runs
 * for the session's registration has returned. */
static void test_engine_close_waits_for_a_callback_in_flight(void **state)
{
    (void)state;
    HANDLE session = register_notify(slow_notify);
    struct lb_node a, b;
    lb_open_protected(&a, NULL, DRT_PROTECTION_REQUIRE, PSK);
    lb_open_protected(&b, &a, DRT_PROTECTION_REQUIRE, PSK);
    wait_first_callback();
    assert_int_equal(atomic_load(&slow_out), 0); /* it is running */
    assert_int_equal(FwpmEngineClose0(session), ERROR_SUCCESS);
    assert_int_equal(atomic_load(&slow_out), 1); /* and it has returned */
    lb_close(&b);
    lb_close(&a);
}

/* From inside a callback FwpmEngineClose0 does not wait (it would wait
 * for itself): it returns ERROR_SUCCESS and the callback ends. */
static void test_engine_close_from_its_own_callback(void **state)
{
    (void)state;
    atomic_store(&close_rc, -1);
    closing_session = register_notify(closing_notify);
    struct lb_node a, b;
    lb_open_protected(&a, NULL, DRT_PROTECTION_REQUIRE, PSK);
    lb_open_protected(&b, &a, DRT_PROTECTION_REQUIRE, PSK);
    wait_first_callback();
    for (int i = 0; i < 10000 && atomic_load(&slow_out) == 0; i++) /* 10 s at most */
        sleep_ms(1);
    assert_int_equal(atomic_load(&slow_out), 1);
    assert_int_equal(atomic_load(&close_rc), ERROR_SUCCESS);
    assert_int_equal(FwpmEngineClose0(closing_session), ERROR_INVALID_HANDLE); /* gone */
    lb_close(&b);
    lb_close(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocked_dictator_stalls_nothing),
        cmocka_unit_test(test_engine_close_waits_for_a_callback_in_flight),
        cmocka_unit_test(test_engine_close_from_its_own_callback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
