/*
 * 04-event-loop/01-callback-loop.c - the line echo server, written on an event loop with callbacks.
 *
 * The book's last step in this chapter is an echo server on asyncio's event loop:
 *
 *     async def echo(connection, loop):
 *         while data := await loop.sock_recv(connection, 1024):
 *             await loop.sock_sendall(connection, data)
 *
 *     async def listen_for_connection(server_socket, loop):
 *         while True:
 *             connection, address = await loop.sock_accept(server_socket)
 *             connection.setblocking(False)
 *             print(f"Got a connection from {address}")
 *             asyncio.create_task(echo(connection, loop))
 *
 * No select() in sight: the loop does the waiting. Underneath, it is the readiness loop of
 * 03-selectors/, turned inside out: instead of "wait, then look at every socket", each socket
 * gets a function that the loop calls when that socket is ready (asyncio: loop.add_reader),
 * and a timer is a function the loop calls later (loop.call_later). C has no `await`, so where
 * Python writes one coroutine that pauses at each await, we write one callback per "ready":
 *
 *     sock_accept   -> on_accept_ready():  the listening socket is readable: accept
 *     sock_recv     -> on_client_ready() with LOOP_READ:  read, frame lines, queue echoes
 *     sock_sendall  -> on_client_ready() with LOOP_WRITE: send what the socket did not take
 *     (call_later   -> loop_pause(): after running out of descriptors, try again later)
 *
 * AN ERROR IN ONE TASK STAYS IN THAT TASK. The book's echo coroutine raises an exception when
 * a client sends "boom"; asyncio logs it, and every other client carries on. A callback is
 * our task: handle_line(), the handler of each line, fails (returns -1) on `boom\r\n`, and
 * the connection code logs it, sends that client an error line and closes it. Nobody else
 * notices.
 *
 * The loop itself is common/event_loop.c (about 250 lines, poll() underneath: read it next to
 * this file); 02-graceful-shutdown.c builds on the same loop. The connections are the same as
 * in 03-selectors/ (common/connection.c): same lines, same output, same limits.
 *
 * Run:    build/chapter-03/04-event-loop/01-callback-loop [-q] [PORT]
 * Try:    nc localhost 8000                 (terminal 2: connect, say nothing)
 *         printf 'Hola Mundo3\r\n\n' | nc -N localhost 8000     (terminal 3: echoed at once)
 *         printf 'boom\r\n' | nc -N localhost 8000    (that client gets an error, alone)
 * Watch:  the same output as 03-selectors/02-select-lines; the server sleeps at 0% CPU;
 *         "descartado: su manejador falló con b'boom\r\n'", and terminal 2 still connected.
 */
#include "connection.h"
#include "event_loop.h"
#include "net.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct event_loop *main_loop;
static int server_socket;
static int fd_limit;                /* raise_fd_limit(): no descriptor reaches it */
static struct connection **clients; /* clients[fd]: the connection on descriptor fd, or NULL */

/* The book's "boom": a client's line that makes its handler fail. */
static int handle_line(struct connection *c, const char *line, size_t len)
{
    if (len == 6 && memcmp(line, "boom\r\n", 6) == 0)
        return -1; /* Python: raise Exception('Unexpected network error') */
    return echo_line(c, line, len);
}

static void on_client_ready(struct event_loop *loop, int fd, unsigned ready, void *data);

/* Forget c and close it. */
static void close_client(struct connection *c)
{
    loop_unwatch(main_loop, c->fd);
    clients[c->fd] = NULL;
    connection_close(c);
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
        keep_watching(c); /* create_task(echo(...)): from now on the loop calls it back */
    }
    /* Out of descriptors (EMFILE, already reported): the listening socket stays readable, so
     * watching it now would wake us at once, fail again, and spin: pause it a moment. */
    if (result == ACCEPT_SHORTAGE)
        loop_pause(loop, fd, accept_backoff_left());
}

int main(int argc, char **argv)
{
    int port = server_init(argc, argv);
    fd_limit = raise_fd_limit(); /* one descriptor per client: do not stop at the usual 1024 */
    server_socket = listen_tcp(port);
    set_nonblocking(server_socket); /* accept() until EAGAIN, never waiting in it */

    clients = calloc((size_t)fd_limit, sizeof *clients);
    if (clients == NULL)
        die("calloc");
    main_loop = loop_new();
    if (loop_watch(main_loop, server_socket, LOOP_READ, on_accept_ready, NULL) == -1)
        die("loop_watch");
    loop_run(main_loop); /* asyncio.run(): from here on, everything happens in callbacks */

    loop_free(main_loop);
    free(clients);
    return 0;
}
