/*
 * test_fwpm_codes.c - every FWP_E_* code and SEC_E_CANNOT_INSTALL in
 * <fwpmu.h> against a table typed from the reference
 * (shared/reference/ipsec-keymgr.md §6.1, §6.2), and the other constants
 * the key-manager API fixes (§2.1, §2.5, §4.1, §4.2).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <fwpmu.h>

struct code {
    const char *name;
    DWORD value;
    uint32_t expected;
};

#define C(name, literal) {#name, name, literal}

static const struct code fwp_codes[] = {
    C(FWP_E_CALLOUT_NOT_FOUND, 0x80320001u),
    C(FWP_E_CONDITION_NOT_FOUND, 0x80320002u),
    C(FWP_E_FILTER_NOT_FOUND, 0x80320003u),
    C(FWP_E_LAYER_NOT_FOUND, 0x80320004u),
    C(FWP_E_PROVIDER_NOT_FOUND, 0x80320005u),
    C(FWP_E_PROVIDER_CONTEXT_NOT_FOUND, 0x80320006u),
    C(FWP_E_SUBLAYER_NOT_FOUND, 0x80320007u),
    C(FWP_E_NOT_FOUND, 0x80320008u),
    C(FWP_E_ALREADY_EXISTS, 0x80320009u),
    C(FWP_E_IN_USE, 0x8032000Au),
    C(FWP_E_DYNAMIC_SESSION_IN_PROGRESS, 0x8032000Bu),
    C(FWP_E_WRONG_SESSION, 0x8032000Cu),
    C(FWP_E_NO_TXN_IN_PROGRESS, 0x8032000Du),
    C(FWP_E_TXN_IN_PROGRESS, 0x8032000Eu),
    C(FWP_E_TXN_ABORTED, 0x8032000Fu),
    C(FWP_E_SESSION_ABORTED, 0x80320010u),
    C(FWP_E_INCOMPATIBLE_TXN, 0x80320011u),
    C(FWP_E_TIMEOUT, 0x80320012u),
    C(FWP_E_NET_EVENTS_DISABLED, 0x80320013u),
    C(FWP_E_INCOMPATIBLE_LAYER, 0x80320014u),
    C(FWP_E_KM_CLIENTS_ONLY, 0x80320015u),
    C(FWP_E_LIFETIME_MISMATCH, 0x80320016u),
    C(FWP_E_BUILTIN_OBJECT, 0x80320017u),
    C(FWP_E_TOO_MANY_CALLOUTS, 0x80320018u),
    C(FWP_E_NOTIFICATION_DROPPED, 0x80320019u),
    C(FWP_E_TRAFFIC_MISMATCH, 0x8032001Au),
    C(FWP_E_INCOMPATIBLE_SA_STATE, 0x8032001Bu),
    C(FWP_E_NULL_POINTER, 0x8032001Cu),
    C(FWP_E_INVALID_ENUMERATOR, 0x8032001Du),
    C(FWP_E_INVALID_FLAGS, 0x8032001Eu),
    C(FWP_E_INVALID_NET_MASK, 0x8032001Fu),
    C(FWP_E_INVALID_RANGE, 0x80320020u),
    C(FWP_E_INVALID_INTERVAL, 0x80320021u),
    C(FWP_E_ZERO_LENGTH_ARRAY, 0x80320022u),
    C(FWP_E_NULL_DISPLAY_NAME, 0x80320023u),
    C(FWP_E_INVALID_ACTION_TYPE, 0x80320024u),
    C(FWP_E_INVALID_WEIGHT, 0x80320025u),
    C(FWP_E_MATCH_TYPE_MISMATCH, 0x80320026u),
    C(FWP_E_TYPE_MISMATCH, 0x80320027u),
    C(FWP_E_OUT_OF_BOUNDS, 0x80320028u),
    C(FWP_E_RESERVED, 0x80320029u),
    C(FWP_E_DUPLICATE_CONDITION, 0x8032002Au),
    C(FWP_E_DUPLICATE_KEYMOD, 0x8032002Bu),
    C(FWP_E_ACTION_INCOMPATIBLE_WITH_LAYER, 0x8032002Cu),
    C(FWP_E_ACTION_INCOMPATIBLE_WITH_SUBLAYER, 0x8032002Du),
    C(FWP_E_CONTEXT_INCOMPATIBLE_WITH_LAYER, 0x8032002Eu),
    C(FWP_E_CONTEXT_INCOMPATIBLE_WITH_CALLOUT, 0x8032002Fu),
    C(FWP_E_INCOMPATIBLE_AUTH_METHOD, 0x80320030u),
    C(FWP_E_INCOMPATIBLE_DH_GROUP, 0x80320031u),
    C(FWP_E_EM_NOT_SUPPORTED, 0x80320032u),
    C(FWP_E_NEVER_MATCH, 0x80320033u),
    C(FWP_E_PROVIDER_CONTEXT_MISMATCH, 0x80320034u),
    C(FWP_E_INVALID_PARAMETER, 0x80320035u),
    C(FWP_E_TOO_MANY_SUBLAYERS, 0x80320036u),
    C(FWP_E_CALLOUT_NOTIFICATION_FAILED, 0x80320037u),
    C(FWP_E_INVALID_AUTH_TRANSFORM, 0x80320038u),
    C(FWP_E_INVALID_CIPHER_TRANSFORM, 0x80320039u),
    C(FWP_E_INCOMPATIBLE_CIPHER_TRANSFORM, 0x8032003Au),
    C(FWP_E_INVALID_TRANSFORM_COMBINATION, 0x8032003Bu),
    C(FWP_E_DUPLICATE_AUTH_METHOD, 0x8032003Cu),
    C(FWP_E_INVALID_TUNNEL_ENDPOINT, 0x8032003Du),
    C(FWP_E_L2_DRIVER_NOT_READY, 0x8032003Eu),
    C(FWP_E_KEY_DICTATOR_ALREADY_REGISTERED, 0x8032003Fu),
    C(FWP_E_KEY_DICTATION_INVALID_KEYING_MATERIAL, 0x80320040u),
    C(FWP_E_CONNECTIONS_DISABLED, 0x80320041u),
    C(FWP_E_INVALID_DNS_NAME, 0x80320042u),
    C(FWP_E_STILL_ON, 0x80320043u),
    C(FWP_E_IKEEXT_NOT_RUNNING, 0x80320044u),
    C(FWP_E_DROP_NOICMP, 0x80320104u),
};

/* §6.2 and the Win32 numbers the key-manager calls return. */
static const struct code other_codes[] = {
    C(SEC_E_CANNOT_INSTALL, 0x80090307u),
    C(RPC_E_CALL_REJECTED, 0x80010001u),
    C(RPC_E_SERVERFAULT, 0x80010105u),
    C(RPC_E_DISCONNECTED, 0x80010108u),
    C(RPC_E_TIMEOUT, 0x8001011Fu),
    C(RPC_E_ACCESS_DENIED, 0x8001011Bu),
    C(RPC_E_INVALID_STD_NAME, 0x80010122u),
    C(ERROR_SUCCESS, 0u),
    C(ERROR_ACCESS_DENIED, 5u),
    C(ERROR_NOT_SUPPORTED, 50u),
    C(ERROR_INVALID_PARAMETER, 87u),
};

static void check_table(const struct code *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if ((uint32_t)t[i].value != t[i].expected)
            fail_msg("%s is 0x%08X, reference says 0x%08X", t[i].name, (unsigned)t[i].value,
                     (unsigned)t[i].expected);
    }
}

static void test_fwp_codes_match_reference(void **state)
{
    (void)state;
    check_table(fwp_codes, sizeof(fwp_codes) / sizeof(fwp_codes[0]));
}

static void test_other_codes_match_reference(void **state)
{
    (void)state;
    check_table(other_codes, sizeof(other_codes) / sizeof(other_codes[0]));
}

/* The table must name every FWP_E_* the header defines, so a code added to
 * the header without a reference value makes this test fail. */
static void test_table_covers_every_fwp_code_in_header(void **state)
{
    (void)state;
    FILE *fp = fopen(FWPMU_H_PATH, "r");
    assert_non_null(fp);
    char line[256];
    size_t defined = 0;
    while (fgets(line, sizeof(line), fp)) {
        char name[128];
        if (sscanf(line, "#define %127s", name) != 1 || strncmp(name, "FWP_E_", 6) != 0)
            continue;
        defined++;
        bool found = false;
        for (size_t i = 0; i < sizeof(fwp_codes) / sizeof(fwp_codes[0]); i++)
            found = found || strcmp(fwp_codes[i].name, name) == 0;
        if (!found)
            fail_msg("%s is in fwpmu.h but not in the reference table", name);
    }
    fclose(fp);
    assert_int_equal(defined, sizeof(fwp_codes) / sizeof(fwp_codes[0]));
}

static void test_api_constants_match_reference(void **state)
{
    (void)state;
    assert_int_equal(IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY, 0x00000001u);
    assert_int_equal(FWPM_SESSION_FLAG_DYNAMIC, 0x00000001u);
    assert_int_equal(FWPM_TXN_READ_ONLY, 0x00000001u);
    assert_int_equal(RPC_C_AUTHN_WINNT, 10u);
    assert_int_equal(RPC_C_AUTHN_DEFAULT, 0xFFFFFFFFu);
    assert_int_equal(FWPM_ACTRL_ADD, 0x1u);
    assert_int_equal(FWPM_ACTRL_BEGIN_READ_TXN, 0x4u);
    assert_int_equal(FWPM_ACTRL_BEGIN_WRITE_TXN, 0x8u);
    assert_int_equal(FWPM_ACTRL_ENUM, 0x20u);
    assert_int_equal(FWPM_ACTRL_OPEN, 0x40u);
    assert_int_equal(FWPM_ACTRL_SUBSCRIBE, 0x200u);
    assert_int_equal(IPSEC_SA_BUNDLE_FLAG_USING_DICTATED_KEYS, 0x00080000u);
    assert_int_equal(IPSEC_SA_BUNDLE_FLAG_LOCALLY_DICTATED_KEYS, 0x00100000u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fwp_codes_match_reference),
        cmocka_unit_test(test_other_codes_match_reference),
        cmocka_unit_test(test_table_covers_every_fwp_code_in_header),
        cmocka_unit_test(test_api_constants_match_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
