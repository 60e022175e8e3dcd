#!/usr/bin/env bats
# The shared layer under the stages, tested on its own where no server shows it from outside.
#   common/event_loop.c: tests/unit/event_loop.c checks each promise of event_loop.h (a
#   descriptor unwatched or watched during a turn, an fd number reused within a turn, pause,
#   loop_pause(), hang-up, a descriptor closed while watched, timer order, cancel, a timer set
#   during a turn,
#   loop_stop()). It prints TAP; a hang is a failure too, hence the timeout.
#   common/connection.c: tests/unit/connection.c, both ends of a real connection, for what a
#   client cannot time from outside (FIN while echoes are still queued, back-pressure).
# common/pyrepr.c and common/lines.c are covered by the stages' tests and by `make fuzz`.
# And common/ as the stages see it: a static library, from which each program links only the
# modules its #includes reach (nm); one definition of each shared reply; headers that say what
# is true of every user, not a list of users (a list goes stale).

load helpers

# run_unit NAME AT_LEAST: run the TAP unit test tests/unit/NAME.c (built by make); it must
# exit 0, every check must pass, all of them must have run (the plan line counts them), and
# there must be at least AT_LEAST. Its stderr is left in $LIB_TMP/err.
run_unit() {
    local unit=$BUILD_DIR/tests/unit/$1 status=0
    [ -x "$unit" ] || { echo "not built: $unit (run make)" >&2; return 1; }
    timeout 20 "$unit" >"$LIB_TMP/out" 2>"$LIB_TMP/err" || status=$?
    cat "$LIB_TMP/out" "$LIB_TMP/err" >&2 # shown if the test fails
    assert_equal "$status" 0
    assert_equal "$(grep -v '^ok ' "$LIB_TMP/out" | grep -v '^1\.\.')" ""
    assert_equal "$(tail -n 1 "$LIB_TMP/out")" "1..$(grep -c '^ok ' "$LIB_TMP/out")"
    [ "$(grep -c '^ok ' "$LIB_TMP/out")" -ge "$2" ]
}

@test "common/event_loop: every promise of event_loop.h holds (tests/unit/event_loop.c)" {
    run_unit event_loop 20
    # The one descriptor closed while watched is reported on stderr, and nothing else is.
    assert_equal "$(cat "$LIB_TMP/err")" \
        "stage: poll (descriptor closed while watched): Bad file descriptor (errno 9, EBADF)"
}

@test "common/connection: FIN with echoes queued, back-pressure, pieces, a line too long (tests/unit/connection.c)" {
    run_unit connection 12
    assert_equal "$(cat "$LIB_TMP/err")" ""
}

# --- common/ as a library -------------------------------------------------------------------

# programs: every stage and tool that make built, one "SOURCE BINARY" a line.
programs() {
    local src bin
    for src in chapters/chapter-03/[0-9]*/[0-9]*.c scripts/tools/*.c; do
        case $src in
            chapters/*) bin=$BUILD_DIR/${src#chapters/} ;;
            *) bin=$BUILD_DIR/tools/${src#scripts/tools/} ;;
        esac
        bin=${bin%.c}
        [ -x "$bin" ] && echo "$src $bin" # (not built here: epoll or liburing missing)
    done
}

# code_only FILE: its code, comments and blank lines left out (as make diff shows it).
code_only() { gcc -fpreprocessed -dD -E -P "$1" | grep -v '^[[:space:]]*$'; }

# headers_reached SOURCE: the modules of common/ whose header SOURCE includes, directly or
# through another header, one a line.
headers_reached() {
    gcc -MM -D_POSIX_C_SOURCE=200809L -Icommon "$1" | tr ' \\' '\n\n' | sed -n 's|^common/\(.*\)\.h$|\1|p' | sort -u
}

@test "common/ is a library: each program links only the modules its #includes reach (nm)" {
    local module src bin symbol status=0 queue more
    declare -A module_of=() needs=() # symbol -> its module; module -> the modules it includes
    for module in common/*.c; do
        module=${module#common/} module=${module%.c}
        [ -f "$BUILD_DIR/common/$module.o" ] || { echo "not built: $BUILD_DIR/common/$module.o" >&2; return 1; }
        while read -r symbol; do module_of[$symbol]=$module; done \
            < <(nm --defined-only -g "$BUILD_DIR/common/$module.o" | awk '{ print $3 }')
        needs[$module]=$(headers_reached "common/$module.c" | tr '\n' ' ')
    done
    [ "${#module_of[@]}" -gt 20 ]
    while read -r src bin; do
        # what it may link: the modules it includes, and theirs, and theirs...
        declare -A reached=()
        mapfile -t queue < <(headers_reached "$src")
        while [ ${#queue[@]} -gt 0 ]; do
            module=${queue[0]} queue=("${queue[@]:1}")
            [ -n "${reached[$module]:-}" ] && continue
            reached[$module]=1
            read -ra more <<<"${needs[$module]:-}"
            queue+=("${more[@]}")
        done
        while read -r symbol; do
            module=${module_of[$symbol]:-}
            if [ -n "$module" ] && [ -z "${reached[$module]:-}" ]; then
                echo "$src links common/$module.c ($symbol), which nothing it includes reaches" >&2
                status=1
            fi
        done < <(nm --defined-only "$bin" | awk '{ print $3 }')
        unset reached
    done < <(programs)
    return "$status"
}

@test "common/connection.h: included only where a struct connection is served, not for constants" {
    local src bin status=0
    while read -r src bin; do
        grep -q '^#include "connection.h"' "$src" || continue
        code_only "$src" | grep -qE 'struct connection\b|\bconnection_[a-z_]+\(|\becho_line\b|enum connection_state' || {
            echo "$src includes connection.h but serves no struct connection: include what it uses (lines.h, net.h)" >&2
            status=1
        }
    done < <(programs)
    return "$status"
}

@test "common/: each reply line is defined once (TOO_LONG_REPLY in lines.h); nobody calls strerror()" {
    assert_equal "$(grep -rl --include='*.[ch]' '^#define TOO_LONG_REPLY' chapters common scripts tests)" "common/lines.h"
    # (tests/unit/connection.c spells the text out: it checks the bytes a client gets)
    assert_equal "$(grep -rl --include='*.[ch]' 'Error: línea de más de' chapters common scripts | sort)" "common/lines.h"
    # strerror() may hand every thread one buffer: util.c's warn_call() and errno_name() say
    # why a call failed, for every server.
    local f status=0
    for f in chapters/chapter-03/[0-9]*/[0-9]*.c common/*.c; do
        if code_only "$f" | grep -qE '\bstrerror\('; then echo "$f calls strerror()" >&2; status=1; fi
    done
    return "$status"
}

@test "common/*.h: no header lists the programs that use it (lists go stale: say what holds for all)" {
    run grep -nE '[0-9]{2}-[a-z-]+/[0-9]{2}-[a-z]|[0-9]{2}-[a-z]+-[a-z-]+\.c|[Oo]nly the [a-z-]+ stages' common/*.h
    assert_output ""
}
