#!/usr/bin/env bash
# scripts/gates/tsan.sh TSAN-BUILD - what `make check-tsan` (part of `make check`) runs: the tests of
# the thread-per-client stage against its ThreadSanitizer build, then a look at TSan's reports.
#
# ThreadSanitizer watches every memory access of every thread and reports two threads touching
# the same memory, one of them writing, with nothing ordering them (a data race). The stage's
# shared counters are only touched under a mutex: remove the lock and this run fails.
# Each report goes to a file (TSAN-BUILD/reports/), as for `make check`: the tests compare the
# server's stderr exactly, and a report file fails the run whatever the tests said.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
source scripts/lib.sh

if [ $# -ne 1 ] || [ ! -d "$1" ]; then
    echo "usage: scripts/gates/tsan.sh TSAN-BUILD   (make check-tsan runs it)" >&2
    exit 2
fi
build=$(cd "$1" && pwd)
stage=05-other-roads/02-thread-per-client
reports=$build/reports
rm -rf "$reports"
mkdir -p "$reports"
# No vacuous pass: the stage must carry ThreadSanitizer's runtime.
grep -qa __tsan_init "$build/chapter-03/$stage" || {
    echo "check-tsan: $build/chapter-03/$stage was built without -fsanitize=thread" >&2
    exit 1
}

export TSAN_OPTIONS="halt_on_error=1:abort_on_error=1:log_path=$reports/report"
echo "check-tsan: the tests of $stage against its ThreadSanitizer build (reports: $reports)"
OTHER_ROADS_STAGES=$stage BUILD_DIR=$build bash scripts/gates/run-tests.sh tests/05-other-roads.bats
status=$?
# and what every line stage promises (tests/all-stages.bats), on this stage alone
BUILD_DIR=$build bats --filter "^$stage: " tests/all-stages.bats || status=1

sanitizer_verdict check-tsan ThreadSanitizer "$reports" "$status" || exit 1
echo "check-tsan: no data race reported"
