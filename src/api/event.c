/*
 * event.c - portable stand-ins for Win32 event objects (drt.h, "portable
 * event objects").
 *
 * State lives under a mutex; waiters sleep on a condition variable bound to
 * CLOCK_MONOTONIC so wall-clock jumps do not stretch timeouts. For poll and
 * event-loop users, an eventfd (a pipe where there is none) mirrors the
 * state: it holds one unit exactly while the event is signalled.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/eventfd.h>
#endif

#include <drt.h>

#include "util/export.h"

#define EVENT_MAGIC 0x44525445u /* "DRTE" */

struct drt_event {
    uint32_t magic;
    bool manual_reset;
    bool signalled;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int read_fd;  /* what DrtEventGetFd returns */
    int write_fd; /* == read_fd for an eventfd */
};

static struct drt_event *event_from_handle(HANDLE h)
{
    struct drt_event *ev = h;
    return ev && ev->magic == EVENT_MAGIC ? ev : NULL;
}

/* The descriptor mirrors `signalled`; callers hold ev->lock. */
static void fd_raise(struct drt_event *ev)
{
#if defined(__linux__)
    uint64_t one = 1;
    ssize_t n = write(ev->write_fd, &one, sizeof(one));
#else
    char one = 1;
    ssize_t n = write(ev->write_fd, &one, 1);
#endif
    (void)n; /* the fd is non-blocking and held at 0 or 1 unit: it cannot fill */
}

static void fd_lower(struct drt_event *ev)
{
    uint64_t drain;
    ssize_t n = read(ev->read_fd, &drain, sizeof(drain));
    (void)n; /* empty is fine: lowering an already-low fd */
}

static int open_fds(struct drt_event *ev)
{
#if defined(__linux__)
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0)
        return -1;
    ev->read_fd = ev->write_fd = fd;
#else
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
    }
    ev->read_fd = fds[0];
    ev->write_fd = fds[1];
#endif
    return 0;
}

static void close_fds(struct drt_event *ev)
{
    close(ev->read_fd);
    if (ev->write_fd != ev->read_fd)
        close(ev->write_fd);
}

DRT_EXPORT HANDLE DrtEventCreate(BOOL manualReset, BOOL initialState)
{
    struct drt_event *ev = calloc(1, sizeof(*ev));
    if (!ev)
        return NULL;
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        goto fail_free;
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&ev->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0)
        goto fail_free;
    if (pthread_mutex_init(&ev->lock, NULL) != 0)
        goto fail_cond;
    if (open_fds(ev) < 0)
        goto fail_mutex;
    ev->magic = EVENT_MAGIC;
    ev->manual_reset = manualReset != FALSE;
    if (initialState) {
        ev->signalled = true;
        fd_raise(ev);
    }
    return ev;

fail_mutex:
    pthread_mutex_destroy(&ev->lock);
fail_cond:
    pthread_cond_destroy(&ev->cond);
fail_free:
    free(ev);
    return NULL;
}

DRT_EXPORT BOOL DrtEventSet(HANDLE hEvent)
{
    struct drt_event *ev = event_from_handle(hEvent);
    if (!ev)
        return FALSE;
    pthread_mutex_lock(&ev->lock);
    if (!ev->signalled) {
        ev->signalled = true;
        fd_raise(ev);
    }
    /* Manual reset releases everyone; auto reset releases one waiter, which
     * consumes the signal. */
    if (ev->manual_reset)
        pthread_cond_broadcast(&ev->cond);
    else
        pthread_cond_signal(&ev->cond);
    pthread_mutex_unlock(&ev->lock);
    return TRUE;
}

DRT_EXPORT BOOL DrtEventReset(HANDLE hEvent)
{
    struct drt_event *ev = event_from_handle(hEvent);
    if (!ev)
        return FALSE;
    pthread_mutex_lock(&ev->lock);
    if (ev->signalled) {
        ev->signalled = false;
        fd_lower(ev);
    }
    pthread_mutex_unlock(&ev->lock);
    return TRUE;
}

static struct timespec deadline_after(DWORD ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

DRT_EXPORT DWORD DrtEventWait(HANDLE hEvent, DWORD timeoutMs)
{
    struct drt_event *ev = event_from_handle(hEvent);
    if (!ev)
        return WAIT_FAILED;
    struct timespec deadline = deadline_after(timeoutMs == INFINITE ? 0 : timeoutMs);
    DWORD result = WAIT_OBJECT_0;

    pthread_mutex_lock(&ev->lock);
    while (!ev->signalled) {
        if (timeoutMs == 0) {
            result = WAIT_TIMEOUT;
            break;
        }
        int rc = timeoutMs == INFINITE ? pthread_cond_wait(&ev->cond, &ev->lock)
                                       : pthread_cond_timedwait(&ev->cond, &ev->lock, &deadline);
        if (rc == ETIMEDOUT && !ev->signalled) {
            result = WAIT_TIMEOUT;
            break;
        }
    }
    if (result == WAIT_OBJECT_0 && !ev->manual_reset) {
        ev->signalled = false;
        fd_lower(ev);
    }
    pthread_mutex_unlock(&ev->lock);
    return result;
}

DRT_EXPORT int DrtEventGetFd(HANDLE hEvent)
{
    struct drt_event *ev = event_from_handle(hEvent);
    return ev ? ev->read_fd : -1;
}

DRT_EXPORT void DrtEventClose(HANDLE hEvent)
{
    struct drt_event *ev = event_from_handle(hEvent);
    if (!ev)
        return;
    ev->magic = 0;
    close_fds(ev);
    pthread_cond_destroy(&ev->cond);
    pthread_mutex_destroy(&ev->lock);
    free(ev);
}
