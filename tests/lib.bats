#!/usr/bin/env bats
# scripts/lib.sh, the helpers under every test and tool, where a wrong answer would not show
# as a failing stage test but as a flaky one: the checks that say whether a process has ended.

load helpers

# zombie_child: start a process whose child exits at once and is never reaped (its parent
# `exec`s sleep, which never calls wait()): the child stays a zombie. Sets PARENT and ZOMBIE.
zombie_child() {
    sh -c 'sh -c "exit 3" & echo $! >"$1"; exec sleep 30' zombie "$LIB_TMP/zombie.pid" 3>&- &
    PARENT=$!
    LIB_PIDS+=("$PARENT")
    wait_until 5 eval '[ -s "$LIB_TMP/zombie.pid" ]'
    ZOMBIE=$(cat "$LIB_TMP/zombie.pid")
    local stat
    wait_until 5 eval 'proc_stat stat "$ZOMBIE" && [ "${stat[0]}" = Z ]'
}

@test "lib: _dead and alive count a zombie (exited, not yet reaped) as ended; kill -0 does not" {
    zombie_child
    kill -0 "$ZOMBIE"   # the trap: the kernel still has the process, so kill -0 succeeds
    _dead "$ZOMBIE"
    run alive "$ZOMBIE"
    assert_failure
    alive "$PARENT"     # and a sleeping process is alive
    run _dead "$PARENT"
    assert_failure
}

@test "lib: wait_exit, on a time-out, says what the process is doing" {
    sleep 30 3>&- &
    pid=$!
    LIB_PIDS+=("$pid")
    wait_until 5 eval 'proc_stat stat "$pid" && [ "${stat[0]}" = S ]'   # (asleep: not still starting)
    run wait_exit "$pid" 0.3
    assert_failure
    assert_output --regexp "^wait_exit: process $pid has not ended after 0.3 s: state S, in kernel function [a-z_0-9]+$"
}
