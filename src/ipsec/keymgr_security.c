/*
 * keymgr_security.c - IPsecKeyManagerGet/SetSecurityInfoByKey0 over the
 * one descriptor that guards the whole key-manager container (the calls
 * take no key-manager GUID: their key slot is `reserved`).
 */
#include <string.h>

#include "ipsec/engine_internal.h"
#include "ipsec/keymgr.h"

#define ALL_PARTS                                                                     \
    (OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION | \
     SACL_SECURITY_INFORMATION)

/* The rights reading or writing the parts in info needs (winnt.h rules). */
static ACCESS_MASK rights_for(SECURITY_INFORMATION info, bool write)
{
    ACCESS_MASK m = 0;
    if (info & (OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION))
        m |= write ? WRITE_OWNER : READ_CONTROL;
    if (info & DACL_SECURITY_INFORMATION)
        m |= write ? WRITE_DAC : READ_CONTROL;
    if (info & SACL_SECURITY_INFORMATION)
        m |= ACCESS_SYSTEM_SECURITY;
    return m;
}

DWORD ipsec_keymgr_get_security(struct ipsec_engine *e, HANDLE session, const void *reserved,
                                SECURITY_INFORMATION securityInfo, PSID *sidOwner,
                                PSID *sidGroup, PACL *dacl, PACL *sacl,
                                PSECURITY_DESCRIPTOR *securityDescriptor)
{
    if (!session || !securityDescriptor)
        return FWP_E_NULL_POINTER;
    *securityDescriptor = NULL;
    if (sidOwner)
        *sidOwner = NULL;
    if (sidGroup)
        *sidGroup = NULL;
    if (dacl)
        *dacl = NULL;
    if (sacl)
        *sacl = NULL;
    if (reserved)
        return FWP_E_RESERVED;
    if (securityInfo & ~(SECURITY_INFORMATION)ALL_PARTS)
        return FWP_E_INVALID_FLAGS;
    struct ipsec_session *s = ipsec_session_find(e, session);
    if (!s)
        return ERROR_INVALID_HANDLE;
    struct ipsec_secdesc_view v = ipsec_engine_view(e, s);
    if (!ipsec_secdesc_access(&v, &s->caller, rights_for(securityInfo, false)))
        return ERROR_ACCESS_DENIED;
    return ipsec_secdesc_serialize(&v, securityInfo, sidOwner, sidGroup, dacl, sacl,
                                   securityDescriptor);
}

/* Copies only the caller's SubAuthorityCount sub-authorities: a SID the
 * caller passes may be shorter than our maximal SID struct. */
static void copy_sid(SID *dst, const SID *src)
{
    memset(dst, 0, sizeof(*dst));
    memcpy(dst, src, ipsec_sid_length(src));
}

static DWORD check_set_args(SECURITY_INFORMATION info, const SID *owner, const SID *group,
                            const ACL *dacl, const ACL *sacl)
{
    if (info == 0 || (info & ~(SECURITY_INFORMATION)ALL_PARTS))
        return FWP_E_INVALID_FLAGS;
    /* A NULL DACL means "everyone, everything" on Windows; the engine
     * refuses it rather than open the container by accident. */
    if (((info & OWNER_SECURITY_INFORMATION) && !owner) ||
        ((info & GROUP_SECURITY_INFORMATION) && !group) ||
        ((info & DACL_SECURITY_INFORMATION) && !dacl) ||
        ((info & SACL_SECURITY_INFORMATION) && !sacl))
        return FWP_E_NULL_POINTER;
    if (((info & OWNER_SECURITY_INFORMATION) && ipsec_sid_length(owner) == 0) ||
        ((info & GROUP_SECURITY_INFORMATION) && ipsec_sid_length(group) == 0))
        return FWP_E_INVALID_PARAMETER;
    if ((info & DACL_SECURITY_INFORMATION) && ipsec_acl_copy(dacl, false, NULL) != ERROR_SUCCESS)
        return FWP_E_INVALID_PARAMETER;
    if ((info & SACL_SECURITY_INFORMATION) && ipsec_acl_copy(sacl, true, NULL) != ERROR_SUCCESS)
        return FWP_E_INVALID_PARAMETER;
    return ERROR_SUCCESS;
}

DWORD ipsec_keymgr_set_security(struct ipsec_engine *e, HANDLE session, const void *reserved,
                                SECURITY_INFORMATION securityInfo, const SID *sidOwner,
                                const SID *sidGroup, const ACL *dacl, const ACL *sacl)
{
    if (!session)
        return FWP_E_NULL_POINTER;
    if (reserved)
        return FWP_E_RESERVED;
    DWORD rc = check_set_args(securityInfo, sidOwner, sidGroup, dacl, sacl);
    if (rc != ERROR_SUCCESS)
        return rc;
    struct ipsec_session *s = ipsec_session_find(e, session);
    if (!s)
        return ERROR_INVALID_HANDLE;
    if (s->txn.open && s->txn.read_only)
        return FWP_E_INCOMPATIBLE_TXN;
    struct ipsec_secdesc_view v = ipsec_engine_view(e, s);
    if (!ipsec_secdesc_access(&v, &s->caller, rights_for(securityInfo, true)))
        return ERROR_ACCESS_DENIED;

    struct ipsec_secdesc_delta d = {.parts = securityInfo};
    if (securityInfo & OWNER_SECURITY_INFORMATION)
        copy_sid(&d.owner, sidOwner);
    if (securityInfo & GROUP_SECURITY_INFORMATION)
        copy_sid(&d.group, sidGroup);
    if ((securityInfo & DACL_SECURITY_INFORMATION) &&
        ipsec_acl_copy(dacl, false, &d.dacl) != ERROR_SUCCESS)
        goto oom;
    if ((securityInfo & SACL_SECURITY_INFORMATION) &&
        ipsec_acl_copy(sacl, true, &d.sacl) != ERROR_SUCCESS)
        goto oom;
    if (s->txn.open)
        ipsec_secdesc_delta_merge(&s->txn.sd, &d);
    else
        ipsec_secdesc_apply(&e->sd, &d);
    return ERROR_SUCCESS;
oom:
    ipsec_secdesc_delta_free(&d);
    return ERROR_NOT_ENOUGH_MEMORY;
}
