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
    expect_echo one 'Hola Mundo3\r\n' "its \\r\\n came split over two reads, '3\\r' and '\\n\\n'"
    expect_server_lines "the message ends at its \\r\\n; the extra \\n waits for the next one" \
        "$CONNECTED" "${HOLA_MUNDO[@]}" "Data leida: b'3\\r'" \
        "Data leida: b'\\n\\n'" "Toda la data leida: b'Hola Mundo3\\r\\n'"
}

@test "03: the bytes after '\\r\\n' are kept: they start the next message" {
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    client_write one 'Hola Mundo3\r\n\n'
    await_server_line "Data leida: b'\\n\\n'" "the first message's last piece was read"
    client_write one 'Adios\r\n'
    expect_echo one 'Hola Mundo3\r\n\nAdios\r\n' "the \\n left over from the first message starts the second"
    expect_server_lines "the left-over \\n is the start of the next message" "$CONNECTED" "${HOLA_MUNDO[@]}" "Data leida: b'3\\r'" \
        "Data leida: b'\\n\\n'" "Toda la data leida: b'Hola Mundo3\\r\\n'" \
        "Data leida: b'Ad'" "Data leida: b'io'" "Data leida: b's\\r'" "Data leida: b'\\n'" \
        "Toda la data leida: b'\\nAdios\\r\\n'"
}

@test "03: two messages in one write, 'uno\\r\\ndos\\r\\n', are answered one by one" {
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    client_write one 'uno\r\ndos\r\n'
    expect_echo one 'uno\r\ndos\r\n'
    expect_server_lines "each message is answered alone" "$CONNECTED" \
        "Data leida: b'un'" "Data leida: b'o\\r'" "Data leida: b'\\nd'" \
        "Toda la data leida: b'uno\\r\\n'" \
        "Data leida: b'os'" "Data leida: b'\\r\\n'" "Toda la data leida: b'dos\\r\\n'"
}

@test "03: NUL bytes before the '\\r\\n' do not hide it (compare bytes, not C strings)" {
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    client_write one '\x00\x00x\x00\r\n\n'
    expect_echo one '\x00\x00x\x00\r\n' "a NUL byte is data like any other: strstr() stops at it"
    await_server_line "Toda la data leida: b'\\x00\\x00x\\x00\\r\\n'" "the message was answered whole"
}

@test "03: a '\\r' at the end of what has arrived is not an end yet: the '\\n' must come" {
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    client_write one 'uno\r\n'
    expect_echo one 'uno\r\n'
    client_write one 'dos\r'
    await_server_line "Data leida: b's\\r'" "'dos\\r' was read"
    expect_only one 'uno\r\n' 0.3 \
        "only 'dos\\r' has arrived: a search that looks at the byte after the last one read finds the old '\\n' of 'uno\\r\\n' there"
    client_write one '\n'
    expect_echo one 'uno\r\ndos\r\n' "the '\\n' has now arrived"
    local n
    n=$(count_lines "$SERVER_OUT" "Toda la data leida: b'dos\\r\\n'")
    [ "$n" -eq 1 ] || measured_wrong "lines 'Toda la data leida: b'dos\\r\\n''" 1 "$n" \
        "the message is answered once its \\n has arrived, and only then"
}

@test "03: a lone '\\r' earlier in the message does not hide the '\\r\\n' after it" {
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    client_write one 'a\rb\r\n'
    expect_echo one 'a\rb\r\n' "the first '\\r' is not followed by '\\n': look on"
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
    expect_echo client 'Hola\r\nAd' "a hang-up ends the last, unfinished message: it is answered too"
    expect_server_lines "what was left unanswered is printed at the hang-up" "$CONNECTED" \
        "Data leida: b'Ho'" "Data leida: b'la'" "Data leida: b'\\r\\n'" \
        "Toda la data leida: b'Hola\\r\\n'" "Data leida: b'Ad'" "Toda la data leida: b'Ad'" \
        "Cliente ('127.0.0.1', PORT) desconectado"
}
