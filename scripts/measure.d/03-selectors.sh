# shellcheck shell=bash
# scripts/measure.d/03-selectors.sh - the figures of chapters/chapter-03/03-selectors/README.md.
# Sourced by scripts/measure.sh (make measurements), which defines `measure ID "Title" CMD...`
# and runs it from the repository root with every stage built. Each function below starts its
# own server on a free port, prints what the guide quotes, and kills everything it started.

echo "## 3. select, poll, epoll"
echo

# A free port: a random one below Linux's ephemeral range (32768 and up, where the clients'
# own ports come from) that no socket uses.
m3_free_port() {
    local port
    while :; do
        port=$((10000 + RANDOM % 20000))
        [ -z "$(ss -Htan "sport = :$port")" ] && break
    done
    echo "$port"
}

# m3_start STAGE ARGS...: start build/chapter-03/STAGE ARGS... PORT in the background, its
# output in $M3_OUT; sets M3_PID and M3_PORT once the port listens (at most 5 s).
m3_start() {
    local stage=$1
    shift
    M3_PORT=$(m3_free_port)
    M3_OUT=$(mktemp)
    "build/chapter-03/$stage" "$@" "$M3_PORT" >"$M3_OUT" 2>&1 3>&- &
    M3_PID=$!
    local tries=0
    until [ -n "$(ss -Htln "sport = :$M3_PORT")" ]; do
        tries=$((tries + 1))
        if [ "$tries" -ge 100 ]; then
            echo "$stage did not listen on $M3_PORT: $(cat "$M3_OUT")"
            m3_stop
            return 1
        fi
        sleep 0.05
    done
}

# m3_stop: end the server and every client this part started (by their PIDs), forget its output.
m3_stop() {
    [ -z "${M3_INPUT:-}" ] || exec {M3_INPUT}>&-
    M3_INPUT=""
    kill "$M3_PID" ${M3_CLIENTS:-} 2>/dev/null
    wait "$M3_PID" ${M3_CLIENTS:-} 2>/dev/null
    M3_CLIENTS=""
    rm -f "$M3_OUT"
}

# m3_silent_client: one nc connected that says nothing, its input open (a pipe nobody writes
# to until m3_stop closes it), as a student's nc in a terminal.
m3_silent_client() {
    local fifo
    fifo=$(mktemp -u)
    mkfifo "$fifo"
    timeout 30 nc localhost "$M3_PORT" <"$fifo" >/dev/null 2>&1 &
    M3_CLIENTS="${M3_CLIENTS:-} $!"
    exec {M3_INPUT}>"$fifo"
    rm -f "$fifo"
    sleep 0.3
}

# m3_rss PID: the resident memory of PID in KB.
m3_rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# An idle select() server, one client connected and silent: where it sleeps, how many calls.
select_idle() {
    m3_start 03-selectors/01-select-wait || return
    m3_silent_client
    printf 'Hola Mundo\r\n' | timeout 5 nc -N localhost "$M3_PORT" >/dev/null
    sleep 1
    bash scripts/peek.sh "$M3_PID"
    m3_stop
}

# Idle poll() and epoll servers, one client each: where each sleeps, how many calls.
poll_epoll_idle() {
    local stage
    for stage in 03-selectors/03-poll-lines 03-selectors/04-epoll-lines; do
        m3_start "$stage" || continue
        m3_silent_client
        echo "== $stage"
        echo "/proc/PID/syscall: $(cat "/proc/$M3_PID/syscall")"
        bash scripts/peek.sh "$M3_PID" | grep -E 'state:|calls/s'
        m3_stop
    done
}

# A client sends 10 MB of lines and never reads the echoes: the server's memory before and
# after, and where the bytes wait two seconds in.
select_flood() {
    m3_start 03-selectors/02-select-lines -q || return
    local before
    before=$(m3_rss "$M3_PID")
    build/tools/misbehave flood "$M3_PORT" 10000000 3 &
    local flood=$!
    sleep 2
    bash scripts/peek.sh --no-rate "$M3_PID"
    ss -tnm "( sport = :$M3_PORT or dport = :$M3_PORT )"
    wait "$flood"
    echo "server VmRSS: $before KB before the flood, $(m3_rss "$M3_PID") KB after"
    m3_stop
}

# One client connects and closes 2,000 times in a row: how many select() turned away
# (descriptor >= FD_SETSIZE), three runs.
select_cycles() {
    local run
    for run in 1 2 3; do
        m3_start 03-selectors/02-select-lines -q
        build/tools/misbehave cycles "$M3_PORT" 2000
        sleep 0.5
        echo "run $run: turned away $(grep -c rechazado "$M3_OUT") of 2000"
        m3_stop
    done
    m3_start 03-selectors/02-select-lines -q || return
    echo "the stage's descriptor limit: $(awk '/open files/ { print $4, "(soft),", $5, "(hard)" }' "/proc/$M3_PID/limits")"
    m3_stop
}

# FD_SETSIZE + 100 clients at once, one line each: select() serves those below FD_SETSIZE and
# turns the rest away with an error line.
select_fdsetsize() {
    m3_start 03-selectors/02-select-lines -q || return
    timeout 120 build/tools/many-clients -n 1124 -l 1 -s 3 -r -t 60 "$M3_PORT"
    echo "'rechazado' lines: $(grep -c rechazado "$M3_OUT"), the first: $(grep -m1 rechazado "$M3_OUT" | sed "s/('127.0.0.1', [0-9]*)/('127.0.0.1', P)/")"
    m3_stop
}

measure m-select-idle "select(): idle, one client connected and silent" select_idle
measure m-select-flood "select-lines: a client sends 10 MB and never reads" select_flood
measure m-select-cycles "select-lines: 2,000 connect/close cycles from one client" select_cycles
measure m-select-fdsetsize "select-lines: FD_SETSIZE + 100 clients at once" select_fdsetsize
measure m-poll-epoll-idle "poll() and epoll: idle, one client connected and silent" poll_epoll_idle
