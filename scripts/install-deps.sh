#!/usr/bin/env bash
# scripts/install-deps.sh - install what the workbook needs on Debian/Ubuntu (run as root, or
# it uses sudo). Installs only what is missing.
#   scripts/install-deps.sh            compiler, make, bats, OpenBSD nc (to build and test)
#   scripts/install-deps.sh --all      also clang, tmux (live demo), valgrind, cppcheck,
#                                      clang-tidy, clang-format (quality gates)
set -euo pipefail

want=(gcc make bats netcat-openbsd)
if [ "${1:-}" = "--all" ]; then
    want+=(clang tmux valgrind cppcheck clang-tidy clang-format libclang-rt-dev python3)
fi

missing=()
for pkg in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: everything is already installed (${want[*]})"
    exit 0
fi

if ! command -v apt-get >/dev/null; then
    echo "install-deps: no apt-get here; please install: ${missing[*]}" >&2
    echo "  (macOS: brew install bats-core netcat; the tests themselves need Linux)" >&2
    exit 1
fi
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
