#!/usr/bin/env bash
# scripts/exercise.sh - what `make exercise N=3` runs once your file is built: the bats checks of
# that exercise (tests/exercises/NN-name.bats) against YOUR program, then one line saying how
# many still fail. Each check's name is a hint: it says what the finished program does.
#   scripts/exercise.sh N SOURCE BINARY      (the Makefile passes all three)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

n=$1 src=$2 bin=$3
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
echo
log=$(mktemp)
trap 'rm -f "$log"' EXIT
EXERCISE_DIR=$PWD/$exercise_dir EXERCISE_BIN=$PWD/$bin bats --tap "$checks" | tee "$log"
failed=$(grep -cE '^not ok [0-9]+' "$log")
total=$(grep -cE '^(not )?ok [0-9]+' "$log")
echo
if [ "$failed" -eq 0 ] && [ "$total" -gt 0 ]; then
    echo "All $total checks pass: exercise $name is done. / Todo correcto: ejercicio terminado."
    exit 0
fi
echo "Still to do / Falta por hacer ($failed of $total):"
sed -nE 's/^not ok [0-9]+ /  - /p' "$log"
echo "Each name says what the finished program does; the details are above, under \"not ok\"."
echo "Cada nombre dice qué hace el programa terminado; los detalles, arriba, bajo \"not ok\"."
echo "Start again from the original file / Volver al fichero original:  git checkout -- $exercise_dir"
exit 1
