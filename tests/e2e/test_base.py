"""End-to-end tests of the `base` image (Postfix + Dovecot: SASL, LDAP/MySQL
lookups, Dovecot mailboxes, inbound TLS, ACME certificates).

Peers: one LDAP and one MySQL server per module (basepeers.py), relay sinks
and remote IMAP servers per test. Everything runs on the session's internal
network; "foreign" domains (foreign.test, client.test) are never looked up
except through the relay host, which is a sink the test started.
"""
import re
import subprocess
import socket
import time

import pytest

from basepeers import *  # noqa: F401,F403 - fixtures and helpers
from basepeers import (LDAP_ADMIN_DN, LDAP_ADMIN_PW, LDAP_STAFF, LDAP_SUFFIX, LDAP_USERS,
                       MYSQL_ACCOUNTS, MYSQL_DB, MYSQL_PW, MYSQL_USER, acme_v1, acme_v2,
                       auth_only, cert_subject, connect_refused, ehlo_features, fingerprint,
                       file_fingerprint, imap_login_result, imap_messages, make_cert,
                       pop3_login_result, pop3_messages, served_cert_pem, submit, tls_version_ok,
                       token, unauth_relay_attempt, write_replace)
from dockerlib import file_text as cat
from dockerlib import rcpt_code, send_mail, wait_for, wait_in_file

BAD_CONFIG_EXIT = 100
DOVECOT_TRANSPORT = "lmtp:unix:private/transport"
FOREIGN = "someone@foreign.test"


# --- small helpers ----------------------------------------------------------------

def assert_sent(r):
    assert r["error"] is None and r["delivered"], "SMTP transaction failed: %r" % (r,)


def assert_submitted(r, what=""):
    assert r["auth"] and r["auth"][0] == 235, "%s AUTH: %r" % (what, r)
    assert r["mail"] and r["mail"][0] == 250, "%s MAIL: %r" % (what, r)
    assert all(v[0] == 250 for v in r["rcpt"].values()), "%s RCPT: %r" % (what, r)
    assert r["data"] and r["data"][0] == 250, "%s DATA: %r" % (what, r)


def relay_env(sink):
    return {"RELAYHOST": "[%s]:25" % sink.name, "SMTP_TLS_SECURITY_LEVEL": "none"}


def sink_subjects(sink):
    out = []
    for m in sink.messages():
        hit = re.search(r"^Subject: (.*)$", m["data"], re.M)
        out.append((hit.group(1).strip() if hit else None, m))
    return out


def wait_relayed(sink, subject, timeout=60):
    """Waits until the sink stored a message with this subject; returns it."""
    found = []

    def check():
        found[:] = [m for s, m in sink_subjects(sink) if s == subject]
        return bool(found)
    try:
        wait_for(check, timeout=timeout, interval=1, what="%r at the relay sink" % subject)
    except AssertionError as e:
        raise AssertionError("%s; sink has %r; sink logs:\n%s"
                             % (e, [s for s, _ in sink_subjects(sink)], sink.logs()[-3000:]))
    return found[0]


def assert_relay_refused_unauthenticated(c):
    """No relaying without AUTH on 25, 465 and 587."""
    code, text = rcpt_code(c.ip, FOREIGN, port=25)
    assert code in (550, 554), "port 25 unauthenticated RCPT %s: %s %s" % (FOREIGN, code, text)
    for port in (465, 587):
        mail, rcpt = unauth_relay_attempt(c.ip, port)
        refused = mail if mail[0] != 250 else rcpt
        assert refused[0] in (530, 554), \
            "port %d without AUTH: MAIL %r RCPT %r" % (port, mail, rcpt)


def assert_no_auth_on_25(c):
    feats = ehlo_features(c.ip, 25)
    assert "auth" not in feats, "port 25 offers AUTH: %r" % feats
    feats_tls = ehlo_features(c.ip, 25, starttls=True)
    if feats_tls is not None:
        assert "auth" not in feats_tls, "port 25 offers AUTH after STARTTLS: %r" % feats_tls


def assert_auth(c, user, password, ports=(587, 465), mechanisms=("PLAIN", "LOGIN")):
    for port in ports:
        for mech in mechanisms:
            code, text = auth_only(c.ip, port, user, password, mech)
            assert code == 235, "AUTH %s %s on %d: %s %s\nlogs:\n%s" % (
                mech, user, port, code, text, c.logs()[-3000:])


def assert_auth_refused(c, user, password, port=587):
    """One AUTH with a wrong password or user: 535. Dovecot delays the replies
    to a client address after failures (auth penalty), so a test makes at most
    two such attempts per container, after its positive checks."""
    code, text = auth_only(c.ip, port, user, password)
    assert code == 535, "AUTH %s with a wrong password on %d: %s %s" % (user, port, code, text)


def relay_through(c, sink, port, user, password, mail_from="sender@example.com"):
    """Authenticated submission of one message to FOREIGN; checks it reaches the sink."""
    subject = "relay-%s-%d-%s" % (user.split("@")[0], port, token())
    r = submit(c.ip, port, user, password, mail_from, [FOREIGN], subject)
    assert_submitted(r, "%s on %d" % (user, port))
    m = wait_relayed(sink, subject)
    assert m["rcpt_tos"] == [FOREIGN], m
    assert m["mail_from"] == mail_from, m
    assert m["peer"][0] == c.ip, m
    return m


# --- SASL: passwd file, submission ports, relaying ---------------------------------

def test_sasl_passwd_file_submission_and_relay(mta, sink):
    relay = sink(mode="smtp", port=25)
    pw1, pw2 = "Pw1-" + token(), "Pw2-" + token()
    c = mta(stage="base", env=dict(relay_env(relay), **{
        "MAIL_BOXES": "info@example.com",
        "SMTPD_SASL_CLIENTAUTH": "user:{PLAIN}%s user2:%s" % (pw1, pw2),
    }))
    c.wait_banner(587)
    c.wait_banner(25)

    # AUTH: never on 25; on 587 only after STARTTLS; on 465 (implicit TLS) at once
    assert_no_auth_on_25(c)
    feats = ehlo_features(c.ip, 587)
    assert "starttls" in feats, feats
    assert "auth" not in feats, "587 offers AUTH before STARTTLS: %r" % feats
    feats = ehlo_features(c.ip, 587, starttls=True)
    assert "auth" in feats and {"PLAIN", "LOGIN"} <= set(feats["auth"].upper().split()), feats
    feats = ehlo_features(c.ip, 465)
    assert "auth" in feats, feats

    assert_relay_refused_unauthenticated(c)
    assert_auth(c, "user", pw1)
    assert_auth(c, "user2", pw2)          # a bare user:pw is plain text too

    m1 = relay_through(c, relay, 587, "user", pw1)
    m2 = relay_through(c, relay, 465, "user2", pw2)
    # local delivery still works on 25
    subject = "local-" + token()
    assert_sent(send_mail(c.ip, 25, "alice@client.test", ["info@example.com"], subject))
    wait_in_file(c, "/var/mail/info@example.com", subject)

    # only the two authenticated messages reached the relay
    got = sorted(s for s, _ in sink_subjects(relay))
    assert got == sorted(s for s, _ in sink_subjects(relay) if s and s.startswith("relay-user")), got
    assert len(got) == 2 and {m1["file"], m2["file"]} == {m["file"] for m in relay.messages()}, got

    # self-signed certificate made at first start, CN = host name, served on 465/587
    pem = cat(c, "/etc/ssl/postfix/cert.pem")
    assert "BEGIN CERTIFICATE" in pem, "no /etc/ssl/postfix/cert.pem"
    assert re.search(r"CN\s*=\s*mx1\.example\.com", cert_subject(pem)), cert_subject(pem)
    fp = fingerprint(pem)
    assert fingerprint(served_cert_pem(c.ip, 465)) == fp
    assert fingerprint(served_cert_pem(c.ip, 587, "smtp")) == fp

    # wrong password, unknown user: 535 (last: Dovecot delays after failures)
    assert_auth_refused(c, "user", pw2, port=587)
    assert_auth_refused(c, "nobody", pw1, port=465)
    logs = c.logs()
    assert pw1 not in logs and pw2 not in logs, "a password is in the logs"


def test_sasl_right_password_after_failed_attempts(mta):
    """Three failed AUTH attempts from one address, then the right password:
    235, not a temporary failure (all clients behind one NAT or docker-proxy
    address share the failures of one)."""
    pw = "Pw-" + token()
    c = mta(stage="base", env={"MAIL_BOXES": "info@example.com",
                               "SMTPD_SASL_CLIENTAUTH": "user:{PLAIN}%s" % pw})
    c.wait_banner(587)
    assert_auth(c, "user", pw, ports=(587,), mechanisms=("PLAIN",))
    codes = [auth_only(c.ip, 587, "user", "wrong-%d" % i)[0] for i in range(3)]
    assert codes[0] == 535, codes
    code, text = auth_only(c.ip, 587, "user", pw)
    assert code == 235, "right password after 3 failures (%r): %s %s\nlogs:\n%s" % (
        codes, code, text, c.logs()[-2000:])


def test_no_sasl_method_no_submission_but_use_tls(mta):
    # SMTPD_USE_TLS=yes without files: self-signed at first start (CN = host name);
    # without a SASL method 465/587 do not listen and 25 offers no AUTH
    c = mta(stage="base", hostname="smtp.example.org",
            env={"MAIL_BOXES": "info@example.org", "SMTPD_USE_TLS": "yes"})
    for port in (465, 587):
        assert connect_refused(c.ip, port), "port %d accepts connections without a SASL method" % port
    assert_no_auth_on_25(c)
    feats = ehlo_features(c.ip, 25)
    assert "starttls" in feats, "SMTPD_USE_TLS=yes but no STARTTLS on 25: %r" % feats
    pem = cat(c, "/etc/ssl/postfix/cert.pem")
    assert "BEGIN CERTIFICATE" in pem, "no self-signed /etc/ssl/postfix/cert.pem"
    assert re.search(r"CN\s*=\s*smtp\.example\.org", cert_subject(pem)), cert_subject(pem)
    assert fingerprint(served_cert_pem(c.ip, 25, "smtp")) == fingerprint(pem)
    code, text = rcpt_code(c.ip, FOREIGN)
    assert code in (550, 554), (code, text)
    subject = "tls-local-" + token()
    assert_sent(send_mail(c.ip, 25, "alice@client.test", ["info@example.org"], subject))
    wait_in_file(c, "/var/mail/info@example.org", subject)


# --- LDAP -----------------------------------------------------------------------------

LDAP_USER_FILTER = "(&(objectclass=inetOrgPerson)(mail=%s))"


def test_ldap_lookups_aliases_groups_and_sasl(mta, sink, ldap_peer):
    relay = sink(mode="smtp", port=25)
    c = mta(stage="base", env=dict(relay_env(relay), **{
        "LDAP_HOST": ldap_peer.name,
        "LDAP_USER_BASE": "ou=people," + LDAP_SUFFIX,
        "LDAP_QUERY_FILTER_USER": LDAP_USER_FILTER,
        "LDAP_QUERY_FILTER_ALIAS": "(&(objectclass=inetOrgPerson)(mailAlias=%s))",
        "LDAP_GROUP_BASE": "ou=groups," + LDAP_SUFFIX,
        "LDAP_QUERY_FILTER_GROUP": "(&(objectclass=posixGroup)(mail=%s))",
        "LDAP_QUERY_FILTER_EXPAND": "(&(objectclass=inetOrgPerson)(uid=%s))",
        "LDAP_QUERY_ATTRS_PASS": "uid=user",
    }))
    c.wait_banner(587)
    for rcpt in ("alice@example.com", "bob@example.com", "alice.alias@example.com", "team@example.com"):
        code, text = rcpt_code(c.ip, rcpt)
        assert code == 250, "RCPT %s: %s %s\nlogs:\n%s" % (rcpt, code, text, c.logs()[-3000:])
    # unknown, and a staff user outside LDAP_USER_BASE
    for rcpt in ("nobody@example.com", "carol@example.com"):
        code, text = rcpt_code(c.ip, rcpt)
        assert code == 550, "RCPT %s: %s %s" % (rcpt, code, text)

    t = token()
    s_user, s_alias, s_group = "ldap-user-" + t, "ldap-alias-" + t, "ldap-group-" + t
    assert_sent(send_mail(c.ip, 25, "x@client.test", ["alice@example.com"], s_user))
    assert_sent(send_mail(c.ip, 25, "x@client.test", ["alice.alias@example.com"], s_alias))
    assert_sent(send_mail(c.ip, 25, "x@client.test", ["team@example.com"], s_group))
    alice = wait_in_file(c, "/var/mail/alice@example.com", s_user)
    alice = wait_in_file(c, "/var/mail/alice@example.com", s_alias)
    alice = wait_in_file(c, "/var/mail/alice@example.com", s_group)
    assert alice.startswith("From "), alice[:300]
    bob = wait_in_file(c, "/var/mail/bob@example.com", s_group)
    assert s_user not in bob and s_alias not in bob
    assert not c.file_exists("/var/mail/team@example.com")
    assert not c.file_exists("/var/mail/alice.alias@example.com")

    # SASL by authentication bind; the pass filter is derived: (uid=%u)
    alice_pw, bob_pw = LDAP_USERS["alice"][2], LDAP_USERS["bob"][2]
    assert_auth(c, "alice", alice_pw)
    assert_auth(c, "bob", bob_pw, ports=(587,), mechanisms=("PLAIN",))
    assert_relay_refused_unauthenticated(c)
    relay_through(c, relay, 587, "alice", alice_pw, mail_from="alice@example.com")
    relay_through(c, relay, 465, "bob", bob_pw, mail_from="bob@example.com")
    assert_auth_refused(c, "alice", bob_pw, port=465)
    assert_auth_refused(c, "alice@example.com", alice_pw)   # the derived filter is on uid
    assert alice_pw not in c.logs()


def test_ldap_bind_dn_uri_form_and_explicit_pass_filter(mta, sink, ldap_peer):
    # the peer hides ou=staff from anonymous searches: only the bind DN finds carol
    p = ldap_peer.exec(["ldapsearch", "-x", "-H", "ldap://127.0.0.1/", "-b", "ou=staff," + LDAP_SUFFIX,
                        "-LLL", "(uid=carol)", "dn"], check=False)
    assert "uid=carol" not in p.stdout, "the LDAP peer shows ou=staff anonymously:\n" + p.stdout
    relay = sink(mode="smtp", port=25)
    c = mta(stage="base", env=dict(relay_env(relay), **{
        "LDAP_HOST": "ldap://%s:389" % ldap_peer.name,
        "LDAP_USER_BASE": "ou=staff," + LDAP_SUFFIX,
        "LDAP_BIND_DN": LDAP_ADMIN_DN,
        "LDAP_BIND_PW": LDAP_ADMIN_PW,
        "LDAP_QUERY_FILTER_USER": LDAP_USER_FILTER,
        "LDAP_QUERY_ATTRS_PASS": "uid=user",
        "LDAP_QUERY_FILTER_PASS": "(&(objectclass=inetOrgPerson)(mail=%u))",
    }))
    c.wait_banner(587)
    code, text = rcpt_code(c.ip, "carol@example.com")
    assert code == 250, "RCPT carol (found only with the bind DN): %s %s\nlogs:\n%s" % (
        code, text, c.logs()[-3000:])
    code, text = rcpt_code(c.ip, "alice@example.com")
    assert code == 550, (code, text)
    subject = "staff-" + token()
    assert_sent(send_mail(c.ip, 25, "x@client.test", ["carol@example.com"], subject))
    wait_in_file(c, "/var/mail/carol@example.com", subject)

    carol_pw = LDAP_STAFF["carol"][2]
    # the explicit filter matches on mail, so the login is the address, not the uid
    assert_auth(c, "carol@example.com", carol_pw)
    relay_through(c, relay, 587, "carol@example.com", carol_pw, mail_from="carol@example.com")
    assert_auth_refused(c, "carol", carol_pw)
    assert_auth_refused(c, "carol@example.com", "wrong-" + carol_pw, port=465)
    logs = c.logs()
    assert carol_pw not in logs


# --- MySQL ------------------------------------------------------------------------------

MYSQL_QUERY_PASS = "select password, userid as user from users where userid = '%u'"


def mysql_env(peer, host=None):
    return {
        "MYSQL_HOST": host or peer.name,
        "MYSQL_DATABASE": MYSQL_DB,
        "MYSQL_USER": MYSQL_USER,
        "MYSQL_PASSWORD": MYSQL_PW,
    }


def test_mysql_lookups_aliases_and_sasl(mta, sink, mysql_peer):
    relay = sink(mode="smtp", port=25)
    c = mta(stage="base", env=dict(relay_env(relay), **mysql_env(mysql_peer), **{
        "MYSQL_QUERY_USER": "select mail from users where mail='%s' limit 1;",
        "MYSQL_QUERY_ALIAS": "select target from aliases where alias='%s'",
        "MYSQL_QUERY_PASS": MYSQL_QUERY_PASS,
    }))
    c.wait_banner(587)
    for rcpt in ("dave@example.com", "erin@example.com", "sales@example.com"):
        code, text = rcpt_code(c.ip, rcpt)
        assert code == 250, "RCPT %s: %s %s\nlogs:\n%s" % (rcpt, code, text, c.logs()[-3000:])
    code, text = rcpt_code(c.ip, "nobody@example.com")
    assert code == 550, (code, text)

    t = token()
    s_user, s_alias = "sql-user-" + t, "sql-alias-" + t
    assert_sent(send_mail(c.ip, 25, "x@client.test", ["dave@example.com"], s_user))
    assert_sent(send_mail(c.ip, 25, "x@client.test", ["sales@example.com"], s_alias))
    dave = wait_in_file(c, "/var/mail/dave@example.com", s_user)
    dave = wait_in_file(c, "/var/mail/dave@example.com", s_alias)
    assert dave.startswith("From "), dave[:300]
    erin = wait_in_file(c, "/var/mail/erin@example.com", s_alias)
    assert s_user not in erin
    assert not c.file_exists("/var/mail/sales@example.com")

    dave_pw, erin_pw = MYSQL_ACCOUNTS["dave"][2], MYSQL_ACCOUNTS["erin"][2]
    assert_auth(c, "dave", dave_pw)                         # {PLAIN}
    assert_auth(c, "erin", erin_pw)                         # {PLAIN-MD5}
    assert_relay_refused_unauthenticated(c)
    relay_through(c, relay, 587, "dave", dave_pw, mail_from="dave@example.com")
    relay_through(c, relay, 465, "erin", erin_pw, mail_from="erin@example.com")
    assert_auth_refused(c, "dave", erin_pw, port=465)
    assert_auth_refused(c, "erin", MYSQL_ACCOUNTS["erin"][1])   # the stored hash is no password
    logs = c.logs()
    assert MYSQL_PW not in logs and dave_pw not in logs


# --- remote IMAP and all methods together ------------------------------------------------

def wait_ports(c, ports, timeout=60):
    """Waits until every port accepts connections; the logs on failure."""
    try:
        wait_for(lambda: all(not connect_refused(c.ip, p) for p in ports), timeout=timeout,
                 interval=1, what="ports %r of %s" % (ports, c.name))
    except AssertionError as e:
        raise AssertionError("%s\nlogs:\n%s" % (e, c.logs()[-4000:]))


def imap_greeting(ip, port=143, timeout=10):
    with socket.create_connection((ip, port), timeout=timeout) as s:
        return s.makefile("rb").readline(4096).decode("utf-8", "replace")


def wait_imap(c, timeout=60):
    """Waits until IMAP on 143 greets with * OK; fails at once when the container stopped."""
    def check():
        if not c.is_running():
            raise AssertionError("%s stopped:\n%s" % (c.name, c.logs()[-3000:]))
        return imap_greeting(c.ip).startswith("* OK")
    try:
        wait_for(check, timeout=timeout, interval=1, what="an IMAP greeting on %s:143" % c.name)
    except AssertionError as e:
        raise AssertionError("%s\nlogs:\n%s" % (e, c.logs()[-4000:]))


def start_imap_remote(mta, user, password):
    """A second base container serving IMAP on 143 with plain text logins."""
    r = mta(stage="base", hostname="imap.example.net", env={
        "VIRTUAL_TRANSPORT": DOVECOT_TRANSPORT,
        "SMTPD_SASL_CLIENTAUTH": "%s:{PLAIN}%s" % (user, password),
        "DOVECOT_DISABLE_PLAINTEXT_AUTH": "no",
    })
    wait_imap(r)
    assert imap_login_result(r.ip, 143, user, password) == "OK", "the remote IMAP server refuses its user"
    return r


def test_sasl_remote_imap(mta, sink):
    remote_pw = "Remote-pw-" + token()
    remote = start_imap_remote(mta, "remoteuser", remote_pw)
    relay = sink(mode="smtp", port=25)
    c = mta(stage="base", env=dict(relay_env(relay), **{"SMTPD_SASL_IMAPHOST": remote.name}))
    c.wait_banner(587)
    assert_auth(c, "remoteuser", remote_pw)
    assert_relay_refused_unauthenticated(c)
    assert_no_auth_on_25(c)
    relay_through(c, relay, 587, "remoteuser", remote_pw)
    assert_auth_refused(c, "remoteuser", "x" + remote_pw, port=465)


def test_sasl_all_methods_together(mta, sink, ldap_peer, mysql_peer):
    remote_pw = "Remote-pw-" + token()
    remote = start_imap_remote(mta, "remoteuser", remote_pw)
    relay = sink(mode="smtp", port=25)
    file_pw = "File-pw-" + token()
    c = mta(stage="base", env=dict(relay_env(relay), **mysql_env(mysql_peer, "%s:3306" % mysql_peer.name), **{
        "SMTPD_SASL_CLIENTAUTH": "fileuser:{PLAIN}%s" % file_pw,
        "SMTPD_SASL_IMAPHOST": "%s:143" % remote.name,
        "LDAP_HOST": "%s:389" % ldap_peer.name,
        "LDAP_USER_BASE": "ou=people," + LDAP_SUFFIX,
        "LDAP_QUERY_FILTER_USER": LDAP_USER_FILTER,
        "LDAP_QUERY_ATTRS_PASS": "uid=user",
        "MYSQL_QUERY_PASS": MYSQL_QUERY_PASS,
    }))
    c.wait_banner(587)
    users = {
        "fileuser": file_pw,
        "remoteuser": remote_pw,
        "alice": LDAP_USERS["alice"][2],
        "dave": MYSQL_ACCOUNTS["dave"][2],
        "erin": MYSQL_ACCOUNTS["erin"][2],
    }
    for user, pw in users.items():
        assert_auth(c, user, pw, ports=(587,), mechanisms=("PLAIN",))
    assert_auth(c, "alice", users["alice"], ports=(465,), mechanisms=("LOGIN",))
    relay_through(c, relay, 465, "dave", users["dave"])
    assert_auth_refused(c, "fileuser", users["dave"], port=465)
    assert_auth_refused(c, "alice", "bad-" + users["alice"])


# --- Dovecot mailboxes -----------------------------------------------------------------------

def subjects_of(msgs):
    return [m.group(1).strip() for m in (re.search(r"^Subject: (.*)$", x, re.M) for x in msgs) if m]


def test_dovecot_mailboxes_imap_pop3_tls_only(mta):
    pw = "Info-pw-" + token()
    c = mta(stage="base", env={
        "MAIL_BOXES": "info@example.com sales@example.com",
        "VIRTUAL_TRANSPORT": DOVECOT_TRANSPORT,
        "SMTPD_SASL_CLIENTAUTH": "info@example.com:{PLAIN}%s sales@example.com:{PLAIN}%s" % (pw, pw + "s"),
    })
    wait_ports(c, (143, 993, 110, 995))
    t = token()
    s_info, s_sales = "imap-info-" + t, "imap-sales-" + t
    # the mailbox user is the address, lower-cased (%Lu)
    assert_sent(send_mail(c.ip, 25, "x@client.test", ["Info@Example.COM"], s_info))
    assert_sent(send_mail(c.ip, 25, "x@client.test", ["sales@example.com"], s_sales))
    msgs = wait_for(lambda: (lambda m: m if s_info in subjects_of(m) else None)(
        imap_messages(c.ip, 993, "info@example.com", pw, tls="implicit")),
        timeout=30, what="the message over IMAPS")
    assert subjects_of(msgs) == [s_info], subjects_of(msgs)
    msgs = imap_messages(c.ip, 143, "info@example.com", pw, tls="starttls")
    assert subjects_of(msgs) == [s_info]
    # default location mbox:/var/mail/%Lu: mbox files under /var/mail/info@example.com
    p = c.exec(["sh", "-c", 'f=$(grep -rl --exclude-dir=.imap -- "$1" /var/mail/info@example.com | head -n1) && head -c 5 "$f"',
                "sh", s_info], check=False)
    assert p.returncode == 0 and p.stdout.startswith("From "), \
        "no mbox file with the message under /var/mail/info@example.com:\n" + \
        c.exec(["find", "/var/mail/"], check=False).stdout[-2000:]
    msgs = pop3_messages(c.ip, 995, "sales@example.com", pw + "s", tls="implicit")
    assert subjects_of(msgs) == [s_sales], subjects_of(msgs)
    msgs = pop3_messages(c.ip, 110, "sales@example.com", pw + "s", tls="starttls")
    assert subjects_of(msgs) == [s_sales]

    # plain text login without TLS (disabled by default)
    res = imap_login_result(c.ip, 143, "info@example.com", pw)
    assert res != "OK", "IMAP login without TLS allowed by default"
    res = pop3_login_result(c.ip, 110, "sales@example.com", pw + "s")
    assert res != "OK", "POP3 login without TLS allowed by default"
    # the same passwords authenticate SMTP submission
    assert_auth(c, "info@example.com", pw, ports=(587,), mechanisms=("PLAIN",))
    # unknown recipients are refused before Dovecot
    code, text = rcpt_code(c.ip, "nobody@example.com")
    assert code == 550, (code, text)
    res = imap_login_result(c.ip, 993, "info@example.com", pw + "x", tls="implicit")
    assert res != "OK" and "NO" in res, res


def test_dovecot_username_format_plaintext_and_generic_setting(mta):
    greeting = "E2E-greeting-" + token()
    c = mta(stage="base", env={
        "MAIL_BOXES": "info@example.com",
        "VIRTUAL_TRANSPORT": DOVECOT_TRANSPORT,
        "SMTPD_SASL_CLIENTAUTH": "info:{PLAIN}infopw",
        "DOVECOT_AUTH_USERNAME_FORMAT": "%Ln",
        "DOVECOT_DISABLE_PLAINTEXT_AUTH": "no",
        "DOVECOT_MAIL_LOCATION": "maildir:/var/mail/%Ln",
        "DOVECOT_LOGIN_GREETING": greeting,
    })
    wait_imap(c)
    subject = "ln-" + token()
    assert_sent(send_mail(c.ip, 25, "x@client.test", ["info@example.com"], subject))
    msgs = wait_for(lambda: (lambda m: m if subject in subjects_of(m) else None)(
        imap_messages(c.ip, 143, "info", "infopw")), timeout=40,
        what="the message for info@example.com as IMAP user info (plain text login)")
    assert subjects_of(msgs) == [subject]
    msgs = pop3_messages(c.ip, 110, "info", "infopw")
    assert subjects_of(msgs) == [subject]
    # maildir under /var/mail/info (the domain dropped)
    p = c.exec(["sh", "-c", "ls /var/mail/info/new /var/mail/info/cur 2>/dev/null | grep -c ."], check=False)
    assert p.stdout.strip() not in ("", "0"), "no maildir message under /var/mail/info:\n" + \
        c.exec(["ls", "-laR", "/var/mail"], check=False).stdout[-2000:]
    # DOVECOT_LOGIN_GREETING -> login_greeting
    banner = imap_greeting(c.ip)
    assert greeting in banner, "IMAP greeting %r lacks %r" % (banner, greeting)
    assert imap_login_result(c.ip, 143, "info", "wrongpw") != "OK"


# --- inbound TLS ---------------------------------------------------------------------------------

TLS_PORTS = [(25, "smtp"), (465, None), (587, "smtp"), (993, None), (995, None),
             (143, "imap"), (110, "pop3")]


def served_fingerprints(c, ports=TLS_PORTS):
    out = {}
    for port, starttls in ports:
        pem = served_cert_pem(c.ip, port, starttls)
        out[port] = fingerprint(pem) if pem else None
    return out


def test_inbound_tls_own_certificate_and_versions(mta, certs):
    cert, key = make_cert(certs, "mx", "mx1.example.com", ["mx1.example.com", "mail.example.com"])
    c = mta(stage="base", env={
        "MAIL_BOXES": "info@example.com",
        "SMTPD_TLS_CERT_FILE": "/certs/mx.pem",
        "SMTPD_TLS_KEY_FILE": "/certs/mx.key",
        "SMTPD_SASL_CLIENTAUTH": "user:{PLAIN}pw",
        "VIRTUAL_TRANSPORT": DOVECOT_TRANSPORT,
    }, volumes={str(certs): "/certs:ro"})
    c.wait_banner(587)
    wait_ports(c, (993, 995))
    want = file_fingerprint(cert)
    got = served_fingerprints(c)
    assert all(v == want for v in got.values()), "served certificates %r, expected %s" % (got, want)
    for port, starttls in ((587, "smtp"), (993, None), (465, None), (995, None)):
        assert tls_version_ok(c.ip, port, "tls1_2", starttls), "TLS 1.2 fails on %d" % port
        assert not tls_version_ok(c.ip, port, "tls1_1", starttls), "TLS 1.1 accepted on %d" % port
    assert_auth(c, "user", "pw", ports=(587,), mechanisms=("PLAIN",))


# --- ACME --------------------------------------------------------------------------------------------

ACME_PORTS = [(25, "smtp"), (465, None), (587, "smtp"), (993, None), (995, None)]


def wait_served(c, want, what, timeout=60):
    """Waits until every ACME port serves the certificate with fingerprint want."""
    got = {}

    def check():
        got.clear()
        got.update(served_fingerprints(c, ACME_PORTS))
        return all(v == want for v in got.values())
    try:
        wait_for(check, timeout=timeout, interval=2, what=what)
    except AssertionError as e:
        raise AssertionError("%s: served %r, want %s; /run/acme/cert.pem %s; logs:\n%s" % (
            e, got, want, fingerprint(cat(c, "/run/acme/cert.pem")) if cat(c, "/run/acme/cert.pem")
            else None, c.logs()[-4000:]))


def acme_log_lines(c):
    return [ln for ln in c.logs().splitlines() if re.search(r"(?i)acme", ln)]


def test_acme_certificates_installed_and_reloaded(mta, certs):
    a = make_cert(certs, "a", "mx1.example.com")
    b = make_cert(certs, "b", "mail.example.org", ["mail.example.org", "mx1.example.com"])
    other = make_cert(certs, "o", "www.other.org")
    wild = make_cert(certs, "w", "*.example.com")
    dom = make_cert(certs, "d", "example.com")
    acme = certs / "acme.json"
    acme.write_text(acme_v1([("www.other.org", None, *other), ("mx1.example.com", None, *a)]))
    acme.chmod(0o644)
    c = mta(stage="base", env={
        "MAIL_BOXES": "info@example.com",
        "SMTPD_SASL_CLIENTAUTH": "user:{PLAIN}pw",
        "VIRTUAL_TRANSPORT": DOVECOT_TRANSPORT,
        "SYSLOG_LEVEL": "6",
    }, volumes={str(certs): "/acme"})
    c.wait_banner(587)
    wait_ports(c, (993, 995))

    # v1 at start, exact main name
    fa = file_fingerprint(a[0])
    assert fingerprint(cat(c, "/run/acme/cert.pem")) == fa
    assert "PRIVATE KEY" in cat(c, "/run/acme/key.pem")
    wait_served(c, fa, "certificate A (v1, main name) at start")

    # v2 replaced by rename, the host name in the SANs
    write_replace(acme, acme_v2([("www.other.org", ["www.other.org"], *other),
                                 ("mail.example.org", ["mail.example.org", "mx1.example.com"], *b)]))
    fb = file_fingerprint(b[0])
    wait_served(c, fb, "certificate B (v2, SAN) after os.replace")
    assert fingerprint(cat(c, "/run/acme/cert.pem")) == fb
    assert c.is_running()

    # broken JSON: a log line, B stays
    before = len(acme_log_lines(c))
    write_replace(acme, '{"Account": {, "Certificates": [')
    wait_for(lambda: len(acme_log_lines(c)) > before, timeout=30,
             what="a log line about the broken acme.json")
    time.sleep(3)
    got = served_fingerprints(c, ACME_PORTS)
    assert all(v == fb for v in got.values()), "after a broken acme.json: %r" % got
    assert c.is_running()

    # no entry for this host: a log line, B stays
    before = len(acme_log_lines(c))
    write_replace(acme, acme_v1([("www.other.org", ["other.org"], *other)]))
    wait_for(lambda: len(acme_log_lines(c)) > before, timeout=30,
             what="a log line about acme.json without an entry for mx1.example.com")
    time.sleep(3)
    got = served_fingerprints(c, ACME_PORTS)
    assert all(v == fb for v in got.values()), "after acme.json without a match: %r" % got

    # wildcard covering the host name, written in place (v1)
    acme.write_text(acme_v1([("www.other.org", None, *other), ("*.example.com", None, *wild)]))
    wait_served(c, file_fingerprint(wild[0]), "the wildcard certificate (written in place)")

    # the host name's domain as the main name (v2)
    write_replace(acme, acme_v2([("example.com", None, *dom)], resolver="le"))
    wait_served(c, file_fingerprint(dom[0]), "the certificate for example.com (v2)")
    assert c.is_running()
    assert_auth(c, "user", "pw", ports=(587,), mechanisms=("PLAIN",))


# --- bad input -------------------------------------------------------------------------------

LDAP_OK = {"LDAP_HOST": "auth", "LDAP_USER_BASE": "ou=people,dc=example,dc=com"}

# name -> (stage, env, [(variable, shown value), ...], needs certificate files)
BAD_INPUT = {
    "ldap-host-without-base": ("base", {"LDAP_HOST": "auth"}, [("LDAP_HOST", '"auth"')]),
    "tls-cert-missing": ("base", {"SMTPD_TLS_CERT_FILE": "/nonexistent.pem",
                                  "SMTPD_TLS_KEY_FILE": "/certs/a.key"},
                         [("SMTPD_TLS_CERT_FILE", "/nonexistent.pem")]),
    "tls-cert-key-mismatch": ("base", {"SMTPD_TLS_CERT_FILE": "/certs/a.pem",
                                       "SMTPD_TLS_KEY_FILE": "/certs/b.key"},
                              [("SMTPD_TLS_KEY_FILE", "/certs/b.key"),
                               ("SMTPD_TLS_CERT_FILE", "/certs/a.pem")]),
    "clientauth-nocolon": ("base", {"SMTPD_SASL_CLIENTAUTH": "nocolon"},
                           [("SMTPD_SASL_CLIENTAUTH", "nocolon"),
                            ("SMTPD_SASL_CLIENTAUTH", "<secret, 7 characters>")]),
    "imaphost-bad": ("base", {"SMTPD_SASL_IMAPHOST": "bad host!"},
                     [("SMTPD_SASL_IMAPHOST", "bad host!")]),
    "mysql-host-without-database": ("base", {"MYSQL_HOST": "db"}, [("MYSQL_HOST", '"db"')]),
    "ldap-filter-no-parens": ("base", dict(LDAP_OK, LDAP_QUERY_FILTER_USER="no-parens"),
                              [("LDAP_QUERY_FILTER_USER", "no-parens")]),
    "plaintext-auth-maybe": ("base", {"DOVECOT_DISABLE_PLAINTEXT_AUTH": "maybe"},
                             [("DOVECOT_DISABLE_PLAINTEXT_AUTH", "maybe")]),
    "mail-location-no-format": ("base", {"DOVECOT_MAIL_LOCATION": "/var/mail"},
                                [("DOVECOT_MAIL_LOCATION", "/var/mail")]),
    "use-tls-sure": ("base", {"SMTPD_USE_TLS": "sure"}, [("SMTPD_USE_TLS", "sure")]),
    "ldap-pass-not-derivable": ("base", dict(LDAP_OK, LDAP_QUERY_FILTER_USER="(&(objectclass=inetOrgPerson)(uid=%s))",
                                             LDAP_QUERY_ATTRS_PASS="uid=user"),
                                [("LDAP_QUERY_ATTRS_PASS", "uid=user")]),
    "sasl-on-mini": ("mini", {"SMTPD_SASL_CLIENTAUTH": "u:Mini-secret-pw"},
                     [("SMTPD_SASL_CLIENTAUTH", "base")]),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_refused_before_start(run_config_error, certs, case):
    stage, env, pairs = BAD_INPUT[case]
    make_cert(certs, "a", "mx1.example.com")
    make_cert(certs, "b", "mx1.example.com")
    env = dict({"MAIL_BOXES": "info@example.com"}, **env)
    code, out = run_config_error(stage, env=env, volumes={str(certs): "/certs:ro"})
    assert code is not None, "still running after 60 s with bad input %r:\n%s" % (env, out[-3000:])
    assert code == BAD_CONFIG_EXIT, "exit %s with bad input %r:\n%s" % (code, env, out[-3000:])
    lines = out.splitlines()
    assert any(var in ln and value in ln for ln in lines for var, value in pairs), \
        "no line names %s (exit %d):\n%s" % (" or ".join("%s=%s" % p for p in pairs), code, out[-3000:])
    for bad in ("postfix/master", "starting the Postfix mail system", "dovecot: master",
                "Dovecot v", "starting up for"):
        assert bad not in out, "a service started despite bad input (%r):\n%s" % (bad, out[-3000:])
    if case == "sasl-on-mini":
        assert "Mini-secret-pw" not in out, "the secret is printed:\n" + out
        assert any("SMTPD_SASL_CLIENTAUTH" in ln and "base" in ln for ln in lines), out
    if case == "clientauth-nocolon":
        assert len([ln for ln in lines if "SMTPD_SASL_CLIENTAUTH" in ln]) == 1, out


def test_open_relay_nmap_and_auth_states(mta, sink):
    """nmap's smtp-open-relay script against 25, 465 and 587, and relaying
    per auth state: none relays without authentication; with it, 587/465 do."""
    relay = sink(mode="smtp", port=25)
    c = mta(stage="base", env={"MAIL_BOXES": "info@example.com",
                               "SMTPD_SASL_CLIENTAUTH": "user:{PLAIN}pw",
                               "RELAYHOST": "[%s]:25" % relay.name,
                               "SMTP_TLS_SECURITY_LEVEL": "none"})
    for port in (25, 465, 587):
        args = ["nmap", "-Pn", "-n", "-p", str(port), "--script", "smtp-open-relay",
                "--script-args", "smtp-open-relay.domain=example.com,smtp-open-relay.to=someone@foreign.test"]
        if port == 465:
            args += ["-sV", "--version-light"]
        p = subprocess.run(args + [c.ip], capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr
        assert "Server is an open relay" not in p.stdout, "port %d:\n%s" % (port, p.stdout)
        print("nmap smtp-open-relay port %d: %s" % (
            port, "; ".join(l.strip("|_ ") for l in p.stdout.splitlines() if "relay" in l.lower())))
    assert relay.messages() == [], "something was relayed during the nmap runs"


def test_dovecot_mailboxes_without_login_method(mta):
    """Dovecot holding the mailboxes with no SASL method still delivers
    (it needs a passdb; an empty one stands in), and says nobody can log in."""
    c = mta(stage="base", env={"MAIL_BOXES": "info@example.com",
                               "VIRTUAL_TRANSPORT": "lmtp:unix:private/transport",
                               "DOVECOT_MAIL_LOCATION": "maildir:/var/mail/%Lu/"})
    r = send_mail(c.ip, rcpts=["info@example.com"], subject="no-sasl-lmtp")
    assert r["delivered"], r
    wait_for(lambda: "no-sasl-lmtp" in c.exec(
        ["sh", "-c", "cat /var/mail/info@example.com/new/* 2>/dev/null || true"]).stdout,
        timeout=60, interval=1, what="delivery through Dovecot LMTP")
    assert "nobody can read it over IMAP/POP3" in c.logs()
    assert "healthy" in c.exec(["mtactl", "health"], check=False).stdout


def test_dhparam_utility(mta):
    """`run update_postfix_dhparam` (the old image's name) makes DH parameters
    and points Postfix at them; a bad size is refused."""
    c = mta(stage="base", env={"MAIL_BOXES": "info@example.com", "SMTPD_USE_TLS": "yes"})
    p = c.exec(["run", "update_postfix_dhparam", "1024"], check=False, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert c.exec(["postconf", "-h", "smtpd_tls_dh1024_param_file"]).stdout.strip() == \
        "/etc/ssl/postfix/dh1024.pem"
    assert "BEGIN DH PARAMETERS" in c.exec(["cat", "/etc/ssl/postfix/dh1024.pem"]).stdout
    bad = c.exec(["mtactl", "dhparam", "12"], check=False)
    assert bad.returncode == 100 and "1024 to 8192" in bad.stderr
