"""Catch-all aliases (MAIL_ALIASES="@domain:target", virtual(5)): every
unknown address of a served domain goes to the target, every real mailbox
(MAIL_BOXES or LDAP) keeps its own mail, explicit aliases still win, and
other domains are unaffected; a catch-all for a domain this server does
not serve stops the container (exit 100) with one line.

Runs on the mini image; the LDAP case uses the LDAP peer of basepeers.py.
Everything stays on the session's internal network.
"""
import secrets

from basepeers import LDAP_SUFFIX, LDAP_USERS, ldap_peer  # noqa: F401 - the fixture
from dockerlib import file_text, rcpt_code, send_mail, wait_in_file

BAD_CONFIG_EXIT = 100


def token():
    return secrets.token_hex(4)


def send(c, rcpt, subject):
    r = send_mail(c.ip, 25, "alice@client.test", [rcpt], subject)
    assert r["error"] is None and r["delivered"], "sending to %s: %r" % (rcpt, r)


def test_catch_all_takes_unknown_addresses_only(mta):
    c = mta(env={
        "MAIL_DOMAIN": "example.com other.org",
        "MAIL_BOXES": "info@example.com sales@example.com",
        "MAIL_ALIASES": "@example.com:info@example.com root:sales@example.com",
    })
    t = token()
    subjects = {"nobody-%s@example.com" % t: "unknown-" + t,
                "info@example.com": "info-" + t,
                "sales@example.com": "sales-" + t,
                "root@example.com": "root-" + t}
    for rcpt, subject in subjects.items():
        send(c, rcpt, subject)

    info = wait_in_file(c, "/var/mail/info@example.com", subjects["info@example.com"])
    info = wait_in_file(c, "/var/mail/info@example.com", subjects["nobody-%s@example.com" % t])
    sales = wait_in_file(c, "/var/mail/sales@example.com", subjects["sales@example.com"])
    sales = wait_in_file(c, "/var/mail/sales@example.com", subjects["root@example.com"])
    # a real mailbox keeps its own mail; an explicit alias beats the catch-all
    assert subjects["sales@example.com"] not in info, info[-2000:]
    assert subjects["root@example.com"] not in info, info[-2000:]
    assert subjects["nobody-%s@example.com" % t] not in sales, sales[-2000:]
    # nothing was delivered to a mailbox named after the unknown address
    assert not c.file_exists("/var/mail/nobody-%s@example.com" % t)

    # another served domain has no catch-all; a foreign domain is not ours
    code, text = rcpt_code(c.ip, "nobody@other.org")
    assert code == 550, ("nobody@other.org", code, text)
    code, text = rcpt_code(c.ip, "nobody@foreign.test")
    assert code in (550, 554), ("nobody@foreign.test", code, text)
    assert "nobody@foreign.test" not in c.exec(["postqueue", "-p"]).stdout


def test_catch_all_for_an_unserved_domain_is_refused(run_config_error):
    value = "postmaster:info @foreign.test:info@example.com"
    code, out = run_config_error("mini", env={"MAIL_BOXES": "info@example.com",
                                              "MAIL_ALIASES": value})
    assert code == BAD_CONFIG_EXIT, "exit %s:\n%s" % (code, out[-3000:])
    lines = [ln for ln in out.splitlines() if "MAIL_ALIASES" in ln]
    assert len(lines) == 1, out[-3000:]
    assert "@foreign.test" in lines[0] and "MAIL_DOMAIN" in lines[0], lines[0]
    assert "starting the Postfix mail system" not in out, out[-3000:]


def test_catch_all_with_ldap_mailboxes(mta, ldap_peer):  # noqa: F811 - the fixture
    c = mta(env={
        "LDAP_HOST": ldap_peer.name,
        "LDAP_USER_BASE": "ou=people," + LDAP_SUFFIX,
        "LDAP_QUERY_FILTER_USER": "(&(objectclass=inetOrgPerson)(mail=%s))",
        "MAIL_BOXES": "info@example.com",
        "MAIL_ALIASES": "@example.com:info@example.com",
    })
    t = token()
    alice, bob = LDAP_USERS["alice"][0], LDAP_USERS["bob"][0]
    s_alice, s_bob, s_unknown = "alice-" + t, "bob-" + t, "unknown-" + t
    send(c, alice, s_alice)
    send(c, bob, s_bob)
    send(c, "nobody-%s@example.com" % t, s_unknown)
    wait_in_file(c, "/var/mail/%s" % alice, s_alice)
    wait_in_file(c, "/var/mail/%s" % bob, s_bob)
    info = wait_in_file(c, "/var/mail/info@example.com", s_unknown)
    assert s_alice not in info and s_bob not in info, info[-2000:]
    assert s_unknown not in file_text(c, "/var/mail/%s" % alice)


def test_catch_all_on_the_full_image(mta):
    """The full image expands aliases after amavis (no_address_mappings before
    it): the catch-all and the mailboxes' own mail hold there too."""
    from fullpeers import wait_ready
    c = mta(stage="full", env={
        "MAIL_BOXES": "info@example.com sales@example.com",
        "MAIL_ALIASES": "@example.com:info@example.com",
        "CLAMAV_DAEMON": "no", "CLAMAV_FRESHCLAM": "no",
    })
    wait_ready(c)
    t = token()
    send(c, "sales@example.com", "sales-" + t)
    send(c, "nobody-%s@example.com" % t, "unknown-" + t)
    wait_in_file(c, "/var/mail/sales@example.com", "sales-" + t, timeout=120)
    info = wait_in_file(c, "/var/mail/info@example.com", "unknown-" + t, timeout=120)
    assert "sales-" + t not in info, info[-2000:]
    assert "unknown-" + t not in file_text(c, "/var/mail/sales@example.com")
