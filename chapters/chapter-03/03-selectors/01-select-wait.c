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
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#define RECV_SIZE 1024 /* the book's recv(1024) */

static fd_set watched;                         /* the sockets select() waits for */
static int max_fd;                             /* the highest descriptor in `watched` */
static char who[FD_SETSIZE][ADDRESS_TEXT_MAX]; /* ('127.0.0.1', P), by descriptor */

static void forget(int fd)
{
    FD_CLR(fd, &watched);
    close(fd);
    while (max_fd > 0 && !FD_ISSET(max_fd, &watched))
        max_fd--;
}

/* The listening socket is readable: accept everyone who is waiting. */
static void accept_clients(int server_socket)
{
    struct sockaddr_in address;
    enum accept_result result;
    int fd;
    while ((fd = accept_nonblocking(server_socket, &address, &result)) != -1) {
        char name[ADDRESS_TEXT_MAX];
        format_address(&address, name);
        printf("Cliente connectandose desde %s\n", name);
        if (fd >= FD_SETSIZE) {
            char why[96];
            snprintf(why, sizeof why,
                     "descriptor %d >= FD_SETSIZE (%d), select() no puede vigilarlo", fd,
                     FD_SETSIZE);
            refuse_client(fd, name, why);
            continue;
        }
        snprintf(who[fd], sizeof who[fd], "%s", name);
        FD_SET(fd, &watched);
        if (fd > max_fd)
            max_fd = fd;
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
    raise_fd_limit(); /* so that the FD_SETSIZE check below is what stops us, not the ulimit */
    int server_socket = listen_tcp(port);
    set_nonblocking(server_socket); /* accept() until EAGAIN, never waiting in it */

    if (server_socket >= FD_SETSIZE) /* an inherited descriptor table can put it that high */
        die_msg("listening socket >= FD_SETSIZE: select() cannot watch it");
    FD_ZERO(&watched);
    FD_SET(server_socket, &watched);
    max_fd = server_socket;

    for (;;) {
        /* select() overwrites the sets and the time-out: start from fresh copies each time. */
        fd_set readable = watched;
        struct timeval timeout = {.tv_sec = 1, .tv_usec = 0};
        /* Out of descriptors (EMFILE): the client waits in the listen queue, so the listening
         * socket stays readable; watching it now would wake us at once, and spin. */
        int backoff = accept_backoff_left();
        bool paused = backoff > 0;
        if (paused) {
            FD_CLR(server_socket, &readable);
            timeout = (struct timeval){.tv_sec = 0, .tv_usec = backoff * 1000L};
        }
        int ready = select(max_fd + 1, &readable, NULL, NULL, &timeout);
        if (ready == -1) {
            if (errno == EINTR)
                continue; /* Ctrl-Z then fg: Linux ends the wait early (see signal(7)) */
            die("select");
        }
        if (ready == 0) {
            if (!paused)
                printf("No hay eventos, esperando un poco más!\n");
            continue;
        }
        for (int fd = 0; fd <= max_fd; fd++) {
            if (!FD_ISSET(fd, &readable))
                continue;
            if (fd == server_socket)
                accept_clients(server_socket);
            else
                echo_client(fd);
        }
    }
}
