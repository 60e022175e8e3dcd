/*
 * 05-other-roads/03-io-uring-lines.c - the line echo server of section 3, on io_uring.
 * LINUX ONLY (5.19 or later), built with liburing (Debian: liburing-dev); where liburing is
 * missing, `make` skips this file and says so.
 *
 * select, poll and epoll answer the question "which sockets are READY?"; the program then
 * makes the recv() or send() itself, and the kernel copies the bytes during that call. io_uring
 * turns the question around: we ask the kernel to DO the recv() or the send() for us, and it
 * tells us when it is DONE, with the result the call would have returned. Two rings of memory
 * shared between this process and the kernel carry the conversation:
 *
 *   submission queue (SQ)   we write requests: "recv up to 1024 bytes from fd 7 into here",
 *                           "send these 40 bytes on fd 9", "accept on the listening socket"
 *   completion queue (CQ)   the kernel writes results: "that recv: 12 bytes", "that send:
 *                           EPIPE", "that accept: a new socket, fd 11"
 *
 * One system call (io_uring_enter, inside io_uring_submit_and_wait) hands over every request
 * written since the last one and sleeps until at least one result is there: no readiness
 * loop, and with many clients, many operations per system call.
 *
 * What changes against 03-selectors/04-epoll-lines.c:
 *   - no "wants read / wants write" to register: instead, at most ONE recv in flight per
 *     connection (the buffer it writes into belongs to the kernel until it completes), and at
 *     most one send;
 *   - the buffers must stay put while the kernel works on them. The recv goes straight into
 *     the line framer, so nothing touches the framer until it completes. The send reads from
 *     the output queue, so new echoes may only be APPENDED behind the bytes being sent: we
 *     only post a recv when its echoes will fit at the end of the queue (the same bound as
 *     section 3, and back-pressure: a client that does not read stops being read);
 *   - a send may complete PARTIALLY (a socket takes what fits): the rest is sent again;
 *   - ONE accept request for all clients: multishot accept keeps producing a completion per
 *     new connection until it is cancelled or fails (IORING_CQE_F_MORE says it goes on);
 *   - a connection is freed only when nothing is in flight for it: closing it first cancels
 *     its recv and send, and waits for their completions;
 *   - the sockets stay BLOCKING: io_uring waits for them inside the kernel, never with EAGAIN;
 *   - signals: the self-pipe of 04-event-loop/02-graceful-shutdown, read by one more request
 *     (a read of the pipe completes when a signal has written its byte), and the same
 *     graceful shutdown: stop accepting, send what is queued, FIN, at most 2 s, the totals.
 *
 * Each connection is section 3's (common/connection.h): the same states (OPEN, FINISHING,
 * CLOSING, CLOSED), the same line framer and output queue, lines of at most 1024 bytes, the
 * same messages, the lingering close after a line too long. The stage only posts the recv()
 * and send() and hands their results to connection_received() and connection_sent().
 *
 * Run:    build/chapter-03/05-other-roads/03-io-uring-lines [-q] [PORT]
 * Try:    printf 'Hola Mundo3\r\n\n' | nc -N localhost 8000     (echoed: the documents' case)
 *         Ctrl-C in the server's terminal                          (as 04-02: "Apagando ...")
 *         build/tools/many-clients -n 5000 8000                    (5,000 clients at once)
 *         strace -f -e trace=io_uring_enter,recvfrom,sendto -p PID (no recvfrom, no sendto:
 *                                                                  one io_uring_enter)
 * Watch:  the same output as 03-selectors/04-epoll-lines; on Ctrl-C, 04-02's lines ("Apagando
 *         (SIGINT)...", then the totals).
 */
#include "connection.h"
#include "net.h"
#include "self_pipe.h"
#include "util.h"

#include <errno.h>
#include <liburing.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define QUEUE_DEPTH 256        /* requests written before the kernel must take them */
#define COMPLETIONS_MAX 65536  /* results waiting to be read: two requests per client at most */
#define SHUTDOWN_GRACE_MS 2000 /* how long pending replies get once we are asked to stop */

/* What a completion is about. Each request carries a pointer to one of these (user_data). */
enum request_kind { ACCEPT, BACK_OFF_OVER, SIGNAL, DEADLINE, RECV, SEND };
struct request {
    enum request_kind kind;
    struct client *client; /* RECV, SEND */
};

/* A connection (common/connection.h), and what the kernel is doing for it. */
struct client {
    struct connection *conn;
    bool receiving, sending; /* a recv / a send is in flight: the kernel owns its buffer */
    bool cancelled;          /* done: what was in flight has been asked to stop */
    struct request recv, send;
};

static struct io_uring ring;
static int server_socket;
static struct request accept_request = {ACCEPT, NULL};
static struct request back_off_request = {BACK_OFF_OVER, NULL};
static struct request signal_request = {SIGNAL, NULL};
static struct request deadline_request = {DEADLINE, NULL};
static bool accepting;   /* the multishot accept is in place */
static bool backing_off; /* out of descriptors: not accepting for ACCEPT_BACKOFF_MS */

static struct client **clients; /* clients[fd]: the client on descriptor fd, or NULL */
static int fd_limit;            /* raise_fd_limit(): no descriptor reaches it */
static size_t client_count;     /* open connections: shutdown ends when none is left */
static unsigned long clients_served, lines_echoed;
static const int caught_signals[] = {SIGINT, SIGTERM, 0};
static int signal_pipe;                /* the self-pipe's read end (common/self_pipe.h) */
static unsigned char signal_bytes[16]; /* what a read of it brings: one byte per signal */
static bool stopping;                  /* a signal came: we accept and read no more */

/* A free entry of the submission queue for a new request about `what` (NULL: a request whose
 * completion we ignore). If the queue is full, hand it to the kernel first. */
static struct io_uring_sqe *new_request(struct request *what)
{
    struct io_uring_sqe *sqe;
    while ((sqe = io_uring_get_sqe(&ring)) == NULL) {
        int err = io_uring_submit(&ring);
        if (err < 0 && err != -EINTR) {
            errno = -err;
            die("io_uring_submit");
        }
    }
    io_uring_sqe_set_data(sqe, what);
    return sqe;
}

/* One request that accepts every client from now on (multishot accept). */
static void accept_clients(void)
{
    io_uring_prep_multishot_accept(new_request(&accept_request), server_socket, NULL, NULL, 0);
    accepting = true;
}

/* One request that completes when a signal has written its byte into the self-pipe. */
static void wait_for_signal(void)
{
    io_uring_prep_read(new_request(&signal_request), signal_pipe, signal_bytes, sizeof signal_bytes,
                       0);
}

/* --- one connection ------------------------------------------------------------------- */

/* A recv may be posted if the connection still reads and the echoes of a whole read (up to
 * LINE_MAX_BYTES of lines) and an error line fit at the END of the output queue: a send in
 * flight is reading the bytes before them, which must not move (see the header). */
static bool can_receive(const struct client *c)
{
    if (c->receiving)
        return false;
    if (c->conn->state == CONNECTION_CLOSING)
        return true; /* to throw away what it sends and to see it close */
    return c->conn->state == CONNECTION_OPEN &&
           c->conn->out.capacity - c->conn->out.end >= LINE_MAX_BYTES + ERROR_LINE_MAX;
}

static void start_recv(struct client *c)
{
    if (!can_receive(c))
        return;
    size_t room = sizeof c->conn->in_bytes;
    char *space = c->conn->in_bytes; /* CLOSING: its lines are over, the storage is a sink */
    if (c->conn->state == CONNECTION_OPEN)
        space = line_framer_space(&c->conn->in, &room); /* straight after the unfinished line */
    io_uring_prep_recv(new_request(&c->recv), c->conn->fd, space, room, 0);
    c->receiving = true;
}

/* Send what is queued, if nothing is in flight; once a closing connection's last bytes are
 * out, FIN ("nothing more from us"). */
static void start_send(struct client *c)
{
    if (c->sending || c->conn->state == CONNECTION_CLOSED)
        return;
    size_t len;
    const char *bytes = out_queue_peek(&c->conn->out, &len);
    if (len > 0) {
        io_uring_prep_send(new_request(&c->send), c->conn->fd, bytes, len, 0);
        c->sending = true;
    } else {
        connection_fin_if_flushed(c->conn);
    }
}

/* If c is done, stop what is in flight for it, and once nothing is, close and free it. */
static void finish_if_done(struct client *c)
{
    if (!connection_done(c->conn))
        return;
    if (c->receiving || c->sending) {
        if (!c->cancelled) { /* their completions (-ECANCELED) bring us back here */
            if (c->receiving)
                io_uring_prep_cancel(new_request(NULL), &c->recv, 0);
            if (c->sending)
                io_uring_prep_cancel(new_request(NULL), &c->send, 0);
            c->cancelled = true;
        }
        return;
    }
    clients[c->conn->fd] = NULL;
    client_count--;
    lines_echoed += c->conn->lines;
    connection_close(c->conn);
    free(c);
}

/* A recv completed with `result`: the byte count, 0 for FIN, or -errno. */
static void on_received(struct client *c, int result)
{
    c->receiving = false;
    if (result != -ECANCELED) /* cancelled: closing already, nothing came */
        connection_received(c->conn, result, echo_line);
    start_send(c);
    start_recv(c);
    finish_if_done(c);
}

/* A send completed with `result`: how many bytes the kernel took (maybe fewer), or -errno. */
static void on_sent(struct client *c, int result)
{
    c->sending = false;
    if (result != -ECANCELED)
        connection_sent(c->conn, result); /* a partial send keeps the rest, in order */
    start_send(c);                        /* the rest, or FIN */
    start_recv(c);                        /* the queue may have room again */
    finish_if_done(c);
}

/* --- accepting ------------------------------------------------------------------------ */

/* The multishot accept produced `result`: a new socket, or -errno. `more`: it goes on. */
static void on_accepted(int result, bool more)
{
    if (!more)
        accepting = false; /* it ended (after an error): ask again, unless we are pausing */
    if (result >= 0 && stopping) {
        close(result); /* accepted just before we stopped: turned away, as the kernel does */
    } else if (result >= 0) {
        /* Multishot accept has one address buffer for every completion, so we ask each new
         * socket for its peer instead. A client that has reset already has no peer any more
         * (ENOTCONN): it left before we took it, and, as accept() does with ECONNABORTED, we
         * close it without a word. */
        struct sockaddr_in address;
        socklen_t address_len = sizeof address;
        struct client *c = NULL;
        if (getpeername(result, (struct sockaddr *)&address, &address_len) == -1) {
            if (errno != ENOTCONN)
                warn_call("getpeername", errno);
            close(result);
        } else if ((c = calloc(1, sizeof *c)) == NULL) {
            warn_call("calloc", ENOMEM);
            close(result);
        } else if ((c->conn = connection_new(result, &address)) == NULL) {
            free(c);
            close(result);
        } else {
            c->recv = (struct request){RECV, c};
            c->send = (struct request){SEND, c};
            clients[result] = c;
            client_count++;
            clients_served++;
            start_recv(c);
        }
    } else if (result == -EINVAL) {
        die_msg("io_uring: multishot accept needs Linux 5.19 or later");
    } else if (result != -ECANCELED && accept_failed(-result) == ACCEPT_SHORTAGE) {
        /* Out of descriptors (EMFILE, reported): accepting again at once would fail at once.
         * Stop the accept request and ask the kernel for a completion in a moment instead
         * (a timeout request: the completion-queue way to sleep). */
        if (!backing_off) {
            if (more)
                io_uring_prep_cancel(new_request(NULL), &accept_request, 0);
            static struct __kernel_timespec pause = {.tv_nsec = ACCEPT_BACKOFF_MS * 1000000LL};
            io_uring_prep_timeout(new_request(&back_off_request), &pause, 0, 0);
            backing_off = true;
        }
    }
    if (!accepting && !backing_off && !stopping)
        accept_clients();
}

static void on_back_off_over(void)
{
    backing_off = false;
    if (!accepting && !stopping)
        accept_clients();
}

/* --- stopping (as 04-event-loop/02-graceful-shutdown) -------------------------------- */

static void close_everyone(void)
{
    for (int fd = 0; fd < fd_limit && client_count > 0; fd++) {
        if (clients[fd] == NULL)
            continue;
        clients[fd]->conn->state = CONNECTION_CLOSED;
        finish_if_done(clients[fd]); /* cancels what is in flight, or closes it now */
    }
}

/* The grace period is over: whoever is still waiting for replies is closed now. */
static void on_deadline(void)
{
    printf("Plazo agotado; se cierran los que quedan: %zu\n", client_count);
    close_everyone();
}

/* The first signal: stop accepting, stop reading, let the queued replies drain. */
static void begin_shutdown(int signal_number)
{
    stopping = true;
    if (accepting) { /* cancelled now, not at the next submit: the port is free at once */
        io_uring_prep_cancel(new_request(NULL), &accept_request, 0);
        io_uring_submit(&ring);
    }
    close(server_socket); /* new clients are refused by the kernel from now on */

    size_t pending = 0;
    for (int fd = 0; fd < fd_limit; fd++)
        if (clients[fd] != NULL && out_queue_pending(&clients[fd]->conn->out) > 0)
            pending++;
    printf("Apagando (%s): ya no se aceptan clientes. Conectados: %zu, con respuestas "
           "pendientes: %zu; plazo: %d s (otra señal: cerrar ya)\n",
           signal_number == SIGINT ? "SIGINT" : "SIGTERM", client_count, pending,
           SHUTDOWN_GRACE_MS / 1000);

    static struct __kernel_timespec grace = {.tv_sec = SHUTDOWN_GRACE_MS / 1000};
    io_uring_prep_timeout(new_request(&deadline_request), &grace, 0, 0);
    /* Each client gets what is queued for it, then FIN; we wait for it to close its side
     * too (see CONNECTION_CLOSING in common/connection.c), or for the deadline. */
    for (int fd = 0; fd < fd_limit && client_count > 0; fd++) {
        struct client *c = clients[fd];
        if (c == NULL)
            continue;
        connection_stop_reading(c->conn);
        start_send(c);
        start_recv(c);
        finish_if_done(c);
    }
}

/* The read of the self-pipe completed: `result` bytes, one per signal. */
static void on_signal(int result)
{
    if (result < 0) { /* (a pipe we hold both ends of: a bug, and asking again would spin) */
        errno = -result;
        die("read (the self-pipe)");
    }
    for (int i = 0; i < result; i++) {
        if (!stopping) {
            begin_shutdown(signal_bytes[i]);
            continue;
        }
        printf("Segunda señal: se cierra ya\n");
        close_everyone();
        break;
    }
    wait_for_signal(); /* the next one */
}

int main(int argc, char **argv)
{
    int port = server_init(argc, argv);
    fd_limit = raise_fd_limit(); /* thousands of clients are thousands of descriptors */

    /* Two rings shared with the kernel: QUEUE_DEPTH requests, COMPLETIONS_MAX results. Made
     * BEFORE listen(): where io_uring is switched off, nobody sees a port that then dies. */
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
    params.cq_entries = COMPLETIONS_MAX;
    int err = io_uring_queue_init_params(QUEUE_DEPTH, &ring, &params);
    if (err < 0) { /* ENOSYS, EPERM: a kernel without io_uring, or with it switched off */
        errno = -err;
        die("io_uring_queue_init");
    }
    server_socket = listen_tcp(port);
    signal_pipe = self_pipe_catch(caught_signals); /* (io_uring_enter() fails with EINTR) */
    clients = calloc((size_t)fd_limit, sizeof *clients);
    if (clients == NULL)
        die("calloc");
    accept_clients();
    wait_for_signal();

    while (!stopping || client_count > 0) {
        /* Hand the kernel every request written since last time, and sleep until at least
         * one has completed. (EINTR: a signal, whose byte the self-pipe read brings next; or
         * a stop and continue, Ctrl-Z then fg.) */
        err = io_uring_submit_and_wait(&ring, 1);
        if (err < 0 && err != -EINTR) {
            errno = -err;
            die("io_uring_submit_and_wait");
        }
        /* Read every result there is; a handler may write new requests meanwhile. */
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe)
        {
            struct request *what = io_uring_cqe_get_data(cqe);
            seen++;
            if (what == NULL)
                continue; /* a cancel request's own result: nothing to do */
            switch (what->kind) {
            case ACCEPT:
                on_accepted(cqe->res, (cqe->flags & IORING_CQE_F_MORE) != 0);
                break;
            case BACK_OFF_OVER:
                on_back_off_over();
                break;
            case SIGNAL:
                on_signal(cqe->res);
                break;
            case DEADLINE:
                on_deadline();
                break;
            case RECV:
                on_received(what->client, cqe->res);
                break;
            case SEND:
                on_sent(what->client, cqe->res);
                break;
            }
        }
        io_uring_cq_advance(&ring, seen);
    }

    printf("Servidor detenido. Clientes atendidos: %lu, líneas devueltas: %lu\n", clients_served,
           lines_echoed);
    io_uring_queue_exit(&ring); /* what is still in flight (the self-pipe read) is cancelled */
    free(clients);
    return 0;
}
