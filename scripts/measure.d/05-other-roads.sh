# shellcheck shell=bash
# scripts/measure.d/05-other-roads.sh - the figures of chapters/chapter-03/05-other-roads/README.md.
# Sourced by scripts/measure.sh after 03-selectors.sh, whose helpers (m3_start, m3_stop,
# m3_silent_client) it uses.

echo "## 5. Other roads"
echo

# m5_where PID: the system call PID sleeps in (named for the ones these stages use, x86-64
# numbers) and where in the kernel (wchan).
m5_where() {
    local nr name
    nr=$(cut -d' ' -f1 "/proc/$1/syscall" 2>/dev/null)
    case $nr in
        43) name=accept ;; 45) name=recvfrom ;; 44) name=sendto ;; 7) name=poll ;; 202) name=futex ;;
        426) name=io_uring_enter ;; 61) name=wait4 ;; *) name="syscall ${nr:-?}" ;;
    esac
    printf '%s (kernel: %s)\n' "$name" "$(cat "/proc/$1/wchan" 2>/dev/null)"
}

# The fork server with one client connected and silent: the processes, where each sleeps.
fork_processes() {
    m3_start 05-other-roads/01-fork-per-client || return
    m3_silent_client
    printf 'Hola Mundo3\r\n' | timeout 5 nc -N localhost "$M3_PORT" >/dev/null
    sleep 0.3
    ps -o pid=,ppid=,stat=,cmd= --pid "$M3_PID" --ppid "$M3_PID" | sed 's/^/ps: /'
    local pid
    for pid in $M3_PID $(pgrep -P "$M3_PID"); do
        echo "process $pid: $(m5_where "$pid")"
    done
    m3_stop
}

# The thread server: how many threads with nobody, with two clients, after they left.
thread_count() {
    m3_start 05-other-roads/02-thread-per-client || return
    echo "nobody connected: $(awk '/^Threads:/ { print $2 }' "/proc/$M3_PID/status") threads"
    m3_silent_client
    m3_silent_client
    echo "two clients connected: $(awk '/^Threads:/ { print $2 }' "/proc/$M3_PID/status") threads"
    local tid
    for tid in /proc/"$M3_PID"/task/*; do
        echo "thread ${tid##*/}: $(m5_where "${tid#/proc/}")"
    done
    [ -z "${M3_INPUT:-}" ] || exec {M3_INPUT}>&-
    M3_INPUT=""
    kill ${M3_CLIENTS:-} 2>/dev/null
    wait ${M3_CLIENTS:-} 2>/dev/null
    M3_CLIENTS=""
    sleep 0.5
    echo "after they left: $(awk '/^Threads:/ { print $2 }' "/proc/$M3_PID/status") threads"
    m3_stop
}

# io_uring: the system calls of one echo, as strace sees them.
uring_calls() {
    m3_start 05-other-roads/03-io-uring-lines || return
    timeout 3 strace -f -c -p "$M3_PID" 2>"$M3_OUT.strace" &
    local tracer=$!
    sleep 1
    printf 'Hola Mundo3\r\n' | timeout 5 nc -N localhost "$M3_PORT" >/dev/null
    wait "$tracer"
    cat "$M3_OUT.strace"
    rm -f "$M3_OUT.strace"
    m3_stop
}

measure m-fork-processes "fork per client: the processes, one client silent" fork_processes
measure m-thread-count "thread per client: threads by clients connected" thread_count
if [ -x build/chapter-03/05-other-roads/03-io-uring-lines ]; then
    measure m-uring-calls "io_uring: the system calls of one echo (strace -c)" uring_calls
fi
