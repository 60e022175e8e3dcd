# shellcheck shell=bash
# scripts/lib.sh - the one way this workbook starts a stage, waits for it, drives its clients
# and cleans up. The bats tests (tests/helpers.bash) and the tools (replay, demo, bench, stress)
# source it, so "start a server and talk to it" is defined once.
#
# Needs bash >= 4.4 (checked below), OpenBSD nc, timeout (coreutils) and Linux's /proc and ss.
#   BUILD_DIR   where the stage binaries are (default: build/ at the top of the repo);
#               `make check` points it at the sanitizer build, so the same tests run there.
#   LIB_TMP     folder for servers' and clients' output files (set by the caller).

# bash 4.4: `wait -n`, ${array[-1]} (bench.sh), {fd}> (client_open below).
if [ -z "${BASH_VERSINFO:-}" ] || [ "${BASH_VERSINFO[0]}" -lt 4 ] ||
    { [ "${BASH_VERSINFO[0]}" -eq 4 ] && [ "${BASH_VERSINFO[1]}" -lt 4 ]; }; then
    echo "these scripts need bash 4.4 or newer; this is bash ${BASH_VERSION:-?} (macOS: brew install bash)" >&2
    exit 2
fi

_lib_dir=${BASH_SOURCE[0]%/*}
[ "$_lib_dir" != "${BASH_SOURCE[0]}" ] || _lib_dir=.
LIB_ROOT=$(cd "$_lib_dir/.." && pwd)
unset _lib_dir
BUILD_DIR=${BUILD_DIR:-$LIB_ROOT/build}
LIB_PIDS=() # every process started here, killed by stop_all
LIB_FDS=()  # every client's write end, closed by stop_all
# shellcheck source=supervise.sh
source "$LIB_ROOT/scripts/supervise.sh" # (supervise: Ctrl-C for the long tools)

# require_tools WHO [bats]: check that what drives the stages is here (OpenBSD nc, for its -N;
# timeout; ss), and bats too if asked; otherwise say exactly what to
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
    command -v ss >/dev/null || missing+=(iproute2)
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "$who: missing: ${missing[*]}" >&2
    echo "  install them with:  sudo apt-get install ${missing[*]}" >&2
    echo "  or:                 sudo scripts/install-deps.sh" >&2
    return 1
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
stage_list() {
    awk -v tag="${1:-}" '{ sub(/#.*/, "") } NF { keep = tag == ""
        for (i = 3; i <= NF; i++) if ($i == tag) keep = 1
        if (keep) print $1 }' "$STAGE_LIST"
}

# stage_bin 01-blocking/04-many-clients -> path of its binary
stage_bin() { printf '%s/chapter-03/%s\n' "$BUILD_DIR" "$1"; }

# free_port: a port that nobody uses, below Linux's ephemeral range (so no client takes it),
# and that no other test of this run has taken: each is reserved by a mkdir in LIB_PORTS
# (default: the run's folder, shared by the tests that bats runs at once), which only one of
# two tests asking at the same moment can win. (Outside a test run, nothing is reserved.)
free_port() {
    local port tries dir=${LIB_PORTS:-${BATS_RUN_TMPDIR:-}}
    for ((tries = 0; tries < 200; tries++)); do
        port=$((20000 + RANDOM % 12000))
        if ! port_in_use "$port" && { [ -z "$dir" ] || mkdir "$dir/port.$port" 2>/dev/null; }; then
            echo "$port"
            return 0
        fi
    done
    echo "free_port: no free port found" >&2
    return 1
}

# wait_until SECONDS COMMAND...: run COMMAND every 20 ms until it succeeds; 1 if it has not
# after SECONDS (a decimal: 5, 0.5). The naps are counted, so a loaded machine waits longer,
# never shorter; the clock ends a wait whose COMMAND is slow.
wait_until() {
    local whole=${1%.*} frac=000 naps deadline
    [[ $1 == *.* ]] && frac=${1#*.}000
    naps=$(((10#${whole:-0} * 1000 + 10#${frac:0:3}) / 20))
    deadline=$((SECONDS + 10#${whole:-0} + 2))
    shift
    until "$@"; do
        [ $((naps--)) -gt 0 ] && [ "$SECONDS" -le "$deadline" ] || return 1
        sleep 0.02
    done
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

# untraced_leaks: $ASAN_OPTIONS, plus detect_leaks=0 when LIB_TRACE=1: LeakSanitizer cannot
# work in a process that strace (ptrace) watches, and would report that as an error.
untraced_leaks() {
    if [ "${LIB_TRACE:-0}" = 1 ]; then echo "${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"; else echo "${ASAN_OPTIONS:-}"; fi
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
# SECONDS (default 5). As in the notes: printf 'Hola Mundo\r\n' | nc -N 127.0.0.1 PORT
send_line() {
    printf '%b' "$2" | timeout "${3:-5}" nc -N 127.0.0.1 "$1" 3>&- || true
}

# ask PORT DATA EXPECTED [SECONDS]: a client that sends DATA, waits until it has received
# exactly EXPECTED (printf escapes; at most SECONDS, default 5), then hangs up, and prints
# what it received. For servers that keep a connection open after answering.
ask() {
    local out pid
    out=$(mktemp "$LIB_TMP/ask.XXXXXX")
    printf '%b' "$2" | timeout "${4:-5}" nc -N 127.0.0.1 "$1" >"$out" 2>/dev/null 3>&- &
    pid=$!
    wait_until "${4:-5}" _file_is "$out" "$3" || true
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    cat "$out"
}
# _file_is FILE DATA: FILE holds exactly DATA (printf escapes), NUL bytes included.
_file_is() { cmp -s "$1" <(printf '%b' "$2"); }

# client_open NAME PORT: an interactive client (nc whose input we write to later, like a
# student typing in a terminal); what it receives goes to $LIB_TMP/NAME.out. Returns once
# connect() has returned (nc -v says so on its stderr), so that clients opened one after the
# other connect in that order (the kernel completes a connection before the server accepts it).
client_open() {
    local name=$1 fifo=$LIB_TMP/$1.in fd pid
    rm -f "$fifo"
    mkfifo "$fifo"
    timeout "${CLIENT_TIMEOUT:-30}" nc -v 127.0.0.1 "$2" <"$fifo" >"$LIB_TMP/$name.out" 2>"$LIB_TMP/$name.err" 3>&- &
    pid=$!
    LIB_PIDS+=("$pid")
    printf -v "CLIENT_PID_$name" '%s' "$pid"
    exec {fd}>"$fifo" # (opening the FIFO waits for nc to open its end)
    LIB_FDS+=("$fd")
    printf -v "CLIENT_FD_$name" '%s' "$fd"
    wait_until 5 _said_or_dead "$pid" "$LIB_TMP/$name.err" || true
}
_said_or_dead() { [ -s "$2" ] || _dead "$1"; }

# client_pid NAME: the process of client NAME.
client_pid() { local v=CLIENT_PID_$1; printf '%s' "${!v}"; }

# client_send NAME DATA: type DATA (printf escapes) into client NAME, in ONE write(), as
# `echo -e ... | nc` does (bash's builtin printf writes line by line: "a\r\n\n" would reach
# the server in two pieces, and the two-bytes-at-a-time stages would read it differently).
client_send() {
    local v=CLIENT_FD_$1
    env printf '%b' "$2" >&"${!v}"
}

# client_close NAME: end client NAME's input (nc then stays until the server closes; without
# -N it does not even send FIN: the connection stays open, as in the notes).
client_close() {
    local v=CLIENT_FD_$1 fd
    fd=${!v}
    [ -n "$fd" ] && exec {fd}>&-
    printf -v "CLIENT_FD_$1" '%s' ""
}

# client_kill NAME: the client vanishes (its process is killed; the kernel closes its socket).
client_kill() {
    local pid
    pid=$(client_pid "$1")
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# wait_client_output NAME DATA [SECONDS]: wait until client NAME has received exactly DATA
# (printf escapes, as for client_send).
wait_client_output() { wait_until "${3:-5}" _file_is "$LIB_TMP/$1.out" "$2"; }

# normalize_ports < output: ('127.0.0.1', 56188) -> ('127.0.0.1', PORT), so outputs compare.
normalize_ports() { sed -E "s/\('127\.0\.0\.1', [0-9]+\)/('127.0.0.1', PORT)/g"; }

# wait_output FILE TEXT [SECONDS]: wait until FILE has the line TEXT, in which a client's
# address is written ('127.0.0.1', PORT) as normalize_ports writes it.
wait_output() { wait_until "${3:-5}" _has_line "$1" "$2"; }
_has_line() { normalize_ports <"$1" | grep -qxF -- "$2"; }

# count_lines FILE TEXT: how many lines of FILE are TEXT (addresses normalised).
count_lines() { normalize_ports <"$1" | grep -cxF -- "$2" || true; }

# stop_all: kill everything started here and close every client. Never fails.
stop_all() {
    local fd pid
    for fd in "${LIB_FDS[@]}"; do { exec {fd}>&-; } 2>/dev/null || true; done
    for pid in "${LIB_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${LIB_PIDS[@]}"; do
        wait_until 2 _dead "$pid" || kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    LIB_PIDS=() LIB_FDS=() LIB_TRACERS=()
    return 0
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
    local name=$1 port=$2
    shift 2
    SERVER_OUT=$LIB_TMP/$name.$port.out
    SERVER_ERR=$LIB_TMP/$name.$port.err
    # shellcheck disable=SC2034 # (tests/helpers.bash: its output is looked at from its start)
    MARK=0
    ASAN_OPTIONS=$(untraced_leaks) "$@" "$port" >"$SERVER_OUT" 2>"$SERVER_ERR" 3>&- </dev/null &
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
