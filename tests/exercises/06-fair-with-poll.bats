#!/usr/bin/env bats
# Exercise 6: 01-blocking/04-many-clients rewritten around poll(): no client stalls another.

load exercise

READY="Listo para recibir mensajes!"
CONNECTED="Cliente connectandose desde ('127.0.0.1', PORT)"
HOLA_MUNDO=("Data leida: b'Ho'" "Data leida: b'la'" "Data leida: b' M'" "Data leida: b'un'"
    "Data leida: b'do'")

# The document's first client: echo -e "Hola Mundo\r\n" | nc localhost PORT, then it stays.
first_client() {
    client_open one "$PORT_UNDER_TEST"
    client_write one 'Hola Mundo\r\n\n'
    expect_echo one 'Hola Mundo\r\n'
    wait_server_line "Data leida: b'\\n'" "$WAIT"
}

@test "06: no stall: client 2 gets its echo while client 1 stays connected and quiet" {
    start_exercise
    first_client
    client_open two "$PORT_UNDER_TEST"
    client_write two 'Hola Mundo2\r\n\n'         # echo -e "Hola Mundo2\r\n" | nc localhost PORT
    expect_echo two 'Hola Mundo2\r\n'
    assert_server_lines "$READY" \
        "$CONNECTED" "${HOLA_MUNDO[@]}" "Data leida: b'\\r\\n'" \
        "Toda la data leida: b'Hola Mundo\\r\\n'" "Data leida: b'\\n'" \
        "$CONNECTED" "${HOLA_MUNDO[@]}" "Data leida: b'2\\r'" "Data leida: b'\\n\\n'" \
        "Toda la data leida: b'Hola Mundo2\\r\\n'"
}

@test "06: a client with half a message ('Ho') does not hold up the others" {
    start_exercise
    client_open half "$PORT_UNDER_TEST"
    client_write half 'Ho'
    wait_server_line "Data leida: b'Ho'" "$WAIT"
    send_line "$PORT_UNDER_TEST" 'Hola\r\n' "$WAIT" >"$LIB_TMP/other.out"
    assert_client_received other 'Hola\r\n'
    client_write half 'la\r\n'
    expect_echo half 'Hola\r\n'
}

@test "06: client 1 speaks again later and gets its echo, leftover '\\n' first" {
    start_exercise
    first_client
    client_open two "$PORT_UNDER_TEST"
    client_write two 'Hola Mundo2\r\n'
    expect_echo two 'Hola Mundo2\r\n'
    client_write one 'otra vez\r\n'
    expect_echo one 'Hola Mundo\r\n\notra vez\r\n'
    wait_server_line "Toda la data leida: b'\\notra vez\\r\\n'" "$WAIT"
}

@test "06: a client that hangs up is reported and closed; the others are still served" {
    start_exercise
    client_open stays "$PORT_UNDER_TEST"
    wait_server_line "$CONNECTED" "$WAIT"
    send_line "$PORT_UNDER_TEST" 'Hola\r\n' "$WAIT" >"$LIB_TMP/leaves.out"
    assert_client_received leaves 'Hola\r\n'
    wait_server_line "Cliente ('127.0.0.1', PORT) desconectado" "$WAIT"
    client_write stays 'sigo aqui\r\n'
    expect_echo stays 'sigo aqui\r\n'
}

@test "06: waiting costs nothing: with a silent client the server sleeps in poll() (CPU under 20%)" {
    start_exercise
    client_open idle "$PORT_UNDER_TEST"
    wait_server_line "$CONNECTED" "$WAIT"
    cpu=$(cpu_percent "$SERVER_PID" 0.5)
    echo "idle server CPU: $cpu% of a core" >&2
    [ "$cpu" -lt 20 ]
}
