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
 * Every accepted socket is set non-blocking explicitly (accept_nonblocking): Linux does not pass
 * O_NONBLOCK on from the listening socket, some BSDs do.
 *
 * This file is only the readiness loop, in two parts. The first, "the readiness API", is the
 * only code that talks to select(): api_create(), api_watch() (what a socket waits for),
 * api_forget() and api_wait() (sleep, then say which sockets are ready). The second, the
 * server, uses nothing but those four, with one table of clients by descriptor. In
 * 03-poll-lines.c and 04-epoll-lines.c the second part is the very same code, and the first
 * is poll's and epoll's (redis's event library is built the same way): `make diff
 * STAGE=03-selectors/03-poll-lines` shows that the readiness calls are all that changes.
 *
 * select()'s limit: an fd_set holds descriptors 0 .. FD_SETSIZE-1 (1024 on Linux) and
 * FD_SET() on a higher one writes outside it (undefined behaviour). A client whose descriptor
 * is too high is turned away with a line saying why; everyone else is served.
 *
 * And what a server of many clients needs, which 01-select-wait left for now: the descriptor
 * limit raised to its maximum (raise_fd_limit: one descriptor per client, and poll and epoll
 * take this very code past 1024), and, out of descriptors (EMFILE), the listening socket left
 * out of the wait for a moment (accept_backoff_left) instead of a loop that spins on it.
 *
 * Run:    build/chapter-03/03-selectors/02-select-lines [-q] [PORT]
 * Try:    printf 'Hola Mundo3\r\n\n' | nc -N localhost 8000     (echoed: the documents' case)
 *         { printf Ho; sleep 1; printf 'la\r\n'; } | nc -N localhost 8000  (one line: b'Hola\r\n')
 * Watch:  one "Toda la data leida: b'...'" per line, whatever the pieces were; -q hides them.
 */
#include "connection.h"
#include "net.h"
#include "util.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/select.h>

enum { READABLE = 1u, WRITABLE = 2u }; /* what a socket waits for, or is ready for */
#define WHY_MAX 96                     /* why a socket cannot be watched, for the message */

struct fired {
    int fd;
    unsigned events; /* READABLE and/or WRITABLE; an error or hang-up counts as both */
};

/* --- The readiness API: select() ------------------------------------------------------------
 * Two bitmaps of FD_SETSIZE bits say what each descriptor waits for. select() overwrites the
 * sets it is given, so it gets copies, every time; it looks at every bit up to max_fd. (The
 * copies are static, as the table and fired[] are: the program's state, not the call's.) */

static fd_set read_set, write_set; /* what each socket waits for */
static fd_set readable, writable;  /* select()'s answer: it overwrites the sets it is given */
static struct timeval timeout;     /* (and the time-out) */
static int max_fd = -1;            /* the highest descriptor in either set */

static void api_create(int fd_limit)
{
    (void)fd_limit; /* nothing to allocate: the sets are fixed, FD_SETSIZE bits each */
    FD_ZERO(&read_set);
    FD_ZERO(&write_set);
}

/* From now on fd waits for `events` (0: nothing for now). NULL, or why fd cannot be watched:
 * an fd_set holds descriptors below FD_SETSIZE only, and FD_SET() on a higher one would write
 * outside it (undefined behaviour). */
static const char *api_watch(int fd, unsigned events)
{
    if (fd >= FD_SETSIZE) {
        static char why[WHY_MAX];
        snprintf(why, sizeof why, "descriptor %d >= FD_SETSIZE (%d), select() no puede vigilarlo",
                 fd, FD_SETSIZE);
        return why;
    }
    if (events & READABLE)
        FD_SET(fd, &read_set);
    else
        FD_CLR(fd, &read_set);
    if (events & WRITABLE)
        FD_SET(fd, &write_set);
    else
        FD_CLR(fd, &write_set);
    if (fd > max_fd)
        max_fd = fd;
    return NULL;
}

/* fd is about to be closed: stop watching it. */
static void api_forget(int fd)
{
    FD_CLR(fd, &read_set);
    FD_CLR(fd, &write_set);
    while (max_fd >= 0 && !FD_ISSET(max_fd, &read_set) && !FD_ISSET(max_fd, &write_set))
        max_fd--;
}

/* Sleep until a socket is ready, or for timeout_ms (-1: no limit); fired[] gets the ready
 * sockets, in descriptor order. Returns how many. */
static int api_wait(int timeout_ms, struct fired *fired)
{
    readable = read_set;
    writable = write_set;
    timeout = (struct timeval){.tv_sec = timeout_ms / 1000, .tv_usec = timeout_ms % 1000 * 1000L};
    int ready = select(max_fd + 1, &readable, &writable, NULL, timeout_ms < 0 ? NULL : &timeout);
    if (ready == -1)
        die("select"); /* (no EINTR: no signal handler here, see 01-blocking/01-accept.c) */
    int count = 0;
    for (int fd = 0; fd <= max_fd && count < ready; fd++) {
        unsigned events =
            (FD_ISSET(fd, &readable) ? READABLE : 0u) | (FD_ISSET(fd, &writable) ? WRITABLE : 0u);
        if (events != 0)
            fired[count++] = (struct fired){fd, events};
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
