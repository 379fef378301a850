# Build rules for mtactl and its unit tests. Included by the top Makefile and
# used alone by the Dockerfile's builder stage (make -f src/c.mk mtactl).

CC      ?= cc
CSTD    := -std=c11 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS  ?= -O2 -g
BUILD   ?= build

# Every .c under src/ except main.c is a library module; main.c only dispatches.
MTACTL_SRC  := $(filter-out src/main.c,$(sort $(wildcard src/*/*.c)))
MTACTL_LIBS := -lcrypto -ljansson

$(BUILD)/mtactl: src/main.c $(MTACTL_SRC) $(wildcard src/*/*.h)
	@mkdir -p $(BUILD)
	$(CC) $(CSTD) $(WARN) $(CFLAGS) -Isrc -o $@ src/main.c $(MTACTL_SRC) $(MTACTL_LIBS)

.PHONY: mtactl
mtactl: $(BUILD)/mtactl

# Unit tests: one binary per tests/unit/test_*.c, linked with every module,
# built twice: plain and with AddressSanitizer + UndefinedBehaviorSanitizer.
UNIT_SRC   := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRC))
UNIT_ASAN  := $(patsubst tests/unit/%.c,$(BUILD)/unit-asan/%,$(UNIT_SRC))
SANITIZE   := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

$(BUILD)/unit/%: tests/unit/%.c $(MTACTL_SRC) $(wildcard src/*/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O1 -g -Isrc -Itests/unit -o $@ $< $(MTACTL_SRC) $(MTACTL_LIBS) -lcmocka

$(BUILD)/unit-asan/%: tests/unit/%.c $(MTACTL_SRC) $(wildcard src/*/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O1 -g $(SANITIZE) -Isrc -Itests/unit -o $@ $< $(MTACTL_SRC) $(MTACTL_LIBS) -lcmocka

.PHONY: unit
unit: $(UNIT_BINS) $(UNIT_ASAN)
	@set -e; for t in $(UNIT_BINS) $(UNIT_ASAN); do echo "== $$t"; (cd tests/unit && ../../$$t); done
