# tests/helpers.bash - loaded by every bats file: the shared library plus a few assertions.
#
# Every test gets its own free port ($PORT_UNDER_TEST) and temporary folder, and teardown
# kills whatever the test started, whether it passed or not.

# (found from this file, so bats files in subfolders such as tests/exercises/ can load it too)
# shellcheck source=../scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

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
    stop_all
}

# assert_equal EXPECTED ACTUAL: show both and a diff when they differ.
assert_equal() {
    if [ "$1" != "$2" ]; then
        printf -- '--- expected\n%s\n--- actual\n%s\n--- diff\n' "$1" "$2" >&2
        diff <(printf '%s\n' "$1") <(printf '%s\n' "$2") >&2 || true
        if [ -n "${SERVER_OUT:-}" ] && [ -f "$SERVER_OUT" ]; then
            echo "--- the server's stdout and stderr" >&2
            cat "$SERVER_OUT" "$SERVER_ERR" >&2
        fi
        return 1
    fi
}

# assert_server_output LINE...: the server's stdout so far, ports normalised, is exactly these lines.
assert_server_output() {
    local expected
    expected=$(printf '%s\n' "$@")
    assert_equal "$expected" "$(normalize_ports <"$SERVER_OUT")"
}

# assert_client_received NAME DATA: client NAME received exactly DATA (printf escapes).
assert_client_received() {
    local expected actual
    expected=$(printf '%b' "$2" | od -An -c)
    actual=$(od -An -c <"$LIB_TMP/$1.out")
    assert_equal "$expected" "$actual"
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
