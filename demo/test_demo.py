"""The demo's mail over plain protocols (the demo fixture, conftest.py):
   - a mail to demo@example.com over SMTP on 127.0.0.1:25 can be read over
     IMAP on 127.0.0.1:143 as user `demo` (password checked against LDAP);
   - a GTUBE mail is discarded into the quarantine: amavis-ls lists it and it
     is not in the mailbox;
   - a mail with the EICAR test file attached is quarantined the same way;
   - the welcome message waits in each inbox.

    /usr/bin/python3 -m pytest -v demo/     (or: make demo-test)
"""

import imaplib
import smtplib
import uuid
from email.message import EmailMessage

import pytest

from demolib import GTUBE, amavis_ls, imap, imap_subjects, wait_for

EICAR = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


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


def test_imap_login_wrong_password_refused(demo):
    with imap() as m:
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
            m.login("demo", "not-the-password")


def test_welcome_message_in_each_inbox(demo):
    for user in ("demo", "alice"):
        wait_for("the welcome message in %s's INBOX" % user,
                 lambda: "Welcome to the mta demo, %s" % user in imap_subjects(user), 120)


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
