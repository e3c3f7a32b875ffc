/*
 * drt_wintypes.h - the Win32 base types, result codes and helper macros that
 * <drt.h> and <fwpmu.h> are written against, defined portably.
 *
 * On Windows the real definitions come from <windows.h>; everywhere else this
 * header supplies layout-compatible stand-ins with the same names and values,
 * so code written for the Windows DRT and WFP key-manager APIs compiles as is.
 * Every definition is guarded so that a program which already has its own
 * Win32 compatibility layer (or the real SDK headers) does not see a clash.
 */
#ifndef DRT_WINTYPES_H
#define DRT_WINTYPES_H

#if defined(_WIN32)
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#else /* !_WIN32 */

#include <stddef.h>
#include <stdint.h>
#include <wchar.h>
#include <sys/socket.h>
#include <netinet/in.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Calling-convention markers are meaningful only on 32-bit Windows. */
#ifndef WINAPI
#define WINAPI
#endif
#ifndef CALLBACK
#define CALLBACK
#endif

#ifndef DRT_WINTYPES_BASE_DEFINED
#define DRT_WINTYPES_BASE_DEFINED
/* Windows' LONG/ULONG are 32 bits on every Windows ABI (LLP64), so they map to
 * fixed-width types, never to C's long. */
typedef int32_t HRESULT;
typedef uint32_t DWORD;
typedef uint32_t ULONG;
typedef int32_t LONG;
typedef uint16_t USHORT;
typedef uint8_t BYTE;
typedef int BOOL;
typedef int INT;
typedef unsigned int UINT;
typedef uint8_t UINT8;
typedef uint16_t UINT16;
typedef uint32_t UINT32;
typedef uint64_t UINT64;
typedef int32_t INT32;
typedef int64_t INT64;
typedef void VOID;
typedef void *PVOID;
typedef void *HANDLE;
typedef wchar_t WCHAR;
typedef wchar_t *PWSTR;
typedef const wchar_t *PCWSTR;
typedef char *LPSTR;
typedef const char *LPCSTR;
#endif

#ifndef GUID_DEFINED
#define GUID_DEFINED
typedef struct _GUID {
    uint32_t Data1;
    uint16_t Data2;
    uint16_t Data3;
    uint8_t Data4[8];
} GUID;
#endif

#ifndef DRT_WINTYPES_SOCKADDR_DEFINED
#define DRT_WINTYPES_SOCKADDR_DEFINED
typedef struct sockaddr SOCKADDR;
typedef struct sockaddr *PSOCKADDR;
typedef struct sockaddr *LPSOCKADDR;
typedef struct sockaddr_in SOCKADDR_IN;
typedef struct sockaddr_in6 SOCKADDR_IN6;
typedef struct sockaddr_storage SOCKADDR_STORAGE;
typedef struct sockaddr_storage *PSOCKADDR_STORAGE;

typedef struct _SOCKET_ADDRESS {
    LPSOCKADDR lpSockaddr;
    INT iSockaddrLength;
} SOCKET_ADDRESS, *PSOCKET_ADDRESS;

typedef struct _SOCKET_ADDRESS_LIST {
    INT iAddressCount;
    SOCKET_ADDRESS Address[1];
} SOCKET_ADDRESS_LIST, *PSOCKET_ADDRESS_LIST;
#endif

/* wincrypt.h blobs used by the security-provider interface. */
#ifndef DRT_WINTYPES_CRYPT_DEFINED
#define DRT_WINTYPES_CRYPT_DEFINED
typedef struct _CRYPTOAPI_BLOB {
    DWORD cbData;
    BYTE *pbData;
} CRYPT_OBJID_BLOB, CRYPT_DATA_BLOB;

typedef struct _CRYPT_BIT_BLOB {
    DWORD cbData;
    BYTE *pbData;
    DWORD cUnusedBits;
} CRYPT_BIT_BLOB;

typedef struct _CRYPT_ALGORITHM_IDENTIFIER {
    LPSTR pszObjId;
    CRYPT_OBJID_BLOB Parameters;
} CRYPT_ALGORITHM_IDENTIFIER;

typedef struct _CERT_PUBLIC_KEY_INFO {
    CRYPT_ALGORITHM_IDENTIFIER Algorithm;
    CRYPT_BIT_BLOB PublicKey;
} CERT_PUBLIC_KEY_INFO, *PCERT_PUBLIC_KEY_INFO;
#endif

#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif

/* HRESULT construction and tests, as in winerror.h. */
#ifndef SEVERITY_SUCCESS
#define SEVERITY_SUCCESS 0
#endif
#ifndef SEVERITY_ERROR
#define SEVERITY_ERROR 1
#endif
#ifndef MAKE_HRESULT
#define MAKE_HRESULT(sev, fac, code) \
    ((HRESULT)(((uint32_t)(sev) << 31) | ((uint32_t)(fac) << 16) | ((uint32_t)(code))))
#endif
#ifndef SUCCEEDED
#define SUCCEEDED(hr) (((HRESULT)(hr)) >= 0)
#endif
#ifndef FAILED
#define FAILED(hr) (((HRESULT)(hr)) < 0)
#endif
#ifndef HRESULT_CODE
#define HRESULT_CODE(hr) ((hr) & 0xFFFF)
#endif
#ifndef HRESULT_FACILITY
#define HRESULT_FACILITY(hr) ((((uint32_t)(hr)) >> 16) & 0x1FFF)
#endif

/* Generic result codes (winerror.h values). */
#ifndef S_OK
#define S_OK ((HRESULT)0x00000000)
#endif
#ifndef S_FALSE
#define S_FALSE ((HRESULT)0x00000001)
#endif
#ifndef E_NOTIMPL
#define E_NOTIMPL ((HRESULT)0x80004001)
#endif
#ifndef E_FAIL
#define E_FAIL ((HRESULT)0x80004005)
#endif
#ifndef E_UNEXPECTED
#define E_UNEXPECTED ((HRESULT)0x8000FFFF)
#endif
#ifndef E_HANDLE
#define E_HANDLE ((HRESULT)0x80070006)
#endif
#ifndef E_OUTOFMEMORY
#define E_OUTOFMEMORY ((HRESULT)0x8007000E)
#endif
#ifndef E_INVALIDARG
#define E_INVALIDARG ((HRESULT)0x80070057)
#endif

/* Win32 error numbers returned as DWORD by the WFP functions. */
#ifndef ERROR_SUCCESS
#define ERROR_SUCCESS 0L
#endif
#ifndef ERROR_ACCESS_DENIED
#define ERROR_ACCESS_DENIED 5L
#endif
#ifndef ERROR_NOT_SUPPORTED
#define ERROR_NOT_SUPPORTED 50L
#endif
#ifndef ERROR_INVALID_PARAMETER
#define ERROR_INVALID_PARAMETER 87L
#endif
/* File errors of DrtSaveRouteCache / DrtLoadRouteCache (libdrt extension). */
#ifndef ERROR_FILE_NOT_FOUND
#define ERROR_FILE_NOT_FOUND 2L
#endif
#ifndef ERROR_PATH_NOT_FOUND
#define ERROR_PATH_NOT_FOUND 3L
#endif
/* DrtKeyingSocketListen: the socket is served already (libdrt extension). */
#ifndef ERROR_ALREADY_EXISTS
#define ERROR_ALREADY_EXISTS 183L
#endif
#ifndef ERROR_DISK_FULL
#define ERROR_DISK_FULL 112L
#endif
#ifndef E_ACCESSDENIED
#define E_ACCESSDENIED ((HRESULT)0x80070005)
#endif

/* Wait results and the infinite timeout of WaitForSingleObject. */
#ifndef WAIT_OBJECT_0
#define WAIT_OBJECT_0 ((DWORD)0x00000000)
#endif
#ifndef WAIT_TIMEOUT
#define WAIT_TIMEOUT ((DWORD)0x00000102)
#endif
#ifndef WAIT_FAILED
#define WAIT_FAILED ((DWORD)0xFFFFFFFF)
#endif
#ifndef INFINITE
#define INFINITE ((DWORD)0xFFFFFFFF)
#endif

/* A Win32 error number as an HRESULT (facility 7), as winerror.h does. */
#ifndef HRESULT_FROM_WIN32
#define HRESULT_FROM_WIN32(x)                                                                    \
    ((HRESULT)(x) <= 0 ? ((HRESULT)(x))                                                          \
                       : ((HRESULT)((((unsigned long)(x)) & 0x0000FFFFul) | (7ul << 16) |        \
                                    0x80000000ul)))
#endif

/* Added for <fwpmu.h> (keying engine): WORD, and the Win32 error numbers the
 * WFP functions return as DWORD besides the FWP_E_* codes. */
#ifndef DRT_WINTYPES_KEYING_DEFINED
#define DRT_WINTYPES_KEYING_DEFINED
typedef uint16_t WORD;
#endif
#ifndef ERROR_INVALID_HANDLE
#define ERROR_INVALID_HANDLE 6L
#endif
#ifndef ERROR_NOT_ENOUGH_MEMORY
#define ERROR_NOT_ENOUGH_MEMORY 8L
#endif
#ifndef ERROR_INSUFFICIENT_BUFFER
#define ERROR_INSUFFICIENT_BUFFER 122L
#endif
#ifndef ERROR_INTERNAL_ERROR
#define ERROR_INTERNAL_ERROR 1359L
#endif
#ifndef ERROR_NOT_ENOUGH_QUOTA
#define ERROR_NOT_ENOUGH_QUOTA 1816L
#endif

#ifdef __cplusplus
}
#endif

#endif /* !_WIN32 */

#endif /* DRT_WINTYPES_H */
