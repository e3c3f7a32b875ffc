/* io_loop.c - the loop thread and the cross-thread call (io_loop.h). */
#include "io/io_loop.h"
#include "io/io_km.h"

#include <pthread.h>
#include <stdlib.h>

static struct {
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t done;
    unsigned users;
    bool running;
    uv_loop_t loop;
    uv_async_t wake;
    uv_thread_t thread;
    struct io_job *head, *tail;
} g = {.lock = PTHREAD_MUTEX_INITIALIZER, .done = PTHREAD_COND_INITIALIZER};

static _Thread_local bool on_loop_thread;

uv_loop_t *io_loop(void)
{
    return &g.loop;
}

bool io_on_loop_thread(void)
{
    return on_loop_thread;
}

/* Runs the jobs queued so far; each io_call waits on g.done for its own. */
static void run_jobs(uv_async_t *h)
{
    (void)h;
    for (;;) {
        pthread_mutex_lock(&g.lock);
        struct io_job *job = g.head;
        if (job) {
            g.head = job->next;
            if (!g.head)
                g.tail = NULL;
        }
        pthread_mutex_unlock(&g.lock);
        if (!job)
            return;
        bool posted = job->posted;
        job->fn(job->arg); /* a posted job's fn may free it */
        if (posted)
            continue;
        pthread_mutex_lock(&g.lock);
        job->done = true;
        pthread_cond_broadcast(&g.done);
        pthread_mutex_unlock(&g.lock);
    }
}

static void thread_main(void *arg)
{
    (void)arg;
    on_loop_thread = true;
    uv_run(&g.loop, UV_RUN_DEFAULT);
}

int io_loop_acquire(void)
{
    pthread_mutex_lock(&g.lock);
    int rc = 0;
    if (g.users == 0) {
        rc = uv_loop_init(&g.loop);
        if (rc == 0)
            rc = uv_async_init(&g.loop, &g.wake, run_jobs);
        if (rc == 0)
            rc = uv_thread_create(&g.thread, thread_main, NULL);
        if (rc != 0) {
            pthread_mutex_unlock(&g.lock);
            return rc;
        }
        g.running = true;
    }
    g.users++;
    pthread_mutex_unlock(&g.lock);
    return 0;
}

/* With g.lock held. uv_async_send is a no-op while a wake-up is pending,
 * so a busy loop is not written to once per job. */
static void enqueue(struct io_job *job)
{
    if (g.tail)
        g.tail->next = job;
    else
        g.head = job;
    g.tail = job;
    uv_async_send(&g.wake);
}

void io_call(void (*fn)(void *arg), void *arg)
{
    if (on_loop_thread) {
        fn(arg);
        return;
    }
    struct io_job job = {NULL, fn, arg, false, false};
    pthread_mutex_lock(&g.lock);
    enqueue(&job);
    while (!job.done)
        pthread_cond_wait(&g.done, &g.lock);
    pthread_mutex_unlock(&g.lock);
}

void io_post(struct io_job *job, void (*fn)(void *arg), void *arg)
{
    *job = (struct io_job){NULL, fn, arg, true, false};
    pthread_mutex_lock(&g.lock);
    enqueue(job);
    pthread_mutex_unlock(&g.lock);
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* On the loop thread: close every handle so uv_run returns. */
static void shutdown_loop(void *arg)
{
    (void)arg;
    io_km_stop();
    uv_walk(&g.loop, close_walk, NULL);
}

void io_loop_release(void)
{
    pthread_mutex_lock(&g.lock);
    bool last = g.users == 1;
    if (g.users > 0 && !last)
        g.users--;
    pthread_mutex_unlock(&g.lock);
    if (!last)
        return;
    io_call(shutdown_loop, NULL);
    uv_thread_join(&g.thread);
    io_km_shutdown(); /* waits for key-manager callbacks still running */
    uv_loop_close(&g.loop);
    pthread_mutex_lock(&g.lock);
    g.users = 0;
    g.running = false;
    pthread_mutex_unlock(&g.lock);
}
