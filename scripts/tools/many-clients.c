/*
 * many-clients.c - check a line-echo server with many clients at once (POSIX, poll, one thread).
 *
 *   many-clients [-n CLIENTS] [-l LINES] [-m MAX_LINE] [-p MAX_PIECE] [-s SEED] [-t SECONDS]
 *                [-w WAIT_MS] [-R RCVBUF] [-r] [-c] PORT
 *
 * Opens CLIENTS connections to 127.0.0.1:PORT at once (all connected before anyone sends).
 * Each client has its own distinct lines, LINES of them, each at most MAX_LINE bytes with its
 * "\r\n" and made of random bytes (NUL and bytes >= 0x80 included; never '\r', so a line ends
 * only at its end). It sends them cut into random pieces of 1 to MAX_PIECE bytes, one piece per
 * turn, interleaved with the other clients (TCP_NODELAY: each piece leaves as its own segment),
 * and checks every byte that comes back against what it sent, in order. A client that got all
 * its echoes closes at once. SEED fixes the lines and the cuts, so a failure can be replayed.
 *
 * Each client ends up as one of:
 *   served   every line came back intact and in order;
 *   refused  the connection failed, or the server closed it before the first line came back
 *            (a server that turns clients away: select's FD_SETSIZE);
 *   cut      the server closed it after one or more intact lines, before the rest (a server
 *            that shuts down gracefully);
 *   failed   a byte came back that was not sent, or nothing more came within SECONDS.
 * Prints one line on stdout,
 *   clients=200 served=200 refused=0 cut=0 failed=0 lines=1000/1000 seconds=0.12
 * (lines: intact echoed lines / lines sent), and, on stderr, what went wrong with the first
 * failed client and what the first refused client was told. Exit status 0 when every client
 * was served (or refused, with -r; or cut, with -c), 1 otherwise, 2 for a usage error.
 *
 *   -n CLIENTS   how many clients (default 10)
 *   -l LINES     lines per client (default 5)
 *   -m MAX_LINE  longest line, "\r\n" included (default 64, at least 24)
 *   -p MAX_PIECE largest piece per send() (default 16)
 *   -s SEED      random seed (default 1)
 *   -t SECONDS   give up after this long (default 10)
 *   -w WAIT_MS   read nothing until WAIT_MS after connecting: a slow reader, whose echoes
 *                pile up in the server (default 0); SIGUSR1 ends the wait at once (a test
 *                that must do something while they are piled up, then let them be read)
 *   -R RCVBUF    a small receive buffer (SO_RCVBUF), so that they pile up sooner
 *   -r           refused clients are expected (exit 0 if the others were served)
 *   -c           cut clients are expected (exit 0 if the others were served)
 *
 * Examples:
 *   many-clients -n 200 8000                   200 concurrent clients, all must be served
 *   many-clients -n 500 -l 20 -m 1024 -s 7 8000    the stress test: 500 clients, random pieces
 *   many-clients -n 1100 -l 1 -r 8000          more clients than FD_SETSIZE: served vs refused
 */
#include "net.h"
#include "pyrepr.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SEEN_MAX 48 /* bytes of an unexpected answer kept for the report */

enum outcome { RUNNING, SERVED, REFUSED, CUT, FAILED };

struct client {
    int fd;
    bool connecting; /* connect() still in progress */
    enum outcome outcome;
    char *stream;        /* every line it sends, one after the other: also what it expects */
    size_t total;        /* bytes in stream */
    size_t sent;         /* bytes sent so far */
    size_t matched;      /* bytes echoed back intact so far */
    size_t lines_ok;     /* complete lines echoed back intact */
    long long read_from; /* -w: read nothing before this time (ms) */
    bool garbled;        /* a wrong byte came before any intact line: a refusal, if it closes */
    char seen[SEEN_MAX]; /* what came instead of the expected bytes */
    size_t seen_len;
    char why[160]; /* for a failed client: what went wrong */
};

struct options {
    long clients, lines, max_line, max_piece, wait_ms, rcvbuf;
    unsigned long long seed;
    double seconds;
    bool refused_ok, cut_ok;
    int port;
};

/* splitmix64: a small, good, portable generator; the same seed gives the same run anywhere. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* A whole number from lo to hi, both included. */
static size_t random_between(uint64_t *state, size_t lo, size_t hi)
{
    return lo + (size_t)(next_random(state) % (hi - lo + 1));
}

/* Client id's lines: "c<id> l<k> " (distinct), random bytes but '\r', then "\r\n". */
static void make_lines(struct client *c, long id, const struct options *o, uint64_t *random)
{
    c->stream = malloc((size_t)o->lines * (size_t)o->max_line);
    if (c->stream == NULL)
        die("malloc");
    c->total = 0;
    for (long k = 0; k < o->lines; k++) {
        char *line = c->stream + c->total;
        int head = snprintf(line, (size_t)o->max_line, "c%ld l%ld ", id, k);
        size_t len = random_between(random, (size_t)head + 2, (size_t)o->max_line);
        for (size_t i = (size_t)head; i < len - 2; i++) {
            char byte;
            do {
                byte = (char)(next_random(random) & 0xff);
            } while (byte == '\r');
            line[i] = byte;
        }
        line[len - 2] = '\r';
        line[len - 1] = '\n';
        c->total += len;
    }
}

static void finish(struct client *c, enum outcome outcome)
{
    c->outcome = outcome;
    if (c->fd != -1)
        close(c->fd);
    c->fd = -1;
}

static void fail(struct client *c, const char *why)
{
    snprintf(c->why, sizeof c->why, "%s", why);
    finish(c, FAILED);
}

/* The server closed the connection (end of file or reset): what does that make c? */
static void closed_by_server(struct client *c)
{
    if (c->lines_ok == 0)
        finish(c, REFUSED);
    else if (c->garbled)
        fail(c, "a wrong byte, then the server closed");
    else
        finish(c, CUT);
}

static void start_connect(struct client *c, const struct options *o)
{
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd == -1) {
        if (errno == EMFILE || errno == ENFILE)
            die_msg("socket: out of descriptors: raise `ulimit -n` or use fewer clients");
        die("socket");
    }
    set_nonblocking(c->fd);
    int on = 1;
    if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == -1)
        die("setsockopt(TCP_NODELAY)");
    if (o->rcvbuf > 0) {
        int size = (int)o->rcvbuf;
        if (setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) == -1)
            die("setsockopt(SO_RCVBUF)");
    }
    struct sockaddr_in addr = loopback_address(o->port);
    c->connecting = true;
    c->read_from = monotonic_ms() + o->wait_ms;
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) == 0)
        c->connecting = false;
    else if (errno != EINPROGRESS && errno != EINTR)
        finish(c, REFUSED); /* ECONNREFUSED: nobody listens */
}

/* connect() in progress and the socket is writable: did it work? */
static void end_connect(struct client *c, const struct options *o)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
        err = errno;
    c->connecting = false;
    c->read_from = monotonic_ms() + o->wait_ms;
    if (err != 0)
        finish(c, REFUSED);
}

static void check_echo(struct client *c, const char *data, size_t n);

/* -w: set by SIGUSR1, which ends every client's wait at once. */
static volatile sig_atomic_t wait_over;
static void end_wait(int signal_number)
{
    (void)signal_number;
    wait_over = 1;
}

/* The server closed the connection while we were still sending: what it had sent before (a
 * refusal, echoes) may still wait in our receive queue, behind the reset. Read it, then judge. */
static void closed_while_sending(struct client *c)
{
    char data[65536];
    ssize_t n;
    while (c->outcome == RUNNING && (n = recv(c->fd, data, sizeof data, MSG_DONTWAIT)) > 0)
        check_echo(c, data, (size_t)n);
    if (c->outcome == RUNNING)
        closed_by_server(c);
}

static void send_piece(struct client *c, const struct options *o, uint64_t *random)
{
    size_t piece = random_between(random, 1, (size_t)o->max_piece);
    if (piece > c->total - c->sent)
        piece = c->total - c->sent;
    ssize_t n = send(c->fd, c->stream + c->sent, piece, 0);
    if (n >= 0) {
        c->sent += (size_t)n;
    } else if (errno == EPIPE || errno == ECONNRESET) {
        closed_while_sending(c);
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        char why[120];
        snprintf(why, sizeof why, "send: %s", strerror(errno));
        fail(c, why);
    }
}

/* Check the bytes that came back against what was sent. */
static void check_echo(struct client *c, const char *data, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!c->garbled && c->matched < c->total && data[i] == c->stream[c->matched]) {
            c->matched++;
            if (c->matched >= 2 && c->stream[c->matched - 1] == '\n' &&
                c->stream[c->matched - 2] == '\r')
                c->lines_ok++;
            continue;
        }
        if (c->lines_ok > 0 || c->matched >= c->total) {
            char why[160];
            snprintf(why, sizeof why, "byte %zu of the echo differs (after %zu intact lines)",
                     c->matched, c->lines_ok);
            fail(c, why);
            return;
        }
        /* Wrong before the first line: maybe the server's refusal. Keep it for the report. */
        c->garbled = true;
        if (c->seen_len < SEEN_MAX)
            c->seen[c->seen_len++] = data[i];
    }
    if (c->matched == c->total)
        finish(c, SERVED);
}

static void receive(struct client *c)
{
    char data[65536];
    ssize_t n = recv(c->fd, data, sizeof data, 0);
    if (n > 0) {
        check_echo(c, data, (size_t)n);
    } else if (n == 0 || errno == ECONNRESET || errno == EPIPE) {
        closed_by_server(c);
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        char why[120];
        snprintf(why, sizeof why, "recv: %s", strerror(errno));
        fail(c, why);
    }
}

static long number_option(const char *text, long lo, long hi, const char *name)
{
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < lo || value > hi) {
        fprintf(stderr, "many-clients: %s must be a whole number from %ld to %ld, not '%s'\n", name,
                lo, hi, text);
        exit(2);
    }
    return value;
}

static void usage(void)
{
    fprintf(stderr, "usage: many-clients [-n CLIENTS] [-l LINES] [-m MAX_LINE] [-p MAX_PIECE] "
                    "[-s SEED] [-t SECONDS] [-w WAIT_MS] [-R RCVBUF] [-r] [-c] PORT\n");
    exit(2);
}

static struct options parse_options(int argc, char **argv)
{
    struct options o = {.clients = 10,
                        .lines = 5,
                        .max_line = 64,
                        .max_piece = 16,
                        .wait_ms = 0,
                        .rcvbuf = 0,
                        .seed = 1,
                        .seconds = 10};
    int opt;
    while ((opt = getopt(argc, argv, "n:l:m:p:s:t:w:R:rc")) != -1) {
        switch (opt) {
        case 'n':
            o.clients = number_option(optarg, 1, 100000, "-n CLIENTS");
            break;
        case 'l':
            o.lines = number_option(optarg, 1, 1000000, "-l LINES");
            break;
        case 'm':
            o.max_line = number_option(optarg, 24, 1 << 20, "-m MAX_LINE");
            break;
        case 'p':
            o.max_piece = number_option(optarg, 1, 1 << 20, "-p MAX_PIECE");
            break;
        case 's':
            o.seed = (unsigned long long)number_option(optarg, 0, LONG_MAX, "-s SEED");
            break;
        case 't':
            o.seconds = (double)number_option(optarg, 1, 3600, "-t SECONDS");
            break;
        case 'w':
            o.wait_ms = number_option(optarg, 0, 3600000, "-w WAIT_MS");
            break;
        case 'R':
            o.rcvbuf = number_option(optarg, 1, 1 << 24, "-R RCVBUF");
            break;
        case 'r':
            o.refused_ok = true;
            break;
        case 'c':
            o.cut_ok = true;
            break;
        default:
            usage();
        }
    }
    if (optind != argc - 1)
        usage();
    o.port = parse_port(argv[optind]);
    if (o.port < 0) {
        fprintf(stderr, "many-clients: invalid port '%s'\n", argv[optind]);
        exit(2);
    }
    if ((double)o.lines * (double)o.max_line > 64.0 * 1024 * 1024) {
        fprintf(stderr, "many-clients: -l LINES times -m MAX_LINE must stay under 64 MB\n");
        exit(2);
    }
    return o;
}

int main(int argc, char **argv)
{
    server_init(1, argv); /* only for SIGPIPE and a line-buffered stdout */
    struct options o = parse_options(argc, argv);
    raise_fd_limit(); /* one descriptor per client */
    /* -w: SIGUSR1 ends the wait (no SA_RESTART, so that poll() returns and sees it) */
    struct sigaction on_usr1 = {.sa_handler = end_wait};
    sigemptyset(&on_usr1.sa_mask);
    if (sigaction(SIGUSR1, &on_usr1, NULL) == -1)
        die("sigaction(SIGUSR1)");

    size_t n = (size_t)o.clients;
    struct client *clients = calloc(n, sizeof *clients);
    struct pollfd *fds = calloc(n, sizeof *fds);
    if (clients == NULL || fds == NULL)
        die("calloc");
    uint64_t random = o.seed;
    for (size_t i = 0; i < n; i++) {
        uint64_t lines_random = o.seed * 1000003u + i; /* a client's lines depend on i only */
        make_lines(&clients[i], (long)i, &o, &lines_random);
        start_connect(&clients[i], &o);
    }

    long long start = monotonic_ms();
    long long deadline = start + (long long)(o.seconds * 1000);
    for (;;) {
        /* Everyone connects before anyone sends: N clients really are there at once. */
        bool all_connected = true;
        size_t running = 0;
        for (size_t i = 0; i < n; i++) {
            if (clients[i].outcome == RUNNING) {
                running++;
                all_connected = all_connected && !clients[i].connecting;
            }
        }
        long long now = monotonic_ms();
        if (running == 0 || now >= deadline)
            break;

        long long wake = deadline;
        for (size_t i = 0; i < n; i++) {
            struct client *c = &clients[i];
            fds[i].fd = c->outcome == RUNNING ? c->fd : -1;
            fds[i].events = 0;
            fds[i].revents = 0;
            if (c->outcome != RUNNING)
                continue;
            if (c->connecting) {
                fds[i].events = POLLOUT;
                continue;
            }
            if (all_connected && c->sent < c->total)
                fds[i].events |= POLLOUT;
            if (now >= c->read_from || wait_over)
                fds[i].events |= POLLIN;
            else if (c->read_from < wake)
                wake = c->read_from;
        }
        if (poll(fds, (nfds_t)n, (int)(wake - now)) == -1) {
            if (errno == EINTR)
                continue;
            die("poll");
        }
        for (size_t i = 0; i < n; i++) {
            struct client *c = &clients[i];
            short revents = fds[i].revents;
            if (revents == 0 || c->outcome != RUNNING)
                continue;
            if (c->connecting) {
                end_connect(c, &o);
                continue;
            }
            if (revents & (POLLIN | POLLHUP | POLLERR))
                receive(c);
            if (c->outcome == RUNNING && (revents & POLLOUT))
                send_piece(c, &o, &random);
        }
    }
    double seconds = (double)(monotonic_ms() - start) / 1000.0;

    size_t count[FAILED + 1] = {0};
    size_t lines_ok = 0;
    struct client *first_failed = NULL, *first_refused = NULL;
    for (size_t i = 0; i < n; i++) {
        struct client *c = &clients[i];
        if (c->outcome == RUNNING) {
            char why[160];
            snprintf(why, sizeof why,
                     "no answer within %.0f s (sent %zu of %zu bytes, %zu came back)", o.seconds,
                     c->sent, c->total, c->matched);
            fail(c, why);
        }
        count[c->outcome]++;
        lines_ok += c->lines_ok;
        if (c->outcome == FAILED && first_failed == NULL)
            first_failed = c;
        if (c->outcome == REFUSED && first_refused == NULL)
            first_refused = c;
    }
    printf("clients=%zu served=%zu refused=%zu cut=%zu failed=%zu lines=%zu/%zu seconds=%.2f\n", n,
           count[SERVED], count[REFUSED], count[CUT], count[FAILED], lines_ok, n * (size_t)o.lines,
           seconds);
    if (first_failed != NULL)
        fprintf(stderr, "many-clients: client %td failed: %s\n", first_failed - clients,
                first_failed->why);
    if (first_refused != NULL) {
        fprintf(stderr, "many-clients: client %td refused; it was told: ", first_refused - clients);
        fprint_bytes(stderr, first_refused->seen, first_refused->seen_len);
        fputc('\n', stderr);
    }
    bool ok = count[FAILED] == 0 && (o.refused_ok || count[REFUSED] == 0) &&
              (o.cut_ok || count[CUT] == 0);

    for (size_t i = 0; i < n; i++)
        free(clients[i].stream);
    free(clients);
    free(fds);
    return ok ? 0 : 1;
}
