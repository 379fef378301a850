#!/bin/sh
# Copies the resolver and hosts files into the chroot (as Debian's service
# unit does) and runs Postfix in the foreground.
set -e
/usr/lib/postfix/configure-instance.sh -
exec /usr/sbin/postfix start-fg
