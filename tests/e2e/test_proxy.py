"""End-to-end tests of PROXY_PROTOCOL=haproxy and the network LMTP, with
Debian's haproxy (tests/peers/haproxy) in front, as the scale-out design
has it:

  client ──> lb (haproxy, send-proxy-v2, health checks with check-send-proxy)
               25, 587 ──> mx    (rspamd image, PROXY_PROTOCOL=haproxy,
                                   VIRTUAL_TRANSPORT=lmtp:store:24)
               993     ──> store (base image, PROXY_PROTOCOL=haproxy for
                                   IMAP, DOVECOT_LMTP_LISTEN=*:24 for mx)

Peers: a client container (the peer image, sleeping; the tests run Python's
smtplib/imaplib in it), one dnsmasq with the SPF records of spf-pass.test
(the client's own address) and spf-fail.test (another address). The host
(the network's gateway) stands for an address outside both trusted lists.

The module's containers are shared and started once; haproxy resolves its
servers at run time (Docker's DNS), so it starts first and the mx and store
get its address in their trusted networks.
"""
import imaplib
import json
import re
import socket
import ssl
import time

import pytest

from basepeers import ensure_image
from dockerlib import LABEL, PEER_IMAGE, Container, docker, ensure_peer_image, unique_name, wait_for
from fullpeers import (TESTS_DIR, build_message, health, start_dns, token, unfold, wait_log)
from rspamdpeers import start_image

HAPROXY_IMAGE = "mta-test-haproxy"
HAPROXY_DIR = TESTS_DIR / "peers" / "haproxy"
INFO = "info@example.com"
INFO_PW = "Info-pw-" + token()
SUB_USER, SUB_PW = "sender", "Sub-pw-" + token()
BAD_CONFIG_EXIT = 100

HAPROXY_CONFIG = """\
global
    log stdout format raw local0 info
    maxconn 256
defaults
    mode tcp
    log global
    option tcplog
    timeout connect 5s
    timeout client 120s
    timeout server 120s
    timeout check 5s
    retries 3
    option redispatch
resolvers docker
    nameserver dns 127.0.0.11:53
    hold valid 2s
    hold nx 1s
frontend smtp
    bind :25
    default_backend mx25
frontend submission
    bind :587
    default_backend mx587
frontend imaps
    bind :993
    default_backend store993
backend mx25
    option smtpchk EHLO lb.test
    server mx {mx}:25 send-proxy-v2 check check-send-proxy inter 3s resolvers docker init-addr none
backend mx587
    option smtpchk EHLO lb.test
    server mx {mx}:587 send-proxy-v2 check check-send-proxy inter 3s resolvers docker init-addr none
backend store993
    server store {store}:993 send-proxy-v2 check check-send-proxy check-ssl verify none inter 3s resolvers docker init-addr none
"""

# Runs inside the client container: one SMTP session, every reply recorded.
CLIENT_SMTP = r"""
import json, smtplib, ssl, sys
a = json.loads(sys.argv[1])
out = {"replies": [], "error": None}
try:
    s = smtplib.SMTP(a["host"], a["port"], timeout=60)
    out["replies"].append(s.ehlo("client.test"))
    if a.get("user"):
        ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
        out["replies"].append(s.starttls(context=ctx)); s.ehlo("client.test")
        out["replies"].append(s.login(a["user"], a["password"]))
    out["replies"].append(s.docmd("MAIL FROM:<%s>" % a["from"]))
    r = s.docmd("RCPT TO:<%s>" % a["to"]); out["replies"].append(r); out["rcpt"] = r[0]
    if 200 <= r[0] < 300:
        out["data"] = s.data(a["msg"].encode())[0]
    s.quit()
except Exception as e:
    out["error"] = repr(e)
print(json.dumps(out, default=lambda b: b.decode("utf-8", "replace")))
"""

CLIENT_IMAP = r"""
import imaplib, json, ssl, sys
a = json.loads(sys.argv[1])
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
try:
    m = imaplib.IMAP4_SSL(a["host"], 993, ssl_context=ctx, timeout=30)
    typ, _ = m.login(a["user"], a["password"])
    m.logout()
    print(json.dumps({"login": typ}))
except Exception as e:
    print(json.dumps({"login": None, "error": repr(e)}))
"""


class Tier:
    pass


def _run(kind, image, net, args=(), env=None, entrypoint=None):
    name = unique_name(kind)
    cmd = ["run", "-d", "--name", name, "--label", LABEL, "--network", net,
           "--network-alias", name, "--hostname", name]
    for k, v in (env or {}).items():
        cmd += ["-e", "%s=%s" % (k, v)]
    if entrypoint:
        cmd += ["--entrypoint", entrypoint]
    docker(*cmd, image, *args)
    return Container(name, net)


def wait_healthy(c, timeout=240):
    """`mtactl health` answers healthy (in PROXY mode it probes Postfix's
    internal listener with a PROXY line)."""
    last = []

    def ok():
        if not c.is_running():
            raise AssertionError("%s stopped:\n%s" % (c.name, c.logs()[-5000:]))
        code, out = health(c)
        last[:] = [out]
        return code == 0
    try:
        wait_for(ok, timeout=timeout, interval=2, what="%s healthy" % c.name)
    except AssertionError as e:
        raise AssertionError("%s; last: %s\nlogs:\n%s" % (e, last, c.logs()[-5000:])) from None


@pytest.fixture(scope="module")
def tier(net, net_gateway, peer_image):
    ensure_image(HAPROXY_IMAGE, HAPROXY_DIR)
    ensure_peer_image()
    t = Tier()
    made = []
    try:
        t.mx_name, t.store_name = unique_name("mx"), unique_name("store")
        t.client = _run("client", PEER_IMAGE, net, args=["infinity"], entrypoint="sleep")
        made.append(t.client)
        t.lb = _run("lb", HAPROXY_IMAGE, net,
                    env={"HAPROXY_CONFIG": HAPROXY_CONFIG.format(mx=t.mx_name, store=t.store_name)})
        made.append(t.lb)
        t.client_ip, t.lb_ip = t.client.ip, t.lb.ip
        t.dns = start_dns(net, txt={"spf-pass.test": "v=spf1 ip4:%s -all" % t.client_ip,
                                    "spf-fail.test": "v=spf1 ip4:192.0.2.1 -all"})
        made.append(t.dns)
        mx_env = {
            "PROXY_PROTOCOL": "haproxy",
            "PROXY_TRUSTED_NETWORKS": t.lb_ip,
            "MAIL_BOXES": INFO,
            "VIRTUAL_TRANSPORT": "lmtp:%s:24" % t.store_name,
            "SMTPD_SASL_CLIENTAUTH": "%s:{PLAIN}%s" % (SUB_USER, SUB_PW),
            "CLAMAV_DAEMON": "no", "CLAMAV_FRESHCLAM": "no",
            "SMTP_TLS_SECURITY_LEVEL": "none", "MTA_STS": "no",
            "SYSLOG_LEVEL": "6",    # each connection and delivery
        }
        t.mx = start_image("rspamd", net, net_gateway, mx_env, dns=t.dns.ip, kind="mx",
                           client_host=False, extra_args=["--network-alias", t.mx_name])
        made.append(t.mx)
        t.mx_ip = t.mx.ip
        store_env = {
            "PROXY_PROTOCOL": "haproxy",
            "PROXY_TRUSTED_NETWORKS": t.lb_ip,
            "MAIL_BOXES": INFO,
            "VIRTUAL_TRANSPORT": "lmtp:unix:private/transport",
            "SMTPD_SASL_CLIENTAUTH": "%s:{PLAIN}%s" % (INFO, INFO_PW),
            "DOVECOT_LMTP_LISTEN": "*:24",
            "DOVECOT_LMTP_TRUSTED_NETWORKS": t.mx_ip,
            "SYSLOG_LEVEL": "6",
        }
        t.store = start_image("base", net, net_gateway, store_env, kind="store", client_host=False,
                              hostname="store.example.com",
                              extra_args=["--network-alias", t.store_name])
        made.append(t.store)
        wait_healthy(t.store)
        wait_healthy(t.mx)
        try:
            wait_for(lambda: _lb_servers_up(t.lb), timeout=60, interval=1, what="haproxy's servers up")
        except AssertionError as e:
            raise AssertionError("%s\nhaproxy:\n%s\nmx:\n%s\nstore:\n%s" % (
                e, t.lb.logs()[-3000:], t.mx.logs()[-4000:], t.store.logs()[-3000:])) from None
        # haproxy checks the servers from before they listen: DOWN until then
        t.lb_lines_at_ready = len(t.lb.logs().splitlines())
        yield t
    finally:
        for c in reversed(made):
            c.rm()


def _lb_servers_up(lb):
    """Every backend server of haproxy is UP by its last state change in the log."""
    states = {}
    for m in re.finditer(r"Server (\w+)/\w+ (?:\('[^']*'\) )?is (UP|DOWN)", lb.logs()):
        states[m.group(1)] = m.group(2)
    return all(states.get(b) == "UP" for b in ("mx25", "mx587", "store993"))


def client_smtp(t, port, mail_from, rcpt, subject, user=None, password=None):
    msg = build_message(mail_from, rcpt, subject).decode()
    arg = {"host": t.lb_ip, "port": port, "from": mail_from, "to": rcpt, "msg": msg,
           "user": user, "password": password}
    p = t.client.exec(["python3", "-c", CLIENT_SMTP, json.dumps(arg)], timeout=120)
    return json.loads(p.stdout)


def imap_fetch_subject(host, user, password, subject, timeout=60):
    """Over IMAP (through the balancer, from the host): the message whose
    Subject contains subject, as text; waits (bounded)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE

    def find():
        m = imaplib.IMAP4_SSL(host, 993, ssl_context=ctx, timeout=30)
        try:
            m.login(user, password)
            m.select("INBOX", readonly=True)
            typ, data = m.search(None, "SUBJECT", '"%s"' % subject)
            ids = data[0].split() if typ == "OK" else []
            if not ids:
                return None
            typ, parts = m.fetch(ids[-1], "(RFC822)")
            return parts[0][1].decode("utf-8", "replace")
        finally:
            m.logout()
    return wait_for(find, timeout=timeout, interval=2, what="%r in %s's IMAP INBOX" % (subject, user))


def headers_of(text, name):
    import email
    import email.policy
    msg = email.message_from_string(text, policy=email.policy.compat32)
    return [unfold(v) for v in (msg.get_all(name) or [])]


def no_greeting(host, port, send=b"", timeout=15):
    """Connects, optionally sends bytes, and reads what comes within timeout:
    returns the bytes received before the peer closed (b"" = no service).
    A peer that keeps the connection open silently past the timeout is an
    answer too (no service), returned as None."""
    with socket.create_connection((host, port), timeout=5) as s:
        if send:
            s.sendall(send)
        s.settimeout(timeout)
        got = b""
        try:
            for _ in range(64):
                chunk = s.recv(4096)
                if not chunk:
                    return got
                got += chunk
        except socket.timeout:
            return None if not got else got
        except ConnectionResetError:
            return got
        return got


# --- through the balancer ---------------------------------------------------------------

def test_health_checks_leave_no_errors(tier):
    """haproxy's checks (smtpchk with a v2 LOCAL header, TLS on 993) every
    3 s since the start: nothing in the logs a person would chase. First in
    the module: the header-less test below makes the gate log a refusal of
    haproxy's address on purpose."""
    time.sleep(7)   # a few more rounds of checks
    bad = re.compile(r"(warning|error|fatal|panic):|lost connection|refused", re.I)
    lb = re.compile(re.escape(tier.lb_ip) + r"(?!\d)")
    for c in (tier.mx, tier.store):
        lines = [ln for ln in c.logs().splitlines() if lb.search(ln) and bad.search(ln)]
        assert not lines, "%s:\n%s" % (c.name, "\n".join(lines[-20:]))
    down = [ln for ln in tier.lb.logs().splitlines()[tier.lb_lines_at_ready:] if " is DOWN" in ln]
    assert not down, down


def test_client_address_seen_through_haproxy(tier):
    """Port 25 through haproxy: Postfix logs and the Received: header of the
    delivered mail name the client container, not haproxy."""
    subject = "proxy-25-" + token()
    r = client_smtp(tier, 25, "someone@spf-pass.test", INFO, subject)
    assert r["error"] is None and r.get("data") == 250, r
    text = imap_fetch_subject(tier.lb_ip, INFO, INFO_PW, subject)
    received = headers_of(text, "Received")
    assert any("[%s]" % tier.client_ip in h and "client.test" in h for h in received), received
    assert not any("[%s]" % tier.lb_ip in h for h in received), received
    wait_log(tier.mx, r"postfix/smtpd\[\d+\]: connect from \S+\[%s\]" % re.escape(tier.client_ip),
             timeout=30)
    # store's Dovecot names the mx, not loopback, as where it came from
    assert any("[%s]" % tier.mx_ip in h and "LMTP" in h for h in received), received


def test_client_is_not_mynetworks_and_cannot_relay(tier):
    """haproxy sits in PROXY_TRUSTED_NETWORKS, the client does not: relaying
    is refused with 5xx, as for any outside client."""
    r = client_smtp(tier, 25, "someone@spf-pass.test", "victim@elsewhere.test", "relay-" + token())
    assert r["error"] is None, r
    assert 500 <= r["rcpt"] < 600, r
    assert any("Relay access denied" in str(x) for x in r["replies"]), r
    wait_log(tier.mx, r"NOQUEUE: reject: RCPT from \S+\[%s\]: 554 5\.7\.1 <victim@elsewhere\.test>: "
             r"Relay access denied" % re.escape(tier.client_ip), timeout=30)


@pytest.mark.parametrize("domain,result", [("spf-pass.test", "pass"), ("spf-fail.test", "fail")],
                         ids=["listed", "not-listed"])
def test_spf_on_the_client_address(tier, domain, result):
    """SPF is evaluated on the client's own address: pass where the record
    lists it, not pass where it lists another one."""
    subject = "proxy-spf-%s-%s" % (result, token())
    r = client_smtp(tier, 25, "someone@" + domain, INFO, subject)
    if r.get("data") != 250:
        # a hard SPF fail may be refused outright; that is "not pass" too
        assert result == "fail" and r["error"] is None, r
        return
    text = imap_fetch_subject(tier.lb_ip, INFO, INFO_PW, subject)
    ar = " ".join(headers_of(text, "Authentication-Results"))
    if result == "pass":
        assert "spf=pass" in ar, ar
    else:
        assert "spf=pass" not in ar and "spf=" in ar, ar


def test_submission_with_auth_shows_the_client(tier):
    """587 through haproxy: STARTTLS, AUTH, accepted; Postfix's submission
    log names the client container and the SASL user."""
    subject = "proxy-587-" + token()
    r = client_smtp(tier, 587, "sender@example.com", INFO, subject, user=SUB_USER, password=SUB_PW)
    assert r["error"] is None and r.get("data") == 250, r
    wait_log(tier.mx, r"postfix/submission/smtpd\[\d+\]: \w+: client=\S+\[%s\], sasl_method=PLAIN, "
             r"sasl_username=%s" % (re.escape(tier.client_ip), SUB_USER), timeout=30)
    imap_fetch_subject(tier.lb_ip, INFO, INFO_PW, subject)


def test_imaps_login_through_haproxy(tier):
    """993 through haproxy: the login works and Dovecot logs the client's address."""
    p = tier.client.exec(["python3", "-c", CLIENT_IMAP,
                          json.dumps({"host": tier.lb_ip, "user": INFO, "password": INFO_PW})])
    assert json.loads(p.stdout)["login"] == "OK", p.stdout
    wait_log(tier.store, r"imap-login: Login: user=<%s>, method=PLAIN, rip=%s," %
             (re.escape(INFO), re.escape(tier.client_ip)), timeout=30)


# --- who gets no service -------------------------------------------------------------------

def test_headerless_from_trusted_gets_no_service(tier):
    """haproxy's own address without a PROXY header: no greeting, closed."""
    script = ("exec 3<>/dev/tcp/%s/25 || exit 2; timeout 15 cat <&3; echo \"rc=$?\"" % tier.mx_ip)
    p = tier.lb.exec(["bash", "-c", script], timeout=60)
    assert "220" not in p.stdout, p.stdout
    assert "rc=0" in p.stdout, p.stdout     # closed by the gate, not by the time-out


def test_untrusted_with_forged_header_gets_no_service(tier):
    """The host is not in PROXY_TRUSTED_NETWORKS: a valid v1 header claiming
    loopback gets nothing, and the gate says why."""
    header = b"PROXY TCP4 127.0.0.1 %s 40000 25\r\n" % tier.mx_ip.encode()
    got = no_greeting(tier.mx_ip, 25, send=header)
    assert not got, got
    got = no_greeting(tier.mx_ip, 587, send=header)
    assert not got, got


def tls_after_header(host, port, header, timeout=15):
    """Sends the header, then a TLS handshake: True when it completes."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(header)
        try:
            with ctx.wrap_socket(s) as tls:
                tls.recv(64)
                return True
        except (ssl.SSLError, OSError):
            return False


def test_untrusted_direct_imaps_gets_no_service(tier, net_gateway):
    """Dovecot's own check: the host straight at the store's 993 with a
    header gets no TLS handshake (through haproxy it does: the IMAP tests)."""
    header = b"PROXY TCP4 127.0.0.1 %s 40000 993\r\n" % tier.store.ip.encode()
    assert not tls_after_header(tier.store.ip, 993, header)
    wait_log(tier.store, r"Client not trusted|not trusted", timeout=30)


def test_lmtp_from_outside_the_trusted_networks_refused(tier, net_gateway):
    """The host is not in DOVECOT_LMTP_TRUSTED_NETWORKS: no LMTP greeting."""
    assert not no_greeting(tier.store.ip, 24)
    wait_log(tier.store, r"lmtp: refused %s\b.*DOVECOT_LMTP_TRUSTED_NETWORKS" % re.escape(net_gateway),
             timeout=30)


# --- bad input ---------------------------------------------------------------------------

@pytest.mark.parametrize("stage,env,var,expected", [
    ("mini", {"PROXY_PROTOCOL": "yes-please"}, "PROXY_PROTOCOL", "expected empty or haproxy"),
    ("mini", {"PROXY_PROTOCOL": "haproxy"}, "PROXY_TRUSTED_NETWORKS", "required with PROXY_PROTOCOL=haproxy"),
    ("base", {"DOVECOT_LMTP_LISTEN": "*:24", "VIRTUAL_TRANSPORT": "lmtp:unix:private/transport"},
     "DOVECOT_LMTP_TRUSTED_NETWORKS", "required with DOVECOT_LMTP_LISTEN"),
], ids=["yes-please", "no-trusted-networks", "lmtp-no-trusted-networks"])
def test_bad_input_exits_100_with_one_line(run_config_error, stage, env, var, expected):
    code, out = run_config_error(stage, env=env)
    assert code == BAD_CONFIG_EXIT, out
    lines = [ln for ln in out.splitlines() if var + "=" in ln]
    assert len(lines) == 1, out
    assert expected in lines[0], lines[0]
