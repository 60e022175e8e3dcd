#!/usr/bin/env bats
# Exercise 4: the busy loop of 02-eagain-loop with a short nanosleep() after every pass, its
# length chosen by $SLEEP_US (microseconds, 0 to 1000000; unset or empty: 1 ms).
# The CPU threshold is generous (the lesson is 100% against a few %). The pause itself is
# measured so that the machine's load does not change it: the time the program spent neither
# running nor waiting for a core, divided by the times it went to sleep.

load exercise

# voluntary_switches PID: how many times PID has given up the CPU by itself (sleeping, waiting).
voluntary_switches() { local n; proc_field n "$1" voluntary_ctxt_switches && echo "$n"; }

# mean_pause_us SECONDS: over the next SECONDS, the mean length of one sleep of the program
# under test, in microseconds: (wall time - time run - time waiting for a core, from
# /proc/PID/schedstat) / voluntary context switches. 0 if it never slept. Sets PAUSES too.
mean_pause_us() {
    local r0 w0 r1 w1 v0 v1 t0 t1
    read -r r0 w0 _ <"/proc/$SERVER_PID/schedstat"
    v0=$(voluntary_switches "$SERVER_PID")
    t0=${EPOCHREALTIME/./}
    sleep "$1"
    read -r r1 w1 _ <"/proc/$SERVER_PID/schedstat"
    v1=$(voluntary_switches "$SERVER_PID")
    t1=${EPOCHREALTIME/./}
    PAUSES=$((v1 - v0))
    if [ "$PAUSES" -le 0 ]; then echo 0; return; fi
    echo $(((t1 - t0 - (r1 - r0) / 1000 - (w1 - w0) / 1000) / PAUSES))
}

# expect_default_pause WHY: the program under test pauses about 1 ms per pass: from 400 to
# 2500 us on average over 1 s (nanosleep() may add a little; 10 ms or 0.1 ms, which measures
# about 160 us, are wrong). The floor is low because the kernel adds a wait for a core to
# schedstat when the wait ends: on a crowded machine a wait that began before the window is
# counted whole, and the mean pause reads short.
expect_default_pause() {
    local us
    us=$(mean_pause_us 1)
    [ "$us" -ge 400 ] && [ "$us" -le 2500 ] || measured_wrong \
        "$(Lf "the mean pause of the idle loop (%s sleeps in 1 s)" "la pausa media del bucle en reposo (%s pausas en 1 s)" "$PAUSES")" \
        "$(L "about 1000 us (from 400 to 2500)" "unos 1000 us (de 400 a 2500)")" "$us us" "$1"
}

@test "04: with one silent client, the idle server uses less than 30% of a core" {
    start_exercise
    client_open idle "$PORT_UNDER_TEST"
    local cpu
    cpu=$(cpu_percent "$SERVER_PID" 0.5)
    [ "$cpu" -lt 30 ] || measured_wrong "$(L "the idle server's CPU over 0.5 s" "la CPU del servidor en reposo durante 0,5 s")" \
        "$(L "under 30% of a core" "menos del 30% de un núcleo")" "$cpu%" \
        "$(L "a loop that never sleeps asks every socket \"anything yet?\" hundreds of thousands of times a second" \
            "un bucle que nunca duerme pregunta a cada socket \"¿algo ya?\" cientos de miles de veces por segundo")"
}

@test "04: while idle, the loop sleeps: it keeps giving the CPU back (voluntary context switches)" {
    start_exercise
    client_open idle "$PORT_UNDER_TEST"
    local before after
    before=$(voluntary_switches "$SERVER_PID")
    sleep 0.3
    after=$(voluntary_switches "$SERVER_PID")
    [ $((after - before)) -ge 10 ] || measured_wrong "$(L "times the server gave up the CPU in 0.3 s" "veces que el servidor ha cedido la CPU en 0,3 s")" \
        "$(L "at least 10 (a 1 ms pause: about 300)" "al menos 10 (con una pausa de 1 ms: unas 300)")" "$((after - before))" \
        "$(L "each nanosleep() gives the CPU back; a loop that never sleeps keeps it" "cada nanosleep() devuelve la CPU; un bucle que nunca duerme se la queda")"
}

@test "04: with no client at all, the loop still sleeps 1 ms per pass" {
    start_exercise
    expect_default_pause "$(L "the pause ends every pass, even one with no client to ask: a pause taken once per client is no pause with none" \
        "la pausa cierra cada vuelta, también sin clientes a los que preguntar: una pausa por cliente no es ninguna pausa si no hay ninguno")"
}

@test "04: the default pause is 1 ms: the idle loop sleeps about 1000 us each pass" {
    start_exercise
    client_open idle "$PORT_UNDER_TEST"
    expect_default_pause "$(L "1 ms is 1000000 ns in tv_nsec: 10 ms or 0.1 ms is another pause" \
        "1 ms son 1000000 ns en tv_nsec: 10 ms o 0,1 ms es otra pausa")"
}

@test "04: an empty SLEEP_US= is the same as no SLEEP_US: the default pause, 1 ms" {
    SLEEP_US='' start_exercise
    client_open idle "$PORT_UNDER_TEST"
    expect_default_pause "$(L "SLEEP_US= (empty) means 'not set': the default 1 ms, not 0" \
        "SLEEP_US= (vacía) quiere decir 'sin valor': la pausa por defecto, 1 ms, no 0")"
}

@test "04: with the default pause, the echo still arrives within a second" {
    start_exercise
    send_line "$PORT_UNDER_TEST" 'Hola Mundo\r\n' 1 >"$LIB_TMP/client.out"
    expect_received client 'Hola Mundo\r\n' "$(L "nc waited 1 s for it; the default pause is 1 ms" "nc lo ha esperado 1 s; la pausa por defecto es 1 ms")"
}

@test "04: SLEEP_US=500000 is used: the idle loop wakes about twice a second, and still answers" {
    SLEEP_US=500000 start_exercise
    client_open idle "$PORT_UNDER_TEST"
    await_server_line "Cliente connectandose desde ('127.0.0.1', PORT)" "$(L "the client was accepted" "se ha aceptado al cliente")"
    # Each pause is one nanosleep(), and each sleep gives the CPU back once: counted by the
    # kernel, whatever else the machine is doing.
    local before after n
    before=$(voluntary_switches "$SERVER_PID")
    sleep 1
    after=$(voluntary_switches "$SERVER_PID")
    n=$((after - before))
    [ "$n" -ge 1 ] && [ "$n" -le 6 ] || measured_wrong \
        "$(L "SLEEP_US=500000: times the idle server gave up the CPU in 1 s" "SLEEP_US=500000: veces que el servidor en reposo ha cedido la CPU en 1 s")" \
        "$(L "about 2 (from 1 to 6)" "unas 2 (de 1 a 6)")" "$n" \
        "$(L "the pause is \$SLEEP_US microseconds: 500000 us = 0.5 s; tv_nsec counts nanoseconds" \
            "la pausa es de \$SLEEP_US microsegundos: 500000 us = 0,5 s; tv_nsec cuenta nanosegundos")"
    client_write idle 'a\r\n'
    expect_echo idle 'a\r\n' "$(L "with SLEEP_US=500000 a reply waits about half a second at most" "con SLEEP_US=500000 una respuesta espera como mucho medio segundo")"
}

@test "04: SLEEP_US=1000000, the largest allowed, is accepted: the server keeps serving" {
    SLEEP_US=1000000 start_exercise
    sleep 0.3
    alive "$SERVER_PID" || {
        wait_exit "$SERVER_PID" 1 || true
        fail "$(Lf "SLEEP_US=1000000: the server exited (status %s) instead of serving; its stderr:" \
            "SLEEP_US=1000000: el servidor ha terminado (estado %s) en vez de atender; su stderr:" "${EXIT_STATUS:-?}")
$(cat "$SERVER_ERR")
$(L "(1000000 us is one second: tv_sec = 1 and tv_nsec = 0; nanosleep() refuses a tv_nsec of 1000000000 or more)" \
    "(1000000 us es un segundo: tv_sec = 1 y tv_nsec = 0; nanosleep() rechaza un tv_nsec de 1000000000 o más)")"
    }
    [ ! -s "$SERVER_ERR" ] || fail "$(L "SLEEP_US=1000000: a valid value, but the server wrote on stderr:" \
        "SLEEP_US=1000000: un valor válido, pero el servidor ha escrito en stderr:")
$(cat "$SERVER_ERR")"
}

@test "04: a bad \$SLEEP_US is refused at start-up: one line on stderr naming it, non-zero exit" {
    local value status
    require_built
    for value in abc 12abc -1 1000001 99999999999999999999 1.5 ' ' 0x10; do
        status=0
        SLEEP_US=$value timeout 2 "$EXERCISE_BIN" "$PORT_UNDER_TEST" >"$LIB_TMP/out" \
            2>"$LIB_TMP/err" 3>&- </dev/null || status=$?
        if [ "$status" -eq 124 ]; then
            fail "$(Lf "SLEEP_US='%s': still running after 2 s (expected a clear error and exit)" \
                "SLEEP_US='%s': sigue en marcha tras 2 s (esperaba un error claro y que terminara)" "$value")"
        elif [ "$status" -eq 0 ]; then
            fail "$(Lf "SLEEP_US='%s': exit status 0 (expected non-zero: the value was not valid)" \
                "SLEEP_US='%s': estado de salida 0 (esperaba otro: el valor no era válido)" "$value")"
        elif ! grep -q SLEEP_US "$LIB_TMP/err"; then
            fail "$(Lf "SLEEP_US='%s': exit status %s, but stderr does not name SLEEP_US:" \
                "SLEEP_US='%s': estado de salida %s, pero stderr no nombra SLEEP_US:" "$value" "$status")
$(head -n 5 "$LIB_TMP/err")"
        elif [ "$(wc -l <"$LIB_TMP/err")" -ne 1 ]; then
            fail "$(Lf "SLEEP_US='%s': expected one line on stderr, got %s:" "SLEEP_US='%s': esperaba una línea en stderr, y hay %s:" \
                "$value" "$(wc -l <"$LIB_TMP/err")")
$(head -n 5 "$LIB_TMP/err")"
        elif [ -s "$LIB_TMP/out" ]; then
            fail "$(Lf "SLEEP_US='%s': refused, but after printing on stdout (expected nothing: refuse before starting):" \
                "SLEEP_US='%s': rechazado, pero después de imprimir en stdout (esperaba nada: rechaza antes de arrancar):" "$value")
$(head -n 5 "$LIB_TMP/out")"
        fi
    done
}

@test "04: a bad \$SLEEP_US is refused before the server listens (the port taken: still the SLEEP_US error)" {
    require_built
    # Someone else listens on the port: a program that reads SLEEP_US first names SLEEP_US; one
    # that reads it only after listening fails at bind() instead, and never gets to it.
    timeout 10 nc -l 127.0.0.1 "$PORT_UNDER_TEST" >/dev/null 2>&1 3>&- </dev/null &
    LIB_PIDS+=("$!")
    wait_until 5 port_listening "$PORT_UNDER_TEST" || fail "$(L "setup: nc -l did not listen" "preparación: nc -l no escucha")"
    local status=0
    SLEEP_US=abc timeout 2 "$EXERCISE_BIN" "$PORT_UNDER_TEST" >/dev/null 2>"$LIB_TMP/err" 3>&- </dev/null || status=$?
    grep -q SLEEP_US "$LIB_TMP/err" && [ "$status" -ne 0 ] && [ "$status" -ne 124 ] && return 0
    fail "$(Lf "SLEEP_US=abc with the port already taken: expected the SLEEP_US error (it is read before listening), got exit status %s and on stderr:" \
        "SLEEP_US=abc con el puerto ya ocupado: esperaba el error de SLEEP_US (se lee antes de escuchar), y el estado de salida es %s, y en stderr:" "$status")
$(head -n 5 "$LIB_TMP/err")"
}

@test "04: 1100 clients come and go: no descriptor, place or memory is kept, the next client is served" {
    expect_cycles_clean 1100
}

@test "04: a reset seen by recv(): one line on stderr, the client is forgotten, the server goes on" {
    start_exercise
    expect_reset_seen_by_recv 'Ho' "Data leida: b'Ho'"
}

@test "04: a client that sends a lot and never reads does not freeze the others" {
    start_exercise
    expect_not_stalled_by_non_reader
}
