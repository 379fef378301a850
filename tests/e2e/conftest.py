"""Fixtures of the end-to-end tests.

Session: one internal docker network (`net`), the peer image (`peer_image`).
Per test: factories `mta`, `sink`, `volume`, `run_config_error`; whatever a
test starts is removed when the test ends, failed or not, and the session
removes anything left with its label at the end.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import dockerlib  # noqa: E402
import fullpeers  # noqa: E402
from dockerlib import (IMAGE, LABEL, PEER_IMAGE, Container, DockerError, Sink,  # noqa: E402
                       docker, unique_name)


# --- parallel runs (pytest -n 2 --dist loadgroup, see README.md) ------------
#
# A module whose tests share a module-scoped fixture (a fleet, a DNS tier,
# LDAP) runs on one worker: its tests get the xdist_group of the module, so
# the fixture is set up once. The tests of the other modules are spread one
# by one. Slow modules go first (longest first keeps the tail of the run
# short); SLOW_FIRST is the order of their measured times, longest first.
SLOW_FIRST = ("test_swarm.py", "test_reliability.py", "test_tls.py", "test_base.py", "test_full.py", "test_rspamd.py", "test_backup.py",
              "test_field.py", "test_outbound_tls.py", "test_auth.py", "test_doctor.py")


def _shares_module_fixture(item):
    info = getattr(item, "_fixtureinfo", None)
    return bool(info) and any(d.scope in ("module", "package", "class")
                              for defs in info.name2fixturedefs.values() for d in defs)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Runs before xdist reads the xdist_group marks (tryfirst)."""
    def rank(item):
        base = os.path.basename(item.path)
        return SLOW_FIRST.index(base) if base in SLOW_FIRST else len(SLOW_FIRST)
    items.sort(key=rank)   # stable: the order within a module stays
    grouped = {os.path.basename(i.path) for i in items if _shares_module_fixture(i)}
    for item in items:
        base = os.path.basename(item.path)
        if base in grouped:
            item.add_marker(pytest.mark.xdist_group(base))


def pytest_report_header(config):
    return "e2e: image %s:<stage>, peer %s, session prefix %s" % (IMAGE, PEER_IMAGE, dockerlib.SESSION)


@pytest.fixture(scope="session")
def docker_ok():
    p = docker("info", "--format", "{{.ServerVersion}}", check=False, timeout=60)
    if p.returncode != 0:
        pytest.fail("docker does not answer: %s" % (p.stderr or p.stdout))
    return True


@pytest.fixture(scope="session")
def session_cleanup(docker_ok):
    yield
    dockerlib.cleanup_session()


@pytest.fixture(scope="session")
def net(session_cleanup):
    """The name of an internal network (no route outside) for this session."""
    name = unique_name("net")
    docker("network", "create", "--internal", "--label", LABEL, name)
    yield name
    left = docker("ps", "-aq", "--filter", "network=" + name, check=False).stdout.split()
    if left:
        docker("rm", "-f", "-v", *left, check=False)
    docker("network", "rm", name, check=False)


@pytest.fixture(scope="session")
def net_gateway(net):
    """The host's address on the network: the source of host-side SMTP sessions."""
    gw = docker("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}",
                net).stdout.strip()
    assert gw, "network %s has no gateway address" % net
    return gw


# Postfix's smtpd looks up the client's name before it greets. On an internal
# network nothing answers for the host's address, and the lookup takes 10-20 s
# per connection; an /etc/hosts entry in the container answers it at once.
CLIENT_NAME = "e2e-client.test"


@pytest.fixture(scope="session")
def peer_image(docker_ok):
    dockerlib.ensure_peer_image()
    return PEER_IMAGE


class _Resources:
    """What one test created, removed in a safe order at its end."""

    def __init__(self):
        self.containers = []
        self.volumes = []

    def cleanup(self):
        for c in reversed(self.containers):
            try:
                c.rm()
            except DockerError:
                pass
        for v in reversed(self.volumes):
            docker("volume", "rm", "-f", v, check=False)


@pytest.fixture
def resources(session_cleanup):
    r = _Resources()
    yield r
    r.cleanup()


def _env_args(env):
    args = []
    for k, v in (env or {}).items():
        args += ["-e", "%s=%s" % (k, v)]
    return args


def _vol_args(volumes):
    args = []
    for src, dst in (volumes or {}).items():
        args += ["-v", "%s:%s" % (src, dst)]
    return args


def _require_image(ref):
    if not dockerlib.image_exists(ref):
        pytest.fail("image %s is missing: build it first (make images)" % ref)


@pytest.fixture
def mta(net, net_gateway, resources):
    """Factory: mta(stage="mini", env={...}, hostname="mx1.example.com",
    volumes={"volname": "/srv"}, name=None, extra_args=[], wait=True,
    client_host=True) starts ${IMAGE}:STAGE detached on the test network and
    returns a Container; with wait, after its port 25 answered 220;
    client_host=False leaves out the /etc/hosts entry for the test client."""
    def start(stage="mini", env=None, hostname="mx1.example.com", volumes=None,
              name=None, extra_args=(), wait=True, client_host=True):
        ref = "%s:%s" % (IMAGE, stage)
        _require_image(ref)
        name = name or unique_name("mta-" + stage)
        c = Container(name, net)
        resources.containers.append(c)
        hosts = ["--add-host", "%s:%s" % (CLIENT_NAME, net_gateway)] if client_host else []
        docker("run", "-d", "--name", name, "--label", LABEL, "--network", net,
               "--network-alias", name, "--hostname", hostname, *hosts,
               *_env_args(env), *_vol_args(volumes), *extra_args, ref)
        if wait:
            c.wait_banner(25)
        return c
    return start


@pytest.fixture
def sink(net, resources, peer_image):
    """Factory: sink(mode="smtp", port=25, auth=None, name=None) starts the
    peer image running sink.py; its name is also its network alias and host
    name. Returns a Sink once it greets on its port."""
    def start(mode="smtp", port=25, auth=None, name=None, wait=True):
        name = name or unique_name("sink-" + mode)
        s = Sink(name, net, mode, port, auth)
        resources.containers.append(s)
        args = ["--mode", mode, "--port", str(port)]
        if auth:
            args += ["--auth", auth]
        docker("run", "-d", "--name", name, "--label", LABEL, "--network", net,
               "--network-alias", name, "--hostname", name, peer_image, *args)
        if wait:
            s.wait_banner(port, timeout=30)
        return s
    return start


@pytest.fixture
def volume(resources, session_cleanup):
    """Factory: volume() creates a named volume (removed at the end of the test)."""
    def create(name=None):
        name = name or unique_name("vol")
        docker("volume", "create", "--label", LABEL, name)
        resources.volumes.append(name)
        return name
    return create


@pytest.fixture
def run_config_error(net, net_gateway, resources):
    """Factory: run_config_error(stage="mini", env={}, hostname="mx1.example.com",
    volumes=None, timeout=60) runs the image in the foreground (docker run
    --rm) and returns (exit_code, output with stdout and stderr). When the
    container is still running after timeout seconds it is removed and the
    exit code is None."""
    def run(stage="mini", env=None, hostname="mx1.example.com", volumes=None, timeout=60):
        ref = "%s:%s" % (IMAGE, stage)
        _require_image(ref)
        name = unique_name("cfg-" + stage)
        c = Container(name, net)
        resources.containers.append(c)
        try:
            p = docker("run", "--rm", "--name", name, "--label", LABEL, "--network", net,
                       "--hostname", hostname, "--add-host", "%s:%s" % (CLIENT_NAME, net_gateway),
                       *_env_args(env), *_vol_args(volumes), ref,
                       check=False, merge=True, timeout=timeout)
        except DockerError:
            out = docker("logs", name, check=False, merge=True).stdout
            c.rm()
            return None, out
        return p.returncode, p.stdout
    return run


# --- module peers of the full-image tests (test_full.py, test_field.py) ------

@pytest.fixture(scope="module")
def signer_key():
    """The key a foreign sender (signer.test) signs with (dkimpy, in the tests)."""
    return fullpeers.gen_rsa_key()


@pytest.fixture(scope="module")
def clamdb(session_cleanup):
    """A volume for /var/lib/clamav holding e2e-eicar.hdb (owned by clamav)."""
    vol = fullpeers.make_volume()
    try:
        fullpeers.fill_clamav_volume(vol)
        yield vol
    finally:
        fullpeers.rm_volume(vol)


@pytest.fixture(scope="session")
def rspamd_clamdb(session_cleanup):
    """The same for the rspamd image (its clamav user's ids)."""
    import rspamdpeers
    vol = fullpeers.make_volume()
    try:
        rspamdpeers.fill_clamav_volume_for(vol)
        yield vol
    finally:
        fullpeers.rm_volume(vol)


@pytest.fixture(scope="module")
def relay(net, peer_image):
    """An SMTP sink as relay host of the module's servers."""
    s = fullpeers.start_sink(net)
    try:
        yield s
    finally:
        s.rm()
