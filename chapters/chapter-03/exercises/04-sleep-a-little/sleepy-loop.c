/*
 * Exercise 4 - make the busy loop sleep a little, and measure what it costs.
 * Ejercicio 4 - que la espera activa duerma un poco, y medir lo que cuesta.
 *
 * EN: This is a copy of 02-non-blocking/02-eagain-loop.c. Its loop never waits, so even with
 *     nobody talking it burns a whole core. Make every pass end with a short nanosleep() (1 ms
 *     unless $SLEEP_US says otherwise, in microseconds), then run measure.sh to see CPU
 *     against echo delay for several pauses. Statement: README.md. Check:
 *         make exercise N=4
 *     Its other two flaws (the buffer lost on EAGAIN, "\r\n" looked for only at the tail) are
 *     exercises 2 and 3: leave them as they are here.
 * ES: Es una copia de 02-non-blocking/02-eagain-loop.c. Su bucle nunca espera y, aunque nadie
 *     hable, quema una CPU entera: es la espera activa. Haz que cada vuelta termine con un
 *     nanosleep() corto (1 ms, salvo que $SLEEP_US diga otra cosa, en microsegundos) y ejecuta
 *     measure.sh para ver la CPU frente al retraso del eco con varias pausas.
 *     Enunciado: README.md. Comprueba con:
 *         make exercise N=4
 *     Sus otros dos fallos (el búfer que se pierde con EAGAIN, el "\r\n" buscado solo al
 *     final) son los ejercicios 2 y 3: déjalos como están.
 *
 * Run:    build/exercises/04-sleep-a-little/sleepy-loop [PORT]        then look at top
 * Try:    printf 'Hola\r\n' | nc -N 127.0.0.1 8000
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
};

static struct client connections[MAX_CLIENTS];
static size_t connection_count;

/* buffer[-2:] == b'\r\n': only the last two bytes are looked at (exercise 3's flaw). */
static bool ends_with_crlf(const char *buffer, size_t len)
{
    return len >= 2 && buffer[len - 2] == '\r' && buffer[len - 1] == '\n';
}

/*
 * Try to read one message from c and echo it. Returns false when c has gone (hung up, reset or
 * sent too much) and must be forgotten; true otherwise, including "nothing yet".
 */
static bool read_and_echo(const struct client *c)
{
    char buffer[BUFFER_SIZE]; /* a fresh, empty buffer on every pass (exercise 2's flaw) */
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

    for (;;) { /* THE FLAW: nothing in this loop ever waits */
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
