"""Helpers and fixtures for the end-to-end tests of the `base` image.

Peers: an LDAP server (image mta-test-ldap, tests/peers/ldap) and a MySQL
server (image mta-test-mysql, tests/peers/mysql), built once per session when
missing or changed, each started once per module on the session's internal
network and filled with the test data below. Clients: SMTP submission with
AUTH (smtplib), IMAP/POP3 (imaplib, poplib), the certificate a port serves
(`openssl s_client`), test certificates and acme.json files.

    from basepeers import *      # fixtures and helpers

Only the Python standard library and the openssl command are used; every
wait is bounded in time and in count.
"""
import base64
import contextlib
import hashlib
import imaplib
import json
import os
import poplib
import re
import secrets
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
from pathlib import Path

import pytest

from dockerlib import LABEL, Container, DockerError, docker, ensure_built, unique_name, wait_for

__all__ = [
    "LDAP_IMAGE", "MYSQL_IMAGE", "LDAP_SUFFIX", "LDAP_ADMIN_DN", "LDAP_ADMIN_PW", "LDAP_USERS",
    "LDAP_STAFF", "MYSQL_DB", "MYSQL_USER", "MYSQL_PW", "MYSQL_ACCOUNTS", "MYSQL_ALIASES",
    "ldap_peer", "mysql_peer", "certs", "Peer",
    "ensure_image", "start_peer", "tls_context", "smtp_session", "ehlo_features",
    "submit", "auth_only", "unauth_relay_attempt", "connect_refused", "port_open",
    "served_cert_pem", "fingerprint", "file_fingerprint", "tls_version_ok", "make_cert",
    "imap_messages", "imap_login_result", "pop3_messages", "pop3_login_result",
    "acme_v1", "acme_v2", "write_replace", "cert_subject", "token",
]

TESTS_DIR = Path(__file__).resolve().parent.parent
LDAP_IMAGE = os.environ.get("LDAP_IMAGE", "mta-test-ldap")
MYSQL_IMAGE = os.environ.get("MYSQL_IMAGE", "mta-test-mysql")
LDAP_DIR = TESTS_DIR / "peers" / "ldap"
MYSQL_DIR = TESTS_DIR / "peers" / "mysql"


def token():
    return secrets.token_hex(4)


# --- images ---------------------------------------------------------------------

def _dir_digest(path):
    h = hashlib.sha256()
    for f in sorted(Path(path).rglob("*")):
        if f.is_file():
            h.update(str(f.relative_to(path)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def ensure_image(tag, path):
    """Builds image `tag` from the directory unless an image built from the
    same files is there (label mta-e2e.digest)."""
    ensure_built(tag, path, "mta-e2e.digest", _dir_digest(path), timeout=1200)


class Peer(Container):
    """A peer container; `name` is also its network alias and host name."""


def start_peer(image, net, kind, env=None, args=()):
    name = unique_name(kind)
    envargs = []
    for k, v in (env or {}).items():
        envargs += ["-e", "%s=%s" % (k, v)]
    docker("run", "-d", "--name", name, "--label", LABEL, "--network", net,
           "--network-alias", name, "--hostname", name, *envargs, image, *args)
    return Peer(name, net)


def port_open(host, port, timeout=3):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def connect_refused(host, port, timeout=5):
    """True when a TCP connection is actively refused (RST), False when it is
    accepted; a timeout is an error (the port should answer one way or the other)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return False
    except ConnectionRefusedError:
        return True


# --- LDAP -----------------------------------------------------------------------

LDAP_SUFFIX = "dc=example,dc=com"
LDAP_ADMIN_DN = "cn=admin,dc=example,dc=com"
LDAP_ADMIN_PW = "adminpw"

# ou=people: readable anonymously. uid -> (mail, alias or None, password)
LDAP_USERS = {
    "alice": ("alice@example.com", "alice.alias@example.com", "Alice-pw-" + token()),
    "bob": ("bob@example.com", None, "Bob-pw-" + token()),
}
# ou=staff: only bound users (and the admin) may search it; anonymous may bind.
LDAP_STAFF = {
    "carol": ("carol@example.com", None, "Carol-pw-" + token()),
}


def _ldif_data():
    out = ["dn: ou=people,%s\nobjectClass: organizationalUnit\nou: people\n" % LDAP_SUFFIX,
           "dn: ou=staff,%s\nobjectClass: organizationalUnit\nou: staff\n" % LDAP_SUFFIX,
           "dn: ou=groups,%s\nobjectClass: organizationalUnit\nou: groups\n" % LDAP_SUFFIX]
    for ou, users in (("people", LDAP_USERS), ("staff", LDAP_STAFF)):
        for uid, (mail, alias, pw) in users.items():
            e = ("dn: uid=%s,ou=%s,%s\nobjectClass: inetOrgPerson\nobjectClass: mailAliasObject\n"
                 "uid: %s\ncn: %s\nsn: %s\nmail: %s\nuserPassword: %s\n"
                 % (uid, ou, LDAP_SUFFIX, uid, uid.capitalize(), uid, mail, pw))
            if alias:
                e += "mailAlias: %s\n" % alias
            out.append(e)
    # a group found by its address; its members are uids
    out.append("dn: cn=team,ou=groups,%s\nobjectClass: posixGroup\nobjectClass: extensibleObject\n"
               "cn: team\ngidNumber: 5000\nmail: team@example.com\nmemberUid: alice\nmemberUid: bob\n"
               % LDAP_SUFFIX)
    return "\n".join(out)


_LDAP_ACL = """dn: olcDatabase={1}mdb,cn=config
changetype: modify
add: olcAccess
olcAccess: {0}to dn.subtree="ou=staff,%s" by users read by anonymous auth by * none
""" % LDAP_SUFFIX


@pytest.fixture(scope="module")
def ldap_peer(net):
    """The module's LDAP server (a Peer) with LDAP_USERS under ou=people,
    LDAP_STAFF under ou=staff (search needs a bind) and the group team@example.com."""
    ensure_image(LDAP_IMAGE, LDAP_DIR)
    p = start_peer(LDAP_IMAGE, net, "ldap")
    try:
        wait_for(lambda: p.exec(["ldapsearch", "-x", "-H", "ldap://127.0.0.1/", "-b", LDAP_SUFFIX,
                                 "-s", "base", "-LLL", "dn"], check=False).returncode == 0,
                 timeout=60, interval=1, what="slapd in %s to answer" % p.name)
        p.exec(["ldapmodify", "-Q", "-Y", "EXTERNAL", "-H", "ldapi:///"], input=_LDAP_ACL)
        p.exec(["ldapadd", "-x", "-H", "ldap://127.0.0.1/", "-D", LDAP_ADMIN_DN, "-w", LDAP_ADMIN_PW],
               input=_ldif_data())
        wait_for(lambda: port_open(p.ip, 389), timeout=30, what="port 389 of %s" % p.name)
        yield p
    finally:
        p.rm()


# --- MySQL ----------------------------------------------------------------------

MYSQL_DB = "maildb"
MYSQL_USER = "mailuser"
MYSQL_PW = "Db-pw-" + token()
# userid -> (mail, stored password, clear password)
_erin_pw = "Erin-pw-" + token()
MYSQL_ACCOUNTS = {
    "dave": ("dave@example.com", None, "Dave-pw-" + token()),
    "erin": ("erin@example.com", "{PLAIN-MD5}" + hashlib.md5(_erin_pw.encode()).hexdigest(), _erin_pw),
}
# alias -> targets (one row each)
MYSQL_ALIASES = {"sales@example.com": ["dave@example.com", "erin@example.com"]}


def _sql_data():
    rows = []
    for i, (uid, (mail, stored, clear)) in enumerate(sorted(MYSQL_ACCOUNTS.items()), 1):
        rows.append("(%d, '%s', '%s', '%s')" % (i, uid, stored or "{PLAIN}" + clear, mail))
    al = ["('%s', '%s')" % (a, t) for a, ts in MYSQL_ALIASES.items() for t in ts]
    return ("CREATE TABLE users (id INT PRIMARY KEY, userid VARCHAR(64) NOT NULL, "
            "password VARCHAR(128) NOT NULL, mail VARCHAR(128) NOT NULL);\n"
            "INSERT INTO users VALUES %s;\n"
            "CREATE TABLE aliases (alias VARCHAR(128) NOT NULL, target VARCHAR(128) NOT NULL);\n"
            "INSERT INTO aliases VALUES %s;\n" % (", ".join(rows), ", ".join(al)))


@pytest.fixture(scope="module")
def mysql_peer(net):
    """The module's MariaDB server (a Peer): database MYSQL_DB, user
    MYSQL_USER/MYSQL_PW, tables users(id, userid, password, mail) and
    aliases(alias, target)."""
    ensure_image(MYSQL_IMAGE, MYSQL_DIR)
    p = start_peer(MYSQL_IMAGE, net, "mysql",
                   env={"MYSQL_DATABASE": MYSQL_DB, "MYSQL_USER": MYSQL_USER, "MYSQL_PASSWORD": MYSQL_PW})
    try:
        def ready():
            if not p.is_running():
                raise AssertionError("%s stopped:\n%s" % (p.name, p.logs()[-3000:]))
            return port_open(p.ip, 3306)
        wait_for(ready, timeout=120, interval=1, what="MariaDB in %s on 3306" % p.name)
        p.exec(["mariadb", "-uroot", MYSQL_DB], input=_sql_data())
        yield p
    finally:
        p.rm()


# --- certificates ---------------------------------------------------------------

def make_cert(directory, name, cn, sans=()):
    """A self-signed RSA certificate and key: directory/name.pem, name.key."""
    directory = Path(directory)
    cert, key = directory / (name + ".pem"), directory / (name + ".key")
    san = ",".join("DNS:" + s for s in (sans or (cn,)))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
                    "-subj", "/CN=" + cn, "-addext", "subjectAltName=" + san,
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    os.chmod(key, 0o644)      # readable whatever user the container reads it as
    os.chmod(directory, 0o755)
    return cert, key


@pytest.fixture
def certs():
    """A fresh host temp dir (removed afterwards) for certificates and acme.json."""
    d = tempfile.mkdtemp(prefix="mta-e2e-")
    os.chmod(d, 0o755)
    try:
        yield Path(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def fingerprint(pem):
    p = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256"], input=pem,
                       capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        raise AssertionError("not a certificate: %s\n%s" % (p.stderr, pem[:300]))
    return p.stdout.strip().split("=", 1)[1]


def file_fingerprint(path):
    return fingerprint(Path(path).read_text())


def cert_subject(pem):
    return subprocess.run(["openssl", "x509", "-noout", "-subject"], input=pem, capture_output=True,
                          text=True, timeout=30).stdout.strip()


_PEM = re.compile(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", re.S)


def _s_client(ip, port, starttls=None, extra=(), timeout=30):
    cmd = ["openssl", "s_client", "-connect", "%s:%d" % (ip, port)]
    if starttls:
        cmd += ["-starttls", starttls]
    cmd += list(extra)
    return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          errors="replace", timeout=timeout)


def served_cert_pem(ip, port, starttls=None):
    """The leaf certificate (PEM) the port serves, or None when no handshake."""
    p = _s_client(ip, port, starttls)
    m = _PEM.search(p.stdout)
    return m.group(0) + "\n" if m else None


def tls_version_ok(ip, port, version, starttls=None):
    """True when a handshake with exactly this protocol version ('tls1_1',
    'tls1_2', ...) succeeds. The client's own security level is lowered so
    that it does not refuse old versions itself."""
    p = _s_client(ip, port, starttls, ["-" + version, "-cipher", "DEFAULT:@SECLEVEL=0"])
    proto = re.search(r"Protocol\s*:\s*(\S+)", p.stdout)
    cipher = re.search(r"Cipher\s*(?:is|:)\s*(\S+)", p.stdout)
    return bool(_PEM.search(p.stdout) and proto and cipher and cipher.group(1) not in ("(NONE)", "0000"))


def write_replace(path, text):
    """Writes text next to path, then renames it over path (atomic replace)."""
    path = Path(path)
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_text(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _b64(path):
    return base64.b64encode(Path(path).read_bytes()).decode()


def acme_v1(entries):
    """Traefik v1 acme.json; entries: [(main, sans or None, cert_path, key_path)]."""
    return json.dumps({
        "Account": {"Email": "admin@example.com", "Registration": None, "PrivateKey": "",
                    "KeyType": "4096"},
        "Certificates": [{"Domain": {"Main": m, "SANs": s}, "Certificate": _b64(c), "Key": _b64(k)}
                         for m, s, c, k in entries],
        "HTTPChallenges": {}, "TLSChallenges": {},
    }, indent=2)


def acme_v2(entries, resolver="myresolver"):
    """Traefik v2 acme.json with one resolver."""
    return json.dumps({resolver: {
        "Account": {"Email": "admin@example.com", "Registration": None, "PrivateKey": "",
                    "KeyType": "4096"},
        "Certificates": [{"domain": {"main": m, "sans": s}, "certificate": _b64(c), "key": _b64(k),
                          "Store": "default"} for m, s, c, k in entries],
    }}, indent=2)


# --- SMTP -------------------------------------------------------------------------

def tls_context():
    """A client context that accepts any certificate (the tests check
    certificates explicitly with openssl)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


@contextlib.contextmanager
def smtp_session(ip, port, timeout=30):
    """An SMTP session: implicit TLS on 465, plain otherwise (no EHLO yet)."""
    if port == 465:
        s = smtplib.SMTP_SSL(ip, port, timeout=timeout, context=tls_context())
    else:
        s = smtplib.SMTP(ip, port, timeout=timeout)
    try:
        yield s
    finally:
        try:
            s.quit()
        except (smtplib.SMTPException, OSError):
            s.close()


def ehlo_features(ip, port, starttls=False):
    """{extension: args} the server lists after EHLO (after STARTTLS and a
    second EHLO when starttls); None when starttls and STARTTLS is not offered."""
    with smtp_session(ip, port) as s:
        s.ehlo("client.test")
        if starttls:
            if not s.has_extn("starttls"):
                return None
            s.starttls(context=tls_context())
            s.ehlo("client.test")
        return dict(s.esmtp_features)


def _starttls_if(s, port):
    s.ehlo("client.test")
    if port != 465:
        if not s.has_extn("starttls"):
            raise AssertionError("port %d offers no STARTTLS: %r" % (port, s.esmtp_features))
        s.starttls(context=tls_context())
        s.ehlo("client.test")


def _auth(s, user, password, mechanism="PLAIN"):
    """AUTH PLAIN/LOGIN by hand, so that the reply code comes back whatever it is."""
    if mechanism == "PLAIN":
        blob = base64.b64encode(("\0%s\0%s" % (user, password)).encode()).decode()
        return s.docmd("AUTH PLAIN", blob)
    code, text = s.docmd("AUTH LOGIN")
    if code != 334:
        return code, text
    code, text = s.docmd(base64.b64encode(user.encode()).decode())
    if code != 334:
        return code, text
    return s.docmd(base64.b64encode(password.encode()).decode())


def auth_only(ip, port, user, password, mechanism="PLAIN"):
    """(code, text) of AUTH on the submission port (after STARTTLS on 587)."""
    with smtp_session(ip, port) as s:
        _starttls_if(s, port)
        code, text = _auth(s, user, password, mechanism)
        return code, text.decode("utf-8", "replace") if isinstance(text, bytes) else text


def submit(ip, port, user, password, mail_from, rcpts, subject, mechanism="PLAIN"):
    """Authenticated submission on 465 or 587; returns a dict with the codes
    of auth, mail, rcpt (per address) and data; stops after a refusal."""
    from dockerlib import make_message
    res = {"auth": None, "mail": None, "rcpt": {}, "data": None}
    with smtp_session(ip, port) as s:
        _starttls_if(s, port)
        res["auth"] = _auth(s, user, password, mechanism)
        if res["auth"][0] != 235:
            return res
        res["mail"] = s.docmd("MAIL FROM:<%s>" % mail_from)
        if res["mail"][0] != 250:
            return res
        ok = False
        for r in rcpts:
            res["rcpt"][r] = s.docmd("RCPT TO:<%s>" % r)
            ok = ok or res["rcpt"][r][0] == 250
        if not ok:
            return res
        try:
            res["data"] = s.data(make_message(mail_from, rcpts, subject))
        except smtplib.SMTPDataError as e:
            res["data"] = (e.smtp_code, e.smtp_error)
    return res


def unauth_relay_attempt(ip, port, mail_from="sender@client.test", rcpt="someone@foreign.test"):
    """MAIL and RCPT without AUTH (after STARTTLS on 587/25 when offered);
    returns (mail reply, rcpt reply or None)."""
    with smtp_session(ip, port) as s:
        s.ehlo("client.test")
        if port != 465 and s.has_extn("starttls"):
            s.starttls(context=tls_context())
            s.ehlo("client.test")
        mail = s.docmd("MAIL FROM:<%s>" % mail_from)
        if mail[0] != 250:
            return mail, None
        return mail, s.docmd("RCPT TO:<%s>" % rcpt)


# --- IMAP / POP3 ------------------------------------------------------------------

def _imap(ip, port, tls, timeout=30):
    if tls == "implicit":
        return imaplib.IMAP4_SSL(ip, port, ssl_context=tls_context(), timeout=timeout)
    c = imaplib.IMAP4(ip, port, timeout=timeout)
    if tls == "starttls":
        c.starttls(ssl_context=tls_context())
    return c


def imap_login_result(ip, port, user, password, tls=None):
    """'OK', or the error text of LOGIN (e.g. when plain text logins are disabled)."""
    c = _imap(ip, port, tls)
    try:
        try:
            typ, _ = c.login(user, password)
            return typ
        except imaplib.IMAP4.error as e:
            return "NO: %s (capabilities %s)" % (e, " ".join(c.capabilities))
    finally:
        with contextlib.suppress(Exception):
            c.logout()


def imap_messages(ip, port, user, password, tls=None):
    """The full text of every message in INBOX."""
    c = _imap(ip, port, tls)
    try:
        c.login(user, password)
        typ, _ = c.select("INBOX", readonly=True)
        assert typ == "OK"
        typ, data = c.search(None, "ALL")
        out = []
        for num in data[0].split():
            typ, msg = c.fetch(num, "(BODY.PEEK[])")
            out.append(msg[0][1].decode("utf-8", "replace"))
        return out
    finally:
        with contextlib.suppress(Exception):
            c.logout()


def _pop3(ip, port, tls, timeout=30):
    if tls == "implicit":
        return poplib.POP3_SSL(ip, port, context=tls_context(), timeout=timeout)
    c = poplib.POP3(ip, port, timeout=timeout)
    if tls == "starttls":
        c.stls(context=tls_context())
    return c


def pop3_login_result(ip, port, user, password, tls=None):
    c = _pop3(ip, port, tls)
    try:
        try:
            c.user(user)
            c.pass_(password)
            return "OK"
        except poplib.error_proto as e:
            return "ERR: %s" % e
    finally:
        with contextlib.suppress(Exception):
            c.quit()


def pop3_messages(ip, port, user, password, tls=None):
    c = _pop3(ip, port, tls)
    try:
        c.user(user)
        c.pass_(password)
        count, _ = c.stat()
        out = []
        for i in range(1, min(count, 50) + 1):
            _, lines, _ = c.retr(i)
            out.append(b"\n".join(lines).decode("utf-8", "replace"))
        return out
    finally:
        with contextlib.suppress(Exception):
            c.rset()
            c.quit()


# keep DockerError importable for the tests
_ = DockerError
