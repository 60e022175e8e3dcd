/*
 * 05-other-roads/02-thread-per-client.c - the blocking server of 01-04, one THREAD per client.
 *
 * 01-fork-per-client with POSIX threads instead of processes (pthreads: still libc, build
 * with -pthread). main() accept()s; each client gets a thread that serves it with plain
 * BLOCKING recv() and send() and ends when the client leaves. Same protocol, framing, bounds
 * and messages as section 3. What changes against the process per client:
 *
 *   - threads SHARE the process's memory. Cheaper than a process (no copy of the page tables,
 *     one descriptor table), and the totals are now possible: every thread adds to one
 *     "lines echoed" counter, and the server prints them when it stops (Ctrl-C, SIGTERM);
 *   - sharing has a price: `lines_echoed++` is a read, an add and a write, and two threads
 *     doing it at once can both read 41 and both write 42 (a DATA RACE: undefined behaviour
 *     in C11, and lost counts in practice). A mutex makes the three steps one. `make check`
 *     runs this stage's tests under ThreadSanitizer, which reports any unprotected access;
 *     remove the lock/unlock pair and watch it fail;
 *   - the same for the terminal: print_bytes() writes a line in several stdio calls, so
 *     flockfile() keeps another thread's line from landing in the middle of ours;
 *   - DETACHED threads: nobody will pthread_join() them, so the system frees each one as soon
 *     as it ends (an undetached thread that ends stays a "zombie" thread, like a process);
 *   - a SMALL, EXPLICIT stack: each thread gets its own stack, by default as big as
 *     `ulimit -s` (8 MiB here). Only the pages a thread touches cost memory, but the address
 *     space is reserved whole: 10,000 clients would reserve 80 GB. A client thread needs a few
 *     KB (a line buffer, a 4 KB sink, printf), so 64 KiB is plenty, and 10,000 cost 640 MB of
 *     address space;
 *   - signals: a signal goes to whichever thread does not block it. All threads block SIGINT
 *     and SIGTERM, and one thread waits for them with sigwait(), which makes a signal an
 *     ordinary event: no handler, no async-signal-safety rules, no EINTR anywhere.
 *
 * Run:    build/chapter-03/05-other-roads/02-thread-per-client [-q] [PORT]
 * Try:    nc localhost 8000                                 (connects, says nothing)
 *         printf 'Hola Mundo3\r\n\n' | nc -N localhost 8000  (echoed at once: no stall)
 *         grep Threads /proc/$(pgrep -f 02-thread-per-client)/status   (2 + one per client)
 *         Ctrl-C in the first nc (client 1 hangs up, its thread ends), then Ctrl-C in the
 *         server's terminal: the totals, from the counters every thread shared
 * Watch:  the same output as 03-selectors/02-select-lines, and at the end
 *         Servidor detenido (SIGINT). Clientes atendidos: 2, líneas devueltas: 1
 */
#include "lines.h"
#include "net.h"
#include "pyrepr.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* What a dropped client reads before we close: the words of section 3 (common/connection.c). */

struct client {
    int fd;
    char who[ADDRESS_TEXT_MAX]; /* ('127.0.0.1', 40068), for the messages */
    bool said_why;              /* a "descartado" line was printed: no "desconectado" after it */
    struct line_framer in;      /* bytes received, not yet a complete line */
    char in_bytes[LINE_MAX_BYTES];
};

/* Bytes of stack for each client's thread: see the header. */
#define THREAD_STACK_BYTES ((size_t)64 * 1024)

/* Shared by every thread: touched only with totals_lock held. */
static pthread_mutex_t totals_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long clients_served;
static unsigned long lines_echoed;

static void count_line(void)
{
    pthread_mutex_lock(&totals_lock);
    lines_echoed++;
    pthread_mutex_unlock(&totals_lock);
}

/* The thread that waits for Ctrl-C or SIGTERM, prints the totals and ends the server. */
static void *wait_for_stop(void *signals)
{
    int signal_number;
    if (sigwait(signals, &signal_number) != 0)
        die_msg("sigwait failed");
    pthread_mutex_lock(&totals_lock);
    printf("Servidor detenido (%s). Clientes atendidos: %lu, líneas devueltas: %lu\n",
           signal_number == SIGINT ? "SIGINT" : "SIGTERM", clients_served, lines_echoed);
    pthread_mutex_unlock(&totals_lock);
    exit(0);
}

/* Block SIGINT and SIGTERM in this thread and every thread it creates from now on, and start
 * the one thread that waits for them. */
static void stop_on_signals(void)
{
    static sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    const char *call = "pthread_sigmask"; /* which call failed, for the message */
    int err = pthread_sigmask(SIG_BLOCK, &signals, NULL);
    pthread_t waiter;
    if (err == 0) {
        call = "pthread_create";
        err = pthread_create(&waiter, NULL, wait_for_stop, &signals);
    }
    if (err == 0) {
        call = "pthread_detach";
        err = pthread_detach(waiter);
    }
    if (err != 0) {
        errno = err; /* (pthread calls return the error instead of setting errno) */
        die(call);
    }
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
            if (!quiet) {
                flockfile(stdout); /* the whole line, with no other thread's in the middle */
                print_bytes("Toda la data leida: ", line, len);
                funlockfile(stdout);
            }
            /* Blocks while the client does not read: we stop reading it meanwhile. */
            if (send_all(c->fd, line, len) == -1) {
                gone(c, "send", errno); /* EPIPE, ECONNRESET: it left without reading */
                return;
            }
            count_line();
        }
        if (status == LINE_TOO_LONG) {
            drop_client(c);
            return;
        }
    }
}

/* A client's thread: serve it, say goodbye, count it, free it, end. */
static void *client_thread(void *arg)
{
    struct client *c = arg;
    serve_client(c);
    if (!c->said_why)
        printf("Cliente %s desconectado\n", c->who);
    close(c->fd);
    free(c);
    pthread_mutex_lock(&totals_lock);
    clients_served++;
    pthread_mutex_unlock(&totals_lock);
    return NULL;
}

int main(int argc, char **argv)
{
    int port = server_init(argc, argv);
    stop_on_signals();
    raise_fd_limit(); /* every client's socket is in this one process: 1024 would stop us */
    int server_socket = listen_tcp(port);

    /* Every client thread: detached, on a small stack (see the header). */
    pthread_attr_t attributes;
    if (pthread_attr_init(&attributes) != 0 ||
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED) != 0 ||
        pthread_attr_setstacksize(&attributes, THREAD_STACK_BYTES) != 0)
        die_msg("pthread_attr: cannot set a detached thread with a small stack");

    for (;;) {
        /* Blocks until the next client connects: main() has nothing else to do. */
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
        struct client *c = calloc(1, sizeof *c); /* the thread's, freed when it ends */
        if (c == NULL) {
            warn_call("calloc", ENOMEM);
            close(fd);
            continue;
        }
        c->fd = fd;
        format_address(&address, c->who);
        printf("Cliente connectandose desde %s\n", c->who);

        pthread_t thread;
        int err = pthread_create(&thread, &attributes, client_thread, c);
        if (err != 0) { /* EAGAIN: threads-max, the process limit (ulimit -u), memory */
            warn_call("pthread_create", err);
            refuse_client(fd, c->who, "no se pudo crear un hilo (pthread_create)");
            free(c);
        }
    }
}
