/* secdesc.c - SIDs, ACLs, descriptors and the access check (see secdesc.h). */
#include "ipsec/secdesc.h"

#include <stdlib.h>
#include <string.h>

#define SID_HEADER_BYTES 8u
#define ACE_FIXED_BYTES  8u /* ACE_HEADER + Mask; the SID follows */
#define ACL_MAX_BYTES    0xFFFFu

static const BYTE unix_authority = DRT_SID_UNIX_AUTHORITY;

static uint16_t get16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static void put16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, sizeof(v));
}

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, sizeof(v));
}

/* The SID at p, or 0 when its header is malformed. */
static size_t sid_bytes_length(const uint8_t *p)
{
    if (p[0] != SID_REVISION || p[1] > SID_MAX_SUB_AUTHORITIES)
        return 0;
    return SID_HEADER_BYTES + 4u * p[1];
}

size_t ipsec_sid_length(const SID *sid)
{
    return sid ? sid_bytes_length((const uint8_t *)sid) : 0;
}

static bool sid_bytes_equal(const uint8_t *a, const uint8_t *b)
{
    size_t la = sid_bytes_length(a), lb = sid_bytes_length(b);
    return la != 0 && la == lb && memcmp(a, b, la) == 0;
}

bool ipsec_sid_equal(const SID *a, const SID *b)
{
    return sid_bytes_equal((const uint8_t *)a, (const uint8_t *)b);
}

void ipsec_sid_unix(SID *sid, bool group, uint32_t id)
{
    memset(sid, 0, sizeof(*sid));
    sid->Revision = SID_REVISION;
    sid->SubAuthorityCount = 2;
    sid->IdentifierAuthority.Value[5] = unix_authority;
    sid->SubAuthority[0] = group ? DRT_SID_UNIX_GROUP_RID : DRT_SID_UNIX_USER_RID;
    sid->SubAuthority[1] = id;
}

static bool sid_bytes_match(const uint8_t *p, const struct ipsec_caller *c)
{
    static const uint8_t everyone[] = {SID_REVISION, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0};
    SID s;

    if (sid_bytes_equal(p, everyone))
        return true;
    ipsec_sid_unix(&s, false, c->uid);
    if (sid_bytes_equal(p, (const uint8_t *)&s))
        return true;
    ipsec_sid_unix(&s, true, c->gid);
    return sid_bytes_equal(p, (const uint8_t *)&s);
}

bool ipsec_sid_matches(const SID *sid, const struct ipsec_caller *caller)
{
    return sid && sid_bytes_match((const uint8_t *)sid, caller);
}

static bool ace_type_allowed(BYTE type, int want)
{
    /* want: 0 = DACL, 1 = SACL, 2 = any (while building). */
    if (want == 0)
        return type == ACCESS_ALLOWED_ACE_TYPE || type == ACCESS_DENIED_ACE_TYPE;
    if (want == 1)
        return type == SYSTEM_AUDIT_ACE_TYPE;
    return type <= SYSTEM_AUDIT_ACE_TYPE;
}

/* Walks the ACEs; on success *used is the header plus every ACE. */
static bool acl_scan(const uint8_t *p, int want, size_t *used)
{
    if (p[0] != ACL_REVISION && p[0] != ACL_REVISION_DS)
        return false;
    size_t size = get16(p + 2), count = get16(p + 4);
    if (size < sizeof(ACL) || size % 4 != 0)
        return false;
    size_t off = sizeof(ACL);
    for (size_t i = 0; i < count; i++) {
        if (size - off < ACE_FIXED_BYTES + SID_HEADER_BYTES)
            return false;
        size_t ace_size = get16(p + off + 2);
        if (ace_size < ACE_FIXED_BYTES + SID_HEADER_BYTES || ace_size % 4 != 0 ||
            ace_size > size - off)
            return false;
        if (!ace_type_allowed(p[off], want))
            return false;
        size_t sid_len = sid_bytes_length(p + off + ACE_FIXED_BYTES);
        if (sid_len == 0 || sid_len > ace_size - ACE_FIXED_BYTES)
            return false;
        off += ace_size;
    }
    *used = off;
    return true;
}

DWORD ipsec_acl_copy(const ACL *acl, bool is_sacl, ACL **copy)
{
    size_t used;

    if (copy)
        *copy = NULL;
    if (!acl || !acl_scan((const uint8_t *)acl, is_sacl ? 1 : 0, &used))
        return FWP_E_INVALID_PARAMETER;
    if (!copy)
        return ERROR_SUCCESS;
    uint8_t *c = malloc(used);
    if (!c)
        return ERROR_NOT_ENOUGH_MEMORY;
    memcpy(c, acl, used);
    put16(c + 2, (uint16_t)used);
    *copy = (ACL *)(void *)c;
    return ERROR_SUCCESS;
}

DWORD ipsec_acl_initialize(ACL *acl, DWORD length)
{
    if (!acl || (uintptr_t)acl % 4 != 0 || length < sizeof(ACL) || length > ACL_MAX_BYTES)
        return ERROR_INVALID_PARAMETER;
    uint8_t *p = (uint8_t *)acl;
    memset(p, 0, sizeof(ACL));
    p[0] = ACL_REVISION;
    put16(p + 2, (uint16_t)(length & ~3u));
    return ERROR_SUCCESS;
}

DWORD ipsec_acl_add_ace(ACL *acl, BYTE type, ACCESS_MASK mask, const SID *sid)
{
    size_t used;

    if (!acl || !sid || !ace_type_allowed(type, 2) || !acl_scan((const uint8_t *)acl, 2, &used))
        return ERROR_INVALID_PARAMETER;
    size_t sid_len = ipsec_sid_length(sid);
    if (sid_len == 0)
        return ERROR_INVALID_PARAMETER;
    uint8_t *p = (uint8_t *)acl;
    size_t ace_size = ACE_FIXED_BYTES + sid_len;
    if (ace_size > get16(p + 2) - used)
        return ERROR_INSUFFICIENT_BUFFER;
    uint8_t *ace = p + used;
    ace[0] = type;
    ace[1] = 0;
    put16(ace + 2, (uint16_t)ace_size);
    put32(ace + 4, mask);
    memcpy(ace + ACE_FIXED_BYTES, sid, sid_len);
    put16(p + 4, (uint16_t)(get16(p + 4) + 1));
    return ERROR_SUCCESS;
}

DWORD ipsec_secdesc_init_default(struct ipsec_secdesc *sd, const struct ipsec_caller *owner)
{
    /* Two ACEs with two-sub-authority SIDs: 8 + 2 * (8 + 16) bytes. */
    uint32_t buf[16];
    ACL *acl = (ACL *)(void *)buf;
    SID user;

    memset(sd, 0, sizeof(*sd));
    ipsec_sid_unix(&sd->owner, false, owner->uid);
    ipsec_sid_unix(&sd->group, true, owner->gid);
    ipsec_acl_initialize(acl, sizeof(buf));
    ipsec_acl_add_ace(acl, ACCESS_ALLOWED_ACE_TYPE, IPSEC_KEYMGR_ALL_ACCESS, &sd->owner);
    if (owner->uid != 0) {
        ipsec_sid_unix(&user, false, 0);
        ipsec_acl_add_ace(acl, ACCESS_ALLOWED_ACE_TYPE, IPSEC_KEYMGR_ALL_ACCESS, &user);
    }
    return ipsec_acl_copy(acl, false, &sd->dacl);
}

void ipsec_secdesc_free(struct ipsec_secdesc *sd)
{
    free(sd->dacl);
    free(sd->sacl);
    sd->dacl = sd->sacl = NULL;
}

void ipsec_secdesc_delta_free(struct ipsec_secdesc_delta *d)
{
    free(d->dacl);
    free(d->sacl);
    memset(d, 0, sizeof(*d));
}

static void take_acl(ACL **dst, ACL **src)
{
    free(*dst);
    *dst = *src;
    *src = NULL;
}

void ipsec_secdesc_apply(struct ipsec_secdesc *sd, struct ipsec_secdesc_delta *d)
{
    if (d->parts & OWNER_SECURITY_INFORMATION)
        sd->owner = d->owner;
    if (d->parts & GROUP_SECURITY_INFORMATION)
        sd->group = d->group;
    if (d->parts & DACL_SECURITY_INFORMATION)
        take_acl(&sd->dacl, &d->dacl);
    if (d->parts & SACL_SECURITY_INFORMATION)
        take_acl(&sd->sacl, &d->sacl);
    ipsec_secdesc_delta_free(d);
}

void ipsec_secdesc_delta_merge(struct ipsec_secdesc_delta *d, struct ipsec_secdesc_delta *from)
{
    if (from->parts & OWNER_SECURITY_INFORMATION)
        d->owner = from->owner;
    if (from->parts & GROUP_SECURITY_INFORMATION)
        d->group = from->group;
    if (from->parts & DACL_SECURITY_INFORMATION)
        take_acl(&d->dacl, &from->dacl);
    if (from->parts & SACL_SECURITY_INFORMATION)
        take_acl(&d->sacl, &from->sacl);
    d->parts |= from->parts;
    ipsec_secdesc_delta_free(from);
}

struct ipsec_secdesc_view ipsec_secdesc_view(const struct ipsec_secdesc *sd,
                                             const struct ipsec_secdesc_delta *d)
{
    SECURITY_INFORMATION p = d ? d->parts : 0;
    return (struct ipsec_secdesc_view){
        .owner = (p & OWNER_SECURITY_INFORMATION) ? &d->owner : &sd->owner,
        .group = (p & GROUP_SECURITY_INFORMATION) ? &d->group : &sd->group,
        .dacl = (p & DACL_SECURITY_INFORMATION) ? d->dacl : sd->dacl,
        .sacl = (p & SACL_SECURITY_INFORMATION) ? d->sacl : sd->sacl,
    };
}

bool ipsec_secdesc_access(const struct ipsec_secdesc_view *v, const struct ipsec_caller *caller,
                          ACCESS_MASK desired)
{
    bool owner = ipsec_sid_matches(v->owner, caller);

    if (desired & ACCESS_SYSTEM_SECURITY) {
        if (!owner && caller->uid != 0)
            return false;
        desired &= ~(ACCESS_MASK)ACCESS_SYSTEM_SECURITY;
    }
    if (owner)
        desired &= ~(ACCESS_MASK)(READ_CONTROL | WRITE_DAC);
    if (!desired)
        return true;
    /* The stored DACL was validated and compacted when it was set. */
    const uint8_t *p = (const uint8_t *)v->dacl;
    size_t count = get16(p + 4), off = sizeof(ACL);
    for (size_t i = 0; i < count; i++) {
        size_t ace_size = get16(p + off + 2);
        if (sid_bytes_match(p + off + ACE_FIXED_BYTES, caller)) {
            ACCESS_MASK mask = get32(p + off + 4);
            if (mask & GENERIC_ALL)
                mask |= IPSEC_KEYMGR_ALL_ACCESS;
            if (p[off] == ACCESS_DENIED_ACE_TYPE && (mask & desired))
                return false;
            if (p[off] == ACCESS_ALLOWED_ACE_TYPE) {
                desired &= ~mask;
                if (!desired)
                    return true;
            }
        }
        off += ace_size;
    }
    return false;
}

static size_t acl_size(const ACL *acl)
{
    return get16((const uint8_t *)acl + 2);
}

DWORD ipsec_secdesc_serialize(const struct ipsec_secdesc_view *v, SECURITY_INFORMATION info,
                              PSID *owner, PSID *group, PACL *dacl, PACL *sacl,
                              PSECURITY_DESCRIPTOR *out)
{
    bool want_owner = info & OWNER_SECURITY_INFORMATION;
    bool want_group = info & GROUP_SECURITY_INFORMATION;
    bool want_dacl = info & DACL_SECURITY_INFORMATION;
    bool want_sacl = (info & SACL_SECURITY_INFORMATION) && v->sacl;
    size_t hdr = sizeof(SECURITY_DESCRIPTOR_RELATIVE);
    size_t off_sacl = hdr;
    size_t off_dacl = off_sacl + (want_sacl ? acl_size(v->sacl) : 0);
    size_t off_owner = off_dacl + (want_dacl ? acl_size(v->dacl) : 0);
    size_t off_group = off_owner + (want_owner ? ipsec_sid_length(v->owner) : 0);
    size_t end = off_group + (want_group ? ipsec_sid_length(v->group) : 0);

    /* Slack after the last part, so that reading a whole SID struct through
     * a returned PSID stays inside the allocation. */
    uint8_t *b = calloc(1, end + sizeof(SID));
    if (!b)
        return ERROR_NOT_ENOUGH_MEMORY;
    SECURITY_DESCRIPTOR_RELATIVE h = {.Revision = SECURITY_DESCRIPTOR_REVISION,
                                      .Control = SE_SELF_RELATIVE};
    if (want_sacl) {
        memcpy(b + off_sacl, v->sacl, acl_size(v->sacl));
        h.Sacl = (DWORD)off_sacl;
        h.Control |= SE_SACL_PRESENT;
    }
    if (want_dacl) {
        memcpy(b + off_dacl, v->dacl, acl_size(v->dacl));
        h.Dacl = (DWORD)off_dacl;
        h.Control |= SE_DACL_PRESENT;
    }
    if (want_owner) {
        memcpy(b + off_owner, v->owner, ipsec_sid_length(v->owner));
        h.Owner = (DWORD)off_owner;
    }
    if (want_group) {
        memcpy(b + off_group, v->group, ipsec_sid_length(v->group));
        h.Group = (DWORD)off_group;
    }
    memcpy(b, &h, sizeof(h));
    if (owner)
        *owner = want_owner ? b + off_owner : NULL;
    if (group)
        *group = want_group ? b + off_group : NULL;
    if (dacl)
        *dacl = want_dacl ? (PACL)(void *)(b + off_dacl) : NULL;
    if (sacl)
        *sacl = want_sacl ? (PACL)(void *)(b + off_sacl) : NULL;
    *out = b;
    return ERROR_SUCCESS;
}
