"""End-to-end tests of the `full` image: amavis with SpamAssassin and ClamAV
(destinies, quarantine, release), DKIM signing and verification, SPF at RCPT
time, kopano-spamd learning, offline delivery, bad input (PostSRSd: test_field.py).

Peers (tests/e2e/fullpeers.py): one dnsmasq per module (image mta-test-dns,
tests/peers/dns) serving the SPF and DKIM records of the sender domains below
and failing every other name at once; one relay sink; a volume with a ClamAV
database that knows only EICAR. Every full server is started with
`--dns <dnsmasq>`, so SpamAssassin's DNSBL and Razor lookups never leave the
network and fail fast.

Three servers are shared by the tests of this module (started together, each
checked for readiness on first use by delivering a clean probe message):

  A  default destinies (spam D_PASS, virus and banned D_DISCARD),
     SA_TAG_LEVEL_DEFLT=-99, a generated DKIM key, an alias forwarding to a
     foreign domain, SASL submission, relay to the sink
  B  spam D_BOUNCE, virus D_REJECT, banned D_BOUNCE, DKIM_SELECTOR=sel2 with
     a given DKIM_PRIVATEKEY (base64 body only), a volume on /srv
  C  spam D_DISCARD with SA_KILL_LEVEL_DEFLT=2000, CLAMAV_DAEMON=no,
     DKIM_KEYBITS=1024, default tag level, kopano-spamd directory on tmpfs

Other tests start their own server: offline (no network at all), no ClamAV
database, bad configuration.
"""
import hashlib
import os
import re
import time

import pytest

from dockerlib import send_message, wait_for
from fullpeers import (EICAR, QUARANTINE, SA_DNS_TEST_DOMAINS, Server, dsns_mentioning, submit, amavis_log_for, amavis_ls, assert_accepted,
                       build_message, cat, dkim_record, dkim_sign, dkim_verify, eicar_message,
                       exe_message, find_by_subject, gen_rsa_key,
                       gtube_message, header_values, health, our_auth_results, make_volume, mbox_messages,
                       parse_bind_txt, pem_body, public_b64, quarantine_files, quarantined_for,
                       queue_id, queue_listing, rm_volume, sendmail_in, start_dns,
                       start_full, token, unfold, wait_log, wait_mail, wait_relayed,
                       wait_queue_empty)

BAD_CONFIG_EXIT = 100
INFO = "info@example.com"
BOB = "bob@example.com"                 # a local mailbox used as envelope sender
INFO_MBOX = "/var/mail/" + INFO
BOB_MBOX = "/var/mail/" + BOB
FOREIGN = "someone@foreign.test"
SASL_USER, SASL_PW = "user", "Sub-pw-" + token()
SIGNER_DOMAIN, SIGNER_SELECTOR = "signer.test", "e2e"


# --- module peers and servers ----------------------------------------------------------

@pytest.fixture(scope="module")
def dns(net, net_gateway, signer_key):
    p = start_dns(net, txt={
        "spf-pass.test": "v=spf1 ip4:%s -all" % net_gateway,
        "spf-fail.test": "v=spf1 ip4:192.0.2.1 -all",
        SIGNER_DOMAIN: "v=spf1 ip4:%s -all" % net_gateway,
        "%s._domainkey.%s" % (SIGNER_SELECTOR, SIGNER_DOMAIN): dkim_record(signer_key),
    }, addresses={d: "192.0.2.53" for d in SA_DNS_TEST_DOMAINS})
    try:
        yield p
    finally:
        p.rm()


class Fleet:
    pass


def _common_env(relay):
    return {
        "MAIL_BOXES": "%s %s" % (INFO, BOB),
        "CLAMAV_FRESHCLAM": "no",
        "RELAYHOST": "[%s]:25" % relay.name,
        "SMTP_TLS_SECURITY_LEVEL": "none",
        "SMTPD_SASL_CLIENTAUTH": "%s:{PLAIN}%s" % (SASL_USER, SASL_PW),
    }


@pytest.fixture(scope="module")
def fleet(net, net_gateway, dns, clamdb, relay):
    """Servers A, B and C (see the module docstring), started together."""
    f = Fleet()
    f.given_key = gen_rsa_key()
    f.b_srv = make_volume()
    servers = []
    dns_ip = dns.ip
    try:
        env_a = dict(_common_env(relay), SA_TAG_LEVEL_DEFLT="-99",
                     MAIL_ALIASES="fwd:%s" % FOREIGN)
        f.a = Server("A", lambda: start_full(net, net_gateway, env_a, dns=dns_ip,
                                             volumes={clamdb: "/var/lib/clamav"}, kind="full-a"))
        servers.append(f.a)
        env_b = dict(_common_env(relay), SA_TAG_LEVEL_DEFLT="-99",
                     FINAL_SPAM_DESTINY="D_BOUNCE", FINAL_VIRUS_DESTINY="D_REJECT",
                     FINAL_BANNED_DESTINY="D_BOUNCE", DKIM_SELECTOR="sel2",
                     DKIM_PRIVATEKEY=pem_body(f.given_key))
        f.b = Server("B", lambda: start_full(net, net_gateway, env_b, dns=dns_ip,
                                             volumes={f.b_srv: "/srv", clamdb: "/var/lib/clamav"},
                                             kind="full-b"))
        servers.append(f.b)
        env_c = dict(_common_env(relay), FINAL_SPAM_DESTINY="D_DISCARD",
                     SA_KILL_LEVEL_DEFLT="2000", CLAMAV_DAEMON="no", DKIM_KEYBITS="1024")
        f.c = Server("C", lambda: start_full(net, net_gateway, env_c, dns=dns_ip,
                                             extra_args=["--tmpfs", "/var/lib/kopano/spamd"],
                                             kind="full-c"))
        servers.append(f.c)
        yield f
    finally:
        for s in servers:
            s.rm()
        rm_volume(f.b_srv)


# --- small helpers ----------------------------------------------------------------------







def spam_headers(msg):
    return {k: unfold(msg[k]) for k in ("X-Spam-Flag", "X-Spam-Score", "X-Spam-Status", "X-Spam-Level")
            if msg[k] is not None}


# --- A: scanning of clean mail, SPF ------------------------------------------------------

def test_clean_mail_passes_amavis_spamassassin_clamav(fleet):
    c = fleet.a.get()
    subject = "clean-" + token()
    r = send_message(c.ip, build_message("alice@spf-pass.test", INFO, subject), "alice@spf-pass.test", [INFO])
    assert_accepted(r)
    verdict = amavis_log_for(c, queue_id=queue_id(r))
    assert "Passed CLEAN" in verdict, verdict
    m = wait_mail(c, INFO_MBOX, subject)
    virus = header_values(m, "X-Virus-Scanned")
    assert any(re.search(r"\bamavis at example\.com$", v.strip()) for v in virus), \
        "X-Virus-Scanned should be 'amavis at example.com' (the primary domain): %r\nheaders:\n%s" % (
            virus, "".join("%s: %s\n" % kv for kv in m.items()))
    sh = spam_headers(m)
    assert "X-Spam-Status" in sh and "X-Spam-Score" in sh, \
        "SA_TAG_LEVEL_DEFLT=-99 must always add X-Spam-Status/X-Spam-Score: %r" % sh
    assert sh["X-Spam-Status"].startswith("No,"), sh
    assert re.search(r"tagged_above=-99\b", sh["X-Spam-Status"]), sh
    # it went through amavis (LMTP on its UNIX socket) and back in on 10025
    received = " ".join(unfold(v) for v in header_values(m, "Received"))
    assert re.search(r"\(amavis, unix socket\)\s+with LMTP", received), received
    ar = our_auth_results(m)
    assert len(ar) == 1 and re.search(r"\bspf=pass\b", ar[0]), "Authentication-Results: %r" % ar
    assert not header_values(m, "Received-SPF"), "SPF is in Authentication-Results only"


def test_large_message_to_two_mailboxes_passes_intact(fleet):
    """A message near the default MESSAGE_SIZE_LIMIT (10,240,000) with a binary
    attachment, to two local mailboxes in one transaction, passes amavis's LMTP
    door and arrives byte for byte in both."""
    c = fleet.a.get()
    subject = "large-" + token()
    blob = os.urandom(7 * 1024 * 1024)  # 9.8 MB as base64
    msg = build_message("alice@spf-pass.test", INFO, subject, body="The report is attached.\n",
                        attachment=("report.dat", blob))
    assert 9_000_000 < len(msg) < 10_240_000, len(msg)
    r = send_message(c.ip, msg, "alice@spf-pass.test", [INFO, BOB], timeout=180)
    assert_accepted(r, "a message of %d bytes" % len(msg))
    assert "Passed CLEAN" in amavis_log_for(c, queue_id=queue_id(r)), queue_id(r)
    for mbox in (INFO_MBOX, BOB_MBOX):
        m = wait_mail(c, mbox, subject, timeout=120)
        got = [p.get_payload(decode=True) for p in m.walk() if p.get_filename() == "report.dat"]
        assert got and hashlib.sha256(got[0]).digest() == hashlib.sha256(blob).digest(), \
            "%s: the attachment changed on the way (%d parts named report.dat)" % (mbox, len(got))


def test_spf_fail_rejected_at_rcpt_pass_and_exemptions(fleet):
    c = fleet.a.get()
    # a record that excludes the client: 5xx at RCPT
    subject = "spf-fail-" + token()
    r = send_message(c.ip, build_message("mallory@spf-fail.test", INFO, subject),
                     "mallory@spf-fail.test", [INFO])
    assert r["mail"] and r["mail"][0] == 250, r
    code, text = r["rcpt"][INFO]
    assert 500 <= code < 600 and "SPF" in text, "RCPT from an SPF-failing sender: %s %s" % (code, text)
    assert "5.7.23" in text or code == 550, (code, text)
    # a record that allows the client: accepted, spf=pass in Authentication-Results
    subject2 = "spf-pass-" + token()
    r = send_message(c.ip, build_message("alice@spf-pass.test", INFO, subject2), "alice@spf-pass.test", [INFO])
    assert_accepted(r)
    m = wait_mail(c, INFO_MBOX, subject2)
    ar = our_auth_results(m)
    assert len(ar) == 1 and re.search(r"\bspf=pass smtp\.mailfrom=(alice@)?spf-pass\.test\b", ar[0]), ar
    # loopback and authenticated clients skip the SPF check
    s_loop, s_auth = "spf-loopback-" + token(), "spf-auth-" + token()
    sendmail_in(c, "mallory@spf-fail.test", INFO, s_loop)
    wait_mail(c, INFO_MBOX, s_loop)
    submit(c.ip, SASL_USER, SASL_PW, "mallory@spf-fail.test", INFO, s_auth)
    wait_mail(c, INFO_MBOX, s_auth)
    assert subject not in cat(c, INFO_MBOX)


# --- A: destinies with defaults --------------------------------------------------------------

def test_gtube_default_destiny_passes_tagged(fleet):
    c = fleet.a.get()
    subject = "gtube-pass-" + token()
    r = send_message(c.ip, gtube_message("alice@spf-pass.test", INFO, subject), "alice@spf-pass.test", [INFO])
    assert_accepted(r)
    verdict = amavis_log_for(c, queue_id=queue_id(r))
    assert "Passed SPAM" in verdict, verdict
    m = wait_mail(c, INFO_MBOX, subject)
    assert str(m["Subject"]).startswith("***SPAM*** "), m["Subject"]
    sh = spam_headers(m)
    assert sh.get("X-Spam-Flag") == "YES", sh
    assert sh.get("X-Spam-Status", "").startswith("Yes,") and "GTUBE" in sh["X-Spam-Status"], sh
    assert float(sh["X-Spam-Score"]) >= 900, sh


def test_eicar_default_destiny_discards_quarantines_and_tells_nobody(fleet):
    c = fleet.a.get()
    subject = "eicar-discard-" + token()
    r = send_message(c.ip, eicar_message(BOB, INFO, subject), BOB, [INFO])
    assert_accepted(r)       # after-queue filter: the client always sees 250 here
    verdict = amavis_log_for(c, queue_id=queue_id(r))
    assert "Blocked INFECTED" in verdict and "Discarded" in verdict, verdict
    assert "quarantine: virus-" in verdict, verdict
    wait_queue_empty(c)
    assert not find_by_subject(mbox_messages(c, INFO_MBOX), subject), "a virus was delivered"
    q = quarantined_for(c, "virus", subject)
    assert len(q) == 1, "quarantine %s: %r" % (QUARANTINE, quarantine_files(c))
    (text,) = q.values()
    assert re.search(r"(?m)^X-Envelope-To-Blocked: <%s>" % re.escape(INFO), text), text[:1500]
    assert "eicar.txt" in text
    # D_DISCARD: the sender (a local mailbox here) is not told
    assert not dsns_mentioning(c, BOB_MBOX, subject), "a DSN reached the sender of a discarded virus"


def test_banned_exe_discarded_quarantined_then_released(fleet):
    c = fleet.a.get()
    subject = "banned-" + token()
    r = send_message(c.ip, exe_message(BOB, INFO, subject), BOB, [INFO])
    assert_accepted(r)
    verdict = amavis_log_for(c, queue_id=queue_id(r))
    assert "Blocked BANNED" in verdict and "invoice.exe" in verdict, verdict
    wait_queue_empty(c)
    assert not find_by_subject(mbox_messages(c, INFO_MBOX), subject), "a banned attachment was delivered"
    assert not dsns_mentioning(c, BOB_MBOX, subject), "D_DISCARD told the sender"
    q = quarantined_for(c, "banned", subject)
    assert len(q) == 1, quarantine_files(c)
    (fname,) = q
    assert re.search(r"(?m)^X-Envelope-To-Blocked: <%s>" % re.escape(INFO), q[fname])
    # release: delivered to the original recipient, attachment and all
    p = c.exec(["amavisd-release", fname], check=False, timeout=120)
    assert p.returncode == 0, "amavisd-release %s: %d\n%s%s" % (fname, p.returncode, p.stdout, p.stderr)
    assert re.search(r"\b250\b", p.stdout + p.stderr), p.stdout + p.stderr
    m = wait_mail(c, INFO_MBOX, subject)
    assert "invoice.exe" in m.as_string()


def test_quarantine_listing(fleet):
    c = fleet.a.get()
    subject = "ls-" + token()
    r = send_message(c.ip, exe_message(BOB, INFO, subject), BOB, [INFO])
    assert_accepted(r)
    wait_for(lambda: quarantined_for(c, "banned", subject), timeout=60, what="quarantine of " + subject)
    files = quarantine_files(c)
    assert all(re.fullmatch(r"(spam|virus|banned|badh)-[A-Za-z0-9_+-]+", f) for f in files), files
    for cmd in (("amavis-ls",), ("mtactl", "quarantine", "ls")):
        header, rows, summary, out = amavis_ls(c, cmd)
        assert header.split() == ["DATE", "SIZE", "SENDER", "RECIPIENTS", "SUBJECT", "REASON", "FILE"], out
        assert summary == "%d messages in %s" % (len(files), QUARANTINE), out
        assert sorted(r.split()[-1] for r in rows) == files, out
        mine = [r for r in rows if subject in r]
        assert len(mine) == 1, out
        assert "<%s>" % BOB in mine[0] and "<%s>" % INFO in mine[0], mine[0]
        assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d\s+\d+\s", mine[0]), mine[0]


# --- A: DKIM signing with a generated key -------------------------------------------------------

def _a_dkim(c):
    name = "/var/db/dkim/example.com.default._domainkey.txt"
    text = cat(c, name)
    assert text, "no %s; /var/db/dkim: %s" % (name, c.exec(["ls", "-la", "/var/db/dkim/"], check=False).stdout)
    return text


def test_dkim_key_made_at_first_start_and_published(fleet):
    c = fleet.a.get()
    text = _a_dkim(c)
    assert re.match(r'default\._domainkey\.example\.com\.\t3600\tTXT\t\(\s*"v=DKIM1; k=rsa; "\s+"p=', text), text
    owner, value = parse_bind_txt(text)
    assert owner == "default._domainkey.example.com."
    assert value.startswith("v=DKIM1; k=rsa; p=MII"), value
    pem = cat(c, "/var/db/dkim/example.com.default.privkey.pem")
    assert "PRIVATE KEY" in pem
    assert value.split("p=", 1)[1] == public_b64(pem), "the TXT record is not the key's public key"
    bits = c.exec(["openssl", "pkey", "-in", "/var/db/dkim/example.com.default.privkey.pem",
                   "-noout", "-text"], check=False).stdout
    assert re.search(r"\(2048 bit", bits), bits[:200]
    out = c.exec(["mtactl", "dkim", "txt"]).stdout
    assert parse_bind_txt(out) == (owner, value), out


def _check_signed(m, records, selector="default"):
    data = m["data"].encode()
    assert re.search(rb"(?mi)^DKIM-Signature:", data), "not signed:\n%s" % m["data"][:2000]
    sig = re.search(r"(?ms)^DKIM-Signature:(.*?)\r?\n(?=\S)", m["data"]).group(1)
    assert re.search(r"\bd=example\.com;", sig) and re.search(r"\bs=%s;" % selector, sig), sig
    ok, log = dkim_verify(data, records)
    assert ok, "DKIM signature does not verify:\n%s\n%s" % (log, m["data"][:3000])


def test_dkim_signs_authenticated_submission(fleet, relay):
    c = fleet.a.get()
    records = dict([parse_bind_txt(_a_dkim(c))])
    records = {k.rstrip("."): v for k, v in records.items()}
    subject = "dkim-sub-" + token()
    submit(c.ip, SASL_USER, SASL_PW, BOB, FOREIGN, subject)
    (m,) = wait_relayed(relay, subject)
    assert m["mail_from"] == BOB and m["rcpt_tos"] == [FOREIGN], m
    _check_signed(m, records)
    # spam headers are only for MAIL_DOMAIN recipients
    assert not re.search(r"(?mi)^X-Spam-(Status|Score|Flag):", m["data"]), m["data"][:2000]


def test_dkim_signs_loopback_submission(fleet, relay):
    c = fleet.a.get()
    records = {k.rstrip("."): v for k, v in [parse_bind_txt(_a_dkim(c))]}
    subject = "dkim-loop-" + token()
    sendmail_in(c, BOB, "other@foreign.test", subject)
    (m,) = wait_relayed(relay, subject)
    assert m["mail_from"] == BOB, m
    verdict = wait_log(c, r"amavis\[\d+\]: [^\n]*other@foreign\.test[^\n]*").group(0)
    try:
        _check_signed(m, records)
    except AssertionError as e:
        pickup = [ln for ln in c.exec(["postconf", "-M"]).stdout.splitlines() if ln.startswith("pickup")]
        raise AssertionError("%s\namavis verdict (no ORIGINATING, no dkim_new=): %s\npostconf -M: %s\n"
                             "content_filter: %s" % (e, verdict, pickup,
                                                     c.exec(["postconf", "-h", "content_filter"]).stdout)
                             ) from None


# --- A: DKIM verification of incoming mail --------------------------------------------------------

def test_incoming_dkim_signature_pass_and_fail(fleet, signer_key):
    c = fleet.a.get()
    sender = "news@" + SIGNER_DOMAIN
    good_s, bad_s = "dkim-in-good-" + token(), "dkim-in-bad-" + token()
    good = dkim_sign(build_message(sender, INFO, good_s, body="Signed body.\n"),
                     SIGNER_SELECTOR, SIGNER_DOMAIN, signer_key)
    bad = dkim_sign(build_message(sender, INFO, bad_s, body="Signed body.\n"),
                    SIGNER_SELECTOR, SIGNER_DOMAIN, signer_key).replace(b"Signed body.", b"Changed body.")
    # our own check first: the good one verifies against the published record
    rec = {"%s._domainkey.%s" % (SIGNER_SELECTOR, SIGNER_DOMAIN): dkim_record(signer_key)}
    assert dkim_verify(good, rec)[0] and not dkim_verify(bad, rec)[0]
    for msg in (good, bad):
        assert_accepted(send_message(c.ip, msg, sender, [INFO]))
    mg = wait_mail(c, INFO_MBOX, good_s)
    mb = wait_mail(c, INFO_MBOX, bad_s)
    # one header each, ours (authmilter; amavis adds none)
    ar_good = [unfold(v) for v in header_values(mg, "Authentication-Results")]
    ar_bad = [unfold(v) for v in header_values(mb, "Authentication-Results")]
    assert len(ar_good) == len(ar_bad) == 1 and our_auth_results(mg) and our_auth_results(mb), \
        (ar_good, ar_bad)
    assert any(re.search(r"\bdkim=pass\b", v) and SIGNER_DOMAIN in v for v in ar_good), \
        "good signature: Authentication-Results %r" % ar_good
    assert any(re.search(r"\bdkim=fail\b", v) for v in ar_bad), \
        "body changed after signing: Authentication-Results %r" % ar_bad
    assert not any(re.search(r"\bdkim=pass\b", v) for v in ar_bad), ar_bad
    status = unfold(mg["X-Spam-Status"] or "")
    assert "DKIM_VALID" in status, "X-Spam-Status of the good one: %r" % status
    assert "DKIM_VALID" not in unfold(mb["X-Spam-Status"] or "").replace("DKIM_VALID_", "x"), mb["X-Spam-Status"]


# --- B: other destinies, a given DKIM key, persistence -------------------------------------------------

def test_spam_bounce_destiny(fleet):
    c = fleet.b.get()
    subject = "gtube-bounce-" + token()
    r = send_message(c.ip, gtube_message(BOB, INFO, subject), BOB, [INFO])
    assert_accepted(r)
    verdict = amavis_log_for(c, queue_id=queue_id(r))
    assert "Blocked SPAM" in verdict and "Quarantined" in verdict, verdict
    wait_queue_empty(c)
    assert not find_by_subject(mbox_messages(c, INFO_MBOX), subject), "D_BOUNCE spam was delivered"
    assert len(quarantined_for(c, "spam", subject)) == 1, quarantine_files(c)
    try:
        wait_for(lambda: dsns_mentioning(c, BOB_MBOX, subject), timeout=20,
                 what="a DSN for %s at %s" % (subject, BOB))
    except AssertionError as e:
        raise AssertionError("FINAL_SPAM_DESTINY=D_BOUNCE: no DSN reached the envelope sender (%s).\n"
                             "amavis verdict: %s\n(NoBounce: amavis suppresses spam DSNs at or above "
                             "$sa_dsn_cutoff_level, 10 by default; GTUBE scores 1000)\n60-mtactl:\n%s" % (
                                 e, verdict, cat(c, "/etc/amavis/conf.d/60-mtactl"))) from None


def test_virus_reject_destiny(fleet):
    """D_REJECT with Postfix's after-queue content filter: the client already
    had 250 for DATA, so amavis's 5xx to Postfix turns into a bounce by
    Postfix to the envelope sender. Checked: not delivered, quarantined, and
    the sender is told (5xx at DATA or a DSN)."""
    c = fleet.b.get()
    subject = "eicar-reject-" + token()
    r = send_message(c.ip, eicar_message(BOB, INFO, subject), BOB, [INFO])
    assert r["error"] is None and r["data"], r
    if r["data"][0] == 250:
        verdict = amavis_log_for(c, queue_id=queue_id(r))
        assert "Blocked INFECTED" in verdict and "Rejected" in verdict, verdict
        dsn = wait_for(lambda: dsns_mentioning(c, BOB_MBOX, subject), timeout=60,
                       what="the bounce of the rejected virus at " + BOB)
        assert "mailer-daemon" in str(dsn[0]["From"]).lower() or \
            "Undelivered" in str(dsn[0]["Subject"]), "%s / %s" % (dsn[0]["From"], dsn[0]["Subject"])
        print("\nD_REJECT (virus): client got %r; Postfix bounced it: %s / %s; amavis: %s"
              % (r["data"], dsn[0]["From"], dsn[0]["Subject"], verdict))
    else:
        assert 500 <= r["data"][0] < 600, r
    wait_queue_empty(c)
    assert not find_by_subject(mbox_messages(c, INFO_MBOX), subject), "D_REJECT virus was delivered"
    assert len(quarantined_for(c, "virus", subject)) == 1, quarantine_files(c)


def test_banned_bounce_destiny(fleet, relay):
    c = fleet.b.get()
    subject = "banned-bounce-" + token()
    r = send_message(c.ip, exe_message("x@sender.test", INFO, subject), "x@sender.test", [INFO])
    assert_accepted(r)
    verdict = amavis_log_for(c, queue_id=queue_id(r))
    assert "Blocked BANNED" in verdict and "Bounced" in verdict, verdict
    # the DSN goes to the (foreign) envelope sender, through the relay
    got = wait_for(lambda: [m for m in relay.messages() if subject in m["data"]
                            and m["rcpt_tos"] == ["x@sender.test"]],
                   timeout=60, what="a DSN to x@sender.test at the sink")
    assert got[0]["mail_from"] in ("", "<>"), got[0]["mail_from"]
    wait_queue_empty(c)
    assert not find_by_subject(mbox_messages(c, INFO_MBOX), subject)
    assert len(quarantined_for(c, "banned", subject)) == 1, quarantine_files(c)


def test_given_dkim_key_and_selector(fleet, relay):
    c = fleet.b.get()
    key_file = "/var/db/dkim/example.com.sel2.privkey.pem"
    pem = cat(c, key_file)
    assert "PRIVATE KEY" in pem, c.exec(["ls", "-la", "/var/db/dkim/"], check=False).stdout
    assert public_b64(pem) == public_b64(fleet.given_key), "the key in use is not DKIM_PRIVATEKEY"
    owner, value = parse_bind_txt(cat(c, "/var/db/dkim/example.com.sel2._domainkey.txt"))
    assert owner == "sel2._domainkey.example.com." and value.endswith("p=" + public_b64(fleet.given_key))
    subject = "dkim-given-" + token()
    submit(c.ip, SASL_USER, SASL_PW, BOB, FOREIGN, subject, port=587)
    (m,) = wait_relayed(relay, subject)
    # verified with the public key of the key we gave, not with the files
    _check_signed(m, {"sel2._domainkey.example.com": dkim_record(fleet.given_key)}, selector="sel2")
    logs = c.logs()
    assert pem_body(fleet.given_key)[:40] not in logs, "the private key is in the logs"


def test_state_survives_recreation(fleet):
    """Quarantine, DKIM key and SRS secret live under /srv: a new container
    on the same volume has them unchanged. (Runs last of the B tests.)"""
    c = fleet.b.get()
    subject = "persist-" + token()
    r = send_message(c.ip, exe_message("x@sender.test", INFO, subject), "x@sender.test", [INFO])
    assert_accepted(r)
    wait_for(lambda: quarantined_for(c, "banned", subject), timeout=60, what="quarantine of " + subject)
    wait_queue_empty(c)
    files = quarantine_files(c)
    key = hashlib.sha256(cat(c, "/var/db/dkim/example.com.sel2.privkey.pem").encode()).hexdigest()
    secret = cat(c, "/etc/postsrsd/postsrsd.secret")
    assert secret.strip()
    for path in (QUARANTINE, "/var/db/dkim", "/etc/postsrsd"):
        real = c.exec(["readlink", "-f", path]).stdout.strip()
        assert real.startswith("/srv/"), "%s is %s, not under /srv" % (path, real)
    c2 = fleet.b.recreate()
    assert quarantine_files(c2) == files
    _, rows, summary, out = amavis_ls(c2)
    assert any(subject in r for r in rows), out
    assert hashlib.sha256(cat(c2, "/var/db/dkim/example.com.sel2.privkey.pem").encode()).hexdigest() == key
    assert cat(c2, "/etc/postsrsd/postsrsd.secret") == secret, "the SRS secret changed"
    assert "made a 2048-bit DKIM key" not in c2.logs()


# --- C: kill level, no clamd, default tag level, kopano-spamd ---------------------------------------------

def test_kill_level_lets_gtube_pass_despite_discard(fleet):
    c = fleet.c.get()
    subject = "gtube-kill2000-" + token()
    r = send_message(c.ip, gtube_message(BOB, INFO, subject), BOB, [INFO])
    assert_accepted(r)
    m = wait_mail(c, INFO_MBOX, subject)
    assert str(m["Subject"]).startswith("***SPAM*** "), m["Subject"]
    assert unfold(m["X-Spam-Flag"] or "") == "YES", spam_headers(m)


def test_health_reports_amavis_that_does_not_answer(fleet):
    """amavis's processes alive but not answering (stopped here) is
    unhealthy: mail would only wait in the queue."""
    c = fleet.a.get()
    code, text = health(c)
    assert code == 0, text
    c.exec(["pkill", "-STOP", "-f", "amavisd"])
    try:
        code, text = health(c)
        assert code != 0 and "/run/amavis/inbound.sock: no answer to the greeting" in text, (code, text)
    finally:
        c.exec(["pkill", "-CONT", "-f", "amavisd"])
    wait_for(lambda: health(c)[0] == 0, timeout=60, interval=2, what="healthy again")


def test_clamav_daemon_no(fleet):
    c = fleet.c.get()
    procs = c.exec(["ps", "-eo", "comm="]).stdout.split()
    assert "clamd" not in procs, procs
    code, text = health(c)
    assert code == 0, "mtactl health with CLAMAV_DAEMON=no: %d %s" % (code, text)
    # no virus scanning: the EICAR mail is delivered
    subject = "eicar-noclamd-" + token()
    assert_accepted(send_message(c.ip, eicar_message(BOB, INFO, subject), BOB, [INFO]))
    m = wait_mail(c, INFO_MBOX, subject)
    assert "eicar.txt" in m.as_string()


def test_default_tag_level_and_generated_1024_bit_key(fleet):
    c = fleet.c.get()
    subject = "clean-deftag-" + token()
    assert_accepted(send_message(c.ip, build_message("alice@spf-pass.test", INFO, subject),
                               "alice@spf-pass.test", [INFO]))
    m = wait_mail(c, INFO_MBOX, subject)
    sh = spam_headers(m)
    assert "X-Spam-Status" not in sh and "X-Spam-Score" not in sh, \
        "a clean mail below SA_TAG_LEVEL_DEFLT (2.0) got spam headers: %r" % sh
    bits = c.exec(["openssl", "pkey", "-in", "/var/db/dkim/example.com.default.privkey.pem",
                   "-noout", "-text"], check=False)
    assert re.search(r"\(1024 bit", bits.stdout), bits.stdout[:200] + bits.stderr


def _sa_magic(c, field):
    p = c.exec(["su", "-s", "/bin/sh", "amavis", "-c", "sa-learn --dump magic"], check=False)
    # "0.000          0          3          0  non-token data: nspam": the third column
    m = re.search(r"(?m)^\s*\S+\s+\d+\s+(\d+)\s+\d+\s+non-token data: %s\s*$" % field, p.stdout)
    return int(m.group(1)) if m else 0


def _drop(c, folder, name, text):
    """Writes the file under a hidden temporary name first (ignored by the
    learner), then renames it into place."""
    d = "/var/lib/kopano/spamd/" + folder
    c.exec(["sh", "-c", 'cat >"$1/.$2.tmp" && mv "$1/.$2.tmp" "$1/$2"', "sh", d, name], input=text)


def _dropped_gone(c, folder, name):
    return not c.file_exists("/var/lib/kopano/spamd/%s/%s" % (folder, name))


def test_kopano_spamd_learns_spam_once(fleet):
    c = fleet.c.get()
    assert c.exec(["test", "-d", "/var/lib/kopano/spamd/spam"], check=False).returncode == 0, \
        c.exec(["ls", "-la", "/var/lib/kopano/spamd"], check=False).stdout
    before = _sa_magic(c, "nspam")
    t = token()
    msgs = {}
    for i in range(3):
        msgs["learn-%s-%d.eml" % (t, i)] = (
            "From: seller%d@spam.test\nTo: %s\nSubject: cheap watches %s %d\n"
            "Message-ID: <learn-%s-%d@spam.test>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n\n"
            "Buy replica watches now, offer %s number %d, http://spam.test/%s/%d\n"
            % (i, INFO, t, i, t, i, t, i, t, i))
    for name, text in msgs.items():
        _drop(c, "spam", name, text)
    wait_for(lambda: all(_dropped_gone(c, "spam", n) for n in msgs), timeout=90, interval=2,
             what="kopano-spamd to take the files from spam/")
    after = wait_for(lambda: _sa_magic(c, "nspam") >= before + 3 and _sa_magic(c, "nspam"),
                     timeout=30, interval=2, what="nspam to rise by 3 (from %d)" % before)
    assert after == before + 3, (before, after)
    # the same message again (another file name): removed, not learned twice
    name, text = next(iter(msgs.items()))
    _drop(c, "spam", "again-" + name, text)
    wait_for(lambda: _dropped_gone(c, "spam", "again-" + name), timeout=90, interval=2,
             what="kopano-spamd to take the second copy")
    assert _sa_magic(c, "nspam") == after, "a message was learned twice"
    # ham/ is learned as ham (README)
    h_before = _sa_magic(c, "nham")
    _drop(c, "ham", "ham-%s.eml" % t, "From: friend@ham.test\nTo: %s\nSubject: lunch %s\n"
          "Message-ID: <ham-%s@ham.test>\n\nLunch tomorrow at noon?\n" % (INFO, t, t))
    wait_for(lambda: _dropped_gone(c, "ham", "ham-%s.eml" % t), timeout=90, interval=2,
             what="kopano-spamd to take the file from ham/")
    wait_for(lambda: _sa_magic(c, "nham") > h_before, timeout=30, interval=2, what="nham to rise")


# --- offline ---------------------------------------------------------------------------------------------

_INNER_SMTP = r'''
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", 25, timeout=60)
s.ehlo("localhost")
s.mail(sys.argv[1])
s.rcpt(sys.argv[2])
code, text = s.data(sys.stdin.read().encode())
print(code, text.decode())
s.quit()
'''


def _inner_send(c, mail_from, rcpt, subject):
    msg = build_message(mail_from, rcpt, subject).decode()
    p = c.exec(["python3", "-c", _INNER_SMTP, mail_from, rcpt], input=msg, timeout=90)
    assert p.stdout.startswith("250 "), p.stdout + p.stderr
    return p.stdout


def test_offline_clean_mail_is_not_stalled(net, net_gateway, clamdb, resources):
    """No network at all (--network none): Razor, DNSBL and SPF lookups must
    fail fast; a clean mail is delivered well within 60 s of its 250."""
    pem = gen_rsa_key()
    c = start_full(net, net_gateway, {"MAIL_BOXES": INFO, "CLAMAV_FRESHCLAM": "no",
                                      "SA_TAG_LEVEL_DEFLT": "-99", "DKIM_PRIVATEKEY": pem},
                   volumes={clamdb: "/var/lib/clamav"}, network="none", kind="full-offline")
    resources.containers.append(c)
    # readiness: healthy, then a probe delivered (over loopback SMTP; there is no other way in)
    wait_for(lambda: health(c)[0] == 0, timeout=150, interval=2, what="mtactl health of %s" % c.name)
    probe = "offline-probe-" + token()
    _inner_send(c, "probe@client.test", INFO, probe)
    wait_mail(c, INFO_MBOX, probe, timeout=120)
    times = []
    for i in range(2):
        subject = "offline-%d-%s" % (i, token())
        _inner_send(c, "alice@client.test", INFO, subject)
        t0 = time.monotonic()
        m = wait_for(lambda: find_by_subject(mbox_messages(c, INFO_MBOX), subject), timeout=120,
                     interval=0.5, what="offline delivery of " + subject)[0]
        times.append(time.monotonic() - t0)
        assert "X-Spam-Status" in m, "not checked by SpamAssassin? %r" % m.items()
    print("\noffline delivery times after 250: %s s" % ", ".join("%.1f" % t for t in times))
    assert max(times) < 60, "offline delivery took %r s (lookups hang?)\nlogs:\n%s" % (
        times, c.logs()[-4000:])
    # DKIM_PRIVATEKEY as a whole PEM is taken as is
    used = cat(c, "/var/db/dkim/example.com.default.privkey.pem")
    assert public_b64(used) == public_b64(pem), "DKIM_PRIVATEKEY (PEM) is not the key in use"


# --- no ClamAV database -------------------------------------------------------------------------------------

def test_without_clamav_database_mail_waits_and_is_not_lost(mta, dns):
    c = mta(stage="full", env={"MAIL_BOXES": INFO, "CLAMAV_FRESHCLAM": "no"},
            extra_args=["--dns", dns.ip])
    subject = "nodb-" + token()
    r = send_message(c.ip, build_message("alice@spf-pass.test", INFO, subject), "alice@spf-pass.test", [INFO])
    assert_accepted(r)
    qid = queue_id(r)
    # amavis answers 4xx: the message stays deferred in the queue. (While
    # amavis itself still starts, the deferral reason is "connection refused";
    # the queue is flushed now and then to see amavis's own answer.)
    last_flush = [time.monotonic()]

    def deferred_by_amavis():
        listing = queue_listing(c)
        if re.search(r"(?m)^%s\s" % qid, listing) and re.search(r"said: 4\d\d ", listing):
            return listing
        if time.monotonic() - last_flush[0] > 8:
            c.exec(["postqueue", "-f"], check=False)
            last_flush[0] = time.monotonic()
        return None
    try:
        listing = wait_for(deferred_by_amavis, timeout=150, interval=2,
                           what="message %s deferred with a 4xx from amavis" % qid)
    except AssertionError as e:
        raise AssertionError("%s\nqueue:\n%s\nmailbox:\n%s\nlogs:\n%s" % (
            e, queue_listing(c), cat(c, INFO_MBOX)[-2000:], c.logs()[-4000:])) from None
    print("\nno database: %s" % " ".join(listing.split()))
    assert qid in listing, listing
    assert not find_by_subject(mbox_messages(c, INFO_MBOX), subject), "delivered unscanned"
    code, text = health(c)
    assert code != 0, "healthy without a ClamAV database: %s" % text
    assert re.search(r"(?i)clam", text) and re.search(r"(?i)database|signature", text), text
    # a database appears: clamd starts, the waiting message is scanned and delivered
    uid_gid = c.exec(["sh", "-c", "id -u clamav; id -g clamav"]).stdout.split()
    eicar_line = c.exec(["sh", "-c", 'printf "%s" "$1" >/tmp/eicar.com && sigtool --md5 /tmp/eicar.com',
                         "sh", EICAR]).stdout.strip()
    c.exec(["sh", "-c", 'printf "%s\\n" "$1" >/var/lib/clamav/e2e.hdb && chown $2:$3 /var/lib/clamav/e2e.hdb',
            "sh", eicar_line, uid_gid[0], uid_gid[1]])
    wait_for(lambda: health(c)[0] == 0, timeout=120, interval=2, what="healthy once a database exists")
    m = wait_mail(c, INFO_MBOX, subject, timeout=120)
    assert any("amavis" in v for v in header_values(m, "X-Virus-Scanned")), m.items()


# --- bad input ---------------------------------------------------------------------------------------------

BAD = [
    ("FINAL_SPAM_DESTINY", "D_MAYBE"),
    ("FINAL_VIRUS_DESTINY", "discard"),
    ("SA_TAG_LEVEL_DEFLT", "abc"),
    ("SA_KILL_LEVEL_DEFLT", "6.9x"),
    ("DKIM_KEYBITS", "12"),
    ("DKIM_PRIVATEKEY", "garbage"),
    ("LOG_LEVEL", "9"),
    ("SA_DEBUG", "2"),
    ("DKIM_SELECTOR", "bad selector!"),
    ("CLAMAV_DAEMON", "maybe"),
    ("RAZOR_REGISTRATION", "nocolon"),
]


@pytest.mark.parametrize("var,value", BAD, ids=["%s=%s" % b for b in BAD])
def test_bad_input_exits_100(run_config_error, var, value):
    code, out = run_config_error(stage="full", env={var: value}, timeout=90)
    assert code == BAD_CONFIG_EXIT, "%s=%r: exit %r\n%s" % (var, value, code, out[-3000:])
    shown = "<secret, %d characters>" % len(value) if var == "DKIM_PRIVATEKEY" else value
    lines = [ln for ln in out.splitlines() if var in ln and shown in ln]
    assert len(lines) == 1, "%s=%r: no single line naming the variable and %r:\n%s" % (
        var, value, shown, out)
    if var == "DKIM_PRIVATEKEY":
        assert value not in out, "the secret value is shown:\n" + out
    assert "-> up" not in out, "services started despite bad input:\n" + out


def test_full_variable_on_base_image(run_config_error):
    code, out = run_config_error(stage="base", env={"FINAL_SPAM_DESTINY": "D_PASS"}, timeout=90)
    assert code == BAD_CONFIG_EXIT, "exit %r\n%s" % (code, out)
    lines = [ln for ln in out.splitlines() if "FINAL_SPAM_DESTINY" in ln and "D_PASS" in ln]
    assert len(lines) == 1 and "base image" in lines[0] and "only in full, rspamd" in lines[0], out
