#!/usr/bin/env bats
# Exercise 5: a select() echo server that notices, reports and closes a client that hangs up.

load exercise

CONNECTED="Cliente connectandose desde ('127.0.0.1', PORT)"
GONE="Cliente ('127.0.0.1', PORT) desconectado"

_gone_count_is() { [ "$(count_lines "$SERVER_OUT" "$GONE")" -ge "$1" ]; }

@test "05: a client that hangs up is reported: 'Cliente (...) desconectado'" {
    start_exercise
    send_line "$PORT_UNDER_TEST" 'Hola\r\n' "$WAIT" >"$LIB_TMP/client.out"
    expect_received client 'Hola\r\n' "$(L "nc -N waits for the server to close the connection too" \
        "nc -N espera a que el servidor cierre también la conexión")"
    expect_server_lines "$(L "recv() returned 0: the client hung up; say so, once" \
        "recv() ha retornado 0: el cliente ha colgado; dilo, una vez")" \
        "$CONNECTED" "Data leida: b'Hola\\r\\n'" "$GONE"
}

@test "05: a normal hang-up writes nothing on stderr" {
    start_exercise
    send_line "$PORT_UNDER_TEST" 'Hola\r\n' "$WAIT" >/dev/null
    await_server_line "$GONE" "$(L "the client's hang-up was reported" "se ha avisado de que el cliente colgó")"
    sleep 0.1
    [ ! -s "$SERVER_ERR" ] || fail "$(L "after a normal hang-up, stderr should stay empty (recv() returning 0 is not an error, and a closed socket must not be used again); it holds:" \
        "tras colgar un cliente con normalidad, stderr debe quedar vacío (que recv() retorne 0 no es un error, y un socket cerrado no se vuelve a usar); contiene:")
$(head -n 5 "$SERVER_ERR")"
}

@test "05: with no client at all, the server sleeps in select() (idle: no CPU used)" {
    start_exercise
    expect_idle "$(L "the server with no client" "el servidor sin ningún cliente")" \
        "$(L "select() with no time limit sleeps until a socket is ready" "select() sin límite de tiempo duerme hasta que un socket está listo")"
}

@test "05: after a hang-up the server sleeps in select() again (idle: no CPU used)" {
    start_exercise
    send_line "$PORT_UNDER_TEST" 'Hola\r\n' "$WAIT" >/dev/null
    await_server_line "Data leida: b'Hola\\r\\n'" "$(L "the client's message was read" "se ha leído el mensaje del cliente")"
    sleep 0.2
    expect_idle "$(L "the server after the client left" "el servidor después de irse el cliente")" \
        "$(L "a hung-up socket left in the set is 'readable' at once, every time: select() never sleeps" \
            "un socket colgado que sigue en el conjunto está 'listo para leer' al instante, siempre: select() no duerme nunca")"
}

@test "05: the socket of a client that hung up is closed (no descriptor leak)" {
    start_exercise
    local before after i pids=()
    before=$(open_fds)
    # (at once: each one waits for the program to close its connection)
    for i in 1 2 3 4 5; do
        send_line "$PORT_UNDER_TEST" "cliente $i\\r\\n" "$WAIT" >/dev/null &
        pids+=("$!")
    done
    wait "${pids[@]}"
    wait_until "$WAIT" _gone_count_is 5 || true
    after=$(open_fds)
    [ "$after" -eq "$before" ] || measured_wrong \
        "$(L "open descriptors after 5 clients came and went" "descriptores abiertos tras ir y venir 5 clientes")" \
        "$(Lf "%s, as before them" "%s, como antes" "$before")" "$after" \
        "$(L "the hung-up clients' sockets were never closed" "los sockets de los clientes que colgaron no se han cerrado")"
}

@test "05: 1100 clients come and go: no descriptor, place or memory is kept, the next client is served" {
    expect_cycles_clean 1100
}

@test "05: while one client hangs up, another one is still served" {
    start_exercise
    client_open stays "$PORT_UNDER_TEST"
    await_server_line "$CONNECTED" "$(L "the client that stays was accepted" "se ha aceptado al cliente que se queda")"
    send_line "$PORT_UNDER_TEST" 'me voy\r\n' "$WAIT" >/dev/null
    await_server_line "$GONE" "$(L "the other client's hang-up was reported" "se ha avisado de que el otro cliente colgó")"
    client_write stays 'sigo aqui\r\n'
    expect_echo stays 'sigo aqui\r\n' "$(L "after another client hung up" "después de colgar otro cliente")"
    local n
    n=$(count_lines "$SERVER_OUT" "$GONE")
    [ "$n" -eq 1 ] || measured_wrong "$(L "'desconectado' lines" "líneas 'desconectado'")" 1 "$n" \
        "$(L "one client left, once" "se ha ido un cliente, una vez")"
}

@test "05: the client with the lower descriptor leaves first: the one above it is still served" {
    start_exercise
    client_open low "$PORT_UNDER_TEST"
    await_server_line "$CONNECTED" "$(L "the first client was accepted" "se ha aceptado al primer cliente")"
    client_open high "$PORT_UNDER_TEST"
    wait_until "$WAIT" _connected_count_is 2 || true
    client_kill low
    await_server_line "$GONE" "$(L "the first client's hang-up was reported" "se ha avisado de que el primer cliente colgó")"
    client_write high 'sigo aqui\r\n'
    expect_echo high 'sigo aqui\r\n' "$(L "the highest descriptor select() watches must stay that of the highest client still there" \
        "el descriptor más alto que vigila select() tiene que seguir siendo el del cliente más alto que queda")"
    client_open third "$PORT_UNDER_TEST"
    client_write third 'y yo\r\n'
    expect_echo third 'y yo\r\n' "$(L "a new client takes the freed descriptor" "un cliente nuevo toma el descriptor liberado")"
}
_connected_count_is() { [ "$(count_lines "$SERVER_OUT" "$CONNECTED")" -ge "$1" ]; }

@test "05: a reset seen by recv(): one line on stderr, the client is forgotten, the server goes on" {
    start_exercise
    expect_reset_seen_by_recv 'Ho' "Data leida: b'Ho'"
}

@test "05: a client that sends a lot and never reads does not freeze the others" {
    start_exercise
    expect_not_stalled_by_non_reader
}
