#!/usr/bin/env bats
# Exercise 5: a select() echo server that notices, reports and closes a client that hangs up.

load exercise

CONNECTED="Cliente connectandose desde ('127.0.0.1', PORT)"
GONE="Cliente ('127.0.0.1', PORT) desconectado"

_gone_count_is() { [ "$(count_lines "$SERVER_OUT" "$GONE")" -ge "$1" ]; }

@test "05: a client that hangs up is reported: 'Cliente (...) desconectado'" {
    start_exercise
    send_line "$PORT_UNDER_TEST" 'Hola\r\n' "$WAIT" >"$LIB_TMP/client.out"
    expect_echo client 'Hola\r\n' "nc -N waits for the server to close the connection too"
    expect_server_lines "recv() returned 0: the client hung up; say so, once" \
        "$CONNECTED" "Data leida: b'Hola\\r\\n'" "$GONE"
}

@test "05: a normal hang-up writes nothing on stderr" {
    start_exercise
    send_line "$PORT_UNDER_TEST" 'Hola\r\n' "$WAIT" >/dev/null
    await_server_line "$GONE" "the client's hang-up was reported"
    sleep 0.1
    [ ! -s "$SERVER_ERR" ] || fail "after a normal hang-up, stderr should stay empty (recv() returning 0 is not an error, and a closed socket must not be used again); it holds:
$(head -n 5 "$SERVER_ERR")"
}

@test "05: after a hang-up the server sleeps in select() again (idle: no CPU used)" {
    start_exercise
    send_line "$PORT_UNDER_TEST" 'Hola\r\n' "$WAIT" >/dev/null
    await_server_line "Data leida: b'Hola\\r\\n'" "the client's message was read"
    expect_idle "the server after the client left" \
        "a hung-up socket left in the set is 'readable' at once, every time: select() never sleeps"
}

@test "05: the socket of a client that hung up is closed (no descriptor leak)" {
    start_exercise
    local before after i
    before=$(open_fds)
    for i in 1 2 3 4 5; do
        send_line "$PORT_UNDER_TEST" "cliente $i\\r\\n" "$WAIT" >/dev/null
    done
    wait_until "$WAIT" _gone_count_is 5 || true
    after=$(open_fds)
    [ "$after" -eq "$before" ] || measured_wrong "open descriptors after 5 clients came and went" \
        "$before, as before them" "$after" "the hung-up clients' sockets were never closed"
}

@test "05: while one client hangs up, another one is still served" {
    start_exercise
    client_open stays "$PORT_UNDER_TEST"
    await_server_line "$CONNECTED" "the client that stays was accepted"
    send_line "$PORT_UNDER_TEST" 'me voy\r\n' "$WAIT" >/dev/null
    await_server_line "$GONE" "the other client's hang-up was reported"
    client_write stays 'sigo aqui\r\n'
    expect_echo stays 'sigo aqui\r\n' "after another client hung up"
    local n
    n=$(count_lines "$SERVER_OUT" "$GONE")
    [ "$n" -eq 1 ] || measured_wrong "'desconectado' lines" 1 "$n" "one client left, once"
}

@test "05: a client that resets: one clear line on stderr, it is forgotten, the server goes on" {
    start_exercise
    "$TOOLS_DIR/misbehave" reset "$PORT_UNDER_TEST" 'Hola'
    await_server_line "$GONE" "the reset client was reported as gone"
    # recv() or send() meets the reset first, depending on when it arrives: either says so.
    [[ $(cat "$SERVER_ERR") =~ ^$(exercise_program):\ (recv|send):\ Connection\ reset\ by\ peer\ \(errno\ 104,\ ECONNRESET\)$ ]] ||
        fail "expected one line on stderr, '$(exercise_program): recv: Connection reset by peer (errno 104, ECONNRESET)'; it holds:
$(head -n 5 "$SERVER_ERR")"
    send_line "$PORT_UNDER_TEST" 'Hola\r\n' "$WAIT" >"$LIB_TMP/after.out"
    expect_echo after 'Hola\r\n' "a new client after the reset"
}

@test "05: a client that sends a lot and never reads does not freeze the others" {
    start_exercise
    "$TOOLS_DIR/misbehave" no-read "$PORT_UNDER_TEST" 60 >/dev/null &   # (stopped by the teardown)
    LIB_PIDS+=("$!")
    # Let its replies pile up until they no longer fit: then a blocking send() would wait.
    await_server_line "$CONNECTED" "the client that never reads was accepted"
    sleep 1
    send_line "$PORT_UNDER_TEST" 'Hola\r\n' "$WAIT" >"$LIB_TMP/other.out"
    expect_echo other 'Hola\r\n' \
        "a send() on a blocking socket waits until the client reads: accepted sockets must be non-blocking"
}
