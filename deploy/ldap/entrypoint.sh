#!/bin/sh
# First start of the directory: sets cn=admin's password from
# LDAP_ADMIN_PASSWORD_FILE and loads LDAP_USERS_LDIF into the empty database,
# then runs slapd in the foreground. "First" is per database: the marker lives
# in /var/lib/ldap, so a container on a kept volume starts as it was left.
set -eu

conf=/etc/ldap/slapd.d
marker=/var/lib/ldap/.loaded-by-entrypoint
users=${LDAP_USERS_LDIF:-/etc/ldap/users.ldif}
pwfile=${LDAP_ADMIN_PASSWORD_FILE:-}

if [ ! -e "$marker" ]; then
	if [ -z "$pwfile" ] || [ ! -s "$pwfile" ]; then
		echo "ldap: LDAP_ADMIN_PASSWORD_FILE=\"$pwfile\": expected a non-empty file (a Docker secret)" >&2
		exit 100
	fi
	# slappasswd -T hashes the file's bytes as they are: drop one trailing newline.
	pw=$(cat "$pwfile")
	hash=$(slappasswd -s "$pw")
	printf 'dn: olcDatabase={1}mdb,cn=config\nchangetype: modify\nreplace: olcRootPW\nolcRootPW: %s\n' "$hash" |
		slapmodify -q -n 0 -F "$conf"
	if [ -s "$users" ]; then
		slapadd -q -n 1 -F "$conf" -l "$users"
		echo "ldap: loaded $(grep -c '^dn:' "$users") entries from $users"
	else
		echo "ldap: LDAP_USERS_LDIF=\"$users\" is missing or empty: no users loaded"
	fi
	chown -R openldap:openldap "$conf" /var/lib/ldap
	touch "$marker"
fi
exec /usr/sbin/slapd -d 256 -u openldap -g openldap -h "ldap:/// ldapi:///" -F "$conf"
