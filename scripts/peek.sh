#!/usr/bin/env bash
# scripts/peek.sh - what the kernel holds for a running server: the system call each thread
# sleeps in, the bytes waiting in each of its sockets, the clients queued before accept(), its
# CPU split into user and kernel time, and how many system calls it makes per second.
#
#   scripts/peek.sh PID              one look (about 1 s: CPU and calls are measured over 1 s)
#   scripts/peek.sh --watch PID      look again every second (Ctrl-C ends it); the demo's pane
#   scripts/peek.sh --no-rate PID    no CPU share, no call rate (instant)
#   scripts/peek.sh --kv PID         the same facts as key=value lines, for scripts: each line
#                                    starts with what=process|cpu|thread|socket|child|rate|call
#                                    and goes on with the probe's fields (scripts/tools/probe.c)
#   PEEK_KV=FILE scripts/peek.sh PID the human look, and its facts as --kv writes them in FILE
#                                    (the replay shows the one and reasons on the other)
#
# Environment:
#   PEEK_COUNTER=perf|strace|none   how to count the calls (default: perf if it works here,
#                                   else strace, else none, saying why). perf stat counts inside
#                                   the kernel and slows a busy loop a little; strace stops the
#                                   server at every call, so it slows a busy loop several times.
#   PEEK_SECONDS=1                  how long CPU and calls are measured.
#   COLUMNS                         below 110 (or a terminal that narrow): shorter lines.
#   LANG / LANGUAGE                 es...: Spanish (scripts/i18n.sh).
#
# Every fact comes from build/tools/probe (key=value lines); this script only formats them,
# and counts calls with perf or strace. Each line is also something you can ask the kernel
# yourself: see "Looking inside" in chapters/chapter-03/README.md (ss -tnp, ss -ltn,
# /proc/PID/syscall, /proc/PID/stat, strace, perf stat).
set -uo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/i18n.sh"

usage() {
    L "usage: scripts/peek.sh [--watch] [--no-rate] [--kv] PID" "uso: scripts/peek.sh [--watch] [--no-rate] [--kv] PID" >&2
    echo >&2
    exit 2
}

WATCH=0 RATE=1 KV_ONLY=0 PID=""
while [ $# -gt 0 ]; do
    case $1 in
        --watch) WATCH=1 ;;
        --no-rate) RATE=0 ;;
        --kv) KV_ONLY=1 ;;
        -h | --help) usage ;;
        *[!0-9]* | "") Lf "peek: not a process id: %s\n" "peek: no es un número de proceso: %s\n" "$1" >&2; usage ;;
        *) PID=$1 ;;
    esac
    shift
done
[ -n "$PID" ] || usage
_probe state "$PID" >/dev/null || { Lf "peek: no process %s\n" "peek: no hay ningún proceso %s\n" "$PID" >&2; exit 1; }
COUNTER=${PEEK_COUNTER:-auto}
SECONDS_=${PEEK_SECONDS:-1}
case $COUNTER in auto | perf | strace | none) ;; *) L "peek: PEEK_COUNTER must be perf, strace or none" "peek: PEEK_COUNTER tiene que ser perf, strace o none" >&2; echo >&2; exit 2 ;; esac
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# A narrow terminal (the demo's pane) gets shorter lines.
COLS=${COLUMNS:-}
[ -z "$COLS" ] && [ -t 1 ] && COLS=$(tput cols 2>/dev/null)
NARROW=0
[ "${COLS:-200}" -lt 110 ] && NARROW=1

commas() { # 1234567 -> 1,234,567 (1.234.567 in Spanish)
    local t=$1 out="" sep=,
    lang_es && sep=.
    while [ ${#t} -gt 3 ]; do out=$sep${t: -3}$out t=${t:0:${#t}-3}; done
    printf '%s%s' "$t" "$out"
}
human() { # 13 -> "13 B", 2605056 -> "2.6 MB (2,605,056 B)"
    local b=$1
    if [ "$b" -lt 1000 ]; then printf '%d B' "$b"; return; fi
    if [ "$b" -lt 1000000 ]; then printf '%d KB' $(((b + 500) / 1000)); else printf '%d.%d MB' $((b / 1000000)) $((b % 1000000 / 100000)); fi
    [ "$NARROW" = 1 ] || printf ' (%s B)' "$(commas "$b")"
}
pyaddr() { # 127.0.0.1:40312 -> ('127.0.0.1', 40312), the way the stages print a client
    local a=${1%:*}
    a=${a#[} a=${a%]}
    printf "('%s', %s)" "$a" "${1##*:}"
}

# --- sockets and descriptors (probe sockets, probe fds) -------------------------------------
# describe_fd PID FD: what the descriptor is, in the workbook's words.
describe_fd() {
    local line target=""
    while IFS= read -r line; do
        probe_kv "$line"
        if [ "${KV[fd]}" = "$2" ]; then
            case ${KV[state]} in
                LISTEN) Lf 'the listening socket %s' 'el socket que escucha, %s' "${KV[local]}" ;;
                *) Lf 'client %s' 'cliente %s' "$(pyaddr "${KV[remote]}")" ;;
            esac
            return
        fi
    done <"$TMP/sockets.$1"
    while IFS= read -r line; do
        [ "${line%% *}" = "fd=$2" ] && target=${line#* target=}
    done <"$TMP/fds.$1"
    case $target in
        "socket:["*) L 'a socket (not TCP)' 'un socket (no TCP)' ;;
        "anon_inode:[eventpoll]") L 'the epoll instance' 'la instancia de epoll' ;;
        "anon_inode:[io_uring]") L 'the io_uring instance' 'la instancia de io_uring' ;;
        pipe:*) L 'a pipe' 'una tubería (pipe)' ;;
        /dev/pts/* | /dev/tty*) L 'the terminal' 'la terminal' ;;
        "") L 'nothing (closed)' 'nada (cerrado)' ;;
        *) printf '%s' "$target" ;;
    esac
}

# show_sockets PID: every TCP socket PID holds, then the connections queued on its listening
# ports, from the probe's lines.
show_sockets() {
    local line w=29 qw=22
    [ "$NARROW" = 1 ] && w=27 qw=8
    if [ "$NARROW" = 1 ]; then
        L "TCP sockets (Recv-Q: not read yet; Send-Q: not acknowledged yet):" "sockets TCP (Recv-Q: sin leer aún; Send-Q: sin confirmar aún):"
    else
        L "TCP sockets (Recv-Q: bytes arrived, not yet read by the server; Send-Q: bytes sent, not yet acknowledged by the client):" \
            "sockets TCP (Recv-Q: bytes que llegaron y el servidor aún no leyó; Send-Q: bytes enviados que el cliente aún no confirmó):"
    fi
    echo
    [ -s "$TMP/sockets.$1" ] || { L "  (none)" "  (ninguno)"; echo; return; }
    while IFS= read -r line; do
        probe_kv "$line"
        if [ "${KV[state]}" = LISTEN ]; then
            if [ "$NARROW" = 1 ]; then
                Lf "  fd %-3s LISTEN  %-${w}s accept queue %s (backlog %s)\n" "  fd %-3s LISTEN  %-${w}s cola de accept %s (backlog %s)\n" \
                    "${KV[fd]}" "${KV[local]}" "${KV[accept_queue]}" "${KV[backlog]}"
            else
                Lf "  fd %-3s LISTEN  %-${w}s accept queue: %s waiting (backlog %s)\n" "  fd %-3s LISTEN  %-${w}s cola de accept: %s esperando (backlog %s)\n" \
                    "${KV[fd]}" "${KV[local]}" "${KV[accept_queue]}" "${KV[backlog]}"
            fi
        elif [ "${KV[queued]:-0}" = 1 ]; then
            if [ "$NARROW" = 1 ]; then
                Lf "  no fd  %-7s %-${w}s Recv-Q %-${qw}s in the accept queue\n" "  sin fd %-7s %-${w}s Recv-Q %-${qw}s en la cola de accept\n" \
                    "${KV[state]}" "$(L client cliente) $(pyaddr "${KV[remote]}")" "$(human "${KV[recvq]}")"
            else
                Lf "  no fd  %-7s %-${w}s Recv-Q %-${qw}s in the accept queue: connected, not accept()ed yet\n" \
                    "  sin fd %-7s %-${w}s Recv-Q %-${qw}s en la cola de accept: conectado, nadie lo ha aceptado (accept) aún\n" \
                    "${KV[state]}" "$(L client cliente) $(pyaddr "${KV[remote]}")" "$(human "${KV[recvq]}")"
            fi
        else
            printf "  fd %-3s %-7s %-${w}s Recv-Q %-${qw}s Send-Q %s\n" "${KV[fd]}" "${KV[state]}" \
                "$(L client cliente) $(pyaddr "${KV[remote]}")" "$(human "${KV[recvq]}")" "$(human "${KV[sendq]}")"
        fi
    done <"$TMP/sockets.$1"
}

# --- where each thread is (probe threads) ---------------------------------------------------
state_word() {
    case $1 in
        R) L running "en marcha" ;; S) L sleeping durmiendo ;; D) L "waiting (uninterruptible)" "esperando (no interrumpible)" ;;
        T) L stopped detenido ;; t) L "stopped by a tracer" "detenido por un trazador" ;; Z) L zombie zombi ;; I) L idle inactivo ;;
        *) printf '%s' "$1" ;;
    esac
}
# wchan_call FUNCTION: the system call a kernel function usually means, for the usual ones.
wchan_call() {
    case $1 in
        inet_csk_accept*) printf ' (accept)' ;;
        wait_woken* | sk_wait_data*) printf ' (recv)' ;;
        do_select* | core_sys_select* | poll_schedule_timeout* | do_sys_poll*) printf ' (select, poll)' ;;
        ep_poll* | do_epoll_wait*) printf ' (epoll_wait)' ;;
        io_cqring_wait* | io_uring*) printf ' (io_uring_enter)' ;;
    esac
}
# show_thread PID LABEL LINE: "LABEL: STATE, in NAME(fd N = WHAT)" and why it sleeps there,
# from one line of probe threads.
show_thread() {
    local pid=$1 label=$2 name what="" timeout=""
    probe_kv "$3"
    name=${KV[syscall]}
    case $name in
        running)
            if [ "$NARROW" = 1 ]; then
                Lf "%s: running: not blocked (on a core, user or kernel mode)\n" "%s: en marcha: no bloqueado (en un núcleo, modo usuario o núcleo)\n" "$label"
            else
                Lf "%s: running: not blocked in a system call at this instant (on a core, in user or kernel mode)\n" \
                    "%s: en marcha: no está bloqueado en ninguna llamada al sistema en este instante (en un núcleo, en modo usuario o en el kernel)\n" "$label"
            fi
            return ;;
        none)
            Lf "%s: %s, not in a system call%s\n" "%s: %s, fuera de toda llamada al sistema%s\n" "$label" "$(state_word "${KV[state]}")" "${KV[wchan]:+ (kernel: ${KV[wchan]})}"
            return ;;
        hidden)
            Lf "%s: %s%s; its system call is hidden: /proc/%s/task/%s/syscall: %s (it needs permission to ptrace the process)%s\n" \
                "%s: %s%s; su llamada al sistema no se ve: /proc/%s/task/%s/syscall: %s (hace falta permiso para hacer ptrace al proceso)%s\n" \
                "$label" "$(state_word "${KV[state]}")" "${KV[wchan]:+, $(L "waiting in the kernel function" "esperando en la función del kernel") ${KV[wchan]}()$(wchan_call "${KV[wchan]}")}" \
                "$pid" "${KV[tid]}" "${KV[error]//_/ }" "$(as_root_hint)"
            return ;;
    esac
    [ -n "${KV[fd]:-}" ] && what="fd ${KV[fd]} = $(describe_fd "$pid" "${KV[fd]}")"
    case $name in
        select | pselect6) what=$(Lf "watching descriptors 0..%s" "vigilando los descriptores 0..%s" $((${KV[nfds]} - 1))) ;;
        poll | ppoll) what=$(Lf "%s descriptors" "%s descriptores" "${KV[nfds]}") ;;
    esac
    if [ -n "${KV[timeout_ms]:-}" ]; then
        if [ "${KV[timeout_ms]}" -lt 0 ]; then timeout=$(L ", timeout none" ", sin plazo"); else timeout=$(Lf ", timeout %s ms" ", plazo %s ms" "${KV[timeout_ms]}"); fi
        what+=$timeout
    fi
    Lf "%s: %s, in system call %s(%s)\n" "%s: %s, en la llamada al sistema %s(%s)\n" "$label" "$(state_word "${KV[state]}")" "$name" "$what"
    [ "${KV[state]}" = S ] || return 0
    case $name in
        accept | accept4) L "    asleep until a client connects" "    duerme hasta que se conecte un cliente" ;;
        recvfrom | read | recvmsg) L "    asleep until that client sends something (or hangs up)" "    duerme hasta que ese cliente envíe algo (o cuelgue)" ;;
        sendto | write | sendmsg) L "    asleep until there is room in that socket's send buffer" "    duerme hasta que haya sitio en el búfer de envío de ese socket" ;;
        select | pselect6 | poll | ppoll | epoll_wait | epoll_pwait | epoll_pwait2)
            L "    asleep until one of the watched descriptors is ready (or the timeout)" "    duerme hasta que alguno de los descriptores vigilados esté listo (o venza el plazo)" ;;
        io_uring_enter) L "    asleep until one of the operations it submitted completes" "    duerme hasta que termine alguna de las operaciones que encargó" ;;
        rt_sigtimedwait | rt_sigsuspend | pause) L "    asleep until a signal arrives (Ctrl-C, kill)" "    duerme hasta que llegue una señal (Ctrl-C, kill)" ;;
        futex) L "    waiting for another thread (a lock or a condition)" "    espera a otro hilo (un cerrojo o una condición)" ;;
        nanosleep | clock_nanosleep) L "    sleeping for a set time" "    duerme un tiempo fijo" ;;
        wait4 | waitid) L "    waiting for a child process to end" "    espera a que termine un proceso hijo" ;;
        *) return 0 ;;
    esac
    echo
}
show_threads() { # PID [INDENT]
    local line n label
    n=$(wc -l <"$TMP/threads.$1")
    [ "$n" -gt 1 ] && { Lf "%sthreads: %s\n" "%shilos: %s\n" "${2:-}" "$n"; }
    while IFS= read -r line; do
        probe_kv "$line"
        if [ "$n" -gt 1 ]; then
            label="${2:-}  $(L thread hilo) ${KV[tid]} (${line##* comm=})"
        else
            label="${2:-}$(L state estado)"
        fi
        show_thread "$1" "$label" "$line"
    done <"$TMP/threads.$1"
}

# --- CPU: the probe's cpu line, where the core goes -------------------------------------------
show_cpu() {
    probe_kv "$(cat "$TMP/cpu")"
    [ -n "${KV[cpu_pct]:-}" ] || return 0
    local cpu=${KV[cpu_pct]} user=${KV[user_pct]} kern=${KV[kernel_pct]} share=${KV[kernel_share]}
    local busy=${KV[busy]} slept=${KV[voluntary]}
    if [ "$NARROW" = 1 ]; then
        Lf "CPU %s%% of one core: user %s%%, kernel %s%%\n" "CPU %s%% de un núcleo: usuario %s%%, núcleo %s%%\n" "$cpu" "$user" "$kern"
    else
        Lf "CPU %s%% of one core over %s s: %s%% in user mode (its own code), %s%% in the kernel (inside system calls)\n" \
            "CPU %s%% de un núcleo durante %s s: %s%% en modo usuario (su propio código), %s%% en el kernel (dentro de llamadas al sistema)\n" \
            "$cpu" "$(L "$SECONDS_" "${SECONDS_/./,}")" "$user" "$kern"
    fi
    if [ "${KV[wanted_pct]}" -ge $((cpu + 30)) ] && [ "$NARROW" = 1 ]; then
        Lf "  ready to run %s%% of the time: this machine is busy\n" "  listo para ejecutarse el %s%% del tiempo: la máquina está ocupada\n" "${KV[wanted_pct]}"
    elif [ "${KV[wanted_pct]}" -ge $((cpu + 30)) ]; then
        Lf "  it was ready to run %s%% of the time, but got a core for only %s%%: this machine is busy\n" \
            "  estuvo listo para ejecutarse el %s%% del tiempo, pero solo tuvo un núcleo el %s%%: esta máquina está ocupada\n" \
            "${KV[wanted_pct]}" "${KV[ran_pct]}"
    fi
    if [ "$busy" = 1 ]; then
        Lf "  it never went to sleep (%s voluntary context switches): a busy loop\n" \
            "  no se durmió ni una vez (%s cambios de contexto voluntarios): un bucle activo\n" "$slept"
    fi
    # (the split of a few clock ticks says little: only from 3 ticks, 30 ms at 100 Hz, on)
    [ $((${KV[utime]} + ${KV[stime]})) -ge 3 ] || return 0
    if [ "$share" -ge 50 ]; then
        failing_calls
        if [ -n "$FAILING" ]; then
            Lf "  ~%s%% of its CPU is in the kernel: failing %s calls%s\n" "  ~%s%% de su CPU está en el kernel: llamadas %s que fallan%s\n" \
                "$share" "$FAILING" "${FAILING_WITH:+ ($FAILING_WITH)}"
        else
            Lf "  ~%s%% of its CPU is in the kernel: its system calls\n" "  ~%s%% de su CPU está en el kernel: sus llamadas al sistema\n" "$share"
        fi
    else
        Lf "  ~%s%% of its CPU is in user mode: its own code\n" "  ~%s%% de su CPU está en modo usuario: su propio código\n" $((100 - share))
    fi
}
# failing_calls: FAILING="accept()/recvfrom()" when (nearly) all the calls counted failed, and
# FAILING_WITH=EAGAIN when (nearly) all of those failed with it.
failing_calls() {
    FAILING="" FAILING_WITH=""
    [ -s "$TMP/rate.kv" ] || return 0
    # (what=rate counter=none: not counted)
    local line names="" total="" failed="" again=""
    while IFS= read -r line; do
        probe_kv "$line"
        case ${KV[what]} in
            rate) total=${KV[calls_per_s]:-} failed=${KV[failed_per_s]:-0} again=${KV[eagain_per_s]:-0} ;;
            call) [ "${KV[failed_per_s]:-0}" -gt 0 ] && names+="${names:+/}${KV[name]}()" ;;
        esac
    done <"$TMP/rate.kv"
    [ -n "$total" ] && [ "$total" -gt 0 ] && [ "$failed" -ge $((total * 9 / 10)) ] && [ -n "$names" ] || return 0
    FAILING=$names
    [ "$again" -ge $((failed * 9 / 10)) ] && FAILING_WITH=EAGAIN
    return 0
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
    command -v perf >/dev/null || { L "perf is not installed (linux-perf)" "perf no está instalado (linux-perf)" >"$TMP/why"; return 1; }
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
            L "this user cannot see the tracepoint raw_syscalls:sys_enter (tracefs, /sys/kernel/tracing, is root's)" \
                "este usuario no puede ver el punto de traza raw_syscalls:sys_enter (tracefs, /sys/kernel/tracing, es de root)" >"$TMP/why"
            echo >>"$TMP/why"
        else
            { grep -m1 -iE 'paranoid|permission|access|denied|not supported|No such|mount|error' "$TMP/perf" ||
                head -n 1 "$TMP/perf"; } >"$TMP/why"
        fi
        if [ -r /proc/sys/kernel/perf_event_paranoid ]; then
            Lf '(kernel.perf_event_paranoid = %s; perf needs root, CAP_PERFMON or a lower value, and a readable tracefs)\n' \
                '(kernel.perf_event_paranoid = %s; perf necesita root, CAP_PERFMON o un valor más bajo, y poder leer tracefs)\n' \
                "$(cat /proc/sys/kernel/perf_event_paranoid)" >>"$TMP/why"
        fi
        return 1
    fi
    # one number per event, in the order given (<not counted>: the process never ran: 0)
    grep -E '^([0-9]+|<not counted>),' "$TMP/perf" | cut -d, -f1 | sed 's/<not counted>/0/' >"$TMP/counts"
    if [ "$(wc -l <"$TMP/counts")" -lt 2 ]; then
        Lf "perf stat counted nothing: %s\n" "perf stat no contó nada: %s\n" "$(head -n 1 "$TMP/perf")" >"$TMP/why"
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
    command -v strace >/dev/null || { L "strace is not installed" "strace no está instalado" >"$TMP/why"; return 1; }
    timeout -s INT "$1" strace -f -qq -p "$PID" -o "$TMP/trace" 2>"$TMP/strace" &
    wait $!
    if [ ! -s "$TMP/trace" ] && [ -s "$TMP/strace" ]; then
        { head -n 1 "$TMP/strace"
          [ -r /proc/sys/kernel/yama/ptrace_scope ] &&
              Lf "(kernel.yama.ptrace_scope = %s: strace -p needs the same user and ptrace_scope 0, or root)\n" \
                  "(kernel.yama.ptrace_scope = %s: strace -p necesita el mismo usuario y ptrace_scope 0, o root)\n" \
                  "$(cat /proc/sys/kernel/yama/ptrace_scope)"
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

# rate_kv SECONDS HOW FILE: the lines of count_* as key=value lines, per second.
rate_kv() {
    awk -v s="$1" -v how="$2" '
        function rate(n) { return int(n / s + 0.5) }
        function errs(prefix,  i, out) { out = ""; for (i = 4; i <= NF; i++) { split($i, p, ":"); out = out " " prefix tolower(p[1]) "_per_s=" rate(p[2]) }; return out }
        $1 == "TOTAL" { print "what=rate counter=" how " seconds=" s " calls_per_s=" rate($2) " failed_per_s=" rate($3) errs("") ; next }
        $3 == "?" { print "what=call name=other calls_per_s=" rate($2) " failed_per_s=0"; next }
        { print "what=call name=" $1 " calls_per_s=" rate($2) " failed_per_s=" rate($3) errs("") }' "$3"
}
# print_counts HOW: the rate lines ($TMP/rate.kv) as a student reads them: the totals, then
# each call, the most frequent first.
print_counts() {
    local line key errs
    while IFS= read -r line; do
        probe_kv "$line"
        errs=""
        for key in $(printf '%s\n' "${!KV[@]}" | sort); do
            case $key in calls_per_s | failed_per_s) ;; *_per_s) errs+="${errs:+, }$(tr a-z A-Z <<<"${key%_per_s}") $(commas "${KV[$key]}")" ;; esac
        done
        if [ "${KV[what]}" = rate ]; then
            Lf "calls/s: %s, failed/s: %s%s   [%s]\n" "llamadas/s: %s, fallidas/s: %s%s   [%s]\n" \
                "$(commas "${KV[calls_per_s]}")" "$(commas "${KV[failed_per_s]}")" "${errs:+ ($errs)}" "$1"
            continue
        fi
        [ "${KV[calls_per_s]}" -gt 0 ] || continue
        printf '  %-15s %12s/s' "${KV[name]}" "$(commas "${KV[calls_per_s]}")"
        if [ "${KV[failed_per_s]}" -gt 0 ]; then
            # ("all failed" also when a few are short of it: perf's counters start ms apart)
            if [ "${KV[failed_per_s]}" -ge $((${KV[calls_per_s]} - (${KV[calls_per_s]} > 20000 ? ${KV[calls_per_s]} / 10000 : 0))) ]; then
                Lf "  all failed: %s" "  todas fallan: %s" "$errs"
            else
                Lf "  failed %s/s: %s" "  fallan %s/s: %s" "$(commas "${KV[failed_per_s]}")" "$errs"
            fi
        fi
        echo
    done < <(grep '^what=rate ' "$TMP/rate.kv"; grep '^what=call ' "$TMP/rate.kv" | sort -t' ' -k3.13,3nr)
}

# show_rate: count the calls into $TMP/rate.kv and print them (or why they were not counted).
# not_counted WHY: the calls were not counted: "calls/s: WHY" for the reader, and WHY in the
# facts (what=rate counter=none why=..., the rest of the line) for the replay to quote.
not_counted() {
    printf '%s: %s\n' "$(L calls/s llamadas/s)" "$1"
    echo "what=rate counter=none why=$1" >"$TMP/rate.kv"
}
show_rate() {
    local counter=$COUNTER why_perf="" out=$TMP/counts.txt how
    echo "what=rate counter=none" >"$TMP/rate.kv" # (replaced once the calls are counted)
    if [ "$counter" = none ]; then
        not_counted "$(Lf "not counted (PEEK_COUNTER=none; perf stat -e raw_syscalls:sys_enter -p %s counts them)" \
            "sin contar (PEEK_COUNTER=none; perf stat -e raw_syscalls:sys_enter -p %s las cuenta)" "$PID")"
        return
    fi
    if [ "$counter" = auto ] || [ "$counter" = perf ]; then
        if count_perf "$SECONDS_" >"$out"; then
            rate_kv "$SECONDS_" perf "$out" >"$TMP/rate.kv"
            if [ "$NARROW" = 1 ]; then how="perf stat"; else how=$(Lf "perf stat, counted inside the kernel over %s s: it slows a busy loop far less than strace" "perf stat, contadas dentro del kernel durante %s s: frena un bucle activo mucho menos que strace" "$(L "$SECONDS_" "${SECONDS_/./,}")"); fi
            print_counts "$how"
            return
        fi
        why_perf=$(tr '\n' ' ' <"$TMP/why")
        if [ "$counter" = perf ]; then
            not_counted "$(Lf "cannot count with perf: %s%s" "perf no puede contarlas: %s%s" "$why_perf" "$(as_root_hint)")"
            return
        fi
        if [ "$WATCH" = 1 ]; then # strace on every look would slow the server all the time
            not_counted "$(Lf "not counted: perf cannot here (%s), and strace at every look would keep slowing the server (PEEK_COUNTER=strace to use it anyway)%s" \
                "sin contar: perf no puede aquí (%s), y strace en cada vistazo frenaría el servidor todo el rato (PEEK_COUNTER=strace para usarlo de todos modos)%s" \
                "$why_perf" "$(as_root_hint)")"
            return
        fi
    fi
    if count_strace "$SECONDS_" >"$out"; then
        rate_kv "$SECONDS_" strace "$out" >"$TMP/rate.kv"
        if [ "$NARROW" = 1 ]; then how=$(L "strace: it slows the server" "strace: frena el servidor"); else
            how=$(Lf "strace -f over %s s: strace stops the server at every call, so a busy loop runs several times slower than without it" \
                "strace -f durante %s s: strace detiene el servidor en cada llamada, así que un bucle activo va varias veces más lento que sin él" "$(L "$SECONDS_" "${SECONDS_/./,}")")
            [ -n "$why_perf" ] && how+=$(Lf "; perf could not: %s" "; perf no pudo: %s" "$why_perf")
        fi
        print_counts "$how"
        return
    fi
    not_counted "$(Lf "cannot count them: %sstrace: %s%s" "no se pueden contar: %sstrace: %s%s" \
        "${why_perf:+perf: $why_perf; }" "$(tr '\n' ' ' <"$TMP/why")" "$(as_root_hint)")"
}
# as_root_hint: where root could do what this user cannot, say so.
as_root_hint() { [ "$(id -u)" = 0 ] || Lf '; as root it can: sudo scripts/peek.sh %s' '; como root sí puede: sudo scripts/peek.sh %s' "$PID"; }

# --- one look -------------------------------------------------------------------------------
# look PID: the probe's answers for PID into $TMP/{threads,sockets,fds}.PID
look() {
    _probe threads "$1" >"$TMP/threads.$1" 2>/dev/null
    _probe sockets "$1" >"$TMP/sockets.$1" 2>/dev/null
    _probe fds "$1" >"$TMP/fds.$1" 2>/dev/null
}
# emit_kv: the facts of this look as key=value lines (--kv, PEEK_KV).
emit_kv() {
    local child
    echo "what=process pid=$PID comm=$comm rss_kb=$rss tracer=$tracer"
    [ -s "$TMP/cpu" ] && sed 's/^/what=cpu /' "$TMP/cpu"
    sed "s/^/what=thread pid=$PID /" "$TMP/threads.$PID"
    sed "s/^/what=socket pid=$PID /" "$TMP/sockets.$PID"
    for child in $(sed 's/^pid=//' "$TMP/children"); do
        echo "what=child pid=$child parent=$PID"
        sed "s/^/what=thread pid=$child /" "$TMP/threads.$child"
        sed "s/^/what=socket pid=$child /" "$TMP/sockets.$child"
    done
    [ -s "$TMP/rate.kv" ] && cat "$TMP/rate.kv"
    return 0
}
peek_once() {
    local child comm rss tracer
    rm -f "$TMP/cpu" "$TMP/rate.kv" "$TMP/rate"
    : >"$TMP/cpu"
    probe_kv "$(_probe status "$PID" Name VmRSS TracerPid)"
    [ -n "${KV[Name]:-}" ] || { Lf "peek: process %s has ended\n" "peek: el proceso %s ha terminado\n" "$PID"; return 1; }
    comm=${KV[Name]} rss=${KV[VmRSS]:-?} tracer=${KV[TracerPid]:-0}
    if [ "$RATE" = 1 ]; then
        # CPU and calls over the same interval. The CPU sample starts once perf (or strace) is
        # set up: starting them takes CPU too, and would lower the server's share.
        show_rate >"$TMP/rate" &
        sleep 0.2
        _probe cpu "$PID" "$SECONDS_" >"$TMP/cpu" 2>/dev/null
        wait $!
        _probe state "$PID" >/dev/null || { Lf "peek: process %s has ended\n" "peek: el proceso %s ha terminado\n" "$PID"; return 1; }
    fi
    look "$PID"
    _probe children "$PID" >"$TMP/children" 2>/dev/null
    for child in $(sed 's/^pid=//' "$TMP/children"); do look "$child"; done
    emit_kv >"$TMP/kv"
    [ -n "${PEEK_KV:-}" ] && cp "$TMP/kv" "$PEEK_KV"
    if [ "$KV_ONLY" = 1 ]; then
        cat "$TMP/kv"
        return 0
    fi
    Lf "process %s (%s), memory (RSS) %s KB\n" "proceso %s (%s), memoria (RSS) %s KB\n" "$PID" "$comm" "$rss"
    if [ "$tracer" != 0 ]; then
        Lf "  traced by process %s (%s): it stops at every system call, so it runs slower than alone\n" \
            "  lo traza el proceso %s (%s): se detiene en cada llamada al sistema, así que va más lento que solo\n" \
            "$tracer" "$(probe_kv "$(_probe status "$tracer" Name)"; echo "${KV[Name]:-?}")"
    fi
    show_threads "$PID"
    show_cpu
    show_sockets "$PID"
    for child in $(sed 's/^pid=//' "$TMP/children"); do
        probe_kv "$(_probe status "$child" Name)"
        Lf "child process %s (%s):\n" "proceso hijo %s (%s):\n" "$child" "${KV[Name]:-?}"
        show_threads "$child" "  "
        show_sockets "$child" | tail -n +2 | sed 's/^/  /'
    done
    [ "$RATE" = 1 ] && cat "$TMP/rate"
    return 0
}

load_syscall_names
if [ "$WATCH" = 1 ]; then
    trap 'rm -rf "$TMP"; printf "\n"; exit 0' INT TERM
    while _probe state "$PID" >/dev/null; do
        started=${EPOCHREALTIME//[!0-9]/}
        # draw the whole look first, then replace the screen with it: no flicker
        if peek_once >"$TMP/screen" 2>&1; then
            printf '\e[H\e[2J%s\n' "$(date +%T)"
            cat "$TMP/screen"
        fi
        # one look a second (a look with a call rate takes that second already)
        left=$((1000000 - (${EPOCHREALTIME//[!0-9]/} - started)))
        [ "$left" -gt 0 ] && sleep "$(printf '0.%06d' "$left")"
    done
    Lf "peek: process %s has ended\n" "peek: el proceso %s ha terminado\n" "$PID"
    exit 0
fi
peek_once
