/*
 * io_km.h - key-manager callbacks off the loop thread.
 *
 * The SA negotiations of every protected socket hand their key-manager
 * calls (neg_keymgr.h: check, dictation, notification) to io_km_ask. A
 * small pool of worker threads, started on demand, runs the callbacks;
 * each answer comes back on the loop thread, through a uv_async, to the
 * client that asked. A callback that blocks holds one worker: the
 * negotiation that asked fails at the call's deadline, and every other
 * negotiation and DRT message of the process goes on meanwhile
 * (docs/KEYING.md §4.8). An answer that arrives for a client that closed
 * is dropped and cleansed.
 *
 * The pool lives with the loop: io_km_stop (on the loop thread, before
 * its handles close) stops deliveries, io_km_shutdown (after the loop
 * thread ended) joins the workers, which waits for callbacks still
 * running, and drops the calls never run.
 */
#ifndef DRT_IO_KM_H
#define DRT_IO_KM_H

#include <stdbool.h>

#include "ipsec/neg_keymgr.h"

#define IO_KM_THREADS 4u       /* workers at most, over all sockets */
#define IO_KM_MAX_QUEUED 4096u /* calls waiting for a worker; more are dropped */

struct io_km_client;
typedef void (*io_km_answer_fn)(void *ctx, struct neg_km_answer *a);

/* Loop thread. env: how calls run (lock, clock; copied). fn(ctx, answer)
 * gets every answer but NOTIFY's, on the loop thread. NULL: no memory. */
struct io_km_client *io_km_client_open(const struct neg_keymgr_env *env, io_km_answer_fn fn,
                                       void *ctx);
/* Loop thread. Answers not yet delivered are dropped; calls still queued
 * or running keep their pins until they end. */
void io_km_client_close(struct io_km_client *c);

/* neg_keymgr_env.ask, with the client as ctx. Loop thread. */
void io_km_ask(void *client, const struct neg_km_call *call);

/* true on a worker thread, i.e. inside a key-manager callback. */
bool io_km_in_callback(void);

void io_km_stop(void);
void io_km_shutdown(void);

#endif
