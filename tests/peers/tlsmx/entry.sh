#!/bin/sh
# Starts the peer in the role given as $1 (see the Dockerfile).
set -eu
case "${1:-mx}" in
mx)
	mkdir -p /var/mail/vhosts
	chown postfix: /var/mail/vhosts
	postconf -e "myhostname=$(hostname)" "mydestination=localhost" \
		"virtual_mailbox_domains=${DOMAINS:?DOMAINS: the domains to accept}" \
		"virtual_mailbox_base=/var/mail/vhosts" "virtual_mailbox_maps=static:all" \
		"virtual_uid_maps=static:$(id -u postfix)" "virtual_gid_maps=static:$(id -g postfix)" \
		"smtpd_tls_cert_file=/certs/mx.pem" "smtpd_tls_key_file=/certs/mx.key" \
		"smtpd_tls_security_level=may" "smtpd_tls_received_header=yes" "smtpd_tls_loglevel=1" \
		"mynetworks=127.0.0.0/8" "smtpd_relay_restrictions=reject_unauth_destination" \
		"maillog_file=/dev/stdout" "smtp_dns_support_level=disabled" \
		"smtpd_peername_lookup=no" "compatibility_level=3.6"
	exec postfix start-fg
	;;
https)
	exec python3 -u /usr/local/bin/https.py
	;;
*)
	echo "entry.sh: unknown role $1 (mx or https)" >&2
	exit 100
	;;
esac
