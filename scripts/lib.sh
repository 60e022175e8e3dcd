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

# The kernel's table of TCP sockets, asked two ways: ss (iproute2), which asks through netlink
# with the filter applied inside the kernel, else /proc/net/tcp, which the kernel writes out
# as text, every socket a line. After the many-client tests that table holds 10,000 or more
# TIME_WAIT rows, and the tests ask it hundreds of times: ss costs half as much there. (-4:
# the stages and their clients use 127.0.0.1 only; IPv6 would be a second walk. Only
# port_in_use looks at both, since any socket on the port would make bind() fail.)
HAVE_SS=0
command -v ss >/dev/null && HAVE_SS=1

# port_in_use PORT: something on this machine uses local port PORT (any state).
port_in_use() {
    if [ "$HAVE_SS" = 1 ]; then
        [ -n "$(ss -Htan "( sport = :$1 )" 2>/dev/null)" ]
    else
        # "  12: 0100007F:1F40 ..." : the local port is the 4 hex digits after the address.
        local hex
        printf -v hex '%04X' "$1"
        grep -qE "^ *[0-9]+: [0-9A-F]+:$hex " /proc/net/tcp /proc/net/tcp6 2>/dev/null
    fi
}

# port_listening PORT: a socket is listening on PORT. Reads the kernel's table instead of
# connecting (a test connection would use up the accept() of a one-client stage). Every
# server started is polled with it: read by bash itself, no process, and only the top of
# /proc/net/tcp, where the kernel writes its listening sockets before any other (state 0A:
# past them, the answer is no). Without /proc: ss.
port_listening() {
    local -; set +T # (untraced: see lib.sh)
    if [ -r /proc/net/tcp ]; then
        local hex addr state
        printf -v hex ':%04X' "$1"
        {
            read -r _ # the header
            while read -r _ addr _ state _; do
                [ "$state" = 0A ] || return 1
                [ "${addr#*:}" = "${hex#:}" ] && return 0
            done
        } </proc/net/tcp
        return 1
    fi
    [ -n "$(ss -4Hltn "( sport = :$1 )" 2>/dev/null)" ]
}

# server_queues PORT: one line "RECV-Q SEND-Q" (bytes) for each established connection whose
# local port is PORT, i.e. each client of the server on PORT, accepted or still in its accept
# queue: what the kernel has received and the server not yet read, and what the server has
# sent and the client not yet acknowledged. Nothing where neither ss nor /proc/net/tcp is.
server_queues() {
    if [ "$HAVE_SS" = 1 ]; then
        ss -4Htn state established "( sport = :$1 )" 2>/dev/null | awk '{ print $1, $2 }'
    elif [ -r /proc/net/tcp ]; then
        # state 01 = ESTABLISHED; tx_queue:rx_queue in hexadecimal
        awk -v p="$(printf '%04X' "$1")" '
            function hex(s,   i, n) { for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789ABCDEF", substr(s, i, 1)) - 1; return n }
            $4 == "01" && substr($2, length($2) - 3) == p { split($5, q, ":"); print hex(q[2]), hex(q[1]) }' /proc/net/tcp
    fi
}

# connections_to PORT: how many connections to PORT the kernel has established (accepted or
# still waiting in the backlog).
connections_to() { server_queues "$1" | wc -l; }

# queued_at_server PORT BYTES: a connection to the server on PORT has exactly BYTES received
# by the kernel and not yet read by the server (its Recv-Q): what a stalled server leaves
# unread, which the tests and the replay wait for.
queued_at_server() {
    server_queues "$1" | awk -v n="$2" '$1 == n { found = 1 } END { exit !found }'
}

# recv_queue PORT / send_queue PORT: the most bytes waiting on one client connection of the
# server on PORT: received and not yet read by the server (how far a client is ignored), or
# sent and not yet taken by the client (how far replies pile up for a client that does not
# read). 0 when there is none.
recv_queue() { server_queues "$1" | awk '$1 > most { most = $1 } END { print most + 0 }'; }
send_queue() { server_queues "$1" | awk '$2 > most { most = $2 } END { print most + 0 }'; }

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

# cpu_percent PID SECONDS: the share of one core PID used over the next SECONDS (integer %).
cpu_percent() {
    local pid=$1 secs=$2 hz before after
    hz=$(getconf CLK_TCK)
    before=$(cpu_ticks "$pid") || return 1
    sleep "$secs"
    after=$(cpu_ticks "$pid") || return 1
    awk -v a="$before" -v b="$after" -v hz="$hz" -v s="$secs" \
        'BEGIN { printf "%d\n", (b - a) * 100 / hz / s }'
}
# cpu_got_wanted PID SECONDS: three integers over the next SECONDS: the % of one core PID got
# (the time it ran), the % it wanted (that, plus the time it was ready to run and waited for
# a core), from /proc/PID/schedstat, and how many times it went to sleep (its voluntary context
# switches, /proc/PID/status). A busy loop wants about 100 however loaded the machine is, even
# when it gets much less, and never sleeps; a server asleep in a system call wants about 0.
cpu_got_wanted() {
    local -; set +T # (untraced: see lib.sh)
    local ran waited t0 ran2 waited2 t1 ns sleeps sleeps2
    # The clock is read with each sample, by bash itself (EPOCHREALTIME, µs), not by a `date`
    # process started after it, which would stretch the interval by its own start-up.
    proc_field sleeps "$1" voluntary_ctxt_switches || return 1
    read -r ran waited _ 2>/dev/null <"/proc/$1/schedstat" || return 1
    t0=${EPOCHREALTIME//[!0-9]/}
    [ -n "$t0" ] || t0=$(($(date +%s%N) / 1000)) # (bash before 5)
    sleep "$2"
    read -r ran2 waited2 _ 2>/dev/null <"/proc/$1/schedstat" || return 1
    t1=${EPOCHREALTIME//[!0-9]/}
    [ -n "$t1" ] || t1=$(($(date +%s%N) / 1000)) # (bash before 5)
    proc_field sleeps2 "$1" voluntary_ctxt_switches || return 1
    ns=$(((t1 - t0) * 1000))
    echo "$(((ran2 - ran) * 100 / ns)) $(((ran2 + waited2 - ran - waited) * 100 / ns)) $((sleeps2 - sleeps))"
}
# busy_looping PID SECONDS: PID behaves as a busy loop over the next SECONDS. It wants a core
# (80% or more), or it never went to sleep and wants at least half of one; a sleeping server
# wants ~0. Sets CPU_GOT, CPU_WANTED, CPU_SLEPT.
# Why "wanted" alone is not enough on a crowded machine: the kernel adds a wait in the run
# queue to schedstat's second number only when the wait ends and the task gets a core. A
# sample taken in the middle of a long wait misses the part already waited, and one taken just
# after a wait counts time from before the window. (Seen 2026-12-02 20:09 UTC, AMD VM, load
# 7.8: a nice-19 busy loop beside 3 spinners, schedstat read every 3 ms: both numbers frozen for
# up to 458 ms, then "waited" jumped by the whole wait at once.) The demo's loop read 79% once
# and 131% once in loaded runs. The count of sleeps has no such error: a busy loop makes no
# voluntary switch at all.
# shellcheck disable=SC2034 # CPU_GOT is for the caller to read
busy_looping() {
    read -r CPU_GOT CPU_WANTED CPU_SLEPT <<<"$(cpu_got_wanted "$1" "$2")"
    [ -n "$CPU_SLEPT" ] || return 1
    [ "$CPU_WANTED" -ge 80 ] || { [ "$CPU_SLEPT" -eq 0 ] && [ "$CPU_WANTED" -ge 50 ]; }
}
# cpu_ticks PID: utime + stime of PID, in clock ticks. Returns 1 once PID has ended.
cpu_ticks() {
    local f
    proc_stat f "$1" || return 1
    echo $((f[11] + f[12]))
}

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
# _descendants PID: every process under PID: children, their children...
_descendants() {
    local -; set +T # (untraced: see lib.sh)
    _process_table | awk -v root="$1" '
        { parent[$1] = $2 }
        END {
            mark[root] = 1
            do {
                grew = 0
                for (p in parent)
                    if (!(p in mark) && (parent[p] in mark)) { mark[p] = 1; grew = 1 }
            } while (grew)
            for (p in mark) if (p != root) print p
        }'
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

# --- seeing the kernel (scripts/peek.sh, TRACE=1 in the replay) ---------------------------

# load_syscall_names: SYSCALL_NAME_OF[NR] and SYSCALL_NUMBER_OF[NAME] for this machine. The
# kernel reports calls by number (/proc/PID/syscall, perf's raw_syscalls); the C library's
# headers have the table of this machine's architecture: ask the preprocessor (peek.sh and
# the replay use it; x86-64, arm64... alike).
declare -gA SYSCALL_NAME_OF=() SYSCALL_NUMBER_OF=() # (-g: bats sources this file inside a function)
# shellcheck disable=SC2034 # SYSCALL_NUMBER_OF is read by peek.sh
load_syscall_names() {
    local line nr name
    while read -r _ name nr; do
        name=${name#__NR_}
        [[ $nr =~ ^[0-9]+$ ]] || continue
        SYSCALL_NAME_OF[$nr]=$name
        SYSCALL_NUMBER_OF[$name]=$nr
    done < <(printf '#include <sys/syscall.h>\n' | cpp -dM 2>/dev/null | grep '^#define __NR_')
    if [ ${#SYSCALL_NAME_OF[@]} -eq 0 ] && [ "$(uname -m)" = x86_64 ]; then
        # no C preprocessor: the calls of this chapter's servers, x86_64 numbers
        for line in 0:read 1:write 3:close 7:poll 20:writev 23:select 35:nanosleep 43:accept \
            44:sendto 45:recvfrom 46:sendmsg 47:recvmsg 48:shutdown 72:fcntl 202:futex \
            230:clock_nanosleep 232:epoll_wait 233:epoll_ctl 270:pselect6 271:ppoll \
            281:epoll_pwait 288:accept4 426:io_uring_enter 441:epoll_pwait2; do
            SYSCALL_NAME_OF[${line%%:*}]=${line#*:}
            SYSCALL_NUMBER_OF[${line#*:}]=${line%%:*}
        done
    fi
}
# syscall_name NR: the name of call NR (after load_syscall_names), else "syscall NR".
syscall_name() { printf '%s' "${SYSCALL_NAME_OF[$1]:-syscall $1}"; }

# client_port NAME: the local port of client NAME's connection, the P that the server prints
# as ('127.0.0.1', P): found from its nc's socket inode in /proc/net/tcp. Empty if unknown.
client_port() {
    local pid child inode hex
    pid=$(client_pid "$1")
    for child in $(cat "/proc/$pid/task/$pid/children" 2>/dev/null); do
        for inode in $(socket_inodes "$child"); do
            hex=$(awk -v i="$inode" '$10 == i { split($2, a, ":"); print a[2]; exit }' /proc/net/tcp)
            [ -n "$hex" ] && echo $((16#$hex)) && return
        done
    done
}

# slurp VAR FILE: VAR = the text of FILE without its last newlines, as $(cat FILE) gives it,
# read by bash itself (a /proc file is read many times a look: no process for each). Returns 1,
# VAR empty, if FILE cannot be opened (a process that has ended).
slurp() {
    local -n _slurped=$1
    local _fd
    _slurped=""
    { exec {_fd}<"$2"; } 2>/dev/null || return 1
    # (1 at the end of the file: always; an error, ESRCH, if the process ends as it is read)
    IFS= read -r -d '' -u "$_fd" _slurped 2>/dev/null || true
    exec {_fd}<&-
    while [[ $_slurped == *$'\n' ]]; do _slurped=${_slurped%$'\n'}; done
    return 0
}
# proc_stat VAR PID [TID]: VAR = the array of the fields of /proc/PID/stat (of its thread TID:
# /proc/PID/task/TID/stat) after the command name, which may hold spaces and ')': [0] is the
# state (R running, S asleep, T/t stopped, Z zombie: field 3 in man 5 proc), [11] and [12]
# utime and stime in clock ticks (fields 14, 15), [19] the start time (field 22). Read by
# bash. Returns 1, VAR empty, if the process has ended.
proc_stat() {
    local -n _fields=$1
    local _stat
    _fields=()
    slurp _stat "/proc/$2${3:+/task/$3}/stat" || return 1
    [[ $_stat == *") "* ]] || return 1 # (empty: it ended while the file was read)
    read -ra _fields <<<"${_stat##*) }"
}
# proc_field VAR PID KEY: VAR = the first word of KEY's line in /proc/PID/status (VmRSS and
# VmHWM in kB, Threads, TracerPid, SigIgn...), read by bash. Returns 1, VAR empty, if PID has
# ended or has no such line.
# The file is read whole, in one go (slurp), as awk did, never line by line: for each line
# bash's `read` takes a block and seeks back to the line's end (strace shows it), and each
# seek in a /proc file makes the kernel write the file anew, so the lines come from different
# moments, at offsets that move when a number before them changes length. Read line by line,
# SigIgn was once not found in a server that was starting (one of eight loaded runs).
proc_field() {
    local -n _value=$1
    local _status _rest
    _value=""
    slurp _status "/proc/$2/status" || return 1
    _rest=$'\n'$_status
    [[ $_rest == *$'\n'"$3:"* ]] || return 1
    _rest=${_rest#*$'\n'"$3:"}
    read -r _value _ <<<"${_rest%%$'\n'*}"
}
# children_of PID: PID's child processes, one a line (a server with a process per client,
# 05-other-roads/01-fork-per-client, has its clients there), read by bash.
children_of() {
    local task children
    for task in "/proc/$1/task/"*; do
        # shellcheck disable=SC2086 # (a file of numbers, one a word)
        slurp children "$task/children" && [ -n "$children" ] && printf '%s\n' $children
    done
    return 0
}
# fd_links PID: "FD TARGET" for each descriptor PID holds (socket:[INODE], pipe:[...], a
# path...), read with one find rather than a readlink for each.
fd_links() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 -printf '%f %l\n' 2>/dev/null; }
# socket_inodes PID: the inode of each socket PID holds, one a line.
socket_inodes() {
    local fd link
    while read -r fd link; do
        case $link in "socket:["*"]") link=${link#socket:[} && echo "${link%]}" ;; esac
    done < <(fd_links "$1")
}

# peek [ARGS...] PID: scripts/peek.sh on PID (what the kernel holds for it; see that script),
# in its long form (its lines are read by the replay and the tests).
peek() { COLUMNS=200 bash "$LIB_ROOT/scripts/peek.sh" "$@"; }

# trace_server PID: attach strace -f to the running server PID (the system calls it makes from
# now on go to $LIB_TMP/trace.PID) and return once it is attached; strace ends with the server
# or with trace_report. Sets TRACE_FILE. Returns 1, saying why, if strace cannot attach.
trace_server() {
    TRACE_FILE=$LIB_TMP/trace.$1
    strace -f -qq -s 64 -o "$TRACE_FILE" -p "$1" 2>"$TRACE_FILE.err" 3>&- &
    LIB_PIDS+=("$!")
    LIB_TRACERS+=("$!:$TRACE_FILE")
    wait_until 3 _traced "$1" || { echo "strace could not attach: $(head -n 1 "$TRACE_FILE.err")" >&2; return 1; }
}
_traced() { local tracer; proc_field tracer "$1" TracerPid && [ "$tracer" != 0 ]; }

# trace_report: detach every strace started by trace_server (or run_server) and print what each saw,
# condensed by trace_condense. Prints nothing if nothing was traced.
trace_report() {
    local t pid file
    for t in "${LIB_TRACERS[@]}"; do
        pid=${t%%:*} file=${t#*:}
        if [ "$pid" != 0 ]; then # (0: strace ran the program itself, and has ended with it)
            # strace detaches and flushes its file (TERM: a script's background job ignores INT)
            kill -TERM "$pid" 2>/dev/null
            wait_until 3 _dead "$pid" || kill -9 "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
        fi
        [ -f "$file" ] && trace_condense <"$file"
    done
    LIB_TRACERS=()
}
LIB_TRACERS=()

# trace_condense < strace-output: the calls one line each, in order, with repeats counted:
# a call repeated N times in a row is one line (accept(3, ...) = -1 EAGAIN  ×412,118), and so
# is a group of up to 8 calls repeated in a row (a loop over several clients), marked with a
# bracket. Addresses and structures become "...", trailing NULLs go, errno names stay without
# their text; a call that strace split ("<unfinished ...>", "<... resumed>") is joined again;
# a call still under way at the end says so. Another process or thread than the first says
# which ([pid N]). TRACE_LINES (default 60) caps the lines printed.
trace_condense() {
    awk -v max="${TRACE_LINES:-60}" '
        function commas(n,  t, out) { t = sprintf("%d", n); out = ""; while (length(t) > 3) { out = "," substr(t, length(t) - 2) out; t = substr(t, 1, length(t) - 3) }; return t out }
        # split the argument list s at top-level commas (not inside "", {}, [])
        function shorten(s,  i, c, depth, inq, arg, out, n, a, k) {
            n = 0; arg = ""; depth = 0; inq = 0
            for (i = 1; i <= length(s); i++) {
                c = substr(s, i, 1)
                if (inq) { arg = arg c; if (c == "\\") { i++; arg = arg substr(s, i, 1) } else if (c == "\"") inq = 0; continue }
                if (c == "\"") inq = 1
                else if (c == "{" || c == "[") depth++
                else if (c == "}" || c == "]") depth--
                if (c == "," && depth == 0) { a[++n] = arg; arg = ""; i++; continue }
                arg = arg c
            }
            if (arg != "" || n > 0) a[++n] = arg
            while (n > 0 && a[n] == "NULL") n--
            if (n > 1 && a[n] ~ /^\[[0-9]+\]$/) a[n] = "..."   # an address length, as accept(3, ..., [16])
            out = ""
            for (k = 1; k <= n; k++) {
                if (a[k] ~ /^0x[0-9a-f]+$/ || a[k] ~ /^\{/ || a[k] ~ /^\[\{/) a[k] = "..."
                if (a[k] == "..." && out ~ /\.\.\.$/) continue
                out = out (k > 1 ? ", " : "") a[k]
            }
            return out
        }
        /^[0-9]+ +(\+\+\+|---)/ { next }
        {
            pid = $1; line = $0; sub(/^[0-9]+ +/, "", line)
            if (first == "") first = pid
            if (line ~ /<detached \.\.\.>/) {   # still in this call when strace let go
                if (line !~ /^<\.\.\./) { pending[pid] = line; sub(/ *<detached \.\.\.>.*$/, "", pending[pid]) }
                next
            }
            if (line ~ /<unfinished \.\.\.>$/) { pending[pid] = line; sub(/ *<unfinished \.\.\.>$/, "", pending[pid]); next }
            if (line ~ /^<\.\.\. [a-z0-9_]+ resumed>/) {
                sub(/^<\.\.\. [a-z0-9_]+ resumed> ?/, "", line)
                line = pending[pid] line; delete pending[pid]
            }
            if (!match(line, /\) += /)) next
            call = substr(line, 1, RSTART); result = substr(line, RSTART + RLENGTH)
            name = call; sub(/\(.*/, "", name)
            args = substr(call, length(name) + 2, length(call) - length(name) - 2)
            sub(/ \([A-Z][^()]*\)$/, "", result)           # -1 EAGAIN (Resource ...) -> -1 EAGAIN
            sub(/ \(in \[.*$/, "", result); sub(/ \(\[\{.*$/, "", result); sub(/ \(Timeout\)$/, " (timeout)", result)
            add((pid != first ? "[pid " pid "] " : "") name "(" shorten(args) ") = " result)
        }
        # The lines so far: text[1..m]; rep[i] > 0 marks the first line of a group of glen[i]
        # lines repeated rep[i] times. Lines before "frozen" belong to closed groups.
        function add(l,  k, i, same) {
            if (k_on) {                                     # inside a repeating group
                if (l == text[g_start + g_pos]) {
                    if (++g_pos == k_on) { rep[g_start]++; g_pos = 0 }
                    return
                }
                # the group ends: the part of a repetition already seen becomes plain lines
                frozen = g_start + k_on; k_on = 0
                for (i = 0; i < g_pos; i++) text[++m] = text[g_start + i]
                g_pos = 0
            }
            text[++m] = l
            for (k = 1; k <= 8 && m - 2 * k + 1 > frozen; k++) {
                same = 1
                for (i = 0; i < k && same; i++) if (text[m - i] != text[m - k - i]) same = 0
                if (same) { m -= k; g_start = m - k + 1; k_on = k; rep[g_start] = 2; glen[g_start] = k; g_pos = 0; return }
            }
        }
        END {
            for (p in pending) {   # a call still under way when strace detached
                name = pending[p]; sub(/\(.*/, "", name)
                args = substr(pending[p], length(name) + 2); sub(/, *$/, "", args)
                add((p != first ? "[pid " p "] " : "") name "(" shorten(args) ", ...)  ... still in it when the trace ended")
            }
            shown = 0
            for (i = 1; i <= m; i++) {
                if (++shown > max) { printf "(%d more lines; TRACE_LINES=%d shows more)\n", m - i + 1, m; break }
                t = text[i]
                if (length(t) > 110) t = substr(t, 1, 107) "..."
                if (rep[i] && glen[i] == 1) { printf "%s  \303\227%s\n", t, commas(rep[i]); continue }
                if (rep[i]) {
                    gend = i + glen[i] - 1; gr = rep[i]; w = 0
                    for (j = i; j <= gend; j++) if (length(text[j]) > w) w = length(text[j])
                    if (w > 110) w = 110
                }
                if (i <= gend) {
                    printf "%-" w "s  %s\n", t, (i == gend ? "\342\224\230 \303\227" commas(gr) : (rep[i] ? "\342\224\220" : "\342\224\202"))
                    continue
                }
                print t
            }
        }'
}
