# shellcheck shell=bash
# scripts/trace.sh - the replay's TRACE=1: strace on a running server, and its output condensed
# for a student to read. Sourced by scripts/lib.sh (start_program and run_server attach strace
# when LIB_TRACE=1). What strace prints is shown to the reader, condensed; nothing decides
# anything from it.

# trace_server PID: attach strace -f to the running server PID (the system calls it makes from
# now on go to $LIB_TMP/trace.PID) and return once it is attached; strace ends with the server
# or with trace_report. Sets TRACE_FILE. Returns 1, saying why, if strace cannot attach.
trace_server() {
    TRACE_FILE=$LIB_TMP/trace.$1
    strace -f -qq -s 64 -o "$TRACE_FILE" -p "$1" 2>"$TRACE_FILE.err" 3>&- &
    LIB_PIDS+=("$!")
    LIB_TRACERS+=("$!:$TRACE_FILE")
    wait_until 3 _traced "$1" || { echo "strace could not attach: $(head -n 1 "$TRACE_FILE.err")" >&2; return 1; }
}
_traced() { local tracer; proc_field tracer "$1" TracerPid && [ "$tracer" != 0 ]; }

# trace_report: detach every strace started by trace_server (or run_server) and print what each saw,
# condensed by trace_condense. Prints nothing if nothing was traced.
trace_report() {
    local t pid file
    for t in "${LIB_TRACERS[@]}"; do
        pid=${t%%:*} file=${t#*:}
        if [ "$pid" != 0 ]; then # (0: strace ran the program itself, and has ended with it)
            # strace detaches and flushes its file (TERM: a script's background job ignores INT)
            kill -TERM "$pid" 2>/dev/null
            wait_until 3 _dead "$pid" || kill -9 "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
        fi
        [ -f "$file" ] && trace_condense <"$file"
    done
    LIB_TRACERS=()
}
LIB_TRACERS=()

# trace_condense < strace-output: the calls one line each, in order, with repeats counted:
# a call repeated N times in a row is one line (accept(3, ...) = -1 EAGAIN  ×412,118), and so
# is a group of up to 8 calls repeated in a row (a loop over several clients), marked with a
# bracket. Addresses and structures become "...", trailing NULLs go, errno names stay without
# their text; a call that strace split ("<unfinished ...>", "<... resumed>") is joined again;
# a call still under way at the end says so. Another process or thread than the first says
# which ([pid N]). TRACE_LINES (default 60) caps the lines printed.
trace_condense() {
    awk -v max="${TRACE_LINES:-60}" '
        function commas(n,  t, out) { t = sprintf("%d", n); out = ""; while (length(t) > 3) { out = "," substr(t, length(t) - 2) out; t = substr(t, 1, length(t) - 3) }; return t out }
        # split the argument list s at top-level commas (not inside "", {}, [])
        function shorten(s,  i, c, depth, inq, arg, out, n, a, k) {
            n = 0; arg = ""; depth = 0; inq = 0
            for (i = 1; i <= length(s); i++) {
                c = substr(s, i, 1)
                if (inq) { arg = arg c; if (c == "\\") { i++; arg = arg substr(s, i, 1) } else if (c == "\"") inq = 0; continue }
                if (c == "\"") inq = 1
                else if (c == "{" || c == "[") depth++
                else if (c == "}" || c == "]") depth--
                if (c == "," && depth == 0) { a[++n] = arg; arg = ""; i++; continue }
                arg = arg c
            }
            if (arg != "" || n > 0) a[++n] = arg
            while (n > 0 && a[n] == "NULL") n--
            if (n > 1 && a[n] ~ /^\[[0-9]+\]$/) a[n] = "..."   # an address length, as accept(3, ..., [16])
            out = ""
            for (k = 1; k <= n; k++) {
                if (a[k] ~ /^0x[0-9a-f]+$/ || a[k] ~ /^\{/ || a[k] ~ /^\[\{/) a[k] = "..."
                if (a[k] == "..." && out ~ /\.\.\.$/) continue
                out = out (k > 1 ? ", " : "") a[k]
            }
            return out
        }
        /^[0-9]+ +(\+\+\+|---)/ { next }
        {
            pid = $1; line = $0; sub(/^[0-9]+ +/, "", line)
            if (first == "") first = pid
            if (line ~ /<detached \.\.\.>/) {   # still in this call when strace let go
                if (line !~ /^<\.\.\./) { pending[pid] = line; sub(/ *<detached \.\.\.>.*$/, "", pending[pid]) }
                next
            }
            if (line ~ /<unfinished \.\.\.>$/) { pending[pid] = line; sub(/ *<unfinished \.\.\.>$/, "", pending[pid]); next }
            if (line ~ /^<\.\.\. [a-z0-9_]+ resumed>/) {
                sub(/^<\.\.\. [a-z0-9_]+ resumed> ?/, "", line)
                line = pending[pid] line; delete pending[pid]
            }
            if (!match(line, /\) += /)) next
            call = substr(line, 1, RSTART); result = substr(line, RSTART + RLENGTH)
            name = call; sub(/\(.*/, "", name)
            args = substr(call, length(name) + 2, length(call) - length(name) - 2)
            sub(/ \([A-Z][^()]*\)$/, "", result)           # -1 EAGAIN (Resource ...) -> -1 EAGAIN
            sub(/ \(in \[.*$/, "", result); sub(/ \(\[\{.*$/, "", result); sub(/ \(Timeout\)$/, " (timeout)", result)
            add((pid != first ? "[pid " pid "] " : "") name "(" shorten(args) ") = " result)
        }
        # The lines so far: text[1..m]; rep[i] > 0 marks the first line of a group of glen[i]
        # lines repeated rep[i] times. Lines before "frozen" belong to closed groups.
        function add(l,  k, i, same) {
            if (k_on) {                                     # inside a repeating group
                if (l == text[g_start + g_pos]) {
                    if (++g_pos == k_on) { rep[g_start]++; g_pos = 0 }
                    return
                }
                # the group ends: the part of a repetition already seen becomes plain lines
                frozen = g_start + k_on; k_on = 0
                for (i = 0; i < g_pos; i++) text[++m] = text[g_start + i]
                g_pos = 0
            }
            text[++m] = l
            for (k = 1; k <= 8 && m - 2 * k + 1 > frozen; k++) {
                same = 1
                for (i = 0; i < k && same; i++) if (text[m - i] != text[m - k - i]) same = 0
                if (same) { m -= k; g_start = m - k + 1; k_on = k; rep[g_start] = 2; glen[g_start] = k; g_pos = 0; return }
            }
        }
        END {
            for (p in pending) {   # a call still under way when strace detached
                name = pending[p]; sub(/\(.*/, "", name)
                args = substr(pending[p], length(name) + 2); sub(/, *$/, "", args)
                add((p != first ? "[pid " p "] " : "") name "(" shorten(args) ", ...)  ... still in it when the trace ended")
            }
            shown = 0
            for (i = 1; i <= m; i++) {
                if (++shown > max) { printf "(%d more lines; TRACE_LINES=%d shows more)\n", m - i + 1, m; break }
                t = text[i]
                if (length(t) > 110) t = substr(t, 1, 107) "..."
                if (rep[i] && glen[i] == 1) { printf "%s  \303\227%s\n", t, commas(rep[i]); continue }
                if (rep[i]) {
                    gend = i + glen[i] - 1; gr = rep[i]; w = 0
                    for (j = i; j <= gend; j++) if (length(text[j]) > w) w = length(text[j])
                    if (w > 110) w = 110
                }
                if (i <= gend) {
                    printf "%-" w "s  %s\n", t, (i == gend ? "\342\224\230 \303\227" commas(gr) : (rep[i] ? "\342\224\220" : "\342\224\202"))
                    continue
                }
                print t
            }
        }'
}
