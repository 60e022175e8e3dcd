/* lines.c - the line framer and the output queue (see lines.h for the promises). */
#include "lines.h"

#include <assert.h>
#include <string.h>

/* --- the line framer ---------------------------------------------------------------------- */

void line_framer_init(struct line_framer *f, char *storage, size_t capacity)
{
    assert(storage != NULL && capacity >= 2);
    f->data = storage;
    f->capacity = capacity;
    f->start = 0;
    f->end = 0;
    f->scan = 1; /* a line ends at the earliest on its second byte */
    f->too_long = false;
}

/* Move the unfinished line to the front, so that all the free room is at the end. */
static void compact(struct line_framer *f)
{
    if (f->start == 0)
        return;
    size_t pending = f->end - f->start;
    memmove(f->data, f->data + f->start, pending);
    f->scan -= f->start;
    f->start = 0;
    f->end = pending;
}

char *line_framer_space(struct line_framer *f, size_t *room)
{
    compact(f);
    *room = f->too_long ? 0 : f->capacity - f->end;
    return f->data + f->end;
}

void line_framer_commit(struct line_framer *f, size_t n)
{
    assert(!f->too_long && n <= f->capacity - f->end);
    f->end += n;
}

size_t line_framer_feed(struct line_framer *f, const void *bytes, size_t len)
{
    size_t room;
    char *space = line_framer_space(f, &room);
    size_t n = len < room ? len : room;
    if (n > 0)
        memcpy(space, bytes, n);
    f->end += n;
    return n;
}

enum line_status line_framer_next(struct line_framer *f, const char **line, size_t *len)
{
    if (f->too_long)
        return LINE_TOO_LONG;

    /* Look for "\r\n" only in bytes not searched before: data[scan] is the candidate '\n'. */
    for (size_t i = f->scan; i < f->end; i++) {
        if (f->data[i] == '\n' && f->data[i - 1] == '\r') {
            *line = f->data + f->start;
            *len = i + 1 - f->start;
            f->start = i + 1;
            f->scan = f->start + 1;
            return LINE_READY;
        }
    }
    /* Nothing yet. Remember how far we looked (never before the second byte of the line). */
    f->scan = f->end > f->start + 1 ? f->end : f->start + 1;

    if (f->end - f->start == f->capacity) {
        f->too_long = true; /* `capacity` bytes and still no end: the line is too long */
        return LINE_TOO_LONG;
    }
    return LINE_INCOMPLETE;
}

size_t line_framer_pending(const struct line_framer *f)
{
    return f->end - f->start;
}

/* --- the output queue --------------------------------------------------------------------- */

void out_queue_init(struct out_queue *q, char *storage, size_t capacity)
{
    assert(storage != NULL);
    q->data = storage;
    q->capacity = capacity;
    q->start = 0;
    q->end = 0;
}

size_t out_queue_pending(const struct out_queue *q)
{
    return q->end - q->start;
}

size_t out_queue_room(const struct out_queue *q)
{
    return q->capacity - out_queue_pending(q);
}

bool out_queue_push(struct out_queue *q, const void *bytes, size_t len)
{
    if (len > out_queue_room(q))
        return false;
    if (len > q->capacity - q->end) { /* it fits, but only once the waiting bytes move up */
        size_t pending = out_queue_pending(q);
        memmove(q->data, q->data + q->start, pending);
        q->start = 0;
        q->end = pending;
    }
    if (len > 0)
        memcpy(q->data + q->end, bytes, len);
    q->end += len;
    return true;
}

const char *out_queue_peek(const struct out_queue *q, size_t *len)
{
    *len = out_queue_pending(q);
    return q->data + q->start;
}

void out_queue_consume(struct out_queue *q, size_t n)
{
    assert(n <= out_queue_pending(q));
    q->start += n;
    if (q->start == q->end) /* empty: start again at the front, so pushes rarely move bytes */
        q->start = q->end = 0;
}
