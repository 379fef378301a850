"""Outbound TLS of the images (issue 12, points 4 and 5): MTA-STS and DANE.

Peers (tests/peers/tlsmx, image mta-test-tlsmx): two stock Debian Postfix
servers as the destination MX of the test domains, with certificates from a
CA the test makes with openssl (one whose certificate names the MX, one
whose certificate names another host), and python3's http.server over TLS
serving the MTA-STS policies. DNS: the DNS tier (tests/e2e/dnstier.py: knot
with a signed root, a validating unbound), given to the server as --dns.

    sts-good.test    MTA-STS enforce, MX certificate names the MX  -> delivered, Verified
    sts-bad.test     MTA-STS enforce, MX certificate has another name -> stays queued
    dane-good.test   signed, TLSA 3 1 1 of the MX's key            -> delivered, Verified
    dane-bad.test    signed, TLSA 3 1 1 of another key             -> stays queued
    plain.test       unsigned, no policy, no TLSA                  -> delivered (may)
    both.test        signed, MTA-STS enforce and TLSA 3 1 1 of the MX's key, whose
                     certificate has another name -> delivered by DANE (DANE wins)
    sts-dead.test    MTA-STS record, policy host drops every packet -> delivered
                     within seconds (no policy known: the default level)

The server relays for the test client (MYNETWORKS); what arrived is read
from the peers' mailboxes, what waits from postqueue, the reasons from the
logs. Every wait is bounded in time and in count.
"""
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import dnstier
from basepeers import ensure_image
from dockerlib import LABEL, Container, docker, pause, read_banner, send_mail, unique_name, wait_for
from fullpeers import start_dns, start_full, token

TESTS_DIR = Path(__file__).resolve().parent.parent
TLSMX_IMAGE = os.environ.get("TLSMX_IMAGE", "mta-test-tlsmx")
TLSMX_DIR = TESTS_DIR / "peers" / "tlsmx"
DOMAINS = ("sts-good.test", "sts-bad.test", "sts-dead.test", "dane-good.test", "dane-bad.test",
           "both.test", "plain.test")
SENDER = "sender@example.com"
MBOX = "/var/mail/vhosts/all"
DELIVERY_TIMEOUT = 150   # amavis's first start included
BANNER_DEADLINE = 10     # seconds from docker run to the 220 greeting with DNS down


# --- certificates -------------------------------------------------------------------------

def _openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def make_ca(d):
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj",
             "/CN=mta e2e test CA", "-keyout", str(d / "ca.key"), "-out", str(d / "ca.pem"))


def make_leaf(d, name, cn, sans):
    key, csr, pem = d / (name + ".key"), d / (name + ".csr"), d / (name + ".pem")
    ext = d / (name + ".ext")
    ext.write_text("subjectAltName=%s\n" % ",".join("DNS:" + s for s in sans))
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + cn, "-keyout", str(key),
             "-out", str(csr))
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(d / "ca.pem"), "-CAkey", str(d / "ca.key"),
             "-CAcreateserial", "-days", "30", "-extfile", str(ext), "-out", str(pem))
    os.chmod(key, 0o644)    # read by the peers as whatever user they run
    return pem


def spki_sha256(pem):
    """TLSA 3 1 1 data: SHA-256 of the certificate's SubjectPublicKeyInfo."""
    pub = subprocess.run(["openssl", "x509", "-in", str(pem), "-noout", "-pubkey"], check=True,
                         capture_output=True, timeout=30).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub, check=True,
                         capture_output=True, timeout=30).stdout
    return hashlib.sha256(der).hexdigest()


def unused_address(ip):
    """An address of the peers' subnet that no container has (the last of a /24)."""
    return ip.rsplit(".", 1)[0] + ".254"


def policy(mx):
    return "version: STSv1\nmode: enforce\nmx: %s\nmax_age: 86400\n" % mx


# --- peers --------------------------------------------------------------------------------

def start_tlsmx(net, role, certdir, cert, extra=()):
    """A peer of mta-test-tlsmx in role mx or https, with /certs/<role>.pem
    and .key taken from cert (a path under certdir)."""
    name = unique_name("tls" + role)
    own = certdir / name
    own.mkdir()
    kind = "mx" if role == "mx" else "https"
    shutil.copy(cert, own / (kind + ".pem"))
    shutil.copy(cert.with_suffix(".key"), own / (kind + ".key"))
    os.chmod(own, 0o755)
    os.chmod(own / (kind + ".key"), 0o644)
    docker("run", "-d", "--name", name, "--label", LABEL, "--network", net, "--network-alias", name,
           "--hostname", name, "-e", "DOMAINS=" + " ".join(DOMAINS), "-v", "%s:/certs:ro" % own,
           *extra, TLSMX_IMAGE, role)
    return Container(name, net)


def mbox(c):
    return c.exec(["sh", "-c", "cat %s 2>/dev/null || true" % MBOX]).stdout


@pytest.fixture(scope="module")
def world(net, net_gateway):
    """The peers, the DNS tier and one full server relaying for the test client."""
    ensure_image(TLSMX_IMAGE, TLSMX_DIR)
    d = Path(tempfile.mkdtemp(prefix="mta-e2e-tls-"))
    os.chmod(d, 0o755)
    started = []
    tier = None
    try:
        make_ca(d)
        good = make_leaf(d, "good", "mx.sts-good.test",
                         ["mx.%s" % z for z in DOMAINS if z != "sts-bad.test"])
        wrong = make_leaf(d, "wrong", "wrong-name.test", ["wrong-name.test"])
        web = make_leaf(d, "web", "mta-sts.sts-good.test",
                        ["mta-sts.sts-good.test", "mta-sts.sts-bad.test", "mta-sts.both.test"])
        www = d / "www"
        for z in ("sts-good.test", "sts-bad.test", "both.test"):
            p = www / ("mta-sts." + z) / ".well-known"
            p.mkdir(parents=True)
            (p / "mta-sts.txt").write_text(policy("mx." + z))
        for p in [www] + list(www.rglob("*")):
            os.chmod(p, 0o755 if p.is_dir() else 0o644)
        mx_good = start_tlsmx(net, "mx", d, good)
        started.append(mx_good)
        mx_wrong = start_tlsmx(net, "mx", d, wrong)
        started.append(mx_wrong)
        https = start_tlsmx(net, "https", d, web, extra=("-v", "%s:/srv/www:ro" % www))
        started.append(https)
        for c in (mx_good, mx_wrong):
            c.wait_banner(25, timeout=60)
        wait_for(lambda: "serving" in https.logs(), timeout=30, interval=0.5, what="the https peer")

        def zone(z, mx_ip, extra=()):
            return ["@ MX 10 mx.%s." % z, "mx A %s" % mx_ip, '@ TXT "v=spf1 -all"', *extra]
        sts = ['_mta-sts TXT "v=STSv1; id=%s"' % token(), "mta-sts A %s" % https.ip]
        tier = dnstier.start(net, zones={
            "sts-good.test": zone("sts-good.test", mx_good.ip, sts),
            "sts-bad.test": zone("sts-bad.test", mx_wrong.ip, sts),
            "dane-good.test": zone("dane-good.test", mx_good.ip,
                                   ["_25._tcp.mx TLSA 3 1 1 %s" % spki_sha256(good)]),
            "dane-bad.test": zone("dane-bad.test", mx_good.ip,
                                  ["_25._tcp.mx TLSA 3 1 1 %s" % hashlib.sha256(b"another key").hexdigest()]),
            "plain.test": zone("plain.test", mx_good.ip),
            "both.test": zone("both.test", mx_wrong.ip, sts + ["_25._tcp.mx TLSA 3 1 1 %s" % spki_sha256(wrong)]),
            # An unused address of the network: the policy fetch gets no answer at all.
            "sts-dead.test": zone("sts-dead.test", mx_good.ip,
                                  ['_mta-sts TXT "v=STSv1; id=%s"' % token(),
                                   "mta-sts A %s" % unused_address(mx_good.ip)]),
        }, signed={"dane-good.test", "dane-bad.test", "both.test"})
        os.chmod(d / "ca.pem", 0o644)
        mta = start_full(net, net_gateway, dns=tier.resolver, volumes={str(d): "/certs"}, env={
            "MAIL_BOXES": "info@example.com",
            "MYNETWORKS": "127.0.0.0/8 %s/32" % net_gateway,
            "CLAMAV_DAEMON": "no",
            "SYSLOG_LEVEL": "6",
            "SMTP_TLS_CA_FILE": "/certs/ca.pem",
        })
        started.append(mta)
        mta.wait_banner(25, timeout=90)
        yield {"mta": mta, "good": mx_good, "wrong": mx_wrong, "https": https, "tier": tier}
    finally:
        for c in reversed(started):
            c.rm()
        if tier:
            tier.stop()
        shutil.rmtree(d, ignore_errors=True)


def relay(world, rcpt):
    subject = "outbound-%s-%s" % (rcpt.split("@")[1], token())
    r = send_mail(world["mta"].ip, mail_from=SENDER, rcpts=[rcpt], subject=subject,
                  body="Outbound TLS test.\n")
    assert r["delivered"], "the server did not take the message for %s: %r" % (rcpt, r)
    return subject


def wait_arrived(world, peer, subject):
    def arrived():
        return subject in mbox(world[peer])
    try:
        wait_for(arrived, timeout=DELIVERY_TIMEOUT, interval=2, what="%s at the %s MX" % (subject, peer))
    except AssertionError as e:
        raise AssertionError("%s\nserver log:\n%s" % (e, world["mta"].logs()[-4000:])) from None
    msg = mbox(world[peer])
    return msg[msg.rfind("\nFrom ", 0, msg.find(subject)) + 1:]


def smtp_log(world, rcpt, pattern):
    """The server's smtp line for rcpt matching pattern (status=..., bounded wait)."""
    rx = re.compile(r"postfix/smtp\[\d+\]: \w+: to=<%s>[^\n]*%s[^\n]*" % (re.escape(rcpt), pattern))
    try:
        return wait_for(lambda: rx.search(world["mta"].logs()), timeout=DELIVERY_TIMEOUT, interval=2,
                        what="%s for %s in the log" % (pattern, rcpt)).group(0)
    except AssertionError as e:
        raise AssertionError("%s\nserver log:\n%s" % (e, world["mta"].logs()[-4000:])) from None


def queued(world, rcpt):
    return rcpt in world["mta"].exec(["postqueue", "-p"]).stdout


# --- the level ----------------------------------------------------------------------------

def wait_level_line(c):
    """The log once it has the outbound TLS line (it follows the services' start)."""
    return wait_for(lambda: "outbound TLS:" in c.logs() and c.logs(), timeout=10, interval=0.5,
                    what="the outbound TLS line in the log of %s" % c.name)


def test_default_level_is_dane_with_a_validating_resolver(world):
    logs = wait_level_line(world["mta"])
    lines = [l for l in logs.splitlines() if "outbound TLS:" in l]
    assert len(lines) == 1, logs[-3000:]
    assert "outbound TLS: dane, since the resolver validates DNSSEC" in lines[0]
    assert world["mta"].exec(["postconf", "-x", "-h", "smtp_tls_security_level"]).stdout.strip() == "dane"
    assert world["mta"].exec(["postconf", "-h", "smtp_dns_support_level"]).stdout.strip() == "dnssec"


# --- MTA-STS ------------------------------------------------------------------------------

def assert_delivered_verified(world, domain, mx_peer):
    """Mail relayed to info@domain arrives at mx_peer over TLS (the MX's
    Received header says so: not plaintext), and our smtp client logged the
    connection to mx.domain as Verified."""
    subject = relay(world, "info@" + domain)
    msg = wait_arrived(world, mx_peer, subject)
    assert "using TLS" in msg, msg[:2000]
    logs = world["mta"].logs()
    assert re.search(r"Verified TLS connection established to mx\.%s" % re.escape(domain), logs), \
        logs[-3000:]


def test_mta_sts_enforce_with_a_good_certificate_is_delivered_verified(world):
    rcpt = "info@sts-good.test"
    assert_delivered_verified(world, "sts-good.test", "good")
    assert smtp_log(world, rcpt, "status=sent")
    assert not queued(world, rcpt)


def test_mta_sts_enforce_with_a_wrong_name_stays_queued(world):
    rcpt = "info@sts-bad.test"
    subject = relay(world, rcpt)
    line = smtp_log(world, rcpt, "status=deferred")
    assert re.search(r"certificate|verif", line, re.I), line
    assert queued(world, rcpt)
    assert subject not in mbox(world["wrong"])       # nothing went in plaintext either
    assert not re.search(r"postfix/smtp\[\d+\]: \w+: to=<%s>[^\n]*status=sent" % re.escape(rcpt),
                         world["mta"].logs())


# --- DANE ---------------------------------------------------------------------------------

def test_dane_with_matching_tlsa_is_delivered_verified(world):
    assert_delivered_verified(world, "dane-good.test", "good")


def test_dane_with_a_wrong_tlsa_stays_queued(world):
    rcpt = "info@dane-bad.test"
    subject = relay(world, rcpt)
    line = smtp_log(world, rcpt, "status=deferred")
    assert re.search(r"certificate|TLSA|verif|trust", line, re.I), line
    assert queued(world, rcpt)
    assert subject not in mbox(world["good"])


def test_dane_wins_over_mta_sts(world):
    """RFC 8461 section 2: with TLSA records, DANE decides, not the policy.
    The MX's certificate does not carry its name (MTA-STS alone would keep
    the mail queued, as for sts-bad.test), but its key matches the TLSA."""
    assert_delivered_verified(world, "both.test", "wrong")


def test_plain_destination_is_still_delivered(world):
    rcpt = "info@plain.test"
    subject = relay(world, rcpt)
    wait_arrived(world, "good", subject)
    assert smtp_log(world, rcpt, "status=sent")


def test_dead_policy_host_does_not_hold_up_delivery(world):
    """The policy fetch gives up after 2 s; mail goes out at the default
    level (RFC 8461 5.1: no policy known, none fetched)."""
    rcpt = "info@sts-dead.test"
    t0 = time.monotonic()
    subject = relay(world, rcpt)
    wait_arrived(world, "good", subject)
    took = time.monotonic() - t0
    print("delivered %.1f s after acceptance with the policy host silent" % took)
    assert took < 30, took
    line = smtp_log(world, rcpt, "status=sent")
    m = re.search(r"delays=[\d.]+/[\d.]+/([\d.]+)/", line)
    assert m and float(m.group(1)) < 10, line     # connection setup incl. the policy lookup


def test_quiet_logs_per_message(world):
    """At the default SYSLOG_LEVEL nothing of the MTA-STS daemon reaches the log."""
    logs = world["mta"].logs()
    assert "Traceback" not in logs, logs[-3000:]
    assert not re.search(r"^\S+ \S+ (WARNING|ERROR|INFO) +(RES|STS|MAIN):", logs, re.M), logs[-3000:]
    assert re.search(r"mta-sts: down -> up", logs)


# --- the level without a validating resolver, and without DNS -----------------------------

def test_default_level_is_may_with_a_non_validating_resolver(mta, net):
    dns = start_dns(net)
    try:
        c = mta("mini", extra_args=("--dns", dns.ip))
        logs = wait_level_line(c)
        line = [l for l in logs.splitlines() if "outbound TLS:" in l]
        assert len(line) == 1, logs
        assert "outbound TLS: may (opportunistic), since the resolver does not validate DNSSEC" in line[0]
        assert "DNS_RESOLVER=unbound" in line[0]
        assert c.exec(["postconf", "-x", "-h", "smtp_tls_security_level"]).stdout.strip() == "may"
        # Every start asks again, also on the configured (locked) volume.
        c.restart()
        wait_for(lambda: c.logs().count("outbound TLS: may (opportunistic)") == 2, timeout=10,
                 interval=0.5, what="the outbound TLS line of the second start")
        assert "configuration kept from the volume" in c.logs()
    finally:
        dns.rm()


def test_dns_dropped_start_is_bounded(mta, net):
    dns = start_dns(net)
    pause(dns.name)
    try:
        t0 = time.monotonic()
        c = mta("mini", extra_args=("--dns", dns.ip), wait=False)
        c.wait_banner(25, timeout=BANNER_DEADLINE)
        took = time.monotonic() - t0
        print("banner %.1f s after docker run with the resolver frozen" % took)
        # The level is set after the services started, once the probe gave up.
        wait_for(lambda: "outbound TLS: may (opportunistic), since the resolver gave no answer"
                 in c.logs(), timeout=10, interval=0.5, what="the outbound TLS line")
        assert c.exec(["postconf", "-x", "-h", "smtp_tls_security_level"]).stdout.strip() == "may"
        assert read_banner(c.ip, 25, timeout=5).startswith("220")
    finally:
        docker("unpause", dns.name, check=False)
        dns.rm()


def test_explicit_dane_without_validation_warns(mta, net):
    dns = start_dns(net)
    try:
        c = mta("mini", env={"SMTP_TLS_SECURITY_LEVEL": "dane"}, extra_args=("--dns", dns.ip))
        logs = wait_level_line(c)
        assert re.search(r"warning: outbound TLS: dane, but the resolver does not validate DNSSEC", logs), logs
        assert c.exec(["postconf", "-h", "smtp_tls_security_level"]).stdout.strip() == "dane"
    finally:
        dns.rm()


def test_unbound_resolver_runs_and_fails_fast(mta):
    """DNS_RESOLVER=unbound: it runs, every service uses it, and with no way
    to the root servers (internal network) a lookup fails within seconds."""
    c = mta("full", env={"DNS_RESOLVER": "unbound", "CLAMAV_DAEMON": "no"}, wait=False)
    c.wait_banner(25, timeout=90)
    logs = wait_level_line(c)
    assert "outbound TLS: dane, since DNS_RESOLVER=unbound validates DNSSEC" in logs, logs
    assert re.search(r"unbound: down -> up", logs), logs
    assert "nameserver 127.0.0.1" in c.read_file("/etc/resolv.conf")
    assert "unbound" in c.exec(["sh", "-c", "cat /proc/[0-9]*/comm 2>/dev/null; true"]).stdout.split()
    t0 = time.monotonic()
    p = c.exec(["getent", "hosts", "mx.nowhere.test"], check=False, timeout=30)
    took = time.monotonic() - t0
    print("lookup through unbound failed after %.1f s" % took)
    assert p.returncode != 0
    assert took < 8, took
    assert read_banner(c.ip, 25, timeout=5).startswith("220")
    # unbound and mta-sts-daemon stop within Docker's 10 s, cleanly.
    took = c.stop()
    assert took < 10 and c.exit_code() == 0, (took, c.logs()[-2000:])


def test_mta_sts_no_turns_the_policy_lookups_off(mta):
    c = mta("full", env={"MTA_STS": "no", "CLAMAV_DAEMON": "no"}, wait=False)
    c.wait_banner(25, timeout=90)
    assert c.exec(["postconf", "-h", "smtp_tls_policy_maps"]).stdout.strip() == ""
    services = c.read_file("/run/mtactl/services")
    assert "mta-sts" not in services and "tls-policy" not in services, services
    assert "postfix up" in services, services


# --- bad input ----------------------------------------------------------------------------

@pytest.mark.parametrize("stage,var,value,expected", [
    ("full", "MTA_STS", "sometimes", "one of yes no"),
    ("full", "DNS_RESOLVER", "bind9", "docker (the resolver Docker gives) or unbound"),
    ("mini", "SMTP_TLS_CA_FILE", "/nonexistent/ca.pem", "PEM file"),
])
def test_bad_input_exits_100_with_one_line(run_config_error, stage, var, value, expected):
    code, out = run_config_error(stage, env={var: value})
    assert code == 100, out
    lines = [l for l in out.splitlines() if var in l]
    assert len(lines) == 1, out
    assert value in lines[0] and expected in lines[0], lines[0]
