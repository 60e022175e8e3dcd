#!/usr/bin/env bash
# scripts/doc-commands.sh - run every command the documents tell a reader to type, exactly as
# written, so that a command added to a document is tested without anyone adding a test.
#
#   scripts/doc-commands.sh [FILE.md...]     default: every *.md of the repository
#
# What counts as a command: each line beginning with "$ " inside a ```console block (the lines
# below it without "$ " are its output, shown to the reader, not checked here). The commands of
# one block run in order, from the top of the repository (DOC_ROOT, default the repository),
# as a reader types them in successive terminals, each block in a private network namespace
# of its own: a server there can bind port 8000 while the machine's 8000 is taken, and blocks
# run side by side without meeting. The placeholders a reader replaces are filled in: PORT with
# a free port, PID with the pid of the newest server listening in the block (one is started if
# none is).
#
# A command passes when it exits 0, or when it is still running DOC_TIMEOUT seconds later
# (default 1.5) or has started listening: a server, a client that stays connected, a demo. It
# fails when it exits non-zero, or says "Permission denied", "command not found" or "No such
# file"; the failure names the file, the line and the command, with what it printed.
# Everything a block started is killed when the block ends. A NAME.es.md with an English twin
# is skipped: its code blocks are the twin's (scripts/doc-twins.sh checks that).
#
# Needs unshare (util-linux) and ip (iproute2): as root, unshare -n; otherwise a user namespace
# (unshare -rn) where the kernel allows one. Prints one line per failure and exits 1 if any.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DOC_ROOT=${DOC_ROOT:-$ROOT}
DOC_TIMEOUT=${DOC_TIMEOUT:-1.5}
DOC_JOBS=${DOC_JOBS:-4}

# --- inside a block's namespace: scripts/doc-commands.sh --block FILE.md COMMANDS-FILE --------
if [ "${1:-}" = --block ]; then
    doc=$2 list=$3
    source "$ROOT/scripts/lib.sh"
    LIB_TMP=$(mktemp -d)
    ip link set lo up || { echo "$doc: cannot bring up lo in the namespace" >&2; exit 1; }
    cd "$DOC_ROOT" || exit 1
    groups=() status=0 port=$(free_port)
    # newest_listener: the pid of the newest process listening in this namespace.
    newest_listener() { ss -Hltnp 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -n | tail -n 1; }
    finish() {
        local g
        for g in "${groups[@]}"; do kill -TERM -- "-$g" 2>/dev/null; done
        for g in "${groups[@]}"; do
            wait_until 2 _dead "$g" || kill -KILL -- "-$g" 2>/dev/null
            wait "$g" 2>/dev/null
        done
        stop_all
        rm -rf "$LIB_TMP"
    }
    trap finish EXIT
    while IFS=$'\t' read -r line cmd; do
        run=$cmd
        # PORT and PID as words, not $PORT or PORT=...
        while [[ $run =~ ^(.*[^A-Za-z0-9_\$]|)PORT([^A-Za-z0-9_=].*|)$ ]]; do
            run=${BASH_REMATCH[1]}$port${BASH_REMATCH[2]}
        done
        if [[ $run =~ (^|[^A-Za-z0-9_\$])PID([^A-Za-z0-9_=]|$) ]]; then
            pid=$(newest_listener)
            if [ -z "$pid" ]; then
                start_server 01-blocking/04-many-clients "$(free_port)" >/dev/null 2>&1
                pid=$SERVER_PID
            fi
            while [[ $run =~ ^(.*[^A-Za-z0-9_\$]|)PID([^A-Za-z0-9_=].*|)$ ]]; do
                run=${BASH_REMATCH[1]}$pid${BASH_REMATCH[2]}
            done
        fi
        out=$LIB_TMP/out.$line
        before=$(ss -Hltn 2>/dev/null | wc -l)
        setsid bash -c "$run" </dev/null >"$out" 2>&1 3>&- &
        g=$!
        groups+=("$g")
        # done_or_serving: the command ended, or it listens now (a server: long-running).
        done_or_serving() { _dead "$g" || [ "$(ss -Hltn 2>/dev/null | wc -l)" -gt "$before" ]; }
        wait_until "$DOC_TIMEOUT" done_or_serving
        why=""
        if _dead "$g"; then
            rc=0
            wait "$g" || rc=$?
            [ "$rc" = 0 ] || why="exit status $rc"
        fi
        if grep -qE 'Permission denied|command not found|No such file' "$out"; then
            why="${why:+$why, }it says: $(grep -m1 -E 'Permission denied|command not found|No such file' "$out")"
        fi
        if [ -n "$why" ]; then
            echo "$doc:$line: \$ $cmd"
            echo "    failed: $why"
            [ -s "$out" ] && { echo "    it printed:"; head -n 5 "$out" | sed 's/^/    | /'; }
            status=1
        fi
    done <"$list"
    exit $status
fi

# --- the blocks of every document, each run in its namespace ----------------------------------
if [ "$(id -u)" = 0 ]; then
    NS=(unshare -n)
elif unshare -rn true 2>/dev/null; then
    NS=(unshare -rn)
else
    echo "doc-commands: needs root, or user namespaces (unshare -rn), for a private network" >&2
    exit 2
fi
command -v ip >/dev/null || { echo "doc-commands: needs ip (sudo apt-get install iproute2)" >&2; exit 2; }

files=("$@")
if [ ${#files[@]} -eq 0 ]; then
    while IFS= read -r f; do files+=("$f"); done < <(cd "$ROOT" && find . -name build -prune -o -name .git -prune -o -name '*.md' -print | sed 's|^\./||' | sort)
    cd "$ROOT" || exit 1
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Each block's commands go to a file of their own, TMP/NNNN, one "LINE<TAB>COMMAND" a line (a
# line ending in "\" continues on the next); TMP/NNNN.doc names its document.
n=0
for f in "${files[@]}"; do
    # A Spanish twin's code blocks are its English twin's, byte for byte (doc-twins.sh checks
    # that): run them once.
    [[ $f == *.es.md && -f ${f%.es.md}.md ]] && continue
    while IFS=$'\t' read -r kind line cmd; do
        if [ "$kind" = block ]; then
            n=$((n + 1))
            printf '%s\n' "$f" >"$TMP/$(printf '%04d' "$n").doc"
            : >"$TMP/$(printf '%04d' "$n")"
        else
            printf '%s\t%s\n' "$line" "$cmd" >>"$TMP/$(printf '%04d' "$n")"
        fi
    done < <(awk '
        /^```console[[:space:]]*$/ && !fence { fence = 1; print "block\t0\t"; next }
        /^```/ && fence { fence = 0; next }
        fence && /^\$ / {
            start = NR; cmd = substr($0, 3)
            while (cmd ~ /\\$/ && (getline nxt) > 0) cmd = substr(cmd, 1, length(cmd) - 1) nxt
            printf "cmd\t%d\t%s\n", start, cmd
        }' "$f")
done
status=0
running=0
for ((i = 1; i <= n; i++)); do
    list=$TMP/$(printf '%04d' "$i")
    # (nice: a block may run a busy loop for a few seconds; the suite's timed tests come first)
    nice -n 19 "${NS[@]}" bash "$ROOT/scripts/doc-commands.sh" --block "$(cat "$list.doc")" "$list" >"$list.result" 2>&1 3>&- &
    running=$((running + 1))
    if [ "$running" -ge "$DOC_JOBS" ]; then
        wait -n || status=1
        running=$((running - 1))
    fi
done
while [ "$running" -gt 0 ]; do
    wait -n || status=1
    running=$((running - 1))
done
cat "$TMP"/*.result 2>/dev/null
echo "doc-commands: $n blocks from ${#files[@]} documents$([ "$status" = 0 ] && echo ", every command ran" || echo ": FAILED")"
exit $status
