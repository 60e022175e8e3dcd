/*
 * 02-eagain-loop.c - Chapter 3, section 2, "Ejemplo no bloqueante con try catch".
 *
 * The loop of 01-accept-eagain, where EAGAIN now means "nothing yet, go on" (Python's
 * `except BlockingIOError: pass`). Nobody stalls anybody any more: while one client is quiet
 * the loop simply moves on to the next one, or to accept().
 *
 * THE FLAWS THIS STAGE TEACHES (keep them):
 *  1. A busy loop. Nothing ever waits, so with no client doing anything the loop still spins
 *     as fast as it can, asking every socket "anything yet?": one whole CPU core at 100%.
 *  2. Lost bytes. The message buffer starts empty on every pass. If a client sends "Ho", then
 *     pauses, recv() hits EAGAIN and "Ho" is dropped with the buffer; "la\r\n" arrives later
 *     and only "la\r\n" is echoed.
 *  3. "\r\n" is looked for only in the buffer's LAST TWO bytes, read two at a time. With
 *     echo -e "Hola Mundo3\r\n" the pieces are "Ho" "la" " M" "un" "do" "3\r" "\n\n": the
 *     "\r\n" straddles two pieces, the tail is "\n\n", the message never "ends", EAGAIN throws
 *     it away, and nc waits forever for an echo (the document's "se queda colgado").
 *     telnet sends each line as it is typed, "Hola Mundo\r\n" in one piece and nothing after it:
 *     the last recv(2) ends exactly at the "\n", so the tail check sees it, whatever the length.
 *     It is the extra "\n" behind a split "\r\n" that defeats the check.
 *
 * Run:    build/chapter-03/02-non-blocking/02-eagain-loop [PORT]      then look at top
 * Try:    echo -e "Hola Mundo3\r\n" | nc localhost 8000        (hangs: no echo)
 *         printf 'Hola Mundo\r\n' | nc -N localhost 8000        (echoed)
 *         telnet localhost 8000, then type Hola Mundo              (echoed)
 *         (nc -C is not telnet here: it writes the text and the "\r\n" separately, and when
 *          recv() falls between the two, flaw 2 drops the text: sometimes only "\r\n" returns)
 * Watch:  top shows the server at ~100% CPU even with nobody connected.
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

    for (;;) { /* flaw 1: nothing in this loop ever waits */
        /* (No "Listo para recibir mensajes!" here: it would flood the terminal.) */
        /* net.c: accept(), again if that client left before we took it; the new socket is set
         * non-blocking explicitly (whether accept() passes O_NONBLOCK on differs between
         * systems: Linux does not, some BSDs do). */
        struct sockaddr_in address;
        enum accept_result result;
        int fd = accept_nonblocking(server_socket, &address, &result);
        if (fd == -1) {
            /* ACCEPT_NOBODY (EAGAIN): nobody new, which is no error now: go on to the clients
             * we have. Out of descriptors (EMFILE: reported): the same, but with nobody to
             * serve, wait a moment before trying again. */
            if (result == ACCEPT_SHORTAGE && connection_count == 0)
                sleep_ms(1000);
        } else {
            char who[ADDRESS_TEXT_MAX];
            format_address(&address, who);
            if (connection_count == MAX_CLIENTS) {
                printf("Demasiados clientes (%d): se cierra %s\n", MAX_CLIENTS, who);
                close(fd);
                continue;
            }
            printf("Cliente connectandose desde %s\n", who);
            struct client *c = &connections[connection_count++];
            c->fd = fd;
            memcpy(c->who, who, sizeof who);
        }

        /* Try every connection, in order; nobody waits for anybody now. */
        for (size_t i = 0; i < connection_count;) {
            if (read_and_echo(&connections[i])) {
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
