/*
 * Exercise 6 - make 01-04 fair with poll().
 * Ejercicio 6 - hacer justo 01-04 con poll().
 *
 * EN: This is a copy of 01-blocking/04-many-clients.c: it reads each client in turn and blocks
 *     in recv() on whichever it is reading, so one quiet client stalls all the others. Rewrite
 *     its loop around poll(): wait for every socket at once, accept only when the listening
 *     socket is ready, and read only the clients that have something to read, keeping each
 *     one's half-received message in its own buffer. Statement (with the exact lines to print):
 *     README.md. Check:
 *         make exercise N=6
 * ES: Es una copia de 01-blocking/04-many-clients.c: lee a los clientes por turno y se bloquea
 *     en recv() con el que le toca, así que un cliente callado atasca a todos los demás.
 *     Reescribe su bucle con poll(): espera a todos los sockets a la vez, haz accept solo cuando
 *     el socket de escucha esté listo y lee solo a los clientes que tengan algo que leer,
 *     guardando en un búfer propio de cada uno el mensaje a medio llegar. Enunciado (con las
 *     líneas exactas que hay que imprimir): README.md. Comprueba con:
 *         make exercise N=6
 *
 * Run:    build/exercises/06-fair-with-poll/poll-clients [PORT]
 * Try:    in two more terminals, one after the other:
 *           echo -e "Hola Mundo\r\n" | nc localhost 8000
 *           echo -e "Hola Mundo2\r\n" | nc localhost 8000      (no echo: the stall)
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
    char who[ADDRESS_TEXT_MAX]; /* ('127.0.0.1', 40068), for the messages */
};

static struct client connections[MAX_CLIENTS];
static size_t connection_count;

static bool ends_with_crlf(const char *buffer, size_t len)
{
    return len >= 2 && buffer[len - 2] == '\r' && buffer[len - 1] == '\n';
}

/*
 * Read one message from client c, two bytes at a time, and send it back.
 * Every recv() here BLOCKS until c sends something: this is where the stall happens.
 * Returns false when c has gone (hung up, reset, or sent too much) and must be forgotten.
 */
static bool read_and_echo(const struct client *c)
{
    char buffer[BUFFER_SIZE];
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
            if (errno == EINTR)
                continue;
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

    /* Python's send() on a blocking socket sends everything; send_all() makes that explicit.
     * A client that only closed its sending side (nc -N) can still read: echo what it sent. */
    if (len > 0 && send_all(c->fd, buffer, len) == -1) {
        warn_call("send", errno); /* EPIPE or ECONNRESET: the client is gone */
        still_there = false;
    }
    return still_there;
}

int main(int argc, char **argv)
{
    int port = server_init(argc, argv);
    int server_socket = listen_tcp(port);

    for (;;) {
        printf("Listo para recibir mensajes!\n");

        /* Blocks until the next client connects. */
        struct sockaddr_in address;
        socklen_t address_len = sizeof address;
        int fd = accept(server_socket, (struct sockaddr *)&address, &address_len);
        if (fd == -1) {
            /* A signal, or a client that left before we took it: accept again. Out of
             * descriptors (EMFILE: reported): the new client waits in the listen queue, and
             * we go and serve the ones we have (one of them may leave and free a slot); with
             * none to serve, accept() would fail again at once: wait a moment first. */
            if (accept_failed(errno) == ACCEPT_RETRY)
                continue;
            if (connection_count == 0) {
                sleep_ms(1000);
                continue;
            }
        } else {
            char who[ADDRESS_TEXT_MAX];
            format_address(&address, who);
            printf("Cliente connectandose desde %s\n", who);
            if (connection_count == MAX_CLIENTS) {
                printf("Demasiados clientes (%d): se cierra %s\n", MAX_CLIENTS, who);
                close(fd);
                continue;
            }
            struct client *c = &connections[connection_count++];
            c->fd = fd;
            memcpy(c->who, who, sizeof c->who);
        }

        /* Read one message from *every* connection, in order, waiting on each in turn. */
        for (size_t i = 0; i < connection_count; i++) {
            if (read_and_echo(&connections[i]))
                continue;
            /* (Python's loop keeps a dead connection in its list forever; we forget it.) */
            printf("Cliente %s desconectado\n", connections[i].who);
            close(connections[i].fd);
            memmove(&connections[i], &connections[i + 1],
                    (connection_count - i - 1) * sizeof connections[0]);
            connection_count--;
            i--; /* the next client now sits at index i */
        }
    }
}
