# The demo: Roundcube on http://127.0.0.1:8008/ in front of mta:full for
# example.com with LDAP users; SMTP 25, submission 587, IMAP 143 and metrics
# 9154 on 127.0.0.1 (docker-compose, demo/docker-compose.yml).
# Included from the top Makefile (paths are relative to the project root):
#   include demo/demo.mk
#   make demo        build what is missing, start, wait until SMTP, IMAP and
#                    the webmail answer, print what to try
#   make demo-down   remove the demo's containers, network and volumes
#   make demo-test   demo/: up, mail over IMAP, GTUBE and EICAR quarantined,
#                    the webmail in headless Chromium, down (the ports above
#                    on 127.0.0.1 must be free)
# DEMO_IMAGE picks the server image (full); DEMO_DEPS are the prerequisites
# of `demo` (that image; empty when the fragment is used alone:
# make -f demo/demo.mk demo DEMO_DEPS=).

IMAGE      ?= mta
DEMO_IMAGE ?= full
DEMO_DEPS  ?= $(DEMO_IMAGE)
DEMO_PYTEST ?= /usr/bin/python3 -m pytest

.PHONY: demo demo-down demo-test demo-compose

# Debian's docker-compose (v1) when it is missing.
demo-compose:
	@command -v docker-compose >/dev/null 2>&1 || { \
		echo "demo: installing docker-compose (Debian package)"; \
		{ DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-compose >/dev/null 2>&1 || \
		  { apt-get update -q >/dev/null && \
		    DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-compose >/dev/null; }; } || \
		{ echo "demo: could not install docker-compose (apt-get install docker-compose)" >&2; exit 1; }; }

demo: demo-compose $(DEMO_DEPS)
	@IMAGE=$(IMAGE) DEMO_IMAGE=$(DEMO_IMAGE) demo/demo.sh up

demo-down: demo-compose
	@IMAGE=$(IMAGE) demo/demo.sh down

# (plain `make`, not $(MAKE): with $(MAKE) even `make -n demo-test` would run it)
demo-test: demo-compose $(DEMO_DEPS)
	IMAGE=$(IMAGE) DEMO_MAKE="make --no-print-directory -f $(firstword $(MAKEFILE_LIST)) DEMO_DEPS=" \
		$(DEMO_PYTEST) -v demo/
