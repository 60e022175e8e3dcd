#!/usr/bin/env bats
# Chapter 3, section 2 "Sockets NO bloqueantes": chapters/chapter-03/02-non-blocking/*.c
# The crash on EAGAIN, then the busy loop with its flaws, each asserted: nobody stalls, but the
# loop burns a core, drops bytes read before an EAGAIN, and misses a "\r\n" at an odd offset.

load helpers

# What 02-eagain-loop prints for one message, two bytes at a time.
hola_lines() { # hola_lines SUFFIX-PIECES...: Ho la " M" un do, then the given pieces
    printf '%s\n' "Data leida: b'Ho'" "Data leida: b'la'" "Data leida: b' M'" \
        "Data leida: b'un'" "Data leida: b'do'" "$@"
}

# --- 01-accept-eagain -----------------------------------------------------------------------

@test "01-accept-eagain: accept fails at once with EAGAIN: one line on stderr, exit 1" {
    run_server 02-non-blocking/01-accept-eagain "$PORT_UNDER_TEST"
    assert_equal "$SERVER_STATUS" 1
    assert_equal "$(cat "$SERVER_OUT")" "Listo para recibir mensajes!"
    assert_equal "$(cat "$SERVER_ERR")" \
        "01-accept-eagain: accept: Resource temporarily unavailable (errno 11, EAGAIN)"
}

@test "01-accept-eagain: it does not wait: it is gone well within a second" {
    start=$(date +%s%N)
    run_server 02-non-blocking/01-accept-eagain "$PORT_UNDER_TEST"
    elapsed_ms=$((($(date +%s%N) - start) / 1000000))
    assert_equal "$SERVER_STATUS" 1
    [ "$elapsed_ms" -lt 1000 ]
}

# --- 02-eagain-loop -------------------------------------------------------------------------

@test "02-eagain-loop: prints nothing until a client connects (no 'Listo' flood)" {
    start_server 02-non-blocking/02-eagain-loop "$PORT_UNDER_TEST"
    sleep 0.2                                   # (a flood of 'Listo' lines would be there by now)
    assert_equal "$(cat "$SERVER_OUT")" ""
}

@test "02-eagain-loop: printf 'Hola Mundo\\r\\n' | nc -N gets its echo" {
    start_server 02-non-blocking/02-eagain-loop "$PORT_UNDER_TEST"
    send_line "$PORT_UNDER_TEST" 'Hola Mundo\r\n' >"$LIB_TMP/client.out"
    assert_client_received client 'Hola Mundo\r\n'
    wait_server_line "Cliente ('127.0.0.1', PORT) desconectado"
    assert_equal "$(normalize_ports <"$SERVER_OUT")" \
        "$(printf '%s\n' "Cliente connectandose desde ('127.0.0.1', PORT)"
           hola_lines "Data leida: b'\\r\\n'" "Toda la data leida: b'Hola Mundo\\r\\n'" \
               "Toda la data leida: b''" "Cliente ('127.0.0.1', PORT) desconectado")"
}

@test "02-eagain-loop: echo -e 'Hola Mundo3\\r\\n' | nc hangs with no echo (the \\r\\n is split)" {
    start_server 02-non-blocking/02-eagain-loop "$PORT_UNDER_TEST"
    client_open one "$PORT_UNDER_TEST"
    client_send one 'Hola Mundo3\r\n\n'
    wait_server_line "Data leida: b'\\n\\n'"
    sleep 0.3                                   # give it every chance to answer
    assert_client_received one ''
    alive "$(client_pid one)"                   # nc is still there, waiting: "colgado"
    assert_equal "$(normalize_ports <"$SERVER_OUT")" \
        "$(printf '%s\n' "Cliente connectandose desde ('127.0.0.1', PORT)"
           hola_lines "Data leida: b'3\\r'" "Data leida: b'\\n\\n'")"
}

@test "02-eagain-loop: the document's three nc clients, Salida line for line" {
    start_server 02-non-blocking/02-eagain-loop "$PORT_UNDER_TEST"
    client_open one "$PORT_UNDER_TEST"
    client_send one 'Hola Mundo3\r\n\n'
    wait_server_line "Data leida: b'\\n\\n'"
    client_open two "$PORT_UNDER_TEST"
    client_send two 'Hola Mundo2\r\n\n'
    wait_until 5 _count_is 2 "Data leida: b'\\n\\n'"
    client_open three "$PORT_UNDER_TEST"
    client_send three 'Hola Mundo\r\n\n'
    wait_client_output three 'Hola Mundo\r\n'
    wait_server_line "Data leida: b'\\n'"
    sleep 0.2                                   # give clients 1 and 2 every chance to be answered
    assert_client_received one ''
    assert_client_received two ''
    assert_equal "$(normalize_ports <"$SERVER_OUT")" \
        "$(printf '%s\n' "Cliente connectandose desde ('127.0.0.1', PORT)"
           hola_lines "Data leida: b'3\\r'" "Data leida: b'\\n\\n'"
           echo "Cliente connectandose desde ('127.0.0.1', PORT)"
           hola_lines "Data leida: b'2\\r'" "Data leida: b'\\n\\n'"
           echo "Cliente connectandose desde ('127.0.0.1', PORT)"
           hola_lines "Data leida: b'\\r\\n'" "Toda la data leida: b'Hola Mundo\\r\\n'" \
               "Data leida: b'\\n'")"
}
_count_is() { [ "$(count_lines "$SERVER_OUT" "$2")" -ge "$1" ]; }

@test "02-eagain-loop: telnet-style typing (one line at a time) is echoed, for two clients" {
    start_server 02-non-blocking/02-eagain-loop "$PORT_UNDER_TEST"
    client_open one "$PORT_UNDER_TEST"
    client_open two "$PORT_UNDER_TEST"
    client_send one 'Hola mundo\r\n'
    client_send two 'Hola mundo\r\n'
    wait_client_output one 'Hola mundo\r\n'
    wait_client_output two 'Hola mundo\r\n'
    assert_equal "$(count_lines "$SERVER_OUT" "Toda la data leida: b'Hola mundo\\r\\n'")" 2
}

@test "02-eagain-loop: no stall: an idle client does not hold up another one" {
    start_server 02-non-blocking/02-eagain-loop "$PORT_UNDER_TEST"
    client_open idle "$PORT_UNDER_TEST"
    wait_server_line "Cliente connectandose desde ('127.0.0.1', PORT)"
    send_line "$PORT_UNDER_TEST" 'Hola\r\n' >"$LIB_TMP/busy.out"
    assert_client_received busy 'Hola\r\n'
    assert_client_received idle ''
}

@test "02-eagain-loop: bytes read before an EAGAIN are lost: 'Ho', pause, 'la\\r\\n' echoes only 'la\\r\\n'" {
    start_server 02-non-blocking/02-eagain-loop "$PORT_UNDER_TEST"
    client_open one "$PORT_UNDER_TEST"
    client_send one 'Ho'
    wait_server_line "Data leida: b'Ho'"
    # The pause: 'la\r\n' goes only once the loop has run on after its 'Ho' line (2 clock ticks
    # of CPU), so its next recv() has said EAGAIN. (A fixed sleep would not do: on a busy machine
    # the server may get no core at all for that long.)
    ticks=$(cpu_ticks "$SERVER_PID")
    wait_until 5 _cpu_ticks_over "$((ticks + 1))"
    client_send one 'la\r\n'
    wait_client_output one 'la\r\n'
    assert_server_output "Cliente connectandose desde ('127.0.0.1', PORT)" \
        "Data leida: b'Ho'" "Data leida: b'la'" "Data leida: b'\\r\\n'" \
        "Toda la data leida: b'la\\r\\n'"
}
_cpu_ticks_over() { [ "$(cpu_ticks "$SERVER_PID")" -gt "$1" ]; }

@test "02-eagain-loop: the busy loop burns a core with nobody talking (generous threshold)" {
    start_server 02-non-blocking/02-eagain-loop "$PORT_UNDER_TEST"
    client_open idle "$PORT_UNDER_TEST"
    # Not the share of a core it gets: a loaded machine gives it a few percent. What marks it
    # is that it runs and never goes to sleep (0 voluntary context switches); a server asleep
    # in a call does not run at all.
    busy_looping "$SERVER_PID" 0.5 || {
        echo "not a busy loop: it wanted $CPU_WANTED% of a core (got $CPU_GOT%) and went to sleep $CPU_SLEPT times" >&2
        false
    }
    echo "idle server: wants $CPU_WANTED% of a core, got $CPU_GOT%, slept $CPU_SLEPT times" >&3
}

@test "02-eagain-loop: a client that resets: a clear message, the server goes on" {
    start_server 02-non-blocking/02-eagain-loop "$PORT_UNDER_TEST"
    "$TOOLS_DIR/misbehave" reset "$PORT_UNDER_TEST" 'Hola'
    wait_until 5 grep -q ECONNRESET "$SERVER_ERR"
    assert_equal "$(cat "$SERVER_ERR")" \
        "02-eagain-loop: recv: Connection reset by peer (errno 104, ECONNRESET)"
    wait_server_line "Cliente ('127.0.0.1', PORT) desconectado"
    send_line "$PORT_UNDER_TEST" 'Hola\r\n' >"$LIB_TMP/after.out"
    assert_client_received after 'Hola\r\n'
}

@test "02-eagain-loop: a client that never reads does not hold up the others" {
    start_server 02-non-blocking/02-eagain-loop "$PORT_UNDER_TEST"
    "$TOOLS_DIR/misbehave" no-read "$PORT_UNDER_TEST" 2 >/dev/null &
    LIB_PIDS+=("$!")
    wait_until 5 grep -q "^Toda la data leida: b'xxxx" "$SERVER_OUT"
    send_line "$PORT_UNDER_TEST" 'Hola\r\n' >"$LIB_TMP/other.out"
    assert_client_received other 'Hola\r\n'
    alive "$SERVER_PID"
}

@test "02-eagain-loop: binary and NUL bytes are echoed intact" {
    start_server 02-non-blocking/02-eagain-loop "$PORT_UNDER_TEST"
    send_line "$PORT_UNDER_TEST" '\x00\x01\xfe\xff\r\n' >"$LIB_TMP/bin.out"
    assert_client_received bin '\x00\x01\xfe\xff\r\n'
    wait_server_line "Toda la data leida: b'\\x00\\x01\\xfe\\xff\\r\\n'"
}

@test "02-eagain-loop: an endless line drops that client, the server goes on" {
    start_server 02-non-blocking/02-eagain-loop "$PORT_UNDER_TEST"
    head -c 20000 /dev/zero | tr '\0' 'a' | timeout 5 nc -N 127.0.0.1 "$PORT_UNDER_TEST" 3>&- >/dev/null || true
    wait_until 5 grep -q "message longer than 4096" "$SERVER_ERR"
    send_line "$PORT_UNDER_TEST" 'Hola\r\n' >"$LIB_TMP/next.out"
    assert_client_received next 'Hola\r\n'
}

@test "02-eagain-loop: out of descriptors (EMFILE): reported once a second, the others served" {
    command -v prlimit >/dev/null || skip "needs prlimit (util-linux) to lower a server's descriptor limit"
    start_server 02-non-blocking/02-eagain-loop "$PORT_UNDER_TEST"
    started=$(date +%s%N)
    limit_to_one_client "$SERVER_PID"
    client_open one "$PORT_UNDER_TEST"
    wait_server_line "Cliente connectandose desde ('127.0.0.1', PORT)"
    client_open two "$PORT_UNDER_TEST"           # queued by the kernel: no descriptor for it
    client_send two 'dos\r\n'
    wait_until 5 grep -q EMFILE "$SERVER_ERR"
    client_send one 'uno\r\n'                   # client 1 is still served meanwhile
    wait_client_output one 'uno\r\n'
    sleep 1                                      # thousands of failed accept()s: few lines
    lines=$(grep -c "^02-eagain-loop: accept: Too many open files (errno 24, EMFILE)$" "$SERVER_ERR")
    seconds=$((($(date +%s%N) - started) / 1000000000))
    [ "$lines" -ge 1 ] && [ "$lines" -le $((seconds + 2)) ] || { echo "$lines lines in $seconds s" >&2; false; }
    client_kill one
    wait_client_output two 'dos\r\n'
}

@test "02-eagain-loop: beyond MAX_CLIENTS (1024) the extra clients are refused cleanly" {
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    [ "$(ulimit -n)" -ge 1100 ] || skip "needs 1100 open files (ulimit -n is $(ulimit -n))"
    start_server 02-non-blocking/02-eagain-loop "$PORT_UNDER_TEST"
    # The clients stay until teardown: the busy loop takes its time to accept 1030 of them (a
    # pass of its loop calls recv() on every client), and were the first ones to leave before
    # the last came, there might never be more than 1024 at once.
    "$TOOLS_DIR/loadgen" hold "$PORT_UNDER_TEST" 1030 60 >"$LIB_TMP/hold.out" 3>&- &
    LIB_PIDS+=("$!")
    wait_until 30 eval '[ "$(grep -c "^Demasiados clientes (1024): se cierra" "$SERVER_OUT")" -ge 6 ]'
    assert_equal "$(grep -c "^Cliente connectandose desde" "$SERVER_OUT")" 1024
    alive "$SERVER_PID"
}
