#!/bin/sh
# The demo's one-shot setup (`docker-compose run --rm setup`, demo/demo.sh),
# run in the mail server's image, which has openssl. It makes,
# once, in the volume mounted at /demo:
#   tls/    a CA and the certificate of mx1.example.com it signed: the mail
#           server serves it on 25/143/587; the CA's certificate also goes
#           to /ca, the webmail's volume, which verifies it
#   dkim/   example.com's DKIM key (the server signs with it)
#   dns/    dnsmasq's records for example.com: MX, SPF, DMARC and the DKIM
#           key, so that a signature the server made verifies (dkim=pass)
# and in /var/lib/clamav a ClamAV database with only the EICAR signature, so
# the demo needs no download (CLAMAV_FRESHCLAM=no).
set -eu

umask 022
mkdir -p /demo/tls /demo/dkim /demo/dns

if [ ! -s /demo/tls/mx.crt ]; then
	cd /demo/tls
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=mta demo CA" \
		-keyout ca.key -out ca.crt 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj "/CN=mx1.example.com" \
		-keyout mx.key -out mx.csr 2>/dev/null
	printf 'subjectAltName=DNS:mx1.example.com\nextendedKeyUsage=serverAuth\n' >mx.ext
	openssl x509 -req -in mx.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 \
		-extfile mx.ext -out mx.crt 2>/dev/null
	rm -f mx.csr mx.ext ca.srl ca.key
	cp ca.crt /ca/ca.crt
	chmod 600 mx.key
	echo "setup: made the demo CA and the certificate of mx1.example.com"
fi

key=/demo/dkim/example.com.pem
if [ ! -s "$key" ]; then
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$key" 2>/dev/null
	chmod 600 "$key"
	echo "setup: made the DKIM key of example.com"
fi

# dnsmasq takes a TXT record as comma-separated strings of at most 255
# characters each; the 2048-bit key is longer than one.
pub=$(openssl pkey -in "$key" -pubout -outform DER 2>/dev/null | base64 -w0)
strings=$(printf 'v=DKIM1; k=rsa; p=%s' "$pub" | fold -w 200 | sed 's/.*/"&"/' | paste -sd, -)
cat >/demo/dns/example.com.conf <<EOF
# Written by demo/setup.sh: example.com as the demo's mail server sees it.
mx-host=example.com,mx1.example.com,10
txt-record=example.com,"v=spf1 mx -all"
txt-record=_dmarc.example.com,"v=DMARC1; p=quarantine"
txt-record=default._domainkey.example.com,$strings
EOF

if [ ! -s /var/lib/clamav/eicar.hdb ]; then
	# What `sigtool --md5` writes (MD5:SIZE:NAME), made without it: the
	# rspamd image has clamd but not sigtool.
	# shellcheck disable=SC2016 # the test string itself, no expansion
	printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' >/tmp/eicar.com
	printf '%s:%s:Eicar-Test-Signature\n' "$(md5sum </tmp/eicar.com | cut -d' ' -f1)" \
		"$(wc -c </tmp/eicar.com)" >/var/lib/clamav/eicar.hdb
	chown -R clamav:clamav /var/lib/clamav
	echo "setup: made the ClamAV test database (EICAR only)"
fi
