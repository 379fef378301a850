"""The log of a `full` start at the default level (SYSLOG_LEVEL=5): only
lines an operator needs, and an offline freshclam says so in one warning
per attempt.

One server, started with the ClamAV test database (EICAR only) on an
internal network whose DNS peer knows no ClamAV mirror, so freshclam runs
and fails the way it does on a host without internet. The test waits until
a clean message is delivered, sees the first freshclam attempt fail, makes
a second one happen (killing the updater: init restarts it, and it tries at
once), and then reads every line of `docker logs`. Last, it stops the
container while freshclam runs, which must be quick and clean.
"""
import re
import time

from dockerlib import docker, wait_for
from fullpeers import (SA_DNS_TEST_DOMAINS, cat, fill_clamav_volume, make_volume, start_dns,
                       start_full, wait_ready)

INFO = "info@example.com"
OFFLINE_WARNING = (r"mtactl freshclam: warning: update failed \(cannot resolve the database "
                   r"mirror's name\); next try in 5 min")

# Every line a start, a delivered message and this test's two restarts of
# the updater may print at the default level, and why an operator wants it.
EXPECTED = [
    # the DKIM key to publish (made at first start)
    r"mtactl config: made a \d+-bit DKIM key /var/db/dkim/\S+",
    # the configuration came from the environment (later starts keep it)
    r"mtactl config: configuration written from the environment; locking it",
    # the outbound TLS level (dane or may) and why, once per start
    r"mtactl init: outbound TLS: (?:dane|may)\b.*",
    # what started
    r"mtactl init: [\w-]+: down -> up \(pid \d+\)",
    # the test's kills of the updater, and init starting it again
    r"mtactl init: freshclam: up -> backoff \(signal 15\), restart in \d+ ms",
    r"mtactl init: freshclam: backoff -> up \(pid \d+\)",
    # mail that came while amavis started waited, and goes on now (test_field.py)
    r"mtactl filter-watch: \d+ messages? waited for the content filter, which answers now: .*",
    # amavis started, with which version, and that it scans with clamd
    r"mail\.notice amavis\[\d+\]: starting\. /usr/sbin/amavisd at \S+ amavis-[\d.]+ .*",
    r"mail\.notice amavis\[\d+\]: Using primary internal av scanner code for ClamAV-clamd",
    # amavis's verdict, one line per message (Blocked ones matter most)
    r"mail\.notice amavis\[\d+\]: \([\w-]+\) Passed CLEAN .*",
    # freshclam cannot update: the database will age (one line per attempt)
    OFFLINE_WARNING,
]
# Of those, the ones at warning level or above (only the offline freshclam).
EXPECTED_WARNINGS = [OFFLINE_WARNING]

SEVERE = re.compile(r"^(?:\w+\.(?:warning|err|crit|alert|emerg) |mtactl [\w-]+: (?:warning|fatal): )")


def service_pid(c, name):
    """The pid of an up service in init's status file, or None."""
    for line in cat(c, "/run/mtactl/services").splitlines():
        f = line.split()
        if len(f) >= 3 and f[0] == name and f[1] == "up" and f[2] != "0":
            return int(f[2])
    return None


def warnings_of(logs):
    return [ln for ln in logs.splitlines() if re.fullmatch(OFFLINE_WARNING, ln)]


def restart_updater(c):
    """Kills `mtactl freshclam` (SIGTERM); returns the pid init starts next."""
    old = service_pid(c, "freshclam")
    assert old, "freshclam is not up:\n" + cat(c, "/run/mtactl/services")
    c.exec(["kill", str(old)])

    def new_pid():
        pid = service_pid(c, "freshclam")
        return pid if pid and pid != old else None
    return wait_for(new_pid, timeout=30, interval=0.5, what="freshclam restarted by init")


def test_default_level_start_is_quiet_and_offline_freshclam_warns_once_per_attempt(
        net, net_gateway, resources):
    dns = start_dns(net, addresses={d: "192.0.2.53" for d in SA_DNS_TEST_DOMAINS})
    resources.containers.append(dns)
    vol = make_volume()
    resources.volumes.append(vol)
    fill_clamav_volume(vol)
    c = start_full(net, net_gateway, {"MAIL_BOXES": INFO}, volumes={vol: "/var/lib/clamav"},
                   dns=dns.ip, kind="full-logs")
    resources.containers.append(c)

    wait_ready(c, INFO)
    # attempt 1, at start
    wait_for(lambda: len(warnings_of(c.logs())) >= 1, timeout=120, interval=1,
             what="the first freshclam warning")
    # attempt 2: the restarted updater tries at once
    restart_updater(c)
    wait_for(lambda: len(warnings_of(c.logs())) >= 2, timeout=120, interval=1,
             what="the second freshclam warning")
    time.sleep(3)   # anything a third line of an attempt would take to show
    logs = c.logs()
    lines = [ln for ln in logs.splitlines() if ln.strip()]
    print("\n%d lines at the default level:\n%s" % (len(lines), logs))

    assert "No ext program" not in logs and "No decoder" not in logs, logs
    assert len(warnings_of(logs)) == 2, "not one warning per freshclam attempt:\n" + logs
    assert not re.search(r"(?m)freshclam\[\d+\]|ERROR", logs), \
        "freshclam's own lines (ERROR, WARNING) at the default level:\n" + logs
    severe = [ln for ln in lines if SEVERE.match(ln)]
    unexpected = [ln for ln in severe if not any(re.fullmatch(p, ln) for p in EXPECTED_WARNINGS)]
    assert not unexpected, "unexpected lines at warning level or above:\n%s\n\nlog:\n%s" % (
        "\n".join(unexpected), logs)
    noise = [ln for ln in lines if not any(re.fullmatch(p, ln) for p in EXPECTED)]
    assert not noise, "lines an operator does not need at the default level:\n%s\n\nlog:\n%s" % (
        "\n".join(noise), logs)

    # Stopping while freshclam runs: SIGTERM ends the updater and freshclam at once.
    restart_updater(c)
    wait_for(lambda: "/usr/bin/freshclam --stdout" in c.exec(["ps", "-eo", "args"]).stdout,
             timeout=20, interval=0.2, what="a freshclam run")
    t0 = time.monotonic()
    docker("stop", "-t", "10", c.name, timeout=60)
    took = time.monotonic() - t0
    after = c.logs()
    assert c.exit_code() == 0, after[-3000:]
    assert "freshclam: up -> stopping" in after and "all services stopped" in after, after[-3000:]
    assert not re.search(r"did not stop in time|sending SIGKILL", after), after[-3000:]
    assert took < 8, "docker stop took %.1f s:\n%s" % (took, after[-3000:])
