"""Helpers for the end-to-end tests of the `rspamd` image (test_rspamd.py):
starting it, its quarantine (Postfix's hold queue), rspamd's controller
(learning statistics, the web interface on 11334), a DNS peer with MX
records, and an EICAR database owned by this image's clamav user.

Everything else (messages, mailboxes, DKIM, the DNS and sink peers) comes
from fullpeers.py. Only the standard library, pytest and dkimpy are used;
every wait is bounded in time and in count.
"""
import email
import email.policy
import hashlib
import json
import re
import urllib.error
import urllib.request

from dockerlib import IMAGE, LABEL, Container, docker, image_exists, unique_name, wait_for
from fullpeers import CLIENT_NAME, EICAR, build_message, cat

RSPAMD = "%s:rspamd" % IMAGE
FULL = "%s:full" % IMAGE
CONTROLLER_SOCK = "/run/rspamd/controller.sock"
WEBUI_PORT = 11334


# --- containers -------------------------------------------------------------------

def start_image(stage, net, gateway, env=None, volumes=None, dns=None, hostname="mx1.example.com",
                extra_args=(), kind=None, client_host=True):
    """docker run -d of ${IMAGE}:STAGE on the session network; does not wait.
    client_host=False: no /etc/hosts entry for the test client, so Postfix
    asks the DNS for its name, as for a peer in the field."""
    ref = "%s:%s" % (IMAGE, stage)
    if not image_exists(ref):
        raise AssertionError("image %s is missing: build it first (make images)" % ref)
    name = unique_name(kind or stage)
    args = ["run", "-d", "--name", name, "--label", LABEL, "--hostname", hostname,
            "--network", net, "--network-alias", name]
    if client_host:
        args += ["--add-host", "%s:%s" % (CLIENT_NAME, gateway)]
    if dns:
        args += ["--dns", dns]
    for k, v in (env or {}).items():
        args += ["-e", "%s=%s" % (k, v)]
    for src, dst in (volumes or {}).items():
        args += ["-v", "%s:%s" % (src, dst)]
    args += list(extra_args)
    docker(*args, ref)
    return Container(name, net)


# --- DNS peer with MX records ---------------------------------------------------------

# --- ClamAV database for this image ---------------------------------------------------

def eicar_hdb_line():
    """The .hdb line of EICAR (what sigtool --md5 prints): md5:size:name."""
    data = EICAR.encode()
    return "%s:%d:eicar.com" % (hashlib.md5(data).hexdigest(), len(data))


def fill_clamav_volume_for(vol, ref=RSPAMD):
    """Writes e2e-eicar.hdb into the volume, owned by ref's clamav user."""
    docker("run", "--rm", "--network", "none", "-v", "%s:/v" % vol, "--user", "0",
           "--entrypoint", "sh", ref, "-c",
           'printf "%s\\n" "$1" >/v/e2e-eicar.hdb && chown -R clamav:clamav /v && '
           'chmod 644 /v/e2e-eicar.hdb', "sh", eicar_hdb_line())


# --- messages ---------------------------------------------------------------------------

def zip_bytes(name, data):
    import io
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, data)
    return buf.getvalue()


def eicar_zip_message(mail_from, rcpt, subject):
    return build_message(mail_from, rcpt, subject, body="The archive is attached.\n",
                         attachment=("documents.zip", zip_bytes("eicar.txt", EICAR.encode())))


def double_ext_message(mail_from, rcpt, subject):
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 240
    return build_message(mail_from, rcpt, subject, body="The invoice is attached.\n",
                         attachment=("invoice.pdf.exe", exe))



# --- the hold queue (quarantine) ------------------------------------------------------

def hold_ids(c):
    """Queue ids of the messages in Postfix's hold queue."""
    p = c.exec(["postqueue", "-j"], check=False)
    ids = []
    for line in p.stdout.splitlines():
        try:
            d = json.loads(line)
        except ValueError:
            continue
        if d.get("queue_name") == "hold":
            ids.append(d["queue_id"])
    return sorted(ids)


def held_text(c, qid):
    """The message (headers and body) of a queue file."""
    p = c.exec(["postcat", "-hbq", qid], check=False)
    return p.stdout if p.returncode == 0 else ""


def held_for(c, subject):
    """{queue id: message text} of held messages with subject in their text."""
    out = {}
    for qid in hold_ids(c):
        text = held_text(c, qid)
        if subject in text:
            out[qid] = text
    return out


def x_quarantine(text):
    """The X-Quarantine header values of a message text (unfolded)."""
    msg = email.message_from_string(text, policy=email.policy.compat32)
    return [re.sub(r"\s+", " ", str(v)).strip() for v in (msg.get_all("X-Quarantine") or [])]


def wait_held(c, subject, timeout=60):
    try:
        return wait_for(lambda: held_for(c, subject), timeout=timeout, interval=1,
                        what="%r in the hold queue of %s" % (subject, c.name))
    except AssertionError as e:
        p = c.exec(["postqueue", "-p"], check=False)
        raise AssertionError("%s\nqueue:\n%s\nlogs:\n%s" % (e, p.stdout, c.logs()[-5000:])) from None


# --- rspamd's controller -------------------------------------------------------------------

def rspamc(c, *args, timeout=60):
    return c.exec(["rspamc", "-h", CONTROLLER_SOCK] + list(args), check=False, timeout=timeout)


def bayes_learned(c, symbol="BAYES_SPAM"):
    """The learned count of a Bayes statfile from `rspamc stat`."""
    p = rspamc(c, "stat")
    m = re.search(r"Statfile: %s\b[^\n]*?learned: (\d+)" % symbol, p.stdout)
    return int(m.group(1)) if m else None


def webui(ip, path, password=None, timeout=10):
    """(status, body text) of GET http://ip:11334/path; password in the
    Password header when given. (None, error) when nothing answers."""
    req = urllib.request.Request("http://%s:%d%s" % (ip, WEBUI_PORT, path))
    if password is not None:
        req.add_header("Password", password)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as e:
        return None, repr(e)


def dkim_txt_files(c):
    return cat(c, "/var/db/dkim/example.com.default._domainkey.txt")
