#!/usr/bin/env bash
# scripts/peek.sh - what the kernel holds for a running server: the system call it sleeps in,
# the bytes waiting in each of its sockets, the clients queued before accept(), and how many
# system calls it makes per second. Only standard Linux tools: /proc, ss (iproute2), and perf
# or strace for the call rate.
#
#   scripts/peek.sh PID              one look (about 1 s: the call rate is measured over 1 s)
#   scripts/peek.sh --watch PID      look again every second (Ctrl-C ends it); the demo's pane
#   scripts/peek.sh --no-rate PID    no call rate (instant)
#
# Environment:
#   PEEK_COUNTER=perf|strace|none   how to count the calls (default: perf if it works here,
#                                   else strace, else none, saying why). perf stat counts inside
#                                   the kernel and slows a busy loop a little; strace stops the
#                                   server at every call, so it slows a busy loop several times.
#   PEEK_SECONDS=1                  how long the calls are counted.
#   COLUMNS                         below 110 (or a terminal that narrow): shorter lines.
#
# Every line is also something you can ask the kernel yourself: see "Looking inside" in
# chapters/chapter-03/README.md (ss -tnp, ss -ltn, /proc/PID/syscall, strace, perf stat).
set -uo pipefail
source "$(dirname "$0")/lib.sh"

usage() {
    echo "usage: scripts/peek.sh [--watch] [--no-rate] PID" >&2
    exit 2
}

WATCH=0 RATE=1 PID=""
while [ $# -gt 0 ]; do
    case $1 in
        --watch) WATCH=1 ;;
        --no-rate) RATE=0 ;;
        -h | --help) usage ;;
        *[!0-9]* | "") echo "peek: not a process id: $1" >&2; usage ;;
        *) PID=$1 ;;
    esac
    shift
done
[ -n "$PID" ] || usage
[ -d "/proc/$PID" ] || { echo "peek: no process $PID" >&2; exit 1; }
command -v ss >/dev/null || { echo "peek: needs ss (sudo apt-get install iproute2)" >&2; exit 1; }
COUNTER=${PEEK_COUNTER:-auto}
SECONDS_=${PEEK_SECONDS:-1}
case $COUNTER in auto | perf | strace | none) ;; *) echo "peek: PEEK_COUNTER must be perf, strace or none" >&2; exit 2 ;; esac
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# A narrow terminal (the demo's pane) gets shorter lines.
COLS=${COLUMNS:-}
[ -z "$COLS" ] && [ -t 1 ] && COLS=$(tput cols 2>/dev/null)
NARROW=0
[ "${COLS:-200}" -lt 110 ] && NARROW=1

# --- system call numbers -> names: load_syscall_names and syscall_name, in lib.sh -----------

# --- sockets --------------------------------------------------------------------------------
# python_addr 127.0.0.1:40312 -> ('127.0.0.1', 40312), the way the stages print a client.
python_addr() {
    local a=$1
    case $a in
        *'*') printf '%s' "$a" ;;
        \[*) printf "('%s', %s)" "$(sed 's/^\[//; s/\]:[0-9]*$//' <<<"$a")" "${a##*:}" ;;
        *) printf "('%s', %s)" "${a%:*}" "${a##*:}" ;;
    esac
}
# ss -Htane: state recv-q send-q local peer ... ino:N. One read for everything below.
read_sockets() {
    # (without the TIME-WAIT rows: nobody owns them, and a busy machine has thousands)
    ss -Htane exclude time-wait 2>/dev/null | awk '{
        ino = 0
        for (i = 6; i <= NF; i++) if ($i ~ /^ino:/) { ino = substr($i, 5) }
        print ino, $1, $2, $3, $4, $5
    }' >"$TMP/ss"
}
# the process's descriptors, "FD LINK" a line (socket:[INODE] for a socket): lib.sh's fd_links
read_fds() { fd_links "$PID" >"$TMP/fds"; }
# describe_fd FD: what the descriptor is, in the workbook's words.
describe_fd() {
    local link ino row state local_ peer
    link=$(awk -v f="$1" '$1 == f { print $2 }' "$TMP/fds")
    case $link in
        "socket:["*)
            ino=${link#socket:[} ino=${ino%]}
            row=$(awk -v i="$ino" '$1 == i' "$TMP/ss")
            if [ -z "$row" ]; then
                printf 'a socket (not TCP)'
                return
            fi
            read -r _ state _ _ local_ peer <<<"$row"
            if [ "$state" = LISTEN ]; then
                printf 'the listening socket %s' "$local_"
            else
                printf 'client %s' "$(python_addr "$peer")"
            fi
            ;;
        "anon_inode:[eventpoll]") printf 'the epoll instance' ;;
        "anon_inode:[io_uring]") printf 'the io_uring instance' ;;
        pipe:*) printf 'a pipe' ;;
        /dev/pts/* | /dev/tty*) printf 'the terminal' ;;
        "") printf 'nothing (closed)' ;;
        *) printf '%s' "$link" ;;
    esac
}
# show_sockets: every TCP socket among the descriptors ($TMP/fds), joined by inode with the
# kernel's table ($TMP/ss), then the connections queued on its listening ports. One awk.
show_sockets() {
    if [ "$NARROW" = 1 ]; then
        echo "TCP sockets (Recv-Q: not read yet; Send-Q: not acknowledged yet):"
    else
        echo "TCP sockets (Recv-Q: bytes arrived, not yet read by the server; Send-Q: bytes sent, not yet acknowledged by the client):"
    fi
    awk -v narrow="$NARROW" '
        function commas(n,  t, out) { t = sprintf("%d", n); out = ""; while (length(t) > 3) { out = "," substr(t, length(t) - 2) out; t = substr(t, 1, length(t) - 3) }; return t out }
        function human(b) {   # 13 -> "13 B", 2605056 -> "2.6 MB (2,605,056 B)"
            if (b < 1000) return sprintf("%d B", b)
            if (b < 1000000) return sprintf("%.0f KB", b / 1000) (narrow ? "" : " (" commas(b) " B)")
            return sprintf("%.1f MB", b / 1000000) (narrow ? "" : " (" commas(b) " B)")
        }
        function pyaddr(a,  port) {   # 127.0.0.1:40312 -> client (127.0.0.1, 40312), as the stages print it
            port = a; sub(/.*:/, "", port); sub(/:[0-9]+$/, "", a); gsub(/[][]/, "", a)
            return "client (\047" a "\047, " port ")"
        }
        FNR == NR {                                       # the kernel table: ino state rq sq local peer
            if ($1 == 0) orphan[++no] = $0; else ino[$1] = $0  # inode 0: no descriptor yet (or any more)
            next
        }
        {                                                 # the descriptors: fd link
            if ($2 !~ /^socket:\[/) next
            i = $2; gsub(/[^0-9]/, "", i)
            if (!(i in ino)) next
            split(ino[i], r, " "); n++
            if (r[2] == "LISTEN") {
                if (narrow) printf "  fd %-3s LISTEN  %-27s accept queue %s (backlog %s)\n", $1, r[5], r[3], r[4]
                else printf "  fd %-3s LISTEN  %-29s accept queue: %s waiting (backlog %s)\n", $1, r[5], r[3], r[4]
                p = r[5]; sub(/.*:/, "", p); listening[p] = 1
            } else
                printf "  fd %-3s %-7s %-" (narrow ? 27 : 29) "s Recv-Q %-" (narrow ? 8 : 22) "s Send-Q %s\n", $1, r[2], pyaddr(r[6]), human(r[3]), human(r[4])
        }
        END {
            if (!n) print "  (none)"
            # Connections the kernel has completed on our listening ports but nobody has
            # accept()ed: no descriptor yet (inode 0), waiting in the accept queue.
            for (k = 1; k <= no; k++) {
                split(orphan[k], r, " ")
                if (r[2] != "ESTAB" && r[2] != "CLOSE-WAIT") continue
                p = r[5]; sub(/.*:/, "", p)
                if (p in listening)
                    if (narrow) printf "  no fd  %-7s %-27s Recv-Q %-8s in the accept queue\n", r[2], pyaddr(r[6]), human(r[3])
                    else printf "  no fd  %-7s %-29s Recv-Q %-22s in the accept queue: connected, not accept()ed yet\n", r[2], pyaddr(r[6]), human(r[3])
            }
        }' "$TMP/ss" <(sort -n "$TMP/fds")
}

# --- where each thread is -------------------------------------------------------------------
STATE_WORDS="R:running S:sleeping D:waiting (uninterruptible) T:stopped t:stopped by a tracer Z:zombie I:idle"
state_word() {
    local w
    for w in $STATE_WORDS; do
        [ "${w%%:*}" = "$1" ] && { printf '%s' "${w#*:}"; return; }
    done
    printf '%s' "$1"
}
FD_FIRST=" io_uring_enter read write close accept accept4 recvfrom sendto recvmsg sendmsg shutdown fcntl readv writev epoll_wait epoll_pwait epoll_pwait2 epoll_ctl ioctl connect bind listen getsockopt setsockopt "
# show_thread TID LABEL: "LABEL: STATE, in NAME(fd N = WHAT) ..." from /proc/PID/task/TID.
show_thread() {
    local tid=$1 label=$2 stat st sc nr a0 a1 a2 a3 name what wchan="" look
    # The state, the kernel function and the call are three reads, one after the other. A thread
    # caught running is looked at again (up to four looks, 20 ms apart): a server that woke for
    # its once-a-second time-out is back asleep in its call by then, a busy loop still runs.
    # (Caught between a wake-up and its read of the call, a sleeping thread also reads as
    # "running": /proc/PID/syscall says "running" unless the thread stays asleep while it looks.)
    for look in 1 2 3 4; do
        proc_stat stat "$PID" "$tid" || return
        st=${stat[0]}
        slurp wchan "/proc/$PID/task/$tid/wchan"
        [ "$wchan" = 0 ] && wchan=""
        if ! sc=$(cat "/proc/$PID/task/$tid/syscall" 2>"$TMP/err"); then
            # /proc/PID/syscall needs ptrace permission (kernel.yama.ptrace_scope = 1 refuses it
            # even for your own processes); /proc/PID/wchan, the kernel function it waits in, not.
            printf '%s: %s%s; its system call is hidden: /proc/%s/task/%s/syscall: %s (it needs permission to ptrace the process)%s\n' \
                "$label" "$(state_word "$st")" "${wchan:+, waiting in the kernel function $wchan()$(wchan_call "$wchan")}" \
                "$PID" "$tid" "$(sed 's/.*: //' "$TMP/err")" "$(as_root_hint)"
            return
        fi
        read -r nr a0 a1 a2 a3 _ <<<"$sc"
        [ "$st" != R ] && [ "$nr" != running ] && break
        [ "$look" -lt 4 ] && sleep 0.02
    done
    case $nr in
        running)
            printf '%s: %s, not inside a system call at this instant (it is computing)\n' "$label" "$(state_word R)"
            return ;;
        -1)
            printf '%s: %s, not in a system call%s\n' "$label" "$(state_word "$st")" "${wchan:+ (kernel: $wchan)}"
            return ;;
    esac
    name=$(syscall_name "$nr")
    case $FD_FIRST in
        *" $name "*) what="fd $((a0)) = $(describe_fd $((a0)))" ;;
        *) what="" ;;
    esac
    case $name in
        select | pselect6) what="watching descriptors 0..$((a0 - 1))" ;;
        poll | ppoll) what="$((a1)) descriptors" ;;
    esac
    case $name in
        poll) what+=", timeout $(timeout_ms "$a2")" ;;
        epoll_wait | epoll_pwait) what+=", timeout $(timeout_ms "$a3")" ;;
    esac
    printf '%s: %s, in system call %s(%s)\n' "$label" "$(state_word "$st")" "$name" "$what"
    case $st:$name in
        S:accept | S:accept4) echo "    asleep until a client connects" ;;
        S:recvfrom | S:read | S:recvmsg) echo "    asleep until that client sends something (or hangs up)" ;;
        S:sendto | S:write | S:sendmsg) echo "    asleep until there is room in that socket's send buffer" ;;
        S:select | S:pselect6 | S:poll | S:ppoll | S:epoll_wait | S:epoll_pwait | S:epoll_pwait2)
            echo "    asleep until one of the watched descriptors is ready (or the timeout)" ;;
        S:io_uring_enter) echo "    asleep until one of the operations it submitted completes" ;;
        S:rt_sigtimedwait | S:rt_sigsuspend | S:pause) echo "    asleep until a signal arrives (Ctrl-C, kill)" ;;
        S:futex) echo "    waiting for another thread (a lock or a condition)" ;;
        S:nanosleep | S:clock_nanosleep) echo "    sleeping for a set time" ;;
        S:wait4 | S:waitid) echo "    waiting for a child process to end" ;;
    esac
}
# wchan_call FUNCTION: the system call a kernel function usually means, for the usual ones.
wchan_call() {
    case $1 in
        inet_csk_accept*) printf ' (accept)' ;;
        wait_woken* | sk_wait_data*) printf ' (recv, most likely)' ;;
        do_select* | core_sys_select* | poll_schedule_timeout* | do_sys_poll*) printf ' (select or poll)' ;;
        ep_poll* | do_epoll_wait*) printf ' (epoll_wait)' ;;
        io_cqring_wait* | io_uring*) printf ' (io_uring_enter)' ;;
    esac
}
timeout_ms() { # a register value, as /proc shows it, read as a C int of milliseconds
    local v=$(($1 & 0xffffffff))
    [ "$v" -ge 2147483648 ] && v=$((v - 4294967296))
    if [ "$v" -lt 0 ]; then printf 'none'; else printf '%d ms' "$v"; fi
}

# --- the call rate --------------------------------------------------------------------------
# The names counted one by one (every other call is summed in "other"): what servers call.
# Every counter hangs on raw_syscalls, whose filters the kernel checks at every call: each one
# slows a busy loop a little, so there are not many. (Per-call tracepoints, syscalls:sys_enter_
# NAME, cost nothing per call but take seconds to switch on: too slow for a look a second.)
WATCHED="accept accept4 recvfrom sendto read write select pselect6 poll ppoll epoll_wait epoll_pwait io_uring_enter"
ERRNOS="11:EAGAIN 4:EINTR 104:ECONNRESET"

# count_perf SECONDS: perf stat on tracepoints with in-kernel filters; prints "name calls
# failed [EAGAIN:count]" lines and "TOTAL calls failed errno:count...", or fails (message in
# $TMP/why). Errnos are counted for all calls together; a name's failures are said to be
# EAGAIN when (nearly) all failures are.
count_perf() {
    local totals=() per_name=() name nr e ids=()
    command -v perf >/dev/null || { echo "perf is not installed (linux-perf)" >"$TMP/why"; return 1; }
    totals+=(-e raw_syscalls:sys_enter -e raw_syscalls:sys_exit --filter 'ret < 0')
    for e in $ERRNOS; do totals+=(-e raw_syscalls:sys_exit --filter "ret == -${e%%:*}"); done
    for name in $WATCHED; do
        nr=${SYSCALL_NUMBER_OF[$name]:-}
        [ -n "$nr" ] || continue # not a call of this architecture
        ids+=("$name")
        per_name+=(-e raw_syscalls:sys_enter --filter "id == $nr" -e raw_syscalls:sys_exit --filter "id == $nr && ret < 0")
    done
    if ! timeout $((${1%.*} + 10)) perf stat -x, "${totals[@]}" "${per_name[@]}" -p "$PID" -- sleep "$1" \
        >/dev/null 2>"$TMP/perf" &&
        # (a kernel whose tracepoints take no filters: the totals alone)
        { ids=(); ! timeout $((${1%.*} + 10)) perf stat -x, "${totals[@]}" -p "$PID" -- sleep "$1" \
            >/dev/null 2>"$TMP/perf"; }; then
        if grep -q 'event syntax error' "$TMP/perf"; then
            # perf finds tracepoints in tracefs, which only root may read on most systems
            echo "this user cannot see the tracepoint raw_syscalls:sys_enter (tracefs, /sys/kernel/tracing, is root's)" >"$TMP/why"
        else
            { grep -m1 -iE 'paranoid|permission|access|denied|not supported|No such|mount|error' "$TMP/perf" ||
                head -n 1 "$TMP/perf"; } >"$TMP/why"
        fi
        if [ -r /proc/sys/kernel/perf_event_paranoid ]; then
            printf '(kernel.perf_event_paranoid = %s; perf needs root, CAP_PERFMON or a lower value, and a readable tracefs)\n' \
                "$(cat /proc/sys/kernel/perf_event_paranoid)" >>"$TMP/why"
        fi
        return 1
    fi
    # one number per event, in the order given (<not counted>: the process never ran: 0)
    grep -E '^([0-9]+|<not counted>),' "$TMP/perf" | cut -d, -f1 | sed 's/<not counted>/0/' >"$TMP/counts"
    if [ "$(wc -l <"$TMP/counts")" -lt 2 ]; then
        echo "perf stat counted nothing: $(head -n 1 "$TMP/perf")" >"$TMP/why"
        return 1
    fi
    awk -v errnos="$ERRNOS" -v names="${ids[*]}" '
        { c[NR] = $1 }
        # The counters are switched on one after the other, a few milliseconds apart: at
        # 200,000 calls a second they differ by a few hundred. Never more failures than calls,
        # and a remainder under 0.5% is that skew, not a call or an errno of its own.
        function clamp(v, top) { return v > top ? top : v }
        function real(v, of) { return v > 2 && v * 200 > of }
        END {
            ne = split(errnos, E, " "); nn = split(names, N, " ")
            c[2] = clamp(c[2], c[1]); line = "TOTAL " c[1] " " c[2]; rest = c[2]
            for (i = 1; i <= ne; i++) { split(E[i], p, ":"); c[2 + i] = clamp(c[2 + i], rest); if (c[2 + i] > 0) { line = line " " p[2] ":" c[2 + i]; rest -= c[2 + i] } }
            if (real(rest, c[2])) line = line " other:" rest
            print line
            all_again = c[2] > 0 && !real(c[2] - c[3], c[2])   # (c[3]: the EAGAIN counter)
            k = 2 + ne; sum = 0
            for (i = 1; i <= nn; i++) {
                calls = c[k + 1]; failed = clamp(c[k + 2], calls); k += 2; sum += calls
                if (calls == 0) continue
                line = N[i] " " calls " " failed
                if (failed > 0 && all_again) line = line " EAGAIN:" failed
                print line
            }
            if (real(c[1] - sum, c[1])) print "(other) " c[1] - sum " ?"
        }' "$TMP/counts"
}

# count_strace SECONDS: strace -f attached for SECONDS; the same lines as count_perf.
count_strace() {
    command -v strace >/dev/null || { echo "strace is not installed" >"$TMP/why"; return 1; }
    timeout -s INT "$1" strace -f -qq -p "$PID" -o "$TMP/trace" 2>"$TMP/strace" &
    wait $!
    if [ ! -s "$TMP/trace" ] && [ -s "$TMP/strace" ]; then
        { head -n 1 "$TMP/strace"
          [ -r /proc/sys/kernel/yama/ptrace_scope ] &&
              echo "(kernel.yama.ptrace_scope = $(cat /proc/sys/kernel/yama/ptrace_scope): strace -p needs the same user and ptrace_scope 0, or root)"
        } >"$TMP/why"
        return 1
    fi
    summarize_strace "$TMP/trace"
}
# summarize_strace FILE: strace -f output -> "name calls failed ERRNO:count..." lines.
summarize_strace() {
    awk '
        # A call counts once its result is seen: a call already under way when strace
        # attached, or still under way when it detached, is not one of this second.
        { res = "" }
        /^[0-9]+ +(\+\+\+|---)/ { next }
        / <unfinished \.\.\.>$/ || /<detached \.\.\.>/ { next }
        /^[0-9]+ +<\.\.\. / { name = $3; res = $0; calls[name]++; total++ }
        /^[0-9]+ +[a-z_0-9]+\(/ { name = $2; sub(/\(.*/, "", name); calls[name]++; total++; res = $0 }
        {
            if (match(res, /= -1 [A-Z][A-Z0-9]+/)) {
                e = substr(res, RSTART + 5, RLENGTH - 5)
                failed[name]++; err[name, e]++; allerr[e]++; nfail++
            }
        }
        END {
            line = "TOTAL " total + 0 " " nfail + 0
            for (e in allerr) line = line " " e ":" allerr[e]
            print line
            for (n in calls) {
                line = n " " calls[n] " " failed[n] + 0
                for (k in err) { split(k, p, SUBSEP); if (p[1] == n) line = line " " p[2] ":" err[k] }
                print line
            }
        }' "$1"
}

# print_counts SECONDS HOW: the lines of count_* as a student reads them, per second.
print_counts() {
    local secs=$1 how=$2
    awk -v s="$secs" -v how="$how" '
        function commas(n,  t, out) { t = sprintf("%d", n); out = ""; while (length(t) > 3) { out = "," substr(t, length(t) - 2) out; t = substr(t, 1, length(t) - 3) }; return t out }
        function rate(n) { return commas(n / s + 0.5) }
        function errs(  i, out) { out = ""; for (i = 4; i <= NF; i++) { split($i, p, ":"); out = out (out ? ", " : "") p[1] " " rate(p[2]) }; return out }
        $1 == "TOTAL" {
            printf "calls/s: %s, failed/s: %s%s   [%s]\n", rate($2), rate($3), ($3 > 0 ? " (" errs() ")" : ""), how
            next
        }
        { lines[++n] = $0 }
        END {
            for (i = 1; i <= n; i++) {
                $0 = lines[i]
                if ($2 / s < 0.5) continue
                if ($3 == "?") { printf "  %-15s %12s/s\n", $1, rate($2); continue }
                printf "  %-15s %12s/s%s\n", $1, rate($2), ($3 > 0 ? (($3 >= $2 - ($2 > 20000 ? $2 / 10000 : 0)) ? "  all failed: " : "  failed " rate($3) "/s: ") errs() : "")
            }
        }' < <(sort -k2,2nr "$3")
}

show_rate() {
    local counter=$COUNTER why_perf="" out=$TMP/counts.txt how
    if [ "$counter" = none ]; then
        echo "calls/s: not counted (PEEK_COUNTER=none; perf stat -e raw_syscalls:sys_enter -p $PID counts them)"
        return
    fi
    if [ "$counter" = auto ] || [ "$counter" = perf ]; then
        if count_perf "$SECONDS_" >"$out"; then
            if [ "$NARROW" = 1 ]; then how="perf stat"; else how="perf stat, counted inside the kernel over ${SECONDS_} s: it slows a busy loop far less than strace"; fi
            print_counts "$SECONDS_" "$how" "$out"
            return
        fi
        why_perf=$(tr '\n' ' ' <"$TMP/why")
        if [ "$counter" = perf ]; then
            echo "calls/s: cannot count with perf: $why_perf$(as_root_hint)"
            return
        fi
        if [ "$WATCH" = 1 ]; then # strace on every look would slow the server all the time
            echo "calls/s: not counted: perf cannot here ($why_perf), and strace at every look would keep slowing the server (PEEK_COUNTER=strace to use it anyway)$(as_root_hint)"
            return
        fi
    fi
    if count_strace "$SECONDS_" >"$out"; then
        if [ "$NARROW" = 1 ]; then how="strace: it slows the server"; else how="strace -f over ${SECONDS_} s: strace stops the server at every call, so a busy loop runs several times slower than without it${why_perf:+; perf could not: $why_perf}"; fi
        print_counts "$SECONDS_" "$how" "$out"
        return
    fi
    echo "calls/s: cannot count them: ${why_perf:+perf: $why_perf; }strace: $(tr '\n' ' ' <"$TMP/why")$(as_root_hint)"
}
# as_root_hint: where root could do what this user cannot, say so.
as_root_hint() { [ "$(id -u)" = 0 ] || printf '; as root it can: sudo scripts/peek.sh %s' "$PID"; }

# show_children: a server that forks a process per client keeps the client sockets there:
# where each child is and what it holds.
show_children() {
    local parent=$PID child
    for child in $(children_of "$parent"); do
        PID=$child
        read_fds
        printf 'child process %s (%s):\n' "$child" "$(cat "/proc/$child/comm" 2>/dev/null)"
        show_thread "$child" "  state"
        show_sockets | tail -n +2 | sed 's/^/  /'
    done
    PID=$parent
    read_fds
}

# --- one look -------------------------------------------------------------------------------
peek_once() {
    local comm rss t0 t1 hz tids tid n=0 cpu="" started ended tracer
    slurp comm "/proc/$PID/comm" || { echo "peek: process $PID has ended"; return 1; }
    proc_field rss "$PID" VmRSS
    if [ "$RATE" = 1 ]; then
        # The rate's second also gives the CPU share: one sample for both. It starts once perf
        # (or strace) is set up: starting them takes CPU too, and would lower the server's share.
        hz=$(getconf CLK_TCK)
        show_rate >"$TMP/rate" &
        sleep 0.2
        t0=$(cpu_ticks "$PID") || return 1
        started=$(date +%s%N)
        wait $!
        ended=$(date +%s%N)
        t1=$(cpu_ticks "$PID") || { echo "peek: process $PID has ended"; return 1; }
        # (only over a real sample: PEEK_COUNTER=none takes no time)
        cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" -v ns=$((ended - started)) \
            'BEGIN { if (ns > 2e8) printf "%d%%", (b - a) * 100 / hz / (ns / 1e9) }')
    fi
    read_fds
    read_sockets
    printf 'process %s (%s), memory (RSS) %s KB%s\n' "$PID" "$comm" "${rss:-?}" "${cpu:+, CPU $cpu of one core}"
    proc_field tracer "$PID" TracerPid
    if [ -n "$tracer" ] && [ "$tracer" != 0 ]; then
        echo "  traced by process $tracer ($(cat "/proc/$tracer/comm" 2>/dev/null)): it stops at every system call, so it runs slower than alone"
    fi
    tids=$(ls "/proc/$PID/task" 2>/dev/null | sort -n)
    for tid in $tids; do n=$((n + 1)); done
    if [ "$n" -le 1 ]; then
        show_thread "$PID" "state"
    else
        echo "threads: $n"
        for tid in $tids; do show_thread "$tid" "  thread $tid ($(cat "/proc/$PID/task/$tid/comm" 2>/dev/null))"; done
    fi
    show_sockets
    show_children
    [ "$RATE" = 1 ] && cat "$TMP/rate"
    return 0
}

load_syscall_names
if [ "$WATCH" = 1 ]; then
    trap 'rm -rf "$TMP"; printf "\n"; exit 0' INT TERM
    while [ -d "/proc/$PID" ]; do
        started=$(date +%s%N)
        # draw the whole look first, then replace the screen with it: no flicker
        if peek_once >"$TMP/screen" 2>&1; then
            printf '\e[H\e[2J%s\n' "$(date +%T)"
            cat "$TMP/screen"
        fi
        # one look a second (a look with a call rate takes that second already)
        sleep "$(awk -v a="$started" -v b="$(date +%s%N)" 'BEGIN { s = 1 - (b - a) / 1e9; print (s > 0 ? s : 0) }')"
    done
    echo "peek: process $PID has ended"
    exit 0
fi
peek_once
