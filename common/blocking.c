/* blocking.c - one client served with blocking calls (see blocking.h). */
#include "blocking.h"
#include "pyrepr.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/time.h>

/* recv() or send() on c failed with err: the client is gone. A reset (ECONNRESET, or EPIPE
 * after one) is the client's right, so one calm line says so, as in section 3 (none for a
 * client already dropped); anything else is reported as the failed call it is. */
static void gone(struct blocking_client *c, const char *call, int err)
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
static void drop_client(struct blocking_client *c)
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
    while (monotonic_ms() < until) {
        /* EINTR: a call with a time-out is not resumed after a signal handler (signal(7)) */
        ssize_t n = recv(c->fd, sink, sizeof sink, 0);
        if (n == 0 || (n == -1 && errno != EINTR))
            break;
    }
}

/* Every call here BLOCKS, as in 01-blocking/04-many-clients, but only this client's own
 * process or thread waits. */
static void serve_lines(struct blocking_client *c)
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
            c->lines++;
        }
        if (status == LINE_TOO_LONG) {
            drop_client(c);
            return;
        }
    }
}

void blocking_serve(struct blocking_client *c)
{
    serve_lines(c);
    if (!c->said_why)
        printf("Cliente %s desconectado\n", c->who);
}
