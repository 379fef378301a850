"""What the demo's tests share: names, a bounded wait, mail over IMAP."""

import functools
import imaplib
import os
import ssl
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGE = os.environ.get("IMAGE") or "mta"
MX = "mta-demo-mx"
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


def wait_for(what, fn, seconds, interval=1.0):
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    pytest.fail("%s: not within %d s (last: %r)" % (what, seconds, last))


@functools.lru_cache(maxsize=None)
def demo_ca():
    """The demo's CA certificate (made by demo/setup.sh; the webmail has it)."""
    return subprocess.run(["docker", "exec", "mta-demo-webmail", "cat", "/etc/webmail-tls/ca.crt"],
                          capture_output=True, text=True, check=True, timeout=30).stdout


def imap(timeout=30):
    """An IMAP connection to the demo after STARTTLS, the certificate
    verified against the demo's CA (it names mx1.example.com, not 127.0.0.1)."""
    ctx = ssl.create_default_context(cadata=demo_ca())
    ctx.check_hostname = False
    m = imaplib.IMAP4("127.0.0.1", 143, timeout=timeout)
    m.starttls(ssl_context=ctx)
    return m


def imap_subjects(user="demo"):
    """The Subject lines in user's INBOX (password = user name), over IMAP."""
    with imap() as m:
        typ, _ = m.login(user, user)
        assert typ == "OK"
        typ, data = m.select("INBOX", readonly=True)
        assert typ == "OK", data
        typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])") \
            if int(data[0]) else ("OK", [])
        assert typ == "OK"
        return b"".join(part[1] for part in data if isinstance(part, tuple)).decode("utf-8", "replace")


def imap_search(user, text):
    """The numbers of the messages in user's INBOX that contain text."""
    with imap() as m:
        m.login(user, user)
        m.select("INBOX", readonly=True)
        typ, data = m.search(None, "TEXT", '"%s"' % text)
        assert typ == "OK", data
        return data[0].split()


def amavis_ls():
    p = subprocess.run(["docker", "exec", MX, "amavis-ls"], capture_output=True, text=True,
                       timeout=60)
    return p.stdout + p.stderr
