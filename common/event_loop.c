/* event_loop.c - a tiny callback event loop on poll() (see event_loop.h). */
#include "event_loop.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

/* One watched descriptor. fds[i] (what poll() sees) and watches[i] go together. */
struct watch {
    int fd;
    unsigned events;
    loop_io_callback callback;
    void *data;
    bool removed;           /* unwatched during this turn: its slot is reclaimed after the turn */
    long long paused_until; /* loop_pause(): no callbacks before then (monotonic_ms); 0: none */
};

struct timer {
    long id;
    long long due_ms;
    loop_timer_callback callback;
    void *data;
};

struct event_loop {
    struct pollfd *fds;     /* the array handed to poll() */
    struct watch *watches;  /* watches[i] describes fds[i] */
    size_t count, capacity; /* slots in use (removed ones included) and allocated */
    size_t removed;         /* removed slots not yet reclaimed */
    size_t paused;          /* watches with a loop_pause() still running */
    long *slot_of_fd;       /* slot_of_fd[fd]: index in watches, or -1 */
    size_t fd_capacity;

    struct timer *timers; /* a handful at most: a plain unsorted array is enough */
    size_t timer_count, timer_capacity;
    long next_timer_id;
    bool stopping;
};

/* How many items an array that holds `capacity` must grow to for `needed` (doubling). */
static size_t grown(size_t capacity, size_t needed)
{
    size_t wanted = capacity ? capacity : 16;
    while (wanted < needed)
        wanted *= 2;
    return wanted;
}

/* realloc() to `count` items of `size` bytes; NULL (errno ENOMEM) leaves `array` as it was. */
static void *resize(void *array, size_t count, size_t size)
{
    void *bigger = count <= SIZE_MAX / size ? realloc(array, count * size) : NULL;
    if (bigger == NULL)
        errno = ENOMEM;
    return bigger;
}

struct event_loop *loop_new(void)
{
    struct event_loop *loop = calloc(1, sizeof *loop);
    if (loop == NULL)
        die("calloc");
    loop->next_timer_id = 1;
    return loop;
}

void loop_free(struct event_loop *loop)
{
    free(loop->fds);
    free(loop->watches);
    free(loop->slot_of_fd);
    free(loop->timers);
    free(loop);
}

/* poll() ignores a negative fd: that is how a paused or removed watch is left out. */
static void set_pollfd(struct event_loop *loop, size_t slot)
{
    const struct watch *w = &loop->watches[slot];
    bool active = !w->removed && w->events != 0 && w->paused_until == 0;
    loop->fds[slot].fd = active ? w->fd : -1;
    loop->fds[slot].events =
        (short)(((w->events & LOOP_READ) ? POLLIN : 0) | ((w->events & LOOP_WRITE) ? POLLOUT : 0));
    loop->fds[slot].revents = 0;
}

int loop_watch(struct event_loop *loop, int fd, unsigned events, loop_io_callback callback,
               void *data)
{
    if (fd < 0) {
        errno = EBADF;
        return -1;
    }
    if ((size_t)fd >= loop->fd_capacity) {
        size_t wanted = grown(loop->fd_capacity, (size_t)fd + 1);
        long *bigger = resize(loop->slot_of_fd, wanted, sizeof *bigger);
        if (bigger == NULL)
            return -1;
        for (size_t i = loop->fd_capacity; i < wanted; i++)
            bigger[i] = -1;
        loop->slot_of_fd = bigger;
        loop->fd_capacity = wanted;
    }

    long slot = loop->slot_of_fd[fd];
    if (slot == -1) { /* a new watch: append it */
        if (loop->count == loop->capacity) {
            size_t wanted = grown(loop->capacity, loop->count + 1);
            struct pollfd *fds = resize(loop->fds, wanted, sizeof *fds);
            if (fds == NULL)
                return -1;
            loop->fds = fds;
            struct watch *watches = resize(loop->watches, wanted, sizeof *watches);
            if (watches == NULL)
                return -1;
            loop->watches = watches;
            loop->capacity = wanted;
        }
        slot = (long)loop->count++;
        loop->slot_of_fd[fd] = slot;
    } else if (loop->watches[slot].paused_until != 0) {
        loop->paused--; /* watching it again ends its pause */
    }
    loop->watches[slot] = (struct watch){fd, events, callback, data, false, 0};
    set_pollfd(loop, (size_t)slot);
    return 0;
}

void loop_unwatch(struct event_loop *loop, int fd)
{
    if (fd < 0 || (size_t)fd >= loop->fd_capacity || loop->slot_of_fd[fd] == -1)
        return;
    size_t slot = (size_t)loop->slot_of_fd[fd];
    loop->slot_of_fd[fd] = -1;
    if (loop->watches[slot].paused_until != 0) {
        loop->watches[slot].paused_until = 0;
        loop->paused--;
    }
    loop->watches[slot].removed = true; /* the slot itself goes at the end of the turn */
    loop->removed++;
    set_pollfd(loop, slot);
}

void loop_pause(struct event_loop *loop, int fd, long long delay_ms)
{
    if (fd < 0 || (size_t)fd >= loop->fd_capacity || loop->slot_of_fd[fd] == -1)
        return;
    size_t slot = (size_t)loop->slot_of_fd[fd];
    if (loop->watches[slot].paused_until == 0)
        loop->paused++;
    loop->watches[slot].paused_until = monotonic_ms() + (delay_ms > 0 ? delay_ms : 0);
    set_pollfd(loop, slot);
}

/* Watches whose pause is over are watched again (from the wait that follows). */
static void end_pauses(struct event_loop *loop)
{
    if (loop->paused == 0)
        return;
    long long now = monotonic_ms();
    for (size_t i = 0; i < loop->count; i++) {
        struct watch *w = &loop->watches[i];
        if (w->paused_until != 0 && w->paused_until <= now) {
            w->paused_until = 0;
            loop->paused--;
            set_pollfd(loop, i);
        }
    }
}

/* Squeeze out removed slots, keeping the others in order. */
static void reclaim(struct event_loop *loop)
{
    if (loop->removed == 0)
        return;
    size_t kept = 0;
    for (size_t i = 0; i < loop->count; i++) {
        if (loop->watches[i].removed)
            continue;
        loop->watches[kept] = loop->watches[i];
        loop->fds[kept] = loop->fds[i];
        loop->slot_of_fd[loop->watches[kept].fd] = (long)kept;
        kept++;
    }
    loop->count = kept;
    loop->removed = 0;
}

long loop_call_later(struct event_loop *loop, long long delay_ms, loop_timer_callback callback,
                     void *data)
{
    if (loop->timer_count == loop->timer_capacity) {
        size_t wanted = grown(loop->timer_capacity, loop->timer_count + 1);
        struct timer *timers = resize(loop->timers, wanted, sizeof *timers);
        if (timers == NULL)
            return -1;
        loop->timers = timers;
        loop->timer_capacity = wanted;
    }
    long id = loop->next_timer_id++;
    loop->timers[loop->timer_count++] =
        (struct timer){id, monotonic_ms() + (delay_ms > 0 ? delay_ms : 0), callback, data};
    return id;
}

void loop_cancel(struct event_loop *loop, long id)
{
    for (size_t i = 0; i < loop->timer_count; i++) {
        if (loop->timers[i].id == id) {
            loop->timers[i] = loop->timers[--loop->timer_count];
            return;
        }
    }
}

void loop_stop(struct event_loop *loop)
{
    loop->stopping = true;
}

/* How long poll() may sleep: until the earliest timer or end of a pause, or forever (-1) if
 * there is none. */
static int poll_timeout(const struct event_loop *loop)
{
    long long earliest = -1;
    for (size_t i = 0; i < loop->timer_count; i++)
        if (earliest == -1 || loop->timers[i].due_ms < earliest)
            earliest = loop->timers[i].due_ms;
    for (size_t i = 0; loop->paused > 0 && i < loop->count; i++) {
        long long until = loop->watches[i].paused_until;
        if (until != 0 && (earliest == -1 || until < earliest))
            earliest = until;
    }
    if (earliest == -1)
        return -1;
    long long wait = earliest - monotonic_ms();
    if (wait < 0)
        return 0;
    return wait > INT_MAX ? INT_MAX : (int)wait;
}

/* Fire every timer that is due, earliest first. Each one is removed before its callback runs,
 * so the callback may set it again; a timer set during this turn waits for the next one, even
 * with delay 0 (asyncio does the same), or a timer that keeps setting itself would starve every
 * descriptor. */
static void run_due_timers(struct event_loop *loop)
{
    long long now = monotonic_ms();
    long set_this_turn = loop->next_timer_id; /* ids from here on are set by these callbacks */
    while (!loop->stopping) {
        size_t due = loop->timer_count;
        for (size_t i = 0; i < loop->timer_count; i++)
            if (loop->timers[i].due_ms <= now && loop->timers[i].id < set_this_turn &&
                (due == loop->timer_count || loop->timers[i].due_ms < loop->timers[due].due_ms))
                due = i;
        if (due == loop->timer_count)
            return;
        struct timer fired = loop->timers[due];
        loop->timers[due] = loop->timers[--loop->timer_count];
        fired.callback(loop, fired.data);
    }
}

void loop_run(struct event_loop *loop)
{
    loop->stopping = false;
    while (!loop->stopping && (loop->count > loop->removed || loop->timer_count > 0)) {
        end_pauses(loop);
        /* 1. Wait: the one place where the loop sleeps, until a descriptor is ready or the
         *    earliest timer is due. */
        int ready = poll(loop->fds, (nfds_t)loop->count, poll_timeout(loop));
        if (ready == -1) {
            if (errno == EINTR)
                continue; /* a signal: its handler has run; just wait again */
            die("poll");
        }

        /* 2. Timers that are due. */
        run_due_timers(loop);

        /* 3. Every ready descriptor's callback. Watches added by a callback land after
         *    `count` and wait for the next turn; removed ones are skipped. */
        size_t count = loop->count;
        for (size_t i = 0; i < count && !loop->stopping; i++) {
            short revents = loop->fds[i].revents;
            const struct watch *w = &loop->watches[i];
            if (revents == 0 || w->removed || loop->fds[i].fd < 0)
                continue;
            if (revents & POLLNVAL) { /* fd was closed without being unwatched: a bug */
                warn_call("poll (descriptor closed while watched)", EBADF);
                loop_unwatch(loop, w->fd);
                continue;
            }
            /* An error or hang-up counts as ready for whatever is watched: the next recv() or
             * send() on it then says what happened (0 for end of file, or ECONNRESET...). */
            bool trouble = (revents & (POLLERR | POLLHUP)) != 0;
            unsigned what = 0;
            if ((w->events & LOOP_READ) && (trouble || (revents & POLLIN)))
                what |= LOOP_READ;
            if ((w->events & LOOP_WRITE) && (trouble || (revents & POLLOUT)))
                what |= LOOP_WRITE;
            if (what != 0)
                w->callback(loop, w->fd, what, w->data);
        }
        reclaim(loop);
    }
}
