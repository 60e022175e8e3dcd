#!/usr/bin/env bash
# scripts/install-deps.sh - install the Debian/Ubuntu packages the workbook needs, only the ones
# that are missing: directly when run as root, through sudo otherwise, always saying first, in
# one line, what it installs and why.
#
#   scripts/install-deps.sh          the base set: what `make chapter-03` and `make test` need
#   scripts/install-deps.sh --all    the base set and the rest: demo, benchmark, kernel tools,
#                                    quality gates (what CI installs)
#   scripts/install-deps.sh --for TARGET
#                                    what make runs before TARGET (chapter-03, test, exercise):
#                                    installs only what TARGET needs and cannot find (a tool
#                                    installed some other way counts), and says nothing when
#                                    nothing is missing. NO_INSTALL=1, or a system without
#                                    apt-get: it installs nothing and says nothing, and the
#                                    tools' own checks say what to install, as they always did.
#   --dry-run (or INSTALL_DEPS_DRY_RUN=1): print the commands instead of running them.
#
# The base set, and why each package is in it:
#   gcc, make                         build the stages
#   netcat-openbsd                    nc, with the -N the notes' clients need (replay, tests)
#   iproute2                          ss: sockets, their queues and the accept queue, which the
#                                     replay and scripts/peek.sh show
#   liburing-dev                      the io_uring stage (05-other-roads/03-io-uring-lines): the
#                                     Makefile leaves it out without liburing, and the chapter
#                                     must be whole. --for finds it by compiling against it
#   telnet                            the notes' client for the non-blocking experiment: it
#                                     sends each line as typed, which nc -C does not
#   bats, bats-support, bats-assert   the test suite and its assertions (make test, exercises)
# What only --all adds, and why it is not in the base set:
#   strace, linux-perf   peek and the replay's TRACE=1 count a server's system calls with them;
#                        without them they say plainly that they cannot, and the tests use that
#                        fallback. linux-perf alone brings perl and python (tens of MB), and its
#                        Debian name does not exist on Ubuntu (linux-tools-*).
#   tmux                 make demo          gnuplot-nox   make bench PLOT=1 (charts)
#   python3              bench's Python peers (the notes' own servers, for comparison)
#   clang, libclang-rt-dev, valgrind, cppcheck, clang-tidy, clang-format, shellcheck
#                        the quality gates (make check CC=clang, fuzz, valgrind, lint)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh # (for bats_library_found)

base=(gcc make netcat-openbsd iproute2 liburing-dev telnet bats bats-support bats-assert parallel)
extra=(strace linux-perf tmux gnuplot-nox python3 clang libclang-rt-dev valgrind cppcheck
    clang-tidy clang-format shellcheck)

# why PACKAGE: what it is for, in a few words (for the one line said before installing).
why() {
    case $1 in
        gcc) echo "the C compiler" ;;
        clang) echo "the C compiler asked for" ;;
        make) echo "the build" ;;
        netcat-openbsd) echo "nc, the clients" ;;
        iproute2) echo "ss, to look at sockets" ;;
        bats) echo "runs the tests" ;;
        bats-support | bats-assert) echo "the tests' assertions" ;;
        strace | linux-perf) echo "counting system calls" ;;
        tmux) echo "make demo" ;;
        gnuplot-nox) echo "bench charts" ;;
        python3) echo "bench's Python peers" ;;
        liburing-dev) echo "the io_uring stage" ;;
        telnet) echo "the notes' client" ;;
        parallel) echo "make exercise runs its checks at once" ;;
        *) echo "quality gates" ;;
    esac
}

mode=base who="install-deps" dry=${INSTALL_DEPS_DRY_RUN:-0}
while [ $# -gt 0 ]; do
    case $1 in
        --all) mode=all ;;
        --for) mode=for who="make ${2:?--for needs a target}"; target=$2; shift ;;
        --dry-run) dry=1 ;;
        *) echo "usage: $0 [--all | --for chapter-03|test|exercise] [--dry-run]" >&2; exit 2 ;;
    esac
    shift
done

missing=()
if [ "$mode" = for ]; then
    # Ask the tools, not the package manager: a bats from git or a clang given as CC counts.
    [ "${NO_INSTALL:-0}" = 1 ] && exit 0
    command -v apt-get >/dev/null || exit 0
    compiler=${CC:-cc}
    compiler=${compiler%% *}
    if ! command -v "$compiler" >/dev/null; then
        case ${compiler##*/} in clang*) missing+=(clang) ;; *) missing+=(gcc) ;; esac
    fi
    { command -v nc >/dev/null && nc -h 2>&1 | grep -q OpenBSD; } || missing+=(netcat-openbsd)
    command -v ss >/dev/null || missing+=(iproute2)
    case $target in
        chapter-03 | test)
            # The whole chapter: the io_uring stage builds only against liburing (what the
            # Makefile's own check compiles: header, library, a 2.2 call), and the notes'
            # non-blocking experiment is typed in telnet.
            # (No compiler yet: nothing to ask, so liburing counts as missing too. A
            # here-string, not printf | cc: a compiler that exits before reading would kill
            # printf with SIGPIPE, and pipefail would then call liburing missing.)
            if ! command -v "$compiler" >/dev/null ||
                ! "$compiler" -x c -o /dev/null - -luring >/dev/null 2>&1 <<<'#include <liburing.h>
int main(void) { struct io_uring_sqe s; io_uring_prep_multishot_accept(&s, 0, 0, 0, 0); return 0; }'; then
                missing+=(liburing-dev)
            fi
            command -v telnet >/dev/null || missing+=(telnet)
            ;;&
        chapter-03) ;;
        test | exercise)
            command -v bats >/dev/null || missing+=(bats)
            bats_library_found bats-support || missing+=(bats-support)
            bats_library_found bats-assert || missing+=(bats-assert)
            # (bats --jobs needs GNU parallel: make exercise runs its checks six at once)
            if [ "$target" = exercise ] && ! command -v parallel >/dev/null; then missing+=(parallel); fi
            ;;
        *) echo "install-deps: --for $target: expected chapter-03, test or exercise" >&2; exit 2 ;;
    esac
    [ ${#missing[@]} -eq 0 ] && exit 0
else
    want=("${base[@]}")
    [ "$mode" = all ] && want+=("${extra[@]}")
    if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
        echo "install-deps: no apt-get here; please install: ${want[*]}" >&2
        echo "  (macOS: brew install bats-core bats-support bats-assert netcat; the tests themselves need Linux)" >&2
        exit 1
    fi
    for pkg in "${want[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        echo "install-deps: everything is already installed (${want[*]})"
        exit 0
    fi
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null; then
        echo "$who: missing: ${missing[*]}, and this is not root and there is no sudo to install it:" >&2
        echo "  as root, run:  apt-get install ${missing[*]}" >&2
        exit 1
    fi
    sudo=(sudo)
fi
reasons=()
for pkg in "${missing[@]}"; do reasons+=("$pkg ($(why "$pkg"))"); done
# The one line that says what and why, before anything is run.
if [ "$mode" = for ]; then
    echo "$who needs, and this machine lacks: ${reasons[*]}; installing them: ${sudo[*]:+sudo }apt-get install ${missing[*]}"
else
    echo "install-deps: installing what is missing: ${reasons[*]}; with ${sudo[*]:+sudo }apt-get install"
fi
apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes apt-get)
# run [--quiet] COMMAND...: run it (--quiet: without its stdout), or in a dry run print it.
run() {
    local quiet=0
    [ "$1" = --quiet ] && quiet=1 && shift
    if [ "$dry" = 1 ]; then
        echo "would run: $*"
    elif [ "$quiet" = 1 ]; then
        "$@" >/dev/null
    else
        "$@"
    fi
}
# A fresh machine may have no package lists yet: update them first.
run "${apt[@]}" update -qq
if ! run --quiet "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}"; then
    echo "$who: apt-get install ${missing[*]} failed (see above); NO_INSTALL=1 skips this step" >&2
    exit 1
fi
[ "$dry" = 1 ] || echo "$who: installed ${missing[*]}"
