# shellcheck shell=bash
# scripts/lib.sh - the one way this workbook starts a stage, waits for its port, drives clients
# and cleans up. The bats tests (tests/helpers.bash) and the replay (scripts/replay.sh) both
# source it, so "start a server and talk to it" is defined once.
#
# Needs bash >= 4.4 (checked below), OpenBSD nc, timeout (coreutils) and Linux's /proc/net/tcp (or ss).
#
# Variables:
#   BUILD_DIR   where the stage binaries are (default: build/ at the top of the repo);
#               `make check` points it at the sanitizer build, so the same tests run there.
#   LIB_TMP     folder for servers' and clients' output files (set by the caller).

# bash 4.4: `local -` (the untraced helpers below), `wait -n` (run-tests.sh), ${array[-1]}
# (bench.sh), {fd}> (client_open below).
if [ -z "${BASH_VERSINFO:-}" ] || [ "${BASH_VERSINFO[0]}" -lt 4 ] ||
    { [ "${BASH_VERSINFO[0]}" -eq 4 ] && [ "${BASH_VERSINFO[1]}" -lt 4 ]; }; then
    echo "these scripts need bash 4.4 or newer; this is bash ${BASH_VERSION:-?} (macOS: brew install bash)" >&2
    exit 2
fi

# The top of the repo, as an absolute path without "..": by string operations when this file
# was reached by such a path (every bats test sources it again: no subshell, no dirname for
# each), else by cd.
_lib_file=${BASH_SOURCE[0]}
[[ $_lib_file == /* ]] || _lib_file=$PWD/$_lib_file
_lib_file=${_lib_file//\/.\//\/}
while [[ $_lib_file =~ ^(.*)/([^/]+)/\.\./(.*)$ ]] && [ "${BASH_REMATCH[2]}" != .. ]; do
    _lib_file=${BASH_REMATCH[1]}/${BASH_REMATCH[3]} # (a/b/../c is a/c, as cd and pwd see it)
done
if [[ $_lib_file == /*/scripts/lib.sh && $_lib_file != */../* ]]; then
    LIB_ROOT=${_lib_file%/scripts/lib.sh}
else
    LIB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
fi
unset _lib_file
BUILD_DIR=${BUILD_DIR:-$LIB_ROOT/build}
LIB_PIDS=()     # every process started here, killed by stop_all
LIB_FDS=()      # every client's write end, closed by stop_all

# require_tools WHO [bats]: check that what drives the stages is here (OpenBSD nc, for its -N;
# timeout; Linux's /proc/net/tcp or ss), and bats too if asked; otherwise say exactly what to
# install, on stderr, and return 1. WHO names the caller in the messages.
require_tools() {
    local who=$1 missing=() lib
    if [ "${2:-}" = bats ]; then
        command -v bats >/dev/null || missing+=(bats)
        for lib in bats-support bats-assert; do bats_library_found "$lib" || missing+=("$lib"); done
    fi
    if ! command -v nc >/dev/null; then
        missing+=(netcat-openbsd)
    elif ! nc -h 2>&1 | grep -q OpenBSD; then
        echo "$who: this nc is not OpenBSD netcat (the workbook needs its -N flag)" >&2
        missing+=(netcat-openbsd)
    fi
    command -v timeout >/dev/null || missing+=(coreutils)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "$who: missing: ${missing[*]}" >&2
        echo "  install them with:  sudo apt-get install ${missing[*]}" >&2
        echo "  or:                 sudo scripts/install-deps.sh" >&2
        return 1
    fi
    if [ ! -r /proc/net/tcp ] && ! command -v ss >/dev/null; then
        echo "$who: needs Linux's /proc/net/tcp (or ss) to see listening ports" >&2
        return 1
    fi
}

# bats_library_found NAME: the bats library NAME (bats-support, bats-assert) is where
# bats_load_library looks for it: a folder of $BATS_LIB_PATH (Debian's: /usr/lib/bats).
bats_library_found() {
    local dir dirs
    IFS=: read -ra dirs <<<"${BATS_LIB_PATH:-/usr/lib/bats}"
    for dir in "${dirs[@]}"; do
        [ -f "$dir/$1/load.bash" ] || [ -f "$dir/$1.bash" ] && return 0
    done
    return 1
}

# The chapter's stages, in order, are listed once, in chapters/chapter-03/stages.txt.
STAGE_LIST=${STAGE_LIST:-$LIB_ROOT/chapters/chapter-03/stages.txt}
# stage_list [TAG]: every stage of the list (or those tagged TAG, e.g. bench), one a line.
# (Read by bash itself, not awk: the tests ask for it hundreds of times.)
stage_list() {
    local -; set +T # (untraced: see lib.sh)
    local line words i keep
    while IFS= read -r line || [ -n "$line" ]; do
        read -ra words <<<"${line%%#*}"
        [ ${#words[@]} -gt 0 ] || continue
        keep=1
        if [ -n "${1:-}" ]; then
            keep=0
            for ((i = 2; i < ${#words[@]}; i++)); do [ "${words[i]}" = "$1" ] && keep=1; done
        fi
        [ "$keep" = 0 ] || printf '%s\n' "${words[0]}"
    done <"$STAGE_LIST"
}

# stage_bin 01-blocking/04-many-clients -> path of its binary
stage_bin() { printf '%s/chapter-03/%s\n' "$BUILD_DIR" "$1"; }

# Untraced helpers. bats runs each test with `set -T` and a DEBUG trap that records where it
# is, so that a failure can name its line; inherited by every function the test calls, it costs
# 0.3 ms a command and makes each fork 2.5 times dearer, and these helpers poll and loop. So
# the busiest ones begin with `local -; set +T`: what they call is not traced, and the option
# comes back when they return, so the test's own lines still are and a failure names its line.
# (Off for the whole test, the suite took 60 s of CPU instead of 75, but a failure inside a
# loop named the wrong line, or none.) Outside bats it changes nothing.

# free_port: a port nobody uses, below Linux's ephemeral range (so no client takes it).
free_port() {
    local -; set +T
    local port tries=0
    while [ $tries -lt 200 ]; do
        port=$((${PORT_RANGE_START:-20000} + RANDOM % ${PORT_RANGE_SIZE:-12000}))
        port_in_use "$port" || { echo "$port"; return 0; }
        tries=$((tries + 1))
    done
    echo "free_port: no free port found" >&2
    return 1
}

# wait_until SECONDS COMMAND...: poll COMMAND every 20 ms until it succeeds; 1 on time-out.
# (SECONDS is a decimal such as 5 or 0.5, read without a process: every test polls a lot.)
# Time is the clock's (bash 5's EPOCHREALTIME, in µs once its decimal point is dropped), else
# the naps counted, with whole seconds as a backstop.
wait_until() {
    local -; set +T
    local whole=${1%.*} frac=000
    [[ $1 == *.* ]] && frac=${1#*.}000
    local deadline=$((SECONDS + ${whole:-0} + 1)) limit_us=$(((${whole:-0} * 1000 + 10#${frac:0:3}) * 1000))
    local start=${EPOCHREALTIME//[!0-9]/} waited=0
    shift
    until "$@"; do
        [ -n "$start" ] && waited=$((${EPOCHREALTIME//[!0-9]/} - start))
        [ "$waited" -ge "$limit_us" ] && return 1
        [ "$SECONDS" -gt "$deadline" ] && return 1
        _nap
        [ -n "$start" ] || waited=$((waited + 20000))
    done
}
# _nap: wait 20 ms without starting a process (a run of the tests polls thousands of times):
# read, with a time-out, from a FIFO that nobody writes to, opened for reading and writing
# so that it never reaches its end. Without LIB_TMP to keep the FIFO in: sleep.
_nap() {
    if [ -n "${LIB_TMP:-}" ] && { [ -p "$LIB_TMP/.nap" ] || mkfifo "$LIB_TMP/.nap" 2>/dev/null; }; then
        read -rt 0.02 <>"$LIB_TMP/.nap" || true
    else
        sleep 0.02
    fi
}

# start_server STAGE PORT [ARGS...]: run the stage in the background on PORT and wait until it
# listens. Sets SERVER_PID, SERVER_OUT (its stdout file) and SERVER_ERR (its stderr file).
# Returns 1, with the server's stderr on ours, if it exits or does not listen within 5 s.
start_server() {
    local stage=$1 port=$2
    shift 2
    start_program "${stage//\//_}" "$port" "$(stage_bin "$stage")" "$@"
}
_listening_or_dead() { port_listening "$1" || _dead "$2"; }

# run_server STAGE PORT [ARGS...]: like start_server, for a stage expected to exit by itself
# before it listens (bad port, port in use, EAGAIN). Sets SERVER_OUT, SERVER_ERR, SERVER_STATUS.
# shellcheck disable=SC2034 # SERVER_STATUS is for the caller to read
run_server() {
    local stage=$1 port=$2
    shift 2
    local name=${stage//\//_}
    SERVER_OUT=$LIB_TMP/$name.run.out
    SERVER_ERR=$LIB_TMP/$name.run.err
    SERVER_STATUS=0
    local tracer=()
    if [ "${LIB_TRACE:-0}" = 1 ]; then # see trace_server
        tracer=(strace -f -qq -s 64 -o "$LIB_TMP/trace.$name")
        LIB_TRACERS+=("0:$LIB_TMP/trace.$name")
    fi
    ASAN_OPTIONS=$(untraced_leaks) timeout 5 "${tracer[@]}" "$(stage_bin "$stage")" "$@" "$port" \
        >"$SERVER_OUT" 2>"$SERVER_ERR" 3>&- </dev/null || SERVER_STATUS=$?
}

# untraced_leaks: $ASAN_OPTIONS as it is, plus detect_leaks=0 when LIB_TRACE=1. LeakSanitizer
# cannot work in a process that strace (ptrace) is watching: at exit it would write a "fatal
# error" report instead of a leak check, which make check counts as a failure. (The same stages
# are checked for leaks untraced by the rest of the suite.)
untraced_leaks() {
    if [ "${LIB_TRACE:-0}" = 1 ]; then
        printf '%s\n' "${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
    else
        printf '%s\n' "${ASAN_OPTIONS:-}"
    fi
}

# wait_exit PID [SECONDS]: wait for a started process to end; sets EXIT_STATUS. 1 on time-out.
# shellcheck disable=SC2034 # EXIT_STATUS is for the caller to read
# On a time-out it says on stderr what the process is doing (a failing test shows it).
wait_exit() {
    local stat wchan=""
    if ! wait_until "${2:-5}" _dead "$1"; then
        proc_stat stat "$1" || true
        slurp wchan "/proc/$1/wchan" || true
        echo "wait_exit: process $1 has not ended after ${2:-5} s: state ${stat[0]:-?}, in kernel function ${wchan:-?}" >&2
        return 1
    fi
    EXIT_STATUS=0
    wait "$1" 2>/dev/null || EXIT_STATUS=$?
}
# _dead PID: PID has ended, whether its parent has reaped it yet or not. (kill -0 succeeds on a
# zombie: a child that has exited stays one until this shell's SIGCHLD handler reaps it.)
_dead() {
    local stat
    kill -0 "$1" 2>/dev/null || return 0
    proc_stat stat "$1" || return 0
    [ "${stat[0]:-Z}" = Z ]
}
# alive PID: PID is still running (not ended, not a zombie): what a test asserts of a stalled
# server, and what a loop waits on.
alive() { ! _dead "$1"; }

# send_line PORT DATA [SECONDS]: one client that sends DATA (printf escapes: \r \n \x00 ...),
# closes its sending side, prints what it receives until the server closes, and gives up after
# SECONDS (default 5). As in the documents: printf 'Hola Mundo\r\n' | nc -N 127.0.0.1 PORT
send_line() {
    local -; set +T
    printf '%b' "$2" | timeout "${3:-5}" nc -N 127.0.0.1 "$1" 3>&- || true
}

# ask PORT DATA EXPECTED [SECONDS]: a client that sends DATA, waits until it has received
# exactly EXPECTED (printf escapes; at most SECONDS, default 5), then hangs up, and prints
# what it received. For servers that keep a connection open after answering (send_line would
# wait for them to close it until its time-out).
ask() {
    local -; set +T
    local out pid
    out=$(mktemp "$LIB_TMP/ask.XXXXXX")
    printf '%b' "$2" | timeout "${4:-5}" nc -N 127.0.0.1 "$1" >"$out" 2>/dev/null 3>&- &
    pid=$!
    wait_until "${4:-5}" _file_is "$out" "$3" || true
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    cat "$out"
}
# _file_is FILE DATA: FILE holds exactly DATA (printf escapes). Asked at every poll, so in bash
# itself, without a process; but a bash string ends at a NUL byte, so where DATA has one (\0,
# \x0...) cmp compares the bytes. (read -d '' succeeds only if it met a NUL: then FILE has a
# byte that DATA has not.)
_file_is() {
    if [[ $2 == *'\0'* || $2 == *'\x0'* ]]; then
        cmp -s "$1" <(printf '%b' "$2")
        return
    fi
    local got want
    printf -v want '%b' "$2"
    { IFS= read -r -d '' got <"$1"; } 2>/dev/null && return 1
    [ "$got" = "$want" ]
}

# client_open NAME PORT: an interactive client (nc whose input we write to later, like a
# student typing in a terminal). Its output goes to $LIB_TMP/NAME.out. Returns once its
# connection is established (the kernel completes it even if the server has not accepted it
# yet: see the backlog), so that clients opened one after the other connect in that order.
# (nc -v says "Connection to ... succeeded!" on its stderr once connect() has returned: a
# file to look at, where asking the kernel's socket table took four processes a look.)
client_open() {
    local -; set +T
    local name=$1 port=$2 fifo=$LIB_TMP/$1.in fd pid
    rm -f "$fifo"
    mkfifo "$fifo"
    timeout "${CLIENT_TIMEOUT:-30}" nc -v 127.0.0.1 "$port" <"$fifo" >"$LIB_TMP/$name.out" 2>"$LIB_TMP/$name.err" 3>&- &
    pid=$!
    LIB_PIDS+=("$pid")
    printf -v "CLIENT_PID_$name" '%s' "$pid"
    exec {fd}>"$fifo" # opening the fifo waits for nc to open its end
    LIB_FDS+=("$fd")
    printf -v "CLIENT_FD_$name" '%s' "$fd"
    wait_until 5 _said_or_dead "$pid" "$LIB_TMP/$name.err" || true
}
# _said_or_dead PID FILE: nc has written to FILE (that it connected, or why not), or PID ended.
_said_or_dead() { [ -s "$2" ] || _dead "$1"; }

# client_connected NAME: the client's connection is up (nc still running).
client_pid() { local v=CLIENT_PID_$1; printf '%s' "${!v}"; }

# client_send NAME DATA: type DATA (printf escapes) into client NAME, in ONE write(), as
# `echo -e ... | nc` does (bash's builtin printf writes line by line: "a\r\n\n" would reach
# the server in two pieces, and the two-bytes-at-a-time stages would read it differently).
client_send() {
    local v=CLIENT_FD_$1
    env printf '%b' "$2" >&"${!v}"
}

# client_close NAME: end client NAME's input (nc then stays until the server closes; without
# -N it does not even send FIN: the connection stays open, as in the documents).
client_close() {
    local v=CLIENT_FD_$1 fd
    fd=${!v}
    [ -n "$fd" ] && exec {fd}>&-
    printf -v "CLIENT_FD_$1" '%s' ""
}

# client_kill NAME: the client vanishes (its process is killed; the kernel closes its socket).
client_kill() {
    local -; set +T # (untraced: see lib.sh)
    local pid
    pid=$(client_pid "$1")
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# client_output NAME: everything client NAME has received so far.
client_output() { cat "$LIB_TMP/$1.out"; }

# wait_output FILE TEXT [SECONDS]: wait until FILE contains the line TEXT (a fixed string, in
# which a client's address is written ('127.0.0.1', PORT), as normalize_ports prints it).
wait_output() { wait_until "${3:-5}" _has_line "$1" "$2"; }
_has_line() { line_regex "$2" && grep -qxE -- "$LINE_REGEX" "$1"; }

# count_lines FILE TEXT: how many lines of FILE are TEXT (addresses normalised).
count_lines() { line_regex "$2" && grep -cxE -- "$LINE_REGEX" "$1" || true; }

# wait_client_output NAME DATA [SECONDS]: wait until client NAME has received exactly DATA
# (printf escapes, as for client_send).
wait_client_output() { wait_until "${3:-5}" _client_has "$1" "$2"; }
_client_has() { _file_is "$LIB_TMP/$1.out" "$2"; }

# normalize_ports < output: ('127.0.0.1', 56188) -> ('127.0.0.1', PORT), so outputs compare.
# normalize_port_in VAR: the same, in the variable VAR. (In bash: a test asks after each step.)
normalize_ports() {
    local line
    while IFS= read -r line || [ -n "$line" ]; do
        normalize_port_in line
        printf '%s\n' "$line"
    done
}
normalize_port_in() {
    local -n _text=$1
    while [[ $_text =~ ^(.*)\(\'127\.0\.0\.1\',\ [0-9]+\)(.*)$ ]]; do
        _text="${BASH_REMATCH[1]}('127.0.0.1', PORT)${BASH_REMATCH[2]}"
    done
}
# line_regex TEXT: sets LINE_REGEX, an extended regular expression for the line TEXT in which
# ('127.0.0.1', PORT) stands for any port: grep -xE "$LINE_REGEX" FILE is normalize_ports <FILE
# | grep -xF TEXT, in one process instead of two (the polls above ask it many times).
line_regex() {
    local text=$1 c
    for c in '\' . '[' ']' '*' '^' '$' '(' ')' + '?' '{' '}' '|'; do text=${text//"$c"/"\\$c"}; done
    LINE_REGEX=${text//"\('127\.0\.0\.1', PORT\)"/"\('127\.0\.0\.1', [0-9]+\)"}
}

# stop_all: kill everything started here and close every client. Never fails.
stop_all() {
    local -; set +T
    local fd pid
    for fd in "${LIB_FDS[@]}"; do { exec {fd}>&-; } 2>/dev/null || true; done
    for pid in "${LIB_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${LIB_PIDS[@]}"; do
        wait_until 2 _dead "$pid" || kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    LIB_PIDS=()
    LIB_FDS=()
    LIB_TRACERS=()
    return 0
}

# supervise MESSAGE SCRIPT [ARGS...]: called near the top of a long script (the replay, the
# benchmark, the stress run), it runs the rest of SCRIPT in a child, "the worker", and only
# waits for it here; in the worker it returns at once and the script goes on.
# Why: bash runs a signal's trap at the next safe point, and that can be in the middle of
# parsing a $(...): then the trap's own text fails to parse ("unexpected EOF while looking for
# matching `)'") and the signal is lost, so Ctrl-C sometimes did nothing. This process runs
# nothing but `wait`, so its traps always run; the worker, a background job of a script,
# ignores Ctrl-C (so do the programs it starts). On Ctrl-C or SIGTERM the supervisor freezes
# the worker, stops it and every process under it (servers, clients, timeouts), prints MESSAGE
# and ends by that same signal (status 130 or 143). It makes LIB_TMP for the worker and
# removes it at the end.
supervise() {
    [ -n "${LIB_WORKER:-}" ] && return 0
    local message=$1 script=$LIB_ROOT/scripts/${2##*/} # (the caller may have changed folder)
    shift 2
    LIB_TMP=$(mktemp -d)
    export LIB_TMP
    trap 'rm -rf "$LIB_TMP"' EXIT
    LIB_WORKER=1 bash "$script" "$@" <&0 & # <&0: keep the terminal as its input (for Enter)
    _LIB_WORKER_PID=$!
    _LIB_MESSAGE=$message
    trap '_stop_worker INT' INT
    trap '_stop_worker TERM' TERM
    wait "$_LIB_WORKER_PID"
    exit $?
}
_stop_worker() {
    trap '' INT TERM
    local pids frozen=""
    # Freeze the worker and everything under it, again until no new process shows up: a
    # subshell of the worker keeps running while we read the process table, and may start a
    # server just after the reading (seen on a loaded machine: a server left running).
    kill -STOP "$_LIB_WORKER_PID" 2>/dev/null
    for _ in 1 2 3 4 5; do
        pids=$(_descendants "$_LIB_WORKER_PID" | sort -n)
        [ "$pids" = "$frozen" ] && break
        # shellcheck disable=SC2086 # one word per pid
        [ -n "$pids" ] && kill -STOP $pids 2>/dev/null
        frozen=$pids
    done
    kill -KILL "$_LIB_WORKER_PID" 2>/dev/null
    # TERM, then CONT: a stopped process that handles TERM (a trap, a stage that shuts down
    # gracefully) only runs its handler once it is let go.
    # shellcheck disable=SC2086 # one word per pid
    [ -n "$pids" ] && { kill -TERM $pids 2>/dev/null; kill -CONT $pids 2>/dev/null; }
    for pid in $pids; do
        wait_until 2 _dead "$pid" || kill -KILL "$pid" 2>/dev/null
    done
    wait "$_LIB_WORKER_PID" 2>/dev/null
    printf '\n%s\n' "$_LIB_MESSAGE"
    rm -rf "$LIB_TMP"
    # End by the same signal, not by a plain exit: a shell or make that ran us then knows that
    # Ctrl-C was pressed, and stops too (exit status 130 or 143 to whoever waits for us).
    trap - "$1" EXIT
    kill -s "$1" "$$"
    exit 1 # (not reached)
}
# process_start PID: when PID started (clock ticks after boot, /proc/PID/stat field 22); with
# the pid, it names one process for good, since pids are reused. Empty if PID is gone.
process_start() {
    local f
    proc_stat f "$1" || return 0
    echo "${f[19]}"
}
# start_program NAME PORT COMMAND...: run any server command in the background with PORT as its
# last argument, output in $LIB_TMP/NAME.PORT.{out,err}, and wait until it listens (at most
# LIB_START_SECONDS, default 5 s: valgrind asks for more). start_server uses it for the
# stages; the benchmark, for its Python peers. Sets SERVER_PID, SERVER_OUT, SERVER_ERR;
# returns 1, with the server's stderr on ours, if it exits or does not listen in time.
start_program() {
    local -; set +T
    local name=$1 port=$2
    shift 2
    SERVER_OUT=$LIB_TMP/$name.$port.out
    SERVER_ERR=$LIB_TMP/$name.$port.err
    # (a traced sanitizer build must not run LeakSanitizer at exit: it cannot work under
    # ptrace, and says so in a report that would fail make check; see untraced_leaks)
    if [ "${LIB_TRACE:-0}" = 1 ]; then
        ASAN_OPTIONS=$(untraced_leaks) "$@" "$port" >"$SERVER_OUT" 2>"$SERVER_ERR" 3>&- </dev/null &
    else
        "$@" "$port" >"$SERVER_OUT" 2>"$SERVER_ERR" 3>&- </dev/null &
    fi
    SERVER_PID=$!
    LIB_PIDS+=("$SERVER_PID")
    if ! wait_until "${LIB_START_SECONDS:-5}" _listening_or_dead "$port" "$SERVER_PID" || _dead "$SERVER_PID"; then
        echo "$name did not start listening on port $port:" >&2
        cat "$SERVER_ERR" >&2
        return 1
    fi
    # LIB_TRACE=1 (the replay's TRACE=1): strace records its system calls from now on
    if [ "${LIB_TRACE:-0}" = 1 ]; then trace_server "$SERVER_PID" || true; fi
}

# stop_server: stop the last server started (SERVER_PID) and wait for it. Never fails.
stop_server() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait_until 2 _dead "$SERVER_PID" || kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
}

# sanitizer_verdict WHO WHAT REPORTS STATUS: after a run of the suite against a sanitized
# build (make check, make check-tsan), which ended with STATUS: print the head of every report
# the sanitizer WHAT (e.g. ThreadSanitizer) wrote in the folder REPORTS, and fail if there is
# any, or if a test failed. WHO names the caller in the messages.
sanitizer_verdict() {
    local who=$1 what=$2 reports=$3 status=$4 report found=()
    for report in "$reports"/*; do [ -e "$report" ] && found+=("$report"); done
    if [ ${#found[@]} -gt 0 ]; then
        for report in "${found[@]}"; do
            echo "=== $report"
            head -n 60 "$report"
        done
        echo "$who: FAILED: ${#found[@]} $what report(s) in $reports"
        return 1
    fi
    if [ "$status" -ne 0 ]; then
        echo "$who: FAILED: failing tests (no $what report)"
        return 1
    fi
}

# What the kernel knows (ports, queues, CPU, processes), asked of the probe: scripts/kernel.sh.
# The replay's TRACE=1 (strace, condensed): scripts/trace.sh.
source "$LIB_ROOT/scripts/kernel.sh"
source "$LIB_ROOT/scripts/trace.sh"
