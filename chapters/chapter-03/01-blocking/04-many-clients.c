/*
 * 04-many-clients.c - Chapter 3, section 1, "Ejemplo para leer y escribir desde multiples usuarios".
 *
 * A listening socket can hand out many connections: we accept() in an endless loop, keep every
 * connection in a list, and after each accept we read one message ("...\r\n", two bytes at a
 * time) from every connection so far and echo it back.
 *
 * THE FLAW THIS STAGE TEACHES (keep it): every call here blocks. accept() waits for the next
 * client, recv() waits for the client it is reading. While the loop waits on client 1, which
 * is connected but quiet, client 2 is never read and gets no echo: one idle client stalls
 * everyone. Only when client 1 speaks again does the loop move on and answer client 2.
 *
 * Run:    build/chapter-03/01-blocking/04-many-clients [PORT]
 * Try:    in two more terminals, one after the other (nc keeps the connection open):
 *           echo -e "Hola Mundo\r\n" | nc localhost 8000
 *           printf 'Hola Mundo2\r\n' | nc localhost 8000
 * Watch:  client 1 gets "Hola Mundo" back; client 2 gets nothing. The server's last line is
 *         Data leida: b'\n'   (the extra "\n" echo -e sent after client 1's "\r\n"): it is now
 *         blocked in recv() on client 1. Press Ctrl-C in client 1's terminal (recv() returns 0)
 *         and client 2 gets its echo. To type into client 1 instead, start it as
 *         `nc -C localhost 8000` (-C sends Enter as "\r\n"): each line releases one round.
 *         (The notes give client 2 echo -e "Hola Mundo2\r\n" too: then its "\r" falls at an odd
 *         offset, with a "\n" after the "\r\n", so the two-byte tail check never sees the end
 *         and it gets no echo even after the release; 02-non-blocking/02-eagain-loop explains.)
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
