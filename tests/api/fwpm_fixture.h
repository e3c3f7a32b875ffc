/*
 * fwpm_fixture.h - helpers for the tests of the public keying-engine API:
 * sessions, callback tables, and putting the process-wide key-manager
 * descriptor back the way the engine created it.
 */
#ifndef DRT_TESTS_API_FWPM_FIXTURE_H
#define DRT_TESTS_API_FWPM_FIXTURE_H

#include <fwpmu.h>

extern const IPSEC_KEY_MANAGER_CALLBACKS0 fx_notify_cbs;
extern const IPSEC_KEY_MANAGER_CALLBACKS0 fx_dictate_cbs;

void CALLBACK fx_check(const IKEEXT_TRAFFIC0 *t, BOOL *will, UINT32 *w);
DWORD CALLBACK fx_dictate(IPSEC_SA_DETAILS1 *in, IPSEC_SA_DETAILS1 *out, BOOL *gen);

/* A dynamic session with the given transaction wait (0 = default). */
HANDLE fx_open(UINT32 txn_wait_ms);
void fx_close(HANDLE h);

/* Sets a DACL with one allow ACE for the POSIX user uid. */
void fx_set_dacl_for_uid(HANDLE h, uint32_t uid, ACCESS_MASK mask);
/* The DACL the engine starts with: everything to this process's user and
 * to root. */
void fx_restore_default_dacl(HANDLE h);

#endif
