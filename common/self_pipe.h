/*
 * self_pipe.h - signals turned into bytes in a pipe, written once.
 *
 * The SELF-PIPE: a signal handler may call
 * almost nothing (only async-signal-safe functions), so it only write()s the signal's number,
 * one byte, into a pipe; the program waits on the pipe's read end like on any socket (poll(),
 * an io_uring read) and does the real work later, in ordinary code.
 */
#ifndef WORKBOOK_SELF_PIPE_H
#define WORKBOOK_SELF_PIPE_H

/* Catch each signal of `signals` (a list ending with 0) from now on: its handler writes the
 * signal's number into the self-pipe (SA_RESTART: an interrupted write() to stdout or a
 * blocking recv() is resumed). Returns the pipe's read end, left BLOCKING (an io_uring read
 * of a non-blocking pipe would fail with EAGAIN instead of waiting): read it once poll() says
 * it is readable. Dies naming the failed call. Call it once. */
int self_pipe_catch(const int *signals);

/* Write one byte into the self-pipe, as the handler does: also for a thread that ends and
 * wants the loop to notice. Never blocks (a full pipe already has bytes to wake the loop). */
void self_pipe_write(unsigned char byte);

/* In a child process after fork(): close both ends and put back the default action of every
 * signal self_pipe_catch() caught. */
void self_pipe_close(void);

#endif
