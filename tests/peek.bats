#!/usr/bin/env bats
# scripts/peek.sh: what the kernel holds for a running server, checked on the real stages in
# the situations the guide quotes: the stall of 01-04 (asleep in recvfrom on client 1, client
# 2's 13 bytes in Recv-Q, client 3 in the accept queue), the busy loop of 02-02 (running, its
# CPU in the kernel, a high call rate, every call failing with EAGAIN), the fixed stages idle
# (asleep in select/poll/epoll, no calls), a flood on 03-02 (the server's memory flat, the
# kernel's buffers full), and the plain messages when perf or strace cannot count.
# The facts are read from `peek --kv` (the probe's key=value lines); the human lines are
# asserted as the student reads them, in English and in Spanish. Every 1 s sample runs in
# parallel with the others, so the file takes a few seconds.

load helpers

# (peek, from scripts/lib.sh: scripts/peek.sh in its long form.) Rates over half a second:
# enough to tell 0 from 200,000, and the file stays fast.
export COLUMNS=200 PEEK_SECONDS=0.5

# counted FILE: the look in FILE (--kv) has a call rate (else perf and strace both could not
# count here: the rate tests are skipped, saying why).
counted() { grep -q '^what=rate .*calls_per_s=' "$1" || skip "neither perf nor strace can count here"; }
# kv_line FILE WHAT [KEY=VALUE...]: KV = the first line of FILE (peek --kv) of kind WHAT whose
# fields include every KEY=VALUE given; fails if there is none.
kv_line() {
    local file=$1 what=$2 line want ok
    shift 2
    while IFS= read -r line; do
        probe_kv "$line"
        [ "${KV[what]}" = "$what" ] || continue
        ok=1
        for want in "$@"; do [ "${KV[${want%%=*}]:-}" = "${want#*=}" ] || ok=0; done
        [ $ok = 1 ] && return 0
    done <"$file"
    echo "no line what=$what $* in $file:" >&2
    cat "$file" >&2
    return 1
}

@test "peek: scripts/peek.sh is executable, as the guides run it" {
    [ -x scripts/peek.sh ]
    if git rev-parse --git-dir >/dev/null 2>&1; then   # (the mode a clone gets)
        [ "$(git ls-files -s scripts/peek.sh | cut -d' ' -f1)" = 100755 ]
    fi
    start_server 01-blocking/01-accept "$PORT_UNDER_TEST"
    run scripts/peek.sh --no-rate "$SERVER_PID"
    assert_success
    assert_line --index 1 "state: sleeping, in system call accept(fd 3 = the listening socket 127.0.0.1:$PORT_UNDER_TEST)"
}

@test "peek 01-04: asleep in recvfrom on client 1, client 2's 13 bytes in Recv-Q, client 3 in the accept queue" {
    start_server 01-blocking/04-many-clients "$PORT_UNDER_TEST"
    client_open uno "$PORT_UNDER_TEST"
    client_send uno 'Hola Mundo\r\n\n'
    wait_client_output uno 'Hola Mundo\r\n'
    client_open dos "$PORT_UNDER_TEST"
    client_send dos 'Hola Mundo2\r\n'
    client_open tres "$PORT_UNDER_TEST"
    wait_until 3 queued_at_server "$PORT_UNDER_TEST" 13 # (what peek will show; cheap to poll)
    wait_until 3 eval '[ "$(connections_to "$PORT_UNDER_TEST")" -eq 3 ]'
    one=$(client_port uno) two=$(client_port dos) three=$(client_port tres)
    bash scripts/peek.sh --kv --no-rate "$SERVER_PID" >"$LIB_TMP/kv"
    kv_line "$LIB_TMP/kv" socket remote=127.0.0.1:$one recvq=0
    fd=${KV[fd]}
    kv_line "$LIB_TMP/kv" thread tid="$SERVER_PID" state=S syscall=recvfrom fd="$fd"
    kv_line "$LIB_TMP/kv" socket remote=127.0.0.1:$two recvq=13 state=ESTAB
    kv_line "$LIB_TMP/kv" socket state=LISTEN local=127.0.0.1:$PORT_UNDER_TEST accept_queue=1
    kv_line "$LIB_TMP/kv" socket remote=127.0.0.1:$three fd=- queued=1
    # as the student reads it
    run env PEEK_COUNTER=none bash scripts/peek.sh "$SERVER_PID"
    assert_success
    assert_line --index 1 "state: sleeping, in system call recvfrom(fd $fd = client ('127.0.0.1', $one))"
    assert_line --index 2 "    asleep until that client sends something (or hangs up)"
    assert_line --regexp "^  fd $fd +ESTAB +client \('127\.0\.0\.1', $one\) +Recv-Q 0 B +Send-Q 0 B$"
    assert_line --regexp "^  fd [0-9]+ +ESTAB +client \('127\.0\.0\.1', $two\) +Recv-Q 13 B +Send-Q 0 B$"
    assert_line --regexp "^  fd 3 +LISTEN +127\.0\.0\.1:$PORT_UNDER_TEST +accept queue: 1 waiting \(backlog [0-9]+\)$"
    assert_line --regexp "^  no fd +ESTAB +client \('127\.0\.0\.1', $three\) +Recv-Q 0 B +in the accept queue: connected, not accept\(\)ed yet$"
    assert_output --partial "calls/s: not counted (PEEK_COUNTER=none"
    # and in Spanish, for the class
    run env LANG=es_ES.UTF-8 PEEK_COUNTER=none bash scripts/peek.sh "$SERVER_PID"
    assert_line --index 1 "estado: durmiendo, en la llamada al sistema recvfrom(fd $fd = cliente ('127.0.0.1', $one))"
    assert_line --index 2 "    duerme hasta que ese cliente envíe algo (o cuelgue)"
    assert_line --regexp "^  fd 3 +LISTEN +127\.0\.0\.1:$PORT_UNDER_TEST +cola de accept: 1 esperando \(backlog [0-9]+\)$"
    assert_line --regexp "^  sin fd ESTAB +cliente \('127\.0\.0\.1', $three\) .*en la cola de accept: conectado, nadie lo ha aceptado \(accept\) aún$"
    assert_output --partial "llamadas/s: sin contar (PEEK_COUNTER=none"
}

@test "peek 02-02 idle: running (not blocked), its CPU in the kernel, every call failing with EAGAIN" {
    # perf (or whatever works here) and strace, at the same time, on two servers
    start_server 02-non-blocking/02-eagain-loop "$PORT_UNDER_TEST"
    client_open uno "$PORT_UNDER_TEST"
    first=$SERVER_PID
    port=$(free_port)
    start_server 02-non-blocking/02-eagain-loop "$port"
    client_open dos "$port"
    bash scripts/peek.sh --kv "$first" >"$LIB_TMP/auto.kv" &
    auto=$!
    PEEK_COUNTER=strace bash scripts/peek.sh --kv "$SERVER_PID" >"$LIB_TMP/strace.kv" || true
    wait "$auto"
    cat "$LIB_TMP/auto.kv" "$LIB_TMP/strace.kv"
    # the taught flaw, whatever counts the calls: it never sleeps, and its CPU is in the
    # kernel (generous: the issue measured 97.6%)
    kv_line "$LIB_TMP/auto.kv" cpu busy=1 voluntary=0
    # (a machine so loaded that it ran only a few clock ticks: the split of so few says little)
    [ $((${KV[utime]} + ${KV[stime]})) -lt 5 ] || [ "${KV[kernel_share]}" -ge 60 ]
    counted "$LIB_TMP/auto.kv"
    for f in auto strace; do
        kv_line "$LIB_TMP/$f.kv" rate
        calls=${KV[calls_per_s]} failed=${KV[failed_per_s]} again=${KV[eagain_per_s]:-0}
        # the busy loop: thousands a second at the very least; under strace, which stops it at
        # every call, far fewer, still many times the few of an idle select() server
        least=50
        [ $f = auto ] && least=5000
        [ "$calls" -ge "$least" ]
        [ "$failed" -ge $((calls * 99 / 100)) ]    # (nearly) all of them fail...
        [ "$again" -ge $((failed * 99 / 100)) ]    # ...with EAGAIN (perf's counters start ms apart)
        kv_line "$LIB_TMP/$f.kv" call name=accept
        [ "${KV[eagain_per_s]:-0}" -ge $((${KV[calls_per_s]} * 99 / 100)) ]
        kv_line "$LIB_TMP/$f.kv" call name=recvfrom
        [ "${KV[eagain_per_s]:-0}" -ge $((${KV[calls_per_s]} * 99 / 100)) ]
    done
    kv_line "$LIB_TMP/strace.kv" rate counter=strace
    alive "$first"
}

@test "peek 02-02 idle, as the student reads it: not blocked, where the core goes, in both languages" {
    start_server 02-non-blocking/02-eagain-loop "$PORT_UNDER_TEST"
    client_open uno "$PORT_UNDER_TEST"
    run bash scripts/peek.sh "$SERVER_PID"
    echo "$output"
    assert_line --index 1 "state: running: not blocked in a system call at this instant (on a core, in user or kernel mode)"
    refute_output --partial "computing"
    assert_line --index 2 --regexp "^CPU [0-9]+% of one core over 0\.5 s: [0-9]+% in user mode \(its own code\), [0-9]+% in the kernel \(inside system calls\)$"
    assert_line "  it never went to sleep (0 voluntary context switches): a busy loop"
    if ! grep -q '% of its CPU is in' <<<"$output"; then
        # a machine so busy that it got a core for only a few clock ticks: it says so
        assert_line --regexp "^  it was ready to run [0-9]+% of the time, but got a core for only [0-9]+%: this machine is busy$"
    elif grep -q '^calls/s: [0-9]' <<<"$output"; then
        assert_line --regexp "^  ~([6-9][0-9]|100)% of its CPU is in the kernel: failing (accept|recvfrom)\(\)/(accept|recvfrom)\(\) calls \(EAGAIN\)$"
    else
        assert_line --regexp "^  ~([6-9][0-9]|100)% of its CPU is in the kernel: its system calls$"
    fi
    run env LANG=es_ES.UTF-8 bash scripts/peek.sh "$SERVER_PID"
    echo "$output"
    assert_line --index 1 "estado: en marcha: no está bloqueado en ninguna llamada al sistema en este instante (en un núcleo, en modo usuario o en el kernel)"
    assert_line --index 2 --regexp "^CPU [0-9]+% de un núcleo durante 0,5 s: [0-9]+% en modo usuario \(su propio código\), [0-9]+% en el kernel \(dentro de llamadas al sistema\)$"
    assert_line "  no se durmió ni una vez (0 cambios de contexto voluntarios): un bucle activo"
    if grep -q '% de su CPU' <<<"$output"; then
        assert_line --regexp "^  ~([6-9][0-9]|100)% de su CPU está en el kernel: (llamadas [a-z()/]+ que fallan \(EAGAIN\)|sus llamadas al sistema)$"
    fi
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
        bash scripts/peek.sh --kv "${pids[$i]}" >"$LIB_TMP/$i.kv" &
        peeks+=("$!")
    done
    # --watch: a fresh look every second (the screen is cleared between them)
    bash scripts/peek.sh --watch --no-rate "${pids[0]}" >"$LIB_TMP/watch.out" 3>&- &
    LIB_PIDS+=("$!")
    wait "${peeks[@]}"
    wait_until 5 eval '[ "$(grep -c "^process " "$LIB_TMP/watch.out")" -ge 2 ]'
    grep -q $'\e\[2J' "$LIB_TMP/watch.out"
    for i in "${!stages[@]}"; do
        echo "--- ${stages[$i]}"
        cat "$LIB_TMP/$i.kv"
        kv_line "$LIB_TMP/$i.kv" thread tid="${pids[$i]}" state=S
        [[ ${KV[syscall]} =~ ^(pselect6|select|poll|ppoll|epoll_wait|epoll_pwait)$ ]]
        kv_line "$LIB_TMP/$i.kv" cpu busy=0
        [ "${KV[cpu_pct]}" -le 5 ]
    done
    counted "$LIB_TMP/0.kv"
    for i in "${!stages[@]}"; do
        kv_line "$LIB_TMP/$i.kv" rate failed_per_s=0
        [ "${KV[calls_per_s]}" -le 8 ]   # 0, or a time-out a second (and its message)
    done
    grep -q "^    asleep until one of the watched descriptors is ready (or the timeout)$" "$LIB_TMP/watch.out"
}

# _flood_held: the flooding client's connection holds KBs unread and MBs unsent (KV: its line).
_flood_held() {
    bash scripts/peek.sh --kv --no-rate "$SERVER_PID" >"$LIB_TMP/flood.kv" &&
        kv_line "$LIB_TMP/flood.kv" socket state=ESTAB 2>/dev/null &&
        [ "${KV[recvq]}" -ge 1024 ] && [ "${KV[sendq]}" -ge 1000000 ]
}

@test "peek 03-02 flood: a client sends 10 MB and never reads: the server's memory stays flat, the kernel holds the bytes" {
    start_server 03-selectors/02-select-lines "$PORT_UNDER_TEST" -q
    rss0=""
    proc_field rss0 "$SERVER_PID" VmRSS
    "$TOOLS_DIR/misbehave" flood "$PORT_UNDER_TEST" 10000000 10 >"$LIB_TMP/flood.out" 3>&- &
    LIB_PIDS+=("$!")
    # until the server stops reading it (back-pressure): its replies fill the send buffer, and
    # what the client sends piles up unread: KBs (how many depends on the window the kernel
    # had offered)
    wait_until 8 _flood_held
    held=$((${KV[recvq]} + ${KV[sendq]}))
    kv_line "$LIB_TMP/flood.kv" process
    rss=${KV[rss_kb]}
    echo "RSS $rss0 -> $rss KB; the kernel holds $held bytes for this client" >&3
    [ $(((rss - rss0) * 1024)) -lt $((held / 2)) ]    # far more than the server itself grew
    run env PEEK_COUNTER=none bash scripts/peek.sh "$SERVER_PID"
    assert_line --regexp "^  fd [0-9]+ +ESTAB +client \('127\.0\.0\.1', [0-9]+\) +Recv-Q [0-9]+ KB \([0-9,]+ B\) +Send-Q [0-9.]+ MB \([0-9,]+ B\)$"
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
    # a busy loop, uncounted: its CPU is still split, and the facts say why nothing counted
    port=$(free_port)
    select_lines=$SERVER_PID
    start_server 02-non-blocking/02-eagain-loop "$port"
    run env PATH="$LIB_TMP/neither:$PATH" bash scripts/peek.sh "$SERVER_PID"
    echo "$output"
    assert_success
    assert_line --partial "calls/s: cannot count them: perf: this user cannot see the tracepoint"
    assert_line "  it never went to sleep (0 voluntary context switches): a busy loop"
    env PATH="$LIB_TMP/neither:$PATH" bash scripts/peek.sh --kv "$SERVER_PID" >"$LIB_TMP/uncounted.kv"
    kv_line "$LIB_TMP/uncounted.kv" rate counter=none
    grep -q "^what=rate counter=none why=cannot count them: perf: this user cannot see" "$LIB_TMP/uncounted.kv"
    SERVER_PID=$select_lines
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
        PEEK_COUNTER=none bash scripts/peek.sh --kv --no-rate "${PIDS[$i]}" >"$LIB_TMP/$i.kv" &
        peeks+=("$!")
    done
    wait "${peeks[@]}"
    for i in "${!stages[@]}"; do
        echo "--- ${stages[$i]}"
        cat "$LIB_TMP/$i.kv"
        kv_line "$LIB_TMP/$i.kv" socket state=LISTEN local=127.0.0.1:${PORTS[$i]}
        for c in "a$i" "b$i"; do
            # accepted (a descriptor of the server or of one of its children) or still queued
            kv_line "$LIB_TMP/$i.kv" socket "remote=127.0.0.1:$(client_port "$c")"
        done
        # every thread of the server says where it is
        threads=$(grep -c "^what=thread pid=${PIDS[$i]} " "$LIB_TMP/$i.kv")
        probe_kv "$("$TOOLS_DIR/probe" status "${PIDS[$i]}" Threads)"
        [ "$threads" -eq "${KV[Threads]}" ]
        [ "$(grep -c "^what=thread pid=${PIDS[$i]} .* syscall=[a-z_0-9]" "$LIB_TMP/$i.kv")" -eq "$threads" ]
    done
}
