/*
 * udp_rtt.c - the floor: a loopback UDP round trip between two threads of
 * one process (127.0.0.1, blocking sockets), as a DHT request and its answer
 * would make it with nothing else to do. Prints one JSON object (microseconds).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_util.h"

static int echo_fd;

static void *echo(void *arg)
{
    (void)arg;
    char buf[2048];
    struct sockaddr_in from;
    for (;;) {
        socklen_t len = sizeof(from);
        ssize_t n = recvfrom(echo_fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
        if (n <= 0)
            continue;
        if (n == 1 && buf[0] == 'q')
            return NULL;
        sendto(echo_fd, buf, (size_t)n, 0, (struct sockaddr *)&from, len);
    }
}

static int bound_socket(struct sockaddr_in *addr)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    socklen_t len = sizeof(*addr);
    addr->sin_family = AF_INET;
    addr->sin_port = 0;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)addr, sizeof(*addr)) != 0 ||
        getsockname(fd, (struct sockaddr *)addr, &len) != 0) {
        perror("udp_rtt: socket");
        exit(1);
    }
    return fd;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 20000;
    size_t size = argc > 2 ? (size_t)atoi(argv[2]) : 100;
    struct sockaddr_in server, client;
    echo_fd = bound_socket(&server);
    int fd = bound_socket(&client);
    pthread_t t;
    pthread_create(&t, NULL, echo, NULL);
    char buf[2048] = {0};
    double *rtt = malloc(sizeof(double) * (size_t)rounds);
    double sum = 0;
    for (int i = -1000; i < rounds; i++) { /* 1,000 warm-up rounds */
        double t0 = bench_now_ms();
        sendto(fd, buf, size, 0, (struct sockaddr *)&server, sizeof(server));
        if (recv(fd, buf, sizeof(buf), 0) < 0)
            return 1;
        double us = (bench_now_ms() - t0) * 1e3;
        if (i >= 0) {
            rtt[i] = us;
            sum += us;
        }
    }
    sendto(fd, "q", 1, 0, (struct sockaddr *)&server, sizeof(server));
    pthread_join(t, NULL);
    double mean = sum / rounds;
    printf("{\"rounds\":%d,\"payload_bytes\":%zu,\"rtt_us_mean\":%.2f,\"rtt_us_p50\":%.2f,"
           "\"rtt_us_p99\":%.2f}\n",
           rounds, size, mean, bench_quantile(rtt, (size_t)rounds, 0.5),
           bench_quantile(rtt, (size_t)rounds, 0.99));
    free(rtt);
    return 0;
}
