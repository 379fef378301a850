"""The DNS tier (dnstier.py) behaves like DNS in the field: signed answers
validate (AD), unsigned ones are insecure, a broken chain is SERVFAIL, unknown
names are NXDOMAIN at once, and set_records is seen at once. The tests of
DANE, MTA-STS and `mtactl doctor` rely on each of these."""
import re

import pytest

import dnstier


@pytest.fixture(scope="module")
def tier(net):
    t = dnstier.start(net, zones={
        "signed.test": ["@ MX 10 mx.signed.test.", "mx A 192.0.2.10",
                        '@ TXT "v=spf1 mx -all"'],
        "plain.test": ["@ MX 10 mx.plain.test.", "mx A 192.0.2.20"],
        "broken.test": ["mx A 192.0.2.30"],
        "2.0.192.in-addr.arpa": ["10 PTR mx.signed.test."],
    }, signed={"signed.test", "2.0.192.in-addr.arpa"}, bogus={"broken.test"})
    yield t
    t.stop()


def flags(answer):
    m = re.search(r";; Flags: ([a-z ]+);", answer)
    assert m, answer
    return m.group(1).split()


def status(answer):
    m = re.search(r"status: ([A-Z]+)", answer)
    assert m, answer
    return m.group(1)


def test_signed_answers_validate(tier):
    a = tier.query("mx.signed.test", "A", dnssec=True)
    assert status(a) == "NOERROR" and "192.0.2.10" in a
    assert "ad" in flags(a), a
    ptr = tier.query("10.2.0.192.in-addr.arpa", "PTR", dnssec=True)
    assert "mx.signed.test." in ptr and "ad" in flags(ptr), ptr
    root = tier.query(".", "DNSKEY", dnssec=True)
    assert "ad" in flags(root), root


def test_unsigned_is_insecure_and_bogus_fails(tier):
    a = tier.query("mx.plain.test", "A", dnssec=True)
    assert status(a) == "NOERROR" and "192.0.2.20" in a
    assert "ad" not in flags(a), a
    b = tier.query("mx.broken.test", "A", dnssec=True)
    assert status(b) == "SERVFAIL", b


def test_unknown_names_fail_at_once(tier):
    a = tier.query("zen.spamhaus.org", "A", dnssec=True)
    assert status(a) == "NXDOMAIN", a
    assert "ad" in flags(a), a        # proven by the signed root's NSEC


def test_set_records_is_seen_at_once(tier):
    assert "192.0.2.10" in tier.query("mx.signed.test")
    tier.set_records("signed.test", ["@ MX 10 mx.signed.test.", "mx A 192.0.2.11"])
    a = tier.query("mx.signed.test", "A", dnssec=True)
    assert "192.0.2.11" in a and "192.0.2.10" not in a and "ad" in flags(a), a
    assert status(tier.query("signed.test", "TXT")) == "NOERROR"
    assert "v=spf1" not in tier.query("signed.test", "TXT")
