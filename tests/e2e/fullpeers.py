"""Helpers for the end-to-end tests of the `full` image (amavis, SpamAssassin,
ClamAV, DKIM, SPF, PostSRSd, quarantine, kopano-spamd).

Peers: a DNS server (image mta-test-dns from tests/peers/dns: dnsmasq with
--no-resolv, so every name it was not given fails at once) serving the SPF
and DKIM records of the test's sender domains, a relay sink, and a volume
with a ClamAV signature database that knows only the EICAR test string.

Module-scoped containers are started with `start_full` (not the per-test
`mta` fixture) so that several checks share one slow-starting server; they
carry the session label, so the session removes them even after a crash.

Only the standard library, pytest, dkimpy (Debian's python3-dkim) and the
openssl command are used; every wait is bounded in time and in count.
"""
import base64
import email
import email.message
import email.policy
import email.utils
import os
import re
import secrets
import smtplib
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from basepeers import Peer, ensure_image
from dockerlib import (IMAGE, LABEL, PEER_IMAGE, Container, DockerError, Sink, docker,
                       ensure_peer_image, image_exists, send_message, unique_name, wait_for)

TESTS_DIR = Path(__file__).resolve().parent.parent
DNS_IMAGE = os.environ.get("DNS_IMAGE", "mta-test-dns")
DNS_DIR = TESTS_DIR / "peers" / "dns"
FULL = "%s:full" % IMAGE
CLIENT_NAME = "e2e-client.test"     # same as conftest: answers smtpd's client lookup

EICAR = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
QUARANTINE = "/var/amavis/quarantine"


def token():
    return secrets.token_hex(4)


# --- containers -------------------------------------------------------------------

def require_full():
    if not image_exists(FULL):
        raise AssertionError("image %s is missing: build it first (make images)" % FULL)


def start_full(net, gateway, env=None, volumes=None, dns=None, hostname="mx1.example.com",
               extra_args=(), network=None, kind="full", client_host=True):
    """docker run -d of ${IMAGE}:full; does not wait. dns: an address for
    --dns (the DNS peer). network: another network (e.g. "none") instead of
    the session's; then no client host entry is added. client_host=False:
    no /etc/hosts entry for the test client either, so Postfix asks the DNS
    for its name, as it does for a peer in the field."""
    require_full()
    name = unique_name(kind)
    args = ["run", "-d", "--name", name, "--label", LABEL, "--hostname", hostname]
    if network:
        args += ["--network", network]
    else:
        args += ["--network", net, "--network-alias", name]
        if client_host:
            args += ["--add-host", "%s:%s" % (CLIENT_NAME, gateway)]
    if dns:
        args += ["--dns", dns]
    for k, v in (env or {}).items():
        args += ["-e", "%s=%s" % (k, v)]
    for src, dst in (volumes or {}).items():
        args += ["-v", "%s:%s" % (src, dst)]
    args += list(extra_args)
    docker(*args, FULL)
    return Container(name, None if network else net)


def start_sink(net, port=25):
    """A relay sink (sink.py in the peer image); the caller removes it."""
    ensure_peer_image()
    name = unique_name("sink")
    docker("run", "-d", "--name", name, "--label", LABEL, "--network", net,
           "--network-alias", name, "--hostname", name, PEER_IMAGE, "--mode", "smtp",
           "--port", str(port))
    s = Sink(name, net, "smtp", port, None)
    s.wait_banner(port, timeout=30)
    return s


def make_volume():
    name = unique_name("vol")
    docker("volume", "create", "--label", LABEL, name)
    return name


def rm_volume(name):
    docker("volume", "rm", "-f", name, check=False)


# --- DNS peer -----------------------------------------------------------------------

def txt_strings(text, size=255):
    """A long TXT value as dnsmasq's --txt-record strings (at most 255 bytes each)."""
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def txt_option(name, text):
    """One argv word (no shell): dnsmasq takes the strings as they are, comma
    separated (the quotes of its documentation are for the shell and the
    config file); so no string may contain a comma."""
    assert "," not in text, text
    return "--txt-record=%s,%s" % (name, ",".join(txt_strings(text)))


# SpamAssassin 4 (dns_available test) decides whether DNS works by looking up
# the A record of a few of these built-in names (Mail::SpamAssassin::Dns
# @EXISTING_DOMAINS); without an answer it turns off every network test,
# DKIM included. The DNS peer answers them with a TEST-NET address, so that
# SpamAssassin's DNS-based rules run (and their other lookups fail at once).
SA_DNS_TEST_DOMAINS = ("akamai.com", "bing.com", "cloudflare.com", "digitalpoint.com",
                       "facebook.com", "google.com", "linkedin.com", "netflix.com", "php.net",
                       "wikipedia.org", "yahoo.com")


def start_dns(net, txt=None, addresses=None, mx=None):
    """The DNS peer with TXT records {name: text}, A records {name: ip} and
    MX records {domain: target host}. Returns a Peer once dnsmasq logged
    that it started."""
    ensure_image(DNS_IMAGE, DNS_DIR)
    args = [txt_option(n, t) for n, t in (txt or {}).items()]
    args += ["--address=/%s/%s" % (n, ip) for n, ip in (addresses or {}).items()]
    args += ["--mx-host=%s,%s,10" % (d, host) for d, host in (mx or {}).items()]
    name = unique_name("dns")
    docker("run", "-d", "--name", name, "--label", LABEL, "--network", net,
           "--network-alias", name, "--hostname", name, DNS_IMAGE, *args)
    p = Peer(name, net)

    def started():
        if not p.is_running():
            raise AssertionError("dnsmasq stopped:\n%s" % p.logs()[-3000:])
        return "started, version" in p.logs()
    wait_for(started, timeout=30, interval=0.5, what="dnsmasq in %s" % name)
    return p


# --- ClamAV signature database --------------------------------------------------------

def clamav_ids():
    """(uid, gid) of the clamav user in the image."""
    out = docker("run", "--rm", "--network", "none", "--entrypoint", "id", FULL, "clamav").stdout
    uid = re.search(r"uid=(\d+)", out)
    gid = re.search(r"gid=(\d+)", out)
    assert uid and gid, "id clamav: %r" % out
    return int(uid.group(1)), int(gid.group(1))


def eicar_signature():
    """sigtool --md5 over the EICAR string, run in the image: 'md5:68:eicar.com'."""
    d = tempfile.mkdtemp(prefix="mta-e2e-eicar-")
    try:
        os.chmod(d, 0o755)
        f = Path(d) / "eicar.com"
        f.write_text(EICAR)
        os.chmod(f, 0o644)
        line = docker("run", "--rm", "--network", "none", "-v", "%s:/x:ro" % d,
                      "--entrypoint", "sigtool", FULL, "--md5", "/x/eicar.com").stdout.strip()
    finally:
        for p in Path(d).iterdir():
            p.unlink()
        os.rmdir(d)
    assert re.fullmatch(r"[0-9a-f]{32}:68:eicar\.com", line), "sigtool --md5: %r" % line
    return line


def fill_clamav_volume(vol):
    """Writes e2e-eicar.hdb into the volume, owned by the image's clamav user."""
    line = eicar_signature()
    uid, gid = clamav_ids()
    docker("run", "--rm", "--network", "none", "-v", "%s:/v" % vol, "--user", "0",
           "--entrypoint", "sh", FULL, "-c",
           'printf "%%s\\n" "$1" >/v/e2e-eicar.hdb && chown -R %d:%d /v && chmod 644 /v/e2e-eicar.hdb'
           % (uid, gid), "sh", line)
    return line


# --- messages ---------------------------------------------------------------------------

def build_message(mail_from, rcpt, subject, body="", attachment=None, headers=None):
    """bytes (CRLF). attachment: (filename, bytes)."""
    m = email.message.EmailMessage()
    m["From"] = mail_from or "MAILER-DAEMON@example.com"
    m["To"] = rcpt
    m["Subject"] = subject
    m["Date"] = email.utils.formatdate()
    m["Message-ID"] = email.utils.make_msgid(domain="e2e.test")
    for k, v in (headers or {}).items():
        m[k] = v
    m.set_content(body or "Test message %s\n" % subject, cte="7bit")
    if attachment:
        fname, data = attachment
        m.add_attachment(data, maintype="application", subtype="octet-stream", filename=fname)
    return m.as_bytes(policy=m.policy.clone(linesep="\r\n"))


def gtube_message(mail_from, rcpt, subject):
    return build_message(mail_from, rcpt, subject,
                         body="This is the GTUBE, spam by definition:\n%s\n" % GTUBE)


def eicar_message(mail_from, rcpt, subject):
    """EICAR as an attachment named eicar.txt (a .com name is banned by
    amavis's file name rules, which would hide whether ClamAV found it)."""
    return build_message(mail_from, rcpt, subject, body="The file is attached.\n",
                         attachment=("eicar.txt", EICAR.encode()))


def exe_message(mail_from, rcpt, subject):
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 240
    return build_message(mail_from, rcpt, subject, body="Please pay the invoice.\n",
                         attachment=("invoice.exe", exe))


def assert_accepted(r, what="message"):
    assert r["error"] is None and r["data"] and r["data"][0] == 250, \
        "%s not accepted: %r" % (what, r)


def sendmail_in(c, mail_from, rcpt, subject, body="Loopback message.\n"):
    """Local submission inside the container (sendmail -i -f)."""
    msg = ("From: %s\nTo: %s\nSubject: %s\nDate: %s\nMessage-ID: <%s@e2e.test>\n\n%s"
           % (mail_from, rcpt, subject, email.utils.formatdate(), token(), body))
    c.exec(["sendmail", "-i", "-f", mail_from, rcpt], input=msg)


# --- mailboxes, queue, logs ----------------------------------------------------------------

def cat(c, path):
    p = c.exec(["cat", path], check=False)
    return p.stdout if p.returncode == 0 else ""


def mbox_messages(c, path):
    """Messages (email.message.Message) of an mbox file in the container."""
    text = cat(c, path)
    parts = re.split(r"(?m)^From \S+ .*\n", text)
    return [email.message_from_string(p, policy=email.policy.compat32) for p in parts if p.strip()]


def find_by_subject(msgs, subject):
    """Messages whose Subject contains subject (the tag is a prefix)."""
    return [m for m in msgs if subject in str(m.get("Subject", ""))]


def wait_mail(c, path, subject, timeout=60, flush=False):
    """Waits (bounded) for a message with subject in the mbox; returns it.
    flush: runs `postqueue -f` every 10 s (an operator's help; off by
    default: mail deferred while the filter started must go on by itself)."""
    last_flush = [time.monotonic()]

    def check():
        found = find_by_subject(mbox_messages(c, path), subject)
        if not found and flush and time.monotonic() - last_flush[0] > 10:
            c.exec(["postqueue", "-f"], check=False)
            last_flush[0] = time.monotonic()
        return found[0] if found else None
    try:
        return wait_for(check, timeout=timeout, interval=1, what="%r in %s" % (subject, path))
    except AssertionError as e:
        raise AssertionError("%s\nqueue:\n%s\nlogs:\n%s" % (e, queue_listing(c),
                                                            c.logs()[-5000:])) from None


def queue_listing(c):
    p = c.exec(["postqueue", "-p"], check=False)
    return p.stdout + p.stderr


def queue_empty(c):
    return "Mail queue is empty" in queue_listing(c)


def wait_queue_empty(c, timeout=60):
    try:
        wait_for(lambda: queue_empty(c), timeout=timeout, interval=1,
                 what="the queue of %s to be empty" % c.name)
    except AssertionError as e:
        raise AssertionError("%s\n%s" % (e, queue_listing(c))) from None


def wait_log(c, pattern, timeout=60, what=None):
    """Waits (bounded) for a docker logs line matching the regex; returns the match."""
    rx = re.compile(pattern)

    def check():
        return rx.search(c.logs())
    try:
        return wait_for(check, timeout=timeout, interval=1, what=what or "log line /%s/" % pattern)
    except AssertionError as e:
        raise AssertionError("%s\nlogs:\n%s" % (e, c.logs()[-5000:])) from None


def amavis_log_for(c, subject_msgid=None, queue_id=None, timeout=60):
    """The amavis result line (Passed/Blocked) of the message with this Queue-ID."""
    return wait_log(c, r"amavis\[\d+\]: \([^)]*\) (?:Passed|Blocked) [^\n]*Queue-ID: %s\b[^\n]*"
                    % re.escape(queue_id), timeout=timeout,
                    what="amavis verdict on queue id %s" % queue_id).group(0)


def queue_id(r):
    """The Postfix queue id from a 250 reply to DATA."""
    m = re.search(r"queued as ([0-9A-Za-z]+)", (r.get("data") or (0, ""))[1])
    assert m, "no queue id in %r" % (r,)
    return m.group(1)


def wait_ready(c, rcpt="info@example.com", mbox=None, timeout=180):
    """Readiness of a full server: port 25 greets, then a clean probe message
    passes amavis and is delivered. Returns seconds from start of the wait."""
    t0 = time.monotonic()
    c.wait_banner(25, timeout=min(timeout, 90))
    subject = "ready-probe-" + token()
    r = send_message(c.ip, build_message("probe@client.test", rcpt, subject),
                     "probe@client.test", [rcpt])
    assert_accepted(r, "readiness probe")
    wait_mail(c, mbox or "/var/mail/" + rcpt, subject,
              timeout=max(30, timeout - (time.monotonic() - t0)))
    return time.monotonic() - t0


def sink_find(relay, subject):
    """Messages at a sink whose Subject contains subject."""
    return [m for m in relay.messages() if re.search(r"(?m)^Subject: .*%s" % re.escape(subject), m["data"])]


def wait_relayed(relay, subject, timeout=60, n=1):
    """Waits (bounded) until n messages with subject reached the sink; returns them."""
    got = []

    def check():
        got[:] = sink_find(relay, subject)
        return len(got) >= n
    try:
        wait_for(check, timeout=timeout, interval=1, what="%r at the relay sink" % subject)
    except AssertionError as e:
        raise AssertionError("%s; sink logs:\n%s" % (e, relay.logs()[-3000:])) from None
    return got


def health(c):
    p = c.exec(["mtactl", "health"], check=False)
    return p.returncode, (p.stdout + p.stderr).strip()


# --- quarantine ------------------------------------------------------------------------------

def quarantine_files(c):
    p = c.exec(["ls", "-1", QUARANTINE], check=False)
    return sorted(x for x in p.stdout.split() if x)


def amavis_ls(c, cmd=("amavis-ls",)):
    """(header line, [row lines], summary line, raw output) of the listing."""
    p = c.exec(list(cmd), check=False)
    out = p.stdout
    assert p.returncode == 0, "%s: exit %d\n%s%s" % (" ".join(cmd), p.returncode, out, p.stderr)
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert lines, "%s printed nothing" % " ".join(cmd)
    header = lines[0]
    summary = lines[-1] if re.match(r"^\d+ messages? in ", lines[-1]) else None
    rows = lines[1:-1] if summary else lines[1:]
    return header, rows, summary, out


def quarantined_for(c, kind, subject):
    """Quarantine files KIND-* whose content has this subject; {file: text}."""
    out = {}
    for f in quarantine_files(c):
        if f.startswith(kind + "-"):
            text = cat(c, "%s/%s" % (QUARANTINE, f))
            if subject in text:
                out[f] = text
    return out


# --- DKIM --------------------------------------------------------------------------------------

def gen_rsa_key(bits=2048):
    """A PEM RSA private key made with `openssl genrsa`."""
    p = subprocess.run(["openssl", "genrsa", str(bits)], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0 and "PRIVATE KEY" in p.stdout, p.stderr
    return p.stdout


def pem_body(pem):
    """The base64 body of a PEM (no BEGIN/END lines, no line breaks)."""
    return "".join(ln.strip() for ln in pem.splitlines() if ln.strip() and not ln.startswith("-----"))


def public_b64(private_pem):
    """base64 DER SubjectPublicKeyInfo of a private key: the p= of its DKIM record."""
    p = subprocess.run(["openssl", "pkey", "-pubout", "-outform", "DER"],
                       input=private_pem.encode(), capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return base64.b64encode(p.stdout).decode()


def dkim_record(private_pem):
    return "v=DKIM1; k=rsa; p=" + public_b64(private_pem)


def parse_bind_txt(text):
    """(owner name, TXT value) from a BIND style record file:
    'sel._domainkey.dom.\\t3600\\tTXT\\t( "v=DKIM1; k=rsa; " "p=..." )'."""
    m = re.match(r"\s*(\S+)\s+(?:\d+\s+)?(?:IN\s+)?TXT\s+\(?(.*?)\)?\s*$", text, re.S)
    assert m, "not a BIND TXT record: %r" % text[:300]
    strings = re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(2))
    assert strings, "no quoted strings in %r" % text[:300]
    return m.group(1), "".join(strings)


def dkim_verify(msg_bytes, records):
    """dkimpy verification with TXT answers from records {name: value}
    (names without trailing dot). Returns (ok, log of the verification)."""
    import logging
    import io
    import dkim

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        v = records.get(name.rstrip("."))
        return v.encode() if v is not None else None
    buf = io.StringIO()
    logger = logging.getLogger("e2e-dkim-%s" % token())
    logger.addHandler(logging.StreamHandler(buf))
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    ok = dkim.verify(msg_bytes, logger=logger, dnsfunc=dnsfunc)
    return bool(ok), buf.getvalue()


def dkim_sign(msg_bytes, selector, domain, private_pem):
    """The message with a DKIM-Signature header prepended (dkimpy)."""
    import dkim
    sig = dkim.sign(msg_bytes, selector.encode(), domain.encode(), private_pem.encode(),
                    include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    return sig + msg_bytes


def header_values(msg, name):
    return [str(v) for v in (msg.get_all(name) or [])]


def our_auth_results(msg, authserv_id="mx1.example.com"):
    """The Authentication-Results values (unfolded) that name our authserv-id."""
    return [unfold(v) for v in header_values(msg, "Authentication-Results")
            if unfold(v).split(";")[0].strip().lower() == authserv_id]


def unfold(s):
    return re.sub(r"\s+", " ", str(s)).strip()


# keep DockerError importable for the tests
_ = DockerError


# --- module servers ---------------------------------------------------------------

class Server:
    """A module server: its container, how it was started, readiness checked once."""

    def __init__(self, label, start, ready=None, rcpt="info@example.com"):
        """start() runs the container; ready(c, rcpt) checks it by delivering
        a clean probe message to rcpt (default wait_ready)."""
        self.label = label
        self._start = start
        self._wait_ready = ready or wait_ready
        self._rcpt = rcpt
        self.c = start()
        self._ready = None      # None: not checked; True; or the error text

    def get(self):
        if self._ready is None:
            try:
                self._wait_ready(self.c, self._rcpt)
                self._ready = True
            except AssertionError as e:
                self._ready = "server %s not ready: %s" % (self.label, e)
        if self._ready is not True:
            pytest.fail(self._ready, pytrace=False)
        return self.c

    def recreate(self):
        """Removes the container and starts it again the same way (same volumes)."""
        self.c.rm()
        self.c = self._start()
        self._ready = None
        return self.get()

    def rm(self):
        self.c.rm()


# --- submission and reports -------------------------------------------------------

def submit(ip, user, password, mail_from, rcpt, subject, port=587, body=None):
    """Authenticated submission (STARTTLS) with AUTH PLAIN."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = smtplib.SMTP(ip, port, timeout=60)
    try:
        s.ehlo("client.test")
        s.starttls(context=ctx)
        s.ehlo("client.test")
        s.login(user, password)
        s.sendmail(mail_from, [rcpt], build_message(mail_from, rcpt, subject, body=body))
    finally:
        try:
            s.quit()
        except (smtplib.SMTPException, OSError):
            s.close()


def dsns_mentioning(c, mbox, subject):
    """Messages in the mbox that are reports about a message with this subject
    (a DSN quotes the original headers; the original itself is excluded)."""
    out = []
    for m in mbox_messages(c, mbox):
        if subject in str(m.get("Subject", "")):
            continue
        if subject in m.as_string():
            out.append(m)
    return out
