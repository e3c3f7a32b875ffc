/* result_text.c - HRESULT codes in words (see result_text.h). */
#include "util/result_text.h"

#include <stdint.h>
#include <stdio.h>

#include <fwpmu.h>

struct result_entry {
    HRESULT hr;
    const char *name;
    const char *meaning;
};

#define R(code, text) {code, #code, text}

static const struct result_entry entries[] = {
    R(S_OK, "success"),
    R(DRT_S_RETRY, "could not complete now; a retry may succeed"),
    R(E_INVALIDARG, "an argument is invalid"),
    R(E_HANDLE, "the handle is invalid"),
    R(E_OUTOFMEMORY, "out of memory"),
    R(E_UNEXPECTED, "unexpected state (shutting down, or unknown object)"),
    R(E_FAIL, "unspecified failure"),
    R(E_NOTIMPL, "not implemented in this version of libdrt"),
    R(DRT_E_TIMEOUT, "the operation timed out"),
    R(DRT_E_INVALID_KEY_SIZE, "key is not 256 bits (32 bytes)"),
    R(DRT_E_INVALID_CERT_CHAIN, "certificate chain is invalid"),
    R(DRT_E_INVALID_MESSAGE, "message is malformed or too large"),
    R(DRT_E_NO_MORE, "no more data"),
    R(DRT_E_INVALID_MAX_ADDRESSES, "max routing addresses must be 1..20"),
    R(DRT_E_SEARCH_IN_PROGRESS, "search still running; no result queued yet"),
    R(DRT_E_INVALID_KEY, "key does not match the key derived from the certificate"),
    R(DRT_E_INVALID_MAX_ENDPOINTS, "invalid number of endpoints requested"),
    R(DRT_E_INVALID_SEARCH_RANGE, "search range is invalid or excludes the target"),
    R(DRT_E_INVALID_PORT, "port is invalid"),
    R(DRT_E_INVALID_TRANSPORT_PROVIDER, "transport is NULL or invalid"),
    R(DRT_E_INVALID_SECURITY_PROVIDER, "security provider is NULL or incomplete"),
    R(DRT_E_STILL_IN_USE, "still in use"),
    R(DRT_E_INVALID_BOOTSTRAP_PROVIDER, "bootstrap provider is NULL or incomplete"),
    R(DRT_E_INVALID_ADDRESS, "address is invalid"),
    R(DRT_E_INVALID_SCOPE, "scope is invalid"),
    R(DRT_E_TRANSPORT_SHUTTING_DOWN, "transport is shutting down"),
    R(DRT_E_NO_ADDRESSES_AVAILABLE, "no remote nodes available"),
    R(DRT_E_DUPLICATE_KEY, "key already registered"),
    R(DRT_E_TRANSPORTPROVIDER_IN_USE, "transport already in use"),
    R(DRT_E_TRANSPORTPROVIDER_NOT_ATTACHED, "transport not attached"),
    R(DRT_E_SECURITYPROVIDER_IN_USE, "security provider already in use"),
    R(DRT_E_SECURITYPROVIDER_NOT_ATTACHED, "security provider not attached"),
    R(DRT_E_BOOTSTRAPPROVIDER_IN_USE, "bootstrap provider already in use"),
    R(DRT_E_BOOTSTRAPPROVIDER_NOT_ATTACHED, "bootstrap provider not attached"),
    R(DRT_E_TRANSPORT_ALREADY_BOUND, "transport already bound"),
    R(DRT_E_TRANSPORT_NOT_BOUND, "transport not bound"),
    R(DRT_E_TRANSPORT_UNEXPECTED, "unexpected transport error"),
    R(DRT_E_TRANSPORT_INVALID_ARGUMENT, "invalid argument passed to the transport"),
    R(DRT_E_TRANSPORT_NO_DEST_ADDRESSES, "no valid address"),
    R(DRT_E_TRANSPORT_EXECUTING_CALLBACK, "transport is executing a callback"),
    R(DRT_E_TRANSPORT_ALREADY_EXISTS_FOR_SCOPE, "a transport already exists for this scope"),
    R(DRT_E_INVALID_SETTINGS, "settings are NULL or of the wrong size"),
    R(DRT_E_INVALID_SEARCH_INFO, "search info has the wrong size"),
    R(DRT_E_FAULTED, "the DRT is faulted; close and reopen it"),
    R(DRT_E_TRANSPORT_STILL_BOUND, "transport still bound to a DRT"),
    R(DRT_E_INSUFFICIENT_BUFFER, "buffer too small"),
    R(DRT_E_INVALID_INSTANCE_PREFIX, "instance prefix longer than 128 characters"),
    R(DRT_E_INVALID_SECURITY_MODE, "security mode is invalid"),
    R(DRT_E_CAPABILITY_MISMATCH, "required cryptographic capability is missing"),
    /* File errors of DrtSaveRouteCache / DrtLoadRouteCache. */
    R(E_ACCESSDENIED, "access denied"),
    R(HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND), "no such file"),
    R(HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND), "no such folder"),
    R(HRESULT_FROM_WIN32(ERROR_DISK_FULL), "the disk is full"),
    /* The keying engine's DWORD codes that are HRESULT-shaped (fwpmu.h). */
#define F(code, text) {(HRESULT)(code), #code, text}
    F(FWP_E_NOT_FOUND, "no such object"),
    F(FWP_E_ALREADY_EXISTS, "the object already exists (e.g. a second dictating key manager)"),
    F(FWP_E_WRONG_SESSION, "the object belongs to another session"),
    F(FWP_E_NO_TXN_IN_PROGRESS, "no explicit transaction is in progress"),
    F(FWP_E_TXN_IN_PROGRESS, "not allowed inside an explicit transaction"),
    F(FWP_E_INCOMPATIBLE_TXN, "not allowed in this kind of transaction (read-only)"),
    F(FWP_E_TIMEOUT, "timed out waiting for the transaction lock"),
    F(FWP_E_NULL_POINTER, "a required pointer is NULL"),
    F(FWP_E_INVALID_FLAGS, "unknown or inconsistent flags"),
    F(FWP_E_INVALID_INTERVAL, "key dictation timeout hint above 10 seconds"),
    F(FWP_E_RESERVED, "a reserved argument is not NULL/zero"),
    F(FWP_E_KEY_DICTATOR_ALREADY_REGISTERED, "a dictating key manager is already registered"),
    F(FWP_E_KEY_DICTATION_INVALID_KEYING_MATERIAL, "dictated keys do not fit the transform"),
    F(SEC_E_CANNOT_INSTALL, "the caller's image failed the integrity check"),
    /* The key-manager socket (docs/KEYING.md §10). */
    F(RPC_E_CALL_REJECTED, "no such engine: serverName names no local socket"),
    F(RPC_E_SERVER_DIED_DNE, "the keying engine cannot be reached (no socket, nobody listening)"),
    F(RPC_E_DISCONNECTED, "the keying engine went away during the call"),
    F(RPC_E_TIMEOUT, "the keying engine did not answer in time"),
    F(RPC_E_SERVERFAULT, "the keying engine broke the protocol"),
    F(RPC_E_ACCESS_DENIED, "not allowed to connect to the keying engine's socket"),
    F(RPC_E_INVALID_STD_NAME, "serverName cannot be a socket path"),
#undef F
};

static const struct result_entry *find(HRESULT hr)
{
    for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++)
        if (entries[i].hr == hr)
            return &entries[i];
    return NULL;
}

const char *result_name(HRESULT hr)
{
    const struct result_entry *e = find(hr);
    return e ? e->name : NULL;
}

const char *result_meaning(HRESULT hr)
{
    const struct result_entry *e = find(hr);
    return e ? e->meaning : NULL;
}

char *result_describe(HRESULT hr, char *buf, size_t len)
{
    const struct result_entry *e = find(hr);
    if (e)
        snprintf(buf, len, "%s (0x%08X): %s", e->name, (unsigned)(uint32_t)hr, e->meaning);
    else
        snprintf(buf, len, "0x%08X", (unsigned)(uint32_t)hr);
    return buf;
}
