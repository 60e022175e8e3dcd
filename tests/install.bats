#!/usr/bin/env bats
# scripts/install-deps.sh, the step `make chapter-03` and `make test` run first: it installs
# only what is missing (asking the tools, or dpkg without --for), says in one line what and
# why before running anything, uses sudo only when not root, and does nothing with
# NO_INSTALL=1 or without apt-get (the tools' own messages then say what to install).
# Nothing is really installed here: apt-get, sudo, id and dpkg-query are stand-ins on PATH
# that write down how they were called, and the machine's tools are hidden from the script
# by a PATH that holds only what a test chooses to show it.

load helpers

setup() {
    LIB_TMP=$BATS_TEST_TMPDIR
    BIN=$LIB_TMP/bin CALLS=$LIB_TMP/calls
    mkdir -p "$BIN" "$LIB_TMP/no-libs"
    # what the script itself runs
    for tool in dirname grep env cat; do ln -s "$(command -v "$tool")" "$BIN/$tool"; done
    fake apt-get 'echo "apt-get $*" >>"$CALLS"'
    fake sudo 'echo "sudo $1 ..." >>"$CALLS"; "$@"'
    fake id 'echo "${FAKE_UID:-0}"'
    # dpkg-query -W -f=... PACKAGE: installed if PACKAGE is in $FAKE_INSTALLED
    fake dpkg-query 'case " $FAKE_INSTALLED " in *" ${!#} "*) printf "install ok installed" ;; *) exit 1 ;; esac'
    export CALLS FAKE_INSTALLED=""
    # `make CC=clang test` exports CC, and the script asks for the compiler CC names: these
    # tests choose their compiler themselves (cc, or CC=... on the one call that says so)
    unset CC
}

# a compiler that compiles anything (so liburing is found) and a telnet: the chapter's own
# packages, there unless a test takes them away.
have_chapter_tools() { fake cc 'exit 0'; fake telnet ':'; }

# fake NAME SCRIPT: a stand-in command NAME on the test's PATH.
fake() { printf '#!/bin/bash\n%s\n' "$2" >"$BIN/$1" && chmod +x "$BIN/$1"; }
# show TOOL...: let the script find these real tools (as if installed).
show() { for tool in "$@"; do ln -sf "$(command -v "$tool")" "$BIN/$tool"; done; }
# install_deps ARGS...: run the script with only $BIN on its PATH, no bats library found.
install_deps() {
    run env PATH="$BIN" BATS_LIB_PATH="$LIB_TMP/no-libs" "$BASH" "$LIB_ROOT/scripts/install-deps.sh" "$@"
}

@test "install --for test: only what is missing, said in one line first, then apt-get as root" {
    have_chapter_tools
    show nc ss # here: a compiler, liburing, telnet, OpenBSD nc, ss; missing: bats and its two libraries
    install_deps --for test
    assert_success
    assert_line --index 0 "make test needs, and this machine lacks: bats (runs the tests) bats-support (the tests' assertions) bats-assert (the tests' assertions); installing them: apt-get install bats bats-support bats-assert"
    assert_line --index 1 "make test: installed bats bats-support bats-assert"
    assert_equal "$(cat "$CALLS")" "apt-get update -qq
apt-get install -y -qq --no-install-recommends bats bats-support bats-assert"
}

@test "install --for chapter-03: what the replay needs (nc, ss), not bats; through sudo when not root" {
    have_chapter_tools
    fake nc 'echo "usage: nc [-options] hostname port (traditional)" >&2' # not OpenBSD's
    FAKE_UID=1000 install_deps --for chapter-03 --dry-run
    assert_success
    assert_output "make chapter-03 needs, and this machine lacks: netcat-openbsd (nc, the clients) iproute2 (ss, to look at sockets); installing them: sudo apt-get install netcat-openbsd iproute2
would run: sudo env DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes apt-get update -qq
would run: sudo env DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes apt-get install -y -qq --no-install-recommends netcat-openbsd iproute2"
    [ ! -e "$CALLS" ] # a dry run runs nothing
}

@test "install --for: nothing missing, nothing said, nothing run; CC=clang missing: clang, not gcc" {
    have_chapter_tools
    show nc ss bats
    run env PATH="$BIN" BATS_LIB_PATH=/usr/lib/bats "$BASH" "$LIB_ROOT/scripts/install-deps.sh" --for test
    assert_success
    assert_output ""
    [ ! -e "$CALLS" ]
    CC="clang-99 -O2" install_deps --for chapter-03 --dry-run
    assert_line --index 0 --partial "lacks: clang (the C compiler asked for) liburing-dev (the io_uring stage);"
    refute_output --partial gcc
}

@test "install --for: NO_INSTALL=1, or no apt-get, or not root without sudo: nothing installed" {
    NO_INSTALL=1 install_deps --for test
    assert_success
    assert_output ""
    rm "$BIN/apt-get"
    install_deps --for test
    assert_success
    assert_output ""
    fake apt-get 'echo "apt-get $*" >>"$CALLS"'
    rm "$BIN/sudo"
    FAKE_UID=1000 install_deps --for chapter-03
    assert_failure 1
    assert_output --partial "not root and there is no sudo"
    assert_output --partial "as root, run:  apt-get install gcc netcat-openbsd iproute2 liburing-dev telnet"
    [ ! -e "$CALLS" ]
}

@test "install --for chapter-03 and test: the whole chapter: liburing-dev (found by compiling) and telnet" {
    show nc ss bats
    # a compiler that fails exactly when asked to link liburing, and no telnet
    fake cc 'for a; do [ "$a" = -luring ] && exit 1; done; exit 0'
    for target in chapter-03 test; do
        run env PATH="$BIN" BATS_LIB_PATH=/usr/lib/bats "$BASH" "$LIB_ROOT/scripts/install-deps.sh" --for "$target" --dry-run
        assert_success
        assert_line --index 0 "make $target needs, and this machine lacks: liburing-dev (the io_uring stage) telnet (the notes' client); installing them: apt-get install liburing-dev telnet"
    done
    # the exercises need neither, but GNU parallel (their checks run at once: bats --jobs)
    run env PATH="$BIN" BATS_LIB_PATH=/usr/lib/bats "$BASH" "$LIB_ROOT/scripts/install-deps.sh" --for exercise --dry-run
    assert_success
    assert_line --index 0 "make exercise needs, and this machine lacks: parallel (make exercise runs its checks at once); installing them: apt-get install parallel"
    fake parallel ':'
    run env PATH="$BIN" BATS_LIB_PATH=/usr/lib/bats "$BASH" "$LIB_ROOT/scripts/install-deps.sh" --for exercise --dry-run
    assert_success
    assert_output ""
}

@test "install: a failed apt-get stops make with a clear line (how to skip it too)" {
    fake apt-get 'echo "apt-get $*" >>"$CALLS"; [ "$1" = update ]'
    install_deps --for test
    assert_failure 1
    assert_output --partial "make test: apt-get install gcc netcat-openbsd iproute2 liburing-dev telnet bats bats-support bats-assert failed (see above); NO_INSTALL=1 skips this step"
}

@test "install-deps.sh (by hand): dpkg decides what is missing; --all adds the rest; no apt: a list" {
    FAKE_INSTALLED="gcc make iproute2 liburing-dev telnet bats bats-support bats-assert parallel" install_deps --dry-run
    assert_success
    assert_line --index 0 "install-deps: installing what is missing: netcat-openbsd (nc, the clients); with apt-get install"
    assert_line --index 2 "would run: env DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes apt-get install -y -qq --no-install-recommends netcat-openbsd"
    FAKE_INSTALLED="gcc make netcat-openbsd iproute2 liburing-dev telnet bats bats-support bats-assert parallel" install_deps --all --dry-run
    assert_line --index 2 "would run: env DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes apt-get install -y -qq --no-install-recommends strace linux-perf tmux gnuplot-nox python3 clang libclang-rt-dev valgrind cppcheck clang-tidy clang-format shellcheck"
    FAKE_INSTALLED="gcc make netcat-openbsd iproute2 liburing-dev telnet bats bats-support bats-assert parallel" install_deps
    assert_output "install-deps: everything is already installed (gcc make netcat-openbsd iproute2 liburing-dev telnet bats bats-support bats-assert parallel)"
    rm "$BIN/apt-get"
    install_deps
    assert_failure 1
    assert_line --index 0 "install-deps: no apt-get here; please install: gcc make netcat-openbsd iproute2 liburing-dev telnet bats bats-support bats-assert parallel"
}

@test "make chapter-03 installs before it looks for liburing: the first run builds the whole chapter" {
    # A compiler that writes down each call and finds no liburing, and the stand-in apt-get:
    # the install step must come first, or make would have decided already to leave the
    # io_uring stage out (on a fresh machine, its first run would replay 14 stages of 15).
    fake cc 'echo "cc $*" >>"$CALLS"; for a; do [ "$a" = -luring ] && exit 1; done; exit 0'
    run env PATH="$BIN:$PATH" make -n --no-print-directory -C "$LIB_ROOT" BUILD="$LIB_TMP/build" CC=cc chapter-03
    assert_line --index 0 --partial "make chapter-03 needs, and this machine lacks: liburing-dev (the io_uring stage)"
    # install-deps' own look, the install, then the Makefile's look, which finds it now
    assert_equal "$(cat "$CALLS")" "cc -x c -o /dev/null - -luring
apt-get update -qq
apt-get install -y -qq --no-install-recommends liburing-dev
cc -x c -o /dev/null - -luring"
}

@test "make test runs the install step before anything else; NO_INSTALL=1 keeps today's message" {
    # The real make and tools, but no bats library to be found, and the stand-in apt-get
    # (which installs nothing): make test says what it installs, then the runner's own check
    # says what is still missing.
    run env PATH="$BIN:$PATH" BATS_LIB_PATH="$LIB_TMP/no-libs" \
        make -s --no-print-directory -C "$LIB_ROOT" BUILD="$BUILD_DIR" test
    assert_failure
    assert_line --index 0 --partial "make test needs, and this machine lacks: bats-support (the tests' assertions) bats-assert (the tests' assertions); installing them:"
    assert_output --partial "run-tests: missing: bats-support bats-assert"
    assert_output --partial "install them with:  sudo apt-get install bats-support bats-assert"
    assert_equal "$(cat "$CALLS")" "apt-get update -qq
apt-get install -y -qq --no-install-recommends bats-support bats-assert"
    rm "$CALLS"
    run env PATH="$BIN:$PATH" BATS_LIB_PATH="$LIB_TMP/no-libs" NO_INSTALL=1 \
        make -s --no-print-directory -C "$LIB_ROOT" BUILD="$BUILD_DIR" test
    assert_failure
    # (make's own notes may come first: "note: skipped (liburing not found ...)" where it is)
    assert_line "run-tests: missing: bats-support bats-assert"
    refute_line --partial "installing"
    [ ! -e "$CALLS" ]
}
