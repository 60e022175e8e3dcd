#!/usr/bin/env bats
# Exercise 2: 02-eagain-loop with a buffer per connection, kept across passes of the loop.

load exercise

CONNECTED="Cliente connectandose desde ('127.0.0.1', PORT)"

@test "02: 'Ho', pause, 'la\\r\\n' echoes the whole 'Hola\\r\\n' (the buffer survives EAGAIN)" {
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    client_write one 'Ho'
    wait_server_line "Data leida: b'Ho'"
    sleep 0.2                                     # many passes of the loop go by: EAGAIN
    client_write one 'la\r\n'
    expect_echo one 'Hola\r\n'
    assert_server_lines "$CONNECTED" \
        "Data leida: b'Ho'" "Data leida: b'la'" "Data leida: b'\\r\\n'" \
        "Toda la data leida: b'Hola\\r\\n'"
}

@test "02: every client has its OWN buffer: two half messages do not mix" {
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    client_write one 'Ho'
    wait_server_line "Data leida: b'Ho'"
    client_open two "$PORT_UNDER_TEST"
    client_write two 'Ad'
    wait_server_line "Data leida: b'Ad'"
    client_write one 'la\r\n'
    expect_echo one 'Hola\r\n'
    client_write two 'ios\r\n'
    expect_echo two 'Adios\r\n'
    assert_equal "$(count_lines "$SERVER_OUT" "Toda la data leida: b'Hola\\r\\n'")" 1
    assert_equal "$(count_lines "$SERVER_OUT" "Toda la data leida: b'Adios\\r\\n'")" 1
}

@test "02: once a message is answered its buffer starts empty: two messages, two echoes" {
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    client_write one 'uno\r\n'
    expect_echo one 'uno\r\n'
    client_write one 'dos\r\n'
    expect_echo one 'uno\r\ndos\r\n'
    assert_server_lines "$CONNECTED" \
        "Data leida: b'un'" "Data leida: b'o\\r'" "Data leida: b'\\n'" \
        "Toda la data leida: b'uno\\r\\n'" \
        "Data leida: b'do'" "Data leida: b's\\r'" "Data leida: b'\\n'" \
        "Toda la data leida: b'dos\\r\\n'"
}

@test "02: a client that leaves mid-message: what it had sent is printed, then it is forgotten" {
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    client_write one 'Ho'
    wait_server_line "Data leida: b'Ho'"
    sleep 0.2
    client_kill one
    assert_server_lines "$CONNECTED" "Data leida: b'Ho'" "Toda la data leida: b'Ho'" \
        "Cliente ('127.0.0.1', PORT) desconectado"
    send_line "$PORT_UNDER_TEST" 'Hola\r\n' "$WAIT" >"$LIB_TMP/next.out"
    assert_client_received next 'Hola\r\n'
}
