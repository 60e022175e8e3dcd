/*
 * 02-recv-two-bytes.c - Chapter 3, section 1, "Ejemplo para leer desde un socket".
 *
 * Accept one client, then read what it sends two bytes at a time with recv(), printing every
 * piece, until the buffer ends in "\r\n" (our end-of-message mark) or the client hangs up.
 * Two bytes is deliberately tiny: it shows that one recv() returns *some* bytes, never "the
 * message", so the program has to keep a buffer and decide when a message is complete.
 *
 * This file IS 01-accept.c plus that reading, as in the notes: `make diff
 * STAGE=01-blocking/02-recv-two-bytes` shows just it (and the notes' new greeting).
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

    close(connection);
    close(server_socket);
    return 0;
}
