/*
 * tests/fuzz/lines.c - libFuzzer target for common/lines.c (`make fuzz`).
 *
 * lines.h promises: for any byte stream and any way of cutting it into pieces, feeding the
 * pieces in order and taking every ready line after each feed yields the same lines, in the
 * same order, and LINE_TOO_LONG at the same point of the stream; the framer never holds more
 * than `capacity` bytes. This file checks exactly that, against a reference framer of its own
 * (a plain scan of the whole stream, written from the header's definition, not from lines.c).
 *
 * The input is read as:
 *   byte 0, 1   the capacity: 2..65 (small: every edge is near), or, when byte 1 has its top
 *               bit set, 2..2049 (around the stages' 1024);
 *   byte 2      how many cut bytes follow (at most 32);
 *   cut bytes   the pieces, used in turn: length = byte >> 1 (0..127: an empty piece too),
 *               low bit = feed the piece with line_framer_feed() or write it through
 *               line_framer_space()/line_framer_commit(), as recv() does; no cut bytes: the
 *               stream goes in one piece;
 *   the rest    the stream itself.
 * The storage is malloc'ed with exactly `capacity` bytes, so AddressSanitizer sees any write
 * past it. The same stream is framed three ways, and each must give the same events:
 *   1. the reference: the lines (stream offset, length), then LINE_TOO_LONG at the offset
 *      where `capacity` bytes had come without "\r\n", or the bytes left unfinished;
 *   2. lines.c, the whole stream in one line_framer_feed() loop;
 *   3. lines.c, the pieces, with lines taken after each one.
 * Every line's bytes are checked against the stream, and line_framer_pending() after every
 * call. The lines then go through an out_queue (capacity from byte 0, consumed in steps taken
 * from the cut bytes), as a stage echoes them: pushed whole or refused whole, never more than
 * its capacity waiting, and the bytes come out exactly in the order they went in.
 * Any violation aborts, and libFuzzer saves the input under build/fuzz/artifacts/.
 *
 * Run:    make fuzz                  (FUZZ_SECONDS=60 per target; 0: only replay the corpus)
 *         build/fuzz/lines CRASH     (replay one saved input)
 */
#include "lines.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_BYTES 3
#define MAX_CUTS 32

/* What framing a stream produced: its lines, then how it ended. */
struct events {
    size_t *offsets; /* line k is stream[offsets[k] .. offsets[k] + lengths[k]) */
    size_t *lengths;
    size_t count;
    bool too_long;
    size_t too_long_at; /* stream bytes taken when LINE_TOO_LONG was first reported */
    size_t pending;     /* bytes of an unfinished line at the end (when not too_long) */
};

struct input {
    size_t capacity;
    const uint8_t *cuts;
    size_t ncuts;
    const char *stream;
    size_t len;
};

static void fail(const char *what, size_t a, size_t b)
{
    fprintf(stderr, "lines fuzz: %s (%zu, %zu)\n", what, a, b);
    abort();
}

static void *checked_malloc(size_t size)
{
    void *p = malloc(size > 0 ? size : 1);
    if (p == NULL)
        abort();
    return p;
}

static void events_init(struct events *e, size_t len)
{
    /* a line is at least 2 bytes: at most len / 2 of them */
    e->offsets = checked_malloc((len / 2 + 1) * sizeof *e->offsets);
    e->lengths = checked_malloc((len / 2 + 1) * sizeof *e->lengths);
    e->count = 0;
    e->too_long = false;
    e->too_long_at = 0;
    e->pending = 0;
}

static void events_free(struct events *e)
{
    free(e->offsets);
    free(e->lengths);
}

/* The reference: a line is the bytes up to the first "\r\n" after its start; it is too long
 * if that "\r\n" does not end within `capacity` bytes, which is known once `capacity` bytes
 * have come. */
static void reference_frame(const struct input *in, struct events *e)
{
    size_t start = 0;
    for (;;) {
        size_t end = 0; /* one past the "\n", 0: none within the capacity */
        for (size_t i = start + 1; i < in->len && i - start < in->capacity; i++) {
            if (in->stream[i - 1] == '\r' && in->stream[i] == '\n') {
                end = i + 1;
                break;
            }
        }
        if (end != 0) {
            e->offsets[e->count] = start;
            e->lengths[e->count] = end - start;
            e->count++;
            start = end;
        } else if (in->len - start >= in->capacity) {
            e->too_long = true;
            e->too_long_at = start + in->capacity;
            return;
        } else {
            e->pending = in->len - start;
            return;
        }
    }
}

/* The framer under test, with what the checks need to know. */
struct run {
    struct line_framer f;
    char *storage;
    const struct input *in;
    struct events *e;
    size_t taken;     /* stream bytes handed to the framer so far */
    size_t delivered; /* stream bytes delivered as lines so far */
};

static void check_pending(const struct run *r)
{
    size_t pending = line_framer_pending(&r->f);
    if (pending > r->in->capacity)
        fail("line_framer_pending() exceeds the capacity", pending, r->in->capacity);
    if (pending != r->taken - r->delivered)
        fail("line_framer_pending() is not the bytes taken minus the lines delivered", pending,
             r->taken - r->delivered);
}

/* Take every ready line; false once LINE_TOO_LONG was reported. */
static bool take_lines(struct run *r)
{
    for (;;) {
        const char *line = NULL;
        size_t len = 0;
        enum line_status s = line_framer_next(&r->f, &line, &len);
        if (s == LINE_INCOMPLETE) {
            check_pending(r);
            return true;
        }
        if (s == LINE_TOO_LONG) {
            check_pending(r);
            if (!r->e->too_long) {
                r->e->too_long = true;
                r->e->too_long_at = r->taken;
            }
            return false;
        }
        if (s != LINE_READY)
            fail("line_framer_next() returned an unknown status", (size_t)s, 0);
        if (r->e->too_long)
            fail("a line after LINE_TOO_LONG", r->e->count, 0);
        if (line < r->storage || len > r->in->capacity || line + len > r->storage + r->in->capacity)
            fail("a line outside the framer's storage", (size_t)(line - r->storage), len);
        if (len < 2 || line[len - 2] != '\r' || line[len - 1] != '\n')
            fail("a line that does not end with \\r\\n", len, 0);
        if (len > r->taken - r->delivered || memcmp(line, r->in->stream + r->delivered, len) != 0)
            fail("a line whose bytes are not the stream's next bytes", r->delivered, len);
        r->e->offsets[r->e->count] = r->delivered;
        r->e->lengths[r->e->count] = len;
        r->e->count++;
        r->delivered += len;
        check_pending(r);
    }
}

/* After LINE_TOO_LONG the framer must stay there: nothing taken, no room, same answer. */
static void check_final(struct run *r)
{
    const char *line = NULL;
    size_t len = 0;
    size_t room = 1;
    if (line_framer_feed(&r->f, "\r\n", 2) != 0)
        fail("line_framer_feed() took bytes after LINE_TOO_LONG", 0, 0);
    (void)line_framer_space(&r->f, &room);
    if (room != 0)
        fail("line_framer_space() gave room after LINE_TOO_LONG", room, 0);
    if (line_framer_next(&r->f, &line, &len) != LINE_TOO_LONG)
        fail("LINE_TOO_LONG was not final", 0, 0);
    if (line_framer_pending(&r->f) > r->in->capacity)
        fail("line_framer_pending() exceeds the capacity", line_framer_pending(&r->f), 0);
}

/* Hand bytes[0..len) to the framer, as the header shows, with feed() or space()/commit(). */
static bool give(struct run *r, const char *bytes, size_t len, bool use_space)
{
    for (;;) {
        size_t used;
        if (use_space) {
            size_t room = 0;
            char *space = line_framer_space(&r->f, &room);
            check_pending(r);
            if (room > r->in->capacity - line_framer_pending(&r->f))
                fail("line_framer_space() offers more than capacity minus pending", room,
                     line_framer_pending(&r->f));
            if (space < r->storage || space + room > r->storage + r->in->capacity)
                fail("line_framer_space() points outside the storage", (size_t)(space - r->storage),
                     room);
            used = len < room ? len : room;
            if (used > 0) {
                memcpy(space, bytes, used);
                line_framer_commit(&r->f, used);
            }
        } else {
            used = line_framer_feed(&r->f, bytes, len);
            if (used > len)
                fail("line_framer_feed() took more bytes than given", used, len);
        }
        r->taken += used;
        bytes += used;
        len -= used;
        check_pending(r);
        if (!take_lines(r))
            return false;
        if (len == 0)
            return true;
        if (used == 0) /* room 0 must mean LINE_TOO_LONG: this would loop forever */
            fail("no room, yet not LINE_TOO_LONG", line_framer_pending(&r->f), len);
    }
}

static void run_init(struct run *r, const struct input *in, struct events *e)
{
    r->storage = checked_malloc(in->capacity);
    line_framer_init(&r->f, r->storage, in->capacity);
    r->in = in;
    r->e = e;
    r->taken = 0;
    r->delivered = 0;
}

static void run_end(struct run *r)
{
    if (r->e->too_long)
        check_final(r);
    else
        r->e->pending = line_framer_pending(&r->f);
    free(r->storage);
}

static void frame_whole(const struct input *in, struct events *e)
{
    struct run r;
    run_init(&r, in, e);
    (void)give(&r, in->stream, in->len, false);
    run_end(&r);
}

static void frame_pieces(const struct input *in, struct events *e)
{
    struct run r;
    run_init(&r, in, e);
    size_t at = 0;
    size_t round_start = 0; /* where the current round of cut bytes began */
    bool going = true;
    /* Every cut byte once (empty pieces too), then round again while bytes remain. A round of
     * only empty pieces would go round forever: then the rest goes in one piece. */
    for (size_t k = 0; going && (at < in->len || k < in->ncuts); k++) {
        uint8_t cut = in->ncuts > 0 ? in->cuts[k % in->ncuts] : 0xff;
        size_t piece = in->ncuts > 0 ? (size_t)(cut >> 1) : in->len;
        if (in->ncuts > 0 && k > 0 && k % in->ncuts == 0) {
            if (at == round_start)
                piece = in->len - at;
            round_start = at;
        }
        if (piece > in->len - at)
            piece = in->len - at;
        going = give(&r, in->stream + at, piece, (cut & 1) != 0);
        at += piece;
    }
    run_end(&r);
}

static void compare(const struct events *want, const struct events *got, const char *how)
{
    if (want->count != got->count) {
        fprintf(stderr, "lines fuzz: %s: a different number of lines\n", how);
        fail("lines expected, delivered", want->count, got->count);
    }
    for (size_t k = 0; k < want->count; k++) {
        if (want->offsets[k] != got->offsets[k] || want->lengths[k] != got->lengths[k]) {
            fprintf(stderr, "lines fuzz: %s: line %zu differs (offset %zu length %zu)\n", how, k,
                    got->offsets[k], got->lengths[k]);
            fail("expected offset, length", want->offsets[k], want->lengths[k]);
        }
    }
    if (want->too_long != got->too_long || want->too_long_at != got->too_long_at) {
        fprintf(stderr, "lines fuzz: %s: LINE_TOO_LONG differs (%d at %zu)\n", how, got->too_long,
                got->too_long_at);
        fail("expected LINE_TOO_LONG, at", want->too_long, want->too_long_at);
    }
    if (want->pending != got->pending) {
        fprintf(stderr, "lines fuzz: %s: a different unfinished line at the end\n", how);
        fail("bytes pending expected, held", want->pending, got->pending);
    }
}

/* The lines go through an out_queue, as a stage echoes them; checked against a plain copy. */
static void check_queue(const struct input *in, const struct events *e, size_t capacity)
{
    char *storage = checked_malloc(capacity);
    char *expected = checked_malloc(in->len); /* the bytes pushed, in order */
    size_t pushed = 0;
    size_t sent = 0;
    struct out_queue q;
    out_queue_init(&q, storage, capacity);
    for (size_t k = 0; k <= e->count; k++) {
        /* first drain a little (a partial send()), in steps taken from the cut bytes */
        size_t waiting = 0;
        const char *front = out_queue_peek(&q, &waiting);
        if (waiting != pushed - sent || waiting > capacity)
            fail("out_queue_peek() length is not what waits", waiting, pushed - sent);
        if (waiting > 0 && (front < storage || front + waiting > storage + capacity))
            fail("out_queue_peek() points outside the storage", (size_t)(front - storage), waiting);
        size_t step = in->ncuts > 0 ? in->cuts[k % in->ncuts] : waiting;
        if (k == e->count)
            step = waiting; /* at the end: drain everything */
        if (step > waiting)
            step = waiting;
        if (step > 0 && memcmp(front, expected + sent, step) != 0)
            fail("out_queue bytes out of order", sent, step);
        out_queue_consume(&q, step);
        sent += step;
        if (out_queue_pending(&q) != pushed - sent)
            fail("out_queue_pending() after consume", out_queue_pending(&q), pushed - sent);
        if (k == e->count)
            break;

        const char *line = in->stream + e->offsets[k];
        size_t len = e->lengths[k];
        size_t room = out_queue_room(&q);
        if (room != capacity - (pushed - sent))
            fail("out_queue_room() is not capacity minus pending", room, pushed - sent);
        bool ok = out_queue_push(&q, line, len);
        if (ok != (len <= room))
            fail("out_queue_push() accepted what does not fit, or refused what does", len, room);
        if (ok) {
            memcpy(expected + pushed, line, len);
            pushed += len;
        }
        if (out_queue_pending(&q) != pushed - sent || out_queue_pending(&q) > capacity)
            fail("out_queue_pending() after push", out_queue_pending(&q), pushed - sent);
    }
    if (sent != pushed || out_queue_pending(&q) != 0)
        fail("out_queue not empty after draining", sent, pushed);
    free(expected);
    free(storage);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEADER_BYTES)
        return 0;
    struct input in;
    if (data[1] & 0x80)
        in.capacity = 2 + (((size_t)(data[1] & 0x7f) << 8 | data[0]) % 2048);
    else
        in.capacity = 2 + data[0] % 64;
    in.ncuts = data[2] % (MAX_CUTS + 1);
    if (in.ncuts > size - HEADER_BYTES)
        in.ncuts = size - HEADER_BYTES;
    in.cuts = data + HEADER_BYTES;
    in.stream = (const char *)data + HEADER_BYTES + in.ncuts;
    in.len = size - HEADER_BYTES - in.ncuts;

    struct events want, whole, pieces;
    events_init(&want, in.len);
    events_init(&whole, in.len);
    events_init(&pieces, in.len);
    reference_frame(&in, &want);
    frame_whole(&in, &whole);
    frame_pieces(&in, &pieces);
    compare(&want, &whole, "one piece vs the reference");
    compare(&whole, &pieces, "in pieces vs in one piece");
    check_queue(&in, &want, 1 + data[0] % 200);

    events_free(&want);
    events_free(&whole);
    events_free(&pieces);
    return 0;
}
