#!/usr/bin/env bats
# What the stages promise in common, checked stage by stage: one test per behaviour and stage,
# named "STAGE: behaviour", so a red line says which behaviour broke on which stage.
#
# Which stage has which behaviour is said once, in the table below; the stage list itself is
# chapters/chapter-03/stages.txt (a test checks that the two agree). Each test asks for one
# capability of the table (`behaves CAPABILITY CHECK`) and is skipped, saying so, on a stage
# that lacks it. Each behaviour has a test on every stage that could have it (emfile: every
# stage from 03-01 on; fd-setsize: both select stages; 03-01 has neither yet: it is 02-02 plus
# select(), and tests/03-selectors.bats checks what it does instead), so moving a capability from one stage
# to another is a change of the table alone. The checks themselves (behaves_*) are in
# tests/line-stages.bash, and below for the basics.

load helpers
load line-stages

#   server      a stage: the command line, the port, bind() (every stage)
#   listens     it stays up, listening (01-accept-eagain dies at its first accept())
#   lines       it echoes \r\n-framed lines to many clients at once (tests/line-stages.bash)
#   emfile      out of descriptors, it pauses accepting and serves the others
#   fd-limit-at-start   (with emfile) it reads its descriptor limit when it starts, so the
#               test lowers it from the start (io_uring: when the multishot accept is prepared)
#   fd-setsize  it watches its sockets with select(): clients past FD_SETSIZE are refused
STAGE_TABLE='
01-blocking/01-accept                server listens
01-blocking/02-recv-two-bytes        server listens
01-blocking/03-read-and-write        server listens
01-blocking/04-many-clients          server listens
02-non-blocking/01-accept-eagain     server
02-non-blocking/02-eagain-loop       server listens
03-selectors/01-select-wait          server listens
03-selectors/02-select-lines         server listens lines emfile fd-setsize
03-selectors/03-poll-lines           server listens lines emfile
03-selectors/04-epoll-lines          server listens lines emfile
04-event-loop/01-callback-loop       server listens lines emfile
04-event-loop/02-graceful-shutdown   server listens lines emfile
05-other-roads/01-fork-per-client    server listens lines
05-other-roads/02-thread-per-client  server listens lines emfile fd-limit-at-start
05-other-roads/03-io-uring-lines     server listens lines emfile fd-limit-at-start
'

# has STAGE CAPABILITY: the table gives STAGE that capability.
has() {
    local stage capabilities
    while read -r stage capabilities; do
        [ "$stage" = "$1" ] && [[ " $capabilities " == *" $2 "* ]] && return 0
    done <<<"$STAGE_TABLE"
    return 1
}

# behaves CAPABILITY CHECK: run behaves_CHECK on the test's stage (its name up to the first
# ':'), unless the stage lacks CAPABILITY or was not built: then the test is skipped, saying why.
behaves() {
    STAGE=${BATS_TEST_DESCRIPTION%%:*}
    has "$STAGE" "$1" || skip "$STAGE: not '$1' in the table of tests/all-stages.bats"
    [ -x "$(stage_bin "$STAGE")" ] || skip "$STAGE was not built (make says why: liburing-dev?)"
    # shellcheck disable=SC2034 # (read by behaves_out_of_descriptors)
    LIMIT_AT_START=0
    has "$STAGE" fd-limit-at-start && LIMIT_AT_START=1
    "behaves_$2"
}

@test "the table of tests/all-stages.bats lists every stage of stages.txt, in order" {
    assert_equal "$(awk 'NF { print $1 }' <<<"$STAGE_TABLE")" "$(stage_list)"
}

# --- the basics, on every stage ----------------------------------------------------------------

behaves_command_line() {
    local bad
    run "$(stage_bin "$STAGE")" -h
    assert_success
    assert_output "usage: ${STAGE#*/} [-q] [PORT]   (PORT: argument, else \$PORT, else 8000)"
    for bad in 0 65536 abc 80x -1 ' 80' +80 99999999999999999999; do
        run_server "$STAGE" "$bad"
        assert_equal "$bad: $SERVER_STATUS $(cat "$SERVER_ERR")" \
            "$bad: 2 ${STAGE#*/}: invalid port '$bad': expected a whole number from 1 to 65535"
    done
    PORT=abc run "$(stage_bin "$STAGE")"
    assert_failure 2
    assert_output "${STAGE#*/}: invalid port 'abc' (from \$PORT): expected a whole number from 1 to 65535"
}

behaves_port_in_use() {
    start_program holder "$PORT_UNDER_TEST" nc -l 127.0.0.1 # (nc: any listener will do)
    run_server "$STAGE" "$PORT_UNDER_TEST"
    assert_equal "$SERVER_STATUS" 1
    assert_equal "$(cat "$SERVER_ERR")" "${STAGE#*/}: bind: Address already in use (errno 98, EADDRINUSE)"
    assert_equal "$(cat "$SERVER_OUT")" ""
}

# start_from_env: start the stage with its port in $PORT and no argument (sh -c 'exec "$0"'
# drops the port that start_program adds), and SIGPIPE at its default action: an ignored signal
# stays ignored across exec, so a runner that ignores it would hide a stage that does not.
start_from_env() {
    env --default-signal=PIPE true 2>/dev/null || skip "needs env --default-signal (coreutils 8.31)"
    start_program "${STAGE//\//_}" "$PORT_UNDER_TEST" \
        env --default-signal=PIPE PORT="$PORT_UNDER_TEST" sh -c 'exec "$0"' "$(stage_bin "$STAGE")"
}

behaves_listens_on_localhost() {
    start_from_env
    assert_equal "$(ss -Hltn "( sport = :$PORT_UNDER_TEST )" | awk '{ print $4 }')" "127.0.0.1:$PORT_UNDER_TEST"
}

behaves_ignores_sigpipe() {
    local ignored
    start_from_env
    # SigIgn: the mask of ignored signals, in hex; SIGPIPE is signal 13, bit 0x1000
    proc_field ignored "$SERVER_PID" SigIgn
    (( 16#$ignored & 0x1000 )) || { echo "SigIgn is $ignored: SIGPIPE is not ignored" >&2; false; }
}

@test "01-blocking/04-many-clients: with no argument and no \$PORT, it listens on port 8000" {
    port_in_use 8000 && skip "port 8000 is in use on this machine"
    env -u PORT "$(stage_bin 01-blocking/04-many-clients)" >"$LIB_TMP/default.out" 2>"$LIB_TMP/default.err" 3>&- &
    pid=$!
    LIB_PIDS+=("$pid")
    # its own line, not someone else's listener (another suite on this machine may take 8000
    # between the look above and our bind: then it says so, and this test cannot tell)
    wait_until 5 eval '[ -s "$LIB_TMP/default.out" ] || _dead "$pid"'
    grep -q EADDRINUSE "$LIB_TMP/default.err" && skip "port 8000 was taken meanwhile"
    assert_equal "$(cat "$LIB_TMP/default.out")" "Listo para recibir mensajes!"
    assert_equal "$(ss -Hltnp "( sport = :8000 )" | grep -c "pid=$pid,")" 1
}

# --- Every stage: what every server promises ----------------------------------------------

@test "01-blocking/01-accept: -h prints the usage; a bad port, as argument or in \$PORT, is refused in one line, exit 2" { behaves server command_line; }
@test "01-blocking/02-recv-two-bytes: -h prints the usage; a bad port, as argument or in \$PORT, is refused in one line, exit 2" { behaves server command_line; }
@test "01-blocking/03-read-and-write: -h prints the usage; a bad port, as argument or in \$PORT, is refused in one line, exit 2" { behaves server command_line; }
@test "01-blocking/04-many-clients: -h prints the usage; a bad port, as argument or in \$PORT, is refused in one line, exit 2" { behaves server command_line; }
@test "02-non-blocking/01-accept-eagain: -h prints the usage; a bad port, as argument or in \$PORT, is refused in one line, exit 2" { behaves server command_line; }
@test "02-non-blocking/02-eagain-loop: -h prints the usage; a bad port, as argument or in \$PORT, is refused in one line, exit 2" { behaves server command_line; }
@test "03-selectors/01-select-wait: -h prints the usage; a bad port, as argument or in \$PORT, is refused in one line, exit 2" { behaves server command_line; }
@test "03-selectors/02-select-lines: -h prints the usage; a bad port, as argument or in \$PORT, is refused in one line, exit 2" { behaves server command_line; }
@test "03-selectors/03-poll-lines: -h prints the usage; a bad port, as argument or in \$PORT, is refused in one line, exit 2" { behaves server command_line; }
@test "03-selectors/04-epoll-lines: -h prints the usage; a bad port, as argument or in \$PORT, is refused in one line, exit 2" { behaves server command_line; }
@test "04-event-loop/01-callback-loop: -h prints the usage; a bad port, as argument or in \$PORT, is refused in one line, exit 2" { behaves server command_line; }
@test "04-event-loop/02-graceful-shutdown: -h prints the usage; a bad port, as argument or in \$PORT, is refused in one line, exit 2" { behaves server command_line; }
@test "05-other-roads/01-fork-per-client: -h prints the usage; a bad port, as argument or in \$PORT, is refused in one line, exit 2" { behaves server command_line; }
@test "05-other-roads/02-thread-per-client: -h prints the usage; a bad port, as argument or in \$PORT, is refused in one line, exit 2" { behaves server command_line; }
@test "05-other-roads/03-io-uring-lines: -h prints the usage; a bad port, as argument or in \$PORT, is refused in one line, exit 2" { behaves server command_line; }

@test "01-blocking/01-accept: a port in use: bind fails with one clear line, nothing on stdout, exit 1" { behaves server port_in_use; }
@test "01-blocking/02-recv-two-bytes: a port in use: bind fails with one clear line, nothing on stdout, exit 1" { behaves server port_in_use; }
@test "01-blocking/03-read-and-write: a port in use: bind fails with one clear line, nothing on stdout, exit 1" { behaves server port_in_use; }
@test "01-blocking/04-many-clients: a port in use: bind fails with one clear line, nothing on stdout, exit 1" { behaves server port_in_use; }
@test "02-non-blocking/01-accept-eagain: a port in use: bind fails with one clear line, nothing on stdout, exit 1" { behaves server port_in_use; }
@test "02-non-blocking/02-eagain-loop: a port in use: bind fails with one clear line, nothing on stdout, exit 1" { behaves server port_in_use; }
@test "03-selectors/01-select-wait: a port in use: bind fails with one clear line, nothing on stdout, exit 1" { behaves server port_in_use; }
@test "03-selectors/02-select-lines: a port in use: bind fails with one clear line, nothing on stdout, exit 1" { behaves server port_in_use; }
@test "03-selectors/03-poll-lines: a port in use: bind fails with one clear line, nothing on stdout, exit 1" { behaves server port_in_use; }
@test "03-selectors/04-epoll-lines: a port in use: bind fails with one clear line, nothing on stdout, exit 1" { behaves server port_in_use; }
@test "04-event-loop/01-callback-loop: a port in use: bind fails with one clear line, nothing on stdout, exit 1" { behaves server port_in_use; }
@test "04-event-loop/02-graceful-shutdown: a port in use: bind fails with one clear line, nothing on stdout, exit 1" { behaves server port_in_use; }
@test "05-other-roads/01-fork-per-client: a port in use: bind fails with one clear line, nothing on stdout, exit 1" { behaves server port_in_use; }
@test "05-other-roads/02-thread-per-client: a port in use: bind fails with one clear line, nothing on stdout, exit 1" { behaves server port_in_use; }
@test "05-other-roads/03-io-uring-lines: a port in use: bind fails with one clear line, nothing on stdout, exit 1" { behaves server port_in_use; }

@test "01-blocking/01-accept: listens on 127.0.0.1 only, on \$PORT when there is no argument" { behaves listens listens_on_localhost; }
@test "01-blocking/02-recv-two-bytes: listens on 127.0.0.1 only, on \$PORT when there is no argument" { behaves listens listens_on_localhost; }
@test "01-blocking/03-read-and-write: listens on 127.0.0.1 only, on \$PORT when there is no argument" { behaves listens listens_on_localhost; }
@test "01-blocking/04-many-clients: listens on 127.0.0.1 only, on \$PORT when there is no argument" { behaves listens listens_on_localhost; }
@test "02-non-blocking/01-accept-eagain: listens on 127.0.0.1 only, on \$PORT when there is no argument" { behaves listens listens_on_localhost; }
@test "02-non-blocking/02-eagain-loop: listens on 127.0.0.1 only, on \$PORT when there is no argument" { behaves listens listens_on_localhost; }
@test "03-selectors/01-select-wait: listens on 127.0.0.1 only, on \$PORT when there is no argument" { behaves listens listens_on_localhost; }
@test "03-selectors/02-select-lines: listens on 127.0.0.1 only, on \$PORT when there is no argument" { behaves listens listens_on_localhost; }
@test "03-selectors/03-poll-lines: listens on 127.0.0.1 only, on \$PORT when there is no argument" { behaves listens listens_on_localhost; }
@test "03-selectors/04-epoll-lines: listens on 127.0.0.1 only, on \$PORT when there is no argument" { behaves listens listens_on_localhost; }
@test "04-event-loop/01-callback-loop: listens on 127.0.0.1 only, on \$PORT when there is no argument" { behaves listens listens_on_localhost; }
@test "04-event-loop/02-graceful-shutdown: listens on 127.0.0.1 only, on \$PORT when there is no argument" { behaves listens listens_on_localhost; }
@test "05-other-roads/01-fork-per-client: listens on 127.0.0.1 only, on \$PORT when there is no argument" { behaves listens listens_on_localhost; }
@test "05-other-roads/02-thread-per-client: listens on 127.0.0.1 only, on \$PORT when there is no argument" { behaves listens listens_on_localhost; }
@test "05-other-roads/03-io-uring-lines: listens on 127.0.0.1 only, on \$PORT when there is no argument" { behaves listens listens_on_localhost; }

@test "01-blocking/01-accept: ignores SIGPIPE, as Python does: a client that vanishes cannot kill it" { behaves listens ignores_sigpipe; }
@test "01-blocking/02-recv-two-bytes: ignores SIGPIPE, as Python does: a client that vanishes cannot kill it" { behaves listens ignores_sigpipe; }
@test "01-blocking/03-read-and-write: ignores SIGPIPE, as Python does: a client that vanishes cannot kill it" { behaves listens ignores_sigpipe; }
@test "01-blocking/04-many-clients: ignores SIGPIPE, as Python does: a client that vanishes cannot kill it" { behaves listens ignores_sigpipe; }
@test "02-non-blocking/01-accept-eagain: ignores SIGPIPE, as Python does: a client that vanishes cannot kill it" { behaves listens ignores_sigpipe; }
@test "02-non-blocking/02-eagain-loop: ignores SIGPIPE, as Python does: a client that vanishes cannot kill it" { behaves listens ignores_sigpipe; }
@test "03-selectors/01-select-wait: ignores SIGPIPE, as Python does: a client that vanishes cannot kill it" { behaves listens ignores_sigpipe; }
@test "03-selectors/02-select-lines: ignores SIGPIPE, as Python does: a client that vanishes cannot kill it" { behaves listens ignores_sigpipe; }
@test "03-selectors/03-poll-lines: ignores SIGPIPE, as Python does: a client that vanishes cannot kill it" { behaves listens ignores_sigpipe; }
@test "03-selectors/04-epoll-lines: ignores SIGPIPE, as Python does: a client that vanishes cannot kill it" { behaves listens ignores_sigpipe; }
@test "04-event-loop/01-callback-loop: ignores SIGPIPE, as Python does: a client that vanishes cannot kill it" { behaves listens ignores_sigpipe; }
@test "04-event-loop/02-graceful-shutdown: ignores SIGPIPE, as Python does: a client that vanishes cannot kill it" { behaves listens ignores_sigpipe; }
@test "05-other-roads/01-fork-per-client: ignores SIGPIPE, as Python does: a client that vanishes cannot kill it" { behaves listens ignores_sigpipe; }
@test "05-other-roads/02-thread-per-client: ignores SIGPIPE, as Python does: a client that vanishes cannot kill it" { behaves listens ignores_sigpipe; }
@test "05-other-roads/03-io-uring-lines: ignores SIGPIPE, as Python does: a client that vanishes cannot kill it" { behaves listens ignores_sigpipe; }

# --- The line stages: framing -------------------------------------------------------------

@test "03-selectors/02-select-lines: a line sent in two pieces is echoed once, whole" { behaves lines pieces; }
@test "03-selectors/03-poll-lines: a line sent in two pieces is echoed once, whole" { behaves lines pieces; }
@test "03-selectors/04-epoll-lines: a line sent in two pieces is echoed once, whole" { behaves lines pieces; }
@test "04-event-loop/01-callback-loop: a line sent in two pieces is echoed once, whole" { behaves lines pieces; }
@test "04-event-loop/02-graceful-shutdown: a line sent in two pieces is echoed once, whole" { behaves lines pieces; }
@test "05-other-roads/01-fork-per-client: a line sent in two pieces is echoed once, whole" { behaves lines pieces; }
@test "05-other-roads/02-thread-per-client: a line sent in two pieces is echoed once, whole" { behaves lines pieces; }
@test "05-other-roads/03-io-uring-lines: a line sent in two pieces is echoed once, whole" { behaves lines pieces; }

@test "03-selectors/02-select-lines: two lines in one write are two echoes, in order" { behaves lines two_lines; }
@test "03-selectors/03-poll-lines: two lines in one write are two echoes, in order" { behaves lines two_lines; }
@test "03-selectors/04-epoll-lines: two lines in one write are two echoes, in order" { behaves lines two_lines; }
@test "04-event-loop/01-callback-loop: two lines in one write are two echoes, in order" { behaves lines two_lines; }
@test "04-event-loop/02-graceful-shutdown: two lines in one write are two echoes, in order" { behaves lines two_lines; }
@test "05-other-roads/01-fork-per-client: two lines in one write are two echoes, in order" { behaves lines two_lines; }
@test "05-other-roads/02-thread-per-client: two lines in one write are two echoes, in order" { behaves lines two_lines; }
@test "05-other-roads/03-io-uring-lines: two lines in one write are two echoes, in order" { behaves lines two_lines; }

@test "03-selectors/02-select-lines: the notes' 'Hola Mundo3\\r\\n\\n' is echoed; the lone \\n is no line" { behaves lines notes_case; }
@test "03-selectors/03-poll-lines: the notes' 'Hola Mundo3\\r\\n\\n' is echoed; the lone \\n is no line" { behaves lines notes_case; }
@test "03-selectors/04-epoll-lines: the notes' 'Hola Mundo3\\r\\n\\n' is echoed; the lone \\n is no line" { behaves lines notes_case; }
@test "04-event-loop/01-callback-loop: the notes' 'Hola Mundo3\\r\\n\\n' is echoed; the lone \\n is no line" { behaves lines notes_case; }
@test "04-event-loop/02-graceful-shutdown: the notes' 'Hola Mundo3\\r\\n\\n' is echoed; the lone \\n is no line" { behaves lines notes_case; }
@test "05-other-roads/01-fork-per-client: the notes' 'Hola Mundo3\\r\\n\\n' is echoed; the lone \\n is no line" { behaves lines notes_case; }
@test "05-other-roads/02-thread-per-client: the notes' 'Hola Mundo3\\r\\n\\n' is echoed; the lone \\n is no line" { behaves lines notes_case; }
@test "05-other-roads/03-io-uring-lines: the notes' 'Hola Mundo3\\r\\n\\n' is echoed; the lone \\n is no line" { behaves lines notes_case; }

@test "03-selectors/02-select-lines: binary and NUL bytes are echoed intact, printed as Python does" { behaves lines binary; }
@test "03-selectors/03-poll-lines: binary and NUL bytes are echoed intact, printed as Python does" { behaves lines binary; }
@test "03-selectors/04-epoll-lines: binary and NUL bytes are echoed intact, printed as Python does" { behaves lines binary; }
@test "04-event-loop/01-callback-loop: binary and NUL bytes are echoed intact, printed as Python does" { behaves lines binary; }
@test "04-event-loop/02-graceful-shutdown: binary and NUL bytes are echoed intact, printed as Python does" { behaves lines binary; }
@test "05-other-roads/01-fork-per-client: binary and NUL bytes are echoed intact, printed as Python does" { behaves lines binary; }
@test "05-other-roads/02-thread-per-client: binary and NUL bytes are echoed intact, printed as Python does" { behaves lines binary; }
@test "05-other-roads/03-io-uring-lines: binary and NUL bytes are echoed intact, printed as Python does" { behaves lines binary; }

# --- The line stages: clients that misbehave ----------------------------------------------

@test "03-selectors/02-select-lines: an idle client delays nobody" { behaves lines idle_delays_nobody; }
@test "03-selectors/03-poll-lines: an idle client delays nobody" { behaves lines idle_delays_nobody; }
@test "03-selectors/04-epoll-lines: an idle client delays nobody" { behaves lines idle_delays_nobody; }
@test "04-event-loop/01-callback-loop: an idle client delays nobody" { behaves lines idle_delays_nobody; }
@test "04-event-loop/02-graceful-shutdown: an idle client delays nobody" { behaves lines idle_delays_nobody; }
@test "05-other-roads/01-fork-per-client: an idle client delays nobody" { behaves lines idle_delays_nobody; }
@test "05-other-roads/02-thread-per-client: an idle client delays nobody" { behaves lines idle_delays_nobody; }
@test "05-other-roads/03-io-uring-lines: an idle client delays nobody" { behaves lines idle_delays_nobody; }

@test "03-selectors/02-select-lines: a client that leaves mid-line: that line is dropped, nobody harmed" { behaves lines mid_line_leave; }
@test "03-selectors/03-poll-lines: a client that leaves mid-line: that line is dropped, nobody harmed" { behaves lines mid_line_leave; }
@test "03-selectors/04-epoll-lines: a client that leaves mid-line: that line is dropped, nobody harmed" { behaves lines mid_line_leave; }
@test "04-event-loop/01-callback-loop: a client that leaves mid-line: that line is dropped, nobody harmed" { behaves lines mid_line_leave; }
@test "04-event-loop/02-graceful-shutdown: a client that leaves mid-line: that line is dropped, nobody harmed" { behaves lines mid_line_leave; }
@test "05-other-roads/01-fork-per-client: a client that leaves mid-line: that line is dropped, nobody harmed" { behaves lines mid_line_leave; }
@test "05-other-roads/02-thread-per-client: a client that leaves mid-line: that line is dropped, nobody harmed" { behaves lines mid_line_leave; }
@test "05-other-roads/03-io-uring-lines: a client that leaves mid-line: that line is dropped, nobody harmed" { behaves lines mid_line_leave; }

@test "03-selectors/02-select-lines: a client that resets: one calm line, nothing on stderr" { behaves lines reset; }
@test "03-selectors/03-poll-lines: a client that resets: one calm line, nothing on stderr" { behaves lines reset; }
@test "03-selectors/04-epoll-lines: a client that resets: one calm line, nothing on stderr" { behaves lines reset; }
@test "04-event-loop/01-callback-loop: a client that resets: one calm line, nothing on stderr" { behaves lines reset; }
@test "04-event-loop/02-graceful-shutdown: a client that resets: one calm line, nothing on stderr" { behaves lines reset; }
@test "05-other-roads/01-fork-per-client: a client that resets: one calm line, nothing on stderr" { behaves lines reset; }
@test "05-other-roads/02-thread-per-client: a client that resets: one calm line, nothing on stderr" { behaves lines reset; }
@test "05-other-roads/03-io-uring-lines: a client that resets: one calm line, nothing on stderr" { behaves lines reset; }

# --- The line stages: line length ---------------------------------------------------------

@test "03-selectors/02-select-lines: 1024 bytes with \\r\\n is a line, even with a pause before the \\n" { behaves lines longest_line; }
@test "03-selectors/03-poll-lines: 1024 bytes with \\r\\n is a line, even with a pause before the \\n" { behaves lines longest_line; }
@test "03-selectors/04-epoll-lines: 1024 bytes with \\r\\n is a line, even with a pause before the \\n" { behaves lines longest_line; }
@test "04-event-loop/01-callback-loop: 1024 bytes with \\r\\n is a line, even with a pause before the \\n" { behaves lines longest_line; }
@test "04-event-loop/02-graceful-shutdown: 1024 bytes with \\r\\n is a line, even with a pause before the \\n" { behaves lines longest_line; }
@test "05-other-roads/01-fork-per-client: 1024 bytes with \\r\\n is a line, even with a pause before the \\n" { behaves lines longest_line; }
@test "05-other-roads/02-thread-per-client: 1024 bytes with \\r\\n is a line, even with a pause before the \\n" { behaves lines longest_line; }
@test "05-other-roads/03-io-uring-lines: 1024 bytes with \\r\\n is a line, even with a pause before the \\n" { behaves lines longest_line; }

@test "03-selectors/02-select-lines: 1025 bytes without \\r\\n: an error line, then closed" { behaves lines too_long_line; }
@test "03-selectors/03-poll-lines: 1025 bytes without \\r\\n: an error line, then closed" { behaves lines too_long_line; }
@test "03-selectors/04-epoll-lines: 1025 bytes without \\r\\n: an error line, then closed" { behaves lines too_long_line; }
@test "04-event-loop/01-callback-loop: 1025 bytes without \\r\\n: an error line, then closed" { behaves lines too_long_line; }
@test "04-event-loop/02-graceful-shutdown: 1025 bytes without \\r\\n: an error line, then closed" { behaves lines too_long_line; }
@test "05-other-roads/01-fork-per-client: 1025 bytes without \\r\\n: an error line, then closed" { behaves lines too_long_line; }
@test "05-other-roads/02-thread-per-client: 1025 bytes without \\r\\n: an error line, then closed" { behaves lines too_long_line; }
@test "05-other-roads/03-io-uring-lines: 1025 bytes without \\r\\n: an error line, then closed" { behaves lines too_long_line; }

@test "03-selectors/02-select-lines: an endless line (1 MB): an error line, memory bounded" { behaves lines endless_line; }
@test "03-selectors/03-poll-lines: an endless line (1 MB): an error line, memory bounded" { behaves lines endless_line; }
@test "03-selectors/04-epoll-lines: an endless line (1 MB): an error line, memory bounded" { behaves lines endless_line; }
@test "04-event-loop/01-callback-loop: an endless line (1 MB): an error line, memory bounded" { behaves lines endless_line; }
@test "04-event-loop/02-graceful-shutdown: an endless line (1 MB): an error line, memory bounded" { behaves lines endless_line; }
@test "05-other-roads/01-fork-per-client: an endless line (1 MB): an error line, memory bounded" { behaves lines endless_line; }
@test "05-other-roads/02-thread-per-client: an endless line (1 MB): an error line, memory bounded" { behaves lines endless_line; }
@test "05-other-roads/03-io-uring-lines: an endless line (1 MB): an error line, memory bounded" { behaves lines endless_line; }

@test "03-selectors/02-select-lines: a dropped client that goes on sending, even slowly, is closed after 1 s" { behaves lines trickle_closed; }
@test "03-selectors/03-poll-lines: a dropped client that goes on sending, even slowly, is closed after 1 s" { behaves lines trickle_closed; }
@test "03-selectors/04-epoll-lines: a dropped client that goes on sending, even slowly, is closed after 1 s" { behaves lines trickle_closed; }
@test "04-event-loop/01-callback-loop: a dropped client that goes on sending, even slowly, is closed after 1 s" { behaves lines trickle_closed; }
@test "04-event-loop/02-graceful-shutdown: a dropped client that goes on sending, even slowly, is closed after 1 s" { behaves lines trickle_closed; }
@test "05-other-roads/01-fork-per-client: a dropped client that goes on sending, even slowly, is closed after 1 s" { behaves lines trickle_closed; }
@test "05-other-roads/02-thread-per-client: a dropped client that goes on sending, even slowly, is closed after 1 s" { behaves lines trickle_closed; }
@test "05-other-roads/03-io-uring-lines: a dropped client that goes on sending, even slowly, is closed after 1 s" { behaves lines trickle_closed; }

# --- The line stages under load -----------------------------------------------------------

@test "03-selectors/02-select-lines: a client that never reads: its replies pile up, memory bounded, others served" { behaves lines never_reads; }
@test "03-selectors/03-poll-lines: a client that never reads: its replies pile up, memory bounded, others served" { behaves lines never_reads; }
@test "03-selectors/04-epoll-lines: a client that never reads: its replies pile up, memory bounded, others served" { behaves lines never_reads; }
@test "04-event-loop/01-callback-loop: a client that never reads: its replies pile up, memory bounded, others served" { behaves lines never_reads; }
@test "04-event-loop/02-graceful-shutdown: a client that never reads: its replies pile up, memory bounded, others served" { behaves lines never_reads; }
@test "05-other-roads/01-fork-per-client: a client that never reads: its replies pile up, memory bounded, others served" { behaves lines never_reads; }
@test "05-other-roads/02-thread-per-client: a client that never reads: its replies pile up, memory bounded, others served" { behaves lines never_reads; }
@test "05-other-roads/03-io-uring-lines: a client that never reads: its replies pile up, memory bounded, others served" { behaves lines never_reads; }

@test "03-selectors/02-select-lines: a slow reader gets 8 MB of echoes, intact and in order" { behaves lines slow_reader; }
@test "03-selectors/03-poll-lines: a slow reader gets 8 MB of echoes, intact and in order" { behaves lines slow_reader; }
@test "03-selectors/04-epoll-lines: a slow reader gets 8 MB of echoes, intact and in order" { behaves lines slow_reader; }
@test "04-event-loop/01-callback-loop: a slow reader gets 8 MB of echoes, intact and in order" { behaves lines slow_reader; }
@test "04-event-loop/02-graceful-shutdown: a slow reader gets 8 MB of echoes, intact and in order" { behaves lines slow_reader; }
@test "05-other-roads/01-fork-per-client: a slow reader gets 8 MB of echoes, intact and in order" { behaves lines slow_reader; }
@test "05-other-roads/02-thread-per-client: a slow reader gets 8 MB of echoes, intact and in order" { behaves lines slow_reader; }
@test "05-other-roads/03-io-uring-lines: a slow reader gets 8 MB of echoes, intact and in order" { behaves lines slow_reader; }

@test "03-selectors/02-select-lines: 200 clients at once, lines in pieces: every line intact and in order" { behaves lines 200_clients; }
@test "03-selectors/03-poll-lines: 200 clients at once, lines in pieces: every line intact and in order" { behaves lines 200_clients; }
@test "03-selectors/04-epoll-lines: 200 clients at once, lines in pieces: every line intact and in order" { behaves lines 200_clients; }
@test "04-event-loop/01-callback-loop: 200 clients at once, lines in pieces: every line intact and in order" { behaves lines 200_clients; }
@test "04-event-loop/02-graceful-shutdown: 200 clients at once, lines in pieces: every line intact and in order" { behaves lines 200_clients; }
@test "05-other-roads/01-fork-per-client: 200 clients at once, lines in pieces: every line intact and in order" { behaves lines 200_clients; }
@test "05-other-roads/02-thread-per-client: 200 clients at once, lines in pieces: every line intact and in order" { behaves lines 200_clients; }
@test "05-other-roads/03-io-uring-lines: 200 clients at once, lines in pieces: every line intact and in order" { behaves lines 200_clients; }

# --- Descriptors --------------------------------------------------------------------------

@test "03-selectors/01-select-wait: out of descriptors: says so, pauses accepting without spinning, then serves all" { behaves emfile out_of_descriptors; }
@test "03-selectors/02-select-lines: out of descriptors: says so, pauses accepting without spinning, then serves all" { behaves emfile out_of_descriptors; }
@test "03-selectors/03-poll-lines: out of descriptors: says so, pauses accepting without spinning, then serves all" { behaves emfile out_of_descriptors; }
@test "03-selectors/04-epoll-lines: out of descriptors: says so, pauses accepting without spinning, then serves all" { behaves emfile out_of_descriptors; }
@test "04-event-loop/01-callback-loop: out of descriptors: says so, pauses accepting without spinning, then serves all" { behaves emfile out_of_descriptors; }
@test "04-event-loop/02-graceful-shutdown: out of descriptors: says so, pauses accepting without spinning, then serves all" { behaves emfile out_of_descriptors; }
@test "05-other-roads/01-fork-per-client: out of descriptors: says so, pauses accepting without spinning, then serves all" { behaves emfile out_of_descriptors; }
@test "05-other-roads/02-thread-per-client: out of descriptors: says so, pauses accepting without spinning, then serves all" { behaves emfile out_of_descriptors; }
@test "05-other-roads/03-io-uring-lines: out of descriptors: says so, pauses accepting without spinning, then serves all" { behaves emfile out_of_descriptors; }

# --- select()'s ceiling, FD_SETSIZE -------------------------------------------------------

@test "03-selectors/01-select-wait: clients beyond FD_SETSIZE are refused with a message, the others served" { behaves fd-setsize beyond_fd_setsize; }
@test "03-selectors/02-select-lines: clients beyond FD_SETSIZE are refused with a message, the others served" { behaves fd-setsize beyond_fd_setsize; }

@test "03-selectors/01-select-wait: a listening socket at FD_SETSIZE or above: one clear line, exit 1" { behaves fd-setsize listener_past_fd_setsize; }
@test "03-selectors/02-select-lines: a listening socket at FD_SETSIZE or above: one clear line, exit 1" { behaves fd-setsize listener_past_fd_setsize; }
