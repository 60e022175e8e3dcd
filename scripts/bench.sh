#!/usr/bin/env bash
# scripts/bench.sh - measure every multi-client server of the chapter and print one table.
#
#   scripts/bench.sh [--quick] [--csv]          (make bench [QUICK=1] [CSV=1])
#   BENCH_ONLY="02-non-blocking/02-eagain-loop python asyncio"   measure only these servers
#
# For each server (the C stages that serve many clients, and, when python3 is here, two Python
# peers: the documents' busy loop and an asyncio line-echo server):
#   stall     how long client 2 waits for its echo while client 1 is connected and idle
#   idle CPU  the server's CPU use while 100 clients are connected and silent
#   ping-pong N clients each send a line and wait for its echo, again and again: messages per
#             second and round-trip p50/p99, for N = 1, 100, 1000
#   clients   the most concurrent clients all echoed correctly (100, 1000, 5000, 10000), and
#             what stopped it (FD_SETSIZE, the stage's own limit, the fd limit, errors)
#   crowd     ping-pong again, 100 clients, while 5000 more are connected and silent: what each
#             wait costs when most clients have nothing to say (poll looks at all of them,
#             epoll only at the ready ones); only for servers that hold that many clients
#   RSS       the server's peak resident memory (VmHWM) after the largest client run
# Every run is bounded in time and talks only to 127.0.0.1. Needs Linux (/proc) and build/tools.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
source scripts/lib.sh
# Ctrl-C and SIGTERM stop everything the benchmark started: see supervise in lib.sh.
supervise "(interrupted: everything the benchmark started is stopped)" "$0" "$@"

QUICK=${QUICK:-0}
CSV=${CSV:-0}
for arg in "$@"; do
    case $arg in
        --quick) QUICK=1 ;;
        --csv) CSV=1 ;;
        *) echo "usage: $0 [--quick] [--csv]" >&2; exit 2 ;;
    esac
done

LOADGEN=$BUILD_DIR/tools/loadgen
[ -x "$LOADGEN" ] || { echo "bench: $LOADGEN is missing: run make first" >&2; exit 1; }

if [ "$QUICK" = 1 ]; then
    STALL_CAP_MS=500 IDLE_CLIENTS=20 IDLE_SECONDS=0.5 PING_SECONDS=0.3
    PING_SIZES=(1 10 50) CLIENT_SIZES=(10 100) CLIENT_SECONDS=1 CROWD_ACTIVE=10 CROWD_IDLE=50
else
    STALL_CAP_MS=2000 IDLE_CLIENTS=100 IDLE_SECONDS=2 PING_SECONDS=2
    PING_SIZES=(1 100 1000) CLIENT_SIZES=(100 1000 5000 10000) CLIENT_SECONDS=10
    CROWD_ACTIVE=100 CROWD_IDLE=5000
fi

# Thousands of clients need thousands of descriptors, in the servers and in loadgen.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FD_LIMIT=$(ulimit -n)

trap stop_all EXIT

# The servers: "label|kind|what" where kind is stage (a stage path) or peer (a command).
SERVERS=()
mapfile -t stages < <(stage_list bench) # the stages tagged bench in chapters/chapter-03/stages.txt
for stage in "${stages[@]}"; do
    [ -x "$(stage_bin "$stage")" ] && SERVERS+=("$stage|stage|$stage")
done
if [ -n "${BENCH_ONLY:-}" ]; then
    kept=()
    for entry in "${SERVERS[@]}"; do
        case " $BENCH_ONLY " in *" ${entry%%|*} "*) kept+=("$entry") ;; esac
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

# start KIND WHAT PORT: start one server with its output discarded (we measure the server, not
# the terminal), quiet where the stage supports -q.
start() {
    local kind=$1 what=$2 port=$3
    if [ "$kind" = stage ]; then
        QUIET=1 start_server "$what" "$port"
    else
        # shellcheck disable=SC2086
        start_program peer "$port" $what
    fi
}

# field NAME LINE: the value of NAME=value in a loadgen result line.
field() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }

measure_stall() {
    local port
    port=$(free_port)
    start "$1" "$2" "$port" || { echo "error"; return; }
    local out
    out=$(timeout 30 "$LOADGEN" stall "$port" "$STALL_CAP_MS" 3>&-)
    stop_server
    field stall_ms "$out"
}

# hold PORT N SECONDS: N clients connected and silent, in the background (HOLD_PID), for at
# most SECONDS; returns once they are all connected (1 if they could not be, within 30 s).
hold() {
    local out=$LIB_TMP/hold.out
    : >"$out"
    timeout $(($3 + 60)) "$LOADGEN" hold "$1" "$2" "$3" >"$out" 2>&1 3>&- &
    HOLD_PID=$!
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
    stop_server
}

measure_pingpong() { # kind what n
    local port out
    port=$(free_port)
    start "$1" "$2" "$port" || { echo "error"; return; }
    out=$(timeout 60 "$LOADGEN" pingpong "$port" "$3" "$PING_SECONDS" 3>&-)
    stop_server
    echo "$out"
}

# measure_crowd KIND WHAT: ping-pong with CROWD_ACTIVE clients while CROWD_IDLE more are
# connected and silent.
measure_crowd() {
    local port out=""
    port=$(free_port)
    start "$1" "$2" "$port" || { echo "error"; return; }
    if hold "$port" "$CROWD_IDLE" 60; then
        out=$(timeout 60 "$LOADGEN" pingpong "$port" "$CROWD_ACTIVE" "$PING_SECONDS" 3>&-)
    fi
    unhold
    stop_server
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
        peak=$(awk '/^VmHWM/ { print $2 }' "/proc/$SERVER_PID/status" 2>/dev/null)
        stop_server
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
        else
            limit="at $n: $(field echoed "$out") of $n echoed ($(field first_error "$out"))"
        fi
        break
    done
    [ -n "$limit" ] || limit="none hit"
    echo "$best|$limit|$rss"
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
done

if [ "$CSV" = 1 ]; then
    header="server,stall_ms,idle_cpu_percent"
    for n in "${PING_SIZES[@]}"; do header+=",rate_$n,p50_us_$n,p99_us_$n"; done
    echo "$header,rate_crowd,p50_us_crowd,p99_us_crowd,max_clients,limit,peak_rss_kib,date,cores"
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
        echo "$row,$best,\"$limit\",$rss,$date_text,$cores"
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
echo "$head ping-pong, $CROWD_ACTIVE clients among $CROWD_IDLE idle | most clients echoed | peak RSS |"
echo "$rule---|---|---|"
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
    echo "$row"
done
echo
echo "Ping-pong cells: messages per second, round trip p50/p99. The crowd column: the same with"
echo "$CROWD_IDLE more clients connected and silent (what each wait costs when most clients are idle)."
[ -n "$PEER_NOTE" ] && echo "$PEER_NOTE"

# The targets the event-loop stages should reach on a 2-core machine.
echo
echo "### Targets"
echo
echo "| target | measured | met |"
echo "|---|---|---|"
check() { # text measured condition(0/1)
    echo "| $1 | $2 | $([ "$3" = 1 ] && echo yes || echo NO) |"
}
big=${PING_SIZES[-1]}
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
    peer="python asyncio"
    if [ -n "${RESULT[$peer,ping$big]:-}" ]; then
        mine=$(field rate "${RESULT[$epoll,ping$big]}") theirs=$(field rate "${RESULT[$peer,ping$big]}")
        ratio=$(awk -v a="${mine:-0}" -v b="${theirs:-0}" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print 0 }')
        check "$epoll: >= 10x asyncio's msg/s at $big clients" "${ratio}x" \
            "$(awk -v r="$ratio" 'BEGIN { print (r >= 10) ? 1 : 0 }')"
    fi
fi
if [ "$QUICK" = 1 ]; then
    echo
    echo "A quick run (${PING_SIZES[-1]} ping-pong clients for ${PING_SECONDS} s, at most ${CLIENT_SIZES[-1]} clients) only shows that"
    echo "everything runs: a NO above means little. The targets are for the full run: make bench."
fi
