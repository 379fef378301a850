/* The DNS checks of `mtactl doctor`: MX, forward-confirmed reverse DNS,
 * SPF (libspf2 evaluates the policy: mx, a, ip4, ip6, include, redirect
 * and the RFC 7208 4.6.4 lookup limits; its lookups go through our
 * resolver, spf_dns.c), DKIM, DMARC, TLSA and the DNS blocklists. A lookup that times out gives warn, never a pass. */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <spf2/spf.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "common/log.h"
#include "config/parse.h"
#include "config/vars.h"
#include "deliverability/resolve.h"
#include "deliverability/tags.h"
#include "dkim/dkim.h"
#include "doctor/doctor.h"
#include "doctor/spf_dns.h"

static const char *no_answer = "try again when the resolver answers (it bounds each lookup to 2 s)";

/* A hint for the fixes when every address we know is private (RFC 1918,
 * RFC 6598, RFC 4193): then the world reaches us at another one. */
static const char *nat_hint(const struct local_facts *f)
{
	if (f->addresses_given)
		return "";
	for (size_t i = 0; i < f->addresses.len; i++) {
		unsigned char b[16];
		const char *a = f->addresses.item[i];
		bool private = inet_pton(AF_INET, a, b) == 1
			? b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168) ||
				  (b[0] == 100 && (b[1] & 0xc0) == 64)
			: inet_pton(AF_INET6, a, b) == 1 && (b[0] & 0xfe) == 0xfc;
		if (!private)
			return "";
	}
	return " (this host has only private addresses: behind NAT or port mapping, set "
	       "DOCTOR_PUBLIC_ADDRESSES to the public one)";
}

/* Whether the addresses of host (A and AAAA) include one of ours; the
 * found ones are appended to seen. status gets the worse lookup status. */
static bool host_is_ours(const struct local_facts *f, const char *host, struct strbuf *seen,
			 enum dns_status *status)
{
	bool ours = false;
	int types[] = {ns_t_a, ns_t_aaaa};
	*status = DNS_NXDOMAIN;
	for (size_t t = 0; t < ARRAY_LEN(types); t++) {
		struct dns_answer a;
		dns_lookup(host, types[t], &a);
		if (a.status == DNS_TEMPFAIL || (a.status == DNS_OK && *status != DNS_TEMPFAIL))
			*status = a.status;
		for (size_t i = 0; i < a.rr.len; i++) {
			sb_addf(seen, "%s%s", seen->len ? " " : "", a.rr.item[i]);
			ours = ours || strlist_contains_nocase(&f->addresses, a.rr.item[i]);
		}
		dns_answer_free(&a);
	}
	return ours;
}

void doctor_mx(struct doctor_state *st)
{
	const struct local_facts *f = &st->facts;
	for (size_t d = 0; d < f->domains.len; d++) {
		const char *domain = f->domains.item[d];
		struct strbuf fix;
		sb_init(&fix);
		sb_addf(&fix, "publish %s. MX 10 %s. and an A record of %s with this host's public address%s",
			domain, f->hostname, f->hostname, nat_hint(f));
		struct dns_answer mx;
		dns_lookup(domain, ns_t_mx, &mx);
		if (mx.status == DNS_TEMPFAIL) {
			report_add(&st->report, VERDICT_WARN, "mx", domain, no_answer, "cannot look up the MX: %s",
				   dns_status_text(mx.status));
		} else if (mx.status != DNS_OK) {
			report_add(&st->report, VERDICT_FAIL, "mx", domain, fix.buf, "no MX record (%s)",
				   dns_status_text(mx.status));
		} else {
			struct strbuf found;
			sb_init(&found);
			bool any = false, unsure = false;
			for (size_t i = 0; i < mx.rr.len; i++) {
				const char *host = strchr(mx.rr.item[i], ' ') + 1;
				struct strbuf seen;
				sb_init(&seen);
				enum dns_status s;
				bool ours = host_is_ours(f, host, &seen, &s);
				unsure = unsure || s == DNS_TEMPFAIL;
				sb_addf(&found, "%s%s -> %s%s", found.len ? "; " : "", host,
					seen.len ? seen.buf : dns_status_text(s), ours ? " (ours)" : "");
				if (ours && !strlist_contains_nocase(&st->mx_names, host))
					strlist_add(&st->mx_names, host, strlen(host));
				any = any || ours;
				sb_free(&seen);
			}
			if (any)
				report_add(&st->report, VERDICT_OK, "mx", domain, "", "%s", found.buf);
			else
				report_add(&st->report, unsure ? VERDICT_WARN : VERDICT_FAIL, "mx", domain,
					   unsure ? no_answer : fix.buf,
					   "no MX host resolves to an address of this host: %s", found.buf);
			sb_free(&found);
		}
		dns_answer_free(&mx);
		sb_free(&fix);
	}
}

void doctor_fcrdns(struct doctor_state *st)
{
	const struct local_facts *f = &st->facts;
	if (!f->addresses.len)
		report_add(&st->report, VERDICT_WARN, "fcrdns", "", "set DOCTOR_PUBLIC_ADDRESSES to the address "
			   "senders reach this host at", "this host has no address but loopback");
	for (size_t i = 0; i < f->addresses.len; i++) {
		const char *addr = f->addresses.item[i];
		char rev[DOMAIN_MAX + 1];
		struct strbuf fix;
		sb_init(&fix);
		sb_addf(&fix, "have the owner of %s (your provider) set its PTR record to %s, and publish "
			"an A/AAAA record of %s with %s%s", addr, f->hostname, f->hostname, addr, nat_hint(f));
		struct dns_answer ptr;
		if (!dns_reverse_name(addr, strchr(addr, ':') ? "ip6.arpa" : "in-addr.arpa", rev, sizeof rev))
			fatalx(EXIT_SYSTEM, "%s: not an address", addr);
		dns_lookup(rev, ns_t_ptr, &ptr);
		if (ptr.status == DNS_TEMPFAIL) {
			report_add(&st->report, VERDICT_WARN, "fcrdns", addr, no_answer, "cannot look up the PTR: %s",
				   dns_status_text(ptr.status));
		} else if (ptr.status != DNS_OK) {
			report_add(&st->report, VERDICT_FAIL, "fcrdns", addr, fix.buf, "no PTR record (%s)",
				   dns_status_text(ptr.status));
		} else if (!strlist_contains_nocase(&ptr.rr, f->hostname)) {
			report_add(&st->report, VERDICT_FAIL, "fcrdns", addr, fix.buf,
				   "PTR is %s, not myhostname %s", ptr.rr.item[0], f->hostname);
		} else {
			struct strbuf seen;
			sb_init(&seen);
			enum dns_status s;
			struct strlist one;
			strlist_init(&one);
			strlist_add(&one, addr, strlen(addr));
			struct local_facts only = {.addresses = one};
			bool back = host_is_ours(&only, f->hostname, &seen, &s);
			if (back)
				report_add(&st->report, VERDICT_OK, "fcrdns", addr, "", "PTR %s, which resolves back to %s",
					   f->hostname, addr);
			else
				report_add(&st->report, s == DNS_TEMPFAIL ? VERDICT_WARN : VERDICT_FAIL, "fcrdns",
					   addr, s == DNS_TEMPFAIL ? no_answer : fix.buf,
					   "PTR %s, but %s resolves to %s", f->hostname, f->hostname,
					   seen.len ? seen.buf : dns_status_text(s));
			strlist_free(&one);
			sb_free(&seen);
		}
		dns_answer_free(&ptr);
		sb_free(&fix);
	}
}

/* libspf2 logs through these; its warnings would be noise on stderr. */
static void spf_quiet(const char *file, int line, const char *msg)
{
	(void)file;
	(void)line;
	(void)msg;
}

void doctor_spf(struct doctor_state *st)
{
	const struct local_facts *f = &st->facts;
	SPF_warning_handler = spf_quiet;
	SPF_info_handler = spf_quiet;
	SPF_debug_handler = spf_quiet;
	SPF_dns_server_t *dns = doctor_spf_dns_new();
	SPF_server_t *srv = SPF_server_new_dns(dns, 0);
	if (!srv)
		fatalx(EXIT_SYSTEM, "libspf2: no SPF server");
	for (size_t d = 0; d < f->domains.len; d++) {
		const char *domain = f->domains.item[d];
		struct strbuf from, fix, found;
		sb_init(&from);
		sb_init(&fix);
		sb_init(&found);
		sb_addf(&from, "postmaster@%s", domain);
		sb_addf(&fix, "publish %s. TXT \"v=spf1 mx -all\" (or add this host's addresses to the record "
			"you have)", domain);
		enum verdict worst = VERDICT_OK;
		for (size_t i = 0; i < f->addresses.len; i++) {
			const char *addr = f->addresses.item[i];
			enum verdict v;
			const char *result;
			if (dns_is_down()) {
				v = VERDICT_WARN;
				result = "the resolver does not answer";
			} else {
				SPF_request_t *req = SPF_request_new(srv);
				SPF_response_t *resp = NULL;
				if (!req)
					fatalx(EXIT_SYSTEM, "libspf2: no request");
				bool v6 = strchr(addr, ':') != NULL;
				if ((v6 ? SPF_request_set_ipv6_str(req, addr) : SPF_request_set_ipv4_str(req, addr)) ||
				    SPF_request_set_env_from(req, from.buf) != 0)
					fatalx(EXIT_SYSTEM, "libspf2: cannot set the request for %s", addr);
				SPF_request_set_helo_dom(req, f->hostname);
				(void)SPF_request_query_mailfrom(req, &resp);
				SPF_result_t r = resp ? SPF_response_result(resp) : SPF_RESULT_TEMPERROR;
				result = SPF_strresult(r);
				v = r == SPF_RESULT_PASS ? VERDICT_OK
				    : r == SPF_RESULT_TEMPERROR ? VERDICT_WARN : VERDICT_FAIL;
				SPF_response_free(resp);
				SPF_request_free(req);
			}
			sb_addf(&found, "%s%s %s (%s)", found.len ? ", " : "", addr,
				v == VERDICT_OK ? "authorized" : v == VERDICT_WARN ? "not checked" : "not authorized",
				result);
			if (v > worst)
				worst = v;
		}
		if (!f->addresses.len) {
			worst = VERDICT_WARN;
			sb_adds(&found, "no address of this host to check");
		}
		if (worst == VERDICT_OK)
			strlist_add(&st->spf_pass, domain, strlen(domain));
		report_add(&st->report, worst, "spf", domain, worst == VERDICT_WARN ? no_answer : fix.buf,
			   "%s", found.buf);
		sb_free(&from);
		sb_free(&fix);
		sb_free(&found);
	}
	SPF_server_free(srv);
	SPF_dns_free(dns); /* a server made with SPF_server_new_dns does not own its layer */
}

void doctor_dkim(struct doctor_state *st)
{
	const struct local_facts *f = &st->facts;
	for (size_t d = 0; d < f->domains.len; d++) {
		const char *domain = f->domains.item[d];
		struct strbuf selector, pem, key, name, fix;
		sb_init(&selector);
		sb_init(&pem);
		sb_init(&key);
		sb_init(&name);
		sb_init(&fix);
		if (!local_dkim_key(domain, &selector, &pem) || !dkim_public_key_b64(pem.buf, &key)) {
			report_add(&st->report, VERDICT_SKIP, "dkim", domain, "", "no DKIM key on disk (the full "
				   "image signs mail)");
			goto next;
		}
		sb_addf(&name, "%s._domainkey.%s", selector.buf, domain);
		sb_addf(&fix, "publish the TXT record of %s that `mtactl dns` prints", name.buf);
		struct dns_answer txt;
		dns_lookup(name.buf, ns_t_txt, &txt);
		if (txt.status == DNS_TEMPFAIL) {
			report_add(&st->report, VERDICT_WARN, "dkim", domain, no_answer, "cannot look up %s: %s",
				   name.buf, dns_status_text(txt.status));
		} else if (txt.status != DNS_OK) {
			report_add(&st->report, VERDICT_FAIL, "dkim", domain, fix.buf, "no record at %s (%s)",
				   name.buf, dns_status_text(txt.status));
		} else {
			bool match = false, any_key = false;
			for (size_t i = 0; i < txt.rr.len && !match; i++) {
				struct tag_list tags;
				if (!tag_list_parse(txt.rr.item[i], &tags))
					continue;
				const char *p = tag_get(&tags, "p");
				any_key = any_key || (p && *p);
				match = p && !strcmp(p, key.buf);
				tag_list_free(&tags);
			}
			if (match) {
				strlist_add(&st->dkim_match, domain, strlen(domain));
				report_add(&st->report, VERDICT_OK, "dkim", domain, "", "%s holds the key on disk",
					   name.buf);
			} else {
				report_add(&st->report, VERDICT_FAIL, "dkim", domain, fix.buf, "%s %s", name.buf,
					   any_key ? "holds another key than the one on disk (stale record)"
						   : "holds no DKIM key (p=)");
			}
		}
		dns_answer_free(&txt);
next:
		sb_free(&selector);
		sb_free(&pem);
		sb_free(&key);
		sb_free(&name);
		sb_free(&fix);
	}
}

void doctor_dmarc(struct doctor_state *st)
{
	const struct local_facts *f = &st->facts;
	for (size_t d = 0; d < f->domains.len; d++) {
		const char *domain = f->domains.item[d];
		struct strbuf name, fix;
		sb_init(&name);
		sb_init(&fix);
		sb_addf(&name, "_dmarc.%s", domain);
		sb_addf(&fix, "publish %s. TXT \"v=DMARC1; p=quarantine; rua=mailto:postmaster@%s\"",
			name.buf, domain);
		struct dns_answer txt;
		dns_lookup(name.buf, ns_t_txt, &txt);
		struct tag_list tags = {.len = 0};
		size_t records = 0;
		for (size_t i = 0; i < txt.rr.len; i++) {
			struct tag_list t;
			if (strncmp(txt.rr.item[i], "v=DMARC1", 8) || !tag_list_parse(txt.rr.item[i], &t))
				continue;
			if (records++ == 0)
				tags = t;
			else
				tag_list_free(&t);
		}
		const char *p = records ? tag_get(&tags, "p") : NULL;
		bool spf = strlist_contains_nocase(&st->spf_pass, domain);
		bool dkim = strlist_contains_nocase(&st->dkim_match, domain);
		if (txt.status == DNS_TEMPFAIL) {
			report_add(&st->report, VERDICT_WARN, "dmarc", domain, no_answer, "cannot look up %s: %s",
				   name.buf, dns_status_text(txt.status));
		} else if (records == 0) {
			report_add(&st->report, VERDICT_FAIL, "dmarc", domain, fix.buf, "no DMARC record at %s",
				   name.buf);
		} else if (records > 1 || !p || (strcmp(p, "none") && strcmp(p, "quarantine") && strcmp(p, "reject"))) {
			report_add(&st->report, VERDICT_FAIL, "dmarc", domain, fix.buf, "%s",
				   records > 1 ? "more than one DMARC record (receivers ignore them all)"
					       : "the record has no valid p= (none, quarantine or reject)");
		} else if (!spf && !dkim) {
			report_add(&st->report, VERDICT_FAIL, "dmarc", domain, "fix the SPF and DKIM findings above",
				   "p=%s, but neither SPF nor DKIM passes aligned for %s: our own mail fails DMARC",
				   p, domain);
		} else if (!strcmp(p, "none")) {
			report_add(&st->report, VERDICT_WARN, "dmarc", domain, "once reports look clean, use "
				   "p=quarantine or p=reject", "p=none: receivers accept spoofed mail of %s", domain);
		} else {
			const char *adkim = tag_get(&tags, "adkim"), *aspf = tag_get(&tags, "aspf");
			report_add(&st->report, VERDICT_OK, "dmarc", domain, "", "p=%s, aligned with %s%s%s "
				   "(adkim=%s aspf=%s)", p, spf ? "SPF" : "", spf && dkim ? " and " : "",
				   dkim ? "DKIM" : "", adkim ? adkim : "r", aspf ? aspf : "r");
		}
		if (records)
			tag_list_free(&tags);
		dns_answer_free(&txt);
		sb_free(&name);
		sb_free(&fix);
	}
}

/* Whether one "u s m hex" TLSA record matches the served certificate.
 * Only DANE-EE (usage 3) is judged: it is what `mtactl dns` prints and
 * what RFC 7672 3.1 recommends for SMTP; a DANE-TA record would need the
 * chain's issuer, which a self-signed or ACME setup does not pin. */
static bool tlsa_matches(const struct local_facts *f, const char *rr)
{
	unsigned u, s, m;
	char hex[200];
	if (sscanf(rr, "%u %u %u %199s", &u, &s, &m, hex) != 4 || !f->cert || u != 3)
		return false;
	char mine[2 * 64 + 1];
	return tlsa_digest(f->cert, (int)s, (int)m, mine, sizeof mine) && !strcasecmp(mine, hex);
}

void doctor_tlsa(struct doctor_state *st)
{
	const struct local_facts *f = &st->facts;
	const struct strlist *hosts = &st->mx_names;
	for (size_t h = 0; h < hosts->len; h++) {
		struct strbuf name, fix;
		sb_init(&name);
		sb_init(&fix);
		sb_addf(&name, "_25._tcp.%s", hosts->item[h]);
		sb_addf(&fix, "publish %s. TLSA 3 1 1 %s in a DNSSEC-signed zone (and update it before the "
			"key changes)", name.buf, f->spki_sha256[0] ? f->spki_sha256 : "<digest>");
		struct dns_answer tlsa;
		dns_lookup(name.buf, ns_t_tlsa, &tlsa);
		bool match = false;
		for (size_t i = 0; i < tlsa.rr.len && !match; i++)
			match = tlsa_matches(f, tlsa.rr.item[i]);
		if (tlsa.status == DNS_TEMPFAIL)
			report_add(&st->report, VERDICT_WARN, "tlsa", hosts->item[h], no_answer,
				   "cannot look up %s: %s", name.buf, dns_status_text(tlsa.status));
		else if (tlsa.status != DNS_OK)
			report_add(&st->report, VERDICT_SKIP, "tlsa", hosts->item[h], "",
				   "no TLSA record at %s (DANE is optional; `mtactl dns` prints one)", name.buf);
		else if (!match)
			report_add(&st->report, VERDICT_FAIL, "tlsa", hosts->item[h], fix.buf,
				   "no TLSA record at %s matches the served certificate: DANE senders will not deliver",
				   name.buf);
		else if (!tlsa.secure)
			report_add(&st->report, VERDICT_WARN, "tlsa", hosts->item[h], "sign the zone with DNSSEC",
				   "%s matches, but the answer is not DNSSEC-validated, so senders ignore it", name.buf);
		else
			report_add(&st->report, VERDICT_OK, "tlsa", hosts->item[h], "",
				   "%s matches the served certificate (DNSSEC-validated)", name.buf);
		st->tlsa_match = st->tlsa_match || (match && tlsa.secure);
		dns_answer_free(&tlsa);
		sb_free(&name);
		sb_free(&fix);
	}
}

void doctor_dnsbl(struct doctor_state *st)
{
	const struct local_facts *f = &st->facts;
	struct strlist zones;
	strlist_init(&zones);
	struct strbuf ignore;
	sb_init(&ignore);
	const char *list = var_env(V_DOCTOR_DNSBL);
	if (*list)
		(void)parse_domains(list, &zones, &ignore);
	sb_free(&ignore);
	if (!zones.len)
		report_add(&st->report, VERDICT_SKIP, "dnsbl", "", "", "no blocklists to ask (DOCTOR_DNSBL is empty)");
	for (size_t i = 0; i < f->addresses.len; i++) {
		const char *addr = f->addresses.item[i];
		if (strchr(addr, ':'))
			continue; /* the common DNSBLs list IPv4 addresses */
		for (size_t z = 0; z < zones.len; z++) {
			char name[DOMAIN_MAX + 1];
			if (!dns_reverse_name(addr, zones.item[z], name, sizeof name))
				continue;
			struct dns_answer a;
			dns_lookup(name, ns_t_a, &a);
			struct strbuf subject, fix;
			sb_init(&subject);
			sb_init(&fix);
			sb_addf(&subject, "%s %s", addr, zones.item[z]);
			sb_addf(&fix, "find out why on the list's web site (%s), stop the cause, then ask for removal",
				zones.item[z]);
			if (a.status == DNS_NXDOMAIN)
				report_add(&st->report, VERDICT_OK, "dnsbl", subject.buf, "", "not listed");
			else if (a.status == DNS_OK && !strncmp(a.rr.item[0], "127.255.255.", 12))
				report_add(&st->report, VERDICT_WARN, "dnsbl", subject.buf, "ask the list from a "
					   "resolver of your own (lists refuse public resolvers)",
					   "the list refused the query (%s)", a.rr.item[0]);
			else if (a.status == DNS_OK && !strncmp(a.rr.item[0], "127.", 4))
				report_add(&st->report, VERDICT_FAIL, "dnsbl", subject.buf, fix.buf, "listed (%s)",
					   a.rr.item[0]);
			else
				report_add(&st->report, a.status == DNS_TEMPFAIL ? VERDICT_WARN : VERDICT_SKIP,
					   "dnsbl", subject.buf, no_answer, "not checked: %s", a.status == DNS_OK
					   ? "the list gave an answer outside 127.0.0.0/8" : dns_status_text(a.status));
			sb_free(&subject);
			sb_free(&fix);
			dns_answer_free(&a);
		}
	}
	strlist_free(&zones);
}
