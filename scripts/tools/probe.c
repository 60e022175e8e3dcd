/*
 * probe.c - what the kernel knows about a server, as key=value lines for scripts.
 *
 * The replay, peek and the tests ask the kernel about ports, sockets and processes through
 * this one program, never by parsing /proc or a tool's prose in bash. Each answer is one line
 * per record, fields "key=value" separated by one space; a value never holds a space, except
 * the last field of a line when its key says "rest of the line" below.
 *
 *   probe listening PORT     listening=1 (exit 0) if a TCP socket listens on PORT, IPv4 or
 *                            IPv6; listening=0 (exit 1) if none does.
 *   probe in-use PORT        in_use=1 (exit 0) if any TCP socket, in any state (TIME-WAIT
 *                            too), has local port PORT: bind() would fail; in_use=0 (exit 1).
 *   probe queues PORT        one line per connection whose local port is PORT (the server's
 *                            side of each client, accepted or still in the accept queue):
 *                            state local remote recvq sendq inode (inode=0: not accepted yet).
 *   probe sockets PID        one line per TCP socket PID holds, in descriptor order:
 *                            fd inode state local remote recvq sendq; a listener has
 *                            accept_queue and backlog instead of the queues. Then one line
 *                            per connection completed on one of its listening ports and not
 *                            yet accept()ed: fd=- ... queued=1.
 *   probe fds PID            fd=N target=WHAT (target: rest of the line; socket:[INODE],
 *                            pipe:[...], anon_inode:[eventpoll], a path...)
 *   probe state PID [TID]    state=R|S|D|T|t|Z|X|I|gone ended=0|1: ended=1 (exit 1) once it
 *                            has ended; a zombie (Z) has ended too: it only waits to be reaped.
 *   probe stat PID [TID]     state ppid threads utime stime (clock ticks) start (ticks after
 *                            boot: with the pid, names one process for good) hz
 *   probe status PID KEY...  KEY=VALUE for each KEY of /proc/PID/status (VmRSS, Threads,
 *                            TracerPid, SigIgn...), its first word; exit 1 if one is missing.
 *   probe children PID       pid=N, one per child process (every thread's children)
 *   probe descendants PID    pid=N, one per process under PID: children, their children...
 *   probe threads PID        one line per thread: tid state syscall nr [fd] [nfds]
 *                            [timeout_ms] wchan comm (comm: rest of the line). syscall is the
 *                            call the thread is blocked in (its name, or its number where
 *                            this program knows no name), "running" when it is not blocked
 *                            (running in user or kernel mode: /proc says "running" for both),
 *                            "none" when it waits outside any call, "hidden" when
 *                            /proc/PID/syscall needs ptrace permission (error=... then).
 *                            A thread caught running is looked at again, up to 4 times 20 ms
 *                            apart, so a server that woke for a moment is seen asleep again.
 *   probe cpu PID SECONDS    over the next SECONDS (a decimal): utime stime (ticks used in
 *                            user and kernel mode), user_pct kernel_pct cpu_pct (% of one
 *                            core), kernel_share (% of its CPU time spent in the kernel),
 *                            ran_pct and wanted_pct (% of the interval it ran, and ran or
 *                            waited for a core: /proc/PID/task/T/schedstat; at most 100 a
 *                            thread, since a wait is counted when it ends), voluntary and
 *                            involuntary (context switches: it went to sleep / was preempted),
 *                            state, and busy=1 when it behaves as a busy loop: it never went
 *                            to sleep (voluntary=0) and it ran (1 ms at least, however
 *                            little of a core a crowded machine gave it). A server asleep in
 *                            a call does not run; one that waits with a time-out goes to sleep
 *                            again at least once a time-out.
 *   probe syscalls           name=NAME nr=N for every call this program can name.
 *
 * Exit status: 0 answered; 1 the answer is "no" or the process has ended (said on stdout);
 * 2 a wrong command line or a failed call (one line on stderr naming the call and the reason).
 *
 * Sockets come from the kernel's socket table through NETLINK_SOCK_DIAG (inet_diag), as ss
 * asks it: exact numbers, filtered by state inside the kernel, in no particular order (none is
 * assumed). For a listening socket the kernel reports its accept queue in the receive-queue
 * field and its backlog in the send-queue field. Where a kernel has no NETLINK_SOCK_DIAG (or
 * PROBE_NO_NETLINK=1), the same rows come from /proc/net/tcp and tcp6, without the backlog.
 * Syscall names come from the C library's <sys/syscall.h> SYS_ constants, for the calls this
 * chapter's servers make.
 */
#include "util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define EXIT_NO 1
#define EXIT_ERROR 2

/* A failed call: one line naming it and the reason, then exit 2. */
static _Noreturn void fail(const char *call, int err)
{
    fprintf(stderr, "probe: %s: %s (errno %d, %s)\n", call, strerror(err), err, errno_name(err));
    exit(EXIT_ERROR);
}

static _Noreturn void usage(void)
{
    fputs("usage: probe listening|in-use|queues PORT\n"
          "       probe sockets|fds|children|descendants|threads PID\n"
          "       probe state|stat PID [TID]\n"
          "       probe status PID KEY...\n"
          "       probe cpu PID SECONDS\n"
          "       probe syscalls\n"
          "(the interface is described at the top of scripts/tools/probe.c)\n",
          stderr);
    exit(EXIT_ERROR);
}

/* A process or thread id: digits only, 1 to INT_MAX. */
static int parse_id(const char *text)
{
    if (text == NULL || *text < '0' || *text > '9')
        usage();
    errno = 0;
    char *end = NULL;
    long value = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < 1 || value > INT_MAX)
        usage();
    return (int)value;
}

static int port_arg(const char *text)
{
    int port = parse_port(text);
    if (port < 0) {
        fprintf(stderr, "probe: not a port (1 to 65535): %s\n", text ? text : "(none)");
        exit(EXIT_ERROR);
    }
    return port;
}

/* ----------------------------------------------------------------------------------------
 * /proc files. Each is read whole, from offset 0, in as few read() calls as it takes: the
 * kernel writes a /proc file anew for each read at another offset, so a file read in pieces
 * could mix two moments. Returns the length, or -1 when the file cannot be read (a process
 * that has ended: ENOENT, ESRCH), with errno set.
 */
static ssize_t read_whole(const char *path, char *buf, size_t size)
{
    int fd;
    do
        fd = open(path, O_RDONLY | O_CLOEXEC);
    while (fd == -1 && errno == EINTR);
    if (fd == -1)
        return -1;
    size_t len = 0;
    while (len + 1 < size) {
        ssize_t n = read(fd, buf + len, size - 1 - len);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            int err = errno;
            close(fd);
            errno = err;
            return -1;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    close(fd);
    return (ssize_t)len;
}

/* The fields of /proc/PID/stat (or /proc/PID/task/TID/stat) this program uses. */
struct proc_stat {
    char state;
    long ppid;
    long threads;
    unsigned long long utime, stime, start;
};

/* Read them; false once the process has ended. The command name (field 2) may hold spaces
 * and ')', so the fields are read after its last ')'. */
static bool read_stat(int pid, int tid, struct proc_stat *st)
{
    char path[64], buf[1024];
    if (tid > 0)
        snprintf(path, sizeof path, "/proc/%d/task/%d/stat", pid, tid);
    else
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
    if (read_whole(path, buf, sizeof buf) <= 0)
        return false;
    char *p = strrchr(buf, ')');
    if (p == NULL)
        return false;
    /* fields 3 (state), 4 (ppid), 14-15 (utime, stime), 20 (threads), 22 (start) */
    char *save = NULL;
    int field = 3;
    memset(st, 0, sizeof *st);
    for (char *w = strtok_r(p + 1, " \n", &save); w != NULL;
         w = strtok_r(NULL, " \n", &save), field++) {
        switch (field) {
        case 3:
            st->state = w[0];
            break;
        case 4:
            st->ppid = strtol(w, NULL, 10);
            break;
        case 14:
            st->utime = strtoull(w, NULL, 10);
            break;
        case 15:
            st->stime = strtoull(w, NULL, 10);
            break;
        case 20:
            st->threads = strtol(w, NULL, 10);
            break;
        case 22:
            st->start = strtoull(w, NULL, 10);
            return true;
        default:
            break;
        }
    }
    return false;
}

/* The first word of KEY's line in a /proc status file, into value; false if it has none. */
static bool status_value(const char *text, const char *key, char *value, size_t size)
{
    size_t klen = strlen(key);
    for (const char *line = text; line != NULL && *line != '\0';) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            const char *v = line + klen + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            size_t n = strcspn(v, " \t\n");
            if (n >= size)
                n = size - 1;
            memcpy(value, v, n);
            value[n] = '\0';
            return true;
        }
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
    return false;
}

/* The ids in a /proc folder (tasks, descriptors), sorted; NULL if it cannot be read. */
static int compare_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int *list_ids(const char *path, size_t *count)
{
    DIR *dir = opendir(path);
    if (dir == NULL)
        return NULL;
    size_t n = 0, cap = 16;
    int *ids = malloc(cap * sizeof *ids);
    if (ids == NULL)
        fail("malloc", errno);
    struct dirent *e;
    /* (one thread: readdir's static buffer is safe here, and readdir_r is deprecated) */
    // cppcheck-suppress readdirCalled
    while ((e = readdir(dir)) != NULL) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        long v = strtol(e->d_name, NULL, 10);
        if (v < 0 || v > INT_MAX)
            continue;
        if (n == cap) {
            cap *= 2;
            int *bigger = realloc(ids, cap * sizeof *ids);
            if (bigger == NULL)
                fail("realloc", errno);
            ids = bigger;
        }
        ids[n++] = (int)v;
    }
    closedir(dir);
    qsort(ids, n, sizeof *ids, compare_int);
    *count = n;
    return ids;
}

/* ----------------------------------------------------------------------------------------
 * Syscall names: the calls this chapter's servers make (and what they wait in), by the C
 * library's SYS_ constants, so each architecture gets its own numbers.
 */
struct syscall_name {
    long nr;
    const char *name;
    bool fd_first; /* its first argument is a descriptor */
};

#define CALL(name, fd_first)                                                                       \
    {                                                                                              \
        SYS_##name, #name, fd_first                                                                \
    }
static const struct syscall_name syscall_names[] = {
    CALL(read, true),
    CALL(write, true),
    CALL(close, true),
    CALL(readv, true),
    CALL(writev, true),
#ifdef SYS_poll
    CALL(poll, false),
#endif
#ifdef SYS_select
    CALL(select, false),
#endif
    CALL(pselect6, false),
    CALL(ppoll, false),
#ifdef SYS_accept
    CALL(accept, true),
#endif
    CALL(accept4, true),
    CALL(recvfrom, true),
    CALL(sendto, true),
    CALL(recvmsg, true),
    CALL(sendmsg, true),
    CALL(shutdown, true),
    CALL(connect, true),
    CALL(bind, true),
    CALL(listen, true),
    CALL(fcntl, true),
    CALL(ioctl, true),
#ifdef SYS_epoll_wait
    CALL(epoll_wait, true),
#endif
    CALL(epoll_pwait, true),
#ifdef SYS_epoll_pwait2
    CALL(epoll_pwait2, true),
#endif
    CALL(epoll_ctl, true),
#ifdef SYS_io_uring_enter
    CALL(io_uring_enter, true),
#endif
    CALL(futex, false),
    CALL(nanosleep, false),
    CALL(clock_nanosleep, false),
    CALL(rt_sigtimedwait, false),
    CALL(rt_sigsuspend, false),
#ifdef SYS_pause
    CALL(pause, false),
#endif
    CALL(wait4, false),
    CALL(waitid, false),
    CALL(exit_group, false),
};
#undef CALL
#define N_CALLS (sizeof syscall_names / sizeof syscall_names[0])

static const struct syscall_name *syscall_of(long nr)
{
    for (size_t i = 0; i < N_CALLS; i++)
        if (syscall_names[i].nr == nr)
            return &syscall_names[i];
    return NULL;
}

static int cmd_syscalls(void)
{
    for (size_t i = 0; i < N_CALLS; i++)
        printf("name=%s nr=%ld\n", syscall_names[i].name, syscall_names[i].nr);
    return 0;
}

/* ----------------------------------------------------------------------------------------
 * The kernel's TCP socket table, through NETLINK_SOCK_DIAG.
 */
struct tcp_socket {
    int state;
    char local[64], remote[64];
    int local_port;
    uint32_t rqueue, wqueue;
    uint32_t inode;
};

static const char *tcp_state_name(int state)
{
    /* ss's names, in the kernel's order (include/net/tcp_states.h) */
    static const char *names[] = {
        "?",      "ESTAB",      "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2",  "TIME-WAIT",
        "UNCONN", "CLOSE-WAIT", "LAST-ACK", "LISTEN",   "CLOSING",    "NEW-SYN-RECV"};
    if (state < 0 || state >= (int)(sizeof names / sizeof names[0]))
        return "?";
    return names[state];
}

enum { TCP_ESTAB = 1, TCP_TIMEWAIT = 6, TCP_CLOSEWAIT = 8, TCP_LISTENING = 10 };
#define ALL_STATES 0xfffu
#define LIVE_STATES (ALL_STATES & ~(1u << TCP_TIMEWAIT)) /* TIME-WAIT: nobody's socket */

static void format_address(int family, const uint32_t *addr, uint16_t port_be, char *out,
                           size_t size)
{
    char text[INET6_ADDRSTRLEN] = "?";
    inet_ntop(family, addr, text, sizeof text);
    if (family == AF_INET6)
        snprintf(out, size, "[%s]:%u", text, (unsigned)ntohs(port_be));
    else
        snprintf(out, size, "%s:%u", text, (unsigned)ntohs(port_be));
}

struct socket_table {
    struct tcp_socket *rows;
    size_t count, cap;
};

static void table_add(struct socket_table *t, const struct inet_diag_msg *m)
{
    if (t->count == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        struct tcp_socket *bigger = realloc(t->rows, t->cap * sizeof *bigger);
        if (bigger == NULL)
            fail("realloc", errno);
        t->rows = bigger;
    }
    struct tcp_socket *s = &t->rows[t->count++];
    s->state = m->idiag_state;
    s->local_port = ntohs(m->id.idiag_sport);
    s->rqueue = m->idiag_rqueue;
    s->wqueue = m->idiag_wqueue;
    s->inode = m->idiag_inode;
    format_address(m->idiag_family, m->id.idiag_src, m->id.idiag_sport, s->local, sizeof s->local);
    format_address(m->idiag_family, m->id.idiag_dst, m->id.idiag_dport, s->remote,
                   sizeof s->remote);
}

/* Every TCP socket of family in one of the states (a bit mask, 1 << state), added to t. When
 * port > 0 only those with that local port: the kernel still walks its table, but the rows
 * are dropped here, before they are stored. false (nothing added) where this kernel has no
 * NETLINK_SOCK_DIAG (some sandboxes): the caller then reads /proc/net/tcp. */
static bool dump_family(int family, unsigned states, int port, struct socket_table *t)
{
    int fd = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_SOCK_DIAG);
    if (fd == -1 && (errno == EPROTONOSUPPORT || errno == EAFNOSUPPORT))
        return false;
    if (fd == -1)
        fail("socket(NETLINK_SOCK_DIAG)", errno);
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 req;
    } request;
    memset(&request, 0, sizeof request);
    request.nlh.nlmsg_len = sizeof request;
    request.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    request.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    request.req.sdiag_family = (uint8_t)family;
    request.req.sdiag_protocol = IPPROTO_TCP;
    request.req.idiag_states = states;
    struct sockaddr_nl kernel;
    memset(&kernel, 0, sizeof kernel);
    kernel.nl_family = AF_NETLINK;
    ssize_t sent;
    do
        sent = sendto(fd, &request, sizeof request, 0, (struct sockaddr *)&kernel, sizeof kernel);
    while (sent == -1 && errno == EINTR);
    if (sent == -1)
        fail("sendto(NETLINK_SOCK_DIAG)", errno);

    /* (aligned for struct nlmsghdr: the messages are read in place) */
    static long buf[8192];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            fail("recv(NETLINK_SOCK_DIAG)", errno);
        if (n == 0)
            break;
        size_t len = (size_t)n;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len);
             h = NLMSG_NEXT(h, len)) {
            if (h->nlmsg_type == NLMSG_DONE) {
                close(fd);
                return true;
            }
            if (h->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *e = NLMSG_DATA(h);
                /* a kernel without IPv6 has no table for it: nothing to add */
                if (family == AF_INET6 && (e->error == -ENOENT || e->error == -EAFNOSUPPORT)) {
                    close(fd);
                    return true;
                }
                fail("NETLINK_SOCK_DIAG dump", e->error < 0 ? -e->error : EPROTO);
            }
            if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
                h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
                continue;
            const struct inet_diag_msg *m = NLMSG_DATA(h);
            if (port <= 0 || ntohs(m->id.idiag_sport) == port)
                table_add(t, m);
        }
    }
    close(fd);
    return true;
}

/* An address of /proc/net/tcp ("0100007F:1F40": the 32-bit words as the kernel holds them,
 * in hexadecimal, then the port) into addr and port (network byte order). */
static void parse_proc_address(const char *text, int family, uint32_t *addr, uint16_t *port)
{
    size_t words = family == AF_INET6 ? 4 : 1;
    char word[9];
    for (size_t i = 0; i < words; i++) {
        memcpy(word, text + 8 * i, 8);
        word[8] = '\0';
        addr[i] = (uint32_t)strtoul(word, NULL, 16);
    }
    const char *colon = strchr(text, ':');
    *port = htons((uint16_t)(colon ? strtoul(colon + 1, NULL, 16) : 0));
}

/* The same rows from /proc/net/tcp or /proc/net/tcp6, where there is no NETLINK_SOCK_DIAG
 * (PROBE_NO_NETLINK=1 forces it). There a listener's backlog is not shown: backlog=0. */
static void dump_proc(int family, unsigned states, int port, struct socket_table *t)
{
    const char *path = family == AF_INET6 ? "/proc/net/tcp6" : "/proc/net/tcp";
    FILE *file = fopen(path, "r");
    if (file == NULL && family == AF_INET6)
        return; /* a kernel without IPv6 */
    if (file == NULL)
        fail("fopen(/proc/net/tcp)", errno);
    char *line = NULL;
    size_t cap = 0;
    bool header = true;
    while (getline(&line, &cap, file) != -1) {
        /* sl local rem st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode */
        char *w[10], *save = NULL;
        int n = 0;
        for (char *tok = strtok_r(line, " \n", &save); tok != NULL && n < 10;
             tok = strtok_r(NULL, " \n", &save))
            w[n++] = tok;
        if (header || n < 10 || strlen(w[1]) < (family == AF_INET6 ? 37u : 13u)) {
            header = false;
            continue;
        }
        struct inet_diag_msg m;
        memset(&m, 0, sizeof m);
        m.idiag_family = (uint8_t)family;
        m.idiag_state = (uint8_t)strtoul(w[3], NULL, 16);
        parse_proc_address(w[1], family, m.id.idiag_src, &m.id.idiag_sport);
        parse_proc_address(w[2], family, m.id.idiag_dst, &m.id.idiag_dport);
        char *end = NULL;
        unsigned long tx = strtoul(w[4], &end, 16);
        unsigned long rx = *end == ':' ? strtoul(end + 1, NULL, 16) : 0;
        /* (a listener's rx_queue is its accept queue; its tx_queue says nothing) */
        m.idiag_rqueue = (uint32_t)rx;
        m.idiag_wqueue = m.idiag_state == TCP_LISTENING ? 0 : (uint32_t)tx;
        m.idiag_inode = (uint32_t)strtoul(w[9], NULL, 10);
        if ((states & (1u << m.idiag_state)) && (port <= 0 || ntohs(m.id.idiag_sport) == port))
            table_add(t, &m);
    }
    free(line);
    fclose(file);
}

static void dump_tcp(unsigned states, int port, struct socket_table *t)
{
    const char *forced = getenv("PROBE_NO_NETLINK");
    bool proc = forced != NULL && strcmp(forced, "1") == 0;
    if (proc || !dump_family(AF_INET, states, port, t)) {
        dump_proc(AF_INET, states, port, t);
        dump_proc(AF_INET6, states, port, t);
        return;
    }
    dump_family(AF_INET6, states, port, t);
}

static void print_queues(const struct tcp_socket *s)
{
    if (s->state == TCP_LISTENING)
        printf("accept_queue=%u backlog=%u", (unsigned)s->rqueue, (unsigned)s->wqueue);
    else
        printf("recvq=%u sendq=%u", (unsigned)s->rqueue, (unsigned)s->wqueue);
}

static int cmd_listening(int port)
{
    struct socket_table t = {0};
    dump_tcp(1u << TCP_LISTENING, port, &t);
    int found = t.count > 0;
    free(t.rows);
    printf("port=%d listening=%d\n", port, found);
    return found ? 0 : EXIT_NO;
}

static int cmd_in_use(int port)
{
    struct socket_table t = {0};
    dump_tcp(ALL_STATES, port, &t);
    int found = t.count > 0;
    free(t.rows);
    printf("port=%d in_use=%d\n", port, found);
    return found ? 0 : EXIT_NO;
}

static int cmd_queues(int port)
{
    struct socket_table t = {0};
    dump_tcp(LIVE_STATES & ~(1u << TCP_LISTENING), port, &t);
    for (size_t i = 0; i < t.count; i++) {
        const struct tcp_socket *s = &t.rows[i];
        printf("state=%s local=%s remote=%s ", tcp_state_name(s->state), s->local, s->remote);
        print_queues(s);
        printf(" inode=%u\n", (unsigned)s->inode);
    }
    free(t.rows);
    return 0;
}

/* The descriptors of PID as (fd, link) pairs, in descriptor order; NULL if PID has ended. */
struct fd_link {
    int fd;
    char target[PATH_MAX];
};

static struct fd_link *read_fds(int pid, size_t *count)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", pid);
    size_t n = 0;
    int *ids = list_ids(path, &n);
    if (ids == NULL)
        return NULL;
    struct fd_link *links = calloc(n ? n : 1, sizeof *links);
    if (links == NULL)
        fail("calloc", errno);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        char link[96];
        snprintf(link, sizeof link, "/proc/%d/fd/%d", pid, ids[i]);
        ssize_t len = readlink(link, links[kept].target, sizeof links[kept].target - 1);
        if (len == -1)
            continue; /* closed meanwhile */
        links[kept].target[len] = '\0';
        links[kept].fd = ids[i];
        kept++;
    }
    free(ids);
    *count = kept;
    return links;
}

static int cmd_fds(int pid)
{
    size_t n = 0;
    struct fd_link *links = read_fds(pid, &n);
    if (links == NULL) {
        if (errno == EACCES)
            fail("opendir(/proc/PID/fd)", errno);
        printf("pid=%d state=gone\n", pid);
        return EXIT_NO;
    }
    for (size_t i = 0; i < n; i++)
        printf("fd=%d target=%s\n", links[i].fd, links[i].target);
    free(links);
    return 0;
}

/* The inode of a descriptor's target "socket:[INODE]"; 0 for anything else. */
static uint32_t socket_inode(const char *target)
{
    static const char prefix[] = "socket:[";
    if (strncmp(target, prefix, sizeof prefix - 1) != 0)
        return 0;
    const char *digits = target + sizeof prefix - 1;
    char *end = NULL;
    errno = 0;
    unsigned long long inode = strtoull(digits, &end, 10);
    if (errno != 0 || end == digits || strcmp(end, "]") != 0 || inode > UINT32_MAX)
        return 0;
    return (uint32_t)inode;
}

static int cmd_sockets(int pid)
{
    size_t n = 0;
    struct fd_link *links = read_fds(pid, &n);
    if (links == NULL) {
        if (errno == EACCES)
            fail("opendir(/proc/PID/fd)", errno);
        printf("pid=%d state=gone\n", pid);
        return EXIT_NO;
    }
    struct socket_table t = {0};
    dump_tcp(LIVE_STATES, 0, &t);
    int listening[16], n_listening = 0; /* (the ports it listens on: a server has one or two) */
    for (size_t i = 0; i < n; i++) {
        uint32_t inode = socket_inode(links[i].target);
        if (inode == 0)
            continue;
        for (size_t k = 0; k < t.count; k++) {
            const struct tcp_socket *s = &t.rows[k];
            if (s->inode != inode)
                continue;
            printf("fd=%d inode=%u state=%s local=%s remote=%s ", links[i].fd, (unsigned)inode,
                   tcp_state_name(s->state), s->local, s->remote);
            print_queues(s);
            putchar('\n');
            if (s->state == TCP_LISTENING && n_listening < 16)
                listening[n_listening++] = s->local_port;
            break;
        }
    }
    /* Connections the kernel completed on a listening port of ours that nobody accept()ed yet:
     * no file, so no inode, and no descriptor. */
    for (size_t k = 0; k < t.count; k++) {
        const struct tcp_socket *s = &t.rows[k];
        if (s->inode != 0 || (s->state != TCP_ESTAB && s->state != TCP_CLOSEWAIT))
            continue;
        for (int l = 0; l < n_listening; l++) {
            if (listening[l] != s->local_port)
                continue;
            printf("fd=- inode=0 state=%s local=%s remote=%s ", tcp_state_name(s->state), s->local,
                   s->remote);
            print_queues(s);
            printf(" queued=1\n");
            break;
        }
    }
    free(t.rows);
    free(links);
    return 0;
}

/* ----------------------------------------------------------------------------------------
 * Processes and threads.
 */
static int cmd_state(int pid, int tid)
{
    struct proc_stat st;
    if (!read_stat(pid, tid, &st)) {
        printf("state=gone ended=1\n");
        return EXIT_NO;
    }
    bool ended = st.state == 'Z' || st.state == 'X';
    printf("state=%c ended=%d\n", st.state, ended);
    return ended ? EXIT_NO : 0;
}

static int cmd_stat(int pid, int tid)
{
    struct proc_stat st;
    if (!read_stat(pid, tid, &st)) {
        printf("state=gone\n");
        return EXIT_NO;
    }
    printf("state=%c ppid=%ld threads=%ld utime=%llu stime=%llu start=%llu hz=%ld\n", st.state,
           st.ppid, st.threads, st.utime, st.stime, st.start, sysconf(_SC_CLK_TCK));
    return 0;
}

static int cmd_status(int pid, int nkeys, char **keys)
{
    char path[64], text[8192], value[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    if (read_whole(path, text, sizeof text) <= 0) {
        printf("state=gone\n");
        return EXIT_NO;
    }
    int status = 0;
    for (int i = 0; i < nkeys; i++) {
        if (status_value(text, keys[i], value, sizeof value))
            printf("%s%s=%s", i ? " " : "", keys[i], value);
        else
            status = EXIT_NO;
    }
    putchar('\n');
    return status;
}

/* The parent of every process, from /proc/N/stat; filled into ppid_of (pids[i] -> ppids[i]). */
static int *all_processes(size_t *count, long **ppids)
{
    int *pids = list_ids("/proc", count);
    if (pids == NULL)
        fail("opendir(/proc)", errno);
    *ppids = calloc(*count ? *count : 1, sizeof **ppids);
    if (*ppids == NULL)
        fail("calloc", errno);
    for (size_t i = 0; i < *count; i++) {
        struct proc_stat st;
        (*ppids)[i] = read_stat(pids[i], 0, &st) ? st.ppid : -1;
    }
    return pids;
}

static int cmd_children(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", pid);
    size_t n = 0;
    int *tids = list_ids(path, &n);
    if (tids == NULL) {
        printf("pid=%d state=gone\n", pid);
        return EXIT_NO;
    }
    for (size_t i = 0; i < n; i++) {
        char file[96], text[4096];
        snprintf(file, sizeof file, "/proc/%d/task/%d/children", pid, tids[i]);
        if (read_whole(file, text, sizeof text) <= 0)
            continue;
        char *save = NULL;
        for (char *w = strtok_r(text, " \n", &save); w != NULL; w = strtok_r(NULL, " \n", &save))
            printf("pid=%s\n", w);
    }
    free(tids);
    return 0;
}

static int cmd_descendants(int root)
{
    size_t n = 0;
    long *ppids = NULL;
    int *pids = all_processes(&n, &ppids);
    bool *mark = calloc(n ? n : 1, sizeof *mark);
    if (mark == NULL)
        fail("calloc", errno);
    /* mark a process when its parent is the root or marked, until nothing changes */
    for (bool grew = true; grew;) {
        grew = false;
        for (size_t i = 0; i < n; i++) {
            if (mark[i] || ppids[i] <= 0)
                continue;
            bool under = ppids[i] == root;
            for (size_t k = 0; k < n && !under; k++)
                under = mark[k] && pids[k] == ppids[i];
            if (under) {
                mark[i] = true;
                grew = true;
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        if (mark[i])
            printf("pid=%d\n", pids[i]);
    free(mark);
    free(pids);
    free(ppids);
    return 0;
}

static void nap_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) == -1 && errno == EINTR)
        ;
}

static void print_word(const char *key, const char *text)
{
    /* a value is one word: a space would start the next field */
    printf(" %s=", key);
    for (const char *c = text; *c != '\0' && *c != '\n'; c++)
        putchar(*c == ' ' ? '_' : *c);
}

/* A register value of /proc/PID/syscall read as a C int of milliseconds (-1: no time-out). */
static long as_int_ms(unsigned long long v)
{
    uint32_t low = (uint32_t)(v & 0xffffffffu);
    return low > INT32_MAX ? -(long)(UINT32_MAX - low) - 1 : (long)low;
}

static void show_thread(int pid, int tid)
{
    char path[96], call[256] = "", wchan[128] = "", comm[64] = "";
    struct proc_stat st = {0};
    int call_err = 0;
    for (int look = 1; look <= 4; look++) {
        if (!read_stat(pid, tid, &st))
            return; /* the thread has ended */
        snprintf(path, sizeof path, "/proc/%d/task/%d/syscall", pid, tid);
        call_err = read_whole(path, call, sizeof call) < 0 ? errno : 0;
        if (call_err != 0 || (st.state != 'R' && strncmp(call, "running", 7) != 0))
            break;
        if (look < 4)
            nap_ms(20);
    }
    snprintf(path, sizeof path, "/proc/%d/task/%d/wchan", pid, tid);
    if (read_whole(path, wchan, sizeof wchan) < 0 || strcmp(wchan, "0") == 0)
        wchan[0] = '\0';
    snprintf(path, sizeof path, "/proc/%d/task/%d/comm", pid, tid);
    if (read_whole(path, comm, sizeof comm) < 0)
        comm[0] = '\0';
    comm[strcspn(comm, "\n")] = '\0';

    printf("tid=%d state=%c", tid, st.state);
    if (call_err != 0) {
        printf(" syscall=hidden");
        print_word("error", strerror(call_err));
    } else if (strncmp(call, "running", 7) == 0) {
        printf(" syscall=running");
    } else {
        /* "NR ARG1 ... ARG6 SP PC", the arguments in hexadecimal; "-1 SP PC" outside a call */
        char *end = NULL;
        errno = 0;
        long nr = strtol(call, &end, 10);
        if (errno != 0 || end == call)
            nr = -1;
        unsigned long long a[6] = {0};
        for (int k = 0; k < 6 && nr >= 0; k++) {
            const char *from = end;
            a[k] = strtoull(from, &end, 16);
            if (end == from)
                break;
        }
        if (nr < 0) {
            printf(" syscall=none");
        } else {
            const struct syscall_name *c = syscall_of(nr);
            if (c != NULL)
                printf(" syscall=%s nr=%ld", c->name, nr);
            else
                printf(" syscall=%ld nr=%ld", nr, nr);
            if (c != NULL && c->fd_first)
                printf(" fd=%lld", (long long)(int)(a[0] & 0xffffffffu));
            if (c != NULL && (strcmp(c->name, "select") == 0 || strcmp(c->name, "pselect6") == 0))
                printf(" nfds=%ld", as_int_ms(a[0]));
            if (c != NULL && (strcmp(c->name, "poll") == 0 || strcmp(c->name, "ppoll") == 0))
                printf(" nfds=%llu", a[1]);
            if (c != NULL && strcmp(c->name, "poll") == 0)
                printf(" timeout_ms=%ld", as_int_ms(a[2]));
            if (c != NULL &&
                (strcmp(c->name, "epoll_wait") == 0 || strcmp(c->name, "epoll_pwait") == 0))
                printf(" timeout_ms=%ld", as_int_ms(a[3]));
        }
    }
    if (wchan[0] != '\0')
        print_word("wchan", wchan);
    printf(" comm=%s\n", comm);
}

static int cmd_threads(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", pid);
    size_t n = 0;
    int *tids = list_ids(path, &n);
    if (tids == NULL) {
        printf("pid=%d state=gone\n", pid);
        return EXIT_NO;
    }
    for (size_t i = 0; i < n; i++)
        show_thread(pid, tids[i]);
    free(tids);
    return 0;
}

/* ----------------------------------------------------------------------------------------
 * CPU over an interval.
 */
struct cpu_sample {
    struct proc_stat st;
    unsigned long long ran_ns, waited_ns, voluntary, involuntary;
    long long at_ns;
};

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* utime and stime from /proc/PID/stat (they count the threads that have ended too); the run
 * and wait times and the switches summed over its threads. false once PID has ended. */
static bool cpu_sample(int pid, struct cpu_sample *s)
{
    memset(s, 0, sizeof *s);
    if (!read_stat(pid, 0, &s->st))
        return false;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", pid);
    size_t n = 0;
    int *tids = list_ids(path, &n);
    if (tids == NULL)
        return false;
    for (size_t i = 0; i < n; i++) {
        char file[96], text[8192], value[64];
        snprintf(file, sizeof file, "/proc/%d/task/%d/schedstat", pid, tids[i]);
        if (read_whole(file, text, sizeof text) > 0) {
            /* "RAN_NS WAITED_NS SLICES" */
            char *end = NULL;
            s->ran_ns += strtoull(text, &end, 10);
            s->waited_ns += strtoull(end, NULL, 10);
        }
        snprintf(file, sizeof file, "/proc/%d/task/%d/status", pid, tids[i]);
        if (read_whole(file, text, sizeof text) <= 0)
            continue;
        if (status_value(text, "voluntary_ctxt_switches", value, sizeof value))
            s->voluntary += strtoull(value, NULL, 10);
        if (status_value(text, "nonvoluntary_ctxt_switches", value, sizeof value))
            s->involuntary += strtoull(value, NULL, 10);
    }
    free(tids);
    s->at_ns = now_ns();
    return true;
}

/* b - a, 0 where a thread that ended took its count with it */
static unsigned long long increase(unsigned long long a, unsigned long long b)
{
    return b > a ? b - a : 0;
}

static int cmd_cpu(int pid, const char *seconds_text)
{
    char *end = NULL;
    errno = 0;
    double seconds = strtod(seconds_text, &end);
    if (errno != 0 || end == seconds_text || *end != '\0' || !(seconds > 0.0) || seconds > 3600.0)
        usage();
    struct cpu_sample a, b;
    if (!cpu_sample(pid, &a)) {
        printf("pid=%d state=gone\n", pid);
        return EXIT_NO;
    }
    nap_ms((long)(seconds * 1000.0 + 0.5));
    if (!cpu_sample(pid, &b) || b.st.state == 'Z') {
        printf("pid=%d state=gone\n", pid);
        return EXIT_NO;
    }
    long hz = sysconf(_SC_CLK_TCK);
    if (hz <= 0)
        hz = 100;
    double elapsed = (double)(b.at_ns - a.at_ns) / 1e9;
    if (elapsed <= 0.0)
        elapsed = seconds;
    unsigned long long ut = increase(a.st.utime, b.st.utime), kt = increase(a.st.stime, b.st.stime);
    unsigned long long ran = increase(a.ran_ns, b.ran_ns),
                       waited = increase(a.waited_ns, b.waited_ns);
    unsigned long long vol = increase(a.voluntary, b.voluntary),
                       invol = increase(a.involuntary, b.involuntary);
    int user_pct = (int)((double)ut * 100.0 / (double)hz / elapsed + 0.5);
    int kernel_pct = (int)((double)kt * 100.0 / (double)hz / elapsed + 0.5);
    int cpu_pct = (int)((double)(ut + kt) * 100.0 / (double)hz / elapsed + 0.5);
    int kernel_share = ut + kt > 0 ? (int)((double)kt * 100.0 / (double)(ut + kt) + 0.5) : 0;
    /* The kernel adds a wait to schedstat when the wait ends, so a wait that began before the
     * interval may be counted whole: never more than each thread's whole interval. */
    int most = (int)(b.st.threads > 0 && b.st.threads < 100000 ? b.st.threads * 100 : 100);
    int ran_pct = (int)((double)ran / 1e7 / elapsed + 0.5);
    int wanted_pct = (int)((double)(ran + waited) / 1e7 / elapsed + 0.5);
    ran_pct = ran_pct > most ? most : ran_pct;
    wanted_pct = wanted_pct > most ? most : wanted_pct;
    /* Busy: it ran (a millisecond at least) and never went to sleep. Not a share of the core:
     * a crowded machine may give a busy loop a few percent, yet it never sleeps; a server
     * asleep in a call does not run at all, and one that wakes for a time-out sleeps again. */
    bool busy = vol == 0 && ran >= 1000000ULL;
    printf("pid=%d seconds=%.3f hz=%ld utime=%llu stime=%llu user_pct=%d kernel_pct=%d cpu_pct=%d "
           "kernel_share=%d ran_pct=%d wanted_pct=%d voluntary=%llu involuntary=%llu state=%c "
           "busy=%d\n",
           pid, elapsed, hz, ut, kt, user_pct, kernel_pct, cpu_pct, kernel_share, ran_pct,
           wanted_pct, vol, invol, b.st.state, busy);
    return 0;
}

/* ---------------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    const char *what = argv[1];
    /* (its output goes to pipes: flushed at exit, one write) */
    if (strcmp(what, "syscalls") == 0 && argc == 2)
        return cmd_syscalls();
    if (argc < 3)
        usage();
    if (strcmp(what, "listening") == 0 && argc == 3)
        return cmd_listening(port_arg(argv[2]));
    if (strcmp(what, "in-use") == 0 && argc == 3)
        return cmd_in_use(port_arg(argv[2]));
    if (strcmp(what, "queues") == 0 && argc == 3)
        return cmd_queues(port_arg(argv[2]));
    int pid = parse_id(argv[2]);
    if (strcmp(what, "sockets") == 0 && argc == 3)
        return cmd_sockets(pid);
    if (strcmp(what, "fds") == 0 && argc == 3)
        return cmd_fds(pid);
    if (strcmp(what, "state") == 0 && argc <= 4)
        return cmd_state(pid, argc == 4 ? parse_id(argv[3]) : 0);
    if (strcmp(what, "stat") == 0 && argc <= 4)
        return cmd_stat(pid, argc == 4 ? parse_id(argv[3]) : 0);
    if (strcmp(what, "status") == 0 && argc >= 4)
        return cmd_status(pid, argc - 3, argv + 3);
    if (strcmp(what, "children") == 0 && argc == 3)
        return cmd_children(pid);
    if (strcmp(what, "descendants") == 0 && argc == 3)
        return cmd_descendants(pid);
    if (strcmp(what, "threads") == 0 && argc == 3)
        return cmd_threads(pid);
    if (strcmp(what, "cpu") == 0 && argc == 4)
        return cmd_cpu(pid, argv[3]);
    usage();
}
