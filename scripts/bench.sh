#!/usr/bin/env bash
# scripts/bench.sh - measure every multi-client server of the chapter and print one table.
#
#   scripts/bench.sh [--quick] [--csv] [--plot]   (make bench [QUICK=1] [CSV=1] [PLOT=1])
#   BENCH_ONLY="02-non-blocking/02-eagain-loop python asyncio"   measure only these servers
#
# For each server: first the baseline (build/tools/echo-baseline, the least an echo server can
# do per line: the machine's limit, measured in the same run), then the C stages that serve
# many clients (tagged bench in chapters/chapter-03/stages.txt), and, when python3 is here, two
# Python peers for comparison: the documents' busy loop and an asyncio line-echo server:
#   stall     how long client 2 waits for its echo while client 1 is connected and idle
#   idle CPU  the server's CPU use while 100 clients are connected and silent
#   ping-pong N clients each send a line and wait for its echo, again and again: messages per
#             second and round-trip p50/p99, for N = 1, 100, 1000 (after a warm-up: each
#             client's first echo)
#   CPU per line
#             what the server itself spent per echoed line over each ping-pong run, in µs,
#             user space and kernel apart (its whole process tree; read from /proc by loadgen),
#             and against the baseline's at the same load. Messages per second depend on the
#             machine and on who else is running; CPU per line much less, and most of it is
#             the kernel's TCP work that every echo server pays: the baseline pays only that.
#             Verdict: within 15% of the baseline, at the most ping-pong clients.
#   clients   the most concurrent clients all echoed correctly (100, 1000, 5000, 10000), and
#             what stopped it (FD_SETSIZE, the stage's own limit, the fd limit, errors)
#   crowd     ping-pong again, 100 clients, while 5000 more are connected and silent: what each
#             wait costs when most clients have nothing to say (poll looks at all of them,
#             epoll only at the ready ones); only for servers that hold that many clients
#   RSS       the server's peak resident memory (VmHWM) after the largest client run
#   memory per idle client
#             PSS (proportional set size, /proc/PID/smaps_rollup) of the server's whole process
#             tree with MEMORY_CLIENTS idle clients connected, minus the same with none, divided
#             by MEMORY_CLIENTS: what one more waiting client costs the server in user-space
#             memory (stacks, buffers, page tables' worth of copied pages). PSS, not RSS: pages
#             shared by the processes of a fork server count once in all, split between them.
#             The kernel's own per-socket memory is not in it (the same for every server).
#   --plot    (make bench PLOT=1) with gnuplot: SVG charts next to the table, in BENCH_PLOTS
#             (default build/bench): messages/s, CPU per line and p99 as bars grouped by the
#             number of clients, one colour per section; memory per client
# BENCH_ONLY keeps the baseline: it is what the verdicts compare with.
# Every run is bounded in time and talks only to 127.0.0.1. Needs Linux (/proc) and build/tools.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
source scripts/lib.sh
# Ctrl-C and SIGTERM stop everything the benchmark started: see supervise in lib.sh.
supervise "(interrupted: everything the benchmark started is stopped)" "$0" "$@"

QUICK=${QUICK:-0}
CSV=${CSV:-0}
PLOT=${PLOT:-0}
for arg in "$@"; do
    case $arg in
        --quick) QUICK=1 ;;
        --csv) CSV=1 ;;
        --plot) PLOT=1 ;;
        *) echo "usage: $0 [--quick] [--csv] [--plot]" >&2; exit 2 ;;
    esac
done
PLOT_DIR=${BENCH_PLOTS:-$BUILD_DIR/bench}
PLOT_NOTE=""
if [ "$PLOT" = 1 ] && ! command -v gnuplot >/dev/null; then
    PLOT=0
    PLOT_NOTE="gnuplot is not installed: no charts (sudo apt-get install gnuplot-nox)."
fi

LOADGEN=$BUILD_DIR/tools/loadgen
BASELINE=$BUILD_DIR/tools/echo-baseline
for tool in "$LOADGEN" "$BASELINE"; do
    [ -x "$tool" ] || { echo "bench: $tool is missing: run make first" >&2; exit 1; }
done
WITHIN=15 # the target: a stage's CPU per line at most this % above the baseline's

if [ "$QUICK" = 1 ]; then
    STALL_CAP_MS=500 IDLE_CLIENTS=20 IDLE_SECONDS=0.2 PING_SECONDS=0.3
    PING_SIZES=(1 10 50) CLIENT_SIZES=(10 100) CLIENT_SECONDS=1 CROWD_ACTIVE=10 CROWD_IDLE=50
    MEMORY_CLIENTS=100 SETTLE_SECONDS=0.1
else
    STALL_CAP_MS=2000 IDLE_CLIENTS=100 IDLE_SECONDS=2 PING_SECONDS=2
    PING_SIZES=(1 100 1000) CLIENT_SIZES=(100 1000 5000 10000) CLIENT_SECONDS=10
    CROWD_ACTIVE=100 CROWD_IDLE=5000 MEMORY_CLIENTS=1000 SETTLE_SECONDS=0.5
fi

# Thousands of clients need thousands of descriptors, in the servers and in loadgen.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FD_LIMIT=$(ulimit -n)

trap stop_remembered EXIT

# The servers: "label|kind|what" where kind is stage (a stage path) or peer (a command).
SERVERS=("baseline|peer|$BASELINE")
mapfile -t stages < <(stage_list bench) # the stages tagged bench in chapters/chapter-03/stages.txt
for stage in "${stages[@]}"; do
    [ -x "$(stage_bin "$stage")" ] && SERVERS+=("$stage|stage|$stage")
done
if [ -n "${BENCH_ONLY:-}" ]; then
    kept=()
    for entry in "${SERVERS[@]}"; do
        case " baseline $BENCH_ONLY " in *" ${entry%%|*} "*) kept+=("$entry") ;; esac
    done
    SERVERS=("${kept[@]}")
fi
PEER_NOTE=""
if command -v python3 >/dev/null; then
    for peer in "python busy loop|peer|python3 scripts/peers/busy_loop.py" \
        "python asyncio|peer|python3 scripts/peers/asyncio_echo.py -q"; do
        if [ -z "${BENCH_ONLY:-}" ] || [[ " $BENCH_ONLY " == *" ${peer%%|*} "* ]]; then
            SERVERS+=("$peer")
        fi
    done
else
    PEER_NOTE="python3 is not installed: the Python peers were skipped."
fi

# No server outlives the benchmark. Every measurement runs in a subshell ($(...)), whose
# LIB_PIDS the main shell never sees; so every server and client crowd started is also written
# down in $LIB_TMP/started.pids, and at the end (or on an error) the main shell stops each one
# still running, with everything under it. A server that starts but never listens is killed
# at once. (Not an EXIT trap in each subshell: bash passes such a trap on to the subshells
# that subshell starts, and stopping a tree starts some.)
# A pid is written down with its start time (/proc/PID/stat): by the end most of these
# processes are long gone, and on a busy machine their numbers have been given to others (a
# run of make test starts 20,000 processes), which a bare `kill PID` would hit.
STARTED=$LIB_TMP/started.pids
: >"$STARTED"
remember() { echo "$1 $(process_start "$1")" >>"$STARTED"; }
stop_remembered() {
    local pid start pids
    while read -r pid start; do
        [ -n "$start" ] && [ "$(process_start "$pid")" = "$start" ] || continue # gone, or not ours
        pids=$(_descendants "$pid")
        # shellcheck disable=SC2086 # one word per pid
        kill "$pid" $pids 2>/dev/null
    done <"$STARTED"
    stop_all
}

# stop_tree: stop the last server started and every process under it (a fork server's
# children), then whatever else this shell started. Never fails.
stop_tree() {
    local pids
    if [ -n "${SERVER_PID:-}" ] && alive "$SERVER_PID"; then
        pids=$(_descendants "$SERVER_PID")
        stop_server
        # shellcheck disable=SC2086 # one word per pid
        [ -n "$pids" ] && kill $pids 2>/dev/null
    fi
    stop_all
}

# start KIND WHAT PORT: start one server with its output discarded (we measure the server, not
# the terminal), quiet where the stage supports -q. Returns 1 (having killed it) if it does
# not listen.
start() {
    local kind=$1 what=$2 port=$3
    local status=0
    if [ "$kind" = stage ]; then
        QUIET=1 start_server "$what" "$port" || status=1
    else
        # shellcheck disable=SC2086
        start_program peer "$port" $what || status=1
    fi
    remember "$SERVER_PID"
    [ "$status" = 0 ] || stop_tree
    return "$status"
}

# field NAME LINE: the value of NAME=value in a loadgen result line.
field() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }

measure_stall() {
    local port
    port=$(free_port)
    start "$1" "$2" "$port" || { echo "error"; return; }
    local out
    out=$(timeout 30 "$LOADGEN" stall "$port" "$STALL_CAP_MS" 3>&-)
    stop_tree
    field stall_ms "$out"
}

# hold PORT N SECONDS: N clients connected and silent, in the background (HOLD_PID), for at
# most SECONDS; returns once they are all connected (1 if they could not be, within 30 s).
hold() {
    local out=$LIB_TMP/hold.out
    : >"$out"
    timeout $(($3 + 60)) "$LOADGEN" hold "$1" "$2" "$3" >"$out" 2>&1 3>&- &
    HOLD_PID=$!
    LIB_PIDS+=("$HOLD_PID")
    remember "$HOLD_PID"
    wait_until 30 grep -q connected= "$out" && grep -qx "connected=$2" "$out"
}
unhold() {
    kill "$HOLD_PID" 2>/dev/null
    wait "$HOLD_PID" 2>/dev/null
}

measure_idle_cpu() {
    local port
    port=$(free_port)
    start "$1" "$2" "$port" || { echo "error"; return; }
    hold "$port" "$IDLE_CLIENTS" $((${IDLE_SECONDS%.*} + 3))
    cpu_percent "$SERVER_PID" "$IDLE_SECONDS"
    unhold
    stop_tree
}

measure_pingpong() { # kind what n
    local port out
    port=$(free_port)
    start "$1" "$2" "$port" || { echo "error"; return; }
    out=$(timeout 90 "$LOADGEN" pingpong "$port" "$3" "$PING_SECONDS" "$SERVER_PID" 3>&-)
    stop_tree
    echo "$out"
}

# measure_crowd KIND WHAT: ping-pong with CROWD_ACTIVE clients while CROWD_IDLE more are
# connected and silent.
measure_crowd() {
    local port out=""
    port=$(free_port)
    start "$1" "$2" "$port" || { echo "error"; return; }
    if hold "$port" "$CROWD_IDLE" 60; then
        out=$(timeout 90 "$LOADGEN" pingpong "$port" "$CROWD_ACTIVE" "$PING_SECONDS" "$SERVER_PID" 3>&-)
    fi
    unhold
    stop_tree
    echo "${out:-error}"
}

# measure_clients KIND WHAT: the largest N of CLIENT_SIZES fully echoed, why the next failed,
# and the peak RSS after the largest successful run. Prints "N|limit|rss_kib".
measure_clients() {
    local best=0 limit="" rss="" n port out
    for n in "${CLIENT_SIZES[@]}"; do
        if [ "$n" -gt $((FD_LIMIT - 20)) ]; then
            limit="fd limit (ulimit -n $FD_LIMIT)"
            break
        fi
        port=$(free_port)
        start "$1" "$2" "$port" || { limit="did not start"; break; }
        out=$(timeout $((CLIENT_SECONDS + 60)) "$LOADGEN" clients "$port" "$n" "$CLIENT_SECONDS" 3>&-)
        local peak
        proc_field peak "$SERVER_PID" VmHWM
        stop_tree
        if [ "$(field echoed "$out")" = "$n" ]; then
            best=$n
            rss=$peak
            continue
        fi
        if grep -q FD_SETSIZE "$SERVER_OUT" "$SERVER_ERR" 2>/dev/null; then
            limit="FD_SETSIZE"
        elif grep -q "Demasiados clientes" "$SERVER_OUT" 2>/dev/null; then
            limit="the stage's MAX_CLIENTS"
        elif grep -qE "EMFILE|ENFILE" "$SERVER_ERR" 2>/dev/null; then
            limit="fd limit (EMFILE)"
        elif grep -q "fork: .*EAGAIN" "$SERVER_ERR" 2>/dev/null; then
            limit="process limit (fork: EAGAIN; ulimit -u $(ulimit -u), pid_max $(cat /proc/sys/kernel/pid_max 2>/dev/null))"
        elif grep -q "pthread_create: .*EAGAIN" "$SERVER_ERR" 2>/dev/null; then
            limit="thread limit (pthread_create: EAGAIN; threads-max $(cat /proc/sys/kernel/threads-max 2>/dev/null), ulimit -u $(ulimit -u))"
        elif grep -q "ENOMEM" "$SERVER_ERR" 2>/dev/null; then
            limit="memory (ENOMEM)"
        else
            limit="at $n: $(field echoed "$out") of $n echoed ($(field first_error "$out"))"
        fi
        break
    done
    [ -n "$limit" ] || limit="none hit"
    echo "$best|$limit|$rss"
}

# tree_pss_kib PID: the PSS of PID and every process under it, in KiB (see the header).
tree_pss_kib() {
    local pid kib total=0
    for pid in "$1" $(_descendants "$1"); do
        kib=$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null)
        total=$((total + ${kib:-0}))
    done
    echo "$total"
}
# _accepted_all N: the stage has announced N connections (a peer: the kernel has them all).
_accepted_all() {
    if [ "$KIND" = stage ]; then
        [ "$(grep -c '^Cliente connectandose' "$SERVER_OUT")" -ge "$1" ]
    else
        [ "$(connections_to "$PORT")" -ge "$1" ]
    fi
}

# measure_memory KIND WHAT: KiB of PSS per idle client, with MEMORY_CLIENTS of them.
measure_memory() {
    local before after
    KIND=$1 PORT=$(free_port)
    start "$1" "$2" "$PORT" || { echo "error"; return; }
    before=$(tree_pss_kib "$SERVER_PID")
    if hold "$PORT" "$MEMORY_CLIENTS" 60 && wait_until 30 _accepted_all "$MEMORY_CLIENTS"; then
        sleep "$SETTLE_SECONDS" # the last threads or processes settle (their first pages touched)
        after=$(tree_pss_kib "$SERVER_PID")
        # (a server with no per-client memory can measure a little below 0: noise, shown as 0)
        awk -v a="$after" -v b="$before" -v n="$MEMORY_CLIENTS" 'BEGIN { v = (a - b) / n; printf "%.1f\n", v < 0 ? 0 : v }'
    else
        echo "error"
    fi
    unhold
    stop_tree
}

fmt_ms() { # stall value -> text
    case $1 in
        ">"*) echo "> $(awk -v v="${1#>}" 'BEGIN { printf "%.1f s", v / 1000 }')" ;;
        "" | error) echo "error" ;;
        *) awk -v v="$1" 'BEGIN { if (v < 1) printf "%.2f ms", v; else printf "%.1f ms", v }' ;;
    esac
}
fmt_ping() { # loadgen line -> "rate msg/s, p50/p99", or how many clients stalled
    local rate p50 p99 errors stalled clients
    rate=$(field rate "$1") p50=$(field p50_us "$1") p99=$(field p99_us "$1")
    errors=$(field errors "$1") stalled=$(field stalled "$1") clients=$(field clients "$1")
    if [ -z "$rate" ]; then
        echo "error"
    elif [ "${stalled:-0}" -gt 0 ]; then
        echo "stalls: $stalled of $clients clients stuck"
    else
        awk -v r="$rate" -v a="$p50" -v b="$p99" -v e="$errors" 'BEGIN {
            printf "%d msg/s, %.2f/%.2f ms", r, a / 1000, b / 1000
            if (e > 0) printf " (%d failed)", e }'
    fi
}

# vs_baseline LINE BASE_LINE: how much more CPU per line the server of LINE spent than the
# baseline (BASE_LINE, at the same load), in % ("+8", "-3"); nothing if either is unknown.
vs_baseline() {
    local mine theirs
    mine=$(field cpu_us_per_line "$1") theirs=$(field cpu_us_per_line "$2")
    [ "$(field stalled "$1")" = 0 ] || return 0
    awk -v a="$mine" -v b="$theirs" 'BEGIN {
        if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%+.0f\n", (a / b - 1) * 100 }'
}
# fmt_cpu LINE BASE_LINE: "user + kernel = total µs" per echoed line (and against the baseline)
fmt_cpu() {
    local total user sys stalled pct
    total=$(field cpu_us_per_line "$1") user=$(field user_us_per_line "$1")
    sys=$(field sys_us_per_line "$1") stalled=$(field stalled "$1")
    if [ -z "$total" ]; then
        echo "error"
    elif [ "${stalled:-0}" -gt 0 ]; then
        echo "- (stalls)"
    elif [ "$total" = none ]; then
        echo "- (no line echoed)"
    else
        pct=$([ "$1" = "$2" ] || vs_baseline "$1" "$2")
        awk -v t="$total" -v u="$user" -v k="$sys" -v p="$pct" 'BEGIN {
            if (u == "none") printf "? + ? = %.2f µs", t
            else printf "%.2f + %.2f = %.2f µs", u, k, t
            if (p != "") printf " (%s%%)", p }'
    fi
}
# verdict LABEL: "+8%: yes" (within WITHIN% of the baseline at the most ping-pong clients), or why
# there is none.
verdict() {
    local pct
    [ "$1" = baseline ] && { echo "(the reference)"; return; }
    pct=$(vs_baseline "${RESULT[$1,ping$big]}" "${RESULT[baseline,ping$big]}")
    if [ -z "$pct" ]; then
        echo "- (not measured)"
    else
        echo "$pct%: $(awk -v p="$pct" -v w="$WITHIN" 'BEGIN { print (p <= w) ? "yes" : "NO" }')"
    fi
}

# plot_charts: with gnuplot, three SVG charts of this run in PLOT_DIR, named in the output:
# messages/s and p99 round trip against ping-pong clients (one line per server that never
# stalled), and memory per idle client (one bar per server measured).
plot_charts() {
    local label n p rate p99 safe data=$PLOT_DIR/data
    mkdir -p "$data"
    rm -f "$data"/*.dat
    local lines_rate="" lines_p99="" i=0
    for entry in "${SERVERS[@]}"; do
        IFS='|' read -r label _ _ <<<"$entry"
        safe=${label//[^A-Za-z0-9]/_}
        : >"$data/$safe.dat"
        for n in "${PING_SIZES[@]}"; do
            p=${RESULT[$label,ping$n]}
            rate=$(field rate "$p") p99=$(field p99_us "$p")
            # a server with stalled clients has no meaningful rate at that size: left out
            [ -n "$rate" ] && [ "$(field stalled "$p")" = 0 ] && echo "$n $rate $p99" >>"$data/$safe.dat"
        done
        [ -s "$data/$safe.dat" ] || continue
        i=$((i + 1))
        lines_rate+="${lines_rate:+, }'$data/$safe.dat' using 1:2 with linespoints ls $i title '$label'"
        lines_p99+="${lines_p99:+, }'$data/$safe.dat' using 1:(\$3/1000) with linespoints ls $i title '$label'"
    done
    : >"$data/memory.dat"
    for entry in "${SERVERS[@]}"; do
        IFS='|' read -r label _ _ <<<"$entry"
        case ${RESULT[$label,memory]} in n/a | error | "") continue ;; esac
        printf '"%s" %s\n' "$label" "${RESULT[$label,memory]}" >>"$data/memory.dat"
    done
    local common
    common="set terminal svg size 900,520 dynamic font 'sans,11' background '#ffffff'
set key outside right top
set grid
set logscale x
set xlabel 'ping-pong clients'
set xtics ($(IFS=,; echo "${PING_SIZES[*]}"))
do for [i=1:16] { set style line i linewidth 2 pointtype (i % 7) + 1 }
"
    local subtitle="$date_text, $cores cores${cpu_model:+ ($cpu_model)}, $kernel"
    gnuplot <<EOF 2>"$data/gnuplot.err" || { echo "gnuplot failed: $(cat "$data/gnuplot.err")"; return; }
$common
set output '$PLOT_DIR/bench-rate.svg'
set title "Messages per second against clients (make bench)\n{/*0.8 $subtitle}"
set ylabel 'messages / s'
set yrange [0:*]
plot $lines_rate
set output '$PLOT_DIR/bench-p99.svg'
set title "Round trip, 99th percentile, against clients (make bench)\n{/*0.8 $subtitle}"
set ylabel 'p99 (ms, log scale)'
set logscale y
set yrange [*:*]
plot $lines_p99
unset logscale
set output '$PLOT_DIR/bench-memory.svg'
set title "Memory per idle client, PSS of the process tree, $MEMORY_CLIENTS clients (make bench)\n{/*0.8 $subtitle}"
set ylabel 'KiB per client'
set xlabel ''
unset xtics
set xtics rotate by -35 nomirror
set yrange [0:*]
set style fill solid 0.6
set boxwidth 0.6
unset key
plot '$data/memory.dat' using 0:2:xtic(1) with boxes lc rgb '#4477aa', '' using 0:2:(sprintf('%.1f', \$2)) with labels offset 0,0.8 notitle
EOF
    echo
    echo "Charts: $PLOT_DIR/bench-rate.svg, $PLOT_DIR/bench-p99.svg, $PLOT_DIR/bench-memory.svg"
}

date_text=$(date -u +"%Y-%m-%d %H:%M UTC")
cores=$(nproc)
cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
kernel=$(uname -sr)

declare -A RESULT
for entry in "${SERVERS[@]}"; do
    IFS='|' read -r label kind what <<<"$entry"
    echo "bench: $label ..." >&2
    RESULT[$label,stall]=$(measure_stall "$kind" "$what")
    RESULT[$label,cpu]=$(measure_idle_cpu "$kind" "$what")
    for n in "${PING_SIZES[@]}"; do
        RESULT[$label,ping$n]=$(measure_pingpong "$kind" "$what" "$n")
    done
    RESULT[$label,clients]=$(measure_clients "$kind" "$what")
    IFS='|' read -r best _ _ <<<"${RESULT[$label,clients]}"
    if [ "$best" -ge $((CROWD_IDLE + CROWD_ACTIVE)) ]; then
        RESULT[$label,crowd]=$(measure_crowd "$kind" "$what")
    else
        RESULT[$label,crowd]="n/a"
    fi
    if [ "$best" -ge "$MEMORY_CLIENTS" ]; then
        RESULT[$label,memory]=$(measure_memory "$kind" "$what")
    else
        RESULT[$label,memory]="n/a"
    fi
done

big=${PING_SIZES[-1]}
if [ "$CSV" = 1 ]; then
    header="server,stall_ms,idle_cpu_percent"
    for n in "${PING_SIZES[@]}"; do header+=",rate_$n,p50_us_$n,p99_us_$n"; done
    header+=",rate_crowd,p50_us_crowd,p99_us_crowd,max_clients,limit,peak_rss_kib,pss_kib_per_idle_client"
    for n in "${PING_SIZES[@]}" crowd; do
        header+=",cpu_us_per_line_$n,user_us_per_line_$n,sys_us_per_line_$n,vs_baseline_percent_$n"
    done
    echo "$header,within_${WITHIN}_percent,date,cores"
    for entry in "${SERVERS[@]}"; do
        IFS='|' read -r label _ _ <<<"$entry"
        row="$label,${RESULT[$label,stall]},${RESULT[$label,cpu]}"
        for n in "${PING_SIZES[@]}"; do
            p=${RESULT[$label,ping$n]}
            row+=",$(field rate "$p"),$(field p50_us "$p"),$(field p99_us "$p")"
        done
        p=${RESULT[$label,crowd]}
        row+=",$(field rate "$p"),$(field p50_us "$p"),$(field p99_us "$p")"
        IFS='|' read -r best limit rss <<<"${RESULT[$label,clients]}"
        row+=",$best,\"$limit\",$rss,${RESULT[$label,memory]}"
        for n in "${PING_SIZES[@]}" crowd; do
            key=ping$n
            [ "$n" = crowd ] && key=crowd
            p=${RESULT[$label,$key]} b=${RESULT[baseline,$key]}
            row+=",$(field cpu_us_per_line "$p"),$(field user_us_per_line "$p"),$(field sys_us_per_line "$p")"
            row+=",$([ "$label" = baseline ] || vs_baseline "$p" "$b")"
        done
        v=$(verdict "$label")
        case $v in *yes) v=yes ;; *NO) v=no ;; *) v="" ;; esac
        echo "$row,$v,$date_text,$cores"
    done
    exit 0
fi

echo "## Benchmark: $date_text"
echo
echo "Machine: $cores cores${cpu_model:+ ($cpu_model)}, $kernel, ulimit -n $FD_LIMIT.$([ "$QUICK" = 1 ] && echo " Quick run (small numbers).")"
echo
head="| server | stall: client 2 waits | idle CPU, $IDLE_CLIENTS clients |"
rule="|---|---|---|"
for n in "${PING_SIZES[@]}"; do
    head+=" ping-pong, $n client$([ "$n" -gt 1 ] && echo s) |"
    rule+="---|"
done
echo "$head ping-pong, $CROWD_ACTIVE clients among $CROWD_IDLE idle | most clients echoed | peak RSS | memory per idle client (PSS, $MEMORY_CLIENTS clients) |"
echo "$rule---|---|---|---|"
for entry in "${SERVERS[@]}"; do
    IFS='|' read -r label _ _ <<<"$entry"
    row="| $label | $(fmt_ms "${RESULT[$label,stall]}") | ${RESULT[$label,cpu]:-?}% |"
    for n in "${PING_SIZES[@]}"; do row+=" $(fmt_ping "${RESULT[$label,ping$n]}") |"; done
    if [ "${RESULT[$label,crowd]}" = n/a ]; then
        row+=" - (not measured: fewer than $((CROWD_IDLE + CROWD_ACTIVE)) clients served above) |"
    else
        row+=" $(fmt_ping "${RESULT[$label,crowd]}") |"
    fi
    IFS='|' read -r best limit rss <<<"${RESULT[$label,clients]}"
    [ "$best" = 0 ] && best="< ${CLIENT_SIZES[0]}" # not even the fewest tried were all echoed
    row+=" $best (limit: $limit) | $([ -n "$rss" ] && awk -v k="$rss" 'BEGIN { printf "%.1f MiB", k / 1024 }' || echo -) |"
    case ${RESULT[$label,memory]} in
        n/a) row+=" - (fewer than $MEMORY_CLIENTS clients served) |" ;;
        error | "") row+=" error |" ;;
        *) row+=" ${RESULT[$label,memory]} KiB |" ;;
    esac
    echo "$row"
done
echo
echo "Ping-pong cells: messages per second, round trip p50/p99. The crowd column: the same with"
echo "$CROWD_IDLE more clients connected and silent (what each wait costs when most clients are idle)."
echo "Memory per idle client: the PSS of the server's whole process tree (/proc/PID/smaps_rollup)"
echo "with $MEMORY_CLIENTS idle clients, minus at rest, divided by $MEMORY_CLIENTS; kernel socket memory not included."
[ -n "$PEER_NOTE" ] && echo "$PEER_NOTE"

echo
echo "### CPU per echoed line"
echo
head="| server |"
rule="|---|"
for n in "${PING_SIZES[@]}"; do
    head+=" ping-pong, $n client$([ "$n" -gt 1 ] && echo s) |"
    rule+="---|"
done
echo "$head $CROWD_ACTIVE clients among $CROWD_IDLE idle | within $WITHIN% of the baseline, at $big clients |"
echo "$rule---|---|"
for entry in "${SERVERS[@]}"; do
    IFS='|' read -r label _ _ <<<"$entry"
    row="| $label |"
    for n in "${PING_SIZES[@]}"; do
        row+=" $(fmt_cpu "${RESULT[$label,ping$n]}" "${RESULT[baseline,ping$n]}") |"
    done
    if [ "${RESULT[$label,crowd]}" = n/a ]; then
        row+=" - (not measured) |"
    else
        row+=" $(fmt_cpu "${RESULT[$label,crowd]}" "${RESULT[baseline,crowd]}") |"
    fi
    echo "$row $(verdict "$label") |"
done
echo
echo "Each cell: the server's CPU (its whole process tree) per echoed line over the ping-pong run"
echo "above, in user space + in the kernel = in all, and (in %) how much more than the baseline's"
echo "at the same load. The baseline (build/tools/echo-baseline) is the least an echo server can"
echo "do: one epoll_wait, recv and send per line, nothing framed or printed; what a stage spends"
echo "above it is its own work. Most of a line's CPU is the kernel's TCP work, which no server"
echo "avoids: a server cannot be much faster than the baseline, only slower."
echo "User and kernel are split as the kernel's clock ticks (USER_HZ) split them: \"?\" when a run"
echo "held too few ticks, and only rough for a server of many processes (fork per client)."
[ -n "$PLOT_NOTE" ] && echo "$PLOT_NOTE"
[ "$PLOT" = 1 ] && plot_charts

# The targets the event-loop stages should reach on a 2-core machine.
echo
echo "### Targets"
echo
echo "| target | measured | met |"
echo "|---|---|---|"
check() { # text measured condition(0/1)
    echo "| $1 | $2 | $([ "$3" = 1 ] && echo yes || echo NO) |"
}
measured_any=0
for entry in "${SERVERS[@]}"; do
    IFS='|' read -r label kind _ <<<"$entry"
    case $label in 03-selectors/0[2-4]* | 04-event-loop/*) ;; *) continue ;; esac
    measured_any=1
    s=${RESULT[$label,stall]}
    ok=$(awk -v v="${s#>}" -v capped="${s:0:1}" 'BEGIN { print (capped != ">" && v != "" && v < 5) ? 1 : 0 }')
    check "$label: stall < 5 ms" "$(fmt_ms "$s")" "$ok"
    c=${RESULT[$label,cpu]:-100}
    check "$label: idle CPU < 1%" "$c%" "$([ "$c" -lt 1 ] && echo 1 || echo 0)"
    v=$(verdict "$label")
    check "$label: CPU per line within $WITHIN% of the baseline's, $big clients" "${v%%:*}" \
        "$([[ $v == *yes ]] && echo 1 || echo 0)"
done
[ "$measured_any" = 1 ] || echo "| (no event-loop stage was measured) | | |"
epoll=03-selectors/04-epoll-lines
if [ -n "${RESULT[$epoll,clients]:-}" ]; then
    IFS='|' read -r best _ _ <<<"${RESULT[$epoll,clients]}"
    want=${CLIENT_SIZES[-1]}
    check "$epoll: $want concurrent clients echoed" "$best" "$([ "$best" -ge "$want" ] && echo 1 || echo 0)"
    p99=$(field p99_us "${RESULT[$epoll,ping$big]}")
    check "$epoll: p99 < 10 ms at $big ping-pong clients" "$(fmt_ms "$(awk -v v="${p99:-99999999}" 'BEGIN { print v / 1000 }')")" \
        "$(awk -v v="${p99:-99999999}" 'BEGIN { print (v < 10000) ? 1 : 0 }')"
fi
if [ "$QUICK" = 1 ]; then
    echo
    echo "A quick run (${PING_SIZES[-1]} ping-pong clients for ${PING_SECONDS} s, at most ${CLIENT_SIZES[-1]} clients) only shows that"
    echo "everything runs: a NO above means little. The targets are for the full run: make bench."
fi
