# The workbook's one Makefile: `make help` lists the targets.
#
# Every stage chapters/chapter-03/NN-section/NN-stage.c builds to
# $(BUILD)/chapter-03/NN-section/NN-stage, linked with the small shared layer in common/.

CC       ?= cc
CFLAGS   ?= -std=c11 -Wall -Wextra -Wpedantic -Werror -O2 -g
CPPFLAGS ?= -D_POSIX_C_SOURCE=200809L
LDFLAGS  ?=
LDLIBS   ?=
BUILD    ?= build

UNAME_S := $(shell uname -s)

STAGE_SRCS  := $(sort $(wildcard chapters/chapter-03/[0-9]*/[0-9]*.c))
# epoll is Linux-only: elsewhere its stages are left out (and `make` says so).
ifneq ($(UNAME_S),Linux)
LINUX_ONLY  := $(shell grep -l 'sys/epoll.h' $(STAGE_SRCS) 2>/dev/null)
STAGE_SRCS  := $(filter-out $(LINUX_ONLY),$(STAGE_SRCS))
endif
STAGES      := $(patsubst chapters/%.c,$(BUILD)/%,$(STAGE_SRCS))
# Helper programs for the tests, the replay and the benchmark (scripts/tools/*.c).
TOOL_SRCS   := $(sort $(wildcard scripts/tools/*.c))
TOOLS       := $(patsubst scripts/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRCS))
COMMON_SRCS := $(sort $(wildcard common/*.c))
COMMON_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(COMMON_SRCS))
COMMON_HDRS := $(wildcard common/*.h)
# Exercises: chapters/chapter-03/exercises/NN-name/*.c (the student's starting file) and
# .../exercises/solutions/NN-name/*.c (the reference solution) build under $(BUILD)/exercises/.
# `all` builds only the solutions: a half-done exercise must never break the build.
EXERCISE_DIR  := chapters/chapter-03/exercises
SOLUTION_SRCS := $(sort $(wildcard $(EXERCISE_DIR)/solutions/[0-9]*/*.c))
SOLUTIONS     := $(patsubst $(EXERCISE_DIR)/%.c,$(BUILD)/exercises/%,$(SOLUTION_SRCS))
# make exercise N=3 (or N=03): the student's file of exercise 03-*
EXERCISE_SRC  := $(if $(N),$(firstword $(wildcard $(EXERCISE_DIR)/0$(N)-*/*.c $(EXERCISE_DIR)/$(N)-*/*.c)))
EXERCISE_BIN  := $(patsubst $(EXERCISE_DIR)/%.c,$(BUILD)/exercises/%,$(EXERCISE_SRC))

.PHONY: all chapter-03 test clean help bench demo demo-stop exercise
# Keep the common objects: they are shared by every stage, not temporary.
.SECONDARY: $(COMMON_OBJS)
.DEFAULT_GOAL := all

all: $(STAGES) $(TOOLS) $(SOLUTIONS)
ifneq ($(LINUX_ONLY),)
	@echo "note: skipped on $(UNAME_S) (Linux-only epoll): $(LINUX_ONLY)"
endif

$(BUILD)/common/%.o: common/%.c $(COMMON_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Icommon -c -o $@ $<

$(BUILD)/%: chapters/%.c $(COMMON_OBJS) $(COMMON_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Icommon $(LDFLAGS) -o $@ $< $(COMMON_OBJS) $(LDLIBS)

$(BUILD)/tools/%: scripts/tools/%.c $(COMMON_OBJS) $(COMMON_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Icommon $(LDFLAGS) -o $@ $< $(COMMON_OBJS) $(LDLIBS)

$(BUILD)/exercises/%: $(EXERCISE_DIR)/%.c $(COMMON_OBJS) $(COMMON_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Icommon $(LDFLAGS) -o $@ $< $(COMMON_OBJS) $(LDLIBS)

## chapter-03: build and replay every experiment (STAGE=01-blocking/04-many-clients: one; PAUSE=0)
chapter-03: all
	@bash scripts/replay.sh $(STAGE)

## demo: live classroom demo in tmux (STAGE=02-non-blocking/02-eagain-loop CLIENTS=3); F10 closes
demo: all
	@bash scripts/demo.sh $(or $(STAGE),01-blocking/04-many-clients) $(or $(CLIENTS),2)

## demo-stop: close the demo and everything it started
demo-stop:
	@bash scripts/demo.sh stop

## bench: measure every multi-client server and print one table (QUICK=1: seconds; CSV=1: csv)
bench: all
	@bash scripts/bench.sh $(if $(filter 1,$(QUICK)),--quick) $(if $(filter 1,$(CSV)),--csv)

## test: run the bats suite (needs bats and OpenBSD nc: scripts/install-deps.sh)
test: all
	@bash scripts/run-tests.sh

## exercise: check your exercise N (make exercise N=3): build your file, run its tests
exercise: $(EXERCISE_BIN) $(TOOLS)
	@bash scripts/exercise.sh "$(N)" "$(EXERCISE_SRC)" "$(EXERCISE_BIN)"

## clean: remove build/
clean:
	rm -rf build

## help: list the targets
help:
	@echo "Targets:"
	@awk -F': ' '/^## /{sub(/^## /,""); split($$0,a,": "); printf "  make %-14s %s\n", a[1], substr($$0, length(a[1])+3)}' $(MAKEFILE_LIST)
