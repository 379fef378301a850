#!/usr/bin/python3
"""authmilter: Debian's SPF, DKIM, ARC and DMARC libraries glued to Postfix.

Two jobs, one process, one socket (`mtactl config` writes the settings file
given as the only argument; see README "Authentication results"):

- verify (port 25): one Authentication-Results header (RFC 8601) with
  spf=, dkim= (one per signature), arc= and dmarc=, computed by pyspf,
  dkimpy and authheaders; headers of that name carrying our authserv-id
  that arrive from outside are deleted first. The DMARC policy is applied
  here: p=reject answers 550 at the end of DATA, p=quarantine adds the
  marker header that Postfix's milter_header_checks sends to amavis's
  quarantine door.
- seal (the SRS loop listener, {daemon_name} = arc-seal): an ARC set
  (RFC 8617) by the primary domain's DKIM key on mail forwarded off the
  host, carrying the results of the verify step.
- reinject (the listener amavis hands our own users' mail back to,
  {daemon_name} = reinject): mail amavis has just signed gets the dkim=
  results its local recipients would see on mail from outside; mail that
  leaves the host, or carries no signature, passes unchanged.

Nothing here verifies anything itself. Every DNS lookup is bounded (1.5 s,
and all the lookups of one message together DNS_BUDGET); a lookup that
gets no answer is a temperror, never a pass. A failure of this program
never stops mail: Postfix has milter_default_action = accept.
"""

import configparser
import ipaddress
import os
import re
import subprocess
import sys
import syslog
import time
from email.utils import getaddresses

import authheaders
import authheaders.dmarc_lookup
import dkim
import dns.exception
import dns.resolver
import Milter
import spf
from authres import AuthenticationResultsHeader, DKIMAuthenticationResult, SPFAuthenticationResult
from authres.arc import ARCAuthenticationResult
from authres.dmarc import DMARCAuthenticationResult
from publicsuffix2 import PublicSuffixList

# With a resolver that drops every query the reply to DATA must still come
# within 5 s (README "When DNS fails"): SPF and the first DKIM key time out
# after 1.5 s each, and what is left of the budget is a temperror at once.
LOOKUP_TIMEOUT = 1.5  # one DNS query
DNS_BUDGET = 3.5  # all the queries of one message
QUARANTINE_HEADER = 'X-Mtactl-DMARC-Quarantine'
AR = 'Authentication-Results'

conf = {}
resolver = dns.resolver.Resolver()
resolver.cache = dns.resolver.LRUCache(4096)  # TTL-bound, shared by the threads
resolver.timeout = LOOKUP_TIMEOUT
resolver.lifetime = LOOKUP_TIMEOUT
# pyspf and authheaders ask dnspython's default resolver.
dns.resolver.default_resolver = resolver

# authheaders reads the public suffix list from disk at every call (several
# times per message); read it once.
_psl = PublicSuffixList(open(authheaders.dmarc_lookup.get_suffix_list_file_name(), encoding='utf-8'))


def org_domain(domain):
    """The organizational domain (RFC 7489 3.2). publicsuffix2 answers a bare
    TLD for a name under a TLD not in the list; the list's default rule "*"
    makes that TLD the public suffix, so the organization is one label more."""
    found = _psl.get_public_suffix(domain)
    if '.' not in found and '.' in domain:
        found = '.'.join(domain.split('.')[-2:])
    return found


authheaders.dmarc_lookup.get_org_domain = authheaders.get_org_domain = org_domain


class Lookups:
    """TXT lookups of one message: bounded each and together, remembered."""

    def __init__(self):
        self.deadline = time.monotonic() + DNS_BUDGET
        self.seen = {}

    def txt(self, name):
        name = name.decode() if isinstance(name, bytes) else name
        if name in self.seen:
            found = self.seen[name]
            if isinstance(found, Exception):
                raise found
            return found
        left = min(LOOKUP_TIMEOUT, self.deadline - time.monotonic())
        try:
            if left <= 0:
                raise dns.exception.Timeout()
            answer = resolver.resolve(name, 'TXT', lifetime=left)
            found = [b''.join(r.strings) for r in answer]
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            found = []
        except dns.exception.DNSException as e:
            self.seen[name] = e
            raise
        self.seen[name] = found
        return found

    def dkim_txt(self, name, timeout=LOOKUP_TIMEOUT):  # dkimpy's interface: bytes or None
        found = self.txt(name)
        return found[0] if found else None

    def dmarc_txt(self, name):  # authheaders' interface (a text, no quotes)
        found = [t.decode(errors='replace') for t in self.txt(name) if t.startswith(b'v=DMARC1')]
        return found[0] if len(found) == 1 else None

    def left(self):
        return max(0.1, min(LOOKUP_TIMEOUT, self.deadline - time.monotonic()))


def log(priority, text):
    syslog.syslog(priority, text)


def is_ours(value):
    """Whether an Authentication-Results value names our authserv-id."""
    first = value.split(b';', 1)[0].strip().split(None, 1)
    return bool(first) and first[0].decode(errors='replace').lower() == conf['authserv_id'].lower()


def in_mynetworks(ip):
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(addr in net for net in conf['mynetworks'] if net.version == addr.version)


def from_domain(message):
    headers, _ = dkim.rfc822_parse(message)
    values = [v.decode(errors='replace') for k, v in headers if k.lower() == b'from']
    domains = [a.rsplit('@', 1)[-1].strip().lower() for _, a in getaddresses(values) if '@' in a]
    return domains[0] if len(domains) == 1 else None


def check_dkim(message, lookups):
    """One result per signature (authheaders checks the first only)."""
    d = dkim.DKIM(message, timeout=LOOKUP_TIMEOUT)
    results = []
    for i, sig in enumerate(h for h in d.headers if h[0].lower() == b'dkim-signature'):
        fields = {}
        try:
            fields = dkim.util.parse_tag_value(sig[1])
            ok = d.verify(idx=i, dnsfunc=lookups.dkim_txt)
            res = 'pass' if ok else 'fail'
        except dns.exception.DNSException:
            res = 'temperror'
        except Exception:  # a signature dkimpy cannot parse is a failed one
            res = 'fail' if fields else 'permerror'
        results.append(DKIMAuthenticationResult(
            result=res, header_d=fields.get(b'd', b'').decode(errors='replace'),
            header_i=fields.get(b'i', b'').decode(errors='replace') or None))
    return results or [DKIMAuthenticationResult(result='none')]


def check_arc(message, lookups):
    """The chain's result, and the newest sealer's domain when it passes."""
    try:
        cv, results, comment = dkim.ARC(message, timeout=LOOKUP_TIMEOUT).verify(dnsfunc=lookups.dkim_txt)
    except dns.exception.DNSException:
        return ARCAuthenticationResult(result='temperror'), None
    except Exception as e:
        cv, results, comment = dkim.CV_Fail, [], str(e)
    cv = (cv or dkim.CV_Fail).decode()
    sealer = results[0]['as-domain'].decode().lower() if cv == 'pass' and results else None
    return ARCAuthenticationResult(result=cv, result_comment=None if cv in ('pass', 'none') else comment), sealer


def check_dmarc(message, spf_result, dkim_results, lookups, domain):
    """authheaders' verdict; it weighs one DKIM result, so each that passes is offered."""
    offered = [r for r in dkim_results if r.result == 'pass'] or [None]
    try:
        for r in offered:
            res = authheaders.check_dmarc(message, spf_result, r, dnsfunc=lookups.dmarc_txt)
            if res.result == 'pass':
                break
        # authheaders applies sp= to the From domain's own record too; it is the
        # policy of subdomains only (RFC 7489 6.3). The lookup is answered already.
        own = authheaders.dmarc_lookup.lookup_receiver_record(domain, lookups.dmarc_txt) if domain else {}
        if res.result in ('pass', 'fail') and own.get('p'):
            res.policy = own['p']
        return res
    except dns.exception.DNSException:
        return DMARCAuthenticationResult(result='temperror', header_from=domain)
    except Exception as e:
        return DMARCAuthenticationResult(result='permerror', header_from=domain, result_comment=str(e)[:60])


def applied_policy(dmarc_result, lookups, domain):
    """The policy to apply to a failed message (authheaders chose p= or sp=). A pct
    below 100 applies the next weaker one to all (RFC 7489 6.6.4 for the messages not
    sampled, as DMARCbis's t=y), so the outcome never depends on chance."""
    policy = (dmarc_result.policy or 'none').lower()
    if dmarc_result.result != 'fail' or policy not in ('reject', 'quarantine'):
        return 'none'
    record, _ = authheaders.dmarc_lookup.receiver_record(domain, lookups.dmarc_txt)  # answered already
    if record.get('pct', '100').strip() != '100':
        return 'quarantine' if policy == 'reject' else 'none'
    return policy


class AuthMilter(Milter.Base):
    def __init__(self):
        self.reset()
        self.ip = self.helo = None
        self.mode = ''

    def reset(self):
        self.headers, self.body_parts = [], []
        self.ours = []  # indexes of the Authentication-Results headers naming us
        self.marks = 0  # quarantine marker headers that came from outside
        self.mail_from = ''
        self.remote_rcpt = False  # reinject: a recipient that is not delivered here

    # noreply: Postfix need not wait for an answer to each of these.
    @Milter.noreply
    def connect(self, hostname, family, hostaddr):
        self.mode = self.getsymval('{daemon_name}') or ''
        self.ip = hostaddr[0] if isinstance(hostaddr, tuple) else None
        return Milter.CONTINUE

    @Milter.noreply
    def hello(self, helo):
        self.helo = helo
        return Milter.CONTINUE

    @Milter.noreply
    def envfrom(self, mail_from, *params):
        self.reset()
        self.mail_from = mail_from.strip('<>')
        self.auth = self.getsymval('{auth_authen}')
        return Milter.CONTINUE

    @Milter.noreply
    def envrcpt(self, to, *params):
        # The transport Postfix resolved the recipient to (milter_rcpt_macros).
        if (self.getsymval('{rcpt_mailer}') or '') not in conf['local_transports']:
            self.remote_rcpt = True
        return Milter.CONTINUE

    @Milter.noreply
    @Milter.decode('bytes')
    def header(self, name, value):
        name = name.encode() if isinstance(name, str) else name
        value = re.sub(rb'\r?\n', b'\r\n', value)
        self.headers.append((name, value))
        lname = name.lower()
        if lname == b'authentication-results':
            n = sum(1 for k, _ in self.headers if k.lower() == lname)
            if is_ours(value):
                self.ours.append(n)
        elif lname == QUARANTINE_HEADER.lower().encode():
            self.marks += 1
        return Milter.CONTINUE

    def eoh(self):
        if self.mode == 'reinject' and (self.ours or self.remote_rcpt or not any(
                k.lower() == b'dkim-signature' for k, _ in self.headers)):
            return Milter.ACCEPT  # nothing to add: no need for the body
        return Milter.CONTINUE

    @Milter.noreply
    def body(self, chunk):
        self.body_parts.append(chunk)
        return Milter.CONTINUE

    def message(self):
        head = b''.join(k + b': ' + v + b'\r\n' for k, v in self.headers)
        return head + b'\r\n' + b''.join(self.body_parts)

    def eom(self):
        try:
            if self.mode == 'arc-seal':
                return self.arc_seal()
            return self.dkim_results() if self.mode == 'reinject' else self.verify()
        except Exception as e:  # never hold mail up: log, accept unchanged
            log(syslog.LOG_WARNING, 'error, message passed unchecked: %s: %s' % (type(e).__name__, e))
            return Milter.ACCEPT

    def verify(self):
        for n in reversed(self.ours):  # forged results with our name (RFC 8601 5)
            self.chgheader(AR, n, '')
        for n in range(self.marks, 0, -1):
            self.chgheader(QUARANTINE_HEADER, n, '')
        if self.auth:  # our own users' mail: nothing to verify, nothing to enforce
            return Milter.ACCEPT
        message = self.message()
        lookups = Lookups()
        domain = from_domain(message)
        res, why = spf.check2(self.ip, self.mail_from, self.helo or '', timeout=lookups.left(),
                              querytime=lookups.left())
        spf_result = SPFAuthenticationResult(result=res, smtp_mailfrom=self.mail_from or None,
                                             smtp_helo=None if self.mail_from else self.helo)
        dkim_results = check_dkim(message, lookups)
        arc_result, sealer = check_arc(message, lookups)
        # authheaders needs a MAIL FROM domain for SPF alignment (a bounce has none)
        dmarc_result = check_dmarc(message, spf_result if self.mail_from else None, dkim_results,
                                   lookups, domain)
        header = AuthenticationResultsHeader(authserv_id=conf['authserv_id'],
                                             results=[spf_result] + dkim_results + [arc_result, dmarc_result])
        self.addheader(AR, str(header).split(':', 1)[1].strip(), 0)

        policy = applied_policy(dmarc_result, lookups, domain)
        if policy == 'none' or not conf['enforce']:
            return Milter.ACCEPT
        if in_mynetworks(self.ip):
            return Milter.ACCEPT
        if sealer and sealer in conf['trusted']:
            log(syslog.LOG_INFO, 'DMARC %s of %s not applied: ARC chain sealed by trusted %s'
                % (policy, domain, sealer))
            return Milter.ACCEPT
        if policy == 'reject':
            self.setreply('550', '5.7.1', 'Rejected by the DMARC policy of %s (p=reject)'
                          % (domain or 'the From domain').replace('%', '%%'))
            return Milter.REJECT
        self.addheader(QUARANTINE_HEADER, domain or 'unknown')
        return Milter.ACCEPT

    def dkim_results(self):
        header = AuthenticationResultsHeader(authserv_id=conf['authserv_id'],
                                             results=check_dkim(self.message(), Lookups()))
        self.addheader(AR, str(header).split(':', 1)[1].strip(), 0)
        return Milter.ACCEPT

    def arc_seal(self):
        sets = dkim.arc_sign(self.message(), conf['selector'].encode(), conf['seal_domain'].encode(),
                             conf['key'], conf['authserv_id'].encode())
        for line in reversed(sets):  # ARC-Seal on top, as dkimpy orders them
            name, value = line.decode().split(':', 1)
            self.addheader(name, value.strip().replace('\r\n', '\n'), 0)
        return Milter.ACCEPT


def mynetworks():
    """Postfix's mynetworks (addresses and networks; tables are skipped)."""
    out = subprocess.run(['postconf', '-h', 'mynetworks'], capture_output=True, text=True, timeout=10).stdout
    nets = []
    for word in re.split(r'[\s,]+', out):
        word = re.sub(r'^\[(.*)\](/\d+)?$', r'\1\2', word)
        try:
            nets.append(ipaddress.ip_network(word, strict=False))
        except ValueError:
            pass
    return nets


def main():
    syslog.openlog('authmilter', syslog.LOG_PID, syslog.LOG_MAIL)
    if len(sys.argv) != 2:
        sys.exit('usage: authmilter.py SETTINGS_FILE')
    cp = configparser.ConfigParser(interpolation=None)
    if not cp.read(sys.argv[1]):
        sys.exit('authmilter: cannot read %s' % sys.argv[1])
    c = cp['authmilter']
    conf.update(authserv_id=c['authserv_id'], enforce=c.getboolean('dmarc_enforce'),
                trusted=set(c.get('arc_trusted_signers', '').lower().split()),
                selector=c['seal_selector'], seal_domain=c['seal_domain'], mynetworks=mynetworks(),
                local_transports=set(c.get('local_transports', 'virtual local').split()))
    conf['key'] = open(c['seal_key'], 'rb').read() if c.getboolean('arc_seal') else None
    Milter.factory = AuthMilter
    flags = Milter.ADDHDRS | Milter.CHGHDRS
    Milter.set_flags(flags)
    os.umask(0o007)  # the socket: amavis's group, which postfix is in
    Milter.runmilter('authmilter', 'unix:' + c['socket'], 30)


if __name__ == '__main__':
    main()
