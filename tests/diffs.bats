#!/usr/bin/env bats
# Every diff is the lesson: each stage's code (comments and blank lines left out) changes no
# more against the stage before it than the budget written next to it in
# chapters/chapter-03/stages.txt, the one list of stages; `make diff` shows every one of them;
# the guide says, for each stage, the command and the size. scripts/diff.sh does the counting.
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

@test "diffs: the guides give each stage its make diff command and its true size" {
    # (the chapter's guide, or one guide per section: wherever a stage's command is written)
    local stage prev="" n guides=() said
    read_counts
    mapfile -t guides < <(ls chapters/chapter-03/README.md chapters/chapter-03/[0-9]*/README.md 2>/dev/null)
    while read -r stage; do
        said=$(grep -hF "\`make diff STAGE=$stage\`" "${guides[@]}") || {
            echo "no guide gives \`make diff STAGE=$stage\`" >&2
            return 1
        }
        if [ -z "$prev" ]; then
            grep -q 'first stage' <<<"$said"
        else
            n=${COUNT[$stage]}
            # every size said next to the command is the true one
            if grep -oE '[0-9]+ (code )?lines' <<<"$said" | grep -vqx "$n \(code \)\?lines"; then
                echo "the guides should say $n code lines for \`make diff STAGE=$stage\`: $said" >&2
                return 1
            fi
            grep -qE "\b$n (code )?lines" <<<"$said"
        fi
        prev=$stage
    done < <(stage_list)
}

@test "diffs: each budget is its lesson rounded up to 5 (exact under 10), never a copy of the count" {
    local stage budget n status=0
    read_counts
    while read -r stage budget _; do
        [[ $budget =~ ^[0-9]+$ ]] || continue
        n=${COUNT[$stage]}
        if [ "$budget" -lt 10 ]; then
            [ "$n" -eq "$budget" ] || { echo "$stage: budget $budget, diff $n: under 10, a budget is exact" >&2; status=1; }
        elif [ $((budget % 5)) -ne 0 ]; then
            echo "$stage: budget $budget is not rounded up to 5 (the diff is $n)" >&2
            status=1
        elif [ "$n" -gt "$budget" ] || [ $((budget - n)) -ge 5 ]; then
            echo "$stage: diff $n for a budget of $budget: over it, or 5 or more under it" >&2
            status=1
        fi
    done < <(sed 's/#.*//' "$STAGE_LIST" | awk 'NF')
    return "$status"
}

# code_of STAGE: its code only (what make diff compares).
code_of() { gcc -fpreprocessed -dD -E -P "chapters/chapter-03/$1.c"; }
# removed_and_added STAGE: the lines its diff removes (-) and adds (+), code only.
diff_lines() { make -s --no-print-directory diff STAGE="$1" | grep '^[-+][^-+]'; }

@test "diffs: 01-01 -> 01-02 is the reading and nothing else: the set-up stays as it was" {
    run diff_lines 01-blocking/02-recv-two-bytes
    # the one line it takes away is the first experiment's greeting, for the notes' own
    assert_equal "$(grep '^-' <<<"$output")" '-    printf("I got a connection from %s!\n", who);'
    [[ $output == *'+        ssize_t n = recv(connection, buffer + len, want, 0);'* ]]
    refute_output --partial listen_tcp
}

@test "diffs: 01-04 has no branch for what a blocking accept() never says (EAGAIN)" {
    run code_of 01-blocking/04-many-clients
    refute_output --partial ACCEPT_NOBODY
    refute_output --partial EAGAIN
    # ...and 02-01 still ends on it, as Python does: its diff is only the two calls (above),
    # the stop is accept_blocking()'s (common/net.c), tested in 02-non-blocking.bats
    run grep -c 'ACCEPT_NOBODY' common/net.c
    [ "$output" -ge 2 ]
}

@test "diffs: 02-02 -> 03-01 is the wait in select(), nothing that a later stage brings" {
    run diff_lines 03-selectors/01-select-wait
    for later in api_ raise_fd_limit accept_backoff_left connection_accept connection_read 1024 \
        RECV_SIZE refuse_client; do
        refute_output --partial "$later"
    done
    assert_output --partial '+        int ready = select(max_fd + 1, &readable, NULL, NULL, &timeout);'
    [ "$(grep -c '^-' <<<"$output")" -le 5 ] # it replaces almost nothing: it adds the wait
}

@test "diffs: 04-01 -> 04-02 is the shutdown: the boom handler comes with the callbacks" {
    run diff_lines 04-event-loop/02-graceful-shutdown
    refute_output --partial boom
    refute_output --partial handle_line
    assert_output --partial '+    catch_stop_signals();'
    run code_of 04-event-loop/01-callback-loop
    assert_output --partial 'connection_read(c, handle_line);'
}
