#!/usr/bin/env bats
# Chapter 3, section 3 "the fix": chapters/chapter-03/03-selectors/*.c. What the line stages
# (03-02 select, 03-03 poll, 03-04 epoll, and sections 4 and 5) promise in common, FD_SETSIZE
# and running out of descriptors included, is checked stage by stage in tests/all-stages.bats.

load helpers
load line-stages

# --- 01-select-wait -------------------------------------------------------------------------

@test "01-select-wait: sleeps in select(), 'No hay eventos...' each quiet second; pieces still lost" {
    start_server 03-selectors/01-select-wait "$PORT_UNDER_TEST"
    send_line "$PORT_UNDER_TEST" 'Hola Mundo\r\n' >"$LIB_TMP/client.out"
    assert_client_received client 'Hola Mundo\r\n'
    # 02-eagain-loop's reading, as it was: "Ho", then EAGAIN, and "Ho" is lost (flaw 2). The
    # quiet second that follows proves the server went back to sleep before "la\r\n" came.
    client_open one "$PORT_UNDER_TEST"
    client_send one 'Ho'
    wait_server_line "Data leida: b'Ho'"
    wait_until 3 _last_line_is "No hay eventos, esperando un poco más!"
    client_send one 'la\r\n'
    wait_client_output one 'la\r\n'
    assert_equal "$(normalize_ports <"$SERVER_OUT" | grep -vxF "No hay eventos, esperando un poco más!")" \
        "$(printf '%s\n' "$CONNECT" "Data leida: b'Ho'" "Data leida: b'la'" "Data leida: b' M'" \
            "Data leida: b'un'" "Data leida: b'do'" "Data leida: b'\\r\\n'" \
            "Toda la data leida: b'Hola Mundo\\r\\n'" "Toda la data leida: b''" "$LEFT" \
            "$CONNECT" "Data leida: b'Ho'" "Data leida: b'la'" "Data leida: b'\\r\\n'" \
            "Toda la data leida: b'la\\r\\n'")"
    assert_no_errors
}
_last_line_is() { [ "$(last_server_line)" = "$1" ]; }

@test "01-select-wait: an idle client holds up nobody; hang-up and reset are noticed, no spin" {
    start_server 03-selectors/01-select-wait "$PORT_UNDER_TEST"
    client_open idle "$PORT_UNDER_TEST"
    wait_server_line "$CONNECT"
    send_line "$PORT_UNDER_TEST" 'Hola\r\n' >"$LIB_TMP/busy.out"
    assert_client_received busy 'Hola\r\n'
    assert_client_received idle ''
    client_kill idle                       # the book's listing would spin on this socket
    wait_until 2 _left_is 2
    cpu=$(cpu_percent "$SERVER_PID" 0.5)
    [ "$cpu" -lt 30 ] || { echo "the server used $cpu% of a core after a hang-up" >&2; false; }
    "$TOOLS_DIR/misbehave" reset "$PORT_UNDER_TEST" ''   # (with data, its echo might fail first)
    wait_until 3 _left_is 3
    # (each second without an event adds "No hay eventos...": how many depends on the load)
    assert_equal "$(normalize_ports <"$SERVER_OUT" | grep -vxF "No hay eventos, esperando un poco más!")" \
        "$(printf '%s\n' "$CONNECT" "$CONNECT" "Data leida: b'Ho'" "Data leida: b'la'" \
            "Data leida: b'\\r\\n'" "Toda la data leida: b'Hola\\r\\n'" \
            "Toda la data leida: b''" "$LEFT" "Toda la data leida: b''" "$LEFT" "$CONNECT" "$LEFT")"
    # a reset is reported as the failed recv() it is, as in 02-eagain-loop
    assert_equal "$(cat "$SERVER_ERR")" "01-select-wait: recv: Connection reset by peer (errno 104, ECONNRESET)"
    assert_still_serving "$PORT_UNDER_TEST"
}
_left_is() { [ "$(count_lines "$SERVER_OUT" "$LEFT")" -eq "$1" ]; }

@test "01-select-wait: a client that never reads does not hold up the others" {
    start_server 03-selectors/01-select-wait "$PORT_UNDER_TEST"
    "$TOOLS_DIR/misbehave" no-read "$PORT_UNDER_TEST" 2 >/dev/null &
    LIB_PIDS+=("$!")
    wait_until 5 grep -q "^Toda la data leida: b'xxxx" "$SERVER_OUT"
    assert_still_serving "$PORT_UNDER_TEST"
    alive "$SERVER_PID"
}

@test "01-select-wait: a client beyond FD_SETSIZE is one too many: closed, the others served" {
    # descriptors 3..1023 taken, then 3 and 4 freed: the listening socket is 3, the first
    # client 4, the next one 1024, which FD_SET() would write outside its fd_set
    start_program select-wait "$PORT_UNDER_TEST" bash -c \
        'for fd in $(seq 3 1023); do eval "exec $fd</dev/null"; done; exec 3<&- 4<&-; exec "$@"' \
        _ "$(stage_bin 03-selectors/01-select-wait)"
    client_open one "$PORT_UNDER_TEST"
    wait_server_line "$CONNECT"
    send_line "$PORT_UNDER_TEST" 'Hola\r\n' >"$LIB_TMP/two.out"
    assert_client_received two ''
    wait_server_line "Demasiados clientes (1024): se cierra ('127.0.0.1', PORT)"
    client_send one 'Hola\r\n'
    wait_client_output one 'Hola\r\n'
    assert_no_errors
}

@test "01-select-wait: a listening socket at FD_SETSIZE or above ends it with one clear line" {
    # an inherited descriptor table: descriptors 3..1030 already open, so the listening socket
    # is 1031 (without the check, FD_SET() would write past the fd_set)
    run bash -c 'for fd in $(seq 3 1030); do eval "exec $fd</dev/null"; done; exec timeout 5 "$@"' \
        _ "$(stage_bin 03-selectors/01-select-wait)" "$PORT_UNDER_TEST"
    assert_failure 1
    assert_output "01-select-wait: socket de escucha >= FD_SETSIZE: select() no puede vigilarlo"
}
