/* fwpm_acl.c - the portable ACL builders of <fwpmu.h> (Windows has
 * InitializeAcl/AddAccessAllowedAce in advapi32 for this). */
#include "ipsec/secdesc.h"
#include "util/export.h"

DRT_EXPORT DWORD WINAPI DrtAclInitialize(ACL *acl, DWORD aclLength)
{
    return ipsec_acl_initialize(acl, aclLength);
}

DRT_EXPORT DWORD WINAPI DrtAclAddAce(ACL *acl, BYTE aceType, ACCESS_MASK mask, const SID *sid)
{
    return ipsec_acl_add_ace(acl, aceType, mask, sid);
}
