"""Nothing is lost: while a client sends a bounded stream of messages, the
container is SIGKILLed at random points, restarted, or recreated on the same
/srv volume, or its filters crash. Every message the client got a 250 for
must afterwards be delivered (once; Postfix delivers at least once, so a
kill between a mailbox write and the queue update may duplicate, which is
counted and bounded by the number of kills), by the server alone: nobody
flushes the queue. The full image's faults also run with a resolver that
drops every query (the DNS peer frozen by `docker pause`). Counts are
printed for the notes. SOAK_MESSAGES / SOAK_FAULTS scale it up (`make soak`).
"""
import os
import random
import secrets
import smtplib
import threading
import time

import pytest

from dockerlib import (BANNER_TIMEOUT, DockerError, make_message, pause, read_banner, send_mail,
                       wait_for)
from fullpeers import fill_clamav_volume, start_dns

MESSAGES = int(os.environ.get("SOAK_MESSAGES", "60"))
FAULTS = int(os.environ.get("SOAK_FAULTS", "2"))
BOX = "/var/mail/soak/"


class Sender(threading.Thread):
    """Sends MESSAGES numbered messages, one per SMTP session; a refused or
    broken session is retried (bounded) after the server comes back."""

    def __init__(self, container, run_id, messages):
        super().__init__(daemon=True)
        self.container = container
        self.run_id = run_id
        self.messages = messages
        self.acked = []
        self.failures = 0

    def run(self):
        # 8 s a message, and each fault's container comes back within a banner timeout
        deadline = time.monotonic() + sender_seconds(self.messages)
        n = 0
        while n < self.messages and time.monotonic() < deadline:
            token = "soak-%s-%04d" % (self.run_id, n)
            msg = make_message("sender@client.test", ["soak@example.com"], token)
            try:
                with smtplib.SMTP(self.container.ip, 25, timeout=30) as s:
                    s.sendmail("sender@client.test", ["soak@example.com"], msg)
                self.acked.append(token)
                n += 1
            except (OSError, smtplib.SMTPException, DockerError):
                # down for the fault (no address while it is stopped): retry
                self.failures += 1
                time.sleep(0.5)


def sender_seconds(messages):
    return 60 + FAULTS * BANNER_TIMEOUT + messages * 8


def mailbox_tokens(c):
    """How many delivered messages carry each token (a token counts once per file)."""
    p = c.exec(["sh", "-c", "for f in %snew/* %scur/*; do [ -f \"$f\" ] && "
                "grep -ao 'soak-[0-9a-f]*-[0-9]*' \"$f\" | sort -u; done; true" % (BOX, BOX)],
               check=False)
    counts = {}
    for t in p.stdout.split():
        counts[t] = counts.get(t, 0) + 1
    return counts


def queue_empty(c):
    p = c.exec(["postqueue", "-p"], check=False)
    return "Mail queue is empty" in p.stdout


def queued_tokens(c):
    """Tokens of messages still queued (postcat of every queue file)."""
    p = c.exec(["sh", "-c", "for id in $(postqueue -j 2>/dev/null | sed -n 's/.*\"queue_id\": *\"\\([0-9A-F]*\\)\".*/\\1/p'); "
                "do postcat -q $id 2>/dev/null; done | grep -ao 'soak-[0-9a-f]*-[0-9]*' || true"], check=False)
    return set(p.stdout.split())


def fault(kind, c, mta_start, stage, env, volume):
    if kind == "kill":
        c.kill("KILL")
        c.start(wait_port=25)
        return c
    if kind == "restart":
        c.restart(wait=True)
        return c
    if kind in ("amavis-crash", "clamd-crash"):
        # The daemon dies mid-stream; init restarts it, mail waits meanwhile.
        pidfile = {"amavis-crash": "/run/amavis/amavisd.pid", "clamd-crash": None}[kind]
        cmd = ("kill -9 $(cat %s)" % pidfile) if pidfile else "kill -9 $(pidof clamd)"
        c.exec(["sh", "-c", cmd], check=False)
        return c
    if kind == "recreate":
        c.kill("KILL")
        c.rm()
        return mta_start(stage, env, {volume: "/srv"})
    raise AssertionError(kind)


def run_stream(mta, volume, stage, kind, extra_env=None, extra_args=(), volumes=None, messages=MESSAGES,
               clients=1, client_host=True):
    """clients: that many sessions at a time, as a peer with several
    connections; client_host=False: no /etc/hosts entry for the client, so
    the server asks the DNS for its name."""
    env = {"MAIL_BOXES": "soak@example.com:soak/", "SYSLOG_LEVEL": "5"}
    env.update(extra_env or {})
    vol = volume()
    more = dict(volumes or {})
    start = lambda stage, env, volumes: mta(stage=stage, env=env,  # noqa: E731
                                            volumes=dict(volumes, **more), extra_args=extra_args,
                                            client_host=client_host)
    c = start(stage, env, {vol: "/srv"})
    run_id = secrets.token_hex(3)
    rng = random.Random(run_id)
    senders = [Sender(c, "%s%x" % (run_id, i), messages // clients + (i < messages % clients))
               for i in range(clients)]
    for sender in senders:
        sender.start()

    def acked_count():
        return sum(len(x.acked) for x in senders)
    for _ in range(FAULTS):
        # A random point in the stream: after some acks, at a random delay.
        target = acked_count() + rng.randint(1, max(2, messages // (FAULTS + 1)))
        wait_for(lambda: acked_count() >= target or not any(x.is_alive() for x in senders),
                 timeout=180, interval=0.2, what="%d acknowledged messages" % target)
        time.sleep(rng.random() * 0.5)
        c = fault(kind, c, start, stage, env, vol)
        for sender in senders:
            sender.container = c
    for sender in senders:
        sender.join(timeout=sender_seconds(messages) + 30)
        assert not sender.is_alive(), "a sender did not finish"
    acked = [t for x in senders for t in x.acked]
    failures = sum(x.failures for x in senders)

    def all_delivered():
        return queue_empty(c) and set(acked) <= set(mailbox_tokens(c))
    try:
        wait_for(all_delivered, timeout=180 + messages * 2, interval=5,
                 what="every acknowledged message delivered")
    except AssertionError:
        pass  # counted below: lost ones fail the test with the numbers
    delivered = mailbox_tokens(c)
    queued = queued_tokens(c)
    lost = [t for t in acked if t not in delivered and t not in queued]
    duplicated = {t: n for t, n in delivered.items() if n > 1}
    print("\nreliability %s/%s: sent %d acknowledged %d delivered %d queued %d lost %d "
          "duplicated %d (faults %d, client retries %d)"
          % (stage, kind, messages, len(acked), len(set(acked) & set(delivered)),
             len(queued), len(lost), len(duplicated), FAULTS, failures))
    assert len(acked) == messages, "the client could not send them all: %d of %d" % (len(acked), messages)
    assert not queued, "still queued (nobody flushes the queue here): %s\n%s" % (
        sorted(queued)[:10], c.logs()[-3000:])
    assert not lost, "lost after %s: %s\n%s" % (kind, lost[:10], c.logs()[-3000:])
    assert len(duplicated) <= FAULTS, "more duplicates than faults: %s" % duplicated
    assert not set(delivered) - set(acked) - {t for t in delivered if not t.startswith("soak-" + run_id)}, \
        "delivered messages the client never got a 250 for"


@pytest.mark.parametrize("kind", ["kill", "restart", "recreate"])
def test_nothing_lost_mini(mta, volume, kind):
    run_stream(mta, volume, "mini", kind)


@pytest.fixture(params=["answering", "dropping"])
def dns(request, net, resources):
    """The test DNS (dnsmasq, no upstream), answering every query at once,
    or frozen (`docker pause`) so that every query goes unanswered."""
    peer = start_dns(net)
    resources.containers.append(peer)
    if request.param == "dropping":
        pause(peer.name)
    peer.dropping = request.param == "dropping"
    return peer


def resolver_args(dns):
    """With DNS dropping every query a session waits ~2 s for the client's
    name and ~4 s for SPF, and amavis ~3 s per message: four clients at a
    time and half the stream keep the suite's time in bounds."""
    if dns.dropping:
        return {"messages": max(12, MESSAGES // 2), "clients": 4, "client_host": False}
    return {}


@pytest.mark.parametrize("kind", ["kill", "restart", "recreate"])
def test_nothing_lost_full(mta, volume, dns, kind):
    # The whole content filter path (amavis + SpamAssassin); virus scanning
    # has its own tests, and a clamd without signatures would hold mail back.
    run_stream(mta, volume, "full", kind, {"CLAMAV_DAEMON": "no"}, ["--dns", dns.ip],
               **resolver_args(dns))


@pytest.mark.parametrize("kind", ["amavis-crash", "clamd-crash"])
def test_nothing_lost_filter_crash(mta, volume, dns, kind):
    clamav = volume()
    fill_clamav_volume(clamav)
    run_stream(mta, volume, "full", kind, {"CLAMAV_FRESHCLAM": "no"}, ["--dns", dns.ip],
               volumes={clamav: "/var/lib/clamav"}, **resolver_args(dns))


def test_second_container_on_a_volume_waits(mta, volume):
    """Two containers on one /srv (Swarm's start-first update with a
    per-slot queue volume): the second waits as a healthy standby, listens
    on nothing and writes nothing until the first stops, then starts on
    the first one's data; a standby that is stopped exits at once."""
    env = {"MAIL_BOXES": "soak@example.com:soak/"}
    vol = volume()
    first = mta("mini", env=env, volumes={vol: "/srv"})
    r = send_mail(first.ip, 25, "a@client.test", ["soak@example.com"], "before", "soak-5b-1")
    assert r["delivered"], r
    wait_for(lambda: "soak-5b-1" in mailbox_tokens(first), timeout=30,
             what="the first container's delivery")
    second = mta("mini", env=env, volumes={vol: "/srv"}, wait=False)
    wait_for(lambda: "another container is running on this volume" in second.logs(), timeout=30,
             what="the second container's standby line")
    health = second.exec(["mtactl", "health"], check=False)
    assert health.returncode == 0 and "standby" in health.stdout, health.stdout + health.stderr
    assert not second.file_exists("/run/mtactl/services"), "the standby started services"
    with pytest.raises(OSError):
        read_banner(second.ip, 25, timeout=3)
    spare = mta("mini", env=env, volumes={vol: "/srv"}, wait=False)
    wait_for(lambda: "another container is running on this volume" in spare.logs(), timeout=30,
             what="the spare's standby line")
    spare.stop(timeout=20)
    assert spare.exit_code() == 0 and "nothing was started" in spare.logs(), spare.logs()

    first.stop()
    second.wait_banner(25)
    assert "the volume is free after" in second.logs(), second.logs()
    r = send_mail(second.ip, 25, "a@client.test", ["soak@example.com"], "after", "soak-5b-2")
    assert r["delivered"], r
    wait_for(lambda: {"soak-5b-1", "soak-5b-2"} <= set(mailbox_tokens(second)),
             timeout=30, what="both messages in the shared mailbox")
    health = second.exec(["mtactl", "health"], check=False)
    assert "standby" not in health.stdout
