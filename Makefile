# The map of the project's commands. `make run` and `make test` are the two
# that matter; each installs what it needs on a Debian machine first (deps).

IMAGE   ?= mta
BASE    ?= debian:bookworm-slim
STAGES  := mini base full rspamd
# The stage that `latest` and the bare version tags (1.0.0, 1.0, 1) name.
DEFAULT_STAGE := full
PROJECT := mta
# Debian's interpreter, where deps installed pytest (a PATH python may be another).
PYTEST  ?= /usr/bin/python3 -m pytest

include src/c.mk
include bench/bench.mk
include demo/demo.mk

# The release (VERSION, SemVer) and the version tags it gives each image:
# X.Y.Z X.Y X (empty when VERSION is not X.Y.Z; `make images` refuses then).
VERSION := $(shell cat VERSION 2>/dev/null)
SEMVER  := $(shell echo '$(VERSION)' | sed -n 's/^\(\([0-9]\{1,\}\)\.[0-9]\{1,\}\)\.[0-9]\{1,\}$$/& \1 \2/p')
# Every tag of stage $(1): mini mini-1.0.0 mini-1.0 mini-1; DEFAULT_STAGE's
# also latest 1.0.0 1.0 1. Works for any STAGES.
stage_tags = $(1) $(addprefix $(1)-,$(SEMVER)) $(if $(filter $(1),$(DEFAULT_STAGE)),latest $(SEMVER))

# OCI labels of every image. The source is the clone's origin (any
# credentials in the URL dropped), else the project's name.
SOURCE_URL ?= $(or $(shell git config --get remote.origin.url 2>/dev/null | sed 's|//[^/@]*@|//|'),$(PROJECT))
REVISION   ?= $(or $(shell git rev-parse HEAD 2>/dev/null),unknown)
CREATED    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LABELS      = $(foreach l,version=$(VERSION) source=$(SOURCE_URL) revision=$(REVISION) created=$(CREATED),\
		--label "org.opencontainers.image.$(l)")

.PHONY: deps base-image images $(STAGES) run stop test e2e lint clean readme readme-check fuzz-short soak

deps:
	@./scripts/deps.sh

base-image: deps
	@./scripts/base-image.sh $(BASE)

# Each stage is a target of the one Dockerfile; later stages reuse the
# earlier layers. One build gives a stage all its tags and the labels.
$(STAGES): base-image
	@test -n "$(SEMVER)" || { echo "images: VERSION holds \"$(VERSION)\", expected X.Y.Z" >&2; exit 1; }
	@echo "images: building $(IMAGE):$@ ($(VERSION))"
	@docker build -q --build-arg BASE=$(BASE) $(LABELS) --target $@ \
		$(addprefix -t $(IMAGE):,$(call stage_tags,$@)) . >/dev/null

images: $(STAGES)

# `make run`: the demo (demo/): webmail on http://127.0.0.1:8008/ (users
# demo/demo, alice/alice) in front of the full image (DEMO_IMAGE=...) with
# LDAP users; `make stop` removes all it made.
run: demo
stop: demo-down

# The Docker Swarm stack (deploy/swarm/README.md): `make swarm-up` builds the
# images, joins a swarm only when the engine is in none, makes the missing
# secrets (generated test values), deploys stack STACK; `make swarm-down`
# undoes what swarm-up made (volumes too with SWARM_PURGE=yes).
STACK ?= mail
.PHONY: swarm-up swarm-down
swarm-up: images
	@STACK=$(STACK) IMAGE=$(IMAGE) BASE=$(BASE) ./deploy/swarm/swarm.sh up

swarm-down:
	@STACK=$(STACK) IMAGE=$(IMAGE) SWARM_PURGE=$(SWARM_PURGE) ./deploy/swarm/swarm.sh down

# The end-to-end suite runs in E2E_JOBS pytest-xdist workers (tests/e2e/README.md:
# a module with module-scoped peers stays on one worker); the demo's tests (demo/,
# one demo shared, a browser among them) bind the demo's ports on 127.0.0.1 and
# run alone after it, also when the suite failed.
E2E_JOBS ?= 2
E2E_ARGS  = -v -n $(E2E_JOBS) --dist loadgroup --durations=30

test: deps unit fuzz-short lint readme-check images
	@e=0; $(PYTEST) $(E2E_ARGS) tests/e2e || e=$$?; \
	$(PYTEST) -v demo/ || e=$$?; exit $$e

e2e: deps
	$(PYTEST) $(E2E_ARGS) tests/e2e

lint: deps
	shellcheck scripts/*.sh .ci/run demo/*.sh demo/webmail/*.sh bench/*/*.sh tests/peers/*/*.sh deploy/*/*.sh

clean:
	rm -rf $(BUILD)
	-docker rm -f $(IMAGE)-demo >/dev/null 2>&1
	-docker rmi $(addprefix $(IMAGE):,$(foreach s,$(STAGES),$(call stage_tags,$(s)))) >/dev/null 2>&1

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
