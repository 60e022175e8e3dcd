#!/usr/bin/env bats
# The exercises, chapters/chapter-03/exercises/: each one's untouched starting file fails its
# checks (tests/exercises/NN-name.bats). A check that cannot fail would tell a student "done"
# for nothing. That every reference solution PASSES its checks, and that the checks reject
# plausible WRONG solutions, is tested by `make mutants` (scripts/gates/mutants.sh), which CI runs:
# each solution's full checks take seconds of nested bats, too slow for make test.
#
# To stay fast, a starting file is run against its headline check only (the one that names the
# fix), with short waits; every check was seen failing on the starting files when written.
# A starting file a student has edited is not checked (skipped): it is no longer the one we
# ship. The shipped ones are recorded in tests/exercises/starting-files.sha256; after changing
# one on purpose, regenerate it from the top of the repository with
#   sha256sum chapters/chapter-03/exercises/0*/*.c \
#       chapters/chapter-03/exercises/01-*/prediction-*.txt >tests/exercises/starting-files.sha256

load helpers

EXERCISES=$LIB_ROOT/chapters/chapter-03/exercises

# starting_file_fails NAME HEADLINE EN ES: the untouched starting file of NAME fails the checks
# whose names match the regular expression HEADLINE (every one of them), and says why in the
# class's language: the failure holds the text EN when run in English (LANG=C.UTF-8) and ES
# when run in Spanish (LANG=es_ES.UTF-8). Both are run: each message is written in both.
starting_file_fails() {
    local name=$1 headline=$2 src status output lang want
    if ! grep -F "/exercises/$name/" "$LIB_ROOT/tests/exercises/starting-files.sha256" |
        (cd "$LIB_ROOT" && sha256sum --check --status); then
        skip "the starting files of $name have been edited (your work?): nothing to compare"
    fi
    src=$(find "$EXERCISES/$name" -maxdepth 1 -name '*.c' | head -n 1)
    make -s --no-print-directory -C "$LIB_ROOT" BUILD="$BUILD_DIR" \
        "$BUILD_DIR/exercises/$name/$(basename "$src" .c)" >&2
    for lang in C.UTF-8 es_ES.UTF-8; do
        want=$3
        [ "$lang" = C.UTF-8 ] || want=$4
        status=0
        output=$(LANGUAGE='' LC_ALL='' LC_MESSAGES='' LANG=$lang EXERCISE_DIR=$EXERCISES/$name \
            EXERCISE_BIN='' EXERCISE_WAIT=0.5 \
            bats --tap --filter "$headline" "$LIB_ROOT/tests/exercises/$name.bats" 2>&1) || status=$?
        if [ "$status" -eq 0 ] || grep -qE '^ok ' <<<"$output" || ! grep -qE '^not ok ' <<<"$output"; then
            echo "the untouched starting file of $name does not fail '$headline' (LANG=$lang):" >&2
            echo "$output" >&2
            return 1
        fi
        if ! grep -qF -- "$want" <<<"$output"; then
            echo "LANG=$lang: the failure of $name's starting file does not say '$want':" >&2
            echo "$output" >&2
            return 1
        fi
    done
}

@test "exercise 01-predict-recv-1024: the starting file fails them (recv(2), no prediction)" {
    starting_file_fails 01-predict-recv-1024 "^01: (prediction-1.txt holds|the program asks recv)" \
        "has no prediction yet" "aún no tiene predicción"
}

@test "exercise 02-keep-the-buffer: the starting file fails them ('Ho' is lost)" {
    starting_file_fails 02-keep-the-buffer "^02: 'Ho', pause" "expected to receive" "esperaba recibir"
}

@test "exercise 03-crlf-anywhere: the starting file fails them (echo -e 'Hola Mundo3' hangs)" {
    starting_file_fails 03-crlf-anywhere "^03: echo -e 'Hola Mundo3" "expected to receive" "esperaba recibir"
}

@test "exercise 04-sleep-a-little: the starting file fails them (it never sleeps)" {
    starting_file_fails 04-sleep-a-little "^04: while idle, the loop sleeps" \
        "times the server gave up the CPU" "veces que el servidor ha cedido la CPU"
}

@test "exercise 05-drop-hung-up-clients: the starting file fails them (no 'desconectado')" {
    starting_file_fails 05-drop-hung-up-clients "^05: a client that hangs up is reported" \
        "your program's output is not the expected one" "la salida de tu programa no es la esperada"
}

@test "exercise 06-fair-with-poll: the starting file fails them (the stall)" {
    starting_file_fails 06-fair-with-poll "^06: no stall" "expected to receive" "esperaba recibir"
}

@test "make exercise's summary speaks the class's language, and says that starting again throws work away" {
    local name=02-keep-the-buffer src bin lang output
    src=$EXERCISES/$name/keep-buffer.c
    bin=$BUILD_DIR/exercises/$name/keep-buffer
    make -s --no-print-directory -C "$LIB_ROOT" BUILD="$BUILD_DIR" "$bin" >&2
    for lang in C.UTF-8 es_ES.UTF-8; do
        output=$(cd "$LIB_ROOT" && LANGUAGE='' LC_ALL='' LC_MESSAGES='' LANG=$lang EXERCISE_WAIT=0.5 \
            EXERCISE_FILTER="^02: 'Ho', pause" bash scripts/exercise.sh 2 "$src" "$bin" 2>&1) && {
            echo "LANG=$lang: exercise.sh passed an untouched starting file:" >&2
            echo "$output" >&2
            return 1
        }
        if [ "$lang" = C.UTF-8 ]; then
            grep -q "^Still to do (1 of 1):" <<<"$output" && grep -q "THROWS AWAY your work" <<<"$output" &&
                grep -q "expected to receive" <<<"$output" && continue
        else
            grep -q "^Falta por hacer (1 de 1):" <<<"$output" && grep -q "BORRA tu trabajo" <<<"$output" &&
                grep -q "esperaba recibir" <<<"$output" && continue
        fi
        echo "LANG=$lang: unexpected summary:" >&2
        echo "$output" >&2
        return 1
    done
}
