#!/usr/bin/env bats
# Exercise 3: a message ends at the first "\r\n" anywhere in the client's buffer; the bytes
# after it are kept for the next message.

load exercise

CONNECTED="Cliente connectandose desde ('127.0.0.1', PORT)"
GONE="Cliente ('127.0.0.1', PORT) desconectado"
HOLA_MUNDO=("Data leida: b'Ho'" "Data leida: b'la'" "Data leida: b' M'" "Data leida: b'un'"
    "Data leida: b'do'")

@test "03: echo -e 'Hola Mundo3\\r\\n' | nc gets its echo: a '\\r\\n' split over two reads is found" {
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    client_write one 'Hola Mundo3\r\n\n'          # echo -e "Hola Mundo3\r\n" | nc localhost PORT
    expect_echo one 'Hola Mundo3\r\n' "$(L "its \\r\\n came split over two reads, '3\\r' and '\\n\\n'" \
        "su \\r\\n llegó partido en dos lecturas, '3\\r' y '\\n\\n'")"
    expect_server_lines "$(L "the message ends at its \\r\\n; the extra \\n waits for the next one" \
        "el mensaje acaba en su \\r\\n; el \\n de más espera al siguiente")" \
        "$CONNECTED" "${HOLA_MUNDO[@]}" "Data leida: b'3\\r'" \
        "Data leida: b'\\n\\n'" "Toda la data leida: b'Hola Mundo3\\r\\n'"
}

@test "03: the bytes after '\\r\\n' are kept: they start the next message" {
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    client_write one 'Hola Mundo3\r\n\n'
    await_server_line "Data leida: b'\\n\\n'" "$(L "the first message's last piece was read" "se ha leído el último trozo del primer mensaje")"
    client_write one 'Adios\r\n'
    expect_echo one 'Hola Mundo3\r\n\nAdios\r\n' "$(L "the \\n left over from the first message starts the second" \
        "el \\n que sobró del primer mensaje empieza el segundo")"
    expect_server_lines "$(L "the left-over \\n is the start of the next message" "el \\n sobrante es el principio del mensaje siguiente")" \
        "$CONNECTED" "${HOLA_MUNDO[@]}" "Data leida: b'3\\r'" \
        "Data leida: b'\\n\\n'" "Toda la data leida: b'Hola Mundo3\\r\\n'" \
        "Data leida: b'Ad'" "Data leida: b'io'" "Data leida: b's\\r'" "Data leida: b'\\n'" \
        "Toda la data leida: b'\\nAdios\\r\\n'"
}

@test "03: two messages in one write, 'uno\\r\\ndos\\r\\n', are answered one by one" {
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    client_write one 'uno\r\ndos\r\n'
    expect_echo one 'uno\r\ndos\r\n'
    expect_server_lines "$(L "each message is answered alone" "cada mensaje se responde por separado")" "$CONNECTED" \
        "Data leida: b'un'" "Data leida: b'o\\r'" "Data leida: b'\\nd'" \
        "Toda la data leida: b'uno\\r\\n'" \
        "Data leida: b'os'" "Data leida: b'\\r\\n'" "Toda la data leida: b'dos\\r\\n'"
}

@test "03: NUL bytes before the '\\r\\n' do not hide it (compare bytes, not C strings)" {
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    client_write one '\x00\x00x\x00\r\n\n'
    expect_echo one '\x00\x00x\x00\r\n' "$(L "a NUL byte is data like any other: strstr() stops at it" \
        "un byte NUL es un dato como cualquier otro: strstr() se para en él")"
    await_server_line "Toda la data leida: b'\\x00\\x00x\\x00\\r\\n'" "$(L "the message was answered whole" "se ha respondido el mensaje entero")"
}

@test "03: the search is your own: no strstr(), memmem() or strcasestr(), as the statement says" {
    expect_not_linked strstr memmem strcasestr strnstr
}

@test "03: a '\\r' at the end of what has arrived is not an end yet: the '\\n' must come" {
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    client_write one 'uno\r\n'
    expect_echo one 'uno\r\n'
    client_write one 'dos\r'
    await_server_line "Data leida: b's\\r'" "$(L "'dos\\r' was read" "se ha leído 'dos\\r'")"
    expect_only one 'uno\r\n' 0.3 \
        "$(L "only 'dos\\r' has arrived: a search that looks at the byte after the last one read finds the old '\\n' of 'uno\\r\\n' there" \
            "solo ha llegado 'dos\\r': una búsqueda que mira el byte siguiente al último leído encuentra ahí el '\\n' viejo de 'uno\\r\\n'")"
    client_write one '\n'
    expect_echo one 'uno\r\ndos\r\n' "$(L "the '\\n' has now arrived" "ahora sí ha llegado el '\\n'")"
    local n
    n=$(count_lines "$SERVER_OUT" "Toda la data leida: b'dos\\r\\n'")
    [ "$n" -eq 1 ] || measured_wrong "$(L "lines 'Toda la data leida: b'dos\\r\\n''" "líneas 'Toda la data leida: b'dos\\r\\n''")" 1 "$n" \
        "$(L "the message is answered once its \\n has arrived, and only then" "el mensaje se responde cuando ha llegado su \\n, y solo entonces")"
}

@test "03: a lone '\\r' earlier in the message does not hide the '\\r\\n' after it" {
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    client_write one 'a\rb\r\n'
    expect_echo one 'a\rb\r\n' "$(L "the first '\\r' is not followed by '\\n': look on" "al primer '\\r' no le sigue un '\\n': sigue buscando")"
}

@test "03: an empty line first ('\\r\\n'), from a client that takes the place of one that reset mid-line" {
    start_exercise
    # The first client sends 'Hol' and resets: it is forgotten without an answer, leaving its
    # place in the table as it was in the middle of a line.
    expect_reset_seen_by_recv 'Hol' "Data leida: b'l'"
    client_open one "$PORT_UNDER_TEST"
    client_write one '\r\nHola\r\n'
    expect_echo one '\r\nHola\r\n' "$(L "'\\r\\n' alone is a message (an empty line), and a new client's search starts at its first byte" \
        "'\\r\\n' solo es un mensaje (una línea vacía), y la búsqueda de un cliente nuevo empieza en su primer byte")"
    local n
    n=$(count_lines "$SERVER_OUT" "Toda la data leida: b'\\r\\n'")
    [ "$n" -eq 1 ] || measured_wrong "$(L "lines 'Toda la data leida: b'\\r\\n''" "líneas 'Toda la data leida: b'\\r\\n''")" 1 "$n" \
        "$(L "the empty line is a message of its own" "la línea vacía es un mensaje por sí sola")"
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
    expect_received client 'Hola\r\nAd' "$(L "a hang-up ends the last, unfinished message: it is answered too" \
        "colgar termina el último mensaje, el que quedó a medias: también se responde")"
    expect_server_lines "$(L "what was left unanswered is printed at the hang-up" "lo que quedó sin responder se imprime al colgar")" "$CONNECTED" \
        "Data leida: b'Ho'" "Data leida: b'la'" "Data leida: b'\\r\\n'" \
        "Toda la data leida: b'Hola\\r\\n'" "Data leida: b'Ad'" "Toda la data leida: b'Ad'" \
        "$GONE"
}

@test "03: a client that hangs up right after a whole message: 'Toda la data leida: b''' too" {
    start_exercise
    send_line "$PORT_UNDER_TEST" 'Hola\r\n' "$WAIT" >"$LIB_TMP/client.out"
    expect_received client 'Hola\r\n'
    expect_server_lines "$(L "a hang-up answers what is left, even nothing, as 02-eagain-loop does: b''" \
        "al colgar se responde lo que queda, aunque no quede nada, como hace 02-eagain-loop: b''")" "$CONNECTED" \
        "Data leida: b'Ho'" "Data leida: b'la'" "Data leida: b'\\r\\n'" \
        "Toda la data leida: b'Hola\\r\\n'" "Toda la data leida: b''" "$GONE"
}

@test "03: a message of exactly 4096 bytes, split at an odd offset, is echoed whole" {
    expect_full_buffer_message "Data leida: b'a'"
}

@test "03: a line longer than the buffer, after a short first piece: that client is dropped, not the others" {
    expect_too_long_line_dropped
}

@test "03: 1100 clients come and go: no descriptor, place or memory is kept, the next client is served" {
    expect_cycles_clean 1100
}

@test "03: a reset seen by recv(): one line on stderr, the client is forgotten, the server goes on" {
    start_exercise
    expect_reset_seen_by_recv 'Ho' "Data leida: b'Ho'"
}

@test "03: a client that sends a lot and never reads does not freeze the others" {
    start_exercise
    expect_not_stalled_by_non_reader
}
