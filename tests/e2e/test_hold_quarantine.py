"""The hold queue as the quarantine (what the rspamd image uses), on the `base`
image: no rspamd is needed to put a message on hold. A Postfix header_checks
rule holds every message carrying X-Quarantine, which the test writes the way
rspamd's milter would ("X-Quarantine: <kind> <destiny> <detail>"). Then:
`mtactl quarantine ls` lists it in amavis-ls's columns, `release` delivers it
to its recipient, and the quarantine-bounce service (started by hand: the base
image does not supervise it) sends exactly one DSN to the sender of a D_BOUNCE
message, none for D_DISCARD or a null sender, and none again after a restart.
"""
import re
import time

from dockerlib import docker, file_text, send_mail, wait_for, wait_in_file

SENDER = "sender@example.com"
RCPT = "rcpt@example.com"
ENV = {"MAIL_BOXES": "%s %s" % (SENDER, RCPT)}
SENDER_BOX = "/var/mail/" + SENDER
RCPT_BOX = "/var/mail/" + RCPT
HOLD_RULE = "/etc/postfix/e2e-hold.regexp"
MARKERS = "/srv/var/lib/mtactl/quarantine-bounced"
BODY_SECRET = "X5O-body-that-must-never-leave-the-quarantine"


def hold_quarantined(c):
    """What rspamd's milter does, done by Postfix: X-Quarantine -> hold."""
    c.exec(["sh", "-c", "echo '/^X-Quarantine: / HOLD quarantined' > %s && "
            "postconf -e header_checks=regexp:%s && postfix reload" % (HOLD_RULE, HOLD_RULE)])


def send_quarantined(c, subject, xq, mail_from=SENDER):
    r = send_mail(c.ip, mail_from=mail_from, rcpts=[RCPT], subject=subject,
                  body="%s\n" % BODY_SECRET, headers={"X-Quarantine": xq})
    assert r["error"] is None and r["delivered"], "SMTP failed: %r" % (r,)


def ls(c, cmd=("mtactl", "quarantine", "ls")):
    return c.exec(list(cmd)).stdout


def held_rows(c, n, timeout=30):
    """Waits until the listing says n messages; returns {subject: row}."""
    out = [""]

    def check():
        out[0] = ls(c)
        return out[0].rstrip().endswith("%d message%s in hold queue" % (n, "" if n == 1 else "s"))
    try:
        wait_for(check, timeout=timeout, interval=1, what="%d held messages" % n)
    except AssertionError as e:
        raise AssertionError("%s; listing:\n%s\nlogs:\n%s" % (e, out[0], c.logs()[-3000:]))
    return out[0]


def row_of(listing, subject):
    rows = [line for line in listing.splitlines() if subject in line]
    assert len(rows) == 1, "one row for %r in:\n%s" % (subject, listing)
    return rows[0]


def held_id(row):
    return row.split()[-1]


def dsn_count(c):
    return len(re.findall(r"^From MAILER-DAEMON ", file_text(c, SENDER_BOX), re.M))


def dsn_texts(c):
    box = file_text(c, SENDER_BOX)
    return [m for m in re.split(r"^(?=From )", box, flags=re.M) if m.startswith("From MAILER-DAEMON ")]


def test_ls_columns_and_release(mta):
    c = mta("base", env=ENV)
    hold_quarantined(c)
    send_quarantined(c, "held for release", "virus D_DISCARD CLAM_VIRUS(Eicar-Signature)")
    listing = held_rows(c, 1)
    head = listing.splitlines()[0].split()
    assert head == ["DATE", "SIZE", "SENDER", "RECIPIENTS", "SUBJECT", "REASON", "FILE"], listing
    row = row_of(listing, "held for release")
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d +\d+  <sender@example\.com> +<rcpt@example\.com> +"
                    r"held for release +virus CLAM_VIRUS\(Eicar-S [0-9A-F]+$", row), row  # 24 wide, as in full
    qid = held_id(row)
    assert c.file_exists("/var/spool/postfix/hold/" + qid)
    assert ls(c, ("mtactl", "amavis-ls")) == listing  # the old name, the same listing
    assert "held for release" not in file_text(c, RCPT_BOX)

    p = c.exec(["mtactl", "quarantine", "release", qid], check=False)
    assert p.returncode == 0 and p.stdout.strip() == "%s: released, delivering now" % qid, p
    box = wait_in_file(c, RCPT_BOX, "Subject: held for release", timeout=30)
    assert BODY_SECRET in box
    held_rows(c, 0)

    # released already, or never there: a clear error and exit 1
    for bad in (qid, "NOSUCHID", "../etc"):
        p = c.exec(["mtactl", "quarantine", "release", bad], check=False)
        assert p.returncode == 1 and "no such message in the hold queue" in p.stderr, p
    p = c.exec(["mtactl", "quarantine", "release"], check=False)
    assert p.returncode == 100, p
    assert dsn_count(c) == 0  # no bounce service here, and D_DISCARD anyway


def start_bouncer(c):
    """The base image does not supervise quarantine-bounce (the rspamd stage
    adds its service line): run it by hand, as a detached exec."""
    docker("exec", "-d", c.name, "mtactl", "quarantine-bounce")


def test_bounce_once_also_after_restart(mta, volume):
    vol = volume()
    c = mta("base", env=ENV, volumes={vol: "/srv"})
    hold_quarantined(c)
    start_bouncer(c)
    send_quarantined(c, "bounce me", "virus D_BOUNCE CLAM_VIRUS(Eicar-Signature)")
    send_quarantined(c, "discard me", "spam D_DISCARD score=1003.2")
    send_quarantined(c, "bounce of a bounce", "virus D_BOUNCE CLAM_VIRUS(Eicar-Signature)", mail_from="")
    listing = held_rows(c, 3)
    wait_for(lambda: dsn_count(c) >= 1, timeout=30, interval=1, what="a DSN at the sender")
    # the two messages that get none: give the service time to (wrongly) send them
    wait_for(lambda: len(c.exec(["ls", MARKERS]).stdout.split()) == 3, timeout=20, interval=1,
             what="all three held messages examined")
    time.sleep(3)
    dsns = dsn_texts(c)
    assert len(dsns) == 1, "expected one DSN, got:\n%s" % "\n".join(dsns)
    d = dsns[0]
    for text in ("\nReturn-Path: <>\n", "\nFrom: Mail Delivery System <MAILER-DAEMON@mx1.example.com>\n",
                 "\nAuto-Submitted: auto-replied\n",
                 "Content-Type: multipart/report; report-type=delivery-status;",
                 "\nContent-Type: message/delivery-status\n",
                 "\nReporting-MTA: dns; mx1.example.com\n",
                 "\nFinal-Recipient: rfc822; %s\nAction: failed\nStatus: 5.7.1\n" % RCPT,
                 "Diagnostic-Code: smtp; 554 5.7.1 Message quarantined: virus CLAM_VIRUS(Eicar-Signature)",
                 "a virus was found in it",
                 "\nContent-Type: text/rfc822-headers\n",
                 "\nSubject: bounce me\n",
                 "\nX-Quarantine: virus D_BOUNCE CLAM_VIRUS(Eicar-Signature)\n"):
        assert text in d, "%r missing in the DSN:\n%s" % (text, d)
    assert BODY_SECRET not in d, d
    assert "discard me" not in d and "bounce of a bounce" not in d
    assert "\nArrival-Date: " in d
    bounced = held_id(row_of(listing, "bounce me"))
    assert c.read_file("%s/%s" % (MARKERS, bounced)) == "DSN sent\n"
    # postqueue -j calls the null sender MAILER-DAEMON: no DSN to that either
    assert "<>" in row_of(listing, "bounce of a bounce")
    assert c.read_file("%s/%s" % (MARKERS, held_id(row_of(listing, "bounce of a bounce")))) == \
        "null sender: no DSN\n"
    assert c.read_file("%s/%s" % (MARKERS, held_id(row_of(listing, "discard me")))) == \
        "not D_BOUNCE: no DSN\n"
    # the DSN itself was delivered, not held (its attached headers carry X-Quarantine)
    assert "bounce me" in listing and ls(c).rstrip().endswith("3 messages in hold queue")

    # A restart (same volume): the service starts again and rescans; nothing
    # is sent twice. A new D_BOUNCE message shows it is running and scanned.
    c.restart()
    start_bouncer(c)
    send_quarantined(c, "bounce me too", "banned D_BOUNCE invoice.exe")
    wait_for(lambda: dsn_count(c) >= 2, timeout=30, interval=1, what="the second DSN")
    time.sleep(3)
    dsns = dsn_texts(c)
    assert len(dsns) == 2, "expected two DSNs, got:\n%s" % "\n".join(dsns)
    assert "\nSubject: bounce me too\n" in dsns[1] and "attachment of a banned type" in dsns[1]
    assert "\nSubject: bounce me\n" not in dsns[1]

    # A released message's marker goes.
    p = c.exec(["mtactl", "quarantine", "release", bounced], check=False)
    assert p.returncode == 0, p
    wait_for(lambda: not c.file_exists("%s/%s" % (MARKERS, bounced)), timeout=20, interval=1,
             what="the marker of the released message removed")
    wait_in_file(c, RCPT_BOX, "Subject: bounce me", timeout=30)
    assert dsn_count(c) == 2
    logs = c.logs()
    assert "required alias not found" not in logs, logs  # nothing went to mailer-daemon
