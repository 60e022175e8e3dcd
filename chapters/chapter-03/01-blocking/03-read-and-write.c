/*
 * 03-read-and-write.c - Chapter 3, section 1, "Ejemplo para leer y escribir".
 *
 * The previous stage (02-recv-two-bytes) plus an answer: once the message is complete, send
 * "Gracias por su Mensaje\n" back with send_all(), which is Python's sendall(): send() may
 * write fewer bytes than asked, so it loops until everything has been handed to the kernel.
 *
 * Run:    build/chapter-03/01-blocking/03-read-and-write [PORT]
 * Try:    printf 'Hola Mundo\r\n' | nc -N 127.0.0.1 8000
 * Watch:  the server prints the same lines as 02-recv-two-bytes; the client prints
 *           Gracias por su Mensaje
 *         With the document's echo -e "Hola Mundo\r\n" the client sends one more "\n" that we
 *         never read. Closing a socket whose unread data is still queued makes the kernel send
 *         RST instead of a polite FIN, and nc, seeing the error, may drop the reply it had not
 *         printed yet: run it a few times and the answer often goes missing (Python too).
 *         Writing to a client that has gone: the first send usually succeeds (its kernel answers
 *         with RST); a later one fails with EPIPE, reported on stderr (SIGPIPE is ignored, as in
 *         Python, so the error is reported instead of killing us).
 */
#include "net.h"
#include "pyrepr.h"
#include "util.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Python's buffer grows without limit; ours is fixed, and a message that fills it is cut. */
#define BUFFER_SIZE 4096

/* buffer[-2:] == b'\r\n' */
static int ends_with_crlf(const char *buffer, size_t len)
{
    return len >= 2 && buffer[len - 2] == '\r' && buffer[len - 1] == '\n';
}

int main(int argc, char **argv)
{
    int port = server_init(argc, argv);

    /* The four steps of 01-accept, as they were. */
    int server_socket = socket(AF_INET, SOCK_STREAM, 0);
    if (server_socket == -1)
        die("socket");

    int on = 1;
    if (setsockopt(server_socket, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == -1)
        die("setsockopt(SO_REUSEADDR)");

    struct sockaddr_in server_address;
    memset(&server_address, 0, sizeof server_address);
    server_address.sin_family = AF_INET;
    server_address.sin_port = htons((uint16_t)port);
    server_address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(server_socket, (struct sockaddr *)&server_address, sizeof server_address) == -1)
        die("bind");

    if (listen(server_socket, SOMAXCONN) == -1)
        die("listen");

    struct sockaddr_in client_address;
    socklen_t address_len = sizeof client_address;
    int connection = accept(server_socket, (struct sockaddr *)&client_address, &address_len);
    if (connection == -1)
        die("accept");

    char who[ADDRESS_TEXT_MAX];
    format_address(&client_address, who);
    printf("Cliente connectandose desde %s\n", who);

    char buffer[BUFFER_SIZE];
    size_t len = 0;
    while (!ends_with_crlf(buffer, len)) {
        if (len == sizeof buffer) {
            fprintf(stderr, "message longer than %d bytes without \\r\\n: stopping here\n",
                    BUFFER_SIZE);
            break;
        }
        /* recv() blocks until at least one byte is there, and returns at most 2. */
        size_t want = sizeof buffer - len < 2 ? sizeof buffer - len : 2;
        ssize_t n = recv(connection, buffer + len, want, 0);
        if (n == -1)
            die("recv"); /* e.g. ECONNRESET: the client reset the connection */
        if (n == 0)
            break; /* the client closed its side: no more data will come */
        print_bytes("Data leida: ", buffer + len, (size_t)n);
        len += (size_t)n;
    }
    print_bytes("Toda la data leida: ", buffer, len);

    static const char thanks[] = "Gracias por su Mensaje\n";
    if (send_all(connection, thanks, sizeof thanks - 1) == -1)
        die("sendall"); /* EPIPE or ECONNRESET: the client is gone */

    close(connection);
    close(server_socket);
    return 0;
}
