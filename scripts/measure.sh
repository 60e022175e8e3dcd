#!/usr/bin/env bash
# scripts/measure.sh - every figure the chapter's guides quote, measured again, as Markdown on
# stdout: what `make measurements` writes to chapters/chapter-03/MEASUREMENTS.md.
#
#   scripts/measure.sh [PART...]     PART: a file name of scripts/measure.d/ without .sh
#                                    (01-blocking ...); default: every part, in order
#
# The guides give a figure and link to its entry here (MEASUREMENTS.md#m-busy-calls); the date,
# the machine, the load and the exact command live once, in that entry, so the prose stays true
# of any machine and a reader can see where a number came from and measure it again.
#
# A part (scripts/measure.d/NN-section.sh, sourced in order) calls, once per figure:
#
#   measure ID "Title" COMMAND [ARGS...]
#
# which runs COMMAND from the repository root (the stages already built) and prints the entry:
# an anchor <a id="ID"></a>, "### Title", the UTC time, the load average, the command (and, when
# it is a function of the part, its definition), and its output (stdout and stderr) in a code
# block. IDs start with "m-" and are unique: a repeated or badly named ID stops the run. A part
# may define small functions for its commands; it can use scripts/lib.sh (start_server, free_port,
# client_open, stop_all...: LIB_TMP is set, and everything started is stopped after each entry).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
source scripts/lib.sh

LIB_TMP=$(mktemp -d)
trap 'stop_all; rm -rf "$LIB_TMP"' EXIT
trap 'exit 130' INT TERM

if [ ! -x "$(stage_bin 01-blocking/01-accept)" ]; then
    echo "measure: the stages are not built: run make first (make measurements does both)" >&2
    exit 1
fi

MEASURE_IDS=" "

# measure ID TITLE COMMAND [ARGS...]: run COMMAND and print its entry (see the top).
measure() {
    local id=$1 title=$2 status=0 out
    shift 2
    if [[ ! $id =~ ^m-[a-z0-9-]+$ ]] || [[ $MEASURE_IDS == *" $id "* ]]; then
        echo "measure: bad or repeated id: $id (m-lowercase-words, once each)" >&2
        exit 2
    fi
    MEASURE_IDS+="$id "
    echo "measure: $id" >&2
    printf '<a id="%s"></a>\n\n### %s\n\n' "$id" "$title"
    printf -- '- when: %s\n' "$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    printf -- '- load average (1, 5, 15 min): %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf -- '- command: `%s`\n\n' "$*"
    if [ "$(type -t "$1")" = function ]; then
        printf '```bash\n%s\n```\n\n' "$(declare -f "$1")"
    fi
    out=$("$@" 2>&1) || status=$?
    stop_all
    out=$(sed 's/[[:space:]]*$//' <<<"$out") # (ss pads its columns)
    printf '```text\n%s\n```\n' "$out"
    [ "$status" = 0 ] || printf '\n(exit status %s)\n' "$status"
    printf '\n'
}

# The machine, once, for every entry below.
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
debian=$(cat /etc/debian_version 2>/dev/null || echo "not Debian")
cat <<EOF
# Measurements

Every figure the chapter's guides quote, with the run it comes from. Written by
\`make measurements\` (scripts/measure.sh and the parts in scripts/measure.d/): run it again to
check a figure on your machine. Yours will differ in the details; the guides give ranges
where runs vary.

- machine: $cpu, $(nproc) cores, Linux $(uname -r), Debian $debian
- started: $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)

EOF

parts=()
if [ $# -gt 0 ]; then
    for p in "$@"; do parts+=("scripts/measure.d/${p%.sh}.sh"); done
else
    parts=(scripts/measure.d/*.sh)
fi
for part in "${parts[@]}"; do
    [ -f "$part" ] || { echo "measure: no part $part" >&2; exit 2; }
    # shellcheck disable=SC1090 # the parts, found at run time
    source "$part"
done
