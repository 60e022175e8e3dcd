/*
 * 04-event-loop/02-graceful-shutdown.c - the callback-loop server, now stopping well.
 *
 * The book ends its echo server with a graceful shutdown, here on top of 01-callback-loop.c
 * (its "boom" handler included). On Ctrl-C (SIGINT) or `kill` (SIGTERM) the server
 *   - stops accepting: closes its listening socket (the port is free at once);
 *   - stops reading lines, sends each client what is already queued for it, then FIN
 *     ("nothing more from me"), and waits for the client to close its side: closing first
 *     could make the kernel reset the connection and lose those last replies;
 *   - gives all that at most 2 s (the book: asyncio.wait_for(task, 2) for every echo task),
 *     then closes whoever is left, reports what it did (clients served, lines echoed) and
 *     exits with 0.
 * A signal handler may interrupt the program ANYWHERE, even halfway through printf() or
 * malloc(), so it may call almost nothing (only async-signal-safe functions). The classic way
 * out is the SELF-PIPE: the handler only write()s one byte into a pipe that the loop watches
 * like any socket; the real work runs later, in an ordinary callback (asyncio's
 * loop.add_signal_handler does exactly this). A second signal stops at once.
 *
 * Run:    build/chapter-03/04-event-loop/02-graceful-shutdown [-q] [PORT]
 * Try:    printf 'boom\r\n' | nc -N localhost 8000    (that client gets an error, alone)
 *         nc -C localhost 8000, type Hola and Enter        (still echoed; -C: Enter is \r\n)
 *         then Ctrl-C in the server's terminal
 * Watch:  "descartado: su manejador falló con b'boom\r\n'"; on Ctrl-C, "Apagando (SIGINT)...";
 *         an interactive nc does not close on FIN, so the server waits for it: close it
 *         (Ctrl-D), or wait 2 s, or press Ctrl-C again. Then "Servidor detenido. Clientes
 *         atendidos: 2, líneas devueltas: 1", and `echo $?` says 0.
 */
#include "connection.h"
#include "event_loop.h"
#include "net.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SHUTDOWN_GRACE_MS 2000 /* how long pending replies get once we are asked to stop */

static struct event_loop *main_loop;
static int server_socket;
static int fd_limit;                /* raise_fd_limit(): no descriptor reaches it */
static struct connection **clients; /* clients[fd]: the connection on descriptor fd, or NULL */
static size_t client_count;         /* open connections: shutdown ends when none is left */
static unsigned long clients_served, lines_echoed;
static int signal_pipe[2]; /* [1]: the handler writes a byte; [0]: the loop reads it */
static bool stopping;      /* a signal came: we accept and read no more */
static long deadline_timer = -1;

/* The book's "boom": a client's line that makes its handler fail. */
static int handle_line(struct connection *c, const char *line, size_t len)
{
    if (len == 6 && memcmp(line, "boom\r\n", 6) == 0)
        return -1; /* Python: raise Exception('Unexpected network error') */
    return echo_line(c, line, len);
}

static void on_client_ready(struct event_loop *loop, int fd, unsigned ready, void *data);

/* All clients are gone after the signal: end loop_run(). */
static void stop_if_finished(void)
{
    if (!stopping || client_count > 0)
        return;
    loop_cancel(main_loop, deadline_timer);
    loop_unwatch(main_loop, signal_pipe[0]);
    loop_stop(main_loop);
}

/* Forget c and close it. */
static void close_client(struct connection *c)
{
    loop_unwatch(main_loop, c->fd);
    clients[c->fd] = NULL;
    client_count--;
    lines_echoed += c->lines;
    connection_close(c);
    stop_if_finished();
}

/* Tell the loop what c waits for now or, once it is done, close it. */
static void keep_watching(struct connection *c)
{
    if (!connection_done(c)) {
        unsigned events = (connection_wants_read(c) ? LOOP_READ : 0u) |
                          (connection_wants_write(c) ? LOOP_WRITE : 0u);
        if (loop_watch(main_loop, c->fd, events, on_client_ready, c) == 0)
            return;
        warn_call("loop_watch", errno); /* no memory to watch one more socket */
    }
    close_client(c);
}

/* sock_recv / sock_sendall: client c's socket is ready. */
static void on_client_ready(struct event_loop *loop, int fd, unsigned ready, void *data)
{
    (void)loop;
    (void)fd;
    struct connection *c = data;
    if (ready & LOOP_READ)
        connection_read(c, handle_line); /* boom: handle_line fails, c is dropped, alone */
    if (ready & LOOP_WRITE)
        connection_write(c);
    keep_watching(c);
}

/* sock_accept: the listening socket is readable. */
static void on_accept_ready(struct event_loop *loop, int fd, unsigned ready, void *data)
{
    (void)ready;
    (void)data;
    enum accept_result result;
    struct connection *c;
    while ((c = connection_accept(fd, &result)) != NULL) {
        clients[c->fd] = c;
        client_count++;
        clients_served++;
        keep_watching(c); /* create_task(echo(...)): from now on the loop calls it back */
    }
    /* Out of descriptors (EMFILE, already reported): the listening socket stays readable, so
     * watching it now would wake us at once, fail again, and spin: pause it a moment. */
    if (result == ACCEPT_SHORTAGE)
        loop_pause(loop, fd, accept_backoff_left());
}

static void close_everyone(void)
{
    for (int fd = 0; fd < fd_limit && client_count > 0; fd++)
        if (clients[fd] != NULL)
            close_client(clients[fd]);
}

/* The grace period is over: whoever is still waiting for replies is closed now. */
static void on_deadline(struct event_loop *loop, void *data)
{
    (void)loop;
    (void)data;
    deadline_timer = -1;
    printf("Plazo agotado; se cierran los que quedan: %zu\n", client_count);
    close_everyone();
}

/* The first signal: stop accepting, stop reading, let the queued replies drain. */
static void begin_shutdown(int signal_number)
{
    stopping = true;
    loop_unwatch(main_loop, server_socket);
    close(server_socket); /* new clients are refused by the kernel from now on */

    size_t pending = 0;
    for (int fd = 0; fd < fd_limit; fd++)
        if (clients[fd] != NULL && connection_wants_write(clients[fd]))
            pending++;
    printf("Apagando (%s): ya no se aceptan clientes. Conectados: %zu, con respuestas "
           "pendientes: %zu; plazo: %d s (otra señal: cerrar ya)\n",
           signal_number == SIGINT ? "SIGINT" : "SIGTERM", client_count, pending,
           SHUTDOWN_GRACE_MS / 1000);

    deadline_timer = loop_call_later(main_loop, SHUTDOWN_GRACE_MS, on_deadline, NULL);
    if (deadline_timer == -1) {
        warn_call("loop_call_later", errno); /* no grace period, then: close everyone now */
        close_everyone();
    }
    /* Each client gets what is queued for it, then FIN; we wait for it to close its side
     * too (see CONNECTION_CLOSING in common/connection.c), or for the deadline. */
    for (int fd = 0; fd < fd_limit && client_count > 0; fd++) {
        if (clients[fd] == NULL)
            continue;
        connection_finish(clients[fd]);
        keep_watching(clients[fd]);
    }
    stop_if_finished();
}

/* The self-pipe is readable: a signal arrived. Now we may do anything. */
static void on_signal(struct event_loop *loop, int fd, unsigned ready, void *data)
{
    (void)loop;
    (void)ready;
    (void)data;
    unsigned char received[16];
    ssize_t n = read(fd, received, sizeof received);
    if (n <= 0)
        return; /* EAGAIN: nothing after all */
    /* One byte per signal: two quick Ctrl-C may arrive in one read. */
    for (ssize_t i = 0; i < n; i++) {
        if (!stopping) {
            begin_shutdown(received[i]);
            continue;
        }
        printf("Segunda señal: se cierra ya\n");
        close_everyone();
        return;
    }
}

/* The signal handler: one write() (async-signal-safe), nothing else. */
static void on_signal_handler(int signal_number)
{
    int saved_errno = errno; /* the interrupted code may be about to read errno */
    unsigned char byte = (unsigned char)signal_number;
    ssize_t ignored = write(signal_pipe[1], &byte, 1); /* pipe full: a byte already waits */
    (void)ignored;
    errno = saved_errno;
}

static void catch_stop_signals(void)
{
    if (pipe(signal_pipe) == -1)
        die("pipe");
    /* Non-blocking both ends: the handler must never block on a full pipe, and the loop
     * reads until EAGAIN. */
    set_nonblocking(signal_pipe[0]);
    set_nonblocking(signal_pipe[1]);

    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal_handler;
    sigemptyset(&action.sa_mask);
    /* SA_RESTART: a write() to stdout that the signal interrupts is resumed, so no line is
     * lost. poll() is never resumed (it fails with EINTR whatever the flags): the loop then
     * simply waits again, and finds the byte in the self-pipe. */
    action.sa_flags = SA_RESTART;
    if (sigaction(SIGINT, &action, NULL) == -1 || sigaction(SIGTERM, &action, NULL) == -1)
        die("sigaction");
}

int main(int argc, char **argv)
{
    int port = server_init(argc, argv);
    fd_limit = raise_fd_limit(); /* one descriptor per client: do not stop at the usual 1024 */
    server_socket = listen_tcp(port);
    set_nonblocking(server_socket); /* accept() until EAGAIN, never waiting in it */
    catch_stop_signals();

    clients = calloc((size_t)fd_limit, sizeof *clients);
    if (clients == NULL)
        die("calloc");
    main_loop = loop_new();
    if (loop_watch(main_loop, server_socket, LOOP_READ, on_accept_ready, NULL) == -1 ||
        loop_watch(main_loop, signal_pipe[0], LOOP_READ, on_signal, NULL) == -1)
        die("loop_watch");
    loop_run(main_loop); /* until a signal has been handled and every client is closed */

    printf("Servidor detenido. Clientes atendidos: %lu, líneas devueltas: %lu\n", clients_served,
           lines_echoed);
    loop_free(main_loop);
    free(clients);
    close(signal_pipe[0]);
    close(signal_pipe[1]);
    return 0;
}
