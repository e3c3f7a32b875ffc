/*
 * fwpmu.h - libdrt's keying engine: the subset of the Windows Filtering
 * Platform management API (fwpmu.h, fwpmtypes.h, ipsectypes.h, iketypes.h,
 * winerror.h) that IPsec key managers ("trusted intermediary agents") use.
 *
 * Names, prototypes, member order and values are those of the Windows SDK,
 * so a key manager written for Windows compiles unchanged. Everything else
 * of WFP (filters, providers, callouts, SA contexts) is absent on purpose.
 *
 * Every WFP function returns a DWORD: ERROR_SUCCESS (0), an FWP_E_* code
 * (HRESULT facility 0x32, defined here as DWORD values so that
 * `rc == FWP_E_NOT_FOUND` compiles cleanly), or a Win32 error number.
 *
 * Portable additions (not in the Windows SDK), all marked "Portable":
 *   - SID, ACL and the self-relative security descriptor have the Windows
 *     binary layout; a POSIX user is the SID S-1-22-1-<uid>, a POSIX group
 *     S-1-22-2-<gid> (the "Unix user/group" authority 22), and S-1-1-0
 *     (Everyone) matches every caller. DRT_UNIX_USER_SID_INIT() and
 *     DRT_UNIX_GROUP_SID_INIT() build them; DrtAclInitialize() and
 *     DrtAclAddAce() build an ACL in a caller buffer.
 *   - SID is declared at its maximum size (68 bytes, 15 sub-authorities) so
 *     a variable of type SID holds any SID; only its first
 *     8 + 4 * SubAuthorityCount bytes are meaningful, and the library never
 *     reads more than that from a SID the caller passes.
 *
 * Behaviour, validation order and every choice where the Windows
 * documentation is silent: docs/KEYING.md.
 */
#ifndef DRT_FWPMU_H
#define DRT_FWPMU_H

#include "drt_wintypes.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Result codes. FWP_E_*: facility 0x32 (the matching NTSTATUS values are
 * 0xC022xxxx with the same low word).
 * ---------------------------------------------------------------------- */

#ifndef FWP_E_CALLOUT_NOT_FOUND
#define FWP_E_CALLOUT_NOT_FOUND                     ((DWORD)0x80320001L)
#define FWP_E_CONDITION_NOT_FOUND                   ((DWORD)0x80320002L)
#define FWP_E_FILTER_NOT_FOUND                      ((DWORD)0x80320003L)
#define FWP_E_LAYER_NOT_FOUND                       ((DWORD)0x80320004L)
#define FWP_E_PROVIDER_NOT_FOUND                    ((DWORD)0x80320005L)
#define FWP_E_PROVIDER_CONTEXT_NOT_FOUND            ((DWORD)0x80320006L)
#define FWP_E_SUBLAYER_NOT_FOUND                    ((DWORD)0x80320007L)
#define FWP_E_NOT_FOUND                             ((DWORD)0x80320008L)
#define FWP_E_ALREADY_EXISTS                        ((DWORD)0x80320009L)
#define FWP_E_IN_USE                                ((DWORD)0x8032000AL)
#define FWP_E_DYNAMIC_SESSION_IN_PROGRESS           ((DWORD)0x8032000BL)
#define FWP_E_WRONG_SESSION                         ((DWORD)0x8032000CL)
#define FWP_E_NO_TXN_IN_PROGRESS                    ((DWORD)0x8032000DL)
#define FWP_E_TXN_IN_PROGRESS                       ((DWORD)0x8032000EL)
#define FWP_E_TXN_ABORTED                           ((DWORD)0x8032000FL)
#define FWP_E_SESSION_ABORTED                       ((DWORD)0x80320010L)
#define FWP_E_INCOMPATIBLE_TXN                      ((DWORD)0x80320011L)
#define FWP_E_TIMEOUT                               ((DWORD)0x80320012L)
#define FWP_E_NET_EVENTS_DISABLED                   ((DWORD)0x80320013L)
#define FWP_E_INCOMPATIBLE_LAYER                    ((DWORD)0x80320014L)
#define FWP_E_KM_CLIENTS_ONLY                       ((DWORD)0x80320015L)
#define FWP_E_LIFETIME_MISMATCH                     ((DWORD)0x80320016L)
#define FWP_E_BUILTIN_OBJECT                        ((DWORD)0x80320017L)
#define FWP_E_TOO_MANY_CALLOUTS                     ((DWORD)0x80320018L)
#define FWP_E_NOTIFICATION_DROPPED                  ((DWORD)0x80320019L)
#define FWP_E_TRAFFIC_MISMATCH                      ((DWORD)0x8032001AL)
#define FWP_E_INCOMPATIBLE_SA_STATE                 ((DWORD)0x8032001BL)
#define FWP_E_NULL_POINTER                          ((DWORD)0x8032001CL)
#define FWP_E_INVALID_ENUMERATOR                    ((DWORD)0x8032001DL)
#define FWP_E_INVALID_FLAGS                         ((DWORD)0x8032001EL)
#define FWP_E_INVALID_NET_MASK                      ((DWORD)0x8032001FL)
#define FWP_E_INVALID_RANGE                         ((DWORD)0x80320020L)
#define FWP_E_INVALID_INTERVAL                      ((DWORD)0x80320021L)
#define FWP_E_ZERO_LENGTH_ARRAY                     ((DWORD)0x80320022L)
#define FWP_E_NULL_DISPLAY_NAME                     ((DWORD)0x80320023L)
#define FWP_E_INVALID_ACTION_TYPE                   ((DWORD)0x80320024L)
#define FWP_E_INVALID_WEIGHT                        ((DWORD)0x80320025L)
#define FWP_E_MATCH_TYPE_MISMATCH                   ((DWORD)0x80320026L)
#define FWP_E_TYPE_MISMATCH                         ((DWORD)0x80320027L)
#define FWP_E_OUT_OF_BOUNDS                         ((DWORD)0x80320028L)
#define FWP_E_RESERVED                              ((DWORD)0x80320029L)
#define FWP_E_DUPLICATE_CONDITION                   ((DWORD)0x8032002AL)
#define FWP_E_DUPLICATE_KEYMOD                      ((DWORD)0x8032002BL)
#define FWP_E_ACTION_INCOMPATIBLE_WITH_LAYER        ((DWORD)0x8032002CL)
#define FWP_E_ACTION_INCOMPATIBLE_WITH_SUBLAYER     ((DWORD)0x8032002DL)
#define FWP_E_CONTEXT_INCOMPATIBLE_WITH_LAYER       ((DWORD)0x8032002EL)
#define FWP_E_CONTEXT_INCOMPATIBLE_WITH_CALLOUT     ((DWORD)0x8032002FL)
#define FWP_E_INCOMPATIBLE_AUTH_METHOD              ((DWORD)0x80320030L)
#define FWP_E_INCOMPATIBLE_DH_GROUP                 ((DWORD)0x80320031L)
#define FWP_E_EM_NOT_SUPPORTED                      ((DWORD)0x80320032L)
#define FWP_E_NEVER_MATCH                           ((DWORD)0x80320033L)
#define FWP_E_PROVIDER_CONTEXT_MISMATCH             ((DWORD)0x80320034L)
#define FWP_E_INVALID_PARAMETER                     ((DWORD)0x80320035L)
#define FWP_E_TOO_MANY_SUBLAYERS                    ((DWORD)0x80320036L)
#define FWP_E_CALLOUT_NOTIFICATION_FAILED           ((DWORD)0x80320037L)
#define FWP_E_INVALID_AUTH_TRANSFORM                ((DWORD)0x80320038L)
#define FWP_E_INVALID_CIPHER_TRANSFORM              ((DWORD)0x80320039L)
#endif
#ifndef FWP_E_INCOMPATIBLE_CIPHER_TRANSFORM
#define FWP_E_INCOMPATIBLE_CIPHER_TRANSFORM         ((DWORD)0x8032003AL)
#define FWP_E_INVALID_TRANSFORM_COMBINATION         ((DWORD)0x8032003BL)
#define FWP_E_DUPLICATE_AUTH_METHOD                 ((DWORD)0x8032003CL)
#define FWP_E_INVALID_TUNNEL_ENDPOINT               ((DWORD)0x8032003DL)
#define FWP_E_L2_DRIVER_NOT_READY                   ((DWORD)0x8032003EL)
#define FWP_E_KEY_DICTATOR_ALREADY_REGISTERED       ((DWORD)0x8032003FL)
#define FWP_E_KEY_DICTATION_INVALID_KEYING_MATERIAL ((DWORD)0x80320040L)
#define FWP_E_CONNECTIONS_DISABLED                  ((DWORD)0x80320041L)
#define FWP_E_INVALID_DNS_NAME                      ((DWORD)0x80320042L)
#define FWP_E_STILL_ON                              ((DWORD)0x80320043L)
#define FWP_E_IKEEXT_NOT_RUNNING                    ((DWORD)0x80320044L)
#define FWP_E_DROP_NOICMP                           ((DWORD)0x80320104L)
#endif

/* A negotiation peer sent data that breaks the exchange (winerror.h). */
#ifndef ERROR_INVALID_DATA
#define ERROR_INVALID_DATA 13L
#endif

/* The binary image that holds the callbacks failed the integrity check. */
#ifndef SEC_E_CANNOT_INSTALL
#define SEC_E_CANNOT_INSTALL                        ((DWORD)0x80090307L)
#endif

/* "Cannot talk to the engine": the out-of-process transport's failures. */
#ifndef RPC_E_CALL_REJECTED
#define RPC_E_CALL_REJECTED                         ((DWORD)0x80010001L)
#define RPC_E_SERVER_DIED_DNE                       ((DWORD)0x80010012L)
#define RPC_E_SERVERFAULT                           ((DWORD)0x80010105L)
#define RPC_E_DISCONNECTED                          ((DWORD)0x80010108L)
#define RPC_E_ACCESS_DENIED                         ((DWORD)0x8001011BL)
#define RPC_E_TIMEOUT                               ((DWORD)0x8001011FL)
#define RPC_E_INVALID_STD_NAME                      ((DWORD)0x80010122L)
#endif

/* ------------------------------------------------------------------------
 * RPC authentication (rpcdce.h): what FwpmEngineOpen0 accepts.
 * ---------------------------------------------------------------------- */

#define RPC_C_AUTHN_WINNT   10u
#define RPC_C_AUTHN_DEFAULT 0xFFFFFFFFu

#define SEC_WINNT_AUTH_IDENTITY_ANSI    0x1u
#define SEC_WINNT_AUTH_IDENTITY_UNICODE 0x2u

/* Strings are UTF-16 code units as on Windows; the lengths exclude the NUL. */
typedef struct _SEC_WINNT_AUTH_IDENTITY_W {
    USHORT *User;
    ULONG UserLength;
    USHORT *Domain;
    ULONG DomainLength;
    USHORT *Password;
    ULONG PasswordLength;
    ULONG Flags;
} SEC_WINNT_AUTH_IDENTITY_W, *PSEC_WINNT_AUTH_IDENTITY_W;

/* ------------------------------------------------------------------------
 * Security: access masks, SIDs, ACLs, self-relative security descriptors
 * (winnt.h layouts), and the POSIX identities they name.
 * ---------------------------------------------------------------------- */

#ifndef DRT_FWPMU_SECURITY_DEFINED
#define DRT_FWPMU_SECURITY_DEFINED

typedef DWORD ACCESS_MASK;
typedef DWORD SECURITY_INFORMATION;
typedef WORD SECURITY_DESCRIPTOR_CONTROL;

#define OWNER_SECURITY_INFORMATION 0x00000001u
#define GROUP_SECURITY_INFORMATION 0x00000002u
#define DACL_SECURITY_INFORMATION  0x00000004u
#define SACL_SECURITY_INFORMATION  0x00000008u

/* Standard and generic rights. GENERIC_ALL in an ACE grants every right. */
#define DELETE                 0x00010000u
#define READ_CONTROL           0x00020000u
#define WRITE_DAC              0x00040000u
#define WRITE_OWNER            0x00080000u
#define ACCESS_SYSTEM_SECURITY 0x01000000u
#define GENERIC_ALL            0x10000000u

/* WFP object rights (fwpmtypes.h). */
#define FWPM_ACTRL_ADD             0x00000001u
#define FWPM_ACTRL_ADD_LINK        0x00000002u
#define FWPM_ACTRL_BEGIN_READ_TXN  0x00000004u
#define FWPM_ACTRL_BEGIN_WRITE_TXN 0x00000008u
#define FWPM_ACTRL_CLASSIFY        0x00000010u
#define FWPM_ACTRL_ENUM            0x00000020u
#define FWPM_ACTRL_OPEN            0x00000040u
#define FWPM_ACTRL_READ            0x00000080u
#define FWPM_ACTRL_READ_STATS      0x00000100u
#define FWPM_ACTRL_SUBSCRIBE       0x00000200u
#define FWPM_ACTRL_WRITE           0x00000400u

#define SID_REVISION            1
#define SID_MAX_SUB_AUTHORITIES 15

typedef struct _SID_IDENTIFIER_AUTHORITY {
    BYTE Value[6]; /* big-endian 48-bit authority */
} SID_IDENTIFIER_AUTHORITY, *PSID_IDENTIFIER_AUTHORITY;

/* Portable: declared with all 15 sub-authorities (see the top of the file). */
typedef struct _SID {
    BYTE Revision;
    BYTE SubAuthorityCount;
    SID_IDENTIFIER_AUTHORITY IdentifierAuthority;
    DWORD SubAuthority[SID_MAX_SUB_AUTHORITIES];
} SID, *PISID;
typedef PVOID PSID;

/* Portable: the POSIX identities. S-1-22-1-<uid> is a user, S-1-22-2-<gid>
 * a group; S-1-1-0 (Everyone) matches every caller. */
#define DRT_SID_UNIX_AUTHORITY 22
#define DRT_SID_UNIX_USER_RID  1
#define DRT_SID_UNIX_GROUP_RID 2
#define DRT_UNIX_USER_SID_INIT(uid) \
    {SID_REVISION, 2, {{0, 0, 0, 0, 0, DRT_SID_UNIX_AUTHORITY}}, {DRT_SID_UNIX_USER_RID, (DWORD)(uid)}}
#define DRT_UNIX_GROUP_SID_INIT(gid) \
    {SID_REVISION, 2, {{0, 0, 0, 0, 0, DRT_SID_UNIX_AUTHORITY}}, {DRT_SID_UNIX_GROUP_RID, (DWORD)(gid)}}
#define DRT_EVERYONE_SID_INIT {SID_REVISION, 1, {{0, 0, 0, 0, 0, 1}}, {0}}

/* An ACL is this 8-byte header followed, in the same buffer, by AceCount
 * ACEs of AceSize bytes each; AclSize counts the header and every ACE. */
#define ACL_REVISION    2
#define ACL_REVISION_DS 4

typedef struct _ACL {
    BYTE AclRevision;
    BYTE Sbz1;
    WORD AclSize;
    WORD AceCount;
    WORD Sbz2;
} ACL, *PACL;

#define ACCESS_ALLOWED_ACE_TYPE 0x0
#define ACCESS_DENIED_ACE_TYPE  0x1
#define SYSTEM_AUDIT_ACE_TYPE   0x2

typedef struct _ACE_HEADER {
    BYTE AceType;
    BYTE AceFlags;
    WORD AceSize; /* header + mask + the SID that starts at SidStart */
} ACE_HEADER, *PACE_HEADER;

typedef struct _ACCESS_ALLOWED_ACE {
    ACE_HEADER Header;
    ACCESS_MASK Mask;
    DWORD SidStart;
} ACCESS_ALLOWED_ACE, *PACCESS_ALLOWED_ACE;

typedef struct _ACCESS_DENIED_ACE {
    ACE_HEADER Header;
    ACCESS_MASK Mask;
    DWORD SidStart;
} ACCESS_DENIED_ACE, *PACCESS_DENIED_ACE;

typedef struct _SYSTEM_AUDIT_ACE {
    ACE_HEADER Header;
    ACCESS_MASK Mask;
    DWORD SidStart;
} SYSTEM_AUDIT_ACE, *PSYSTEM_AUDIT_ACE;

/* IPsecKeyManagerGetSecurityInfoByKey0 returns a self-relative descriptor:
 * this header, then the parts it names at byte offsets from its start
 * (0 = part absent). */
#define SECURITY_DESCRIPTOR_REVISION 1
#define SE_OWNER_DEFAULTED 0x0001u
#define SE_GROUP_DEFAULTED 0x0002u
#define SE_DACL_PRESENT    0x0004u
#define SE_DACL_DEFAULTED  0x0008u
#define SE_SACL_PRESENT    0x0010u
#define SE_SELF_RELATIVE   0x8000u

typedef struct _SECURITY_DESCRIPTOR_RELATIVE {
    BYTE Revision;
    BYTE Sbz1;
    SECURITY_DESCRIPTOR_CONTROL Control;
    DWORD Owner;
    DWORD Group;
    DWORD Sacl;
    DWORD Dacl;
} SECURITY_DESCRIPTOR_RELATIVE, *PISECURITY_DESCRIPTOR_RELATIVE;
typedef PVOID PSECURITY_DESCRIPTOR;

#endif /* DRT_FWPMU_SECURITY_DEFINED */

/* ------------------------------------------------------------------------
 * Common WFP types (fwptypes.h, fwpmtypes.h).
 * ---------------------------------------------------------------------- */

typedef enum FWP_IP_VERSION_ {
    FWP_IP_VERSION_V4 = 0,
    FWP_IP_VERSION_V6,
    FWP_IP_VERSION_NONE,
    FWP_IP_VERSION_MAX
} FWP_IP_VERSION;

typedef enum FWP_DIRECTION_ {
    FWP_DIRECTION_OUTBOUND = 0,
    FWP_DIRECTION_INBOUND,
    FWP_DIRECTION_MAX
} FWP_DIRECTION;

typedef struct FWP_BYTE_BLOB_ {
    UINT32 size;
    UINT8 *data;
} FWP_BYTE_BLOB;

typedef struct FWPM_DISPLAY_DATA0_ {
    wchar_t *name;
    wchar_t *description;
} FWPM_DISPLAY_DATA0;

/* Never used by this subset (no filters exist here); kept opaque so that
 * IPSEC_SA_DETAILS1 keeps its member and its layout. */
typedef struct FWPM_FILTER0_ FWPM_FILTER0;

#define FWPM_SESSION_FLAG_DYNAMIC  0x00000001u
#define FWPM_SESSION_FLAG_RESERVED 0x10000000u

typedef struct FWPM_SESSION0_ {
    GUID sessionKey;
    FWPM_DISPLAY_DATA0 displayData;
    UINT32 flags;
    UINT32 txnWaitTimeoutInMSec;
    DWORD processId;
    SID *sid;
    wchar_t *username;
    BOOL kernelMode;
} FWPM_SESSION0;

#define FWPM_TXN_READ_ONLY 0x00000001u

/* ------------------------------------------------------------------------
 * IKE and IPsec SA types (iketypes.h, ipsectypes.h).
 * ---------------------------------------------------------------------- */

typedef struct IKEEXT_TRAFFIC0_ {
    FWP_IP_VERSION ipVersion;
    union {
        UINT32 localV4Address;
        UINT8 localV6Address[16];
    };
    union {
        UINT32 remoteV4Address;
        UINT8 remoteV6Address[16];
    };
    UINT64 authIpFilterId;
} IKEEXT_TRAFFIC0;

typedef enum IPSEC_TRAFFIC_TYPE_ {
    IPSEC_TRAFFIC_TYPE_TRANSPORT = 0,
    IPSEC_TRAFFIC_TYPE_TUNNEL,
    IPSEC_TRAFFIC_TYPE_MAX
} IPSEC_TRAFFIC_TYPE;

typedef enum IPSEC_PFS_GROUP_ {
    IPSEC_PFS_NONE = 0,
    IPSEC_PFS_1 = 1,
    IPSEC_PFS_2 = 2,
    IPSEC_PFS_2048 = 3,
    IPSEC_PFS_14 = IPSEC_PFS_2048,
    IPSEC_PFS_ECP_256 = 4,
    IPSEC_PFS_ECP_384 = 5,
    IPSEC_PFS_MM = 6,
    IPSEC_PFS_24 = 7,
    IPSEC_PFS_MAX = 8
} IPSEC_PFS_GROUP;

typedef enum IPSEC_TRANSFORM_TYPE_ {
    IPSEC_TRANSFORM_AH = 1,
    IPSEC_TRANSFORM_ESP_AUTH,
    IPSEC_TRANSFORM_ESP_CIPHER,
    IPSEC_TRANSFORM_ESP_AUTH_AND_CIPHER,
    IPSEC_TRANSFORM_ESP_AUTH_FW,
    IPSEC_TRANSFORM_TYPE_MAX
} IPSEC_TRANSFORM_TYPE;

typedef enum IPSEC_AUTH_TYPE_ {
    IPSEC_AUTH_MD5 = 0,
    IPSEC_AUTH_SHA_1,
    IPSEC_AUTH_SHA_256,
    IPSEC_AUTH_AES_128,
    IPSEC_AUTH_AES_192,
    IPSEC_AUTH_AES_256,
    IPSEC_AUTH_MAX
} IPSEC_AUTH_TYPE;

typedef UINT8 IPSEC_AUTH_CONFIG;
#define IPSEC_AUTH_CONFIG_HMAC_MD5_96     0
#define IPSEC_AUTH_CONFIG_HMAC_SHA_1_96   1
#define IPSEC_AUTH_CONFIG_HMAC_SHA_256_128 2
#define IPSEC_AUTH_CONFIG_GCM_AES_128     3
#define IPSEC_AUTH_CONFIG_GCM_AES_192     4
#define IPSEC_AUTH_CONFIG_GCM_AES_256     5
#define IPSEC_AUTH_CONFIG_MAX             6

typedef enum IPSEC_CIPHER_TYPE_ {
    IPSEC_CIPHER_TYPE_DES = 1,
    IPSEC_CIPHER_TYPE_3DES,
    IPSEC_CIPHER_TYPE_AES_128,
    IPSEC_CIPHER_TYPE_AES_192,
    IPSEC_CIPHER_TYPE_AES_256,
    IPSEC_CIPHER_TYPE_MAX
} IPSEC_CIPHER_TYPE;

typedef UINT8 IPSEC_CIPHER_CONFIG;
#define IPSEC_CIPHER_CONFIG_CBC_DES     1
#define IPSEC_CIPHER_CONFIG_CBC_3DES    2
#define IPSEC_CIPHER_CONFIG_CBC_AES_128 3
#define IPSEC_CIPHER_CONFIG_CBC_AES_192 4
#define IPSEC_CIPHER_CONFIG_CBC_AES_256 5
#define IPSEC_CIPHER_CONFIG_GCM_AES_128 6
#define IPSEC_CIPHER_CONFIG_GCM_AES_192 7
#define IPSEC_CIPHER_CONFIG_GCM_AES_256 8
#define IPSEC_CIPHER_CONFIG_MAX         9

typedef GUID IPSEC_CRYPTO_MODULE_ID;

typedef struct IPSEC_AUTH_TRANSFORM_ID0_ {
    IPSEC_AUTH_TYPE authType;
    IPSEC_AUTH_CONFIG authConfig;
} IPSEC_AUTH_TRANSFORM_ID0;

typedef struct IPSEC_CIPHER_TRANSFORM_ID0_ {
    IPSEC_CIPHER_TYPE cipherType;
    IPSEC_CIPHER_CONFIG cipherConfig;
} IPSEC_CIPHER_TRANSFORM_ID0;

typedef struct IPSEC_AUTH_TRANSFORM0_ {
    IPSEC_AUTH_TRANSFORM_ID0 authTransformId;
    IPSEC_CRYPTO_MODULE_ID *cryptoModuleId;
} IPSEC_AUTH_TRANSFORM0;

typedef struct IPSEC_CIPHER_TRANSFORM0_ {
    IPSEC_CIPHER_TRANSFORM_ID0 cipherTransformId;
    IPSEC_CRYPTO_MODULE_ID *cryptoModuleId;
} IPSEC_CIPHER_TRANSFORM0;

typedef struct IPSEC_SA_AUTH_INFORMATION0_ {
    IPSEC_AUTH_TRANSFORM0 authTransform;
    FWP_BYTE_BLOB authKey;
} IPSEC_SA_AUTH_INFORMATION0;

typedef struct IPSEC_SA_CIPHER_INFORMATION0_ {
    IPSEC_CIPHER_TRANSFORM0 cipherTransform;
    FWP_BYTE_BLOB cipherKey;
} IPSEC_SA_CIPHER_INFORMATION0;

typedef struct IPSEC_SA_AUTH_AND_CIPHER_INFORMATION0_ {
    IPSEC_SA_CIPHER_INFORMATION0 saCipherInformation;
    IPSEC_SA_AUTH_INFORMATION0 saAuthInformation;
} IPSEC_SA_AUTH_AND_CIPHER_INFORMATION0;

typedef UINT32 IPSEC_SA_SPI;

typedef struct IPSEC_SA0_ {
    IPSEC_SA_SPI spi; /* host byte order */
    IPSEC_TRANSFORM_TYPE saTransformType;
    union {
        IPSEC_SA_AUTH_INFORMATION0 *ahInformation;
        IPSEC_SA_AUTH_INFORMATION0 *espAuthInformation;
        IPSEC_SA_CIPHER_INFORMATION0 *espCipherInformation;
        IPSEC_SA_AUTH_AND_CIPHER_INFORMATION0 *espAuthAndCipherInformation;
        IPSEC_SA_AUTH_INFORMATION0 *espAuthFwInformation;
    };
} IPSEC_SA0;

typedef struct IPSEC_SA_LIFETIME0_ {
    UINT32 lifetimeSeconds;
    UINT32 lifetimeKilobytes;
    UINT32 lifetimePackets;
} IPSEC_SA_LIFETIME0;

typedef enum IPSEC_TOKEN_TYPE_ {
    IPSEC_TOKEN_TYPE_MACHINE = 0,
    IPSEC_TOKEN_TYPE_IMPERSONATION,
    IPSEC_TOKEN_TYPE_MAX
} IPSEC_TOKEN_TYPE;

typedef enum IPSEC_TOKEN_PRINCIPAL_ {
    IPSEC_TOKEN_PRINCIPAL_LOCAL = 0,
    IPSEC_TOKEN_PRINCIPAL_PEER,
    IPSEC_TOKEN_PRINCIPAL_MAX
} IPSEC_TOKEN_PRINCIPAL;

typedef enum IPSEC_TOKEN_MODE_ {
    IPSEC_TOKEN_MODE_MAIN = 0,
    IPSEC_TOKEN_MODE_EXTENDED,
    IPSEC_TOKEN_MODE_MAX
} IPSEC_TOKEN_MODE;

typedef UINT64 IPSEC_TOKEN_HANDLE;

typedef struct IPSEC_TOKEN0_ {
    IPSEC_TOKEN_TYPE type;
    IPSEC_TOKEN_PRINCIPAL principal;
    IPSEC_TOKEN_MODE mode;
    IPSEC_TOKEN_HANDLE token;
} IPSEC_TOKEN0;

typedef struct IPSEC_ID0_ {
    wchar_t *mmTargetName;
    wchar_t *emTargetName;
    UINT32 numTokens;
    IPSEC_TOKEN0 *tokens;
    UINT64 explicitCredentials;
    UINT64 logonId;
} IPSEC_ID0;

typedef struct IPSEC_KEYMODULE_STATE0_ {
    GUID keyModuleKey;
    FWP_BYTE_BLOB stateBlob;
} IPSEC_KEYMODULE_STATE0;

#define IPSEC_SA_BUNDLE_FLAG_ND_SECURE                          0x00000001u
#define IPSEC_SA_BUNDLE_FLAG_ND_BOUNDARY                        0x00000002u
#define IPSEC_SA_BUNDLE_FLAG_ND_PEER_NAT_BOUNDARY               0x00000004u
#define IPSEC_SA_BUNDLE_FLAG_GUARANTEE_ENCRYPTION               0x00000008u
#define IPSEC_SA_BUNDLE_FLAG_NLB                                0x00000010u
#define IPSEC_SA_BUNDLE_FLAG_NO_MACHINE_LUID_VERIFY             0x00000020u
#define IPSEC_SA_BUNDLE_FLAG_NO_IMPERSONATION_LUID_VERIFY       0x00000040u
#define IPSEC_SA_BUNDLE_FLAG_NO_EXPLICIT_CRED_MATCH             0x00000080u
#define IPSEC_SA_BUNDLE_FLAG_ALLOW_NULL_TARGET_NAME_MATCH       0x00000200u
#define IPSEC_SA_BUNDLE_FLAG_CLEAR_DF_ON_TUNNEL                 0x00000400u
#define IPSEC_SA_BUNDLE_FLAG_ASSUME_UDP_CONTEXT_OUTBOUND        0x00000800u
#define IPSEC_SA_BUNDLE_FLAG_ND_PEER_BOUNDARY                   0x00001000u
#define IPSEC_SA_BUNDLE_FLAG_SUPPRESS_DUPLICATE_DELETION        0x00002000u
#define IPSEC_SA_BUNDLE_FLAG_PEER_SUPPORTS_GUARANTEE_ENCRYPTION 0x00004000u
#define IPSEC_SA_BUNDLE_FLAG_FORCE_INBOUND_CONNECTIONS          0x00008000u
#define IPSEC_SA_BUNDLE_FLAG_FORCE_OUTBOUND_CONNECTIONS         0x00010000u
#define IPSEC_SA_BUNDLE_FLAG_FORWARD_PATH_INITIATOR             0x00020000u
#define IPSEC_SA_BUNDLE_FLAG_ENABLE_OPTIONAL_ASYMMETRIC_IDLE    0x00040000u
#define IPSEC_SA_BUNDLE_FLAG_USING_DICTATED_KEYS                0x00080000u
#define IPSEC_SA_BUNDLE_FLAG_LOCALLY_DICTATED_KEYS              0x00100000u
#define IPSEC_SA_BUNDLE_FLAG_SA_OFFLOADED                       0x00200000u
#define IPSEC_SA_BUNDLE_FLAG_IP_IN_IP_PKT                       0x00400000u
#define IPSEC_SA_BUNDLE_FLAG_LOW_POWER_MODE_SUPPORT             0x00800000u
#define IPSEC_SA_BUNDLE_FLAG_TUNNEL_BANDWIDTH1                  0x10000000u
#define IPSEC_SA_BUNDLE_FLAG_TUNNEL_BANDWIDTH2                  0x20000000u
#define IPSEC_SA_BUNDLE_FLAG_TUNNEL_BANDWIDTH3                  0x40000000u
#define IPSEC_SA_BUNDLE_FLAG_TUNNEL_BANDWIDTH4                  0x80000000u

typedef struct IPSEC_SA_BUNDLE1_ {
    UINT32 flags;
    IPSEC_SA_LIFETIME0 lifetime;
    UINT32 idleTimeoutSeconds;
    UINT32 ndAllowClearTimeoutSeconds;
    IPSEC_ID0 *ipsecId;
    UINT32 napContext;
    UINT32 qmSaId;
    UINT32 numSAs;
    IPSEC_SA0 *saList;
    IPSEC_KEYMODULE_STATE0 *keyModuleState;
    FWP_IP_VERSION ipVersion;
    union {
        UINT32 peerV4PrivateAddress;
    };
    UINT64 mmSaId;
    IPSEC_PFS_GROUP pfsGroup;
    GUID saLookupContext;
    UINT64 qmFilterId;
} IPSEC_SA_BUNDLE1;

typedef struct IPSEC_TRAFFIC1_ {
    FWP_IP_VERSION ipVersion;
    union {
        UINT32 localV4Address;
        UINT8 localV6Address[16];
    };
    union {
        UINT32 remoteV4Address;
        UINT8 remoteV6Address[16];
    };
    IPSEC_TRAFFIC_TYPE trafficType;
    union {
        UINT64 ipsecFilterId;
        UINT64 tunnelPolicyId;
    };
    UINT16 remotePort;
    UINT16 localPort;
    UINT8 ipProtocol;
    UINT64 localIfLuid;
    UINT32 realIfProfileId;
} IPSEC_TRAFFIC1;

typedef struct IPSEC_V4_UDP_ENCAPSULATION0_ {
    UINT16 localUdpEncapPort;
    UINT16 remoteUdpEncapPort;
} IPSEC_V4_UDP_ENCAPSULATION0;

typedef struct IPSEC_VIRTUAL_IF_TUNNEL_INFO0_ {
    UINT64 virtualIfTunnelId;
    UINT64 trafficSelectorId;
} IPSEC_VIRTUAL_IF_TUNNEL_INFO0;

typedef struct IPSEC_SA_DETAILS1_ {
    FWP_IP_VERSION ipVersion;
    FWP_DIRECTION saDirection;
    IPSEC_TRAFFIC1 traffic;
    IPSEC_SA_BUNDLE1 saBundle;
    union {
        IPSEC_V4_UDP_ENCAPSULATION0 *udpEncapsulation;
    };
    FWPM_FILTER0 *transportFilter;
    IPSEC_VIRTUAL_IF_TUNNEL_INFO0 *virtualIfTunnelInfo;
} IPSEC_SA_DETAILS1;

/* ------------------------------------------------------------------------
 * Key managers (trusted intermediary agents).
 * ---------------------------------------------------------------------- */

#define IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY 0x00000001u

typedef struct IPSEC_KEY_MANAGER0_ {
    GUID keyManagerKey;              /* all-zero: the engine assigns one */
    FWPM_DISPLAY_DATA0 displayData;
    UINT32 flags;                    /* 0 or IPSEC_KEY_MANAGER_FLAG_DICTATE_KEY */
    UINT8 keyDictationTimeoutHint;   /* seconds, 1..10; 0 means 5 */
} IPSEC_KEY_MANAGER0;

typedef void(CALLBACK *IPSEC_KEY_MANAGER_KEY_DICTATION_CHECK0)(
    const IKEEXT_TRAFFIC0 *ikeTraffic, BOOL *willDictateKey, UINT32 *weight);

typedef DWORD(CALLBACK *IPSEC_KEY_MANAGER_DICTATE_KEY0)(
    IPSEC_SA_DETAILS1 *inboundSaDetails, IPSEC_SA_DETAILS1 *outboundSaDetails,
    BOOL *keyingModuleGenKey);

typedef void(CALLBACK *IPSEC_KEY_MANAGER_NOTIFY_KEY0)(const IPSEC_SA_DETAILS1 *inboundSa,
                                                       const IPSEC_SA_DETAILS1 *outboundSa);

typedef struct IPSEC_KEY_MANAGER_CALLBACKS0_ {
    GUID reserved;
    UINT32 flags;
    IPSEC_KEY_MANAGER_KEY_DICTATION_CHECK0 keyDictationCheck; /* dictators only */
    IPSEC_KEY_MANAGER_DICTATE_KEY0 keyDictation;              /* dictators only */
    IPSEC_KEY_MANAGER_NOTIFY_KEY0 keyNotify;                  /* always */
} IPSEC_KEY_MANAGER_CALLBACKS0;

/* ------------------------------------------------------------------------
 * Functions.
 * ---------------------------------------------------------------------- */

DWORD WINAPI FwpmEngineOpen0(const wchar_t *serverName, UINT32 authnService,
                             SEC_WINNT_AUTH_IDENTITY_W *authIdentity,
                             const FWPM_SESSION0 *session, HANDLE *engineHandle);
DWORD WINAPI FwpmEngineClose0(HANDLE engineHandle);

DWORD WINAPI FwpmTransactionBegin0(HANDLE engineHandle, UINT32 flags);
DWORD WINAPI FwpmTransactionCommit0(HANDLE engineHandle);
DWORD WINAPI FwpmTransactionAbort0(HANDLE engineHandle);

/* Frees anything the API returned and sets *p to NULL; NULL-safe. */
void WINAPI FwpmFreeMemory0(void **p);

DWORD WINAPI IPsecKeyManagerAddAndRegister0(HANDLE engineHandle,
                                            const IPSEC_KEY_MANAGER0 *keyManager,
                                            const IPSEC_KEY_MANAGER_CALLBACKS0 *keyManagerCallbacks,
                                            HANDLE *keyMgmtHandle);
DWORD WINAPI IPsecKeyManagerUnregisterAndDelete0(HANDLE engineHandle, HANDLE keyMgmtHandle);

/* *entries is one allocation (pointer array, entries and strings): free it
 * with one FwpmFreeMemory0. No key managers: *entries = NULL, 0 entries. */
DWORD WINAPI IPsecKeyManagersGet0(HANDLE engineHandle, IPSEC_KEY_MANAGER0 ***entries,
                                  UINT32 *numEntries);

DWORD WINAPI IPsecKeyManagerGetSecurityInfoByKey0(HANDLE engineHandle, const void *reserved,
                                                  SECURITY_INFORMATION securityInfo,
                                                  PSID *sidOwner, PSID *sidGroup, PACL *dacl,
                                                  PACL *sacl,
                                                  PSECURITY_DESCRIPTOR *securityDescriptor);
DWORD WINAPI IPsecKeyManagerSetSecurityInfoByKey0(HANDLE engineHandle, const void *reserved,
                                                  SECURITY_INFORMATION securityInfo,
                                                  const SID *sidOwner, const SID *sidGroup,
                                                  const ACL *dacl, const ACL *sacl);

/* Portable: serves this process's keying engine on a Unix-domain stream
 * socket at path (mode 0666; at most one socket per process). Another
 * process opens a session on it with FwpmEngineOpen0(path, ...) (or with
 * serverName NULL and the environment variable DRT_KEYING_SOCKET=path);
 * its calls run here as its own uid/gid (SO_PEERCRED), and the callbacks
 * of the key managers it registers run in it. Its registrations go when
 * its session closes or its process dies. Returns ERROR_SUCCESS,
 * ERROR_INVALID_PARAMETER (path NULL, empty or too long for a socket),
 * ERROR_ALREADY_EXISTS (this process serves one already, or path is taken
 * by a live socket or another file), ERROR_ACCESS_DENIED, ERROR_PATH_NOT_FOUND,
 * ERROR_NOT_ENOUGH_MEMORY or ERROR_INTERNAL_ERROR. docs/KEYING.md §10. */
DWORD WINAPI DrtKeyingSocketListen(const char *path);

/* Portable: stops serving (removes the socket file, ends every client's
 * session). ERROR_SUCCESS, or ERROR_INVALID_HANDLE when nothing is served. */
DWORD WINAPI DrtKeyingSocketClose(void);

/* Portable: builds an ACL in a caller buffer of aclLength bytes (at least
 * sizeof(ACL), at most 65535, 4-byte aligned). Returns ERROR_SUCCESS, or
 * ERROR_INVALID_PARAMETER for a NULL or misaligned buffer or a bad length. */
DWORD WINAPI DrtAclInitialize(ACL *acl, DWORD aclLength);

/* Portable: appends an ACE of aceType (ACCESS_ALLOWED_ACE_TYPE,
 * ACCESS_DENIED_ACE_TYPE or SYSTEM_AUDIT_ACE_TYPE) for sid with mask.
 * Returns ERROR_SUCCESS, ERROR_INVALID_PARAMETER (bad ACL, SID or type) or
 * ERROR_INSUFFICIENT_BUFFER (the ACE does not fit in the ACL's buffer). */
DWORD WINAPI DrtAclAddAce(ACL *acl, BYTE aceType, ACCESS_MASK mask, const SID *sid);

#ifdef __cplusplus
}
#endif

#endif /* DRT_FWPMU_H */
