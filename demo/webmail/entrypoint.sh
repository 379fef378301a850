#!/bin/sh
# Start of the webmail container: check the CA the TLS of IMAP and SMTP is
# verified with, make this container's des_key once, run Apache in the
# foreground as the container's main process.
set -eu

ca=/etc/webmail-tls/ca.crt
if [ ! -s "$ca" ]; then
    echo "webmail: $ca missing: mount the demo's CA certificate there (it verifies the mail server's TLS)" >&2
    exit 1
fi

# des_key encrypts the IMAP password in the session: random per container
# (18 bytes are 24 characters of base64), kept across restarts.
key=/etc/roundcube/des_key
if [ ! -s "$key" ]; then
    umask 027
    head -c 18 /dev/urandom | base64 >"$key.tmp"
    chgrp www-data "$key.tmp"
    mv "$key.tmp" "$key"
fi

# What apache2ctl would do, but exec'd so Apache is PID 1 and gets docker
# stop's signal itself: envvars names the user and run directories; a pid
# file left by a killed container would only draw a warning.
# envvars reads unset variables (APACHE_CONFDIR): not under set -u.
set +u
# shellcheck source=/dev/null
. /etc/apache2/envvars
set -u
mkdir -p "$APACHE_RUN_DIR" "$APACHE_LOCK_DIR"
rm -f "$APACHE_PID_FILE"
exec /usr/sbin/apache2 -D FOREGROUND
