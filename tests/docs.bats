#!/usr/bin/env bats
# tests/docs.bats - the documents keep their promises: the English and Spanish twins say the
# same things, every command a reader is told to type runs as written, no document points
# outside the repository, no guide carries a date (MEASUREMENTS.md does), and every figure that
# links to MEASUREMENTS.md finds its entry there.

load helpers

# docs: every *.md of the repository (build/ and .git/ left out), one a line.
docs() {
    (cd "$LIB_ROOT" && find . -name build -prune -o -name .git -prune -o -name '*.md' -print) |
        sed "s|^\./|$LIB_ROOT/|" | sort
}

# guides: README.md at the top, and every README*.md and TEACHING*.md of the chapter.
guides() {
    echo "$LIB_ROOT/README.md"
    find "$LIB_ROOT/chapters" \( -name 'README*.md' -o -name 'TEACHING*.md' \) | sort
}

# link_targets FILE: every relative link target of FILE (no URL, no bare #anchor), outside
# code blocks, without its #anchor, one a line.
link_targets() {
    awk '/^(```|~~~)/ { fence = !fence; next } !fence {
        while (match($0, /\]\([^)]*\)/)) {
            t = substr($0, RSTART + 2, RLENGTH - 3); sub(/ .*/, "", t); sub(/#.*/, "", t)
            if (t != "" && t !~ /^[a-z]+:/) print t
            $0 = substr($0, RSTART + RLENGTH)
        } }' "$1"
}

# outside_paths FILE...: each place where FILE points outside the repository: a relative link
# that leads out of it, the notes' old folder (shared/seeds), or an absolute path of a
# particular machine (/work/, /home/, /root/, /Users/).
outside_paths() {
    local f t
    for f in "$@"; do
        while IFS= read -r t; do
            case $(realpath -m -- "$(dirname "$f")/$t") in
                "$LIB_ROOT" | "$LIB_ROOT"/*) ;;
                *) echo "$f: a link out of the repository: $t" ;;
            esac
        done < <(link_targets "$f")
        grep -nHE 'shared/seeds|(^|[^A-Za-z0-9_.~-])/(work|home|root|Users)/' "$f" || true
    done
}

# date_stamps FILE...: each line of FILE with a date or a time of day: 2026-12-02, 06:26 UTC,
# 19:48:03, "2 December 2026", "2 de diciembre de 2026".
date_stamps() {
    local months='January|February|March|April|May|June|July|August|September|October|November|December'
    months+='|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre'
    grep -nHE "(^|[^0-9])(19|20)[0-9]{2}-[01][0-9]-[0-3][0-9]([^0-9]|$)|[0-9]{1,2}:[0-5][0-9]( ?UTC|:[0-5][0-9])|[0-9]{1,2} (de )?($months),? (de )?(19|20)[0-9]{2}" "$@" || true
}

# missing_anchors MEASUREMENTS FILE...: each link of FILE to MEASUREMENTS.md#ID whose ID has no
# <a id="ID"></a> in MEASUREMENTS.
missing_anchors() {
    local measurements=$1 f id
    shift
    for f in "$@"; do
        while IFS= read -r id; do
            grep -qF "<a id=\"$id\"></a>" "$measurements" || echo "$f: no entry $id in $measurements"
        done < <(grep -oE 'MEASUREMENTS\.md#[A-Za-z0-9_-]+' "$f" | cut -d'#' -f2)
    done
}

# unpaired_marks FILE...: each paragraph of a Spanish FILE whose ¿ and ? (or ¡ and !) do not
# pair up, outside code: code blocks, `inline code`, link targets and <!-- comments --> are
# left out (program output keeps the notes' "Listo para recibir mensajes!").
unpaired_marks() {
    local f
    for f in "$@"; do
        awk -v f="$f" '
            function check(   t, a, b, c, d) {
                t = para
                gsub(/`[^`]*`/, "", t); gsub(/\]\([^)]*\)/, "]", t); gsub(/<!--.*-->/, "", t); gsub(/!\[/, "[", t)
                a = gsub(/¿/, "", t); b = gsub(/\?/, "", t); c = gsub(/¡/, "", t); d = gsub(/!/, "", t)
                if (a != b || c != d) printf "%s:%d: %d ¿ and %d ?, %d ¡ and %d !\n", f, start, a, b, c, d
                para = ""
            }
            /^(```|~~~)/ { if (!fence && para != "") check(); fence = !fence; next }
            fence { next }
            /^[[:space:]]*$/ { if (para != "") check(); next }
            { if (para == "") start = NR; para = para " " $0 }
            END { if (para != "") check() }' "$f"
    done
}

@test "docs: Spanish pairs every ¡...! and ¿...? (outside code)" {
    local files
    mapfile -t files < <(docs | grep '\.es\.md$')
    [ ${#files[@]} -gt 0 ]
    run unpaired_marks "${files[@]}"
    assert_output ""

    printf 'Funciona!\n\n¿Y ahora?\n\n`Listo para recibir mensajes!`\n\nQué pasa?\n' >"$BATS_TEST_TMPDIR/es.md"
    run unpaired_marks "$BATS_TEST_TMPDIR/es.md"
    assert_line --partial "es.md:1:"
    assert_line --partial "es.md:7:"
    refute_line --partial "es.md:3:"
    refute_line --partial "es.md:5:"
}

@test "docs: word limits: the front page 1,500, sections 1 and 2 together 3,500, any section 3,000" {
    local dir=$LIB_ROOT/chapters/chapter-03 words guide
    words=$(wc -w <"$dir/README.md")
    [ "$words" -le 1500 ] || { echo "the front page has $words words" >&2; return 1; }
    words=$(cat "$dir/01-blocking/README.md" "$dir/02-non-blocking/README.md" | wc -w)
    [ "$words" -le 3500 ] || { echo "sections 1 and 2 have $words words together" >&2; return 1; }
    for guide in "$dir"/[0-9][0-9]-*/README.md; do
        words=$(wc -w <"$guide")
        [ "$words" -le 3000 ] || { echo "$guide has $words words" >&2; return 1; }
    done
}

@test "docs: every English document and its Spanish twin say the same things (doc-twins.sh)" {
    run "$LIB_ROOT/scripts/doc-twins.sh"
    assert_success
}

@test "docs: the twin check rejects a drifted copy: a code block, a heading, a number, a link" {
    local dir=$BATS_TEST_TMPDIR/twins en es
    mkdir -p "$dir"
    en=$dir/README.md es=$dir/README.es.md
    cp "$LIB_ROOT/chapters/chapter-03/01-blocking/README.md" "$en"
    cp "$LIB_ROOT/chapters/chapter-03/01-blocking/README.es.md" "$es"
    run "$LIB_ROOT/scripts/doc-twins.sh" "$en" "$es"
    assert_success

    # a command translated inside a code block
    sed 's/^\$ printf .Hola Mundo\\r\\n. | nc -N localhost 8000$/$ printf "Hola Mundo\\r\\n" | nc -N localhost 8000/' \
        "$LIB_ROOT/chapters/chapter-03/01-blocking/README.es.md" >"$es"
    run "$LIB_ROOT/scripts/doc-twins.sh" "$en" "$es"
    assert_failure
    assert_output --partial "the code blocks differ"

    # a heading dropped
    grep -v '^### Mira dentro$' "$LIB_ROOT/chapters/chapter-03/01-blocking/README.es.md" >"$es"
    run "$LIB_ROOT/scripts/doc-twins.sh" "$en" "$es"
    assert_failure
    assert_output --partial "the headings differ"

    # a figure changed (26 code lines -> 27)
    sed 's/`make diff STAGE=01-blocking\/02-recv-two-bytes`: 26 /`make diff STAGE=01-blocking\/02-recv-two-bytes`: 27 /' \
        "$LIB_ROOT/chapters/chapter-03/01-blocking/README.es.md" >"$es"
    run "$LIB_ROOT/scripts/doc-twins.sh" "$en" "$es"
    assert_failure
    assert_output --partial "the numbers differ"

    # a link sent elsewhere
    sed 's/MEASUREMENTS.md#m-stall-peek/MEASUREMENTS.md#m-stall-release/' \
        "$LIB_ROOT/chapters/chapter-03/01-blocking/README.es.md" >"$es"
    run "$LIB_ROOT/scripts/doc-twins.sh" "$en" "$es"
    assert_failure
    assert_output --partial "the link targets differ"

    # a Spanish page links to the Spanish twin of another page (X.es.md where English has X.md),
    # never to the English page when the Spanish one exists
    mkdir -p "$dir/tree/a" "$dir/tree/b"
    printf '# A\n\nSee [b](../b/README.md).\n' >"$dir/tree/a/README.md"
    printf '# A\n\nMira [b](../b/README.es.md).\n' >"$dir/tree/a/README.es.md"
    printf '# B\n' >"$dir/tree/b/README.md"
    printf '# B\n' >"$dir/tree/b/README.es.md"
    run "$LIB_ROOT/scripts/doc-twins.sh" "$dir/tree"
    assert_success
    printf '# A\n\nMira [b](../b/README.md).\n' >"$dir/tree/a/README.es.md"
    run "$LIB_ROOT/scripts/doc-twins.sh" "$dir/tree"
    assert_failure
    assert_output --partial "links to English pages whose Spanish twin exists"
    assert_output --partial "../b/README.md"
    printf '# A\n\nMira [b](../a/README.es.md).\n' >"$dir/tree/a/README.es.md"
    run "$LIB_ROOT/scripts/doc-twins.sh" "$dir/tree"
    assert_failure
    assert_output --partial "the link targets differ"
    rm -r "$dir/tree"

    # a Spanish document without its English twin
    rm "$en"
    run "$LIB_ROOT/scripts/doc-twins.sh" "$dir"
    assert_failure
    assert_output --partial "has no English twin"
}

@test "docs: a 'text translated' block may differ between twins; its place may not" {
    local en=$BATS_TEST_TMPDIR/README.md es=$BATS_TEST_TMPDIR/README.es.md
    printf '# A\n\n```text translated\nstate: running\n```\n\n```text\nHola\n```\n' >"$en"
    printf '# A\n\n```text translated\nestado: en marcha\n```\n\n```text\nHola\n```\n' >"$es"
    run "$LIB_ROOT/scripts/doc-twins.sh" "$en" "$es"
    assert_success

    # the same output in a plain text block is a drift
    sed -i 's/^```text translated$/```text/' "$es"
    run "$LIB_ROOT/scripts/doc-twins.sh" "$en" "$es"
    assert_failure
    assert_output --partial "the code blocks differ"

    # and a translated block moved after the other one is too
    printf '# A\n\n```text\nHola\n```\n\n```text translated\nestado: en marcha\n```\n' >"$es"
    run "$LIB_ROOT/scripts/doc-twins.sh" "$en" "$es"
    assert_failure
    assert_output --partial "the code blocks differ"
}

# The commands run as root in a network namespace of their own (what CI has); elsewhere in a
# user namespace, if the kernel allows one.
can_unshare() { [ "$(id -u)" = 0 ] || unshare -rn true 2>/dev/null; }

@test "docs: every command of every console block runs as written (doc-commands.sh)" {
    can_unshare || skip "needs root or user namespaces"
    run "$LIB_ROOT/scripts/doc-commands.sh"
    assert_success
    assert_output --regexp 'doc-commands: [1-9][0-9]* blocks'
}

@test "docs: a command that cannot run fails the check, naming file, line and command" {
    can_unshare || skip "needs root or user namespaces"
    # A copy of the repository's scripts beside its build, where peek.sh has lost its run bit.
    local root=$BATS_TEST_TMPDIR/repo
    mkdir -p "$root"
    cp -r "$LIB_ROOT/scripts" "$root/scripts"
    ln -s "$BUILD_DIR" "$root/build"
    printf '# A guide\n\n```console\n$ build/chapter-03/01-blocking/01-accept\n$ scripts/peek.sh PID\n```\n' >"$root/guide.md"
    chmod -x "$root/scripts/peek.sh"
    DOC_ROOT=$root run "$LIB_ROOT/scripts/doc-commands.sh" "$root/guide.md"
    assert_failure
    assert_output --partial "$root/guide.md:5: \$ scripts/peek.sh PID"
    assert_output --partial "Permission denied"

    # the same with its run bit: the server found, peek run on it
    chmod +x "$root/scripts/peek.sh"
    DOC_ROOT=$root run "$LIB_ROOT/scripts/doc-commands.sh" "$root/guide.md"
    assert_success

    # a command that fails, and one that does not exist
    printf '# A guide\n\n```console\n$ make diff STAGE=01-blocking/99-none\n$ no-such-tool --help\n```\n' >"$root/guide.md"
    DOC_ROOT=$LIB_ROOT run "$LIB_ROOT/scripts/doc-commands.sh" "$root/guide.md"
    assert_failure
    assert_output --partial "guide.md:4: \$ make diff STAGE=01-blocking/99-none"
    assert_output --partial "guide.md:5: \$ no-such-tool --help"
    assert_output --partial "command not found"
}

@test "docs: no document points outside the repository" {
    local files
    mapfile -t files < <(docs)
    run outside_paths "${files[@]}"
    assert_output ""

    # and the check sees one that does
    printf 'The notes are in [the seeds](../../shared/seeds/) and /work/notes.\n' >"$BATS_TEST_TMPDIR/bad.md"
    run outside_paths "$BATS_TEST_TMPDIR/bad.md"
    assert_output --partial "a link out of the repository: ../../shared/seeds/"
    assert_output --partial "/work/notes"
}

@test "docs: no date or time stamp in README.md or a guide (they live in MEASUREMENTS.md)" {
    local files
    mapfile -t files < <(guides)
    run date_stamps "${files[@]}"
    assert_output ""

    printf 'Measured on 2026-12-02 at 06:26 UTC.\nMedido el 2 de diciembre de 2026.\nSeen 19:48:03.\nFowler (Manning, 2022), 1.6 ms, 8000.\n' \
        >"$BATS_TEST_TMPDIR/dated.md"
    run date_stamps "$BATS_TEST_TMPDIR/dated.md"
    assert_line --partial "dated.md:1:"
    assert_line --partial "dated.md:2:"
    assert_line --partial "dated.md:3:"
    refute_line --partial "dated.md:4:"
}

@test "docs: every link to MEASUREMENTS.md#ID finds the entry ID there" {
    local measurements=$LIB_ROOT/chapters/chapter-03/MEASUREMENTS.md files
    [ -f "$measurements" ]
    mapfile -t files < <(docs)
    run missing_anchors "$measurements" "${files[@]}"
    assert_output ""

    printf 'It makes [a million calls](../MEASUREMENTS.md#m-no-such-entry).\n' >"$BATS_TEST_TMPDIR/guide.md"
    run missing_anchors "$measurements" "$BATS_TEST_TMPDIR/guide.md"
    assert_output --partial "no entry m-no-such-entry"
}

# template_breaks GUIDE STAGE... : for each STAGE (NN-name) the guide's `## N.M `NN-name`` part
# must hold the template's six ### headings, in order, and nothing else at that level; prints
# what is wrong, one line each. English or Spanish headings, by the file's name.
template_breaks() {
    local guide=$1 want
    shift
    if [[ $guide == *.es.md ]]; then
        want='Ejecútalo|Salida|Qué observar|Mira dentro|El diff|Por qué'
    else
        want='Run|Salida|What to notice|Look inside|The diff|Why'
    fi
    awk -v want="$want" -v stages="$*" -v file="$guide" '
        BEGIN { n = split(stages, list, " "); for (i = 1; i <= n; i++) wanted[list[i]] = 1 }
        function close_stage() {
            if (stage != "" && got != want) printf "%s: %s has %s, not %s\n", file, stage, got, want
            stage = ""
        }
        /^```/ { fence = !fence; next }
        fence { next }
        /^## / {
            close_stage()
            if (match($0, /`[0-9][0-9]-[a-z0-9-]+`/)) {
                name = substr($0, RSTART + 1, RLENGTH - 2)
                if (name in wanted) { stage = name; got = ""; seen[name] = 1 }
            }
            next
        }
        /^### / && stage != "" { h = substr($0, 5); got = got == "" ? h : got "|" h }
        END {
            close_stage()
            for (s in wanted) if (!(s in seen)) printf "%s: no ## part for %s\n", file, s
        }' "$guide"
}

@test "docs: every stage's part of its section guide follows the template, in both languages" {
    local stage section guide names
    declare -A by_section=()
    while read -r stage; do
        by_section[${stage%%/*}]+="${stage#*/} "
    done < <(stage_list)
    for section in "${!by_section[@]}"; do
        for guide in "$LIB_ROOT/chapters/chapter-03/$section/README.md" "$LIB_ROOT/chapters/chapter-03/$section/README.es.md"; do
            # shellcheck disable=SC2086 # one word per stage
            names=${by_section[$section]}
            run template_breaks "$guide" $names
            assert_output ""
        done
    done
    # a guide whose stage lost "What to notice", and one that never mentions its stage, fail
    printf '## 1.1 `01-accept` — x\n### Run\n### Salida\n### Look inside\n### The diff\n### Why\n' >"$BATS_TEST_TMPDIR/g.md"
    run template_breaks "$BATS_TEST_TMPDIR/g.md" 01-accept 02-recv-two-bytes
    assert_line --partial "01-accept has Run|Salida|Look inside|The diff|Why"
    assert_line --partial "no ## part for 02-recv-two-bytes"
}
