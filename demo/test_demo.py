"""End-to-end test of the demo (`make demo`, demo/demo.mk): brings it up, then
   - a mail to demo@example.com over SMTP on 127.0.0.1:25 can be read over
     IMAP on 127.0.0.1:143 as user `demo` (password checked against LDAP);
   - a GTUBE mail is discarded into the quarantine: amavis-ls lists it and it
     is not in the mailbox;
   - a mail with the EICAR test file attached is quarantined the same way;
and takes the demo down (`make demo-down`) at the end, also on failure.

    /usr/bin/python3 -m pytest -v demo/test_demo.py     (or: make demo-test)

Needs Docker, the image ${IMAGE:-mta}:full, and 127.0.0.1:25 and :143 free.
DEMO_MAKE overrides the make command (default: `make` when the top Makefile
knows the demo target, else `make -f demo/demo.mk`). Standard library only.
"""

import imaplib
import os
import smtplib
import subprocess
import time
import uuid
from email.message import EmailMessage

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGE = os.environ.get("IMAGE") or "mta"
MX = "mta-demo-mx"
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
EICAR = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


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
    p = subprocess.run(make_cmd() + [target], cwd=ROOT, capture_output=True, text=True,
                       timeout=timeout)
    return p


def wait_for(what, fn, seconds, interval=1.0):
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    pytest.fail("%s: not within %d s (last: %r)" % (what, seconds, last))


@pytest.fixture(scope="module")
def demo():
    p = make("demo", timeout=900)
    try:
        assert p.returncode == 0, "make demo failed:\n%s\n%s" % (p.stdout, p.stderr)
        assert "swaks --server 127.0.0.1" in p.stdout, p.stdout
        # Mail is only filtered once amavis is up: wait for the health check.
        wait_for("%s healthy" % MX, lambda: subprocess.run(
            ["docker", "inspect", "-f", "{{.State.Health.Status}}", MX],
            capture_output=True, text=True).stdout.strip() == "healthy", 240)
        yield
    finally:
        d = make("demo-down", timeout=300)
        assert d.returncode == 0, "make demo-down failed:\n%s\n%s" % (d.stdout, d.stderr)
        left = subprocess.run(["docker", "ps", "-aq", "--filter", "name=^mta-demo-"],
                              capture_output=True, text=True).stdout.split()
        assert not left, "containers left after make demo-down: %s" % left


def send(subject, body="Hello from the demo test.\n", attachment=None):
    m = EmailMessage()
    m["From"] = "tester@client.test"
    m["To"] = "demo@example.com"
    m["Subject"] = subject
    m["Message-ID"] = "<%s@client.test>" % uuid.uuid4().hex
    m.set_content(body)
    if attachment is not None:
        m.add_attachment(attachment, maintype="application", subtype="octet-stream",
                         filename="eicar.com")
    with smtplib.SMTP("127.0.0.1", 25, timeout=60) as s:
        s.send_message(m)


def imap_subjects():
    with imaplib.IMAP4("127.0.0.1", 143, timeout=30) as m:
        typ, _ = m.login("demo", "demo")
        assert typ == "OK"
        typ, data = m.select("INBOX", readonly=True)
        assert typ == "OK", data
        typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])") \
            if int(data[0]) else ("OK", [])
        assert typ == "OK"
        return b"".join(part[1] for part in data if isinstance(part, tuple)).decode("utf-8", "replace")


def amavis_ls():
    p = subprocess.run(["docker", "exec", MX, "amavis-ls"], capture_output=True, text=True,
                       timeout=60)
    return p.stdout + p.stderr


def test_imap_login_wrong_password_refused(demo):
    with imaplib.IMAP4("127.0.0.1", 143, timeout=30) as m:
        with pytest.raises(imaplib.IMAP4.error):
            m.login("demo", "not-the-password")


def test_mail_arrives_over_imap(demo):
    subject = "demo-test mail %s" % uuid.uuid4().hex[:8]
    send(subject)
    found = wait_for("the mail in demo's INBOX over IMAP",
                     lambda: subject in imap_subjects(), 120)
    assert found


def test_gtube_is_quarantined_not_delivered(demo):
    subject = "demo-test gtube %s" % uuid.uuid4().hex[:8]
    send(subject, body=GTUBE + "\n")
    listing = wait_for("the GTUBE mail in amavis-ls",
                       lambda: (lambda out: out if subject in out else None)(amavis_ls()), 120)
    assert "spam" in listing.lower() or subject in listing
    # A clean mail sent after it arrives, so the GTUBE one had its chance.
    marker = "demo-test after-gtube %s" % uuid.uuid4().hex[:8]
    send(marker)
    wait_for("the mail sent after GTUBE", lambda: marker in imap_subjects(), 120)
    assert subject not in imap_subjects()


def test_eicar_is_quarantined_not_delivered(demo):
    subject = "demo-test eicar %s" % uuid.uuid4().hex[:8]
    send(subject, attachment=EICAR.encode())
    wait_for("the EICAR mail in amavis-ls",
             lambda: (lambda out: out if subject in out else None)(amavis_ls()), 120)
    marker = "demo-test after-eicar %s" % uuid.uuid4().hex[:8]
    send(marker)
    wait_for("the mail sent after EICAR", lambda: marker in imap_subjects(), 120)
    assert subject not in imap_subjects()
