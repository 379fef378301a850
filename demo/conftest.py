"""The demo, brought up once for all the tests in demo/ (`make demo`, then
`make demo-down` at the end, also on failure): test_demo.py talks SMTP and
IMAP to it, test_webmail.py drives its webmail in a real browser.

Needs Docker, the image ${IMAGE:-mta}:full and the demo's ports on 127.0.0.1
free. DEMO_MAKE overrides the make command (default: `make` when the top
Makefile knows the demo target, else `make -f demo/demo.mk`).
"""

import os
import subprocess

import pytest

from demolib import IMAGE, MX, ROOT, wait_for


def make_cmd():
    if os.environ.get("DEMO_MAKE"):
        return os.environ["DEMO_MAKE"].split()
    top = subprocess.run(["make", "-n", "-s", "demo-down"], cwd=ROOT, capture_output=True)
    cmd = ["make", "--no-print-directory"] if top.returncode == 0 else \
        ["make", "--no-print-directory", "-f", "demo/demo.mk"]
    have_image = subprocess.run(["docker", "image", "inspect", IMAGE + ":full"],
                                capture_output=True).returncode == 0
    return cmd + (["DEMO_DEPS="] if have_image else []) + ["IMAGE=" + IMAGE]


def make(target, timeout):
    return subprocess.run(make_cmd() + [target], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="session")
def demo():
    p = make("demo", timeout=900)
    try:
        assert p.returncode == 0, "make demo failed:\n%s\n%s" % (p.stdout, p.stderr)
        # what a person reads: where to go, who to be, what to try
        for words in ("http://127.0.0.1:8008/", "demo / demo", "alice / alice", "amavis-ls",
                      "mtactl doctor", "http://127.0.0.1:9154/metrics", "make stop"):
            assert words in p.stdout, "make demo did not print %r:\n%s" % (words, p.stdout)
        # Mail is only filtered once amavis is up: wait for the health check.
        wait_for("%s healthy" % MX, lambda: subprocess.run(
            ["docker", "inspect", "-f", "{{.State.Health.Status}}", MX],
            capture_output=True, text=True).stdout.strip() == "healthy", 240)
        yield p.stdout
    finally:
        d = make("demo-down", timeout=300)
        assert d.returncode == 0, "make demo-down failed:\n%s\n%s" % (d.stdout, d.stderr)
        for kind, listing in (("containers", ["ps", "-aq", "--filter", "name=^mta-demo"]),
                              ("volumes", ["volume", "ls", "-q", "--filter", "name=^mta-demo_"]),
                              ("networks", ["network", "ls", "-q", "--filter", "name=^mta-demo_"])):
            left = subprocess.run(["docker"] + listing, capture_output=True, text=True).stdout.split()
            assert not left, "%s left after make demo-down: %s" % (kind, left)
