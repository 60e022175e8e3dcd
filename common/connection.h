/*
 * connection.h - one client of a server that waits for readiness, written once.
 *
 * A server on non-blocking sockets serves its clients with the functions below and only
 * decides WHEN to call them: that is what its readiness API (select, poll, epoll, an event
 * loop) is for, and all that changes from one such server to the next.
 *
 * A connection owns:
 *   - an input line framer (lines.h): bytes survive between reads, "\r\n" is found anywhere,
 *     a line may be at most LINE_MAX_BYTES long ("\r\n" included: the line protocol, lines.h);
 *   - an output queue (lines.h): echoes wait there when send() cannot take them yet (EAGAIN).
 * Its memory is fixed (sizeof(struct connection), about 3 KB) whatever the client does: we stop
 * reading from a client whose replies are piling up (back-pressure), so a client that sends
 * without ever reading costs no more than one that behaves.
 *
 * The life of a connection, as a stage sees it:
 *
 *     c = connection_accept(listener, &result)    accepted, non-blocking, announced
 *     loop:
 *         wait until c->fd is readable if connection_wants_read(c),
 *                        writable if connection_wants_write(c)   (select, poll, epoll...)
 *         readable -> connection_read(c, echo_line)
 *         writable -> connection_write(c)
 *         if connection_done(c): connection_close(c), forget it
 *
 * Every event is printed in the documents' voice (Spanish): connect, each echoed line unless
 * `quiet`, leave (a reset is a leave too), and one line saying who was dropped and why.
 * Failed calls that are not the client's doing go to stderr.
 */
#ifndef WORKBOOK_CONNECTION_H
#define WORKBOOK_CONNECTION_H

#include "lines.h"
#include "net.h"

#include <stdbool.h>
#include <stddef.h>

/* Replies waiting for a slow reader: we read only while one read's echoes (at most
 * LINE_MAX_BYTES) and an error line still fit, so at most this much ever waits. */
#define OUTPUT_MAX_BYTES (2 * LINE_MAX_BYTES + ERROR_LINE_MAX)
enum connection_state {
    CONNECTION_OPEN,      /* reading lines and echoing them */
    CONNECTION_FINISHING, /* the client sent FIN (it has nothing more to say): send what is
                             queued, then close */
    CONNECTION_CLOSING,   /* WE end it (a line too long, a failed handler, the server stopping):
                             no more lines; send what is queued, then FIN, and throw away what
                             it still sends until it closes too (why: see connection.c) */
    CONNECTION_CLOSED,    /* nothing more to do: connection_close() it */
};

struct connection {
    int fd;
    char who[ADDRESS_TEXT_MAX]; /* ('127.0.0.1', 56188), for the messages */
    enum connection_state state;
    bool said_why;           /* a "descartado" line was printed: no "desconectado" after it */
    bool sent_fin;           /* CLOSING: shutdown(SHUT_WR) done */
    long long closing_since; /* CLOSING: when it started (monotonic_ms) */
    unsigned long lines;     /* lines echoed to this client */
    struct line_framer in;   /* bytes received, not yet a complete line */
    struct out_queue out;    /* bytes to send, not yet taken by the kernel */
    char in_bytes[LINE_MAX_BYTES];
    char out_bytes[OUTPUT_MAX_BYTES];
};

/* What to do with each complete line ("\r\n" included). Returns 0, or -1 if handling it
 * failed: the client is then dropped with a message, and the server goes on. */
typedef int (*line_handler)(struct connection *c, const char *line, size_t len);

/* The echo: print `Toda la data leida: b'...'` (unless quiet) and queue the line back. */
int echo_line(struct connection *c, const char *line, size_t len);

/* accept_nonblocking() (net.h), then a new connection for it, announced with
 * `Cliente connectandose desde ('127.0.0.1', P)`. NULL with *result (ACCEPT_NOBODY or
 * ACCEPT_SHORTAGE; no memory for the connection counts as a shortage) when there is none. */
struct connection *connection_accept(int listener, enum accept_result *result);

/* A new connection for a socket accepted some other way (io_uring's multishot accept), from
 * the peer's address; announced as connection_accept() does. NULL (reported) without memory:
 * the caller closes fd. */
struct connection *connection_new(int fd, const struct sockaddr_in *address);

/* refuse_client() (net.h) for a client accepted with connection_accept(); frees it. */
void connection_refuse(struct connection *c, const char *why);

/* What the connection waits for next. A connection that is not done always wants one. */
bool connection_wants_read(const struct connection *c);
bool connection_wants_write(const struct connection *c);

/* The socket is readable (or reported an error or hang-up): one recv(), then every complete
 * line goes to handle() and the replies are sent at once if the socket takes them.
 * Does nothing if c does not want to read now, so a stage may call it on any report. */
void connection_read(struct connection *c, line_handler handle);

/* The socket is writable (or reported an error): send what is queued, if anything. */
void connection_write(struct connection *c);

/* Graceful shutdown: no more lines from c; what is queued is still sent, then c is closed
 * cleanly (CONNECTION_CLOSING). Keep watching it until connection_done(). */
void connection_finish(struct connection *c);

/* For a stage whose kernel makes the calls and reports when they are DONE (io_uring),
 * instead of saying when they would not wait. It posts
 * the recv() (into line_framer_space(&c->in, ...) while OPEN, anywhere while CLOSING) and the
 * send() (of out_queue_peek(&c->out, ...)) itself, then reports each result here: bytes, 0
 * for FIN, or -errno. Neither calls recv() or send(). */
void connection_received(struct connection *c, long result, line_handler handle);
void connection_sent(struct connection *c, long result);
/* CLOSING and nothing left to send: FIN (shutdown(SHUT_WR)), once. */
void connection_fin_if_flushed(struct connection *c);
/* connection_finish() without its sending: the stage posts the sends. */
void connection_stop_reading(struct connection *c);

/* True when the stage should connection_close() c. */
bool connection_done(const struct connection *c);

/* Close the socket, print `Cliente ('127.0.0.1', P) desconectado` (unless a line already said
 * why it was dropped: `descartado: ...`, or `desconectado (conexión reiniciada)` for a client
 * that reset the connection), free c. The stage must have stopped watching c->fd. */
void connection_close(struct connection *c);

#endif
