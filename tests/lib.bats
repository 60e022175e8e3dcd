#!/usr/bin/env bats
# scripts/lib.sh, the helpers under every test and tool, where a wrong answer would not show
# as a failing stage test but as a flaky one: the checks that say whether a process has ended.

load helpers

# zombie_child: a process (PARENT) whose child (ZOMBIE) has exited and is never reaped. The
# child exits only when told, and it is told only once its parent has become `sleep`, which
# never calls wait(): had it exited while the parent was still the shell, the shell could reap
# it first and no zombie would be made.
zombie_child() {
    mkfifo "$LIB_TMP/go"
    sh -c 'sh -c "read _ <\"\$1\"; exit 3" child "$1" & echo $! >"$2"; exec sleep 30' \
        zombie "$LIB_TMP/go" "$LIB_TMP/zombie.pid" 3>&- &
    PARENT=$!
    LIB_PIDS+=("$PARENT")
    wait_until 5 _is_sleep "$PARENT"
    ZOMBIE=$(cat "$LIB_TMP/zombie.pid")
    echo >"$LIB_TMP/go" # (opening the FIFO waits for the child to open its end)
    wait_until 5 _state_is "$ZOMBIE" Z
}
_is_sleep() { local comm; read -r comm <"/proc/$1/comm" && [ "$comm" = sleep ]; }
_state_is() { local stat; proc_stat stat "$1" && [ "${stat[0]}" = "$2" ]; }

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

@test "lib: free_port never gives one port twice in a run, even to tests asking at once" {
    # the same seed: without the reservation, both would draw the same free port
    first=$(RANDOM=7 && free_port)
    second=$(RANDOM=7 && free_port)
    [ "$first" != "$second" ]
}
