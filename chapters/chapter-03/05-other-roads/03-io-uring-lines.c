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
 *     its recv and send, and waits for their completions.
 *   - the sockets stay BLOCKING: io_uring waits for them inside the kernel, never with EAGAIN.
 *
 * The per-connection rules are section 3's (common/connection.h): the same states (OPEN,
 * FINISHING, CLOSING, CLOSED), lines of at most 1024 bytes, the same messages, the lingering
 * close after a line too long.
 *
 * Run:    build/chapter-03/05-other-roads/03-io-uring-lines [-q] [PORT]
 * Try:    printf 'Hola Mundo3\r\n\n' | nc -N localhost 8000     (echoed: the documents' case)
 *         build/tools/many-clients -n 5000 8000                    (5,000 clients at once)
 *         strace -f -e trace=io_uring_enter,recvfrom,sendto -p PID (no recvfrom, no sendto:
 *                                                                  one io_uring_enter)
 * Watch:  the same output as 03-selectors/04-epoll-lines.
 */
#include "connection.h"
#include "lines.h"
#include "net.h"
#include "pyrepr.h"
#include "util.h"

#include <errno.h>
#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* What a dropped client reads before we close: the words of section 3 (common/connection.c). */
#define QUEUE_DEPTH 256       /* requests written before the kernel must take them */
#define COMPLETIONS_MAX 65536 /* results waiting to be read: two requests per client at most */

/* What a completion is about. Each request carries a pointer to one of these (user_data). */
enum request_kind { ACCEPT, BACK_OFF_OVER, RECV, SEND };
struct request {
    enum request_kind kind;
    struct client *client; /* RECV, SEND */
};

struct client {
    int fd;
    char who[ADDRESS_TEXT_MAX]; /* ('127.0.0.1', 56188), for the messages */
    enum connection_state state;
    bool said_why;           /* a "descartado" line was printed: no "desconectado" after it */
    bool sent_fin;           /* CLOSING: shutdown(SHUT_WR) done */
    long long closing_since; /* CLOSING: when it started (monotonic_ms) */
    bool receiving, sending; /* a recv / a send is in flight: the kernel owns its buffer */
    bool cancelled;          /* done: what was in flight has been asked to stop */
    struct request recv, send;
    struct line_framer in; /* bytes received, not yet a complete line */
    struct out_queue out;  /* bytes to send, not yet sent */
    char in_bytes[LINE_MAX_BYTES];
    char out_bytes[OUTPUT_MAX_BYTES];
};

static struct io_uring ring;
static int server_socket;
static struct request accept_request = {ACCEPT, NULL};
static struct request back_off_request = {BACK_OFF_OVER, NULL};
static bool accepting;   /* the multishot accept is in place */
static bool backing_off; /* out of descriptors: not accepting for ACCEPT_BACKOFF_MS */

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

/* --- one connection ------------------------------------------------------------------- */

/* A recv may be posted if the connection still reads and the echoes of a whole read (up to
 * LINE_MAX_BYTES of lines) and an error line fit at the END of the output queue: a send in
 * flight is reading the bytes before them, which must not move (see the header). */
static bool can_receive(const struct client *c)
{
    if (c->receiving)
        return false;
    if (c->state == CONNECTION_CLOSING)
        return true; /* to throw away what it sends and to see it close */
    return c->state == CONNECTION_OPEN &&
           c->out.capacity - c->out.end >= LINE_MAX_BYTES + ERROR_LINE_MAX;
}

static void start_recv(struct client *c)
{
    if (!can_receive(c))
        return;
    size_t room = sizeof c->in_bytes;
    char *space = c->in_bytes; /* CLOSING: its lines are over, the framer's storage is a sink */
    if (c->state == CONNECTION_OPEN)
        space = line_framer_space(&c->in, &room); /* straight after the unfinished line */
    io_uring_prep_recv(new_request(&c->recv), c->fd, space, room, 0);
    c->receiving = true;
}

/* Send what is queued, if nothing is in flight; once a closing connection's last bytes are
 * out, FIN ("nothing more from us"). */
static void start_send(struct client *c)
{
    if (c->sending || c->state == CONNECTION_CLOSED)
        return;
    size_t len;
    const char *bytes = out_queue_peek(&c->out, &len);
    if (len > 0) {
        io_uring_prep_send(new_request(&c->send), c->fd, bytes, len, 0);
        c->sending = true;
    } else if (c->state == CONNECTION_CLOSING && !c->sent_fin) {
        if (shutdown(c->fd, SHUT_WR) == -1 && errno != ENOTCONN)
            warn_call("shutdown", errno);
        c->sent_fin = true;
    }
}

static bool is_done(const struct client *c)
{
    return c->state == CONNECTION_CLOSED ||
           (c->state == CONNECTION_FINISHING && out_queue_pending(&c->out) == 0);
}

/* If c is done, stop what is in flight for it, and once nothing is, close and free it. */
static void finish_if_done(struct client *c)
{
    if (!is_done(c))
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
    if (!c->said_why)
        printf("Cliente %s desconectado\n", c->who);
    if (close(c->fd) == -1)
        warn_call("close", errno);
    free(c);
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

/* The line was too long: say why, queue the error line; it is sent, then FIN, and what the
 * client still sends is thrown away for at most CLOSING_LINGER_MS (common/connection.c). */
static void drop_client(struct client *c)
{
    printf("Cliente %s descartado: línea de más de %d bytes sin \\r\\n\n", c->who, LINE_MAX_BYTES);
    c->said_why = true;
    out_queue_push(&c->out, TOO_LONG_REPLY, sizeof TOO_LONG_REPLY - 1); /* fits: can_receive */
    c->state = CONNECTION_CLOSING;
    c->closing_since = monotonic_ms();
}

/* A recv completed with `result`: the byte count, 0 for FIN, or -errno. */
static void on_received(struct client *c, int result)
{
    c->receiving = false;
    if (c->state == CONNECTION_CLOSED || result == -ECANCELED) {
        /* closing already: nothing to do with what came */
    } else if (result < 0) {
        gone(c, "recv", -result); /* ECONNRESET: the client is gone, with its queue */
        c->state = CONNECTION_CLOSED;
    } else if (result == 0) {
        /* FIN: an unfinished line is dropped; what is queued still goes out, then close. */
        c->state = CONNECTION_FINISHING;
    } else if (c->state == CONNECTION_CLOSING) {
        /* thrown away; a client that goes on sending, however slowly, gets its linger only */
        if (monotonic_ms() - c->closing_since >= CLOSING_LINGER_MS)
            c->state = CONNECTION_CLOSED;
    } else {
        line_framer_commit(&c->in, (size_t)result);
        const char *line;
        size_t len;
        enum line_status status;
        while ((status = line_framer_next(&c->in, &line, &len)) == LINE_READY) {
            if (!quiet)
                print_bytes("Toda la data leida: ", line, len);
            out_queue_push(&c->out, line, len); /* fits: can_receive() made sure of it */
        }
        if (status == LINE_TOO_LONG)
            drop_client(c);
    }
    start_send(c);
    start_recv(c);
    finish_if_done(c);
}

/* A send completed with `result`: how many bytes the kernel took (maybe fewer), or -errno. */
static void on_sent(struct client *c, int result)
{
    c->sending = false;
    if (c->state == CONNECTION_CLOSED || result == -ECANCELED) {
        /* closing already */
    } else if (result < 0) {
        gone(c, "send", -result); /* EPIPE, ECONNRESET: it left without reading everything */
        c->state = CONNECTION_CLOSED;
    } else {
        out_queue_consume(&c->out, (size_t)result); /* a partial send keeps the rest, in order */
    }
    start_send(c); /* the rest, or FIN */
    start_recv(c); /* the queue may have room again */
    finish_if_done(c);
}

/* --- accepting ------------------------------------------------------------------------ */

/* The multishot accept produced `result`: a new socket, or -errno. `more`: it goes on. */
static void on_accepted(int result, bool more)
{
    if (!more)
        accepting = false; /* it ended (after an error): ask again, unless we are pausing */
    if (result >= 0) {
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
        } else {
            c->fd = result;
            format_address(&address, c->who);
            c->state = CONNECTION_OPEN;
            c->recv = (struct request){RECV, c};
            c->send = (struct request){SEND, c};
            line_framer_init(&c->in, c->in_bytes, sizeof c->in_bytes);
            out_queue_init(&c->out, c->out_bytes, sizeof c->out_bytes);
            printf("Cliente connectandose desde %s\n", c->who);
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
    if (!accepting && !backing_off)
        accept_clients();
}

static void on_back_off_over(void)
{
    backing_off = false;
    if (!accepting)
        accept_clients();
}

int main(int argc, char **argv)
{
    int port = server_init(argc, argv);
    raise_fd_limit(); /* thousands of clients are thousands of descriptors */

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
    accept_clients();

    for (;;) {
        /* Hand the kernel every request written since last time, and sleep until at least
         * one has completed. (EINTR: a stop and continue, Ctrl-Z then fg, ends the wait.) */
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
}
