#!/usr/bin/env bash
# scripts/run-tests.sh - run the bats suite (what `make test` calls), after checking that its
# tools are here, and end with one summary line: "N passed, N failed, N skipped".
#   scripts/run-tests.sh [BATS-FILE...]     default: every tests/*.bats
# BUILD_DIR chooses the binaries under test (default build/; `make check` uses the sanitizer build).
# JOBS: how many bats files run at once (default: one per core, at most 4; 1: one at a time).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

source scripts/lib.sh
require_tools run-tests bats || exit 1

files=("$@")
[ ${#files[@]} -gt 0 ] || files=(tests/*.bats)

# JOBS bats files run at once (default: one per core, at most 4). The tests wait on the
# programs, not on the CPU, so two files at a time on two cores halve the time. Each file
# gets its own slice of the port range, so two files never pick the same free port at once.
# JOBS=1 runs them one after the other, streaming as bats does.
max_jobs=${JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)}
[ "$max_jobs" -gt 4 ] && max_jobs=4
[ "$max_jobs" -lt 1 ] && max_jobs=1

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
log=$tmp/all.tap

if [ "$max_jobs" -eq 1 ] || [ ${#files[@]} -eq 1 ]; then
    bats --tap "${files[@]}" | tee "$log"
else
    # Start the biggest files first (a rough guess at the longest).
    mapfile -t order < <(for f in "${files[@]}"; do
        printf '%s %s\n' "$(wc -c <"$f")" "$f"
    done | sort -rn | cut -d' ' -f2-)
    slice=$((12000 / ${#files[@]}))
    (
        for f in "${order[@]}"; do
            while [ "$(jobs -rp | wc -l)" -ge "$max_jobs" ]; do wait -n; done
            i=0
            for g in "${files[@]}"; do [ "$g" = "$f" ] && break; i=$((i + 1)); done
            (
                PORT_RANGE_START=$((20000 + i * slice)) PORT_RANGE_SIZE=$slice \
                    bats --tap "$f" >"$tmp/$i.tap" 2>&1
                echo $? >"$tmp/$i.rc"
            ) &
        done
        wait
    ) &
    # Print each file's results in the given order as soon as it is done, numbered on.
    n=0
    for i in "${!files[@]}"; do
        until [ -s "$tmp/$i.rc" ]; do sleep 0.1; done
        echo "# ${files[$i]}"
        awk -v n="$n" '/^1\.\.[0-9]+$/ { next }
            /^(not )?ok [0-9]+/ { n++; sub(/ok [0-9]+/, "ok " n) } { print }' "$tmp/$i.tap" | tee -a "$log"
        n=$(grep -cE '^(not )?ok [0-9]+' "$log")
        [ "$(cat "$tmp/$i.rc")" -eq 0 ] || echo "bats: ${files[$i]} exited with status $(cat "$tmp/$i.rc")" >"$tmp/status"
    done
    wait
fi
status=$?
[ -e "$tmp/status" ] && { cat "$tmp/status"; status=1; }
skipped=$(grep -cE '^ok [0-9]+ .*# skip' "$log")
passed=$(( $(grep -cE '^ok [0-9]+' "$log") - skipped ))
failed=$(grep -cE '^not ok [0-9]+' "$log")
echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
