#!/usr/bin/env bash
# scripts/demo.sh - the live classroom demo (`make demo STAGE=...`), in tmux.
#
#   scripts/demo.sh [STAGE] [CLIENTS]   open the demo (default 01-blocking/04-many-clients, 2 clients)
#   scripts/demo.sh stop                close it (the same as pressing F10 inside it)
#
# Layout: the server on the left; on the right one pane per client, each a client already
# connected that sends every line typed, with \r\n, in one piece (as telnet does), and a shell with
# $PORT set for the documents' one-shot commands (echo -e "Hola Mundo3\r\n" | nc ...); under
# the server, the kernel pane: scripts/peek.sh --watch on the server (its CPU, the system call
# it is in, the bytes waiting in each socket, the calls per second), refreshed every second.
# Typing in the panes reproduces the stall on 01-blocking/04-many-clients (and the kernel pane
# shows client 2's bytes waiting in Recv-Q while the server sleeps in recvfrom on client 1), the
# hang and the burning core on 02-non-blocking/02-eagain-loop, and the fix on the event-loop
# stages. F10 (or `make demo-stop`) closes everything.
#
# Environment: DEMO_SESSION (tmux session name, default sockets-demo), DEMO_ATTACH=0 (do not
# attach: for scripted use and the tests), PORT (default: a free port). It speaks the class's
# language (scripts/i18n.sh: Spanish when LANG or LANGUAGE asks for it); the stages' own output
# is always the notes' Spanish.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
source scripts/i18n.sh

SESSION=${DEMO_SESSION:-sockets-demo}
ROOT=$(pwd)

stop_demo() {
    if tmux has-session -t "=$SESSION" 2>/dev/null; then
        # Closing the session hangs up every pane: the server, the nc clients and the kernel pane.
        local pids
        pids=$(tmux list-panes -s -t "=$SESSION" -F '#{pane_pid}' 2>/dev/null || true)
        tmux kill-session -t "=$SESSION"
        for pid in $pids; do
            wait_until 2 _dead "$pid" || kill -9 "$pid" 2>/dev/null || true
        done
        L "demo: closed" "demo: cerrada"; echo
    fi
}

_connected_at_least() { [ "$(connections_to "$1")" -ge "$2" ]; }

case ${1:-} in
    stop)
        stop_demo
        exit 0
        ;;
    _server) # inside the server pane: exec, so the pane's process IS the server
        echo $$ >"$4"
        echo "\$ build/chapter-03/$2 $3"
        exec "$(stage_bin "$2")" "$3"
        ;;
    _client) # inside a client pane: wait until the server listens (without connecting), connect
        Lf 'client %s on localhost:%s, as with telnet: type a line and press Enter (it goes out whole, with \\r\\n)\n' \
            'cliente %s en localhost:%s, como con telnet: escribe una línea y pulsa Enter (sale entera, con \\r\\n)\n' "$2" "$3"
        wait_until 10 port_listening "$3" || exit 1
        # Connect in order, client 1 first: a blocking server accepts them in that order, so
        # "cliente 1" is the one it serves first. (Unknown after 5 s: connect anyway.)
        wait_until 5 _connected_at_least "$3" $(($2 - 1)) || true
        # What telnet does, without telnet: each typed line goes out in ONE write, ending in
        # \r\n. (nc -C would write the text and the \r\n separately, and 02-eagain-loop, which
        # throws its buffer away at every EAGAIN, would then often echo only the \r\n.)
        # When the server closes the connection nc ends, and the pane says so.
        nc 127.0.0.1 "$3" < <(while IFS= read -r line; do printf '%s\r\n' "$line"; done)
        L "(connection closed)" "(conexión cerrada)"; echo
        exec sleep 86400
        ;;
    _shell) # a shell with $PORT set, for the documents' one-shot commands
        export PORT=$2
        Lf 'A free terminal (PORT=%s). For example:\n' 'Terminal libre (PORT=%s). Por ejemplo:\n' "$PORT"
        echo "  echo -e \"Hola Mundo3\\r\\n\" | nc localhost \$PORT"
        echo "  (printf Ho; sleep 1; printf 'la\\r\\n') | nc localhost \$PORT"
        exec bash --norc -i
        ;;
    _kernel) # the kernel pane: what the kernel holds for the server, every second
        wait_until 5 test -s "$2"
        pid=$(cat "$2")
        rm -f "$2"
        bash scripts/peek.sh --watch "$pid"
        L "the server has ended" "el servidor ha terminado"; echo
        exec sleep 86400
        ;;
esac

command -v tmux >/dev/null || { L "demo: needs tmux (sudo apt-get install tmux)" "demo: hace falta tmux (sudo apt-get install tmux)" >&2; echo >&2; exit 1; }
require_tools demo || exit 1

STAGE=${1:-01-blocking/04-many-clients}
CLIENTS=${2:-2}
BIN=$(stage_bin "$STAGE")
[ -x "$BIN" ] || {
    Lf 'demo: no stage %s (build it with make; e.g. STAGE=02-non-blocking/02-eagain-loop)\n' \
        'demo: no existe la etapa %s (compílala con make; por ejemplo STAGE=02-non-blocking/02-eagain-loop)\n' "$STAGE" >&2
    exit 1
}
ATTACH=${DEMO_ATTACH:-1}
if [ "$ATTACH" = 1 ] && [ -z "${TMUX:-}" ] && ! { [ -t 0 ] && [ -t 1 ]; }; then
    Lf 'demo: needs a terminal to show the panes in (run make demo in a terminal window).
  Or start it detached, DEMO_ATTACH=0 make demo STAGE=%s, then look at it with
  tmux attach -t %s, and close it with make demo-stop.\n' \
        'demo: necesita una terminal donde mostrar los paneles (ejecuta make demo en una ventana de terminal).
  O arráncala sin mostrarla, DEMO_ATTACH=0 make demo STAGE=%s, mírala luego con
  tmux attach -t %s y ciérrala con make demo-stop.\n' "$STAGE" "$SESSION" >&2
    exit 1
fi
PORT=${PORT:-$(free_port)}
PIDFILE=$(mktemp)

stop_demo >/dev/null # one demo at a time

# Each pane runs this same script with an internal subcommand (no nested shell quoting).
SELF="bash '$ROOT/scripts/demo.sh'"

tmux new-session -d -s "$SESSION" -x 160 -y 40 -n demo "$SELF _server '$STAGE' '$PORT' '$PIDFILE'"
tmux set-option -t "$SESSION" remain-on-exit on >/dev/null      # a server that exits stays readable
tmux set-option -t "$SESSION" status-left "[$STAGE] " >/dev/null
tmux set-option -t "$SESSION" status-left-length 60 >/dev/null
tmux set-option -t "$SESSION" status-right "$(L "F10: close the demo" "F10: cerrar la demo") " >/dev/null
tmux bind-key -n F10 kill-session -t "$SESSION"
wait_until 5 test -s "$PIDFILE"

tmux split-window -t "$SESSION:demo.0" -h -p 50 "$SELF _client 1 '$PORT'"
for i in $(seq 2 "$CLIENTS"); do
    tmux split-window -t "$SESSION:demo.$((i - 1))" -v "$SELF _client $i '$PORT'"
done
tmux split-window -t "$SESSION:demo.$CLIENTS" -v "$SELF _shell '$PORT'"
tmux select-layout -t "$SESSION:demo" main-vertical >/dev/null
tmux split-window -t "$SESSION:demo.0" -v -l 14 "$SELF _kernel '$PIDFILE'"
tmux select-pane -t "$SESSION:demo.2"   # start with the cursor in client 1

Lf "demo: %s on port %s, panes: 0 server, 1 kernel (scripts/peek.sh), 2..%s clients, %s shell. F10 or 'make demo-stop' closes it.\n" \
    "demo: %s en el puerto %s; paneles: 0 el servidor, 1 el kernel (scripts/peek.sh), 2..%s los clientes, %s una terminal. F10 o 'make demo-stop' la cierra.\n" \
    "$STAGE" "$PORT" "$((CLIENTS + 1))" "$((CLIENTS + 2))"
if [ "$ATTACH" = 1 ]; then
    # If the terminal cannot show it after all, close it: nothing must be left running.
    if [ -n "${TMUX:-}" ]; then
        tmux switch-client -t "$SESSION" || { stop_demo; exit 1; }
    else
        tmux attach-session -t "$SESSION" || { stop_demo; exit 1; }
    fi
else
    Lf 'demo: started detached: tmux attach -t %s to watch it, make demo-stop to close it.\n' \
        'demo: arrancada sin mostrarla: tmux attach -t %s para verla, make demo-stop para cerrarla.\n' "$SESSION"
fi
