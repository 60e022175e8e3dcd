/*
 * 03-selectors/03-poll-lines.c - the same line echo server, on poll().
 *
 * Everything a connection does (the input buffer, the "\r\n" framing, the output queue, the
 * bound on line length) is exactly as in 02-select-lines.c: it lives in common/connection.c.
 * Only the readiness loop changes, and that is the lesson:
 *
 *   select()                              poll()
 *   two bitmaps of FD_SETSIZE bits,       one array of struct pollfd {fd, events, revents},
 *   rebuilt before every call             one entry per socket, as many as we like
 *   descriptors >= FD_SETSIZE: refused    no ceiling but the process's descriptor limit
 *   errors show up as "readable"          POLLERR / POLLHUP say so explicitly, and are
 *                                         reported even when we did not ask for them
 *
 * Both still cost O(number of sockets) per call: the kernel looks at every entry, and so do
 * we. 04-epoll-lines.c removes that.
 *
 * Run:    build/chapter-03/03-selectors/03-poll-lines [-q] [PORT]
 * Try:    printf 'Hola Mundo3\r\n\n' | nc -N localhost 8000     (echoed: the documents' case)
 *         { printf Ho; sleep 1; printf 'la\r\n'; } | nc -N localhost 8000  (one line: b'Hola\r\n')
 * Watch:  the same output as 02-select-lines, with 2000 clients as well as with 2.
 */
#include "connection.h"
#include "net.h"
#include "util.h"

#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

enum { READABLE = 1u, WRITABLE = 2u }; /* what a socket waits for, or is ready for */
#define WHY_MAX 96                     /* why a socket cannot be watched, for the message */

struct fired {
    int fd;
    unsigned events; /* READABLE and/or WRITABLE; an error or hang-up counts as both */
};

/* --- The readiness API: poll() -------------------------------------------------------------
 * One array of struct pollfd {fd, events, revents}, one entry per watched socket, as many as
 * we like. poll() leaves `events` alone and answers in `revents`, so the array is kept from
 * call to call; the kernel still looks at every entry, every time. */

static struct pollfd *fds; /* the watched sockets, in no particular order */
static nfds_t fd_count;    /* entries in use */
static nfds_t *slot;       /* slot[fd]: fd's index in fds, plus 1 (0: not watched) */

static void api_create(int fd_limit)
{
    fds = calloc((size_t)fd_limit, sizeof *fds);
    slot = calloc((size_t)fd_limit, sizeof *slot);
    if (fds == NULL || slot == NULL)
        die("calloc");
}

/* From now on fd waits for `events` (0: nothing for now). NULL: poll() can watch any
 * descriptor the process may open. */
static const char *api_watch(int fd, unsigned events)
{
    if (slot[fd] == 0) {
        fds[fd_count] = (struct pollfd){.fd = fd, .events = 0, .revents = 0};
        slot[fd] = ++fd_count;
    }
    fds[slot[fd] - 1].events =
        (short)(((events & READABLE) ? POLLIN : 0) | ((events & WRITABLE) ? POLLOUT : 0));
    return NULL;
}

/* fd is about to be closed: stop watching it. The last entry takes its place. */
static void api_forget(int fd)
{
    nfds_t i = slot[fd] - 1;
    fds[i] = fds[--fd_count];
    slot[fds[i].fd] = i + 1;
    slot[fd] = 0;
}

/* Sleep until a socket is ready, or for timeout_ms (-1: no limit); fired[] gets the ready
 * sockets, in the array's order. Returns how many. */
static int api_wait(int timeout_ms, struct fired *fired)
{
    int ready = poll(fds, fd_count, timeout_ms);
    if (ready == -1)
        die("poll"); /* (no EINTR: no signal handler here, see 01-blocking/01-accept.c) */
    int count = 0;
    for (nfds_t i = 0; i < fd_count && count < ready; i++) {
        /* POLLERR / POLLHUP: the next recv() or send() says what happened (end of file,
         * ECONNRESET, EPIPE), so they count as both; poll() reports them unasked. */
        short revents = fds[i].revents;
        unsigned events = ((revents & (POLLIN | POLLERR | POLLHUP)) ? READABLE : 0u) |
                          ((revents & (POLLOUT | POLLERR | POLLHUP)) ? WRITABLE : 0u);
        if (events != 0)
            fired[count++] = (struct fired){fds[i].fd, events};
    }
    return count;
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
