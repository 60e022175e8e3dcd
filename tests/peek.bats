#!/usr/bin/env bats
# scripts/peek.sh: what the kernel holds for a running server, checked on the real stages in
# the situations the guide quotes: the stall of 01-04 (asleep in recvfrom on client 1, client
# 2's 13 bytes in Recv-Q, client 3 in the accept queue), the busy loop of 02-02 (a high call
# rate, every call failing with EAGAIN), the fixed stages idle (asleep in select/poll/epoll,
# no calls), a flood on 03-02 (the server's memory flat, the kernel's buffers full), and the
# plain messages when perf or strace cannot count. Every 1 s sample runs in parallel with the
# others, so the file takes a few seconds.

load helpers

# (peek, from scripts/lib.sh: scripts/peek.sh in its long form.) Rates over half a second:
# enough to tell 0 from 200,000, and the file stays fast.
export COLUMNS=200 PEEK_SECONDS=0.5

# counted FILE: the look in FILE has a call rate (else perf and strace both could not count
# here: the rate tests are skipped, saying why).
counted() { grep -q '^calls/s: [0-9]' "$1" || skip "neither perf nor strace can count here: $(grep '^calls/s' "$1")"; }

@test "peek 01-04: asleep in recvfrom on client 1, client 2's 13 bytes in Recv-Q, client 3 in the accept queue" {
    start_server 01-blocking/04-many-clients "$PORT_UNDER_TEST"
    client_open uno "$PORT_UNDER_TEST"
    client_send uno 'Hola Mundo\r\n\n'
    wait_client_output uno 'Hola Mundo\r\n'
    client_open dos "$PORT_UNDER_TEST"
    client_send dos 'Hola Mundo2\r\n'
    client_open tres "$PORT_UNDER_TEST"
    one=$(client_port uno) two=$(client_port dos) three=$(client_port tres)
    wait_until 3 queued_at_server "$PORT_UNDER_TEST" 13 # (what peek will show; cheap to poll)
    run env PEEK_COUNTER=none bash scripts/peek.sh "$SERVER_PID"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ $output =~ state:\ sleeping,\ in\ system\ call\ recvfrom\(fd\ ([0-9]+)\ =\ client\ \(\'127.0.0.1\',\ $one\)\) ]]
    fd=${BASH_REMATCH[1]}
    [[ $output =~ fd\ $fd\ +ESTAB\ +client\ \(\'127.0.0.1\',\ $one\)\ +Recv-Q\ 0\ B ]]
    [[ $output =~ ESTAB\ +client\ \(\'127.0.0.1\',\ $two\)\ +Recv-Q\ 13\ B ]]
    [[ $output =~ LISTEN\ +127.0.0.1:$PORT_UNDER_TEST\ +accept\ queue:\ 1\ waiting\ \(backlog\ [0-9]+\) ]]
    [[ $output =~ no\ fd\ +ESTAB\ +client\ \(\'127.0.0.1\',\ $three\)\ .*in\ the\ accept\ queue ]]
    [[ $output == *"calls/s: not counted (PEEK_COUNTER=none"* ]]
}

@test "peek 02-02 idle: a high call rate, every call failing with EAGAIN (perf, and strace says it slows)" {
    # perf (or whatever works here) and strace, at the same time, on two servers
    start_server 02-non-blocking/02-eagain-loop "$PORT_UNDER_TEST"
    client_open uno "$PORT_UNDER_TEST"
    first=$SERVER_PID
    port=$(free_port)
    start_server 02-non-blocking/02-eagain-loop "$port"
    client_open dos "$port"
    peek "$first" >"$LIB_TMP/auto.out" &
    auto=$!
    PEEK_COUNTER=strace peek "$SERVER_PID" >"$LIB_TMP/strace.out" || true
    wait "$auto"
    cat "$LIB_TMP/auto.out" "$LIB_TMP/strace.out"
    counted "$LIB_TMP/auto.out"
    for f in auto strace; do
        out=$(cat "$LIB_TMP/$f.out")
        [[ $out =~ calls/s:\ ([0-9,]+),\ failed/s:\ ([0-9,]+)\ \(EAGAIN\ ([0-9,]+)\) ]]
        calls=${BASH_REMATCH[1]//,/} failed=${BASH_REMATCH[2]//,/} again=${BASH_REMATCH[3]//,/}
        # the busy loop: thousands a second at the very least; under strace, which stops it at
        # every call, far fewer (on a 2-core VM whose context switches trap: 4,494/s loaded,
        # 284/s at load 10), still many times the few of an idle select() server (test below)
        [ "$calls" -ge $([ $f = auto ] && echo 5000 || echo 50) ]
        [ "$failed" -ge $((calls * 99 / 100)) ]    # (nearly) all of them fail...
        [ "$again" -ge $((failed * 99 / 100)) ]    # ...with EAGAIN (perf's counters start ms apart)
        # ("all failed", or a few calls short of it: perf's counters start ms apart)
        [[ $out =~ accept\ +[0-9,]+/s\ +(all\ failed|failed\ [0-9,]+/s):\ EAGAIN ]]
        [[ $out =~ recvfrom\ +[0-9,]+/s\ +(all\ failed|failed\ [0-9,]+/s):\ EAGAIN ]]
        [[ $out == *"state: running"* ]] || [[ $out =~ in\ system\ call\ (accept|recvfrom) ]]
    done
    [[ $(cat "$LIB_TMP/strace.out") == *"[strace -f over 0.5 s: strace stops the server at every call"* ]]
    alive "$first"
}

@test "peek: the fixed stages idle sleep in select/poll/epoll_wait and make (almost) no calls; --watch refreshes" {
    stages=(03-selectors/01-select-wait 03-selectors/02-select-lines 03-selectors/03-poll-lines
        04-event-loop/01-callback-loop 04-event-loop/02-graceful-shutdown)
    [ -x "$(stage_bin 03-selectors/04-epoll-lines)" ] && stages+=(03-selectors/04-epoll-lines)
    pids=()
    for i in "${!stages[@]}"; do
        port=$(free_port)
        start_server "${stages[$i]}" "$port"
        client_open "idle$i" "$port"
        pids+=("$SERVER_PID")
    done
    peeks=()
    for i in "${!stages[@]}"; do
        peek "${pids[$i]}" >"$LIB_TMP/$i.out" &
        peeks+=("$!")
    done
    # --watch: a fresh look every second (the screen is cleared between them)
    bash scripts/peek.sh --watch --no-rate "${pids[0]}" >"$LIB_TMP/watch.out" 3>&- &
    LIB_PIDS+=("$!")
    wait "${peeks[@]}"
    wait_until 5 eval '[ "$(grep -c "^process " "$LIB_TMP/watch.out")" -ge 2 ]'
    grep -q $'\e\[2J' "$LIB_TMP/watch.out"
    counted "$LIB_TMP/0.out"
    for i in "${!stages[@]}"; do
        echo "--- ${stages[$i]}"
        out=$(cat "$LIB_TMP/$i.out")
        echo "$out"
        [[ $out =~ state:\ sleeping,\ in\ system\ call\ (pselect6|select|poll|ppoll|epoll_wait|epoll_pwait)\( ]]
        [[ $out == *"asleep until one of the watched descriptors is ready"* ]]
        [[ $out =~ calls/s:\ ([0-9,]+), ]]
        [ "${BASH_REMATCH[1]//,/}" -le 8 ]   # 0, or a time-out a second (and its message)
        [[ $out =~ calls/s:\ [0-9]+,\ failed/s:\ 0\  ]]
        [[ $out =~ CPU\ ([0-9]+)%\ of\ one\ core ]]
        [ "${BASH_REMATCH[1]}" -le 5 ]
    done
}

_flood_held() {
    [[ $(peek --no-rate "$SERVER_PID") =~ Recv-Q\ [0-9.]+\ (KB|MB)\ \(([0-9,]+)\ B\)\ +Send-Q\ [0-9.]+\ MB ]] &&
        [ "${BASH_REMATCH[2]//,/}" -ge 1024 ]
}

@test "peek 03-02 flood: a client sends 10 MB and never reads: the server's memory stays flat, the kernel holds the bytes" {
    start_server 03-selectors/02-select-lines "$PORT_UNDER_TEST" -q
    proc_field rss0 "$SERVER_PID" VmRSS
    "$TOOLS_DIR/misbehave" flood "$PORT_UNDER_TEST" 10000000 10 >"$LIB_TMP/flood.out" 3>&- &
    LIB_PIDS+=("$!")
    # until the server stops reading it (back-pressure): its replies fill the send buffer, and
    # what the client sends piles up unread: KBs, as the checks below ask (how many depends on
    # the window the kernel had offered: 9,728 B in some runs, 65 KB in others)
    wait_until 8 _flood_held
    out=$(PEEK_COUNTER=none peek "$SERVER_PID")
    echo "$out"
    [[ $out =~ memory\ \(RSS\)\ ([0-9]+)\ KB ]]
    rss=${BASH_REMATCH[1]}
    [[ $out =~ Recv-Q\ [0-9.]+\ (KB|MB)\ \(([0-9,]+)\ B\)\ +Send-Q\ [0-9.]+\ MB\ \(([0-9,]+)\ B\) ]]
    held=$((${BASH_REMATCH[2]//,/} + ${BASH_REMATCH[3]//,/}))
    echo "RSS $rss0 -> $rss KB; the kernel holds $held bytes for this client" >&3
    [ "${BASH_REMATCH[2]//,/}" -ge 1024 ]             # KBs waiting to be read...
    [ "${BASH_REMATCH[3]//,/}" -ge 1000000 ]          # ...MBs of replies waiting to be sent
    [ $(((rss - rss0) * 1024)) -lt $((held / 2)) ]    # far more than the server itself grew
}

@test "peek without perf: strace, saying it slows the loop; without either: says plainly why" {
    start_server 03-selectors/02-select-lines "$PORT_UNDER_TEST"
    mkdir -p "$LIB_TMP/noperf" "$LIB_TMP/neither"
    printf '#!/bin/sh\necho "event syntax error: '"'"'raw_syscalls:sys_enter'"'"'" >&2\nexit 129\n' >"$LIB_TMP/noperf/perf"
    printf '#!/bin/sh\necho "strace: attach: ptrace(PTRACE_SEIZE, 1): Operation not permitted" >&2\nexit 1\n' >"$LIB_TMP/neither/strace"
    cp "$LIB_TMP/noperf/perf" "$LIB_TMP/neither/perf"
    chmod +x "$LIB_TMP/noperf/perf" "$LIB_TMP/neither/perf" "$LIB_TMP/neither/strace"
    run env PATH="$LIB_TMP/neither:$PATH" bash scripts/peek.sh "$SERVER_PID"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ $output == *"calls/s: cannot count them: perf: this user cannot see the tracepoint raw_syscalls:sys_enter"* ]]
    [[ $output == *"kernel.perf_event_paranoid = "* ]]
    [[ $output == *"strace: strace: attach: ptrace(PTRACE_SEIZE, 1): Operation not permitted"* ]]
    [[ $output == *"state: sleeping, in system call pselect6("* ]]   # the rest is still shown
    run env PATH="$LIB_TMP/neither:$PATH" PEEK_COUNTER=perf bash scripts/peek.sh "$SERVER_PID"
    [[ $output == *"calls/s: cannot count with perf: this user cannot see"* ]]
    # --watch does not fall back to strace: it would slow the server at every look
    # (its first screen comes when it comes: 0.6 s on an idle machine, over 1.5 s on a loaded one)
    PATH="$LIB_TMP/noperf:$PATH" bash scripts/peek.sh --watch "$SERVER_PID" >"$LIB_TMP/watch.out" 3>&- &
    LIB_PIDS+=("$!")
    wait_until 10 grep -q "^calls/s: " "$LIB_TMP/watch.out"
    grep -q "calls/s: not counted: perf cannot here (this user cannot see the tracepoint" "$LIB_TMP/watch.out"
    grep -q "strace at every look would keep slowing the server (PEEK_COUNTER=strace" "$LIB_TMP/watch.out"
    if command -v strace >/dev/null; then
        run env PATH="$LIB_TMP/noperf:$PATH" bash scripts/peek.sh "$SERVER_PID"
        echo "$output"
        [[ $output =~ calls/s:\ [0-9]+,\ failed/s:\ 0\ +\[strace\ -f\ over\ 0.5\ s:\ strace\ stops\ the\ server\ at\ every\ call ]]
        [[ $output == *"perf could not: this user cannot see the tracepoint"* ]]
    fi
}

@test "peek: every other multi-client stage: the listener, both clients, where each thread and child waits" {
    # The servers of many clients (tagged bench in stages.txt) that the tests above do not
    # cover (e.g. thread- or process-per-client servers).
    covered=" 01-blocking/04-many-clients 02-non-blocking/02-eagain-loop 03-selectors/01-select-wait
        03-selectors/02-select-lines 03-selectors/03-poll-lines 03-selectors/04-epoll-lines
        04-event-loop/01-callback-loop 04-event-loop/02-graceful-shutdown "
    covered=${covered//$'\n'/ }
    stages=()
    for stage in $(stage_list bench); do
        [[ $covered == *" $stage "* ]] || { [ -x "$(stage_bin "$stage")" ] && stages+=("$stage"); }
    done
    [ ${#stages[@]} -gt 0 ] || skip "no multi-client stage besides those of the tests above"
    for i in "${!stages[@]}"; do
        port=$(free_port)
        start_server "${stages[$i]}" "$port" || return 1
        client_open "a$i" "$port"
        client_open "b$i" "$port"
        PIDS[i]=$SERVER_PID PORTS[i]=$port
    done
    peeks=()
    for i in "${!stages[@]}"; do
        PEEK_COUNTER=none peek "${PIDS[$i]}" >"$LIB_TMP/$i.out" &
        peeks+=("$!")
    done
    wait "${peeks[@]}"
    for i in "${!stages[@]}"; do
        echo "--- ${stages[$i]}"
        out=$(cat "$LIB_TMP/$i.out")
        echo "$out"
        [[ $out =~ LISTEN\ +127.0.0.1:${PORTS[$i]}\ +accept\ queue:\ [0-9]+\ waiting ]]
        for c in "a$i" "b$i"; do
            p=$(client_port "$c")
            # accepted (a descriptor of the server or of one of its children) or still queued
            [[ $out =~ \ client\ \(\'127.0.0.1\',\ $p\)\  ]]
        done
        # every thread says where it is
        threads=$(ls "/proc/${PIDS[$i]}/task" | wc -l)
        [ "$(grep -cE '(state|thread [0-9]+ .*): (running|sleeping|waiting)' <<<"$out")" -ge "$threads" ]
    done
}
