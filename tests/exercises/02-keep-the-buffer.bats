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
    await_server_line "Data leida: b'Ho'" "$(Lf "the first half of client '%s's message was read" \
        "se ha leído la primera mitad del mensaje del cliente '%s'" "$1")"
    sleep 0.2
    client_write "$1" 'la\r\n'
    expect_echo "$1" 'Hola\r\n' "$(L "the 'Ho' read before EAGAIN must still be in its buffer" \
        "el 'Ho' leído antes de EAGAIN tiene que seguir en su búfer")"
}

@test "02: 'Ho', pause, 'la\\r\\n' is echoed whole: the buffer survives EAGAIN" {
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    split_hola one
    expect_server_lines "$(L "one message sent in two pieces is one message" "un mensaje enviado en dos trozos es un solo mensaje")" \
        "$CONNECTED" "Data leida: b'Ho'" "Data leida: b'la'" "Data leida: b'\\r\\n'" \
        "Toda la data leida: b'Hola\\r\\n'"
}

@test "02: each client has its own buffer: two half messages do not mix" {
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    client_write one 'Ho'
    await_server_line "Data leida: b'Ho'" "$(L "client one's first half was read" "se ha leído la primera mitad del cliente one")"
    client_open two "$PORT_UNDER_TEST"
    client_write two 'Ad'
    await_server_line "Data leida: b'Ad'" "$(L "client two's first half was read, while one waits" \
        "se ha leído la primera mitad del cliente two, mientras one espera")"
    client_write one 'la\r\n'
    expect_echo one 'Hola\r\n' "$(L "client two's 'Ad' must not be in client one's buffer" "el 'Ad' del cliente two no puede estar en el búfer del cliente one")"
    client_write two 'ios\r\n'
    expect_echo two 'Adios\r\n' "$(L "client one's bytes must not be in client two's buffer" "los bytes del cliente one no pueden estar en el búfer del cliente two")"
}

@test "02: a split message, then another: the second echo holds only its own bytes" {
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    split_hola one
    client_write one 'dos\r\n'
    expect_echo one 'Hola\r\ndos\r\n' \
        "$(L "after 'Hola\\r\\n' was answered its buffer must start empty: the echo of 'dos\\r\\n' is just that" \
            "después de responder 'Hola\\r\\n' su búfer tiene que empezar vacío: el eco de 'dos\\r\\n' es solo eso")"
    expect_server_lines "$(L "the second message is answered alone, once" "el segundo mensaje se responde solo, una vez")" "$CONNECTED" \
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
    expect_only one 'uno\r\n' 0.3 "$(L "a buffer not emptied after its answer still ends in \\r\\n, so it is answered again and again" \
        "un búfer que no se vacía tras responder sigue acabando en \\r\\n, así que se responde una y otra vez")"
    local n
    n=$(count_lines "$SERVER_OUT" "Toda la data leida: b'uno\\r\\n'")
    [ "$n" -eq 1 ] || measured_wrong "$(L "lines 'Toda la data leida: b'uno\\r\\n'' in 0.3 s" "líneas 'Toda la data leida: b'uno\\r\\n'' en 0,3 s")" 1 "$n" \
        "$(L "the buffer must be emptied once its message has been answered" "el búfer hay que vaciarlo en cuanto se ha respondido su mensaje")"
}

@test "02: an empty line first ('\\r\\n', then 'Hola\\r\\n'): two messages" {
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    client_write one '\r\nHola\r\n'
    expect_echo one '\r\nHola\r\n'
    expect_server_lines "$(L "'\\r\\n' alone is a message: an empty line" "'\\r\\n' solo es un mensaje: una línea vacía")" \
        "$CONNECTED" "Data leida: b'\\r\\n'" "Toda la data leida: b'\\r\\n'" \
        "Data leida: b'Ho'" "Data leida: b'la'" "Data leida: b'\\r\\n'" "Toda la data leida: b'Hola\\r\\n'"
}

@test "02: a client that leaves mid-message: what it sent is printed, then it is forgotten" {
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    client_write one 'Ho'
    await_server_line "Data leida: b'Ho'" "$(L "the client's half message was read" "se ha leído el medio mensaje del cliente")"
    sleep 0.2
    client_kill one
    expect_server_lines "$(L "a hang-up ends the message: print what there is, then forget the client" \
        "colgar termina el mensaje: imprime lo que haya y olvida al cliente")" \
        "$CONNECTED" "Data leida: b'Ho'" "Toda la data leida: b'Ho'" "$GONE"
    send_line "$PORT_UNDER_TEST" 'Hola\r\n' "$WAIT" >"$LIB_TMP/next.out"
    expect_received next 'Hola\r\n' "$(L "a new client after the one that left" "un cliente nuevo tras el que se fue")"
}

@test "02: a hang-up after 'Hola\\r\\nAd': the leftover 'Ad' is printed and echoed too" {
    start_exercise
    send_line "$PORT_UNDER_TEST" 'Hola\r\nAd' "$WAIT" >"$LIB_TMP/client.out"
    expect_received client 'Hola\r\nAd' "$(L "a client that only closed its sending side (nc -N) still reads: what it left unanswered is answered at the hang-up" \
        "un cliente que solo ha cerrado su lado de envío (nc -N) sigue leyendo: lo que quedó sin responder se responde al colgar")"
    await_server_line "$GONE" "$(L "the client's hang-up was reported" "se ha avisado de que el cliente colgó")"
}

@test "02: after a client is dropped for a too-long message, the next client starts empty" {
    start_exercise
    # 4100 bytes without \r\n: more than the 4096-byte buffer holds, so that client is dropped
    # with a full buffer; a new client may get its place in the table.
    head -c 4100 /dev/zero | tr '\0' 'a' | timeout "$WAIT" nc -N 127.0.0.1 "$PORT_UNDER_TEST" >/dev/null 3>&- || true
    await_server_line "$GONE" "$(L "the client with the too-long message was dropped" "se ha despedido al cliente del mensaje demasiado largo")"
    send_line "$PORT_UNDER_TEST" 'Hola\r\n' "$WAIT" >"$LIB_TMP/next.out"
    expect_received next 'Hola\r\n' \
        "$(L "a new client's buffer must start empty (length 0), whatever the previous owner of its place left" \
            "el búfer de un cliente nuevo tiene que empezar vacío (longitud 0), deje lo que deje el dueño anterior de su sitio")"
}

@test "02: a message of exactly 4096 bytes, split at an odd offset, is echoed whole" {
    expect_full_buffer_message "Data leida: b'a'"
}

@test "02: a line longer than the buffer, after a short first piece: that client is dropped, not the others" {
    expect_too_long_line_dropped
}

@test "02: 1100 clients come and go: no descriptor, place or memory is kept, the next client is served" {
    expect_cycles_clean 1100
}

@test "02: a reset seen by recv(): one line on stderr, the client is forgotten, the server goes on" {
    start_exercise
    expect_reset_seen_by_recv 'Ho' "Data leida: b'Ho'"
}

@test "02: a client that sends a lot and never reads does not freeze the others" {
    start_exercise
    expect_not_stalled_by_non_reader
}
