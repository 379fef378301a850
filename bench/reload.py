#!/usr/bin/python3
"""Live reload of a 10,000-mailbox MAIL_BOXES_FILE (`make bench-reload`, also
part of `make bench`).

One ${IMAGE}:base container on an internal network of its own, its list
files in a host directory bind-mounted on /lists: 10,000 mailboxes, 1,000
aliases, 1,000 submission logins. Each repetition adds one mailbox by a
rename into place (as an orchestrator does) and measures:

  work      the reload's own figure, "... in N ms" of its log line
            (validation of the whole environment, rendering, postmap,
            atomic rename; target: under 1 s)
  applied   host rename -> RCPT TO the new mailbox answered 250 (polled
            every 50 ms): what a sender sees, the watcher's 300 ms settling
            time and Postfix noticing the table included
  noop      `mtactl config --reload` by hand with nothing changed, timed
            inside the container (the cost of a SIGHUP)

Baseline of the same run: `postmap` of the same 10,000-line table inside the
same container (the part no reload can avoid); the report gives work/postmap.
Writes bench/results/reload-<timestamp>.json. Standard library and the
docker CLI only; everything carries the bench label and is removed at the end.
"""
import argparse
import datetime
import json
import os
import re
import shutil
import smtplib
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import RESULTS, BenchError, Session, docker, ip_of, log, median  # noqa: E402

WORK_RE = re.compile(r"mtactl reload: MAIL_BOXES_FILE: (\d+) mailboxes \(\+1 -0 ~0\).* in (\d+) ms")
TARGET_MS = 1000


def write_replace(path, text):
    tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def rcpt(ip, address):
    s = smtplib.SMTP(timeout=10)
    try:
        s.connect(ip, 25)
        s.ehlo("bench.test")
        s.mail("bench@bench.test")
        return s.docmd("RCPT TO:<%s>" % address)[0]
    finally:
        try:
            s.quit()
        except (smtplib.SMTPException, OSError):
            s.close()


def wait_banner(ip, deadline):
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((ip, 25), timeout=3) as c:
                if c.recv(512).startswith(b"220"):
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise BenchError("no 220 banner from %s" % ip)


def inside_ms(container, script):
    p = docker("exec", container, "sh", "-c",
               's=$(date +%%s%%N); %s >/dev/null 2>&1; rc=$?; e=$(date +%%s%%N); echo "$rc $s $e"' % script,
               timeout=120)
    rc, s, e = p.stdout.split()[-3:]
    if rc != "0":
        raise BenchError("%s: exit %s" % (script, rc))
    return (int(e) - int(s)) / 1e6


def bench(image, reps, n):
    session = Session()
    root = tempfile.mkdtemp(prefix="mta-bench-reload-")
    try:
        os.chmod(root, 0o755)
        boxes = ["u%05d@example.com" % i for i in range(n)]
        path = os.path.join(root, "boxes")
        write_replace(path, "\n".join(boxes) + "\n")
        write_replace(os.path.join(root, "aliases"),
                      "\n".join("a%05d@example.com:u%05d@example.com" % (i, i) for i in range(n // 10)) + "\n")
        write_replace(os.path.join(root, "clientauth"),
                      "\n".join("u%05d@example.com:{PLAIN}pw%05d" % (i, i) for i in range(n // 10)) + "\n")
        net = session.network("reload")
        name = session.name("reload")
        docker("run", "-d", "--name", name, "--label", session.label, "--network", net,
               "--hostname", "mx1.example.com", "-e", "MAIL_DOMAIN=example.com",
               "-e", "MAIL_BOXES_FILE=/lists/boxes", "-e", "MAIL_ALIASES_FILE=/lists/aliases",
               "-e", "SMTPD_SASL_CLIENTAUTH_FILE=/lists/clientauth", "-v", "%s:/lists:ro" % root,
               image + ":base")
        ip = ip_of(name, net)
        wait_banner(ip, time.monotonic() + 120)
        res = {"mailboxes": n, "aliases": n // 10, "logins": n // 10, "reps": reps,
               "work_ms": [], "applied_ms": [], "noop_ms": [], "postmap_ms": []}
        for r in range(reps):
            new = "added%02d@example.com" % r
            if rcpt(ip, new) != 550:
                raise BenchError("%s accepted before it was added" % new)
            mark = len(docker("logs", name).stderr.splitlines())
            boxes.append(new)
            t0 = time.monotonic()
            write_replace(path, "\n".join(boxes) + "\n")
            applied = None
            while time.monotonic() - t0 < 30:
                if rcpt(ip, new) == 250:
                    applied = (time.monotonic() - t0) * 1000
                    break
                time.sleep(0.05)
            if applied is None:
                raise BenchError("%s not accepted 30 s after the change" % new)
            work = None
            for _ in range(50):
                lines = docker("logs", name).stderr.splitlines()[mark:]
                hits = [WORK_RE.search(l) for l in lines]
                hits = [h for h in hits if h]
                if hits:
                    if int(hits[0].group(1)) != len(boxes):
                        raise BenchError("reload counted %s mailboxes, expected %d" % (hits[0].group(1), len(boxes)))
                    work = float(hits[0].group(2))
                    break
                time.sleep(0.2)
            if work is None:
                raise BenchError("no reload line for %s" % new)
            res["work_ms"].append(work)
            res["applied_ms"].append(applied)
            res["noop_ms"].append(inside_ms(name, "/usr/local/bin/mtactl config --reload"))
            res["postmap_ms"].append(inside_ms(
                name, "cp /etc/postfix/virt-users /tmp/bench-users && postmap lmdb:/tmp/bench-users"))
            log("reload rep %d: work %.0f ms, applied %.0f ms, noop %.0f ms, postmap %.0f ms"
                % (r + 1, work, applied, res["noop_ms"][-1], res["postmap_ms"][-1]))
        for k in ("work_ms", "applied_ms", "noop_ms", "postmap_ms"):
            res[k + "_median"] = median(res[k])
        res["work_vs_postmap"] = res["work_ms_median"] / res["postmap_ms_median"]
        res["target_work_ms"] = TARGET_MS
        res["met"] = res["work_ms_median"] < TARGET_MS
        return res
    finally:
        session.cleanup()
        shutil.rmtree(root, ignore_errors=True)


def report(res):
    out = ["Live reload of MAIL_BOXES_FILE (%d mailboxes, %d aliases, %d logins; +1 mailbox a rep, "
           "median of %d)" % (res["mailboxes"], res["aliases"], res["logins"], res["reps"]),
           "  %-44s %8.0f ms" % ("work (the reload's own figure)", res["work_ms_median"]),
           "  %-44s %8.0f ms" % ("applied (rename -> RCPT 250, settle included)", res["applied_ms_median"]),
           "  %-44s %8.0f ms" % ("noop (config --reload, nothing changed)", res["noop_ms_median"]),
           "  %-44s %8.0f ms" % ("baseline: postmap of the same table", res["postmap_ms_median"]),
           "  %-44s %8.2fx" % ("work / postmap", res["work_vs_postmap"]),
           "  target: work < %d ms: %s" % (res["target_work_ms"], "met" if res["met"] else "NOT met")]
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--image", default=os.environ.get("IMAGE", "mta"))
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--mailboxes", type=int, default=10000)
    a = ap.parse_args()
    try:
        res = bench(a.image, a.reps, a.mailboxes)
    except BenchError as e:
        log("reload: %s" % e)
        return 1
    text = report(res)
    print(text)
    os.makedirs(RESULTS, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    with open(os.path.join(RESULTS, "reload-%s.json" % stamp), "w") as f:
        json.dump(dict(res, table=text), f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
