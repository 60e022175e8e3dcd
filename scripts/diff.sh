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

src() { printf 'chapters/chapter-03/%s.c\n' "$1"; }

# load_code STAGE: its code, comments and blank lines left out, into CODE[STAGE], once (--check
# and a diff need each stage once or twice; the preprocessor is what costs).
declare -A CODE=()
load_code() {
    [ -n "${CODE[$1]+set}" ] && return 0
    CODE[$1]=$("$CPP" -fpreprocessed -dD -E -P "$(src "$1")" | grep -v '^[[:space:]]*$') || return 1
}

# resolve NAME: the stage's name as the list writes it, or a message and status 1.
resolve() {
    local name=${1#./} stage
    name=${name#chapters/chapter-03/}
    name=${name%.c}
    while read -r stage; do
        if [ "$stage" = "$name" ] || [ "${stage#*/}" = "$name" ]; then
            echo "$stage"
            return 0
        fi
    done < <(stage_list)
    echo "diff: no stage '$1' in $STAGE_LIST (make list-stages lists them)" >&2
    return 1
}

# previous STAGE: the stage its diff is taken against: the one its "from:STAGE" tag names (a
# section that takes another road from an earlier stage), else the one before it in the list
# (nothing for the first).
previous() {
    local from
    from=$(awk -v s="$1" '{ sub(/#.*/, "") } $1 == s { for (i = 3; i <= NF; i++) if ($i ~ /^from:/) print substr($i, 6) }' "$STAGE_LIST")
    if [ -n "$from" ]; then echo "$from"; return; fi
    stage_list | awk -v s="$1" '$0 == s { print prev; exit } { prev = $0 }'
}

# budget STAGE: its budget in the list ("-" for the first).
budget() { awk -v s="$1" '{ sub(/#.*/, "") } $1 == s { print $2 }' "$STAGE_LIST"; }

# count OLD NEW: code lines that change from stage OLD to stage NEW.
count() {
    load_code "$1" && load_code "$2" || return 1
    # (diff says 1 when the files differ, grep -c says 1 for a count of 0: neither is an error)
    { diff <(printf '%s\n' "${CODE[$1]}") <(printf '%s\n' "${CODE[$2]}") || true; } | grep -c '^[<>]' || true
}

check() {
    local stage prev="" n max status=0 f
    # The list and the sources must agree: a stage nobody lists would never be diffed.
    while read -r stage; do
        [ -f "$(src "$stage")" ] || { echo "listed, but there is no $(src "$stage")"; status=1; }
    done < <(stage_list)
    for f in chapters/chapter-03/[0-9]*/[0-9]*.c; do
        stage=${f#chapters/chapter-03/}
        stage_list | grep -qxF "${stage%.c}" || { echo "$f is not in $STAGE_LIST"; status=1; }
    done
    printf '%-34s %-38s %5s %6s\n' "stage" "against" "lines" "budget"
    while read -r stage; do
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
    done < <(stage_list)
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
            <(printf '%s\n' "${CODE[$prev]}") <(printf '%s\n' "${CODE[$stage]}")
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
