#!/usr/bin/env bats
# The replay (make chapter-03) as the class reads it, in English and in Spanish: the busy
# loop's CPU split into user and kernel time, the notes' telnet experiment with the real
# telnet (or one line saying nc stands in), and verdicts drawn from peek's facts (peek
# --kv), so they hold whatever language peek speaks. What a replay prints is the product
# here: these tests read it as a student would.

load helpers

# replay ARGS...: the replay of one stage, straight through, its output in $output.
replay() { run env PAUSE=0 PEEK_SECONDS=0.5 bash scripts/replay.sh "$@"; }

# no_telnet_path: a PATH where everything is found but telnet (in $LIB_TMP/bin).
no_telnet_path() {
    local dir
    mkdir -p "$LIB_TMP/bin"
    # (one cp -s a folder, not one ln -s a command: /usr/bin holds thousands)
    for dir in /usr/local/bin /usr/bin /bin; do
        [ -d "$dir" ] && cp -sn "$dir"/* "$LIB_TMP/bin/" 2>/dev/null
    done
    rm -f "$LIB_TMP/bin"/telnet*
    echo "$LIB_TMP/bin"
}

@test "replay 02-02: where the busy loop's core goes (user and kernel), and the real telnet" {
    command -v telnet >/dev/null || skip "telnet is not installed (sudo apt-get install telnet)"
    replay 02-non-blocking/02-eagain-loop
    echo "$output"
    assert_success
    refute_output --partial "unexpected"
    refute_output --partial "computing"
    # peek's block: running means not blocked; the split, measured
    assert_output --partial "state: running: not blocked in a system call at this instant (on a core, in user or kernel mode)"
    assert_output --regexp "CPU [0-9]+% of one core over 0\.5 s: [0-9]+% in user mode \(its own code\), [0-9]+% in the kernel \(inside system calls\)"
    # the verdict gives the split and says where the core goes
    assert_output --regexp "the server used [0-9]+% of a core \([0-9]+% of that in the kernel, [0-9]+% in its own code\)"
    # the notes' telnet: the real one, typed into; the server reads what telnet sends
    assert_output --partial "telnet localhost "
    refute_output --partial "telnet is not installed here"
    [ "$(grep -c "^     Toda la data leida: b'Hola mundo\\\\r\\\\n'$" <<<"$output")" -eq 2 ]
    [ "$(grep -c "^     Escape character is '^\]'\.$" <<<"$output")" -eq 2 ]   # telnet's own screen
}

@test "replay 02-02 without telnet: nc stands in, and one line says so" {
    replay_path=$(no_telnet_path)
    run env PATH="$replay_path" PAUSE=0 PEEK_SECONDS=0.5 bash scripts/replay.sh 02-non-blocking/02-eagain-loop
    echo "$output"
    assert_success
    refute_output --partial "unexpected"
    # (one line, folded at 96 columns)
    assert_line --regexp '^   \(telnet is not installed here: nc sends what telnet sends, Hola mundo\\r\\n and nothing after it\. ?$'
    assert_line "   sudo apt-get install telnet for the real one.)"
    [ "$(grep -c "^     Toda la data leida: b'Hola mundo\\\\r\\\\n'$" <<<"$output")" -eq 2 ]
}

@test "replay 02-02 in Spanish: the verdicts hold (they read peek's facts, not its words)" {
    run env LANG=es_ES.UTF-8 PAUSE=0 PEEK_SECONDS=0.5 bash scripts/replay.sh 02-non-blocking/02-eagain-loop
    echo "$output"
    assert_success
    refute_output --partial "inesperado"
    refute_output --partial "meanwhile"
    assert_line --index 0 "Capítulo 3: de los sockets bloqueantes al bucle de eventos"
    assert_output --partial "estado: en marcha: no está bloqueado en ninguna llamada al sistema"
    assert_output --regexp "el servidor usó el [0-9]+% de un núcleo \(el [0-9]+% de eso en el kernel, el [0-9]+% en su propio código\)"
    assert_output --partial "\"Ahora si trabaja\": telnet envía \"Hola mundo\\r\\n\" y nada detrás"
    assert_output --partial "Hecho. Mídelo todo con: make bench"
}

@test "replay 01-04 in Spanish: the kernel's evidence, checked on peek's facts" {
    run env LANG=es_ES.UTF-8 PAUSE=0 bash scripts/replay.sh 01-blocking/04-many-clients
    echo "$output"
    assert_success
    refute_output --partial "inesperado"
    assert_output --regexp "estado: durmiendo, en la llamada al sistema recvfrom\(fd [0-9]+ = cliente \('127\.0\.0\.1', [0-9]+\)\)"
    assert_output --regexp "El kernel lo confirma: el servidor duerme en recvfrom\(\) sobre el fd [0-9]+, el socket del cliente 1; los 13 bytes del cliente 2"
    assert_output --regexp "El cliente 2 esperó [0-9]+,[0-9] s y no recibió nada"
}

@test "replay 05-02 in Spanish: each thread's call, named by the probe" {
    run env LANG=es_ES.UTF-8 PAUSE=0 bash scripts/replay.sh 05-other-roads/02-thread-per-client
    echo "$output"
    assert_success
    refute_output --partial "inesperado"
    assert_output --regexp "hilo [0-9]+: poll\(\) \(kernel: "
    assert_output --regexp "hilo [0-9]+: recvfrom\(\) \(kernel: "
    assert_output --partial "Sin atasco: el hilo del cliente 1 duerme en recvfrom()"
}
