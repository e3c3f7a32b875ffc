/*
 * io_kmsock.h - the Unix stream socket under the key-manager RPC
 * (docs/KEYING.md §10): listen, connect, the peer's credentials, and
 * whole frames (ipsec/kmrpc_wire.h) in and out.
 *
 * Reads block (a connection's own thread waits for its next frame; another
 * thread ends the wait with shutdown()); writes never wait past their
 * deadline, so a peer that stops reading cannot hold a writer.
 */
#ifndef DRT_IO_KMSOCK_H
#define DRT_IO_KMSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What SO_PEERCRED says about a connected peer, and whether its
 * executable (/proc/<pid>/exe) may be overwritten by every user. */
struct kmsock_peer {
    pid_t pid;
    uint32_t uid;
    uint32_t gid;
    bool image_writable;
};

/* Binds and listens at path (mode 0666: the key-manager container's
 * descriptor, not the file, says who may register). A socket file left by
 * a process that is gone is replaced; anything else at path is not.
 * 0 or a negative errno (EADDRINUSE: a live server or another file). */
int kmsock_listen(const char *path, int *fd);

/* 0 or a negative errno: ENOENT, ECONNREFUSED, EACCES, EAGAIN (the
 * server's backlog is full), ENAMETOOLONG. Never waits. */
int kmsock_connect(const char *path, int *fd);

/* False when the kernel does not say (then the peer is refused). */
bool kmsock_peer_of(int fd, struct kmsock_peer *p);

uint64_t kmsock_now_ms(void);

/* Sends all len bytes by deadline_ms (kmsock_now_ms clock): 0, -ETIMEDOUT,
 * or the send error (-EPIPE when the peer is gone). */
int kmsock_write_all(int fd, const void *buf, size_t len, uint64_t deadline_ms);

/* Reads one whole frame of at most max bytes after its length field into
 * a malloc'd buffer (header included). 0, -ECONNRESET (end of stream or a
 * read error), -EMSGSIZE (announced length out of range: the stream
 * cannot be resynchronised), -ENOMEM. */
int kmsock_read_frame(int fd, size_t max, uint8_t **frame, size_t *len);

#endif
