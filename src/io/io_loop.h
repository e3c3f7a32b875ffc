/*
 * io_loop.h - the process's one event loop: a libuv loop on its own
 * thread, serving every open DRT instance and transport.
 *
 * Every engine and socket is touched only on that thread, so the engines
 * need no locks. API calls, from any thread, hand work to it with
 * io_call(), which runs the function on the loop thread and waits for it
 * (or runs it at once when already on the loop thread, e.g. from inside a
 * provider callback), or with io_post(), which queues it and returns. Both
 * share one queue, so jobs run in the order they were handed over. The
 * thread starts with the first io_loop_acquire() and is stopped and joined
 * by the last io_loop_release().
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

/* A queued job. io_call keeps its own on the caller's stack; io_post's
 * belongs to the poster and must stay valid until fn has run (fn may free
 * it: the loop does not touch a posted job once fn has started). */
struct io_job {
    struct io_job *next;
    void (*fn)(void *arg);
    void *arg;
    bool posted; /* io_post: nobody waits for it */
    bool done;   /* io_call: fn has run */
};

/* Queues fn(arg) to run on the loop thread, after every job handed over
 * before it, and returns at once; also from the loop thread itself. Saves
 * the caller a wait of up to a loop iteration and the loop a wake-up of
 * the caller: for calls whose answer the caller does not need. The loop
 * must be acquired, and stay so until fn has run. */
void io_post(struct io_job *job, void (*fn)(void *arg), void *arg);

#endif
