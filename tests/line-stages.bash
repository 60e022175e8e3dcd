# tests/line-stages.bash - loaded by tests/all-stages.bats (and the files of sections 3 to 5):
# the promises every line-echo server keeps, whatever its way of serving many clients (select,
# poll, epoll, a callback loop, a process or a thread per client, io_uring). Each `behaves_*`
# function starts $STAGE on $PORT_UNDER_TEST and checks one behaviour; all-stages.bats runs
# each one as a test of its own for every stage that has it.

CONNECT="Cliente connectandose desde ('127.0.0.1', PORT)"
LEFT="Cliente ('127.0.0.1', PORT) desconectado"
RESET="Cliente ('127.0.0.1', PORT) desconectado (conexión reiniciada)"
TOO_LONG_REPLY='Error: línea de más de 1024 bytes sin \\r\\n, se cierra la conexión\r\n'
DROPPED_TOO_LONG="Cliente ('127.0.0.1', PORT) descartado: línea de más de 1024 bytes sin \\r\\n"
LONGEST=$(printf 'a%.0s' {1..1022}) # with "\r\n": the longest line, 1024 bytes

# start_stage [ARGS...]: start $STAGE on $PORT_UNDER_TEST (PORT, for short).
start_stage() {
    PORT=$PORT_UNDER_TEST
    start_server "$STAGE" "$PORT" "$@"
}

# assert_still_serving PORT [NAME]: a new client (named NAME) is echoed at once.
assert_still_serving() {
    send_line "$1" 'Sigo aqui\r\n' >"$LIB_TMP/${2:-fresh}.out"
    assert_client_received "${2:-fresh}" 'Sigo aqui\r\n'
}

# server_has_read BYTES: the server has received BYTES bytes (at least) on its one client
# connection, and read them all: nothing left in its receive queue (ss: bytes_received,
# Recv-Q). What a test waits for instead of sleeping "long enough for the server to read".
server_has_read() {
    ss -Htin state established "( sport = :$PORT )" 2>/dev/null | awk -v n="$1" '
        NR % 2 == 1 { recv_q = $1 }
        NR % 2 == 0 && match($0, /bytes_received:[0-9]+/) {
            if (recv_q == 0 && substr($0, RSTART + 15, RLENGTH - 15) + 0 >= n) ok = 1
        }
        END { exit !ok }'
}

# server_fds: descriptors open in the server and its child processes (a stage with a process
# per client holds each client's socket in a child).
server_fds() {
    local pid count=0 fds
    for pid in "$SERVER_PID" $(children_of "$SERVER_PID"); do
        fds=("/proc/$pid/fd/"*)
        [ -e "${fds[0]}" ] && count=$((count + ${#fds[@]}))
    done
    echo "$count"
}
_fds_at_most() { [ "$(server_fds)" -le "$1" ]; }

# mark_memory / assert_memory_growth_below KB: the server's peak resident memory (VmHWM) grew
# by less than KB since mark_memory (a relative check: sanitizer builds start bigger). "The
# server" is its process and its children: the fork stage's child serves the client.
mark_memory() { MEMORY_MARK=$(peak_memory_kb "$SERVER_PID"); }
peak_memory_kb() {
    local pid kb max=0
    for pid in "$1" $(children_of "$1"); do
        proc_field kb "$pid" VmHWM && [ "$kb" -gt "$max" ] && max=$kb
    done
    echo "$max"
}
# Under the sanitizers every allocation carries redzones and freed memory sits in a quarantine,
# so the same work shows more growth, by an amount that depends on how many bytes went through
# before the look: 5x there, 6x under ThreadSanitizer (shadow memory, per thread too).
assert_memory_growth_below() {
    local kb limit=$1
    [ -n "${ASAN_OPTIONS:-}" ] && limit=$((limit * 5))
    [ -n "${TSAN_OPTIONS:-}" ] && limit=$((limit * 6))
    kb=$(peak_memory_kb "$SERVER_PID")
    [ $((kb - MEMORY_MARK)) -lt "$limit" ] || {
        echo "peak memory grew from $MEMORY_MARK kB to $kb kB" >&2
        return 1
    }
}

# --- framing ---------------------------------------------------------------------------------

behaves_pieces() { # "Ho", a pause, "la\r\n": one line, echoed whole
    start_stage
    client_open c "$PORT"
    client_send c 'Ho'
    wait_until 3 server_has_read 2 # "Ho" is read on its own, and kept
    assert_client_received c ''    # nothing echoed before the "\r\n"
    client_send c 'la\r\n'
    wait_client_output c 'Hola\r\n'
    client_kill c
    wait_server_line "$LEFT"
    assert_server_output "$CONNECT" "Toda la data leida: b'Hola\\r\\n'" "$LEFT"
    assert_no_errors
}

behaves_two_lines() { # two lines in one write: two echoes, in order
    start_stage
    send_line "$PORT" 'Uno\r\nDos\r\n' >"$LIB_TMP/two.out"
    assert_client_received two 'Uno\r\nDos\r\n'
    assert_server_output "$CONNECT" "Toda la data leida: b'Uno\\r\\n'" "Toda la data leida: b'Dos\\r\\n'" "$LEFT"
}

behaves_notes_case() { # printf 'Hola Mundo3\r\n\n' | nc: echoed (the lone "\n" is no line)
    start_stage
    send_line "$PORT" 'Hola Mundo3\r\n\n' >"$LIB_TMP/doc.out"
    assert_client_received doc 'Hola Mundo3\r\n'
    assert_server_output "$CONNECT" "Toda la data leida: b'Hola Mundo3\\r\\n'" "$LEFT"
}

behaves_binary() { # NUL and high bytes, a lone "\r", a lone "\n": intact, printed as Python does
    start_stage
    send_line "$PORT" '\x00\x01\r\xfe\xff\n\r\n' >"$LIB_TMP/bin.out"
    assert_client_received bin '\x00\x01\r\xfe\xff\n\r\n'
    assert_server_output "$CONNECT" "Toda la data leida: b'\\x00\\x01\\r\\xfe\\xff\\n\\r\\n'" "$LEFT"
    assert_no_errors
}

# --- clients that misbehave ------------------------------------------------------------------

behaves_idle_delays_nobody() { # one client connected and silent; another is echoed at once
    start_stage
    client_open idle "$PORT"
    wait_server_line "$CONNECT"
    send_line "$PORT" 'Hola Mundo\r\n' >"$LIB_TMP/busy.out"
    assert_client_received busy 'Hola Mundo\r\n'
    assert_client_received idle ''
    assert_server_output "$CONNECT" "$CONNECT" "Toda la data leida: b'Hola Mundo\\r\\n'" "$LEFT"
}

behaves_mid_line_leave() { # the client leaves in the middle of a line: that line is dropped
    start_stage
    send_line "$PORT" 'Hola\r\nHol' >"$LIB_TMP/mid.out"
    assert_client_received mid 'Hola\r\n'
    assert_server_output "$CONNECT" "Toda la data leida: b'Hola\\r\\n'" "$LEFT"
    assert_no_errors
    assert_still_serving "$PORT"
}

# A client that resets (RST): one calm line, nothing on stderr (it is the client's right). It
# resets only once the server has announced it, so that the line to expect is known.
behaves_reset() {
    local told reset_pid
    start_stage
    mkfifo "$LIB_TMP/reset"
    "$TOOLS_DIR/misbehave" reset-when-told "$PORT" 'Hol' <"$LIB_TMP/reset" &
    reset_pid=$!
    exec {told}>"$LIB_TMP/reset"
    wait_server_line "$CONNECT"
    exec {told}>&-
    wait "$reset_pid"
    wait_server_line "$RESET"
    assert_server_output "$CONNECT" "$RESET"
    assert_no_errors
    assert_still_serving "$PORT"
}

# --- line length -----------------------------------------------------------------------------

behaves_longest_line() { # 1024 bytes with the "\r\n" is a line, even with a pause before its end
    start_stage
    send_line "$PORT" "$LONGEST"'\r\n' >"$LIB_TMP/ok.out"
    assert_client_received ok "$LONGEST"'\r\n'
    assert_server_output "$CONNECT" "Toda la data leida: b'$LONGEST\\r\\n'" "$LEFT"
    mark_output
    client_open edge "$PORT"
    client_send edge "$LONGEST"'\r'
    wait_until 3 server_has_read 1023 # 1023 bytes wait in the buffer, not too long yet
    client_send edge '\n'
    wait_client_output edge "$LONGEST"'\r\n'
    client_kill edge
    wait_server_line "$LEFT"
    assert_server_output "$CONNECT" "Toda la data leida: b'$LONGEST\\r\\n'" "$LEFT"
}

behaves_too_long_line() { # 1023 bytes and a "\r": its "\n" would be byte 1025
    start_stage
    send_line "$PORT" "a$LONGEST"'\r\nb\r\n' >"$LIB_TMP/long.out"
    assert_client_received long "$TOO_LONG_REPLY"
    assert_server_output "$CONNECT" "$DROPPED_TOO_LONG"
    assert_no_errors
    assert_still_serving "$PORT"
}

behaves_endless_line() { # 1 MB without "\r\n": the same, and the server's memory stays small
    start_stage
    mark_memory
    head -c 1000000 /dev/zero | tr '\0' a |
        timeout 5 nc -N 127.0.0.1 "$PORT" >"$LIB_TMP/endless.out" 3>&- || true
    assert_client_received endless "$TOO_LONG_REPLY"
    assert_server_output "$CONNECT" "$DROPPED_TOO_LONG"
    assert_memory_growth_below 1000
    assert_still_serving "$PORT"
}

behaves_trickle_closed() { # a dropped client that goes on sending, even slowly: closed after 1 s
    local fds_before fd start
    start_stage
    fds_before=$(server_fds)
    exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
    head -c 1100 /dev/zero | tr '\0' a >&"$fd" # too long: dropped (error line, FIN)
    wait_server_line "$DROPPED_TOO_LONG"
    start=$SECONDS
    # then a byte every 0.1 s, as long as the server keeps the connection (at most 4 s)
    ( trap '' PIPE; while [ $((SECONDS - start)) -lt 4 ]; do printf a >&"$fd" || break; sleep 0.1; done ) 2>/dev/null &
    LIB_PIDS+=("$!")
    wait_until 3 _fds_at_most "$fds_before" || {
        echo "the dropped client's socket is still open after 3 s" >&2
        return 1
    }
    exec {fd}>&-
    assert_server_output "$CONNECT" "$DROPPED_TOO_LONG"
    assert_still_serving "$PORT"
    assert_no_errors
}

# --- under load (-q: no "Toda la data leida" lines) -------------------------------------------

# _replies_pile_up: more than 8 KB of the server's replies wait in one connection's queue.
_replies_pile_up() { [ "$(send_queue "$PORT")" -gt 8192 ]; }

behaves_never_reads() { # replies pile up for it alone; memory bounded; the others are served
    local noread
    start_stage -q
    mark_memory
    "$TOOLS_DIR/misbehave" no-read "$PORT" 30 >"$LIB_TMP/noread.out" 3>&- &
    noread=$!
    LIB_PIDS+=("$noread")
    wait_until 5 _replies_pile_up
    assert_still_serving "$PORT"
    assert_memory_growth_below 1000
    kill "$noread"
    wait "$noread" || true
    wait_server_line "$RESET" # (it left replies unread: its kernel resets the connection)
    assert_server_output "$CONNECT" "$CONNECT" "$LEFT" "$RESET"
    assert_no_errors
}

# A slow reader: 8 MB of lines, more than the kernel buffers hold, read only after 0.3 s: the
# echoes wait in the server's queue (send() says EAGAIN), the server stops reading from it
# meanwhile, and once it reads, everything arrives, intact and in order.
behaves_slow_reader() {
    local summary
    start_stage -q
    # (-t 30: time to give up, not to take; the fork stage under ASan is slow to start a child)
    summary=$("$TOOLS_DIR/many-clients" -n 1 -l 16000 -m 1000 -p 65536 -w 300 -R 4096 -t 30 "$PORT")
    assert_equal "${summary% seconds=*}" "clients=1 served=1 refused=0 cut=0 failed=0 lines=16000/16000"
    assert_no_errors
}

behaves_200_clients() { # 200 at once, lines sent in pieces: every line intact and in order
    local summary
    start_stage -q
    summary=$("$TOOLS_DIR/many-clients" -n 200 -l 5 -m 200 -p 40 -s 7 -t 30 "$PORT")
    assert_equal "${summary% seconds=*}" "clients=200 served=200 refused=0 cut=0 failed=0 lines=1000/1000"
    wait_until 5 _lines_printed 400 || { echo "expected 400 lines:" >&2; cat "$SERVER_OUT" >&2; false; }
    assert_equal "$(count_lines "$SERVER_OUT" "$CONNECT") $(count_lines "$SERVER_OUT" "$LEFT")" "200 200"
    assert_no_errors
}
_lines_printed() { [ "$(wc -l <"$SERVER_OUT")" -ge "$1" ]; }

# --- descriptors -----------------------------------------------------------------------------

# Out of descriptors (EMFILE): 40 clients that read nothing for 0.4 s, with room for about 20
# at a time: the server stays out of descriptors that long, says so, pauses accepting instead
# of spinning, and serves every client in the end. LIMIT_AT_START: the limit is set as the
# stage starts (prlimit runs it), for a stage that reads it only then (io_uring's multishot
# accept); otherwise it is lowered on the running server (prlimit --pid).
behaves_out_of_descriptors() {
    local summary ticks limit=25
    # (the sanitizers make the same work dearer; a spin during the 0.4 s, 40 ticks at least,
    # still breaks the plain bound)
    [ -n "${ASAN_OPTIONS:-}" ] && limit=$((limit * 2))
    [ -n "${TSAN_OPTIONS:-}" ] && limit=$((limit * 4))
    PORT=$PORT_UNDER_TEST
    if [ "${LIMIT_AT_START:-0}" = 1 ]; then
        start_program "${STAGE//\//_}" "$PORT" prlimit --nofile=24:24 "$(stage_bin "$STAGE")" -q
    else
        start_stage -q
        prlimit --pid "$SERVER_PID" --nofile=24:24
    fi
    summary=$("$TOOLS_DIR/many-clients" -n 40 -l 2 -w 400 -t 5 "$PORT")
    assert_equal "${summary% seconds=*}" "clients=40 served=40 refused=0 cut=0 failed=0 lines=80/80"
    grep -qx "${STAGE#*/}: accept: Too many open files (errno 24, EMFILE)" "$SERVER_ERR"
    ticks=$(cpu_ticks "$SERVER_PID")
    [ "$ticks" -lt "$limit" ] || { echo "it spun: $ticks clock ticks of CPU (at most $limit)" >&2; false; }
}

# Beyond FD_SETSIZE: 1100 clients at once; those whose descriptor select() cannot watch are
# told so and closed, the others served.
behaves_beyond_fd_setsize() {
    local summary served refused
    start_stage -q
    summary=$("$TOOLS_DIR/many-clients" -n 1100 -l 1 -s 3 -r "$PORT" 2>"$LIB_TMP/many.err")
    [[ $summary =~ ^clients=1100\ served=([0-9]+)\ refused=([0-9]+)\ cut=0\ failed=0\  ]]
    served=${BASH_REMATCH[1]} refused=${BASH_REMATCH[2]}
    [ "$((served + refused))" -eq 1100 ] && [ "$refused" -ge 1 ] && [ "$served" -ge 1000 ]
    assert_equal "$(sed 's/^[^;]*; //' "$LIB_TMP/many.err")" \
        "it was told: b'Error: servidor lleno, intente m\\xc3\\xa1s tarde\\r\\n'"
    assert_equal "$(grep -c "^Cliente ('127.0.0.1', [0-9]*) rechazado: descriptor [0-9]* >= FD_SETSIZE (1024), select() no puede vigilarlo$" "$SERVER_OUT")" "$refused"
    assert_no_errors
    assert_still_serving "$PORT"
}

# A listening socket at FD_SETSIZE or above: an inherited descriptor table, 3..1030 already
# open, makes it 1031; without the check, FD_SET() would write past the fd_set.
behaves_listener_past_fd_setsize() {
    run bash -c 'for fd in $(seq 3 1030); do eval "exec $fd</dev/null"; done; exec timeout 5 "$@"' \
        _ "$(stage_bin "$STAGE")" "$PORT_UNDER_TEST"
    assert_failure 1
    assert_output "${STAGE#*/}: descriptor 1031 >= FD_SETSIZE (1024), select() no puede vigilarlo"
}
