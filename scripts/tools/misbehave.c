/*
 * misbehave.c - the clients nc cannot imitate, for the tests and the demo.
 *
 *   misbehave reset PORT DATA      send DATA (printf-style \r \n \xHH escapes), then reset the
 *                                  connection (RST, via SO_LINGER 0) instead of closing it.
 *   misbehave reset-when-told PORT DATA
 *                                  the same, but the reset waits until our standard input ends:
 *                                  a test resets the client once the server has taken it.
 *   misbehave no-read PORT SECONDS send long lines for SECONDS without ever reading the
 *                                  replies; prints how many bytes it managed to send.
 *   misbehave stall PORT SECONDS   send 256 KB of long lines with a small segment size
 *                                  (TCP_MAXSEG 536), then stay connected until SECONDS are up,
 *                                  never reading: the server's send buffer for us stays small,
 *                                  so a server whose sockets block is stuck in send() within a
 *                                  second; and a server that reads until EAGAIN does get it.
 *   misbehave flood PORT BYTES SECONDS
 *                                  the same, but stops once BYTES are sent (or SECONDS are up,
 *                                  whichever comes first); prints `sent N of BYTES bytes`. A
 *                                  server with back-pressure stops reading it: N < BYTES.
 *   misbehave cycles PORT COUNT    COUNT connections, one after the other, each closed at once;
 *                                  every second one sends half a line ("Hol") first.
 *
 * Exit status 0 when it did what it was asked, 1 (with a message) when a call failed.
 */
#include "net.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int connect_to(int port, bool small_segments)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd == -1)
        die("socket");
    /* Loopback's 64 KB segments let the kernel grow the peer's send buffer to megabytes. */
    int segment = 536;
    if (small_segments && setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &segment, sizeof segment) == -1)
        die("setsockopt(TCP_MAXSEG)");
    /* A small receive buffer: a client that never reads fills it quickly. */
    int small = 4096;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small) == -1)
        die("setsockopt(SO_RCVBUF)");
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == -1)
        die("connect");
    return fd;
}

/* Decode printf-style escapes (\r \n \t \\ \xHH) in place; returns the decoded length. */
static size_t unescape(char *s)
{
    size_t out = 0;
    for (size_t i = 0; s[i] != '\0'; i++) {
        if (s[i] != '\\' || s[i + 1] == '\0') {
            s[out++] = s[i];
            continue;
        }
        char c = s[++i];
        if (c == 'r') {
            s[out++] = '\r';
        } else if (c == 'n') {
            s[out++] = '\n';
        } else if (c == 't') {
            s[out++] = '\t';
        } else if (c == 'x' && s[i + 1] != '\0' && s[i + 2] != '\0') {
            char hex[3] = {s[i + 1], s[i + 2], '\0'};
            s[out++] = (char)strtol(hex, NULL, 16);
            i += 2;
        } else {
            s[out++] = c;
        }
    }
    return out;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A number from the command line, from lo to hi; exits 2 with a message otherwise. */
static double number_arg(const char *text, double lo, double hi, const char *what)
{
    char *rest = NULL;
    double value = strtod(text, &rest);
    if (rest == text || *rest != '\0' || !(value > lo && value <= hi)) {
        fprintf(stderr, "misbehave: %s must be a number above %g, at most %g\n", what, lo, hi);
        exit(2);
    }
    return value;
}

/* Send 1024-byte lines on fd, never reading, until `limit` bytes are sent or `seconds` have
 * passed; returns how many bytes were sent. A server that closes on us is a failure (die). */
static unsigned long long send_unread(int fd, unsigned long long limit, double seconds)
{
    char line[1024];
    memset(line, 'x', sizeof line);
    line[sizeof line - 2] = '\r';
    line[sizeof line - 1] = '\n';
    set_nonblocking(fd); /* so that a full connection does not block us past the deadline */
    unsigned long long total = 0;
    double end = now() + seconds;
    while (now() < end && total < limit) {
        size_t chunk = sizeof line;
        if (limit - total < chunk)
            chunk = (size_t)(limit - total);
        ssize_t n = send(fd, line, chunk, 0);
        if (n == -1) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                struct timespec pause = {.tv_sec = 0, .tv_nsec = 10000000L}; /* 10 ms */
                nanosleep(&pause, NULL);
                continue;
            }
            die("send");
        }
        total += (unsigned long long)n;
    }
    return total;
}

int main(int argc, char **argv)
{
    server_init(1, argv); /* only for SIGPIPE and stdout; the port comes from argv[2] */
    bool flood = argc == 5 && strcmp(argv[1], "flood") == 0;
    if ((argc != 4 && !flood) || parse_port(argv[2]) < 0) {
        fprintf(stderr,
                "usage: misbehave reset|reset-when-told PORT DATA | misbehave no-read|stall PORT "
                "SECONDS\n"
                "       misbehave flood PORT BYTES SECONDS | misbehave cycles PORT COUNT\n");
        return 2;
    }
    bool stall = strcmp(argv[1], "stall") == 0;
    int fd = connect_to(parse_port(argv[2]), stall);

    bool when_told = strcmp(argv[1], "reset-when-told") == 0;
    if (strcmp(argv[1], "reset") == 0 || when_told) {
        size_t len = unescape(argv[3]);
        if (send_all(fd, argv[3], len) == -1)
            die("send");
        char byte;
        while (when_told && read(STDIN_FILENO, &byte, 1) > 0)
            ; /* until our input ends: the caller says when */
        /* Linger on, timeout 0: close() discards the connection with RST instead of FIN. */
        struct linger hard = {.l_onoff = 1, .l_linger = 0};
        if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard) == -1)
            die("setsockopt(SO_LINGER)");
        close(fd);
        return 0;
    }
    if (strcmp(argv[1], "no-read") == 0 || stall) {
        char *rest = NULL;
        double seconds = strtod(argv[3], &rest);
        if (rest == argv[3] || *rest != '\0' || !(seconds > 0 && seconds <= 3600)) {
            fprintf(stderr, "misbehave no-read: SECONDS must be a number above 0, at most 3600\n");
            return 2;
        }
        double end = now() + seconds;
        printf("sent %llu bytes\n", send_unread(fd, stall ? 256ULL * 1024 : ULLONG_MAX, seconds));
        while (stall && now() < end) {
            struct timespec pause = {.tv_sec = 0, .tv_nsec = 50000000L}; /* 50 ms */
            nanosleep(&pause, NULL);
        }
        close(fd);
        return 0;
    }
    if (flood) {
        unsigned long long bytes = (unsigned long long)number_arg(argv[3], 0, 1e12, "flood: BYTES");
        double seconds = number_arg(argv[4], 0, 3600, "flood: SECONDS");
        printf("sent %llu of %llu bytes\n", send_unread(fd, bytes, seconds), bytes);
        close(fd);
        return 0;
    }
    if (strcmp(argv[1], "cycles") == 0) {
        double wanted = number_arg(argv[3], 0, 1e6, "cycles: COUNT");
        long count = (long)wanted;
        if ((double)count != wanted) {
            fprintf(stderr, "misbehave cycles: COUNT must be a whole number\n");
            return 2;
        }
        for (long i = 0; i < count; i++) {
            if (i > 0)
                fd = connect_to(parse_port(argv[2]), false);
            if (i % 2 == 1 && send_all(fd, "Hol", 3) == -1)
                die("send");
            close(fd);
        }
        printf("%ld cycles\n", count);
        return 0;
    }
    fprintf(stderr, "misbehave: unknown mode '%s'\n", argv[1]);
    return 2;
}
