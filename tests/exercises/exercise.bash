# tests/exercises/exercise.bash - loaded by every exercise check, tests/exercises/NN-name.bats.
#
# The program under test is chosen by variables, so the same checks run against a student's
# work (`make exercise N=3`), the reference solutions and the untouched starting files
# (tests/exercises.bats):
#   EXERCISE_DIR   folder with the files under test; default: the student's folder,
#                  chapters/chapter-03/exercises/NN-name (the solutions are in .../solutions/)
#   EXERCISE_BIN   the binary under test; default: the one `make` builds from EXERCISE_DIR's .c
#   EXERCISE_WAIT  seconds to wait for something that should happen (default 5); the check that
#                  the starting files fail sets it low, since there it never happens.

load ../helpers

EXERCISE_NAME=$(basename "$BATS_TEST_FILENAME" .bats)
EXERCISES_ROOT=$LIB_ROOT/chapters/chapter-03/exercises
EXERCISE_DIR=${EXERCISE_DIR:-$EXERCISES_ROOT/$EXERCISE_NAME}
if [ -z "${EXERCISE_BIN:-}" ]; then
    _src=$(find "$EXERCISE_DIR" -maxdepth 1 -name '*.c' | head -n 1)
    EXERCISE_BIN=$BUILD_DIR/exercises/${EXERCISE_DIR#"$EXERCISES_ROOT"/}/$(basename "$_src" .c)
fi
WAIT=${EXERCISE_WAIT:-5}

# The program's name, as it writes it at the start of its error lines.
exercise_program() { basename "$EXERCISE_BIN"; }

# start_exercise [ARGS...]: start the program under test on $PORT_UNDER_TEST (see start_server).
start_exercise() {
    if [ ! -x "$EXERCISE_BIN" ]; then
        echo "not built: $EXERCISE_BIN (make exercise N=... builds it)" >&2
        return 1
    fi
    start_program "$(exercise_program)" "$PORT_UNDER_TEST" "$EXERCISE_BIN" "$@"
}

# assert_server_lines LINE...: like assert_server_output, waiting up to $WAIT seconds for the
# last line to appear first (so a slow machine gets time, and a wrong program shows its output).
assert_server_lines() {
    local last=${*: -1}
    wait_output "$SERVER_OUT" "$last" "$WAIT" || true
    assert_server_output "$@"
}

# client_write NAME DATA: like client_send, but in ONE write(). Bash's own printf writes line by
# line, so 'Hola Mundo3\r\n\n' could reach the server as two pieces and be read differently
# from the document's echo -e | nc; the printf program writes its whole output at once.
client_write() {
    local v=CLIENT_FD_$1
    env printf '%b' "$2" >&"${!v}"
}

# expect_echo NAME DATA: client NAME receives exactly DATA within $WAIT seconds.
expect_echo() {
    wait_client_output "$1" "$2" "$WAIT" || true
    assert_client_received "$1" "$2"
}
