#!/bin/sh
# `make swarm-up` / `make swarm-down`: the stack of deploy/swarm/stack.yml on
# this Docker engine.
#   up    builds the lb and ldap images, joins a swarm (`docker swarm init`)
#         only when the engine is in none, makes each missing secret with a
#         generated test value, and deploys the stack
#   down  removes the stack, the secrets that `up` made, and leaves the swarm
#         when `up` made it; the volumes stay unless SWARM_PURGE=yes
# What `up` made is written to STATE (one word a line), so `down` undoes only
# that. Environment: STACK (mail), IMAGE (mta), BASE, MX_IMAGE, STORE_IMAGE,
# SWARM_ADVERTISE_ADDR (127.0.0.1: a one-node swarm), SWARM_PURGE.
set -eu

dir=$(cd "$(dirname "$0")" && pwd)
STACK=${STACK:-mail}
IMAGE=${IMAGE:-mta}
BASE=${BASE:-debian:bookworm-slim}
STATE=${STATE:-$dir/.state-$STACK}
export STACK_NAME="$STACK"
export LB_IMAGE="${LB_IMAGE:-$IMAGE-lb}" LDAP_IMAGE="${LDAP_IMAGE:-$IMAGE-ldap}"
export MX_IMAGE="${MX_IMAGE:-$IMAGE:rspamd}" STORE_IMAGE="${STORE_IMAGE:-$IMAGE:base}"
SECRETS="ldap_bind_pw tls_cert tls_key dkim_key rspamd_password"

log() { echo "swarm: $*"; }
made() { echo "$1" >>"$STATE"; }
did() { [ -f "$STATE" ] && grep -qx "$1" "$STATE"; }

# Writes the generated test value of secret $1 to stdout.
test_value() {
	case $1 in
	ldap_bind_pw | rspamd_password) printf '%s' "generated-test-$(openssl rand -hex 16)" ;;
	dkim_key) openssl genrsa 2048 2>/dev/null ;;
	tls_cert) cat "$tmp/tls.crt" ;;
	tls_key) cat "$tmp/tls.key" ;;
	*) echo "swarm: no test value for secret $1" >&2; return 1 ;;
	esac
}

up() {
	log "building $LB_IMAGE and $LDAP_IMAGE"
	docker build -q --build-arg BASE="$BASE" -t "$LB_IMAGE" "$dir/../lb" >/dev/null
	docker build -q --build-arg BASE="$BASE" -t "$LDAP_IMAGE" "$dir/../ldap" >/dev/null
	state=$(docker info --format '{{.Swarm.LocalNodeState}}')
	if [ "$state" != active ]; then
		log "the engine is in no swarm ($state): docker swarm init"
		# The swarm makes this bridge; down removes it again only if so.
		docker network inspect docker_gwbridge >/dev/null 2>&1 || made gwbridge
		docker swarm init --advertise-addr "${SWARM_ADVERTISE_ADDR:-127.0.0.1}" >/dev/null
		made swarm-init
	fi
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	# One self-signed certificate for both halves of the TLS pair.
	openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=generated-test-cert.example.com" \
		-addext "subjectAltName=DNS:mail.example.com,DNS:mx.example.com" \
		-keyout "$tmp/tls.key" -out "$tmp/tls.crt" 2>/dev/null
	for s in $SECRETS; do
		name="${STACK}_$s"
		docker secret inspect "$name" >/dev/null 2>&1 && continue
		test_value "$s" >"$tmp/value"
		docker secret create --label mta.swarm.generated="test value made by make swarm-up: replace" \
			"$name" "$tmp/value" >/dev/null
		made "secret:$name"
		log "made secret $name with a generated TEST value"
	done
	log "deploying stack $STACK (mx $MX_IMAGE, store $STORE_IMAGE)"
	docker stack deploy -c "$dir/stack.yml" "$STACK"
	log "up; watch it with: docker stack ps $STACK"
}

down() {
	if docker stack ls --format '{{.Name}}' 2>/dev/null | grep -qx "$STACK"; then
		log "removing stack $STACK"
		docker stack rm "$STACK" >/dev/null
	fi
	# Secrets, volumes and networks stay busy until the tasks' containers are gone.
	i=0
	while [ -n "$(docker ps -aq --filter "label=com.docker.stack.namespace=$STACK")" ]; do
		i=$((i + 1))
		[ "$i" -le 90 ] || { echo "swarm: containers of $STACK still there after 90 s" >&2; break; }
		sleep 1
	done
	if [ -f "$STATE" ]; then
		sed -n 's/^secret://p' "$STATE" | while read -r name; do
			docker secret rm "$name" >/dev/null && log "removed secret $name"
		done
	fi
	if [ "${SWARM_PURGE:-no}" = yes ]; then
		vols=$(docker volume ls -q --filter "label=com.docker.stack.namespace=$STACK")
		for v in $vols; do
			docker volume rm "$v" >/dev/null && log "removed volume $v"
		done
	else
		log "volumes kept (SWARM_PURGE=yes removes them)"
	fi
	if did swarm-init; then
		log "leaving the swarm that swarm-up made"
		docker swarm leave --force >/dev/null
		if did gwbridge; then
			docker network rm docker_gwbridge >/dev/null
		fi
	fi
	rm -f "$STATE"
}

case ${1:-} in
up) up ;;
down) down ;;
*) echo "usage: $0 up|down" >&2; exit 100 ;;
esac
