# shellcheck shell=bash
# scripts/kernel.sh - what the kernel knows about ports, sockets, CPU and processes, for the
# tests, the replay, peek, the demo and the benchmark. Sourced by scripts/lib.sh (its names are
# lib.sh's). Every answer comes from one program, the probe (scripts/tools/probe.c, built into
# build/tools/probe), as key=value lines: nothing here parses /proc or a tool's prose.

# _probe ARGS...: run the probe (the build under test, else the main one); status 2 and a
# message if it is not built.
_probe() {
    local p=$BUILD_DIR/tools/probe
    [ -x "$p" ] || p=$LIB_ROOT/build/tools/probe
    [ -x "$p" ] || { echo "lib.sh: $p is not built (run make)" >&2; return 2; }
    "$p" "$@"
}
# probe_kv LINE: KV[KEY]=VALUE for each field of LINE, one line of the probe's output (a
# field whose value is "the rest of the line", as comm=, keeps its first word here).
declare -gA KV=() # (-g: bats sources this file inside a function)
probe_kv() {
    local _w _words
    KV=()
    read -ra _words <<<"$1"
    for _w in "${_words[@]}"; do
        [[ $_w == [a-zA-Z_]*=* ]] && KV[${_w%%=*}]=${_w#*=} # (words of a text at the end: skipped)
    done
    return 0
}

# port_in_use PORT: some TCP socket on this machine has local port PORT (any state, IPv4 or
# IPv6): bind() would fail there.
port_in_use() { _probe in-use "$1" >/dev/null; }

# port_listening PORT: a socket is listening on PORT. Asks the kernel's table instead of
# connecting (a test connection would use up the accept() of a one-client stage).
port_listening() { _probe listening "$1" >/dev/null; }

# server_queues PORT: one line "RECV-Q SEND-Q" (bytes) for each established connection whose
# local port is PORT, i.e. each client of the server on PORT, accepted or still in its accept
# queue: what the kernel has received and the server not yet read, and what the server has
# sent and the client not yet acknowledged.
server_queues() {
    local line
    while IFS= read -r line; do
        probe_kv "$line"
        [ "${KV[state]}" = ESTAB ] && echo "${KV[recvq]} ${KV[sendq]}"
    done < <(_probe queues "$1")
    return 0
}

# connections_to PORT: how many connections to PORT the kernel has established (accepted or
# still waiting in the backlog).
connections_to() { server_queues "$1" | wc -l; }

# queued_at_server PORT BYTES: a connection to the server on PORT has exactly BYTES received
# by the kernel and not yet read by the server (its Recv-Q): what a stalled server leaves
# unread, which the tests and the replay wait for.
queued_at_server() {
    local recvq _
    while read -r recvq _; do [ "$recvq" = "$2" ] && return 0; done < <(server_queues "$1")
    return 1
}

# recv_queue PORT / send_queue PORT: the most bytes waiting on one client connection of the
# server on PORT: received and not yet read by the server (how far a client is ignored), or
# sent and not yet taken by the client (how far replies pile up for a client that does not
# read). 0 when there is none.
recv_queue() { _most_queued "$1" 1; }
send_queue() { _most_queued "$1" 2; }
_most_queued() {
    local q most=0
    while read -ra q; do [ "${q[$2 - 1]}" -gt "$most" ] && most=${q[$2 - 1]}; done < <(server_queues "$1")
    echo "$most"
}

# cpu_percent PID SECONDS: the share of one core PID used over the next SECONDS (integer %,
# user and kernel time together). Returns 1 once PID has ended.
cpu_percent() {
    local out
    out=$(_probe cpu "$1" "$2") || return 1
    probe_kv "$out"
    echo "${KV[cpu_pct]}"
}
# busy_looping PID SECONDS: PID behaves as a busy loop over the next SECONDS: it never went to
# sleep (no voluntary context switch) and it ran (1 ms at least: a crowded machine may give it
# a few percent of a core, yet it never sleeps). A server asleep in a call does not run; one
# that waits with a time-out goes to sleep again at least once each time-out. Sets CPU_GOT (% of
# a core), CPU_WANTED (% it ran or waited for a core), CPU_SLEPT (its voluntary switches),
# CPU_USER and CPU_KERNEL (% of a core in user and kernel mode), CPU_KERNEL_SHARE (% of its
# CPU time spent in the kernel). The rule is the probe's (probe cpu: busy=1).
# shellcheck disable=SC2034 # the CPU_ variables are for the caller to read
busy_looping() {
    CPU_GOT="" CPU_WANTED="" CPU_SLEPT="" CPU_USER="" CPU_KERNEL="" CPU_KERNEL_SHARE=""
    probe_kv "$(_probe cpu "$1" "$2")"
    [ -n "${KV[busy]:-}" ] || return 1
    CPU_GOT=${KV[cpu_pct]} CPU_WANTED=${KV[wanted_pct]} CPU_SLEPT=${KV[voluntary]}
    CPU_USER=${KV[user_pct]} CPU_KERNEL=${KV[kernel_pct]} CPU_KERNEL_SHARE=${KV[kernel_share]}
    [ "${KV[busy]}" = 1 ]
}
# cpu_ticks PID: utime + stime of PID, in clock ticks. Returns 1 once PID has ended.
cpu_ticks() {
    probe_kv "$(_probe stat "$1")"
    [ -n "${KV[utime]:-}" ] || return 1
    echo $((${KV[utime]} + ${KV[stime]}))
}

# _descendants PID: every process under PID: children, their children...
_descendants() {
    local line
    while IFS= read -r line; do echo "${line#pid=}"; done < <(_probe descendants "$1")
}

# --- seeing the kernel (scripts/peek.sh, TRACE=1 in the replay) ---------------------------

# load_syscall_names: SYSCALL_NAME_OF[NR] and SYSCALL_NUMBER_OF[NAME] for the calls the probe
# can name (the chapter's servers' calls: from the C library's <sys/syscall.h>, so each
# architecture gets its own numbers). peek counts calls by number (perf's raw_syscalls).
declare -gA SYSCALL_NAME_OF=() SYSCALL_NUMBER_OF=() # (-g: bats sources this file inside a function)
# shellcheck disable=SC2034 # SYSCALL_NUMBER_OF is read by peek.sh
load_syscall_names() {
    local line
    while IFS= read -r line; do
        probe_kv "$line"
        SYSCALL_NAME_OF[${KV[nr]}]=${KV[name]}
        SYSCALL_NUMBER_OF[${KV[name]}]=${KV[nr]}
    done < <(_probe syscalls)
}
# syscall_name NR: the name of call NR (after load_syscall_names), else "syscall NR".
syscall_name() { printf '%s' "${SYSCALL_NAME_OF[$1]:-syscall $1}"; }

# client_port NAME: the local port of client NAME's connection, the P that the server prints
# as ('127.0.0.1', P): its nc's socket (nc runs under timeout, as a child). Empty if unknown.
client_port() {
    local pid child line
    pid=$(client_pid "$1")
    for child in "$pid" $(children_of "$pid"); do
        while IFS= read -r line; do
            probe_kv "$line"
            [ "${KV[state]:-}" = ESTAB ] && echo "${KV[local]##*:}" && return
        done < <(_probe sockets "$child" 2>/dev/null)
    done
}

# slurp VAR FILE: VAR = the text of FILE without its last newlines, as $(cat FILE) gives it,
# read by bash itself (no process). Returns 1, VAR empty, if FILE cannot be opened.
slurp() {
    local -n _slurped=$1
    local _fd
    _slurped=""
    { exec {_fd}<"$2"; } 2>/dev/null || return 1
    IFS= read -r -d '' -u "$_fd" _slurped 2>/dev/null || true
    exec {_fd}<&-
    while [[ $_slurped == *$'\n' ]]; do _slurped=${_slurped%$'\n'}; done
    return 0
}
# proc_stat VAR PID [TID]: VAR = an array of what the probe says of PID (of its thread TID),
# at the places of /proc/PID/stat's fields after the command name, where the callers read
# them: [0] the state (R running, S asleep, T/t stopped, Z zombie), [11] and [12] utime and
# stime in clock ticks, [19] the start time. Returns 1, VAR empty, if the process has ended.
proc_stat() {
    local -n _fields=$1
    _fields=()
    probe_kv "$(_probe stat "$2" ${3:+"$3"})"
    [ -n "${KV[start]:-}" ] || return 1
    _fields[0]=${KV[state]} _fields[11]=${KV[utime]} _fields[12]=${KV[stime]} _fields[19]=${KV[start]}
}
# proc_field VAR PID KEY: VAR = the first word of KEY's line in /proc/PID/status (VmRSS and
# VmHWM in kB, Threads, TracerPid, SigIgn...), as the probe reads it. Returns 1, VAR empty, if
# PID has ended or has no such line.
proc_field() {
    local -n _value=$1
    _value=""
    probe_kv "$(_probe status "$2" "$3")"
    [ -n "${KV[$3]:-}" ] || return 1
    _value=${KV[$3]}
}
# children_of PID: PID's child processes, one a line (a server with a process per client,
# 05-other-roads/01-fork-per-client, has its clients there).
children_of() {
    local line
    while IFS= read -r line; do echo "${line#pid=}"; done < <(_probe children "$1")
}

# peek [ARGS...] PID: scripts/peek.sh on PID (what the kernel holds for it; see that script),
# in its long form.
peek() { COLUMNS=200 bash "$LIB_ROOT/scripts/peek.sh" "$@"; }
