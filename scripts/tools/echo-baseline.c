/*
 * echo-baseline.c - the machine's limit, for make bench: the least CPU an echo server can
 * spend per line. NOT a stage: it teaches nothing and frames no lines. LINUX ONLY (epoll).
 *
 *   echo-baseline [PORT]      PORT: the argument, else $PORT, else 8000; 127.0.0.1 only
 *
 * One level-triggered epoll loop; for a readable client, one recv() and one send() of the same
 * bytes. Echoing bytes as they come echoes every line unchanged, whatever it holds (binary,
 * NUL bytes, any length), so there is nothing to frame and no line limit to enforce: the CPU a
 * stage spends above this server's, per echoed line, is the stage's own bookkeeping, the rest
 * is the kernel's TCP work that every echo server pays.
 *
 * A client that does not read its echoes: what send() cannot take waits in that client's
 * pending bytes, and the server stops reading from it (it waits for EPOLLOUT only) until they
 * are out. So its memory stays bounded by one read, and everyone else goes on being served.
 * Nothing is printed per client (printing would be measured); a client that resets or goes
 * away unread gets one line on stderr, and a failed call of the server's own ends it.
 */
#include "net.h"
#include "util.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_BYTES 16384 /* one recv(): many lines at once when a client has sent many */
#define MAX_EVENTS 256

struct pending { /* echo bytes send() has not taken yet (NULL: none) */
    char *bytes;
    size_t len, off;
};

static int epoll_fd;
static struct pending *pending; /* pending[fd] */

static int try_watch(int fd, int op, uint32_t events)
{
    struct epoll_event event = {.events = events, .data.fd = fd};
    return epoll_ctl(epoll_fd, op, fd, &event);
}
static void watch(int fd, int op, uint32_t events)
{
    if (try_watch(fd, op, events) == -1)
        die("epoll_ctl");
}

/* Closing the socket takes it out of the epoll set. */
static void drop(int fd)
{
    free(pending[fd].bytes);
    pending[fd] = (struct pending){NULL, 0, 0};
    close(fd);
}

/* Send len bytes to fd; keep what does not fit and wait until fd is writable for it.
 * Returns -1 (the client is dropped, with a message) if the client has gone. */
static int echo(int fd, const char *bytes, size_t len)
{
    ssize_t sent = send(fd, bytes, len, 0);
    if (sent == -1) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            warn_call("send", errno); /* EPIPE, ECONNRESET: gone without reading */
            drop(fd);
            return -1;
        }
        sent = 0;
    }
    if ((size_t)sent == len)
        return 0;
    struct pending *p = &pending[fd];
    if (p->bytes == NULL) { /* a first short send: keep the rest, stop reading */
        p->bytes = malloc(len - (size_t)sent);
        if (p->bytes == NULL)
            die("malloc");
        memcpy(p->bytes, bytes + sent, len - (size_t)sent);
        p->len = len - (size_t)sent;
        p->off = 0;
        watch(fd, EPOLL_CTL_MOD, EPOLLOUT);
    } else {
        p->off += (size_t)sent;
    }
    return 0;
}

/* fd is ready (readable, writable, an error or a hang-up: recv() or send() says which). */
static void serve(int fd)
{
    static char buf[READ_BYTES];
    struct pending *p = &pending[fd];
    if (p->bytes != NULL) { /* waiting to send: an error or hang-up shows up in send() */
        if (echo(fd, p->bytes + p->off, p->len - p->off) == -1 || p->off < p->len)
            return;
        free(p->bytes);
        *p = (struct pending){NULL, 0, 0};
        watch(fd, EPOLL_CTL_MOD, EPOLLIN); /* all out: read again */
        return;
    }
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n == -1) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        warn_call("recv", errno); /* ECONNRESET */
        drop(fd);
        return;
    }
    if (n == 0) { /* the client is done: what it sent has been echoed */
        drop(fd);
        return;
    }
    echo(fd, buf, (size_t)n);
}

int main(int argc, char **argv)
{
    int port = server_init(argc, argv);
    int fd_limit = raise_fd_limit();
    int listener = listen_tcp(port);
    set_nonblocking(listener);
    pending = calloc((size_t)fd_limit, sizeof *pending);
    if (pending == NULL)
        die("calloc");
    epoll_fd = epoll_create1(0);
    if (epoll_fd == -1)
        die("epoll_create1");
    watch(listener, EPOLL_CTL_ADD, EPOLLIN);

    static struct epoll_event events[MAX_EVENTS];
    int listening = 1;
    for (;;) {
        /* Out of descriptors: the client waits in the listen queue and the listener stays
         * readable; watching it would wake us at once, and spin. Left out for a while. */
        int backoff = accept_backoff_left();
        if (listening != (backoff == 0)) {
            listening = backoff == 0;
            watch(listener, EPOLL_CTL_MOD, listening ? EPOLLIN : 0);
        }
        int ready = epoll_wait(epoll_fd, events, MAX_EVENTS, backoff > 0 ? backoff : -1);
        if (ready == -1) {
            if (errno == EINTR) /* stopped and continued (Ctrl-Z, fg): Linux ends the wait */
                continue;
            die("epoll_wait");
        }
        for (int i = 0; i < ready; i++) {
            int fd = events[i].data.fd;
            if (fd != listener) {
                serve(fd);
                continue;
            }
            struct sockaddr_in address;
            enum accept_result result;
            int client;
            while ((client = accept_nonblocking(listener, &address, &result)) != -1)
                if (try_watch(client, EPOLL_CTL_ADD, EPOLLIN) == -1) {
                    warn_call("epoll_ctl", errno); /* ENOSPC, ENOMEM: this one is turned away */
                    close(client);
                }
        }
    }
}
