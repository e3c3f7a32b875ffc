/*
 * drt.h - libdrt, a portable Distributed Routing Table.
 *
 * The public surface is the Windows DRT API (drt.dll, drtprov.dll,
 * drttransport.dll): the same function names and prototypes, structures with
 * the same members in the same order, the same enum values and the same
 * HRESULT codes, so that code written for the Windows DRT compiles unchanged.
 *
 * Portable additions, each marked below:
 *   - CERT_CONTEXT / PCCERT_CONTEXT carry an OpenSSL certificate, its private
 *     key and its intermediate chain instead of a CryptoAPI certificate;
 *   - DrtEvent* functions stand in for Win32 event objects (the HANDLE hEvent
 *     arguments of DrtOpen and DrtStartSearch);
 *   - DrtCreateStaticBootstrapResolver, a bootstrap provider over a fixed
 *     list of endpoints.
 *
 * Behaviour notes for every function live in docs/API.md.
 */
#ifndef DRT_H
#define DRT_H

#include "drt_wintypes.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Handles
 * ---------------------------------------------------------------------- */

typedef PVOID HDRT;
typedef PVOID HDRT_SEARCH_CONTEXT;
typedef PVOID HDRT_TRANSPORT;
typedef PVOID HDRT_REGISTRATION_CONTEXT;
typedef PVOID DRT_BOOTSTRAP_RESOLVE_CONTEXT;

/* ------------------------------------------------------------------------
 * Result codes: facility 98 (0x62), errors 0x8062xxxx, one success code.
 * ---------------------------------------------------------------------- */

#define FACILITY_DRT 98

#define DRT_E_TIMEOUT                            MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x1001)
#define DRT_E_INVALID_KEY_SIZE                   MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x1002)
#define DRT_E_INVALID_CERT_CHAIN                 MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x1004)
#define DRT_E_INVALID_MESSAGE                    MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x1005)
#define DRT_E_NO_MORE                            MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x1006)
#define DRT_E_INVALID_MAX_ADDRESSES              MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x1007)
#define DRT_E_SEARCH_IN_PROGRESS                 MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x1008)
#define DRT_E_INVALID_KEY                        MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x1009)
#define DRT_S_RETRY                              MAKE_HRESULT(SEVERITY_SUCCESS, FACILITY_DRT, 0x1010)
#define DRT_E_INVALID_MAX_ENDPOINTS              MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x1011)
#define DRT_E_INVALID_SEARCH_RANGE               MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x1012)

#define DRT_E_INVALID_PORT                       MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x2000)
#define DRT_E_INVALID_TRANSPORT_PROVIDER         MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x2001)
#define DRT_E_INVALID_SECURITY_PROVIDER          MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x2002)
#define DRT_E_STILL_IN_USE                       MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x2003)
#define DRT_E_INVALID_BOOTSTRAP_PROVIDER         MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x2004)
#define DRT_E_INVALID_ADDRESS                    MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x2005)
#define DRT_E_INVALID_SCOPE                      MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x2006)
#define DRT_E_TRANSPORT_SHUTTING_DOWN            MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x2007)
#define DRT_E_NO_ADDRESSES_AVAILABLE             MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x2008)
#define DRT_E_DUPLICATE_KEY                      MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x2009)
#define DRT_E_TRANSPORTPROVIDER_IN_USE           MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x200a)
#define DRT_E_TRANSPORTPROVIDER_NOT_ATTACHED     MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x200b)
#define DRT_E_SECURITYPROVIDER_IN_USE            MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x200c)
#define DRT_E_SECURITYPROVIDER_NOT_ATTACHED      MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x200d)
#define DRT_E_BOOTSTRAPPROVIDER_IN_USE           MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x200e)
#define DRT_E_BOOTSTRAPPROVIDER_NOT_ATTACHED     MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x200f)

#define DRT_E_TRANSPORT_ALREADY_BOUND            MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x2101)
#define DRT_E_TRANSPORT_NOT_BOUND                MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x2102)
#define DRT_E_TRANSPORT_UNEXPECTED               MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x2103)
#define DRT_E_TRANSPORT_INVALID_ARGUMENT         MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x2104)
#define DRT_E_TRANSPORT_NO_DEST_ADDRESSES        MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x2105)
#define DRT_E_TRANSPORT_EXECUTING_CALLBACK       MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x2106)
#define DRT_E_TRANSPORT_ALREADY_EXISTS_FOR_SCOPE MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x2107)
#define DRT_E_INVALID_SETTINGS                   MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x2108)
#define DRT_E_INVALID_SEARCH_INFO                MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x2109)
#define DRT_E_FAULTED                            MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x210a)
#define DRT_E_TRANSPORT_STILL_BOUND              MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x210b)
#define DRT_E_INSUFFICIENT_BUFFER                MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x210c)
#define DRT_E_INVALID_INSTANCE_PREFIX            MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x210d)
#define DRT_E_INVALID_SECURITY_MODE              MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x210e)
#define DRT_E_CAPABILITY_MISMATCH                MAKE_HRESULT(SEVERITY_ERROR, FACILITY_DRT, 0x210f)

/* ------------------------------------------------------------------------
 * Constants
 * ---------------------------------------------------------------------- */

#define DRT_PAYLOAD_REVOKED           (1 << 0)
#define DRT_MIN_ROUTING_ADDRESSES     1
#define DRT_MAX_ROUTING_ADDRESSES     20
#define DRT_MAX_PAYLOAD_SIZE          5120
#define DRT_MAX_INSTANCE_PREFIX_LEN   128
#define DRT_LINK_LOCAL_ISATAP_SCOPEID 0xffffffff

/* ------------------------------------------------------------------------
 * Enumerations
 * ---------------------------------------------------------------------- */

typedef enum drt_scope_tag {
    DRT_GLOBAL_SCOPE = 1,
    DRT_SITE_LOCAL_SCOPE = 2,
    DRT_LINK_LOCAL_SCOPE = 3
} DRT_SCOPE;

typedef enum drt_status_tag {
    DRT_ACTIVE = 0,
    DRT_ALONE = 1,
    DRT_NO_NETWORK = 10,
    DRT_FAULTED = 20
} DRT_STATUS;

typedef enum drt_match_type_tag {
    DRT_MATCH_EXACT = 0,
    DRT_MATCH_NEAR = 1,
    DRT_MATCH_INTERMEDIATE = 2
} DRT_MATCH_TYPE;

typedef enum drt_leafset_key_change_type_tag {
    DRT_LEAFSET_KEY_ADDED = 0,
    DRT_LEAFSET_KEY_DELETED = 1
} DRT_LEAFSET_KEY_CHANGE_TYPE;

typedef enum drt_event_type_tag {
    DRT_EVENT_STATUS_CHANGED = 0,
    DRT_EVENT_LEAFSET_KEY_CHANGED = 1,
    DRT_EVENT_REGISTRATION_STATE_CHANGED = 2
} DRT_EVENT_TYPE;

typedef enum drt_security_mode_tag {
    DRT_SECURE_RESOLVE = 0,
    DRT_SECURE_MEMBERSHIP = 1,
    DRT_SECURE_CONFIDENTIALPAYLOAD = 2
} DRT_SECURITY_MODE;

/* The spelling "UNRESOLVEABLE" is Windows'. */
typedef enum _DRT_REGISTRATION_STATE {
    DRT_REGISTRATION_STATE_UNRESOLVEABLE = 1
} DRT_REGISTRATION_STATE, *PDRT_REGISTRATION_STATE;

typedef enum _DRT_ADDRESS_FLAGS {
    DRT_ADDRESS_FLAG_ACCEPTED = 0x01,
    DRT_ADDRESS_FLAG_REJECTED = 0x02,
    DRT_ADDRESS_FLAG_UNREACHABLE = 0x04,
    DRT_ADDRESS_FLAG_LOOP = 0x08,
    DRT_ADDRESS_FLAG_TOO_BUSY = 0x10,
    DRT_ADDRESS_FLAG_BAD_VALIDATE_ID = 0x20,
    DRT_ADDRESS_FLAG_SUSPECT_UNREGISTERED_ID = 0x40,
    DRT_ADDRESS_FLAG_INQUIRE = 0x80
} DRT_ADDRESS_FLAGS, *PDRT_ADDRESS_FLAGS;

/* ------------------------------------------------------------------------
 * Certificates (portable stand-in for the CryptoAPI CERT_CONTEXT)
 *
 * Windows reaches a certificate's private key through the certificate
 * store; an X509 alone cannot, so the portable context carries the key and
 * the intermediates beside it. pPrivateKey and pChain may be NULL where
 * only verification is needed. libdrt never frees what the caller owns:
 * the context and everything it points to must outlive its use.
 * ---------------------------------------------------------------------- */

#if !defined(_WIN32)
typedef struct CERT_CONTEXT {
    X509 *pCert;
    EVP_PKEY *pPrivateKey;
    STACK_OF(X509) *pChain;
} CERT_CONTEXT, *PCERT_CONTEXT;
typedef const CERT_CONTEXT *PCCERT_CONTEXT;
#endif

/* ------------------------------------------------------------------------
 * Structures (member order and types as in the Windows header)
 * ---------------------------------------------------------------------- */

typedef struct drt_data_tag {
    ULONG cb;
    BYTE *pb;
} DRT_DATA, *PDRT_DATA;
typedef const DRT_DATA *PCDRT_DATA;

typedef struct drt_registration_tag {
    DRT_DATA key;
    DRT_DATA appData;
} DRT_REGISTRATION, *PDRT_REGISTRATION;
typedef const DRT_REGISTRATION *PCDRT_REGISTRATION;

/* A security provider: 14 members, pvContext first and handed back to every
 * callback. Third parties implement this table to plug in their own. */
typedef struct drt_security_provider_tag {
    PVOID pvContext;

    HRESULT (*Attach)(const PVOID pvContext);
    VOID (*Detach)(const PVOID pvContext);

    HRESULT (*RegisterKey)(const PVOID pvContext, const DRT_REGISTRATION *pRegistration,
                           PVOID pvKeyContext);
    HRESULT (*UnregisterKey)(const PVOID pvContext, const DRT_DATA *pKey, PVOID pvKeyContext);

    HRESULT (*ValidateAndUnpackPayload)(const PVOID pvContext, DRT_DATA *pSecuredAddressPayload,
                                        DRT_DATA *pCertChain, DRT_DATA *pClassifier,
                                        DRT_DATA *pNonce, DRT_DATA *pSecuredPayload,
                                        BYTE *pbProtocolMajor, BYTE *pbProtocolMinor,
                                        DRT_DATA *pKey, DRT_DATA *pPayload,
                                        CERT_PUBLIC_KEY_INFO **ppPublicKey,
                                        SOCKET_ADDRESS_LIST **ppAddressList, DWORD *pdwFlags);

    HRESULT (*SecureAndPackPayload)(const PVOID pvContext, PVOID pvKeyContext,
                                    BYTE bProtocolMajor, BYTE bProtocolMinor, DWORD dwFlags,
                                    const DRT_DATA *pKey, const DRT_DATA *pPayload,
                                    const SOCKET_ADDRESS_LIST *pAddressList,
                                    const DRT_DATA *pNonce, DRT_DATA *pSecuredAddressPayload,
                                    DRT_DATA *pClassifier, DRT_DATA *pSecuredPayload,
                                    DRT_DATA *pCertChain);

    void (*FreeData)(const PVOID pvContext, PVOID pv);

    HRESULT (*EncryptData)(const PVOID pvContext, const DRT_DATA *pRemoteCredential,
                           DWORD dwBuffers, DRT_DATA *pDataBuffers,
                           DRT_DATA *pEncryptedBuffers, DRT_DATA *pKeyToken);
    HRESULT (*DecryptData)(const PVOID pvContext, DRT_DATA *pKeyToken, const PVOID pvKeyContext,
                           DWORD dwBuffers, DRT_DATA *pData);

    HRESULT (*GetSerializedCredential)(const PVOID pvContext, DRT_DATA *pSelfCredential);
    HRESULT (*ValidateRemoteCredential)(const PVOID pvContext, DRT_DATA *pRemoteCredential);

    HRESULT (*SignData)(const PVOID pvContext, DWORD dwBuffers, DRT_DATA *pDataBuffers,
                        DRT_DATA *pKeyIdentifier, DRT_DATA *pSignature);
    HRESULT (*VerifyData)(const PVOID pvContext, DWORD dwBuffers, DRT_DATA *pDataBuffers,
                          DRT_DATA *pRemoteCredentials, DRT_DATA *pKeyIdentifier,
                          DRT_DATA *pSignature);
} DRT_SECURITY_PROVIDER, *PDRT_SECURITY_PROVIDER;
typedef const DRT_SECURITY_PROVIDER *PCDRT_SECURITY_PROVIDER;

typedef void(CALLBACK *DRT_BOOTSTRAP_RESOLVE_CALLBACK)(HRESULT hr, PVOID pvContext,
                                                       SOCKET_ADDRESS_LIST *pAddresses,
                                                       BOOL fFatalError);

/* A bootstrap provider: 8 members. The DRT never calls one concurrently. */
typedef struct drt_bootstrap_provider_tag {
    PVOID pvContext;

    HRESULT (*Attach)(const PVOID pvContext);
    VOID (*Detach)(const PVOID pvContext);

    HRESULT (*InitResolve)(const PVOID pvContext, BOOL fSplitDetect, ULONG timeout,
                           ULONG cMaxResults, DRT_BOOTSTRAP_RESOLVE_CONTEXT *ResolveContext,
                           BOOL *fFatalError);
    HRESULT (*IssueResolve)(const PVOID pvContext, const PVOID pvCallbackContext,
                            DRT_BOOTSTRAP_RESOLVE_CALLBACK callback,
                            DRT_BOOTSTRAP_RESOLVE_CONTEXT ResolveContext, BOOL *fFatalError);
    VOID (*EndResolve)(const PVOID pvContext, DRT_BOOTSTRAP_RESOLVE_CONTEXT ResolveContext);

    HRESULT (*Register)(const PVOID pvContext, const SOCKET_ADDRESS_LIST *pAddressList);
    VOID (*Unregister)(const PVOID pvContext);
} DRT_BOOTSTRAP_PROVIDER, *PDRT_BOOTSTRAP_PROVIDER;
typedef const DRT_BOOTSTRAP_PROVIDER *PCDRT_BOOTSTRAP_PROVIDER;

typedef struct drt_settings_tag {
    DWORD dwSize;
    ULONG cbKey;
    BYTE bProtocolMajorVersion;
    BYTE bProtocolMinorVersion;
    ULONG ulMaxRoutingAddresses;
    PWSTR pwzDrtInstancePrefix;
    HDRT_TRANSPORT hTransport;
    DRT_SECURITY_PROVIDER *pSecurityProvider;
    DRT_BOOTSTRAP_PROVIDER *pBootstrapProvider;
    DRT_SECURITY_MODE eSecurityMode;
} DRT_SETTINGS, *PDRT_SETTINGS;
typedef const DRT_SETTINGS *PCDRT_SETTINGS;

/* Note the member order: the maximum key comes before the minimum key. */
typedef struct drt_search_info_tag {
    DWORD dwSize;
    BOOL fIterative;
    BOOL fAllowCurrentInstanceMatch;
    BOOL fAnyMatchInRange;
    ULONG cMaxEndpoints;
    DRT_DATA *pMaximumKey;
    DRT_DATA *pMinimumKey;
} DRT_SEARCH_INFO, *PDRT_SEARCH_INFO;
typedef const DRT_SEARCH_INFO *PCDRT_SEARCH_INFO;

typedef struct _DRT_ADDRESS {
    SOCKADDR_STORAGE socketAddress;
    ULONG flags;   /* DRT_ADDRESS_FLAGS */
    LONG nearness; /* leading bits shared with the search target */
    ULONG latency; /* round-trip time in milliseconds */
} DRT_ADDRESS, *PDRT_ADDRESS;

typedef struct _DRT_ADDRESS_LIST {
    ULONG AddressCount;
    DRT_ADDRESS AddressList[1];
} DRT_ADDRESS_LIST, *PDRT_ADDRESS_LIST;
typedef const DRT_ADDRESS_LIST *PCDRT_ADDRESS_LIST;

typedef struct drt_search_result_tag {
    DWORD dwSize;
    DRT_MATCH_TYPE type;
    PVOID pvContext;
    DRT_REGISTRATION registration;
} DRT_SEARCH_RESULT, *PDRT_SEARCH_RESULT;
typedef const DRT_SEARCH_RESULT *PCDRT_SEARCH_RESULT;

typedef struct drt_event_data_tag {
    DRT_EVENT_TYPE type;
    HRESULT hr;
    PVOID pvContext;
    union {
        struct {
            DRT_LEAFSET_KEY_CHANGE_TYPE change;
            DRT_DATA localKey;
            DRT_DATA remoteKey;
        } leafsetKeyChange;
        struct {
            DRT_REGISTRATION_STATE state;
            DRT_DATA localKey;
        } registrationStateChange;
        struct {
            DRT_STATUS status;
            struct {
                ULONG cntAddress;
                PSOCKADDR_STORAGE pAddresses;
            } bootstrapAddresses;
        } statusChange;
    };
} DRT_EVENT_DATA, *PDRT_EVENT_DATA;
typedef const DRT_EVENT_DATA *PCDRT_EVENT_DATA;

/* ------------------------------------------------------------------------
 * Provider and transport management (drtprov.dll, drttransport.dll)
 * ---------------------------------------------------------------------- */

HRESULT WINAPI DrtCreatePnrpBootstrapResolver(BOOL fPublish, PCWSTR pwzPeerName,
                                              PCWSTR pwzCloudName, PCWSTR pwzPublishingIdentity,
                                              DRT_BOOTSTRAP_PROVIDER **ppResolver);
void WINAPI DrtDeletePnrpBootstrapResolver(DRT_BOOTSTRAP_PROVIDER *pResolver);

HRESULT WINAPI DrtCreateDnsBootstrapResolver(USHORT port, PCWSTR pwszAddress,
                                             DRT_BOOTSTRAP_PROVIDER **ppModule);
void WINAPI DrtDeleteDnsBootstrapResolver(DRT_BOOTSTRAP_PROVIDER *pResolver);

/* Portable (libdrt extension, not in Windows): a resolver that answers
 * exactly the given endpoints on every resolve, IPv4 ones as IPv4-mapped
 * IPv6 (::ffff:a.b.c.d). The array is copied. cAddresses may be 0 (the
 * first node of a cloud); at most 1024; families AF_INET and AF_INET6. */
HRESULT WINAPI DrtCreateStaticBootstrapResolver(const SOCKADDR_STORAGE *pAddresses,
                                                ULONG cAddresses,
                                                DRT_BOOTSTRAP_PROVIDER **ppResolver);
void WINAPI DrtDeleteStaticBootstrapResolver(DRT_BOOTSTRAP_PROVIDER *pResolver);

HRESULT WINAPI DrtCreateIpv6UdpTransport(DRT_SCOPE scope, ULONG dwScopeId,
                                         ULONG dwLocalityThreshold, USHORT *pwPort,
                                         HDRT_TRANSPORT *phTransport);
HRESULT WINAPI DrtDeleteIpv6UdpTransport(HDRT_TRANSPORT hTransport);

HRESULT WINAPI DrtCreateDerivedKeySecurityProvider(PCCERT_CONTEXT pRootCert,
                                                   PCCERT_CONTEXT pLocalCert,
                                                   DRT_SECURITY_PROVIDER **ppSecurityProvider);
HRESULT WINAPI DrtCreateDerivedKey(PCCERT_CONTEXT pLocalCert, DRT_DATA *pKey);
void WINAPI DrtDeleteDerivedKeySecurityProvider(DRT_SECURITY_PROVIDER *pSecurityProvider);

HRESULT WINAPI DrtCreateNullSecurityProvider(DRT_SECURITY_PROVIDER **ppSecurityProvider);
void WINAPI DrtDeleteNullSecurityProvider(DRT_SECURITY_PROVIDER *pSecurityProvider);

/* ------------------------------------------------------------------------
 * Instance lifetime (drt.dll)
 * ---------------------------------------------------------------------- */

HRESULT WINAPI DrtOpen(const DRT_SETTINGS *pSettings, HANDLE hEvent, const PVOID pvContext,
                       HDRT *phDrt);
VOID WINAPI DrtClose(HDRT hDrt);
HRESULT WINAPI DrtGetEventDataSize(HDRT hDrt, ULONG *pulEventDataLen);
HRESULT WINAPI DrtGetEventData(HDRT hDrt, ULONG ulEventDataLen, DRT_EVENT_DATA *pEventData);

/* ------------------------------------------------------------------------
 * Key registration
 * ---------------------------------------------------------------------- */

HRESULT WINAPI DrtRegisterKey(HDRT hDrt, DRT_REGISTRATION *pRegistration, PVOID pvKeyContext,
                              HDRT_REGISTRATION_CONTEXT *phKeyRegistration);
HRESULT WINAPI DrtUpdateKey(HDRT_REGISTRATION_CONTEXT hKeyRegistration, DRT_DATA *pAppData);
VOID WINAPI DrtUnregisterKey(HDRT_REGISTRATION_CONTEXT hKeyRegistration);

/* ------------------------------------------------------------------------
 * Search
 * ---------------------------------------------------------------------- */

HRESULT WINAPI DrtStartSearch(HDRT hDrt, DRT_DATA *pKey, const DRT_SEARCH_INFO *pInfo,
                              ULONG timeout, HANDLE hEvent, const PVOID pvContext,
                              HDRT_SEARCH_CONTEXT *hSearchContext);
HRESULT WINAPI DrtContinueSearch(HDRT_SEARCH_CONTEXT hSearchContext);
HRESULT WINAPI DrtGetSearchResultSize(HDRT_SEARCH_CONTEXT hSearchContext,
                                      ULONG *pulSearchResultSize);
HRESULT WINAPI DrtGetSearchResult(HDRT_SEARCH_CONTEXT hSearchContext, ULONG ulSearchResultSize,
                                  DRT_SEARCH_RESULT *pSearchResult);
HRESULT WINAPI DrtGetSearchPathSize(HDRT_SEARCH_CONTEXT hSearchContext, ULONG *pulSearchPathSize);
HRESULT WINAPI DrtGetSearchPath(HDRT_SEARCH_CONTEXT hSearchContext, ULONG ulSearchPathSize,
                                DRT_ADDRESS_LIST *pSearchPath);
HRESULT WINAPI DrtEndSearch(HDRT_SEARCH_CONTEXT hSearchContext);

/* ------------------------------------------------------------------------
 * Instance name (sizes in bytes, including the terminating NUL wchar_t)
 * ---------------------------------------------------------------------- */

HRESULT WINAPI DrtGetInstanceName(HDRT hDrt, ULONG ulcbInstanceNameSize,
                                  PWSTR pwzDrtInstanceName);
HRESULT WINAPI DrtGetInstanceNameSize(HDRT hDrt, ULONG *pulcbInstanceNameSize);

/* ------------------------------------------------------------------------
 * libdrt extension: portable event objects
 *
 * Stand-ins for Win32 events, for the hEvent arguments above. A manual-reset
 * event stays signalled until DrtEventReset; an auto-reset event is reset by
 * the one successful wait that observes it (one waiter is released per set).
 * DrtEventGetFd returns a descriptor that polls readable exactly while the
 * event is signalled, for poll/epoll/libuv users. All functions are
 * thread-safe; DrtEventClose must not race with other use of the handle.
 * ---------------------------------------------------------------------- */

HANDLE DrtEventCreate(BOOL manualReset, BOOL initialState);
BOOL DrtEventSet(HANDLE hEvent);
BOOL DrtEventReset(HANDLE hEvent);
/* WAIT_OBJECT_0 when signalled, WAIT_TIMEOUT after timeoutMs (INFINITE waits
 * forever), WAIT_FAILED for an invalid handle. */
DWORD DrtEventWait(HANDLE hEvent, DWORD timeoutMs);
int DrtEventGetFd(HANDLE hEvent);
void DrtEventClose(HANDLE hEvent);

/* ----------------------------------------------------------------------
 * libdrt extension: route cache persistence, for a fast rejoin
 *
 * Windows has no such call. DrtSaveRouteCache writes the DRT's verified
 * route entries (key, endpoint, round trip) to the file at path, atomically
 * (a new file in the same folder, fsync, rename, fsync of the folder), mode
 * 0600. DrtLoadRouteCache reads such a file and hands its first 32 entries
 * (the fastest when saved) to the DRT as unverified candidates: each is
 * INQUIREd with a fresh nonce, and only those that answer with a valid
 * proof enter the route cache; one answer makes an ALONE node ACTIVE. A
 * file is never trusted: a damaged, truncated, extended or forged one is
 * refused whole (DRT_E_INVALID_MESSAGE) and the DRT is left as it was.
 * Format: docs/PROTOCOL.md, "Route cache file"; codes: docs/API.md.
 *   S_OK; E_INVALIDARG (path NULL or empty); E_HANDLE;
 *   Load: DRT_E_FAULTED; HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
 *         DRT_E_INVALID_MESSAGE (not an intact route cache file);
 *   Save: HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND) (no such folder),
 *         HRESULT_FROM_WIN32(ERROR_DISK_FULL);
 *   both: E_ACCESSDENIED, E_OUTOFMEMORY, E_FAIL (other I/O errors).
 * ---------------------------------------------------------------------- */
HRESULT WINAPI DrtSaveRouteCache(HDRT hDrt, const char *path);
HRESULT WINAPI DrtLoadRouteCache(HDRT hDrt, const char *path);

/* ----------------------------------------------------------------------
 * libdrt extension: SA protection of a transport (docs/API.md, KEYING.md)
 *
 * Windows' DRT relies on the host's IPsec policy; libdrt negotiates ESP
 * security associations itself, on the transport's own UDP port, keyed
 * with a pre-shared key of the mesh. Key managers registered in the
 * process (IPsecKeyManagerAddAndRegister0, <fwpmu.h>) take part in every
 * negotiation: dictation and keyNotify.
 *   DRT_PROTECTION_OFF      plain [MC-DRT] (the default)
 *   DRT_PROTECTION_REQUEST  ESP to every peer that negotiates an SA; in the
 *                           clear to (and from) peers that do not
 *   DRT_PROTECTION_REQUIRE  no DRT message leaves or is accepted outside an
 *                           SA: messages wait for the negotiation to their
 *                           peer; plaintext DRT received is dropped, counted
 * Set it before DrtOpen binds the transport; it lasts until the transport
 * is deleted. The key (1..128 bytes) is copied.
 *   S_OK; DRT_E_INVALID_TRANSPORT_PROVIDER (not a transport);
 *   DRT_E_TRANSPORTPROVIDER_IN_USE (a DRT is bound to it, or protection
 *   was already set); E_INVALIDARG (unknown mode; for REQUEST and REQUIRE
 *   a NULL key, 0 or more than 128 bytes; for OFF a key given);
 *   E_OUTOFMEMORY.
 * ---------------------------------------------------------------------- */
typedef enum drt_protection_mode_tag {
    DRT_PROTECTION_OFF = 0,
    DRT_PROTECTION_REQUEST = 1,
    DRT_PROTECTION_REQUIRE = 2
} DRT_PROTECTION_MODE;

#define DRT_PROTECTION_MAX_KEY 128

/* Counters of one transport since protection was set. */
typedef struct drt_protection_stats_tag {
    UINT64 espSent, espReceived;         /* DRT messages sealed / opened */
    UINT64 plainSent, plainReceived;     /* DRT messages in the clear */
    UINT64 plainRefused;                 /* plaintext DRT dropped (REQUIRE) */
    UINT64 espDropped;                   /* unknown SPI, forged, replayed, malformed */
    UINT64 negotiationSent, negotiationReceived; /* negotiation datagrams */
    UINT64 negotiationDropped;           /* negotiation datagrams nobody took */
    UINT64 sasEstablished;               /* negotiations that installed an SA pair */
    UINT64 negotiationsFailed;           /* our initiations that failed */
    UINT64 unsent;                       /* outbound DRT dropped for want of an SA */
    UINT64 invalid;                      /* datagrams of no known class */
    UINT64 rekeys;                       /* negotiations started at a soft lifetime */
    UINT64 sasExpired;                   /* SA pairs ended here: hard lifetime, or superseded */
    UINT64 sasDeletedByPeer;             /* SA pairs the peer's deletion notice ended */
    UINT64 recoveries;                   /* negotiations started for ESP under an unknown SPI */
    UINT64 authFailed;                   /* negotiations whose peer's AUTH did not verify here */
    UINT64 authRefusedByPeer;            /* negotiations whose peer refused our AUTH */
    HRESULT lastAuthError;               /* the code of the latest of either (S_OK: none):
                                            ERROR_ACCESS_DENIED as an HRESULT for a wrong PSK
                                            or signature, DRT_E_INVALID_CERT_CHAIN for a chain
                                            that does not lead to a trusted root in date */
    UINT64 chainsVerified, chainCacheHits; /* credential authentication: peer chains checked
                                              against the roots, and found already checked */
    UINT64 lateKeyManagerAnswers;        /* key-manager answers that came after their deadline (dropped) */
} DRT_PROTECTION_STATS;

HRESULT WINAPI DrtSetTransportProtection(HDRT_TRANSPORT hTransport, DRT_PROTECTION_MODE mode,
                                         const BYTE *pbPreSharedKey, ULONG cbPreSharedKey);
/* ----------------------------------------------------------------------
 * libdrt extension: SA negotiations authenticated by the node's X.509
 * credential instead of a pre-shared key (docs/API.md, KEYING.md §7.3,
 * SECURITY.md). Each side sends its certificate chain (pLocalCert's pCert
 * and pChain, the root left out) and signs the exchange with pPrivateKey;
 * the peer's chain must lead to one of the trusted roots, every
 * certificate on it in date, and its signature verify. The same
 * CERT_CONTEXTs DrtCreateDerivedKeySecurityProvider takes serve here; they
 * are referenced (up-ref'd), not copied, and may be freed by the caller
 * after the call. Modes, timing and lifetime as DrtSetTransportProtection;
 * a transport is protected by one of the two setters, once.
 *   S_OK; DRT_E_INVALID_TRANSPORT_PROVIDER; DRT_E_TRANSPORTPROVIDER_IN_USE;
 *   E_INVALIDARG (unknown mode; for OFF anything given; for REQUEST and
 *   REQUIRE: pLocalCert NULL or without pCert or pPrivateKey, cRootCerts 0
 *   or above DRT_PROTECTION_MAX_ROOTS, ppRootCerts NULL, a root NULL or
 *   without pCert); DRT_E_INVALID_CERT_CHAIN (a root without a usable
 *   public key; pLocalCert not chaining to any root, or out of date);
 *   DRT_E_CAPABILITY_MISMATCH (the key cannot sign: type other than EC
 *   P-256, Ed25519, RSA >= 2048, or not pCert's key);
 *   DRT_E_INSUFFICIENT_BUFFER (the chain and a signature do not fit the
 *   1,090 bytes a negotiation datagram leaves them, or more than 4
 *   certificates); E_OUTOFMEMORY.
 * ---------------------------------------------------------------------- */
#define DRT_PROTECTION_MAX_ROOTS 8

HRESULT WINAPI DrtSetTransportProtectionCredential(HDRT_TRANSPORT hTransport,
                                                   DRT_PROTECTION_MODE mode,
                                                   PCCERT_CONTEXT pLocalCert, ULONG cRootCerts,
                                                   const PCCERT_CONTEXT *ppRootCerts);
/* SA lifetimes of a protected transport (0: no limit of that kind): at the
 * soft limit (seconds, or kilobytes of payload both ways) the side that
 * initiated a pair negotiates a new one and both move to it; at the hard
 * limit a pair is freed. Default: hard 3600 s and 100,000 KB, soft 90% of
 * each. Set before DrtOpen, after DrtSetTransportProtection.
 *   S_OK; DRT_E_INVALID_TRANSPORT_PROVIDER; DRT_E_TRANSPORTPROVIDER_IN_USE
 *   (a DRT is bound to it); E_INVALIDARG (protection not set; a soft limit
 *   not below its hard limit). */
HRESULT WINAPI DrtSetTransportProtectionLifetime(HDRT_TRANSPORT hTransport, ULONG softSeconds,
                                                 ULONG hardSeconds, ULONG softKilobytes,
                                                 ULONG hardKilobytes);
/* S_OK; DRT_E_INVALID_TRANSPORT_PROVIDER; E_INVALIDARG (pStats NULL);
 * all zero when protection is off. */
HRESULT WINAPI DrtGetTransportProtectionStats(HDRT_TRANSPORT hTransport,
                                              DRT_PROTECTION_STATS *pStats);

/* ----------------------------------------------------------------------
 * libdrt extension: the caps of a node (docs/RELIABILITY.md)
 *
 * What bounds a node's memory and work against floods and owners that
 * stop reading. Every field 0 selects its default (in brackets); what
 * happens at each cap is in docs/RELIABILITY.md. Set it before DrtOpen
 * binds the transport; a later call replaces the earlier one.
 *   S_OK; DRT_E_INVALID_TRANSPORT_PROVIDER (not a transport);
 *   DRT_E_TRANSPORTPROVIDER_IN_USE (a DRT is bound to it);
 *   E_INVALIDARG (pLimits NULL or dwSize not sizeof(DRT_LIMITS)).
 * ---------------------------------------------------------------------- */
typedef struct drt_limits_tag {
    DWORD dwSize;
    ULONG ulMaxCacheEntries;    /* route cache entries [1024] */
    ULONG ulMaxKeys;            /* keys registered [32] */
    ULONG ulMaxSearches;        /* searches in progress [64] */
    ULONG ulMaxEngineEvents;    /* engine events awaiting the API [1024] */
    ULONG ulRateSources;        /* sources with their own request bucket [256] */
    ULONG ulRatePerSource;      /* requests per second per source [1000] */
    ULONG ulBurstPerSource;     /* requests at once per source [2000] */
    ULONG ulRateGlobal;         /* requests per second from unproven sources [2000] */
    ULONG ulBurstGlobal;        /* requests at once from unproven sources [4000] */
    ULONG ulMaxReassemblyBuffers; /* AUTHORITY messages reassembled at once [32, at most 4096] */
    ULONG ulMaxReassemblyBytes;   /* bytes they hold [262144, at least 37348] */
    ULONG ulMaxEventsQueued;    /* DRT_EVENT_DATA queued per DRT [1024] */
    ULONG ulMaxResultsQueued;   /* results queued per search [1024] */
    ULONG ulMaxHalfOpen;        /* SA negotiations half open before cookies [64] */
    ULONG ulMaxNegotiations;    /* SA negotiations held by the transport [1024] */
} DRT_LIMITS;

HRESULT WINAPI DrtSetTransportLimits(HDRT_TRANSPORT hTransport, const DRT_LIMITS *pLimits);

/* libdrt extension: the library version, "MAJOR.MINOR.PATCH". */
const char *DrtLibraryVersion(void);

#ifdef __cplusplus
}
#endif

#endif /* DRT_H */
