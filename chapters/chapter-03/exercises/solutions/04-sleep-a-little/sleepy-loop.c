/*
 * Exercise 4, reference solution: every pass of the loop ends with a short sleep.
 * Ejercicio 4, solución: cada vuelta del bucle termina con una pausa corta.
 *
 * The loop still asks every socket "anything yet?", but only about a thousand times a second
 * instead of hundreds of thousands: the idle server drops from 100% of a core to a few %. The
 * price is latency: a message that arrives just after a pass waits for the pause to end (up to
 * SLEEP_US microseconds, a little more for a new client: accept on one pass, recv on the
 * next). measure.sh prints both for several pauses. select(), poll() and epoll remove the
 * trade-off: they sleep until something happens, and wake at once when it does.
 *
 * Run:    build/exercises/solutions/04-sleep-a-little/sleepy-loop [PORT]
 *         SLEEP_US=100000 build/exercises/solutions/04-sleep-a-little/sleepy-loop   (0.1 s)
 * Try:    printf 'Hola\r\n' | nc -N 127.0.0.1 8000
 */
#include "net.h"
#include "pyrepr.h"
#include "util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUFFER_SIZE 4096 /* longest message, "\r\n" included; Python's buffer has no limit */
#define MAX_CLIENTS 1024 /* Python's list has no limit either; we refuse clients beyond this */
#define DEFAULT_SLEEP_US 1000L /* the pause after every pass: 1 ms */
#define MAX_SLEEP_US 1000000L  /* at most one second */

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

/* The pause between two passes: $SLEEP_US microseconds (0 to 1000000), else 1 ms. */
static struct timespec loop_pause(void)
{
    long us = DEFAULT_SLEEP_US;
    const char *text = getenv("SLEEP_US");
    if (text != NULL && *text != '\0') {
        char *end = NULL;
        errno = 0;
        us = strtol(text, &end, 10);
        if (errno != 0 || *end != '\0' || us < 0 || us > MAX_SLEEP_US) {
            char message[160];
            snprintf(message, sizeof message,
                     "invalid SLEEP_US '%.40s': expected microseconds, from 0 to %ld", text,
                     MAX_SLEEP_US);
            die_msg(message);
        }
    }
    struct timespec pause = {.tv_sec = us / 1000000L, .tv_nsec = (us % 1000000L) * 1000L};
    return pause;
}

/* Sleep for pause; a signal cuts nanosleep() short (EINTR): sleep on for what was left.
 * A zero pause does not sleep at all: SLEEP_US=0 is the stage's busy loop, for comparison. */
static void sleep_a_little(struct timespec pause)
{
    if (pause.tv_sec == 0 && pause.tv_nsec == 0)
        return;
    struct timespec left;
    while (nanosleep(&pause, &left) == -1) {
        if (errno != EINTR)
            die("nanosleep");
        pause = left;
    }
}

int main(int argc, char **argv)
{
    int port = server_init(argc, argv);
    const struct timespec pause = loop_pause(); /* a bad $SLEEP_US stops us before we listen */
    int server_socket = listen_tcp(port);
    set_nonblocking(server_socket);

    for (;;) {
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

        /* Nothing in this pass waited: wait here, a little, before asking everyone again. */
        sleep_a_little(pause);
    }
}
