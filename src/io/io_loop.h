/*
 * io_loop.h - the process's one event loop: a libuv loop on its own
 * thread, serving every open DRT instance and transport.
 *
 * Every engine and socket is touched only on that thread, so the engines
 * need no locks. API calls, from any thread, hand work to it with
 * io_call(), which runs the function on the loop thread and waits for it
 * (or runs it at once when already on the loop thread, e.g. from inside a
 * provider callback). The thread starts with the first io_loop_acquire()
 * and is stopped and joined by the last io_loop_release().
 */
#ifndef DRT_IO_LOOP_H
#define DRT_IO_LOOP_H

#include <stdbool.h>

#include <uv.h>

/* 0, or a negative libuv error when the thread cannot start. */
int io_loop_acquire(void);
void io_loop_release(void);

/* The loop; only valid on the loop thread (inside io_call functions). */
uv_loop_t *io_loop(void);
bool io_on_loop_thread(void);

/* Runs fn(arg) on the loop thread and returns once it has run. The loop
 * must be acquired. */
void io_call(void (*fn)(void *arg), void *arg);

#endif
