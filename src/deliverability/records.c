/* The records to publish (see records.h). Names are written absolute
 * (with the final dot), so each zone-file line can go into whichever zone
 * holds its name; TXT data is split into 255-octet strings. */
#include "deliverability/records.h"

#include <openssl/evp.h>
#include <stdio.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "common/log.h"
#include "deliverability/tags.h"
#include "dkim/dkim.h"

#define TTL 3600

struct out {
	struct strbuf *sb;
	bool zone;
};

/* One record; text is TXT data (quoted here) when txt, else the rdata. */
static void record(struct out *o, const char *owner, const char *type, const char *data, bool txt,
		   const char *what)
{
	if (o->zone) {
		sb_addf(o->sb, "%s.\t%d\tIN\t%s\t", owner, TTL, type);
		if (txt)
			txt_zone_strings(data, o->sb);
		else
			sb_adds(o->sb, data);
		sb_addc(o->sb, '\n');
		return;
	}
	sb_addf(o->sb, "  %s (%s)\n    %s. %s %s%s%s\n", type, what, owner, type, txt ? "\"" : "", data,
		txt ? "\"" : "");
}

static void note(struct out *o, const char *text)
{
	sb_addf(o->sb, o->zone ? "; %s\n" : "  %s\n", text);
}

void mta_sts_policy(const char *mx, struct strbuf *text, char id[21])
{
	sb_addf(text, "version: STSv1\nmode: enforce\nmx: %s\nmax_age: %d\n", mx, MTA_STS_MAX_AGE);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	if (!EVP_Digest(text->buf, text->len, md, &len, EVP_sha256(), NULL) || len < 10)
		fatalx(EXIT_SYSTEM, "SHA-256 failed");
	for (int i = 0; i < 10; i++)
		snprintf(id + 2 * i, 3, "%02x", md[i]);
}

static void domain_records(struct out *o, const struct local_facts *f, const char *domain)
{
	struct strbuf name, data;
	sb_init(&name);
	sb_init(&data);
	sb_addf(&data, "10 %s.", f->hostname);
	record(o, domain, "MX", data.buf, false, "mail for the domain goes to this host");
	record(o, domain, "TXT", "v=spf1 mx -all", true, "SPF: only the MX hosts send its mail");

	struct strbuf selector, pem;
	sb_init(&selector);
	sb_init(&pem);
	sb_reset(&data);
	if (local_dkim_key(domain, &selector, &pem) && dkim_public_key_b64(pem.buf, &data)) {
		sb_addf(&name, "%s._domainkey.%s", selector.buf, domain);
		struct strbuf txt;
		sb_init(&txt);
		sb_addf(&txt, "v=DKIM1; k=rsa; p=%s", data.buf);
		record(o, name.buf, "TXT", txt.buf, true, "DKIM: the public key of the signing key on disk");
		sb_free(&txt);
	} else {
		note(o, "DKIM: no key on disk for this domain (the full image makes one per domain)");
	}
	sb_free(&selector);
	sb_free(&pem);

	sb_reset(&name);
	sb_reset(&data);
	sb_addf(&name, "_dmarc.%s", domain);
	sb_addf(&data, "v=DMARC1; p=quarantine; rua=mailto:postmaster@%s; ruf=mailto:postmaster@%s; fo=1",
		domain, domain);
	record(o, name.buf, "TXT", data.buf, true, "DMARC: quarantine what fails, reports to postmaster");

	struct strbuf policy;
	sb_init(&policy);
	char id[21];
	mta_sts_policy(f->hostname, &policy, id);
	sb_reset(&name);
	sb_reset(&data);
	sb_addf(&name, "_mta-sts.%s", domain);
	sb_addf(&data, "v=STSv1; id=%s", id);
	record(o, name.buf, "TXT", data.buf, true, "MTA-STS: senders must use verified TLS; id changes with the policy");
	sb_reset(&data);
	sb_addf(&data, "MTA-STS policy: serve this at https://mta-sts.%s/.well-known/mta-sts.txt "
		"(a web server with a trusted certificate for mta-sts.%s):", domain, domain);
	note(o, data.buf);
	for (const char *p = policy.buf; *p;) {
		size_t n = strcspn(p, "\n");
		sb_reset(&data);
		sb_addf(&data, "  %.*s", (int)n, p);
		note(o, data.buf);
		p += n + (p[n] == '\n');
	}
	sb_free(&policy);

	sb_reset(&name);
	sb_reset(&data);
	sb_addf(&name, "_smtp._tls.%s", domain);
	sb_addf(&data, "v=TLSRPTv1; rua=mailto:postmaster@%s", domain);
	record(o, name.buf, "TXT", data.buf, true, "TLS-RPT: senders report TLS failures to postmaster");
	sb_free(&name);
	sb_free(&data);
}

static void host_records(struct out *o, const struct local_facts *f)
{
	struct strbuf name, text;
	sb_init(&name);
	sb_init(&text);
	if (f->addresses_given) {
		for (size_t i = 0; i < f->addresses.len; i++)
			record(o, f->hostname, strchr(f->addresses.item[i], ':') ? "AAAA" : "A",
			       f->addresses.item[i], false, "the MX host's address");
	} else {
		sb_addf(&text, "A/AAAA of %s: its public address(es), with a PTR record naming %s "
			"(set DOCTOR_PUBLIC_ADDRESSES to have them printed here)", f->hostname, f->hostname);
		note(o, text.buf);
	}
	sb_addf(&name, "_25._tcp.%s", f->hostname);
	if (f->spki_sha256[0]) {
		sb_reset(&text);
		sb_addf(&text, "3 1 1 %s", f->spki_sha256);
		record(o, name.buf, "TLSA", text.buf, false,
		       "DANE: the served certificate's public key; needs a DNSSEC-signed zone");
	} else {
		sb_reset(&text);
		sb_addf(&text, "TLSA: port 25 serves no certificate (%s)", f->cert_why.buf);
		note(o, text.buf);
	}
	sb_free(&name);
	sb_free(&text);
}

void dns_records_render(const struct local_facts *f, bool zone, struct strbuf *out)
{
	struct out o = {.sb = out, .zone = zone};
	for (size_t i = 0; i < f->domains.len; i++) {
		if (zone)
			sb_addf(out, "; %s\n", f->domains.item[i]);
		else
			sb_addf(out, "%sDomain %s:\n", i ? "\n" : "", f->domains.item[i]);
		domain_records(&o, f, f->domains.item[i]);
	}
	if (zone)
		sb_addf(out, "; host %s\n", f->hostname);
	else
		sb_addf(out, "\nHost %s:\n", f->hostname);
	host_records(&o, f);
}

int dns_main(int argc, char **argv)
{
	log_set_name("dns");
	bool zone = argc == 2 && !strcmp(argv[1], "--zone");
	if (argc > 2 || (argc == 2 && !zone)) {
		log_warnx("usage: mtactl dns [--zone]");
		return EXIT_USAGE;
	}
	struct local_facts f;
	struct strbuf why, out;
	sb_init(&why);
	sb_init(&out);
	int rc = EXIT_OK;
	if (!local_facts_load(&f, &why)) {
		log_warnx("%s", why.buf);
		rc = EXIT_SYSTEM;
	} else {
		dns_records_render(&f, zone, &out);
		if (fputs(out.buf, stdout) == EOF || fflush(stdout) == EOF)
			rc = EXIT_SYSTEM;
	}
	local_facts_free(&f);
	sb_free(&why);
	sb_free(&out);
	return rc;
}
