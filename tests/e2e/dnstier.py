"""The DNS tier of the deliverability tests: authoritative knot and a
validating unbound in one container (image mta-test-authdns, tests/peers/authdns).

    tier = dnstier.start(net, zones={"example.org": ["@ MX 10 mx.example.org.",
                                                      "mx A 172.18.0.5"]},
                         signed={"example.org"})
    docker run --dns <tier.resolver> ...
    tier.set_records("example.org", [...])

Knot serves a DNSSEC-signed root zone "." (127.0.0.2 in the container) that
delegates every test zone to a second knot (127.0.0.3), with a DS record for
each signed zone; unbound (the container's address, port 53) recurses from that
root and trusts its key. So, as in the field: answers from signed zones carry
the AD bit, unsigned zones are insecure, a zone in `bogus` (signed, but the
root's DS names another key) is SERVFAIL, names in no zone are NXDOMAIN at
once, and `. DNSKEY` with DO returns AD. TTLs are 60 s and set_records flushes
unbound's cache, so a change is seen at once.

Records are zone-file lines relative to the zone's origin; SOA and NS are added.
Every wait is bounded in time and in count.
"""
import os
import shutil
import tempfile
from pathlib import Path

from basepeers import ensure_image
from dockerlib import LABEL, Container, docker, unique_name, wait_for

TESTS_DIR = Path(__file__).resolve().parent.parent
AUTHDNS_IMAGE = os.environ.get("AUTHDNS_IMAGE", "mta-test-authdns")
AUTHDNS_DIR = TESTS_DIR / "peers" / "authdns"

# The name server of every test zone: authoritative data of the root zone.
ZONE_NS = "ns.nic."
ZONE_NS_ADDR = "127.0.0.3"


def _fqdn(zone):
    return "." if zone in (".", "") else zone.rstrip(".") + "."


def _zone_text(zone, records, serial):
    origin = _fqdn(zone)
    head = ["$ORIGIN %s" % origin, "$TTL 60",
            "@ SOA %s hostmaster.nic. %d 60 60 3600 5" % (ZONE_NS, serial),
            "@ NS %s" % ZONE_NS]
    return "\n".join(head + list(records)) + "\n"


def _root_text(zones):
    lines = ["$ORIGIN .", "$TTL 60",
             "@ SOA a.nic. hostmaster.nic. 1 60 60 3600 5",
             "@ NS a.nic.",
             "a.nic. A 127.0.0.2",
             "%s A %s" % (ZONE_NS, ZONE_NS_ADDR)]
    lines += ["%s NS %s" % (_fqdn(z), ZONE_NS) for z in zones]
    return "\n".join(lines) + "\n"     # the DS records are added in the container


class DnsTier:
    def __init__(self, container, zones):
        self.container = container
        self.zones = {z.rstrip("."): 1 for z in zones}

    @property
    def resolver(self):
        """The validating resolver's address: `--dns` for the containers."""
        return self.container.ip

    def logs(self):
        return self.container.logs()

    def query(self, name, rtype="A", dnssec=False):
        """kdig in the tier against its own resolver: the whole answer text."""
        args = ["kdig", "+timeout=2", "+retry=0", "@127.0.0.1", name, rtype]
        if dnssec:
            args.insert(1, "+dnssec")
        return self.container.exec(args, check=False, timeout=15).stdout

    def set_records(self, zone, records):
        """Replaces the records of a zone given at start; knot re-signs it and
        unbound forgets what it cached."""
        zone = zone.rstrip(".")
        if zone not in self.zones:
            raise AssertionError("zone %s was not given at start: %s" % (zone, sorted(self.zones)))
        self.zones[zone] += 1
        text = _zone_text(zone, records, self.zones[zone])
        self.container.exec(["sh", "-c", 'cat >"/zones/$1.zone"', "sh", zone], input=text)
        self.container.exec(["knotc", "-c", "/etc/knot/zones.conf", "-b", "zone-reload", zone + "."],
                            timeout=30)
        serial = str(self.zones[zone])
        wait_for(lambda: serial in self.container.exec(
                     ["kdig", "+short", "+timeout=1", "+retry=0", "@" + ZONE_NS_ADDR, zone + ".", "SOA"],
                     check=False, timeout=10).stdout.split(),
                 timeout=20, interval=0.3, what="knot serving serial %s of %s" % (serial, zone))
        self.container.exec(["unbound-control", "-c", "/etc/unbound/unbound.conf", "reload"],
                            timeout=30)
        wait_for(lambda: "status: NOERROR" in self.query(".", "SOA"),
                 timeout=20, interval=0.3, what="unbound answering after its reload")

    def stop(self):
        self.container.rm()


def start(net, zones, signed=(), bogus=()):
    """Starts the tier on network `net` with {zone: [records]}; zones in
    `signed` are DNSSEC-signed, zones in `bogus` signed with a key the root's
    DS does not name. Returns once unbound answers from the root."""
    ensure_image(AUTHDNS_IMAGE, AUTHDNS_DIR)
    signed = {z.rstrip(".") for z in signed}
    bogus = {z.rstrip(".") for z in bogus}
    names = [z.rstrip(".") for z in zones]
    work = tempfile.mkdtemp(prefix="mta-e2e-tier-")
    try:
        d = Path(work) / "zones"
        d.mkdir()
        kinds = []
        for z in names:
            kind = "bogus" if z in bogus else "signed" if z in signed else "unsigned"
            kinds.append("%s %s" % (z, kind))
            (d / ("%s.zone" % z)).write_text(_zone_text(z, zones.get(z) or zones.get(z + ".") or [], 1))
        (d / "zones").write_text("\n".join(kinds) + "\n")
        (d / "root.zone").write_text(_root_text(names))
        name = unique_name("tier")
        docker("create", "--name", name, "--label", LABEL, "--network", net,
               "--network-alias", name, "--hostname", name, AUTHDNS_IMAGE)
        c = Container(name, net)
        try:
            docker("cp", str(d), "%s:/" % name)
            docker("start", name)
            tier = DnsTier(c, names)

            def up():
                if not c.is_running():
                    raise AssertionError("DNS tier stopped:\n%s" % c.logs()[-3000:])
                return "status: NOERROR" in tier.query(".", "SOA")
            wait_for(up, timeout=60, interval=0.5, what="the DNS tier in %s" % name)
            return tier
        except BaseException:
            c.rm()
            raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
