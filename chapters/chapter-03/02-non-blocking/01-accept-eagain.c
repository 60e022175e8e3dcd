/*
 * 01-accept-eagain.c - Chapter 3, section 2 "Sockets NO bloqueantes", "Ejemplo no bloqueante".
 *
 * The stall of 01-blocking/04-many-clients comes from calls that wait. Python's
 * setblocking(False) is fcntl(fd, F_SETFL, O_NONBLOCK) in C: from then on a call that would
 * have to wait returns -1 at once with errno EAGAIN (also spelled EWOULDBLOCK) instead.
 *
 * This file IS 01-blocking/04-many-clients.c plus those two calls, as in the notes (two
 * setblocking(False)): `make diff STAGE=02-non-blocking/01-accept-eagain` shows just them.
 *
 * THE FLAW THIS STAGE TEACHES (keep it): the loop is the blocking one, unchanged, so it treats
 * "nothing yet" as a failure. The very first accept() finds no client waiting, fails with
 * EAGAIN, and accept_blocking() (common/net.c), which a blocking listener never answers that
 * way, ends the program, just as Python dies with "BlockingIOError: [Errno 11] Resource
 * temporarily unavailable".
 * (Had a client been waiting, its recv() would have met EAGAIN in turn, and been dropped.)
 *
 * Run:    build/chapter-03/02-non-blocking/01-accept-eagain [PORT]
 * Watch:  Listo para recibir mensajes!
 *         01-accept-eagain: accept: Resource temporarily unavailable (errno 11, EAGAIN)
 *         and the exit status is 1 (echo $?), before any client can even try.
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

static int ends_with_crlf(const char *buffer, size_t len)
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
    set_nonblocking(server_socket); /* server_socket.setblocking(False) */

    for (;;) {
        printf("Listo para recibir mensajes!\n");

        /* Blocks until the next client connects (net.c: accept(), again if that client left
         * before we took it; any failure but the next one ends the program). */
        struct sockaddr_in address;
        int fd = accept_blocking(server_socket, &address);
        if (fd == -1) {
            /* Out of descriptors (EMFILE: reported): the new client waits in the listen queue,
             * and we go and serve the ones we have (one of them may leave and free a slot);
             * with none to serve, accept() would fail again at once: wait a moment first. */
            if (connection_count == 0)
                sleep_ms(1000);
        } else {
            set_nonblocking(fd); /* connection.setblocking(False) */
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

        /* Read one message from *every* connection, in order, waiting on each in turn. */
        for (size_t i = 0; i < connection_count;) {
            if (read_and_echo(&connections[i])) {
                i++;
                continue;
            }
            /* (Python's loop keeps a dead connection in its list forever; we forget it.) */
            printf("Cliente %s desconectado\n", connections[i].who);
            close(connections[i].fd);
            memmove(&connections[i], &connections[i + 1],
                    (connection_count - i - 1) * sizeof connections[0]);
            connection_count--; /* the next client now sits at index i */
        }
    }
}
