"""Online backup and restore (`mtactl backup`, `mtactl restore`) on the full image.

One scenario shared by the module (module-scoped fixture `run`): a full server
on volume A with Dovecot mailboxes (mbox over LMTP), a GTUBE message
quarantined (FINAL_SPAM_DESTINY=D_DISCARD) and its DKIM key made at first
start. 500 messages flow over four SMTP sessions at a time; a fifth of them
are for fwd@, an alias of a remote address whose relay refuses connections,
so they sit in the deferred queue. After 150 acknowledgements the backup runs
(`docker exec mx mtactl backup /backup/b1`, a backup volume on /backup) while
the senders go on. The backup is restored into a new volume B
(`docker run --rm ... mtactl restore`) and a new container started on it,
this time with a relay that answers. Checked: every message acknowledged
before the backup started is in the INBOX (IMAP) or, for the alias, reaches
the relay from the restored queue; the DKIM record and the quarantine listing
are the same; `--verify` passes and then names a changed file; restore into
a used volume and bad DIR arguments are refused with exit 100, nothing
changed. Counts (duplicates, queue size at backup) are printed for the notes.
"""
import re
import smtplib
import threading
import time

import pytest

from basepeers import imap_messages
from dockerlib import DockerError, docker, make_message, send_message, wait_for
from fullpeers import (FULL, LABEL, amavis_ls, gtube_message, make_volume, rm_volume,
                       start_dns, start_full, start_sink, token)

INFO = "info@example.com"
FWD = "fwd@example.com"
REMOTE = "remote@far.test"
PW = "Backup-pw-" + token()
MESSAGES = 500
SESSIONS = 4
PER_SESSION = 25            # messages per SMTP session
BACKUP_AFTER = 150          # acknowledgements before the backup starts
BK = "/backup/b1"


def server_env(relay, port):
    return {
        "MAIL_BOXES": INFO,
        "MAIL_ALIASES": "fwd:%s" % REMOTE,
        "VIRTUAL_TRANSPORT": "lmtp:unix:private/transport",
        "SMTPD_SASL_CLIENTAUTH": "%s:{PLAIN}%s" % (INFO, PW),
        "DOVECOT_DISABLE_PLAINTEXT_AUTH": "no",
        "RELAYHOST": "[%s]:%d" % (relay.name, port),
        "SMTP_TLS_SECURITY_LEVEL": "none",
        "FINAL_SPAM_DESTINY": "D_DISCARD",
        "CLAMAV_DAEMON": "no",
        "CLAMAV_FRESHCLAM": "no",
    }


def subjects(msgs):
    out = []
    for m in msgs:
        s = re.search(r"(?m)^Subject: (.*)$", m)
        if s:
            out.append(s.group(1).strip())
    return out


def inbox_subjects(c):
    return subjects(imap_messages(c.ip, 143, INFO, PW))


def wait_delivering(c):
    """Port 25 greets and a probe reaches the INBOX over IMAP."""
    c.wait_banner(25, timeout=120)
    probe = "probe-" + token()
    r = send_message(c.ip, make_message("probe@client.test", [INFO], probe), "probe@client.test", [INFO])
    assert r["error"] is None and r["data"][0] == 250, r

    def arrived():
        try:
            return probe in inbox_subjects(c)
        except (OSError, EOFError, AssertionError):
            return False     # Dovecot not up yet
    try:
        wait_for(arrived, timeout=150, interval=2, what="the probe in %s's INBOX" % c.name)
    except AssertionError as e:
        raise AssertionError("%s\nlogs:\n%s" % (e, c.logs()[-4000:])) from None


class Sender(threading.Thread):
    """Sends its share in sessions of PER_SESSION messages; notes each 250."""

    def __init__(self, ip, run_id, numbers, acked, lock):
        super().__init__(daemon=True)
        self.ip, self.run_id, self.numbers = ip, run_id, numbers
        self.acked, self.lock = acked, lock
        self.errors = []

    def run(self):
        deadline = time.monotonic() + 600
        todo = list(self.numbers)
        while todo and time.monotonic() < deadline:
            batch, todo = todo[:PER_SESSION], todo[PER_SESSION:]
            try:
                with smtplib.SMTP(self.ip, 25, timeout=60) as s:
                    for n in batch:
                        rcpt = FWD if n % 5 == 0 else INFO
                        subject = "bk-%s-%04d" % (self.run_id, n)
                        s.sendmail("sender@client.test", [rcpt],
                                   make_message("sender@client.test", [rcpt], subject))
                        with self.lock:
                            self.acked.append((subject, rcpt))
            except (OSError, smtplib.SMTPException) as e:
                self.errors.append(repr(e))
                return


def run_in_image(volumes, *cmd, timeout=180):
    """docker run --rm of the full image running cmd; (exit code, output)."""
    args = ["run", "--rm", "--label", LABEL, "--network", "none"]
    for src, dst in volumes.items():
        args += ["-v", "%s:%s" % (src, dst)]
    p = docker(*args, FULL, *cmd, check=False, merge=True, timeout=timeout)
    return p.returncode, p.stdout


def volume_state(vol):
    """A digest of everything on a volume: paths, sizes, modes, owners, mtimes, contents."""
    code, out = run_in_image({vol: "/srv"}, "sh", "-c",
                             "cd /srv && find . -printf '%p %s %m %u %T@\\n' | sort && "
                             "find . -type f -print0 | sort -z | xargs -0 sha256sum")
    assert code == 0, out
    return out


class Run:
    pass


@pytest.fixture(scope="module")
def run(net, net_gateway):
    r = Run()
    r.srv_a, r.srv_b, r.bk = make_volume(), make_volume(), make_volume()
    started = []
    dns = start_dns(net)
    relay = start_sink(net)
    started += [dns, relay]
    try:
        mx = start_full(net, net_gateway, server_env(relay, 2525), dns=dns.ip,
                        volumes={r.srv_a: "/srv", r.bk: "/backup"}, kind="full-bk-a")
        started.append(mx)
        r.mx = mx
        wait_delivering(mx)
        # one quarantined spam message, and the key made at the first start
        g = "gtube-" + token()
        res = send_message(mx.ip, gtube_message("spammer@client.test", INFO, g), "spammer@client.test", [INFO])
        assert res["error"] is None and res["data"][0] == 250, res
        wait_for(lambda: len(amavis_ls(mx)[1]) == 1, timeout=120, interval=1,
                 what="the GTUBE message in the quarantine")
        r.quarantine = amavis_ls(mx)[1]
        r.dkim = mx.exec(["mtactl", "dkim", "txt"]).stdout

        run_id = token()
        acked, lock = [], threading.Lock()
        senders = [Sender(mx.ip, run_id, range(i, MESSAGES, SESSIONS), acked, lock) for i in range(SESSIONS)]
        for s in senders:
            s.start()
        wait_for(lambda: len(acked) >= BACKUP_AFTER or not any(s.is_alive() for s in senders),
                 timeout=300, interval=0.1, what="%d acknowledged messages" % BACKUP_AFTER)
        with lock:
            r.before = list(acked)
        t0 = time.monotonic()
        p = mx.exec(["mtactl", "backup", BK], check=False, timeout=300)
        r.backup_seconds = time.monotonic() - t0
        r.backup_out = p.stdout + p.stderr
        r.backup_code = p.returncode
        with lock:
            r.during = len(acked) - len(r.before)
        for s in senders:
            s.join(timeout=600)
        r.sender_errors = [e for s in senders for e in s.errors]
        r.total_acked = len(acked)
        assert r.backup_code == 0, r.backup_out
        m = re.search(r"queue (\d+), mailbox (\d+), quarantine (\d+), dkim (\d+)", r.backup_out)
        assert m, r.backup_out
        r.counts = tuple(int(x) for x in m.groups())
        print("\nbackup: %.1f s, %d acknowledged before it, %d while it ran; %s"
              % (r.backup_seconds, len(r.before), r.during, r.backup_out.strip()))

        # restore into a fresh volume, start a server on it with a relay that answers
        t0 = time.monotonic()
        r.restore_code, r.restore_out = run_in_image({r.srv_b: "/srv", r.bk: "/backup"}, "mtactl", "restore", BK)
        r.restore_seconds = time.monotonic() - t0
        assert r.restore_code == 0, r.restore_out
        r.mx2 = start_full(net, net_gateway, server_env(relay, 25), dns=dns.ip,
                           volumes={r.srv_b: "/srv"}, kind="full-bk-b")
        started.append(r.mx2)
        r.relay = relay
        wait_delivering(r.mx2)
        yield r
    finally:
        for c in reversed(started):
            try:
                c.rm()
            except DockerError:
                pass
        for v in (r.srv_a, r.srv_b, r.bk):
            rm_volume(v)


def test_backup_ran_while_mail_flowed_and_the_queue_held_mail(run):
    assert run.counts[0] > 0, "no message in the queue at the backup: %s" % run.backup_out
    assert run.counts[2] == 1 and run.counts[3] == 1, run.backup_out   # quarantine, DKIM key
    assert run.during > 0, "no message was acknowledged while the backup ran"
    assert run.total_acked == MESSAGES, (run.total_acked, run.sender_errors)
    assert not run.sender_errors, run.sender_errors
    print("\nrestore: %.1f s: %s" % (run.restore_seconds, run.restore_out.strip()))


def test_every_message_acknowledged_before_the_backup_is_restored(run):
    local = [s for s, rcpt in run.before if rcpt == INFO]
    relayed = [s for s, rcpt in run.before if rcpt == FWD]
    assert local and relayed
    got = []

    def all_local():
        got[:] = inbox_subjects(run.mx2)
        return all(s in got for s in local)
    try:
        # those restored in the queue are delivered by the new server itself
        wait_for(all_local, timeout=180, interval=2, what="the restored INBOX")
    except AssertionError:
        missing = [s for s in local if s not in got]
        raise AssertionError("%d of %d messages not in the restored INBOX: %s\nqueue:\n%s" % (
            len(missing), len(local), missing[:10],
            run.mx2.exec(["postqueue", "-p"], check=False).stdout[-3000:])) from None
    dups = sum(got.count(s) - 1 for s in set(local))
    # the deferred ones are in the restored queue: sent on when asked to
    run.mx2.exec(["postqueue", "-f"])

    def at_relay():
        seen = subjects(m["data"] for m in run.relay.messages())
        return all(s in seen for s in relayed)
    try:
        wait_for(at_relay, timeout=180, interval=2, what="the restored queue at the relay")
    except AssertionError as e:
        seen = subjects(m["data"] for m in run.relay.messages())
        raise AssertionError("%s: missing %s\nqueue:\n%s" % (
            e, [s for s in relayed if s not in seen][:10],
            run.mx2.exec(["postqueue", "-p"], check=False).stdout[-3000:])) from None
    print("\nrestored: %d local messages (%d duplicates), %d relayed from the restored queue"
          % (len(local), dups, len(relayed)))


def test_dkim_key_and_quarantine_are_the_same(run):
    assert run.mx2.exec(["mtactl", "dkim", "txt"]).stdout == run.dkim
    assert amavis_ls(run.mx2)[1] == run.quarantine


def test_restored_queue_and_mailboxes_log_no_errors(run):
    """What restore could break: Postfix's queue files (owners, modes, names)
    and Dovecot's mailboxes (index files left out, rebuilt)."""
    rx = re.compile(r"postfix/\S+: (fatal|panic)|postfix/\S+: warning: .*(queue file|corrupt|Permission denied|owner)"
                    r"|dovecot\S*:.*\b(Error|Panic|Fatal):|mtactl \S+: (fatal|error)")
    bad = [ln for ln in run.mx2.logs().splitlines() if rx.search(ln)]
    assert not bad, "\n".join(bad[:20])


def test_verify_passes_then_names_a_changed_file(run):
    code, out = run_in_image({run.bk: "/backup"}, "mtactl", "backup", "--verify", BK)
    assert code == 0 and "verified" in out, out
    target = "%s/data/etc/postfix/main.cf" % BK
    code, out = run_in_image({run.bk: "/backup"}, "sh", "-c",
                             "cp -p %s /backup/saved && echo '# edited' >>%s && mtactl backup --verify %s"
                             % (target, target, BK))
    assert code == 1, out
    assert "%s: changed since the backup" % target in out, out
    # a backup that does not verify is not restored
    vol = make_volume()
    try:
        code, out = run_in_image({vol: "/srv", run.bk: "/backup"}, "mtactl", "restore", BK)
        assert code == 100 and "nothing restored" in out, out
    finally:
        rm_volume(vol)
        run_in_image({run.bk: "/backup"}, "mv", "/backup/saved", target)


def test_restore_into_a_used_volume_refuses_and_changes_nothing(run):
    run.mx.stop()
    before = volume_state(run.srv_a)
    code, out = run_in_image({run.srv_a: "/srv", run.bk: "/backup"}, "mtactl", "restore", BK)
    assert code == 100, out
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert len(lines) == 1 and "not a fresh volume" in lines[0] and "nothing changed" in lines[0], out
    assert volume_state(run.srv_a) == before


@pytest.mark.parametrize("args,expect", [
    (["backup", "b1"], "not an absolute path"),
    (["backup", "/srv/var/b1"], "inside /srv"),
    (["backup", "/"], "above /srv"),
    (["backup", BK], "is not empty"),
    (["backup", "/nonexistent/b1"], "does not exist"),
    (["backup"], "usage: mtactl backup"),
    (["backup", "--verify", "/backup/none"], "no readable manifest"),
    (["restore", "/backup/none"], "not a directory"),
    (["restore", "backup/b1"], "absolute path"),
])
def test_bad_dir_arguments(run, args, expect):
    code, out = run_in_image({run.bk: "/backup"}, "mtactl", *args)
    assert code == 100, (args, code, out)
    assert expect in out, (args, out)
