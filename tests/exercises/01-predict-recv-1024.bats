#!/usr/bin/env bats
# Exercise 1: predict, then verify, what 02-recv-two-bytes prints with recv(1024).
# Checks the student's two prediction files AND what their program really prints. No check
# name and no message shows the expected output of the two clients before the student has
# predicted it: a prediction is compared only with what the student's own program printed.

load exercise

# run_one_client DATA: start the program, send it DATA (printf escapes) in one write from one
# client (printf ... | nc -N), and wait for the program to end (it serves one client).
run_one_client() {
    start_exercise
    env printf '%b' "$1" | timeout "$WAIT" nc -N 127.0.0.1 "$PORT_UNDER_TEST" >/dev/null 3>&- || true
    expect_program_ended
}

# expect_program_ended: the program ends within $WAIT s; if not, it is stopped (a loop that
# never ends may be filling its output) and the check fails.
expect_program_ended() {
    wait_exit "$SERVER_PID" "$WAIT" 2>/dev/null && return 0
    stop_server
    fail "$(Lf "your program was still running %s s after its client had sent everything and closed its side; its first lines:" \
        "tu programa seguía en marcha %s s después de que su cliente lo enviara todo y cerrara su lado; sus primeras líneas:" "$WAIT")
$(head -c 2000 "$SERVER_OUT" | head -n 8)
$(L "(recv() returning 0 means the client closed its side: nothing more will come, the loop must end)" \
    "(que recv() retorne 0 quiere decir que el cliente cerró su lado: no llegará nada más, el bucle tiene que acabar)")"
}

# The lines of a prediction file that are not comments or blank, trailing spaces removed, the
# client's port written as PORT (whatever number the student wrote there).
prediction() {
    sed -e 's/[[:space:]]*$//' -e '/^#/d' -e '/^$/d' "$EXERCISE_DIR/$1" | normalize_ports
}

# no_prediction_yet FILE CLIENT: the failure for an empty prediction file: what to do, and no
# hint of the answer.
no_prediction_yet() {
    fail "$(Lf "%s has no prediction yet: below its comment lines, write the lines you expect the
server to print for %s once RECV_SIZE is 1024, one per line (README.md, step 1).
Predict first: this check shows nothing of the program's output until you have." \
        "%s aún no tiene predicción: debajo de sus líneas de comentario, escribe las líneas que
esperas que imprima el servidor para %s cuando RECV_SIZE valga 1024, una por línea
(README.es.md, paso 1). Predice primero: esta comprobación no enseña nada de la salida del
programa hasta que lo hayas hecho." "$1" "$2")"
}

# compare_prediction FILE CLIENT DATA: FILE's prediction is exactly what the program printed
# for one client sending DATA.
compare_prediction() {
    local predicted
    predicted=$(prediction "$1")
    [ -n "$predicted" ] || no_prediction_yet "$1" "$2"
    run_one_client "$3"
    labelled_diff "$(Lf "your prediction (%s)" "tu predicción (%s)" "$1")" "$predicted" \
        "$(Lf "what your program printed for %s (client's port as PORT)" "lo que ha impreso tu programa para %s (el puerto del cliente, como PORT)" "$2")" \
        "$(normalize_ports <"$SERVER_OUT")" ||
        fail "$(Lf "%s and the program's output differ (see the diff above). If RECV_SIZE is 1024
already (the check about recv() sizes passes), think about why before you change anything." \
            "%s y la salida del programa no coinciden (mira el diff de arriba). Si RECV_SIZE ya vale
1024 (la comprobación de los tamaños de recv() pasa), piensa por qué antes de cambiar nada." "$1")"
}

@test "01: prediction-1.txt holds a prediction (lines below the comments)" {
    [ -n "$(prediction prediction-1.txt)" ] || no_prediction_yet prediction-1.txt "$(L "client 1" "el cliente 1")"
}

@test "01: prediction-2.txt holds a prediction (lines below the comments)" {
    [ -n "$(prediction prediction-2.txt)" ] || no_prediction_yet prediction-2.txt "$(L "client 2" "el cliente 2")"
}

@test "01: the program asks recv() for up to 1024 bytes (RECV_SIZE), until the message ends" {
    # A 3000-byte message, sent in one write: on loopback it is all there at the first recv().
    run_one_client "$(printf 'a%.0s' $(seq 2998))\\r\\n"
    local sizes total
    # The size of each "Data leida" piece and of "Toda la data leida" (\r and \n: one byte).
    sizes=$(sed -nE "s/^Data leida: b'(.*)'\$/\\1/p" "$SERVER_OUT" |
        awk '{ gsub(/\\[rn]/, "x"); printf "%s%d", (NR > 1 ? " " : ""), length($0) }')
    total=$(sed -nE "s/^Toda la data leida: b'(.*)'\$/\\1/p" "$SERVER_OUT" |
        awk '{ gsub(/\\[rn]/, "x"); print length($0) }')
    [ "$sizes" = "1024 1024 952" ] && [ "$total" = 3000 ] && return 0
    [ "$(wc -w <<<"$sizes")" -gt 12 ] && sizes="$(cut -d' ' -f1-12 <<<"$sizes") ... ($(wc -w <<<"$sizes") pieces)"
    fail "$(Lf "a 3000-byte message sent at once: expected recv() pieces of 1024 1024 952 bytes and a
'Toda la data leida' of 3000 bytes; got pieces of %s and %s
(RECV_SIZE sets the most one recv() returns; the loop goes on until the buffer ends in \\r\\n)" \
        "un mensaje de 3000 bytes enviado de una vez: esperaba trozos de recv() de 1024 1024 952 bytes
y un 'Toda la data leida' de 3000 bytes; han salido trozos de %s y %s
(RECV_SIZE fija lo más que retorna un recv(); el bucle sigue hasta que el búfer acaba en \\r\\n)" \
        "${sizes:-(none)}" "${total:+$(Lf "a 'Toda la data leida' of %s bytes" "un 'Toda la data leida' de %s bytes" "$total")}${total:-$(L "no 'Toda la data leida' line" "ninguna línea 'Toda la data leida'")}")"
}

@test "01: prediction-1.txt is what the program prints for client 1 (printf 'Hola Mundo\\r\\n')" {
    compare_prediction prediction-1.txt "$(L "client 1" "el cliente 1")" 'Hola Mundo\r\n'
}

@test "01: prediction-2.txt is what the program prints for client 2 (printf 'Hola Mundo\\r\\n\\n')" {
    compare_prediction prediction-2.txt "$(L "client 2" "el cliente 2")" 'Hola Mundo\r\n\n'
}

# one_client_in_two PIECE1 LINE PIECE2: one client sends PIECE1, waits until the program has
# printed LINE (it has read PIECE1), then sends PIECE2 and closes its sending side.
one_client_in_two() {
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    client_write one "$1"
    await_server_line "$2" "$(L "the first piece was read" "se ha leído el primer trozo")"
    # (a program that stops reading may end before all of it is written: nc then ends too, and
    # the write to its input fails with EPIPE; what the program printed is what is judged)
    { client_write one "$3"; } 2>/dev/null || true
    client_close one
    expect_program_ended
}

@test "01: a message sent in two writes ('Hola ', then 'Mundo\\r\\n') is read until its \\r\\n" {
    one_client_in_two 'Hola ' "Data leida: b'Hola '" 'Mundo\r\n'
    expect_server_lines "$(L "a recv() returns what has arrived: one that returns less than RECV_SIZE is not the end of the message, \\r\\n is" \
        "un recv() retorna lo que ha llegado: que retorne menos de RECV_SIZE no es el final del mensaje; \\r\\n sí")" \
        "Cliente connectandose desde ('127.0.0.1', PORT)" "Data leida: b'Hola '" "Data leida: b'Mundo\\r\\n'" \
        "Toda la data leida: b'Hola Mundo\\r\\n'"
}

@test "01: a '\\n' alone does not end the message ('a\\n', then 'b\\r\\n'): \\r\\n does" {
    one_client_in_two 'a\n' "Data leida: b'a\\n'" 'b\r\n'
    expect_server_lines "$(L "a message ends at \\r\\n, the two bytes together: a \\n without its \\r is part of the message" \
        "un mensaje acaba en \\r\\n, los dos bytes juntos: un \\n sin su \\r es parte del mensaje")" \
        "Cliente connectandose desde ('127.0.0.1', PORT)" "Data leida: b'a\\n'" "Data leida: b'b\\r\\n'" \
        "Toda la data leida: b'a\\nb\\r\\n'"
}

# _read_up_to_cr: the program has printed a piece that ends in '\r'.
_read_up_to_cr() { grep -q "^Data leida: b'.*\\\\r'\$" "$SERVER_OUT"; }

@test "01: a message of exactly 4096 bytes, whose '\\n' comes alone, fits the buffer: read whole" {
    local body total
    printf -v body '%4094s' ''
    body=${body// /a}
    start_exercise
    client_open one "$PORT_UNDER_TEST"
    client_write one "$body\\r"
    wait_until "$WAIT" _read_up_to_cr ||
        fail "$(L "setup: the program did not print the piece ending in \\r of the first 4095 bytes" \
            "preparación: el programa no ha impreso el trozo que acaba en \\r de los primeros 4095 bytes")
$(server_said)"
    { client_write one '\n'; } 2>/dev/null || true
    client_close one
    expect_program_ended
    total=$(sed -nE "s/^Toda la data leida: b'(.*)'\$/\\1/p" "$SERVER_OUT" | awk '{ gsub(/\\[rn]/, "x"); print length($0) }')
    [ "$total" = 4096 ] && [ ! -s "$SERVER_ERR" ] && return 0
    measured_wrong "$(L "the size of 'Toda la data leida', and stderr" "el tamaño de 'Toda la data leida', y stderr")" \
        "$(L "4096 bytes and nothing on stderr" "4096 bytes y nada en stderr")" \
        "${total:-$(L "no such line" "no hay esa línea")}, stderr: $(head -c 200 "$SERVER_ERR")" \
        "$(L "4095 bytes are read, then the '\\n': 4096 bytes with their \\r\\n fill the buffer exactly, so the message fits; the buffer is full only at 4096" \
            "se leen 4095 bytes y luego el '\\n': 4096 bytes con su \\r\\n llenan justo el búfer, así que el mensaje cabe; el búfer solo está lleno con 4096")"
}

@test "01: a line longer than the buffer, after a short first piece: stopped at 4096 bytes, with a line on stderr" {
    local big
    big=$(head -c 5000 /dev/zero | tr '\0' a)
    one_client_in_two 'ab' "Data leida: b'ab'" "$big"
    local total
    total=$(sed -nE "s/^Toda la data leida: b'(.*)'\$/\\1/p" "$SERVER_OUT" | awk '{ print length($0) }')
    [ "$total" = 4096 ] || measured_wrong "$(L "the size of 'Toda la data leida'" "el tamaño de 'Toda la data leida'")" \
        "$(L "4096 bytes (the buffer, full: each recv() asks for at most the room left)" "4096 bytes (el búfer, lleno: cada recv() pide como mucho el sitio que queda)")" \
        "${total:-$(L "no such line" "no hay esa línea")}" \
        "$(L "after 'ab' the pieces of 1024 end 2 bytes further on: the last one has room for 1022" "tras 'ab' los trozos de 1024 acaban 2 bytes más allá: en el último caben 1022")"
    [ "$(wc -l <"$SERVER_ERR")" -eq 1 ] || fail "$(L "expected one line on stderr saying the message is longer than the buffer; it holds:" \
        "esperaba una línea en stderr que diga que el mensaje es más largo que el búfer; contiene:")
$(head -n 5 "$SERVER_ERR")"
}

@test "01: a reset seen by recv(): one line on stderr naming recv, non-zero exit" {
    start_exercise
    local fifo=$LIB_TMP/reset.in fd
    mkfifo "$fifo"
    "$TOOLS_DIR/misbehave" reset-when-told "$PORT_UNDER_TEST" 'Hola' <"$fifo" 2>/dev/null 3>&- &
    LIB_PIDS+=("$!")
    exec {fd}>"$fifo"
    LIB_FDS+=("$fd")
    await_server_line "Data leida: b'Hola'" "$(L "the client's bytes were read; it resets now" "se han leído los bytes del cliente; ahora resetea")"
    exec {fd}>&-
    expect_program_ended
    local want
    want="$(exercise_program): recv: Connection reset by peer (errno 104, ECONNRESET)"
    [ "$(cat "$SERVER_ERR")" = "$want" ] && [ "${EXIT_STATUS:-0}" -ne 0 ] && return 0
    fail "$(Lf "expected the program to end with exit status other than 0 and one line on stderr, '%s'; exit status %s, stderr:" \
        "esperaba que el programa terminara con un estado distinto de 0 y una línea en stderr, '%s'; estado %s, stderr:" \
        "$want" "${EXIT_STATUS:-?}")
$(head -n 5 "$SERVER_ERR")"
}
