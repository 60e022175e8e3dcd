#!/usr/bin/env bats
# Exercise 2: 02-eagain-loop with a buffer per connection, kept across passes of the loop and
# emptied once its message is answered.

load exercise

CONNECTED="Cliente connectandose desde ('127.0.0.1', PORT)"
GONE="Cliente ('127.0.0.1', PORT) desconectado"

# split_hola NAME: client NAME sends 'Ho', waits while the loop goes round (recv() says EAGAIN
# many times), then 'la\r\n', and must get 'Hola\r\n' back.
split_hola() {
    client_write "$1" 'Ho'
    await_server_line "Data leida: b'Ho'" "the first half of client '$1's message was read"
    sleep 0.2
    client_write "$1" 'la\r\n'
    expect_echo "$1" 'Hola\r\n' "the 'Ho' read before EAGAIN must still be in its buffer"
}

@test "02: 'Ho', pause, 'la\\r\\n' is echoed whole: the buffer survives EAGAIN" {
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    split_hola one
    expect_server_lines "one message sent in two pieces is one message" "$CONNECTED" \
        "Data leida: b'Ho'" "Data leida: b'la'" "Data leida: b'\\r\\n'" \
        "Toda la data leida: b'Hola\\r\\n'"
}

@test "02: each client has its own buffer: two half messages do not mix" {
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    client_write one 'Ho'
    await_server_line "Data leida: b'Ho'" "client one's first half was read"
    client_open two "$PORT_UNDER_TEST"
    client_write two 'Ad'
    await_server_line "Data leida: b'Ad'" "client two's first half was read, while one waits"
    client_write one 'la\r\n'
    expect_echo one 'Hola\r\n' "client two's 'Ad' must not be in client one's buffer"
    client_write two 'ios\r\n'
    expect_echo two 'Adios\r\n' "client one's bytes must not be in client two's buffer"
}

@test "02: a split message, then another: the second echo holds only its own bytes" {
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    split_hola one
    client_write one 'dos\r\n'
    expect_echo one 'Hola\r\ndos\r\n' \
        "after 'Hola\\r\\n' was answered its buffer must start empty: the echo of 'dos\\r\\n' is just that"
    expect_server_lines "the second message is answered alone, once" "$CONNECTED" \
        "Data leida: b'Ho'" "Data leida: b'la'" "Data leida: b'\\r\\n'" \
        "Toda la data leida: b'Hola\\r\\n'" \
        "Data leida: b'do'" "Data leida: b's\\r'" "Data leida: b'\\n'" \
        "Toda la data leida: b'dos\\r\\n'"
}

@test "02: an answered message is answered once: one echo, one 'Toda la data leida'" {
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    client_write one 'uno\r\n'
    expect_echo one 'uno\r\n'
    expect_only one 'uno\r\n' 0.3 "a buffer not emptied after its answer still ends in \\r\\n, so it is answered again and again"
    local n
    n=$(count_lines "$SERVER_OUT" "Toda la data leida: b'uno\\r\\n'")
    [ "$n" -eq 1 ] || measured_wrong "lines 'Toda la data leida: b'uno\\r\\n'' in 0.3 s" 1 "$n" \
        "the buffer must be emptied once its message has been answered"
}

@test "02: a client that leaves mid-message: what it sent is printed, then it is forgotten" {
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    client_write one 'Ho'
    await_server_line "Data leida: b'Ho'" "the client's half message was read"
    sleep 0.2
    client_kill one
    expect_server_lines "a hang-up ends the message: print what there is, then forget the client" \
        "$CONNECTED" "Data leida: b'Ho'" "Toda la data leida: b'Ho'" "$GONE"
    send_line "$PORT_UNDER_TEST" 'Hola\r\n' "$WAIT" >"$LIB_TMP/next.out"
    expect_echo next 'Hola\r\n' "a new client after the one that left"
}

@test "02: after a client is dropped for a too-long message, the next client starts empty" {
    start_exercise
    # 4100 bytes without \r\n: more than the 4096-byte buffer holds, so that client is dropped
    # with a full buffer; a new client may get its place in the table.
    head -c 4100 /dev/zero | tr '\0' 'a' | timeout "$WAIT" nc -N 127.0.0.1 "$PORT_UNDER_TEST" >/dev/null 3>&- || true
    await_server_line "$GONE" "the client with the too-long message was dropped"
    send_line "$PORT_UNDER_TEST" 'Hola\r\n' "$WAIT" >"$LIB_TMP/next.out"
    expect_echo next 'Hola\r\n' \
        "a new client's buffer must start empty (length 0), whatever the previous owner of its place left"
}
