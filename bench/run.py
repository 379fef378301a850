#!/usr/bin/python3
"""Benchmarks of the mta images against plain Debian baselines (`make bench`).

Measures, on this machine and in one run, each stage of ${IMAGE}:mini/base/full
and the rspamd image (${IMAGE}:rspamd, or --rspamd-image) against its baseline
and reports ratios of medians:

  throughput  smtp-source -> all messages delivered (maildir files counted);
              for the filter systems also the end-of-DATA latency (p50/p99)
  startup     docker run -> first 220 banner, and -> healthy (our images)
  memory      docker stats of each container idle after start and after the
              throughput run
  config      `mtactl config` with 1k/5k/10k mailboxes (+1 alias per 10)
  size        docker image inspect .Size

Baselines (built here from bench/stock, bench/textbook, bench/dns):
  stock       Debian's postfix, hand-written equivalent main.cf
  textbook    postfix + amavisd-new + spamassassin + clamd wired by the book

Everything runs on a `docker network create --internal` network of its own,
with a stub DNS server (NXDOMAIN for every name) so that no lookup leaves the
machine or waits for a timeout. All containers, networks and volumes carry
the label mta-bench.session=<prefix> and are removed at the end, also on
Ctrl-C or failure. Leftovers of a killed run:
    docker rm -f $(docker ps -aq --filter label=mta-bench.session)

Python 3 standard library only (Debian's /usr/bin/python3) and the docker CLI.
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import secrets
import signal
import smtplib
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")

STOCK_IMAGE = "mta-bench-stock"
TEXTBOOK_IMAGE = "mta-bench-textbook"
DNS_IMAGE = "mta-bench-dns"
LABEL_KEY = "mta-bench.session"
EICAR = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"

# Targets of the project (reported as met or not, never adjusted).
TARGETS = {
    "throughput mini/stock": (">=", 0.95),
    "throughput full/textbook": (">=", 1.5),
    "throughput full auth/noauth": (">=", 0.90),
    "throughput rspamd/textbook": (">=", 10),
    "throughput rspamd/full": (">=", 5),
    "idle memory mini MB": ("<=", 15),
    "idle memory base MB": ("<=", 40),
    "idle memory full MB": ("<=", 150),
    "idle memory rspamd MB": ("<=", 150),
    "image mini MB": ("<=", 120),
    "image full MB": ("<=", 450),
    "image rspamd/full": ("<", 1.0),
    "config 10k mailboxes ms": ("<", 50),
    "config 10k work ms": ("<", 50),
}


class BenchError(Exception):
    pass


class Terminated(BaseException):
    """SIGTERM/SIGHUP: unwind like Ctrl-C so that the clean-up runs."""


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def docker(*args, timeout=120, check=True, input=None):
    try:
        p = subprocess.run(["docker"] + list(args), capture_output=True, text=True,
                           timeout=timeout, input=input)
    except subprocess.TimeoutExpired:
        raise BenchError("docker %s: no answer within %ss" % (" ".join(args[:3]), timeout))
    if check and p.returncode != 0:
        raise BenchError("docker %s failed (%d): %s" % (" ".join(args[:4]), p.returncode,
                                                        (p.stderr or p.stdout).strip()[-800:]))
    return p


def median(values):
    v = [x for x in values if x is not None]
    return statistics.median(v) if v else None


def ratio(a, b):
    return a / b if a is not None and b else None


# --- images ---------------------------------------------------------------------------

def context_digest(path):
    h = hashlib.sha256()
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(root, f)
            h.update(os.path.relpath(p, path).encode() + b"\0")
            with open(p, "rb") as fh:
                h.update(fh.read() + b"\0")
            h.update(b"x" if os.access(p, os.X_OK) else b"-")
    return h.hexdigest()[:16]


def ensure_built(tag, context, base):
    """Build a baseline image when missing or when its directory or its base
    image changed."""
    base_id = docker("image", "inspect", "-f", "{{.Id}}", base).stdout.strip()
    digest = hashlib.sha256((context_digest(context) + base_id).encode()).hexdigest()[:16]
    p = docker("image", "inspect", "-f", '{{index .Config.Labels "mta-bench.context"}}', tag,
               check=False)
    if p.returncode == 0 and p.stdout.strip() == digest:
        return
    log("building %s from %s" % (tag, os.path.relpath(context)))
    docker("build", "-q", "--build-arg", "BASE=" + base, "--label", "mta-bench.context=" + digest,
           "-t", tag, context, timeout=1800)


def image_size(tag):
    return int(docker("image", "inspect", "-f", "{{.Size}}", tag).stdout.strip())


# --- session: everything the run creates ------------------------------------------------

class Session:
    def __init__(self):
        self.prefix = "mtab" + secrets.token_hex(4)
        self.label = "%s=%s" % (LABEL_KEY, self.prefix)

    def name(self, what):
        return "%s-%s" % (self.prefix, what)

    def network(self, what):
        n = self.name(what)
        docker("network", "create", "--internal", "--label", self.label, n)
        return n

    def volume(self, what):
        v = self.name(what)
        docker("volume", "create", "--label", self.label, v)
        return v

    def cleanup(self):
        f = "label=" + self.label
        ids = docker("ps", "-aq", "--filter", f, check=False).stdout.split()
        if ids:
            docker("rm", "-f", "-v", *ids, check=False, timeout=180)
        nets = docker("network", "ls", "-q", "--filter", f, check=False).stdout.split()
        if nets:
            docker("network", "rm", *nets, check=False)
        vols = docker("volume", "ls", "-q", "--filter", f, check=False).stdout.split()
        if vols:
            docker("volume", "rm", "-f", *vols, check=False)


def ip_of(container, net):
    fmt = '{{(index .NetworkSettings.Networks "%s").IPAddress}}' % net
    ip = docker("inspect", "-f", fmt, container).stdout.strip()
    if not ip:
        raise BenchError("%s has no address on %s" % (container, net))
    return ip


def mem_usage_mb(container):
    """docker stats' MemUsage (cgroup usage less inactive file cache), in MB (1e6)."""
    out = docker("stats", "--no-stream", "--format", "{{.MemUsage}}", container).stdout.strip()
    m = re.match(r"([\d.]+)\s*([KMGT]?i?B)", out)
    if not m:
        raise BenchError("docker stats %s: unexpected %r" % (container, out))
    mult = {"B": 1, "KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3, "TiB": 1024 ** 4,
            "kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}[m.group(2)]
    return float(m.group(1)) * mult / 1e6


# --- the systems under test ---------------------------------------------------------------

class System:
    """ready_mail: ready only once a message is accepted (250 at the end of DATA):
    a before-queue filter (rspamd) answers 4xx until it is up, and the image's
    health check may pass before that."""

    def __init__(self, key, image, env, maildir, health, clamdb=False, n_key="n",
                 ready_mail=False):
        self.key, self.image, self.env, self.maildir = key, image, env, maildir
        self.health, self.clamdb, self.n_key = health, clamdb, n_key
        self.ready_mail = ready_mail


# Every system, in the order of the tables; FILTERS are the ones with a content
# filter (fewer messages, end-of-DATA latency measured).
SYSTEM_KEYS = ("stock", "mini", "base", "full", "textbook", "rspamd")
FILTERS = ("rspamd", "full", "textbook")


def systems_for(image, rspamd_image):
    box = {"MAIL_BOXES": "bench@example.com:bench/"}
    return {
        "stock": System("stock", STOCK_IMAGE, {}, "/var/mail/bench/new", False),
        "mini": System("mini", image + ":mini", box, "/var/mail/bench/new", True),
        # base hands mail to Dovecot over LMTP. SMTPD_SASL_CLIENTAUTH is only there
        # because without any passdb Dovecot's auth process exits ("No passdbs
        # specified ... LOGIN mechanism needs one") and every LMTP delivery is
        # deferred with 451 4.3.0 (see bench/README.md, problems found).
        "base": System("base", image + ":base",
                       {"MAIL_BOXES": "bench@example.com",
                        "VIRTUAL_TRANSPORT": "lmtp:unix:private/transport",
                        "DOVECOT_MAIL_LOCATION": "maildir:/var/mail/%Lu/",
                        "SMTPD_SASL_CLIENTAUTH": "benchuser:{PLAIN}benchpw"},
                       "/var/mail/bench@example.com/new", True),
        "full": System("full", image + ":full", dict(box, CLAMAV_FRESHCLAM="no"),
                       "/var/mail/bench/new", True, clamdb=True, n_key="n_filter"),
        "textbook": System("textbook", TEXTBOOK_IMAGE, {}, "/var/mail/bench/new", False,
                           clamdb=True, n_key="n_filter"),
        # rspamd as a before-queue milter, with the same ClamAV database as full;
        # delivered by Postfix's virtual(8) to the same maildir.
        "rspamd": System("rspamd", rspamd_image, dict(box, CLAMAV_FRESHCLAM="no"),
                         "/var/mail/bench/new", True, clamdb=True, n_key="n_filter",
                         ready_mail=True),
    }


class Lab:
    """One internal network with a stub DNS server and a load client."""

    def __init__(self, session, image):
        self.s = session
        self.image = image
        self.net = session.network("net")
        self.gateway = docker("network", "inspect", "-f",
                              "{{range .IPAM.Config}}{{.Gateway}}{{end}}", self.net).stdout.strip()
        self.dns = session.name("dns")
        docker("run", "-d", "--name", self.dns, "--label", session.label, "--network", self.net,
               DNS_IMAGE)
        self.dns_ip = ip_of(self.dns, self.net)
        # The client: smtp-source lives in the mini image. Bounded lifetime.
        self.client = session.name("client")
        docker("run", "-d", "--name", self.client, "--label", session.label, "--network", self.net,
               "--no-healthcheck", "--entrypoint", "sleep", image + ":mini", "7200")
        self.client_ip = ip_of(self.client, self.net)
        self.clamdb = {}

    def clam_volume(self, system):
        """A ClamAV database holding only the EICAR test signature, owned by the
        clamav user of that system's image (its uid differs between images). The
        line is what `sigtool --md5 eicar.com` prints (MD5:size:name), written
        here because not every image has sigtool (rspamd has clamd only)."""
        if system.image not in self.clamdb:
            v = self.s.volume("clamdb-" + system.key)
            hdb = "%s:%d:eicar.com" % (hashlib.md5(EICAR.encode()).hexdigest(), len(EICAR))
            docker("run", "--rm", "--label", self.s.label, "--network", "none",
                   "-v", v + ":/var/lib/clamav", "--entrypoint", "sh", system.image, "-c",
                   'printf "%s\\n" "$1" >/var/lib/clamav/eicar.hdb '
                   '&& chown -R clamav:clamav /var/lib/clamav/',
                   "sh", hdb, timeout=120)
            self.clamdb[system.image] = v
        return self.clamdb[system.image]

    def start(self, system, name):
        args = ["run", "-d", "--name", name, "--label", self.s.label, "--network", self.net,
                "--hostname", "mx1.example.com", "--dns", self.dns_ip,
                "--add-host", "client.bench:" + self.client_ip,
                "--add-host", "gateway.bench:" + self.gateway]
        if system.health:
            args += ["--health-interval=1s"]
        if system.clamdb:
            args += ["-v", self.clam_volume(system) + ":/var/lib/clamav"]
        for k, v in system.env.items():
            args += ["-e", "%s=%s" % (k, v)]
        docker(*(args + [system.image]))
        return ip_of(name, self.net)

    def exec(self, container, script, timeout=60, check=True):
        return docker("exec", container, "sh", "-c", script, timeout=timeout, check=check)


def running(container):
    p = docker("inspect", "-f", "{{.State.Running}}", container, check=False)
    return p.stdout.strip() == "true"


def read_banner(ip, deadline, container=None):
    """Connect and read until a 220 line; retry until deadline (or until the
    container has stopped). Returns the time."""
    checked = time.monotonic()
    while time.monotonic() < deadline:
        if container and time.monotonic() - checked > 2:
            checked = time.monotonic()
            if not running(container):
                log("  %s has stopped: %s" % (container, docker(
                    "logs", "--tail", "5", container, check=False).stderr.strip()[-600:]))
                return None
        try:
            with socket.create_connection((ip, 25), timeout=0.5) as s:
                s.settimeout(max(0.1, min(30, deadline - time.monotonic())))
                data = b""
                while b"\n" not in data:
                    chunk = s.recv(512)
                    if not chunk:
                        break
                    data += chunk
                if data.startswith(b"220"):
                    t = time.monotonic()
                    try:
                        s.sendall(b"QUIT\r\n")
                    except OSError:
                        pass
                    return t
        except OSError:
            pass
        time.sleep(0.02)
    return None


def first_accepted(ip, deadline):
    """Send one message until the end of DATA is answered 250 (4xx and refused
    connections: again after 0.2 s). Returns the time, None at the deadline."""
    msg = ("From: sender@client.test\r\nTo: bench@example.com\r\nSubject: ready\r\n"
           "Message-ID: <ready.%s@client.test>\r\n\r\nready\r\n" % secrets.token_hex(6))
    while time.monotonic() < deadline:
        try:
            with smtplib.SMTP(ip, 25, timeout=max(1, min(30, deadline - time.monotonic()))) as s:
                s.sendmail("from@client.test", ["bench@example.com"], msg)
            return time.monotonic()
        except smtplib.SMTPResponseException as e:
            if e.smtp_code >= 500:
                raise BenchError("%s refused the ready message: %d %s" % (ip, e.smtp_code, e.smtp_error))
        except (OSError, smtplib.SMTPException):
            pass
        time.sleep(0.2)
    return None


# --- 2 + 3: start-up and idle memory ----------------------------------------------------------

def bench_startup(lab, systems, reps, settle):
    log("start-up: %d repetitions of %s" % (reps, ", ".join(systems)))
    res = {k: {"banner_s": [], "healthy_s": [], "mail_s": [], "idle_mem_mb": [], "quiet_mem_mb": []}
           for k in systems}
    keys = list(systems)
    for r in range(reps):
        order = keys[r % len(keys):] + keys[:r % len(keys)]
        for key in order:
            sysm = systems[key]
            name = lab.s.name("start-%s-%d" % (key, r))
            healthy = {}

            def poll_health():
                while time.monotonic() < t0 + 180:
                    p = docker("inspect", "-f", "{{.State.Health.Status}}", name, check=False)
                    if p.stdout.strip() == "healthy":
                        healthy["t"] = time.monotonic()
                        return
                    time.sleep(0.1)

            t0 = time.monotonic()
            ip = lab.start(sysm, name)
            th = None
            if sysm.health:
                th = threading.Thread(target=poll_health, daemon=True)
                th.start()
            tb = read_banner(ip, t0 + 180, name)
            if th:
                th.join(190)
            b = tb - t0 if tb else None
            h = healthy["t"] - t0 if "t" in healthy else None
            tm = first_accepted(ip, t0 + 180) if sysm.ready_mail and tb else None
            m = tm - t0 if tm else None
            res[key]["banner_s"].append(b)
            res[key]["healthy_s"].append(h)
            res[key]["mail_s"].append(m)
            time.sleep(settle)
            mem = mem_usage_mb(name) if running(name) else None
            res[key]["idle_mem_mb"].append(mem)
            # and once the start-up work is over (rspamd compiles its regular
            # expressions after the banner): memory when the CPU is quiet
            quiet_s = wait_quiet(lab, name) if mem is not None else None
            qmem = mem_usage_mb(name) if quiet_s is not None and running(name) else None
            res[key]["quiet_mem_mb"].append(qmem)
            log("  %-8s rep %d: banner %s s, healthy %s s, mail %s s, idle %.1f MB, quiet %s MB" % (
                key, r + 1, "%.2f" % b if b else "FAILED", "%.2f" % h if h else "-",
                fmt(m, none="-"), mem or 0, fmt(qmem, "%.1f", "-")))
            docker("rm", "-f", "-v", name, timeout=120)
    for key in res:
        for m in ("banner_s", "healthy_s", "mail_s", "idle_mem_mb", "quiet_mem_mb"):
            res[key][m + "_median"] = median(res[key][m])
    return res


# --- 1: throughput ---------------------------------------------------------------------------

def count_and_newest(lab, container, maildir):
    out = lab.exec(container, "d=%s; [ -d $d ] || { echo 0 0; exit 0; }; "
                   "echo $(ls $d | wc -l) $(find $d -type f -printf '%%T@\\n' | sort -n | tail -n 1)"
                   % maildir, check=False).stdout.split()
    if len(out) < 2:
        return 0, 0.0
    return int(out[0]), float(out[1] or 0)


def one_run(lab, container, ip, sysm, n, sessions, size, deadline_s):
    """Send n messages; the time until the last one is in the maildir."""
    lab.exec(container, "[ -d %s ] && find %s -type f -delete; true" % (sysm.maildir, sysm.maildir))
    time.sleep(1)
    t0 = time.time()
    p = docker("exec", lab.client, "smtp-source", "-s", str(sessions), "-m", str(n),
               "-l", str(size), "-f", "from@client.test", "-t", "bench@example.com",
               ip + ":25", timeout=deadline_s, check=False)
    if p.returncode != 0:
        raise BenchError("smtp-source to %s: %s" % (sysm.key, (p.stderr or p.stdout).strip()[-400:]))
    last_incomplete = time.time()
    end_by = t0 + deadline_s
    while time.time() < end_by:
        polled = time.time()
        count, newest = count_and_newest(lab, container, sysm.maildir)
        if count >= n:
            # File times give the delivery end precisely; the last poll that saw
            # fewer files bounds it from below (Dovecot may set whole seconds).
            return max(newest, last_incomplete) - t0
        last_incomplete = polled
        time.sleep(0.25)
    raise BenchError("%s: %d of %d messages delivered within %ds" % (sysm.key, count, n, deadline_s))


def wait_quiet(lab, container, window=2.0, share=0.05, limit=180):
    """Wait until the container uses less than `share` of one core over `window`
    seconds (its start-up work done: rspamd compiles its regular expressions
    after Postfix answers). Returns the seconds waited, None after `limit`."""
    t0 = time.monotonic()
    c0 = cpu_seconds(lab, container)
    while c0 is not None and time.monotonic() - t0 < limit:
        time.sleep(window)
        c1 = cpu_seconds(lab, container)
        if c1 is None:
            break
        if c1 - c0 < share * window:
            return time.monotonic() - t0
        c0 = c1
    log("  %s: not quiet within %d s" % (container, limit))
    return None


def bench_throughput(lab, systems, reps, ns, k=100, sessions=20, size=4096):
    log("throughput: %d repetitions of %s; %d timed DATA for %s" % (reps, ", ".join(
        "%s (%d msgs)" % (key, ns[s.n_key]) for key, s in systems.items()), k,
        ", ".join(key for key in systems if key in FILTERS)))
    res = {}
    running = {}
    for key, sysm in systems.items():
        name = lab.s.name("tp-" + key)
        ip = lab.start(sysm, name)
        if read_banner(ip, time.monotonic() + 180, name) is None:
            raise BenchError("%s: no 220 banner within 180 s" % key)
        if sysm.health:
            deadline = time.monotonic() + 180
            while docker("inspect", "-f", "{{.State.Health.Status}}", name).stdout.strip() != "healthy":
                if time.monotonic() > deadline:
                    raise BenchError("%s: not healthy within 180 s" % key)
                time.sleep(0.5)
        if sysm.ready_mail and first_accepted(ip, time.monotonic() + 180) is None:
            raise BenchError("%s: no message accepted within 180 s" % key)
        running[key] = (name, ip)
        res[key] = {"messages": ns[sysm.n_key], "sessions": sessions, "size": size, "seconds": [],
                    "msgs_per_s": []}
        if key in FILTERS:
            res[key].update(latency_messages=k, latency_s=[])
    time.sleep(5)
    for key, sysm in systems.items():   # warm-up, not counted
        name, ip = running[key]
        wait_quiet(lab, name)
        n = max(10, ns[sysm.n_key] // 10)
        one_run(lab, name, ip, sysm, n, sessions, size, 120 + n)
        if key in FILTERS:
            try:
                timed_data(lab, name, ip, sysm, 5, size)
            except (BenchError, OSError, smtplib.SMTPException) as e:
                log("  %s warm-up latency FAILED: %s" % (key, e))
    keys = list(systems)
    for r in range(reps):
        order = keys[r % len(keys):] + keys[:r % len(keys)]
        for key in order:
            sysm = systems[key]
            name, ip = running[key]
            n = ns[sysm.n_key]
            try:
                secs = one_run(lab, name, ip, sysm, n, sessions, size, min(1800, 120 + n))
            except BenchError as e:
                log("  %s rep %d FAILED: %s" % (key, r + 1, e))
                secs = None
            res[key]["seconds"].append(secs)
            res[key]["msgs_per_s"].append(n / secs if secs else None)
            if secs:
                log("  %-8s rep %d: %d msgs in %.2f s = %.1f msgs/s" % (key, r + 1, n, secs, n / secs))
            if key in FILTERS and k:
                try:
                    lat = timed_data(lab, name, ip, sysm, k, size)
                except (BenchError, OSError, smtplib.SMTPException) as e:
                    log("  %s rep %d latency FAILED: %s" % (key, r + 1, e))
                    continue
                res[key]["latency_s"] += lat
                log("  %-8s rep %d: end of DATA p50 %.1f ms, p99 %.1f ms (%d msgs)" % (
                    key, r + 1, 1000 * percentile(lat, 0.5), 1000 * percentile(lat, 0.99), k))
    time.sleep(5)
    for key in keys:
        res[key]["seconds_median"] = median(res[key]["seconds"])
        res[key]["msgs_per_s_median"] = median(res[key]["msgs_per_s"])
        if "latency_s" in res[key]:
            lat = res[key]["latency_s"]
            res[key]["latency_p50_ms"] = 1000 * percentile(lat, 0.5) if lat else None
            res[key]["latency_p99_ms"] = 1000 * percentile(lat, 0.99) if lat else None
        res[key]["mem_after_mb"] = mem_usage_mb(running[key][0])
        docker("rm", "-f", "-v", running[key][0], timeout=120)
    return res


# --- 5: inbound authentication (full with AUTH_RESULTS=yes against =no) --------------------------

def data_latencies(ip, k, size=4096):
    """k messages, one session each, one after another: seconds from the end of
    the message (the final dot sent) to the reply to DATA."""
    body = ("x" * 75 + "\r\n") * (size // 77)
    out = []
    for i in range(k):
        msg = ("From: sender@client.test\r\nTo: bench@example.com\r\nSubject: latency %d\r\n"
               "Message-ID: <lat%d.%s@client.test>\r\n\r\n%s" % (i, i, secrets.token_hex(4), body))
        s = smtplib.SMTP(ip, 25, timeout=60)
        try:
            s.ehlo("client.bench")
            s.mail("from@client.test")
            s.rcpt("bench@example.com")
            code, _ = s.docmd("DATA")
            if code != 354:
                raise BenchError("DATA to %s: %d" % (ip, code))
            s.send(msg.encode() + b"\r\n.\r\n")
            t0 = time.monotonic()
            code, _ = s.getreply()
            out.append(time.monotonic() - t0)
            if code != 250:
                raise BenchError("end of DATA at %s: %d" % (ip, code))
        finally:
            s.quit()
    return out


def timed_data(lab, container, ip, sysm, k, size=4096, wait_s=300):
    """data_latencies of k messages into the emptied maildir, returned once all k
    are delivered: after-queue filters (amavis) still work on them after the
    reply and would take the CPU of the next timed run."""
    lab.exec(container, "find %s -type f -delete" % sysm.maildir, check=False)
    lat = data_latencies(ip, k, size)
    wait_until = time.monotonic() + wait_s
    while count_and_newest(lab, container, sysm.maildir)[0] < k:
        if time.monotonic() > wait_until:
            tail = docker("logs", "--tail", "4", container, check=False)
            raise BenchError("%s: the %d timed messages were not delivered in %d s; log: %s"
                             % (sysm.key, k, wait_s, (tail.stdout + tail.stderr).strip()[-600:]))
        time.sleep(0.5)
    return lat


def cpu_seconds(lab, container):
    """CPU time the container's processes used so far (cgroup v1 or v2)."""
    out = lab.exec(container, "f=/sys/fs/cgroup/cpuacct/cpuacct.usage; if [ -r $f ]; then echo 1e9 $(cat $f); "
                   "else echo 1e6 $(sed -n 's/^usage_usec //p' /sys/fs/cgroup/cpu.stat); fi",
                   check=False).stdout.split()
    return int(out[1]) / float(out[0]) if len(out) == 2 else None


def percentile(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))] if v else None


def bench_auth(lab, image, reps, n, k=100, sessions=20, size=4096):
    """Throughput and end-of-DATA latency of full with everything on against
    full with AUTH_RESULTS=no MTA_STS=no (none of the deliverability parts), started side by side (same run, same machine)."""
    box = {"MAIL_BOXES": "bench@example.com:bench/", "CLAMAV_FRESHCLAM": "no"}
    systems = {"full": System("full", image + ":full", box, "/var/mail/bench/new", True, clamdb=True),
               "full-noauth": System("full-noauth", image + ":full", dict(box, AUTH_RESULTS="no", MTA_STS="no"),
                                     "/var/mail/bench/new", True, clamdb=True)}
    log("auth: %d repetitions of full and full AUTH_RESULTS=no MTA_STS=no, %d msgs and %d timed DATA each"
        % (reps, n, k))
    res, running_ = {}, {}
    try:
        for key, sysm in systems.items():
            name = lab.s.name("auth-" + key)
            ip = lab.start(sysm, name)
            deadline = time.monotonic() + 180
            while docker("inspect", "-f", "{{.State.Health.Status}}", name).stdout.strip() != "healthy":
                if time.monotonic() > deadline:
                    raise BenchError("%s: not healthy within 180 s" % key)
                time.sleep(0.5)
            running_[key] = (name, ip)
            res[key] = {"messages": n, "msgs_per_s": [], "latency_s": [], "cpu_ms_per_msg": []}
        time.sleep(5)
        for key, sysm in systems.items():   # warm-up, not counted
            one_run(lab, running_[key][0], running_[key][1], sysm, max(10, n // 10), sessions, size, 240)
            timed_data(lab, running_[key][0], running_[key][1], sysm, 10, size)
        keys = list(systems)
        for r in range(reps):
            for key in keys[r % 2:] + keys[:r % 2]:
                name, ip = running_[key]
                cpu0 = cpu_seconds(lab, name)
                secs = one_run(lab, name, ip, systems[key], n, sessions, size, min(1800, 120 + n))
                cpu1 = cpu_seconds(lab, name)
                res[key]["msgs_per_s"].append(n / secs)
                if cpu0 is not None and cpu1 is not None:
                    res[key]["cpu_ms_per_msg"].append(1000 * (cpu1 - cpu0) / n)
                lat = timed_data(lab, name, ip, systems[key], k, size)
                res[key]["latency_s"] += lat
                log("  %-11s rep %d: %.1f msgs/s, %s ms CPU per msg, end of DATA p50 %.1f ms" % (
                    key, r + 1, n / secs, fmt((res[key]["cpu_ms_per_msg"] or [None])[-1], "%.1f"),
                    1000 * percentile(lat, 0.5)))
    finally:
        for name, _ in running_.values():
            docker("rm", "-f", "-v", name, timeout=120, check=False)
    for key in res:
        d = res[key]
        d["msgs_per_s_median"] = median(d["msgs_per_s"])
        d["cpu_ms_per_msg_median"] = median(d["cpu_ms_per_msg"])
        d["latency_p50_ms"] = 1000 * percentile(d["latency_s"], 0.5)
        d["latency_p99_ms"] = 1000 * percentile(d["latency_s"], 0.99)
    res["throughput_ratio"] = ratio(res["full"]["msgs_per_s_median"], res["full-noauth"]["msgs_per_s_median"])
    res["cpu_ratio"] = ratio(res["full"]["cpu_ms_per_msg_median"], res["full-noauth"]["cpu_ms_per_msg_median"])
    res["added_p50_ms"] = res["full"]["latency_p50_ms"] - res["full-noauth"]["latency_p50_ms"]
    res["added_p99_ms"] = res["full"]["latency_p99_ms"] - res["full-noauth"]["latency_p99_ms"]
    return res


# --- 4: configuration step ---------------------------------------------------------------------

def config_env(n):
    # Entries are short on purpose: one environment string may hold at most
    # MAX_ARG_STRLEN = 131072 bytes, so 10,000 addresses of 20 characters
    # (210 kB) cannot be passed at all. "u0000@x.io" is 10 characters.
    boxes = " ".join("u%04d@x.io" % i for i in range(n))
    aliases = " ".join("a%04d:u%04d@x.io" % (i, i) for i in range(max(1, n // 10)))
    return boxes, aliases


CONFIG_SCRIPT = r"""
printf '%s\n' '#!/bin/sh' 's=$(date +%s%N); /usr/sbin/postconf "$@"; rc=$?; e=$(date +%s%N)' \
  'echo "$* $s $e" >>/tmp/postconf.times; exit $rc' >/usr/local/sbin/postconf
chmod 755 /usr/local/sbin/postconf
s=$(date +%s%N); /usr/local/bin/mtactl config >/dev/null 2>&1; rc=$?; e=$(date +%s%N)
w=$(awk '$1 == "-h" && $2 == "mynetworks" { t += $4 - $3 } END { printf "%d", t }' /tmp/postconf.times)
echo "$rc $s $e $(wc -l </etc/postfix/virt-users) ${w:-0}"
"""


def bench_config(session, image, reps, sizes=(1, 1000, 5000, 10000)):
    log("config: %d repetitions of %s entries" % (reps, ", ".join(map(str, sizes))))
    res = {"sizes": list(sizes), "aliases": [max(1, n // 10) for n in sizes], "runs": {}}
    for n in sizes:
        res["runs"][str(n)] = {"inside_ms": [], "work_ms": [], "postconf_wait_ms": [],
                               "docker_run_ms": []}
    for r in range(reps):
        for n in sizes:
            boxes, aliases = config_env(n)
            common = ["run", "--rm", "--label", session.label, "--network", "none",
                      "--hostname", "mx1.x.io", "-e", "MAIL_BOXES=" + boxes,
                      "-e", "MAIL_ALIASES=" + aliases]
            # (a) the step alone, timed inside the container. A shim first in PATH
            # times each `postconf` run by mtactl (it runs the real one): right after
            # main.cf is written, `postconf -h mynetworks` waits until the file is
            # about a second old (Postfix guards against reading a file being
            # written), so the step's wall time has a 0..2 s wait that does not
            # depend on the input; "work" is the wall time without that run.
            p = docker(*(common + ["--entrypoint", "sh", image + ":mini", "-c", CONFIG_SCRIPT]),
                       timeout=120)
            fields = p.stdout.split()
            if len(fields) < 5:
                raise BenchError("mtactl config with %d mailboxes: %r" % (n, p.stdout + p.stderr))
            rc, s, e, lines, wait = fields[-5:]
            if rc != "0" or int(lines) != n:
                raise BenchError("mtactl config with %d mailboxes: rc %s, %s lines in virt-users"
                                 % (n, rc, lines))
            wall = (int(e) - int(s)) / 1e6
            res["runs"][str(n)]["inside_ms"].append(wall)
            res["runs"][str(n)]["postconf_wait_ms"].append(int(wait) / 1e6)
            res["runs"][str(n)]["work_ms"].append(wall - int(wait) / 1e6)
            # (b) the plain form of the brief, wall time of docker run
            t = time.monotonic()
            docker(*(common + ["--entrypoint", "/usr/local/bin/mtactl", image + ":mini", "config"]),
                   timeout=120)
            res["runs"][str(n)]["docker_run_ms"].append((time.monotonic() - t) * 1e3)
        log("  rep %d: %s" % (r + 1, ", ".join("%d: %.1f ms (work %.1f)" % (
            n, res["runs"][str(n)]["inside_ms"][-1], res["runs"][str(n)]["work_ms"][-1]) for n in sizes)))
    for n in sizes:
        d = res["runs"][str(n)]
        for m in ("inside_ms", "work_ms", "postconf_wait_ms", "docker_run_ms"):
            d[m + "_median"] = median(d[m])
    base = res["runs"][str(sizes[0])]
    for n in sizes[1:]:
        d = res["runs"][str(n)]
        d["net_work_ms"] = d["work_ms_median"] - base["work_ms_median"]
        d["per_1k_work_ms"] = d["net_work_ms"] / (n / 1000)
        d["net_wall_ms"] = d["inside_ms_median"] - base["inside_ms_median"]
        d["per_1k_wall_ms"] = d["net_wall_ms"] / (n / 1000)
        d["docker_run_net_ms"] = d["docker_run_ms_median"] - base["docker_run_ms_median"]
    # Linear scaling keeps ms per 1k entries constant: the ratio of each size's
    # per-1k time to the previous size's is then about 1.
    res["linearity"] = {str(n): ratio(res["runs"][str(n)]["per_1k_work_ms"],
                                      res["runs"][str(prev)]["per_1k_work_ms"])
                        for prev, n in zip(sizes[1:], sizes[2:])}
    return res


# --- report ------------------------------------------------------------------------------------

def fmt(v, spec="%.2f", none="n/a"):
    return none if v is None else spec % v


def target_line(name, value):
    op, limit = TARGETS[name]
    if value is None:
        ok = "not measured"
    else:
        met = {"<=": value <= limit, ">=": value >= limit, "<": value < limit}[op]
        ok = "met" if met else "NOT MET"
    return "  %-26s %10s  target %s %s  %s" % (name, fmt(value), op, limit, ok)


def report(results, machine):
    out = []
    w = out.append
    w("Machine: %s" % machine["description"])
    w("Run: %s, %d repetitions, medians" % (results["timestamp"], results["reps"]))
    tp = results.get("throughput")
    if tp:
        w("")
        w("Throughput (smtp-source, 20 sessions, 4 KB, until all delivered)")
        w("  %-9s %6s %9s %9s %9s" % ("system", "msgs", "seconds", "msgs/s", "ratio"))
        for k, ref in (("stock", None), ("mini", "stock"), ("base", "stock"),
                       ("textbook", None), ("full", "textbook"), ("rspamd", "textbook")):
            if k not in tp:
                continue
            d = tp[k]
            r = ratio(d["msgs_per_s_median"], tp[ref]["msgs_per_s_median"]) if ref and ref in tp else None
            w("  %-9s %6d %9s %9s %9s" % (k, d["messages"], fmt(d["seconds_median"]),
                                          fmt(d["msgs_per_s_median"], "%.1f"),
                                          (fmt(r) + " " + ref) if r else "-"))
        if "rspamd" in tp and "full" in tp:
            w("  rspamd/full: %s" % fmt(ratio(tp["rspamd"]["msgs_per_s_median"],
                                              tp["full"]["msgs_per_s_median"])))
        if "full" in tp and "stock" in tp:
            w("  full/stock (information): %s" % fmt(ratio(tp["full"]["msgs_per_s_median"],
                                                            tp["stock"]["msgs_per_s_median"]), "%.3f"))
        lat = [k for k in FILTERS if k in tp and "latency_s" in tp[k]]
        if lat:
            w("")
            w("End-of-DATA latency (final dot -> reply; %d messages per repetition, one session"
              % tp[lat[0]]["latency_messages"])
            w("  each, one after another from the host, after each throughput run)")
            w("  %-9s %7s %9s %9s %9s" % ("system", "msgs", "p50 ms", "p99 ms", "max ms"))
            for k in lat:
                d = tp[k]
                w("  %-9s %7d %9s %9s %9s" % (k, len(d["latency_s"]), fmt(d["latency_p50_ms"], "%.1f"),
                                               fmt(d["latency_p99_ms"], "%.1f"),
                                               fmt(1000 * max(d["latency_s"]) if d["latency_s"] else None,
                                                   "%.1f")))
    au = results.get("auth")
    if au:
        w("")
        w("Deliverability (full against full AUTH_RESULTS=no MTA_STS=no; latency: final dot -> DATA reply)")
        w("  %-11s %9s %11s %9s %9s" % ("system", "msgs/s", "CPU ms/msg", "p50 ms", "p99 ms"))
        for k in ("full-noauth", "full"):
            d = au[k]
            w("  %-11s %9s %11s %9s %9s" % (k, fmt(d["msgs_per_s_median"], "%.1f"),
                                            fmt(d["cpu_ms_per_msg_median"], "%.1f"),
                                            fmt(d["latency_p50_ms"], "%.1f"), fmt(d["latency_p99_ms"], "%.1f")))
        w("  throughput ratio %s, CPU per message ratio %s" % (fmt(au["throughput_ratio"], "%.3f"),
                                                               fmt(au["cpu_ratio"], "%.3f")))
        w("  added per message: p50 %s ms, p99 %s ms" % (fmt(au["added_p50_ms"], "%.1f"),
                                                        fmt(au["added_p99_ms"], "%.1f")))
    st = results.get("startup")
    if st:
        w("")
        w("Start-up (docker run -> first 220 banner / -> healthy, --health-interval=1s /")
        w("  -> first message accepted, before-queue filters only)")
        w("  %-9s %9s %9s %9s %9s" % ("system", "banner s", "vs stock", "healthy s", "mail s"))
        sb = st.get("stock", {}).get("banner_s_median")
        for k in SYSTEM_KEYS:
            if k in st:
                d = st[k]
                w("  %-9s %9s %9s %9s %9s" % (k, fmt(d["banner_s_median"]),
                                               fmt(ratio(d["banner_s_median"], sb)),
                                               fmt(d["healthy_s_median"], none="-"),
                                               fmt(d.get("mail_s_median"), none="-")))
    if st or tp:
        w("")
        w("Memory (docker stats MemUsage, MB; idle = %s s after ready, quiet = then once the"
          % fmt(results.get("settle"), "%g"))
        w("  container used < 5% of a core over 2 s)")
        w("  %-9s %9s %9s %9s %12s %9s" % ("system", "idle", "vs stock", "quiet", "after load",
                                            "vs stock"))
        for k in SYSTEM_KEYS:
            idle = st[k]["idle_mem_mb_median"] if st and k in st else None
            quiet = st[k].get("quiet_mem_mb_median") if st and k in st else None
            after = tp[k]["mem_after_mb"] if tp and k in tp else None
            si = st["stock"]["idle_mem_mb_median"] if st and "stock" in st else None
            sa = tp["stock"]["mem_after_mb"] if tp and "stock" in tp else None
            if idle is None and after is None:
                continue
            w("  %-9s %9s %9s %9s %12s %9s" % (k, fmt(idle, "%.1f"), fmt(ratio(idle, si)),
                                                fmt(quiet, "%.1f"), fmt(after, "%.1f"),
                                                fmt(ratio(after, sa))))
    cf = results.get("config")
    if cf:
        w("")
        w("Config step (mtactl config in a fresh container; wall = the whole step, work = wall")
        w("  without the `postconf -h mynetworks` run that waits for main.cf to age; the 1-entry")
        w("  run is subtracted for net and ms/1k; docker run = wall time of the plain command)")
        w("  %-9s %7s %9s %9s %9s %9s %9s %7s %10s" % ("mailboxes", "aliases", "wall ms", "wait ms",
                                                       "work ms", "net ms", "ms/1k", "vs prev",
                                                       "docker run"))
        for n, a in zip(cf["sizes"], cf["aliases"]):
            d = cf["runs"][str(n)]
            w("  %-9d %7d %9s %9s %9s %9s %9s %7s %10s" % (
                n, a, fmt(d["inside_ms_median"], "%.1f"), fmt(d["postconf_wait_ms_median"], "%.1f"),
                fmt(d["work_ms_median"], "%.1f"), fmt(d.get("net_work_ms"), "%.1f", "-"),
                fmt(d.get("per_1k_work_ms"), "%.2f", "-"),
                fmt(cf["linearity"].get(str(n)), "%.2f", "-"), fmt(d["docker_run_ms_median"], "%.0f")))
    sz = results.get("size")
    if sz:
        w("")
        w("Image size (docker image inspect .Size, MB = 1e6 bytes)")
        for k in SYSTEM_KEYS:
            if k in sz:
                w("  %-9s %8.1f  %s" % (k, sz[k] / 1e6, "%5.2fx stock" % (sz[k] / sz["stock"])
                                        if "stock" in sz else ""))
        if "rspamd" in sz and "full" in sz:
            w("  rspamd/full: %.2f" % (sz["rspamd"] / sz["full"]))
    w("")
    w("Targets")
    tpm = lambda k: tp[k]["msgs_per_s_median"] if tp and k in tp else None
    stm = lambda k: st[k]["idle_mem_mb_median"] if st and k in st else None
    w(target_line("throughput mini/stock", ratio(tpm("mini"), tpm("stock"))))
    w(target_line("throughput full/textbook", ratio(tpm("full"), tpm("textbook"))))
    w(target_line("throughput full auth/noauth", results["auth"]["throughput_ratio"]
                  if results.get("auth") else None))
    w(target_line("throughput rspamd/textbook", ratio(tpm("rspamd"), tpm("textbook"))))
    w(target_line("throughput rspamd/full", ratio(tpm("rspamd"), tpm("full"))))
    for k in ("mini", "base", "full", "rspamd"):
        w(target_line("idle memory %s MB" % k, stm(k)))
    for k in ("mini", "full"):
        w(target_line("image %s MB" % k, sz[k] / 1e6 if sz and k in sz else None))
    w(target_line("image rspamd/full", ratio(sz.get("rspamd"), sz.get("full")) if sz else None))
    c10 = cf["runs"]["10000"] if cf and "10000" in cf["runs"] else {}
    w(target_line("config 10k mailboxes ms", c10.get("inside_ms_median")))
    w(target_line("config 10k work ms", c10.get("work_ms_median")))
    return "\n".join(out)


def machine_info():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    dv = docker("version", "-f", "{{.Server.Version}}", check=False).stdout.strip()
    cores = os.cpu_count()
    return {"cores": cores, "cpu": cpu, "memory_gb": round(mem, 1), "kernel": platform.release(),
            "docker": dv, "description": "%d cores (%s), %.0f GB RAM, Linux %s, Docker %s" % (
                cores, cpu, mem, platform.release(), dv)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--image", default=os.environ.get("IMAGE") or "mta",
                    help="name of the images to test (default $IMAGE or mta)")
    ap.add_argument("--rspamd-image",
                    help="the rspamd image (default IMAGE:rspamd), e.g. another helper's build")
    ap.add_argument("--systems", default=",".join(SYSTEM_KEYS),
                    help="comma-separated systems of the throughput, start-up and size runs "
                         "(default all: %s)" % ",".join(SYSTEM_KEYS))
    ap.add_argument("--env", action="append", default=[], metavar="SYSTEM:VAR=VALUE",
                    help="change one variable of a system's container (an empty VALUE removes "
                         "VAR), e.g. to run an image built before a variable existed there")
    ap.add_argument("--latency-messages", type=int,
                    help="timed DATA per repetition for each filter system (default 100, "
                         "--quick 20; 0: none)")
    ap.add_argument("--base", default=os.environ.get("BASE") or "debian:bookworm-slim",
                    help="base image of the baselines")
    ap.add_argument("--reps", type=int, default=5, help="repetitions (default 5; medians)")
    ap.add_argument("--quick", action="store_true",
                    help="fewer messages (500, filters 50) for a fast check")
    ap.add_argument("--messages", type=int, help="messages per throughput run (default 2000)")
    ap.add_argument("--filter-messages", type=int,
                    help="messages per run through the content filters (default 200)")
    ap.add_argument("--only", default="throughput,startup,config,size,auth",
                    help="comma-separated: throughput,startup,config,size,auth (memory is "
                         "measured by startup and throughput)")
    ap.add_argument("--settle", type=float, default=5.0,
                    help="seconds between ready and the idle memory sample (default 5)")
    args = ap.parse_args()
    only = set(args.only.split(","))
    unknown = only - {"throughput", "startup", "config", "size", "memory", "auth"}
    if unknown:
        ap.error("unknown benchmark(s): " + ", ".join(sorted(unknown)))
    if "memory" in only:
        only |= {"startup", "throughput"}
    if args.reps < 1:
        ap.error("--reps must be at least 1")
    if args.reps < 5:
        log("warning: %d repetitions; the reported medians want at least 5" % args.reps)
    ns = {"n": args.messages or (500 if args.quick else 2000),
          "n_filter": args.filter_messages or (50 if args.quick else 200)}
    k_lat = args.latency_messages if args.latency_messages is not None else (20 if args.quick else 100)
    if k_lat < 0:
        ap.error("--latency-messages must be 0 or more")
    chosen = [k for k in args.systems.split(",") if k]
    bad = set(chosen) - set(SYSTEM_KEYS)
    if bad or not chosen:
        ap.error("--systems: unknown %s (expected some of %s)" % (
            ", ".join(sorted(bad)) or "(none given)", ",".join(SYSTEM_KEYS)))
    rspamd_image = args.rspamd_image or args.image + ":rspamd"
    env_changes = []
    for e in args.env:
        m = re.match(r"([a-z]+):([A-Z][A-Z0-9_]*)=(.*)$", e)
        if not m or m.group(1) not in SYSTEM_KEYS:
            ap.error("--env %r: expected SYSTEM:VAR=VALUE with SYSTEM one of %s"
                     % (e, ",".join(SYSTEM_KEYS)))
        env_changes.append(m.groups())

    def on_signal(signum, frame):
        raise Terminated()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    # mini is the load client and the config step's image; full runs the auth part
    needed = {args.image + ":mini"} | {systems_for(args.image, rspamd_image)[k].image
                                      for k in chosen if k not in ("stock", "textbook")}
    if "auth" in only:
        needed.add(args.image + ":full")
    for tag in sorted(needed):
        if docker("image", "inspect", tag, check=False).returncode:
            sys.exit("bench: image %s is missing (make images)" % tag)

    session = Session()
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    results = {"timestamp": stamp, "image": args.image, "rspamd_image": rspamd_image,
               "reps": args.reps, "messages": ns, "latency_messages": k_lat,
               "settle": args.settle, "session": session.prefix}
    rc = 0
    try:
        # the textbook stack is the stock baseline plus the filters
        for tag, d, base in ((STOCK_IMAGE, "stock", args.base), (TEXTBOOK_IMAGE, "textbook", STOCK_IMAGE),
                             (DNS_IMAGE, "dns", args.base)):
            ensure_built(tag, os.path.join(HERE, d), base)
        machine = machine_info()
        results["machine"] = machine
        systems = {k: v for k, v in systems_for(args.image, rspamd_image).items() if k in chosen}
        for key, var, value in env_changes:
            if key in systems:
                if value:
                    systems[key].env[var] = value
                else:
                    systems[key].env.pop(var, None)
        results["env_changes"] = ["%s:%s=%s" % c for c in env_changes]
        if "size" in only:
            results["size"] = {k: image_size(s.image) for k, s in systems.items()}
        if "config" in only:
            results["config"] = bench_config(session, args.image, args.reps)
        if only & {"startup", "throughput", "auth"}:
            lab = Lab(session, args.image)
            if "startup" in only:
                results["startup"] = bench_startup(lab, systems, args.reps, args.settle)
            if "throughput" in only:
                results["throughput"] = bench_throughput(lab, systems, args.reps, ns, k_lat)
            if "auth" in only:
                results["auth"] = bench_auth(lab, args.image, args.reps, ns["n_filter"])
    except (KeyboardInterrupt, Terminated):
        log("interrupted; removing what the run made")
        rc = 130
    except BenchError as e:
        log("FAILED: %s" % e)
        rc = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        session.cleanup()
    if rc:
        return rc
    table = report(results, results["machine"])
    results["table"] = table
    os.makedirs(RESULTS, exist_ok=True)
    written = []
    for part in ("throughput", "startup", "config", "size", "auth"):
        if part in results:
            path = os.path.join(RESULTS, "%s-%s.json" % (part, stamp))
            doc = {k: results[k] for k in ("timestamp", "image", "rspamd_image", "reps", "messages",
                                           "machine")}
            doc[part] = results[part]
            if part == "startup" and "throughput" in results:
                doc["memory_after_load_mb"] = {k: v["mem_after_mb"]
                                               for k, v in results["throughput"].items()}
            with open(path, "w") as f:
                json.dump(doc, f, indent=1)
            written.append(path)
    if "startup" in results or "throughput" in results:
        path = os.path.join(RESULTS, "memory-%s.json" % stamp)
        doc = {k: results[k] for k in ("timestamp", "image", "rspamd_image", "reps", "messages",
                                       "settle", "machine")}
        doc["memory_mb"] = {k: {
            "idle": results.get("startup", {}).get(k, {}).get("idle_mem_mb_median"),
            "idle_runs": results.get("startup", {}).get(k, {}).get("idle_mem_mb"),
            "quiet": results.get("startup", {}).get(k, {}).get("quiet_mem_mb_median"),
            "quiet_runs": results.get("startup", {}).get(k, {}).get("quiet_mem_mb"),
            "after_load": results.get("throughput", {}).get(k, {}).get("mem_after_mb")}
            for k in SYSTEM_KEYS if k in chosen}
        with open(path, "w") as f:
            json.dump(doc, f, indent=1)
        written.append(path)
    path = os.path.join(RESULTS, "bench-%s.json" % stamp)
    with open(path, "w") as f:
        json.dump(results, f, indent=1)
    written.append(path)
    print(table)
    log("results: " + ", ".join(os.path.relpath(p) for p in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
