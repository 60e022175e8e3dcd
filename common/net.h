/*
 * net.h - the socket set-up every server stage repeats, written once.
 *
 * listen_tcp() is the four steps of the first experiment (socket, SO_REUSEADDR, bind to
 * 127.0.0.1, listen); chapters/chapter-03/01-blocking/01-accept.c spells them out one by one.
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

/* What a failed accept() means for a server that goes on serving its other clients. */
enum accept_failure {
    ACCEPT_RETRY,    /* EINTR (a signal), ECONNABORTED (the client left before we took it), or
                        a network error of that one new connection: just try again */
    ACCEPT_NOBODY,   /* EAGAIN/EWOULDBLOCK: nobody is waiting (a non-blocking listener) */
    ACCEPT_SHORTAGE, /* EMFILE, ENFILE, ENOBUFS, ENOMEM: out of descriptors or memory. Not the
                        client's fault and not fatal: the client waits in the listen queue until
                        another one leaves. Reported on stderr, at most once a second */
};

/* Sort out why accept() failed with err (see above). Any other error (EBADF, EINVAL...) is a
 * bug in the server, not a client's doing: it dies naming accept. */
enum accept_failure accept_failed(int err);

/* Send all len bytes on a blocking socket, retrying after EINTR and short writes (Python's
 * sendall). Returns 0, or -1 with errno set (EPIPE when the client has gone away). */
int send_all(int fd, const void *buf, size_t len);

/* The peer's address as Python prints it: ('127.0.0.1', 56188). */
#define ADDRESS_TEXT_MAX 64
void format_address(const struct sockaddr_in *addr, char out[ADDRESS_TEXT_MAX]);

#endif
