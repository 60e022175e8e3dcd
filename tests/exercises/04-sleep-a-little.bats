#!/usr/bin/env bats
# Exercise 4: the busy loop of 02-eagain-loop with a short nanosleep() after every pass, its
# length chosen by $SLEEP_US (microseconds, 0 to 1000000; default 1 ms).
# The CPU threshold is generous (the lesson is 100% against a few %); the context-switch check
# does not depend on the machine's load: a loop that never sleeps never gives the CPU back.

load exercise

# voluntary_switches PID: how many times PID has given up the CPU by itself (sleeping, waiting).
voluntary_switches() { local n; proc_field n "$1" voluntary_ctxt_switches && echo "$n"; }

@test "04: with one silent client, the idle server uses less than 30% of a core" {
    start_exercise
    client_open idle "$PORT_UNDER_TEST"
    local cpu
    cpu=$(cpu_percent "$SERVER_PID" 0.5)
    [ "$cpu" -lt 30 ] || measured_wrong "the idle server's CPU over 0.5 s" "under 30% of a core" \
        "$cpu%" "a loop that never sleeps asks every socket \"anything yet?\" millions of times a second"
}

@test "04: while idle, the loop sleeps: it keeps giving the CPU back (voluntary context switches)" {
    start_exercise
    client_open idle "$PORT_UNDER_TEST"
    local before after
    before=$(voluntary_switches "$SERVER_PID")
    sleep 0.3
    after=$(voluntary_switches "$SERVER_PID")
    [ $((after - before)) -ge 10 ] || measured_wrong "times the server gave up the CPU in 0.3 s" \
        "at least 10 (a 1 ms pause: about 300)" "$((after - before))" \
        "each nanosleep() gives the CPU back; a loop that never sleeps keeps it"
}

@test "04: with the default pause, the echo still arrives within a second" {
    start_exercise
    send_line "$PORT_UNDER_TEST" 'Hola Mundo\r\n' 1 >"$LIB_TMP/client.out"
    expect_echo client 'Hola Mundo\r\n' "nc waited 1 s for it; the default pause is 1 ms"
}

@test "04: SLEEP_US=500000 is used: the idle loop wakes about twice a second, and still answers" {
    SLEEP_US=500000 start_exercise
    client_open idle "$PORT_UNDER_TEST"
    await_server_line "Cliente connectandose desde ('127.0.0.1', PORT)" "the client was accepted"
    # Each pause is one nanosleep(), and each sleep gives the CPU back once: counted by the
    # kernel, whatever else the machine is doing.
    local before after n
    before=$(voluntary_switches "$SERVER_PID")
    sleep 1
    after=$(voluntary_switches "$SERVER_PID")
    n=$((after - before))
    [ "$n" -ge 1 ] && [ "$n" -le 6 ] || measured_wrong \
        "SLEEP_US=500000: times the idle server gave up the CPU in 1 s" "about 2 (from 1 to 6)" "$n" \
        "the pause is \$SLEEP_US microseconds: 500000 us = 0.5 s; tv_nsec counts nanoseconds"
    client_write idle 'a\r\n'
    expect_echo idle 'a\r\n' "with SLEEP_US=500000 a reply waits about half a second at most"
}

@test "04: SLEEP_US=1000000, the largest allowed, is accepted: the server keeps serving" {
    SLEEP_US=1000000 start_exercise
    sleep 0.3
    alive "$SERVER_PID" || {
        wait_exit "$SERVER_PID" 1 || true
        fail "SLEEP_US=1000000: the server exited (status ${EXIT_STATUS:-?}) instead of serving; its stderr:
$(cat "$SERVER_ERR")
(1000000 us is one second: tv_sec = 1 and tv_nsec = 0; nanosleep() refuses a tv_nsec of 1000000000 or more)"
    }
    [ ! -s "$SERVER_ERR" ] || fail "SLEEP_US=1000000: a valid value, but the server wrote on stderr:
$(cat "$SERVER_ERR")"
}

@test "04: a bad \$SLEEP_US is refused at start-up: one line on stderr naming it, non-zero exit" {
    local value status
    require_built
    for value in abc 12abc -1 1000001 99999999999999999999 1.5; do
        status=0
        SLEEP_US=$value timeout 2 "$EXERCISE_BIN" "$PORT_UNDER_TEST" >"$LIB_TMP/out" \
            2>"$LIB_TMP/err" 3>&- </dev/null || status=$?
        if [ "$status" -eq 124 ]; then
            fail "SLEEP_US=$value: still running after 2 s (expected a clear error and exit)"
        elif [ "$status" -eq 0 ]; then
            fail "SLEEP_US=$value: exit status 0 (expected non-zero: the value was not valid)"
        elif ! grep -q SLEEP_US "$LIB_TMP/err"; then
            fail "SLEEP_US=$value: exit status $status, but stderr does not name SLEEP_US:
$(head -n 5 "$LIB_TMP/err")"
        elif [ "$(wc -l <"$LIB_TMP/err")" -ne 1 ]; then
            fail "SLEEP_US=$value: expected one line on stderr, got $(wc -l <"$LIB_TMP/err"):
$(head -n 5 "$LIB_TMP/err")"
        elif [ -s "$LIB_TMP/out" ]; then
            fail "SLEEP_US=$value: refused, but after printing on stdout (expected nothing: refuse before starting):
$(head -n 5 "$LIB_TMP/out")"
        fi
    done
}
