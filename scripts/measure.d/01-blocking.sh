# shellcheck shell=bash
# scripts/measure.d/01-blocking.sh - the figures of section 1's guide (sourced by
# scripts/measure.sh, which defines measure, and sources scripts/lib.sh).

echo "## 1. Blocking sockets"
echo

# accept_asleep: 01-accept with nobody connecting: the system call it sleeps in, as the kernel
# shows it, and peek's summary (a whole second without one call).
accept_asleep() {
    local port pid
    port=$(free_port)
    start_server 01-blocking/01-accept "$port" || return 1
    pid=$SERVER_PID
    echo "\$ cat /proc/$pid/syscall"
    cat "/proc/$pid/syscall"
    echo "\$ scripts/peek.sh $pid"
    COLUMNS=200 scripts/peek.sh "$pid"
}
measure m-accept-asleep "01-accept waits in accept(), making no call" accept_asleep

# recv_strace: the system calls of 02-recv-two-bytes serving printf 'Hola Mundo\r\n' | nc -N.
recv_strace() {
    local port
    port=$(free_port)
    strace -f -e trace=network -o "$LIB_TMP/recv.strace" \
        build/chapter-03/01-blocking/02-recv-two-bytes "$port" >"$LIB_TMP/recv.out" 3>&- &
    LIB_PIDS+=("$!")
    wait_until 5 port_listening "$port" || return 1
    printf 'Hola Mundo\r\n' | timeout 5 nc -N 127.0.0.1 "$port"
    wait_until 5 _dead "$!" || true
    wait "$!" 2>/dev/null || true
    cat "$LIB_TMP/recv.strace"
}
measure m-recv-strace "02-recv-two-bytes: one recv() per two bytes (strace)" recv_strace

# reply_lost RUNS: 03-read-and-write answered RUNS times with the notes' line (echo -e adds a
# "\n" that stays unread: close() then sends RST) and RUNS times with printf's exact line; how
# many times nc printed no "Gracias por su Mensaje".
reply_lost() {
    local runs=$1 how line port i lost got
    for how in echo printf; do
        lost=0
        for ((i = 0; i < runs; i++)); do
            port=$(free_port)
            start_server 01-blocking/03-read-and-write "$port" || return 1
            if [ "$how" = echo ]; then
                got=$(echo -e "Hola Mundo\r\n" | timeout 5 nc localhost "$port")
            else
                got=$(printf 'Hola Mundo\r\n' | timeout 5 nc -N localhost "$port")
            fi
            [ "$got" = "Gracias por su Mensaje" ] || lost=$((lost + 1))
            stop_server
        done
        [ "$how" = echo ] && line='echo -e "Hola Mundo\r\n" | nc localhost PORT'
        [ "$how" = printf ] && line="printf 'Hola Mundo\\r\\n' | nc -N localhost PORT"
        printf '%-48s reply lost in %d of %d runs\n' "$line" "$lost" "$runs"
    done
}
measure m-reply-lost "03-read-and-write: the reply lost to RST, echo -e against printf" reply_lost 40

# stall_peek: 04-many-clients with client 1 connected and silent after its line (the notes'
# echo -e), client 2 sending printf's line, client 3 connected and silent: what the kernel holds.
stall_peek() {
    local port pid
    port=$(free_port)
    start_server 01-blocking/04-many-clients "$port" || return 1
    pid=$SERVER_PID
    client_open c1 "$port"
    client_send c1 'Hola Mundo\r\n\n'
    wait_server_output "Data leida: b'\\r\\n'" || return 1
    client_open c2 "$port"
    client_send c2 'Hola Mundo2\r\n'
    wait_until 5 queued_at_server "$port" 13 || return 1
    client_open c3 "$port"
    sleep 0.2
    echo "\$ scripts/peek.sh $pid"
    COLUMNS=200 scripts/peek.sh "$pid"
    echo "\$ ss -tnp '( sport = :$port or dport = :$port )'"
    ss -tnp "( sport = :$port or dport = :$port )"
    echo "\$ ss -ltn '( sport = :$port )'"
    ss -ltn "( sport = :$port )"
}
# wait_server_output TEXT: the last server started printed the line TEXT.
wait_server_output() { wait_output "$SERVER_OUT" "$1" 5; }
measure m-stall-peek "04-many-clients stalled: asleep on client 1, client 2's bytes unread" stall_peek

# stall_release RUNS: 04-many-clients, client 1 connected and silent, client 2's line waits;
# how long client 2 waited, and how soon its echo came once client 1 hung up.
stall_release() {
    local runs=$1 i port t0 t1
    for ((i = 1; i <= runs; i++)); do
        port=$(free_port)
        start_server 01-blocking/04-many-clients "$port" || return 1
        client_open c1 "$port"
        client_send c1 'Hola Mundo\r\n\n'
        wait_server_output "Toda la data leida: b'Hola Mundo\\r\\n'" || return 1
        client_open c2 "$port"
        client_send c2 'Hola Mundo2\r\n'
        if wait_client_output c2 'Hola Mundo2\r\n' 2; then
            echo "run $i: client 2 answered while client 1 was silent (no stall)"
        else
            t0=${EPOCHREALTIME//[!0-9]/}
            client_kill c1
            wait_client_output c2 'Hola Mundo2\r\n' 5 || { echo "run $i: no echo after the release"; continue; }
            t1=${EPOCHREALTIME//[!0-9]/}
            printf 'run %d: client 2 got nothing for 2 s; its echo came %d.%d ms after client 1 hung up\n' \
                "$i" $(((t1 - t0) / 1000)) $(((t1 - t0) / 100 % 10))
        fi
        stop_all
    done
}
measure m-stall-release "04-many-clients: the stall, and the release when client 1 hangs up" stall_release 5
