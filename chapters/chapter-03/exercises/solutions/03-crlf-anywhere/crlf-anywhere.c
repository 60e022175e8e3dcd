/*
 * Exercise 3, reference solution: a message ends at the first "\r\n", wherever it is.
 * Ejercicio 3, solución: un mensaje termina en el primer "\r\n", esté donde esté.
 *
 * After each recv() the new bytes are searched for "\r\n" (one byte further back, in case the
 * "\r" came in the previous piece). The message up to and including it is printed and echoed,
 * and the bytes after it move to the front of the buffer: they are the start of the next
 * message, which may even be complete already. Bytes are compared one by one, never with
 * strstr(): the buffer is not a C string and may hold NUL bytes.
 *
 * Run:    build/exercises/solutions/03-crlf-anywhere/crlf-anywhere [PORT]
 * Try:    echo -e "Hola Mundo3\r\n" | nc 127.0.0.1 8000        (echoed: Hola Mundo3)
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
    char buffer[BUFFER_SIZE]; /* what this client has sent and we have not answered yet */
    size_t len;               /* how many bytes of buffer are in use */
    size_t scanned;           /* buffer[0..scanned) holds no "\r\n": search from here on */
};

static struct client connections[MAX_CLIENTS];
static size_t connection_count;

/*
 * Where the first "\r\n" of buffer[from..len) ends (the index just after its "\n"), or 0 if
 * there is none. Byte by byte, because the buffer may hold NUL bytes (no strstr()).
 */
static size_t find_crlf_end(const char *buffer, size_t len, size_t from)
{
    for (size_t i = from; i + 1 < len; i++) {
        if (buffer[i] == '\r' && buffer[i + 1] == '\n')
            return i + 2;
    }
    return 0;
}

/*
 * Print and echo the first len bytes of c's buffer (one message), then drop them, keeping the
 * bytes that follow. Returns false if c has gone.
 */
static bool answer(struct client *c, size_t len)
{
    bool still_there = true;
    print_bytes("Toda la data leida: ", c->buffer, len);

    /* One send(), as in the document: on a non-blocking socket it may take only part of the
     * message, or nothing (EAGAIN, when the client does not read); the rest is lost.
     * A client that only closed its sending side (nc -N) can still read: echo what it sent. */
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

    /* What came after the "\r\n" is the beginning of the next message: move it to the front. */
    c->len -= len;
    memmove(c->buffer, c->buffer + len, c->len);
    c->scanned = 0;
    return still_there;
}

/*
 * Read what c has sent so far into c->buffer and answer every complete message in it.
 * Returns false when c has gone (hung up, reset or sent too much) and must be forgotten; true
 * otherwise, including "nothing yet".
 */
static bool read_and_echo(struct client *c)
{
    for (;;) {
        size_t end = find_crlf_end(c->buffer, c->len, c->scanned);
        if (end > 0) {
            if (!answer(c, end))
                return false;
            continue; /* the bytes left over may hold another whole message */
        }
        /* No "\r\n" in what we have: next time, search only the new bytes, plus the last old
         * one (it may be the "\r" of a "\r\n" split between two pieces). */
        c->scanned = c->len > 0 ? c->len - 1 : 0;

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
            /* The client closed its side: answer what is left (as 02-eagain-loop does, even
             * when nothing is), and forget it. */
            (void)answer(c, c->len);
            return false;
        }
        print_bytes("Data leida: ", c->buffer + c->len, (size_t)n);
        c->len += (size_t)n;
    }
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
                c->scanned = 0;
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
