#!/bin/sh
# Textbook start: clamd, then amavisd (both daemonize), then Postfix in the
# foreground. The signature database is whatever /var/lib/clamav holds.
set -e
# Debian's postinst would have written it; amavis takes its domain from it.
[ -s /etc/mailname ] || hostname >/etc/mailname
mkdir -p /run/clamav /run/amavis
chown clamav:clamav /run/clamav
chown amavis:amavis /run/amavis
/usr/sbin/clamd
/usr/sbin/amavisd
/usr/lib/postfix/configure-instance.sh -
exec /usr/sbin/postfix start-fg
