/*
 * lines.h - the two buffers every line-echo connection needs, written once and tested alone.
 *
 *   struct line_framer  bytes in, complete "\r\n"-terminated lines out. It is what the busy
 *                       loop of the non-blocking section got wrong twice: it keeps the
 *                       bytes between reads (a line may arrive in many pieces) and it finds
 *                       "\r\n" anywhere (one read may bring many lines, or a "\r\n" split in two).
 *   struct out_queue    bytes waiting to be sent: send() on a non-blocking socket may take only
 *                       part of them, or nothing (EAGAIN); the rest waits here, in order, until
 *                       the socket is writable again.
 *
 * Both have a FIXED capacity chosen by the caller, who also provides the storage: a connection
 * can never make the server use more memory than that, whatever the client sends.
 *
 * Neither touches a socket (feed the framer bytes from anywhere: recv(), a file, a fuzzer;
 * connection.c hands the queue's bytes to send(): out_queue_peek(), then out_queue_consume()).
 *
 * Neither allocates, neither keeps global state, and every function is O(bytes handled).
 */
#ifndef WORKBOOK_LINES_H
#define WORKBOOK_LINES_H

#include <stdbool.h>
#include <stddef.h>

/* ------------------------------------------------------------------------------------------
 * The line protocol: what every server of lines promises its clients, whatever its loop.
 * ------------------------------------------------------------------------------------------ */

/* The longest line a client may send, "\r\n" included: the book reads with recv(1024). */
#define LINE_MAX_BYTES 1024
/* The longest error line we send a client before dropping it. */
#define ERROR_LINE_MAX 128
/* What a client whose line is longer than LINE_MAX_BYTES reads before we close: one line, so
 * that it knows why. (It names LINE_MAX_BYTES in its text: connection.c checks the two agree.) */
#define TOO_LONG_REPLY "Error: línea de más de 1024 bytes sin \\r\\n, se cierra la conexión\r\n"
/* How long a client we drop may go on sending before we close anyway. Closing at once, while
 * it still sends, would make the kernel answer with RST, and a RST throws away the error line
 * it has not read yet: so we send FIN, throw away what it still sends, and close when it does
 * or when this time is up (a "lingering close"). */
#define CLOSING_LINGER_MS 1000

/* ------------------------------------------------------------------------------------------
 * The line framer
 *
 * A line is a run of bytes ending with the two bytes "\r\n"; the "\r\n" is part of the line.
 * Any other byte may be in a line: NUL, a lone '\r', a lone '\n', bytes >= 0x80.
 *
 * Capacity: a line of up to `capacity` bytes ("\r\n" included) is delivered; a longer line is
 * an error (LINE_TOO_LONG), decided as soon as `capacity` bytes have arrived without a "\r\n".
 *
 * THE PROMISE (what the fuzz target checks): for any byte stream and any way of cutting it into
 * pieces, feeding the pieces in order and taking lines after each feed yields the same lines,
 * in the same order, and LINE_TOO_LONG at the same point of the stream. The framer never holds
 * more than `capacity` bytes.
 *
 * How to use it (recv() straight into the framer: no copy):
 *
 *     char storage[1024];
 *     struct line_framer in;
 *     line_framer_init(&in, storage, sizeof storage);
 *     ...
 *     size_t room;
 *     char *space = line_framer_space(&in, &room);     // room > 0 unless LINE_TOO_LONG
 *     ssize_t n = recv(fd, space, room, 0);
 *     if (n > 0) line_framer_commit(&in, (size_t)n);
 *     const char *line;
 *     size_t len;
 *     enum line_status s;
 *     while ((s = line_framer_next(&in, &line, &len)) == LINE_READY)
 *         use(line, len);                             // valid until the next space/feed call
 *     if (s == LINE_TOO_LONG) ... drop the client ...
 *
 * or, with bytes that are already in memory:
 *
 *     while (left > 0) {                                 // bytes[0..left) to frame
 *         size_t used = line_framer_feed(&in, bytes, left);  // takes what fits
 *         bytes += used, left -= used;
 *         while ((s = line_framer_next(&in, &line, &len)) == LINE_READY) use(line, len);
 *         if (s == LINE_TOO_LONG) break;
 *     }
 *
 * Take every ready line before feeding more: line_framer_feed() and line_framer_space() move
 * the unfinished line to the start of the storage, so older line pointers stop being valid.
 * ------------------------------------------------------------------------------------------ */

enum line_status {
    LINE_READY,      /* *line, *len: the next complete line, "\r\n" included */
    LINE_INCOMPLETE, /* no complete line yet: feed more bytes */
    LINE_TOO_LONG,   /* `capacity` bytes without "\r\n". Final: every later call says so again,
                        feed takes nothing; the stream cannot be framed any more. */
};

struct line_framer {
    char *data;      /* the caller's storage, `capacity` bytes */
    size_t capacity; /* the longest line accepted, "\r\n" included (at least 2) */
    /* data[start..end) is what has been fed and not yet taken as a line */
    size_t start;
    size_t end;
    /* The next index where a '\n' could end a line: data[start..scan) has been searched
     * already, so no byte is searched twice. */
    size_t scan;
    bool too_long; /* LINE_TOO_LONG was returned: final */
};

/* Start empty, on the caller's storage[0..capacity). capacity must be at least 2. */
void line_framer_init(struct line_framer *f, char *storage, size_t capacity);

/* Where the next bytes can go and how many fit (*room). *room is 0 only when the framer
 * holds `capacity` bytes of an unfinished line, which line_framer_next() reports as
 * LINE_TOO_LONG. Moves the unfinished line to the start of the storage. */
char *line_framer_space(struct line_framer *f, size_t *room);

/* Record that n bytes were written at line_framer_space() (n <= the room it gave). */
void line_framer_commit(struct line_framer *f, size_t n);

/* Copy as many of bytes[0..len) as fit; returns how many were taken (0 after LINE_TOO_LONG). */
size_t line_framer_feed(struct line_framer *f, const void *bytes, size_t len);

/* Take the next complete line, if there is one (see enum line_status). */
enum line_status line_framer_next(struct line_framer *f, const char **line, size_t *len);

/* How many bytes of an unfinished line the framer holds (0 .. capacity). */
size_t line_framer_pending(const struct line_framer *f);

/* ------------------------------------------------------------------------------------------
 * The output queue
 *
 * A FIFO of bytes with a fixed capacity. out_queue_push() adds a whole message or nothing;
 * out_queue_peek() shows the oldest bytes, out_queue_consume() drops those that were sent.
 * The caller keeps memory bounded by not reading more from a client whose queue has no room:
 * that is back-pressure (a client that never reads is simply no longer read from).
 * ------------------------------------------------------------------------------------------ */

struct out_queue {
    char *data; /* the caller's storage, `capacity` bytes */
    size_t capacity;
    /* data[start..end) waits to be sent, oldest first */
    size_t start;
    size_t end;
};

/* Start empty, on the caller's storage[0..capacity). */
void out_queue_init(struct out_queue *q, char *storage, size_t capacity);

/* Bytes waiting to be sent. */
size_t out_queue_pending(const struct out_queue *q);

/* How many more bytes out_queue_push() would accept now. */
size_t out_queue_room(const struct out_queue *q);

/* Append bytes[0..len) whole; returns false, queueing nothing, if they do not fit. */
bool out_queue_push(struct out_queue *q, const void *bytes, size_t len);

/* The oldest waiting bytes (*len of them, 0 when empty), and dropping n of them once sent. */
const char *out_queue_peek(const struct out_queue *q, size_t *len);
void out_queue_consume(struct out_queue *q, size_t n);

#endif
