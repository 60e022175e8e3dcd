/*
 * 03-selectors/02-select-lines.c - the line echo done right, on select().
 *
 * What the documents wanted from the start: every line a client sends, "\r\n" included, comes
 * back whole and in order, whoever else is connected. 01-select-wait fixed the waiting; this
 * stage fixes the bytes. Each connection (common/connection.c) now keeps
 *   - an input buffer that survives between reads, searched for "\r\n" anywhere
 *     (common/lines.c): "Ho", a pause, then "la\r\n" is one line; two lines in one read are
 *     two lines; the documents' `echo -e "Hola Mundo3\r\n" | nc` is echoed at last;
 *   - an output queue: when send() takes only part of an echo, or nothing (EAGAIN: the
 *     client is not reading), the rest waits there and we ask select() for WRITABILITY too,
 *     instead of blocking or dropping bytes. While a client's replies pile up we stop reading
 *     from it (back-pressure), so its memory stays bounded: about 3 KB a client, whatever it does;
 *   - a bound on line length, 1024 bytes with the "\r\n": a client whose line is longer gets
 *     one error line and FIN; its socket is closed once it closes too (or after 1 s, if it
 *     goes on sending).
 * Every accepted socket is set non-blocking explicitly (accept_client): Linux does not pass
 * O_NONBLOCK on from the listening socket, some BSDs do.
 *
 * This file is only the readiness loop: build the fd_sets from what each connection wants,
 * select(), act on what is ready. 03-poll-lines.c and 04-epoll-lines.c are the same server,
 * with only that loop changed: read the three side by side.
 *
 * select()'s limit: an fd_set holds descriptors 0 .. FD_SETSIZE-1 (1024 on Linux) and
 * FD_SET() on a higher one writes outside it (undefined behaviour). A client whose descriptor
 * is too high is turned away with a message; everyone else is served.
 *
 * Run:    build/chapter-03/03-selectors/02-select-lines [-q] [PORT]
 * Try:    printf 'Hola Mundo3\r\n\n' | nc -N localhost 8000     (echoed: the documents' case)
 *         { printf Ho; sleep 1; printf 'la\r\n'; } | nc -N localhost 8000  (one line: b'Hola\r\n')
 * Watch:  one "Toda la data leida: b'...'" per line, whatever the pieces were; -q hides them.
 */
#include "connection.h"
#include "net.h"
#include "util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/select.h>

static struct connection *clients[FD_SETSIZE]; /* by descriptor: select() knows no others */
static long long accept_paused_until;          /* see ACCEPT_BACK_OFF below */

/* The listening socket is readable: accept everyone who is waiting. */
static void accept_clients(int server_socket)
{
    enum accept_status status;
    struct connection *c;
    while ((c = connection_accept(server_socket, &status)) != NULL) {
        if (c->fd >= FD_SETSIZE) { /* never FD_SET() it: refuse it and go on */
            char why[96];
            snprintf(why, sizeof why,
                     "descriptor %d >= FD_SETSIZE (%d), select() no puede vigilarlo", c->fd,
                     FD_SETSIZE);
            connection_refuse(c, why);
            continue;
        }
        clients[c->fd] = c;
    }
    /* Out of descriptors (EMFILE, already reported): the listening socket stays readable, so
     * watching it now would wake us at once, fail again, and spin. Leave it out a moment. */
    if (status == ACCEPT_BACK_OFF)
        accept_paused_until = monotonic_ms() + ACCEPT_BACKOFF_MS;
}

int main(int argc, char **argv)
{
    int port = server_init(argc, argv);
    raise_fd_limit(); /* beyond 1024 descriptors: FD_SETSIZE, not the ulimit, is our limit */
    int server_socket = listen_tcp(port);
    set_nonblocking(server_socket); /* accept() until EAGAIN, never waiting in it */

    for (;;) {
        /* 1. Tell select() what each socket waits for: the listening socket for a client to
         *    accept (unless paused), each connection for what it wants now. */
        fd_set readable, writable;
        FD_ZERO(&readable);
        FD_ZERO(&writable);
        int max_fd = -1;
        bool paused = monotonic_ms() < accept_paused_until;
        if (!paused) {
            FD_SET(server_socket, &readable);
            max_fd = server_socket;
        }
        for (int fd = 0; fd < FD_SETSIZE; fd++) {
            if (clients[fd] == NULL)
                continue;
            if (connection_wants_read(clients[fd]))
                FD_SET(fd, &readable);
            if (connection_wants_write(clients[fd]))
                FD_SET(fd, &writable);
            if (fd > max_fd)
                max_fd = fd;
        }

        /* 2. Sleep until something is ready (no time-out: nothing to do until then). */
        struct timeval pause = {.tv_sec = 0, .tv_usec = ACCEPT_BACKOFF_MS * 1000L};
        int ready = select(max_fd + 1, &readable, &writable, NULL, paused ? &pause : NULL);
        if (ready == -1) {
            if (errno == EINTR)
                continue;
            die("select");
        }

        /* 3. Act on what is ready. Accept first: a new client's descriptor was not open when
         *    select() returned, so no bit below can belong to it. */
        if (!paused && FD_ISSET(server_socket, &readable))
            accept_clients(server_socket);
        for (int fd = 0; fd < FD_SETSIZE; fd++) {
            struct connection *c = clients[fd];
            if (c == NULL)
                continue;
            if (FD_ISSET(fd, &readable))
                connection_read(c, echo_line);
            if (FD_ISSET(fd, &writable))
                connection_write(c);
            if (connection_done(c)) {
                clients[fd] = NULL;
                connection_close(c);
            }
        }
    }
}
