/* net.c - socket set-up and sending shared by the stages (see net.h). */
#include "net.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
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

/* The network errors of the new connection that Linux's accept() passes on, which accept(2)
 * says to treat "like EAGAIN by retrying" (ENETDOWN ... ENETUNREACH, its whole list), and
 * EPERM (a firewall rule refused the connection). */
static bool is_network_error(int err)
{
    switch (err) {
    case ENETDOWN:
    case EPROTO:
    case ENOPROTOOPT:
#ifdef EHOSTDOWN
    case EHOSTDOWN:
#endif
#ifdef ENONET
    case ENONET:
#endif
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
    case EPERM:
    case ETIMEDOUT:
        return true;
    default:
        return false;
    }
}

static long long last_shortage = -1000000; /* when accept() last ran short (monotonic_ms) */

enum accept_result accept_failed(int err)
{
    if (err == EAGAIN || err == EWOULDBLOCK)
        return ACCEPT_NOBODY;
    if (err == EINTR || err == ECONNABORTED || is_network_error(err))
        return ACCEPT_RETRY; /* that one client is lost (or was never there): the next may be fine */
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        /* Until a descriptor is free every accept() fails again: one line a second is enough
         * to say so, without flooding the terminal (or a log) with the same line. */
        static long long last_report = -1000000;
        long long now = monotonic_ms();
        if (now - last_report >= 1000) {
            warn_call("accept", err);
            last_report = now;
        }
        last_shortage = now;
        errno = err;
        return ACCEPT_SHORTAGE;
    }
    errno = err;
    die("accept");
}

int accept_nonblocking(int listener, struct sockaddr_in *address, enum accept_result *result)
{
    for (;;) {
        socklen_t address_len = sizeof *address;
        int fd = accept(listener, (struct sockaddr *)address, &address_len);
        if (fd != -1) {
            set_nonblocking(fd);
            *result = ACCEPT_OK;
            return fd;
        }
        *result = accept_failed(errno); /* (dies on an error that is the server's bug) */
        if (*result != ACCEPT_RETRY)
            return -1;
    }
}

int accept_blocking(int listener, struct sockaddr_in *address)
{
    for (;;) {
        socklen_t address_len = sizeof *address;
        int fd = accept(listener, (struct sockaddr *)address, &address_len);
        if (fd != -1)
            return fd;
        enum accept_result result = accept_failed(errno); /* (dies on the server's bugs) */
        if (result == ACCEPT_SHORTAGE)
            return -1;
        if (result == ACCEPT_NOBODY)
            die("accept"); /* errno: still EAGAIN */
    }
}

int accept_backoff_left(void)
{
    long long left = last_shortage + ACCEPT_BACKOFF_MS - monotonic_ms();
    return left > 0 ? (int)left : 0;
}

int raise_fd_limit(void)
{
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == -1) {
        warn_call("getrlimit(RLIMIT_NOFILE)", errno);
        return FD_SETSIZE; /* a guess: the usual soft limit */
    }
    rlim_t wanted = limit.rlim_max;
#ifdef OPEN_MAX
    /* macOS: the hard limit says "unlimited", but setrlimit() refuses more than OPEN_MAX. */
    if (wanted == RLIM_INFINITY || wanted > OPEN_MAX)
        wanted = OPEN_MAX;
#endif
    if (wanted == RLIM_INFINITY || wanted > FD_LIMIT_MAX)
        wanted = FD_LIMIT_MAX; /* a table by descriptor stays a few MB at most */
    /* The hard limit too: then nobody (without privileges) can raise the soft limit from
     * outside later (prlimit), and no descriptor can ever reach the limit returned. */
    if (limit.rlim_cur != wanted || limit.rlim_max != wanted) {
        struct rlimit fixed = {.rlim_cur = wanted, .rlim_max = wanted};
        if (setrlimit(RLIMIT_NOFILE, &fixed) == 0)
            limit = fixed;
        else
            warn_call("setrlimit(RLIMIT_NOFILE)", errno); /* keep going with the old limit */
    }
    return limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur > FD_LIMIT_MAX ? FD_LIMIT_MAX
                                                                            : (int)limit.rlim_cur;
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

/* What a refused client reads before we close: one line, so that it knows why. */
#define REFUSED_REPLY "Error: servidor lleno, intente más tarde\r\n"

void refuse_client(int fd, const char *who, const char *why)
{
    /* Best effort: one send() on a fresh socket always has room for one short line, and a
     * client that has already gone (EPIPE, ECONNRESET) needs no reason. */
    if (send(fd, REFUSED_REPLY, sizeof REFUSED_REPLY - 1, 0) == -1 && errno != EAGAIN &&
        errno != EWOULDBLOCK && errno != EPIPE && errno != ECONNRESET)
        warn_call("send", errno);
    printf("Cliente %s rechazado: %s\n", who, why);
    close(fd);
}

void format_address(const struct sockaddr_in *addr, char out[ADDRESS_TEXT_MAX])
{
    char ip[INET_ADDRSTRLEN];
    if (inet_ntop(AF_INET, &addr->sin_addr, ip, sizeof ip) == NULL)
        snprintf(ip, sizeof ip, "?");
    snprintf(out, ADDRESS_TEXT_MAX, "('%s', %u)", ip, (unsigned)ntohs(addr->sin_port));
}
