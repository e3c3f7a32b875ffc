/*
 * keying_client.h - the client side of the key-manager socket
 * (docs/KEYING.md §10): FwpmEngineOpen0 with serverName = the socket's
 * absolute path, or with serverName NULL while DRT_KEYING_SOCKET names
 * one, opens the session in the process that serves that socket; every
 * Fwpm and IPsecKeyManager call on that session's handle goes there, and
 * the callbacks of its key managers run here, on a thread of the session.
 *
 * Every call waits a bounded time (KEYING_CLIENT_CALL_MS; a transaction
 * begin its session's txnWaitTimeoutInMSec more): an engine that cannot be
 * reached, goes away or does not answer gives an RPC-band code, never a
 * hang.
 */
#ifndef DRT_API_KEYING_CLIENT_H
#define DRT_API_KEYING_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include <fwpmu.h>

#define KEYING_CLIENT_MAX_PATH 108
#define KEYING_CLIENT_CALL_MS  5000u
#define KEYING_CLIENT_ENV      "DRT_KEYING_SOCKET"

/* True when this FwpmEngineOpen0 goes to a socket; *path receives it ("" when
 * the name cannot be a socket path: keying_client_open then refuses it). */
bool keying_client_route(const wchar_t *serverName, char path[KEYING_CLIENT_MAX_PATH]);

DWORD keying_client_open(const char *path, const FWPM_SESSION0 *session, HANDLE *engineHandle);
/* A handle keying_client_open returned and that is not closed. */
bool keying_client_is_remote(HANDLE engineHandle);

DWORD keying_client_close(HANDLE h);
/* type: KMRPC_TXN_BEGIN (with flags), KMRPC_TXN_COMMIT, KMRPC_TXN_ABORT. */
DWORD keying_client_txn(HANDLE h, uint8_t type, UINT32 flags);
DWORD keying_client_km_add(HANDLE h, const IPSEC_KEY_MANAGER0 *km,
                           const IPSEC_KEY_MANAGER_CALLBACKS0 *cb, HANDLE *keyMgmtHandle);
DWORD keying_client_km_remove(HANDLE h, HANDLE keyMgmtHandle);
DWORD keying_client_km_list(HANDLE h, IPSEC_KEY_MANAGER0 ***entries, UINT32 *numEntries);
DWORD keying_client_sec_get(HANDLE h, const void *reserved, SECURITY_INFORMATION info,
                            PSID *owner, PSID *group, PACL *dacl, PACL *sacl,
                            PSECURITY_DESCRIPTOR *sd);
DWORD keying_client_sec_set(HANDLE h, const void *reserved, SECURITY_INFORMATION info,
                            const SID *owner, const SID *group, const ACL *dacl,
                            const ACL *sacl);

#endif
