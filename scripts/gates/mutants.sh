#!/usr/bin/env bash
# scripts/gates/mutants.sh [MUTANT...] - the mutation tests of the exercise checks (make mutants; CI).
#
# A check that judges a student's code must be able to say "no". Each file
# tests/exercises/mutants/NN-name/*.patch is a plausible WRONG solution of exercise NN-name: a
# patch to its reference solution (chapters/chapter-03/exercises/solutions/NN-name/), with two
# header lines:
#     # mistake: what the wrong solution gets wrong, in one line
#     # killed by: a regular expression naming the check(s) that must reject it
# For each one, this script copies the solution, applies the patch, builds the result exactly as
# `make exercise` builds a student's file (strict flags, ASan + UBSan), runs the named checks
# through scripts/exercise.sh, and expects them to FAIL. It also runs every reference solution
# through all of its checks, built the same way, and expects them to PASS (so a mutant is not
# "killed" by a check that fails on everything). One line per run; the run fails if a mutant
# survives, does not apply or does not build, or a solution fails.
#
#   MUTANT        tests/exercises/mutants/NN-name/x.patch, or NN-name for all of an exercise
#   MUTANT_JOBS   how many run at once (default 4: they mostly wait); MUTANT_WAIT: the checks' waits (default 3 s)
#   SAN_BUILD, CFLAGS, LDFLAGS: set by `make mutants` (the sanitized build's folder and flags)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

san_build=${SAN_BUILD:?run it through make mutants}
root=$san_build/mutants
mutants_dir=tests/exercises/mutants
solutions_dir=chapters/chapter-03/exercises/solutions
export EXERCISE_WAIT=${MUTANT_WAIT:-3}
# The mutants already run MUTANT_JOBS at once: each one's checks run one after the other.
export EXERCISE_JOBS=${EXERCISE_JOBS:-1}

# run_one KIND PATH: KIND is "solution" (PATH: NN-name) or "mutant" (PATH: its .patch). Prints
# one line and returns 0 when the outcome is the expected one.
run_one() {
    local kind=$1 path=$2 exercise id dir src bin log status filter=""
    if [ "$kind" = solution ]; then
        exercise=$path id=$path
        dir=$root/solutions/$exercise
    else
        exercise=$(basename "$(dirname "$path")") id=$exercise/$(basename "$path" .patch)
        dir=$root/$exercise.$(basename "$path" .patch)/$exercise
        filter=$(sed -n 's/^# killed by: //p' "$path" | head -n 1)
    fi
    log=$root/logs/${id//\//.}.log
    rm -rf "$dir"
    mkdir -p "$dir"
    cp "$solutions_dir/$exercise"/* "$dir"/
    if [ "$kind" = mutant ] &&
        ! patch -s -p1 --no-backup-if-mismatch -d "$dir" <"$path" >"$log" 2>&1; then
        echo "BROKEN    $id: does not apply to the solution any more (update it): $(head -c 300 "$log")"
        return 1
    fi
    src=$(find "$dir" -maxdepth 1 -name '*.c' | head -n 1)
    bin=${src%.c}
    if ! make -s --no-print-directory BUILD="$san_build" "$bin" >"$log" 2>&1; then
        echo "BROKEN    $id: does not build: $(head -c 400 "$log")"
        return 1
    fi
    status=0
    EXERCISE_FILTER=$filter bash scripts/exercise.sh "" "$src" "$bin" "$bin" >"$log" 2>&1 || status=$?
    if [ "$kind" = solution ]; then
        if [ "$status" -eq 0 ]; then
            echo "accepted  $id (the reference solution: $(grep -cE '^ok ' "$log") checks pass)"
            return 0
        fi
        echo "FAILED    $id: the reference solution fails its own checks:"
        sed 's/^/    /' "$log"
        return 1
    fi
    if ! grep -qE '^(not )?ok ' "$log"; then
        echo "BROKEN    $id: its '# killed by:' expression names no check: '$filter'"
        return 1
    fi
    if [ "$status" -eq 1 ] && grep -qE '^not ok ' "$log"; then
        echo "killed    $id by: $(sed -nE 's/^not ok [0-9]+ //p' "$log" | paste -sd '|' -)"
        return 0
    fi
    echo "SURVIVED  $id ($(sed -n 's/^# mistake: //p' "$path")): the checks '$filter' accept it:"
    sed 's/^/    /' "$log"
    return 1
}

if [ "${1:-}" = --one ]; then
    run_one "$2" "$3"
    exit
fi

# What to run: the mutants named, or all; and the solutions of their exercises.
mutants=()
if [ $# -eq 0 ]; then
    mutants=("$mutants_dir"/*/*.patch)
else
    for arg in "$@"; do
        if [ -f "$arg" ]; then mutants+=("$arg"); else mutants+=("$mutants_dir/$arg"/*.patch); fi
    done
fi
exercises=$(for m in "${mutants[@]}"; do basename "$(dirname "$m")"; done | sort -u)

source scripts/lib.sh
require_tools mutants bats || exit 1
rm -rf "$root"
mkdir -p "$root/logs"
# Build the sanitized common objects and tools once, before jobs run in parallel.
# shellcheck disable=SC2046 # one word per binary
make -s --no-print-directory BUILD="$san_build" \
    $(for e in $exercises; do find "$solutions_dir/$e" -name '*.c' | sed "s|^chapters/chapter-03/|$san_build/|; s|\\.c\$||"; done) ||
    exit 1

echo "mutants: ${#mutants[@]} wrong solutions must be rejected, $(wc -w <<<"$exercises") solutions accepted"
start=$SECONDS
results=$root/results
{
    for e in $exercises; do printf 'solution\0%s\0' "$e"; done
    for m in "${mutants[@]}"; do printf 'mutant\0%s\0' "$m"; done
} | xargs -0 -n 2 -P "${MUTANT_JOBS:-4}" bash scripts/gates/mutants.sh --one | tee "$results"
bad=$(grep -cE '^(SURVIVED|BROKEN|FAILED) ' "$results")
echo "mutants: $(grep -c '^killed ' "$results") of ${#mutants[@]} killed," \
    "$(grep -c '^accepted ' "$results") solutions accepted, in $((SECONDS - start)) s"
if [ "$bad" -gt 0 ]; then
    echo "mutants: FAILED ($bad): a check that accepts a wrong solution would tell a student \"done\" for nothing"
    exit 1
fi
