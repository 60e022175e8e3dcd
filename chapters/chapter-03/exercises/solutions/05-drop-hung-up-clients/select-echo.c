/*
 * Exercise 5, reference solution: a client that hangs up is reported, unwatched and closed.
 * Ejercicio 5, solución: el cliente que cuelga se anuncia, se deja de vigilar y se cierra.
 *
 * recv() returning 0 is not "nothing yet" (that would be EAGAIN): it is the end of the stream,
 * the client closed its side and nothing more will ever come. Its socket stays "readable" for
 * good (every recv() returns 0 at once), so a server that keeps it in its fd_set wakes from
 * select() immediately, forever: a busy loop again, and a descriptor that leaks.
 *
 * Run:    build/exercises/solutions/05-drop-hung-up-clients/select-echo [PORT]
 * Try:    printf 'Hola\r\n' | nc -N 127.0.0.1 8000   (echoed, "desconectado", CPU stays at 0%)
 */
#include "net.h"
#include "pyrepr.h"
#include "util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#define RECV_SIZE 1024 /* this server echoes whatever has arrived, up to this much at a time */

static fd_set watched;                                 /* the sockets select() waits for */
static char client_name[FD_SETSIZE][ADDRESS_TEXT_MAX]; /* ('127.0.0.1', P), by descriptor */

/* Accept the client that is waiting (select() said so) and start watching its socket. */
static void accept_client(int server_socket, int *max_fd)
{
    struct sockaddr_in address;
    socklen_t address_len = sizeof address;
    int fd = accept(server_socket, (struct sockaddr *)&address, &address_len);
    if (fd == -1) {
        /* Nobody after all (EAGAIN), a signal, a client that left before we took it: nothing
         * to do. Out of descriptors (EMFILE: reported once a second): the client waits in the
         * listen queue, and the listener stays readable until a descriptor is free, so the
         * loop would come straight back here and spin: a short nap keeps that to ten tries a
         * second (the chapter's 03-selectors stages stop watching the listener instead). */
        if (accept_failed(errno) == ACCEPT_SHORTAGE)
            sleep_ms(100);
        return;
    }
    char who[ADDRESS_TEXT_MAX];
    format_address(&address, who);
    if (fd >= FD_SETSIZE) { /* an fd_set has room for descriptors below FD_SETSIZE only */
        printf("Demasiados clientes (%d): se cierra %s\n", FD_SETSIZE, who);
        close(fd);
        return;
    }
    /* Non-blocking, so a send() to a client that does not read can never stall the others. */
    set_nonblocking(fd);
    printf("Cliente connectandose desde %s\n", who);
    memcpy(client_name[fd], who, sizeof who);
    FD_SET(fd, &watched);
    if (fd > *max_fd)
        *max_fd = fd;
}

/* Stop watching fd and close it. */
static void forget_client(int fd)
{
    printf("Cliente %s desconectado\n", client_name[fd]);
    FD_CLR(fd, &watched);
    close(fd);
}

/* Send data back, in one send(): what the kernel cannot take now (EAGAIN) is lost, and said.
 * Returns false if the client is gone. */
static bool echo_back(int fd, const char *data, size_t len)
{
    ssize_t sent;
    do {
        sent = send(fd, data, len, 0);
    } while (sent == -1 && errno == EINTR);
    if (sent == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
        sent = 0;
    if (sent == -1) {
        warn_call("send", errno); /* EPIPE or ECONNRESET: the client is gone */
        return false;
    }
    if ((size_t)sent < len)
        fprintf(stderr, "%s: send took %zd of %zu bytes; the rest is lost\n", client_name[fd], sent,
                len);
    return true;
}

/* Read what client fd has sent (select() said it would not block) and echo it. */
static void serve_client(int fd)
{
    char data[RECV_SIZE];
    ssize_t n = recv(fd, data, sizeof data, 0);
    if (n == -1) {
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
            return;               /* nothing after all: select() will tell us again */
        warn_call("recv", errno); /* e.g. ECONNRESET */
        forget_client(fd);
        return;
    }
    if (n == 0) {
        /* End of stream: the client hung up. Left in the set, its socket would be "readable"
         * (recv() returns 0) on every select() from now on: a busy loop, and a leaked fd. */
        forget_client(fd);
        return;
    }
    print_bytes("Data leida: ", data, (size_t)n);
    if (!echo_back(fd, data, (size_t)n))
        forget_client(fd);
}

int main(int argc, char **argv)
{
    int port = server_init(argc, argv);
    int server_socket = listen_tcp(port);
    if (server_socket >= FD_SETSIZE)
        die_msg("listening socket does not fit in an fd_set");

    /* Non-blocking too: a client that gives up between select() and accept() must not leave
     * us waiting in accept() (it then fails with EAGAIN instead). */
    set_nonblocking(server_socket);
    FD_ZERO(&watched);
    FD_SET(server_socket, &watched);
    int max_fd = server_socket;

    for (;;) {
        /* select() overwrites the set it is given with the ready ones: give it a copy. */
        fd_set readable = watched;
        if (select(max_fd + 1, &readable, NULL, NULL, NULL) == -1) {
            if (errno == EINTR)
                continue;
            die("select");
        }
        int last = max_fd; /* accept_client() may raise max_fd; the new socket waits a pass */
        for (int fd = 0; fd <= last; fd++) {
            if (!FD_ISSET(fd, &readable))
                continue;
            if (fd == server_socket)
                accept_client(server_socket, &max_fd);
            else
                serve_client(fd);
        }
    }
}
