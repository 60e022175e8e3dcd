/*
 * event_loop.h - a tiny event loop with callbacks: the C shape of asyncio's loop.
 *
 * The readiness loops of 03-selectors/ are written out by hand in each stage: wait, then look
 * at every socket and decide what to do. An event loop turns that inside out: you tell it
 * "when fd is readable, call this function" (asyncio: loop.add_reader), "in 100 ms, call that
 * one" (loop.call_later), and it does the waiting and the dispatching for you. The server code
 * is then only the handlers, and reads like the book's sock_accept / sock_recv /
 * sock_sendall version.
 *
 * Underneath is poll() (POSIX, so it runs everywhere; no FD_SETSIZE ceiling). Single-threaded:
 * a callback runs to its end before the next one starts, so callbacks must never block.
 *
 *     struct event_loop *loop = loop_new();
 *     loop_watch(loop, listener, LOOP_READ, on_accept, NULL);
 *     loop_run(loop);             // returns after loop_stop(), or when nothing is left to wait for
 *     loop_free(loop);
 *
 * A callback may watch, unwatch, close descriptors and set or cancel timers, for itself or for
 * others: a descriptor unwatched during a turn gets no more callbacks in that turn, one watched
 * during a turn gets its first callback in the next, and so does a timer set during a turn
 * (even with delay 0, as in asyncio). tests/unit/event_loop.c checks each of these promises.
 */
#ifndef WORKBOOK_EVENT_LOOP_H
#define WORKBOOK_EVENT_LOOP_H

/* What to wait for, and what happened: a combination of these. */
enum { LOOP_READ = 1u, LOOP_WRITE = 2u };

struct event_loop;

/* fd is ready: `ready` holds LOOP_READ and/or LOOP_WRITE, among the events it watches. An
 * error or hang-up on fd is reported as ready for what it watches, so that the recv() or the
 * send() it then makes returns the error. */
typedef void (*loop_io_callback)(struct event_loop *loop, int fd, unsigned ready, void *data);

/* A timer set with loop_call_later() is due. */
typedef void (*loop_timer_callback)(struct event_loop *loop, void *data);

/* A new, empty loop. Dies if there is no memory for it. */
struct event_loop *loop_new(void);

/* Free the loop (it must not be running). The descriptors stay open: they are the caller's. */
void loop_free(struct event_loop *loop);

/* Call callback(loop, fd, ready, data) whenever fd is ready for `events`. Watching an fd that
 * is already watched replaces its events, callback and data; events 0 pauses it (no callbacks,
 * but it still counts as watched). Returns 0, or -1 with errno ENOMEM. */
int loop_watch(struct event_loop *loop, int fd, unsigned events, loop_io_callback callback,
               void *data);

/* Stop watching fd (before closing it). Nothing happens if fd is not watched. */
void loop_unwatch(struct event_loop *loop, int fd);

/* No callbacks for fd for delay_ms; then it is watched for its events again (loop_watch() or
 * loop_unwatch() before then end the pause). For a listening socket out of descriptors
 * (ACCEPT_SHORTAGE in net.h): it stays readable, and watching it would spin. */
void loop_pause(struct event_loop *loop, int fd, long long delay_ms);

/* Call callback(loop, data) once, delay_ms from now. Returns a timer id for loop_cancel(),
 * or -1 with errno ENOMEM. */
long loop_call_later(struct event_loop *loop, long long delay_ms, loop_timer_callback callback,
                     void *data);

/* Forget a timer that has not fired yet. Nothing happens if it has, or if id is -1. */
void loop_cancel(struct event_loop *loop, long id);

/* Wait and dispatch, turn after turn, until loop_stop() is called or until nothing is watched
 * and no timer is set. Retries after EINTR (a signal); dies if poll() itself fails. */
void loop_run(struct event_loop *loop);

/* Make loop_run() return as soon as the callback that calls this returns. The rest of the
 * turn's callbacks are not made: what was ready stays ready, for the next loop_run(). */
void loop_stop(struct event_loop *loop);

#endif
