/*
 * io_kmsock.h - the Unix stream socket under the key-manager RPC
 * (docs/KEYING.md §10): listen, connect, the peer's credentials, and
 * whole frames (ipsec/kmrpc_wire.h) in and out, for both of its ends (the
 * engine's side, api/keying_server.c, and a client, api/keying_client.c).
 *
 * Reads block (a connection's own thread waits for its next frame; another
 * thread ends the wait with shutdown()); writes never wait past their
 * deadline, so a peer that stops reading cannot hold a writer.
 */
#ifndef DRT_IO_KMSOCK_H
#define DRT_IO_KMSOCK_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ipsec/kmrpc_wire.h"

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

/* A condition variable whose timed waits run on kmsock_now_ms's clock, so
 * that a deadline taken from it is the deadline waited for (and a step of
 * the wall clock neither cuts a wait short nor stretches it). */
void kmsock_cond_init(pthread_cond_t *cv);
/* Under lock: waits on cv until woken or deadline_ms (kmsock_now_ms clock). */
void kmsock_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *lock, uint64_t deadline_ms);

/* Sends all len bytes by deadline_ms (kmsock_now_ms clock): 0, -ETIMEDOUT,
 * or the send error (-EPIPE when the peer is gone). */
int kmsock_write_all(int fd, const void *buf, size_t len, uint64_t deadline_ms);

/* Reads one whole frame of at most max bytes after its length field into
 * a malloc'd buffer (header included). 0, -ECONNRESET (end of stream or a
 * read error), -EMSGSIZE (announced length out of range: the stream
 * cannot be resynchronised), -ENOMEM. */
int kmsock_read_frame(int fd, size_t max, uint8_t **frame, size_t *len);

/* What a connection's reader does with one frame whose header is sound:
 * it owns frame (len bytes, header included), body reads the bytes after
 * the header. False ends the reading. */
typedef bool (*kmsock_frame_fn)(void *ctx, uint8_t *frame, size_t len, uint8_t type,
                                uint32_t id, struct wire_reader *body);

/* A connection's reader: hands every frame of at most max bytes read from
 * fd to take, until the stream ends, a frame's length or header is wrong
 * (kmrpc_frame_parse: nothing after it can be trusted), or take returns
 * false. */
void kmsock_read_frames(int fd, size_t max, kmsock_frame_fn take, void *ctx);

/* Ends the frame o, writes it whole by deadline_ms (one writer at a time:
 * write_lock) and frees it. *fd is read under write_lock because the
 * connection's owner closes it holding that lock: a frame never goes to a
 * descriptor number reused by then. 0, -ENOMEM (the frame could not be
 * completed: too large, or out of memory) or what kmsock_write_all
 * returns. */
int kmsock_send_frame(pthread_mutex_t *write_lock, const int *fd, struct kmrpc_out *o,
                      uint64_t deadline_ms);

#endif
