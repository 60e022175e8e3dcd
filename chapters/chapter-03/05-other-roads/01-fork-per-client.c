/*
 * 05-other-roads/01-fork-per-client.c - the blocking server of 01-04, one PROCESS per client.
 *
 * The first fix every student proposes for the stall of 01-blocking/04-many-clients: "if one
 * quiet client blocks the loop, give every client its own loop". This is the classic way to do
 * it (Stevens' UNIX Network Programming, CS:APP): the parent only accept()s, and for each new
 * client it fork()s a child that serves that one client with plain BLOCKING recv() and send(),
 * then exits. A quiet client now blocks only its own process: the stall is gone, and the
 * per-client code stays as simple as in 01-04. The line protocol, the framing and the bounds
 * are those of section 3 (common/lines.h: a line may come in pieces, many lines may come in
 * one read, a line is at most 1024 bytes; the same messages).
 *
 * What to look for:
 *   - after fork() there are two copies of the client's socket: the child's, which it serves,
 *     and the parent's, which the parent must close at once (or the client never sees FIN);
 *     the child closes its copy of the listening socket the same way;
 *   - a child that has exited stays a ZOMBIE (its exit status kept for the parent) until the
 *     parent wait()s for it: SIGCHLD tells the parent that a child ended, and its handler
 *     reaps every child that is done (waitpid(-1, WNOHANG) in a loop: signals do not queue,
 *     one SIGCHLD may stand for several children);
 *   - no output queue: a blocking send() waits until the kernel has taken the echo, so a
 *     client that never reads just leaves its own process waiting in send() (back-pressure,
 *     for free);
 *   - what a process CANNOT do: share memory with the others. Each child has its own copy of
 *     every variable, so a "lines echoed" counter incremented in the children never changes
 *     in the parent, which therefore cannot print a total when it stops (02-thread-per-client
 *     can: its threads share one counter, and pay for that with a mutex);
 *   - the children also share the terminal: each prints its lines whole, but a very long
 *     line (a 1 KB binary line is printed as about 4 KB of \xNN) can reach the pipe in more
 *     than one write and interleave with another child's line. The event loops print from
 *     one process and never do.
 *
 * Run:    build/chapter-03/05-other-roads/01-fork-per-client [-q] [PORT]
 * Try:    nc localhost 8000                                 (connects, says nothing)
 *         printf 'Hola Mundo3\r\n\n' | nc -N localhost 8000  (echoed at once: no stall)
 *         ps --ppid $(pgrep -f 01-fork-per-client | head -1)   (one child per client)
 * Watch:  the same output as 03-selectors/02-select-lines; one process per connected client,
 *         and no <defunct> (zombie) process once a client has left.
 */
#include "lines.h"
#include "net.h"
#include "pyrepr.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

/* What a dropped client reads before we close: the words of section 3 (common/connection.c). */

struct client {
    int fd;
    char who[ADDRESS_TEXT_MAX]; /* ('127.0.0.1', 40068), for the messages */
    bool said_why;              /* a "descartado" line was printed: no "desconectado" after it */
    struct line_framer in;      /* bytes received, not yet a complete line */
    char in_bytes[LINE_MAX_BYTES];
};

/* SIGCHLD: reap every child that has ended, so that none stays a zombie. */
static void reap_children(int signal_number)
{
    (void)signal_number;
    int saved_errno = errno; /* waitpid() may change errno under the code we interrupted */
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    errno = saved_errno;
}

static void reap_children_on_sigchld(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = reap_children;
    sigemptyset(&action.sa_mask);
    /* SA_RESTART: a blocked accept() resumes after the handler instead of failing with EINTR;
     * SA_NOCLDSTOP: no signal when a child is only stopped (Ctrl-Z), just when it ends. */
    action.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    if (sigaction(SIGCHLD, &action, NULL) == -1)
        die("sigaction(SIGCHLD)");
}

/* recv() or send() on c failed with err: the client is gone. A reset (ECONNRESET, or EPIPE
 * after one) is the client's right, so one calm line says so, as in section 3 (none for a
 * client already dropped); anything else is reported as the failed call it is. */
static void gone(struct client *c, const char *call, int err)
{
    if (err != ECONNRESET && err != EPIPE) {
        warn_call(call, err);
    } else if (!c->said_why) {
        printf("Cliente %s desconectado (conexión reiniciada)\n", c->who);
        c->said_why = true;
    }
}

/*
 * The line was too long: say why, send FIN, and read and throw away what the client still
 * sends for at most CLOSING_LINGER_MS, so that our close() does not answer its next bytes
 * with RST, which could destroy the error line before it reads it (common/connection.c).
 */
static void drop_client(struct client *c)
{
    printf("Cliente %s descartado: línea de más de %d bytes sin \\r\\n\n", c->who, LINE_MAX_BYTES);
    c->said_why = true;
    if (send_all(c->fd, TOO_LONG_REPLY, sizeof TOO_LONG_REPLY - 1) == -1)
        return; /* it has gone already: nothing to protect */
    if (shutdown(c->fd, SHUT_WR) == -1)
        return;
    /* A blocking recv() with a time-out: SO_RCVTIMEO makes it fail with EAGAIN after that. */
    struct timeval most = {.tv_sec = CLOSING_LINGER_MS / 1000,
                           .tv_usec = (CLOSING_LINGER_MS % 1000) * 1000L};
    if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &most, sizeof most) == -1)
        return;
    long long until = monotonic_ms() + CLOSING_LINGER_MS;
    char sink[4096];
    while (monotonic_ms() < until && recv(c->fd, sink, sizeof sink, 0) > 0)
        ;
}

/*
 * Serve one client until it leaves: every call here BLOCKS, as in 01-04, but only this
 * client's own process (or thread) waits. Lines in pieces, many lines per read and the bound
 * on length are the line framer's job (common/lines.h), as in section 3.
 */
static void serve_client(struct client *c)
{
    line_framer_init(&c->in, c->in_bytes, sizeof c->in_bytes);
    for (;;) {
        size_t room;
        char *space = line_framer_space(&c->in, &room);
        ssize_t n = recv(c->fd, space, room, 0); /* waits for THIS client only */
        if (n == -1) {
            gone(c, "recv", errno); /* ECONNRESET: the client is gone */
            return;
        }
        if (n == 0)
            return; /* FIN: an unfinished line is not a line, it is dropped */
        line_framer_commit(&c->in, (size_t)n);

        const char *line;
        size_t len;
        enum line_status status;
        while ((status = line_framer_next(&c->in, &line, &len)) == LINE_READY) {
            if (!quiet)
                print_bytes("Toda la data leida: ", line, len);
            /* Blocks while the client does not read: we stop reading it meanwhile. */
            if (send_all(c->fd, line, len) == -1) {
                gone(c, "send", errno); /* EPIPE, ECONNRESET: it left without reading */
                return;
            }
        }
        if (status == LINE_TOO_LONG) {
            drop_client(c);
            return;
        }
    }
}

/* The child's whole life: serve the client, say goodbye, exit. */
static _Noreturn void run_child(struct client *c)
{
    serve_client(c);
    if (!c->said_why)
        printf("Cliente %s desconectado\n", c->who);
    close(c->fd);
    exit(0);
}

int main(int argc, char **argv)
{
    int port = server_init(argc, argv);
    reap_children_on_sigchld();
    int server_socket = listen_tcp(port);

    for (;;) {
        /* Blocks until the next client connects: the parent has nothing else to do. */
        struct sockaddr_in address;
        socklen_t address_len = sizeof address;
        int fd = accept(server_socket, (struct sockaddr *)&address, &address_len);
        if (fd == -1) {
            /* Out of descriptors (EMFILE, reported): the client waits in the listen queue;
             * accept() would fail again at once, so wait a moment instead of spinning. */
            if (accept_failed(errno) == ACCEPT_SHORTAGE)
                sleep_ms(ACCEPT_BACKOFF_MS);
            continue;
        }
        struct client c = {.fd = fd, .said_why = false};
        format_address(&address, c.who);
        /* stdout is line-buffered, so nothing waits in its buffer to be printed twice: fork()
         * copies the buffer too, and the child would print it again. */
        printf("Cliente connectandose desde %s\n", c.who);

        pid_t pid = fork();
        if (pid == -1) { /* EAGAIN: the process limit (ulimit -u, pid_max); ENOMEM */
            warn_call("fork", errno);
            refuse_client(fd, c.who, "no se pudo crear un proceso (fork)");
            continue;
        }
        if (pid == 0) {
            close(server_socket); /* the child serves its client and accepts nobody */
            run_child(&c);
        }
        close(fd); /* the child has its own copy; ours would keep the connection open */
    }
}
