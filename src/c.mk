# Build rules for mtactl and its unit tests. Included by the top Makefile and
# used alone by the Dockerfile's builder stage (make -f src/c.mk mtactl).

CC      ?= cc
CSTD    := -std=c11 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS  ?= -O2 -g
BUILD   ?= build

# Every .c under src/ except main.c is a library module; main.c only dispatches.
MTACTL_SRC  := $(filter-out src/main.c,$(sort $(wildcard src/*/*.c)))
MTACTL_LIBS := -lcrypto -lssl -ljansson -lspf2 -lresolv -lmicrohttpd
# The release `mtactl --version` prints: the VERSION file at the root, as
# the image tags are (the Dockerfile copies it into the builder).
MTACTL_VERSION ?= $(or $(shell cat VERSION 2>/dev/null),unknown)

$(BUILD)/mtactl: src/main.c $(MTACTL_SRC) $(wildcard src/*/*.h) $(wildcard VERSION)
	@mkdir -p $(BUILD)
	$(CC) $(CSTD) $(WARN) $(CFLAGS) '-DMTACTL_VERSION="$(MTACTL_VERSION)"' -Isrc -o $@ src/main.c \
		$(MTACTL_SRC) $(MTACTL_LIBS)

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

# Fuzz targets (libFuzzer, clang, with ASan/UBSan): one per parser of
# outside input, each run for FUZZ_SECONDS from its corpus in tests/fuzz/.
FUZZ_SRC     := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS    := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang

$(BUILD)/fuzz/%: tests/fuzz/%.c $(MTACTL_SRC) $(wildcard src/*/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CSTD) -Wall -Wextra -Werror -O1 -g -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all -Isrc -o $@ $< $(MTACTL_SRC) $(MTACTL_LIBS)

.PHONY: fuzz
fuzz: $(FUZZ_BINS)
	@set -e; for f in $(FUZZ_BINS); do \
		name=$${f##*/}; corpus=tests/fuzz/corpus/$${name#fuzz_}; work=$(BUILD)/fuzz/work-$${name#fuzz_}; \
		mkdir -p $$work; \
		echo "== $$name for $(FUZZ_SECONDS) s"; \
		if ! $$f -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 -rss_limit_mb=1024 \
			-print_final_stats=1 $$work $$corpus >$$work.log 2>&1; then \
			tail -n 40 $$work.log; echo "$$name: FAILED (crash input saved in the working directory)"; exit 1; \
		fi; \
		grep -E "^stat::(number_of_executed_units|peak_rss_mb)" $$work.log; \
	done
