# tests/exercises/exercise.bash - loaded by every exercise check, tests/exercises/NN-name.bats.
#
# The program under test is chosen by variables, so the same checks run against a student's
# work (`make exercise N=3`), the reference solutions and the untouched starting files
# (tests/exercises.bats) and the wrong solutions of the mutation tests (scripts/gates/mutants.sh):
#   EXERCISE_DIR      folder with the files under test; default: the student's folder,
#                     chapters/chapter-03/exercises/NN-name (the solutions are in .../solutions/)
#   EXERCISE_BIN      the binary under test; default: the one `make` builds from EXERCISE_DIR's .c
#   EXERCISE_WAIT     seconds to wait for something that should happen (default 3); the check
#                     that the starting files fail sets it low, since there it never happens.
#   EXERCISE_REPORTS  where the sanitizers write their reports (make exercise runs a build with
#                     ASan + UBSan, log_path=$EXERCISE_REPORTS/report): a report written during
#                     a check fails that check, with the line of the program it points at.
#
# Every failure says what was measured, in words: what was expected, what the program did, and
# what that means. Comparisons of output are labelled diffs (which side is which).

load ../helpers # (with bats-support: fail, a failure with a message; and bats-assert)
# Every message is written twice, English and Spanish (L and Lf): the student reads the one of
# their language (LANG/LANGUAGE starting with es: Spanish), as in the other tools.
# shellcheck source=../../scripts/i18n.sh
source "$LIB_ROOT/scripts/i18n.sh"

EXERCISE_NAME=$(basename "$BATS_TEST_FILENAME" .bats)
EXERCISES_ROOT=$LIB_ROOT/chapters/chapter-03/exercises
EXERCISE_DIR=${EXERCISE_DIR:-$EXERCISES_ROOT/$EXERCISE_NAME}
if [ -z "${EXERCISE_BIN:-}" ]; then
    _src=$(find "$EXERCISE_DIR" -maxdepth 1 -name '*.c' | head -n 1)
    EXERCISE_BIN=$BUILD_DIR/exercises/${EXERCISE_DIR#"$EXERCISES_ROOT"/}/$(basename "$_src" .c)
fi
WAIT=${EXERCISE_WAIT:-3}

# The program's name, as it writes it at the start of its error lines.
exercise_program() { basename "$EXERCISE_BIN"; }

# require_built: the program under test exists.
require_built() {
    [ -x "$EXERCISE_BIN" ] ||
        fail "$(Lf "setup: your program is not built: %s (make exercise N=... builds it)" \
            "preparación: tu programa no está compilado: %s (make exercise N=... lo compila)" "$EXERCISE_BIN")"
}

# start_exercise [ARGS...]: start the program under test on $PORT_UNDER_TEST (see start_program)
# and wait until it listens.
# shellcheck disable=SC2120 # the checks call it with arguments too
start_exercise() {
    require_built || return 1
    if ! start_program "$(exercise_program)" "$PORT_UNDER_TEST" "$EXERCISE_BIN" "$@" 2>/dev/null; then
        fail "$(Lf "setup: waited 5 s for your program to listen on port %s: it did not%s. Its stderr:" \
            "preparación: he esperado 5 s a que tu programa escuchara en el puerto %s: no lo ha hecho%s. Su stderr:" \
            "$PORT_UNDER_TEST" "$(alive "$SERVER_PID" || L " (it exited)" " (ha terminado)")")
$(cat "$SERVER_ERR")"
        return 1
    fi
}

# teardown: stop everything, then fail the check if a sanitizer reported a bug meanwhile.
# (stop_all's `exec {fd}>&- 2>/dev/null` leaves this shell's stderr on /dev/null: keep a copy.)
teardown() {
    local saved
    exec {saved}>&2
    stop_all
    exec 2>&"$saved" {saved}>&-
    check_sanitizer_reports
}

# check_sanitizer_reports: if AddressSanitizer or UBSan wrote a report during this check, say
# what and where (the first frame in an exercise file), show the report's head, and fail.
# (Not lib.sh's sanitizer_verdict, which judges a whole run of the suite.)
check_sanitizer_reports() {
    [ -n "${EXERCISE_REPORTS:-}" ] && [ -d "$EXERCISE_REPORTS" ] || return 0
    local report found=0
    mkdir -p "$EXERCISE_REPORTS/seen"
    for report in "$EXERCISE_REPORTS"/report.*; do
        [ -f "$report" ] || continue
        found=1
        {
            L "your program stopped on a memory or undefined-behaviour error:" \
                "tu programa se ha parado por un error de memoria o de comportamiento indefinido:"
            echo
            echo "  $(sanitizer_summary "$report")"
            Lf "--- the sanitizer's report (head; in full: %s)\n" \
                "--- el informe del sanitizador (el principio; entero en %s)\n" "$EXERCISE_REPORTS/seen/${report##*/}"
            grep -v '^ *$' "$report" | head -n 14
        } >&2
        mv "$report" "$EXERCISE_REPORTS/seen/"
    done
    [ "$found" -eq 0 ] || fail "$(L "(a sanitizer report is a failure, whatever the check saw)" \
        "(un informe del sanitizador es un fallo, vea lo que vea la comprobación)")"
}

# sanitizer_summary REPORT: "stack-buffer-overflow (READ of size 1) in find_crlf_end at
# crlf-anywhere.c:47", from an ASan or UBSan report.
sanitizer_summary() {
    awk '
        /ERROR: AddressSanitizer: / && !what { sub(/.*AddressSanitizer: /, ""); sub(/ on address.*/, ""); what = $0 }
        /^(READ|WRITE) of size/ && !access { access = $1 " of size " $4 }
        / runtime error: / && !what { where = $1; sub(/:$/, "", where); sub(/.*\//, "", where); sub(/.* runtime error: /, ""); what = $0 }
        /^ *#[0-9]+ / && /\.c:[0-9]+/ && !where {
            fn = ""; for (i = 1; i <= NF; i++) if ($i == "in") fn = $(i + 1)
            where = $NF; sub(/.*\//, "", where); if (fn != "") where = fn " at " where
        }
        END {
            if (!what) what = "see the report"
            printf "%s%s in %s\n", what, (access ? " (" access ")" : ""), (where ? where : "?")
        }' "$1"
}

# --- what was seen, in words ------------------------------------------------------------------

# bytes_text < DATA: DATA written as Python writes bytes, b'Hola\r\n' (NUL bytes included:
# read through od, never through a shell variable).
bytes_text() {
    od -An -v -tu1 | awk '
        { for (i = 1; i <= NF; i++) {
            c = $i + 0
            if (c == 13) s = s "\\r"; else if (c == 10) s = s "\\n"; else if (c == 9) s = s "\\t"
            else if (c == 92) s = s "\\\\"; else if (c == 39) s = s "\\'\''"
            else if (c >= 32 && c < 127) s = s sprintf("%c", c); else s = s sprintf("\\x%02x", c)
        } }
        END { printf "b'\''%s'\''", s }'
}

# received_text NAME: what client NAME has received, as bytes_text writes it: the first 120
# bytes, then how many in all.
received_text() {
    local file=$LIB_TMP/$1.out size
    size=$(stat -c %s "$file")
    if [ "$size" -eq 0 ]; then
        L "nothing" "nada"
    elif [ "$size" -le 120 ]; then
        bytes_text <"$file"
    else
        Lf "%s... (%s bytes in all)" "%s... (%s bytes en total)" "$(head -c 120 "$file" | bytes_text)" "$size"
    fi
}

# _client_got NAME DATA: client NAME has received exactly DATA (printf escapes), compared
# byte for byte (cmp: no "ignored null byte" warnings from a $(...) of binary data).
_client_got() { cmp -s <(printf '%b' "$2") "$LIB_TMP/$1.out"; }

# _client_settled NAME DATA: client NAME has received DATA, or something that is not the start
# of DATA (then waiting longer cannot make it right).
_client_settled() {
    local size
    size=$(stat -c %s "$LIB_TMP/$1.out")
    ! cmp -s -n "$size" <(printf '%b' "$2") "$LIB_TMP/$1.out" || _client_got "$1" "$2"
}

# expect_echo NAME DATA [WHY]: client NAME receives exactly DATA within $WAIT seconds.
expect_echo() {
    wait_until "$WAIT" _client_settled "$1" "$2" || true
    _client_got "$1" "$2" && return 0
    fail "$(Lf "client '%s': expected to receive %s within %s s, got %s" \
        "cliente '%s': esperaba recibir %s en %s s, y ha recibido %s" \
        "$1" "$(printf '%b' "$2" | bytes_text)" "$WAIT" "$(received_text "$1")")${3:+ ($3)}
$(server_said)"
}

# expect_received NAME DATA [WHY]: client NAME, which has finished (send_line: it waited for the
# program already), received exactly DATA. No more waiting: nothing more can come.
expect_received() {
    _client_got "$1" "$2" && return 0
    fail "$(Lf "client '%s': expected to receive %s, got %s" "cliente '%s': esperaba recibir %s, y ha recibido %s" \
        "$1" "$(printf '%b' "$2" | bytes_text)" "$(received_text "$1")")${3:+ ($3)}
$(server_said)"
}

# expect_only NAME DATA SECONDS WHY: after SECONDS more, client NAME has still received exactly
# DATA (printf escapes) in all: nothing more came.
expect_only() {
    sleep "$3"
    _client_got "$1" "$2" && return 0
    fail "$(Lf "client '%s' received %s in all; expected only %s after %s s more" \
        "el cliente '%s' ha recibido %s en total; esperaba solo %s tras %s s más" \
        "$1" "$(received_text "$1")" "$(printf '%b' "$2" | bytes_text)" "$3") ($4)
$(server_said)"
}

# server_said: the program's stdout (ports normalised) and stderr, labelled, for a failure.
server_said() {
    [ -n "${SERVER_OUT:-}" ] && [ -f "$SERVER_OUT" ] || return 0
    L "--- your program's stdout (client ports written as PORT):" \
        "--- la salida (stdout) de tu programa (el puerto de cada cliente, como PORT):"
    echo
    normalize_ports <"$SERVER_OUT" | head -n 40
    [ "$(wc -l <"$SERVER_OUT")" -le 40 ] ||
        Lf "... (%s lines in all)\n" "... (%s líneas en total)\n" "$(wc -l <"$SERVER_OUT")"
    if [ -s "$SERVER_ERR" ]; then
        L "--- its stderr:" "--- su stderr:"
        echo
        head -n 10 "$SERVER_ERR"
    fi
}

# labelled_diff EXPECTED-LABEL EXPECTED ACTUAL-LABEL ACTUAL: 0 if the texts are equal, else 1
# with a unified diff on stderr whose two sides say what they are.
labelled_diff() {
    [ "$2" = "$4" ] && return 0
    diff -u --label "$1" --label "$3" <(printf '%s\n' "$2") <(printf '%s\n' "$4") >&2 || true
    L "(lines with - are only in the first, with + only in the second)" \
        "(las líneas con - están solo en el primero; las de +, solo en el segundo)" >&2
    echo >&2
    return 1
}

# expect_server_lines WHY LINE...: the program's stdout so far (ports normalised) is exactly
# these lines; waits up to $WAIT seconds for the last one first.
expect_server_lines() {
    local why=$1
    shift
    wait_output "$SERVER_OUT" "${*: -1}" "$WAIT" || true
    local actual
    actual=$(normalize_ports <"$SERVER_OUT")
    labelled_diff "$(L "expected (what the finished program prints)" "lo esperado (lo que imprime el programa terminado)")" \
        "$(printf '%s\n' "$@")" "$(L "your program printed" "lo que ha impreso tu programa")" "$actual" && return 0
    [ -s "$SERVER_ERR" ] && { L "--- its stderr:" "--- su stderr:"; echo; head -n 10 "$SERVER_ERR"; } >&2
    fail "$(L "your program's output is not the expected one" "la salida de tu programa no es la esperada") ($why)"
}

# await_server_line TEXT WHAT: setup step: wait up to $WAIT s for the program to print the
# line TEXT; WHAT says what that line means.
await_server_line() {
    wait_output "$SERVER_OUT" "$1" "$WAIT" && return 0
    fail "$(Lf "setup: waited %s s for your program to print \"%s\" (%s): it did not" \
        "preparación: he esperado %s s a que tu programa imprimiera \"%s\" (%s): no lo ha hecho" "$WAIT" "$1" "$2")
$(server_said)"
}

# measured_wrong WHAT EXPECTED GOT MEANING: fail with "WHAT: expected EXPECTED, got GOT (MEANING)"
# (each argument already in the student's language).
measured_wrong() { fail "$1: $(L expected esperaba) $2, $(L got "y ha sido") $3 ($4)
$(server_said)"; }

# client_write NAME DATA: like client_send, but in ONE write(). Bash's own printf writes line by
# line, so 'Hola Mundo3\r\n\n' could reach the server as two pieces and be read differently
# from the document's echo -e | nc; the printf program writes its whole output at once.
client_write() {
    local v=CLIENT_FD_$1
    env printf '%b' "$2" >&"${!v}"
}

# expect_idle WHAT WHY: the program under test sleeps (in select(), poll()...) for the next
# 0.5 s: under 20% of a CPU, and scheduled at most twice. (The second half holds on a loaded
# machine too, where a spinning loop may get less than 20% of a CPU but is run again and again.)
expect_idle() {
    local hz t0 t1 r0 r1 cpu runs
    hz=$(getconf CLK_TCK)
    t0=$(cpu_ticks "$SERVER_PID") && read -r _ _ r0 <"/proc/$SERVER_PID/schedstat"
    sleep 0.5
    t1=$(cpu_ticks "$SERVER_PID") && read -r _ _ r1 <"/proc/$SERVER_PID/schedstat"
    cpu=$(((t1 - t0) * 100 * 2 / hz)) runs=$((r1 - r0))
    [ "$cpu" -lt 20 ] && [ "$runs" -le 2 ] && return 0
    measured_wrong "$1, $(L "over 0.5 s" "durante 0,5 s")" \
        "$(L "asleep: under 20% of a CPU, run at most twice" "dormido: menos del 20% de una CPU, y como mucho dos turnos")" \
        "$(Lf "%s%% of a CPU, run %s times" "%s%% de una CPU, y %s turnos" "$cpu" "$runs")" "$2"
}

# open_fds: how many descriptors the program under test has open.
open_fds() { find "/proc/$SERVER_PID/fd" -mindepth 1 -maxdepth 1 | wc -l; }

# --- the checks every server exercise shares ---------------------------------------------------

# _fds_at_most N: the program under test has at most N descriptors open.
_fds_at_most() { [ "$(open_fds)" -le "$1" ]; }

# _cycles_settled BEFORE: the program holds at most BEFORE descriptors, or its output has not
# grown for 3 s (150 polls of 20 ms): whatever it does now, it is done with the clients. (Not
# less: on a crowded machine a busy loop may not get a core for a second.)
_cycles_settled() {
    _fds_at_most "$1" && return 0
    local size
    size=$(stat -c %s "$SERVER_OUT" 2>/dev/null || echo 0)
    if [ "$size" = "$_CYCLES_SIZE" ]; then _CYCLES_STILL=$((_CYCLES_STILL + 1)); else _CYCLES_STILL=0; fi
    _CYCLES_SIZE=$size
    [ "$_CYCLES_STILL" -ge 150 ]
}

# expect_cycles_clean [COUNT]: starts the program, then COUNT clients (default 1100, more than
# the 1024 places of a table of clients) connect and close at once, one after the other, every
# second one after sending half a line; then the program holds no more descriptors than before
# them, at most 2 MB more memory, and a new client still gets its echo. A place or a socket kept for a client that has gone shows here.
expect_cycles_clean() {
    local count=${1:-1100} before after rss_before rss_after
    # (AddressSanitizer keeps freed memory aside for a while, 256 MB of it, to catch a use after
    # free: without that quarantine, memory freed is reused, and only memory kept shows.)
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0" start_exercise
    before=$(open_fds)
    proc_field rss_before "$SERVER_PID" VmRSS
    "$TOOLS_DIR/misbehave" cycles "$PORT_UNDER_TEST" "$count" >/dev/null 2>"$LIB_TMP/cycles.err" ||
        fail "$(Lf "setup: %s clients could not connect and close one after the other:" \
            "preparación: %s clientes no han podido conectarse y cerrar uno tras otro:" "$count")
$(cat "$LIB_TMP/cycles.err")
$(server_said)"
    # The program may still be working through the last of them: wait while it makes progress
    # (its output grows), until its descriptors are back, or it has printed nothing for 3 s.
    _CYCLES_SIZE=-1 _CYCLES_STILL=0
    wait_until 30 _cycles_settled "$before" || true
    after=$(open_fds)
    [ "$after" -le "$before" ] || measured_wrong \
        "$(Lf "open descriptors after %s clients came and went" "descriptores abiertos tras ir y venir %s clientes" "$count")" \
        "$(Lf "%s, as before them" "%s, como antes" "$before")" "$after" \
        "$(L "the socket of a client that has gone must be closed" "el socket de un cliente que se ha ido hay que cerrarlo")"
    proc_field rss_after "$SERVER_PID" VmRSS
    [ "${rss_after%% *}" -le $((${rss_before%% *} + 2048)) ] || measured_wrong \
        "$(Lf "the program's memory (VmRSS) after %s clients came and went" "la memoria del programa (VmRSS) tras ir y venir %s clientes" "$count")" \
        "$(Lf "at most 2 MB more than before them (%s)" "como mucho 2 MB más que antes (%s)" "$rss_before")" "$rss_after" \
        "$(L "memory taken for a client must be given back when it goes" "la memoria que se reserva para un cliente hay que liberarla cuando se va")"
    send_line "$PORT_UNDER_TEST" 'Hola\r\n' "$WAIT" >"$LIB_TMP/after-cycles.out"
    expect_received after-cycles 'Hola\r\n' "$(Lf "a new client after %s that came and went: the place of a client that has gone must be free again" \
        "un cliente nuevo tras %s que han ido y venido: el sitio de un cliente que se ha ido tiene que quedar libre" "$count")"
}

# expect_reset_seen_by_recv DATA READ: a client sends DATA, and once the program has printed
# the line READ (it has read DATA) the client resets the connection (RST): the program's next
# recv() fails with ECONNRESET. Then: one line on stderr,
# "PROGRAM: recv: Connection reset by peer (errno 104, ECONNRESET)"; "Cliente (...)
# desconectado" on stdout; its socket closed; and the next client served.
expect_reset_seen_by_recv() {
    local fifo=$LIB_TMP/reset.in fd before
    before=$(open_fds)
    mkfifo "$fifo"
    "$TOOLS_DIR/misbehave" reset-when-told "$PORT_UNDER_TEST" "$1" <"$fifo" 2>/dev/null 3>&- &
    LIB_PIDS+=("$!")
    exec {fd}>"$fifo"
    LIB_FDS+=("$fd")
    await_server_line "$2" "$(L "the client's bytes were read; it resets now" "se han leído los bytes del cliente; ahora resetea")"
    exec {fd}>&- # its input ends: it resets the connection
    await_server_line "Cliente ('127.0.0.1', PORT) desconectado" \
        "$(L "a client that resets has gone: say so, as for a hang-up" "un cliente que resetea se ha ido: dilo, como cuando cuelga")"
    local want
    want="$(exercise_program): recv: Connection reset by peer (errno 104, ECONNRESET)"
    [ "$(cat "$SERVER_ERR")" = "$want" ] || fail "$(Lf "expected one line on stderr, '%s' (recv() failed: report it with warn_call, then forget the client); it holds:" \
        "esperaba una línea en stderr, '%s' (recv() ha fallado: avísalo con warn_call y olvida al cliente); contiene:" "$want")
$(head -n 5 "$SERVER_ERR")"
    wait_until "$WAIT" _fds_at_most $((before)) || true
    [ "$(open_fds)" -le "$before" ] || measured_wrong \
        "$(L "open descriptors after the client reset" "descriptores abiertos tras el reset del cliente")" "$before" "$(open_fds)" \
        "$(L "its socket must be closed" "hay que cerrar su socket")"
    send_line "$PORT_UNDER_TEST" 'Hola\r\n' "$WAIT" >"$LIB_TMP/after-reset.out"
    expect_received after-reset 'Hola\r\n' "$(L "a new client after the reset" "un cliente nuevo tras el reset")"
}

# _non_reader_settled: the client that never reads has sent all it will send, the server has
# read all of it, and the server's replies fill 32 KB or more that the client has not taken
# (ss: Recv-Q and Send-Q of both ends of every connection to the server's port). A server
# blocked in send() never gets here: what it has not read yet stays in its Recv-Q.
_non_reader_settled() {
    ss -4Htn state established "( sport = :$PORT_UNDER_TEST or dport = :$PORT_UNDER_TEST )" 2>/dev/null |
        awk -v p=":$PORT_UNDER_TEST" '
            $3 ~ p "$" { if ($1 > 0) busy = 1; if ($2 > most) most = $2; next }
            $4 ~ p "$" { if ($2 > 0) busy = 1 }
            END { exit !(!busy && most >= 32768) }'
}

# _non_reader_settled_or_dropped: as _non_reader_settled, or the program has dropped that client
# (its only one: a "desconectado" line), which no more waiting can undo.
_non_reader_settled_or_dropped() { _non_reader_settled || grep -q " desconectado\$" "$SERVER_OUT"; }

# expect_not_stalled_by_non_reader: a client sends long lines and never reads its echoes, with
# a small receive buffer and small segments (misbehave stall): the program's send buffer for it
# fills up within a second. Once it has read all that client sent (or after 10 s), another
# client must still get its echo: a send() that waits for room on a blocking socket would
# keep everyone waiting.
expect_not_stalled_by_non_reader() {
    "$TOOLS_DIR/misbehave" stall "$PORT_UNDER_TEST" 30 >/dev/null 2>&1 3>&- &
    LIB_PIDS+=("$!")
    wait_until $((2 * ${WAIT%.*} + 1)) _non_reader_settled_or_dropped || true
    # A client that does not read is slow, not gone: what send() cannot take is lost, the
    # client stays (the program's only client so far: no "desconectado" line yet).
    ! grep -q " desconectado$" "$SERVER_OUT" || fail "$(L "the client that does not read was dropped: a send() that takes only part of an echo, or nothing (EAGAIN), loses that part, not the client" \
        "se ha echado al cliente que no lee: un send() que solo acepta parte del eco, o nada (EAGAIN), pierde esa parte, no al cliente")
$(server_said)"
    send_line "$PORT_UNDER_TEST" 'Hola\r\n' "$WAIT" >"$LIB_TMP/other.out"
    expect_received other 'Hola\r\n' "$(L "a client that never reads has filled its send buffer: a send() on a blocking socket now waits for it, and everyone waits" \
        "un cliente que nunca lee ha llenado su búfer de envío: un send() sobre un socket bloqueante ahora lo espera, y todos esperan")"
    alive "$SERVER_PID" || fail "$(L "your program exited while a client did not read" "tu programa ha terminado mientras un cliente no leía")
$(server_said)"
}

# expect_not_linked FUNCTION...: the program under test calls none of these functions (its
# statement forbids them). Its source file is compiled on its own, without optimisation or
# built-in functions, and the object's undefined symbols (nm -u: what it takes from outside)
# must not name them. (Not the binary: the sanitizers' runtime, linked into it, defines many of
# them itself.)
expect_not_linked() {
    local src obj=$LIB_TMP/source.o used f found=()
    src=$(find "$EXERCISE_DIR" -maxdepth 1 -name '*.c' | head -n 1)
    ${CC:-cc} -std=c11 -D_POSIX_C_SOURCE=200809L -O0 -fno-builtin -I"$LIB_ROOT/common" \
        -c "$src" -o "$obj" 2>"$LIB_TMP/cc.err" ||
        fail "$(Lf "setup: %s does not compile on its own:" "preparación: %s no compila por separado:" "$src")
$(head -n 10 "$LIB_TMP/cc.err")"
    used=$(nm -u "$obj" | awk '{ print $NF }')
    for f in "$@"; do grep -qx -- "$f" <<<"$used" && found+=("$f"); done
    [ ${#found[@]} -eq 0 ] || fail "$(Lf "your program calls %s, which the statement forbids: compare the bytes yourself" \
        "tu programa llama a %s, que el enunciado prohíbe: compara tú los bytes" "${found[*]}")"
}

# expect_full_buffer_message FIRST: for the servers that read two bytes at a time into a
# 4096-byte buffer. A client sends 'a' alone; once the program has printed FIRST (it has read
# it), 4093 more 'a' and '\r\n': a message of exactly 4096 bytes, the buffer's size, read in
# pieces that now end at odd offsets. It fits, so it must be echoed whole (the last piece
# asked for must be one byte: the room left).
expect_full_buffer_message() {
    local body
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    client_write one 'a'
    await_server_line "$1" "$(L "the first byte was read alone" "se ha leído el primer byte solo")"
    printf -v body '%4093s' ''
    body=${body// /a}
    client_write one "$body\\r\\n"
    expect_echo one "a$body\\r\\n" "$(L "4096 bytes with their \\r\\n fill the 4096-byte buffer exactly: the message fits" \
        "4096 bytes con su \\r\\n llenan justo el búfer de 4096: el mensaje cabe")"
}

# expect_too_long_line_dropped: a client sends 'Hol', then (once its 'l' has been read alone)
# 5000 bytes without '\r\n': more than the 4096-byte buffer holds, after a short first piece,
# so that every later two-byte piece ends at an odd offset (the last room is one byte). That client
# gets nothing back and is dropped ("desconectado"), with a line on stderr saying why; a client
# connected before it is still served.
expect_too_long_line_dropped() {
    local v
    start_exercise
    client_open stays "$PORT_UNDER_TEST"
    await_server_line "Cliente connectandose desde ('127.0.0.1', PORT)" "$(L "the first client was accepted" "se ha aceptado al primer cliente")"
    client_open long "$PORT_UNDER_TEST"
    client_write long 'Hol'
    await_server_line "Data leida: b'l'" "$(L "the long line's first piece was read" "se ha leído el primer trozo de la línea larga")"
    v=CLIENT_FD_long
    # (the program may drop the client before all of it is written: nc then ends, and the
    # write to its input fails with EPIPE; that is not this check's business)
    { head -c 5000 /dev/zero | tr '\0' a >&"${!v}"; } 2>/dev/null || true
    await_server_line "Cliente ('127.0.0.1', PORT) desconectado" \
        "$(L "a message longer than the buffer: that client is dropped" "un mensaje más largo que el búfer: ese cliente se despide")"
    [ ! -s "$LIB_TMP/long.out" ] || fail "$(Lf "the client with the too-long line received %s: expected nothing (its message was never complete)" \
        "el cliente de la línea demasiado larga ha recibido %s: esperaba nada (su mensaje nunca estuvo completo)" "$(received_text long)")
$(server_said)"
    [ -s "$SERVER_ERR" ] || fail "$(L "the client was dropped without a word on stderr: say why (the message is longer than the buffer)" \
        "se ha despedido al cliente sin una palabra en stderr: di por qué (el mensaje es más largo que el búfer)")"
    client_write stays 'sigo aqui\r\n'
    expect_echo stays 'sigo aqui\r\n' "$(L "the other client, after the too-long line" "el otro cliente, tras la línea demasiado larga")"
}

# expect_extra_clients_closed: 1030 clients connect at once, each sends one line and reads
# nothing for 1 s (so that all of them are connected together): more than the 1024 places of
# the table. The program serves 1024 of them and closes the others' sockets at once
# ("Demasiados clientes"); a refused client whose socket is left open waits for ever, and its
# descriptor is lost. Needs 2048 descriptors (ulimit -n): skipped where the hard limit is lower.
expect_extra_clients_closed() {
    ulimit -n 2048 2>/dev/null || skip "$(L "ulimit -n 2048 is not allowed here" "aquí no se permite ulimit -n 2048")"
    start_exercise
    "$TOOLS_DIR/many-clients" -n 1030 -l 1 -r -w 1000 -t 8 "$PORT_UNDER_TEST" >"$LIB_TMP/many.out" 2>"$LIB_TMP/many.err" && return 0
    fail "$(L "1030 clients at once, 1024 places: every client must be served or, beyond the places, closed at once; many-clients says:" \
        "1030 clientes a la vez y 1024 sitios: cada cliente tiene que ser atendido o, pasados los sitios, cerrado enseguida; many-clients dice:")
$(cat "$LIB_TMP/many.out" "$LIB_TMP/many.err" | head -n 4)
$(L "(a client refused for lack of room must have its socket closed: else it waits for ever, and the descriptor is lost)" \
    "(a un cliente rechazado por falta de sitio hay que cerrarle el socket: si no, espera para siempre y el descriptor se pierde)")"
}
