/* connection.c - one client of the line-echo servers (see connection.h).
 *
 * No EINTR loops here: every socket is non-blocking, and a call that never waits cannot be
 * interrupted by a signal (EINTR means "interrupted while waiting"). */
#include "connection.h"
#include "pyrepr.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* What a client whose handler failed reads before we close (TOO_LONG_REPLY: lines.h). */
#define FAILED_REPLY "Error: fallo al atender su mensaje, se cierra la conexión\r\n"

/* (The reply names LINE_MAX_BYTES in its text: keep the two in step.) */
_Static_assert(LINE_MAX_BYTES == 1024, "update TOO_LONG_REPLY and the drop message");
_Static_assert(sizeof TOO_LONG_REPLY - 1 <= ERROR_LINE_MAX &&
                   sizeof FAILED_REPLY - 1 <= ERROR_LINE_MAX,
               "an error line must always fit after a read's echoes");

int echo_line(struct connection *c, const char *line, size_t len)
{
    if (!quiet)
        print_bytes("Toda la data leida: ", line, len);
    /* It always fits: connection_wants_read() lets us read only while the queue has room for
     * a whole framer's worth of lines. A false here would be a bug, reported as a failure. */
    if (!out_queue_push(&c->out, line, len))
        return -1;
    c->lines++;
    return 0;
}

struct connection *connection_accept(int listener, enum accept_result *result)
{
    struct sockaddr_in address;
    int fd = accept_nonblocking(listener, &address, result);
    if (fd == -1)
        return NULL;

    struct connection *c = connection_new(fd, &address);
    if (c == NULL) {
        close(fd);
        *result = ACCEPT_SHORTAGE; /* out of memory: pause accepting, as for EMFILE */
        return NULL;
    }
    return c;
}

struct connection *connection_new(int fd, const struct sockaddr_in *address)
{
    struct connection *c = malloc(sizeof *c);
    if (c == NULL) {
        warn_call("malloc", ENOMEM);
        return NULL;
    }
    c->fd = fd;
    format_address(address, c->who);
    c->state = CONNECTION_OPEN;
    c->said_why = false;
    c->sent_fin = false;
    c->closing_since = 0;
    c->lines = 0;
    line_framer_init(&c->in, c->in_bytes, sizeof c->in_bytes);
    out_queue_init(&c->out, c->out_bytes, sizeof c->out_bytes);
    printf("Cliente connectandose desde %s\n", c->who);
    return c;
}

void connection_refuse(struct connection *c, const char *why)
{
    refuse_client(c->fd, c->who, why);
    free(c);
}

bool connection_wants_read(const struct connection *c)
{
    switch (c->state) {
    case CONNECTION_OPEN:
        /* Back-pressure: read only if the echoes of a whole read (up to LINE_MAX_BYTES of
         * lines) will fit. A client that does not read its replies stops being read. */
        return out_queue_room(&c->out) >= LINE_MAX_BYTES + ERROR_LINE_MAX;
    case CONNECTION_CLOSING:
        return true; /* to throw away what it sends and to see it close */
    case CONNECTION_FINISHING:
    case CONNECTION_CLOSED:
        return false;
    }
    return false;
}

bool connection_wants_write(const struct connection *c)
{
    return c->state != CONNECTION_CLOSED && out_queue_pending(&c->out) > 0;
}

bool connection_done(const struct connection *c)
{
    return c->state == CONNECTION_CLOSED ||
           (c->state == CONNECTION_FINISHING && out_queue_pending(&c->out) == 0);
}

/*
 * Why CLOSING is more than close(): closing a socket while the client is still sending makes
 * the kernel answer its next bytes with RST instead of FIN, and a RST throws away whatever we
 * had sent that the client has not received yet: the error line, the last echoes. So, like
 * any careful server (this is the "lingering close"), we send what is queued, then FIN
 * (shutdown(SHUT_WR): "nothing more from us"), and read and throw away whatever the client
 * still sends until it closes too. A client that goes on sending, fast or slowly, gets
 * CLOSING_LINGER_MS of that, no more. One that falls silent and never closes keeps its socket
 * until it does, as any connected, silent client does: these servers have no idle time-out
 * (a server that stops gracefully closes everyone once its grace period is over).
 */
static void start_closing(struct connection *c)
{
    c->state = CONNECTION_CLOSING;
    c->closing_since = monotonic_ms();
}

/* Drop c, whose "descartado" line the caller has printed: it gets `reply`, then FIN (sent by
 * the caller's next connection_write(), or by the stage's sends). */
static void reject(struct connection *c, const char *reply)
{
    c->said_why = true;
    out_queue_push(&c->out, reply, strlen(reply)); /* fits: see the _Static_assert above */
    start_closing(c);
}

/* CLOSING: read and throw away what the client sends (at most 64 KB a call, to be fair to
 * the others), until it closes, or until it has had CLOSING_LINGER_MS. */
static void discard(struct connection *c)
{
    char sink[4096];
    for (int i = 0; i < 16; i++) {
        ssize_t n = recv(c->fd, sink, sizeof sink, 0);
        if (n == 0) { /* it closed: send what may be left (FINISHING), then close */
            c->state = CONNECTION_FINISHING;
            return;
        }
        if (n > 0)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            c->state = CONNECTION_CLOSED; /* ECONNRESET: it is gone */
            return;
        }
        break; /* EAGAIN: nothing more for now */
    }
    /* Checked after every read, however little came: a client that trickles a byte now and
     * then must not keep the connection forever either. */
    if (monotonic_ms() - c->closing_since >= CLOSING_LINGER_MS)
        c->state = CONNECTION_CLOSED; /* it will not stop sending: enough */
}

/* recv() or send() on c failed with err: c is gone. A reset (ECONNRESET, or EPIPE after one)
 * is the client's right, so one calm line says so (none for a client already dropped: it may
 * well reset); anything else is reported as the failed call it is. */
static void gone(struct connection *c, const char *call, int err)
{
    if (err != ECONNRESET && err != EPIPE) {
        warn_call(call, err); /* then "desconectado", when it is closed */
    } else if (!c->said_why) {
        printf("Cliente %s desconectado (conexión reiniciada)\n", c->who);
        c->said_why = true;
    }
    c->state = CONNECTION_CLOSED;
}

/* Send from the front of c's output queue until it is empty or send() would block (EAGAIN).
 * A partial send() keeps the rest, in order. Returns 0, or -1 with errno set. */
static int send_queued(struct connection *c)
{
    for (;;) {
        size_t len;
        const char *bytes = out_queue_peek(&c->out, &len);
        if (len == 0)
            return 0;
        ssize_t n = send(c->fd, bytes, len, 0);
        if (n == -1) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0; /* the kernel's buffer for this socket is full: wait for writable */
            return -1;
        }
        out_queue_consume(&c->out, (size_t)n); /* maybe only part: the rest stays in front */
    }
}

void connection_read(struct connection *c, line_handler handle)
{
    /* Readiness may be reported for a connection that does not want to read now (an error,
     * a hang-up): reading anyway would break the bound on the output queue. */
    if (!connection_wants_read(c))
        return;
    if (c->state == CONNECTION_CLOSING) {
        discard(c);
        return;
    }

    /* recv() straight into the framer, after the bytes of the unfinished line (if any). */
    size_t room;
    char *space = line_framer_space(&c->in, &room);
    ssize_t n = recv(c->fd, space, room, 0);
    if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return; /* a false alarm: nothing to read after all */
    connection_received(c, n == -1 ? -errno : (long)n, handle);
    /* Send the echoes now (or the error line, then FIN): the socket almost always has room,
     * so there is no need to wait for the loop to say it is writable. What does not fit stays
     * queued. */
    connection_write(c);
}

void connection_received(struct connection *c, long result, line_handler handle)
{
    if (c->state == CONNECTION_CLOSED)
        return;
    if (result < 0) {
        gone(c, "recv", (int)-result); /* ECONNRESET: the client is gone, with its queue */
        return;
    }
    if (result == 0) {
        /* FIN: the client has sent all it will send. An unfinished line is not a line: it is
         * dropped. What is queued still goes out (nc -N waits for it), then we close. */
        c->state = CONNECTION_FINISHING;
        return;
    }
    if (c->state == CONNECTION_CLOSING) {
        /* thrown away; a client that goes on sending, however slowly, gets its linger only */
        if (monotonic_ms() - c->closing_since >= CLOSING_LINGER_MS)
            c->state = CONNECTION_CLOSED;
        return;
    }
    line_framer_commit(&c->in, (size_t)result);

    const char *line;
    size_t len;
    enum line_status status;
    while ((status = line_framer_next(&c->in, &line, &len)) == LINE_READY) {
        if (handle(c, line, len) != 0) {
            printf("Cliente %s descartado: su manejador falló con ", c->who);
            fprint_bytes(stdout, line, len);
            putchar('\n');
            reject(c, FAILED_REPLY);
            return;
        }
    }
    if (status == LINE_TOO_LONG) {
        printf("Cliente %s descartado: línea de más de %d bytes sin \\r\\n\n", c->who,
               LINE_MAX_BYTES);
        reject(c, TOO_LONG_REPLY);
    }
}

void connection_write(struct connection *c)
{
    if (c->state == CONNECTION_CLOSED)
        return;
    if (send_queued(c) == -1) {
        gone(c, "send", errno); /* EPIPE, ECONNRESET: it went away without reading everything */
        return;
    }
    connection_fin_if_flushed(c);
}

void connection_sent(struct connection *c, long result)
{
    if (c->state == CONNECTION_CLOSED)
        return;
    if (result < 0) {
        gone(c, "send", (int)-result); /* EPIPE, ECONNRESET: it left without reading everything */
        return;
    }
    out_queue_consume(&c->out, (size_t)result); /* a partial send keeps the rest, in order */
}

void connection_fin_if_flushed(struct connection *c)
{
    if (c->state == CONNECTION_CLOSING && !c->sent_fin && out_queue_pending(&c->out) == 0) {
        /* Our last bytes are out: FIN tells the client that nothing else will come. */
        if (shutdown(c->fd, SHUT_WR) == -1 && errno != ENOTCONN)
            warn_call("shutdown", errno);
        c->sent_fin = true;
    }
}

void connection_finish(struct connection *c)
{
    if (c->state == CONNECTION_OPEN) {
        start_closing(c);
        connection_write(c); /* sends what is queued, and FIN once that is out */
    }
    /* FINISHING (the client is already done sending) and CLOSING go on as they are. */
}

void connection_stop_reading(struct connection *c)
{
    if (c->state == CONNECTION_OPEN)
        start_closing(c);
}

void connection_close(struct connection *c)
{
    if (!c->said_why)
        printf("Cliente %s desconectado\n", c->who);
    if (close(c->fd) == -1 && errno != EINTR)
        warn_call("close", errno);
    free(c);
}
