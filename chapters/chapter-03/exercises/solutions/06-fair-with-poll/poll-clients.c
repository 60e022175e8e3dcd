/*
 * Exercise 6, reference solution: 01-04 made fair with poll().
 * Ejercicio 6, solución: 01-04 hecho justo con poll().
 *
 * One poll() call waits for all the sockets at once: the listening socket and every client.
 * It returns as soon as at least one of them is ready and marks which (revents), so we accept
 * only when a client is waiting and recv() only from clients that have sent something: no call
 * blocks, and a quiet client costs nothing. Because a message can now arrive over several turns
 * of the loop, each client keeps its own buffer (exercise 2) and a message ends at the first
 * "\r\n" wherever it is (exercise 3). Each turn reads at most one piece from each ready client,
 * in order, so a client that talks a lot cannot starve the others either: that is "fair".
 * While nothing happens, the process sleeps inside poll(): 0% CPU, unlike the busy loop.
 *
 * Run:    build/exercises/solutions/06-fair-with-poll/poll-clients [PORT]
 * Try:    in two more terminals, one after the other:
 *           echo -e "Hola Mundo\r\n" | nc localhost 8000
 *           echo -e "Hola Mundo2\r\n" | nc localhost 8000      (echoed at once: no stall)
 */
#include "net.h"
#include "pyrepr.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUFFER_SIZE 4096 /* longest message, "\r\n" included; Python's buffer has no limit */
#define MAX_CLIENTS 1024 /* Python's list has no limit either; we refuse clients beyond this */

struct client {
    char who[ADDRESS_TEXT_MAX]; /* ('127.0.0.1', 40068), for the messages */
    char buffer[BUFFER_SIZE];   /* what this client has sent and we have not answered yet */
    size_t len;                 /* how many bytes of buffer are in use */
};

/* watched[0] is the listening socket; watched[i] (i >= 1) is the socket of clients[i]. */
static struct pollfd watched[1 + MAX_CLIENTS];
static struct client clients[1 + MAX_CLIENTS];
static nfds_t watched_count;

/* Where the first "\r\n" of buffer[0..len) ends (just after its "\n"), or 0 if there is none.
 * Byte by byte: the buffer may hold NUL bytes, so no strstr(). */
static size_t find_crlf_end(const char *buffer, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (buffer[i] == '\r' && buffer[i + 1] == '\n')
            return i + 2;
    }
    return 0;
}

/* Accept the client that is waiting and start watching its socket. */
static void accept_client(int server_socket)
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
    printf("Cliente connectandose desde %s\n", who);
    if (watched_count == 1 + MAX_CLIENTS) {
        printf("Demasiados clientes (%d): se cierra %s\n", MAX_CLIENTS, who);
        close(fd);
        return;
    }
    /* Non-blocking, so a send() to a client that does not read cannot stall everyone. */
    set_nonblocking(fd);
    nfds_t i = watched_count++;
    watched[i] = (struct pollfd){.fd = fd, .events = POLLIN, .revents = 0};
    memcpy(clients[i].who, who, sizeof clients[i].who);
    clients[i].len = 0;
}

/* Stop watching client i: close its socket and close the gap in both arrays. */
static void forget_client(nfds_t i)
{
    printf("Cliente %s desconectado\n", clients[i].who);
    close(watched[i].fd);
    nfds_t after = watched_count - i - 1;
    memmove(&watched[i], &watched[i + 1], after * sizeof watched[0]);
    memmove(&clients[i], &clients[i + 1], after * sizeof clients[0]);
    watched_count--;
}

/*
 * Print and echo the first len bytes of client i's buffer (one message), then drop them,
 * keeping what follows. One send(), as in 02-eagain-loop: what a client that does not read
 * cannot take now is lost, and said. Returns false if the client is gone.
 */
static bool answer(nfds_t i, size_t len)
{
    struct client *c = &clients[i];
    bool still_there = true;
    print_bytes("Toda la data leida: ", c->buffer, len);
    if (len > 0) {
        ssize_t sent;
        do {
            sent = send(watched[i].fd, c->buffer, len, 0);
        } while (sent == -1 && errno == EINTR);
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
    c->len -= len;
    memmove(c->buffer, c->buffer + len, c->len);
    return still_there;
}

/*
 * Client i is ready (poll() said so): read one piece, at most two bytes as in the document,
 * and answer the message if it is now complete. Returns false when the client has gone (hung
 * up, reset, or sent too much) and must be forgotten.
 */
static bool serve_client(nfds_t i)
{
    struct client *c = &clients[i];
    if (c->len == sizeof c->buffer) {
        fprintf(stderr, "%s: message longer than %d bytes without \\r\\n: dropping client\n",
                c->who, BUFFER_SIZE);
        return false;
    }
    size_t room = sizeof c->buffer - c->len;
    size_t want = room < 2 ? room : 2;
    ssize_t n = recv(watched[i].fd, c->buffer + c->len, want, 0);
    if (n == -1) {
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
            return true;          /* nothing after all: poll() will say so again */
        warn_call("recv", errno); /* e.g. ECONNRESET: nobody left to echo to */
        return false;
    }
    if (n == 0) {
        /* The client closed its side: answer what is left (as 01-04 does, even when nothing
         * is) and forget it. A client that only closed its sending side can still read. */
        (void)answer(i, c->len);
        return false;
    }
    print_bytes("Data leida: ", c->buffer + c->len, (size_t)n);
    c->len += (size_t)n;

    /* Two bytes complete at most one "\r\n", so one message at most is ready now. */
    size_t end = find_crlf_end(c->buffer, c->len);
    return end == 0 || answer(i, end);
}

int main(int argc, char **argv)
{
    int port = server_init(argc, argv);
    int server_socket = listen_tcp(port);
    /* A client that gives up between poll() and accept() must not leave us blocked in
     * accept(): non-blocking, accept() fails with EAGAIN instead. */
    set_nonblocking(server_socket);
    watched[0] = (struct pollfd){.fd = server_socket, .events = POLLIN, .revents = 0};
    watched_count = 1;

    printf("Listo para recibir mensajes!\n");
    for (;;) {
        /* Sleep until at least one socket is ready: -1 means no time limit. */
        if (poll(watched, watched_count, -1) == -1) {
            if (errno == EINTR)
                continue;
            die("poll");
        }

        /* Clients first, in order; a client accepted below has revents 0 until the next poll. */
        for (nfds_t i = 1; i < watched_count; i++) {
            short revents = watched[i].revents;
            if (revents & POLLNVAL)
                die_msg("poll: a client's descriptor is not open (a bug in this program)");
            /* POLLHUP and POLLERR too: the recv() then says what happened (0 or an error). */
            if ((revents & (POLLIN | POLLHUP | POLLERR)) == 0)
                continue;
            if (serve_client(i))
                continue;
            forget_client(i);
            i--; /* the next client now sits at index i */
        }
        if (watched[0].revents & POLLIN)
            accept_client(server_socket);
    }
}
