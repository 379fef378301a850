# The map of the project's commands. `make run` and `make test` are the two
# that matter; each installs what it needs on a Debian machine first (deps).

IMAGE   ?= mta
BASE    ?= debian:bookworm-slim
STAGES  := mini base full
# Debian's interpreter, where deps installed pytest (a PATH python may be another).
PYTEST  ?= /usr/bin/python3 -m pytest

include src/c.mk
include bench/bench.mk
include demo/demo.mk

.PHONY: deps base-image images $(STAGES) run stop test e2e lint clean readme readme-check fuzz-short soak

deps:
	@./scripts/deps.sh

base-image: deps
	@./scripts/base-image.sh $(BASE)

# Each stage is a target of the one Dockerfile; later stages reuse the earlier layers.
$(STAGES): base-image
	@echo "images: building $(IMAGE):$@"
	docker build -q --build-arg BASE=$(BASE) --target $@ -t $(IMAGE):$@ . >/dev/null

images: base-image
	@for s in $(STAGES); do \
		echo "images: building $(IMAGE):$$s"; \
		docker build -q --build-arg BASE=$(BASE) --target $$s -t $(IMAGE):$$s . >/dev/null || exit 1; \
	done
	docker tag $(IMAGE):full $(IMAGE):latest

# `make run`: the demo (demo/), the full image with LDAP users, SMTP on
# 127.0.0.1:25 and IMAP on 127.0.0.1:143; `make stop` removes it.
run: demo
stop: demo-down

test: deps unit fuzz-short lint readme-check images
	$(PYTEST) -v tests/e2e demo/test_demo.py

e2e: deps
	$(PYTEST) -v tests/e2e

lint: deps
	shellcheck scripts/*.sh .ci/run demo/*.sh bench/*/*.sh

clean:
	rm -rf $(BUILD)
	-docker rm -f $(IMAGE)-demo >/dev/null 2>&1
	-for s in $(STAGES) latest; do docker rmi $(IMAGE):$$s >/dev/null 2>&1; done

# The variable reference in README.md is generated from the variable table;
# `make readme` rewrites it and `make readme-check` (part of `make test`)
# fails when it is out of date.
readme: $(BUILD)/mtactl
	@./scripts/readme-vars.sh $(BUILD)/mtactl README.md write

readme-check: $(BUILD)/mtactl
	@./scripts/readme-vars.sh $(BUILD)/mtactl README.md check

# A short fuzzing pass for every target (`make fuzz` runs each for 60 s).
fuzz-short: deps
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=5

# Long fault runs (make test runs the same tests with 60 messages and 2 faults).
soak: deps images
	SOAK_MESSAGES=500 SOAK_FAULTS=10 $(PYTEST) -v -s tests/e2e/test_reliability.py
