/* io_kmsock.c - the key-manager socket's system calls (io_kmsock.h). */
#define _GNU_SOURCE /* struct ucred */
#include "io/io_kmsock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ipsec/kmrpc_wire.h"

uint64_t kmsock_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void kmsock_cond_init(pthread_cond_t *cv)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
}

void kmsock_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *lock, uint64_t deadline_ms)
{
    struct timespec ts = {.tv_sec = (time_t)(deadline_ms / 1000u),
                          .tv_nsec = (long)(deadline_ms % 1000u) * 1000000L};
    pthread_cond_timedwait(cv, lock, &ts);
}

static int make_address(const char *path, struct sockaddr_un *a)
{
    memset(a, 0, sizeof(*a));
    a->sun_family = AF_UNIX;
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(a->sun_path))
        return -ENAMETOOLONG;
    memcpy(a->sun_path, path, n);
    return 0;
}

static int new_socket(void)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    return fd < 0 ? -errno : fd;
}

/* A socket file nobody accepts on is a leftover of a process that died. */
static bool stale_socket(const char *path, const struct sockaddr_un *a)
{
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISSOCK(st.st_mode))
        return false;
    int fd = new_socket();
    if (fd < 0)
        return false;
    bool stale = connect(fd, (const struct sockaddr *)a, sizeof(*a)) != 0 && errno == ECONNREFUSED;
    close(fd);
    return stale;
}

int kmsock_listen(const char *path, int *out)
{
    struct sockaddr_un a;
    int rc = make_address(path, &a);
    if (rc)
        return rc;
    int fd = new_socket();
    if (fd < 0)
        return fd;
    rc = bind(fd, (struct sockaddr *)&a, sizeof(a));
    if (rc != 0 && errno == EADDRINUSE && stale_socket(path, &a) && unlink(path) == 0)
        rc = bind(fd, (struct sockaddr *)&a, sizeof(a));
    if (rc != 0 || chmod(path, 0666) != 0 || listen(fd, 16) != 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    *out = fd;
    return 0;
}

int kmsock_connect(const char *path, int *out)
{
    struct sockaddr_un a;
    int rc = make_address(path, &a);
    if (rc)
        return rc;
    int fd = new_socket();
    if (fd < 0)
        return fd;
    /* Non-blocking for the connect only: a full backlog is EAGAIN at once. */
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 ||
        connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || fcntl(fd, F_SETFL, fl) != 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    *out = fd;
    return 0;
}

bool kmsock_peer_of(int fd, struct kmsock_peer *p)
{
    struct ucred c;
    socklen_t n = sizeof(c);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c, &n) != 0 || n != sizeof(c) || c.pid <= 0)
        return false;
    p->pid = c.pid;
    p->uid = (uint32_t)c.uid;
    p->gid = (uint32_t)c.gid;
    /* The same rule as in-process (docs/KEYING.md §4.11): an executable
     * every user may overwrite cannot be trusted with keys. Without procfs
     * there is nothing to check against. */
    char exe[64];
    snprintf(exe, sizeof(exe), "/proc/%ld/exe", (long)c.pid);
    struct stat st;
    p->image_writable = stat(exe, &st) == 0 && (st.st_mode & S_IWOTH) != 0;
    return true;
}

int kmsock_write_all(int fd, const void *buf, size_t len, uint64_t deadline_ms)
{
    const uint8_t *b = buf;
    while (len > 0) {
        ssize_t n = send(fd, b, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            b += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return -errno;
        uint64_t now = kmsock_now_ms();
        if (now >= deadline_ms)
            return -ETIMEDOUT;
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        uint64_t wait = deadline_ms - now;
        if (poll(&pfd, 1, wait > 60000 ? 60000 : (int)wait) < 0 && errno != EINTR)
            return -errno;
    }
    return 0;
}

/* Reads exactly n bytes; false at the end of the stream or on an error. */
static bool read_exact(int fd, uint8_t *b, size_t n)
{
    while (n > 0) {
        ssize_t r = recv(fd, b, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        b += r;
        n -= (size_t)r;
    }
    return true;
}

int kmsock_read_frame(int fd, size_t max, uint8_t **frame, size_t *len)
{
    uint8_t hdr[4];
    if (!read_exact(fd, hdr, 4))
        return -ECONNRESET;
    uint32_t n = kmrpc_frame_length(hdr);
    if (n < KMRPC_HEADER_SIZE - 4 || n > max)
        return -EMSGSIZE;
    uint8_t *b = malloc((size_t)n + 4);
    if (!b)
        return -ENOMEM;
    memcpy(b, hdr, 4);
    if (!read_exact(fd, b + 4, n)) {
        free(b);
        return -ECONNRESET;
    }
    *frame = b;
    *len = (size_t)n + 4;
    return 0;
}

void kmsock_read_frames(int fd, size_t max, kmsock_frame_fn take, void *ctx)
{
    for (;;) {
        uint8_t *frame;
        size_t len;
        if (kmsock_read_frame(fd, max, &frame, &len) != 0)
            return;
        uint8_t type;
        uint32_t id;
        struct wire_reader body;
        if (!kmrpc_frame_parse(frame, len, &type, &id, &body)) {
            free(frame);
            return;
        }
        if (!take(ctx, frame, len, type, id, &body))
            return;
    }
}

int kmsock_send_frame(pthread_mutex_t *write_lock, const int *fd, struct kmrpc_out *o,
                      uint64_t deadline_ms)
{
    if (!kmrpc_end(o))
        return -ENOMEM;
    pthread_mutex_lock(write_lock);
    int rc = kmsock_write_all(*fd, o->p, o->len, deadline_ms);
    pthread_mutex_unlock(write_lock);
    kmrpc_out_free(o);
    return rc;
}
