/*
 * blocking.h - one client served with BLOCKING calls by a process or a thread of its own,
 * written once.
 *
 * The promises are section 3's (connection.h): lines framed by a line framer (lines.h), at
 * most LINE_MAX_BYTES each, the same messages, the lingering close after a line too long. What
 * differs is that nothing here waits for readiness: recv() waits for THIS client only, and
 * send() waits until the kernel has taken the echo, so there is no output queue: a client
 * that never reads just leaves its own process or thread waiting in send() (back-pressure,
 * for free).
 *
 * Safe to run in many threads at once: each client's state is its own, and a line is printed
 * whole (flockfile), never with another thread's in the middle.
 */
#ifndef WORKBOOK_BLOCKING_H
#define WORKBOOK_BLOCKING_H

#include "lines.h"
#include "net.h"

#include <stdbool.h>

struct blocking_client {
    int fd;
    char who[ADDRESS_TEXT_MAX]; /* ('127.0.0.1', 40068), for the messages */
    bool said_why;              /* a "descartado" line was printed: no "desconectado" after it */
    unsigned long lines;        /* lines echoed to this client */
    struct line_framer in;      /* bytes received, not yet a complete line */
    char in_bytes[LINE_MAX_BYTES];
};

/* Serve c (fd and who set, the rest zero) until it leaves, then say so: `Cliente WHO
 * desconectado`, or why it was dropped. Every line is echoed (and printed unless quiet). The
 * caller closes c->fd. */
void blocking_serve(struct blocking_client *c);

#endif
