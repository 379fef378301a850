#!/bin/bash
# The demo's commands, run by demo/demo.mk from the project root:
#   demo/demo.sh up     ports 25/143 on 127.0.0.1 must be free; builds the LDAP
#                       image, makes the ClamAV test database, starts the demo
#                       and waits (bounded) until SMTP and IMAP answer
#   demo/demo.sh down   removes containers, network and volumes
# IMAGE (default mta) names the images; the demo runs ${IMAGE}:full.
set -euo pipefail

export IMAGE="${IMAGE:-mta}"
PROJECT="${DEMO_PROJECT:-mta-demo}"
COMPOSE_FILE_PATH="$(dirname "$0")/docker-compose.yml"
MX=mta-demo-mx

dc() {
	docker-compose -p "$PROJECT" -f "$COMPOSE_FILE_PATH" "$@"
}

# True when something accepts connections on 127.0.0.1:$1.
port_busy() {
	timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# Reads the first line a server on 127.0.0.1:$1 sends, within 3 s.
greeting() {
	timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && head -n 1 <&3" 2>/dev/null || true
}

wait_for() { # port, expected start of the greeting, name, seconds
	local deadline=$((SECONDS + $4)) line
	while ((SECONDS < deadline)); do
		line="$(greeting "$1")"
		if [[ "$line" == "$2"* ]]; then
			return 0
		fi
		if [[ "$(docker inspect -f '{{.State.Running}}' "$MX" 2>/dev/null)" != true ]]; then
			echo "demo: $MX is not running; its last log lines:" >&2
			docker logs --tail 30 "$MX" >&2 || true
			return 1
		fi
		sleep 1
	done
	echo "demo: $3 on 127.0.0.1:$1 did not answer within $4 s; last log lines of $MX:" >&2
	docker logs --tail 30 "$MX" >&2 || true
	return 1
}

up() {
	if ! docker image inspect "$IMAGE:full" >/dev/null 2>&1; then
		echo "demo: image $IMAGE:full is missing (make full)" >&2
		exit 1
	fi
	if [[ -z "$(dc ps -q mta 2>/dev/null)" ]]; then
		local p busy=""
		for p in 25 143; do
			if port_busy "$p"; then
				busy="$busy $p"
			fi
		done
		if [[ -n "$busy" ]]; then
			echo "demo: port(s)$busy on 127.0.0.1 already in use; the demo needs 127.0.0.1:25 and" \
				"127.0.0.1:143. Stop what listens there (make stop, make demo-down, a local MTA)" \
				"and try again." >&2
			exit 1
		fi
	fi
	dc build -q ldap
	dc run --rm clamdb
	dc up -d ldap mta
	wait_for 25 "220" SMTP 180
	wait_for 143 "* OK" IMAP 60
	cat <<-MSG

	demo: $MX (image $IMAGE:full) is up for example.com; users in LDAP: demo/demo, alice/alice
	  send:        swaks --server 127.0.0.1 --to demo@example.com
	  read (IMAP): curl -s 'imap://127.0.0.1/INBOX;UID=1' -u demo:demo
	               python3 -c "import imaplib; m=imaplib.IMAP4('127.0.0.1'); m.login('demo','demo'); print(m.select('INBOX'))"
	  spam (GTUBE, discarded into the quarantine):
	               swaks --server 127.0.0.1 --to demo@example.com --body 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'
	  virus (EICAR test file as attachment; the demo's only ClamAV signature):
	               printf '%s' 'X5O!P%@AP[4\\PZX54(P^)7CC)7}\$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!\$H+H*' >/tmp/eicar.com
	               swaks --server 127.0.0.1 --to demo@example.com --attach @/tmp/eicar.com
	  quarantine:  docker exec $MX amavis-ls
	  logs:        docker logs -f $MX          stop: make demo-down
	MSG
}

down() {
	dc --profile setup down -v --remove-orphans --timeout 20
}

case "${1:-}" in
up) up ;;
down) down ;;
*)
	echo "usage: $0 up|down" >&2
	exit 2
	;;
esac
