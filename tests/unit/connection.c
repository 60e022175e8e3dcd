/*
 * tests/unit/connection.c - unit tests of common/connection.c where no nc client can reach.
 *
 * The bats suites drive the line stages from outside; some promises of connection.h only show
 * when the timing is exactly right, which a client cannot arrange: for instance a client that
 * sends FIN while echoes still wait in its output queue (with nc, poll() empties the queue
 * first). Here the test is both sides: a real TCP connection on 127.0.0.1, the server side
 * driven by calling connection_read() / connection_write() directly.
 *
 * Output: one TAP line per check, then "1..N"; exit status 1 if any check failed. The
 * connection's own messages ("Cliente ... descartado") go to /dev/null. Run by
 * tests/common.bats; by hand: build/tests/unit/connection
 */
#include "connection.h"
#include "net.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static FILE *tap;
static int checks, failures;

static void check(bool ok, const char *what)
{
    checks++;
    if (!ok)
        failures++;
    fprintf(tap, "%sok %d - %s\n", ok ? "" : "not ", checks, what);
}

static int listener;

/* A client connected to `listener`, and the server's connection for it. */
static struct connection *connect_pair(int *client)
{
    struct sockaddr_in address;
    socklen_t len = sizeof address;
    if (getsockname(listener, (struct sockaddr *)&address, &len) == -1)
        die("getsockname");
    *client = socket(AF_INET, SOCK_STREAM, 0);
    if (*client == -1)
        die("socket");
    /* A small receive buffer: a client that does not read fills it quickly. */
    int small = 4096;
    if (setsockopt(*client, SOL_SOCKET, SO_RCVBUF, &small, sizeof small) == -1)
        die("setsockopt(SO_RCVBUF)");
    if (connect(*client, (struct sockaddr *)&address, sizeof address) == -1)
        die("connect");
    enum accept_result status = ACCEPT_NOBODY;
    struct connection *c = NULL;
    for (int i = 0; i < 100 && c == NULL; i++) { /* the listener is non-blocking */
        c = connection_accept(listener, &status);
        if (c == NULL)
            poll(NULL, 0, 10);
    }
    if (c == NULL)
        die_msg("connection_accept found no client");
    return c;
}

static void send_text(int fd, const char *text, size_t len)
{
    if (send_all(fd, text, len) == -1)
        die("send");
}

/* Wait (at most 1 s) until fd is readable. */
static bool wait_readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN, .revents = 0};
    return poll(&p, 1, 1000) == 1;
}

/* Read what the client has received so far (waiting up to 1 s for the first byte). */
static size_t receive(int fd, char *buf, size_t size)
{
    if (!wait_readable(fd))
        return 0;
    ssize_t n = recv(fd, buf, size, MSG_DONTWAIT);
    return n > 0 ? (size_t)n : 0;
}

static void test_line_in_pieces(void)
{
    int client;
    struct connection *c = connect_pair(&client);
    send_text(client, "Ho", 2);
    wait_readable(c->fd);
    connection_read(c, echo_line);
    check(c->lines == 0 && out_queue_pending(&c->out) == 0, "half a line: nothing echoed yet");
    send_text(client, "la\r\nuno\r\ndos\r\n", 14);
    wait_readable(c->fd);
    connection_read(c, echo_line);
    char got[64] = {0};
    size_t n = 0;
    while (n < 16) {
        size_t more = receive(client, got + n, sizeof got - n);
        if (more == 0)
            break;
        n += more;
    }
    check(n == 16 && memcmp(got, "Hola\r\nuno\r\ndos\r\n", 16) == 0 && c->lines == 3,
          "the rest of the line and two more in one read: three lines, in order");
    connection_close(c);
    close(client);
}

/* The client sends lines and reads nothing until its echoes pile up in our queue. */
static size_t fill_until_queued(struct connection *c, int client)
{
    char line[100];
    memset(line, 'x', sizeof line);
    line[sizeof line - 2] = '\r';
    line[sizeof line - 1] = '\n';
    size_t sent = 0;
    for (int i = 0; i < 100000 && out_queue_pending(&c->out) == 0; i++) {
        send_text(client, line, sizeof line);
        sent += sizeof line;
        wait_readable(c->fd);
        connection_read(c, echo_line);
    }
    return sent;
}

/* A small send buffer on the server side, so that its echoes pile up quickly. */
static void small_send_buffer(const struct connection *c)
{
    int small = 4096;
    if (setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == -1)
        die("setsockopt(SO_SNDBUF)");
}

static void test_fin_keeps_queued_echoes(void)
{
    int client;
    struct connection *c = connect_pair(&client);
    small_send_buffer(c);
    size_t sent = fill_until_queued(c, client);
    size_t pending = out_queue_pending(&c->out);
    check(pending > 0, "a client that does not read: its echoes wait in the output queue");

    shutdown(client, SHUT_WR); /* FIN: "nothing more from me", while echoes are still queued */
    wait_readable(c->fd);
    connection_read(c, echo_line);
    check(c->state == CONNECTION_FINISHING && out_queue_pending(&c->out) == pending,
          "FIN with echoes queued: FINISHING, and the queue is kept");

    size_t got = 0;
    char buf[65536];
    for (int i = 0; i < 100000 && !connection_done(c); i++) {
        got += receive(client, buf, sizeof buf);
        connection_write(c);
    }
    connection_close(c);
    ssize_t n;
    while (wait_readable(client) && (n = recv(client, buf, sizeof buf, 0)) > 0)
        got += (size_t)n;
    check(got == sent, "then every echoed byte reaches the client before we close");
    close(client);
}

static void test_back_pressure(void)
{
    int client;
    struct connection *c = connect_pair(&client);
    small_send_buffer(c);
    fill_until_queued(c, client);
    /* Go on sending, never reading: the server must stop reading from it. */
    char line[100];
    memset(line, 'y', sizeof line);
    line[sizeof line - 2] = '\r';
    line[sizeof line - 1] = '\n';
    for (int i = 0; i < 200 && connection_wants_read(c); i++) {
        send_text(client, line, sizeof line);
        wait_readable(c->fd);
        connection_read(c, echo_line);
        connection_write(c);
    }
    check(!connection_wants_read(c), "a client that never reads stops being read");
    check(out_queue_pending(&c->out) <= OUTPUT_MAX_BYTES,
          "its queue never holds more than OUTPUT_MAX_BYTES");
    connection_close(c);
    close(client);
}

static void test_line_too_long(void)
{
    int client;
    struct connection *c = connect_pair(&client);
    char big[LINE_MAX_BYTES + 1];
    memset(big, 'a', sizeof big);
    send_text(client, big, sizeof big);
    for (int i = 0; i < 10 && c->state == CONNECTION_OPEN; i++) {
        wait_readable(c->fd);
        connection_read(c, echo_line);
    }
    check(c->state == CONNECTION_CLOSING && c->said_why, "a line too long: the client is dropped");
    char got[256] = {0};
    size_t n = receive(client, got, sizeof got - 1);
    static const char reply[] =
        "Error: línea de más de 1024 bytes sin \\r\\n, se cierra la conexión\r\n";
    check(n == sizeof reply - 1 && memcmp(got, reply, n) == 0, "it gets one error line");
    check(wait_readable(client) && recv(client, got, sizeof got, 0) == 0, "then FIN");
    connection_close(c);
    close(client);
}

/* Failed calls name their errno (util.c's errno_name): every value this system has a message
 * for has a name, and the names are the right ones. */
static void test_errno_names(void)
{
    int unnamed = 0;
    for (int err = 1; err < 4096; err++) {
        const char *message = strerror(err);
        if (strncmp(message, "Unknown error", 13) != 0 && strcmp(errno_name(err), "?") == 0) {
            fprintf(tap, "# errno %d (%s) has no name\n", err, message);
            unnamed++;
        }
    }
    check(unnamed == 0, "errno_name: every errno the system knows has its name");
    check(strcmp(errno_name(EAGAIN), "EAGAIN") == 0 &&
              strcmp(errno_name(ENOTSOCK), "ENOTSOCK") == 0 &&
              strcmp(errno_name(ECONNRESET), "ECONNRESET") == 0,
          "errno_name: EAGAIN, ENOTSOCK, ECONNRESET by their names");
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as in the stages (server_init): EPIPE, not a silent death */
    int out = dup(STDOUT_FILENO);
    if (out == -1 || (tap = fdopen(out, "w")) == NULL)
        die("fdopen");
    setvbuf(tap, NULL, _IOLBF, 0);
    if (freopen("/dev/null", "w", stdout) == NULL) /* the connection's own messages */
        die("freopen");
    quiet = true;

    listener = listen_tcp(0); /* port 0: any free port */
    set_nonblocking(listener);

    test_line_in_pieces();
    test_fin_keeps_queued_echoes();
    test_back_pressure();
    test_line_too_long();
    test_errno_names();

    close(listener);
    fprintf(tap, "1..%d\n", checks);
    fclose(tap);
    return failures == 0 ? 0 : 1;
}
