#!/bin/sh
# Starts the DNS tier from /zones (written by tests/e2e/dnstier.py):
#   /zones/zones        one line per test zone: "<name> signed|unsigned|bogus"
#                       (bogus: signed, but the root's DS names another key)
#   /zones/<name>.zone  its zone file (SOA and NS included)
#   /zones/root.zone    the root zone, delegations included, DS records added here
# Keys are made here with keymgr before knot starts, so the root can carry
# the DS of every signed zone and unbound can trust the root's key.
set -eu

ROOT_ADDR=127.0.0.2     # knot instance 1: the root zone
ZONES_ADDR=127.0.0.3    # knot instance 2: every test zone

knot_conf() {   # $1 instance name, $2 listen address; stdin: zone lines "name file on|off"
	name=$1 addr=$2
	mkdir -p "/var/lib/knot/$name" "/run/knot-$name"
	cat <<CONF
server:
    listen: $addr@53
    rundir: /run/knot-$name
log:
  - target: stderr
    any: notice
database:
    storage: /var/lib/knot/$name
policy:
  - id: test
    manual: on
    algorithm: ecdsap256sha256
    single-type-signing: on
    dnskey-ttl: 60
    zone-max-ttl: 60
    rrsig-lifetime: 30d
    rrsig-refresh: 7d
template:
  - id: default
    storage: /zones
    semantic-checks: off
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    dnssec-policy: test
zone:
CONF
	while read -r zone file signing; do
		printf '  - domain: "%s"\n    file: "%s"\n    dnssec-signing: %s\n' "$zone" "$file" "$signing"
	done
}

newkey() {  # $1 conf, $2 zone: one CSK (KSK+ZSK), printed DS or DNSKEY by the caller
	keymgr -c "$1" "$2" generate algorithm=ecdsap256sha256 ksk=yes zsk=yes >/dev/null
}

while read -r zone kind; do
	[ -n "$zone" ] || continue
	signing=off
	[ "$kind" = unsigned ] || signing=on
	echo "$zone $zone.zone $signing"
done </zones/zones | knot_conf zones "$ZONES_ADDR" >/etc/knot/zones.conf
echo ". root.zone on" | knot_conf root "$ROOT_ADDR" >/etc/knot/root.conf

while read -r zone kind; do
	[ "$kind" = unsigned ] && continue
	newkey /etc/knot/zones.conf "$zone"
	ds=$(keymgr -c /etc/knot/zones.conf "$zone" ds | grep ' DS .* 2 ')
	if [ "$kind" = bogus ]; then    # the digest's last digit changed
		last=$(printf %s "$ds" | tail -c 1)
		new=0
		[ "$last" = 0 ] && new=1
		ds="$(printf %s "$ds" | sed 's/.$//')$new"
	fi
	echo "$ds" >>/zones/root.zone
done </zones/zones
newkey /etc/knot/root.conf .
keymgr -c /etc/knot/root.conf . dnskey >/etc/unbound/test-root.key

cat >/etc/unbound/test.hints <<HINTS
.        60 IN NS a.nic.
a.nic.   60 IN A  $ROOT_ADDR
HINTS
# Not 0.0.0.0: knot holds port 53 of 127.0.0.2 and 127.0.0.3.
cat >/etc/unbound/unbound.conf <<CONF
server:
    interface: 127.0.0.1
    interface: $(hostname -i | cut -d' ' -f1)
    access-control: 0.0.0.0/0 allow
    do-not-query-localhost: no
    do-ip6: no
    username: ""
    chroot: ""
    directory: "/etc/unbound"
    use-syslog: no
    logfile: ""
    verbosity: 1
    val-log-level: 2
    log-servfail: yes
    num-threads: 1
    root-hints: "/etc/unbound/test.hints"
    trust-anchor-file: "/etc/unbound/test-root.key"
    module-config: "validator iterator"
    cache-max-ttl: 60
    cache-max-negative-ttl: 5
    harden-referral-path: no
    qname-minimisation: no
    aggressive-nsec: no
    prefetch: no
    # unbound answers these itself by default (RFC 6761 "test.", the RFC 1918
    # reverse zones of Docker's networks); the tier serves them.
    unblock-lan-zones: yes
    local-zone: "test." nodefault
remote-control:
    control-enable: yes
    control-interface: /run/unbound.ctl
CONF

knotd -c /etc/knot/root.conf &
knotd -c /etc/knot/zones.conf &
# unbound's first queries go to knot: wait (bounded) until both answer.
i=0
until kdig +short +timeout=1 +retry=0 @"$ROOT_ADDR" . SOA >/dev/null 2>&1 &&
      kdig +short +timeout=1 +retry=0 @"$ZONES_ADDR" "$(head -n1 /zones/zones | cut -d' ' -f1)" SOA >/dev/null 2>&1; do
	i=$((i + 1))
	[ "$i" -lt 50 ] || { echo "tier: knot did not answer" >&2; exit 1; }
	sleep 0.2
done
echo "tier: knot up"
exec unbound -d -c /etc/unbound/unbound.conf
