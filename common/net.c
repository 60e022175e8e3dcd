/* net.c - socket set-up and sending shared by the stages (see net.h). */
#include "net.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct sockaddr_in loopback_address(int port)
{
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* 127.0.0.1: reachable from this machine only */
    return addr;
}

int listen_tcp(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd == -1)
        die("socket");

    /* Let a restarted server bind the port at once, even while old connections linger in
     * TIME_WAIT; without it bind() can fail with EADDRINUSE for a minute or so. */
    int on = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == -1)
        die("setsockopt(SO_REUSEADDR)");

    struct sockaddr_in addr = loopback_address(port);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) == -1)
        die("bind");

    if (listen(fd, SOMAXCONN) == -1)
        die("listen");
    return fd;
}

enum accept_failure accept_failed(int err)
{
    if (err == EAGAIN || err == EWOULDBLOCK)
        return ACCEPT_NOBODY;
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        /* Until a descriptor is free every accept() fails again: one line a second is enough
         * to say so, without flooding the terminal (or a log) with the same line. */
        static long long last_report = -1000000;
        long long now = monotonic_ms();
        if (now - last_report >= 1000) {
            warn_call("accept", err);
            last_report = now;
        }
        return ACCEPT_SHORTAGE;
    }
    /* Linux also passes on here a network error of the new connection (EPROTO, ENETDOWN,
     * EHOSTUNREACH...): that one client is lost, the next may be fine. */
    if (err == EINTR || err == ECONNABORTED || err == EPROTO || err == ENETDOWN ||
        err == ENETUNREACH || err == EHOSTUNREACH || err == ENOPROTOOPT || err == EOPNOTSUPP ||
        err == EPERM || err == ETIMEDOUT)
        return ACCEPT_RETRY;
    errno = err;
    die("accept");
}

void set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags == -1 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
        die("fcntl(O_NONBLOCK)");
}

int send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, 0);
        if (n == -1) {
            if (errno == EINTR)
                continue; /* a signal arrived before anything was sent: just try again */
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

void format_address(const struct sockaddr_in *addr, char out[ADDRESS_TEXT_MAX])
{
    char ip[INET_ADDRSTRLEN];
    if (inet_ntop(AF_INET, &addr->sin_addr, ip, sizeof ip) == NULL)
        snprintf(ip, sizeof ip, "?");
    snprintf(out, ADDRESS_TEXT_MAX, "('%s', %u)", ip, (unsigned)ntohs(addr->sin_port));
}
