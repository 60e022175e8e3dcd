/*
 * misbehave.c - the clients nc cannot imitate, for the tests and the demo.
 *
 *   misbehave reset PORT DATA      send DATA (printf-style \r \n \xHH escapes), then reset the
 *                                  connection (RST, via SO_LINGER 0) instead of closing it.
 *   misbehave no-read PORT SECONDS send long lines for SECONDS without ever reading the
 *                                  replies; prints how many bytes it managed to send.
 *
 * Exit status 0 when it did what it was asked, 1 (with a message) when a call failed.
 */
#include "net.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd == -1)
        die("socket");
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

int main(int argc, char **argv)
{
    server_init(1, argv); /* only for SIGPIPE and stdout; the port comes from argv[2] */
    if (argc != 4 || parse_port(argv[2]) < 0) {
        fprintf(stderr, "usage: misbehave reset PORT DATA | misbehave no-read PORT SECONDS\n");
        return 2;
    }
    int fd = connect_to(parse_port(argv[2]));

    if (strcmp(argv[1], "reset") == 0) {
        size_t len = unescape(argv[3]);
        if (send_all(fd, argv[3], len) == -1)
            die("send");
        /* Linger on, timeout 0: close() discards the connection with RST instead of FIN. */
        struct linger hard = {.l_onoff = 1, .l_linger = 0};
        if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard) == -1)
            die("setsockopt(SO_LINGER)");
        close(fd);
        return 0;
    }
    if (strcmp(argv[1], "no-read") == 0) {
        char *rest = NULL;
        double seconds = strtod(argv[3], &rest);
        if (rest == argv[3] || *rest != '\0' || !(seconds > 0 && seconds <= 3600)) {
            fprintf(stderr, "misbehave no-read: SECONDS must be a number above 0, at most 3600\n");
            return 2;
        }
        char line[1024];
        memset(line, 'x', sizeof line);
        line[sizeof line - 2] = '\r';
        line[sizeof line - 1] = '\n';
        set_nonblocking(fd); /* so that a full connection does not block us past the deadline */
        unsigned long long total = 0;
        double end = now() + seconds;
        while (now() < end) {
            ssize_t n = send(fd, line, sizeof line, 0);
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
        printf("sent %llu bytes\n", total);
        close(fd);
        return 0;
    }
    fprintf(stderr, "misbehave: unknown mode '%s'\n", argv[1]);
    return 2;
}
