#!/usr/bin/env bash
# scripts/diff.sh - what `make diff` runs: a stage against the stage before it, in the order of
# chapters/chapter-03/stages.txt (the one list of stages), or against the stage its from: tag
# names (section 5 takes other roads from 01-04 and 03-04). A student learns a stage by its diff.
#
#   scripts/diff.sh STAGE [--full]   the unified diff, code only (comments and blank lines left
#                                    out), coloured on a terminal; --full: the files as they are
#   scripts/diff.sh --count STAGE    how many code lines change (diff's < and > lines)
#   scripts/diff.sh --check          every stage's count against its budget in the list, and
#                                    the list against the sources; exit 1 if anything is off
#   STAGE: 02-non-blocking/01-accept-eagain, or 01-accept-eagain, or its .c path.
#
# "Code only" is what the C preprocessor keeps with -fpreprocessed -dD -E -P (comments gone,
# #include and #define kept, nothing expanded), without blank lines. DIFF_CPP: the compiler
# (default gcc; clang does not know -fpreprocessed).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
source scripts/lib.sh

CPP=${DIFF_CPP:-gcc}
# The code-only text of each stage is kept in CODE_CACHE, remade when the source is newer:
# `make diff` and the tests ask for the same stages again and again, and the preprocessor is
# most of what a run costs.
CODE_CACHE=${CODE_CACHE:-$LIB_ROOT/build/code-only}
if ! mkdir -p "$CODE_CACHE" 2>/dev/null || ! [ -w "$CODE_CACHE" ]; then
    CODE_CACHE=$(mktemp -d) && trap 'rm -rf "$CODE_CACHE"' EXIT # (a read-only checkout)
fi

src() { printf 'chapters/chapter-03/%s.c\n' "$1"; }

# The list, read once: STAGES in order, with BUDGET[STAGE] and FROM[STAGE] (its from: tag).
declare -a STAGES=()
declare -A BUDGET=() FROM=()
while IFS= read -r line || [ -n "$line" ]; do
    read -ra words <<<"${line%%#*}"
    [ ${#words[@]} -gt 0 ] || continue
    STAGES+=("${words[0]}")
    BUDGET[${words[0]}]=${words[1]:-}
    for word in "${words[@]:2}"; do
        [[ $word == from:* ]] && FROM[${words[0]}]=${word#from:}
    done
done <"$STAGE_LIST"

# load_code STAGE: CODE_FILE[STAGE], a file of its code, comments and blank lines left out.
declare -A CODE_FILE=()
load_code() {
    [ -n "${CODE_FILE[$1]:-}" ] && return 0
    local source=chapters/chapter-03/$1.c cache lines line code=""
    cache=$CODE_CACHE/${1//\//_}
    if ! [ "$cache" -nt "$source" ]; then
        [ -f "$source" ] || return 1
        mapfile -t lines < <("$CPP" -fpreprocessed -dD -E -P "$source")
        [ ${#lines[@]} -gt 0 ] || return 1
        for line in "${lines[@]}"; do [[ $line =~ ^[[:space:]]*$ ]] || code+=$line$'\n'; done
        # (written aside, then moved: two runs at once never read half a file)
        printf '%s' "$code" >"$cache.$$" && mv -f "$cache.$$" "$cache" || return 1
    fi
    CODE_FILE[$1]=$cache
}

# resolve NAME: the stage's name as the list writes it, or a message and status 1.
resolve() {
    local name=${1#./} stage
    name=${name#chapters/chapter-03/}
    name=${name%.c}
    for stage in "${STAGES[@]}"; do
        if [ "$stage" = "$name" ] || [ "${stage#*/}" = "$name" ]; then
            echo "$stage"
            return 0
        fi
    done
    echo "diff: no stage '$1' in $STAGE_LIST (make list-stages lists them)" >&2
    return 1
}

# previous STAGE: the stage its diff is taken against: the one its "from:STAGE" tag names (a
# section that takes another road from an earlier stage), else the one before it in the list
# (nothing for the first).
previous() {
    local stage prev=""
    if [ -n "${FROM[$1]:-}" ]; then echo "${FROM[$1]}"; return; fi
    for stage in "${STAGES[@]}"; do
        [ "$stage" = "$1" ] && { echo "$prev"; return; }
        prev=$stage
    done
}

# budget STAGE: its budget in the list ("-" for the first).
budget() { echo "${BUDGET[$1]:-}"; }

# count OLD NEW: code lines that change from stage OLD to stage NEW (diff's < and > lines).
count() {
    load_code "$1" && load_code "$2" || return 1
    local line n=0
    while IFS= read -r line; do [[ $line == [\<\>]* ]] && n=$((n + 1)); done \
        < <(diff "${CODE_FILE[$1]}" "${CODE_FILE[$2]}")
    echo "$n"
}

check() {
    local stage prev="" n max status=0 f
    declare -A listed=()
    # The list and the sources must agree: a stage nobody lists would never be diffed.
    for stage in "${STAGES[@]}"; do
        listed[$stage]=1
        [ -f "$(src "$stage")" ] || { echo "listed, but there is no $(src "$stage")"; status=1; }
    done
    for f in chapters/chapter-03/[0-9]*/[0-9]*.c; do
        stage=${f#chapters/chapter-03/}
        [ -n "${listed[${stage%.c}]:-}" ] || { echo "$f is not in $STAGE_LIST"; status=1; }
    done
    printf '%-34s %-38s %5s %6s\n' "stage" "against" "lines" "budget"
    for stage in "${STAGES[@]}"; do
        prev=$(previous "$stage")
        if [ -n "$prev" ]; then
            load_code "$prev" && load_code "$stage" && n=$(count "$prev" "$stage") ||
                { echo "cannot read $stage or $prev"; return 1; }
            max=$(budget "$stage")
            if ! [[ $max =~ ^[0-9]+$ ]]; then
                printf '%-34s %-38s %5s %6s  NO BUDGET\n' "$stage" "$prev" "$n" "$max"
                status=1
            elif [ "$n" -gt "$max" ]; then
                printf '%-34s %-38s %5s %6s  OVER: the diff is more than its lesson\n' \
                    "$stage" "$prev" "$n" "$max"
                status=1
            else
                printf '%-34s %-38s %5s %6s\n' "$stage" "$prev" "$n" "$max"
            fi
        fi
    done
    return "$status"
}

show() {
    local stage prev full=$2 color=()
    stage=$(resolve "$1") || return 2
    prev=$(previous "$stage")
    if [ -z "$prev" ]; then
        echo "$stage is the first stage: nothing comes before it (read $(src "$stage"))"
        return 0
    fi
    diff --color=auto /dev/null /dev/null 2>/dev/null && color=(--color=auto)
    load_code "$prev" && load_code "$stage" || return 1
    printf '%s against %s: %s code lines change (budget %s)\n' "$stage" "$prev" \
        "$(count "$prev" "$stage")" "$(budget "$stage")"
    if [ "$full" = 1 ]; then
        diff -u "${color[@]}" "$(src "$prev")" "$(src "$stage")"
    else
        diff -u "${color[@]}" --label "$(src "$prev") (code only)" \
            --label "$(src "$stage") (code only)" \
            "${CODE_FILE[$prev]}" "${CODE_FILE[$stage]}"
    fi
    [ $? -le 1 ] # diff: 1 means "they differ", which is the point
}

case "${1:-}" in
--check) check ;;
--count)
    stage=$(resolve "${2:-}") || exit 2
    prev=$(previous "$stage")
    if [ -z "$prev" ]; then echo 0; else count "$prev" "$stage"; fi
    ;;
"" | -h | --help)
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
    [ -n "${1:-}" ]
    ;;
*) show "$1" "$([ "${2:-}" = --full ] && echo 1 || echo 0)" ;;
esac
