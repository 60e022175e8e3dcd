#!/usr/bin/env bats
# Chapter 3, section 3 "the fix": chapters/chapter-03/03-selectors/*.c. What the line stages
# (03-02 select, 03-03 poll, 03-04 epoll, and sections 4 and 5) promise in common, FD_SETSIZE
# and running out of descriptors included, is checked stage by stage in tests/all-stages.bats.

load helpers
load line-stages

# --- 01-select-wait -------------------------------------------------------------------------

@test "01-select-wait: echoes each recv(1024) as it comes, then 'No hay eventos...' when quiet" {
    start_server 03-selectors/01-select-wait "$PORT_UNDER_TEST"
    send_line "$PORT_UNDER_TEST" 'Hola Mundo\r\n' >"$LIB_TMP/client.out"
    assert_client_received client 'Hola Mundo\r\n'
    # not lines yet: "Ho", a pause, "la\r\n" are two reads, two echoes
    client_open one "$PORT_UNDER_TEST"
    client_send one 'Ho'
    wait_client_output one 'Ho'
    client_send one 'la\r\n'
    wait_client_output one 'Hola\r\n'
    # then a quiet second: "No hay eventos..." after the last event (a loaded machine may
    # also leave a quiet second between two events: those lines are not counted)
    wait_until 3 _last_line_is "No hay eventos, esperando un poco más!"
    assert_equal "$(normalize_ports <"$SERVER_OUT" | grep -vxF "No hay eventos, esperando un poco más!")" \
        "$(printf '%s\n' "$CONNECT" "Data leida: b'Hola Mundo\\r\\n'" "$LEFT" \
            "$CONNECT" "Data leida: b'Ho'" "Data leida: b'la\\r\\n'")"
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
    wait_server_line "$RESET"
    # (each second without an event adds "No hay eventos...": how many depends on the load)
    assert_equal "$(normalize_ports <"$SERVER_OUT" | grep -vxF "No hay eventos, esperando un poco más!")" \
        "$(printf '%s\n' "$CONNECT" "$CONNECT" "Data leida: b'Hola\\r\\n'" "$LEFT" "$LEFT" "$CONNECT" "$RESET")"
    assert_no_errors
    assert_still_serving "$PORT_UNDER_TEST"
}
_left_is() { [ "$(count_lines "$SERVER_OUT" "$LEFT")" -eq "$1" ]; }

@test "01-select-wait: a client that never reads is let go, saying why (no output queue yet)" {
    start_server 03-selectors/01-select-wait "$PORT_UNDER_TEST" -q
    "$TOOLS_DIR/misbehave" no-read "$PORT_UNDER_TEST" 1 >/dev/null &
    LIB_PIDS+=("$!")
    wait_server_line "Cliente ('127.0.0.1', PORT) descartado: no lee lo que le devolvemos" 3
    assert_server_output "$CONNECT" "Cliente ('127.0.0.1', PORT) descartado: no lee lo que le devolvemos"
    assert_no_errors
    assert_still_serving "$PORT_UNDER_TEST"
}
