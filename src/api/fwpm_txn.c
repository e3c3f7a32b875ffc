/*
 * fwpm_txn.c - FwpmTransactionBegin0 / Commit0 / Abort0. The engine says
 * at once when another session holds the read/write transaction; waiting
 * up to the session's txnWaitTimeoutInMSec happens here, where a clock is
 * allowed.
 */
#include "api/fwpm_engine.h"
#include "api/keying_client.h"
#include "ipsec/kmrpc_wire.h"
#include "util/export.h"

static DWORD begin_waiting(struct ipsec_engine *e, HANDLE engineHandle, UINT32 flags)
{
    DWORD rc = ipsec_txn_begin(e, engineHandle, flags);
    if (rc != FWP_E_TIMEOUT)
        return rc;
    FWPM_SESSION0 info;
    if (!ipsec_session_info(e, engineHandle, &info))
        return ERROR_INVALID_HANDLE;
    uint64_t deadline = fwpm_now_ms() + info.txnWaitTimeoutInMSec;
    /* Each pass either sees the writer gone or waits; the deadline bounds
     * the loop even under spurious wake-ups. */
    while (rc == FWP_E_TIMEOUT && fwpm_now_ms() < deadline) {
        fwpm_wait_writer(deadline);
        rc = ipsec_txn_begin(e, engineHandle, flags);
    }
    return rc;
}

DRT_EXPORT DWORD WINAPI FwpmTransactionBegin0(HANDLE engineHandle, UINT32 flags)
{
    if (keying_client_is_remote(engineHandle))
        return keying_client_txn(engineHandle, KMRPC_TXN_BEGIN, flags);
    DWORD rc;
    struct ipsec_engine *e = fwpm_lock(&rc);
    if (!e)
        return rc;
    rc = begin_waiting(e, engineHandle, flags);
    fwpm_unlock();
    return rc;
}

static DWORD end_txn(HANDLE engineHandle, DWORD (*end)(struct ipsec_engine *, HANDLE))
{
    DWORD rc;
    struct ipsec_engine *e = fwpm_lock(&rc);
    if (!e)
        return rc;
    bool was_writer = !ipsec_txn_writer_free(e);
    rc = end(e, engineHandle);
    if (was_writer && ipsec_txn_writer_free(e))
        fwpm_writer_released();
    fwpm_unlock();
    return rc;
}

DRT_EXPORT DWORD WINAPI FwpmTransactionCommit0(HANDLE engineHandle)
{
    if (keying_client_is_remote(engineHandle))
        return keying_client_txn(engineHandle, KMRPC_TXN_COMMIT, 0);
    return end_txn(engineHandle, ipsec_txn_commit);
}

DRT_EXPORT DWORD WINAPI FwpmTransactionAbort0(HANDLE engineHandle)
{
    if (keying_client_is_remote(engineHandle))
        return keying_client_txn(engineHandle, KMRPC_TXN_ABORT, 0);
    return end_txn(engineHandle, ipsec_txn_abort);
}
