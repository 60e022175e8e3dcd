#!/usr/bin/env bash
# scripts/exercise.sh - what `make exercise N=3` runs once your file is built: the bats checks of
# that exercise (tests/exercises/NN-name.bats) against YOUR program, then one line saying how
# many still fail. Each check's name says what it tests; under a failing one, what was measured.
#   scripts/exercise.sh N SOURCE BINARY [CHECKED-BINARY]      (the Makefile passes them)
# CHECKED-BINARY is the one the checks run: make passes your file built with AddressSanitizer and
# UBSan, so that a read past a buffer stops the program with a report naming the line, instead
# of passing by luck. The reports go to files (log_path), never to the output the checks compare.
# EXERCISE_FILTER (a regular expression) runs only the checks whose names match it; the
# mutation tests (scripts/gates/mutants.sh) use it.
# It speaks the class's language (scripts/i18n.sh: Spanish when LANG/LANGUAGE starts with es),
# and so do the checks' failure messages; the checks' names stay in English.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
source scripts/i18n.sh

n=$1 src=$2 bin=$3 checked=${4:-$3}
if [ -z "$src" ]; then
    [ -n "$n" ] && Lf "exercise: there is no exercise %s\n" "exercise: no hay ningún ejercicio %s\n" "$n" >&2
    L "usage: make exercise N=NUMBER    one of:" "uso: make exercise N=NÚMERO    uno de estos:" >&2
    echo >&2
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

statement=$exercise_dir/README.md
lang_es && statement=$exercise_dir/README.es.md
Lf "Exercise %s: checking %s\n" "Ejercicio %s: compruebo %s\n" "$name" "$src"
Lf "(statement: %s)\n" "(enunciado: %s)\n" "$statement"
if [ "$checked" != "$bin" ]; then
    Lf "Your program: %s; the checks run %s,\n" "Tu programa: %s; las comprobaciones ejecutan %s,\n" "$bin" "$checked"
    L "the same file built with AddressSanitizer + UBSan: a memory error stops it with the line." \
        "el mismo fichero compilado con AddressSanitizer + UBSan: un error de memoria lo para y dice la línea."
    echo
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
# Most checks wait (for an echo that should come, for a failing program to show it fails): run
# six at once when GNU parallel is there (bats needs it for --jobs), which keeps a run of the
# whole exercise under 20 s even when most checks fail. EXERCISE_JOBS=1: one at a time.
jobs=()
if [ "${EXERCISE_JOBS:-6}" -gt 1 ] && command -v parallel >/dev/null; then
    jobs=(--jobs "${EXERCISE_JOBS:-6}")
fi
EXERCISE_DIR=$(realpath "$exercise_dir") EXERCISE_BIN=$(realpath "$checked") EXERCISE_REPORTS=$reports \
    bats --tap "${jobs[@]}" "${filter[@]}" "$checks" | tee "$log"
failed=$(grep -cE '^not ok [0-9]+' "$log")
total=$(grep -cE '^(not )?ok [0-9]+' "$log")
echo
if [ "$failed" -eq 0 ] && [ "$total" -gt 0 ]; then
    Lf "All %s checks pass: exercise %s is done.\n" "Las %s comprobaciones pasan: el ejercicio %s está terminado.\n" "$total" "$name"
    exit 0
fi
Lf "Still to do (%s of %s):\n" "Falta por hacer (%s de %s):\n" "$failed" "$total"
sed -nE 's/^not ok [0-9]+ /  - /p' "$log"
L "Each name says what it checks; what was measured is above, under \"not ok\"." \
    "Cada nombre dice qué comprueba; lo que se midió está arriba, bajo \"not ok\"."
echo
L "To start again from the starting files (this THROWS AWAY your work on them; copy it first):" \
    "Para volver a los ficheros de partida (esto BORRA tu trabajo en ellos; cópialo antes):"
echo
echo "  git checkout -- $exercise_dir"
exit 1
