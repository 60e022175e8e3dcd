# shellcheck shell=bash
# scripts/measure.d/06-bench.sh - the benchmark's figures that the guides of sections 3 and 5
# and TEACHING.md quote: CPU per echoed line against the C baseline, messages per second,
# memory per idle client. Sourced by scripts/measure.sh (make measurements).
#
# The quick benchmark (make bench QUICK=1) on the servers the guides compare, twice: a quick
# run is short and the machine's own noise (the baseline's two runs, first and last) is of the
# same size as the 15% target, so the guides quote ranges over both runs, never one cell.

echo "## The benchmark"
echo

# bench_quick RUNS: scripts/bench.sh --quick on the baseline, poll, epoll, the callback loop,
# fork, threads, io_uring and Python's asyncio, RUNS times.
bench_quick() {
    local i
    for ((i = 1; i <= $1; i++)); do
        echo "=== run $i of $1"
        BENCH_ONLY="03-selectors/03-poll-lines 03-selectors/04-epoll-lines 04-event-loop/01-callback-loop 05-other-roads/01-fork-per-client 05-other-roads/02-thread-per-client 05-other-roads/03-io-uring-lines python asyncio" \
            scripts/bench.sh --quick 2>/dev/null
    done
}
measure m-bench-quick "make bench QUICK=1 on the event-loop stages, fork, threads, io_uring and asyncio, twice" bench_quick 2
