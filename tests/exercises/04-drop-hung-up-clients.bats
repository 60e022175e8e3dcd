#!/usr/bin/env bats
# Exercise 4: a select() echo server that notices, reports and closes a client that hangs up.

load exercise

CONNECTED="Cliente connectandose desde ('127.0.0.1', PORT)"
GONE="Cliente ('127.0.0.1', PORT) desconectado"

# The number of open descriptors of the server.
open_fds() { find "/proc/$SERVER_PID/fd" -mindepth 1 -maxdepth 1 | wc -l; }

@test "04: a client that hangs up is noticed: 'Cliente (...) desconectado'" {
    start_exercise
    send_line "$PORT_UNDER_TEST" 'Hola\r\n' "$WAIT" >"$LIB_TMP/client.out"
    assert_client_received client 'Hola\r\n'
    assert_server_lines "$CONNECTED" "Data leida: b'Hola\\r\\n'" "$GONE"
}

@test "04: after a hang-up the server sleeps in select() again (idle CPU under 20%)" {
    start_exercise
    send_line "$PORT_UNDER_TEST" 'Hola\r\n' "$WAIT" >/dev/null
    cpu=$(cpu_percent "$SERVER_PID" 0.5)
    echo "server CPU after the client left: $cpu% of a core" >&2
    [ "$cpu" -lt 20 ]
}

@test "04: the socket of a client that hung up is closed (no descriptor leak)" {
    start_exercise
    before=$(open_fds)
    for i in 1 2 3 4 5; do
        send_line "$PORT_UNDER_TEST" "cliente $i\\r\\n" "$WAIT" >/dev/null
    done
    wait_until "$WAIT" _all_gone 5 || true
    assert_equal "$(open_fds)" "$before"
}
_all_gone() { [ "$(count_lines "$SERVER_OUT" "$GONE")" -ge "$1" ]; }

@test "04: while one client hangs up, another one is still served" {
    start_exercise
    client_open stays "$PORT_UNDER_TEST"
    wait_server_line "$CONNECTED" "$WAIT"
    send_line "$PORT_UNDER_TEST" 'me voy\r\n' "$WAIT" >/dev/null
    client_write stays 'sigo aqui\r\n'
    expect_echo stays 'sigo aqui\r\n'
    assert_equal "$(count_lines "$SERVER_OUT" "$GONE")" 1
}

@test "04: a client that resets: one clear line on stderr, it is forgotten, the server goes on" {
    start_exercise
    "$TOOLS_DIR/misbehave" reset "$PORT_UNDER_TEST" 'Hola'
    wait_server_line "$GONE" "$WAIT"
    # recv() or send() meets the reset first, depending on when it arrives: either says so.
    [[ $(cat "$SERVER_ERR") =~ ^$(exercise_program):\ (recv|send):\ Connection\ reset\ by\ peer\ \(errno\ 104,\ ECONNRESET\)$ ]] || {
        echo "expected one line on stderr: $(exercise_program): recv: Connection reset by peer ..." >&2
        cat "$SERVER_ERR" >&2
        return 1
    }
    send_line "$PORT_UNDER_TEST" 'Hola\r\n' "$WAIT" >"$LIB_TMP/after.out"
    assert_client_received after 'Hola\r\n'
}
