#!/usr/bin/env bats
# Exercise 5: the busy loop with a short nanosleep() after every pass.
# The CPU threshold is generous (the lesson is 100% against a few %); the context-switch check
# does not depend on the machine's load: a loop that never sleeps never gives the CPU back.

load exercise

# voluntary_switches PID: how many times PID has given up the CPU by itself (sleeping, waiting).
voluntary_switches() { awk '/^voluntary_ctxt_switches:/ { print $2 }' "/proc/$1/status"; }

@test "05: with one silent client, the idle server uses less than 30% of a core" {
    start_exercise
    client_open idle "$PORT_UNDER_TEST"
    cpu=$(cpu_percent "$SERVER_PID" 0.5)
    echo "idle server CPU: $cpu% of a core" >&2
    [ "$cpu" -lt 30 ]
}

@test "05: while idle, the loop sleeps: it keeps giving the CPU back (voluntary context switches)" {
    start_exercise
    client_open idle "$PORT_UNDER_TEST"
    before=$(voluntary_switches "$SERVER_PID")
    sleep 0.3
    after=$(voluntary_switches "$SERVER_PID")
    echo "voluntary context switches in 0.3 s: $((after - before))" >&2
    [ $((after - before)) -ge 10 ]
}

@test "05: the echo still arrives, well within a second" {
    start_exercise
    send_line "$PORT_UNDER_TEST" 'Hola Mundo\r\n' 1 >"$LIB_TMP/client.out"
    assert_client_received client 'Hola Mundo\r\n'
}

@test "05: exercises 2 and 3 still hold: 'Ho', pause, 'la\\r\\n\\n' echoes 'Hola\\r\\n'" {
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    client_write one 'Ho'
    wait_server_line "Data leida: b'Ho'" "$WAIT"
    sleep 0.1
    client_write one 'la\r\n\n'
    expect_echo one 'Hola\r\n'
    assert_server_lines "Cliente connectandose desde ('127.0.0.1', PORT)" \
        "Data leida: b'Ho'" "Data leida: b'la'" "Data leida: b'\\r\\n'" \
        "Toda la data leida: b'Hola\\r\\n'" "Data leida: b'\\n'"
}

@test "05: a bad \$SLEEP_US is refused at start-up with a line on stderr that names it" {
    status=0
    SLEEP_US=abc timeout 2 "$EXERCISE_BIN" "$PORT_UNDER_TEST" >"$LIB_TMP/out" 2>"$LIB_TMP/err" \
        3>&- </dev/null || status=$?
    cat "$LIB_TMP/err" >&2
    [ "$status" -ne 0 ] && [ "$status" -ne 124 ]     # 124: still running after 2 s
    grep -q "SLEEP_US" "$LIB_TMP/err"
}
