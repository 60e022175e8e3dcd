/*
 * loadgen.c - measure a line-echo server (POSIX, poll-based, one thread).
 *
 *   loadgen stall PORT CAP_MS        client 1 sends a line, gets its echo, then stays idle;
 *                                    client 2 sends a line: how long until its echo? Prints
 *                                    "stall_ms=12.345", or "stall_ms=>CAP" if none came in time.
 *   loadgen hold PORT N SECONDS      connect N clients, print "connected=N", keep them idle for
 *                                    SECONDS, then close them (the caller measures the server).
 *   loadgen pingpong PORT N SECONDS  N clients each send a line, wait for its echo, repeat.
 *                                    Prints "clients=N messages=M rate=R p50_us=A p99_us=B
 *                                    errors=E stalled=S" (rate in messages per second; stalled:
 *                                    clients still waiting, at the end, for an echo sent more
 *                                    than half the run ago).
 *   loadgen clients PORT N SECONDS   N clients connect at once, each sends one distinct line and
 *                                    expects it back within SECONDS. Prints "clients=N echoed=K
 *                                    failed=F first_error=..." and exits 1 unless K == N.
 *
 * Every message is "Hola-NNNNN\r\n", 12 bytes: an even length on purpose, so that even the
 * documents' two-bytes-at-a-time servers, which only look at the last two bytes, see the "\r\n".
 */
#include "net.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MSG_LEN 12 /* "Hola-NNNNN\r\n" */

struct client {
    int fd;
    char expect[MSG_LEN]; /* the line in flight */
    size_t got;           /* bytes of its echo received so far */
    double sent_at;       /* when it was sent (seconds) */
    unsigned seq;
    int done; /* 1: finished (echoed or failed) */
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_seconds(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* A blocking connect to 127.0.0.1:port; -1 with errno set on failure. */
static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd == -1)
        return -1;
    struct sockaddr_in addr = loopback_address(port);
    while (connect(fd, (struct sockaddr *)&addr, sizeof addr) == -1) {
        if (errno == EINTR)
            continue;
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

static void make_message(struct client *c, unsigned id)
{
    char text[MSG_LEN + 1];
    snprintf(text, sizeof text, "Hola-%05u\r\n", id % 100000u);
    memcpy(c->expect, text, MSG_LEN);
    c->got = 0;
}

/* Send c's message whole (12 bytes fit any socket buffer; loop anyway for EINTR/short). */
static int send_message(struct client *c)
{
    /* Stamp before sending: the echo can be back before send() even returns to us. */
    c->sent_at = now();
    size_t off = 0;
    while (off < MSG_LEN) {
        ssize_t n = send(c->fd, c->expect + off, MSG_LEN - off, 0);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                struct pollfd p = {.fd = c->fd, .events = POLLOUT, .revents = 0};
                poll(&p, 1, 100);
                continue;
            }
            return -1;
        }
        off += (size_t)n;
    }
    return 0;
}

/* Read what is there for c. Returns 1 when the whole echo has arrived, 0 if more is needed,
 * -1 on error, EOF or a wrong byte (errno, or EPROTO for a mismatch). */
static int receive_echo(struct client *c)
{
    char buf[64];
    size_t want = MSG_LEN - c->got;
    ssize_t n = recv(c->fd, buf, want < sizeof buf ? want : sizeof buf, 0);
    if (n == -1)
        return (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
    if (n == 0) {
        errno = ECONNRESET;
        return -1;
    }
    if (memcmp(buf, c->expect + c->got, (size_t)n) != 0) {
        errno = EPROTO;
        return -1;
    }
    c->got += (size_t)n;
    return c->got == MSG_LEN;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int mode_stall(int port, double cap_ms)
{
    struct client one = {.fd = connect_to(port)}, two = {.fd = -1};
    if (one.fd == -1)
        die("connect");
    make_message(&one, 1);
    if (send_message(&one) == -1)
        die("send");
    set_nonblocking(one.fd);
    /* Wait (bounded) for client 1's echo: only then is it "connected and idle". */
    double deadline = now() + cap_ms / 1000.0;
    while (now() < deadline) {
        struct pollfd p = {.fd = one.fd, .events = POLLIN, .revents = 0};
        if (poll(&p, 1, 10) > 0 && receive_echo(&one) != 0)
            break;
    }
    two.fd = connect_to(port);
    if (two.fd == -1)
        die("connect");
    set_nonblocking(two.fd);
    make_message(&two, 2);
    if (send_message(&two) == -1)
        die("send");
    deadline = two.sent_at + cap_ms / 1000.0;
    int result = 0;
    while (result == 0 && now() < deadline) {
        struct pollfd p = {.fd = two.fd, .events = POLLIN, .revents = 0};
        int ms = (int)((deadline - now()) * 1000.0) + 1;
        if (poll(&p, 1, ms) > 0)
            result = receive_echo(&two);
    }
    if (result == 1)
        printf("stall_ms=%.3f\n", (now() - two.sent_at) * 1000.0);
    else
        printf("stall_ms=>%.0f\n", cap_ms);
    close(one.fd);
    close(two.fd);
    return 0;
}

static struct client *connect_many(int port, int n, int *connected, int *first_error)
{
    struct client *cs = calloc((size_t)n, sizeof *cs);
    if (cs == NULL)
        die("calloc");
    *connected = 0;
    *first_error = 0;
    for (int i = 0; i < n; i++) {
        cs[i].fd = connect_to(port);
        if (cs[i].fd == -1) {
            if (*first_error == 0)
                *first_error = errno;
            cs[i].done = 1;
            continue;
        }
        set_nonblocking(cs[i].fd);
        (*connected)++;
    }
    return cs;
}

static void close_many(struct client *cs, int n)
{
    for (int i = 0; i < n; i++)
        if (cs[i].fd != -1)
            close(cs[i].fd);
    free(cs);
}

static int mode_hold(int port, int n, double seconds)
{
    int connected, first_error;
    struct client *cs = connect_many(port, n, &connected, &first_error);
    printf("connected=%d\n", connected);
    fflush(stdout);
    sleep_seconds(seconds);
    close_many(cs, n);
    return connected == n ? 0 : 1;
}

/* Run the clients until `until` (seconds): each sends, waits for its echo, and (when repeat)
 * sends again. Collects round-trip times into *rtts. Returns the number of failed clients. */
static int run_clients(struct client *cs, int n, double until, int repeat, double **rtts,
                       size_t *count, int *first_error)
{
    size_t cap = 1024;
    *rtts = malloc(cap * sizeof **rtts);
    struct pollfd *ps = calloc((size_t)n, sizeof *ps);
    if (*rtts == NULL || ps == NULL)
        die("malloc");
    *count = 0;
    int failed = 0, active = 0;
    for (int i = 0; i < n; i++) {
        if (cs[i].done)
            continue;
        make_message(&cs[i], (unsigned)i);
        if (send_message(&cs[i]) == -1) {
            if (*first_error == 0)
                *first_error = errno;
            cs[i].done = 1;
            failed++;
            continue;
        }
        active++;
    }
    while (active > 0 && now() < until) {
        for (int i = 0; i < n; i++) {
            ps[i].fd = cs[i].done ? -1 : cs[i].fd;
            ps[i].events = POLLIN;
            ps[i].revents = 0;
        }
        int ms = (int)((until - now()) * 1000.0) + 1;
        int ready = poll(ps, (nfds_t)n, ms < 100 ? ms : 100);
        if (ready == -1) {
            if (errno == EINTR)
                continue;
            die("poll");
        }
        for (int i = 0; i < n && ready > 0; i++) {
            if (ps[i].revents == 0)
                continue;
            ready--;
            int r = receive_echo(&cs[i]);
            if (r == 0)
                continue;
            if (r == -1) {
                if (*first_error == 0)
                    *first_error = errno;
                cs[i].done = 1;
                failed++;
                active--;
                continue;
            }
            if (*count == cap) {
                cap *= 2;
                double *bigger = realloc(*rtts, cap * sizeof **rtts);
                if (bigger == NULL)
                    die("realloc");
                *rtts = bigger;
            }
            (*rtts)[(*count)++] = now() - cs[i].sent_at;
            if (!repeat) {
                cs[i].done = 1;
                active--;
                continue;
            }
            cs[i].seq++;
            make_message(&cs[i], cs[i].seq * 1000u + (unsigned)i);
            if (send_message(&cs[i]) == -1) {
                if (*first_error == 0)
                    *first_error = errno;
                cs[i].done = 1;
                failed++;
                active--;
            }
        }
    }
    if (!repeat) /* whoever has not been echoed by now failed */
        for (int i = 0; i < n; i++)
            if (!cs[i].done) {
                if (*first_error == 0)
                    *first_error = ETIMEDOUT;
                failed++;
            }
    free(ps);
    return failed;
}

static int mode_pingpong(int port, int n, double seconds)
{
    int connected, first_error;
    struct client *cs = connect_many(port, n, &connected, &first_error);
    double start = now();
    double *rtts;
    size_t count;
    int failed = run_clients(cs, n, start + seconds, 1, &rtts, &count, &first_error);
    double end = now(), elapsed = end - start;
    int stalled = 0;
    for (int i = 0; i < n; i++)
        if (!cs[i].done && end - cs[i].sent_at > seconds / 2)
            stalled++;
    qsort(rtts, count, sizeof *rtts, compare_doubles);
    double p50 = count ? rtts[count / 2] * 1e6 : -1;
    double p99 = count ? rtts[(size_t)((double)(count - 1) * 0.99)] * 1e6 : -1;
    printf("clients=%d messages=%zu rate=%.0f p50_us=%.0f p99_us=%.0f errors=%d stalled=%d\n", n,
           count, (double)count / elapsed, p50, p99, failed + (n - connected), stalled);
    free(rtts);
    close_many(cs, n);
    return 0;
}

static int mode_clients(int port, int n, double seconds)
{
    int connected, first_error;
    struct client *cs = connect_many(port, n, &connected, &first_error);
    double *rtts;
    size_t count;
    run_clients(cs, n, now() + seconds, 0, &rtts, &count, &first_error);
    printf("clients=%d echoed=%zu failed=%zu first_error=%s\n", n, count, (size_t)n - count,
           first_error ? errno_name(first_error) : "none");
    free(rtts);
    close_many(cs, n);
    return count == (size_t)n ? 0 : 1;
}

/* A number from the command line, or -1 if text is not one (whole text, in range). */
static double parse_number(const char *text)
{
    char *end = NULL;
    errno = 0;
    double value = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || value < 0 || value > 1e9)
        return -1;
    return value;
}

int main(int argc, char **argv)
{
    server_init(1, argv); /* SIGPIPE ignored, stdout line-buffered; ports come from argv[2] */
    raise_fd_limit();
    int port = argc > 2 ? parse_port(argv[2]) : -1;
    if (argc < 4 || port < 0) {
        fprintf(stderr, "usage: loadgen stall PORT CAP_MS | hold PORT N SECONDS |\n"
                        "               pingpong PORT N SECONDS | clients PORT N SECONDS\n");
        return 2;
    }
    if (strcmp(argv[1], "stall") == 0) {
        double cap_ms = parse_number(argv[3]);
        if (cap_ms <= 0) {
            fprintf(stderr, "loadgen stall: CAP_MS must be a number > 0\n");
            return 2;
        }
        return mode_stall(port, cap_ms);
    }
    if (argc < 5) {
        fprintf(stderr, "loadgen %s: needs N and SECONDS\n", argv[1]);
        return 2;
    }
    double clients = parse_number(argv[3]);
    double seconds = parse_number(argv[4]);
    if (clients < 1 || clients > 1000000 || clients != (double)(int)clients || seconds <= 0) {
        fprintf(stderr, "loadgen: N must be a whole number >= 1 and SECONDS a number > 0\n");
        return 2;
    }
    int n = (int)clients;
    if (strcmp(argv[1], "hold") == 0)
        return mode_hold(port, n, seconds);
    if (strcmp(argv[1], "pingpong") == 0)
        return mode_pingpong(port, n, seconds);
    if (strcmp(argv[1], "clients") == 0)
        return mode_clients(port, n, seconds);
    fprintf(stderr, "loadgen: unknown mode '%s'\n", argv[1]);
    return 2;
}
