#!/usr/bin/env bats
# The classroom tools: the guided replay (make chapter-03), the live tmux demo (make demo) and
# the benchmark (make bench). They are shows and measurements, so these tests check that they
# run, show what they promise and clean up after themselves, not the numbers.

load helpers

WORKBOOK_RUN=classroom-$$-$RANDOM

# Everything a test starts carries WORKBOOK_RUN=<unique> in its environment; afterwards no
# process may still carry it (precise even while other test suites run on the machine).
export WORKBOOK_RUN
tagged_processes() {
    grep -lsz "^WORKBOOK_RUN=$WORKBOOK_RUN\$" /proc/[0-9]*/environ 2>/dev/null |
        cut -d/ -f3 | grep -vx -e "$$" -e "$BASHPID" || true
}
stray_processes() {
    tagged_processes | while read -r pid; do
        cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || continue
        case $cmd in *"/chapter-03/"* | "nc "* | *" nc "* | *loadgen*) echo "$pid $cmd" ;; esac
    done
}
# no_stage_processes: nothing this test started is still running (allowing 3 s to exit).
no_stage_processes() {
    wait_until 3 eval '[ -z "$(stray_processes)" ]' && return 0
    echo "still running: $(stray_processes)" >&2
    return 1
}

@test "replay: one stage, no pause: commands, the document's Salida, a measured verdict" {
    run env PAUSE=0 bash scripts/replay.sh 01-blocking/04-many-clients
    assert_success
    assert_output --partial "$ build/chapter-03/01-blocking/04-many-clients "
    assert_output --partial 'echo -e "Hola Mundo\r\n" | nc localhost '
    assert_output --partial "Data leida: b'\\n'"
    assert_output --regexp "client 2 waited [0-9.]+ s and got nothing"
    assert_output --regexp "client 2's echo came [0-9]+ ms later"
    # the kernel's evidence, next to the verdict
    assert_output --regexp 'state: sleeping, in system call recvfrom\(fd [0-9]+ = client'
    assert_output --regexp "the kernel shows it: the server sleeps in recvfrom\(\) on fd .*, client 1's socket; client 2's 13 bytes"
    assert_output --partial "accept queue: 1 waiting"
    assert_output --partial "then the next accept() took client 3 from the accept queue"
    refute_output --partial "unexpected"
    no_stage_processes
}

@test "replay: the busy loop's verdicts are measured (hang, lost Ho, CPU of a core)" {
    # (half a second of counting calls is plenty here; the class sees a whole one)
    run env PAUSE=0 PEEK_SECONDS=0.5 bash scripts/replay.sh 02-eagain-loop
    assert_success
    assert_output --partial "Toda la data leida: b'la\\r\\n'"
    # the figure it measured (the replay itself checks that the loop wanted a whole core: what
    # it got depends on how busy the machine is)
    assert_output --regexp 'the server used [0-9]+% of a core'
    # the calls it burns, counted (or, where nothing can count them, why)
    if [[ $output =~ making\ ([0-9,]+)\ system\ calls\ a\ second\ \(counted\ by\ (perf\ stat|strace)[^\)]*\),\ ([0-9,]+)\ of\ them\ failing\ with\ EAGAIN ]]; then
        calls=${BASH_REMATCH[1]//,/} again=${BASH_REMATCH[3]//,/}
        [ "$calls" -ge 5000 ]
        [ "$again" -ge $((calls * 99 / 100)) ]
    else
        assert_output --partial "(Its calls were not counted: cannot count"
    fi
    assert_output --partial "Toda la data leida: b'Hola mundo\\r\\n'"   # the documents' telnet try
    refute_output --partial "unexpected"
    no_stage_processes
}

@test "replay: section 5 names the call each thread sleeps in (this machine's syscall table)" {
    run env PAUSE=0 bash scripts/replay.sh 05-other-roads/02-thread-per-client
    assert_success
    assert_output --regexp 'thread [0-9]+: poll\(\) \(kernel: '
    assert_output --regexp 'thread [0-9]+: recvfrom\(\) \(kernel: '
    assert_output --partial "no stall: client 1's thread sleeps in recvfrom()"
    refute_output --partial "unexpected"
    refute_output --regexp "thread [0-9]+: syscall [0-9]"   # a number the table could not name
    no_stage_processes
}

@test "replay: TRACE=1 shows the server's system calls, condensed (recv(2) six times)" {
    command -v strace >/dev/null || skip "strace is not installed"
    run env TRACE=1 PAUSE=0 bash scripts/replay.sh 01-blocking/02-recv-two-bytes
    assert_success
    assert_output --partial "System calls of the server (TRACE=1"
    [ "$(grep -cE '^ +recvfrom\([0-9]+, "(Ho|la| M|un|do|\\r\\n)", 2, 0\) = 2$' <<<"$output")" -eq 6 ]
    [[ $output =~ accept\([0-9]+,\ \.\.\.\)\ =\ [0-9]+ ]]
    no_stage_processes
}

@test "replay: trace_condense counts repeated calls and repeated groups of calls" {
    {
        for _ in 1 2 3; do echo '7 accept(3, 0x7ffd8d5dde60, [16]) = -1 EAGAIN (Resource temporarily unavailable)'; done
        echo '7 accept(3, {sa_family=AF_INET, sin_port=htons(5555), sin_addr=inet_addr("127.0.0.1")}, [16]) = 4'
        for _ in 1 2 3 4; do
            echo '7 recvfrom(4, 0x7ffd8d5ddf00, 2, 0, NULL, NULL) = -1 EAGAIN (Resource temporarily unavailable)'
            echo '7 accept(3, 0x7ffd8d5dde60, [16]) = -1 EAGAIN (Resource temporarily unavailable)'
        done
        echo '7 recvfrom(4, "Ho", 2, 0, NULL, NULL) = 2'
        echo '7 recvfrom(4,  <detached ...>'
    } | trace_condense >"$LIB_TMP/condensed"
    cat "$LIB_TMP/condensed"
    assert_equal "$(cat "$LIB_TMP/condensed")" "accept(3, ...) = -1 EAGAIN  ×3
accept(3, ...) = 4
recvfrom(4, ..., 2, 0) = -1 EAGAIN  ┐
accept(3, ...) = -1 EAGAIN          ┘ ×4
recvfrom(4, \"Ho\", 2, 0) = 2
recvfrom(4, ...)  ... still in it when the trace ended"
}

@test "replay: a verdict it cannot back is not printed: an nc that is not OpenBSD's is refused" {
    mkdir -p "$LIB_TMP/bin"
    printf '#!/bin/sh\necho "usage: nc [-options] hostname port (traditional)" >&2\nexit 1\n' >"$LIB_TMP/bin/nc"
    chmod +x "$LIB_TMP/bin/nc"
    run env PATH="$LIB_TMP/bin:$PATH" PAUSE=0 bash scripts/replay.sh 01-blocking/04-many-clients
    assert_failure 1
    assert_output --partial "replay: this nc is not OpenBSD netcat"
    assert_output --partial "sudo apt-get install netcat-openbsd"
    refute_output --partial "client 2 waited"
}

@test "replay: a stage that does not behave is reported, not narrated" {
    # a stand-in for 04-many-clients that echoes at once: no stall to show
    mkdir -p "$LIB_TMP/build/chapter-03/01-blocking"
    ln -s "$BUILD_DIR/chapter-03/03-selectors/02-select-lines" "$LIB_TMP/build/chapter-03/01-blocking/04-many-clients"
    run env BUILD_DIR="$LIB_TMP/build" PAUSE=0 bash scripts/replay.sh 01-blocking/04-many-clients
    assert_failure 1
    assert_output --partial "unexpected: client 2 got an answer"
    refute_output --partial "client 2 waited"
    assert_output --partial "did not happen as the notes say"
    no_stage_processes
}

@test "replay: a stage that will not start is reported, and the replay fails" {
    mkdir -p "$LIB_TMP/build/chapter-03/01-blocking"
    ln -s /bin/false "$LIB_TMP/build/chapter-03/01-blocking/02-recv-two-bytes"
    run env BUILD_DIR="$LIB_TMP/build" PAUSE=0 bash scripts/replay.sh 01-blocking/02-recv-two-bytes
    assert_failure 1
    assert_output --partial "unexpected: 01-blocking/02-recv-two-bytes could not be started"
    refute_output --partial "recv() calls"
}

@test "replay: an unknown stage is refused with a hint" {
    run env PAUSE=0 bash scripts/replay.sh no-such-stage
    assert_failure 2
    assert_output --partial "no stage called 'no-such-stage'"
}

@test "replay: SIGTERM stops it and everything it started" {
    PAUSE=0 bash scripts/replay.sh 01-blocking/04-many-clients >"$LIB_TMP/replay.out" 2>&1 3>&- &
    replay=$!
    LIB_PIDS+=("$replay")
    # its title is printed after its traps are set: only then is it listening for signals
    wait_until 10 grep -q "== 01-blocking/04-many-clients ==" "$LIB_TMP/replay.out"
    kill -TERM "$replay"
    wait_exit "$replay" 5
    assert_equal "$EXIT_STATUS" 143
    grep -q "interrupted: everything the replay started is stopped" "$LIB_TMP/replay.out"
    no_stage_processes
}

@test "replay: Ctrl-C typed in a terminal stops it and everything it started" {
    private_tmux
    session=bats-replay-$$
    # The replay ends by SIGINT itself, so the shell that runs it would stop too: `trap : INT`
    # keeps that shell going to record the status.
    tmux new-session -d -s "$session" -x 120 -y 40 \
        "bash -c 'trap : INT; PAUSE=0 bash scripts/replay.sh 01-blocking/04-many-clients; echo rc=\$? >$LIB_TMP/rc'; sleep 60"
    wait_until 10 eval 'tmux capture-pane -p -t "$session" | grep -q "== 01-blocking/04-many-clients =="'
    # One Ctrl-C is enough, wherever the replay is (see supervise in scripts/lib.sh).
    tmux send-keys -t "$session" C-c
    wait_until 5 test -s "$LIB_TMP/rc"
    tmux capture-pane -p -t "$session" | grep -q "interrupted: everything the replay started is stopped"
    tmux kill-session -t "$session"
    assert_equal "$(cat "$LIB_TMP/rc")" rc=130
    no_stage_processes
}

# private_tmux: every tmux command from here on, ours and demo.sh's, talks to a tmux server of
# this test's own (its socket in the test's folder), which ends with the test. In a server
# that another test started, a new session gets that server's environment, not ours: its
# processes would not carry our WORKBOOK_RUN tag, and the other test's would carry its tag, so
# tests run at once would take each other's processes for their own.
private_tmux() {
    command -v tmux >/dev/null || skip "tmux is not installed (sudo apt-get install tmux)"
    export TMUX_TMPDIR=$BATS_TEST_TMPDIR
    unset TMUX # (inside a student's tmux, tmux would talk to that server)
}

# --- the tmux demo --------------------------------------------------------------------------

demo_setup() {
    private_tmux
    export DEMO_SESSION=bats-demo-$$ DEMO_ATTACH=0
}
pane() { tmux capture-pane -p -t "$DEMO_SESSION:demo.$1"; }
# _demo_server_under PID: the busy-loop server runs under PID (pane 0's shell); sets server.
_demo_server_under() {
    local pid
    for pid in "$1" $(_descendants "$1"); do
        [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = 02-eagain-loop ] && server=$pid && return 0
    done
    return 1
}
pane_has() { pane "$1" | grep -qF -- "$2"; }

@test "demo: the stall, typed into tmux panes: client 2 waits until client 1 speaks" {
    demo_setup
    run bash scripts/demo.sh 01-blocking/04-many-clients 2
    assert_success
    wait_until 10 pane_has 0 "Listo para recibir mensajes!"
    wait_until 10 pane_has 3 "client 2 on localhost:"   # (English: the test's locale is not es)
    tmux send-keys -t "$DEMO_SESSION:demo.2" 'Hola Mundo' Enter
    wait_until 10 eval '[ "$(pane 2 | grep -c "^Hola Mundo$")" -eq 2 ]'   # typed + echoed
    tmux send-keys -t "$DEMO_SESSION:demo.3" 'Hola Mundo2' Enter
    wait_until 10 pane_has 3 "Hola Mundo2"
    # the kernel pane: the server asleep in recvfrom on client 1, client 2's 13 bytes waiting
    wait_until 10 pane_has 1 "Recv-Q 13 B"
    pane_has 1 "in system call recvfrom(fd "
    assert_equal "$(pane 3 | grep -c '^Hola Mundo2$')" 1                # typed, not echoed
    tmux send-keys -t "$DEMO_SESSION:demo.2" 'otra vez' Enter
    wait_until 10 eval '[ "$(pane 3 | grep -c "^Hola Mundo2$")" -eq 2 ]' # now echoed
    bash scripts/demo.sh stop
    ! tmux has-session -t "=$DEMO_SESSION" 2>/dev/null || false
    no_stage_processes
}

@test "demo: the kernel pane shows the busy loop burning a core in failed calls; typed lines work, as with telnet" {
    demo_setup
    bash scripts/demo.sh 02-non-blocking/02-eagain-loop 2 >/dev/null
    # The pane shows what the loop gets, which depends on how busy the machine is; that it
    # wants a core and never sleeps does not: measured here on the demo's server, found under
    # pane 0, once the pane has taken its first look (busy_looping says why the share it wants
    # is only an estimate, and why it also counts its sleeps).
    pane0=$(tmux display-message -p -t "$DEMO_SESSION:demo.0" '#{pane_pid}')
    wait_until 10 _demo_server_under "$pane0"
    wait_until 10 eval '[[ $(pane 1) =~ CPU\ [0-9]+%\ of\ one\ core ]]'
    looping=yes
    busy_looping "$server" 0.5 || looping=no
    [[ $(pane 1) =~ CPU\ ([0-9]+)%\ of\ one\ core ]]
    echo "kernel pane: ${BASH_REMATCH[1]}% of a core; the server wants $CPU_WANTED%, gets $CPU_GOT%, slept $CPU_SLEPT times" >&3
    [ "$looping" = yes ] || {
        echo "not a busy loop: it wanted $CPU_WANTED% of a core (got $CPU_GOT%) and went to sleep $CPU_SLEPT times, in $(cat "/proc/$server/wchan" 2>/dev/null)" >&2
        false
    }
    # and the calls it burns it in (perf or strace; or it says why it cannot count)
    [[ $(pane 1) =~ calls/s:\ [0-9,]+,\ failed/s:\ [0-9,]+\ \(EAGAIN || $(pane 1) == *"calls/s: cannot count"* ]]
    # the documents' telnet try: a typed line goes out whole, so even the busy loop echoes it
    wait_until 10 pane_has 2 "client 1 on localhost:"
    for i in 1 2 3; do
        tmux send-keys -t "$DEMO_SESSION:demo.2" "Hola mundo $i" Enter
        wait_until 10 eval '[ "$(pane 2 | grep -c "^Hola mundo $i$")" -eq 2 ]'   # typed + echoed
    done
    bash scripts/demo.sh stop
    no_stage_processes
}

# in_language en|es COMMAND...: run COMMAND with the locale of an English or a Spanish class
# (scripts/i18n.sh looks at LANGUAGE, LC_ALL, LC_MESSAGES, then LANG).
in_language() {
    local lang=C.UTF-8
    [ "$1" = es ] && lang=es_ES.UTF-8
    shift
    env -u LANGUAGE -u LC_ALL -u LC_MESSAGES LANG="$lang" "$@"
}

@test "demo: without a terminal to show it in, it says how (in English or Spanish), and leaves nothing running" {
    demo_setup
    run in_language en env -u TMUX DEMO_ATTACH=1 bash scripts/demo.sh 01-blocking/04-many-clients 2 </dev/null
    assert_failure 1
    assert_line --index 0 "demo: needs a terminal to show the panes in (run make demo in a terminal window)."
    assert_output --partial "DEMO_ATTACH=0"
    run in_language es env -u TMUX DEMO_ATTACH=1 bash scripts/demo.sh 01-blocking/04-many-clients 2 </dev/null
    assert_failure 1
    assert_line --index 0 "demo: necesita una terminal donde mostrar los paneles (ejecuta make demo en una ventana de terminal)."
    assert_output --partial "DEMO_ATTACH=0"
    ! tmux has-session -t "=$DEMO_SESSION" 2>/dev/null || false
    no_stage_processes
}

@test "demo: in a Spanish class its panes, its status line and its messages are in Spanish" {
    demo_setup
    run in_language es bash scripts/demo.sh 01-blocking/04-many-clients 2
    assert_success
    assert_line --index 0 --regexp "^demo: 01-blocking/04-many-clients en el puerto [0-9]+; paneles: 0 el servidor, 1 el kernel \(scripts/peek.sh\), 2..3 los clientes, 4 una terminal. F10 o 'make demo-stop' la cierra.$"
    wait_until 10 pane_has 2 "cliente 1 en localhost:"
    wait_until 10 pane_has 3 "cliente 2 en localhost:"
    wait_until 10 pane_has 4 "Terminal libre (PORT="
    assert_equal "$(tmux show-options -v -t "$DEMO_SESSION" status-right)" "F10: cerrar la demo "
    run in_language es bash scripts/demo.sh stop
    assert_output "demo: cerrada"
    no_stage_processes
}

teardown() {
    if [ -n "${DEMO_SESSION:-}" ] && tmux has-session -t "=$DEMO_SESSION" 2>/dev/null; then
        if [ -z "${BATS_TEST_COMPLETED:-}" ]; then # failed: show what each pane showed
            for p in $(tmux list-panes -t "=$DEMO_SESSION:demo" -F '#{pane_index}'); do
                echo "--- pane $p" >&2
                pane "$p" | grep -v '^$' >&2
            done
        fi
        tmux kill-session -t "=$DEMO_SESSION" 2>/dev/null
    fi
    [ -z "${TMUX_TMPDIR:-}" ] || tmux kill-server 2>/dev/null || true
    stop_all
}

# --- the benchmark --------------------------------------------------------------------------

# A cell of the CPU table: user + kernel = in all, µs per echoed line ("?": too few ticks to split).
CPU_CELL='([0-9]+\.[0-9]{2}|\?) \+ ([0-9]+\.[0-9]{2}|\?) = [0-9]+\.[0-9]{2} µs'

@test "bench: a quick run prints its tables, CPU per line against the baseline, a verdict in %" {
    # (one stage a test: the busy loop is the CSV test's; the baseline is always measured)
    run env BENCH_ONLY="03-selectors/02-select-lines" bash -c 'bash scripts/bench.sh --quick 2>/dev/null'
    assert_success
    assert_line --index 0 --regexp '^## Benchmark: '
    assert_output --regexp 'Machine: [0-9]+ cores'
    header=$(grep -m1 '^| server |' <<<"$output")
    columns=$(awk -F'|' '{ print NF }' <<<"$header")
    # the main table: from its header to the first blank line, minus the |---| rule
    table=$(awk '/^\| server \|/ { on = 1; next } on && /^$/ { exit } on && !/^\|---/' <<<"$output")
    assert_equal "$(grep -c '^| baseline |' <<<"$table")" 1 # the machine's limit, first
    assert_equal "$(grep -c '^| 0' <<<"$table")" 1          # one row per stage asked for
    assert_equal "$(wc -l <<<"$table")" 2
    while IFS= read -r row; do
        assert_equal "$(awk -F'|' '{ print NF }' <<<"$row")" "$columns"
        [[ $row != *error* ]]
    done <<<"$table"
    # CPU per echoed line: user + kernel = in all, for the baseline (measured first and last)
    # and the stage at every load, each against the mean of the baseline's two runs in %, and
    # the stage's verdict as a number
    cpu=$(awk '/^### CPU per echoed line/ { on = 1; next } on && /^\| server \|/ { t = 1 } t && /^$/ { exit } t && !/^\|---/' <<<"$output")
    assert_equal "$(sed -n 1p <<<"$cpu")" "| server | ping-pong, 1 client | ping-pong, 10 clients | ping-pong, 50 clients | 10 clients among 50 idle | within 15% of the baseline, at 50 clients |"
    assert_equal "$(wc -l <<<"$cpu")" 4
    reference='\ \(the\ reference:\ the\ mean\ of\ these\ two\)\ \|$'
    [[ $(sed -n 2p <<<"$cpu") =~ ^\|\ baseline\ \|(\ $CPU_CELL\ \([+-][0-9]+%\)\ \|){4}$reference ]]
    [[ $(sed -n 3p <<<"$cpu") =~ ^\|\ 03-selectors/02-select-lines\ \|(\ $CPU_CELL\ \([+-][0-9]+%\)\ \|){4}\ [+-][0-9]+%:\ (yes|NO)\ \|$ ]]
    [[ $(sed -n 4p <<<"$cpu") =~ ^\|\ baseline\ again\ \(end\ of\ run\)\ \|(\ $CPU_CELL\ \([+-][0-9]+%\)\ \|){4}$reference ]]
    # the targets table: one verdict per line, yes or NO; the CPU one against the baseline,
    # none against asyncio
    grep -qE '^\| 03-selectors/02-select-lines: stall < 5 ms \| .* \| (yes|NO) \|$' <<<"$output"
    grep -qE "^\| 03-selectors/02-select-lines: CPU per line within 15% of the baseline's, 50 clients \| [+-][0-9]+% \| (yes|NO) \|\$" <<<"$output"
    refute_output --partial asyncio
    no_stage_processes
}

@test "bench: --csv prints a header, the baseline's rows and one row per server" {
    run env BENCH_ONLY="02-non-blocking/02-eagain-loop" bash -c 'bash scripts/bench.sh --quick --csv 2>/dev/null'
    assert_success
    assert_line --index 0 --regexp '^server,stall_ms,idle_cpu_percent,'
    assert_line --index 1 --regexp '^baseline,'
    assert_line --index 2 --regexp '^02-non-blocking/02-eagain-loop,'
    assert_line --index 3 --regexp '^baseline again \(end of run\),'
    assert_equal "${#lines[@]}" 4
    # a stall in ms and an idle CPU share, as numbers (what the share is depends on the load)
    [[ ${lines[2]} =~ ^02-non-blocking/02-eagain-loop,[0-9.]+,[0-9]+, ]]
    assert_equal "$(awk -F, '{ print NF }' <<<"${lines[1]}")" "$(awk -F, '{ print NF }' <<<"${lines[0]}")"
    assert_equal "$(awk -F, '{ print NF }' <<<"${lines[2]}")" "$(awk -F, '{ print NF }' <<<"${lines[0]}")"
    assert_equal "$(awk -F, '{ print NF }' <<<"${lines[3]}")" "$(awk -F, '{ print NF }' <<<"${lines[0]}")"
    # CPU per line at each load, as numbers (user and kernel: "none" when too few ticks), each
    # against the mean of the baseline's two runs in %, and the stage's verdict
    csv_field() { awk -F, -v name="$1" -v row="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) col = i }
        NR == row + 1 && col { print $col }' <<<"$output"; }
    for n in 1 10 50 crowd; do
        for row in 1 2 3; do
            [[ $(csv_field "cpu_us_per_line_$n" $row) =~ ^[0-9]+\.[0-9]{2}$ ]]
            [[ $(csv_field "vs_baseline_percent_$n" $row) =~ ^[+-][0-9]+$ ]]
        done
        [[ $(csv_field "user_us_per_line_$n" 2) =~ ^([0-9]+\.[0-9]{2}|none)$ ]]
        [[ $(csv_field "sys_us_per_line_$n" 2) =~ ^([0-9]+\.[0-9]{2}|none)$ ]]
    done
    assert_equal "$(csv_field within_15_percent 1)" ""
    [[ $(csv_field within_15_percent 2) =~ ^(yes|no)$ ]]
}
