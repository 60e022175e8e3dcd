/*
 * loadgen.c - measure a line-echo server (POSIX, poll-based, one thread).
 *
 *   loadgen stall PORT CAP_MS        client 1 sends a line, gets its echo, then stays idle;
 *                                    client 2 sends a line: how long until its echo? Prints
 *                                    "stall_ms=12.345", or "stall_ms=>CAP" if none came in time.
 *   loadgen hold PORT N SECONDS      connect N clients, print "connected=N", keep them idle for
 *                                    SECONDS, then close them (the caller measures the server).
 *   loadgen pingpong PORT N SECONDS [PID]
 *                                    N clients each send a line, wait for its echo, repeat.
 *                                    A warm-up comes first: every client's first echo (for at
 *                                    most SECONDS), so the server has accepted them all, and
 *                                    forked or started whatever it starts per client, before
 *                                    the clock starts. Then SECONDS measured. Prints
 *                                    "clients=N messages=M rate=R p50_us=A p99_us=B errors=E
 *                                    stalled=S" (rate in messages per second; stalled: clients
 *                                    still waiting, at the end, for an echo sent more than half
 *                                    the run ago). With the server's PID, also the CPU it spent
 *                                    (with its children and threads) over the measured SECONDS,
 *                                    in all, in user space and in the kernel, in µs, and the
 *                                    same per echoed line: "cpu_us=C cpu_us_per_line=c
 *                                    user_us=U sys_us=K user_us_per_line=u sys_us_per_line=k"
 *                                    ("none": no line echoed, or too few clock ticks to split
 *                                    user from kernel): see server_cpu().
 *   loadgen clients PORT N SECONDS   N clients connect at once, each sends one distinct line and
 *                                    expects it back within SECONDS. Prints "clients=N echoed=K
 *                                    failed=F first_error=..." and exits 1 unless K == N.
 *
 * Every message is "Hola-NNNNN\r\n", 12 bytes: an even length on purpose, so that even the
 * documents' two-bytes-at-a-time servers, which only look at the last two bytes, see the "\r\n".
 */
#include "net.h"
#include "util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MSG_LEN 12         /* "Hola-NNNNN\r\n" */
#define MIN_SPLIT_TICKS 10 /* fewer clock ticks in a run: its user/kernel split is unknown */

struct client {
    int fd;
    char expect[MSG_LEN]; /* the line in flight */
    size_t got;           /* bytes of its echo received so far */
    double sent_at;       /* when it was sent (seconds) */
    unsigned seq;
    int waiting; /* 1: a line is in flight, its echo not all back yet */
    int done;    /* 1: failed, or never connected: left out from then on */
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_seconds(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* A blocking connect to 127.0.0.1:port; -1 with errno set on failure. */
static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd == -1)
        return -1;
    struct sockaddr_in addr = loopback_address(port);
    while (connect(fd, (struct sockaddr *)&addr, sizeof addr) == -1) {
        if (errno == EINTR)
            continue;
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

static void make_message(struct client *c, unsigned id)
{
    char text[MSG_LEN + 1];
    snprintf(text, sizeof text, "Hola-%05u\r\n", id % 100000u);
    memcpy(c->expect, text, MSG_LEN);
    c->got = 0;
}

/* Send c's message whole (12 bytes fit any socket buffer; loop anyway for EINTR/short). */
static int send_message(struct client *c)
{
    /* Stamp before sending: the echo can be back before send() even returns to us. */
    c->sent_at = now();
    c->waiting = 1;
    size_t off = 0;
    while (off < MSG_LEN) {
        ssize_t n = send(c->fd, c->expect + off, MSG_LEN - off, 0);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                struct pollfd p = {.fd = c->fd, .events = POLLOUT, .revents = 0};
                poll(&p, 1, 100);
                continue;
            }
            return -1;
        }
        off += (size_t)n;
    }
    return 0;
}

/* Read what is there for c. Returns 1 when the whole echo has arrived, 0 if more is needed,
 * -1 on error, EOF or a wrong byte (errno, or EPROTO for a mismatch). */
static int receive_echo(struct client *c)
{
    char buf[64];
    size_t want = MSG_LEN - c->got;
    ssize_t n = recv(c->fd, buf, want < sizeof buf ? want : sizeof buf, 0);
    if (n == -1)
        return (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
    if (n == 0) {
        errno = ECONNRESET;
        return -1;
    }
    if (memcmp(buf, c->expect + c->got, (size_t)n) != 0) {
        errno = EPROTO;
        return -1;
    }
    c->got += (size_t)n;
    return c->got == MSG_LEN;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int mode_stall(int port, double cap_ms)
{
    struct client one = {.fd = connect_to(port)}, two = {.fd = -1};
    if (one.fd == -1)
        die("connect");
    make_message(&one, 1);
    if (send_message(&one) == -1)
        die("send");
    set_nonblocking(one.fd);
    /* Wait (bounded) for client 1's echo: only then is it "connected and idle". */
    double deadline = now() + cap_ms / 1000.0;
    while (now() < deadline) {
        struct pollfd p = {.fd = one.fd, .events = POLLIN, .revents = 0};
        if (poll(&p, 1, 10) > 0 && receive_echo(&one) != 0)
            break;
    }
    two.fd = connect_to(port);
    if (two.fd == -1)
        die("connect");
    set_nonblocking(two.fd);
    make_message(&two, 2);
    if (send_message(&two) == -1)
        die("send");
    deadline = two.sent_at + cap_ms / 1000.0;
    int result = 0;
    while (result == 0 && now() < deadline) {
        struct pollfd p = {.fd = two.fd, .events = POLLIN, .revents = 0};
        int ms = (int)((deadline - now()) * 1000.0) + 1;
        if (poll(&p, 1, ms) > 0)
            result = receive_echo(&two);
    }
    if (result == 1)
        printf("stall_ms=%.3f\n", (now() - two.sent_at) * 1000.0);
    else
        printf("stall_ms=>%.0f\n", cap_ms);
    close(one.fd);
    close(two.fd);
    return 0;
}

static struct client *connect_many(int port, int n, int *connected, int *first_error)
{
    struct client *cs = calloc((size_t)n, sizeof *cs);
    if (cs == NULL)
        die("calloc");
    *connected = 0;
    *first_error = 0;
    for (int i = 0; i < n; i++) {
        cs[i].fd = connect_to(port);
        if (cs[i].fd == -1) {
            if (*first_error == 0)
                *first_error = errno;
            cs[i].done = 1;
            continue;
        }
        set_nonblocking(cs[i].fd);
        (*connected)++;
    }
    return cs;
}

static void close_many(struct client *cs, int n)
{
    for (int i = 0; i < n; i++)
        if (cs[i].fd != -1)
            close(cs[i].fd);
    free(cs);
}

static int mode_hold(int port, int n, double seconds)
{
    int connected, first_error;
    struct client *cs = connect_many(port, n, &connected, &first_error);
    printf("connected=%d\n", connected);
    fflush(stdout);
    sleep_seconds(seconds);
    close_many(cs, n);
    return connected == n ? 0 : 1;
}

/* Round-trip times, in seconds, as they come. */
struct rtts {
    double *v;
    size_t count, cap;
};

static void rtts_add(struct rtts *r, double rtt)
{
    if (r->count == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 1024;
        double *bigger = realloc(r->v, r->cap * sizeof *r->v);
        if (bigger == NULL)
            die("realloc");
        r->v = bigger;
    }
    r->v[r->count++] = rtt;
}

/* Run the clients until `until` (seconds). Every client that is not waiting for an echo sends
 * a line; one whose echo is back sends the next (repeat) or stops (once: then the run also
 * ends as soon as nobody waits). A client still waiting when the run ends goes on waiting
 * in the next run, for the same echo. Round trips go into *r. Returns how many clients
 * failed (left out from then on; the first one's errno in *first_error). */
static int run_clients(struct client *cs, int n, double until, int repeat, struct rtts *r,
                       int *first_error)
{
    struct pollfd *ps = calloc((size_t)n, sizeof *ps);
    if (ps == NULL)
        die("calloc");
    int failed = 0, waiting = 0;
    for (int i = 0; i < n; i++) {
        if (cs[i].done)
            continue;
        if (!cs[i].waiting) {
            make_message(&cs[i], cs[i].seq * 1000u + (unsigned)i);
            if (send_message(&cs[i]) == -1) {
                if (*first_error == 0)
                    *first_error = errno;
                cs[i].done = 1;
                failed++;
                continue;
            }
        }
        waiting++;
    }
    while (waiting > 0 && now() < until) {
        for (int i = 0; i < n; i++) {
            ps[i].fd = cs[i].done || !cs[i].waiting ? -1 : cs[i].fd;
            ps[i].events = POLLIN;
            ps[i].revents = 0;
        }
        int ms = (int)((until - now()) * 1000.0) + 1;
        int ready = poll(ps, (nfds_t)n, ms < 100 ? ms : 100);
        if (ready == -1) {
            if (errno == EINTR)
                continue;
            die("poll");
        }
        for (int i = 0; i < n && ready > 0; i++) {
            if (ps[i].revents == 0)
                continue;
            ready--;
            int got = receive_echo(&cs[i]);
            if (got == 0)
                continue;
            waiting--;
            if (got == -1) {
                if (*first_error == 0)
                    *first_error = errno;
                cs[i].done = 1;
                failed++;
                continue;
            }
            cs[i].waiting = 0;
            rtts_add(r, now() - cs[i].sent_at);
            cs[i].seq++;
            if (!repeat)
                continue;
            make_message(&cs[i], cs[i].seq * 1000u + (unsigned)i);
            if (send_message(&cs[i]) == -1) {
                if (*first_error == 0)
                    *first_error = errno;
                cs[i].done = 1;
                failed++;
                continue;
            }
            waiting++;
        }
    }
    free(ps);
    return failed;
}

/* One process's CPU so far, from /proc: see server_cpu(). */
struct proc_cpu {
    long pid, ppid;
    unsigned long long ns;        /* time on a CPU, all its threads: schedstat, exact */
    unsigned long long user, sys; /* clock ticks, its own and its reaped children's: stat */
    unsigned long long reaped;    /* clock ticks of its reaped children alone */
    int in_tree;
};

static int by_pid(const void *a, const void *b)
{
    long x = ((const struct proc_cpu *)a)->pid, y = ((const struct proc_cpu *)b)->pid;
    return (x > y) - (x < y);
}

/* The first number of the file at path (schedstat: ns on a CPU), or 0 if it has gone. */
static unsigned long long first_number(const char *path)
{
    char text[128];
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = '\0';
    char *end;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    return (end == text || errno != 0) ? 0 : value;
}

/* Step *at from the ')' that ends comm past field 3, the state letter; -1 if there is none. */
static int skip_state(const char **at)
{
    const char *c = *at + 1;
    while (*c == ' ')
        c++;
    if (*c == '\0')
        return -1;
    *at = c + 1;
    return 0;
}

/* Read process name (its pid as text) from /proc; 0, or -1 if it has gone meanwhile. */
static int read_proc_cpu(const char *name, struct proc_cpu *p)
{
    char path[300], text[1024];
    snprintf(path, sizeof path, "/proc/%s/stat", name);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = '\0';
    /* "pid (comm) state ppid ...": comm may hold spaces and ')', so the fields start after the
     * last ')': field 3, the state letter, then numbers. ppid is field 4; utime, stime,
     * cutime, cstime are fields 14 to 17 (proc(5)). */
    const char *at = strrchr(text, ')');
    if (at == NULL || skip_state(&at) == -1)
        return -1;
    long long field[18];
    for (int k = 4; k <= 17; k++) {
        char *end;
        errno = 0;
        field[k] = strtoll(at, &end, 10);
        if (end == at || errno != 0)
            return -1;
        at = end;
    }
    for (int k = 14; k <= 17; k++)
        if (field[k] < 0)
            return -1;
    p->pid = strtol(name, NULL, 10);
    p->ppid = (long)field[4];
    p->reaped = (unsigned long long)(field[16] + field[17]);
    p->user = (unsigned long long)(field[14] + field[16]);
    p->sys = (unsigned long long)(field[15] + field[17]);
    p->in_tree = 0;
    p->ns = 0;
    return 0;
}

/* Add up schedstat over the threads of p (/proc/PID/task/TID/schedstat). */
static void read_proc_ns(struct proc_cpu *p)
{
    char path[300];
    snprintf(path, sizeof path, "/proc/%ld/task", p->pid);
    DIR *tasks = opendir(path);
    if (tasks == NULL)
        return; /* gone meanwhile */
    struct dirent *entry;
    /* readdir() is not reentrant, and need not be: one thread, one directory at a time
     * (readdir_r() is deprecated). */
    /* cppcheck-suppress readdirCalled */
    while ((entry = readdir(tasks)) != NULL) {
        if (entry->d_name[0] < '1' || entry->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%ld/task/%s/schedstat", p->pid, entry->d_name);
        p->ns += first_number(path);
    }
    closedir(tasks);
}

/*
 * The CPU the server has spent so far, in seconds: in all, and in user space and the kernel.
 * It counts every process under the server too (a fork server's children) and every thread
 * (a threaded server's). Read in C, not by the script: one pass over /proc at the start and
 * one at the end of the measured run, nothing in between.
 *   in all: schedstat's time on a CPU (ns, exact) of every thread of the tree, plus the
 *           cutime and cstime of each process: its children already waited for (a child that
 *           ends during the run takes its CPU to its parent's line, not away). A thread that
 *           ends during the run takes its time away: the threaded stages end a client's thread
 *           only once that client has gone, after the run.
 *   the split: utime and stime (proc(5)) count in clock ticks (USER_HZ, 100 a second), and each
 *           process's count is rounded down to a whole tick: per process, for a thousand
 *           children of a few ms each, they say nothing. So the exact total is split in the
 *           share of the whole tree's ticks, and *ticks says how many that was (too few: the
 *           caller calls the split unknown).
 * Returns -1 if the server is not there.
 */
static int server_cpu(long server, double *all_s, double *user_s, double *sys_s,
                      unsigned long long *ticks)
{
    DIR *proc = opendir("/proc");
    if (proc == NULL)
        die("opendir /proc");
    size_t count = 0, cap = 256;
    struct proc_cpu *all = malloc(cap * sizeof *all);
    if (all == NULL)
        die("malloc");
    struct dirent *entry;
    /* cppcheck-suppress readdirCalled */
    while ((entry = readdir(proc)) != NULL) {
        if (entry->d_name[0] < '1' || entry->d_name[0] > '9')
            continue; /* not a process */
        if (count == cap) {
            cap *= 2;
            struct proc_cpu *bigger = realloc(all, cap * sizeof *all);
            if (bigger == NULL)
                die("realloc");
            all = bigger;
        }
        if (read_proc_cpu(entry->d_name, &all[count]) == 0)
            count++;
    }
    closedir(proc);
    qsort(all, count, sizeof *all, by_pid);
    /* Mark the server, then whoever's parent is marked, until nobody new is. */
    struct proc_cpu key = {.pid = server};
    struct proc_cpu *top = bsearch(&key, all, count, sizeof *all, by_pid);
    if (top != NULL)
        top->in_tree = 1;
    for (int more = top != NULL; more;) {
        more = 0;
        for (size_t i = 0; i < count; i++) {
            if (all[i].in_tree)
                continue;
            key.pid = all[i].ppid;
            struct proc_cpu *parent = bsearch(&key, all, count, sizeof *all, by_pid);
            if (parent != NULL && parent->in_tree)
                all[i].in_tree = more = 1;
        }
    }
    unsigned long long user = 0, sys = 0, ns = 0, reaped = 0;
    for (size_t i = 0; i < count; i++)
        if (all[i].in_tree) {
            read_proc_ns(&all[i]);
            ns += all[i].ns;
            reaped += all[i].reaped;
            user += all[i].user;
            sys += all[i].sys;
        }
    free(all);
    double hz = (double)sysconf(_SC_CLK_TCK);
    *all_s = (double)ns / 1e9 + (double)reaped / hz;
    if (access("/proc/self/schedstat", R_OK) == -1) /* a kernel without it: ticks alone */
        *all_s = (double)(user + sys) / hz;
    *user_s = (double)user / hz;
    *sys_s = (double)sys / hz;
    *ticks = user + sys;
    return top != NULL ? 0 : -1;
}

static int mode_pingpong(int port, int n, double seconds, long server)
{
    int connected, first_error;
    struct client *cs = connect_many(port, n, &connected, &first_error);
    struct rtts r = {NULL, 0, 0};
    /* The warm-up: every client's first echo. */
    int failed = run_clients(cs, n, now() + seconds, 0, &r, &first_error);
    r.count = 0;
    double all0 = 0, user0 = 0, sys0 = 0, all1 = 0, user1 = 0, sys1 = 0;
    unsigned long long ticks0 = 0, ticks1 = 0;
    int have_cpu = server > 0 && server_cpu(server, &all0, &user0, &sys0, &ticks0) == 0;
    double start = now();
    failed += run_clients(cs, n, start + seconds, 1, &r, &first_error);
    double end = now(), elapsed = end - start;
    have_cpu = have_cpu && server_cpu(server, &all1, &user1, &sys1, &ticks1) == 0;
    int stalled = 0;
    for (int i = 0; i < n; i++)
        if (!cs[i].done && cs[i].waiting && end - cs[i].sent_at > seconds / 2)
            stalled++;
    size_t count = r.count;
    if (count > 0)
        qsort(r.v, count, sizeof *r.v, compare_doubles);
    double p50 = count ? r.v[count / 2] * 1e6 : -1;
    double p99 = count ? r.v[(size_t)((double)(count - 1) * 0.99)] * 1e6 : -1;
    printf("clients=%d messages=%zu rate=%.0f p50_us=%.0f p99_us=%.0f errors=%d stalled=%d", n,
           count, (double)count / elapsed, p50, p99, failed + (n - connected), stalled);
    if (have_cpu) {
        /* The split of the exact total follows the tree's ticks, when there are enough. */
        double cpu_us = (all1 - all0) * 1e6, ticked = (user1 - user0) + (sys1 - sys0);
        printf(" cpu_us=%.0f", cpu_us);
        if (count > 0)
            printf(" cpu_us_per_line=%.2f", cpu_us / (double)count);
        else
            printf(" cpu_us_per_line=none");
        if ((double)ticks1 - (double)ticks0 >= MIN_SPLIT_TICKS && ticked > 0) {
            double user_us = cpu_us * (user1 - user0) / ticked, sys_us = cpu_us - user_us;
            printf(" user_us=%.0f sys_us=%.0f", user_us, sys_us);
            if (count > 0)
                printf(" user_us_per_line=%.2f sys_us_per_line=%.2f", user_us / (double)count,
                       sys_us / (double)count);
            else
                printf(" user_us_per_line=none sys_us_per_line=none");
        } else {
            printf(" user_us=none sys_us=none user_us_per_line=none sys_us_per_line=none");
        }
    } else if (server > 0) {
        printf(" cpu_us=none cpu_us_per_line=none user_us=none sys_us=none"
               " user_us_per_line=none sys_us_per_line=none");
    }
    putchar('\n');
    free(r.v);
    close_many(cs, n);
    return 0;
}

static int mode_clients(int port, int n, double seconds)
{
    int connected, first_error;
    struct client *cs = connect_many(port, n, &connected, &first_error);
    struct rtts r = {NULL, 0, 0};
    run_clients(cs, n, now() + seconds, 0, &r, &first_error);
    if (first_error == 0) /* whoever has not been echoed by now failed */
        for (int i = 0; i < n; i++)
            if (!cs[i].done && cs[i].waiting)
                first_error = ETIMEDOUT;
    printf("clients=%d echoed=%zu failed=%zu first_error=%s\n", n, r.count, (size_t)n - r.count,
           first_error ? errno_name(first_error) : "none");
    free(r.v);
    close_many(cs, n);
    return r.count == (size_t)n ? 0 : 1;
}

/* A number from the command line, or -1 if text is not one (whole text, in range). */
static double parse_number(const char *text)
{
    char *end = NULL;
    errno = 0;
    double value = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || value < 0 || value > 1e9)
        return -1;
    return value;
}

int main(int argc, char **argv)
{
    server_init(1, argv); /* SIGPIPE ignored, stdout line-buffered; ports come from argv[2] */
    raise_fd_limit();
    int port = argc > 2 ? parse_port(argv[2]) : -1;
    if (argc < 4 || port < 0) {
        fprintf(stderr, "usage: loadgen stall PORT CAP_MS | hold PORT N SECONDS |\n"
                        "               pingpong PORT N SECONDS [PID] | clients PORT N SECONDS\n");
        return 2;
    }
    if (strcmp(argv[1], "stall") == 0) {
        double cap_ms = parse_number(argv[3]);
        if (cap_ms <= 0) {
            fprintf(stderr, "loadgen stall: CAP_MS must be a number > 0\n");
            return 2;
        }
        return mode_stall(port, cap_ms);
    }
    if (argc < 5) {
        fprintf(stderr, "loadgen %s: needs N and SECONDS\n", argv[1]);
        return 2;
    }
    double clients = parse_number(argv[3]);
    double seconds = parse_number(argv[4]);
    if (clients < 1 || clients > 1000000 || clients != (double)(int)clients || seconds <= 0) {
        fprintf(stderr, "loadgen: N must be a whole number >= 1 and SECONDS a number > 0\n");
        return 2;
    }
    int n = (int)clients;
    if (strcmp(argv[1], "hold") == 0)
        return mode_hold(port, n, seconds);
    if (strcmp(argv[1], "pingpong") == 0) {
        double server = argc > 5 ? parse_number(argv[5]) : 0;
        if (server < 0 || server != (double)(long)server) {
            fprintf(stderr, "loadgen pingpong: PID must be a process id\n");
            return 2;
        }
        return mode_pingpong(port, n, seconds, (long)server);
    }
    if (strcmp(argv[1], "clients") == 0)
        return mode_clients(port, n, seconds);
    fprintf(stderr, "loadgen: unknown mode '%s'\n", argv[1]);
    return 2;
}
