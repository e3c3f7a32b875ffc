/*
 * udp_count.c - counts the datagrams and bytes this process sends, by
 * wrapping send, sendto, sendmsg and sendmmsg (the executable's definitions
 * win over libc's for libuv, libdrt and libopendht alike; the drivers link
 * with --export-dynamic). The drivers open no other sockets, so every call
 * counted is a UDP datagram; the bytes are UDP payload (no IP/UDP headers).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

static _Atomic uint64_t packets, bytes;

uint64_t udp_count_packets(void);
uint64_t udp_count_bytes(void);
uint64_t udp_count_packets(void) { return atomic_load(&packets); }
uint64_t udp_count_bytes(void) { return atomic_load(&bytes); }

static void count(uint64_t p, uint64_t b)
{
    atomic_fetch_add(&packets, p);
    atomic_fetch_add(&bytes, b);
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    static ssize_t (*real)(int, const void *, size_t, int);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "send");
    ssize_t r = real(fd, buf, len, flags);
    if (r >= 0)
        count(1, (uint64_t)r);
    return r;
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
               socklen_t tolen)
{
    static ssize_t (*real)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "sendto");
    ssize_t r = real(fd, buf, len, flags, to, tolen);
    if (r >= 0)
        count(1, (uint64_t)r);
    return r;
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    static ssize_t (*real)(int, const struct msghdr *, int);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "sendmsg");
    ssize_t r = real(fd, msg, flags);
    if (r >= 0)
        count(1, (uint64_t)r);
    return r;
}

int sendmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags)
{
    static int (*real)(int, struct mmsghdr *, unsigned int, int);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "sendmmsg");
    int r = real(fd, v, n, flags);
    for (int i = 0; i < r; i++)
        count(1, v[i].msg_len);
    return r;
}
