/*
 * 01-accept.c - Chapter 3, section 1 "Sockets bloqueantes", first experiment ("Ejemplo completo").
 *
 * A server socket on 127.0.0.1 waits for one client. accept() blocks until someone connects,
 * then hands back a *new* socket for that client; we print the client's address and exit.
 *
 * Run:    make && build/chapter-03/01-blocking/01-accept        (port: argument, $PORT or 8000)
 * Try:    nc -N 127.0.0.1 8000 </dev/null      (or: curl localhost:8000, telnet localhost 8000)
 * Watch:  nothing happens until the client connects; then one line, with the client's own port:
 *           I got a connection from ('127.0.0.1', 56188)!
 *         Run it three times: the port changes each time (the kernel picks a free one for nc).
 */
#include "net.h"
#include "util.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int port = server_init(argc, argv);

    /* AF_INET: addresses are an IPv4 host and a port. SOCK_STREAM: TCP. */
    int server_socket = socket(AF_INET, SOCK_STREAM, 0);
    if (server_socket == -1)
        die("socket");

    /* SO_REUSEADDR = 1: restart the server on the same port at once, without waiting for the
     * kernel to release it ("Address already in use"). */
    int on = 1;
    if (setsockopt(server_socket, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == -1)
        die("setsockopt(SO_REUSEADDR)");

    /* server_address = ('127.0.0.1', port). Network byte order for both numbers. */
    struct sockaddr_in server_address;
    memset(&server_address, 0, sizeof server_address);
    server_address.sin_family = AF_INET;
    server_address.sin_port = htons((uint16_t)port);
    server_address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(server_socket, (struct sockaddr *)&server_address, sizeof server_address) == -1)
        die("bind");

    /* From here on the kernel completes TCP handshakes for us and queues the connections. */
    if (listen(server_socket, SOMAXCONN) == -1)
        die("listen");

    /* accept() blocks until a queued connection is there, and returns a new socket for it.
     * (The next two stages repeat the four steps above as they are; from 04-many-clients on
     * they are one call, listen_tcp(port), in common/net.c.)
     * No EINTR loop: no signal handler is installed, so a signal cannot interrupt the wait and
     * return: Ctrl-C ends the process, SIGPIPE is ignored, and after Ctrl-Z and fg the kernel
     * resumes the call by itself. */
    struct sockaddr_in client_address;
    socklen_t address_len = sizeof client_address;
    int connection = accept(server_socket, (struct sockaddr *)&client_address, &address_len);
    if (connection == -1)
        die("accept");

    char who[ADDRESS_TEXT_MAX];
    format_address(&client_address, who);
    printf("I got a connection from %s!\n", who);

    close(connection);
    close(server_socket);
    return 0;
}
