"""End-to-end tests of the Prometheus metrics (METRICS_LISTEN, src/metrics/).

Peers: a real Prometheus (Debian's, tests/peers/prometheus, `mta-test-prometheus`)
scraping one full server every second with basic auth, and loading
deploy/prometheus/alerts.yml; a DNS peer (SpamAssassin's lookups fail fast);
a relay sink; the EICAR-only ClamAV database (conftest `clamdb`).

The server gets known mail (clean, GTUBE spam, EICAR virus, an unknown
recipient, a failed AUTH); then PromQL over Prometheus's HTTP API must
return exactly that many more than before. Also: promtool check metrics on a
scrape and check rules on alerts.yml, the gauges (queues, quarantine,
certificate expiry, ClamAV age, services and restarts, counters surviving a
restart of the metrics service), 401 without the password, nothing
listening without METRICS_LISTEN (mini image), bad input (exit 100).
"""
import base64
import json
import re
import smtplib
import ssl
import urllib.error
import urllib.parse
import urllib.request

import pytest

from basepeers import ensure_image
from dockerlib import LABEL, docker, send_message, rcpt_code, unique_name, wait_for, Container
from fullpeers import (SA_DNS_TEST_DOMAINS, TESTS_DIR, Server, amavis_log_for, assert_accepted,
                       build_message, eicar_message, gtube_message, queue_id, start_dns, start_full,
                       token, wait_mail)

PROM_IMAGE = "mta-test-prometheus"
PROM_DIR = TESTS_DIR / "peers" / "prometheus"
ALERTS = TESTS_DIR.parent / "deploy" / "prometheus" / "alerts.yml"
PORT = 9154
PASSWORD = "Metrics-pw-" + token()
INFO = "info@example.com"
SASL_USER, SASL_PW = "user", "Sub-pw-" + token()
BAD_CONFIG_EXIT = 100

PROM_CONFIG = """\
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [/tmp/rules.yml]
scrape_configs:
  - job_name: mta
    static_configs:
      - targets: ["{target}:%d"]
    basic_auth:
      username: metrics
      password: "%s"
""" % (PORT, PASSWORD)


class Tier:
    pass


@pytest.fixture(scope="module")
def tier(net, net_gateway, clamdb, relay):
    ensure_image(PROM_IMAGE, PROM_DIR)
    t = Tier()
    made = []
    try:
        t.dns = start_dns(net, addresses={d: "192.0.2.53" for d in SA_DNS_TEST_DOMAINS})
        made.append(t.dns)
        env = {
            "MAIL_BOXES": INFO,
            "CLAMAV_FRESHCLAM": "no",
            "RELAYHOST": "[%s]:25" % relay.name,
            "SMTP_TLS_SECURITY_LEVEL": "none",
            "SMTPD_SASL_CLIENTAUTH": "%s:{PLAIN}%s" % (SASL_USER, SASL_PW),
            "METRICS_LISTEN": ":%d" % PORT,
            "METRICS_PASSWORD": PASSWORD,
        }
        t.server = Server("metrics", lambda: start_full(net, net_gateway, env, dns=t.dns.ip,
                                                        volumes={clamdb: "/var/lib/clamav"},
                                                        kind="full-metrics"))
        made.append(t.server)
        name = unique_name("prom")
        docker("run", "-d", "--name", name, "--label", LABEL, "--network", net,
               "--network-alias", name, "--hostname", name,
               "-e", "PROM_CONFIG=" + PROM_CONFIG.replace("{target}", t.server.c.name),
               "-e", "PROM_RULES=" + ALERTS.read_text(), PROM_IMAGE)
        t.prom = Container(name, net)
        made.append(t.prom)
        t.mx = t.server.get()
        yield t
    finally:
        for c in reversed(made):
            c.rm()


# --- helpers ------------------------------------------------------------------------

def scrape(ip, password=PASSWORD, user="metrics"):
    """(status, body) of GET /metrics, with basic auth unless password is None."""
    req = urllib.request.Request("http://%s:%d/metrics" % (ip, PORT))
    if password is not None:
        cred = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        req.add_header("Authorization", "Basic " + cred)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def prom_api(t, path, **params):
    url = "http://%s:9090/api/v1/%s?%s" % (t.prom.ip, path, urllib.parse.urlencode(params))
    with urllib.request.urlopen(url, timeout=10) as r:
        doc = json.load(r)
    assert doc["status"] == "success", doc
    return doc["data"]


def query(t, promql):
    """The value of a PromQL expression with one sample, None when it has none."""
    result = prom_api(t, "query", query=promql)["result"]
    assert len(result) <= 1, (promql, result)
    return float(result[0]["value"][1]) if result else None


def wait_value(t, promql, expected, timeout=90):
    last = []

    def check():
        last[:] = [query(t, promql)]
        return last[0] == expected
    try:
        wait_for(check, timeout=timeout, interval=1, what="%s == %s" % (promql, expected))
    except AssertionError as e:
        raise AssertionError("%s; last value %s\nscrape:\n%s" % (e, last, scrape(t.mx.ip)[1])) from None


def service_pid(c, name):
    for line in c.read_file("/run/mtactl/services").splitlines():
        f = line.split()
        if len(f) >= 3 and f[0] == name and f[1] == "up":
            return int(f[2])
    return None


def failed_auth(ip):
    """One AUTH PLAIN with a wrong password on 587 after STARTTLS; the reply code."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = smtplib.SMTP(ip, 587, timeout=60)
    try:
        s.ehlo("client.test")
        s.starttls(context=ctx)
        s.ehlo("client.test")
        cred = base64.b64encode(("\0%s\0wrong-%s" % (SASL_USER, token())).encode()).decode()
        code, _ = s.docmd("AUTH", "PLAIN " + cred)
        return code
    finally:
        s.close()


# Counters the known mail moves, and by how much.
DELTAS = {
    'mta_messages_received_total{port="25"}': 3,        # clean, spam, virus
    'sum(mta_messages_delivered_total)': 2,              # clean, spam (D_PASS); virus discarded
    'mta_delivery_delay_seconds_count': 2,
    'mta_filter_verdicts_total{verdict="clean"}': 1,
    'mta_filter_verdicts_total{verdict="spam"}': 1,
    'mta_filter_verdicts_total{verdict="virus"}': 1,
    'mta_smtp_rejected_total{class="unknown_user"}': 1,
    'mta_sasl_auth_failures_total': 1,
    'mta_tls_inbound_sessions_total{version="TLSv1.3"}': 1,  # the failed AUTH's STARTTLS
    'mta_messages_received_total{port="587"}': 0,
    'mta_messages_bounced_total': 0,
}


# --- the tests ----------------------------------------------------------------------

def test_known_mail_gives_known_counts(tier):
    t = tier
    base = {}
    for q in DELTAS:
        wait_for(lambda: query(t, q) is not None, timeout=60, interval=1, what="%s scraped" % q)
        base[q] = query(t, q)
    tag = token()
    ids = []
    for kind, make in (("clean", build_message), ("spam", gtube_message), ("virus", eicar_message)):
        subject = "metrics-%s-%s" % (kind, tag)
        r = send_message(t.mx.ip, make("sender@client.test", INFO, subject), "sender@client.test", [INFO])
        assert_accepted(r, kind)
        ids.append(queue_id(r))
    for qid in ids:
        amavis_log_for(t.mx, queue_id=qid)
    for kind in ("clean", "spam"):
        wait_mail(t.mx, "/var/mail/" + INFO, "metrics-%s-%s" % (kind, tag))
    code, text = rcpt_code(t.mx.ip, "nobody-%s@example.com" % tag)
    assert code == 550, (code, text)
    assert failed_auth(t.mx.ip) == 535
    for q, delta in DELTAS.items():
        wait_value(t, q, base[q] + delta)
    # the delays of the two deliveries are in the histogram's buckets
    assert query(t, 'mta_delivery_delay_seconds_bucket{le="+Inf"}') == base["mta_delivery_delay_seconds_count"] + 2
    assert query(t, "mta_delivery_delay_seconds_sum") > 0


def test_gauges(tier):
    t = tier
    wait_value(t, 'mta_service_up{service="postfix"}', 1)
    assert query(t, 'mta_service_up{service="amavis"}') == 1
    assert query(t, 'mta_service_restarts_total{service="postfix"}') == 0
    for q in ("incoming", "active", "deferred", "hold"):
        assert query(t, 'mta_queue_messages{queue="%s"}' % q) is not None, q
    # the served certificate (self-signed for submission): its notAfter, as openssl reads it
    cert = t.mx.exec(["postconf", "-h", "smtpd_tls_cert_file"]).stdout.strip()
    end = t.mx.exec(["sh", "-c", 'date -d "$(openssl x509 -noout -enddate -in %s | cut -d= -f2)" +%%s' % cert]).stdout
    assert query(t, "mta_tls_cert_not_after_timestamp_seconds") == float(end.strip())
    age = query(t, "mta_clamav_database_age_seconds")
    assert age is not None and age >= 0


def test_quarantine_and_restart_keep_counts(tier):
    """The quarantine gauge follows amavis's directory; killing the metrics
    service restarts it (restart counted) with the counters where they were."""
    t = tier
    files = int(t.mx.exec(["sh", "-c", "find /var/amavis/quarantine -type f | wc -l"]).stdout)
    wait_value(t, "mta_quarantine_messages", files)
    received = query(t, 'mta_messages_received_total{port="25"}')
    pid = service_pid(t.mx, "metrics")
    assert pid
    t.mx.exec(["kill", str(pid)])
    wait_value(t, 'mta_service_restarts_total{service="metrics"}', 1)
    wait_value(t, 'mta_service_up{service="metrics"}', 1)
    assert query(t, 'mta_messages_received_total{port="25"}') == received


def test_promtool_checks_a_scrape_and_the_rules(tier):
    t = tier
    status, body = scrape(t.mx.ip)
    assert status == 200
    p = docker("exec", "-i", t.prom.name, "promtool", "check", "metrics", input=body, check=False, merge=True)
    assert p.returncode == 0, p.stdout
    docker("cp", str(ALERTS), "%s:/tmp/alerts-check.yml" % t.prom.name)
    p = docker("exec", t.prom.name, "promtool", "check", "rules", "/tmp/alerts-check.yml", check=False, merge=True)
    assert p.returncode == 0 and "SUCCESS: 6 rules found" in p.stdout, p.stdout
    # Prometheus itself loaded them and evaluates them without error
    groups = prom_api(t, "rules")["groups"]
    rules = [r for g in groups for r in g["rules"]]
    assert len(rules) == 6 and all(r["health"] == "ok" for r in rules), rules


def test_password_required(tier):
    t = tier
    assert scrape(t.mx.ip, password=None)[0] == 401
    assert scrape(t.mx.ip, password="wrong-" + PASSWORD)[0] == 401
    status, body = scrape(t.mx.ip, user="anyone")
    assert status == 200 and "mta_queue_messages" in body
    # Prometheus scrapes with it: its target is up
    assert query(t, 'up{job="mta"}') == 1


def test_nothing_listens_without_metrics_listen(mta):
    c = mta("mini", env={"MAIL_BOXES": INFO})
    assert "metrics" not in c.read_file("/run/mtactl/services")
    assert not c.file_exists("/run/mtactl/counters")
    listening = c.exec(["sh", "-c", "cat /proc/net/tcp /proc/net/tcp6"]).stdout
    ports = {int(m.group(1), 16) for m in re.finditer(r"^\s*\d+: [0-9A-F]+:([0-9A-F]{4}) [0-9A-F]+:0000 0A",
                                                     listening, re.M)}
    assert 25 in ports and PORT not in ports, ports


@pytest.mark.parametrize("env, shown", [
    ({"METRICS_LISTEN": ":99999"}, 'METRICS_LISTEN=":99999"'),
    ({"METRICS_LISTEN": "nonsense"}, 'METRICS_LISTEN="nonsense"'),
    ({"METRICS_LISTEN": ":25"}, "not 25"),
    ({"METRICS_LISTEN": ":9154", "METRICS_PASSWORD": "short"}, "METRICS_PASSWORD"),
])
def test_bad_input_stops_the_start(run_config_error, env, shown):
    code, out = run_config_error("mini", env=dict(env, MAIL_BOXES=INFO))
    assert code == BAD_CONFIG_EXIT, out
    assert shown in out and "expected" in out, out
    assert "syslog: down -> up" not in out, out


def test_grafana_dashboard_queries(tier):
    """Every expression of the shipped dashboard is PromQL that Prometheus
    accepts, over metrics this server exports (each returns a sample)."""
    t = tier
    dash = json.loads((ALERTS.parent / "grafana-dashboard.json").read_text())
    exprs = [tg["expr"] for p in dash["panels"] for tg in p["targets"]]
    assert len(exprs) >= 12
    empty = []
    for e in exprs:
        e = e.replace("$instance", ".*")
        if not prom_api(t, "query", query=e)["result"]:
            empty.append(e)
    # rates of families with no traffic yet are still samples (0); a histogram
    # quantile over no deliveries would be NaN, not empty: nothing is empty
    assert not empty, empty
