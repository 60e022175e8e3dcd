/* self_pipe.c - signals turned into bytes in a pipe (see self_pipe.h). */
#include "self_pipe.h"
#include "net.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#define CAUGHT_MAX 8

static int pipe_ends[2] = {-1, -1}; /* [0]: read by the loop; [1]: written by the handler */
static int caught[CAUGHT_MAX + 1];  /* the signals caught, ending with 0 */

void self_pipe_write(unsigned char byte)
{
    int saved_errno = errno; /* the interrupted code may be about to read errno */
    ssize_t ignored = write(pipe_ends[1], &byte, 1); /* pipe full: a byte already waits */
    (void)ignored;
    errno = saved_errno;
}

/* The signal handler: one write() (async-signal-safe), nothing else. */
static void on_signal(int signal_number)
{
    self_pipe_write((unsigned char)signal_number);
}

int self_pipe_catch(const int *signals)
{
    if (pipe(pipe_ends) == -1)
        die("pipe");
    set_nonblocking(pipe_ends[1]); /* the handler must never block on a full pipe */

    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    /* SA_NOCLDSTOP: no SIGCHLD when a child is only stopped (Ctrl-Z), just when it ends. */
    action.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    for (size_t i = 0; signals[i] != 0; i++) {
        if (i == CAUGHT_MAX)
            die_msg("self_pipe_catch: too many signals");
        if (sigaction(signals[i], &action, NULL) == -1)
            die("sigaction");
        caught[i] = signals[i];
    }
    return pipe_ends[0];
}

void self_pipe_close(void)
{
    close(pipe_ends[0]);
    close(pipe_ends[1]);
    for (size_t i = 0; caught[i] != 0; i++)
        signal(caught[i], SIG_DFL);
}
