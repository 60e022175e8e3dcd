/*
 * tests/unit/probe.c - unit tests of scripts/tools/probe.c's parsers, on texts written here.
 *
 * tests/probe.bats drives the probe against real sockets and processes; some of what it
 * parses only varies from machine to machine (an IPv6 address in /proc/net/tcp6, a
 * descriptor that is not a socket, a register holding -1): those texts are written here and
 * given to the probe's own functions. The probe is included whole, its main() renamed.
 *
 * Output: one TAP line per check, then "1..N"; exit status 1 if any check failed. The probe's
 * own output goes to a temporary file, read back by the checks. Run by tests/common.bats; by
 * hand: build/tests/unit/probe
 */
/* (the functions under test are static: the file itself is included) */
#define main probe_main
#include "../../scripts/tools/probe.c" // NOLINT(bugprone-suspicious-include)
#undef main

static FILE *tap;
static int checks, failures;

static void check(bool ok, const char *what)
{
    checks++;
    if (!ok)
        failures++;
    fprintf(tap, "%sok %d - %s\n", ok ? "" : "not ", checks, what);
}

/* probe_main(ARGS...) with stdout into a file; its output (up to size) into out, its status. */
static int run_probe(char *out, size_t size, int argc, char **argv)
{
    char path[] = "/tmp/probe-unit-XXXXXX";
    int fd = mkstemp(path);
    if (fd == -1)
        die("mkstemp");
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    if (saved == -1 || dup2(fd, STDOUT_FILENO) == -1)
        die("dup2");
    int status = probe_main(argc, argv);
    fflush(stdout);
    if (dup2(saved, STDOUT_FILENO) == -1)
        die("dup2");
    close(saved);
    close(fd);
    if (read_whole(path, out, size) < 0)
        die("read");
    unlink(path);
    return status;
}

int main(void)
{
    int out = dup(STDOUT_FILENO);
    if (out == -1 || (tap = fdopen(out, "w")) == NULL)
        die("fdopen");
    setvbuf(tap, NULL, _IOLBF, 0);

    /* socket_inode: "socket:[INODE]" and nothing else */
    check(socket_inode("socket:[7330427]") == 7330427, "socket:[N] gives N");
    check(socket_inode("pipe:[7330422]") == 0, "a pipe is no socket");
    check(socket_inode("socket:[12") == 0, "socket:[ without its ] is refused");
    check(socket_inode("socket:[]") == 0, "socket:[] (no digits) is refused");
    check(socket_inode("socket:[4294967296]") == 0, "an inode past 32 bits is refused");
    check(socket_inode("/tmp/socket:[1]") == 0, "a path that merely holds socket:[ is no socket");

    /* status_value: KEY's first word, KEY matched whole */
    const char *status = "Name:\t02-eagain-loop\nVmRSSX:\t9 kB\nVmRSS:\t    1416 kB\nThreads:\t1\n";
    char value[16];
    check(status_value(status, "VmRSS", value, sizeof value) && strcmp(value, "1416") == 0,
          "VmRSS: its number, without the spaces before it or the unit after it");
    check(status_value(status, "Name", value, sizeof value) && strcmp(value, "02-eagain-loop") == 0,
          "the first line is found too");
    check(!status_value(status, "Vm", value, sizeof value), "a key is not a prefix of another");
    check(!status_value(status, "SigIgn", value, sizeof value), "a key that is absent: false");
    check(status_value(status, "Threads", value, sizeof value) && strcmp(value, "1") == 0,
          "the last line");
    check(status_value(status, "Name", value, 4) && strcmp(value, "02-") == 0,
          "a value longer than the room for it is cut, and ends in NUL");

    /* parse_proc_address: /proc/net/tcp's words as the kernel holds them */
    uint32_t addr[4] = {0};
    uint16_t port = 0;
    char text[64];
    parse_proc_address("0100007F:1F40", AF_INET, addr, &port);
    format_address(AF_INET, addr, port, text, sizeof text);
    check(strcmp(text, "127.0.0.1:8000") == 0, "0100007F:1F40 is 127.0.0.1:8000");
    parse_proc_address("00000000000000000000000001000000:D431", AF_INET6, addr, &port);
    format_address(AF_INET6, addr, port, text, sizeof text);
    check(strcmp(text, "[::1]:54321") == 0, "an IPv6 loopback address and its port");

    /* as_int_ms: a register as a C int of milliseconds */
    check(as_int_ms(1000) == 1000, "1000 ms");
    check(as_int_ms(0xffffffffULL) == -1, "0xffffffff is -1: no time-out");
    check(as_int_ms(0xffffffffffffffffULL) == -1, "a 64-bit -1 is -1 too");

    /* names */
    check(strcmp(tcp_state_name(10), "LISTEN") == 0 && strcmp(tcp_state_name(1), "ESTAB") == 0,
          "TCP states have ss's names");
    check(strcmp(tcp_state_name(99), "?") == 0 && strcmp(tcp_state_name(-1), "?") == 0,
          "a state out of range is ?");
    const struct syscall_name *call = syscall_of(SYS_recvfrom);
    check(call != NULL && strcmp(call->name, "recvfrom") == 0 && call->fd_first,
          "recvfrom is named, and its first argument is a descriptor");
    call = syscall_of(SYS_pselect6);
    check(call != NULL && !call->fd_first, "pselect6's first argument is no descriptor");
    check(syscall_of(-5) == NULL, "an unknown number has no name");

    /* this very process, through the command line */
    char buf[4096], pid_text[16];
    snprintf(pid_text, sizeof pid_text, "%d", (int)getpid());
    char *state_args[] = {"probe", "state", pid_text, NULL};
    check(run_probe(buf, sizeof buf, 3, state_args) == 0 && strcmp(buf, "state=R ended=0\n") == 0,
          "probe state: this process is running");
    char *status_args[] = {"probe", "status", pid_text, "Threads", "TracerPid", NULL};
    int st = run_probe(buf, sizeof buf, 5, status_args);
    check(st == 0 && strncmp(buf, "Threads=1 TracerPid=", 20) == 0,
          "probe status: two keys, one line");
    char *fds_args[] = {"probe", "fds", pid_text, NULL};
    check(run_probe(buf, sizeof buf, 3, fds_args) == 0 && strncmp(buf, "fd=0 target=", 12) == 0,
          "probe fds: descriptor 0 first");
    char *sys_args[] = {"probe", "syscalls", NULL};
    check(run_probe(buf, sizeof buf, 2, sys_args) == 0 && strstr(buf, "name=accept4 nr=") != NULL,
          "probe syscalls: accept4 is there");

    fprintf(tap, "1..%d\n", checks);
    return failures ? 1 : 0;
}
