#!/usr/bin/env bash
# scripts/replay.sh - replay every experiment of chapter 3, stage by stage (`make chapter-03`).
#
#   scripts/replay.sh [STAGE]        STAGE: e.g. 01-blocking/04-many-clients (or 04-many-clients)
#   PAUSE=0 scripts/replay.sh        never wait for Enter (it only waits when stdout is a terminal)
#   TRACE=1 scripts/replay.sh        also show each experiment's system calls, condensed (strace)
#
# For each stage: a title, the commands a student would type (the server, then each nc client),
# what the server and each client printed, as the documents' "Salida" blocks show it, and one
# line saying what happened, with a measured figure where there is one, and next to it the
# kernel's evidence (scripts/peek.sh: the call the server sleeps in, the bytes in each socket,
# the calls per second). Every server runs on a free port and everything started is stopped at
# the end, also on Ctrl-C. It drives the stages with scripts/lib.sh, as the tests do.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
source scripts/lib.sh
source scripts/i18n.sh

require_tools replay || exit 1
# Ctrl-C and SIGTERM stop everything the replay started: see supervise in lib.sh.
supervise "$(L "(interrupted: everything the replay started is stopped)" "(interrumpido: todo lo que arrancó la repetición está parado)")" "$0" "$@"

ONLY=${1:-${STAGE:-}}
PAUSE=${PAUSE:-1}
TRACE=${TRACE:-0}
if [ "$TRACE" = 1 ]; then
    command -v strace >/dev/null || { L "replay: TRACE=1 needs strace (sudo apt-get install strace)" "replay: TRACE=1 necesita strace (sudo apt-get install strace)" >&2; echo >&2; exit 1; }
    export LIB_TRACE=1 # start_server and run_server attach strace (lib.sh)
fi
LOADGEN=$BUILD_DIR/tools/loadgen
trap stop_all EXIT
trap '' PIPE # a write to a client that has gone fails (EPIPE) instead of killing the replay

if [ -t 1 ]; then
    B=$'\e[1m' D=$'\e[2m' C=$'\e[36m' Y=$'\e[33m' G=$'\e[32m' X=$'\e[31m' R=$'\e[0m'
else
    B="" D="" C="" Y="" G="" X="" R=""
fi

# --- presentation ---------------------------------------------------------------------------

# Every message is given in English and in Spanish (scripts/i18n.sh picks by the locale):
# title STAGE NOTE [NOTA], say TEXT [TEXTO], verdict TEXT TEXTO, surprise TEXT TEXTO,
# cmd LABEL COMMAND [NOTE NOTA]. (One text alone: the same in both, as the notes' titles.)
title() {
    printf '\n%s== %s ==%s  %s%s%s\n' "$B" "$1" "$R" "$D" "$(L "$2" "${3:-$2}")" "$R"
}
say() { L "$1" "${2:-$1}" | fold -s -w 96 | sed 's/^/   /'; echo; }
cmd() {
    printf '   %s%-11s%s %s$ %s%s%s\n' "$D" "$1" "$R" "$C" "$2" "${3:+    $(L "$3" "${4:-$3}")}" "$R"
}
salida() { # heading file: print a "Salida" block, ports as they really were
    printf '\n   %s%s%s\n' "$B" "$1" "$R"
    if [ -s "$2" ]; then
        # show bytes the way a terminal would: \r is invisible there
        tr -d '\r' <"$2" | sed 's/^/     /'
    else
        printf '     %s(%s)%s\n' "$D" "$(L nothing nada)" "$R"
    fi
}
verdict() { printf '\n   %s→ %s%s\n' "$Y" "$(L "$1" "${2:-$1}")" "$R"; }
# kernel HEADING FILE: what scripts/peek.sh saw, as a block like the Salida ones.
kernel() {
    printf '\n   %s%s%s\n' "$B" "$1" "$R"
    sed 's/^/     /' "$2"
}
# look_at FILE [PEEK OPTIONS...]: one look of scripts/peek.sh at the server ($SERVER_PID): what
# it prints goes to FILE, shown to the reader; its facts (key=value lines) to FILE.kv, which
# the verdicts are drawn from.
look_at() {
    local file=$1
    shift
    PEEK_KV=$file.kv peek "$@" "$SERVER_PID" >"$file" 2>&1
}
# fact FILE WHAT [KEY=VALUE...]: KV = the first line of FILE.kv (a look's facts) of kind WHAT
# (process, cpu, thread, socket, rate...) that has every KEY=VALUE given; 1 if there is none.
fact() {
    local file=$1.kv what=$2 line want ok
    shift 2
    [ -f "$file" ] || return 1
    while IFS= read -r line; do
        probe_kv "$line"
        [ "${KV[what]}" = "$what" ] || continue
        ok=1
        for want in "$@"; do [ "${KV[${want%%=*}]:-}" = "${want#*=}" ] || ok=0; done
        [ $ok = 1 ] && return 0
    done <"$file"
    KV=()
    return 1
}
# counted_by FILE: which tool counted the calls of the look in FILE, or why none could.
counted_by() {
    fact "$1" rate
    case ${KV[counter]:-none} in
        perf) L "counted by perf stat" "contadas por perf stat" ;;
        strace) L "counted by strace, which slows the server" "contadas por strace, que frena el servidor" ;;
        *) [ -n "${KV[why]:-}" ] && sed -n 's/^what=rate counter=none why=//p' "$1.kv" ;; # (its text: the rest of the line)
    esac
}
commas() { awk -v n="$1" -v sep="$(L , .)" 'BEGIN { t = sprintf("%d", n); o = ""; while (length(t) > 3) { o = sep substr(t, length(t) - 2) o; t = substr(t, 1, length(t) - 3) }; print t o }'; }
# show_trace: with TRACE=1, the system calls of the experiment just run, condensed.
show_trace() {
    [ "$TRACE" = 1 ] || return 0
    printf '\n   %s%s%s\n' "$B" "$(L "System calls of the server (TRACE=1: strace -f, one line per different call, repeats counted)" "Llamadas al sistema del servidor (TRACE=1: strace -f, una línea por llamada distinta, con las repeticiones contadas)")" "$R"
    trace_report | sed 's/^/     /'
}
# Every verdict is checked against what really happened; anything else is said, and counted.
SURPRISES=0
surprise() {
    printf '\n   %s✗ %s: %s%s\n' "$X" "$(L unexpected inesperado)" "$(L "$1" "${2:-$1}")" "$R"
    SURPRISES=$((SURPRISES + 1))
}
got() { [ "$(cat "$1"; echo .)" = "$(printf '%b' "$2"; echo .)" ]; } # got FILE DATA: exactly
# again STAGE: a fresh server of STAGE on a new port ($port), for another experiment on it.
again() {
    port=$(free_port)
    show_trace
    stop_all
    start_server "$1" "$port" || return
    printf '\n'
    cmd "terminal 1" "build/chapter-03/$1 $port"
}
ms_since() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.0f", (b - a) / 1e6 }'; }
pause() {
    if [ "$PAUSE" != 0 ] && [ -t 0 ] && [ -t 1 ]; then
        printf '\n   %s[%s]%s ' "$D" "$(L "Enter: next stage, Ctrl-C: stop" "Enter: siguiente etapa, Ctrl-C: parar")" "$R"
        read -r _ || true
    fi
}

# run_stage STAGE: start fresh for one stage (clients, files), then run its replay function.
ran=0
run_stage() {
    local stage=$1
    if [ -n "$ONLY" ] && [ "$stage" != "$ONLY" ] && [ "${stage#*/}" != "$ONLY" ]; then
        return
    fi
    if [ ! -x "$(stage_bin "$stage")" ]; then
        ran=$((ran + 1))
        if [ "$(uname -s)" != Linux ] && grep -q 'sys/epoll.h' "chapters/chapter-03/$stage.c"; then
            title "$stage" "(epoll is Linux-only: skipped on $(uname -s))" "(epoll solo existe en Linux: se salta en $(uname -s))"
        elif grep -q 'liburing.h' "chapters/chapter-03/$stage.c"; then
            title "$stage" "(liburing not found at build time: skipped, as make said)" "(no se encontró liburing al compilar: se salta, como dijo make)"
        else
            title "$stage" "(not built)" "(sin compilar)"
            surprise "$(stage_bin "$stage") is missing: build it first with make (or run make chapter-03)" "falta $(stage_bin "$stage"): compílalo antes con make (o ejecuta make chapter-03)"
        fi
        return
    fi
    [ $ran -gt 0 ] && pause
    ran=$((ran + 1))
    stop_all
    # A replay function returns non-zero only when a server would not start (start_server has
    # said why on stderr): that is a surprise too.
    "replay_${stage//[\/-]/_}" || surprise "$stage could not be started (see the message above)" "no se pudo arrancar $stage (mira el mensaje de arriba)"
    show_trace
    stop_all
}

# --- section 1: Sockets bloqueantes ---------------------------------------------------------

replay_01_blocking_01_accept() {
    local port
    port=$(free_port)
    title 01-blocking/01-accept 'Sockets bloqueantes · "Ejemplo completo"'
    say "socket(), SO_REUSEADDR, bind() to 127.0.0.1, listen(), then one accept(), which blocks until a client connects." \
        "socket(), SO_REUSEADDR, bind() a 127.0.0.1, listen() y un solo accept(), que se bloquea hasta que se conecta un cliente."
    cmd "terminal 1" "build/chapter-03/01-blocking/01-accept $port"
    cmd "terminal 2" "nc -N localhost $port </dev/null"
    start_server 01-blocking/01-accept "$port" || return
    send_line "$port" "" >/dev/null
    wait_exit "$SERVER_PID"
    salida "Salida (servidor)" "$SERVER_OUT"
    if ! grep -qE "^I got a connection from \('127\.0\.0\.1', [0-9]+\)!$" "$SERVER_OUT"; then
        surprise "no 'I got a connection from' line" "no salió la línea 'I got a connection from'"
        return
    fi
    verdict "accept() returned when nc connected; the address is nc's, with the port the kernel chose for it. Exit status $EXIT_STATUS." \
        "accept() volvió cuando nc se conectó; la dirección es la de nc, con el puerto que le eligió el kernel. Código de salida $EXIT_STATUS."
}

replay_01_blocking_02_recv_two_bytes() {
    local port
    port=$(free_port)
    title 01-blocking/02-recv-two-bytes 'Sockets bloqueantes · "Ejemplo para leer desde un socket"'
    say "recv(2) in a loop: every call returns at most two bytes, so the server keeps a buffer until it ends in \\r\\n." \
        "recv(2) en un bucle: cada llamada devuelve como mucho dos bytes, así que el servidor guarda un búfer hasta que acaba en \\r\\n."
    cmd "terminal 1" "build/chapter-03/01-blocking/02-recv-two-bytes $port"
    cmd "terminal 2" "printf 'Hola Mundo\\r\\n' | nc -N localhost $port"
    start_server 01-blocking/02-recv-two-bytes "$port" || return
    send_line "$port" 'Hola Mundo\r\n' >/dev/null
    wait_exit "$SERVER_PID"
    salida "Salida (servidor)" "$SERVER_OUT"
    if [ "$(tail -n 1 "$SERVER_OUT")" != "Toda la data leida: b'Hola Mundo\\r\\n'" ]; then
        surprise "the server did not read the whole line" "el servidor no leyó la línea entera"
        return
    fi
    local reads
    reads=$(grep -c '^Data leida' "$SERVER_OUT")
    verdict "12 bytes arrived in $reads recv() calls of at most 2 bytes each; the loop stopped at the \\r\\n." \
        "Llegaron 12 bytes en $reads llamadas a recv() de 2 bytes como mucho; el bucle paró en el \\r\\n."
}

replay_01_blocking_03_read_and_write() {
    local port
    port=$(free_port)
    title 01-blocking/03-read-and-write 'Sockets bloqueantes · "Ejemplo para leer y escribir"'
    say "The same loop, then send_all() (Python's sendall) writes a reply back on the same socket." \
        "El mismo bucle, y después send_all() (el sendall de Python) escribe una respuesta por el mismo socket."
    cmd "terminal 1" "build/chapter-03/01-blocking/03-read-and-write $port"
    cmd "terminal 2" "printf 'Hola Mundo\\r\\n' | nc -N localhost $port"
    start_server 01-blocking/03-read-and-write "$port" || return
    send_line "$port" 'Hola Mundo\r\n' >"$LIB_TMP/client.out"
    wait_exit "$SERVER_PID"
    salida "Salida (servidor)" "$SERVER_OUT"
    salida "Salida del lado de cliente" "$LIB_TMP/client.out"
    got "$LIB_TMP/client.out" 'Gracias por su Mensaje\n' || { surprise "the client did not get 'Gracias por su Mensaje'" "el cliente no recibió 'Gracias por su Mensaje'"; return; }
    local bytes
    bytes=$(wc -c <"$LIB_TMP/client.out")
    verdict "the client got $bytes bytes back. (With echo -e the extra \\n is never read and close() sends RST: the reply may be lost; see the guide.)" \
        "El cliente recibió $bytes bytes de vuelta. (Con echo -e el \\n de más nunca se lee y close() envía RST: la respuesta se puede perder; mira la guía.)"
}

replay_01_blocking_04_many_clients() {
    local port t0 waited released
    port=$(free_port)
    title 01-blocking/04-many-clients 'Sockets bloqueantes · "Ejemplo para leer y escribir desde multiples usuarios"'
    say "accept() a client, then read one message from every client so far, in turn. Every call blocks." \
        "accept() de un cliente, y después leer un mensaje de cada cliente conectado hasta ahora, por turno. Todas las llamadas bloquean."
    cmd "terminal 1" "build/chapter-03/01-blocking/04-many-clients $port"
    cmd "terminal 2" "echo -e \"Hola Mundo\\r\\n\" | nc localhost $port"
    cmd "terminal 3" "printf 'Hola Mundo2\\r\\n' | nc localhost $port"
    cmd "terminal 4" "nc localhost $port" "(a third client: connects, says nothing)" "(un tercer cliente: se conecta y no dice nada)"
    cmd "terminal 5" "scripts/peek.sh --no-rate \$(pgrep -n 04-many-clients)" "(what the kernel holds)" "(lo que guarda el kernel)"
    say "(printf for client 2, not echo -e: in \"Hola Mundo2\\r\\n\\n\" the \\r falls at an odd offset, so the \\r\\n is split across two 2-byte reads, and with a \\n behind it the tail check never sees the end; 02-eagain-loop shows that bug.)" \
        "(printf para el cliente 2, no echo -e: en \"Hola Mundo2\\r\\n\\n\" el \\r cae en una posición impar, así que el \\r\\n se parte entre dos lecturas de 2 bytes y, con un \\n detrás, la comprobación del final nunca lo ve; 02-eagain-loop enseña ese fallo.)"
    start_server 01-blocking/04-many-clients "$port" || return
    client_open uno "$port"
    client_send uno 'Hola Mundo\r\n\n'
    wait_client_output uno 'Hola Mundo\r\n'
    client_open dos "$port"
    t0=$(date +%s%N)
    client_send dos 'Hola Mundo2\r\n'
    client_open tres "$port"
    # While client 2 waits, look inside (the backlog of 1.1, seen: client 3 is connected,
    # and nobody accept()s it).
    # (polling the kernel's table is cheap; peek, a second of CPU in 1.5 s of polling, runs once)
    wait_until 1.5 _queued_or_answered "$port" || true
    PEEK_COUNTER=none look_at "$LIB_TMP/peek.out" --no-rate
    # give client 2 every chance: 2 s in all (an answer ends the wait: there is no stall to show)
    wait_until "$(awk -v m="$(ms_since "$t0")" 'BEGIN { s = (2000 - m) / 1000; printf "%.3f", (s > 0 ? s : 0) }')" \
        test -s "$LIB_TMP/dos.out" || true
    waited=$(ms_since "$t0")
    salida "Salida (servidor)" "$SERVER_OUT"
    salida "Salida cliente 1" "$LIB_TMP/uno.out"
    salida "Salida cliente 2" "$LIB_TMP/dos.out"
    got "$LIB_TMP/uno.out" 'Hola Mundo\r\n' || { surprise "client 1 got no echo" "el cliente 1 no recibió su eco"; return; }
    if [ -s "$LIB_TMP/dos.out" ]; then
        surprise "client 2 got an answer within $waited ms" "el cliente 2 recibió respuesta en $waited ms"
        return
    fi
    local secs
    secs=$(awk -v m="$waited" 'BEGIN { printf "%.1f", m / 1000 }')
    verdict "client 2 waited $secs s and got nothing: the server is blocked in recv() on client 1, which is connected and silent." \
        "El cliente 2 esperó ${secs/./,} s y no recibió nada: el servidor está bloqueado en recv() con el cliente 1, que está conectado y callado."
    kernel "$(L "What the kernel holds meanwhile" "Lo que guarda el kernel mientras tanto") (scripts/peek.sh --no-rate $SERVER_PID)" "$LIB_TMP/peek.out"
    local one two three fd
    one=$(client_port uno) two=$(client_port dos) three=$(client_port tres)
    fact "$LIB_TMP/peek.out" socket "remote=127.0.0.1:$one"
    fd=${KV[fd]:-}
    if [ -z "$fd" ] || ! fact "$LIB_TMP/peek.out" thread "tid=$SERVER_PID" state=S syscall=recvfrom "fd=$fd"; then
        surprise "the server should be asleep in recvfrom() on client 1's socket ('127.0.0.1', $one)" "el servidor debería dormir en recvfrom() sobre el socket del cliente 1 ('127.0.0.1', $one)"
        return
    fi
    if ! fact "$LIB_TMP/peek.out" socket "remote=127.0.0.1:$two" recvq=13; then
        surprise "client 2's socket should hold its 13 bytes in Recv-Q" "el socket del cliente 2 debería guardar sus 13 bytes en Recv-Q"
        return
    fi
    if ! fact "$LIB_TMP/peek.out" socket state=LISTEN accept_queue=1 ||
        ! fact "$LIB_TMP/peek.out" socket "remote=127.0.0.1:$three" queued=1; then
        surprise "client 3 should wait in the listening socket's accept queue" "el cliente 3 debería esperar en la cola de accept del socket que escucha"
        return
    fi
    verdict "the kernel shows it: the server sleeps in recvfrom() on fd $fd, client 1's socket; client 2's 13 bytes (Hola Mundo2\\r\\n) wait unread in its socket's Recv-Q; client 3 is connected (its nc thinks all is well) but waits in the listening socket's accept queue (1 waiting): nobody calls accept() while the loop is stuck in recv()." \
        "El kernel lo confirma: el servidor duerme en recvfrom() sobre el fd $fd, el socket del cliente 1; los 13 bytes del cliente 2 (Hola Mundo2\\r\\n) esperan sin leer en el Recv-Q de su socket; el cliente 3 está conectado (su nc cree que todo va bien), pero espera en la cola de accept del socket que escucha (1 en espera): nadie llama a accept() mientras el bucle está atascado en recv()."
    cmd "terminal 2" "Ctrl-C" "(client 1 hangs up)" "(el cliente 1 cuelga)"
    t0=$(date +%s%N)
    client_kill uno
    wait_client_output dos 'Hola Mundo2\r\n' 5
    released=$(ms_since "$t0")
    salida "Salida cliente 2" "$LIB_TMP/dos.out"
    got "$LIB_TMP/dos.out" 'Hola Mundo2\r\n' || { surprise "client 2 got no echo even after client 1 left" "el cliente 2 no recibió su eco ni después de irse el cliente 1"; return; }
    if ! wait_until 3 _connections_printed 3; then
        surprise "the next accept() should have taken client 3 from the queue" "el siguiente accept() debería haber sacado de la cola al cliente 3"
        return
    fi
    verdict "client 1's recv() returned 0 (end of stream), the loop moved on, and client 2's echo came ${released} ms later; then the next accept() took client 3 from the accept queue (the server printed its third \"Cliente connectandose desde\" line). (Typing a line into client 1 would release it too: start client 1 as nc -C localhost $port and type into it.)" \
        "El recv() del cliente 1 devolvió 0 (fin del flujo), el bucle siguió y el eco del cliente 2 llegó ${released} ms después; luego el siguiente accept() sacó de la cola al cliente 3 (el servidor imprimió su tercera línea «Cliente connectandose desde»). (Escribir una línea en el cliente 1 también lo habría soltado: arranca el cliente 1 con nc -C localhost $port y escribe en él.)"
}

# _queued_or_answered PORT: client 2's 13 bytes wait unread at the server on PORT, or client 2
# has had an answer.
_queued_or_answered() { queued_at_server "$1" 13 || [ -s "$LIB_TMP/dos.out" ]; }
_connections_printed() { [ "$(grep -c '^Cliente connectandose desde' "$SERVER_OUT")" -ge "$1" ]; }

# --- section 2: Sockets NO bloqueantes ------------------------------------------------------

replay_02_non_blocking_01_accept_eagain() {
    local port t0
    port=$(free_port)
    title 02-non-blocking/01-accept-eagain 'Sockets NO bloqueantes · "Ejemplo no bloqueante"'
    say "fcntl(O_NONBLOCK) is setblocking(False): a call that would wait fails at once with EAGAIN. The loop is unchanged, so the first accept() with nobody waiting is fatal." \
        "fcntl(O_NONBLOCK) es setblocking(False): una llamada que tendría que esperar falla enseguida con EAGAIN. El bucle no cambia, así que el primer accept() sin nadie esperando es mortal."
    cmd "terminal 1" "build/chapter-03/02-non-blocking/01-accept-eagain $port"
    t0=$(date +%s%N)
    run_server 02-non-blocking/01-accept-eagain "$port"
    cat "$SERVER_OUT" "$SERVER_ERR" >"$LIB_TMP/both.out"
    salida "Salida" "$LIB_TMP/both.out"
    if [ "$SERVER_STATUS" != 1 ] || ! grep -q "EAGAIN" "$SERVER_ERR"; then
        surprise "it did not die of EAGAIN (exit status $SERVER_STATUS)" "no murió por EAGAIN (código de salida $SERVER_STATUS)"
        return
    fi
    local ms
    ms=$(ms_since "$t0")
    verdict "accept() did not wait: the program was gone after $ms ms with exit status $SERVER_STATUS (Python: BlockingIOError: [Errno 11])." \
        "accept() no esperó: el programa había terminado a los $ms ms con código de salida $SERVER_STATUS (Python: BlockingIOError: [Errno 11])."
}

replay_02_non_blocking_02_eagain_loop() {
    local port cpu share user calls failed again
    port=$(free_port)
    title 02-non-blocking/02-eagain-loop 'Sockets NO bloqueantes · "Ejemplo no bloqueante con try catch"'
    say "EAGAIN now means \"nothing yet, go on\". Nobody stalls anybody, but: the loop never waits, the buffer restarts on every pass, and only its last two bytes are checked for \\r\\n." \
        "Ahora EAGAIN quiere decir \"nada todavía, sigue\". Nadie atasca a nadie, pero: el bucle no espera nunca, el búfer vuelve a empezar en cada vuelta y solo se buscan \\r\\n en sus dos últimos bytes."
    cmd "terminal 1" "build/chapter-03/02-non-blocking/02-eagain-loop $port"
    cmd "terminal 2" "echo -e \"Hola Mundo3\\r\\n\" | nc localhost $port"
    cmd "terminal 3" "echo -e \"Hola Mundo2\\r\\n\" | nc localhost $port"
    cmd "terminal 4" "echo -e \"Hola Mundo\\r\\n\" | nc localhost $port"
    start_server 02-non-blocking/02-eagain-loop "$port" || return
    client_open uno "$port"
    client_send uno 'Hola Mundo3\r\n\n'
    wait_output "$SERVER_OUT" "Data leida: b'\\n\\n'"
    client_open dos "$port"
    client_send dos 'Hola Mundo2\r\n\n'
    wait_until 5 _two_lines_nn
    client_open tres "$port"
    client_send tres 'Hola Mundo\r\n\n'
    wait_client_output tres 'Hola Mundo\r\n'
    wait_output "$SERVER_OUT" "Data leida: b'\\n'"
    sleep 0.3
    salida "Salida (servidor)" "$SERVER_OUT"
    salida "Salida cliente 1 (Hola Mundo3)" "$LIB_TMP/uno.out"
    salida "Salida cliente 2 (Hola Mundo2)" "$LIB_TMP/dos.out"
    salida "Salida cliente 3 (Hola Mundo)" "$LIB_TMP/tres.out"
    if [ -s "$LIB_TMP/uno.out" ] || [ -s "$LIB_TMP/dos.out" ] || ! got "$LIB_TMP/tres.out" 'Hola Mundo\r\n'; then
        surprise "clients 1 and 2 should hang with nothing, client 3 get its echo" "los clientes 1 y 2 deberían quedarse colgados sin nada, y el 3 recibir su eco"
        return
    fi
    verdict "clients 1 and 2 hang (\"se queda colgado\"): their \\r\\n fell across two 2-byte reads (\"3\\r\" \"\\n\\n\"), the tail check never saw it, and EAGAIN threw the buffer away. Client 3's \\r\\n fell on an even offset: echoed." \
        "Los clientes 1 y 2 se quedan colgados: su \\r\\n cayó entre dos lecturas de 2 bytes (\"3\\r\" \"\\n\\n\"), la comprobación del final nunca lo vio y EAGAIN tiró el búfer. El \\r\\n del cliente 3 cayó en posición par: tuvo su eco."
    # One second of looking inside: the CPU share and the system calls, over the same second.
    cmd "terminal 5" "scripts/peek.sh \$(pgrep -n 02-eagain-loop)" "(CPU, calls per second)" "(CPU, llamadas por segundo)"
    look_at "$LIB_TMP/peek.out"
    fact "$LIB_TMP/peek.out" cpu || probe_kv "$(_probe cpu "$SERVER_PID" 1)"
    cpu=${KV[cpu_pct]:-0} share=${KV[kernel_share]:-0} user=$((100 - ${KV[kernel_share]:-0}))
    kernel "$(L "What the kernel sees meanwhile" "Lo que ve el kernel mientras tanto") (scripts/peek.sh $SERVER_PID)" "$LIB_TMP/peek.out"
    fact "$LIB_TMP/peek.out" rate
    calls=${KV[calls_per_s]:-} failed=${KV[failed_per_s]:-} again=${KV[eagain_per_s]:-0}
    # A server traced by strace (TRACE=1) stops at every call: slower, and less of a core.
    local least_cpu=40 least_calls=5000
    [ "$TRACE" = 1 ] && least_cpu=5 least_calls=500
    local by every
    by=$(counted_by "$LIB_TMP/peek.out")
    if [ -z "${calls:-}" ]; then
        verdict "meanwhile, with nobody typing, the server used ${cpu}% of a core (${share}% of that in the kernel, ${user}% in its own code): the loop never waits. (Its calls were not counted: $by)" \
            "Mientras tanto, sin que nadie escriba, el servidor usó el ${cpu}% de un núcleo (el ${share}% de eso en el kernel, el ${user}% en su propio código): el bucle no espera nunca. (Sus llamadas no se contaron: $by)"
    else
        every=$(awk -v c="$calls" 'BEGIN { printf "%.1f", 1e6 / c }')
        verdict "meanwhile, with nobody typing, the server used ${cpu}% of a core (${share}% of that in the kernel, ${user}% in its own code), making $(commas "$calls") system calls a second ($by), $(commas "${again:-0}") of them failing with EAGAIN: accept() and recv() ask \"anything yet?\" and the kernel answers \"not yet\", one call every $every µs. (Not millions a second: each call goes into the kernel and back.) Where the core goes: ${share}% of its CPU time is spent inside the kernel, in those failing calls, not in the program's own code." \
            "Mientras tanto, sin que nadie escriba, el servidor usó el ${cpu}% de un núcleo (el ${share}% de eso en el kernel, el ${user}% en su propio código) haciendo $(commas "$calls") llamadas al sistema por segundo ($by), $(commas "${again:-0}") de ellas fallidas con EAGAIN: accept() y recv() preguntan \"¿hay algo?\" y el kernel contesta \"todavía no\", una llamada cada ${every/./,} µs. (No son millones por segundo: cada llamada entra en el kernel y vuelve.) ¿Adónde va la CPU? El ${share}% de su tiempo de CPU se gasta dentro del kernel, en esas llamadas que fallan, no en el código del programa."
        if [ "$calls" -lt "$least_calls" ] || [ "${failed:-0}" -lt $((calls * 99 / 100)) ] || [ "${again:-0}" -lt $((calls * 99 / 100)) ]; then
            surprise "the busy loop should make thousands of calls a second, (nearly) all failing with EAGAIN" \
                "el bucle activo debería hacer miles de llamadas por segundo, fallidas (casi) todas con EAGAIN"
        fi
    fi
    if [ "$TRACE" = 1 ]; then
        [ "$cpu" -ge "$least_cpu" ] || surprise "the busy loop should use (nearly) a whole core" "el bucle activo debería usar (casi) un núcleo entero"
    else
        # it never sleeps, and it runs: what it gets depends on how busy the machine is
        busy_looping "$SERVER_PID" 0.3 ||
            surprise "the busy loop should run and never sleep (it got ${CPU_GOT:-?}% of a core, wanted ${CPU_WANTED:-?}%, slept ${CPU_SLEPT:-?} times)" \
                "el bucle activo debería ejecutarse sin dormirse nunca (tuvo el ${CPU_GOT:-?}% de un núcleo, quería el ${CPU_WANTED:-?}%, se durmió ${CPU_SLEPT:-?} veces)"
    fi

    # The documents' second try: telnet, which sends each line as it is typed.
    again 02-non-blocking/02-eagain-loop || return
    cmd "terminal 2" "telnet localhost $port" "then type: Hola mundo⏎" "y escribe: Hola mundo⏎"
    cmd "terminal 3" "telnet localhost $port" "then type: Hola mundo⏎" "y escribe: Hola mundo⏎"
    local name n=0 echoed=1
    for name in uno dos; do
        n=$((n + 1))
        if [ "$HAVE_TELNET" = 1 ]; then
            telnet_open "$name" "$port" "$n"
            client_send "$name" 'Hola mundo\n' # (telnet sends the Enter as \r\n, and shows the \r\n it gets back as a line end)
            wait_until 5 _telnet_echoed "$name" || echoed=0
        else
            client_open "$name" "$port"
            client_send "$name" 'Hola mundo\r\n'
            wait_client_output "$name" 'Hola mundo\r\n' || echoed=0
        fi
    done
    [ "$HAVE_TELNET" = 1 ] || say "(telnet is not installed here: nc sends what telnet sends, Hola mundo\\r\\n and nothing after it. sudo apt-get install telnet for the real one.)" \
        "(telnet no está instalado aquí: nc envía lo mismo que telnet, Hola mundo\\r\\n y nada detrás. sudo apt-get install telnet para usar el de verdad.)"
    salida "Salida (servidor)" "$SERVER_OUT"
    salida "Salida cliente 1" "$LIB_TMP/uno.out"
    salida "Salida cliente 2" "$LIB_TMP/dos.out"
    if [ "$echoed" = 0 ] || [ "$(grep -c "^Toda la data leida: b'Hola mundo\\\\r\\\\n'$" "$SERVER_OUT")" -ne 2 ]; then
        surprise "both telnet clients should get their echo" "los dos clientes telnet deberían recibir su eco"
        return
    fi
    verdict "\"Ahora si trabaja\": telnet sends \"Hola mundo\\r\\n\" and nothing after it, so the last 2-byte read ends exactly at the \\n and the tail check sees it." \
        "\"Ahora si trabaja\": telnet envía \"Hola mundo\\r\\n\" y nada detrás, así que la última lectura de 2 bytes acaba justo en el \\n y la comprobación del final lo ve."

    # What the documents do not show: a line that arrives in two pieces.
    again 02-non-blocking/02-eagain-loop || return
    cmd "terminal 2" "{ printf Ho; sleep 1; printf 'la\\r\\n'; } | nc -N localhost $port"
    client_open telnet "$port"
    client_send telnet 'Ho'
    wait_output "$SERVER_OUT" "Data leida: b'Ho'"
    sleep 0.2
    client_send telnet 'la\r\n'
    wait_client_output telnet 'la\r\n'
    salida "Salida (servidor)" "$SERVER_OUT"
    salida "Salida del cliente" "$LIB_TMP/telnet.out"
    got "$LIB_TMP/telnet.out" 'la\r\n' || { surprise "the client should get back only la\\r\\n" "el cliente debería recibir solo la\\r\\n"; return; }
    verdict "\"Ho\" was read, then EAGAIN ended the pass and dropped it with the buffer: only \"la\\r\\n\" came back." \
        "Se leyó \"Ho\", luego EAGAIN terminó la vuelta y lo tiró con el búfer: solo volvió \"la\\r\\n\"."
}
# telnet_open NAME PORT N: the real telnet as client NAME of the server on PORT, its N-th
# connection (client_send types into it, its screen goes to $LIB_TMP/NAME.out).
telnet_open() {
    local name=$1 fifo=$LIB_TMP/$1.in fd pid
    rm -f "$fifo"
    mkfifo "$fifo"
    timeout "${CLIENT_TIMEOUT:-30}" telnet 127.0.0.1 "$2" <"$fifo" >"$LIB_TMP/$name.out" 2>"$LIB_TMP/$name.err" 3>&- &
    pid=$!
    LIB_PIDS+=("$pid")
    printf -v "CLIENT_PID_$name" '%s' "$pid"
    exec {fd}>"$fifo" # opening the fifo waits for telnet to open its end
    LIB_FDS+=("$fd")
    printf -v "CLIENT_FD_$name" '%s' "$fd"
    wait_until 5 _connections_at_least "$2" "$3" || true
}
_connections_at_least() { [ "$(connections_to "$1")" -ge "$2" ]; }
# _telnet_echoed NAME: telnet NAME's screen ends with the echoed line.
_telnet_echoed() { [ "$(tail -n 1 "$LIB_TMP/$1.out")" = "Hola mundo" ]; }
HAVE_TELNET=0
command -v telnet >/dev/null && HAVE_TELNET=1
_two_lines_nn() { [ "$(count_lines "$SERVER_OUT" "Data leida: b'\\n\\n'")" -ge 2 ]; }

# look_idle: one second of scripts/peek.sh on the idle server ($SERVER_PID), kept for
# idle_evidence, which prints it (taking it first if look_idle was not called) and sets CPU and
# IDLE (for the verdict: the call it sleeps in, its calls in that second). A server that is not
# asleep in its waiting call, or keeps calling, is a surprise (returns 1).
look_idle() { look_at "$LIB_TMP/peek.out"; }
idle_evidence() {
    local call="" calls
    [ -s "$LIB_TMP/peek.out" ] || look_idle
    CPU=""
    fact "$LIB_TMP/peek.out" cpu && CPU=${KV[cpu_pct]}
    [ -n "$CPU" ] || CPU=$(cpu_percent "$SERVER_PID" 1)
    kernel "$(L "What the kernel sees while it is idle" "Lo que ve el kernel mientras está ocioso") (scripts/peek.sh $SERVER_PID)" "$LIB_TMP/peek.out"
    if fact "$LIB_TMP/peek.out" thread "tid=$SERVER_PID" state=S; then
        case ${KV[syscall]} in select | pselect6 | poll | ppoll | epoll_wait | epoll_pwait | epoll_pwait2 | io_uring_enter) call="${KV[syscall]}()" ;; esac
    fi
    fact "$LIB_TMP/peek.out" rate
    calls=${KV[calls_per_s]:-}
    if [ -z "$call" ]; then
        surprise "the idle server should be asleep in select/poll/epoll_wait" "el servidor ocioso debería dormir en select/poll/epoll_wait"
        return 1
    fi
    if [ -n "$calls" ] && [ "$calls" -gt 4 ]; then
        surprise "the idle server should make (almost) no system calls, not $calls a second" "el servidor ocioso no debería hacer (casi) ninguna llamada al sistema, no $calls por segundo"
        return 1
    fi
    IDLE=$(Lf "it sleeps in %s and made %s system calls in that second (%s)" "duerme en %s e hizo %s llamadas al sistema en ese segundo (%s)" \
        "$call" "${calls:-?}" "$(counted_by "$LIB_TMP/peek.out")")
    rm -f "$LIB_TMP/peek.out" "$LIB_TMP/peek.out.kv"
}

# --- sections 3 and 4: the event loop -------------------------------------------------------

# The fixed servers all pass the same trials; only the readiness API differs.
replay_fixed() { # stage note nota what-it-adds lo-que-añade
    local stage=$1 port cpu stall
    port=$(free_port)
    title "$stage" "$2" "$3"
    say "$4" "$5"
    cmd "terminal 1" "build/chapter-03/$stage $port"
    cmd "terminal 2" "nc localhost $port" "(connects, says nothing)" "(se conecta y no dice nada)"
    cmd "terminal 3" "printf 'Hola Mundo3\\r\\n\\n' | nc -N localhost $port"
    cmd "terminal 4" "{ printf Ho; sleep 1; printf 'la\\r\\n'; } | nc -N localhost $port"
    start_server "$stage" "$port" || return
    client_open idle "$port"
    send_line "$port" 'Hola Mundo3\r\n\n' >"$LIB_TMP/nc.out"
    client_open telnet "$port"
    client_send telnet 'Ho'
    sleep 0.2
    client_send telnet 'la\r\n'
    wait_client_output telnet 'Hola\r\n'
    salida "Salida (servidor)" "$SERVER_OUT"
    salida "Salida cliente 2 (Hola Mundo3)" "$LIB_TMP/nc.out"
    salida "Salida cliente 3 (Ho… la)" "$LIB_TMP/telnet.out"
    if ! got "$LIB_TMP/nc.out" 'Hola Mundo3\r\n' || ! got "$LIB_TMP/telnet.out" 'Hola\r\n'; then
        surprise "client 2 should get Hola Mundo3\\r\\n back, client 3 the whole Hola\\r\\n" "el cliente 2 debería recibir Hola Mundo3\\r\\n, y el cliente 3 el Hola\\r\\n entero"
        return
    fi
    idle_evidence || return 0
    cpu=$CPU
    show_trace
    stop_all
    port=$(free_port)
    start_server "$stage" "$port" -q || return
    stall=$("$LOADGEN" stall "$port" 2000 | sed 's/stall_ms=//')
    case $stall in
        [0-9]*) ;;
        *) surprise "with client 1 idle, client 2 got no echo within 2 s ($stall)" "con el cliente 1 ocioso, el cliente 2 no recibió su eco en 2 s ($stall)"; return ;;
    esac
    verdict "the idle client held up nobody: with client 1 connected and silent, a new client got its echo in ${stall} ms; the whole line came back even when sent in pieces; idle, the server used ${cpu}% of a core: $IDLE." \
        "El cliente ocioso no retuvo a nadie: con el cliente 1 conectado y callado, un cliente nuevo recibió su eco en ${stall/./,} ms; la línea entera volvió aunque llegara a trozos; ocioso, el servidor usó el ${cpu}% de un núcleo: $IDLE."
}

replay_03_selectors_01_select_wait() {
    local port cpu
    port=$(free_port)
    title 03-selectors/01-select-wait "The book's next step: selectors → select()" "El siguiente paso del libro: selectors → select()"
    say "select() sleeps until a socket is readable (or 1 s passes), then accept()s or reads only what is ready, with 02-eagain-loop's own reading: no stall, no busy loop." \
        "select() duerme hasta que un socket se puede leer (o pasa 1 s) y después hace accept() o lee solo lo que está listo, con la misma lectura de 02-eagain-loop: sin atascos y sin bucle activo."
    cmd "terminal 1" "build/chapter-03/03-selectors/01-select-wait $port"
    cmd "terminal 2" "nc localhost $port" "(connects, says nothing)" "(se conecta y no dice nada)"
    cmd "terminal 3" "printf 'Hola Mundo\\r\\n' | nc -N localhost $port"
    start_server 03-selectors/01-select-wait "$port" || return
    client_open idle "$port"
    send_line "$port" 'Hola Mundo\r\n' 2 >"$LIB_TMP/nc.out"
    look_idle # (a second: its once-a-second message shows in the Salida too)
    salida "Salida (servidor)" "$SERVER_OUT"
    salida "Salida cliente 2" "$LIB_TMP/nc.out"
    got "$LIB_TMP/nc.out" 'Hola Mundo\r\n' || { surprise "client 2 got no echo" "el cliente 2 no recibió su eco"; return; }
    idle_evidence || return 0
    verdict "client 2 was echoed while client 1 sat idle, and in between the server slept: ${CPU}% of a core; $IDLE: the time-out of select() and the write() of its message. (The reading is still 02-eagain-loop's, two bytes at a time, losing what came before a pause: the next stage frames lines.)" \
        "El cliente 2 tuvo su eco mientras el cliente 1 seguía ocioso, y entre medias el servidor durmió: el ${CPU}% de un núcleo; $IDLE: el plazo de select() y el write() de su mensaje. (La lectura sigue siendo la de 02-eagain-loop, de dos en dos bytes, y pierde lo que llegó antes de una pausa: la siguiente etapa separa líneas.)"
}

replay_04_event_loop_02_graceful_shutdown() {
    local port
    port=$(free_port)
    title 04-event-loop/02-graceful-shutdown "The book's graceful shutdown" "El cierre ordenado del libro"
    say "Ctrl-C (SIGINT) or SIGTERM reaches the loop through a self-pipe: stop accepting, deliver pending replies, close everyone, print a summary, exit 0. A client that sends boom makes only its own handler fail." \
        "Ctrl-C (SIGINT) o SIGTERM llegan al bucle por una self-pipe: deja de aceptar, entrega las respuestas pendientes, cierra a todos, imprime un resumen y sale con 0. Un cliente que envía boom solo hace fallar a su propio manejador."
    cmd "terminal 1" "build/chapter-03/04-event-loop/02-graceful-shutdown $port"
    cmd "terminal 2" "printf 'boom\\r\\n' | nc -N localhost $port"
    cmd "terminal 3" "nc -C localhost $port" "then type: Hola⏎" "y escribe: Hola⏎"
    cmd "terminal 1" "Ctrl-C"
    start_server 04-event-loop/02-graceful-shutdown "$port" || return
    send_line "$port" 'boom\r\n' 2 >"$LIB_TMP/boom.out"
    client_open otro "$port"
    client_send otro 'Hola\r\n'
    wait_client_output otro 'Hola\r\n'
    kill -INT "$SERVER_PID"
    wait_exit "$SERVER_PID" 5
    cat "$SERVER_OUT" "$SERVER_ERR" >"$LIB_TMP/both.out"
    salida "Salida (servidor)" "$LIB_TMP/both.out"
    salida "Salida cliente 1 (boom)" "$LIB_TMP/boom.out"
    salida "Salida cliente 2" "$LIB_TMP/otro.out"
    if [ "${EXIT_STATUS:-}" != 0 ] || ! grep -q '^Error: ' "$LIB_TMP/boom.out" || ! got "$LIB_TMP/otro.out" 'Hola\r\n'; then
        surprise "boom should get an error line, client 2 its echo, and Ctrl-C exit status 0" "boom debería recibir una línea de error, el cliente 2 su eco, y Ctrl-C dar código de salida 0"
        return
    fi
    verdict "boom took down only its own client; Ctrl-C ended the server with exit status $EXIT_STATUS and the port is free again at once." \
        "boom solo tumbó a su propio cliente; Ctrl-C terminó el servidor con código de salida $EXIT_STATUS y el puerto queda libre enseguida."
}

replay_03_selectors_02_select_lines() {
    replay_fixed 03-selectors/02-select-lines "select(), done right" "select(), bien hecho" \
        "A buffer per connection that survives between reads, \\r\\n found anywhere in it, an output queue that waits for writability, a bound on line length." \
        "Un búfer por conexión que sobrevive entre lecturas, el \\r\\n buscado en todo él, una cola de salida que espera a poder escribir y un límite a la longitud de la línea."
}
replay_03_selectors_03_poll_lines() {
    replay_fixed 03-selectors/03-poll-lines "poll()" "poll()" \
        "The same server on poll(): an array of pollfd instead of fd_set bitmaps, so no FD_SETSIZE ceiling." \
        "El mismo servidor con poll(): un array de pollfd en lugar de los mapas de bits fd_set, así que sin el techo de FD_SETSIZE."
}
replay_03_selectors_04_epoll_lines() {
    replay_fixed 03-selectors/04-epoll-lines "epoll (Linux)" "epoll (Linux)" \
        "The same server on epoll: the kernel keeps the interest list, and each wait returns only the ready sockets, so the cost follows activity, not the number of clients." \
        "El mismo servidor con epoll: el kernel guarda la lista de interés y cada espera devuelve solo los sockets listos, así que el coste sigue a la actividad, no al número de clientes."
}
replay_04_event_loop_01_callback_loop() {
    replay_fixed 04-event-loop/01-callback-loop "The book's asyncio echo server" "El servidor de eco con asyncio del libro" \
        "A tiny event loop with callbacks (a handler per readable/writable socket, plus a timer) and the echo server written on top of it, like the book's sock_accept / sock_recv / sock_sendall version." \
        "Un bucle de eventos diminuto con callbacks (un manejador por socket legible o escribible, más un temporizador) y el servidor de eco escrito encima, como la versión del libro con sock_accept / sock_recv / sock_sendall."
}

# --- section 5: the other roads (a process per client, a thread per client, io_uring) -------
# Self-contained: its own helpers (roads_*), one function per stage; the stages are listed in
# chapters/chapter-03/stages.txt with the others.

# roads_threads PID: "TID WHAT" for each thread of PID, WHAT being where it is (probe threads):
# the system call it is blocked in (by name, from this machine's headers; else its number)
# and the kernel function it sleeps in, or "running" (not blocked).
roads_threads() {
    local line
    while IFS= read -r line; do
        probe_kv "$line"
        case ${KV[syscall]} in
            running | none | hidden) echo "${KV[tid]} ${KV[syscall]}" ;;
            *) echo "${KV[tid]} ${KV[syscall]}() ($(L kernel kernel): ${KV[wchan]:-?})" ;;
        esac
    done < <(_probe threads "$1")
}
_roads_children_are() { [ "$(children_of "$1" | wc -l)" -eq "$2" ]; }
_roads_threads_are() { local n; proc_field n "$1" Threads && [ "$n" -eq "$2" ]; }
# _roads_asleep_in PID CALL: a thread of PID sleeps in CALL (a thread or a child just made has
# not always reached its call yet: the replay waits for it rather than look too early).
_roads_asleep_in() { roads_threads "$1" | grep -q " $2() "; }
_roads_child_asleep_in() { local c; c=$(children_of "$1" | head -n 1); [ -n "$c" ] && _roads_asleep_in "$c" "$2"; }

# roads_stall_of STAGE: on a fresh quiet server, with client 1 connected and silent, how long
# client 2 waits for its echo: $stall, in ms. 1 (a surprise said) if it got none within 2 s.
roads_stall_of() {
    local port
    stop_all
    port=$(free_port)
    start_server "$1" "$port" -q || return
    stall=$("$LOADGEN" stall "$port" 2000 | sed 's/stall_ms=//')
    case $stall in
        [0-9]*) ;;
        *) surprise "with client 1 idle, client 2 got no echo within 2 s ($stall)" "con el cliente 1 ocioso, el cliente 2 no recibió su eco en 2 s ($stall)"; return 1 ;;
    esac
}

# roads_idle_and_hola STAGE PORT: the experiment of 01-04: client 1 connects and says nothing,
# client 2 sends the documents' line. Fails (surprise) unless client 2 got its echo.
roads_idle_and_hola() {
    cmd "terminal 2" "nc localhost $2" "(connects, says nothing)" "(se conecta y no dice nada)"
    cmd "terminal 3" "printf 'Hola Mundo3\\r\\n\\n' | nc -N localhost $2"
    client_open idle "$2"
    send_line "$2" 'Hola Mundo3\r\n\n' >"$LIB_TMP/nc.out"
    salida "Salida (servidor)" "$SERVER_OUT"
    salida "Salida cliente 2 (Hola Mundo3)" "$LIB_TMP/nc.out"
    got "$LIB_TMP/nc.out" 'Hola Mundo3\r\n' || { surprise "client 2 should get Hola Mundo3\\r\\n back while client 1 is idle" "el cliente 2 debería recibir Hola Mundo3\\r\\n mientras el cliente 1 está ocioso"; return 1; }
}

replay_05_other_roads_01_fork_per_client() {
    local port stall child lines=""
    port=$(free_port)
    title 05-other-roads/01-fork-per-client "Other roads · a process per client (Stevens, CS:APP)" "Otros caminos · un proceso por cliente (Stevens, CS:APP)"
    say "The blocking server of 01-04, but the parent only accept()s and fork()s: each client gets a process of its own that blocks in ITS recv(). SIGCHLD reaps every child that ends." \
        "El servidor bloqueante de 01-04, pero el padre solo hace accept() y fork(): cada cliente tiene un proceso propio que se bloquea en SU recv(). SIGCHLD recoge a cada hijo que termina."
    cmd "terminal 1" "build/chapter-03/05-other-roads/01-fork-per-client $port"
    start_server 05-other-roads/01-fork-per-client "$port" || return
    roads_idle_and_hola 05-other-roads/01-fork-per-client "$port" || return
    cmd "terminal 4" "ps -o pid,ppid,stat,wchan,cmd --ppid $SERVER_PID" "(or read /proc)" "(o lee /proc)"
    wait_until 3 _roads_children_are "$SERVER_PID" 1
    wait_until 3 _roads_child_asleep_in "$SERVER_PID" recvfrom
    lines+="$(Lf "process %s (parent): %s" "proceso %s (padre): %s" "$SERVER_PID" "$(roads_threads "$SERVER_PID" | cut -d' ' -f2-)")"$'\n'
    for child in $(children_of "$SERVER_PID"); do
        lines+="$(Lf "process %s (child, client 1): %s" "proceso %s (hijo, cliente 1): %s" "$child" "$(roads_threads "$child" | cut -d' ' -f2-)")"$'\n'
    done
    printf '%s' "$lines" >"$LIB_TMP/ps.out"
    salida "Los procesos" "$LIB_TMP/ps.out"
    [ "$(roads_threads "$(children_of "$SERVER_PID" | head -n 1)" | cut -d' ' -f2)" = "recvfrom()" ] ||
        { surprise "client 1's process should be asleep in recvfrom()" "el proceso del cliente 1 debería dormir en recvfrom()"; return; }
    cmd "terminal 2" "Ctrl-C" "(client 1 hangs up)" "(el cliente 1 cuelga)"
    client_kill idle
    if ! wait_until 3 _roads_children_are "$SERVER_PID" 0; then
        surprise "a child is left after client 1 hung up: $(children_of "$SERVER_PID")" "queda un hijo después de colgar el cliente 1: $(children_of "$SERVER_PID")"
        return
    fi
    cmd "terminal 2" "nc localhost $port                 (client 1 again, says nothing)"
    client_open idle "$port"
    wait_until 3 _roads_children_are "$SERVER_PID" 1
    child=$(children_of "$SERVER_PID")
    cmd "terminal 1" "kill $SERVER_PID      (SIGTERM: 2 s for the children, then they are ended)"
    kill -TERM "$SERVER_PID"
    wait_exit "$SERVER_PID" 5
    tail -n 4 "$SERVER_OUT" >"$LIB_TMP/end.out"
    salida "Salida (servidor), al final" "$LIB_TMP/end.out"
    if [ -d "/proc/$child" ]; then surprise "client 1's process $child outlived its server"; return; fi
    roads_stall_of 05-other-roads/01-fork-per-client || return
    verdict "the stall of 01-04 is gone: client 1's process sleeps in its own recvfrom(), the parent in poll() (a new client, or a signal); a new client got its echo in ${stall} ms. When client 1 hung up its process ended and SIGCHLD reaped it: no <defunct> left; on SIGTERM the parent ended its last child before itself." \
        "El atasco de 01-04 ha desaparecido: el proceso del cliente 1 duerme en su propio recvfrom() y el padre en poll() (un cliente nuevo o una señal); un cliente nuevo recibió su eco en ${stall/./,} ms. Cuando el cliente 1 colgó, su proceso terminó y SIGCHLD lo recogió: no queda ningún <defunct>; con SIGTERM el padre terminó a su último hijo antes de terminar él."
}

replay_05_other_roads_02_thread_per_client() {
    local port stall t what lines=""
    port=$(free_port)
    title 05-other-roads/02-thread-per-client "Other roads · a thread per client (POSIX threads)" "Otros caminos · un hilo por cliente (hilos POSIX)"
    say "The same with threads: detached, 64 KiB stacks, one shared counter of lines echoed behind a mutex. On Ctrl-C main stops accepting, gives the threads 2 s and prints the totals." \
        "Lo mismo con hilos: independientes (detached), pilas de 64 KiB y un contador compartido de líneas devueltas protegido por un mutex. Con Ctrl-C, main deja de aceptar, da 2 s a los hilos e imprime los totales."
    cmd "terminal 1" "build/chapter-03/05-other-roads/02-thread-per-client $port"
    start_server 05-other-roads/02-thread-per-client "$port" || return
    roads_idle_and_hola 05-other-roads/02-thread-per-client "$port" || return
    cmd "terminal 4" "for t in /proc/$SERVER_PID/task/*; do cat \$t/syscall \$t/wchan; done"
    wait_until 3 _roads_threads_are "$SERVER_PID" 2
    wait_until 3 _roads_asleep_in "$SERVER_PID" recvfrom
    while read -r t what; do lines+="$(L thread hilo) $t: $what"$'\n'; done < <(roads_threads "$SERVER_PID")
    printf '%s' "$lines" >"$LIB_TMP/threads.out"
    salida "Los hilos (threads)" "$LIB_TMP/threads.out"
    roads_threads "$SERVER_PID" | grep -q ' recvfrom() ' || { surprise "client 1's thread should be asleep in recvfrom()" "el hilo del cliente 1 debería dormir en recvfrom()"; return; }
    cmd "terminal 2" "Ctrl-C" "(client 1 hangs up: its thread ends)" "(el cliente 1 cuelga: su hilo termina)"
    client_kill idle
    wait_until 3 _roads_threads_are "$SERVER_PID" 1
    cmd "terminal 1" "Ctrl-C"
    kill -INT "$SERVER_PID"
    wait_exit "$SERVER_PID" 5
    tail -n 2 "$SERVER_OUT" >"$LIB_TMP/end.out"
    salida "Salida (servidor), al final" "$LIB_TMP/end.out"
    grep -q '^Servidor detenido. Clientes atendidos: 2, líneas devueltas: 1$' "$SERVER_OUT" ||
        { surprise "Ctrl-C should print the totals: 2 clients, 1 line" "Ctrl-C debería imprimir los totales: 2 clientes, 1 línea"; return; }
    roads_stall_of 05-other-roads/02-thread-per-client || return
    verdict "no stall: client 1's thread sleeps in recvfrom(), main() in poll() (a new client, or a signal); a new client got its echo in ${stall} ms. The totals come from counters all threads shared (the mutex keeps every count)." \
        "Sin atasco: el hilo del cliente 1 duerme en recvfrom() y main() en poll() (un cliente nuevo o una señal); un cliente nuevo recibió su eco en ${stall/./,} ms. Los totales salen de contadores que comparten todos los hilos (el mutex no deja perder ninguna cuenta)."
}

replay_05_other_roads_03_io_uring_lines() {
    local port stall t what lines=""
    port=$(free_port)
    title 05-other-roads/03-io-uring-lines "Other roads · io_uring: ask the kernel to do it, hear when it is done" "Otros caminos · io_uring: pedir al kernel que lo haga y enterarse cuando está hecho"
    say "One thread. Requests (multishot accept, recv, send) go into the submission queue; the kernel does them and puts each result in the completion queue. No readiness loop, no recvfrom() in the process." \
        "Un solo hilo. Las peticiones (accept multishot, recv, send) van a la cola de envío; el kernel las hace y deja cada resultado en la cola de finalización. Sin bucle de disponibilidad y sin recvfrom() en el proceso."
    cmd "terminal 1" "build/chapter-03/05-other-roads/03-io-uring-lines $port"
    start_server 05-other-roads/03-io-uring-lines "$port" || return
    roads_idle_and_hola 05-other-roads/03-io-uring-lines "$port" || return
    cmd "terminal 4" "cat /proc/$SERVER_PID/syscall /proc/$SERVER_PID/wchan"
    wait_until 3 _roads_asleep_in "$SERVER_PID" io_uring_enter
    while read -r t what; do lines+="$(L thread hilo) $t: $what"$'\n'; done < <(roads_threads "$SERVER_PID")
    printf '%s' "$lines" >"$LIB_TMP/threads.out"
    salida "Los hilos (threads)" "$LIB_TMP/threads.out"
    roads_threads "$SERVER_PID" | grep -q ' io_uring_enter() ' || { surprise "the server should be asleep in io_uring_enter()" "el servidor debería dormir en io_uring_enter()"; return; }
    roads_stall_of 05-other-roads/03-io-uring-lines || return
    verdict "no stall: one thread asleep in io_uring_enter(), with a recv request in flight for the idle client; a new client got its echo in ${stall} ms." \
        "Sin atasco: un hilo dormido en io_uring_enter(), con una petición recv en curso para el cliente ocioso; un cliente nuevo recibió su eco en ${stall/./,} ms."
}

# --- the chapter ----------------------------------------------------------------------------

printf '%s%s%s\n' "$B" "$(L "Chapter 3: from blocking sockets to the event loop" "Capítulo 3: de los sockets bloqueantes al bucle de eventos")" "$R"
printf '%s%s%s\n' "$D" "$(L "(every server below runs on a free port on 127.0.0.1; PAUSE=0 to run straight through)" "(cada servidor de abajo usa un puerto libre en 127.0.0.1; PAUSE=0 para verlo todo seguido)")" "$R"
mapfile -t stages < <(stage_list) # chapters/chapter-03/stages.txt: the one list, in order
for stage in "${stages[@]}"; do
    run_stage "$stage"
done
if [ $ran -eq 0 ]; then
    Lf "replay: no stage called '%s' (try e.g. 01-blocking/04-many-clients)\n" "replay: no hay ninguna etapa llamada '%s' (prueba, por ejemplo, 01-blocking/04-many-clients)\n" "$ONLY" >&2
    exit 2
fi
if [ "$SURPRISES" -gt 0 ]; then
    printf '\n%s%s%s %s\n' "$X" "$(Lf "%d thing(s) did not happen as the notes say: see ✗ above." "%d cosa(s) no pasaron como dicen los apuntes: mira las ✗ de arriba." "$SURPRISES")" "$R" \
        "$(L "A loaded machine can slow a client past its time-out: run it again (make chapter-03 STAGE=...), or make test." "Una máquina cargada puede retrasar a un cliente más allá de su plazo: vuelve a ejecutarlo (make chapter-03 STAGE=...), o make test.")"
    exit 1
fi
printf '\n%s%s%s %s\n' "$G" "$(L "Done." "Hecho.")" "$R" "$(L "Measure it all with: make bench" "Mídelo todo con: make bench")"
