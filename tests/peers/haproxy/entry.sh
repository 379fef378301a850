#!/bin/sh
# Writes the configuration the test passed (HAPROXY_CONFIG) and runs
# haproxy in the foreground; a configuration haproxy refuses stops the
# container with haproxy's own message.
set -eu
: "${HAPROXY_CONFIG:?HAPROXY_CONFIG holds the haproxy configuration}"
printf '%s\n' "$HAPROXY_CONFIG" >/etc/haproxy/haproxy.cfg
haproxy -c -q -f /etc/haproxy/haproxy.cfg
exec haproxy -W -db -f /etc/haproxy/haproxy.cfg
