#!/usr/bin/env bash
# scripts/gates/stress.sh [--quick] [STAGE...] - what `make stress` runs: the event-loop stages under
# load, each check on a fresh server (-q), with one line per check and stage giving what was
# measured. Exit status 1 if any check failed (0 if they passed or were skipped, with a reason).
#
#   cycles     2,000 connections, one after the other, each closed at once (every second one
#              after half a line): the server's open descriptors (/proc/PID/fd) come back to
#              their starting count, and it saw every one arrive and leave (or turned it
#              away at once: select's FD_SETSIZE, when the backlog held more than it can watch);
#   clients    500 clients at once, each sending 20 random lines (up to 1024 bytes, NUL and
#              bytes >= 0x80 included) in random pieces: every line comes back intact and in
#              order, per client (build/tools/many-clients);
#   flood      a client that sends 10 MB and never reads: once its replies pile up, the server
#              stops reading it (back-pressure) without dropping it; its resident memory
#              (VmRSS, and the peak VmHWM, from /proc/PID/status) grows by less than
#              RSS_LIMIT_KB; other clients are served meanwhile;
#   fdsetsize  (select only) FD_SETSIZE + 100 clients at once: those whose descriptor select()
#              cannot watch are refused cleanly (an error line, then closed), the rest served.
#
# --quick: a reduced run for the bats suite (tests/stress.bats): 300 cycles, 100 clients of 5
# lines, a flood stopped 0.3 s after the others were served, and no fdsetsize
# (tests/03-selectors.bats checks it already).
# STAGE: e.g. 03-selectors/03-poll-lines (default: every line stage; epoll on Linux only).
# BUILD_DIR chooses the binaries (as for the tests: `make check` points it at the sanitizer
# build). Needs Linux's /proc. Numbers are for a 2-core machine; the run takes about a minute.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
# Ctrl-C and SIGTERM stop everything the stress run started: see supervise in lib.sh.
supervise "(interrupted: everything the stress run started is stopped)" "$0" "$@"
TOOLS_DIR=${TOOLS_DIR:-$BUILD_DIR/tools}

FD_SETSIZE=1024      # glibc's, fixed at compile time (the select stage prints it when refusing)
RSS_LIMIT_KB=2048    # a connection is ~3 KB whatever it sends: 2 MB is hundreds of clients' worth
CYCLES=2000 CLIENTS=500 LINES=20 FLOOD_BYTES=$((10 * 1024 * 1024)) FLOOD_SECONDS=3 OTHERS=50
CLIENTS_SECONDS=20   # many-clients gives up after this long (a run takes about 1 s)
BEYOND=$((FD_SETSIZE + 100))
QUICK=0
if [ "${1:-}" = --quick ]; then
    QUICK=1 CYCLES=300 CLIENTS=100 LINES=5 FLOOD_SECONDS=5 OTHERS=10 CLIENTS_SECONDS=5
    shift
fi
STAGES=("$@")
if [ ${#STAGES[@]} -eq 0 ]; then
    STAGES=(03-selectors/02-select-lines 03-selectors/03-poll-lines)
    [ "$(uname -s)" = Linux ] && STAGES+=(03-selectors/04-epoll-lines) # (Linux-only, as the Makefile)
    STAGES+=(04-event-loop/01-callback-loop 04-event-loop/02-graceful-shutdown)
    # section 5: a process, a thread per client; io_uring where liburing was found (make says)
    STAGES+=(05-other-roads/01-fork-per-client 05-other-roads/02-thread-per-client)
    [ -x "$(stage_bin 05-other-roads/03-io-uring-lines)" ] && STAGES+=(05-other-roads/03-io-uring-lines)
fi
for tool in many-clients misbehave; do
    [ -x "$TOOLS_DIR/$tool" ] || { echo "stress: $TOOLS_DIR/$tool is missing: run make" >&2; exit 2; }
done
[ -d /proc/self/fd ] || { echo "stress: needs Linux's /proc" >&2; exit 2; }

trap stop_all EXIT

# Each client is a descriptor in the client tool and one in the server: use all we may.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FD_LIMIT=$(ulimit -n)
[ "$FD_LIMIT" = unlimited ] && FD_LIMIT=1048576

FAILED=0 SKIPPED=0 FAILURES=()
# report STAGE CHECK ok|FAIL|skip DETAILS: the one line a check prints. A failure is kept to be
# said again at the end, where the last lines of a long log (all a CI page may show) find it.
report() {
    printf '%-34s %-9s %-4s %s\n' "$1" "$2" "$3" "$4"
    [ "$3" = FAIL ] && FAILED=1 FAILURES+=("$1 $2: $4")
    [ "$3" = skip ] && SKIPPED=$((SKIPPED + 1))
    return 0
}
# shellcheck disable=SC2012 # (the names in /proc/PID/fd are numbers)
fd_count() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
rss_kb() { local kb; proc_field kb "$1" "${2:-VmRSS}"; echo "$kb"; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
_asleep() { local f; proc_stat f "$1" && [ "${f[0]}" = S ]; }
_fds_are() { [ "$(fd_count "$1")" -eq "$2" ]; }
_all_left() { [ $(($(count_lines "$SERVER_OUT" "$LEFT") + $(grep -cE "^$REFUSED" "$SERVER_OUT"))) -eq "$1" ]; }
_piled_up() { [ "$(send_queue "$1")" -gt 262144 ]; }
# stderr_lines FILE: how many lines the server wrote on stderr. (A client that resets the
# connection, as one that leaves unread replies does, is a calm line on stdout, not an error.)
stderr_lines() { wc -l <"$1"; }

CONNECT="Cliente connectandose desde ('127.0.0.1', PORT)"
LEFT="Cliente ('127.0.0.1', PORT) desconectado"
# (a regex) a client turned away at once, after its "connectandose" line: it left too. The select
# stage does this to a descriptor >= FD_SETSIZE, and the cycles below can make one: the client
# connects and closes faster than the server reads, the connections wait in the listen backlog,
# and the server accepts every waiting one at once, each holding a descriptor until the server
# reads its end (how many varies from run to run, from none to about half of them).
# Under a hard limit of 1024 (the stage raises its soft limit to the hard one) it would be
# accept()'s EMFILE instead: the stage leaves the listener alone a moment, then accepts again.
REFUSED="Cliente \\('127\\.0\\.0\\.1', [0-9]+\\) rechazado: "

# start STAGE CHECK: a fresh server for one check; reports FAIL if it does not start.
start() {
    PORT=$(free_port) && start_server "$1" "$PORT" -q 2>"$LIB_TMP/start.err" && return 0
    report "$1" "$2" FAIL "the server did not start: $(tr '\n' ' ' <"$LIB_TMP/start.err")"
    return 1
}

check_cycles() {
    local stage=$1 before after t ms
    start "$stage" cycles || return
    # count its descriptors once it is set up and waiting: a stage may open more after listen()
    # (03-io-uring-lines creates its ring then), and a count taken in between is one short
    wait_until 2 _asleep "$SERVER_PID" || true
    before=$(fd_count "$SERVER_PID")
    t=$(date +%s%N)
    if ! timeout 120 "$TOOLS_DIR/misbehave" cycles "$PORT" "$CYCLES" >"$LIB_TMP/cycles.out" 2>&1; then
        report "$stage" cycles FAIL "the client failed: $(tr '\n' ' ' <"$LIB_TMP/cycles.out")"
        stop_all
        return
    fi
    wait_until 10 _all_left "$CYCLES"
    wait_until 5 _fds_are "$SERVER_PID" "$before"
    ms=$(ms_since "$t")
    after=$(fd_count "$SERVER_PID")
    local came left refused errors
    came=$(count_lines "$SERVER_OUT" "$CONNECT")
    left=$(count_lines "$SERVER_OUT" "$LEFT")
    refused=$(grep -cE "^$REFUSED" "$SERVER_OUT")
    left=$((left + refused))
    errors=$(stderr_lines "$SERVER_ERR")
    local what="$CYCLES connect/close cycles in $ms ms; open fds: $before before, $after after; $came arrived, $left left ($refused of them turned away); $errors error lines"
    if [ "$after" -eq "$before" ] && [ "$came" -eq "$CYCLES" ] && [ "$left" -eq "$CYCLES" ] &&
        [ "$errors" -eq 0 ] && alive "$SERVER_PID"; then
        report "$stage" cycles ok "$what"
    else
        report "$stage" cycles FAIL "$what"
    fi
    stop_all
}

check_clients() {
    local stage=$1 summary expected errors
    if [ "$FD_LIMIT" -lt $((CLIENTS + 64)) ]; then
        report "$stage" clients skip "needs $((CLIENTS + 64)) descriptors, ulimit -n allows $FD_LIMIT"
        return
    fi
    start "$stage" clients || return
    summary=$(timeout 120 "$TOOLS_DIR/many-clients" -n "$CLIENTS" -l "$LINES" -m 1024 -p 300 \
        -s "$RANDOM" -t "$CLIENTS_SECONDS" "$PORT" 2>"$LIB_TMP/clients.err")
    expected="clients=$CLIENTS served=$CLIENTS refused=0 cut=0 failed=0 lines=$((CLIENTS * LINES))/$((CLIENTS * LINES))"
    errors=$(stderr_lines "$SERVER_ERR")
    if [ "${summary% seconds=*}" = "$expected" ] && [ "$errors" -eq 0 ] && alive "$SERVER_PID"; then
        report "$stage" clients ok "$summary (pieces of 1-300 bytes, lines up to 1024)"
    else
        report "$stage" clients FAIL "${summary:-no summary} $(tr '\n' ' ' <"$LIB_TMP/clients.err"); $errors error lines: $(head -c 200 "$SERVER_ERR")"
    fi
    stop_all
}

check_flood() {
    local stage=$1 start_kb peak_kb hwm_kb now_kb flood piled=no others others_ok=no during=no
    local status sent sent_kb dropped errors t piled_ms=- others_ms
    start "$stage" flood || return
    start_kb=$(rss_kb "$SERVER_PID")
    peak_kb=$start_kb
    "$TOOLS_DIR/misbehave" flood "$PORT" "$FLOOD_BYTES" "$FLOOD_SECONDS" >"$LIB_TMP/flood.out" \
        2>&1 3>&- &
    flood=$!
    LIB_PIDS+=("$flood")
    t=$(date +%s%N)
    # its replies pile up in the kernel once it stops reading: then the server must stop too
    wait_until "$FLOOD_SECONDS" _piled_up "$PORT" && piled=yes piled_ms=$(ms_since "$t")
    others=$(timeout 30 "$TOOLS_DIR/many-clients" -n "$OTHERS" -l 5 -m 200 -p 40 -t 10 "$PORT" 2>&1) &&
        others_ok=yes
    others_ms=$(($(ms_since "$t") - ${piled_ms/-/0}))
    alive "$flood" && during=yes # they were served while it was still flooding
    # the full run watches the server's memory until the flood ends by itself; the quick run
    # for 0.3 s more, then stops it (its FLOOD_SECONDS is only a limit: on a loaded machine
    # the replies took 0.8 s to pile up, and a flood of a fixed 0.8 s had ended by then)
    local watch_until=$(($(date +%s%N) + 300000000)) stopped=no
    while alive "$flood"; do
        now_kb=$(rss_kb "$SERVER_PID")
        [ "${now_kb:-0}" -gt "$peak_kb" ] && peak_kb=$now_kb
        if [ "$QUICK" = 1 ] && [ "$(date +%s%N)" -gt "$watch_until" ]; then
            kill "$flood" 2>/dev/null && stopped=yes
            break
        fi
        sleep 0.05
    done
    status=0
    wait "$flood" || status=$?
    [ "$stopped" = yes ] && status=0 && echo "sent ? of $FLOOD_BYTES bytes (stopped)" >"$LIB_TMP/flood.out"
    hwm_kb=$(rss_kb "$SERVER_PID" VmHWM)
    sent=$(sed -n 's/^sent \([0-9]*\) of .*/\1/p' "$LIB_TMP/flood.out")
    dropped=$(grep -c 'descartado' "$SERVER_OUT")
    errors=$(stderr_lines "$SERVER_ERR")
    local how=" in ${FLOOD_SECONDS} s"
    sent_kb=$((${sent:-0} / 1024))
    [ "$stopped" = yes ] && sent_kb="?" how=", stopped after the checks"
    local what="sent $sent_kb of $((FLOOD_BYTES / 1024)) kB unread$how (replies piled up: $piled, after $piled_ms ms; dropped: $dropped); VmRSS $start_kb -> peak $peak_kb kB, VmHWM $hwm_kb kB (limit +$RSS_LIMIT_KB); $OTHERS others meanwhile, in $others_ms ms: ${others% seconds=*}"
    if [ "$status" -eq 0 ] && [ "$piled" = yes ] && [ "$dropped" -eq 0 ] && [ "$errors" -eq 0 ] &&
        [ $((peak_kb - start_kb)) -lt "$RSS_LIMIT_KB" ] && [ $((hwm_kb - start_kb)) -lt "$RSS_LIMIT_KB" ] &&
        [ "$others_ok" = yes ] && [ "$during" = yes ]; then
        report "$stage" flood ok "$what"
    else
        [ "$status" -ne 0 ] && what="the flooding client failed ($(tr '\n' ' ' <"$LIB_TMP/flood.out")); $what"
        [ "$during" = yes ] || what="$what; the flood had ended before the others were done"
        report "$stage" flood FAIL "$what; $errors error lines"
    fi
    stop_all
}

check_fdsetsize() {
    local stage=$1 base summary served refused told rejected
    if [ "$QUICK" -eq 1 ]; then
        report "$stage" fdsetsize skip "--quick: tests/03-selectors.bats checks it"
        return
    fi
    if [ "$FD_LIMIT" -lt $((BEYOND + 64)) ]; then
        report "$stage" fdsetsize skip "needs $((BEYOND + 64)) descriptors, ulimit -n allows $FD_LIMIT (hard limit $(ulimit -Hn))"
        return
    fi
    start "$stage" fdsetsize || return
    base=$(fd_count "$SERVER_PID")
    summary=$(timeout 120 "$TOOLS_DIR/many-clients" -n "$BEYOND" -l 1 -s 3 -r -t 60 "$PORT" \
        2>"$LIB_TMP/beyond.err")
    served=-1 refused=-1
    if [[ $summary =~ ^clients=$BEYOND\ served=([0-9]+)\ refused=([0-9]+)\ cut=0\ failed=0\  ]]; then
        served=${BASH_REMATCH[1]} refused=${BASH_REMATCH[2]}
    fi
    told=$(sed -n 's/.*it was told: //p' "$LIB_TMP/beyond.err")
    rejected=$(grep -c "rechazado: descriptor [0-9]* >= FD_SETSIZE ($FD_SETSIZE)" "$SERVER_OUT")
    local what="$BEYOND clients: $served served, $refused refused (told: $told; $rejected 'rechazado' lines); $base fds open before, so at least $((FD_SETSIZE - base)) servable"
    if [ "$served" -ge $((FD_SETSIZE - base)) ] && [ "$refused" -ge 1 ] &&
        [ $((served + refused)) -eq "$BEYOND" ] && [ "$rejected" -eq "$refused" ] &&
        [ "$told" = "b'Error: servidor lleno, intente m\\xc3\\xa1s tarde\\r\\n'" ] &&
        [ "$(stderr_lines "$SERVER_ERR")" -eq 0 ] && alive "$SERVER_PID"; then
        report "$stage" fdsetsize ok "$what"
    else
        report "$stage" fdsetsize FAIL "$what; ${summary:-no summary}"
    fi
    stop_all
}

echo "stress: ${#STAGES[@]} stages, $([ "$QUICK" -eq 1 ] && echo quick || echo full) run; ulimit -n $FD_LIMIT; binaries: $BUILD_DIR"
for stage in "${STAGES[@]}"; do
    if [ ! -x "$(stage_bin "$stage")" ]; then
        report "$stage" - FAIL "not built: $(stage_bin "$stage")"
        continue
    fi
    check_cycles "$stage"
    check_clients "$stage"
    check_flood "$stage"
    case $stage in *select-lines) check_fdsetsize "$stage" ;; esac
done
if [ "$FAILED" -ne 0 ]; then
    echo "stress: FAILED; the checks that failed, again:"
    printf '  %s\n' "${FAILURES[@]}"
    exit 1
fi
echo "stress: no failure in ${SECONDS} s ($SKIPPED checks skipped)"
