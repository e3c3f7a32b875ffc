/*
 * secdesc.h - SIDs, ACLs and security descriptors in the Windows binary
 * layout, and the access check that maps them onto POSIX callers.
 *
 * Parsing never trusts the caller's alignment or sizes: every field is read
 * with memcpy inside the bounds the headers announce, and a SID is read in
 * two steps (its 8-byte header, then exactly SubAuthorityCount DWORDs).
 */
#ifndef DRT_IPSEC_SECDESC_H
#define DRT_IPSEC_SECDESC_H

#include <stdbool.h>
#include <stddef.h>

#include "ipsec/engine.h"

/* Every right the key-manager container knows: the FWPM_ACTRL_* bits and
 * DELETE, READ_CONTROL, WRITE_DAC, WRITE_OWNER. GENERIC_ALL maps to it. */
#define IPSEC_KEYMGR_ALL_ACCESS 0x000F07FFu

/* A descriptor whose parts the engine owns. dacl is never NULL; sacl is
 * NULL until someone sets one. ACLs are stored compacted (AclSize = used). */
struct ipsec_secdesc {
    SID owner;
    SID group;
    ACL *dacl;
    ACL *sacl;
};

/* The parts staged by a transaction, applied to the descriptor at commit. */
struct ipsec_secdesc_delta {
    SECURITY_INFORMATION parts;
    SID owner;
    SID group;
    ACL *dacl;
    ACL *sacl;
};

/* What a caller sees: the descriptor with its own staged parts on top. */
struct ipsec_secdesc_view {
    const SID *owner;
    const SID *group;
    const ACL *dacl;
    const ACL *sacl;
};

/* Byte length of a valid SID (8 + 4 * SubAuthorityCount), 0 if invalid. */
size_t ipsec_sid_length(const SID *sid);
bool ipsec_sid_equal(const SID *a, const SID *b);
void ipsec_sid_unix(SID *sid, bool group, uint32_t id);
bool ipsec_sid_matches(const SID *sid, const struct ipsec_caller *caller);

/* ERROR_SUCCESS, or FWP_E_INVALID_PARAMETER for a malformed ACL or for an
 * ACE type not allowed in it (a DACL holds allow/deny ACEs, a SACL audit
 * ACEs). On success *copy is a compacted malloc'd copy (if copy != NULL). */
DWORD ipsec_acl_copy(const ACL *acl, bool is_sacl, ACL **copy);

DWORD ipsec_acl_initialize(ACL *acl, DWORD length);
DWORD ipsec_acl_add_ace(ACL *acl, BYTE type, ACCESS_MASK mask, const SID *sid);

/* The default: owner/group are the engine owner's user and group, the DACL
 * allows everything to that user and to root, there is no SACL. */
DWORD ipsec_secdesc_init_default(struct ipsec_secdesc *sd, const struct ipsec_caller *owner);
void ipsec_secdesc_free(struct ipsec_secdesc *sd);
void ipsec_secdesc_delta_free(struct ipsec_secdesc_delta *d);
/* Moves d's parts into sd (d is left empty); cannot fail. */
void ipsec_secdesc_apply(struct ipsec_secdesc *sd, struct ipsec_secdesc_delta *d);
/* Merges `from` (just validated and copied) into d, taking its ACLs. */
void ipsec_secdesc_delta_merge(struct ipsec_secdesc_delta *d, struct ipsec_secdesc_delta *from);

struct ipsec_secdesc_view ipsec_secdesc_view(const struct ipsec_secdesc *sd,
                                             const struct ipsec_secdesc_delta *d);

/* Windows' DACL walk: the owner implicitly holds READ_CONTROL|WRITE_DAC;
 * ACEs that name the caller are read in order, a deny ACE covering a still
 * missing right refuses, allow ACEs accumulate. ACCESS_SYSTEM_SECURITY is
 * never granted by the DACL: only the owner and root hold it. */
bool ipsec_secdesc_access(const struct ipsec_secdesc_view *v, const struct ipsec_caller *caller,
                          ACCESS_MASK desired);

/* Builds the self-relative descriptor with the parts named in info.
 * Returns ERROR_SUCCESS or ERROR_NOT_ENOUGH_MEMORY. */
DWORD ipsec_secdesc_serialize(const struct ipsec_secdesc_view *v, SECURITY_INFORMATION info,
                              PSID *owner, PSID *group, PACL *dacl, PACL *sacl,
                              PSECURITY_DESCRIPTOR *out);

#endif
