#!/usr/bin/env bats
# build/tools/probe (scripts/tools/probe.c): what the kernel knows about ports, sockets and
# processes, as key=value lines. Driven against real stages, clients and processes; every
# answer asserted is one the replay, peek or the tests rely on.

load helpers

PROBE=$BUILD_DIR/tools/probe

# the stall of 01-04: client 1 silent and served, client 2's line unread, client 3 queued.
# Sets ONE TWO THREE (the clients' ports).
stall_01_04() {
    start_server 01-blocking/04-many-clients "$PORT_UNDER_TEST"
    client_open uno "$PORT_UNDER_TEST"
    client_send uno 'Hola Mundo\r\n\n'
    wait_client_output uno 'Hola Mundo\r\n'
    client_open dos "$PORT_UNDER_TEST"
    client_send dos 'Hola Mundo2\r\n'
    client_open tres "$PORT_UNDER_TEST"
    wait_until 3 queued_at_server "$PORT_UNDER_TEST" 13
    wait_until 3 eval '[ "$(connections_to "$PORT_UNDER_TEST")" -eq 3 ]'
    ONE=$(client_port uno) TWO=$(client_port dos) THREE=$(client_port tres)
}

@test "probe listening: 1 and status 0 for a listening port, 0 and status 1 for a free one" {
    start_server 01-blocking/01-accept "$PORT_UNDER_TEST"
    run "$PROBE" listening "$PORT_UNDER_TEST"
    assert_success
    assert_output "port=$PORT_UNDER_TEST listening=1"
    free=$(free_port)
    run "$PROBE" listening "$free"
    assert_failure 1
    assert_output "port=$free listening=0"
}

@test "probe listening: an IPv6 listener counts too (port_listening and port_in_use see it)" {
    command -v nc >/dev/null
    timeout 10 nc -6 -l ::1 "$PORT_UNDER_TEST" </dev/null >/dev/null 2>&1 3>&- &
    LIB_PIDS+=("$!")
    wait_until 3 "$PROBE" listening "$PORT_UNDER_TEST" || skip "no IPv6 loopback here"
    port_listening "$PORT_UNDER_TEST"
    port_in_use "$PORT_UNDER_TEST"
}

@test "probe in-use: a port held only by a connection (no listener) is in use" {
    start_server 01-blocking/04-many-clients "$PORT_UNDER_TEST"
    client_open uno "$PORT_UNDER_TEST"
    wait_until 3 eval '[ "$(connections_to "$PORT_UNDER_TEST")" -eq 1 ]'
    port=$(client_port uno)
    run "$PROBE" in-use "$port"
    assert_success
    assert_output "port=$port in_use=1"
    run "$PROBE" listening "$port"
    assert_failure 1
}

@test "probe queues and sockets: the stall of 01-04, byte for byte" {
    stall_01_04
    run "$PROBE" queues "$PORT_UNDER_TEST"
    assert_success
    assert_line --regexp "^state=ESTAB local=127\.0\.0\.1:$PORT_UNDER_TEST remote=127\.0\.0\.1:$ONE recvq=0 sendq=0 inode=[1-9][0-9]*$"
    assert_line --regexp "^state=ESTAB local=127\.0\.0\.1:$PORT_UNDER_TEST remote=127\.0\.0\.1:$TWO recvq=13 sendq=0 inode=[1-9][0-9]*$"
    assert_line --regexp "^state=ESTAB local=127\.0\.0\.1:$PORT_UNDER_TEST remote=127\.0\.0\.1:$THREE recvq=0 sendq=0 inode=0$"
    [ "${#lines[@]}" -eq 3 ]
    run "$PROBE" sockets "$SERVER_PID"
    assert_success
    # in descriptor order: the listener, client 1, client 2; then the one not accept()ed
    assert_line --index 0 --regexp "^fd=3 inode=[0-9]+ state=LISTEN local=127\.0\.0\.1:$PORT_UNDER_TEST remote=0\.0\.0\.0:0 accept_queue=1 backlog=[0-9]+$"
    assert_line --index 1 --regexp "^fd=[0-9]+ inode=[0-9]+ state=ESTAB local=127\.0\.0\.1:$PORT_UNDER_TEST remote=127\.0\.0\.1:$ONE recvq=0 sendq=0$"
    assert_line --index 2 --regexp "^fd=[0-9]+ inode=[0-9]+ state=ESTAB local=127\.0\.0\.1:$PORT_UNDER_TEST remote=127\.0\.0\.1:$TWO recvq=13 sendq=0$"
    assert_line --index 3 "fd=- inode=0 state=ESTAB local=127.0.0.1:$PORT_UNDER_TEST remote=127.0.0.1:$THREE recvq=0 sendq=0 queued=1"
    [ "${#lines[@]}" -eq 4 ]
}

@test "probe without NETLINK_SOCK_DIAG (/proc/net/tcp): the same sockets, the backlog unknown" {
    stall_01_04
    "$PROBE" sockets "$SERVER_PID" | sed 's/ backlog=[0-9]*$/ backlog=?/' >"$LIB_TMP/netlink"
    PROBE_NO_NETLINK=1 "$PROBE" sockets "$SERVER_PID" >"$LIB_TMP/proc"
    cat "$LIB_TMP/netlink" "$LIB_TMP/proc"
    grep -q ' backlog=0$' "$LIB_TMP/proc"
    assert_equal "$(sed 's/ backlog=0$/ backlog=?/' "$LIB_TMP/proc")" "$(cat "$LIB_TMP/netlink")"
    assert_equal "$(PROBE_NO_NETLINK=1 "$PROBE" queues "$PORT_UNDER_TEST" | sort)" "$("$PROBE" queues "$PORT_UNDER_TEST" | sort)"
    run env PROBE_NO_NETLINK=1 "$PROBE" listening "$PORT_UNDER_TEST"
    assert_output "port=$PORT_UNDER_TEST listening=1"
}

@test "probe threads: the stalled server sleeps in recvfrom on client 1's descriptor" {
    stall_01_04
    fd=$("$PROBE" sockets "$SERVER_PID" | sed -n "s/^fd=\([0-9]*\) .* remote=127.0.0.1:$ONE .*/\1/p")
    [ -n "$fd" ]
    run "$PROBE" threads "$SERVER_PID"
    assert_success
    assert_output --regexp "^tid=$SERVER_PID state=S syscall=recvfrom nr=[0-9]+ fd=$fd( wchan=[^ ]+)? comm=04-many-clients$"
}

@test "probe fds: every descriptor, a socket by its inode, as probe sockets names it" {
    start_server 01-blocking/01-accept "$PORT_UNDER_TEST"
    run "$PROBE" fds "$SERVER_PID"
    assert_success
    assert_line "fd=0 target=/dev/null"
    assert_line "fd=1 target=$SERVER_OUT"
    inode=$("$PROBE" sockets "$SERVER_PID" | sed -n 's/^fd=3 inode=\([0-9]*\) .*/\1/p')
    assert_line "fd=3 target=socket:[$inode]"
}

@test "probe cpu: the busy loop never sleeps and spends its CPU in the kernel; a sleeping server: ~0" {
    start_server 02-non-blocking/02-eagain-loop "$PORT_UNDER_TEST"
    busy=$SERVER_PID
    port=$(free_port)
    start_server 03-selectors/02-select-lines "$port"
    run "$PROBE" cpu "$busy" 0.5
    assert_success
    echo "$output"
    probe_kv "$output"
    # the taught flaw, with generous thresholds: it never went to sleep, it ran, and most of
    # its CPU time was in the kernel (failing accept() and recv() calls)
    [ "${KV[busy]}" = 1 ] && [ "${KV[voluntary]}" = 0 ]
    # (a machine so loaded that it ran only a few clock ticks: the split of so few says little)
    [ $((${KV[utime]} + ${KV[stime]})) -lt 5 ] || [ "${KV[kernel_share]}" -ge 60 ]
    [ $((${KV[user_pct]} + ${KV[kernel_pct]})) -ge $((${KV[cpu_pct]} - 1)) ]
    run "$PROBE" cpu "$SERVER_PID" 0.3
    probe_kv "$output"
    [ "${KV[busy]}" = 0 ] && [ "${KV[cpu_pct]}" -le 5 ] && [ "${KV[state]}" = S ]
    busy_looping "$busy" 0.3
    [ "$CPU_SLEPT" = 0 ] && [ -n "$CPU_KERNEL_SHARE" ]
    run busy_looping "$SERVER_PID" 0.3
    assert_failure
}

@test "probe cpu: a server with a 1 s time-out goes to sleep each second: not a busy loop" {
    start_server 03-selectors/01-select-wait "$PORT_UNDER_TEST"
    run "$PROBE" cpu "$SERVER_PID" 1.3
    probe_kv "$output"
    [ "${KV[voluntary]}" -ge 1 ] && [ "${KV[busy]}" = 0 ]
    run "$PROBE" threads "$SERVER_PID"
    assert_output --regexp "^tid=$SERVER_PID state=S syscall=p?select6? nr=[0-9]+ nfds=4 "
}

@test "probe threads: a thread per client: main in poll, recvfrom on the client" {
    start_server 05-other-roads/02-thread-per-client "$PORT_UNDER_TEST"
    client_open uno "$PORT_UNDER_TEST"
    wait_until 3 eval '[ "$("$PROBE" status "$SERVER_PID" Threads)" = Threads=2 ]'
    # (the new thread may not have reached recvfrom() yet; and thread ids wrap, so the main
    # thread is not always listed first)
    wait_until 3 eval '"$PROBE" threads "$SERVER_PID" | grep -q " syscall=recvfrom "'
    run "$PROBE" threads "$SERVER_PID"
    assert_success
    assert_line --regexp "^tid=$SERVER_PID state=S syscall=poll nr=[0-9]+ "
    fd=$("$PROBE" sockets "$SERVER_PID" | sed -n "s/^fd=\([0-9]*\) .* state=ESTAB .*/\1/p")
    [ -n "$fd" ]
    assert_line --regexp "^tid=[0-9]+ state=S syscall=recvfrom nr=[0-9]+ fd=$fd "
    [ "${#lines[@]}" -eq 2 ]
}

@test "probe threads: a busy loop is 'running' (not blocked, user or kernel mode)" {
    start_server 02-non-blocking/02-eagain-loop "$PORT_UNDER_TEST"
    run "$PROBE" threads "$SERVER_PID"
    assert_output "tid=$SERVER_PID state=R syscall=running comm=02-eagain-loop"
}

@test "probe state, stat, status: a sleeping process, then one that is gone" {
    sleep 30 3>&- &
    child=$!
    LIB_PIDS+=("$child")
    wait_until 3 eval '[ "$("$PROBE" status "$child" Name)" = Name=sleep ]'
    run "$PROBE" state "$child"
    assert_success
    assert_output --regexp '^state=[RS] ended=0$'
    run "$PROBE" stat "$child"
    assert_output --regexp "^state=[RS] ppid=$BASHPID threads=1 utime=[0-9]+ stime=[0-9]+ start=[0-9]+ hz=[0-9]+$"
    run "$PROBE" status "$child" Threads TracerPid
    assert_output "Threads=1 TracerPid=0"
    run "$PROBE" status "$child" NoSuchKey
    assert_failure 1
    kill -9 "$child"
    wait "$child" 2>/dev/null || true
    run "$PROBE" state "$child"
    assert_failure 1
    assert_output "state=gone ended=1"
}

@test "probe state: a zombie (exited, not reaped) counts as ended" {
    # The child exits only once its parent has become `sleep`, which never calls wait(): so
    # it stays a zombie, whichever of the two runs first.
    printf 'until [ "$("%s" status $PPID Name)" = Name=sleep ]; do :; done\nexit 3\n' "$PROBE" >"$LIB_TMP/child.sh"
    sh -c 'sh "$1" & echo $! >"$2"; exec sleep 30' zombie "$LIB_TMP/child.sh" "$LIB_TMP/zombie.pid" 3>&- &
    LIB_PIDS+=("$!")
    wait_until 5 eval '[ -s "$LIB_TMP/zombie.pid" ]'
    zombie=$(cat "$LIB_TMP/zombie.pid")
    wait_until 5 eval '[ "$("$PROBE" state "$zombie")" = "state=Z ended=1" ]'
    run "$PROBE" state "$zombie"
    assert_failure 1
    assert_output "state=Z ended=1"
    _dead "$zombie"
}

@test "probe children and descendants: a process per client, and a tree" {
    start_server 05-other-roads/01-fork-per-client "$PORT_UNDER_TEST"
    client_open uno "$PORT_UNDER_TEST"
    wait_until 3 eval '[ -n "$("$PROBE" children "$SERVER_PID")" ]'
    run "$PROBE" children "$SERVER_PID"
    assert_output --regexp '^pid=[0-9]+$'
    child=${output#pid=}
    run "$PROBE" threads "$child"
    assert_output --regexp "^tid=$child state=S syscall=recvfrom nr=[0-9]+ fd=[0-9]+ "
    run "$PROBE" descendants "$$"
    assert_line "pid=$SERVER_PID"
    assert_line "pid=$child"
}

@test "probe syscalls: this machine's numbers, from the C library's headers" {
    run "$PROBE" syscalls
    assert_success
    for name in accept4 recvfrom sendto pselect6 ppoll epoll_pwait rt_sigtimedwait; do
        assert_line --regexp "^name=$name nr=[0-9]+$"
    done
    load_syscall_names
    [ "$(syscall_name "${SYSCALL_NUMBER_OF[recvfrom]}")" = recvfrom ]
}

@test "probe: a wrong command line gets the usage and status 2; a bad port is named" {
    run "$PROBE"
    assert_failure 2
    assert_line --index 0 --partial "usage: probe listening"
    run "$PROBE" threads abc
    assert_failure 2
    run "$PROBE" cpu 1 -1
    assert_failure 2
    run "$PROBE" listening 70000
    assert_failure 2
    assert_output "probe: not a port (1 to 65535): 70000"
    run "$PROBE" threads 2147483647
    assert_failure 1
    assert_output "pid=2147483647 state=gone"
}

@test "probe's parsers, on texts no machine shows at once (tests/unit/probe.c)" {
    unit=$BUILD_DIR/tests/unit/probe
    [ -x "$unit" ] || { echo "not built: $unit (run make)" >&2; false; }
    run timeout 20 "$unit"
    echo "$output"
    assert_success
    refute_output --partial "not ok"
    # every check ran: the plan line counts them
    assert_line --index $((${#lines[@]} - 1)) "1..$(grep -c '^ok ' <<<"$output")"
    [ "${#lines[@]}" -ge 25 ]
}
