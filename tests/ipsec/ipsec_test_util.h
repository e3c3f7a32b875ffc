/*
 * ipsec_test_util.h - a deterministic engine for the ipsec unit tests:
 * counter randomness (or a failing source), an integrity check the test
 * steers, and callbacks that do nothing.
 */
#ifndef DRT_TESTS_IPSEC_TEST_UTIL_H
#define DRT_TESTS_IPSEC_TEST_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ipsec/engine.h"
#include "ipsec/keymgr.h"

struct test_env {
    struct ipsec_engine *e;
    uint8_t counter;
    bool random_fails;
    bool integrity_refuses;
};

#define ROOT  ((const struct ipsec_caller){.uid = 0, .gid = 0})
#define ALICE ((const struct ipsec_caller){.uid = 1000, .gid = 1000})

static inline int test_random(void *ctx, void *buf, size_t len)
{
    struct test_env *t = ctx;
    if (t->random_fails)
        return -1;
    uint8_t *b = buf;
    for (size_t i = 0; i < len; i++)
        b[i] = ++t->counter;
    return 0;
}

static inline bool test_integrity(void *ctx, const struct ipsec_caller *c,
                           const IPSEC_KEY_MANAGER_CALLBACKS0 *cb)
{
    (void)c;
    (void)cb;
    return !((struct test_env *)ctx)->integrity_refuses;
}

/* An engine owned by root, with the caps given (0 = defaults). */
static inline DWORD test_env_init(struct test_env *t, uint32_t max_sessions, uint32_t max_kms)
{
    memset(t, 0, sizeof(*t));
    struct ipsec_engine_config cfg = {
        .random = test_random,
        .random_ctx = t,
        .integrity = test_integrity,
        .integrity_ctx = t,
        .owner = ROOT,
        .max_sessions = max_sessions,
        .max_key_managers = max_kms,
    };
    return ipsec_engine_create(&cfg, &t->e);
}

static inline void CALLBACK nop_check(const IKEEXT_TRAFFIC0 *t, BOOL *will, UINT32 *w)
{
    (void)t;
    *will = FALSE;
    *w = 0;
}

static inline DWORD CALLBACK nop_dictate(IPSEC_SA_DETAILS1 *in, IPSEC_SA_DETAILS1 *out, BOOL *gen)
{
    (void)in;
    (void)out;
    (void)gen;
    return ERROR_SUCCESS;
}

static inline void CALLBACK nop_notify(const IPSEC_SA_DETAILS1 *in, const IPSEC_SA_DETAILS1 *out)
{
    (void)in;
    (void)out;
}

#define NOTIFY_CBS ((const IPSEC_KEY_MANAGER_CALLBACKS0){.keyNotify = nop_notify})
#define DICTATE_CBS                                                                  \
    ((const IPSEC_KEY_MANAGER_CALLBACKS0){.keyDictationCheck = nop_check,           \
                                          .keyDictation = nop_dictate,              \
                                          .keyNotify = nop_notify})

#endif
