/*
 * util.h - what every stage does before and after its lesson.
 *
 * server_init(): ignore SIGPIPE (as Python does), line-buffer stdout, read the port.
 * die()/warn_call(): one clear line on stderr naming the failed call and the reason.
 */
#ifndef WORKBOOK_UTIL_H
#define WORKBOOK_UTIL_H

#include <stdbool.h>

/* Set by server_init(): -q on the command line or QUIET=1 in the environment. Every server
 * accepts -q; what it silences is the line printed for each message, and only where the code
 * that prints one checks `quiet` first: echo_line() (connection.h) does, and so may a stage
 * of its own. Code that never reads `quiet` prints every line whatever -q says (the output
 * is then the lesson). For benchmarks: thousands of clients make a flood of lines. */
extern bool quiet;

/*
 * Prepare a server stage and return its port.
 *   usage: STAGE [-q] [PORT]      port: PORT argument, else $PORT, else 8000
 * Anything that is not a whole number from 1 to 65535 ends the program with a clear message.
 * Also: SIGPIPE is ignored, so writing to a vanished client fails with EPIPE instead of killing
 * the process silently; stdout is line-buffered, so each line shows at once through a pipe.
 */
int server_init(int argc, char **argv);

/* Parse a port number; returns -1 unless text is a whole number from 1 to 65535. */
int parse_port(const char *text);

/* The short name of errno value err ("EAGAIN", "EPIPE", ...): every value the system
 * defines has one ("?" only for a number that is no errno at all). */
const char *errno_name(int err);

/* Print "stage: call: reason (errno N, NAME)" for the current errno and exit(1). */
_Noreturn void die(const char *call);

/* The same line as die() for error err, without exiting: for errors a server survives. */
void warn_call(const char *call, int err);

/* Print "stage: message" on stderr and exit(1), for errors that are not a failed call. */
_Noreturn void die_msg(const char *message);

/* Milliseconds on a clock that never jumps (CLOCK_MONOTONIC), for time-outs. */
long long monotonic_ms(void);

/* Sleep for ms milliseconds (nanosleep, resumed after a signal). */
void sleep_ms(long ms);

#endif
