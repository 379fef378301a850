"""Hostile input, as a table: 40 bad settings across the three images, each
a non-zero exit (100) before any service starts, one line naming the
variable, and nothing half-written on a volume that had a good
configuration. Also: relay tricks on every port without authentication,
the start-up warning for a mynetworks wider than this host, and
VIRTUAL_TRANSPORT checked against the transports of the image's master.cf
(at start and by `mtactl config --check`)."""
import secrets
import smtplib
import ssl

import pytest

from dockerlib import IMAGE, LABEL, docker, rcpt_code, send_mail, unique_name

GOOD = {"MAIL_BOXES": "info@example.com"}

# (image, variable, value): every line must name the variable.
CASES = [
    ("mini", "MAIL_BOXES", "not-an-address"),
    ("mini", "MAIL_BOXES", "a@example.com:../../etc/passwd"),
    ("mini", "MAIL_BOXES", "a@example.com:/abs/path"),
    ("mini", "MAIL_BOXES", "a@example.com a@example.com"),
    ("mini", "MAIL_BOXES", "jörg@example.com"),
    ("mini", "MAIL_ALIASES", "noseparator"),
    ("mini", "MAIL_ALIASES", "root:"),
    ("mini", "MAIL_ALIASES", "root:a,,b"),
    ("mini", "MAIL_DOMAIN", "bad_domain!"),
    ("mini", "MAIL_DOMAIN", "example.com example.com"),
    ("mini", "MESSAGE_SIZE_LIMIT", "10MB"),
    ("mini", "MESSAGE_SIZE_LIMIT", "99999999999999999999"),
    ("mini", "SYSLOG_LEVEL", "debug"),
    ("mini", "SMTP_TLS_SECURITY_LEVEL", "maybe"),
    ("mini", "SMTP_TLS_WRAPPERMODE", "on"),
    ("mini", "VIRTUAL_TRANSPORT", "lmtp"),
    ("mini", "REGEX_ALIAS", "/[z-a]/ x"),
    ("mini", "REGEX_ALIAS", "if /a/\n/b/ c"),
    ("mini", "SMTP_RELAY_HOSTAUTH", "relay.example.com:0 u:p"),
    ("mini", "DOCKER_UNLOCK_FILE", "relative"),
    ("mini", "SMTPD_BANNER", "two\nlines"),
    ("mini", "LDAP_HOST", "ldap://bad host"),
    ("mini", "MYSQL_HOST", "db:notaport"),
    ("mini", "SMTPD_SASL_CLIENTAUTH", "u:p"),
    ("base", "SMTPD_SASL_CLIENTAUTH", ":nouser"),
    ("base", "SMTPD_SASL_IMAPHOST", "imap:99999"),
    ("base", "LDAP_QUERY_FILTER_USER", "(unbalanced"),
    ("base", "DOVECOT_MAIL_LOCATION", "/var/mail/%u"),
    ("base", "DOVECOT_AUTH_USERNAME_FORMAT", "%Ln\n%u"),
    ("base", "SMTPD_USE_TLS", "1"),
    ("base", "SMTPD_TLS_CERT_FILE", "/etc/hostname"),
    ("base", "ACME_FILE", "acme.json"),
    ("base", "FINAL_SPAM_DESTINY", "D_PASS"),
    ("full", "FINAL_VIRUS_DESTINY", "D_DROP"),
    ("full", "SA_KILL_LEVEL_DEFLT", "6,9"),
    ("full", "SA_TAG2_LEVEL_DEFLT", "high"),
    ("full", "DKIM_KEYBITS", "512"),
    ("full", "DKIM_SELECTOR", "-bad"),
    ("full", "CLAMAV_FRESHCLAM", "sometimes"),
    ("full", "KOPANO_SPAMD_LIB", "spamd"),
    ("mini", "VIRTUAL_TRANSPORT", "carrier-pigeon:x"),
    ("mini", "MAIL_ALIASES", "@foreign.test:info@example.com"),
    ("base", "VIRTUAL_TRANSPORT", "lmtp-amavis:unix:/run/amavis/inbound.sock"),
    ("mini", "RES_OPTIONS", "timeout:1 atempts:2"),
    ("full", "RES_OPTIONS", "timeout:600"),
]

# Cases that are bad only on an image smaller than full (the volume test runs full).
SMALLER_IMAGES_ONLY = {("base", "FINAL_SPAM_DESTINY", "D_PASS"),
                       ("base", "VIRTUAL_TRANSPORT", "lmtp-amavis:unix:/run/amavis/inbound.sock")}


@pytest.mark.parametrize("stage,name,value", CASES,
                         ids=["%s-%s-%d" % (c[0], c[1], i) for i, c in enumerate(CASES)])
def test_bad_setting_refused(run_config_error, stage, name, value):
    env = dict(GOOD, **{name: value})
    code, out = run_config_error(stage=stage, env=env)
    assert code == 100, "exit %r for %s=%r:\n%s" % (code, name, value, out[-2000:])
    lines = [l for l in out.splitlines() if l.startswith("mtactl config: ") and name in l]
    assert lines, "no line names %s:\n%s" % (name, out[-2000:])
    assert "starting the Postfix mail system" not in out


def test_the_table_has_forty_cases():
    assert len(CASES) >= 40


def test_bad_settings_leave_a_volume_as_it_was(run_config_error, mta, volume):
    vol = volume()
    c = mta(stage="full", env={"MAIL_BOXES": "info@example.com", "CLAMAV_DAEMON": "no"},
            volumes={vol: "/srv"}, wait=True)
    before = c.exec(["sh", "-c", "cd /srv/etc && find . -type f ! -name '*.tmp.*' | sort | "
                     "xargs md5sum"]).stdout
    c.stop()
    # Every fourth case, less those that are bad only on a smaller image.
    for stage, name, value in [c for c in CASES[::4] if c not in SMALLER_IMAGES_ONLY]:
        env = {"FORCE_CONFIG": "1", "MAIL_BOXES": "other@example.com"}
        env[name] = value  # last: the MAIL_BOXES cases replace the good value
        code, out = run_config_error(stage="full", env=env,
                                     volumes={vol: "/srv"})
        assert code == 100, out[-1500:]
    c.start(wait_port=25)
    after = c.exec(["sh", "-c", "cd /srv/etc && find . -type f ! -name '*.tmp.*' | sort | "
                    "xargs md5sum"]).stdout
    assert after == before
    assert rcpt_code(c.ip, "info@example.com")[0] == 250


@pytest.mark.parametrize("port", [465, 587])
def test_submission_refuses_everything_unauthenticated(mta, port):
    c = mta(stage="base", env={"MAIL_BOXES": "info@example.com",
                               "SMTPD_SASL_CLIENTAUTH": "u:{PLAIN}p"})
    tricks = ["someone@foreign.test", "user%foreign.test@example.com", '"user@foreign.test"@example.com',
              "@example.com:user@foreign.test", "foreign.test!user@example.com", "info@example.com"]
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    for rcpt in tricks:
        s = smtplib.SMTP_SSL(c.ip, port, context=ctx, timeout=30) if port == 465 \
            else smtplib.SMTP(c.ip, port, timeout=30)
        try:
            s.ehlo("client.test")
            if port == 587:
                s.starttls(context=ctx)
                s.ehlo("client.test")
            code, _ = s.mail("x@foreign.test")
            if 200 <= code < 300:
                code, _ = s.rcpt(rcpt)
            assert not 200 <= code < 300, "port %d accepted %s without AUTH" % (port, rcpt)
        finally:
            s.close()


def test_wide_mynetworks_warns(mta):
    c = mta(stage="mini", env={"MAIL_BOXES": "info@example.com",
                               "MYNETWORKS": "127.0.0.0/8 172.16.0.0/12"})
    assert "mynetworks includes 172.16.0.0/12" in c.logs()
    c2 = mta(stage="mini", env={"MAIL_BOXES": "info@example.com"})
    assert "mynetworks includes" not in c2.logs()


# --- VIRTUAL_TRANSPORT: a transport of this image's master.cf -----------------------

MINI_TRANSPORTS = ("smtp", "relay", "error", "retry", "discard", "local", "virtual", "lmtp")


def config_check(net, stage, env):
    """`mtactl config --check` in a fresh container of the image: (exit, output)."""
    args = ["run", "--rm", "--name", unique_name("check-" + stage), "--label", LABEL,
            "--network", net, "--hostname", "mx1.example.com",
            "--entrypoint", "/usr/local/bin/mtactl"]
    for k, v in env.items():
        args += ["-e", "%s=%s" % (k, v)]
    p = docker(*args, "%s:%s" % (IMAGE, stage), "config", "--check", check=False, merge=True,
               timeout=60)
    return p.returncode, p.stdout


@pytest.mark.parametrize("how", ["start", "check"])
def test_unknown_transport_named_with_the_valid_ones(run_config_error, net, how):
    env = dict(GOOD, VIRTUAL_TRANSPORT="carrier-pigeon:x")
    if how == "start":
        code, out = run_config_error(stage="mini", env=env)
    else:
        code, out = config_check(net, "mini", env)
    assert code == 100, "exit %r:\n%s" % (code, out[-2000:])
    lines = [ln for ln in out.splitlines() if "VIRTUAL_TRANSPORT" in ln]
    assert len(lines) == 1, out[-2000:]
    line = lines[0]
    assert 'VIRTUAL_TRANSPORT="carrier-pigeon:x"' in line and 'got "carrier-pigeon"' in line, line
    for t in MINI_TRANSPORTS:
        assert t in line, "%s not named among the valid transports: %s" % (t, line)
    assert "lmtp-amavis" not in line, line   # the full image's, not the mini's
    assert "starting the Postfix mail system" not in out


def test_valid_transports_pass_the_check(net):
    """The nexthop forms of transport(5) still pass, on the image's own check."""
    for value in ("lmtp:app:2003", "lmtp:[app]:2003", "lmtp:inet:app:2003", "lmtp:[10.1.2.3]:24",
                  "lmtp:unix:private/transport", "smtp:[relay.example.com]:587", "relay:relay.test"):
        code, out = config_check(net, "mini", dict(GOOD, VIRTUAL_TRANSPORT=value))
        assert code == 0, "%s refused (exit %r):\n%s" % (value, code, out[-2000:])
    code, out = config_check(net, "full", dict(GOOD, VIRTUAL_TRANSPORT="lmtp-amavis:unix:/x.sock"))
    assert code == 0, out[-2000:]


def test_valid_transport_starts_and_delivers(mta, sink):
    lm = sink(mode="lmtp", port=24)
    c = mta(stage="mini", env=dict(GOOD, VIRTUAL_TRANSPORT="lmtp:[%s]:24" % lm.name))
    subject = "transport-" + secrets.token_hex(4)
    r = send_mail(c.ip, 25, "alice@client.test", ["info@example.com"], subject)
    assert r["error"] is None and r["delivered"], r
    msgs = lm.wait_messages(1, timeout=60)
    assert msgs[0]["rcpt_tos"] == ["info@example.com"], msgs
    assert "Subject: " + subject in msgs[0]["data"]
