# The workbook's one Makefile: `make help` lists the targets.
#
# Every stage chapters/chapter-03/NN-section/NN-stage.c builds to
# $(BUILD)/chapter-03/NN-section/NN-stage, linked with the small shared layer in common/, which
# is a static library ($(BUILD)/common/libcommon.a): the linker takes from it only the modules
# a program uses, so `nm` on a stage shows what its #includes promise, and nothing more.

CC       ?= cc
CFLAGS   ?= -std=c11 -Wall -Wextra -Wpedantic -Werror -O2 -g
CPPFLAGS ?= -D_POSIX_C_SOURCE=200809L
LDFLAGS  ?=
LDLIBS   ?=
BUILD    ?= build

UNAME_S := $(shell uname -s)

# One short line per file built; make V=1 shows each compiler command in full.
ifeq ($(V),1)
Q   :=
SAY := @:
else ifneq ($(findstring s,$(firstword -$(MAKEFLAGS))),)
Q   := @
SAY := @: # make -s: silent
else
Q   := @
SAY := @printf '  %-4s %s\n'
endif

# make chapter-03, make test and make exercise first install the Debian packages they need and
# cannot find (scripts/install-deps.sh --for: one line says what and why; as root, or through
# sudo; NO_INSTALL=1: never, and without apt-get it does nothing). It runs while this file is
# read, before anything is looked for: the io_uring check below must find the liburing it
# installs, or the first run would leave that stage out. (Its lines go to stderr: make keeps
# a $(shell)'s stdout.)
DEPS_FOR := $(or $(filter test,$(MAKECMDGOALS)),$(filter exercise,$(MAKECMDGOALS)),$(filter chapter-03,$(MAKECMDGOALS)))
ifneq ($(DEPS_FOR),)
DEPS_STATUS := $(shell CC="$(CC)" bash scripts/install-deps.sh --for $(DEPS_FOR) >&2; echo $$?)
ifneq ($(DEPS_STATUS),0)
$(error the install step failed (scripts/install-deps.sh --for $(DEPS_FOR), see above))
endif
endif

STAGE_SRCS  := $(sort $(wildcard chapters/chapter-03/[0-9]*/[0-9]*.c))
# epoll is Linux-only: elsewhere its stages are left out (and `make` says so).
ifneq ($(UNAME_S),Linux)
LINUX_ONLY  := $(shell grep -l 'sys/epoll.h' $(STAGE_SRCS) 2>/dev/null)
STAGE_SRCS  := $(filter-out $(LINUX_ONLY),$(STAGE_SRCS))
endif
# io_uring (Linux 5.19+, through liburing >= 2.2: Debian's liburing-dev): where the header or
# the library is missing, its stages are left out too (and `make` says so). A tiny program
# that uses multishot accept is compiled and linked to find out.
URING_SRCS  := $(shell grep -l 'liburing.h' $(STAGE_SRCS) 2>/dev/null)
HAVE_URING  := $(if $(URING_SRCS),$(shell printf '\043include <liburing.h>\nint main(void) { struct io_uring_sqe s; io_uring_prep_multishot_accept(&s, 0, 0, 0, 0); struct io_uring r; return io_uring_queue_init(1, &r, 0); }\n' \
                 | $(CC) -x c -o /dev/null - -luring >/dev/null 2>&1 && echo yes))
ifneq ($(HAVE_URING),yes)
NO_URING    := $(URING_SRCS)
STAGE_SRCS  := $(filter-out $(NO_URING),$(STAGE_SRCS))
endif
STAGES      := $(patsubst chapters/%.c,$(BUILD)/%,$(STAGE_SRCS))
# Link flags of the stages that need more than libc: POSIX threads (-pthread: libc's own
# threads on glibc 2.34+, a library elsewhere) and liburing.
THREAD_STAGES := $(patsubst chapters/%.c,$(BUILD)/%,$(shell grep -l 'pthread.h' $(STAGE_SRCS) 2>/dev/null))
$(THREAD_STAGES): override CFLAGS += -pthread
$(THREAD_STAGES): override LDLIBS += -pthread
$(patsubst chapters/%.c,$(BUILD)/%,$(filter $(URING_SRCS),$(STAGE_SRCS))): override LDLIBS += -luring
# Helper programs for the tests, the replay and the benchmark (scripts/tools/*.c).
TOOL_SRCS   := $(sort $(wildcard scripts/tools/*.c))
TOOLS       := $(patsubst scripts/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRCS))
# Unit tests of common/ (tests/unit/*.c), run by tests/common.bats.
UNIT_SRCS   := $(sort $(wildcard tests/unit/*.c))
UNITS       := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
COMMON_SRCS := $(sort $(wildcard common/*.c))
COMMON_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(COMMON_SRCS))
COMMON_HDRS := $(wildcard common/*.h)
COMMON_LIB  := $(BUILD)/common/libcommon.a
# Exercises: chapters/chapter-03/exercises/NN-name/*.c (the student's starting file) and
# .../exercises/solutions/NN-name/*.c (the reference solution) build under $(BUILD)/exercises/.
# `all` builds only the solutions: a half-done exercise must never break the build.
EXERCISE_DIR  := chapters/chapter-03/exercises
SOLUTION_SRCS := $(sort $(wildcard $(EXERCISE_DIR)/solutions/[0-9]*/*.c))
SOLUTIONS     := $(patsubst $(EXERCISE_DIR)/%.c,$(BUILD)/exercises/%,$(SOLUTION_SRCS))
# make exercise N=3 (or N=03): the student's file of exercise 03-*
EXERCISE_SRC  := $(if $(N),$(firstword $(wildcard $(EXERCISE_DIR)/0$(N)-*/*.c $(EXERCISE_DIR)/$(N)-*/*.c)))
EXERCISE_BIN  := $(patsubst $(EXERCISE_DIR)/%.c,$(BUILD)/exercises/%,$(EXERCISE_SRC))
# ... and built again with ASan + UBSan (SAN_BUILD, below): the binary the checks run.
EXERCISE_SAN_BIN = $(patsubst $(BUILD)/%,$(SAN_BUILD)/%,$(EXERCISE_BIN))

.PHONY: all chapter-03 test clean help bench demo demo-stop exercise mutants diff list-stages
# Keep the common objects: the library is made of them, they are not temporary.
.SECONDARY: $(COMMON_OBJS)
.DEFAULT_GOAL := all

## all: build every stage, tool and exercise solution (the default; CC=clang; V=1: full commands)
all: $(STAGES) $(TOOLS) $(UNITS) $(SOLUTIONS)
ifneq ($(LINUX_ONLY),)
	@echo "note: skipped on $(UNAME_S) (Linux-only epoll): $(LINUX_ONLY)"
endif
ifneq ($(NO_URING),)
	@echo "note: skipped (liburing not found: sudo apt-get install liburing-dev): $(NO_URING)"
endif

$(BUILD)/common/%.o: common/%.c $(COMMON_HDRS)
	@mkdir -p $(@D)
	$(SAY) CC $@
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -Icommon -c -o $@ $<

# One member per module of common/; made afresh, so a module that is gone leaves no member.
$(COMMON_LIB): $(COMMON_OBJS)
	$(SAY) AR $@
	$(Q)rm -f $@ && $(AR) rcs $@ $(COMMON_OBJS)

$(BUILD)/%: chapters/%.c $(COMMON_LIB) $(COMMON_HDRS)
	@mkdir -p $(@D)
	$(SAY) CC $@
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -Icommon $(LDFLAGS) -o $@ $< $(COMMON_LIB) $(LDLIBS)

$(BUILD)/tools/%: scripts/tools/%.c $(COMMON_LIB) $(COMMON_HDRS)
	@mkdir -p $(@D)
	$(SAY) CC $@
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -Icommon $(LDFLAGS) -o $@ $< $(COMMON_LIB) $(LDLIBS)
# (tests/unit/probe.c includes the probe's source whole, to test its static functions)
$(BUILD)/tests/unit/probe: scripts/tools/probe.c

$(BUILD)/tests/unit/%: tests/unit/%.c $(COMMON_LIB) $(COMMON_HDRS)
	@mkdir -p $(@D)
	$(SAY) CC $@
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -Icommon $(LDFLAGS) -o $@ $< $(COMMON_LIB) $(LDLIBS)

$(BUILD)/exercises/%: $(EXERCISE_DIR)/%.c $(COMMON_LIB) $(COMMON_HDRS)
	@mkdir -p $(@D)
	$(SAY) CC $@
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -Icommon $(LDFLAGS) -o $@ $< $(COMMON_LIB) $(LDLIBS)

# The wrong solutions of the mutation tests, written (patched) under $(BUILD)/mutants/ by
# scripts/gates/mutants.sh and built like a student's file.
$(BUILD)/mutants/%: $(BUILD)/mutants/%.c $(COMMON_LIB) $(COMMON_HDRS)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -Icommon $(LDFLAGS) -o $@ $< $(COMMON_LIB) $(LDLIBS)

# deps-for: the install step is done while the Makefile is read (above); the test target still
# names this empty target.
.PHONY: deps-for
deps-for:
	@:

## chapter-03: build and replay every experiment (STAGE=01-blocking/04-many-clients: one; PAUSE=0)
chapter-03: all
	@bash scripts/replay.sh $(STAGE)

## diff: a stage against the one before it, code only (make diff STAGE=02-non-blocking/01-accept-eagain; FULL=1: with comments)
diff:
	@bash scripts/diff.sh $(if $(STAGE),$(STAGE),--help) $(if $(filter 1,$(FULL)),--full)

## list-stages: the stages in order, as chapters/chapter-03/stages.txt lists them (the one list)
list-stages:
	@bash -c 'source scripts/lib.sh && stage_list'

## demo: live classroom demo in tmux (STAGE=02-non-blocking/02-eagain-loop CLIENTS=3); F10 closes
demo: all
	@bash scripts/demo.sh $(or $(STAGE),01-blocking/04-many-clients) $(or $(CLIENTS),2)

## demo-stop: close the demo and everything it started
demo-stop:
	@bash scripts/demo.sh stop

## bench: measure every multi-client server and print one table (QUICK=1: a minute or so; CSV=1: csv; PLOT=1: SVG charts)
bench: all
	@bash scripts/bench.sh $(if $(filter 1,$(QUICK)),--quick) $(if $(filter 1,$(CSV)),--csv) $(if $(filter 1,$(PLOT)),--plot)

## measurements: measure again every figure the guides quote: chapters/chapter-03/MEASUREMENTS.md (a few minutes)
.PHONY: measurements
measurements: all
	@bash scripts/measure.sh >$(BUILD)/MEASUREMENTS.md && mv $(BUILD)/MEASUREMENTS.md chapters/chapter-03/MEASUREMENTS.md
	@echo "wrote chapters/chapter-03/MEASUREMENTS.md"

## test: run the bats suite (installs bats, nc... if missing; JOBS=N at once; TIMING=1: the slowest)
test: all | deps-for
	@BUILD_DIR=$(abspath $(BUILD)) bash scripts/gates/run-tests.sh

## exercise: check your exercise N (make exercise N=3): build your file (also with ASan+UBSan), run its checks
exercise: $(EXERCISE_BIN) $(TOOLS)
ifneq ($(EXERCISE_SRC),)
	@$(MAKE) --no-print-directory BUILD=$(SAN_BUILD) $(SAN_MAKE) $(EXERCISE_SAN_BIN)
endif
	@bash scripts/exercise.sh "$(N)" "$(EXERCISE_SRC)" "$(EXERCISE_BIN)" "$(EXERCISE_SAN_BIN)"

## mutants: the exercise checks reject every wrong solution in tests/exercises/mutants/ (~1 min; CI)
mutants: $(TOOLS)
	@$(SAN_MAKE) SAN_BUILD=$(SAN_BUILD) bash scripts/gates/mutants.sh $(MUTANT)

# --- Quality gates (README: "Quality gates") ----------------------------------------------------
# Every list below is a wildcard, so new stages, tools, exercises and fuzz targets are covered
# as soon as they exist. The tools are Debian packages: scripts/install-deps.sh --all.

.PHONY: check check-tsan valgrind lint lint-cppcheck lint-tidy lint-format lint-shell fuzz stress compile_commands.json

# make check: the same build with AddressSanitizer, UndefinedBehaviorSanitizer and (at exit)
# LeakSanitizer, in its own folder per compiler (make check CC=clang works too).
SANITIZE  ?= -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SAN_BUILD ?= $(BUILD)/sanitize/$(notdir $(firstword $(CC)))
# gcc's shared libubsan ignores UBSAN_OPTIONS=log_path when libasan is loaded too, and would
# write its reports on the stderr the tests compare: link gcc's runtimes statically (clang does).
SAN_LDFLAGS ?= $(if $(findstring clang,$(shell $(CC) --version 2>/dev/null)),,-static-libasan -static-libubsan)

SAN_MAKE  = CFLAGS="$(CFLAGS) $(SANITIZE)" LDFLAGS="$(LDFLAGS) $(SANITIZE) $(SAN_LDFLAGS)"

## check: build everything with ASan+UBSan+LSan into build/sanitize/ and run the whole suite on it
# The flags go to the suite too: a test that builds something itself (an exercise's starting
# file) must build it the same way, to link with the sanitized common objects.
check:
	@$(MAKE) --no-print-directory BUILD=$(SAN_BUILD) $(SAN_MAKE) all
	@$(SAN_MAKE) bash scripts/gates/sanitize.sh $(SAN_BUILD)
	@$(MAKE) --no-print-directory check-tsan

# make check-tsan: ThreadSanitizer does not mix with AddressSanitizer, so the thread stage gets
# a build of its own (with the tools and the stage its tests look for) and its tests alone.
TSAN_BUILD   ?= $(BUILD)/tsan/$(notdir $(firstword $(CC)))
TSAN_STAGE   := chapter-03/05-other-roads/02-thread-per-client
TSAN_NEEDS   := $(TSAN_STAGE) chapter-03/01-blocking/01-accept tools/misbehave tools/many-clients tools/loadgen

## check-tsan: the thread-per-client stage built with ThreadSanitizer, its tests run on it (in make check)
check-tsan:
	@$(MAKE) --no-print-directory BUILD=$(TSAN_BUILD) CFLAGS="$(CFLAGS) -fsanitize=thread" \
		LDFLAGS="$(LDFLAGS) -fsanitize=thread" tsan-needs
	@bash scripts/gates/tsan.sh $(TSAN_BUILD)

.PHONY: tsan-needs
tsan-needs: $(addprefix $(BUILD)/,$(TSAN_NEEDS))
	@:

# make valgrind: a build of its own, with DWARF 4 debug info (valgrind 3.19 cannot read the
# DWARF 5 that clang 14 writes) and without sanitizers (they do not mix with valgrind).
VALGRIND ?= valgrind
VG_BUILD ?= $(BUILD)/valgrind/$(notdir $(firstword $(CC)))

## valgrind: every stage and exercise solution through the main scenarios under valgrind memcheck
valgrind:
	@$(MAKE) --no-print-directory BUILD=$(VG_BUILD) CFLAGS="$(CFLAGS) -gdwarf-4" all
	@BUILD_DIR=$(abspath $(VG_BUILD)) VALGRIND="$(VALGRIND)" bash scripts/gates/valgrind.sh \
		$(patsubst $(BUILD)/%,$(VG_BUILD)/%,$(STAGES) $(SOLUTIONS))

# make lint: every .c and .h of the repository, whoever wrote it.
CPPCHECK     ?= cppcheck
CLANG_TIDY   ?= clang-tidy
CLANG_FORMAT ?= clang-format
LINT_SRCS    := $(filter-out $(NO_URING),$(sort $(shell find chapters common scripts tests -name '*.[ch]' 2>/dev/null)))
LINT_C_SRCS  := $(filter %.c,$(LINT_SRCS))
LINT_JOBS    ?= $(shell getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)

# ...and every shell script and bats helper (the .bats files themselves are bats, not bash).
SHELLCHECK   ?= shellcheck
LINT_SHELL   := $(sort $(shell find scripts tests chapters -name '*.sh' -o -name '*.bash' 2>/dev/null)) .ci/run

## lint: cppcheck, clang-tidy (.clang-tidy), clang-format --dry-run (.clang-format), shellcheck; make -k lint: all four
lint: lint-cppcheck lint-tidy lint-format lint-shell
	@echo "lint: clean ($(words $(LINT_SRCS)) C files, $(words $(LINT_SHELL)) scripts)"

## lint-cppcheck: cppcheck, every check family, POSIX library knowledge; any finding fails
lint-cppcheck:
	@echo "lint: cppcheck"
	@# cppcheck 2.10 does not know C11's _Noreturn, so die() looked like it could return.
	@# Every fuzz target defines LLVMFuzzerTestOneInput, which libFuzzer calls: "never used" to
	@# cppcheck, which reports the name once for all files (so no inline suppression can match).
	@$(CPPCHECK) --std=c11 --enable=all --library=posix --inline-suppr --error-exitcode=1 -q \
		$(CPPFLAGS) '-D_Noreturn=__attribute__((noreturn))' -Icommon \
		--suppress=missingIncludeSystem '--suppress=unusedFunction:tests/fuzz/*.c' $(LINT_SRCS)

## lint-tidy: clang-tidy with the checks chosen (and justified) in .clang-tidy
lint-tidy:
	@echo "lint: clang-tidy"
	@# One clang-tidy per file, LINT_JOBS at once; a file's output is shown only if it fails.
	@printf '%s\n' $(LINT_C_SRCS) | xargs -P $(LINT_JOBS) -I{} sh -c \
		'out=$$($(CLANG_TIDY) --quiet --config-file=$(CURDIR)/.clang-tidy "$$1" -- $(CPPFLAGS) -std=c11 -Icommon 2>&1) && exit 0; \
		printf "%s\n" "$$out" | grep -v -E "^[0-9]+ warnings? generated"; exit 1' sh {}

## lint-format: clang-format --dry-run -Werror (fix with: clang-format -i FILE)
lint-format:
	@echo "lint: clang-format"
	@$(CLANG_FORMAT) --style=file:$(CURDIR)/.clang-format --dry-run -Werror $(LINT_SRCS)

## lint-shell: shellcheck -S warning on every script (scripts/, tests/*.bash, .ci/run, chapters/)
lint-shell:
	@echo "lint: shellcheck"
	@$(SHELLCHECK) -S warning $(LINT_SHELL)

# make fuzz: every tests/fuzz/NAME.c is a libFuzzer target, with its seeds in
# tests/fuzz/corpus/NAME/; what it finds goes to $(BUILD)/fuzz/.
FUZZ_CC      ?= clang
FUZZ_FLAGS   ?= -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_SECONDS ?= 60
FUZZ_SRCS    := $(sort $(wildcard tests/fuzz/*.c))
FUZZERS      := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))

$(BUILD)/fuzz/%: tests/fuzz/%.c $(COMMON_SRCS) $(COMMON_HDRS)
	@mkdir -p $(@D)
	$(SAY) CC $@
	$(Q)$(FUZZ_CC) $(CPPFLAGS) $(CFLAGS) $(FUZZ_FLAGS) -Icommon -o $@ $< $(COMMON_SRCS)

## fuzz: run every libFuzzer target in tests/fuzz/ for FUZZ_SECONDS (default 60; 0: replay the seeds)
fuzz: $(FUZZERS)
	@bash scripts/gates/fuzz.sh $(FUZZ_SECONDS) $(FUZZERS)

## stress: the event-loop stages under load: fds after 2,000 cycles, 500 clients, a 10 MB flood, FD_SETSIZE
stress: all
	@BUILD_DIR=$(abspath $(BUILD)) bash scripts/gates/stress.sh

# One entry per source, with the very flags the rules above use (no bear needed).
CDB_ENTRY = printf '  {"directory": "%s", "file": "%s", "command": "%s"}' "$(CURDIR)" "$(1)" "$(2)"

## compile_commands.json: for editors and clangd, from this Makefile's own flags (not committed)
compile_commands.json:
	@{ echo '['; sep=''; \
	$(foreach f,$(COMMON_SRCS) $(STAGE_SRCS) $(TOOL_SRCS) $(UNIT_SRCS) $(SOLUTION_SRCS) \
		$(wildcard $(EXERCISE_DIR)/[0-9]*/*.c),\
		printf "$$sep"; sep=',\n'; \
		$(call CDB_ENTRY,$(f),$(CC) $(CPPFLAGS) $(CFLAGS) -Icommon -c -o /dev/null $(f));) \
	$(foreach f,$(FUZZ_SRCS),\
		printf "$$sep"; sep=',\n'; \
		$(call CDB_ENTRY,$(f),$(FUZZ_CC) $(CPPFLAGS) $(CFLAGS) $(FUZZ_FLAGS) -Icommon -c -o /dev/null $(f));) \
	printf '\n]\n'; } >$@
	@echo "wrote $@ ($(words $(COMMON_SRCS) $(STAGE_SRCS) $(TOOL_SRCS) $(UNIT_SRCS) $(SOLUTION_SRCS) $(wildcard $(EXERCISE_DIR)/[0-9]*/*.c) $(FUZZ_SRCS)) files)"

## clean: remove build/
clean:
	rm -rf build

## help: list the targets
help:
	@echo "Targets:"
	@awk -F': ' '/^## /{sub(/^## /,""); split($$0,a,": "); printf "  make %-24s %s\n", a[1], substr($$0, length(a[1])+3)}' $(MAKEFILE_LIST)
