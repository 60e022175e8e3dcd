# tests/exercises/exercise.bash - loaded by every exercise check, tests/exercises/NN-name.bats.
#
# The program under test is chosen by variables, so the same checks run against a student's
# work (`make exercise N=3`), the reference solutions and the untouched starting files
# (tests/exercises.bats) and the wrong solutions of the mutation tests (scripts/mutants.sh):
#   EXERCISE_DIR      folder with the files under test; default: the student's folder,
#                     chapters/chapter-03/exercises/NN-name (the solutions are in .../solutions/)
#   EXERCISE_BIN      the binary under test; default: the one `make` builds from EXERCISE_DIR's .c
#   EXERCISE_WAIT     seconds to wait for something that should happen (default 5); the check
#                     that the starting files fail sets it low, since there it never happens.
#   EXERCISE_REPORTS  where the sanitizers write their reports (make exercise runs a build with
#                     ASan + UBSan, log_path=$EXERCISE_REPORTS/report): a report written during
#                     a check fails that check, with the line of the program it points at.
#
# Every failure says what was measured, in words: what was expected, what the program did, and
# what that means. Comparisons of output are labelled diffs (which side is which).

load ../helpers # (with bats-support: fail, a failure with a message; and bats-assert)

EXERCISE_NAME=$(basename "$BATS_TEST_FILENAME" .bats)
EXERCISES_ROOT=$LIB_ROOT/chapters/chapter-03/exercises
EXERCISE_DIR=${EXERCISE_DIR:-$EXERCISES_ROOT/$EXERCISE_NAME}
if [ -z "${EXERCISE_BIN:-}" ]; then
    _src=$(find "$EXERCISE_DIR" -maxdepth 1 -name '*.c' | head -n 1)
    EXERCISE_BIN=$BUILD_DIR/exercises/${EXERCISE_DIR#"$EXERCISES_ROOT"/}/$(basename "$_src" .c)
fi
WAIT=${EXERCISE_WAIT:-5}

# The program's name, as it writes it at the start of its error lines.
exercise_program() { basename "$EXERCISE_BIN"; }

# require_built: the program under test exists.
require_built() {
    [ -x "$EXERCISE_BIN" ] ||
        fail "setup: your program is not built: $EXERCISE_BIN (make exercise N=... builds it)"
}

# start_exercise [ARGS...]: start the program under test on $PORT_UNDER_TEST (see start_program)
# and wait until it listens.
start_exercise() {
    require_built || return 1
    if ! start_program "$(exercise_program)" "$PORT_UNDER_TEST" "$EXERCISE_BIN" "$@" 2>/dev/null; then
        fail "setup: waited 5 s for your program to listen on port $PORT_UNDER_TEST: it did not$(
            alive "$SERVER_PID" || echo " (it exited)"). Its stderr:
$(cat "$SERVER_ERR")"
        return 1
    fi
}

# teardown: stop everything, then fail the check if a sanitizer reported a bug meanwhile.
# (stop_all's `exec {fd}>&- 2>/dev/null` leaves this shell's stderr on /dev/null: keep a copy.)
teardown() {
    local saved
    exec {saved}>&2
    stop_all
    exec 2>&"$saved" {saved}>&-
    sanitizer_verdict
}

# sanitizer_verdict: if AddressSanitizer or UBSan wrote a report during this check, say what
# and where (the first frame in an exercise file), show the report's head, and fail.
sanitizer_verdict() {
    [ -n "${EXERCISE_REPORTS:-}" ] && [ -d "$EXERCISE_REPORTS" ] || return 0
    local report found=0
    mkdir -p "$EXERCISE_REPORTS/seen"
    for report in "$EXERCISE_REPORTS"/report.*; do
        [ -f "$report" ] || continue
        found=1
        {
            echo "your program stopped on a memory or undefined-behaviour error:"
            echo "  $(sanitizer_summary "$report")"
            echo "--- the sanitizer's report (head; in full: $EXERCISE_REPORTS/seen/${report##*/})"
            grep -v '^ *$' "$report" | head -n 14
        } >&2
        mv "$report" "$EXERCISE_REPORTS/seen/"
    done
    [ "$found" -eq 0 ] || fail "(a sanitizer report is a failure, whatever the check saw)"
}

# sanitizer_summary REPORT: "stack-buffer-overflow (READ of size 1) in find_crlf_end at
# crlf-anywhere.c:47", from an ASan or UBSan report.
sanitizer_summary() {
    awk '
        /ERROR: AddressSanitizer: / && !what { sub(/.*AddressSanitizer: /, ""); sub(/ on address.*/, ""); what = $0 }
        /^(READ|WRITE) of size/ && !access { access = $1 " of size " $4 }
        / runtime error: / && !what { where = $1; sub(/:$/, "", where); sub(/.*\//, "", where); sub(/.* runtime error: /, ""); what = $0 }
        /^ *#[0-9]+ / && /\.c:[0-9]+/ && !where {
            fn = ""; for (i = 1; i <= NF; i++) if ($i == "in") fn = $(i + 1)
            where = $NF; sub(/.*\//, "", where); if (fn != "") where = fn " at " where
        }
        END {
            if (!what) what = "see the report"
            printf "%s%s in %s\n", what, (access ? " (" access ")" : ""), (where ? where : "?")
        }' "$1"
}

# --- what was seen, in words ------------------------------------------------------------------

# bytes_text < DATA: DATA written as Python writes bytes, b'Hola\r\n' (NUL bytes included:
# read through od, never through a shell variable).
bytes_text() {
    od -An -v -tu1 | awk '
        { for (i = 1; i <= NF; i++) {
            c = $i + 0
            if (c == 13) s = s "\\r"; else if (c == 10) s = s "\\n"; else if (c == 9) s = s "\\t"
            else if (c == 92) s = s "\\\\"; else if (c == 39) s = s "\\'\''"
            else if (c >= 32 && c < 127) s = s sprintf("%c", c); else s = s sprintf("\\x%02x", c)
        } }
        END { printf "b'\''%s'\''", s }'
}

# received_text NAME: what client NAME has received, as bytes_text writes it: the first 120
# bytes, then how many in all.
received_text() {
    local file=$LIB_TMP/$1.out size
    size=$(stat -c %s "$file")
    if [ "$size" -eq 0 ]; then
        echo "nothing"
    elif [ "$size" -le 120 ]; then
        bytes_text <"$file"
    else
        echo "$(head -c 120 "$file" | bytes_text)... ($size bytes in all)"
    fi
}

# _client_got NAME DATA: client NAME has received exactly DATA (printf escapes), compared
# byte for byte (cmp: no "ignored null byte" warnings from a $(...) of binary data).
_client_got() { cmp -s <(printf '%b' "$2") "$LIB_TMP/$1.out"; }

# _client_settled NAME DATA: client NAME has received DATA, or something that is not the start
# of DATA (then waiting longer cannot make it right).
_client_settled() {
    local size
    size=$(stat -c %s "$LIB_TMP/$1.out")
    ! cmp -s -n "$size" <(printf '%b' "$2") "$LIB_TMP/$1.out" || _client_got "$1" "$2"
}

# expect_echo NAME DATA [WHY]: client NAME receives exactly DATA within $WAIT seconds.
expect_echo() {
    wait_until "$WAIT" _client_settled "$1" "$2" || true
    _client_got "$1" "$2" && return 0
    fail "client '$1': expected to receive $(printf '%b' "$2" | bytes_text) within $WAIT s, got $(received_text "$1")${3:+ ($3)}
$(server_said)"
}

# expect_only NAME DATA SECONDS WHY: after SECONDS more, client NAME has still received exactly
# DATA (printf escapes) in all: nothing more came.
expect_only() {
    sleep "$3"
    _client_got "$1" "$2" && return 0
    fail "client '$1' received $(received_text "$1") in all; expected only $(printf '%b' "$2" | bytes_text) after $3 s more ($4)
$(server_said)"
}

# server_said: the program's stdout (ports normalised) and stderr, labelled, for a failure.
server_said() {
    [ -n "${SERVER_OUT:-}" ] && [ -f "$SERVER_OUT" ] || return 0
    echo "--- your program's stdout (client ports written as PORT):"
    normalize_ports <"$SERVER_OUT" | head -n 40
    [ "$(wc -l <"$SERVER_OUT")" -le 40 ] || echo "... ($(wc -l <"$SERVER_OUT") lines in all)"
    if [ -s "$SERVER_ERR" ]; then
        echo "--- its stderr:"
        head -n 10 "$SERVER_ERR"
    fi
}

# labelled_diff EXPECTED-LABEL EXPECTED ACTUAL-LABEL ACTUAL: 0 if the texts are equal, else 1
# with a unified diff on stderr whose two sides say what they are.
labelled_diff() {
    [ "$2" = "$4" ] && return 0
    diff -u --label "$1" --label "$3" <(printf '%s\n' "$2") <(printf '%s\n' "$4") >&2 || true
    echo "(lines with - are only in the first, with + only in the second)" >&2
    return 1
}

# expect_server_lines WHY LINE...: the program's stdout so far (ports normalised) is exactly
# these lines; waits up to $WAIT seconds for the last one first.
expect_server_lines() {
    local why=$1
    shift
    wait_output "$SERVER_OUT" "${*: -1}" "$WAIT" || true
    local actual
    actual=$(normalize_ports <"$SERVER_OUT")
    labelled_diff "expected (what the finished program prints)" "$(printf '%s\n' "$@")" \
        "your program printed" "$actual" && return 0
    [ -s "$SERVER_ERR" ] && { echo "--- its stderr:"; head -n 10 "$SERVER_ERR"; } >&2
    fail "your program's output is not the expected one ($why)"
}

# await_server_line TEXT WHAT: setup step: wait up to $WAIT s for the program to print the
# line TEXT; WHAT says what that line means.
await_server_line() {
    wait_output "$SERVER_OUT" "$1" "$WAIT" && return 0
    fail "setup: waited $WAIT s for your program to print \"$1\" ($2): it did not
$(server_said)"
}

# measured_wrong WHAT EXPECTED GOT MEANING: fail with "WHAT: expected EXPECTED, got GOT (MEANING)".
measured_wrong() { fail "$1: expected $2, got $3 ($4)
$(server_said)"; }

# client_write NAME DATA: like client_send, but in ONE write(). Bash's own printf writes line by
# line, so 'Hola Mundo3\r\n\n' could reach the server as two pieces and be read differently
# from the document's echo -e | nc; the printf program writes its whole output at once.
client_write() {
    local v=CLIENT_FD_$1
    env printf '%b' "$2" >&"${!v}"
}

# expect_idle WHAT WHY: the program under test sleeps (in select(), poll()...) for the next
# 0.5 s: under 20% of a CPU, and scheduled at most twice. (The second half holds on a loaded
# machine too, where a spinning loop may get less than 20% of a CPU but is run again and again.)
expect_idle() {
    local hz t0 t1 r0 r1 cpu runs
    hz=$(getconf CLK_TCK)
    t0=$(cpu_ticks "$SERVER_PID") && read -r _ _ r0 <"/proc/$SERVER_PID/schedstat"
    sleep 0.5
    t1=$(cpu_ticks "$SERVER_PID") && read -r _ _ r1 <"/proc/$SERVER_PID/schedstat"
    cpu=$(((t1 - t0) * 100 * 2 / hz)) runs=$((r1 - r0))
    [ "$cpu" -lt 20 ] && [ "$runs" -le 2 ] && return 0
    measured_wrong "$1, over 0.5 s" "asleep: under 20% of a CPU, run at most twice" \
        "$cpu% of a CPU, run $runs times" "$2"
}

# open_fds: how many descriptors the program under test has open.
open_fds() { find "/proc/$SERVER_PID/fd" -mindepth 1 -maxdepth 1 | wc -l; }

# client_socket_modes: "FD:non-blocking" or "FD:blocking" for each socket the server holds
# other than its listening socket (the lowest socket descriptor), from O_NONBLOCK in
# /proc/PID/fdinfo.
client_socket_modes() {
    local fd link listener="" flags
    for fd in $(find "/proc/$SERVER_PID/fd" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -n); do
        link=$(readlink "/proc/$SERVER_PID/fd/$fd" 2>/dev/null) || continue
        [[ $link == socket:* ]] || continue
        [ -z "$listener" ] && { listener=$fd; continue; }
        flags=$(awk '/^flags:/ { print $2 }' "/proc/$SERVER_PID/fdinfo/$fd")
        if (((8#$flags & 8#4000) != 0)); then echo "$fd:non-blocking"; else echo "$fd:blocking"; fi
    done
}
