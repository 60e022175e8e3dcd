#!/usr/bin/env bash
# scripts/chapter.sh - list the chapter's stages: how to run each, and what to try against it.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
for src in chapters/chapter-03/[0-9]*/[0-9]*.c; do
    stage=${src#chapters/chapter-03/}
    stage=${stage%.c}
    printf '\n== %s\n' "$stage"
    sed -n '2,/^ \*\/$/p' "$src" | sed -e 's/^ \*\/$//' -e 's/^ \* \{0,1\}/   /'
    printf '   binary: %s/chapter-03/%s\n' "$BUILD_DIR" "$stage"
done
