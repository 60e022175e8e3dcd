#!/usr/bin/env bats
# Every diff is the lesson: each stage's code (comments and blank lines left out) changes no
# more against the stage before it than the budget written next to it in
# chapters/chapter-03/stages.txt, the one list of stages; `make diff` shows every one of them;
# each section's guide says, for each stage, the command and the size; scripts/diff.sh counts.
# (No server is started here: these tests read the sources.)

load helpers

setup() {
    LIB_TMP=$BATS_TEST_TMPDIR
    command -v "${DIFF_CPP:-gcc}" >/dev/null || skip "needs gcc (its preprocessor strips the comments)"
}

# base_of STAGE PREV: what STAGE's diff is taken against: the stage its from: tag names in the
# list (section 5 takes other roads from earlier stages), else PREV, the line above it.
base_of() {
    local from
    from=$(awk -v s="$1" '{ sub(/#.*/, "") } $1 == s { for (i = 3; i <= NF; i++) if ($i ~ /^from:/) print substr($i, 6) }' "$STAGE_LIST")
    echo "${from:-$2}"
}

# read_counts: COUNT[STAGE], how many code lines its diff changes, from one scripts/diff.sh --check
# (the preprocessor runs once a stage, not once a question).
declare -gA COUNT=() # (-g: bats loads this file inside a function)
read_counts() {
    local stage n
    while read -r stage _ n _; do
        [[ $n =~ ^[0-9]+$ ]] && COUNT[$stage]=$n
    done < <(bash scripts/diff.sh --check)
}

@test "diffs: every stage is listed once, every listed stage exists, and each is within its budget" {
    run bash scripts/diff.sh --check
    echo "$output" >&2
    assert_success
    # one line per pair: every stage but the first
    assert_equal "$(($(wc -l <<<"$output") - 1))" "$(($(stage_list | wc -l) - 1))"
    assert_equal "$(stage_list | sort | uniq -d)" ""
}

@test "diffs: the check fails when a diff is bigger than its budget (a budget lowered by one)" {
    local stage=02-non-blocking/01-accept-eagain n
    n=$(bash scripts/diff.sh --count "$stage")
    [ "$n" -ge 1 ]
    awk -v s="$stage" -v b="$((n - 1))" '$1 == s { $2 = b } { print }' "$STAGE_LIST" >"$LIB_TMP/stages.txt"
    STAGE_LIST=$LIB_TMP/stages.txt run bash scripts/diff.sh --check
    assert_failure 1
    [[ $output == *"$stage"*"OVER"* ]]
}

@test "diffs: the check fails when a stage is missing from the list, or listed but absent" {
    grep -v '^03-selectors/03-poll-lines ' "$STAGE_LIST" >"$LIB_TMP/stages.txt"
    STAGE_LIST=$LIB_TMP/stages.txt run bash scripts/diff.sh --check
    assert_failure 1
    assert_output --partial "03-poll-lines.c is not in"
    { cat "$STAGE_LIST"; echo "09-nowhere/01-nothing 1"; } >"$LIB_TMP/stages.txt"
    STAGE_LIST=$LIB_TMP/stages.txt run bash scripts/diff.sh --check
    assert_failure 1
    assert_output --partial "no chapters/chapter-03/09-nowhere/01-nothing.c"
}

@test "diffs: 01-04 -> 02-01 is exactly the two set_nonblocking() calls of the notes" {
    run make -s --no-print-directory diff STAGE=02-non-blocking/01-accept-eagain
    assert_success
    assert_equal "$(grep '^[-+][^-+]' <<<"$output")" \
        "$(printf '%s\n' '+    set_nonblocking(server_socket);' '+            set_nonblocking(fd);')"
    [[ ${lines[0]} == "02-non-blocking/01-accept-eagain against 01-blocking/04-many-clients: 2 code lines change (budget 2)" ]]
}

@test "diffs: make diff works for every stage (by full or short name); FULL=1 shows the comments" {
    local stage prev="" out
    read_counts
    while read -r stage; do
        # (scripts/diff.sh is what make diff runs: make itself is called below, once a case)
        out=$(bash scripts/diff.sh "${stage#*/}") || { echo "scripts/diff.sh $stage failed" >&2; return 1; }
        if [ -z "$prev" ]; then
            [[ $out == *"first stage"* ]]
        else
            [[ ${out%%$'\n'*} == "$stage against $(base_of "$stage" "$prev"): ${COUNT[$stage]} code lines change"* ]]
            ! grep -q '^[-+ ] *\(/\*\| \*\)' <<<"$out" || false # code only: no comment lines
        fi
        prev=$stage
    done < <(stage_list)
    out=$(make -s --no-print-directory diff STAGE=02-non-blocking/02-eagain-loop FULL=1)
    grep -q '^+.*flaw 2: a fresh, empty buffer' <<<"$out"
    run make -s --no-print-directory diff STAGE=no-such-stage
    assert_failure
    assert_output --partial "no stage 'no-such-stage'"
}

@test "diffs: each section's guide gives its stages' make diff command and true size" {
    # chapters/chapter-03/NN-section/README.md: the paragraph that gives `make diff STAGE=...`
    # says how many code lines it changes (the Spanish twin has the same numbers: docs.bats).
    local stage prev="" n guide para
    read_counts
    while read -r stage; do
        guide=chapters/chapter-03/${stage%%/*}/README.md
        para=$(awk -v want="\`make diff STAGE=$stage\`" 'index($0, want)' RS= "$guide")
        if [ -z "$para" ]; then
            echo "$guide should give \`make diff STAGE=$stage\`" >&2
            return 1
        fi
        n=${COUNT[$stage]}
        if [ -n "$prev" ] && ! [[ $para =~ (^|[^0-9])$n\ code\ lines ]]; then
            echo "$guide should say, where it gives \`make diff STAGE=$stage\`: $n code lines" >&2
            return 1
        fi
        prev=$stage
    done < <(stage_list)
}
