"""End-to-end tests of inbound mail authentication in the `full` image
(authmilter: one Authentication-Results header with SPF, DKIM, ARC and
DMARC; the DMARC policy; ARC sealing of forwarded mail).

Peers: one dnsmasq (tests/peers/dns) with the SPF, DKIM and DMARC records of
the sender domains below, one relay sink (receives the forwarded copies), a
ClamAV volume. Signatures and ARC seals of the senders are made here with
dkimpy (Debian's python3-dkim), never by the code under test.

One server is shared by the module (authserv-id mx1.example.com, DKIM key of
example.com given, so its record is in the DNS peer; ARC_TRUSTED_SIGNERS=
forwarder.test; fwd@example.com forwards to the sink). The test that freezes
the DNS peer runs last, and the bad-input tests start their own containers.

Sender domains: aligned.test (DKIM and SPF aligned, p=reject), reject.test,
quar.test and none.test (p=reject, p=quarantine, p=none; their signatures
are broken on purpose), env.test (only SPF: the envelope sender of the
failing ones, so SPF passes but does not align), forwarder.test and
untrusted.test (ARC sealers), outage.test (never looked up before the
outage, so no cached answer hides it).
"""
import re
import time

import dkim
import pytest
from dns import resolver as dnsresolver

from dockerlib import docker, pause, send_message
from fullpeers import (amavis_ls, assert_accepted, build_message, cat, dkim_record,
                       dkim_sign, gen_rsa_key, header_values, our_auth_results, pem_body, start_dns,
                       start_full, submit, token, unfold, wait_mail, wait_relayed)

BAD_CONFIG_EXIT = 100
REPLY_DEADLINE = 5       # seconds for the reply to DATA, DNS or not (as test_field.py)
HOST = "mx1.example.com"
INFO = "info@example.com"
INFO_MBOX = "/var/mail/" + INFO
FOREIGN = "someone@foreign.test"
SASL_USER, SASL_PW = "user", "Auth-pw-" + token()
SEL = "e2e"
SENDER_DOMAINS = ("aligned.test", "reject.test", "quar.test", "none.test", "outage.test")
POLICY = {"aligned.test": "reject", "reject.test": "reject", "quar.test": "quarantine",
          "none.test": "none", "outage.test": "reject"}


@pytest.fixture(scope="module")
def keys():
    return {"sender": gen_rsa_key(), "forwarder": gen_rsa_key(), "ours": gen_rsa_key()}


@pytest.fixture(scope="module")
def dns(net, net_gateway, keys):
    txt = {"env.test": "v=spf1 ip4:%s -all" % net_gateway,
           "default._domainkey.example.com": dkim_record(keys["ours"])}
    for d in SENDER_DOMAINS:
        txt[d] = "v=spf1 ip4:%s -all" % net_gateway
        txt["%s._domainkey.%s" % (SEL, d)] = dkim_record(keys["sender"])
        txt["_dmarc." + d] = "v=DMARC1; p=%s" % POLICY[d]
    # sp= for subdomains without a record of their own; pct= below 100
    txt["_dmarc.spol.test"] = "v=DMARC1; p=none; sp=reject"
    # the test DNS refuses names it does not hold (a temperror, never
    # enforced); a TXT that is no DMARC record is what "none here" looks like
    txt["_dmarc.mail.spol.test"] = "not a DMARC record"
    txt["_dmarc.pct.test"] = "v=DMARC1; p=reject; pct=50"
    for d in ("forwarder.test", "untrusted.test"):
        txt["arc._domainkey." + d] = dkim_record(keys["forwarder"])
    p = start_dns(net, txt=txt)
    try:
        yield p
    finally:
        docker("unpause", p.name, check=False)
        p.rm()


@pytest.fixture(scope="module")
def mx(net, net_gateway, dns, clamdb, relay, keys):
    env = {"MAIL_BOXES": INFO, "MAIL_ALIASES": "fwd:%s" % FOREIGN, "CLAMAV_FRESHCLAM": "no",
           "RELAYHOST": "[%s]:25" % relay.name, "SMTP_TLS_SECURITY_LEVEL": "none",
           "SMTPD_SASL_CLIENTAUTH": "%s:{PLAIN}%s" % (SASL_USER, SASL_PW),
           "DKIM_PRIVATEKEY": pem_body(keys["ours"]), "ARC_TRUSTED_SIGNERS": "forwarder.test"}
    c = start_full(net, net_gateway, env, dns=dns.ip, hostname=HOST,
                   volumes={clamdb: "/var/lib/clamav"}, kind="auth")
    try:
        c.wait_banner(25, timeout=90)
        # ready when a message has passed the milter and amavis
        subject = "ready-" + token()
        assert_accepted(send_message(c.ip, build_message("probe@env.test", INFO, subject),
                                     "probe@env.test", [INFO]))
        wait_mail(c, INFO_MBOX, subject, timeout=180)
        yield c
    finally:
        c.rm()


# --- helpers -------------------------------------------------------------------------

def signed(keys, sender, subject, body="Signed body.\n", headers=None):
    domain = sender.split("@")[1]
    return dkim_sign(build_message(sender, INFO, subject, body=body, headers=headers),
                     SEL, domain, keys["sender"])


def broken(keys, sender, subject):
    """Signed, then the body changed: the DKIM signature fails."""
    return signed(keys, sender, subject).replace(b"Signed body.", b"Changed body.")


def ours(msg):
    return our_auth_results(msg, HOST)


def one_ar(msg):
    found = ours(msg)
    assert len(found) == 1, "expected one Authentication-Results of %s, got %r\nheaders:\n%s" % (
        HOST, found, "".join("%s: %s\n" % kv for kv in msg.items()))
    return found[0]


def data_reply(r):
    return r["data"] or (None, "")


def not_delivered(mx, subject, marker_subject):
    """After a later message (marker) was delivered, subject is not in the mailbox."""
    wait_mail(mx, INFO_MBOX, marker_subject)
    assert subject not in cat(mx, INFO_MBOX)


def send_marker(mx):
    subject = "marker-" + token()
    assert_accepted(send_message(mx.ip, build_message("m@env.test", INFO, subject), "m@env.test", [INFO]))
    return subject


def arc_seal(msg, sealer, key):
    """What a forwarder does: its own results, then an ARC set (dkimpy)."""
    ar = ("Authentication-Results: %s; dkim=pass header.d=reject.test; spf=pass "
          "smtp.mailfrom=ceo@reject.test\r\n" % sealer).encode()
    msg = ar + msg
    sets = dkim.arc_sign(msg, b"arc", sealer.encode(), key.encode(), sealer.encode())
    assert sets, "dkimpy made no ARC set"
    return b"".join(sets) + msg


# --- results ---------------------------------------------------------------------------

def test_aligned_mail_has_one_header_with_every_result(mx, keys):
    subject = "aligned-" + token()
    sender = "news@aligned.test"
    assert_accepted(send_message(mx.ip, signed(keys, sender, subject), sender, [INFO]))
    m = wait_mail(mx, INFO_MBOX, subject)
    ar = one_ar(m)
    assert re.search(r"\bspf=pass\b[^;]*smtp\.mailfrom=(news@)?aligned\.test", ar), ar
    assert re.search(r"\bdkim=pass\b[^;]*header\.d=aligned\.test", ar), ar
    assert re.search(r"\barc=none\b", ar), ar
    assert re.search(r"\bdmarc=pass\b[^;]*header\.from=aligned\.test", ar), ar
    assert re.search(r"\bdmarc=pass\b[^;]*policy\.dmarc=reject", ar), ar
    # the only Authentication-Results at all (amavis adds none), no Received-SPF
    assert len(header_values(m, "Authentication-Results")) == 1, header_values(m, "Authentication-Results")
    assert not header_values(m, "Received-SPF"), header_values(m, "Received-SPF")


def test_every_signature_has_its_result(mx, keys):
    """Two signatures, one good (d=aligned.test), one made with a key that is
    not none.test's (its record holds another)."""
    subject = "two-sigs-" + token()
    sender = "news@aligned.test"
    msg = signed(keys, sender, subject)
    bad = dkim.sign(msg, SEL.encode(), b"none.test", keys["forwarder"].encode(),
                    include_headers=[b"from", b"subject"])
    assert_accepted(send_message(mx.ip, bad + msg, sender, [INFO]))
    ar = one_ar(wait_mail(mx, INFO_MBOX, subject))
    assert re.search(r"\bdkim=fail\b[^;]*header\.d=none\.test", ar), ar
    assert re.search(r"\bdkim=pass\b[^;]*header\.d=aligned\.test", ar), ar
    assert re.search(r"\bdmarc=pass\b", ar), ar


def test_forged_results_with_our_name_are_removed(mx):
    subject = "forged-" + token()
    forged = {"Authentication-Results": "%s; dkim=pass header.d=paypal.example; dmarc=pass" % HOST}
    msg = build_message("bob@env.test", INFO, subject, headers=forged)
    msg = b"Authentication-Results: other.example; spf=pass smtp.mailfrom=x@other.example\r\n" + msg
    assert_accepted(send_message(mx.ip, msg, "bob@env.test", [INFO]))
    m = wait_mail(mx, INFO_MBOX, subject)
    ar = one_ar(m)
    assert "paypal" not in ar, ar
    assert "paypal" not in m.as_string(), "the forged header survived"
    others = [unfold(v) for v in header_values(m, "Authentication-Results") if "other.example" in v]
    assert others, "a header of another authserv-id is kept (RFC 8601 5)"


# --- DMARC policy ----------------------------------------------------------------------

def test_dmarc_reject_refused_at_data(mx, keys):
    subject = "dmarc-reject-" + token()
    r = send_message(mx.ip, broken(keys, "ceo@reject.test", subject), "bounce@env.test", [INFO])
    assert r["accepted"] == [INFO], r
    code, text = data_reply(r)
    assert code and 500 <= code < 600 and "DMARC" in text, "DATA reply: %r" % (r,)
    not_delivered(mx, subject, send_marker(mx))


def test_dmarc_quarantine_held_and_released(mx, keys):
    subject = "dmarc-quar-" + token()
    assert_accepted(send_message(mx.ip, broken(keys, "ceo@quar.test", subject), "bounce@env.test", [INFO]))
    rows = []

    def listed():
        rows[:] = [row for row in amavis_ls(mx)[1] if subject in row]
        return rows
    from dockerlib import wait_for
    wait_for(listed, timeout=90, interval=1, what="%s in amavis-ls" % subject)
    not_delivered(mx, subject, send_marker(mx))
    fname = rows[0].split()[-1].rsplit("/", 1)[-1]
    p = mx.exec(["amavisd-release", fname], check=False)
    assert p.returncode == 0 and "250" in p.stdout + p.stderr, p.stdout + p.stderr
    m = wait_mail(mx, INFO_MBOX, subject)
    ar = one_ar(m)
    assert re.search(r"\bdmarc=fail\b[^;]*header\.from=quar\.test", ar), ar
    assert re.search(r"policy\.dmarc=quarantine", ar), ar


def test_dmarc_none_failure_delivered_with_result(mx, keys):
    subject = "dmarc-none-" + token()
    assert_accepted(send_message(mx.ip, broken(keys, "ceo@none.test", subject), "bounce@env.test", [INFO]))
    ar = one_ar(wait_mail(mx, INFO_MBOX, subject))
    assert re.search(r"\bdkim=fail\b[^;]*header\.d=none\.test", ar), ar
    assert re.search(r"\bdmarc=fail\b[^;]*header\.from=none\.test", ar), ar


def test_subdomain_policy_and_pct(mx):
    """sp=reject applies to a subdomain with no record of its own (p=none to
    the domain itself); pct=50 turns p=reject into quarantine."""
    sub_s, top_s, pct_s = ("dmarc-sp-sub-" + token(), "dmarc-sp-top-" + token(),
                           "dmarc-pct-" + token())
    r = send_message(mx.ip, build_message("ceo@mail.spol.test", INFO, sub_s), "bounce@env.test", [INFO])
    code, text = data_reply(r)
    assert code and 500 <= code < 600 and "DMARC" in text, "sp=reject: %r" % (r,)
    assert_accepted(send_message(mx.ip, build_message("ceo@spol.test", INFO, top_s), "bounce@env.test",
                                 [INFO]), "p=none at the domain itself")
    ar = one_ar(wait_mail(mx, INFO_MBOX, top_s))
    assert re.search(r"\bdmarc=fail\b[^;]*policy\.dmarc=none", ar), ar
    assert_accepted(send_message(mx.ip, build_message("ceo@pct.test", INFO, pct_s), "bounce@env.test",
                                 [INFO]), "p=reject with pct=50")
    from dockerlib import wait_for
    wait_for(lambda: any(pct_s in row for row in amavis_ls(mx)[1]), timeout=90, interval=1,
             what="%s in amavis-ls" % pct_s)
    assert pct_s not in cat(mx, INFO_MBOX)


def test_trusted_arc_sealer_overrides_reject_untrusted_does_not(mx, keys):
    """A mailing list (forwarder.test) changed the body of a p=reject
    message, so its DKIM signature broke, and sealed what it verified."""
    trusted_s, untrusted_s = "arc-trusted-" + token(), "arc-untrusted-" + token()
    for subject, sealer in ((trusted_s, "forwarder.test"), (untrusted_s, "untrusted.test")):
        msg = arc_seal(broken(keys, "ceo@reject.test", subject), sealer, keys["forwarder"])
        r = send_message(mx.ip, msg, "list@env.test", [INFO])
        code, text = data_reply(r)
        if sealer == "forwarder.test":
            assert code == 250, "trusted sealer: %r" % (r,)
        else:
            assert code and 500 <= code < 600 and "DMARC" in text, "untrusted sealer: %r" % (r,)
    ar = one_ar(wait_mail(mx, INFO_MBOX, trusted_s))
    assert re.search(r"\barc=pass\b", ar), ar
    assert re.search(r"\bdmarc=fail\b", ar), ar
    assert untrusted_s not in cat(mx, INFO_MBOX)


def test_authenticated_user_with_foreign_from_not_rejected(mx):
    subject = "auth-foreign-from-" + token()
    submit(mx.ip, SASL_USER, SASL_PW, "ceo@reject.test", INFO, subject)
    m = wait_mail(mx, INFO_MBOX, subject)
    assert not ours(m), "our users' mail is not verified: %r" % ours(m)


def test_our_users_signed_mail_has_dkim_pass_for_local_recipients_only(mx, relay):
    """amavis signs what our users submit; the local recipient reads dkim=pass
    in our header (as on mail from outside), a copy that leaves the host
    carries no header of ours."""
    subject = "auth-own-" + token()
    submit(mx.ip, SASL_USER, SASL_PW, INFO, INFO, subject)
    m = wait_mail(mx, INFO_MBOX, subject)
    assert re.search(r"\bd=example\.com\b", unfold(m["DKIM-Signature"] or "")), m.items()
    ar = one_ar(m)
    assert re.search(r"\bdkim=pass\b.*header\.d=example\.com", ar), ar
    assert "spf=" not in ar and "dmarc=" not in ar, ar  # nothing of the kind was checked

    subject = "auth-own-out-" + token()
    submit(mx.ip, SASL_USER, SASL_PW, INFO, FOREIGN, subject)
    got = wait_relayed(relay, subject, timeout=90)[0]
    data = got["data"] if isinstance(got["data"], str) else got["data"].decode(errors="replace")
    head = re.split(r"\r?\n\r?\n", data, 1)[0]
    assert re.search(r"(?mi)^DKIM-Signature:", head), head
    assert not re.search(r"(?mi)^Authentication-Results:", head), head


# --- ARC sealing ------------------------------------------------------------------------

def test_forwarded_copy_is_arc_sealed_by_primary_domain(mx, dns, relay, keys):
    subject = "arc-seal-" + token()
    sender = "news@aligned.test"
    assert_accepted(send_message(mx.ip, signed(keys, sender, subject), sender, ["fwd@example.com"]))
    got = wait_relayed(relay, subject, timeout=90)[0]
    data = got["data"].encode() if isinstance(got["data"], str) else got["data"]
    head = re.split(rb"\r?\n\r?\n", data, 1)[0].decode(errors="replace")
    for name in ("ARC-Seal", "ARC-Message-Signature", "ARC-Authentication-Results"):
        found = re.findall(r"(?mi)^%s:(.*(?:\r?\n[ \t].*)*)" % name, head)
        assert len(found) == 1 and re.search(r"\bi=1\b", found[0]), "%s: %r" % (name, found)
    seal = unfold(re.search(r"(?mi)^ARC-Seal:(.*(?:\r?\n[ \t].*)*)", head).group(1))
    assert re.search(r"\bd=example\.com\b", seal) and re.search(r"\bs=default\b", seal), seal
    aar = unfold(re.search(r"(?mi)^ARC-Authentication-Results:(.*(?:\r?\n[ \t].*)*)", head).group(1))
    assert HOST in aar and "dmarc=pass" in aar, aar

    res = dns_resolver(dns)

    def dnsfunc(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        try:
            return b"".join(b"".join(r.strings) for r in res.resolve(name, "TXT"))
        except (dnsresolver.NXDOMAIN, dnsresolver.NoAnswer):
            return None
    cv, results, comment = dkim.arc_verify(data, dnsfunc=dnsfunc)
    assert cv == b"pass", "arc_verify at the sink: %r %r %r" % (cv, comment, results)


def dns_resolver(peer):
    r = dnsresolver.Resolver(configure=False)
    r.nameservers = [peer.ip]
    r.lifetime = 5
    return r


# --- failures of the milter itself -------------------------------------------------------

def test_stuck_milter_does_not_stop_mail(mx):
    """authmilter frozen (SIGSTOP): Postfix gives up on it after
    milter_command_timeout and accepts the mail without our header."""
    pid = None
    for line in cat(mx, "/run/mtactl/services").splitlines():
        f = line.split()
        if len(f) >= 3 and f[0] == "authmilter" and f[1] == "up":
            pid = f[2]
    assert pid, cat(mx, "/run/mtactl/services")
    subject = "milter-stuck-" + token()
    mx.exec(["kill", "-STOP", pid])
    try:
        r = send_message(mx.ip, build_message("bob@env.test", INFO, subject), "bob@env.test", [INFO],
                         timeout=60)
    finally:
        mx.exec(["kill", "-CONT", pid], check=False)
    assert_accepted(r, "with the milter frozen")
    m = wait_mail(mx, INFO_MBOX, subject)
    assert not ours(m), ours(m)


# --- DNS down (last: freezes the module's DNS peer) ----------------------------------------------

def test_dns_dropped_data_reply_within_seconds_mail_accepted(mx, dns, keys):
    subject = "outage-" + token()
    sender = "news@outage.test"
    msg = signed(keys, sender, subject)
    pause(dns.name)
    try:
        import smtplib
        s = smtplib.SMTP(mx.ip, 25, timeout=60)
        try:
            s.ehlo("client.test")
            s.mail(sender)
            s.rcpt(INFO)
            t0 = time.monotonic()
            code, text = s.data(msg)
            took = time.monotonic() - t0
        finally:
            s.quit()
        print("DATA reply with DNS dropped after %.1f s" % took)
        assert code == 250, (code, text)
        assert took < REPLY_DEADLINE, "end of DATA answered after %.1f s" % took
        m = wait_mail(mx, INFO_MBOX, subject, timeout=120)
    finally:
        docker("unpause", dns.name, check=False)
    ar = one_ar(m)
    assert re.search(r"\bspf=temperror\b", ar), ar
    assert re.search(r"\bdkim=temperror\b", ar), ar
    assert re.search(r"\bdmarc=temperror\b", ar), ar
    assert "=pass" not in ar, ar


# --- AUTH_RESULTS=no -------------------------------------------------------------------------

def test_auth_results_no_is_the_old_path(net, net_gateway, dns, clamdb, keys):
    """No milter: no header of ours, p=reject mail is not refused (amavis's
    DKIM header and Received-SPF are back, as before this feature)."""
    c = start_full(net, net_gateway, {"MAIL_BOXES": INFO, "CLAMAV_FRESHCLAM": "no", "AUTH_RESULTS": "no"},
                   dns=dns.ip, hostname=HOST, volumes={clamdb: "/var/lib/clamav"}, kind="noauth")
    try:
        c.wait_banner(25, timeout=90)
        assert "smtpd_milters =" not in c.exec(["postconf", "-n"]).stdout
        subject = "noauth-reject-" + token()
        assert_accepted(send_message(c.ip, broken(keys, "ceo@reject.test", subject), "bounce@env.test",
                                     [INFO]))
        m = wait_mail(c, INFO_MBOX, subject, timeout=180)
        ar = [unfold(v) for v in header_values(m, "Authentication-Results")]
        assert not [v for v in ar if "dmarc=" in v], ar
        assert any("(amavis)" in v and "dkim=fail" in v for v in ar), ar
        assert header_values(m, "Received-SPF"), "policyd-spf's header is back"
    finally:
        c.rm()


# --- bad input ----------------------------------------------------------------------------

@pytest.mark.parametrize("var,value", [("DMARC_ENFORCE", "maybe"), ("ARC_TRUSTED_SIGNERS", "not_a_domain!"),
                                       ("ARC_SEAL", "sometimes"), ("AUTH_RESULTS", "x")])
def test_bad_input_exits_100(run_config_error, var, value):
    code, out = run_config_error(stage="full", env={var: value}, timeout=90)
    assert code == BAD_CONFIG_EXIT, "%s=%r: exit %r\n%s" % (var, value, code, out[-3000:])
    lines = [ln for ln in out.splitlines() if var in ln and value in ln]
    assert len(lines) == 1, "%s=%r: no single line naming the variable and value:\n%s" % (var, value, out)
