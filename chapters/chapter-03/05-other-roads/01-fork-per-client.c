/*
 * 05-other-roads/01-fork-per-client.c - the blocking server of 01-04, one PROCESS per client.
 *
 * The first fix every student proposes for the stall of 01-blocking/04-many-clients: "if one
 * quiet client blocks the loop, give every client its own loop". This is the classic way to do
 * it (Stevens' UNIX Network Programming, CS:APP): the parent only accept()s, and for each new
 * client it fork()s a child that serves that one client with plain BLOCKING recv() and send(),
 * then exits. A quiet client now blocks only its own process: the stall is gone. The child
 * serves lines as section 3 does (common/blocking.c: the line framer, lines of at most 1024
 * bytes, the same messages), so the diff against 01-04 is the process per client alone.
 *
 * What to look for:
 *   - after fork() there are two copies of the client's socket: the child's, which it serves,
 *     and the parent's, which the parent must close at once (or the client never sees FIN);
 *     the child closes its copy of the listening socket the same way;
 *   - the list of clients is now a list of PROCESSES, bounded as 01-04's list is: one process
 *     per client, so without a bound any crowd of idle clients becomes as many processes;
 *     beyond MAX_CLIENTS a client is told "servidor lleno" and closed;
 *   - a child that has exited stays a ZOMBIE (its exit status kept for the parent) until the
 *     parent wait()s for it: SIGCHLD tells the parent that a child ended, and it reaps every
 *     child that is done (waitpid(-1, WNOHANG) in a loop: signals do not queue, one SIGCHLD
 *     may stand for several children) and takes it off the list;
 *   - the children must END WITH THEIR SERVER: on SIGTERM or Ctrl-C the parent stops
 *     accepting, gives its children SHUTDOWN_GRACE_MS to finish (their clients leave), then
 *     sends each one left SIGTERM and waits for it. Without that, `kill` of the parent leaves
 *     the children serving on their own, adopted by init (PPID 1). A signal handler may do
 *     almost nothing, so the parent waits in poll() for a new client OR a byte in the
 *     SELF-PIPE, which the handler writes (as 04-event-loop/02-graceful-shutdown does);
 *   - what a process CANNOT do: share memory with the others. Each child has its own copy of
 *     every variable, so a "lines echoed" counter incremented in the children never changes
 *     in the parent, which can count the clients it served but not their lines
 *     (02-thread-per-client can: its threads share one counter, and pay for that with a
 *     mutex);
 *   - the children also share the terminal: each prints its lines whole, but a very long
 *     line (a 1 KB binary line is printed as about 4 KB of \xNN) can reach the pipe in more
 *     than one write and interleave with another child's line. The event loops print from
 *     one process and never do.
 *
 * Run:    build/chapter-03/05-other-roads/01-fork-per-client [-q] [PORT]
 * Try:    nc localhost 8000                                 (connects, says nothing)
 *         printf 'Hola Mundo3\r\n\n' | nc -N localhost 8000  (echoed at once: no stall)
 *         ps --ppid $(pgrep -of 01-fork-per-client)           (one child per client)
 *         then Ctrl-C in the server's terminal
 * Watch:  the same output as 03-selectors/02-select-lines; one process per connected client,
 *         and no <defunct> (zombie) process once a client has left. On Ctrl-C, "Apagando
 *         (SIGINT)...", 2 s for the first nc to leave, and no child left behind.
 */
#include "blocking.h"
#include "net.h"
#include "self_pipe.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CLIENTS 1024       /* one process each: we refuse clients beyond this */
#define SHUTDOWN_GRACE_MS 2000 /* how long the children get to finish once we are asked to stop */

_Static_assert(MAX_CLIENTS == 1024, "update the refusal's text");

struct client {
    pid_t pid;                  /* the child process that serves it */
    char who[ADDRESS_TEXT_MAX]; /* ('127.0.0.1', 40068), for the messages */
};

static struct client connections[MAX_CLIENTS];
static size_t connection_count;
static unsigned long clients_served;
static const int caught_signals[] = {SIGINT, SIGTERM, SIGCHLD, 0};
static int signal_pipe;    /* the self-pipe's read end: a byte per signal (common/self_pipe.h) */
static bool stopping;      /* a signal came: we accept no more */
static long long deadline; /* stopping: when the children still serving are stopped (0: done) */

/* Block (or unblock) the signals we catch: fork() runs with them blocked, so that none
 * reaches the child before it has put its own dispositions in place. */
static void hold_signals(int how)
{
    sigset_t signals;
    sigemptyset(&signals);
    for (size_t i = 0; caught_signals[i] != 0; i++)
        sigaddset(&signals, caught_signals[i]);
    sigprocmask(how, &signals, NULL);
}

/* SIGCHLD: reap every child that has ended, so that none stays a zombie, and forget it. */
static void reap_children(void)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (size_t i = 0; i < connection_count; i++) {
            if (connections[i].pid != pid)
                continue;
            if (WIFSIGNALED(status)) { /* it could not say goodbye itself */
                printf("Cliente %s desconectado\n", connections[i].who);
                if (WTERMSIG(status) != SIGTERM)
                    fprintf(stderr, "child %ld (client %s) ended by signal %d\n", (long)pid,
                            connections[i].who, WTERMSIG(status));
            }
            memmove(&connections[i], &connections[i + 1],
                    (connection_count - i - 1) * sizeof connections[0]);
            connection_count--;
            break;
        }
    }
}

/* The child's whole life: serve the client, say goodbye, exit. */
static _Noreturn void run_child(int server_socket, int fd, const char *who)
{
    close(server_socket); /* the child serves its client and accepts nobody */
    self_pipe_close();    /* the parent's; and SIGTERM's default back: it ends the process */
    /* Stopping is the parent's job: Ctrl-C reaches every process of the terminal, so the
     * child ignores SIGINT, and the parent ends it with SIGTERM when its time is up. */
    signal(SIGINT, SIG_IGN);
    hold_signals(SIG_UNBLOCK);

    struct blocking_client c = {.fd = fd};
    memcpy(c.who, who, sizeof c.who);
    blocking_serve(&c);
    close(fd);
    exit(0);
}

/* The listening socket is readable: accept one client and fork its process. */
static void accept_client(int server_socket)
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
    if (connection_count == MAX_CLIENTS) {
        refuse_client(fd, who, "demasiados clientes (1024)");
        return;
    }
    /* stdout is line-buffered, so nothing waits in its buffer to be printed twice: fork()
     * copies the buffer too, and the child would print it again. */
    printf("Cliente connectandose desde %s\n", who);

    hold_signals(SIG_BLOCK);
    pid_t pid = fork();
    if (pid == 0)
        run_child(server_socket, fd, who);
    hold_signals(SIG_UNBLOCK); /* what came meanwhile is handled now */
    if (pid == -1) {
        /* EAGAIN: the process limit (ulimit -u, pid_max); ENOMEM */
        warn_call("fork", errno);
        refuse_client(fd, who, "no se pudo crear un proceso (fork)");
        return;
    }
    close(fd); /* the child has its own copy; ours would keep the connection open */
    struct client *c = &connections[connection_count++];
    c->pid = pid;
    memcpy(c->who, who, sizeof who);
    clients_served++;
}

/* End every child still serving: SIGTERM; SIGCHLD then tells us that each one has ended. */
static void close_everyone(void)
{
    for (size_t i = 0; i < connection_count; i++)
        kill(connections[i].pid, SIGTERM);
    deadline = 0;
}

/* The first signal: stop accepting, and give the children until the deadline. */
static void begin_shutdown(int signal_number, int server_socket)
{
    stopping = true;
    close(server_socket); /* new clients are refused by the kernel from now on */
    printf("Apagando (%s): ya no se aceptan clientes. Conectados: %zu; plazo: %d s (otra "
           "señal: cerrar ya)\n",
           signal_number == SIGINT ? "SIGINT" : "SIGTERM", connection_count,
           SHUTDOWN_GRACE_MS / 1000);
    deadline = monotonic_ms() + SHUTDOWN_GRACE_MS;
}

/* The self-pipe is readable: signals arrived. Now we may do anything. */
static void on_signals(int server_socket)
{
    unsigned char received[16];
    ssize_t n = read(signal_pipe, received, sizeof received);
    /* One byte per signal: two quick Ctrl-C may arrive in one read. */
    for (ssize_t i = 0; i < n; i++) {
        if (received[i] == SIGCHLD) {
            reap_children();
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
    int server_socket = listen_tcp(port);
    /* accept() only when poll() says a client waits: if it has left meanwhile, EAGAIN instead
     * of waiting. (On Linux the sockets accept() returns stay blocking all the same.) */
    set_nonblocking(server_socket);
    signal_pipe = self_pipe_catch(caught_signals);

    while (!stopping || connection_count > 0) {
        /* Wait for a new client or a signal (while stopping: for the children, and the
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
            accept_client(server_socket);
        if (deadline > 0 && monotonic_ms() >= deadline) {
            printf("Plazo agotado; se cierran los que quedan: %zu\n", connection_count);
            close_everyone();
        }
    }
    printf("Servidor detenido. Clientes atendidos: %lu\n", clients_served);
    return 0;
}
