# tests/helpers.bash - loaded by every bats file: the shared library (scripts/lib.sh),
# bats-support and bats-assert (assert_equal, assert_output, assert_success...: Debian's, in
# /usr/lib/bats), and the assertions the tests share. One vocabulary for the whole suite:
#   start a server      start_server STAGE PORT [ARGS]   run_server (one that exits by itself)
#   drive clients       client_open NAME PORT, client_send NAME DATA, client_close, client_kill;
#                       send_line PORT DATA (a one-shot nc -N); ask PORT DATA EXPECTED
#   wait                wait_server_line TEXT, wait_client_output NAME DATA, wait_until S CMD
#   assert              assert_server_output LINE..., assert_client_received NAME DATA
#   look at a part      mark_output: from now on, the two server checks above look only at
#                       what the server prints after this point
#
# Every test gets its own free port ($PORT_UNDER_TEST) and temporary folder, and teardown
# kills whatever the test started, whether it passed or not; when a test fails, it also shows
# what the last server started printed.

# load_bats_library NAME: what bats_load_library NAME does, without running `dirname` once per
# file it sources (each test loads this file again: 15 processes a test). Sourcing the
# library's src/*.bash directly starts none. A library laid out otherwise goes through
# bats_load_library.
load_bats_library() {
    local dir dirs file
    IFS=: read -ra dirs <<<"${BATS_LIB_PATH:-/usr/lib/bats}"
    for dir in "${dirs[@]}"; do
        [ -f "$dir/$1/load.bash" ] && [ -d "$dir/$1/src" ] || continue
        for file in "$dir/$1"/src/*.bash; do
            # shellcheck disable=SC1090 # bats-support and bats-assert, found at run time
            source "$file"
        done
        return 0
    done
    bats_load_library "$1"
}
load_bats_library bats-support
load_bats_library bats-assert

# (found from this file, so bats files in subfolders such as tests/exercises/ can load it too)
# shellcheck source=../scripts/lib.sh
source "${BASH_SOURCE[0]%/*}/../scripts/lib.sh"

TOOLS_DIR=${TOOLS_DIR:-$BUILD_DIR/tools}

# Run straight from bats (not make test) before anything is built, every test would fail with
# "No such file": say it once, plainly, instead.
# (An exercise's checks need only the tools: make exercise builds those and the student's file.)
setup_file() {
    local needed=$BUILD_DIR/chapter-03/01-blocking/01-accept
    [[ $BATS_TEST_FILENAME == */tests/exercises/* ]] && needed=$TOOLS_DIR/misbehave
    if [ ! -x "$needed" ]; then
        echo "$needed is missing: build first with make (make test does both)" >&2
        return 1
    fi
}

setup() {
    LIB_TMP=$BATS_TEST_TMPDIR
    # shellcheck disable=SC2034 # the tests' port, read by the bats files
    PORT_UNDER_TEST=$(free_port)
}

teardown() {
    show_server_on_failure
    stop_all
}

# show_server_on_failure: in a teardown, after a failed test, print what the last server
# started ($SERVER_OUT, $SERVER_ERR) printed: the context of most failures.
show_server_on_failure() {
    [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -n "${SERVER_OUT:-}" ] && [ -f "$SERVER_OUT" ] || return 0
    echo "--- the server's stdout ($SERVER_OUT)" >&2
    cat "$SERVER_OUT" >&2
    echo "--- its stderr" >&2
    cat "$SERVER_ERR" >&2 2>/dev/null || true
}

# mark_output: the server checks below look only at what the server prints from now on (a
# test that plays several scenarios on one server checks each one's lines exactly).
# start_program sets the mark back to the start.
mark_output() { MARK=$(wc -l <"$SERVER_OUT"); }
# server_output: the server's stdout since the mark, client ports normalised.
server_output() { tail -n "+$((${MARK:-0} + 1))" "$SERVER_OUT" | normalize_ports; }

# assert_server_output LINE...: since the mark, the server printed exactly these lines; when
# not, a diff (< expected, > actual) comes first, to spot the line among many.
assert_server_output() {
    local actual expected
    actual=$(server_output)
    expected=$(printf '%s\n' "$@")
    if [ "$actual" != "$expected" ]; then
        echo "--- diff (< expected, > actual)" >&2
        diff <(printf '%s\n' "$expected") <(printf '%s\n' "$actual") >&2 || true
    fi
    assert_equal "$actual" "$expected"
}

# wait_server_line TEXT [SECONDS]: wait until the server has printed the line TEXT since the mark.
wait_server_line() {
    wait_until "${2:-5}" _server_printed "$1" || {
        echo "the server never printed: $1" >&2
        echo "its output:" >&2
        cat "$SERVER_OUT" "$SERVER_ERR" >&2
        return 1
    }
}
_server_printed() { server_output | grep -qxF -- "$1"; }

# assert_client_received NAME DATA: client NAME received exactly DATA (printf escapes), shown
# byte by byte (od -c) when it did not.
assert_client_received() {
    _file_is "$LIB_TMP/$1.out" "$2" ||
        assert_equal "$(od -An -c <"$LIB_TMP/$1.out")" "$(printf '%b' "$2" | od -An -c)"
}

# assert_no_errors: the server wrote nothing on stderr.
assert_no_errors() { [ ! -s "$SERVER_ERR" ] || assert_equal "$(cat "$SERVER_ERR")" ""; }

# last_server_line: the last line the server printed (ports normalised).
last_server_line() { tail -n 1 "$SERVER_OUT" | normalize_ports; }

# limit_to_one_client PID: lower PID's descriptor limit (prlimit) so that exactly one more
# descriptor can be opened: the lowest free number is allowed, the next one is not. (A
# process started by bats may hold a few inherited descriptors besides 0, 1, 2.)
limit_to_one_client() {
    local n=0
    while [ -e "/proc/$1/fd/$n" ]; do n=$((n + 1)); done
    prlimit --pid "$1" --nofile=$((n + 1)):$((n + 1))
}
