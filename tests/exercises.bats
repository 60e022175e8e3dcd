#!/usr/bin/env bats
# The exercises, chapters/chapter-03/exercises/: each one's untouched starting file fails its
# checks (tests/exercises/NN-name.bats). A check that cannot fail would tell a student "done"
# for nothing. That every reference solution PASSES its checks, and that the checks reject
# plausible WRONG solutions, is tested by `make mutants` (scripts/mutants.sh), which CI runs:
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

# starting_file_fails NAME HEADLINE: the untouched starting file of NAME fails the checks whose
# names match the regular expression HEADLINE (every one of them).
starting_file_fails() {
    local name=$1 headline=$2 src status=0 output
    if ! grep -F "/exercises/$name/" "$LIB_ROOT/tests/exercises/starting-files.sha256" |
        (cd "$LIB_ROOT" && sha256sum --check --status); then
        skip "the starting files of $name have been edited (your work?): nothing to compare"
    fi
    src=$(find "$EXERCISES/$name" -maxdepth 1 -name '*.c' | head -n 1)
    make -s --no-print-directory -C "$LIB_ROOT" BUILD="$BUILD_DIR" \
        "$BUILD_DIR/exercises/$name/$(basename "$src" .c)" >&2
    output=$(EXERCISE_DIR=$EXERCISES/$name EXERCISE_BIN='' EXERCISE_WAIT=0.5 \
        bats --tap --filter "$headline" "$LIB_ROOT/tests/exercises/$name.bats" 2>&1) || status=$?
    if [ "$status" -eq 0 ] || grep -qE '^ok ' <<<"$output" || ! grep -qE '^not ok ' <<<"$output"; then
        echo "the untouched starting file of $name does not fail '$headline':" >&2
        echo "$output" >&2
        return 1
    fi
}

@test "exercise 01-predict-recv-1024: the starting file fails them (recv(2), no prediction)" {
    starting_file_fails 01-predict-recv-1024 "^01: (prediction-1.txt holds|the program asks recv)"
}

@test "exercise 02-keep-the-buffer: the starting file fails them ('Ho' is lost)" {
    starting_file_fails 02-keep-the-buffer "^02: 'Ho', pause"
}

@test "exercise 03-crlf-anywhere: the starting file fails them (echo -e 'Hola Mundo3' hangs)" {
    starting_file_fails 03-crlf-anywhere "^03: echo -e 'Hola Mundo3"
}

@test "exercise 04-sleep-a-little: the starting file fails them (it never sleeps)" {
    starting_file_fails 04-sleep-a-little "^04: while idle, the loop sleeps"
}

@test "exercise 05-drop-hung-up-clients: the starting file fails them (no 'desconectado')" {
    starting_file_fails 05-drop-hung-up-clients "^05: a client that hangs up is reported"
}

@test "exercise 06-fair-with-poll: the starting file fails them (the stall)" {
    starting_file_fails 06-fair-with-poll "^06: no stall"
}
