#!/usr/bin/env bats
# Exercise 6: 01-blocking/04-many-clients rewritten around poll(): no client stalls another.

load exercise

READY="Listo para recibir mensajes!"
CONNECTED="Cliente connectandose desde ('127.0.0.1', PORT)"
GONE="Cliente ('127.0.0.1', PORT) desconectado"
HOLA_MUNDO=("Data leida: b'Ho'" "Data leida: b'la'" "Data leida: b' M'" "Data leida: b'un'"
    "Data leida: b'do'")

# The document's first client: echo -e "Hola Mundo\r\n" | nc localhost PORT, then it stays.
first_client() {
    client_open one "$PORT_UNDER_TEST"
    client_write one 'Hola Mundo\r\n\n'
    expect_echo one 'Hola Mundo\r\n' "$(L "client 1's message" "el mensaje del cliente 1")"
    await_server_line "Data leida: b'\\n'" "$(L "client 1's extra \\n was read" "se ha leído el \\n de más del cliente 1")"
}

@test "06: no stall: client 2 gets its echo while client 1 stays connected and quiet" {
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    client_write one 'Hola Mundo\r\n\n'
    expect_echo one 'Hola Mundo\r\n' "$(L "client 1's message" "el mensaje del cliente 1")"
    # (01-04 reads the extra \n only once another client has come: the stall shows below)
    wait_output "$SERVER_OUT" "Data leida: b'\\n'" "$WAIT" || true
    client_open two "$PORT_UNDER_TEST"
    client_write two 'Hola Mundo2\r\n\n'         # echo -e "Hola Mundo2\r\n" | nc localhost PORT
    expect_echo two 'Hola Mundo2\r\n' "$(L "client 1 is connected and quiet: waiting for it is the stall" "el cliente 1 está conectado y callado: esperarlo es el atasco")"
    expect_server_lines "$(L "the lines of 01-04, with 'Listo' once at the start" "las líneas de 01-04, con 'Listo' una vez al principio")" "$READY" \
        "$CONNECTED" "${HOLA_MUNDO[@]}" "Data leida: b'\\r\\n'" \
        "Toda la data leida: b'Hola Mundo\\r\\n'" "Data leida: b'\\n'" \
        "$CONNECTED" "${HOLA_MUNDO[@]}" "Data leida: b'2\\r'" "Data leida: b'\\n\\n'" \
        "Toda la data leida: b'Hola Mundo2\\r\\n'"
}

@test "06: a client with half a message ('Ho') does not hold up the others" {
    start_exercise
    client_open half "$PORT_UNDER_TEST"
    client_write half 'Ho'
    await_server_line "Data leida: b'Ho'" "the half message was read"
    send_line "$PORT_UNDER_TEST" 'Hola\r\n' "$WAIT" >"$LIB_TMP/other.out"
    expect_received other 'Hola\r\n' "$(L "another client's 'Ho' is waiting for the rest" "el 'Ho' de otro cliente está esperando al resto")"
    client_write half 'la\r\n'
    expect_echo half 'Hola\r\n' "the 'Ho' must have been kept in that client's own buffer"
}

@test "06: the bytes after a '\\r\\n' start that client's next message (pieces '2\\r', '\\n\\n')" {
    start_exercise
    first_client
    client_open two "$PORT_UNDER_TEST"
    client_write two 'Hola Mundo2\r\n\n'
    expect_echo two 'Hola Mundo2\r\n' "client 2's message ends at its \\r\\n, inside the piece '\\n\\n'"
    await_server_line "Data leida: b'\\n\\n'" "client 2's last piece was read"
    client_write two 'otra vez\r\n'
    expect_echo two 'Hola Mundo2\r\n\notra vez\r\n' \
        "$(L "the \\n read together with the end of client 2's first message is the start of its next one" "el \\n leído junto con el final del primer mensaje del cliente 2 es el principio del siguiente")"
    client_write one 'y yo\r\n'
    expect_echo one 'Hola Mundo\r\n\ny yo\r\n' "client 1 speaks again later, its extra \\n first"
}

@test "06: a client that hangs up: what is left is printed, then 'desconectado'; the others go on" {
    start_exercise
    client_open stays "$PORT_UNDER_TEST"
    await_server_line "$CONNECTED" "$(L "the client that stays was accepted" "se ha aceptado al cliente que se queda")"
    send_line "$PORT_UNDER_TEST" 'Hola\r\n' "$WAIT" >"$LIB_TMP/leaves.out"
    expect_received leaves 'Hola\r\n' "nc -N waits for the server to close the connection too"
    expect_server_lines "a hang-up: 'Toda la data leida' with what is left (b''), then 'desconectado'" \
        "$READY" "$CONNECTED" "$CONNECTED" "Data leida: b'Ho'" "Data leida: b'la'" \
        "Data leida: b'\\r\\n'" "Toda la data leida: b'Hola\\r\\n'" "Toda la data leida: b''" "$GONE"
    client_write stays 'sigo aqui\r\n'
    expect_echo stays 'sigo aqui\r\n' "$(L "after another client hung up" "después de colgar otro cliente")"
}

@test "06: when a client leaves, the others keep their own half messages" {
    start_exercise
    client_open first "$PORT_UNDER_TEST"
    await_server_line "$CONNECTED" "$(L "the first client was accepted" "se ha aceptado al primer cliente")"
    client_open second "$PORT_UNDER_TEST"
    client_write second 'Ho'
    await_server_line "Data leida: b'Ho'" "$(L "the second client's half message was read" "se ha leído el medio mensaje del segundo cliente")"
    client_kill first                              # the entry before 'second' goes away
    await_server_line "$GONE" "$(L "the first client's hang-up was reported" "se ha avisado de que el primer cliente colgó")"
    client_write second 'la\r\n'
    expect_echo second 'Hola\r\n' \
        "$(L "when an entry is removed, each client's buffer must move with its socket" "al quitar una entrada, el búfer de cada cliente tiene que moverse con su socket")"
}

@test "06: clients ready at the same time are served in turns, one recv() each" {
    start_exercise
    client_open a "$PORT_UNDER_TEST"
    client_open b "$PORT_UNDER_TEST"
    wait_until "$WAIT" _connected_twice || true
    # Both write while the server is stopped: its next poll() finds both ready at once.
    kill -STOP "$SERVER_PID"
    client_write a 'aaaaaaaa\r\n'
    client_write b 'bbbbbbbb\r\n'
    wait_until "$WAIT" _both_queued || true  # both messages wait in the server's sockets
    kill -CONT "$SERVER_PID"
    expect_echo a 'aaaaaaaa\r\n'
    expect_echo b 'bbbbbbbb\r\n'
    local order
    order=$(sed -nE "s/^Data leida: b'(a|b).*/\\1/p" "$SERVER_OUT" | head -n 6 | paste -sd ' ' -)
    [ "$order" = "a b a b a b" ] || [ "$order" = "b a b a b a" ] ||
        measured_wrong "$(L "whose bytes the first six 'Data leida' lines hold" "de quién son los bytes de las seis primeras líneas 'Data leida'")" \
            "$(L "a b a b a b (turns)" "a b a b a b (por turnos)")" \
            "$order" "$(L "each ready client gets one recv() per turn: reading one until it has nothing left makes the others wait" "cada cliente listo tiene un recv() por turno: leer a uno hasta que no le quede nada hace esperar a los demás")"
}
_connected_twice() { [ "$(count_lines "$SERVER_OUT" "$CONNECTED")" -ge 2 ]; }
# _both_queued: two connections to the server hold 10 unread bytes each (the rx_queue column
# of /proc/net/tcp, for the sockets whose local port is the server's).
_both_queued() {
    local rx n=0
    for rx in $(awk -v p="$(printf '%04X' "$PORT_UNDER_TEST")" \
        '$4 == "01" && substr($2, length($2) - 3) == p { split($5, q, ":"); print q[2] }' /proc/net/tcp); do
        [ $((16#$rx)) -ge 10 ] && n=$((n + 1))
    done
    [ "$n" -ge 2 ]
}

@test "06: a client that sends a lot and never reads does not freeze the others" {
    start_exercise
    expect_not_stalled_by_non_reader
}

@test "06: waiting costs nothing: with a silent client the server sleeps in poll() (no CPU used)" {
    start_exercise
    client_open idle "$PORT_UNDER_TEST"
    await_server_line "$CONNECTED" "$(L "the silent client was accepted" "se ha aceptado al cliente callado")"
    expect_idle "$(L "the server with one silent client" "el servidor con un cliente callado")" \
        "$(L "poll(..., -1) sleeps until a socket is ready; a loop that does not wait spins" "poll(..., -1) duerme hasta que un socket está listo; un bucle que no espera da vueltas sin parar")"
}

@test "06: with no client at all, the server sleeps in poll() (no CPU used)" {
    start_exercise
    await_server_line "$READY" "$(L "the server started" "el servidor ha arrancado")"
    expect_idle "$(L "the server with no client" "el servidor sin ningún cliente")" \
        "$(L "poll(..., -1) sleeps until a socket is ready" "poll(..., -1) duerme hasta que un socket está listo")"
}

@test "06: after a hang-up the server sleeps in poll() again (no CPU used)" {
    start_exercise
    send_line "$PORT_UNDER_TEST" 'Hola\r\n' "$WAIT" >/dev/null
    await_server_line "$GONE" "$(L "the client's hang-up was reported" "se ha avisado de que el cliente colgó")"
    sleep 0.2
    expect_idle "$(L "the server after the client left" "el servidor después de irse el cliente")" \
        "$(L "a closed descriptor left in the poll() array is reported at once (POLLNVAL), every time: poll() never sleeps" \
            "un descriptor cerrado que sigue en el array de poll() sale al instante (POLLNVAL), siempre: poll() no duerme nunca")"
}

@test "06: 1100 clients come and go: no descriptor, place or memory is kept, the next client is served" {
    expect_cycles_clean 1100
}

@test "06: more clients at once than places: the ones beyond the 1024 places are closed at once" {
    expect_extra_clients_closed
}

@test "06: a reset seen by recv(): one line on stderr, the client is forgotten, the server goes on" {
    start_exercise
    expect_reset_seen_by_recv 'Ho' "Data leida: b'Ho'"
}

@test "06: a hang-up after 'Hola\\r\\nAd': the leftover 'Ad' is printed and echoed too" {
    start_exercise
    send_line "$PORT_UNDER_TEST" 'Hola\r\nAd' "$WAIT" >"$LIB_TMP/client.out"
    expect_received client 'Hola\r\nAd' "$(L "a client that only closed its sending side (nc -N) still reads: what it left unanswered is answered at the hang-up" \
        "un cliente que solo ha cerrado su lado de envío (nc -N) sigue leyendo: lo que quedó sin responder se responde al colgar")"
    await_server_line "Toda la data leida: b'Ad'" "$(L "the leftover was printed" "se ha impreso lo que quedaba")"
}

@test "06: an empty line first ('\\r\\n', then 'Hola\\r\\n'): two messages" {
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    client_write one '\r\nHola\r\n'
    expect_echo one '\r\nHola\r\n'
    expect_server_lines "$(L "'\\r\\n' alone is a message: an empty line" "'\\r\\n' solo es un mensaje: una línea vacía")" \
        "$READY" "$CONNECTED" "Data leida: b'\\r\\n'" "Toda la data leida: b'\\r\\n'" \
        "Data leida: b'Ho'" "Data leida: b'la'" "Data leida: b'\\r\\n'" "Toda la data leida: b'Hola\\r\\n'"
}

@test "06: a message of exactly 4096 bytes, split at an odd offset, is echoed whole" {
    expect_full_buffer_message "Data leida: b'a'"
}

@test "06: a line longer than the buffer, after a short first piece: that client is dropped, not the others" {
    expect_too_long_line_dropped
}
