/*
 * txn.c - explicit transactions, one per session, one writer per engine.
 *
 * The only transactional write this subset has is SetSecurityInfoByKey0:
 * inside a read/write transaction its parts are staged on the session and
 * applied at commit, dropped at abort. Other sessions keep seeing the
 * committed descriptor meanwhile; the session itself sees its own staged
 * parts. Staged parts are validated and copied when they are set, so a
 * commit cannot fail half-way.
 */
#include "ipsec/engine_internal.h"

DWORD ipsec_txn_begin(struct ipsec_engine *e, HANDLE session, UINT32 flags)
{
    if (!session)
        return FWP_E_NULL_POINTER;
    if (flags & ~(UINT32)FWPM_TXN_READ_ONLY)
        return FWP_E_INVALID_FLAGS;
    struct ipsec_session *s = ipsec_session_find(e, session);
    if (!s)
        return ERROR_INVALID_HANDLE;
    if (s->txn.open)
        return FWP_E_TXN_IN_PROGRESS;
    bool read_only = (flags & FWPM_TXN_READ_ONLY) != 0;
    if (!read_only && e->writer != 0)
        return FWP_E_TIMEOUT;
    s->txn = (struct ipsec_txn){.open = true, .read_only = read_only};
    if (!read_only)
        e->writer = s->handle;
    return ERROR_SUCCESS;
}

static DWORD find_open_txn(struct ipsec_engine *e, HANDLE session, struct ipsec_session **out)
{
    if (!session)
        return FWP_E_NULL_POINTER;
    struct ipsec_session *s = ipsec_session_find(e, session);
    if (!s)
        return ERROR_INVALID_HANDLE;
    if (!s->txn.open)
        return FWP_E_NO_TXN_IN_PROGRESS;
    *out = s;
    return ERROR_SUCCESS;
}

static void end_txn(struct ipsec_engine *e, struct ipsec_session *s)
{
    ipsec_secdesc_delta_free(&s->txn.sd);
    s->txn = (struct ipsec_txn){0};
    if (e->writer == s->handle)
        e->writer = 0;
}

DWORD ipsec_txn_commit(struct ipsec_engine *e, HANDLE session)
{
    struct ipsec_session *s;
    DWORD rc = find_open_txn(e, session, &s);
    if (rc != ERROR_SUCCESS)
        return rc;
    ipsec_secdesc_apply(&e->sd, &s->txn.sd);
    end_txn(e, s);
    return ERROR_SUCCESS;
}

DWORD ipsec_txn_abort(struct ipsec_engine *e, HANDLE session)
{
    struct ipsec_session *s;
    DWORD rc = find_open_txn(e, session, &s);
    if (rc != ERROR_SUCCESS)
        return rc;
    end_txn(e, s);
    return ERROR_SUCCESS;
}

bool ipsec_txn_writer_free(const struct ipsec_engine *e)
{
    return e->writer == 0;
}
