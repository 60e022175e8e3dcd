# tests/helpers.bash - loaded by every bats file: the shared library, bats-support and
# bats-assert (assert_equal ACTUAL EXPECTED, assert_output, assert_line, assert_success...:
# Debian's bats-assert, in /usr/lib/bats), and a few assertions of our own built on them.
#
# Every test gets its own free port ($PORT_UNDER_TEST) and temporary folder, and teardown
# kills whatever the test started, whether it passed or not; when a test fails, it also shows
# what the last server started printed.

# load_bats_library NAME: what bats_load_library NAME does, without its cost. Every test runs in
# a process of its own that loads this file again, and bats_load_library's load.bash files run
# `dirname` once per file they source: 15 processes a test, 50 ms of CPU, 6 s of the suite.
# Sourcing the library's src/*.bash directly starts none (their order does not matter: they
# only define functions). A library laid out otherwise goes through bats_load_library.
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

# assert_server_output LINE...: the server's stdout so far, ports normalised, is exactly these
# lines; when not, a diff (< expected, > actual) comes first, to spot the line among many.
assert_server_output() {
    local actual expected
    actual=$(normalize_ports <"$SERVER_OUT")
    expected=$(printf '%s\n' "$@")
    if [ "$actual" != "$expected" ]; then
        echo "--- diff (< expected, > actual)" >&2
        diff <(printf '%s\n' "$expected") <(printf '%s\n' "$actual") >&2 || true
    fi
    assert_equal "$actual" "$expected"
}

# assert_client_received NAME DATA: client NAME received exactly DATA (printf escapes), shown
# byte by byte (od -c) when it did not.
assert_client_received() {
    _file_is "$LIB_TMP/$1.out" "$2" ||
        assert_equal "$(od -An -c <"$LIB_TMP/$1.out")" "$(printf '%b' "$2" | od -An -c)"
}

# wait_server_line TEXT [SECONDS]: wait until the server has printed the line TEXT.
wait_server_line() {
    wait_output "$SERVER_OUT" "$1" "${2:-5}" || {
        echo "the server never printed: $1" >&2
        echo "its output:" >&2
        cat "$SERVER_OUT" "$SERVER_ERR" >&2
        return 1
    }
}

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
