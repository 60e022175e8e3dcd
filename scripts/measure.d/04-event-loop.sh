# shellcheck shell=bash
# scripts/measure.d/04-event-loop.sh - the figures of chapters/chapter-03/04-event-loop/README.md.
# Sourced by scripts/measure.sh after 03-selectors.sh, whose helpers (m3_start, m3_stop,
# m3_silent_client) it uses.

echo "## 4. The event loop"
echo

# m4_stop_after_signal: send SIGINT to the server and print how long it took to exit, in ms.
m4_stop_after_signal() {
    local start end
    start=$(date +%s%N)
    kill -INT "$M3_PID"
    wait "$M3_PID" 2>/dev/null
    end=$(date +%s%N)
    echo "exited $(((end - start) / 1000000)) ms after SIGINT"
}

# The callback loop idle with one client connected and silent: where it sleeps, how many calls.
loop_idle() {
    m3_start 04-event-loop/01-callback-loop || return
    m3_silent_client
    bash scripts/peek.sh "$M3_PID" | grep -E 'state:|calls/s'
    m3_stop
}

# How long the graceful shutdown takes: with nobody connected, with one client that closes
# when it sees the server's FIN, with one nc connected and silent (its input still open).
shutdown_times() {
    echo "== nobody connected"
    m3_start 04-event-loop/02-graceful-shutdown || return
    m4_stop_after_signal
    tail -n 2 "$M3_OUT"
    m3_stop

    echo "== one client that reads to the end of the stream, then closes"
    m3_start 04-event-loop/02-graceful-shutdown || return
    (exec 5<>"/dev/tcp/127.0.0.1/$M3_PORT" && timeout 10 cat <&5 >/dev/null) &
    # shellcheck disable=SC2034 # m3_stop, in 03-selectors.sh, kills it
    M3_CLIENTS=$!
    sleep 0.3
    m4_stop_after_signal
    tail -n 3 "$M3_OUT"
    m3_stop

    echo "== one nc connected and silent"
    m3_start 04-event-loop/02-graceful-shutdown || return
    m3_silent_client
    m4_stop_after_signal
    tail -n 3 "$M3_OUT"
    m3_stop
}

measure m-loop-idle "callback loop: idle, one client connected and silent" loop_idle
measure m-shutdown-times "graceful shutdown: from SIGINT to exit" shutdown_times
