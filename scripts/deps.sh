#!/bin/sh
# Installs what building and testing need on a Debian machine, and starts
# dockerd when no Docker engine answers. Shared by `make deps` and .ci/run,
# so a green CI run cannot hide a step that a fresh machine lacks.
# Does nothing that is already done: a second run costs a few checks.
set -eu

# Debian packages the host needs: Docker and the base-image bootstrap, the C
# toolchain and unit-test framework, the end-to-end clients and linters;
# kubectl's `kubectl kustomize` (Debian's kubernetes-client) renders deploy/kubernetes offline
# and python3-yaml reads the result (tests/e2e/test_kubernetes.py); headless
# Chromium driven by Selenium is the demo's browser test (demo/test_webmail.py).
packages="docker.io debootstrap make gcc clang libc6-dev pkg-config libcmocka-dev
	libclang-rt-14-dev python3 python3-pytest python3-pytest-xdist python3-dkim python3-authres
	swaks openssl shellcheck libssl-dev libjansson-dev libspf2-dev libmicrohttpd-dev nmap testssl.sh
	python3-yaml chromium chromium-driver python3-selenium fonts-dejavu-core"

# A kubectl that some other package installed (a cloud SDK's) conflicts with
# Debian's file; any kubectl with `kustomize` serves.
if ! kubectl kustomize --help >/dev/null 2>&1; then
	packages="$packages kubernetes-client"
fi

missing=""
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	[ "$(id -u)" = 0 ] || { echo "deps: missing packages:$missing (run as root to install)" >&2; exit 1; }
	echo "deps: installing$missing"
	apt-get update -qq
	# shellcheck disable=SC2086 # the list is meant to split into words
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
	command -v dockerd >/dev/null || { echo "deps: dockerd not found" >&2; exit 1; }
	echo "deps: starting dockerd"
	mkdir -p /var/log
	nohup dockerd >/var/log/dockerd.log 2>&1 &
	i=0
	until docker info >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -le 60 ] || { tail -n 20 /var/log/dockerd.log >&2; echo "deps: dockerd did not start in 60 s" >&2; exit 1; }
		sleep 1
	done
	echo "deps: dockerd is up"
fi
