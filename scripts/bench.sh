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
        elif grep -qi "demasiados clientes" "$SERVER_OUT" 2>/dev/null; then # 01-04: "Demasiados..."; section 5: "rechazado: demasiados..."
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
    case $1 in baseline | "$AGAIN") echo "(the reference: the mean of these two)"; return ;; esac
    pct=$(vs_baseline "${RESULT[$1,ping$big]}" "${RESULT[reference,ping$big]}")
    if [ -z "$pct" ]; then
        echo "- (not measured)"
    else
        echo "$pct%: $(awk -v p="$pct" -v w="$WITHIN" 'BEGIN { print (p <= w) ? "yes" : "NO" }')"
    fi
}

# The charts' colours: one per section of the chapter (colour-blind safe: Paul Tol's), the
# baseline black, the Python peers grey. A chart read from the back of a classroom: the colour
# says the section, the name at the left the stage.
section_colour() {
    case $1 in
        baseline) echo 0x222222 ;;
        01-*) echo 0xEE6677 ;;
        02-*) echo 0xDDAA33 ;;
        03-*) echo 0x4477AA ;;
        04-*) echo 0x228833 ;;
        05-*) echo 0xAA3377 ;;
        *) echo 0x999999 ;;
    esac
}
# lighter COLOUR: the same colour, halfway to white (the user-space part of a CPU bar).
lighter() { printf '0x%06X\n' "$(($1 / 65536 % 256 / 2 + 128 << 16 | $1 / 256 % 256 / 2 + 128 << 8 | $1 % 256 / 2 + 128))"; }

# panel_chart OUT TITLE XLABEL DATA XMIN XMAX LOG REFERENCE PANEL_TITLE...: horizontal bars,
# one panel per PANEL_TITLE (DATA's blocks, in order), one row per server, from XMIN to XMAX
# (log scale when LOG is 1). Each row of DATA: row "name" colour value user_value "text"
# light_colour reference; value is drawn in colour, then user_value (0: none) in light_colour
# after it, and text at its end. REFERENCE=1: a dashed line at each panel's reference (the
# baseline's value) and a dotted one WITHIN% above it.
panel_chart() {
    local out=$1 title=$2 xlabel=$3 data=$4 xmin=$5 xmax=$6 log=$7 reference=$8
    shift 8
    local panels=$# rows i names="" key="" lines="" sub=${subtitle//@/at}
    sub=${sub//[\{\}^_&~]/} # (gnuplot's enhanced text would take them for markup)
    rows=$(awk 'NF { n++ } END { print n }' "$data")
    rows=$((rows / panels))
    for ((i = 1; i <= panels; i++)); do names+="${names:+, }\"${!i}\""; done
    # The key, one row under the panels: a colour box and the section's name, evenly spaced.
    local x=0.09
    for entry in "01-|01 blocking" "02-|02 non-blocking" "03-|03 selectors" "04-|04 event loop" \
        "05-|05 other roads" "baseline|baseline" "python|Python"; do
        key+="set object rect from screen $x, 0.025 to screen $x + 0.018, 0.06 fc rgb '#$(printf '%06X' "$(section_colour "${entry%%|*}")")' fs solid noborder
set label '${entry#*|}' at screen $x + 0.024, 0.0425 left font 'sans,19'
"
        x=$(awk -v x="$x" -v t="${entry#*|}" 'BEGIN { print x + 0.04 + length(t) * 0.0068 }')
    done
    if [ "$reference" = 1 ]; then
        lines="set arrow 1 from REF[i], graph 0 to REF[i], graph 1 nohead lw 2 lc rgb '#222222' back
set arrow 2 from REF[i] * (1 + $WITHIN / 100.0), graph 0 to REF[i] * (1 + $WITHIN / 100.0), graph 1 nohead lw 3 dt 2 lc rgb '#CC3311' back"
    fi
    gnuplot <<EOF 2>"$PLOT_DIR/data/gnuplot.err" || { echo "gnuplot failed: $(cat "$PLOT_DIR/data/gnuplot.err")"; return 1; }
set encoding utf8
set terminal svg size 1600,900 dynamic font 'sans,20' background '#ffffff'
set output '$out'
set style fill solid 1.0 noborder
set style textbox opaque noborder margins 0.5,0.5
array P[$panels] = [$names]
array REF[$panels]
do for [i=1:$panels] { stats '$data' index (i - 1) using 8 nooutput; REF[i] = STATS_max }
set multiplot layout 1,$panels title "$title\n{/*0.6 $sub}" font 'sans,30' margins 0.17,0.97,0.22,0.79 spacing 0.015,0
set yrange [$rows - 0.5:-0.5]
set xrange [$xmin:$xmax]
$([ "$log" = 1 ] && echo "set logscale x")
set grid xtics lc rgb '#cccccc'
set xtics font 'sans,16' nomirror
unset key
do for [i=1:$panels] {
    set title P[i] font 'sans,26'
    if (i == ($panels + 1) / 2) { set xlabel "$xlabel" font 'sans,20' } else { unset xlabel }
    unset arrow
    if (REF[i] > 0) { $lines }
    if (i == 1) {
        $key
        set ytics scale 0 font 'sans,20'
        plot '$data' index (i - 1) using ($xmin):1:($xmin):4:(\$1 - 0.38):(\$1 + 0.38):3:ytic(2) with boxxyerror lc rgb variable notitle, \\
             '' index (i - 1) using 4:1:4:(\$4 + \$5):(\$1 - 0.38):(\$1 + 0.38):7 with boxxyerror lc rgb variable notitle, \\
             '' index (i - 1) using (\$4 + \$5 > $xmin ? \$4 + \$5 : $xmin):1:6 with labels boxed left offset char 0.4,0 font 'sans,17' notitle
    } else {
        unset ytics
        unset object
        unset label
        plot '$data' index (i - 1) using ($xmin):1:($xmin):4:(\$1 - 0.38):(\$1 + 0.38):3 with boxxyerror lc rgb variable notitle, \\
             '' index (i - 1) using 4:1:4:(\$4 + \$5):(\$1 - 0.38):(\$1 + 0.38):7 with boxxyerror lc rgb variable notitle, \\
             '' index (i - 1) using (\$4 + \$5 > $xmin ? \$4 + \$5 : $xmin):1:6 with labels boxed left offset char 0.4,0 font 'sans,17' notitle
    }
}
unset multiplot
EOF
}

# plot_charts: with gnuplot, four SVG charts of this run in PLOT_DIR, named in the output:
# messages/s, CPU per line (kernel, then user space, lighter) and p99 round trip, one panel
# per number of ping-pong clients, one bar per server; and memory per idle client.
plot_charts() {
    local data=$PLOT_DIR/data label n p rate p99 cpu user sys colour row text="" base short
    mkdir -p "$data"
    rm -f "$data"/*.dat
    local panels=()
    for n in "${PING_SIZES[@]}"; do panels+=("$n client$([ "$n" -gt 1 ] && echo s)"); done
    local rate_max=0 p99_max=0 p99_min=1e9 cpu_max=0 mem_max=0 cap=0
    # CPU bars longer than 4 times the baseline's longest are cut there (their number says so):
    # a busy loop's hundreds of µs would squash the differences of 15% the chart is for.
    for n in "${PING_SIZES[@]}"; do
        cap=$(awk -v c="$cap" -v b="$(field cpu_us_per_line "${RESULT[reference,ping$n]}")" \
            'BEGIN { b *= 4; print (b > c) ? b : c }')
    done
    for n in "${PING_SIZES[@]}"; do
        row=0
        base=$(field cpu_us_per_line "${RESULT[reference,ping$n]}")
        for entry in "${SERVERS[@]}"; do
            IFS='|' read -r label _ _ <<<"$entry"
            short=${label#*/}
            colour=$(section_colour "$label")
            p=${RESULT[$label,ping$n]}
            rate=$(field rate "$p") p99=$(field p99_us "$p") cpu=$(field cpu_us_per_line "$p")
            user=$(field user_us_per_line "$p") sys=$(field sys_us_per_line "$p")
            if [ -z "$rate" ]; then
                rate=0 p99=0 cpu=0 user=0 sys=0 text="error"
            elif [ "$(field stalled "$p")" != 0 ]; then
                rate=0 p99=0 cpu=0 user=0 sys=0 text="stalls"
            fi
            [[ $cpu =~ ^[0-9.]+$ ]] || cpu=0
            [[ $user =~ ^[0-9.]+$ && $sys =~ ^[0-9.]+$ ]] || { user=0 sys=$cpu; }
            [ "$text" = stalls ] || [ "$text" = error ] || text=""
            local cpu_text
            cpu_text=$(awk -v v="$cpu" -v c="$cap" 'BEGIN { printf (c > 0 && v > c) ? "%.0f →" : "%.1f", v }')
            if [[ $cpu_text == *→ ]]; then
                sys=$cap user=0 cpu=$cap
            fi
            printf '%d "%s" %d %s 0 "%s" %d 0\n' "$row" "$short" "$colour" "$(awk -v r="$rate" 'BEGIN { print r / 1000 }')" \
                "${text:-$(awk -v r="$rate" 'BEGIN { if (r >= 1000) printf "%.0fk", r / 1000; else printf "%d", r }')}" \
                "$colour" >>"$data/rate.dat"
            printf '%d "%s" %d %s 0 "%s" %d 0\n' "$row" "$short" "$colour" \
                "$(awk -v v="$p99" 'BEGIN { print v / 1000 }')" \
                "${text:-$(awk -v v="$p99" 'BEGIN { v /= 1000; if (v < 1) printf "%.2f", v; else printf "%.1f", v }')}" \
                "$colour" >>"$data/p99.dat"
            printf '%d "%s" %d %s %s "%s" %d %s\n' "$row" "$short" "$colour" "$sys" "$user" \
                "${text:-$cpu_text}" "$(lighter "$colour")" \
                "$([ "$label" = baseline ] && echo "${base:-0}" || echo 0)" >>"$data/cpu.dat"
            rate_max=$(awk -v a="$rate_max" -v b="$rate" 'BEGIN { print (b > a) ? b : a }')
            cpu_max=$(awk -v a="$cpu_max" -v b="$cpu" 'BEGIN { print (b > a) ? b : a }')
            p99_max=$(awk -v a="$p99_max" -v b="$p99" 'BEGIN { print (b > a) ? b : a }')
            p99_min=$(awk -v a="$p99_min" -v b="$p99" 'BEGIN { print (b > 0 && b < a) ? b : a }')
            text=""
            row=$((row + 1))
        done
        printf '\n\n' | tee -a "$data/p99.dat" "$data/cpu.dat" >>"$data/rate.dat"
    done
    row=0
    for entry in "${SERVERS[@]}"; do
        IFS='|' read -r label _ _ <<<"$entry"
        colour=$(section_colour "$label")
        case ${RESULT[$label,memory]} in
            n/a | error | "") p=0 text="-" ;;
            *) p=${RESULT[$label,memory]} text="${RESULT[$label,memory]} KiB" ;;
        esac
        printf '%d "%s" %d %s 0 "%s" %d 0\n' "$row" "${label#*/}" "$colour" "$p" "$text" "$colour" >>"$data/memory.dat"
        mem_max=$(awk -v a="$mem_max" -v b="$p" 'BEGIN { print (b > a) ? b : a }')
        row=$((row + 1))
    done
    local subtitle="make bench, $date_text, $cores cores${cpu_model:+ ($cpu_model)}, $kernel"
    local roomy='BEGIN { print (m > 0 ? m : 1) * 1.3 }' # room at the right for the labels
    panel_chart "$PLOT_DIR/bench-rate.svg" "Messages per second (more is better)" "thousands of messages per second" \
        "$data/rate.dat" 0 "$(awk -v m="$rate_max" "$roomy" | awk '{ print $1 / 1000 }')" 0 0 "${panels[@]}" || return
    panel_chart "$PLOT_DIR/bench-cpu.svg" "Server CPU per echoed line: kernel, then user (less is better; →: off the scale)" \
        "µs per line (black line: the baseline; red dashes: $WITHIN% above it)" \
        "$data/cpu.dat" 0 "$(awk -v m="$cpu_max" "$roomy")" 0 1 "${panels[@]}" || return
    panel_chart "$PLOT_DIR/bench-p99.svg" "Round trip, 99th percentile (less is better)" "ms (log scale)" \
        "$data/p99.dat" "$(awk -v m="$p99_min" 'BEGIN { print m / 1000 / 2 }')" \
        "$(awk -v m="$p99_max" 'BEGIN { print m / 1000 * 8 }')" 1 0 "${panels[@]}" || return
    panel_chart "$PLOT_DIR/bench-memory.svg" "Memory per idle client, $MEMORY_CLIENTS clients (less is better)" \
        "KiB per client (PSS of the server's processes)" \
        "$data/memory.dat" 0 "$(awk -v m="$mem_max" "$roomy")" 0 0 "$MEMORY_CLIENTS idle clients" || return
    echo
    echo "Charts: $PLOT_DIR/bench-rate.svg, $PLOT_DIR/bench-cpu.svg, $PLOT_DIR/bench-p99.svg, $PLOT_DIR/bench-memory.svg"
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

# The baseline's ping-pong runs again, last. The reference of every comparison is the mean of
# its two runs; how far apart they are shows how much the machine changed meanwhile (the other
# programs running): a difference of that size says nothing about a stage.
AGAIN="baseline again (end of run)"
echo "bench: $AGAIN ..." >&2
for n in "${PING_SIZES[@]}"; do RESULT[$AGAIN,ping$n]=$(measure_pingpong peer "$BASELINE" "$n"); done
RESULT[$AGAIN,crowd]=$(measure_crowd peer "$BASELINE")
RESULT[$AGAIN,stall]="" RESULT[$AGAIN,cpu]="" RESULT[$AGAIN,clients]="" RESULT[$AGAIN,memory]=""
for key in "${PING_SIZES[@]/#/ping}" crowd; do # a loadgen-like line holding the mean alone
    RESULT[reference,$key]="stalled=0 cpu_us_per_line=$(awk -v a="$(field cpu_us_per_line "${RESULT[baseline,$key]}")" \
        -v b="$(field cpu_us_per_line "${RESULT[$AGAIN,$key]}")" 'BEGIN {
            n = (a ~ /^[0-9.]+$/) + (b ~ /^[0-9.]+$/)
            if (n == 0) print "none"; else printf "%.2f\n", ((a ~ /^[0-9.]+$/ ? a : 0) + (b ~ /^[0-9.]+$/ ? b : 0)) / n }')"
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
    for entry in "${SERVERS[@]}" "$AGAIN||"; do
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
            p=${RESULT[$label,$key]:-} b=${RESULT[reference,$key]}
            row+=",$(field cpu_us_per_line "$p"),$(field user_us_per_line "$p"),$(field sys_us_per_line "$p")"
            row+=",$(vs_baseline "$p" "$b")"
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
for entry in "${SERVERS[@]}" "$AGAIN||"; do
    IFS='|' read -r label _ _ <<<"$entry"
    row="| $label |"
    for n in "${PING_SIZES[@]}"; do
        row+=" $(fmt_cpu "${RESULT[$label,ping$n]}" "${RESULT[reference,ping$n]}") |"
    done
    if [ "${RESULT[$label,crowd]}" = n/a ]; then
        row+=" - (not measured) |"
    else
        row+=" $(fmt_cpu "${RESULT[$label,crowd]}" "${RESULT[reference,crowd]}") |"
    fi
    echo "$row $(verdict "$label") |"
done
echo
echo "Each cell: the server's CPU (its whole process tree) per echoed line over the ping-pong"
echo "run above, in user space + in the kernel = in all, and (in %) how much more than the"
echo "baseline's at the same load: the mean of its two runs, first and last (how far apart those"
echo "two are is how much the machine itself varied meanwhile). The baseline"
echo "(build/tools/echo-baseline) is the least an echo server can do: one epoll_wait, recv and"
echo "send per line, nothing framed or printed; what a stage spends above it is its own work."
echo "Most of a line's CPU is the kernel's TCP work, which no server avoids."
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
