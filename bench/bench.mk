# Benchmarks of the images against plain Debian baselines: bench/run.py,
# bench/README.md. Never part of `make test`. Included from the top Makefile
# (paths are relative to the project root):
#   include bench/bench.mk
#   make bench                          5 repetitions, 2000 (filters: 200) messages;
#                                       stock, mini, base, full, textbook, rspamd
#   make bench BENCH_ARGS="--quick"     500 (filters: 50) messages
#   make bench BENCH_ARGS="--reps 7 --only throughput,size"
# BENCH_DEPS are the prerequisites: the stages the bench measures, each a rule
# of the top Makefile's STAGES (rspamd included: run.py refuses to start without
# ${IMAGE}:rspamd); empty when the fragment is used alone:
#   make -f bench/bench.mk bench BENCH_DEPS=

IMAGE        ?= mta
BENCH_STAGES := mini base full rspamd
BENCH_DEPS   ?= $(BENCH_STAGES)
BENCH_ARGS   ?=

.PHONY: bench bench-swarm bench-reload bench-metrics

bench: $(BENCH_DEPS)
	/usr/bin/python3 bench/run.py --image $(IMAGE) $(BENCH_ARGS)
	/usr/bin/python3 bench/metrics.py --image $(IMAGE) $(BENCH_METRICS_ARGS)
	/usr/bin/python3 bench/reload.py --image $(IMAGE)

# METRICS_LISTEN on against off, and the scrape latency under load
# (bench/metrics.py): make bench-metrics BENCH_METRICS_ARGS="--messages 1000 --reps 3"
BENCH_METRICS_ARGS ?=
bench-metrics: $(if $(BENCH_DEPS),mini)
	/usr/bin/python3 bench/metrics.py --image $(IMAGE) $(BENCH_METRICS_ARGS)

# A live reload of a 10,000-mailbox MAIL_BOXES_FILE (bench/reload.py; base image).
bench-reload: $(if $(BENCH_DEPS),base)
	/usr/bin/python3 bench/reload.py --image $(IMAGE)

# deploy/swarm/stack.yml through its balancer with 1 and 3 mx replicas in one
# run (bench/swarm.py; joins a swarm only when the engine is in none):
#   make bench-swarm BENCH_SWARM_ARGS="--messages 1000 --reps 2"
BENCH_SWARM_DEPS ?= base rspamd
BENCH_SWARM_ARGS ?=

bench-swarm: $(BENCH_SWARM_DEPS)
	IMAGE=$(IMAGE) /usr/bin/python3 bench/swarm.py $(BENCH_SWARM_ARGS)
