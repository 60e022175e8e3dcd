/*
 * 05-other-roads/02-thread-per-client.c - the blocking server of 01-04, one THREAD per client.
 *
 * 01-fork-per-client with POSIX threads instead of processes (pthreads: still libc, build
 * with -pthread). main() accept()s; each client gets a thread that serves it with plain
 * BLOCKING recv() and send() (common/blocking.c) and ends when the client leaves. Same
 * protocol, framing, bounds, messages and shutdown as the process per client. What changes:
 *
 *   - threads SHARE the process's memory. Cheaper than a process (no copy of the page tables,
 *     one descriptor table), and the totals are now possible: every thread adds its lines to
 *     one "lines echoed" counter, and the server prints them when it stops;
 *   - sharing has a price: `lines_echoed += n` is a read, an add and a write, and two threads
 *     doing it at once can both read 41 and both write 42 (a DATA RACE: undefined behaviour
 *     in C11, and lost counts in practice). A mutex makes the three steps one; it guards the
 *     list of clients too, which main and every thread change. `make check` runs this stage's
 *     tests under ThreadSanitizer, which reports any unprotected access; remove a lock/unlock
 *     pair and watch it fail. (The terminal is shared too: common/blocking.c prints each line
 *     under flockfile(), so that no other thread's line lands in the middle of it);
 *   - DETACHED threads: nobody will pthread_join() them, so the system frees each one as soon
 *     as it ends (an undetached thread that ends stays a "zombie" thread, like a process); a
 *     thread that ends writes a byte into the self-pipe, its SIGCHLD, so that main notices;
 *   - a SMALL, EXPLICIT stack: each thread gets its own stack, by default as big as
 *     `ulimit -s` (8 MiB here). Only the pages a thread touches cost memory, but the address
 *     space is reserved whole. A client thread needs a few KB (a 4 KB sink, printf), so
 *     64 KiB is plenty: MAX_CLIENTS threads reserve 64 MB;
 *   - signals go to whichever thread does not block them: the handler only writes a byte
 *     into the self-pipe, so whichever thread runs it, main's poll() wakes up (and
 *     SA_RESTART resumes the recv() the handler interrupted);
 *   - stopping: main can reach every client's socket, which a parent process cannot (its
 *     children have their own copies). So at the deadline it does not kill anybody: it shuts
 *     down each socket still open (shutdown(SHUT_RDWR)), which wakes the thread blocked in its
 *     recv() or send(), and the thread ends as when its client leaves.
 *
 * Run:    build/chapter-03/05-other-roads/02-thread-per-client [-q] [PORT]
 * Try:    nc localhost 8000                                 (connects, says nothing)
 *         printf 'Hola Mundo3\r\n\n' | nc -N localhost 8000  (echoed at once: no stall)
 *         grep Threads /proc/$(pgrep -f 02-thread-per-client)/status   (1 + one per client)
 *         then Ctrl-C in the server's terminal: the totals, from the counters threads shared
 * Watch:  the same output as 03-selectors/02-select-lines, and at the end, after the 2 s the
 *         first nc gets to leave,
 *         Servidor detenido. Clientes atendidos: 2, líneas devueltas: 1
 */
#include "blocking.h"
#include "net.h"
#include "self_pipe.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CLIENTS 1024       /* one thread each: we refuse clients beyond this */
#define SHUTDOWN_GRACE_MS 2000 /* how long the threads get to finish once we are asked to stop */
#define CLIENT_ENDED 0         /* the byte a thread that ends writes into the self-pipe */

_Static_assert(MAX_CLIENTS == 1024, "update the refusal's text");

/* Bytes of stack for each client's thread: see the header. */
#define THREAD_STACK_BYTES ((size_t)64 * 1024)

/* Shared by main and every thread: touched only with lock held. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct blocking_client *connections[MAX_CLIENTS];
static size_t connection_count;
static unsigned long lines_echoed;

static unsigned long clients_served; /* main's alone */
static const int caught_signals[] = {SIGINT, SIGTERM, 0};
static int signal_pipe;    /* the self-pipe's read end: a byte per signal (common/self_pipe.h) */
static bool stopping;      /* a signal came: we accept no more */
static long long deadline; /* stopping: when the threads still serving are stopped (0: done) */

/* How many clients are still served. */
static size_t clients_left(void)
{
    pthread_mutex_lock(&lock);
    size_t n = connection_count;
    pthread_mutex_unlock(&lock);
    return n;
}

/* Take c off the list of clients (lock held). */
static void forget(const struct blocking_client *c)
{
    for (size_t i = 0; i < connection_count; i++) {
        if (connections[i] != c)
            continue;
        memmove(&connections[i], &connections[i + 1],
                (connection_count - i - 1) * sizeof connections[0]);
        connection_count--;
        return;
    }
}

/* A client's thread: serve it, then, under the lock, count it, forget it, close it, free it
 * and tell main (which shuts down only sockets on the list: never one closed, or reused). */
static void *client_thread(void *arg)
{
    struct blocking_client *c = arg;
    blocking_serve(c);
    pthread_mutex_lock(&lock);
    lines_echoed += c->lines;
    forget(c);
    close(c->fd);
    free(c);
    self_pipe_write(CLIENT_ENDED); /* (before unlocking: main may end once we have) */
    pthread_mutex_unlock(&lock);
    return NULL;
}

/* The listening socket is readable: accept one client and start its thread. */
static void accept_client(int server_socket, const pthread_attr_t *attributes)
{
    struct sockaddr_in address;
    socklen_t address_len = sizeof address;
    int fd = accept(server_socket, (struct sockaddr *)&address, &address_len);
    if (fd == -1) {
        /* Out of descriptors (EMFILE, reported): the client waits in the listen queue;
         * accept() would fail again at once, so wait a moment instead of spinning. */
        if (accept_failed(errno) == ACCEPT_SHORTAGE)
            sleep_ms(ACCEPT_BACKOFF_MS);
        return;
    }
    char who[ADDRESS_TEXT_MAX];
    format_address(&address, who);
    if (clients_left() == MAX_CLIENTS) { /* only main adds clients: it cannot grow meanwhile */
        refuse_client(fd, who, "demasiados clientes (1024)");
        return;
    }
    struct blocking_client *c = calloc(1, sizeof *c); /* the thread's, freed when it ends */
    if (c == NULL) {
        warn_call("calloc", ENOMEM);
        close(fd);
        return;
    }
    c->fd = fd;
    memcpy(c->who, who, sizeof who);
    printf("Cliente connectandose desde %s\n", who);

    pthread_mutex_lock(&lock);
    connections[connection_count++] = c;
    pthread_t thread;
    int err = pthread_create(&thread, attributes, client_thread, c);
    if (err != 0) /* EAGAIN: threads-max, the process limit (ulimit -u), memory */
        forget(c);
    pthread_mutex_unlock(&lock);
    if (err != 0) {
        warn_call("pthread_create", err);
        refuse_client(fd, who, "no se pudo crear un hilo (pthread_create)");
        free(c);
        return;
    }
    clients_served++;
}

/* End every thread still serving: shut its socket down; its byte then tells us it ended. */
static void close_everyone(void)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < connection_count; i++)
        shutdown(connections[i]->fd, SHUT_RDWR); /* its recv() returns 0, its send() EPIPE */
    pthread_mutex_unlock(&lock);
    deadline = 0;
}

/* The first signal: stop accepting, and give the threads until the deadline. */
static void begin_shutdown(int signal_number, int server_socket)
{
    stopping = true;
    close(server_socket); /* new clients are refused by the kernel from now on */
    printf("Apagando (%s): ya no se aceptan clientes. Conectados: %zu; plazo: %d s (otra "
           "señal: cerrar ya)\n",
           signal_number == SIGINT ? "SIGINT" : "SIGTERM", clients_left(),
           SHUTDOWN_GRACE_MS / 1000);
    deadline = monotonic_ms() + SHUTDOWN_GRACE_MS;
}

/* The self-pipe is readable: signals arrived, or threads ended. Now we may do anything. */
static void on_signals(int server_socket)
{
    unsigned char received[16];
    ssize_t n = read(signal_pipe, received, sizeof received);
    /* One byte per signal: two quick Ctrl-C may arrive in one read. */
    for (ssize_t i = 0; i < n; i++) {
        if (received[i] == CLIENT_ENDED) {
            continue; /* the loop looks at how many are left */
        } else if (!stopping) {
            begin_shutdown(received[i], server_socket);
        } else {
            printf("Segunda señal: se cierra ya\n");
            close_everyone();
        }
    }
}

int main(int argc, char **argv)
{
    int port = server_init(argc, argv);
    raise_fd_limit(); /* every client's socket is in this one process: 1024 would stop us */
    int server_socket = listen_tcp(port);
    /* accept() only when poll() says a client waits: if it has left meanwhile, EAGAIN instead
     * of waiting. (On Linux the sockets accept() returns stay blocking all the same.) */
    set_nonblocking(server_socket);
    signal_pipe = self_pipe_catch(caught_signals);

    /* Every client thread: detached, on a small stack (see the header). */
    pthread_attr_t attributes;
    if (pthread_attr_init(&attributes) != 0 ||
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED) != 0 ||
        pthread_attr_setstacksize(&attributes, THREAD_STACK_BYTES) != 0)
        die_msg("pthread_attr: cannot set a detached thread with a small stack");

    while (!stopping || clients_left() > 0) {
        /* Wait for a new client or a signal (while stopping: for the threads, and the
         * deadline). The listening socket is left out once it is closed (fd -1). */
        struct pollfd watched[2] = {{.fd = signal_pipe, .events = POLLIN},
                                    {.fd = stopping ? -1 : server_socket, .events = POLLIN}};
        long long left = deadline > 0 ? deadline - monotonic_ms() : -1;
        if (poll(watched, 2, deadline > 0 ? (left > 0 ? (int)left : 0) : -1) == -1) {
            if (errno == EINTR) /* a signal: its byte waits in the self-pipe */
                continue;
            die("poll");
        }
        if (watched[0].revents != 0)
            on_signals(server_socket);
        if (!stopping && watched[1].revents != 0)
            accept_client(server_socket, &attributes);
        if (deadline > 0 && monotonic_ms() >= deadline) {
            printf("Plazo agotado; se cierran los que quedan: %zu\n", clients_left());
            close_everyone();
        }
    }
    pthread_mutex_lock(&lock);
    printf("Servidor detenido. Clientes atendidos: %lu, líneas devueltas: %lu\n", clients_served,
           lines_echoed);
    pthread_mutex_unlock(&lock);
    pthread_attr_destroy(&attributes);
    return 0;
}
