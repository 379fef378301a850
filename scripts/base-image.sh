#!/bin/sh
# Makes the Debian base image the Dockerfile builds on.
# Tries the registry first; where none is reachable it bootstraps a minimal
# bookworm with debootstrap from the mirror this machine's apt already uses
# (read here at run time, never written down) and imports it.
set -eu

name=${1:-debian:bookworm-slim}

if docker image inspect "$name" >/dev/null 2>&1; then
	echo "base-image: $name is present"
	exit 0
fi

echo "base-image: trying docker pull $name"
if timeout 60 docker pull "$name" >/dev/null 2>&1; then
	echo "base-image: pulled $name"
	exit 0
fi

# The first http(s) URI of a source that carries the main archive
# (deb822 "URIs:" lines first, then one-line "deb" entries).
mirror=$(
	{
		cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs:[[:space:]]*//p' | tr ' ' '\n'
		cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
			sed -n 's/^deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]\{1,\}\)\{0,1\}\([^[:space:]]*\).*/\2/p'
	} | grep -E '^https?://' | grep -v -- '-security' | head -n 1
)
if [ -z "$mirror" ]; then
	echo "base-image: no pull and no http mirror in the apt sources; cannot make $name" >&2
	exit 1
fi
command -v debootstrap >/dev/null || {
	echo "base-image: debootstrap is missing (apt-get install debootstrap)" >&2
	exit 1
}

root=$(mktemp -d /tmp/base-image.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "base-image: debootstrap --variant=minbase bookworm from the machine's apt mirror (a few minutes)"
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 || {
	tail -n 20 "$root.log" >&2
	echo "base-image: debootstrap failed, log above" >&2
	exit 1
}
rm -f "$root.log"
# Slim like the official -slim image: no apt lists, caches, docs or locales.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
	"$root"/usr/share/doc/* \
	"$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/*
echo "base-image: importing as $name"
tar -C "$root" -c . | docker import - "$name" >/dev/null
echo "base-image: $name ready"
