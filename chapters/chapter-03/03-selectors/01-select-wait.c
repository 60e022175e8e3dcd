/*
 * 03-selectors/01-select-wait.c - the first event loop: wait in select() for what is ready.
 *
 * The book's next step after the busy loop (its selectors example, in C: Python's selectors
 * module uses select(), poll() or epoll underneath). Instead of asking every socket again and
 * again "anything yet?", we hand the kernel the set of sockets and SLEEP in select() until
 * one of them is readable, or until 1 s has passed. Then we act only on the ready ones: the
 * listening socket is readable -> accept(); a client is readable -> read_and_echo().
 *
 * This file IS 02-non-blocking/02-eagain-loop.c with that wait and the one rule select() sets
 * (below): `make diff STAGE=03-selectors/01-select-wait` shows just them. It fixes flaw 1 of
 * that stage: nobody waits for anybody, and no CPU burns while nothing happens. (The book's
 * listing never notices a client that hangs up, and select() then reports its socket again
 * and again: a busy loop by the side door. The loop we started from already forgets a client
 * whose recv() returns 0.)
 *
 * STILL NOT RIGHT (the next stage fixes it): flaws 2 and 3 of 02-eagain-loop are still here,
 * in read_and_echo() as it was. A line that arrives in pieces loses the pieces read before
 * the pause, and echo -e "Hola Mundo3\r\n" | nc still hangs. Nor is there an output queue:
 * what one send() does not take is lost.
 *
 * select() can only watch descriptors below FD_SETSIZE (1024 on Linux): FD_SET() on a higher
 * one writes outside the fd_set (undefined behaviour). A client whose socket number is that
 * high is turned away as one too many; a listening socket that high ends the program.
 *
 * Run:    build/chapter-03/03-selectors/01-select-wait [PORT]
 * Try:    nc localhost 8000                  (terminal 2: connect and say nothing)
 *         printf 'Hola Mundo\r\n' | nc -N localhost 8000   (terminal 3: echoed at once)
 * Watch:  "No hay eventos, esperando un poco más!" once a second while nothing happens, and
 *         top: the server sleeps at 0% CPU. Close terminal 2's nc: "desconectado" at once.
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

#define BUFFER_SIZE 4096 /* longest message, "\r\n" included; Python's buffer has no limit */
#define MAX_CLIENTS 1024 /* Python's list has no limit either; we refuse clients beyond this */

struct client {
    int fd;
    char who[ADDRESS_TEXT_MAX]; /* ('127.0.0.1', 40068), for the messages */
};

static struct client connections[MAX_CLIENTS];
static size_t connection_count;

/* buffer[-2:] == b'\r\n': only the last two bytes are looked at (flaw 3). */
static int ends_with_crlf(const char *buffer, size_t len)
{
    return len >= 2 && buffer[len - 2] == '\r' && buffer[len - 1] == '\n';
}

/*
 * Try to read one message from c, two bytes at a time, and send it back. Returns false when c
 * has gone (hung up, reset or sent too much) and must be forgotten; true otherwise, including
 * "nothing yet".
 */
static bool read_and_echo(const struct client *c)
{
    char buffer[BUFFER_SIZE]; /* flaw 2: a fresh, empty buffer on every pass of the loop */
    size_t len = 0;
    bool still_there = true; /* false once c has hung up (closed its sending side) */

    while (!ends_with_crlf(buffer, len)) {
        if (len == sizeof buffer) {
            fprintf(stderr, "%s: message longer than %d bytes without \\r\\n: dropping client\n",
                    c->who, BUFFER_SIZE);
            return false;
        }
        size_t want = sizeof buffer - len < 2 ? sizeof buffer - len : 2;
        ssize_t n = recv(c->fd, buffer + len, want, 0);
        if (n == -1) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return true; /* nothing yet: give up on this pass, and lose what we had read */
            warn_call("recv", errno); /* e.g. ECONNRESET: nobody left to echo to */
            return false;
        }
        if (n == 0) {
            still_there = false; /* the client closed its side */
            break;
        }
        print_bytes("Data leida: ", buffer + len, (size_t)n);
        len += (size_t)n;
    }
    print_bytes("Toda la data leida: ", buffer, len);

    /* One send(), as in the document: on a non-blocking socket it may take only part of the
     * message, or nothing (EAGAIN, when the client does not read); the rest is lost.
     * A client that only closed its sending side (nc -N) can still read: echo what it sent. */
    if (len > 0) {
        ssize_t sent = send(c->fd, buffer, len, 0);
        if (sent == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
            sent = 0;
        if (sent == -1) {
            warn_call("send", errno); /* EPIPE or ECONNRESET: the client is gone */
            still_there = false;
        } else if ((size_t)sent < len) {
            fprintf(stderr, "%s: send took %zd of %zu bytes; the rest is lost\n", c->who, sent,
                    len);
        }
    }
    return still_there;
}

int main(int argc, char **argv)
{
    int port = server_init(argc, argv);
    int server_socket = listen_tcp(port);
    set_nonblocking(server_socket);
    if (server_socket >= FD_SETSIZE) /* (an inherited descriptor table may put it that high) */
        die_msg("socket de escucha >= FD_SETSIZE: select() no puede vigilarlo");

    for (;;) {
        /* Sleep until the listening socket or a client is readable, or for 1 s (the book's
         * time-out). select() overwrites the set it is given: it is made afresh every time. */
        fd_set readable;
        FD_ZERO(&readable);
        FD_SET(server_socket, &readable);
        int max_fd = server_socket;
        for (size_t i = 0; i < connection_count; i++) {
            FD_SET(connections[i].fd, &readable);
            max_fd = connections[i].fd > max_fd ? connections[i].fd : max_fd;
        }
        struct timeval timeout = {.tv_sec = 1, .tv_usec = 0};
        int ready = select(max_fd + 1, &readable, NULL, NULL, &timeout);
        if (ready == -1)
            die("select"); /* (no EINTR: no signal handler here, see 01-blocking/01-accept.c) */
        if (ready == 0) {
            printf("No hay eventos, esperando un poco más!\n");
            continue;
        }

        /* accept() only when select() says someone is waiting. (Out of descriptors, the
         * listening socket stays readable, so this loop spins until a client leaves:
         * 02-select-lines stops watching it for a moment instead.) */
        struct sockaddr_in address;
        enum accept_result result = ACCEPT_NOBODY;
        int fd = FD_ISSET(server_socket, &readable)
                     ? accept_nonblocking(server_socket, &address, &result)
                     : -1;
        if (fd == -1) {
            /* ACCEPT_NOBODY (EAGAIN): nobody new, which is no error now: go on to the clients
             * we have. Out of descriptors (EMFILE: reported): the same, but with nobody to
             * serve, wait a moment before trying again. */
            if (result == ACCEPT_SHORTAGE && connection_count == 0)
                sleep_ms(1000);
        } else {
            char who[ADDRESS_TEXT_MAX];
            format_address(&address, who);
            if (connection_count == MAX_CLIENTS || fd >= FD_SETSIZE) { /* select()'s ceiling */
                printf("Demasiados clientes (%d): se cierra %s\n", MAX_CLIENTS, who);
                close(fd);
                continue;
            }
            printf("Cliente connectandose desde %s\n", who);
            struct client *c = &connections[connection_count++];
            c->fd = fd;
            memcpy(c->who, who, sizeof who);
        }

        /* Serve the connections that are readable, in order; the others are not even asked. */
        for (size_t i = 0; i < connection_count;) {
            if (!FD_ISSET(connections[i].fd, &readable) || read_and_echo(&connections[i])) {
                i++;
                continue;
            }
            /* (Python's loop keeps a dead connection forever and prints
             *  "Toda la data leida: b''" for it on every pass; we forget it.) */
            printf("Cliente %s desconectado\n", connections[i].who);
            close(connections[i].fd);
            memmove(&connections[i], &connections[i + 1],
                    (connection_count - i - 1) * sizeof connections[0]);
            connection_count--; /* the next client now sits at index i */
        }
    }
}
