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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>

enum { READABLE = 1u, WRITABLE = 2u }; /* what a socket waits for, or is ready for */
#define WHY_MAX 96                     /* why a socket cannot be watched, for the message */

struct fired {
    int fd;
    unsigned events; /* READABLE and/or WRITABLE; an error or hang-up counts as both */
};

/* --- The readiness API: epoll ---------------------------------------------------------------
 * The kernel KEEPS the list of watched sockets (epoll_ctl: add, change, once per change, and
 * closing a socket removes it), and epoll_wait() returns only the ready ones: O(ready), not
 * O(watched). Level-triggered, epoll's default: a socket with unread bytes is reported again
 * on the next wait, just as with select() and poll(). */

#define MAX_EVENTS 256 /* ready sockets taken per epoll_wait(); the rest wait for the next */
#define ADDED 4u       /* in watching[]: fd is in the epoll set */

static int epoll_fd;
static unsigned *watching;                    /* watching[fd]: what epoll was told, and ADDED */
static struct epoll_event events[MAX_EVENTS]; /* epoll_wait()'s answer */

static void api_create(int fd_limit)
{
    epoll_fd = epoll_create1(0);
    if (epoll_fd == -1)
        die("epoll_create1");
    watching = calloc((size_t)fd_limit, sizeof *watching);
    if (watching == NULL)
        die("calloc");
}

/* From now on fd waits for `events` (0: nothing for now): one epoll_ctl() if that changed.
 * NULL, or why the kernel refuses (ENOMEM, ENOSPC: too many watched sockets). */
static const char *api_watch(int fd, unsigned events)
{
    if (watching[fd] == (events | ADDED))
        return NULL;
    struct epoll_event event = {.events = ((events & READABLE) ? EPOLLIN : 0u) |
                                          ((events & WRITABLE) ? EPOLLOUT : 0u),
                                .data.fd = fd};
    if (epoll_ctl(epoll_fd, watching[fd] ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &event) == -1) {
        static char why[WHY_MAX];
        snprintf(why, sizeof why, "epoll_ctl: %s", errno_name(errno));
        return why;
    }
    watching[fd] = events | ADDED;
    return NULL;
}

/* fd is about to be closed: closing it takes it out of the epoll set. */
static void api_forget(int fd)
{
    watching[fd] = 0;
}

/* Sleep until a socket is ready, or for timeout_ms (-1: no limit); fired[] gets the ready
 * sockets, each once. Returns how many. */
static int api_wait(int timeout_ms, struct fired *fired)
{
    int ready = epoll_wait(epoll_fd, events, MAX_EVENTS, timeout_ms);
    if (ready == -1) {
        if (errno == EINTR) /* even with no signal handler: after Ctrl-Z and fg, Linux ends */
            return 0;       /* epoll_wait() with EINTR (signal(7)); select() and poll() go on */
        die("epoll_wait");
    }
    for (int i = 0; i < ready; i++) {
        /* EPOLLERR / EPOLLHUP: the next recv() or send() says what happened (end of file,
         * ECONNRESET, EPIPE), so they count as both; epoll reports them unasked. */
        uint32_t e = events[i].events;
        fired[i] = (struct fired){events[i].data.fd,
                                  ((e & (EPOLLIN | EPOLLERR | EPOLLHUP)) ? READABLE : 0u) |
                                      ((e & (EPOLLOUT | EPOLLERR | EPOLLHUP)) ? WRITABLE : 0u)};
    }
    return ready;
}

/* --- The server: the same in 03-poll-lines.c and 04-epoll-lines.c --------------------------- */

static struct connection **clients; /* clients[fd]: the connection on descriptor fd, or NULL */
static struct fired *fired;         /* what api_wait() found ready */

/* What c waits for now. */
static unsigned wanted(const struct connection *c)
{
    return (connection_wants_read(c) ? READABLE : 0u) | (connection_wants_write(c) ? WRITABLE : 0u);
}

/* The listening socket is readable: accept everyone who is waiting, watch them (or turn away
 * one that the readiness API cannot watch, saying why). */
static void accept_clients(int server_socket)
{
    enum accept_result result;
    struct connection *c;
    while ((c = connection_accept(server_socket, &result)) != NULL) {
        const char *why = api_watch(c->fd, wanted(c));
        if (why == NULL)
            clients[c->fd] = c;
        else
            connection_refuse(c, why);
    }
}

/* c's socket is ready: serve it, then watch what it waits for next, or close it. */
static void serve_client(struct connection *c, unsigned events)
{
    if (events & READABLE)
        connection_read(c, echo_line);
    if (events & WRITABLE)
        connection_write(c);
    bool done = connection_done(c);
    const char *why = done ? NULL : api_watch(c->fd, wanted(c));
    if (!done && why == NULL)
        return;
    api_forget(c->fd);
    clients[c->fd] = NULL;
    if (done)
        connection_close(c);
    else
        connection_refuse(c, why);
}

int main(int argc, char **argv)
{
    int port = server_init(argc, argv);
    int fd_limit = raise_fd_limit(); /* one descriptor per client: not just the usual 1024 */
    int server_socket = listen_tcp(port);
    set_nonblocking(server_socket); /* accept() until EAGAIN, never waiting in it */

    clients = calloc((size_t)fd_limit, sizeof *clients);
    fired = calloc((size_t)fd_limit, sizeof *fired);
    if (clients == NULL || fired == NULL)
        die("calloc");
    api_create(fd_limit);
    const char *why = api_watch(server_socket, READABLE);
    if (why != NULL)
        die_msg(why); /* an inherited descriptor table may put even the listener out of reach */

    for (;;) {
        /* Out of descriptors (EMFILE): the client waits in the listen queue, so the listening
         * socket stays readable; watching it now would wake us at once, and spin. */
        int backoff = accept_backoff_left();
        api_watch(server_socket, backoff > 0 ? 0u : READABLE);

        /* Sleep until something is ready (no time-out, unless paused: nothing to do till then). */
        int ready = api_wait(backoff > 0 ? backoff : -1, fired);

        /* Act on what is ready. A socket closed here cannot come back in this round: only
         * accept_clients() opens new ones, and it runs before any client of fired[] is served
         * (select: the listener has the lowest descriptor; poll: the first entry), or each
         * socket is in fired[] at most once (epoll). */
        for (int i = 0; i < ready; i++) {
            if (fired[i].fd == server_socket)
                accept_clients(server_socket);
            else if (clients[fired[i].fd] != NULL)
                serve_client(clients[fired[i].fd], fired[i].events);
        }
    }
}
