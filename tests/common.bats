#!/usr/bin/env bats
# The shared layer under the stages, tested on its own where no server shows it from outside.
#   common/event_loop.c: tests/unit/event_loop.c checks each promise of event_loop.h (a
#   descriptor unwatched or watched during a turn, an fd number reused within a turn, pause,
#   loop_pause(), hang-up, a descriptor closed while watched, timer order, cancel, a timer set
#   during a turn,
#   loop_stop()). It prints TAP; a hang is a failure too, hence the timeout.
#   common/connection.c: tests/unit/connection.c, both ends of a real connection, for what a
#   client cannot time from outside (FIN while echoes are still queued, back-pressure).
# common/pyrepr.c and common/lines.c are covered by the stages' tests and by `make fuzz`.

load helpers

# run_unit NAME AT_LEAST: run the TAP unit test tests/unit/NAME.c (built by make); it must
# exit 0, every check must pass, all of them must have run (the plan line counts them), and
# there must be at least AT_LEAST. Its stderr is left in $LIB_TMP/err.
run_unit() {
    local unit=$BUILD_DIR/tests/unit/$1 status=0
    [ -x "$unit" ] || { echo "not built: $unit (run make)" >&2; return 1; }
    timeout 20 "$unit" >"$LIB_TMP/out" 2>"$LIB_TMP/err" || status=$?
    cat "$LIB_TMP/out" "$LIB_TMP/err" >&2 # shown if the test fails
    assert_equal "$status" 0
    assert_equal "$(grep -v '^ok ' "$LIB_TMP/out" | grep -v '^1\.\.')" ""
    assert_equal "$(tail -n 1 "$LIB_TMP/out")" "1..$(grep -c '^ok ' "$LIB_TMP/out")"
    [ "$(grep -c '^ok ' "$LIB_TMP/out")" -ge "$2" ]
}

@test "common/event_loop: every promise of event_loop.h holds (tests/unit/event_loop.c)" {
    run_unit event_loop 20
    # The one descriptor closed while watched is reported on stderr, and nothing else is.
    assert_equal "$(cat "$LIB_TMP/err")" \
        "stage: poll (descriptor closed while watched): Bad file descriptor (errno 9, EBADF)"
}

@test "common/connection: FIN with echoes queued, back-pressure, pieces, a line too long (tests/unit/connection.c)" {
    run_unit connection 12
    assert_equal "$(cat "$LIB_TMP/err")" ""
}
