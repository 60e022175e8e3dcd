/*
 * 01-accept-eagain.c - Chapter 3, section 2 "Sockets NO bloqueantes", "Ejemplo no bloqueante".
 *
 * The stall of 01-blocking/04-many-clients comes from calls that wait. Python's
 * setblocking(False) is fcntl(fd, F_SETFL, O_NONBLOCK) in C: from then on a call that would
 * have to wait returns -1 at once with errno EAGAIN (also spelled EWOULDBLOCK) instead.
 *
 * THE FLAW THIS STAGE TEACHES (keep it): the loop is the blocking one, unchanged, so it treats
 * "nothing yet" as a failure. The very first accept() finds no client waiting and the program
 * dies, just as Python dies with "BlockingIOError: [Errno 11] Resource temporarily unavailable".
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
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUFFER_SIZE 4096
#define MAX_CLIENTS 1024

static int connections[MAX_CLIENTS];
static size_t connection_count;

static int ends_with_crlf(const char *buffer, size_t len)
{
    return len >= 2 && buffer[len - 2] == '\r' && buffer[len - 1] == '\n';
}

int main(int argc, char **argv)
{
    int port = server_init(argc, argv);
    int server_socket = listen_tcp(port);
    set_nonblocking(server_socket); /* server_socket.setblocking(False) */

    for (;;) {
        printf("Listo para recibir mensajes!\n");

        struct sockaddr_in address;
        socklen_t address_len = sizeof address;
        int connection = accept(server_socket, (struct sockaddr *)&address, &address_len);
        if (connection == -1) {
            if (errno == EINTR)
                continue;
            die("accept"); /* EAGAIN: nobody is connecting right now, and we do not expect that */
        }
        set_nonblocking(connection); /* connection.setblocking(False) */
        char who[ADDRESS_TEXT_MAX];
        format_address(&address, who);
        printf("Cliente connectandose desde %s\n", who);
        if (connection_count == MAX_CLIENTS)
            die_msg("too many clients");
        connections[connection_count++] = connection;

        /* Unchanged from the blocking loop, so a client with nothing to say yet is fatal too. */
        for (size_t i = 0; i < connection_count; i++) {
            char buffer[BUFFER_SIZE];
            size_t len = 0;
            while (!ends_with_crlf(buffer, len) && len < sizeof buffer) {
                size_t want = sizeof buffer - len < 2 ? sizeof buffer - len : 2;
                ssize_t n = recv(connections[i], buffer + len, want, 0);
                if (n == -1) {
                    if (errno == EINTR)
                        continue;
                    die("recv"); /* EAGAIN: this client has sent nothing yet */
                }
                if (n == 0)
                    break;
                print_bytes("Data leida: ", buffer + len, (size_t)n);
                len += (size_t)n;
            }
            print_bytes("Toda la data leida: ", buffer, len);
            if (len > 0 && send(connections[i], buffer, len, 0) == -1)
                die("send");
        }
    }
}
