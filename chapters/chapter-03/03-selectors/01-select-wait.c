/*
 * 03-selectors/01-select-wait.c - the first event loop: wait with select() for whatever is ready.
 *
 * The book's next step after the busy loop (its selectors example, in C: Python's selectors
 * module uses select(), poll() or epoll underneath). Instead of asking every socket again and
 * again "anything yet?", we hand the kernel the whole set of sockets and SLEEP in select()
 * until one of them is ready, or until 1 s has passed. Then we act only on the ready ones:
 * the listening socket is readable -> accept(); a client is readable -> recv() what it sent
 * (up to 1024 bytes) and send it back. Nobody waits for anybody: no stall, and no busy CPU.
 *
 * THE BOOK'S LISTING HAS A BUG THAT WE FIX: it never notices a client that hangs up. recv()
 * then returns 0 ("end of file"), the listing echoes nothing and keeps the socket in its set,
 * and select() reports that socket readable again at once, and again, forever: a busy loop,
 * back by the side door. Here recv() == 0 (or an error) means: say so, stop watching, close.
 *
 * STILL NOT RIGHT (the next stage fixes it): this echoes whatever one recv() returned, which
 * is not a line. "Hola Mundo\r\n" may come in two pieces and be echoed in two; two lines may
 * come in one. And there is no output queue: a client that does not read its echoes is
 * dropped as soon as send() cannot take one whole.
 *
 * select() can only watch descriptors below FD_SETSIZE (1024 on Linux): a client whose
 * socket number is higher is turned away with a message, never put in an fd_set (writing
 * outside one is undefined behaviour).
 *
 * The file has two parts. "The readiness API" is the only code that talks to select(): four
 * functions, api_create(), api_watch() (what a socket waits for), api_forget() and api_wait()
 * (sleep, then list the ready sockets). "The server" uses only those. The next stages keep
 * this shape: 02-select-lines changes the server part, 03-poll-lines and 04-epoll-lines only
 * the API part (`make diff STAGE=...` shows each step).
 *
 * Run:    build/chapter-03/03-selectors/01-select-wait [-q] [PORT]
 * Try:    nc localhost 8000                  (terminal 2: connect and say nothing)
 *         printf 'Hola Mundo\r\n' | nc -N localhost 8000   (terminal 3: echoed at once)
 * Watch:  "No hay eventos, esperando un poco más!" once a second while nothing happens, and
 *         top: the server sleeps at 0% CPU. Close terminal 2's nc: "desconectado" at once.
 */
#include "connection.h"
#include "net.h"
#include "pyrepr.h"
#include "util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#define RECV_SIZE 1024                 /* the book's recv(1024) */
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

/* --- The server ------------------------------------------------------------------------------ */

static char (*who)[ADDRESS_TEXT_MAX]; /* who[fd]: ('127.0.0.1', P) of the client on fd, or "" */
static struct fired *fired;           /* what api_wait() found ready */

/* Stop watching client fd, forget it and close it. */
static void forget(int fd)
{
    api_forget(fd);
    who[fd][0] = '\0';
    close(fd);
}

/* The listening socket is readable: accept everyone who is waiting, watch them (or turn away
 * one that the readiness API cannot watch, saying why). */
static void accept_clients(int server_socket)
{
    enum accept_result result;
    struct sockaddr_in address;
    int fd;
    while ((fd = accept_nonblocking(server_socket, &address, &result)) != -1) {
        char name[ADDRESS_TEXT_MAX];
        format_address(&address, name);
        printf("Cliente connectandose desde %s\n", name);
        const char *why = api_watch(fd, READABLE);
        if (why == NULL)
            snprintf(who[fd], sizeof who[fd], "%s", name);
        else
            refuse_client(fd, name, why);
    }
}

/* Client fd is readable: echo what it sent, or notice that it has gone. */
static void echo_client(int fd)
{
    char data[RECV_SIZE];
    ssize_t n = recv(fd, data, sizeof data, 0);
    if (n > 0) {
        if (!quiet)
            print_bytes("Data leida: ", data, (size_t)n);
        ssize_t sent = send(fd, data, (size_t)n, 0);
        if (sent == n)
            return;
        if (sent != -1 || errno == EAGAIN || errno == EWOULDBLOCK) {
            /* Its socket is full: it does not read what we send. Without an output queue
             * (the next stage has one) we could only block, or lose bytes: we let it go. */
            printf("Cliente %s descartado: no lee lo que le devolvemos\n", who[fd]);
            forget(fd);
            return;
        }
    }
    int err = n == 0 ? 0 : errno;
    if (err == EAGAIN || err == EWOULDBLOCK)
        return; /* nothing after all: select() will tell us again */
    /* n == 0: the client hung up (the book's listing misses this, and spins); a reset
     * (ECONNRESET, or EPIPE after one) is the client's right too; anything else, we report. */
    bool reset = err == ECONNRESET || err == EPIPE;
    if (err != 0 && !reset)
        warn_call(n == -1 ? "recv" : "send", err);
    printf("Cliente %s desconectado%s\n", who[fd], reset ? " (conexión reiniciada)" : "");
    forget(fd);
}

int main(int argc, char **argv)
{
    int port = server_init(argc, argv);
    int fd_limit = raise_fd_limit(); /* so that FD_SETSIZE is what stops us, not the ulimit */
    int server_socket = listen_tcp(port);
    set_nonblocking(server_socket); /* accept() until EAGAIN, never waiting in it */

    who = calloc((size_t)fd_limit, sizeof *who);
    fired = calloc((size_t)fd_limit, sizeof *fired);
    if (who == NULL || fired == NULL)
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

        /* Sleep until something is ready, or for 1 s (the book's time-out). */
        int ready = api_wait(backoff > 0 ? backoff : 1000, fired);
        if (ready == 0 && backoff == 0)
            printf("No hay eventos, esperando un poco más!\n");

        /* Act on what is ready. A socket closed here cannot come back in this round: only
         * accept_clients() opens new ones, and it runs first (the listening socket has the
         * lowest descriptor). */
        for (int i = 0; i < ready; i++) {
            if (fired[i].fd == server_socket)
                accept_clients(server_socket);
            else if (who[fired[i].fd][0] != '\0')
                echo_client(fired[i].fd);
        }
    }
}
