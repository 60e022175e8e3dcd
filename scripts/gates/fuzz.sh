#!/usr/bin/env bash
# scripts/gates/fuzz.sh SECONDS FUZZER... - what `make fuzz` runs: each libFuzzer target for SECONDS,
# starting from its checked-in seeds (tests/fuzz/corpus/NAME/) plus what earlier runs found
# (build/fuzz/corpus/NAME/, where new inputs are saved). SECONDS=0 only replays those inputs
# (a quick regression check). A failing input is saved as build/fuzz/artifacts/NAME-crash-...
# and replayed with: build/fuzz/NAME FILE
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2

seconds=${1:?usage: scripts/gates/fuzz.sh SECONDS FUZZER...}
shift
case $seconds in *[!0-9]* | '') echo "fuzz: SECONDS must be a whole number" >&2; exit 2 ;; esac

# The sanitizers stop at the first report, and abort so that libFuzzer saves the input.
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"

failed=0
for fuzzer in "$@"; do
    name=$(basename "$fuzzer")
    dir=$(dirname "$fuzzer")
    corpus=$dir/corpus/$name
    seeds=tests/fuzz/corpus/$name
    log=$dir/$name.log
    mkdir -p "$corpus" "$dir/artifacts"
    [ -d "$seeds" ] || seeds=
    if [ "$seconds" -eq 0 ]; then
        limit=(-runs=0)
    else
        limit=(-max_total_time="$seconds")
    fi
    echo "fuzz: $name for ${seconds}s (log: $log)"
    "$fuzzer" "${limit[@]}" -max_len=4096 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$dir/artifacts/$name-" "$corpus" ${seeds:+"$seeds"} >"$log" 2>&1
    status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    if [ "$status" -ne 0 ]; then
        tail -n 40 "$log"
        echo "fuzz: $name FAILED (exit $status) after ${runs:-?} inputs; saved input: $(ls "$dir/artifacts/$name-"* 2>/dev/null | tail -n 1)"
        failed=1
    else
        echo "fuzz: $name: ${runs:-?} inputs, no failure ($(find "$corpus" -type f | wc -l) in its corpus)"
    fi
done
exit "$failed"
