#!/usr/bin/env bash
# scripts/doc-twins.sh - every English document and its Spanish twin (NAME.md and NAME.es.md)
# say the same things: the same headings (count, levels, order), identical code blocks, the
# same link targets in the same order, and the same numbers. A reader of either language gets
# the same commands, outputs, links and figures; only the prose is translated.
#
#   scripts/doc-twins.sh [DIR]        every twin pair under DIR (default: the repository)
#   scripts/doc-twins.sh EN.md ES.md  one pair
#
# Prints each difference (which file, what: "< english", "> spanish") and exits 1 if any;
# tests/docs.bats runs it, and runs it on a drifted copy to see it fail.
#
# What "the same" means, and why:
#   headings  the level of every heading, in order (the words are translated).
#   code      every fenced block byte for byte, its info string too: commands and program
#             output are never translated. The exceptions: the comments of a shell block
#             ("# ..." after spaces, to the end of the line) may be translated; and for mermaid
#             diagrams (their labels are prose) and blocks whose info string is "text
#             translated" (a tool's output quoted in the page's language: peek speaks the
#             class's language) only the block's place in the sequence counts.
#   links     every target in order, with three allowances: the link to the twin itself (the
#             "other language" link) is left out; NAME.es.md counts as NAME.md (a Spanish page
#             links to the Spanish pages); and #anchors are left out, since headings translate,
#             except in links to MEASUREMENTS.md, which is one file for both languages.
#   Spanish   a Spanish page links to the Spanish twin of a page wherever one exists: a link
#             from NAME.es.md to OTHER.md, when OTHER.es.md is there, is reported (the link to
#             its own English twin, the "other language" link, excepted).
#   numbers   every run of digits in the prose (outside code blocks and link targets), as a
#             sorted list: 141,346 and 141 346 or 0.5 and 0,5 are the same digits, and a
#             sentence may order its figures differently in another language.
set -uo pipefail

# extract KIND FILE TWIN_BASENAME: one line per item of KIND (heading, code, link, number).
extract() {
    awk -v kind="$1" -v twin="$3" '
        function out(s) { print s }
        /^(```|~~~)/ {
            if (!infence) { infence = 1; info = substr($0, 4); body = ""; next }
            infence = 0
            if (kind == "code") {
                if (info ~ /^mermaid/) out("```mermaid (diagram)")
                else if (info == "text translated") out("```text translated (tool output)")
                else { gsub(/\n/, "\\n", body); out("```" info " " body) }
            }
            next
        }
        infence {
            # a comment in a shell block is prose: "  # ..." to the end of the line, and a
            # line that is only a comment, may be translated (a tab or spaces before #)
            if (info ~ /^(sh|console|bash)/) { sub(/(^|[ \t]+)# .*$/, "", $0) }
            body = body $0 "\n"; next
        }
        kind == "heading" && /^#+ / { match($0, /^#+/); out("h" RLENGTH); next }
        {
            line = $0
            # link targets: ](target) and ](target "title")
            rest = line
            while (match(rest, /\]\([^)]*\)/)) {
                t = substr(rest, RSTART + 2, RLENGTH - 3)
                sub(/ .*/, "", t)
                rest = substr(rest, RSTART + RLENGTH)
                if (kind != "link") continue
                if (t == twin) continue
                frag = ""
                if (index(t, "#")) { frag = substr(t, index(t, "#")); t = substr(t, 1, index(t, "#") - 1) }
                sub(/\.es\.md$/, ".md", t)
                if (t ~ /MEASUREMENTS\.md$/ || frag ~ /^#m-/) t = t frag
                out(t)
            }
            if (kind == "number") {
                gsub(/\]\([^)]*\)/, "]", line)
                while (match(line, /[0-9]+/)) {
                    out(substr(line, RSTART, RLENGTH))
                    line = substr(line, RSTART + RLENGTH)
                }
            }
        }' "$2"
}

# english_links ES: each link of the Spanish page ES to an English page OTHER.md whose Spanish
# twin OTHER.es.md exists (its own English twin left out), one a line.
english_links() {
    local es=$1 dir t path
    dir=$(dirname "$es")
    while IFS= read -r t; do
        case $t in *.es.md | *MEASUREMENTS.md | *://*) continue ;; *.md) ;; *) continue ;; esac
        path=$(realpath -m -- "$dir/$t")
        [ "$path" = "$(realpath -m -- "${es%.es.md}.md")" ] && continue
        [ -f "${path%.md}.es.md" ] && echo "$t"
    done < <(awk '/^(```|~~~)/ { fence = !fence; next } !fence {
        while (match($0, /\]\([^)]*\)/)) {
            t = substr($0, RSTART + 2, RLENGTH - 3); sub(/ .*/, "", t); sub(/#.*/, "", t)
            if (t != "") print t
            $0 = substr($0, RSTART + RLENGTH)
        } }' "$es")
}

# compare EN ES: 0 when the pair agrees; otherwise print what differs and return 1.
compare() {
    local en=$1 es=$2 kind bad=0 a b
    local -A label=([heading]=headings [code]="code blocks" [link]="link targets" [number]=numbers)
    for kind in heading code link number; do
        a=$(extract "$kind" "$en" "$(basename "$es")")
        b=$(extract "$kind" "$es" "$(basename "$en")")
        if [ "$kind" = number ]; then
            a=$(sort <<<"$a")
            b=$(sort <<<"$b")
        fi
        if [ "$a" != "$b" ]; then
            echo "doc-twins: $en and $es: the ${label[$kind]} differ (< english, > spanish):"
            diff <(printf '%s\n' "$a") <(printf '%s\n' "$b") | grep '^[<>]' | head -n 20 | sed 's/^/  /'
            bad=1
        fi
    done
    a=$(english_links "$es")
    if [ -n "$a" ]; then
        echo "doc-twins: $es links to English pages whose Spanish twin exists (link to the .es.md):"
        printf '%s\n' "$a" | head -n 20 | sed 's/^/  /'
        bad=1
    fi
    return $bad
}

if [ $# -eq 2 ] && [ -f "$1" ] && [ -f "$2" ]; then
    compare "$1" "$2"
    exit
fi

root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
status=0 pairs=0
while IFS= read -r es; do
    en=${es%.es.md}.md
    if [ ! -f "$en" ]; then
        echo "doc-twins: $es has no English twin ($en)"
        status=1
        continue
    fi
    pairs=$((pairs + 1))
    compare "$en" "$es" || status=1
done < <(find "$root" -name build -prune -o -name .git -prune -o -name '*.es.md' -print | sort)
[ "$pairs" -gt 0 ] || { echo "doc-twins: no NAME.md / NAME.es.md pair under $root"; exit 1; }
exit $status
