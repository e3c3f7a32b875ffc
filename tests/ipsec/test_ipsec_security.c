/*
 * test_ipsec_security.c - the key-manager security descriptor (reference
 * §1.4, §1.5): POSIX identities as SIDs, the DACL walk, Get/Set argument
 * checks, and Set staged by a transaction.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>

#include <cmocka.h>

#include "ipsec/secdesc.h"
#include "ipsec_test_util.h"

struct fx {
    struct test_env t;
    HANDLE root;
    HANDLE alice;
    uint32_t acl_buf[64];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f || test_env_init(&f->t, 0, 0) != ERROR_SUCCESS)
        return -1;
    if (ipsec_session_open(f->t.e, &ROOT, NULL, &f->root) != ERROR_SUCCESS ||
        ipsec_session_open(f->t.e, &ALICE, NULL, &f->alice) != ERROR_SUCCESS)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    ipsec_engine_destroy(f->t.e);
    free(f);
    return 0;
}

static ACL *acl(struct fx *f)
{
    ACL *a = (ACL *)(void *)f->acl_buf;
    assert_int_equal(ipsec_acl_initialize(a, sizeof(f->acl_buf)), ERROR_SUCCESS);
    return a;
}

static DWORD set_dacl(struct fx *f, HANDLE s, const ACL *a)
{
    return ipsec_keymgr_set_security(f->t.e, s, NULL, DACL_SECURITY_INFORMATION, NULL, NULL, a,
                                     NULL);
}

static DWORD alice_registers(struct fx *f)
{
    IPSEC_KEY_MANAGER0 km = {0};
    HANDLE h;
    DWORD rc = ipsec_keymgr_add(f->t.e, f->alice, &km, &NOTIFY_CBS, &h);
    if (rc == ERROR_SUCCESS)
        assert_int_equal(ipsec_keymgr_remove(f->t.e, f->alice, h), ERROR_SUCCESS);
    return rc;
}

static void test_default_descriptor_names_engine_owner(void **state)
{
    struct fx *f = *state;
    PSID owner, group;
    PACL dacl, sacl;
    PSECURITY_DESCRIPTOR sd;
    SECURITY_INFORMATION all = OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION |
                               DACL_SECURITY_INFORMATION | SACL_SECURITY_INFORMATION;
    assert_int_equal(ipsec_keymgr_get_security(f->t.e, f->root, NULL, all, &owner, &group, &dacl,
                                               &sacl, &sd),
                     ERROR_SUCCESS);
    SID root_user = DRT_UNIX_USER_SID_INIT(0), root_group = DRT_UNIX_GROUP_SID_INIT(0);
    assert_true(ipsec_sid_equal(owner, &root_user));
    assert_true(ipsec_sid_equal(group, &root_group));
    assert_non_null(dacl);
    assert_int_equal(dacl->AceCount, 1); /* owner is root: one ACE covers both */
    assert_null(sacl);
    const SECURITY_DESCRIPTOR_RELATIVE *h = sd;
    assert_int_equal(h->Control & (SE_SELF_RELATIVE | SE_DACL_PRESENT),
                     SE_SELF_RELATIVE | SE_DACL_PRESENT);
    assert_ptr_equal((uint8_t *)sd + h->Owner, owner);
    free(sd);
}

static void test_get_argument_errors(void **state)
{
    struct fx *f = *state;
    PSECURITY_DESCRIPTOR sd;
    assert_int_equal(ipsec_keymgr_get_security(f->t.e, NULL, NULL, 0, NULL, NULL, NULL, NULL, &sd),
                     FWP_E_NULL_POINTER);
    assert_int_equal(ipsec_keymgr_get_security(f->t.e, f->root, NULL, 0, NULL, NULL, NULL, NULL,
                                               NULL),
                     FWP_E_NULL_POINTER);
    assert_int_equal(ipsec_keymgr_get_security(f->t.e, f->root, &sd, 0, NULL, NULL, NULL, NULL, &sd),
                     FWP_E_RESERVED);
    assert_int_equal(ipsec_keymgr_get_security(f->t.e, f->root, NULL, 0x10, NULL, NULL, NULL, NULL,
                                               &sd),
                     FWP_E_INVALID_FLAGS);
    assert_int_equal(ipsec_keymgr_get_security(f->t.e, (HANDLE)0x999, NULL, 0, NULL, NULL, NULL,
                                               NULL, &sd),
                     ERROR_INVALID_HANDLE);
    assert_int_equal(ipsec_keymgr_get_security(f->t.e, f->alice, NULL, DACL_SECURITY_INFORMATION,
                                               NULL, NULL, NULL, NULL, &sd),
                     ERROR_ACCESS_DENIED);
    assert_null(sd);
}

static void test_set_argument_errors(void **state)
{
    struct fx *f = *state;
    ACL *a = acl(f);
    SID bad = {.Revision = 2, .SubAuthorityCount = 1};
    assert_int_equal(ipsec_keymgr_set_security(f->t.e, NULL, NULL, DACL_SECURITY_INFORMATION, NULL,
                                               NULL, a, NULL),
                     FWP_E_NULL_POINTER);
    assert_int_equal(ipsec_keymgr_set_security(f->t.e, f->root, a, DACL_SECURITY_INFORMATION, NULL,
                                               NULL, a, NULL),
                     FWP_E_RESERVED);
    assert_int_equal(ipsec_keymgr_set_security(f->t.e, f->root, NULL, 0, NULL, NULL, a, NULL),
                     FWP_E_INVALID_FLAGS);
    assert_int_equal(set_dacl(f, f->root, NULL), FWP_E_NULL_POINTER);
    assert_int_equal(ipsec_keymgr_set_security(f->t.e, f->root, NULL, OWNER_SECURITY_INFORMATION,
                                               &bad, NULL, NULL, NULL),
                     FWP_E_INVALID_PARAMETER);
    a->AclRevision = 9;
    assert_int_equal(set_dacl(f, f->root, a), FWP_E_INVALID_PARAMETER);
    a = acl(f);
    SID everyone = DRT_EVERYONE_SID_INIT;
    assert_int_equal(ipsec_acl_add_ace(a, SYSTEM_AUDIT_ACE_TYPE, 0, &everyone), ERROR_SUCCESS);
    assert_int_equal(set_dacl(f, f->root, a), FWP_E_INVALID_PARAMETER); /* audit ACE in a DACL */
    assert_int_equal(set_dacl(f, (HANDLE)0x999, acl(f)), ERROR_INVALID_HANDLE);
    assert_int_equal(set_dacl(f, f->alice, acl(f)), ERROR_ACCESS_DENIED);
}

static void test_allow_ace_for_user_lets_user_register(void **state)
{
    struct fx *f = *state;
    assert_int_equal(alice_registers(f), ERROR_ACCESS_DENIED);
    ACL *a = acl(f);
    SID alice = DRT_UNIX_USER_SID_INIT(1000);
    assert_int_equal(ipsec_acl_add_ace(a, ACCESS_ALLOWED_ACE_TYPE, FWPM_ACTRL_ADD, &alice),
                     ERROR_SUCCESS);
    assert_int_equal(set_dacl(f, f->root, a), ERROR_SUCCESS);
    assert_int_equal(alice_registers(f), ERROR_SUCCESS);
}

static void test_group_and_everyone_aces_match(void **state)
{
    struct fx *f = *state;
    ACL *a = acl(f);
    SID group = DRT_UNIX_GROUP_SID_INIT(1000);
    assert_int_equal(ipsec_acl_add_ace(a, ACCESS_ALLOWED_ACE_TYPE, GENERIC_ALL, &group),
                     ERROR_SUCCESS);
    assert_int_equal(set_dacl(f, f->root, a), ERROR_SUCCESS);
    assert_int_equal(alice_registers(f), ERROR_SUCCESS);
    a = acl(f);
    SID everyone = DRT_EVERYONE_SID_INIT;
    assert_int_equal(ipsec_acl_add_ace(a, ACCESS_ALLOWED_ACE_TYPE, FWPM_ACTRL_ADD, &everyone),
                     ERROR_SUCCESS);
    assert_int_equal(set_dacl(f, f->root, a), ERROR_SUCCESS);
    assert_int_equal(alice_registers(f), ERROR_SUCCESS);
}

static void test_deny_ace_before_allow_refuses(void **state)
{
    struct fx *f = *state;
    ACL *a = acl(f);
    SID alice = DRT_UNIX_USER_SID_INIT(1000), everyone = DRT_EVERYONE_SID_INIT;
    assert_int_equal(ipsec_acl_add_ace(a, ACCESS_DENIED_ACE_TYPE, FWPM_ACTRL_ADD, &alice),
                     ERROR_SUCCESS);
    assert_int_equal(ipsec_acl_add_ace(a, ACCESS_ALLOWED_ACE_TYPE, GENERIC_ALL, &everyone),
                     ERROR_SUCCESS);
    assert_int_equal(set_dacl(f, f->root, a), ERROR_SUCCESS);
    assert_int_equal(alice_registers(f), ERROR_ACCESS_DENIED);
}

static void test_owner_keeps_write_dac_with_empty_dacl(void **state)
{
    struct fx *f = *state;
    assert_int_equal(set_dacl(f, f->root, acl(f)), ERROR_SUCCESS);
    IPSEC_KEY_MANAGER0 km = {0};
    HANDLE h;
    assert_int_equal(ipsec_keymgr_add(f->t.e, f->root, &km, &NOTIFY_CBS, &h), ERROR_ACCESS_DENIED);
    ACL *a = acl(f);
    SID root = DRT_UNIX_USER_SID_INIT(0);
    assert_int_equal(ipsec_acl_add_ace(a, ACCESS_ALLOWED_ACE_TYPE, GENERIC_ALL, &root),
                     ERROR_SUCCESS);
    assert_int_equal(set_dacl(f, f->root, a), ERROR_SUCCESS);
    assert_int_equal(ipsec_keymgr_add(f->t.e, f->root, &km, &NOTIFY_CBS, &h), ERROR_SUCCESS);
}

static void test_sacl_needs_owner_or_root(void **state)
{
    struct fx *f = *state;
    ACL *a = acl(f);
    SID everyone = DRT_EVERYONE_SID_INIT;
    assert_int_equal(ipsec_acl_add_ace(a, ACCESS_ALLOWED_ACE_TYPE, GENERIC_ALL, &everyone),
                     ERROR_SUCCESS);
    assert_int_equal(set_dacl(f, f->root, a), ERROR_SUCCESS);
    PSECURITY_DESCRIPTOR sd;
    PACL sacl;
    assert_int_equal(ipsec_keymgr_get_security(f->t.e, f->alice, NULL, SACL_SECURITY_INFORMATION,
                                               NULL, NULL, NULL, &sacl, &sd),
                     ERROR_ACCESS_DENIED);
    a = acl(f);
    assert_int_equal(ipsec_acl_add_ace(a, SYSTEM_AUDIT_ACE_TYPE, FWPM_ACTRL_ADD, &everyone),
                     ERROR_SUCCESS);
    assert_int_equal(ipsec_keymgr_set_security(f->t.e, f->root, NULL, SACL_SECURITY_INFORMATION,
                                               NULL, NULL, NULL, a),
                     ERROR_SUCCESS);
    assert_int_equal(ipsec_keymgr_get_security(f->t.e, f->root, NULL, SACL_SECURITY_INFORMATION,
                                               NULL, NULL, NULL, &sacl, &sd),
                     ERROR_SUCCESS);
    assert_non_null(sacl);
    assert_int_equal(sacl->AceCount, 1);
    free(sd);
}

static void test_set_in_read_only_txn_is_incompatible_txn(void **state)
{
    struct fx *f = *state;
    assert_int_equal(ipsec_txn_begin(f->t.e, f->root, FWPM_TXN_READ_ONLY), ERROR_SUCCESS);
    assert_int_equal(set_dacl(f, f->root, acl(f)), FWP_E_INCOMPATIBLE_TXN);
    assert_int_equal(ipsec_txn_abort(f->t.e, f->root), ERROR_SUCCESS);
}

static void test_set_in_txn_applies_at_commit_dropped_at_abort(void **state)
{
    struct fx *f = *state;
    ACL *a = acl(f);
    SID alice = DRT_UNIX_USER_SID_INIT(1000);
    assert_int_equal(ipsec_acl_add_ace(a, ACCESS_ALLOWED_ACE_TYPE, GENERIC_ALL, &alice),
                     ERROR_SUCCESS);

    assert_int_equal(ipsec_txn_begin(f->t.e, f->root, 0), ERROR_SUCCESS);
    assert_int_equal(set_dacl(f, f->root, a), ERROR_SUCCESS);
    assert_int_equal(alice_registers(f), ERROR_ACCESS_DENIED); /* not committed yet */
    PSECURITY_DESCRIPTOR sd;
    PACL dacl;
    /* The writing session sees its own staged DACL. */
    assert_int_equal(ipsec_keymgr_get_security(f->t.e, f->root, NULL, DACL_SECURITY_INFORMATION,
                                               NULL, NULL, &dacl, NULL, &sd),
                     ERROR_SUCCESS);
    assert_true(ipsec_sid_equal((const SID *)(void *)((uint8_t *)dacl + sizeof(ACL) + 8), &alice));
    free(sd);
    assert_int_equal(ipsec_txn_abort(f->t.e, f->root), ERROR_SUCCESS);
    assert_int_equal(alice_registers(f), ERROR_ACCESS_DENIED);

    assert_int_equal(ipsec_txn_begin(f->t.e, f->root, 0), ERROR_SUCCESS);
    assert_int_equal(set_dacl(f, f->root, a), ERROR_SUCCESS);
    assert_int_equal(ipsec_txn_commit(f->t.e, f->root), ERROR_SUCCESS);
    assert_int_equal(alice_registers(f), ERROR_SUCCESS);
}

static void test_set_owner_copies_only_the_sids_length(void **state)
{
    struct fx *f = *state;
    /* A SID with one sub-authority at the very end of a 12-byte buffer. */
    uint32_t buf[3];
    SID everyone = DRT_EVERYONE_SID_INIT;
    memcpy(buf, &everyone, sizeof(buf));
    assert_int_equal(ipsec_keymgr_set_security(f->t.e, f->root, NULL, OWNER_SECURITY_INFORMATION,
                                               (const SID *)(void *)buf, NULL, NULL, NULL),
                     ERROR_SUCCESS);
    /* Everyone owns it now, so alice holds WRITE_DAC implicitly. */
    assert_int_equal(set_dacl(f, f->alice, acl(f)), ERROR_SUCCESS);
}

static void test_acl_builder_limits(void **state)
{
    (void)state;
    uint32_t small[5];
    ACL *a = (ACL *)(void *)small;
    SID alice = DRT_UNIX_USER_SID_INIT(1000);
    assert_int_equal(ipsec_acl_initialize(NULL, 64), ERROR_INVALID_PARAMETER);
    assert_int_equal(ipsec_acl_initialize(a, 4), ERROR_INVALID_PARAMETER);
    assert_int_equal(ipsec_acl_initialize(a, sizeof(small)), ERROR_SUCCESS);
    assert_int_equal(ipsec_acl_add_ace(a, ACCESS_ALLOWED_ACE_TYPE, 1, &alice),
                     ERROR_INSUFFICIENT_BUFFER);
    assert_int_equal(ipsec_acl_add_ace(a, 7, 1, &alice), ERROR_INVALID_PARAMETER);
    assert_int_equal(ipsec_acl_add_ace(a, ACCESS_ALLOWED_ACE_TYPE, 1, NULL), ERROR_INVALID_PARAMETER);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_default_descriptor_names_engine_owner),
        T(test_get_argument_errors),
        T(test_set_argument_errors),
        T(test_allow_ace_for_user_lets_user_register),
        T(test_group_and_everyone_aces_match),
        T(test_deny_ace_before_allow_refuses),
        T(test_owner_keeps_write_dac_with_empty_dacl),
        T(test_sacl_needs_owner_or_root),
        T(test_set_in_read_only_txn_is_incompatible_txn),
        T(test_set_in_txn_applies_at_commit_dropped_at_abort),
        T(test_set_owner_copies_only_the_sids_length),
        cmocka_unit_test(test_acl_builder_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
