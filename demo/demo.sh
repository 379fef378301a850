#!/bin/bash
# The demo's commands, run by demo/demo.mk from the project root:
#   demo/demo.sh up     ports 25, 143, 587, 8008 and 9154 on 127.0.0.1 must be
#                       free; builds the demo's small images (LDAP, DNS,
#                       webmail), runs the setup step (demo/setup.sh), starts
#                       the demo, waits (bounded) until SMTP, IMAP and the
#                       webmail answer, puts a welcome message in each inbox
#   demo/demo.sh down   removes containers, network and volumes
# IMAGE (default mta) names the images; the demo runs ${IMAGE}:${DEMO_IMAGE}
# (DEMO_IMAGE full by default).
set -euo pipefail

export IMAGE="${IMAGE:-mta}" DEMO_IMAGE="${DEMO_IMAGE:-full}"
PROJECT="${DEMO_PROJECT:-mta-demo}"
COMPOSE_FILE_PATH="$(dirname "$0")/docker-compose.yml"
MX=mta-demo-mx
PORTS="25 143 587 8008 9154"
URL=http://127.0.0.1:8008/
# Where blocked mail is listed: amavis's quarantine, or the hold queue of
# the rspamd image (mtactl quarantine ls lists either). Only the full image
# checks the signature of its own users' mail for local recipients (dkim=).
if [[ "$DEMO_IMAGE" == full ]]; then
	QUARANTINE_LS="docker exec $MX amavis-ls"
	HEADERS="DKIM-Signature, and dkim=pass in Authentication-Results"
else
	QUARANTINE_LS="docker exec $MX mtactl quarantine ls"
	HEADERS="the DKIM-Signature the server added"
fi

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

# What a newcomer reads first, in Roundcube; sent through the server itself
# (signed, filtered, delivered over LMTP) like any other mail.
welcome() { # user
	cat <<-MAIL
	From: Postmaster <postmaster@example.com>
	To: $1@example.com
	Subject: Welcome to the mta demo, $1
	Content-Type: text/plain; charset=utf-8

	Hello $1,

	this mailbox lives on the demo's mail server, mx1.example.com. Three
	things to try:

	1. Write to alice@example.com (or demo@example.com), then log in as
	   that user (password = user name) and read it.
	2. Send a message whose body is the GTUBE test line (make run printed
	   it; it cannot be in this message, which would be quarantined
	   itself). It never arrives: it waits in the quarantine
	   ($QUARANTINE_LS).
	3. Open a message and choose More > View source (or Headers):
	   $HEADERS.

	-- the demo
	MAIL
}

webmail_answers() {
	timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/8008 && printf 'GET / HTTP/1.0\r\n\r\n' >&3 && head -n 1 <&3" 2>/dev/null |
		grep -q '^HTTP/1.[01] 200'
}

up() {
	if ! docker image inspect "$IMAGE:$DEMO_IMAGE" >/dev/null 2>&1; then
		echo "demo: image $IMAGE:$DEMO_IMAGE is missing (make $DEMO_IMAGE)" >&2
		exit 1
	fi
	local fresh=""
	if [[ -z "$(dc ps -q mta 2>/dev/null)" ]]; then
		fresh=yes
		local p busy=""
		for p in $PORTS; do
			if port_busy "$p"; then
				busy="$busy $p"
			fi
		done
		if [[ -n "$busy" ]]; then
			echo "demo: port(s)$busy on 127.0.0.1 already in use; the demo needs 127.0.0.1 ports" \
				"${PORTS// /, }. Stop what listens there (make stop, a local MTA) and try again." >&2
			exit 1
		fi
	fi
	dc build -q ldap dns webmail
	dc run --rm setup
	dc up -d ldap dns mta webmail
	wait_for 25 "220" SMTP 180
	wait_for 143 "* OK" IMAP 60
	if [[ -n "$fresh" ]]; then
		local u
		for u in demo alice; do
			welcome "$u" | docker exec -i "$MX" /usr/sbin/sendmail -t -f postmaster@example.com
		done
	fi
	local deadline=$((SECONDS + 60))
	until webmail_answers; do
		if ((SECONDS >= deadline)); then
			echo "demo: the webmail on $URL did not answer within 60 s; its last log lines:" >&2
			docker logs --tail 30 mta-demo-webmail >&2 || true
			return 1
		fi
		sleep 1
	done
	cat <<-MSG

	demo: up. Webmail: $URL   users: demo / demo and alice / alice
	  (mail server $MX, image $IMAGE:$DEMO_IMAGE, for example.com; users in LDAP)
	  Three things to try there:
	    1. as demo, write to alice@example.com; log in as alice and read it
	    2. send the GTUBE line as the body; it never arrives, it is in the quarantine:
	         XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X
	         $QUARANTINE_LS
	    3. open a message, More > View source (or Headers): $HEADERS
	  Health of the setup: docker exec $MX mtactl doctor
	  Metrics:             http://127.0.0.1:9154/metrics
	  Mail clients:        127.0.0.1 ports 25 (SMTP), 587 (submission), 143 (IMAP), all STARTTLS;
	                       certificate for mx1.example.com by the demo's CA:
	                       docker cp mta-demo-webmail:/etc/webmail-tls/ca.crt demo-ca.crt
	  Logs:                docker logs -f $MX
	  Stop and remove it:  make stop
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
