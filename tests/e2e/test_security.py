"""Privilege and secrets: each daemon runs as its packaged user, mtactl's
syslog receiver as nobody; secrets given in the environment (or as
NAME_FILE) never appear in `docker logs`, `mtactl env`, or any file that
every user may read; and the base image runs read-only with a memory limit
(documented mounts: a volume on /srv, tmpfs on /run and /tmp)."""
import os
import shutil
import tempfile

import pytest

from dockerlib import send_mail, wait_for

SECRETS = {
    "relay": "Relay-Pass-7f3a",
    "client": "Client-Pass-91bc",
    "ldap": "Ldap-Pass-22de",
    "mysql": "Mysql-Pass-5e10",
}


@pytest.fixture
def secret_dir():
    d = tempfile.mkdtemp(prefix="mta-secret-")
    os.chmod(d, 0o755)
    with open(os.path.join(d, "ldap_pw"), "w") as f:
        f.write(SECRETS["ldap"] + "\n")
    os.chmod(os.path.join(d, "ldap_pw"), 0o644)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def process_users(c):
    """{command name: set of user names} from /proc (no ps in the image)."""
    script = ('for p in /proc/[0-9]*; do u=$(stat -c %U "$p" 2>/dev/null) || continue; '
              'n=$(tr "\\0" " " <"$p/cmdline" 2>/dev/null | cut -c1-80); '
              '[ -n "$n" ] && printf "%s|%s\\n" "$u" "$n"; done')
    users = {}
    for line in c.exec(["sh", "-c", script]).stdout.splitlines():
        user, _, cmd = line.partition("|")
        users.setdefault(cmd.split()[0].rsplit("/", 1)[-1] if cmd.split() else cmd, set()).add(user)
    return users


def test_secrets_stay_secret_and_daemons_are_unprivileged(mta, secret_dir):
    env = {
        "MAIL_BOXES": "info@example.com",
        "SMTP_RELAY_HOSTAUTH": "[relay.example.net]:587 relayuser:" + SECRETS["relay"],
        "SMTPD_SASL_CLIENTAUTH": "client:{PLAIN}" + SECRETS["client"],
        "LDAP_HOST": "ldap.example.net", "LDAP_USER_BASE": "ou=users,dc=example,dc=com",
        "LDAP_QUERY_FILTER_USER": "(&(objectclass=inetOrgPerson)(mail=%s))",
        "LDAP_BIND_DN": "cn=admin,dc=example,dc=com", "LDAP_BIND_PW_FILE": "/secrets/ldap_pw",
        "MYSQL_HOST": "db.example.net", "MYSQL_DATABASE": "mail", "MYSQL_USER": "mail",
        "MYSQL_PASSWORD": SECRETS["mysql"],
        "MYSQL_QUERY_USER": "select mail from users where mail='%s'",
        "CLAMAV_DAEMON": "no", "SYSLOG_LEVEL": "7",
    }
    c = mta(stage="full", env=env, extra_args=["-v", "%s:/secrets:ro" % secret_dir])
    # The secret from the file was used (the LDAP table holds it, for root and postfix only).
    p = c.exec(["stat", "-c", "%a %U %G", "/etc/postfix/ldap-users.cf"])
    assert p.stdout.split() == ["640", "root", "postfix"], p.stdout
    assert SECRETS["ldap"] in c.exec(["cat", "/etc/postfix/ldap-users.cf"]).stdout
    logs = c.logs()
    env_out = c.exec(["mtactl", "env"]).stdout
    # Every world-readable file under the configuration and run data.
    readable = c.exec(["sh", "-c", "find /srv/ /etc/ /run/ /var/lib/ /var/spool/ -xdev -type f -perm -0004 "
                       "-size -2048k -print0 2>/dev/null | xargs -0 grep -l -F -e '%s' 2>/dev/null || true"
                       % "' -e '".join(SECRETS.values())]).stdout.split()
    for name, value in SECRETS.items():
        assert value not in logs, "the %s password is in docker logs" % name
        assert value not in env_out, "the %s password is in mtactl env" % name
    assert readable == [], "world-readable files with a secret: %s" % readable
    assert "relayuser:***" in env_out

    # amavisd names itself once it has forked its children; until then it
    # is `perl /usr/sbin/amavisd` (seen on a loaded machine right after the banner).
    def amavisd_named():
        u = process_users(c)
        return u if any(k.startswith("amavisd") for k in u) else None
    users = wait_for(amavisd_named, timeout=60, interval=1, what="amavisd among the processes")
    expect = {"qmgr": {"postfix"}, "pickup": {"postfix"}, "amavisd": {"amavis"},
              "postsrsd": {"postsrsd"}}
    for cmd, who in expect.items():
        found = {u for k, us in users.items() if k.startswith(cmd) for u in us}
        assert found and found <= who, "%s runs as %s: %s" % (cmd, found, users)
    syslog = [u for k, us in users.items() for u in us if k == "mtactl" and "nobody" in us]
    assert syslog, "mtactl syslog does not run as nobody: %s" % users
    # Root is kept only by init, Postfix's master (and the start-fg shell
    # above it), Dovecot's master and its auth/anvil/log/config services,
    # and this test's own docker exec commands.
    root_ok = {"mtactl", "master", "sh", "postfix-script", "dovecot", "anvil", "log", "config",
               "auth", "stat", "find", "xargs", "grep", "tr", "cut", "cat"}
    root_cmds = {k for k, us in users.items() if "root" in us}
    assert root_cmds <= root_ok, "running as root: %s" % (root_cmds - root_ok)


def test_read_only_root_and_memory_limit(mta, volume):
    """--read-only with a volume on /srv and tmpfs on /run and /tmp, 512 MB:
    mail flows through Dovecot and is read back over IMAP."""
    import imaplib
    vol = volume()
    c = mta(stage="base", env={"MAIL_BOXES": "info@example.com",
                               "VIRTUAL_TRANSPORT": "lmtp:unix:private/transport",
                               "SMTPD_SASL_CLIENTAUTH": "info@example.com:{PLAIN}pw",
                               "DOVECOT_DISABLE_PLAINTEXT_AUTH": "no"},
            volumes={vol: "/srv"},
            extra_args=["--read-only", "--tmpfs", "/run", "--tmpfs", "/tmp", "--memory", "512m"])
    assert c.inspect("{{.HostConfig.ReadonlyRootfs}}").strip() == "true"
    r = send_mail(c.ip, rcpts=["info@example.com"], subject="read-only root")
    assert r["delivered"], r

    def arrived():
        m = imaplib.IMAP4(c.ip, 143)
        try:
            m.login("info@example.com", "pw")
            m.select("INBOX")
            _, data = m.search(None, "SUBJECT", '"read-only root"')
            return bool(data[0].split())
        finally:
            m.logout()
    wait_for(arrived, timeout=60, interval=2, what="the message over IMAP")
    assert "healthy" in c.exec(["mtactl", "health"], check=False).stdout
