#!/usr/bin/env bats
# Chapter 3, section 4 "the event loop": chapters/chapter-03/04-event-loop/*.c
# Both stages serve lines exactly like the section 3 servers (same connection code): those
# promises (pieces, binary, long lines, resets, 200 clients, running out of descriptors...) are
# checked stage by stage in tests/all-stages.bats. Here: what only
# 02-graceful-shutdown does, stop well on SIGINT / SIGTERM, and keep one failing handler (boom)
# to its own client.

load helpers

STAGE=04-event-loop/02-graceful-shutdown
CONNECT="Cliente connectandose desde ('127.0.0.1', PORT)"
LEFT="Cliente ('127.0.0.1', PORT) desconectado"

# apagando SIGNAL CONNECTED PENDING: the line the server prints when the signal arrives.
apagando() {
    echo "Apagando ($1): ya no se aceptan clientes. Conectados: $2, con respuestas pendientes: $3; plazo: 2 s (otra señal: cerrar ya)"
}

# _replies_pending PORT PID: server PID has replies queued for its client on PORT that it
# cannot send yet. Seen from outside: the client's bytes wait unread in the server's socket
# (Recv-Q), yet the server sleeps: it has stopped asking to read that client, which it does
# only when its queue of replies is full (back-pressure), and the kernel will not take them.
# (A server that merely has not run yet would be runnable, not asleep.) Three looks in a row.
_replies_pending() {
    local f
    proc_stat f "$2" || return 1
    if [ "${f[0]}" = S ] && [ "$(recv_queue "$1")" -gt 0 ]; then
        PENDING_LOOKS=$((${PENDING_LOOKS:-0} + 1))
    else
        PENDING_LOOKS=0
    fi
    [ "$PENDING_LOOKS" -ge 3 ]
}

@test "02-graceful-shutdown: SIGINT: stops accepting, lets its clients leave, totals, exit 0" {
    start_server "$STAGE" "$PORT_UNDER_TEST"
    send_line "$PORT_UNDER_TEST" 'Hola\r\n' >"$LIB_TMP/first.out"
    assert_client_received first 'Hola\r\n'
    client_open idle "$PORT_UNDER_TEST"
    wait_until 2 _connects_are 2
    kill -INT "$SERVER_PID"
    wait_server_line "$(apagando SIGINT 1 0)"
    if port_listening "$PORT_UNDER_TEST"; then echo "still accepting after SIGINT" >&2; false; fi
    client_close idle                       # Ctrl-D in that nc: it has already seen our FIN
    wait_exit "$SERVER_PID" 2
    assert_equal "$EXIT_STATUS" 0
    assert_server_output "$CONNECT" "Toda la data leida: b'Hola\\r\\n'" "$LEFT" "$CONNECT" \
        "$(apagando SIGINT 1 0)" "$LEFT" "Servidor detenido. Clientes atendidos: 2, líneas devueltas: 1"
    assert_equal "$(cat "$SERVER_ERR")" ""
    assert_client_received idle ''
    # the port can be used again at once
    start_server "$STAGE" "$PORT_UNDER_TEST"
}
_connects_are() { [ "$(count_lines "$SERVER_OUT" "$CONNECT")" -eq "$1" ]; }

@test "02-graceful-shutdown: SIGTERM with no client: totals at once, exit 0" {
    start_server "$STAGE" "$PORT_UNDER_TEST"
    kill -TERM "$SERVER_PID"
    wait_exit "$SERVER_PID" 1
    assert_equal "$EXIT_STATUS" 0
    assert_server_output "$(apagando SIGTERM 0 0)" "Servidor detenido. Clientes atendidos: 0, líneas devueltas: 0"
}

@test "02-graceful-shutdown: SIGTERM and SIGINT with replies still queued: all delivered, exit 0" {
    local sig client summary echoed
    for sig in TERM INT; do
        start_server "$STAGE" "$(free_port)" -q
        port=${SERVER_OUT%.out} port=${port##*.}
        # 20,000 long lines (10 MB) from a client that reads nothing until told (SIGUSR1; by
        # itself after 9 s): its echoes pile up until the server has replies it cannot send.
        "$TOOLS_DIR/many-clients" -n 1 -l 20000 -m 1000 -p 65536 -w 9000 -R 4096 -c "$port" \
            >"$LIB_TMP/client-$sig.out" 2>&1 3>&- &
        client=$!
        LIB_PIDS+=("$client")
        PENDING_LOOKS=0
        wait_until 5 _replies_pending "$port" "$SERVER_PID"
        kill -"$sig" "$SERVER_PID"
        wait_server_line "$(apagando "SIG$sig" 1 1)"
        kill -USR1 "$client" # now it reads: the server has 2 s to deliver what it had queued
        wait_exit "$SERVER_PID" 3
        assert_equal "$EXIT_STATUS" 0
        wait "$client"
        # the client got every line the server echoed, intact, then the server's FIN
        summary=$(cat "$LIB_TMP/client-$sig.out")
        [[ $summary =~ ^clients=1\ served=0\ refused=0\ cut=1\ failed=0\ lines=([0-9]+)/20000\  ]]
        echoed=${BASH_REMATCH[1]}
        [ "$echoed" -gt 1000 ]
        assert_server_output "$CONNECT" "$(apagando "SIG$sig" 1 1)" "$LEFT" \
            "Servidor detenido. Clientes atendidos: 1, líneas devueltas: $echoed"
        assert_equal "$(cat "$SERVER_ERR")" ""
    done
}

@test "02-graceful-shutdown: a client that stays: closed after 2 s; a second signal: at once" {
    local waiting start elapsed_ms
    port=$(free_port)
    start_server "$STAGE" "$port"
    waiting=("$SERVER_PID" "$SERVER_OUT")
    client_open stays "$port"
    start_server "$STAGE" "$PORT_UNDER_TEST"
    client_open impatient "$PORT_UNDER_TEST"
    wait_server_line "$CONNECT"
    SERVER_OUT=${waiting[1]} wait_server_line "$CONNECT"

    start=$(date +%s%N)
    kill -INT "${waiting[0]}"
    # the other server: SIGTERM, then SIGINT: no waiting
    kill -TERM "$SERVER_PID"
    wait_server_line "$(apagando SIGTERM 1 0)"
    kill -INT "$SERVER_PID"
    wait_exit "$SERVER_PID" 1
    assert_equal "$EXIT_STATUS" 0
    assert_server_output "$CONNECT" "$(apagando SIGTERM 1 0)" "Segunda señal: se cierra ya" "$LEFT" \
        "Servidor detenido. Clientes atendidos: 1, líneas devueltas: 0"

    wait_exit "${waiting[0]}" 6
    assert_equal "$EXIT_STATUS" 0
    elapsed_ms=$((($(date +%s%N) - start) / 1000000))
    echo "it waited $elapsed_ms ms for the client that stays" >&2
    # at least the 2 s of grace; the bound above only says it did not wait for the client
    # (generous: a loaded machine may be slow to run the timer and this test's own steps)
    [ "$elapsed_ms" -ge 1900 ] && [ "$elapsed_ms" -lt 5000 ]
    SERVER_OUT=${waiting[1]}
    assert_server_output "$CONNECT" "$(apagando SIGINT 1 0)" "Plazo agotado; se cierran los que quedan: 1" \
        "$LEFT" "Servidor detenido. Clientes atendidos: 1, líneas devueltas: 0"
}

@test "01-callback-loop: boom makes only its own client's handler fail; everyone else goes on" {
    start_server 04-event-loop/01-callback-loop "$PORT_UNDER_TEST"
    client_open other "$PORT_UNDER_TEST"
    client_send other 'Hola\r\n'
    wait_client_output other 'Hola\r\n'
    send_line "$PORT_UNDER_TEST" 'uno\r\nboom\r\ndos\r\n' >"$LIB_TMP/boom.out"
    assert_client_received boom 'uno\r\nError: fallo al atender su mensaje, se cierra la conexión\r\n'
    client_send other 'Sigo\r\n'
    wait_client_output other 'Hola\r\nSigo\r\n'
    assert_server_output "$CONNECT" "Toda la data leida: b'Hola\\r\\n'" \
        "$CONNECT" "Toda la data leida: b'uno\\r\\n'" \
        "Cliente ('127.0.0.1', PORT) descartado: su manejador falló con b'boom\\r\\n'" \
        "Toda la data leida: b'Sigo\\r\\n'"
    assert_equal "$(cat "$SERVER_ERR")" ""
}

@test "02-graceful-shutdown: boom makes only its own client's handler fail; everyone else goes on" {
    start_server "$STAGE" "$PORT_UNDER_TEST"
    client_open other "$PORT_UNDER_TEST"
    client_send other 'Hola\r\n'
    wait_client_output other 'Hola\r\n'
    send_line "$PORT_UNDER_TEST" 'uno\r\nboom\r\ndos\r\n' >"$LIB_TMP/boom.out"
    assert_client_received boom 'uno\r\nError: fallo al atender su mensaje, se cierra la conexión\r\n'
    send_line "$PORT_UNDER_TEST" 'boomerang\r\n' >"$LIB_TMP/boomerang.out"
    assert_client_received boomerang 'boomerang\r\n'   # only the line "boom" itself fails
    client_send other 'Sigo\r\n'
    wait_client_output other 'Hola\r\nSigo\r\n'
    kill -TERM "$SERVER_PID"
    wait_server_line "$(apagando SIGTERM 1 0)"
    client_close other
    wait_exit "$SERVER_PID" 2
    assert_equal "$EXIT_STATUS" 0
    assert_server_output "$CONNECT" "Toda la data leida: b'Hola\\r\\n'" \
        "$CONNECT" "Toda la data leida: b'uno\\r\\n'" \
        "Cliente ('127.0.0.1', PORT) descartado: su manejador falló con b'boom\\r\\n'" \
        "$CONNECT" "Toda la data leida: b'boomerang\\r\\n'" "$LEFT" \
        "Toda la data leida: b'Sigo\\r\\n'" "$(apagando SIGTERM 1 0)" "$LEFT" \
        "Servidor detenido. Clientes atendidos: 3, líneas devueltas: 4"
    assert_equal "$(cat "$SERVER_ERR")" ""
}
