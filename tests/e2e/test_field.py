"""The `full` image (and `rspamd` where marked) under the conditions a peer
MTA and a real network make, not the friendlier ones of the other modules
(issue 11):

- mail sent the moment port 25 first answers, after `docker run` and after
  `docker restart`, before amavis is ready (full) or just after rspamd
  started (rspamd): delivered by itself, without anybody flushing the queue;
- a resolver that drops every query (the DNS peer frozen with `docker
  pause`, from the start or in the middle): every SMTP reply on 25, 465
  and 587 comes within 5 s, clean mail is delivered, SPF and DKIM record a
  temporary error (never a pass), and when DNS answers again the checks
  resume by themselves (full, and rspamd's before-queue milter);
- PostSRSd rewrites only mail that is forwarded to another host;
- health probes speak each protocol to its end (no amavis errors).

No test here adds an /etc/hosts entry for the client (the other modules
do): Postfix looks the client's address up in the DNS, as in the field.
Timings are printed for the notes; the deadlines asserted are the protocol
promises of the issue (5 s per reply, 60 s to delivery), with a client
whose socket time-out is that deadline.
"""
import re
import smtplib
import socket
import ssl
import time

import pytest

from dockerlib import DockerError, docker, pause, send_message, wait_for
from fullpeers import (SA_DNS_TEST_DOMAINS, build_message, cat, dkim_record, dkim_sign,
                       header_values, make_volume, our_auth_results,
                       rm_volume, start_dns, start_full, token, wait_relayed,
                       wait_mail)
from rspamdpeers import start_image

INFO = "info@example.com"
INFO_MBOX = "/var/mail/" + INFO
FOREIGN = "someone@foreign.test"
SASL_USER, SASL_PW = "user", "Field-pw-" + token()
SIGNER, SELECTOR = "signer.test", "e2e"
REPLY_DEADLINE = 5       # seconds for every SMTP reply, DNS or not
DELIVERY_DEADLINE = 60   # seconds from acceptance to the mailbox


# --- peers ---------------------------------------------------------------------------------

def field_dns(net, gateway, signer_key):
    return start_dns(net, txt={
        "spf-pass.test": "v=spf1 ip4:%s -all" % gateway,
        SIGNER: "v=spf1 ip4:%s -all" % gateway,
        "%s._domainkey.%s" % (SELECTOR, SIGNER): dkim_record(signer_key),
    }, addresses={d: "192.0.2.53" for d in SA_DNS_TEST_DOMAINS})


class Outage:
    """`docker pause` freezes dnsmasq: queries reach it and get no answer,
    as from a resolver whose upstream is down."""

    def __init__(self, dns):
        self.dns = dns

    def __enter__(self):
        pause(self.dns.name)
        return self

    def __exit__(self, *exc):
        docker("unpause", self.dns.name, check=False)


@pytest.fixture(scope="module")
def dns(net, net_gateway, signer_key):
    p = field_dns(net, net_gateway, signer_key)
    try:
        yield p
    finally:
        docker("unpause", p.name, check=False)
        p.rm()


def field_env(relay):
    return {
        "MAIL_DOMAIN": "example.com other.test",
        "MAIL_BOXES": "%s bob@other.test" % INFO,
        "MAIL_ALIASES": "fwd@example.com:%s" % FOREIGN,
        "CLAMAV_FRESHCLAM": "no",
        "RELAYHOST": "[%s]:25" % relay.name,
        "SMTP_TLS_SECURITY_LEVEL": "none",
        "SMTPD_SASL_CLIENTAUTH": "%s:{PLAIN}%s" % (SASL_USER, SASL_PW),
    }


@pytest.fixture(scope="module")
def server(net, net_gateway, dns, clamdb, relay):
    """One full server shared by the module, ready (a clean message passed)."""
    c = start_full(net, net_gateway, field_env(relay), dns=dns.ip,
                   volumes={clamdb: "/var/lib/clamav"}, kind="field", client_host=False)
    try:
        first = wait_first_answer(c)
        send_and_deliver(c, "ready-" + token(), since=first)
        yield c
    finally:
        c.rm()


# --- clients -------------------------------------------------------------------------------

def wait_first_answer(c, timeout=90):
    """Polls port 25 (every 0.1 s, bounded) until something accepts the
    connection, as a peer's retry would find it; returns the time."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout * 10) + 10):
        try:
            with socket.create_connection((c.ip, 25), timeout=1):
                return time.monotonic()
        except (OSError, DockerError):
            pass
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    raise AssertionError("%s: port 25 never answered in %d s; logs:\n%s" % (c.name, timeout, c.logs()[-4000:]))


class TimedSMTP:
    """smtplib with the reply deadline as its socket time-out (any reply
    later than that raises), recording how long each reply took."""

    def __init__(self, host, port, implicit_tls=False):
        self.times = []
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.ctx = ctx
        t = time.monotonic()
        if implicit_tls:
            self.s = smtplib.SMTP_SSL(host, port, timeout=REPLY_DEADLINE, context=ctx)
        else:
            self.s = smtplib.SMTP(host, port, timeout=REPLY_DEADLINE)
        self.times.append(("greeting", time.monotonic() - t))

    def do(self, what, fn, *args):
        t = time.monotonic()
        try:
            r = fn(*args)
        finally:
            self.times.append((what, time.monotonic() - t))
        return r

    def send(self, mail_from, rcpts, msg, starttls=False, login=False):
        s = self.s
        self.do("EHLO", s.ehlo, "client.test")
        if starttls:
            self.do("STARTTLS", s.starttls, None, None, self.ctx)
            self.do("EHLO", s.ehlo, "client.test")
        if login:
            self.do("AUTH", s.login, SASL_USER, SASL_PW)
        code, _ = self.do("MAIL", s.mail, mail_from)
        assert code == 250, code
        for r in rcpts:
            code, text = self.do("RCPT", s.rcpt, r)
            assert code == 250, (r, code, text)
        code, text = self.do("DATA", s.data, msg)
        assert code == 250, (code, text)
        self.do("QUIT", s.quit)
        return text

    def slowest(self):
        return max(self.times, key=lambda x: x[1])


def send_timed(c, port, mail_from, rcpts, msg, **kw):
    """One transaction; every reply within REPLY_DEADLINE; returns the timings."""
    t = TimedSMTP(c.ip, port, implicit_tls=(port == 465))
    try:
        t.send(mail_from, rcpts, msg, **kw)
    except (socket.timeout, TimeoutError) as e:
        raise AssertionError("port %d: no reply within %d s (%r); replies so far %s; logs:\n%s"
                             % (port, REPLY_DEADLINE, e, t.times, c.logs()[-3000:])) from None
    what, secs = t.slowest()
    print("\nport %d replies: %s" % (port, ", ".join("%s %.2f s" % x for x in t.times)))
    assert secs < REPLY_DEADLINE, (what, secs)
    return t.times


def send_and_deliver(c, subject, since=None, mail_from="alice@spf-pass.test", msg=None):
    """Sends on 25 at once (a client time-out of 30 s, as a peer's) and waits
    for the mailbox without flushing the queue; returns the message."""
    msg = msg or build_message(mail_from, INFO, subject)
    t0 = time.monotonic()
    r = send_message(c.ip, msg, mail_from, [INFO], timeout=30)
    assert r["delivered"], "not accepted: %r" % r
    accepted = time.monotonic()
    m = wait_mail(c, INFO_MBOX, subject, timeout=DELIVERY_DEADLINE)
    done = time.monotonic()
    print("\n%s: accepted after %.1f s, delivered %.1f s later%s" % (
        subject, accepted - t0, done - accepted,
        "" if since is None else " (%.1f s after port 25 first answered)" % (done - since)))
    return m


# --- 1: mail at the first answer ---------------------------------------------------------------

def start_field(image, request, net, net_gateway, env, dns_ip, volumes, kind):
    """A full or rspamd server as a peer meets it (no client host entry),
    with the image's ClamAV database."""
    clam = request.getfixturevalue("clamdb" if image == "full" else "rspamd_clamdb")
    volumes = dict(volumes, **{clam: "/var/lib/clamav"})
    if image == "full":
        return start_full(net, net_gateway, env, dns=dns_ip, client_host=False, volumes=volumes, kind=kind)
    return start_image(image, net, net_gateway, env, dns=dns_ip, client_host=False, volumes=volumes,
                       kind=kind)


@pytest.mark.parametrize("image", ["full", "rspamd"])
@pytest.mark.parametrize("resolver", ["answering", "dropping"])
def test_mail_sent_at_first_answer_after_run_and_restart(request, net, net_gateway, relay, signer_key,
                                                          resolver, image):
    """A peer sends the moment port 25 answers, before amavis has loaded
    SpamAssassin (full) or when rspamd has just started (its milter answers
    before Postfix listens): the message is delivered within a minute, by itself."""
    d = field_dns(net, net_gateway, signer_key)
    vol = make_volume()
    c = None
    try:
        if resolver == "dropping":
            pause(d.name)
        c = start_field(image, request, net, net_gateway, field_env(relay), d.ip, {vol: "/srv"},
                        "first-%s-%s" % (image, resolver))
        first = wait_first_answer(c)
        send_and_deliver(c, "at-first-answer-" + token(), since=first)
        docker("restart", c.name, timeout=90)
        first = wait_first_answer(c)
        send_and_deliver(c, "after-restart-" + token(), since=first)
        assert "postqueue" not in c.logs(), "Postfix was asked before it ran:\n" + c.logs()[-3000:]
        assert "does not accept connections" not in c.logs(), c.logs()[-3000:]
    finally:
        if c:
            c.rm()
        docker("unpause", d.name, check=False)
        d.rm()
        rm_volume(vol)


def test_filter_crash_mail_goes_on_when_it_is_back(server):
    """amavis killed: mail accepted meanwhile is deferred (its socket has
    no listener) and delivered once init has restarted amavis, with one
    log line saying so."""
    c = server
    c.exec(["sh", "-c", "kill -9 $(cat /run/amavis/amavisd.pid)"])
    subject = "while-amavis-down-" + token()
    send_and_deliver(c, subject)
    assert re.search(r"mtactl filter-watch: \d+ messages? waited for the content filter", c.logs()), \
        "no retry was logged:\n" + c.logs()[-3000:]


# --- 2: a resolver that drops every query -------------------------------------------------------

def test_dns_outage_replies_in_time_and_mail_flows(server, dns, signer_key, net_gateway):
    c = server
    with Outage(dns):
        plain = "outage-plain-" + token()
        send_timed(c, 25, "alice@spf-pass.test", [INFO], build_message("alice@spf-pass.test", INFO, plain))
        signed = "outage-signed-" + token()
        msg = dkim_sign(build_message("a@%s" % SIGNER, INFO, signed), SELECTOR, SIGNER, signer_key)
        send_timed(c, 25, "a@%s" % SIGNER, [INFO], msg)
        sub = "outage-587-" + token()
        send_timed(c, 587, "info@example.com", [INFO], build_message(INFO, INFO, sub),
                   starttls=True, login=True)
        smtps = "outage-465-" + token()
        send_timed(c, 465, "info@example.com", [INFO], build_message(INFO, INFO, smtps), login=True)
        t0 = time.monotonic()
        m_plain = wait_mail(c, INFO_MBOX, plain, timeout=DELIVERY_DEADLINE)
        m_signed = wait_mail(c, INFO_MBOX, signed, timeout=DELIVERY_DEADLINE)
        for s in (sub, smtps):
            wait_mail(c, INFO_MBOX, s, timeout=DELIVERY_DEADLINE)
        print("\noutage: four messages delivered %.1f s after the last was accepted" % (time.monotonic() - t0))
        spf = " ".join(our_auth_results(m_plain))
        assert re.search(r"\bspf=temperror\b", spf), "SPF during the outage: %r" % spf
        ar = " ".join(our_auth_results(m_signed))
        assert re.search(r"\bdkim=temperror\b", ar), "DKIM during the outage: %r" % ar
        assert "dkim=pass" not in ar and "spf=pass" not in spf, (spf, ar)
    # DNS answers again: the checks resume by themselves
    def resumed():
        subject = "after-outage-" + token()
        msg = dkim_sign(build_message("a@%s" % SIGNER, INFO, subject), SELECTOR, SIGNER, signer_key)
        m = send_and_deliver(c, subject, mail_from="a@%s" % SIGNER, msg=msg)
        ar = " ".join(our_auth_results(m))
        return re.search(r"\bspf=pass\b", ar) and re.search(r"\bdkim=pass\b", ar)
    wait_for(resumed, timeout=120, interval=5, what="SPF and DKIM passing again after the outage")


@pytest.fixture(scope="module")
def rspamd_server(request, net, net_gateway, dns, relay):
    """One rspamd server for the outage test, ready."""
    c = start_field("rspamd", request, net, net_gateway, field_env(relay), dns.ip, {}, "field-rspamd")
    try:
        first = wait_first_answer(c)
        wait_for(lambda: send_message(c.ip, build_message("alice@spf-pass.test", INFO, "probe"),
                                      "alice@spf-pass.test", [INFO], timeout=30)["delivered"],
                 timeout=120, interval=2, what="rspamd to accept a message")
        send_and_deliver(c, "ready-" + token(), since=first)
        yield c
    finally:
        c.rm()


def test_rspamd_dns_outage_replies_in_time_and_mail_flows(rspamd_server, dns, signer_key):
    """The same outage for rspamd, a before-queue milter: its SPF, DKIM, DMARC
    and DNSBL lookups fail within the reply deadline, and the mail is accepted
    (never a 4xx for DNS) and delivered."""
    c = rspamd_server
    with Outage(dns):
        plain = "rspamd-outage-plain-" + token()
        send_timed(c, 25, "alice@spf-pass.test", [INFO], build_message("alice@spf-pass.test", INFO, plain))
        signed = "rspamd-outage-signed-" + token()
        msg = dkim_sign(build_message("a@%s" % SIGNER, INFO, signed), SELECTOR, SIGNER, signer_key)
        send_timed(c, 25, "a@%s" % SIGNER, [INFO], msg)
        sub = "rspamd-outage-587-" + token()
        send_timed(c, 587, "info@example.com", [INFO], build_message(INFO, INFO, sub),
                   starttls=True, login=True)
        m_plain = wait_mail(c, INFO_MBOX, plain, timeout=DELIVERY_DEADLINE)
        m_signed = wait_mail(c, INFO_MBOX, signed, timeout=DELIVERY_DEADLINE)
        wait_mail(c, INFO_MBOX, sub, timeout=DELIVERY_DEADLINE)
        spf, ar = " ".join(our_auth_results(m_plain)), " ".join(our_auth_results(m_signed))
        print("\nrspamd outage results: %s | %s" % (spf, ar))
        assert re.search(r"\bspf=temperror\b", spf), "SPF during the outage: %r" % spf
        assert re.search(r"\bdkim=temperror\b", ar), "DKIM during the outage: %r" % ar
        assert "dkim=pass" not in ar and "spf=pass" not in spf, (spf, ar)

    def resumed():
        subject = "rspamd-after-outage-" + token()
        msg = dkim_sign(build_message("a@%s" % SIGNER, INFO, subject), SELECTOR, SIGNER, signer_key)
        m = send_and_deliver(c, subject, mail_from="a@%s" % SIGNER, msg=msg)
        ar = " ".join(our_auth_results(m))
        return re.search(r"\bspf=pass\b", ar) and re.search(r"\bdkim=pass\b", ar)
    wait_for(resumed, timeout=120, interval=5, what="SPF and DKIM passing again after the outage")


# --- 4: SRS only for forwarded mail --------------------------------------------------------------

def test_srs_only_when_forwarding(server, relay):
    c = server
    subject = "srs-" + token()
    # one transaction: a local mailbox and an alias forwarding off the host
    r = send_message(c.ip, build_message("x@sender.test", INFO, subject), "x@sender.test",
                     [INFO, "fwd@example.com"], timeout=30)
    assert r["delivered"], r
    local = wait_mail(c, INFO_MBOX, subject)
    assert header_values(local, "Return-Path") == ["<x@sender.test>"], \
        "local delivery must keep the envelope sender: %r" % header_values(local, "Return-Path")
    (fwd,) = wait_relayed(relay, subject)
    srs = fwd["mail_from"]
    assert fwd["rcpt_tos"] == [FOREIGN], fwd
    # the primary domain (example.com), not other.test, holds SRS addresses
    assert re.fullmatch(r"SRS0=[^=]+=[^=]+=sender\.test=x@example\.com", srs), srs
    # a bounce to it reaches the original sender
    bounce = "srs-bounce-" + token()
    r = send_message(c.ip, build_message("", srs, bounce), "", [srs], timeout=30)
    assert r["delivered"], r
    (b,) = wait_relayed(relay, bounce)
    assert b["rcpt_tos"] == ["x@sender.test"] and b["mail_from"] in ("", "<>"), b
    # senders of our own domains, the second one included, are never rewritten
    for sender in ("bob@other.test", "info@example.com"):
        own = "srs-own-" + token()
        r = send_message(c.ip, build_message(sender, "fwd@example.com", own), sender,
                         ["fwd@example.com"], timeout=30)
        assert r["delivered"], r
        (m,) = wait_relayed(relay, own)
        assert m["mail_from"] == sender
    secret = c.exec(["readlink", "-f", "/etc/postsrsd/postsrsd.secret"]).stdout.strip()
    assert secret.startswith("/srv/") and cat(c, secret).strip(), "the SRS secret is not kept: %r" % secret
    noise = [ln for ln in c.logs().splitlines() if "not rewritten" in ln]
    assert not noise, "PostSRSd was asked about addresses it must not rewrite: %s" % noise[:3]


# --- 5: quiet health probes ------------------------------------------------------------------------

LOUD = re.compile(r"^mail\.(warning|err|crit|alert|emerg) |TROUBLE|Broken pipe|rundown|"
                  r"mtactl [a-z-]+: warning:", re.M)


def test_health_probes_speak_to_the_end(server):
    """Every probe of amavis (LHLO/QUIT) and clamd (PING) ends cleanly: a
    stretch of health checks adds no line at warning level or above."""
    c = server
    before = len(c.logs().splitlines())
    for _ in range(20):
        p = c.exec(["mtactl", "health"], check=False)
        assert p.returncode == 0, p.stdout + p.stderr
    time.sleep(2)
    new = "\n".join(c.logs().splitlines()[before:])
    loud = LOUD.findall(new)
    assert not loud, "health checks made noise:\n%s" % new
