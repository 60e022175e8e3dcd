#!/usr/bin/env bash
# scripts/run-tests.sh - run the bats suite (what `make test` calls), after checking that its
# tools are here, and end with one summary line: "N passed, N failed, N skipped".
#   scripts/run-tests.sh [BATS-FILE...]     default: every tests/*.bats
# BUILD_DIR chooses the binaries under test (default build/; `make check` uses the sanitizer build).
set -uo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v bats >/dev/null || missing+=(bats)
if ! command -v nc >/dev/null; then
    missing+=(netcat-openbsd)
elif ! nc -h 2>&1 | grep -q OpenBSD; then
    echo "run-tests: this nc is not OpenBSD netcat (the tests need its -N flag)" >&2
    missing+=(netcat-openbsd)
fi
command -v timeout >/dev/null || missing+=(coreutils)
if [ ${#missing[@]} -gt 0 ]; then
    echo "run-tests: missing: ${missing[*]}" >&2
    echo "  install them with:  sudo apt-get install ${missing[*]}" >&2
    echo "  or:                 sudo scripts/install-deps.sh" >&2
    exit 1
fi
if [ ! -r /proc/net/tcp ] && ! command -v ss >/dev/null; then
    echo "run-tests: the tests read /proc/net/tcp (Linux) or ss to see listening ports" >&2
    exit 1
fi

files=("$@")
[ ${#files[@]} -gt 0 ] || files=(tests/*.bats)

log=$(mktemp)
trap 'rm -f "$log"' EXIT
bats --tap "${files[@]}" | tee "$log"
status=$?
skipped=$(grep -cE '^ok [0-9]+ .*# skip' "$log")
passed=$(( $(grep -cE '^ok [0-9]+' "$log") - skipped ))
failed=$(grep -cE '^not ok [0-9]+' "$log")
echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
