"""`mtactl dns` and `mtactl doctor` against live DNS: the DNS tier (knot
with a signed root, a validating unbound; dnstier.py) is the containers'
resolver. The records `mtactl dns --zone` prints, fed into the tier with the
A and PTR records of the container's address, make the doctor pass; each
broken record, an open relay, an expired certificate and a listed address
give their `fail` line and exit 2; with the tier frozen (`docker pause`) the
doctor still ends within 30 s.
"""
import json
import re
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import dnstier
from dockerlib import docker, pause
from fullpeers import start_full

DOMAINS = ["example.org", "example.net"]
MX = "mx.example.org"
# The address senders would reach a server at behind NAT or Docker's port
# mapping (DOCTOR_PUBLIC_ADDRESSES).
PUBLIC = "192.0.2.25"
DNSBL = "dnsbl.test"
# Names outside every test zone get NXDOMAIN from the root at once: the
# tier's answer for a well-known list is "not listed".
DOCTOR_DNSBL = "%s zen.spamhaus.org" % DNSBL
ZONES = DOMAINS + ["in-addr.arpa", DNSBL]
DOCTOR_BUDGET = 30      # seconds, with DNS down too
CHECKS = {"mx", "fcrdns", "spf", "dkim", "dmarc", "tlsa", "tls-cert", "relay", "dnsbl"}
LINE = re.compile(r"^(ok|skip|warn|fail) +([a-z-]+)(?: ([^:]*))?: (.*)$")


@pytest.fixture(scope="module")
def tier(net):
    t = dnstier.start(net, zones={z: [] for z in ZONES}, signed={"example.org", "example.net"})
    try:
        yield t
    finally:
        docker("unpause", t.container.name, check=False)
        t.stop()


@pytest.fixture(scope="module")
def server(net, net_gateway, tier):
    """A full server for example.org and example.net at mx.example.org."""
    c = start_full(net, net_gateway, {
        "MAIL_DOMAIN": " ".join(DOMAINS),
        "MAIL_BOXES": "info@example.org info@example.net",
        "SMTPD_USE_TLS": "yes",
        "CLAMAV_DAEMON": "no",
        "CLAMAV_FRESHCLAM": "no",
        "DOCTOR_DNSBL": DOCTOR_DNSBL,
        # Docker's embedded DNS (127.0.0.11 on a user network) answers the
        # container's own host name and the PTR of its address itself, as
        # it does in the field; the doctor asks the resolver directly.
        "DOCTOR_RESOLVER": tier.resolver,
    }, dns=tier.resolver, hostname=MX, kind="doctor")
    try:
        c.wait_banner(25, timeout=180)
        yield c
    finally:
        c.rm()


def zone_of(owner):
    owner = owner.rstrip(".").lower()
    best = None
    for z in ZONES:
        if (owner == z or owner.endswith("." + z)) and (best is None or len(z) > len(best)):
            best = z
    assert best, "no test zone holds %s" % owner
    return best


def zone_lines(c):
    """`mtactl dns --zone` of container c: {zone: [record lines]}."""
    p = c.exec(["mtactl", "dns", "--zone"], timeout=60)
    zones = {z: [] for z in ZONES}
    for line in p.stdout.splitlines():
        if not line.strip() or line.startswith(";"):
            continue
        zones[zone_of(line.split()[0])].append(line)
    return zones


def host_records(ip, host=MX):
    a, b, c_, d = ip.split(".")
    return {"example.org": ["%s. A %s" % (host, ip)],
            "in-addr.arpa": ["%s.%s.%s.%s PTR %s." % (d, c_, b, a, host)]}


def publish(tier, zones, extra=None, drop=None):
    """Puts zones (plus extra {zone: [lines]}) into the tier, leaving out
    every line that matches the regular expression drop."""
    for z in ZONES:
        lines = [l for l in zones.get(z, []) if not (drop and re.search(drop, l))]
        lines += (extra or {}).get(z, [])
        tier.set_records(z, lines)


def doctor(c, *args):
    """Runs the doctor; (exit code, [(verdict, check, subject, found)], seconds)."""
    start = time.monotonic()
    p = c.exec(["mtactl", "doctor", *args], check=False, timeout=DOCTOR_BUDGET + 30)
    took = time.monotonic() - start
    if args:
        return p.returncode, p.stdout, took
    found = []
    for line in p.stdout.splitlines():
        m = LINE.match(line)
        assert m, "not a doctor line: %r\n%s" % (line, p.stdout + p.stderr)
        found.append(m.groups())
    assert found, "no output (exit %d): %s" % (p.returncode, p.stderr)
    return p.returncode, found, took


def lines_of(found, check, subject=None):
    return [f for f in found if f[1] == check and (subject is None or f[2] == subject)]


@pytest.fixture(scope="module")
def good(server, tier):
    """The records `mtactl dns` prints, with the A and PTR of the server."""
    zones = zone_lines(server)
    for z, lines in host_records(server.ip).items():
        zones[z] = zones[z] + lines
    return zones


def test_dns_human_readable_covers_every_domain(server):
    out = server.exec(["mtactl", "dns"]).stdout
    for d in DOMAINS:
        part = out.split("Domain %s:" % d, 1)[1].split("\nDomain ", 1)[0]
        assert "%s. MX 10 %s." % (d, MX) in part
        assert '%s. TXT "v=spf1 mx -all"' % d in part
        assert re.search(r'default\._domainkey\.%s\. TXT "v=DKIM1; k=rsa; p=[A-Za-z0-9+/=]{300,}"'
                         % re.escape(d), part), part
        assert ('_dmarc.%s. TXT "v=DMARC1; p=quarantine; rua=mailto:postmaster@%s; '
                'ruf=mailto:postmaster@%s' % (d, d, d)) in part
        assert re.search(r'_mta-sts\.%s\. TXT "v=STSv1; id=[0-9a-f]{20}"' % re.escape(d), part)
        assert "https://mta-sts.%s/.well-known/mta-sts.txt" % d in part
        for policy_line in ("version: STSv1", "mode: enforce", "mx: %s" % MX, "max_age: 604800"):
            assert policy_line in part
        assert '_smtp._tls.%s. TXT "v=TLSRPTv1; rua=mailto:postmaster@%s"' % (d, d) in part
    assert re.search(r"_25\._tcp\.%s\. TLSA 3 1 1 [0-9a-f]{64}" % re.escape(MX), out)


def test_dns_zone_lines_and_tlsa_digest(server, good):
    """Zone lines: TXT split into strings of at most 255 octets; the TLSA
    digest is the served certificate's public key, computed by openssl here."""
    dkim = [l for z in DOMAINS for l in good[z] if "._domainkey." in l]
    assert len(dkim) == 2
    for line in dkim:
        strings = re.findall(r'"((?:[^"\\]|\\.)*)"', line)
        assert len(strings) >= 2 and all(len(s) <= 255 for s in strings), line
    pem = subprocess.run(
        ["openssl", "s_client", "-connect", "%s:25" % server.ip, "-starttls", "smtp",
         "-servername", MX], input="", capture_output=True, text=True, timeout=30).stdout
    cert = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", pem, re.S).group(0)
    spki = subprocess.run(["openssl", "x509", "-noout", "-pubkey"], input=cert,
                          capture_output=True, text=True, check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=spki.encode(),
                         capture_output=True, check=True).stdout
    digest = subprocess.run(["openssl", "dgst", "-sha256", "-r"], input=der, capture_output=True,
                            check=True).stdout.split()[0].decode()
    tlsa = [l for l in good["example.org"] if l.split()[3:4] == ["TLSA"]]
    assert tlsa and tlsa[0].split()[-1] == digest


def test_doctor_passes_with_the_printed_records(server, tier, good):
    publish(tier, good)
    logs_before = server.logs().splitlines()
    rc, found, took = doctor(server)
    # The relay attempts and the STARTTLS probe leave no line at the default
    # SYSLOG_LEVEL (smtpd logs its rejects at info).
    new = [l for l in server.logs().splitlines()[len(logs_before):] if "smtpd" in l]
    assert not new, new
    print(server.exec(["mtactl", "doctor"], check=False).stdout)   # shown with pytest -s
    bad = [f for f in found if f[0] != "ok"]
    assert rc == 0 and not bad, "\n".join(" ".join(x or "" for x in f) for f in found)
    assert {f[1] for f in found} == CHECKS
    for d in DOMAINS:
        for check in ("mx", "spf", "dkim", "dmarc"):
            assert lines_of(found, check, d), (check, d, found)
    assert len(lines_of(found, "dnsbl")) == 2
    assert lines_of(found, "fcrdns", server.ip) and lines_of(found, "relay", server.ip)
    # --json: the same verdicts, machine-readable.
    rc_json, out, _ = doctor(server, "--json")
    doc = json.loads(out)
    assert rc_json == 0 and doc["verdict"] == "ok"
    assert [(c["verdict"], c["check"], c["subject"]) for c in doc["checks"]] == \
        [(f[0], f[1], f[2] or "") for f in found]


@pytest.mark.parametrize("case", ["wrong-spf", "missing-dmarc", "stale-dkim", "wrong-tlsa", "listed"])
def test_each_broken_record_fails(server, tier, good, case):
    ip = server.ip
    extra, drop, check, subject, what = None, None, None, None, None
    if case == "wrong-spf":
        drop = r'^example\.org\.\s.*TXT\s+"v=spf1'
        extra = {"example.org": ['@ TXT "v=spf1 ip4:192.0.2.1 -all"']}
        check, subject, what = "spf", "example.org", "%s not authorized (fail)" % ip
    elif case == "missing-dmarc":
        drop = r"^_dmarc\.example\.org\."
        check, subject, what = "dmarc", "example.org", "no DMARC record"
    elif case == "stale-dkim":
        key = subprocess.run("openssl genrsa 2048 2>/dev/null | openssl rsa -pubout -outform DER "
                             "2>/dev/null | base64 -w0", shell=True, capture_output=True, text=True,
                             check=True).stdout.strip()
        drop = r"^default\._domainkey\.example\.org\."
        extra = {"example.org": ['default._domainkey TXT "v=DKIM1; k=rsa; " "p=%s" "%s"'
                                 % (key[:200], key[200:])]}
        check, subject, what = "dkim", "example.org", "another key than the one on disk"
    elif case == "wrong-tlsa":
        drop = r"^_25\._tcp\."
        extra = {"example.org": ["_25._tcp.mx TLSA 3 1 1 %s" % ("ab" * 32)]}
        check, subject, what = "tlsa", MX, "no TLSA record at _25._tcp.%s matches" % MX
    else:
        a, b, c_, d = ip.split(".")
        extra = {DNSBL: ["%s.%s.%s.%s A 127.0.0.2" % (d, c_, b, a)]}
        check, subject, what = "dnsbl", "%s %s" % (ip, DNSBL), "listed (127.0.0.2)"
    publish(tier, good, extra=extra, drop=drop)
    rc, found, _ = doctor(server)
    text = "\n".join(" ".join(x or "" for x in f) for f in found)
    fails = [f for f in found if f[0] == "fail"]
    assert rc == 2, text
    assert [(f[1], f[2]) for f in fails][:1] == [(check, subject)], text
    assert what in fails[0][3], text
    # Only the broken record fails: DMARC still aligns through the one of SPF
    # and DKIM left, and without a matching TLSA the self-signed certificate
    # is a warning, not a failure.
    assert len(fails) == 1, text


def test_doctor_with_dns_down_ends_in_time(server, tier, good):
    publish(tier, good)
    pause(tier.container.name)
    try:
        rc, found, took = doctor(server)
        rc_json, out, took_json = doctor(server, "--json")
    finally:
        docker("unpause", tier.container.name, check=False)
    text = "\n".join(" ".join(x or "" for x in f) for f in found)
    assert took < DOCTOR_BUDGET and took_json < DOCTOR_BUDGET, (took, took_json)
    assert rc in (1, 2), text
    dns_checks = [f for f in found if f[1] in ("mx", "fcrdns", "spf", "dkim", "dmarc", "tlsa", "dnsbl")]
    assert dns_checks and all(f[0] in ("warn", "fail") for f in dns_checks), text
    # What does not need DNS is still judged.
    assert lines_of(found, "relay")[0][0] == "ok", text
    doc = json.loads(out)
    assert [(c["verdict"], c["check"]) for c in doc["checks"]] == [(f[0], f[1]) for f in found]


def test_open_relay_fails(mta, tier, good):
    c = mta("mini", env={"MAIL_DOMAIN": "example.org", "MYNETWORKS": "0.0.0.0/0",
                         "DOCTOR_DNSBL": "", "DOCTOR_PUBLIC_ADDRESSES": PUBLIC},
            hostname=MX, extra_args=["--dns", tier.resolver])
    # Behind NAT: the public address is the MX host's A record.
    assert "%s.\t3600\tIN\tA\t%s" % (MX, PUBLIC) in zone_lines(c)["example.org"]
    rc, found, _ = doctor(c)
    relay = lines_of(found, "relay")
    assert rc == 2 and relay and relay[0][0] == "fail", found
    assert "OPEN RELAY" in relay[0][3] and "<doctor@relay-test.invalid>" in relay[0][3]
    # Without DOCTOR_RESOLVER it asks Docker's embedded DNS, and says what that hides.
    assert [f[0] for f in lines_of(found, "resolver", "127.0.0.11")] == ["warn"], found


def test_expired_certificate_fails(mta, tier, good):
    with tempfile.TemporaryDirectory(prefix="mta-e2e-cert-") as d:
        p = Path(d)
        (p / "ca.cnf").write_text("[ca]\ndefault_ca=d\n[d]\ndatabase=%s/index.txt\nnew_certs_dir=%s\n"
                                  "serial=%s/serial\ndefault_md=sha256\npolicy=p\n[p]\n"
                                  "commonName=supplied\n" % (d, d, d))
        (p / "index.txt").write_text("")
        (p / "serial").write_text("01\n")
        subprocess.run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        str(p / "key.pem"), "-subj", "/CN=%s" % MX, "-out", str(p / "req.csr")],
                       check=True, capture_output=True, timeout=60)
        subprocess.run(["openssl", "ca", "-selfsign", "-keyfile", str(p / "key.pem"), "-in",
                        str(p / "req.csr"), "-out", str(p / "cert.pem"), "-startdate",
                        "20200101000000Z", "-enddate", "20200201000000Z", "-batch", "-config",
                        str(p / "ca.cnf")], check=True, capture_output=True, timeout=60)
        for f in ("key.pem", "cert.pem"):
            (p / f).chmod(0o644)
        p.chmod(0o755)
        c = mta("mini", env={"MAIL_DOMAIN": "example.org", "DOCTOR_DNSBL": "",
                             "SMTPD_TLS_CERT_FILE": "/certs/cert.pem",
                             "SMTPD_TLS_KEY_FILE": "/certs/key.pem",
                             "DOCTOR_RESOLVER": tier.resolver},
                hostname=MX, volumes={d: "/certs"}, extra_args=["--dns", tier.resolver])
        rc, found, _ = doctor(c)
    cert = lines_of(found, "tls-cert")
    assert rc == 2 and cert and cert[0][0] == "fail", found
    assert "expired (Feb  1 00:00:00 2020 GMT)" in cert[0][3]


def test_bad_doctor_variables_stop_the_container(run_config_error):
    rc, out = run_config_error("mini", env={"DOCTOR_DNSBL": "zen.spamhaus.org not_a_zone!"})
    assert rc == 100, out
    lines = [l for l in out.splitlines() if "DOCTOR_DNSBL" in l]
    assert len(lines) == 1 and "not_a_zone!" in lines[0] and "domain names" in lines[0], out
    rc, out = run_config_error("mini", env={"DOCTOR_PUBLIC_ADDRESSES": "192.0.2.300"})
    assert rc == 100, out
    lines = [l for l in out.splitlines() if "DOCTOR_PUBLIC_ADDRESSES" in l]
    assert len(lines) == 1 and "192.0.2.300" in lines[0] and "IPv4 or IPv6" in lines[0], out
    rc, out = run_config_error("mini", env={"DOCTOR_RESOLVER": "resolver.example"})
    assert rc == 100, out
    lines = [l for l in out.splitlines() if "DOCTOR_RESOLVER" in l]
    assert len(lines) == 1 and "resolver.example" in lines[0] and "an IPv4 address" in lines[0], out
