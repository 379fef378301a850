"""Docker Swarm: the real deploy/swarm/stack.yml on this engine.

The module joins a swarm only when the engine is in none (and leaves it at
the end only then), deploys the stack under a unique name, and checks:
- `docker stack config` accepts the unmodified file;
- one queue volume per mx slot;
- 1,000 messages through lb:25 over 10 sessions while one mx task's container
  is killed twice (Swarm restarts it on its slot's volume): every message
  acknowledged with 250 is read back over IMAPS through lb, none lost;
  duplicates counted and printed;
- `docker service update --image` of mx (a second tag of the same image)
  while traffic flows: no 4xx/5xx reply, no message lost; connection errors
  are reported apart.
Everything the module made (stack, secrets, volumes, networks, the client,
the extra tag, the swarm if it made one) is removed at the end.
"""
import copy
import json
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
import yaml

from basepeers import ensure_image
from dockerlib import (IMAGE, LABEL, PEER_IMAGE, SESSION, docker, ensure_peer_image,
                       wait_for)
from fullpeers import DNS_DIR, DNS_IMAGE

# One worker group of its own: the stack takes the machine's two cores for minutes.
pytestmark = pytest.mark.xdist_group("test_swarm.py")

ROOT = Path(__file__).resolve().parents[2]
STACK_DIR = ROOT / "deploy" / "swarm"
LOADER = Path(__file__).resolve().parent / "swarmload.py"
STACK = SESSION + "sw"
USERS = ("alice", "bob", "carol", "dave")
RCPTS = ["%s@example.com" % u for u in USERS]
MESSAGES = int(os.environ.get("SWARM_MESSAGES", "1000"))
SESSIONS = 10
# Paced so that the load outlasts two kills and restarts of an mx task.
RATE = float(os.environ.get("SWARM_RATE", "15"))
LB = "lb"
# The test's DNS server: outside the range Swarm hands out (NET_RANGE).
NET_RANGE = "10.89.0.0/25"
DNS_IP = "10.89.0.250"
SECRETS = ("ldap_bind_pw", "tls_cert", "tls_key", "dkim_key", "rspamd_password")


def env_for_stack():
    return dict(os.environ, STACK_NAME=STACK, MX_IMAGE="%s:rspamd" % IMAGE,
                STORE_IMAGE="%s:base" % IMAGE, LB_IMAGE="%s-lb" % IMAGE, LDAP_IMAGE="%s-ldap" % IMAGE)


def run(*cmd, timeout=120, check=True, env=None):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout, env=env)
    if check and p.returncode != 0:
        raise AssertionError("exit %d: %s\n%s%s" % (p.returncode, " ".join(cmd), p.stdout, p.stderr))
    return p


def adapted_stack():
    """The stack file as this machine must run it. Changed here, and only
    here: no published host ports (25, 143... of this machine belong to
    others, and tests reach only containers they started): the client is a
    container on the stack's network instead, which therefore is `internal`
    (no way out) and `attachable`, made by the test beforehand (external
    here) so that the test's DNS server can sit on it at a fixed address:
    every service asks it (Docker's embedded DNS still answers the service
    names and forwards the rest there), and it answers NXDOMAIN at once,
    where the internal network would make each SPF or RBL lookup wait for
    time-outs; config files by absolute path (the file is written
    elsewhere); clamd off in mx (no signature database can be downloaded
    here, and three of them would not fit beside the rest on two cores);
    the health checks every 3 s and the update monitor 10 s (the test waits
    for them; the values in the file are for production)."""
    stack = yaml.safe_load((STACK_DIR / "stack.yml").read_text())
    s = copy.deepcopy(stack)
    s["services"]["lb"].pop("ports")
    s["networks"]["backend"] = {"external": True, "name": "%s_backend" % STACK}
    for svc in s["services"].values():
        svc["dns"] = [DNS_IP]
    for c in s["configs"].values():
        c["file"] = str(STACK_DIR / c["file"])
    mx = s["services"]["mx"]
    mx["environment"].update(CLAMAV_DAEMON="no", CLAMAV_FRESHCLAM="no")
    for name in ("mx", "store"):
        s["services"][name]["healthcheck"].update(interval="3s", start_period="180s")
    mx["deploy"]["update_config"].update(monitor="10s", delay="2s")
    return stack, s


def stack_containers(service, all_states=False):
    args = ["ps", "-q", "--filter", "label=com.docker.swarm.service.name=%s_%s" % (STACK, service)]
    if all_states:
        args.insert(1, "-a")
    return docker(*args).stdout.split()


def slot_of(cid):
    return docker("inspect", "-f", '{{index .Config.Labels "com.docker.swarm.task.name"}}', cid).stdout.strip().split(".")[1]


def healthy(cid):
    p = docker("inspect", "-f", "{{.State.Health.Status}}", cid, check=False)
    return p.returncode == 0 and p.stdout.strip() == "healthy"


class Client:
    """A container on the stack's network running swarmload.py."""

    def __init__(self, network):
        self.name = SESSION + "-swclient"
        docker("run", "-d", "--name", self.name, "--label", LABEL, "--network", network,
               "--entrypoint", "sleep", PEER_IMAGE, "900")
        docker("cp", str(LOADER), "%s:/usr/local/bin/swarmload.py" % self.name)

    def lb_up(self, backend):
        """The number of servers haproxy sees UP in backend (its stats page)."""
        code = ("import urllib.request as u;"
                "t=u.urlopen('http://%s:8404/stats;csv',timeout=5).read().decode();"
                "r=[l.split(',') for l in t.splitlines()];"
                "print(sum(1 for f in r if f[0]=='%s' and f[1] not in ('BACKEND','FRONTEND') and f[17]=='UP'))"
                % (LB, backend))
        p = docker("exec", self.name, "python3", "-c", code, check=False, timeout=30)
        return int(p.stdout.strip()) if p.returncode == 0 and p.stdout.strip().isdigit() else 0

    def send(self, first, count, rate, deadline):
        """Starts the load; returns (Popen, progress) where progress holds the
        newest JSON line (a thread reads them)."""
        p = subprocess.Popen(["docker", "exec", "-i", self.name, "python3", "-u",
                              "/usr/local/bin/swarmload.py", "send", LB, "25", str(first),
                              str(count), str(SESSIONS), str(rate), str(deadline)] + RCPTS,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        progress = {"acked": 0}

        def reader():
            for line in p.stdout:
                try:
                    progress.update(json.loads(line))
                except ValueError:
                    pass
        t = threading.Thread(target=reader, daemon=True)
        t.start()
        return p, progress, t

    def mailboxes(self, what="imap"):
        """{user: [Message-ID...]} of every mailbox; with what="count" the
        number of messages in all of them."""
        creds = ["%s:%s-example-pw" % (u, u) for u in USERS]
        p = docker("exec", self.name, "python3", "/usr/local/bin/swarmload.py", what, LB, "993",
                   *creds, timeout=120)
        return json.loads(p.stdout)


def finish(p, progress, thread, timeout):
    try:
        p.stdin.write("stop\n")
        p.stdin.close()
    except OSError:
        pass
    p.wait(timeout=timeout)
    thread.join(timeout=10)
    assert progress.get("done"), "the load did not report its end: %r" % progress
    return progress


def delivered(client):
    """{message number: times seen} over every mailbox."""
    seen = {}
    for ids in client.mailboxes().values():
        for mid in ids:
            if mid.startswith("<swarm-"):
                n = int(mid[len("<swarm-"):].split("@")[0])
                seen[n] = seen.get(n, 0) + 1
    return seen


def wait_delivered(client, acked, timeout=180):
    end = time.monotonic() + timeout
    seen = {}
    while time.monotonic() < end:
        seen = delivered(client)
        if not set(acked) - set(seen):
            break
        time.sleep(5)
    return seen


def join_swarm():
    """True when this call made the swarm, False when the engine was in one;
    None when the engine cannot run one (the reason in the second value)."""
    info = docker("info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}").stdout.split()
    if info[0] != "active":
        global MADE_GWBRIDGE
        MADE_GWBRIDGE = docker("network", "inspect", "docker_gwbridge", check=False).returncode != 0
        p = docker("swarm", "init", "--advertise-addr", "127.0.0.1", check=False, timeout=90)
        if p.returncode != 0:
            return None, "this Docker engine cannot run a swarm: %s" % (p.stderr or p.stdout).strip()
        return True, ""
    if info[1:] != ["true"]:
        return None, "this engine is a swarm worker, not a manager: cannot deploy a stack"
    return False, ""


MADE_GWBRIDGE = False


def leave_swarm():
    """Leaves the swarm join_swarm() made, and removes the docker_gwbridge
    network that the swarm made, so the engine is as it was found."""
    docker("swarm", "leave", "--force", check=False, timeout=90)
    if MADE_GWBRIDGE:
        docker("network", "rm", "docker_gwbridge", check=False)


def deploy(made, mx_replicas=3):
    """Deploys the adapted stack STACK with test secrets and starts the
    client; fills `made` (what remove() takes away) as it goes. Returns the
    client once haproxy sees every mx and the store UP."""
    for ref in ("%s:rspamd" % IMAGE, "%s:base" % IMAGE):
        if docker("image", "inspect", ref, check=False).returncode:
            raise AssertionError("image %s is missing: build it first (make images)" % ref)
    ensure_peer_image()
    # The lb and ldap images, as `make swarm-up` builds them.
    for kind in ("lb", "ldap"):
        docker("build", "-q", "-t", "%s-%s" % (IMAGE, kind), str(ROOT / "deploy" / kind), timeout=600)
    made["tmp"] = tempfile.TemporaryDirectory()
    d = Path(made["tmp"].name)
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=test-swarm.example.com", "-keyout", str(d / "tls_key"),
        "-out", str(d / "tls_cert"))
    run("openssl", "genrsa", "-out", str(d / "dkim_key"), "2048")
    (d / "ldap_bind_pw").write_text("test-ldap-" + SESSION)
    (d / "rspamd_password").write_text("test-rspamd-" + SESSION)
    made["secrets"] = []
    for s in SECRETS:
        docker("secret", "create", "--label", LABEL, "%s_%s" % (STACK, s), str(d / s))
        made["secrets"].append("%s_%s" % (STACK, s))
    stack, adapted = adapted_stack()
    subnet = stack["networks"]["backend"]["ipam"]["config"][0]["subnet"]
    net = "%s_backend" % STACK
    docker("network", "create", "--driver", "overlay", "--attachable", "--internal",
           "--subnet", subnet, "--ip-range", NET_RANGE, "--label", LABEL, net)
    made["network"] = net
    ensure_image(DNS_IMAGE, DNS_DIR)
    made["dns"] = SESSION + "-swdns"
    docker("run", "-d", "--name", made["dns"], "--label", LABEL, "--network", net, "--ip", DNS_IP,
           DNS_IMAGE)
    adapted["services"]["mx"]["deploy"]["replicas"] = mx_replicas
    f = d / "stack.yml"
    f.write_text(yaml.safe_dump(adapted))
    made["stack"] = True
    run("docker", "stack", "deploy", "-c", str(f), STACK, env=env_for_stack(), timeout=180)
    client = made["client"] = Client(net)
    wait_for(lambda: client.lb_up("mx_smtp") == mx_replicas and client.lb_up("store_imaps") == 1,
             timeout=300, interval=3, what="%d mx and the store UP in haproxy" % mx_replicas)
    return client


def remove(made):
    """Removes what deploy() made: stack, client, secrets, volumes, network, files."""
    if made.get("stack"):
        run("docker", "stack", "rm", STACK, check=False, timeout=120)
        wait_for(lambda: not docker("ps", "-aq", "--filter",
                                    "label=com.docker.stack.namespace=" + STACK).stdout.split(),
                 timeout=120, interval=2, what="the stack's containers gone")
    if made.get("client"):
        docker("rm", "-f", made["client"].name, check=False)
    if made.get("dns"):
        docker("rm", "-f", made["dns"], check=False)
    for s in made.get("secrets", ()):
        docker("secret", "rm", s, check=False)
    vols = docker("volume", "ls", "-q", "--filter", "label=com.docker.stack.namespace=" + STACK).stdout.split()
    if vols:
        docker("volume", "rm", "-f", *vols, check=False)
    # The overlay network may outlive its last task by a few seconds.
    for _ in range(15):
        if docker("network", "inspect", "%s_backend" % STACK, check=False).returncode:
            break
        docker("network", "rm", "%s_backend" % STACK, check=False)
        time.sleep(2)
    for tag in made.get("tags", ()):
        docker("rmi", tag, check=False)
    if made.get("tmp"):
        made["tmp"].cleanup()


@pytest.fixture(scope="module")
def swarm():
    made, reason = join_swarm()
    if made is None:
        pytest.skip(reason)
    try:
        yield
    finally:
        if made:
            leave_swarm()


@pytest.fixture(scope="module")
def stack(swarm):
    made = {}
    try:
        client = deploy(made)
        tag2 = "%s:rspamd-%s" % (IMAGE, SESSION)
        made["tags"] = [tag2]
        yield {"client": client, "tag2": tag2}
    finally:
        remove(made)


def test_stack_config_validates_unmodified_file(swarm):
    p = run("docker", "stack", "config", "-c", str(STACK_DIR / "stack.yml"), check=False,
            env=env_for_stack())
    assert p.returncode == 0, p.stderr
    cfg = yaml.safe_load(p.stdout)
    assert cfg["services"]["mx"]["deploy"]["replicas"] == 3
    assert cfg["services"]["mx"]["deploy"]["update_config"]["order"] == "start-first"
    assert all(port["mode"] == "host" for port in cfg["services"]["lb"]["ports"])


def test_one_queue_volume_per_slot(stack):
    names = docker("volume", "ls", "-q", "--filter", "label=com.docker.stack.namespace=" + STACK).stdout.split()
    queues = sorted(n for n in names if "_mx-queue-" in n)
    assert queues == ["%s_mx-queue-%d" % (STACK, i) for i in (1, 2, 3)], names


def test_kill_mx_task_twice_loses_nothing(stack):
    client = stack["client"]
    p, progress, t = client.send(0, MESSAGES, RATE, 240)
    kills = []
    try:
        for k in range(2):
            # The first kill at a tenth of the load; the second once the
            # slot's replacement is healthy and seen UP by haproxy.
            wait_for(lambda: progress.get("acked", 0) >= MESSAGES // 10 * (1 + 3 * k),
                     timeout=120, interval=0.5, what="load progress")
            victims = [c for c in stack_containers("mx") if slot_of(c) == "1"]
            assert victims, "no running mx task of slot 1"
            docker("kill", victims[0])
            kills.append((victims[0][:12], progress.get("acked")))
            wait_for(lambda: any(slot_of(c) == "1" and c not in victims and healthy(c)
                                 for c in stack_containers("mx")),
                     timeout=180, interval=2, what="slot 1 restarted and healthy")
            wait_for(lambda: client.lb_up("mx_smtp") == 3, timeout=60, interval=2,
                     what="haproxy sees 3 mx UP again")
        wait_for(lambda: progress.get("issued", 0) >= MESSAGES and p.poll() is not None or
                 progress.get("done"), timeout=300, interval=1, what="the load's end")
    finally:
        result = finish(p, progress, t, timeout=120)
    acked = result["acked_ids"]
    seen = wait_delivered(client, acked)
    lost = sorted(set(acked) - set(seen))
    dups = {n: c for n, c in seen.items() if c > 1}
    print("swarm kill: kills %s; acked %d of %d, refusals %d %s, connection errors %d, "
          "unfinished %d, delivered %d, lost %d, duplicates %d (%d extra copies) %s" % (
              kills, len(acked), MESSAGES, len(result["refusal_list"]), result["refusal_list"][:5],
              len(result["conn_error_list"]), len(result["unfinished"]), len(seen), len(lost),
              len(dups), sum(c - 1 for c in dups.values()), sorted(dups)[:20]))
    assert len(kills) == 2
    assert not lost, "acknowledged but not delivered: %s" % lost[:50]
    assert len(acked) == MESSAGES, "not acknowledged in the end: %s" % result["unfinished"][:50]


def test_rolling_update_refuses_nothing(stack):
    client = stack["client"]
    docker("tag", "%s:rspamd" % IMAGE, stack["tag2"])
    first = 100000
    p, progress, t = client.send(first, 0, RATE, 300)
    try:
        wait_for(lambda: progress.get("acked", 0) >= 20, timeout=60, interval=0.5, what="load started")
        docker("service", "update", "--detach", "--image", stack["tag2"], "%s_mx" % STACK, timeout=120)

        def state():
            return docker("service", "inspect", "-f", "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}",
                          "%s_mx" % STACK).stdout.strip()
        wait_for(lambda: state() in ("completed", "paused", "rollback_completed", "rollback_paused"),
                 timeout=300, interval=3, what="the rolling update's end")
        final_state = state()
        time.sleep(3)
    finally:
        result = finish(p, progress, t, timeout=120)
    acked = result["acked_ids"]
    seen = wait_delivered(client, acked)
    lost = sorted(set(acked) - set(seen))
    dups = {n: c for n, c in seen.items() if c > 1 and n >= first}
    print("swarm update: state %s; acked %d, refusals %d %s, connection errors %d %s, "
          "unfinished %d, lost %d, duplicates %d" % (
              final_state, len(acked), len(result["refusal_list"]), result["refusal_list"][:5],
              len(result["conn_error_list"]), result["conn_error_list"][:5],
              len(result["unfinished"]), len(lost), len(dups)))
    assert final_state == "completed"
    images = {docker("inspect", "-f", "{{.Config.Image}}", c).stdout.strip() for c in stack_containers("mx")}
    assert images == {stack["tag2"]}, images
    assert not result["refusal_list"], "refused during the update: %s" % result["refusal_list"][:10]
    assert not lost, "acknowledged but not delivered: %s" % lost[:50]
    assert len(acked) >= 20
