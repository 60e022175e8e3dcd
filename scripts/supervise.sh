# shellcheck shell=bash
# scripts/supervise.sh - sourced by scripts/lib.sh: Ctrl-C and SIGTERM for the long tools.

# supervise MESSAGE SCRIPT [ARGS...]: called near the top of a long script (the replay, the
# benchmark, the stress run), it runs the rest of SCRIPT in a child, "the worker", and only
# waits for it here; in the worker it returns at once and the script goes on.
# Why: bash runs a trap at the next safe point, which can be in the middle of parsing a $(...);
# the trap's text then fails to parse and the signal is lost. This process runs nothing but
# `wait`, so its traps always run. On Ctrl-C or SIGTERM it freezes the worker and every process
# under it, stops them, prints MESSAGE and ends by that same signal (status 130 or 143). It
# makes LIB_TMP for the worker and removes it at the end.
supervise() {
    [ -n "${LIB_WORKER:-}" ] && return 0
    # (the caller may have changed folder since it was started: find it by name where the
    # long tools live, scripts/ or scripts/gates/)
    local message=$1 script=$LIB_ROOT/scripts/${2##*/}
    [ -f "$script" ] || script=$LIB_ROOT/scripts/gates/${2##*/}
    shift 2
    LIB_TMP=$(mktemp -d)
    export LIB_TMP
    trap 'rm -rf "$LIB_TMP"' EXIT
    LIB_WORKER=1 bash "$script" "$@" <&0 & # <&0: keep the terminal as its input (for Enter)
    _LIB_WORKER_PID=$!
    _LIB_MESSAGE=$message
    trap '_stop_worker INT' INT
    trap '_stop_worker TERM' TERM
    wait "$_LIB_WORKER_PID"
    exit $?
}
_stop_worker() {
    trap '' INT TERM
    local pids frozen=""
    # Freeze the worker and everything under it, again until no new process shows up: a
    # subshell of the worker runs on while the process table is read, and may start a server.
    kill -STOP "$_LIB_WORKER_PID" 2>/dev/null
    for _ in 1 2 3 4 5; do
        pids=$(_descendants "$_LIB_WORKER_PID" | sort -n)
        [ "$pids" = "$frozen" ] && break
        # shellcheck disable=SC2086 # one word per pid
        [ -n "$pids" ] && kill -STOP $pids 2>/dev/null
        frozen=$pids
    done
    kill -KILL "$_LIB_WORKER_PID" 2>/dev/null
    # TERM, then CONT: a stopped process that handles TERM (a trap, a stage that shuts down
    # gracefully) only runs its handler once it is let go.
    # shellcheck disable=SC2086 # one word per pid
    [ -n "$pids" ] && { kill -TERM $pids 2>/dev/null; kill -CONT $pids 2>/dev/null; }
    for pid in $pids; do
        wait_until 2 _dead "$pid" || kill -KILL "$pid" 2>/dev/null
    done
    wait "$_LIB_WORKER_PID" 2>/dev/null
    printf '\n%s\n' "$_LIB_MESSAGE"
    rm -rf "$LIB_TMP"
    # End by the same signal, not by a plain exit: a shell or make that ran us then knows that
    # Ctrl-C was pressed, and stops too (exit status 130 or 143 to whoever waits for us).
    trap - "$1" EXIT
    kill -s "$1" "$$"
    exit 1 # (not reached)
}
# _process_table: "PID PPID" for every process: from /proc (a minimal Debian has no ps), else ps.
_process_table() {
    if [ -r /proc/self/stat ]; then
        local f line ppid
        for f in /proc/[0-9]*/stat; do
            read -r line 2>/dev/null <"$f" || continue
            line=${line##*) } # skip the command name, which may hold spaces and ')'
            read -r _ ppid _ <<<"$line" # state, parent
            f=${f#/proc/}
            echo "${f%/stat} $ppid"
        done
    else
        ps -A -o pid= -o ppid=
    fi
}
