/*
 * 03-selectors/04-epoll-lines.c - the same line echo server, on epoll. LINUX ONLY.
 *
 * (epoll is Linux's; on other systems `make` skips this file and says so. The BSDs and macOS
 * have kqueue for the same job; Python's selectors.DefaultSelector picks whichever exists.)
 *
 * Everything a connection does is exactly as in 02-select-lines.c and 03-poll-lines.c
 * (common/connection.c). Only the readiness loop changes:
 *
 *   select() / poll()                        epoll
 *   we hand the kernel the whole list of     the kernel KEEPS the list (epoll_ctl: add,
 *   sockets on every call, and it checks     change, remove, once per change), and
 *   every one of them: O(all clients)         epoll_wait() returns only the sockets that
 *                                             are ready: O(ready clients)
 *   we look up the connection by position    each event carries our pointer to the
 *                                             connection (data.ptr)
 *
 * With 10,000 connected clients of which 3 are talking, poll() looks at 10,000 entries per
 * call and epoll_wait() hands back 3. Nothing here has a fixed size: connections are
 * allocated one by one, and the descriptor limit is raised to its maximum at start-up.
 *
 * We use epoll's default, level-triggered mode: a socket with unread bytes is reported again
 * on the next wait, just as with select() and poll(), so one recv() per report is enough.
 *
 * Run:    build/chapter-03/03-selectors/04-epoll-lines [-q] [PORT]
 * Try:    printf 'Hola Mundo3\r\n\n' | nc -N localhost 8000     (echoed: the documents' case)
 *         build/tools/many-clients -n 10000 8000                     (10,000 clients at once)
 * Watch:  the same output as 02-select-lines; with -q, 10,000 clients served in a second or so.
 */
#include "connection.h"
#include "net.h"
#include "util.h"

#include <errno.h>
#include <stdbool.h>
#include <sys/epoll.h>

#define MAX_EVENTS 256 /* ready sockets taken per epoll_wait(); the rest wait for the next */

static int epoll_fd;
static long long accept_paused_until; /* see ACCEPT_BACK_OFF below */

/* Tell epoll what c waits for now, if that changed since we last told it. */
static void update_interest(struct connection *c)
{
    unsigned events =
        (connection_wants_read(c) ? EPOLLIN : 0u) | (connection_wants_write(c) ? EPOLLOUT : 0u);
    if (events == c->watched)
        return;
    struct epoll_event event = {.events = events, .data.ptr = c};
    if (epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c->fd, &event) == -1)
        die("epoll_ctl(EPOLL_CTL_MOD)");
    c->watched = events;
}

/* The listening socket is readable: accept everyone who is waiting. */
static void accept_clients(int server_socket)
{
    enum accept_status status;
    struct connection *c;
    while ((c = connection_accept(server_socket, &status)) != NULL) {
        c->watched = EPOLLIN;
        struct epoll_event event = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, c->fd, &event) == -1) {
            warn_call("epoll_ctl(EPOLL_CTL_ADD)", errno); /* ENOMEM, ENOSPC: too many */
            connection_close(c);
        }
    }
    /* Out of descriptors (EMFILE, already reported): the listening socket stays readable, so
     * watching it now would wake us at once, fail again, and spin. Leave it out a moment. */
    if (status == ACCEPT_BACK_OFF) {
        if (epoll_ctl(epoll_fd, EPOLL_CTL_DEL, server_socket, NULL) == -1)
            die("epoll_ctl(EPOLL_CTL_DEL)");
        accept_paused_until = monotonic_ms() + ACCEPT_BACKOFF_MS;
    }
}

/* Watch the listening socket; its events carry a NULL pointer (no connection). */
static void watch_server_socket(int server_socket)
{
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, server_socket, &event) == -1)
        die("epoll_ctl(EPOLL_CTL_ADD)");
}

int main(int argc, char **argv)
{
    int port = server_init(argc, argv);
    raise_fd_limit(); /* 10,000 clients are 10,000 descriptors; the usual soft limit is 1024 */
    int server_socket = listen_tcp(port);
    set_nonblocking(server_socket); /* accept() until EAGAIN, never waiting in it */

    epoll_fd = epoll_create1(0);
    if (epoll_fd == -1)
        die("epoll_create1");
    watch_server_socket(server_socket);

    for (;;) {
        /* 1. Nothing to rebuild: epoll already knows what each socket waits for. Only the
         *    paused listening socket needs a time-out, and to come back when it is over. */
        int timeout = -1;
        if (accept_paused_until != 0) {
            long long left = accept_paused_until - monotonic_ms();
            if (left <= 0) {
                watch_server_socket(server_socket);
                accept_paused_until = 0;
            } else {
                timeout = (int)left;
            }
        }

        /* 2. Sleep until something is ready; get only the ready ones. */
        struct epoll_event events[MAX_EVENTS];
        int ready = epoll_wait(epoll_fd, events, MAX_EVENTS, timeout);
        if (ready == -1) {
            if (errno == EINTR)
                continue;
            die("epoll_wait");
        }

        /* 3. Act on what is ready. Each socket appears at most once per epoll_wait(), and
         *    only its own event can close it, so no pointer below is stale. */
        for (int i = 0; i < ready; i++) {
            struct connection *c = events[i].data.ptr;
            if (c == NULL) {
                accept_clients(server_socket);
                continue;
            }
            /* EPOLLERR / EPOLLHUP: the next recv() or send() tells us what happened (end of
             * file, ECONNRESET, EPIPE), so they count as readable and writable. */
            if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                connection_read(c, echo_line);
            if (events[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
                connection_write(c);
            if (connection_done(c))
                connection_close(c); /* closing the socket also removes it from epoll */
            else
                update_interest(c);
        }
    }
}
