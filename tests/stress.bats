#!/usr/bin/env bats
# The event-loop stages under load: scripts/gates/stress.sh --quick, a reduced `make stress` (300
# connect/close cycles with the open descriptors back to their start, 100 clients of random
# lines in random pieces all echoed intact, a flood from a client that never reads with
# the server's memory bounded and others served). Its numbers are printed on failure; the full
# run (2,000 cycles, 500 clients, 10 MB, FD_SETSIZE) is `make stress`, run by CI.
# What tests/03-selectors.bats checks already (FD_SETSIZE, 200 clients, a slow reader) is not
# repeated here.

load helpers

# stress STAGE CHECKS...: the quick run on STAGE passes, with exactly these checks and results
# (e.g. "cycles ok"), one line each.
stress() {
    local stage=$1 output status=0
    shift
    output=$(bash "$BATS_TEST_DIRNAME/../scripts/gates/stress.sh" --quick "$stage" 2>&1) || status=$?
    echo "$output" >&2 # shown if the test fails
    assert_success
    assert_equal "$(awk -v s="$stage" '$1 == s { print $2, $3 }' <<<"$output")" "$(printf '%s\n' "$@")"
}

@test "stress: 03-02 select: cycles leave no descriptor behind, 100 clients intact, a flood bounded" {
    stress 03-selectors/02-select-lines "cycles ok" "clients ok" "flood ok" "fdsetsize skip"
}

@test "stress: 03-03 poll: cycles leave no descriptor behind, 100 clients intact, a flood bounded" {
    stress 03-selectors/03-poll-lines "cycles ok" "clients ok" "flood ok"
}

@test "stress: 03-04 epoll: cycles leave no descriptor behind, 100 clients intact, a flood bounded" {
    [ -x "$(stage_bin 03-selectors/04-epoll-lines)" ] || skip "epoll is Linux-only"
    stress 03-selectors/04-epoll-lines "cycles ok" "clients ok" "flood ok"
}

@test "stress: 04-01 callback loop: no descriptor behind, 100 clients intact, a flood bounded" {
    stress 04-event-loop/01-callback-loop "cycles ok" "clients ok" "flood ok"
}

@test "stress: 04-02 graceful shutdown: no descriptor behind, 100 clients intact, a flood bounded" {
    stress 04-event-loop/02-graceful-shutdown "cycles ok" "clients ok" "flood ok"
}
