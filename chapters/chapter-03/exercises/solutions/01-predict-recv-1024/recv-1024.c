/*
 * Exercise 1 - predict, then verify: recv(1024) instead of recv(2).
 * Ejercicio 1 - predecir y luego comprobar: recv(1024) en vez de recv(2).
 *
 * EN: This is a copy of 01-blocking/02-recv-two-bytes.c. BEFORE you change anything, write in
 *     prediction-1.txt and prediction-2.txt what the server will print once RECV_SIZE is 1024
 *     (README.md says for which clients). Then set RECV_SIZE to 1024 and check:
 *         make exercise N=1
 * ES: Es una copia de 01-blocking/02-recv-two-bytes.c. ANTES de tocar nada, escribe en
 *     prediction-1.txt y prediction-2.txt lo que imprimirá el servidor cuando RECV_SIZE valga
 *     1024 (README.md dice con qué clientes). Después pon RECV_SIZE a 1024 y comprueba:
 *         make exercise N=1
 *
 * Run:    build/exercises/01-predict-recv-1024/recv-1024 [PORT]
 * Try:    printf 'Hola Mundo\r\n' | nc -N 127.0.0.1 8000
 */
#include "net.h"
#include "pyrepr.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Python's buffer grows without limit; ours is fixed, and a message that fills it is cut. */
#define BUFFER_SIZE 4096

/* How many bytes we ask recv() for at most: 1024, the size the document recommends. */
#define RECV_SIZE 1024

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
    int connection;
    do { /* EINTR: a signal interrupted the wait before anyone came: wait again */
        connection = accept(server_socket, (struct sockaddr *)&client_address, &address_len);
    } while (connection == -1 && errno == EINTR);
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
        /* recv() blocks until at least one byte is there, and returns at most RECV_SIZE. */
        size_t room = sizeof buffer - len;
        size_t want = room < RECV_SIZE ? room : RECV_SIZE;
        ssize_t n = recv(connection, buffer + len, want, 0);
        if (n == -1) {
            if (errno == EINTR)
                continue; /* interrupted by a signal before any byte arrived: ask again */
            die("recv");  /* e.g. ECONNRESET: the client reset the connection */
        }
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
