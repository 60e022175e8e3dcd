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
    wait_exit "$SERVER_PID" "$WAIT" || true
}

# The lines of a prediction file that are not comments or blank, trailing spaces removed, the
# client's port written as PORT (whatever number the student wrote there).
prediction() {
    sed -e 's/[[:space:]]*$//' -e '/^#/d' -e '/^$/d' "$EXERCISE_DIR/$1" | normalize_ports
}

# no_prediction_yet FILE CLIENT: the failure for an empty prediction file: what to do, and no
# hint of the answer.
no_prediction_yet() {
    fail "$1 has no prediction yet: below its comment lines, write the lines you expect the
server to print for $2 once RECV_SIZE is 1024, one per line (README.md, step 1).
Predict first: this check shows nothing of the program's output until you have."
}

# compare_prediction FILE CLIENT DATA: FILE's prediction is exactly what the program printed
# for one client sending DATA.
compare_prediction() {
    local predicted
    predicted=$(prediction "$1")
    [ -n "$predicted" ] || no_prediction_yet "$1" "$2"
    run_one_client "$3"
    labelled_diff "your prediction ($1)" "$predicted" \
        "what your program printed for $2 (client's port as PORT)" "$(normalize_ports <"$SERVER_OUT")" ||
        fail "$1 and the program's output differ (see the diff above). If RECV_SIZE is 1024
already (the check about recv() sizes passes), think about why before you change anything."
}

@test "01: prediction-1.txt holds a prediction (lines below the comments)" {
    [ -n "$(prediction prediction-1.txt)" ] || no_prediction_yet prediction-1.txt "client 1"
}

@test "01: prediction-2.txt holds a prediction (lines below the comments)" {
    [ -n "$(prediction prediction-2.txt)" ] || no_prediction_yet prediction-2.txt "client 2"
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
    fail "a 3000-byte message sent at once: expected recv() pieces of 1024 1024 952 bytes and a
'Toda la data leida' of 3000 bytes; got pieces of ${sizes:-(none)} and ${total:+a 'Toda la data leida' of $total bytes}${total:-no 'Toda la data leida' line}
(RECV_SIZE sets the most one recv() returns; the loop goes on until the buffer ends in \\r\\n)"
}

@test "01: prediction-1.txt is what the program prints for client 1 (printf 'Hola Mundo\\r\\n')" {
    compare_prediction prediction-1.txt "client 1" 'Hola Mundo\r\n'
}

@test "01: prediction-2.txt is what the program prints for client 2 (printf 'Hola Mundo\\r\\n\\n')" {
    compare_prediction prediction-2.txt "client 2" 'Hola Mundo\r\n\n'
}
