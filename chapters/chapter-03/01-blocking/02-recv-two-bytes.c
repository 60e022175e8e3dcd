/*
 * 02-recv-two-bytes.c - Chapter 3, section 1, "Ejemplo para leer desde un socket".
 *
 * Accept one client, then read what it sends two bytes at a time with recv(), printing every
 * piece, until the buffer ends in "\r\n" (our end-of-message mark) or the client hangs up.
 * Two bytes is deliberately tiny: it shows that one recv() returns *some* bytes, never "the
 * message", so the program has to keep a buffer and decide when a message is complete.
 *
 * Run:    build/chapter-03/01-blocking/02-recv-two-bytes [PORT]
 * Try:    printf 'Hola Mundo\r\n' | nc -N 127.0.0.1 8000
 *         (the document's line, echo -e "Hola Mundo\r\n" | nc localhost 8000, sends one more
 *          "\n" after the "\r\n"; the server stops reading before it)
 * Watch:  Cliente connectandose desde ('127.0.0.1', 56860)
 *         Data leida: b'Ho'
 *         ...
 *         Data leida: b'\r\n'
 *         Toda la data leida: b'Hola Mundo\r\n'
 */
#include "net.h"
#include "pyrepr.h"
#include "util.h"

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
    int server_socket = listen_tcp(port);

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

    close(connection);
    close(server_socket);
    return 0;
}
