#!/usr/bin/env bash
# measure.sh - exercise 4: the price of sleeping in the busy loop. For several pauses
# (SLEEP_US), start the server, keep one client connected and silent, and print
#   - the server's CPU while nobody talks (share of one core, over 1 s);
#   - how long a fresh client waits for its echo (nc -N, mean of ROUNDS runs; nc's own start-up
#     is included, so read the differences between rows, not the absolute numbers).
# Numbers only, nothing is asserted: they depend on the machine and on what else runs.
#
#   chapters/chapter-03/exercises/04-sleep-a-little/measure.sh [BINARY] [SLEEP_US...]
#   BINARY    default: your build, build/exercises/04-sleep-a-little/sleepy-loop
#             (make exercise N=4 builds it; the solution is build/exercises/solutions/...)
#   SLEEP_US  default: 0 100 1000 10000 100000       ROUNDS=20 by default
# If every row shows the same CPU, your program does not read $SLEEP_US yet.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../../.." && pwd)
# shellcheck source=../../../../scripts/lib.sh
source "$ROOT/scripts/lib.sh"

bin=${1:-$ROOT/build/exercises/04-sleep-a-little/sleepy-loop}
[ $# -gt 0 ] && shift
pauses=("$@")
[ ${#pauses[@]} -gt 0 ] || pauses=(0 100 1000 10000 100000)
rounds=${ROUNDS:-20}
if [ ! -x "$bin" ]; then
    echo "measure.sh: $bin is not built: run  make exercise N=4  first" >&2
    exit 1
fi

LIB_TMP=$(mktemp -d)
trap 'stop_all; rm -rf "$LIB_TMP"' EXIT

# mean_echo_ms PORT: mean wall time of one connect + "Hola\r\n" + echo + close, in ms.
mean_echo_ms() {
    local start end i
    start=$(date +%s%N)
    for ((i = 0; i < rounds; i++)); do
        send_line "$1" 'Hola\r\n' 2 >/dev/null
    done
    end=$(date +%s%N)
    awk -v ns=$((end - start)) -v n="$rounds" 'BEGIN { printf "%.2f", ns / n / 1e6 }'
}

echo "server: $bin    ($(nproc) cores, $(uname -sr))"
printf '%10s  %14s  %22s\n' "SLEEP_US" "idle CPU (%)" "echo, mean (ms)"
for us in "${pauses[@]}"; do
    port=$(free_port)
    SLEEP_US=$us start_program sleepy-loop "$port" "$bin"
    client_open idle "$port"
    cpu=$(cpu_percent "$SERVER_PID" 1)
    ms=$(mean_echo_ms "$port")
    printf '%10s  %14s  %22s\n' "$us" "$cpu" "$ms"
    stop_all
done
