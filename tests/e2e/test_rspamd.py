"""End-to-end tests of the `rspamd` image: rspamd as Postfix's before-queue
milter (destinies, the hold-queue quarantine, release), DKIM signing with
the key files of `full`, learning, the web interface, DMARC aggregate
reports, rspamd dying mid-stream, bad input.

Peers: one dnsmasq (tests/peers/dns) serving SPF, DMARC and DKIM records and
MX records that send foreign.test and reports.example.net (the rua domain) to one
SMTP sink; every other name fails at once. A volume with a ClamAV database
that knows only EICAR, owned by this image's clamav user.

Two servers are shared by the tests of this module, started together, each
checked for readiness on first use by delivering a clean probe message:

  A  default destinies (spam D_PASS, virus and banned D_DISCARD),
     SA_TAG_LEVEL_DEFLT=-99, a generated DKIM key, SASL submission,
     RSPAMD_PASSWORD (web UI), DMARC_REPORTS=yes, kopano-spamd directory
     on tmpfs; outbound mail by MX to the sink
  B  spam D_REJECT, virus D_BOUNCE, no web UI password, a volume on /srv

Other tests start their own containers: a `full` and then an `rspamd` on
one volume (the switch keeps the DKIM key), bad configuration.
"""
import gzip
import io
import re
import threading
import time
import zipfile

import pytest

from dockerlib import send_message, wait_for
from fullpeers import (GTUBE, Server, dsns_mentioning, submit, amavis_ls, assert_accepted, build_message, cat, dkim_verify, eicar_message,
                       find_by_subject, gtube_message, header_values, make_volume, mbox_messages,
                       our_auth_results, parse_bind_txt, public_b64, queue_listing, rm_volume, start_dns,
                       start_sink, token, unfold, wait_mail)
from rspamdpeers import (WEBUI_PORT, bayes_learned, double_ext_message, eicar_zip_message,
                         hold_ids, held_for, rspamc,
                         start_image, wait_held, webui, x_quarantine)

BAD_CONFIG_EXIT = 100
INFO = "info@example.com"
BOB = "bob@example.com"                 # a local mailbox used as envelope sender
INFO_MBOX = "/var/mail/" + INFO
BOB_MBOX = "/var/mail/" + BOB
FOREIGN = "someone@foreign.test"
# rspamd's URL parser takes only hosts under a public suffix: a rua address
# at a .test domain is "invalid" to `rspamadm dmarc_report` (example.net is
# reserved too, RFC 2606, and answered only by the test's DNS).
RUA = "dmarc@reports.example.net"
SASL_USER, SASL_PW = "user", "Sub-pw-" + token()
WEB_PW = "Web-pw-" + token()
KEY_TXT = "/var/db/dkim/example.com.default._domainkey.txt"
KEY_PEM = "/var/db/dkim/example.com.default.privkey.pem"
HOLD_SUMMARY = re.compile(r"^(\d+) messages? in hold queue$")


# --- module peers and servers ----------------------------------------------------------

@pytest.fixture(scope="module")
def mx_sink(net, peer_image):
    """The MX of foreign.test and reports.example.net."""
    s = start_sink(net)
    try:
        yield s
    finally:
        s.rm()


@pytest.fixture(scope="module")
def dns(net, net_gateway, mx_sink):
    spf = "v=spf1 ip4:%s -all" % net_gateway
    p = start_dns(net, txt={
        "spf-pass.test": spf,
        "dmarc.test": spf,
        "_dmarc.dmarc.test": "v=DMARC1; p=none; rua=mailto:%s" % RUA,
        # RFC 7489 7.1: reports.example.net agrees to take dmarc.test's reports
        "dmarc.test._report._dmarc.reports.example.net": "v=DMARC1",
    }, addresses={"sink.test": mx_sink.ip}, mx={"foreign.test": "sink.test", "reports.example.net": "sink.test"})
    try:
        yield p
    finally:
        p.rm()


def wait_ready_rspamd(c, rcpt, timeout=240):
    """Readiness of an rspamd server: port 25 greets, then a clean probe is
    accepted (4xx while rspamd still loads: milter_default_action=tempfail,
    so the probe is sent again) and delivered."""
    t0 = time.monotonic()
    c.wait_banner(25, timeout=90)
    subject = "ready-probe-" + token()
    msg = build_message("probe@client.test", rcpt, subject)
    last = []

    def accepted():
        r = send_message(c.ip, msg, "probe@client.test", [rcpt], timeout=30)
        last[:] = [r]
        if r["data"] and r["data"][0] == 250:
            return True
        codes = [x[0] for x in [r["mail"]] + list(r["rcpt"].values()) + [r["data"]] if x]
        if r["error"] is None and not any(400 <= x < 500 for x in codes):
            raise AssertionError("readiness probe refused: %r" % r)
        return False
    try:
        wait_for(accepted, timeout=timeout, interval=2, what="the readiness probe accepted by %s" % c.name)
    except AssertionError as e:
        raise AssertionError("%s; last reply %r\nlogs:\n%s" % (e, last, c.logs()[-5000:])) from None
    wait_mail(c, "/var/mail/" + rcpt, subject, timeout=max(30, timeout - (time.monotonic() - t0)))
    return time.monotonic() - t0


class Fleet:
    pass


def _common_env():
    return {
        "MAIL_BOXES": "%s %s" % (INFO, BOB),
        "CLAMAV_FRESHCLAM": "no",
        "SMTP_TLS_SECURITY_LEVEL": "none",
        "MTA_STS": "no",
        "SMTPD_SASL_CLIENTAUTH": "%s:{PLAIN}%s" % (SASL_USER, SASL_PW),
    }


@pytest.fixture(scope="module")
def fleet(net, net_gateway, dns, rspamd_clamdb):
    """Servers A and B (see the module docstring)."""
    f = Fleet()
    f.b_srv = make_volume()
    servers = []
    try:
        env_a = dict(_common_env(), SA_TAG_LEVEL_DEFLT="-99", RSPAMD_PASSWORD=WEB_PW,
                     DMARC_REPORTS="yes")
        f.a = Server("A", lambda: start_image("rspamd", net, net_gateway, env_a, dns=dns.ip,
                                              volumes={rspamd_clamdb: "/var/lib/clamav"},
                                              extra_args=["--tmpfs", "/var/lib/kopano/spamd"],
                                              kind="rspamd-a"), ready=wait_ready_rspamd)
        servers.append(f.a)
        env_b = dict(_common_env(), FINAL_SPAM_DESTINY="D_REJECT", FINAL_VIRUS_DESTINY="D_BOUNCE")
        f.b = Server("B", lambda: start_image("rspamd", net, net_gateway, env_b, dns=dns.ip,
                                              volumes={f.b_srv: "/srv", rspamd_clamdb: "/var/lib/clamav"},
                                              kind="rspamd-b"), ready=wait_ready_rspamd)
        servers.append(f.b)
        yield f
    finally:
        for s in servers:
            s.rm()
        rm_volume(f.b_srv)


# --- small helpers ----------------------------------------------------------------------

def spam_headers(msg):
    return {k: unfold(msg[k]) for k in ("X-Spam-Flag", "X-Spam-Score", "X-Spam-Status", "X-Spam-Level")
            if msg[k] is not None}





def listing(c, cmd=("mtactl", "quarantine", "ls")):
    header, rows, summary, out = amavis_ls(c, cmd)
    assert header.split() == ["DATE", "SIZE", "SENDER", "RECIPIENTS", "SUBJECT", "REASON", "FILE"], out
    m = HOLD_SUMMARY.match(summary or "")
    assert m, "summary line %r (want 'N messages in hold queue'):\n%s" % (summary, out)
    return rows, int(m.group(1)), out


def sink_find(sink, subject):
    return [m for m in sink.messages() if re.search(r"(?m)^Subject: .*%s" % re.escape(subject), m["data"])]


def wait_at_sink(sink, subject, timeout=90):
    try:
        return wait_for(lambda: sink_find(sink, subject), timeout=timeout, interval=1,
                        what="%r at the sink" % subject)
    except AssertionError as e:
        raise AssertionError("%s; sink logs:\n%s" % (e, sink.logs()[-3000:])) from None


def check_signed(data, records):
    raw = data.encode()
    assert re.search(rb"(?mi)^DKIM-Signature:", raw), "not signed:\n%s" % data[:2000]
    sig = unfold(re.search(r"(?ms)^DKIM-Signature:(.*?)\r?\n(?=\S)", data).group(1))
    assert re.search(r"\bd=example\.com;", sig) and re.search(r"\bs=default;", sig), sig
    ok, log = dkim_verify(raw, records)
    assert ok, "DKIM signature does not verify:\n%s\n%s" % (log, data[:3000])


# --- A: clean mail, default destinies ------------------------------------------------------

def test_clean_mail_delivered_with_spam_headers_and_one_auth_results(fleet):
    c = fleet.a.get()
    subject = "clean-" + token()
    r = send_message(c.ip, build_message("alice@spf-pass.test", INFO, subject), "alice@spf-pass.test", [INFO])
    assert_accepted(r)
    m = wait_mail(c, INFO_MBOX, subject)
    sh = spam_headers(m)
    assert "X-Spam-Status" in sh and "X-Spam-Score" in sh, \
        "SA_TAG_LEVEL_DEFLT=-99 must always add X-Spam-Status/X-Spam-Score: %r\n%s" % (
            sh, "".join("%s: %s\n" % kv for kv in m.items()))
    assert sh["X-Spam-Status"].startswith("No,"), sh
    assert "X-Spam-Flag" not in sh, sh
    ar = [unfold(v) for v in header_values(m, "Authentication-Results")]
    assert len(ar) == 1 and our_auth_results(m), "one Authentication-Results of mx1.example.com: %r" % ar
    assert re.search(r"\bspf=pass\b", ar[0]), ar


def large_gtube_message(mail_from, rcpt, subject):
    """GTUBE in a message over 8 KB. rspamd's own GTUBE check, a reject whatever
    the configuration (rspamd's documented test pattern), looks only at text
    parts up to 8 KB; in larger ones GTUBE scores 1000 as in SpamAssassin
    (MTACTL_GTUBE), so the spam levels and FINAL_SPAM_DESTINY decide."""
    filler = "".join("Line %04d of the quarterly newsletter, with the figures of the month.\n" % i
                     for i in range(150))
    msg = build_message(mail_from, rcpt, subject, body=filler + "GTUBE: %s\n" % GTUBE)
    assert len(msg) > 9000, len(msg)
    return msg


def test_gtube_tagged_and_passed_by_default(fleet):
    c = fleet.a.get()
    subject = "gtube-pass-" + token()
    r = send_message(c.ip, large_gtube_message("alice@spf-pass.test", INFO, subject), "alice@spf-pass.test",
                     [INFO])
    assert_accepted(r)
    m = wait_mail(c, INFO_MBOX, subject)
    assert str(m["Subject"]).startswith("***SPAM*** "), m["Subject"]
    sh = spam_headers(m)
    assert sh.get("X-Spam-Flag") == "YES", sh
    assert sh.get("X-Spam-Status", "").startswith("Yes,"), sh
    assert not header_values(m, "X-Quarantine"), "a passed message carries X-Quarantine"
    assert float(sh["X-Spam-Score"]) >= 900, sh


def test_small_gtube_is_rspamds_reject_pattern(fleet):
    """In a small message GTUBE is rspamd's reject test, whatever FINAL_SPAM_DESTINY
    (as the README says): 5xx at DATA, nothing delivered or kept."""
    c = fleet.a.get()
    subject = "gtube-small-" + token()
    r = send_message(c.ip, gtube_message("alice@spf-pass.test", INFO, subject), "alice@spf-pass.test", [INFO])
    assert r["error"] is None and r["data"], r
    code, text = r["data"]
    assert 550 <= code < 560 and "Gtube" in text, "small GTUBE: DATA answered %d %s" % (code, text)
    time.sleep(3)
    assert not find_by_subject(mbox_messages(c, INFO_MBOX), subject), "GTUBE was delivered"
    assert not held_for(c, subject), "GTUBE was kept"


def test_eicar_attachment_and_zip_held_nobody_told(fleet):
    c = fleet.a.get()
    t = token()
    subjects = {"eicar-att-" + t: eicar_message(BOB, INFO, "eicar-att-" + t),
                "eicar-zip-" + t: eicar_zip_message(BOB, INFO, "eicar-zip-" + t)}
    for subject, msg in subjects.items():
        # before-queue milter, D_DISCARD: accepted (250), then held
        assert_accepted(send_message(c.ip, msg, BOB, [INFO]), subject)
    for subject in subjects:
        held = wait_held(c, subject)
        assert len(held) == 1, held.keys()
        (qid, text), = held.items()
        xq = x_quarantine(text)
        assert len(xq) == 1 and re.match(r"virus D_DISCARD \S", xq[0]), \
            "%s: X-Quarantine %r\n%s" % (subject, xq, text[:2000])
    rows, n, out = listing(c)
    for subject in subjects:
        mine = [r for r in rows if subject in r]
        assert len(mine) == 1 and "<%s>" % BOB in mine[0] and "<%s>" % INFO in mine[0], out
    time.sleep(5)  # a DSN, if one were sent, is local mail: seconds
    for subject in subjects:
        assert not find_by_subject(mbox_messages(c, INFO_MBOX), subject), "a virus was delivered"
        assert not dsns_mentioning(c, BOB_MBOX, subject), "D_DISCARD told the sender"


def test_banned_double_extension_held_then_released(fleet):
    c = fleet.a.get()
    subject = "banned-" + token()
    assert_accepted(send_message(c.ip, double_ext_message(BOB, INFO, subject), BOB, [INFO]))
    held = wait_held(c, subject)
    assert len(held) == 1, held.keys()
    (qid, text), = held.items()
    xq = x_quarantine(text)
    assert len(xq) == 1 and xq[0].startswith("banned D_DISCARD "), "X-Quarantine %r" % xq
    assert not find_by_subject(mbox_messages(c, INFO_MBOX), subject), "a banned attachment was delivered"
    p = c.exec(["mtactl", "quarantine", "release", qid], check=False, timeout=120)
    assert p.returncode == 0, "release %s: exit %d\n%s%s" % (qid, p.returncode, p.stdout, p.stderr)
    m = wait_mail(c, INFO_MBOX, subject)
    assert "invoice.pdf.exe" in m.as_string()
    assert qid not in hold_ids(c)


def test_quarantine_listing_columns(fleet):
    c = fleet.a.get()
    subject = "ls-" + token()
    assert_accepted(send_message(c.ip, eicar_message(BOB, INFO, subject), BOB, [INFO]))
    wait_held(c, subject)
    ids = hold_ids(c)
    for cmd in (("amavis-ls",), ("mtactl", "quarantine", "ls")):
        rows, n, out = listing(c, cmd)
        assert n == len(ids) == len(rows), (ids, out)
        assert sorted(r.split()[-1] for r in rows) == ids, out
        mine = [r for r in rows if subject in r]
        assert len(mine) == 1, out
        assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d\s+\d+\s", mine[0]), mine[0]
        assert re.search(r"\bvirus\b", mine[0]), "REASON of a virus: %r" % mine[0]


# --- A: DKIM ---------------------------------------------------------------------------

def test_dkim_signs_submission_verified_with_published_key(fleet, mx_sink):
    c = fleet.a.get()
    text = cat(c, KEY_TXT)
    assert text, c.exec(["ls", "-la", "/var/db/dkim/"], check=False).stdout
    owner, value = parse_bind_txt(text)
    assert owner == "default._domainkey.example.com." and value.startswith("v=DKIM1; k=rsa; p=MII"), text
    assert value.split("p=", 1)[1] == public_b64(cat(c, KEY_PEM)), "the TXT record is not the key's"
    assert parse_bind_txt(c.exec(["mtactl", "dkim", "txt"]).stdout) == (owner, value)
    subject = "dkim-sub-" + token()
    submit(c.ip, SASL_USER, SASL_PW, BOB, FOREIGN, subject)
    (m,) = wait_at_sink(mx_sink, subject)
    assert m["mail_from"] == BOB and m["rcpt_tos"] == [FOREIGN], m
    check_signed(m["data"], {owner.rstrip("."): value})
    # authenticated mail is signed, not scored as inbound
    assert not re.search(r"(?mi)^X-Spam-Flag: YES", m["data"]), m["data"][:2000]


# --- A: learning ---------------------------------------------------------------------------

def _spam_text(t, i):
    words = " ".join("offer%s%dword%d" % (t, i, k) for k in range(40))
    return ("From: seller%d@spam.test\nTo: %s\nSubject: cheap watches %s %d\n"
            "Message-ID: <learn-%s-%d@spam.test>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n\n"
            "Buy replica watches now, %s, http://spam.test/%s/%d\n" % (i, INFO, t, i, t, i, words, t, i))


def test_kopano_spamd_learned_into_rspamd_bayes(fleet):
    c = fleet.a.get()
    d = "/var/lib/kopano/spamd/spam"
    wait_for(lambda: c.exec(["test", "-d", d], check=False).returncode == 0, timeout=30,
             what="%s (made by spamd-learn)" % d)
    before = bayes_learned(c)
    assert before is not None, "rspamc stat shows no BAYES_SPAM:\n%s" % rspamc(c, "stat").stdout
    t = token()
    names = ["learn-%s-%d.eml" % (t, i) for i in range(3)]
    for i, name in enumerate(names):
        c.exec(["sh", "-c", 'cat >"$1/.$2.tmp" && mv "$1/.$2.tmp" "$1/$2"', "sh", d, name],
               input=_spam_text(t, i))
    try:
        wait_for(lambda: not any(c.file_exists("%s/%s" % (d, n)) for n in names), timeout=90,
                 interval=2, what="spamd-learn to take the files from spam/")
    except AssertionError as e:
        raise AssertionError("%s\n%s\nlogs:\n%s" % (e, c.exec(["ls", "-la", d]).stdout,
                                                    c.logs()[-3000:])) from None
    assert not [n for n in c.exec(["ls", d]).stdout.split() if n.endswith(".failed")], \
        "learning failed:\n%s" % c.logs()[-3000:]
    # the controller refreshes its statistics from redis every few tens of seconds
    after = wait_for(lambda: (bayes_learned(c) or 0) >= before + 3 and bayes_learned(c), timeout=120,
                     interval=3, what="BAYES_SPAM learned to rise by 3 (from %d)" % before)
    # (at least: Bayes autolearn on, spam that other tests sent may be learned meanwhile)
    assert after >= before + 3, (before, after)


def test_mtactl_learn_spam_and_ham(fleet):
    c = fleet.a.get()
    t = token()
    path = "/tmp/learn-%s.eml" % t
    c.exec(["sh", "-c", 'cat >"$1" && chmod 600 "$1"', "sh", path], input=_spam_text(t, 9))
    before = bayes_learned(c)
    p = c.exec(["mtactl", "learn", "spam", path], check=False, timeout=90)
    out = (p.stdout + p.stderr).strip()
    assert p.returncode == 0 and len(out.splitlines()) == 1 and "learned" in out, (p.returncode, out)
    wait_for(lambda: (bayes_learned(c) or 0) >= before + 1, timeout=120, interval=3,
             what="BAYES_SPAM learned %d -> %d" % (before, before + 1))
    # Again: rspamd's learn cache answers "already learned" most of the
    # time, not always (seen: learned, already, learned, already with a
    # second's pause): exit 0 and one line either way.
    p = c.exec(["mtactl", "learn", "spam", path], check=False, timeout=90)
    out = (p.stdout + p.stderr).strip()
    assert p.returncode == 0 and re.search(r"already learned|^learned ", out) and \
        len(out.splitlines()) == 1, (p.returncode, out)
    for argv in (["mtactl", "learn", "ham", "/tmp/none-%s.eml" % t], ["mtactl", "learn", "maybe", path],
                 ["mtactl", "learn", "spam"]):
        p = c.exec(argv, check=False)
        out = (p.stdout + p.stderr).strip()
        assert p.returncode == BAD_CONFIG_EXIT and len(out.splitlines()) == 1, (argv, p.returncode, out)


# --- A: web interface -----------------------------------------------------------------------

def test_web_ui_password(fleet):
    a = fleet.a.get()
    subject = "webui-" + token()
    assert_accepted(send_message(a.ip, build_message("alice@spf-pass.test", INFO, subject),
                                 "alice@spf-pass.test", [INFO]))
    wait_mail(a, INFO_MBOX, subject)
    code, body = webui(a.ip, "/stat")
    assert code in (401, 403), "no password: %r %s" % (code, body[:300])
    code, body = webui(a.ip, "/stat", password="wrong-" + WEB_PW)
    assert code in (401, 403), "wrong password: %r %s" % (code, body[:300])
    code, body = webui(a.ip, "/stat", password=WEB_PW)
    assert code == 200 and '"scanned"' in body, "right password: %r %s" % (code, body[:300])
    code, body = webui(a.ip, "/history", password=WEB_PW)
    assert code == 200, (code, body[:300])
    assert subject in body, "the message is not in the history:\n%s" % body[:3000]
    # the UI itself is served
    code, body = webui(a.ip, "/")
    assert code == 200 and "<html" in body.lower(), (code, body[:300])


def test_web_ui_absent_without_password(fleet):
    b = fleet.b.get()
    code, body = webui(b.ip, "/stat", password="anything")
    assert code is None, "port %d answers without RSPAMD_PASSWORD: %r %s" % (WEBUI_PORT, code, body[:300])


# --- A: DMARC aggregate reports --------------------------------------------------------------

def _report_xml(data):
    """The XML of the report attachment (gzip or zip) of a report message."""
    import email
    import email.policy
    msg = email.message_from_string(data, policy=email.policy.compat32)
    for part in msg.walk():
        name = part.get_filename() or ""
        payload = part.get_payload(decode=True)
        if not payload:
            continue
        if name.endswith(".gz") or payload[:2] == b"\x1f\x8b":
            return gzip.decompress(payload).decode("utf-8", "replace")
        if name.endswith(".zip") or payload[:2] == b"PK":
            with zipfile.ZipFile(io.BytesIO(payload)) as z:
                return z.read(z.namelist()[0]).decode("utf-8", "replace")
    return None


def test_dmarc_aggregate_report_reaches_rua(fleet, mx_sink):
    c = fleet.a.get()
    subject = "dmarc-" + token()
    r = send_message(c.ip, build_message("alice@dmarc.test", INFO, subject), "alice@dmarc.test", [INFO])
    assert_accepted(r)
    m = wait_mail(c, INFO_MBOX, subject)
    ar = our_auth_results(m)
    assert ar and re.search(r"\bdmarc=pass\b", ar[0]), "Authentication-Results: %r" % ar
    p = c.exec(["mtactl", "dmarc-reports", "--now"], check=False, timeout=300)
    out = (p.stdout + p.stderr).strip()
    if p.returncode != 0 or not re.search(r"DMARC reports: [1-9]\d* sent", out):
        keys = c.exec(["redis-cli", "-s", "/run/redis/redis.sock", "--scan", "--pattern", "dmarc*"],
                      check=False)
        raise AssertionError("mtactl dmarc-reports --now: exit %d\n%s\nredis dmarc* keys: %s%s\n"
                             "rspamd log lines naming dmarc:\n%s" % (
                                 p.returncode, out, keys.stdout, keys.stderr,
                                 "\n".join(ln for ln in c.logs().splitlines() if "dmarc" in ln.lower())[-3000:]))
    assert len(out.splitlines()) == 1, out

    def report():
        return [x for x in mx_sink.messages() if x["rcpt_tos"] == [RUA]]
    try:
        got = wait_for(report, timeout=90, interval=1, what="a DMARC report at %s" % RUA)
    except AssertionError as e:
        raise AssertionError("%s\nqueue:\n%s\nlogs:\n%s" % (e, queue_listing(c), c.logs()[-4000:])) from None
    rep = got[0]
    assert rep["mail_from"] == "noreply-dmarc@example.com", rep["mail_from"]
    assert re.search(r"(?mi)^Subject: .*Report Domain: dmarc\.test", rep["data"]), rep["data"][:1500]
    xml = _report_xml(rep["data"])
    assert xml and "<domain>dmarc.test</domain>" in xml, (xml or rep["data"])[:3000]


# --- B: other destinies, the volume --------------------------------------------------------------

def test_spam_reject_refused_at_data(fleet):
    c = fleet.b.get()
    subject = "gtube-reject-" + token()
    r = send_message(c.ip, large_gtube_message(BOB, INFO, subject), BOB, [INFO])
    assert r["error"] is None and r["data"], r
    code, text = r["data"]
    assert 500 <= code < 600, "FINAL_SPAM_DESTINY=D_REJECT: DATA answered %d %s" % (code, text)
    assert "refused as spam" in text, "the reply does not name the reason: %d %s" % (code, text)
    time.sleep(3)
    assert not find_by_subject(mbox_messages(c, INFO_MBOX), subject), "a rejected message was delivered"
    assert not held_for(c, subject), "a rejected message was kept"


def test_virus_bounce_held_and_one_dsn(fleet):
    c = fleet.b.get()
    subject = "eicar-bounce-" + token()
    assert_accepted(send_message(c.ip, eicar_message(BOB, INFO, subject), BOB, [INFO]))
    held = wait_held(c, subject)
    (qid, text), = held.items()
    xq = x_quarantine(text)
    assert len(xq) == 1 and xq[0].startswith("virus D_BOUNCE "), "X-Quarantine %r" % xq
    dsn = wait_for(lambda: dsns_mentioning(c, BOB_MBOX, subject), timeout=60, interval=1,
                   what="a DSN about %s at %s" % (subject, BOB))
    time.sleep(8)  # the bounce watcher must not send a second one
    dsn = dsns_mentioning(c, BOB_MBOX, subject)
    assert len(dsn) == 1, "%d DSNs reached the sender" % len(dsn)
    ctype = unfold(dsn[0]["Content-Type"] or "")
    assert ctype.startswith("multipart/report") and "delivery-status" in ctype, ctype
    assert not find_by_subject(mbox_messages(c, INFO_MBOX), subject), "a virus was delivered"


def test_quarantine_survives_recreation(fleet):
    c = fleet.b.get()
    subject = "persist-" + token()
    assert_accepted(send_message(c.ip, eicar_message("x@spf-pass.test", INFO, subject),
                                 "x@spf-pass.test", [INFO]))
    wait_held(c, subject)
    ids = hold_ids(c)
    for path in ("/var/db/dkim", "/var/lib/rspamd", "/var/lib/redis", "/etc/rspamd"):
        real = c.exec(["readlink", "-f", path]).stdout.strip()
        assert real.startswith("/srv/"), "%s is %s, not under /srv" % (path, real)
    c2 = fleet.b.recreate()
    assert hold_ids(c2) == ids, "hold queue before %r, after %r" % (ids, hold_ids(c2))
    rows, n, out = listing(c2)
    assert any(subject in r for r in rows), out


# --- A: rspamd dies mid-stream (last of A) ----------------------------------------------------

def test_rspamd_killed_mail_waits_and_flows(fleet):
    """kill -9 of every rspamd process while a client sends: every
    transaction gets 250 (delivered) or 4xx (the client tries again); the
    supervisor restarts rspamd; every message is delivered exactly once."""
    c = fleet.a.get()
    t = token()
    subjects = ["kill-%s-%02d" % (t, i) for i in range(12)]  # none a prefix of another
    replies = {s: [] for s in subjects}
    errors = []
    stop = threading.Event()

    def client():
        deadline = time.monotonic() + 240
        for s in subjects:
            while time.monotonic() < deadline and not stop.is_set():
                r = send_message(c.ip, build_message("alice@spf-pass.test", INFO, s),
                                 "alice@spf-pass.test", [INFO], timeout=30)
                codes = [x[0] for x in [r["mail"]] + list(r["rcpt"].values()) + [r["data"]] if x]
                replies[s].append((codes, r["error"]))
                if r["data"] and r["data"][0] == 250:
                    break
                if [x for x in codes if not (200 <= x < 300 or 400 <= x < 500)]:
                    errors.append("%s: a reply neither 2xx nor 4xx: %r" % (s, r))
                    return
                time.sleep(1)
            time.sleep(0.5)
    th = threading.Thread(target=client, daemon=True)
    th.start()
    # mail flows; then every rspamd process dies (their command lines are
    # rewritten, "rspamd: normal process"; /proc/PID/exe of another user's
    # process is not readable without CAP_SYS_PTRACE); all found first, then
    # killed at once: the workers exit by themselves once the main one is gone)
    wait_for(lambda: replies[subjects[0]], timeout=60, interval=0.2, what="the first message")
    k = c.exec(["sh", "-c", 'p=; for d in /proc/[0-9]*; do cmd=$(tr "\\0" " " <"$d/cmdline" 2>/dev/null); '
                'case "$cmd" in "rspamd:"*|/usr/bin/rspamd*) p="$p ${d#/proc/}";; esac; '
                'done; kill -9 $p 2>/dev/null; echo $p | wc -w'], check=False)
    killed_at = time.monotonic()
    assert k.returncode == 0 and int(k.stdout.strip() or 0) >= 2, "kill: %d %r %s\n%s" % (
        k.returncode, k.stdout, k.stderr, "\n".join(ln for ln in c.logs().splitlines() if "rspamd" in ln)[-3000:])
    th.join(timeout=260)
    stop.set()
    assert not th.is_alive(), "the client did not finish"
    assert not errors, errors
    tempfails = sum(1 for s in subjects for codes, _ in replies[s] if any(400 <= x < 500 for x in codes))
    assert tempfails > 0, "no 4xx while rspamd was down (%s processes killed, client done %.1f s later): %r" % (
        k.stdout.strip(), time.monotonic() - killed_at, replies)
    for s in subjects:
        assert any(cd and cd[-1] == 250 for cd, _ in replies[s]), "%s never accepted: %r" % (s, replies[s])
    for s in subjects:
        wait_mail(c, INFO_MBOX, s, timeout=120)
    msgs = mbox_messages(c, INFO_MBOX)
    dup = [s for s in subjects if len(find_by_subject(msgs, s)) != 1]
    assert not dup, "delivered more than once: %s" % "; ".join(
        "%s: client saw %r; queue ids of the copies %r" % (
            s, replies[s], [re.findall(r"with E?SMTP id (\w+)", unfold(" ".join(header_values(m, "Received"))))[:1]
                            for m in find_by_subject(msgs, s)]) for s in dup)
    print("\nrspamd killed: %d transactions answered 4xx before it was back" % tempfails)


# --- switching a volume from full to rspamd -----------------------------------------------

def test_switch_from_full_keeps_dkim_key(net, net_gateway, dns, mx_sink):
    """A volume used by `full` (which made the DKIM key), then by `rspamd`:
    the same key and TXT record, and rspamd signs with it."""
    vol = make_volume()
    started = []
    try:
        full = start_image("full", net, net_gateway, dict(_common_env(), CLAMAV_DAEMON="no"),
                           dns=dns.ip, volumes={vol: "/srv"}, kind="full-switch")
        started.append(full)
        full_txt = wait_for(lambda: cat(full, KEY_TXT), timeout=120, interval=1,
                            what="the DKIM key of full on the volume")
        full_pub = public_b64(cat(full, KEY_PEM))
        full_dkim_txt = full.exec(["mtactl", "dkim", "txt"]).stdout
        full.rm()
        s = Server("switch", lambda: start_image("rspamd", net, net_gateway,
                                                 dict(_common_env(), CLAMAV_DAEMON="no"),
                                                 dns=dns.ip, volumes={vol: "/srv"}, kind="rspamd-switch"),
                   ready=wait_ready_rspamd)
        started.append(s)
        c = s.get()
        assert cat(c, KEY_TXT) == full_txt, "the TXT file changed: %r" % cat(c, KEY_TXT)
        assert public_b64(cat(c, KEY_PEM)) == full_pub, "another key"
        assert c.exec(["mtactl", "dkim", "txt"]).stdout == full_dkim_txt
        owner, value = parse_bind_txt(full_txt)
        subject = "dkim-switch-" + token()
        submit(c.ip, SASL_USER, SASL_PW, BOB, FOREIGN, subject)
        (m,) = wait_at_sink(mx_sink, subject)
        check_signed(m["data"], {owner.rstrip("."): value})
    finally:
        for x in started:
            x.rm()
        rm_volume(vol)


# --- bad input -----------------------------------------------------------------------------------

BAD = [
    ("rspamd", "RAZOR_REGISTRATION", "x", "rspamd"),
    ("rspamd", "SA_DEBUG", "1", "rspamd"),
    ("full", "RSPAMD_PASSWORD", "Secret-web-ui-pw", "rspamd"),
    ("rspamd", "FINAL_SPAM_DESTINY", "D_MAYBE", None),
]


# (fixed values: the ids must be the same in every xdist worker)
@pytest.mark.parametrize("stage,var,value,names", BAD, ids=["%s:%s=%s" % b[:3] for b in BAD])
def test_bad_input_exits_100(run_config_error, stage, var, value, names):
    code, out = run_config_error(stage=stage, env={var: value}, timeout=90)
    assert code == BAD_CONFIG_EXIT, "%s %s=%r: exit %r\n%s" % (stage, var, value, code, out[-3000:])
    secret = var == "RSPAMD_PASSWORD"
    lines = [ln for ln in out.splitlines() if var in ln and (secret or value in ln)]
    assert len(lines) == 1, "%s=%r: no single line naming the variable and value:\n%s" % (var, value, out)
    if names:
        assert names in lines[0], "the line does not name the %s image: %r" % (names, lines[0])
    if secret:
        assert value not in out, "the secret value is shown:\n" + out
    assert "-> up" not in out, "services started despite bad input:\n" + out

