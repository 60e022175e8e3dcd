# shellcheck shell=bash
# scripts/measure.d/02-non-blocking.sh - the figures of section 2's guide (sourced by
# scripts/measure.sh, which defines measure, and sources scripts/lib.sh).

echo "## 2. Non-blocking sockets"
echo

# eagain_exit RUNS: 01-accept-eagain started RUNS times with nobody connecting: its output,
# its exit status, and how long it lived.
eagain_exit() {
    local i port t0 t1 status
    for ((i = 1; i <= $1; i++)); do
        port=$(free_port)
        t0=${EPOCHREALTIME//[!0-9]/}
        status=0
        build/chapter-03/02-non-blocking/01-accept-eagain "$port" >"$LIB_TMP/out" 2>&1 3>&- </dev/null ||
            status=$?
        t1=${EPOCHREALTIME//[!0-9]/}
        [ "$i" = 1 ] && cat "$LIB_TMP/out"
        printf 'run %d: exit status %d after %d.%d ms\n' "$i" "$status" $(((t1 - t0) / 1000)) $(((t1 - t0) / 100 % 10))
    done
}
measure m-eagain-exit "01-accept-eagain: gone at the first accept()" eagain_exit 5

# busy_idle SECONDS: a fresh 02-eagain-loop with nobody connected, watched for SECONDS before
# anything else looks at it (strace, below, would add switches of its own): the share of a
# core it got, split into user and kernel time (/proc/PID/stat), and its context switches
# (/proc/PID/status: voluntary = it went to sleep; nonvoluntary = the scheduler took the core).
# The same for 01-blocking/04-many-clients, asleep in accept(), for comparison.
busy_idle() {
    local secs=$1 stage port pid hz s0 s1 v0 v1 n0 n1
    hz=$(getconf CLK_TCK)
    for stage in 02-non-blocking/02-eagain-loop 01-blocking/04-many-clients; do
        port=$(free_port)
        start_server "$stage" "$port" || return 1
        pid=$SERVER_PID
        sleep 0.5
        proc_stat s0 "$pid"
        proc_field v0 "$pid" voluntary_ctxt_switches
        proc_field n0 "$pid" nonvoluntary_ctxt_switches
        sleep "$secs"
        proc_stat s1 "$pid"
        proc_field v1 "$pid" voluntary_ctxt_switches
        proc_field n1 "$pid" nonvoluntary_ctxt_switches
        echo "${stage#*/}, nobody connected, over $secs s:"
        awk -v u="$((s1[11] - s0[11]))" -v k="$((s1[12] - s0[12]))" -v hz="$hz" -v s="$secs" 'BEGIN {
            t = (u + k) / hz / s * 100
            printf "  CPU: %.0f%% of one core: user %.0f%%, kernel %.0f%%", t, u / hz / s * 100, k / hz / s * 100
            if (u + k > 0) printf " (%.0f%% of its time in the kernel)", k * 100 / (u + k)
            printf "\n" }'
        echo "  voluntary_ctxt_switches:    $v0 -> $v1 (+$((v1 - v0)): went to sleep)"
        echo "  nonvoluntary_ctxt_switches: $n0 -> $n1 (+$((n1 - n0)): pushed off the core)"
        stop_all
    done
}
measure m-busy-idle "02-eagain-loop idle: CPU, user and kernel, context switches (before any strace)" busy_idle 2

# busy_calls RUNS: a fresh 02-eagain-loop, nobody connected: its system calls in one second,
# counted inside the kernel by perf, RUNS times.
busy_calls() {
    local port pid i
    port=$(free_port)
    start_server 02-non-blocking/02-eagain-loop "$port" || return 1
    pid=$SERVER_PID
    for ((i = 1; i <= $1; i++)); do
        echo "\$ perf stat -e raw_syscalls:sys_enter -p $pid -- sleep 1"
        perf stat -e raw_syscalls:sys_enter -p "$pid" -- sleep 1 2>&1 | grep -E 'sys_enter|elapsed'
    done
}
measure m-busy-calls "02-eagain-loop idle: system calls per second (perf stat)" busy_calls 3

# busy_strace: strace -c on a fresh idle 02-eagain-loop for one second (every call fails:
# EAGAIN), and its voluntary switches before and after: strace stops the process at every
# call, and each stop is a sleep the process did not ask for.
busy_strace() {
    local port pid v0 v1
    port=$(free_port)
    start_server 02-non-blocking/02-eagain-loop "$port" || return 1
    pid=$SERVER_PID
    sleep 0.5
    proc_field v0 "$pid" voluntary_ctxt_switches
    echo "\$ timeout -s INT 1 strace -c -f -p $pid"
    timeout -s INT 1 strace -c -f -p "$pid" 2>&1
    sleep 0.2
    proc_field v1 "$pid" voluntary_ctxt_switches
    echo "voluntary_ctxt_switches: $v0 before strace, $v1 after"
}
measure m-busy-strace "02-eagain-loop idle under strace -c for one second" busy_strace

# busy_peek: 02-eagain-loop with one client connected and silent: peek's view, in English and
# then in Spanish (the language of each guide's quote).
busy_peek() {
    local port pid
    port=$(free_port)
    start_server 02-non-blocking/02-eagain-loop "$port" || return 1
    pid=$SERVER_PID
    client_open c1 "$port"
    sleep 0.5
    echo "\$ scripts/peek.sh $pid"
    COLUMNS=200 LANG=C.UTF-8 LANGUAGE='' scripts/peek.sh "$pid"
    echo "\$ LANG=es_ES.UTF-8 scripts/peek.sh $pid"
    COLUMNS=200 LANG=es_ES.UTF-8 LANGUAGE='' scripts/peek.sh "$pid"
}
measure m-busy-peek "02-eagain-loop with one silent client (peek)" busy_peek

# busy_no_stall RUNS: 02-eagain-loop with client 1 connected and silent: how long client 2
# waits for its echo (printf 'Hola Mundo2\r\n' | nc -N), RUNS times.
busy_no_stall() {
    local port i t0 t1 got
    port=$(free_port)
    start_server 02-non-blocking/02-eagain-loop "$port" || return 1
    client_open c1 "$port"
    for ((i = 1; i <= $1; i++)); do
        t0=${EPOCHREALTIME//[!0-9]/}
        got=$(printf 'Hola Mundo2\r\n' | timeout 5 nc -N 127.0.0.1 "$port"; echo .)
        t1=${EPOCHREALTIME//[!0-9]/}
        printf 'run %d: client 2 got %q back in %d.%d ms (nc included)\n' "$i" "${got%.}" $(((t1 - t0) / 1000)) $(((t1 - t0) / 100 % 10))
    done
}
measure m-busy-no-stall "02-eagain-loop: client 2 is answered while client 1 is silent" busy_no_stall 5
