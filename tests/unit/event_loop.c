/*
 * tests/unit/event_loop.c - unit tests of common/event_loop.c: the promises of its header.
 *
 * The bats suites reach the loop only through the servers built on it, and some promises never
 * show from outside a server: a descriptor unwatched by an earlier callback of the same turn
 * gets no callback, even though poll() said it was ready. Here each promise is checked
 * directly. Descriptors are socket pairs: a byte written into pair[1] makes pair[0] readable.
 *
 * Turns are counted by a 0 ms timer that re-arms itself: timers run first in a turn, so a
 * callback reads in `turn` which turn it belongs to, and the timer stops the loop after a set
 * number of turns.
 *
 * Output: one TAP line per check ("ok 3 - ..." or "not ok 3 - ..."), then "1..N"; exit status 1
 * if any check failed. A few checks are about loop_run() returning at all: their failure is a
 * hang, which the bats test's timeout turns into a failure. Run by tests/common.bats; by hand: build/tests/unit/event_loop
 */
#include "event_loop.h"
#include "net.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int checks, failures;

static void check(bool ok, const char *what)
{
    checks++;
    if (!ok)
        failures++;
    printf("%sok %d - %s\n", ok ? "" : "not ", checks, what);
}

/* --- descriptors ------------------------------------------------------------------------------ */

static void make_pair(int pair[2])
{
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == -1)
        die("socketpair");
}

static void make_readable(const int pair[2])
{
    if (write(pair[1], "x", 1) != 1)
        die("write");
}

static void close_pair(const int pair[2])
{
    close(pair[0]);
    close(pair[1]);
}

/* --- turns ------------------------------------------------------------------------------------ */

static int turn, last_turn;

static void on_tick(struct event_loop *loop, void *data)
{
    (void)data;
    if (++turn > last_turn) {
        loop_stop(loop);
        return;
    }
    loop_call_later(loop, 0, on_tick, NULL);
}

/* Run `loop` for `turns` turns (fewer if a callback stops it first). */
static void run_turns(struct event_loop *loop, int turns)
{
    turn = 0;
    last_turn = turns;
    long tick = loop_call_later(loop, 0, on_tick, NULL);
    loop_run(loop);
    loop_cancel(loop, tick); /* harmless if it has fired (it re-armed under another id) */
}

/* --- what the callbacks saw ------------------------------------------------------------------- */

struct record {
    int calls;
    int first_turn, last_turn;
    int fd;
    unsigned ready;
};

static struct record records[4];

static void reset_records(void)
{
    memset(records, 0, sizeof records);
}

/* The plain callback: note the call, and read the byte so that fd is not ready again. */
static void on_ready(struct event_loop *loop, int fd, unsigned ready, void *data)
{
    (void)loop;
    struct record *r = data;
    if (r->calls++ == 0)
        r->first_turn = turn;
    r->last_turn = turn;
    r->fd = fd;
    r->ready = ready;
    char byte;
    if ((ready & LOOP_READ) && read(fd, &byte, 1) == -1 && errno != EAGAIN)
        die("read");
}

static void on_ready_stop(struct event_loop *loop, int fd, unsigned ready, void *data)
{
    on_ready(loop, fd, ready, data);
    loop_stop(loop);
}

static void on_timer_stop_loop(struct event_loop *loop, void *data)
{
    (void)data;
    loop_stop(loop);
}

/* --- 1. a descriptor unwatched during a turn gets no callback in that turn --------------------- */

static int victim_fd;

static void on_ready_unwatch_victim(struct event_loop *loop, int fd, unsigned ready, void *data)
{
    on_ready(loop, fd, ready, data);
    loop_unwatch(loop, victim_fd);
}

static void test_unwatch_during_turn(void)
{
    int a[2], b[2];
    make_pair(a);
    make_pair(b);
    make_readable(a);
    make_readable(b); /* both ready in the same poll() */
    reset_records();

    struct event_loop *loop = loop_new();
    victim_fd = b[0];
    loop_watch(loop, a[0], LOOP_READ, on_ready_unwatch_victim, &records[0]); /* called first */
    loop_watch(loop, b[0], LOOP_READ, on_ready, &records[1]);
    run_turns(loop, 3);
    check(records[0].calls == 1, "unwatch: the callback that unwatches runs once");
    check(records[1].calls == 0,
          "unwatch: a ready fd unwatched earlier in the turn gets no callback, then or later");
    loop_free(loop);
    close_pair(a);
    close_pair(b);
}

/* --- 2. a descriptor watched during a turn gets its first callback in the next ----------------- */

static int newcomer_fd;

static void on_ready_watch_newcomer(struct event_loop *loop, int fd, unsigned ready, void *data)
{
    on_ready(loop, fd, ready, data);
    loop_watch(loop, newcomer_fd, LOOP_READ, on_ready, &records[1]);
}

static void test_watch_during_turn(void)
{
    int a[2], c[2];
    make_pair(a);
    make_pair(c);
    make_readable(a);
    make_readable(c); /* already readable when it is watched */
    reset_records();

    struct event_loop *loop = loop_new();
    newcomer_fd = c[0];
    loop_watch(loop, a[0], LOOP_READ, on_ready_watch_newcomer, &records[0]);
    run_turns(loop, 3);
    check(records[0].calls == 1 && records[0].first_turn == 1, "watch: the watcher runs in turn 1");
    check(records[1].calls == 1 && records[1].first_turn == 2,
          "watch: an fd watched during turn 1 is first called in turn 2");
    loop_free(loop);
    close_pair(a);
    close_pair(c);
}

/* --- 3. an fd number closed and reused within one turn belongs to its new watch ---------------- */

static int reused_pair[2];

static void on_ready_close_and_reuse(struct event_loop *loop, int fd, unsigned ready, void *data)
{
    on_ready(loop, fd, ready, data);
    /* Close the victim (unwatched first, as the header asks), then open a new pair: the
     * lowest free number is the victim's, so the new socket very likely reuses it. */
    loop_unwatch(loop, victim_fd);
    close(victim_fd);
    make_pair(reused_pair);
    make_readable(reused_pair);
    loop_watch(loop, reused_pair[0], LOOP_READ, on_ready, &records[2]);
}

static void test_fd_reused_during_turn(void)
{
    int a[2], b[2];
    make_pair(a);
    make_pair(b);
    make_readable(a);
    make_readable(b);
    reset_records();

    struct event_loop *loop = loop_new();
    victim_fd = b[0];
    loop_watch(loop, a[0], LOOP_READ, on_ready_close_and_reuse, &records[0]);
    loop_watch(loop, b[0], LOOP_READ, on_ready, &records[1]);
    run_turns(loop, 3);
    check(reused_pair[0] == victim_fd, "reuse: the new socket got the closed one's number");
    check(records[1].calls == 0, "reuse: the old watch of that number is never called");
    check(records[2].calls == 1 && records[2].first_turn == 2 && records[2].fd == victim_fd,
          "reuse: the new watch of that number is called from the next turn, with its own data");
    loop_free(loop);
    close_pair(a);
    close(b[1]);
    close_pair(reused_pair);
}

/* --- 4. watching again replaces; events 0 pauses ----------------------------------------------- */

static void test_replace_and_pause(void)
{
    int a[2];
    make_pair(a);
    make_readable(a);
    reset_records();

    struct event_loop *loop = loop_new();
    loop_watch(loop, a[0], LOOP_READ, on_ready, &records[0]);
    loop_watch(loop, a[0], LOOP_READ, on_ready, &records[1]); /* replaces the first */
    run_turns(loop, 2);
    check(records[0].calls == 0 && records[1].calls == 1,
          "replace: watching a watched fd again replaces its callback and data");

    make_readable(a);
    loop_unwatch(loop, a[0]);
    loop_watch(loop, a[0], LOOP_READ, on_ready_stop, &records[3]); /* back before any turn */
    loop_run(loop); /* no timer: only the callback ends it (or nothing, were a[0] forgotten) */
    check(records[3].calls == 1,
          "replace: unwatched and watched again before a turn: it is watched");

    make_readable(a);
    loop_watch(loop, a[0], 0, on_ready, &records[2]); /* paused: readable, but not wanted */
    run_turns(loop, 3);
    check(records[2].calls == 0, "pause: events 0 makes no callback although the fd is ready");
    loop_watch(loop, a[0], LOOP_READ, on_ready, &records[2]); /* resumed */
    run_turns(loop, 2);
    check(records[2].calls == 1 && records[2].ready == LOOP_READ,
          "pause: watching again for LOOP_READ delivers what waited");

    /* Paused, with its peer gone: poll() reports a hang-up whatever events it is asked for, so
     * a paused fd handed to poll() would wake the loop at once, turn after turn (a busy loop). */
    loop_watch(loop, a[0], 0, on_ready, &records[2]);
    close(a[1]);
    loop_call_later(loop, 50, on_timer_stop_loop, NULL);
    clock_t cpu = clock();
    loop_run(loop);
    double cpu_ms = (double)(clock() - cpu) * 1000.0 / CLOCKS_PER_SEC;
    check(cpu_ms < 25.0, "pause: a paused fd that hung up does not wake the loop (no busy loop)");
    loop_free(loop);
    close(a[0]);
}

/* --- 4b. loop_pause(): no callbacks for a while, then watched again by itself ------------------ */

static void test_loop_pause(void)
{
    int a[2];
    make_pair(a);
    make_readable(a);
    reset_records();

    struct event_loop *loop = loop_new();
    loop_watch(loop, a[0], LOOP_READ, on_ready_stop, &records[0]);
    long long start = monotonic_ms();
    loop_pause(loop, a[0], 100);
    loop_call_later(loop, 50, on_timer_stop_loop, NULL);
    clock_t cpu = clock();
    loop_run(loop);
    check(records[0].calls == 0, "loop_pause: no callback during the pause, although it is ready");
    loop_run(loop); /* nothing else to wait for: only the end of the pause can end this */
    long long waited = monotonic_ms() - start;
    double cpu_ms = (double)(clock() - cpu) * 1000.0 / CLOCKS_PER_SEC;
    check(records[0].calls == 1 && waited >= 100,
          "loop_pause: once it is over, the fd is watched again, and the loop sleeps till then");
    check(cpu_ms < 25.0, "loop_pause: the loop sleeps through the pause (no busy loop)");

    make_readable(a);
    loop_pause(loop, a[0], 10000);
    loop_watch(loop, a[0], LOOP_READ, on_ready_stop, &records[1]); /* ends the pause */
    loop_run(loop);
    check(records[1].calls == 1, "loop_pause: loop_watch() ends a pause at once");

    make_readable(a);
    loop_pause(loop, a[0], 10000);
    loop_unwatch(loop, a[0]);
    loop_call_later(loop, 20, on_timer_stop_loop, NULL);
    start = monotonic_ms();
    loop_run(loop);
    check(monotonic_ms() - start < 1000,
          "loop_pause: unwatching forgets the pause (no wait for it)");
    loop_pause(loop, a[0], 10); /* not watched: nothing happens */
    loop_free(loop);
    close_pair(a);
}

/* --- 5. readable, writable, hang-up ------------------------------------------------------------ */

static void test_ready_kinds(void)
{
    int a[2];
    make_pair(a);
    reset_records();

    struct event_loop *loop = loop_new();
    loop_watch(loop, a[0], LOOP_READ | LOOP_WRITE, on_ready, &records[0]);
    run_turns(loop, 1);
    check(records[0].calls == 1 && records[0].ready == LOOP_WRITE,
          "ready: a fresh socket is writable, not readable");

    loop_watch(loop, a[0], LOOP_READ, on_ready, &records[1]);
    close(a[1]); /* the peer hangs up */
    run_turns(loop, 1);
    char byte;
    check(records[1].calls == 1 && records[1].ready == LOOP_READ && read(a[0], &byte, 1) == 0,
          "ready: a hang-up is reported as readable, and recv then says end of file");
    loop_free(loop);
    close(a[0]);
}

/* A pipe shows the hang-up and the error alone, without POLLIN or POLLOUT beside them: the read
 * end of a pipe whose writer is gone and which holds nothing is POLLHUP only; the write end of a
 * full pipe whose reader is gone is POLLERR only. The loop must still call back, as ready for
 * what is watched, so that read() or write() says what happened. */
static void test_hangup_and_error_alone(void)
{
    int p[2];
    if (pipe(p) == -1)
        die("pipe");
    close(p[1]); /* the writer is gone, nothing to read */
    reset_records();
    struct event_loop *loop = loop_new();
    loop_watch(loop, p[0], LOOP_READ, on_ready, &records[0]);
    run_turns(loop, 1);
    check(records[0].calls == 1 && records[0].ready == LOOP_READ,
          "ready: POLLHUP alone (a pipe's writer gone) is reported as readable");
    loop_unwatch(loop, p[0]);
    close(p[0]);

    if (pipe(p) == -1)
        die("pipe");
    set_nonblocking(p[1]);
    static const char block[4096];
    while (write(p[1], block, sizeof block) > 0) /* fill it: no POLLOUT any more */
        ;
    close(p[0]); /* the reader is gone */
    loop_watch(loop, p[1], LOOP_WRITE, on_ready, &records[1]);
    run_turns(loop, 1);
    check(records[1].calls == 1 && records[1].ready == LOOP_WRITE,
          "ready: POLLERR alone (a full pipe's reader gone) is reported as writable");
    check(write(p[1], "x", 1) == -1 && errno == EPIPE, "ready: and the write then fails: EPIPE");
    loop_free(loop);
    close(p[1]);
}

/* --- 6. closed while watched: a warning, never a callback on a dead fd ------------------------ */

static void test_closed_while_watched(void)
{
    int a[2];
    make_pair(a);
    make_readable(a);
    reset_records();

    struct event_loop *loop = loop_new();
    loop_watch(loop, a[0], LOOP_READ, on_ready, &records[0]);
    close(a[0]); /* the bug the header warns about: closed without loop_unwatch() */
    run_turns(loop, 2);
    check(records[0].calls == 0, "closed: no callback for an fd closed while watched (POLLNVAL)");
    loop_run(loop); /* hangs if the dead fd were still watched */
    check(true, "closed: it is unwatched (with a warning on stderr), so loop_run() can end");
    loop_free(loop);
    close(a[1]);
}

/* --- 7. timers: earliest first, cancel, set again ---------------------------------------------- */

static char fired[16];
static size_t fired_count;

static void on_timer(struct event_loop *loop, void *data)
{
    (void)loop;
    if (fired_count < sizeof fired - 1)
        fired[fired_count++] = *(const char *)data;
}

static void on_timer_again(struct event_loop *loop, void *data)
{
    on_timer(loop, data);
    if (fired_count < 3)
        loop_call_later(loop, 1, on_timer_again, data);
}

static void on_timer_stop(struct event_loop *loop, void *data)
{
    on_timer(loop, data);
    loop_stop(loop);
}

static void test_timers(void)
{
    static const char a = 'a', b = 'b', c = 'c', d = 'd';
    memset(fired, 0, sizeof fired);
    fired_count = 0;

    struct event_loop *loop = loop_new();
    loop_call_later(loop, 30, on_timer, (void *)&c);
    loop_call_later(loop, 10, on_timer, (void *)&a);
    long cancelled = loop_call_later(loop, 15, on_timer, (void *)&d);
    loop_call_later(loop, 20, on_timer, (void *)&b);
    loop_cancel(loop, cancelled);
    loop_cancel(loop, -1);   /* nothing */
    loop_cancel(loop, 9999); /* no such timer: nothing */
    poll(NULL, 0, 40);       /* sleep 40 ms: all of them are due when loop_run() looks */
    loop_run(loop);          /* returns when no timer and no fd is left */
    check(strcmp(fired, "abc") == 0,
          "timers: those due together fire earliest first; a cancelled one never fires");

    memset(fired, 0, sizeof fired);
    fired_count = 0;
    loop_call_later(loop, 0, on_timer_again, (void *)&a);
    loop_run(loop);
    check(strcmp(fired, "aaa") == 0, "timers: a timer's callback may set it again");

    /* Two timers due in the same turn; the first stops the loop. */
    memset(fired, 0, sizeof fired);
    fired_count = 0;
    loop_call_later(loop, 0, on_timer_stop, (void *)&a);
    loop_call_later(loop, 1, on_timer, (void *)&b);
    poll(NULL, 0, 5); /* sleep 5 ms: both are due when loop_run() looks */
    loop_run(loop);
    check(strcmp(fired, "a") == 0, "timers: after loop_stop() no other timer fires in that turn");
    loop_run(loop);
    check(strcmp(fired, "ab") == 0, "timers: the next loop_run() fires what was left");
    loop_free(loop);
}

/* --- 8. loop_stop() and the end of loop_run() -------------------------------------------------- */

static void test_stop(void)
{
    struct event_loop *loop = loop_new();
    loop_run(loop); /* nothing watched, no timer: returns at once */
    check(true, "run: returns at once when nothing is watched and no timer is set");

    int a[2], b[2];
    make_pair(a);
    make_pair(b);
    make_readable(a);
    make_readable(b);
    reset_records();
    loop_watch(loop, a[0], LOOP_READ, on_ready_stop, &records[0]);
    loop_watch(loop, b[0], LOOP_READ, on_ready, &records[1]);
    loop_run(loop); /* a's callback stops it */
    check(records[0].calls == 1 && records[1].calls == 0,
          "stop: loop_run() returns when the callback that stopped it returns");
    loop_unwatch(loop, a[0]);
    run_turns(loop, 1);
    check(records[1].calls == 1, "stop: what was still ready is reported by the next loop_run()");
    loop_unwatch(loop, b[0]);
    loop_run(loop);
    check(true, "run: returns once the last fd is unwatched");
    loop_free(loop);
    close_pair(a);
    close_pair(b);
}

/* --- 9. many descriptors: the slots stay right after removals ----------------------------------- */

enum { MANY = 150 };

static int many_calls[MANY];
static int many_wrong;

static int many_pairs[MANY][2];

static void on_many_indexed(struct event_loop *loop, int fd, unsigned ready, void *data)
{
    (void)loop;
    (void)ready;
    int(*pair)[2] = data;
    if ((*pair)[0] != fd)
        many_wrong++;
    many_calls[pair - many_pairs]++;
    char byte;
    if (read(fd, &byte, 1) == -1)
        die("read");
}

static void test_many(void)
{
    struct event_loop *loop = loop_new();
    for (int i = 0; i < MANY; i++) {
        make_pair(many_pairs[i]);
        loop_watch(loop, many_pairs[i][0], LOOP_READ, on_many_indexed, &many_pairs[i]);
    }
    for (int i = 1; i < MANY; i += 2) /* every odd one leaves */
        loop_unwatch(loop, many_pairs[i][0]);
    run_turns(loop, 1);               /* the turn that reclaims their slots: the others move down */
    for (int i = 0; i < MANY; i += 4) /* so unwatching now must find them where they went */
        loop_unwatch(loop, many_pairs[i][0]);
    for (int i = 0; i < MANY; i++)
        make_readable(many_pairs[i]);
    run_turns(loop, 2);
    int good = 0;
    for (int i = 0; i < MANY; i++)
        good += many_calls[i] == (i % 4 == 2 ? 1 : 0);
    check(good == MANY && many_wrong == 0,
          "many: after removals and moves, each fd still watched gets its callback and data, once");
    loop_free(loop);
    for (int i = 0; i < MANY; i++)
        close_pair(many_pairs[i]);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN); /* as every stage does: a write to a vanished reader is EPIPE */
    test_unwatch_during_turn();
    test_watch_during_turn();
    test_fd_reused_during_turn();
    test_replace_and_pause();
    test_loop_pause();
    test_ready_kinds();
    test_hangup_and_error_alone();
    test_closed_while_watched();
    test_timers();
    test_stop();
    test_many();
    printf("1..%d\n", checks);
    return failures ? 1 : 0;
}
