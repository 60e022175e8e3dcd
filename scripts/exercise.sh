#!/usr/bin/env bash
# scripts/exercise.sh - what `make exercise N=3` runs once your file is built: the bats checks of
# that exercise (tests/exercises/NN-name.bats) against YOUR program, then one line saying how
# many still fail. Each check's name says what it tests; under a failing one, what was measured.
#   scripts/exercise.sh N SOURCE BINARY [CHECKED-BINARY]      (the Makefile passes them)
# CHECKED-BINARY is the one the checks run: make passes your file built with AddressSanitizer and
# UBSan, so that a read past a buffer stops the program with a report naming the line, instead
# of passing by luck. The reports go to files (log_path), never to the output the checks compare.
# EXERCISE_FILTER (a regular expression) runs only the checks whose names match it; the
# mutation tests (scripts/mutants.sh) use it.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

n=$1 src=$2 bin=$3 checked=${4:-$3}
if [ -z "$src" ]; then
    [ -n "$n" ] && echo "exercise: there is no exercise $n" >&2
    echo "usage: make exercise N=NUMBER    one of:" >&2
    for dir in chapters/chapter-03/exercises/[0-9]*/; do
        echo "  N=$((10#$(basename "$dir" | cut -d- -f1)))   ${dir%/}" >&2
    done
    exit 2
fi

exercise_dir=$(dirname "$src")
name=$(basename "$exercise_dir")
checks=tests/exercises/$name.bats
source scripts/lib.sh
require_tools exercise bats || exit 1

echo "Exercise $name: checking $src"
echo "(statement: $exercise_dir/README.md)"
if [ "$checked" != "$bin" ]; then
    echo "Your program: $bin; the checks run $checked,"
    echo "the same file built with AddressSanitizer + UBSan: a memory error stops it with the line."
fi
echo
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# The sanitizers' reports: one file per report, kept (next to the binary) until the next run.
reports=$(dirname "$checked")/reports
rm -rf "$reports"
mkdir -p "$reports"
common="halt_on_error=1:abort_on_error=1:log_path=$reports/report"
export ASAN_OPTIONS="$common:detect_leaks=1:strict_string_checks=1"
export UBSAN_OPTIONS="$common:print_stacktrace=1"
filter=()
[ -n "${EXERCISE_FILTER:-}" ] && filter=(--filter "$EXERCISE_FILTER")
EXERCISE_DIR=$(realpath "$exercise_dir") EXERCISE_BIN=$(realpath "$checked") EXERCISE_REPORTS=$reports \
    bats --tap "${filter[@]}" "$checks" | tee "$log"
failed=$(grep -cE '^not ok [0-9]+' "$log")
total=$(grep -cE '^(not )?ok [0-9]+' "$log")
echo
if [ "$failed" -eq 0 ] && [ "$total" -gt 0 ]; then
    echo "All $total checks pass: exercise $name is done. / Todo correcto: ejercicio terminado."
    exit 0
fi
echo "Still to do / Falta por hacer ($failed of $total):"
sed -nE 's/^not ok [0-9]+ /  - /p' "$log"
echo "Each name says what it checks; what was measured is above, under \"not ok\"."
echo "Cada nombre dice qué comprueba; lo que se midió está arriba, bajo \"not ok\"."
echo "Start again from the original file / Volver al fichero original:  git checkout -- $exercise_dir"
exit 1
