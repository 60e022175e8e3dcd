#!/usr/bin/env bats
# Exercise 3: a message ends at the first "\r\n" anywhere in the client's buffer; the bytes
# after it are kept for the next message.

load exercise

CONNECTED="Cliente connectandose desde ('127.0.0.1', PORT)"
HOLA_MUNDO=("Data leida: b'Ho'" "Data leida: b'la'" "Data leida: b' M'" "Data leida: b'un'"
    "Data leida: b'do'")

@test "03: echo -e 'Hola Mundo3\\r\\n' | nc gets its echo: a '\\r\\n' split over two reads is found" {
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    client_write one 'Hola Mundo3\r\n\n'          # echo -e "Hola Mundo3\r\n" | nc localhost PORT
    expect_echo one 'Hola Mundo3\r\n'
    assert_server_lines "$CONNECTED" "${HOLA_MUNDO[@]}" "Data leida: b'3\\r'" \
        "Data leida: b'\\n\\n'" "Toda la data leida: b'Hola Mundo3\\r\\n'"
}

@test "03: the bytes after '\\r\\n' are kept: they start the next message" {
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    client_write one 'Hola Mundo3\r\n\n'
    wait_server_line "Data leida: b'\\n\\n'" "$WAIT"
    client_write one 'Adios\r\n'
    expect_echo one 'Hola Mundo3\r\n\nAdios\r\n'
    assert_server_lines "$CONNECTED" "${HOLA_MUNDO[@]}" "Data leida: b'3\\r'" \
        "Data leida: b'\\n\\n'" "Toda la data leida: b'Hola Mundo3\\r\\n'" \
        "Data leida: b'Ad'" "Data leida: b'io'" "Data leida: b's\\r'" "Data leida: b'\\n'" \
        "Toda la data leida: b'\\nAdios\\r\\n'"
}

@test "03: two messages in one write, 'uno\\r\\ndos\\r\\n', are answered one by one" {
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    client_write one 'uno\r\ndos\r\n'
    expect_echo one 'uno\r\ndos\r\n'
    assert_server_lines "$CONNECTED" \
        "Data leida: b'un'" "Data leida: b'o\\r'" "Data leida: b'\\nd'" \
        "Toda la data leida: b'uno\\r\\n'" \
        "Data leida: b'os'" "Data leida: b'\\r\\n'" "Toda la data leida: b'dos\\r\\n'"
}

@test "03: NUL bytes before the '\\r\\n' do not hide it (compare bytes, not C strings)" {
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    client_write one '\x00\x00x\r\n\n'
    expect_echo one '\x00\x00x\r\n'
    wait_server_line "Toda la data leida: b'\\x00\\x00x\\r\\n'" "$WAIT"
}

@test "03: the document's three nc clients all get their echo now" {
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    client_write one 'Hola Mundo3\r\n\n'
    client_open two "$PORT_UNDER_TEST"
    client_write two 'Hola Mundo2\r\n\n'
    client_open three "$PORT_UNDER_TEST"
    client_write three 'Hola Mundo\r\n\n'
    expect_echo one 'Hola Mundo3\r\n'
    expect_echo two 'Hola Mundo2\r\n'
    expect_echo three 'Hola Mundo\r\n'
}

@test "03: a client that hangs up: what it left unanswered is printed, then it is forgotten" {
    start_exercise
    send_line "$PORT_UNDER_TEST" 'Hola\r\nAd' "$WAIT" >"$LIB_TMP/client.out"
    assert_client_received client 'Hola\r\nAd'
    assert_server_lines "$CONNECTED" \
        "Data leida: b'Ho'" "Data leida: b'la'" "Data leida: b'\\r\\n'" \
        "Toda la data leida: b'Hola\\r\\n'" "Data leida: b'Ad'" "Toda la data leida: b'Ad'" \
        "Cliente ('127.0.0.1', PORT) desconectado"
}
