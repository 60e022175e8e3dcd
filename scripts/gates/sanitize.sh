#!/usr/bin/env bash
# scripts/gates/sanitize.sh SANITIZED-BUILD [BATS-FILE...] - what `make check` runs after building
# everything with -fsanitize=address,undefined: the whole bats suite against those binaries
# (through BUILD_DIR, the one variable the tests use), then a look at the sanitizers' reports.
#
# Why the reports go to files: the tests compare every server's stderr exactly, and they stop
# the looping servers with SIGTERM, so a crash's exit status is not always seen. Each report
# is written to SANITIZED-BUILD/reports/report.PID instead, and any file there fails the run,
# whatever the tests said. Every sanitizer stops the program at its first report (abort).
#
# What this cannot prove: LeakSanitizer looks for leaks when a process exits by itself (return
# from main, exit(), die()); a process killed by a signal never runs it. So leaks are checked
# here for the stages that end on their own and for every error exit, not for the looping
# servers: `make valgrind` checks those (memcheck does its leak check even after SIGTERM).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
source scripts/lib.sh

if [ $# -lt 1 ] || [ ! -d "$1" ]; then
    echo "usage: scripts/gates/sanitize.sh SANITIZED-BUILD [BATS-FILE...]   (make check runs it)" >&2
    exit 2
fi
build=$(cd "$1" && pwd)
shift
reports=$build/reports
rm -rf "$reports"
mkdir -p "$reports"

# No vacuous pass: every program about to be tested must carry the sanitizers' runtime.
unsanitized=()
while IFS= read -r -d '' program; do
    grep -qa __asan_init "$program" || unsanitized+=("$program")
done < <(find "$build" -path "$reports" -prune -o -type f -perm -u+x -print0)
if [ ${#unsanitized[@]} -gt 0 ]; then
    echo "check: built without -fsanitize=address: ${unsanitized[*]}" >&2
    exit 1
fi

# halt_on_error + abort_on_error: stop at the first report with SIGABRT (exit 134), which no
# test mistakes for a stage's own exit 1 or 2. log_path: the report goes to a file, not stderr.
common="halt_on_error=1:abort_on_error=1:log_path=$reports/report"
export ASAN_OPTIONS="$common:detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1"
export UBSAN_OPTIONS="$common:print_stacktrace=1:report_error_type=1"
export LSAN_OPTIONS="report_objects=1"

echo "check: the suite against $build (reports: $reports)"
BUILD_DIR=$build bash scripts/gates/run-tests.sh "$@"
status=$?

sanitizer_verdict check sanitizer "$reports" "$status" || exit 1
echo "check: no sanitizer report (ASan, UBSan; LSan at every process's own exit)"
