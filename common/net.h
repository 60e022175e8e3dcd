/*
 * net.h - the socket set-up every server stage repeats, written once.
 *
 * listen_tcp() is the four steps of the first experiment (socket, SO_REUSEADDR, bind to
 * 127.0.0.1, listen), which the first stages of the chapter spell out one by one.
 */
#ifndef WORKBOOK_NET_H
#define WORKBOOK_NET_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/types.h>

/* A listening TCP socket on 127.0.0.1:port (SO_REUSEADDR set). Dies naming the failed call. */
int listen_tcp(int port);

/* The address 127.0.0.1:port, ready for bind() or connect(). */
struct sockaddr_in loopback_address(int port);

/* Put fd in non-blocking mode (fcntl O_NONBLOCK): calls that would wait fail with EAGAIN. */
void set_nonblocking(int fd);

/* What one accept() gave, for a server that goes on serving its other clients. */
enum accept_result {
    ACCEPT_OK,       /* a new client */
    ACCEPT_RETRY,    /* EINTR (a signal), ECONNABORTED (the client left before we took it), or
                        a network error of that one new connection (accept(2) lists them):
                        just try again */
    ACCEPT_NOBODY,   /* EAGAIN/EWOULDBLOCK: nobody is waiting (a non-blocking listener) */
    ACCEPT_SHORTAGE, /* EMFILE, ENFILE, ENOBUFS, ENOMEM: out of descriptors or memory. Not the
                        client's fault and not fatal: the client waits in the listen queue until
                        another one leaves. Reported on stderr, at most once a second */
};

/* Sort out why accept() failed with err (see above); errno is left as it was. Any other
 * error (EBADF, EINVAL...) is a bug in the server, not a client's doing: it dies naming
 * accept. */
enum accept_result accept_failed(int err);

/* accept() on a non-blocking listener until it gives a client or says why not: ACCEPT_RETRY
 * is retried, so *result is ACCEPT_OK (the descriptor is returned and *address filled),
 * ACCEPT_NOBODY or ACCEPT_SHORTAGE (-1 is returned). The new socket is set non-blocking
 * EXPLICITLY: whether it inherits O_NONBLOCK from the listener differs between systems
 * (Linux: no; some BSDs: yes). */
int accept_nonblocking(int listener, struct sockaddr_in *address, enum accept_result *result);

/* accept() on a BLOCKING listener: waits for the next client and returns its descriptor
 * (*address filled), retrying ACCEPT_RETRY; -1 for ACCEPT_SHORTAGE (reported). Any other
 * failure ends the program naming accept, EAGAIN included: a blocking listener never says
 * "nobody yet", so a non-blocking one handed to a blocking loop stops it, as Python's
 * BlockingIOError does. */
int accept_blocking(int listener, struct sockaddr_in *address);

/* How long to leave the listening socket out of the wait after ACCEPT_SHORTAGE. */
#define ACCEPT_BACKOFF_MS 100

/* The back-off after ACCEPT_SHORTAGE, for loops that wait for readiness: the client stays in
 * the listen queue, so the listening socket stays readable, and a loop that went on watching
 * it would wake at once, fail again and spin at 100% CPU. Returns how many ms the listening
 * socket must still be left out of the wait (0: watch it). */
int accept_backoff_left(void);

/* Raise this process's soft limit on open descriptors (RLIMIT_NOFILE) to its hard limit:
 * each client is one descriptor, and the usual soft limit (1024) would stop a server long
 * before the machine does. Reports a failure on stderr and goes on with the old limit.
 * Returns the limit now in force (at most FD_LIMIT_MAX), which is also made the hard limit:
 * no descriptor of this process reaches it, so a table by descriptor of that size is safe. */
#define FD_LIMIT_MAX (1 << 20)
int raise_fd_limit(void);

/* Send all len bytes on a blocking socket, retrying after EINTR and short writes (Python's
 * sendall). Returns 0, or -1 with errno set (EPIPE when the client has gone away). */
int send_all(int fd, const void *buf, size_t len);

/* The peer's address as Python prints it: ('127.0.0.1', 56188). */
#define ADDRESS_TEXT_MAX 64
void format_address(const struct sockaddr_in *addr, char out[ADDRESS_TEXT_MAX]);

/* Turn a client away at once, for one a server cannot serve (full, or out of reach of its
 * readiness API): a best-effort error line to it, `Cliente WHO rechazado: WHY` on stdout,
 * close(fd). `who` is its format_address(). */
void refuse_client(int fd, const char *who, const char *why);

#endif
