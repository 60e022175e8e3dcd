#!/usr/bin/env bash
# scripts/gates/valgrind.sh SERVER-BINARY... - what `make valgrind` runs: every server under valgrind
# memcheck, through the chapter's main scenarios, started and driven with scripts/lib.sh.
#
# The scenarios are the clients of the documents and tests: "Hola Mundo\r\n", the echo -e
# line, a line cut short, binary and NUL bytes, an endless line, a reset, a client that never
# reads, three clients at once. Every client ends its own connection, so each server gets
# through all of them, blocking or not.
#   - A server that ends after one client (01-accept, 02-recv-two-bytes, 03-read-and-write) is
#     started afresh for each scenario and checked for errors and leaks when it exits.
#   - A server that ends before any client can connect (01-accept-eagain) is checked once.
#   - A looping server gets every scenario in turn; once all its clients have left it is
#     stopped with SIGTERM, and memcheck still does its leak check then: a block nobody points
#     to any more ("definitely lost") after every client has gone is a real leak.
# Any memcheck error, or a definite or indirect leak, fails the run and prints its log.
#
# Variables: BUILD_DIR (lib.sh; the tools are taken from there), VALGRIND (default valgrind).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

if [ $# -eq 0 ]; then
    echo "usage: scripts/gates/valgrind.sh SERVER-BINARY...   (make valgrind runs it)" >&2
    exit 2
fi
read -r -a valgrind_cmd <<<"${VALGRIND:-valgrind}"
if ! command -v "${valgrind_cmd[0]}" >/dev/null; then
    echo "valgrind: not installed (sudo apt-get install valgrind, or scripts/install-deps.sh --all)" >&2
    exit 1
fi
MISBEHAVE=$BUILD_DIR/tools/misbehave
LOGS=$BUILD_DIR/memcheck
rm -rf "$LOGS"
mkdir -p "$LOGS/tmp"

# --error-exitcode: 99, a status no stage uses itself. Leaks of kind definite and indirect are
# errors (counted in the ERROR SUMMARY); possible ones are shown, not counted.
# shellcheck disable=SC2054 # (the commas are valgrind's: --show-leak-kinds=a,b is one word)
MEMCHECK=(--tool=memcheck --error-exitcode=99 --leak-check=full
    --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect
    --track-origins=yes --num-callers=30)
# Under valgrind a server runs tens of times slower: give every client more time, and every
# server more time to start listening (seen: over 5 s on a loaded 2-core machine).
SECS=15
export LIB_START_SECONDS=30
LONG_LINE=$(printf 'a%.0s' $(seq 5000))
SCENARIOS=(hola echo-e partial binary long-line reset no-read together)

# run_scenario NAME PORT: one scenario's client(s), against the server on PORT.
run_scenario() {
    case $1 in
    hola) send_line "$2" 'Hola Mundo\r\n' "$SECS" ;;
    echo-e) send_line "$2" 'Hola Mundo\r\n\n' "$SECS" ;;
    partial) send_line "$2" 'Hol' "$SECS" ;;
    binary) send_line "$2" '\x00\x01\xfe\xff\r\n' "$SECS" ;;
    long-line) send_line "$2" "$LONG_LINE" "$SECS" ;;
    reset) "$MISBEHAVE" reset "$2" 'Hol' ;;
    no-read) "$MISBEHAVE" no-read "$2" 1 ;;
    together)
        local pids=() i
        for i in 1 2 3; do
            send_line "$2" "Hola $i\r\n" "$SECS" &
            pids+=("$!")
        done
        wait "${pids[@]}"
        ;;
    esac >/dev/null 2>&1 || true
}

# Each binary is checked in a subshell of its own, writing its verdicts to $LOGS/NAME.result
# (one line per run: "clean ..." or "ERRORS ..."), so that VALGRIND_JOBS of them (default: the
# number of cores) run at once.

# finish_run LABEL PID STATUS: judge one finished run by its exit status and its log.
finish_run() {
    local label=$1 status=$3 log=$LOGS/$name.$2.log
    if [ "$status" != 99 ] && grep -q 'ERROR SUMMARY: 0 errors' "$log" 2>/dev/null; then
        printf 'clean   %-46s %s (exit %s)\n' "$stage" "$label" "$status"
        return
    fi
    printf 'ERRORS  %-46s %s (exit %s), log %s\n' "$stage" "$label" "$status" "$log"
    sed -n '/^==[0-9]*== Command:/,$p' "$log" 2>/dev/null | head -n 80 | sed 's/^/        /'
}

# start PORT: the server under valgrind on PORT. 0: listening; 1: it ended before that
# (STATUS then holds its exit status).
start() {
    start_program "$name" "$1" "${valgrind_cmd[@]}" "${MEMCHECK[@]}" \
        --log-file="$LOGS/$name.%p.log" "$binary" 2>/dev/null && return 0
    wait_exit "$SERVER_PID" "$SECS" || { kill -9 "$SERVER_PID" 2>/dev/null; wait_exit "$SERVER_PID"; }
    STATUS=$EXIT_STATUS
    return 1
}

# check_binary: every scenario against $binary; prints one verdict line per run.
check_binary() {
    trap stop_all EXIT
    if [ ! -x "$binary" ]; then
        printf 'ERRORS  %-46s not built\n' "$stage"
        return
    fi
    # io_uring: valgrind (3.19) lets a signal in only when io_uring_enter() returns, so an idle
    # server ignores SIGTERM (seen: it hung after every scenario, even with no client), and it
    # cannot see the kernel writing into the rings and buffers we share with it.
    if grep -qa io_uring_queue_init "$binary"; then
        printf 'skipped %-46s io_uring: valgrind cannot follow it (SIGTERM waits for a completion; the kernel writes shared memory behind its back); make check covers it with ASan+UBSan\n' "$stage"
        return
    fi
    local port scenario
    port=$(free_port)
    if ! start "$port"; then
        finish_run "ends before any client" "$SERVER_PID" "$STATUS"
        return
    fi
    # The first scenario tells the kinds apart: a one-client server ends after it.
    run_scenario "${SCENARIOS[0]}" "$port"
    if wait_until 2 _dead "$SERVER_PID" && wait_exit "$SERVER_PID"; then # (quiet if it runs on)
        finish_run "${SCENARIOS[0]}" "$SERVER_PID" "$EXIT_STATUS"
        for scenario in "${SCENARIOS[@]:1}"; do
            if ! start "$port"; then
                finish_run "$scenario (ended before any client)" "$SERVER_PID" "$STATUS"
                continue
            fi
            run_scenario "$scenario" "$port"
            if wait_exit "$SERVER_PID" "$SECS"; then
                finish_run "$scenario" "$SERVER_PID" "$EXIT_STATUS"
            else
                stop_server
                printf 'ERRORS  %-46s %s: did not end by itself after its client\n' "$stage" "$scenario"
            fi
        done
        return
    fi
    for scenario in "${SCENARIOS[@]:1}"; do
        run_scenario "$scenario" "$port"
    done
    sleep 1 # every client has gone: let the server notice the last hang-ups before stopping it
    if _dead "$SERVER_PID"; then
        wait_exit "$SERVER_PID"
        finish_run "all scenarios: it DIED before SIGTERM" "$SERVER_PID" "$EXIT_STATUS"
        printf 'ERRORS  %-46s a looping server ended during its scenarios\n' "$stage"
        return
    fi
    kill -TERM "$SERVER_PID"
    EXIT_STATUS='?'
    wait_exit "$SERVER_PID" "$SECS" || stop_server
    finish_run "all ${#SCENARIOS[@]} scenarios, then SIGTERM" "$SERVER_PID" "$EXIT_STATUS"
    check_children "$SERVER_PID"
}

# check_children PID: a server that forks a process per client (01-fork-per-client) leaves one
# log per child, each child checked by memcheck when it exits: judge them too.
check_children() {
    local log children=0 bad=0
    for log in "$LOGS/$name".*.log; do
        [ "$log" = "$LOGS/$name.$1.log" ] && continue
        children=$((children + 1))
        grep -q 'ERROR SUMMARY: 0 errors' "$log" && continue
        bad=$((bad + 1))
        printf 'ERRORS  %-46s a child process, log %s\n' "$stage" "$log"
        sed -n '/^==[0-9]*== Command:/,$p' "$log" | head -n 80 | sed 's/^/        /'
    done
    [ "$children" -gt 0 ] && [ "$bad" -eq 0 ] &&
        printf 'clean   %-46s its %d child processes (one per client)\n' "$stage" "$children"
    return 0
}

jobs_max=${VALGRIND_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}
results=()
for binary in "$@"; do
    abs=$(cd "$(dirname "$binary")" 2>/dev/null && pwd)/$(basename "$binary")
    stage=${abs#"$BUILD_DIR"/}
    stage=${stage#chapter-03/}
    name=${stage//\//_}
    results+=("$LOGS/$name.result")
    while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do sleep 0.1; done
    (LIB_TMP=$LOGS/tmp/$name && mkdir -p "$LIB_TMP" && check_binary) >"$LOGS/$name.result" 2>&1 &
done
wait

runs=0
bad=0
for result in "${results[@]}"; do
    sed 's/^/valgrind: /' "$result"
    runs=$((runs + $(grep -cE '^(clean|ERRORS) ' "$result")))
    bad=$((bad + $(grep -c '^ERRORS ' "$result")))
done
skipped=$(cat "${results[@]}" | grep -c '^skipped ')
echo "valgrind: $runs runs, $((runs - bad)) clean, $bad with errors, $skipped skipped (logs: $LOGS)"
[ "$bad" -eq 0 ]
