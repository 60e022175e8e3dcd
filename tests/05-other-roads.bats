#!/usr/bin/env bats
# Chapter 3, section 5 "the other roads": chapters/chapter-03/05-other-roads/*.c, a process per
# client, a thread per client and io_uring: what is each road's own: no zombie left by fork,
# threads that come and go, the totals only threads can keep; and how each one stops: a
# bounded number of children or threads, and on SIGINT/SIGTERM the words of 04-02's graceful
# shutdown, with no child left serving after its server.
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

# apagando SIGNAL CONNECTED: what the fork and thread stages print when the signal arrives
# (04-02's line, without its pending replies: these stages queue none).
apagando() {
    echo "Apagando ($1): ya no se aceptan clientes. Conectados: $2; plazo: 2 s (otra señal: cerrar ya)"
}
CUT="Plazo agotado; se cierran los que quedan:"
FULL_REPLY='Error: servidor lleno, intente más tarde\r\n'
REFUSED_FULL="Cliente ('127.0.0.1', PORT) rechazado: demasiados clientes (1024)"

# _limit_refuses: the current server (start_server) holds 1024 clients, 1023 silent ones and
# one that talks; the 1025th is told the server is full, closed, and printed as refused, while
# the one that talks is still echoed. Once the crowd has left, a new client is served.
_limit_refuses() {
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    [ "$(ulimit -n)" -ge 1100 ] || skip "needs 1100 open files (ulimit -n is $(ulimit -n))"
    local crowd
    "$TOOLS_DIR/loadgen" hold "$PORT_UNDER_TEST" 1023 60 >"$LIB_TMP/hold.out" 3>&- &
    crowd=$!
    LIB_PIDS+=("$crowd")
    wait_until 30 grep -qx connected=1023 "$LIB_TMP/hold.out"
    client_open talker "$PORT_UNDER_TEST"
    wait_until 30 _connects_are 1024 || { echo "connects: $(count_lines "$SERVER_OUT" "$CONNECT")" >&2; false; }
    # (time-outs to give up, not to take: 1024 sanitized children on a crowded machine)
    # The refused client only listens (nc -d): had it sent a line, the server's close() with
    # those bytes unread would answer with a reset, which may reach the client before it has
    # read the reply, depending on which side runs first.
    timeout 20 nc -d 127.0.0.1 "$PORT_UNDER_TEST" >"$LIB_TMP/extra.out" 3>&- || true
    assert_client_received extra "$FULL_REPLY"
    wait_server_line "$REFUSED_FULL" 20
    client_send talker 'Sigo\r\n'
    wait_client_output talker 'Sigo\r\n' 20
    assert_equal "$(count_lines "$SERVER_OUT" "$REFUSED_FULL")" 1
    assert_equal "$(count_lines "$SERVER_OUT" "$CONNECT")" 1024
    kill "$crowd"
    wait "$crowd" 2>/dev/null || true
    wait_until 30 _leaves_are 1023 || { echo "leaves: $(count_lines "$SERVER_OUT" "$LEFT")" >&2; false; }
    assert_still_serving "$PORT_UNDER_TEST"
    assert_no_errors
}
_connects_are() { [ "$(count_lines "$SERVER_OUT" "$CONNECT")" -eq "$1" ]; }
_leaves_are() { [ "$(count_lines "$SERVER_OUT" "$LEFT")" -ge "$1" ]; }

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

@test "01-fork-per-client: 1024 children at most; the next client is told the server is full" {
    only "$FORK"
    start_server "$FORK" "$PORT_UNDER_TEST" -q
    _limit_refuses
}

# _gone PID START: the process PID that started at START (process_start) no longer exists
# (its number may have been given to another process since: the start time tells them apart).
_gone() { [ "$(process_start "$1")" != "$2" ]; }

@test "01-fork-per-client: SIGTERM: once the server has ended, not one of its children is left" {
    only "$FORK"
    local child started=()
    start_server "$FORK" "$PORT_UNDER_TEST"
    for name in uno dos tres; do client_open "$name" "$PORT_UNDER_TEST"; done
    wait_until 3 _children_are 3 || { echo "expected 3 children:" >&2; children "$SERVER_PID" >&2; false; }
    for child in $(children_of "$SERVER_PID"); do started+=("$child:$(process_start "$child")"); done
    kill -TERM "$SERVER_PID"
    wait_exit "$SERVER_PID" 5
    # every child has ended, and was reaped by its server: none lives on with PPID 1
    for child in "${started[@]}"; do
        _gone "${child%%:*}" "${child#*:}" || { echo "child ${child%%:*} outlived its server" >&2; false; }
    done
    assert_equal "$EXIT_STATUS" 0
    assert_server_output "$CONNECT" "$CONNECT" "$CONNECT" "$(apagando SIGTERM 3)" \
        "$CUT 3" "$LEFT" "$LEFT" "$LEFT" "Servidor detenido. Clientes atendidos: 3"
    assert_no_errors
}

@test "01-fork-per-client: SIGTERM: stops accepting; who leaves within 2 s is not cut, the rest are" {
    only "$FORK"
    start_server "$FORK" "$PORT_UNDER_TEST"
    for name in uno dos; do client_open "$name" "$PORT_UNDER_TEST"; done
    wait_until 3 _children_are 2
    client_send dos 'Hol'                      # in the middle of a line
    PORT=$PORT_UNDER_TEST wait_until 3 server_has_read 3
    kill -TERM "$SERVER_PID"
    wait_server_line "$(apagando SIGTERM 2)"
    if port_listening "$PORT_UNDER_TEST"; then echo "still accepting after SIGTERM" >&2; false; fi
    client_kill uno                            # leaves within the grace period: its child ends
    wait_exit "$SERVER_PID" 4
    assert_equal "$EXIT_STATUS" 0
    assert_server_output "$CONNECT" "$CONNECT" "$(apagando SIGTERM 2)" "$LEFT" \
        "$CUT 1" "$LEFT" "Servidor detenido. Clientes atendidos: 2"
    assert_no_errors
}

@test "01-fork-per-client: SIGINT with no client ends at once; a second signal does not wait" {
    only "$FORK"
    start_server "$FORK" "$PORT_UNDER_TEST"
    kill -INT "$SERVER_PID"
    wait_exit "$SERVER_PID" 1
    assert_equal "$EXIT_STATUS" 0
    assert_server_output "$(apagando SIGINT 0)" "Servidor detenido. Clientes atendidos: 0"
    start_server "$FORK" "$PORT_UNDER_TEST"
    client_open stays "$PORT_UNDER_TEST"
    wait_until 3 _children_are 1
    kill -TERM "$SERVER_PID"
    wait_server_line "$(apagando SIGTERM 1)"
    kill -INT "$SERVER_PID"
    wait_exit "$SERVER_PID" 1
    assert_server_output "$CONNECT" "$(apagando SIGTERM 1)" "Segunda señal: se cierra ya" "$LEFT" \
        "Servidor detenido. Clientes atendidos: 1"
    assert_no_errors
}

# --- 02-thread-per-client ----------------------------------------------------------------------

threads_of() { local n; proc_field n "$1" Threads && echo "$n"; }
_threads_are() { [ "$(threads_of "$SERVER_PID")" -eq "$1" ]; }
# threads_at_rest: a server just started has one thread, main (in poll). threads_with N: how
# many it has once it has served clients, N of them still there: main, one per client, and
# under ThreadSanitizer one more, which its runtime starts with the stage's first thread.
threads_at_rest() { assert_equal "$(threads_of "$SERVER_PID")" 1; }
threads_with() { echo $((1 + $1 + $([ -n "${TSAN_OPTIONS:-}" ] && echo 1 || echo 0))); }

@test "02-thread-per-client: a thread per client, gone when it leaves; totals on SIGTERM" {
    only "$THREAD"
    start_server "$THREAD" "$PORT_UNDER_TEST"
    threads_at_rest
    for name in uno dos tres; do client_open "$name" "$PORT_UNDER_TEST"; done
    wait_until 3 _threads_are "$(threads_with 3)" || { echo "threads: $(threads_of "$SERVER_PID"), expected $(threads_with 3)" >&2; false; }
    client_send uno 'Uno\r\nDos\r\n'
    wait_client_output uno 'Uno\r\nDos\r\n'
    client_send dos 'Tres\r\n'
    wait_client_output dos 'Tres\r\n'
    for name in uno dos tres; do client_kill "$name"; done
    wait_until 3 _threads_are "$(threads_with 0)" || { echo "threads left: $(threads_of "$SERVER_PID")" >&2; false; }
    # the counters every thread shared: 3 clients, 3 lines
    kill -TERM "$SERVER_PID"
    wait_exit "$SERVER_PID"
    assert_equal "$EXIT_STATUS" 0
    assert_equal "$(last_server_line)" "Servidor detenido. Clientes atendidos: 3, líneas devueltas: 3"
    assert_no_errors
}

@test "02-thread-per-client: 200 clients at once, every line counted once (the mutex)" {
    only "$THREAD"
    start_server "$THREAD" "$PORT_UNDER_TEST" -q
    threads_at_rest
    summary=$("$TOOLS_DIR/many-clients" -n 200 -l 20 -m 64 -p 8 "$PORT_UNDER_TEST")
    assert_equal "${summary% seconds=*}" "clients=200 served=200 refused=0 cut=0 failed=0 lines=4000/4000"
    wait_until 3 _threads_are "$(threads_with 0)"
    kill -INT "$SERVER_PID"
    wait_exit "$SERVER_PID"
    assert_equal "$(last_server_line)" "Servidor detenido. Clientes atendidos: 200, líneas devueltas: 4000"
}

@test "02-thread-per-client: 1024 threads at most; the next client is told the server is full" {
    only "$THREAD"
    start_server "$THREAD" "$PORT_UNDER_TEST" -q
    _limit_refuses
}

@test "02-thread-per-client: SIGTERM mid-line: its line may still come within 2 s, then it is cut" {
    only "$THREAD"
    local start elapsed_ms
    start_server "$THREAD" "$PORT_UNDER_TEST"
    client_open uno "$PORT_UNDER_TEST"
    client_open dos "$PORT_UNDER_TEST"
    wait_until 3 _connects_are 2
    client_send uno 'Hol'
    client_send dos 'Hol'
    wait_until 3 _read_from_both
    start=$(date +%s%N)
    kill -TERM "$SERVER_PID"
    wait_server_line "$(apagando SIGTERM 2)"
    if port_listening "$PORT_UNDER_TEST"; then echo "still accepting after SIGTERM" >&2; false; fi
    # uno finishes its line within the grace period: its thread echoes it, then uno leaves
    client_send uno 'a\r\n'
    wait_client_output uno 'Hola\r\n'
    client_kill uno
    # dos never does: at the deadline its thread is woken and ends, and the server with it
    # (not before the 2 s; the upper bound only says it does not hang)
    wait_exit "$SERVER_PID" 6
    assert_equal "$EXIT_STATUS" 0
    elapsed_ms=$((($(date +%s%N) - start) / 1000000))
    [ "$elapsed_ms" -ge 1900 ] && [ "$elapsed_ms" -lt 6000 ] || { echo "it took $elapsed_ms ms" >&2; false; }
    assert_server_output "$CONNECT" "$CONNECT" "$(apagando SIGTERM 2)" "Toda la data leida: b'Hola\\r\\n'" \
        "$LEFT" "$CUT 1" "$LEFT" "Servidor detenido. Clientes atendidos: 2, líneas devueltas: 1"
    assert_client_received dos ''
    assert_no_errors
}
# _read_from_both: the server has read the 3 bytes of each of its two clients.
_read_from_both() {
    [ "$(ss -Htin state established "( sport = :$PORT_UNDER_TEST )" 2>/dev/null | grep -cE 'bytes_received:3( |$)')" -eq 2 ] &&
        [ "$(recv_queue "$PORT_UNDER_TEST")" -eq 0 ]
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

# apagando_queued SIGNAL CONNECTED PENDING: what io_uring prints when the signal arrives: the
# line of 04-02, whose shutdown it copies, pending replies included.
apagando_queued() {
    echo "Apagando ($1): ya no se aceptan clientes. Conectados: $2, con respuestas pendientes: $3; plazo: 2 s (otra señal: cerrar ya)"
}
uring_only() {
    [ -n "${OTHER_ROADS_STAGES:-}" ] && only "$URING"
    [ -x "$(stage_bin "$URING")" ] || skip "$URING_MISSING"
}

@test "03-io-uring-lines: SIGINT: stops accepting, FIN, lets its clients leave, totals, exit 0" {
    uring_only
    start_server "$URING" "$PORT_UNDER_TEST"
    send_line "$PORT_UNDER_TEST" 'Hola\r\n' >"$LIB_TMP/first.out"
    assert_client_received first 'Hola\r\n'
    client_open idle "$PORT_UNDER_TEST"
    wait_until 2 _connects_are 2
    kill -INT "$SERVER_PID"
    wait_server_line "$(apagando_queued SIGINT 1 0)"
    if port_listening "$PORT_UNDER_TEST"; then echo "still accepting after SIGINT" >&2; false; fi
    client_close idle                       # Ctrl-D in that nc: it has already seen our FIN
    wait_exit "$SERVER_PID" 2
    assert_equal "$EXIT_STATUS" 0
    assert_server_output "$CONNECT" "Toda la data leida: b'Hola\\r\\n'" "$LEFT" "$CONNECT" \
        "$(apagando_queued SIGINT 1 0)" "$LEFT" "Servidor detenido. Clientes atendidos: 2, líneas devueltas: 1"
    assert_no_errors
    assert_client_received idle ''
    # the port can be used again at once
    start_server "$URING" "$PORT_UNDER_TEST"
}

@test "03-io-uring-lines: SIGTERM with replies still queued: all delivered, exit 0" {
    uring_only
    local client summary echoed
    start_server "$URING" "$PORT_UNDER_TEST" -q
    # 20,000 long lines (10 MB) from a client that reads nothing until told (SIGUSR1; by
    # itself after 9 s): its echoes pile up until the server has replies it cannot send.
    "$TOOLS_DIR/many-clients" -n 1 -l 20000 -m 1000 -p 65536 -w 9000 -R 4096 -c "$PORT_UNDER_TEST" \
        >"$LIB_TMP/client.out" 2>&1 3>&- &
    client=$!
    LIB_PIDS+=("$client")
    PORT=$PORT_UNDER_TEST wait_until 5 _replies_pile_up
    wait_until 5 _queue_full "$PORT_UNDER_TEST"
    kill -TERM "$SERVER_PID"
    wait_server_line "$(apagando_queued SIGTERM 1 1)"
    kill -USR1 "$client" # now it reads: the server has 2 s to deliver what it had queued
    wait_exit "$SERVER_PID" 3
    assert_equal "$EXIT_STATUS" 0
    wait "$client"
    # the client got every line the server echoed, intact, then the server's FIN
    summary=$(cat "$LIB_TMP/client.out")
    [[ $summary =~ ^clients=1\ served=0\ refused=0\ cut=1\ failed=0\ lines=([0-9]+)/20000\  ]]
    echoed=${BASH_REMATCH[1]}
    [ "$echoed" -gt 1000 ]
    assert_server_output "$CONNECT" "$(apagando_queued SIGTERM 1 1)" "$LEFT" \
        "Servidor detenido. Clientes atendidos: 1, líneas devueltas: $echoed"
    assert_no_errors
}
# _queue_full PORT: the server has stopped reading its one client: bytes wait unread in its
# socket (Recv-Q) three looks in a row, so its own queue of replies is full (back-pressure).
_queue_full() {
    if [ "$(recv_queue "$1")" -gt 0 ]; then FULL_LOOKS=$((${FULL_LOOKS:-0} + 1)); else FULL_LOOKS=0; fi
    [ "$FULL_LOOKS" -ge 3 ]
}

@test "03-io-uring-lines: a client that stays: closed after 2 s; a second signal: at once" {
    uring_only
    local start elapsed_ms
    start_server "$URING" "$PORT_UNDER_TEST"
    client_open stays "$PORT_UNDER_TEST"
    wait_server_line "$CONNECT"
    start=$(date +%s%N)
    kill -TERM "$SERVER_PID"
    wait_server_line "$(apagando_queued SIGTERM 1 0)"
    wait_exit "$SERVER_PID" 4
    assert_equal "$EXIT_STATUS" 0
    elapsed_ms=$((($(date +%s%N) - start) / 1000000))
    [ "$elapsed_ms" -ge 1900 ] && [ "$elapsed_ms" -lt 3500 ] || { echo "it took $elapsed_ms ms" >&2; false; }
    assert_server_output "$CONNECT" "$(apagando_queued SIGTERM 1 0)" "$CUT 1" "$LEFT" \
        "Servidor detenido. Clientes atendidos: 1, líneas devueltas: 0"

    start_server "$URING" "$PORT_UNDER_TEST"
    client_open impatient "$PORT_UNDER_TEST"
    wait_server_line "$CONNECT"
    kill -TERM "$SERVER_PID"
    wait_server_line "$(apagando_queued SIGTERM 1 0)"
    kill -INT "$SERVER_PID"
    wait_exit "$SERVER_PID" 1
    assert_equal "$EXIT_STATUS" 0
    assert_server_output "$CONNECT" "$(apagando_queued SIGTERM 1 0)" "Segunda señal: se cierra ya" "$LEFT" \
        "Servidor detenido. Clientes atendidos: 1, líneas devueltas: 0"
    assert_no_errors
}
