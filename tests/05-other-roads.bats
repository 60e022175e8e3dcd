#!/usr/bin/env bats
# Chapter 3, section 5 "the other roads": chapters/chapter-03/05-other-roads/*.c, a process per
# client, a thread per client and io_uring: what is each road's own: no zombie left by fork,
# threads that come and go, the totals only threads can keep.
#
# OTHER_ROADS_STAGES (a list of stages) narrows the run: `make check-tsan` runs the thread
# stage alone, built with ThreadSanitizer.

load helpers
load line-stages

FORK=05-other-roads/01-fork-per-client
THREAD=05-other-roads/02-thread-per-client
URING=05-other-roads/03-io-uring-lines
URING_MISSING="03-io-uring-lines was not built: liburing not found (make said so; sudo apt-get install liburing-dev)"

if [ -n "${OTHER_ROADS_STAGES:-}" ]; then
    read -r -a LINE_STAGES <<<"$OTHER_ROADS_STAGES"
else
    LINE_STAGES=("$FORK" "$THREAD")
    [ -x "$(stage_bin "$URING")" ] && LINE_STAGES+=("$URING")
fi

# only STAGE: skip this test unless STAGE is among those under test (and built).
only() {
    case " ${LINE_STAGES[*]} " in *" $1 "*) ;; *) skip "$1 not under test (OTHER_ROADS_STAGES, or not built)" ;; esac
}

# The promises of section 3 (lines, misbehaving clients, load, running out of descriptors)
# are checked stage by stage, these roads included, in tests/all-stages.bats.

# --- 01-fork-per-client ------------------------------------------------------------------------

# children PID: the processes whose parent is PID, one "PID STATE" line each.
children() {
    local child f
    for child in $(children_of "$1"); do
        proc_stat f "$child" && echo "$child ${f[0]}"
    done
}
_children_are() { [ "$(children "$SERVER_PID" | wc -l)" -eq "$1" ]; }

@test "01-fork-per-client: one process per client, and not one zombie once they have left" {
    only "$FORK"
    start_server "$FORK" "$PORT_UNDER_TEST"
    for name in uno dos tres; do client_open "$name" "$PORT_UNDER_TEST"; done
    wait_until 3 _children_are 3 || { echo "expected 3 children:" >&2; children "$SERVER_PID" >&2; false; }
    # each child is a process of its own, asleep (S) in its client's recv()
    [ "$(children "$SERVER_PID" | awk '$2 == "S"' | wc -l)" -eq 3 ]
    client_send dos 'Hola\r\n'
    wait_client_output dos 'Hola\r\n'
    for name in uno dos tres; do client_kill "$name"; done
    # SIGCHLD reaps them: no child left, not even as a zombie (state Z, <defunct>)
    wait_until 3 _children_are 0 || { echo "children left:" >&2; children "$SERVER_PID" >&2; false; }
    assert_equal "$(count_lines "$SERVER_OUT" "$LEFT")" 3
    assert_still_serving "$PORT_UNDER_TEST"
    wait_until 3 _children_are 0
    assert_no_errors
}

# --- 02-thread-per-client ----------------------------------------------------------------------

threads_of() { local n; proc_field n "$1" Threads && echo "$n"; }
_threads_are() { [ "$(threads_of "$SERVER_PID")" -eq "$1" ]; }
# threads_at_rest: the server's threads with no client: main (in accept) and the one waiting
# for signals (in sigwait); ThreadSanitizer's runtime adds one of its own.
threads_at_rest() {
    BASE=$(threads_of "$SERVER_PID")
    assert_equal "$BASE" "$([ -n "${TSAN_OPTIONS:-}" ] && echo 3 || echo 2)"
}

@test "02-thread-per-client: a thread per client, back to 2 when they leave; totals on SIGTERM" {
    only "$THREAD"
    start_server "$THREAD" "$PORT_UNDER_TEST"
    threads_at_rest
    for name in uno dos tres; do client_open "$name" "$PORT_UNDER_TEST"; done
    wait_until 3 _threads_are $((BASE + 3)) || { echo "threads: $(threads_of "$SERVER_PID"), expected $((BASE + 3))" >&2; false; }
    client_send uno 'Uno\r\nDos\r\n'
    wait_client_output uno 'Uno\r\nDos\r\n'
    client_send dos 'Tres\r\n'
    wait_client_output dos 'Tres\r\n'
    for name in uno dos tres; do client_kill "$name"; done
    wait_until 3 _threads_are "$BASE" || { echo "threads left: $(threads_of "$SERVER_PID")" >&2; false; }
    # the counters every thread shared: 3 clients, 3 lines
    kill -TERM "$SERVER_PID"
    wait_exit "$SERVER_PID"
    assert_equal "$EXIT_STATUS" 0
    assert_equal "$(last_server_line)" "Servidor detenido (SIGTERM). Clientes atendidos: 3, líneas devueltas: 3"
    assert_no_errors
}

@test "02-thread-per-client: 200 clients at once, every line counted once (the mutex)" {
    only "$THREAD"
    start_server "$THREAD" "$PORT_UNDER_TEST" -q
    threads_at_rest
    summary=$("$TOOLS_DIR/many-clients" -n 200 -l 20 -m 64 -p 8 "$PORT_UNDER_TEST")
    assert_equal "${summary% seconds=*}" "clients=200 served=200 refused=0 cut=0 failed=0 lines=4000/4000"
    wait_until 3 _threads_are "$BASE"
    kill -INT "$SERVER_PID"
    wait_exit "$SERVER_PID"
    assert_equal "$(last_server_line)" "Servidor detenido (SIGINT). Clientes atendidos: 200, líneas devueltas: 4000"
}

# --- 03-io-uring-lines -------------------------------------------------------------------------

@test "03-io-uring-lines: built where liburing is (else skipped, saying why)" {
    [ -n "${OTHER_ROADS_STAGES:-}" ] && only "$URING"
    [ -x "$(stage_bin "$URING")" ] || skip "$URING_MISSING"
    start_server "$URING" "$PORT_UNDER_TEST" -q
    # one thread, thousands of clients: 1000 at once
    summary=$("$TOOLS_DIR/many-clients" -n 1000 -l 2 "$PORT_UNDER_TEST")
    assert_equal "${summary% seconds=*}" "clients=1000 served=1000 refused=0 cut=0 failed=0 lines=2000/2000"
    assert_no_errors
}
