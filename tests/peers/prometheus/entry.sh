#!/bin/sh
# Writes the configuration the test passed in PROM_CONFIG (and the rule
# file in PROM_RULES, at /tmp/rules.yml, when given) and runs Prometheus
# on :9090 with its data in /tmp (thrown away with the container).
set -eu
printf '%s\n' "$PROM_CONFIG" >/tmp/prometheus.yml
if [ -n "${PROM_RULES:-}" ]; then
	printf '%s\n' "$PROM_RULES" >/tmp/rules.yml
fi
exec /usr/bin/prometheus --config.file=/tmp/prometheus.yml --storage.tsdb.path=/tmp/data \
	--web.listen-address=:9090 --log.level=warn
