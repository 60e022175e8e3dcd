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

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>

/* fds[0] is the listening socket; fds[i] and clients[i] (i >= 1) are one connection. */
static struct pollfd *fds;
static struct connection **clients;
static size_t count = 1, capacity;
static long long accept_paused_until; /* see ACCEPT_BACK_OFF below */

/* Append c to the arrays, growing them as needed. */
static bool add_client(struct connection *c)
{
    if (count == capacity) {
        size_t bigger = capacity * 2;
        struct pollfd *more_fds = realloc(fds, bigger * sizeof *fds);
        if (more_fds == NULL)
            return false;
        fds = more_fds;
        /* an array of pointers: sizeof *clients is the size of one pointer, as meant */
        struct connection **more_clients =
            realloc(clients, bigger * sizeof *clients); // NOLINT(bugprone-sizeof-expression)
        if (more_clients == NULL)
            return false;
        clients = more_clients;
        capacity = bigger;
    }
    fds[count] = (struct pollfd){.fd = c->fd, .events = 0, .revents = 0};
    clients[count] = c;
    count++;
    return true;
}

/* Close connection i; the last one moves into its place. */
static void remove_client(size_t i)
{
    connection_close(clients[i]);
    count--;
    fds[i] = fds[count];
    clients[i] = clients[count];
}

/* The listening socket is readable: accept everyone who is waiting. */
static void accept_clients(int server_socket)
{
    enum accept_status status;
    struct connection *c;
    while ((c = connection_accept(server_socket, &status)) != NULL) {
        if (!add_client(c)) {
            warn_call("realloc", ENOMEM);
            connection_close(c);
        }
    }
    /* Out of descriptors (EMFILE, already reported): the listening socket stays readable, so
     * watching it now would wake us at once, fail again, and spin. Leave it out a moment. */
    if (status == ACCEPT_BACK_OFF)
        accept_paused_until = monotonic_ms() + ACCEPT_BACKOFF_MS;
}

int main(int argc, char **argv)
{
    int port = server_init(argc, argv);
    raise_fd_limit(); /* poll() has no FD_SETSIZE: the descriptor limit is our only ceiling */
    int server_socket = listen_tcp(port);
    set_nonblocking(server_socket); /* accept() until EAGAIN, never waiting in it */

    capacity = 64;
    fds = malloc(capacity * sizeof *fds);
    /* an array of pointers: sizeof *clients is the size of one pointer, as meant */
    clients = malloc(capacity * sizeof *clients); // NOLINT(bugprone-sizeof-expression)
    if (fds == NULL || clients == NULL)
        die("malloc");

    for (;;) {
        /* 1. Tell poll() what each socket waits for: the listening socket for a client to
         *    accept (unless paused: poll() skips a negative fd), each connection for what it
         *    wants now. */
        bool paused = monotonic_ms() < accept_paused_until;
        fds[0] = (struct pollfd){.fd = paused ? -1 : server_socket, .events = POLLIN};
        for (size_t i = 1; i < count; i++) {
            fds[i].events = (short)((connection_wants_read(clients[i]) ? POLLIN : 0) |
                                    (connection_wants_write(clients[i]) ? POLLOUT : 0));
            fds[i].revents = 0;
        }

        /* 2. Sleep until something is ready (no time-out: nothing to do until then). */
        int ready = poll(fds, (nfds_t)count, paused ? ACCEPT_BACKOFF_MS : -1);
        if (ready == -1) {
            if (errno == EINTR)
                continue;
            die("poll");
        }

        /* 3. Act on what is ready. New clients are appended after `before`, with revents 0.
         *    We walk down, so a removal only moves an entry we have already seen into i. */
        size_t before = count;
        if (fds[0].revents & POLLIN)
            accept_clients(server_socket);
        for (size_t i = before - 1; i >= 1; i--) {
            short revents = fds[i].revents;
            /* POLLERR / POLLHUP: the next recv() or send() tells us what happened (end of
             * file, ECONNRESET, EPIPE), so they count as readable and writable. */
            if (revents & (POLLIN | POLLERR | POLLHUP))
                connection_read(clients[i], echo_line);
            if (revents & (POLLOUT | POLLERR | POLLHUP))
                connection_write(clients[i]);
            if (connection_done(clients[i]))
                remove_client(i);
        }
    }
}
