#!/usr/bin/env bash
# scripts/gates/run-tests.sh - run the bats suite (what `make test` calls), after checking that its
# tools are here, and end with one summary line: "N passed, N failed, N skipped".
#   scripts/gates/run-tests.sh [BATS-FILE...]     default: every tests/*.bats
# BUILD_DIR chooses the binaries under test (default build/; `make check` uses the sanitizer build).
# JOBS: how many bats processes run at once (default: one more than the cores, at most 6; 1: the
#   files one after the other, streaming, as bats does).
# TIMING=1: also print the ten slowest tests, and each file's total.
#
# How it stays fast: the tests mostly wait (for a server, a client, a timeout), so JOBS bats
# processes share the cores. Each file is cut into parts of a few seconds (bats --filter with
# the exact names of a run of consecutive tests), sized from how long each test took last time
# (recorded in $TEST_TIMES, default build/test-times.tsv; a test never timed counts as
# DEFAULT_MS), and the longest parts start first, so no long file is left running alone at the
# end. The results are printed file by file, in order, as soon as they are complete.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2

source scripts/lib.sh
require_tools run-tests bats || exit 1

files=("$@")
[ ${#files[@]} -gt 0 ] || files=(tests/*.bats)

cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
jobs=${JOBS:-$((cores + 1))}
[ "$jobs" -gt 6 ] && jobs=6
[ "$jobs" -lt 1 ] && jobs=1
TEST_TIMES=${TEST_TIMES:-$LIB_ROOT/build/test-times.tsv}
DEFAULT_MS=700

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export LIB_PORTS=$tmp # free_port's reservations, shared by every bats process
log=$tmp/all.tap
started=$(date +%s%N)

# test_names FILE: the raw name of each test of FILE, one a line, as bats' own preprocessor
# reads them (and matches --filter against them): the text between the quotes of @test "...".
test_names() {
    local line pattern='^[[:blank:]]*@test[[:blank:]]+(.*[^[:blank:]])[[:blank:]]+\{(.*)$' name
    while IFS= read -r line || [ -n "$line" ]; do
        [[ $line =~ $pattern ]] || continue
        name=${BASH_REMATCH[1]#[\'\"]}
        printf '%s\n' "${name%[\'\"]}"
    done <"$1"
}
# exact_regex NAME: an extended regular expression that matches NAME and nothing else.
exact_regex() { printf '%s' "$1" | sed 's/[][\.*^$?+(){}|]/\\&/g'; }
# untimed LINES < tap: the TAP without the " in 123ms" bats --timing adds to each result.
untimed() { sed -E 's/^((not )?ok [0-9]+ .*) in [0-9]+ms( # skip.*)?$/\1\3/'; }

# --- plan: the parts, their estimated cost, the longest first ---------------------------------
declare -A last_ms=()
if [ -r "$TEST_TIMES" ]; then
    while IFS=$'\t' read -r f name ms; do last_ms["$f"$'\t'"$name"]=$ms; done <"$TEST_TIMES"
fi
part_file=() part_filter=() part_cost=() part_tests=()
if [ "$jobs" -gt 1 ]; then
    total=0
    declare -A cost=()
    for f in "${files[@]}"; do
        while IFS= read -r name; do
            ms=${last_ms["$f"$'\t'"$name"]:-$DEFAULT_MS}
            cost["$f"$'\t'"$name"]=$ms
            total=$((total + ms))
        done < <(test_names "$f")
    done
    # a part: about a quarter of a job's share of the whole, 1.5 to 8 s
    target=$((total / (jobs * 4)))
    [ "$target" -lt 1500 ] && target=1500
    [ "$target" -gt 8000 ] && target=8000
    for f in "${files[@]}"; do
        mapfile -t names < <(test_names "$f")
        [ ${#names[@]} -gt 0 ] || names=("") # no test found: run the file as it is
        sum=0 regex="" list=""
        for i in "${!names[@]}"; do
            name=${names[$i]}
            ms=${cost["$f"$'\t'"$name"]:-$DEFAULT_MS}
            if [ -n "$list" ] && [ $((sum + ms)) -gt "$target" ]; then
                part_file+=("$f") part_filter+=("^($regex)\$") part_cost+=("$sum") part_tests+=("$list")
                sum=0 regex="" list=""
            fi
            sum=$((sum + ms))
            regex+=${regex:+|}$(exact_regex "$name")
            list+=$name$'\n'
        done
        # a file in one part runs whole, without a filter
        [ "${#part_file[@]}" -gt 0 ] && [ "${part_file[-1]}" = "$f" ] && filter="^($regex)\$" || filter=""
        part_file+=("$f") part_filter+=("$filter") part_cost+=("$sum") part_tests+=("$list")
    done
fi

# record_times PART-TAP TESTS FILE: add each result's time to $tmp/times (file, name, ms): the
# results come in the order of the tests.
record_times() {
    local -a names ms
    mapfile -t names <<<"${2%$'\n'}"
    mapfile -t ms < <(sed -nE 's/^(not )?ok [0-9]+ .* in ([0-9]+)ms( # skip.*)?$/\2/p' "$1")
    [ ${#names[@]} -eq ${#ms[@]} ] || return 0
    for i in "${!names[@]}"; do printf '%s\t%s\t%s\n' "$3" "${names[$i]}" "${ms[$i]}"; done >>"$tmp/times"
}

if [ "$jobs" -eq 1 ] || [ ${#part_file[@]} -le 1 ]; then
    bats --tap --timing "${files[@]}" | tee "$tmp/timed.tap" | untimed | tee "$log"
    status=${PIPESTATUS[0]}
    for f in "${files[@]}"; do # (one after the other: the results come in the files' order)
        n=$(test_names "$f" | wc -l)
        skip=$(cat "$tmp/done" 2>/dev/null || echo 0)
        grep -E '^(not )?ok [0-9]+' "$tmp/timed.tap" | sed -n "$((skip + 1)),$((skip + n))p" >"$tmp/one.tap"
        record_times "$tmp/one.tap" "$(test_names "$f")"$'\n' "$f"
        echo $((skip + n)) >"$tmp/done"
    done
else
    # The longest parts first; each one, when it starts, takes a free slot (and its ports).
    mapfile -t order < <(for p in "${!part_file[@]}"; do echo "${part_cost[$p]} $p"; done | sort -rn | cut -d' ' -f2)
    # Each part, when done, says so on a FIFO, which the printer below reads: it wakes when
    # a part ends rather than polling (a process a poll is dear where forks are: 5 ms some VMs).
    mkfifo "$tmp/done"
    exec {done_fd}<>"$tmp/done"
    (
        declare -A slot_pid=()
        for p in "${order[@]}"; do
            while :; do
                for ((s = 0; s < jobs; s++)); do
                    pid=${slot_pid[$s]:-}
                    [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null && break 2
                done
                wait -n 2>/dev/null || sleep 0.05
            done
            (
                bats --tap --timing ${part_filter[$p]:+--filter "${part_filter[$p]}"} \
                    "${part_file[$p]}" >"$tmp/$p.tap" 2>&1
                echo $? >"$tmp/$p.rc"
                echo "$p" >&"$done_fd"
            ) &
            slot_pid[$s]=$!
        done
        wait
    ) &
    # Print the parts in the files' order as soon as each is done, numbered on.
    n=0 shown=""
    for p in "${!part_file[@]}"; do
        until [ -s "$tmp/$p.rc" ]; do read -r -u "$done_fd" _; done
        f=${part_file[$p]}
        [ "$f" = "$shown" ] || echo "# $f"
        shown=$f
        untimed <"$tmp/$p.tap" | awk -v n="$n" '/^1\.\.[0-9]+$/ { next }
            /^(not )?ok [0-9]+/ { n++; sub(/ok [0-9]+/, "ok " n) } { print }' | tee -a "$log"
        n=$(grep -cE '^(not )?ok [0-9]+' "$log")
        rc=$(cat "$tmp/$p.rc")
        [ "$rc" -eq 0 ] || echo "bats: $f exited with status $rc" >>"$tmp/status"
        record_times "$tmp/$p.tap" "${part_tests[$p]}" "$f"
    done
    wait
    status=0
fi
[ -e "$tmp/status" ] && { cat "$tmp/status"; status=1; }

# Remember each test's time for the next plan (the tests not run this time keep theirs).
if [ -s "$tmp/times" ] && mkdir -p "$(dirname "$TEST_TIMES")" 2>/dev/null; then
    {
        cat "$tmp/times"
        [ ! -r "$TEST_TIMES" ] || cat "$TEST_TIMES"
    } | awk -F'\t' '!seen[$1 FS $2]++' >"$tmp/times.new" && mv "$tmp/times.new" "$TEST_TIMES"
fi

skipped=$(grep -cE '^ok [0-9]+ .*# skip' "$log")
passed=$(($(grep -cE '^ok [0-9]+' "$log") - skipped))
failed=$(grep -cE '^not ok [0-9]+' "$log")
if [ "${TIMING:-0}" = 1 ] && [ -s "$tmp/times" ]; then
    echo
    echo "The ten slowest tests (ms):"
    sort -t$'\t' -k3,3nr "$tmp/times" | head -n 10 | awk -F'\t' '{ printf "%7d  %s: %s\n", $3, $1, $2 }'
    echo "Each file, the sum of its tests (ms), with $jobs at once:"
    awk -F'\t' '{ sum[$1] += $3 } END { for (f in sum) printf "%7d  %s\n", sum[f], f }' "$tmp/times" | sort -rn
    echo "Wall time: $((($(date +%s%N) - started) / 1000000)) ms"
fi
echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
