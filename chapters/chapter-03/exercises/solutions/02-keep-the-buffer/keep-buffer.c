/*
 * Exercise 2, reference solution: each client keeps its buffer across passes of the loop.
 * Ejercicio 2, solución: cada cliente conserva su búfer entre vueltas del bucle.
 *
 * The buffer moved from read_and_echo()'s stack into struct client, with its length. An EAGAIN
 * now only means "the rest has not arrived yet": what was read stays in c->buffer and the next
 * pass goes on from there. The buffer is emptied once its message has been answered.
 *
 * Run:    build/exercises/solutions/02-keep-the-buffer/keep-buffer [PORT]
 * Try:    { printf 'Ho'; sleep 1; printf 'la\r\n'; } | nc -N 127.0.0.1 8000     (echo: Hola)
 */
#include "net.h"
#include "pyrepr.h"
#include "util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUFFER_SIZE 4096 /* longest message, "\r\n" included; Python's buffer has no limit */
#define MAX_CLIENTS 1024 /* Python's list has no limit either; we refuse clients beyond this */

struct client {
    int fd;
    char who[ADDRESS_TEXT_MAX];
    char buffer[BUFFER_SIZE]; /* what this client has sent of its current message, so far */
    size_t len;               /* how many bytes of buffer are in use */
};

static struct client connections[MAX_CLIENTS];
static size_t connection_count;

/* buffer[-2:] == b'\r\n': only the last two bytes are looked at (exercise 3). */
static bool ends_with_crlf(const char *buffer, size_t len)
{
    return len >= 2 && buffer[len - 2] == '\r' && buffer[len - 1] == '\n';
}

/*
 * Read what c has sent so far into c->buffer and, once the message is complete, echo it.
 * Returns false when c has gone (hung up, reset or sent too much) and must be forgotten; true
 * otherwise, including "nothing yet".
 */
static bool read_and_echo(struct client *c)
{
    bool still_there = true; /* false once c has hung up (closed its sending side) */

    while (!ends_with_crlf(c->buffer, c->len)) {
        if (c->len == sizeof c->buffer) {
            fprintf(stderr, "%s: message longer than %d bytes without \\r\\n: dropping client\n",
                    c->who, BUFFER_SIZE);
            return false;
        }
        size_t room = sizeof c->buffer - c->len;
        size_t want = room < 2 ? room : 2;
        ssize_t n = recv(c->fd, c->buffer + c->len, want, 0);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return true;          /* nothing yet: what we have read waits in c->buffer */
            warn_call("recv", errno); /* e.g. ECONNRESET: nobody left to echo to */
            return false;
        }
        if (n == 0) {
            still_there = false; /* the client closed its side */
            break;
        }
        print_bytes("Data leida: ", c->buffer + c->len, (size_t)n);
        c->len += (size_t)n;
    }
    print_bytes("Toda la data leida: ", c->buffer, c->len);

    /* One send(), as in the document: on a non-blocking socket it may take only part of the
     * message, or nothing (EAGAIN, when the client does not read); the rest is lost.
     * A client that only closed its sending side (nc -N) can still read: echo what it sent. */
    size_t len = c->len;
    c->len = 0; /* this message is done: the next one starts with an empty buffer */
    if (len > 0) {
        ssize_t sent = send(c->fd, c->buffer, len, 0);
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

    for (;;) { /* nothing in this loop ever waits (exercise 4) */
        /* (No "Listo para recibir mensajes!" here: it would flood the terminal.) */
        struct sockaddr_in address;
        socklen_t address_len = sizeof address;
        int fd = accept(server_socket, (struct sockaddr *)&address, &address_len);
        if (fd == -1) {
            /* EAGAIN: nobody new; go on to the clients we have. Also after a signal, a client
             * that left before we took it, or no descriptor left (EMFILE: reported). */
            accept_failed(errno);
        } else {
            char who[ADDRESS_TEXT_MAX];
            format_address(&address, who);
            if (connection_count == MAX_CLIENTS) {
                printf("Demasiados clientes (%d): se cierra %s\n", MAX_CLIENTS, who);
                close(fd);
            } else {
                /* Set explicitly: whether accept() passes O_NONBLOCK on differs between
                 * systems (Linux does not, some BSDs do). */
                set_nonblocking(fd);
                printf("Cliente connectandose desde %s\n", who);
                struct client *c = &connections[connection_count++];
                c->fd = fd;
                c->len = 0;
                memcpy(c->who, who, sizeof c->who);
            }
        }

        for (size_t i = 0; i < connection_count; i++) {
            if (read_and_echo(&connections[i]))
                continue;
            /* (Python's loop keeps a dead connection forever and prints
             *  "Toda la data leida: b''" for it on every pass; we forget it.) */
            printf("Cliente %s desconectado\n", connections[i].who);
            close(connections[i].fd);
            memmove(&connections[i], &connections[i + 1],
                    (connection_count - i - 1) * sizeof connections[0]);
            connection_count--;
            i--;
        }
    }
}
