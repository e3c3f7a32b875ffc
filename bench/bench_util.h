/*
 * bench_util.h - what both cloud drivers (C and C++) measure the same way:
 * monotonic time, CPU time (getrusage), VmRSS, percentiles, a PRNG, and the
 * datagram counters kept by udp_count.c.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Datagrams and bytes (UDP payload) this process handed to send, sendto,
 * sendmsg and sendmmsg: udp_count.c wraps them. */
uint64_t udp_count_packets(void);
uint64_t udp_count_bytes(void);

#ifdef __cplusplus
}
#endif

static inline double bench_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline double bench_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* VmRSS of this process in KiB, from /proc/self/status. */
static inline long bench_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kib;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The p-quantile (0..1) of v[0..n) by nearest rank; sorts v. 0 when empty. */
static inline double bench_quantile(double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(*v), bench_cmp_double);
    size_t rank = (size_t)(p * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return v[rank - 1];
}

/* splitmix64: the same seed gives both drivers the same workload. */
static inline uint64_t bench_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The value stored under key k: value_size bytes, recognisable per key. */
static inline void bench_value(unsigned k, unsigned char *out, size_t value_size)
{
    uint64_t s = 0xbe7c4000u + k;
    for (size_t i = 0; i < value_size; i++)
        out[i] = (unsigned char)bench_rand(&s);
}

#endif
