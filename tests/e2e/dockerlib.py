"""Helpers for the end-to-end tests: the docker CLI, containers, SMTP clients.

Only the Python standard library is used; docker is driven through its CLI.
Every loop here is bounded in time and in count.
"""
import contextlib
import email.message
import email.utils
import fcntl
import hashlib
import json
import os
import re
import secrets
import smtplib
import socket
import subprocess
import tempfile
import time
from pathlib import Path

# The image under test is ${IMAGE}:<stage>; the peer image is built from tests/peers.
IMAGE = os.environ.get("IMAGE", "mta")
PEER_IMAGE = os.environ.get("PEER_IMAGE", "mta-testpeer")
PEER_DIR = Path(__file__).resolve().parent.parent / "peers"

# Every container, network and volume of one test session carries this prefix
# in its name and this label, so the session can remove all it made.
SESSION = "e2e" + secrets.token_hex(4)
LABEL = "mta-e2e.session=" + SESSION

DOCKER_TIMEOUT = 120   # seconds for one docker CLI call unless told otherwise
BANNER_TIMEOUT = 60


class DockerError(RuntimeError):
    pass


def docker(*args, check=True, timeout=DOCKER_TIMEOUT, input=None, merge=False):
    """Runs `docker ARGS`; returns the CompletedProcess (text). merge puts
    stderr into stdout. Raises DockerError when check and the exit code is not 0."""
    cmd = ["docker"] + [str(a) for a in args]
    try:
        p = subprocess.run(cmd, input=input, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT if merge else subprocess.PIPE,
                           text=True, errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise DockerError("timed out after %ss: %s" % (timeout, " ".join(cmd))) from e
    if check and p.returncode != 0:
        raise DockerError("exit %d: %s\n%s%s" % (p.returncode, " ".join(cmd),
                                                  p.stdout or "", p.stderr or ""))
    return p


def pause(name, tries=3):
    """docker pause, tried up to `tries` times 2 s apart: on a loaded machine
    the cgroup freeze can time out ("OCI runtime pause failed: unable to
    freeze") although a second try freezes the container at once."""
    for i in range(tries):
        p = docker("pause", name, check=False)
        if p.returncode == 0:
            return
        if i + 1 < tries:
            time.sleep(2)
    raise DockerError("exit %d: docker pause %s (%d tries)\n%s" % (p.returncode, name, tries, p.stderr))


_counter = 0


def unique_name(kind):
    """e2eXXXXXXXX-<kind>-<n>: a name for a container, network or volume that
    is also a valid host name (lower case, digits, hyphens)."""
    global _counter
    _counter += 1
    kind = re.sub(r"[^a-z0-9-]", "-", kind.lower()).strip("-") or "x"
    return "%s-%s-%d" % (SESSION, kind, _counter)


def wait_for(predicate, timeout=30, interval=1.0, what="condition"):
    """Calls predicate until it returns something true; returns that value.
    Bounded by timeout seconds and by timeout/interval + 2 calls; raises
    AssertionError naming `what` (and the last exception, if any) when it
    never became true."""
    deadline = time.monotonic() + timeout
    tries = int(timeout / interval) + 2
    last_exc = None
    for _ in range(tries):
        try:
            value = predicate()
            if value:
                return value
            last_exc = None
        except Exception as e:  # noqa: BLE001 - report it if we give up
            last_exc = e
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    msg = "timed out after %ss waiting for %s" % (timeout, what)
    if last_exc is not None:
        msg += " (last error: %r)" % (last_exc,)
    raise AssertionError(msg)


def read_banner(host, port=25, timeout=10):
    """Connects, reads the greeting (all lines of a multi-line reply), sends
    QUIT. Returns the last greeting line ('220 ...')."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        f = s.makefile("rb")
        lines = []
        for _ in range(20):
            line = f.readline(4096)
            if not line:
                break
            line = line.decode("utf-8", "replace").rstrip("\r\n")
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                break
        try:
            s.sendall(b"QUIT\r\n")
            f.readline(4096)
        except OSError:
            pass
        return lines[-1] if lines else ""


class Container:
    """A container the tests started; all methods go through the docker CLI."""

    def __init__(self, name, network=None):
        self.name = name
        self.network = network

    def __repr__(self):
        return "Container(%s)" % self.name

    # --- inspection
    def inspect(self, fmt):
        return docker("inspect", "-f", fmt, self.name).stdout.strip()

    @property
    def ip(self):
        """The container's address on its network (looked up each time: a
        restarted container may get another one)."""
        if self.network:
            fmt = "{{(index .NetworkSettings.Networks \"%s\").IPAddress}}" % self.network
        else:
            fmt = "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"
        ip = self.inspect(fmt)
        if not ip:
            raise DockerError("%s has no IP address (running=%s)" % (self.name, self.is_running()))
        return ip

    def is_running(self):
        p = docker("inspect", "-f", "{{.State.Running}}", self.name, check=False)
        return p.returncode == 0 and p.stdout.strip() == "true"

    def exit_code(self):
        return int(self.inspect("{{.State.ExitCode}}"))

    def state(self):
        return json.loads(self.inspect("{{json .State}}"))

    def health_status(self):
        v = self.inspect("{{if .State.Health}}{{.State.Health.Status}}{{end}}")
        return v or None

    def logs(self):
        """docker logs, stdout and stderr together."""
        return docker("logs", self.name, merge=True, timeout=60).stdout

    # --- running things inside
    def exec(self, cmd, check=True, input=None, timeout=60, user=None):
        args = ["exec"]
        if input is not None:
            args.append("-i")
        if user:
            args += ["-u", user]
        args.append(self.name)
        args += list(cmd)
        p = docker(*args, check=False, input=input, timeout=timeout)
        if check and p.returncode != 0:
            raise DockerError("exit %d in %s: %s\nstdout: %s\nstderr: %s" % (
                p.returncode, self.name, " ".join(cmd), p.stdout, p.stderr))
        return p

    def read_file(self, path):
        return self.exec(["cat", path]).stdout

    def file_exists(self, path):
        return self.exec(["test", "-e", path], check=False).returncode == 0

    # --- lifecycle
    def wait_banner(self, port=25, timeout=BANNER_TIMEOUT):
        """Waits (bounded) until port answers with a 220 greeting; returns the line.
        Fails at once, with the logs, when the container stops running."""
        deadline = time.monotonic() + timeout
        last = None
        for _ in range(int(timeout) + 5):
            if not self.is_running():
                raise AssertionError("%s is not running (exit code %s) while waiting for "
                                     "the banner on port %d; logs:\n%s"
                                     % (self.name, self._exit_code_or_none(), port,
                                        self.logs()[-6000:]))
            try:
                remaining = max(1.0, deadline - time.monotonic())
                line = read_banner(self.ip, port, timeout=min(30.0, remaining))
                if line.startswith("220"):
                    return line
                last = "greeting %r" % line
            except (OSError, DockerError) as e:
                last = repr(e)
            if time.monotonic() >= deadline:
                break
            time.sleep(1)
        raise AssertionError("%s: no 220 banner on port %d within %ss (last: %s); logs:\n%s"
                             % (self.name, port, timeout, last, self.logs()[-6000:]))

    def _exit_code_or_none(self):
        try:
            return self.exit_code()
        except DockerError:
            return None

    def stop(self, timeout=None):
        """docker stop; returns the seconds it took."""
        args = ["stop"]
        if timeout is not None:
            args += ["-t", str(timeout)]
        t0 = time.monotonic()
        docker(*args, self.name, timeout=(timeout or 10) + 60)
        return time.monotonic() - t0

    def start(self, wait_port=None):
        docker("start", self.name)
        if wait_port:
            self.wait_banner(wait_port)

    def restart(self, wait=True, port=25):
        docker("restart", self.name, timeout=90)
        if wait:
            self.wait_banner(port)

    def kill(self, signal="KILL"):
        docker("kill", "-s", str(signal), self.name)

    def wait_exit(self, timeout=30):
        """Waits (bounded polling) until the container is no longer running;
        returns its exit code."""
        wait_for(lambda: not self.is_running(), timeout=timeout, interval=0.5,
                 what="%s to exit" % self.name)
        return self.exit_code()

    def rm(self):
        docker("rm", "-f", "-v", self.name, check=False)


def file_text(c, path):
    """The text of a file in container c, or '' when it does not exist (yet)."""
    p = c.exec(["cat", path], check=False)
    return p.stdout if p.returncode == 0 else ""


def wait_in_file(c, path, text, timeout=40):
    """Waits (bounded) until the file in container c contains text; returns
    the file's text. The failure names the file's end and the logs."""
    content = [""]

    def check():
        content[0] = file_text(c, path)
        return text in content[0]
    try:
        wait_for(check, timeout=timeout, interval=1, what="%r in %s" % (text, path))
    except AssertionError as e:
        raise AssertionError("%s; file now:\n%s\nlogs:\n%s"
                             % (e, content[0][-2000:], c.logs()[-4000:]))
    return content[0]


class Sink(Container):
    """A mta-testpeer container running sink.py."""

    def __init__(self, name, network, mode, port, auth):
        super().__init__(name, network)
        self.mode = mode
        self.port = port
        self.auth = auth

    def messages(self):
        """Every message stored so far, oldest first (sorted by file name)."""
        script = ("import glob,json,sys\n"
                  "out=[]\n"
                  "for f in sorted(glob.glob('/srv/sink/*.json')):\n"
                  "    d=json.load(open(f)); d['file']=f; out.append(d)\n"
                  "json.dump(out,sys.stdout)\n")
        return json.loads(self.exec(["python3", "-c", script]).stdout)

    def wait_messages(self, n=1, timeout=30):
        """Waits (bounded) until at least n messages are stored; returns them all."""
        msgs = []

        def enough():
            msgs[:] = self.messages()
            return len(msgs) >= n
        try:
            wait_for(enough, timeout=timeout, interval=1, what="%d message(s) at %s" % (n, self.name))
        except AssertionError as e:
            raise AssertionError("%s; got %d; sink logs:\n%s" % (e, len(msgs), self.logs()[-4000:]))
        return msgs


# --- SMTP clients -----------------------------------------------------------

def make_message(mail_from, rcpts, subject, body="", size_pad=0, headers=None):
    """An RFC 5322 message as bytes; size_pad adds about that many bytes of
    body in 76-character lines."""
    m = email.message.EmailMessage()
    m["From"] = mail_from or "MAILER-DAEMON@example.com"
    m["To"] = ", ".join(rcpts) if rcpts else "undisclosed-recipients:;"
    m["Subject"] = subject
    m["Date"] = email.utils.formatdate()
    m["Message-ID"] = email.utils.make_msgid(domain="e2e.test")
    for k, v in (headers or {}).items():
        m[k] = v
    text = body or "Test message %s\n" % subject
    if size_pad > 0:
        line = ("x" * 75) + "\n"
        text += line * (size_pad // len(line) + 1)
    m.set_content(text, cte="7bit")
    return m.as_bytes(policy=m.policy.clone(linesep="\r\n"))


def send_mail(host, port=25, mail_from="sender@client.test", rcpts=(), subject="test",
              body="", size_pad=0, helo="client.test", timeout=60, use_size=True,
              headers=None):
    """send_message() with a message made by make_message()."""
    rcpts = list(rcpts)
    msg = make_message(mail_from, rcpts, subject, body, size_pad, headers)
    return send_message(host, msg, mail_from, rcpts, port, helo, timeout, use_size)


def send_message(host, msg, mail_from, rcpts, port=25, helo="client.test", timeout=60,
                 use_size=True):
    """One SMTP transaction that records every reply instead of stopping at the
    first error. Returns a dict:
      banner, ehlo: (code, text)
      mail: (code, text)
      rcpt: {address: (code, text)}
      data: (code, text) or None when no recipient was accepted or MAIL failed
      accepted: [addresses with 2xx at RCPT]
      refused: {address: (code, text)}
      delivered: True when DATA ended with 2xx
      error: repr of an unexpected exception (disconnect ...), else None
    SMTPRecipientsRefused / SMTPSenderRefused / SMTPDataError are caught and
    turned into codes."""
    rcpts = list(rcpts)
    res = {"banner": None, "ehlo": None, "mail": None, "rcpt": {}, "data": None,
           "accepted": [], "refused": {}, "delivered": False, "error": None,
           "size": len(msg)}
    s = smtplib.SMTP(timeout=timeout)
    try:
        res["banner"] = s.connect(host, port)
        code, text = s.ehlo(helo)
        res["ehlo"] = (code, _t(text))
        opts = []
        if use_size and s.has_extn("size"):
            opts.append("SIZE=%d" % len(msg))
        try:
            code, text = s.mail(mail_from, opts)
        except smtplib.SMTPSenderRefused as e:
            code, text = e.smtp_code, e.smtp_error
        res["mail"] = (code, _t(text))
        if not 200 <= code < 300:
            return res
        for r in rcpts:
            # verbatim: smtplib.rcpt() runs the address through quoteaddr(),
            # which mangles source routes and quoted local parts
            try:
                code, text = s.docmd("RCPT TO:<%s>" % r)
            except smtplib.SMTPRecipientsRefused as e:
                code, text = list(e.recipients.values())[0]
            res["rcpt"][r] = (code, _t(text))
            if 200 <= code < 300:
                res["accepted"].append(r)
            else:
                res["refused"][r] = (code, _t(text))
        if not res["accepted"]:
            return res
        try:
            code, text = s.data(msg)
        except smtplib.SMTPDataError as e:
            code, text = e.smtp_code, e.smtp_error
        res["data"] = (code, _t(text))
        res["delivered"] = 200 <= code < 300
        return res
    except (smtplib.SMTPException, OSError) as e:
        res["error"] = repr(e)
        return res
    finally:
        try:
            s.quit()
        except (smtplib.SMTPException, OSError):
            s.close()


def rcpt_code(host, rcpt, port=25, mail_from="sender@client.test", helo="client.test", timeout=60,
              mail_refusal_ok=False):
    """The reply (code, text) to RCPT TO:<rcpt> after EHLO and MAIL FROM; the
    transaction is then reset. When MAIL FROM is refused: with mail_refusal_ok
    that reply is returned, else AssertionError."""
    s = smtplib.SMTP(timeout=timeout)
    try:
        s.connect(host, port)
        s.ehlo(helo)
        code, text = s.mail(mail_from)
        if mail_refusal_ok and not 200 <= code < 300:
            return code, _t(text)
        assert 200 <= code < 300, "MAIL FROM:<%s> got %s %s" % (mail_from, code, _t(text))
        code, text = s.docmd("RCPT TO:<%s>" % rcpt)   # verbatim, see send_mail
        try:
            s.rset()
        except smtplib.SMTPException:
            pass
        return code, _t(text)
    finally:
        try:
            s.quit()
        except (smtplib.SMTPException, OSError):
            s.close()


def _t(text):
    if isinstance(text, bytes):
        return text.decode("utf-8", "replace")
    return str(text)


def session_log(host, lines, port=25, timeout=30):
    """A raw SMTP dialogue: sends each line after reading a reply; returns the
    list of replies (the greeting first). For protocol tricks smtplib won't do."""
    replies = []
    with socket.create_connection((host, port), timeout=timeout) as s:
        f = s.makefile("rb")

        def reply():
            out = []
            for _ in range(50):
                ln = f.readline(4096)
                if not ln:
                    break
                ln = ln.decode("utf-8", "replace").rstrip("\r\n")
                out.append(ln)
                if len(ln) < 4 or ln[3] != "-":
                    break
            return "\n".join(out)
        replies.append(reply())
        for ln in lines:
            s.sendall(ln.encode() + b"\r\n")
            replies.append(reply())
    return replies


# --- images -----------------------------------------------------------------

def peer_digest():
    h = hashlib.sha256()
    for f in sorted(PEER_DIR.iterdir()):
        if f.is_file():
            h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def ensure_peer_image():
    """Builds mta-testpeer from tests/peers unless an image built from the
    same files is there (label mta-testpeer.digest)."""
    ensure_built(PEER_IMAGE, PEER_DIR, "mta-testpeer.digest", peer_digest(), timeout=900)


BUILD_LOCK_DIR = os.environ.get("E2E_LOCK_DIR", tempfile.gettempdir())


@contextlib.contextmanager
def build_lock(tag, timeout):
    """Holds an exclusive flock on a file named after the image tag: the
    workers of a parallel run (pytest -n 2) and other sessions on the machine
    then build a peer image one at a time, the later ones finding it built.
    Waits at most timeout seconds (polling once a second)."""
    path = os.path.join(BUILD_LOCK_DIR, "mta-e2e-build-%s.lock" % re.sub(r"[^A-Za-z0-9_.-]", "_", tag))
    with open(path, "a") as f:
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout) + 2):
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise DockerError("%s: another session held the build lock %s for %ss"
                                      % (tag, path, timeout)) from None
                time.sleep(1)
        else:
            raise DockerError("%s: no build lock %s within %ss" % (tag, path, timeout))
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def ensure_built(tag, path, label, digest, timeout):
    """Builds image `tag` from directory `path` with label=digest unless an
    image with that label value is there; under build_lock, checked again once
    the lock is held (the holder before may just have built it)."""
    def current():
        p = docker("image", "inspect", "-f", '{{index .Config.Labels "%s"}}' % label, tag, check=False)
        return p.returncode == 0 and p.stdout.strip() == digest
    if current():
        return
    with build_lock(tag, timeout + 60):
        if current():
            return
        docker("build", "-q", "--label", "%s=%s" % (label, digest), "-t", tag, str(path),
               timeout=timeout)


def image_exists(ref):
    return docker("image", "inspect", ref, check=False).returncode == 0


def cleanup_session():
    """Removes every container, volume and network labelled with this session."""
    cs = docker("ps", "-aq", "--filter", "label=" + LABEL, check=False).stdout.split()
    if cs:
        docker("rm", "-f", "-v", *cs, check=False)
    vs = docker("volume", "ls", "-q", "--filter", "label=" + LABEL, check=False).stdout.split()
    if vs:
        docker("volume", "rm", "-f", *vs, check=False)
    ns = docker("network", "ls", "-q", "--filter", "label=" + LABEL, check=False).stdout.split()
    for n in ns:
        docker("network", "rm", n, check=False)
