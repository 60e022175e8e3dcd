#!/usr/bin/env bats
# Exercise 1: predict, then verify, what 02-recv-two-bytes prints with recv(1024).
# Checks the student's two prediction files AND what their program really prints.

load exercise

# What the program under test prints for one client sending DATA (ports normalised).
server_output_for() {
    start_exercise
    send_line "$PORT_UNDER_TEST" "$1" "$WAIT" >/dev/null
    wait_exit "$SERVER_PID" "$WAIT" || true
    normalize_ports <"$SERVER_OUT"
}

# The lines of a prediction file that are not comments or blank, trailing spaces removed.
prediction() {
    sed -e 's/[[:space:]]*$//' -e '/^#/d' -e '/^$/d' "$EXERCISE_DIR/$1"
}

@test "01: prediction-1.txt holds your prediction (the lines not starting with #)" {
    [ -n "$(prediction prediction-1.txt)" ] || {
        echo "prediction-1.txt has no prediction yet: write the server's lines below the comments" >&2
        return 1
    }
}

@test "01: prediction-2.txt holds your prediction (the lines not starting with #)" {
    [ -n "$(prediction prediction-2.txt)" ] || {
        echo "prediction-2.txt has no prediction yet: write the server's lines below the comments" >&2
        return 1
    }
}

@test "01: RECV_SIZE is 1024: 'Hola Mundo\\r\\n' arrives in ONE recv, one 'Data leida' line" {
    assert_equal "$(server_output_for 'Hola Mundo\r\n')" \
        "$(printf '%s\n' "Cliente connectandose desde ('127.0.0.1', PORT)" \
                    "Data leida: b'Hola Mundo\\r\\n'" "Toda la data leida: b'Hola Mundo\\r\\n'")"
}

@test "01: prediction-1.txt is exactly what the program printed for 'Hola Mundo\\r\\n'" {
    assert_equal "$(server_output_for 'Hola Mundo\r\n')" "$(prediction prediction-1.txt)"
}

@test "01: prediction-2.txt is exactly what the program printed for 'Hola Mundo\\r\\n\\n'" {
    assert_equal "$(server_output_for 'Hola Mundo\r\n\n')" "$(prediction prediction-2.txt)"
}

@test "01: RECV_SIZE is 1024: the extra '\\n' comes in the same recv, so the tail is not '\\r\\n'" {
    assert_equal "$(server_output_for 'Hola Mundo\r\n\n')" \
        "$(printf '%s\n' "Cliente connectandose desde ('127.0.0.1', PORT)" \
                    "Data leida: b'Hola Mundo\\r\\n\\n'" "Toda la data leida: b'Hola Mundo\\r\\n\\n'")"
}
