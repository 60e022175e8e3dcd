#!/usr/bin/env bats
# Chapter 3, section 1 "Sockets bloqueantes": chapters/chapter-03/01-blocking/*.c
# Each test replays an experiment of the document with nc and checks the server's output line
# by line (client ports normalised) and what every client received, byte for byte.

load helpers

# The lines every "read two bytes at a time" stage prints for Hola Mundo\r\n.
HOLA_LINES=(
    "Data leida: b'Ho'"
    "Data leida: b'la'"
    "Data leida: b' M'"
    "Data leida: b'un'"
    "Data leida: b'do'"
    "Data leida: b'\\r\\n'"
    "Toda la data leida: b'Hola Mundo\\r\\n'"
)

# --- 01-accept ------------------------------------------------------------------------------

@test "01-accept: prints nothing until a client connects" {
    start_server 01-blocking/01-accept "$PORT_UNDER_TEST"
    sleep 0.2
    alive "$SERVER_PID"                # still waiting in accept()
    assert_equal "$(cat "$SERVER_OUT")" ""
}

@test "01-accept: prints the client's address, with its real port, and exits 0" {
    start_server 01-blocking/01-accept "$PORT_UNDER_TEST"
    client_port=$(free_port)
    timeout 5 nc -N -p "$client_port" 127.0.0.1 "$PORT_UNDER_TEST" </dev/null 3>&- || true
    wait_exit "$SERVER_PID"
    assert_equal "$EXIT_STATUS" 0
    assert_equal "$(cat "$SERVER_OUT")" "I got a connection from ('127.0.0.1', $client_port)!"
    assert_equal "$(cat "$SERVER_ERR")" ""
}

@test "01-accept: run three times, three different client ports (the document's Salida)" {
    ports=()
    for _ in 1 2 3; do
        start_server 01-blocking/01-accept "$PORT_UNDER_TEST"
        send_line "$PORT_UNDER_TEST" "" >/dev/null
        wait_exit "$SERVER_PID"
        line=$(cat "$SERVER_OUT")
        [[ $line =~ ^I\ got\ a\ connection\ from\ \(\'127\.0\.0\.1\',\ ([0-9]+)\)!$ ]]
        ports+=("${BASH_REMATCH[1]}")
    done
    [ "${ports[0]}" != "${ports[1]}" ] && [ "${ports[1]}" != "${ports[2]}" ]
}

# --- 02-recv-two-bytes ----------------------------------------------------------------------

@test "02-recv-two-bytes: reads Hola Mundo two bytes at a time (the document's Salida)" {
    start_server 01-blocking/02-recv-two-bytes "$PORT_UNDER_TEST"
    send_line "$PORT_UNDER_TEST" 'Hola Mundo\r\n' >"$LIB_TMP/client.out"
    wait_exit "$SERVER_PID"
    assert_equal "$EXIT_STATUS" 0
    assert_server_output "Cliente connectandose desde ('127.0.0.1', PORT)" "${HOLA_LINES[@]}"
    assert_client_received client ''
}

@test "02-recv-two-bytes: the address printed is the client's own, port and all" {
    start_server 01-blocking/02-recv-two-bytes "$PORT_UNDER_TEST"
    client_port=$(free_port)
    printf 'Hola\r\n' | timeout 5 nc -N -p "$client_port" 127.0.0.1 "$PORT_UNDER_TEST" 3>&- || true
    wait_exit "$SERVER_PID"
    assert_equal "$(head -n 1 "$SERVER_OUT")" "Cliente connectandose desde ('127.0.0.1', $client_port)"
}

@test "02-recv-two-bytes: the document's echo -e line stops at the first \\r\\n" {
    start_server 01-blocking/02-recv-two-bytes "$PORT_UNDER_TEST"
    send_line "$PORT_UNDER_TEST" 'Hola Mundo\r\n\n' >/dev/null
    wait_exit "$SERVER_PID"
    assert_equal "$EXIT_STATUS" 0
    assert_server_output "Cliente connectandose desde ('127.0.0.1', PORT)" "${HOLA_LINES[@]}"
}

@test "02-recv-two-bytes: a client that closes before \\r\\n: prints what came, exits 0" {
    start_server 01-blocking/02-recv-two-bytes "$PORT_UNDER_TEST"
    send_line "$PORT_UNDER_TEST" 'Hol' >/dev/null
    wait_exit "$SERVER_PID"
    assert_equal "$EXIT_STATUS" 0
    assert_server_output "Cliente connectandose desde ('127.0.0.1', PORT)" \
        "Data leida: b'Ho'" "Data leida: b'l'" "Toda la data leida: b'Hol'"
}

@test "02-recv-two-bytes: binary and NUL bytes print exactly as Python's repr(bytes)" {
    start_server 01-blocking/02-recv-two-bytes "$PORT_UNDER_TEST"
    send_line "$PORT_UNDER_TEST" '\x00\xff'"'"'\\"\t\x7f~\r\n' >/dev/null
    wait_exit "$SERVER_PID"
    assert_server_output "Cliente connectandose desde ('127.0.0.1', PORT)" \
        "Data leida: b'\\x00\\xff'" \
        "Data leida: b\"'\\\\\"" \
        "Data leida: b'\"\\t'" \
        "Data leida: b'\\x7f~'" \
        "Data leida: b'\\r\\n'" \
        "Toda la data leida: b'\\x00\\xff\\'\\\\\"\\t\\x7f~\\r\\n'"
}

@test "02-recv-two-bytes: Python's quote choice: b\"it's\\r\\n\"" {
    start_server 01-blocking/02-recv-two-bytes "$PORT_UNDER_TEST"
    send_line "$PORT_UNDER_TEST" "it's\\r\\n" >/dev/null
    wait_exit "$SERVER_PID"
    assert_equal "$(last_server_line)" "Toda la data leida: b\"it's\\r\\n\""
}

@test "02-recv-two-bytes: a client that resets: one clear line on stderr, exit 1" {
    start_server 01-blocking/02-recv-two-bytes "$PORT_UNDER_TEST"
    "$TOOLS_DIR/misbehave" reset "$PORT_UNDER_TEST" 'Hol'
    wait_exit "$SERVER_PID"
    assert_equal "$EXIT_STATUS" 1
    assert_equal "$(cat "$SERVER_ERR")" \
        "02-recv-two-bytes: recv: Connection reset by peer (errno 104, ECONNRESET)"
}

@test "02-recv-two-bytes: an endless line is cut at the buffer's size, no overflow" {
    start_server 01-blocking/02-recv-two-bytes "$PORT_UNDER_TEST"
    head -c 5000 /dev/zero | tr '\0' 'a' | timeout 5 nc -N 127.0.0.1 "$PORT_UNDER_TEST" 3>&- || true
    wait_exit "$SERVER_PID"
    assert_equal "$EXIT_STATUS" 0
    assert_equal "$(cat "$SERVER_ERR")" "message longer than 4096 bytes without \\r\\n: stopping here"
    assert_equal "$(last_server_line)" "Toda la data leida: b'$(head -c 4096 /dev/zero | tr '\0' 'a')'"
}

# --- 03-read-and-write ----------------------------------------------------------------------

@test "03-read-and-write: replies Gracias por su Mensaje (the document's Salida)" {
    start_server 01-blocking/03-read-and-write "$PORT_UNDER_TEST"
    send_line "$PORT_UNDER_TEST" 'Hola Mundo\r\n' >"$LIB_TMP/client.out"
    wait_exit "$SERVER_PID"
    assert_equal "$EXIT_STATUS" 0
    assert_server_output "Cliente connectandose desde ('127.0.0.1', PORT)" "${HOLA_LINES[@]}"
    assert_client_received client 'Gracias por su Mensaje\n'
}

@test "03-read-and-write: the document's echo -e line: same server output" {
    # The extra "\n" is never read; closing a socket with unread data sends RST, so whether
    # nc shows the reply is a race (the guide explains it). The server side is exact.
    start_server 01-blocking/03-read-and-write "$PORT_UNDER_TEST"
    send_line "$PORT_UNDER_TEST" 'Hola Mundo\r\n\n' >/dev/null
    wait_exit "$SERVER_PID"
    assert_equal "$EXIT_STATUS" 0
    assert_server_output "Cliente connectandose desde ('127.0.0.1', PORT)" "${HOLA_LINES[@]}"
}

@test "03-read-and-write: a client that closes early still gets the reply to what it sent" {
    start_server 01-blocking/03-read-and-write "$PORT_UNDER_TEST"
    send_line "$PORT_UNDER_TEST" 'Hola' >"$LIB_TMP/client.out"
    wait_exit "$SERVER_PID"
    assert_equal "$EXIT_STATUS" 0
    assert_equal "$(last_server_line)" "Toda la data leida: b'Hola'"
    assert_client_received client 'Gracias por su Mensaje\n'
}

# --- 04-many-clients ------------------------------------------------------------------------

@test "04-many-clients: waits for clients, saying so" {
    start_server 01-blocking/04-many-clients "$PORT_UNDER_TEST"
    wait_server_line "Listo para recibir mensajes!"
    assert_server_output "Listo para recibir mensajes!"
}

@test "04-many-clients: the stall: client 2 gets nothing while client 1 is idle (the document's Salida)" {
    start_server 01-blocking/04-many-clients "$PORT_UNDER_TEST"
    client_open one "$PORT_UNDER_TEST"
    client_send one 'Hola Mundo\r\n\n'          # echo -e "Hola Mundo\r\n" | nc localhost PORT
    wait_client_output one 'Hola Mundo\r\n'
    client_open two "$PORT_UNDER_TEST"
    client_send two 'Hola Mundo2\r\n\n'         # echo -e "Hola Mundo2\r\n" | nc localhost PORT
    wait_server_line "Data leida: b'\\n'"
    # client 2's 14 bytes wait in the kernel, unread: the server is blocked on client 1
    wait_until 5 queued_at_server "$PORT_UNDER_TEST" 14
    sleep 0.2                                    # give client 2 every chance to be answered
    assert_client_received two ''
    assert_client_received one 'Hola Mundo\r\n'
    assert_server_output \
        "Listo para recibir mensajes!" \
        "Cliente connectandose desde ('127.0.0.1', PORT)" \
        "${HOLA_LINES[@]}" \
        "Listo para recibir mensajes!" \
        "Cliente connectandose desde ('127.0.0.1', PORT)" \
        "Data leida: b'\\n'"
}

@test "04-many-clients: the release: once client 1 speaks again, client 2 gets its echo" {
    start_server 01-blocking/04-many-clients "$PORT_UNDER_TEST"
    client_open one "$PORT_UNDER_TEST"
    client_send one 'Hola Mundo\r\n\n'
    wait_client_output one 'Hola Mundo\r\n'
    # printf, not echo -e: in "Hola Mundo2\r\n\n" the "\r" is at an odd offset, so the "\r\n"
    # is split over two 2-byte reads and, with a "\n" behind it, never seen as an end (the
    # guide explains why).
    client_open two "$PORT_UNDER_TEST"
    client_send two 'Hola Mundo2\r\n'
    wait_server_line "Data leida: b'\\n'"
    wait_until 5 queued_at_server "$PORT_UNDER_TEST" 13    # client 2's bytes, unread
    assert_client_received two ''
    client_send one 'otra vez\r\n'
    wait_client_output two 'Hola Mundo2\r\n'
    # client 1's message is the "\n" left over from echo -e plus the new line
    wait_client_output one 'Hola Mundo\r\n\notra vez\r\n'
    # back to waiting for a new client: its third "Listo" (printed after the echo is sent, so
    # it may come a moment after client 2 has its echo)
    wait_until 5 _listo_lines 3
    assert_equal "$(last_server_line)" "Listo para recibir mensajes!"
}
_listo_lines() { [ "$(count_lines "$SERVER_OUT" "Listo para recibir mensajes!")" -ge "$1" ]; }

@test "04-many-clients: a client that hangs up is forgotten and the others are still served" {
    start_server 01-blocking/04-many-clients "$PORT_UNDER_TEST"
    ask "$PORT_UNDER_TEST" 'Hola Mundo\r\n' 'Hola Mundo\r\n' >"$LIB_TMP/first.out"
    assert_client_received first 'Hola Mundo\r\n'
    # The blocking loop only notices the hang-up on its next pass, after the next accept().
    ask "$PORT_UNDER_TEST" 'Hola Mundo2\r\n' 'Hola Mundo2\r\n' >"$LIB_TMP/second.out"
    assert_client_received second 'Hola Mundo2\r\n'
    wait_until 5 _listo_lines 3 # (the last line: printed after the echo is sent)
    assert_server_output \
        "Listo para recibir mensajes!" \
        "Cliente connectandose desde ('127.0.0.1', PORT)" \
        "${HOLA_LINES[@]}" \
        "Listo para recibir mensajes!" \
        "Cliente connectandose desde ('127.0.0.1', PORT)" \
        "Toda la data leida: b''" \
        "Cliente ('127.0.0.1', PORT) desconectado" \
        "Data leida: b'Ho'" "Data leida: b'la'" "Data leida: b' M'" "Data leida: b'un'" \
        "Data leida: b'do'" "Data leida: b'2\\r'" "Data leida: b'\\n'" \
        "Toda la data leida: b'Hola Mundo2\\r\\n'" \
        "Listo para recibir mensajes!"
}

_third_client() { [ "$(count_lines "$SERVER_OUT" "Cliente connectandose desde ('127.0.0.1', PORT)")" -ge 3 ]; }

@test "04-many-clients: a client that resets: a clear message, and the server goes on" {
    start_server 01-blocking/04-many-clients "$PORT_UNDER_TEST"
    client_open one "$PORT_UNDER_TEST"
    client_send one 'Hola\r\n'
    wait_client_output one 'Hola\r\n'
    # client 1 is the one the loop reads next; a second client resets while it waits
    "$TOOLS_DIR/misbehave" reset "$PORT_UNDER_TEST" 'Ho'
    client_send one 'sigo aqui\r\n'
    wait_client_output one 'Hola\r\nsigo aqui\r\n'
    wait_until 5 grep -q "ECONNRESET" "$SERVER_ERR"
    assert_equal "$(cat "$SERVER_ERR")" \
        "04-many-clients: recv: Connection reset by peer (errno 104, ECONNRESET)"
    # a fresh client is served as soon as client 1 (the one the loop waits on) speaks
    ask "$PORT_UNDER_TEST" 'nuevo\r\n' 'nuevo\r\n' >"$LIB_TMP/fresh.out" &
    fresh=$!
    wait_until 5 _third_client
    client_send one 'y aqui\r\n'
    wait "$fresh"
    assert_client_received fresh 'nuevo\r\n'
}

@test "04-many-clients: an endless line drops that client, the server goes on" {
    start_server 01-blocking/04-many-clients "$PORT_UNDER_TEST"
    head -c 5000 /dev/zero | tr '\0' 'a' | timeout 5 nc -N 127.0.0.1 "$PORT_UNDER_TEST" 3>&- >/dev/null || true
    wait_until 5 grep -q "message longer than 4096" "$SERVER_ERR"
    ask "$PORT_UNDER_TEST" 'Hola\r\n' 'Hola\r\n' >"$LIB_TMP/next.out"
    assert_client_received next 'Hola\r\n'
}

@test "04-many-clients: binary and NUL bytes are echoed intact" {
    start_server 01-blocking/04-many-clients "$PORT_UNDER_TEST"
    ask "$PORT_UNDER_TEST" '\x00\x01\xfe\xff\r\n' '\x00\x01\xfe\xff\r\n' >"$LIB_TMP/bin.out"
    assert_client_received bin '\x00\x01\xfe\xff\r\n'
    wait_server_line "Toda la data leida: b'\\x00\\x01\\xfe\\xff\\r\\n'"
}

@test "04-many-clients: out of descriptors (EMFILE): reported, the others served, never dies" {
    command -v prlimit >/dev/null || skip "needs prlimit (util-linux) to lower a server's descriptor limit"
    start_server 01-blocking/04-many-clients "$PORT_UNDER_TEST"
    limit_to_one_client "$SERVER_PID"
    client_open one "$PORT_UNDER_TEST"
    client_send one 'Hola\r\n'
    wait_client_output one 'Hola\r\n'
    client_open two "$PORT_UNDER_TEST"           # queued by the kernel: no descriptor for it
    client_send two 'dos\r\n'
    wait_until 5 grep -q EMFILE "$SERVER_ERR"
    assert_equal "$(cat "$SERVER_ERR")" "04-many-clients: accept: Too many open files (errno 24, EMFILE)"
    alive "$SERVER_PID"                          # still there, waiting on client 1 (the stall)
    client_kill one                              # client 1 leaves: its descriptor is free
    wait_client_output two 'dos\r\n'
    wait_server_line "Toda la data leida: b'dos\\r\\n'"
}

@test "04-many-clients: out of descriptors with no client to serve: it waits, it does not spin" {
    command -v prlimit >/dev/null || skip "needs prlimit (util-linux) to lower a server's descriptor limit"
    # Descriptors 0, 1, 2 and the listening socket (3): not one left for a client. (A blocking
    # accept() takes its descriptor before it waits, so the limit is set from the start.)
    start_program many-clients "$PORT_UNDER_TEST" prlimit --nofile=4:4 "$(stage_bin 01-blocking/04-many-clients)"
    wait_until 5 grep -q EMFILE "$SERVER_ERR"
    cpu=$(cpu_percent "$SERVER_PID" 0.5)
    [ "$cpu" -lt 20 ] || { echo "it spun: $cpu% of a core" >&2; false; }
    # one failed accept() a second, each after its "Listo" line: a handful, not thousands
    [ "$(count_lines "$SERVER_OUT" "Listo para recibir mensajes!")" -le 5 ]
}
