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

/* Send all len bytes on a blocking socket, retrying after EINTR and short writes (Python's
 * sendall). Returns 0, or -1 with errno set (EPIPE when the client has gone away). */
int send_all(int fd, const void *buf, size_t len);

/* The peer's address as Python prints it: ('127.0.0.1', 56188). */
#define ADDRESS_TEXT_MAX 64
void format_address(const struct sockaddr_in *addr, char out[ADDRESS_TEXT_MAX]);

#endif
